/*
 * splitter.cc: the mode's splitter, chosen once at start (the mode is not
 * changed by a reload), and the calls the rest of the proxy makes. What
 * differs between the modes is in the splitter's table (nicehash.cc,
 * simple.cc); what both do to every upstream is here.
 */
#include <string.h>

#include "coins.h"
#include "config.h"
#include "events.h"
#include "miner.h"
#include "pool.h"
#include "share.h"
#include "stratum.h"
#include "upstream.h"

static const struct splitter	*splitter;

/* Pick the mode's splitter and connect what it connects at start. */
void
splitter_start(void)
{
	splitter = sl.conf->mode == MODE_SIMPLE ? &simple_splitter :
	    &nicehash_splitter;
	splitter->start();
	/* The standby logs in from the start, not a tick later. */
	strategy_standby_tick(sl.now);
}

/*
 * Find an upstream for a logged-in miner, of its user's coin (coins.h);
 * -1 when the proxy is full.
 */
int
splitter_login(struct miner *m)
{
	return splitter->login(m, coins_login_coin(m));
}

/*
 * Route a share that passed the protocol checks to its upstream. After a
 * coin switch, a late share for a job of the old coin goes to the old
 * upstream while it is there, and is answered as expired once it is not.
 */
void
splitter_submit(struct miner *m, struct share *s, const char *job_id,
    const char *algo)
{
	struct upstream	*old, *u = m->upstream;
	int		 slot = m->slot;

	if (m->prev_upstream != 0) {
		if (!upstream_has_job(u, job_id)) {
			old = upstream_by_id(m->prev_upstream);
			if (old == NULL) {
				share_finish(s, SHARE_INVALID, "Job expired");
				return;
			}
			if (upstream_has_job(old, job_id)) {
				u = old;
				slot = m->prev_slot;
			}
		}
		/* miner.cc let either slot through; the job decides which. */
		if (slot >= 0 && stratum_nonce_byte3(s->nonce) != slot) {
			share_finish(s, SHARE_INVALID, "Invalid nonce; is "
			    "miner not compatible with NiceHash?");
			miner_finish(m, CLOSE_BAD_NONCE, NULL);
			return;
		}
	}
	upstream_submit(u, s, job_id, algo);
}

/*
 * Move a connected miner to an upstream of another coin (coins.cc): it
 * gets that coin's job at once when there is one, with no reconnect. The
 * old upstream stays reachable for the miner's late shares. 0 if moved.
 */
int
splitter_switch(struct miner *m, int coin)
{
	uint64_t	 from = m->upstream->id;
	const char	*was = m->upstream->coin;
	int		 slot = m->slot;

	if (splitter->sw(m, coin) != 0) {
		log_warnx("type=switch_failed id=%llu user=%s coin=%s "
		    "reason=\"no upstream has room (max-upstreams)\"",
		    (unsigned long long)m->peer.id, log_word(m->peer.user),
		    sl.conf->coins[coin].name);
		return -1;
	}
	m->prev_upstream = from;
	m->prev_slot = slot;
	events_switch(m, was);
	return 0;
}

/* Release a closing miner's place on its upstream. */
void
splitter_close(struct miner *m)
{
	if (m->upstream != NULL)
		splitter->close(m);
}

/* A job on an upstream: its miners get it (upstream.cc calls this). */
void
splitter_fanout(struct upstream *u, struct job *j)
{
	splitter->fanout(u, j);
}

/* Once a second: pool timeouts and keepalives, then the mode's GC. */
void
splitter_tick(time_t now)
{
	struct upstream	*u;

	for (u = upstream_first(); u != NULL; u = upstream_next(u))
		strategy_tick(u->strategy, now);
	strategy_standby_tick(now);
	splitter->tick(now);
}

/* The pool list changed. */
void
splitter_reload(void)
{
	strategy_standby_stop();
	splitter->reload();
}

/*
 * Shutdown, first step: drop every pool connection, answering pending
 * submits while their miners are still connected. The upstreams stay
 * until their miners have closed.
 */
void
splitter_disconnect(void)
{
	struct upstream	*u;

	strategy_standby_stop();
	for (u = upstream_first(); u != NULL; u = upstream_next(u))
		upstream_disconnect(u);
}

/* Shutdown, last step: free every upstream (the miners are closed). */
void
splitter_stop(void)
{
	struct upstream	*u;

	splitter->stop();
	while ((u = upstream_first()) != NULL)
		upstream_free(u);
}

/*
 * Upstream counts for the API and the summary line: active (up), sleep
 * (suspended by GC, or idle for reuse), error (down or connecting).
 */
void
splitter_upstreams(uint64_t *active, uint64_t *sleep, uint64_t *error,
    uint64_t *total)
{
	struct upstream	*u;
	const char	*st;

	*active = *sleep = *error = *total = 0;
	for (u = upstream_first(); u != NULL; u = upstream_next(u)) {
		(*total)++;
		st = upstream_state_text(u);
		if (strcmp(st, "active") == 0)
			(*active)++;
		else if (strcmp(st, "suspended") == 0 ||
		    strcmp(st, "idle") == 0)
			(*sleep)++;
		else
			(*error)++;
	}
}

/* Call fn for every upstream, as monitoring sees it. */
void
splitter_foreach(void (*fn)(const struct upstream_view *, void *), void *arg)
{
	struct upstream_view	 v;
	struct upstream		*u;
	int			 active;

	for (u = upstream_first(); u != NULL; u = upstream_next(u)) {
		memset(&v, 0, sizeof v);
		v.id = u->id;
		v.coin = u->coin;
		v.state = upstream_state_text(u);
		strategy_pool_name(u->strategy, v.pool, sizeof v.pool);
		v.ustats = &u->ustats;
		v.njobs = u->njobs;
		v.job = u->job;
		if (u->slots != NULL) {
			storage_count(u->slots, &v.slots_free, &v.slots_dead,
			    &active);
			v.miners = active;
		} else {
			v.slots_free = v.slots_dead = -1;
			v.miners = u->miner != NULL;
		}
		fn(&v, arg);
	}
}
