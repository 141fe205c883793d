/*
 * redis.cc: the link to Redis (redis.h). Not connected yet: a stub until
 * the hiredis client lands.
 */
#include "config.h"
#include "coins.h"
#include "redis.h"

void
redis_start(void)
{
}

void
redis_reload(void)
{
}

void
redis_stop(void)
{
}

int
redis_ready(void)
{
	return 0;
}

const char *
redis_state(void)
{
	return sl.conf->sw.redis == NULL ? "off" : "disconnected";
}

int
redis_publish(const struct coins_change *ch, size_t n)
{
	(void)ch;
	(void)n;
	return -1;
}
