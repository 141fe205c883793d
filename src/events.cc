/*
 * events.cc: the one place that tells the rest of the proxy what happened
 * to a miner or a share, calling each subsystem in a fixed order:
 *
 *	connect:  stats
 *	login:    stats, (workers, access log: monitoring issue)
 *	share:    stats, miner log line, (workers, share log)
 *	close:    stats, (workers, access log)
 *
 * A reader following a share from submit to reply ends up here, and can
 * read what it changes top to bottom.
 */
#include <string.h>

#include "sluice.h"

/* A connection was accepted. */
void
events_connect(struct miner *m)
{
	(void)m;
}

/* A miner logged in and has an upstream. */
void
events_login(struct miner *m)
{
	m->logged_in = 1;
	sl_stats.miners_now++;
	if (sl_stats.miners_now > sl_stats.miners_max)
		sl_stats.miners_max = sl_stats.miners_now;
}

/* A share ended; r says how. */
void
events_share(struct share *s, enum share_result r, const char *message)
{
	struct miner	*m = s->miner;

	switch (r) {
	case SHARE_ACCEPTED:
		sl_stats.accepted++;
		sl_stats.hashes += s->pool_diff;
		if (s->expired)
			sl_stats.expired++;
		stats_best(s->diff);
		break;
	case SHARE_LOCAL:
		sl_stats.local++;
		stats_best(s->diff);
		break;
	case SHARE_REJECTED:
		sl_stats.rejected++;
		break;
	case SHARE_INVALID:
		sl_stats.invalid++;
		break;
	case SHARE_DUPLICATE:
		sl_stats.duplicate++;
		break;
	case SHARE_BAD_GATEWAY:
		sl_stats.bad_gateway++;
		break;
	case SHARE_TIMEOUT:
		sl_stats.timeouts++;
		break;
	}
	log_debug("type=share id=%llu user=%s result=%s diff=%llu "
	    "pool_diff=%llu expired=%d reason=\"%s\"",
	    (unsigned long long)m->id, m->user != NULL ? m->user : "",
	    share_result_text(r), (unsigned long long)s->diff,
	    (unsigned long long)s->pool_diff, s->expired,
	    message != NULL ? message : "");
}

/* A miner connection closed (after login or not). */
void
events_close(struct miner *m)
{
	if (m->logged_in) {
		m->logged_in = 0;
		sl_stats.miners_now--;
	}
}

/* Once a second. */
void
events_tick(time_t now)
{
	(void)now;
}

/* Log files are to be reopened (SIGUSR1, reload). */
void
events_reopen(void)
{
}

/* The process is stopping: flush and close what events own. */
void
events_stop(void)
{
}
