/*
 * simple.cc: the simple splitter. Every miner gets its own upstream and
 * the blob goes through unmodified.
 *
 * With reuse-timeout > 0 a departed miner's upstream waits idle that many
 * seconds; the next miner to log in takes it over and is answered with the
 * upstream's current job at once (xmrig-proxy makes it wait for the pool's
 * next job, which can time the miner out). Its duplicate-nonce sets stay,
 * so the newcomer cannot resubmit the previous miner's shares.
 *
 * A coin switch gives the miner a new upstream logged in to the new
 * coin's pool; the old one retires: it stays switch.grace seconds for the
 * miner's late shares, then closes once its pool has answered them.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "miner.h"
#include "policy.h"
#include "pool.h"
#include "upstream.h"

static struct upstreamq	 simple_idle = TAILQ_HEAD_INITIALIZER(simple_idle);
/* Switched away from, kept for late shares (retire_at); idle_entry. */
static struct upstreamq	 simple_retired =
    TAILQ_HEAD_INITIALIZER(simple_retired);

static void	 simple_start(void);
static int	 simple_login(struct miner *, int);
static int	 simple_switch(struct miner *, int);
static void	 simple_close(struct miner *);
static void	 simple_fanout(struct upstream *, struct job *);
static void	 simple_tick(time_t);
static void	 simple_reload(void);
static void	 simple_stop(void);
static void	 simple_unidle(struct upstream *);

const struct splitter simple_splitter = {
	"simple",
	simple_start,
	simple_login,
	simple_switch,
	simple_close,
	simple_fanout,
	simple_tick,
	simple_reload,
	simple_stop
};

/* Simple mode connects nothing until a miner arrives. */
static void
simple_start(void)
{
}

/* Take an upstream off the reuse list. */
static void
simple_unidle(struct upstream *u)
{
	TAILQ_REMOVE(&simple_idle, u, idle_entry);
	u->idle_since = 0;
}

/*
 * A miner logs in: take over an idle upstream when reuse is on (and the
 * policy did not ask for the miner's own pool login), else open one.
 */
static int
simple_login(struct miner *m, int coin)
{
	struct upstream	*u = NULL;
	struct job	*j;
	char		*user = NULL, *pass = NULL;
	const char	*name = sl.conf->coins[coin].name;

	policy_upstream_login(sl.conf, &m->peer, &user, &pass);
	if (user == NULL) {
		TAILQ_FOREACH(u, &simple_idle, idle_entry) {
			if (upstream_is_up(u) && strcmp(u->coin, name) == 0)
				break;
		}
	}
	if (u != NULL) {
		simple_unidle(u);
		log_debug("miner %llu: reusing upstream %llu",
		    (unsigned long long)m->peer.id, (unsigned long long)u->id);
	} else {
		u = upstream_new(coin);
		if (user != NULL) {
			u->custom_login = 1;
			strategy_set_login(u->strategy, user,
			    pass != NULL ? pass : xstrdup("x"));
			user = pass = NULL;
		}
		upstream_start(u);
	}
	free(user);
	free(pass);
	u->miner = m;
	m->upstream = u;
	m->slot = -1;
	if ((j = upstream_ready_job(u)) != NULL)
		miner_login_done(m, j);
	return 0;
}

/*
 * A coin switch: a new upstream of the new coin for the miner (the
 * policy's pool login carries over), the old one retires for
 * switch.grace seconds. The miner gets the new job when its pool sends
 * one, a login round trip later.
 */
static int
simple_switch(struct miner *m, int coin)
{
	struct upstream	*old = m->upstream, *u;
	const char	*user, *pass;

	u = upstream_new(coin);
	strategy_login(old->strategy, &user, &pass);
	if (old->custom_login && user != NULL) {
		u->custom_login = 1;
		strategy_set_login(u->strategy, xstrdup(user),
		    xstrdup(pass != NULL ? pass : "x"));
	}
	upstream_start(u);
	old->miner = NULL;
	old->retire_at = sl.now + sl.conf->sw.grace;
	TAILQ_INSERT_TAIL(&simple_retired, old, idle_entry);
	u->miner = m;
	m->upstream = u;
	return 0;
}

/* A miner leaves: its upstream goes idle (reuse) or is closed. */
static void
simple_close(struct miner *m)
{
	struct upstream	*u = m->upstream;

	m->upstream = NULL;
	u->miner = NULL;
	if (sl.conf->reuse_timeout > 0 && !u->custom_login && !sl.stopping &&
	    upstream_is_up(u)) {
		u->idle_since = sl.now;
		TAILQ_INSERT_TAIL(&simple_idle, u, idle_entry);
		return;
	}
	upstream_free(u);
}

/* A job for the upstream's miner, if it has one. */
static void
simple_fanout(struct upstream *u, struct job *j)
{
	if (u->miner != NULL)
		miner_send_job(u->miner, j);
}

/*
 * Once a second: close upstreams idle past reuse-timeout, or down, and
 * retired ones past switch.grace whose pool has answered every share
 * (or a response timeout later, when pool.cc has answered them for it).
 */
static void
simple_tick(time_t now)
{
	struct upstream	*u, *next;

	for (u = TAILQ_FIRST(&simple_retired); u != NULL; u = next) {
		next = TAILQ_NEXT(u, idle_entry);
		if (now < u->retire_at || (upstream_pending(u) > 0 &&
		    now < u->retire_at + sl.conf->pool_response_timeout))
			continue;
		TAILQ_REMOVE(&simple_retired, u, idle_entry);
		log_debug("upstream %llu: retired after a coin switch",
		    (unsigned long long)u->id);
		upstream_free(u);
	}

	for (u = TAILQ_FIRST(&simple_idle); u != NULL; u = next) {
		next = TAILQ_NEXT(u, idle_entry);
		if (now - u->idle_since >= sl.conf->reuse_timeout ||
		    !upstream_is_up(u)) {
			simple_unidle(u);
			log_debug("upstream %llu: idle past reuse-timeout",
			    (unsigned long long)u->id);
			upstream_free(u);
		}
	}
}

/* The pool list changed: idle upstreams go, the others start over. */
static void
simple_reload(void)
{
	struct upstream	*u;

	simple_stop();
	for (u = upstream_first(); u != NULL; u = upstream_next(u))
		strategy_restart(u->strategy);
}

/* Shutdown: free the idle upstreams (the others went with their miners). */
static void
simple_stop(void)
{
	struct upstream	*u;

	while ((u = TAILQ_FIRST(&simple_idle)) != NULL) {
		simple_unidle(u);
		upstream_free(u);
	}
	while ((u = TAILQ_FIRST(&simple_retired)) != NULL) {
		TAILQ_REMOVE(&simple_retired, u, idle_entry);
		upstream_free(u);
	}
}
