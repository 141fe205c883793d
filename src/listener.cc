/*
 * listener.cc: one listening socket per "bind" entry. Accepts, applies the
 * global connection cap, and pauses accepting for a second when the
 * process runs out of file descriptors instead of spinning on EMFILE.
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
#include <unistd.h>

#include <event2/listener.h>

#include "config.h"
#include "listener.h"
#include "miner.h"
#include "policy.h"
#include "stats.h"
#include "tls.h"

struct listener {
	struct evconnlistener	*evl;
	int			 port;
	int			 tls;
	enum wire_transport	 transport;	/* before any TLS sniffing */
	char			*ws_path;	/* interned; WebSocket binds */
	char			 addr[128];
	TAILQ_ENTRY(listener)	 entry;
};
static TAILQ_HEAD(, listener) listeners = TAILQ_HEAD_INITIALIZER(listeners);
static time_t	 listener_paused_until;

/*
 * A connection on a plain bind while a certificate is configured: it may
 * speak TLS. Wait for its first byte (a TLS handshake starts with 0x16).
 */
struct sniff {
	struct event		*ev;
	struct sockaddr_storage	 ss;
	int			 salen;
	int			 port;
	int			 websocket;
	char			*ws_path;	/* the listener's */
	TAILQ_ENTRY(sniff)	 entry;
};
static TAILQ_HEAD(, sniff) sniffs = TAILQ_HEAD_INITIALIZER(sniffs);
static size_t	 nsniffs;

static void	 listener_sniff(evutil_socket_t, short, void *);
static void	 listener_sniff_free(struct sniff *, int);

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
			snprintf(l->addr, sizeof l->addr,
			    ai->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d",
			    c->binds[i].host, c->binds[i].port);
			l->evl = evconnlistener_new_bind(sl.base,
			    listener_accept, l, LEV_OPT_CLOSE_ON_FREE |
			    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
			    ai->ai_addr, (int)ai->ai_addrlen);
			if (l->evl == NULL) {
				log_warn("%s: bind[%zu]: cannot listen on %s",
				    c->path, i, l->addr);
				intern_drop(l->ws_path);
				free(l);
				freeaddrinfo(res);
				return -1;
			}
			evconnlistener_set_error_cb(l->evl, listener_error);
			TAILQ_INSERT_TAIL(&listeners, l, entry);
			log_info("type=listen addr=%s tls=%d transport=%s",
			    l->addr, l->tls, wire_transport_text(l->transport));
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
	char		 ip[64];
	int		 one = 1;

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

/* Forget a waiting connection, closing its socket if asked. */
static void
listener_sniff_free(struct sniff *sn, int close_fd)
{
	TAILQ_REMOVE(&sniffs, sn, entry);
	nsniffs--;
	if (close_fd)
		evutil_closesocket(event_get_fd(sn->ev));
	event_free(sn->ev);
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
