/*
 * test_switch.cc: btcpool's switch API against the real daemon: /switch
 * by query and by form body, both multi-user paths, every error number
 * with btcpool's exact answer, a half-valid multi-user request that
 * changes nothing, HTTP Basic auth (missing, wrong, bad base64), 404
 * without switch.user, the endpoints under restricted mode and an access
 * token, the 1 MiB body limit, and a connected miner moved to the other
 * coin's pool.
 *
 * The map's size is read from /1/coins ("users"); what a request changed
 * is read from the daemon's type=switch_api line. No sleeps.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "harness.h"

#define WAIT_MS		5000
#define SW_USER		"sw"
#define SW_PASS		"pw-SECRET7"
#define TOKEN		"token-SECRET8"
#define MIB		(1024 * 1024)

#define OK_BODY		"{\"err_no\":0,\"err_msg\":\"\",\"success\":true}"

TestSuite(switch_api, .timeout = 60);

/* A proxy with two coins and the API, and its default pool logged in. */
struct rig {
	int		 bind;
	int		 http;
	struct tlisten	*tl1;		/* the default coin's pool */
	struct tlisten	*tl2;		/* xmr2's pool */
	struct proxy	*p;
	struct tconn	*pc1;
	char		*conf;
};


/* "Basic " and base64 of len bytes of cred, in a static buffer. */
static const char *
basic_n(const char *cred, size_t len)
{
	static char	 out[512];

	strcpy(out, "Basic ");
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)cred,
	    (int)len);
	return out;
}

/* "Basic " and base64 of cred. */
static const char *
basic(const char *cred)
{
	return basic_n(cred, strlen(cred));
}

/*
 * One request with Connection: close. auth is the Authorization value
 * (NULL: none), extra more header lines ("Name: value\r\n"), body with
 * ctype (NULL: none).
 */
static struct hresp *
http_req(int port, const char *method, const char *path, const char *auth,
    const char *extra, const char *ctype, const char *body, size_t bodylen)
{
	struct hresp	*r;
	char		*head, *req, *buf, *sep;
	size_t		 len, hlen;
	int		 n;

	n = asprintf(&head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n%s%s%s%s", method, path,
	    auth != NULL ? "Authorization: " : "", auth != NULL ? auth : "",
	    auth != NULL ? "\r\n" : "", extra != NULL ? extra : "");
	cr_assert(n > 0);
	hlen = (size_t)n;
	req = (char *)malloc(hlen + 256 + bodylen);
	cr_assert(req != NULL);
	memcpy(req, head, hlen);
	free(head);
	if (body != NULL)
		hlen += (size_t)sprintf(req + hlen, "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n", ctype, bodylen);
	memcpy(req + hlen, "\r\n", 2);
	hlen += 2;
	if (body != NULL) {
		memcpy(req + hlen, body, bodylen);
		hlen += bodylen;
	}
	buf = http_exchange(port, req, hlen, &len);
	free(req);
	r = (struct hresp *)calloc(1, sizeof *r);
	cr_assert(r != NULL);
	cr_assert(sscanf(buf, "HTTP/1.1 %d", &r->status) == 1,
	    "not an HTTP answer: %s", buf);
	sep = strstr(buf, "\r\n\r\n");
	cr_assert(sep != NULL, "no end of headers: %s", buf);
	*sep = '\0';
	r->head = buf;
	r->body = sep + 4;
	r->bodylen = len - (size_t)(r->body - buf);
	return r;
}


/* The config: two coins, the API, the switch API unless user is NULL. */
static char *
rig_config(struct rig *rg, const char *user, const char *http_extra)
{
	char	*s, *sw = NULL;

	if (user != NULL)
		cr_assert(asprintf(&sw, ",\"switch\":{\"user\":\"%s\","
		    "\"password\":\"" SW_PASS "\",\"state-file\":\"uc.json\"}",
		    user) != -1);
	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"A\","
	    "\"pass\":\"x\"}],"
	    "\"coins\":{\"xmr2\":{\"pools\":[{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"B\",\"pass\":\"x\"}],\"algo\":\"rx/0\"}},"
	    "\"retries\":1,\"retry-pause\":1,\"watch\":false,"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d%s}"
	    "%s}\n", rg->bind, rg->tl1->port, rg->tl2->port, rg->http,
	    http_extra, sw != NULL ? sw : "") != -1);
	free(sw);
	return s;
}

/*
 * Start both pools' listeners, the proxy (user NULL: no switch API),
 * and log the proxy in to the default coin's pool.
 */
static void
rig_start(struct rig *rg, const char *user, const char *http_extra)
{
	memset(rg, 0, sizeof *rg);
	rg->bind = free_port();
	rg->http = free_port();
	rg->tl1 = tl_listen(0);
	rg->tl2 = tl_listen(0);
	rg->conf = rig_config(rg, user, http_extra);
	rg->p = proxy_start(rg->conf);
	rg->pc1 = pool_bring_up(rg->tl1, rg->p);
}

/* Stop the proxy (it must exit cleanly, no secret logged); free all. */
static void
rig_stop(struct rig *rg)
{
	proxy_stop_clean(rg->p);
	tc_close(rg->pc1);
	tl_close(rg->tl1);
	tl_close(rg->tl2);
	proxy_free(rg->p);
	free(rg->conf);
}

/* A switch request with the right credentials (or auth); the answer. */
static struct hresp *
sw_req(struct rig *rg, const char *method, const char *path,
    const char *ctype, const char *body)
{
	return http_req(rg->http, method, path, basic(SW_USER ":" SW_PASS),
	    NULL, ctype, body, body != NULL ? strlen(body) : 0);
}

/* Expect btcpool's answer for err (0: success), HTTP 200. */
static void
expect_answer(struct hresp *r, int err, const char *msg, const char *what)
{
	char	*want;

	if (err == 0)
		want = strdup(OK_BODY);
	else
		cr_assert(asprintf(&want, "{\"err_no\":%d,\"err_msg\":\"%s\","
		    "\"success\":false}", err, msg) != -1);
	cr_assert_eq(r->status, 200, "%s: HTTP %d\n%s\n%s", what, r->status,
	    r->head, r->body);
	cr_assert(strstr(r->head, "Content-Type: application/json") != NULL,
	    "%s: content type:\n%s", what, r->head);
	cr_assert_str_eq(r->body, want, "%s: answer %s, want %s", what,
	    r->body, want);
	free(want);
	hresp_free(r);
}

/* GET /switch?query (right credentials) and expect err. */
static void
expect_get(struct rig *rg, const char *query, int err, const char *msg)
{
	char	*path;

	cr_assert(asprintf(&path, "/switch?%s", query) != -1);
	expect_answer(sw_req(rg, "GET", path, NULL, NULL), err, msg, path);
	free(path);
}

/* POST a multi-user body to path and expect err. */
static void
expect_multi(struct rig *rg, const char *path, const char *body, int err,
    const char *msg)
{
	char	*what;

	cr_assert(asprintf(&what, "POST %s %s", path, body) != -1);
	expect_answer(sw_req(rg, "POST", path, "application/json", body), err,
	    msg, what);
	free(what);
}

/* GET a JSON endpoint of the monitoring API (200 required). */
static json_t *
api_get(struct rig *rg, const char *path, const char *token)
{
	struct hresp	*r;
	json_t		*j;
	char		*auth = NULL;

	if (token != NULL)
		cr_assert(asprintf(&auth, "Bearer %s", token) != -1);
	r = http_req(rg->http, "GET", path, auth, NULL, NULL, NULL, 0);
	free(auth);
	cr_assert_eq(r->status, 200, "GET %s: %d\n%s\n%s", path, r->status,
	    r->head, r->body);
	j = json_loads(r->body, 0, NULL);
	cr_assert(j != NULL, "GET %s: not JSON: %s", path, r->body);
	hresp_free(r);
	return j;
}

/* The size of the user->coin map, from /1/coins. */
static long long
users(struct rig *rg, const char *token)
{
	json_t		*j = api_get(rg, "/1/coins", token);
	json_t		*v = json_object_get(j, "users");
	long long	 n;

	cr_assert(json_is_integer(v), "/1/coins has no users: %s", jtext(j));
	n = json_integer_value(v);
	json_decref(j);
	return n;
}

/* Expect a 401 with the Basic challenge; the map is unchanged. */
static void
expect_401(struct rig *rg, const char *method, const char *path,
    const char *auth)
{
	struct hresp	*r;

	r = http_req(rg->http, method, path, auth, NULL,
	    strcmp(method, "POST") == 0 ? "application/json" : NULL,
	    strcmp(method, "POST") == 0 ? "{}" : NULL, 2);
	cr_assert_eq(r->status, 401, "%s %s with %s: %d, want 401\n%s\n%s",
	    method, path, auth != NULL ? auth : "no auth", r->status, r->head,
	    r->body);
	cr_assert(strstr(r->head, "\r\nWWW-Authenticate: Basic "
	    "realm=\"sluice switch\"") != NULL, "no Basic challenge:\n%s",
	    r->head);
	hresp_free(r);
}

Test(switch_api, errors_and_success_by_query)
{
	struct rig	 rg;

	rig_start(&rg, SW_USER, "");
	cr_assert_eq(users(&rg, NULL), 0);

	expect_get(&rg, "coin=xmr2", 101, "puname is empty");
	expect_get(&rg, "puname=&coin=xmr2", 101, "puname is empty");
	expect_get(&rg, "puname&coin=xmr2", 101, "puname is empty");
	expect_get(&rg, "puname=a/b&coin=xmr2", 102, "puname invalid");
	expect_get(&rg, "puname=a+b&coin=xmr2", 102, "puname invalid");
	/* A NUL does not cut the name to a valid "a". */
	expect_get(&rg, "puname=a%00b&coin=xmr2", 102, "puname invalid");
	expect_get(&rg, "puname=alice", 103, "coin is empty");
	expect_get(&rg, "puname=alice&coin=", 103, "coin is empty");
	expect_get(&rg, "puname=alice&coin=btc", 104, "coin is inexistent");
	expect_get(&rg, "puname=alice&coin=xmr2%00", 104,
	    "coin is inexistent");
	/* The puname is checked before the coin, as btcpool does. */
	expect_get(&rg, "puname=&coin=btc", 101, "puname is empty");
	cr_assert_eq(users(&rg, NULL), 0, "a refused switch changed the map");

	expect_get(&rg, "puname=alice&coin=xmr2", 0, NULL);
	cr_assert(proxy_wait_log(rg.p, "type=switch_api path=/switch "
	    "status=ok err_no=0 user=alice coin=xmr2", WAIT_MS));
	cr_assert_eq(users(&rg, NULL), 1);
	/* Url-decoded, and the first value of a key counts. */
	expect_get(&rg, "coin=default&puname=b%6Fb&puname=zed", 0, NULL);
	cr_assert(proxy_wait_log(rg.p, "user=bob coin=default", WAIT_MS));
	cr_assert_eq(users(&rg, NULL), 2);
	/* Again, and back: users, not switches, are counted. */
	expect_get(&rg, "puname=alice&coin=xmr2", 0, NULL);
	expect_get(&rg, "puname=alice&coin=default", 0, NULL);
	cr_assert_eq(users(&rg, NULL), 2);
	rig_stop(&rg);
}

Test(switch_api, form_body_post)
{
	struct rig	 rg;
	struct hresp	*r;
	const char	*form = "puname=car%6Fl&coin=xmr2";

	rig_start(&rg, SW_USER, "");
	expect_answer(sw_req(&rg, "POST", "/switch",
	    "application/x-www-form-urlencoded", form), 0, NULL, "form POST");
	cr_assert(proxy_wait_log(rg.p, "user=carol coin=xmr2", WAIT_MS));
	cr_assert_eq(users(&rg, NULL), 1);
	/* With a charset; the body's values come before the query's. */
	expect_answer(sw_req(&rg, "POST", "/switch?puname=zed&coin=xmr2",
	    "application/x-www-form-urlencoded; charset=utf-8",
	    "puname=dave&coin=default"), 0, NULL, "form POST and query");
	cr_assert(proxy_wait_log(rg.p, "user=dave coin=default", WAIT_MS));
	/* The query alone, on a POST. */
	expect_answer(sw_req(&rg, "POST", "/switch?puname=erin&coin=xmr2",
	    NULL, NULL), 0, NULL, "POST with a query");
	cr_assert(proxy_wait_log(rg.p, "user=erin coin=xmr2", WAIT_MS));
	/* A body of another type is not a form. */
	expect_answer(sw_req(&rg, "POST", "/switch", "text/plain", form), 101,
	    "puname is empty", "text/plain POST");
	expect_answer(sw_req(&rg, "POST", "/switch",
	    "application/x-www-form-urlencoded", "puname=frank"), 103,
	    "coin is empty", "form POST without coin");
	cr_assert_eq(users(&rg, NULL), 3);
	/* Other methods. */
	r = sw_req(&rg, "PUT", "/switch?puname=x&coin=xmr2", "text/plain",
	    "x");
	cr_assert_eq(r->status, 405, "PUT /switch: %d", r->status);
	cr_assert(strstr(r->head, "\r\nAllow: GET, POST") != NULL, "%s",
	    r->head);
	hresp_free(r);
	cr_assert_eq(users(&rg, NULL), 3);
	rig_stop(&rg);
}

Test(switch_api, multi_user_both_paths)
{
	struct rig	 rg;
	struct hresp	*r;
	const char	*paths[] = { "/switch/multi-user", "/switch-multi-user" };
	const char	*empty[] = {
		"", "{}", "[]", "not json", "{\"usercoins\":[]}",
		"{\"usercoins\":\"a\"}", "{\"usercoins\":null}",
		"{\"usercoins\":[1]}",
		"{\"usercoins\":[{\"coin\":\"xmr2\",\"punames\":[]}]}",
		"{\"usercoins\":[{\"coin\":\"xmr2\"}]}",
		"{\"usercoins\":[{\"coin\":\"xmr2\",\"punames\":\"a\"}]}",
		"{\"usercoins\":[{\"coin\":\"xmr2\",\"punames\":[\"a\",1]}]}",
		"{\"usercoins\":[{\"coin\":2,\"punames\":[\"a\"]}]}",
		"{\"usercoins\":[{\"coin\":\"xmr2\",\"punames\":[\"a\"]}]",
	};
	size_t		 i, k;

	rig_start(&rg, SW_USER, "");
	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof empty / sizeof empty[0]; i++)
			expect_multi(&rg, paths[k], empty[i], 108,
			    "usercoins is empty");
		expect_multi(&rg, paths[k], "{\"usercoins\":[{\"punames\":"
		    "[\"a\"]}]}", 103, "coin is empty");
		expect_multi(&rg, paths[k], "{\"usercoins\":[{\"coin\":\"xmr2\","
		    "\"punames\":[\"\"]}]}", 101, "puname is empty");
	}
	cr_assert_eq(users(&rg, NULL), 0);

	/* btcpool's example shape, with this config's coins. */
	expect_multi(&rg, paths[0], "{\"usercoins\":[{\"coin\":\"xmr2\","
	    "\"punames\":[\"a\",\"b\",\"c\"]},{\"coin\":\"default\","
	    "\"punames\":[\"d\",\"e\"]}]}", 0, NULL);
	cr_assert(proxy_wait_log(rg.p, "type=switch_api "
	    "path=/switch/multi-user status=ok err_no=0 users=5", WAIT_MS));
	cr_assert_eq(users(&rg, NULL), 5);
	expect_multi(&rg, paths[1], "{\"usercoins\":[{\"coin\":\"default\","
	    "\"punames\":[\"a\",\"f\"]}]}", 0, NULL);
	cr_assert(proxy_wait_log(rg.p, "type=switch_api "
	    "path=/switch-multi-user status=ok err_no=0 users=2", WAIT_MS));
	cr_assert_eq(users(&rg, NULL), 6);

	/* Half valid: nothing of it is applied. */
	expect_multi(&rg, paths[0], "{\"usercoins\":[{\"coin\":\"xmr2\","
	    "\"punames\":[\"g\",\"h\"]},{\"coin\":\"btc\",\"punames\":"
	    "[\"i\"]}]}", 104, "coin is inexistent");
	expect_multi(&rg, paths[1], "{\"usercoins\":[{\"coin\":\"xmr2\","
	    "\"punames\":[\"g\",\"bad/name\"]}]}", 102, "puname invalid");
	expect_multi(&rg, paths[1], "{\"usercoins\":[{\"coin\":\"xmr2\","
	    "\"punames\":[\"g\"]},{\"coin\":\"\",\"punames\":[\"h\"]}]}", 103,
	    "coin is empty");
	cr_assert_eq(users(&rg, NULL), 6, "a refused request changed the map");

	/* POST only; the body's content type does not matter (curl -d). */
	r = sw_req(&rg, "GET", paths[0], NULL, NULL);
	cr_assert_eq(r->status, 405, "GET %s: %d", paths[0], r->status);
	cr_assert(strstr(r->head, "\r\nAllow: POST") != NULL, "%s", r->head);
	hresp_free(r);
	expect_answer(sw_req(&rg, "POST", paths[1],
	    "application/x-www-form-urlencoded", "{\"usercoins\":[{\"coin\":"
	    "\"xmr2\",\"punames\":[\"g\"]}]}"), 0, NULL, "curl -d");
	cr_assert_eq(users(&rg, NULL), 7);
	rig_stop(&rg);
}

Test(switch_api, basic_auth)
{
	struct rig	 rg;
	json_t		*s;
	const char	*paths[] = { "/switch?puname=a&coin=xmr2",
	    "/switch/multi-user", "/switch-multi-user" };
	const char	*auths[] = { NULL, "", "Basic", "Basic ",
	    "Basic !!!!", "Basic c3c6cHc", "Basic c3c6cHc=x",
	    "Basic ====", "Basic c3c6cHctU0VDUkVUNw==x",
	    "Bearer " TOKEN, "Digest abc" };
	char		 cred[64];
	size_t		 i, k, n = 0;

	rig_start(&rg, SW_USER, "");
	for (k = 0; k < 3; k++) {
		const char *m = k == 0 ? "GET" : "POST";

		for (i = 0; i < sizeof auths / sizeof auths[0]; i++, n++)
			expect_401(&rg, m, paths[k], auths[i]);
		expect_401(&rg, m, paths[k], basic(SW_USER ":wrong"));
		expect_401(&rg, m, paths[k], basic(SW_USER ":" SW_PASS "x"));
		expect_401(&rg, m, paths[k], basic(SW_USER ":"));
		expect_401(&rg, m, paths[k], basic("other:" SW_PASS));
		expect_401(&rg, m, paths[k], basic(SW_USER));
		expect_401(&rg, m, paths[k], basic(""));
		n += 6;
	}
	/* The password with a NUL and more after it is not the password. */
	expect_401(&rg, "GET", paths[0], basic_n(SW_USER ":" SW_PASS "\0x",
	    sizeof(SW_USER ":" SW_PASS "\0x") - 1));
	n++;
	cr_assert_eq(users(&rg, NULL), 0, "an unauthorized request changed "
	    "the map");
	s = api_get(&rg, "/1/summary", NULL);
	cr_assert_eq(json_integer_value(jget(s, "sluice.http.auth_failures")),
	    (json_int_t)n, "auth_failures %s, want %zu",
	    jtext(jget(s, "sluice.http")), n);
	json_decref(s);

	/* The scheme is case-insensitive, as Go's. */
	strcpy(cred, basic(SW_USER ":" SW_PASS));
	memcpy(cred, "bASIC", 5);
	expect_answer(http_req(rg.http, "GET", paths[0], cred, NULL, NULL,
	    NULL, 0), 0, NULL, "bASIC");
	cr_assert_eq(users(&rg, NULL), 1);
	rig_stop(&rg);
}

Test(switch_api, not_found_without_switch_user)
{
	struct rig	 rg;
	struct hresp	*r;
	const char	*paths[] = { "/switch?puname=a&coin=xmr2",
	    "/switch/multi-user", "/switch-multi-user" };
	const char	*methods[] = { "GET", "POST" };
	size_t		 i, k;

	rig_start(&rg, NULL, ",\"restricted\":false");
	for (k = 0; k < 3; k++) {
		for (i = 0; i < 2; i++) {
			r = http_req(rg.http, methods[i], paths[k],
			    basic(SW_USER ":" SW_PASS), NULL,
			    i == 1 ? "application/json" : NULL,
			    i == 1 ? "{}" : NULL, 2);
			cr_assert_eq(r->status, 404, "%s %s: %d, want 404\n%s",
			    methods[i], paths[k], r->status, r->body);
			cr_assert(strstr(r->body, "\"error\"") != NULL, "%s",
			    r->body);
			cr_assert(strstr(r->head, "WWW-Authenticate") == NULL,
			    "%s", r->head);
			hresp_free(r);
		}
	}
	cr_assert_eq(users(&rg, NULL), 0);
	rig_stop(&rg);
}

Test(switch_api, restricted_and_token_do_not_apply)
{
	struct rig	 rg;
	struct hresp	*r;

	rig_start(&rg, SW_USER, ",\"restricted\":true,\"access-token\":\""
	    TOKEN "\"");
	/* The monitoring API still wants its token, and GET only. */
	r = http_req(rg.http, "GET", "/1/coins", NULL, NULL, NULL, NULL, 0);
	cr_assert_eq(r->status, 401, "GET /1/coins without token: %d",
	    r->status);
	hresp_free(r);
	r = http_req(rg.http, "POST", "/1/coins", "Bearer " TOKEN, NULL,
	    "application/json", "{}", 2);
	cr_assert_eq(r->status, 403, "POST /1/coins restricted: %d",
	    r->status);
	hresp_free(r);
	/* The switch endpoints take their Basic auth alone, any method. */
	expect_get(&rg, "puname=alice&coin=xmr2", 0, NULL);
	expect_answer(sw_req(&rg, "POST", "/switch",
	    "application/x-www-form-urlencoded", "puname=bob&coin=xmr2"), 0,
	    NULL, "restricted form POST");
	expect_multi(&rg, "/switch/multi-user", "{\"usercoins\":[{\"coin\":"
	    "\"xmr2\",\"punames\":[\"carol\"]}]}", 0, NULL);
	expect_multi(&rg, "/switch-multi-user", "{\"usercoins\":[{\"coin\":"
	    "\"xmr2\",\"punames\":[\"dave\"]}]}", 0, NULL);
	/* The token is no key to them. */
	expect_401(&rg, "GET", "/switch?puname=erin&coin=xmr2",
	    "Bearer " TOKEN);
	cr_assert_eq(users(&rg, TOKEN), 4);
	rig_stop(&rg);
}

Test(switch_api, body_limit_one_mib)
{
	struct rig	 rg;
	const char	*head = "{\"usercoins\":[{\"coin\":\"xmr2\","
	    "\"punames\":[\"big\"]}]}";
	char		*body, *req, *buf;
	size_t		 len;
	int		 n;

	rig_start(&rg, SW_USER, "");
	/* Exactly 1 MiB, padded with spaces: read and applied. */
	body = (char *)malloc(MIB);
	cr_assert(body != NULL);
	memset(body, ' ', MIB);
	memcpy(body, head, strlen(head));
	expect_answer(http_req(rg.http, "POST", "/switch/multi-user",
	    basic(SW_USER ":" SW_PASS), NULL, "application/json", body, MIB),
	    0, NULL, "a 1 MiB body");
	cr_assert_eq(users(&rg, NULL), 1);
	/* One byte more: refused from its Content-Length, 413. */
	n = asprintf(&req, "POST /switch/multi-user HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nAuthorization: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
	    basic(SW_USER ":" SW_PASS), MIB + 1);
	cr_assert(n > 0);
	buf = http_exchange(rg.http, req, (size_t)n, &len);
	cr_assert(strncmp(buf, "HTTP/1.1 413 ", 13) == 0,
	    "a body over 1 MiB: %s", buf);
	free(buf);
	free(req);
	free(body);
	cr_assert_eq(users(&rg, NULL), 1);
	rig_stop(&rg);
}

Test(switch_api, connected_miner_moves_to_the_other_pool)
{
	struct rig	 rg;
	struct tconn	*mc, *pc2;
	struct tjob	 job2;
	json_t		*r, *login, *m;
	const char	*blob;
	char		 blob2[256];
	long long	 deadline;

	rig_start(&rg, SW_USER, "");
	mc = tc_connect(rg.bind);
	r = miner_login(mc, "bob.rig1", "x", NULL, WAIT_MS);
	cr_assert(r != NULL && json_is_null(json_object_get(r, "error")),
	    "login: %s", r != NULL ? jtext(r) : "none");
	cr_assert_str_eq(jstr(r, "result.job.job_id"), "job1");
	json_decref(r);

	expect_get(&rg, "puname=bob&coin=xmr2", 0, NULL);
	pc2 = tl_accept(rg.tl2, WAIT_MS);
	if (pc2 == NULL)
		proxy_dump_log(rg.p);
	cr_assert(pc2 != NULL, "sluice did not connect to xmr2's pool");
	login = pool_expect_login(pc2, WAIT_MS);
	tjob_default(&job2, "p2job");
	snprintf(blob2, sizeof blob2, "%s", job2.blob);
	memcpy(blob2, "0e0e", 4);
	job2.blob = blob2;
	pool_send_login_ok(pc2, login, "pool-session-2", &job2);
	json_decref(login);

	/* The miner gets xmr2's job, on the same connection. */
	deadline = now_ms() + WAIT_MS;
	for (;;) {
		m = tc_recv(mc, left_ms(deadline));
		if (m == NULL)
			proxy_dump_log(rg.p);
		cr_assert(m != NULL, "the miner got no job from xmr2's pool");
		if (json_is_string(json_object_get(m, "method")) &&
		    strcmp(jstr(m, "method"), "job") == 0 &&
		    (blob = jstr(m, "params.blob")) != NULL &&
		    blob_same_but_slot(blob, blob2))
			break;
		json_decref(m);
	}
	json_decref(m);
	cr_assert(proxy_wait_log(rg.p, "type=switch moved=1", WAIT_MS));
	tc_close(mc);
	tc_close(pc2);
	rig_stop(&rg);
}
