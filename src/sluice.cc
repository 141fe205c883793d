/*
 * sluice.cc: the process-wide state every subsystem shares (the event
 * base, the live config snapshot, the miner list, the tick's clock). It
 * lives apart from main.cc so the unit tests can link the subsystems.
 */
#include <time.h>

#include "sluice.h"

struct sluice	 sl;

/* Monotonic seconds. */
time_t
sluice_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}
