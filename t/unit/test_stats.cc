/*
 * test_stats.cc: unit tests for src/stats.cc and src/workers.cc: the
 * hashrate windows (a young proxy divides by the time it has been up,
 * old buckets fall out, memory is fixed), the ten best difficulties, the
 * bounded latency median, the close-reason labels, the custom-diff-stats
 * weighting done in events.cc, and the worker table's LRU eviction and
 * bounded memory.
 *
 * Criterion runs every test in its own process, so the globals start
 * zeroed each time.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "config.h"
#include "events.h"
#include "miner.h"
#include "share.h"
#include "stats.h"
#include "workers.h"

TestSuite(stats);

static struct config	 conf;

/* A config the code under test can read through sl.conf. */
static void
setup_conf(int workers_max)
{
	memset(&conf, 0, sizeof conf);
	conf.workers = WORKERS_RIGID;
	conf.workers_max = workers_max;
	sl.conf = &conf;
}

/* A logged-in miner with a worker name (the struct only). */
static struct miner *
fake_miner(const char *worker, const char *ip)
{
	struct miner	*m = XCALLOC(struct miner, 1);

	m->peer.worker = worker != NULL ? xstrdup(worker) : NULL;
	xstrlcpy(m->peer.ip, ip != NULL ? ip : "10.0.0.1", sizeof m->peer.ip);
	return m;
}

/* A miner's login as events_login() does it: attach its worker. */
static struct worker *
attach(struct miner *m, int64_t now_ms)
{
	return m->worker_rec = workers_attach(&m->peer, now_ms);
}

/* A miner's close as events_close() does it. */
static void
detach(struct miner *m)
{
	workers_detach(m->worker_rec);
	m->worker_rec = NULL;
}

/* Free a fake miner (detached first). */
static void
free_miner(struct miner *m)
{
	free(m->peer.worker);
	free(m->peer.user);
	free(m);
}

/* Is a double within 0.01% of want? */
static bool
near(double got, double want)
{
	return fabs(got - want) <= fabs(want) * 1e-4 + 1e-9;
}

Test(stats, young_proxy_divides_by_uptime)
{
	int	 w;

	stats_init(1000000);
	/* One share of 1000 half a second in; read 10 s after start. */
	stats_hashes(1000, 1000500);
	for (w = 0; w < STATS_NWINDOWS; w++)
		cr_assert(near(stats_hashrate((enum stats_window)w, 1010000),
		    100.0), "window %s: %f, want 100",
		    stats_window_text((enum stats_window)w),
		    stats_hashrate((enum stats_window)w, 1010000));
	/* Before one second has passed, the divisor is one second. */
	stats_init(0);
	stats_hashes(500, 100);
	cr_assert(near(stats_hashrate(STATS_W60S, 200), 500.0));
}

Test(stats, steady_rate_reads_steady)
{
	int64_t	 t;
	int	 w;

	stats_init(0);
	/* 6000 per second for 2 hours: every window reads 6000 H/s. */
	for (t = 0; t < 7200; t++)
		stats_hashes(6000, t * 1000);
	/* Mid-bucket: within the error of one share in the current one. */
	cr_assert(fabs(stats_hashrate(STATS_W600S, 7199500) - 6000.0) < 10.0,
	    "600s mid-bucket: %f", stats_hashrate(STATS_W600S, 7199500));
	for (w = 0; w < STATS_NWINDOWS; w++) {
		double	 hr = stats_hashrate((enum stats_window)w, 7200000);

		cr_assert(near(hr, 6000.0), "window %s: %f, want 6000",
		    stats_window_text((enum stats_window)w), hr);
	}
}

Test(stats, old_buckets_fall_out)
{
	stats_init(0);
	stats_hashes(60000, 1000);
	cr_assert(near(stats_hashrate(STATS_W60S, 30000), 2000.0));
	/* Two minutes later the 60 s window is empty; 600 s still sees it. */
	cr_assert_eq(stats_hashrate(STATS_W60S, 121000), 0.0);
	cr_assert(near(stats_hashrate(STATS_W600S, 121000),
	    60000.0 / 121.0));
	/* A day and more later only "all" remembers it. */
	cr_assert_eq(stats_hashrate(STATS_W24H, 90000000), 0.0);
	cr_assert(near(stats_hashrate(STATS_WALL, 90000000),
	    60000.0 / 90000.0));
}

Test(stats, ring_fixed_memory)
{
	uint64_t	 v[6] = { 0 };
	uint32_t	 last = 0;

	/* Indices far apart reuse the same six buckets. */
	stats_ring_add(v, 6, &last, 0, 5);
	stats_ring_add(v, 6, &last, 1, 7);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 1, 6), 12);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 6, 6), 7);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 7, 6), 0);
	stats_ring_add(v, 6, &last, 4000000000u, 3);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 4000000000u, 6), 3);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 4000000000u, 1), 3);
	/* An index older than the newest adds to the newest. */
	stats_ring_add(v, 6, &last, 10, 1);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 4000000000u, 1), 4);
}

Test(stats, best_ten_sorted)
{
	static const uint64_t	 in[] = { 5, 1, 9, 3, 15, 2, 8, 8, 100, 4,
	    7, 6, 50, 0, 11 };
	static const uint64_t	 want[10] = { 100, 50, 15, 11, 9, 8, 8, 7, 6,
	    5 };
	size_t			 i;

	memset(&sl_stats, 0, sizeof sl_stats);
	for (i = 0; i < sizeof in / sizeof in[0]; i++)
		stats_best(in[i]);
	for (i = 0; i < 10; i++)
		cr_assert_eq(sl_stats.best[i], want[i], "best[%zu] = %llu, "
		    "want %llu", i, (unsigned long long)sl_stats.best[i],
		    (unsigned long long)want[i]);
}

Test(stats, latency_median_bounded)
{
	uint32_t	 i, v[4] = { 40, 10, 30, 20 };

	stats_init(0);
	cr_assert_eq(stats_latency_median(), 0);
	for (i = 1; i <= 1001; i++)
		stats_latency(i);
	cr_assert_eq(stats_latency_median(), 501);
	/* Only the last 1024 samples count. */
	for (i = 0; i < 2000; i++)
		stats_latency(7);
	cr_assert_eq(stats_latency_median(), 7);
	cr_assert_eq(stats_median(v, 4), 30);	/* upper median */
	cr_assert_eq(stats_median(v, 3), 30);
}

Test(stats, upstream_latency_and_counts)
{
	struct upstream_stats	 u;
	int			 i;

	memset(&u, 0, sizeof u);
	for (i = 0; i < 100; i++)
		stats_upstream_share(&u, i % 4 != 0, 1000 + i);
	stats_upstream_share(&u, 1, -1);	/* no latency sample */
	cr_assert_eq(u.accepted, 76);
	cr_assert_eq(u.rejected, 25);
	cr_assert_eq(u.nlatency, 100);
	/* The last 64 samples are 1036..1099: median 1068. */
	cr_assert_eq(stats_upstream_latency(&u), 1068);
}

Test(stats, close_reasons)
{
	const char	*seen[CLOSE_MAX];
	int		 i, j;

	/* Every reason has its own label: none is "unknown", no two alike. */
	for (i = 0; i < CLOSE_MAX; i++) {
		seen[i] = stats_close_text((enum close_reason)i);
		cr_assert_str_neq(seen[i], "unknown", "reason %d", i);
		for (j = 0; j < i; j++)
			cr_assert_str_neq(seen[i], seen[j], "%d and %d", i, j);
	}
	cr_assert_str_eq(stats_close_text(CLOSE_MINER), "miner");
	cr_assert_str_eq(stats_close_text(CLOSE_TLS_ERROR), "tls_error");
	cr_assert_str_eq(stats_close_text(CLOSE_MAX), "unknown");
}

Test(stats, custom_diff_stats_weighting)
{
	struct miner	*m;
	struct share	 s;

	setup_conf(100);
	conf.workers = WORKERS_NONE;
	memset(&sl_stats, 0, sizeof sl_stats);
	stats_init(stats_clock_ms());
	m = fake_miner(NULL, NULL);
	m->diff = 1000;
	m->custom_diff = 1000;
	memset(&s, 0, sizeof s);
	s.miner = m;
	s.pool_diff = 10000;
	s.diff = 20000;

	/* Off: only pool-accepted shares, at the pool's difficulty. */
	events_share(&s, SHARE_LOCAL, NULL);
	cr_assert_eq(sl_stats.hashes, 0);
	events_share(&s, SHARE_ACCEPTED, NULL);
	cr_assert_eq(sl_stats.hashes, 10000);
	cr_assert_eq(sl_stats.best[0], 20000);
	events_share(&s, SHARE_REJECTED, "Low difficulty share");
	cr_assert_eq(sl_stats.hashes, 10000);

	/* On: every OK share at min(custom, pool). */
	conf.custom_diff_stats = 1;
	events_share(&s, SHARE_LOCAL, NULL);
	events_share(&s, SHARE_ACCEPTED, NULL);
	cr_assert_eq(sl_stats.hashes, 12000);
	cr_assert_eq(sl_stats.accepted, 2);
	cr_assert_eq(sl_stats.local, 2);
	cr_assert_eq(sl_stats.rejected, 1);
	free_miner(m);
}

Test(stats, workers_lru_eviction)
{
	struct miner	*m[6];
	struct worker	*w;
	const char	*names[] = { "a", "b", "c", "d", "e", "f" };
	char		 seen[64];
	int		 i;

	setup_conf(3);
	memset(&sl_stats, 0, sizeof sl_stats);
	for (i = 0; i < 6; i++)
		m[i] = fake_miner(names[i], NULL);
	/* a, b, c connect and leave in that order: a is idle the longest. */
	for (i = 0; i < 3; i++)
		cr_assert_not_null(attach(m[i], 0));
	for (i = 0; i < 3; i++)
		detach(m[i]);
	cr_assert_eq(workers_count(), 3);
	cr_assert_not_null(attach(m[3], 0));	/* evicts a */
	cr_assert_not_null(attach(m[0], 0));	/* a again: evicts b */
	seen[0] = '\0';
	for (w = workers_first(); w != NULL; w = workers_next(w))
		strcat(seen, w->name);
	cr_assert_str_eq(seen, "cda", "workers after eviction: %s", seen);
	cr_assert_eq(sl_stats.workers_evicted, 2);

	/* c is the only idle one; with d and a connected e evicts c. */
	cr_assert_not_null(attach(m[4], 0));
	/* Now all three are connected: f cannot be tracked. */
	cr_assert_null(attach(m[5], 0));
	cr_assert_eq(sl_stats.workers_untracked, 1);
	cr_assert_eq(workers_count(), 3);

	/* A second connection of the same worker shares its record. */
	m[5]->peer.worker[0] = 'd';
	w = attach(m[5], 0);
	cr_assert(w != NULL && strcmp(w->name, "d") == 0 &&
	    w->connections == 2);
	for (i = 0; i < 6; i++) {
		detach(m[i]);
		free_miner(m[i]);
	}
	workers_clear();
	cr_assert_eq(workers_count(), 0);
}

Test(stats, workers_share_counts_and_rates)
{
	struct miner	*m;
	struct worker	*w;

	setup_conf(10);
	stats_init(0);
	m = fake_miner("rig1", "192.0.2.7");
	w = attach(m, 5000);
	cr_assert_not_null(w);
	cr_assert_str_eq(w->ip, "192.0.2.7");
	workers_share(w, SHARE_ACCEPTED, 10000, 6000);
	workers_share(w, SHARE_LOCAL, 0, 6000);
	workers_share(w, SHARE_REJECTED, 0, 6000);
	workers_share(w, SHARE_TIMEOUT, 0, 6000);
	workers_share(w, SHARE_DUPLICATE, 0, 6000);
	cr_assert_eq(w->accepted, 2);
	cr_assert_eq(w->rejected, 2);
	cr_assert_eq(w->invalid, 1);
	cr_assert_eq(w->hashes, 10000);
	cr_assert_gt(w->last_share_ms, 1600000000000LL);
	/* Seen for 10 s at 15 s: every window reads 1000 H/s. */
	for (int i = 0; i < STATS_NWINDOWS; i++)
		cr_assert(near(workers_hashrate(w, (enum stats_window)i,
		    15000), 1000.0), "window %d: %f", i,
		    workers_hashrate(w, (enum stats_window)i, 15000));
	/* Two minutes later the 60 s window is empty. */
	cr_assert_eq(workers_hashrate(w, STATS_W60S, 135000), 0.0);
	detach(m);
	free_miner(m);
	workers_clear();
}

Test(stats, workers_memory_bounded)
{
	struct miner	*m;
	char		 name[64];
	size_t		 peak = 0, mem;
	int		 i;

	setup_conf(1000);
	memset(&sl_stats, 0, sizeof sl_stats);
	m = fake_miner(NULL, NULL);
	/* 100,000 distinct workers logging in and out. */
	for (i = 0; i < 100000; i++) {
		snprintf(name, sizeof name, "rig-%08d", i);
		m->peer.worker = name;
		cr_assert_not_null(attach(m, i));
		detach(m);
		if ((mem = workers_memory()) > peak)
			peak = mem;
	}
	m->peer.worker = NULL;
	cr_assert_eq(workers_count(), 1000);
	cr_assert_eq(sl_stats.workers_evicted, 99000);
	/* The newest 1000 survive, oldest first. */
	cr_assert_str_eq(workers_first()->name, "rig-00099000");
	cr_log_info("workers: %zu bytes for %zu workers, %zu bytes each "
	    "(struct %zu)", workers_memory(), workers_count(),
	    workers_memory() / workers_count(), sizeof(struct worker));
	fprintf(stderr, "workers: peak %zu bytes for 1000 workers: %zu bytes "
	    "per worker (struct worker %zu)\n", peak, peak / 1000,
	    sizeof(struct worker));
	cr_assert_lt(peak / 1000, 700, "%zu bytes per worker", peak / 1000);
	workers_clear();
	free_miner(m);
}

Test(stats, workers_mode_change_forgets)
{
	struct miner	*a, *b;

	setup_conf(10);
	a = fake_miner("x", NULL);
	b = fake_miner("y", NULL);
	attach(a, 0);
	attach(b, 0);
	detach(b);
	cr_assert_eq(workers_count(), 2);
	conf.workers = WORKERS_USER;
	workers_tick();
	/* The idle one goes now, the connected one when it leaves. */
	cr_assert_eq(workers_count(), 1);
	detach(a);
	cr_assert_eq(workers_count(), 0);
	free_miner(a);
	free_miner(b);
	workers_clear();
}
