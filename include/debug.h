/*
 * debug.h: the debug endpoint (debug.cc), on a listener of its own
 * (debug.host:debug.port), apart from the API: the event loop's turn
 * times and stalls, libevent's event dump, memory, every connection, and
 * a CPU profile.
 */
#ifndef SLUICE_DEBUG_H
#define SLUICE_DEBUG_H

#include "sluice.h"

struct config;

int		 debug_start(struct config *);
void		 debug_reload(struct config *);
void		 debug_stop(void);

#endif /* SLUICE_DEBUG_H */
