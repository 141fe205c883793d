/*
 * strategy.cc: failover over the ordered list of enabled pools, for one
 * owner (an upstream), with xmrig-proxy's semantics and what a farm needs
 * beyond them:
 *
 *  - the primary (pool 0) gets `retries` failed attempts, `retry-pause`
 *    seconds apart, before the next pool is tried; a backup that fails
 *    moves on at its first failure (after the last pool, back to the
 *    primary);
 *  - a session that ends within `pool-min-session` seconds of its login
 *    is a failure too, so a pool that logs in and then dies is as down as
 *    one that refuses connections; only a session that lasted resets the
 *    count;
 *  - while a backup serves, the primary is probed on a second connection
 *    and takes over as soon as it logs in (primary-first recovery);
 *  - after a round of the whole list fails, after each failed probe and
 *    after each short session of the primary (a flapping pool), the pause
 *    doubles from `retry-pause` up to `retry-pause-max`; a session that
 *    lasted resets it;
 *  - with `failover-standby`, one more connection (the standby, one per
 *    coin for all its upstreams) stays logged in to the pool after the
 *    one in service.
 *    When a serving pool fails, the first upstream to see it takes over
 *    the standby's connection and job at once, and every other upstream
 *    moves to that proven pool without its retries; the standby is
 *    replaced in the background.
 *
 * Each strategy fails over within its coin's pool list (config.h
 * coin_conf); the "proven" counts and the standby are per coin.
 *
 * The strategy owns the one log line per state change (type=pool_state
 * up or down, type=pool_switch, type=pool_standby); each attempt is logged
 * by pool.cc at debug level only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "job.h"
#include "pool.h"

#define STRATEGY_MAX_POOLS	64	/* pools tracked for "proven" */
#define STRATEGY_MAX_COINS	(2 * CONFIG_MAX_COINS)

/* What the strategies of one coin share: "proven" pools, the standby. */
struct strategy_coin {
	char		*name;		/* interned; NULL: a free entry */
	int		 up_on[STRATEGY_MAX_POOLS];	/* strategies up on
							   each pool */
	struct strategy	*standby;	/* pinned, one per coin */
	struct job	*standby_job;	/* the last job its pool sent */
};

struct strategy {
	uint64_t	 id;
	const struct strategy_ops *ops;
	void		*owner;
	struct pool	*cur;		/* serving, or being tried */
	int		 cur_index;
	int		 fails;		/* consecutive failures of cur_index */
	int		 rounds;	/* consecutive failed rounds of the list */
	int		 probe_fails;	/* failed probes, short primary sessions */
	int		 pinned;	/* the standby: stays on cur_index */
	struct strategy_coin *coin;	/* whose pool list it fails over */
	struct pool	*probe;		/* primary, retried while on a backup */
	struct event	*retry_ev;
	struct event	*probe_ev;
	uint64_t	 session_gen;	/* bumped on every successful login */
	int		 up;		/* serving pool logged in with a job */
	int		 lasted;	/* the session outlived pool-min-session */
	time_t		 login_at;	/* when the serving session logged in */
	int		 down_logged;
	char		*user;		/* override of the pool user, or NULL */
	char		*pass;
	uint64_t	 upstream_id;	/* its upstream's id; 0: a standby */
	TAILQ_ENTRY(strategy) entry;
};
TAILQ_HEAD(strategyq, strategy);

static struct strategyq	 strategies = TAILQ_HEAD_INITIALIZER(strategies);
static uint64_t		 strategy_next_id;
static struct strategy_coin strategy_coins[STRATEGY_MAX_COINS];

static void	 strategy_try(struct strategy *, int);
static void	 strategy_advance(struct strategy *, enum pool_fail, int);
static void	 strategy_down(struct strategy *, const char *, enum pool_fail,
		     const char *);
static void	 strategy_probe_failed(struct strategy *, enum pool_fail);
static int	 strategy_pause(int);
static void	 strategy_set_up(struct strategy *, int);
static int	 strategy_proven(const struct strategy *, int);
static int	 strategy_take_standby(struct strategy *);
static void	 strategy_session_up(struct strategy *, struct pool *,
		     struct job *);
static void	 strategy_retry_cb(evutil_socket_t, short, void *);
static void	 strategy_probe_cb(evutil_socket_t, short, void *);
static void	 strategy_schedule(struct event *, int);
static void	 strategy_detach(struct strategy *);
static void	 standby_on_job(void *, struct job *, int);
static int	 strategy_standby_adopt(struct strategy_coin *, struct pool *);
static void	 standby_on_down(void *);
static int	 standby_target(struct strategy_coin *);
static struct strategy_coin *strategy_coin_get(const char *);
static const struct pool_conf *strategy_pools(const struct strategy *,
		     int *);
static int	 strategy_standby_on(const struct strategy_coin *);
static void	 strategy_standby_drop(struct strategy_coin *);

static const struct strategy_ops standby_ops = {
	standby_on_job,
	standby_on_down
};

/*
 * The shared state of a coin, made on first use. An entry no strategy
 * uses any more is taken for a new name, so coins renamed by reloads do
 * not run out of entries.
 */
static struct strategy_coin *
strategy_coin_get(const char *name)
{
	struct strategy_coin	*c, *spare = NULL;
	struct strategy		*st;
	int			 i;

	for (i = 0; i < STRATEGY_MAX_COINS; i++) {
		c = &strategy_coins[i];
		if (c->name != NULL && strcmp(c->name, name) == 0)
			return c;
		if (c->name == NULL && spare == NULL)
			spare = c;
	}
	if (spare == NULL) {
		for (i = 0; i < STRATEGY_MAX_COINS && spare == NULL; i++) {
			spare = &strategy_coins[i];
			if (spare->standby != NULL)
				spare = NULL;
			TAILQ_FOREACH(st, &strategies, entry) {
				if (spare != NULL && st->coin == spare)
					spare = NULL;
			}
		}
		if (spare == NULL)
			fatalx("strategy: more than %d coins in use",
			    STRATEGY_MAX_COINS);
		intern_drop(spare->name);
	}
	memset(spare, 0, sizeof *spare);
	spare->name = intern(name);
	return spare;
}

/* The pool list a strategy fails over (its coin's, in the live config). */
static const struct pool_conf *
strategy_pools(const struct strategy *st, int *n)
{
	const struct coin_conf	*cc = config_coin(sl.conf, st->coin->name);

	*n = cc != NULL ? (int)cc->npools : 0;
	return cc != NULL ? cc->pools : NULL;
}

/* Is the standby wanted for this coin: on, and a second pool to be on? */
static int
strategy_standby_on(const struct strategy_coin *c)
{
	const struct coin_conf	*cc = config_coin(sl.conf, c->name);

	return cc != NULL && cc->npools >= 2 && sl.conf->failover_standby != 0;
}

/*
 * A strategy for an owner, failing over the pools of the coin named coin;
 * not connected until strategy_start().
 */
struct strategy *
strategy_new(const struct strategy_ops *ops, void *owner, const char *coin)
{
	struct strategy	*st;

	st = XCALLOC(struct strategy, 1);
	st->id = strategy_next_id++;
	st->ops = ops;
	st->owner = owner;
	st->coin = strategy_coin_get(coin);
	st->retry_ev = evtimer_new(sl.base, strategy_retry_cb, st);
	st->probe_ev = evtimer_new(sl.base, strategy_probe_cb, st);
	if (ops != &standby_ops)
		TAILQ_INSERT_TAIL(&strategies, st, entry);
	return st;
}

/* Count a strategy up or down on its pool (the "proven" pools). */
static void
strategy_set_up(struct strategy *st, int up)
{
	int	 i = st->cur_index;

	if (st->up == up)
		return;
	st->up = up;
	if (i >= 0 && i < STRATEGY_MAX_POOLS)
		st->coin->up_on[i] += up ? 1 : -1;
}

/* Is some connection of the coin logged in to its pool idx right now? */
static int
strategy_proven(const struct strategy *st, int idx)
{
	return idx >= 0 && idx < STRATEGY_MAX_POOLS &&
	    st->coin->up_on[idx] > 0;
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
	strategy_set_up(st, 0);
	if ((p = st->cur) != NULL) {
		st->cur = NULL;
		pool_detach(p);
		pool_close(p, POOL_FAIL_NONE, "stopped");
	}
}

/* Disconnect and free. */
void
strategy_free(struct strategy *st)
{
	strategy_detach(st);
	if (st->ops != &standby_ops)
		TAILQ_REMOVE(&strategies, st, entry);
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

/* The connection serving or being tried, logged in or not; or NULL. */
struct pool *
strategy_conn(struct strategy *st)
{
	return st->cur;
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

/* Name the upstream that owns the strategy (the capture's session). */
void
strategy_set_upstream(struct strategy *st, uint64_t id)
{
	st->upstream_id = id;
}

/* The id of the upstream that owns the strategy; 0: a standby. */
uint64_t
strategy_upstream(const struct strategy *st)
{
	return st->upstream_id;
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
	int			 i = st->cur_index, n;

	if (st->cur != NULL) {
		xstrlcpy(buf, pool_name(st->cur), len);
		return;
	}
	pc = strategy_pools(st, &n);
	if (i < 0 || i >= n) {
		buf[0] = '\0';
		return;
	}
	pc = &pc[i];
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
	const struct pool_conf	*pools;
	int			 n;

	if ((pools = strategy_pools(st, &n)) == NULL || n == 0)
		return;
	if (idx >= n)
		idx = 0;
	st->cur_index = idx;
	st->cur = pool_connect(st, sl.conf, &pools[idx], idx);
	if (st->cur == NULL) {
		strategy_down(st, pools[idx].url, POOL_FAIL_CONNECT,
		    "cannot start connecting");
		strategy_advance(st, POOL_FAIL_CONNECT, 0);
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
	log_info("type=%s upstream=%llu pool=%s state=down reason=%s "
	    "detail=\"%s\"", st->pinned ? "pool_standby" : "pool_state",
	    (unsigned long long)st->id, pool, pool_fail_text(why),
	    log_esc(detail != NULL ? detail : ""));
}

/*
 * The candidate failed: retry, or move to the next pool. A pinned
 * certificate mismatch or a refused login will not mend by retrying; nor
 * is it worth retrying the primary when the next pool is proven (some
 * connection, the standby's perhaps, is logged in to it right now) and
 * the standby is on: every upstream then moves at once, in parallel.
 */
static void
strategy_advance(struct strategy *st, enum pool_fail why, int short_session)
{
	const struct pool_conf	*pools;
	int			 idx = st->cur_index, npools;

	pools = strategy_pools(st, &npools);

	st->fails++;
	if (st->pinned) {
		/* The standby stays on its pool, backing off. */
		strategy_schedule(st->retry_ev, strategy_pause(st->fails - 1));
		return;
	}
	if (idx == 0 && st->fails < sl.conf->retries &&
	    why != POOL_FAIL_TLS && why != POOL_FAIL_LOGIN &&
	    !(strategy_standby_on(st->coin) && strategy_proven(st, 1))) {
		strategy_schedule(st->retry_ev, short_session ?
		    strategy_pause(st->probe_fails) : sl.conf->retry_pause);
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
	    (unsigned long long)st->id, pools[idx].url, pools[idx + 1].host,
	    pools[idx + 1].port);
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
	struct strategy		*st = (struct strategy *)arg;
	const struct pool_conf	*pools;
	int			 n;

	(void)fd;
	(void)what;
	if (st->probe != NULL || st->cur_index == 0 ||
	    (pools = strategy_pools(st, &n)) == NULL || n == 0)
		return;
	st->probe = pool_connect(st, sl.conf, &pools[0], 0);
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
 * from a backup, whose connection becomes the standby when the standby
 * is wanted there (its pending submits are still answered), else is
 * closed; the candidate becomes the serving pool.
 */
void
strategy_pool_ready(struct strategy *st, struct pool *p, struct job *j)
{
	struct pool	*old;

	if (p == st->probe) {
		old = st->cur;
		st->probe = NULL;
		strategy_set_up(st, 0);
		st->cur = p;
		st->cur_index = 0;
		if (old != NULL) {
			pool_detach(old);
			if (strategy_standby_adopt(st->coin, old) != 0)
				pool_close(old, POOL_FAIL_NONE,
				    "primary is back");
		}
		log_info("type=pool_switch upstream=%llu to=%s reason="
		    "\"primary is back\"", (unsigned long long)st->id,
		    pool_name(p));
	} else if (p != st->cur)
		return;
	strategy_session_up(st, p, j);
}

/*
 * A new pool session serves (a login, or the standby taken over): log
 * the one up line, start counting towards pool-min-session, probe the
 * primary while on a backup, and give the owner the session's job.
 */
static void
strategy_session_up(struct strategy *st, struct pool *p, struct job *j)
{
	int	 news;

	/*
	 * News is a pool coming up, or an upstream coming back: a new
	 * upstream joining a pool others are already up on is routine,
	 * and a farm's login storm would log it 80 times.
	 */
	news = st->session_gen > 0 || !strategy_proven(st, pool_index(p));
	evtimer_del(st->retry_ev);
	strategy_set_up(st, 1);
	st->down_logged = 0;
	st->lasted = 0;
	st->login_at = sl.now;
	st->session_gen++;
	(news ? log_info : log_debug)("type=%s upstream=%llu pool=%s "
	    "state=up index=%d", st->pinned ? "pool_standby" : "pool_state",
	    (unsigned long long)st->id, pool_name(p), pool_index(p));
	if (!st->pinned && pool_index(p) != 0 &&
	    !evtimer_pending(st->probe_ev, NULL))
		strategy_schedule(st->probe_ev,
		    strategy_pause(st->probe_fails));
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
 * probe is retried later; the serving pool's loss is logged once. A
 * session shorter than pool-min-session counts as a failure of the pool
 * (and a short session of the primary backs its probe off: a flapping
 * primary is not taken back at once, again and again). Then the standby
 * takes over if it can, else the strategy moves on.
 */
void
strategy_pool_failed(struct strategy *st, struct pool *p, enum pool_fail why,
    const char *detail)
{
	int	 was_up, short_session = 0;

	if (p == st->probe) {
		st->probe = NULL;
		strategy_probe_failed(st, why);
		return;
	}
	if (p != st->cur)
		return;
	was_up = st->up;
	st->cur = NULL;
	strategy_set_up(st, 0);
	if (was_up) {
		st->down_logged = 0;
		short_session = !st->lasted;
		if (short_session && st->cur_index == 0 && st->probe_fails < 30)
			st->probe_fails++;
	}
	strategy_down(st, pool_name(p), why, detail);
	if (was_up)
		st->ops->on_down(st->owner);
	if (!st->pinned && strategy_take_standby(st) == 0)
		return;
	strategy_advance(st, why, short_session);
}

/*
 * Take over the coin's standby connection: the owner's miners get its
 * job now, with no gap and no reconnect. 0 on success.
 */
static int
strategy_take_standby(struct strategy *st)
{
	struct strategy_coin	*c = st->coin;
	struct strategy		*sb = c->standby;
	struct pool		*p;
	struct job		*j;

	if (sb == NULL || !sb->up || c->standby_job == NULL ||
	    sb->cur == NULL || st->user != NULL ||
	    sb->cur_index == st->cur_index)
		return -1;
	p = sb->cur;
	j = c->standby_job;
	c->standby_job = NULL;
	strategy_set_up(sb, 0);
	sb->cur = NULL;
	pool_detach(p);
	pool_attach(p, st);
	st->cur = p;
	st->cur_index = pool_index(p);
	st->fails = 0;
	log_info("type=pool_switch upstream=%llu to=%s reason=standby",
	    (unsigned long long)st->id, pool_name(p));
	/* The session counts towards pool-min-session from now. */
	strategy_session_up(st, p, j);
	job_unref(j);
	/* A new standby, in the background, on the next tick. */
	strategy_free(sb);
	c->standby = NULL;
	return 0;
}

/*
 * A connection of coin c let go by an upstream (the primary is back)
 * becomes the coin's standby if it is on the pool the standby should be
 * on. 0 if taken.
 */
int
strategy_standby_adopt(struct strategy_coin *c, struct pool *p)
{
	struct strategy	*sb;

	if (!strategy_standby_on(c) || sl.stopping ||
	    pool_index(p) != standby_target(c) || !pool_is_ready(p))
		return -1;
	/* One standby is enough: a second would close the first's pool. */
	if (c->standby != NULL && c->standby->up)
		return -1;
	strategy_standby_drop(c);
	sb = c->standby = strategy_new(&standby_ops, c, c->name);
	sb->pinned = 1;
	sb->cur = p;
	sb->cur_index = pool_index(p);
	pool_attach(p, sb);
	strategy_set_up(sb, 1);
	sb->login_at = sl.now;
	if ((c->standby_job = pool_job(p)) != NULL)
		job_ref(c->standby_job);
	log_info("type=pool_standby upstream=%llu coin=%s pool=%s state=up "
	    "index=%d reason=\"kept from a backup\"",
	    (unsigned long long)sb->id, c->name, pool_name(p), sb->cur_index);
	return 0;
}

/* The standby's pool sent a job: keep the latest for a takeover. */
static void
standby_on_job(void *owner, struct job *j, int new_session)
{
	struct strategy_coin	*c = (struct strategy_coin *)owner;

	(void)new_session;
	job_unref(c->standby_job);
	c->standby_job = job_ref(j);
}

/* The standby's pool went away: nothing to take over until it is back. */
static void
standby_on_down(void *owner)
{
	struct strategy_coin	*c = (struct strategy_coin *)owner;

	job_unref(c->standby_job);
	c->standby_job = NULL;
}

/*
 * Where the coin's standby should be: the pool after the best one an
 * upstream of the coin is on (up, or trying); -1 when there is no such
 * pool, no upstream on the coin, or the standby is off.
 */
static int
standby_target(struct strategy_coin *c)
{
	struct strategy	*st;
	int		 best = -1, n;

	if (!strategy_standby_on(c) || sl.stopping)
		return -1;
	TAILQ_FOREACH(st, &strategies, entry) {
		if (st->coin != c || st->user != NULL)
			continue;
		if (best < 0 || st->cur_index < best)
			best = st->cur_index;
	}
	if (best < 0)
		return -1;
	/* strategy_standby_on() found the coin in the config. */
	n = (int)config_coin(sl.conf, c->name)->npools;
	return best + 1 < n ? best + 1 : -1;
}

/* Drop a coin's standby and its job. */
static void
strategy_standby_drop(struct strategy_coin *c)
{
	if (c->standby != NULL)
		strategy_free(c->standby);
	c->standby = NULL;
	job_unref(c->standby_job);
	c->standby_job = NULL;
}

/*
 * Once a second, for every coin in use: keep one standby on the right
 * pool (make it, move it, or drop it), and tick its connection.
 */
void
strategy_standby_tick(time_t now)
{
	struct strategy_coin	*c;
	int			 i, target;

	for (i = 0; i < STRATEGY_MAX_COINS; i++) {
		c = &strategy_coins[i];
		if (c->name == NULL)
			continue;
		target = standby_target(c);
		if (c->standby != NULL && c->standby->cur_index != target) {
			log_info("type=pool_standby upstream=%llu coin=%s "
			    "state=stopped reason=\"%s\"",
			    (unsigned long long)c->standby->id, c->name,
			    target < 0 ? "not needed" : "moving");
			strategy_standby_drop(c);
		}
		if (c->standby == NULL && target >= 0) {
			c->standby = strategy_new(&standby_ops, c, c->name);
			c->standby->pinned = 1;
			strategy_try(c->standby, target);
		}
		if (c->standby != NULL)
			strategy_tick(c->standby, now);
	}
}

/* Shutdown or reload: drop the standbys (the next tick makes new ones). */
void
strategy_standby_stop(void)
{
	int	 i;

	for (i = 0; i < STRATEGY_MAX_COINS; i++)
		strategy_standby_drop(&strategy_coins[i]);
}

/*
 * Once a second: the connections' timeouts and keepalives, and whether
 * the serving session has lasted long enough to count as healthy.
 */
void
strategy_tick(struct strategy *st, time_t now)
{
	if (st->up && !st->lasted &&
	    now - st->login_at >= sl.conf->pool_min_session) {
		st->lasted = 1;
		st->fails = st->rounds = 0;
		if (st->cur_index == 0)
			st->probe_fails = 0;
	}
	if (st->cur != NULL)
		pool_tick(st->cur, now);
	if (st->probe != NULL)
		pool_tick(st->probe, now);
}
