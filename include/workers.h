/*
 * workers.h: per-worker statistics (workers.cc).
 */
#ifndef SLUICE_WORKERS_H
#define SLUICE_WORKERS_H

#include "sluice.h"
#include "share.h"
#include "stats.h"

/*
 * workers.cc: per-worker statistics, keyed by the worker name login gave
 * the miner. At most workers-max records: a new worker evicts the one
 * idle (no connection) the longest. Hashrate buckets are coarser than the
 * global ones so a record stays small.
 */
struct worker {
	char		*name;		/* stored after the struct */
	struct worker	*hnext;		/* hash chain */
	TAILQ_ENTRY(worker) entry;	/* all, first seen first */
	TAILQ_ENTRY(worker) idle;	/* no connection: least recent last */
	uint32_t	 hash;
	uint32_t	 connections;	/* open now */
	uint32_t	 gen;		/* workers mode generation */
	int64_t		 last_share_ms;	/* wall clock, 0 = never */
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint64_t	 invalid;
	struct stats_rate rate;		/* hashes and hashrate */
	struct stats_hist *hist;	/* its history ring, or NULL */
	char		 ip[46];
};
TAILQ_HEAD(workerq, worker);
struct worker	*workers_attach(const struct peer *, int64_t now_ms);
void		 workers_detach(struct worker *);
void		 workers_share(struct worker *, enum share_result,
		     uint64_t diff, int64_t now_ms);
double		 workers_hashrate(struct worker *, enum stats_window,
		     int64_t now_ms);
void		 workers_tick(void);
void		 workers_clear(void);
struct worker	*workers_first(void);
struct worker	*workers_next(struct worker *);
size_t		 workers_count(void);
size_t		 workers_memory(void);

#endif /* SLUICE_WORKERS_H */
