/*
 * stats.cc: the global statistics, in fixed memory whatever the traffic.
 *
 *	counters	struct stats sl_stats, bumped by events.cc
 *	best[10]	the ten highest pool-accepted share difficulties
 *	latency		the last 1024 pool answer times; the API shows the
 *			median
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

/* Milliseconds on the monotonic clock: the clock of every window. */
int64_t
stats_clock_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
