/*
 * test_dashboard.cc: the web dashboard as the real daemon serves it: the
 * page at / and its files byte for byte as in www/, with their content
 * types, ETags (304 on a match), the page's CSP and no inline script;
 * /dashboard.json; http.dashboard false (404, and back on a reload); and
 * the token rules: the page's files are public, the data is not. What a
 * person sees in a browser is t/browser/test_dashboard.py's part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>

#include "harness.h"

#define WAIT_MS		5000
#define TOKEN		"dash-token-SECRET4"
#define PAGE_BUDGET	(300 * 1024)	/* the page's own files at most */

TestSuite(dashboard, .timeout = 60);

/* A daemon with the API on; its pool listens but is never answered. */
struct dash {
	int		 http;
	int		 bind;
	struct tlisten	*tl;
	struct proxy	*p;
	char		*conf;
};

/* One file of the page, as served. */
struct asset {
	const char	*path;
	const char	*file;		/* in www/ */
	const char	*ctype;
};

static const struct asset assets[] = {
	{ "/", "index.html", "text/html; charset=utf-8" },
	{ "/index.html", "index.html", "text/html; charset=utf-8" },
	{ "/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8" },
	{ "/dashboard.css", "dashboard.css", "text/css; charset=utf-8" },
	{ "/favicon.svg", "favicon.svg", "image/svg+xml" },
	{ "/favicon.ico", "favicon.svg", "image/svg+xml" },
};
#define NASSETS	(sizeof assets / sizeof assets[0])

/* The config with http_extra inside "http". */
static char *
dash_config(struct dash *d, const char *http_extra)
{
	char	*s;

	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"W\","
	    "\"pass\":\"x\"}],\"watch\":false,\"syslog\":false,"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\","
	    "\"port\":%d%s}}\n",
	    d->bind, d->tl->port, d->http, http_extra) != -1);
	return s;
}

static void
dash_start(struct dash *d, const char *http_extra)
{
	memset(d, 0, sizeof *d);
	d->http = free_port();
	d->bind = free_port();
	d->tl = tl_listen(0);
	d->conf = dash_config(d, http_extra);
	d->p = proxy_start(d->conf);
	cr_assert(proxy_wait_log(d->p, "type=api status=listening", WAIT_MS),
	    "the API did not start");
}

/* Stop the daemon, which must exit cleanly with no secret in its log. */
static void
dash_stop(struct dash *d)
{
	int	 code = proxy_stop(d->p);

	if (code != 0)
		proxy_dump_log(d->p);
	cr_assert_eq(code, 0, "sluice exit status %d", code);
	cr_assert_eq(proxy_log_count(d->p, "SECRET"), 0,
	    "a secret appeared in the daemon log");
	tl_close(d->tl);
	proxy_free(d->p);
	free(d->conf);
}

/* Reload with another "http" tail. */
static void
dash_reload(struct dash *d, const char *http_extra)
{
	free(d->conf);
	d->conf = dash_config(d, http_extra);
	proxy_write_config(d->p, d->conf);
	proxy_signal(d->p, SIGHUP);
	cr_assert(proxy_wait_log(d->p, "type=reload status=done", WAIT_MS),
	    "no reload");
}

/* One request; headers may be NULL. */
static struct hresp *
get(struct dash *d, const char *method, const char *path,
    const char *headers)
{
	return http_request(d->http, method, path, headers,
	    strcmp(method, "POST") == 0 ? "{}" : NULL);
}

/* The value of a response header (case as libevent writes it), or NULL. */
static char *
header(const struct hresp *r, const char *name)
{
	static char	 v[512];
	const char	*p = r->head;
	size_t		 n = strlen(name), len;

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1 + strspn(p + n + 1, " ");
			len = strcspn(p, "\r\n");
			cr_assert(len < sizeof v);
			memcpy(v, p, len);
			v[len] = '\0';
			return v;
		}
	}
	return NULL;
}

/* A status and, for errors but to HEAD, the {"error": ...} body. */
static void
expect_status(struct dash *d, const char *method, const char *path,
    const char *headers, int status)
{
	struct hresp	*r = get(d, method, path, headers);
	json_t		*j;

	cr_assert_eq(r->status, status, "%s %s: %d, want %d\n%s\n%s", method,
	    path, r->status, status, r->head, r->body);
	if (status >= 400 && strcmp(method, "HEAD") != 0) {
		j = json_loads(r->body, 0, NULL);
		cr_assert(j != NULL && json_is_string(json_object_get(j,
		    "error")), "%s %s: not {\"error\": ...}: %s", method, path,
		    r->body);
		json_decref(j);
	}
	hresp_free(r);
}

/* A file of www/ in the source tree. */
static char *
www_file(const char *name, size_t *lenp)
{
	char	*path, *buf;
	FILE	*f;
	long	 len;

	cr_assert(asprintf(&path, "%s/www/%s", sluice_srcdir(), name) != -1);
	f = fopen(path, "rb");
	cr_assert(f != NULL, "cannot open %s", path);
	cr_assert(fseek(f, 0, SEEK_END) == 0);
	len = ftell(f);
	cr_assert(len >= 0);
	rewind(f);
	buf = (char *)malloc((size_t)len + 1);
	cr_assert(buf != NULL);
	cr_assert(fread(buf, 1, (size_t)len, f) == (size_t)len);
	buf[len] = '\0';
	fclose(f);
	free(path);
	*lenp = (size_t)len;
	return buf;
}

/* Every "<script" of the page loads a file: no inline script. */
static void
expect_no_inline_script(const char *html)
{
	const char	*p = html;

	while ((p = strstr(p, "<script")) != NULL) {
		p += 7;
		cr_assert(strncmp(p, " src=\"", 6) == 0,
		    "an inline <script> in the page: %.60s", p - 7);
		cr_assert(strstr(p, "</script>") - p < 40,
		    "a <script src> with a body: %.80s", p - 7);
	}
}

Test(dashboard, page_and_files)
{
	struct dash	 d;
	struct hresp	*r, *r2;
	char		*want, *etag, inm[128];
	size_t		 i, len, total = 0;

	dash_start(&d, "");
	for (i = 0; i < NASSETS; i++) {
		r = get(&d, "GET", assets[i].path, NULL);
		cr_assert_eq(r->status, 200, "GET %s: %d\n%s", assets[i].path,
		    r->status, r->head);
		cr_assert_str_eq(header(r, "Content-Type"), assets[i].ctype,
		    "GET %s", assets[i].path);
		cr_assert_str_eq(header(r, "X-Content-Type-Options"),
		    "nosniff");
		cr_assert_str_eq(header(r, "Cache-Control"), "no-cache");
		want = www_file(assets[i].file, &len);
		cr_assert_eq(r->bodylen, len, "GET %s: %zu bytes, www/%s "
		    "has %zu", assets[i].path, r->bodylen, assets[i].file, len);
		cr_assert(memcmp(r->body, want, len) == 0,
		    "GET %s differs from www/%s", assets[i].path,
		    assets[i].file);
		free(want);
		if (strcmp(assets[i].path, "/index.html") != 0 &&
		    strcmp(assets[i].path, "/favicon.ico") != 0)
			total += len;

		/* The ETag: a match is a 304 without a body, else 200. */
		etag = header(r, "ETag");
		cr_assert(etag != NULL && etag[0] == '"' && strlen(etag) == 18,
		    "GET %s: ETag %s", assets[i].path, etag);
		snprintf(inm, sizeof inm, "If-None-Match: W/\"x\", %s\r\n",
		    etag);
		r2 = get(&d, "GET", assets[i].path, inm);
		cr_assert_eq(r2->status, 304, "GET %s with %s: %d",
		    assets[i].path, inm, r2->status);
		cr_assert_eq(r2->bodylen, 0);
		cr_assert_str_eq(header(r2, "ETag"), etag);
		hresp_free(r2);
		r2 = get(&d, "GET", assets[i].path,
		    "If-None-Match: \"0000000000000000\"\r\n");
		cr_assert_eq(r2->status, 200);
		hresp_free(r2);

		/* HEAD: the length, no body. */
		r2 = get(&d, "HEAD", assets[i].path, NULL);
		cr_assert_eq(r2->status, 200);
		cr_assert_eq(r2->bodylen, 0, "HEAD %s sent a body",
		    assets[i].path);
		cr_assert_eq(strtoul(header(r2, "Content-Length"), NULL, 10),
		    r->bodylen);
		hresp_free(r2);
		hresp_free(r);
	}
	cr_assert(total < PAGE_BUDGET, "the page's files are %zu bytes", total);

	/* The page: a strict CSP, no inline script, the tiles. */
	r = get(&d, "GET", "/", NULL);
	cr_assert(strstr(header(r, "Content-Security-Policy"),
	    "script-src 'self'") != NULL);
	cr_assert(strstr(header(r, "Content-Security-Policy"),
	    "default-src 'none'") != NULL);
	cr_assert_str_eq(header(r, "X-Frame-Options"), "DENY");
	expect_no_inline_script(r->body);
	cr_assert(strstr(r->body, "id=\"tile-miners\"") != NULL);
	cr_assert(strstr(r->body, "type=\"password\"") != NULL);
	cr_assert(strstr(r->body, "rel=\"icon\"") != NULL);
	hresp_free(r);
	r = get(&d, "GET", "/dashboard.js", "If-None-Match: *\r\n");
	cr_assert_eq(r->status, 304);
	hresp_free(r);

	/* Only GET and HEAD; other methods as for the API. */
	expect_status(&d, "POST", "/", NULL, 403);
	expect_status(&d, "GET", "/dashboard.jsx", NULL, 404);
	expect_status(&d, "GET", "/www/index.html", NULL, 404);
	dash_reload(&d, ",\"restricted\":false");
	expect_status(&d, "POST", "/", NULL, 405);
	expect_status(&d, "PUT", "/dashboard.js", NULL, 405);
	expect_status(&d, "DELETE", "/dashboard.json", NULL, 405);
	dash_stop(&d);
}

Test(dashboard, dashboard_json)
{
	struct dash	 d;
	struct hresp	*r;
	json_t		*j, *e;

	dash_start(&d, "");
	r = get(&d, "GET", "/dashboard.json", NULL);
	cr_assert_eq(r->status, 200);
	cr_assert_str_eq(header(r, "Content-Type"), "application/json");
	cr_assert_str_eq(header(r, "Cache-Control"), "no-store");
	j = json_loads(r->body, 0, NULL);
	cr_assert(j != NULL, "not JSON: %s", r->body);
	cr_assert(json_is_false(json_object_get(j, "token")), "%s", r->body);
	e = json_object_get(j, "endpoints");
	cr_assert(json_is_array(e), "%s", r->body);
	cr_assert(strstr(r->body, "\"/1/summary\"") != NULL &&
	    strstr(r->body, "\"/1/workers\"") != NULL &&
	    strstr(r->body, "\"/1/upstreams\"") != NULL &&
	    strstr(r->body, "\"/1/capture/stream\"") != NULL, "%s", r->body);
	json_decref(j);
	hresp_free(r);
	dash_stop(&d);
}

Test(dashboard, off_is_404_and_reload_turns_it_on)
{
	struct dash	 d;
	size_t		 i;

	dash_start(&d, ",\"dashboard\":false");
	for (i = 0; i < NASSETS; i++)
		expect_status(&d, "GET", assets[i].path, NULL, 404);
	expect_status(&d, "GET", "/dashboard.json", NULL, 404);
	expect_status(&d, "HEAD", "/", NULL, 404);
	/* The API itself is not the dashboard. */
	expect_status(&d, "GET", "/1/summary", NULL, 200);
	dash_reload(&d, "");
	for (i = 0; i < NASSETS; i++)
		expect_status(&d, "GET", assets[i].path, NULL, 200);
	dash_reload(&d, ",\"dashboard\":false");
	expect_status(&d, "GET", "/", NULL, 404);
	dash_stop(&d);
}

Test(dashboard, token_rules)
{
	struct dash	 d;
	struct hresp	*r;
	json_t		*j;
	size_t		 i;

	dash_start(&d, ",\"access-token\":\"" TOKEN "\"");
	/* The page and its files load without the token: they hold no data. */
	for (i = 0; i < NASSETS; i++) {
		r = get(&d, "GET", assets[i].path, NULL);
		cr_assert_eq(r->status, 200, "GET %s: %d", assets[i].path,
		    r->status);
		cr_assert(strstr(r->body, TOKEN) == NULL);
		hresp_free(r);
	}
	r = get(&d, "GET", "/dashboard.json", NULL);
	cr_assert_eq(r->status, 200);
	j = json_loads(r->body, 0, NULL);
	cr_assert(json_is_true(json_object_get(j, "token")), "%s", r->body);
	cr_assert(strstr(r->body, TOKEN) == NULL, "the token is in %s",
	    r->body);
	json_decref(j);
	hresp_free(r);
	/* What the page then reads needs it, as always. */
	expect_status(&d, "GET", "/1/summary", NULL, 401);
	expect_status(&d, "GET", "/1/workers",
	    "Authorization: Bearer wrong\r\n", 403);
	expect_status(&d, "GET", "/1/workers",
	    "Authorization: Bearer " TOKEN "\r\n", 200);
	/* Other methods on the page's paths pass the whole gate. */
	expect_status(&d, "POST", "/", NULL, 401);
	expect_status(&d, "POST", "/", "Authorization: Bearer " TOKEN "\r\n",
	    403);
	/* Off: the gate as for any unknown path, the token first. */
	dash_reload(&d, ",\"access-token\":\"" TOKEN "\",\"dashboard\":false");
	expect_status(&d, "GET", "/", NULL, 401);
	expect_status(&d, "GET", "/", "Authorization: Bearer " TOKEN "\r\n",
	    404);
	expect_status(&d, "GET", "/dashboard.json",
	    "Authorization: Bearer " TOKEN "\r\n", 404);
	dash_stop(&d);
}
