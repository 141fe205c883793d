/*
 * test_redis.cc: the user->coin map shared between sluice nodes through
 * Redis (src/redis.cc). Each test starts its own redis-server on a free
 * port (no persistence, its own folder) and one or two daemons sharing
 * its URL, each with two fake pools: the default coin's and xmr2's.
 *
 * Changes are made through a node's switch API, or through Redis itself
 * as another node would: HSET in sluice:user-coin, then PUBLISH on
 * sluice:switch. The effect is read from GET /1/coins and /metrics and
 * seen by fake miners moving. The Redis client here is a few lines of
 * RESP over a plain socket.
 *
 * redis-server must be installed (contrib/deps.sh does it); a missing
 * one fails the tests, it does not skip them. No sleeps: every wait is
 * on a socket, a log line or an API value, against a deadline.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rserver.h"

#define WAIT_MS		5000
#define REDIS_PASS	"redispw-SECRET"
/* The switch API's Basic auth: base64 of "sw:swpw-SECRET". */
#define SW_AUTH		"Authorization: Basic c3c6c3dwdy1TRUNSRVQ=\r\n"

TestSuite(redis, .timeout = 90);

/* A sluice node with its two fake pools. */
struct node {
	const char	*name;
	int		 bind;
	int		 http;
	struct tlisten	*t1;		/* the default coin's pool */
	struct tlisten	*t2;		/* xmr2's */
	struct tconn	*pc1;
	struct tconn	*pc2;
	struct proxy	*p;
	char		*conf;
};

/* A logged-in fake miner. */
struct fm {
	struct tconn	*c;
	char		 session[64];
	char		 job_id[64];
	int		 slot;
};

/* HSET user coin, then PUBLISH the change as a node named "test" does. */
static void
rs_switch(int port, const char *pass, const char *user, const char *coin,
    long long subscribers)
{
	json_t	*r;
	char	 msg[256];

	r = rs_call(port, pass, "HSET", "sluice:user-coin", user, coin, NULL);
	cr_assert(json_is_integer(r), "HSET: %s", jtext(r));
	json_decref(r);
	snprintf(msg, sizeof msg, "{\"node\":\"test\",\"user_coin\":"
	    "{\"%s\":\"%s\",\"NOCOIN_USER\":\"nocoin\"}}", user, coin);
	r = rs_call(port, pass, "PUBLISH", "sluice:switch", msg, NULL);
	cr_assert(json_is_integer(r), "PUBLISH: %s", jtext(r));
	if (subscribers >= 0)
		cr_assert_eq(json_integer_value(r), subscribers,
		    "PUBLISH reached %lld subscribers, want %lld",
		    (long long)json_integer_value(r), subscribers);
	json_decref(r);
}

/* The coin of user in the Redis hash, or NULL; *n: entries there. */
static char *
rs_coin(int port, const char *pass, const char *user, size_t *n)
{
	json_t	*r = rs_call(port, pass, "HGETALL", "sluice:user-coin", NULL);
	char	*coin = NULL;
	size_t	 i;

	cr_assert(json_is_array(r), "HGETALL: %s", jtext(r));
	for (i = 0; i + 1 < json_array_size(r); i += 2) {
		if (strcmp(json_string_value(json_array_get(r, i)), user) == 0)
			coin = strdup(json_string_value(json_array_get(r,
			    i + 1)));
	}
	*n = json_array_size(r) / 2;
	json_decref(r);
	return coin;
}

/* GET path on the node's API; the body (status 200 required). */
static char *
http_get(struct node *n, const char *path)
{
	struct hresp	*r = http_request(n->http, "GET", path, NULL, NULL);
	char		*body;

	cr_assert_eq(r->status, 200, "GET %s on %s: %d\n%s\n%s", path,
	    n->name, r->status, r->head, r->body);
	body = strdup(r->body);
	cr_assert(body != NULL);
	hresp_free(r);
	return body;
}

/*
 * POST /switch?puname=U&coin=C on a node's switch API; the err_no of
 * btcpool's answer.
 */
static int
api_switch(struct node *n, const char *user, const char *coin)
{
	struct hresp	*r;
	char		 path[256];
	json_t		*o;
	int		 err;

	snprintf(path, sizeof path, "/switch?puname=%s&coin=%s", user, coin);
	r = http_request(n->http, "POST", path, SW_AUTH, NULL);
	cr_assert_eq(r->status, 200, "POST %s on %s: %d\n%s\n%s", path,
	    n->name, r->status, r->head, r->body);
	o = json_loads(r->body, 0, NULL);
	cr_assert(json_is_integer(json_object_get(o, "err_no")),
	    "POST %s on %s: %s", path, n->name, r->body);
	err = (int)json_integer_value(json_object_get(o, "err_no"));
	json_decref(o);
	hresp_free(r);
	return err;
}

/* GET /1/coins: the "redis" state and the "users" count. */
static void
coins_get(struct node *n, char *state, size_t cap, long long *users)
{
	char		*body = http_get(n, "/1/coins");
	json_error_t	 err;
	json_t		*o = json_loads(body, 0, &err);

	cr_assert(o != NULL, "/1/coins: %s: %s", err.text, body);
	cr_assert(json_is_string(json_object_get(o, "redis")) &&
	    json_is_integer(json_object_get(o, "users")),
	    "/1/coins without redis or users: %s", body);
	snprintf(state, cap, "%s", json_string_value(json_object_get(o,
	    "redis")));
	*users = json_integer_value(json_object_get(o, "users"));
	cr_assert(strstr(body, "SECRET") == NULL, "a secret in /1/coins");
	json_decref(o);
	free(body);
}

/*
 * Wait until /1/coins says state (NULL: any) and users (-1: any);
 * false on timeout. Between tries the node's log is read for 20 ms.
 */
static bool
coins_wait(struct node *n, const char *state, long long users, int ms)
{
	int64_t		 deadline = now_ms() + ms;
	long long	 u;
	char		 st[32];

	for (;;) {
		coins_get(n, st, sizeof st, &u);
		if ((state == NULL || strcmp(st, state) == 0) &&
		    (users < 0 || u == users))
			return true;
		if (left_ms(deadline) == 0) {
			fprintf(stderr, "%s: /1/coins says redis=%s users=%lld,"
			    " want %s and %lld\n", n->name, st, u,
			    state != NULL ? state : "any", users);
			return false;
		}
		proxy_drain(n->p, 20);
	}
}

/* sluice_switch_errors_total{kind="redis"} from /metrics. */
static long long
redis_errors(struct node *n)
{
	const char	*key = "sluice_switch_errors_total{kind=\"redis\"} ";
	char		*body = http_get(n, "/metrics"), *p;
	long long	 v;

	p = strstr(body, key);
	cr_assert(p != NULL, "no %s in /metrics", key);
	v = strtoll(p + strlen(key), NULL, 10);
	free(body);
	return v;
}

/* Wait until the log holds count lines with needle. */
static bool
wait_count(struct proxy *p, const char *needle, int count, int ms)
{
	int64_t	 deadline = now_ms() + ms;

	while (proxy_log_count(p, needle) < count) {
		if (left_ms(deadline) == 0) {
			proxy_dump_log(p);
			fprintf(stderr, "timed out after %d ms waiting for %d "
			    "lines with \"%s\"\n", ms, count, needle);
			return false;
		}
		proxy_drain(p, left_ms(deadline) < 20 ? left_ms(deadline) : 20);
	}
	return true;
}

/* Accept the node at a fake pool and log it in with job_id. */
static struct tconn *
pool_login_job(struct node *n, struct tlisten *tl, const char *job_id,
    int ms)
{
	struct tconn	*pc;
	struct tjob	 job;
	json_t		*login;

	pc = tl_accept(tl, ms);
	if (pc == NULL)
		proxy_dump_log(n->p);
	cr_assert(pc != NULL, "%s did not connect to its fake pool within "
	    "%d ms", n->name, ms);
	login = pool_expect_login(pc, WAIT_MS);
	cr_assert(login != NULL, "%s sent no login", n->name);
	tjob_default(&job, job_id);
	pool_send_login_ok(pc, login, "0123456789abcdef", &job);
	json_decref(login);
	return pc;
}

/* The node's config; without switch.redis when redis_port is 0. */
static char *
node_config(struct node *n, int redis_port, const char *pass)
{
	char	*s, url[128];

	snprintf(url, sizeof url, ",\"redis\":\"redis://%s%s%s127.0.0.1:%d/0\"",
	    pass != NULL ? ":" : "", pass != NULL ? pass : "",
	    pass != NULL ? "@" : "", redis_port);
	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"A\","
	    "\"pass\":\"x\"}],"
	    "\"coins\":{\"xmr2\":{\"pools\":[{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"B\",\"pass\":\"x\"}]}},"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d},"
	    "\"switch\":{\"user\":\"sw\",\"password\":\"swpw-SECRET\","
	    "\"state-file\":\"uc.json\"%s},"
	    "\"retries\":1,\"retry-pause\":1,\"watch\":false}\n",
	    n->bind, n->t1->port, n->t2->port, n->http,
	    redis_port != 0 ? url : "") != -1);
	return s;
}

/*
 * Start a node on the redis URL (password pass, or none): the default
 * coin's pool on t1, xmr2's on t2; wait until its default pool is up.
 * expect_up: wait for the link to Redis as well.
 */
static void
node_start(struct node *n, const char *name, int redis_port,
    const char *pass, bool expect_up)
{
	char	 job[32];

	memset(n, 0, sizeof *n);
	n->name = name;
	n->bind = free_port();
	n->http = free_port();
	n->t1 = tl_listen(0);
	n->t2 = tl_listen(0);
	n->conf = node_config(n, redis_port, pass);
	n->p = proxy_start(n->conf);
	snprintf(job, sizeof job, "%s-1", name);
	n->pc1 = pool_login_job(n, n->t1, job, WAIT_MS);
	cr_assert(wait_count(n->p, "state=up", 1, WAIT_MS),
	    "%s: its pool never came up", name);
	if (expect_up)
		cr_assert(wait_count(n->p, "type=redis status=up", 1,
		    WAIT_MS), "%s: no link to Redis", name);
}

/* Milliseconds left of a budget of ms that started at t0, at least 0. */
static int
budget(int64_t t0, int ms)
{
	return left_ms(t0 + ms);
}

/* Stop a node (it must exit cleanly, with no secret in its log); free. */
static void
node_stop(struct node *n)
{
	int	 code;

	cr_assert(!proxy_exited(n->p, 0), "%s died (status %d)", n->name,
	    proxy_exit_code(n->p));
	code = proxy_stop(n->p);
	if (code != 0 || proxy_log_count(n->p, "runtime error") > 0 ||
	    proxy_log_count(n->p, "AddressSanitizer") > 0)
		proxy_dump_log(n->p);
	cr_assert_eq(code, 0, "%s: exit status %d", n->name, code);
	cr_assert_eq(proxy_log_count(n->p, "runtime error"), 0);
	cr_assert_eq(proxy_log_count(n->p, "AddressSanitizer"), 0);
	cr_assert_eq(proxy_log_count(n->p, "SECRET"), 0,
	    "%s: a secret appeared in the log", n->name);
	proxy_free(n->p);
	if (n->pc1 != NULL)
		tc_close(n->pc1);
	if (n->pc2 != NULL)
		tc_close(n->pc2);
	tl_close(n->t1);
	tl_close(n->t2);
	free(n->conf);
}

/* Log a fake miner in on a node; it must get the job job_id. */
static void
fm_login(struct node *n, struct fm *m, const char *login, const char *job_id)
{
	json_t		*r;
	const char	*blob;

	memset(m, 0, sizeof *m);
	m->c = tc_connect(n->bind);
	r = miner_login(m->c, login, "x", NULL, WAIT_MS);
	if (r == NULL || !json_is_null(json_object_get(r, "error")))
		proxy_dump_log(n->p);
	cr_assert(r != NULL, "%s: no login reply", n->name);
	cr_assert(json_is_null(json_object_get(r, "error")), "login: %s",
	    jtext(r));
	snprintf(m->session, sizeof m->session, "%s", jstr(r, "result.id"));
	snprintf(m->job_id, sizeof m->job_id, "%s",
	    jstr(r, "result.job.job_id"));
	cr_assert_str_eq(m->job_id, job_id, "%s: login job", n->name);
	blob = jstr(r, "result.job.blob");
	cr_assert(blob != NULL && strlen(blob) >= 86);
	m->slot = blob_slot(blob);
	json_decref(r);
}

/* Wait for a job notification with job_id; take its slot. */
static void
fm_expect_job(struct node *n, struct fm *m, const char *job_id, int ms)
{
	int64_t		 deadline = now_ms() + ms;
	json_t		*j;

	for (;;) {
		j = tc_recv(m->c, left_ms(deadline));
		if (j == NULL)
			proxy_dump_log(n->p);
		cr_assert(j != NULL, "%s: the miner got no job %s within %d ms",
		    n->name, job_id, ms);
		if (jstr(j, "method") != NULL &&
		    strcmp(jstr(j, "method"), "job") == 0 &&
		    strcmp(jstr(j, "params.job_id"), job_id) == 0)
			break;
		json_decref(j);
	}
	snprintf(m->job_id, sizeof m->job_id, "%s", job_id);
	m->slot = blob_slot(jstr(j, "params.blob"));
	json_decref(j);
}

/* A share through the node to pool pc, answered OK, back to the miner. */
static void
fm_share(struct node *n, struct fm *m, struct tconn *pc, int id)
{
	char		 nonce[9], result[65];
	json_t		*s, *r;

	snprintf(nonce, sizeof nonce, "%06x%02x", id & 0xffffff, m->slot);
	make_result(result, 20000);
	tc_send(m->c, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"%s\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", id, m->session,
	    m->job_id, nonce, result);
	s = tc_recv(pc, WAIT_MS);
	if (s == NULL)
		proxy_dump_log(n->p);
	cr_assert(s != NULL, "%s: the pool received no submit", n->name);
	cr_assert_str_eq(jstr(s, "method"), "submit", "pool got %s",
	    jtext(s));
	tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}",
	    (long long)json_integer_value(json_object_get(s, "id")));
	json_decref(s);
	r = tc_recv_reply(m->c, id, WAIT_MS);
	cr_assert(r != NULL, "%s: no answer to the share", n->name);
	cr_assert_str_eq(jstr(r, "result.status"), "OK", "%s: share: %s",
	    n->name, jtext(r));
	json_decref(r);
}

/*
 * A change published through Redis reaches both nodes within a second:
 * the users count of each, and a connected miner of that user on B
 * moves to B's xmr2 pool. AUTH with the URL's password, which no log
 * line shows; an entry for a coin the nodes lack is skipped with one
 * warning, the rest applied.
 */
Test(redis, change_reaches_nodes)
{
	struct rsrv	*rs = rs_start(0, REDIS_PASS);
	struct node	 a, b;
	struct fm	 m;
	int64_t		 t0;
	char		*coin;
	size_t		 n;

	node_start(&a, "A", rs->port, REDIS_PASS, true);
	node_start(&b, "B", rs->port, REDIS_PASS, true);
	cr_assert(coins_wait(&a, "connected", 0, WAIT_MS));
	cr_assert(coins_wait(&b, "connected", 0, WAIT_MS));
	fm_login(&b, &m, "W1.rig1", "B-1");

	t0 = now_ms();
	rs_switch(rs->port, REDIS_PASS, "W1", "xmr2", 2);
	cr_assert(coins_wait(&b, "connected", 1, 1000),
	    "the change did not reach B within 1 s");
	cr_assert(coins_wait(&a, "connected", 1, budget(t0, 1000)),
	    "the change did not reach A within 1 s");
	/* B opens an upstream of xmr2 at once and the miner moves there. */
	b.pc2 = pool_login_job(&b, b.t2, "B-2", budget(t0, 1000));
	fm_expect_job(&b, &m, "B-2", WAIT_MS);
	fm_share(&b, &m, b.pc2, 2);
	cr_assert(wait_count(b.p, "status=skipped coin=nocoin", 1, WAIT_MS));

	/* Once per coin: the same unknown coin again warns no more. */
	rs_switch(rs->port, REDIS_PASS, "W2", "xmr2", 2);
	cr_assert(coins_wait(&b, "connected", 2, 1000));
	cr_assert_eq(proxy_log_count(b.p, "status=skipped coin=nocoin"), 1);

	coin = rs_coin(rs->port, REDIS_PASS, "W1", &n);
	cr_assert(coin != NULL && strcmp(coin, "xmr2") == 0);
	free(coin);
	tc_close(m.c);
	node_stop(&a);
	node_stop(&b);
	rs_free(rs);
}

/*
 * Redis dies and comes back empty while two nodes run: both keep
 * serving (miners' shares answered) with the map they had, say
 * "disconnected", warn once and count the outage; both reconnect and
 * resync, the map is written back (HGETALL shows it), and changes flow
 * again.
 */
Test(redis, outage_and_write_back)
{
	struct rsrv	*rs = rs_start(0, NULL);
	struct node	 a, b;
	struct fm	 ma, mb;
	char		*coin;
	size_t		 n;
	int		 port = rs->port;

	node_start(&a, "A", port, NULL, true);
	node_start(&b, "B", port, NULL, true);
	rs_switch(port, NULL, "W1", "xmr2", 2);
	cr_assert(coins_wait(&a, "connected", 1, WAIT_MS));
	cr_assert(coins_wait(&b, "connected", 1, WAIT_MS));
	cr_assert_eq(redis_errors(&a), 0);
	fm_login(&a, &ma, "W5", "A-1");
	fm_login(&b, &mb, "W5", "B-1");

	rs_kill(rs);
	cr_assert(wait_count(a.p, "type=redis status=down", 1, WAIT_MS));
	cr_assert(wait_count(b.p, "type=redis status=down", 1, WAIT_MS));
	cr_assert(coins_wait(&a, "disconnected", 1, WAIT_MS));
	cr_assert(coins_wait(&b, "disconnected", 1, WAIT_MS));
	cr_assert_geq(redis_errors(&a), 1);
	cr_assert_geq(redis_errors(&b), 1);
	/* Mining goes on without Redis. */
	fm_share(&a, &ma, a.pc1, 2);
	fm_share(&b, &mb, b.pc1, 2);
	/* A retry fails too, and is not warned about again. */
	cr_assert(wait_count(a.p, "type=redis status=retry_failed", 1,
	    WAIT_MS));
	cr_assert(wait_count(b.p, "type=redis status=retry_failed", 1,
	    WAIT_MS));
	cr_assert_eq(proxy_log_count(a.p, "type=redis status=down"), 1);
	cr_assert_eq(proxy_log_count(b.p, "type=redis status=down"), 1);
	cr_assert_geq(redis_errors(&a), 2);

	/* Back, empty: the map is written back, both resync. */
	rs_free(rs);
	rs = rs_start(port, NULL);
	cr_assert(wait_count(a.p, "type=redis status=up", 2, 35000));
	cr_assert(wait_count(b.p, "type=redis status=up", 2, 35000));
	cr_assert_geq(proxy_log_count(a.p, "type=redis status=write_back") +
	    proxy_log_count(b.p, "type=redis status=write_back"), 1);
	coin = rs_coin(port, NULL, "W1", &n);
	cr_assert(coin != NULL && strcmp(coin, "xmr2") == 0,
	    "W1 is %s in the hash after the write-back", coin);
	cr_assert_eq(n, 1);
	free(coin);
	cr_assert(coins_wait(&a, "connected", 1, WAIT_MS));
	cr_assert(coins_wait(&b, "connected", 1, WAIT_MS));
	fm_share(&a, &ma, a.pc1, 3);
	fm_share(&b, &mb, b.pc1, 3);

	/* Both subscribed again: a change reaches them. */
	rs_switch(port, NULL, "W3", "xmr2", 2);
	cr_assert(coins_wait(&a, "connected", 2, 1000));
	cr_assert(coins_wait(&b, "connected", 2, 1000));

	tc_close(ma.c);
	tc_close(mb.c);
	node_stop(&a);
	node_stop(&b);
	rs_free(rs);
}

/*
 * No Redis at start: the node serves, says "disconnected" and warns
 * once; the hash it finds when Redis comes is applied. A reload that
 * drops switch.redis turns the link off; one that sets it again
 * reconnects.
 */
Test(redis, late_server_and_reload)
{
	struct node	 a;
	struct rsrv	*rs;
	char		*conf;
	int		 port = free_port();
	json_t		*r;

	node_start(&a, "A", port, NULL, false);
	cr_assert(wait_count(a.p, "type=redis status=down", 1, WAIT_MS));
	cr_assert(coins_wait(&a, "disconnected", 0, WAIT_MS));
	cr_assert_geq(redis_errors(&a), 1);

	rs = rs_start(port, NULL);
	r = rs_call(port, NULL, "HSET", "sluice:user-coin", "W7", "xmr2",
	    "W8", "default", "W9", "nocoin", NULL);
	json_decref(r);
	cr_assert(wait_count(a.p, "type=redis status=up", 1, 35000));
	cr_assert(coins_wait(&a, "connected", 2, WAIT_MS));
	cr_assert_eq(proxy_log_count(a.p, "type=redis status=write_back"), 0);
	cr_assert(wait_count(a.p, "status=skipped coin=nocoin", 1, WAIT_MS));
	cr_assert_eq(proxy_log_count(a.p, "type=redis status=down"), 1);

	/* Without switch.redis: off, and the map stays. */
	conf = node_config(&a, 0, NULL);
	proxy_write_config(a.p, conf);
	proxy_signal(a.p, SIGHUP);
	cr_assert(proxy_wait_log(a.p, "type=reload status=done", WAIT_MS));
	cr_assert(wait_count(a.p, "type=redis status=off", 1, WAIT_MS));
	cr_assert(coins_wait(&a, "off", 2, WAIT_MS));
	/* And back. */
	proxy_write_config(a.p, a.conf);
	proxy_signal(a.p, SIGHUP);
	cr_assert(proxy_wait_log(a.p, "type=reload status=done", WAIT_MS));
	cr_assert(wait_count(a.p, "type=redis status=up", 2, WAIT_MS));
	cr_assert(coins_wait(&a, "connected", 2, WAIT_MS));
	free(conf);
	node_stop(&a);
	rs_free(rs);
}

/*
 * Failures that are not a dead server: a wrong password (AUTH refused)
 * and a server that accepts and never answers (a command unanswered
 * for 10 s). Both count as an outage: one warning, "disconnected",
 * counted; no password in any line; both nodes stop cleanly while they
 * retry.
 */
Test(redis, refused_and_silent)
{
	struct rsrv	*rs = rs_start(0, REDIS_PASS);
	struct tlisten	*silent = tl_listen(0);
	struct node	 a, b;

	node_start(&a, "A", rs->port, "wrongpw-SECRET", false);
	node_start(&b, "B", silent->port, NULL, false);
	cr_assert(wait_count(a.p, "type=redis status=down", 1, WAIT_MS));
	cr_assert_eq(proxy_log_count(a.p, "what=AUTH"), 1,
	    "the warning does not name AUTH");
	cr_assert(coins_wait(&a, "disconnected", 0, WAIT_MS));
	cr_assert_geq(redis_errors(&a), 1);
	/* The silent server: given up after 10 s without an answer. */
	cr_assert(wait_count(b.p, "type=redis status=down", 1, 15000));
	cr_assert_eq(proxy_log_count(b.p, "what=timeout"), 1,
	    "the warning does not say timeout");
	cr_assert(coins_wait(&b, "disconnected", 0, WAIT_MS));
	cr_assert_geq(redis_errors(&b), 1);
	cr_assert(wait_count(a.p, "type=redis status=retry_failed", 1,
	    WAIT_MS));
	cr_assert_eq(proxy_log_count(a.p, "type=redis status=down"), 1);
	node_stop(&a);
	node_stop(&b);
	tl_close(silent);
	rs_free(rs);
}

/*
 * A switch sent to node A's API is written to the hash and reaches node
 * B within a second: B's users count, and B's connected miner of that
 * user moves to B's xmr2 pool. A ignores its own message. With Redis
 * down, the API refuses a change with 107 and the map stays.
 */
Test(redis, api_change_reaches_other_node)
{
	struct rsrv	*rs = rs_start(0, NULL);
	struct node	 a, b;
	struct fm	 m;
	int64_t		 t0;
	char		*coin;
	size_t		 n;

	node_start(&a, "A", rs->port, NULL, true);
	node_start(&b, "B", rs->port, NULL, true);
	fm_login(&b, &m, "W1", "B-1");

	t0 = now_ms();
	cr_assert_eq(api_switch(&a, "W1", "xmr2"), 0);
	cr_assert(coins_wait(&b, "connected", 1, budget(t0, 1000)),
	    "the switch did not reach B within 1 s");
	b.pc2 = pool_login_job(&b, b.t2, "B-2", budget(t0, 1000));
	fm_expect_job(&b, &m, "B-2", WAIT_MS);
	fm_share(&b, &m, b.pc2, 2);
	cr_assert(coins_wait(&a, "connected", 1, WAIT_MS));
	coin = rs_coin(rs->port, NULL, "W1", &n);
	cr_assert(coin != NULL && strcmp(coin, "xmr2") == 0,
	    "W1 is %s in the hash", coin);
	cr_assert_eq(n, 1);
	free(coin);
	/* B applied A's message; A, which got it back, did not. */
	cr_assert(wait_count(b.p, "type=redis status=applied", 1, WAIT_MS));
	cr_assert_eq(proxy_log_count(a.p, "type=redis status=applied"), 0);

	/* Redis down: no change on one node only. */
	rs_kill(rs);
	cr_assert(coins_wait(&a, "disconnected", 1, WAIT_MS));
	cr_assert_eq(api_switch(&a, "W2", "xmr2"), 107);
	cr_assert(coins_wait(&a, "disconnected", 1, WAIT_MS));
	cr_assert(coins_wait(&b, "disconnected", 1, WAIT_MS));

	tc_close(m.c);
	node_stop(&a);
	node_stop(&b);
	rs_free(rs);
}
