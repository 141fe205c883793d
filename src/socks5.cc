/*
 * socks5.cc: the SOCKS5 handshake of a pool connection (RFC 1928, with
 * RFC 1929 username/password when the config gives one).
 *
 *	CONNECTING -> METHOD [-> AUTH] -> REPLY -> REPLY_ADDR -> handed on
 *
 * The proxy's own address is resolved like a pool's (evdns); the pool's
 * host name is sent as written (ATYP 3), never resolved here, so a Tor
 * proxy can reach .onion pools and no DNS query leaks around it. IP
 * literals go as ATYP 1 or 4.
 *
 * A plain socket bufferevent carries the handshake. Its read watermarks
 * are set to exactly the bytes the current step waits for, so it never
 * reads past the proxy's reply: the first byte of the pool (or of its TLS
 * handshake) stays in the kernel for whoever takes the fd. The bufferevent
 * does not own the fd; the fd is closed here unless it is handed on.
 * There is no timer: the caller's connect timeout covers the whole
 * exchange and cancels it with socks5_free().
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>

#include "socks5.h"

#define SOCKS5_VERSION		5
#define SOCKS5_AUTH_NONE	0x00
#define SOCKS5_AUTH_PASSWORD	0x02
#define SOCKS5_AUTH_REFUSED	0xff
#define SOCKS5_CMD_CONNECT	1
#define SOCKS5_ATYP_IPV4	1
#define SOCKS5_ATYP_NAME	3
#define SOCKS5_ATYP_IPV6	4
#define SOCKS5_NAME_MAX		255	/* a name, a user or a password */

enum socks5_state {
	SOCKS5_CONNECTING,	/* TCP to the proxy */
	SOCKS5_METHOD,		/* greeting sent, waiting for the method */
	SOCKS5_AUTH,		/* username/password sent */
	SOCKS5_REPLY,		/* CONNECT sent, waiting for its head */
	SOCKS5_REPLY_ADDR	/* the bound address that ends the reply */
};

/* One handshake; owned by the caller until it ends (see socks5_cb). */
struct socks5 {
	struct bufferevent *bev;	/* does not own its fd */
	enum socks5_state state;
	char		 proxy[280];	/* host:port, for details */
	int		 auth;		/* offer username/password */
	unsigned char	 login[3 + 2 * SOCKS5_NAME_MAX];	/* RFC 1929 */
	size_t		 loginlen;
	unsigned char	 request[6 + 1 + SOCKS5_NAME_MAX];	/* CONNECT */
	size_t		 requestlen;
	size_t		 need;		/* bytes the state waits for */
	socks5_cb	*cb;
	void		*arg;
};

static void	 socks5_read(struct bufferevent *, void *);
static void	 socks5_event(struct bufferevent *, short, void *);
static void	 socks5_expect(struct socks5 *, enum socks5_state, size_t);
static void	 socks5_done(struct socks5 *, const char *, ...)
		     PRINTFLIKE(2, 3);

/* What RFC 1928 calls a reply code. */
const char *
socks5_reply_text(int rep)
{
	switch (rep) {
	case 0:
		return "succeeded";
	case 1:
		return "general SOCKS server failure";
	case 2:
		return "connection not allowed by ruleset";
	case 3:
		return "network unreachable";
	case 4:
		return "host unreachable";
	case 5:
		return "connection refused";
	case 6:
		return "TTL expired";
	case 7:
		return "command not supported";
	case 8:
		return "address type not supported";
	}
	return "unassigned reply code";
}

/* Where a handshake stands, for a timeout's detail. */
const char *
socks5_stage(const struct socks5 *s)
{
	switch (s->state) {
	case SOCKS5_CONNECTING:
		return "connecting to the proxy";
	case SOCKS5_METHOD:
		return "no answer to the greeting";
	case SOCKS5_AUTH:
		return "no answer to the authentication";
	case SOCKS5_REPLY:
	case SOCKS5_REPLY_ADDR:
		return "no answer to CONNECT";
	}
	return "unknown";
}

/* The proxy's "host:port". */
const char *
socks5_proxy(const struct socks5 *s)
{
	return s->proxy;
}

/*
 * Start a handshake through proxy_host:proxy_port to host:port. user may
 * be NULL (no authentication offered). NULL with *why set if it cannot
 * start; otherwise cb is called exactly once, from the event loop, unless
 * socks5_free() comes first.
 */
struct socks5 *
socks5_connect(struct event_base *base, struct evdns_base *dns,
    const char *proxy_host, int proxy_port, const char *user,
    const char *pass, const char *host, int port, socks5_cb *cb, void *arg,
    const char **why)
{
	struct socks5	*s;
	unsigned char	*r;
	unsigned char	 a6[16];
	size_t		 n, ulen, plen;

	n = strlen(host);
	if (n == 0 || n > SOCKS5_NAME_MAX) {
		*why = "host name too long for SOCKS5";
		return NULL;
	}
	s = XCALLOC(struct socks5, 1);
	s->cb = cb;
	s->arg = arg;
	n = strchr(proxy_host, ':') != NULL;	/* IPv6: in brackets */
	snprintf(s->proxy, sizeof s->proxy, "%s%s%s:%d", n ? "[" : "",
	    proxy_host, n ? "]" : "", proxy_port);

	/* CONNECT: VER CMD RSV ATYP DST.ADDR DST.PORT */
	n = strlen(host);
	r = s->request;
	*r++ = SOCKS5_VERSION;
	*r++ = SOCKS5_CMD_CONNECT;
	*r++ = 0;
	if (inet_pton(AF_INET, host, r + 1) == 1) {
		*r = SOCKS5_ATYP_IPV4;
		r += 1 + 4;
	} else if (inet_pton(AF_INET6, host, a6) == 1) {
		*r++ = SOCKS5_ATYP_IPV6;
		memcpy(r, a6, sizeof a6);
		r += sizeof a6;
	} else {
		*r++ = SOCKS5_ATYP_NAME;
		*r++ = (unsigned char)n;
		memcpy(r, host, n);
		r += n;
	}
	*r++ = (unsigned char)(port >> 8);
	*r++ = (unsigned char)port;
	s->requestlen = (size_t)(r - s->request);

	/* RFC 1929: VER ULEN UNAME PLEN PASSWD */
	if (user != NULL) {
		ulen = strlen(user);
		plen = pass != NULL ? strlen(pass) : 0;
		if (ulen == 0 || ulen > SOCKS5_NAME_MAX ||
		    plen > SOCKS5_NAME_MAX) {
			*why = "SOCKS5 user or password too long";
			free(s);
			return NULL;
		}
		s->auth = 1;
		r = s->login;
		*r++ = 1;
		*r++ = (unsigned char)ulen;
		memcpy(r, user, ulen);
		r += ulen;
		*r++ = (unsigned char)plen;
		if (plen > 0)
			memcpy(r, pass, plen);
		r += plen;
		s->loginlen = (size_t)(r - s->login);
	}

	/* Deferred callbacks: a synchronous connect error must not re-enter. */
	s->bev = bufferevent_socket_new(base, -1, BEV_OPT_DEFER_CALLBACKS);
	if (s->bev == NULL) {
		*why = "cannot make a socket";
		socks5_free(s);
		return NULL;
	}
	bufferevent_setcb(s->bev, socks5_read, NULL, socks5_event, s);
	socks5_expect(s, SOCKS5_CONNECTING, 2);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect_hostname(s->bev, dns, AF_UNSPEC,
	    proxy_host, proxy_port) != 0) {
		*why = "cannot connect to the SOCKS5 proxy";
		socks5_free(s);
		return NULL;
	}
	return s;
}

/* Cancel a handshake (or free an ended one): closes its socket. */
void
socks5_free(struct socks5 *s)
{
	evutil_socket_t	 fd;

	if (s == NULL)
		return;
	if (s->bev != NULL) {
		fd = bufferevent_getfd(s->bev);
		bufferevent_free(s->bev);
		if (fd != -1)
			evutil_closesocket(fd);
	}
	explicit_bzero(s->login, sizeof s->login);
	free(s);
}

/* Wait in state for exactly n more bytes, and not one more. */
static void
socks5_expect(struct socks5 *s, enum socks5_state state, size_t n)
{
	s->state = state;
	s->need = n;
	bufferevent_setwatermark(s->bev, EV_READ, n, n);
}

/*
 * End the handshake: with an error (fmt), or handing the fd on (fmt
 * NULL). The struct is freed before the callback runs, so the callback
 * may do anything, free its own owner included.
 */
static void
socks5_done(struct socks5 *s, const char *fmt, ...)
{
	socks5_cb	*cb = s->cb;
	void		*arg = s->arg;
	evutil_socket_t	 fd = -1;
	va_list		 ap;
	char		*msg = NULL, *error = NULL;

	if (fmt != NULL) {
		va_start(ap, fmt);
		xvasprintf(&msg, fmt, ap);
		va_end(ap);
		xasprintf(&error, "socks5 %s: %s", s->proxy, msg);
		free(msg);
	} else {
		fd = bufferevent_getfd(s->bev);
		bufferevent_free(s->bev);	/* leaves the fd open */
		s->bev = NULL;
	}
	socks5_free(s);
	cb(fd, error, arg);
	free(error);
}

/* Connected to the proxy, or failed to. */
static void
socks5_event(struct bufferevent *bev, short what, void *arg)
{
	struct socks5	*s = (struct socks5 *)arg;
	unsigned char	 hello[4];
	int		 err;

	if (what & BEV_EVENT_CONNECTED) {
		/* VER NMETHODS METHODS */
		hello[0] = SOCKS5_VERSION;
		hello[1] = s->auth ? 2 : 1;
		hello[2] = SOCKS5_AUTH_NONE;
		hello[3] = SOCKS5_AUTH_PASSWORD;
		bufferevent_write(bev, hello, 2 + hello[1]);
		socks5_expect(s, SOCKS5_METHOD, 2);
		return;
	}
	if (what & BEV_EVENT_EOF)
		socks5_done(s, "closed by the proxy (%s)", socks5_stage(s));
	else if ((err = bufferevent_socket_get_dns_error(bev)) != 0)
		socks5_done(s, "cannot resolve: %s", evutil_gai_strerror(err));
	else if (what & BEV_EVENT_ERROR)
		socks5_done(s, "%s", evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
}

/* The proxy answered one step; the watermark says it is all there. */
static void
socks5_read(struct bufferevent *bev, void *arg)
{
	struct socks5	*s = (struct socks5 *)arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	unsigned char	 b[5];
	size_t		 need;

	switch (s->state) {
	case SOCKS5_CONNECTING:
		socks5_done(s, "the proxy spoke before the greeting");
		return;
	case SOCKS5_METHOD:
		if (evbuffer_remove(in, b, 2) != 2)
			return;
		if (b[0] != SOCKS5_VERSION) {
			socks5_done(s, "not a SOCKS5 proxy (version byte %u)",
			    b[0]);
			return;
		}
		if (b[1] == SOCKS5_AUTH_PASSWORD && s->auth) {
			bufferevent_write(bev, s->login, s->loginlen);
			socks5_expect(s, SOCKS5_AUTH, 2);
			return;
		}
		if (b[1] != SOCKS5_AUTH_NONE) {
			socks5_done(s, b[1] == SOCKS5_AUTH_REFUSED ?
			    "no acceptable authentication method%s" :
			    "unexpected authentication method%s",
			    s->auth ? "" : " (a user:pass@ may be needed)");
			return;
		}
		bufferevent_write(bev, s->request, s->requestlen);
		socks5_expect(s, SOCKS5_REPLY, 5);
		return;
	case SOCKS5_AUTH:
		if (evbuffer_remove(in, b, 2) != 2)
			return;
		if (b[0] != 1 || b[1] != 0) {
			socks5_done(s, "authentication failed");
			return;
		}
		bufferevent_write(bev, s->request, s->requestlen);
		socks5_expect(s, SOCKS5_REPLY, 5);
		return;
	case SOCKS5_REPLY:
		/* VER REP RSV ATYP, and the first byte of BND.ADDR. */
		if (evbuffer_copyout(in, b, 5) != 5)
			return;
		if (b[0] != SOCKS5_VERSION) {
			socks5_done(s, "malformed CONNECT reply (version "
			    "byte %u)", b[0]);
			return;
		}
		if (b[1] != 0) {
			socks5_done(s, "CONNECT failed: %s (reply %u)",
			    socks5_reply_text(b[1]), b[1]);
			return;
		}
		if (b[3] == SOCKS5_ATYP_IPV4)
			need = 4 + 4 + 2;
		else if (b[3] == SOCKS5_ATYP_IPV6)
			need = 4 + 16 + 2;
		else if (b[3] == SOCKS5_ATYP_NAME)
			need = 4 + 1 + b[4] + 2;
		else {
			socks5_done(s, "malformed CONNECT reply (address "
			    "type %u)", b[3]);
			return;
		}
		socks5_expect(s, SOCKS5_REPLY_ADDR, need);
		return;
	case SOCKS5_REPLY_ADDR:
		/* The bound address means nothing to a client: dropped. */
		if (evbuffer_get_length(in) < s->need)
			return;
		socks5_done(s, NULL);
		return;
	}
}
