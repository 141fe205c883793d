/*
 * capapi.cc: the capture's endpoints (capture.cc holds the ring).
 *
 *	GET /1/capture?since=ID&session=S&limit=N
 *		{"records": [...], "next": ID}: the records after since,
 *		oldest first, of one session ("miner:<id>", "upstream:<id>")
 *		or all; pass next as since to read on
 *	POST /1/capture	{"miner": ID} | {"user": U} | {"ip": A} | {},
 *		"seconds": N (300): record that only, or all, for N seconds
 *	DELETE /1/capture	stop recording
 *	GET /1/capture/stream?session=S	the live feed, Server-Sent Events
 *
 * api.cc's gate has run: with an access token, every request carries it;
 * a restricted API has refused POST and DELETE. POST and DELETE also
 * need an access token to be set: a capture shows raw traffic.
 *
 * The live feed is an evhttp chunked answer that stays open. At the end
 * of each loop turn that made records (capture.cc's notify), each reader
 * gets the new ones as "event: record" with the record's JSON as data.
 * A reader whose connection holds more than CAPAPI_STREAM_LIMIT unsent
 * bytes is cut off: one last "event: cutoff", the end of the answer, and
 * the connection's deadline (http.timeout) runs again, so memory held
 * for a stalled reader is bounded and the loop never waits for one.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "capture.h"
#include "config.h"

#define CAPAPI_STREAMS_MAX	16	/* live feeds at once */
#define CAPAPI_STREAM_LIMIT	(1024 * 1024)	/* unsent bytes per feed */
#define CAPAPI_LIMIT		100	/* records per GET by default */
#define CAPAPI_SCAN_MAX		1000000	/* ids one GET looks at */

/* One reader of the live feed. */
struct capapi_stream {
	struct evhttp_request	*req;
	int			 kind;		/* session: -1 any */
	uint64_t		 sid;
	uint64_t		 next;		/* the next id to send */
	uint64_t		 sent;
	TAILQ_ENTRY(capapi_stream) entry;
};
static TAILQ_HEAD(, capapi_stream) capapi_streams =
    TAILQ_HEAD_INITIALIZER(capapi_streams);
static size_t		 capapi_nstreams;

static int	 capapi_num(const char *, uint64_t *);
static int	 capapi_query(struct evhttp_request *, uint64_t *, int *,
		     uint64_t *, uint64_t *, char *, size_t);
static void	 capapi_get(struct evhttp_request *);
static void	 capapi_post(struct evhttp_request *);
static void	 capapi_state(struct evhttp_request *);
static void	 capapi_stream(struct evhttp_request *);
static void	 capapi_stream_gone(void *);
static void	 capapi_stream_end(struct capapi_stream *, const char *);
static size_t	 capapi_unsent(struct capapi_stream *);
static void	 capapi_notify(void);

/* Is this one of the capture's paths? */
int
capapi_match(const char *path)
{
	return strcmp(path, CAPAPI_PATH) == 0 ||
	    strcmp(path, CAPAPI_STREAM_PATH) == 0;
}

/* Answer a request for one of the capture's paths. */
void
capapi_request(struct evhttp_request *req, const char *path)
{
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	int			 stream = strcmp(path, CAPAPI_STREAM_PATH) == 0;

	if (m == EVHTTP_REQ_GET && stream) {
		capapi_stream(req);
		return;
	}
	if ((m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD) && !stream) {
		capapi_get(req);
		return;
	}
	if ((m == EVHTTP_REQ_POST || m == EVHTTP_REQ_DELETE) && !stream) {
		if (sl.conf->http.access_token == NULL) {
			api_error(req, 403, "Forbidden", "starting or stopping "
			    "the capture needs http.access-token");
			return;
		}
		if (m == EVHTTP_REQ_POST)
			capapi_post(req);
		else {
			capture_off();
			capapi_state(req);
		}
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    stream ? "GET" : "GET, HEAD, POST, DELETE");
	api_error(req, 405, "Method Not Allowed",
	    "method not allowed on this endpoint");
}

/* A non-negative decimal integer, whole; -1 if s is not one. */
static int
capapi_num(const char *s, uint64_t *v)
{
	char	*ep;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &ep, 10);
	return *ep != '\0' || errno != 0 ? -1 : 0;
}

/*
 * Read since, session and limit (NULL where a page takes none): 0, or -1
 * with why.
 */
static int
capapi_query(struct evhttp_request *req, uint64_t *since, int *kind,
    uint64_t *sid, uint64_t *limit, char *why, size_t len)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*query = uri != NULL ?
				    evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq	 params;
	struct evkeyval		*kv;
	int			 rc = -1;

	*kind = -1;
	*sid = 0;
	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) != 0) {
		snprintf(why, len, "bad query string");
		goto out;
	}
	TAILQ_FOREACH(kv, &params, next) {
		if (strcmp(kv->key, "session") == 0) {
			if (capture_session_parse(kv->value, kind, sid) != 0) {
				snprintf(why, len, "session: expected "
				    "miner:<id> or upstream:<id>");
				goto out;
			}
		} else if (since != NULL && strcmp(kv->key, "since") == 0) {
			if (capapi_num(kv->value, since) != 0) {
				snprintf(why, len, "since: expected a record id");
				goto out;
			}
		} else if (limit != NULL && strcmp(kv->key, "limit") == 0) {
			if (capapi_num(kv->value, limit) != 0 || *limit == 0 ||
			    *limit > CAPTURE_LIMIT_MAX) {
				snprintf(why, len, "limit: expected 1..%d",
				    CAPTURE_LIMIT_MAX);
				goto out;
			}
		} else {
			snprintf(why, len, "unknown parameter \"%.64s\" (%s)",
			    kv->key, since != NULL ? "since, session, limit" :
			    "session");
			goto out;
		}
	}
	rc = 0;
out:
	evhttp_clear_headers(&params);
	return rc;
}

/* GET /1/capture: the records after since, at most limit. */
static void
capapi_get(struct evhttp_request *req)
{
	struct evbuffer	*b, *rec;
	uint64_t	 since = 0, limit = CAPAPI_LIMIT, sid, id, last, next;
	uint64_t	 n = 0, scanned = 0;
	json_t		*st;
	char		 why[160], *state;
	int		 kind;

	if (capapi_query(req, &since, &kind, &sid, &limit, why,
	    sizeof why) != 0) {
		api_error(req, 400, "Bad Request", why);
		return;
	}
	if ((b = evbuffer_new()) == NULL || (rec = evbuffer_new()) == NULL) {
		if (b != NULL)
			evbuffer_free(b);
		api_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	last = capture_last_id();
	next = since;
	id = since + 1 > capture_first_id() ? since + 1 : capture_first_id();
	evbuffer_add(b, "{\"records\":[", 12);
	for (; id <= last && n < limit && scanned < CAPAPI_SCAN_MAX;
	    id++, scanned++) {
		if (capture_format(id, kind, sid, rec) == 1) {
			if (n++ > 0)
				evbuffer_add(b, ",", 1);
			evbuffer_add_buffer(b, rec);
		}
		next = id;
	}
	st = capture_state();
	state = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(st);
	evbuffer_add_printf(b, "],\"next\":%llu,\"state\":%s}\n",
	    (unsigned long long)next, state != NULL ? state : "null");
	free(state);
	api_reply(req, 200, "OK", b, API_JSON);
	evbuffer_free(rec);
	evbuffer_free(b);
}

/* POST /1/capture: narrow (or widen) and start. */
static void
capapi_post(struct evhttp_request *req)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	static const char	*keys[] = { "miner", "user", "ip", "seconds",
	    NULL };
	enum capture_by		 by = CAPTURE_ALL;
	const char		*key, *text = NULL, *why = NULL;
	json_error_t		 err;
	json_t			*body, *v;
	uint64_t		 miner = 0;
	long long		 seconds = CAPTURE_SECONDS;
	size_t			 len = evbuffer_get_length(in), i;
	int			 named = 0;

	body = len == 0 ? json_object() : json_loadb((const char *)
	    evbuffer_pullup(in, (ev_ssize_t)len), len, 0, &err);
	if (body == NULL || !json_is_object(body)) {
		api_error(req, 400, "Bad Request", body == NULL ? err.text :
		    "expected a JSON object");
		json_decref(body);
		return;
	}
	json_object_foreach(body, key, v) {
		for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++)
			;
		if (keys[i] == NULL) {
			why = "unknown key (miner, user, ip, seconds)";
			break;
		}
		if (i < 3 && ++named > 1) {
			why = "give one of miner, user and ip";
			break;
		}
		if (i == 0 && (!json_is_integer(v) ||
		    json_integer_value(v) < 0)) {
			why = "miner: expected a miner id (GET /1/miners)";
			break;
		}
		if ((i == 1 || i == 2) && !json_is_string(v)) {
			why = i == 1 ? "user: expected a string" :
			    "ip: expected a string";
			break;
		}
		if (i == 3 && !json_is_integer(v)) {
			why = "seconds: expected an integer";
			break;
		}
		if (i == 0) {
			by = CAPTURE_BY_MINER;
			miner = (uint64_t)json_integer_value(v);
		} else if (i == 1 || i == 2) {
			by = i == 1 ? CAPTURE_BY_USER : CAPTURE_BY_IP;
			text = json_string_value(v);
		} else
			seconds = json_integer_value(v);
	}
	if (why == NULL && capture_narrow(by, miner, text,
	    seconds > 86400 || seconds < 0 ? 0 : (int)seconds, &why) == 0) {
		json_decref(body);
		capapi_state(req);
		return;
	}
	json_decref(body);
	api_error(req, 400, "Bad Request", why);
}

/* Answer 200 with the capture's state. */
static void
capapi_state(struct evhttp_request *req)
{
	struct evbuffer	*b = evbuffer_new();
	json_t		*st = capture_state();
	char		*s;

	s = json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(st);
	if (b == NULL || s == NULL) {
		free(s);
		if (b != NULL)
			evbuffer_free(b);
		api_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	evbuffer_add_printf(b, "%s\n", s);
	free(s);
	api_reply(req, 200, "OK", b, API_JSON);
	evbuffer_free(b);
}

/*
 * GET /1/capture/stream: the live feed, from the next record on. The
 * answer stays open; capapi_notify() writes to it.
 */
static void
capapi_stream(struct evhttp_request *req)
{
	struct capapi_stream	*st;
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*b;
	char			 why[160];
	int			 kind;
	uint64_t		 sid;

	if (capapi_query(req, NULL, &kind, &sid, NULL, why, sizeof why) != 0) {
		api_error(req, 400, "Bad Request", why);
		return;
	}
	if (capapi_nstreams >= CAPAPI_STREAMS_MAX) {
		api_error(req, 503, "Service Unavailable",
		    "too many readers of the live feed");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		api_error(req, 500, "Internal Server Error", "out of memory");
		return;
	}
	st = XCALLOC(struct capapi_stream, 1);
	if (api_hold(req, capapi_stream_gone, st) != 0) {
		free(st);
		evbuffer_free(b);
		api_error(req, 500, "Internal Server Error", "no connection");
		return;
	}
	st->req = req;
	st->kind = kind;
	st->sid = sid;
	st->next = capture_last_id() + 1;
	TAILQ_INSERT_TAIL(&capapi_streams, st, entry);
	capapi_nstreams++;
	capture_set_notify(capapi_notify);
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply_start(req, 200, "OK");
	evbuffer_add_printf(b, ": sluice capture, from record %llu\n\n",
	    (unsigned long long)st->next);
	evhttp_send_reply_chunk(req, b);
	evbuffer_free(b);
	log_info("type=capture_stream status=open streams=%zu",
	    capapi_nstreams);
}

/*
 * The connection of a reader is going away (api.cc's close callback). A
 * request still on it is freed with it; one that evhttp has taken off
 * it (the reader hung up while the answer was ours to end) is ours to
 * free, which ending it does.
 */
static void
capapi_stream_gone(void *arg)
{
	struct capapi_stream	*st = (struct capapi_stream *)arg;

	if (evhttp_request_get_connection(st->req) == NULL)
		evhttp_send_reply_end(st->req);
	TAILQ_REMOVE(&capapi_streams, st, entry);
	capapi_nstreams--;
	log_info("type=capture_stream status=closed sent=%llu streams=%zu",
	    (unsigned long long)st->sent, capapi_nstreams);
	free(st);
}

/*
 * End a reader's feed with a last event (why: "cutoff" or "stop"); its
 * connection gets its deadline back, and is closed by it if the reader
 * never takes what is queued.
 */
static void
capapi_stream_end(struct capapi_stream *st, const char *why)
{
	struct evbuffer	*b = evbuffer_new();

	if (b != NULL) {
		evbuffer_add_printf(b, "event: %s\ndata: {\"next\":%llu}\n\n",
		    why, (unsigned long long)st->next);
		evhttp_send_reply_chunk(st->req, b);
		evbuffer_free(b);
	}
	api_unhold(st->req);
	evhttp_send_reply_end(st->req);
	TAILQ_REMOVE(&capapi_streams, st, entry);
	capapi_nstreams--;
	log_info("type=capture_stream status=%s sent=%llu streams=%zu", why,
	    (unsigned long long)st->sent, capapi_nstreams);
	free(st);
}

/* Bytes written to a reader's connection and not yet sent. */
static size_t
capapi_unsent(struct capapi_stream *st)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*bev;

	if ((evcon = evhttp_request_get_connection(st->req)) == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(bev));
}

/* New records: each reader gets its share, or is cut off. */
static void
capapi_notify(void)
{
	struct capapi_stream	*st, *tmp;
	struct evbuffer		*b, *rec;
	uint64_t		 last = capture_last_id(), first;
	size_t			 unsent;

	if (TAILQ_EMPTY(&capapi_streams))
		return;
	if ((b = evbuffer_new()) == NULL || (rec = evbuffer_new()) == NULL) {
		if (b != NULL)
			evbuffer_free(b);
		return;
	}
	first = capture_first_id();
	for (st = TAILQ_FIRST(&capapi_streams); st != NULL; st = tmp) {
		tmp = TAILQ_NEXT(st, entry);
		unsent = capapi_unsent(st);
		if (st->next < first)
			st->next = first;	/* the ring moved on meanwhile */
		for (; st->next <= last && unsent + evbuffer_get_length(b) <=
		    CAPAPI_STREAM_LIMIT; st->next++) {
			if (capture_format(st->next, st->kind, st->sid,
			    rec) != 1)
				continue;
			evbuffer_add_printf(b, "id: %llu\nevent: record\ndata: ",
			    (unsigned long long)st->next);
			evbuffer_add_buffer(b, rec);
			evbuffer_add(b, "\n\n", 2);
			st->sent++;
		}
		if (evbuffer_get_length(b) > 0)
			evhttp_send_reply_chunk(st->req, b);
		/* Not taken (no connection): not for the next reader. */
		evbuffer_drain(b, evbuffer_get_length(b));
		if (st->next <= last || capapi_unsent(st) > CAPAPI_STREAM_LIMIT)
			capapi_stream_end(st, "cutoff");
	}
	evbuffer_free(rec);
	evbuffer_free(b);
}

/* End every feed (the API stops). */
void
capapi_stop(void)
{
	while (!TAILQ_EMPTY(&capapi_streams))
		capapi_stream_end(TAILQ_FIRST(&capapi_streams), "stop");
}
