/*
 * ws.h: the WebSocket wire format sluice needs as a server (ws.cc): the
 * RFC 6455 upgrade request, checked and answered, and the header of a
 * server's text frame. Pure, unit-tested; wslay (wire.cc) parses frames.
 */
#ifndef SLUICE_WS_H
#define SLUICE_WS_H

#include "sluice.h"

#define WS_REQUEST_MAX	8192	/* bytes of an upgrade request's head */
#define WS_FRAME_HEAD	10	/* the longest server frame header */

size_t		 ws_request_end(const char *, size_t);
int		 ws_upgrade(const char *req, size_t len, const char *path,
		     char *const *origins, size_t norigins, char *out,
		     size_t cap, size_t *outlen, const char **why);
int		 ws_reply(int status, const char *why, char *out, size_t cap,
		     size_t *outlen);
size_t		 ws_frame_head(uint8_t out[WS_FRAME_HEAD], size_t payload);
int		 ws_accept_key(const char *key, size_t len, char out[29]);

#endif /* SLUICE_WS_H */
