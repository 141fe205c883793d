/*
 * api.h: the HTTP API (api.cc), its Prometheus page (metrics.cc),
 * btcpool's switch API on the same listener (switchapi.cc), the web
 * dashboard (dashboard.cc) and the history pages (histapi.cc).
 */
#ifndef SLUICE_API_H
#define SLUICE_API_H

#include "sluice.h"

struct config;
struct evhttp_request;
struct strlist;

#define API_JSON	"application/json"
#define API_BODY_MAX	65536		/* request body, switch API off */

/* api.cc: the HTTP API (evhttp). */
int		 api_start(struct config *);
void		 api_reload(struct config *);
void		 api_stop(void);
/* For the API's pages in other files (switchapi.cc, histapi.cc). */
void		 api_reply(struct evhttp_request *, int, const char *,
		     struct evbuffer *, const char *);
void		 api_error(struct evhttp_request *, int, const char *,
		     const char *);
int		 api_secret_ok(const void *, size_t, const char *);
void		 api_foreach_path(void (*)(const char *, void *), void *);
const char	*api_peer(struct evhttp_request *, char *, size_t);
void		 api_str(struct evbuffer *, const char *);
int		 api_hold(struct evhttp_request *, void (*)(void *), void *);
void		 api_unhold(struct evhttp_request *);

/* histapi.cc: GET /1/history and /1/history/workers. */
int		 histapi_history(struct evhttp_request *, struct evbuffer *,
		     int64_t);
int		 histapi_workers(struct evhttp_request *, struct evbuffer *,
		     int64_t);

/*
 * capapi.cc: GET, POST and DELETE /1/capture, GET /1/capture/stream
 * (Server-Sent Events).
 */
#define CAPAPI_PATH		"/1/capture"
#define CAPAPI_STREAM_PATH	"/1/capture/stream"
int		 capapi_match(const char *path);
void		 capapi_request(struct evhttp_request *, const char *path);
void		 capapi_stop(void);

/* cors.cc: CORS headers of the API's answers (http.cors-origin). */
void		 cors_headers(struct evhttp_request *);
int		 cors_preflight(struct evhttp_request *, const char *methods);

/*
 * apiconfig.cc: GET and PUT /1/config. Replacing the configuration is
 * main.cc's (the build and apply of a reload), handed over as a function:
 * it builds root as the config file, writes it with apiconfig_write()
 * and applies it, or says why not in errors.
 */
#define APICONFIG_PATH		"/1/config"
#define APICONFIG_BODY_MAX	(1024 * 1024)	/* a PUT's body */
enum apiconfig_result {
	APICONFIG_APPLIED,
	APICONFIG_INVALID,	/* does not build: 400, nothing changed */
	APICONFIG_FAILED,	/* not written: 500, nothing changed */
	APICONFIG_UNAVAILABLE	/* stopping, or no way to apply: 503 */
};
typedef enum apiconfig_result (*apiconfig_apply_fn)(json_t *root,
		     struct strlist *errors, struct strlist *warnings);
void		 apiconfig_set_apply(apiconfig_apply_fn);
int		 apiconfig_allowed(const struct config *);
const char	*apiconfig_methods(void);
void		 apiconfig_request(struct evhttp_request *);
int		 apiconfig_write(const char *path, json_t *root,
		     struct strlist *errors);

/* switchapi.cc: btcpool's switch API (/switch, /switch/multi-user). */
#define SWITCHAPI_BODY_MAX	(1024 * 1024)	/* request body, API on */
int		 switchapi_match(const char *path);
void		 switchapi_request(struct evhttp_request *, const char *path);

/* metrics.cc: GET /metrics, Prometheus text format 0.0.4. */
void		 metrics_render(struct evbuffer *, int64_t now_ms);
void		 metrics_label_value(struct evbuffer *, const char *);

/*
 * dashboard.cc: the web page at / and its files, built in from www/ by
 * contrib/embed.sh, which writes dashboard_files[] (one per file).
 */
struct dashboard_file {
	const char		*name;	/* "index.html" */
	const unsigned char	*data;
	size_t			 len;
};
extern const struct dashboard_file dashboard_files[];
extern const size_t	 dashboard_nfiles;

int		 dashboard_request(struct evhttp_request *, const char *path);
int		 dashboard_path(const char *path);

#endif /* SLUICE_API_H */
