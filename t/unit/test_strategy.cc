/*
 * test_strategy.cc: the failover backoff (strategy_backoff): retry-pause
 * doubled per consecutive failure, capped at retry-pause-max.
 */
#include <criterion/criterion.h>

#include "sluice.h"
#include "pool.h"

TestSuite(strategy);

Test(strategy, backoff_doubles_then_caps)
{
	static const int want[] = { 1, 2, 4, 8, 16, 30, 30, 30 };

	for (int n = 0; n < 8; n++)
		cr_assert_eq(strategy_backoff(1, 30, n), want[n], "n=%d: %d",
		    n, strategy_backoff(1, 30, n));
	/* No overflow however long the pools stay down. */
	cr_assert_eq(strategy_backoff(3000, 3600, 1000), 3600);
	cr_assert_eq(strategy_backoff(1, 3600, 1 << 30), 3600);
}

Test(strategy, backoff_edges)
{
	/* A cap below the first pause: the first pause wins. */
	cr_assert_eq(strategy_backoff(5, 2, 3), 5);
	/* retry-pause 0 stays 0 (an immediate retry, as configured). */
	cr_assert_eq(strategy_backoff(0, 30, 5), 0);
	/* Equal: no growth. */
	cr_assert_eq(strategy_backoff(7, 7, 4), 7);
}
