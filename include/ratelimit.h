/*
 * ratelimit.h: per-IP token buckets, bans and connection counts
 * (ratelimit.cc); pure, unit-tested.
 */
#ifndef SLUICE_RATELIMIT_H
#define SLUICE_RATELIMIT_H

#include "sluice.h"

/* ratelimit.cc: per-IP token buckets, bans and connection counts. */
enum rl_verdict {
	RL_OK,			/* took a token */
	RL_EMPTY,		/* no token left */
	RL_BANNED
};
enum rl_verdict	 ratelimit_take(const char *ip, int per_minute,
		     int64_t now_ms, double *tokens, int *conns);
int		 ratelimit_ban(const char *ip, int seconds, int64_t now_ms);
/* A ban another node made (fleet.cc): not passed to the hook. */
int		 ratelimit_ban_shared(const char *ip, int seconds,
		     int64_t now_ms);
/* Called with each ban made here (fleet.cc publishes it), or NULL. */
void		 ratelimit_set_ban_hook(void (*)(const char *ip, int seconds));
void		 ratelimit_connected(const char *ip, int64_t now_ms);
void		 ratelimit_disconnected(const char *ip);
void		 ratelimit_expire(int64_t now_ms);
int		 ratelimit_info(const char *ip, int64_t now_ms, double *tokens,
		     int *conns, int *banned_s);
size_t		 ratelimit_count(void);
void		 ratelimit_set_max(size_t);
void		 ratelimit_clear(void);

#endif /* SLUICE_RATELIMIT_H */
