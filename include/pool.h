/*
 * pool.h: the pool client. One outbound stratum connection (pool.cc) and
 * the failover strategy that owns one at a time, plus the primary's probe
 * (strategy.cc). Both struct bodies are private to their files; an
 * upstream (upstream.h) owns one strategy.
 */
#ifndef SLUICE_POOL_H
#define SLUICE_POOL_H

#include "sluice.h"

struct config;
struct job;
struct pool_conf;
struct pool;
struct share;
struct strategy;

/* pool.cc: one outbound stratum connection. */
enum pool_state {
	POOL_CONNECTING,
	POOL_LOGIN,		/* login sent, waiting for the reply */
	POOL_ACTIVE,		/* logged in, has a job */
	POOL_CLOSED
};

/* Why a pool connection ended: the failure taxonomy. */
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
	POOL_FAIL_PROXY,	/* the SOCKS5 proxy failed or refused */
	POOL_FAIL_MAX
};

/* A pool connection as /debug/connections shows it (pool_view). */
struct pool_view {
	uint64_t	 id;
	const char	*name;		/* host:port */
	const char	*state;
	int		 tls;
	time_t		 opened;	/* monotonic seconds */
	time_t		 state_since;
	time_t		 last_recv;	/* last tick that saw bytes come */
	time_t		 last_send;
	uint64_t	 rx;
	uint64_t	 tx;
	size_t		 pending;	/* shares not answered yet */
	size_t		 in;		/* bytes buffered, not read yet */
	size_t		 out;		/* bytes queued, not sent yet */
};

struct pool	*pool_connect(struct strategy *, struct config *,
		     const struct pool_conf *, int index);
void		 pool_close(struct pool *, enum pool_fail, const char *why);
void		 pool_detach(struct pool *);
void		 pool_attach(struct pool *, struct strategy *);
int		 pool_is_ready(const struct pool *);
struct job	*pool_job(const struct pool *);
int		 pool_submit(struct pool *, struct share *, const struct job *);
void		 pool_tick(struct pool *, time_t now);
const char	*pool_fail_text(enum pool_fail);
const char	*pool_state_text(enum pool_state);
const char	*pool_name(const struct pool *);
int		 pool_index(const struct pool *);
int		 pool_is_open(const struct pool *);
size_t		 pool_pending(const struct pool *);
void		 pool_view(const struct pool *, struct pool_view *);
extern uint64_t	 pool_fail_counts[POOL_FAIL_MAX];

/* strategy.cc: failover over the ordered pool list, for one owner. */
struct strategy_ops {
	/* A pool logged in (new session) and sent its first job. */
	void	(*on_job)(void *owner, struct job *, int new_session);
	/* The serving pool went away; the owner's jobs are stale. */
	void	(*on_down)(void *owner);
};

struct strategy	*strategy_new(const struct strategy_ops *, void *owner,
		     const char *coin);
void		 strategy_free(struct strategy *);
void		 strategy_set_login(struct strategy *, char *user, char *pass);
void		 strategy_login(const struct strategy *, const char **user,
		     const char **pass);
void		 strategy_start(struct strategy *);
void		 strategy_restart(struct strategy *);
struct pool	*strategy_pool(struct strategy *);
struct pool	*strategy_conn(struct strategy *);
int		 strategy_is_up(const struct strategy *);
int		 strategy_is_connecting(const struct strategy *);
uint64_t	 strategy_id(const struct strategy *);
void		 strategy_set_upstream(struct strategy *, uint64_t);
uint64_t	 strategy_upstream(const struct strategy *);
void		 strategy_pool_name(const struct strategy *, char *, size_t);
void		 strategy_tick(struct strategy *, time_t now);
int		 strategy_backoff(int pause, int max, int n);
void		 strategy_standby_tick(time_t now);
void		 strategy_standby_stop(void);
/* From pool.cc, about a pool the strategy owns. */
void		 strategy_pool_ready(struct strategy *, struct pool *,
		     struct job *);
void		 strategy_pool_job(struct strategy *, struct pool *,
		     struct job *);
void		 strategy_pool_failed(struct strategy *, struct pool *,
		     enum pool_fail, const char *detail);

#endif /* SLUICE_POOL_H */
