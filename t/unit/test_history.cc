/*
 * test_history.cc: unit tests for the history's pure parts: the rings of
 * src/stats.cc (samples moving on, zeroing what they pass, old ones
 * falling out, late ones added in place; the exact bucket sums; the
 * clock).
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
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
