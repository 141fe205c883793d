/*
 * fuzz_proxy.cc: libFuzzer target for proxyproto_parse(), the PROXY
 * protocol header parser the listener feeds with what it has peeked.
 *
 * The input is the bytes a connection sent. The parser must never read
 * past what it is given (the input is copied to a buffer of exactly its
 * size, so ASan sees any overrun) and must agree with itself as the
 * bytes come in: the listener calls it again with more after a 0 (need
 * more), so every prefix shorter than a whole header must be 0, a
 * header's length must be at most the input's and at most PROXYPROTO_MAX,
 * the same length must come back for the input cut at it, and a refusal
 * must stay one with more bytes. A header with an address gives an IPv4
 * or IPv6 source of the right length.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto	 pp, pp2;
	const char		*why;
	unsigned char		*buf;
	size_t			 i;
	int			 rc, rc2, first_bad = -1;

	fuzz_input(data, size);
	if (size > PROXYPROTO_MAX + 64)
		size = PROXYPROTO_MAX + 64;
	buf = (unsigned char *)malloc(size > 0 ? size : 1);
	memcpy(buf, data, size);
	rc = proxyproto_parse(buf, size, &pp, &why);
	if (rc < -1 || rc > (int)size || rc > PROXYPROTO_MAX)
		fuzz_fail("parse returned %d for %zu bytes", rc, size);
	if (rc == -1 && (why == NULL || *why == '\0'))
		fuzz_fail("refused without a reason");
	if (rc > 0 && !pp.local) {
		if (!(pp.src.ss_family == AF_INET && pp.srclen ==
		    sizeof(struct sockaddr_in)) && !(pp.src.ss_family ==
		    AF_INET6 && pp.srclen == sizeof(struct sockaddr_in6)))
			fuzz_fail("header without a usable source");
	}
	/* Byte by byte, as the listener may see it. */
	for (i = 0; i <= size; i++) {
		rc2 = proxyproto_parse(buf, i, &pp2, &why);
		if (rc > 0 && i < (size_t)rc && rc2 != 0)
			fuzz_fail("prefix of %zu of a %d-byte header: %d", i,
			    rc, rc2);
		if (rc > 0 && i >= (size_t)rc && rc2 != rc)
			fuzz_fail("%zu bytes: %d, the whole input: %d", i, rc2,
			    rc);
		if (rc2 == -1 && first_bad == -1)
			first_bad = (int)i;
		if (first_bad != -1 && rc2 != -1)
			fuzz_fail("refused at %d bytes, %d at %zu", first_bad,
			    rc2, i);
		if (rc == 0 && rc2 != 0)
			fuzz_fail("more needed at %zu bytes, %d at %zu", size,
			    rc2, i);
	}
	free(buf);
	return 0;
}
