/*
 * simple.cc: simple mode. Every miner gets its own upstream (a route with
 * its own failover strategy) and the blob goes through unmodified.
 *
 * With reuse-timeout > 0 a departed miner's upstream waits idle that many
 * seconds; the next miner to log in takes it over and is answered with the
 * upstream's current job at once (xmrig-proxy makes it wait for the pool's
 * next job, which can time the miner out). Its duplicate-nonce sets stay,
 * so the newcomer cannot resubmit the previous miner's shares.
 */
#include <stdlib.h>
#include <string.h>

#include "sluice.h"

struct simple_route {
	uint64_t	 id;
	struct strategy	*strategy;
	struct miner	*miner;		/* NULL while idle */
	struct jobs	 jobs;
	uint64_t	 njobs;
	time_t		 idle_since;
	int		 custom_login;	/* upstream_login gave user/pass */
	struct upstream_stats ustats;	/* stats.cc */
	TAILQ_ENTRY(simple_route) entry;
};
TAILQ_HEAD(routeq, simple_route);

static struct routeq	 simple_active = TAILQ_HEAD_INITIALIZER(simple_active);
static struct routeq	 simple_idle = TAILQ_HEAD_INITIALIZER(simple_idle);
static uint64_t		 route_next_id;

static void	 route_on_job(void *, struct job *, int);
static void	 route_on_down(void *);
static void	 route_free(struct simple_route *);

static const struct strategy_ops route_ops = {
	route_on_job,
	route_on_down
};

/* A job for this route's miner, if it has one. */
static void
route_on_job(void *arg, struct job *j, int new_session)
{
	struct simple_route	*r = (struct simple_route *)arg;

	jobs_set(&r->jobs, j, new_session);
	r->njobs++;
	if (r->miner != NULL)
		miner_send_job(r->miner, j);
}

/* The pool went away; submits get "Bad gateway" until it is back. */
static void
route_on_down(void *arg)
{
	(void)arg;
}

/* Disconnect and free a route (it has no miner). */
static void
route_free(struct simple_route *r)
{
	strategy_free(r->strategy);
	jobs_clear(&r->jobs);
	free(r);
}

/* Simple mode connects nothing until a miner arrives. */
void
simple_start(void)
{
}

/*
 * A miner logs in: take over an idle upstream when reuse is on (and the
 * policy did not ask for the miner's own pool login), else open one.
 */
int
simple_login(struct miner *m)
{
	struct simple_route	*r;
	char			*user = NULL, *pass = NULL;

	policy_upstream_login(sl.conf, m, &user, &pass);
	r = NULL;
	if (user == NULL) {
		TAILQ_FOREACH(r, &simple_idle, entry) {
			if (!r->custom_login && strategy_is_up(r->strategy))
				break;
		}
	}
	if (r != NULL) {
		TAILQ_REMOVE(&simple_idle, r, entry);
		log_debug("miner %llu: reusing upstream %llu",
		    (unsigned long long)m->id, (unsigned long long)r->id);
	} else {
		r = XCALLOC(struct simple_route, 1);
		r->id = route_next_id++;
		r->strategy = strategy_new(&route_ops, r);
		if (user != NULL) {
			r->custom_login = 1;
			r->strategy->user = user;
			r->strategy->pass = pass != NULL ? pass : xstrdup("x");
			user = pass = NULL;
		}
		strategy_start(r->strategy);
	}
	free(user);
	free(pass);
	TAILQ_INSERT_TAIL(&simple_active, r, entry);
	r->miner = m;
	m->route = r;
	m->slot = -1;
	if (r->jobs.job != NULL && strategy_is_up(r->strategy))
		miner_login_done(m, r->jobs.job);
	return 0;
}

/* Check and forward a share on the miner's own upstream. */
void
simple_submit(struct miner *m, struct share *s, const char *job_id,
    const char *algo)
{
	jobs_submit(&m->route->jobs, m->route->strategy, s, job_id, algo);
}

/* A miner leaves: its upstream goes idle (reuse) or is closed. */
void
simple_close(struct miner *m)
{
	struct simple_route	*r = m->route;

	if (r == NULL)
		return;
	m->route = NULL;
	r->miner = NULL;
	TAILQ_REMOVE(&simple_active, r, entry);
	if (sl.conf->reuse_timeout > 0 && !r->custom_login && !sl.stopping &&
	    strategy_is_up(r->strategy)) {
		r->idle_since = sl.now;
		TAILQ_INSERT_TAIL(&simple_idle, r, entry);
		return;
	}
	route_free(r);
}

/* Once a second: close upstreams idle longer than reuse-timeout. */
void
simple_tick(time_t now)
{
	struct simple_route	*r, *next;

	TAILQ_FOREACH(r, &simple_active, entry)
		strategy_tick(r->strategy, now);
	for (r = TAILQ_FIRST(&simple_idle); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (now - r->idle_since >= sl.conf->reuse_timeout ||
		    !strategy_is_up(r->strategy)) {
			TAILQ_REMOVE(&simple_idle, r, entry);
			log_debug("upstream %llu: idle past reuse-timeout",
			    (unsigned long long)r->id);
			route_free(r);
		} else
			strategy_tick(r->strategy, now);
	}
}

/* The pool list changed: every upstream starts over at the primary. */
void
simple_reload(void)
{
	struct simple_route	*r;

	TAILQ_FOREACH(r, &simple_active, entry)
		strategy_restart(r->strategy);
	while ((r = TAILQ_FIRST(&simple_idle)) != NULL) {
		TAILQ_REMOVE(&simple_idle, r, entry);
		route_free(r);
	}
}

/*
 * Shutdown, first step: disconnect every active upstream, answering the
 * submits still pending on it; the routes stay until their miners close.
 */
void
simple_disconnect(void)
{
	struct simple_route	*r;

	TAILQ_FOREACH(r, &simple_active, entry) {
		strategy_free(r->strategy);
		r->strategy = strategy_new(&route_ops, r);
	}
}

/* Shutdown, last step: free the idle upstreams (active ones went with
 * their miners). */
void
simple_stop(void)
{
	struct simple_route	*r;

	while ((r = TAILQ_FIRST(&simple_idle)) != NULL) {
		TAILQ_REMOVE(&simple_idle, r, entry);
		route_free(r);
	}
}

/* Upstream counts: active (up), sleep (idle, kept for reuse), error. */
void
simple_upstreams(uint64_t *active, uint64_t *sleep, uint64_t *error,
    uint64_t *total)
{
	struct simple_route	*r;

	TAILQ_FOREACH(r, &simple_active, entry) {
		(*total)++;
		if (strategy_is_up(r->strategy))
			(*active)++;
		else
			(*error)++;
	}
	TAILQ_FOREACH(r, &simple_idle, entry) {
		(*total)++;
		(*sleep)++;
	}
}

/* The per-upstream counters of a route. */
struct upstream_stats *
simple_ustats(struct simple_route *r)
{
	return &r->ustats;
}

/* Call fn for every route, active then idle. */
void
simple_foreach(void (*fn)(const struct upstream_view *, void *), void *arg)
{
	struct upstream_view	 v;
	struct simple_route	*r;
	struct routeq		*lists[2] = { &simple_active, &simple_idle };
	int			 i;

	for (i = 0; i < 2; i++) {
		TAILQ_FOREACH(r, lists[i], entry) {
			memset(&v, 0, sizeof v);
			v.id = r->id;
			v.strategy = r->strategy;
			v.ustats = &r->ustats;
			v.njobs = r->njobs;
			v.job = r->jobs.job;
			v.idle = r->miner == NULL;
			v.miners = r->miner != NULL;
			v.slots_free = v.slots_dead = -1;
			fn(&v, arg);
		}
	}
}
