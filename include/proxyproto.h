/*
 * proxyproto.h: the PROXY protocol header (proxyproto.cc), v1 (text) and
 * v2 (binary), as HAProxy and nginx stream send it before a connection's
 * own bytes. Pure, unit-tested and fuzzed; the listener reads the header
 * and calls the parser.
 */
#ifndef SLUICE_PROXYPROTO_H
#define SLUICE_PROXYPROTO_H

#include <sys/socket.h>

#include "sluice.h"

#define PROXYPROTO_V1_MAX	107	/* the whole line, CRLF included */
#define PROXYPROTO_V2_LEN_MAX	512	/* addresses and TLVs accepted */
#define PROXYPROTO_MAX		(16 + PROXYPROTO_V2_LEN_MAX)

struct proxyproto {
	int			 version;	/* 1 or 2 */
	int			 local;		/* v2 LOCAL, v2 UNSPEC or v1
						   UNKNOWN: no address */
	struct sockaddr_storage	 src;		/* the client, unless local */
	struct sockaddr_storage	 dst;
	socklen_t		 srclen;
};

/*
 * Parse the bytes read so far. Returns the header's length (> 0) when it
 * is complete, 0 when buf is a valid start of one and more is needed (so
 * every byte of buf belongs to the header), -1 when it is not a header
 * (*why says what is wrong).
 */
int		 proxyproto_parse(const unsigned char *buf, size_t len,
		     struct proxyproto *, const char **why);

/* A network: family, address and prefix length (for trusted sources). */
struct proxyproto_net {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];
	int		 bits;
};

int		 proxyproto_net_parse(const char *, struct proxyproto_net *);
int		 proxyproto_net_match(const struct proxyproto_net *, size_t n,
		     const struct sockaddr *);

#endif /* SLUICE_PROXYPROTO_H */
