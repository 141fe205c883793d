/*
 * histdb.cc: the history database, the one file that calls SQLite.
 *
 * Schema (PRAGMA user_version 1, application_id "slhi"):
 *
 *	CREATE TABLE series (id INTEGER PRIMARY KEY,
 *	    kind TEXT NOT NULL,		-- total, coin or worker
 *	    name TEXT NOT NULL,		-- '' for the total
 *	    UNIQUE (kind, name));
 *	CREATE TABLE points (series_id INTEGER NOT NULL, ts INTEGER NOT NULL,
 *	    hashes INTEGER NOT NULL, accepted INTEGER NOT NULL,
 *	    rejected INTEGER NOT NULL, invalid INTEGER NOT NULL,
 *	    PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
 *
 * A point is one flush-interval bucket (a minute) of one series starting
 * at ts, Unix seconds; hashes is the sum of the counted share
 * difficulties, so the hashrate is hashes / 60 and buckets add up
 * exactly into 5-minute or hourly ones. Writing a point that is there
 * adds to it: a restart within a minute writes the rest of that minute.
 * A point of a worker or coin that did nothing is not written; the total
 * has one every minute. Rows older than history.days are deleted at open
 * and hourly, series by series through the primary key; a series left
 * without points goes too.
 *
 * Threads. The writer thread owns the writing connection: the event loop
 * hands it jobs (open, a batch of rows, prune, close) through a queue
 * under a mutex, and reads back a report (struct histdb_report) once a
 * tick; the writer never logs, and runs at a lower priority than the
 * loop. A batch is one transaction through prepared statements. WAL mode lets the loop read on its own read-only
 * connection (histdb_read) while the writer writes, so the loop never
 * waits for a commit; it waits at most HISTDB_READ_BUSY ms for a lock.
 *
 * A failure (open, write, a corrupt or read-only file, a full disk)
 * closes the writing connection and is reported with its reason; the
 * jobs after it are dropped until the next open.
 */
#include <sys/resource.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "history.h"

#define HISTDB_SCHEMA		1
#define HISTDB_APP_ID		0x736c6869	/* "slhi" */
#define HISTDB_APP_ID_TEXT	"1936484457"	/* the same, for SQL */
#define HISTDB_QUEUE_MAX	8	/* row batches waiting, at most */
#define HISTDB_WRITE_BUSY	10000	/* ms the writer waits for a lock */
#define HISTDB_READ_BUSY	50	/* ms the event loop does */
#define HISTDB_PRUNE_CHUNK	256	/* series per prune transaction */
#define HISTDB_NICE		10	/* the writer's, above the loop's */

enum histdb_job_type {
	HISTDB_OPEN,
	HISTDB_ROWS,
	HISTDB_PRUNE,
	HISTDB_CLOSE
};

struct histdb_job {
	enum histdb_job_type	 type;
	char			*file;		/* open */
	uint32_t		 epoch;		/* open */
	int64_t			 cutoff;	/* open, prune: older goes */
	struct history_batch	 batch;		/* rows */
	TAILQ_ENTRY(histdb_job)	 entry;
};
TAILQ_HEAD(histdb_jobq, histdb_job);

/* Shared between the loop and the writer: under hw_mtx. */
static pthread_mutex_t	 hw_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 hw_cv = PTHREAD_COND_INITIALIZER;
static struct histdb_jobq hw_q = TAILQ_HEAD_INITIALIZER(hw_q);
static size_t		 hw_nrows_jobs;	/* row batches in hw_q */
static int		 hw_stop;
static struct histdb_report hw_rep;
static struct history_batch hw_spare;	/* a written batch's arrays */

/* The loop's: the thread. */
static pthread_t	 hw_thread;
static int		 hw_running;

/* The writer thread's own. */
static sqlite3		*wdb;
static sqlite3_stmt	*w_series, *w_point, *w_ids, *w_prune, *w_gc;

/* The event loop's own. */
static sqlite3		*rdb;
static sqlite3_stmt	*r_read, *r_exists, *r_names;

static void	*histdb_main(void *);
static void	 histdb_job_free(struct histdb_job *);
static void	 histdb_batch_recycle(struct history_batch *);
static void	 histdb_queue(struct histdb_job *);
static int	 histdb_stopping(void);
static void	 histdb_fail(const char *, ...) PRINTFLIKE(1, 2);
static const char *histdb_why(sqlite3 *, int);
static void	 histdb_w_close(void);
static int	 histdb_w_exec(const char *);
static int	 histdb_w_int(const char *, int64_t *);
static void	 histdb_w_open(const char *, uint32_t, int64_t);
static void	 histdb_w_rows(struct history_batch *);
static void	 histdb_w_prune(int64_t);
static double	 histdb_secs(void);

static const char histdb_ddl[] =
    "CREATE TABLE IF NOT EXISTS series ("
    " id INTEGER PRIMARY KEY,"
    " kind TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " UNIQUE (kind, name));"
    "CREATE TABLE IF NOT EXISTS points ("
    " series_id INTEGER NOT NULL,"
    " ts INTEGER NOT NULL,"
    " hashes INTEGER NOT NULL,"
    " accepted INTEGER NOT NULL,"
    " rejected INTEGER NOT NULL,"
    " invalid INTEGER NOT NULL,"
    " PRIMARY KEY (series_id, ts)) WITHOUT ROWID;";

/* Seconds on the monotonic clock. */
static double
histdb_secs(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SQLite's version, for sluice -V. */
const char *
histdb_version(void)
{
	return sqlite3_libversion();
}

/* Add a row to a batch (the event loop, building a flush). */
void
histdb_batch_add(struct history_batch *b, enum history_kind kind,
    const char *name, const struct history_point *p)
{
	size_t	 len = strlen(name) + 1;

	if (b->nrows == b->cap) {
		b->cap = b->cap == 0 ? 256 : b->cap * 2;
		b->rows = (struct history_row *)xrealloc(b->rows,
		    b->cap * sizeof b->rows[0]);
	}
	while (b->namelen + len > b->namecap) {
		b->namecap = b->namecap == 0 ? 4096 : b->namecap * 2;
		b->names = (char *)xrealloc(b->names, b->namecap);
	}
	memcpy(b->names + b->namelen, name, len);
	b->rows[b->nrows].kind = kind;
	b->rows[b->nrows].name = (uint32_t)b->namelen;
	b->rows[b->nrows].p = *p;
	b->nrows++;
	b->namelen += len;
}

/*
 * Start a batch for about rows rows: with the arrays of the last batch
 * written, if the writer has given them back, so that a flush does not
 * allocate (and fault in) a new megabyte each time.
 */
void
histdb_batch_init(struct history_batch *b, size_t rows)
{
	pthread_mutex_lock(&hw_mtx);
	*b = hw_spare;
	memset(&hw_spare, 0, sizeof hw_spare);
	pthread_mutex_unlock(&hw_mtx);
	b->nrows = 0;
	b->namelen = 0;
	if (b->cap < rows) {
		b->cap = rows;
		b->rows = (struct history_row *)xrealloc(b->rows,
		    b->cap * sizeof b->rows[0]);
	}
	if (b->namecap < rows * 16) {
		b->namecap = rows * 16;
		b->names = (char *)xrealloc(b->names, b->namecap);
	}
}

/* The writer is done with a batch: keep its arrays for the next one. */
static void
histdb_batch_recycle(struct history_batch *b)
{
	pthread_mutex_lock(&hw_mtx);
	if (hw_spare.rows == NULL) {
		hw_spare = *b;
		memset(b, 0, sizeof *b);
	}
	pthread_mutex_unlock(&hw_mtx);
	histdb_batch_free(b);
}

/* Free a batch's arrays. */
void
histdb_batch_free(struct history_batch *b)
{
	free(b->rows);
	free(b->names);
	memset(b, 0, sizeof *b);
}

/* Free a job and what it holds. */
static void
histdb_job_free(struct histdb_job *j)
{
	free(j->file);
	histdb_batch_free(&j->batch);
	free(j);
}

/*
 * Start the writer thread, with every signal blocked: libevent's
 * handlers belong to the event loop.
 */
void
histdb_start(void)
{
	sigset_t	 all, old;
	int		 rc;

	if (hw_running)
		return;
	hw_stop = 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&hw_thread, NULL, histdb_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		fatalx("history: cannot start the writer thread: %s",
		    strerror(rc));
	hw_running = 1;
}

/*
 * Stop the writer: it does every job queued (the last flush, the close)
 * but cuts a prune short, then ends.
 */
void
histdb_stop(void)
{
	struct histdb_job	*j;

	if (!hw_running)
		return;
	pthread_mutex_lock(&hw_mtx);
	hw_stop = 1;
	pthread_cond_signal(&hw_cv);
	pthread_mutex_unlock(&hw_mtx);
	pthread_join(hw_thread, NULL);
	hw_running = 0;
	while ((j = TAILQ_FIRST(&hw_q)) != NULL) {
		TAILQ_REMOVE(&hw_q, j, entry);
		histdb_job_free(j);
	}
	hw_nrows_jobs = 0;
	histdb_batch_free(&hw_spare);
}

/* Queue a job for the writer (which must be running). */
static void
histdb_queue(struct histdb_job *j)
{
	if (!hw_running) {
		histdb_job_free(j);
		return;
	}
	pthread_mutex_lock(&hw_mtx);
	TAILQ_INSERT_TAIL(&hw_q, j, entry);
	if (j->type == HISTDB_ROWS)
		hw_nrows_jobs++;
	pthread_cond_signal(&hw_cv);
	pthread_mutex_unlock(&hw_mtx);
}

/* Open file (closing any other), then prune rows before cutoff. */
void
histdb_open(const char *file, int64_t cutoff, uint32_t epoch)
{
	struct histdb_job	*j = XCALLOC(struct histdb_job, 1);

	j->type = HISTDB_OPEN;
	j->file = xstrdup(file);
	j->epoch = epoch;
	j->cutoff = cutoff;
	histdb_queue(j);
}

/* Close the database once the jobs before are done. */
void
histdb_close(void)
{
	struct histdb_job	*j = XCALLOC(struct histdb_job, 1);

	j->type = HISTDB_CLOSE;
	histdb_queue(j);
}

/* Delete the rows before cutoff. */
void
histdb_prune(int64_t cutoff)
{
	struct histdb_job	*j = XCALLOC(struct histdb_job, 1);

	j->type = HISTDB_PRUNE;
	j->cutoff = cutoff;
	histdb_queue(j);
}

/*
 * Hand a batch of rows to the writer, which takes it over (b is left
 * empty). -1, b untouched, when HISTDB_QUEUE_MAX batches already wait:
 * the disk is that far behind.
 */
int
histdb_write(struct history_batch *b)
{
	struct histdb_job	*j;
	size_t			 n;

	if (b->nrows == 0) {
		histdb_batch_free(b);
		return 0;
	}
	pthread_mutex_lock(&hw_mtx);
	n = hw_nrows_jobs;
	pthread_mutex_unlock(&hw_mtx);
	if (!hw_running || n >= HISTDB_QUEUE_MAX)
		return -1;
	j = XCALLOC(struct histdb_job, 1);
	j->type = HISTDB_ROWS;
	j->batch = *b;
	memset(b, 0, sizeof *b);
	histdb_queue(j);
	return 0;
}

/* What the writer has to say; the prune counts restart. */
void
histdb_poll(struct histdb_report *r)
{
	pthread_mutex_lock(&hw_mtx);
	*r = hw_rep;
	hw_rep.pruned = 0;
	hw_rep.prunes = 0;
	pthread_mutex_unlock(&hw_mtx);
}

/* Is the writer asked to stop? */
static int
histdb_stopping(void)
{
	int	 stop;

	pthread_mutex_lock(&hw_mtx);
	stop = hw_stop;
	pthread_mutex_unlock(&hw_mtx);
	return stop;
}

/* The writer thread: one job at a time until stopped and drained. */
static void *
histdb_main(void *arg)
{
	struct histdb_job	*j;

	(void)arg;
	/*
	 * Below the event loop: on a busy machine the writer waits for a
	 * core, not the miners. A thread's nice is its own on Linux.
	 */
	setpriority(PRIO_PROCESS, (id_t)gettid(), HISTDB_NICE);
	for (;;) {
		pthread_mutex_lock(&hw_mtx);
		while (TAILQ_EMPTY(&hw_q) && !hw_stop)
			pthread_cond_wait(&hw_cv, &hw_mtx);
		if ((j = TAILQ_FIRST(&hw_q)) == NULL) {
			pthread_mutex_unlock(&hw_mtx);
			break;
		}
		TAILQ_REMOVE(&hw_q, j, entry);
		if (j->type == HISTDB_ROWS)
			hw_nrows_jobs--;
		pthread_mutex_unlock(&hw_mtx);
		switch (j->type) {
		case HISTDB_OPEN:
			histdb_w_open(j->file, j->epoch, j->cutoff);
			break;
		case HISTDB_ROWS:
			histdb_w_rows(&j->batch);
			histdb_batch_recycle(&j->batch);
			break;
		case HISTDB_PRUNE:
			histdb_w_prune(j->cutoff);
			break;
		case HISTDB_CLOSE:
			histdb_w_close();
			pthread_mutex_lock(&hw_mtx);
			hw_rep.opened = 0;
			pthread_mutex_unlock(&hw_mtx);
			break;
		}
		histdb_job_free(j);
	}
	histdb_w_close();
	return NULL;
}

/* SQLite's message for db, with the system's for an I/O error. */
static const char *
histdb_why(sqlite3 *db, int rc)
{
	static __thread char	 buf[256];
	int			 e = db != NULL ? sqlite3_system_errno(db) : 0;
	const char		*msg = db != NULL ? sqlite3_errmsg(db) :
				    sqlite3_errstr(rc);

	if (e != 0 && (rc & 0xff) == SQLITE_CANTOPEN)
		snprintf(buf, sizeof buf, "%s: %s", msg, strerror(e));
	else
		snprintf(buf, sizeof buf, "%s", msg);
	return buf;
}

/* The writer failed: report why, close the connection. */
static void
histdb_fail(const char *fmt, ...)
{
	va_list	 ap;

	pthread_mutex_lock(&hw_mtx);
	va_start(ap, fmt);
	vsnprintf(hw_rep.reason, sizeof hw_rep.reason, fmt, ap);
	va_end(ap);
	hw_rep.failed = 1;
	hw_rep.opened = 0;
	pthread_mutex_unlock(&hw_mtx);
	histdb_w_close();
}

/* Close the writing connection, if open. */
static void
histdb_w_close(void)
{
	sqlite3_finalize(w_series);
	sqlite3_finalize(w_point);
	sqlite3_finalize(w_ids);
	sqlite3_finalize(w_prune);
	sqlite3_finalize(w_gc);
	w_series = w_point = w_ids = w_prune = w_gc = NULL;
	if (wdb != NULL)
		sqlite3_close_v2(wdb);
	wdb = NULL;
}

/* Run SQL on the writing connection; -1 (reported) on failure. */
static int
histdb_w_exec(const char *sql)
{
	int	 rc;

	if ((rc = sqlite3_exec(wdb, sql, NULL, NULL, NULL)) != SQLITE_OK) {
		histdb_fail("%s", histdb_why(wdb, rc));
		return -1;
	}
	return 0;
}

/* The integer a query (a PRAGMA) answers; -1 (reported) on failure. */
static int
histdb_w_int(const char *sql, int64_t *v)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = sqlite3_prepare_v2(wdb, sql, -1, &st, NULL)) != SQLITE_OK) {
		histdb_fail("%s", histdb_why(wdb, rc));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		histdb_fail("%s", histdb_why(wdb, rc));
		sqlite3_finalize(st);
		return -1;
	}
	*v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return 0;
}

/*
 * Open file for writing: WAL, the schema, the statements; then prune
 * and report it open under epoch. A read-only file, another program's
 * database, a newer schema or a file that is not a database fail here.
 */
static void
histdb_w_open(const char *file, uint32_t epoch, int64_t cutoff)
{
	sqlite3_stmt	*st;
	int64_t		 v;
	int		 rc;
	const char	*mode;

	histdb_w_close();
	pthread_mutex_lock(&hw_mtx);
	hw_rep.epoch = epoch;
	hw_rep.opened = hw_rep.failed = 0;
	hw_rep.reason[0] = '\0';
	pthread_mutex_unlock(&hw_mtx);

	rc = sqlite3_open_v2(file, &wdb, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		histdb_fail("%s", histdb_why(wdb, rc));
		return;
	}
	sqlite3_extended_result_codes(wdb, 1);
	sqlite3_busy_timeout(wdb, HISTDB_WRITE_BUSY);
	if (sqlite3_db_readonly(wdb, "main") == 1) {
		histdb_fail("the file is read-only");
		return;
	}
	/* The first read: a file that is not a database fails here. */
	if (sqlite3_prepare_v2(wdb, "PRAGMA journal_mode=WAL", -1, &st,
	    NULL) != SQLITE_OK) {
		histdb_fail("%s", histdb_why(wdb, sqlite3_errcode(wdb)));
		return;
	}
	rc = sqlite3_step(st);
	mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) :
	    NULL;
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		histdb_fail("%s", rc == SQLITE_ROW ? "cannot use WAL mode" :
		    histdb_why(wdb, rc));
		sqlite3_finalize(st);
		return;
	}
	sqlite3_finalize(st);
	if (histdb_w_exec("PRAGMA synchronous=NORMAL") != 0 ||
	    histdb_w_int("PRAGMA application_id", &v) != 0)
		return;
	if (v != 0 && v != HISTDB_APP_ID) {
		histdb_fail("not a sluice history database (application_id "
		    "%lld)", (long long)v);
		return;
	}
	if (histdb_w_int("PRAGMA user_version", &v) != 0)
		return;
	if (v > HISTDB_SCHEMA) {
		histdb_fail("schema version %lld is newer than this sluice's "
		    "(%d)", (long long)v, HISTDB_SCHEMA);
		return;
	}
	if (histdb_w_exec("BEGIN IMMEDIATE") != 0)
		return;
	if (histdb_w_exec(histdb_ddl) != 0 ||
	    histdb_w_exec("PRAGMA user_version=1") != 0 ||
	    histdb_w_exec("PRAGMA application_id=" HISTDB_APP_ID_TEXT) != 0 ||
	    histdb_w_exec("COMMIT") != 0)
		return;
	if ((rc = sqlite3_prepare_v2(wdb,
	    "INSERT OR IGNORE INTO series (kind, name) VALUES (?1, ?2)", -1,
	    &w_series, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(wdb,
	    "INSERT INTO points VALUES ((SELECT id FROM series WHERE kind = ?1 "
	    "AND name = ?2), ?3, ?4, ?5, ?6, ?7) ON CONFLICT (series_id, ts) "
	    "DO UPDATE SET hashes = hashes + excluded.hashes, "
	    "accepted = accepted + excluded.accepted, "
	    "rejected = rejected + excluded.rejected, "
	    "invalid = invalid + excluded.invalid", -1, &w_point,
	    NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(wdb, "SELECT id FROM series", -1, &w_ids,
	    NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(wdb,
	    "DELETE FROM points WHERE series_id = ?1 AND ts < ?2", -1,
	    &w_prune, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(wdb,
	    "DELETE FROM series WHERE kind <> 'total' AND NOT EXISTS "
	    "(SELECT 1 FROM points WHERE series_id = series.id)", -1, &w_gc,
	    NULL)) != SQLITE_OK) {
		histdb_fail("%s", histdb_why(wdb, rc));
		return;
	}
	pthread_mutex_lock(&hw_mtx);
	hw_rep.opened = 1;
	pthread_mutex_unlock(&hw_mtx);
	histdb_w_prune(cutoff);
}

/* Write a batch in one transaction, timing it. */
static void
histdb_w_rows(struct history_batch *b)
{
	const struct history_row	*r;
	double				 t0 = histdb_secs(), t;
	size_t				 i;
	int				 rc = SQLITE_OK;

	if (wdb == NULL || histdb_w_exec("BEGIN IMMEDIATE") != 0)
		return;
	for (i = 0; i < b->nrows && rc == SQLITE_OK; i++) {
		r = &b->rows[i];
		sqlite3_bind_text(w_series, 1, history_kind_text(r->kind), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(w_series, 2, b->names + r->name, -1,
		    SQLITE_STATIC);
		if ((rc = sqlite3_step(w_series)) == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_reset(w_series);
		if (rc != SQLITE_OK)
			break;
		sqlite3_bind_text(w_point, 1, history_kind_text(r->kind), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(w_point, 2, b->names + r->name, -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(w_point, 3, r->p.ts);
		sqlite3_bind_int64(w_point, 4, (sqlite3_int64)(r->p.hashes >
		    INT64_MAX ? INT64_MAX : r->p.hashes));
		sqlite3_bind_int64(w_point, 5, (sqlite3_int64)r->p.accepted);
		sqlite3_bind_int64(w_point, 6, (sqlite3_int64)r->p.rejected);
		sqlite3_bind_int64(w_point, 7, (sqlite3_int64)r->p.invalid);
		if ((rc = sqlite3_step(w_point)) == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_reset(w_point);
	}
	if (rc != SQLITE_OK) {
		histdb_fail("%s", histdb_why(wdb, rc));
		return;
	}
	if ((rc = sqlite3_exec(wdb, "COMMIT", NULL, NULL, NULL)) !=
	    SQLITE_OK) {
		histdb_fail("%s", histdb_why(wdb, rc));
		return;
	}
	t = histdb_secs() - t0;
	pthread_mutex_lock(&hw_mtx);
	hw_rep.write_last = t;
	if (t > hw_rep.write_max)
		hw_rep.write_max = t;
	hw_rep.rows += b->nrows;
	hw_rep.last_rows = b->nrows;
	pthread_mutex_unlock(&hw_mtx);
}

/*
 * Delete the rows before cutoff, series by series (a range of the
 * primary key each), HISTDB_PRUNE_CHUNK series per transaction so the
 * WAL stays small and a stop need not wait; then the empty series.
 */
static void
histdb_w_prune(int64_t cutoff)
{
	sqlite3_int64	*ids = NULL;
	size_t		 n = 0, cap = 0, i;
	uint64_t	 gone = 0;
	int		 rc;

	if (wdb == NULL)
		return;
	while ((rc = sqlite3_step(w_ids)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			ids = (sqlite3_int64 *)xrealloc(ids, cap * sizeof ids[0]);
		}
		ids[n++] = sqlite3_column_int64(w_ids, 0);
	}
	sqlite3_reset(w_ids);
	if (rc != SQLITE_DONE) {
		free(ids);
		histdb_fail("%s", histdb_why(wdb, rc));
		return;
	}
	for (i = 0; i < n; i++) {
		if (i % HISTDB_PRUNE_CHUNK == 0) {
			if (i > 0 && (histdb_w_exec("COMMIT") != 0 ||
			    histdb_stopping()))
				goto out;
			if (histdb_w_exec("BEGIN IMMEDIATE") != 0)
				goto out;
		}
		sqlite3_bind_int64(w_prune, 1, ids[i]);
		sqlite3_bind_int64(w_prune, 2, cutoff);
		rc = sqlite3_step(w_prune);
		sqlite3_reset(w_prune);
		if (rc != SQLITE_DONE) {
			histdb_fail("%s", histdb_why(wdb, rc));
			goto out;
		}
		gone += (uint64_t)sqlite3_changes(wdb);
	}
	if (n > 0 && histdb_w_exec("COMMIT") != 0)
		goto out;
	rc = sqlite3_step(w_gc);
	sqlite3_reset(w_gc);
	if (rc != SQLITE_DONE) {
		histdb_fail("%s", histdb_why(wdb, rc));
		goto out;
	}
	pthread_mutex_lock(&hw_mtx);
	hw_rep.pruned += gone;
	hw_rep.prunes++;
	pthread_mutex_unlock(&hw_mtx);
out:
	free(ids);
}

/* Close the loop's reading connection. */
void
histdb_reader_close(void)
{
	sqlite3_finalize(r_read);
	sqlite3_finalize(r_exists);
	sqlite3_finalize(r_names);
	r_read = r_exists = r_names = NULL;
	if (rdb != NULL)
		sqlite3_close_v2(rdb);
	rdb = NULL;
}

/* Open the loop's read-only connection to file (the writer made it). */
int
histdb_reader_open(const char *file, char *why, size_t len)
{
	int	 rc;

	histdb_reader_close();
	rc = sqlite3_open_v2(file, &rdb, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(rdb, 1);
		sqlite3_busy_timeout(rdb, HISTDB_READ_BUSY);
		rc = sqlite3_prepare_v2(rdb,
		    "SELECT (p.ts / ?1) * ?1 AS b, sum(p.hashes), "
		    "sum(p.accepted), sum(p.rejected), sum(p.invalid) "
		    "FROM points p WHERE p.series_id = (SELECT id FROM series "
		    "WHERE kind = ?2 AND name = ?3) AND p.ts >= ?4 AND "
		    "p.ts < ?5 GROUP BY b ORDER BY b", -1, &r_read, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(rdb, "SELECT 1 FROM series WHERE "
		    "kind = ?1 AND name = ?2", -1, &r_exists, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(rdb, "SELECT name FROM series WHERE "
		    "kind = ?1 ORDER BY name", -1, &r_names, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, len, "%s", histdb_why(rdb, rc));
		histdb_reader_close();
		return -1;
	}
	return 0;
}

/*
 * Add the points of series (kind, name) with start <= ts < end, summed
 * into buckets of step from start (aligned to step), to out[0..n). -1
 * with why on a database error; -2 if it was busy (try again later).
 */
int
histdb_read(enum history_kind kind, const char *name, int64_t start,
    int64_t end, int step, struct history_point *out, size_t n, char *why,
    size_t len)
{
	struct history_point	 p;
	int			 rc;

	if (rdb == NULL) {
		snprintf(why, len, "the database is not open");
		return -1;
	}
	sqlite3_bind_int64(r_read, 1, step);
	sqlite3_bind_text(r_read, 2, history_kind_text(kind), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(r_read, 3, name != NULL ? name : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(r_read, 4, start);
	sqlite3_bind_int64(r_read, 5, end);
	while ((rc = sqlite3_step(r_read)) == SQLITE_ROW) {
		p.ts = sqlite3_column_int64(r_read, 0);
		p.hashes = (uint64_t)sqlite3_column_int64(r_read, 1);
		p.accepted = (uint64_t)sqlite3_column_int64(r_read, 2);
		p.rejected = (uint64_t)sqlite3_column_int64(r_read, 3);
		p.invalid = (uint64_t)sqlite3_column_int64(r_read, 4);
		history_fill(out, n, start, step, &p, 1, INT64_MIN, end);
	}
	sqlite3_reset(r_read);
	sqlite3_clear_bindings(r_read);
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(why, len, "%s", histdb_why(rdb, rc));
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ?
	    -2 : -1;
}

/* Has the database a series (kind, name)? 1, 0, or -1 with why. */
int
histdb_exists(enum history_kind kind, const char *name, char *why,
    size_t len)
{
	int	 rc;

	if (rdb == NULL) {
		snprintf(why, len, "the database is not open");
		return -1;
	}
	sqlite3_bind_text(r_exists, 1, history_kind_text(kind), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(r_exists, 2, name != NULL ? name : "", -1,
	    SQLITE_STATIC);
	rc = sqlite3_step(r_exists);
	sqlite3_reset(r_exists);
	sqlite3_clear_bindings(r_exists);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	snprintf(why, len, "%s", histdb_why(rdb, rc));
	return -1;
}

/*
 * The names of the series of a kind in the database, sorted: 0 with
 * *names (each and the array to free), or -1 with why.
 */
int
histdb_names(enum history_kind kind, char ***names, size_t *n, char *why,
    size_t len)
{
	char		**v = NULL;
	size_t		 nv = 0, cap = 0;
	const char	*s;
	int		 rc;

	*names = NULL;
	*n = 0;
	if (rdb == NULL) {
		snprintf(why, len, "the database is not open");
		return -1;
	}
	sqlite3_bind_text(r_names, 1, history_kind_text(kind), -1,
	    SQLITE_STATIC);
	while ((rc = sqlite3_step(r_names)) == SQLITE_ROW) {
		if ((s = (const char *)sqlite3_column_text(r_names, 0)) == NULL)
			continue;
		if (nv == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = (char **)xrealloc(v, cap * sizeof v[0]);
		}
		v[nv++] = xstrdup(s);
	}
	sqlite3_reset(r_names);
	sqlite3_clear_bindings(r_names);
	if (rc != SQLITE_DONE) {
		while (nv > 0)
			free(v[--nv]);
		free(v);
		snprintf(why, len, "%s", histdb_why(rdb, rc));
		return -1;
	}
	*names = v;
	*n = nv;
	return 0;
}
