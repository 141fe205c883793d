/*
 * wire.h: a miner's socket and its line framing (wire.cc). Plain TCP: a
 * read event embedded here, a backlog only while the kernel does not take
 * what we send. TLS: an OpenSSL bufferevent. Both: a partial line only
 * while one is pending. WebSocket miners add a wslay context (wire_ws.cc)
 * over either. Lines go up to miner_line(); closes go through
 * miner_close().
 */
#ifndef SLUICE_WIRE_H
#define SLUICE_WIRE_H

#include "sluice.h"
#include "stratum.h"

struct miner;
struct wire_out;
struct wire_ws;

/* How a miner reached us (the API's /1/miners "transport"). */
enum wire_transport {
	WIRE_TCP,
	WIRE_TLS,
	WIRE_WS,		/* stratum in WebSocket text messages */
	WIRE_WSS,		/* the same over TLS */
	WIRE_XATUM		/* Xatum lines over TLS (xatum.h) */
};

struct wire {
	evutil_socket_t	 fd;		/* -1 once closed */
	unsigned	 reading:1;	/* rev is added */
	unsigned	 paused:1;	/* back-pressure */
	unsigned	 finishing:1;	/* close once the backlog is out */
	uint8_t		 transport;	/* enum wire_transport */
	struct event	 rev;		/* plain: reads */
	struct wire_out	*out;		/* plain: backlog, or NULL */
	struct stratum_part in;		/* a partial line */
	struct bufferevent *bev;	/* TLS only */
	struct wire_ws	*ws;		/* WebSocket only */
};

int		 wire_open(struct miner *, evutil_socket_t, enum wire_transport,
		     const char *ws_path);
const char	*wire_transport_text(enum wire_transport);
int		 wire_is_tls(enum wire_transport);
void		 wire_write(struct miner *, const char *, size_t);
void		 wire_send(struct miner *, const char *, size_t);
void		 wire_finish(struct miner *);
void		 wire_quiesce(struct miner *);
void		 wire_close(struct miner *);
void		 wire_buffered(const struct miner *, size_t *in, size_t *out);

/* wire_ws.cc: WebSocket miners, for wire.cc. */
void		 wire_ws_open(struct miner *, const char *path);
void		 wire_ws_input(struct miner *, char *, size_t have, size_t n);
void		 wire_ws_write(struct miner *, const char *, size_t);
void		 wire_ws_finish(struct miner *);
void		 wire_ws_close(struct miner *);

#endif /* SLUICE_WIRE_H */
