/*
 * test_coinsrc.cc: the sources of the user->coin map against the real
 * daemon: the periodic pull of switch.user-coin-url (last_date, answers
 * it takes and answers it refuses, a server that never answers, https,
 * reload) and switch.state-file (the map across a restart, a folder that
 * does not exist, a corrupt file, stale entries).
 *
 * The user-coin server is a listening socket in the test: accept, read
 * the request, check last_date, answer a canned body. Every wait is on a
 * socket, a log line or an API value, against a deadline.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000

TestSuite(coin_sources, .timeout = 60);

/* A proxy with two coins, the API, a fake pool per coin, a fake server. */
struct rig {
	int		 bind;
	int		 http;
	struct tlisten	*p1;		/* the default coin's pool */
	struct tlisten	*p2;		/* coin xmr2's pool */
	struct tlisten	*uc;		/* the user-coin server */
	struct tconn	*pc1;		/* the proxy at p1, logged in */
	struct proxy	*p;
};

/* Milliseconds on the monotonic clock. */
static long long
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline, at least 0. */
static int
left(long long deadline)
{
	long long	l = deadline - mono_ms();

	return l > 0 ? (int)l : 0;
}

/*
 * The config: the default coin at p1, xmr2 at p2, the API, and sw as
 * the "switch" object's members.
 */
static char *
rig_config(struct rig *rg, const char *sw)
{
	char	*s;

	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"A\","
	    "\"pass\":\"x\"}],\"coins\":{\"xmr2\":{\"pools\":[{\"url\":"
	    "\"127.0.0.1:%d\",\"user\":\"B\",\"pass\":\"x\"}]}},"
	    "\"switch\":{%s},\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\","
	    "\"port\":%d},\"retries\":1,\"retry-pause\":1,\"watch\":false}\n",
	    rg->bind, rg->p1->port, rg->p2->port, sw, rg->http) != -1);
	return s;
}

/* The "switch" members with the pull at the rig's fake server. */
static char *
rig_switch(struct rig *rg, const char *userinfo, const char *state)
{
	char	*s;

	cr_assert(asprintf(&s, "\"user-coin-url\":\"http://%s127.0.0.1:%d/uc\","
	    "\"interval\":1,\"timeout\":2,\"state-file\":\"%s\"",
	    userinfo != NULL ? userinfo : "", rg->uc->port, state) != -1);
	return s;
}

/* Sockets for a rig; no daemon yet. */
static void
rig_init(struct rig *rg)
{
	memset(rg, 0, sizeof *rg);
	rg->bind = free_port();
	rg->http = free_port();
	rg->p1 = tl_listen(0);
	rg->p2 = tl_listen(0);
	rg->uc = tl_listen(0);
}

/* The proxy's connection to p1: take it and log it in. */
static void
rig_pool_up(struct rig *rg)
{
	rg->pc1 = pool_bring_up(rg->p1, rg->p);
}

/* Start the proxy on the rig's config with sw, and its default pool. */
static void
rig_start(struct rig *rg, const char *sw)
{
	char	*conf = rig_config(rg, sw);

	rg->p = proxy_start(conf);
	free(conf);
	rig_pool_up(rg);
}

/* Stop the proxy (it must exit cleanly) and free everything. */
static void
rig_stop(struct rig *rg)
{
	proxy_stop_clean(rg->p);
	tc_close(rg->pc1);
	tl_close(rg->p1);
	tl_close(rg->p2);
	tl_close(rg->uc);
	proxy_free(rg->p);
}

/* GET path from the API; the status, and the body (free it). */
static char *
http_get(int port, const char *path, int *status)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	char			*req, *buf = NULL, *body;
	size_t			 len = 0, cap = 0;
	long long		 deadline = mono_ms() + WAIT_MS;
	ssize_t			 n;
	int			 fd, reqlen;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "connect to the API: %s", strerror(errno));
	reqlen = asprintf(&req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n", path);
	cr_assert(reqlen > 0 && write(fd, req, (size_t)reqlen) == reqlen);
	free(req);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 16384 : cap * 2;
			buf = (char *)realloc(buf, cap + 1);
			cr_assert(buf != NULL);
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		cr_assert(poll(&pfd, 1, left(deadline)) == 1,
		    "API answer to GET %s timed out", path);
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	cr_assert(sscanf(buf, "HTTP/1.1 %d", status) == 1,
	    "not an HTTP answer: %s", buf);
	body = strstr(buf, "\r\n\r\n");
	cr_assert(body != NULL, "no end of headers: %s", buf);
	body = strdup(body + 4);
	free(buf);
	return body;
}

/* GET /1/coins, parsed. */
static json_t *
coins_get(struct rig *rg)
{
	json_t	*j;
	char	*body;
	int	 status;

	body = http_get(rg->http, "/1/coins", &status);
	cr_assert_eq(status, 200, "GET /1/coins: %d %s", status, body);
	j = json_loads(body, 0, NULL);
	cr_assert(j != NULL, "GET /1/coins: not JSON: %s", body);
	free(body);
	return j;
}

/* The users count of /1/coins. */
static long long
coins_users(struct rig *rg)
{
	json_t		*j = coins_get(rg);
	long long	 n;

	cr_assert(json_is_integer(json_object_get(j, "users")), "%s",
	    jtext(j));
	n = json_integer_value(json_object_get(j, "users"));
	json_decref(j);
	return n;
}

/* A sample's value in /metrics, by its name and labels; -1 if absent. */
static long long
metric(struct rig *rg, const char *series)
{
	char		*body, *hit;
	size_t		 len = strlen(series);
	long long	 v = -1;
	int		 status;

	body = http_get(rg->http, "/metrics", &status);
	cr_assert_eq(status, 200);
	for (hit = body; (hit = strstr(hit, series)) != NULL; hit += len) {
		if ((hit == body || hit[-1] == '\n') && hit[len] == ' ') {
			v = strtoll(hit + len + 1, NULL, 10);
			break;
		}
	}
	free(body);
	return v;
}

/*
 * Take the proxy's next pull at uc: its request line must ask for
 * last_date (and carry auth as its Authorization header when auth is
 * set). With cert/key the connection is TLS first. Returns the
 * connection, its headers read, ready for an answer.
 */
static struct tconn *
uc_take(struct rig *rg, long long last_date, const char *auth,
    const char *cert, const char *key)
{
	struct tconn	*c;
	char		*line, want[64];
	int		 authed = 0;

	c = tl_accept(rg->uc, WAIT_MS);
	if (c == NULL)
		proxy_dump_log(rg->p);
	cr_assert(c != NULL, "no pull within %d ms", WAIT_MS);
	if (cert != NULL)
		cr_assert(tc_tls_server(c, cert, key), "TLS handshake failed");
	line = tc_recv_line(c, WAIT_MS);
	cr_assert(line != NULL, "no request line");
	snprintf(want, sizeof want, "GET /uc?last_date=%lld HTTP/1.1\r",
	    last_date);
	if (strcmp(line, want) != 0)
		proxy_dump_log(rg->p);
	cr_assert_str_eq(line, want, "the pull asked for %s", line);
	free(line);
	while ((line = tc_recv_line(c, WAIT_MS)) != NULL &&
	    strcmp(line, "\r") != 0) {
		if (auth != NULL && strncasecmp(line, "Authorization: ", 15) == 0)
			authed = strncmp(line + 15, auth, strlen(auth)) == 0;
		free(line);
	}
	cr_assert(line != NULL, "the request's headers do not end");
	free(line);
	cr_assert(auth == NULL || authed, "no Authorization: %s", auth);
	return c;
}

/* Answer a taken pull with status and body, and close. */
static void
uc_answer(struct tconn *c, int status, const char *body)
{
	cr_assert(tc_send(c, "HTTP/1.1 %d %s\r\nContent-Type: "
	    "application/json\r\nContent-Length: %zu\r\nConnection: close"
	    "\r\n\r\n%s", status, status == 200 ? "OK" : "Oops", strlen(body),
	    body));
	tc_close(c);
}

/* Take the next pull (asking for last_date) and answer it. */
static void
uc_serve(struct rig *rg, long long last_date, int status, const char *body)
{
	uc_answer(uc_take(rg, last_date, NULL, NULL, NULL), status, body);
}

/* A btcpool answer. */
static char *
uc_body(const char *user_coin, long long now_date)
{
	char	*s;

	cr_assert(asprintf(&s, "{\"err_no\":0,\"err_msg\":null,\"data\":"
	    "{\"user_coin\":%s,\"now_date\":%lld}}", user_coin,
	    now_date) != -1);
	return s;
}

/* Serve a btcpool answer to the pull asking for last_date. */
static void
uc_serve_map(struct rig *rg, long long last_date, const char *user_coin,
    long long now_date)
{
	char	*body = uc_body(user_coin, now_date);

	uc_serve(rg, last_date, 200, body);
	free(body);
}

/* The state file as JSON (it must parse). */
static json_t *
state_read(struct rig *rg, const char *name)
{
	json_error_t	 err;
	json_t		*j;
	char		*path;

	cr_assert(asprintf(&path, "%s/%s", rg->p->dir, name) != -1);
	j = json_load_file(path, 0, &err);
	cr_assert(j != NULL, "%s: %s", path, err.text);
	free(path);
	return j;
}

/* Log a fake miner in as login; the reply (its error must be null). */
static json_t *
miner_in(struct rig *rg, struct tconn *mc, const char *login)
{
	json_t	*r = miner_login(mc, login, "x", NULL, WAIT_MS);

	if (r == NULL || !json_is_null(json_object_get(r, "error")))
		proxy_dump_log(rg->p);
	cr_assert(r != NULL, "no login reply");
	cr_assert(json_is_null(json_object_get(r, "error")), "login: %s",
	    jtext(r));
	return r;
}

/*
 * The first pull asks for last_date=0, the next for the now_date of the
 * answer before; an empty user_coin is taken and moves it on; entries
 * for an unknown coin or a bad puname are left out with one warning; the
 * URL's user:pass goes out as Basic auth and never to the log; the map
 * lands in the state file.
 */
Test(coin_sources, pull_last_date)
{
	struct rig	 rg;
	struct tconn	*c;
	json_t		*j, *st;
	char		*sw;

	rig_init(&rg);
	sw = rig_switch(&rg, "puller:SECRETPW@", "uc.json");
	rig_start(&rg, sw);
	free(sw);

	/* base64("puller:SECRETPW") */
	c = uc_take(&rg, 0, "Basic cHVsbGVyOlNFQ1JFVFBX", NULL, NULL);
	uc_answer(c, 200, "{\"err_no\":0,\"data\":{\"user_coin\":{"
	    "\"WALLET2\":\"xmr2\",\"WALLET3\":\"nocoin\",\"bad name\":"
	    "\"xmr2\"},\"now_date\":1000}}");
	cr_assert(proxy_wait_log(rg.p, "type=switch_pull status=partial",
	    WAIT_MS));
	cr_assert(proxy_wait_log(rg.p, "changes=1 skipped=2 now_date=1000",
	    WAIT_MS));
	cr_assert_eq(coins_users(&rg), 1);
	j = coins_get(&rg);
	cr_assert(json_is_true(jget(j, "pull.ok")), "%s", jtext(j));
	cr_assert_gt(json_integer_value(jget(j, "pull.last")), 0);
	json_decref(j);
	st = state_read(&rg, "uc.json");
	cr_assert_eq(json_integer_value(json_object_get(st, "version")), 1);
	cr_assert_str_eq(jstr(st, "user_coin.WALLET2"), "xmr2", "%s",
	    jtext(st));
	cr_assert_eq(json_object_size(json_object_get(st, "user_coin")), 1);
	json_decref(st);

	/* An empty object is an answer: nothing changes, N moves on. */
	uc_serve_map(&rg, 1000, "{}", 2000);
	uc_serve_map(&rg, 2000, "{\"WALLET4\":\"default\"}", 3000);
	cr_assert(proxy_wait_log(rg.p, "changes=1 skipped=0 now_date=3000",
	    WAIT_MS));
	uc_serve_map(&rg, 3000, "{}", 3001);
	cr_assert_eq(coins_users(&rg), 2);
	/* The skipped entries were warned about once, not per answer. */
	cr_assert_eq(proxy_log_count(rg.p, "status=partial"), 1);
	cr_assert_eq(proxy_log_count(rg.p, "SECRETPW"), 0,
	    "the URL's password reached the log");
	cr_assert_geq(proxy_log_count(rg.p, "url=http://***@127.0.0.1"), 1);
	rig_stop(&rg);
}

/*
 * Answers that are refused keep the map and last_date: a user_coin
 * array (PHP's [] for empty), err_no != 0, a status other than 200, bad
 * JSON, a body over 4 MiB, no now_date. Each kind is warned about once
 * until a pull works again, then the recovery is logged.
 */
Test(coin_sources, pull_refused_answers)
{
	struct rig	 rg;
	struct tconn	*c;
	json_t		*j, *st;
	char		*sw, *body;

	rig_init(&rg);
	sw = rig_switch(&rg, NULL, "uc.json");
	rig_start(&rg, sw);
	free(sw);

	uc_serve_map(&rg, 0, "{\"WALLET2\":\"xmr2\"}", 1000);
	cr_assert(proxy_wait_log(rg.p, "changes=1", WAIT_MS));
	cr_assert_eq(coins_users(&rg), 1);

	uc_serve_map(&rg, 1000, "[]", 1100);
	cr_assert(proxy_wait_log(rg.p, "warning: type=switch_pull "
	    "status=error kind=answer", WAIT_MS));
	cr_assert_eq(coins_users(&rg), 1);
	j = coins_get(&rg);
	cr_assert(json_is_false(jget(j, "pull.ok")), "%s", jtext(j));
	cr_assert(strncmp(jstr(j, "pull.error"), "answer: ", 8) == 0, "%s",
	    jtext(j));
	json_decref(j);

	uc_serve(&rg, 1000, 200, "{\"err_no\":1,\"err_msg\":\"db down\","
	    "\"data\":{\"user_coin\":{\"WALLET2\":\"default\",\"WALLET5\":"
	    "\"xmr2\"},\"now_date\":1200}}");
	cr_assert(proxy_wait_log(rg.p, "kind=err_no", WAIT_MS));
	body = uc_body("{\"WALLET2\":\"default\"}", 1300);
	uc_serve(&rg, 1000, 500, body);
	free(body);
	cr_assert(proxy_wait_log(rg.p, "kind=http", WAIT_MS));
	uc_serve(&rg, 1000, 200, "{\"err_no\":0,\"data\":{\"user_coin\":");
	cr_assert(proxy_wait_log(rg.p, "kind=json", WAIT_MS));
	/* A body over 4 MiB is refused from its Content-Length on. */
	c = uc_take(&rg, 1000, NULL, NULL, NULL);
	tc_send(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n{\"err_no\"",
	    5 << 20);
	cr_assert(proxy_wait_log(rg.p, "kind=size", WAIT_MS));
	tc_close(c);
	uc_serve(&rg, 1000, 200, "{\"err_no\":0,\"data\":{\"user_coin\":{}}}");
	/* The next pull still asks for 1000; by then the last one is logged. */
	uc_serve_map(&rg, 1000, "{}", 2000);
	cr_assert(proxy_wait_log(rg.p, "now_date=2000 recovered=1", WAIT_MS));
	cr_assert_eq(proxy_log_count(rg.p, "warning: type=switch_pull "
	    "status=error kind=answer"), 1, "a kind was warned twice");
	cr_assert_eq(proxy_log_count(rg.p, "kind=answer"), 2);
	uc_serve_map(&rg, 2000, "{}", 2001);

	/* Nothing refused reached the map or the file. */
	cr_assert_eq(coins_users(&rg), 1);
	st = state_read(&rg, "uc.json");
	cr_assert_str_eq(jstr(st, "user_coin.WALLET2"), "xmr2", "%s",
	    jtext(st));
	cr_assert_eq(json_object_size(json_object_get(st, "user_coin")), 1);
	json_decref(st);
	j = coins_get(&rg);
	cr_assert(json_is_true(jget(j, "pull.ok")), "%s", jtext(j));
	cr_assert(json_is_null(jget(j, "pull.error")), "%s", jtext(j));
	json_decref(j);
	cr_assert_geq(metric(&rg, "sluice_switch_errors_total{kind=\"pull\"}"),
	    6);
	rig_stop(&rg);
}

/*
 * A server that takes the request and never answers: the pull gives up
 * after switch.timeout, and meanwhile a logged-in miner is served.
 */
Test(coin_sources, pull_timeout_miners_served)
{
	struct rig	 rg;
	struct tconn	*c, *mc;
	json_t		*r;
	long long	 taken, waited;
	char		 session[64];
	char		*sw, *body;
	int		 i, status;

	rig_init(&rg);
	sw = rig_switch(&rg, NULL, "uc.json");
	rig_start(&rg, sw);
	free(sw);
	uc_serve_map(&rg, 0, "{}", 5);
	mc = tc_connect(rg.bind);
	r = miner_in(&rg, mc, "WALLET");
	snprintf(session, sizeof session, "%s", jstr(r, "result.id"));
	json_decref(r);

	/* The next pull, a second after that one: take it, never answer. */
	c = uc_take(&rg, 5, NULL, NULL, NULL);
	taken = mono_ms();
	/* The pull hangs; the miner and the API are answered at once. */
	for (i = 0; i < 3; i++) {
		tc_send(mc, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":"
		    "\"keepalived\",\"params\":{\"id\":\"%s\"}}", 10 + i,
		    session);
		r = tc_recv_reply(mc, 10 + i, 1000);
		cr_assert(r != NULL, "keepalived %d unanswered while the pull "
		    "hangs", i);
		cr_assert_str_eq(jstr(r, "result.status"), "KEEPALIVED");
		json_decref(r);
		body = http_get(rg.http, "/1/summary", &status);
		cr_assert_eq(status, 200);
		free(body);
	}
	cr_assert_lt(mono_ms() - taken, 1500, "the loop stalled");
	cr_assert(proxy_wait_log(rg.p, "kind=timeout", 2 * WAIT_MS));
	waited = mono_ms() - taken;
	cr_assert_geq(waited, 1500, "timed out after %lld ms, not 2 s",
	    waited);
	cr_assert_leq(waited, 4000, "timed out after %lld ms, not 2 s",
	    waited);
	cr_assert(tc_wait_closed(c, WAIT_MS), "the hung pull was not closed");
	tc_close(c);
	/* N did not move; the next pull is served as usual. */
	uc_serve_map(&rg, 5, "{}", 10);
	cr_assert(proxy_wait_log(rg.p, "recovered=1", WAIT_MS));
	/* A stop while a pull hangs drops it: exit 0, nothing leaked. */
	c = uc_take(&rg, 10, NULL, NULL, NULL);
	tc_close(mc);
	rig_stop(&rg);
	tc_close(c);
}

/*
 * The map survives a restart: a pull maps WALLET2 to xmr2; a new daemon
 * in the same folder, without the pull, has the user and sends its
 * miner to xmr2's pool.
 */
Test(coin_sources, state_survives_restart)
{
	struct rig	 rg;
	struct tconn	*mc, *pc2;
	struct tjob	 job;
	json_t		*login, *r;
	char		*sw, *conf;

	rig_init(&rg);
	sw = rig_switch(&rg, NULL, "uc.json");
	rig_start(&rg, sw);
	free(sw);
	uc_serve_map(&rg, 0, "{\"WALLET2\":\"xmr2\"}", 1000);
	cr_assert(proxy_wait_log(rg.p, "changes=1", WAIT_MS));
	cr_assert_eq(proxy_stop(rg.p), 0);
	tc_close(rg.pc1);

	conf = rig_config(&rg, "\"state-file\":\"uc.json\"");
	proxy_write_config(rg.p, conf);
	free(conf);
	proxy_restart(rg.p);
	cr_assert(proxy_wait_log(rg.p, "type=switch_state status=loaded", 0));
	rig_pool_up(&rg);
	cr_assert_eq(coins_users(&rg), 1);

	mc = tc_connect(rg.bind);
	tc_send(mc, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"WALLET2.rig1\",\"pass\":\"x\","
	    "\"agent\":\"%s\"}}", HARNESS_LOGIN_AGENT);
	pc2 = tl_accept(rg.p2, WAIT_MS);
	if (pc2 == NULL)
		proxy_dump_log(rg.p);
	cr_assert(pc2 != NULL, "WALLET2's login did not reach xmr2's pool");
	login = pool_expect_login(pc2, WAIT_MS);
	cr_assert_str_eq(jstr(login, "params.login"), "B");
	tjob_default(&job, "x2job");
	pool_send_login_ok(pc2, login, "pool-session-2", &job);
	json_decref(login);
	r = tc_recv_reply(mc, 1, WAIT_MS);
	cr_assert(r != NULL && json_is_null(json_object_get(r, "error")),
	    "login: %s", jtext(r));
	cr_assert_str_eq(jstr(r, "result.job.job_id"), "x2job", "%s",
	    jtext(r));
	json_decref(r);
	tc_close(mc);
	tc_close(pc2);
	rig_stop(&rg);
}

/*
 * A state file in a folder that does not exist: the pull's changes are
 * refused (107), warned about, counted as kind="state", and last_date
 * stays so they are asked for again.
 */
Test(coin_sources, state_unwritable_refuses)
{
	struct rig	 rg;
	char		*sw;

	rig_init(&rg);
	sw = rig_switch(&rg, NULL, "nodir/uc.json");
	rig_start(&rg, sw);
	free(sw);
	uc_serve_map(&rg, 0, "{\"WALLET2\":\"xmr2\"}", 1000);
	cr_assert(proxy_wait_log(rg.p, "type=switch_state status=error",
	    WAIT_MS));
	cr_assert_eq(proxy_log_count(rg.p, "/nodir/uc.json op=\"open\" "
	    "reason=\"No such file or directory\""), 1);
	cr_assert(proxy_wait_log(rg.p, "kind=refused", WAIT_MS));
	cr_assert_eq(coins_users(&rg), 0);
	cr_assert_geq(metric(&rg, "sluice_switch_errors_total{kind=\"state\"}"),
	    1);
	cr_assert_geq(metric(&rg, "sluice_switch_errors_total{kind=\"pull\"}"),
	    1);
	/* Asked again from 0; refused again, but warned about once. */
	uc_serve_map(&rg, 0, "{\"WALLET2\":\"xmr2\"}", 1001);
	uc_serve_map(&rg, 0, "{}", 1002);
	cr_assert(proxy_wait_log(rg.p, "recovered=1", WAIT_MS));
	cr_assert_eq(proxy_log_count(rg.p, "type=switch_state status=error"),
	    1);
	cr_assert_geq(metric(&rg, "sluice_switch_errors_total{kind=\"state\"}"),
	    2);
	rig_stop(&rg);
}

/* A corrupt state file at start: a warning naming it, an empty map. */
Test(coin_sources, state_corrupt)
{
	struct rig	 rg;
	char		*conf, *want;
	int		 status;

	rig_init(&rg);
	conf = rig_config(&rg, "\"state-file\":\"uc.json\"");
	rg.p = proxy_new();
	proxy_write_config(rg.p, conf);
	free(conf);
	proxy_write_file(rg.p, "uc.json", "{\"version\":1,\"user_coin\":{"
	    "\"WALLET2\":\"xm");
	proxy_launch(rg.p);
	cr_assert(asprintf(&want, "type=switch_state status=error file=%s/"
	    "uc.json op=load", rg.p->dir) != -1);
	cr_assert(proxy_wait_log(rg.p, want, WAIT_MS));
	free(want);
	cr_assert(proxy_wait_log(rg.p, "type=ready", WAIT_MS));
	rig_pool_up(&rg);
	cr_assert_eq(coins_users(&rg), 0);
	free(http_get(rg.http, "/1/summary", &status));
	cr_assert_eq(status, 200);
	cr_assert_eq(metric(&rg, "sluice_switch_errors_total{kind=\"state\"}"),
	    1);
	rig_stop(&rg);
}

/*
 * A state file with entries for a coin the config no longer has and a
 * bad puname: those are skipped with one warning, the rest load.
 */
Test(coin_sources, state_stale_entries)
{
	struct rig	 rg;
	char		*conf;

	rig_init(&rg);
	conf = rig_config(&rg, "\"state-file\":\"uc.json\"");
	rg.p = proxy_new();
	proxy_write_config(rg.p, conf);
	free(conf);
	proxy_write_file(rg.p, "uc.json", "{\"version\":1,\"user_coin\":{"
	    "\"WALLET2\":\"xmr2\",\"WALLET3\":\"gone\",\"bad name\":\"xmr2\","
	    "\"WALLET4\":7}}\n");
	proxy_launch(rg.p);
	cr_assert(proxy_wait_log(rg.p, "type=switch_state status=skipped",
	    WAIT_MS));
	cr_assert(proxy_wait_log(rg.p, "users=1", WAIT_MS));
	cr_assert(proxy_wait_log(rg.p, "type=ready", WAIT_MS));
	rig_pool_up(&rg);
	cr_assert_eq(coins_users(&rg), 1);
	cr_assert_eq(proxy_log_count(rg.p, "skipped=3"), 1);
	rig_stop(&rg);
}

/*
 * https: a server whose certificate chains to a CA in SSL_CERT_FILE is
 * pulled; one whose CA is not trusted is a tls error.
 */
Test(coin_sources, pull_https)
{
	struct rig	 rg;
	struct tconn	*c;
	char		*conf, *sw, *ca, *cert, *key, *ocert, *okey;

	rig_init(&rg);
	rg.p = proxy_new();
	tls_make_certs(rg.p->dir, "uc");
	tls_make_certs(rg.p->dir, "other");
	cr_assert(asprintf(&ca, "%s/uc-ca.pem", rg.p->dir) != -1);
	cr_assert(asprintf(&cert, "%s/uc-cert.pem", rg.p->dir) != -1);
	cr_assert(asprintf(&key, "%s/uc-key.pem", rg.p->dir) != -1);
	cr_assert(asprintf(&ocert, "%s/other-cert.pem", rg.p->dir) != -1);
	cr_assert(asprintf(&okey, "%s/other-key.pem", rg.p->dir) != -1);
	setenv("SSL_CERT_FILE", ca, 1);
	cr_assert(asprintf(&sw, "\"user-coin-url\":\"https://127.0.0.1:%d/uc\","
	    "\"interval\":1,\"timeout\":2,\"state-file\":\"uc.json\"",
	    rg.uc->port) != -1);
	conf = rig_config(&rg, sw);
	free(sw);
	proxy_write_config(rg.p, conf);
	free(conf);
	proxy_launch(rg.p);
	cr_assert(proxy_wait_log(rg.p, "type=ready", WAIT_MS));
	rig_pool_up(&rg);

	c = uc_take(&rg, 0, NULL, cert, key);
	uc_answer(c, 200, "{\"err_no\":0,\"data\":{\"user_coin\":{"
	    "\"WALLET2\":\"xmr2\"},\"now_date\":77}}");
	cr_assert(proxy_wait_log(rg.p, "changes=1 skipped=0 now_date=77",
	    WAIT_MS));
	cr_assert_eq(coins_users(&rg), 1);

	/* The next pull meets a certificate of a CA nobody trusts. */
	c = tl_accept(rg.uc, WAIT_MS);
	cr_assert(c != NULL, "no second pull");
	cr_assert(!tc_tls_server(c, ocert, okey),
	    "the pull accepted an untrusted certificate");
	tc_close(c);
	cr_assert(proxy_wait_log(rg.p, "kind=tls", WAIT_MS));
	c = uc_take(&rg, 77, NULL, cert, key);
	uc_answer(c, 200, "{\"err_no\":0,\"data\":{\"user_coin\":{},"
	    "\"now_date\":78}}");
	cr_assert(proxy_wait_log(rg.p, "recovered=1", WAIT_MS));
	/* Stopped with a TLS pull in flight: exit 0, nothing leaked. */
	c = uc_take(&rg, 78, NULL, cert, key);
	rig_stop(&rg);
	tc_close(c);
	free(ca);
	free(cert);
	free(key);
	free(ocert);
	free(okey);
}

/*
 * Reload: a new interval keeps last_date; a new URL starts over at
 * last_date=0 on the new server; no URL stops the pull.
 */
Test(coin_sources, pull_reload)
{
	struct rig	 rg;
	struct tlisten	*old;
	json_t		*j;
	char		*sw, *conf;

	rig_init(&rg);
	sw = rig_switch(&rg, NULL, "uc.json");
	rig_start(&rg, sw);
	free(sw);
	uc_serve_map(&rg, 0, "{}", 500);
	cr_assert(proxy_wait_log(rg.p, "now_date=500", WAIT_MS));

	cr_assert(asprintf(&sw, "\"user-coin-url\":\"http://127.0.0.1:%d/uc\","
	    "\"interval\":2,\"timeout\":2,\"state-file\":\"uc.json\"",
	    rg.uc->port) != -1);
	conf = rig_config(&rg, sw);
	free(sw);
	proxy_write_config(rg.p, conf);
	free(conf);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", WAIT_MS));
	uc_serve_map(&rg, 500, "{}", 600);
	cr_assert(proxy_wait_log(rg.p, "now_date=600", WAIT_MS));

	old = rg.uc;
	rg.uc = tl_listen(0);
	sw = rig_switch(&rg, NULL, "uc.json");
	conf = rig_config(&rg, sw);
	free(sw);
	proxy_write_config(rg.p, conf);
	free(conf);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=switch_pull status=stop",
	    WAIT_MS));
	uc_serve_map(&rg, 0, "{}", 700);
	cr_assert(proxy_wait_log(rg.p, "now_date=700", WAIT_MS));
	tl_close(old);

	conf = rig_config(&rg, "\"state-file\":\"uc.json\"");
	proxy_write_config(rg.p, conf);
	free(conf);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=switch_pull status=stop",
	    WAIT_MS));
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", WAIT_MS));
	j = coins_get(&rg);
	cr_assert_eq(json_integer_value(jget(j, "pull.last")), 0, "%s",
	    jtext(j));
	json_decref(j);
	rig_stop(&rg);
}
