/*
 * test_failover.cc: pool failover (issue 3). The primary closes and the
 * backup takes over within 3 s; with no pool up, miners wait connected and
 * get their first job when one comes up; the primary takes back over; a
 * pool that never answers its login, or stops answering submits, is a
 * failed pool; with no pool, submits get "Bad gateway".
 *
 * Timings are asserted from the moment the test acts (closes a pool) to
 * the moment the fake pool sees the proxy's login, on the monotonic clock.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000	/* anything that must happen */
#define QUIET_MS	300	/* something that must not happen */
#define SWITCH_MS	3000	/* primary closed -> backup login */
#define RESPONSE_S	2	/* pool-response-timeout in these tests */
/*
 * The daemon counts timeouts in whole seconds of its 1 s tick, so a
 * RESPONSE_S timeout fires after RESPONSE_S - 1 to RESPONSE_S + 1 s.
 */

TestSuite(failover, .timeout = 60);

/* A logged-in fake miner. */
struct fm {
	struct tconn	*c;
	char		 session[64];
	int		 slot;
	char		 job_id[64];
	char		 blob[256];
};





/* A job with its own blob: the default one with one timestamp digit changed. */
static void
job_variant(struct tjob *job, char blob[256], const char *job_id, char c)
{
	tjob_default(job, job_id);
	snprintf(blob, 256, "%s", job->blob);
	blob[5] = c;
	job->blob = blob;
}

/* A nonce whose byte 3 (hex chars 6..7) is slot. */
static void
nonce_in(char out[9], int slot, uint32_t n)
{
	snprintf(out, 9, "%06x%02x", n & 0xffffff, slot & 0xff);
}

/*
 * A nicehash config over n pool ports in priority order; pool i logs in
 * as pool_user(i). retries/retry-pause are 1 unless extra sets them.
 */
static const char *
pool_user(int i)
{
	static const char *const users[] = { "WALLET", "BACKUP", "BACKUP2" };

	return users[i];
}

static char *
config_n(int bind, const int *ports, int n, const char *extra, int defaults)
{
	char	*s, pools[1024];
	size_t	 o = 0;

	cr_assert(n >= 1 && n <= 3);
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(pools + o, sizeof pools - o,
		    "%s{\"url\":\"127.0.0.1:%d\",\"user\":\"%s\",\"pass\":"
		    "\"x\"}", i > 0 ? "," : "", ports[i], pool_user(i));
	/* The classic path unless the test asks for the standby. */
	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\",\"bind\":[{\"host\":"
	    "\"127.0.0.1\",\"port\":%d}],\"pools\":[%s],%s%s"
	    "\"pool-response-timeout\":%d,\"watch\":false%s%s}\n", bind, pools,
	    defaults ? "" : "\"retries\":1,\"retry-pause\":1,",
	    extra != NULL && strstr(extra, "failover-standby") != NULL ? "" :
	    "\"failover-standby\":false,", RESPONSE_S,
	    extra != NULL && *extra != '\0' ? "," : "",
	    extra != NULL ? extra : "") != -1);
	return s;
}

/* Primary and backup (backup 0: the primary only). */
static char *
config_pools(int bind, int primary, int backup, const char *extra)
{
	int	ports[2] = { primary, backup };

	return config_n(bind, ports, backup > 0 ? 2 : 1, extra, 0);
}

/*
 * Accept the proxy at a fake pool within timeout_ms and read its login,
 * which must be for user. Returns the connection; *login_ms is when the
 * login arrived.
 */
static struct tconn *
pool_accept(struct proxy *p, struct tlisten *tl, const char *user,
    int timeout_ms, json_t **login, long long *login_ms)
{
	long long	 t0 = now_ms();
	struct tconn	*pc;
	int		 left;

	pc = tl_accept(tl, timeout_ms);
	if (pc == NULL)
		proxy_dump_log(p);
	cr_assert(pc != NULL, "sluice did not connect to pool %d within "
	    "%d ms", tl->port, timeout_ms);
	left = timeout_ms - (int)(now_ms() - t0);
	*login = tc_recv(pc, left > 0 ? left : 0);
	if (*login == NULL)
		proxy_dump_log(p);
	cr_assert(*login != NULL, "no login at pool %d", tl->port);
	if (login_ms != NULL)
		*login_ms = now_ms();
	cr_assert_str_eq(jstr(*login, "method"), "login", "pool %d got %s",
	    tl->port, jtext(*login));
	cr_assert_str_eq(jstr(*login, "params.login"), user,
	    "logged in to pool %d as: %s", tl->port, jtext(*login));
	return pc;
}

/* Accept, check the login, answer it with job. */
static struct tconn *
pool_up(struct proxy *p, struct tlisten *tl, const char *user,
    const char *session, const struct tjob *job)
{
	struct tconn	*pc;
	json_t		*login;

	pc = pool_accept(p, tl, user, WAIT_MS, &login, NULL);
	pool_send_login_ok(pc, login, session, job);
	json_decref(login);
	return pc;
}

/* Fill *m from a successful login reply. */
static void
fm_take_reply(struct proxy *p, struct fm *m, json_t *r)
{
	if (r == NULL || !json_is_null(json_object_get(r, "error")))
		proxy_dump_log(p);
	cr_assert(r != NULL, "no login reply");
	cr_assert(json_is_null(json_object_get(r, "error")) &&
	    jstr(r, "result.id") != NULL && jstr(r, "result.job.job_id") !=
	    NULL && jstr(r, "result.job.blob") != NULL,
	    "bad login reply: %s", jtext(r));
	snprintf(m->session, sizeof m->session, "%s", jstr(r, "result.id"));
	snprintf(m->job_id, sizeof m->job_id, "%s",
	    jstr(r, "result.job.job_id"));
	snprintf(m->blob, sizeof m->blob, "%s", jstr(r, "result.job.blob"));
	m->slot = blob_slot(m->blob);
}

/* Connect and send a login without waiting for the reply. */
static void
fm_send_login(struct fm *m, int port)
{
	memset(m, 0, sizeof(*m));
	m->c = tc_connect(port);
	tc_send(m->c, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"MINER\",\"pass\":\"x\",\"agent\":\"%s\","
	    "\"algo\":[\"rx/0\"]}}", HARNESS_LOGIN_AGENT);
}

/* Log in and wait for the reply (a pool must be up). */
static void
fm_login(struct proxy *p, int port, struct fm *m)
{
	json_t	*r;

	fm_send_login(m, port);
	r = tc_recv_reply(m->c, 1, WAIT_MS);
	fm_take_reply(p, m, r);
	json_decref(r);
}

/* A job push must arrive: job_id, the miner's slot, blob as the pool's. */
static void
fm_expect_job(struct proxy *p, struct fm *m, const struct tjob *job)
{
	json_t	*j = tc_recv(m->c, WAIT_MS);

	if (j == NULL)
		proxy_dump_log(p);
	cr_assert(j != NULL, "miner got no job push (wanted %s)%s",
	    job->job_id, m->c->eof ? ": connection closed" : "");
	cr_assert_str_eq(jstr(j, "method"), "job", "not a job: %s", jtext(j));
	cr_assert_str_eq(jstr(j, "params.job_id"), job->job_id,
	    "job push: %s", jtext(j));
	cr_assert_str_eq(jstr(j, "params.id"), m->session,
	    "job for another session: %s", jtext(j));
	cr_assert(blob_same_but_slot(jstr(j, "params.blob"), job->blob),
	    "pushed blob is not the pool's: %s", jtext(j));
	cr_assert_eq(blob_slot(jstr(j, "params.blob")), m->slot,
	    "slot changed: %s", jtext(j));
	snprintf(m->job_id, sizeof m->job_id, "%s", job->job_id);
	json_decref(j);
}

/* Send a share of difficulty 20000 with nonce n (no wait). */
static void
fm_send_share(struct fm *m, int id, const char *job_id, uint32_t n,
    char nonce[9], char result[65])
{
	nonce_in(nonce, m->slot, n);
	make_result(result, 20000);
	tc_send(m->c, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"%s\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", id, m->session, job_id,
	    nonce, result);
}

/* The pool must receive this submit; returns its request id. */
static json_int_t
pool_expect_submit(struct tconn *pc, const char *session, const char *job_id,
    const char *nonce, const char *result)
{
	json_t		*s = tc_recv(pc, WAIT_MS);
	json_int_t	 id;

	cr_assert(s != NULL, "the pool received no submit");
	cr_assert_str_eq(jstr(s, "method"), "submit", "pool got %s", jtext(s));
	cr_assert_str_eq(jstr(s, "params.id"), session, "session: %s",
	    jtext(s));
	cr_assert_str_eq(jstr(s, "params.job_id"), job_id, "job_id: %s",
	    jtext(s));
	cr_assert_str_eq(jstr(s, "params.nonce"), nonce, "nonce: %s", jtext(s));
	cr_assert_str_eq(jstr(s, "params.result"), result, "result: %s",
	    jtext(s));
	id = json_integer_value(json_object_get(s, "id"));
	json_decref(s);
	return id;
}

/* Answer a submit OK. */
static void
pool_answer_ok(struct tconn *pc, json_int_t id)
{
	tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}", (long long)id);
}

/* The reply with id must be the error message. */
static void
expect_error(struct proxy *p, struct tconn *c, int id, const char *message,
    int timeout_ms)
{
	json_t		*r = tc_recv_reply(c, id, timeout_ms);
	const char	*got = jstr(r, "error.message");

	if (got == NULL || strcmp(got, message) != 0)
		proxy_dump_log(p);
	cr_assert(got != NULL && strcmp(got, message) == 0,
	    "want error \"%s\", got %s", message, jtext(r));
	json_decref(r);
}

/* The reply with id must be status (OK, KEEPALIVED). */
static void
expect_status(struct proxy *p, struct tconn *c, int id, const char *status)
{
	json_t		*r = tc_recv_reply(c, id, WAIT_MS);
	const char	*got = jstr(r, "result.status");

	if (got == NULL || strcmp(got, status) != 0)
		proxy_dump_log(p);
	cr_assert(got != NULL && strcmp(got, status) == 0,
	    "want status %s, got %s", status, jtext(r));
	json_decref(r);
}

/* Send keepalived; it must be answered (the session is alive). */
static void
expect_alive(struct proxy *p, struct fm *m, int id)
{
	tc_send(m->c, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":\"keepalived\","
	    "\"params\":{\"id\":\"%s\"}}", id, m->session);
	expect_status(p, m->c, id, "KEEPALIVED");
}

/* The daemon survived; stop it cleanly and free it. */
static void
proxy_finish(struct proxy *p)
{
	proxy_stop_clean(p);
	proxy_free(p);
}

/* -------------------------------------------------------------------- */

/*
 * The primary closes: the backup is logged in to within 3 s, the miners
 * keep their connections and slots and get the backup's job. defaults:
 * xmrig-proxy's retries 2, retry-pause 1 instead of 1 and 1.
 */
static void
primary_down_backup(int defaults)
{
	int		 bind = free_port();
	struct tlisten	*prim = tl_listen(0), *back = tl_listen(0);
	int		 ports[2] = { prim->port, back->port };
	char		*conf = config_n(bind, ports, 2, "", defaults);
	struct proxy	*p = proxy_start(conf);
	struct tjob	 p1, b1;
	char		 bblob[256], nonce[9], result[65];
	struct tconn	*pc, *bc;
	struct fm	 m[2];
	json_t		*login;
	long long	 t0, t1;
	json_int_t	 sid;

	tjob_default(&p1, "p1");
	pc = pool_up(p, prim, "WALLET", "primary-session", &p1);
	cr_assert(proxy_wait_log(p, "state=up index=0", WAIT_MS));
	fm_login(p, bind, &m[0]);
	fm_login(p, bind, &m[1]);
	cr_assert_str_eq(m[0].job_id, "p1");

	/* The primary goes away entirely. */
	t0 = now_ms();
	tl_close(prim);
	tc_close(pc);
	bc = pool_accept(p, back, "BACKUP", SWITCH_MS, &login, &t1);
	cr_assert_lt(t1 - t0, SWITCH_MS, "backup login %lld ms after the "
	    "primary closed", t1 - t0);
	job_variant(&b1, bblob, "b1", 'f');
	pool_send_login_ok(bc, login, "backup-session", &b1);
	json_decref(login);
	cr_assert(proxy_wait_log(p, "state=up index=1", WAIT_MS));

	/* The miners kept their connections and slots, and got b1. */
	for (int i = 0; i < 2; i++)
		fm_expect_job(p, &m[i], &b1);

	/* Shares go to the backup, under its session. */
	fm_send_share(&m[0], 2, "b1", 1, nonce, result);
	sid = pool_expect_submit(bc, "backup-session", "b1", nonce, result);
	pool_answer_ok(bc, sid);
	expect_status(p, m[0].c, 2, "OK");

	/* The primary's job belongs to a session that is gone. */
	fm_send_share(&m[1], 3, "p1", 2, nonce, result);
	expect_error(p, m[1].c, 3, "Invalid job id", WAIT_MS);
	cr_assert_null(tc_recv(bc, QUIET_MS), "a share for the old session "
	    "reached the backup");

	cr_assert_eq(proxy_log_count(p, "type=miner_close"), 0,
	    "a miner was closed during failover");
	tc_close(m[0].c);
	tc_close(m[1].c);
	tc_close(bc);
	tl_close(back);
	proxy_finish(p);
	free(conf);
}

Test(failover, primary_down_backup)
{
	primary_down_backup(0);
}

Test(failover, primary_down_backup_defaults)
{
	primary_down_backup(1);
}

Test(failover, backup_fails_moves_on)
{
	int		 bind = free_port(), dead = free_port();
	struct tlisten	*b1 = tl_listen(0), *b2 = tl_listen(0);
	int		 ports[3] = { dead, b1->port, b2->port };
	char		*conf = config_n(bind, ports, 3, "", 0);
	struct proxy	*p = proxy_start(conf);
	struct tjob	 j1, j2;
	char		 blob1[256], blob2[256];
	struct tconn	*c1, *c2;
	struct fm	 m;
	json_t		*login;
	long long	 t0, t1;

	/* The primary is down from the start: the first backup serves. */
	job_variant(&j1, blob1, "b1", 'f');
	c1 = pool_up(p, b1, "BACKUP", "backup-1", &j1);
	fm_login(p, bind, &m);
	cr_assert_str_eq(m.job_id, "b1");

	/* It fails once: straight on to the next, no retries. */
	t0 = now_ms();
	tl_close(b1);
	tc_close(c1);
	c2 = pool_accept(p, b2, "BACKUP2", SWITCH_MS, &login, &t1);
	cr_assert_lt(t1 - t0, SWITCH_MS, "second backup after %lld ms",
	    t1 - t0);
	job_variant(&j2, blob2, "b2", 'e');
	pool_send_login_ok(c2, login, "backup-2", &j2);
	json_decref(login);
	fm_expect_job(p, &m, &j2);
	expect_alive(p, &m, 3);
	tc_close(m.c);
	tc_close(c2);
	tl_close(b2);
	proxy_finish(p);
	free(conf);
}

Test(failover, all_down_then_up)
{
	int		 bind = free_port(), dead = free_port();
	char		*conf = config_pools(bind, dead, 0, "");
	struct proxy	*p = proxy_start(conf);
	struct tlisten	*tl;
	struct tconn	*pc;
	struct tjob	 j1;
	struct fm	 m[2];
	json_t		*r;

	cr_assert(proxy_wait_log(p, "state=down", WAIT_MS),
	    "no pool_state down with nothing listening");
	for (int i = 0; i < 2; i++) {
		fm_send_login(&m[i], bind);
		cr_assert(proxy_wait_log(p, "type=miner_login", WAIT_MS));
	}
	/* They wait: no reply, no close. */
	for (int i = 0; i < 2; i++) {
		r = tc_recv(m[i].c, QUIET_MS);
		cr_assert_null(r, "a login was answered with no pool: %s",
		    jtext(r));
		cr_assert(!m[i].c->eof, "a waiting miner was closed");
	}
	/* The proxy keeps retrying, but says "down" once. */
	cr_assert(proxy_wait_log(p, "type=pool_close", WAIT_MS));
	cr_assert(proxy_wait_log(p, "type=pool_close", WAIT_MS));
	cr_assert_eq(proxy_log_count(p, "state=down"), 1,
	    "pool_state down logged per retry, not per transition");

	/* A pool comes up on that port: the waiting logins get its job. */
	tl = tl_listen(dead);
	tjob_default(&j1, "first");
	pc = pool_up(p, tl, "WALLET", "pool-session", &j1);
	for (int i = 0; i < 2; i++) {
		r = tc_recv_reply(m[i].c, 1, WAIT_MS);
		fm_take_reply(p, &m[i], r);
		json_decref(r);
		cr_assert_str_eq(m[i].job_id, "first");
		cr_assert(blob_same_but_slot(m[i].blob, j1.blob));
	}
	cr_assert_neq(m[0].slot, m[1].slot, "two miners share slot %d",
	    m[0].slot);
	cr_assert_eq(proxy_log_count(p, "state=up"), 1);
	expect_alive(p, &m[0], 5);
	tc_close(m[0].c);
	tc_close(m[1].c);
	tc_close(pc);
	tl_close(tl);
	proxy_finish(p);
	free(conf);
}

Test(failover, recovery_to_primary)
{
	int		 bind = free_port();
	struct tlisten	*prim = tl_listen(0), *back = tl_listen(0);
	int		 pport = prim->port;
	char		*conf = config_pools(bind, prim->port, back->port, "");
	struct proxy	*p = proxy_start(conf);
	struct tjob	 p1, b1, p2;
	char		 bblob[256], pblob[256], nonce[9], result[65];
	struct tconn	*pc, *bc;
	struct fm	 m[2];
	json_int_t	 sid;

	tjob_default(&p1, "p1");
	pc = pool_up(p, prim, "WALLET", "primary-session", &p1);
	cr_assert(proxy_wait_log(p, "state=up index=0", WAIT_MS));
	fm_login(p, bind, &m[0]);
	fm_login(p, bind, &m[1]);

	/* Over to the backup. */
	tl_close(prim);
	tc_close(pc);
	job_variant(&b1, bblob, "b1", 'f');
	bc = pool_up(p, back, "BACKUP", "backup-session", &b1);
	for (int i = 0; i < 2; i++)
		fm_expect_job(p, &m[i], &b1);

	/* The primary is back: the proxy returns to it. */
	prim = tl_listen(pport);
	job_variant(&p2, pblob, "p2", 'a');
	pc = pool_up(p, prim, "WALLET", "primary-session-2", &p2);
	for (int i = 0; i < 2; i++)
		fm_expect_job(p, &m[i], &p2);
	cr_assert(proxy_wait_log(p, "primary is back", WAIT_MS));
	cr_assert(tc_wait_closed(bc, WAIT_MS),
	    "the backup connection stays open after the primary took over");

	/* Shares go to the primary's new session. */
	fm_send_share(&m[1], 2, "p2", 1, nonce, result);
	sid = pool_expect_submit(pc, "primary-session-2", "p2", nonce, result);
	pool_answer_ok(pc, sid);
	expect_status(p, m[1].c, 2, "OK");
	cr_assert_eq(proxy_log_count(p, "type=miner_close"), 0,
	    "a miner was closed during failover");
	tc_close(m[0].c);
	tc_close(m[1].c);
	tc_close(bc);
	tc_close(pc);
	tl_close(prim);
	tl_close(back);
	proxy_finish(p);
	free(conf);
}

Test(failover, silent_pool)
{
	int		 bind = free_port();
	struct tlisten	*prim = tl_listen(0), *back = tl_listen(0);
	char		*conf = config_pools(bind, prim->port, back->port, "");
	struct proxy	*p = proxy_start(conf);
	struct tconn	*silent, *bc;
	struct tjob	 b1;
	char		 bblob[256];
	struct fm	 m;
	json_t		*login, *r;
	long long	 t0, t1;

	/* The primary accepts and reads the login, and never answers. */
	silent = pool_accept(p, prim, "WALLET", WAIT_MS, &login, &t0);
	json_decref(login);
	fm_send_login(&m, bind);
	cr_assert(proxy_wait_log(p, "type=miner_login", WAIT_MS));

	bc = pool_accept(p, back, "BACKUP", RESPONSE_S * 1000 + 2500, &login,
	    &t1);
	cr_assert_lt(t1 - t0, RESPONSE_S * 1000 + 2500, "failover took "
	    "%lld ms with pool-response-timeout %d s", t1 - t0, RESPONSE_S);
	cr_assert_geq(t1 - t0, RESPONSE_S * 1000 - 1200, "gave up on the "
	    "primary after %lld ms, before pool-response-timeout", t1 - t0);
	cr_assert(tc_wait_closed(silent, WAIT_MS),
	    "the silent pool's connection was not closed");
	cr_assert(proxy_wait_log(p, "reason=timeout", WAIT_MS));

	/* The waiting miner gets the backup's job. */
	job_variant(&b1, bblob, "b1", 'f');
	pool_send_login_ok(bc, login, "backup-session", &b1);
	json_decref(login);
	r = tc_recv_reply(m.c, 1, WAIT_MS);
	fm_take_reply(p, &m, r);
	json_decref(r);
	cr_assert_str_eq(m.job_id, "b1");
	tc_close(m.c);
	tc_close(silent);
	tc_close(bc);
	tl_close(prim);
	tl_close(back);
	proxy_finish(p);
	free(conf);
}

Test(failover, submit_timeout)
{
	int		 bind = free_port();
	struct tlisten	*tl = tl_listen(0);
	char		*conf = config_pools(bind, tl->port, 0, "");
	struct proxy	*p = proxy_start(conf);
	struct tjob	 j1, j2;
	char		 blob2[256], nonce[9], result[65];
	struct tconn	*pc, *pc2;
	struct fm	 m, m2;
	long long	 t0, ms;
	json_int_t	 sid;

	tjob_default(&j1, "j1");
	pc = pool_up(p, tl, "WALLET", "session-1", &j1);
	fm_login(p, bind, &m);
	fm_login(p, bind, &m2);

	/* Answered shares are unaffected. */
	fm_send_share(&m2, 2, "j1", 9, nonce, result);
	sid = pool_expect_submit(pc, "session-1", "j1", nonce, result);
	pool_answer_ok(pc, sid);
	expect_status(p, m2.c, 2, "OK");

	/* The pool takes two shares and never answers. */
	fm_send_share(&m, 2, "j1", 1, nonce, result);
	pool_expect_submit(pc, "session-1", "j1", nonce, result);
	t0 = now_ms();
	fm_send_share(&m2, 3, "j1", 2, nonce, result);
	pool_expect_submit(pc, "session-1", "j1", nonce, result);
	expect_error(p, m.c, 2, "Pool timeout", RESPONSE_S * 1000 + 3000);
	ms = now_ms() - t0;
	cr_assert_geq(ms, RESPONSE_S * 1000 - 1200, "\"Pool timeout\" after "
	    "only %lld ms", ms);
	expect_error(p, m2.c, 3, "Pool timeout", WAIT_MS);
	cr_assert(proxy_wait_log(p, "result=timeout", WAIT_MS));

	/* That connection has failed: closed, and a new login follows. */
	cr_assert(tc_wait_closed(pc, WAIT_MS),
	    "the unresponsive pool connection was kept");
	job_variant(&j2, blob2, "j2", 'b');
	pc2 = pool_up(p, tl, "WALLET", "session-2", &j2);
	fm_expect_job(p, &m, &j2);

	/* The miner stayed, and its shares flow again. */
	fm_send_share(&m, 3, "j2", 2, nonce, result);
	pool_answer_ok(pc2, pool_expect_submit(pc2, "session-2", "j2", nonce,
	    result));
	expect_status(p, m.c, 3, "OK");
	fm_expect_job(p, &m2, &j2);
	tc_close(m.c);
	tc_close(m2.c);
	tc_close(pc);
	tc_close(pc2);
	tl_close(tl);
	proxy_finish(p);
	free(conf);
}

Test(failover, bad_gateway_while_down)
{
	int		 bind = free_port();
	struct tlisten	*tl = tl_listen(0);
	int		 port = tl->port;
	char		*conf = config_pools(bind, port, 0, "");
	struct proxy	*p = proxy_start(conf);
	struct tjob	 j1, j2;
	char		 blob2[256], nonce[9], result[65];
	struct tconn	*pc;
	struct fm	 m, late;
	json_t		*r;

	tjob_default(&j1, "j1");
	pc = pool_up(p, tl, "WALLET", "session-1", &j1);
	fm_login(p, bind, &m);

	/*
	 * A share in flight when the pool dies still gets its one answer:
	 * its pool connection ended before the pool answered.
	 */
	fm_send_share(&m, 2, "j1", 1, nonce, result);
	pool_expect_submit(pc, "session-1", "j1", nonce, result);
	tl_close(tl);
	tc_close(pc);
	expect_error(p, m.c, 2, "Pool connection lost", WAIT_MS);
	cr_assert(proxy_wait_log(p, "state=down", WAIT_MS));

	/* With no pool, a share for the last job: Bad gateway, still open. */
	fm_send_share(&m, 3, "j1", 2, nonce, result);
	expect_error(p, m.c, 3, "Bad gateway", WAIT_MS);
	cr_assert(proxy_wait_log(p, "result=bad_gateway", WAIT_MS));
	cr_assert(!m.c->eof, "miner closed while the pool is down");
	expect_alive(p, &m, 4);

	/* A new login waits: the last job belongs to a dead session. */
	fm_send_login(&late, bind);
	cr_assert(proxy_wait_log(p, "type=miner_login", WAIT_MS));
	r = tc_recv(late.c, QUIET_MS);
	cr_assert_null(r, "login answered with no pool up: %s", jtext(r));

	/* The pool returns; the miners get its job and submit again. */
	tl = tl_listen(port);
	job_variant(&j2, blob2, "j2", 'c');
	pc = pool_up(p, tl, "WALLET", "session-2", &j2);
	fm_expect_job(p, &m, &j2);
	r = tc_recv_reply(late.c, 1, WAIT_MS);
	fm_take_reply(p, &late, r);
	json_decref(r);
	cr_assert_str_eq(late.job_id, "j2");
	cr_assert_neq(late.slot, m.slot);
	tc_close(late.c);
	fm_send_share(&m, 5, "j2", 3, nonce, result);
	pool_answer_ok(pc, pool_expect_submit(pc, "session-2", "j2", nonce,
	    result));
	expect_status(p, m.c, 5, "OK");
	tc_close(m.c);
	tc_close(pc);
	tl_close(tl);
	proxy_finish(p);
	free(conf);
}

/*
 * A pool that sends garbage (not JSON, a line over 16 KiB) is a failed
 * connection: closed, logged reason=parse, and logged in to again; the
 * miners stay and get the new session's job.
 */
Test(failover, pool_garbage_reconnects)
{
	int		 bind = free_port();
	struct tlisten	*tl = tl_listen(0);
	char		*conf = config_pools(bind, tl->port, 0, "");
	struct proxy	*p = proxy_start(conf);
	struct tjob	 j1, j2, j3;
	char		 blob2[256], blob3[256], *big;
	struct tconn	*pc;
	struct fm	 m;

	tjob_default(&j1, "j1");
	pc = pool_up(p, tl, "WALLET", "session-1", &j1);
	fm_login(p, bind, &m);

	tc_send(pc, "this is not json");
	cr_assert(tc_wait_closed(pc, WAIT_MS), "garbage from the pool kept "
	    "the connection");
	cr_assert(proxy_wait_log(p, "reason=parse", WAIT_MS));
	tc_close(pc);
	job_variant(&j2, blob2, "j2", 'b');
	pc = pool_up(p, tl, "WALLET", "session-2", &j2);
	fm_expect_job(p, &m, &j2);

	big = (char *)malloc(20001);
	memset(big, '{', 20000);
	big[20000] = '\0';
	tc_send(pc, "%s", big);
	free(big);
	cr_assert(tc_wait_closed(pc, WAIT_MS), "a 20000-byte line from the "
	    "pool kept the connection");
	tc_close(pc);
	job_variant(&j3, blob3, "j3", 'c');
	pc = pool_up(p, tl, "WALLET", "session-3", &j3);
	fm_expect_job(p, &m, &j3);
	expect_alive(p, &m, 7);
	tc_close(m.c);
	tc_close(pc);
	tl_close(tl);
	proxy_finish(p);
	free(conf);
}

/*
 * The pool's lines come as the network cuts them: a job in three reads,
 * the last of which also starts the answer to a submit; '\r\n' endings
 * and an empty line. Each line is taken whole, none is lost, and the
 * connection stays.
 */
Test(failover, pool_lines_cut_anywhere)
{
	int		 bind = free_port();
	struct tlisten	*tl = tl_listen(0);
	char		*conf = config_pools(bind, tl->port, 0, "");
	struct proxy	*p = proxy_start(conf);
	struct tjob	 j1, j2;
	char		 blob2[256], nonce[9], result[65], *text;
	struct tconn	*pc;
	struct fm	 m;
	json_int_t	 id;
	size_t		 len, cut[2];
	int		 n;

	tjob_default(&j1, "j1");
	pc = pool_up(p, tl, "WALLET", "session-1", &j1);
	fm_login(p, bind, &m);
	fm_send_share(&m, 2, "j1", 1, nonce, result);
	id = pool_expect_submit(pc, "session-1", "j1", nonce, result);

	job_variant(&j2, blob2, "j2", 'b');
	n = asprintf(&text, "{\"jsonrpc\":\"2.0\",\"method\":\"job\","
	    "\"params\":{\"blob\":\"%s\",\"job_id\":\"%s\",\"target\":"
	    "\"%s\",\"algo\":\"%s\",\"height\":%llu,\"seed_hash\":"
	    "\"%s\"}}\r\n{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}\r\n\r\n", j2.blob, j2.job_id,
	    j2.target, j2.algo, (unsigned long long)j2.height, j2.seed_hash,
	    (long long)id);
	cr_assert(n > 0);
	len = (size_t)n;
	/* Mid-job, then a few bytes into the answer. */
	cut[0] = strstr(text, "\"target\"") - text;
	cut[1] = strstr(text, "\r\n") - text + 2 + 5;
	tc_send_raw(pc, text, cut[0]);
	usleep(50 * 1000);
	tc_send_raw(pc, text + cut[0], cut[1] - cut[0]);
	usleep(50 * 1000);
	tc_send_raw(pc, text + cut[1], len - cut[1]);
	free(text);

	fm_expect_job(p, &m, &j2);
	expect_status(p, m.c, 2, "OK");
	cr_assert(!tc_wait_closed(pc, QUIET_MS), "the pool connection was "
	    "closed");
	expect_alive(p, &m, 3);
	tc_close(m.c);
	tc_close(pc);
	tl_close(tl);
	proxy_finish(p);
	free(conf);
}

Test(failover, backoff_doubles_to_cap)
{
	int		 bind = free_port(), dead1 = free_port();
	int		 dead2 = free_port();
	char		*conf = config_pools(bind, dead1, dead2,
	    "\"retry-pause-max\":2");
	struct proxy	*p = proxy_start(conf);

	/*
	 * Nothing listens: each failed round of the list pauses
	 * retry-pause (1 s), doubled, up to retry-pause-max (2 s).
	 */
	cr_assert(proxy_wait_log(p, "every pool failed; next round in 1 s",
	    WAIT_MS));
	cr_assert(proxy_wait_log(p, "every pool failed; next round in 2 s",
	    WAIT_MS));
	cr_assert(proxy_wait_log(p, "type=pool_close", WAIT_MS));
	while (proxy_log_count(p, "every pool failed; next round in 2 s") < 2)
		cr_assert(proxy_wait_log(p, "next round in", WAIT_MS));
	cr_assert_eq(proxy_log_count(p, "next round in 4 s"), 0,
	    "the pause went past retry-pause-max");
	/* Many attempts, one transition line. */
	cr_assert_eq(proxy_log_count(p, "state=down"), 1);
	cr_assert(proxy_log_count(p, "type=pool_close") >= 4);
	proxy_finish(p);
	free(conf);
}

/*
 * The standby: a second connection logged in to the backup from the
 * start. The primary dies on the first submit; the upstream takes over
 * the standby's connection at once: the miner gets the backup's job
 * within 1 s, with no new connection and no reconnect, and its shares
 * are accepted there.
 */
Test(failover, standby_takes_over_at_once)
{
	int		 bind = free_port();
	struct tlisten	*prim = tl_listen(0), *back = tl_listen(0);
	char		*conf = config_pools(bind, prim->port, back->port,
	    "\"failover-standby\":true");
	struct proxy	*p = proxy_start(conf);
	struct tjob	 p1, b1;
	char		 bblob[256], nonce[9], result[65];
	struct tconn	*pc, *bc;
	struct fm	 m;
	json_t		*r;
	long long	 t0;
	json_int_t	 sid;

	tjob_default(&p1, "p1");
	pc = pool_up(p, prim, "WALLET", "primary-session", &p1);
	job_variant(&b1, bblob, "b1", 'f');
	bc = pool_up(p, back, "BACKUP", "standby-session", &b1);
	cr_assert(proxy_wait_log(p, "type=pool_standby", WAIT_MS));
	fm_login(p, bind, &m);
	cr_assert_str_eq(m.job_id, "p1");

	/* The primary takes the share and dies without an answer. */
	fm_send_share(&m, 2, "p1", 1, nonce, result);
	pool_expect_submit(pc, "primary-session", "p1", nonce, result);
	t0 = now_ms();
	tc_close(pc);
	tl_close(prim);
	r = tc_recv_reply(m.c, 2, WAIT_MS);
	cr_assert_not_null(r, "the submit in flight was never answered");
	json_decref(r);
	fm_expect_job(p, &m, &b1);
	cr_assert_lt(now_ms() - t0, 1000, "the backup's job came %lld ms "
	    "after the primary died", now_ms() - t0);
	cr_assert(proxy_wait_log(p, "reason=standby", WAIT_MS));

	/* Shares go to the standby's connection, under its session. */
	fm_send_share(&m, 3, "b1", 2, nonce, result);
	sid = pool_expect_submit(bc, "standby-session", "b1", nonce, result);
	pool_answer_ok(bc, sid);
	expect_status(p, m.c, 3, "OK");
	cr_assert_eq(proxy_log_count(p, "type=miner_close"), 0);
	tc_close(m.c);
	tc_close(bc);
	tl_close(back);
	proxy_finish(p);
	free(conf);
}

/*
 * A primary that logs in and dies right after each job is as down as one
 * that refuses connections: sessions shorter than pool-min-session are
 * failures, and after `retries` of them the backup serves.
 */
Test(failover, short_sessions_are_failures)
{
	int		 bind = free_port();
	struct tlisten	*prim = tl_listen(0), *back = tl_listen(0);
	int		 ports[2] = { prim->port, back->port };
	/* defaults: retries 2, retry-pause 1, as xmrig-proxy. */
	char		*conf = config_n(bind, ports, 2, "\"pool-min-session\":30",
	    1);
	struct proxy	*p = proxy_start(conf);
	struct tjob	 p1, b1;
	char		 bblob[256], nonce[9], result[65];
	struct tconn	*pc, *bc;
	struct fm	 m;
	json_t		*login;
	json_int_t	 sid;

	tjob_default(&p1, "p1");
	for (int i = 0; i < 2; i++) {
		pc = pool_up(p, prim, "WALLET", "flaky-session", &p1);
		cr_assert(proxy_wait_log(p, "state=up index=0", WAIT_MS));
		tc_close(pc);
		while (proxy_log_count(p, "state=down") < i + 1)
			cr_assert(proxy_wait_log(p, "state=down", WAIT_MS));
	}
	/* Two short sessions: the backup, not the primary again. */
	bc = pool_accept(p, back, "BACKUP", SWITCH_MS, &login, NULL);
	job_variant(&b1, bblob, "b1", 'f');
	pool_send_login_ok(bc, login, "backup-session", &b1);
	json_decref(login);
	cr_assert(proxy_wait_log(p, "state=up index=1", WAIT_MS));
	fm_login(p, bind, &m);
	cr_assert_str_eq(m.job_id, "b1");
	fm_send_share(&m, 2, "b1", 1, nonce, result);
	sid = pool_expect_submit(bc, "backup-session", "b1", nonce, result);
	pool_answer_ok(bc, sid);
	expect_status(p, m.c, 2, "OK");
	tc_close(m.c);
	tc_close(bc);
	tl_close(prim);
	tl_close(back);
	proxy_finish(p);
	free(conf);
}

/*
 * A primary that accepts TCP and never answers, with the standby on: the
 * login's timeout is the detection, and within 1 s of it the waiting
 * miner has the backup's job from the standby's connection.
 */
Test(failover, silent_primary_standby)
{
	int		 bind = free_port();
	struct tlisten	*prim = tl_listen(0), *back = tl_listen(0);
	char		*conf;
	struct proxy	*p;
	struct tconn	*silent, *bc;
	struct tjob	 b1;
	char		 bblob[256];
	struct fm	 m;
	json_t		*login, *r;
	long long	 t0;

	/*
	 * A longer response timeout than the other tests', so that the
	 * standby is surely up before the silent primary is given up.
	 */
	cr_assert(asprintf(&conf, "{\"mode\":\"nicehash\",\"bind\":[{\"host\":"
	    "\"127.0.0.1\",\"port\":%d}],\"pools\":[{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"WALLET\",\"pass\":\"x\"},{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"BACKUP\",\"pass\":\"x\"}],\"retries\":1,"
	    "\"retry-pause\":1,\"failover-standby\":true,"
	    "\"pool-response-timeout\":4,\"watch\":false}\n", bind,
	    prim->port, back->port) != -1);
	p = proxy_start(conf);

	/* The standby logs in to the backup; the primary stays silent. */
	silent = pool_accept(p, prim, "WALLET", WAIT_MS, &login, NULL);
	json_decref(login);
	job_variant(&b1, bblob, "b1", 'f');
	bc = pool_up(p, back, "BACKUP", "standby-session", &b1);
	cr_assert(proxy_wait_log(p, "type=pool_standby", WAIT_MS));
	fm_send_login(&m, bind);
	cr_assert(proxy_wait_log(p, "type=miner_login", WAIT_MS));

	/* Detection: the login's reply never came. */
	cr_assert(proxy_wait_log(p, "reason=timeout", 4000 + 2500),
	    "the silent primary was never given up");
	t0 = now_ms();
	r = tc_recv_reply(m.c, 1, 1000);
	fm_take_reply(p, &m, r);
	json_decref(r);
	cr_assert_str_eq(m.job_id, "b1");
	cr_assert_lt(now_ms() - t0, 1000, "the backup's job came %lld ms "
	    "after the timeout", now_ms() - t0);
	cr_assert(proxy_log_count(p, "reason=standby") == 1);
	tc_close(m.c);
	tc_close(silent);
	tc_close(bc);
	tl_close(prim);
	tl_close(back);
	proxy_finish(p);
	free(conf);
}

/*
 * A reload that reorders the pools restarts every upstream and the
 * standby: the old standby's connection is closed, a new one logs in to
 * the new second pool, and the miners get the new primary's job.
 */
Test(failover, standby_follows_reload)
{
	int		 bind = free_port();
	struct tlisten	*a = tl_listen(0), *b = tl_listen(0);
	char		*conf = config_pools(bind, a->port, b->port,
	    "\"failover-standby\":true"), *conf2;
	struct proxy	*p = proxy_start(conf);
	struct tjob	 ja, jb, jb2, ja2;
	char		 blob[256], blob2[256], blob3[256];
	struct tconn	*ac, *bc, *bc2, *ac2;
	struct fm	 m;

	tjob_default(&ja, "a1");
	ac = pool_up(p, a, "WALLET", "a-session", &ja);
	job_variant(&jb, blob, "b1", 'f');
	bc = pool_up(p, b, "BACKUP", "b-standby", &jb);
	cr_assert(proxy_wait_log(p, "type=pool_standby", WAIT_MS));
	fm_login(p, bind, &m);
	cr_assert_str_eq(m.job_id, "a1");

	/* Swap the pools: b is the primary now, a the one to stand by. */
	cr_assert(asprintf(&conf2, "{\"mode\":\"nicehash\",\"bind\":[{\"host\":"
	    "\"127.0.0.1\",\"port\":%d}],\"pools\":[{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"BACKUP\",\"pass\":\"x\"},{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"WALLET\",\"pass\":\"x\"}],\"retries\":1,"
	    "\"retry-pause\":1,\"failover-standby\":true,"
	    "\"pool-response-timeout\":%d,\"watch\":false}\n", bind, b->port,
	    a->port, RESPONSE_S) != -1);
	proxy_write_config(p, conf2);
	proxy_signal(p, SIGHUP);
	cr_assert(proxy_wait_log(p, "type=reload status=done", WAIT_MS));
	cr_assert(tc_wait_closed(ac, WAIT_MS), "the old primary's connection "
	    "stayed open");
	cr_assert(tc_wait_closed(bc, WAIT_MS), "the old standby stayed open");
	job_variant(&jb2, blob2, "b2", 'e');
	bc2 = pool_up(p, b, "BACKUP", "b-primary", &jb2);
	fm_expect_job(p, &m, &jb2);
	job_variant(&ja2, blob3, "a2", 'd');
	ac2 = pool_up(p, a, "WALLET", "a-standby", &ja2);
	cr_assert(proxy_wait_log(p, "type=pool_standby", WAIT_MS));
	cr_assert_eq(proxy_log_count(p, "type=miner_close"), 0);
	tc_close(m.c);
	tc_close(ac);
	tc_close(bc);
	tc_close(ac2);
	tc_close(bc2);
	tl_close(a);
	tl_close(b);
	proxy_finish(p);
	free(conf);
	free(conf2);
}

/*
 * A primary that goes quiet in mid-session, with nothing left to answer:
 * after pool-quiet-probe seconds of silence it gets a keepalived, and
 * leaving that unanswered for pool-response-timeout fails it over. A
 * quiet pool that answers the probe (the standby here) stays up.
 */
Test(failover, silent_mid_session)
{
	int		 bind = free_port();
	struct tlisten	*prim = tl_listen(0), *back = tl_listen(0);
	char		*conf, *line;
	struct proxy	*p;
	struct tconn	*pc, *bc;
	struct tjob	 a1, b1;
	char		 ablob[256], bblob[256];
	struct fm	 m;
	json_t		*j;
	long long	 deadline, t0;

	cr_assert(asprintf(&conf, "{\"mode\":\"nicehash\",\"bind\":[{\"host\":"
	    "\"127.0.0.1\",\"port\":%d}],\"pools\":[{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"WALLET\",\"pass\":\"x\"},{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"BACKUP\",\"pass\":\"x\"}],\"retries\":1,"
	    "\"retry-pause\":1,\"failover-standby\":true,"
	    "\"pool-response-timeout\":2,\"pool-quiet-probe\":2,"
	    "\"watch\":false}\n", bind, prim->port, back->port) != -1);
	p = proxy_start(conf);
	job_variant(&a1, ablob, "a1", 'a');
	job_variant(&b1, bblob, "b1", 'f');
	pc = pool_up(p, prim, "WALLET", "s1", &a1);
	bc = pool_up(p, back, "BACKUP", "standby-session", &b1);
	cr_assert(proxy_wait_log(p, "type=pool_standby", WAIT_MS));
	fm_login(p, bind, &m);
	cr_assert_str_eq(m.job_id, "a1");

	/* The standby answers its probes; the primary never does. */
	deadline = now_ms() + 2000 + 2000 + 3000;
	while (proxy_log_count(p, "no reply to keepalived") == 0) {
		cr_assert_lt(now_ms(), deadline, "the quiet primary was "
		    "never probed and given up");
		if ((j = tc_recv(bc, 100)) != NULL)
			json_decref(j);
	}
	t0 = now_ms();
	line = tc_recv_line(pc, 0);
	cr_assert(line != NULL && strstr(line, "\"keepalived\"") != NULL,
	    "the primary got no keepalived probe: %s", line);
	free(line);
	j = tc_recv(m.c, 1000);
	if (j == NULL)
		proxy_dump_log(p);
	cr_assert(j != NULL, "no job from the backup within 1 s");
	cr_assert_str_eq(jstr(j, "params.job_id"), "b1", "%s", jtext(j));
	cr_assert_lt(now_ms() - t0, 1000);
	json_decref(j);
	cr_assert_geq(bc->keepalived, 1, "the standby was never probed");
	cr_assert(proxy_log_count(p, "reason=standby") == 1);
	tc_close(m.c);
	tc_close(pc);
	tc_close(bc);
	tl_close(prim);
	tl_close(back);
	proxy_finish(p);
	free(conf);
}
