/*
 * api.h: the HTTP API (api.cc) and its Prometheus page (metrics.cc).
 */
#ifndef SLUICE_API_H
#define SLUICE_API_H

#include "sluice.h"

struct config;

/* api.cc: the HTTP API (evhttp). */
int		 api_start(struct config *);
void		 api_reload(struct config *);
void		 api_stop(void);


/* metrics.cc: GET /metrics, Prometheus text format 0.0.4. */
void		 metrics_render(struct evbuffer *, int64_t now_ms);

#endif /* SLUICE_API_H */
