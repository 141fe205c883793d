/*
 * test_ws.cc: unit tests for src/ws.cc: the WebSocket upgrade's checks and
 * answers (RFC 6455's own example key), and server frame headers.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "ws.h"

TestSuite(ws);

#define KEY	"dGhlIHNhbXBsZSBub25jZQ=="	/* RFC 6455, 1.3 */
#define ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* Run an upgrade for a request; the answer lands in out. */
static int
upgrade(const char *req, char *const *origins, size_t n, char *out,
    size_t cap, const char **why)
{
	size_t	 outlen = 0;
	int	 st;

	st = ws_upgrade(req, strlen(req), "/ws", origins, n, out, cap,
	    &outlen, why);
	cr_assert_gt(outlen, 0);
	cr_assert_eq(strlen(out), outlen);
	return st;
}

Test(ws, accept_key_rfc_example)
{
	char	 out[29];

	cr_assert_eq(ws_accept_key(KEY, strlen(KEY), out), 0);
	cr_assert_str_eq(out, ACCEPT);
	cr_assert_eq(ws_accept_key("abc", 3, out), -1);
	/* 24 chars, but not the base64 of 16 bytes. */
	cr_assert_eq(ws_accept_key("dGhlIHNhbXBsZSBub25j!!==", 24, out), -1);
	cr_assert_eq(ws_accept_key("dGhlIHNhbXBsZSBub25jZQab", 24, out), -1);
}

Test(ws, request_end)
{
	cr_assert_eq(ws_request_end("GET / HTTP/1.1\r\nHost: a\r\n", 25), 0);
	cr_assert_eq(ws_request_end("GET / HTTP/1.1\r\n\r\nxx", 20), 18);
	cr_assert_eq(ws_request_end("GET / HTTP/1.1\n\nxx", 18), 16);
}

Test(ws, good_upgrade)
{
	char		 out[512];
	const char	*why;
	const char	*req = "GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "upgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
	    "Sec-WebSocket-Key:  " KEY "  \r\nSec-WebSocket-Version: 13\r\n"
	    "Origin: https://pool.example\r\n\r\n";
	char		*origins[] = { (char *)"https://POOL.example" };

	cr_assert_eq(upgrade(req, NULL, 0, out, sizeof out, &why), 101);
	cr_assert_str_eq(out, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n");
	cr_assert_eq(upgrade(req, origins, 1, out, sizeof out, &why), 101);
}

Test(ws, bad_handshakes)
{
	char		 out[512];
	const char	*why;
	static const char *bad[] = {
		/* not GET */
		"POST /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* HTTP/1.0 */
		"GET /ws HTTP/1.0\r\nHost: a\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* no Upgrade */
		"GET /ws HTTP/1.1\r\nHost: a\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* no Connection: upgrade */
		"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		"Connection: upgraded\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* version 8 */
		"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 8\r\n\r\n",
		/* short key */
		"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: abcd\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* no key */
		"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
		/* no Host */
		"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
		"Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
		"Sec-WebSocket-Version: 13\r\n\r\n",
		/* a header without a colon */
		"GET /ws HTTP/1.1\r\nHost a\r\n\r\n",
		/* stratum, not HTTP */
		"{\"id\":1,\"method\":\"login\"}\n\n",
	};
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_assert_eq(upgrade(bad[i], NULL, 0, out, sizeof out, &why),
		    400, "request %zu", i);
		cr_assert_not_null(why);
		cr_assert(strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
		cr_assert_not_null(strstr(out, "Sec-WebSocket-Version: 13\r\n"));
		cr_assert_not_null(strstr(out, "Connection: close\r\n"));
	}
}

Test(ws, path_and_origin)
{
	char		 out[512];
	const char	*why;
	char		*origins[] = { (char *)"https://a.example",
	    (char *)"http://b.example:8080" };
	const char	*other = "GET /other HTTP/1.1\r\nHost: a\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";
	const char	*evil = "GET /ws HTTP/1.1\r\nHost: a\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Origin: https://evil.example\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";
	const char	*good = "GET /ws HTTP/1.1\r\nHost: a\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Origin: http://b.example:8080\r\n"
	    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";

	cr_assert_eq(upgrade(other, NULL, 0, out, sizeof out, &why), 404);
	cr_assert(strncmp(out, "HTTP/1.1 404 ", 13) == 0);
	cr_assert_eq(upgrade(evil, NULL, 0, out, sizeof out, &why), 101);
	cr_assert_eq(upgrade(evil, origins, 2, out, sizeof out, &why), 403);
	cr_assert(strncmp(out, "HTTP/1.1 403 Forbidden\r\n", 24) == 0);
	cr_assert_str_eq(why, "Origin not allowed");
	cr_assert_eq(upgrade(good, origins, 2, out, sizeof out, &why), 101);
}

Test(ws, frame_head)
{
	uint8_t	 h[WS_FRAME_HEAD];

	cr_assert_eq(ws_frame_head(h, 5), 2);
	cr_assert_eq(h[0], 0x81);
	cr_assert_eq(h[1], 5);
	cr_assert_eq(ws_frame_head(h, 125), 2);
	cr_assert_eq(h[1], 125);
	cr_assert_eq(ws_frame_head(h, 126), 4);
	cr_assert_eq(h[1], 126);
	cr_assert_eq(h[2], 0);
	cr_assert_eq(h[3], 126);
	cr_assert_eq(ws_frame_head(h, 0x1234), 4);
	cr_assert_eq(h[2], 0x12);
	cr_assert_eq(h[3], 0x34);
	cr_assert_eq(ws_frame_head(h, 0x10000), 10);
	cr_assert_eq(h[1], 127);
	cr_assert_eq(h[7], 1);
	cr_assert_eq(h[8], 0);
	cr_assert_eq(h[9], 0);
}
