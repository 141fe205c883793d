/*
 * redis.h: the link to Redis (redis.cc), hiredis on the event loop, never
 * blocking it. It shares the user->coin map between sluice nodes: the
 * hash sluice:user-coin holds the map, the channel sluice:switch carries
 * each change; changes from other nodes go through coins_apply(). The
 * same link (switch.redis, else fleet.redis) carries the fleet's
 * summaries and bans (fleet.cc).
 */
#ifndef SLUICE_REDIS_H
#define SLUICE_REDIS_H

#include "sluice.h"

struct coins_change;

void		 redis_start(void);
void		 redis_reload(void);
void		 redis_stop(void);
int		 redis_ready(void);
/* "off" (no switch.redis), "connected" or "disconnected". */
const char	*redis_state(void);
/* Store changes in the hash and publish them; 0, or -1 when down. */
int		 redis_publish(const struct coins_change *, size_t);

/* The fleet (fleet.cc): 0 when sent, -1 when the link is not up. */
int		 redis_fleet_ready(void);
const char	*redis_node(void);
int		 redis_fleet_put(const char *name, const char *json, int ttl);
int		 redis_fleet_get(size_t max);
int		 redis_fleet_ban(const char *json);

#endif /* SLUICE_REDIS_H */
