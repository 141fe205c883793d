/*
 * rserver.h: a real redis-server for the integration tests (rserver.cc):
 * started on a loopback port in a folder of its own, no persistence,
 * dying with the test; and a few lines of RESP to talk to it. Used by
 * test_redis.cc and test_fleet.cc.
 */
#ifndef RSERVER_H
#define RSERVER_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* A redis-server the test started. */
struct rsrv {
	pid_t	 pid;		/* -1 once reaped */
	int	 port;
	int	 outfd;		/* its stdout+stderr, non-blocking */
	char	*out;
	size_t	 outlen;
	char	*dir;
};

bool		 in_path(const char *prog);
void		 rs_drain(struct rsrv *, int ms);
json_t		*resp_parse(const char *buf, size_t len, size_t *pos);
json_t		*rs_call(int port, const char *pass, ...);
struct rsrv	*rs_start(int port, const char *pass);
void		 rs_kill(struct rsrv *);
void		 rs_free(struct rsrv *);

#endif /* RSERVER_H */
