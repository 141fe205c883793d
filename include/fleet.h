/*
 * fleet.h: the nodes' view of each other (fleet.cc). With fleet.redis,
 * each node publishes its summary through redis.cc's connection, reads
 * the others' for GET /1/fleet, and shares the bans it makes.
 */
#ifndef SLUICE_FLEET_H
#define SLUICE_FLEET_H

#include "sluice.h"

#define FLEET_PUBLISH	10	/* s between a node's summaries */
#define FLEET_TTL	30	/* s a summary lives in Redis */
#define FLEET_MAX	256	/* nodes read at most */
#define FLEET_KEY	"sluice:node:"	/* + the node's name */
#define FLEET_INDEX	"sluice:nodes"	/* sorted set: name by time seen */
#define FLEET_BANS	"sluice:ban"	/* the bans' channel */

void		 fleet_start(void);
void		 fleet_stop(void);
void		 fleet_tick(time_t now);
json_t		*fleet_json(int64_t now_ms);

/* redis.cc: the link is up; a message on FLEET_BANS; the nodes read. */
void		 fleet_redis_up(void);
void		 fleet_ban_message(const char *, size_t);
void		 fleet_nodes(const char *const *json, const size_t *len,
		     size_t n);

#endif /* SLUICE_FLEET_H */
