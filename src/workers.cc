/*
 * workers.cc: per-worker statistics for /1/workers.
 *
 * A worker is the name login gave a miner (m->worker, chosen by the
 * "workers" mode: rig id, user, password, agent or ip). Names come from
 * miners, so the table is bounded by workers-max:
 *
 *	hash table	name -> record, chained, keyed SipHash so a miner
 *			cannot pick names that collide
 *	all list	every record, first seen first (the API's order)
 *	idle list	records with no open connection, most recently idle
 *			first; a new worker past the cap evicts the tail
 *
 * A miner keeps a pointer to its record (m->worker_rec) from login to
 * close, so a share finds its worker in O(1). A record with a connection
 * is never evicted, so that pointer cannot dangle; when every record is
 * connected a new worker is not tracked at all (and counted).
 *
 * A record is one allocation: the struct, then the name. Its hashrate
 * rings are coarse (10 s, 5 min and 1 h buckets, 42 in all) to keep it
 * a few hundred bytes; its history ring (stats.h), made on its first
 * share while history is on, goes with it.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "stats.h"
#include "workers.h"

#define WORKERS_TAB_MIN	64

static struct workerq	 workers_all = TAILQ_HEAD_INITIALIZER(workers_all);
static struct workerq	 workers_idle = TAILQ_HEAD_INITIALIZER(workers_idle);
static struct worker	**workers_tab;
static uint32_t		 workers_tabsize;
static size_t		 workers_n;
static size_t		 workers_bytes;	/* records, as malloc sized them */
static uint32_t		 workers_gen;
static int		 workers_mode = -1;
static uint64_t		 workers_key[2];
static int		 workers_keyed;
static int		 workers_warned;

static uint32_t	 workers_hash(const char *, size_t);
static struct worker *workers_find(const char *, uint32_t);
static void	 workers_grow(void);
static int	 workers_evict(void);
static void	 workers_free(struct worker *);
static void	 workers_check_mode(void);
static int	 workers_max(void);

/* SipHash-2-4 of a name, folded to 32 bits. */
static uint32_t
workers_hash(const char *name, size_t len)
{
	const uint8_t	*p = (const uint8_t *)name;
	uint64_t	 v0, v1, v2, v3, m, b;
	size_t		 i, j;

#define ROTL(x, n)	(((x) << (n)) | ((x) >> (64 - (n))))
#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)
	if (!workers_keyed) {
		arc4random_buf(workers_key, sizeof workers_key);
		workers_keyed = 1;
	}
	v0 = 0x736f6d6570736575ULL ^ workers_key[0];
	v1 = 0x646f72616e646f6dULL ^ workers_key[1];
	v2 = 0x6c7967656e657261ULL ^ workers_key[0];
	v3 = 0x7465646279746573ULL ^ workers_key[1];
	for (i = 0; i + 8 <= len; i += 8) {
		for (m = 0, j = 0; j < 8; j++)
			m |= (uint64_t)p[i + j] << (8 * j);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (b = (uint64_t)len << 56, j = 0; i + j < len; j++)
		b |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	m = v0 ^ v1 ^ v2 ^ v3;
#undef SIPROUND
#undef ROTL
	return (uint32_t)(m ^ (m >> 32));
}

/* The configured cap (the default when there is no config yet). */
static int
workers_max(void)
{
	return sl.conf != NULL && sl.conf->workers_max > 0 ?
	    sl.conf->workers_max : 10000;
}

/* The record named name, or NULL. */
static struct worker *
workers_find(const char *name, uint32_t h)
{
	struct worker	*w;

	if (workers_tab == NULL)
		return NULL;
	for (w = workers_tab[h & (workers_tabsize - 1)]; w != NULL;
	    w = w->hnext) {
		if (w->hash == h && strcmp(w->name, name) == 0)
			return w;
	}
	return NULL;
}

/* Double the hash table (or make the first one) and rehash. */
static void
workers_grow(void)
{
	struct worker	*w;
	uint32_t	 size, slot;

	size = workers_tabsize == 0 ? WORKERS_TAB_MIN : workers_tabsize * 2;
	free(workers_tab);
	workers_tab = XCALLOC(struct worker *, size);
	workers_tabsize = size;
	TAILQ_FOREACH(w, &workers_all, entry) {
		slot = w->hash & (size - 1);
		w->hnext = workers_tab[slot];
		workers_tab[slot] = w;
	}
}

/* Unlink and free one record (it has no connection). */
static void
workers_free(struct worker *w)
{
	struct worker	**pp;

	for (pp = &workers_tab[w->hash & (workers_tabsize - 1)]; *pp != w;
	    pp = &(*pp)->hnext)
		;
	*pp = w->hnext;
	TAILQ_REMOVE(&workers_all, w, entry);
	workers_n--;
	workers_bytes -= malloc_usable_size(w);
	stats_hist_free(&w->hist);
	free(w);
}

/* Forget the worker idle the longest; 0 if every worker is connected. */
static int
workers_evict(void)
{
	struct worker	*w;

	if ((w = TAILQ_LAST(&workers_idle, workerq)) == NULL)
		return 0;
	TAILQ_REMOVE(&workers_idle, w, idle);
	log_debug2("worker %s: evicted", w->name);
	workers_free(w);
	sl_stats.workers_evicted++;
	return 1;
}

/*
 * A new workers mode makes new names: forget the idle records now, and
 * mark the connected ones so they go when their last miner leaves.
 */
static void
workers_check_mode(void)
{
	int	 mode = sl.conf != NULL ? (int)sl.conf->workers : workers_mode;

	if (mode == workers_mode)
		return;
	if (workers_mode != -1) {
		while (workers_evict())
			;
		workers_gen++;
	}
	workers_mode = mode;
}

/*
 * A miner logged in: find or make the worker its peer names, count the
 * connection and return the record for the miner to keep. NULL when the
 * miner has no worker name, or when workers-max is reached and every
 * worker is connected.
 */
struct worker *
workers_attach(const struct peer *m, int64_t now_ms)
{
	struct worker	*w;
	size_t		 len;
	uint32_t	 h;
	int		 max = workers_max();

	if (m->worker == NULL)
		return NULL;
	workers_check_mode();
	len = strlen(m->worker);
	h = workers_hash(m->worker, len);
	if ((w = workers_find(m->worker, h)) == NULL) {
		while (workers_n >= (size_t)max && workers_evict())
			;
		if (workers_n >= (size_t)max) {
			sl_stats.workers_untracked++;
			if (!workers_warned) {
				log_warnx("workers-max %d reached and every "
				    "worker is connected: new workers are not "
				    "tracked", max);
				workers_warned = 1;
			}
			return NULL;
		}
		if (workers_n + 1 > workers_tabsize)
			workers_grow();
		w = (struct worker *)xcalloc(1, sizeof *w + len + 1);
		w->name = (char *)(w + 1);
		memcpy(w->name, m->worker, len + 1);
		w->hash = h;
		w->gen = workers_gen;
		stats_rate_init(&w->rate, now_ms);
		w->hnext = workers_tab[h & (workers_tabsize - 1)];
		workers_tab[h & (workers_tabsize - 1)] = w;
		TAILQ_INSERT_TAIL(&workers_all, w, entry);
		workers_n++;
		workers_bytes += malloc_usable_size(w);
	} else if (w->connections == 0)
		TAILQ_REMOVE(&workers_idle, w, idle);
	w->connections++;
	w->gen = workers_gen;
	xstrlcpy(w->ip, m->ip, sizeof w->ip);
	return w;
}

/* A miner closed: drop its connection; a record left idle may be evicted. */
void
workers_detach(struct worker *w)
{
	if (w == NULL)
		return;
	if (--w->connections > 0)
		return;
	if (w->gen != workers_gen) {
		workers_free(w);
		return;
	}
	TAILQ_INSERT_HEAD(&workers_idle, w, idle);
}

/*
 * A share ended for a worker. Accepted counts what the miner was told OK
 * (pool-accepted and custom-difficulty local shares); rejected counts the
 * pool's refusals, bad gateway and timeouts; invalid counts failed local
 * checks and duplicates. diff is the difficulty counted as hashes (0 for
 * none).
 */
void
workers_share(struct worker *w, enum share_result r, uint64_t diff,
    int64_t now_ms)
{
	struct timespec	 ts;

	switch (r) {
	case SHARE_ACCEPTED:
	case SHARE_LOCAL:
		w->accepted++;
		clock_gettime(CLOCK_REALTIME, &ts);
		w->last_share_ms = (int64_t)ts.tv_sec * 1000 +
		    ts.tv_nsec / 1000000;
		break;
	case SHARE_REJECTED:
	case SHARE_BAD_GATEWAY:
	case SHARE_TIMEOUT:
	case SHARE_LOST:
		w->rejected++;
		break;
	case SHARE_INVALID:
	case SHARE_DUPLICATE:
		w->invalid++;
		break;
	}
	if (diff != 0)
		stats_rate_add(&w->rate, diff, now_ms);
}

/* A worker's hashes per second over a window. */
double
workers_hashrate(struct worker *w, enum stats_window win, int64_t now_ms)
{
	return stats_rate_get(&w->rate, win, now_ms);
}

/* Once a second: a changed mode or a lowered cap takes effect. */
void
workers_tick(void)
{
	int	 max = workers_max();

	workers_check_mode();
	while (workers_n > (size_t)max && workers_evict())
		;
	if (workers_n < (size_t)max)
		workers_warned = 0;
}

/* Forget every worker (shutdown, tests); miners must be detached. */
void
workers_clear(void)
{
	struct worker	*w;

	while ((w = TAILQ_FIRST(&workers_all)) != NULL) {
		if (w->connections == 0)
			TAILQ_REMOVE(&workers_idle, w, idle);
		workers_free(w);
	}
	free(workers_tab);
	workers_tab = NULL;
	workers_tabsize = 0;
	workers_mode = -1;
	workers_warned = 0;
}

/* The first worker, first seen first. */
struct worker *
workers_first(void)
{
	return TAILQ_FIRST(&workers_all);
}

/* The worker after w. */
struct worker *
workers_next(struct worker *w)
{
	return TAILQ_NEXT(w, entry);
}

/* Number of workers tracked. */
size_t
workers_count(void)
{
	return workers_n;
}

/* Bytes held by the worker table: records and hash buckets. */
size_t
workers_memory(void)
{
	return workers_bytes + workers_tabsize * sizeof workers_tab[0];
}
