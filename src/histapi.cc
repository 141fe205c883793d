/*
 * histapi.cc: the history pages of the HTTP API (history.h answers).
 *
 *	GET /1/history?worker=NAME|coin=C|upstream=ID&from=UNIX&to=UNIX
 *	    &step=10|60|300|3600
 *		{"worker": NAME or null, "coin": C or null, "upstream": ID
 *		or null, "from": UNIX, "to": UNIX, "step": 60,
 *		"persisted": true, "points": [[ts, hashrate, accepted,
 *		rejected, invalid], ...]}
 *	GET /1/history/workers
 *		{"workers": ["name", ...], "persisted": true}
 *
 * Without worker, coin or upstream: the total. ts is a bucket's start in
 * Unix seconds and hashrate its H/s; every bucket of the range is there,
 * up to the last sample, zero where nothing happened. A bad parameter is
 * 400, a series history never had 404, as api_error() answers them.
 * Names are URL-decoded: a '+' in a worker name is sent as %2B.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api.h"
#include "history.h"

static int	 histapi_num(const char *, int64_t *);
static int	 histapi_params(struct evhttp_request *, struct history_query *,
		     const char **, int64_t *, char *, size_t);
static void	 histapi_refuse(struct evhttp_request *, int, const char *);

/* A non-negative decimal integer, whole; -1 if s is not one. */
static int
histapi_num(const char *s, int64_t *v)
{
	char		*ep;
	long long	 n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &ep, 10);
	if (*ep != '\0' || errno != 0)
		return -1;
	*v = n;
	return 0;
}

/* Answer a refusal of history.h (HISTORY_E_*) the API's way. */
static void
histapi_refuse(struct evhttp_request *req, int e, const char *why)
{
	if (e == HISTORY_E_BAD)
		api_error(req, 400, "Bad Request", why);
	else
		api_error(req, 404, "Not Found", why);
}

/*
 * Read the query string into q: -1 with why on a bad or unknown
 * parameter. *which is the parameter naming the series (NULL: total),
 * *upstream its id.
 */
static int
histapi_params(struct evhttp_request *req, struct history_query *q,
    const char **which, int64_t *upstream, char *why, size_t len)
{
	static const char	*names[] = { "worker", "coin", "upstream",
	    "from", "to", "step" };
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*query = uri != NULL ?
				    evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq	 params;
	struct evkeyval		*kv;
	unsigned		 seen = 0, i;
	int64_t			 v;
	int			 rc = -1;

	memset(q, 0, sizeof *q);
	q->kind = HISTORY_TOTAL;
	q->from = q->to = -1;
	*which = NULL;
	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) != 0) {
		snprintf(why, len, "bad query string");
		goto out;
	}
	TAILQ_FOREACH(kv, &params, next) {
		for (i = 0; i < sizeof names / sizeof names[0]; i++) {
			if (strcmp(kv->key, names[i]) == 0)
				break;
		}
		if (i == sizeof names / sizeof names[0]) {
			snprintf(why, len, "unknown parameter \"%.64s\" "
			    "(worker, coin, upstream, from, to, step)",
			    kv->key);
			goto out;
		}
		if (seen & (1u << i)) {
			snprintf(why, len, "%s: given twice", names[i]);
			goto out;
		}
		seen |= 1u << i;
		if (i < 3) {
			if (*which != NULL) {
				snprintf(why, len, "%s and %s: give one of "
				    "worker, coin and upstream", *which,
				    names[i]);
				goto out;
			}
			if (kv->value[0] == '\0') {
				snprintf(why, len, "%s: empty", names[i]);
				goto out;
			}
			*which = names[i];
			q->name = kv->value;
			q->kind = i == 0 ? HISTORY_WORKER : i == 1 ?
			    HISTORY_COIN : HISTORY_UPSTREAM;
			if (i == 2 && histapi_num(kv->value, upstream) != 0) {
				snprintf(why, len, "upstream: expected an "
				    "upstream id");
				goto out;
			}
			continue;
		}
		if (histapi_num(kv->value, &v) != 0) {
			snprintf(why, len, "%s: expected %s", names[i], i == 5 ?
			    "10, 60, 300 or 3600" : "Unix seconds");
			goto out;
		}
		if (i == 3)
			q->from = v;
		else if (i == 4)
			q->to = v;
		else if (!history_step_ok((int)v) || v > 3600) {
			snprintf(why, len, "step: expected 10, 60, 300 or "
			    "3600");
			goto out;
		} else
			q->step = (int)v;
	}
	rc = 0;
out:
	/* q->name points into params: the caller copies it first. */
	if (rc == 0 && q->name != NULL)
		q->name = xstrdup(q->name);
	evhttp_clear_headers(&params);
	return rc;
}

/* GET /1/history: one series' points over a range. */
int
histapi_history(struct evhttp_request *req, struct evbuffer *b,
    int64_t now_ms)
{
	struct history_query	 q;
	struct history_answer	 a;
	const struct history_point *p;
	const char		*which;
	char			 why[256], *name;
	int64_t			 upstream = 0;
	size_t			 i;
	int			 e;

	(void)now_ms;
	if (histapi_params(req, &q, &which, &upstream, why, sizeof why) != 0) {
		api_error(req, 400, "Bad Request", why);
		return -1;
	}
	/* An upstream's series is named by its id in decimal. */
	if (q.kind == HISTORY_UPSTREAM) {
		free((char *)q.name);
		xasprintf(&name, "%lld", (long long)upstream);
		q.name = name;
	}
	if ((e = history_query(&q, &a, why, sizeof why)) != 0) {
		free((char *)q.name);
		histapi_refuse(req, e, why);
		return -1;
	}
	evbuffer_add_printf(b, "{\"worker\":");
	api_str(b, q.kind == HISTORY_WORKER ? q.name : NULL);
	evbuffer_add_printf(b, ",\"coin\":");
	api_str(b, q.kind == HISTORY_COIN ? q.name : NULL);
	if (q.kind == HISTORY_UPSTREAM)
		evbuffer_add_printf(b, ",\"upstream\":%lld",
		    (long long)upstream);
	else
		evbuffer_add_printf(b, ",\"upstream\":null");
	evbuffer_add_printf(b, ",\"from\":%lld,\"to\":%lld,\"step\":%d,"
	    "\"persisted\":%s,\"points\":[", (long long)a.from,
	    (long long)a.to, a.step, a.persisted ? "true" : "false");
	for (i = 0; i < a.npoints; i++) {
		p = &a.points[i];
		evbuffer_add_printf(b, "%s[%lld,%.2f,%llu,%llu,%llu]",
		    i > 0 ? "," : "", (long long)p->ts, a.rates[i],
		    (unsigned long long)p->accepted,
		    (unsigned long long)p->rejected,
		    (unsigned long long)p->invalid);
	}
	evbuffer_add_printf(b, "]}\n");
	history_answer_free(&a);
	free((char *)q.name);
	return 0;
}

/* GET /1/history/workers: the names of the workers with history. */
int
histapi_workers(struct evhttp_request *req, struct evbuffer *b,
    int64_t now_ms)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*query = uri != NULL ?
				    evhttp_uri_get_query(uri) : NULL;
	char			**names;
	size_t			 n, i;
	int			 persisted, e;

	(void)now_ms;
	if (query != NULL && query[0] != '\0') {
		api_error(req, 400, "Bad Request", "no parameters here");
		return -1;
	}
	if ((e = history_workers(&names, &n, &persisted)) != 0) {
		histapi_refuse(req, e, "history is off (\"history\": false)");
		return -1;
	}
	evbuffer_add_printf(b, "{\"workers\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			evbuffer_add(b, ",", 1);
		api_str(b, names[i]);
		free(names[i]);
	}
	free(names);
	evbuffer_add_printf(b, "],\"persisted\":%s}\n",
	    persisted ? "true" : "false");
	return 0;
}
