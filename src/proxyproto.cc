/*
 * proxyproto.cc: the PROXY protocol header, v1 and v2, parsed from the
 * bytes read so far (proxyproto.h). Strict: v1 is exactly
 *
 *	PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n
 *	PROXY UNKNOWN[ anything]\r\n
 *
 * within 107 bytes, single spaces, addresses of the named family, ports
 * 0-65535 without leading zeros. v2 is the 12-byte signature, version 2,
 * command LOCAL or PROXY, a family and length, at most
 * PROXYPROTO_V2_LEN_MAX bytes of addresses and TLVs (the TLVs are
 * skipped). Anything else is refused as soon as a byte shows it, so a
 * miner's stratum line or a TLS handshake on such a bind fails at once.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

static const unsigned char pp_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char pp_v1_sig[] = "PROXY ";

static int	 pp_v1(const unsigned char *, size_t, struct proxyproto *,
		     const char **);
static int	 pp_v2(const unsigned char *, size_t, struct proxyproto *,
		     const char **);
static int	 pp_port(const char *, size_t, int *);
static int	 pp_addr(int, const char *, size_t, struct sockaddr_storage *,
		     int port);

int
proxyproto_parse(const unsigned char *buf, size_t len, struct proxyproto *pp,
    const char **why)
{
	size_t	 n;

	memset(pp, 0, sizeof *pp);
	*why = NULL;
	if (len == 0)
		return 0;
	if (buf[0] == 'P') {
		n = len < sizeof pp_v1_sig - 1 ? len : sizeof pp_v1_sig - 1;
		if (memcmp(buf, pp_v1_sig, n) != 0) {
			*why = "not a PROXY header";
			return -1;
		}
		return pp_v1(buf, len, pp, why);
	}
	n = len < sizeof pp_v2_sig ? len : sizeof pp_v2_sig;
	if (memcmp(buf, pp_v2_sig, n) != 0) {
		*why = "not a PROXY header";
		return -1;
	}
	return pp_v2(buf, len, pp, why);
}

/* A decimal port, 0-65535, no sign, no leading zero. */
static int
pp_port(const char *s, size_t n, int *port)
{
	size_t	 i;
	long	 v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

/* A text address of family af into ss, with port. */
static int
pp_addr(int af, const char *s, size_t n, struct sockaddr_storage *ss,
    int port)
{
	char			 tmp[INET6_ADDRSTRLEN];
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(ss, 0, sizeof *ss);
	if (af == AF_INET) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return inet_pton(AF_INET, tmp, &s4->sin_addr) == 1 ? 0 : -1;
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)port);
	return inet_pton(AF_INET6, tmp, &s6->sin6_addr) == 1 ? 0 : -1;
}

/* v1: the text line. */
static int
pp_v1(const unsigned char *buf, size_t len, struct proxyproto *pp,
    const char **why)
{
	const char	*line = (const char *)buf, *f[4];
	const unsigned char *nl;
	size_t		 flen[4], n, i, k, start;
	int		 af, sport, dport;

	nl = (const unsigned char *)memchr(buf, '\n',
	    len < PROXYPROTO_V1_MAX ? len : PROXYPROTO_V1_MAX);
	if (nl == NULL) {
		if (len >= PROXYPROTO_V1_MAX) {
			*why = "v1 header longer than 107 bytes";
			return -1;
		}
		for (i = 0; i < len; i++) {
			if (buf[i] == '\r' && i + 1 == len)
				continue;	/* its LF may follow */
			if (buf[i] < 0x20 || buf[i] > 0x7e) {
				*why = "v1 header with a control byte";
				return -1;
			}
		}
		return 0;
	}
	n = (size_t)(nl - buf);		/* the line without its LF */
	if (n < 7 || buf[n - 1] != '\r') {
		*why = "v1 header not ended by CRLF";
		return -1;
	}
	n--;				/* without CR */
	for (i = 0; i < n; i++) {
		if (buf[i] < 0x20 || buf[i] > 0x7e) {
			*why = "v1 header with a control byte";
			return -1;
		}
	}
	pp->version = 1;
	if (n >= 13 && memcmp(line + 6, "UNKNOWN", 7) == 0 &&
	    (n == 13 || line[13] == ' ')) {
		pp->local = 1;
		return (int)(n + 2);
	}
	if (n < 11 || (memcmp(line + 6, "TCP4 ", 5) != 0 &&
	    memcmp(line + 6, "TCP6 ", 5) != 0)) {
		*why = "v1 protocol is not TCP4, TCP6 or UNKNOWN";
		return -1;
	}
	af = line[9] == '4' ? AF_INET : AF_INET6;
	/* Four fields after "PROXY TCPx ", one space apart. */
	start = 11;
	for (k = 0; k < 4; k++) {
		for (i = start; i < n && line[i] != ' '; i++)
			;
		f[k] = line + start;
		flen[k] = i - start;
		if (flen[k] == 0 || (k < 3 && i >= n) || (k == 3 && i != n)) {
			*why = "v1 header does not have its four fields";
			return -1;
		}
		start = i + 1;
	}
	if (pp_port(f[2], flen[2], &sport) != 0 ||
	    pp_port(f[3], flen[3], &dport) != 0) {
		*why = "v1 header with a bad port";
		return -1;
	}
	if (pp_addr(af, f[0], flen[0], &pp->src, sport) != 0 ||
	    pp_addr(af, f[1], flen[1], &pp->dst, dport) != 0) {
		*why = "v1 header with a bad address";
		return -1;
	}
	pp->srclen = af == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6);
	return (int)(n + 2);
}

/* v2: the binary header. */
static int
pp_v2(const unsigned char *buf, size_t len, struct proxyproto *pp,
    const char **why)
{
	struct sockaddr_in	*s4, *d4;
	struct sockaddr_in6	*s6, *d6;
	const unsigned char	*a;
	size_t			 alen;
	int			 cmd, fam, proto;

	if (len > 12 && (buf[12] >> 4) != 2) {
		*why = "v2 header with a version other than 2";
		return -1;
	}
	cmd = len > 12 ? (buf[12] & 0x0f) : 0;
	if (cmd > 1) {
		*why = "v2 command is neither LOCAL nor PROXY";
		return -1;
	}
	if (len < 16)
		return 0;
	alen = (size_t)buf[14] << 8 | buf[15];
	if (alen > PROXYPROTO_V2_LEN_MAX) {
		*why = "v2 header longer than the limit";
		return -1;
	}
	if (len < 16 + alen)
		return 0;
	pp->version = 2;
	fam = buf[13] >> 4;
	proto = buf[13] & 0x0f;
	a = buf + 16;
	if (cmd == 0) {
		/* LOCAL: the proxy's own connection (a health check). */
		pp->local = 1;
		return (int)(16 + alen);
	}
	if (fam == 0) {
		/* PROXY with UNSPEC: no address to take. */
		pp->local = 1;
		return (int)(16 + alen);
	}
	if (proto != 1 || (fam != 1 && fam != 2)) {
		*why = "v2 address is not TCP over IPv4 or IPv6";
		return -1;
	}
	if (fam == 1) {
		if (alen < 12) {
			*why = "v2 IPv4 addresses truncated";
			return -1;
		}
		s4 = (struct sockaddr_in *)&pp->src;
		d4 = (struct sockaddr_in *)&pp->dst;
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
		memcpy(&d4->sin_addr, a + 4, 4);
		memcpy(&s4->sin_port, a + 8, 2);
		memcpy(&d4->sin_port, a + 10, 2);
		pp->srclen = sizeof *s4;
	} else {
		if (alen < 36) {
			*why = "v2 IPv6 addresses truncated";
			return -1;
		}
		s6 = (struct sockaddr_in6 *)&pp->src;
		d6 = (struct sockaddr_in6 *)&pp->dst;
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, a, 16);
		memcpy(&d6->sin6_addr, a + 16, 16);
		memcpy(&s6->sin6_port, a + 32, 2);
		memcpy(&d6->sin6_port, a + 34, 2);
		pp->srclen = sizeof *s6;
	}
	return (int)(16 + alen);
}

/*
 * "a.b.c.d/n", "v6/n" or an address alone (a host: /32 or /128) into
 * net. 0, or -1 when it does not parse.
 */
int
proxyproto_net_parse(const char *s, struct proxyproto_net *net)
{
	char		 tmp[INET6_ADDRSTRLEN + 8], *slash, *e;
	long		 bits;
	int		 max;

	if (strlen(s) >= sizeof tmp)
		return -1;
	strcpy(tmp, s);
	memset(net, 0, sizeof *net);
	if ((slash = strchr(tmp, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, tmp, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, tmp, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else
		return -1;
	bits = max;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9')
			return -1;
		bits = strtol(slash, &e, 10);
		if (*e != '\0' || bits < 0 || bits > max)
			return -1;
	}
	net->bits = (int)bits;
	return 0;
}

/* Do the first bits of a and b agree? */
static int
pp_prefix(const unsigned char *a, const unsigned char *b, int bits)
{
	int		 full = bits / 8, rest = bits % 8;
	unsigned char	 mask;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/*
 * Is sa inside one of the n networks? An IPv4-mapped IPv6 address (a
 * dual-stack bind) is matched as the IPv4 address it maps.
 */
int
proxyproto_net_match(const struct proxyproto_net *nets, size_t n,
    const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	const unsigned char	*a;
	size_t			 i;
	int			 af;

	if (sa->sa_family == AF_INET) {
		af = AF_INET;
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		af = AF_INET6;
		a = (const unsigned char *)
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (memcmp(a, mapped, sizeof mapped) == 0) {
			af = AF_INET;
			a += 12;
		}
	} else
		return 0;
	for (i = 0; i < n; i++) {
		if (nets[i].family == af &&
		    pp_prefix(a, nets[i].addr, nets[i].bits))
			return 1;
	}
	return 0;
}
