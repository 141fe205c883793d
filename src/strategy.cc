/*
 * strategy.cc: failover over the ordered list of enabled pools, for one
 * owner (a NiceHash mapper or a simple-mode route), with xmrig-proxy's
 * semantics:
 *
 *  - the primary (pool 0) gets `retries` failed attempts, `retry-pause`
 *    seconds apart, before the next pool is tried;
 *  - a backup that fails moves on at its first failure (after the last
 *    pool, back to the primary after a pause);
 *  - while a backup serves, the primary is probed on a second connection
 *    and takes over as soon as it logs in;
 *  - after a round of the whole list fails, and after each failed probe,
 *    the pause doubles from `retry-pause` up to `retry-pause-max` (a
 *    capped exponential backoff); a successful login resets it.
 *
 * The strategy owns the one log line per state change (type=pool_state
 * up or down, type=pool_switch); each attempt is logged by pool.cc at
 * debug level only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "pool.h"

struct strategy {
	uint64_t	 id;
	const struct strategy_ops *ops;
	void		*owner;
	struct pool	*cur;		/* serving, or being tried */
	int		 cur_index;
	int		 fails;		/* consecutive failures of cur_index */
	int		 rounds;	/* consecutive failed rounds of the list */
	int		 probe_fails;	/* consecutive failed probes */
	struct pool	*probe;		/* primary, retried while on a backup */
	struct event	*retry_ev;
	struct event	*probe_ev;
	uint64_t	 session_gen;	/* bumped on every successful login */
	int		 up;		/* serving pool logged in with a job */
	int		 down_logged;
	char		*user;		/* override of the pool user, or NULL */
	char		*pass;
};

static uint64_t	 strategy_next_id;

static void	 strategy_try(struct strategy *, int);
static void	 strategy_advance(struct strategy *, enum pool_fail);
static void	 strategy_down(struct strategy *, const char *, enum pool_fail,
		     const char *);
static void	 strategy_probe_failed(struct strategy *, enum pool_fail);
static int	 strategy_pause(int);
static void	 strategy_retry_cb(evutil_socket_t, short, void *);
static void	 strategy_probe_cb(evutil_socket_t, short, void *);
static void	 strategy_schedule(struct event *, int);
static void	 strategy_detach(struct strategy *);

/* A strategy for an owner; not connected until strategy_start(). */
struct strategy *
strategy_new(const struct strategy_ops *ops, void *owner)
{
	struct strategy	*st;

	st = XCALLOC(struct strategy, 1);
	st->id = strategy_next_id++;
	st->ops = ops;
	st->owner = owner;
	st->retry_ev = evtimer_new(sl.base, strategy_retry_cb, st);
	st->probe_ev = evtimer_new(sl.base, strategy_probe_cb, st);
	return st;
}

/* Close both connections without callbacks; pending shares are failed. */
static void
strategy_detach(struct strategy *st)
{
	struct pool	*p;

	evtimer_del(st->retry_ev);
	evtimer_del(st->probe_ev);
	if ((p = st->probe) != NULL) {
		st->probe = NULL;
		pool_detach(p);
		pool_close(p, POOL_FAIL_NONE, "stopped");
	}
	if ((p = st->cur) != NULL) {
		st->cur = NULL;
		pool_detach(p);
		pool_close(p, POOL_FAIL_NONE, "stopped");
	}
	st->up = 0;
}

/* Disconnect and free. */
void
strategy_free(struct strategy *st)
{
	strategy_detach(st);
	event_free(st->retry_ev);
	event_free(st->probe_ev);
	free(st->user);
	free(st->pass);
	free(st);
}

/* Connect to the primary. */
void
strategy_start(struct strategy *st)
{
	st->fails = st->rounds = st->probe_fails = 0;
	st->down_logged = 0;
	strategy_try(st, 0);
}

/* Start over at the primary (the pool list changed). */
void
strategy_restart(struct strategy *st)
{
	int	 was_up = st->up;

	strategy_detach(st);
	if (was_up)
		st->ops->on_down(st->owner);
	strategy_start(st);
}

/* The pool that serves, or NULL. */
struct pool *
strategy_pool(struct strategy *st)
{
	return st->up ? st->cur : NULL;
}

/*
 * Log in with this user and pass instead of the pool's (simple mode, the
 * policy's upstream_login). Takes ownership of both strings.
 */
void
strategy_set_login(struct strategy *st, char *user, char *pass)
{
	free(st->user);
	free(st->pass);
	st->user = user;
	st->pass = pass;
}

/* The login override for pool.cc, or NULLs for the pool's own. */
void
strategy_login(const struct strategy *st, const char **user,
    const char **pass)
{
	*user = st->user;
	*pass = st->pass;
}

/* The strategy's id, as logs name it (upstream=N). */
uint64_t
strategy_id(const struct strategy *st)
{
	return st->id;
}

/* A connection to the serving candidate is under way, not up yet? */
int
strategy_is_connecting(const struct strategy *st)
{
	return !st->up && st->cur != NULL && pool_is_open(st->cur);
}

/*
 * The pool the strategy is on or trying, as host:port ([v6]:port), or ""
 * when it has no candidate.
 */
void
strategy_pool_name(const struct strategy *st, char *buf, size_t len)
{
	const struct pool_conf	*pc;
	int			 i = st->cur_index;

	if (st->cur != NULL) {
		xstrlcpy(buf, pool_name(st->cur), len);
		return;
	}
	if (i < 0 || (size_t)i >= sl.conf->npools) {
		buf[0] = '\0';
		return;
	}
	pc = &sl.conf->pools[i];
	snprintf(buf, len, strchr(pc->host, ':') != NULL ? "[%s]:%d" :
	    "%s:%d", pc->host, pc->port);
}

/* Is a pool logged in and serving jobs? */
int
strategy_is_up(const struct strategy *st)
{
	return st != NULL && st->up;
}

/* Arm a one-shot timer in seconds (0 = next loop turn). */
static void
strategy_schedule(struct event *ev, int seconds)
{
	struct timeval	 tv = { seconds, 0 };

	evtimer_add(ev, &tv);
}

/* Connect to pool idx as the serving candidate. */
static void
strategy_try(struct strategy *st, int idx)
{
	if (sl.conf->npools == 0)
		return;
	if ((size_t)idx >= sl.conf->npools)
		idx = 0;
	st->cur_index = idx;
	st->cur = pool_connect(st, sl.conf, idx);
	if (st->cur == NULL) {
		strategy_down(st, sl.conf->pools[idx].url, POOL_FAIL_CONNECT,
		    "cannot start connecting");
		strategy_advance(st, POOL_FAIL_CONNECT);
	}
}

/*
 * The pause after n consecutive failures: pause (retry-pause) doubled n
 * times, at most max (retry-pause-max). Pure, unit-tested.
 */
int
strategy_backoff(int pause, int max, int n)
{
	if (max < pause)
		max = pause;
	while (n-- > 0 && pause < max)
		pause = pause > max / 2 ? max : pause * 2;
	return pause;
}

/* The configured backoff after n consecutive failures. */
static int
strategy_pause(int n)
{
	return strategy_backoff(sl.conf->retry_pause, sl.conf->retry_pause_max,
	    n);
}

/*
 * The serving candidate is down: say so once per transition (up to
 * down, or the first failure after a start), never once per retry.
 */
static void
strategy_down(struct strategy *st, const char *pool, enum pool_fail why,
    const char *detail)
{
	if (st->down_logged)
		return;
	st->down_logged = 1;
	log_info("type=pool_state upstream=%llu pool=%s state=down reason=%s "
	    "detail=\"%s\"", (unsigned long long)st->id, pool,
	    pool_fail_text(why), log_esc(detail != NULL ? detail : ""));
}

/*
 * The candidate failed: retry, or move to the next pool. A pinned
 * certificate mismatch or a refused login will not mend by retrying.
 */
static void
strategy_advance(struct strategy *st, enum pool_fail why)
{
	int	 idx = st->cur_index, npools = (int)sl.conf->npools;

	st->fails++;
	if (idx == 0 && st->fails < sl.conf->retries &&
	    why != POOL_FAIL_TLS && why != POOL_FAIL_LOGIN) {
		strategy_schedule(st->retry_ev, sl.conf->retry_pause);
		return;
	}
	st->fails = 0;
	if (idx + 1 >= npools) {
		/* Wrapped: back to the primary, after a growing pause. */
		st->cur_index = 0;
		log_debug("upstream %llu: every pool failed; next round in "
		    "%d s", (unsigned long long)st->id,
		    strategy_pause(st->rounds));
		strategy_schedule(st->retry_ev, strategy_pause(st->rounds));
		if (st->rounds < 30)
			st->rounds++;
		return;
	}
	st->cur_index = idx + 1;
	log_info("type=pool_switch upstream=%llu from=%s to=%s:%d",
	    (unsigned long long)st->id, sl.conf->pools[idx].url,
	    sl.conf->pools[idx + 1].host, sl.conf->pools[idx + 1].port);
	strategy_schedule(st->retry_ev, 0);
}

/* Retry timer: connect to the current candidate index. */
static void
strategy_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct strategy	*st = (struct strategy *)arg;

	(void)fd;
	(void)what;
	if (st->cur == NULL)
		strategy_try(st, st->cur_index);
}

/* Probe timer: while a backup serves, try the primary again. */
static void
strategy_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct strategy	*st = (struct strategy *)arg;

	(void)fd;
	(void)what;
	if (st->probe != NULL || st->cur_index == 0)
		return;
	st->probe = pool_connect(st, sl.conf, 0);
	if (st->probe == NULL)
		strategy_probe_failed(st, POOL_FAIL_CONNECT);
}

/* A probe of the primary failed: try again after a growing pause. */
static void
strategy_probe_failed(struct strategy *st, enum pool_fail why)
{
	if (st->probe_fails < 30)
		st->probe_fails++;
	log_debug("upstream %llu: primary probe failed: %s; next in %d s",
	    (unsigned long long)st->id, pool_fail_text(why),
	    strategy_pause(st->probe_fails));
	strategy_schedule(st->probe_ev, strategy_pause(st->probe_fails));
}

/*
 * A pool logged in and has its first job. The primary probe takes over
 * from a backup; the candidate becomes the serving pool.
 */
void
strategy_pool_ready(struct strategy *st, struct pool *p, struct job *j)
{
	struct pool	*old;

	if (p == st->probe) {
		old = st->cur;
		st->probe = NULL;
		st->cur = p;
		st->cur_index = 0;
		if (old != NULL) {
			pool_detach(old);
			pool_close(old, POOL_FAIL_NONE, "primary is back");
		}
		log_info("type=pool_switch upstream=%llu to=%s reason="
		    "\"primary is back\"", (unsigned long long)st->id,
		    pool_name(p));
	} else if (p != st->cur)
		return;
	evtimer_del(st->retry_ev);
	st->fails = st->rounds = st->probe_fails = 0;
	st->up = 1;
	st->down_logged = 0;
	st->session_gen++;
	log_info("type=pool_state upstream=%llu pool=%s state=up index=%d",
	    (unsigned long long)st->id, pool_name(p), pool_index(p));
	if (pool_index(p) != 0 && !evtimer_pending(st->probe_ev, NULL))
		strategy_schedule(st->probe_ev, sl.conf->retry_pause);
	st->ops->on_job(st->owner, j, 1);
}

/* A job notification from a pool. */
void
strategy_pool_job(struct strategy *st, struct pool *p, struct job *j)
{
	if (p == st->cur && st->up)
		st->ops->on_job(st->owner, j, 0);
}

/*
 * A pool connection failed (pool.cc has closed it and will free it). The
 * probe is retried later; the serving pool's loss is logged once.
 */
void
strategy_pool_failed(struct strategy *st, struct pool *p, enum pool_fail why,
    const char *detail)
{
	int	 was_up;

	if (p == st->probe) {
		st->probe = NULL;
		strategy_probe_failed(st, why);
		return;
	}
	if (p != st->cur)
		return;
	was_up = st->up;
	st->cur = NULL;
	st->up = 0;
	if (was_up)
		st->down_logged = 0;
	strategy_down(st, pool_name(p), why, detail);
	if (was_up)
		st->ops->on_down(st->owner);
	strategy_advance(st, why);
}

/* Once a second: the connections' timeouts and keepalives. */
void
strategy_tick(struct strategy *st, time_t now)
{
	if (st->cur != NULL)
		pool_tick(st->cur, now);
	if (st->probe != NULL)
		pool_tick(st->probe, now);
}
