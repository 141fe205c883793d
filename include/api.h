/*
 * api.h: the HTTP API (api.cc), its Prometheus page (metrics.cc) and its
 * history pages (histapi.cc).
 */
#ifndef SLUICE_API_H
#define SLUICE_API_H

#include "sluice.h"

struct config;
struct evhttp_request;

/* api.cc: the HTTP API (evhttp). */
int		 api_start(struct config *);
void		 api_reload(struct config *);
void		 api_stop(void);
/* For the pages in other files. */
void		 api_error(struct evhttp_request *, int, const char *,
		     const char *);
void		 api_str(struct evbuffer *, const char *);

/* histapi.cc: GET /1/history and /1/history/workers. */
int		 histapi_history(struct evhttp_request *, struct evbuffer *,
		     int64_t);
int		 histapi_workers(struct evhttp_request *, struct evbuffer *,
		     int64_t);


/* metrics.cc: GET /metrics, Prometheus text format 0.0.4. */
void		 metrics_render(struct evbuffer *, int64_t now_ms);

#endif /* SLUICE_API_H */
