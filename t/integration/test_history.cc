/*
 * test_history.cc: the hashrate history through the real daemon, with
 * history.sample-interval 1 and history.flush-interval 2 so a test sees
 * samples and flushes in seconds: points accumulate from shares in every
 * series, the SQLite rows appear after a flush, a restart reads them
 * back and adds to them without counting twice, pruning drops rows
 * older than days (at open and on a reload), a read-only, corrupt or
 * unopenable database is survived with one warning and persisted:false
 * until a reload fixes it, the API's errors and its token rules.
 *
 * Waits are on the daemon's lines: "type=history status=flushed" (each
 * flush-interval, database or not), "status=written" (a batch
 * committed), "status=pruned", "status=on" and "status=off".
 */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/fs.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

#define WAIT_MS		5000
#define FAST		"\"sample-interval\":1,\"flush-interval\":2"
#define TOKEN		"hist-token"

TestSuite(history, .timeout = 90);

/* A proxy with the API on and one fake pool logged in. */
struct rig {
	int		 bind;
	int		 http;
	struct tlisten	*tl;
	struct proxy	*p;
	struct tconn	*pc;
	char		*conf;
};

/* A logged-in fake miner. */
struct fm {
	struct tconn	*c;
	char		 session[64];
	char		 job_id[64];
	int		 slot;
};

/* The file the read-only test made immutable, for its fini. */
static char	 ro_path[512];

/* The config: nicehash, workers by rig id, the API; history as given. */
static char *
rig_config(struct rig *rg, const char *history, const char *extra)
{
	char	*s;

	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"WALLET\","
	    "\"pass\":\"x\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"watch\":false,\"workers\":\"rig_id\","
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d},"
	    "\"history\":%s%s%s}\n", rg->bind, rg->tl->port, rg->http, history,
	    extra != NULL ? "," : "", extra != NULL ? extra : "") != -1);
	return s;
}

/* Start a pool and the proxy on history, and log the proxy in. */
static void
rig_start(struct rig *rg, const char *history, const char *extra)
{
	memset(rg, 0, sizeof *rg);
	rg->bind = free_port();
	rg->http = free_port();
	rg->tl = tl_listen(0);
	rg->conf = rig_config(rg, history, extra);
	rg->p = proxy_start(rg->conf);
	rg->pc = pool_bring_up(rg->tl, rg->p);
}

/* Stop the proxy: it must exit cleanly. Its folder stays. */
static void
rig_halt(struct rig *rg)
{
	proxy_stop_clean(rg->p);
	tc_close(rg->pc);
	rg->pc = NULL;
	tl_close(rg->tl);
	rg->tl = NULL;
}

/* Free what rig_start made (after rig_halt). */
static void
rig_free(struct rig *rg)
{
	proxy_free(rg->p);
	free(rg->conf);
}

/* Log a miner in as WALLET with rig id rigid. */
static void
fm_login(struct rig *rg, struct fm *m, const char *rigid)
{
	json_t	*r;

	memset(m, 0, sizeof *m);
	m->c = tc_connect(rg->bind);
	r = miner_login(m->c, "WALLET", "x", rigid, WAIT_MS);
	if (r == NULL || !json_is_null(json_object_get(r, "error")))
		proxy_dump_log(rg->p);
	cr_assert(r != NULL, "no login reply");
	cr_assert(json_is_null(json_object_get(r, "error")), "login: %s",
	    jtext(r));
	snprintf(m->session, sizeof m->session, "%s", jstr(r, "result.id"));
	snprintf(m->job_id, sizeof m->job_id, "%s",
	    jstr(r, "result.job.job_id"));
	m->slot = blob_slot(jstr(r, "result.job.blob"));
	json_decref(r);
}

/* Send a share of difficulty diff with nonce n. */
static void
fm_send(struct fm *m, int id, uint32_t n, uint64_t diff)
{
	char	 nonce[9], result[65];

	snprintf(nonce, sizeof nonce, "%06x%02x", n & 0xffffff, m->slot);
	make_result(result, diff);
	tc_send(m->c, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"%s\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", id, m->session,
	    m->job_id, nonce, result);
}

/*
 * A share the pool answers (error NULL: OK); the miner's reply must
 * carry an error exactly when want_error.
 */
static void
fm_share(struct rig *rg, struct fm *m, int id, uint32_t n, const char *error)
{
	json_t		*s, *r;
	json_int_t	 pid;

	fm_send(m, id, n, 20000);
	s = tc_recv(rg->pc, WAIT_MS);
	cr_assert(s != NULL, "the pool received no submit");
	pid = json_integer_value(json_object_get(s, "id"));
	json_decref(s);
	if (error == NULL)
		tc_send(rg->pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\","
		    "\"error\":null,\"result\":{\"status\":\"OK\"}}",
		    (long long)pid);
	else
		tc_send(rg->pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":"
		    "{\"code\":-1,\"message\":\"%s\"},\"result\":null}",
		    (long long)pid, error);
	r = tc_recv_reply(m->c, id, WAIT_MS);
	cr_assert(r != NULL, "share %d unanswered", id);
	cr_assert_eq(json_is_null(json_object_get(r, "error")), error == NULL,
	    "share %d: %s", id, jtext(r));
	json_decref(r);
}

/* A share under the job's difficulty: invalid, never sent to the pool. */
static void
fm_share_low(struct rig *rg, struct fm *m, int id, uint32_t n)
{
	json_t	*r;

	fm_send(m, id, n, 10);
	r = tc_recv_reply(m->c, id, WAIT_MS);
	if (r == NULL)
		proxy_dump_log(rg->p);
	cr_assert(r != NULL, "share %d unanswered", id);
	cr_assert(!json_is_null(json_object_get(r, "error")),
	    "a low share was accepted: %s", jtext(r));
	json_decref(r);
}

/* GET path with an optional Bearer token. */
static struct hresp *
hreq(struct rig *rg, const char *method, const char *path, const char *token)
{
	struct hresp	*r;
	char		*hdr = NULL;

	if (token != NULL)
		cr_assert(asprintf(&hdr, "Authorization: Bearer %s\r\n",
		    token) != -1);
	r = http_request(rg->http, method, path, hdr, NULL);
	free(hdr);
	return r;
}

/* GET a JSON page that must answer 200. */
static json_t *
hget(struct rig *rg, const char *path)
{
	return hresp_json(hreq(rg, "GET", path, NULL), path, rg->p);
}

/* The status of GET path; its body must be {"error": "..."}. */
static int
herr(struct rig *rg, const char *method, const char *path, const char *token)
{
	struct hresp	*r = hreq(rg, method, path, token);
	json_t		*j;
	int		 status = r->status;

	j = json_loads(r->body, 0, NULL);
	cr_assert(j != NULL && json_is_string(json_object_get(j, "error")),
	    "%s %s: %d, not {\"error\": ...}: %s", method, path, status,
	    r->body);
	cr_assert(strstr(r->head, "Content-Type: application/json") != NULL,
	    "%s %s:\n%s", method, path, r->head);
	json_decref(j);
	hresp_free(r);
	return status;
}

/* Sum of column col (1 hashrate, 2 accepted ...) of an answer's points. */
static double
psum(json_t *j, int col)
{
	json_t	*pts = json_object_get(j, "points"), *pt;
	double	 sum = 0;
	size_t	 i;

	cr_assert(json_is_array(pts), "no points: %s", jtext(j));
	json_array_foreach(pts, i, pt) {
		cr_assert(json_is_array(pt) && json_array_size(pt) == 5,
		    "bad point in %s", jtext(j));
		sum += json_number_value(json_array_get(pt, col));
	}
	return sum;
}

/*
 * GET path until its points' accepted add up to want, waiting for a
 * flush between tries; the last answer.
 */
static json_t *
hwait(struct rig *rg, const char *path, double want)
{
	json_t	*j;
	int	 tries;

	for (tries = 0;; tries++) {
		j = hget(rg, path);
		if (psum(j, 2) == want)
			return j;
		if (tries == 8) {
			proxy_dump_log(rg->p);
			cr_assert_fail("GET %s: accepted %g, want %g: %s", path,
			    psum(j, 2), want, jtext(j));
		}
		json_decref(j);
		cr_assert(proxy_wait_log(rg->p, "type=history status=flushed",
		    WAIT_MS), "no flush");
	}
}

/* Open a database file from the test. */
static sqlite3 *
db_open(const char *path)
{
	sqlite3	*db = NULL;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK, "open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* The integer the query sql answers (0 without a row). */
static long long
db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	long long	 v = 0;
	int		 rc;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	cr_assert(rc == SQLITE_ROW || rc == SQLITE_DONE, "%s: %s", sql,
	    sqlite3_errmsg(db));
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The text the query sql answers, in a static buffer ("" without). */
static const char *
db_text(sqlite3 *db, const char *sql)
{
	static char	 buf[256];
	sqlite3_stmt	*st;
	const char	*t;

	cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(db));
	buf[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (t = (const char *)sqlite3_column_text(st, 0)) != NULL)
		snprintf(buf, sizeof buf, "%s", t);
	sqlite3_finalize(st);
	return buf;
}

/* Run SQL that answers nothing. */
static void
db_exec(sqlite3 *db, const char *sql)
{
	char	*err = NULL;

	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK,
	    "%s: %s", sql, err != NULL ? err : "?");
}

/* Accepted shares of a worker in the database. */
static long long
db_accepted(sqlite3 *db, const char *worker)
{
	char		*sql;
	long long	 v;

	cr_assert(asprintf(&sql, "SELECT coalesce(sum(accepted), 0) FROM "
	    "points WHERE series_id = (SELECT id FROM series WHERE "
	    "kind = 'worker' AND name = '%s')", worker) != -1);
	v = db_int(db, sql);
	free(sql);
	return v;
}

/* Wait for batches to be committed until the worker has want accepted. */
static void
db_wait_accepted(struct rig *rg, const char *path, const char *worker,
    long long want)
{
	sqlite3		*db;
	long long	 got = -1;
	int		 tries;

	for (tries = 0; tries < 8; tries++) {
		cr_assert(proxy_wait_log(rg->p, "type=history status=written",
		    WAIT_MS), "no batch written");
		db = db_open(path);
		got = db_accepted(db, worker);
		sqlite3_close(db);
		if (got == want)
			return;
	}
	proxy_dump_log(rg->p);
	cr_assert_fail("%s: %lld accepted in the database, want %lld", worker,
	    got, want);
}

/* The history file in a proxy's folder. */
static char *
db_path(struct proxy *p)
{
	char	*s;

	cr_assert(asprintf(&s, "%s/history.db", p->dir) != -1);
	return s;
}

/* A "history" object for file with the fast intervals and days. */
static char *
hist_json(const char *file, int days)
{
	char	*s;

	cr_assert(asprintf(&s, "{\"file\":\"%s\",\"days\":%d," FAST "}", file,
	    days) != -1);
	return s;
}

/* A value of /metrics. */
static double
metric(struct rig *rg, const char *sample)
{
	struct hresp	*r = hreq(rg, "GET", "/metrics", NULL);
	const char	*p;
	size_t		 len = strlen(sample);
	double		 v = -1;

	cr_assert_eq(r->status, 200);
	for (p = r->body; p != NULL && *p != '\0';
	    p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, sample, len) == 0 && p[len] == ' ') {
			v = strtod(p + len + 1, NULL);
			break;
		}
	}
	hresp_free(r);
	cr_assert(v >= 0, "no %s in /metrics", sample);
	return v;
}

/*
 * Shares of every kind show in the worker's, the coin's, the upstream's
 * and the total's points: accepted, rejected by the pool, invalid, and a
 * hashrate from the accepted difficulty.
 */
Test(history, points_accumulate)
{
	struct rig	 rg;
	struct fm	 m;
	json_t		*j, *u;
	char		 path[128];
	long long	 up;

	rig_start(&rg, "{\"file\":\"history.db\"," FAST "}", NULL);
	cr_assert(proxy_wait_log(rg.p, "type=history status=on", WAIT_MS));
	fm_login(&rg, &m, "rig1");
	fm_share(&rg, &m, 11, 1, NULL);
	fm_share(&rg, &m, 12, 2, NULL);
	fm_share(&rg, &m, 13, 3, NULL);
	fm_share(&rg, &m, 14, 4, "Low difficulty share");
	fm_share_low(&rg, &m, 15, 5);

	j = hwait(&rg, "/1/history?worker=rig1&step=10", 3);
	cr_assert_str_eq(jstr(j, "worker"), "rig1");
	cr_assert(json_is_null(jget(j, "coin")), "%s", jtext(j));
	cr_assert_eq(json_integer_value(jget(j, "step")), 10);
	cr_assert(json_is_true(jget(j, "persisted")), "%s", jtext(j));
	cr_assert(psum(j, 1) > 0, "no hashrate: %s", jtext(j));
	/*
	 * 3 shares of 10000 in 10 s buckets: 3000 H/s over the buckets, more
	 * if the newest, still filling, holds some.
	 */
	cr_assert(psum(j, 1) >= 3000.0, "%s", jtext(j));
	cr_assert_eq(psum(j, 3), 1, "rejected: %s", jtext(j));
	cr_assert_eq(psum(j, 4), 1, "invalid: %s", jtext(j));
	/* Memory holds 30 samples: 30 s at sample-interval 1. */
	cr_assert(json_array_size(jget(j, "points")) >= 3 &&
	    json_array_size(jget(j, "points")) <= 4, "%s", jtext(j));
	json_decref(j);

	j = hwait(&rg, "/1/history?step=10", 3);
	cr_assert(json_is_null(jget(j, "worker")), "%s", jtext(j));
	cr_assert_eq(psum(j, 3), 1);
	cr_assert_eq(psum(j, 4), 1);
	json_decref(j);
	j = hwait(&rg, "/1/history?coin=default&step=10", 3);
	cr_assert_str_eq(jstr(j, "coin"), "default");
	json_decref(j);

	j = hget(&rg, "/1/upstreams");
	u = json_array_get(jget(j, "upstreams"), 0);
	up = json_integer_value(json_object_get(u, "id"));
	json_decref(j);
	snprintf(path, sizeof path, "/1/history?upstream=%lld&step=10", up);
	j = hwait(&rg, path, 3);
	cr_assert(json_is_false(jget(j, "persisted")),
	    "an upstream's series is in memory only: %s", jtext(j));
	cr_assert_eq(json_integer_value(jget(j, "upstream")), up);
	json_decref(j);

	/* The default: the last hour by minutes; memory answers. */
	j = hwait(&rg, "/1/history?worker=rig1", 3);
	cr_assert_eq(json_integer_value(jget(j, "step")), 60);
	cr_assert(json_array_size(jget(j, "points")) >= 60 &&
	    json_array_size(jget(j, "points")) <= 61, "%s", jtext(j));
	json_decref(j);

	j = hget(&rg, "/1/history/workers");
	cr_assert_eq(json_array_size(jget(j, "workers")), 1, "%s", jtext(j));
	cr_assert_str_eq(json_string_value(json_array_get(jget(j, "workers"),
	    0)), "rig1");
	json_decref(j);
	cr_assert(metric(&rg, "sluice_history_persisted") == 1);
	cr_assert(metric(&rg, "sluice_history_errors_total") == 0);

	tc_close(m.c);
	rig_halt(&rg);
	rig_free(&rg);
}

/*
 * The rows reach the database after a flush; a new daemon on the same
 * file answers with them, persisted, and adds its own shares to the same
 * series: the sum is exact, however the flushes fall around the seam.
 */
Test(history, rows_flush_and_restart)
{
	struct rig	 rg, rg2;
	struct fm	 m;
	json_t		*j;
	char		*file, *hj, *wal;
	sqlite3		*db;
	int		 i;

	rig_start(&rg, "{\"file\":\"history.db\"," FAST "}", NULL);
	file = db_path(rg.p);
	cr_assert(proxy_wait_log(rg.p, "type=history status=on", WAIT_MS));
	fm_login(&rg, &m, "rig1");
	fm_share(&rg, &m, 11, 1, NULL);
	fm_share(&rg, &m, 12, 2, NULL);
	fm_share(&rg, &m, 13, 3, NULL);
	db_wait_accepted(&rg, file, "rig1", 3);
	db = db_open(file);
	cr_assert_str_eq(db_text(db, "PRAGMA journal_mode"), "wal");
	cr_assert_eq(db_int(db, "SELECT count(*) FROM series WHERE "
	    "kind = 'total'"), 1);
	cr_assert(db_int(db, "SELECT count(*) FROM points WHERE series_id = "
	    "(SELECT id FROM series WHERE kind = 'total')") >= 1);
	cr_assert_eq(db_int(db, "SELECT sum(hashes) FROM points WHERE "
	    "series_id = (SELECT id FROM series WHERE kind = 'worker' AND "
	    "name = 'rig1')"), 30000);
	cr_assert_eq(db_int(db, "SELECT count(*) FROM points WHERE ts % 2 "
	    "<> 0"), 0, "rows are flush-interval buckets");
	sqlite3_close(db);
	tc_close(m.c);
	rig_halt(&rg);
	/* Closed at the stop: the WAL went with the last connection. */
	cr_assert(asprintf(&wal, "%s-wal", file) != -1);
	cr_assert(access(wal, F_OK) != 0, "%s is left", wal);
	free(wal);

	hj = hist_json(file, 30);
	rig_start(&rg2, hj, NULL);
	cr_assert(proxy_wait_log(rg2.p, "type=history status=on", WAIT_MS));
	j = hget(&rg2, "/1/history?worker=rig1");
	cr_assert(json_is_true(jget(j, "persisted")), "%s", jtext(j));
	cr_assert_eq(psum(j, 2), 3, "old points after a restart: %s",
	    jtext(j));
	cr_assert(psum(j, 1) >= 500, "%s", jtext(j));
	json_decref(j);
	j = hget(&rg2, "/1/history?step=300");
	cr_assert_eq(psum(j, 2), 3, "the total, by 5 minutes: %s", jtext(j));
	json_decref(j);
	j = hget(&rg2, "/1/history/workers");
	cr_assert_str_eq(json_string_value(json_array_get(jget(j, "workers"),
	    0)), "rig1", "%s", jtext(j));
	json_decref(j);

	/* The same worker on the new daemon: old and new add up. */
	fm_login(&rg2, &m, "rig1");
	fm_share(&rg2, &m, 21, 11, NULL);
	fm_share(&rg2, &m, 22, 12, NULL);
	json_decref(hwait(&rg2, "/1/history?worker=rig1", 5));
	db_wait_accepted(&rg2, file, "rig1", 5);
	for (i = 0; i < 2; i++) {
		cr_assert(proxy_wait_log(rg2.p, "type=history status=written",
		    WAIT_MS));
		j = hget(&rg2, "/1/history?worker=rig1&step=3600");
		cr_assert_eq(psum(j, 2), 5, "counted twice or lost: %s",
		    jtext(j));
		json_decref(j);
	}
	tc_close(m.c);
	rig_halt(&rg2);
	rig_free(&rg2);
	rig_free(&rg);
	free(hj);
	free(file);
}

/*
 * Rows older than days go when the database opens, and again when a
 * reload shortens days; a worker left without rows goes from the list.
 */
Test(history, prune_old_rows)
{
	struct rig	 rg, rg2;
	json_t		*j;
	char		*file, *hj, *sql, path[160];
	sqlite3		*db;
	long long	 now = (long long)time(NULL), day = 86400;

	rig_start(&rg, "{\"file\":\"history.db\"," FAST "}", NULL);
	file = db_path(rg.p);
	cr_assert(proxy_wait_log(rg.p, "type=history status=on", WAIT_MS));
	rig_halt(&rg);

	db = db_open(file);
	db_exec(db, "INSERT INTO series (kind, name) VALUES "
	    "('worker', 'old-rig'), ('worker', 'recent-rig')");
	cr_assert(asprintf(&sql, "INSERT INTO points VALUES "
	    "((SELECT id FROM series WHERE name = 'old-rig'), %lld, 600, 1, 0, 0),"
	    "((SELECT id FROM series WHERE kind = 'total'), %lld, 600, 1, 0, 0),"
	    "((SELECT id FROM series WHERE name = 'recent-rig'), %lld, 6000, 7, "
	    "1, 0),"
	    "((SELECT id FROM series WHERE name = 'recent-rig'), %lld, 600, 2, "
	    "0, 0)", (now - 40 * day) / 60 * 60, (now - 40 * day) / 60 * 60,
	    (now - day) / 60 * 60, (now - 20 * day) / 60 * 60) != -1);
	db_exec(db, sql);
	free(sql);
	sqlite3_close(db);

	hj = hist_json(file, 30);
	rig_start(&rg2, hj, NULL);
	free(hj);
	cr_assert(proxy_wait_log(rg2.p, "type=history status=pruned rows=2 ",
	    WAIT_MS), "the two rows of 40 days ago were not pruned");
	db = db_open(file);
	cr_assert(asprintf(&sql, "SELECT count(*) FROM points WHERE ts < %lld",
	    now - 30 * day) != -1);
	cr_assert_eq(db_int(db, sql), 0);
	free(sql);
	cr_assert_eq(db_int(db, "SELECT count(*) FROM series WHERE "
	    "name = 'old-rig'"), 0, "a series without rows stayed");
	cr_assert_eq(db_int(db, "SELECT count(*) FROM points WHERE series_id "
	    "= (SELECT id FROM series WHERE name = 'recent-rig')"), 2);
	sqlite3_close(db);

	j = hget(&rg2, "/1/history/workers");
	cr_assert_eq(json_array_size(jget(j, "workers")), 1, "%s", jtext(j));
	cr_assert_str_eq(json_string_value(json_array_get(jget(j, "workers"),
	    0)), "recent-rig");
	json_decref(j);
	cr_assert_eq(herr(&rg2, "GET", "/1/history?worker=old-rig", NULL),
	    404);
	/* Hourly buckets from the database: the rig's day-old row. */
	snprintf(path, sizeof path, "/1/history?worker=recent-rig&from=%lld"
	    "&step=3600", now - 2 * day);
	j = hget(&rg2, path);
	cr_assert(json_is_true(jget(j, "persisted")));
	cr_assert_eq(psum(j, 2), 7, "%s", jtext(j));
	cr_assert_eq(psum(j, 3), 1, "%s", jtext(j));
	cr_assert(json_array_size(jget(j, "points")) == 48 ||
	    json_array_size(jget(j, "points")) == 49, "%s", jtext(j));
	json_decref(j);

	/* A reload to 10 days prunes the row of 20 days ago. */
	hj = hist_json(file, 10);
	free(rg2.conf);
	rg2.conf = rig_config(&rg2, hj, NULL);
	free(hj);
	proxy_write_config(rg2.p, rg2.conf);
	proxy_signal(rg2.p, SIGHUP);
	cr_assert(proxy_wait_log(rg2.p, "type=history status=pruned rows=1 ",
	    WAIT_MS), "days 10 on reload pruned nothing");
	db = db_open(file);
	cr_assert_eq(db_int(db, "SELECT count(*) FROM points WHERE series_id "
	    "= (SELECT id FROM series WHERE name = 'recent-rig')"), 1);
	sqlite3_close(db);

	rig_halt(&rg2);
	rig_free(&rg2);
	rig_free(&rg);
	free(file);
}

/* Set or clear a file's immutable flag (as root). */
static void
ro_immutable(const char *path, int on)
{
	int	 fd, flags;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0,
	    "FS_IOC_GETFLAGS %s: %s (as root, a read-only file needs the "
	    "immutable flag)", path, strerror(errno));
	flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
	cr_assert_eq(ioctl(fd, FS_IOC_SETFLAGS, &flags), 0,
	    "FS_IOC_SETFLAGS %s: %s (as root, a read-only file needs the "
	    "immutable flag)", path, strerror(errno));
	close(fd);
}

/*
 * Make a file read-only, or writable again: mode 0444, and for root,
 * whom modes do not stop, the immutable flag too.
 */
static void
ro_set(const char *path, int on)
{
	if (!on && geteuid() == 0)
		ro_immutable(path, 0);
	cr_assert_eq(chmod(path, on ? 0444 : 0644), 0, "chmod %s: %s", path,
	    strerror(errno));
	if (on && geteuid() == 0)
		ro_immutable(path, 1);
}

/* The read-only test's file is made writable whatever happened. */
static void
ro_fini(void)
{
	int	 fd, flags;

	if (ro_path[0] == '\0' || geteuid() != 0)
		return;
	if ((fd = open(ro_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
		flags &= ~FS_IMMUTABLE_FL;
		ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
}

/*
 * A read-only database: one warning naming the file and the reason, the
 * error counted, proxying and the history in memory go on with
 * persisted:false; a reload once the file is writable opens it.
 */
Test(history, readonly_file, .fini = ro_fini)
{
	struct rig	 rg, rg2;
	struct fm	 m;
	json_t		*j;
	char		*file, *hj, *want;

	rig_start(&rg, "{\"file\":\"history.db\"," FAST "}", NULL);
	file = db_path(rg.p);
	cr_assert(proxy_wait_log(rg.p, "type=history status=on", WAIT_MS));
	rig_halt(&rg);
	snprintf(ro_path, sizeof ro_path, "%s", file);
	ro_set(file, 1);

	hj = hist_json(file, 30);
	rig_start(&rg2, hj, NULL);
	free(hj);
	cr_assert(asprintf(&want, "type=history status=off file=%s "
	    "reason=\"the file is read-only\"", file) != -1);
	cr_assert(proxy_wait_log(rg2.p, want, WAIT_MS), "no warning: %s",
	    want);
	free(want);
	fm_login(&rg2, &m, "rig1");
	fm_share(&rg2, &m, 11, 1, NULL);
	j = hwait(&rg2, "/1/history?worker=rig1&step=10", 1);
	cr_assert(json_is_false(jget(j, "persisted")), "%s", jtext(j));
	json_decref(j);
	j = hget(&rg2, "/1/history/workers");
	cr_assert(json_is_false(jget(j, "persisted")), "%s", jtext(j));
	json_decref(j);
	cr_assert(metric(&rg2, "sluice_history_errors_total") == 1);
	cr_assert(metric(&rg2, "sluice_history_persisted") == 0);
	cr_assert_eq(proxy_log_count(rg2.p, "type=history status=off"), 1);

	/* Writable again: a reload opens it. */
	ro_set(file, 0);
	ro_path[0] = '\0';
	proxy_signal(rg2.p, SIGHUP);
	cr_assert(proxy_wait_log(rg2.p, "type=history status=on", WAIT_MS),
	    "the reload did not open the database");
	j = hget(&rg2, "/1/history?worker=rig1&step=10");
	cr_assert(json_is_true(jget(j, "persisted")), "%s", jtext(j));
	cr_assert_eq(psum(j, 2), 1, "%s", jtext(j));
	json_decref(j);
	cr_assert(metric(&rg2, "sluice_history_errors_total") == 1);

	tc_close(m.c);
	rig_halt(&rg2);
	rig_free(&rg2);
	rig_free(&rg);
	free(file);
}

/*
 * A database that cannot be opened, and a file that is not a database:
 * the warning, persisted:false, and the proxy goes on.
 */
Test(history, corrupt_and_unopenable)
{
	struct rig	 rg, rg2;
	struct fm	 m;
	json_t		*j;
	char		*file, *hj, *want, junk[8192];
	FILE		*f;

	rig_start(&rg, "{\"file\":\"/nonexistent-sluice-test/h.db\"," FAST
	    "}", NULL);
	cr_assert(proxy_wait_log(rg.p, "type=history status=off "
	    "file=/nonexistent-sluice-test/h.db reason=\"unable to open "
	    "database file: No such file or directory\"", WAIT_MS));
	j = hget(&rg, "/1/history");
	cr_assert(json_is_false(jget(j, "persisted")), "%s", jtext(j));
	json_decref(j);
	rig_halt(&rg);

	file = db_path(rg.p);
	memset(junk, 'x', sizeof junk);
	memcpy(junk, "this is not an SQLite database\n", 31);
	f = fopen(file, "w");
	cr_assert(f != NULL, "%s: %s", file, strerror(errno));
	cr_assert_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
	fclose(f);
	hj = hist_json(file, 30);
	rig_start(&rg2, hj, NULL);
	free(hj);
	cr_assert(asprintf(&want, "type=history status=off file=%s "
	    "reason=\"file is not a database\"", file) != -1);
	cr_assert(proxy_wait_log(rg2.p, want, WAIT_MS), "no warning: %s",
	    want);
	free(want);
	fm_login(&rg2, &m, "rig1");
	fm_share(&rg2, &m, 11, 1, NULL);
	j = hwait(&rg2, "/1/history?worker=rig1&step=10", 1);
	cr_assert(json_is_false(jget(j, "persisted")), "%s", jtext(j));
	json_decref(j);
	cr_assert(metric(&rg2, "sluice_history_errors_total") == 1);
	tc_close(m.c);
	rig_halt(&rg2);
	rig_free(&rg2);
	rig_free(&rg);
	free(file);
}

/* Bad parameters are 400, unknown series 404, as every endpoint errs. */
Test(history, bad_parameters)
{
	struct rig	 rg;
	json_t		*j;
	char		 path[160];
	long long	 now = (long long)time(NULL);

	rig_start(&rg, "{\"file\":\"history.db\"," FAST "}", NULL);
	cr_assert(proxy_wait_log(rg.p, "type=history status=on", WAIT_MS));
	cr_assert_eq(herr(&rg, "GET", "/1/history?step=7", NULL), 400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?step=", NULL), 400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?from=abc", NULL), 400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?from=-5", NULL), 400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?to=99999999999999999999",
	    NULL), 400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?from=200&to=100", NULL),
	    400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?color=red", NULL), 400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?worker=a&coin=default",
	    NULL), 400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?worker=a&worker=b", NULL),
	    400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?worker=", NULL), 400);
	cr_assert_eq(herr(&rg, "GET", "/1/history?upstream=abc", NULL), 400);
	/* Step 10 is memory's: the last five minutes. */
	snprintf(path, sizeof path, "/1/history?step=10&from=%lld",
	    now - 3600);
	cr_assert_eq(herr(&rg, "GET", path, NULL), 400);
	/* At most 10000 points. */
	cr_assert_eq(herr(&rg, "GET", "/1/history?from=0&step=60", NULL), 400);
	snprintf(path, sizeof path, "/1/history?from=%lld&step=3600",
	    now - 400 * 86400);
	j = hget(&rg, path);
	cr_assert(json_array_size(jget(j, "points")) == 9600 ||
	    json_array_size(jget(j, "points")) == 9601, "%s", jtext(j));
	json_decref(j);
	cr_assert_eq(herr(&rg, "GET", "/1/history/workers?x=1", NULL), 400);

	cr_assert_eq(herr(&rg, "GET", "/1/history?worker=nobody", NULL), 404);
	cr_assert_eq(herr(&rg, "GET", "/1/history?coin=nocoin", NULL), 404);
	cr_assert_eq(herr(&rg, "GET", "/1/history?upstream=999", NULL), 404);
	/* Restricted (the default): GET only. */
	cr_assert_eq(herr(&rg, "POST", "/1/history", NULL), 403);
	rig_halt(&rg);
	rig_free(&rg);
}

/* With an access token, /1/history needs it; "history": false is 404. */
Test(history, token_and_off)
{
	struct rig	 rg;
	struct hresp	*r;
	char		 path[512];

	memset(&rg, 0, sizeof rg);
	rg.bind = free_port();
	rg.http = free_port();
	rg.tl = tl_listen(0);
	cr_assert(asprintf(&rg.conf, "{\"bind\":[{\"host\":\"127.0.0.1\","
	    "\"port\":%d}],\"pools\":[{\"url\":\"127.0.0.1:%d\"}],"
	    "\"watch\":false,\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\","
	    "\"port\":%d,\"access-token\":\"" TOKEN "\",\"restricted\":false},"
	    "\"history\":{\"file\":\"history.db\"," FAST "}}", rg.bind,
	    rg.tl->port, rg.http) != -1);
	rg.p = proxy_start(rg.conf);
	cr_assert(proxy_wait_log(rg.p, "type=history status=on", WAIT_MS));
	cr_assert_eq(herr(&rg, "GET", "/1/history", NULL), 401);
	cr_assert_eq(herr(&rg, "GET", "/1/history/workers", "wrong"), 403);
	cr_assert_eq(herr(&rg, "POST", "/1/history", TOKEN), 405);
	r = hreq(&rg, "GET", "/1/history/workers", TOKEN);
	cr_assert_eq(r->status, 200, "%s", r->body);
	hresp_free(r);
	r = hreq(&rg, "GET", "/1/history", TOKEN);
	cr_assert_eq(r->status, 200, "%s", r->body);
	hresp_free(r);
	rig_halt(&rg);
	rig_free(&rg);

	memset(&rg, 0, sizeof rg);
	rg.bind = free_port();
	rg.http = free_port();
	rg.tl = tl_listen(0);
	rg.conf = rig_config(&rg, "false", NULL);
	rg.p = proxy_start(rg.conf);
	cr_assert_eq(herr(&rg, "GET", "/1/history", NULL), 404);
	cr_assert_eq(herr(&rg, "GET", "/1/history/workers", NULL), 404);
	snprintf(path, sizeof path, "%s/history.db", rg.p->dir);
	cr_assert(access(path, F_OK) != 0, "history false made a database");
	rig_halt(&rg);
	rig_free(&rg);
}
