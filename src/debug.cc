/*
 * debug.cc: the debug endpoint (debug.enabled), an evhttp of its own on
 * debug.host:debug.port, loopback unless debug.allow-remote with
 * debug.access-token (config.cc enforces it).
 *
 *	GET /debug/			an index of the pages
 *	GET /debug/loop			the event loop's turn times and its
 *					longest stalls, with what ran in them
 *	GET /debug/events		libevent's dump of its events
 *	GET /debug/memory		RSS, malloc's figures, per subsystem
 *	GET /debug/connections		every miner and upstream
 *	GET /debug/profile?seconds=N	a CPU profile (gperftools, pprof
 *					format), one at a time
 *
 * Turn times: libevent 2.1 has no prepare and check watchers (evwatch
 * came in 2.2), so the main callbacks count themselves in sluice_act[]
 * (sluice.h), and while the endpoint is on, the first of a turn notes
 * the time and makes an end-of-turn event active (sluice_act_ev). libevent
 * appends it to its active queue, behind every callback this turn's poll
 * and timers made active, so it runs when they are done: a turn's time is
 * from the first named callback to there (monotonic clock). A callback
 * made active during the turn (a deferred one, the next turn's) falls
 * after it. Off, the counting is one increment per callback.
 *
 * Each page is written at once into its reply, within the turn that asked:
 * /debug/connections and /debug/events are streamed into the buffer, one
 * line per connection or event, with no work beyond that. A profile is
 * the exception: its reply waits on a timer, the loop runs meanwhile.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <gperftools/profiler.h>

#include "api.h"
#include "capture.h"
#include "config.h"
#include "debug.h"
#include "history.h"
#include "miner.h"
#include "policy.h"
#include "pool.h"
#include "stats.h"
#include "upstream.h"
#include "workers.h"

#define DEBUG_STALLS		16	/* the longest turns kept */
#define DEBUG_TIMEOUT		90	/* s: a request, or a profile's wait */
#define DEBUG_PROFILE_MAX	60	/* s: the longest profile */
#define DEBUG_PROFILE_DEFAULT	30
#define DEBUG_EVENTS_MAX	(8 << 20)	/* bytes of /debug/events */
#define DEBUG_MALLOC_INFO_MAX	(64 << 10)	/* bytes of malloc_info() */
#define DEBUG_TEXT		"text/plain; charset=utf-8"
#define DEBUG_HTML		"text/html; charset=utf-8"
#define DEBUG_PROF		"application/octet-stream"

/* A turn's time in these bounds (us), the last one unbounded. */
static const int64_t debug_bounds[] = {
	10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000,
	100000, 200000, 500000, 1000000, 2000000
};
#define DEBUG_NBOUNDS	(sizeof debug_bounds / sizeof debug_bounds[0])

/* One long turn: when it ended, how long it took, what ran in it. */
struct debug_stall {
	int64_t		 at_ms;		/* wall clock */
	int64_t		 us;
	uint32_t	 act[ACT_MAX];
};

/* What the loop has done since the endpoint went on. */
static struct {
	int64_t		 since_ms;
	uint64_t	 turns;		/* timed turns */
	uint64_t	 busy_us;
	int64_t		 max_us;
	uint64_t	 hist[DEBUG_NBOUNDS + 1];
	uint64_t	 act[ACT_MAX];
	struct debug_stall stalls[DEBUG_STALLS];
	size_t		 nstalls;
	size_t		 shortest;	/* index of the shortest kept */
} dl;

/* The profile under way: its request, timer and file. */
static struct {
	struct evhttp_request	*req;	/* NULL: none under way */
	struct event		*timer;
	char			 path[128];
	int			 seconds;
} prof;

/* A page: writes its answer, or answers an error itself (-1). */
struct debug_page {
	const char	*path;
	const char	*ctype;
	int		(*fn)(struct evhttp_request *, struct evbuffer *);
	const char	*what;		/* a line of the index */
};

static struct evhttp		*debug_http;
static struct evhttp_bound_socket *debug_sock;
static char			*debug_host;
static int			 debug_port;

static int	 debug_bind(const char *, int);
static void	 debug_unbind(void);
static void	 debug_watch(int);
static void	 debug_turn(evutil_socket_t, short, void *);
static void	 debug_request(struct evhttp_request *, void *);
static int	 debug_index(struct evhttp_request *, struct evbuffer *);
static int	 debug_loop(struct evhttp_request *, struct evbuffer *);
static int	 debug_events(struct evhttp_request *, struct evbuffer *);
static int	 debug_memory(struct evhttp_request *, struct evbuffer *);
static int	 debug_conns(struct evhttp_request *, struct evbuffer *);
static int	 debug_profile(struct evhttp_request *, struct evbuffer *);
static void	 debug_profile_done(evutil_socket_t, short, void *);
static void	 debug_profile_abort(void);
static void	 debug_acts(struct evbuffer *, const uint32_t *);

static const struct debug_page debug_pages[] = {
	{ "/debug/", DEBUG_HTML, debug_index, "this index" },
	{ "/debug/loop", API_JSON, debug_loop, "the event loop's turn "
	    "times (histogram) and its longest turns, with what ran" },
	{ "/debug/events", DEBUG_TEXT, debug_events,
	    "libevent's dump of every event it has" },
	{ "/debug/memory", API_JSON, debug_memory, "RSS, malloc statistics, "
	    "and memory per subsystem" },
	{ "/debug/connections", API_JSON, debug_conns, "every miner and "
	    "upstream: state, buffered bytes, age, last activity" },
	{ "/debug/profile", DEBUG_PROF, debug_profile, "?seconds=N (1 to 60, "
	    "default 30): a CPU profile for google-pprof" },
};

/* Start the endpoint if the config enables it; -1 if it cannot bind. */
int
debug_start(struct config *c)
{
	if (!c->debug.enabled)
		return 0;
	if (debug_bind(c->debug.host, c->debug.port) != 0) {
		log_warnx("debug: cannot listen on %s:%d: %s", c->debug.host,
		    c->debug.port, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	debug_watch(1);
	return 0;
}

/* Apply a reloaded config: start, stop or move the endpoint. */
void
debug_reload(struct config *c)
{
	if (!c->debug.enabled) {
		if (debug_http != NULL) {
			debug_unbind();
			log_info("type=debug status=stopped");
		}
		debug_watch(0);
		return;
	}
	debug_watch(1);
	if (debug_sock != NULL && debug_port == c->debug.port &&
	    strcmp(debug_host, c->debug.host) == 0)
		return;
	if (debug_bind(c->debug.host, c->debug.port) != 0)
		log_warnx("debug: cannot listen on %s:%d: %s%s", c->debug.host,
		    c->debug.port, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()), debug_sock != NULL ?
		    "; still on the old address" : "");
}

/* Stop the endpoint (shutdown). */
void
debug_stop(void)
{
	debug_unbind();
	debug_watch(0);
}

/*
 * Listen on host:port. The new socket is bound before the old one goes,
 * so a failed move keeps the old address; an overlapping one (same port)
 * lets the old go first and takes it back if the new bind still fails.
 */
static int
debug_bind(const char *host, int port)
{
	struct evhttp_bound_socket	*sock;

	if (debug_http == NULL) {
		if ((debug_http = evhttp_new(sl.base)) == NULL)
			return -1;
		evhttp_set_allowed_methods(debug_http, EVHTTP_REQ_GET |
		    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
		    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
		evhttp_set_max_headers_size(debug_http, 8192);
		evhttp_set_max_body_size(debug_http, 4096);
		/* Longer than the longest profile, which waits its time. */
		evhttp_set_timeout(debug_http, DEBUG_TIMEOUT);
		evhttp_set_gencb(debug_http, debug_request, NULL);
	}
	sock = evhttp_bind_socket_with_handle(debug_http, host,
	    (uint16_t)port);
	if (sock == NULL && debug_sock != NULL) {
		evhttp_del_accept_socket(debug_http, debug_sock);
		debug_sock = NULL;
		sock = evhttp_bind_socket_with_handle(debug_http, host,
		    (uint16_t)port);
		if (sock == NULL)
			debug_sock = evhttp_bind_socket_with_handle(debug_http,
			    debug_host, (uint16_t)debug_port);
	}
	if (sock == NULL) {
		if (debug_sock == NULL)
			debug_unbind();
		return -1;
	}
	if (debug_sock != NULL)
		evhttp_del_accept_socket(debug_http, debug_sock);
	debug_sock = sock;
	free(debug_host);
	debug_host = xstrdup(host);
	debug_port = port;
	log_info("type=debug status=listening addr=%s:%d", host, port);
	return 0;
}

/*
 * Close the endpoint and its connections. evhttp_free() frees every
 * request, a profile's too: that one is let go of first.
 */
static void
debug_unbind(void)
{
	debug_profile_abort();
	if (debug_http != NULL)
		evhttp_free(debug_http);
	debug_http = NULL;
	debug_sock = NULL;
	free(debug_host);
	debug_host = NULL;
	debug_port = 0;
}

/* Time the loop's turns (on) or not. */
static void
debug_watch(int on)
{
	if (on && sluice_act_ev == NULL) {
		memset(&dl, 0, sizeof dl);
		memset(sluice_act, 0, sizeof sluice_act);
		dl.since_ms = sluice_clock_us(CLOCK_REALTIME) / 1000;
		if ((sluice_act_ev = event_new(sl.base, -1, 0, debug_turn,
		    NULL)) == NULL)
			fatalx("%s: out of memory", __func__);
	} else if (!on && sluice_act_ev != NULL) {
		event_free(sluice_act_ev);
		sluice_act_ev = NULL;
	}
	sluice_act_begun = 0;
	sluice_act_watch = on;
}

/*
 * The turn's callbacks are done (sluice_act_ev): count the turn, keep it
 * if it is among the longest, and start counting the next.
 */
static void
debug_turn(evutil_socket_t fd, short what, void *arg)
{
	struct debug_stall	*s;
	int64_t			 us;
	size_t			 i;

	(void)fd;
	(void)what;
	(void)arg;
	if (!sluice_act_begun)
		return;
	us = sluice_clock_us(CLOCK_MONOTONIC) - sluice_act_start_us;
	sluice_act_begun = 0;
	dl.turns++;
	dl.busy_us += (uint64_t)us;
	if (us > dl.max_us)
		dl.max_us = us;
	for (i = 0; i < DEBUG_NBOUNDS && us > debug_bounds[i]; i++)
		;
	dl.hist[i]++;
	for (i = 0; i < ACT_MAX; i++)
		dl.act[i] += sluice_act[i];

	if (dl.nstalls < DEBUG_STALLS)
		s = &dl.stalls[dl.nstalls++];
	else if (us > dl.stalls[dl.shortest].us)
		s = &dl.stalls[dl.shortest];
	else
		s = NULL;
	if (s != NULL) {
		s->at_ms = sluice_clock_us(CLOCK_REALTIME) / 1000;
		s->us = us;
		memcpy(s->act, sluice_act, sizeof s->act);
		dl.shortest = 0;
		for (i = 1; i < dl.nstalls; i++) {
			if (dl.stalls[i].us < dl.stalls[dl.shortest].us)
				dl.shortest = i;
		}
	}
	memset(sluice_act, 0, sizeof sluice_act);
}

/*
 * A request: the token if one is set (401 without, 403 wrong), GET or
 * HEAD only (405), a known page (404), then the page.
 */
static void
debug_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type	 method = evhttp_request_get_command(req);
	const struct debug_conf	*dc = &sl.conf->debug;
	const struct debug_page	*pg = NULL;
	const char		*path, *auth;
	struct evbuffer		*b;
	char			 peer[80];
	size_t			 i;

	sluice_activity(ACT_DEBUG);
	(void)arg;
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL || *path == '\0')
		path = "/";
	if (dc->access_token != NULL) {
		auth = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Authorization");
		if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "WWW-Authenticate", "Bearer");
			api_error(req, 401, "Unauthorized",
			    "missing Authorization: Bearer (debug.access-token)");
			return;
		}
		if (!api_secret_ok(auth + 7, strlen(auth + 7),
		    dc->access_token)) {
			log_info("type=debug status=forbidden peer=%s path=%s",
			    api_peer(req, peer, sizeof peer), log_esc(path));
			api_error(req, 403, "Forbidden", "wrong token");
			return;
		}
	}
	if (strcmp(path, "/debug") == 0 || strcmp(path, "/") == 0)
		path = "/debug/";
	for (i = 0; i < sizeof debug_pages / sizeof debug_pages[0]; i++) {
		if (strcmp(debug_pages[i].path, path) == 0) {
			pg = &debug_pages[i];
			break;
		}
	}
	if (pg == NULL) {
		api_error(req, 404, "Not Found", "no such page; see /debug/");
		return;
	}
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		api_error(req, 405, "Method Not Allowed", "GET or HEAD only");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		api_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	if (pg->fn(req, b) == 0)
		api_reply(req, 200, "OK", b, pg->ctype);
	evbuffer_free(b);
}

/* GET /debug/: the pages, as links. */
static int
debug_index(struct evhttp_request *req, struct evbuffer *b)
{
	size_t	 i;

	(void)req;
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html><head><meta "
	    "charset=\"utf-8\"><title>sluice %s debug</title></head>\n"
	    "<body><h1>sluice debug</h1>\n<ul>\n", SLUICE_VERSION);
	for (i = 0; i < sizeof debug_pages / sizeof debug_pages[0]; i++)
		evbuffer_add_printf(b, "<li><a href=\"%s\">%s</a>: %s</li>\n",
		    debug_pages[i].path, debug_pages[i].path,
		    debug_pages[i].what);
	evbuffer_add_printf(b, "</ul>\n</body></html>\n");
	return 0;
}

/* {"name": count, ...} of the activities that ran (count > 0). */
static void
debug_acts(struct evbuffer *b, const uint32_t *act)
{
	const char	*sep = "";
	int		 i;

	evbuffer_add(b, "{", 1);
	for (i = 0; i < ACT_MAX; i++) {
		if (act[i] == 0)
			continue;
		evbuffer_add_printf(b, "%s\"%s\":%u", sep,
		    sluice_act_text((enum activity)i), act[i]);
		sep = ",";
	}
	evbuffer_add(b, "}", 1);
}

/* Order stalls longest first. */
static int
debug_stall_cmp(const void *a, const void *b)
{
	const struct debug_stall *x = (const struct debug_stall *)a;
	const struct debug_stall *y = (const struct debug_stall *)b;

	return x->us < y->us ? 1 : x->us > y->us ? -1 : 0;
}

/*
 * GET /debug/loop: since the endpoint went on, the turns timed, their
 * histogram (count per upper bound in us; null: above the last), what
 * ran in them in all, and the longest turns with what ran in each.
 */
static int
debug_loop(struct evhttp_request *req, struct evbuffer *b)
{
	struct debug_stall	 s[DEBUG_STALLS];
	uint32_t		 tot[ACT_MAX];
	size_t			 i;

	(void)req;
	evbuffer_add_printf(b, "{\"since_ms\":%lld,\"turns\":%llu,"
	    "\"busy_us\":%llu,\"max_us\":%lld,"
	    "\"mean_us\":%.1f,\"histogram\":[", (long long)dl.since_ms,
	    (unsigned long long)dl.turns,
	    (unsigned long long)dl.busy_us, (long long)dl.max_us,
	    dl.turns > 0 ? (double)dl.busy_us / (double)dl.turns : 0.0);
	for (i = 0; i <= DEBUG_NBOUNDS; i++) {
		if (i < DEBUG_NBOUNDS)
			evbuffer_add_printf(b, "%s{\"le_us\":%lld,", i ? "," :
			    "", (long long)debug_bounds[i]);
		else
			evbuffer_add_printf(b, ",{\"le_us\":null,");
		evbuffer_add_printf(b, "\"count\":%llu}",
		    (unsigned long long)dl.hist[i]);
	}
	/* Totals saturate in the 32-bit form debug_acts() prints. */
	for (i = 0; i < ACT_MAX; i++)
		tot[i] = dl.act[i] > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)dl.act[i];
	evbuffer_add_printf(b, "],\"ran\":");
	debug_acts(b, tot);
	memcpy(s, dl.stalls, sizeof s);
	qsort(s, dl.nstalls, sizeof s[0], debug_stall_cmp);
	evbuffer_add_printf(b, ",\"stalls\":[");
	for (i = 0; i < dl.nstalls; i++) {
		evbuffer_add_printf(b, "%s{\"at_ms\":%lld,\"us\":%lld,"
		    "\"ran\":", i ? "," : "", (long long)s[i].at_ms,
		    (long long)s[i].us);
		debug_acts(b, s[i].act);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add_printf(b, "]}\n");
	return 0;
}

/* GET /debug/events: event_base_dump_events(), cut at a limit. */
static int
debug_events(struct evhttp_request *req, struct evbuffer *b)
{
	FILE	*f;
	char	*text = NULL;
	size_t	 len = 0;

	if ((f = open_memstream(&text, &len)) == NULL) {
		api_error(req, 500, "Internal Server Error", strerror(errno));
		return -1;
	}
	event_base_dump_events(sl.base, f);
	fclose(f);
	if (len > DEBUG_EVENTS_MAX) {
		evbuffer_add(b, text, DEBUG_EVENTS_MAX);
		evbuffer_add_printf(b, "\n[cut at %d bytes of %zu]\n",
		    DEBUG_EVENTS_MAX, len);
	} else
		evbuffer_add(b, text, len);
	free(text);
	return 0;
}

/* Append malloc_info()'s XML as a JSON string, cut at a limit. */
static void
debug_malloc_info(struct evbuffer *b)
{
	FILE	*f;
	char	*text = NULL;
	size_t	 len = 0;

	if ((f = open_memstream(&text, &len)) == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	malloc_info(0, f);
	fclose(f);
	if (len > DEBUG_MALLOC_INFO_MAX)
		text[DEBUG_MALLOC_INFO_MAX] = '\0';
	api_str(b, text);
	free(text);
}

/*
 * GET /debug/memory: the process (statm), malloc (mallinfo2 and
 * malloc_info's XML), and what each subsystem holds.
 */
static int
debug_memory(struct evhttp_request *req, struct evbuffer *b)
{
	struct mallinfo2	 mi = mallinfo2();
	struct history_metrics	 hm;
	struct miner		*m;
	struct upstream		*u;
	struct pool		*p;
	struct pool_view	 pv;
	unsigned long long	 size = 0, rss = 0, shared = 0;
	size_t			 in, out, min = 0, mout = 0, mbacklog = 0;
	size_t			 pin = 0, pout = 0, npools = 0;
	long			 page = sysconf(_SC_PAGESIZE);
	FILE			*f;

	(void)req;
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%llu %llu %llu", &size, &rss, &shared) != 3)
			size = rss = shared = 0;
		fclose(f);
	}
	for (m = miner_first(); m != NULL; m = miner_next(m)) {
		wire_buffered(m, &in, &out);
		min += in;
		mout += out;
		if (out > 0)
			mbacklog++;
	}
	for (u = upstream_first(); u != NULL; u = upstream_next(u)) {
		if ((p = strategy_conn(u->strategy)) == NULL)
			continue;
		pool_view(p, &pv);
		pin += pv.in;
		pout += pv.out;
		npools++;
	}
	history_metrics(&hm);

	evbuffer_add_printf(b, "{\"rss_bytes\":%llu,\"vm_bytes\":%llu,"
	    "\"shared_bytes\":%llu,", rss * (unsigned long long)page,
	    size * (unsigned long long)page, shared * (unsigned long long)page);
	evbuffer_add_printf(b, "\"malloc\":{\"arena\":%zu,\"mmap\":%zu,"
	    "\"mmap_count\":%zu,\"in_use\":%zu,\"free\":%zu,"
	    "\"releasable\":%zu,\"info\":", mi.arena, mi.hblkhd, mi.hblks,
	    mi.uordblks, mi.fordblks, mi.keepcost);
	debug_malloc_info(b);
	evbuffer_add_printf(b, "},\"miners\":{\"count\":%zu,"
	    "\"buffered_in\":%zu,\"buffered_out\":%zu,\"with_backlog\":%zu},",
	    miner_count(), min, mout, mbacklog);
	evbuffer_add_printf(b, "\"upstreams\":{\"count\":%zu,"
	    "\"pool_connections\":%zu,\"buffered_in\":%zu,"
	    "\"buffered_out\":%zu},", upstream_count(), npools, pin, pout);
	evbuffer_add_printf(b, "\"workers\":{\"count\":%zu,\"bytes\":%zu},",
	    workers_count(), workers_memory());
	evbuffer_add_printf(b, "\"interned_strings\":%zu,", intern_count());
	evbuffer_add_printf(b, "\"lua_bytes\":%zu,", policy_lua_memory());
	evbuffer_add_printf(b, "\"capture\":{\"records\":%zu,\"bytes\":%zu},",
	    capture_count(), capture_bytes());
	evbuffer_add_printf(b, "\"history\":{\"series\":%llu,\"bytes\":%llu,"
	    "\"persisted\":%s}}\n", (unsigned long long)hm.series,
	    (unsigned long long)(hm.series * sizeof(struct stats_hist)),
	    hm.persisted ? "true" : "false");
	return 0;
}

/*
 * GET /debug/connections: every miner, then every upstream with its pool
 * connection (null while it has none). Ages are in seconds; idle_s is
 * the time since the last line (miners) or bytes (pools) came.
 */
static int
debug_conns(struct evhttp_request *req, struct evbuffer *b)
{
	struct miner		*m;
	struct upstream		*u;
	struct pool		*p;
	struct pool_view	 pv;
	size_t			 in, out;
	time_t			 now = sluice_now();
	const char		*sep = "";

	(void)req;
	evbuffer_add_printf(b, "{\"miners\":[");
	for (m = miner_first(); m != NULL; m = miner_next(m)) {
		wire_buffered(m, &in, &out);
		evbuffer_add_printf(b, "%s\n{\"id\":%llu,\"peer\":\"%s:%d\","
		    "\"port\":%d,\"tls\":%s,\"state\":\"%s\",\"user\":", sep,
		    (unsigned long long)m->peer.id, m->peer.ip, m->peer.port,
		    m->peer.local_port, m->peer.tls ? "true" : "false",
		    miner_state_text(m->state));
		api_str(b, m->peer.user);
		evbuffer_add_printf(b, ",\"upstream\":");
		if (m->upstream != NULL)
			evbuffer_add_printf(b, "%llu",
			    (unsigned long long)m->upstream->id);
		else
			evbuffer_add(b, "null", 4);
		evbuffer_add_printf(b, ",\"buffered_in\":%zu,"
		    "\"buffered_out\":%zu,\"paused\":%s,\"age_s\":%lld,"
		    "\"idle_s\":%lld,\"rx\":%llu,\"tx\":%llu}", in, out,
		    m->wire.paused ? "true" : "false",
		    (long long)(now - m->connected),
		    (long long)(now - m->last_active),
		    (unsigned long long)m->rx, (unsigned long long)m->tx);
		sep = ",";
	}
	evbuffer_add_printf(b, "],\"upstreams\":[");
	sep = "";
	for (u = upstream_first(); u != NULL; u = upstream_next(u)) {
		evbuffer_add_printf(b, "%s\n{\"id\":%llu,\"state\":\"%s\","
		    "\"coin\":", sep, (unsigned long long)u->id,
		    upstream_state_text(u));
		api_str(b, u->coin);
		evbuffer_add_printf(b, ",\"pool\":");
		sep = ",";
		if ((p = strategy_conn(u->strategy)) == NULL) {
			evbuffer_add(b, "null}", 5);
			continue;
		}
		pool_view(p, &pv);
		evbuffer_add_printf(b, "{\"id\":%llu,\"peer\":", 
		    (unsigned long long)pv.id);
		api_str(b, pv.name);
		evbuffer_add_printf(b, ",\"tls\":%s,\"state\":\"%s\","
		    "\"buffered_in\":%zu,\"buffered_out\":%zu,\"pending\":%zu,"
		    "\"age_s\":%lld,\"state_s\":%lld,\"idle_s\":%lld,"
		    "\"rx\":%llu,\"tx\":%llu}}", pv.tls ? "true" : "false",
		    pv.state, pv.in, pv.out, pv.pending,
		    (long long)(now - pv.opened),
		    (long long)(now - pv.state_since),
		    (long long)(now - (pv.last_recv != 0 ? pv.last_recv :
		    pv.opened)), (unsigned long long)pv.rx,
		    (unsigned long long)pv.tx);
	}
	evbuffer_add_printf(b, "]}\n");
	return 0;
}

/*
 * GET /debug/profile?seconds=N: start gperftools' CPU profiler into a
 * temporary file, and answer with the file when the timer ends. One at a
 * time: 409 while one runs. The loop goes on meanwhile.
 */
static int
debug_profile(struct evhttp_request *req, struct evbuffer *b)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq	 q;
	struct timeval		 tv = { 0, 0 };
	const char		*v, *tmp;
	char			*ep, peer[80];
	long			 n = DEBUG_PROFILE_DEFAULT;
	int			 fd;

	(void)b;
	if (prof.req != NULL) {
		api_error(req, 409, "Conflict", "a profile is under way");
		return -1;
	}
	TAILQ_INIT(&q);
	if (uri != NULL && evhttp_uri_get_query(uri) != NULL &&
	    evhttp_parse_query_str(evhttp_uri_get_query(uri), &q) != 0) {
		api_error(req, 400, "Bad Request", "bad query string");
		return -1;
	}
	if ((v = evhttp_find_header(&q, "seconds")) != NULL) {
		errno = 0;
		n = strtol(v, &ep, 10);
		if (*v == '\0' || *ep != '\0' || errno != 0 || n < 1 ||
		    n > DEBUG_PROFILE_MAX) {
			evhttp_clear_headers(&q);
			api_error(req, 400, "Bad Request", "seconds: expected "
			    "1 to 60");
			return -1;
		}
	}
	evhttp_clear_headers(&q);

	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
		tmp = "/tmp";
	snprintf(prof.path, sizeof prof.path, "%s/sluice-prof-XXXXXX", tmp);
	if ((fd = mkstemp(prof.path)) == -1) {
		api_error(req, 500, "Internal Server Error", strerror(errno));
		return -1;
	}
	close(fd);
	if (!ProfilerStart(prof.path)) {
		unlink(prof.path);
		api_error(req, 500, "Internal Server Error",
		    "the profiler would not start");
		return -1;
	}
	if (prof.timer == NULL &&
	    (prof.timer = evtimer_new(sl.base, debug_profile_done,
	    NULL)) == NULL)
		fatalx("%s: out of memory", __func__);
	prof.req = req;
	prof.seconds = (int)n;
	tv.tv_sec = n;
	evtimer_add(prof.timer, &tv);
	log_info("type=profile status=start seconds=%ld peer=%s", n,
	    api_peer(req, peer, sizeof peer));
	return 1;	/* answered later */
}

/* The profile's time is up: stop the profiler and send the file. */
static void
debug_profile_done(evutil_socket_t fd0, short what, void *arg)
{
	struct evhttp_request	*req = prof.req;
	struct evkeyvalq	*h;
	struct evbuffer		*b;
	struct stat		 st;
	int			 fd;

	(void)fd0;
	(void)what;
	(void)arg;
	sluice_activity(ACT_DEBUG);
	if (req == NULL)
		return;
	ProfilerStop();
	prof.req = NULL;
	if ((b = evbuffer_new()) == NULL)
		fatalx("%s: out of memory", __func__);
	fd = open(prof.path, O_RDONLY | O_CLOEXEC);
	unlink(prof.path);
	if (fd == -1 || fstat(fd, &st) != 0 ||
	    evbuffer_add_file(b, fd, 0, st.st_size) != 0) {
		log_warn("debug: profile %s", prof.path);
		if (fd != -1)
			close(fd);
		api_error(req, 500, "Internal Server Error",
		    "the profile cannot be read");
		evbuffer_free(b);
		return;
	}
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Disposition",
	    "attachment; filename=\"sluice.prof\"");
	log_info("type=profile status=done seconds=%d bytes=%lld",
	    prof.seconds, (long long)st.st_size);
	api_reply(req, 200, "OK", b, DEBUG_PROF);
	evbuffer_free(b);
}

/* Drop a profile under way, its request with it (the endpoint stops). */
static void
debug_profile_abort(void)
{
	if (prof.timer != NULL)
		event_free(prof.timer);
	prof.timer = NULL;
	if (prof.req == NULL)
		return;
	ProfilerStop();
	unlink(prof.path);
	prof.req = NULL;
	log_info("type=profile status=aborted");
}
