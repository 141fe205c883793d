/*
 * upstream.h: how miners share pool connections.
 *
 * An upstream (upstream.cc) is one failover strategy (pool.h) with its
 * current and previous job, their duplicate-nonce sets and its counters;
 * both modes use the same type and the same share checks. A splitter is
 * the table of what differs between the modes, chosen once at start:
 *
 *	nicehash.cc	up to 256 miners per upstream, one fixed nonce byte
 *			each (storage.cc: the slot table)
 *	simple.cc	one upstream per miner, kept idle for reuse
 *
 * splitter.cc is the entry point the miner calls: login, submit, close,
 * and the tick, reload and shutdown steps main.cc drives.
 */
#ifndef SLUICE_UPSTREAM_H
#define SLUICE_UPSTREAM_H

#include "sluice.h"
#include "job.h"
#include "stats.h"

struct miner;
struct share;
struct strategy;

/* storage.cc: the 256-slot table of a NiceHash upstream; pure. */
enum slot_state {
	SLOT_FREE,
	SLOT_ACTIVE,
	SLOT_DEAD		/* freed, unusable until the next job */
};

struct nonce_storage {
	struct miner	*miners[SLUICE_SLOTS];
	uint8_t		 state[SLUICE_SLOTS];
	int		 cursor;
	int		 nactive;
	int		 ndead;
};

void		 storage_init(struct nonce_storage *, int start);
int		 storage_add(struct nonce_storage *, struct miner *);
void		 storage_remove(struct nonce_storage *, int slot);
void		 storage_reset_dead(struct nonce_storage *);
void		 storage_count(const struct nonce_storage *, int *free_,
		     int *dead, int *active);
int		 storage_has_room(const struct nonce_storage *);

/* upstream.cc: one pool session shared by the miners a splitter gives it. */
struct upstream {
	uint64_t	 id;
	struct strategy	*strategy;	/* owned */
	struct job	*job;		/* current */
	struct job	*prev;		/* previous, same pool session */
	struct nonceset	 seen;		/* nonces submitted for job */
	struct nonceset	 prev_seen;
	uint64_t	 njobs;		/* jobs received */
	struct upstream_stats ustats;	/* stats.cc */
	char		*coin;		/* its coin's name, interned */

	/* What the splitter keeps; the other mode leaves these zero. */
	struct nonce_storage *slots;	/* nicehash: owned */
	int		 suspended;	/* nicehash: disconnected by GC */
	int		 idle_rounds;	/* nicehash: GC rounds spent empty */
	struct miner	*miner;		/* simple: NULL while idle */
	time_t		 idle_since;	/* simple: kept for reuse since */
	int		 custom_login;	/* simple: the policy's pool login */
	time_t		 retire_at;	/* simple: switched away, closes then */

	TAILQ_ENTRY(upstream) entry;	/* every upstream, oldest first */
	TAILQ_ENTRY(upstream) idle_entry; /* simple: reusable ones */
};
TAILQ_HEAD(upstreamq, upstream);

/* One upstream as monitoring sees it, whatever the mode. */
struct upstream_view {
	uint64_t		 id;
	const char		*state;	/* upstream_state_text() */
	const char		*coin;
	char			 pool[300];	/* host:port, "" if none */
	const struct upstream_stats *ustats;
	const struct job	*job;		/* current, or NULL */
	uint64_t		 njobs;
	int			 miners;
	int			 slots_free;	/* nicehash only, else -1 */
	int			 slots_dead;
};

struct upstream	*upstream_new(int coin);
void		 upstream_free(struct upstream *);
void		 upstream_start(struct upstream *);
void		 upstream_suspend(struct upstream *);
void		 upstream_disconnect(struct upstream *);
struct job	*upstream_ready_job(struct upstream *);
int		 upstream_is_up(const struct upstream *);
void		 upstream_submit(struct upstream *, struct share *,
		     const char *job_id, const char *algo);
const char	*upstream_state_text(const struct upstream *);
struct upstream	*upstream_first(void);
struct upstream	*upstream_next(struct upstream *);
size_t		 upstream_count(void);
int		 upstream_coin_index(const struct upstream *);
struct upstream	*upstream_by_id(uint64_t);
int		 upstream_has_job(const struct upstream *, const char *);
size_t		 upstream_pending(struct upstream *);

/* A splitter: what differs between the modes. */
struct splitter {
	const char	*name;
	void		(*start)(void);
	/* Give a logged-in miner an upstream of coin; -1: the proxy is full. */
	int		(*login)(struct miner *, int coin);
	/* Move a miner to an upstream of coin (coins.h); -1: none has room. */
	int		(*sw)(struct miner *, int coin);
	/* Take a closing miner off its upstream. */
	void		(*close)(struct miner *);
	/* A new job on an upstream: send it to that upstream's miners. */
	void		(*fanout)(struct upstream *, struct job *);
	/* Once a second, after every strategy's tick. */
	void		(*tick)(time_t now);
	/* The pool list changed. */
	void		(*reload)(void);
	/* Shutdown: drop what the splitter keeps beside its miners. */
	void		(*stop)(void);
};
extern const struct splitter nicehash_splitter;
extern const struct splitter simple_splitter;

/* splitter.cc: the mode's splitter and the calls the rest makes. */
void		 splitter_start(void);
int		 splitter_login(struct miner *);
void		 splitter_submit(struct miner *, struct share *,
		     const char *job_id, const char *algo);
void		 splitter_close(struct miner *);
int		 splitter_switch(struct miner *, int coin);
void		 splitter_fanout(struct upstream *, struct job *);
void		 splitter_tick(time_t now);
void		 splitter_reload(void);
void		 splitter_disconnect(void);
void		 splitter_stop(void);
void		 splitter_upstreams(uint64_t *active, uint64_t *sleep,
		     uint64_t *error, uint64_t *total);
void		 splitter_foreach(void (*)(const struct upstream_view *,
		     void *), void *);

#endif /* SLUICE_UPSTREAM_H */
