/*
 * switchapi.cc: btcpool's switch API, on the HTTP API's listener.
 *
 *	GET|POST /switch?puname=U&coin=C	one user
 *	POST /switch/multi-user			many, from a JSON body:
 *	POST /switch-multi-user			{"usercoins":[{"coin":C,
 *						 "punames":[U, ...]}, ...]}
 *
 * Only with switch.user set; without it api.cc answers these paths as
 * any unknown one. They have their own auth, HTTP Basic against
 * switch.user and switch.password, and neither http.access-token nor
 * http.restricted applies to them: a switch tool holds the one password
 * it was given.
 *
 * A request is checked whole and applied whole or not at all, through
 * coins_apply() once, and answered as btcpool's switcherAPIServer does:
 * HTTP 200 and {"err_no":N,"err_msg":"...","success":B}, byte for byte.
 * A multi-user body that is not that shape is err_no 108 ("usercoins is
 * empty"): btcpool answered a body it could not parse with its parser's
 * message and err_no 400, which no client can act on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "api.h"
#include "coins.h"
#include "config.h"
#include "stats.h"
#include "stratum.h"

#define SWITCHAPI_CRED_MAX	1024	/* bytes of a decoded user:password */
#define SWITCHAPI_FORM		"application/x-www-form-urlencoded"

struct switchapi_route {
	const char	*path;
	void		(*handler)(struct evhttp_request *, const char *);
	int		 methods;	/* EVHTTP_REQ_* */
	const char	*allow;		/* for a 405 */
};

static const struct switchapi_route *switchapi_find(const char *);
static void	 switchapi_one(struct evhttp_request *, const char *);
static void	 switchapi_multi(struct evhttp_request *, const char *);
static void	 switchapi_answer(struct evhttp_request *, int);
static int	 switchapi_auth(struct evhttp_request *);
static int	 switchapi_b64(const char *, unsigned char *, size_t);
static const char *switchapi_body(struct evhttp_request *, size_t *);
static char	*switchapi_form(const char *, size_t, const char *);
static char	*switchapi_unescape(const char *, size_t, size_t *);
static int	 switchapi_usercoins(json_t *, struct coins_change **,
		     size_t *);
static const char *switchapi_peer(struct evhttp_request *, char *, size_t);

static const struct switchapi_route switchapi_routes[] = {
	{ "/switch", switchapi_one, EVHTTP_REQ_GET | EVHTTP_REQ_POST,
	  "GET, POST" },
	{ "/switch/multi-user", switchapi_multi, EVHTTP_REQ_POST, "POST" },
	{ "/switch-multi-user", switchapi_multi, EVHTTP_REQ_POST, "POST" },
};

/* The route of a path, or NULL. */
static const struct switchapi_route *
switchapi_find(const char *path)
{
	size_t	 i;

	for (i = 0; i < sizeof switchapi_routes / sizeof switchapi_routes[0];
	    i++) {
		if (strcmp(switchapi_routes[i].path, path) == 0)
			return &switchapi_routes[i];
	}
	return NULL;
}

/* Is the switch API on, and path one of its endpoints? */
int
switchapi_match(const char *path)
{
	return sl.conf->sw.user != NULL && switchapi_find(path) != NULL;
}

/* A request to a switch endpoint: the auth, the method, then the change. */
void
switchapi_request(struct evhttp_request *req, const char *path)
{
	const struct switchapi_route	*rt;
	char				 peer[80];

	if (!switchapi_match(path) || (rt = switchapi_find(path)) == NULL) {
		api_error(req, 404, "Not Found", "no such endpoint");
		return;
	}
	if (!switchapi_auth(req)) {
		sl_stats.http_auth_failures++;
		log_debug("type=switch_api status=unauthorized path=%s peer=%s",
		    rt->path, switchapi_peer(req, peer, sizeof peer));
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Basic realm=\"sluice switch\"");
		api_error(req, 401, "Unauthorized",
		    "the switch API's user and password are required");
		return;
	}
	if ((evhttp_request_get_command(req) & rt->methods) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", rt->allow);
		api_error(req, 405, "Method Not Allowed",
		    "method not allowed on this endpoint");
		return;
	}
	rt->handler(req, rt->path);
}

/*
 * /switch: puname and coin from the query or, for a POST, a form body
 * (whose values come first, as btcpool's Go took them).
 */
static void
switchapi_one(struct evhttp_request *req, const char *path)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*query, *ctype, *body = NULL;
	struct coins_change	 ch;
	char			*puname = NULL, *coin = NULL, peer[80];
	size_t			 blen = 0;
	int			 err;

	ctype = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	/* The form type, alone or with parameters (strchr finds a NUL). */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST &&
	    ctype != NULL && strncasecmp(ctype, SWITCHAPI_FORM,
	    strlen(SWITCHAPI_FORM)) == 0 &&
	    strchr("; \t", ctype[strlen(SWITCHAPI_FORM)]) != NULL)
		body = switchapi_body(req, &blen);
	query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
	if (body != NULL) {
		puname = switchapi_form(body, blen, "puname");
		coin = switchapi_form(body, blen, "coin");
	}
	if (puname == NULL && query != NULL)
		puname = switchapi_form(query, strlen(query), "puname");
	if (coin == NULL && query != NULL)
		coin = switchapi_form(query, strlen(query), "coin");
	ch.puname = puname;
	ch.coin = coin;
	err = coins_apply(&ch, 1, COINS_SRC_API);
	log_info("type=switch_api path=%s status=%s err_no=%d user=%s "
	    "coin=%s peer=%s", path, err == COINS_OK ? "ok" : "refused", err,
	    log_word(puname != NULL ? puname : ""),
	    log_word(coin != NULL ? coin : ""),
	    switchapi_peer(req, peer, sizeof peer));
	switchapi_answer(req, err);
	free(puname);
	free(coin);
}

/* /switch/multi-user: every user of the body, in one coins_apply(). */
static void
switchapi_multi(struct evhttp_request *req, const char *path)
{
	struct coins_change	*ch = NULL;
	const char		*body;
	json_t			*root = NULL;
	char			 peer[80];
	size_t			 len, n = 0;
	int			 err;

	if ((body = switchapi_body(req, &len)) != NULL)
		root = json_loadb(body, len, 0, NULL);
	err = switchapi_usercoins(root, &ch, &n);
	if (err == COINS_OK)
		err = coins_apply(ch, n, COINS_SRC_API);
	log_info("type=switch_api path=%s status=%s err_no=%d users=%zu "
	    "peer=%s", path, err == COINS_OK ? "ok" : "refused", err, n,
	    switchapi_peer(req, peer, sizeof peer));
	switchapi_answer(req, err);
	/* The names in ch are root's. */
	free(ch);
	json_decref(root);
}

/*
 * Flatten {"usercoins":[{"coin":C,"punames":[U...]}...]} into changes,
 * in order; the strings stay root's. A missing coin is an empty one
 * (103, as btcpool's Go read it), missing punames are none; anything
 * else not of that shape, or no user at all, is 108.
 */
static int
switchapi_usercoins(json_t *root, struct coins_change **chp, size_t *np)
{
	json_t		*uc, *e, *coin, *pns, *pn;
	size_t		 i, j, n = 0;

	*chp = NULL;
	*np = 0;
	uc = json_object_get(root, "usercoins");
	if (!json_is_array(uc))
		return COINS_E_USERCOINS_EMPTY;
	json_array_foreach(uc, i, e) {
		coin = json_object_get(e, "coin");
		pns = json_object_get(e, "punames");
		if (!json_is_object(e) || (coin != NULL &&
		    !json_is_string(coin)) || (pns != NULL &&
		    !json_is_array(pns)))
			return COINS_E_USERCOINS_EMPTY;
		json_array_foreach(pns, j, pn) {
			if (!json_is_string(pn))
				return COINS_E_USERCOINS_EMPTY;
			n++;
		}
	}
	if (n == 0)
		return COINS_E_USERCOINS_EMPTY;
	*chp = XCALLOC(struct coins_change, n);
	json_array_foreach(uc, i, e) {
		coin = json_object_get(e, "coin");
		json_array_foreach(json_object_get(e, "punames"), j, pn) {
			(*chp)[*np].puname = json_string_value(pn);
			(*chp)[*np].coin = coin != NULL ?
			    json_string_value(coin) : "";
			(*np)++;
		}
	}
	return COINS_OK;
}

/*
 * btcpool's answer, byte for byte (no newline). The messages are plain
 * ASCII from coins_err_text(), so no escaping is needed.
 */
static void
switchapi_answer(struct evhttp_request *req, int err)
{
	struct evbuffer	*b;

	if ((b = evbuffer_new()) == NULL) {
		api_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	evbuffer_add_printf(b, "{\"err_no\":%d,\"err_msg\":\"%s\","
	    "\"success\":%s}", err, coins_err_text(err),
	    err == COINS_OK ? "true" : "false");
	api_reply(req, HTTP_OK, "OK", b, API_JSON);
	evbuffer_free(b);
}

/*
 * Does the request carry switch.user:switch.password in Basic auth? The
 * whole decoded "user:password" is compared, hashed first, so neither
 * its contents nor its length leak through timing (the user has no ':',
 * so that is both compared). Bad base64 is a wrong password.
 */
static int
switchapi_auth(struct evhttp_request *req)
{
	const struct switch_conf	*w = &sl.conf->sw;
	unsigned char			 cred[SWITCHAPI_CRED_MAX];
	const char			*h;
	char				*want;
	int				 n, ok;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return 0;
	for (h += 6; *h == ' '; h++)
		;
	if ((n = switchapi_b64(h, cred, sizeof cred)) < 0)
		return 0;
	xasprintf(&want, "%s:%s", w->user, w->password);
	ok = api_secret_ok(cred, (size_t)n, want);
	explicit_bzero(cred, sizeof cred);
	explicit_bzero(want, strlen(want));
	free(want);
	return ok;
}

/*
 * Decode standard base64 with its padding (RFC 4648, as Go's
 * base64.StdEncoding) into out: the length, or -1 if s is not that or
 * does not fit.
 */
static int
switchapi_b64(const char *s, unsigned char *out, size_t outlen)
{
	static const char	 abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*p;
	size_t			 len = strlen(s), i, o = 0, pad = 0;
	uint32_t		 v = 0;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > outlen)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i++) {
		if (i >= len - pad)
			v <<= 6;
		else if (s[i] == '\0' || (p = strchr(abc, s[i])) == NULL)
			return -1;
		else
			v = v << 6 | (uint32_t)(p - abc);
		if (i % 4 == 3) {
			out[o++] = (unsigned char)(v >> 16);
			out[o++] = (unsigned char)(v >> 8);
			out[o++] = (unsigned char)v;
			v = 0;
		}
	}
	/* The bits the padding leaves out must be zero, as Go's strict. */
	if ((pad == 1 && out[o - 1] != 0) || (pad == 2 && (out[o - 2] != 0 ||
	    out[o - 1] != 0)))
		return -1;
	return (int)(o - pad);
}

/* The request's body, contiguous, and its length; NULL if none. */
static const char *
switchapi_body(struct evhttp_request *req, size_t *lenp)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);

	*lenp = evbuffer_get_length(in);
	if (*lenp == 0)
		return NULL;
	return (const char *)evbuffer_pullup(in, -1);
}

/*
 * The first value of key in an application/x-www-form-urlencoded string
 * (a query or a body), decoded; NULL if it is not there. A key without
 * "=" has an empty value.
 */
static char *
switchapi_form(const char *s, size_t len, const char *key)
{
	const char	*end = s + len, *amp, *eq;
	char		*k;
	size_t		 klen;
	int		 same;

	while (s < end) {
		if ((amp = (const char *)memchr(s, '&', (size_t)(end - s))) ==
		    NULL)
			amp = end;
		if ((eq = (const char *)memchr(s, '=', (size_t)(amp - s))) ==
		    NULL)
			eq = amp;
		k = switchapi_unescape(s, (size_t)(eq - s), &klen);
		same = klen == strlen(key) && memcmp(k, key, klen) == 0;
		free(k);
		if (same)
			return switchapi_unescape(eq < amp ? eq + 1 : amp,
			    (size_t)(amp - (eq < amp ? eq + 1 : amp)), &klen);
		s = amp + 1;
	}
	return NULL;
}

/*
 * Decode %XX and "+" (a space); a "%" not followed by two hex digits
 * stays. A decoded NUL becomes 0x7f, which no puname or coin has, so
 * the checks refuse the name rather than act on a cut one.
 */
static char *
switchapi_unescape(const char *s, size_t len, size_t *outlen)
{
	char	*out = (char *)xmalloc(len + 1);
	size_t	 i, o = 0;
	int	 h, l;

	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			out[o] = ' ';
		else if (s[i] == '%' && i + 2 < len &&
		    (h = stratum_hexval(s[i + 1])) >= 0 &&
		    (l = stratum_hexval(s[i + 2])) >= 0) {
			out[o] = (char)(h << 4 | l);
			i += 2;
		} else
			out[o] = s[i];
		if (out[o] == '\0')
			out[o] = 0x7f;
		o++;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* The peer's address, for the log. */
static const char *
switchapi_peer(struct evhttp_request *req, char *buf, size_t len)
{
	struct evhttp_connection	*conn;
	char				*addr = NULL;
	ev_uint16_t			 port = 0;

	if ((conn = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(conn, &addr, &port);
	snprintf(buf, len, "%s:%u", addr != NULL ? addr : "?",
	    (unsigned)port);
	return buf;
}
