/*
 * stats.h: counters, the ten best shares, pool latency and the hashrate
 * windows (stats.cc). stats reads nothing of miners or upstreams: the
 * reporters (events.cc, the API) hand it numbers.
 */
#ifndef SLUICE_STATS_H
#define SLUICE_STATS_H

#include "sluice.h"
#include "share.h"

/*
 * stats.cc: global counters, the ten best shares, pool latency and the
 * hashrate windows, all in fixed memory. Single-threaded: plain integers.
 */
enum stats_window {
	STATS_W60S,
	STATS_W600S,
	STATS_W1H,
	STATS_W12H,
	STATS_W24H,
	STATS_WALL,		/* since start */
	STATS_NWINDOWS
};

/* Lua hooks, for the per-hook error counters. */
enum stats_hook {
	STATS_HOOK_ON_CONNECT,
	STATS_HOOK_ON_LOGIN,
	STATS_HOOK_CUSTOM_DIFF,
	STATS_HOOK_WORKER_NAME,
	STATS_HOOK_UPSTREAM_LOGIN,
	STATS_NHOOKS
};

/*
 * Why a miner connection closed: what miner_close() takes, what stats
 * counts and /metrics labels (stats_close_text). One value per cause.
 */
enum close_reason {
	CLOSE_MINER,		/* the miner hung up */
	CLOSE_SOCKET_ERROR,	/* reset, timed out, unreachable ... */
	CLOSE_TLS_ERROR,	/* handshake or record error */
	CLOSE_LOGIN_TIMEOUT,
	CLOSE_IDLE_TIMEOUT,
	CLOSE_NO_JOB,		/* logged in, no pool ever sent a job */
	CLOSE_LINE_TOO_LONG,
	CLOSE_PROTOCOL_ERROR,	/* not JSON-RPC before login */
	CLOSE_UNKNOWN_METHOD,	/* a method other than login first */
	CLOSE_OVERFLOW,		/* slow reader: output limit reached */
	CLOSE_LOGIN_REJECTED,	/* the policy said no */
	CLOSE_PROXY_FULL,	/* max-upstreams reached */
	CLOSE_BAD_NONCE,	/* nonce outside the miner's slot */
	CLOSE_JOB_TOO_LARGE,	/* the login reply would not fit */
	CLOSE_SHUTDOWN,
	CLOSE_PROXY_UNTRUSTED,	/* a proxy-protocol bind: not from a
				   trusted source */
	CLOSE_PROXY_BAD,	/* ... a malformed PROXY header */
	CLOSE_PROXY_TIMEOUT,	/* ... no whole header in time */
	CLOSE_MAX
};

/* stats.cc: per-upstream share counters, embedded in struct upstream. */
#define UPSTREAM_LATENCY_SAMPLES 64
struct stats_hist;
struct upstream_stats {
	uint64_t	 accepted;
	uint64_t	 rejected;
	struct stats_hist *hist;	/* its history ring, or NULL */
	uint32_t	 latency[UPSTREAM_LATENCY_SAMPLES];	/* ms, a ring */
	uint32_t	 nlatency;	/* samples ever taken */
};

struct stats {
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint64_t	 invalid;
	uint64_t	 expired;
	uint64_t	 duplicate;
	uint64_t	 local;
	uint64_t	 bad_gateway;
	uint64_t	 timeouts;
	uint64_t	 lost;		/* pool connection ended before answering */
	uint64_t	 hashes;	/* sum of counted difficulties */
	uint64_t	 best[10];
	uint64_t	 connections;
	uint64_t	 miners_now;
	uint64_t	 miners_max;
	uint64_t	 logins;
	uint64_t	 lines_too_long;
	uint64_t	 protocol_errors;
	uint64_t	 overflows;
	uint64_t	 refused_full;
	uint64_t	 refused_max_conn;
	uint64_t	 reloads_ok;
	uint64_t	 reloads_failed;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 ratelimit_denied;
	uint64_t	 lua_errors[STATS_NHOOKS];
	uint64_t	 closed[CLOSE_MAX];
	uint64_t	 workers_evicted;
	uint64_t	 workers_untracked;	/* logins past workers-max */
	uint64_t	 http_connections;	/* API connections open now */
	uint64_t	 http_timeouts;		/* requests past http.timeout */
	uint64_t	 http_refused;		/* past http.max-connections */
	uint64_t	 http_auth_failures;	/* 401/403 for credentials */
	uint64_t	 history_errors;	/* the database failed */
};
extern struct stats sl_stats;

enum stats_type {
	STATS_COUNTER,
	STATS_GAUGE
};

/*
 * One row of the counter table (stats_counters[] in stats.cc), which
 * drives both /metrics and the counters of /1/summary: adding a counter to
 * struct stats means adding one row. A row is one sample, or with n > 0
 * the n samples of an array member labelled by text(i).
 *
 * Rows of a Prometheus family are adjacent; the first carries the help
 * text, the others NULL. A row without a name is in the summary only (a
 * value computed by get), one without json in /metrics only. json is the
 * dotted path of the summary object the key sits in ("sluice.reloads").
 * The value is *v, or v[i] for an array, or get() when v is NULL.
 *
 * The defaults let a row name only the fields it needs, in declaration
 * order (C++20 designated initializers).
 */
struct stats_counter {
	const char	*name = NULL;		/* sluice_..., NULL: summary only */
	enum stats_type	 type = STATS_COUNTER;
	const char	*help = NULL;		/* first row of a family only */
	const char	*label = NULL;		/* label name, NULL if none */
	const char	*label_value = NULL;	/* NULL: text(i) */
	const char	*json = NULL;		/* NULL: not in the summary */
	const char	*key = NULL;		/* NULL: text(i) */
	const uint64_t	*v = NULL;		/* in sl_stats, the first of n */
	unsigned	 n = 0;			/* 0: one counter, else an array */
	const char	*(*text)(unsigned) = NULL;
	uint64_t	(*get)(void) = NULL;	/* a computed value */
};
extern const struct stats_counter stats_counters[];
extern const size_t stats_ncounters;
void		 stats_init(int64_t now_ms);
int64_t		 stats_clock_ms(void);
int64_t		 stats_uptime_ms(int64_t now_ms);
void		 stats_best(uint64_t diff);
void		 stats_hashes(uint64_t diff, int64_t now_ms);
double		 stats_hashrate(enum stats_window, int64_t now_ms);
const char	*stats_window_text(enum stats_window);
const char	*stats_rate_text(char *, size_t, double hs);
void		 stats_latency(uint32_t ms);
uint32_t	 stats_latency_median(void);
uint32_t	 stats_median(const uint32_t *, size_t n);
void		 stats_upstream_share(struct upstream_stats *, int accepted,
		     int64_t latency_ms);
uint32_t	 stats_upstream_latency(const struct upstream_stats *);
const char	*stats_close_text(enum close_reason);
const char	*stats_hook_text(enum stats_hook);
const char	*stats_type_text(enum stats_type);
unsigned	 stats_counter_len(const struct stats_counter *);
uint64_t	 stats_counter_value(const struct stats_counter *, unsigned);
const char	*stats_counter_label(const struct stats_counter *, unsigned);
const char	*stats_counter_key(const struct stats_counter *, unsigned);
/*
 * A hashrate over the stats windows for one thing (a worker, a coin), in
 * fixed memory: 10 s, 300 s and 3600 s buckets (the 60 s, 600 s/1 h and
 * 12 h/24 h windows) and the total since it was made.
 */
#define STATS_RATE_R1	6
#define STATS_RATE_R2	12
#define STATS_RATE_R3	24
struct stats_rate {
	int64_t		 created_ms;	/* stats clock (stats_uptime_ms) */
	uint64_t	 hashes;	/* since created */
	uint32_t	 last[3];	/* newest bucket of each ring */
	uint64_t	 r1[STATS_RATE_R1];
	uint64_t	 r2[STATS_RATE_R2];
	uint64_t	 r3[STATS_RATE_R3];
};
void		 stats_rate_init(struct stats_rate *, int64_t now_ms);
void		 stats_rate_add(struct stats_rate *, uint64_t diff,
		     int64_t now_ms);
double		 stats_rate_get(struct stats_rate *, enum stats_window,
		     int64_t now_ms);
void		 stats_ring_add(uint64_t *, unsigned n, uint32_t *last,
		     uint32_t idx, uint64_t amount);
uint64_t	 stats_ring_sum(uint64_t *, unsigned n, uint32_t *last,
		     uint32_t idx, unsigned k);
double		 stats_ring_rate(uint64_t sum, int64_t rel_ms,
		     unsigned width, unsigned k, int64_t since_ms);


/*
 * stats.cc: the history rings history.cc reads (history.h), filled as
 * shares end for the total, each coin, each upstream and each worker. A
 * ring holds the last STATS_HIST_SLOTS samples of sample_ms on the wall
 * clock, rolled on lazily like the windows above, and the exact sums of
 * the current and the previous flush_ms bucket, which are what the
 * database gets. A ring is made on its series' first share while history
 * is on, so a series without shares costs a pointer.
 */
#define STATS_HIST_SLOTS	31	/* 30 whole samples and the one filling */

/* One sample; a chart's precision, the sums below are exact. */
struct stats_hist_slot {
	float		 hashes;
	uint32_t	 accepted;
	uint16_t	 rejected;	/* saturate at 65535 per sample */
	uint16_t	 invalid;
};

/* Shares of one flush bucket, exact. */
struct stats_hist_sum {
	uint64_t	 hashes;
	uint32_t	 accepted;
	uint32_t	 rejected;
	uint32_t	 invalid;
};

struct stats_hist {
	int64_t			 newest;	/* sample index of the newest slot */
	int64_t			 bucket;	/* flush bucket of sum[0] */
	struct stats_hist_sum	 sum[2];	/* bucket, bucket - 1 */
	struct stats_hist_slot	 v[STATS_HIST_SLOTS];
};

/* The rings' clock: history.cc sets it, and sample_ms 0 stops them. */
struct stats_hist_clock {
	int		 sample_ms;
	int		 flush_ms;
	int64_t		 offset_ms;	/* the wall clock minus the stats clock */
};
extern struct stats_hist_clock stats_hist_clock;
extern struct stats_hist *stats_hist_total;

/* Where a share goes in the rings: worked out once per share. */
enum stats_hist_what {
	STATS_HIST_ACCEPTED,	/* the miner was told OK */
	STATS_HIST_REJECTED,	/* the pool refused it, or never answered */
	STATS_HIST_INVALID	/* a local check failed, or a duplicate */
};
struct stats_hist_at {
	int			 on;	/* history is on */
	int64_t			 idx;	/* the sample */
	int64_t			 bucket;	/* the flush bucket */
	uint64_t		 hashes;
	enum stats_hist_what	 what;
};
void		 stats_hist_at(struct stats_hist_at *, enum share_result,
		     uint64_t diff, int64_t now_ms);
void		 stats_hist_add(struct stats_hist **,
		     const struct stats_hist_at *);
void		 stats_hist_put(struct stats_hist *,
		     const struct stats_hist_at *);
int		 stats_hist_get(const struct stats_hist *, int64_t idx,
		     struct stats_hist_slot *);
void		 stats_hist_sum(const struct stats_hist *, int64_t bucket,
		     struct stats_hist_sum *);
void		 stats_hist_free(struct stats_hist **);
size_t		 stats_hist_count(void);

#endif /* SLUICE_STATS_H */
