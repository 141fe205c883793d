/*
 * nicehash.cc: the NiceHash splitter. Up to 256 miners share one upstream
 * (one pool connection through its failover strategy); each miner owns a
 * slot, one value of the nonce's top byte (storage.cc), so their nonce
 * ranges never overlap. A login takes the first upstream of its coin with
 * room and opens a new one when all are full; GC suspends empty upstreams
 * and deletes them after a while, as xmrig-proxy does. A coin switch
 * frees the miner's slot and takes one on an upstream of the new coin.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "miner.h"
#include "pool.h"
#include "upstream.h"

#define NICEHASH_GC_INTERVAL	60	/* seconds between GC rounds */
#define NICEHASH_DELETE_ROUNDS	2	/* GC rounds suspended before delete */

static time_t	 nicehash_last_gc;

static struct upstream *nicehash_new(int);
static struct upstream *nicehash_place(struct miner *, int);
static void	 nicehash_start(void);
static int	 nicehash_login(struct miner *, int);
static int	 nicehash_switch(struct miner *, int);
static void	 nicehash_close(struct miner *);
static void	 nicehash_fanout(struct upstream *, struct job *);
static void	 nicehash_tick(time_t);
static void	 nicehash_gc(void);
static void	 nicehash_reload(void);
static void	 nicehash_stop(void);

const struct splitter nicehash_splitter = {
	"nicehash",
	nicehash_start,
	nicehash_login,
	nicehash_switch,
	nicehash_close,
	nicehash_fanout,
	nicehash_tick,
	nicehash_reload,
	nicehash_stop
};

/* A new upstream of coin with its slot table, connecting at once. */
static struct upstream *
nicehash_new(int coin)
{
	struct upstream	*u;

	u = upstream_new(coin);
	u->slots = XCALLOC(struct nonce_storage, 1);
	storage_init(u->slots, (int)arc4random_uniform(SLUICE_SLOTS));
	log_debug("type=upstream_new upstream=%llu coin=%s",
	    (unsigned long long)u->id, u->coin);
	upstream_start(u);
	return u;
}

/* Connect the default coin's first upstream. */
static void
nicehash_start(void)
{
	nicehash_last_gc = sl.now;
	nicehash_new((int)sl.conf->default_coin);
}

/*
 * The first upstream of coin with room, a new one when all are full, or
 * NULL when max-upstreams says no.
 */
static struct upstream *
nicehash_place(struct miner *m, int coin)
{
	struct upstream	*u;
	char		*name;
	size_t		 n = 0;

	(void)m;
	/* Interned: a pointer compare per upstream, not a strcmp. */
	name = intern(sl.conf->coins[coin].name);
	for (u = upstream_first(); u != NULL; u = upstream_next(u)) {
		n++;
		if (u->coin == name && storage_has_room(u->slots))
			break;
	}
	intern_drop(name);
	if (u != NULL)
		return u;
	if (sl.conf->max_upstreams > 0 && n >= (size_t)sl.conf->max_upstreams)
		return NULL;
	return nicehash_new(coin);
}

/*
 * Give a miner a slot on the first upstream of its coin with room, adding
 * an upstream when all are full (unless max-upstreams says no). The login
 * is answered at once if the upstream has a job, else when its first job
 * arrives.
 */
static int
nicehash_login(struct miner *m, int coin)
{
	struct upstream	*u;
	struct job	*j;

	if ((u = nicehash_place(m, coin)) == NULL)
		return -1;
	m->slot = storage_add(u->slots, m);
	m->upstream = u;
	u->idle_rounds = 0;
	if (u->suspended) {
		u->suspended = 0;
		log_debug("type=upstream_resume upstream=%llu",
		    (unsigned long long)u->id);
		upstream_start(u);
	}
	if ((j = upstream_ready_job(u)) != NULL)
		miner_login_done(m, j);
	return 0;
}

/*
 * A coin switch: the miner's slot on its upstream dies (until that
 * upstream's next job, so a late share cannot collide with a newcomer),
 * and it takes a slot on an upstream of the new coin, whose job it gets
 * now if there is one, else with that upstream's first job.
 */
static int
nicehash_switch(struct miner *m, int coin)
{
	struct upstream	*u;
	struct job	*j;

	if ((u = nicehash_place(m, coin)) == NULL)
		return -1;
	storage_remove(m->upstream->slots, m->slot);
	m->slot = storage_add(u->slots, m);
	m->upstream = u;
	u->idle_rounds = 0;
	if (u->suspended) {
		u->suspended = 0;
		upstream_start(u);
	}
	if ((j = upstream_ready_job(u)) != NULL)
		miner_send_job(m, j);
	return 0;
}

/* A miner leaves: its slot dies until the next job. */
static void
nicehash_close(struct miner *m)
{
	storage_remove(m->upstream->slots, m->slot);
	m->upstream = NULL;
}

/*
 * A job on an upstream: dead slots become free, then every active slot
 * gets the job (the encoded head, patched per miner).
 */
static void
nicehash_fanout(struct upstream *u, struct job *j)
{
	struct nonce_storage	*s = u->slots;
	int			 i;

	storage_reset_dead(s);
	for (i = 0; i < SLUICE_SLOTS; i++) {
		if (s->state[i] == SLOT_ACTIVE)
			miner_send_job(s->miners[i], j);
	}
}

/* Once a second: every 60 s, a GC round. */
static void
nicehash_tick(time_t now)
{
	if (now - nicehash_last_gc >= NICEHASH_GC_INTERVAL) {
		nicehash_last_gc = now;
		nicehash_gc();
	}
}

/*
 * A GC round: an empty upstream other than the first is suspended
 * (disconnected); one suspended for two more rounds is deleted.
 */
static void
nicehash_gc(void)
{
	struct upstream	*u, *next;
	int		 suspended = 0, deleted = 0;

	for (u = upstream_first(); u != NULL; u = next) {
		next = upstream_next(u);
		if (u == upstream_first() || u->slots->nactive > 0 ||
		    u->slots->ndead > 0)
			continue;
		if (!u->suspended) {
			u->suspended = 1;
			u->idle_rounds = 0;
			log_debug("type=upstream_suspend upstream=%llu",
			    (unsigned long long)u->id);
			upstream_suspend(u);
			suspended++;
			continue;
		}
		if (++u->idle_rounds >= NICEHASH_DELETE_ROUNDS) {
			log_debug("type=upstream_delete upstream=%llu",
			    (unsigned long long)u->id);
			upstream_free(u);
			deleted++;
		}
	}
	/* One line a round at the default level, one per upstream at -v. */
	if (suspended > 0 || deleted > 0)
		log_info("type=upstreams_gc suspended=%d deleted=%d now=%zu",
		    suspended, deleted, upstream_count());
}

/* The pool list changed: every active upstream starts over at the primary. */
static void
nicehash_reload(void)
{
	struct upstream	*u;

	for (u = upstream_first(); u != NULL; u = upstream_next(u)) {
		if (!u->suspended)
			strategy_restart(u->strategy);
	}
}

/* Shutdown: nothing beside the upstreams, which splitter_stop() frees. */
static void
nicehash_stop(void)
{
}
