/*
 * test_proxyproto.cc: binds behind a proxy that speaks the PROXY
 * protocol (src/listener.cc, src/proxyproto.cc).
 *
 * haproxy_two_nodes: a real HAProxy (started here on loopback, with a
 * config written into a temp folder) in front of two sluice processes
 * with send-proxy-v2 and check-send-proxy, a real redis-server for the
 * shared bans. Miners from 127.0.0.5 and 127.0.0.6 appear with those
 * addresses in /1/miners; a rate-limit ban on one node refuses the
 * address on the other. refused: one node, headers sent by hand: an
 * untrusted source, malformed headers and a slow one are closed and
 * counted; a header with the login in the same packet, and a header
 * before a TLS handshake, work.
 *
 * haproxy and redis-server must be installed (contrib/deps.sh does it);
 * a missing one fails the test. No sleeps: every wait is on a socket, a
 * log line or an API value, against a deadline.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rserver.h"

#define WAIT_MS		5000

TestSuite(proxyproto, .timeout = 90);

/* A haproxy the test started. */
struct hap {
	pid_t	 pid;
	int	 outfd;
	char	*out;
	size_t	 outlen;
	char	*dir;
};

/* Read what haproxy printed so far (or within ms). */
static void
hap_drain(struct hap *h, int ms)
{
	struct pollfd	 pfd = { h->outfd, POLLIN, 0 };
	char		 buf[4096];
	ssize_t		 n;

	if (h->outfd == -1 || poll(&pfd, 1, ms) <= 0)
		return;
	while ((n = read(h->outfd, buf, sizeof buf)) > 0) {
		h->out = (char *)realloc(h->out, h->outlen + (size_t)n + 1);
		cr_assert(h->out != NULL);
		memcpy(h->out + h->outlen, buf, (size_t)n);
		h->outlen += (size_t)n;
		h->out[h->outlen] = '\0';
	}
	if (n == 0) {
		close(h->outfd);
		h->outfd = -1;
	}
}

/* How many times haproxy said needle. */
static int
hap_count(struct hap *h, const char *needle)
{
	const char	*p = h->out;
	int		 n = 0;

	while (p != NULL && (p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/*
 * Start haproxy in the foreground on 127.0.0.1:front, balancing by
 * source over the two sluice binds with send-proxy-v2, health checks
 * that send the PROXY header too; wait until both servers passed their
 * first check (which also means the frontend listens).
 */
static struct hap *
hap_start(int front, int b1, int b2)
{
	const char	*tmp = getenv("TMPDIR");
	char		*cfg, *path;
	const char	*argv[6];
	struct hap	*h;
	pid_t		 parent = getpid();
	int64_t		 deadline = now_ms() + 15000;
	int		 fds[2], null;
	FILE		*f;

	cr_assert(in_path("haproxy"), "haproxy is not installed (not in "
	    "$PATH): the PROXY protocol tests need it; contrib/deps.sh "
	    "installs the Debian package haproxy");
	h = (struct hap *)calloc(1, sizeof *h);
	cr_assert(h != NULL);
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	cr_assert(asprintf(&h->dir, "%s/sluice-haproxy.XXXXXX", tmp) != -1);
	cr_assert(mkdtemp(h->dir) != NULL, "mkdtemp: %s", strerror(errno));
	cr_assert(asprintf(&path, "%s/haproxy.cfg", h->dir) != -1);
	cr_assert(asprintf(&cfg,
	    "global\n"
	    "\tlog stdout format raw local0 info\n"
	    "\tmaxconn 200\n"
	    "defaults\n"
	    "\tmode tcp\n"
	    "\tlog global\n"
	    "\toption log-health-checks\n"
	    "\ttimeout connect 2s\n"
	    "\ttimeout client 60s\n"
	    "\ttimeout server 60s\n"
	    "frontend stratum\n"
	    "\tbind 127.0.0.1:%d\n"
	    "\tdefault_backend sluice\n"
	    "backend sluice\n"
	    "\tbalance source\n"
	    "\tserver n1 127.0.0.1:%d send-proxy-v2 check check-send-proxy "
	    "inter 1s\n"
	    "\tserver n2 127.0.0.1:%d send-proxy-v2 check check-send-proxy "
	    "inter 1s\n", front, b1, b2) != -1);
	f = fopen(path, "w");
	cr_assert(f != NULL, "%s: %s", path, strerror(errno));
	fputs(cfg, f);
	fclose(f);
	free(cfg);

	argv[0] = "haproxy";
	argv[1] = "-db";
	argv[2] = "-f";
	argv[3] = path;
	argv[4] = NULL;
	cr_assert(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	h->pid = fork();
	cr_assert(h->pid != -1, "fork: %s", strerror(errno));
	if (h->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close_range(3, ~0U, 0);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "exec haproxy: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	h->outfd = fds[0];
	free(path);
	while (hap_count(h, "Health check for server sluice/n1 succeeded") ==
	    0 || hap_count(h, "Health check for server sluice/n2 succeeded") ==
	    0) {
		cr_assert(h->outfd != -1 && left_ms(deadline) > 0,
		    "haproxy did not start or its checks failed:\n%s",
		    h->out != NULL ? h->out : "(no output)");
		hap_drain(h, left_ms(deadline));
	}
	return h;
}

static int
hap_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Stop haproxy (SIGTERM, reaped), remove its folder. */
static void
hap_free(struct hap *h)
{
	int	 status;

	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		while (waitpid(h->pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	if (h->outfd != -1)
		close(h->outfd);
	nftw(h->dir, hap_rm, 8, FTW_DEPTH | FTW_PHYS);
	free(h->dir);
	free(h->out);
	free(h);
}

/* The body of GET path (status 200 required). */
static char *
api_get(int port, const char *path)
{
	struct hresp	*r = http_request(port, "GET", path, NULL, NULL);
	char		*body;

	cr_assert_eq(r->status, 200, "GET %s: %d\n%s", path, r->status,
	    r->body);
	body = strdup(r->body);
	cr_assert(body != NULL);
	hresp_free(r);
	return body;
}

/* The value of one /metrics sample (the line starting with name), or -1. */
static long long
metric(int port, const char *name)
{
	char		*body = api_get(port, "/metrics"), *p = body;
	long long	 v = -1;
	size_t		 n = strlen(name);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			break;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	free(body);
	return v;
}

/* The addresses in /1/miners, as one string "ip ip ...". */
static char *
miner_ips(int port)
{
	char		*body = api_get(port, "/1/miners"), *s = NULL;
	json_error_t	 err;
	json_t		*o = json_loads(body, 0, &err), *row;
	size_t		 i, len = 0;
	FILE		*f = open_memstream(&s, &len);

	cr_assert(o != NULL, "/1/miners: %s", body);
	json_array_foreach(json_object_get(o, "miners"), i, row)
		fprintf(f, "%s ", json_string_value(json_array_get(row, 1)));
	fclose(f);
	json_decref(o);
	free(body);
	return s;
}

/* Wait until ip is a miner of either node (p: the daemon to drain). */
static bool
wait_miner_ip(struct proxy *p, int h1, int h2, const char *ip, int ms)
{
	int64_t		 deadline = now_ms() + ms;
	char		*a, *b, want[70];
	bool		 found;

	snprintf(want, sizeof want, "%s ", ip);
	for (;;) {
		a = miner_ips(h1);
		b = miner_ips(h2);
		found = strstr(a, want) != NULL || strstr(b, want) != NULL;
		free(a);
		free(b);
		if (found || left_ms(deadline) == 0)
			return found;
		proxy_drain(p, 20);
	}
}

/*
 * A v1 header for a TCP4 client ip:port, in two writes; false when the
 * proxy closed first (as it does an untrusted source).
 */
static bool
send_v1_try(struct tconn *c, const char *ip, int port)
{
	return tc_send_raw(c, "PROXY TCP4 ", 11) &&
	    tc_send(c, "%s 127.0.0.1 %d 3333\r", ip, port);
}

/* The same, which must get through. */
static void
send_v1(struct tconn *c, const char *ip, int port)
{
	cr_assert(send_v1_try(c, ip, port), "the proxy closed on a header");
}

/* A node config: a PROXY bind, rate limit 2 a minute, the fleet. */
static char *
node_config(int bind, int pool, int http, const char *name, int redis,
    const char *bindextra)
{
	char	*cfg;

	cr_assert(asprintf(&cfg, "{\"mode\":\"nicehash\",\"watch\":false,"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"WALLET\","
	    "\"pass\":\"x\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"bind\":[{\"host\":\"127.0.0.1\","
	    "\"port\":%d,\"proxy-protocol\":true,"
	    "\"proxy-protocol-from\":[\"127.0.0.1\"]%s}],"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d},"
	    "\"api\":{\"worker-id\":\"%s\"},"
	    "\"rate-limit\":{\"max-connections-per-minute\":2,"
	    "\"ban-duration\":120},"
	    "\"fleet\":{\"redis\":\"redis://127.0.0.1:%d/0\"}}",
	    pool, bind, bindextra != NULL ? bindextra : "", http, name,
	    redis) != -1);
	return cfg;
}

Test(proxyproto, haproxy_two_nodes)
{
	struct rsrv	*rs = rs_start(0, NULL);
	int		 b1 = free_port(), b2 = free_port(), h1 = free_port(),
			 h2 = free_port(), front = free_port();
	struct tlisten	*tl = tl_listen(0);
	struct proxy	*n1, *n2;
	struct tconn	*pc1, *pc2, *m5, *m6, *c[3], *x, *ok;
	struct hap	*hp;
	char		*cfg;
	json_t		*r;
	int		 i;

	cfg = node_config(b1, tl->port, h1, "node-1", rs->port, NULL);
	n1 = proxy_start(cfg);
	free(cfg);
	json_decref(pool_login_of(tl, &pc1));
	cfg = node_config(b2, tl->port, h2, "node-2", rs->port, NULL);
	n2 = proxy_start(cfg);
	free(cfg);
	json_decref(pool_login_of(tl, &pc2));
	cr_assert(proxy_wait_log(n1, "type=redis status=up", WAIT_MS));
	cr_assert(proxy_wait_log(n2, "type=redis status=up", WAIT_MS));
	hp = hap_start(front, b1, b2);

	/* Through HAProxy: each miner has its own address on its node. */
	m5 = tc_connect_from("127.0.0.5", front);
	r = miner_login(m5, "W5", "x", NULL, WAIT_MS);
	cr_assert(r != NULL && jget(r, "result.job") != NULL,
	    "login through haproxy: %s", jtext(r));
	json_decref(r);
	m6 = tc_connect_from("127.0.0.6", front);
	r = miner_login(m6, "W6", "x", NULL, WAIT_MS);
	cr_assert(r != NULL && jget(r, "result.job") != NULL,
	    "login through haproxy: %s", jtext(r));
	json_decref(r);
	cr_assert(wait_miner_ip(n1, h1, h2, "127.0.0.5", WAIT_MS),
	    "127.0.0.5 is not a miner of either node");
	cr_assert(wait_miner_ip(n1, h1, h2, "127.0.0.6", WAIT_MS),
	    "127.0.0.6 is not a miner of either node");
	/* HAProxy's own address is nobody's miner. */
	cr_assert(!wait_miner_ip(n1, h1, h2, "127.0.0.1", 0));

	/*
	 * 127.0.0.7 connects three times to node 1 (rate 2 a minute): the
	 * third is refused and banned there; node 2 hears of it.
	 */
	for (i = 0; i < 3; i++) {
		c[i] = tc_connect(b1);
		send_v1(c[i], "127.0.0.7", 4000 + i);
		tc_send(c[i], "{\"id\":1,\"method\":\"keepalived\"}");
	}
	cr_assert(tc_wait_closed(c[2], WAIT_MS), "the third was not refused");
	cr_assert(proxy_wait_log(n1, "type=ip_banned ip=127.0.0.7", WAIT_MS));
	cr_assert(proxy_wait_log(n2, "type=ip_banned ip=127.0.0.7 "
	    "seconds=120 reason=fleet", 2000),
	    "node 2 did not take node 1's ban within 2 s");
	/* On node 2 the address is refused at once; another is not. */
	x = tc_connect(b2);
	send_v1(x, "127.0.0.7", 5000);
	tc_send(x, "{\"id\":1,\"method\":\"login\",\"params\":"
	    "{\"login\":\"W7\",\"pass\":\"x\"}}");
	cr_assert(tc_wait_closed(x, WAIT_MS),
	    "node 2 let a banned address in");
	ok = tc_connect(b2);
	send_v1(ok, "127.0.0.8", 5001);
	r = miner_login(ok, "W8", "x", NULL, WAIT_MS);
	cr_assert(r != NULL && jget(r, "result.job") != NULL,
	    "127.0.0.8 on node 2: %s", jtext(r));
	json_decref(r);
	cr_assert_geq(metric(h2, "sluice_ratelimit_denied_total"), 1);

	/* The health checks sent LOCAL headers: never miners, never bans. */
	cr_assert_eq(proxy_log_count(n1, "type=ip_banned ip=127.0.0.1 "), 0);
	cr_assert_eq(hap_count(hp, "is DOWN"), 0, "%s", hp->out);

	for (i = 0; i < 3; i++)
		tc_close(c[i]);
	tc_close(x);
	tc_close(ok);
	tc_close(m5);
	tc_close(m6);
	hap_free(hp);
	cr_assert_eq(proxy_stop(n1), 0);
	cr_assert_eq(proxy_stop(n2), 0);
	proxy_free(n1);
	proxy_free(n2);
	tc_close(pc1);
	tc_close(pc2);
	tl_close(tl);
	rs_free(rs);
}

Test(proxyproto, refused)
{
	int		 b = free_port(), t = free_port(), h = free_port();
	struct tlisten	*tl = tl_listen(0);
	struct proxy	*p = proxy_new();
	struct tconn	*pc, *c;
	char		*cfg, fp[65];
	json_t		*r;

	tls_make_certs(p->dir, "srv");
	cr_assert(asprintf(&cfg, "{\"bind\":[{\"host\":\"127.0.0.1\","
	    "\"port\":%d,\"proxy-protocol\":true,\"proxy-protocol-from\":"
	    "[\"127.0.0.1/32\",\"::1\"],\"proxy-protocol-timeout\":1},"
	    "{\"host\":\"127.0.0.1\",\"port\":%d,\"tls\":true,"
	    "\"proxy-protocol\":true}],"
	    "\"tls\":{\"enabled\":true,\"cert\":\"srv-cert.pem\","
	    "\"cert_key\":\"srv-key.pem\"},"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d},"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\"}],\"watch\":false}", b, t,
	    h, tl->port) != -1);
	proxy_write_config(p, cfg);
	proxy_launch(p);
	cr_assert(proxy_wait_log(p, "type=ready", 10000));
	json_decref(pool_login_of(tl, &pc));

	/* A valid header from an untrusted source. */
	c = tc_connect_from("127.0.0.9", b);
	(void)send_v1_try(c, "10.9.9.9", 1234);	/* closed at accept */
	cr_assert(tc_wait_closed(c, WAIT_MS), "untrusted source kept");
	tc_close(c);
	/* A stratum line with no header. */
	c = tc_connect(b);
	tc_send(c, "{\"id\":1,\"method\":\"login\",\"params\":"
	    "{\"login\":\"W\",\"pass\":\"x\"}}");
	cr_assert(tc_wait_closed(c, WAIT_MS), "no header, kept");
	cr_assert_eq(c->inlen, 0);
	tc_close(c);
	/* A v1 header missing its ports. */
	c = tc_connect(b);
	cr_assert(tc_send(c, "PROXY TCP4 10.0.0.1 10.0.0.2\r"));
	cr_assert(tc_wait_closed(c, WAIT_MS), "malformed header kept");
	tc_close(c);
	/* A v2 header whose version nibble is 1. */
	c = tc_connect(b);
	cr_assert(tc_send_raw(c, "\r\n\r\n\0\r\nQUIT\n\x11\x11\x00\x0c", 16));
	cr_assert(tc_wait_closed(c, WAIT_MS), "bad v2 header kept");
	tc_close(c);
	/* Half a header, then nothing: closed after the 1 s deadline. */
	c = tc_connect(b);
	cr_assert(tc_send_raw(c, "PROXY TCP4 10.", 14));
	cr_assert(!tc_wait_closed(c, 500), "closed before the deadline");
	cr_assert(tc_wait_closed(c, WAIT_MS), "slow header kept");
	tc_close(c);
	cr_assert_eq(metric(h, "sluice_connections_closed_total"
	    "{reason=\"proxy_untrusted\"}"), 1);
	cr_assert_eq(metric(h, "sluice_connections_closed_total"
	    "{reason=\"proxy_bad_header\"}"), 3);
	cr_assert_eq(metric(h, "sluice_connections_closed_total"
	    "{reason=\"proxy_timeout\"}"), 1);
	cr_assert(proxy_wait_log(p, "proxy_bad_header=", WAIT_MS),
	    "the miners line does not count them");

	/* The header and the login in one packet: the login is read. */
	c = tc_connect(b);
	cr_assert(tc_send(c, "PROXY TCP4 10.1.2.3 127.0.0.1 4242 3333\r\n"
	    "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":\"login\",\"params\":"
	    "{\"login\":\"W1\",\"pass\":\"x\"}}"));
	r = tc_recv_reply(c, 1, WAIT_MS);
	cr_assert(r != NULL && jget(r, "result.job") != NULL, "login: %s",
	    jtext(r));
	json_decref(r);
	cr_assert(wait_miner_ip(p, h, h, "10.1.2.3", WAIT_MS));
	tc_close(c);
	/* The header, then TLS: the handshake and the login work. */
	c = tc_connect(t);
	send_v1(c, "10.4.5.6", 4343);
	cr_assert(tc_tls_client(c, NULL, "localhost", fp),
	    "TLS after the PROXY header failed");
	r = miner_login(c, "W2", "x", NULL, WAIT_MS);
	cr_assert(r != NULL && jget(r, "result.job") != NULL, "TLS login: %s",
	    jtext(r));
	json_decref(r);
	cr_assert(wait_miner_ip(p, h, h, "10.4.5.6", WAIT_MS));
	tc_close(c);

	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tc_close(pc);
	tl_close(tl);
	free(cfg);
}
