/*
 * test_nicehash.cc: the NiceHash core against a scripted fake pool and fake
 * miners (issue 3): slots at blob byte 42, the submit checks in their
 * documented order, forwarding and the pool's verdict, expired and
 * duplicate shares, custom difficulty, 256 miners per upstream and the
 * upstream cap, dead slots until the next job, the line limit and a table
 * of malformed input the daemon must survive.
 *
 * Every wait is on a socket, a log line or a closed connection; a "the
 * pool saw nothing" check is a short receive that must time out.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define WAIT_MS		5000	/* anything that must happen */
#define QUIET_MS	300	/* something that must not happen */
#define POOL_SESSION	"pool-session-0001"
#define POOL_SESSION2	"pool-session-0002"

TestSuite(nicehash, .timeout = 60);

/* A proxy with one fake pool logged in. */
struct rig {
	int		 bind;
	struct tlisten	*tl;
	struct proxy	*p;
	struct tconn	*pc;	/* the pool side of upstream 0 */
	char		*conf;
};

/* A logged-in fake miner. */
struct fm {
	struct tconn	*c;
	char		 session[64];
	int		 slot;
	char		 job_id[64];
	char		 blob[256];
	char		 target[32];
};





/* The 8-hex target of a difficulty: upper 32 bits of (2^64-1)/diff, LE. */
static void
diff_target(uint64_t diff, char out[9])
{
	uint32_t	t = (uint32_t)((UINT64_MAX / diff) >> 32);

	snprintf(out, 9, "%02x%02x%02x%02x", t & 0xff, (t >> 8) & 0xff,
	    (t >> 16) & 0xff, t >> 24);
}

/* A nonce whose byte 3 (hex chars 6..7) is slot. */
static void
nonce_in(char out[9], int slot, uint32_t n)
{
	snprintf(out, 9, "%06x%02x", n & 0xffffff, slot & 0xff);
}

/* Accept the proxy at the fake pool, check its login, answer with job. */
static struct tconn *
pool_accept_login(struct proxy *p, struct tlisten *tl, const char *session,
    const struct tjob *job)
{
	struct tconn	*pc;
	json_t		*login;
	const char	*agent;

	pc = tl_accept(tl, WAIT_MS);
	if (pc == NULL)
		proxy_dump_log(p);
	cr_assert(pc != NULL, "sluice did not connect to the fake pool");
	login = pool_expect_login(pc, WAIT_MS);
	cr_assert_str_eq(jstr(login, "params.login"), "WALLET",
	    "pool login user: %s", jtext(login));
	cr_assert_str_eq(jstr(login, "params.pass"), "x",
	    "pool login pass: %s", jtext(login));
	agent = jstr(login, "params.agent");
	cr_assert(agent != NULL && strcmp(agent, "sluice/" SLUICE_VERSION) == 0,
	    "pool login agent: %s", jtext(login));
	pool_send_login_ok(pc, login, session, job);
	json_decref(login);
	return pc;
}

/* Start a fake pool and the proxy; log the proxy in with job job_id. */
static void
rig_start(struct rig *r, const char *extra, const char *job_id)
{
	struct tjob	job;

	memset(r, 0, sizeof(*r));
	r->bind = free_port();
	r->tl = tl_listen(0);
	r->conf = config_basic(r->bind, r->tl->port, extra);
	r->p = proxy_start(r->conf);
	tjob_default(&job, job_id);
	r->pc = pool_accept_login(r->p, r->tl, POOL_SESSION, &job);
	cr_assert(proxy_wait_log(r->p, "state=up", WAIT_MS),
	    "pool never came up");
}

/* Check the daemon survived the test, stop it, free everything. */
static void
rig_stop(struct rig *r)
{
	proxy_stop_clean(r->p);
	tc_close(r->pc);
	tl_close(r->tl);
	proxy_free(r->p);
	free(r->conf);
}

/* Fill *m from a successful login reply; the reply is checked here. */
static void
fm_take_reply(struct fm *m, json_t *r)
{
	const char	*s;
	json_t		*ext;

	cr_assert(r != NULL, "no login reply");
	cr_assert(json_is_null(json_object_get(r, "error")),
	    "login failed: %s", jtext(r));
	cr_assert_str_eq(jstr(r, "result.status"), "OK", "login reply: %s",
	    jtext(r));
	s = jstr(r, "result.id");
	cr_assert(s != NULL && strlen(s) == 16 && strspn(s,
	    "0123456789abcdef") == 16, "session is not 16 hex: %s", jtext(r));
	snprintf(m->session, sizeof m->session, "%s", s);
	cr_assert_str_eq(jstr(r, "result.job.id"), m->session,
	    "job.id is not the session: %s", jtext(r));
	ext = json_object_get(json_object_get(r, "result"), "extensions");
	cr_assert(json_is_array(ext) && json_array_size(ext) == 3 &&
	    strcmp(json_string_value(json_array_get(ext, 0)), "algo") == 0 &&
	    strcmp(json_string_value(json_array_get(ext, 1)), "nicehash") == 0 &&
	    strcmp(json_string_value(json_array_get(ext, 2)), "keepalive") == 0,
	    "extensions: %s", jtext(r));
	s = jstr(r, "result.job.job_id");
	cr_assert(s != NULL, "login reply without job: %s", jtext(r));
	snprintf(m->job_id, sizeof m->job_id, "%s", s);
	s = jstr(r, "result.job.blob");
	cr_assert(s != NULL && strlen(s) < sizeof m->blob);
	snprintf(m->blob, sizeof m->blob, "%s", s);
	m->slot = blob_slot(m->blob);
	s = jstr(r, "result.job.target");
	cr_assert(s != NULL && strlen(s) < sizeof m->target);
	snprintf(m->target, sizeof m->target, "%s", s);
	/* The rest of the job is the pool's, as the pool sent it. */
	cr_assert_str_eq(jstr(r, "result.job.algo"), "rx/0", "job: %s",
	    jtext(r));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(r, "result"), "job"), "height")), 1000,
	    "job height: %s", jtext(r));
	cr_assert(jstr(r, "result.job.seed_hash") != NULL &&
	    strlen(jstr(r, "result.job.seed_hash")) == 64, "seed_hash: %s",
	    jtext(r));
}

/* Connect from src_ip (NULL: default) and log in as login; must succeed. */
static void
fm_login(struct proxy *p, int port, const char *src_ip, const char *login,
    struct fm *m)
{
	json_t	*r;

	memset(m, 0, sizeof(*m));
	m->c = tc_connect_from(src_ip, port);
	r = miner_login(m->c, login, "x", NULL, WAIT_MS);
	if (r == NULL)
		proxy_dump_log(p);
	fm_take_reply(m, r);
	json_decref(r);
}

/* A job push must arrive; update *m from it. */
static void
fm_expect_job(struct fm *m, const char *job_id)
{
	json_t	*j = tc_recv(m->c, WAIT_MS);

	cr_assert(j != NULL, "miner got no job push (wanted %s)", job_id);
	cr_assert_str_eq(jstr(j, "method"), "job", "not a job: %s", jtext(j));
	cr_assert_str_eq(jstr(j, "params.job_id"), job_id, "job push: %s",
	    jtext(j));
	cr_assert_str_eq(jstr(j, "params.id"), m->session,
	    "job push for another session: %s", jtext(j));
	cr_assert_eq(blob_slot(jstr(j, "params.blob")), m->slot,
	    "slot changed in job push: %s", jtext(j));
	snprintf(m->job_id, sizeof m->job_id, "%s", job_id);
	snprintf(m->blob, sizeof m->blob, "%s", jstr(j, "params.blob"));
	snprintf(m->target, sizeof m->target, "%s", jstr(j, "params.target"));
	json_decref(j);
}

/* Submit a share of difficulty diff with nonce n in the miner's slot. */
static json_t *
fm_submit(struct fm *m, int id, const char *job_id, uint32_t n,
    uint64_t diff, char nonce[9], char result[65])
{
	nonce_in(nonce, m->slot, n);
	make_result(result, diff);
	return miner_submit(m->c, id, m->session, job_id, nonce, result,
	    WAIT_MS);
}

/* Send a request line (printf) and wait for the reply with id. */
static json_t *
request(struct tconn *c, json_int_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *
request(struct tconn *c, json_int_t id, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	cr_assert(vasprintf(&s, fmt, ap) != -1);
	va_end(ap);
	tc_send(c, "%s", s);
	free(s);
	return tc_recv_reply(c, id, WAIT_MS);
}

/* The reply must be the JSON-RPC error message. Consumes r. */
static void
expect_error(struct proxy *p, json_t *r, const char *message)
{
	const char	*got = jstr(r, "error.message");

	if (got == NULL || strcmp(got, message) != 0)
		proxy_dump_log(p);
	cr_assert(got != NULL && strcmp(got, message) == 0,
	    "want error \"%s\", got %s", message, jtext(r));
	json_decref(r);
}

/* The reply must be {"status":"OK"} (or status). Consumes r. */
static void
expect_status(struct proxy *p, json_t *r, const char *status)
{
	const char	*got = jstr(r, "result.status");

	if (got == NULL || strcmp(got, status) != 0 ||
	    !json_is_null(json_object_get(r, "error")))
		proxy_dump_log(p);
	cr_assert(got != NULL && strcmp(got, status) == 0 &&
	    json_is_null(json_object_get(r, "error")),
	    "want status %s, got %s", status, jtext(r));
	json_decref(r);
}

/* The pool must receive this submit; returns the request id. */
static json_int_t
pool_expect_submit(struct tconn *pc, const char *session, const char *job_id,
    const char *nonce, const char *result)
{
	json_t		*s = tc_recv(pc, WAIT_MS);
	json_int_t	 id;

	cr_assert(s != NULL, "the pool received no submit");
	cr_assert_str_eq(jstr(s, "method"), "submit", "pool got %s",
	    jtext(s));
	cr_assert_str_eq(jstr(s, "params.id"), session,
	    "forwarded with the wrong session: %s", jtext(s));
	cr_assert_str_eq(jstr(s, "params.job_id"), job_id, "job_id: %s",
	    jtext(s));
	cr_assert_str_eq(jstr(s, "params.nonce"), nonce, "nonce: %s",
	    jtext(s));
	cr_assert_str_eq(jstr(s, "params.result"), result, "result: %s",
	    jtext(s));
	cr_assert(json_is_integer(json_object_get(s, "id")),
	    "submit without an integer id: %s", jtext(s));
	id = json_integer_value(json_object_get(s, "id"));
	json_decref(s);
	return id;
}

/* Answer a submit OK, or with an error message. */
static void
pool_answer(struct tconn *pc, json_int_t id, const char *error)
{
	if (error == NULL)
		tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
		    "\"result\":{\"status\":\"OK\"}}", (long long)id);
	else
		tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":"
		    "{\"code\":-1,\"message\":\"%s\"},\"result\":null}",
		    (long long)id, error);
}

/* The pool must receive nothing for a short while. */
static void
pool_expect_quiet(struct tconn *pc)
{
	json_t	*j = tc_recv(pc, QUIET_MS);

	cr_assert(j == NULL, "the pool received %s", jtext(j));
}

/* Close a list of miners. */
static void
fm_close_all(struct fm *v, int n)
{
	for (int i = 0; i < n; i++)
		tc_close(v[i].c);
}

/* -------------------------------------------------------------------- */

Test(nicehash, three_miners_distinct_slots)
{
	struct rig	 r;
	struct fm	 m[3];
	struct tjob	 job;
	char		 nonce[9], result[65];
	json_int_t	 sid;

	rig_start(&r, "", "job1");
	tjob_default(&job, "job1");
	for (int i = 0; i < 3; i++) {
		fm_login(r.p, r.bind, NULL, "WALLET", &m[i]);
		cr_assert_str_eq(m[i].job_id, "job1");
		cr_assert_str_eq(m[i].target, "b88d0600");
		cr_assert(blob_same_but_slot(m[i].blob, job.blob),
		    "blob differs beyond the slot byte:\n%s\n%s", m[i].blob,
		    job.blob);
	}
	cr_assert(m[0].slot != m[1].slot && m[1].slot != m[2].slot &&
	    m[0].slot != m[2].slot, "slots not distinct: %d %d %d",
	    m[0].slot, m[1].slot, m[2].slot);
	cr_assert(strcmp(m[0].session, m[1].session) != 0 &&
	    strcmp(m[1].session, m[2].session) != 0, "sessions not distinct");

	/* A valid share is forwarded as sent, under the pool's session. */
	nonce_in(nonce, m[1].slot, 0x123456);
	make_result(result, 20000);
	tc_send(m[1].c, "{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m[1].session, nonce,
	    result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	/* No answer before the pool's. */
	cr_assert_null(tc_recv(m[1].c, QUIET_MS), "miner answered before the "
	    "pool did");
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(m[1].c, 2, WAIT_MS), "OK");
	cr_assert(proxy_wait_log(r.p, "result=accepted", WAIT_MS));

	/* The pool's error text reaches the miner verbatim. */
	nonce_in(nonce, m[2].slot, 0x000777);
	make_result(result, 30000);
	tc_send(m[2].c, "{\"id\":3,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m[2].session, nonce,
	    result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	pool_answer(r.pc, sid, "Block expired");
	expect_error(r.p, tc_recv_reply(m[2].c, 3, WAIT_MS), "Block expired");
	cr_assert(proxy_wait_log(r.p, "result=rejected", WAIT_MS));

	/* Nothing leaked to the miners that did not submit. */
	cr_assert_null(tc_recv(m[0].c, QUIET_MS), "miner 0 got a message");

	/* A pushed job carries each miner's slot at the same place. */
	tjob_default(&job, "job2");
	pool_send_job(r.pc, &job);
	for (int i = 0; i < 3; i++) {
		fm_expect_job(&m[i], "job2");
		cr_assert(blob_same_but_slot(m[i].blob, job.blob),
		    "pushed blob differs beyond the slot byte:\n%s\n%s",
		    m[i].blob, job.blob);
		cr_assert_str_eq(m[i].target, "b88d0600");
	}

	fm_close_all(m, 3);
	rig_stop(&r);
}

Test(nicehash, wrong_session_unauthenticated)
{
	struct rig	 r;
	struct fm	 m;
	char		 nonce[9], result[65];

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	nonce_in(nonce, m.slot, 1);
	make_result(result, 20000);
	expect_error(r.p, miner_submit(m.c, 2, "0000000000000000", "job1",
	    nonce, result, WAIT_MS), "Unauthenticated");
	pool_expect_quiet(r.pc);
	cr_assert(!m.c->eof, "connection closed after Unauthenticated");
	expect_status(r.p, request(m.c, 3, "{\"id\":3,\"jsonrpc\":\"2.0\","
	    "\"method\":\"keepalived\",\"params\":{\"id\":\"%s\"}}",
	    m.session), "KEEPALIVED");
	tc_close(m.c);
	rig_stop(&r);
}

Test(nicehash, bad_submit_fields)
{
	struct rig	 r;
	struct fm	 m;
	char		 nonce[9], result[65], bad[65];
	const char	*bad_nonces[] = { "zzzzzzzz", "1234567", "123456789",
			    "", "-1234567", " 1234567" };

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	nonce_in(nonce, m.slot, 5);
	make_result(result, 20000);

	/* Missing and empty job id. */
	expect_error(r.p, request(m.c, 2, "{\"id\":2,\"jsonrpc\":\"2.0\","
	    "\"method\":\"submit\",\"params\":{\"id\":\"%s\",\"nonce\":\"%s\","
	    "\"result\":\"%s\"}}", m.session, nonce, result),
	    "Missing job id");
	expect_error(r.p, miner_submit(m.c, 3, m.session, "", nonce, result,
	    WAIT_MS), "Missing job id");

	/* Nonces that are not 8 hex digits. */
	for (size_t i = 0; i < sizeof bad_nonces / sizeof bad_nonces[0]; i++)
		expect_error(r.p, miner_submit(m.c, 10 + (int)i, m.session,
		    "job1", bad_nonces[i], result, WAIT_MS), "Invalid nonce");
	expect_error(r.p, request(m.c, 20, "{\"id\":20,\"jsonrpc\":\"2.0\","
	    "\"method\":\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":"
	    "\"job1\",\"nonce\":305419896,\"result\":\"%s\"}}", m.session,
	    result), "Invalid nonce");

	/* Results that are not 64 hex digits. */
	expect_error(r.p, miner_submit(m.c, 30, m.session, "job1", nonce,
	    "abcd", WAIT_MS), "Invalid result");
	memcpy(bad, result, sizeof bad);
	bad[63] = 'g';
	expect_error(r.p, miner_submit(m.c, 31, m.session, "job1", nonce, bad,
	    WAIT_MS), "Invalid result");
	expect_error(r.p, request(m.c, 32, "{\"id\":32,\"jsonrpc\":\"2.0\","
	    "\"method\":\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":"
	    "\"job1\",\"nonce\":\"%s\",\"result\":\"%s00\"}}", m.session,
	    nonce, result), "Invalid result");

	/* None of it reached the pool, and the miner is still served. */
	pool_expect_quiet(r.pc);
	expect_status(r.p, request(m.c, 40, "{\"id\":40,\"jsonrpc\":\"2.0\","
	    "\"method\":\"keepalived\",\"params\":{\"id\":\"%s\"}}",
	    m.session), "KEEPALIVED");
	tc_close(m.c);
	rig_stop(&r);
}

Test(nicehash, low_difficulty)
{
	struct rig	 r;
	struct fm	 m;
	char		 nonce[9], result[65];
	json_int_t	 sid;

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	expect_error(r.p, fm_submit(&m, 2, "job1", 1, 5000, nonce, result),
	    "Low difficulty share");
	expect_error(r.p, fm_submit(&m, 3, "job1", 2, 9999, nonce, result),
	    "Low difficulty share");
	pool_expect_quiet(r.pc);
	cr_assert(proxy_wait_log(r.p, "result=invalid", WAIT_MS));

	/* Exactly the target's difficulty is enough. */
	nonce_in(nonce, m.slot, 3);
	make_result(result, 10000);
	tc_send(m.c, "{\"id\":4,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m.session, nonce, result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(m.c, 4, WAIT_MS), "OK");
	tc_close(m.c);
	rig_stop(&r);
}

Test(nicehash, nonce_outside_slot)
{
	struct rig	 r;
	struct fm	 m, other;
	char		 nonce[9], result[65];

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	fm_login(r.p, r.bind, NULL, "WALLET", &other);
	nonce_in(nonce, (m.slot + 1) & 0xff, 0x42);
	make_result(result, 20000);
	expect_error(r.p, miner_submit(m.c, 2, m.session, "job1", nonce,
	    result, WAIT_MS),
	    "Invalid nonce; is miner not compatible with NiceHash?");
	cr_assert(tc_wait_closed(m.c, WAIT_MS),
	    "connection stays open after a nonce outside the slot");
	cr_assert(proxy_wait_log(r.p, "type=miner_close", WAIT_MS));
	pool_expect_quiet(r.pc);
	/* The other miner is unaffected. */
	expect_status(r.p, request(other.c, 3, "{\"id\":3,\"jsonrpc\":\"2.0\","
	    "\"method\":\"keepalived\",\"params\":{\"id\":\"%s\"}}",
	    other.session), "KEEPALIVED");
	tc_close(m.c);
	tc_close(other.c);
	rig_stop(&r);
}

Test(nicehash, invalid_job_id_and_expired)
{
	struct rig	 r;
	struct fm	 m;
	struct tjob	 job2, job3;
	char		 nonce[9], result[65];
	json_int_t	 sid;

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	expect_error(r.p, fm_submit(&m, 2, "nope", 1, 20000, nonce, result),
	    "Invalid job id");
	pool_expect_quiet(r.pc);

	tjob_default(&job2, "job2");
	pool_send_job(r.pc, &job2);
	fm_expect_job(&m, "job2");

	/* The previous job of the same pool session: accepted, expired. */
	nonce_in(nonce, m.slot, 7);
	make_result(result, 20000);
	tc_send(m.c, "{\"id\":3,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m.session, nonce, result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(m.c, 3, WAIT_MS), "OK");
	cr_assert(proxy_wait_log(r.p, "result=accepted", WAIT_MS));
	cr_assert(proxy_log_count(r.p, "expired=1") == 1,
	    "the expired share was not logged expired=1");

	/* The current job is not expired. */
	nonce_in(nonce, m.slot, 8);
	tc_send(m.c, "{\"id\":4,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job2\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m.session, nonce, result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job2", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(m.c, 4, WAIT_MS), "OK");
	cr_assert(proxy_wait_log(r.p, "expired=0", WAIT_MS));

	/* Two jobs back is neither current nor previous. */
	tjob_default(&job3, "job3");
	pool_send_job(r.pc, &job3);
	fm_expect_job(&m, "job3");
	expect_error(r.p, fm_submit(&m, 5, "job1", 9, 20000, nonce, result),
	    "Invalid job id");
	pool_expect_quiet(r.pc);
	tc_close(m.c);
	rig_stop(&r);
}

Test(nicehash, duplicate)
{
	struct rig	 r;
	struct fm	 m;
	struct tjob	 job2;
	char		 nonce[9], result[65];
	json_int_t	 sid;

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	nonce_in(nonce, m.slot, 0xabcdef);
	make_result(result, 20000);
	tc_send(m.c, "{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m.session, nonce, result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(m.c, 2, WAIT_MS), "OK");

	/* The same nonce again: refused, never reaches the pool. */
	expect_error(r.p, miner_submit(m.c, 3, m.session, "job1", nonce,
	    result, WAIT_MS), "Duplicate share");
	pool_expect_quiet(r.pc);
	cr_assert(proxy_wait_log(r.p, "result=duplicate", WAIT_MS));

	/* Once job1 is the previous job, its nonces are still remembered. */
	tjob_default(&job2, "job2");
	pool_send_job(r.pc, &job2);
	fm_expect_job(&m, "job2");
	expect_error(r.p, miner_submit(m.c, 4, m.session, "job1", nonce,
	    result, WAIT_MS), "Duplicate share");
	pool_expect_quiet(r.pc);

	/* The same nonce for another job is a different share. */
	tc_send(m.c, "{\"id\":5,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job2\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m.session, nonce, result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job2", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(m.c, 5, WAIT_MS), "OK");
	tc_close(m.c);
	rig_stop(&r);
}

Test(nicehash, custom_diff_local)
{
	struct rig	 r;
	struct fm	 m, high, tiny;
	char		 nonce[9], result[65], want[9];
	json_int_t	 sid;

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET+5000", &m);
	diff_target(5000, want);
	cr_assert_str_eq(m.target, want, "custom diff 5000: target %s, want %s",
	    m.target, want);

	/* Meets 5000 but not the pool's 10000: OK here, not forwarded. */
	expect_status(r.p, fm_submit(&m, 2, "job1", 1, 6000, nonce, result),
	    "OK");
	pool_expect_quiet(r.pc);
	cr_assert(proxy_wait_log(r.p, "result=local", WAIT_MS));

	/* Below the miner's own target. */
	expect_error(r.p, fm_submit(&m, 3, "job1", 2, 4000, nonce, result),
	    "Low difficulty share");
	pool_expect_quiet(r.pc);

	/* Meets the pool's difficulty: forwarded. */
	nonce_in(nonce, m.slot, 3);
	make_result(result, 20000);
	tc_send(m.c, "{\"id\":4,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m.session, nonce, result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(m.c, 4, WAIT_MS), "OK");

	/* Higher than the pool's, or below the minimum 100: pool target. */
	fm_login(r.p, r.bind, NULL, "WALLET+50000", &high);
	cr_assert_str_eq(high.target, "b88d0600");
	fm_login(r.p, r.bind, NULL, "WALLET+50", &tiny);
	cr_assert_str_eq(tiny.target, "b88d0600");
	tc_close(m.c);
	tc_close(high.c);
	tc_close(tiny.c);
	rig_stop(&r);
}

Test(nicehash, algo_mismatch)
{
	struct rig	 r;
	struct fm	 m;
	char		 nonce[9], result[65];

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	nonce_in(nonce, m.slot, 77);
	make_result(result, 20000);
	expect_error(r.p, request(m.c, 2, "{\"id\":2,\"jsonrpc\":\"2.0\","
	    "\"method\":\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":"
	    "\"job1\",\"nonce\":\"%s\",\"result\":\"%s\",\"algo\":\"cn/r\"}}",
	    m.session, nonce, result), "Incorrect algorithm");
	pool_expect_quiet(r.pc);
	tc_close(m.c);
	rig_stop(&r);
}

Test(nicehash, check_order)
{
	struct rig	 r;
	struct fm	 m;
	char		 nonce[9], other[9], result[65], low[65];
	json_int_t	 sid;

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	nonce_in(nonce, m.slot, 1);
	nonce_in(other, (m.slot + 1) & 0xff, 1);
	make_result(result, 20000);
	make_result(low, 100);

	/* Each share breaks two rules; the earlier check must answer. */
	expect_error(r.p, miner_submit(m.c, 2, "ffffffffffffffff", "", "xx",
	    "yy", WAIT_MS), "Unauthenticated");
	expect_error(r.p, miner_submit(m.c, 3, m.session, "", "xx", "yy",
	    WAIT_MS), "Missing job id");
	expect_error(r.p, miner_submit(m.c, 4, m.session, "job1", "xx", "yy",
	    WAIT_MS), "Invalid nonce");
	expect_error(r.p, miner_submit(m.c, 5, m.session, "nope", other, "yy",
	    WAIT_MS), "Invalid result");
	/* Low difficulty comes before the slot check: no close. */
	expect_error(r.p, miner_submit(m.c, 6, m.session, "nope", other, low,
	    WAIT_MS), "Low difficulty share");
	expect_error(r.p, miner_submit(m.c, 7, m.session, "nope", nonce,
	    result, WAIT_MS), "Invalid job id");

	/* Duplicate comes before the algorithm. */
	tc_send(m.c, "{\"id\":8,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", m.session, nonce, result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(m.c, 8, WAIT_MS), "OK");
	expect_error(r.p, request(m.c, 9, "{\"id\":9,\"jsonrpc\":\"2.0\","
	    "\"method\":\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":"
	    "\"job1\",\"nonce\":\"%s\",\"result\":\"%s\",\"algo\":\"cn/r\"}}",
	    m.session, nonce, result), "Duplicate share");
	pool_expect_quiet(r.pc);
	cr_assert(!m.c->eof, "closed before the slot check was reached");

	/* The slot check comes before the job check, and closes. */
	expect_error(r.p, miner_submit(m.c, 10, m.session, "nope", other,
	    result, WAIT_MS),
	    "Invalid nonce; is miner not compatible with NiceHash?");
	cr_assert(tc_wait_closed(m.c, WAIT_MS));
	tc_close(m.c);
	rig_stop(&r);
}

Test(nicehash, global_custom_diff)
{
	struct rig	 r;
	struct fm	 m, own;
	char		 want[9], nonce[9], result[65];

	rig_start(&r, "\"custom-diff\":2000", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	diff_target(2000, want);
	cr_assert_str_eq(m.target, want, "custom-diff 2000: target %s, want "
	    "%s", m.target, want);
	expect_status(r.p, fm_submit(&m, 2, "job1", 1, 3000, nonce, result),
	    "OK");
	pool_expect_quiet(r.pc);
	/* WALLET+N wins over the global value. */
	fm_login(r.p, r.bind, NULL, "WALLET+5000", &own);
	diff_target(5000, want);
	cr_assert_str_eq(own.target, want);
	expect_error(r.p, fm_submit(&own, 2, "job1", 1, 3000, nonce, result),
	    "Low difficulty share");
	tc_close(m.c);
	tc_close(own.c);
	rig_stop(&r);
}

Test(nicehash, pool_job_notifications)
{
	int		 bind = free_port();
	struct tlisten	*tl = tl_listen(0);
	char		*conf = config_basic(bind, tl->port, "");
	struct proxy	*p = proxy_start(conf);
	struct tconn	*pc, *c;
	struct tjob	 job;
	struct fm	 m;
	json_t		*login, *rep;

	/* The pool's login reply carries no job. */
	pc = tl_accept(tl, WAIT_MS);
	cr_assert(pc != NULL);
	login = pool_expect_login(pc, WAIT_MS);
	tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"id\":\"%s\",\"extensions\":[\"algo\"],"
	    "\"status\":\"OK\"}}",
	    (long long)json_integer_value(json_object_get(login, "id")),
	    POOL_SESSION);
	json_decref(login);
	c = tc_connect(bind);
	tc_send(c, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"WALLET\",\"pass\":\"x\"}}");
	cr_assert(proxy_wait_log(p, "type=miner_login", WAIT_MS));
	cr_assert_null(tc_recv(c, QUIET_MS), "login answered without a job");

	/* Invalid jobs are dropped. */
	tjob_default(&job, "bad");
	job.target = "zzzz";
	pool_send_job(pc, &job);
	tjob_default(&job, "bad2");
	job.blob = "abc";
	pool_send_job(pc, &job);
	tc_send(pc, "{\"jsonrpc\":\"2.0\",\"method\":\"job\",\"params\":7}");
	cr_assert(proxy_wait_log(p, "invalid job dropped", WAIT_MS));
	cr_assert_null(tc_recv(c, QUIET_MS), "an invalid job reached a miner");
	cr_assert(!proxy_exited(p, 0));

	/* The first valid job answers the waiting login. */
	tjob_default(&job, "good");
	pool_send_job(pc, &job);
	rep = tc_recv_reply(c, 1, WAIT_MS);
	if (rep == NULL)
		proxy_dump_log(p);
	memset(&m, 0, sizeof m);
	fm_take_reply(&m, rep);
	json_decref(rep);
	cr_assert_str_eq(m.job_id, "good");
	cr_assert(blob_same_but_slot(m.blob, job.blob));
	tc_close(c);
	tc_close(pc);
	tl_close(tl);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	free(conf);
}

/*
 * A blob too short to hold the nonce (bytes 39..42) cannot be split: every
 * miner would get the same blob and hash the same nonces. Such a job must
 * be dropped with a warning, never handed to the miners.
 */
Test(nicehash, short_blob_job_dropped)
{
	struct rig	 r;
	struct fm	 m[2];
	struct tjob	 job;
	char		 shortblob[81];
	json_t		*j;

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &m[0]);
	fm_login(r.p, r.bind, NULL, "WALLET", &m[1]);

	tjob_default(&job, "short");
	snprintf(shortblob, sizeof shortblob, "%.80s", job.blob);
	job.blob = shortblob;
	pool_send_job(r.pc, &job);
	cr_assert(proxy_wait_log(r.p, "invalid job", WAIT_MS),
	    "a 40-byte blob was not refused with a warning");
	for (int i = 0; i < 2; i++) {
		j = tc_recv(m[i].c, QUIET_MS);
		cr_assert_null(j, "a job whose blob has no nonce reached miner "
		    "%d (slot %d): %s", i, m[i].slot, jtext(j));
	}

	/* The next good job is delivered as usual. */
	tjob_default(&job, "job2");
	pool_send_job(r.pc, &job);
	for (int i = 0; i < 2; i++)
		fm_expect_job(&m[i], "job2");
	fm_close_all(m, 2);
	rig_stop(&r);
}

/*
 * What a miner sends ends up in key=value log lines (user, agent, rigid).
 * Control characters in them must not start a new line: a login of
 * "W\ntype=pool_state ... state=up" must not forge a pool_state event.
 */
Test(nicehash, login_fields_cannot_forge_log_lines)
{
	struct rig	 r;
	struct fm	 m;
	json_t		*rep;

	rig_start(&r, "", "job1");
	memset(&m, 0, sizeof m);
	m.c = tc_connect(r.bind);
	rep = request(m.c, 1, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"login\",\"params\":{\"login\":\"W\\ntype=pool_state upstream=0 "
	    "pool=evil:1 state=up index=0\",\"pass\":\"x\",\"agent\":"
	    "\"a\\r\\ntype=share id=1 result=accepted\",\"rigid\":"
	    "\"r\\ntype=ready\"}}");
	fm_take_reply(&m, rep);
	json_decref(rep);
	cr_assert(proxy_wait_log(r.p, "type=miner_login", WAIT_MS));
	tc_close(m.c);
	cr_assert(proxy_wait_log(r.p, "type=miner_close", WAIT_MS));
	/* Every line the daemon writes starts with its timestamp. */
	if (proxy_log_count(r.p, "\ntype=") > 0)
		proxy_dump_log(r.p);
	cr_assert_eq(proxy_log_count(r.p, "\ntype="), 0,
	    "a miner's login forged a log line");
	cr_assert_eq(proxy_log_count(r.p, "\r"), 0,
	    "a raw CR from a miner reached the log");
	rig_stop(&r);
}

/* Log n miners in over a few source addresses; slots must be distinct. */
static void
fill_slots(struct rig *r, struct fm *v, int n)
{
	static const char *const ips[] = { "127.0.0.1", "127.0.0.2",
	    "127.0.0.3", "127.0.0.4" };
	bool	seen[256] = { false };

	for (int i = 0; i < n; i++) {
		fm_login(r->p, r->bind, ips[i % 4], "WALLET", &v[i]);
		cr_assert(!seen[v[i].slot], "miner %d got slot %d twice", i,
		    v[i].slot);
		seen[v[i].slot] = true;
	}
}

Test(nicehash, slots_256_then_second_upstream)
{
	struct rig	 r;
	static struct fm v[257];
	struct tjob	 job;
	struct tconn	*pc2;
	json_t		*login;
	json_int_t	 sid;
	char		 nonce[9], result[65];

	rig_start(&r, "", "job1");
	fill_slots(&r, v, 256);
	/* All 256 on one pool connection. */
	cr_assert_null(tl_accept(r.tl, QUIET_MS),
	    "a second pool connection before the 257th miner");

	/* The 257th opens a second upstream; it waits for its first job. */
	v[256].c = tc_connect(r.bind);
	tc_send(v[256].c, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"WALLET\",\"pass\":\"x\",\"agent\":\"%s\"}}",
	    HARNESS_LOGIN_AGENT);
	pc2 = tl_accept(r.tl, WAIT_MS);
	if (pc2 == NULL)
		proxy_dump_log(r.p);
	cr_assert(pc2 != NULL, "no second pool connection for miner 257");
	login = pool_expect_login(pc2, WAIT_MS);
	cr_assert_str_eq(jstr(login, "params.login"), "WALLET");
	tjob_default(&job, "up2job");
	pool_send_login_ok(pc2, login, POOL_SESSION2, &job);
	json_decref(login);
	{
		json_t *rep = tc_recv_reply(v[256].c, 1, WAIT_MS);

		if (rep == NULL)
			proxy_dump_log(r.p);
		fm_take_reply(&v[256], rep);
		json_decref(rep);
	}
	cr_assert_str_eq(v[256].job_id, "up2job");
	cr_assert(proxy_wait_log(r.p, "type=upstream_new upstream=2",
	    WAIT_MS));

	/* Its shares go to the second pool connection, with its session. */
	nonce_in(nonce, v[256].slot, 1);
	make_result(result, 20000);
	tc_send(v[256].c, "{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"up2job\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", v[256].session, nonce,
	    result);
	sid = pool_expect_submit(pc2, POOL_SESSION2, "up2job", nonce, result);
	pool_answer(pc2, sid, NULL);
	expect_status(r.p, tc_recv_reply(v[256].c, 2, WAIT_MS), "OK");
	pool_expect_quiet(r.pc);

	/* A miner of the first upstream still submits to the first. */
	nonce_in(nonce, v[17].slot, 1);
	tc_send(v[17].c, "{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", v[17].session, nonce,
	    result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(v[17].c, 2, WAIT_MS), "OK");

	fm_close_all(v, 257);
	tc_close(pc2);
	rig_stop(&r);
}

Test(nicehash, max_upstreams_full)
{
	struct rig	 r;
	static struct fm v[256];
	struct tconn	*c;
	json_t		*rep;

	rig_start(&r, "\"max-upstreams\":1", "job1");
	fill_slots(&r, v, 256);
	c = tc_connect(r.bind);
	rep = miner_login(c, "WALLET", "x", NULL, WAIT_MS);
	expect_error(r.p, rep, "Proxy is full, try again later");
	cr_assert(tc_wait_closed(c, WAIT_MS), "refused miner not closed");
	cr_assert_null(tl_accept(r.tl, QUIET_MS),
	    "a second pool connection despite max-upstreams 1");
	tc_close(c);
	/* The 256 are still served. */
	expect_status(r.p, request(v[200].c, 9, "{\"id\":9,\"jsonrpc\":\"2.0\","
	    "\"method\":\"keepalived\",\"params\":{\"id\":\"%s\"}}",
	    v[200].session), "KEEPALIVED");
	fm_close_all(v, 256);
	rig_stop(&r);
}

/*
 * Fill all 256 slots, let one miner go: its slot is dead until the next
 * job, so a new miner must not get it (it opens a second upstream, or is
 * refused under max-upstreams 1). After the pool's next job a new miner
 * gets exactly the freed slot.
 */
static void
freed_slot_scenario(int capped)
{
	struct rig	 r;
	static struct fm v[256];
	struct fm	 late;
	struct tjob	 job2, job;
	struct tconn	*c, *pc2 = NULL;
	json_t		*rep, *login;
	int		 gone = 100, freed;

	rig_start(&r, capped ? "\"max-upstreams\":1" : "", "job1");
	fill_slots(&r, v, 256);
	freed = v[gone].slot;
	tc_close(v[gone].c);
	v[gone].c = NULL;
	cr_assert(proxy_wait_log(r.p, "type=miner_close", WAIT_MS));

	c = tc_connect(r.bind);
	tc_send(c, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"WALLET\",\"pass\":\"x\",\"agent\":\"%s\"}}",
	    HARNESS_LOGIN_AGENT);
	if (capped) {
		rep = tc_recv_reply(c, 1, WAIT_MS);
		expect_error(r.p, rep, "Proxy is full, try again later");
		cr_assert(tc_wait_closed(c, WAIT_MS));
		cr_assert_null(tl_accept(r.tl, QUIET_MS));
	} else {
		/* Not the dead slot: a second upstream. */
		pc2 = tl_accept(r.tl, WAIT_MS);
		if (pc2 == NULL)
			proxy_dump_log(r.p);
		cr_assert(pc2 != NULL, "the dead slot %d was handed out "
		    "instead of opening a second upstream", freed);
		login = pool_expect_login(pc2, WAIT_MS);
		tjob_default(&job, "up2job");
		pool_send_login_ok(pc2, login, POOL_SESSION2, &job);
		json_decref(login);
		rep = tc_recv_reply(c, 1, WAIT_MS);
		memset(&late, 0, sizeof late);
		fm_take_reply(&late, rep);
		json_decref(rep);
		cr_assert_str_eq(late.job_id, "up2job",
		    "miner landed on the first upstream (dead slot reused)");
	}
	tc_close(c);

	/* The next job revives the slot. */
	tjob_default(&job2, "job2");
	pool_send_job(r.pc, &job2);
	fm_expect_job(&v[0], "job2");
	fm_expect_job(&v[255], "job2");
	fm_login(r.p, r.bind, NULL, "WALLET", &late);
	cr_assert_str_eq(late.job_id, "job2", "new miner not on upstream 0");
	cr_assert_eq(late.slot, freed, "new miner got slot %d, want the freed "
	    "slot %d", late.slot, freed);
	tc_close(late.c);
	fm_close_all(v, 256);
	tc_close(pc2);
	rig_stop(&r);
}

Test(nicehash, freed_slot_dead_until_next_job)
{
	freed_slot_scenario(0);
}

Test(nicehash, freed_slot_dead_max_upstreams)
{
	freed_slot_scenario(1);
}

Test(nicehash, line_too_long)
{
	struct rig	 r;
	struct fm	 a, b;
	char		*big, *pad;
	size_t		 n = 20000, plen;
	char		 nonce[9], result[65];
	json_int_t	 sid;

	rig_start(&r, "", "job1");
	fm_login(r.p, r.bind, NULL, "WALLET", &a);
	fm_login(r.p, r.bind, NULL, "WALLET", &b);

	/* A line of exactly 16384 bytes is still a line: answered. */
	plen = 16384 - (size_t)snprintf(NULL, 0, "{\"id\":5,\"jsonrpc\":\"2.0\","
	    "\"method\":\"keepalived\",\"params\":{\"id\":\"%s\"}}", b.session);
	pad = (char *)malloc(plen + 1);
	memset(pad, ' ', plen);
	pad[plen] = '\0';
	expect_status(r.p, request(b.c, 5, "{\"id\":5,\"jsonrpc\":\"2.0\","
	    "\"method\":\"keepalived\",\"params\":{\"id\":\"%s\"}%s}",
	    b.session, pad), "KEEPALIVED");
	free(pad);

	/* 20000 bytes: that miner is closed. */
	big = (char *)malloc(n + 1);
	memset(big, 'a', n);
	big[n - 1] = '\n';
	big[n] = '\0';
	tc_send_raw(a.c, big, n);
	free(big);
	cr_assert(tc_wait_closed(a.c, WAIT_MS), "20000-byte line did not "
	    "close the miner");
	cr_assert(proxy_wait_log(r.p, "reason=\"line too long\"", WAIT_MS));

	/* The other miner still gets answers and its shares go through. */
	expect_status(r.p, request(b.c, 6, "{\"id\":6,\"jsonrpc\":\"2.0\","
	    "\"method\":\"keepalived\",\"params\":{\"id\":\"%s\"}}",
	    b.session), "KEEPALIVED");
	nonce_in(nonce, b.slot, 1);
	make_result(result, 20000);
	tc_send(b.c, "{\"id\":7,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"job1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", b.session, nonce, result);
	sid = pool_expect_submit(r.pc, POOL_SESSION, "job1", nonce, result);
	pool_answer(r.pc, sid, NULL);
	expect_status(r.p, tc_recv_reply(b.c, 7, WAIT_MS), "OK");
	tc_close(a.c);
	tc_close(b.c);
	rig_stop(&r);
}

/* ---- malformed input ------------------------------------------------- */

/* What the daemon must do with one input before login. */
enum pre {
	PRE_CLOSE,		/* close the connection */
	PRE_OPEN,		/* stay open; a login then succeeds */
	PRE_ERR_OR_CLOSE	/* answer with an error, or close */
};

/* What it must do after login. */
enum post {
	POST_ERR,		/* an error reply; the session goes on */
	POST_SILENT,		/* no reply; the session goes on */
	POST_ANY,		/* any reply or none; the session goes on */
	POST_CLOSE		/* close the connection */
};

struct bad_input {
	const char	*name;
	char		*data;	/* $S session, $N nonce in slot, $R result */
	size_t		 len;
	enum pre	 pre;
	enum post	 post;
	int		 no_newline;
	int		 logs_in;	/* the input itself is a login */
	const char	*message;	/* after login: this exact error */
};

struct bad_table {
	struct bad_input *v;
	size_t		  n;
};

/* Append an input of len bytes (0: strlen). */
static void
bad_add(struct bad_table *t, const char *name, const char *data, size_t len,
    enum pre pre, enum post post)
{
	struct bad_input	*b;

	t->v = (struct bad_input *)realloc(t->v, (t->n + 1) * sizeof(*t->v));
	cr_assert(t->v != NULL);
	b = &t->v[t->n++];
	memset(b, 0, sizeof(*b));
	b->name = name;
	b->len = len != 0 ? len : strlen(data);
	b->data = (char *)malloc(b->len + 1);
	memcpy(b->data, data, b->len);
	b->data[b->len] = '\0';
	b->pre = pre;
	b->post = post;
}

#define BAD(t, name, lit, pre, post) \
	bad_add((t), (name), (lit), sizeof(lit) - 1, (pre), (post))

/* A string of n copies of c. */
static char *
repeat(char c, size_t n)
{
	char	*s = (char *)malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
bad_table_build(struct bad_table *t)
{
	char	*s, *r;

	/* Not JSON, or not an object. */
	BAD(t, "text", "hello world", PRE_CLOSE, POST_ERR);
	BAD(t, "open brace", "{", PRE_CLOSE, POST_ERR);
	BAD(t, "close brace", "}", PRE_CLOSE, POST_ERR);
	BAD(t, "empty array", "[]", PRE_CLOSE, POST_ERR);
	BAD(t, "array", "[1,2,{\"method\":\"login\"}]", PRE_CLOSE, POST_ERR);
	BAD(t, "number", "42", PRE_CLOSE, POST_ERR);
	BAD(t, "string", "\"login\"", PRE_CLOSE, POST_ERR);
	BAD(t, "null", "null", PRE_CLOSE, POST_ERR);
	BAD(t, "true", "true", PRE_CLOSE, POST_ERR);
	BAD(t, "whitespace", "   \t  ", PRE_CLOSE, POST_ERR);
	BAD(t, "truncated", "{\"id\":7,\"method\":\"login\",\"params\":",
	    PRE_CLOSE, POST_ERR);
	BAD(t, "trailing garbage", "{\"id\":7,\"method\":\"keepalived\","
	    "\"params\":{}}}}", PRE_CLOSE, POST_ERR);
	BAD(t, "two objects", "{\"id\":7}{\"id\":8}", PRE_CLOSE, POST_ERR);
	BAD(t, "duplicate keys", "{\"id\":7,\"id\":8,\"method\":\"keepalived\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "single quotes", "{'id':7,'method':'login'}", PRE_CLOSE,
	    POST_ERR);
	BAD(t, "nested garbage", "{\"id\":7,\"method\":{\"a\":[1,{\"b\":null}]},"
	    "\"params\":[[[[{}]]]]}", PRE_CLOSE, POST_ERR);
	s = repeat('[', 5000);
	bad_add(t, "deep nesting", s, 0, PRE_CLOSE, POST_ERR);
	free(s);
	BAD(t, "BOM", "\xef\xbb\xbf{\"id\":7,\"method\":\"keepalived\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);

	/* Methods. */
	BAD(t, "method number", "{\"id\":7,\"jsonrpc\":\"2.0\",\"method\":5,"
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "method null", "{\"id\":7,\"method\":null,\"params\":{}}",
	    PRE_CLOSE, POST_ERR);
	BAD(t, "method missing", "{\"id\":7,\"params\":{}}", PRE_CLOSE,
	    POST_ERR);
	BAD(t, "method empty", "{\"id\":7,\"method\":\"\",\"params\":{}}",
	    PRE_CLOSE, POST_ERR);
	t->v[t->n - 1].message = "Invalid method";
	BAD(t, "unknown method", "{\"id\":7,\"method\":\"mining.subscribe\","
	    "\"params\":[]}", PRE_CLOSE, POST_ERR);
	t->v[t->n - 1].message = "Invalid method";
	BAD(t, "getjob", "{\"id\":7,\"method\":\"getjob\",\"params\":{}}",
	    PRE_CLOSE, POST_ERR);
	t->v[t->n - 1].message = "Invalid method";
	s = repeat('m', 10000);
	cr_assert(asprintf(&r, "{\"id\":7,\"method\":\"%s\",\"params\":{}}",
	    s) != -1);
	bad_add(t, "huge method", r, 0, PRE_CLOSE, POST_ERR);
	free(r);

	/* Ids. */
	BAD(t, "id object", "{\"id\":{\"a\":1},\"method\":\"keepalived\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "id array", "{\"id\":[1,2],\"method\":\"keepalived\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "id true", "{\"id\":true,\"method\":\"keepalived\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "id too big", "{\"id\":123456789012345678901234567890,"
	    "\"method\":\"keepalived\",\"params\":{}}", PRE_CLOSE, POST_ERR);
	cr_assert(asprintf(&r, "{\"id\":\"%s\",\"method\":\"keepalived\","
	    "\"params\":{}}", s) != -1);
	bad_add(t, "id huge string", r, 0, PRE_CLOSE, POST_ERR);
	free(r);
	free(s);
	BAD(t, "id 1e308", "{\"id\":1e308,\"method\":\"keepalived\","
	    "\"params\":{\"id\":\"$S\"}}", PRE_ERR_OR_CLOSE, POST_ANY);
	BAD(t, "id int64 min", "{\"id\":-9223372036854775808,\"method\":"
	    "\"keepalived\",\"params\":{\"id\":\"$S\"}}", PRE_ERR_OR_CLOSE,
	    POST_ANY);

	/* Params. */
	BAD(t, "submit params null", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":null}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit params array", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":[\"$S\",\"job1\",\"$N\",\"$R\"]}", PRE_ERR_OR_CLOSE,
	    POST_ERR);
	BAD(t, "submit params string", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":\"x\"}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit params number", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":12}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit params missing", "{\"id\":7,\"method\":\"submit\"}",
	    PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit all null", "{\"id\":7,\"method\":\"submit\",\"params\":"
	    "{\"id\":null,\"job_id\":null,\"nonce\":null,\"result\":null}}",
	    PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit id number", "{\"id\":7,\"method\":\"submit\",\"params\":"
	    "{\"id\":1,\"job_id\":\"job1\",\"nonce\":\"$N\",\"result\":\"$R\"}}",
	    PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit job_id number", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":{\"id\":\"$S\",\"job_id\":1,\"nonce\":\"$N\","
	    "\"result\":\"$R\"}}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit job_id object", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":{\"id\":\"$S\",\"job_id\":{},\"nonce\":\"$N\","
	    "\"result\":\"$R\"}}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit nonce number", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":{\"id\":\"$S\",\"job_id\":\"job1\",\"nonce\":12345678,"
	    "\"result\":\"$R\"}}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit nonce 1e10", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":{\"id\":\"$S\",\"job_id\":\"job1\",\"nonce\":\"1e10\","
	    "\"result\":\"$R\"}}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit result number", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":{\"id\":\"$S\",\"job_id\":\"job1\",\"nonce\":\"$N\","
	    "\"result\":1.5}}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit result array", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":{\"id\":\"$S\",\"job_id\":\"job1\",\"nonce\":\"$N\","
	    "\"result\":[\"$R\"]}}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "submit algo number", "{\"id\":7,\"method\":\"submit\","
	    "\"params\":{\"id\":\"$S\",\"job_id\":\"job1\",\"nonce\":\"$N\","
	    "\"result\":\"$R\",\"algo\":5}}", PRE_ERR_OR_CLOSE, POST_ANY);
	BAD(t, "submit before login / wrong session", "{\"id\":7,\"method\":"
	    "\"submit\",\"params\":{\"id\":\"0000000000000000\",\"job_id\":"
	    "\"job1\",\"nonce\":\"00000000\",\"result\":\"$R\"}}",
	    PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "keepalived params null", "{\"id\":7,\"method\":\"keepalived\","
	    "\"params\":null}", PRE_ERR_OR_CLOSE, POST_ANY);
	BAD(t, "login params null", "{\"id\":7,\"method\":\"login\","
	    "\"params\":null}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "login params array", "{\"id\":7,\"method\":\"login\","
	    "\"params\":[\"WALLET\",\"x\"]}", PRE_ERR_OR_CLOSE, POST_ERR);
	BAD(t, "login login number", "{\"id\":7,\"method\":\"login\","
	    "\"params\":{\"login\":5,\"pass\":\"x\"}}", PRE_ERR_OR_CLOSE,
	    POST_ERR);
	s = repeat('W', 3000);
	cr_assert(asprintf(&r, "{\"id\":7,\"method\":\"login\",\"params\":"
	    "{\"login\":\"%s\",\"pass\":\"x\"}}", s) != -1);
	bad_add(t, "login huge login", r, 0, PRE_ERR_OR_CLOSE, POST_ERR);
	free(r);
	free(s);
	BAD(t, "login twice", "{\"id\":9,\"method\":\"login\",\"params\":"
	    "{\"login\":\"WALLET\",\"pass\":\"x\",\"algo\":\"rx/0\","
	    "\"agent\":{\"x\":1},\"rigid\":7}}", PRE_OPEN, POST_ERR);
	t->v[t->n - 1].logs_in = 1;

	/* Bytes. */
	BAD(t, "invalid UTF-8", "{\"id\":7,\"method\":\"keepalived\","
	    "\"params\":{\"id\":\"\xff\xfe\"}}", PRE_CLOSE, POST_ERR);
	BAD(t, "invalid UTF-8 method", "{\"id\":7,\"method\":\"\xc3\x28\"}",
	    PRE_CLOSE, POST_ERR);
	BAD(t, "overlong UTF-8", "{\"id\":7,\"method\":\"\xc0\xaf\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "surrogate escape", "{\"id\":7,\"method\":\"\\ud800\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "NUL in string", "{\"id\":7,\"method\":\"keep\0alived\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "NUL escape", "{\"id\":7,\"method\":\"keepalived\\u0000x\","
	    "\"params\":{}}", PRE_CLOSE, POST_ERR);
	BAD(t, "NUL line", "\0\0\0", PRE_CLOSE, POST_ERR);
	BAD(t, "control bytes", "\x01\x02\x1b[2J\x7f", PRE_CLOSE, POST_ERR);
	BAD(t, "CRLF keepalived", "{\"id\":7,\"method\":\"keepalived\","
	    "\"params\":{\"id\":\"$S\"}}\r", PRE_ERR_OR_CLOSE, POST_ANY);
	BAD(t, "empty lines", "\n\n\n", PRE_OPEN, POST_SILENT);
	BAD(t, "CRLF only", "\r\n\r", PRE_OPEN, POST_SILENT);
	BAD(t, "lone CR", "\r", PRE_OPEN, POST_SILENT);

	/* Sizes. */
	s = repeat(' ', 15000);
	cr_assert(asprintf(&r, "{\"id\":7,\"method\":\"keepalived\",\"params\":"
	    "{\"id\":\"$S\",\"pad\":\"%s\"}}", s) != -1);
	bad_add(t, "15 KB keepalived", r, 0, PRE_ERR_OR_CLOSE, POST_ANY);
	free(r);
	free(s);
	s = repeat('x', 16385);
	bad_add(t, "16385-byte line", s, 0, PRE_CLOSE, POST_CLOSE);
	free(s);
	s = repeat('{', 1 << 20);
	bad_add(t, "1 MB without newline", s, 0, PRE_CLOSE, POST_CLOSE);
	t->v[t->n - 1].no_newline = 1;
	free(s);
}

/* Expand $S, $N and $R for miner m; returns a malloc'd buffer. */
static char *
bad_expand(const struct bad_input *b, const struct fm *m, uint32_t n,
    size_t *outlen)
{
	char	*out, nonce[9], result[65];
	size_t	 o = 0, cap = b->len * 2 + 256;

	nonce_in(nonce, m != NULL ? m->slot : 0, n);
	make_result(result, 20000);
	out = (char *)malloc(cap);
	for (size_t i = 0; i < b->len; i++) {
		const char *sub = NULL;

		if (b->data[i] == '$' && i + 1 < b->len) {
			switch (b->data[i + 1]) {
			case 'S':
				sub = m != NULL ? m->session :
				    "0000000000000000";
				break;
			case 'N':
				sub = nonce;
				break;
			case 'R':
				sub = result;
				break;
			}
		}
		if (o + 128 > cap) {
			cap *= 2;
			out = (char *)realloc(out, cap);
		}
		if (sub != NULL) {
			memcpy(out + o, sub, strlen(sub));
			o += strlen(sub);
			i++;
		} else
			out[o++] = b->data[i];
	}
	*outlen = o;
	return out;
}

/* Send one input (and its newline). */
static void
bad_send(struct tconn *c, const struct bad_input *b, const struct fm *m,
    uint32_t n)
{
	size_t	 len;
	char	*data = bad_expand(b, m, n, &len);

	/* The peer may close mid-way (line limit); that is fine. */
	if (tc_send_raw(c, data, len) && !b->no_newline)
		tc_send_raw(c, "\n", 1);
	free(data);
}

/* Answer what the fake pool has received so far (forwarded shares). */
static void
pool_answer_pending(struct tconn *pc, int timeout_ms)
{
	json_t	*j;

	while ((j = tc_recv(pc, timeout_ms)) != NULL) {
		if (jstr(j, "method") != NULL &&
		    strcmp(jstr(j, "method"), "submit") == 0)
			pool_answer(pc, json_integer_value(json_object_get(j,
			    "id")), NULL);
		json_decref(j);
	}
}

/* One input on a fresh connection before login. */
static void
bad_before_login(struct rig *r, const struct bad_input *b)
{
	struct tconn	*c = tc_connect(r->bind);
	json_t		*j;

	bad_send(c, b, NULL, 1);
	switch (b->pre) {
	case PRE_CLOSE:
		if (!tc_wait_closed(c, WAIT_MS))
			proxy_dump_log(r->p);
		cr_assert(c->eof, "[%s] before login: connection not closed",
		    b->name);
		break;
	case PRE_ERR_OR_CLOSE:
		j = tc_recv(c, WAIT_MS);
		cr_assert(j != NULL || c->eof, "[%s] before login: neither an "
		    "error nor a close", b->name);
		cr_assert(j == NULL || json_is_object(json_object_get(j,
		    "error")), "[%s] before login: not an error: %s", b->name,
		    jtext(j));
		json_decref(j);
		break;
	case PRE_OPEN:
		j = miner_login(c, "WALLET", "x", NULL, WAIT_MS);
		if (j == NULL)
			proxy_dump_log(r->p);
		cr_assert(j != NULL, "[%s] before login: a login after it got "
		    "no reply", b->name);
		if (!b->logs_in)
			cr_assert_str_eq(jstr(j, "result.status"), "OK",
			    "[%s] before login: login after it: %s", b->name,
			    jtext(j));
		json_decref(j);
		break;
	}
	tc_close(c);
}

/* One input on a fresh logged-in connection. */
static void
bad_after_login(struct rig *r, const struct bad_input *b, uint32_t n)
{
	struct fm	 m;
	json_t		*j;
	int		 errors = 0, others = 0, found = 0;

	fm_login(r->p, r->bind, NULL, "WALLET", &m);
	bad_send(m.c, b, &m, n);
	if (b->post == POST_CLOSE) {
		if (!tc_wait_closed(m.c, WAIT_MS))
			proxy_dump_log(r->p);
		cr_assert(m.c->eof, "[%s] after login: connection not closed",
		    b->name);
		tc_close(m.c);
		return;
	}
	/* A keepalived behind it must still be answered. */
	tc_send(m.c, "{\"id\":4242,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"keepalived\",\"params\":{\"id\":\"%s\"}}", m.session);
	while ((j = tc_recv(m.c, WAIT_MS)) != NULL) {
		json_t *id = json_object_get(j, "id");

		if (json_is_integer(id) && json_integer_value(id) == 4242) {
			cr_assert_str_eq(jstr(j, "result.status"),
			    "KEEPALIVED", "[%s] after login: %s", b->name,
			    jtext(j));
			found = 1;
			json_decref(j);
			break;
		}
		if (json_object_get(j, "method") == NULL) {
			if (json_is_object(json_object_get(j, "error")))
				errors++;
			else
				others++;
			if (b->message != NULL)
				cr_assert_str_eq(jstr(j, "error.message"),
				    b->message, "[%s] after login: %s",
				    b->name, jtext(j));
		}
		json_decref(j);
	}
	if (!found)
		proxy_dump_log(r->p);
	cr_assert(found, "[%s] after login: the session did not go on "
	    "(%s)", b->name, m.c->eof ? "closed" : "no keepalived reply");
	if (b->post == POST_ERR)
		cr_assert(errors >= 1, "[%s] after login: no error reply",
		    b->name);
	if (b->post == POST_SILENT)
		cr_assert(errors + others == 0, "[%s] after login: %d "
		    "replies to nothing", b->name, errors + others);
	tc_close(m.c);
}

Test(nicehash, malformed_inputs)
{
	struct rig		 r;
	struct bad_table	 t = { NULL, 0 };
	struct fm		 m;

	/* A long response timeout: forwarded shares never fail the pool. */
	rig_start(&r, "\"pool-response-timeout\":30", "job1");
	bad_table_build(&t);
	cr_assert_geq(t.n, 40, "only %zu malformed inputs", t.n);
	for (size_t i = 0; i < t.n; i++) {
		bad_before_login(&r, &t.v[i]);
		bad_after_login(&r, &t.v[i], (uint32_t)i + 1);
		pool_answer_pending(r.pc, 0);
		cr_assert(!proxy_exited(r.p, 0), "sluice died on [%s]",
		    t.v[i].name);
	}
	pool_answer_pending(r.pc, QUIET_MS);

	/* Still up, still serving. */
	fm_login(r.p, r.bind, NULL, "WALLET", &m);
	cr_assert_str_eq(m.job_id, "job1");
	tc_close(m.c);
	cr_assert(proxy_log_count(r.p, "reason=\"line too long\"") >= 2);
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i].data);
	free(t.v);
	rig_stop(&r);
}

/*
 * A line that is no request before login is answered with JSON-RPC's own
 * error, then closed: -32700 for what is not JSON, -32600 for JSON that
 * is not a request. A line too long is counted in the close line's rx.
 */
Test(nicehash, protocol_error_before_login_answered)
{
	static const struct {
		const char	*line;
		const char	*want;
	} cases[] = {
		{ "this is not json", "{\"id\":null,\"jsonrpc\":\"2.0\","
		    "\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}" },
		{ "[1,2,3]", "{\"id\":null,\"jsonrpc\":\"2.0\",\"error\":"
		    "{\"code\":-32600,\"message\":\"Invalid request\"}}" },
	};
	struct rig	 r;
	struct tconn	*c;
	char		*line, *big;
	size_t		 i, n = 20000;

	rig_start(&r, "", "job1");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		c = tc_connect(r.bind);
		tc_send(c, "%s", cases[i].line);
		line = tc_recv_line(c, WAIT_MS);
		cr_assert(line != NULL, "[%s] no answer before the close",
		    cases[i].line);
		cr_assert_str_eq(line, cases[i].want);
		free(line);
		cr_assert(tc_wait_closed(c, WAIT_MS), "[%s] not closed",
		    cases[i].line);
		tc_close(c);
	}
	cr_assert(proxy_wait_log(r.p, "close=protocol_error", WAIT_MS));

	/* No newline within 16 KiB: closed, and the bytes are counted. */
	c = tc_connect(r.bind);
	big = (char *)malloc(n);
	memset(big, 'a', n);
	tc_send_raw(c, big, n);
	free(big);
	cr_assert(tc_wait_closed(c, WAIT_MS));
	cr_assert(proxy_wait_log(r.p, "close=line_too_long", WAIT_MS));
	cr_assert_eq(proxy_log_count(r.p, "close=line_too_long reason=\"line "
	    "too long\" rx=0 "), 0, "a line too long logged rx=0");
	tc_close(c);
	rig_stop(&r);
}
