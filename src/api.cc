/*
 * api.cc: the HTTP monitoring API (libevent's evhttp).
 *
 *	GET /1/summary		(= /2/summary = /api.json) proxy totals
 *	GET /1/workers		per-worker table
 *	GET /1/miners		per-connection table, passwords masked
 *	GET /1/upstreams	per-upstream table
 *	GET /1/fleet		the nodes sharing fleet.redis (fleet.cc)
 *	GET /1/history		hashrate history (histapi.cc)
 *	GET /1/history/workers	the workers it has
 *	GET /metrics		Prometheus text (metrics.cc)
 *	GET|PUT /1/config	the configuration (apiconfig.cc)
 *	/1/capture...		the capture of stratum lines (capapi.cc)
 *	/switch...		btcpool's switch API (switchapi.cc)
 *	GET /			the web dashboard (dashboard.cc), its
 *				files and /dashboard.json
 *
 * The shapes are a superset of xmrig-proxy's, so its dashboards work;
 * sluice's own totals sit under "sluice" in the summary. Hashrates are in
 * kH/s as xmrig-proxy reports them.
 *
 * Every request goes through the same gate, in this order:
 *	0. with switch.user set, the switch endpoints leave the gate for
 *	   switchapi.cc, which has its own auth (HTTP Basic); with
 *	   http.dashboard on, so does a GET or HEAD of one of the
 *	   dashboard's files or of /dashboard.json (dashboard.cc), token or
 *	   not: a browser cannot send a Bearer header to load a page, and
 *	   none of them holds data (the page asks for the token, then reads
 *	   the /1/ endpoints with it);
 *	1. with CORS on (http.cors-origin), an OPTIONS of an endpoint is a
 *	   preflight, answered 204 without the token (cors.cc); from here
 *	   on, every answer carries the CORS headers;
 *	2. access-token set: no "Authorization: Bearer" header is 401, a
 *	   wrong token 403 (compared in constant time);
 *	3. restricted (the default): any method but GET and HEAD is 403;
 *	4. an unknown path is 404;
 *	5. a known path with a method it does not serve is 405.
 * /1/config then has its own rule (apiconfig.cc). Every error is JSON,
 * {"status": code, "error": "message"}, as xmrig-proxy's are (its message
 * is the reason phrase; ours says more). The token and the restricted
 * flag are read from the live config on each request, so a reload applies
 * them at once; a changed host or port rebinds in api_reload(). No
 * secret (pool or miner password, access password, token) is ever part of
 * an answer or a log line.
 *
 * The two tables that grow with the proxy (/1/workers, /1/miners) are
 * written straight into the reply buffer rather than built as a jansson
 * tree, so a large proxy costs the reply's size and not ten times that.
 *
 * Limits, so that the API cannot eat the file descriptors the miners
 * need: a request must be read and answered within http.timeout seconds
 * of its connection's start (on a kept-alive connection, of the previous
 * answer), however slowly it trickles in; and past http.max-connections
 * open connections the API stops handing sockets to evhttp and closes new
 * ones at once (api_refuse). Both are read from the live config. A body
 * may have 64 KiB, or 1 MiB on a connection accepted while the switch
 * API is on or /1/config may be replaced; evhttp answers a larger one
 * 413 and closes.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api.h"
#include "coins.h"
#include "config.h"
#include "fleet.h"
#include "job.h"
#include "listener.h"
#include "logfile.h"
#include "miner.h"
#include "policy.h"
#include "pool.h"
#include "redis.h"
#include "share.h"
#include "stratum.h"
#include "stats.h"
#include "upstream.h"
#include "workers.h"

#define API_ALL_METHODS	(EVHTTP_REQ_GET | EVHTTP_REQ_POST |		\
	EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |		\
	EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |	\
	EVHTTP_REQ_PATCH)
#define API_METRICS	"text/plain; version=0.0.4; charset=utf-8"
#define API_READ_METHODS "GET, HEAD"	/* what every route serves */
#define API_REFUSE_BATCH 32	/* connections refused per loop turn */

/*
 * A page: handler writes the answer into the buffer, or page does and
 * may refuse the request instead, answering its error itself (api_error)
 * and returning -1.
 */
struct api_route {
	const char	*path;
	void		(*handler)(struct evhttp_request *, struct evbuffer *,
			    int64_t);
	const char	*ctype;
	int		(*page)(struct evhttp_request *, struct evbuffer *,
			    int64_t) = NULL;
};

/*
 * One API connection, beside the evhttp_connection that evhttp owns: the
 * deadline of its current request and its place in the count.
 */
enum api_conn_state {
	API_CONN_NEW,		/* accepted; evhttp's connection not yet known */
	API_CONN_REQUEST,	/* waiting for, or reading, a request */
	API_CONN_REPLY,		/* the answer is being written */
	API_CONN_DEAD		/* in api_conn_close */
};

enum api_close {
	API_CLOSE_DONE,		/* evhttp closed it: peer gone, answer sent
				   with Connection: close, bad request, stop */
	API_CLOSE_TIMEOUT,	/* http.timeout passed during a request */
	API_CLOSE_IDLE,		/* ... on a kept-alive connection, idle */
	API_CLOSE_REFUSED	/* over http.max-connections */
};

struct api_conn {
	uint64_t			 id;
	enum api_conn_state		 state;
	struct bufferevent		*bev;	/* evhttp's; our ref while NEW */
	struct evhttp_connection	*evcon;	/* NULL while NEW or once gone */
	struct event			*timer;	/* adoption, then the deadline */
	struct evbuffer_cb_entry	*rxcb;	/* on evhttp's input buffer */
	int64_t				 since_ms;	/* the request's start */
	int64_t				 start_ms;
	unsigned			 requests;	/* answered or being so */
	int				 rx;	/* bytes since the last answer */
	int				 refuse;	/* over the cap at accept */
	void				(*held)(void *);	/* api_hold */
	void				*held_arg;
	char				 peer[80];
	TAILQ_ENTRY(api_conn)		 entry;
};

static struct evhttp		*api_http;
static struct evhttp_bound_socket *api_sock;
static char			*api_host;
static int			 api_port;
static char			 api_id[SLUICE_SESSION_LEN + 1];
static char			 api_worker_id[256];
static TAILQ_HEAD(, api_conn)	 api_conns = TAILQ_HEAD_INITIALIZER(api_conns);
static size_t			 api_nconns;
static uint64_t			 api_next_id = 1;
static struct event		*api_refuse_ev;	/* on api_sock while full */
static struct event		*api_resume_ev;	/* ends an EMFILE pause */
static int			 api_paused;
static int			 api_full;
static int			 api_in_request;	/* in apiconfig_request */
static struct api_conn		*api_answering;	/* its connection */
static int			 api_stop_pending;	/* see api_reload */
static struct api_conn		*api_stop_conn;	/* ... waits for its answer */

static struct bufferevent *api_conn_new(struct event_base *, void *);
static void	 api_conn_timer(evutil_socket_t, short, void *);
static void	 api_conn_adopt(struct api_conn *);
static void	 api_conn_arm(struct api_conn *);
static void	 api_conn_lost(struct evhttp_connection *, void *);
static void	 api_conn_rx(struct evbuffer *, const struct evbuffer_cb_info *,
		     void *);
static int	 api_conn_idle(struct api_conn *);
static void	 api_conn_unhook(struct api_conn *, struct evhttp_connection *);
static void	 api_conn_done(struct evhttp_request *, void *);
static void	 api_conn_set_state(struct api_conn *, enum api_conn_state);
static const char *api_conn_state_text(enum api_conn_state);
static const char *api_close_text(enum api_close);
static void	 api_conn_close(struct api_conn *, enum api_close);
static struct api_conn *api_conn_find(struct evhttp_connection *);
static void	 api_accept_update(void);
static void	 api_accept_pause(void);
static void	 api_accept_resume(evutil_socket_t, short, void *);
static void	 api_accept_error(struct evconnlistener *, void *);
static void	 api_refuse(evutil_socket_t, short, void *);
static void	 api_refuse_stop(void);
static void	 api_stop_later(void);
static void	 api_stop_deferred(evutil_socket_t, short, void *);
static void	 api_sock_setup(void);
static void	 api_request(struct evhttp_request *, void *);
static int	 api_preflight(struct evhttp_request *, const char *);
static int	 api_bind(const char *, int);
static void	 api_unbind(void);
static void	 api_summary(struct evhttp_request *, struct evbuffer *,
		     int64_t);
static void	 api_workers(struct evhttp_request *, struct evbuffer *,
		     int64_t);
static void	 api_miners(struct evhttp_request *, struct evbuffer *,
		     int64_t);
static void	 api_coins(struct evhttp_request *, struct evbuffer *,
		     int64_t);
static void	 api_upstreams(struct evhttp_request *, struct evbuffer *,
		     int64_t);
static void	 api_fleet(struct evhttp_request *, struct evbuffer *,
		     int64_t);
static void	 api_metrics(struct evhttp_request *, struct evbuffer *,
		     int64_t);
static void	 api_add_json(struct evbuffer *, json_t *);
static json_t	*api_int(uint64_t);
static double	 api_khs(double);
static json_t	*api_resources(void);
static json_t	*api_object(json_t *, const char *);
static void	 api_counters(json_t *);
static void	 api_sluice(json_t *, int64_t);
static const char *api_method_text(enum evhttp_cmd_type);
static const char *api_algo(void);
static void	 api_upstream_row(const struct upstream_view *, void *);
static void	 api_algo_of(const struct upstream_view *, void *);

static const struct api_route api_routes[] = {
	{ "/1/summary", api_summary, API_JSON },
	{ "/2/summary", api_summary, API_JSON },
	{ "/api.json", api_summary, API_JSON },
	{ "/1/workers", api_workers, API_JSON },
	{ "/1/miners", api_miners, API_JSON },
	{ "/1/upstreams", api_upstreams, API_JSON },
	{ "/1/coins", api_coins, API_JSON },
	{ "/1/fleet", api_fleet, API_JSON },
	{ "/1/history", NULL, API_JSON, histapi_history },
	{ "/1/history/workers", NULL, API_JSON, histapi_workers },
	{ "/metrics", api_metrics, API_METRICS },
};

/* Start the API server if the config enables it; -1 if it cannot bind. */
int
api_start(struct config *c)
{
	stratum_random_hex(api_id, SLUICE_SESSION_LEN);
	if (gethostname(api_worker_id, sizeof api_worker_id) != 0)
		xstrlcpy(api_worker_id, "sluice", sizeof api_worker_id);
	api_worker_id[sizeof api_worker_id - 1] = '\0';
	if (!c->http.enabled || c->http.port == 0)
		return 0;
	if (api_bind(c->http.host, c->http.port) != 0) {
		log_warnx("http: cannot listen on %s:%d: %s", c->http.host,
		    c->http.port, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	return 0;
}

/*
 * Listen on host:port. A new socket is bound before the old one goes, so
 * a failed rebind keeps the API where it was; if the new address overlaps
 * the old one the old socket is let go first and, should the new bind
 * still fail, taken back.
 */
static int
api_bind(const char *host, int port)
{
	struct evhttp_bound_socket	*sock;

	if (api_http == NULL) {
		if ((api_http = evhttp_new(sl.base)) == NULL)
			return -1;
		evhttp_set_allowed_methods(api_http, API_ALL_METHODS);
		evhttp_set_max_headers_size(api_http, 8192);
		evhttp_set_max_body_size(api_http, API_BODY_MAX);
		/*
		 * No evhttp_set_timeout(): its timeout restarts at every
		 * byte read or written. The deadline of api_conn_arm()
		 * does not, and covers idle keep-alive connections too.
		 */
		evhttp_set_bevcb(api_http, api_conn_new, NULL);
		evhttp_set_gencb(api_http, api_request, NULL);
	}
	sock = evhttp_bind_socket_with_handle(api_http, host, (uint16_t)port);
	if (sock == NULL && api_sock != NULL) {
		api_refuse_stop();
		evhttp_del_accept_socket(api_http, api_sock);
		api_sock = NULL;
		sock = evhttp_bind_socket_with_handle(api_http, host,
		    (uint16_t)port);
		if (sock == NULL && api_host != NULL) {
			api_sock = evhttp_bind_socket_with_handle(api_http,
			    api_host, (uint16_t)api_port);
			if (api_sock != NULL)
				api_sock_setup();
		}
	}
	if (sock == NULL) {
		if (api_sock == NULL)
			api_unbind();
		return -1;
	}
	if (api_sock != NULL) {
		api_refuse_stop();
		evhttp_del_accept_socket(api_http, api_sock);
	}
	api_sock = sock;
	api_sock_setup();
	free(api_host);
	api_host = xstrdup(host);
	api_port = port;
	log_info("type=api status=listening addr=%s:%d", host, port);
	return 0;
}

/* A new listening socket: pause on EMFILE, and apply the cap. */
static void
api_sock_setup(void)
{
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(api_sock),
	    api_accept_error);
	api_accept_update();
}

/*
 * Close the API server and every connection it has. The refusing event
 * goes before evhttp closes the socket it watches.
 */
static void
api_unbind(void)
{
	struct api_conn	*ac;

	api_refuse_stop();
	if (api_resume_ev != NULL)
		event_free(api_resume_ev);
	api_resume_ev = NULL;
	api_paused = 0;
	api_sock = NULL;
	/* Each adopted connection ends in api_conn_lost(). */
	if (api_http != NULL)
		evhttp_free(api_http);
	api_http = NULL;
	/* Those not adopted yet: evhttp has dropped their bufferevents. */
	while ((ac = TAILQ_FIRST(&api_conns)) != NULL)
		api_conn_close(ac, API_CLOSE_DONE);
	api_full = 0;
	free(api_host);
	api_host = NULL;
	api_port = 0;
}

/*
 * Apply a reloaded config: enable, disable, or move the server; the
 * deadlines of open connections and the cap follow the new values.
 */
void
api_reload(struct config *c)
{
	struct api_conn	*ac;
	int		 want = c->http.enabled && c->http.port != 0;

	api_stop_pending = 0;
	api_stop_conn = NULL;
	if (!want) {
		/*
		 * A PUT of /1/config that turns the API off applies it from
		 * inside api_request(): evhttp_free() would free the request
		 * being answered. The stop waits for that answer to be
		 * written (api_conn_done), or its connection to go.
		 */
		if (api_http != NULL && api_in_request) {
			api_stop_pending = 1;
			if ((api_stop_conn = api_answering) == NULL)
				api_stop_later();
			return;
		}
		if (api_http != NULL) {
			api_unbind();
			log_info("type=api status=stopped");
		}
		return;
	}
	TAILQ_FOREACH(ac, &api_conns, entry) {
		if (ac->state != API_CONN_NEW)
			api_conn_arm(ac);
	}
	if (api_sock != NULL && api_port == c->http.port &&
	    strcmp(api_host, c->http.host) == 0) {
		api_accept_update();
		return;
	}
	if (api_bind(c->http.host, c->http.port) != 0)
		log_warnx("http: cannot listen on %s:%d: %s%s", c->http.host,
		    c->http.port, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()), api_sock != NULL ?
		    "; still on the old address" : "");
}

/* Stop the API server. */
void
api_stop(void)
{
	capapi_stop();
	api_stop_pending = 0;
	api_stop_conn = NULL;
	api_unbind();
}

/*
 * The answer that asked for the stop is written, or its connection is
 * gone: stop on the next loop turn, out of evhttp's callbacks.
 */
static void
api_stop_later(void)
{
	struct timeval	 tv = { 0, 0 };

	api_stop_conn = NULL;
	if (api_stop_pending &&
	    event_base_once(sl.base, -1, EV_TIMEOUT, api_stop_deferred, NULL,
	    &tv) != 0)
		fatalx("%s: out of memory", __func__);
}

/* The deferred stop of api_reload(), unless a reload has undone it. */
static void
api_stop_deferred(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!api_stop_pending || api_http == NULL)
		return;
	api_stop_pending = 0;
	api_unbind();
	log_info("type=api status=stopped");
}

/*
 * evhttp accepted a connection and wants a bufferevent for it: make one
 * and start tracking the connection.
 *
 * libevent 2.1 has no callback for a new connection (evhttp_set_newreqcb
 * is 2.2), and this one runs before evhttp makes its evhttp_connection.
 * So the connection is adopted a moment later, still in this loop turn:
 * the timer is made active now, and api_conn_adopt() finds the
 * connection as the argument evhttp gave the bufferevent's callbacks.
 * Until then a reference keeps the bufferevent from being freed under
 * us, should evhttp drop the connection first (bufferevent_free() clears
 * the callbacks, which is how api_conn_adopt() notices).
 */
static struct bufferevent *
api_conn_new(struct event_base *base, void *arg)
{
	struct api_conn	*ac;

	(void)arg;
	ac = XCALLOC(struct api_conn, 1);
	ac->id = api_next_id++;
	ac->state = API_CONN_NEW;
	ac->start_ms = ac->since_ms = stats_clock_ms();
	xstrlcpy(ac->peer, "?", sizeof ac->peer);
	if ((ac->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (ac->timer = evtimer_new(base, api_conn_timer, ac)) == NULL)
		fatalx("%s: out of memory", __func__);
	bufferevent_incref(ac->bev);
	/* Normally unreachable: the listener is off while full. */
	ac->refuse = api_nconns >= (size_t)sl.conf->http.max_connections;
	TAILQ_INSERT_TAIL(&api_conns, ac, entry);
	api_nconns++;
	sl_stats.http_connections = api_nconns;
	event_active(ac->timer, EV_TIMEOUT, 1);
	/* Full now: evhttp's accept loop stops after this connection. */
	api_accept_update();
	return ac->bev;
}

/*
 * The connection's timer: adopt it if new, else its deadline passed, in
 * the middle of a request (a timeout) or between two (idle).
 */
static void
api_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct api_conn	*ac = (struct api_conn *)arg;

	(void)fd;
	(void)what;
	if (ac->state == API_CONN_NEW)
		api_conn_adopt(ac);
	else
		api_conn_close(ac, api_conn_idle(ac) ? API_CLOSE_IDLE :
		    API_CLOSE_TIMEOUT);
}

/* Find evhttp's connection, hook its close, and arm the deadline. */
static void
api_conn_adopt(struct api_conn *ac)
{
	struct evhttp_connection	*evcon;
	void				*cbarg = NULL;
	char				*addr = NULL;
	ev_uint16_t			 port = 0;

	bufferevent_getcb(ac->bev, NULL, NULL, NULL, &cbarg);
	evcon = (struct evhttp_connection *)cbarg;
	if (evcon == NULL || evhttp_connection_get_bufferevent(evcon) !=
	    ac->bev) {
		/* evhttp has let go of it already. */
		api_conn_close(ac, API_CLOSE_DONE);
		return;
	}
	bufferevent_decref(ac->bev);	/* evhttp's own reference remains */
	ac->bev = NULL;
	ac->evcon = evcon;
	evhttp_connection_set_closecb(evcon, api_conn_lost, ac);
	if ((ac->rxcb = evbuffer_add_cb(bufferevent_get_input(
	    evhttp_connection_get_bufferevent(evcon)), api_conn_rx,
	    ac)) == NULL)
		fatalx("%s: out of memory", __func__);
	/* The switch API and /1/config take larger bodies. */
	if (sl.conf->sw.user != NULL || apiconfig_allowed(sl.conf))
		evhttp_connection_set_max_body_size(evcon, SWITCHAPI_BODY_MAX >
		    APICONFIG_BODY_MAX ? SWITCHAPI_BODY_MAX : APICONFIG_BODY_MAX);
	evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(ac->peer, sizeof ac->peer, "%s:%u", addr != NULL ? addr :
	    "?", (unsigned)port);
	if (ac->refuse) {
		api_conn_close(ac, API_CLOSE_REFUSED);
		return;
	}
	log_debug("type=api_connect id=%llu peer=%s connections=%zu",
	    (unsigned long long)ac->id, ac->peer, api_nconns);
	api_conn_set_state(ac, API_CONN_REQUEST);
	api_conn_arm(ac);
}

/*
 * (Re)arm the deadline: http.timeout seconds from the start of the
 * current request, which is the connection's start or the end of the
 * previous answer. Already past (a reload shortened it), it fires now.
 */
static void
api_conn_arm(struct api_conn *ac)
{
	struct timeval	 tv;
	int64_t		 left;

	left = ac->since_ms + (int64_t)sl.conf->http.timeout * 1000 -
	    stats_clock_ms();
	if (left < 0)
		left = 0;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	evtimer_add(ac->timer, &tv);
}

/*
 * evhttp is freeing the connection (peer gone, Connection: close, bad
 * request, evhttp_free): forget it. Runs inside evhttp, which frees the
 * evhttp_connection itself afterwards.
 */
static void
api_conn_lost(struct evhttp_connection *evcon, void *arg)
{
	struct api_conn	*ac = (struct api_conn *)arg;

	api_conn_unhook(ac, evcon);
	ac->evcon = NULL;
	api_conn_close(ac, API_CLOSE_DONE);
}

/* Bytes came in: the connection is not idle. */
static void
api_conn_rx(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct api_conn	*ac = (struct api_conn *)arg;

	(void)b;
	if (info->n_added > 0)
		ac->rx = 1;
}

/*
 * Is the connection idle between two requests: something answered, and
 * not one byte of a next request since? Only then is its deadline not a
 * timeout: a keep-alive client that goes quiet is no fault.
 */
static int
api_conn_idle(struct api_conn *ac)
{
	return ac->state == API_CONN_REQUEST && ac->requests > 0 && !ac->rx &&
	    ac->evcon != NULL && evbuffer_get_length(bufferevent_get_input(
	    evhttp_connection_get_bufferevent(ac->evcon))) == 0;
}

/* Take our callbacks off evhttp's connection, which is going away. */
static void
api_conn_unhook(struct api_conn *ac, struct evhttp_connection *evcon)
{
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	if (ac->rxcb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(
		    evhttp_connection_get_bufferevent(evcon)), ac->rxcb);
	ac->rxcb = NULL;
}

/*
 * The answer is written: the next request's time starts now, with what
 * a pipelining client has already sent of it.
 */
static void
api_conn_done(struct evhttp_request *req, void *arg)
{
	struct api_conn	*ac = (struct api_conn *)arg;

	(void)req;
	ac->since_ms = stats_clock_ms();
	ac->rx = ac->evcon != NULL && evbuffer_get_length(
	    bufferevent_get_input(evhttp_connection_get_bufferevent(
	    ac->evcon))) > 0;
	api_conn_set_state(ac, API_CONN_REQUEST);
	api_conn_arm(ac);
	if (api_stop_pending && ac == api_stop_conn)
		api_stop_later();
}

/* Name of a connection state, for the log. */
static const char *
api_conn_state_text(enum api_conn_state st)
{
	switch (st) {
	case API_CONN_NEW:
		return "new";
	case API_CONN_REQUEST:
		return "request";
	case API_CONN_REPLY:
		return "reply";
	case API_CONN_DEAD:
		return "dead";
	}
	return "?";
}

/* Name of a close reason, for the log. */
static const char *
api_close_text(enum api_close why)
{
	switch (why) {
	case API_CLOSE_DONE:
		return "closed";
	case API_CLOSE_TIMEOUT:
		return "timeout";
	case API_CLOSE_IDLE:
		return "idle";
	case API_CLOSE_REFUSED:
		return "refused";
	}
	return "?";
}

/* Change a connection's state; logged at -vv. */
static void
api_conn_set_state(struct api_conn *ac, enum api_conn_state st)
{
	if (ac->state == st)
		return;
	log_debug2("api: connection %llu: %s -> %s",
	    (unsigned long long)ac->id, api_conn_state_text(ac->state),
	    api_conn_state_text(st));
	ac->state = st;
}

/*
 * The one end of a connection: count it, log one line, close evhttp's
 * connection if it is still open, free ours, and accept again if that
 * makes room. evhttp's connection is freed here only from the timer's
 * callback (never from inside evhttp); from api_conn_lost() it is
 * already NULL.
 */
static void
api_conn_close(struct api_conn *ac, enum api_close why)
{
	struct evhttp_connection	*evcon = ac->evcon;

	if (ac->state == API_CONN_DEAD)
		return;
	api_conn_set_state(ac, API_CONN_DEAD);
	/* A held answer's owner lets go of the request, which goes too. */
	if (ac->held != NULL) {
		ac->held(ac->held_arg);
		ac->held = NULL;
	}
	if (why == API_CLOSE_TIMEOUT)
		sl_stats.http_timeouts++;
	else if (why == API_CLOSE_REFUSED)
		sl_stats.http_refused++;
	TAILQ_REMOVE(&api_conns, ac, entry);
	api_nconns--;
	sl_stats.http_connections = api_nconns;
	log_debug("type=api_close id=%llu peer=%s reason=%s requests=%u "
	    "ms=%lld connections=%zu", (unsigned long long)ac->id, ac->peer,
	    api_close_text(why), ac->requests,
	    (long long)(stats_clock_ms() - ac->start_ms), api_nconns);
	ac->evcon = NULL;
	if (evcon != NULL) {
		api_conn_unhook(ac, evcon);
		evhttp_connection_free(evcon);
	}
	if (ac->bev != NULL)
		bufferevent_decref(ac->bev);
	event_free(ac->timer);
	api_accept_update();
	if (api_stop_pending && ac == api_stop_conn)
		api_stop_later();
	free(ac);
}

/*
 * An answer that stays open (the capture's live feed): its connection
 * has no deadline until api_unhold(). gone(arg) is called if the
 * connection goes first; the request is freed with it. 0, or -1 if the
 * connection is not one of ours.
 */
int
api_hold(struct evhttp_request *req, void (*gone)(void *), void *arg)
{
	struct evhttp_connection	*evcon;
	struct api_conn			*ac;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (ac = api_conn_find(evcon)) == NULL)
		return -1;
	evtimer_del(ac->timer);
	ac->held = gone;
	ac->held_arg = arg;
	return 0;
}

/*
 * A held answer is ending: the connection's deadline runs again from
 * now, so a reader that never takes the rest is closed after
 * http.timeout seconds.
 */
void
api_unhold(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct api_conn			*ac;

	if ((evcon = evhttp_request_get_connection(req)) == NULL ||
	    (ac = api_conn_find(evcon)) == NULL)
		return;
	ac->held = NULL;
	ac->held_arg = NULL;
	ac->since_ms = stats_clock_ms();
	api_conn_arm(ac);
}

/* Our record of evhttp's connection, or NULL. At most max-connections. */
static struct api_conn *
api_conn_find(struct evhttp_connection *evcon)
{
	struct api_conn	*ac;

	TAILQ_FOREACH(ac, &api_conns, entry) {
		if (ac->evcon == evcon)
			return ac;
	}
	return NULL;
}

/*
 * Accept through evhttp while below http.max-connections; at the cap,
 * accept and close at once (api_refuse) instead, which costs no memory
 * and holds a descriptor only for the length of a close. Neither during
 * an EMFILE pause.
 */
static void
api_accept_update(void)
{
	struct evconnlistener	*l;
	int			 full;

	if (api_sock == NULL)
		return;
	full = api_nconns >= (size_t)sl.conf->http.max_connections;
	l = evhttp_bound_socket_get_listener(api_sock);
	if (full || api_paused)
		evconnlistener_disable(l);
	else
		evconnlistener_enable(l);
	if (full && !api_paused) {
		if (api_refuse_ev == NULL &&
		    (api_refuse_ev = event_new(sl.base,
		    evhttp_bound_socket_get_fd(api_sock), EV_READ | EV_PERSIST,
		    api_refuse, NULL)) == NULL)
			fatalx("%s: out of memory", __func__);
		event_add(api_refuse_ev, NULL);
	} else if (api_refuse_ev != NULL)
		event_del(api_refuse_ev);
	if (full != api_full) {
		api_full = full;
		log_debug("type=api status=%s connections=%zu max=%d",
		    full ? "full" : "accepting", api_nconns,
		    sl.conf->http.max_connections);
	}
}

/* Free the refusing event (before its socket is closed). */
static void
api_refuse_stop(void)
{
	if (api_refuse_ev != NULL)
		event_free(api_refuse_ev);
	api_refuse_ev = NULL;
}

/* The API is full: close new connections at once, a batch a turn. */
static void
api_refuse(evutil_socket_t fd, short what, void *arg)
{
	int	 s, i;

	(void)what;
	(void)arg;
	for (i = 0; i < API_REFUSE_BATCH; i++) {
		if ((s = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				api_accept_pause();
			return;
		}
		close(s);
		sl_stats.http_refused++;
		log_debug("type=api_refused connections=%zu max=%d",
		    api_nconns, sl.conf->http.max_connections);
	}
}

/* accept(2) failed in evhttp's listener: pause on EMFILE, else log. */
static void
api_accept_error(struct evconnlistener *l, void *arg)
{
	int	 err = EVUTIL_SOCKET_ERROR();

	(void)l;
	(void)arg;
	if (listener_out_of_files(err))
		api_accept_pause();
	else
		log_debug("api: accept: %s", evutil_socket_error_to_string(err));
}

/* Out of descriptors: stop accepting for a second rather than spin. */
static void
api_accept_pause(void)
{
	struct timeval	 tv = { 1, 0 };

	if (api_paused)
		return;
	if (api_resume_ev == NULL &&
	    (api_resume_ev = evtimer_new(sl.base, api_accept_resume,
	    NULL)) == NULL)
		fatalx("%s: out of memory", __func__);
	api_paused = 1;
	evtimer_add(api_resume_ev, &tv);
	log_warnx("type=api status=accept_paused reason=\"out of file "
	    "descriptors\"");
	api_accept_update();
}

/* The pause is over: accept again. */
static void
api_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	api_paused = 0;
	log_info("type=api status=accept_resumed");
	api_accept_update();
}

/* Name of a method, for the debug log. */
static const char *
api_method_text(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "?";
}

/*
 * Do the presented bytes equal the configured secret (the token, the
 * switch API's user:password)? Constant time.
 */
int
api_secret_ok(const void *given, size_t len, const char *want)
{
	unsigned char	 a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
	unsigned int	 alen = 0, blen = 0;

	/* Hash both so neither the contents nor the length leak. */
	if (!EVP_Digest(given, len, a, &alen, EVP_sha256(), NULL) ||
	    !EVP_Digest(want, strlen(want), b, &blen, EVP_sha256(), NULL) ||
	    alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

/* Send a reply with a body and its content type. */
void
api_reply(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *body, const char *ctype)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	char			 len[32];

	/*
	 * Always give the length. libevent 2.1 leaves it out of an answer
	 * to CONNECT (always an error here), which it keeps open whatever
	 * the client asked (it takes any answer for a tunnel), and out of
	 * one to HTTP/0.x, which it keeps open on "Connection: keep-alive":
	 * the client could not tell where the answer ends and the next one
	 * begins. evhttp adds none of its own when one is there.
	 */
	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	snprintf(len, sizeof len, "%zu", evbuffer_get_length(body));
	evhttp_add_header(h, "Content-Length", len);
	/* libevent 2.1 would send a body to HEAD; give its length only. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		evhttp_send_reply(req, code, reason, NULL);
		return;
	}
	evhttp_send_reply(req, code, reason, body);
}

/* Send {"status": code, "error": message} with an HTTP error code. */
void
api_error(struct evhttp_request *req, int code, const char *reason,
    const char *message)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "{\"status\":%d,\"error\":", code);
	api_str(b, message);
	evbuffer_add_printf(b, "}\n");
	api_reply(req, code, reason, b, API_JSON);
	evbuffer_free(b);
}

/* The peer's address, "ip:port", for the log. */
const char *
api_peer(struct evhttp_request *req, char *buf, size_t len)
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

/* Call cb with each endpoint's path (for /dashboard.json). */
void
api_foreach_path(void (*cb)(const char *, void *), void *arg)
{
	size_t	 i;

	for (i = 0; i < sizeof api_routes / sizeof api_routes[0]; i++)
		cb(api_routes[i].path, arg);
	cb(CAPAPI_PATH, arg);
	cb(CAPAPI_STREAM_PATH, arg);
}

/*
 * An OPTIONS of path: a CORS preflight if path is an endpoint and CORS
 * is on (answered, 1); else 0, and the gate goes on (a 401, 403 or 405).
 */
static int
api_preflight(struct evhttp_request *req, const char *path)
{
	size_t	 i;

	if (strcmp(path, APICONFIG_PATH) == 0)
		return cors_preflight(req, apiconfig_methods());
	if (capapi_match(path))
		return cors_preflight(req, strcmp(path, CAPAPI_PATH) == 0 ?
		    "GET, HEAD, POST, DELETE" : "GET");
	for (i = 0; i < sizeof api_routes / sizeof api_routes[0]; i++) {
		if (strcmp(api_routes[i].path, path) == 0)
			return cors_preflight(req, API_READ_METHODS);
	}
	return 0;
}

/* Every request: the gate (token, restricted, path, method), then the page. */
static void
api_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 method = evhttp_request_get_command(req);
	const struct http_conf	*hc = &sl.conf->http;
	const struct api_route	*rt = NULL;
	struct evhttp_connection *conn;
	struct api_conn		*ac = NULL;
	const char		*path, *auth;
	char			*peer;
	ev_uint16_t		 port;
	struct evbuffer		*b;
	size_t			 i;
	int			 read_only;

	sluice_activity(ACT_API);
	(void)arg;
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	peer = NULL;
	port = 0;
	if ((conn = evhttp_request_get_connection(req)) != NULL) {
		evhttp_connection_get_peer(conn, &peer, &port);
		/* The deadline runs on until the answer is written. */
		if ((ac = api_conn_find(conn)) != NULL) {
			ac->requests++;
			api_conn_set_state(ac, API_CONN_REPLY);
			evhttp_request_set_on_complete_cb(req, api_conn_done,
			    ac);
		}
	}
	log_debug("api: %s %s from %s:%u", api_method_text(method),
	    path != NULL ? path : "?", peer != NULL ? peer : "?",
	    (unsigned)port);
	/* The switch API has its own auth; neither token nor restricted. */
	if (path != NULL && switchapi_match(path)) {
		switchapi_request(req, path);
		return;
	}
	read_only = method == EVHTTP_REQ_GET || method == EVHTTP_REQ_HEAD;
	if (read_only && path != NULL && hc->dashboard &&
	    dashboard_request(req, path))
		return;
	if (method == EVHTTP_REQ_OPTIONS && path != NULL &&
	    api_preflight(req, path))
		return;
	cors_headers(req);
	if (hc->access_token != NULL) {
		auth = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Authorization");
		if (auth == NULL) {
			evhttp_add_header(evhttp_request_get_output_headers(
			    req), "WWW-Authenticate", "Bearer");
			sl_stats.http_auth_failures++;
			api_error(req, 401, "Unauthorized",
			    "an access token is required");
			return;
		}
		if (strncasecmp(auth, "Bearer ", 7) != 0 ||
		    !api_secret_ok(auth + 7, strlen(auth + 7),
		    hc->access_token)) {
			sl_stats.http_auth_failures++;
			api_error(req, 403, "Forbidden", "wrong access token");
			return;
		}
	}
	if (hc->restricted && !read_only) {
		api_error(req, 403, "Forbidden",
		    "the API is restricted to GET");
		return;
	}
	if (path == NULL) {
		api_error(req, 400, "Bad Request", "bad request URI");
		return;
	}
	if (capapi_match(path)) {
		capapi_request(req, path);
		return;
	}
	if (strcmp(path, APICONFIG_PATH) == 0) {
		/* A PUT applies a reload: see api_reload. */
		api_in_request = 1;
		api_answering = ac;
		apiconfig_request(req);
		api_in_request = 0;
		api_answering = NULL;
		return;
	}
	for (i = 0; i < sizeof api_routes / sizeof api_routes[0]; i++) {
		if (strcmp(api_routes[i].path, path) == 0) {
			rt = &api_routes[i];
			break;
		}
	}
	if (rt == NULL && !(hc->dashboard && dashboard_path(path))) {
		api_error(req, 404, "Not Found", "no such endpoint");
		return;
	}
	if (!read_only) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", API_READ_METHODS);
		api_error(req, 405, "Method Not Allowed",
		    "method not allowed on this endpoint");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		api_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	if (rt->page != NULL) {
		if (rt->page(req, b, stats_clock_ms()) == 0)
			api_reply(req, HTTP_OK, "OK", b, rt->ctype);
	} else {
		rt->handler(req, b, stats_clock_ms());
		api_reply(req, HTTP_OK, "OK", b, rt->ctype);
	}
	evbuffer_free(b);
}

/* Append a jansson value, compact, and free it. */
static void
api_add_json(struct evbuffer *b, json_t *j)
{
	char	*s;

	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(j);
	if (s != NULL) {
		evbuffer_add(b, s, strlen(s));
		free(s);
	}
	evbuffer_add(b, "\n", 1);
}

/*
 * Append s as a JSON string literal (null for NULL); bytes that are not
 * UTF-8 become \ufffd, so the answer is JSON whatever s holds.
 */
void
api_str(struct evbuffer *b, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 chunk[256];
	size_t			 o = 0, n;
	unsigned char		 c;

	if (s == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	chunk[o++] = '"';
	for (; *s != '\0'; s++) {
		if (o + 8 > sizeof chunk) {
			evbuffer_add(b, chunk, o);
			o = 0;
		}
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			chunk[o++] = '\\';
			chunk[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(chunk + o, "\\u00", 4);
			o += 4;
			chunk[o++] = hex[c >> 4];
			chunk[o++] = hex[c & 0xf];
		} else if (c < 0x80)
			chunk[o++] = (char)c;
		else if ((n = stratum_utf8_len((const unsigned char *)s)) ==
		    0) {
			/* Not UTF-8 (a query's bytes, a miner's name). */
			memcpy(chunk + o, "\\ufffd", 6);
			o += 6;
		} else {
			memcpy(chunk + o, s, n);
			o += n;
			s += n - 1;
		}
	}
	chunk[o++] = '"';
	evbuffer_add(b, chunk, o);
}

/* A counter as a JSON integer (jansson's are signed). */
static json_t *
api_int(uint64_t v)
{
	return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* H/s to kH/s, rounded to two decimals as xmrig-proxy does. */
static double
api_khs(double hs)
{
	return floor(hs / 1000.0 * 100.0 + 0.5) / 100.0;
}

/* Host memory, load and CPUs, as xmrig-proxy's "resources". */
static json_t *
api_resources(void)
{
	json_t		*r, *mem, *load;
	FILE		*f;
	char		 line[256];
	unsigned long long v, total = 0, avail = 0, pages, rss = 0;
	double		 la[3] = { 0, 0, 0 };
	int		 i;

	if ((f = fopen("/proc/meminfo", "re")) != NULL) {
		while (fgets(line, sizeof line, f) != NULL) {
			if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
				total = v * 1024;
			else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
				avail = v * 1024;
		}
		fclose(f);
	}
	if ((f = fopen("/proc/self/statm", "re")) != NULL) {
		if (fscanf(f, "%llu %llu", &v, &pages) == 2)
			rss = pages * (unsigned long long)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	if (getloadavg(la, 3) != 3)
		la[0] = la[1] = la[2] = 0;
	mem = json_object();
	json_object_set_new(mem, "free", api_int(avail));
	json_object_set_new(mem, "total", api_int(total));
	json_object_set_new(mem, "resident_set_memory", api_int(rss));
	load = json_array();
	for (i = 0; i < 3; i++)
		json_array_append_new(load, json_real(floor(la[i] * 100 + 0.5) /
		    100));
	r = json_object();
	json_object_set_new(r, "memory", mem);
	json_object_set_new(r, "load_average", load);
	json_object_set_new(r, "hardware_concurrency",
	    json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	return r;
}

/*
 * The object at a dotted path under o ("sluice.reloads"), made if it is
 * missing. Path parts are short names from the counter table.
 */
static json_t *
api_object(json_t *o, const char *path)
{
	char		 part[64];
	json_t		*x;
	size_t		 len;

	for (;;) {
		len = strcspn(path, ".");
		if (len >= sizeof part)
			len = sizeof part - 1;
		memcpy(part, path, len);
		part[len] = '\0';
		if ((x = json_object_get(o, part)) == NULL) {
			x = json_object();
			json_object_set_new(o, part, x);
		}
		o = x;
		path += strcspn(path, ".");
		if (*path == '\0')
			return o;
		path++;
	}
}

/* Every counter of the counter table that the summary o shows. */
static void
api_counters(json_t *o)
{
	const struct stats_counter	*c;
	json_t				*x;
	size_t				 i;
	unsigned			 j;

	for (i = 0; i < stats_ncounters; i++) {
		c = &stats_counters[i];
		if (c->json == NULL)
			continue;	/* in /metrics only */
		x = api_object(o, c->json);
		for (j = 0; j < stats_counter_len(c); j++)
			json_object_set_new(x, stats_counter_key(c, j),
			    api_int(stats_counter_value(c, j)));
	}
}

/*
 * sluice's own totals beyond xmrig-proxy's shape, added to o (the
 * "sluice" object) after the counters of the table.
 */
static void
api_sluice(json_t *o, int64_t now_ms)
{
	json_t		*x, *y;
	int		 i;

	json_object_set_new(o, "connections_open", api_int(miner_count()));

	x = json_object();
	for (i = POOL_FAIL_NONE + 1; i < POOL_FAIL_MAX; i++)
		json_object_set_new(x, pool_fail_text((enum pool_fail)i),
		    api_int(pool_fail_counts[i]));
	json_object_set_new(o, "pool_failures", x);

	x = json_array();
	for (i = 0; i < STATS_NWINDOWS; i++)
		json_array_append_new(x, json_real(floor(stats_hashrate(
		    (enum stats_window)i, now_ms) * 100 + 0.5) / 100));
	json_object_set_new(o, "hashrate_hs", x);
	json_object_set_new(o, "latency_ms",
	    api_int(stats_latency_median()));

	x = api_object(o, "workers");
	json_object_set_new(x, "tracked", api_int(workers_count()));
	json_object_set_new(x, "max", json_integer(sl.conf->workers_max));
	json_object_set_new(x, "memory_bytes", api_int(workers_memory()));

	x = json_object();
	for (i = 0; i < LOGFILE_MAX; i++) {
		y = json_object();
		json_object_set_new(y, "lines",
		    api_int(logfile_lines((enum logfile_kind)i)));
		json_object_set_new(y, "errors",
		    api_int(logfile_errors((enum logfile_kind)i)));
		json_object_set_new(y, "dropped",
		    api_int(logfile_dropped((enum logfile_kind)i)));
		json_object_set_new(x, i == LOGFILE_ACCESS ? "access" : "share",
		    y);
	}
	json_object_set_new(o, "logs", x);
}

/* Remember the algorithm of the first upstream whose job names one. */
static void
api_algo_of(const struct upstream_view *v, void *arg)
{
	const char	**algo = (const char **)arg;

	if (*algo == NULL && v->job != NULL)
		*algo = v->job->algo;
}

/* The algorithm of the first upstream with a job, else of the first pool. */
static const char *
api_algo(void)
{
	const char	*algo = NULL;

	splitter_foreach(api_algo_of, &algo);
	if (algo == NULL && sl.conf->npools > 0)
		algo = sl.conf->pools[0].algo;
	return algo;
}

/* GET /1/summary: xmrig-proxy's summary plus "sluice". */
static void
api_summary(struct evhttp_request *req, struct evbuffer *b, int64_t now_ms)
{
	json_t		*o, *x, *y;
	uint64_t	 active, sleep, error, total, up;
	const char	*algo = api_algo();
	int		 i;

	(void)req;
	up = (uint64_t)(stats_uptime_ms(now_ms) / 1000);
	splitter_upstreams(&active, &sleep, &error, &total);
	o = json_object();
	json_object_set_new(o, "id", json_string(sl.conf->api_id != NULL ?
	    sl.conf->api_id : api_id));
	json_object_set_new(o, "worker_id", json_string(
	    sl.conf->api_worker_id != NULL ? sl.conf->api_worker_id :
	    api_worker_id));
	json_object_set_new(o, "uptime", api_int(up));
	json_object_set_new(o, "restricted",
	    json_boolean(sl.conf->http.restricted));
	json_object_set_new(o, "resources", api_resources());
	json_object_set_new(o, "features", json_pack("[sssss]", "api",
	    "http", "tls", "lua", "metrics"));
	json_object_set_new(o, "version", json_string(SLUICE_VERSION));
	json_object_set_new(o, "kind", json_string("proxy"));
	json_object_set_new(o, "algo", algo != NULL ? json_string(algo) :
	    json_null());
	json_object_set_new(o, "mode",
	    json_string(config_mode_text(sl.conf->mode)));
	json_object_set_new(o, "ua", json_string(SLUICE_AGENT));
	json_object_set_new(o, "donate_level", json_integer(0));
	json_object_set_new(o, "donated", json_integer(0));

	x = json_array();
	for (i = 0; i < STATS_NWINDOWS; i++)
		json_array_append_new(x, json_real(api_khs(stats_hashrate(
		    (enum stats_window)i, now_ms))));
	y = json_object();
	json_object_set_new(y, "total", x);
	json_object_set_new(o, "hashrate", y);

	json_object_set_new(o, "miners", json_object());
	json_object_set_new(o, "workers", api_int(workers_count()));

	x = json_object();
	json_object_set_new(x, "active", api_int(active));
	json_object_set_new(x, "sleep", api_int(sleep));
	json_object_set_new(x, "error", api_int(error));
	json_object_set_new(x, "total", api_int(total));
	json_object_set_new(x, "ratio", json_real(active > 0 ?
	    floor((double)sl_stats.miners_now / (double)active * 100 + 0.5) /
	    100 : 0));
	json_object_set_new(o, "upstreams", x);

	/*
	 * The counter table fills "miners", "results" and "sluice" where
	 * they stand; the values computed here follow its keys.
	 */
	json_object_set_new(o, "results", json_object());
	json_object_set_new(o, "sluice", json_object());
	api_counters(o);

	x = json_object_get(o, "results");
	json_object_set_new(x, "avg_time", api_int(sl_stats.accepted > 0 ?
	    up / sl_stats.accepted : 0));
	json_object_set_new(x, "latency", api_int(stats_latency_median()));
	json_object_set_new(x, "hashes_donate", json_integer(0));
	y = json_array();
	for (i = 0; i < 10; i++)
		json_array_append_new(y, api_int(sl_stats.best[i]));
	json_object_set_new(x, "best", y);

	api_sluice(json_object_get(o, "sluice"), now_ms);
	api_add_json(b, o);
}

/* GET /1/workers: one row per worker, first seen first. */
static void
api_workers(struct evhttp_request *req, struct evbuffer *b, int64_t now_ms)
{
	struct worker	*w;
	int		 i;

	(void)req;
	evbuffer_add_printf(b, "{\"mode\":");
	api_str(b, config_workers_text(sl.conf->workers));
	evbuffer_add_printf(b, ",\"hashrate\":{\"total\":[");
	for (i = 0; i < STATS_NWINDOWS; i++)
		evbuffer_add_printf(b, "%s%.2f", i > 0 ? "," : "",
		    api_khs(stats_hashrate((enum stats_window)i, now_ms)));
	evbuffer_add_printf(b, "]},\"workers\":[");
	for (w = workers_first(); w != NULL; w = workers_next(w)) {
		evbuffer_add_printf(b, "%s[", w == workers_first() ? "" : ",");
		api_str(b, w->name);
		evbuffer_add(b, ",", 1);
		api_str(b, w->ip);
		evbuffer_add_printf(b, ",%u,%llu,%llu,%llu,%llu,%lld",
		    w->connections, (unsigned long long)w->accepted,
		    (unsigned long long)w->rejected,
		    (unsigned long long)w->invalid,
		    (unsigned long long)w->rate.hashes, (long long)w->last_share_ms);
		for (i = 0; i < STATS_WALL; i++)
			evbuffer_add_printf(b, ",%.2f",
			    api_khs(workers_hashrate(w, (enum stats_window)i,
			    now_ms)));
		evbuffer_add(b, "]", 1);
	}
	evbuffer_add_printf(b, "]}\n");
}

/* GET /1/miners: one row per connection; the password is always masked. */
static void
api_miners(struct evhttp_request *req, struct evbuffer *b, int64_t now_ms)
{
	struct miner	*m;
	int		 first = 1;

	(void)req;
	(void)now_ms;
	evbuffer_add_printf(b, "{\"format\":[\"id\",\"ip\",\"tx\",\"rx\","
	    "\"state\",\"diff\",\"user\",\"password\",\"rig_id\",\"agent\","
	    "\"coin\",\"transport\"],"
	    "\"miners\":[");
	for (m = miner_first(); m != NULL; m = miner_next(m)) {
		evbuffer_add_printf(b, "%s[%llu,", first ? "" : ",",
		    (unsigned long long)m->peer.id);
		first = 0;
		api_str(b, m->peer.ip);
		evbuffer_add_printf(b, ",%llu,%llu,%d,%llu,",
		    (unsigned long long)m->tx, (unsigned long long)m->rx,
		    (int)m->state, (unsigned long long)m->diff);
		api_str(b, m->peer.user != NULL ? m->peer.user : "");
		evbuffer_add_printf(b, ",\"********\",");
		api_str(b, m->peer.rigid);
		evbuffer_add(b, ",", 1);
		api_str(b, m->peer.agent != NULL ? m->peer.agent : "");
		evbuffer_add(b, ",", 1);
		if (m->upstream != NULL)
			api_str(b, m->upstream->coin);
		else
			evbuffer_add(b, "null", 4);
		evbuffer_add_printf(b, ",\"%s\"]",
		    wire_transport_text((enum wire_transport)m->wire.transport));
	}
	evbuffer_add_printf(b, "]}\n");
}

/* One row of /1/upstreams. */
static void
api_upstream_row(const struct upstream_view *v, void *arg)
{
	json_t	*a = (json_t *)arg, *u, *slots;

	u = json_object();
	json_object_set_new(u, "id", api_int(v->id));
	json_object_set_new(u, "pool", v->pool[0] != '\0' ?
	    json_string(v->pool) : json_null());
	json_object_set_new(u, "state", json_string(v->state));
	json_object_set_new(u, "coin", json_string(v->coin));
	json_object_set_new(u, "miners", json_integer(v->miners));
	if (v->slots_free >= 0) {
		slots = json_object();
		json_object_set_new(slots, "free", json_integer(v->slots_free));
		json_object_set_new(slots, "dead", json_integer(v->slots_dead));
		json_object_set_new(slots, "active", json_integer(v->miners));
		json_object_set_new(u, "slots", slots);
	}
	json_object_set_new(u, "jobs", api_int(v->njobs));
	json_object_set_new(u, "accepted", api_int(v->ustats->accepted));
	json_object_set_new(u, "rejected", api_int(v->ustats->rejected));
	json_object_set_new(u, "latency_ms",
	    api_int(stats_upstream_latency(v->ustats)));
	json_array_append_new(a, u);
}

/* GET /1/fleet: the nodes and their totals. */
static void
api_fleet(struct evhttp_request *req, struct evbuffer *b, int64_t now_ms)
{
	(void)req;
	api_add_json(b, fleet_json(now_ms));
}

/*
 * GET /1/coins: each coin's miners, upstreams, refused moves and
 * hashrate; the size of the user->coin map and how its sources fare.
 */
static void
api_coins(struct evhttp_request *req, struct evbuffer *b, int64_t now_ms)
{
	size_t			 miners[CONFIG_MAX_COINS + 1];
	size_t			 ups[CONFIG_MAX_COINS + 1];
	const struct coin_conf	*cc;
	json_t			*o, *a, *c, *h, *pull;
	const char		*error;
	time_t			 last;
	size_t			 i;
	int			 j, ok;

	(void)req;
	coins_count(miners, ups);
	a = json_array();
	for (i = 0; i < sl.conf->ncoins; i++) {
		cc = &sl.conf->coins[i];
		c = json_object();
		json_object_set_new(c, "name", json_string(cc->name));
		json_object_set_new(c, "algo", cc->algo != NULL ?
		    json_string(cc->algo) : json_null());
		json_object_set_new(c, "default",
		    json_boolean(i == sl.conf->default_coin));
		json_object_set_new(c, "miners", api_int(miners[i]));
		json_object_set_new(c, "upstreams", api_int(ups[i]));
		json_object_set_new(c, "refused",
		    api_int(coins_refused(cc->name)));
		h = json_array();
		for (j = 0; j < STATS_NWINDOWS; j++)
			json_array_append_new(h, json_real(api_khs(
			    coins_hashrate(cc->name, (enum stats_window)j,
			    now_ms))));
		json_object_set_new(c, "hashrate", h);
		json_array_append_new(a, c);
	}
	coinpull_status(&last, &ok, &error);
	pull = json_object();
	json_object_set_new(pull, "last", api_int((uint64_t)last));
	json_object_set_new(pull, "ok", json_boolean(ok));
	json_object_set_new(pull, "error", error != NULL ?
	    json_string(error) : json_null());
	o = json_object();
	json_object_set_new(o, "coins", a);
	json_object_set_new(o, "users", api_int(coins_users()));
	json_object_set_new(o, "pull", pull);
	json_object_set_new(o, "redis", json_string(redis_state()));
	api_add_json(b, o);
}

/* GET /1/upstreams: one object per upstream, in either mode. */
static void
api_upstreams(struct evhttp_request *req, struct evbuffer *b, int64_t now_ms)
{
	json_t	*o, *a;

	(void)req;
	(void)now_ms;
	a = json_array();
	splitter_foreach(api_upstream_row, a);
	o = json_object();
	json_object_set_new(o, "mode",
	    json_string(config_mode_text(sl.conf->mode)));
	json_object_set_new(o, "upstreams", a);
	api_add_json(b, o);
}

/* GET /metrics: Prometheus text (metrics.cc). */
static void
api_metrics(struct evhttp_request *req, struct evbuffer *b, int64_t now_ms)
{
	(void)req;
	metrics_render(b, now_ms);
}
