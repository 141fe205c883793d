/*
 * upstream.cc: one pool session shared by the miners a splitter gives it,
 * the same type in both modes. It owns a failover strategy, keeps the
 * current job and the previous one of the same pool session with their
 * duplicate-nonce sets, and makes the share checks before a share goes
 * to the pool. What differs per mode (who gets a job, who may attach) is
 * the splitter's (upstream.h).
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "miner.h"
#include "pool.h"
#include "share.h"
#include "upstream.h"

static struct upstreamq	 upstreams = TAILQ_HEAD_INITIALIZER(upstreams);
static size_t		 upstream_n;
static uint64_t		 upstream_next_id = 1;	/* 0: none (miner.prev_upstream) */

static void	 upstream_on_job(void *, struct job *, int);
static void	 upstream_on_down(void *);
static void	 upstream_clear_jobs(struct upstream *);

static const struct strategy_ops upstream_ops = {
	upstream_on_job,
	upstream_on_down
};

/*
 * A new upstream of coin (an index into sl.conf->coins) with a strategy,
 * not connected yet (upstream_start).
 */
struct upstream *
upstream_new(int coin)
{
	struct upstream	*u;

	u = XCALLOC(struct upstream, 1);
	u->id = upstream_next_id++;
	u->coin = intern(sl.conf->coins[coin].name);
	u->strategy = strategy_new(&upstream_ops, u, u->coin);
	strategy_set_upstream(u->strategy, u->id);
	TAILQ_INSERT_TAIL(&upstreams, u, entry);
	upstream_n++;
	return u;
}

/* Disconnect and free an upstream no miner uses any more. */
void
upstream_free(struct upstream *u)
{
	TAILQ_REMOVE(&upstreams, u, entry);
	upstream_n--;
	strategy_free(u->strategy);
	upstream_clear_jobs(u);
	intern_drop(u->coin);
	free(u->slots);
	stats_hist_free(&u->ustats.hist);
	free(u);
}

/* Connect to the primary. */
void
upstream_start(struct upstream *u)
{
	strategy_start(u->strategy);
}

/*
 * Drop the pool connection (answering its pending submits) and the jobs,
 * keeping the upstream: GC of an empty upstream, or shutdown's first step.
 */
void
upstream_disconnect(struct upstream *u)
{
	strategy_free(u->strategy);
	u->strategy = strategy_new(&upstream_ops, u, u->coin);
	strategy_set_upstream(u->strategy, u->id);
}

/* GC: disconnect an empty upstream and forget its jobs. */
void
upstream_suspend(struct upstream *u)
{
	upstream_disconnect(u);
	upstream_clear_jobs(u);
}

/* Forget both jobs and their nonce sets. */
static void
upstream_clear_jobs(struct upstream *u)
{
	job_unref(u->job);
	job_unref(u->prev);
	u->job = u->prev = NULL;
	nonceset_free(&u->seen);
	nonceset_free(&u->prev_seen);
}

/* The index of the upstream's coin in the live config, or -1 if gone. */
int
upstream_coin_index(const struct upstream *u)
{
	return config_coin_index(sl.conf, u->coin);
}

/*
 * The upstream with this id, or NULL: a switched miner's late share finds
 * its old upstream this way (an id cannot dangle).
 */
struct upstream *
upstream_by_id(uint64_t id)
{
	struct upstream	*u;

	TAILQ_FOREACH(u, &upstreams, entry) {
		if (u->id == id)
			return u;
	}
	return NULL;
}

/* Shares its pool has not answered yet. */
size_t
upstream_pending(struct upstream *u)
{
	struct pool	*p = strategy_pool(u->strategy);

	return p != NULL ? pool_pending(p) : 0;
}

/* Is job_id the upstream's current or previous job? */
int
upstream_has_job(const struct upstream *u, const char *job_id)
{
	return (u->job != NULL && strcmp(job_id, u->job->job_id) == 0) ||
	    (u->prev != NULL && strcmp(job_id, u->prev->job_id) == 0);
}

/* The job a logging-in miner can start on now, or NULL. */
struct job *
upstream_ready_job(struct upstream *u)
{
	return u->job != NULL && strategy_is_up(u->strategy) ? u->job : NULL;
}

/* Is a pool logged in and serving this upstream? */
int
upstream_is_up(const struct upstream *u)
{
	return strategy_is_up(u->strategy);
}

/*
 * A job from the serving pool. Within a pool session the current job
 * becomes the previous one (its shares are still accepted, counted as
 * expired); a new session (login, failover) starts afresh. Then the
 * splitter sends it to this upstream's miners.
 */
static void
upstream_on_job(void *arg, struct job *j, int new_session)
{
	struct upstream	*u = (struct upstream *)arg;
	struct nonceset	 tmp;

	job_unref(u->prev);
	if (new_session) {
		u->prev = NULL;
		job_unref(u->job);
		nonceset_clear(&u->prev_seen);
	} else {
		u->prev = u->job;
		tmp = u->prev_seen;
		u->prev_seen = u->seen;
		u->seen = tmp;
	}
	nonceset_clear(&u->seen);
	u->job = job_ref(j);
	u->njobs++;
	splitter_fanout(u, j);
}

/* The serving pool went away; jobs stay so submits get "Bad gateway". */
static void
upstream_on_down(void *arg)
{
	(void)arg;
}

/*
 * The checks of a share, in order: the job (current, or the previous of
 * the same pool session = expired), duplicate nonce, algorithm, a pool to
 * send it to, the pool's difficulty. Then it is forwarded. Every path
 * ends the share (share_finish) or hands it to the pool.
 */
void
upstream_submit(struct upstream *u, struct share *s, const char *job_id,
    const char *algo)
{
	struct job	*j;
	struct nonceset	*seen;
	struct pool	*p;

	if (u->job != NULL && strcmp(job_id, u->job->job_id) == 0) {
		j = u->job;
		seen = &u->seen;
	} else if (u->prev != NULL && strcmp(job_id, u->prev->job_id) == 0) {
		j = u->prev;
		seen = &u->prev_seen;
		s->expired = 1;
	} else {
		share_finish(s, SHARE_INVALID, "Invalid job id");
		return;
	}
	s->pool_diff = j->diff;
	if (!nonceset_add(seen, s->nonce_le)) {
		share_finish(s, SHARE_DUPLICATE, "Duplicate share");
		return;
	}
	if (algo != NULL && j->algo != NULL && strcmp(algo, j->algo) != 0) {
		share_finish(s, SHARE_INVALID, "Incorrect algorithm");
		return;
	}
	if ((p = strategy_pool(u->strategy)) == NULL) {
		share_finish(s, SHARE_BAD_GATEWAY, "Bad gateway");
		return;
	}
	if (s->diff < j->diff) {
		share_finish(s, SHARE_LOCAL, NULL);
		return;
	}
	if (pool_submit(p, s, j) != 0)
		share_finish(s, SHARE_BAD_GATEWAY, "Bad gateway");
}

/*
 * An upstream's state for monitoring: suspended (nicehash GC), idle
 * (simple, kept for reuse), active, connecting or error.
 */
const char *
upstream_state_text(const struct upstream *u)
{
	if (u->suspended)
		return "suspended";
	if (strategy_is_up(u->strategy))
		return u->slots == NULL && u->miner == NULL ? "idle" : "active";
	if (strategy_is_connecting(u->strategy))
		return "connecting";
	return "error";
}

/* Every upstream, oldest first. */
struct upstream *
upstream_first(void)
{
	return TAILQ_FIRST(&upstreams);
}

/* The next upstream, or NULL. */
struct upstream *
upstream_next(struct upstream *u)
{
	return TAILQ_NEXT(u, entry);
}

/* How many upstreams exist, in any state. */
size_t
upstream_count(void)
{
	return upstream_n;
}
