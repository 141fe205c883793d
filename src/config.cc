/*
 * config.cc: config.json to an immutable, reference-counted snapshot.
 *
 * Keys and meanings follow xmrig-proxy's so an existing config moves over
 * unchanged; sluice's own keys are added beside them. Every error names the
 * file and the key path ("config.json: pools[1].url: missing port") and all
 * errors are collected, so -n can print every one. Unknown keys warn.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "stats.h"
#include "stratum.h"
#include "tls.h"

/* Parsing context: where we are, and what went wrong. */
struct cfgctx {
	const char	*file;
	struct strlist	*errors;
	struct strlist	*warnings;
};

static const char *config_top_keys[] = {
	"mode", "bind", "pools", "tls", "http", "access-password",
	"custom-diff", "custom-diff-stats", "algo-ext", "workers",
	"access-log-file", "share-log-file", "reuse-timeout", "retries",
	"retry-pause", "retry-pause-max", "pool-min-session",
	"failover-standby", "watch", "verbose", "log-file",
	"syslog", "print-time", "background", "pid-file", "max-connections",
	"max-upstreams", "pool-connect-timeout", "pool-response-timeout",
	"pool-quiet-probe",
	"miner-output-limit", "workers-max", "lua", "policy", "rate-limit",
	"coins", "default-coin", "switch", "history", "metrics", "api", "dns",
	"user-agent", "websocket-origins", "capture", "reuse-port", "fleet",
	NULL
};

static const char *config_pool_keys[] = {
	"url", "user", "pass", "rig-id", "algo", "keepalive", "enabled", "tls",
	"sni", "tls-fingerprint", "tls-verify", "socks5", NULL
};

static void	 config_err(struct cfgctx *, const char *, const char *, ...)
		     PRINTFLIKE(3, 4);
static int	 config_known(const char **, const char *);
static void	 config_check_keys(struct cfgctx *, json_t *, const char *,
		     const char **, enum config_xmrig_obj);
static int	 config_bool(struct cfgctx *, json_t *, const char *,
		     const char *, int, int *);
static int	 config_int(struct cfgctx *, json_t *, const char *,
		     const char *, long long, long long, long long,
		     long long *);
static int	 config_str(struct cfgctx *, json_t *, const char *,
		     const char *, const char *, char **);
static void	 config_binds(struct cfgctx *, struct config *, json_t *);
static void	 config_bind_transport(struct cfgctx *, json_t *, const char *,
		     struct bind_conf *);
static void	 config_ws_origins(struct cfgctx *, struct config *, json_t *);
static void	 config_bind_proxy(struct cfgctx *, struct bind_conf *,
		     json_t *, const char *);
static void	 config_fleet(struct cfgctx *, struct config *, json_t *);
static void	 config_pool_list(struct cfgctx *, json_t *, const char *,
		     struct pool_conf **, size_t *);
static void	 config_pools_free(struct pool_conf *, size_t);
static void	 config_pool_free(struct pool_conf *);
static void	 config_socks5(struct cfgctx *, json_t *, const char *,
		     struct pool_conf *);
static void	 config_coins(struct cfgctx *, struct config *, json_t *);
static void	 config_switch(struct cfgctx *, struct config *, json_t *);
static void	 config_workers(struct cfgctx *, struct config *, json_t *);
static void	 config_history(struct cfgctx *, struct config *, json_t *);
static void	 config_capture(struct cfgctx *, struct config *, json_t *);
static void	 config_free(struct config *);
static void	 config_path(const struct config *, char **);
static void	 config_lua(struct cfgctx *, struct config *, json_t *);
static int	 config_on_error_value(struct cfgctx *, json_t *,
		     const char *, enum on_error *);
static void	 config_policy(struct cfgctx *, struct config *, json_t *);
static struct config *config_new(const char *);
static void	 config_mode(struct cfgctx *, struct config *, json_t *);
static void	 config_tls(struct cfgctx *, struct config *, json_t *);
static void	 config_http(struct cfgctx *, struct config *, json_t *);
static int	 config_origin_ok(const char *);
static void	 config_debug(struct cfgctx *, struct config *, json_t *);
static void	 config_miners(struct cfgctx *, struct config *, json_t *);
static void	 config_files(struct cfgctx *, struct config *, json_t *);
static void	 config_failover(struct cfgctx *, struct config *, json_t *);
static void	 config_process(struct cfgctx *, struct config *, json_t *);
static void	 config_compat(struct cfgctx *, struct config *, json_t *);
static void	 config_limits(struct cfgctx *, struct config *, json_t *);
static void	 config_ratelimit(struct cfgctx *, struct config *, json_t *);
static void	 config_metrics(struct cfgctx *, struct config *, json_t *);
static void	 config_paths(struct config *);
static void	 config_validate(struct cfgctx *, struct config *);

/* Record an error for a key path. */
static void
config_err(struct cfgctx *cx, const char *key, const char *fmt, ...)
{
	char	*msg;
	va_list	 ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	strlist_add(cx->errors, "%s: %s: %s", cx->file, key, msg);
	free(msg);
}

/* Is key in a NULL-terminated list? */
static int
config_known(const char **list, const char *key)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, key) == 0)
			return 1;
	}
	return 0;
}

/*
 * Warn once for each key of an object that is neither in known nor one
 * of xmrig-proxy's for that object (config_xmrig.cc).
 */
static void
config_check_keys(struct cfgctx *cx, json_t *obj, const char *prefix,
    const char **known, enum config_xmrig_obj xmrig)
{
	const char	*key;
	json_t		*v;

	json_object_foreach(obj, key, v) {
		if (config_known(known, key) || config_xmrig_key(xmrig,
		    cx->file, prefix, key, v, cx->warnings))
			continue;
		strlist_add(cx->warnings, "%s: %s%s: unknown key, ignored",
		    cx->file, prefix, key);
	}
}

/* Read an optional boolean. */
static int
config_bool(struct cfgctx *cx, json_t *obj, const char *key,
    const char *path, int def, int *out)
{
	json_t	*v = json_object_get(obj, key);

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		config_err(cx, path, "expected true or false");
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* Read an optional integer within [min, max]. */
static int
config_int(struct cfgctx *cx, json_t *obj, const char *key, const char *path,
    long long min, long long max, long long def, long long *out)
{
	json_t		*v = json_object_get(obj, key);
	long long	 n;

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v)) {
		config_err(cx, path, "expected an integer");
		return -1;
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		config_err(cx, path, "%lld is out of range %lld..%lld", n, min,
		    max);
		return -1;
	}
	*out = n;
	return 0;
}

/* Read an optional string; NULL or absent gives def (which may be NULL). */
static int
config_str(struct cfgctx *cx, json_t *obj, const char *key, const char *path,
    const char *def, char **out)
{
	json_t	*v = json_object_get(obj, key);

	*out = def != NULL ? xstrdup(def) : NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		config_err(cx, path, "expected a string");
		return -1;
	}
	free(*out);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/*
 * Split redis://[[user]:password@]host[:port][/db] into u; host may be
 * [v6]. Port 6379 and db 0 by default. 0, or -1 when it does not parse
 * (u is then cleared). Here, not in redis.cc, so that the config load
 * (and -n) refuses a bad URL before anything connects.
 */
int
config_redis_url(const char *url, struct redis_url *u)
{
	const char	*p, *at, *end, *colon, *slash;
	char		*e;
	long		 v;

	memset(u, 0, sizeof *u);
	if (strncmp(url, "redis://", 8) != 0)
		return -1;
	p = url + 8;
	slash = strchr(p, '/');
	end = slash != NULL ? slash : p + strlen(p);
	if ((at = (const char *)memrchr(p, '@', (size_t)(end - p))) != NULL) {
		colon = (const char *)memchr(p, ':', (size_t)(at - p));
		if (colon == NULL)
			goto bad;
		if (colon > p)
			u->user = xstrndup(p, (size_t)(colon - p));
		u->password = xstrndup(colon + 1, (size_t)(at - colon - 1));
		p = at + 1;
	}
	if (*p == '[') {
		if ((colon = (const char *)memchr(p, ']', (size_t)(end - p))) ==
		    NULL)
			goto bad;
		u->host = xstrndup(p + 1, (size_t)(colon - p - 1));
		colon++;
		if (colon < end && *colon != ':')
			goto bad;
	} else {
		colon = (const char *)memchr(p, ':', (size_t)(end - p));
		u->host = xstrndup(p, (size_t)((colon != NULL ? colon : end) -
		    p));
	}
	if (u->host[0] == '\0')
		goto bad;
	u->port = 6379;
	if (colon != NULL && colon < end) {
		v = strtol(colon + 1, &e, 10);
		if (e != end || v < 1 || v > 65535)
			goto bad;
		u->port = (int)v;
	}
	u->db = 0;
	if (slash != NULL && slash[1] != '\0') {
		v = strtol(slash + 1, &e, 10);
		if (*e != '\0' || v < 0 || v > 1000000)
			goto bad;
		u->db = (int)v;
	}
	snprintf(u->where, sizeof u->where, "%s%s%s:%d/%d",
	    strchr(u->host, ':') != NULL ? "[" : "", u->host,
	    strchr(u->host, ':') != NULL ? "]" : "", u->port, u->db);
	return 0;
bad:
	config_redis_url_clear(u);
	return -1;
}

/* Free a split URL's parts; the password is wiped first. */
void
config_redis_url_clear(struct redis_url *u)
{
	free(u->host);
	free(u->user);
	if (u->password != NULL)
		explicit_bzero(u->password, strlen(u->password));
	free(u->password);
	u->host = u->user = u->password = NULL;
	u->where[0] = '\0';
}

/*
 * Split "[stratum+tcp://|stratum+ssl://]host:port" (IPv6 in brackets).
 * Returns 0, or -1 with *why set.
 */
int
config_parse_url(const char *url, char **host, int *port, int *tls,
    const char **why)
{
	const char	*p = url, *colon, *end;
	char		*ep;
	long		 n;

	*host = NULL;
	*tls = 0;
	if (strncmp(p, "stratum+tcp://", 14) == 0)
		p += 14;
	else if (strncmp(p, "stratum+ssl://", 14) == 0 ||
	    strncmp(p, "stratum+tls://", 14) == 0) {
		p += 14;
		*tls = 1;
	} else if (strstr(p, "://") != NULL) {
		*why = "unsupported scheme (stratum+tcp:// or stratum+ssl://)";
		return -1;
	}
	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL) {
			*why = "unterminated [ in address";
			return -1;
		}
		if (end[1] != ':') {
			*why = "missing port";
			return -1;
		}
		*host = xstrndup(p + 1, end - p - 1);
		colon = end + 1;
	} else {
		if ((colon = strrchr(p, ':')) == NULL) {
			*why = "missing port";
			return -1;
		}
		*host = xstrndup(p, colon - p);
	}
	if (**host == '\0') {
		*why = "missing host";
		goto fail;
	}
	errno = 0;
	n = strtol(colon + 1, &ep, 10);
	if (colon[1] == '\0' || *ep != '\0' || errno != 0 || n < 1 ||
	    n > 65535) {
		*why = colon[1] == '\0' ? "missing port" : "invalid port";
		goto fail;
	}
	*port = (int)n;
	return 0;
fail:
	free(*host);
	*host = NULL;
	return -1;
}

/* Parse "bind": objects or "host:port" strings. */
static void
config_binds(struct cfgctx *cx, struct config *c, json_t *arr)
{
	static const char	*keys[] = { "host", "port", "tls", "ipv6",
	    "websocket", "path", "protocol", "proxy-protocol",
	    "proxy-protocol-from", "proxy-protocol-timeout", NULL };
	char			 path[64], kpath[96], *host;
	const char		*why;
	struct bind_conf	*b;
	long long		 n;
	size_t			 i;
	json_t			*v;
	int			 tls;

	if (arr == NULL || json_is_null(arr)) {
		config_err(cx, "bind", "at least one bind address is required");
		return;
	}
	if (!json_is_array(arr)) {
		config_err(cx, "bind", "expected an array");
		return;
	}
	if (json_array_size(arr) == 0) {
		config_err(cx, "bind", "at least one bind address is required");
		return;
	}
	c->binds = XCALLOC(struct bind_conf, json_array_size(arr));
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof path, "bind[%zu]", i);
		b = &c->binds[c->nbinds];
		if (json_is_string(v)) {
			if (config_parse_url(json_string_value(v), &host,
			    &b->port, &tls, &why) != 0) {
				config_err(cx, path, "%s", why);
				continue;
			}
			b->host = host;
			b->path = xstrdup("/");
			c->nbinds++;
			continue;
		}
		if (!json_is_object(v)) {
			config_err(cx, path, "expected \"host:port\" or an object");
			continue;
		}
		snprintf(kpath, sizeof kpath, "%s.", path);
		config_check_keys(cx, v, kpath, keys, XMRIG_NONE);
		snprintf(kpath, sizeof kpath, "%s.host", path);
		config_str(cx, v, "host", kpath, "0.0.0.0", &b->host);
		snprintf(kpath, sizeof kpath, "%s.port", path);
		if (json_object_get(v, "port") == NULL) {
			config_err(cx, kpath, "missing port");
			free(b->host);
			b->host = NULL;
			continue;
		}
		config_int(cx, v, "port", kpath, 0, 65535, 0, &n);
		b->port = (int)n;
		snprintf(kpath, sizeof kpath, "%s.tls", path);
		config_bool(cx, v, "tls", kpath, 0, &b->tls);
		config_bind_transport(cx, v, path, b);
		config_bind_proxy(cx, b, v, path);
		c->nbinds++;
	}
}

/*
 * A bind's transport keys: "websocket" and its "path", "protocol"
 * ("stratum" or "xatum"; Xatum is TLS only and has its own framing).
 */
static void
config_bind_transport(struct cfgctx *cx, json_t *v, const char *path,
    struct bind_conf *b)
{
	char		 kpath[96];
	char		*proto = NULL;
	const char	*p;

	snprintf(kpath, sizeof kpath, "%s.websocket", path);
	config_bool(cx, v, "websocket", kpath, 0, &b->websocket);
	snprintf(kpath, sizeof kpath, "%s.path", path);
	config_str(cx, v, "path", kpath, "/", &b->path);
	if (b->path[0] != '/' || strlen(b->path) > BIND_PATH_MAX)
		config_err(cx, kpath, "expected an absolute path (\"/...\") "
		    "of at most %d characters", BIND_PATH_MAX);
	for (p = b->path; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f) {
			config_err(cx, kpath, "no spaces or control "
			    "characters in a path");
			break;
		}
	}
	if (json_object_get(v, "path") != NULL && !b->websocket)
		config_err(cx, kpath, "only for a bind with \"websocket\": "
		    "true");
	snprintf(kpath, sizeof kpath, "%s.protocol", path);
	if (config_str(cx, v, "protocol", kpath, "stratum", &proto) != 0) {
		free(proto);
		return;
	}
	if (strcmp(proto, "stratum") == 0)
		b->protocol = BIND_STRATUM;
	else if (strcmp(proto, "xatum") == 0) {
		b->protocol = BIND_XATUM;
		if (!b->tls)
			config_err(cx, path, "\"protocol\": \"xatum\" needs "
			    "\"tls\": true (Xatum is TLS only)");
		if (b->websocket)
			config_err(cx, path, "\"protocol\": \"xatum\" is not "
			    "carried over WebSocket");
	} else
		config_err(cx, kpath, "expected \"stratum\" or \"xatum\"");
	free(proto);
}

/*
 * Parse "websocket-origins": the Origin values a WebSocket upgrade may
 * carry ("https://host[:port]"); empty or absent: any.
 */
static void
config_ws_origins(struct cfgctx *cx, struct config *c, json_t *arr)
{
	char	 path[64];
	size_t	 i;
	json_t	*v;

	if (arr == NULL || json_is_null(arr))
		return;
	if (!json_is_array(arr)) {
		config_err(cx, "websocket-origins", "expected an array of "
		    "origins");
		return;
	}
	c->ws_origins = XCALLOC(char *, json_array_size(arr) + 1);
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof path, "websocket-origins[%zu]", i);
		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), "*") == 0 ||
		    !config_origin_ok(json_string_value(v))) {
			config_err(cx, path, "expected an origin "
			    "(\"https://host[:port]\")");
			continue;
		}
		c->ws_origins[c->nws_origins++] = xstrdup(json_string_value(v));
	}
}

/*
 * A bind's PROXY protocol keys: proxy-protocol (default false),
 * proxy-protocol-from (trusted networks; default loopback only) and
 * proxy-protocol-timeout (s, default 5).
 */
static void
config_bind_proxy(struct cfgctx *cx, struct bind_conf *b, json_t *v,
    const char *path)
{
	static const char	*loopback[] = { "127.0.0.0/8", "::1" };
	char			 kpath[128];
	json_t			*from, *e;
	long long		 n;
	size_t			 i;

	snprintf(kpath, sizeof kpath, "%s.proxy-protocol", path);
	config_bool(cx, v, "proxy-protocol", kpath, 0, &b->proxy_protocol);
	snprintf(kpath, sizeof kpath, "%s.proxy-protocol-timeout", path);
	config_int(cx, v, "proxy-protocol-timeout", kpath, 1, 300, 5, &n);
	b->proxy_timeout = (int)n;
	snprintf(kpath, sizeof kpath, "%s.proxy-protocol-from", path);
	from = json_object_get(v, "proxy-protocol-from");
	if (from == NULL || json_is_null(from)) {
		b->proxy_from = XCALLOC(struct proxyproto_net, 2);
		for (i = 0; i < 2; i++)
			proxyproto_net_parse(loopback[i], &b->proxy_from[i]);
		b->nproxy_from = 2;
		return;
	}
	if (!json_is_array(from) || json_array_size(from) > 256) {
		config_err(cx, kpath, "expected an array of at most 256 "
		    "networks");
		return;
	}
	b->proxy_from = XCALLOC(struct proxyproto_net,
	    json_array_size(from) + 1);
	json_array_foreach(from, i, e) {
		if (!json_is_string(e) || proxyproto_net_parse(
		    json_string_value(e), &b->proxy_from[b->nproxy_from]) != 0) {
			config_err(cx, kpath, "[%zu]: expected an address or "
			    "network (\"10.0.0.0/8\", \"fd00::/8\")", i);
			continue;
		}
		b->nproxy_from++;
	}
}

/* Parse "pools"; only enabled pools are kept, in order. */
static void
config_pool_list(struct cfgctx *cx, json_t *arr, const char *name,
    struct pool_conf **pools, size_t *npools)
{
	char			 path[160], kpath[192];
	const char		*why;
	struct pool_conf	*p;
	json_t			*v, *url;
	size_t			 i, k, nerr = cx->errors->n;
	int			 tls;

	*pools = NULL;
	*npools = 0;
	if (arr == NULL || json_is_null(arr)) {
		config_err(cx, name, "at least one enabled pool is required");
		return;
	}
	if (!json_is_array(arr)) {
		config_err(cx, name, "expected an array");
		return;
	}
	*pools = XCALLOC(struct pool_conf, json_array_size(arr) + 1);
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof path, "%s[%zu]", name, i);
		if (!json_is_object(v)) {
			config_err(cx, path, "expected an object");
			continue;
		}
		snprintf(kpath, sizeof kpath, "%s.", path);
		config_check_keys(cx, v, kpath, config_pool_keys,
		    XMRIG_POOL);
		p = &(*pools)[*npools];
		snprintf(kpath, sizeof kpath, "%s.enabled", path);
		config_bool(cx, v, "enabled", kpath, 1, &p->enabled);
		snprintf(kpath, sizeof kpath, "%s.url", path);
		url = json_object_get(v, "url");
		if (url == NULL || json_is_null(url)) {
			config_err(cx, kpath, "missing url");
			continue;
		}
		if (!json_is_string(url)) {
			config_err(cx, kpath, "expected a string");
			continue;
		}
		p->url = xstrdup(json_string_value(url));
		if (config_parse_url(p->url, &p->host, &p->port, &tls,
		    &why) != 0) {
			config_err(cx, kpath, "%s", why);
			free(p->url);
			p->url = NULL;
			continue;
		}
		snprintf(kpath, sizeof kpath, "%s.user", path);
		config_str(cx, v, "user", kpath, "x", &p->user);
		snprintf(kpath, sizeof kpath, "%s.pass", path);
		config_str(cx, v, "pass", kpath, "x", &p->pass);
		snprintf(kpath, sizeof kpath, "%s.rig-id", path);
		config_str(cx, v, "rig-id", kpath, NULL, &p->rig_id);
		snprintf(kpath, sizeof kpath, "%s.algo", path);
		config_str(cx, v, "algo", kpath, NULL, &p->algo);
		snprintf(kpath, sizeof kpath, "%s.keepalive", path);
		if (json_is_integer(json_object_get(v, "keepalive")))
			p->keepalive = json_integer_value(
			    json_object_get(v, "keepalive")) != 0;
		else
			config_bool(cx, v, "keepalive", kpath, 0, &p->keepalive);
		snprintf(kpath, sizeof kpath, "%s.tls", path);
		config_bool(cx, v, "tls", kpath, tls, &p->tls);
		snprintf(kpath, sizeof kpath, "%s.sni", path);
		config_bool(cx, v, "sni", kpath, 1, &p->sni);
		snprintf(kpath, sizeof kpath, "%s.tls-verify", path);
		config_bool(cx, v, "tls-verify", kpath, 0, &p->tls_verify);
		snprintf(kpath, sizeof kpath, "%s.tls-fingerprint", path);
		config_str(cx, v, "tls-fingerprint", kpath, NULL,
		    &p->tls_fingerprint);
		if (p->tls_fingerprint != NULL) {
			/* Accept "AB:CD:..." as well as plain hex. */
			char *s = p->tls_fingerprint, *d = s;
			for (; *s != '\0'; s++) {
				if (*s == ':')
					continue;
				*d++ = (char)(*s >= 'A' && *s <= 'F' ?
				    *s - 'A' + 'a' : *s);
			}
			*d = '\0';
			if (strlen(p->tls_fingerprint) != 64 ||
			    !stratum_is_hex(p->tls_fingerprint, 64))
				config_err(cx, kpath,
				    "expected 64 hex characters (SHA-256)");
		}
		snprintf(kpath, sizeof kpath, "%s.socks5", path);
		config_socks5(cx, json_object_get(v, "socks5"), kpath, p);
		/* xmrig-proxy's shipped file says "YOUR_WALLET". */
		if (p->enabled && strncmp(p->user, "YOUR_", 5) == 0)
			strlist_add(cx->warnings, "%s: %s.user: \"%s\" is a "
			    "placeholder: put your wallet address there",
			    cx->file, path, p->user);
		if (!p->enabled) {
			config_pool_free(p);
			memset(p, 0, sizeof *p);
			continue;
		}
		(*npools)++;
	}
	/* Say "none enabled" only when no element had an error of its own. */
	if (*npools == 0 && cx->errors->n == nerr)
		config_err(cx, name, "at least one enabled pool is required");
	(void)k;
}

/*
 * A pool's "socks5": "host:port", "socks5://[user[:pass]@]host:port", a
 * port of 127.0.0.1 (as xmrig-proxy takes it), or null, false, "" or 0
 * for a direct connection. A login needs the URL form, so that what
 * shows the config (secret_mask_json) hides its password as any URL's.
 * The password is never part of an error message.
 */
static void
config_socks5(struct cfgctx *cx, json_t *v, const char *kpath,
    struct pool_conf *p)
{
	const char	*s, *at, *colon, *why;
	int		 tls;

	if (v == NULL || json_is_null(v) || json_is_false(v) ||
	    (json_is_string(v) && json_string_length(v) == 0) ||
	    (json_is_integer(v) && json_integer_value(v) == 0))
		return;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 1 || json_integer_value(v) > 65535) {
			config_err(cx, kpath, "invalid port");
			return;
		}
		p->socks5_host = xstrdup("127.0.0.1");
		p->socks5_port = (int)json_integer_value(v);
		return;
	}
	if (!json_is_string(v)) {
		config_err(cx, kpath, "expected \"host:port\" or null");
		return;
	}
	s = json_string_value(v);
	at = strrchr(s, '@');
	if (strncmp(s, "socks5://", 9) == 0)
		s += 9;
	else if (strncmp(s, "socks5h://", 10) == 0)
		s += 10;
	else if (at != NULL) {
		config_err(cx, kpath, "a login needs the URL form, "
		    "socks5://user:pass@host:port");
		return;
	}
	if (at != NULL) {
		colon = (const char *)memchr(s, ':', at - s);
		if (colon == NULL)
			colon = at;
		if (colon == s || colon - s > 255 ||
		    (colon < at && at - colon - 1 > 255)) {
			config_err(cx, kpath, "the user must be 1 to 255 "
			    "bytes, the password at most 255");
			return;
		}
		p->socks5_user = xstrndup(s, colon - s);
		p->socks5_pass = xstrndup(colon < at ? colon + 1 : at,
		    colon < at ? at - colon - 1 : 0);
		s = at + 1;
	}
	if (strstr(s, "://") != NULL || strchr(s, '/') != NULL)
		why = "expected \"host:port\" (a socks5:// URL at most)";
	else if (config_parse_url(s, &p->socks5_host, &p->socks5_port, &tls,
	    &why) == 0) {
		if (p->host == NULL || strlen(p->host) <= 255)
			return;
		why = "the pool's host name is too long for SOCKS5 (255 bytes)";
	}
	config_err(cx, kpath, "%s", why);
	free(p->socks5_host);
	free(p->socks5_user);
	free(p->socks5_pass);
	p->socks5_host = p->socks5_user = p->socks5_pass = NULL;
}

/* Free what one pool holds. */
static void
config_pool_free(struct pool_conf *p)
{
	free(p->url);
	free(p->host);
	free(p->user);
	free(p->pass);
	free(p->rig_id);
	free(p->algo);
	free(p->tls_fingerprint);
	free(p->socks5_host);
	free(p->socks5_user);
	free(p->socks5_pass);
}

/* Free a pool list. */
static void
config_pools_free(struct pool_conf *pools, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		config_pool_free(&pools[i]);
	free(pools);
}

/* Coin names: letters, digits, "_", "-" and ".", 1 to 64 of them. */
int
config_coin_name_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	}
	return 1;
}

/*
 * Parse the pools of every coin: the top-level "pools" are the coin
 * "default", then "coins": {"NAME": {"pools": [...], "algo": "..."}} in
 * the file's order; then "default-coin" picks the coin of users the map
 * does not name.
 */
static void
config_coins(struct cfgctx *cx, struct config *c, json_t *root)
{
	static const char	*keys[] = { "pools", "algo", NULL };
	json_t			*top = json_object_get(root, "pools");
	json_t			*coins = json_object_get(root, "coins");
	json_t			*v;
	struct coin_conf	*k;
	const char		*name, *dflt;
	char			 path[160];
	size_t			 n;

	if (coins != NULL && json_is_null(coins))
		coins = NULL;
	if (coins != NULL && !json_is_object(coins)) {
		config_err(cx, "coins", "expected an object");
		coins = NULL;
	}
	n = (coins != NULL ? json_object_size(coins) : 0) + 1;
	if (n > CONFIG_MAX_COINS + 1) {
		config_err(cx, "coins", "at most %d coins", CONFIG_MAX_COINS);
		return;
	}
	c->coins = XCALLOC(struct coin_conf, n);
	if (coins != NULL && json_object_get(coins, "default") != NULL &&
	    top != NULL && !json_is_null(top))
		config_err(cx, "pools", "the top-level pools are the coin "
		    "\"default\", which coins defines too; keep one");
	else if (coins == NULL || (top != NULL && !json_is_null(top))) {
		k = &c->coins[c->ncoins++];
		k->name = xstrdup("default");
		config_pool_list(cx, top, "pools", &k->pools, &k->npools);
	}
	if (coins != NULL) {
		json_object_foreach(coins, name, v) {
			snprintf(path, sizeof path, "coins.%s", name);
			if (!config_coin_name_ok(name, strlen(name))) {
				config_err(cx, path, "a coin name is 1 to 64 "
				    "letters, digits, _, - or .");
				continue;
			}
			if (!json_is_object(v)) {
				config_err(cx, path, "expected an object");
				continue;
			}
			snprintf(path, sizeof path, "coins.%s.", name);
			config_check_keys(cx, v, path, keys, XMRIG_NONE);
			k = &c->coins[c->ncoins++];
			k->name = xstrdup(name);
			snprintf(path, sizeof path, "coins.%s.algo", name);
			config_str(cx, v, "algo", path, NULL, &k->algo);
			snprintf(path, sizeof path, "coins.%s.pools", name);
			config_pool_list(cx, json_object_get(v, "pools"), path,
			    &k->pools, &k->npools);
		}
	}
	for (n = 0; n < c->ncoins; n++) {
		k = &c->coins[n];
		if (k->algo == NULL && k->npools > 0 && k->pools[0].algo != NULL)
			k->algo = xstrdup(k->pools[0].algo);
	}
	v = json_object_get(root, "default-coin");
	if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
		config_err(cx, "default-coin", "expected a string");
		return;
	}
	dflt = v != NULL && json_is_string(v) ? json_string_value(v) : NULL;
	if (dflt == NULL && config_coin(c, "default") == NULL && c->ncoins > 1) {
		config_err(cx, "default-coin", "several coins and none named "
		    "\"default\": say which one users not in the map mine");
		return;
	}
	if (dflt == NULL)
		dflt = config_coin(c, "default") != NULL ? "default" :
		    c->ncoins > 0 ? c->coins[0].name : NULL;
	if (dflt == NULL)
		return;
	if (config_coin_index(c, dflt) < 0) {
		config_err(cx, "default-coin", "no coin named \"%s\"", dflt);
		return;
	}
	c->default_coin = (size_t)config_coin_index(c, dflt);
	c->pools = c->coins[c->default_coin].pools;
	c->npools = c->coins[c->default_coin].npools;
}

/* The coin named name, or NULL. */
const struct coin_conf *
config_coin(const struct config *c, const char *name)
{
	int	 i = config_coin_index(c, name);

	return i < 0 ? NULL : &c->coins[i];
}

/* Index of the coin named name, or -1. */
int
config_coin_index(const struct config *c, const char *name)
{
	size_t	 i;

	for (i = 0; name != NULL && i < c->ncoins; i++) {
		if (strcmp(c->coins[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* Parse "switch": the sources of the user->coin map. */
static void
config_switch(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "user", "password", "user-coin-url",
	    "interval", "timeout", "state-file", "redis", "grace", NULL };
	struct switch_conf	*w = &c->sw;
	long long		 n;

	w->interval = 60;
	w->timeout = 10;
	w->grace = 10;
	w->state_file = xstrdup(SLUICE_STATEDIR "/user-coin.json");
	if (o == NULL || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		config_err(cx, "switch", "expected an object");
		return;
	}
	config_check_keys(cx, o, "switch.", keys, XMRIG_NONE);
	config_str(cx, o, "user", "switch.user", NULL, &w->user);
	config_str(cx, o, "password", "switch.password", NULL, &w->password);
	if (w->user != NULL && (w->user[0] == '\0' ||
	    strchr(w->user, ':') != NULL))
		config_err(cx, "switch.user", "must be non-empty, without ':'");
	if (w->user != NULL && w->password == NULL)
		config_err(cx, "switch.password", "switch.user needs a password");
	config_str(cx, o, "user-coin-url", "switch.user-coin-url", NULL,
	    &w->user_coin_url);
	if (w->user_coin_url != NULL &&
	    strncmp(w->user_coin_url, "http://", 7) != 0 &&
	    strncmp(w->user_coin_url, "https://", 8) != 0)
		config_err(cx, "switch.user-coin-url", "expected an http:// or "
		    "https:// URL");
	config_int(cx, o, "interval", "switch.interval", 1, 86400, 60, &n);
	w->interval = (int)n;
	config_int(cx, o, "timeout", "switch.timeout", 1, 300, 10, &n);
	w->timeout = (int)n;
	free(w->state_file);
	w->state_file = NULL;
	config_str(cx, o, "state-file", "switch.state-file",
	    SLUICE_STATEDIR "/user-coin.json", &w->state_file);
	config_str(cx, o, "redis", "switch.redis", NULL, &w->redis);
	if (w->redis != NULL) {
		struct redis_url u;

		if (config_redis_url(w->redis, &u) != 0)
			config_err(cx, "switch.redis", "expected "
			    "redis://[[user]:password@]host[:port][/db]");
		config_redis_url_clear(&u);
	}
	config_int(cx, o, "grace", "switch.grace", 0, 3600, 10, &n);
	w->grace = (int)n;
}

/*
 * Parse "fleet": redis (the same URL form as switch.redis, and the same
 * connection: both set must be equal) and share-bans (default true).
 */
static void
config_fleet(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "redis", "share-bans", NULL };
	struct fleet_conf	*f = &c->fleet;

	f->share_bans = 1;
	if (o == NULL || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		config_err(cx, "fleet", "expected an object");
		return;
	}
	config_check_keys(cx, o, "fleet.", keys, XMRIG_NONE);
	config_str(cx, o, "redis", "fleet.redis", NULL, &f->redis);
	if (f->redis != NULL) {
		struct redis_url u;

		if (config_redis_url(f->redis, &u) != 0)
			config_err(cx, "fleet.redis", "expected "
			    "redis://[[user]:password@]host[:port][/db]");
		config_redis_url_clear(&u);
	}
	if (f->redis != NULL && c->sw.redis != NULL &&
	    strcmp(f->redis, c->sw.redis) != 0)
		config_err(cx, "fleet.redis", "must be the same server as "
		    "switch.redis (one connection serves both)");
	config_bool(cx, o, "share-bans", "fleet.share-bans", 1,
	    &f->share_bans);
}

/*
 * Parse "history": false turns it off; absent, null or true is on with
 * the defaults; an object sets file, days and the test intervals.
 */
static void
config_history(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "enabled", "file", "days",
	    "sample-interval", "flush-interval", NULL };
	struct history_conf	*h = &c->history;
	long long		 n;

	h->enabled = 1;
	h->file = xstrdup(SLUICE_STATEDIR "/history.db");
	h->days = 30;
	h->sample_interval = 10;
	h->flush_interval = 60;
	if (o == NULL || json_is_null(o) || json_is_true(o))
		return;
	if (json_is_false(o)) {
		h->enabled = 0;
		return;
	}
	if (!json_is_object(o)) {
		config_err(cx, "history", "expected an object, true or false");
		return;
	}
	config_check_keys(cx, o, "history.", keys, XMRIG_NONE);
	config_bool(cx, o, "enabled", "history.enabled", 1, &h->enabled);
	free(h->file);
	config_str(cx, o, "file", "history.file",
	    SLUICE_STATEDIR "/history.db", &h->file);
	if (h->file != NULL && h->file[0] == '\0')
		config_err(cx, "history.file", "must not be empty");
	config_int(cx, o, "days", "history.days", 1, 3650, 30, &n);
	h->days = (int)n;
	if (config_int(cx, o, "sample-interval", "history.sample-interval",
	    1, 10, 10, &n) == 0 && 10 % n != 0)
		config_err(cx, "history.sample-interval", "%lld does not divide "
		    "10 (1, 2, 5 or 10)", n);
	h->sample_interval = (int)n;
	if (config_int(cx, o, "flush-interval", "history.flush-interval", 1,
	    60, 60, &n) == 0 && (60 % n != 0 || n % h->sample_interval != 0))
		config_err(cx, "history.flush-interval", "%lld must divide 60 "
		    "and be a multiple of history.sample-interval (%d)", n,
		    h->sample_interval);
	h->flush_interval = (int)n;
}

/*
 * Parse "capture": {"enabled", "messages", "max-bytes", "file",
 * "show-passwords"}; absent or null is off with the defaults.
 */
static void
config_capture(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "enabled", "messages", "max-bytes",
	    "file", "show-passwords", NULL };
	struct capture_conf	*k = &c->capture;
	long long		 n;

	k->messages = 10000;
	k->max_bytes = 16777216;
	if (o != NULL && !json_is_null(o) && !json_is_object(o)) {
		config_err(cx, "capture", "expected an object");
		return;
	}
	if (o != NULL && json_is_object(o))
		config_check_keys(cx, o, "capture.", keys, XMRIG_NONE);
	/* json_object_get() on a NULL object gives NULL: the default. */
	config_bool(cx, o, "enabled", "capture.enabled", 0, &k->enabled);
	config_int(cx, o, "messages", "capture.messages", 1, 10000000, 10000,
	    &n);
	k->messages = (size_t)n;
	config_int(cx, o, "max-bytes", "capture.max-bytes", 65536,
	    1LL << 40, 16777216, &n);
	k->max_bytes = (size_t)n;
	config_str(cx, o, "file", "capture.file", NULL, &k->file);
	if (k->file != NULL && k->file[0] == '\0')
		config_err(cx, "capture.file", "must not be empty (null: none)");
	config_bool(cx, o, "show-passwords", "capture.show-passwords", 0,
	    &k->show_passwords);
}

/* Parse "workers": true/false or a mode name. */
static void
config_workers(struct cfgctx *cx, struct config *c, json_t *v)
{
	const char	*s;

	c->workers = WORKERS_RIGID;
	if (v == NULL || json_is_null(v) || json_is_true(v))
		return;
	if (json_is_false(v)) {
		c->workers = WORKERS_NONE;
		return;
	}
	if (!json_is_string(v)) {
		config_err(cx, "workers", "expected true, false or a mode name");
		return;
	}
	s = json_string_value(v);
	if (strcmp(s, "rig_id") == 0 || strcmp(s, "rig-id") == 0 ||
	    strcmp(s, "true") == 0)
		c->workers = WORKERS_RIGID;
	else if (strcmp(s, "user") == 0)
		c->workers = WORKERS_USER;
	else if (strcmp(s, "password") == 0)
		c->workers = WORKERS_PASSWORD;
	else if (strcmp(s, "agent") == 0)
		c->workers = WORKERS_AGENT;
	else if (strcmp(s, "ip") == 0)
		c->workers = WORKERS_IP;
	else if (strcmp(s, "none") == 0 || strcmp(s, "false") == 0)
		c->workers = WORKERS_NONE;
	else
		config_err(cx, "workers", "unknown mode \"%s\" (rig_id, user, "
		    "password, agent, ip or none)", s);
}

/* Make a relative file name relative to the config file's folder. */
static void
config_path(const struct config *c, char **p)
{
	char	*abs;

	if (*p == NULL || (*p)[0] == '/' || (*p)[0] == '\0')
		return;
	xasprintf(&abs, "%s%s", c->dir, *p);
	free(*p);
	*p = abs;
}

/* Parse "lua": {"scripts": [...], "instruction-limit", "memory-limit"}. */
static void
config_lua(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "scripts", "instruction-limit",
	    "memory-limit", NULL };
	json_t			*arr, *v;
	long long		 n;
	size_t			 i;
	char			 path[64];

	c->lua_instruction_limit = 1000000;
	c->lua_memory_limit = 32;
	if (o == NULL || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		config_err(cx, "lua", "expected an object");
		return;
	}
	config_check_keys(cx, o, "lua.", keys, XMRIG_NONE);
	config_int(cx, o, "instruction-limit", "lua.instruction-limit", 1000,
	    1000000000LL, 1000000, &n);
	c->lua_instruction_limit = n;
	config_int(cx, o, "memory-limit", "lua.memory-limit", 1, 4096, 32, &n);
	c->lua_memory_limit = n;
	arr = json_object_get(o, "scripts");
	if (arr == NULL || json_is_null(arr))
		return;
	if (!json_is_array(arr)) {
		config_err(cx, "lua.scripts", "expected an array of file names");
		return;
	}
	c->lua_scripts = XCALLOC(char *, json_array_size(arr));
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof path, "lua.scripts[%zu]", i);
		if (!json_is_string(v) || json_string_length(v) == 0) {
			config_err(cx, path, "expected a file name");
			continue;
		}
		c->lua_scripts[c->nlua_scripts] = xstrdup(json_string_value(v));
		config_path(c, &c->lua_scripts[c->nlua_scripts]);
		c->nlua_scripts++;
	}
}

/* Read one policy.on-error value: "builtin" or "deny". */
static int
config_on_error_value(struct cfgctx *cx, json_t *v, const char *path,
    enum on_error *out)
{
	const char	*s;

	if (!json_is_string(v)) {
		config_err(cx, path, "expected \"builtin\" or \"deny\"");
		return -1;
	}
	s = json_string_value(v);
	if (strcmp(s, "builtin") == 0)
		*out = ON_ERROR_BUILTIN;
	else if (strcmp(s, "deny") == 0)
		*out = ON_ERROR_DENY;
	else {
		config_err(cx, path, "unknown value \"%s\" (builtin or deny)",
		    s);
		return -1;
	}
	return 0;
}

/*
 * Parse "policy": {"on-error": V}, where V is "builtin" or "deny" for
 * every hook, or an object from hook names to those values; a hook the
 * object leaves out stays "builtin". Unlike an unknown key, an unknown
 * hook name is an error: a misspelled "on_login" would quietly leave the
 * deny list failing open.
 */
static void
config_policy(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "on-error", NULL };
	const char		*name;
	char			 path[128];
	enum on_error		 e;
	json_t			*v, *hv;
	int			 h;

	for (h = 0; h < STATS_NHOOKS; h++)
		c->on_error[h] = ON_ERROR_BUILTIN;
	if (o == NULL || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		config_err(cx, "policy", "expected an object");
		return;
	}
	config_check_keys(cx, o, "policy.", keys, XMRIG_NONE);
	v = json_object_get(o, "on-error");
	if (v == NULL || json_is_null(v))
		return;
	if (json_is_string(v)) {
		if (config_on_error_value(cx, v, "policy.on-error", &e) == 0) {
			for (h = 0; h < STATS_NHOOKS; h++)
				c->on_error[h] = e;
		}
		return;
	}
	if (!json_is_object(v)) {
		config_err(cx, "policy.on-error", "expected \"builtin\", "
		    "\"deny\" or an object of hook names");
		return;
	}
	json_object_foreach(v, name, hv) {
		snprintf(path, sizeof path, "policy.on-error.%s", name);
		for (h = 0; h < STATS_NHOOKS; h++) {
			if (strcmp(name,
			    stats_hook_text((enum stats_hook)h)) == 0)
				break;
		}
		if (h == STATS_NHOOKS) {
			config_err(cx, path, "unknown hook (on_connect, "
			    "on_login, custom_diff, worker_name or "
			    "upstream_login)");
			continue;
		}
		config_on_error_value(cx, hv, path, &c->on_error[h]);
	}
}

/* A new snapshot with one reference, knowing its file and folder. */
static struct config *
config_new(const char *path)
{
	struct config	*c;
	const char	*slash;

	c = XCALLOC(struct config, 1);
	c->refs = 1;
	c->path = xstrdup(path);
	if ((slash = strrchr(path, '/')) != NULL)
		c->dir = xstrndup(path, slash - path + 1);
	else
		c->dir = xstrdup("./");
	return c;
}

/* Parse "mode": "nicehash" (the default) or "simple". */
static void
config_mode(struct cfgctx *cx, struct config *c, json_t *v)
{
	const char	*s;

	c->mode = MODE_NICEHASH;
	if (v == NULL || json_is_null(v))
		return;
	s = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(s, "nicehash") == 0)
		c->mode = MODE_NICEHASH;
	else if (strcmp(s, "simple") == 0)
		c->mode = MODE_SIMPLE;
	else
		config_err(cx, "mode", "expected \"nicehash\" or \"simple\"");
}

/*
 * Parse "tls": the certificate miners' TLS binds are served with. The
 * key is "cert_key" in xmrig-proxy's files; "cert-key" is taken too.
 */
static void
config_tls(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "enabled", "cert", "cert_key",
	    "ciphers", "ciphersuites", "protocols", "dhparam", "cert-key",
	    "gen", NULL };
	char			**strs[] = { &c->tls.cert, &c->tls.cert_key,
	    &c->tls.ciphers, &c->tls.ciphersuites, &c->tls.protocols,
	    &c->tls.dhparam, &c->tls.gen };
	size_t			 i;

	if (o == NULL || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		config_err(cx, "tls", "expected an object");
		return;
	}
	config_check_keys(cx, o, "tls.", keys, XMRIG_NONE);
	config_bool(cx, o, "enabled", "tls.enabled", 0, &c->tls.enabled);
	config_str(cx, o, "cert", "tls.cert", NULL, &c->tls.cert);
	config_str(cx, o, "cert_key", "tls.cert_key", NULL, &c->tls.cert_key);
	if (c->tls.cert_key == NULL)
		config_str(cx, o, "cert-key", "tls.cert-key", NULL,
		    &c->tls.cert_key);
	config_str(cx, o, "ciphers", "tls.ciphers", NULL, &c->tls.ciphers);
	config_str(cx, o, "ciphersuites", "tls.ciphersuites", NULL,
	    &c->tls.ciphersuites);
	config_str(cx, o, "protocols", "tls.protocols", NULL,
	    &c->tls.protocols);
	config_str(cx, o, "dhparam", "tls.dhparam", NULL, &c->tls.dhparam);
	config_str(cx, o, "gen", "tls.gen", NULL, &c->tls.gen);
	/* xmrig-proxy takes "" for null in these. */
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		if (*strs[i] != NULL && (*strs[i])[0] == '\0') {
			free(*strs[i]);
			*strs[i] = NULL;
		}
	}
	if (c->tls.gen != NULL && !tls_name_ok(c->tls.gen))
		config_err(cx, "tls.gen", "expected a host name (letters, "
		    "digits, \".\", \"-\", at most 64)");
}

/*
 * Parse "http": the HTTP API and its dashboard page. An empty access-token
 * means none.
 */
static void
config_http(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "enabled", "host", "port",
	    "access-token", "restricted", "timeout", "max-connections",
	    "dashboard", "cors-origin", NULL };
	long long		 n;

	c->http.host = xstrdup("127.0.0.1");
	c->http.restricted = 1;
	c->http.timeout = 10;
	c->http.max_connections = 64;
	c->http.dashboard = 1;
	c->http.cors_origin = xstrdup("*");
	if (o == NULL || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		config_err(cx, "http", "expected an object");
		return;
	}
	config_check_keys(cx, o, "http.", keys, XMRIG_NONE);
	config_bool(cx, o, "enabled", "http.enabled", 0, &c->http.enabled);
	free(c->http.host);
	config_str(cx, o, "host", "http.host", "127.0.0.1", &c->http.host);
	config_int(cx, o, "port", "http.port", 0, 65535, 0, &n);
	c->http.port = (int)n;
	config_str(cx, o, "access-token", "http.access-token", NULL,
	    &c->http.access_token);
	config_bool(cx, o, "restricted", "http.restricted", 1,
	    &c->http.restricted);
	config_int(cx, o, "timeout", "http.timeout", 1, 3600, 10, &n);
	c->http.timeout = (int)n;
	config_int(cx, o, "max-connections", "http.max-connections", 1, 4096,
	    64, &n);
	c->http.max_connections = (int)n;
	config_bool(cx, o, "dashboard", "http.dashboard", 1,
	    &c->http.dashboard);
	if (c->http.access_token != NULL && c->http.access_token[0] == '\0') {
		free(c->http.access_token);
		c->http.access_token = NULL;
	}
	/* Present and null (or empty) turns CORS off; absent is "*". */
	free(c->http.cors_origin);
	c->http.cors_origin = NULL;
	if (json_object_get(o, "cors-origin") == NULL)
		c->http.cors_origin = xstrdup("*");
	else if (config_str(cx, o, "cors-origin", "http.cors-origin", NULL,
	    &c->http.cors_origin) == 0 && c->http.cors_origin != NULL) {
		if (c->http.cors_origin[0] == '\0') {
			free(c->http.cors_origin);
			c->http.cors_origin = NULL;
		} else if (!config_origin_ok(c->http.cors_origin))
			config_err(cx, "http.cors-origin", "expected \"*\" or "
			    "one origin, scheme and host, such as "
			    "\"https://dash.example.com\" (no path, not even "
			    "a trailing /)");
	}
}

/*
 * Is s "*" or an origin as a browser sends it: http:// or https://, a
 * host and maybe a port, nothing after, no space or control byte (it
 * goes into a header)?
 */
static int
config_origin_ok(const char *s)
{
	const char	*h;

	if (strcmp(s, "*") == 0)
		return 1;
	if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else if (strncmp(s, "https://", 8) == 0)
		h = s + 8;
	else
		return 0;
	if (*h == '\0')
		return 0;
	for (; *h != '\0'; h++) {
		if (*h <= ' ' || *h >= 0x7f || strchr("/?#@\\\"", *h) != NULL)
			return 0;
	}
	return 1;
}

/*
 * Parse "debug": the debug endpoint. It shows every peer and can profile
 * the process, so it stays on loopback unless the operator says
 * allow-remote and sets a token of its own (not http.access-token: the
 * dashboards that hold that one get no profiler). The rule holds whether
 * or not it is enabled, so enabling it later cannot open it up.
 */
static void
config_debug(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "enabled", "host", "port",
	    "allow-remote", "access-token", NULL };
	struct debug_conf	*d = &c->debug;
	long long		 n;

	d->host = xstrdup("127.0.0.1");
	d->port = 6060;
	/*
	 * xmrig-proxy's "debug" is a boolean (config_xmrig.cc warns about
	 * true); the key is not in config_top_keys so that its table sees it.
	 */
	if (o == NULL || json_is_null(o) || json_is_boolean(o))
		return;
	if (!json_is_object(o)) {
		config_err(cx, "debug", "expected an object");
		return;
	}
	config_check_keys(cx, o, "debug.", keys, XMRIG_NONE);
	config_bool(cx, o, "enabled", "debug.enabled", 0, &d->enabled);
	free(d->host);
	config_str(cx, o, "host", "debug.host", "127.0.0.1", &d->host);
	config_int(cx, o, "port", "debug.port", 1, 65535, 6060, &n);
	d->port = (int)n;
	config_bool(cx, o, "allow-remote", "debug.allow-remote", 0,
	    &d->allow_remote);
	config_str(cx, o, "access-token", "debug.access-token", NULL,
	    &d->access_token);
	if (d->access_token != NULL && d->access_token[0] == '\0') {
		free(d->access_token);
		d->access_token = NULL;
	}
	if (d->host == NULL || config_host_loopback(d->host))
		return;
	if (!d->allow_remote)
		config_err(cx, "debug.host", "\"%s\" is not a loopback "
		    "address; the debug endpoint stays on 127.0.0.1 or ::1 "
		    "unless debug.allow-remote is true and "
		    "debug.access-token is set", d->host);
	else if (d->access_token == NULL)
		config_err(cx, "debug.access-token", "must be set to serve "
		    "the debug endpoint on \"%s\" (debug.allow-remote)",
		    d->host);
}

/*
 * Is host a loopback address: "localhost", 127.0.0.0/8 or ::1 (also as
 * ::ffff:127.x.y.z)?
 */
int
config_host_loopback(const char *host)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/*
 * Parse what miners are offered and how they are counted: access-password
 * (empty means none), custom-diff, custom-diff-stats, algo-ext, workers.
 */
static void
config_miners(struct cfgctx *cx, struct config *c, json_t *root)
{
	long long	 n;

	config_str(cx, root, "access-password", "access-password", NULL,
	    &c->access_password);
	if (c->access_password != NULL && c->access_password[0] == '\0') {
		free(c->access_password);
		c->access_password = NULL;
	}
	config_int(cx, root, "custom-diff", "custom-diff", 0, INT64_MAX, 0, &n);
	c->custom_diff = (uint64_t)n;
	config_bool(cx, root, "custom-diff-stats", "custom-diff-stats", 0,
	    &c->custom_diff_stats);
	config_bool(cx, root, "algo-ext", "algo-ext", 1, &c->algo_ext);
	config_workers(cx, c, json_object_get(root, "workers"));
}

/* Parse the names of the files sluice writes (resolved in config_paths). */
static void
config_files(struct cfgctx *cx, struct config *c, json_t *root)
{
	config_str(cx, root, "access-log-file", "access-log-file", NULL,
	    &c->access_log_file);
	config_str(cx, root, "share-log-file", "share-log-file", NULL,
	    &c->share_log_file);
	config_str(cx, root, "log-file", "log-file", NULL, &c->log_file);
	config_str(cx, root, "pid-file", "pid-file", "/run/sluice.pid",
	    &c->pid_file);
}

/*
 * Parse the upstream keys: reuse-timeout and the failover pace, whose
 * backoff starts at retry-pause and is capped by retry-pause-max.
 */
static void
config_failover(struct cfgctx *cx, struct config *c, json_t *root)
{
	json_t		*v;
	long long	 n;

	config_int(cx, root, "reuse-timeout", "reuse-timeout", 0, 86400, 0, &n);
	c->reuse_timeout = (int)n;
	config_int(cx, root, "retries", "retries", 0, 1000, 2, &n);
	c->retries = (int)n;
	config_int(cx, root, "retry-pause", "retry-pause", 0, 3600, 1, &n);
	c->retry_pause = (int)n;
	config_int(cx, root, "pool-min-session", "pool-min-session", 0, 86400,
	    30, &n);
	c->pool_min_session = (int)n;
	/* Left out: on when a second pool is enabled (config_standby). */
	c->failover_standby = -1;
	if (json_object_get(root, "failover-standby") != NULL)
		config_bool(cx, root, "failover-standby", "failover-standby", 1,
		    &c->failover_standby);
	/*
	 * Left out, the cap is 30 or retry-pause if that is larger, so that
	 * a file written before the key existed still loads as it did.
	 */
	v = json_object_get(root, "retry-pause-max");
	if (v == NULL || json_is_null(v)) {
		c->retry_pause_max = c->retry_pause > 30 ? c->retry_pause : 30;
		return;
	}
	if (config_int(cx, root, "retry-pause-max", "retry-pause-max", 1,
	    3600, 30, &n) == 0 && n < c->retry_pause)
		config_err(cx, "retry-pause-max", "%lld is less than "
		    "retry-pause (%d)", n, c->retry_pause);
	c->retry_pause_max = (int)n;
}

/* Parse how the process runs and logs; verbose may be a boolean. */
static void
config_process(struct cfgctx *cx, struct config *c, json_t *root)
{
	long long	 n;

	config_bool(cx, root, "watch", "watch", 1, &c->watch);
	if (json_is_boolean(json_object_get(root, "verbose"))) {
		config_bool(cx, root, "verbose", "verbose", 0, &c->verbose);
	} else {
		config_int(cx, root, "verbose", "verbose", 0, 5, 0, &n);
		c->verbose = (int)n;
	}
	config_bool(cx, root, "syslog", "syslog", 0, &c->syslog);
	config_int(cx, root, "print-time", "print-time", 0, 86400, 60, &n);
	c->print_time = (int)n;
	config_bool(cx, root, "background", "background", 0, &c->background);
}

/*
 * Parse the rest of xmrig-proxy's keys: "user-agent" (sent to pools at
 * login), "api" (id and worker-id, the instance's names in /1/summary)
 * and "dns", of which sluice uses nothing. "" is null, as in xmrig-proxy.
 */
static void
config_compat(struct cfgctx *cx, struct config *c, json_t *root)
{
	static const char	*api_keys[] = { "id", "worker-id", NULL };
	static const char	*none[] = { NULL };
	char			**strs[] = { &c->user_agent, &c->api_id,
	    &c->api_worker_id };
	json_t			*o;
	size_t			 i;

	config_str(cx, root, "user-agent", "user-agent", NULL, &c->user_agent);
	o = json_object_get(root, "api");
	if (o != NULL && !json_is_null(o) && !json_is_object(o))
		config_err(cx, "api", "expected an object");
	else if (o != NULL && json_is_object(o)) {
		config_check_keys(cx, o, "api.", api_keys, XMRIG_API);
		config_str(cx, o, "id", "api.id", NULL, &c->api_id);
		config_str(cx, o, "worker-id", "api.worker-id", NULL,
		    &c->api_worker_id);
	}
	o = json_object_get(root, "dns");
	if (o != NULL && !json_is_null(o) && !json_is_object(o))
		config_err(cx, "dns", "expected an object");
	else if (o != NULL && json_is_object(o))
		config_check_keys(cx, o, "dns.", none, XMRIG_DNS);
	for (i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		if (*strs[i] != NULL && (*strs[i])[0] == '\0') {
			free(*strs[i]);
			*strs[i] = NULL;
		}
	}
}

/* Parse the limits and timeouts (sluice's own keys). */
static void
config_limits(struct cfgctx *cx, struct config *c, json_t *root)
{
	long long	 n;

	config_int(cx, root, "max-connections", "max-connections", 0,
	    10000000, 0, &n);
	c->max_connections = (int)n;
	config_int(cx, root, "max-upstreams", "max-upstreams", 0, 1000000, 0,
	    &n);
	c->max_upstreams = (int)n;
	config_int(cx, root, "pool-connect-timeout", "pool-connect-timeout",
	    1, 3600, 10, &n);
	c->pool_connect_timeout = (int)n;
	config_int(cx, root, "pool-response-timeout", "pool-response-timeout",
	    1, 3600, 5, &n);
	c->pool_response_timeout = (int)n;
	/* Absent: probe a quiet pool after pool-response-timeout. */
	config_int(cx, root, "pool-quiet-probe", "pool-quiet-probe", 0, 3600,
	    c->pool_response_timeout, &n);
	c->pool_quiet_probe = (int)n;
	config_int(cx, root, "miner-output-limit", "miner-output-limit", 4096,
	    64 << 20, 65536, &n);
	c->max_output = (size_t)n;
	config_int(cx, root, "workers-max", "workers-max", 1, 10000000, 10000,
	    &n);
	c->workers_max = (int)n;
}

/*
 * Parse "metrics": what /metrics shows beyond the fixed families.
 * per-worker (off by default) adds a series per worker, which is as many
 * as workers-max allows.
 */
static void
config_metrics(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "per-worker", NULL };

	if (o == NULL || json_is_null(o))
		return;
	if (!json_is_object(o)) {
		config_err(cx, "metrics", "expected an object");
		return;
	}
	config_check_keys(cx, o, "metrics.", keys, XMRIG_NONE);
	config_bool(cx, o, "per-worker", "metrics.per-worker", 0,
	    &c->metrics_per_worker);
}

/* Parse "rate-limit"; absent or null gives the defaults (off). */
static void
config_ratelimit(struct cfgctx *cx, struct config *c, json_t *o)
{
	static const char	*keys[] = { "max-connections-per-minute",
	    "ban-duration", NULL };
	long long		 n;

	if (o != NULL && !json_is_null(o) && !json_is_object(o)) {
		config_err(cx, "rate-limit", "expected an object");
		return;
	}
	if (o != NULL && json_is_object(o))
		config_check_keys(cx, o, "rate-limit.", keys, XMRIG_NONE);
	/* json_object_get() on a NULL object gives NULL: the default. */
	config_int(cx, o, "max-connections-per-minute",
	    "rate-limit.max-connections-per-minute", 0, 1000000, 0, &n);
	c->rate_limit_per_minute = (int)n;
	config_int(cx, o, "ban-duration", "rate-limit.ban-duration", 0,
	    86400 * 365, 300, &n);
	c->rate_limit_ban = (int)n;
}

/* Make the file names relative to the config file's folder. */
static void
config_paths(struct config *c)
{
	config_path(c, &c->access_log_file);
	config_path(c, &c->share_log_file);
	config_path(c, &c->log_file);
	config_path(c, &c->tls.cert);
	config_path(c, &c->tls.cert_key);
	config_path(c, &c->tls.dhparam);
	config_path(c, &c->sw.state_file);
	config_path(c, &c->history.file);
	config_path(c, &c->capture.file);
}

/*
 * Check what spans sections. TLS for miners (tls.enabled, or a bind with
 * "tls": true) without cert and cert_key gets a self-signed certificate
 * made in memory, as xmrig-proxy makes one; one of the two alone is an
 * error.
 */
static void
config_validate(struct cfgctx *cx, struct config *c)
{
	char	 cn[TLS_NAME_MAX + 1];

	if (!tls_server_wanted(c))
		return;
	if ((c->tls.cert == NULL) != (c->tls.cert_key == NULL))
		config_err(cx, c->tls.cert == NULL ? "tls.cert" : "tls.cert_key",
		    "needed with tls.%s", c->tls.cert == NULL ? "cert_key" :
		    "cert");
	else if (c->tls.cert == NULL)
		strlist_add(cx->warnings, "%s: tls: no cert and cert_key: "
		    "miners get a self-signed certificate made in memory "
		    "for \"%s\", as xmrig-proxy does; they cannot verify it, "
		    "and it changes at each start", cx->file,
		    tls_self_signed_name(c, cn, sizeof cn));
}

/*
 * Load and validate a config file. Returns a snapshot with one reference,
 * or NULL with every problem in errors.
 */
struct config *
config_load(const char *path, struct strlist *errors, struct strlist *warnings)
{
	struct config	*c;
	json_t		*root;

	if ((root = config_file_read(path, errors)) == NULL)
		return NULL;
	c = config_build(path, root, errors, warnings);
	json_decref(root);
	return c;
}

/*
 * Parse a config sent as text (PUT /1/config) as the file is parsed:
 * NULL, with "name:line:column: message" in errors, unless it is a JSON
 * object.
 */
json_t *
config_parse(const char *name, const char *text, size_t len,
    struct strlist *errors)
{
	return config_file_parse(name, text, len, errors);
}

/*
 * Validate a parsed config (root, an object) as the file path's: errors
 * name path, relative file names are relative to its folder, and the
 * snapshot keeps a reference to root. Returns a snapshot with one
 * reference, or NULL with every problem in errors. Sections are parsed
 * in a fixed order, which is the order their errors are reported in.
 */
struct config *
config_build(const char *path, json_t *root, struct strlist *errors,
    struct strlist *warnings)
{
	struct cfgctx	 cx = { path, errors, warnings };
	struct config	*c;
	size_t		 nerr = errors->n;

	c = config_new(path);
	c->json = json_incref(root);
	/* Parsed with the command line's keys, kept as the file's. */
	root = config_file_lay(root);
	config_check_keys(&cx, root, "", config_top_keys, XMRIG_TOP);

	config_mode(&cx, c, json_object_get(root, "mode"));
	config_binds(&cx, c, json_object_get(root, "bind"));
	config_ws_origins(&cx, c, json_object_get(root, "websocket-origins"));
	config_coins(&cx, c, root);
	config_switch(&cx, c, json_object_get(root, "switch"));
	config_fleet(&cx, c, json_object_get(root, "fleet"));
	config_bool(&cx, root, "reuse-port", "reuse-port", 0, &c->reuse_port);
	config_history(&cx, c, json_object_get(root, "history"));
	config_capture(&cx, c, json_object_get(root, "capture"));
	config_tls(&cx, c, json_object_get(root, "tls"));
	config_http(&cx, c, json_object_get(root, "http"));
	config_debug(&cx, c, json_object_get(root, "debug"));
	config_miners(&cx, c, root);
	config_files(&cx, c, root);
	config_failover(&cx, c, root);
	config_process(&cx, c, root);
	config_compat(&cx, c, root);
	config_limits(&cx, c, root);
	config_lua(&cx, c, json_object_get(root, "lua"));
	config_policy(&cx, c, json_object_get(root, "policy"));
	config_ratelimit(&cx, c, json_object_get(root, "rate-limit"));
	config_metrics(&cx, c, json_object_get(root, "metrics"));

	config_paths(c);
	config_validate(&cx, c);

	json_decref(root);
	if (errors->n != nerr) {
		config_free(c);
		return NULL;
	}
	return c;
}

/* Take a reference. */
struct config *
config_ref(struct config *c)
{
	c->refs++;
	return c;
}

/* Drop a reference; the last one frees. */
void
config_unref(struct config *c)
{
	if (c != NULL && --c->refs == 0)
		config_free(c);
}

/* Free a snapshot. */
static void
config_free(struct config *c)
{
	size_t	 i;

	for (i = 0; i < c->nbinds; i++) {
		free(c->binds[i].host);
		free(c->binds[i].path);
		free(c->binds[i].proxy_from);
	}
	free(c->binds);
	for (i = 0; i < c->nws_origins; i++)
		free(c->ws_origins[i]);
	free(c->ws_origins);
	for (i = 0; i < c->ncoins; i++) {
		free(c->coins[i].name);
		free(c->coins[i].algo);
		config_pools_free(c->coins[i].pools, c->coins[i].npools);
	}
	free(c->coins);
	free(c->sw.user);
	free(c->sw.password);
	free(c->sw.user_coin_url);
	free(c->sw.state_file);
	free(c->sw.redis);
	free(c->fleet.redis);
	free(c->history.file);
	free(c->capture.file);
	free(c->tls.cert);
	free(c->tls.cert_key);
	free(c->tls.ciphers);
	free(c->tls.ciphersuites);
	free(c->tls.protocols);
	free(c->tls.dhparam);
	free(c->tls.gen);
	free(c->http.host);
	free(c->http.access_token);
	free(c->http.cors_origin);
	free(c->debug.host);
	free(c->debug.access_token);
	free(c->access_password);
	free(c->access_log_file);
	free(c->share_log_file);
	free(c->log_file);
	free(c->pid_file);
	free(c->user_agent);
	free(c->api_id);
	free(c->api_worker_id);
	for (i = 0; i < c->nlua_scripts; i++)
		free(c->lua_scripts[i]);
	free(c->lua_scripts);
	free(c->path);
	free(c->dir);
	json_decref(c->json);
	free(c);
}

/* Compare two strings that may be NULL. */
static int
config_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Do two pool lists have the same pools, in the same order? */
static int
config_pool_list_equal(const struct pool_conf *a, size_t na,
    const struct pool_conf *b, size_t nb)
{
	const struct pool_conf	*p, *q;
	size_t			 i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++) {
		p = &a[i];
		q = &b[i];
		if (!config_streq(p->host, q->host) || p->port != q->port ||
		    !config_streq(p->user, q->user) ||
		    !config_streq(p->pass, q->pass) ||
		    !config_streq(p->rig_id, q->rig_id) ||
		    !config_streq(p->algo, q->algo) || p->tls != q->tls ||
		    p->tls_verify != q->tls_verify || p->sni != q->sni ||
		    p->keepalive != q->keepalive ||
		    !config_streq(p->tls_fingerprint, q->tls_fingerprint) ||
		    !config_streq(p->socks5_host, q->socks5_host) ||
		    p->socks5_port != q->socks5_port ||
		    !config_streq(p->socks5_user, q->socks5_user) ||
		    !config_streq(p->socks5_pass, q->socks5_pass))
			return 0;
	}
	return 1;
}

/*
 * Do two snapshots have the same coins, upstream pools and pool
 * timeouts?
 */
int
config_pools_equal(const struct config *a, const struct config *b)
{
	size_t	 i;

	if (a->ncoins != b->ncoins || a->default_coin != b->default_coin ||
	    a->retries != b->retries || a->retry_pause != b->retry_pause ||
	    a->retry_pause_max != b->retry_pause_max ||
	    a->pool_min_session != b->pool_min_session ||
	    a->failover_standby != b->failover_standby)
		return 0;
	for (i = 0; i < a->ncoins; i++) {
		if (strcmp(a->coins[i].name, b->coins[i].name) != 0 ||
		    !config_streq(a->coins[i].algo, b->coins[i].algo) ||
		    !config_pool_list_equal(a->coins[i].pools,
		    a->coins[i].npools, b->coins[i].pools, b->coins[i].npools))
			return 0;
	}
	return 1;
}

/*
 * Is the failover standby on? failover-standby left out means on when a
 * second pool is enabled; with one pool there is nothing to stand by.
 */
int
config_standby(const struct config *c)
{
	if (c->npools < 2)
		return 0;
	return c->failover_standby != 0;
}

/* Name of a mode. */
const char *
config_mode_text(enum proxy_mode m)
{
	return m == MODE_SIMPLE ? "simple" : "nicehash";
}

/* Name of a policy.on-error value, as written in the file. */
const char *
config_on_error_text(enum on_error e)
{
	return e == ON_ERROR_DENY ? "deny" : "builtin";
}

/* Name of a workers mode, as xmrig-proxy reports it. */
const char *
config_workers_text(enum workers_mode w)
{
	switch (w) {
	case WORKERS_NONE:
		return "none";
	case WORKERS_RIGID:
		return "rig_id";
	case WORKERS_USER:
		return "user";
	case WORKERS_PASSWORD:
		return "password";
	case WORKERS_AGENT:
		return "agent";
	case WORKERS_IP:
		return "ip";
	}
	return "unknown";
}
