/*
 * wire_ws.cc: stratum over WebSocket, on wire.cc's sockets (plain or
 * TLS). First the HTTP upgrade: its head is kept as a partial line, at
 * most WS_REQUEST_MAX bytes, and the login timeout is its deadline;
 * ws.cc decides on it. Then wslay frames what the miner sends: masking,
 * control frames (ping answered, a close answered and the miner finished
 * through its one close path), UTF-8, and a message over the line limit
 * closed with 1009. Each text message is one stratum line for
 * miner_line(); each line miner.cc writes goes out as one text frame.
 *
 * No allocation per message: wslay does not buffer data frames (no
 * buffering mode); a message that arrives whole in one read is copied
 * to a shared buffer and handed up, and only a message split over reads
 * is kept, per miner, while it is incomplete. Frames to the miner get
 * their few header bytes here (ws_frame_head) and go to wire_send(), not
 * through wslay's message queue, which copies every message into a
 * malloc'd block; wslay only sends its own control frames.
 *
 * Re-entry: a message handed up may close the miner inside
 * wslay_event_recv(); the context is then freed once wslay returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wslay/wslay.h>

#include "config.h"
#include "miner.h"
#include "stats.h"
#include "wire.h"
#include "ws.h"

/* A WebSocket miner's state, beside its struct wire. */
struct wire_ws {
	wslay_event_context_ptr ctx;	/* NULL until the upgrade is done */
	char		*path;		/* interned: the bind's path */
	char		*msg;		/* a message split over reads */
	size_t		 msglen;	/* its bytes so far, every frame */
	uint64_t	 frame_len;	/* payload of the frame being read */
	unsigned	 ctrl:1;	/* that frame is a control frame */
	unsigned	 fin:1;		/* ... the last of its message */
	unsigned	 busy:1;	/* inside wslay */
	unsigned	 dead:1;	/* closed while busy: free after */
};

/* What wslay reads during one wire_ws_feed() (one thread). */
static const char	*ws_feed;
static size_t		 ws_feedlen;
/* A whole message, NUL-terminated, for miner_line(). */
static char		 ws_mbuf[SLUICE_MAX_LINE + 1];
/* A frame header and its payload, for one send. */
static char		 ws_wbuf[WS_FRAME_HEAD + 8192];

static ssize_t	 wire_ws_recv(wslay_event_context_ptr, uint8_t *, size_t,
		     int, void *);
static ssize_t	 wire_ws_send(wslay_event_context_ptr, const uint8_t *,
		     size_t, int, void *);
static void	 wire_ws_start(wslay_event_context_ptr,
		     const struct wslay_event_on_frame_recv_start_arg *, void *);
static void	 wire_ws_chunk(wslay_event_context_ptr,
		     const struct wslay_event_on_frame_recv_chunk_arg *, void *);
static void	 wire_ws_end(wslay_event_context_ptr, void *);
static void	 wire_ws_message(struct miner *, const char *, size_t);
static int	 wire_ws_upgrade(struct miner *, const char *, size_t);
static void	 wire_ws_feed(struct miner *, const char *, size_t);
static void	 wire_ws_free(struct wire_ws *);
static void	 wire_ws_refuse_close(struct miner *, uint16_t, const char *);

static const struct wslay_event_callbacks wire_ws_callbacks = {
	wire_ws_recv, wire_ws_send, NULL, wire_ws_start, wire_ws_chunk,
	wire_ws_end, NULL
};

/* A new WebSocket connection: the upgrade comes first. */
void
wire_ws_open(struct miner *m, const char *path)
{
	m->wire.ws = XCALLOC(struct wire_ws, 1);
	m->wire.ws->path = intern(path != NULL ? path : "/");
}

/* Free the state; the caller knows wslay is not running. */
static void
wire_ws_free(struct wire_ws *ws)
{
	if (ws->ctx != NULL)
		wslay_event_context_free(ws->ctx);
	free(ws->msg);
	intern_drop(ws->path);
	free(ws);
}

/* The miner closes: free the state now, or once wslay returns. */
void
wire_ws_close(struct miner *m)
{
	struct wire_ws	*ws = m->wire.ws;

	if (ws == NULL)
		return;
	if (ws->busy) {
		ws->dead = 1;
		return;
	}
	wire_ws_free(ws);
	m->wire.ws = NULL;
}

/*
 * Bytes from the miner: have of them kept from the last read, n new, all
 * at buf (the shared read buffer). Before the upgrade, look for the end
 * of the request head; after it, feed wslay.
 */
void
wire_ws_input(struct miner *m, char *buf, size_t have, size_t n)
{
	struct wire_ws	*ws = m->wire.ws;
	size_t		 len = have + n, end;

	m->rx += n;
	sl_stats.bytes_in += n;
	if (ws->ctx == NULL) {
		end = ws_request_end(buf, len);
		if (end == 0 && len <= WS_REQUEST_MAX) {
			stratum_part_keep(&m->wire.in, buf, len);
			return;
		}
		if (wire_ws_upgrade(m, buf, end) != 0)
			return;
		buf += end;
		len -= end;
	}
	if (len > 0)
		wire_ws_feed(m, buf, len);
}

/*
 * Answer the upgrade request (len bytes; 0: its head is over the limit).
 * Returns 0 once the miner speaks WebSocket, -1 if it is refused (and
 * being finished).
 */
static int
wire_ws_upgrade(struct miner *m, const char *req, size_t len)
{
	struct wire_ws	*ws = m->wire.ws;
	char		 out[512];
	const char	*why;
	size_t		 outlen = 0;
	int		 st;

	if (len == 0 || len > WS_REQUEST_MAX) {
		why = "request head too large";
		st = ws_reply(400, why, out, sizeof out, &outlen);
	} else
		st = ws_upgrade(req, len, ws->path, sl.conf->ws_origins,
		    sl.conf->nws_origins, out, sizeof out, &outlen, &why);
	wire_send(m, out, outlen);
	if (m->state == MINER_CLOSING)
		return -1;
	if (st != 101) {
		char	 detail[128];

		snprintf(detail, sizeof detail, "websocket upgrade: %d %s", st,
		    why);
		log_debug("miner %llu: %s", (unsigned long long)m->peer.id,
		    detail);
		sl_stats.protocol_errors++;
		miner_finish(m, CLOSE_PROTOCOL_ERROR, detail);
		return -1;
	}
	if (wslay_event_context_server_init(&ws->ctx, &wire_ws_callbacks,
	    m) != 0)
		fatalx("wslay: out of memory");
	wslay_event_config_set_no_buffering(ws->ctx, 1);
	wslay_event_config_set_max_recv_msg_length(ws->ctx, SLUICE_MAX_LINE);
	return 0;
}

/*
 * Let wslay read len bytes (and answer control frames). A close frame,
 * or a frame wslay refuses, ends reading: the miner is finished once the
 * close frame that answers it is out.
 */
static void
wire_ws_feed(struct miner *m, const char *buf, size_t len)
{
	struct wire_ws	*ws = m->wire.ws;
	char		 detail[64];
	int		 r;
	uint16_t	 code;

	ws_feed = buf;
	ws_feedlen = len;
	ws->busy = 1;
	r = wslay_event_recv(ws->ctx);
	if (r == 0 && !ws->dead && m->state != MINER_CLOSING)
		r = wslay_event_send(ws->ctx);
	ws->busy = 0;
	ws_feedlen = 0;
	if (ws->dead) {
		wire_ws_free(ws);
		m->wire.ws = NULL;
		return;
	}
	if (m->state == MINER_CLOSING || m->wire.finishing)
		return;
	if (r != 0) {
		miner_close(m, CLOSE_PROTOCOL_ERROR, "websocket error");
		return;
	}
	if (wslay_event_get_read_enabled(ws->ctx))
		return;
	if (wslay_event_get_close_received(ws->ctx)) {
		miner_finish(m, CLOSE_MINER, "websocket close");
		return;
	}
	code = wslay_event_get_status_code_sent(ws->ctx);
	if (code == WSLAY_CODE_MESSAGE_TOO_BIG) {
		sl_stats.lines_too_long++;
		miner_finish(m, CLOSE_LINE_TOO_LONG, "websocket message too big "
		    "(1009)");
		return;
	}
	snprintf(detail, sizeof detail, "websocket protocol error (%u)",
	    (unsigned)code);
	sl_stats.protocol_errors++;
	miner_finish(m, CLOSE_PROTOCOL_ERROR, detail);
}

/* wslay wants bytes: what this read brought, then "would block". */
static ssize_t
wire_ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
    int flags, void *arg)
{
	struct miner	*m = (struct miner *)arg;

	(void)flags;
	if (ws_feedlen == 0 || m->state == MINER_CLOSING ||
	    m->wire.finishing) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (len > ws_feedlen)
		len = ws_feedlen;
	memcpy(buf, ws_feed, len);
	ws_feed += len;
	ws_feedlen -= len;
	return (ssize_t)len;
}

/* wslay sends a control frame (pong, close): all of it is taken. */
static ssize_t
wire_ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len,
    int flags, void *arg)
{
	struct miner	*m = (struct miner *)arg;

	(void)flags;
	wire_send(m, (const char *)data, len);
	if (m->state == MINER_CLOSING) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* Queue a close with code and stop reading (wslay sends it). */
static void
wire_ws_refuse_close(struct miner *m, uint16_t code, const char *reason)
{
	struct wire_ws	*ws = m->wire.ws;

	wslay_event_queue_close(ws->ctx, code, (const uint8_t *)reason,
	    strlen(reason));
	wslay_event_shutdown_read(ws->ctx);
}

/*
 * A frame starts. Data frames must be text, and a message (all its
 * frames) must fit the line limit: wslay checks one frame, we check the
 * sum.
 */
static void
wire_ws_start(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_start_arg *a, void *arg)
{
	struct miner	*m = (struct miner *)arg;
	struct wire_ws	*ws = m->wire.ws;

	(void)ctx;
	ws->ctrl = (a->opcode & 0x8) != 0;
	ws->fin = a->fin != 0;
	ws->frame_len = a->payload_length;
	if (ws->ctrl || ws->dead)
		return;
	if (a->opcode == WSLAY_BINARY_FRAME) {
		wire_ws_refuse_close(m, WSLAY_CODE_UNSUPPORTED_DATA,
		    "text messages only");
		return;
	}
	if (a->opcode == WSLAY_TEXT_FRAME) {
		free(ws->msg);
		ws->msg = NULL;
		ws->msglen = 0;
	}
	if (ws->msglen + a->payload_length > SLUICE_MAX_LINE)
		wire_ws_refuse_close(m, WSLAY_CODE_MESSAGE_TOO_BIG,
		    "message too big");
}

/*
 * Payload bytes of the frame being read. A message whole in this chunk
 * goes up at once; any other is gathered.
 */
static void
wire_ws_chunk(wslay_event_context_ptr ctx,
    const struct wslay_event_on_frame_recv_chunk_arg *a, void *arg)
{
	struct miner	*m = (struct miner *)arg;
	struct wire_ws	*ws = m->wire.ws;

	(void)ctx;
	if (ws->ctrl || ws->dead || m->state == MINER_CLOSING ||
	    m->wire.finishing || !wslay_event_get_read_enabled(ws->ctx))
		return;
	if (ws->fin && ws->msg == NULL && ws->msglen == 0 &&
	    a->data_length == ws->frame_len) {
		wire_ws_message(m, (const char *)a->data, a->data_length);
		return;
	}
	if (ws->msglen + a->data_length > SLUICE_MAX_LINE)
		return;		/* wire_ws_start() refused it */
	ws->msg = (char *)xrealloc(ws->msg, ws->msglen + a->data_length + 1);
	memcpy(ws->msg + ws->msglen, a->data, a->data_length);
	ws->msglen += a->data_length;
}

/* A frame ends: the last of a gathered message sends it up. */
static void
wire_ws_end(wslay_event_context_ptr ctx, void *arg)
{
	struct miner	*m = (struct miner *)arg;
	struct wire_ws	*ws = m->wire.ws;
	char		*msg;
	size_t		 len;

	(void)ctx;
	if (ws->ctrl || !ws->fin || ws->msg == NULL)
		return;
	msg = ws->msg;
	len = ws->msglen;
	ws->msg = NULL;
	ws->msglen = 0;
	if (!ws->dead && m->state != MINER_CLOSING && !m->wire.finishing)
		wire_ws_message(m, msg, len);
	free(msg);
}

/*
 * One text message: one stratum line, without a trailing newline (a
 * client may send one) for miner_line().
 */
static void
wire_ws_message(struct miner *m, const char *data, size_t len)
{
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' ||
	    data[len - 1] == ' '))
		len--;
	if (len == 0 || len > SLUICE_MAX_LINE)
		return;
	memcpy(ws_mbuf, data, len);
	ws_mbuf[len] = '\0';
	miner_line(m, ws_mbuf, len);
}

/*
 * The proxy closes the miner after its last answer (a refused login, a
 * protocol error): a close frame (1008) goes after that answer, unless
 * one went already. Written here, not queued in wslay, so that it is out
 * before wire_finish() looks at the backlog, even inside wslay's
 * callbacks; wslay then sends nothing more.
 */
void
wire_ws_finish(struct miner *m)
{
	struct wire_ws		*ws = m->wire.ws;
	static const char	 close1008[] = { '\x88', 2, 0x03, '\xf0' };

	if (ws->ctx == NULL || ws->dead ||
	    !wslay_event_get_write_enabled(ws->ctx))
		return;
	wire_send(m, close1008, sizeof close1008);
	wslay_event_shutdown_write(ws->ctx);
}

/*
 * A line from miner.cc as one text frame (its newline dropped). Nothing
 * goes out before the upgrade or after a close frame.
 */
void
wire_ws_write(struct miner *m, const char *buf, size_t len)
{
	struct wire_ws	*ws = m->wire.ws;
	uint8_t		 head[WS_FRAME_HEAD];
	size_t		 h;

	if (m->state == MINER_CLOSING || ws->dead || ws->ctx == NULL ||
	    !wslay_event_get_write_enabled(ws->ctx))
		return;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	h = ws_frame_head(head, len);
	if (h + len <= sizeof ws_wbuf) {
		memcpy(ws_wbuf, head, h);
		memcpy(ws_wbuf + h, buf, len);
		wire_send(m, ws_wbuf, h + len);
		return;
	}
	wire_send(m, (const char *)head, h);
	if (m->state != MINER_CLOSING)
		wire_send(m, buf, len);
}
