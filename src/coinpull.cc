/*
 * coinpull.cc: the periodic pull of switch.user-coin-url, btcpool's
 * UserCoinMapURL (seed 004).
 *
 * Every switch.interval seconds, counted from the end of the previous
 * pull, GET URL?last_date=N (N: 0, then the now_date of the last answer
 * accepted) and apply the answer
 *
 *	{"err_no":0,"data":{"user_coin":{"puname":"coin",...},"now_date":N}}
 *
 * in one coins_apply(COINS_SRC_PULL). Anything else (no answer within
 * switch.timeout, a connection or TLS error, a status other than 200, a
 * body over 4 MiB, bad JSON, another shape, err_no != 0, a change the map
 * refuses) keeps the map and N as they are, is counted and warned about
 * once per kind until a pull succeeds again.
 *
 * One request at a time, on evhttp with the shared evdns base, so the
 * loop never blocks. Callbacks of evhttp must not free the connection
 * they run in: the connection is freed on the next loop turn (reap_ev),
 * or at once from our own timers, where evhttp is not on the stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "coins.h"
#include "config.h"
#include "tls.h"

#define COINPULL_MAX_BODY	(4 << 20)
#define COINPULL_MAX_HEADERS	(64 << 10)

/* Why a pull failed; each kind is warned about once per bad spell. */
enum coinpull_kind {
	COINPULL_URL,		/* the URL cannot be used */
	COINPULL_TIMEOUT,
	COINPULL_CONNECT,	/* refused, reset, closed, DNS */
	COINPULL_TLS,
	COINPULL_HTTP,		/* a status other than 200 */
	COINPULL_SIZE,		/* a body over COINPULL_MAX_BODY */
	COINPULL_JSON,
	COINPULL_ANSWER,	/* JSON of another shape */
	COINPULL_ERRNO,		/* err_no != 0 */
	COINPULL_REFUSED,	/* coins_apply said no (state file, Redis) */
	COINPULL_SKIPPED,	/* not a failure: invalid entries left out */
	COINPULL_NKINDS
};

struct coinpull {
	char			*url;		/* as configured */
	char			*shown;		/* url, user:pass@ masked */
	char			*host;		/* to connect to, no brackets */
	int			 port;
	int			 https;
	char			*target;	/* path?query, no last_date */
	char			*host_header;
	char			*auth;		/* Basic ..., or NULL */
	int			 interval;
	int			 timeout;
	long long		 last_date;	/* N */

	struct event		*next_ev;	/* the next pull */
	struct event		*deadline_ev;	/* the request's timeout */
	struct event		*reap_ev;	/* frees a finished conn */
	struct evhttp_connection *conn;
	int			 busy;		/* a request in flight */
	enum coinpull_kind	 fail;		/* what the error callback said */
	char			 fail_detail[128];

	time_t			 last;		/* end of the last pull */
	int			 ok;
	char			 error[320];
	unsigned		 warned;	/* bit per kind, this bad spell */
};

static struct coinpull	*cp;

static const char *coinpull_kind_text(enum coinpull_kind);
static int	 coinpull_parse(struct coinpull *, const char **);
static void	 coinpull_schedule(int);
static void	 coinpull_fire(evutil_socket_t, short, void *);
static void	 coinpull_request(void);
static struct evhttp_connection *coinpull_connect(void);
static void	 coinpull_error_cb(enum evhttp_request_error, void *);
static void	 coinpull_done(struct evhttp_request *, void *);
static void	 coinpull_deadline(evutil_socket_t, short, void *);
static void	 coinpull_reap(evutil_socket_t, short, void *);
static void	 coinpull_answer(const char *, size_t);
static void	 coinpull_fail(enum coinpull_kind, const char *, ...)
		     PRINTFLIKE(2, 3);
static void	 coinpull_finish(void);
static void	 coinpull_free(void);

static const char *
coinpull_kind_text(enum coinpull_kind k)
{
	switch (k) {
	case COINPULL_URL:
		return "url";
	case COINPULL_TIMEOUT:
		return "timeout";
	case COINPULL_CONNECT:
		return "connect";
	case COINPULL_TLS:
		return "tls";
	case COINPULL_HTTP:
		return "http";
	case COINPULL_SIZE:
		return "size";
	case COINPULL_JSON:
		return "json";
	case COINPULL_ANSWER:
		return "answer";
	case COINPULL_ERRNO:
		return "err_no";
	case COINPULL_REFUSED:
		return "refused";
	case COINPULL_SKIPPED:
		return "skipped";
	case COINPULL_NKINDS:
		break;
	}
	return "?";
}

/*
 * Split the URL into what a request needs. user:pass@ becomes a Basic
 * Authorization header and "***@" in what is logged. -1 with *why.
 */
static int
coinpull_parse(struct coinpull *p, const char **why)
{
	struct evhttp_uri	*u;
	const char		*scheme, *host, *path, *query, *ui;
	char			*plain;
	unsigned char		*b64;
	size_t			 len;
	int			 port;

	if ((u = evhttp_uri_parse(p->url)) == NULL) {
		*why = "not a valid URL";
		return -1;
	}
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	if (scheme == NULL || host == NULL || host[0] == '\0' ||
	    (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		evhttp_uri_free(u);
		*why = "expected http://host[:port]/... or https://...";
		return -1;
	}
	p->https = strcasecmp(scheme, "https") == 0;
	port = evhttp_uri_get_port(u);
	p->port = port > 0 ? port : p->https ? 443 : 80;
	len = strlen(host);
	if (host[0] == '[' && len > 2 && host[len - 1] == ']')
		p->host = xstrndup(host + 1, len - 2);
	else
		p->host = xstrdup(host);
	if (port > 0)
		xasprintf(&p->host_header, "%s:%d", host, port);
	else
		p->host_header = xstrdup(host);
	path = evhttp_uri_get_path(u);
	query = evhttp_uri_get_query(u);
	if (path == NULL || path[0] == '\0')
		path = "/";
	xasprintf(&p->target, "%s%s%s", path, query != NULL ? "?" : "",
	    query != NULL ? query : "");
	ui = evhttp_uri_get_userinfo(u);
	xasprintf(&p->shown, "%s://%s%s%s", p->https ? "https" : "http",
	    ui != NULL ? "***@" : "", p->host_header, p->target);
	if (ui != NULL) {
		plain = evhttp_uridecode(ui, 0, &len);
		if (plain != NULL) {
			b64 = XCALLOC(unsigned char, 4 * (len + 2) / 3 + 1);
			EVP_EncodeBlock(b64, (const unsigned char *)plain,
			    (int)len);
			xasprintf(&p->auth, "Basic %s", (char *)b64);
			OPENSSL_cleanse(plain, len);
			OPENSSL_cleanse(b64, strlen((char *)b64));
			free(b64);
			free(plain);
		}
	}
	evhttp_uri_free(u);
	return 0;
}

/* Start the pull if switch.user-coin-url is set; the first one now. */
void
coinpull_start(void)
{
	const struct switch_conf	*w = &sl.conf->sw;
	const char			*why;

	if (w->user_coin_url == NULL || cp != NULL)
		return;
	cp = XCALLOC(struct coinpull, 1);
	cp->url = xstrdup(w->user_coin_url);
	cp->interval = w->interval;
	cp->timeout = w->timeout;
	cp->next_ev = evtimer_new(sl.base, coinpull_fire, NULL);
	cp->deadline_ev = evtimer_new(sl.base, coinpull_deadline, NULL);
	cp->reap_ev = evtimer_new(sl.base, coinpull_reap, NULL);
	if (coinpull_parse(cp, &why) != 0) {
		/* The URL stays unusable until a reload changes it. */
		cp->shown = xstrdup("(unusable)");
		coinpull_fail(COINPULL_URL, "%s", why);
		return;
	}
	log_info("type=switch_pull status=start url=%s interval=%d timeout=%d",
	    log_word(cp->shown), cp->interval, cp->timeout);
	coinpull_schedule(0);
}

/*
 * The config changed: a new URL starts over (last_date=0), a new
 * interval pulls now and keeps N, no URL stops the pull.
 */
void
coinpull_reload(void)
{
	const struct switch_conf	*w = &sl.conf->sw;

	if (cp != NULL && w->user_coin_url != NULL &&
	    strcmp(cp->url, w->user_coin_url) == 0) {
		cp->timeout = w->timeout;
		if (cp->interval != w->interval && cp->host != NULL) {
			cp->interval = w->interval;
			if (!cp->busy)
				coinpull_schedule(0);
		}
		return;
	}
	if (cp != NULL)
		log_info("type=switch_pull status=stop url=%s",
		    log_word(cp->shown));
	coinpull_free();
	coinpull_start();
}

/* Shutdown: cancel the request in flight and the timers. */
void
coinpull_stop(void)
{
	coinpull_free();
}

/* Free everything; a request in flight is dropped without callbacks. */
static void
coinpull_free(void)
{
	if (cp == NULL)
		return;
	if (cp->conn != NULL)
		evhttp_connection_free(cp->conn);
	event_free(cp->next_ev);
	event_free(cp->deadline_ev);
	event_free(cp->reap_ev);
	free(cp->url);
	free(cp->shown);
	free(cp->host);
	free(cp->target);
	free(cp->host_header);
	if (cp->auth != NULL) {
		OPENSSL_cleanse(cp->auth, strlen(cp->auth));
		free(cp->auth);
	}
	free(cp);
	cp = NULL;
}

/* For /1/coins: when the last pull ended, whether it worked, why not. */
void
coinpull_status(time_t *last, int *ok, const char **error)
{
	*last = cp != NULL ? cp->last : 0;
	*ok = cp != NULL ? cp->ok : 0;
	*error = cp != NULL && cp->error[0] != '\0' ? cp->error : NULL;
}

/* Pull in secs seconds. */
static void
coinpull_schedule(int secs)
{
	struct timeval	 tv = { secs, 0 };

	evtimer_add(cp->next_ev, &tv);
}

/* next_ev: time to pull. */
static void
coinpull_fire(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (cp->busy || sl.stopping)
		return;
	coinpull_request();
}

/*
 * A connection for one request: plain, or TLS verified against the
 * system CAs with the host name checked (SNI unless it is an address).
 */
static struct evhttp_connection *
coinpull_connect(void)
{
	struct evhttp_connection	*conn;
	struct bufferevent		*bev;
	SSL				*ssl;

	if (!cp->https)
		return evhttp_connection_base_new(sl.base, sl.dns, cp->host,
		    (unsigned short)cp->port);
	if ((ssl = SSL_new(tls_client(1))) == NULL)
		return NULL;
	if (tls_is_ip(cp->host))
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), cp->host);
	else {
		SSL_set_tlsext_host_name(ssl, cp->host);
		SSL_set1_host(ssl, cp->host);
	}
	bev = bufferevent_openssl_socket_new(sl.base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	conn = evhttp_connection_base_bufferevent_new(sl.base, sl.dns, bev,
	    cp->host, (unsigned short)cp->port);
	if (conn == NULL)
		bufferevent_free(bev);
	return conn;
}

/* Send GET URL?last_date=N. */
static void
coinpull_request(void)
{
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	struct timeval		 tv = { cp->timeout, 0 };
	char			*uri;

	if (cp->conn != NULL) {
		event_del(cp->reap_ev);
		evhttp_connection_free(cp->conn);
	}
	cp->busy = 1;
	cp->fail = COINPULL_CONNECT;
	cp->fail_detail[0] = '\0';
	if ((cp->conn = coinpull_connect()) == NULL) {
		coinpull_fail(COINPULL_CONNECT, "cannot make a connection");
		coinpull_finish();
		return;
	}
	evhttp_connection_set_timeout(cp->conn, cp->timeout);
	evhttp_connection_set_retries(cp->conn, 0);
	evhttp_connection_set_max_body_size(cp->conn, COINPULL_MAX_BODY);
	evhttp_connection_set_max_headers_size(cp->conn, COINPULL_MAX_HEADERS);
	if ((req = evhttp_request_new(coinpull_done, NULL)) == NULL) {
		coinpull_fail(COINPULL_CONNECT, "cannot make a request");
		coinpull_finish();
		return;
	}
	evhttp_request_set_error_cb(req, coinpull_error_cb);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", cp->host_header);
	evhttp_add_header(h, "User-Agent", SLUICE_AGENT);
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "Connection", "close");
	if (cp->auth != NULL)
		evhttp_add_header(h, "Authorization", cp->auth);
	xasprintf(&uri, "%s%clast_date=%lld", cp->target,
	    strchr(cp->target, '?') != NULL ? '&' : '?', cp->last_date);
	log_debug("type=switch_pull status=request url=%s last_date=%lld",
	    log_word(cp->shown), cp->last_date);
	evtimer_add(cp->deadline_ev, &tv);
	/* On failure evhttp has freed req (and may have called us back). */
	if (evhttp_make_request(cp->conn, req, EVHTTP_REQ_GET, uri) != 0 &&
	    cp->busy) {
		coinpull_fail(COINPULL_CONNECT, "cannot send the request");
		coinpull_finish();
	}
	free(uri);
}

/*
 * evhttp's error callback, before coinpull_done(NULL): remember why.
 * A TLS failure shows as a buffer error or EOF; the bufferevent still
 * holds OpenSSL's reason here.
 */
static void
coinpull_error_cb(enum evhttp_request_error e, void *arg)
{
	struct bufferevent	*bev;
	SSL			*ssl;
	unsigned long		 err;
	long			 vr;

	(void)arg;
	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		cp->fail = COINPULL_TIMEOUT;
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		cp->fail = COINPULL_SIZE;
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		cp->fail = COINPULL_HTTP;
		snprintf(cp->fail_detail, sizeof cp->fail_detail,
		    "invalid or too long headers");
		break;
	default:
		cp->fail = COINPULL_CONNECT;
		break;
	}
	if (!cp->https || cp->conn == NULL ||
	    (bev = evhttp_connection_get_bufferevent(cp->conn)) == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return;
	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		cp->fail = COINPULL_TLS;
		snprintf(cp->fail_detail, sizeof cp->fail_detail,
		    "certificate: %s", X509_verify_cert_error_string(vr));
	} else if ((err = bufferevent_get_openssl_error(bev)) != 0) {
		cp->fail = COINPULL_TLS;
		ERR_error_string_n(err, cp->fail_detail,
		    sizeof cp->fail_detail);
	}
	while (bufferevent_get_openssl_error(bev) != 0)
		;
}

/* evhttp's request callback: the answer, or NULL after an error. */
static void
coinpull_done(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*body;
	const char	*line;
	size_t		 len;
	int		 code;

	(void)arg;
	if (cp == NULL || !cp->busy)
		return;
	code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (code == 0) {
		if (cp->fail_detail[0] == '\0')
			snprintf(cp->fail_detail, sizeof cp->fail_detail, "%s",
			    cp->fail == COINPULL_TIMEOUT ? "no answer in time" :
			    cp->fail == COINPULL_SIZE ? "body over 4 MiB" :
			    "connection refused, reset or closed, or the name "
			    "did not resolve");
		coinpull_fail(cp->fail, "%s", cp->fail_detail);
	} else if (code != 200) {
		line = evhttp_request_get_response_code_line(req);
		coinpull_fail(COINPULL_HTTP, "status %d %s", code,
		    line != NULL ? line : "");
	} else {
		body = evhttp_request_get_input_buffer(req);
		len = evbuffer_get_length(body);
		coinpull_answer((const char *)evbuffer_pullup(body, -1), len);
	}
	coinpull_finish();
}

/* deadline_ev: the whole request took switch.timeout; drop it. */
static void
coinpull_deadline(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (!cp->busy)
		return;
	/* Our own timer: evhttp is not on the stack, free at once. */
	evhttp_connection_free(cp->conn);
	cp->conn = NULL;
	coinpull_fail(COINPULL_TIMEOUT, "no answer within %d s", cp->timeout);
	coinpull_finish();
}

/* reap_ev: free the connection of a finished request. */
static void
coinpull_reap(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (cp->conn != NULL && !cp->busy) {
		evhttp_connection_free(cp->conn);
		cp->conn = NULL;
	}
}

/* The request is over, either way: free its connection, plan the next. */
static void
coinpull_finish(void)
{
	struct timeval	 now = { 0, 0 };

	cp->busy = 0;
	cp->last = time(NULL);
	evtimer_del(cp->deadline_ev);
	if (cp->conn != NULL)
		evtimer_add(cp->reap_ev, &now);
	coinpull_schedule(cp->interval);
}

/* A failed pull: counted, shown in /1/coins, warned once per kind. */
static void
coinpull_fail(enum coinpull_kind kind, const char *fmt, ...)
{
	char		 detail[256];
	va_list		 ap;
	unsigned	 bit = 1u << kind;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	cp->ok = 0;
	snprintf(cp->error, sizeof cp->error, "%s: %s",
	    coinpull_kind_text(kind), detail);
	coins_error(COINS_ERR_PULL);
	if (cp->warned & bit) {
		log_debug("type=switch_pull status=error kind=%s url=%s "
		    "detail=\"%s\"", coinpull_kind_text(kind),
		    log_word(cp->shown), log_esc(detail));
		return;
	}
	cp->warned |= bit;
	log_warnx("type=switch_pull status=error kind=%s url=%s detail=\"%s\" "
	    "(the map is kept; warned once until a pull succeeds)",
	    coinpull_kind_text(kind), log_word(cp->shown), log_esc(detail));
}

/*
 * A 200 answer: check it whole, then apply the valid entries in one
 * coins_apply(). Invalid entries (a coin the config does not have, a bad
 * puname) are left out and counted; the rest still applies, and N moves
 * on, since the other side answered what it had.
 */
static void
coinpull_answer(const char *text, size_t len)
{
	struct coins_change	*ch;
	json_error_t		 jerr;
	json_t			*root, *eno, *data, *uc, *nd, *v;
	const char		*key, *coin, *msg, *why;
	char			 first[COINS_PUNAME_MAX + 64] = "";
	size_t			 n = 0, skipped = 0;
	int			 err, recovered;
	unsigned		 skipbit = 1u << COINPULL_SKIPPED;

	if ((root = json_loadb(text, len, 0, &jerr)) == NULL) {
		coinpull_fail(COINPULL_JSON, "line %d: %s", jerr.line,
		    jerr.text);
		return;
	}
	eno = json_object_get(root, "err_no");
	data = json_object_get(root, "data");
	uc = json_object_get(data, "user_coin");
	nd = json_object_get(data, "now_date");
	why = NULL;
	if (eno != NULL && !json_is_integer(eno))
		why = "err_no is not an integer";
	else if (eno != NULL && json_integer_value(eno) != 0) {
		msg = json_string_value(json_object_get(root, "err_msg"));
		coinpull_fail(COINPULL_ERRNO, "err_no %lld: %s",
		    (long long)json_integer_value(eno),
		    msg != NULL ? msg : "");
		json_decref(root);
		return;
	} else if (json_is_array(uc))
		why = "user_coin is an array, not an object (a PHP [] for "
		    "empty must be cast to an object)";
	else if (!json_is_object(uc))
		why = "no data.user_coin object";
	else if (!json_is_integer(nd) || json_integer_value(nd) < 0)
		why = "no data.now_date integer";
	if (why != NULL) {
		coinpull_fail(COINPULL_ANSWER, "%s", why);
		json_decref(root);
		return;
	}

	ch = XCALLOC(struct coins_change, json_object_size(uc) + 1);
	json_object_foreach(uc, key, v) {
		coin = json_string_value(v);
		err = coin == NULL ? COINS_E_COIN_EMPTY : coins_check(key, coin);
		if (err != COINS_OK) {
			if (skipped++ == 0)
				snprintf(first, sizeof first, "%.128s: %s", key,
				    coins_err_text(err));
			continue;
		}
		ch[n].puname = key;
		ch[n].coin = coin;
		n++;
	}
	err = n > 0 ? coins_apply(ch, n, COINS_SRC_PULL) : COINS_OK;
	free(ch);
	if (err != COINS_OK) {
		coinpull_fail(COINPULL_REFUSED, "%zu changes refused: %s", n,
		    coins_err_text(err));
		json_decref(root);
		return;
	}
	cp->last_date = json_integer_value(nd);
	json_decref(root);

	recovered = (cp->warned & ~skipbit) != 0;
	cp->warned &= skipbit;
	cp->ok = 1;
	cp->error[0] = '\0';
	if (skipped > 0) {
		snprintf(cp->error, sizeof cp->error, "skipped: %zu invalid "
		    "entries, first %s", skipped, first);
		if (!(cp->warned & skipbit))
			log_warnx("type=switch_pull status=partial url=%s "
			    "applied=%zu skipped=%zu detail=\"first %s\"",
			    log_word(cp->shown), n, skipped, log_esc(first));
		cp->warned |= skipbit;
	} else
		cp->warned = 0;
	if (n > 0 || skipped > 0 || recovered)
		log_info("type=switch_pull status=ok url=%s changes=%zu "
		    "skipped=%zu now_date=%lld%s", log_word(cp->shown), n,
		    skipped, cp->last_date, recovered ? " recovered=1" : "");
	else
		log_debug("type=switch_pull status=ok url=%s changes=0 "
		    "now_date=%lld", log_word(cp->shown), cp->last_date);
}
