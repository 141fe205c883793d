/*
 * stats.cc: global counters. Single-threaded: plain integers, no atomics.
 */
#include <string.h>

#include "sluice.h"

struct stats	 sl_stats;

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
