/*
 * events.cc: the one place that tells the rest of the proxy what happened
 * to a miner or a share, calling each subsystem in a fixed order:
 *
 *	connect:  (nothing yet: the listener counted the connection)
 *	login:    stats (miners now/max), workers (attach), access log
 *	share:    pool latency, stats (counters, windows, best, the
 *		  history rings of the total, the coin, the upstream and the
 *		  worker), the upstream's counters, workers, share log,
 *		  debug line
 *	close:    stats (miners now, close reason), workers (detach),
 *		  access log
 *	tick:     workers (mode and cap changes), log files (flush)
 *	reopen:   log files (SIGUSR1, reload)
 *	stop:     log files (flush, close), workers (free)
 *
 * A reader following a share from submit to reply ends up here, and can
 * read what it changes top to bottom. Nothing here allocates on the share
 * path.
 */
#include <string.h>

#include "coins.h"
#include "config.h"
#include "events.h"
#include "logfile.h"
#include "miner.h"
#include "share.h"
#include "stats.h"
#include "upstream.h"
#include "workers.h"

static int	 events_started;

static void	 events_start(void);
static uint64_t	 events_counted(const struct share *, enum share_result);
static int64_t	 events_latency(const struct share *, enum share_result);

/* First event: open the log files the config names. */
static void
events_start(void)
{
	if (events_started || sl.conf == NULL)
		return;
	events_started = 1;
	logfile_reopen(sl.conf);
}

/*
 * The difficulty a share adds to the hashes and hashrate windows. By
 * default only pool-accepted shares count, at the pool's difficulty.
 * With custom-diff-stats, every share the miner was told OK counts at
 * the difficulty the miner worked at: min(its custom difficulty, the
 * pool's), so a local OK is not lost and an accepted share is not
 * counted twice.
 */
static uint64_t
events_counted(const struct share *s, enum share_result r)
{
	const struct miner	*m = s->miner;

	if (r != SHARE_ACCEPTED && r != SHARE_LOCAL)
		return 0;
	if (!sl.conf->custom_diff_stats)
		return r == SHARE_ACCEPTED ? s->pool_diff : 0;
	if (m->diff != 0 && (m->diff < s->pool_diff || s->pool_diff == 0))
		return m->diff;
	return s->pool_diff;
}

/* Milliseconds the pool took to answer, or -1 if it did not answer. */
static int64_t
events_latency(const struct share *s, enum share_result r)
{
	struct timespec	 now;
	int64_t		 ms;

	if ((r != SHARE_ACCEPTED && r != SHARE_REJECTED) ||
	    (s->sent.tv_sec == 0 && s->sent.tv_nsec == 0))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (int64_t)(now.tv_sec - s->sent.tv_sec) * 1000 +
	    (now.tv_nsec - s->sent.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms;
}

/* A connection was accepted. */
void
events_connect(struct miner *m)
{
	(void)m;
	events_start();
}

/* A miner logged in and has an upstream. */
void
events_login(struct miner *m)
{
	events_start();
	m->logged_in = 1;
	sl_stats.miners_now++;
	if (sl_stats.miners_now > sl_stats.miners_max)
		sl_stats.miners_max = sl_stats.miners_now;
	if (m->worker_rec == NULL)
		m->worker_rec = workers_attach(&m->peer, stats_clock_ms());
	logfile_connect(&m->peer);
}

/* A miner moved from coin was to its upstream's coin (splitter_switch). */
void
events_switch(struct miner *m, const char *was)
{
	log_debug("type=miner_switch id=%llu user=%s from=%s to=%s",
	    (unsigned long long)m->peer.id, log_word(m->peer.user), was,
	    m->upstream->coin);
	logfile_switch(&m->peer, was, m->upstream->coin);
}

/* A share ended; r says how. */
void
events_share(struct share *s, enum share_result r, const char *message)
{
	struct miner		*m = s->miner;
	struct stats_hist_at	 at;
	int64_t			 latency = events_latency(s, r), now_ms;
	uint64_t		 counted = events_counted(s, r);
	char			 reason[256];

	events_start();
	if (latency >= 0)
		stats_latency((uint32_t)latency);

	switch (r) {
	case SHARE_ACCEPTED:
		sl_stats.accepted++;
		if (s->expired)
			sl_stats.expired++;
		stats_best(s->diff);
		break;
	case SHARE_LOCAL:
		sl_stats.local++;
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
	case SHARE_LOST:
		sl_stats.lost++;
		break;
	}
	now_ms = stats_clock_ms();
	if (counted > 0) {
		sl_stats.hashes += counted;
		stats_hashes(counted, now_ms);
	}
	stats_hist_at(&at, r, counted, now_ms);
	stats_hist_add(&stats_hist_total, &at);
	if (m->upstream != NULL) {
		coins_share(m->upstream->coin, &at, now_ms);
		stats_hist_add(&m->upstream->ustats.hist, &at);
	}

	/* A miner that has closed has no upstream: it is unknown. */
	if ((r == SHARE_ACCEPTED || r == SHARE_REJECTED) &&
	    m->upstream != NULL)
		stats_upstream_share(&m->upstream->ustats, r == SHARE_ACCEPTED,
		    latency);
	if (m->worker_rec != NULL) {
		workers_share(m->worker_rec, r, counted, now_ms);
		stats_hist_add(&m->worker_rec->hist, &at);
	}
	logfile_share(&m->peer, s, r, message, r == SHARE_LOCAL ? (m->diff != 0 &&
	    m->diff < s->pool_diff ? m->diff : s->pool_diff) : s->pool_diff,
	    latency);

	if (log_get_verbose() >= 1) {
		/* Pool error texts are not ours: escape them. */
		log_debug("type=share id=%llu result=%s diff=%llu "
		    "pool_diff=%llu expired=%d latency_ms=%lld reason=\"%s\"",
		    (unsigned long long)m->peer.id, share_result_text(r),
		    (unsigned long long)s->diff,
		    (unsigned long long)s->pool_diff, s->expired,
		    (long long)latency, log_escape(reason, sizeof reason,
		    message, 1));
	}
}

/* A miner connection closed (after login or not); why: in words. */
void
events_close(struct miner *m, const char *why)
{
	events_start();
	sl_stats.closed[m->close_reason]++;
	if (m->logged_in) {
		m->logged_in = 0;
		sl_stats.miners_now--;
	}
	workers_detach(m->worker_rec);
	m->worker_rec = NULL;
	logfile_disconnect(&m->peer, m->rx, m->tx,
	    (long long)(sl.now - m->connected), why);
}

/* Once a second. */
void
events_tick(time_t now)
{
	(void)now;
	events_start();
	workers_tick();
	logfile_flush();
}

/* Log files are to be reopened (SIGUSR1, reload). */
void
events_reopen(void)
{
	events_started = 1;
	logfile_reopen(sl.conf);
}

/* The process is stopping: flush and close what events own. */
void
events_stop(void)
{
	logfile_close();
	workers_clear();
	events_started = 0;
}
