/*
 * test_ratelimit.cc: unit tests for src/ratelimit.cc with an injected
 * clock (milliseconds): the seed's 10-per-minute budget, refill, bans
 * outliving a refilled bucket, connection counts, the bounded table and
 * its eviction of the longest-idle address, and the tick's sweep. The
 * last tests go through policy_connect(), as the listener does.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "config.h"
#include "policy.h"
#include "ratelimit.h"
#include "stats.h"

TestSuite(ratelimit);

#define T0	1000000		/* an arbitrary start, in ms */

/* One attempt as policy_connect() makes it: take, and ban when empty. */
static int
attempt(const char *ip, int per_minute, int ban, int64_t now)
{
	enum rl_verdict	 v;
	double		 tokens;
	int		 conns;

	v = ratelimit_take(ip, per_minute, now, &tokens, &conns);
	if (v == RL_EMPTY)
		ratelimit_ban(ip, ban, now);
	return v == RL_OK;
}

/* Seed 001 §22: a budget of 10/min, the first 10 calls return true. */
Test(ratelimit, allow_good)
{
	int	 i;

	for (i = 0; i < 10; i++)
		cr_assert(attempt("1.2.3.4", 10, 300, T0), "call %d refused",
		    i + 1);
	ratelimit_clear();
}

/* The 11th call within the minute returns false. */
Test(ratelimit, allow_bad)
{
	int	 i;

	for (i = 0; i < 10; i++)
		cr_assert(attempt("1.2.3.4", 10, 300, T0 + i));
	cr_assert_not(attempt("1.2.3.4", 10, 300, T0 + 10));
	/* Another address is unaffected. */
	cr_assert(attempt("1.2.3.5", 10, 300, T0 + 10));
	ratelimit_clear();
}

/* A banned address stays refused for ban-duration, even refilled. */
Test(ratelimit, allow_ugly)
{
	double	 tokens;
	int	 i, conns, banned;

	for (i = 0; i < 11; i++)
		attempt("1.2.3.4", 10, 300, T0);
	cr_assert_eq(ratelimit_info("1.2.3.4", T0, &tokens, &conns, &banned),
	    0);
	cr_assert_eq(banned, 300);
	/* After 60 s the bucket is full again, but the ban holds. */
	for (i = 1; i < 300; i += 7)
		cr_assert_not(attempt("1.2.3.4", 10, 300, T0 + i * 1000LL),
		    "allowed %d s into a 300 s ban", i);
	cr_assert_not(attempt("1.2.3.4", 10, 300, T0 + 299999));
	cr_assert(attempt("1.2.3.4", 10, 300, T0 + 300000),
	    "still refused when the ban is over");
	ratelimit_clear();
}

/* Without a ban the bucket refills at one token per 60/max seconds. */
Test(ratelimit, refill)
{
	int	 i;

	for (i = 0; i < 10; i++)
		cr_assert(attempt("10.0.0.1", 10, 0, T0));
	cr_assert_not(attempt("10.0.0.1", 10, 0, T0));
	cr_assert_not(attempt("10.0.0.1", 10, 0, T0 + 5999));
	cr_assert(attempt("10.0.0.1", 10, 0, T0 + 6000));
	cr_assert_not(attempt("10.0.0.1", 10, 0, T0 + 6001));
	/* A long pause refills to the cap, no further. */
	for (i = 0; i < 10; i++)
		cr_assert(attempt("10.0.0.1", 10, 0, T0 + 3600000));
	cr_assert_not(attempt("10.0.0.1", 10, 0, T0 + 3600000));
	ratelimit_clear();
}

/* With the limit off every attempt passes; bans still apply. */
Test(ratelimit, off)
{
	double	 tokens;
	int	 i, conns;

	for (i = 0; i < 1000; i++)
		cr_assert(attempt("10.0.0.2", 0, 300, T0));
	cr_assert_eq(ratelimit_take("10.0.0.2", 0, T0, &tokens, &conns),
	    RL_OK);
	cr_assert(isinf(tokens));
	cr_assert_eq(ratelimit_ban("10.0.0.2", 60, T0), 1);
	cr_assert_eq(ratelimit_ban("10.0.0.2", 60, T0 + 1), 0,
	    "a second ban reported as new");
	cr_assert_eq(ratelimit_take("10.0.0.2", 0, T0 + 1000, &tokens,
	    &conns), RL_BANNED);
	cr_assert_eq(ratelimit_take("10.0.0.2", 0, T0 + 61001, &tokens,
	    &conns), RL_OK);
	ratelimit_clear();
}

/* Connection counts per address. */
Test(ratelimit, connections)
{
	double	 tokens;
	int	 conns;

	ratelimit_take("10.0.0.3", 0, T0, &tokens, &conns);
	cr_assert_eq(conns, 0);
	ratelimit_connected("10.0.0.3", T0);
	ratelimit_connected("10.0.0.3", T0);
	ratelimit_take("10.0.0.3", 0, T0, &tokens, &conns);
	cr_assert_eq(conns, 2);
	ratelimit_disconnected("10.0.0.3");
	ratelimit_disconnected("10.0.0.3");
	ratelimit_disconnected("10.0.0.3");	/* one too many: ignored */
	ratelimit_disconnected("10.9.9.9");	/* unknown: ignored */
	ratelimit_take("10.0.0.3", 0, T0, &tokens, &conns);
	cr_assert_eq(conns, 0);
	ratelimit_clear();
}

/* The table is bounded: the longest-idle address goes, busy ones stay. */
Test(ratelimit, bounded_table)
{
	double	 tokens;
	int	 conns, banned, i;
	char	 ip[32];

	ratelimit_set_max(4);
	ratelimit_take("10.0.0.1", 10, T0, &tokens, &conns);
	ratelimit_connected("10.0.0.1", T0);		/* pinned */
	ratelimit_take("10.0.0.2", 10, T0 + 1, &tokens, &conns);
	ratelimit_take("10.0.0.3", 10, T0 + 2, &tokens, &conns);
	ratelimit_take("10.0.0.4", 10, T0 + 3, &tokens, &conns);
	ratelimit_take("10.0.0.2", 10, T0 + 4, &tokens, &conns); /* seen */
	ratelimit_take("10.0.0.5", 10, T0 + 5, &tokens, &conns);
	cr_assert_eq(ratelimit_count(), 4);
	cr_assert_eq(ratelimit_info("10.0.0.3", T0, &tokens, &conns, &banned),
	    -1, "the longest-idle address was not the one evicted");
	cr_assert_eq(ratelimit_info("10.0.0.1", T0, &tokens, &conns, &banned),
	    0, "an address with a connection was evicted");
	cr_assert_eq(ratelimit_info("10.0.0.2", T0, &tokens, &conns, &banned),
	    0);

	/* A flood of new addresses never grows the table. */
	for (i = 0; i < 10000; i++) {
		snprintf(ip, sizeof ip, "172.16.%d.%d", i / 256, i % 256);
		ratelimit_take(ip, 10, T0 + 10 + i, &tokens, &conns);
	}
	cr_assert_eq(ratelimit_count(), 4);
	cr_assert_eq(ratelimit_info("10.0.0.1", T0, &tokens, &conns, &banned),
	    0);
	cr_assert_eq(conns, 1);

	/* All pinned: a new address is admitted but not tracked. */
	ratelimit_clear();
	for (i = 0; i < 4; i++) {
		snprintf(ip, sizeof ip, "10.1.0.%d", i);
		ratelimit_take(ip, 1, T0, &tokens, &conns);
		ratelimit_connected(ip, T0);
	}
	cr_assert_eq(ratelimit_take("10.2.0.1", 1, T0, &tokens, &conns), RL_OK);
	cr_assert_eq(ratelimit_take("10.2.0.1", 1, T0, &tokens, &conns), RL_OK);
	cr_assert_eq(ratelimit_count(), 4);
	ratelimit_set_max(0);
	ratelimit_clear();
}

/* The tick drops entries with nothing to remember, keeps the rest. */
Test(ratelimit, expire)
{
	double	 tokens;
	int	 conns, banned, i;

	ratelimit_take("10.0.0.1", 10, T0, &tokens, &conns);	/* 9 left */
	ratelimit_take("10.0.0.2", 10, T0, &tokens, &conns);
	ratelimit_connected("10.0.0.2", T0);
	ratelimit_ban("10.0.0.3", 600, T0);
	/* 5 s on: .1 has not refilled; after a full sweep nothing goes. */
	for (i = 0; i < 40; i++)
		ratelimit_expire(T0 + 5000);
	cr_assert_eq(ratelimit_count(), 3);
	/* 60 s on: .1 has refilled and goes; .2 is connected, .3 banned. */
	for (i = 0; i < 40; i++)
		ratelimit_expire(T0 + 60000);
	cr_assert_eq(ratelimit_count(), 2);
	cr_assert_eq(ratelimit_info("10.0.0.1", T0, &tokens, &conns, &banned),
	    -1);
	ratelimit_disconnected("10.0.0.2");
	for (i = 0; i < 40; i++)
		ratelimit_expire(T0 + 601000);
	cr_assert_eq(ratelimit_count(), 0);
	ratelimit_clear();
}

/* policy_connect: 10 per minute, the 11th refused, counted and banned. */
Test(ratelimit, policy_connect)
{
	struct config	 c;
	double		 tokens;
	int		 i, conns, banned;

	memset(&c, 0, sizeof c);
	c.rate_limit_per_minute = 10;
	c.rate_limit_ban = 300;
	for (i = 0; i < 10; i++) {
		cr_assert_eq(policy_connect(&c, "192.0.2.7", 3333, 0), 0);
		policy_disconnect("192.0.2.7");
	}
	cr_assert_eq(policy_connect(&c, "192.0.2.7", 3333, 0), -1);
	cr_assert_eq(sl_stats.ratelimit_denied, 1);
	cr_assert_eq(ratelimit_info("192.0.2.7", 0, &tokens, &conns, &banned),
	    0);
	cr_assert(banned > 0);
	cr_assert_eq(policy_connect(&c, "192.0.2.8", 3333, 0), 0);
	cr_assert_eq(policy_connect(&c, "192.0.2.7", 3333, 0), -1);
	cr_assert_eq(sl_stats.ratelimit_denied, 2);
	ratelimit_clear();
}

/* What the hook heard: fleet.cc publishes the bans made here. */
static char	hook_ip[64];
static int	hook_seconds, hook_calls;

static void
hook(const char *ip, int seconds)
{
	snprintf(hook_ip, sizeof hook_ip, "%s", ip);
	hook_seconds = seconds;
	hook_calls++;
}

/*
 * A ban made here goes to the hook; one from another node does not, and
 * never shortens a ban held here, but lengthens it.
 */
Test(ratelimit, shared_bans)
{
	double	 tokens;
	int	 conns, banned;

	hook_calls = 0;
	ratelimit_set_ban_hook(hook);
	cr_assert_eq(ratelimit_ban("192.0.2.9", 60, T0), 1);
	cr_assert_eq(hook_calls, 1);
	cr_assert_str_eq(hook_ip, "192.0.2.9");
	cr_assert_eq(hook_seconds, 60);
	/* Another node's shorter ban: kept at 60 s, not told back. */
	cr_assert_eq(ratelimit_ban_shared("192.0.2.9", 10, T0), 0);
	cr_assert_eq(hook_calls, 1);
	ratelimit_info("192.0.2.9", T0, &tokens, &conns, &banned);
	cr_assert_eq(banned, 60);
	/* A longer one lengthens it. */
	ratelimit_ban_shared("192.0.2.9", 120, T0);
	ratelimit_info("192.0.2.9", T0, &tokens, &conns, &banned);
	cr_assert_eq(banned, 120);
	/* A new address banned by another node is refused here. */
	cr_assert_eq(ratelimit_ban_shared("192.0.2.10", 30, T0), 1);
	cr_assert_eq(ratelimit_take("192.0.2.10", 0, T0 + 29000, &tokens,
	    &conns), RL_BANNED);
	cr_assert_eq(ratelimit_take("192.0.2.10", 0, T0 + 30001, &tokens,
	    &conns), RL_OK);
	cr_assert_eq(hook_calls, 1);
	ratelimit_set_ban_hook(NULL);
	ratelimit_clear();
}
