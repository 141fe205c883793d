/*
 * nicehash.cc: NiceHash mode. Each mapper is one upstream pool connection
 * (through its failover strategy) shared by up to 256 miners; each miner
 * owns one value of the nonce's top byte (blob byte 42), so their nonce
 * ranges never overlap.
 *
 *	NonceStorage	the 256-slot table (pure, unit-tested)
 *	mapper		one upstream: storage, current and previous job,
 *			duplicate-nonce sets
 *	nicehash_*	the splitter: picks a mapper, adds one when all are
 *			full, suspends and deletes idle ones
 *
 * A freed slot stays dead until the next job, so a new miner never repeats
 * a departed miner's range within one job.
 */
#include <stdlib.h>
#include <string.h>

#include "sluice.h"

#define MAPPER_DELETE_ROUNDS	2	/* GC rounds suspended before delete */

struct mapperq	 nicehash_mappers = TAILQ_HEAD_INITIALIZER(nicehash_mappers);
static uint64_t	 mapper_next_id;

static struct mapper *mapper_new(void);
static void	 mapper_free(struct mapper *);
static void	 mapper_on_job(void *, struct job *, int);
static void	 mapper_on_down(void *);
static int	 mapper_has_room(const struct mapper *);

static const struct strategy_ops mapper_ops = {
	mapper_on_job,
	mapper_on_down
};

/* Empty table; allocation starts at slot start. */
void
storage_init(struct nonce_storage *s, int start)
{
	memset(s, 0, sizeof *s);
	s->cursor = start & (SLUICE_SLOTS - 1);
}

/* Take the next free slot from the cursor on; -1 when none is free. */
int
storage_add(struct nonce_storage *s, struct miner *m)
{
	int	 i, slot;

	for (i = 0; i < SLUICE_SLOTS; i++) {
		slot = (s->cursor + i) & (SLUICE_SLOTS - 1);
		if (s->state[slot] != SLOT_FREE)
			continue;
		s->state[slot] = SLOT_ACTIVE;
		s->miners[slot] = m;
		s->nactive++;
		s->cursor = (slot + 1) & (SLUICE_SLOTS - 1);
		return slot;
	}
	return -1;
}

/* Free a slot: dead (unusable) until the next job. */
void
storage_remove(struct nonce_storage *s, int slot)
{
	if (slot < 0 || slot >= SLUICE_SLOTS || s->state[slot] != SLOT_ACTIVE)
		return;
	s->state[slot] = SLOT_DEAD;
	s->miners[slot] = NULL;
	s->nactive--;
	s->ndead++;
}

/* A new job: dead slots become free. */
void
storage_reset_dead(struct nonce_storage *s)
{
	int	 i;

	if (s->ndead == 0)
		return;
	for (i = 0; i < SLUICE_SLOTS; i++) {
		if (s->state[i] == SLOT_DEAD)
			s->state[i] = SLOT_FREE;
	}
	s->ndead = 0;
}

/* Slot counts, for monitoring. */
void
storage_count(const struct nonce_storage *s, int *free_, int *dead,
    int *active)
{
	*active = s->nactive;
	*dead = s->ndead;
	*free_ = SLUICE_SLOTS - s->nactive - s->ndead;
}

/* Can this mapper take another miner now? */
static int
mapper_has_room(const struct mapper *mp)
{
	return mp->storage.nactive + mp->storage.ndead < SLUICE_SLOTS;
}

/* A new upstream, connecting at once. */
static struct mapper *
mapper_new(void)
{
	struct mapper	*mp;

	mp = XCALLOC(struct mapper, 1);
	mp->id = mapper_next_id++;
	storage_init(&mp->storage, (int)arc4random_uniform(SLUICE_SLOTS));
	mp->strategy = strategy_new(&mapper_ops, mp);
	TAILQ_INSERT_TAIL(&nicehash_mappers, mp, entry);
	log_info("type=upstream_new upstream=%llu",
	    (unsigned long long)mp->id);
	strategy_start(mp->strategy);
	return mp;
}

/* Free an empty mapper and its pool connection. */
static void
mapper_free(struct mapper *mp)
{
	TAILQ_REMOVE(&nicehash_mappers, mp, entry);
	strategy_free(mp->strategy);
	jobs_clear(&mp->jobs);
	free(mp);
}

/*
 * A job from the serving pool. A new session (login, failover) starts
 * afresh: its previous job is not the old session's. Then every active
 * slot gets the job: the encoded head, patched per miner.
 */
static void
mapper_on_job(void *arg, struct job *j, int new_session)
{
	struct mapper	*mp = (struct mapper *)arg;
	int		 i;

	jobs_set(&mp->jobs, j, new_session);
	mp->njobs++;
	storage_reset_dead(&mp->storage);
	for (i = 0; i < SLUICE_SLOTS; i++) {
		if (mp->storage.state[i] == SLOT_ACTIVE)
			miner_send_job(mp->storage.miners[i], j);
	}
}

/* The serving pool went away; jobs stay so submits get "Bad gateway". */
static void
mapper_on_down(void *arg)
{
	(void)arg;
}

/* Connect the first upstream. */
void
nicehash_start(void)
{
	mapper_new();
}

/*
 * Give a miner a slot on the first upstream with room, adding an upstream
 * when all are full (unless max-upstreams says no). The login is answered
 * at once if the upstream has a job, else when its first job arrives.
 */
int
nicehash_login(struct miner *m)
{
	struct mapper	*mp;
	size_t		 n = 0;

	TAILQ_FOREACH(mp, &nicehash_mappers, entry) {
		n++;
		if (mapper_has_room(mp))
			break;
	}
	if (mp == NULL) {
		if (sl.conf->max_upstreams > 0 &&
		    n >= (size_t)sl.conf->max_upstreams)
			return -1;
		mp = mapper_new();
	}
	m->slot = storage_add(&mp->storage, m);
	m->mapper = mp;
	mp->idle_rounds = 0;
	if (mp->suspended) {
		mp->suspended = 0;
		log_info("type=upstream_resume upstream=%llu",
		    (unsigned long long)mp->id);
		strategy_start(mp->strategy);
	}
	if (mp->jobs.job != NULL && strategy_is_up(mp->strategy))
		miner_login_done(m, mp->jobs.job);
	return 0;
}

/* Check and forward a share against this miner's upstream. */
void
nicehash_submit(struct miner *m, struct share *s, const char *job_id,
    const char *algo)
{
	jobs_submit(&m->mapper->jobs, m->mapper->strategy, s, job_id, algo);
}

/* A miner leaves: its slot dies until the next job. */
void
nicehash_close(struct miner *m)
{
	if (m->mapper == NULL)
		return;
	storage_remove(&m->mapper->storage, m->slot);
	m->mapper = NULL;
}

/*
 * Every 60 s: an empty upstream other than the first is suspended
 * (disconnected); one suspended for two more rounds is deleted.
 */
void
nicehash_gc(void)
{
	struct mapper	*mp, *next;

	for (mp = TAILQ_FIRST(&nicehash_mappers); mp != NULL; mp = next) {
		next = TAILQ_NEXT(mp, entry);
		if (mp == TAILQ_FIRST(&nicehash_mappers) ||
		    mp->storage.nactive > 0)
			continue;
		if (!mp->suspended) {
			mp->suspended = 1;
			mp->idle_rounds = 0;
			log_info("type=upstream_suspend upstream=%llu",
			    (unsigned long long)mp->id);
			strategy_free(mp->strategy);
			mp->strategy = strategy_new(&mapper_ops, mp);
			jobs_clear(&mp->jobs);
			continue;
		}
		if (++mp->idle_rounds >= MAPPER_DELETE_ROUNDS) {
			log_info("type=upstream_delete upstream=%llu",
			    (unsigned long long)mp->id);
			mapper_free(mp);
		}
	}
}

/* The pool list changed: every active upstream starts over at the primary. */
void
nicehash_reload(void)
{
	struct mapper	*mp;

	TAILQ_FOREACH(mp, &nicehash_mappers, entry) {
		if (!mp->suspended)
			strategy_restart(mp->strategy);
	}
}

/*
 * Shutdown, first step: disconnect every upstream, answering the submits
 * still pending on it; the mappers stay until their miners have closed.
 */
void
nicehash_disconnect(void)
{
	struct mapper	*mp;

	TAILQ_FOREACH(mp, &nicehash_mappers, entry) {
		strategy_free(mp->strategy);
		mp->strategy = strategy_new(&mapper_ops, mp);
	}
}

/* Shutdown, last step: free every upstream (the miners are gone). */
void
nicehash_stop(void)
{
	struct mapper	*mp;

	while ((mp = TAILQ_FIRST(&nicehash_mappers)) != NULL)
		mapper_free(mp);
}
