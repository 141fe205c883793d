/*
 * test_apicompat.cc: what dashboards and tools written for xmrig-proxy's
 * API need of sluice's (issue 14), against the real daemon: CORS on the
 * answers and the OPTIONS preflight (http.cors-origin "*", one origin,
 * null), error bodies with "status", and /1/config: who may read it, no
 * secret in it, and a PUT that is applied as a reload (the proxy goes to
 * the new pool, the file changes), refused whole when it does not build,
 * keeps a masked password, and may even turn the API off.
 *
 * No sleeps: waits are on log lines, sockets and API answers.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000
#define MIB		(1024 * 1024)
#define POOL_PASS	"poolpass-SECRET1"
#define ACCESS_PASS	"accesspw-SECRET2"
#define TOKEN		"token-SECRET3"
#define SWITCH_PASS	"switchpw-SECRET4"
#define REDIS_PASS	"redispw-SECRET5"
#define NEW_PASS	"newpool-SECRET6"
#define HIDDEN		"********"
#define AUTH		"Authorization: Bearer " TOKEN "\r\n"
#define ORIGIN		"https://dash.example.com"

TestSuite(apicompat, .timeout = 60);

/* A proxy with the API on and one fake pool logged in. */
struct rig {
	int		 bind;
	int		 http;
	struct tlisten	*tl;
	struct proxy	*p;
	struct tconn	*pc;
};

/*
 * The config: a pool password, the access password, the switch API with
 * its password and a Redis URL with one, and http_extra in "http". No
 * standby (a second pool is one pool) and no probe of a quiet pool, so
 * that a pool connection moves only when the config does.
 */
static char *
rig_config(int bind, int pool, int http_port, const char *http_extra)
{
	char	*s;

	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"WALLET\","
	    "\"pass\":\"" POOL_PASS "\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"failover-standby\":false,\"pool-quiet-probe\":0,"
	    "\"watch\":false,\"access-password\":\"" ACCESS_PASS "\","
	    "\"switch\":{\"user\":\"sw\",\"password\":\"" SWITCH_PASS "\","
	    "\"redis\":\"redis://:" REDIS_PASS "@127.0.0.1:1/0\","
	    "\"state-file\":\"user-coin.json\"},"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d%s}}\n",
	    bind, pool, http_port, http_extra) != -1);
	return s;
}

/* The fake pool takes the proxy's connection and login; returns it. */
static struct tconn *
pool_up(struct rig *rg, struct tlisten *tl, const char *session,
    json_t **loginp)
{
	struct tconn	*pc;
	struct tjob	 job;
	json_t		*login;

	pc = tl_accept(tl, WAIT_MS);
	if (pc == NULL)
		proxy_dump_log(rg->p);
	cr_assert(pc != NULL, "sluice did not connect to the fake pool");
	login = pool_expect_login(pc, WAIT_MS);
	cr_assert(login != NULL, "no login from sluice");
	tjob_default(&job, "job1");
	pool_send_login_ok(pc, login, session, &job);
	if (loginp != NULL)
		*loginp = login;
	else
		json_decref(login);
	return pc;
}

/* Start a pool, the proxy with the API, and log the proxy in. */
static void
rig_start(struct rig *rg, const char *http_extra)
{
	char	*conf;

	memset(rg, 0, sizeof *rg);
	rg->bind = free_port();
	rg->http = free_port();
	rg->tl = tl_listen(0);
	conf = rig_config(rg->bind, rg->tl->port, rg->http, http_extra);
	rg->p = proxy_start(conf);
	free(conf);
	rg->pc = pool_up(rg, rg->tl, "pool-session-1", NULL);
	cr_assert(proxy_wait_log(rg->p, "state=up", WAIT_MS),
	    "pool never came up");
}

/* Reload with another "http" object (a SIGHUP, as an operator would). */
static void
rig_reload(struct rig *rg, const char *http_extra)
{
	char	*conf = rig_config(rg->bind, rg->tl->port, rg->http,
		    http_extra);
	int	 before = proxy_log_count(rg->p, "type=reload status=done");

	proxy_write_config(rg->p, conf);
	proxy_signal(rg->p, SIGHUP);
	cr_assert(proxy_wait_log(rg->p, "type=reload status=done", WAIT_MS));
	cr_assert_eq(proxy_log_count(rg->p, "type=reload status=done"),
	    before + 1);
	free(conf);
}

/* Stop the proxy (it must exit cleanly, no secret in its log). */
static void
rig_stop(struct rig *rg)
{
	proxy_stop_clean(rg->p);
	if (rg->pc != NULL)
		tc_close(rg->pc);
	tl_close(rg->tl);
	proxy_free(rg->p);
}

/* The value of header name in an answer, or NULL; caller frees. */
static char *
header(const struct hresp *r, const char *name)
{
	const char	*p = r->head;
	size_t		 n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			p += strspn(p, " ");
			return strndup(p, strcspn(p, "\r"));
		}
	}
	return NULL;
}

/* Assert header name is value (NULL: absent). */
static void
expect_header(const struct hresp *r, const char *name, const char *value)
{
	char	*v = header(r, name);

	if (value == NULL)
		cr_assert(v == NULL, "%s: %s, want none\n%s", name, v, r->head);
	else {
		cr_assert(v != NULL, "no %s header\n%s", name, r->head);
		cr_assert_str_eq(v, value, "%s\n%s", name, r->head);
	}
	free(v);
}

/*
 * Assert an error answer: the status, and a body of xmrig-proxy's shape,
 * {"status": status, "error": "..."} (more members allowed). Returns the
 * body parsed; caller frees.
 */
static json_t *
expect_error(struct hresp *r, int status, const char *what)
{
	json_t	*j;

	cr_assert_eq(r->status, status, "%s: %d, want %d\n%s\n%s", what,
	    r->status, status, r->head, r->body);
	j = json_loads(r->body, 0, NULL);
	cr_assert(j != NULL, "%s: body is not JSON: %s", what, r->body);
	cr_assert(json_is_integer(json_object_get(j, "status")) &&
	    json_integer_value(json_object_get(j, "status")) == status,
	    "%s: no \"status\": %d: %s", what, status, r->body);
	cr_assert(json_is_string(json_object_get(j, "error")),
	    "%s: no \"error\": %s", what, r->body);
	/* xmrig-proxy's order: status first. */
	cr_assert(strncmp(r->body, "{\"status\":", 10) == 0, "%s", r->body);
	return j;
}

/* A request; headers end in CRLF, body NULL for none. */
static struct hresp *
req(struct rig *rg, const char *method, const char *path,
    const char *headers, const char *body)
{
	return http_request(rg->http, method, path, headers, body);
}

/* GET /1/config with the token: 200 and the body's text; caller frees. */
static char *
config_get(struct rig *rg)
{
	struct hresp	*r = req(rg, "GET", "/1/config", AUTH, NULL);
	char		*s;

	cr_assert_eq(r->status, 200, "GET /1/config: %d\n%s", r->status,
	    r->body);
	expect_header(r, "Content-Type", "application/json");
	s = strdup(r->body);
	hresp_free(r);
	return s;
}

/* A JSON value's compact text; caller frees. */
static char *
dump(json_t *j)
{
	char	*s = json_dumps(j, JSON_COMPACT);

	cr_assert(s != NULL);
	return s;
}

/* PUT /1/config with the token and a JSON object as the body. */
static struct hresp *
config_put(struct rig *rg, json_t *conf)
{
	char		*body = dump(conf);
	struct hresp	*r = req(rg, "PUT", "/1/config", AUTH, body);

	free(body);
	return r;
}

/* Is the connection c still open (not closed by the proxy)? */
static bool
still_open(struct tconn *c)
{
	struct pollfd	 pfd = { c->fd, POLLIN, 0 };
	char		 b;

	if (poll(&pfd, 1, 0) == 0)
		return true;
	return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* The path of the first upstream in /1/upstreams ("127.0.0.1:PORT"). */
static char *
upstream_pool(struct rig *rg)
{
	struct hresp	*r = req(rg, "GET", "/1/upstreams", AUTH, NULL);
	json_t		*j = json_loads(r->body, 0, NULL);
	char		*s;

	cr_assert(r->status == 200 && j != NULL, "%d %s", r->status, r->body);
	s = strdup(jstr(json_array_get(json_object_get(j, "upstreams"), 0),
	    "pool"));
	json_decref(j);
	hresp_free(r);
	return s;
}

/* -------------------------------------------------------------------- */

/*
 * CORS is on by default, "*" as xmrig-proxy: on every answer of the
 * API's gate, errors too (a page must see the 401 to ask for the token),
 * and a preflight of any endpoint is 204 without the token, which a
 * browser never sends with one. Not on the dashboard's own files.
 */
Test(apicompat, cors_default)
{
	static const char *const paths[] = { "/1/summary", "/2/summary",
	    "/api.json", "/1/workers", "/1/miners", "/1/upstreams",
	    "/1/coins", "/metrics" };
	struct rig	 rg;
	struct hresp	*r;
	json_t		*j;
	size_t		 i;

	rig_start(&rg, ",\"access-token\":\"" TOKEN "\"");
	for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		r = req(&rg, "GET", paths[i], AUTH, NULL);
		cr_assert_eq(r->status, 200, "%s: %d", paths[i], r->status);
		expect_header(r, "Access-Control-Allow-Origin", "*");
		expect_header(r, "Vary", NULL);
		hresp_free(r);

		r = req(&rg, "OPTIONS", paths[i], "Origin: " ORIGIN "\r\n"
		    "Access-Control-Request-Method: GET\r\n"
		    "Access-Control-Request-Headers: authorization\r\n", NULL);
		cr_assert_eq(r->status, 204, "OPTIONS %s: %d\n%s", paths[i],
		    r->status, r->head);
		expect_header(r, "Access-Control-Allow-Origin", "*");
		expect_header(r, "Access-Control-Allow-Methods", "GET, HEAD");
		expect_header(r, "Access-Control-Allow-Headers",
		    "Authorization, Content-Type");
		expect_header(r, "Access-Control-Max-Age", "600");
		cr_assert_eq(r->bodylen, 0);
		hresp_free(r);
	}
	/* /1/config takes a PUT (and xmrig-proxy's POST). */
	r = req(&rg, "OPTIONS", "/1/config", "Origin: " ORIGIN "\r\n", NULL);
	cr_assert_eq(r->status, 204);
	expect_header(r, "Access-Control-Allow-Methods", "GET, HEAD, PUT, POST");
	hresp_free(r);

	/* Errors carry it, and xmrig-proxy's "status". */
	r = req(&rg, "GET", "/1/summary", NULL, NULL);
	json_decref(expect_error(r, 401, "no token"));
	expect_header(r, "Access-Control-Allow-Origin", "*");
	hresp_free(r);
	r = req(&rg, "GET", "/1/summary", "Authorization: Bearer nope\r\n",
	    NULL);
	json_decref(expect_error(r, 403, "wrong token"));
	expect_header(r, "Access-Control-Allow-Origin", "*");
	hresp_free(r);
	r = req(&rg, "GET", "/1/nothing", AUTH, NULL);
	j = expect_error(r, 404, "unknown path");
	cr_assert_str_eq(jstr(j, "error"), "no such endpoint");
	json_decref(j);
	expect_header(r, "Access-Control-Allow-Origin", "*");
	hresp_free(r);
	r = req(&rg, "POST", "/1/summary", AUTH, "{}");
	json_decref(expect_error(r, 403, "restricted POST"));
	hresp_free(r);
	/* An OPTIONS of no endpoint is no preflight: the gate's 401. */
	r = req(&rg, "OPTIONS", "/1/nothing", NULL, NULL);
	json_decref(expect_error(r, 401, "OPTIONS of no endpoint"));
	hresp_free(r);

	/* The dashboard is its own origin: no CORS on its files. */
	r = req(&rg, "GET", "/", NULL, NULL);
	cr_assert_eq(r->status, 200);
	expect_header(r, "Access-Control-Allow-Origin", NULL);
	hresp_free(r);
	/* Nor on the switch API (its clients are no browsers). */
	r = req(&rg, "GET", "/switch?puname=a&coin=default", NULL, NULL);
	json_decref(expect_error(r, 401, "switch without auth"));
	expect_header(r, "Access-Control-Allow-Origin", NULL);
	hresp_free(r);
	rig_stop(&rg);
}

/* One origin: named, with Vary; null: no CORS at all, after a reload. */
Test(apicompat, cors_origin_set_and_off)
{
	struct rig	 rg;
	struct hresp	*r;

	rig_start(&rg, ",\"cors-origin\":\"" ORIGIN "\"");
	r = req(&rg, "GET", "/1/summary", NULL, NULL);
	cr_assert_eq(r->status, 200);
	expect_header(r, "Access-Control-Allow-Origin", ORIGIN);
	expect_header(r, "Vary", "Origin");
	hresp_free(r);
	r = req(&rg, "OPTIONS", "/1/workers", "Origin: " ORIGIN "\r\n", NULL);
	cr_assert_eq(r->status, 204);
	expect_header(r, "Access-Control-Allow-Origin", ORIGIN);
	expect_header(r, "Vary", "Origin");
	expect_header(r, "Access-Control-Allow-Methods", "GET, HEAD");
	hresp_free(r);

	rig_reload(&rg, ",\"cors-origin\":null");
	r = req(&rg, "GET", "/1/summary", NULL, NULL);
	cr_assert_eq(r->status, 200);
	expect_header(r, "Access-Control-Allow-Origin", NULL);
	expect_header(r, "Vary", NULL);
	hresp_free(r);
	/* OPTIONS is then a method like another: restricted, 403. */
	r = req(&rg, "OPTIONS", "/1/summary", "Origin: " ORIGIN "\r\n", NULL);
	json_decref(expect_error(r, 403, "OPTIONS with CORS off"));
	expect_header(r, "Access-Control-Allow-Origin", NULL);
	expect_header(r, "Access-Control-Allow-Methods", NULL);
	hresp_free(r);

	/* "" is off too; back to the default when the key goes. */
	rig_reload(&rg, ",\"cors-origin\":\"\"");
	r = req(&rg, "GET", "/1/summary", NULL, NULL);
	expect_header(r, "Access-Control-Allow-Origin", NULL);
	hresp_free(r);
	rig_reload(&rg, "");
	r = req(&rg, "GET", "/1/summary", NULL, NULL);
	expect_header(r, "Access-Control-Allow-Origin", "*");
	hresp_free(r);
	rig_stop(&rg);
}

/*
 * GET /1/config: 403 unless there is a token and the API is not
 * restricted; then the config as loaded, every secret masked.
 */
Test(apicompat, config_get_rules_and_masking)
{
	static const char *const secrets[] = { POOL_PASS, ACCESS_PASS, TOKEN,
	    SWITCH_PASS, REDIS_PASS, "SECRET" };
	struct rig	 rg;
	struct hresp	*r;
	json_t		*j;
	char		*text;
	size_t		 i;

	/* Unrestricted without a token: the config is not for anyone. */
	rig_start(&rg, ",\"restricted\":false");
	r = req(&rg, "GET", "/1/config", NULL, NULL);
	j = expect_error(r, 403, "no token configured");
	cr_assert(strstr(jstr(j, "error"), "access-token") != NULL, "%s",
	    r->body);
	json_decref(j);
	hresp_free(r);
	r = req(&rg, "PUT", "/1/config", NULL, "{}");
	json_decref(expect_error(r, 403, "PUT, no token configured"));
	hresp_free(r);

	/* A token, restricted (the default): 403 for GET and PUT. */
	rig_reload(&rg, ",\"access-token\":\"" TOKEN "\"");
	r = req(&rg, "GET", "/1/config", AUTH, NULL);
	json_decref(expect_error(r, 403, "restricted GET"));
	hresp_free(r);
	r = req(&rg, "PUT", "/1/config", AUTH, "{}");
	json_decref(expect_error(r, 403, "restricted PUT"));
	hresp_free(r);

	/* Token and unrestricted: the token is needed, and right. */
	rig_reload(&rg, ",\"access-token\":\"" TOKEN "\",\"restricted\":false");
	r = req(&rg, "GET", "/1/config", NULL, NULL);
	json_decref(expect_error(r, 401, "no token"));
	hresp_free(r);
	r = req(&rg, "GET", "/1/config", "Authorization: Bearer x\r\n", NULL);
	json_decref(expect_error(r, 403, "wrong token"));
	hresp_free(r);
	r = req(&rg, "DELETE", "/1/config", AUTH, NULL);
	json_decref(expect_error(r, 405, "DELETE"));
	expect_header(r, "Allow", "GET, HEAD, PUT, POST");
	hresp_free(r);
	r = req(&rg, "HEAD", "/1/config", AUTH, NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_eq(r->bodylen, 0);
	hresp_free(r);

	text = config_get(&rg);
	for (i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		cr_assert(strstr(text, secrets[i]) == NULL,
		    "%s in /1/config:\n%s", secrets[i], text);
	j = json_loads(text, 0, NULL);
	cr_assert(j != NULL, "%s", text);
	cr_assert_str_eq(jstr(json_array_get(json_object_get(j, "pools"), 0),
	    "pass"), HIDDEN);
	cr_assert_str_eq(jstr(j, "access-password"), HIDDEN);
	cr_assert_str_eq(jstr(j, "http.access-token"), HIDDEN);
	cr_assert_str_eq(jstr(j, "switch.password"), HIDDEN);
	cr_assert_str_eq(jstr(j, "switch.redis"),
	    "redis://:" HIDDEN "@127.0.0.1:1/0");
	/* The rest as the file has it. */
	cr_assert_str_eq(jstr(json_array_get(json_object_get(j, "pools"), 0),
	    "user"), "WALLET");
	cr_assert_str_eq(jstr(j, "switch.state-file"), "user-coin.json");
	cr_assert(json_is_false(jget(j, "http.restricted")));
	cr_assert(json_is_false(jget(j, "watch")));
	cr_assert_eq(json_integer_value(jget(j, "http.port")), rg.http);
	json_decref(j);
	free(text);
	rig_stop(&rg);
}

/*
 * PUT /1/config: a new primary pool with its own password, the old one
 * second with its password masked: applied as a reload (sluice goes to
 * the new pool) and written to the file, with the masked password put
 * back. Then the old pool alone, its password masked again: sluice goes
 * back to it and logs in with the old password.
 */
Test(apicompat, config_put_applies_and_keeps_masked_passwords)
{
	struct rig	 rg;
	struct tlisten	*tl2 = tl_listen(0);
	struct tconn	*pc2, *pc3;
	struct hresp	*r;
	json_t		*conf, *pools, *p2, *login, *j, *file;
	char		*text, *disk, *want;

	rig_start(&rg, ",\"access-token\":\"" TOKEN "\",\"restricted\":false");
	text = config_get(&rg);
	conf = json_loads(text, 0, NULL);
	free(text);
	pools = json_object_get(conf, "pools");
	p2 = json_object();
	cr_assert(asprintf(&want, "127.0.0.1:%d", tl2->port) != -1);
	json_object_set_new(p2, "url", json_string(want));
	json_object_set_new(p2, "user", json_string("WALLET2"));
	json_object_set_new(p2, "pass", json_string(NEW_PASS));
	json_array_insert_new(pools, 0, p2);
	json_object_set_new(conf, "retries", json_integer(3));

	r = config_put(&rg, conf);
	cr_assert_eq(r->status, 200, "PUT: %d\n%s", r->status, r->body);
	j = json_loads(r->body, 0, NULL);
	cr_assert(j != NULL && json_integer_value(json_object_get(j,
	    "status")) == 200 && json_is_array(json_object_get(j,
	    "warnings")), "%s", r->body);
	json_decref(j);
	hresp_free(r);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done trigger=api",
	    WAIT_MS));
	cr_assert(proxy_wait_log(rg.p, "type=api_config status=applied",
	    WAIT_MS));

	/* Applied: the old pool is let go, the new one gets the login. */
	cr_assert(tc_wait_closed(rg.pc, WAIT_MS), "the old pool stayed open");
	tc_close(rg.pc);
	rg.pc = NULL;
	pc2 = pool_up(&rg, tl2, "pool-session-2", &login);
	cr_assert_str_eq(jstr(login, "params.login"), "WALLET2");
	cr_assert_str_eq(jstr(login, "params.pass"), NEW_PASS);
	json_decref(login);
	text = upstream_pool(&rg);
	cr_assert_str_eq(text, want);
	free(text);

	/* The file: the new config, the masked password put back. */
	disk = slurp(rg.p->config);
	file = json_loads(disk, 0, NULL);
	cr_assert(file != NULL, "%s", disk);
	cr_assert_eq(json_integer_value(json_object_get(file, "retries")), 3);
	cr_assert_str_eq(jstr(json_array_get(json_object_get(file, "pools"),
	    0), "url"), want);
	cr_assert_str_eq(jstr(json_array_get(json_object_get(file, "pools"),
	    1), "pass"), POOL_PASS);
	cr_assert_str_eq(jstr(file, "access-password"), ACCESS_PASS);
	cr_assert_str_eq(jstr(file, "http.access-token"), TOKEN);
	cr_assert_str_eq(jstr(file, "switch.redis"),
	    "redis://:" REDIS_PASS "@127.0.0.1:1/0");
	json_decref(file);
	free(disk);
	/* GET shows the new one, masked. */
	text = config_get(&rg);
	cr_assert(strstr(text, want) != NULL && strstr(text, "SECRET") ==
	    NULL, "%s", text);
	free(text);

	/* The old pool alone, masked: back to it, with the old password. */
	json_array_remove(pools, 0);
	r = config_put(&rg, conf);
	cr_assert_eq(r->status, 200, "PUT: %d\n%s", r->status, r->body);
	hresp_free(r);
	cr_assert(tc_wait_closed(pc2, WAIT_MS), "the second pool stayed open");
	pc3 = pool_up(&rg, rg.tl, "pool-session-3", &login);
	cr_assert_str_eq(jstr(login, "params.login"), "WALLET");
	cr_assert_str_eq(jstr(login, "params.pass"), POOL_PASS);
	json_decref(login);
	disk = slurp(rg.p->config);
	cr_assert(strstr(disk, POOL_PASS) != NULL && strstr(disk, NEW_PASS) ==
	    NULL && strstr(disk, HIDDEN) == NULL, "%s", disk);
	free(disk);
	rg.pc = pc3;
	tc_close(pc2);
	tl_close(tl2);
	json_decref(conf);
	free(want);
	rig_stop(&rg);
}

/*
 * A PUT that is refused changes nothing: not the file, not the pool, not
 * what GET shows. A config that does not build is 400 with every reason
 * (the file's name and the key); so is a masked password with none in
 * force at its place, or a body that is not JSON. Not JSON by its type
 * is 415, a body over 1 MiB 413.
 */
Test(apicompat, config_put_refused_changes_nothing)
{
	struct rig	 rg;
	struct hresp	*r;
	json_t		*conf, *j, *pool;
	char		*before, *disk0, *disk, *get0, *get, *want, *hdr, *buf;
	size_t		 len;
	int		 n, failed;

	rig_start(&rg, ",\"access-token\":\"" TOKEN "\",\"restricted\":false");
	disk0 = slurp(rg.p->config);
	get0 = config_get(&rg);
	before = upstream_pool(&rg);
	conf = json_loads(get0, 0, NULL);

	/* Two errors: both named, with the file and the key. */
	pool = json_array_get(json_object_get(conf, "pools"), 0);
	json_object_set_new(pool, "url", json_string("127.0.0.1"));
	json_object_set_new(conf, "retries", json_string("many"));
	r = config_put(&rg, conf);
	j = expect_error(r, 400, "a config that does not build");
	cr_assert_eq(json_array_size(json_object_get(j, "errors")), 2, "%s",
	    r->body);
	cr_assert(asprintf(&want, "%s: pools[0].url: missing port",
	    rg.p->config) != -1);
	cr_assert_str_eq(jstr(j, "error"), want, "%s", r->body);
	free(want);
	cr_assert(strstr(r->body, ": retries: expected an integer") != NULL,
	    "%s", r->body);
	json_decref(j);
	hresp_free(r);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=failed trigger=api",
	    WAIT_MS));

	/* A masked password where none is in force. */
	json_decref(conf);
	conf = json_loads(get0, 0, NULL);
	json_object_set_new(json_object_get(conf, "switch"), "redis",
	    json_string("redis://:" HIDDEN "@127.0.0.1:1/0"));
	json_object_set_new(json_array_get(json_object_get(conf, "pools"), 0),
	    "rig-id", json_string("r"));
	json_object_set_new(conf, "http", json_pack("{s:b,s:s,s:i,s:s,s:b}",
	    "enabled", 1, "host", "127.0.0.1", "port", rg.http, "access-token",
	    HIDDEN, "restricted", 0));
	json_object_set_new(json_object_get(conf, "switch"), "user-coin-url",
	    json_string("http://u:" HIDDEN "@127.0.0.1:1/"));
	r = config_put(&rg, conf);
	j = expect_error(r, 400, "a masked password with none in force");
	cr_assert(strstr(jstr(j, "error"), ": switch.user-coin-url: ") !=
	    NULL, "%s", r->body);
	json_decref(j);
	hresp_free(r);

	/* Not JSON; no JSON object. */
	r = req(&rg, "PUT", "/1/config", AUTH, "{\"bind\": [");
	j = expect_error(r, 400, "a body that does not parse");
	cr_assert(strncmp(jstr(j, "error"), "request body:1:", 15) == 0, "%s",
	    r->body);
	json_decref(j);
	hresp_free(r);
	r = req(&rg, "PUT", "/1/config", AUTH, "[]");
	json_decref(expect_error(r, 400, "an array"));
	hresp_free(r);
	/* Another content type: 415, as xmrig-proxy answers. */
	r = req(&rg, "PUT", "/1/config", AUTH "Content-Type: text/plain\r\n",
	    get0);
	json_decref(expect_error(r, 415, "text/plain"));
	hresp_free(r);
	/* One byte over 1 MiB: refused from its Content-Length. */
	n = asprintf(&hdr, "PUT /1/config HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    AUTH "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
	    MIB + 1);
	cr_assert(n > 0);
	buf = http_exchange(rg.http, hdr, (size_t)n, &len);
	cr_assert(strncmp(buf, "HTTP/1.1 413 ", 13) == 0, "over 1 MiB: %s",
	    buf);
	free(buf);
	free(hdr);

	/* Nothing changed: the file, the pool and its connection, GET. */
	disk = slurp(rg.p->config);
	cr_assert_str_eq(disk, disk0, "the file changed");
	free(disk);
	get = config_get(&rg);
	cr_assert_str_eq(get, get0);
	free(get);
	get = upstream_pool(&rg);
	cr_assert_str_eq(get, before);
	free(get);
	cr_assert(still_open(rg.pc), "the pool connection was touched");
	/* Only the first got as far as a build. */
	failed = proxy_log_count(rg.p, "type=reload status=failed trigger=api");
	cr_assert_eq(failed, 1, "%d failed reloads", failed);
	cr_assert_eq(proxy_log_count(rg.p, "type=reload status=done"), 0);
	json_decref(conf);
	free(before);
	free(get0);
	free(disk0);
	rig_stop(&rg);
}

/*
 * A PUT that turns the API off is answered first; the API stops after
 * the answer is written (evhttp is not freed under the request).
 */
Test(apicompat, config_put_stops_the_api_after_answering)
{
	struct sockaddr_in	 sin;
	struct rig		 rg;
	struct hresp		*r;
	json_t			*conf;
	char			*text;
	int			 fd;

	rig_start(&rg, ",\"access-token\":\"" TOKEN "\",\"restricted\":false");
	text = config_get(&rg);
	conf = json_loads(text, 0, NULL);
	free(text);
	json_object_set_new(json_object_get(conf, "http"), "enabled",
	    json_false());
	r = config_put(&rg, conf);
	cr_assert_eq(r->status, 200, "PUT: %d\n%s", r->status, r->body);
	hresp_free(r);
	cr_assert(proxy_wait_log(rg.p, "type=api status=stopped", WAIT_MS));
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)rg.http);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0,
	    "the API still accepts");
	close(fd);
	/* The pool is the same: its connection stays. */
	cr_assert(still_open(rg.pc), "the pool connection was touched");
	json_decref(conf);
	rig_stop(&rg);
}
