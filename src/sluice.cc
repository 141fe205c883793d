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

/*
 * Nothing is in flight any more (share.cc): finish a graceful stop on
 * the next loop turn. Does nothing unless a stop is under way.
 */
void
sluice_stop_ready(void)
{
	if (sl.stop_ev != NULL)
		event_active(sl.stop_ev, EV_TIMEOUT, 0);
}
