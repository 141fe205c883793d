/*
 * history.h: hashrate history, in memory for five minutes and in SQLite
 * for history.days.
 *
 *	history.cc	the series: the total, each coin, each upstream and
 *			each worker, whose rings (stats.h) fill as shares
 *			end; every flush-interval (60 s) one row per series
 *			for the database; the queries of /1/history, which
 *			merge memory and the database
 *	histdb.cc	the database: the one file that calls SQLite. A
 *			writer thread takes the rows, prunes and opens;
 *			the event loop only reads, on its own connection
 *
 * Everything here but histdb.cc's writer runs on the event loop.
 */
#ifndef SLUICE_HISTORY_H
#define SLUICE_HISTORY_H

#include "sluice.h"

struct config;

#define HISTORY_MAX_POINTS	10000	/* points in one answer */

/* What a series counts. The kinds are the database's names too. */
enum history_kind {
	HISTORY_TOTAL,
	HISTORY_COIN,
	HISTORY_WORKER,
	HISTORY_UPSTREAM,	/* memory only: ids do not outlive a run */
	HISTORY_NKINDS
};

/* What one series did in one interval starting at ts. */
struct history_point {
	int64_t		 ts;		/* Unix seconds */
	uint64_t	 hashes;	/* sum of counted share difficulties */
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint64_t	 invalid;
};

/* A question for history_query(). */
struct history_query {
	enum history_kind	 kind;
	const char		*name;	/* coin, worker, upstream id; NULL */
	int64_t			 from;	/* Unix seconds; -1: to - 3600 */
	int64_t			 to;	/* -1: now */
	int			 step;	/* 10, 60, 300, 3600; 0: by range */
};

/* Its answer: points[i] starts at from + i * step. */
struct history_answer {
	int64_t			 from;	/* the first point's start */
	int64_t			 to;
	int			 step;
	int			 persisted;	/* the database is in use */
	struct history_point	*points;	/* owned; free() */
	double			*rates;		/* H/s of each point; free() */
	size_t			 npoints;
};

/* history_query()'s refusals, as the API answers them. */
#define HISTORY_E_BAD		(-1)	/* 400: bad parameters */
#define HISTORY_E_UNKNOWN	(-2)	/* 404: no such series */
#define HISTORY_E_OFF		(-3)	/* 404: history is off */

/* history.cc: sampling and queries (the event loop). */
void		 history_start(void);
void		 history_reload(const struct config *old,
		     const struct config *nc);
void		 history_tick(void);
void		 history_stop(void);
int		 history_query(const struct history_query *,
		     struct history_answer *, char *why, size_t);
void		 history_answer_free(struct history_answer *);
int		 history_workers(char ***names, size_t *n, int *persisted);
int		 history_persisted(void);
const char	*history_kind_text(enum history_kind);
int		 history_step_ok(int);
/* For /metrics: the last and the longest flush, in seconds. */
struct history_metrics {
	double		 loop_last;	/* the event loop's wall clock */
	double		 loop_max;
	double		 cpu_last;	/* its CPU time: without preemption */
	double		 cpu_max;
	double		 write_last;	/* the writer thread's transaction */
	double		 write_max;
	uint64_t	 rows;		/* rows committed */
	uint64_t	 rows_dropped;	/* rows the database never got */
	uint64_t	 last_rows;	/* rows of the last flush */
	uint64_t	 max_rows;	/* of the largest */
	uint64_t	 flushes;	/* flushes with rows since start */
	uint64_t	 series;	/* rings in memory */
	int		 persisted;
};
void		 history_metrics(struct history_metrics *);

/* history.cc, pure: the arithmetic of an answer. */
void		 history_fill(struct history_point *, size_t n,
		     int64_t start, int step, const struct history_point *,
		     size_t nrows, int64_t lo, int64_t hi);
double		 history_rate(const struct history_point *, int step,
		     int64_t hi);
int64_t		 history_seam(int64_t since, int64_t next, unsigned n,
		     int sample, int flush);

/*
 * histdb.cc: the database. A row for the writer, whose name is an
 * offset into its batch's names.
 */
struct history_row {
	enum history_kind	 kind;
	uint32_t		 name;
	struct history_point	 p;
};

struct history_batch {
	struct history_row	*rows;
	size_t			 nrows;
	size_t			 cap;
	char			*names;
	size_t			 namelen;
	size_t			 namecap;
};

/* What the writer reports back, read once a tick (histdb_poll). */
struct histdb_report {
	uint32_t	 epoch;		/* the open it is about */
	int		 opened;	/* the open succeeded */
	int		 failed;	/* it failed, or a write did later */
	char		 reason[256];
	uint64_t	 pruned;	/* rows pruned since the last poll */
	int		 prunes;	/* prunes finished since the last poll */
	double		 write_last;	/* s, the last batch's transaction */
	double		 write_max;
	uint64_t	 rows;		/* committed since start */
	uint64_t	 last_rows;
};

void		 histdb_start(void);
void		 histdb_stop(void);
void		 histdb_open(const char *file, int64_t cutoff, uint32_t epoch);
void		 histdb_close(void);
int		 histdb_write(struct history_batch *);
void		 histdb_prune(int64_t cutoff);
void		 histdb_poll(struct histdb_report *);
void		 histdb_batch_init(struct history_batch *, size_t rows);
void		 histdb_batch_add(struct history_batch *, enum history_kind,
		     const char *name, const struct history_point *);
void		 histdb_batch_free(struct history_batch *);
/* The loop's reading connection; -1 with why on a database error. */
int		 histdb_reader_open(const char *file, char *why, size_t);
void		 histdb_reader_close(void);
int		 histdb_read(enum history_kind, const char *name, int64_t start,
		     int64_t end, int step, struct history_point *, size_t n,
		     char *why, size_t);
int		 histdb_exists(enum history_kind, const char *name, char *why,
		     size_t);
int		 histdb_names(enum history_kind, char ***names, size_t *n,
		     char *why, size_t);
const char	*histdb_version(void);

#endif /* SLUICE_HISTORY_H */
