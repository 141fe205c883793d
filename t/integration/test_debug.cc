/*
 * test_debug.cc: the debug endpoint (debug.*) against the real daemon:
 * a host off loopback refused at load (naming the key) unless
 * allow-remote with a token; each page with a live pool and miner; the
 * token; a move and a stop on reload; and a 2 s CPU profile that
 * google-pprof reads, with 409 for a second one meanwhile.
 */
#include <sys/socket.h>
#include <sys/stat.h>
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

#define T		5000	/* ms: a step's deadline */
#define TOKEN		"dbg-token-SECRET"

TestSuite(debug, .timeout = 90);

/* A proxy with the debug endpoint on, a fake pool and one miner. */
struct rig {
	int		 bind;
	int		 pool;
	int		 dport;
	struct tlisten	*tl;
	struct proxy	*p;
	struct tconn	*pc;
	struct tconn	*mc;
};

/* The config: debug on dport, with debug_extra inside "debug". */
static char *
rig_config(struct rig *rg, const char *debug_extra)
{
	char	*extra, *c;

	cr_assert(asprintf(&extra, "\"history\":false,\"debug\":{"
	    "\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d%s}",
	    rg->dport, debug_extra) != -1);
	c = config_basic(rg->bind, rg->pool, extra);
	free(extra);
	return c;
}

/* Start the rig; with a miner logged in unless bare. */
static void
rig_start(struct rig *rg, const char *debug_extra, int bare)
{
	json_t	*r;
	char	*c;

	memset(rg, 0, sizeof *rg);
	rg->tl = tl_listen(0);
	rg->bind = free_port();
	rg->pool = rg->tl->port;
	rg->dport = free_port();
	c = rig_config(rg, debug_extra);
	rg->p = proxy_start(c);
	free(c);
	cr_assert(proxy_wait_log(rg->p, "type=debug status=listening", T));
	json_decref(pool_login_of(rg->tl, &rg->pc));
	if (bare)
		return;
	rg->mc = tc_connect(rg->bind);
	r = miner_login(rg->mc, "WALLET.rig1", "x", "rig1", T);
	cr_assert(r != NULL && json_is_object(jget(r, "result")),
	    "login failed: %s", r != NULL ? jtext(r) : "(none)");
	json_decref(r);
}

static void
rig_stop(struct rig *rg)
{
	if (rg->mc != NULL)
		tc_close(rg->mc);
	tc_close(rg->pc);
	proxy_free(rg->p);
	tl_close(rg->tl);
}

/* GET path on the debug port, with the token when given. */
static struct hresp *
dget(struct rig *rg, const char *path, const char *token)
{
	struct hresp	*r;
	char		*hdr = NULL;

	if (token != NULL)
		cr_assert(asprintf(&hdr, "Authorization: Bearer %s\r\n",
		    token) != -1);
	r = http_request(rg->dport, "GET", path, hdr, NULL);
	free(hdr);
	return r;
}

/* GET a JSON page: 200, application/json, parsed. */
static json_t *
dget_json(struct rig *rg, const char *path)
{
	return hresp_json(dget(rg, path, NULL), path, rg->p);
}

/* An integer at path, which must be there. */
static long long
jint(json_t *o, const char *path)
{
	json_t	*v = jget(o, path);

	cr_assert(json_is_integer(v), "%s is not an integer in %s", path,
	    jtext(o));
	return json_integer_value(v);
}

/* Does a connect to 127.0.0.1:port get refused (nothing listens)? */
static bool
port_refuses(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, r;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1);
	r = connect(fd, (struct sockaddr *)&sin, sizeof sin);
	close(fd);
	return r == -1 && errno == ECONNREFUSED;
}

/* Run -n on a config; the exit code and the output. */
static int
check_text(const char *json, char **out)
{
	struct proxy	*p = proxy_new();
	int		 code;

	proxy_write_config(p, json);
	code = run_sluice(out, "-n", "-c", p->config, NULL);
	proxy_free(p);
	return code;
}

Test(debug, non_loopback_refused_naming_the_key)
{
	char	*c, *out;
	int	 code;

	c = config_basic(free_port(), free_port(), "\"debug\":{\"enabled\":"
	    "true,\"host\":\"0.0.0.0\",\"port\":6060}");
	code = check_text(c, &out);
	cr_assert_eq(code, 1, "-n exit %d:\n%s", code, out);
	must_say(out, "debug.host: \"0.0.0.0\" is not a loopback address");
	free(out);
	/* The daemon itself refuses to start on it. */
	code = proxy_start_expect_fail(c, &out);
	cr_assert_neq(code, 0);
	must_say(out, "debug.host");
	free(out);
	free(c);

	/* allow-remote alone is not enough: the token is named. */
	c = config_basic(free_port(), free_port(), "\"debug\":{\"host\":"
	    "\"10.1.2.3\",\"allow-remote\":true}");
	code = check_text(c, &out);
	cr_assert_eq(code, 1, "-n exit %d:\n%s", code, out);
	must_say(out, "debug.access-token: must be set");
	free(out);
	free(c);

	/* Both: accepted. Loopback forms: accepted without either. */
	c = config_basic(free_port(), free_port(), "\"debug\":{\"host\":"
	    "\"10.1.2.3\",\"allow-remote\":true,\"access-token\":\"t\"}");
	code = check_text(c, &out);
	cr_assert_eq(code, 0, "-n exit %d:\n%s", code, out);
	free(out);
	free(c);
	c = config_basic(free_port(), free_port(), "\"debug\":{\"host\":"
	    "\"::1\"}");
	code = check_text(c, &out);
	cr_assert_eq(code, 0, "-n exit %d:\n%s", code, out);
	free(out);
	free(c);
	c = config_basic(free_port(), free_port(), "\"debug\":{\"port\":0}");
	code = check_text(c, &out);
	cr_assert_eq(code, 1, "-n exit %d:\n%s", code, out);
	must_say(out, "debug.port");
	free(out);
	free(c);
}

Test(debug, each_page)
{
	struct rig	 rg;
	struct hresp	*r;
	json_t		*j, *m, *u, *h, *st;
	char		 peer[64];
	const char	*pages[] = { "/debug/loop", "/debug/events",
	    "/debug/memory", "/debug/connections", "/debug/profile" };
	size_t		 i;

	rig_start(&rg, "", 0);

	/* The index links every page; /debug answers it too. */
	r = dget(&rg, "/debug/", NULL);
	cr_assert_eq(r->status, 200, "%d %s", r->status, r->body);
	cr_assert(strstr(r->head, "Content-Type: text/html") != NULL);
	for (i = 0; i < sizeof pages / sizeof pages[0]; i++)
		cr_assert(strstr(r->body, pages[i]) != NULL, "no %s in:\n%s",
		    pages[i], r->body);
	hresp_free(r);
	r = dget(&rg, "/debug", NULL);
	cr_assert_eq(r->status, 200);
	hresp_free(r);

	/* The loop: turns timed, what ran, the longest turns. */
	j = dget_json(&rg, "/debug/loop");
	cr_assert(jint(j, "turns") > 0, "%s", jtext(j));
	cr_assert(jint(j, "max_us") > 0, "%s", jtext(j));
	h = jget(j, "histogram");
	cr_assert(json_is_array(h) && json_array_size(h) == 18, "%s",
	    jtext(j));
	cr_assert(json_is_null(json_object_get(json_array_get(h, 17),
	    "le_us")));
	cr_assert(jint(j, "ran.miner_read") >= 1, "%s", jtext(j));
	cr_assert(jint(j, "ran.pool_read") >= 1, "%s", jtext(j));
	cr_assert(json_array_size(jget(j, "stalls")) > 0, "%s", jtext(j));
	st = json_array_get(jget(j, "stalls"), 0);
	cr_assert(jint(st, "us") == jint(j, "max_us"), "%s", jtext(j));
	cr_assert(json_object_size(jget(st, "ran")) > 0, "%s", jtext(j));
	json_decref(j);

	/* libevent's dump. */
	r = dget(&rg, "/debug/events", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert(strstr(r->head, "Content-Type: text/plain") != NULL);
	cr_assert(strstr(r->body, "Inserted events:") != NULL, "%s",
	    r->body);
	cr_assert(strstr(r->body, "Read Persist") != NULL, "%s", r->body);
	hresp_free(r);

	/* Memory: the process, malloc, each subsystem. */
	j = dget_json(&rg, "/debug/memory");
	cr_assert(jint(j, "rss_bytes") > 1000000, "%s", jtext(j));
	/* Zero under ASan, whose allocator glibc's figures do not see. */
	cr_assert(jint(j, "malloc.in_use") >= 0, "%s", jtext(j));
	cr_assert(strstr(jstr(j, "malloc.info"), "<malloc") != NULL);
	cr_assert_eq(jint(j, "miners.count"), 1, "%s", jtext(j));
	cr_assert(jint(j, "miners.buffered_out") >= 0);
	cr_assert_eq(jint(j, "upstreams.count"), 1, "%s", jtext(j));
	cr_assert_eq(jint(j, "upstreams.pool_connections"), 1);
	cr_assert_eq(jint(j, "workers.count"), 1, "%s", jtext(j));
	cr_assert(jint(j, "lua_bytes") >= 0);
	cr_assert_eq(jint(j, "capture.records"), 0);
	cr_assert(json_is_integer(jget(j, "history.series")));
	json_decref(j);

	/* Connections: the miner as the proxy sees it, the pool's. */
	j = dget_json(&rg, "/debug/connections");
	cr_assert_eq(json_array_size(jget(j, "miners")), 1, "%s", jtext(j));
	m = json_array_get(jget(j, "miners"), 0);
	snprintf(peer, sizeof peer, "127.0.0.1:");
	cr_assert(strncmp(jstr(m, "peer"), peer, strlen(peer)) == 0, "%s",
	    jtext(m));
	cr_assert_eq(jint(m, "port"), rg.bind);
	cr_assert_str_eq(jstr(m, "state"), "ready", "%s", jtext(m));
	cr_assert_str_eq(jstr(m, "user"), "WALLET.rig1", "%s", jtext(m));
	cr_assert_eq(jint(m, "buffered_in"), 0);
	cr_assert_eq(jint(m, "buffered_out"), 0);
	cr_assert(jint(m, "age_s") >= 0 && jint(m, "idle_s") >= 0);
	cr_assert(jint(m, "rx") > 0 && jint(m, "tx") > 0, "%s", jtext(m));
	cr_assert(json_is_integer(jget(m, "upstream")), "%s", jtext(m));
	cr_assert_eq(json_array_size(jget(j, "upstreams")), 1);
	u = json_array_get(jget(j, "upstreams"), 0);
	cr_assert_eq(jint(u, "id"), jint(m, "upstream"), "%s", jtext(j));
	snprintf(peer, sizeof peer, "127.0.0.1:%d", rg.pool);
	cr_assert_str_eq(jstr(u, "pool.peer"), peer, "%s", jtext(u));
	cr_assert_str_eq(jstr(u, "pool.state"), "active", "%s", jtext(u));
	cr_assert_eq(jint(u, "pool.buffered_out"), 0);
	cr_assert(jint(u, "pool.rx") > 0, "%s", jtext(u));
	json_decref(j);

	/* 404 and 405, as JSON errors. */
	r = dget(&rg, "/debug/nope", NULL);
	cr_assert_eq(r->status, 404);
	hresp_free(r);
	r = http_request(rg.dport, "POST", "/debug/loop", NULL, "{}");
	cr_assert_eq(r->status, 405, "%d", r->status);
	hresp_free(r);
	/* The API's port is not the debug one: no API here. */
	r = dget(&rg, "/1/summary", NULL);
	cr_assert_eq(r->status, 404);
	hresp_free(r);
	rig_stop(&rg);
}

Test(debug, token)
{
	struct rig	 rg;
	struct hresp	*r;

	rig_start(&rg, ",\"access-token\":\"" TOKEN "\"", 1);
	r = dget(&rg, "/debug/loop", NULL);
	cr_assert_eq(r->status, 401, "%d", r->status);
	hresp_free(r);
	r = dget(&rg, "/debug/loop", "wrong");
	cr_assert_eq(r->status, 403, "%d", r->status);
	hresp_free(r);
	r = dget(&rg, "/debug/loop", TOKEN);
	cr_assert_eq(r->status, 200, "%d", r->status);
	hresp_free(r);
	/* The token is never logged. */
	cr_assert(strstr(rg.p->log, TOKEN) == NULL);
	rig_stop(&rg);
}

Test(debug, reload_moves_and_stops)
{
	struct rig	 rg;
	struct hresp	*r;
	char		*c;
	int		 old;

	rig_start(&rg, "", 1);
	old = rg.dport;
	rg.dport = free_port();
	c = rig_config(&rg, "");
	proxy_write_config(rg.p, c);
	free(c);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", T));
	r = dget(&rg, "/debug/memory", NULL);
	cr_assert_eq(r->status, 200);
	hresp_free(r);
	cr_assert(port_refuses(old), "the old port %d still listens", old);

	/* Off: the listener goes. */
	c = config_basic(rg.bind, rg.pool, "\"history\":false,\"debug\":{"
	    "\"enabled\":false}");
	proxy_write_config(rg.p, c);
	free(c);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=debug status=stopped", T));
	cr_assert(port_refuses(rg.dport));
	rig_stop(&rg);
}

/* Read a connection to its end (the answer sent with Connection: close). */
static char *
read_to_eof(struct tconn *c, size_t *lenp, int timeout_ms)
{
	int64_t		 deadline = now_ms() + timeout_ms;
	struct pollfd	 pfd = { c->fd, POLLIN, 0 };
	char		*buf = NULL;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;

	for (;;) {
		cr_assert(left_ms(deadline) > 0, "no end of the answer in "
		    "%d ms (%zu bytes)", timeout_ms, len);
		if (poll(&pfd, 1, left_ms(deadline)) <= 0)
			continue;
		if (len + 65536 > cap) {
			cap = (cap + 65536) * 2;
			buf = (char *)realloc(buf, cap + 1);
			cr_assert(buf != NULL);
		}
		n = read(c->fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		cr_assert(n > 0, "read: %s", strerror(errno));
		len += (size_t)n;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* Has the connection something to read (the answer began)? */
static bool
readable(struct tconn *c)
{
	struct pollfd	 pfd = { c->fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) == 1;
}

Test(debug, profile_read_by_pprof_and_one_at_a_time)
{
	struct rig	 rg;
	struct hresp	*r;
	struct tconn	*pc;
	char		*buf, *body, *file, *out;
	const char	*argv[5];
	size_t		 len;
	int64_t		 t0;
	int		 fd, code, n = 0;

	rig_start(&rg, "", 0);
	/* Bad lengths first: 400, and no profile starts. */
	r = dget(&rg, "/debug/profile?seconds=0", NULL);
	cr_assert_eq(r->status, 400, "%d %s", r->status, r->body);
	hresp_free(r);
	r = dget(&rg, "/debug/profile?seconds=61", NULL);
	cr_assert_eq(r->status, 400, "%d %s", r->status, r->body);
	hresp_free(r);
	r = dget(&rg, "/debug/profile?seconds=two", NULL);
	cr_assert_eq(r->status, 400, "%d %s", r->status, r->body);
	hresp_free(r);

	pc = tc_connect(rg.dport);
	t0 = now_ms();
	cr_assert(tc_send(pc, "GET /debug/profile?seconds=2 HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nConnection: close\r\n\r\n"));
	cr_assert(proxy_wait_log(rg.p, "type=profile status=start seconds=2",
	    T));
	/* A second one meanwhile: 409. */
	r = dget(&rg, "/debug/profile?seconds=1", NULL);
	cr_assert_eq(r->status, 409, "%d %s", r->status, r->body);
	hresp_free(r);
	/*
	 * Give the profiler something to see until the answer comes: the
	 * proxy's own pages, served while the profile runs (the loop is not
	 * blocked by it).
	 */
	while (!readable(pc)) {
		cr_assert(now_ms() - t0 < 10000, "no profile after 10 s");
		r = dget(&rg, "/debug/memory", NULL);
		cr_assert_eq(r->status, 200);
		hresp_free(r);
		n++;
	}
	cr_assert(n > 10, "the loop answered only %d requests in 2 s", n);
	buf = read_to_eof(pc, &len, T);
	tc_close(pc);
	/*
	 * libevent times the 2 s from its cached clock (the coarse one, a few
	 * ms wide, read when the poll returned), so it may end a little
	 * before 2 s of this test's clock; 1.9 s still tells a profile that
	 * ran its time from one answered at once.
	 */
	cr_assert(now_ms() - t0 >= 1900, "the profile took %lld ms, not 2 s",
	    (long long)(now_ms() - t0));
	cr_assert(strncmp(buf, "HTTP/1.1 200 ", 13) == 0, "%.300s", buf);
	cr_assert(strstr(buf, "Content-Type: application/octet-stream") !=
	    NULL, "%.300s", buf);
	body = strstr(buf, "\r\n\r\n");
	cr_assert(body != NULL);
	body += 4;
	cr_assert(buf + len - body > 64, "a profile of %zu bytes",
	    (size_t)(buf + len - body));
	cr_assert(proxy_wait_log(rg.p, "type=profile status=done", T));

	cr_assert(asprintf(&file, "%s/cpu.prof", rg.p->dir) != -1);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert(fd != -1);
	cr_assert(write(fd, body, (size_t)(buf + len - body)) ==
	    buf + len - body);
	close(fd);
	argv[0] = "google-pprof";
	argv[1] = "--text";
	argv[2] = sluice_bin();
	argv[3] = file;
	argv[4] = NULL;
	code = run_capture(argv, &out);
	cr_assert_eq(code, 0, "google-pprof: exit %d\n%s", code, out);
	cr_assert(strstr(out, "Total:") != NULL, "google-pprof read no "
	    "samples:\n%s", out);
	free(out);
	free(file);
	free(buf);

	/* Done: the next one may start. */
	r = dget(&rg, "/debug/profile?seconds=1", NULL);
	cr_assert_eq(r->status, 200, "%d", r->status);
	hresp_free(r);
	rig_stop(&rg);
}

Test(debug, bind_failure_is_fatal_at_start)
{
	struct tlisten	*busy = tl_listen(0);
	char		*c, *extra, *out;
	int		 code;

	cr_assert(asprintf(&extra, "\"history\":false,\"debug\":{"
	    "\"enabled\":true,\"port\":%d}", busy->port) != -1);
	c = config_basic(free_port(), free_port(), extra);
	code = proxy_start_expect_fail(c, &out);
	cr_assert_neq(code, 0);
	must_say(out, "debug: cannot listen on 127.0.0.1:");
	free(out);
	free(c);
	free(extra);
	tl_close(busy);
}

Test(debug, profile_whose_client_left)
{
	struct rig	 rg;
	struct hresp	*r;
	struct tconn	*pc;

	rig_start(&rg, "", 1);
	pc = tc_connect(rg.dport);
	cr_assert(tc_send(pc, "GET /debug/profile?seconds=1 HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n\r\n"));
	cr_assert(proxy_wait_log(rg.p, "type=profile status=start", T));
	tc_close(pc);
	/* The answer finds no one; the next profile may start. */
	cr_assert(proxy_wait_log(rg.p, "type=profile status=done", T));
	r = dget(&rg, "/debug/profile?seconds=1", NULL);
	cr_assert_eq(r->status, 200, "%d", r->status);
	hresp_free(r);

	/* A stop with a profile under way drops it. */
	pc = tc_connect(rg.dport);
	cr_assert(tc_send(pc, "GET /debug/profile?seconds=30 HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\n\r\n"));
	cr_assert(proxy_wait_log(rg.p, "type=profile status=start seconds=30",
	    T));
	proxy_signal(rg.p, SIGTERM);
	cr_assert(proxy_wait_log(rg.p, "type=profile status=aborted", T));
	cr_assert(proxy_exited(rg.p, T));
	cr_assert_eq(proxy_exit_code(rg.p), 0);
	tc_close(pc);
	rig_stop(&rg);
}
