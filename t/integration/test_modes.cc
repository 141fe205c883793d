/*
 * test_modes.cc: simple mode (one upstream per miner, reuse-timeout),
 * TLS both ways with certificates made by openssl at test time, and
 * back-pressure on a miner that stops reading.
 */
#include <sys/socket.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define T	5000	/* ms: generous deadline for one step */

/* A simple-mode config with extra keys. */
static char *
config_simple(int bind_port, int pool_port, const char *extra)
{
	char	*c = config_basic(bind_port, pool_port, extra), *m;

	m = strstr(c, "\"nicehash\"");
	cr_assert(m != NULL);
	memmove(m + 8, m + 10, strlen(m + 10) + 1);
	memcpy(m, "\"simple\"", 8);
	return c;
}

/* The fake pool side of one upstream: accept, answer login with a job. */
static struct tconn *
pool_accept_one(struct tlisten *tl, const char *session, const char *job_id)
{
	struct tconn	*pc;
	struct tjob	 job;
	json_t		*login;

	pc = tl_accept(tl, T);
	cr_assert(pc != NULL, "no pool connection");
	login = pool_expect_login(pc, T);
	tjob_default(&job, job_id);
	pool_send_login_ok(pc, login, session, &job);
	json_decref(login);
	return pc;
}

/* Send a login and return the reply's result (asserts OK). */
static json_t *
login_ok(struct tconn *mc, const char *login)
{
	json_t	*r = miner_login(mc, login, "x", NULL, T), *res;

	cr_assert(r != NULL, "no login reply");
	res = json_object_get(r, "result");
	cr_assert(json_is_object(res), "login failed: %s",
	    json_dumps(r, JSON_COMPACT));
	json_incref(res);
	json_decref(r);
	return res;
}

TestSuite(simple, .timeout = 60);

Test(simple, one_upstream_per_miner_blob_unmodified)
{
	int		 pp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	char		*cfg = config_simple(bp, pp, "");
	struct proxy	*p = proxy_start(cfg);
	struct tconn	*mc[3], *pc[3];
	struct tjob	 job;
	json_t		*res;
	const char	*blob;
	int		 i;

	tjob_default(&job, "s1");
	for (i = 0; i < 3; i++) {
		mc[i] = tc_connect(bp);
		cr_assert(tc_send(mc[i], "{\"id\":1,\"jsonrpc\":\"2.0\","
		    "\"method\":\"login\",\"params\":{\"login\":\"W%d\","
		    "\"pass\":\"x\",\"agent\":\"t\"}}", i));
		/* Each miner gets its own pool connection and login. */
		pc[i] = pool_accept_one(tl, "PS", "s1");
		json_t *r = tc_recv_reply(mc[i], 1, T);
		cr_assert(r != NULL, "miner %d: no login reply", i);
		res = json_object_get(r, "result");
		blob = json_string_value(json_object_get(
		    json_object_get(res, "job"), "blob"));
		cr_assert_str_eq(blob, job.blob, "simple mode changed the blob");
		cr_assert(json_array_size(json_object_get(res, "extensions")) > 0);
		json_decref(r);
	}
	/* No fourth upstream. */
	cr_assert(tl_accept(tl, 300) == NULL);
	for (i = 0; i < 3; i++) {
		tc_close(mc[i]);
		tc_close(pc[i]);
	}
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

Test(simple, reuse_timeout_takes_over_idle_upstream)
{
	int		 pp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	char		*cfg = config_simple(bp, pp, "\"reuse-timeout\":3");
	struct proxy	*p = proxy_start(cfg);
	struct tconn	*a, *b, *pc, *extra;
	json_t		*res, *sub;
	char		 result[65];

	a = tc_connect(bp);
	cr_assert(tc_send(a, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"login\",\"params\":{\"login\":\"A\",\"pass\":\"x\"}}"));
	pc = pool_accept_one(tl, "PS", "r1");
	json_decref(tc_recv_reply(a, 1, T));
	tc_close(a);
	cr_assert(proxy_wait_log(p, "type=miner_close id=1", T));

	/* B takes over at once: answered with the current job, no new pool
	 * connection, and the pool's session is reused. */
	b = tc_connect(bp);
	res = login_ok(b, "B");
	cr_assert_str_eq(json_string_value(json_object_get(
	    json_object_get(res, "job"), "job_id")), "r1");
	extra = tl_accept(tl, 300);
	cr_assert(extra == NULL, "a new pool connection was opened");
	make_result(result, 20000);
	sub = miner_submit(b, 2, json_string_value(json_object_get(res, "id")),
	    "r1", "01000000", result, 1);
	(void)sub;
	json_t *fw = tc_recv(pc, T);
	cr_assert(fw != NULL, "share not forwarded on the reused upstream");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(fw,
	    "params"), "id")), "PS");
	json_decref(fw);
	json_decref(res);

	/* After B leaves, the idle upstream is closed once reuse-timeout
	 * has passed. */
	tc_close(b);
	cr_assert(proxy_wait_log(p, "type=miner_close id=2", T));
	cr_assert(tc_wait_closed(pc, 3000 + T), "idle upstream not closed");
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

TestSuite(tls, .timeout = 60);

/* Paths of the test certificates in the proxy's temp dir. */
static char *
path_in(struct proxy *p, const char *name)
{
	char	*s;

	cr_assert(asprintf(&s, "%s/%s", p->dir, name) != -1);
	return s;
}

Test(tls, miners_on_tls_bind_and_autodetect_on_plain_bind)
{
	int		 pp = free_port(), bp = free_port(), tp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	struct proxy	*p = proxy_new();
	struct tconn	*pc, *m1, *m2, *m3, *m4;
	char		*cfg, *cert, *key, fp[65], *want;
	json_t		*res;

	tls_make_certs(p->dir, "srv");
	cert = path_in(p, "srv-cert.pem");
	key = path_in(p, "srv-key.pem");
	cr_assert(asprintf(&cfg, "{\"bind\":[{\"host\":\"127.0.0.1\","
	    "\"port\":%d},{\"host\":\"127.0.0.1\",\"port\":%d,\"tls\":true}],"
	    "\"tls\":{\"enabled\":true,\"cert\":\"srv-cert.pem\","
	    "\"cert_key\":\"srv-key.pem\"},\"pools\":[{\"url\":"
	    "\"127.0.0.1:%d\"}],\"watch\":false}", bp, tp, pp) != -1);
	proxy_write_config(p, cfg);
	proxy_launch(p);
	cr_assert(proxy_wait_log(p, "type=ready", 10000));
	pc = pool_accept_one(tl, "PS", "t1");

	/* TLS on the TLS bind. */
	m1 = tc_connect(tp);
	cr_assert(tc_tls_client(m1, NULL, "localhost", fp), "handshake failed");
	want = cert_fingerprint(cert);
	cr_assert_str_eq(fp, want);
	res = login_ok(m1, "T1");
	json_decref(res);
	/* TLS on the plain bind: detected from the first byte. */
	m2 = tc_connect(bp);
	cr_assert(tc_tls_client(m2, NULL, "localhost", NULL));
	res = login_ok(m2, "T2");
	json_decref(res);
	/* Plain on the plain bind still works. */
	m3 = tc_connect(bp);
	res = login_ok(m3, "P3");
	json_decref(res);
	/* Plain on the TLS bind is refused (closed by the handshake). */
	m4 = tc_connect(tp);
	tc_send(m4, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\","
	    "\"params\":{\"login\":\"P4\",\"pass\":\"x\"}}");
	cr_assert(tc_wait_closed(m4, T), "plain miner accepted on a TLS bind");

	tc_close(m1);
	tc_close(m2);
	tc_close(m3);
	tc_close(m4);
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
	free(cert);
	free(key);
	free(want);
}

Test(tls, pool_fingerprint_pinning_and_failover)
{
	int		 bad = free_port(), good = free_port(), bp = free_port();
	struct tlisten	*tl_bad = tl_listen(bad), *tl_good = tl_listen(good);
	struct proxy	*p = proxy_new();
	struct tconn	*pc_bad, *pc_good;
	char		*cfg, *cert, *key, *fp;
	json_t		*login;
	struct tjob	 job;

	tls_make_certs(p->dir, "pool");
	cert = path_in(p, "pool-cert.pem");
	key = path_in(p, "pool-key.pem");
	fp = cert_fingerprint(cert);
	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":["
	    "{\"url\":\"stratum+ssl://127.0.0.1:%d\",\"tls-fingerprint\":"
	    "\"%064d\"},{\"url\":\"127.0.0.1:%d\",\"tls\":true,"
	    "\"tls-fingerprint\":\"%s\"}],\"retries\":5,\"retry-pause\":1,"
	    "\"watch\":false}", bp, bad, 0, good, fp) != -1);
	proxy_write_config(p, cfg);
	proxy_launch(p);
	cr_assert(proxy_wait_log(p, "type=ready", 10000));

	/* The pinned primary presents a certificate that does not match:
	 * logged with both fingerprints, and the backup is used at once
	 * although retries is 5. */
	pc_bad = tl_accept(tl_bad, T);
	cr_assert(pc_bad != NULL);
	tc_tls_server(pc_bad, cert, key);
	cr_assert(proxy_wait_log(p, "fingerprint mismatch", T));
	cr_assert(proxy_log_count(p, fp) >= 1, "actual fingerprint not logged");
	pc_good = tl_accept(tl_good, T);
	cr_assert(pc_good != NULL, "backup not tried after a pin mismatch");
	cr_assert(tc_tls_server(pc_good, cert, key));
	login = pool_expect_login(pc_good, T);
	tjob_default(&job, "g1");
	pool_send_login_ok(pc_good, login, "GS", &job);
	json_decref(login);
	cr_assert(proxy_wait_log(p, "state=up", T));

	tc_close(pc_bad);
	tc_close(pc_good);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl_bad);
	tl_close(tl_good);
	free(cfg);
	free(cert);
	free(key);
	free(fp);
}

/* tls-verify: run against a CA the daemon trusts (SSL_CERT_FILE). */
static void
verify_case(int trust)
{
	int		 pp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	struct proxy	*p = proxy_new();
	struct tconn	*pc;
	char		*cfg, *cert, *key, *ca;
	json_t		*login;

	tls_make_certs(p->dir, "pool");
	tls_make_certs(p->dir, "other");
	cert = path_in(p, "pool-cert.pem");
	key = path_in(p, "pool-key.pem");
	ca = path_in(p, trust ? "pool-ca.pem" : "other-ca.pem");
	setenv("SSL_CERT_FILE", ca, 1);
	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":["
	    "{\"url\":\"stratum+ssl://127.0.0.1:%d\",\"tls-verify\":true}],"
	    "\"watch\":false}", bp, pp) != -1);
	proxy_write_config(p, cfg);
	proxy_launch(p);
	cr_assert(proxy_wait_log(p, "type=ready", 10000));
	pc = tl_accept(tl, T);
	cr_assert(pc != NULL);
	tc_tls_server(pc, cert, key);
	if (trust) {
		login = pool_expect_login(pc, T);
		cr_assert(login != NULL, "no login over a verified chain");
		json_decref(login);
	} else {
		cr_assert(proxy_wait_log(p, "reason=tls", T),
		    "an untrusted chain was accepted");
		cr_assert(tc_recv_line(pc, 300) == NULL);
	}
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
	free(cert);
	free(key);
	free(ca);
}

Test(tls, verify_trusted_ca_passes)
{
	verify_case(1);
}

Test(tls, verify_untrusted_ca_fails)
{
	verify_case(0);
}

Test(tls, certificate_rotation_on_sighup)
{
	int		 pp = free_port(), tp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	struct proxy	*p = proxy_new();
	struct tconn	*pc, *old, *fresh;
	char		*cfg, *fa, *fb, *ca, *cb, fp[65];
	const char	*tmpl = "{\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d,"
	    "\"tls\":true}],\"tls\":{\"enabled\":true,\"cert\":\"%s\","
	    "\"cert_key\":\"%s\"},\"pools\":[{\"url\":\"127.0.0.1:%d\"}],"
	    "\"watch\":false}";
	json_t		*res, *ka;

	tls_make_certs(p->dir, "a");
	tls_make_certs(p->dir, "b");
	ca = path_in(p, "a-cert.pem");
	cb = path_in(p, "b-cert.pem");
	fa = cert_fingerprint(ca);
	fb = cert_fingerprint(cb);
	cr_assert(asprintf(&cfg, tmpl, tp, "a-cert.pem", "a-key.pem", pp) != -1);
	proxy_write_config(p, cfg);
	free(cfg);
	proxy_launch(p);
	cr_assert(proxy_wait_log(p, "type=ready", 10000));
	pc = pool_accept_one(tl, "PS", "c1");

	old = tc_connect(tp);
	cr_assert(tc_tls_client(old, NULL, NULL, fp));
	cr_assert_str_eq(fp, fa);
	res = login_ok(old, "OLD");

	/* Rotate: new certificate, SIGHUP. */
	cr_assert(asprintf(&cfg, tmpl, tp, "b-cert.pem", "b-key.pem", pp) != -1);
	proxy_write_config(p, cfg);
	free(cfg);
	proxy_signal(p, SIGHUP);
	cr_assert(proxy_wait_log(p, "type=reload status=done", T));
	fresh = tc_connect(tp);
	cr_assert(tc_tls_client(fresh, NULL, NULL, fp));
	cr_assert_str_eq(fp, fb, "new connections do not see the new cert");
	tc_close(fresh);

	/* A broken certificate: the reload fails, the current one stays. */
	proxy_write_file(p, "bad.pem", "not a certificate\n");
	cr_assert(asprintf(&cfg, tmpl, tp, "bad.pem", "b-key.pem", pp) != -1);
	proxy_write_config(p, cfg);
	free(cfg);
	proxy_signal(p, SIGHUP);
	cr_assert(proxy_wait_log(p, "type=reload status=failed", T));
	cr_assert(proxy_log_count(p, "tls.cert") >= 1, "reason not logged");
	fresh = tc_connect(tp);
	cr_assert(tc_tls_client(fresh, NULL, NULL, fp));
	cr_assert_str_eq(fp, fb);
	tc_close(fresh);

	/* The session from before the rotation is untouched. */
	cr_assert(tc_send(old, "{\"id\":9,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"keepalived\",\"params\":{\"id\":\"%s\"}}",
	    json_string_value(json_object_get(res, "id"))));
	ka = tc_recv_reply(old, 9, T);
	cr_assert(ka != NULL, "old TLS session dropped by the rotation");
	json_decref(ka);
	json_decref(res);
	tc_close(old);
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(fa);
	free(fb);
	free(ca);
	free(cb);
}

/*
 * tls.enabled without a certificate, as in xmrig-proxy's shipped file:
 * the daemon warns, serves a self-signed certificate made in memory for
 * tls.gen, logs miners in over it, and keeps it across a reload.
 */
Test(tls, enabled_without_certificate_self_signed)
{
	int		 pp = free_port(), tp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	struct proxy	*p;
	struct tconn	*pc, *mc;
	char		*cfg, fp1[65], fp2[65];
	json_t		*res;

	cr_assert(asprintf(&cfg, "{\"bind\":[{\"host\":\"127.0.0.1\","
	    "\"port\":%d,\"tls\":true}],\"tls\":{\"enabled\":true,"
	    "\"cert\":null,\"cert_key\":null,\"gen\":\"proxy.test\"},"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\"}],\"watch\":false}", tp,
	    pp) != -1);
	p = proxy_start(cfg);
	cr_assert(proxy_wait_log(p, "self-signed certificate", 0),
	    "no warning about the self-signed certificate");
	pc = pool_accept_one(tl, "PS", "c1");

	mc = tc_connect(tp);
	cr_assert(tc_tls_client(mc, NULL, NULL, fp1), "no TLS handshake");
	res = login_ok(mc, "OVER-TLS");
	json_decref(res);
	tc_close(mc);

	proxy_signal(p, SIGHUP);
	cr_assert(proxy_wait_log(p, "type=reload status=done", T));
	mc = tc_connect(tp);
	cr_assert(tc_tls_client(mc, NULL, NULL, fp2));
	cr_assert_str_eq(fp1, fp2, "the reload changed the certificate");
	tc_close(mc);

	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

Test(tls, certificate_without_key_is_an_error)
{
	char	*out = NULL;
	int	 rc;

	rc = proxy_start_expect_fail("{\"bind\":[\"127.0.0.1:1\"],\"tls\":"
	    "{\"enabled\":true,\"cert\":\"c.pem\"},\"pools\":[{\"url\":"
	    "\"127.0.0.1:2\"}]}", &out);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(out, "tls.cert_key") != NULL, "output: %s", out);
	free(out);
}

TestSuite(backpressure, .timeout = 90);

/* VmRSS of a process in kB. */
static long
rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

Test(backpressure, stuck_reader_is_closed_memory_flat)
{
	int		 pp = free_port(), bp = free_port(), small = 4096, i;
	struct tlisten	*tl = tl_listen(pp);
	char		*cfg = config_basic(bp, pp, "\"miner-output-limit\":16384");
	struct proxy	*p = proxy_start(cfg);
	struct tconn	*pc, *stuck, *good;
	struct tjob	 job;
	char		 id[32];
	long		 before, after;
	json_t		*res, *msg;
	bool		 closed = false;

	pc = pool_accept_one(tl, "PS", "b0");
	stuck = tc_connect(bp);
	setsockopt(stuck->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	res = login_ok(stuck, "STUCK");
	json_decref(res);
	good = tc_connect(bp);
	res = login_ok(good, "GOOD");
	json_decref(res);
	before = rss_kb(proxy_pid(p));

	/* Jobs keep coming; the stuck miner never reads. */
	tjob_default(&job, "x");
	for (i = 1; i <= 60000 && !closed; i++) {
		snprintf(id, sizeof id, "b%d", i);
		job.job_id = id;
		pool_send_job(pc, &job);
		if (i % 500 == 0) {
			/* The reading miner keeps up and stays connected. */
			while ((msg = tc_recv(good, 0)) != NULL)
				json_decref(msg);
			closed = proxy_log_count(p, "output limit reached") > 0;
		}
	}
	cr_assert(closed || proxy_wait_log(p, "output limit reached", T),
	    "a stuck reader was never closed");
	after = rss_kb(proxy_pid(p));
#ifndef __SANITIZE_ADDRESS__
	/* Under ASan freed memory sits in quarantine, so RSS is no measure. */
	cr_assert(after - before < 8 * 1024, "RSS grew %ld kB", after - before);
#else
	(void)before;
	(void)after;
#endif
	cr_assert(proxy_log_count(p, "user=GOOD state=ready reason") == 0,
	    "the reading miner was closed too");
	/* The reading miner still gets jobs. */
	job.job_id = "final";
	pool_send_job(pc, &job);
	bool seen = false;
	while (!seen && (msg = tc_recv(good, T)) != NULL) {
		const char *jid = json_string_value(json_object_get(
		    json_object_get(msg, "params"), "job_id"));
		seen = jid != NULL && strcmp(jid, "final") == 0;
		json_decref(msg);
	}
	if (!seen)
		proxy_dump_log(p);
	cr_assert(seen, "the reading miner stopped getting jobs");
	tc_close(stuck);
	tc_close(good);
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}
