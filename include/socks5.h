/*
 * socks5.h: a SOCKS5 client for pool connections (socks5.cc). It
 * connects to the proxy, negotiates (no authentication, or RFC 1929
 * username/password), asks for a CONNECT to the pool by name, so that
 * the proxy resolves it (as Tor needs), and hands the tunnelled socket
 * on. It knows nothing of pools: pool.cc starts one and takes the fd.
 */
#ifndef SLUICE_SOCKS5_H
#define SLUICE_SOCKS5_H

#include "sluice.h"

struct evdns_base;
struct socks5;

/*
 * The end of a handshake: fd is the tunnel (non-blocking, now the
 * caller's), or -1 with error saying what went wrong. The struct is
 * freed just before the call: the caller forgets its pointer there.
 */
typedef void	 socks5_cb(evutil_socket_t fd, const char *error, void *arg);

struct socks5	*socks5_connect(struct event_base *, struct evdns_base *,
		     const char *proxy_host, int proxy_port, const char *user,
		     const char *pass, const char *host, int port, socks5_cb *,
		     void *arg, const char **why);
void		 socks5_free(struct socks5 *);
const char	*socks5_stage(const struct socks5 *);
const char	*socks5_proxy(const struct socks5 *);
const char	*socks5_reply_text(int rep);

#endif /* SLUICE_SOCKS5_H */
