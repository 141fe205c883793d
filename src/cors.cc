/*
 * cors.cc: Cross-Origin Resource Sharing for the API (http.cors-origin),
 * so that a dashboard served from another origin, such as xmrig's
 * workers page, can read the API from a browser.
 *
 * xmrig-proxy allows every origin on every answer of its API, and so
 * does sluice by default ("*"); an operator may name one origin instead,
 * or turn CORS off with null. Every answer of the API's gate in api.cc,
 * errors included (a page must see a 401 to ask for the token), carries
 * Access-Control-Allow-Origin, and Vary: Origin when the origin is not
 * "*". A preflight (OPTIONS) of an endpoint is answered 204 without the
 * token, which a browser never sends with one; it allows the
 * Authorization and Content-Type headers, the methods the endpoint
 * serves, and lets the browser keep the answer CORS_MAX_AGE seconds.
 *
 * Neither the dashboard's own files (same origin) nor btcpool's switch
 * API get these headers: switch tools are no browsers, and a page from
 * elsewhere has no business moving users between coins.
 */
#include <string.h>

#include <event2/http.h>

#include "api.h"
#include "config.h"

#define CORS_MAX_AGE	"600"	/* seconds a browser keeps a preflight */
#define CORS_HEADERS	"Authorization, Content-Type"

/* Add Access-Control-Allow-Origin (and Vary) if CORS is on. */
void
cors_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	const char		*origin = sl.conf->http.cors_origin;

	if (origin == NULL)
		return;
	evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
	/* The answer would differ for another origin: caches must know. */
	if (strcmp(origin, "*") != 0)
		evhttp_add_header(h, "Vary", "Origin");
}

/*
 * Answer a preflight of an endpoint that serves methods (as in an Allow
 * header, "GET, HEAD"): 204 and the CORS headers. Returns 0 without
 * answering if CORS is off.
 */
int
cors_preflight(struct evhttp_request *req, const char *methods)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	if (sl.conf->http.cors_origin == NULL)
		return 0;
	cors_headers(req);
	evhttp_add_header(h, "Access-Control-Allow-Methods", methods);
	evhttp_add_header(h, "Access-Control-Allow-Headers", CORS_HEADERS);
	evhttp_add_header(h, "Access-Control-Max-Age", CORS_MAX_AGE);
	evhttp_add_header(h, "Allow", methods);
	/* 204 has no body; evhttp sends no Content-Length with it. */
	evhttp_send_reply(req, 204, "No Content", NULL);
	return 1;
}
