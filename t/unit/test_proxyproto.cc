/*
 * test_proxyproto.cc: unit tests for src/proxyproto.cc, the PROXY
 * protocol header parser: v1 and v2 headers whole and byte by byte (every
 * prefix must ask for more, never fail or succeed early), the bytes after
 * the header left alone, the limits, malformed headers of each kind, and
 * the trusted-network matcher.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include <criterion/criterion.h>

#include "proxyproto.h"

TestSuite(proxyproto);

/* The text form of a parsed source address and its port. */
static void
src_text(const struct proxyproto *pp, char *buf, size_t len, int *port)
{
	const struct sockaddr_in	*s4 = (const struct sockaddr_in *)
					    &pp->src;
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)
					    &pp->src;

	if (pp->src.ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)len);
		*port = ntohs(s4->sin_port);
	} else {
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
		*port = ntohs(s6->sin6_port);
	}
}

/*
 * Parse buf whole, expecting a header of hlen bytes; then every proper
 * prefix of the header must be "more" (0).
 */
static void
parse_all(const unsigned char *buf, size_t len, size_t hlen,
    struct proxyproto *pp)
{
	struct proxyproto	 tmp;
	const char		*why;
	size_t			 i;
	int			 rc;

	rc = proxyproto_parse(buf, len, pp, &why);
	cr_assert_eq(rc, (int)hlen, "parse: %d (%s), want %zu", rc,
	    why != NULL ? why : "-", hlen);
	for (i = 0; i < hlen; i++) {
		rc = proxyproto_parse(buf, i, &tmp, &why);
		cr_assert_eq(rc, 0, "prefix of %zu bytes: %d (%s)", i, rc,
		    why != NULL ? why : "-");
	}
}

static int
bad(const char *s)
{
	struct proxyproto	 pp;
	const char		*why;
	int			 rc;

	rc = proxyproto_parse((const unsigned char *)s, strlen(s), &pp, &why);
	if (rc == -1)
		cr_assert(why != NULL && *why != '\0', "no reason for %s", s);
	return rc == -1;
}

Test(proxyproto, v1_tcp4_then_stratum)
{
	const char		*h = "PROXY TCP4 127.0.0.5 10.0.0.1 51234 3333\r\n";
	char			 buf[256], ip[64];
	struct proxyproto	 pp;
	int			 port;

	snprintf(buf, sizeof buf, "%s{\"id\":1,\"method\":\"login\"}\n", h);
	parse_all((const unsigned char *)buf, strlen(buf), strlen(h), &pp);
	cr_assert_eq(pp.version, 1);
	cr_assert_eq(pp.local, 0);
	src_text(&pp, ip, sizeof ip, &port);
	cr_assert_str_eq(ip, "127.0.0.5");
	cr_assert_eq(port, 51234);
	cr_assert_eq(pp.srclen, sizeof(struct sockaddr_in));
}

Test(proxyproto, v1_tcp6_and_unknown)
{
	const char		*h = "PROXY TCP6 2001:db8::7 ::1 65535 0\r\n";
	struct proxyproto	 pp;
	char			 ip[64];
	int			 port;

	parse_all((const unsigned char *)h, strlen(h), strlen(h), &pp);
	src_text(&pp, ip, sizeof ip, &port);
	cr_assert_str_eq(ip, "2001:db8::7");
	cr_assert_eq(port, 65535);
	h = "PROXY UNKNOWN\r\n";
	parse_all((const unsigned char *)h, strlen(h), strlen(h), &pp);
	cr_assert_eq(pp.local, 1);
	h = "PROXY UNKNOWN ffff::1 ::1 1 2\r\n";
	parse_all((const unsigned char *)h, strlen(h), strlen(h), &pp);
	cr_assert_eq(pp.local, 1);
}

Test(proxyproto, v1_malformed)
{
	char	 longline[200];

	cr_assert(bad("{\"id\":1,\"method\":\"login\"}\n"));
	cr_assert(bad("PROXZ"));
	cr_assert(bad("GET / HTTP/1.1\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5 10.0.0.1 51234 3333\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5  10.0.0.1 51234 3333\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5 10.0.0.1 51234\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5 10.0.0.1 51234 3333 9\r\n"));
	cr_assert(bad("PROXY TCP4 ::1 10.0.0.1 51234 3333\r\n"));
	cr_assert(bad("PROXY TCP6 127.0.0.5 ::1 51234 3333\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.256 10.0.0.1 1 2\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5 10.0.0.1 65536 2\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5 10.0.0.1 0123 2\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5 10.0.0.1 -1 2\r\n"));
	cr_assert(bad("PROXY UDP4 127.0.0.5 10.0.0.1 1 2\r\n"));
	cr_assert(bad("PROXY UNKNOWNX\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5\r10.0.0.1 1 2\r\n"));
	cr_assert(bad("PROXY TCP4 127.0.0.5\t10.0.0.1"));
	/* No CRLF within 107 bytes. */
	memset(longline, 'x', sizeof longline);
	memcpy(longline, "PROXY UNKNOWN ", 14);
	longline[107] = '\0';
	cr_assert(bad(longline));
	/* 107 bytes with the CRLF is the most there is. */
	longline[105] = '\r';
	longline[106] = '\n';
	cr_assert(!bad(longline));
}

/* A v2 header: signature, ver_cmd, fam, then len bytes of body. */
static size_t
v2(unsigned char *out, int ver_cmd, int fam, const unsigned char *body,
    size_t len)
{
	static const unsigned char sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	    0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

	memcpy(out, sig, 12);
	out[12] = (unsigned char)ver_cmd;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(len >> 8);
	out[15] = (unsigned char)len;
	memcpy(out + 16, body, len);
	return 16 + len;
}

Test(proxyproto, v2_inet_with_tlv_then_bytes)
{
	unsigned char		 body[12 + 7], buf[128];
	struct proxyproto	 pp;
	char			 ip[64];
	size_t			 n;
	int			 port;

	/* 127.0.0.6:40000 -> 127.0.0.1:3333, then a 7-byte TLV (NOOP). */
	memcpy(body, "\x7f\x00\x00\x06\x7f\x00\x00\x01\x9c\x40\x0d\x05", 12);
	memcpy(body + 12, "\x04\x00\x04" "abcd", 7);
	n = v2(buf, 0x21, 0x11, body, sizeof body);
	memcpy(buf + n, "\x16\x03\x01", 3);	/* a TLS hello follows */
	parse_all(buf, n + 3, n, &pp);
	cr_assert_eq(pp.version, 2);
	cr_assert_eq(pp.local, 0);
	src_text(&pp, ip, sizeof ip, &port);
	cr_assert_str_eq(ip, "127.0.0.6");
	cr_assert_eq(port, 40000);
}

Test(proxyproto, v2_inet6_and_local)
{
	unsigned char		 body[36], buf[128];
	struct proxyproto	 pp;
	char			 ip[64];
	size_t			 n;
	int			 port;

	memset(body, 0, sizeof body);
	body[0] = 0xfd;
	body[15] = 0x05;
	body[31] = 0x01;
	body[32] = 0x12;
	body[33] = 0x34;
	n = v2(buf, 0x21, 0x21, body, sizeof body);
	parse_all(buf, n, n, &pp);
	src_text(&pp, ip, sizeof ip, &port);
	cr_assert_str_eq(ip, "fd00::5");
	cr_assert_eq(port, 0x1234);
	/* LOCAL (a health check), with no address. */
	n = v2(buf, 0x20, 0x00, body, 0);
	parse_all(buf, n, n, &pp);
	cr_assert_eq(pp.local, 1);
	/* PROXY with UNSPEC: no address either. */
	n = v2(buf, 0x21, 0x00, body, 0);
	parse_all(buf, n, n, &pp);
	cr_assert_eq(pp.local, 1);
}

Test(proxyproto, v2_malformed)
{
	unsigned char		 body[PROXYPROTO_V2_LEN_MAX + 1], buf[1024];
	struct proxyproto	 pp;
	const char		*why;
	size_t			 n;

	memset(body, 0, sizeof body);
	/* Version 1 in the binary header. */
	n = v2(buf, 0x11, 0x11, body, 12);
	cr_assert_eq(proxyproto_parse(buf, 13, &pp, &why), -1);
	/* Command 2. */
	n = v2(buf, 0x22, 0x11, body, 12);
	cr_assert_eq(proxyproto_parse(buf, n, &pp, &why), -1);
	/* Too long: refused from the length alone. */
	n = v2(buf, 0x21, 0x11, body, 0);
	buf[14] = (unsigned char)((PROXYPROTO_V2_LEN_MAX + 1) >> 8);
	buf[15] = (unsigned char)(PROXYPROTO_V2_LEN_MAX + 1);
	cr_assert_eq(proxyproto_parse(buf, 16, &pp, &why), -1);
	/* Addresses shorter than the family needs. */
	n = v2(buf, 0x21, 0x11, body, 11);
	cr_assert_eq(proxyproto_parse(buf, n, &pp, &why), -1);
	n = v2(buf, 0x21, 0x21, body, 35);
	cr_assert_eq(proxyproto_parse(buf, n, &pp, &why), -1);
	/* UDP, and AF_UNIX. */
	n = v2(buf, 0x21, 0x12, body, 12);
	cr_assert_eq(proxyproto_parse(buf, n, &pp, &why), -1);
	n = v2(buf, 0x21, 0x31, body, 216);
	cr_assert_eq(proxyproto_parse(buf, n, &pp, &why), -1);
	/* A wrong byte in the signature. */
	n = v2(buf, 0x21, 0x11, body, 12);
	buf[7] = 'q';
	cr_assert_eq(proxyproto_parse(buf, 8, &pp, &why), -1);
	/* The largest length accepted. */
	n = v2(buf, 0x21, 0x11, body, PROXYPROTO_V2_LEN_MAX);
	cr_assert_eq(proxyproto_parse(buf, n, &pp, &why), (int)n);
	cr_assert_eq(n, (size_t)PROXYPROTO_MAX);
}

static struct sockaddr_storage *
sa_of(const char *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else {
		cr_assert(inet_pton(AF_INET6, ip,
		    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1);
		ss->ss_family = AF_INET6;
	}
	return ss;
}

Test(proxyproto, trusted_networks)
{
	struct proxyproto_net	 nets[3];
	struct sockaddr_storage	 ss;

	cr_assert_eq(proxyproto_net_parse("10.1.0.0/16", &nets[0]), 0);
	cr_assert_eq(proxyproto_net_parse("fd00::/8", &nets[1]), 0);
	cr_assert_eq(proxyproto_net_parse("192.0.2.7", &nets[2]), 0);
	cr_assert_eq(nets[2].bits, 32);
	cr_assert_eq(proxyproto_net_parse("10.1.0.0/33", &nets[0]), -1);
	cr_assert_eq(proxyproto_net_parse("10.1.0.0/", &nets[0]), -1);
	cr_assert_eq(proxyproto_net_parse("10.1.0.0/-1", &nets[0]), -1);
	cr_assert_eq(proxyproto_net_parse("fd00::/129", &nets[0]), -1);
	cr_assert_eq(proxyproto_net_parse("example.com", &nets[0]), -1);
	cr_assert_eq(proxyproto_net_parse("10.1.0.0/16", &nets[0]), 0);

	cr_assert(proxyproto_net_match(nets, 3,
	    (struct sockaddr *)sa_of("10.1.255.3", &ss)));
	cr_assert(!proxyproto_net_match(nets, 3,
	    (struct sockaddr *)sa_of("10.2.0.1", &ss)));
	cr_assert(proxyproto_net_match(nets, 3,
	    (struct sockaddr *)sa_of("fdab::1", &ss)));
	cr_assert(!proxyproto_net_match(nets, 3,
	    (struct sockaddr *)sa_of("fe80::1", &ss)));
	cr_assert(proxyproto_net_match(nets, 3,
	    (struct sockaddr *)sa_of("192.0.2.7", &ss)));
	cr_assert(!proxyproto_net_match(nets, 3,
	    (struct sockaddr *)sa_of("192.0.2.8", &ss)));
	/* A dual-stack bind sees IPv4 peers as mapped addresses. */
	cr_assert(proxyproto_net_match(nets, 3,
	    (struct sockaddr *)sa_of("::ffff:10.1.2.3", &ss)));
	cr_assert(!proxyproto_net_match(nets, 0,
	    (struct sockaddr *)sa_of("10.1.2.3", &ss)));
}
