/*
 * listener.h: the stratum binds (listener.cc): accept, admission through
 * the policy, max-connections, a pause on EMFILE.
 */
#ifndef SLUICE_LISTENER_H
#define SLUICE_LISTENER_H

#include "sluice.h"

struct config;

int		 listener_open_all(struct config *);
void		 listener_close_all(void);
void		 listener_pause(void);
int		 listener_out_of_files(int err);
const char	*listener_ip(const struct sockaddr *, char *, size_t);
void		 listener_tick(time_t now);

#endif /* SLUICE_LISTENER_H */
