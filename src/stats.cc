/*
 * stats.cc: the global statistics, in fixed memory whatever the traffic.
 *
 *	counters	struct stats sl_stats, bumped by events.cc, and
 *			stats_counters[], the table that names each one for
 *			/metrics and /1/summary
 *	best[10]	the ten highest pool-accepted share difficulties
 *	latency		the last 1024 pool answer times; the API shows the
 *			median
 *	history		rings for history.cc, filled as shares end (below)
 *	hashrate	sums of counted share difficulty in rings of buckets:
 *			60 x 1 s, 60 x 10 s, 60 x 60 s and 144 x 10 min,
 *			which give the 60 s, 600 s, 1 h, 12 h and 24 h
 *			windows; all-time is hashes / uptime
 *
 * A window's rate is its sum divided by the time it actually covers: the
 * finished buckets plus the elapsed part of the current one, and never
 * more than the time since start, so a young proxy does not read low.
 *
 * The rings are lazy: a bucket is zeroed when time moves past it, on the
 * next add or read, so nothing has to run on a timer. Each ring keeps the
 * absolute index of its newest bucket; an index is a count of bucket
 * widths since the stats epoch. workers.cc uses the same ring functions
 * with coarser buckets.
 *
 * Single-threaded: plain integers, no atomics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>

#include "stats.h"

#define STATS_LATENCY_SAMPLES	1024

/* One ring of hashrate buckets; width in seconds. */
struct stats_ring {
	unsigned	 n;
	unsigned	 width;
	uint32_t	 last;
	uint64_t	*v;
};

/* Which ring a window reads, and how many of its buckets. */
struct stats_window_def {
	const char	*name;
	int		 ring;
	unsigned	 k;
};

struct stats	 sl_stats;
struct stats_hist_clock stats_hist_clock;
struct stats_hist *stats_hist_total;	/* the total's history ring */
static size_t	 stats_hist_n;		/* rings made and not freed */

static uint64_t	 stats_b1[60], stats_b2[60], stats_b3[60], stats_b4[144];
static struct stats_ring stats_rings[] = {
	{ 60, 1, 0, stats_b1 },
	{ 60, 10, 0, stats_b2 },
	{ 60, 60, 0, stats_b3 },
	{ 144, 600, 0, stats_b4 },
};
static const struct stats_window_def stats_windows[STATS_NWINDOWS] = {
	{ "60s", 0, 60 },
	{ "600s", 1, 60 },
	{ "3600s", 2, 60 },
	{ "12h", 3, 72 },
	{ "24h", 3, 144 },
	{ "all", -1, 0 },
};
static int64_t	 stats_epoch = -1;	/* stats clock at start, ms */
static uint64_t	 stats_counted;		/* difficulty in the windows */
static uint32_t	 stats_lat[STATS_LATENCY_SAMPLES];
static uint32_t	 stats_nlat;		/* samples ever taken */

static int64_t	 stats_rel(int64_t now_ms);
static const char *stats_close_label(unsigned);
static const char *stats_hook_label(unsigned);
static uint64_t	 stats_invalid_all(void);

/*
 * Every counter of sl_stats (best[] aside: the API shows it as a list),
 * in /metrics order. The Prometheus names, labels and help texts and the
 * summary keys are an interface: dashboards and alerts read them.
 */
const struct stats_counter stats_counters[] = {
	{ .name = "sluice_miners", .type = STATS_GAUGE,
	  .help = "Miners logged in now.",
	  .json = "miners", .key = "now", .v = &sl_stats.miners_now },
	{ .name = "sluice_miners_max", .type = STATS_GAUGE,
	  .help = "Most miners logged in at once since the start.",
	  .json = "miners", .key = "max", .v = &sl_stats.miners_max },

	{ .name = "sluice_shares_total",
	  .help = "Shares by how they ended; expired shares are also "
	  "accepted.",
	  .label = "result", .label_value = "accepted",
	  .json = "results", .key = "accepted", .v = &sl_stats.accepted },
	{ .name = "sluice_shares_total",
	  .label = "result", .label_value = "rejected",
	  .json = "results", .key = "rejected", .v = &sl_stats.rejected },
	{ .name = "sluice_shares_total",
	  .label = "result", .label_value = "invalid",
	  .v = &sl_stats.invalid },
	/* xmrig-proxy counts a duplicate as invalid. */
	{ .json = "results", .key = "invalid", .get = stats_invalid_all },
	{ .name = "sluice_shares_total",
	  .label = "result", .label_value = "expired",
	  .json = "results", .key = "expired", .v = &sl_stats.expired },
	{ .name = "sluice_shares_total",
	  .label = "result", .label_value = "duplicate",
	  .json = "sluice", .key = "duplicate", .v = &sl_stats.duplicate },
	{ .name = "sluice_shares_total",
	  .label = "result", .label_value = "local",
	  .json = "sluice", .key = "local", .v = &sl_stats.local },
	{ .name = "sluice_shares_total",
	  .label = "result", .label_value = "bad_gateway",
	  .json = "sluice", .key = "bad_gateway",
	  .v = &sl_stats.bad_gateway },
	{ .name = "sluice_shares_total",
	  .label = "result", .label_value = "timeout",
	  .json = "sluice", .key = "timeouts", .v = &sl_stats.timeouts },
	{ .name = "sluice_shares_total",
	  .label = "result", .label_value = "lost",
	  .json = "sluice", .key = "lost", .v = &sl_stats.lost },
	{ .name = "sluice_hashes_total",
	  .help = "Sum of the difficulties of the shares counted for "
	  "hashrate.",
	  .json = "results", .key = "hashes_total", .v = &sl_stats.hashes },

	{ .name = "sluice_connections_total",
	  .help = "Miner connections accepted by the listeners.",
	  .json = "sluice", .key = "connections",
	  .v = &sl_stats.connections },
	{ .name = "sluice_connections_refused_total",
	  .help = "Connections closed at once because max-connections was "
	  "reached.",
	  .json = "sluice", .key = "refused_max_connections",
	  .v = &sl_stats.refused_max_conn },
	{ .name = "sluice_connections_closed_total",
	  .help = "Miner connections closed, by reason.",
	  .label = "reason", .json = "sluice.connections_closed",
	  .v = sl_stats.closed, .n = CLOSE_MAX,
	  .text = stats_close_label },
	{ .name = "sluice_logins_total",
	  .help = "Miner logins that got an upstream.",
	  .json = "sluice", .key = "logins", .v = &sl_stats.logins },
	{ .name = "sluice_logins_refused_full_total",
	  .help = "Logins refused because the proxy was full "
	  "(max-upstreams).",
	  .json = "sluice", .key = "refused_full",
	  .v = &sl_stats.refused_full },
	{ .name = "sluice_ratelimit_denied_total",
	  .help = "Connections denied by the rate limit.",
	  .json = "sluice", .key = "ratelimit_denied",
	  .v = &sl_stats.ratelimit_denied },
	{ .name = "sluice_protocol_errors_total",
	  .help = "Miner lines that were not valid requests.",
	  .json = "sluice", .key = "protocol_errors",
	  .v = &sl_stats.protocol_errors },
	{ .name = "sluice_lines_too_long_total",
	  .help = "Miner connections closed for a line over the limit.",
	  .json = "sluice", .key = "lines_too_long",
	  .v = &sl_stats.lines_too_long },
	{ .name = "sluice_output_overflows_total",
	  .help = "Miner connections closed for reading too slowly.",
	  .json = "sluice", .key = "overflows", .v = &sl_stats.overflows },
	{ .name = "sluice_bytes_total",
	  .help = "Bytes received from (in) and sent to (out) miners.",
	  .label = "direction", .label_value = "in",
	  .json = "sluice.bytes", .key = "in", .v = &sl_stats.bytes_in },
	{ .name = "sluice_bytes_total",
	  .label = "direction", .label_value = "out",
	  .json = "sluice.bytes", .key = "out", .v = &sl_stats.bytes_out },

	{ .name = "sluice_reloads_total",
	  .help = "Configuration reloads, by outcome.",
	  .label = "status", .label_value = "ok",
	  .json = "sluice.reloads", .key = "ok", .v = &sl_stats.reloads_ok },
	{ .name = "sluice_reloads_total",
	  .label = "status", .label_value = "failed",
	  .json = "sluice.reloads", .key = "failed",
	  .v = &sl_stats.reloads_failed },
	{ .name = "sluice_lua_errors_total",
	  .help = "Lua hook calls that failed and fell back to the built-in "
	  "policy, by hook.",
	  .label = "hook", .json = "sluice.lua_errors",
	  .v = sl_stats.lua_errors, .n = STATS_NHOOKS,
	  .text = stats_hook_label },

	{ .name = "sluice_workers_evicted_total",
	  .help = "Idle workers forgotten to stay within workers-max.",
	  .json = "sluice.workers", .key = "evicted",
	  .v = &sl_stats.workers_evicted },
	{ .name = "sluice_workers_untracked_total",
	  .help = "Logins not tracked as workers because workers-max was "
	  "reached with every worker connected.",
	  .json = "sluice.workers", .key = "untracked",
	  .v = &sl_stats.workers_untracked },

	{ .name = "sluice_http_connections", .type = STATS_GAUGE,
	  .help = "HTTP API connections open now.",
	  .json = "sluice.http", .key = "connections",
	  .v = &sl_stats.http_connections },
	{ .name = "sluice_http_timeouts_total",
	  .help = "HTTP API connections closed because a request was not "
	  "answered within http.timeout.",
	  .json = "sluice.http", .key = "timeouts",
	  .v = &sl_stats.http_timeouts },
	{ .name = "sluice_http_refused_total",
	  .help = "HTTP API connections closed at once because "
	  "http.max-connections were open.",
	  .json = "sluice.http", .key = "refused",
	  .v = &sl_stats.http_refused },
	{ .name = "sluice_http_auth_failures_total",
	  .help = "HTTP API requests refused for a missing or wrong access "
	  "token or switch API password.",
	  .json = "sluice.http", .key = "auth_failures",
	  .v = &sl_stats.http_auth_failures },

	{ .name = "sluice_history_errors_total",
	  .help = "Times the history database could not be opened, written "
	  "or read; history went on in memory only.",
	  .json = "sluice.history", .key = "errors",
	  .v = &sl_stats.history_errors },
};
const size_t	 stats_ncounters = sizeof stats_counters /
		    sizeof stats_counters[0];

/* Milliseconds on the monotonic clock: the clock of every window. */
int64_t
stats_clock_ms(void)
{
	return sluice_mono_ms();
}

/* Start (or restart) the windows and the latency sample at now_ms. */
void
stats_init(int64_t now_ms)
{
	size_t	 i;

	for (i = 0; i < sizeof stats_rings / sizeof stats_rings[0]; i++) {
		memset(stats_rings[i].v, 0, stats_rings[i].n *
		    sizeof stats_rings[i].v[0]);
		stats_rings[i].last = 0;
	}
	memset(stats_lat, 0, sizeof stats_lat);
	stats_nlat = 0;
	stats_counted = 0;
	stats_epoch = now_ms;
}

/*
 * Milliseconds since the epoch. Unless stats_init() set it, the epoch is
 * the process start (sl.started is on the same monotonic clock).
 */
static int64_t
stats_rel(int64_t now_ms)
{
	if (stats_epoch < 0)
		stats_epoch = sl.started > 0 ? (int64_t)sl.started * 1000 :
		    now_ms;
	return now_ms > stats_epoch ? now_ms - stats_epoch : 0;
}

/* Milliseconds since the statistics started. */
int64_t
stats_uptime_ms(int64_t now_ms)
{
	return stats_rel(now_ms);
}

/* Keep the ten best share difficulties, sorted descending. */
void
stats_best(uint64_t diff)
{
	int	 i;

	if (diff <= sl_stats.best[9])
		return;
	for (i = 9; i > 0 && sl_stats.best[i - 1] < diff; i--)
		sl_stats.best[i] = sl_stats.best[i - 1];
	sl_stats.best[i] = diff;
}

/*
 * Move a ring's newest bucket to idx, zeroing the buckets passed over,
 * then add amount to it. An idx older than the newest (which the
 * monotonic clock should never give) adds to the newest.
 */
void
stats_ring_add(uint64_t *v, unsigned n, uint32_t *last, uint32_t idx,
    uint64_t amount)
{
	uint32_t	 steps, i;

	if (idx > *last) {
		steps = idx - *last < n ? idx - *last : n;
		for (i = 1; i <= steps; i++)
			v[(*last + i) % n] = 0;
		*last = idx;
	}
	v[*last % n] += amount;
}

/* Sum of the k newest buckets up to idx (k <= n). */
uint64_t
stats_ring_sum(uint64_t *v, unsigned n, uint32_t *last, uint32_t idx,
    unsigned k)
{
	uint64_t	 sum = 0;
	uint32_t	 i;

	stats_ring_add(v, n, last, idx, 0);
	if (k > n)
		k = n;
	for (i = 0; i < k && i <= *last; i++)
		sum += v[(*last - i) % n];
	return sum;
}

/*
 * The rate of a window of k buckets of width seconds, at rel_ms after the
 * epoch, whose sum is sum: the window covers k - 1 whole buckets and the
 * elapsed part of the current one, but no more than the time since
 * since_ms (the epoch, or when a worker was first seen). At least one
 * second, so the first share does not read as infinite.
 */
double
stats_ring_rate(uint64_t sum, int64_t rel_ms, unsigned width, unsigned k,
    int64_t since_ms)
{
	int64_t	 wms = (int64_t)width * 1000, covered, young;

	covered = (int64_t)(k - 1) * wms + rel_ms % wms;
	young = rel_ms - since_ms;
	if (young < covered)
		covered = young;
	if (covered < 1000)
		covered = 1000;
	return (double)sum * 1000.0 / (double)covered;
}

/* Count diff (a share's counted difficulty) in every window. */
void
stats_hashes(uint64_t diff, int64_t now_ms)
{
	int64_t		 rel = stats_rel(now_ms);
	size_t		 i;
	struct stats_ring *r;

	for (i = 0; i < sizeof stats_rings / sizeof stats_rings[0]; i++) {
		r = &stats_rings[i];
		stats_ring_add(r->v, r->n, &r->last,
		    (uint32_t)(rel / ((int64_t)r->width * 1000)), diff);
	}
	stats_counted += diff;
}

/* A new rate, its windows starting now. */
void
stats_rate_init(struct stats_rate *r, int64_t now_ms)
{
	memset(r, 0, sizeof *r);
	r->created_ms = stats_uptime_ms(now_ms);
}

/* diff hashes done now. */
void
stats_rate_add(struct stats_rate *r, uint64_t diff, int64_t now_ms)
{
	int64_t	 rel = stats_uptime_ms(now_ms);

	r->hashes += diff;
	stats_ring_add(r->r1, STATS_RATE_R1, &r->last[0],
	    (uint32_t)(rel / 10000), diff);
	stats_ring_add(r->r2, STATS_RATE_R2, &r->last[1],
	    (uint32_t)(rel / 300000), diff);
	stats_ring_add(r->r3, STATS_RATE_R3, &r->last[2],
	    (uint32_t)(rel / 3600000), diff);
}

/* Hashes per second over a window, counted from the rate's start. */
double
stats_rate_get(struct stats_rate *r, enum stats_window win, int64_t now_ms)
{
	int64_t		 rel = stats_uptime_ms(now_ms), age;
	uint64_t	*v;
	uint32_t	*last;
	unsigned	 n, width, k;

	switch (win) {
	case STATS_W60S:
		v = r->r1, n = STATS_RATE_R1, last = &r->last[0];
		width = 10, k = 6;
		break;
	case STATS_W600S:
	case STATS_W1H:
		v = r->r2, n = STATS_RATE_R2, last = &r->last[1];
		width = 300, k = win == STATS_W600S ? 2 : 12;
		break;
	case STATS_W12H:
	case STATS_W24H:
		v = r->r3, n = STATS_RATE_R3, last = &r->last[2];
		width = 3600, k = win == STATS_W12H ? 12 : 24;
		break;
	default:
		age = rel - r->created_ms;
		return (double)r->hashes * 1000.0 /
		    (double)(age < 1000 ? 1000 : age);
	}
	return stats_ring_rate(stats_ring_sum(v, n, last,
	    (uint32_t)(rel / ((int64_t)width * 1000)), k), rel, width, k,
	    r->created_ms);
}

/* Hashes per second over a window. */
double
stats_hashrate(enum stats_window w, int64_t now_ms)
{
	const struct stats_window_def	*d;
	struct stats_ring		*r;
	int64_t				 rel = stats_rel(now_ms);
	uint64_t			 sum;

	if ((unsigned)w >= STATS_NWINDOWS)
		return 0;
	d = &stats_windows[w];
	if (d->ring < 0)
		return (double)stats_counted * 1000.0 /
		    (double)(rel < 1000 ? 1000 : rel);
	r = &stats_rings[d->ring];
	sum = stats_ring_sum(r->v, r->n, &r->last,
	    (uint32_t)(rel / ((int64_t)r->width * 1000)), d->k);
	return stats_ring_rate(sum, rel, r->width, d->k, 0);
}

/* Label of a window: 60s, 600s, 3600s, 12h, 24h, all. */
const char *
stats_window_text(enum stats_window w)
{
	if ((unsigned)w >= STATS_NWINDOWS)
		return "unknown";
	return stats_windows[w].name;
}

/*
 * A hashrate for people, as the summary log line shows it: two decimals
 * and the largest unit (H/s, kH/s, MH/s, GH/s, TH/s) that keeps the
 * number at 1 or more ("1.23kH/s"). Returns buf.
 */
const char *
stats_rate_text(char *buf, size_t len, double hs)
{
	static const char	*units[] = { "H/s", "kH/s", "MH/s", "GH/s",
	    "TH/s" };
	size_t			 u = 0;

	if (!(hs > 0))	/* 0, negative or NaN */
		hs = 0;
	while (hs >= 999.995 && u + 1 < sizeof units / sizeof units[0]) {
		hs /= 1000;
		u++;
	}
	snprintf(buf, len, "%.2f%s", hs, units[u]);
	return buf;
}

/* Median of n samples (n <= 1024); 0 when there are none. */
uint32_t
stats_median(const uint32_t *v, size_t n)
{
	uint32_t	 tmp[STATS_LATENCY_SAMPLES];

	if (n == 0)
		return 0;
	if (n > STATS_LATENCY_SAMPLES)
		n = STATS_LATENCY_SAMPLES;
	memcpy(tmp, v, n * sizeof tmp[0]);
	std::nth_element(tmp, tmp + n / 2, tmp + n);
	return tmp[n / 2];
}

/* Record one pool answer time in milliseconds. */
void
stats_latency(uint32_t ms)
{
	stats_lat[stats_nlat % STATS_LATENCY_SAMPLES] = ms;
	stats_nlat++;
}

/* Median pool answer time over the last 1024 answers, in ms. */
uint32_t
stats_latency_median(void)
{
	return stats_median(stats_lat, stats_nlat < STATS_LATENCY_SAMPLES ?
	    stats_nlat : STATS_LATENCY_SAMPLES);
}

/* Count a pool's answer on one upstream; latency_ms < 0 if unknown. */
void
stats_upstream_share(struct upstream_stats *u, int accepted,
    int64_t latency_ms)
{
	if (accepted)
		u->accepted++;
	else
		u->rejected++;
	if (latency_ms >= 0) {
		u->latency[u->nlatency % UPSTREAM_LATENCY_SAMPLES] =
		    (uint32_t)latency_ms;
		u->nlatency++;
	}
}

/* Median answer time of one upstream over its last 64 answers, in ms. */
uint32_t
stats_upstream_latency(const struct upstream_stats *u)
{
	return stats_median(u->latency, u->nlatency <
	    UPSTREAM_LATENCY_SAMPLES ? u->nlatency : UPSTREAM_LATENCY_SAMPLES);
}

/* Label of a close reason. */
const char *
stats_close_text(enum close_reason r)
{
	switch (r) {
	case CLOSE_MINER:
		return "miner";
	case CLOSE_SOCKET_ERROR:
		return "socket_error";
	case CLOSE_TLS_ERROR:
		return "tls_error";
	case CLOSE_LOGIN_TIMEOUT:
		return "login_timeout";
	case CLOSE_IDLE_TIMEOUT:
		return "idle_timeout";
	case CLOSE_NO_JOB:
		return "no_job";
	case CLOSE_LINE_TOO_LONG:
		return "line_too_long";
	case CLOSE_PROTOCOL_ERROR:
		return "protocol_error";
	case CLOSE_UNKNOWN_METHOD:
		return "unknown_method";
	case CLOSE_OVERFLOW:
		return "overflow";
	case CLOSE_LOGIN_REJECTED:
		return "login_rejected";
	case CLOSE_PROXY_FULL:
		return "proxy_full";
	case CLOSE_BAD_NONCE:
		return "bad_nonce";
	case CLOSE_JOB_TOO_LARGE:
		return "job_too_large";
	case CLOSE_SHUTDOWN:
		return "shutdown";
	case CLOSE_PROXY_UNTRUSTED:
		return "proxy_untrusted";
	case CLOSE_PROXY_BAD:
		return "proxy_bad_header";
	case CLOSE_PROXY_TIMEOUT:
		return "proxy_timeout";
	case CLOSE_MAX:
		break;
	}
	return "unknown";
}

/* Name of a Lua hook, as the metrics label it. */
const char *
stats_hook_text(enum stats_hook h)
{
	switch (h) {
	case STATS_HOOK_ON_CONNECT:
		return "on_connect";
	case STATS_HOOK_ON_LOGIN:
		return "on_login";
	case STATS_HOOK_CUSTOM_DIFF:
		return "custom_diff";
	case STATS_HOOK_WORKER_NAME:
		return "worker_name";
	case STATS_HOOK_UPSTREAM_LOGIN:
		return "upstream_login";
	case STATS_NHOOKS:
		break;
	}
	return "unknown";
}

/* Label of a close reason by number, for the counter table. */
static const char *
stats_close_label(unsigned i)
{
	return stats_close_text((enum close_reason)i);
}

/* Name of a Lua hook by number, for the counter table. */
static const char *
stats_hook_label(unsigned i)
{
	return stats_hook_text((enum stats_hook)i);
}

/* Shares xmrig-proxy calls invalid: invalid and duplicate ones. */
static uint64_t
stats_invalid_all(void)
{
	return sl_stats.invalid + sl_stats.duplicate;
}

/* Prometheus type of a counter table row. */
const char *
stats_type_text(enum stats_type t)
{
	switch (t) {
	case STATS_COUNTER:
		return "counter";
	case STATS_GAUGE:
		return "gauge";
	}
	return "untyped";
}

/* Number of samples of a counter table row. */
unsigned
stats_counter_len(const struct stats_counter *c)
{
	return c->n > 0 ? c->n : 1;
}

/* Value of sample i of a counter table row. */
uint64_t
stats_counter_value(const struct stats_counter *c, unsigned i)
{
	if (c->v == NULL)
		return c->get != NULL ? c->get() : 0;
	return i < stats_counter_len(c) ? c->v[i] : 0;
}

/* Label value of sample i of a counter table row; NULL if unlabelled. */
const char *
stats_counter_label(const struct stats_counter *c, unsigned i)
{
	if (c->label == NULL)
		return NULL;
	if (c->label_value != NULL)
		return c->label_value;
	return c->text != NULL ? c->text(i) : "unknown";
}

/* Summary key of sample i of a counter table row; NULL if not there. */
const char *
stats_counter_key(const struct stats_counter *c, unsigned i)
{
	if (c->json == NULL)
		return NULL;
	if (c->key != NULL)
		return c->key;
	return c->text != NULL ? c->text(i) : "unknown";
}

/*
 * Where a share that ended as r, counting diff for the hashrate, goes
 * in the rings: the sample and flush bucket of now_ms on the wall clock,
 * and what it counts as. Accepted is what the miner was told OK,
 * rejected the pool's refusals and the shares it never answered,
 * invalid the failed local checks and duplicates, as workers.cc counts.
 */
void
stats_hist_at(struct stats_hist_at *at, enum share_result r, uint64_t diff,
    int64_t now_ms)
{
	const struct stats_hist_clock	*c = &stats_hist_clock;
	int64_t				 wall = now_ms + c->offset_ms;

	at->on = c->sample_ms != 0 && wall >= 0;
	at->idx = at->on ? wall / c->sample_ms : 0;
	at->bucket = at->on ? wall / c->flush_ms : 0;
	at->hashes = diff;
	switch (r) {
	case SHARE_ACCEPTED:
	case SHARE_LOCAL:
		at->what = STATS_HIST_ACCEPTED;
		break;
	case SHARE_REJECTED:
	case SHARE_BAD_GATEWAY:
	case SHARE_TIMEOUT:
	case SHARE_LOST:
		at->what = STATS_HIST_REJECTED;
		break;
	case SHARE_INVALID:
	case SHARE_DUPLICATE:
		at->what = STATS_HIST_INVALID;
		break;
	}
}

/* Count a share (at) in the ring *hp, made here on the first one. */
void
stats_hist_add(struct stats_hist **hp, const struct stats_hist_at *at)
{
	if (!at->on)
		return;
	if (*hp == NULL) {
		*hp = XCALLOC(struct stats_hist, 1);
		(*hp)->newest = (*hp)->bucket = -1;
		stats_hist_n++;
	}
	stats_hist_put(*hp, at);
}

/*
 * Count a share in its sample and flush bucket. A newer sample moves
 * the ring on, zeroing the slots passed over; an older one still in the
 * ring adds to its slot. A newer bucket moves the sums on; the previous
 * bucket still adds to its sum (a clock set back); older ones are lost.
 */
void
stats_hist_put(struct stats_hist *h, const struct stats_hist_at *at)
{
	struct stats_hist_slot	*v = NULL;
	struct stats_hist_sum	*sum = NULL;
	int64_t			 i, steps, idx = at->idx, b = at->bucket;

	if (h->newest < 0)
		h->newest = idx;
	else if (idx > h->newest) {
		steps = idx - h->newest;
		if (steps > STATS_HIST_SLOTS)
			steps = STATS_HIST_SLOTS;
		for (i = 1; i <= steps; i++)
			memset(&h->v[(h->newest + i) % STATS_HIST_SLOTS], 0,
			    sizeof h->v[0]);
		h->newest = idx;
	}
	if (idx > h->newest - STATS_HIST_SLOTS)
		v = &h->v[idx % STATS_HIST_SLOTS];
	if (b > h->bucket) {
		if (b == h->bucket + 1)
			h->sum[1] = h->sum[0];
		else
			memset(&h->sum[1], 0, sizeof h->sum[1]);
		memset(&h->sum[0], 0, sizeof h->sum[0]);
		h->bucket = b;
	}
	if (b == h->bucket)
		sum = &h->sum[0];
	else if (b == h->bucket - 1)
		sum = &h->sum[1];

	if (sum != NULL) {
		sum->hashes += at->hashes;
		switch (at->what) {
		case STATS_HIST_ACCEPTED:
			sum->accepted++;
			break;
		case STATS_HIST_REJECTED:
			sum->rejected++;
			break;
		case STATS_HIST_INVALID:
			sum->invalid++;
			break;
		}
	}
	if (v == NULL)
		return;
	v->hashes += (float)at->hashes;
	switch (at->what) {
	case STATS_HIST_ACCEPTED:
		if (v->accepted < UINT32_MAX)
			v->accepted++;
		break;
	case STATS_HIST_REJECTED:
		if (v->rejected < UINT16_MAX)
			v->rejected++;
		break;
	case STATS_HIST_INVALID:
		if (v->invalid < UINT16_MAX)
			v->invalid++;
		break;
	}
}

/*
 * Sample idx of a ring (h may be NULL): 1 with *s if the ring holds it,
 * zero when nothing was counted in it; 0 if it is older than the ring.
 */
int
stats_hist_get(const struct stats_hist *h, int64_t idx,
    struct stats_hist_slot *s)
{
	memset(s, 0, sizeof *s);
	if (h == NULL || h->newest < 0 || idx > h->newest)
		return 1;
	if (idx <= h->newest - STATS_HIST_SLOTS)
		return 0;
	*s = h->v[idx % STATS_HIST_SLOTS];
	return 1;
}

/* The exact sums of flush bucket b (zero unless the ring has them). */
void
stats_hist_sum(const struct stats_hist *h, int64_t b,
    struct stats_hist_sum *sum)
{
	memset(sum, 0, sizeof *sum);
	if (h == NULL || h->bucket < 0)
		return;
	if (b == h->bucket)
		*sum = h->sum[0];
	else if (b == h->bucket - 1)
		*sum = h->sum[1];
}

/* Free a ring (its series went, or history stopped). */
void
stats_hist_free(struct stats_hist **hp)
{
	if (*hp == NULL)
		return;
	free(*hp);
	*hp = NULL;
	stats_hist_n--;
}

/* Rings in memory. */
size_t
stats_hist_count(void)
{
	return stats_hist_n;
}
