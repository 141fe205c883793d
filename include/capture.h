/*
 * capture.h: a bounded in-memory ring of the stratum lines on all four
 * legs, with an NDJSON file beside it and a live feed (capture.cc).
 *
 * The hot path calls in only behind the global flag, one branch when
 * capture is off:
 *
 *	if (capture_on)
 *		capture_miner(CAPTURE_MINER_IN, &m->peer, line, len, NULL);
 *
 * A line read from a miner or a pool is followed, once it has been
 * handled, by capture_done(): what the proxy writes meanwhile is what it
 * forwarded of that line (ts_fwd), and, when capture is narrowed to one
 * miner, what decides whether a pool's line concerned it.
 */
#ifndef SLUICE_CAPTURE_H
#define SLUICE_CAPTURE_H

#include "sluice.h"

struct config;

enum capture_dir {
	CAPTURE_MINER_IN,	/* miner_to_proxy */
	CAPTURE_MINER_OUT,	/* proxy_to_miner */
	CAPTURE_POOL_IN,	/* pool_to_proxy */
	CAPTURE_POOL_OUT	/* proxy_to_pool */
};

/* Who a pool-side line is for: the numbers /1/upstreams shows. */
struct capture_pool {
	uint64_t	 upstream;	/* upstream id; 0: a standby pool */
	const char	*name;		/* host:port */
	const char	*user;		/* the login the proxy sends */
};

/* A narrowing: one miner, user or address (POST /1/capture). */
enum capture_by {
	CAPTURE_ALL,
	CAPTURE_BY_MINER,
	CAPTURE_BY_USER,
	CAPTURE_BY_IP
};

#define CAPTURE_CUT		4096	/* bytes kept of a refused line */
#define CAPTURE_LIMIT_MAX	10000	/* records per GET */
#define CAPTURE_SECONDS		300	/* a narrowing's default length */

extern int	 capture_on;		/* recording now: the hot path's test */

void		 capture_miner(enum capture_dir, const struct peer *,
		     const char *, size_t, const char *refused);
void		 capture_pool(enum capture_dir, const struct capture_pool *,
		     const char *, size_t, const char *refused);
void		 capture_done(void);

void		 capture_start(const struct config *);
void		 capture_reload(const struct config *);
void		 capture_reopen(void);
void		 capture_tick(time_t now);
void		 capture_stop(void);

int		 capture_narrow(enum capture_by, uint64_t miner, const char *,
		     int seconds, const char **why);
void		 capture_off(void);
json_t		*capture_state(void);

/* The ring, for the API and /debug/memory. */
size_t		 capture_bytes(void);
size_t		 capture_count(void);
uint64_t	 capture_first_id(void);
uint64_t	 capture_last_id(void);
int		 capture_session_parse(const char *, int *kind, uint64_t *id);
int		 capture_format(uint64_t id, int kind, uint64_t sid,
		     struct evbuffer *);
void		 capture_set_notify(void (*)(void));

/* Base64 of a raw line that is not UTF-8; pure, unit-tested. */
size_t		 capture_base64(char *out, size_t cap, const char *, size_t);

#endif /* SLUICE_CAPTURE_H */
