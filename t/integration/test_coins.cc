/*
 * test_coins.cc: per-user coin switching through the real daemon. Two
 * coins on two fake pools; the btcpool switch API moves a user; its
 * connected miners get the other pool's job without a reconnect, their
 * shares follow, late shares for the old job reach the old pool, a miner
 * that cannot mine the coin's algorithm stays, and simple mode retires
 * the old upstream after switch.grace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define WAIT_MS		5000
#define SW_AUTH		"Authorization: Basic c3c6c2VjcmV0\r\n"	/* sw:secret */

TestSuite(coins, .timeout = 60);

/* The daemon, its two fake pools and the API port. */
struct two {
	int		 bind;
	int		 http;
	struct tlisten	*p1;		/* coin "default" */
	struct tlisten	*p2;		/* coin "xmr2" */
	struct tconn	*c1;		/* the default coin's pool connection */
	struct proxy	*p;
	char		*conf;
};

/* A logged-in fake miner; slot -1 in simple mode. */
struct fm {
	struct tconn	*c;
	char		 session[64];
	char		 job_id[64];
	int		 slot;
	int		 old_slot;	/* before a switch */
};

#define SW_DEFAULT	"{\"user\":\"sw\",\"password\":\"secret\"," \
			"\"state-file\":\"uc.json\",\"grace\":1}"

/*
 * Start the daemon on two coins, with sw as its "switch" object (NULL:
 * SW_DEFAULT); in nicehash mode the default coin's pool logs it in.
 */
static void
two_start(struct two *t, const char *mode, const char *sw)
{
	json_t		*login;
	struct tjob	 job;

	memset(t, 0, sizeof *t);
	t->bind = free_port();
	t->http = free_port();
	t->p1 = tl_listen(0);
	t->p2 = tl_listen(0);
	cr_assert(asprintf(&t->conf, "{\"mode\":\"%s\",\"bind\":[{\"host\":"
	    "\"127.0.0.1\",\"port\":%d}],\"pools\":[{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"POOL1\",\"pass\":\"x\"}],\"coins\":{\"xmr2\":{\"pools\":"
	    "[{\"url\":\"127.0.0.1:%d\",\"user\":\"POOL2\",\"pass\":\"x\"}],"
	    "\"algo\":\"rx/wow\"}},\"http\":{\"enabled\":true,\"host\":"
	    "\"127.0.0.1\",\"port\":%d},\"switch\":%s,"
	    "\"algo-ext\":true,\"watch\":false}\n", mode, t->bind,
	    t->p1->port, t->p2->port, t->http,
	    sw != NULL ? sw : SW_DEFAULT) != -1);
	t->p = proxy_start(t->conf);
	if (strcmp(mode, "nicehash") != 0)
		return;
	t->c1 = tl_accept(t->p1, WAIT_MS);
	cr_assert(t->c1 != NULL, "no connection to the default coin's pool");
	login = pool_expect_login(t->c1, WAIT_MS);
	tjob_default(&job, "a1");
	pool_send_login_ok(t->c1, login, "s1", &job);
	json_decref(login);
}

/* Stop the daemon (a clean exit) and free everything. */
static void
two_stop(struct two *t)
{
	int	 code = proxy_stop(t->p);

	if (code != 0 || proxy_log_count(t->p, "runtime error") > 0)
		proxy_dump_log(t->p);
	cr_assert_eq(code, 0, "sluice exit status %d", code);
	cr_assert_eq(proxy_log_count(t->p, "runtime error"), 0);
	if (t->c1 != NULL)
		tc_close(t->c1);
	tl_close(t->p1);
	tl_close(t->p2);
	proxy_free(t->p);
	free(t->conf);
}

/* Accept the proxy at pool tl as user, answer its login with job_id. */
static struct tconn *
pool_take(struct two *t, struct tlisten *tl, const char *user,
    const char *job_id)
{
	struct tconn	*pc;
	json_t		*login;
	struct tjob	 job;

	pc = tl_accept(tl, WAIT_MS);
	if (pc == NULL)
		proxy_dump_log(t->p);
	cr_assert(pc != NULL, "no connection to the pool at %d", tl->port);
	login = pool_expect_login(pc, WAIT_MS);
	cr_assert_str_eq(jstr(login, "params.login"), user);
	tjob_default(&job, job_id);
	pool_send_login_ok(pc, login, "s-other", &job);
	json_decref(login);
	return pc;
}

/* Log a miner in; algos is the JSON of its algo list, or NULL. */
static void
fm_login(struct two *t, struct fm *m, const char *user, const char *algos)
{
	json_t	*r;

	memset(m, 0, sizeof *m);
	m->c = tc_connect(t->bind);
	tc_send(m->c, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"%s\",\"pass\":\"x\",\"agent\":\"%s\"%s%s}}",
	    user, HARNESS_LOGIN_AGENT, algos != NULL ? ",\"algo\":" : "",
	    algos != NULL ? algos : "");
	r = tc_recv_reply(m->c, 1, WAIT_MS);
	if (r == NULL)
		proxy_dump_log(t->p);
	cr_assert(r != NULL, "no login reply");
	cr_assert(json_is_null(jget(r, "error")), "login failed: %s",
	    jtext(r));
	snprintf(m->session, sizeof m->session, "%s", jstr(r, "result.id"));
	snprintf(m->job_id, sizeof m->job_id, "%s",
	    jstr(r, "result.job.job_id"));
	m->slot = m->old_slot = blob_slot(jstr(r, "result.job.blob"));
	json_decref(r);
}

/* The miner's next job push; its job id. */
static void
fm_expect_job(struct two *t, struct fm *m, const char *job_id, int ms)
{
	json_t	*j = tc_recv(m->c, ms);

	if (j == NULL)
		proxy_dump_log(t->p);
	cr_assert(j != NULL, "no job push within %d ms (wanted %s)%s", ms,
	    job_id, m->c->eof ? ": the connection closed" : "");
	cr_assert_str_eq(jstr(j, "method"), "job", "%s", jtext(j));
	cr_assert_str_eq(jstr(j, "params.job_id"), job_id, "%s", jtext(j));
	snprintf(m->job_id, sizeof m->job_id, "%s", job_id);
	m->old_slot = m->slot;
	m->slot = blob_slot(jstr(j, "params.blob"));
	json_decref(j);
}

/* Send a share for job_id with nonce n in slot (simple mode: any). */
static void
fm_share(struct fm *m, int id, const char *job_id, int slot, uint32_t n)
{
	char	 result[65], nonce[9];

	snprintf(nonce, sizeof nonce, "%06x%02x", n & 0xffffff, slot & 0xff);
	make_result(result, 20000);
	tc_send(m->c, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"%s\",\"nonce\":\"%s\","
	    "\"result\":\"%s\"}}", id, m->session, job_id, nonce, result);
}

/* The pool must get a submit for job_id; answer it OK. */
static void
pool_expect_submit_for(struct two *t, struct tconn *pc, const char *job_id)
{
	json_t	*s = tc_recv(pc, WAIT_MS);

	if (s == NULL)
		proxy_dump_log(t->p);
	cr_assert(s != NULL, "the pool got no submit for %s", job_id);
	cr_assert_str_eq(jstr(s, "method"), "submit", "%s", jtext(s));
	cr_assert_str_eq(jstr(s, "params.job_id"), job_id, "%s", jtext(s));
	tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}",
	    (long long)json_integer_value(json_object_get(s, "id")));
	json_decref(s);
}

/* The miner's answer to submit id must be OK. */
static void
fm_expect_ok(struct two *t, struct fm *m, int id)
{
	json_t	*r = tc_recv_reply(m->c, id, WAIT_MS);

	if (r == NULL)
		proxy_dump_log(t->p);
	cr_assert(r != NULL, "submit %d unanswered", id);
	cr_assert_str_eq(jstr(r, "result.status"), "OK", "%s", jtext(r));
	json_decref(r);
}

/* POST /switch; the answer's err_no. */
static int
switch_user(struct two *t, const char *puname, const char *coin)
{
	struct hresp	*r;
	json_t		*j;
	char		 path[256];
	int		 err;

	snprintf(path, sizeof path, "/switch?puname=%s&coin=%s", puname,
	    coin);
	r = http_request(t->http, "POST", path, SW_AUTH, NULL);
	cr_assert_eq(r->status, 200, "%s: %d %s", path, r->status, r->body);
	j = json_loads(r->body, 0, NULL);
	cr_assert(j != NULL, "not JSON: %s", r->body);
	err = (int)json_integer_value(json_object_get(j, "err_no"));
	json_decref(j);
	hresp_free(r);
	return err;
}

/* GET /1/coins and return the coin's object's field (an integer). */
static long long
coin_field(struct two *t, const char *coin, const char *field)
{
	struct hresp	*r = http_request(t->http, "GET", "/1/coins", NULL,
			    NULL);
	json_t		*j, *c;
	size_t		 i;
	long long	 v = -1;

	cr_assert_eq(r->status, 200);
	j = json_loads(r->body, 0, NULL);
	cr_assert(j != NULL, "not JSON: %s", r->body);
	json_array_foreach(json_object_get(j, "coins"), i, c) {
		if (strcmp(jstr(c, "name"), coin) == 0)
			v = json_integer_value(json_object_get(c, field));
	}
	json_decref(j);
	hresp_free(r);
	return v;
}

/*
 * NiceHash: a switch gives the user's connected miner the other coin's
 * job on the same connection; its shares go to the other pool, a late
 * share for the old job to the old one; a new login of the user goes
 * straight to the new coin.
 */
Test(coins, nicehash_switch_moves_miner)
{
	struct two	 t;
	struct fm	 m, m2;
	struct tconn	*c2;

	two_start(&t, "nicehash", NULL);
	fm_login(&t, &m, "WALLET.rig1+5000", NULL);
	cr_assert_str_eq(m.job_id, "a1");
	cr_assert_eq(coin_field(&t, "default", "miners"), 1);

	cr_assert_eq(switch_user(&t, "WALLET", "xmr2"), 0);
	/* The proxy opens an upstream to the new coin's pool. */
	c2 = pool_take(&t, t.p2, "POOL2", "b1");
	fm_expect_job(&t, &m, "b1", 1000);
	cr_assert_eq(coin_field(&t, "xmr2", "miners"), 1);
	cr_assert_eq(coin_field(&t, "default", "miners"), 0);

	fm_share(&m, 10, "b1", m.slot, 1);
	pool_expect_submit_for(&t, c2, "b1");
	fm_expect_ok(&t, &m, 10);
	fm_share(&m, 11, "a1", m.old_slot, 2);
	pool_expect_submit_for(&t, t.c1, "a1");
	fm_expect_ok(&t, &m, 11);

	/* A new login of the user: the new coin at once. */
	fm_login(&t, &m2, "WALLET.rig2", NULL);
	cr_assert_str_eq(m2.job_id, "b1");
	/* Another user stays on the default coin. */
	tc_close(m2.c);
	fm_login(&t, &m2, "OTHER", NULL);
	cr_assert_str_eq(m2.job_id, "a1");
	/* Switching to the coin it is on: success, nothing changes. */
	cr_assert_eq(switch_user(&t, "WALLET", "xmr2"), 0);
	cr_assert(tc_recv(m.c, 300) == NULL, "a job came for no reason");
	cr_assert(proxy_wait_log(t.p, "type=switch moved=1", WAIT_MS));
	cr_assert_eq(proxy_log_count(t.p, "type=switch moved="), 1);

	tc_close(m.c);
	tc_close(m2.c);
	tc_close(c2);
	two_stop(&t);
}

/*
 * A miner whose algo list excludes the coin's algorithm is not moved and
 * is counted; a new login of the user with such a list goes to the
 * default coin. A miner with no list is moved.
 */
Test(coins, algo_excluded_is_refused)
{
	struct two	 t;
	struct fm	 a, b, c;
	struct tconn	*c2;

	two_start(&t, "nicehash", NULL);
	fm_login(&t, &a, "WALLET.a", "[\"rx/0\"]");
	fm_login(&t, &b, "WALLET.b", "[\"rx/0\",\"rx/wow\"]");
	cr_assert_eq(switch_user(&t, "WALLET", "xmr2"), 0);
	c2 = pool_take(&t, t.p2, "POOL2", "b1");
	fm_expect_job(&t, &b, "b1", 1000);
	cr_assert(tc_recv(a.c, 300) == NULL, "the rx/0 miner was moved");
	cr_assert_eq(coin_field(&t, "xmr2", "refused"), 1);
	fm_login(&t, &c, "WALLET.c", "[\"rx/0\"]");
	cr_assert_str_eq(c.job_id, "a1", "went to a coin it cannot mine");
	fm_share(&a, 5, "a1", a.slot, 3);
	pool_expect_submit_for(&t, t.c1, "a1");
	fm_expect_ok(&t, &a, 5);
	tc_close(a.c);
	tc_close(b.c);
	tc_close(c.c);
	tc_close(c2);
	two_stop(&t);
}

/*
 * Simple mode: the miner gets a new upstream on the new coin's pool; the
 * old one takes the late share, then closes after switch.grace.
 */
Test(coins, simple_switch_retires_old_upstream)
{
	struct two	 t;
	struct fm	 m;
	struct tconn	*c1, *c2;

	two_start(&t, "simple", NULL);
	memset(&m, 0, sizeof m);
	m.c = tc_connect(t.bind);
	tc_send(m.c, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"WALLET\",\"pass\":\"x\",\"agent\":\"%s\"}}",
	    HARNESS_LOGIN_AGENT);
	c1 = pool_take(&t, t.p1, "POOL1", "a1");
	{
		json_t *r = tc_recv_reply(m.c, 1, WAIT_MS);

		cr_assert(r != NULL, "no login reply");
		snprintf(m.session, sizeof m.session, "%s",
		    jstr(r, "result.id"));
		json_decref(r);
	}
	cr_assert_eq(switch_user(&t, "WALLET", "xmr2"), 0);
	c2 = pool_take(&t, t.p2, "POOL2", "b1");
	fm_expect_job(&t, &m, "b1", 1000);
	fm_share(&m, 7, "a1", 0, 4);
	pool_expect_submit_for(&t, c1, "a1");
	fm_expect_ok(&t, &m, 7);
	fm_share(&m, 8, "b1", 0, 5);
	pool_expect_submit_for(&t, c2, "b1");
	fm_expect_ok(&t, &m, 8);
	/* grace is 1 s: the old upstream's pool connection closes. */
	cr_assert(tc_wait_closed(c1, 4000), "the old upstream stayed open");
	fm_share(&m, 9, "a1", 0, 6);
	{
		json_t *r = tc_recv_reply(m.c, 9, WAIT_MS);

		cr_assert(r != NULL, "late share after grace unanswered");
		cr_assert_str_eq(jstr(r, "error.message"), "Job expired",
		    "%s", jtext(r));
		json_decref(r);
	}
	tc_close(m.c);
	tc_close(c1);
	tc_close(c2);
	two_stop(&t);
}

/*
 * A change that cannot be kept (the state file's folder is missing) is
 * refused with btcpool's 107 and changes nothing: the miner stays.
 */
Test(coins, unwritable_state_refuses_107)
{
	struct two	 t;
	struct fm	 m;

	two_start(&t, "nicehash", "{\"user\":\"sw\",\"password\":"
	    "\"secret\",\"state-file\":\"no/such/dir/uc.json\"}");
	fm_login(&t, &m, "WALLET", NULL);
	cr_assert_eq(switch_user(&t, "WALLET", "xmr2"), 107);
	cr_assert(proxy_wait_log(t.p, "no/such/dir", WAIT_MS),
	    "no warning names the state file");
	cr_assert(tc_recv(m.c, 300) == NULL, "the miner was moved");
	cr_assert_eq(coin_field(&t, "default", "miners"), 1);
	tc_close(m.c);
	two_stop(&t);
}
