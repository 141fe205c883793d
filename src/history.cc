/*
 * history.cc: the hashrate history, on the event loop.
 *
 * A series is what one thing did over time: the total, a coin, an
 * upstream or a worker. Its ring (struct stats_hist, stats.h) is filled
 * as its shares end (events.cc): samples of sample-interval S (10 s) on
 * the wall clock, the last 30 of them (five minutes) and the one
 * filling, plus the exact sums of the current and the previous bucket of
 * flush-interval F (60 s). A ring lives in its series' record (the
 * worker, the upstream, the coin's stats), so it goes when the record
 * goes: memory is bounded by workers-max and the upstreams, and a series
 * that never had a share has no ring.
 *
 * Nothing here runs per share. Once a second the tick keeps the rings'
 * wall clock (stats_hist_clock) and, once a bucket of F has ended, hands
 * its rows to histdb.cc's writer thread as one batch: the total's, and
 * each coin's and each worker's that did something (a missing row reads
 * as zero). Upstreams are not written: their ids mean nothing to the
 * next run. The flush reads the exact sums, not the samples, and walks
 * the workers once: this is what holds the event loop
 * (sluice_history_flush_seconds{part="loop"}, and in CPU time
 * {part="loop_cpu"}).
 *
 * An answer (history_query) is a dense run of buckets of step seconds
 * up to the last whole sample. Memory is authoritative from the seam on
 * (history_seam): the first F boundary that the rings still hold and
 * that this run saw whole; the database answers for what lies before.
 * Each F bucket thus comes from exactly one place, so the merge neither
 * counts twice nor leaves a gap; rows before the seam were handed to the
 * writer minutes before. Step 10 is answered from memory alone.
 *
 * The database (struct history_db): opening, open, failed, or none when
 * history is off. A failure (open, write or read) is logged once with
 * its reason and counted; history goes on in memory, "persisted": false,
 * until a reload opens the file again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coins.h"
#include "config.h"
#include "history.h"
#include "stats.h"
#include "upstream.h"
#include "workers.h"

#define HISTORY_PRUNE_EVERY	3600	/* s between prunes */
#define HISTORY_TIME_MAX	100000000000LL	/* Unix s, year 5138 */

enum history_db {
	HDB_NONE,		/* no database: history off */
	HDB_OPENING,		/* the writer is opening it */
	HDB_OPEN,
	HDB_FAILED		/* until a reload */
};

static struct {
	int		 on;
	int		 sample;	/* S, seconds */
	int		 flush;		/* F, seconds */
	int64_t		 flushed;	/* F buckets below this one are done */
	int64_t		 since;		/* first F boundary sampled whole */
	time_t		 pruned;	/* monotonic s of the last prune */

	enum history_db	 db;
	uint32_t	 epoch;		/* of the current open */
	char		*file;		/* the database's, while not NONE */
	int		 days;
	int		 reader;	/* histdb's reader is open */

	struct history_metrics m;
} hist;

static int64_t	 history_ns(clockid_t);
static int64_t	 history_floor(int64_t, int64_t);
static const char *history_db_text(enum history_db);
static void	 history_clock(void);
static void	 history_row(struct history_batch *, enum history_kind,
		     const char *, const struct stats_hist *, int64_t, int);
static void	 history_flush_bucket(int64_t);
static int	 history_flush_to(int64_t);
static void	 history_on(const struct config *);
static void	 history_off(void);
static void	 history_db_open(const struct config *);
static void	 history_db_fail(const char *);
static void	 history_poll(void);
static int	 history_ring(enum history_kind, const char *,
		     const struct stats_hist **);
static int	 history_reader(char *, size_t);
static int	 history_namecmp(const void *, const void *);

/* Nanoseconds on a clock (monotonic, or the thread's CPU time). */
static int64_t
history_ns(clockid_t clock)
{
	struct timespec	 ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* a / b rounded down (b > 0), for times before the epoch too. */
static int64_t
history_floor(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Name of a database state, for the log. */
static const char *
history_db_text(enum history_db db)
{
	switch (db) {
	case HDB_NONE:
		return "none";
	case HDB_OPENING:
		return "opening";
	case HDB_OPEN:
		return "open";
	case HDB_FAILED:
		return "failed";
	}
	return "?";
}

/* Name of a kind, as the database stores it. */
const char *
history_kind_text(enum history_kind k)
{
	switch (k) {
	case HISTORY_TOTAL:
		return "total";
	case HISTORY_COIN:
		return "coin";
	case HISTORY_WORKER:
		return "worker";
	case HISTORY_UPSTREAM:
		return "upstream";
	case HISTORY_NKINDS:
		break;
	}
	return "?";
}

/* Is step one the API offers? */
int
history_step_ok(int step)
{
	return step == 10 || step == 60 || step == 300 || step == 3600;
}

/*
 * Add rows into n dense buckets of step seconds from start: a row goes
 * to the bucket its ts falls in, if lo <= ts < hi (its source answers
 * for that span) and the bucket is one of the n.
 */
void
history_fill(struct history_point *out, size_t n, int64_t start, int step,
    const struct history_point *rows, size_t nrows, int64_t lo, int64_t hi)
{
	struct history_point	*b;
	int64_t			 i;
	size_t			 k;

	for (k = 0; k < nrows; k++) {
		if (rows[k].ts < lo || rows[k].ts >= hi || rows[k].ts < start)
			continue;
		i = (rows[k].ts - start) / step;
		if (i >= (int64_t)n)
			continue;
		b = &out[i];
		b->hashes += rows[k].hashes;
		b->accepted += rows[k].accepted;
		b->rejected += rows[k].rejected;
		b->invalid += rows[k].invalid;
	}
}

/*
 * Hashes per second of a bucket of step seconds: its hashes over the
 * time it covers, which ends at hi for the newest, still filling.
 */
double
history_rate(const struct history_point *p, int step, int64_t hi)
{
	int64_t	 covered = step;

	if (p->ts + step > hi)
		covered = hi - p->ts;
	if (covered < 1)
		covered = 1;
	return (double)p->hashes / (double)covered;
}

/*
 * The seam: memory answers for F buckets from here on, the database for
 * those before. The rings hold the whole samples next - n .. next - 1;
 * the seam is the first F boundary at or after the oldest, and not
 * before since (the first F boundary this run sampled whole).
 */
int64_t
history_seam(int64_t since, int64_t next, unsigned n, int sample, int flush)
{
	int64_t	 lo = (next - (int64_t)n) * sample;

	lo = history_floor(lo + flush - 1, flush) * flush;
	return lo > since ? lo : since;
}

/* Keep the rings on the wall clock: its offset from the stats clock. */
static void
history_clock(void)
{
	stats_hist_clock.offset_ms = sluice_clock_us(CLOCK_REALTIME) / 1000 -
	    stats_clock_ms();
}

/*
 * Add a series' row for F bucket b to a batch: always for the total
 * (always), else only if it did something.
 */
static void
history_row(struct history_batch *batch, enum history_kind kind,
    const char *name, const struct stats_hist *h, int64_t b, int always)
{
	struct stats_hist_sum	 sum;
	struct history_point	 p;

	stats_hist_sum(h, b, &sum);
	if (!always && sum.hashes == 0 && sum.accepted == 0 &&
	    sum.rejected == 0 && sum.invalid == 0)
		return;
	p.ts = b * hist.flush;
	p.hashes = sum.hashes;
	p.accepted = sum.accepted;
	p.rejected = sum.rejected;
	p.invalid = sum.invalid;
	histdb_batch_add(batch, kind, name, &p);
}

/* Hand F bucket b's rows to the writer, as one batch. */
static void
history_flush_bucket(int64_t b)
{
	struct history_batch	 batch;
	struct worker		*w;
	const struct config	*c = sl.conf;
	size_t			 i;

	histdb_batch_init(&batch, 1 + c->ncoins + workers_count());
	history_row(&batch, HISTORY_TOTAL, "", stats_hist_total, b, 1);
	for (i = 0; i < c->ncoins; i++)
		history_row(&batch, HISTORY_COIN, c->coins[i].name,
		    *coins_hist(c->coins[i].name), b, 0);
	for (w = workers_first(); w != NULL; w = workers_next(w)) {
		if (w->hist != NULL)
			history_row(&batch, HISTORY_WORKER, w->name, w->hist, b,
			    0);
	}
	hist.m.last_rows = batch.nrows;
	if (histdb_write(&batch) != 0) {
		hist.m.rows_dropped += batch.nrows;
		log_debug("history: the writer is behind; %zu rows of %lld "
		    "dropped", batch.nrows, (long long)(b * hist.flush));
		histdb_batch_free(&batch);
	}
}

/*
 * Flush the F buckets before end to the writer while there is a
 * database to take them (memory keeps the rest). Returns how many
 * buckets were done.
 */
static int
history_flush_to(int64_t end)
{
	int	 n = 0;

	if (hist.flushed < end)
		hist.m.last_rows = 0;
	for (; hist.flushed < end; hist.flushed++, n++) {
		if (hist.db == HDB_OPENING || hist.db == HDB_OPEN)
			history_flush_bucket(hist.flushed);
	}
	return n;
}

/* Start the rings with c's intervals, and open c's database. */
static void
history_on(const struct config *c)
{
	int64_t	 now = time(NULL);

	hist.sample = c->history.sample_interval;
	hist.flush = c->history.flush_interval;
	hist.flushed = history_floor(now, hist.flush);
	hist.since = (hist.flushed + 1) * hist.flush;
	hist.pruned = sl.now;
	hist.on = 1;
	stats_hist_clock.sample_ms = hist.sample * 1000;
	stats_hist_clock.flush_ms = hist.flush * 1000;
	history_clock();
	histdb_start();
	history_db_open(c);
	log_info("type=history status=start file=%s days=%d sample=%d "
	    "flush=%d", log_word(c->history.file), c->history.days,
	    hist.sample, hist.flush);
}

/*
 * Stop: every bucket not yet flushed goes to the writer, the current one
 * too, partial (a later run adds to its row; only what was counted in
 * the current tick's second is lost), then the writer drains and closes.
 * The rings go, so a later start begins clean.
 */
static void
history_off(void)
{
	struct worker	*w;
	struct upstream	*u;
	size_t		 i;

	if (!hist.on)
		return;
	history_flush_to(history_floor(time(NULL), hist.flush) +
	    1);
	histdb_reader_close();
	hist.reader = 0;
	histdb_close();
	histdb_stop();
	history_poll();
	stats_hist_clock.sample_ms = 0;
	stats_hist_free(&stats_hist_total);
	for (i = 0; i < sl.conf->ncoins; i++)
		stats_hist_free(coins_hist(sl.conf->coins[i].name));
	for (u = upstream_first(); u != NULL; u = upstream_next(u))
		stats_hist_free(&u->ustats.hist);
	for (w = workers_first(); w != NULL; w = workers_next(w))
		stats_hist_free(&w->hist);
	hist.db = HDB_NONE;
	free(hist.file);
	hist.file = NULL;
	hist.on = 0;
}

/* Ask the writer to open c's database (and prune it). */
static void
history_db_open(const struct config *c)
{
	if (hist.reader)
		histdb_reader_close();
	hist.reader = 0;
	free(hist.file);
	hist.file = xstrdup(c->history.file);
	hist.days = c->history.days;
	hist.epoch++;
	hist.db = HDB_OPENING;
	histdb_open(hist.file, time(NULL) -
	    (int64_t)hist.days * 86400, hist.epoch);
	hist.pruned = sl.now;
}

/* The database failed: say so once, count it, go on in memory. */
static void
history_db_fail(const char *reason)
{
	char	 buf[512];

	if (hist.db == HDB_FAILED || hist.db == HDB_NONE)
		return;
	hist.db = HDB_FAILED;
	sl_stats.history_errors++;
	if (hist.reader)
		histdb_reader_close();
	hist.reader = 0;
	histdb_close();
	log_warnx("type=history status=off file=%s reason=\"%s\"",
	    log_word(hist.file), log_escape(buf, sizeof buf, reason, 1));
}

/* Read what the writer reports: an open done or failed, a prune. */
static void
history_poll(void)
{
	struct histdb_report	 r;

	histdb_poll(&r);
	if (r.rows != hist.m.rows)
		log_debug("type=history status=written rows=%llu total=%llu "
		    "write_ms=%.3f", (unsigned long long)r.last_rows,
		    (unsigned long long)r.rows, r.write_last * 1000);
	hist.m.write_last = r.write_last;
	hist.m.write_max = r.write_max;
	hist.m.rows = r.rows;
	if (r.epoch != hist.epoch)
		return;		/* about a file closed since */
	if (r.failed) {
		history_db_fail(r.reason);
		return;
	}
	if (r.opened && hist.db == HDB_OPENING) {
		hist.db = HDB_OPEN;
		log_info("type=history status=on file=%s days=%d",
		    log_word(hist.file), hist.days);
	}
	if (r.prunes > 0)
		log_debug("type=history status=pruned rows=%llu file=%s",
		    (unsigned long long)r.pruned, log_word(hist.file));
}

/* Start: the rings fill from now, the database opens; unless off. */
void
history_start(void)
{
	if (sl.conf->history.enabled)
		history_on(sl.conf);
}

/*
 * A reload: on or off; a new file, or a failed one, is opened (again);
 * new days prune at once. The intervals stay until a restart.
 */
void
history_reload(const struct config *old, const struct config *nc)
{
	(void)old;
	if (!nc->history.enabled) {
		if (hist.on)
			log_info("type=history status=stop");
		history_off();
		return;
	}
	if (!hist.on) {
		history_on(nc);
		return;
	}
	if (nc->history.sample_interval != hist.sample ||
	    nc->history.flush_interval != hist.flush)
		log_warnx("reload: history.sample-interval and "
		    "history.flush-interval cannot change at runtime; still "
		    "%d and %d", hist.sample, hist.flush);
	if (hist.db == HDB_FAILED || hist.file == NULL ||
	    strcmp(hist.file, nc->history.file) != 0) {
		histdb_close();
		history_db_open(nc);
	} else if (nc->history.days != hist.days) {
		hist.days = nc->history.days;
		histdb_prune(time(NULL) -
		    (int64_t)hist.days * 86400);
		hist.pruned = sl.now;
	}
}

/*
 * Once a second: the rings' clock, the buckets that ended to the writer
 * (the time this takes is the flush's cost to the event loop), the
 * hourly prune.
 */
void
history_tick(void)
{
	int64_t	 t0, c0, now;
	double	 secs, cpu;

	if (!hist.on)
		return;
	history_poll();
	history_clock();
	now = time(NULL);
	t0 = history_ns(CLOCK_MONOTONIC);
	c0 = history_ns(CLOCK_THREAD_CPUTIME_ID);
	if (history_flush_to(history_floor(now, hist.flush)) > 0) {
		secs = (double)(history_ns(CLOCK_MONOTONIC) - t0) / 1e9;
		cpu = (double)(history_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / 1e9;
		if (hist.m.last_rows > 0) {
			hist.m.flushes++;
			hist.m.loop_last = secs;
			hist.m.cpu_last = cpu;
			if (secs > hist.m.loop_max)
				hist.m.loop_max = secs;
			if (cpu > hist.m.cpu_max)
				hist.m.cpu_max = cpu;
			if (hist.m.last_rows > hist.m.max_rows)
				hist.m.max_rows = hist.m.last_rows;
		}
		log_debug("type=history status=flushed rows=%llu loop_ms=%.3f "
		    "cpu_ms=%.3f db=%s", (unsigned long long)hist.m.last_rows,
		    secs * 1000, cpu * 1000, history_db_text(hist.db));
	}
	if ((hist.db == HDB_OPEN || hist.db == HDB_OPENING) &&
	    sl.now - hist.pruned >= HISTORY_PRUNE_EVERY) {
		hist.pruned = sl.now;
		histdb_prune(now - (int64_t)hist.days * 86400);
	}
}

/* Shutdown: the last buckets to the database, then close it. */
void
history_stop(void)
{
	history_off();
}

/* Is the database in use? */
int
history_persisted(void)
{
	return hist.on && hist.db == HDB_OPEN;
}

/* The flush figures and counts, for /metrics. */
void
history_metrics(struct history_metrics *m)
{
	*m = hist.m;
	m->series = stats_hist_count();
	m->persisted = history_persisted();
}

/*
 * The ring of a series in memory: 1 with *h (NULL if it has had no
 * share yet) if the series' record is there (the total, a configured
 * coin, an upstream, a worker), else 0.
 */
static int
history_ring(enum history_kind kind, const char *name,
    const struct stats_hist **h)
{
	struct worker	*w;
	struct upstream	*u;
	char		*ep;
	uint64_t	 id;

	*h = NULL;
	switch (kind) {
	case HISTORY_TOTAL:
		*h = stats_hist_total;
		return 1;
	case HISTORY_COIN:
		if (config_coin(sl.conf, name) == NULL)
			return 0;
		*h = *coins_hist(name);
		return 1;
	case HISTORY_WORKER:
		for (w = workers_first(); w != NULL; w = workers_next(w)) {
			if (strcmp(w->name, name) == 0) {
				*h = w->hist;
				return 1;
			}
		}
		return 0;
	case HISTORY_UPSTREAM:
		errno = 0;
		id = strtoull(name, &ep, 10);
		if (*ep != '\0' || errno != 0 ||
		    (u = upstream_by_id(id)) == NULL)
			return 0;
		*h = u->ustats.hist;
		return 1;
	case HISTORY_NKINDS:
		break;
	}
	return 0;
}

/* Open the loop's reading connection if it is not; -1 on failure. */
static int
history_reader(char *why, size_t len)
{
	if (hist.db != HDB_OPEN)
		return -1;
	if (hist.reader)
		return 0;
	if (histdb_reader_open(hist.file, why, len) != 0) {
		history_db_fail(why);
		return -1;
	}
	hist.reader = 1;
	return 0;
}

/* Free an answer's arrays. */
void
history_answer_free(struct history_answer *a)
{
	free(a->points);
	free(a->rates);
	a->points = NULL;
	a->rates = NULL;
	a->npoints = 0;
}

/*
 * Answer q: 0 with a filled in, or HISTORY_E_* with why. The buckets run
 * from the step below from to to, but not into the sample still
 * filling; memory fills those from the seam on, the database the rest.
 */
int
history_query(const struct history_query *q, struct history_answer *a,
    char *why, size_t len)
{
	const struct stats_hist	*h;
	struct stats_hist_slot	 x;
	struct history_point	 p;
	int64_t			 now, cur, to, from, end, seam, k, mem_hi;
	int64_t			 span;
	size_t			 n, i;
	int			 step = q->step, r = 0, live, indb = 0;

	memset(a, 0, sizeof *a);
	if (!hist.on) {
		snprintf(why, len, "history is off (\"history\": false)");
		return HISTORY_E_OFF;
	}
	history_poll();
	now = time(NULL);
	cur = history_floor(now, hist.sample);
	mem_hi = cur * hist.sample;
	span = (int64_t)(STATS_HIST_SLOTS - 1) * hist.sample;

	/* The last hour; with step 10, what memory holds. */
	to = q->to >= 0 ? q->to : now;
	from = q->from >= 0 ? q->from : to - (step == 10 ? span : 3600);
	if (from < 0)
		from = 0;
	if (to > HISTORY_TIME_MAX || from > HISTORY_TIME_MAX) {
		snprintf(why, len, "from and to are Unix seconds, at most %lld",
		    (long long)HISTORY_TIME_MAX);
		return HISTORY_E_BAD;
	}
	if (to <= from) {
		snprintf(why, len, "from (%lld) must be before to (%lld)",
		    (long long)from, (long long)to);
		return HISTORY_E_BAD;
	}
	/* By range: 10 s within what memory holds, else minutes. */
	if (step == 0)
		step = to - from <= span && from >= mem_hi - span ? 10 : 60;
	if (!history_step_ok(step)) {
		snprintf(why, len, "step: expected 10, 60, 300 or 3600");
		return HISTORY_E_BAD;
	}
	if (step == 10 && from < mem_hi - span) {
		snprintf(why, len, "step 10 covers the last %lld seconds only "
		    "(memory); use 60 or more", (long long)span);
		return HISTORY_E_BAD;
	}
	a->from = history_floor(from, step) * step;
	n = (size_t)((to - a->from + step - 1) / step);
	if (n > HISTORY_MAX_POINTS) {
		snprintf(why, len, "%zu points of %d s: more than %d; use a "
		    "larger step or a shorter range", n, step,
		    HISTORY_MAX_POINTS);
		return HISTORY_E_BAD;
	}

	live = history_ring(q->kind, q->name, &h);
	a->persisted = q->kind != HISTORY_UPSTREAM && history_persisted();
	if (a->persisted && !live) {
		if (history_reader(why, len) == 0 &&
		    (r = histdb_exists(q->kind, q->name, why, len)) < 0)
			history_db_fail(why);
		else
			indb = hist.reader && r > 0;
		a->persisted = history_persisted();
	}
	if (!live && !indb) {
		snprintf(why, len, "no history for %s %s",
		    history_kind_text(q->kind), q->name);
		return HISTORY_E_UNKNOWN;
	}

	/* Not into the sample still filling. */
	end = to < mem_hi ? to : mem_hi;
	n = end > a->from ? (size_t)((end - a->from + step - 1) / step) : 0;
	a->step = step;
	a->to = to;
	a->npoints = n;
	a->points = XCALLOC(struct history_point, n + 1);
	a->rates = XCALLOC(double, n + 1);
	for (i = 0; i < n; i++)
		a->points[i].ts = a->from + (int64_t)i * step;

	seam = step == 10 ? INT64_MIN : history_seam(hist.since, cur,
	    STATS_HIST_SLOTS - 1, hist.sample, hist.flush);
	if (n > 0 && a->persisted && step != 10 && a->from < seam) {
		r = history_reader(why, len);
		if (r == 0)
			r = histdb_read(q->kind, q->name, a->from,
			    seam < end ? seam : end, step, a->points, n, why,
			    len);
		if (r == -1)
			history_db_fail(why);
		if (r != 0)
			a->persisted = 0;
	}
	if (live && h != NULL && n > 0) {
		k = history_floor(a->from, hist.sample);
		if (k < cur - (STATS_HIST_SLOTS - 1))
			k = cur - (STATS_HIST_SLOTS - 1);
		for (; k < cur; k++) {
			if (!stats_hist_get(h, k, &x))
				continue;
			p.ts = k * hist.sample;
			p.hashes = (uint64_t)x.hashes;
			p.accepted = x.accepted;
			p.rejected = x.rejected;
			p.invalid = x.invalid;
			history_fill(a->points, n, a->from, step, &p, 1, seam,
			    INT64_MAX);
		}
	}
	for (i = 0; i < n; i++)
		a->rates[i] = history_rate(&a->points[i], step, mem_hi);
	return 0;
}

/* Compare two names, for qsort. */
static int
history_namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names of the workers with history, in memory (a ring) or in the
 * database, sorted, each once: 0 with *names (free each, then the
 * array), or HISTORY_E_OFF.
 */
int
history_workers(char ***names, size_t *n, int *persisted)
{
	struct worker	*w;
	char		**v, **db = NULL, why[256];
	size_t		 nv = 0, ndb = 0, i, j;

	*names = NULL;
	*n = 0;
	*persisted = 0;
	if (!hist.on)
		return HISTORY_E_OFF;
	history_poll();
	if (history_persisted() && history_reader(why, sizeof why) == 0 &&
	    histdb_names(HISTORY_WORKER, &db, &ndb, why, sizeof why) != 0)
		history_db_fail(why);
	*persisted = history_persisted();
	v = XCALLOC(char *, workers_count() + ndb + 1);
	for (w = workers_first(); w != NULL; w = workers_next(w)) {
		if (w->hist != NULL)
			v[nv++] = xstrdup(w->name);
	}
	for (i = 0; i < ndb; i++)
		v[nv++] = db[i];
	free(db);
	qsort(v, nv, sizeof v[0], history_namecmp);
	for (i = j = 0; i < nv; i++) {
		if (j > 0 && strcmp(v[j - 1], v[i]) == 0)
			free(v[i]);
		else
			v[j++] = v[i];
	}
	*names = v;
	*n = j;
	return 0;
}
