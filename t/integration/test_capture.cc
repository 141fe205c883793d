/*
 * test_capture.cc: the capture of stratum lines through the real daemon:
 * a login, a job, a submit and its result appear once on each leg with
 * the right direction, session and bytes; a line that is not JSON and a
 * line over the limit are kept with their parse_error; the limits hold
 * with 100,000 lines through a ring of 1,000; passwords are masked (and
 * shown with capture.show-passwords); the live feed (SSE) delivers a
 * share within a second, and a reader that stops reading is cut off
 * with its memory bounded; narrowing to one miner keeps that miner only;
 * the NDJSON file and its reopen on SIGUSR1; the API's rules.
 *
 * Waits are on sockets, the daemon's log ("type=capture_stream
 * status=cutoff") and the API's answers, never on sleeps.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000
#define TOKEN		"cap-token"
#define AUTH		"Authorization: Bearer " TOKEN "\r\n"
#define POOL_PASS	"pool-secret-pw"
#define MINER_PASS	"miner-secret-pw"

TestSuite(capture, .timeout = 120);

/* A proxy with the API (token, unrestricted) and one fake pool up. */
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
	long long	 id;		/* /1/miners' id */
};

/* Start a pool and the proxy with capture as given, and log it in. */
static void
rig_start(struct rig *rg, const char *capture, const char *http_extra)
{
	memset(rg, 0, sizeof *rg);
	rg->bind = free_port();
	rg->http = free_port();
	rg->tl = tl_listen(0);
	cr_assert(asprintf(&rg->conf, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"WALLET\","
	    "\"pass\":\"" POOL_PASS "\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"watch\":false,\"workers\":\"rig_id\",\"history\":false,"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d%s},"
	    "\"capture\":%s}\n", rg->bind, rg->tl->port, rg->http,
	    http_extra != NULL ? http_extra : ",\"access-token\":\"" TOKEN
	    "\",\"restricted\":false", capture) != -1);
	rg->p = proxy_start(rg->conf);
	rg->pc = pool_bring_up(rg->tl, rg->p);
}

/* Stop the proxy (it must exit cleanly) and free the rig. */
static void
rig_stop(struct rig *rg)
{
	proxy_stop_clean(rg->p);
	tc_close(rg->pc);
	tl_close(rg->tl);
	proxy_free(rg->p);
	free(rg->conf);
}

/* An API request with the token; the answer's body as JSON if 200. */
static json_t *
api(struct rig *rg, const char *method, const char *path, const char *body,
    int want)
{
	struct hresp	*r;
	json_t		*j = NULL;
	json_error_t	 err;

	r = http_request(rg->http, method, path, AUTH, body);
	cr_assert_eq(r->status, want, "%s %s: %d %s", method, path, r->status,
	    r->body);
	if (want == 200) {
		j = json_loadb(r->body, r->bodylen, 0, &err);
		cr_assert(j != NULL, "%s %s: not JSON: %s", method, path,
		    r->body);
	}
	hresp_free(r);
	return j;
}

/* The /1/miners id of the miner with this rig id. */
static long long
miner_id(struct rig *rg, const char *rigid)
{
	json_t		*j, *row;
	size_t		 i;
	long long	 id = -1;

	j = api(rg, "GET", "/1/miners", NULL, 200);
	json_array_foreach(json_object_get(j, "miners"), i, row) {
		if (json_is_string(json_array_get(row, 8)) &&
		    strcmp(json_string_value(json_array_get(row, 8)),
		    rigid) == 0)
			id = json_integer_value(json_array_get(row, 0));
	}
	json_decref(j);
	cr_assert(id >= 0, "no miner %s in /1/miners", rigid);
	return id;
}

/* Log a miner in as WALLET with rig id rigid. */
static void
fm_login(struct rig *rg, struct fm *m, const char *rigid)
{
	json_t	*r;

	memset(m, 0, sizeof *m);
	m->c = tc_connect(rg->bind);
	r = miner_login(m->c, "WALLET", MINER_PASS, rigid, WAIT_MS);
	cr_assert(r != NULL, "no login reply");
	cr_assert(json_is_null(json_object_get(r, "error")), "login: %s",
	    jtext(r));
	snprintf(m->session, sizeof m->session, "%s", jstr(r, "result.id"));
	snprintf(m->job_id, sizeof m->job_id, "%s",
	    jstr(r, "result.job.job_id"));
	m->slot = blob_slot(jstr(r, "result.job.blob"));
	json_decref(r);
	m->id = miner_id(rg, rigid);
}

/* The exact submit line of share id with nonce n (no newline). */
static char *
fm_submit_line(struct fm *m, int id, uint32_t n)
{
	char	 nonce[9], result[65], *s;

	snprintf(nonce, sizeof nonce, "%06x%02x", n & 0xffffff, m->slot);
	make_result(result, 20000);
	cr_assert(asprintf(&s, "{\"id\":%d,\"jsonrpc\":\"2.0\","
	    "\"method\":\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":\"%s\","
	    "\"nonce\":\"%s\",\"result\":\"%s\",\"algo\":\"rx/0\"}}", id,
	    m->session, m->job_id, nonce, result) != -1);
	return s;
}

/* A share the pool accepts; returns the exact line the miner sent. */
static char *
fm_share(struct rig *rg, struct fm *m, int id, uint32_t n)
{
	json_t		*s, *r;
	json_int_t	 pid;
	char		*line = fm_submit_line(m, id, n);

	tc_send(m->c, "%s", line);
	s = tc_recv(rg->pc, WAIT_MS);
	cr_assert(s != NULL, "the pool received no submit");
	pid = json_integer_value(json_object_get(s, "id"));
	json_decref(s);
	tc_send(rg->pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}", (long long)pid);
	r = tc_recv_reply(m->c, id, WAIT_MS);
	cr_assert(r != NULL, "share %d unanswered", id);
	cr_assert(json_is_null(json_object_get(r, "error")), "share %d: %s",
	    id, jtext(r));
	json_decref(r);
	return line;
}

/* Every record held, oldest first (GET /1/capture, paged by next). */
static json_t *
all_records(struct rig *rg, const char *session)
{
	json_t		*all = json_array(), *j, *recs;
	long long	 since = 0, next;
	char		 path[160];

	for (;;) {
		snprintf(path, sizeof path, "/1/capture?since=%lld&limit=10000"
		    "%s%s", since, session != NULL ? "&session=" : "",
		    session != NULL ? session : "");
		j = api(rg, "GET", path, NULL, 200);
		recs = json_object_get(j, "records");
		cr_assert(json_is_array(recs));
		next = json_integer_value(json_object_get(j, "next"));
		json_array_extend(all, recs);
		json_decref(j);
		if (next == since)
			break;
		since = next;
	}
	return all;
}

/* How many records have this direction and session, and method/id. */
static int
count(json_t *recs, const char *dir, const char *session,
    const char *method, json_t **last)
{
	json_t		*r, *m;
	size_t		 i;
	int		 n = 0;

	json_array_foreach(recs, i, r) {
		if (strcmp(jstr(r, "direction"), dir) != 0 ||
		    (session != NULL && strcmp(jstr(r, "session"),
		    session) != 0))
			continue;
		m = jget(r, "decoded.method");
		if (method != NULL && (m == NULL || !json_is_string(m) ||
		    strcmp(json_string_value(m), method) != 0))
			continue;
		n++;
		if (last != NULL)
			*last = r;
	}
	return n;
}

/* Records whose raw contains s. */
static int
count_raw(json_t *recs, const char *dir, const char *s, json_t **last)
{
	json_t	*r;
	size_t	 i;
	int	 n = 0;

	json_array_foreach(recs, i, r) {
		if ((dir == NULL || strcmp(jstr(r, "direction"), dir) == 0) &&
		    strstr(jstr(r, "raw"), s) != NULL) {
			n++;
			if (last != NULL)
				*last = r;
		}
	}
	return n;
}

/* The id of the only upstream, as /1/upstreams gives it. */
static long long
upstream_id(struct rig *rg)
{
	json_t		*j;
	long long	 id;

	j = api(rg, "GET", "/1/upstreams", NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(j, "upstreams")), 1);
	id = json_integer_value(jget(json_array_get(json_object_get(j,
	    "upstreams"), 0), "id"));
	json_decref(j);
	return id;
}

Test(capture, legs)
{
	struct rig	 rg;
	struct fm	 m;
	struct tjob	 job;
	json_t		*recs, *r = NULL, *j;
	char		 ms[64], us[64], *line;
	long long	 ts_recv, ts_fwd;

	rig_start(&rg, "{\"enabled\":true}", NULL);
	fm_login(&rg, &m, "rig-a");
	line = fm_share(&rg, &m, 7, 1);
	/* A new job, which the miner gets. */
	tjob_default(&job, "job2");
	pool_send_job(rg.pc, &job);
	j = tc_recv(m.c, WAIT_MS);
	cr_assert(j != NULL && strcmp(jstr(j, "method"), "job") == 0);
	json_decref(j);

	snprintf(ms, sizeof ms, "miner:%lld", m.id);
	snprintf(us, sizeof us, "upstream:%lld", upstream_id(&rg));
	recs = all_records(&rg, NULL);

	/* The login on all four legs. */
	cr_assert_eq(count(recs, "proxy_to_pool", us, "login", &r), 1,
	    "%s", json_dumps(recs, 0));
	cr_assert_str_eq(jstr(r, "user"), "WALLET");
	cr_assert_str_eq(jstr(r, "decoded.params.pass"), "********");
	cr_assert_eq(count_raw(recs, "pool_to_proxy", "pool-session-1", &r),
	    1);
	cr_assert_str_eq(jstr(r, "session"), us);
	cr_assert_eq(count(recs, "miner_to_proxy", ms, "login", &r), 1);
	cr_assert_str_eq(jstr(r, "decoded.params.pass"), "********");
	cr_assert(strncmp(jstr(r, "peer"), "127.0.0.1:", 10) == 0);
	cr_assert_eq(count_raw(recs, "proxy_to_miner", "\"result\":{\"id\":",
	    &r), 1, "%s", json_dumps(recs, 0));
	cr_assert_str_eq(jstr(r, "decoded.result.id"), m.session);
	cr_assert_eq(count_raw(recs, NULL, MINER_PASS, NULL), 0);
	cr_assert_eq(count_raw(recs, NULL, POOL_PASS, NULL), 0);

	/* The submit, byte for byte, and where it went. */
	cr_assert_eq(count(recs, "miner_to_proxy", ms, "submit", &r), 1);
	cr_assert_str_eq(jstr(r, "raw"), line);
	cr_assert_eq(json_integer_value(json_object_get(r, "size_bytes")),
	    (json_int_t)strlen(line));
	cr_assert(json_is_false(json_object_get(r, "raw_base64")));
	cr_assert(json_is_null(json_object_get(r, "parse_error")));
	cr_assert_str_eq(jstr(r, "user"), "WALLET");
	ts_recv = json_integer_value(json_object_get(r, "ts_recv"));
	ts_fwd = json_integer_value(json_object_get(r, "ts_fwd"));
	cr_assert(ts_fwd >= ts_recv && ts_recv > 1600000000000000LL,
	    "ts_recv %lld ts_fwd %lld", ts_recv, ts_fwd);
	cr_assert_eq(count(recs, "proxy_to_pool", us, "submit", NULL), 1);

	/* Its result, both ways. */
	cr_assert_eq(count_raw(recs, "pool_to_proxy",
	    "\"result\":{\"status\":\"OK\"}", &r), 1);
	cr_assert(json_is_integer(json_object_get(r, "ts_fwd")),
	    "the result's ts_fwd: %s", json_dumps(r, 0));
	cr_assert_eq(count_raw(recs, "proxy_to_miner", "\"id\":7,", &r), 1);
	cr_assert_str_eq(jstr(r, "session"), ms);

	/* The job, once from the pool and once to the miner. */
	cr_assert_eq(count_raw(recs, "pool_to_proxy", "job2", NULL), 1);
	cr_assert_eq(count_raw(recs, "proxy_to_miner", "job2", NULL), 1);

	/* One session's records only. */
	json_decref(recs);
	recs = all_records(&rg, ms);
	cr_assert_gt(json_array_size(recs), 3);
	cr_assert_eq(count(recs, "miner_to_proxy", ms, NULL, NULL) +
	    count(recs, "proxy_to_miner", ms, NULL, NULL),
	    (int)json_array_size(recs));
	json_decref(recs);
	free(line);
	tc_close(m.c);
	rig_stop(&rg);
}

Test(capture, refused_lines)
{
	struct rig	 rg;
	struct tconn	*c;
	json_t		*recs, *r = NULL;
	char		*big;
	size_t		 n = 20000;

	rig_start(&rg, "{\"enabled\":true}", NULL);
	c = tc_connect(rg.bind);
	tc_send(c, "hello, not json");
	cr_assert(tc_wait_closed(c, WAIT_MS), "a non-JSON login stays open");
	tc_close(c);
	c = tc_connect(rg.bind);
	big = (char *)malloc(n + 2);
	memset(big, 'x', n);
	memcpy(big, "{\"id\":1,", 8);
	big[n] = '\n';
	tc_send_raw(c, big, n + 1);
	cr_assert(tc_wait_closed(c, WAIT_MS), "an over-long line stays open");
	tc_close(c);

	recs = all_records(&rg, NULL);
	cr_assert_eq(count_raw(recs, "miner_to_proxy", "hello, not json", &r),
	    1);
	cr_assert(json_is_null(json_object_get(r, "decoded")));
	cr_assert(json_is_string(json_object_get(r, "parse_error")),
	    "%s", json_dumps(r, 0));
	cr_assert_eq(count_raw(recs, "miner_to_proxy", "{\"id\":1,xxx", &r),
	    1);
	cr_assert_str_eq(jstr(r, "parse_error"), "line too long");
	cr_assert_eq(json_integer_value(json_object_get(r, "size_bytes")),
	    (json_int_t)n);
	cr_assert_eq(strlen(jstr(r, "raw")), 4096);
	cr_assert(json_is_null(json_object_get(r, "decoded")));
	json_decref(recs);

	/* The pool side: an over-long line, then (next session) not JSON. */
	memcpy(big, "{\"id\":2,", 8);
	tc_send_raw(rg.pc, big, n + 1);
	cr_assert(tc_wait_closed(rg.pc, WAIT_MS), "the pool stays connected");
	tc_close(rg.pc);
	rg.pc = tl_accept(rg.tl, WAIT_MS);
	cr_assert(rg.pc != NULL, "no reconnection to the pool");
	json_decref(pool_expect_login(rg.pc, WAIT_MS));
	tc_send(rg.pc, "pool garbage");
	cr_assert(tc_wait_closed(rg.pc, WAIT_MS), "the pool stays connected");
	recs = all_records(&rg, NULL);
	cr_assert_eq(count_raw(recs, "pool_to_proxy", "{\"id\":2,xxx", &r),
	    1);
	cr_assert_str_eq(jstr(r, "parse_error"), "line too long");
	cr_assert_eq(json_integer_value(json_object_get(r, "size_bytes")),
	    (json_int_t)n);
	cr_assert(strncmp(jstr(r, "session"), "upstream:", 9) == 0);
	cr_assert_eq(count_raw(recs, "pool_to_proxy", "pool garbage", &r), 1);
	cr_assert(json_is_string(json_object_get(r, "parse_error")));
	json_decref(recs);
	free(big);
	rig_stop(&rg);
}

/* Send n keepalives on c and read their n answers. */
static void
keepalives(struct tconn *c, const char *session, int from, int n)
{
	char	*buf, *p;
	int	 i;
	size_t	 cap = (size_t)n * 128;

	buf = (char *)malloc(cap);
	p = buf;
	for (i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - buf), "{\"id\":%d,"
		    "\"method\":\"keepalived\",\"params\":{\"id\":\"%s\"}}\n",
		    from + i, session);
	cr_assert(tc_send_raw(c, buf, (size_t)(p - buf)));
	free(buf);
	for (i = 0; i < n; i++) {
		p = tc_recv_line(c, WAIT_MS);
		cr_assert(p != NULL, "keepalive %d unanswered", from + i);
		free(p);
	}
}

Test(capture, limits)
{
	struct rig	 rg;
	struct fm	 m;
	struct hresp	*h;
	json_t		*j, *st;
	char		*extra;
	int		 i, dport;

	dport = free_port();
	/* The capture key comes last: the debug endpoint after it. */
	cr_assert(asprintf(&extra, "{\"enabled\":true,\"messages\":1000},"
	    "\"debug\":{\"enabled\":true,\"host\":\"127.0.0.1\","
	    "\"port\":%d}", dport) != -1);
	rig_start(&rg, extra, NULL);
	fm_login(&rg, &m, "rig-a");
	/* 50,000 keepalives and their answers: 100,000 lines. */
	for (i = 0; i < 50; i++)
		keepalives(m.c, m.session, 100 + i * 1000, 1000);
	/* /debug/memory shows the ring as it is. */
	h = http_request(dport, "GET", "/debug/memory", NULL, NULL);
	cr_assert_eq(h->status, 200, "%d %s", h->status, h->body);
	j = json_loads(h->body, 0, NULL);
	cr_assert_eq(json_integer_value(jget(j, "capture.records")), 1000,
	    "%s", h->body);
	cr_assert_gt(json_integer_value(jget(j, "capture.bytes")), 8000);
	json_decref(j);
	hresp_free(h);
	free(extra);
	j = api(&rg, "GET", "/1/capture?limit=10000", NULL, 200);
	st = json_object_get(j, "state");
	cr_assert_eq(json_integer_value(json_object_get(st, "records")), 1000);
	cr_assert_eq(json_array_size(json_object_get(j, "records")), 1000);
	cr_assert_geq(json_integer_value(json_object_get(st, "last")),
	    100000);
	cr_assert_eq(json_integer_value(json_object_get(st, "first")),
	    json_integer_value(json_object_get(st, "last")) - 999);
	cr_assert_geq(json_integer_value(json_object_get(st, "dropped")),
	    99000);
	cr_assert_leq(json_integer_value(json_object_get(st, "bytes")),
	    16777216);
	json_decref(j);
	/* The byte limit holds too: 64 KiB for many more records. */
	json_decref(api(&rg, "DELETE", "/1/capture", NULL, 200));
	tc_close(m.c);
	rig_stop(&rg);

	rig_start(&rg, "{\"enabled\":true,\"messages\":100000,"
	    "\"max-bytes\":65536}", NULL);
	fm_login(&rg, &m, "rig-a");
	keepalives(m.c, m.session, 100, 2000);
	j = api(&rg, "GET", "/1/capture?limit=1", NULL, 200);
	st = json_object_get(j, "state");
	cr_assert_leq(json_integer_value(json_object_get(st, "bytes")), 65536);
	cr_assert_lt(json_integer_value(json_object_get(st, "records")), 4000);
	cr_assert_gt(json_integer_value(json_object_get(st, "records")), 100);
	cr_assert_geq(json_integer_value(json_object_get(st, "last")), 4000);
	json_decref(j);
	tc_close(m.c);
	rig_stop(&rg);
}

Test(capture, show_passwords)
{
	struct rig	 rg;
	struct fm	 m;
	json_t		*recs;

	rig_start(&rg, "{\"enabled\":true,\"show-passwords\":true}", NULL);
	fm_login(&rg, &m, "rig-a");
	recs = all_records(&rg, NULL);
	cr_assert_eq(count_raw(recs, "miner_to_proxy", MINER_PASS, NULL), 1);
	cr_assert_eq(count_raw(recs, "proxy_to_pool", POOL_PASS, NULL), 1);
	json_decref(recs);
	tc_close(m.c);
	rig_stop(&rg);
}

Test(capture, narrow_to_one_miner)
{
	struct rig	 rg;
	struct fm	 a, b;
	json_t		*j, *recs, *r;
	char		 body[96], as[64], bs[64], *la, *lb;
	size_t		 i;

	rig_start(&rg, "null", NULL);
	fm_login(&rg, &a, "rig-a");
	fm_login(&rg, &b, "rig-b");
	/* Off: nothing is recorded. */
	free(fm_share(&rg, &a, 5, 1));
	j = api(&rg, "GET", "/1/capture", NULL, 200);
	cr_assert_eq(json_array_size(json_object_get(j, "records")), 0);
	cr_assert(json_is_false(jget(j, "state.enabled")));
	json_decref(j);

	snprintf(body, sizeof body, "{\"miner\":%lld,\"seconds\":60}", a.id);
	j = api(&rg, "POST", "/1/capture", body, 200);
	cr_assert(json_is_true(json_object_get(j, "enabled")));
	cr_assert_eq(json_integer_value(jget(j, "filter.miner")), a.id);
	json_decref(j);
	la = fm_share(&rg, &a, 6, 2);
	lb = fm_share(&rg, &b, 6, 3);

	snprintf(as, sizeof as, "miner:%lld", a.id);
	snprintf(bs, sizeof bs, "miner:%lld", b.id);
	recs = all_records(&rg, NULL);
	json_array_foreach(recs, i, r) {
		cr_assert(strncmp(jstr(r, "session"), "upstream:", 9) == 0 ||
		    strcmp(jstr(r, "session"), as) == 0,
		    "a record of another miner: %s", json_dumps(r, 0));
	}
	cr_assert_eq(count(recs, "miner_to_proxy", as, "submit", &r), 1);
	cr_assert_str_eq(jstr(r, "raw"), la);
	cr_assert_eq(count(recs, "proxy_to_miner", as, NULL, NULL), 1);
	/* A's share went to the pool and came back; B's did not show. */
	cr_assert_eq(count(recs, "proxy_to_pool", NULL, "submit", NULL), 1);
	cr_assert_eq(count_raw(recs, "pool_to_proxy", "OK", NULL), 1);
	cr_assert_eq(count(recs, "miner_to_proxy", bs, NULL, NULL), 0);
	json_decref(recs);

	/* DELETE stops; POST and DELETE need the token. */
	j = api(&rg, "DELETE", "/1/capture", NULL, 200);
	cr_assert(json_is_false(json_object_get(j, "enabled")));
	json_decref(j);
	{
		struct hresp *h = http_request(rg.http, "POST", "/1/capture",
		    NULL, "{}");
		cr_assert_eq(h->status, 401);
		hresp_free(h);
	}
	json_decref(api(&rg, "POST", "/1/capture", "{\"seconds\":0}", 400));
	json_decref(api(&rg, "POST", "/1/capture", "{\"miner\":1,\"ip\":"
	    "\"127.0.0.1\"}", 400));
	json_decref(api(&rg, "GET", "/1/capture?session=pool:1", NULL, 400));
	free(la);
	free(lb);
	tc_close(a.c);
	tc_close(b.c);
	rig_stop(&rg);
}

Test(capture, control_needs_token)
{
	struct rig	 rg;
	struct hresp	*h;

	/* Unrestricted but no token: POST is refused. */
	rig_start(&rg, "null", ",\"restricted\":false");
	h = http_request(rg.http, "POST", "/1/capture", NULL, "{}");
	cr_assert_eq(h->status, 403, "%d %s", h->status, h->body);
	hresp_free(h);
	h = http_request(rg.http, "GET", "/1/capture", NULL, NULL);
	cr_assert_eq(h->status, 200);
	hresp_free(h);
	rig_stop(&rg);
	/* A token but restricted: 403 as well. */
	rig_start(&rg, "null", ",\"access-token\":\"" TOKEN "\"");
	h = http_request(rg.http, "DELETE", "/1/capture", AUTH, NULL);
	cr_assert_eq(h->status, 403, "%d %s", h->status, h->body);
	hresp_free(h);
	rig_stop(&rg);
}

/* Open the live feed on a raw socket (rcvbuf: 0 for the default). */
static int
stream_open(struct rig *rg, int rcvbuf)
{
	struct sockaddr_in	 sa;
	const char		*req = "GET /1/capture/stream HTTP/1.1\r\n"
				    "Host: 127.0.0.1\r\n" AUTH "\r\n";
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1);
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)rg->http);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	cr_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	return fd;
}

/* Read from fd until s has arrived (accumulating in buf); 0 on timeout. */
static int
stream_wait(int fd, char *buf, size_t cap, size_t *len, const char *s,
    int ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	int64_t		 deadline = now_ms() + ms;
	ssize_t		 n;

	for (;;) {
		buf[*len] = '\0';
		if (strstr(buf, s) != NULL)
			return 1;
		if (left_ms(deadline) <= 0 || poll(&pfd, 1,
		    left_ms(deadline)) <= 0)
			return 0;
		if (*len + 1 >= cap) {
			/* Keep the tail: s may straddle it. */
			memmove(buf, buf + cap / 2, *len - cap / 2);
			*len -= cap / 2;
		}
		n = read(fd, buf + *len, cap - *len - 1);
		if (n <= 0)
			return 0;
		*len += (size_t)n;
	}
}

/* The daemon's resident memory, in KiB. */
static long
rss_kb(struct proxy *p)
{
	char	 path[64], line[256];
	long	 kb = -1;
	FILE	*f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)proxy_pid(p));
	f = fopen(path, "r");
	cr_assert(f != NULL, "%s", path);
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	cr_assert(kb > 0);
	return kb;
}

Test(capture, stream)
{
	struct rig	 rg;
	struct fm	 m;
	char		 buf[65536], *line, *junk;
	json_t		*j;
	size_t		 len = 0;
	int		 fd, stall, i;
	int64_t		 t0;
	long		 rss1, rss2;
	char		*asan;

	/*
	 * Under ASan, freed memory sits in a quarantine (256 MiB) and the
	 * RSS would grow with every line: keep it small for this daemon
	 * (this test's process alone; ignored without ASan).
	 */
	cr_assert(asprintf(&asan, "%s%squarantine_size_mb=1",
	    getenv("ASAN_OPTIONS") != NULL ? getenv("ASAN_OPTIONS") : "",
	    getenv("ASAN_OPTIONS") != NULL ? ":" : "") != -1);
	setenv("ASAN_OPTIONS", asan, 1);
	free(asan);
	rig_start(&rg, "{\"enabled\":true,\"max-bytes\":1048576}", NULL);
	fm_login(&rg, &m, "rig-a");
	fd = stream_open(&rg, 0);
	cr_assert(stream_wait(fd, buf, sizeof buf, &len, "sluice capture",
	    WAIT_MS), "no feed: %s", buf);
	cr_assert(strstr(buf, "text/event-stream") != NULL);

	/* A share shows within a second of its submit. */
	line = fm_submit_line(&m, 9, 4);
	t0 = now_ms();
	tc_send(m.c, "%s", line);
	cr_assert(stream_wait(fd, buf, sizeof buf, &len, "\"id\\\":9,",
	    1000), "the share was not in the feed within 1 s: %s", buf);
	cr_assert_lt(now_ms() - t0, 1000);
	cr_assert(strstr(buf, "event: record\ndata: {") != NULL);
	free(line);
	/* The pool answers it (later shares are matched in order). */
	j = tc_recv(rg.pc, WAIT_MS);
	cr_assert(j != NULL, "the pool received no submit");
	tc_send(rg.pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}",
	    (long long)json_integer_value(json_object_get(j, "id")));
	json_decref(j);
	j = tc_recv_reply(m.c, 9, WAIT_MS);
	cr_assert(j != NULL, "share 9 unanswered");
	json_decref(j);

	/* A reader that never reads is cut off; memory stays put. */
	stall = stream_open(&rg, 4096);
	cr_assert(proxy_wait_log(rg.p, "type=capture_stream status=open "
	    "streams=2", WAIT_MS));
	junk = (char *)malloc(16001);
	memset(junk, 'j', 16000);
	junk[16000] = '\0';
	for (i = 0; i < 1000 && proxy_log_count(rg.p,
	    "status=cutoff") == 0; i++) {
		tc_send(m.c, "%s", junk);
		free(tc_recv_line(m.c, WAIT_MS));
		/* The other reader keeps up. */
		len = 0;
		cr_assert(stream_wait(fd, buf, sizeof buf, &len, "Invalid",
		    WAIT_MS));
		proxy_drain(rg.p, 0);
	}
	cr_assert(proxy_wait_log(rg.p, "type=capture_stream status=cutoff",
	    WAIT_MS), "the stalled reader was not cut off");
	rss1 = rss_kb(rg.p);
	for (i = 0; i < 300; i++) {
		tc_send(m.c, "%s", junk);
		free(tc_recv_line(m.c, WAIT_MS));
		len = 0;
		cr_assert(stream_wait(fd, buf, sizeof buf, &len, "Invalid",
		    WAIT_MS));
	}
	rss2 = rss_kb(rg.p);
	cr_assert_lt(rss2 - rss1, 4096, "RSS grew from %ld to %ld KiB", rss1,
	    rss2);
	/* The reader that keeps up is still served. */
	len = 0;
	free(fm_share(&rg, &m, 11, 5));
	cr_assert(stream_wait(fd, buf, sizeof buf, &len, "\"id\\\":11,",
	    WAIT_MS));
	free(junk);
	close(stall);
	close(fd);
	tc_close(m.c);
	rig_stop(&rg);
}

Test(capture, file)
{
	struct rig	 rg;
	struct fm	 m;
	char		 cap[512], moved[512], *s, *text;
	json_t		*j;
	json_error_t	 err;

	/* The file goes in the proxy's folder: write the config twice. */
	rig_start(&rg, "{\"enabled\":true,\"file\":\"capture.ndjson\"}",
	    NULL);
	snprintf(cap, sizeof cap, "%s/capture.ndjson", rg.p->dir);
	snprintf(moved, sizeof moved, "%s/capture.ndjson.1", rg.p->dir);
	fm_login(&rg, &m, "rig-a");
	free(fm_share(&rg, &m, 3, 1));
	/* The tick writes it: wait for the share's record in the file. */
	text = NULL;
	for (int64_t d = now_ms() + WAIT_MS; left_ms(d) > 0;) {
		free(text);
		text = access(cap, R_OK) == 0 ? slurp(cap) : NULL;
		if (text != NULL && strstr(text, "\\\"id\\\":3,") != NULL)
			break;
		proxy_drain(rg.p, 100);
	}
	cr_assert(text != NULL && strstr(text, "\\\"id\\\":3,") != NULL,
	    "no share in %s", cap);
	/* One JSON object per line. */
	for (s = strtok(text, "\n"); s != NULL; s = strtok(NULL, "\n")) {
		j = json_loads(s, 0, &err);
		cr_assert(json_is_object(j), "not a JSON object: %s", s);
		cr_assert(json_is_string(json_object_get(j, "direction")));
		json_decref(j);
	}
	free(text);
	/* SIGUSR1 after a rotation: a new file. */
	cr_assert(rename(cap, moved) == 0);
	proxy_signal(rg.p, SIGUSR1);
	cr_assert(proxy_wait_log(rg.p, "type=reopen", WAIT_MS));
	free(fm_share(&rg, &m, 4, 2));
	text = NULL;
	for (int64_t d = now_ms() + WAIT_MS; left_ms(d) > 0;) {
		free(text);
		text = access(cap, R_OK) == 0 ? slurp(cap) : NULL;
		if (text != NULL && strstr(text, "\\\"id\\\":4,") != NULL)
			break;
		proxy_drain(rg.p, 100);
	}
	cr_assert(text != NULL && strstr(text, "\\\"id\\\":4,") != NULL,
	    "no new file after SIGUSR1");
	free(text);
	tc_close(m.c);
	rig_stop(&rg);
}
