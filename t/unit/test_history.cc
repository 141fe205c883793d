/*
 * test_history.cc: unit tests for the history's pure parts: the rings of
 * src/stats.cc (samples moving on, zeroing what they pass, old ones
 * falling out, late ones added in place; the exact bucket sums; the
 * clock), and of src/history.cc the dense buckets of an answer
 * and the step aggregation of one-minute rows into 5-minute and hourly
 * buckets, the hashrate of a bucket still filling, and the seam between
 * the database and memory: where it falls, and that the merge of
 * overlapping sources counts each interval once and leaves no gap.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "history.h"
#include "share.h"
#include "stats.h"

TestSuite(history);

/* A ring as stats_hist_add() makes it. */
static struct stats_hist *
ring(void)
{
	struct stats_hist	*h = XCALLOC(struct stats_hist, 1);

	h->newest = h->bucket = -1;
	return h;
}

/* Count a share of diff that ended as r in sample idx and bucket b. */
static void
put(struct stats_hist *h, int64_t idx, int64_t b, enum share_result r,
    uint64_t diff)
{
	struct stats_hist_at	 at;

	stats_hist_clock.sample_ms = 0;
	stats_hist_at(&at, r, diff, 0);
	cr_assert(!at.on);
	at.idx = idx;
	at.bucket = b;
	stats_hist_put(h, &at);
}

Test(history, ring_put_get)
{
	struct stats_hist	*h = ring();
	struct stats_hist_slot	 x;
	int64_t			 n = STATS_HIST_SLOTS;

	cr_assert_eq(stats_hist_get(NULL, 5, &x), 1, "no ring: zeros");
	cr_assert_eq(x.accepted, 0);
	put(h, 100, 10, SHARE_ACCEPTED, 1000);
	put(h, 100, 10, SHARE_LOCAL, 500);
	cr_assert_eq(stats_hist_get(h, 100, &x), 1);
	cr_assert_eq(x.hashes, 1500.0f);
	cr_assert_eq(x.accepted, 2);
	/* Nothing counted since: zero, but held. */
	cr_assert_eq(stats_hist_get(h, 101, &x), 1);
	cr_assert_eq(x.accepted, 0);
	/* A jump of two zeroes the slot passed over. */
	put(h, 102, 10, SHARE_REJECTED, 0);
	put(h, 102, 10, SHARE_TIMEOUT, 0);
	put(h, 102, 10, SHARE_DUPLICATE, 0);
	cr_assert_eq(stats_hist_get(h, 101, &x), 1);
	cr_assert_eq(x.hashes, 0.0f);
	cr_assert_eq(stats_hist_get(h, 102, &x), 1);
	cr_assert_eq(x.rejected, 2);
	cr_assert_eq(x.invalid, 1);
	/* A late share for a slot still held adds to it. */
	put(h, 100, 10, SHARE_INVALID, 0);
	cr_assert_eq(stats_hist_get(h, 100, &x), 1);
	cr_assert_eq(x.invalid, 1);
	cr_assert_eq(x.accepted, 2);
	/* n slots: 100 falls out when 100 + n comes. */
	put(h, 100 + n, 10, SHARE_ACCEPTED, 1);
	cr_assert_eq(stats_hist_get(h, 100, &x), 0, "fell out");
	cr_assert_eq(stats_hist_get(h, 101, &x), 1);
	cr_assert_eq(stats_hist_get(h, 100 + n, &x), 1);
	cr_assert_eq(x.hashes, 1.0f);
	/* Too old for the ring: not in a slot, nothing overwritten. */
	put(h, 100, 10, SHARE_ACCEPTED, 99);
	cr_assert_eq(stats_hist_get(h, 100 + n, &x), 1);
	cr_assert_eq(x.hashes, 1.0f);
	free(h);
}

Test(history, ring_long_jump_clears_all)
{
	struct stats_hist	*h = ring();
	struct stats_hist_slot	 x;
	int64_t			 i;

	for (i = 0; i < STATS_HIST_SLOTS; i++)
		put(h, i, 0, SHARE_ACCEPTED, 7);
	put(h, 1000, 100, SHARE_ACCEPTED, 3);
	for (i = 1000 - STATS_HIST_SLOTS + 1; i < 1000; i++) {
		cr_assert_eq(stats_hist_get(h, i, &x), 1);
		cr_assert_eq(x.hashes, 0.0f, "stale data in slot %lld",
		    (long long)i);
	}
	cr_assert_eq(stats_hist_get(h, 1000, &x), 1);
	cr_assert_eq(x.hashes, 3.0f);
	cr_assert_eq(stats_hist_get(h, 2, &x), 0);
	free(h);
}

/*
 * The exact sums of the flush buckets: the current and the previous one;
 * a skipped bucket reads zero, an older one is gone.
 */
Test(history, ring_bucket_sums)
{
	struct stats_hist	*h = ring();
	struct stats_hist_sum	 s;

	stats_hist_sum(NULL, 3, &s);
	cr_assert_eq(s.hashes, 0);
	/* Sums stay exact past a float's 24 bits. */
	put(h, 60, 10, SHARE_ACCEPTED, 100000000001ULL);
	put(h, 61, 10, SHARE_ACCEPTED, 1);
	put(h, 62, 10, SHARE_REJECTED, 0);
	stats_hist_sum(h, 10, &s);
	cr_assert_eq(s.hashes, 100000000002ULL);
	cr_assert_eq(s.accepted, 2);
	cr_assert_eq(s.rejected, 1);
	/* The next bucket: the previous one is still there to flush. */
	put(h, 66, 11, SHARE_INVALID, 0);
	stats_hist_sum(h, 10, &s);
	cr_assert_eq(s.accepted, 2, "the previous bucket");
	stats_hist_sum(h, 11, &s);
	cr_assert_eq(s.invalid, 1);
	cr_assert_eq(s.accepted, 0);
	/* A late share of the previous bucket (clock set back). */
	put(h, 65, 10, SHARE_ACCEPTED, 5);
	stats_hist_sum(h, 10, &s);
	cr_assert_eq(s.accepted, 3);
	/* Two buckets on: both older ones are gone. */
	put(h, 78, 13, SHARE_ACCEPTED, 1);
	stats_hist_sum(h, 11, &s);
	cr_assert_eq(s.invalid, 0);
	stats_hist_sum(h, 12, &s);
	cr_assert_eq(s.accepted, 0, "a bucket without shares");
	stats_hist_sum(h, 13, &s);
	cr_assert_eq(s.accepted, 1);
	free(h);
}

/* The rings count only while history runs, on the wall clock. */
Test(history, ring_clock)
{
	struct stats_hist	*h = NULL;
	struct stats_hist_slot	 x;
	struct stats_hist_sum	 s;
	struct stats_hist_at	 at;

	stats_hist_clock.sample_ms = 0;
	stats_hist_at(&at, SHARE_ACCEPTED, 10, 1000);
	cr_assert_eq(at.hashes, 10, "the coins' rate needs it, on or off");
	stats_hist_add(&h, &at);
	cr_assert_null(h, "a ring made while history is off");
	stats_hist_clock.sample_ms = 10000;
	stats_hist_clock.flush_ms = 60000;
	stats_hist_clock.offset_ms = 1700000000000LL;
	stats_hist_at(&at, SHARE_ACCEPTED, 10, 5000);
	cr_assert(at.on);
	cr_assert_eq(at.what, STATS_HIST_ACCEPTED);
	stats_hist_add(&h, &at);
	cr_assert_not_null(h);
	cr_assert_eq(stats_hist_count(), 1);
	cr_assert_eq(stats_hist_get(h, 170000000, &x), 1);
	cr_assert_eq(x.accepted, 1);
	stats_hist_sum(h, 1700000005000LL / 60000, &s);
	cr_assert_eq(s.hashes, 10);
	stats_hist_free(&h);
	cr_assert_null(h);
	cr_assert_eq(stats_hist_count(), 0);
}

/* One-minute rows summed into 5-minute and hourly buckets. */
Test(history, fill_aggregates_steps)
{
	struct history_point	 rows[120], out[3];
	int64_t			 t0 = 7200 * 1000;	/* on an hour */
	int			 i;

	memset(rows, 0, sizeof rows);
	for (i = 0; i < 120; i++) {
		rows[i].ts = t0 + i * 60;
		rows[i].hashes = 600;
		rows[i].accepted = 1;
		rows[i].rejected = i % 2;
	}
	memset(out, 0, sizeof out);
	for (i = 0; i < 3; i++)
		out[i].ts = t0 + i * 300;
	history_fill(out, 3, t0, 300, rows, 120, INT64_MIN, INT64_MAX);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(out[i].hashes, 3000);
		cr_assert_eq(out[i].accepted, 5);
		cr_assert_eq(history_rate(&out[i], 300, INT64_MAX), 10.0);
	}
	cr_assert_eq(out[0].rejected, 2);
	cr_assert_eq(out[1].rejected, 3);

	/* Hourly, from a start that is not the first row's. */
	memset(out, 0, sizeof out);
	out[0].ts = t0;
	out[1].ts = t0 + 3600;
	history_fill(out, 2, t0, 3600, rows, 120, INT64_MIN, INT64_MAX);
	cr_assert_eq(out[0].hashes, 36000);
	cr_assert_eq(out[1].hashes, 36000);
	cr_assert_eq(out[0].accepted, 60);
	cr_assert_eq(history_rate(&out[0], 3600, INT64_MAX), 10.0);

	/* Rows outside the buckets are left out, not wrapped in. */
	memset(out, 0, sizeof out);
	history_fill(out, 1, t0 + 600, 60, rows, 120, INT64_MIN, INT64_MAX);
	cr_assert_eq(out[0].hashes, 600, "only the row at t0 + 600");
}

/* A bucket still filling is divided by the time it covers. */
Test(history, rate_of_partial_bucket)
{
	struct history_point	 p;

	memset(&p, 0, sizeof p);
	p.ts = 6000;
	p.hashes = 600;
	cr_assert_eq(history_rate(&p, 60, 6060), 10.0);
	cr_assert_eq(history_rate(&p, 60, 6030), 20.0);
	cr_assert_eq(history_rate(&p, 60, 6000), 600.0, "at least 1 s");
}

/*
 * Where memory takes over: the first flush boundary the rings hold and
 * this run sampled whole.
 */
Test(history, seam)
{
	/* 10 s samples, 30 slots, next sample 1000 (t = 10000). */
	cr_assert_eq(history_seam(0, 1000, 30, 10, 60), 9720,
	    "rings hold 9700..9999: first minute boundary 9720");
	/* A young run: its first whole minute. */
	cr_assert_eq(history_seam(9960, 1000, 30, 10, 60), 9960);
	/* Already on a boundary. */
	cr_assert_eq(history_seam(0, 996, 30, 10, 60), 9660);
	/* The test intervals: 1 s samples, 300 slots, 2 s flushes. */
	cr_assert_eq(history_seam(0, 10001, 300, 1, 2), 9702);
}

/*
 * The merge at the seam: the database has every minute up to the end
 * (what memory has flushed too), memory the last minutes in 10 s samples.
 * Each source answers only for its side, so every minute counts once.
 */
Test(history, merge_at_seam)
{
	struct history_point	 db[10], mem[36], out[10];
	int64_t			 start = 60000, seam = start + 7 * 60;
	int			 i;

	/* The database: 10 minutes of 600 hashes, 1 accepted each. */
	memset(db, 0, sizeof db);
	for (i = 0; i < 10; i++) {
		db[i].ts = start + i * 60;
		db[i].hashes = 600;
		db[i].accepted = 1;
	}
	/* Memory: the last 6 minutes' samples too, 100 hashes each. */
	memset(mem, 0, sizeof mem);
	for (i = 0; i < 36; i++) {
		mem[i].ts = start + 4 * 60 + i * 10;
		mem[i].hashes = 100;
		mem[i].accepted = i % 6 == 0;
	}
	memset(out, 0, sizeof out);
	for (i = 0; i < 10; i++)
		out[i].ts = start + i * 60;
	history_fill(out, 10, start, 60, db, 10, INT64_MIN, seam);
	history_fill(out, 10, start, 60, mem, 36, seam, INT64_MAX);
	for (i = 0; i < 10; i++) {
		cr_assert_eq(out[i].hashes, 600, "minute %d: %llu hashes", i,
		    (unsigned long long)out[i].hashes);
		cr_assert_eq(out[i].accepted, 1, "minute %d", i);
	}

	/* Hourly over the same: one bucket, each minute once. */
	memset(out, 0, sizeof out);
	out[0].ts = start / 3600 * 3600;
	history_fill(out, 1, out[0].ts, 3600, db, 10, INT64_MIN, seam);
	history_fill(out, 1, out[0].ts, 3600, mem, 36, seam, INT64_MAX);
	cr_assert_eq(out[0].hashes, 6000);
	cr_assert_eq(out[0].accepted, 10);

	/*
	 * The seam inside a 5-minute bucket: 300 s from the database (5
	 * rows) before it, memory after; a gap would read less, a double
	 * count more.
	 */
	memset(out, 0, sizeof out);
	out[0].ts = start + 300;
	history_fill(out, 1, start + 300, 300, db, 10, INT64_MIN, seam);
	history_fill(out, 1, start + 300, 300, mem, 36, seam, INT64_MAX);
	cr_assert_eq(out[0].hashes, 3000);
}

Test(history, kind_and_step_names)
{
	cr_assert_str_eq(history_kind_text(HISTORY_TOTAL), "total");
	cr_assert_str_eq(history_kind_text(HISTORY_COIN), "coin");
	cr_assert_str_eq(history_kind_text(HISTORY_WORKER), "worker");
	cr_assert_str_eq(history_kind_text(HISTORY_UPSTREAM), "upstream");
	cr_assert(history_step_ok(10) && history_step_ok(60) &&
	    history_step_ok(300) && history_step_ok(3600));
	cr_assert(!history_step_ok(0) && !history_step_ok(30) &&
	    !history_step_ok(120));
}
