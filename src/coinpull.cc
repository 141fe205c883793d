/*
 * coinpull.cc: the periodic pull of switch.user-coin-url. A stub until
 * the client lands.
 */
#include "coins.h"
#include "config.h"

void
coinpull_start(void)
{
}

void
coinpull_reload(void)
{
}

void
coinpull_stop(void)
{
}

void
coinpull_status(time_t *last, int *ok, const char **error)
{
	*last = 0;
	*ok = 0;
	*error = NULL;
}
