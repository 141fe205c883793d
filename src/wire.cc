/*
 * wire.cc: a miner's connection on the wire: line framing, reads, writes,
 * back-pressure and closing after a flush. miner.cc above it speaks the
 * protocol; this file only moves bytes and hands it complete lines.
 *
 * Plain TCP miners, the thousands, cost as little memory as possible: one
 * read event embedded in the miner, no buffers while idle. A line is read
 * into one shared read buffer; only a trailing partial line is kept, per
 * miner. Output goes straight to the socket; only what the kernel does not
 * take is queued, in an evbuffer with its own write event that exists
 * while the backlog does. TLS miners use an OpenSSL bufferevent; their
 * decrypted input is framed by the same code.
 *
 * WebSocket miners (wire_ws.cc) read and write through the same paths:
 * their bytes go to wslay instead of the line framer, and what miner.cc
 * writes gets a frame header on its way to wire_send().
 *
 * Back-pressure: past half of miner-output-limit queued we stop reading
 * from the miner (it cannot make us queue replies faster than it drains
 * them) until the backlog drains to a quarter; past the limit it is a
 * stuck reader and is closed instead of growing memory.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "capture.h"
#include "config.h"
#include "miner.h"
#include "stats.h"
#include "tls.h"
#include "wire.h"

/* What is queued for a plain miner while the kernel does not take it. */
struct wire_out {
	struct event	 wev;
	struct evbuffer	*buf;
};

/* One read's worth, shared by every miner (one thread, no re-entry). */
static char	 wire_rbuf[STRATUM_RBUF];

static void	 wire_plain_read(evutil_socket_t, short, void *);
static void	 wire_plain_write(evutil_socket_t, short, void *);
static void	 wire_tls_read(struct bufferevent *, void *);
static void	 wire_tls_drained(struct bufferevent *, void *);
static void	 wire_tls_event(struct bufferevent *, short, void *);
static void	 wire_lines(struct miner *, char *, size_t);
static int	 wire_line(void *, char *, size_t);
static size_t	 wire_queued(struct miner *);
static void	 wire_pause(struct miner *, int);
static void	 wire_out_free(struct miner *);

/* The API's name of a transport. */
const char *
wire_transport_text(enum wire_transport t)
{
	switch (t) {
	case WIRE_TCP:
		return "tcp";
	case WIRE_TLS:
		return "tls";
	case WIRE_WS:
		return "ws";
	case WIRE_WSS:
		return "wss";
	case WIRE_XATUM:
		return "xatum";
	}
	return "unknown";
}

/* Is a transport spoken over TLS? */
int
wire_is_tls(enum wire_transport t)
{
	return t == WIRE_TLS || t == WIRE_WSS || t == WIRE_XATUM;
}

/*
 * Start reading a new connection over transport t (ws_path: a WebSocket
 * bind's path). -1 (socket closed) if it cannot.
 */
int
wire_open(struct miner *m, evutil_socket_t fd, enum wire_transport t,
    const char *ws_path)
{
	struct wire	*w = &m->wire;
	SSL		*ssl;

	w->fd = fd;
	w->transport = (uint8_t)t;
	if (t == WIRE_WS || t == WIRE_WSS)
		wire_ws_open(m, ws_path);
	if (!wire_is_tls(t)) {
		evutil_make_socket_nonblocking(fd);
		event_assign(&w->rev, sl.base, fd, EV_READ | EV_PERSIST,
		    wire_plain_read, m);
		event_add(&w->rev, NULL);
		w->reading = 1;
		return 0;
	}
	if (tls_server() == NULL || (ssl = SSL_new(tls_server())) == NULL) {
		log_warnx("miner %llu: no TLS context for a TLS connection",
		    (unsigned long long)m->peer.id);
		evutil_closesocket(fd);
		w->fd = -1;
		wire_ws_close(m);
		return -1;
	}
	w->bev = bufferevent_openssl_socket_new(sl.base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (w->bev == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		w->fd = -1;
		wire_ws_close(m);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(w->bev, 1);
	bufferevent_setcb(w->bev, wire_tls_read, NULL, wire_tls_event, m);
	bufferevent_enable(w->bev, EV_READ | EV_WRITE);
	return 0;
}

/* Release the socket and every buffer. Safe to call twice. */
void
wire_close(struct miner *m)
{
	struct wire	*w = &m->wire;

	if (w->bev != NULL) {
		bufferevent_free(w->bev);	/* closes the socket */
		w->bev = NULL;
		w->fd = -1;
		ERR_clear_error();
	}
	if (w->fd != -1) {
		if (w->reading)
			event_del(&w->rev);
		w->reading = 0;
		wire_out_free(m);
		evutil_closesocket(w->fd);
		w->fd = -1;
	}
	stratum_part_free(&w->in);
	wire_ws_close(m);
}

/* Bytes waiting to be sent. */
static size_t
wire_queued(struct miner *m)
{
	struct wire	*w = &m->wire;

	if (w->bev != NULL)
		return evbuffer_get_length(bufferevent_get_output(w->bev));
	return w->out != NULL ? evbuffer_get_length(w->out->buf) : 0;
}

/* Bytes held for a miner: a partial line read, and a backlog to send. */
void
wire_buffered(const struct miner *m, size_t *in, size_t *out)
{
	const struct wire	*w = &m->wire;

	*in = w->in.len;
	*out = 0;
	if (w->bev != NULL) {
		*in += evbuffer_get_length(bufferevent_get_input(w->bev));
		*out = evbuffer_get_length(bufferevent_get_output(w->bev));
	} else if (w->out != NULL)
		*out = evbuffer_get_length(w->out->buf);
}

/* Stop (1) or resume (0) reading from the miner. */
static void
wire_pause(struct miner *m, int stop)
{
	struct wire	*w = &m->wire;

	if (w->bev != NULL) {
		if (stop)
			bufferevent_disable(w->bev, EV_READ);
		else
			bufferevent_enable(w->bev, EV_READ);
		return;
	}
	if (w->fd == -1 || w->reading == !stop)
		return;
	if (stop)
		event_del(&w->rev);
	else
		event_add(&w->rev, NULL);
	w->reading = !stop;
}

/* No more reads (shutdown, or a login being refused). */
void
wire_quiesce(struct miner *m)
{
	wire_pause(m, 1);
}

/* Free a plain miner's backlog and its write event. */
static void
wire_out_free(struct miner *m)
{
	struct wire_out	*o = m->wire.out;

	if (o == NULL)
		return;
	event_del(&o->wev);
	evbuffer_free(o->buf);
	free(o);
	m->wire.out = NULL;
}

/*
 * Send a line to the miner: as it is, or as a WebSocket message. The
 * capture records the line, not its frame.
 */
void
wire_write(struct miner *m, const char *buf, size_t len)
{
	if (capture_on && m->state != MINER_CLOSING)
		capture_miner(CAPTURE_MINER_OUT, &m->peer, buf, len, NULL);
	if (m->wire.ws != NULL)
		wire_ws_write(m, buf, len);
	else
		wire_send(m, buf, len);
}

/* Send bytes to the miner, queueing what the kernel does not take. */
void
wire_send(struct miner *m, const char *buf, size_t len)
{
	struct wire	*w = &m->wire;
	struct evbuffer	*q;
	size_t		 queued, limit = sl.conf->max_output;
	ssize_t		 n;

	if (m->state == MINER_CLOSING || (w->fd == -1 && w->bev == NULL))
		return;
	queued = wire_queued(m);
	if (queued == 0 && w->bev == NULL) {
		/* Nothing queued: write now, not a loop turn later. */
		n = send(w->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			m->tx += (size_t)n;
			sl_stats.bytes_out += (size_t)n;
			if ((size_t)n == len)
				return;
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			miner_close(m, CLOSE_SOCKET_ERROR, strerror(errno));
			return;
		}
	}
	if (queued + len > limit) {
		sl_stats.overflows++;
		miner_close(m, CLOSE_OVERFLOW, NULL);
		return;
	}
	if (w->bev != NULL)
		q = bufferevent_get_output(w->bev);
	else {
		if (w->out == NULL) {
			w->out = XCALLOC(struct wire_out, 1);
			w->out->buf = evbuffer_new();
			event_assign(&w->out->wev, sl.base, w->fd,
			    EV_WRITE | EV_PERSIST, wire_plain_write, m);
			event_add(&w->out->wev, NULL);
		}
		q = w->out->buf;
	}
	evbuffer_add(q, buf, len);
	m->tx += len;
	sl_stats.bytes_out += len;
	if (queued + len > limit / 2 && !w->paused && !w->finishing) {
		w->paused = 1;
		wire_pause(m, 1);
		if (w->bev != NULL) {
			bufferevent_setwatermark(w->bev, EV_WRITE, limit / 4, 0);
			bufferevent_setcb(w->bev, wire_tls_read, wire_tls_drained,
			    wire_tls_event, m);
		}
	}
}

/* Close once what is queued has been written (a refused login). */
void
wire_finish(struct miner *m)
{
	struct wire	*w = &m->wire;

	w->finishing = 1;
	wire_pause(m, 1);
	if (w->ws != NULL)
		wire_ws_finish(m);
	if (m->state == MINER_CLOSING)
		return;
	if (wire_queued(m) == 0) {
		miner_close(m, m->close_reason, m->finish_detail);
		return;
	}
	if (w->bev != NULL) {
		bufferevent_setwatermark(w->bev, EV_WRITE, 0, 0);
		bufferevent_setcb(w->bev, NULL, wire_tls_drained,
		    wire_tls_event, m);
	}
}

/*
 * The backlog drained (below the low watermark for a paused reader):
 * finish a closing miner, or let a paused one read again.
 */
static void
wire_drained(struct miner *m)
{
	struct wire	*w = &m->wire;

	if (w->finishing) {
		if (wire_queued(m) == 0)
			miner_close(m, m->close_reason, m->finish_detail);
		return;
	}
	/* Stopping: wire_quiesce() ended reading for good. */
	if (w->paused && !sl.stopping &&
	    wire_queued(m) <= sl.conf->max_output / 4) {
		w->paused = 0;
		wire_pause(m, 0);
		if (w->bev != NULL) {
			bufferevent_setwatermark(w->bev, EV_WRITE, 0, 0);
			bufferevent_setcb(w->bev, wire_tls_read, NULL,
			    wire_tls_event, m);
		}
	}
}

/* A plain miner's socket can take more of its backlog. */
static void
wire_plain_write(evutil_socket_t fd, short what, void *arg)
{
	struct miner	*m = (struct miner *)arg;
	struct wire	*w = &m->wire;
	int		 n;

	sluice_activity(ACT_MINER_WRITE);
	(void)what;
	n = evbuffer_write(w->out->buf, fd);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		miner_close(m, CLOSE_SOCKET_ERROR, strerror(errno));
		return;
	}
	if (evbuffer_get_length(w->out->buf) == 0)
		wire_out_free(m);	/* idle miners hold no buffer */
	wire_drained(m);
}

/* A plain miner sent bytes: frame them into lines. */
static void
wire_plain_read(evutil_socket_t fd, short what, void *arg)
{
	struct miner	*m = (struct miner *)arg;
	struct wire	*w = &m->wire;
	size_t		 have = 0;
	ssize_t		 n;

	sluice_activity(ACT_MINER_READ);
	(void)what;
	have = stratum_part_take(&w->in, wire_rbuf);
	n = recv(fd, wire_rbuf + have, sizeof wire_rbuf - have - 1, 0);
	if (n == 0) {
		miner_close(m, CLOSE_MINER, NULL);
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			stratum_part_keep(&w->in, wire_rbuf, have);
			return;
		}
		miner_close(m, CLOSE_SOCKET_ERROR, strerror(errno));
		return;
	}
	if (w->ws != NULL)
		wire_ws_input(m, wire_rbuf, have, (size_t)n);
	else
		wire_lines(m, wire_rbuf, have + (size_t)n);
}

/*
 * Hand every complete line of buf to miner_line() (stratum_frame() keeps
 * a trailing partial line). A line, or a partial line, over the limit
 * closes the miner; its bytes are counted, so the close line says so.
 */
static void
wire_lines(struct miner *m, char *buf, size_t len)
{
	uint64_t	 rx = m->rx;

	if (stratum_frame(&m->wire.in, buf, len, &m->rx, wire_line, m) ==
	    STRATUM_TOO_LONG) {
		if (capture_on) {
			capture_miner(CAPTURE_MINER_IN, &m->peer,
			    stratum_long_line, stratum_long_len, "line too long");
			capture_done();
		}
		sl_stats.lines_too_long++;
		miner_close(m, CLOSE_LINE_TOO_LONG, NULL);
	}
	sl_stats.bytes_in += m->rx - rx;
}

/* One line from a miner; stop framing once it is closing. */
static int
wire_line(void *arg, char *line, size_t len)
{
	struct miner	*m = (struct miner *)arg;

	miner_line(m, line, len);
	if (m->state == MINER_CLOSING || m->wire.finishing)
		return -1;
	return 0;
}

/*
 * A TLS miner sent bytes: OpenSSL has decrypted them into the input
 * buffer. Frame them exactly as a plain miner's, through the shared read
 * buffer and wire_lines().
 */
static void
wire_tls_read(struct bufferevent *bev, void *arg)
{
	struct miner	*m = (struct miner *)arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 have;
	int		 n;

	sluice_activity(ACT_MINER_READ);
	while (evbuffer_get_length(in) > 0 && m->state != MINER_CLOSING &&
	    !m->wire.finishing) {
		have = stratum_part_take(&m->wire.in, wire_rbuf);
		n = evbuffer_remove(in, wire_rbuf + have,
		    sizeof wire_rbuf - have - 1);
		if (n <= 0) {
			stratum_part_keep(&m->wire.in, wire_rbuf, have);
			break;
		}
		if (m->wire.ws != NULL)
			wire_ws_input(m, wire_rbuf, have, (size_t)n);
		else
			wire_lines(m, wire_rbuf, have + (size_t)n);
	}
}

/* A TLS miner's output drained below the watermark. */
static void
wire_tls_drained(struct bufferevent *bev, void *arg)
{
	sluice_activity(ACT_MINER_WRITE);
	(void)bev;
	wire_drained((struct miner *)arg);
}

/* A TLS miner's EOF, or a socket or TLS error. */
static void
wire_tls_event(struct bufferevent *bev, short what, void *arg)
{
	struct miner	*m = (struct miner *)arg;
	static char	 why[160];
	unsigned long	 e;

	sluice_activity(ACT_MINER_READ);
	if (what & BEV_EVENT_EOF)
		miner_close(m, CLOSE_MINER, NULL);
	else if (what & BEV_EVENT_ERROR) {
		if ((e = bufferevent_get_openssl_error(bev)) != 0) {
			ERR_error_string_n(e, why, sizeof why);
			while (bufferevent_get_openssl_error(bev) != 0)
				;
			miner_close(m, CLOSE_TLS_ERROR, why);
		} else
			miner_close(m, CLOSE_SOCKET_ERROR,
			    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
}
