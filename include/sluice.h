/*
 * sluice.h: the one project header. Shared structs and every cross-file
 * prototype, grouped by the file that defines them.
 *
 * Data flows one way: listener -> miner -> policy -> splitter (nicehash or
 * simple) -> pool; pool replies come back through share_finish(), which is
 * the one place a share ends (reply, counters, logs).
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <jansson.h>

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "0.0.0"
#endif
#ifndef SLUICE_CONFDIR
#define SLUICE_CONFDIR "/etc/sluice"
#endif

#define SLUICE_AGENT		"sluice/" SLUICE_VERSION
#define SLUICE_MAX_LINE		16384	/* stratum line limit, both sides */
#define SLUICE_LOGIN_TIMEOUT	10	/* seconds to send login */
#define SLUICE_IDLE_TIMEOUT	600	/* seconds without submit/keepalive */
#define SLUICE_SLOTS		256	/* NiceHash slots per upstream */
#define SLUICE_SESSION_LEN	16	/* hex chars in a session id */
#define SLUICE_REQID_MAX	40	/* JSON text of a request id */

#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))

struct miner;
struct mapper;
struct pool;
struct strategy;
struct share;
struct job;

/* xmalloc.cc */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xrealloc(void *, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
size_t		 xstrlcpy(char *, const char *, size_t);
uint32_t	 strhash(const char *);
int		 xasprintf(char **, const char *, ...) PRINTFLIKE(2, 3);
int		 xvasprintf(char **, const char *, va_list);
#define XCALLOC(type, n) ((type *)xcalloc((n), sizeof(type)))

/* A growable list of owned strings (config errors, warnings). */
struct strlist {
	char	**v;
	size_t	  n;
};
void		 strlist_add(struct strlist *, const char *, ...) PRINTFLIKE(2, 3);
void		 strlist_clear(struct strlist *);

/* intern.cc: shared copies of strings many miners repeat. */
char		*intern(const char *);
void		 intern_drop(const char *);
size_t		 intern_count(void);

/* log.cc */
void		 log_init(int foreground, int verbose);
void		 log_open_file(const char *);
int		 log_reopen(void);
void		 log_set_syslog(int);
void		 log_set_verbose(int);
int		 log_get_verbose(void);
void		 log_warn(const char *, ...) PRINTFLIKE(1, 2);
void		 log_warnx(const char *, ...) PRINTFLIKE(1, 2);
void		 log_info(const char *, ...) PRINTFLIKE(1, 2);
void		 log_debug(const char *, ...) PRINTFLIKE(1, 2);
void		 log_debug2(const char *, ...) PRINTFLIKE(1, 2);
void		 log_ssl_errors(const char *);
const char	*log_escape(char *, size_t, const char *, int quoted);
const char	*log_esc(const char *);
const char	*log_word(const char *);
NORETURN void	 fatal(const char *, ...) PRINTFLIKE(1, 2);
NORETURN void	 fatalx(const char *, ...) PRINTFLIKE(1, 2);

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

struct bind_conf {
	char		*host;
	int		 port;
	int		 tls;
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
	int		 keepalive;
	int		 enabled;
};

struct tls_conf {
	int		 enabled;
	char		*cert;
	char		*cert_key;
	char		*ciphers;
	char		*protocols;
};

struct http_conf {
	int		 enabled;
	char		*host;
	int		 port;
	char		*access_token;
	int		 restricted;
};

/*
 * An immutable configuration snapshot. Holders take a reference; a reload
 * builds a new snapshot and swaps sl.conf, so a connection made before the
 * reload keeps the snapshot it started with until it lets go.
 */
struct config {
	int		 refs;
	char		*path;
	char		*dir;		/* folder of path, for relative files */
	enum proxy_mode	 mode;
	struct bind_conf *binds;
	size_t		 nbinds;
	struct pool_conf *pools;	/* enabled pools only, in order */
	size_t		 npools;
	struct tls_conf	 tls;
	struct http_conf http;
	char		*access_password;
	uint64_t	 custom_diff;
	int		 custom_diff_stats;
	int		 algo_ext;
	enum workers_mode workers;
	char		*access_log_file;
	char		*share_log_file;
	char		*log_file;
	char		*pid_file;
	int		 reuse_timeout;
	int		 retries;
	int		 retry_pause;
	int		 watch;
	int		 verbose;
	int		 syslog;
	int		 print_time;
	int		 background;
	int		 max_connections;
	int		 max_upstreams;
	int		 pool_connect_timeout;
	int		 pool_response_timeout;
	size_t		 max_output;	/* bytes queued to one miner */
	int		 workers_max;
	char		**lua_scripts;	/* absolute paths, in load order */
	size_t		 nlua_scripts;
	long long	 lua_instruction_limit;
	long long	 lua_memory_limit;	/* MiB */
	int		 rate_limit_per_minute;	/* 0 = off */
	int		 rate_limit_ban;	/* seconds */
};

struct config	*config_load(const char *path, struct strlist *errors,
		     struct strlist *warnings);
struct config	*config_ref(struct config *);
void		 config_unref(struct config *);
const char	*config_mode_text(enum proxy_mode);
const char	*config_workers_text(enum workers_mode);
int		 config_parse_url(const char *, char **host, int *port,
		     int *tls, const char **why);
int		 config_pools_equal(const struct config *, const struct config *);

/* stratum.cc: wire format helpers; pure, unit-tested. */
int		 stratum_is_hex(const char *, size_t);
uint64_t	 stratum_target_diff(const char *hex, size_t len);
void		 stratum_diff_target(uint64_t diff, char out[9]);
uint64_t	 stratum_result_diff(const char *hex64);
int		 stratum_nonce_byte3(const char *nonce8);
void		 stratum_hex_byte(uint8_t, char out[2]);
int		 stratum_reqid(json_t *, char out[SLUICE_REQID_MAX]);
void		 stratum_random_hex(char *out, size_t len);
size_t		 stratum_error_line(char *buf, size_t cap, const char *reqid,
		     const char *message);
size_t		 stratum_status_line(char *buf, size_t cap, const char *reqid,
		     const char *status);

/* A flat JSON object scanned in place (stratum_scan). */
#define JFLAT_MAX	12
struct jmember {
	const char	*key;
	size_t		 klen;
	const char	*val;		/* strings: NUL-terminated in place */
	size_t		 vlen;
	char		 type;		/* s n o a z t f */
};
struct jobj {
	struct jmember	 m[JFLAT_MAX];
	int		 n;
};
struct jflat {
	struct jobj	 top;
	struct jobj	 sub;		/* the one nested object allowed */
};
int		 stratum_scan(char *line, size_t len, struct jflat *);
void		 stratum_terminate(struct jflat *);
const struct jmember *stratum_member(const struct jobj *, const char *);
int		 stratum_is(const struct jmember *, const char *);
int		 stratum_array_next(const struct jmember *, const char **,
		     const char **, size_t *);

/* job.cc */
/*
 * One upstream job, encoded once. The notification sent to a miner is
 *   head[0..head_len) with the slot byte patched at slot_off,
 *   then the target, then ","id":"SESSION"}}\n;
 * the job object of a login reply is the same from JOB_PARAMS_OFF on.
 */
struct job {
	int		 refs;
	char		*blob;
	size_t		 blob_len;
	char		*job_id;
	char		*target;	/* as the pool sent it */
	uint64_t	 diff;		/* pool difficulty from target */
	char		*algo;		/* or NULL */
	uint64_t	 height;	/* 0 when absent */
	char		*seed_hash;	/* or NULL */
	int		 send_algo;	/* algo goes to miners */
	int		 has_height;
	char		*qjob_id;	/* job_id as a JSON string literal */
	char		*qalgo;		/* algo likewise, or NULL */
	char		*head;
	size_t		 head_len;
	size_t		 slot_off;	/* of the slot byte in head */
};
#define JOB_NONCE_OFF	39	/* nonce: 4 LE bytes at blob offset 39 */
#define JOB_SLOT_OFF	42	/* NiceHash fixed byte: nonce byte 3 */
#define JOB_PARAMS_OFF	41	/* head: where the params object starts */

struct job	*job_parse(json_t *, int algo_ext, const char **why);
struct job	*job_ref(struct job *);
void		 job_unref(struct job *);
size_t		 job_render(const struct job *, int slot, const char *target,
		     const char *session, char *buf, size_t cap);
size_t		 job_render_object(const struct job *, int slot,
		     const char *target, const char *session, char *buf,
		     size_t cap);
void		 job_blob_slot(char *blob, size_t len, uint8_t slot);

/* A nonce set for duplicate detection; open addressing, bounded. */
struct nonceset {
	uint32_t	*v;		/* 0 is the empty marker, stored +1 */
	uint32_t	 cap;
	uint32_t	 n;
	int		 has_zero;
};
#define NONCESET_MAX	(1u << 20)	/* shares per job before we stop tracking */
int		 nonceset_add(struct nonceset *, uint32_t);	/* 1 new, 0 dup */
void		 nonceset_clear(struct nonceset *);
void		 nonceset_free(struct nonceset *);

/* share.cc */
enum share_result {
	SHARE_ACCEPTED,		/* pool said OK */
	SHARE_REJECTED,		/* pool said no */
	SHARE_INVALID,		/* failed a local check */
	SHARE_DUPLICATE,	/* nonce already seen for that job */
	SHARE_LOCAL,		/* met custom diff only: OK, not forwarded */
	SHARE_BAD_GATEWAY,	/* no upstream to send it to */
	SHARE_TIMEOUT		/* pool never answered */
};

/*
 * A share in flight. Holds a reference on its miner until it ends in
 * share_finish(), which is the only place a share ends.
 */
struct share {
	struct miner	*miner;
	char		 reqid[SLUICE_REQID_MAX];
	char		 nonce[9];
	uint32_t	 nonce_le;
	char		 result[65];
	uint64_t	 diff;		/* actual, from result */
	uint64_t	 pool_diff;	/* difficulty of its job at the pool */
	int		 expired;	/* for the previous job */
	int64_t		 seq;		/* pool request id */
	struct timespec	 sent;
	TAILQ_ENTRY(share) entry;
};
TAILQ_HEAD(shareq, share);

struct share	*share_new(struct miner *);
void		 share_finish(struct share *, enum share_result,
		     const char *message);
const char	*share_result_text(enum share_result);
size_t		 share_inflight(void);

/* miner.cc */
enum miner_state {
	MINER_WAIT_LOGIN,
	MINER_WAIT_READY,
	MINER_READY,
	MINER_CLOSING
};

/*
 * wire.cc: a miner's connection. Plain TCP: a read event embedded here,
 * a backlog only while the kernel does not take what we send. TLS: an
 * OpenSSL bufferevent. Both: a partial line only while one is pending.
 */
struct wire_out;
struct wire {
	evutil_socket_t	 fd;		/* -1 once closed */
	struct event	 rev;		/* plain: reads */
	struct wire_out	*out;		/* plain: backlog, or NULL */
	char		*in;		/* a partial line, or NULL */
	uint32_t	 inlen;
	unsigned	 reading:1;	/* rev is added */
	unsigned	 paused:1;	/* back-pressure */
	unsigned	 finishing:1;	/* close once the backlog is out */
	struct bufferevent *bev;	/* TLS only */
};

struct miner {
	uint64_t	 id;
	int		 refs;
	enum miner_state state;
	struct wire	 wire;
	int		 local_port;
	int		 tls;
	char		 ip[64];
	int		 port;
	char		 session[SLUICE_SESSION_LEN + 1];
	char		*login;		/* params.login as sent (interned) */
	char		*user;		/* login without the +diff suffix
					   (interned after login) */
	char		*pass;		/* interned */
	char		*agent;		/* interned */
	char		*rigid;
	json_t		*algos;		/* params.algo, during login only */
	int		 logged_in;	/* counted in miners_now */
	char		*worker;	/* worker name, per workers mode */
	struct worker	*worker_rec;	/* workers.cc record, or NULL */
	char		 login_id[SLUICE_REQID_MAX];	/* for a late reply */
	uint64_t	 custom_diff;
	uint64_t	 diff;		/* difficulty of the last target sent */
	struct job	*job;		/* last job sent */

	struct mapper	*mapper;	/* nicehash: owner and slot */
	int		 slot;
	struct simple_route *route;	/* simple mode */

	time_t		 connected;	/* monotonic seconds */
	time_t		 last_active;
	uint64_t	 rx;
	uint64_t	 tx;
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint64_t	 invalid;
	const char	*close_reason;
	TAILQ_ENTRY(miner) entry;
};
TAILQ_HEAD(minerq, miner);

void		 miner_accept(evutil_socket_t, struct sockaddr *, int,
		     int local_port, int tls);
void		 miner_line(struct miner *, char *, size_t);
void		 miner_close(struct miner *, const char *reason, int is_error);
void		 miner_unref(struct miner *);
struct miner	*miner_ref(struct miner *);
void		 miner_send_job(struct miner *, struct job *);
void		 miner_login_done(struct miner *, struct job *);
void		 miner_reply_error(struct miner *, const char *reqid,
		     const char *message);
void		 miner_reply_status(struct miner *, const char *reqid,
		     const char *status);
void		 miner_tick(time_t now);
void		 miner_close_all(const char *reason);
void		 miner_quiesce(void);
void		 miner_reap(void);
void		 miner_shutdown(void);
const char	*miner_state_text(enum miner_state);
size_t		 miner_count(void);
uint64_t	 miner_target_diff(const struct miner *, const struct job *,
		     char target[17]);

/* wire.cc */
int		 wire_open(struct miner *, evutil_socket_t, int tls);
void		 wire_write(struct miner *, const char *, size_t);
void		 wire_finish(struct miner *);
void		 wire_quiesce(struct miner *);
void		 wire_close(struct miner *);

/* listener.cc */
int		 listener_open_all(struct config *);
void		 listener_close_all(void);
void		 listener_pause(void);
const char	*listener_ip(const struct sockaddr *, char *, size_t);
void		 listener_tick(time_t now);

/*
 * policy.cc: connection admission (with ratelimit.cc), login acceptance,
 * custom difficulty, worker naming and simple mode's upstream login. The
 * built-in policy and the Lua policy (lua.cc) have the same interface; a
 * script error falls back to the built-in. policy_login() must precede
 * policy_custom_diff() and policy_worker_name() for the same miner, as
 * miner_login() calls them: custom_diff(m) gets that miner's table.
 */
struct policy;
struct policy	*policy_load(struct config *, struct strlist *errors);
void		 policy_swap(struct policy *);
void		 policy_free(struct policy *);
int		 policy_files_changed(void);
int		 policy_connect(const struct config *, const char *ip,
		     int local_port, int tls);
void		 policy_disconnect(const char *ip);
void		 policy_tick(time_t now);
int		 policy_upstream_login(const struct config *,
		     const struct miner *, char **user, char **pass);
const char	*policy_login(const struct config *, const struct miner *);
void		 policy_custom_diff(const struct config *, const struct miner *,
		     char **user, uint64_t *diff);
char		*policy_worker_name(const struct config *, const struct miner *);
size_t		 policy_lua_memory(void);
/* The built-in policy: the fallback of every hook. */
const char	*policy_builtin_login(const struct config *,
		     const struct miner *);
void		 policy_builtin_custom_diff(const struct config *,
		     const char *login, char **user, uint64_t *diff);
char		*policy_builtin_worker_name(const struct config *,
		     const struct miner *);

/*
 * lua.cc: the sandboxed policy VM and the one hook-call wrapper. Hooks
 * are indexed by enum stats_hook. Each lua_vm_<hook>() returns -1 when
 * the call failed (already logged and counted): use the built-in then.
 */
struct luavm;
struct lua_conn {
	const char	*ip;
	int		 port;		/* local bind port */
	int		 tls;
	int		 allowed;	/* the native verdict */
	double		 tokens;	/* left in the bucket; HUGE_VAL: off */
	int		 connections;	/* open now from ip */
};
struct luavm	*lua_vm_load(struct config *, struct strlist *errors);
void		 lua_vm_free(struct luavm *);
int		 lua_vm_has(const struct luavm *, int hook);
size_t		 lua_vm_memory(const struct luavm *);
int		 lua_vm_files_changed(struct luavm *);
int		 lua_vm_connect(struct luavm *, const struct lua_conn *,
		     int *decided, int *allow, int *ban);
int		 lua_vm_login(struct luavm *, const struct miner *,
		     const char **why);
int		 lua_vm_custom_diff(struct luavm *, const struct miner *,
		     const char *login, char **user, uint64_t *diff);
int		 lua_vm_worker_name(struct luavm *, const struct miner *,
		     const char *mode, char **name);
int		 lua_vm_upstream_login(struct luavm *, const struct miner *,
		     char **user, char **pass);
extern int	 lua_alloc_fallback;	/* tests: force luaL_newstate */

/* lua_sandbox.cc: a policy VM's sandbox and its "sluice" table. */
struct lua_State;
struct lua_sandbox {
	const struct config *conf;	/* sluice.config, check_password */
	int		 locked;	/* globals frozen: hook time */
	int		 globals_ref;	/* registry: the real global table */
	int		 proxies_ref;	/* registry: proxy -> backing table */
};
int		 lua_sandbox_open(struct lua_State *);	/* lua_cpcall */
void		 lua_where(struct lua_State *, int level, char *, size_t);
void		 lua_field_str(struct lua_State *, const char *key,
		     const char *);
void		 lua_field_num(struct lua_State *, const char *key, double);
void		 lua_field_bool(struct lua_State *, const char *key, int);

/* ratelimit.cc: per-IP token buckets, bans and connection counts. */
enum rl_verdict {
	RL_OK,			/* took a token */
	RL_EMPTY,		/* no token left */
	RL_BANNED
};
enum rl_verdict	 ratelimit_take(const char *ip, int per_minute,
		     int64_t now_ms, double *tokens, int *conns);
int		 ratelimit_ban(const char *ip, int seconds, int64_t now_ms);
void		 ratelimit_connected(const char *ip, int64_t now_ms);
void		 ratelimit_disconnected(const char *ip);
void		 ratelimit_expire(int64_t now_ms);
int		 ratelimit_info(const char *ip, int64_t now_ms, double *tokens,
		     int *conns, int *banned_s);
size_t		 ratelimit_count(void);
void		 ratelimit_set_max(size_t);
void		 ratelimit_clear(void);

/* pool.cc: one outbound stratum connection. */
enum pool_state {
	POOL_CONNECTING,
	POOL_LOGIN,		/* login sent, waiting for the reply */
	POOL_ACTIVE,		/* logged in, has a job */
	POOL_CLOSED
};

enum pool_fail {
	POOL_FAIL_NONE,
	POOL_FAIL_CONNECT,
	POOL_FAIL_DNS,
	POOL_FAIL_TIMEOUT,
	POOL_FAIL_TLS,
	POOL_FAIL_PARSE,
	POOL_FAIL_CLOSED,
	POOL_FAIL_LOGIN,
	POOL_FAIL_OVERFLOW,
	POOL_FAIL_MAX
};

struct pool {
	uint64_t	 id;
	char		 name[280];	/* host:port */
	int		 ready;		/* has sent its first job */
	int		 tls;
	enum pool_state	 state;
	struct strategy	*strategy;	/* owner */
	int		 index;		/* into conf->pools */
	struct config	*conf;		/* reference */
	struct bufferevent *bev;
	char		*qsession;	/* the pool's id for us, JSON-quoted */
	int		 ext_algo;
	int		 ext_keepalive;
	int64_t		 seq;
	int64_t		 login_seq;
	time_t		 state_since;
	time_t		 last_send;
	time_t		 login_sent;
	struct shareq	 pending;	/* in send order */
	size_t		 npending;
	int64_t		 keepalive_seq;	/* outstanding keepalived, or 0 */
	time_t		 keepalive_sent;
	uint64_t	 rx;
	uint64_t	 tx;
};

struct pool	*pool_connect(struct strategy *, struct config *, int index);
void		 pool_close(struct pool *, enum pool_fail, const char *why);
int		 pool_submit(struct pool *, struct share *, const struct job *);
void		 pool_tick(struct pool *, time_t now);
const char	*pool_fail_text(enum pool_fail);
const char	*pool_state_text(enum pool_state);
const char	*pool_name(const struct pool *);
extern uint64_t	 pool_fail_counts[POOL_FAIL_MAX];

/* strategy.cc: failover over the ordered pool list, for one owner. */
struct strategy_ops {
	/* A pool logged in (new session) and sent its first job. */
	void	(*on_job)(void *owner, struct job *, int new_session);
	/* The serving pool went away; the owner's jobs are stale. */
	void	(*on_down)(void *owner);
};

struct strategy {
	uint64_t	 id;
	const struct strategy_ops *ops;
	void		*owner;
	struct pool	*cur;		/* serving, or being tried */
	int		 cur_index;
	int		 fails;		/* consecutive failures of cur_index */
	struct pool	*probe;		/* primary, retried while on a backup */
	struct event	*retry_ev;
	struct event	*probe_ev;
	uint64_t	 session_gen;	/* bumped on every successful login */
	int		 up;		/* serving pool logged in with a job */
	int		 down_logged;
	char		*user;		/* override of the pool user, or NULL */
	char		*pass;
};

struct strategy	*strategy_new(const struct strategy_ops *, void *owner);
void		 strategy_free(struct strategy *);
void		 strategy_start(struct strategy *);
void		 strategy_restart(struct strategy *);
struct pool	*strategy_pool(struct strategy *);
int		 strategy_is_up(const struct strategy *);
/* from pool.cc */
void		 strategy_pool_ready(struct strategy *, struct pool *,
		     struct job *);
void		 strategy_pool_job(struct strategy *, struct pool *,
		     struct job *);
void		 strategy_pool_failed(struct strategy *, struct pool *,
		     enum pool_fail);
void		 strategy_tick(struct strategy *, time_t now);

/* simple.cc */
void		 simple_start(void);
int		 simple_login(struct miner *);
void		 simple_submit(struct miner *, struct share *,
		     const char *job_id, const char *algo);
void		 simple_close(struct miner *);
void		 simple_tick(time_t now);
void		 simple_reload(void);
void		 simple_disconnect(void);
void		 simple_stop(void);
void		 simple_upstreams(uint64_t *, uint64_t *, uint64_t *,
		     uint64_t *);
struct upstream_stats *simple_ustats(struct simple_route *);

/*
 * splitter.cc: picks the mode's splitter, and holds what both splitters
 * share: an upstream's current and previous job (the previous one only
 * within the same pool session) with their duplicate-nonce sets, and the
 * share checks made against them.
 */
struct jobs {
	struct job	*job;		/* current */
	struct job	*prev;		/* previous, same pool session */
	struct nonceset	 seen;		/* nonces submitted for job */
	struct nonceset	 prev_seen;
};
void		 jobs_set(struct jobs *, struct job *, int new_session);
void		 jobs_clear(struct jobs *);
void		 jobs_submit(struct jobs *, struct strategy *, struct share *,
		     const char *job_id, const char *algo);

/* stats.cc: per-upstream share counters, embedded in struct mapper. */
#define UPSTREAM_LATENCY_SAMPLES 64
struct upstream_stats {
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint32_t	 latency[UPSTREAM_LATENCY_SAMPLES];	/* ms, a ring */
	uint32_t	 nlatency;	/* samples ever taken */
};

/* nicehash.cc */
enum slot_state {
	SLOT_FREE,
	SLOT_ACTIVE,
	SLOT_DEAD		/* freed, unusable until the next job */
};

/* The 256-slot table of one upstream; pure, unit-tested. */
struct nonce_storage {
	struct miner	*miners[SLUICE_SLOTS];
	uint8_t		 state[SLUICE_SLOTS];
	int		 cursor;
	int		 nactive;
	int		 ndead;
};

struct mapper {
	uint64_t	 id;
	struct nonce_storage storage;
	struct strategy	*strategy;
	struct jobs	 jobs;		/* current and previous job */
	int		 suspended;
	int		 idle_rounds;	/* GC rounds spent empty */
	uint64_t	 njobs;		/* jobs received */
	struct upstream_stats ustats;	/* stats.cc */
	TAILQ_ENTRY(mapper) entry;
};
TAILQ_HEAD(mapperq, mapper);

void		 storage_init(struct nonce_storage *, int start);
int		 storage_add(struct nonce_storage *, struct miner *);
void		 storage_remove(struct nonce_storage *, int slot);
void		 storage_reset_dead(struct nonce_storage *);
void		 storage_count(const struct nonce_storage *, int *free_,
		     int *dead, int *active);

void		 nicehash_start(void);
int		 nicehash_login(struct miner *);
void		 nicehash_submit(struct miner *, struct share *,
		     const char *job_id, const char *algo);
void		 nicehash_close(struct miner *);
void		 nicehash_gc(void);
void		 nicehash_reload(void);
void		 nicehash_disconnect(void);
void		 nicehash_stop(void);
extern struct mapperq nicehash_mappers;


void		 splitter_start(void);
int		 splitter_login(struct miner *);
void		 splitter_submit(struct miner *, struct share *,
		     const char *job_id, const char *algo);
void		 splitter_close(struct miner *);
void		 splitter_tick(time_t now);
void		 splitter_reload(void);
void		 splitter_disconnect(void);
void		 splitter_stop(void);
void		 splitter_upstreams(uint64_t *active, uint64_t *sleep,
		     uint64_t *error, uint64_t *total);

/* One upstream as monitoring sees it, whatever the mode. */
struct upstream_view {
	uint64_t		 id;
	struct strategy		*strategy;
	struct upstream_stats	*ustats;
	const struct job	*job;		/* current, or NULL */
	uint64_t		 njobs;
	int			 suspended;	/* nicehash: disconnected by GC */
	int			 idle;		/* simple: kept for reuse */
	int			 miners;
	int			 slots_free;	/* nicehash only, else -1 */
	int			 slots_dead;
};
void		 splitter_foreach(void (*)(const struct upstream_view *,
		     void *), void *);
struct upstream_stats *splitter_ustats(struct miner *);
void		 simple_foreach(void (*)(const struct upstream_view *, void *),
		     void *);

/* events.cc: the one place that calls each subsystem, in order. */
void		 events_connect(struct miner *);
void		 events_login(struct miner *);
void		 events_share(struct share *, enum share_result,
		     const char *message);
void		 events_close(struct miner *);
void		 events_tick(time_t now);
void		 events_reopen(void);
void		 events_stop(void);

/*
 * stats.cc: global counters, the ten best shares, pool latency and the
 * hashrate windows, all in fixed memory. Single-threaded: plain integers.
 */
enum stats_window {
	STATS_W60S,
	STATS_W600S,
	STATS_W1H,
	STATS_W12H,
	STATS_W24H,
	STATS_WALL,		/* since start */
	STATS_NWINDOWS
};

/* Lua hooks, for the per-hook error counters. */
enum stats_hook {
	STATS_HOOK_ON_CONNECT,
	STATS_HOOK_ON_LOGIN,
	STATS_HOOK_CUSTOM_DIFF,
	STATS_HOOK_WORKER_NAME,
	STATS_HOOK_UPSTREAM_LOGIN,
	STATS_NHOOKS
};

/* Why a miner connection closed, as a bounded label set. */
enum close_reason {
	CLOSE_MINER,		/* the miner hung up */
	CLOSE_SOCKET_ERROR,
	CLOSE_LOGIN_TIMEOUT,
	CLOSE_IDLE_TIMEOUT,
	CLOSE_LINE_TOO_LONG,
	CLOSE_PROTOCOL_ERROR,
	CLOSE_OVERFLOW,		/* slow reader */
	CLOSE_LOGIN_REJECTED,
	CLOSE_PROXY_FULL,
	CLOSE_BAD_NONCE,
	CLOSE_SHUTDOWN,
	CLOSE_OTHER,
	CLOSE_MAX
};

struct stats {
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint64_t	 invalid;
	uint64_t	 expired;
	uint64_t	 duplicate;
	uint64_t	 local;
	uint64_t	 bad_gateway;
	uint64_t	 timeouts;
	uint64_t	 hashes;	/* sum of counted difficulties */
	uint64_t	 best[10];
	uint64_t	 connections;
	uint64_t	 miners_now;
	uint64_t	 miners_max;
	uint64_t	 logins;
	uint64_t	 lines_too_long;
	uint64_t	 protocol_errors;
	uint64_t	 overflows;
	uint64_t	 refused_full;
	uint64_t	 refused_max_conn;
	uint64_t	 reloads_ok;
	uint64_t	 reloads_failed;
	uint64_t	 bytes_in;
	uint64_t	 bytes_out;
	uint64_t	 ratelimit_denied;
	uint64_t	 lua_errors[STATS_NHOOKS];
	uint64_t	 closed[CLOSE_MAX];
	uint64_t	 workers_evicted;
	uint64_t	 workers_untracked;	/* logins past workers-max */
};
extern struct stats sl_stats;
void		 stats_init(int64_t now_ms);
int64_t		 stats_clock_ms(void);
int64_t		 stats_uptime_ms(int64_t now_ms);
void		 stats_best(uint64_t diff);
void		 stats_hashes(uint64_t diff, int64_t now_ms);
double		 stats_hashrate(enum stats_window, int64_t now_ms);
const char	*stats_window_text(enum stats_window);
void		 stats_latency(uint32_t ms);
uint32_t	 stats_latency_median(void);
uint32_t	 stats_median(const uint32_t *, size_t n);
void		 stats_upstream_share(struct upstream_stats *, int accepted,
		     int64_t latency_ms);
uint32_t	 stats_upstream_latency(const struct upstream_stats *);
const char	*stats_upstream_state(const struct upstream_view *);
enum close_reason stats_close_reason(const struct miner *);
const char	*stats_close_text(enum close_reason);
const char	*stats_hook_text(enum stats_hook);
void		 stats_ring_add(uint64_t *, unsigned n, uint32_t *last,
		     uint32_t idx, uint64_t amount);
uint64_t	 stats_ring_sum(uint64_t *, unsigned n, uint32_t *last,
		     uint32_t idx, unsigned k);
double		 stats_ring_rate(uint64_t sum, int64_t rel_ms,
		     unsigned width, unsigned k, int64_t since_ms);

/*
 * workers.cc: per-worker statistics, keyed by the worker name login gave
 * the miner. At most workers-max records: a new worker evicts the one
 * idle (no connection) the longest. Hashrate buckets are coarser than the
 * global ones so a record stays small.
 */
#define WORKER_R1	6	/* 10 s buckets: the 60 s window */
#define WORKER_R2	12	/* 300 s buckets: 600 s and 1 h */
#define WORKER_R3	24	/* 3600 s buckets: 12 h and 24 h */
struct worker {
	char		*name;		/* stored after the struct */
	struct worker	*hnext;		/* hash chain */
	TAILQ_ENTRY(worker) entry;	/* all, first seen first */
	TAILQ_ENTRY(worker) idle;	/* no connection: least recent last */
	uint32_t	 hash;
	uint32_t	 connections;	/* open now */
	uint32_t	 gen;		/* workers mode generation */
	uint32_t	 last[3];	/* newest bucket of each ring */
	int64_t		 created_ms;	/* stats clock */
	int64_t		 last_share_ms;	/* wall clock, 0 = never */
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint64_t	 invalid;
	uint64_t	 hashes;
	uint64_t	 r1[WORKER_R1];
	uint64_t	 r2[WORKER_R2];
	uint64_t	 r3[WORKER_R3];
	char		 ip[46];
};
TAILQ_HEAD(workerq, worker);
struct worker	*workers_attach(struct miner *, int64_t now_ms);
void		 workers_detach(struct miner *);
void		 workers_share(struct worker *, enum share_result,
		     uint64_t diff, int64_t now_ms);
double		 workers_hashrate(struct worker *, enum stats_window,
		     int64_t now_ms);
void		 workers_tick(void);
void		 workers_clear(void);
struct worker	*workers_first(void);
struct worker	*workers_next(struct worker *);
size_t		 workers_count(void);
size_t		 workers_memory(void);

/* logfile.cc: the access log and the share log. */
enum logfile_kind {
	LOGFILE_ACCESS,
	LOGFILE_SHARE,
	LOGFILE_MAX
};
void		 logfile_reopen(const struct config *);
void		 logfile_flush(void);
void		 logfile_close(void);
void		 logfile_connect(const struct miner *);
void		 logfile_disconnect(const struct miner *);
void		 logfile_share(const struct share *, enum share_result,
		     const char *message, uint64_t diff, int64_t latency_ms);
uint64_t	 logfile_errors(enum logfile_kind);
uint64_t	 logfile_dropped(enum logfile_kind);
uint64_t	 logfile_lines(enum logfile_kind);

/* metrics.cc: GET /metrics, Prometheus text format 0.0.4. */
void		 metrics_render(struct evbuffer *, int64_t now_ms);

/* tls.cc */
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
int		 tls_server_wanted(const struct config *);
int		 tls_server_load(const struct config *, SSL_CTX **,
		     struct strlist *errors);
void		 tls_server_swap(SSL_CTX *);
SSL_CTX		*tls_server(void);
SSL_CTX		*tls_client(int verify);
void		 tls_shutdown(void);
int		 tls_fingerprint(SSL *, char out[65]);
int		 tls_is_ip(const char *);

/* api.cc: the HTTP API (evhttp). */
int		 api_start(struct config *);
void		 api_reload(struct config *);
void		 api_stop(void);

/* sluice.cc: the process-wide state (main.cc drives it). */
struct sluice {
	struct event_base *base;
	struct evdns_base *dns;
	struct config	*conf;
	time_t		 now;		/* monotonic seconds, updated by tick */
	time_t		 started;
	int		 stopping;
	struct event	*stop_ev;	/* finishes a graceful stop */
	struct minerq	 miners;
};
extern struct sluice sl;
time_t		 sluice_now(void);
void		 sluice_stop_ready(void);

#endif /* SLUICE_H */
