/*
 * listener.cc: one listening socket per "bind" entry. Accepts, applies the
 * global connection cap, and pauses accepting for a second when the
 * process runs out of file descriptors instead of spinning on EMFILE.
 * With reuse-port, SO_REUSEPORT lets several processes share a port.
 *
 * A proxy-protocol bind sits behind HAProxy or nginx: a connection from a
 * trusted source (proxy-protocol-from) must first send a PROXY header,
 * whole within proxy-protocol-timeout; the header is read with MSG_PEEK
 * and only its own bytes are taken off the socket, so what follows it
 * (a stratum line, a TLS handshake, a WebSocket upgrade) stays for the
 * miner. The address it carries is the miner's from then on: admission
 * (rate limit, bans, on_connect) happens after it, with that address. An
 * untrusted source, a bad header or a slow one is closed and counted
 * (miner_refused); a LOCAL header (the proxy's health check) is closed
 * at once, cleanly.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>

#include "config.h"
#include "listener.h"
#include "miner.h"
#include "policy.h"
#include "proxyproto.h"
#include "stats.h"
#include "tls.h"

struct listener {
	struct evconnlistener	*evl;
	int			 port;
	int			 tls;
	enum wire_transport	 transport;	/* before any TLS sniffing */
	char			*ws_path;	/* interned; WebSocket binds */
	int			 proxy;		/* a PROXY header first */
	int			 proxy_timeout;	/* s */
	struct proxyproto_net	*from;		/* trusted sources */
	size_t			 nfrom;
	char			 addr[128];
	TAILQ_ENTRY(listener)	 entry;
};
static TAILQ_HEAD(, listener) listeners = TAILQ_HEAD_INITIALIZER(listeners);
static time_t	 listener_paused_until;

/*
 * A connection not yet a miner. On a plain bind while a certificate is
 * configured it may speak TLS: wait for its first byte (a TLS handshake
 * starts with 0x16). On a proxy-protocol bind: its PROXY header (hdr).
 */
struct sniff {
	struct event		*ev;
	struct sockaddr_storage	 ss;
	int			 salen;
	int			 port;
	int			 websocket;
	char			*ws_path;	/* the listener's */
	struct listener		*l;		/* PROXY: its bind */
	unsigned char		*hdr;		/* the header so far, or NULL */
	size_t			 have;
	int64_t			 deadline_ms;	/* monotonic */
	TAILQ_ENTRY(sniff)	 entry;
};
static TAILQ_HEAD(, sniff) sniffs = TAILQ_HEAD_INITIALIZER(sniffs);
static size_t	 nsniffs;

static void	 listener_sniff(evutil_socket_t, short, void *);
static void	 listener_sniff_free(struct sniff *, int);
static void	 listener_admit(struct listener *, evutil_socket_t,
		     struct sockaddr *, int);
static void	 listener_proxy_begin(struct listener *, evutil_socket_t,
		     struct sockaddr *, int);
static void	 listener_proxy_read(evutil_socket_t, short, void *);
static void	 listener_proxy_fail(struct sniff *, enum close_reason,
		     const char *);

static void	 listener_accept(struct evconnlistener *, evutil_socket_t,
		     struct sockaddr *, int, void *);
static void	 listener_error(struct evconnlistener *, void *);

/* Open every bind address. Returns -1 (after logging) if any fails. */
int
listener_open_all(struct config *c)
{
	struct addrinfo	 hints, *res, *ai;
	struct listener	*l;
	char		 port[16];
	size_t		 i;
	int		 rc;

	for (i = 0; i < c->nbinds; i++) {
		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		snprintf(port, sizeof port, "%d", c->binds[i].port);
		rc = getaddrinfo(c->binds[i].host, port, &hints, &res);
		if (rc != 0) {
			log_warnx("%s: bind[%zu]: %s: %s", c->path, i,
			    c->binds[i].host, gai_strerror(rc));
			return -1;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next) {
			l = XCALLOC(struct listener, 1);
			l->port = c->binds[i].port;
			l->tls = c->binds[i].tls;
			if (c->binds[i].protocol == BIND_XATUM)
				l->transport = WIRE_XATUM;
			else if (c->binds[i].websocket) {
				l->transport = l->tls ? WIRE_WSS : WIRE_WS;
				l->ws_path = intern(c->binds[i].path);
			} else
				l->transport = l->tls ? WIRE_TLS : WIRE_TCP;
			l->proxy = c->binds[i].proxy_protocol;
			l->proxy_timeout = c->binds[i].proxy_timeout;
			if (l->proxy && c->binds[i].nproxy_from > 0) {
				l->nfrom = c->binds[i].nproxy_from;
				l->from = XCALLOC(struct proxyproto_net,
				    l->nfrom);
				memcpy(l->from, c->binds[i].proxy_from,
				    l->nfrom * sizeof *l->from);
			}
			snprintf(l->addr, sizeof l->addr,
			    ai->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
			    c->binds[i].host, c->binds[i].port);
			l->evl = evconnlistener_new_bind(sl.base,
			    listener_accept, l, LEV_OPT_CLOSE_ON_FREE |
			    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC |
			    (c->reuse_port ? LEV_OPT_REUSEABLE_PORT : 0), 1024,
			    ai->ai_addr, (int)ai->ai_addrlen);
			if (l->evl == NULL) {
				log_warn("%s: bind[%zu]: cannot listen on %s",
				    c->path, i, l->addr);
				intern_drop(l->ws_path);
				free(l->from);
				free(l);
				freeaddrinfo(res);
				return -1;
			}
			evconnlistener_set_error_cb(l->evl, listener_error);
			TAILQ_INSERT_TAIL(&listeners, l, entry);
			log_info("type=listen addr=%s tls=%d transport=%s "
			    "proxy=%d reuse_port=%d", l->addr, l->tls,
			    wire_transport_text(l->transport), l->proxy,
			    c->reuse_port);
		}
		freeaddrinfo(res);
	}
	return 0;
}

/* Close every listener and waiting connection (shutdown). */
void
listener_close_all(void)
{
	struct listener	*l;
	struct sniff	*sn;

	while ((sn = TAILQ_FIRST(&sniffs)) != NULL)
		listener_sniff_free(sn, 1);

	while ((l = TAILQ_FIRST(&listeners)) != NULL) {
		TAILQ_REMOVE(&listeners, l, entry);
		evconnlistener_free(l->evl);
		intern_drop(l->ws_path);
		free(l->from);
		free(l);
	}
}

/* Stop accepting for a second (out of descriptors). */
void
listener_pause(void)
{
	struct listener	*l;

	if (listener_paused_until != 0)
		return;
	TAILQ_FOREACH(l, &listeners, entry)
		evconnlistener_disable(l->evl);
	listener_paused_until = sl.now + 1;
	log_warnx("type=accept_paused reason=\"out of file descriptors\"");
}

/* Resume accepting after a pause. */
void
listener_tick(time_t now)
{
	struct listener	*l;

	if (listener_paused_until == 0 || now < listener_paused_until)
		return;
	listener_paused_until = 0;
	TAILQ_FOREACH(l, &listeners, entry)
		evconnlistener_enable(l->evl);
	log_info("type=accept_resumed");
}

/* The text form of a peer's address (no port). */
const char *
listener_ip(const struct sockaddr *sa, char *buf, size_t len)
{
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, len);
	else
		xstrlcpy(buf, "unknown", len);
	return buf;
}

/* A new connection: apply the cap and the policy, then hand it over. */
static void
listener_accept(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener	*l = (struct listener *)arg;

	sluice_activity(ACT_ACCEPT);
	(void)evl;
	sl_stats.connections++;
	if (sl.conf->max_connections > 0 &&
	    miner_count() + nsniffs >= (size_t)sl.conf->max_connections) {
		sl_stats.refused_max_conn++;
		log_debug("refused connection: max-connections %d reached",
		    sl.conf->max_connections);
		evutil_closesocket(fd);
		return;
	}
	if (l->proxy)
		listener_proxy_begin(l, fd, sa, salen);
	else
		listener_admit(l, fd, sa, salen);
}

/*
 * The connection on l is from sa (the peer, or the PROXY header's
 * client): the policy admits it, then it is a miner, or waits for its
 * first byte.
 */
static void
listener_admit(struct listener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen)
{
	char	 ip[64];
	int	 one = 1;

	if (policy_connect(sl.conf, listener_ip(sa, ip, sizeof ip), l->port,
	    l->tls) != 0) {
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (l->tls || tls_server() == NULL) {
		miner_accept(fd, sa, salen, l->port, l->transport, l->ws_path);
		return;
	}
	struct sniff *sn = XCALLOC(struct sniff, 1);
	struct timeval tv = { SLUICE_LOGIN_TIMEOUT, 0 };
	memcpy(&sn->ss, sa, (size_t)salen);
	sn->salen = salen;
	sn->port = l->port;
	sn->websocket = l->transport == WIRE_WS;
	sn->ws_path = l->ws_path;
	sn->ev = event_new(sl.base, fd, EV_READ, listener_sniff, sn);
	TAILQ_INSERT_TAIL(&sniffs, sn, entry);
	nsniffs++;
	event_add(sn->ev, &tv);
}

/* A proxy-protocol bind: a trusted source, then wait for the header. */
static void
listener_proxy_begin(struct listener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen)
{
	struct sniff	*sn;
	struct timeval	 tv = { l->proxy_timeout, 0 };
	char		 ip[64];

	if (!proxyproto_net_match(l->from, l->nfrom, sa)) {
		miner_refused(CLOSE_PROXY_UNTRUSTED, listener_ip(sa, ip,
		    sizeof ip), l->port, NULL);
		evutil_closesocket(fd);
		return;
	}
	sn = XCALLOC(struct sniff, 1);
	memcpy(&sn->ss, sa, (size_t)salen);
	sn->salen = salen;
	sn->port = l->port;
	sn->l = l;
	sn->hdr = (unsigned char *)xmalloc(PROXYPROTO_MAX);
	sn->deadline_ms = sluice_mono_ms() + (int64_t)l->proxy_timeout * 1000;
	sn->ev = event_new(sl.base, fd, EV_READ, listener_proxy_read, sn);
	TAILQ_INSERT_TAIL(&sniffs, sn, entry);
	nsniffs++;
	event_add(sn->ev, &tv);
}

/* Close a connection whose header failed, and count it. */
static void
listener_proxy_fail(struct sniff *sn, enum close_reason why,
    const char *detail)
{
	char	 ip[64];

	miner_refused(why, listener_ip((struct sockaddr *)&sn->ss, ip,
	    sizeof ip), sn->port, detail);
	listener_sniff_free(sn, 1);
}

/*
 * Bytes of the PROXY header (or its deadline). Peek, parse, and take off
 * the socket only the bytes that belong to the header: all of them while
 * it is incomplete, up to its end once it is whole.
 */
static void
listener_proxy_read(evutil_socket_t fd, short what, void *arg)
{
	struct sniff		*sn = (struct sniff *)arg;
	struct listener		*l = sn->l;
	struct proxyproto	 pp;
	struct timeval		 tv;
	const char		*why;
	int64_t			 left;
	ssize_t			 n;
	size_t			 take;
	int			 rc;

	if (what & EV_TIMEOUT) {
		listener_proxy_fail(sn, CLOSE_PROXY_TIMEOUT, NULL);
		return;
	}
	n = recv(fd, sn->hdr + sn->have, PROXYPROTO_MAX - sn->have, MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		goto again;
	if (n <= 0) {
		if (n == 0 && sn->have == 0) {
			/* Connected and left: a plain TCP check. */
			listener_sniff_free(sn, 1);
			return;
		}
		listener_proxy_fail(sn, CLOSE_PROXY_BAD, n == 0 ?
		    "closed inside the PROXY header" : strerror(errno));
		return;
	}
	rc = proxyproto_parse(sn->hdr, sn->have + (size_t)n, &pp, &why);
	if (rc < 0) {
		listener_proxy_fail(sn, CLOSE_PROXY_BAD, why);
		return;
	}
	take = rc == 0 ? (size_t)n : (size_t)rc - sn->have;
	if (recv(fd, sn->hdr + sn->have, take, 0) != (ssize_t)take) {
		listener_proxy_fail(sn, CLOSE_PROXY_BAD, "short read");
		return;
	}
	sn->have += take;
	if (rc == 0)
		goto again;
	if (pp.local) {
		/* The proxy's own connection (a health check): done. */
		log_debug2("type=proxy_local port=%d version=%d", sn->port,
		    pp.version);
		listener_sniff_free(sn, 1);
		return;
	}
	listener_sniff_free(sn, 0);
	listener_admit(l, fd, (struct sockaddr *)&pp.src, (int)pp.srclen);
	return;
again:
	left = sn->deadline_ms - sluice_mono_ms();
	if (left <= 0) {
		listener_proxy_fail(sn, CLOSE_PROXY_TIMEOUT, NULL);
		return;
	}
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	event_add(sn->ev, &tv);
}

/* Forget a waiting connection, closing its socket if asked. */
static void
listener_sniff_free(struct sniff *sn, int close_fd)
{
	TAILQ_REMOVE(&sniffs, sn, entry);
	nsniffs--;
	if (close_fd)
		evutil_closesocket(event_get_fd(sn->ev));
	event_free(sn->ev);
	free(sn->hdr);
	free(sn);
}

/* First byte arrived (or the login timeout): TLS or plain? */
static void
listener_sniff(evutil_socket_t fd, short what, void *arg)
{
	struct sniff		*sn = (struct sniff *)arg;
	enum wire_transport	 t;
	unsigned char		 b;
	ssize_t			 n;

	if (what & EV_TIMEOUT) {
		listener_sniff_free(sn, 1);
		return;
	}
	n = recv(fd, &b, 1, MSG_PEEK);
	if (n <= 0) {
		listener_sniff_free(sn, 1);
		return;
	}
	/* A plain bind takes TLS too, when a certificate is there. */
	if (sn->websocket)
		t = b == 0x16 ? WIRE_WSS : WIRE_WS;
	else
		t = b == 0x16 ? WIRE_TLS : WIRE_TCP;
	miner_accept(fd, (struct sockaddr *)&sn->ss, sn->salen, sn->port, t,
	    sn->ws_path);
	listener_sniff_free(sn, 0);
}

/* Did accept(2) fail for want of descriptors or memory (pause, retry)? */
int
listener_out_of_files(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
}

/* accept(2) failed: pause on descriptor exhaustion, else log. */
static void
listener_error(struct evconnlistener *evl, void *arg)
{
	int	 err = EVUTIL_SOCKET_ERROR();

	(void)evl;
	(void)arg;
	if (listener_out_of_files(err))
		listener_pause();
	else
		log_warnx("accept: %s", evutil_socket_error_to_string(err));
}
