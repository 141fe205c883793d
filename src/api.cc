/*
 * api.cc: the HTTP API (evhttp). Placeholder until the monitoring work
 * lands: the "http" config is parsed and validated, nothing listens yet.
 */
#include "sluice.h"

/* Start the API server if the config enables it. */
int
api_start(struct config *c)
{
	(void)c;
	return 0;
}

/* Apply a reloaded config (token, restricted). */
void
api_reload(struct config *c)
{
	(void)c;
}

/* Stop the API server. */
void
api_stop(void)
{
}
