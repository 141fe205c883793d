/*
 * events.h: what happened to a miner or a share, reported from one place
 * (events.cc) to stats, workers and the log files, in a fixed order.
 */
#ifndef SLUICE_EVENTS_H
#define SLUICE_EVENTS_H

#include "sluice.h"
#include "share.h"

struct miner;

/* events.cc: the one place that calls each subsystem, in order. */
void		 events_connect(struct miner *);
void		 events_login(struct miner *);
void		 events_switch(struct miner *, const char *was);
void		 events_share(struct share *, enum share_result,
		     const char *message);
void		 events_close(struct miner *, const char *why);
void		 events_tick(time_t now);
void		 events_reopen(void);
void		 events_stop(void);

#endif /* SLUICE_EVENTS_H */
