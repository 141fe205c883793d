/*
 * sluice.h: the base every file includes: limits, allocation, strings,
 * logging, the identity of a miner connection and the process-wide state.
 *
 * Each subsystem box of the architecture has its own header beside this
 * one; t/check-includes keeps the layers apart (see the README):
 *
 *	config.h	the configuration snapshot
 *	stratum.h	wire-format helpers and the in-place scanner
 *	job.h		an upstream job, encoded once; nonce sets
 *	share.h		a share in flight
 *	miner.h		a miner connection (wire.h: its socket; listener.h)
 *	policy.h	admission, login, custom diff, worker naming
 *	                (luavm.h: the Lua side; ratelimit.h)
 *	pool.h		one pool connection and its failover strategy
 *	upstream.h	the splitters and the upstream both modes share
 *	events.h	the one place that reports what happened
 *	stats.h		counters and hashrate windows (workers.h, logfile.h)
 *	api.h		the HTTP API and /metrics
 *	tls.h		OpenSSL contexts
 *
 * Data flows one way: listener -> miner -> policy -> splitter (nicehash or
 * simple) -> upstream -> pool; pool replies come back through
 * share_finish(), which is the one place a share ends.
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
#ifndef SLUICE_STATEDIR
#define SLUICE_STATEDIR "/var/lib/sluice"	/* systemd's StateDirectory */
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

/* secret.cc: passwords kept out of logs and answers. */
#define SECRET_TAG_LEN	9	/* "pw:" and 6 hex digits */
#define SECRET_HIDDEN	"********"	/* a secret in an API answer */
size_t		 secret_mask(char *, size_t, const char *line, size_t len);
size_t		 secret_mask_as(char *, size_t, const char *line, size_t len,
		     const char *mask);
void		 secret_tag(const char *, char out[SECRET_TAG_LEN + 1]);
void		 secret_mask_json(json_t *);
size_t		 secret_unmask_json(json_t *, const json_t *cur,
		     const char *file, struct strlist *errors);

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
const char	*log_line(const char *, size_t);
NORETURN void	 fatal(const char *, ...) PRINTFLIKE(1, 2);
NORETURN void	 fatalx(const char *, ...) PRINTFLIKE(1, 2);

/*
 * Who a miner is: the connection's address and what its login said. The
 * miner owns it (struct miner's "peer"); the policy, the Lua hooks, the
 * worker table and the access log read it without seeing the miner.
 */
struct peer {
	uint64_t	 id;		/* the miner's id */
	char		 ip[64];
	int		 port;		/* remote port */
	int		 local_port;	/* the bind it came in on */
	int		 tls;
	char		*login;		/* params.login as sent (interned) */
	char		*user;		/* login without the +diff suffix
					   (interned after login) */
	char		*pass;		/* interned */
	char		*agent;		/* interned */
	char		*rigid;
	json_t		*algos;		/* params.algo, during login only */
	char		*worker;	/* worker name, per workers mode */
};

/* sluice.cc: the process-wide state (main.cc drives it). */
struct sluice {
	struct event_base *base;
	struct evdns_base *dns;
	struct config	*conf;
	time_t		 now;		/* monotonic seconds, updated by tick */
	time_t		 started;
	int		 stopping;
	struct event	*stop_ev;	/* finishes a graceful stop */
};
extern struct sluice sl;
time_t		 sluice_now(void);
int64_t		 sluice_clock_us(clockid_t);

/* Milliseconds on the monotonic clock: deadlines, rate limits. */
static inline int64_t
sluice_mono_ms(void)
{
	return sluice_clock_us(CLOCK_MONOTONIC) / 1000;
}
void		 sluice_stop_ready(void);

/*
 * What the event loop ran in the current turn, for /debug/loop (debug.cc):
 * the main callbacks count themselves here, one increment each; while
 * debug.cc watches, the first of a turn also notes when it began and
 * makes debug.cc's end-of-turn event active, which libevent then runs
 * after the callbacks already queued in this turn.
 */
enum activity {
	ACT_MINER_READ,		/* wire.cc: a miner's bytes */
	ACT_MINER_WRITE,	/* wire.cc: a miner's backlog drains */
	ACT_ACCEPT,		/* listener.cc: a new connection */
	ACT_POOL_READ,		/* pool.cc: a pool's lines */
	ACT_POOL_EVENT,		/* pool.cc: connected, closed, drained */
	ACT_TICK,		/* main.cc: the 1-second tick */
	ACT_SIGNAL,		/* main.cc: HUP, USR1, TERM, INT */
	ACT_API,		/* api.cc: an HTTP API request */
	ACT_DEBUG,		/* debug.cc: a /debug/ request or timer */
	ACT_LUA,		/* lua_vm.cc: a policy hook call */
	ACT_MAX
};
extern uint32_t	 sluice_act[ACT_MAX];	/* this turn's counts */
extern int	 sluice_act_watch;	/* debug.cc is timing turns */
extern int	 sluice_act_begun;	/* this turn has begun */
extern int64_t	 sluice_act_start_us;	/* ... then (monotonic us) */
extern struct event *sluice_act_ev;	/* debug.cc's end of the turn */
void		 sluice_act_begin(void);
const char	*sluice_act_text(enum activity);

/* Count one callback of kind a in this turn. */
static inline void
sluice_activity(enum activity a)
{
	sluice_act[a]++;
	if (sluice_act_watch && !sluice_act_begun)
		sluice_act_begin();
}

#endif /* SLUICE_H */
