/*
 * wire.h: a miner's socket and its line framing (wire.cc). Plain TCP: a
 * read event embedded here, a backlog only while the kernel does not take
 * what we send. TLS: an OpenSSL bufferevent. Both: a partial line only
 * while one is pending. Lines go up to miner_line(); closes go through
 * miner_close().
 */
#ifndef SLUICE_WIRE_H
#define SLUICE_WIRE_H

#include "sluice.h"
#include "stratum.h"

struct miner;
struct wire_out;
struct wire {
	evutil_socket_t	 fd;		/* -1 once closed */
	unsigned	 reading:1;	/* rev is added */
	unsigned	 paused:1;	/* back-pressure */
	unsigned	 finishing:1;	/* close once the backlog is out */
	struct event	 rev;		/* plain: reads */
	struct wire_out	*out;		/* plain: backlog, or NULL */
	struct stratum_part in;		/* a partial line */
	struct bufferevent *bev;	/* TLS only */
};

int		 wire_open(struct miner *, evutil_socket_t, int tls);
void		 wire_write(struct miner *, const char *, size_t);
void		 wire_finish(struct miner *);
void		 wire_quiesce(struct miner *);
void		 wire_close(struct miner *);
void		 wire_buffered(const struct miner *, size_t *in, size_t *out);

#endif /* SLUICE_WIRE_H */
