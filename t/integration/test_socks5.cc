/*
 * test_socks5.cc: pools behind a SOCKS5 proxy (issue 14). The test plays
 * the proxy itself: it accepts sluice's connection, checks the greeting
 * and the CONNECT request byte by byte, answers, and then, instead of
 * relaying to a real pool, speaks stratum (or TLS) as the pool on the
 * same socket. So what sluice sends through the tunnel is checked where
 * the pool would see it, with no relay in between.
 *
 * The pool's host names end in .invalid (RFC 6761: never resolves): a
 * login arriving proves the name went to the proxy unresolved.
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define WAIT_MS		5000	/* anything that must happen */

TestSuite(socks5, .timeout = 60);

/* What the fake proxy was asked. */
struct sreq {
	int	 nmethods;
	int	 methods[8];
	char	 user[256];
	char	 pass[256];
	int	 atyp;
	char	 host[256];	/* a name, or the address as text */
	int	 port;
};

/* Read exactly n bytes from c within WAIT_MS; false on EOF or timeout. */
static bool
recv_exact(struct tconn *c, void *buf, size_t n)
{
	struct pollfd	 pfd = { c->fd, POLLIN, 0 };
	unsigned char	*p = (unsigned char *)buf;
	int64_t		 deadline = now_ms() + WAIT_MS;
	ssize_t		 r;

	cr_assert(c->inlen == 0, "bytes already buffered on the connection");
	while (n > 0) {
		r = recv(c->fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return false;
		cr_assert(errno == EAGAIN || errno == EINTR, "recv: %s",
		    strerror(errno));
		if (left_ms(deadline) == 0)
			return false;
		poll(&pfd, 1, left_ms(deadline));
	}
	return true;
}

/* Read the greeting into r; true if it is well formed. */
static bool
socks_greeting(struct tconn *c, struct sreq *r)
{
	unsigned char	 b[2 + 8];
	int		 i;

	memset(r, 0, sizeof *r);
	if (!recv_exact(c, b, 2) || b[0] != 5 || b[1] == 0 || b[1] > 8)
		return false;
	r->nmethods = b[1];
	if (!recv_exact(c, b + 2, b[1]))
		return false;
	for (i = 0; i < r->nmethods; i++)
		r->methods[i] = b[2 + i];
	return true;
}

/* Read the CONNECT request into r. */
static void
socks_request(struct tconn *c, struct sreq *r)
{
	unsigned char	 b[4 + 1 + 255 + 2];
	size_t		 alen;

	cr_assert(recv_exact(c, b, 4), "no CONNECT request");
	cr_assert(b[0] == 5 && b[1] == 1 && b[2] == 0,
	    "not a CONNECT: %02x %02x %02x", b[0], b[1], b[2]);
	r->atyp = b[3];
	if (r->atyp == 3) {
		cr_assert(recv_exact(c, b, 1));
		alen = b[0];
		cr_assert(recv_exact(c, r->host, alen));
		r->host[alen] = '\0';
	} else {
		cr_assert(r->atyp == 1 || r->atyp == 4, "ATYP %d", r->atyp);
		alen = r->atyp == 1 ? 4 : 16;
		cr_assert(recv_exact(c, b, alen));
		inet_ntop(r->atyp == 1 ? AF_INET : AF_INET6, b, r->host,
		    sizeof r->host);
	}
	cr_assert(recv_exact(c, b, 2));
	r->port = b[0] << 8 | b[1];
}

/*
 * Play a SOCKS5 proxy on c: take the greeting (choosing username/password
 * when offered and auth is set), read the CONNECT into r and answer it
 * with rep, the bound address in type bound_atyp (1, 3 or 4), sent in two
 * pieces so that sluice must wait for the whole reply.
 */
static void
socks_serve(struct tconn *c, struct sreq *r, int auth, int rep,
    int bound_atyp)
{
	unsigned char	 b[64];
	size_t		 n = 0, len;
	int		 i, offered = 0;

	cr_assert(socks_greeting(c, r), "no SOCKS5 greeting");
	for (i = 0; i < r->nmethods; i++)
		offered |= r->methods[i] == 2;
	if (auth) {
		cr_assert(offered, "username/password not offered");
		cr_assert(tc_send_raw(c, "\x05\x02", 2));
		cr_assert(recv_exact(c, b, 2) && b[0] == 1);
		len = b[1];
		cr_assert(recv_exact(c, r->user, len));
		r->user[len] = '\0';
		cr_assert(recv_exact(c, b, 1));
		len = b[0];
		cr_assert(recv_exact(c, r->pass, len));
		r->pass[len] = '\0';
		cr_assert(tc_send_raw(c, "\x01\x00", 2));
	} else
		cr_assert(tc_send_raw(c, "\x05\x00", 2));
	socks_request(c, r);
	b[n++] = 5;
	b[n++] = (unsigned char)rep;
	b[n++] = 0;
	b[n++] = (unsigned char)bound_atyp;
	if (bound_atyp == 3) {
		b[n++] = 13;
		memcpy(b + n, "bound.example", 13);
		n += 13;
	} else {
		len = bound_atyp == 1 ? 4 : 16;
		memset(b + n, 0, len);
		b[n + len - 1] = 1;
		n += len;
	}
	b[n++] = 0x9c;
	b[n++] = 0x40;
	cr_assert(tc_send_raw(c, b, 3));
	cr_assert(tc_send_raw(c, b + 3, n - 3));
}

/* A logged-in pool session on c with a first job; the proxy is ready. */
static void
pool_login_on(struct proxy *p, struct tconn *pc, const char *job_id)
{
	json_t		*login;
	struct tjob	 job;

	login = pool_expect_login(pc, WAIT_MS);
	cr_assert_str_eq(jstr(login, "params.login"), "WALLET");
	tjob_default(&job, job_id);
	pool_send_login_ok(pc, login, "SESSION", &job);
	json_decref(login);
	cr_assert(proxy_wait_log(p, "state=up", WAIT_MS));
}

/* A miner logs in, gets the pool's job and has one share accepted. */
static void
mine_one_share(struct proxy *p, int bind_port, struct tconn *pc)
{
	struct tconn	*mc = tc_connect(bind_port);
	json_t		*res, *sub;
	char		 result[65], sid[64];

	res = miner_login(mc, "miner1", "x", NULL, WAIT_MS);
	if (res == NULL)
		proxy_dump_log(p);
	cr_assert(res != NULL, "no login reply to the miner");
	cr_assert_str_eq(jstr(res, "result.job.job_id") != NULL ? "ok" : "",
	    "ok", "no job in the miner's login reply");
	snprintf(sid, sizeof sid, "%s", jstr(res, "result.id"));
	make_result(result, 20000);
	cr_assert(tc_send(mc, "{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":\"%s\","
	    "\"nonce\":\"%08x\",\"result\":\"%s\",\"algo\":\"rx/0\"}}\n", sid,
	    jstr(res, "result.job.job_id"), 0x01000000 |
	    (unsigned)blob_slot(jstr(res, "result.job.blob")), result));
	json_decref(res);
	sub = tc_recv(pc, WAIT_MS);
	cr_assert(sub != NULL, "the share did not reach the pool");
	cr_assert_str_eq(jstr(sub, "method"), "submit");
	cr_assert_str_eq(jstr(sub, "params.id"), "SESSION");
	cr_assert(tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}\n",
	    (long long)json_integer_value(json_object_get(sub, "id"))));
	json_decref(sub);
	res = tc_recv_reply(mc, 2, WAIT_MS);
	cr_assert(res != NULL, "no answer to the share");
	cr_assert_str_eq(jstr(res, "result.status"), "OK");
	json_decref(res);
	tc_close(mc);
}

Test(socks5, host_name_resolved_by_the_proxy)
{
	int		 sp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(sp);
	struct proxy	*p;
	struct tconn	*pc;
	struct sreq	 r;
	char		*cfg;

	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":["
	    "{\"url\":\"pool.invalid:3333\",\"user\":\"WALLET\","
	    "\"socks5\":\"127.0.0.1:%d\"}],\"watch\":false}", bp, sp) != -1);
	p = proxy_start(cfg);
	pc = tl_accept(tl, WAIT_MS);
	cr_assert(pc != NULL, "sluice did not connect to the SOCKS5 proxy");
	socks_serve(pc, &r, 0, 0, 1);
	cr_assert_eq(r.nmethods, 1, "methods offered without a login");
	cr_assert_eq(r.methods[0], 0);
	cr_assert_eq(r.atyp, 3, "the name was not sent as ATYP 3");
	cr_assert_str_eq(r.host, "pool.invalid");
	cr_assert_eq(r.port, 3333);
	pool_login_on(p, pc, "j1");
	mine_one_share(p, bp, pc);
	cr_assert_eq(proxy_log_count(p, "reason=dns"), 0);

	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

Test(socks5, username_password_and_ip_literal)
{
	int		 sp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(sp);
	struct proxy	*p;
	struct tconn	*pc;
	struct sreq	 r;
	char		*cfg;

	/* verbose 2: every line to and from the pool is logged. */
	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":["
	    "{\"url\":\"10.1.2.3:4444\",\"user\":\"WALLET\",\"socks5\":"
	    "\"socks5://alice:Sup3rSecret@127.0.0.1:%d\"}],\"verbose\":2,"
	    "\"watch\":false}", bp, sp) != -1);
	p = proxy_start(cfg);
	pc = tl_accept(tl, WAIT_MS);
	cr_assert(pc != NULL);
	socks_serve(pc, &r, 1, 0, 3);
	cr_assert_str_eq(r.user, "alice");
	cr_assert_str_eq(r.pass, "Sup3rSecret");
	cr_assert_eq(r.atyp, 1, "an IPv4 literal goes as ATYP 1");
	cr_assert_str_eq(r.host, "10.1.2.3");
	cr_assert_eq(r.port, 4444);
	pool_login_on(p, pc, "j1");
	cr_assert_eq(proxy_log_count(p, "Sup3rSecret"), 0,
	    "the proxy password is in the log");

	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

Test(socks5, tls_pool_through_the_tunnel)
{
	int		 sp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(sp);
	struct proxy	*p = proxy_new();
	struct tconn	*pc;
	struct sreq	 r;
	char		*cfg, *cert, *key, *fp;

	tls_make_certs(p->dir, "pool");
	cr_assert(asprintf(&cert, "%s/pool-cert.pem", p->dir) != -1);
	cr_assert(asprintf(&key, "%s/pool-key.pem", p->dir) != -1);
	fp = cert_fingerprint(cert);
	/* Pinned: the certificate is checked over the tunnel. */
	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":["
	    "{\"url\":\"stratum+ssl://pool.invalid:3334\",\"user\":\"WALLET\","
	    "\"tls-fingerprint\":\"%s\",\"socks5\":\"127.0.0.1:%d\"}],"
	    "\"watch\":false}", bp, fp, sp) != -1);
	proxy_write_config(p, cfg);
	proxy_launch(p);
	cr_assert(proxy_wait_log(p, "type=ready", WAIT_MS));
	pc = tl_accept(tl, WAIT_MS);
	cr_assert(pc != NULL);
	socks_serve(pc, &r, 0, 0, 4);
	cr_assert_eq(r.atyp, 3);
	cr_assert_str_eq(r.host, "pool.invalid");
	cr_assert_eq(r.port, 3334);
	cr_assert(tc_tls_server(pc, cert, key), "no TLS over the tunnel");
	pool_login_on(p, pc, "t1");
	mine_one_share(p, bp, pc);

	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
	free(cert);
	free(key);
	free(fp);
}

Test(socks5, refused_connect_fails_over)
{
	int		 sp = free_port(), pp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(sp), *tl2 = tl_listen(pp);
	struct proxy	*p;
	struct tconn	*sc, *pc;
	struct sreq	 r;
	char		*cfg;

	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":["
	    "{\"url\":\"pool.invalid:3333\",\"user\":\"WALLET\","
	    "\"socks5\":\"127.0.0.1:%d\"},{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"WALLET\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"failover-standby\":false,\"watch\":false}", bp, sp, pp) != -1);
	p = proxy_start(cfg);
	sc = tl_accept(tl, WAIT_MS);
	cr_assert(sc != NULL);
	socks_serve(sc, &r, 0, 5, 1);
	cr_assert(proxy_wait_log(p, "reason=proxy detail=\"socks5 127.0.0.1:",
	    WAIT_MS), "the refusal was not logged as a proxy failure");
	cr_assert(proxy_log_count(p, "CONNECT failed: connection refused "
	    "(reply 5)") >= 1, "RFC 1928's reason not logged");
	cr_assert(tc_wait_closed(sc, WAIT_MS), "the refused tunnel stays open");
	pc = tl_accept(tl2, WAIT_MS);
	cr_assert(pc != NULL, "no failover to the next pool");
	pool_login_on(p, pc, "b1");
	mine_one_share(p, bp, pc);

	tc_close(sc);
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	tl_close(tl2);
	free(cfg);
}

Test(socks5, not_a_socks_server)
{
	int		 sp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(sp);
	struct proxy	*p;
	struct tconn	*sc;
	struct sreq	 r;
	char		*cfg;

	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":["
	    "{\"url\":\"pool.invalid:3333\",\"socks5\":\"127.0.0.1:%d\"}],"
	    "\"watch\":false}", bp, sp) != -1);
	p = proxy_start(cfg);
	sc = tl_accept(tl, WAIT_MS);
	cr_assert(sc != NULL);
	cr_assert(socks_greeting(sc, &r));
	/* An HTTP proxy's answer. */
	cr_assert(tc_send(sc, "HTTP/1.1 400 Bad Request\r\n\r\n"));
	cr_assert(proxy_wait_log(p, "not a SOCKS5 proxy (version byte 72)",
	    WAIT_MS));
	cr_assert(proxy_log_count(p, "reason=proxy") >= 1);
	cr_assert(tc_wait_closed(sc, WAIT_MS));

	tc_close(sc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

/*
 * A proxy that accepts and then says nothing: pool-connect-timeout covers
 * the whole handshake. The daemon counts in whole seconds of its tick, so
 * a 2 s timeout fires 1 to 3 s after the connection.
 */
Test(socks5, silent_proxy_times_out)
{
	int		 sp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(sp);
	struct proxy	*p;
	struct tconn	*sc;
	struct sreq	 r;
	char		*cfg;
	int64_t		 t0, dt;

	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":["
	    "{\"url\":\"pool.invalid:3333\",\"socks5\":\"127.0.0.1:%d\"}],"
	    "\"pool-connect-timeout\":2,\"watch\":false}", bp, sp) != -1);
	p = proxy_start(cfg);
	sc = tl_accept(tl, WAIT_MS);
	cr_assert(sc != NULL);
	t0 = now_ms();
	cr_assert(socks_greeting(sc, &r));
	cr_assert(proxy_wait_log(p, "reason=timeout detail=\"connect timeout "
	    "(socks5 127.0.0.1:", WAIT_MS), "no connect timeout");
	cr_assert(tc_wait_closed(sc, WAIT_MS));
	dt = now_ms() - t0;
	cr_assert(dt <= 3500, "timed out after %lld ms", (long long)dt);
	cr_assert(proxy_log_count(p, "no answer to the greeting") >= 1);

	tc_close(sc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

/* A bad value is an error naming the key, whichever pool list it is in. */
Test(socks5, config_errors)
{
	static const struct {
		const char	*pools;
		const char	*want;
	} cases[] = {
		{ "\"pools\":[{\"url\":\"p:1\",\"socks5\":\"127.0.0.1\"}]",
		  "pools[0].socks5: missing port" },
		{ "\"pools\":[{\"url\":\"p:1\"},{\"url\":\"p:2\",\"socks5\":"
		  "true}]", "pools[1].socks5: expected \"host:port\" or null" },
		{ "\"coins\":{\"xmr\":{\"pools\":[{\"url\":\"p:1\",\"socks5\":"
		  "\"http://127.0.0.1:8080\"}]}}", "coins.xmr.pools[0].socks5: "
		  "expected \"host:port\"" },
		{ "\"pools\":[{\"url\":\"p:1\",\"socks5\":\"socks5://u:pw@h:0\"}]",
		  "pools[0].socks5: invalid port" },
	};
	char	*cfg, *out;
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],%s,"
		    "\"watch\":false}", free_port(), cases[i].pools) != -1);
		cr_assert_neq(proxy_start_expect_fail(cfg, &out), 0);
		cr_assert(strstr(out, cases[i].want) != NULL,
		    "no \"%s\" in:\n%s", cases[i].want, out);
		cr_assert(strstr(out, "pw@") == NULL, "password in the error");
		free(out);
		free(cfg);
	}
}
