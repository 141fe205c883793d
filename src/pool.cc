/*
 * pool.cc: one outbound stratum connection. The proxy logs in as a miner
 * with the pool's user/pass/rig-id, receives jobs, forwards shares and
 * correlates the pool's answers by request id.
 *
 *	CONNECTING -> LOGIN -> ACTIVE -> CLOSED
 *
 * Timeouts xmrig-proxy lacks: connect, login reply and each submit reply.
 * On any failure every pending share is answered first (exactly one reply
 * per submit), then the strategy is told. A closed pool is freed on the
 * next loop turn, since the callback that closed it may still hold it.
 *
 * The bufferevent connects (DNS included) and carries TLS pools whole.
 * Once a plain pool is connected, the proxy moves its bytes itself, as
 * wire.cc does a miner's: reads through a raw read event, recv() into a
 * read buffer all pools share and lines framed in place there
 * (stratum_frame); writes straight to the socket at the end of the loop
 * turn (pool_flush). A TLS pool's decrypted input is framed by the same
 * code.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "capture.h"
#include "config.h"
#include "job.h"
#include "pool.h"
#include "share.h"
#include "socks5.h"
#include "stratum.h"
#include "tls.h"

#define POOL_KEEPALIVE_IDLE	60	/* seconds idle before keepalived */
#define POOL_OUTPUT_MAX		(1 << 20)	/* a pool that stops reading */

/* One connection; owned by its strategy until closed, then freed here. */
struct pool {
	uint64_t	 id;
	char		 name[280];	/* host:port */
	int		 ready;		/* has sent its first job */
	struct job	*job;		/* the latest, or NULL */
	int		 tls;
	enum pool_state	 state;
	struct strategy	*strategy;	/* owner */
	int		 index;		/* into its coin's pool list */
	const struct pool_conf *pc;	/* that pool, in conf */
	struct config	*conf;		/* reference */
	struct bufferevent *bev;
	struct socks5	*socks;		/* the SOCKS5 handshake, or NULL */
	struct event	*flush_ev;	/* plain: end-of-turn write, or NULL */
	int		 direct;	/* plain and connected: we write */
	struct event	 rev;		/* plain and connected: reads */
	int		 reading;	/* rev is added */
	struct stratum_part in;		/* a partial line */
	char		*qsession;	/* the pool's id for us, JSON-quoted */
	int		 ext_algo;
	int		 ext_keepalive;
	int64_t		 seq;
	int64_t		 login_seq;
	time_t		 opened;	/* monotonic s of pool_connect */
	time_t		 state_since;
	time_t		 last_send;
	time_t		 last_recv;	/* last tick that saw rx grow */
	uint64_t	 last_rx;
	time_t		 login_sent;
	struct shareq	 pending;	/* in send order */
	size_t		 npending;
	int64_t		 keepalive_seq;	/* outstanding keepalived, or 0 */
	time_t		 keepalive_sent;
	uint64_t	 rx;
	uint64_t	 tx;
};

uint64_t	 pool_fail_counts[POOL_FAIL_MAX];
static uint64_t	 pool_next_id;
/*
 * One read's worth, shared by every pool (one thread; a pool is read only
 * from its own event, never from inside another's lines). Not wire.cc's:
 * a pool's lines write to TLS miners, whose bufferevents may read, and
 * frame into that buffer, while they do.
 */
static char	 pool_rbuf[STRATUM_RBUF];

static void	 pool_read(struct bufferevent *, void *);
static void	 pool_plain_read(evutil_socket_t, short, void *);
static void	 pool_lines(struct pool *, char *, size_t);
static int	 pool_frame_line(void *, char *, size_t);
static void	 pool_event(struct bufferevent *, short, void *);
static void	 pool_line(struct pool *, char *, size_t);
static void	 pool_dispatch(struct pool *, char *, size_t);
static void	 pool_capture(struct pool *, enum capture_dir, const char *,
		     size_t, const char *);
static void	 pool_login(struct pool *);
static int	 pool_check_pin(struct pool *);
static void	 pool_login_reply(struct pool *, json_t *, json_t *);
static void	 pool_result(struct pool *, int64_t, int, const char *);
static const char *pool_error_text(json_t *);
static int	 pool_line_fast(struct pool *, char *, size_t);
static void	 pool_set_state(struct pool *, enum pool_state);
static int	 pool_send(struct pool *, const char *, size_t);
static void	 pool_free_cb(evutil_socket_t, short, void *);
static void	 pool_new_job(struct pool *, struct job *);
static void	 pool_flush_cb(evutil_socket_t, short, void *);
static void	 pool_flush(struct pool *);
static void	 pool_drained(struct bufferevent *, void *);
static void	 pool_socks_done(evutil_socket_t, const char *, void *);

/* Name of a failure reason (counters, logs). */
const char *
pool_fail_text(enum pool_fail f)
{
	switch (f) {
	case POOL_FAIL_NONE:
		return "none";
	case POOL_FAIL_CONNECT:
		return "connect";
	case POOL_FAIL_DNS:
		return "dns";
	case POOL_FAIL_TIMEOUT:
		return "timeout";
	case POOL_FAIL_TLS:
		return "tls";
	case POOL_FAIL_PARSE:
		return "parse";
	case POOL_FAIL_CLOSED:
		return "closed";
	case POOL_FAIL_LOGIN:
		return "login_rejected";
	case POOL_FAIL_OVERFLOW:
		return "overflow";
	case POOL_FAIL_PROXY:
		return "proxy";
	case POOL_FAIL_MAX:
		break;
	}
	return "unknown";
}

/* Name of a state. */
const char *
pool_state_text(enum pool_state s)
{
	switch (s) {
	case POOL_CONNECTING:
		return "connecting";
	case POOL_LOGIN:
		return "login";
	case POOL_ACTIVE:
		return "active";
	case POOL_CLOSED:
		return "closed";
	}
	return "unknown";
}

/* "host:port" of a pool connection. */
const char *
pool_name(const struct pool *p)
{
	return p->name;
}

/* Index of the connection's pool in its config's pool list. */
int
pool_index(const struct pool *p)
{
	return p->index;
}

/* Connecting, logging in or logged in (not closed yet)? */
int
pool_is_open(const struct pool *p)
{
	return p->state != POOL_CLOSED;
}

/*
 * The strategy lets go of a connection it is about to close or hand on:
 * no callback reaches it after this.
 */
void
pool_detach(struct pool *p)
{
	p->strategy = NULL;
}

/* A strategy takes over a logged-in connection (the standby's). */
void
pool_attach(struct pool *p, struct strategy *st)
{
	p->strategy = st;
}

/* Logged in with a job? */
int
pool_is_ready(const struct pool *p)
{
	return p->state == POOL_ACTIVE && p->ready;
}

/* The latest job the pool sent, or NULL; the caller takes no reference. */
struct job *
pool_job(const struct pool *p)
{
	return p->job;
}

/* Change state; every transition goes through here. */
static void
pool_set_state(struct pool *p, enum pool_state s)
{
	log_debug2("pool %llu %s: %s -> %s", (unsigned long long)p->id,
	    p->name, pool_state_text(p->state), pool_state_text(s));
	p->state = s;
	p->state_since = sl.now;
}

/* Start connecting to pool idx of conf. NULL if it cannot even start. */
struct pool *
pool_connect(struct strategy *st, struct config *conf,
    const struct pool_conf *pc, int idx)
{
	struct pool		*p;

	p = XCALLOC(struct pool, 1);
	p->id = pool_next_id++;
	p->strategy = st;
	p->index = idx;
	p->pc = pc;
	p->conf = config_ref(conf);
	TAILQ_INIT(&p->pending);
	snprintf(p->name, sizeof p->name, "%s:%d", pc->host, pc->port);
	p->state = POOL_CONNECTING;
	p->opened = p->state_since = sl.now;
	/* Deferred callbacks: a synchronous connect error must not re-enter. */
	if (pc->tls) {
		SSL *ssl = SSL_new(tls_client(pc->tls_verify));
		if (ssl == NULL)
			goto fail;
		if (pc->sni && !tls_is_ip(pc->host))
			SSL_set_tlsext_host_name(ssl, pc->host);
		if (pc->tls_verify && tls_is_ip(pc->host))
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    pc->host);
		else if (pc->tls_verify)
			SSL_set1_host(ssl, pc->host);
		p->tls = 1;
		p->bev = bufferevent_openssl_socket_new(sl.base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (p->bev == NULL) {
			SSL_free(ssl);
			goto fail;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(p->bev, 1);
	} else
		p->bev = bufferevent_socket_new(sl.base, -1,
		    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (p->bev == NULL)
		goto fail;
	bufferevent_setcb(p->bev, pool_read, NULL, pool_event, p);
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	log_debug("pool %llu: connecting to %s", (unsigned long long)p->id,
	    p->name);
	if (pc->socks5_host != NULL) {
		/* The tunnel's fd goes to p->bev in pool_socks_done(). */
		const char *why;
		p->socks = socks5_connect(sl.base, sl.dns, pc->socks5_host,
		    pc->socks5_port, pc->socks5_user, pc->socks5_pass,
		    pc->host, pc->port, pool_socks_done, p, &why);
		if (p->socks == NULL) {
			log_debug("pool %s: %s", p->name, why);
			goto fail;
		}
		log_debug("pool %llu: via socks5 %s", (unsigned long long)p->id,
		    socks5_proxy(p->socks));
	} else if (bufferevent_socket_connect_hostname(p->bev, sl.dns,
	    AF_UNSPEC, pc->host, pc->port) != 0)
		goto fail;
	return p;
fail:
	log_debug("pool %s: cannot start connecting", p->name);
	pool_fail_counts[POOL_FAIL_CONNECT]++;
	if (p->bev != NULL)
		bufferevent_free(p->bev);
	config_unref(p->conf);
	free(p);
	return NULL;
}

/* Shares sent and not answered yet. */
size_t
pool_pending(const struct pool *p)
{
	return p->npending;
}

/* What /debug/connections shows of a pool connection. */
void
pool_view(const struct pool *p, struct pool_view *v)
{
	v->id = p->id;
	v->name = p->name;
	v->state = pool_state_text(p->state);
	v->tls = p->tls;
	v->opened = p->opened;
	v->state_since = p->state_since;
	v->last_recv = p->last_recv;
	v->last_send = p->last_send;
	v->rx = p->rx;
	v->tx = p->tx;
	v->pending = p->npending;
	v->in = p->in.len;		/* a partial line kept */
	v->out = 0;
	if (p->bev != NULL) {
		v->in += evbuffer_get_length(bufferevent_get_input(p->bev));
		v->out = evbuffer_get_length(bufferevent_get_output(p->bev));
	}
}

/* Free a closed pool on the next loop turn. */
static void
pool_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool	*p = (struct pool *)arg;

	(void)fd;
	(void)what;
	free(p->qsession);
	job_unref(p->job);
	config_unref(p->conf);
	free(p);
}

/*
 * The one close path. Answers every pending share, tells the strategy
 * (unless detached), frees on the next loop turn. Safe to call twice.
 */
void
pool_close(struct pool *p, enum pool_fail why, const char *text)
{
	struct share	*s;
	struct strategy	*st;

	if (p->state == POOL_CLOSED)
		return;
	log_debug("type=pool_close "
	    "pool=%s id=%llu state=%s reason=%s detail=\"%s\" pending=%zu "
	    "rx=%llu tx=%llu", p->name, (unsigned long long)p->id,
	    pool_state_text(p->state), pool_fail_text(why), log_esc(text),
	    p->npending,
	    (unsigned long long)p->rx, (unsigned long long)p->tx);
	pool_set_state(p, POOL_CLOSED);
	pool_fail_counts[why]++;
	while ((s = TAILQ_FIRST(&p->pending)) != NULL) {
		TAILQ_REMOVE(&p->pending, s, entry);
		p->npending--;
		if (why == POOL_FAIL_TIMEOUT)
			share_finish(s, SHARE_TIMEOUT, "Pool timeout");
		else
			share_finish(s, SHARE_LOST, "Pool connection lost");
	}
	if (p->flush_ev != NULL) {
		event_free(p->flush_ev);
		p->flush_ev = NULL;
	}
	socks5_free(p->socks);
	p->socks = NULL;
	/* Before the bufferevent closes the socket it reads. */
	if (p->reading) {
		event_del(&p->rev);
		p->reading = 0;
	}
	stratum_part_free(&p->in);
	if (p->bev != NULL) {
		bufferevent_free(p->bev);
		p->bev = NULL;
	}
	st = p->strategy;
	p->strategy = NULL;
	if (st != NULL)
		strategy_pool_failed(st, p, why, text);
	event_base_once(sl.base, -1, EV_TIMEOUT, pool_free_cb, p, NULL);
}

/* Queue a line to the pool; a pool that stops reading has failed. */
static int
pool_send(struct pool *p, const char *buf, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(p->bev);

	if (evbuffer_get_length(out) + len > POOL_OUTPUT_MAX) {
		pool_close(p, POOL_FAIL_OVERFLOW, "pool stopped reading");
		return -1;
	}
	/* Plain: the first line of a turn schedules the turn's one write. */
	if (p->direct && evbuffer_get_length(out) == 0 &&
	    !(bufferevent_get_enabled(p->bev) & EV_WRITE))
		event_active(p->flush_ev, EV_WRITE, 0);
	evbuffer_add(out, buf, len);
	p->tx += len;
	p->last_send = sl.now;
	if (log_get_verbose() >= 2)
		log_debug2("pool %llu: > %s", (unsigned long long)p->id,
		    log_line(buf, len > 0 ? len - 1 : 0));
	if (capture_on)
		pool_capture(p, CAPTURE_POOL_OUT, buf, len, NULL);
	return 0;
}

/* Record a line of this pool's in the capture. */
static void
pool_capture(struct pool *p, enum capture_dir dir, const char *line,
    size_t len, const char *refused)
{
	struct capture_pool	 cp;
	const char		*user = NULL, *pass = NULL;

	if (p->strategy != NULL)
		strategy_login(p->strategy, &user, &pass);
	cp.upstream = p->strategy != NULL ? strategy_upstream(p->strategy) : 0;
	cp.name = p->name;
	cp.user = user != NULL ? user : p->pc->user;
	capture_pool(dir, &cp, line, len, refused);
}

/*
 * End of a loop turn with output for a plain pool: every line queued in
 * the turn goes out in one write, straight to the socket. Only when the
 * kernel's buffer is full does the bufferevent's write event take over
 * (armed here, disarmed by pool_drained()), so the steady state costs
 * no epoll_ctl per share.
 */
static void
pool_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_flush((struct pool *)arg);
}

/* Write what is queued now; leave the rest to the write event. */
static void
pool_flush(struct pool *p)
{
	struct evbuffer	*out = bufferevent_get_output(p->bev);
	int		 n;

	if (p->state == POOL_CLOSED || evbuffer_get_length(out) == 0)
		return;
	n = evbuffer_write(out, bufferevent_getfd(p->bev));
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		pool_close(p, POOL_FAIL_CLOSED, strerror(errno));
		return;
	}
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(p->bev, EV_WRITE);
}

/* The write event emptied the output: back to writing at turn's end. */
static void
pool_drained(struct bufferevent *bev, void *arg)
{
	struct pool	*p = (struct pool *)arg;

	sluice_activity(ACT_POOL_EVENT);
	if (p->direct)
		bufferevent_disable(bev, EV_WRITE);
}

/*
 * The SOCKS5 tunnel is up (fd), or failed (error). From here on the
 * connection is a direct one: the bufferevent takes the fd as it would
 * from its own connect; a TLS pool's handshake starts over the tunnel and
 * reports BEV_EVENT_CONNECTED when done, a plain pool is told now.
 */
static void
pool_socks_done(evutil_socket_t fd, const char *error, void *arg)
{
	struct pool	*p = (struct pool *)arg;

	p->socks = NULL;
	if (fd == -1) {
		pool_close(p, POOL_FAIL_PROXY, error);
		return;
	}
	if (bufferevent_setfd(p->bev, fd) != 0) {
		evutil_closesocket(fd);
		pool_close(p, POOL_FAIL_PROXY, "cannot take the tunnel");
		return;
	}
	bufferevent_enable(p->bev, EV_READ | EV_WRITE);
	if (!p->tls)
		bufferevent_trigger_event(p->bev, BEV_EVENT_CONNECTED,
		    BEV_TRIG_DEFER_CALLBACKS);
}

/* Connected, or failed to. */
static void
pool_event(struct bufferevent *bev, short what, void *arg)
{
	struct pool	*p = (struct pool *)arg;
	int		 dnserr;

	sluice_activity(ACT_POOL_EVENT);
	if (what & BEV_EVENT_CONNECTED) {
		int one = 1, idle = p->conf->pool_response_timeout, intvl = 1,
		    cnt = 2;
		evutil_socket_t fd = bufferevent_getfd(bev);
		/* Shares are small lines that must not wait for Nagle. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		/*
		 * A pool host that vanishes (a dead machine, a black-holed
		 * path) on a quiet connection is found by the kernel's
		 * keepalive within pool-response-timeout + 2 s, even when
		 * no request is waiting for an answer.
		 */
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
		    sizeof intvl);
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
		log_debug("pool %llu: connected to %s%s",
		    (unsigned long long)p->id, p->name, p->tls ? " (tls)" : "");
		if (!p->tls) {
			/*
			 * From now on a plain pool's output is written by
			 * pool_flush() at the end of the loop turn, straight
			 * to the socket: no write event is armed unless the
			 * kernel's buffer is full. Its input is read by
			 * pool_plain_read(): one recv() per wakeup, where the
			 * bufferevent asks FIONREAD before each readv.
			 * Whatever the bufferevent has read already (a pool
			 * that spoke first) is framed now, before the login.
			 */
			p->direct = 1;
			p->flush_ev = event_new(sl.base, -1, 0, pool_flush_cb,
			    p);
			bufferevent_disable(bev, EV_READ | EV_WRITE);
			bufferevent_setcb(bev, NULL, pool_drained, pool_event,
			    p);
			event_assign(&p->rev, sl.base, fd, EV_READ | EV_PERSIST,
			    pool_plain_read, p);
			event_add(&p->rev, NULL);
			p->reading = 1;
			pool_read(bev, p);
			if (p->state == POOL_CLOSED)
				return;
		}
		if (p->tls && pool_check_pin(p) != 0)
			return;
		pool_login(p);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		pool_close(p, p->state == POOL_CONNECTING ? POOL_FAIL_CONNECT :
		    POOL_FAIL_CLOSED, "closed by pool");
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e;
		if (p->tls && (e = bufferevent_get_openssl_error(bev)) != 0) {
			char buf[256];
			ERR_error_string_n(e, buf, sizeof buf);
			while (bufferevent_get_openssl_error(bev) != 0)
				;
			pool_close(p, POOL_FAIL_TLS, buf);
		} else if ((dnserr = bufferevent_socket_get_dns_error(bev)) != 0)
			pool_close(p, POOL_FAIL_DNS, evutil_gai_strerror(dnserr));
		else
			pool_close(p, p->state == POOL_CONNECTING ?
			    POOL_FAIL_CONNECT : POOL_FAIL_CLOSED,
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
	}
}

/*
 * A pinned pool: the SHA-256 of its certificate must match. A mismatch is
 * an error with both fingerprints, and the strategy moves to the next pool.
 */
static int
pool_check_pin(struct pool *p)
{
	const struct pool_conf	*pc = p->pc;
	char			 fp[65];
	SSL			*ssl = bufferevent_openssl_get_ssl(p->bev);

	if (pc->tls_fingerprint == NULL)
		return 0;
	if (ssl == NULL || tls_fingerprint(ssl, fp) != 0) {
		log_warnx("type=tls_error pool=%s error=\"no peer certificate\"",
		    p->name);
		pool_close(p, POOL_FAIL_TLS, "no peer certificate");
		return -1;
	}
	if (strcmp(fp, pc->tls_fingerprint) != 0) {
		log_warnx("type=tls_error level=ERROR pool=%s error=\"certificate "
		    "fingerprint mismatch\" expected=%s got=%s", p->name,
		    pc->tls_fingerprint, fp);
		pool_close(p, POOL_FAIL_TLS, "fingerprint mismatch");
		return -1;
	}
	return 0;
}

/* Send the login request. */
static void
pool_login(struct pool *p)
{
	const struct pool_conf	*pc = p->pc;
	const char		*user = NULL, *pass = NULL;
	json_t			*req, *params;
	char			*s;
	int			 n;

	if (p->strategy != NULL)
		strategy_login(p->strategy, &user, &pass);
	params = json_object();
	json_object_set_new(params, "login", json_string(
	    user != NULL ? user : pc->user));
	json_object_set_new(params, "pass", json_string(
	    pass != NULL ? pass : pc->pass));
	json_object_set_new(params, "agent", json_string(
	    p->conf->user_agent != NULL ? p->conf->user_agent : SLUICE_AGENT));
	if (pc->rig_id != NULL)
		json_object_set_new(params, "rigid", json_string(pc->rig_id));
	if (pc->algo != NULL) {
		json_t *a = json_array();
		json_array_append_new(a, json_string(pc->algo));
		json_object_set_new(params, "algo", a);
	}
	p->login_seq = ++p->seq;
	req = json_object();
	json_object_set_new(req, "id", json_integer(p->login_seq));
	json_object_set_new(req, "jsonrpc", json_string("2.0"));
	json_object_set_new(req, "method", json_string("login"));
	json_object_set_new(req, "params", params);
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	char *line;
	n = xasprintf(&line, "%s\n", s);
	free(s);
	pool_set_state(p, POOL_LOGIN);
	p->login_sent = sl.now;
	pool_send(p, line, (size_t)n);
	free(line);
}

/*
 * A plain pool sent bytes (or hung up): one recv() per wakeup, after the
 * partial line kept from the last one, so a pool that floods cannot hold
 * the loop (the event is level-triggered: what is left wakes the next
 * turn).
 */
static void
pool_plain_read(evutil_socket_t fd, short what, void *arg)
{
	struct pool	*p = (struct pool *)arg;
	size_t		 have;
	ssize_t		 n;

	sluice_activity(ACT_POOL_READ);
	(void)what;
	have = stratum_part_take(&p->in, pool_rbuf);
	n = recv(fd, pool_rbuf + have, sizeof pool_rbuf - have - 1, 0);
	if (n == 0) {
		pool_close(p, POOL_FAIL_CLOSED, "closed by pool");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			stratum_part_keep(&p->in, pool_rbuf, have);
			return;
		}
		pool_close(p, POOL_FAIL_CLOSED,
		    evutil_socket_error_to_string(errno));
		return;
	}
	pool_lines(p, pool_rbuf, have + (size_t)n);
}

/*
 * What the bufferevent has read: a TLS pool's decrypted input, or a
 * plain pool's first bytes if it spoke before it was handed to
 * pool_plain_read(). Framed exactly as a plain pool's.
 */
static void
pool_read(struct bufferevent *bev, void *arg)
{
	struct pool	*p = (struct pool *)arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	size_t		 have;
	int		 n;

	sluice_activity(ACT_POOL_READ);
	while (p->state != POOL_CLOSED && evbuffer_get_length(in) > 0) {
		have = stratum_part_take(&p->in, pool_rbuf);
		n = evbuffer_remove(in, pool_rbuf + have,
		    sizeof pool_rbuf - have - 1);
		if (n <= 0) {
			stratum_part_keep(&p->in, pool_rbuf, have);
			break;
		}
		pool_lines(p, pool_rbuf, have + (size_t)n);
	}
}

/*
 * Hand every complete line of buf to pool_line(); a line, or a partial
 * line, over the limit is a parse failure. pool_line() may close the
 * pool: framing stops there (the struct lives until pool_free_cb()).
 */
static void
pool_lines(struct pool *p, char *buf, size_t len)
{
	if (stratum_frame(&p->in, buf, len, &p->rx, pool_frame_line, p) ==
	    STRATUM_TOO_LONG) {
		if (capture_on) {
			pool_capture(p, CAPTURE_POOL_IN, stratum_long_line,
			    stratum_long_len, "line too long");
			capture_done();
		}
		pool_close(p, POOL_FAIL_PARSE, "line too long");
	}
}

/* One line from the pool; stop framing once the pool is closed. */
static int
pool_frame_line(void *arg, char *line, size_t len)
{
	struct pool	*p = (struct pool *)arg;

	pool_line(p, line, len);
	return p->state == POOL_CLOSED ? -1 : 0;
}

/*
 * The fast path for the pool's answers to submits: scanned in place, no
 * allocation. Returns 0 to let jansson parse the line (jobs, the login
 * reply, any other shape), 1 when it has been handled.
 */
static int
pool_line_fast(struct pool *p, char *line, size_t len)
{
	struct jflat		 f;
	const struct jmember	*id, *error, *msg;
	int64_t			 seq;

	if (stratum_scan(line, len, &f) != 0 ||
	    stratum_member(&f.top, "method") != NULL ||
	    (id = stratum_member(&f.top, "id")) == NULL || id->type != 'n')
		return 0;
	seq = strtoll(id->val, NULL, 10);
	if (seq == p->login_seq && p->state == POOL_LOGIN)
		return 0;
	error = stratum_member(&f.top, "error");
	msg = NULL;
	if (error != NULL && error->type == 'o')
		msg = stratum_member(&f.sub, "message");
	else if (error != NULL && error->type != 'z')
		return 0;
	stratum_terminate(&f);
	if (error == NULL || error->type == 'z')
		pool_result(p, seq, 1, NULL);
	else
		pool_result(p, seq, 0, msg != NULL && msg->type == 's' ?
		    msg->val : "error");
	return 1;
}

/*
 * One line from the pool. With capture on, it is recorded first, and
 * what is written until it has been handled is what it caused.
 */
static void
pool_line(struct pool *p, char *line, size_t len)
{
	if (capture_on) {
		pool_capture(p, CAPTURE_POOL_IN, line, len, NULL);
		pool_dispatch(p, line, len);
		capture_done();
		return;
	}
	pool_dispatch(p, line, len);
}

/* One message from the pool: a job, or an answer to one of ours. */
static void
pool_dispatch(struct pool *p, char *line, size_t len)
{
	json_error_t	 err;
	json_t		*msg, *method, *id;
	struct job	*j;
	const char	*why;

	if (log_get_verbose() >= 2)
		log_debug2("pool %llu: < %s", (unsigned long long)p->id,
		    log_line(line, len));
	if (pool_line_fast(p, line, len))
		return;
	if ((msg = json_loadb(line, len, 0, &err)) == NULL ||
	    !json_is_object(msg)) {
		if (msg != NULL)
			json_decref(msg);
		pool_close(p, POOL_FAIL_PARSE, "malformed JSON from pool");
		return;
	}
	method = json_object_get(msg, "method");
	id = json_object_get(msg, "id");
	if (json_is_string(method)) {
		if (strcmp(json_string_value(method), "job") != 0 ||
		    p->state != POOL_ACTIVE) {
			log_debug("pool %s: ignored method \"%s\"", p->name,
			    log_esc(json_string_value(method)));
		} else if ((j = job_parse(json_object_get(msg, "params"),
		    p->conf->algo_ext, &why)) == NULL) {
			log_warnx("pool %s: invalid job dropped: %s", p->name,
			    why);
		} else {
			pool_new_job(p, j);
			job_unref(j);
		}
	} else if (json_is_integer(id)) {
		if (json_integer_value(id) == p->login_seq &&
		    p->state == POOL_LOGIN)
			pool_login_reply(p, json_object_get(msg, "result"),
			    json_object_get(msg, "error"));
		else {
			json_t *error = json_object_get(msg, "error");
			int ok = error == NULL || json_is_null(error);
			pool_result(p, json_integer_value(id), ok,
			    ok ? NULL : pool_error_text(error));
		}
	} else
		log_debug("pool %s: message without method or id", p->name);
	json_decref(msg);
}

/* Text of a JSON-RPC error object. */
static const char *
pool_error_text(json_t *error)
{
	json_t	*m = json_object_get(error, "message");

	if (json_is_string(m))
		return json_string_value(m);
	return "error";
}

/* The login reply: our session id, extensions, the first job. */
static void
pool_login_reply(struct pool *p, json_t *result, json_t *error)
{
	json_t		*sid, *ext, *v;
	struct job	*j = NULL;
	const char	*why = NULL;
	size_t		 i;

	if (error != NULL && !json_is_null(error)) {
		pool_close(p, POOL_FAIL_LOGIN, pool_error_text(error));
		return;
	}
	sid = json_object_get(result, "id");
	if (!json_is_string(sid) || json_string_length(sid) > 128) {
		pool_close(p, POOL_FAIL_PARSE, "login reply without an id");
		return;
	}
	p->qsession = json_dumps(sid, JSON_ENCODE_ANY | JSON_COMPACT);
	ext = json_object_get(result, "extensions");
	json_array_foreach(ext, i, v) {
		if (!json_is_string(v))
			continue;
		if (strcmp(json_string_value(v), "algo") == 0)
			p->ext_algo = 1;
		else if (strcmp(json_string_value(v), "keepalive") == 0)
			p->ext_keepalive = 1;
	}
	pool_set_state(p, POOL_ACTIVE);
	if (json_object_get(result, "job") != NULL &&
	    (j = job_parse(json_object_get(result, "job"), p->conf->algo_ext,
	    &why)) == NULL)
		log_warnx("pool %s: invalid job in login reply: %s", p->name,
		    why);
	log_debug("pool %llu: logged in to %s", (unsigned long long)p->id,
	    p->name);
	if (j != NULL) {
		pool_new_job(p, j);
		job_unref(j);
	}
}

/*
 * A job from the pool (in the login reply or pushed): the first one makes
 * the connection ready. The pool keeps the latest, for a standby that an
 * upstream takes over.
 */
static void
pool_new_job(struct pool *p, struct job *j)
{
	job_unref(p->job);
	p->job = job_ref(j);
	if (!p->ready) {
		p->ready = 1;
		if (p->strategy != NULL)
			strategy_pool_ready(p->strategy, p, j);
	} else if (p->strategy != NULL)
		strategy_pool_job(p->strategy, p, j);
}

/* The answer to a submit (or keepalived): end the share it belongs to. */
static void
pool_result(struct pool *p, int64_t id, int ok, const char *message)
{
	struct share	*s;

	if (id == p->keepalive_seq) {
		p->keepalive_seq = 0;
		return;
	}
	TAILQ_FOREACH(s, &p->pending, entry) {
		if (s->seq == id)
			break;
	}
	if (s == NULL) {
		log_debug("pool %s: answer to unknown request %lld", p->name,
		    (long long)id);
		return;
	}
	TAILQ_REMOVE(&p->pending, s, entry);
	p->npending--;
	share_finish(s, ok ? SHARE_ACCEPTED : SHARE_REJECTED, message);
}

/*
 * Forward a share. job_id, nonce and result go out exactly as the miner
 * sent them (plus algo when the pool speaks the extension). Returns -1 if
 * it could not be sent; the caller ends the share.
 */
int
pool_submit(struct pool *p, struct share *s, const struct job *j)
{
	char	 buf[1024];
	int	 n;

	if (p->state != POOL_ACTIVE || p->qsession == NULL)
		return -1;
	s->seq = ++p->seq;
	n = snprintf(buf, sizeof buf, "{\"id\":%lld,\"jsonrpc\":\"2.0\","
	    "\"method\":\"submit\",\"params\":{\"id\":%s,\"job_id\":%s,"
	    "\"nonce\":\"%s\",\"result\":\"%s\"%s%s}}\n", (long long)s->seq,
	    p->qsession, j->qjob_id, s->nonce, s->result,
	    p->ext_algo && j->qalgo != NULL ? ",\"algo\":" : "",
	    p->ext_algo && j->qalgo != NULL ? j->qalgo : "");
	if (n < 0 || (size_t)n >= sizeof buf)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &s->sent);
	TAILQ_INSERT_TAIL(&p->pending, s, entry);
	p->npending++;
	if (pool_send(p, buf, (size_t)n) != 0)
		return 0;	/* pool_close() has answered it */
	return 0;
}

/* Once a second: connect, login and reply timeouts; keepalive. */
void
pool_tick(struct pool *p, time_t now)
{
	const struct config	*c = p->conf;
	struct share		*s;
	char			 buf[256];
	int			 n;

	switch (p->state) {
	case POOL_CONNECTING:
		if (now - p->state_since < c->pool_connect_timeout)
			return;
		if (p->socks != NULL) {
			snprintf(buf, sizeof buf, "connect timeout (socks5 "
			    "%s: %s)", socks5_proxy(p->socks),
			    socks5_stage(p->socks));
			pool_close(p, POOL_FAIL_TIMEOUT, buf);
		} else
			pool_close(p, POOL_FAIL_TIMEOUT, "connect timeout");
		return;
	case POOL_LOGIN:
		if (now - p->login_sent >= c->pool_response_timeout)
			pool_close(p, POOL_FAIL_TIMEOUT, "no login reply");
		return;
	case POOL_ACTIVE:
		/* Seen here, once a second, not on every line. */
		if (p->rx != p->last_rx) {
			p->last_rx = p->rx;
			p->last_recv = now;
		}
		break;
	case POOL_CLOSED:
		return;
	}
	if (!p->ready && now - p->state_since >= c->pool_response_timeout) {
		pool_close(p, POOL_FAIL_TIMEOUT, "no job after login");
		return;
	}
	if ((s = TAILQ_FIRST(&p->pending)) != NULL &&
	    now - s->sent.tv_sec >= c->pool_response_timeout) {
		pool_close(p, POOL_FAIL_TIMEOUT, "no reply to submit");
		return;
	}
	if (p->keepalive_seq != 0 &&
	    now - p->keepalive_sent >= c->pool_response_timeout) {
		pool_close(p, POOL_FAIL_TIMEOUT, "no reply to keepalived");
		return;
	}
	/*
	 * A keepalived goes out when the pool asked for them (every minute
	 * without traffic), and as a probe when the pool has said nothing for
	 * pool-quiet-probe seconds with nothing left to answer: a pool process
	 * that keeps its socket but stops answering is found within
	 * pool-quiet-probe + pool-response-timeout. Any answer, even an error
	 * from a pool that knows no keepalived, proves it alive.
	 */
	if (p->keepalive_seq == 0 &&
	    (((p->pc->keepalive || p->ext_keepalive) &&
	    now - p->last_send >= POOL_KEEPALIVE_IDLE) ||
	    (c->pool_quiet_probe > 0 && TAILQ_EMPTY(&p->pending) &&
	    now - p->last_recv >= c->pool_quiet_probe))) {
		p->keepalive_seq = ++p->seq;
		p->keepalive_sent = now;
		n = snprintf(buf, sizeof buf, "{\"id\":%lld,\"jsonrpc\":\"2.0\","
		    "\"method\":\"keepalived\",\"params\":{\"id\":%s}}\n",
		    (long long)p->keepalive_seq, p->qsession);
		if (n > 0 && (size_t)n < sizeof buf)
			pool_send(p, buf, (size_t)n);
	}
}
