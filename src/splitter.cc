/*
 * splitter.cc: the mode's splitter, chosen once at start (mode is not
 * changed by a reload). NiceHash shares one pool connection among up to
 * 256 miners; simple mode gives each miner its own.
 */
#include <string.h>

#include "sluice.h"

static time_t	 splitter_last_gc;

#define SPLITTER_GC_INTERVAL	60

/* Connect the first upstream(s). */
void
splitter_start(void)
{
	splitter_last_gc = sl.now;
	if (sl.conf->mode == MODE_SIMPLE)
		simple_start();
	else
		nicehash_start();
}

/* Find an upstream for a logged-in miner; -1 when the proxy is full. */
int
splitter_login(struct miner *m)
{
	if (sl.conf->mode == MODE_SIMPLE)
		return simple_login(m);
	return nicehash_login(m);
}

/* Route a share that passed the protocol checks. */
void
splitter_submit(struct miner *m, struct share *s, const char *job_id,
    const char *algo)
{
	if (m->route != NULL)
		simple_submit(m, s, job_id, algo);
	else
		nicehash_submit(m, s, job_id, algo);
}

/* Release a closing miner's upstream slot. */
void
splitter_close(struct miner *m)
{
	if (m->route != NULL)
		simple_close(m);
	else
		nicehash_close(m);
}

/* Once a second: pool timeouts; every 60 s: garbage collection. */
void
splitter_tick(time_t now)
{
	struct mapper	*mp;

	if (sl.conf->mode == MODE_SIMPLE) {
		simple_tick(now);
		return;
	}
	TAILQ_FOREACH(mp, &nicehash_mappers, entry)
		strategy_tick(mp->strategy, now);
	if (now - splitter_last_gc >= SPLITTER_GC_INTERVAL) {
		splitter_last_gc = now;
		nicehash_gc();
	}
}

/* The pool list changed. */
void
splitter_reload(void)
{
	if (sl.conf->mode == MODE_SIMPLE)
		simple_reload();
	else
		nicehash_reload();
}

/* Shutdown, first step: drop every pool connection, answering pending
 * submits while their miners are still connected. */
void
splitter_disconnect(void)
{
	if (sl.conf->mode == MODE_SIMPLE)
		simple_disconnect();
	else
		nicehash_disconnect();
}

/* Shutdown, last step: free every upstream (the miners are closed). */
void
splitter_stop(void)
{
	if (sl.conf->mode == MODE_SIMPLE)
		simple_stop();
	else
		nicehash_stop();
}

/* Upstream counts for the API and the summary line. */
void
splitter_upstreams(uint64_t *active, uint64_t *sleep, uint64_t *error,
    uint64_t *total)
{
	struct mapper	*mp;

	*active = *sleep = *error = *total = 0;
	if (sl.conf->mode == MODE_SIMPLE) {
		simple_upstreams(active, sleep, error, total);
		return;
	}
	TAILQ_FOREACH(mp, &nicehash_mappers, entry) {
		(*total)++;
		if (mp->suspended)
			(*sleep)++;
		else if (strategy_is_up(mp->strategy))
			(*active)++;
		else
			(*error)++;
	}
}

/* Call fn for every upstream, as monitoring sees it. */
void
splitter_foreach(void (*fn)(const struct upstream_view *, void *), void *arg)
{
	struct upstream_view	 v;
	struct mapper		*mp;
	int			 active;

	if (sl.conf->mode == MODE_SIMPLE) {
		simple_foreach(fn, arg);
		return;
	}
	TAILQ_FOREACH(mp, &nicehash_mappers, entry) {
		memset(&v, 0, sizeof v);
		v.id = mp->id;
		v.strategy = mp->strategy;
		v.ustats = &mp->ustats;
		v.njobs = mp->njobs;
		v.job = mp->jobs.job;
		v.suspended = mp->suspended;
		storage_count(&mp->storage, &v.slots_free, &v.slots_dead,
		    &active);
		v.miners = active;
		fn(&v, arg);
	}
}

/* The per-upstream counters of a miner's upstream, or NULL. */
struct upstream_stats *
splitter_ustats(struct miner *m)
{
	if (m->mapper != NULL)
		return &m->mapper->ustats;
	if (m->route != NULL)
		return simple_ustats(m->route);
	return NULL;
}

/*
 * A job from an upstream. Within a pool session the current job becomes
 * the previous one (its shares are still accepted, counted as expired); a
 * new session (login, failover) starts afresh.
 */
void
jobs_set(struct jobs *js, struct job *j, int new_session)
{
	struct nonceset	 tmp;

	job_unref(js->prev);
	if (new_session) {
		js->prev = NULL;
		job_unref(js->job);
		nonceset_clear(&js->prev_seen);
	} else {
		js->prev = js->job;
		tmp = js->prev_seen;
		js->prev_seen = js->seen;
		js->seen = tmp;
	}
	nonceset_clear(&js->seen);
	js->job = job_ref(j);
}

/* Forget both jobs (upstream suspended or freed). */
void
jobs_clear(struct jobs *js)
{
	job_unref(js->job);
	job_unref(js->prev);
	js->job = js->prev = NULL;
	nonceset_free(&js->seen);
	nonceset_free(&js->prev_seen);
}

/*
 * The splitter's checks of a share, in order: the job (current, or the
 * previous of the same pool session = expired), duplicate nonce, algorithm,
 * an upstream to send it to, the pool's difficulty. Then it is forwarded.
 * Every path ends the share (share_finish) or hands it to the pool.
 */
void
jobs_submit(struct jobs *js, struct strategy *st, struct share *s,
    const char *job_id, const char *algo)
{
	struct job	*j;
	struct nonceset	*seen;
	struct pool	*p;

	if (js->job != NULL && strcmp(job_id, js->job->job_id) == 0) {
		j = js->job;
		seen = &js->seen;
	} else if (js->prev != NULL && strcmp(job_id, js->prev->job_id) == 0) {
		j = js->prev;
		seen = &js->prev_seen;
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
	if ((p = strategy_pool(st)) == NULL) {
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
