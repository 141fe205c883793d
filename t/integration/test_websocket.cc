/*
 * test_websocket.cc: miners over WebSocket (ws and wss) and Xatum, beside
 * plain and TLS stratum, against the real daemon and a fake pool.
 *
 * The WebSocket miners of the happy paths are Debian's python3-websockets
 * (t/lib/ws_pipe.py), run as a pipe: each line the test sends is one
 * message, each message received one line, so the harness's stratum
 * helpers drive them as they drive a TCP miner. The negative cases
 * (a bad handshake, another Origin or path, an unmasked frame, messages
 * over the line limit) need bytes no library sends, so they are written
 * here by hand. Xatum runs over the harness's TLS client.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000	/* anything that must happen */
#define QUIET_MS	300	/* something that must not happen */
#define POOL_SESSION	"0123456789abcdef"	/* pool_login_of's */
#define PYTHON3		"/usr/bin/python3"	/* Debian's: its websockets */

TestSuite(websocket, .timeout = 90);

/* A proxy with every kind of bind, one fake pool logged in. */
struct rig {
	int		 tcp, tls, ws, wss, xatum, api;
	struct tlisten	*tl;
	struct proxy	*p;
	struct tconn	*pc;
	char		*ca;		/* the test CA, for TLS clients */
	pid_t		 kids[8];	/* ws_pipe.py clients */
	int		 nkids;
};

/* Start the rig; extra goes into the config's top level. */
static void
rig_start(struct rig *r, const char *extra)
{
	char	*cfg;
	json_t	*login;

	memset(r, 0, sizeof *r);
	r->tcp = free_port();
	r->tls = free_port();
	r->ws = free_port();
	r->wss = free_port();
	r->xatum = free_port();
	r->api = free_port();
	r->tl = tl_listen(0);
	r->p = proxy_new();
	tls_make_certs(r->p->dir, "srv");
	cr_assert(asprintf(&r->ca, "%s/srv-ca.pem", r->p->dir) != -1);
	cr_assert(asprintf(&cfg, "{\"mode\":\"nicehash\",\"bind\":["
	    "{\"host\":\"127.0.0.1\",\"port\":%d},"
	    "{\"host\":\"127.0.0.1\",\"port\":%d,\"tls\":true},"
	    "{\"host\":\"127.0.0.1\",\"port\":%d,\"websocket\":true,"
	    "\"path\":\"/mine\"},"
	    "{\"host\":\"127.0.0.1\",\"port\":%d,\"websocket\":true,"
	    "\"tls\":true,\"path\":\"/mine\"},"
	    "{\"host\":\"127.0.0.1\",\"port\":%d,\"tls\":true,"
	    "\"protocol\":\"xatum\"}],"
	    "\"tls\":{\"enabled\":true,\"cert\":\"srv-cert.pem\","
	    "\"cert_key\":\"srv-key.pem\"},"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d},"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"WALLET\","
	    "\"pass\":\"x\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"watch\":false%s%s}", r->tcp, r->tls, r->ws, r->wss, r->xatum,
	    r->api, r->tl->port, extra != NULL ? "," : "",
	    extra != NULL ? extra : "") != -1);
	proxy_write_config(r->p, cfg);
	free(cfg);
	proxy_launch(r->p);
	cr_assert(proxy_wait_log(r->p, "type=ready", 10000));
	login = pool_login_of(r->tl, &r->pc);
	json_decref(login);
}

/* Stop the rig and reap the WebSocket clients. */
static void
rig_stop(struct rig *r)
{
	int	 i;

	for (i = 0; i < r->nkids; i++) {
		kill(r->kids[i], SIGTERM);
		waitpid(r->kids[i], NULL, 0);
	}
	tc_close(r->pc);
	cr_assert_eq(proxy_stop(r->p), 0);
	proxy_free(r->p);
	tl_close(r->tl);
	free(r->ca);
}

/*
 * A WebSocket miner in Python, as a connection: its stdin and stdout are
 * one end of a socket pair, the test holds the other.
 */
static struct tconn *
ws_client(struct rig *r, const char *url, const char *ca, const char *origin)
{
	struct tconn	*c;
	int		 sv[2];
	pid_t		 pid;
	char		*script = srcfile("t/lib/ws_pipe.py");

	cr_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		execl(PYTHON3, PYTHON3, script, url, ca != NULL ? ca : "-",
		    origin != NULL ? origin : "-", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	free(script);
	/* The harness reads until EAGAIN, as from its own sockets. */
	cr_assert(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	cr_assert(r->nkids < 8);
	r->kids[r->nkids++] = pid;
	c = (struct tconn *)calloc(1, sizeof *c);
	cr_assert(c != NULL);
	c->fd = sv[0];
	c->stash = json_array();
	return c;
}

/* A URL of the rig's WebSocket binds. */
static char *
ws_url(const char *scheme, int port, const char *path)
{
	char	*s;

	cr_assert(asprintf(&s, "%s://127.0.0.1:%d%s", scheme, port, path) !=
	    -1);
	return s;
}

/* A nonce whose byte 3 (hex chars 6..7) is slot. */
static void
nonce_in(char out[9], int slot, uint32_t n)
{
	snprintf(out, 9, "%06x%02x", n & 0xffffff, slot & 0xff);
}

/* The pool must receive this submit (nonce, result); returns its id. */
static json_int_t
pool_expect_submit(struct tconn *pc, const char *nonce, const char *result)
{
	json_t		*s = tc_recv(pc, WAIT_MS);
	json_int_t	 id;

	cr_assert(s != NULL, "the pool received no submit");
	cr_assert_str_eq(jstr(s, "method"), "submit", "pool got %s",
	    jtext(s));
	cr_assert_str_eq(jstr(s, "params.id"), POOL_SESSION);
	cr_assert_str_eq(jstr(s, "params.nonce"), nonce, "%s", jtext(s));
	cr_assert_str_eq(jstr(s, "params.result"), result, "%s", jtext(s));
	id = json_integer_value(json_object_get(s, "id"));
	json_decref(s);
	return id;
}

/* Answer a submit OK. */
static void
pool_ok(struct tconn *pc, json_int_t id)
{
	tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}", (long long)id);
}

/*
 * A stratum miner's login on c (any transport): returns its slot and
 * session (32 bytes), checking the job has a fixed byte.
 */
static int
stratum_login(struct rig *r, struct tconn *c, const char *rig_id,
    char session[32])
{
	json_t	*res = miner_login(c, "WALLET", "x", rig_id, WAIT_MS);
	int	 slot;

	if (res == NULL || jstr(res, "result.job.blob") == NULL)
		proxy_dump_log(r->p);
	cr_assert(res != NULL, "no login reply");
	cr_assert_not_null(jstr(res, "result.job.blob"), "%s", jtext(res));
	slot = blob_slot(jstr(res, "result.job.blob"));
	snprintf(session, 32, "%s", jstr(res, "result.id"));
	json_decref(res);
	return slot;
}

/* A stratum miner submits a share in its slot; the pool accepts it. */
static void
stratum_share(struct rig *r, struct tconn *c, const char *session, int slot,
    int id)
{
	char		 nonce[9], result[65];
	json_int_t	 sid;
	json_t		*rep;

	nonce_in(nonce, slot, 0x100 + (uint32_t)id);
	make_result(result, 20000);
	tc_send(c, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":\"submit\","
	    "\"params\":{\"id\":\"%s\",\"job_id\":\"j1\",\"nonce\":\"%s\","
	    "\"result\":\"%s\",\"algo\":\"rx/0\"}}", id, session, nonce,
	    result);
	sid = pool_expect_submit(r->pc, nonce, result);
	pool_ok(r->pc, sid);
	rep = tc_recv_reply(c, id, WAIT_MS);
	cr_assert(rep != NULL, "no submit answer");
	cr_assert_str_eq(jstr(rep, "result.status"), "OK", "%s", jtext(rep));
	json_decref(rep);
}

/*
 * A WebSocket miner over Python's websockets logs in, gets its job with
 * its own fixed byte, submits, sees the pool's answer and the next job,
 * pings, and closes with a close frame.
 */
static void
ws_miner_session(struct rig *r, const char *scheme, int port)
{
	char		*url = ws_url(scheme, port, "/mine");
	struct tconn	*c = ws_client(r, url, r->ca, NULL);
	struct tjob	 job;
	char		 session[32];
	json_t		*j;
	int		 slot;

	slot = stratum_login(r, c, "ws-rig", session);
	cr_assert(slot >= 0 && slot < 256);
	stratum_share(r, c, session, slot, 2);
	cr_assert(proxy_wait_log(r->p, "result=accepted", WAIT_MS));

	tjob_default(&job, "j2");
	pool_send_job(r->pc, &job);
	j = tc_recv(c, WAIT_MS);
	cr_assert(j != NULL, "no job push");
	cr_assert_str_eq(jstr(j, "method"), "job", "%s", jtext(j));
	cr_assert_str_eq(jstr(j, "params.job_id"), "j2");
	cr_assert_eq(blob_slot(jstr(j, "params.blob")), slot);
	json_decref(j);

	/* A ping frame is answered with a pong frame. */
	tc_send(c, "PING");
	j = tc_recv(c, WAIT_MS);
	cr_assert(j != NULL && json_is_true(json_object_get(j, "ws_pong")),
	    "no pong: %s", jtext(j));
	json_decref(j);

	/* The client's close frame: answered, and the miner closed. */
	shutdown(c->fd, SHUT_WR);
	j = tc_recv(c, WAIT_MS);
	cr_assert(j != NULL, "no close");
	cr_assert_eq(json_integer_value(json_object_get(j, "ws_closed")), 1000,
	    "%s", jtext(j));
	json_decref(j);
	cr_assert(proxy_wait_log(r->p, "reason=\"websocket close\"", WAIT_MS));
	tc_close(c);
	free(url);
}

Test(websocket, ws_miner_python)
{
	struct rig	 r;

	rig_start(&r, NULL);
	ws_miner_session(&r, "ws", r.ws);
	rig_stop(&r);
}

Test(websocket, wss_miner_python)
{
	struct rig	 r;

	rig_start(&r, NULL);
	ws_miner_session(&r, "wss", r.wss);
	rig_stop(&r);
}

/* ---- WebSocket by hand: the cases no library sends ---------------- */

#define KEY	"dGhlIHNhbXBsZSBub25jZQ=="

/*
 * Send an upgrade request (NULL fields are left out) and read the
 * answer's status; the connection is in *cp.
 */
static int
raw_upgrade(int port, const char *path, const char *key, const char *version,
    const char *origin, struct tconn **cp)
{
	struct tconn	*c = tc_connect(port);
	char		*line;
	int		 status = 0;

	tc_send(c, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n%s%s%s%s%s%s%s%s%s\r\n", path,
	    key != NULL ? "Sec-WebSocket-Key: " : "", key != NULL ? key : "",
	    key != NULL ? "\r\n" : "",
	    version != NULL ? "Sec-WebSocket-Version: " : "",
	    version != NULL ? version : "", version != NULL ? "\r\n" : "",
	    origin != NULL ? "Origin: " : "", origin != NULL ? origin : "",
	    origin != NULL ? "\r\n" : "");
	line = tc_recv_line(c, WAIT_MS);
	cr_assert(line != NULL, "no answer to the upgrade");
	cr_assert(sscanf(line, "HTTP/1.1 %d", &status) == 1, "%s", line);
	free(line);
	/* The rest of the head. */
	while ((line = tc_recv_line(c, WAIT_MS)) != NULL) {
		if (line[0] == '\r' || line[0] == '\0') {
			free(line);
			break;
		}
		if (status == 101 && strncmp(line, "Sec-WebSocket-Accept:", 21) ==
		    0)
			cr_assert(strstr(line, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") !=
			    NULL, "%s", line);
		free(line);
	}
	*cp = c;
	return status;
}

/*
 * Send one frame: opcode, fin, masked or not; len is the payload length
 * the header claims, of which sent bytes follow.
 */
static void
raw_frame(struct tconn *c, int opcode, int fin, int masked,
    const char *payload, size_t len, size_t sent)
{
	unsigned char	 head[14], *buf;
	static const unsigned char mask[4] = { 0x11, 0x22, 0x33, 0x44 };
	size_t		 h = 2, i;

	head[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (len < 126)
		head[1] = (unsigned char)len;
	else if (len <= 0xffff) {
		head[1] = 126;
		head[2] = (unsigned char)(len >> 8);
		head[3] = (unsigned char)len;
		h = 4;
	} else {
		head[1] = 127;
		for (i = 0; i < 8; i++)
			head[2 + i] = (unsigned char)((uint64_t)len >>
			    (56 - 8 * i));
		h = 10;
	}
	if (masked) {
		head[1] |= 0x80;
		memcpy(head + h, mask, 4);
		h += 4;
	}
	buf = (unsigned char *)malloc(h + sent + 1);
	cr_assert(buf != NULL);
	memcpy(buf, head, h);
	for (i = 0; i < sent; i++)
		buf[h + i] = (unsigned char)((payload != NULL ? payload[i] : 'x') ^
		    (masked ? mask[i % 4] : 0));
	tc_send_raw(c, buf, h + sent);
	free(buf);
}

/* Read n bytes (what tc_recv_line left first), or fail. */
static void
raw_read(struct tconn *c, unsigned char *out, size_t n)
{
	int64_t		 deadline = now_ms() + WAIT_MS;
	struct pollfd	 pfd;
	size_t		 have = 0, k;
	ssize_t		 got;

	while (have < n) {
		if (c->inlen > 0) {
			k = c->inlen < n - have ? c->inlen : n - have;
			memcpy(out + have, c->in, k);
			memmove(c->in, c->in + k, c->inlen - k);
			c->inlen -= k;
			have += k;
			continue;
		}
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		cr_assert(poll(&pfd, 1, left_ms(deadline)) == 1,
		    "no frame from the proxy");
		got = recv(c->fd, out + have, n - have, 0);
		cr_assert(got > 0, "closed before a whole frame");
		have += (size_t)got;
	}
}

/* Read one frame from the proxy: its opcode; the payload in buf. */
static int
raw_read_frame(struct tconn *c, unsigned char *buf, size_t cap, size_t *len)
{
	unsigned char	 h[8];
	size_t		 n, i;

	raw_read(c, h, 2);
	cr_assert_eq(h[1] & 0x80, 0, "a server frame was masked");
	n = h[1] & 0x7f;
	if (n == 126) {
		raw_read(c, h + 2, 2);
		n = ((size_t)h[2] << 8) | h[3];
	} else if (n == 127) {
		raw_read(c, h, 8);
		for (n = 0, i = 0; i < 8; i++)
			n = (n << 8) | h[i];
	}
	cr_assert(n < cap, "frame of %zu bytes", n);
	raw_read(c, buf, n);
	buf[n] = '\0';
	*len = n;
	return h[0] & 0x0f;
}

/* The proxy must send a close frame with code, then close. */
static void
expect_close_frame(struct rig *r, struct tconn *c, int code)
{
	unsigned char	 buf[256];
	size_t		 n;
	int		 op;

	op = raw_read_frame(c, buf, sizeof buf, &n);
	if (op != 0x8 || n < 2 || ((buf[0] << 8) | buf[1]) != code)
		proxy_dump_log(r->p);
	cr_assert_eq(op, 0x8, "opcode %d, not close", op);
	cr_assert(n >= 2);
	cr_assert_eq((buf[0] << 8) | buf[1], code);
	cr_assert(tc_wait_closed(c, WAIT_MS), "not closed after the close");
}

Test(websocket, bad_handshakes_path_and_origin)
{
	struct rig	 r;
	struct tconn	*c;

	rig_start(&r, "\"websocket-origins\":[\"https://pool.example\"]");
	/* No key, a wrong version, a key that is no key: 400, closed. */
	cr_assert_eq(raw_upgrade(r.ws, "/mine", NULL, "13", NULL, &c), 400);
	cr_assert(tc_wait_closed(c, WAIT_MS));
	tc_close(c);
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "8", NULL, &c), 400);
	cr_assert(tc_wait_closed(c, WAIT_MS));
	tc_close(c);
	cr_assert_eq(raw_upgrade(r.ws, "/mine", "short", "13", NULL, &c), 400);
	cr_assert(tc_wait_closed(c, WAIT_MS));
	tc_close(c);
	/* Stratum on a WebSocket bind is no upgrade. */
	c = tc_connect(r.ws);
	tc_send(c, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"W\",\"pass\":\"x\"}}\r\n\r\n");
	{
		char	*line = tc_recv_line(c, WAIT_MS);

		cr_assert(line != NULL && strncmp(line, "HTTP/1.1 400 ", 13) ==
		    0, "%s", line != NULL ? line : "(nothing)");
		free(line);
	}
	cr_assert(tc_wait_closed(c, WAIT_MS));
	tc_close(c);
	/* Another path: 404. */
	cr_assert_eq(raw_upgrade(r.ws, "/", KEY, "13", NULL, &c), 404);
	cr_assert(tc_wait_closed(c, WAIT_MS));
	tc_close(c);
	/* Another Origin: 403; the allowed one and none: 101. */
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13",
	    "https://evil.example", &c), 403);
	cr_assert(tc_wait_closed(c, WAIT_MS));
	tc_close(c);
	cr_assert(proxy_wait_log(r.p, "Origin not allowed", WAIT_MS));
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13",
	    "https://pool.example", &c), 101);
	tc_close(c);
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", NULL, &c), 101);
	tc_close(c);
	/* Python's client sees the 403 too. */
	{
		char	*url = ws_url("ws", r.ws, "/mine");
		json_t	*j;

		c = ws_client(&r, url, NULL, "https://evil.example");
		j = tc_recv(c, WAIT_MS);
		cr_assert(j != NULL);
		cr_assert_eq(json_integer_value(json_object_get(j,
		    "ws_refused")), 403, "%s", jtext(j));
		json_decref(j);
		tc_close(c);
		free(url);
	}
	rig_stop(&r);
}

Test(websocket, frames_unmasked_oversized_binary_ping_close)
{
	struct rig	 r;
	struct tconn	*c;
	unsigned char	 buf[20000];
	size_t		 n;
	char		*big;
	static const char login[] = "{\"id\":1,\"jsonrpc\":\"2.0\","
	    "\"method\":\"login\",\"params\":{\"login\":\"WALLET\","
	    "\"pass\":\"x\"}}";

	rig_start(&r, NULL);

	/* An unmasked frame from a client: close 1002. */
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", NULL, &c), 101);
	raw_frame(c, 0x1, 1, 0, login, strlen(login), strlen(login));
	expect_close_frame(&r, c, 1002);
	tc_close(c);
	cr_assert(proxy_wait_log(r.p, "websocket protocol error (1002)",
	    WAIT_MS));

	/* A message over the 16 KiB line limit, in one frame: 1009. */
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", NULL, &c), 101);
	raw_frame(c, 0x1, 1, 1, NULL, 20000, 100);
	expect_close_frame(&r, c, 1009);
	tc_close(c);

	/* ... and in two frames that are each under it: 1009. */
	big = (char *)malloc(10001);
	cr_assert(big != NULL);
	memset(big, ' ', 10000);
	big[10000] = '\0';
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", NULL, &c), 101);
	raw_frame(c, 0x1, 0, 1, big, 10000, 10000);
	raw_frame(c, 0x0, 1, 1, big, 10000, 10000);
	expect_close_frame(&r, c, 1009);
	tc_close(c);
	free(big);
	cr_assert(proxy_wait_log(r.p, "websocket message too big (1009)",
	    WAIT_MS));

	/*
	 * The proxy's own close (a line that is no JSON before the login):
	 * its error message, then a close frame (1008).
	 */
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", NULL, &c), 101);
	raw_frame(c, 0x1, 1, 1, "not json", 8, 8);
	cr_assert_eq(raw_read_frame(c, buf, sizeof buf, &n), 0x1);
	cr_assert(strstr((char *)buf, "Parse error") != NULL, "%s", buf);
	expect_close_frame(&r, c, 1008);
	tc_close(c);

	/* Binary: 1003. */
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", NULL, &c), 101);
	raw_frame(c, 0x2, 1, 1, login, strlen(login), strlen(login));
	expect_close_frame(&r, c, 1003);
	tc_close(c);

	/*
	 * A login split over two frames and two writes works; a ping is
	 * answered with its payload; a close frame is answered and closes.
	 */
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", NULL, &c), 101);
	raw_frame(c, 0x1, 0, 1, login, 20, 20);
	raw_frame(c, 0x0, 1, 1, login + 20, strlen(login) - 20,
	    strlen(login) - 20);
	cr_assert_eq(raw_read_frame(c, buf, sizeof buf, &n), 0x1);
	cr_assert(strstr((char *)buf, "\"status\":\"OK\"") != NULL, "%s", buf);
	cr_assert_eq(buf[n - 1], '}', "a trailing newline in a message");
	raw_frame(c, 0x9, 1, 1, "hi", 2, 2);
	cr_assert_eq(raw_read_frame(c, buf, sizeof buf, &n), 0xa);
	cr_assert_eq(n, 2);
	cr_assert(memcmp(buf, "hi", 2) == 0);
	raw_frame(c, 0x8, 1, 1, "\x03\xe8", 2, 2);
	expect_close_frame(&r, c, 1000);
	tc_close(c);
	cr_assert(proxy_wait_log(r.p, "reason=\"websocket close\"", WAIT_MS));
	rig_stop(&r);
}

/* ---- Xatum over TLS ---------------------------------------------- */

/* A Xatum client: TLS to the xatum bind. */
static struct tconn *
xatum_connect(struct rig *r)
{
	struct tconn	*c = tc_connect(r->xatum);

	cr_assert(tc_tls_client(c, r->ca, "localhost", NULL),
	    "TLS handshake with the xatum bind failed");
	return c;
}

/* The next message, which must exist. */
static json_t *
must_recv(struct rig *r, struct tconn *c)
{
	json_t	*j = tc_recv(c, WAIT_MS);

	if (j == NULL)
		proxy_dump_log(r->p);
	cr_assert(j != NULL, "nothing received");
	return j;
}

/*
 * Handshake and authorize a Xatum miner; returns its slot, from the
 * first job push (kept in *jobp).
 */
static int
xatum_login(struct rig *r, struct tconn *c, const char *worker,
    json_t **jobp)
{
	json_t		*j;
	const char	*hh;

	tc_send(c, "{\"id\":\"1\",\"method\":\"handshake\",\"params\":"
	    "{\"version\":\"1.0.0\",\"protocol\":\"xatum/1.0\"}}\n");
	j = must_recv(r, c);
	cr_assert_str_eq(jstr(j, "id"), "1", "%s", jtext(j));
	cr_assert_str_eq(jstr(j, "result.protocol"), "xatum/1.0");
	cr_assert_str_eq(jstr(j, "result.version"), "1.0.0");
	cr_assert(strncmp(jstr(j, "result.session_id"), "0x", 2) == 0);
	cr_assert(json_is_integer(jget(j, "result.difficulty")));
	json_decref(j);

	tc_send(c, "{\"id\":\"2\",\"method\":\"authorize\",\"params\":"
	    "{\"address\":\"WALLET\",\"worker\":\"%s\"}}\n", worker);
	j = must_recv(r, c);
	cr_assert_str_eq(jstr(j, "id"), "2", "%s", jtext(j));
	cr_assert(json_is_true(json_object_get(j, "result")), "%s", jtext(j));
	json_decref(j);
	j = must_recv(r, c);
	cr_assert_str_eq(jstr(j, "method"), "job", "%s", jtext(j));
	hh = jstr(j, "result.header_hash");
	cr_assert(hh != NULL && strncmp(hh, "0x", 2) == 0, "%s", jtext(j));
	cr_assert_str_eq(jstr(j, "result.id"), "j1");
	cr_assert_str_eq(jstr(j, "result.target"), "0xb88d0600");
	cr_assert_eq(json_integer_value(jget(j, "result.difficulty")), 10000);
	cr_assert_eq(json_integer_value(jget(j, "result.height")), 1000);
	cr_assert(json_is_true(jget(j, "result.clean")));
	cr_assert_str_eq(jstr(j, "result.algo"), "rx/0");
	cr_assert_not_null(jstr(j, "result.seed_hash"));
	*jobp = j;
	return blob_slot(hh + 2);
}

Test(websocket, xatum_over_tls)
{
	struct rig	 r;
	struct tconn	*c, *plain;
	json_t		*job, *j;
	char		 nonce[9], result[65], low[65];
	json_int_t	 sid;
	struct tjob	 tj;
	int		 slot;

	rig_start(&r, NULL);
	c = xatum_connect(&r);
	slot = xatum_login(&r, c, "xrig", &job);
	tjob_default(&tj, "j1");
	cr_assert(blob_same_but_slot(jstr(job, "result.header_hash") + 2,
	    tj.blob));
	json_decref(job);

	/* submit with 0x fields: forwarded as stratum, answered true. */
	nonce_in(nonce, slot, 0x4242);
	make_result(result, 20000);
	tc_send(c, "{\"id\":\"3\",\"method\":\"submit\",\"params\":"
	    "{\"job_id\":\"j1\",\"nonce\":\"0x%s\",\"result\":\"0x%s\"}}\n",
	    nonce, result);
	sid = pool_expect_submit(r.pc, nonce, result);
	pool_ok(r.pc, sid);
	j = must_recv(&r, c);
	cr_assert_str_eq(jstr(j, "id"), "3", "%s", jtext(j));
	cr_assert(json_is_true(json_object_get(j, "result")), "%s", jtext(j));
	json_decref(j);
	cr_assert(proxy_wait_log(r.p, "result=accepted", WAIT_MS));

	/* The result is required; a low share; Xatum-shaped errors. */
	nonce_in(nonce, slot, 0x4343);
	tc_send(c, "{\"id\":\"4\",\"method\":\"submit\",\"params\":"
	    "{\"job_id\":\"j1\",\"nonce\":\"0x%s\"}}\n", nonce);
	j = must_recv(&r, c);
	cr_assert_str_eq(jstr(j, "id"), "4", "%s", jtext(j));
	cr_assert_str_eq(jstr(j, "error.message"), "Invalid result");
	cr_assert(json_is_integer(jget(j, "error.code")));
	json_decref(j);
	make_result(low, 100);
	tc_send(c, "{\"id\":\"5\",\"method\":\"submit\",\"params\":"
	    "{\"job_id\":\"j1\",\"nonce\":\"%s\",\"result\":\"%s\"}}\n",
	    nonce, low);
	j = must_recv(&r, c);
	cr_assert_str_eq(jstr(j, "error.message"), "Low difficulty share",
	    "%s", jtext(j));
	cr_assert_eq(json_integer_value(jget(j, "error.code")), 23);
	json_decref(j);
	tc_send(c, "{\"id\":\"6\",\"method\":\"getwork\"}\n");
	j = must_recv(&r, c);
	cr_assert_str_eq(jstr(j, "id"), "6");
	cr_assert_str_eq(jstr(j, "error.message"), "Invalid method");
	json_decref(j);
	tc_send(c, "this is not json\n");
	j = must_recv(&r, c);
	cr_assert(json_is_null(json_object_get(j, "id")), "%s", jtext(j));
	cr_assert_not_null(jstr(j, "error.message"));
	json_decref(j);

	/* ping -> pong. */
	tc_send(c, "{\"id\":\"7\",\"method\":\"ping\"}\n");
	j = must_recv(&r, c);
	cr_assert_str_eq(jstr(j, "method"), "pong", "%s", jtext(j));
	cr_assert_str_eq(jstr(j, "id"), "7");
	json_decref(j);

	/* A new job is pushed in Xatum's shape with the same slot. */
	tjob_default(&tj, "j2");
	pool_send_job(r.pc, &tj);
	j = must_recv(&r, c);
	cr_assert_str_eq(jstr(j, "method"), "job", "%s", jtext(j));
	cr_assert_str_eq(jstr(j, "result.id"), "j2");
	cr_assert_eq(blob_slot(jstr(j, "result.header_hash") + 2), slot);
	json_decref(j);

	/* Plain TCP to the xatum bind: refused (closed) cleanly. */
	plain = tc_connect(r.xatum);
	tc_send(plain, "{\"id\":\"1\",\"method\":\"handshake\",\"params\":{}}\n");
	cr_assert(tc_wait_closed(plain, WAIT_MS), "plain TCP accepted on the "
	    "xatum bind");
	tc_close(plain);
	/* The Xatum miner was not disturbed. */
	tc_send(c, "{\"id\":\"8\",\"method\":\"ping\"}\n");
	j = must_recv(&r, c);
	cr_assert_str_eq(jstr(j, "method"), "pong");
	json_decref(j);

	tc_close(c);
	rig_stop(&r);
}

/* ---- Every transport on one upstream ------------------------------ */

Test(websocket, mixed_farm_slots_and_transport_column)
{
	struct rig	 r;
	struct tconn	*c[5];
	char		 session[5][32], *url;
	int		 slot[5], i, k, seen[5] = { 0 };
	json_t		*job, *j, *rows, *row, *fmt;
	struct hresp	*h;
	static const char *names[5] = { "tcp", "tls", "ws", "wss", "xatum" };

	rig_start(&r, NULL);
	c[0] = tc_connect(r.tcp);
	slot[0] = stratum_login(&r, c[0], "m-tcp", session[0]);
	c[1] = tc_connect(r.tls);
	cr_assert(tc_tls_client(c[1], r.ca, "localhost", NULL));
	slot[1] = stratum_login(&r, c[1], "m-tls", session[1]);
	url = ws_url("ws", r.ws, "/mine");
	c[2] = ws_client(&r, url, NULL, NULL);
	free(url);
	slot[2] = stratum_login(&r, c[2], "m-ws", session[2]);
	url = ws_url("wss", r.wss, "/mine");
	c[3] = ws_client(&r, url, r.ca, NULL);
	free(url);
	slot[3] = stratum_login(&r, c[3], "m-wss", session[3]);
	c[4] = xatum_connect(&r);
	slot[4] = xatum_login(&r, c[4], "m-xatum", &job);
	json_decref(job);

	for (i = 0; i < 5; i++)
		for (k = i + 1; k < 5; k++)
			cr_assert_neq(slot[i], slot[k], "%s and %s share slot %d",
			    names[i], names[k], slot[i]);
	/* One upstream for all of them. */
	cr_assert_null(tl_accept(r.tl, QUIET_MS), "a second upstream");
	/* Each one's shares reach the pool in its own slot. */
	for (i = 0; i < 4; i++)
		stratum_share(&r, c[i], session[i], slot[i], 10 + i);

	h = http_request(r.api, "GET", "/1/miners", NULL, NULL);
	cr_assert_eq(h->status, 200);
	j = json_loads(h->body, 0, NULL);
	cr_assert(j != NULL, "%s", h->body);
	fmt = json_object_get(j, "format");
	cr_assert_str_eq(json_string_value(json_array_get(fmt,
	    json_array_size(fmt) - 1)), "transport", "%s", h->body);
	cr_assert_str_eq(json_string_value(json_array_get(fmt, 9)), "agent");
	rows = json_object_get(j, "miners");
	cr_assert_eq(json_array_size(rows), 5, "%s", h->body);
	json_array_foreach(rows, k, row) {
		const char *t = json_string_value(json_array_get(row,
		    json_array_size(row) - 1));
		const char *rig = json_string_value(json_array_get(row, 8));

		cr_assert(t != NULL && rig != NULL, "%s", h->body);
		for (i = 0; i < 5; i++)
			if (strcmp(t, names[i]) == 0) {
				seen[i]++;
				cr_assert(strcmp(rig + 2, names[i]) == 0,
				    "rig %s over %s", rig, t);
			}
	}
	for (i = 0; i < 5; i++)
		cr_assert_eq(seen[i], 1, "transport %s seen %d times", names[i],
		    seen[i]);
	json_decref(j);
	hresp_free(h);
	for (i = 0; i < 5; i++)
		tc_close(c[i]);
	rig_stop(&r);
}

/* ---- Reload and back-pressure ------------------------------------- */

Test(websocket, origins_follow_a_reload)
{
	struct rig	 r;
	struct tconn	*c;
	char		*cfg, *at;

	rig_start(&r, "\"websocket-origins\":[\"https://a.example\"]");
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", "https://a.example",
	    &c), 101);
	tc_close(c);
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", "https://b.example",
	    &c), 403);
	tc_close(c);

	cfg = slurp(r.p->config);
	cr_assert((at = strstr(cfg, "https://a.example")) != NULL);
	at[8] = 'b';
	proxy_write_config(r.p, cfg);
	free(cfg);
	proxy_signal(r.p, SIGHUP);
	cr_assert(proxy_wait_log(r.p, "type=reload status=done", WAIT_MS));
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", "https://b.example",
	    &c), 101);
	tc_close(c);
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", "https://a.example",
	    &c), 403);
	tc_close(c);
	rig_stop(&r);
}

/*
 * A WebSocket miner that stops reading meets the same output limit as a
 * TCP one: closed, while a reading miner keeps its jobs.
 */
Test(websocket, stuck_ws_reader_hits_the_output_limit)
{
	struct rig	 r;
	struct tconn	*stuck, *good;
	struct tjob	 job;
	char		 id[32], session[32];
	unsigned char	 buf[4096];
	size_t		 n;
	int		 small = 4096, i;
	bool		 closed = false;
	json_t		*msg;
	static const char login[] = "{\"id\":1,\"jsonrpc\":\"2.0\","
	    "\"method\":\"login\",\"params\":{\"login\":\"STUCK\","
	    "\"pass\":\"x\"}}";

	rig_start(&r, "\"miner-output-limit\":16384");
	cr_assert_eq(raw_upgrade(r.ws, "/mine", KEY, "13", NULL, &stuck), 101);
	setsockopt(stuck->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	raw_frame(stuck, 0x1, 1, 1, login, strlen(login), strlen(login));
	cr_assert_eq(raw_read_frame(stuck, buf, sizeof buf, &n), 0x1);
	cr_assert(strstr((char *)buf, "\"status\":\"OK\"") != NULL, "%s", buf);
	good = tc_connect(r.tcp);
	stratum_login(&r, good, "good", session);

	tjob_default(&job, "x");
	for (i = 1; i <= 60000 && !closed; i++) {
		snprintf(id, sizeof id, "b%d", i);
		job.job_id = id;
		pool_send_job(r.pc, &job);
		if (i % 500 == 0) {
			while ((msg = tc_recv(good, 0)) != NULL)
				json_decref(msg);
			closed = proxy_log_count(r.p, "output limit reached") > 0;
		}
	}
	cr_assert(closed || proxy_wait_log(r.p, "output limit reached",
	    WAIT_MS), "a stuck WebSocket reader was never closed");
	cr_assert(proxy_log_count(r.p, "user=STUCK state=ready close=overflow")
	    == 1, "not the stuck miner, or not once");
	job.job_id = "final";
	pool_send_job(r.pc, &job);
	bool seen = false;
	while (!seen && (msg = tc_recv(good, WAIT_MS)) != NULL) {
		seen = jstr(msg, "params.job_id") != NULL &&
		    strcmp(jstr(msg, "params.job_id"), "final") == 0;
		json_decref(msg);
	}
	cr_assert(seen, "the reading miner stopped getting jobs");
	tc_close(stuck);
	tc_close(good);
	rig_stop(&r);
}
