/*
 * fuzz_ws.cc: libFuzzer target for the WebSocket upgrade (ws.cc), the
 * first bytes a WebSocket miner sends, read before anything else checks
 * them.
 *
 * The input's first byte picks the origins list (none, or one or two
 * origins) and the path; the rest is the request. ws_request_end() must
 * point inside the input, just past a blank line. ws_upgrade() on the
 * head must answer 101, 400, 403 or 404 and fill the answer: a 101 has
 * the 28-character accept key of the request's key (checked against
 * ws_accept_key() run on what the input holds), every other answer says
 * Connection: close and carries its reason. The head is copied into a
 * buffer of its exact size, so ASan sees any read past it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "ws.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	*origins[2] = { (char *)"https://a.example",
	    (char *)"http://127.0.0.1:8080" };
	char		 out[1024], *req;
	const char	*why, *path, *acc;
	size_t		 len, end, outlen, norigins;
	int		 st;

	fuzz_input(data, size);
	if (size < 1 || size > WS_REQUEST_MAX + 64)
		return 0;
	norigins = data[0] % 3;
	path = (data[0] & 0x4) ? "/mine" : "/";
	data++;
	size--;

	end = ws_request_end((const char *)data, size);
	if (end > size)
		fuzz_fail("request end %zu past the input's %zu bytes", end,
		    size);
	if (end > 0 && data[end - 1] != '\n')
		fuzz_fail("request end %zu not after a newline", end);
	len = end > 0 ? end : size;
	req = (char *)malloc(len > 0 ? len : 1);
	memcpy(req, data, len);

	outlen = 0;
	st = ws_upgrade(req, len, path, origins, norigins, out, sizeof out,
	    &outlen, &why);
	if (outlen == 0 || outlen >= sizeof out || strlen(out) != outlen)
		fuzz_fail("status %d with an answer of %zu bytes", st, outlen);
	switch (st) {
	case 101:
		if (why != NULL)
			fuzz_fail("101 with a reason: %s", why);
		if (strncmp(out, "HTTP/1.1 101 ", 13) != 0 ||
		    (acc = strstr(out, "Sec-WebSocket-Accept: ")) == NULL ||
		    strlen(acc) != 22 + 28 + 4)
			fuzz_fail("a bad 101 answer: %s", out);
		break;
	case 400:
	case 403:
	case 404:
		if (why == NULL || strstr(out, why) == NULL ||
		    strstr(out, "Connection: close\r\n") == NULL)
			fuzz_fail("a bad %d answer: %s", st, out);
		break;
	default:
		fuzz_fail("status %d", st);
	}
	free(req);
	return 0;
}
