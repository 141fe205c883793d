/*
 * dashboard.cc: the web dashboard's files and their answers.
 *
 * The files live in www/ (index.html, dashboard.js, dashboard.css,
 * favicon.svg); at build time contrib/embed.sh turns them into
 * dashboard_files[], so the binary needs nothing on disk and a farm LAN
 * without internet gets the whole page from sluice. This file maps
 * request paths to those files and answers a GET or HEAD of one: its
 * content type, an ETag (a hash of the bytes, so a new build is fetched
 * again and an unchanged one is answered 304) and, for the page itself,
 * its Content-Security-Policy. It also answers /dashboard.json, what the
 * page reads first: whether a token is needed and which endpoints this
 * sluice has, so that it never asks for one it lacks.
 *
 * api.cc calls dashboard_request() before its token check while
 * http.dashboard is on: a browser cannot send a Bearer header to load a
 * page, and none of these answers holds data or a secret.
 */
#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "api.h"
#include "config.h"

#define DASHBOARD_JSON	"/dashboard.json"

struct dashboard_route {
	const char	*path;
	const char	*file;
	const char	*ctype;
};

/* One file as served: at a path, with its type and validator. */
struct dashboard_asset {
	const char		*path;
	const unsigned char	*data;
	size_t			 len;
	const char		*ctype;
	const char		*csp;		/* the page only */
	char			 etag[24];	/* "<16 hex>", quoted */
};

/* /dashboard.json's list being written. */
struct dashboard_list {
	struct evbuffer	*b;
	int		 n;
};

static const struct dashboard_route dashboard_routes[] = {
	{ "/", "index.html", "text/html; charset=utf-8" },
	{ "/index.html", "index.html", "text/html; charset=utf-8" },
	{ "/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8" },
	{ "/dashboard.css", "dashboard.css", "text/css; charset=utf-8" },
	{ "/favicon.svg", "favicon.svg", "image/svg+xml" },
	/* What browsers and tools ask for when a page names no icon. */
	{ "/favicon.ico", "favicon.svg", "image/svg+xml" },
};
#define DASHBOARD_NROUTES \
	(sizeof dashboard_routes / sizeof dashboard_routes[0])

/*
 * The page's scripts and styles come from sluice alone, no inline code
 * runs, it talks to no other host and no other site may frame it.
 */
static const char dashboard_csp[] = "default-src 'none'; "
    "script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

static struct dashboard_asset	dashboard_assets[DASHBOARD_NROUTES];
static int			dashboard_ready;

static const struct dashboard_file *dashboard_file(const char *);
static void	 dashboard_init(void);
static const struct dashboard_asset *dashboard_find(const char *);
static int	 dashboard_fresh(const struct dashboard_asset *,
		     const char *);
static void	 dashboard_send(struct evhttp_request *, struct evbuffer *,
		     const char *, const char *);
static void	 dashboard_asset(struct evhttp_request *,
		     const struct dashboard_asset *);
static void	 dashboard_path_json(const char *, void *);
static void	 dashboard_json(struct evhttp_request *);

/* The built-in file called name, or NULL. */
static const struct dashboard_file *
dashboard_file(const char *name)
{
	size_t	 i;

	for (i = 0; i < dashboard_nfiles; i++) {
		if (strcmp(dashboard_files[i].name, name) == 0)
			return &dashboard_files[i];
	}
	return NULL;
}

/* Resolve each route to its file and hash it (FNV-1a, 64 bits) once. */
static void
dashboard_init(void)
{
	const struct dashboard_route	*r;
	const struct dashboard_file	*f;
	struct dashboard_asset		*a;
	uint64_t			 h;
	size_t				 i, j;

	for (i = 0; i < DASHBOARD_NROUTES; i++) {
		r = &dashboard_routes[i];
		if ((f = dashboard_file(r->file)) == NULL)
			fatalx("%s: %s is not built in", __func__, r->file);
		a = &dashboard_assets[i];
		a->path = r->path;
		a->data = f->data;
		a->len = f->len;
		a->ctype = r->ctype;
		a->csp = strncmp(r->ctype, "text/html", 9) == 0 ?
		    dashboard_csp : NULL;
		h = 0xcbf29ce484222325ULL;
		for (j = 0; j < f->len; j++) {
			h ^= f->data[j];
			h *= 0x100000001b3ULL;
		}
		snprintf(a->etag, sizeof a->etag, "\"%016llx\"",
		    (unsigned long long)h);
	}
	dashboard_ready = 1;
}

/* The file served at path, or NULL. */
static const struct dashboard_asset *
dashboard_find(const char *path)
{
	size_t	 i;

	if (!dashboard_ready)
		dashboard_init();
	for (i = 0; i < DASHBOARD_NROUTES; i++) {
		if (strcmp(dashboard_assets[i].path, path) == 0)
			return &dashboard_assets[i];
	}
	return NULL;
}

/*
 * Does the client's If-None-Match (a list of ETags, weak ones with a W/
 * prefix, or "*") name this file's current ETag? Then it gets a 304.
 */
static int
dashboard_fresh(const struct dashboard_asset *a, const char *inm)
{
	size_t		 n = strlen(a->etag);
	const char	*p;

	if (inm == NULL)
		return 0;
	if (inm[strspn(inm, " \t")] == '*')
		return 1;
	for (p = inm; (p = strstr(p, a->etag)) != NULL; p += n) {
		/* A whole list member, not part of a longer tag. */
		if ((p == inm || p[-1] == ' ' || p[-1] == ',' ||
		    p[-1] == '/') && (p[n] == '\0' || p[n] == ',' ||
		    p[n] == ' '))
			return 1;
	}
	return 0;
}

/*
 * A 200 with a body that may be cached (api_reply's never is); to HEAD
 * its length only, which libevent 2.1 would not do by itself (it would
 * send the body).
 */
static void
dashboard_send(struct evhttp_request *req, struct evbuffer *body,
    const char *ctype, const char *cache)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	char			 len[32];

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", cache);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
	} else
		evhttp_send_reply(req, HTTP_OK, "OK", body);
}

/*
 * One of the dashboard's files. The browser revalidates it each time
 * (no-cache) and gets a 304 while the build is the same.
 */
static void
dashboard_asset(struct evhttp_request *req, const struct dashboard_asset *a)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b;

	evhttp_add_header(h, "ETag", a->etag);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (a->csp != NULL) {
		evhttp_add_header(h, "Content-Security-Policy", a->csp);
		evhttp_add_header(h, "X-Frame-Options", "DENY");
		evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	}
	if (dashboard_fresh(a, evhttp_find_header(
	    evhttp_request_get_input_headers(req), "If-None-Match"))) {
		evhttp_add_header(h, "Cache-Control", "no-cache");
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	if ((b = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	/* The bytes are the binary's own: no copy. */
	evbuffer_add_reference(b, a->data, a->len, NULL, NULL);
	dashboard_send(req, b, a->ctype, "no-cache");
	evbuffer_free(b);
}

/* One endpoint of /dashboard.json's list (the paths are plain ASCII). */
static void
dashboard_path_json(const char *path, void *arg)
{
	struct dashboard_list	*l = (struct dashboard_list *)arg;

	evbuffer_add_printf(l->b, "%s\"%s\"", l->n++ > 0 ? "," : "", path);
}

/*
 * GET /dashboard.json: whether a token is needed and the endpoints this
 * sluice serves. Nothing the 401 of any endpoint would not tell.
 */
static void
dashboard_json(struct evhttp_request *req)
{
	struct dashboard_list	 l = { NULL, 0 };

	if ((l.b = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	evbuffer_add_printf(l.b, "{\"token\":%s,\"endpoints\":[",
	    sl.conf->http.access_token != NULL ? "true" : "false");
	api_foreach_path(dashboard_path_json, &l);
	evbuffer_add_printf(l.b, "]}\n");
	api_reply(req, HTTP_OK, "OK", l.b, API_JSON);
	evbuffer_free(l.b);
}

/*
 * A GET or HEAD of path: answer it if it is the dashboard's and return 1,
 * else 0 (the caller goes on with the API's gate).
 */
int
dashboard_request(struct evhttp_request *req, const char *path)
{
	const struct dashboard_asset	*a;

	if (strcmp(path, DASHBOARD_JSON) == 0) {
		dashboard_json(req);
		return 1;
	}
	if ((a = dashboard_find(path)) == NULL)
		return 0;
	dashboard_asset(req, a);
	return 1;
}

/* Is path the dashboard's (so that another method on it is a 405)? */
int
dashboard_path(const char *path)
{
	return strcmp(path, DASHBOARD_JSON) == 0 ||
	    dashboard_find(path) != NULL;
}
