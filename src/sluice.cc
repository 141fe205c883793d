/*
 * sluice.cc: the process-wide state every subsystem shares (the event
 * base, the live config snapshot, the miner list, the tick's clock). It
 * lives apart from main.cc so the unit tests can link the subsystems.
 */
#include <time.h>

#include "sluice.h"

struct sluice	 sl;
uint32_t	 sluice_act[ACT_MAX];
int		 sluice_act_watch;
int		 sluice_act_begun;
int64_t		 sluice_act_start_us;
struct event	*sluice_act_ev;

/* Microseconds on clock (CLOCK_MONOTONIC or CLOCK_REALTIME). */
int64_t
sluice_clock_us(clockid_t clock)
{
	struct timespec	 ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

/*
 * The first named callback of a watched turn: the turn's time starts
 * now, and ends when sluice_act_ev runs, queued behind every callback
 * this turn's poll made active. (libevent's cached time of the poll's
 * return would cover unnamed callbacks before this one too, but 2.1
 * takes it from the coarse clock, a few ms wide.)
 */
void
sluice_act_begin(void)
{
	sluice_act_begun = 1;
	sluice_act_start_us = sluice_clock_us(CLOCK_MONOTONIC);
	if (sluice_act_ev != NULL)
		event_active(sluice_act_ev, EV_TIMEOUT, 1);
}

/* An activity's name, as /debug/loop shows it. */
const char *
sluice_act_text(enum activity a)
{
	switch (a) {
	case ACT_MINER_READ:
		return "miner_read";
	case ACT_MINER_WRITE:
		return "miner_write";
	case ACT_ACCEPT:
		return "accept";
	case ACT_POOL_READ:
		return "pool_read";
	case ACT_POOL_EVENT:
		return "pool_event";
	case ACT_TICK:
		return "tick";
	case ACT_SIGNAL:
		return "signal";
	case ACT_API:
		return "api";
	case ACT_DEBUG:
		return "debug";
	case ACT_LUA:
		return "lua";
	case ACT_MAX:
		break;
	}
	return "unknown";
}
