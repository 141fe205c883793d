/*
 * config.h: the configuration snapshot (config.cc).
 */
#ifndef SLUICE_CONFIG_H
#define SLUICE_CONFIG_H

#include "proxyproto.h"
#include "sluice.h"
#include "stats.h"

#define CONFIG_MAX_COINS	32

/* config.cc */
enum proxy_mode {
	MODE_NICEHASH,
	MODE_SIMPLE
};

enum workers_mode {
	WORKERS_NONE,
	WORKERS_RIGID,		/* rigid, else user */
	WORKERS_USER,
	WORKERS_PASSWORD,
	WORKERS_AGENT,
	WORKERS_IP
};

/*
 * What a failed Lua hook call decides (policy.on-error). builtin is the
 * built-in decision, which fails open; deny fails closed (policy.cc).
 */
enum on_error {
	ON_ERROR_BUILTIN,
	ON_ERROR_DENY
};

/* A redis://[[user]:password@]host[:port][/db] URL, split. */
struct redis_url {
	char		*host;
	int		 port;		/* 6379 by default */
	char		*user;		/* AUTH user, or NULL */
	char		*password;	/* or NULL; a secret */
	int		 db;		/* 0 by default */
	char		 where[300];	/* host:port/db, no password */
};

/*
 * What miners speak on a bind: stratum lines (over TCP or TLS, or in
 * WebSocket text messages when websocket is set), or Xatum (TLS only).
 */
enum bind_protocol {
	BIND_STRATUM,
	BIND_XATUM
};

#define BIND_PATH_MAX	256	/* a WebSocket bind's "path" */

struct bind_conf {
	char		*host;
	int		 port;
	int		 tls;
	int		 websocket;	/* stratum in WebSocket messages */
	char		*path;		/* the upgrade's path; "/" */
	enum bind_protocol protocol;
	int		 proxy_protocol;	/* a PROXY header comes first */
	struct proxyproto_net *proxy_from;	/* trusted sources */
	size_t		 nproxy_from;
	int		 proxy_timeout;		/* s to send the header */
};

/* "fleet": the nodes' view of each other through Redis (fleet.h). */
struct fleet_conf {
	char		*redis;		/* redis://..., or NULL: off */
	int		 share_bans;	/* publish and honour bans */
};

struct pool_conf {
	char		*url;		/* as written */
	char		*host;
	int		 port;
	char		*user;
	char		*pass;
	char		*rig_id;
	char		*algo;
	int		 tls;
	char		*tls_fingerprint;	/* lower-case hex, or NULL */
	int		 tls_verify;
	int		 sni;		/* send the host name (SNI) */
	int		 keepalive;
	int		 enabled;
	char		*socks5_host;	/* SOCKS5 proxy, or NULL: direct */
	int		 socks5_port;
	char		*socks5_user;	/* RFC 1929 login, or NULL */
	char		*socks5_pass;	/* a secret: never logged or shown */
};

/*
 * A coin: its own pool list, failover chain and upstreams (coins.h). The
 * top-level "pools" are the coin named "default".
 */
struct coin_conf {
	char		*name;
	char		*algo;		/* "algo", else the first pool's */
	struct pool_conf *pools;	/* enabled pools only, in order */
	size_t		 npools;
};

/* "switch": the sources of the user->coin map (coins.cc). */
struct switch_conf {
	char		*user;		/* Basic auth of /switch; NULL: 404 */
	char		*password;
	char		*user_coin_url;	/* the periodic pull, or NULL */
	int		 interval;	/* s between pulls */
	int		 timeout;	/* s per pull */
	char		*state_file;	/* the map on disk (absolute) */
	char		*redis;		/* redis://[:pw@]host:port/db, or NULL */
	int		 grace;		/* s an old upstream waits for shares */
};

/*
 * "history": the hashrate history (history.h). sample-interval and
 * flush-interval are for tests (defaults 10 and 60 s).
 */
struct history_conf {
	int		 enabled;
	char		*file;		/* absolute */
	int		 days;		/* rows older than this are pruned */
	int		 sample_interval;	/* s: 1, 2, 5 or 10 */
	int		 flush_interval;	/* s: divides 60, a multiple of
						   sample_interval */
};

/*
 * Miner-facing TLS. Without cert and cert_key, tls.cc makes a
 * self-signed certificate in memory for gen (else the host name).
 */
struct tls_conf {
	int		 enabled;
	char		*cert;
	char		*cert_key;
	char		*ciphers;	/* TLS 1.2 and below */
	char		*ciphersuites;	/* TLS 1.3 */
	char		*protocols;
	char		*dhparam;	/* DH parameters for DHE, PEM */
	char		*gen;		/* the self-signed certificate's name */
};

/* The capture of stratum lines (capture.cc). */
struct capture_conf {
	int		 enabled;
	size_t		 messages;	/* records kept, at most */
	size_t		 max_bytes;	/* bytes they hold, at most */
	char		*file;		/* NDJSON appended, or NULL */
	int		 show_passwords;	/* leave "pass" unmasked */
};

struct http_conf {
	int		 enabled;
	char		*host;
	int		 port;
	char		*access_token;
	int		 restricted;
	int		 timeout;	/* s per request, from the connection's
					   start or the previous answer */
	int		 max_connections;	/* API connections at once */
	int		 dashboard;	/* serve the web page at / */
	char		*cors_origin;	/* Access-Control-Allow-Origin, or
					   NULL: no CORS */
};

/*
 * "debug": the debug endpoint (debug.cc), on its own listener. A host
 * that is not a loopback address needs allow_remote and access_token.
 */
struct debug_conf {
	int		 enabled;
	char		*host;
	int		 port;
	int		 allow_remote;
	char		*access_token;	/* NULL: none (loopback only) */
};

/*
 * An immutable configuration snapshot. Holders take a reference; a reload
 * builds a new snapshot and swaps sl.conf, so a connection made before the
 * reload keeps the snapshot it started with until it lets go.
 */
struct config {
	int		 refs;
	json_t		*json;		/* the object loaded, as it was
					   (GET /1/config shows it masked) */
	char		*path;
	char		*dir;		/* folder of path, for relative files */
	enum proxy_mode	 mode;
	struct bind_conf *binds;
	size_t		 nbinds;
	struct coin_conf *coins;	/* at least one */
	size_t		 ncoins;
	size_t		 default_coin;	/* index of default-coin */
	struct pool_conf *pools;	/* the default coin's (not owned) */
	size_t		 npools;
	struct switch_conf sw;
	struct fleet_conf fleet;
	int		 reuse_port;	/* SO_REUSEPORT on the stratum binds */
	struct history_conf history;
	struct capture_conf capture;
	struct tls_conf	 tls;
	struct http_conf http;
	struct debug_conf debug;
	char		*access_password;
	uint64_t	 custom_diff;
	int		 custom_diff_stats;
	int		 algo_ext;
	enum workers_mode workers;
	char		*access_log_file;
	char		*share_log_file;
	char		*log_file;
	char		*pid_file;
	char		*user_agent;	/* sent to pools; NULL: SLUICE_AGENT */
	char		*api_id;	/* /1/summary's id; NULL: random */
	char		*api_worker_id;	/* its worker_id; NULL: host name */
	int		 reuse_timeout;
	int		 retries;
	int		 retry_pause;
	int		 retry_pause_max;	/* cap of the failover backoff */
	int		 pool_min_session;	/* shorter sessions are failures */
	int		 failover_standby;	/* -1: auto (config_standby) */
	int		 watch;
	int		 verbose;
	int		 syslog;
	int		 print_time;
	int		 background;
	int		 max_connections;
	int		 max_upstreams;
	int		 pool_connect_timeout;
	int		 pool_response_timeout;
	int		 pool_quiet_probe;	/* s of pool silence, 0 = off */
	size_t		 max_output;	/* bytes queued to one miner */
	int		 workers_max;
	int		 metrics_per_worker;	/* metrics.per-worker */
	char		**lua_scripts;	/* absolute paths, in load order */
	size_t		 nlua_scripts;
	long long	 lua_instruction_limit;
	long long	 lua_memory_limit;	/* MiB */
	enum on_error	 on_error[STATS_NHOOKS]; /* policy.on-error, per hook */
	int		 rate_limit_per_minute;	/* 0 = off */
	int		 rate_limit_ban;	/* seconds */
	char		**ws_origins;	/* websocket-origins; none: any */
	size_t		 nws_origins;
};

struct config	*config_load(const char *path, struct strlist *errors,
		     struct strlist *warnings);
struct config	*config_build(const char *path, json_t *root,
		     struct strlist *errors, struct strlist *warnings);
json_t		*config_parse(const char *name, const char *text, size_t len,
		     struct strlist *errors);
struct config	*config_ref(struct config *);
void		 config_unref(struct config *);
const char	*config_mode_text(enum proxy_mode);
const char	*config_workers_text(enum workers_mode);
const char	*config_on_error_text(enum on_error);
int		 config_parse_url(const char *, char **host, int *port,
		     int *tls, const char **why);
int		 config_standby(const struct config *);
int		 config_redis_url(const char *, struct redis_url *);
void		 config_redis_url_clear(struct redis_url *);
int		 config_pools_equal(const struct config *, const struct config *);
const struct coin_conf *config_coin(const struct config *, const char *name);
int		 config_coin_index(const struct config *, const char *name);
int		 config_coin_name_ok(const char *, size_t len);
int		 config_host_loopback(const char *);

/* config_xmrig.cc: the objects whose xmrig-proxy keys it knows. */
enum config_xmrig_obj {
	XMRIG_NONE,
	XMRIG_TOP,
	XMRIG_POOL,
	XMRIG_API,
	XMRIG_DNS
};

int		 config_xmrig_key(enum config_xmrig_obj, const char *file,
		     const char *prefix, const char *key, json_t *,
		     struct strlist *warnings);

/* config_file.cc */
ssize_t		 config_file_strip(char *, size_t, int *line, int *col);
json_t		*config_file_read(const char *, struct strlist *errors);
json_t		*config_file_parse(const char *name, const char *, size_t,
		     struct strlist *errors);
json_t		*config_file_lay(json_t *);
void		 config_file_set_overlay(json_t *, int optional);


#endif /* SLUICE_CONFIG_H */
