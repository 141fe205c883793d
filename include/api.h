/*
 * api.h: the HTTP API (api.cc), its Prometheus page (metrics.cc) and
 * btcpool's switch API on the same listener (switchapi.cc).
 */
#ifndef SLUICE_API_H
#define SLUICE_API_H

#include "sluice.h"

struct config;
struct evhttp_request;

#define API_JSON	"application/json"
#define API_BODY_MAX	65536		/* request body, switch API off */

/* api.cc: the HTTP API (evhttp). */
int		 api_start(struct config *);
void		 api_reload(struct config *);
void		 api_stop(void);
/* For the API's pages in other files (switchapi.cc). */
void		 api_reply(struct evhttp_request *, int, const char *,
		     struct evbuffer *, const char *);
void		 api_error(struct evhttp_request *, int, const char *,
		     const char *);
int		 api_secret_ok(const void *, size_t, const char *);

/* switchapi.cc: btcpool's switch API (/switch, /switch/multi-user). */
#define SWITCHAPI_BODY_MAX	(1024 * 1024)	/* request body, API on */
int		 switchapi_match(const char *path);
void		 switchapi_request(struct evhttp_request *, const char *path);

/* metrics.cc: GET /metrics, Prometheus text format 0.0.4. */
void		 metrics_render(struct evbuffer *, int64_t now_ms);

#endif /* SLUICE_API_H */
