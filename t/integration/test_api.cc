/*
 * test_api.cc: the monitoring subsystem against the real daemon: the
 * shapes of /1/summary, /1/workers, /1/miners and /1/upstreams with live
 * miners, the access token and the restricted mode, /metrics through
 * promtool, workers-max eviction, the access and share logs with their
 * reopen on SIGUSR1, and the API's own limits: http.timeout against idle,
 * dribbling and kept-alive clients, http.max-connections, and both across
 * a reload.
 *
 * The HTTP client is a few lines of plain sockets and poll() against a
 * deadline; log files are waited on with inotify. No sleeps.
 */
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000
#define POOL_PASS	"poolpass-SECRET1"
#define ACCESS_PASS	"accesspw-SECRET2"
#define TOKEN		"token-SECRET3"

TestSuite(api, .timeout = 60);

/* A proxy with the API on, and one fake pool logged in. */
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


static void	 fm_send_submit(struct fm *, int, uint32_t, uint64_t);

/* An integer at a path; fails the test if it is not one. */
static long long
jint(json_t *o, const char *path)
{
	json_t	*v = jget(o, path);

	cr_assert(json_is_integer(v), "%s is not an integer in %s", path,
	    jtext(o));
	return json_integer_value(v);
}

/* A string at a path; fails the test if it is not one. */
static const char *
jstr_must(json_t *o, const char *path)
{
	json_t	*v = jget(o, path);

	cr_assert(json_is_string(v), "%s is not a string in %s", path,
	    jtext(o));
	return json_string_value(v);
}

/*
 * One HTTP/1.1 request with Connection: close; read to EOF. token NULL
 * sends no Authorization header.
 */
static struct hresp *
http(int port, const char *method, const char *path, const char *token)
{
	struct hresp	*r;
	char		*hdr = NULL;
	int		 body;

	body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
	if (token != NULL)
		cr_assert(asprintf(&hdr, "Authorization: Bearer %s\r\n",
		    token) != -1);
	r = http_request(port, method, path, hdr, body ? "{}" : NULL);
	free(hdr);
	return r;
}


/* GET a JSON endpoint (200 required) and parse it. */
static json_t *
api_get(struct rig *rg, const char *path, const char *token, char **text)
{
	struct hresp	*r = http(rg->http, "GET", path, token);

	if (text != NULL)
		*text = strdup(r->body);
	return hresp_json(r, path, rg->p);
}

/* Expect an error status with a JSON {"status": N, "error": "..."} body. */
static void
expect_http_error(struct rig *rg, const char *method, const char *path,
    const char *token, int status)
{
	struct hresp	*r = http(rg->http, method, path, token);
	json_t		*j;

	cr_assert_eq(r->status, status, "%s %s: %d, want %d\n%s\n%s", method,
	    path, r->status, status, r->head, r->body);
	j = json_loads(r->body, 0, NULL);
	cr_assert(j != NULL && json_is_string(json_object_get(j, "error")) &&
	    json_integer_value(json_object_get(j, "status")) == status,
	    "%s %s: error body is not {\"status\": %d, \"error\": ...}: %s",
	    method, path, status, r->body);
	json_decref(j);
	hresp_free(r);
}

/*
 * CONNECT, then GET on the same connection: libevent keeps a connection
 * open after any answer to CONNECT (for a tunnel), so the error must say
 * its length for the GET's answer to be found after it.
 */
static void
expect_connect_length(struct rig *rg, const char *token, int status)
{
	char	*req, *buf, *cl, *end;
	size_t	 len;
	int	 reqlen, code;

	reqlen = asprintf(&req, "CONNECT /1/summary HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n"
	    "GET /1/summary HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer %s\r\nConnection: close\r\n\r\n", token,
	    token);
	cr_assert(reqlen > 0);
	buf = http_exchange(rg->http, req, (size_t)reqlen, &len);
	free(req);
	cr_assert(sscanf(buf, "HTTP/1.1 %d", &code) == 1 && code == status,
	    "CONNECT: not a %d answer:\n%s", status, buf);
	end = strstr(buf, "\r\n\r\n");
	cr_assert(end != NULL, "CONNECT: no end of headers:\n%s", buf);
	cl = strcasestr(buf, "\r\nContent-Length: ");
	cr_assert(cl != NULL && cl < end, "CONNECT: no Content-Length:\n%s",
	    buf);
	end += 4 + strtoul(cl + 18, NULL, 10);
	cr_assert(end <= buf + len && strncmp(end, "HTTP/1.1 200 ", 13) == 0,
	    "CONNECT: the GET's answer is not after the error's "
	    "Content-Length:\n%s", buf);
	free(buf);
}

/* The config: the API on, access password, pool password, plus extra. */
static char *
rig_config(int bind, int pool, int http_port, const char *http_extra,
    const char *extra)
{
	char	*s;

	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"WALLET\","
	    "\"pass\":\"" POOL_PASS "\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"watch\":false,\"access-password\":\"" ACCESS_PASS "\","
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d%s},"
	    "%s%s%s}\n", bind, pool, http_port, http_extra,
	    strstr(extra, "\"workers\"") != NULL ? "\"syslog\":false" :
	    "\"workers\":\"rig_id\"", *extra != '\0' ? "," : "",
	    extra) != -1);
	return s;
}

/* Start a pool, the proxy with the API, and log the proxy in. */
static void
rig_start(struct rig *rg, const char *http_extra, const char *extra)
{
	memset(rg, 0, sizeof *rg);
	rg->bind = free_port();
	rg->http = free_port();
	rg->tl = tl_listen(0);
	rg->conf = rig_config(rg->bind, rg->tl->port, rg->http, http_extra,
	    extra);
	rg->p = proxy_start(rg->conf);
	rg->pc = pool_bring_up(rg->tl, rg->p);
}

/* Stop the proxy (it must exit cleanly) and free everything. */
static void
rig_stop(struct rig *rg)
{
	proxy_stop_clean(rg->p);
	tc_close(rg->pc);
	tl_close(rg->tl);
	proxy_free(rg->p);
	free(rg->conf);
}

/* Log a miner in (pass: the access password); rigid may be NULL. */
static void
fm_login(struct rig *rg, struct fm *m, const char *login, const char *rigid)
{
	json_t		*r;
	const char	*blob;
	char		 hex[3];

	memset(m, 0, sizeof *m);
	m->c = tc_connect(rg->bind);
	r = miner_login(m->c, login, ACCESS_PASS, rigid, WAIT_MS);
	if (r == NULL || !json_is_null(json_object_get(r, "error")))
		proxy_dump_log(rg->p);
	cr_assert(r != NULL, "no login reply");
	cr_assert(json_is_null(json_object_get(r, "error")), "login: %s",
	    jtext(r));
	snprintf(m->session, sizeof m->session, "%s", jstr_must(r, "result.id"));
	snprintf(m->job_id, sizeof m->job_id, "%s",
	    jstr_must(r, "result.job.job_id"));
	blob = jstr_must(r, "result.job.blob");
	cr_assert(strlen(blob) >= 86);
	memcpy(hex, blob + 84, 2);
	hex[2] = '\0';
	m->slot = (int)strtol(hex, NULL, 16);
	json_decref(r);
	cr_assert(proxy_wait_log(rg->p, "type=miner_login", WAIT_MS));
}

/* Submit a share of difficulty diff with nonce n; return the reply. */
static json_t *
fm_submit(struct fm *m, int id, uint32_t n, uint64_t diff)
{
	fm_send_submit(m, id, n, diff);
	return tc_recv_reply(m->c, id, WAIT_MS);
}

/* The pool takes the next submit and answers it (error NULL: OK). */
static void
pool_answer_next(struct rig *rg, const char *error)
{
	json_t		*s = tc_recv(rg->pc, WAIT_MS);
	json_int_t	 id;

	cr_assert(s != NULL, "the pool received no submit");
	cr_assert_str_eq(jstr_must(s, "method"), "submit", "pool got %s",
	    jtext(s));
	id = json_integer_value(json_object_get(s, "id"));
	json_decref(s);
	if (error == NULL)
		tc_send(rg->pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\","
		    "\"error\":null,\"result\":{\"status\":\"OK\"}}",
		    (long long)id);
	else
		tc_send(rg->pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":"
		    "{\"code\":-1,\"message\":\"%s\"},\"result\":null}",
		    (long long)id, error);
}

/* Send a submit of difficulty diff with nonce n (no reply awaited). */
static void
fm_send_submit(struct fm *m, int id, uint32_t n, uint64_t diff)
{
	char	 nonce[9], result[65];

	snprintf(nonce, sizeof nonce, "%06x%02x", n & 0xffffff, m->slot);
	make_result(result, diff);
	tc_send(m->c, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"%s\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", id, m->session,
	    m->job_id, nonce, result);
}

/* A share the pool accepts (or rejects with error), end to end. */
static json_t *
fm_share_pool(struct rig *rg, struct fm *m, int id, uint32_t n,
    const char *error)
{
	fm_send_submit(m, id, n, 20000);
	pool_answer_next(rg, error);
	return tc_recv_reply(m->c, id, WAIT_MS);
}

/* A share the pool accepts. */
static void
fm_share_ok(struct rig *rg, struct fm *m, int id, uint32_t n)
{
	json_t	*r = fm_share_pool(rg, m, id, n, NULL);

	cr_assert(r != NULL && json_is_null(json_object_get(r, "error")),
	    "share not accepted: %s", jtext(r));
	json_decref(r);
}

/* The /1/workers row named name, or NULL. */
static json_t *
worker_row(json_t *w, const char *name)
{
	json_t	*rows = json_object_get(w, "workers"), *row;
	size_t	 i;

	json_array_foreach(rows, i, row) {
		if (strcmp(json_string_value(json_array_get(row, 0)),
		    name) == 0)
			return row;
	}
	return NULL;
}

/* The value of a sample line ("name{labels}") in a metrics text. */
static double
metric(const char *text, const char *sample)
{
	const char	*p = text;
	size_t		 n = strlen(sample);

	while ((p = strstr(p, sample)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	cr_assert_fail("no sample %s in:\n%s", sample, text);
	return -1;
}

/* Run promtool check metrics on text; return its exit status. */
static int
promtool(const char *dir, const char *text, char **out)
{
	char		*path, *opath;
	FILE		*f;
	pid_t		 pid;
	int		 status, fd, ofd;

	cr_assert(asprintf(&path, "%s/metrics.txt", dir) != -1);
	cr_assert(asprintf(&opath, "%s/promtool.out", dir) != -1);
	f = fopen(path, "w");
	cr_assert(f != NULL);
	fputs(text, f);
	cr_assert(fclose(f) == 0);
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		fd = open(path, O_RDONLY);
		ofd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd == -1 || ofd == -1)
			_exit(126);
		dup2(fd, 0);
		dup2(ofd, 1);
		dup2(ofd, 2);
		execlp("promtool", "promtool", "check", "metrics",
		    (char *)NULL);
		_exit(127);
	}
	cr_assert(waitpid(pid, &status, 0) == pid);
	f = fopen(opath, "r");
	*out = (char *)calloc(1, 65536);
	if (f != NULL) {
		if (fread(*out, 1, 65535, f) == 0 && ferror(f))
			snprintf(*out, 65536, "(cannot read %s)", opath);
		fclose(f);
	}
	free(path);
	free(opath);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A file's text, "" while there is none. */
static char *
slurp_any(const char *path)
{
	return access(path, F_OK) == 0 ? slurp(path) : strdup("");
}

/*
 * Wait until the file at dir/name contains needle: check, then sleep on
 * inotify events for the directory until the deadline.
 */
static char *
wait_file(const char *dir, const char *name, const char *needle)
{
	char		*path, *s, ev[4096];
	long long	 deadline = now_ms() + WAIT_MS;
	struct pollfd	 pfd;
	int		 fd;

	cr_assert(asprintf(&path, "%s/%s", dir, name) != -1);
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	cr_assert(fd != -1);
	cr_assert(inotify_add_watch(fd, dir, IN_MODIFY | IN_CREATE |
	    IN_MOVED_TO | IN_CLOSE_WRITE) != -1);
	for (;;) {
		s = slurp_any(path);
		if (strstr(s, needle) != NULL)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left_ms(deadline)) != 1)
			cr_assert_fail("%s never contained \"%s\"; it has:\n%s",
			    path, needle, s);
		while (read(fd, ev, sizeof ev) > 0)
			;
		free(s);
	}
	close(fd);
	free(path);
	return s;
}

/* Does text have a line matching the extended regex re? */
static bool
has_line(const char *text, const char *re)
{
	regex_t	 rx;
	bool	 ok;

	cr_assert(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB) == 0,
	    "bad regex %s", re);
	ok = regexec(&rx, text, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

#define TS	"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"

/* -------------------------------------------------------------------- */

Test(api, endpoints_with_live_miners)
{
	static const char *const format[] = { "id", "ip", "tx", "rx",
	    "state", "diff", "user", "password", "rig_id", "agent", "coin",
	    "transport" };
	struct rig	 rg;
	struct fm	 a, b;
	json_t		*j, *row, *v;
	char		*text, *t1, *t2, *t3;
	size_t		 i;
	int		 seen_rig = 0;

	rig_start(&rg, "", "");
	fm_login(&rg, &a, "WALLET1", "rig-alpha");
	fm_login(&rg, &b, "WALLET2", NULL);

	/* /1/summary, and its aliases. */
	j = api_get(&rg, "/1/summary", NULL, &t1);
	cr_assert(json_is_string(jget(j, "id")) &&
	    json_is_string(jget(j, "worker_id")), "%s", t1);
	cr_assert_geq(jint(j, "uptime"), 0);
	cr_assert(json_is_true(jget(j, "restricted")));
	cr_assert_gt(jint(j, "resources.memory.total"), 0);
	cr_assert_gt(jint(j, "resources.memory.resident_set_memory"), 0);
	cr_assert_eq(json_array_size(jget(j, "resources.load_average")), 3);
	cr_assert_gt(jint(j, "resources.hardware_concurrency"), 0);
	cr_assert(json_is_array(jget(j, "features")));
	cr_assert_str_eq(jstr_must(j, "version"), SLUICE_VERSION);
	cr_assert_str_eq(jstr_must(j, "kind"), "proxy");
	cr_assert_str_eq(jstr_must(j, "algo"), "rx/0");
	cr_assert_str_eq(jstr_must(j, "mode"), "nicehash");
	cr_assert(strncmp(jstr_must(j, "ua"), "sluice/", 7) == 0);
	cr_assert_eq(jint(j, "donate_level"), 0);
	cr_assert_eq(jint(j, "donated"), 0);
	cr_assert_eq(json_array_size(jget(j, "hashrate.total")), 6, "%s", t1);
	cr_assert_eq(jint(j, "miners.now"), 2, "%s", t1);
	cr_assert_geq(jint(j, "miners.max"), 2);
	cr_assert_eq(jint(j, "workers"), 2, "%s", t1);
	cr_assert_eq(jint(j, "upstreams.active"), 1, "%s", t1);
	cr_assert_eq(jint(j, "upstreams.sleep"), 0);
	cr_assert_eq(jint(j, "upstreams.error"), 0);
	cr_assert_eq(jint(j, "upstreams.total"), 1);
	cr_assert(json_number_value(jget(j, "upstreams.ratio")) == 2.0,
	    "%s", t1);
	cr_assert_eq(jint(j, "results.accepted"), 0);
	cr_assert_eq(jint(j, "results.rejected"), 0);
	cr_assert_eq(jint(j, "results.invalid"), 0);
	cr_assert_eq(jint(j, "results.expired"), 0);
	cr_assert_geq(jint(j, "results.avg_time"), 0);
	cr_assert_geq(jint(j, "results.latency"), 0);
	cr_assert_eq(jint(j, "results.hashes_total"), 0);
	cr_assert_eq(jint(j, "results.hashes_donate"), 0);
	cr_assert_eq(json_array_size(jget(j, "results.best")), 10);
	cr_assert_eq(jint(j, "sluice.duplicate"), 0);
	cr_assert(json_is_object(jget(j, "sluice.pool_failures")));
	cr_assert(json_is_object(jget(j, "sluice.reloads")));
	cr_assert_eq(jint(j, "sluice.logins"), 2);
	json_decref(j);
	j = api_get(&rg, "/2/summary", NULL, NULL);
	cr_assert_eq(jint(j, "miners.now"), 2);
	json_decref(j);
	j = api_get(&rg, "/api.json", NULL, NULL);
	cr_assert_str_eq(jstr_must(j, "kind"), "proxy");
	json_decref(j);

	/* /1/miners: the format, masked passwords, the rig id. */
	j = api_get(&rg, "/1/miners", NULL, &t2);
	v = jget(j, "format");
	cr_assert_eq(json_array_size(v), 12, "%s", t2);
	for (i = 0; i < 12; i++)
		cr_assert_str_eq(json_string_value(json_array_get(v, i)),
		    format[i]);
	cr_assert_eq(json_array_size(jget(j, "miners")), 2, "%s", t2);
	json_array_foreach(jget(j, "miners"), i, row) {
		cr_assert_eq(json_array_size(row), 12, "%s", t2);
		cr_assert_str_eq(json_string_value(json_array_get(row, 10)),
		    "default", "coin: %s", t2);
		cr_assert_str_eq(json_string_value(json_array_get(row, 11)),
		    "tcp", "transport: %s", t2);
		cr_assert(json_is_integer(json_array_get(row, 0)));
		cr_assert_str_eq(json_string_value(json_array_get(row, 1)),
		    "127.0.0.1");
		cr_assert_eq(json_integer_value(json_array_get(row, 4)), 2,
		    "state: %s", t2);
		cr_assert_eq(json_integer_value(json_array_get(row, 5)), 10000,
		    "diff: %s", t2);
		cr_assert_str_eq(json_string_value(json_array_get(row, 7)),
		    "********");
		cr_assert_str_eq(json_string_value(json_array_get(row, 9)),
		    HARNESS_LOGIN_AGENT);
		if (strcmp(json_string_value(json_array_get(row, 6)),
		    "WALLET1") == 0) {
			cr_assert_str_eq(json_string_value(
			    json_array_get(row, 8)), "rig-alpha");
			seen_rig = 1;
		} else
			cr_assert(json_is_null(json_array_get(row, 8)));
	}
	cr_assert(seen_rig, "no miner with rig_id rig-alpha: %s", t2);
	json_decref(j);

	/* /1/workers: rig id, else user. */
	j = api_get(&rg, "/1/workers", NULL, &t3);
	cr_assert_str_eq(jstr_must(j, "mode"), "rig_id");
	cr_assert_eq(json_array_size(jget(j, "hashrate.total")), 6);
	cr_assert_eq(json_array_size(jget(j, "workers")), 2, "%s", t3);
	row = worker_row(j, "rig-alpha");
	cr_assert(row != NULL, "no worker rig-alpha: %s", t3);
	cr_assert_eq(json_array_size(row), 13);
	cr_assert_str_eq(json_string_value(json_array_get(row, 1)),
	    "127.0.0.1");
	cr_assert_eq(json_integer_value(json_array_get(row, 2)), 1);
	cr_assert_eq(json_integer_value(json_array_get(row, 3)), 0);
	cr_assert(worker_row(j, "WALLET2") != NULL, "%s", t3);
	json_decref(j);

	/* /1/upstreams. */
	j = api_get(&rg, "/1/upstreams", NULL, &text);
	cr_assert_eq(json_array_size(jget(j, "upstreams")), 1, "%s", text);
	v = json_array_get(jget(j, "upstreams"), 0);
	cr_assert(json_is_integer(jget(v, "id")));
	{
		char	*want;

		cr_assert(asprintf(&want, "127.0.0.1:%d", rg.tl->port) != -1);
		cr_assert_str_eq(jstr_must(v, "pool"), want);
		free(want);
	}
	cr_assert_str_eq(jstr_must(v, "state"), "active");
	cr_assert_eq(jint(v, "miners"), 2);
	cr_assert_eq(jint(v, "slots.active"), 2);
	cr_assert_eq(jint(v, "slots.free") + jint(v, "slots.dead"), 254);
	cr_assert_geq(jint(v, "jobs"), 1);
	cr_assert_eq(jint(v, "accepted"), 0);
	cr_assert_eq(jint(v, "rejected"), 0);
	cr_assert(json_is_integer(jget(v, "latency_ms")));
	json_decref(j);
	free(text);

	/* No secret in any answer. */
	cr_assert(strstr(t1, "SECRET") == NULL, "secret in summary: %s", t1);
	cr_assert(strstr(t2, "SECRET") == NULL, "secret in miners: %s", t2);
	cr_assert(strstr(t3, "SECRET") == NULL, "secret in workers: %s", t3);
	free(t1);
	free(t2);
	free(t3);

	/* A share moves the counters everywhere. */
	fm_share_ok(&rg, &a, 10, 1);
	j = api_get(&rg, "/1/summary", NULL, &text);
	cr_assert_eq(jint(j, "results.accepted"), 1, "%s", text);
	cr_assert_eq(jint(j, "results.hashes_total"), 10000, "%s", text);
	cr_assert_eq(json_integer_value(json_array_get(jget(j,
	    "results.best"), 0)), 20000, "%s", text);
	cr_assert_gt(json_number_value(json_array_get(jget(j,
	    "hashrate.total"), 0)), 0.0, "%s", text);
	json_decref(j);
	free(text);
	j = api_get(&rg, "/1/workers", NULL, &text);
	row = worker_row(j, "rig-alpha");
	cr_assert(row != NULL);
	cr_assert_eq(json_integer_value(json_array_get(row, 3)), 1, "%s",
	    text);
	cr_assert_eq(json_integer_value(json_array_get(row, 6)), 10000);
	cr_assert_gt(json_integer_value(json_array_get(row, 7)),
	    1600000000000LL);
	cr_assert_gt(json_number_value(json_array_get(row, 8)), 0.0, "%s",
	    text);
	row = worker_row(j, "WALLET2");
	cr_assert_eq(json_integer_value(json_array_get(row, 3)), 0);
	json_decref(j);
	free(text);
	j = api_get(&rg, "/1/upstreams", NULL, NULL);
	cr_assert_eq(jint(json_array_get(jget(j, "upstreams"), 0),
	    "accepted"), 1);
	json_decref(j);

	/* A miner leaves: miners.now follows, its worker stays, idle. */
	tc_close(b.c);
	cr_assert(proxy_wait_log(rg.p, "type=miner_close", WAIT_MS));
	j = api_get(&rg, "/1/summary", NULL, NULL);
	cr_assert_eq(jint(j, "miners.now"), 1);
	json_decref(j);
	j = api_get(&rg, "/1/workers", NULL, NULL);
	row = worker_row(j, "WALLET2");
	cr_assert(row != NULL);
	cr_assert_eq(json_integer_value(json_array_get(row, 2)), 0);
	json_decref(j);
	j = api_get(&rg, "/1/miners", NULL, NULL);
	cr_assert_eq(json_array_size(jget(j, "miners")), 1);
	json_decref(j);

	/* HEAD answers without a body. */
	{
		struct hresp	*r = http(rg.http, "HEAD", "/1/summary", NULL);

		cr_assert_eq(r->status, 200);
		cr_assert_eq(r->bodylen, 0);
		hresp_free(r);
	}
	tc_close(a.c);
	rig_stop(&rg);
}

Test(api, token_and_restricted)
{
	struct rig	 rg;
	struct hresp	*r;
	json_t		*j;
	char		*c2;

	rig_start(&rg, ",\"access-token\":\"" TOKEN "\"", "");
	expect_http_error(&rg, "GET", "/1/summary", NULL, 401);
	expect_http_error(&rg, "GET", "/metrics", NULL, 401);
	expect_http_error(&rg, "GET", "/1/summary", "wrong-token", 403);
	expect_http_error(&rg, "GET", "/1/summary", TOKEN "x", 403);
	j = api_get(&rg, "/1/summary", TOKEN, NULL);
	json_decref(j);
	r = http(rg.http, "GET", "/metrics", TOKEN);
	cr_assert_eq(r->status, 200);
	hresp_free(r);
	/* Restricted (the default): GET only. */
	expect_http_error(&rg, "POST", "/1/summary", TOKEN, 403);
	expect_http_error(&rg, "PUT", "/1/summary", TOKEN, 403);
	expect_http_error(&rg, "PUT", "/1/config", TOKEN, 403);
	expect_http_error(&rg, "DELETE", "/1/miners", TOKEN, 403);
	expect_http_error(&rg, "GET", "/1/nothing", TOKEN, 404);
	expect_http_error(&rg, "GET", "/2/nothing", TOKEN, 404);
	expect_connect_length(&rg, TOKEN, 403);

	/* Reload: unrestricted, new token; both apply at once. */
	c2 = rig_config(rg.bind, rg.tl->port, rg.http,
	    ",\"access-token\":\"new-" TOKEN "\",\"restricted\":false", "");
	proxy_write_config(rg.p, c2);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", WAIT_MS));
	expect_http_error(&rg, "GET", "/1/summary", TOKEN, 403);
	j = api_get(&rg, "/1/summary", "new-" TOKEN, NULL);
	cr_assert(json_is_false(jget(j, "restricted")));
	json_decref(j);
	expect_http_error(&rg, "POST", "/1/summary", "new-" TOKEN, 405);
	expect_http_error(&rg, "PUT", "/1/workers", "new-" TOKEN, 405);
	expect_http_error(&rg, "POST", "/1/nothing", "new-" TOKEN, 404);
	/* evhttp reads CONNECT's target as an authority: no path, 404. */
	expect_connect_length(&rg, "new-" TOKEN, 404);
	cr_assert_eq(proxy_log_count(rg.p, TOKEN), 0,
	    "the token appeared in the log");
	free(c2);
	rig_stop(&rg);
}

Test(api, reload_moves_the_port)
{
	struct rig	 rg;
	json_t		*j;
	char		*c2;
	int		 old;

	rig_start(&rg, "", "");
	old = rg.http;
	rg.http = free_port();
	c2 = rig_config(rg.bind, rg.tl->port, rg.http, "", "");
	proxy_write_config(rg.p, c2);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", WAIT_MS));
	j = api_get(&rg, "/1/summary", NULL, NULL);
	json_decref(j);
	/* The old port is closed. */
	{
		struct sockaddr_in	 sin;
		int			 fd = socket(AF_INET, SOCK_STREAM, 0);

		memset(&sin, 0, sizeof sin);
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)old);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0,
		    "the old API port still accepts");
		close(fd);
	}
	free(c2);
	rig_stop(&rg);
}

Test(api, bind_failure_is_fatal)
{
	struct tlisten	*busy = tl_listen(0);
	char		*c, *out;
	int		 code;

	c = rig_config(free_port(), free_port(), busy->port, "", "");
	code = proxy_start_expect_fail(c, &out);
	cr_assert_neq(code, 0);
	cr_assert(strstr(out, "http: cannot listen") != NULL,
	    "no clear message:\n%s", out);
	free(out);
	free(c);
	tl_close(busy);
}

Test(api, metrics_promtool_and_counters)
{
	struct rig	 rg;
	struct fm	 a;
	struct hresp	*r;
	char		*out;
	int		 code;

	rig_start(&rg, "", "");
	r = http(rg.http, "GET", "/metrics", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert(strstr(r->head, "Content-Type: text/plain; version=0.0.4")
	    != NULL, "%s", r->head);
	code = promtool(rg.p->dir, r->body, &out);
	cr_assert_eq(code, 0, "promtool check metrics: %d\n%s\n%s", code, out,
	    r->body);
	free(out);
	cr_assert_eq(metric(r->body,
	    "sluice_shares_total{result=\"accepted\"}"),
	    0);
	cr_assert_eq(metric(r->body, "sluice_miners"), 0);
	cr_assert_eq(metric(r->body, "sluice_upstreams{state=\"active\"}"), 1);
	cr_assert(strstr(r->body, "# TYPE sluice_connections_total counter")
	    != NULL);
	hresp_free(r);

	fm_login(&rg, &a, "WALLET1", "rig-1");
	fm_share_ok(&rg, &a, 20, 7);
	{
		json_t	*x = fm_submit(&a, 21, 7, 20000);	/* duplicate */

		cr_assert(x != NULL && !json_is_null(json_object_get(x,
		    "error")), "duplicate accepted: %s", jtext(x));
		json_decref(x);
	}
	r = http(rg.http, "GET", "/metrics", NULL);
	cr_assert_eq(r->status, 200);
	code = promtool(rg.p->dir, r->body, &out);
	cr_assert_eq(code, 0, "promtool check metrics: %d\n%s\n%s", code, out,
	    r->body);
	free(out);
	cr_assert_eq(metric(r->body,
	    "sluice_shares_total{result=\"accepted\"}"),
	    1, "%s", r->body);
	cr_assert_eq(metric(r->body,
	    "sluice_shares_total{result=\"duplicate\"}"), 1);
	cr_assert_eq(metric(r->body, "sluice_miners"), 1);
	cr_assert_eq(metric(r->body, "sluice_workers"), 1);
	cr_assert_geq(metric(r->body, "sluice_connections_total"), 1);
	cr_assert_eq(metric(r->body, "sluice_hashes_total"), 10000);
	cr_assert_gt(metric(r->body,
	    "sluice_hashrate_hashes_per_second{window=\"60s\"}"), 0);
	cr_assert_gt(metric(r->body, "sluice_bytes_total{direction=\"in\"}"),
	    0);
	cr_assert_gt(metric(r->body, "sluice_bytes_total{direction=\"out\"}"),
	    0);
	cr_assert_geq(metric(r->body, "sluice_pool_latency_seconds"), 0);
	cr_assert_eq(metric(r->body, "sluice_ratelimit_denied_total"), 0);
	cr_assert_eq(metric(r->body,
	    "sluice_lua_errors_total{hook=\"on_login\"}"),
	    0);
	hresp_free(r);

	tc_close(a.c);
	cr_assert(proxy_wait_log(rg.p, "type=miner_close", WAIT_MS));
	r = http(rg.http, "GET", "/metrics", NULL);
	cr_assert_eq(metric(r->body,
	    "sluice_connections_closed_total{reason=\"miner\"}"), 1, "%s",
	    r->body);
	cr_assert_eq(metric(r->body, "sluice_miners"), 0);
	hresp_free(r);
	rig_stop(&rg);
}

/*
 * metrics.per-worker: a hashrate and three share series per tracked
 * worker, never more than workers-max, a worker name with a quote, a
 * backslash and a newline escaped so that promtool reads it; a reload
 * without the key turns them off.
 */
Test(api, metrics_per_worker)
{
	struct rig	 rg;
	struct fm	 a, b, c;
	struct hresp	*r;
	char		*out, *c2;
	int		 code;

	rig_start(&rg, "", "\"metrics\":{\"per-worker\":true},"
	    "\"workers-max\":2");
	fm_login(&rg, &a, "WALLET1", "rig-1");
	fm_login(&rg, &b, "WALLET2", "odd \"name\" \\ with\nnewline");
	fm_login(&rg, &c, "WALLET3", "rig-3");	/* past workers-max */
	fm_share_ok(&rg, &a, 20, 7);

	r = http(rg.http, "GET", "/metrics", NULL);
	cr_assert_eq(r->status, 200);
	code = promtool(rg.p->dir, r->body, &out);
	cr_assert_eq(code, 0, "promtool check metrics: %d\n%s\n%s", code, out,
	    r->body);
	free(out);
	cr_assert_eq(count_lines(r->body,
	    "sluice_worker_hashrate_hashes_per_second{"), 2, "%s", r->body);
	cr_assert_eq(count_lines(r->body, "sluice_worker_shares_total{"), 6);
	cr_assert_eq(metric(r->body, "sluice_worker_shares_total"
	    "{worker=\"rig-1\",result=\"accepted\"}"), 1, "%s", r->body);
	cr_assert_gt(metric(r->body, "sluice_worker_hashrate_hashes_per_second"
	    "{worker=\"rig-1\"}"), 0);
	cr_assert_eq(metric(r->body, "sluice_worker_shares_total"
	    "{worker=\"odd \\\"name\\\" \\\\ with\\nnewline\","
	    "result=\"accepted\"}"), 0, "%s", r->body);
	cr_assert_null(strstr(r->body, "rig-3"), "%s", r->body);
	hresp_free(r);

	/* Off again after a reload without the key. */
	c2 = rig_config(rg.bind, rg.tl->port, rg.http, "", "\"workers-max\":2");
	proxy_write_config(rg.p, c2);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", WAIT_MS));
	r = http(rg.http, "GET", "/metrics", NULL);
	cr_assert_null(strstr(r->body, "sluice_worker_"), "%s", r->body);
	hresp_free(r);
	free(c2);
	tc_close(a.c);
	tc_close(b.c);
	tc_close(c.c);
	rig_stop(&rg);
}

/*
 * The periodic summary line has the hashrate over 60 s and 10 min, with
 * a unit: 0.00H/s before any share, then the share's 10000 hashes over
 * the time the proxy has been up.
 */
Test(api, summary_line_hashrate)
{
	struct rig	 rg;
	struct fm	 a;
	const char	*line, *eol;
	char		 hr[2][32], unit[2][8];
	double		 v[2];

	rig_start(&rg, "", "\"print-time\":1");
	cr_assert(proxy_wait_log(rg.p, "type=summary", WAIT_MS));
	cr_assert_geq(proxy_log_count(rg.p, "hashes=0 hashrate_60s=0.00H/s "
	    "hashrate_600s=0.00H/s"), 1);
	fm_login(&rg, &a, "WALLET1", "rig-1");
	fm_share_ok(&rg, &a, 20, 7);
	cr_assert(proxy_wait_log(rg.p, "hashes=10000 hashrate_60s=", WAIT_MS));
	line = strstr(rg.p->log, "hashes=10000 hashrate_60s=");
	eol = strchr(line, '\n');
	cr_assert_not_null(eol);
	cr_assert_eq(sscanf(line, "hashes=10000 hashrate_60s=%31s "
	    "hashrate_600s=%31s", hr[0], hr[1]), 2, "%.*s", (int)(eol - line),
	    line);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(sscanf(hr[i], "%lf%7s", &v[i], unit[i]), 2, "%s",
		    hr[i]);
		cr_assert(strcmp(unit[i], "H/s") == 0 ||
		    strcmp(unit[i], "kH/s") == 0, "%s", hr[i]);
		if (strcmp(unit[i], "kH/s") == 0)
			v[i] *= 1000;
		/* 10000 hashes in the first 1 to 60 s of the proxy. */
		cr_assert(v[i] > 10000.0 / 70 && v[i] <= 10000.0, "%s", hr[i]);
	}
	tc_close(a.c);
	rig_stop(&rg);
}

Test(api, workers_max_evicts_idle)
{
	struct rig	 rg;
	struct fm	 m;
	json_t		*j, *row;
	char		 rigid[32], *text;
	size_t		 i;

	rig_start(&rg, "", "\"workers-max\":5");
	for (i = 0; i < 20; i++) {
		snprintf(rigid, sizeof rigid, "rig-%02zu", i);
		fm_login(&rg, &m, "WALLET", rigid);
		tc_close(m.c);
		cr_assert(proxy_wait_log(rg.p, "type=miner_close", WAIT_MS));
	}
	j = api_get(&rg, "/1/workers", NULL, &text);
	cr_assert_eq(json_array_size(jget(j, "workers")), 5, "%s", text);
	/* The five most recent stay. */
	json_array_foreach(jget(j, "workers"), i, row) {
		snprintf(rigid, sizeof rigid, "rig-%02zu", 15 + i);
		cr_assert_str_eq(json_string_value(json_array_get(row, 0)),
		    rigid, "%s", text);
		cr_assert_eq(json_integer_value(json_array_get(row, 2)), 0);
	}
	json_decref(j);
	free(text);
	j = api_get(&rg, "/1/summary", NULL, NULL);
	cr_assert_eq(jint(j, "workers"), 5);
	cr_assert_eq(jint(j, "sluice.workers.evicted"), 15);
	cr_assert_eq(jint(j, "sluice.workers.max"), 5);
	cr_assert_gt(jint(j, "sluice.workers.memory_bytes"), 0);
	json_decref(j);
	rig_stop(&rg);
}

Test(api, access_and_share_logs)
{
	struct rig	 rg;
	struct fm	 a, c;
	struct tconn	*b;
	json_t		*x;
	char		*s, *old, *from, *to, re[512];

	rig_start(&rg, "", "\"access-log-file\":\"access.log\","
	    "\"share-log-file\":\"share.log\"");
	fm_login(&rg, &a, "WALLET1", "rig-a");
	s = wait_file(rg.p->dir, "access.log", "CONNECT");
	snprintf(re, sizeof re, "^" TS " CONNECT id=[0-9]+ ip=127\\.0\\.0\\.1 "
	    "user=WALLET1 agent=\"XMRig/6\\.21\\.0 \\(Linux x86_64\\) "
	    "libuv/1\\.44\\.2 gcc/12\\.2\\.0\" rigid=rig-a$");
	cr_assert(has_line(s, re), "no CONNECT line like %s in:\n%s", re, s);
	free(s);

	/* accepted, duplicate, low difficulty, pool-rejected */
	fm_share_ok(&rg, &a, 30, 1);
	x = fm_submit(&a, 31, 1, 20000);
	json_decref(x);
	x = fm_submit(&a, 32, 2, 10);
	json_decref(x);
	x = fm_share_pool(&rg, &a, 33, 3, "Stale share");
	cr_assert(x != NULL && !json_is_null(json_object_get(x, "error")),
	    "pool rejection not passed on: %s", jtext(x));
	json_decref(x);
	s = wait_file(rg.p->dir, "share.log", "Stale share");
	cr_assert(has_line(s, "^" TS " ACCEPT id=[0-9]+ user=WALLET1 "
	    "diff=10000 latency_ms=[0-9]+$"), "no ACCEPT line in:\n%s", s);
	cr_assert(has_line(s, "^" TS " REJECT id=[0-9]+ user=WALLET1 "
	    "reason=\"Duplicate share\" local=1$"), "no duplicate:\n%s", s);
	cr_assert(has_line(s, "^" TS " REJECT id=[0-9]+ user=WALLET1 "
	    "reason=\"Low difficulty share\" local=1$"), "no low:\n%s", s);
	cr_assert(has_line(s, "^" TS " REJECT id=[0-9]+ user=WALLET1 "
	    "reason=\"Stale share\"$"), "no pool reject:\n%s", s);
	free(s);

	/* A connection that never logs in still gets a CLOSE line. */
	b = tc_connect(rg.bind);
	tc_close(b);
	s = wait_file(rg.p->dir, "access.log", "user= ");
	cr_assert(has_line(s, "^" TS " CLOSE id=[0-9]+ ip=127\\.0\\.0\\.1 "
	    "user= rx=0 tx=0 seconds=[0-9]+ reason=\"closed by miner\"$"),
	    "no CLOSE line for the anonymous connection:\n%s", s);
	free(s);
	tc_close(a.c);
	s = wait_file(rg.p->dir, "access.log", "user=WALLET1 rx=");
	cr_assert(has_line(s, "^" TS " CLOSE id=[0-9]+ ip=127\\.0\\.0\\.1 "
	    "user=WALLET1 rx=[1-9][0-9]* tx=[1-9][0-9]* seconds=[0-9]+ "
	    "reason=\"closed by miner\"$"), "no CLOSE line:\n%s", s);
	cr_assert(strstr(s, "SECRET") == NULL, "secret in the access log");
	free(s);

	/* Rotation: move the file away, SIGUSR1, new lines go to a new file. */
	cr_assert(asprintf(&from, "%s/access.log", rg.p->dir) != -1);
	cr_assert(asprintf(&to, "%s/access.log.1", rg.p->dir) != -1);
	cr_assert(rename(from, to) == 0);
	proxy_signal(rg.p, SIGUSR1);
	cr_assert(proxy_wait_log(rg.p, "type=reopen", WAIT_MS));
	fm_login(&rg, &c, "WALLET3", NULL);
	s = wait_file(rg.p->dir, "access.log", "user=WALLET3");
	cr_assert(has_line(s, "^" TS " CONNECT id=[0-9]+ ip=127\\.0\\.0\\.1 "
	    "user=WALLET3 agent=\"[^\"]*\" rigid=$"), "%s", s);
	cr_assert(strstr(s, "WALLET1") == NULL, "old lines in the new file");
	free(s);
	old = slurp_any(to);
	cr_assert(strstr(old, "WALLET3") == NULL,
	    "a new line went to the moved file:\n%s", old);
	cr_assert(strstr(old, "WALLET1") != NULL);
	free(old);
	tc_close(c.c);
	free(from);
	free(to);
	rig_stop(&rg);
}

Test(api, log_failure_is_counted_once_and_recovers)
{
	struct rig	 rg;
	struct fm	 a, b;
	struct hresp	*r;
	char		*dir, *s;

	rig_start(&rg, "", "\"access-log-file\":\"nodir/access.log\"");
	fm_login(&rg, &a, "WALLET1", "rig-a");
	/* The first event opened the log: that failure was warned about. */
	cr_assert_eq(proxy_log_count(rg.p, "access log"), 1,
	    "no warning for an access log that cannot be opened");
	fm_login(&rg, &b, "WALLET2", "rig-b");
	tc_close(b.c);
	cr_assert(proxy_wait_log(rg.p, "type=miner_close", WAIT_MS));
	r = http(rg.http, "GET", "/metrics", NULL);
	cr_assert_geq(metric(r->body,
	    "sluice_log_write_errors_total{log=\"access\"}"), 1, "%s", r->body);
	hresp_free(r);
	/* The proxy still serves; the warning was given once. */
	fm_share_ok(&rg, &a, 40, 9);
	cr_assert_eq(proxy_log_count(rg.p, "access log"), 1,
	    "the failure was warned about more than once");
	/* Once the directory exists the buffered lines are written. */
	cr_assert(asprintf(&dir, "%s/nodir", rg.p->dir) != -1);
	cr_assert(mkdir(dir, 0700) == 0);
	s = wait_file(dir, "access.log", "user=WALLET2 rx=");
	cr_assert(has_line(s, "^" TS " CONNECT id=[0-9]+ ip=127\\.0\\.0\\.1 "
	    "user=WALLET1 "), "%s", s);
	free(s);
	cr_assert(proxy_wait_log(rg.p, "type=logfile kind=access "
	    "status=recovered", WAIT_MS));
	free(dir);
	tc_close(a.c);
	rig_stop(&rg);
}

/*
 * No password in any log line at -vv or in any answer: the pool's pass in
 * the proxy's login, the access password in a miner's, a wrong guess, and
 * workers "password", whose names are a short hash instead.
 */
Test(api, secrets_never_shown_at_vv)
{
	static const char *const paths[] = { "/1/summary", "/1/workers",
	    "/1/miners", "/1/upstreams", "/metrics" };
	struct rig	 rg;
	struct fm	 m;
	struct hresp	*r;
	struct tconn	*bad;
	json_t		*reply;
	char		*s, *path;
	size_t		 i;

	rig_start(&rg, "", "\"verbose\":1,\"workers\":\"password\","
	    "\"access-log-file\":\"access.log\","
	    "\"share-log-file\":\"shares.log\"");
	fm_login(&rg, &m, "WALLET", "rig1");
	fm_share_ok(&rg, &m, 2, 1);
	bad = tc_connect(rg.bind);
	reply = miner_login(bad, "WALLET", "guess-SECRET4", NULL, WAIT_MS);
	cr_assert(reply != NULL && !json_is_null(json_object_get(reply,
	    "error")), "a wrong password logged in: %s", jtext(reply));
	json_decref(reply);
	cr_assert(proxy_wait_log(rg.p, "type=login_rejected", WAIT_MS));

	/* -vv shows the lines, with every pass masked. */
	cr_assert(proxy_log_count(rg.p, "pool 0: > ") >= 1,
	    "no -vv line for the proxy's own login");
	cr_assert(proxy_log_count(rg.p, "\\x22pass\\x22:\\x22***\\x22") >= 3,
	    "the pool login and both miner logins, masked");

	for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		r = http(rg.http, "GET", paths[i], NULL);
		cr_assert_eq(r->status, 200, "GET %s: %d", paths[i],
		    r->status);
		cr_assert_null(strstr(r->body, "SECRET"), "GET %s shows a "
		    "secret:\n%s", paths[i], r->body);
		if (strcmp(paths[i], "/1/workers") == 0)
			cr_assert_not_null(strstr(r->body, "\"pw:"),
			    "no hashed worker name: %s", r->body);
		hresp_free(r);
	}
	tc_close(bad);
	tc_close(m.c);
	cr_assert(proxy_wait_log(rg.p, "type=miner_close", WAIT_MS));
	proxy_signal(rg.p, SIGUSR1);	/* flush and reopen the log files */
	cr_assert(proxy_wait_log(rg.p, "type=reopen", WAIT_MS));
	for (i = 0; i < 2; i++) {
		cr_assert(asprintf(&path, "%s/%s", rg.p->dir, i == 0 ?
		    "access.log" : "shares.log") != -1);
		s = slurp_any(path);
		cr_assert_null(strstr(s, "SECRET"), "%s shows a secret:\n%s",
		    path, s);
		free(s);
		free(path);
	}
	rig_stop(&rg);		/* and no "SECRET" in the daemon's log */
}

/* -------------------------------------------------------------------- */
/* http.timeout and http.max-connections */

/* A /metrics sample, fetched now. */
static double
metric_now(struct rig *rg, const char *sample)
{
	struct hresp	*r = http(rg->http, "GET", "/metrics", NULL);
	double		 v;

	cr_assert_eq(r->status, 200, "GET /metrics: %d", r->status);
	v = metric(r->body, sample);
	hresp_free(r);
	return v;
}

/* GET /1/summary answers 200: the API serves beside the held sockets. */
static void
api_still_serves(struct rig *rg)
{
	json_t	*j = api_get(rg, "/1/summary", NULL, NULL);

	cr_assert_str_eq(jstr_must(j, "kind"), "proxy");
	json_decref(j);
}

/*
 * Wait until the daemon closes c; the milliseconds since t0, or -1 if it
 * is still open after timeout_ms.
 */
static long long
closed_after(struct tconn *c, long long t0, int timeout_ms)
{
	if (!tc_wait_closed(c, timeout_ms))
		return -1;
	return now_ms() - t0;
}

/* One keep-alive GET on c; the status (the body is one JSON line). */
static int
keepalive_get(struct tconn *c, const char *path)
{
	static const char tail[] = " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	char	*line, *body;
	int	 status = 0;
	long	 len = -1;

	cr_assert(tc_send_raw(c, "GET ", 4) && tc_send_raw(c, path,
	    strlen(path)) && tc_send_raw(c, tail, sizeof tail - 1),
	    "the API closed a kept-alive connection");
	line = tc_recv_line(c, WAIT_MS);
	cr_assert(line != NULL && sscanf(line, "HTTP/1.1 %d", &status) == 1,
	    "no status line: %s", line != NULL ? line : "(closed)");
	free(line);
	for (;;) {
		line = tc_recv_line(c, WAIT_MS);
		cr_assert(line != NULL, "the headers did not end");
		if (strcmp(line, "\r") == 0) {
			free(line);
			break;
		}
		if (strncasecmp(line, "Content-Length:", 15) == 0)
			len = strtol(line + 15, NULL, 10);
		free(line);
	}
	cr_assert_gt(len, 0, "no Content-Length");
	body = tc_recv_line(c, WAIT_MS);
	cr_assert(body != NULL && (long)strlen(body) + 1 == len,
	    "body of %ld bytes expected, got %s", len,
	    body != NULL ? body : "(closed)");
	free(body);
	return status;
}

/* A client that connects and sends nothing is closed at http.timeout. */
Test(api, timeout_closes_idle_connection)
{
	struct rig	 rg;
	struct tconn	*c;
	long long	 t0, ms;

	rig_start(&rg, ",\"timeout\":1", "");
	t0 = now_ms();
	c = tc_connect(rg.http);
	api_still_serves(&rg);
	ms = closed_after(c, t0, 2000);
	cr_assert(ms != -1, "an idle API connection is open after 2 s with "
	    "http.timeout 1");
	cr_assert_geq(ms, 900, "closed after %lld ms, before http.timeout",
	    ms);
	tc_close(c);
	cr_assert_eq(metric_now(&rg, "sluice_http_timeouts_total"), 1);
	cr_assert_eq(metric_now(&rg, "sluice_http_refused_total"), 0);
	api_still_serves(&rg);
	rig_stop(&rg);
}

/*
 * A byte of a valid request every 300 ms, never finishing: each byte comes
 * well within any per-read timeout, and the deadline closes it anyway.
 */
Test(api, timeout_closes_dribbling_client)
{
	static const char req[] = "GET /1/summary HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nUser-Agent: dribble-dribble-dribble-dribble\r\n"
	    "Accept: application/json\r\n";
	struct rig	 rg;
	struct tconn	*c;
	long long	 t0, ms = -1;
	size_t		 sent = 0;

	rig_start(&rg, ",\"timeout\":2", "");
	t0 = now_ms();
	c = tc_connect(rg.http);
	while (sent < sizeof req - 1 && now_ms() - t0 < 3500) {
		if (!tc_send_raw(c, req + sent, 1))
			break;
		sent++;
		if (sent == 3)
			api_still_serves(&rg);
		/* The pause between bytes is a wait for the close. */
		if ((ms = closed_after(c, t0, 300)) != -1)
			break;
	}
	if (ms == -1)
		ms = closed_after(c, t0, 0);
	cr_assert(ms != -1, "a dribbling client is open after %lld ms with "
	    "http.timeout 2 (%zu bytes sent)", now_ms() - t0, sent);
	cr_assert_geq(ms, 1900, "closed after %lld ms, before http.timeout",
	    ms);
	cr_assert_leq(ms, 3000, "closed after %lld ms", ms);
	cr_assert_geq(sent, 5, "only %zu bytes were sent", sent);
	tc_close(c);
	cr_assert_eq(metric_now(&rg, "sluice_http_timeouts_total"), 1);
	api_still_serves(&rg);
	rig_stop(&rg);
}

/*
 * Keep-alive: each answer restarts the time, and a connection left idle
 * after an answer is closed one http.timeout later, not counted as a
 * timeout.
 */
Test(api, timeout_keepalive_idle)
{
	struct rig	 rg;
	struct tconn	*c;
	long long	 t0, t1, ms;

	rig_start(&rg, ",\"timeout\":3", "");
	t0 = now_ms();
	c = tc_connect(rg.http);
	cr_assert_eq(keepalive_get(c, "/1/summary"), 200);
	cr_assert_eq(closed_after(c, t0, 1500), -1,
	    "closed before http.timeout");
	cr_assert_eq(keepalive_get(c, "/1/upstreams"), 200);
	t1 = now_ms();
	/* Past the connection's first 3 s: the answer restarted the time. */
	cr_assert_eq(closed_after(c, t0, 2000), -1,
	    "closed %lld ms after its start, %lld ms after an answer",
	    now_ms() - t0, now_ms() - t1);
	ms = closed_after(c, t1, 4000);
	cr_assert(ms != -1, "an idle kept-alive connection stays open");
	cr_assert_geq(ms, 2900, "closed %lld ms after the answer", ms);
	tc_close(c);
	cr_assert_eq(metric_now(&rg, "sluice_http_timeouts_total"), 0);
	rig_stop(&rg);
}

/*
 * http.max-connections 4: four idle connections are held, a fifth is
 * closed at once and counted; once the four are gone a GET works.
 */
Test(api, max_connections_refuses)
{
	struct rig	 rg;
	struct tconn	*held[4], *c;
	json_t		*j;
	long long	 t0, ms;
	size_t		 i;

	rig_start(&rg, ",\"max-connections\":4", "\"verbose\":1");
	for (i = 0; i < 4; i++) {
		held[i] = tc_connect(rg.http);
		cr_assert(proxy_wait_log(rg.p, "type=api_connect", WAIT_MS));
	}
	t0 = now_ms();
	c = tc_connect(rg.http);
	ms = closed_after(c, t0, WAIT_MS);
	cr_assert(ms != -1, "a fifth API connection was not closed");
	cr_assert_lt(ms, 1000, "the fifth closed after %lld ms", ms);
	tc_close(c);
	cr_assert(proxy_wait_log(rg.p, "type=api_refused", WAIT_MS));
	for (i = 0; i < 4; i++)
		cr_assert_eq(closed_after(held[i], t0, 0), -1,
		    "held connection %zu was closed", i);

	/* The client side closes: each one frees its place. */
	for (i = 0; i < 4; i++) {
		tc_close(held[i]);
		cr_assert(proxy_wait_log(rg.p, "type=api_close", WAIT_MS));
	}
	j = api_get(&rg, "/1/summary", NULL, NULL);
	cr_assert_eq(jint(j, "sluice.http.refused"), 1);
	cr_assert_eq(jint(j, "sluice.http.timeouts"), 0);
	cr_assert_eq(jint(j, "sluice.http.connections"), 1);
	json_decref(j);
	cr_assert_eq(metric_now(&rg, "sluice_http_refused_total"), 1);
	cr_assert_eq(metric_now(&rg, "sluice_http_connections"), 1);
	rig_stop(&rg);
}

/* A reload applies both keys, to the connections already open too. */
Test(api, limits_follow_reload)
{
	struct rig	 rg;
	struct tconn	*a, *b;
	long long	 t0, ms;
	char		*c2;

	rig_start(&rg, ",\"timeout\":60", "");
	a = tc_connect(rg.http);
	api_still_serves(&rg);
	c2 = rig_config(rg.bind, rg.tl->port, rg.http,
	    ",\"timeout\":1,\"max-connections\":1", "");
	proxy_write_config(rg.p, c2);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", WAIT_MS));
	/* a now has 1 s from its start, not 60. */
	t0 = now_ms();
	ms = closed_after(a, t0, 2000);
	cr_assert(ms != -1, "the reload did not shorten an open deadline");
	tc_close(a);

	/* One connection at most now. */
	a = tc_connect(rg.http);
	t0 = now_ms();
	b = tc_connect(rg.http);
	ms = closed_after(b, t0, WAIT_MS);
	cr_assert(ms != -1 && ms < 1000, "a second connection was not "
	    "refused (%lld ms)", ms);
	tc_close(b);
	ms = closed_after(a, t0, 2000);
	cr_assert(ms != -1, "the held connection outlived http.timeout 1");
	tc_close(a);
	cr_assert_eq(metric_now(&rg, "sluice_http_refused_total"), 1);
	cr_assert_eq(metric_now(&rg, "sluice_http_timeouts_total"), 2);
	free(c2);
	rig_stop(&rg);
}
