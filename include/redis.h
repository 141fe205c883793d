/*
 * redis.h: the link to Redis (redis.cc), hiredis on the event loop, never
 * blocking it. It shares the user->coin map between sluice nodes: the
 * hash sluice:user-coin holds the map, the channel sluice:switch carries
 * each change; changes from other nodes go through coins_apply().
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

#endif /* SLUICE_REDIS_H */
