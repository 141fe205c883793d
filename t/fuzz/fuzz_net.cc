/*
 * fuzz_net.cc: the daemon in-process for the network fuzz targets (see
 * fuzz_net.h). The daemon's objects are the real ones (every src/ file but
 * main.cc); this file only does main.cc's set-up and plays the peers.
 *
 * Global state that outlives one input, and why it is harmless:
 *  - the one upstream and its pool connection (fuzz_pool replaces the
 *    connection each input; fuzz_miner pushes two jobs after each input,
 *    so every input starts on job fz-1 with fz-0 as the previous one,
 *    empty nonce sets and all 256 slots free, and only the slot cursor
 *    moves: the targets substitute the slot they were given);
 *  - the worker table (bounded by workers-max), the share free list,
 *    stats counters, the clock when a target ticks it forward, miner and
 *    pool ids, and stratum_random_hex()'s pool: all reachable, bounded.
 * Every miner is closed and reaped and every share ended before an input
 * returns (fuzz_net_check_idle), so libFuzzer's leak check (-detect_leaks)
 * sees a per-input leak for what it is. At exit, the daemon is stopped
 * the way main.cc stops it and everything is freed.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <arpa/inet.h>

#include <dlfcn.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "api.h"
#include "capture.h"
#include "config.h"
#include "events.h"
#include "miner.h"
#include "policy.h"
#include "share.h"
#include "stats.h"
#include "tls.h"
#include "upstream.h"

#include "fuzz_net.h"

#define FUZZ_NET_TURNS	2000	/* loop turns before settle gives up */
#define FUZZ_NET_QUIET	2	/* idle turns that mean settled */
#define FUZZ_NET_POOLS	8	/* fake pool connections at once */
#define FUZZ_NET_LINE	65536	/* what a fake pool connection buffers */
#define FUZZ_NET_SNDBUF	4096	/* a miner socket's send buffer */
#define FUZZ_NET_API_MAX (4 << 20)	/* API answers kept for checking */

/* A 76-byte blob, zero nonce (bytes 39..42), as a pool sends it. */
#define FUZZ_NET_BLOB							\
	"1010c2d3b6c806a6a4c1e7b3a3bcb7d10f8b6f1e5de0c8b5ba2e7d0f3d1c6b"	\
	"4a9e0f7d2c81b3000000000a1f5c3e9b8d7a6f5e4d3c2b1a09f8e7d6c5b4a3"	\
	"92817f6e5d4c3b2a19081726354403"
#define FUZZ_NET_SEED							\
	"6f1d8b9a3c5e7f20416283a4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"

/* The far end of a miner's socketpair. */
struct fuzz_peer {
	int	 fd;		/* ours, or -1 */
	int	 dfd;		/* the daemon's end, to find its miner */
	char	*in;		/* what the daemon sent, not yet a line */
	size_t	 inlen;
};

/* One connection the daemon made to the fake pool. */
struct fuzz_pconn {
	int	 fd;
	char	*in;		/* bytes not yet a line */
	size_t	 inlen;
	int	 login;		/* the login line arrived */
	long long login_id;
	int	 answered;	/* its login was answered */
	int	 hungup;	/* we shut down our side: only reading */
};

static struct fuzz_peer	 peers[FUZZ_NET_MINERS];
static struct fuzz_pconn pconns[FUZZ_NET_POOLS];
static int		 npconns;
static int		 pool_lfd = -1;
static int		 pool_port;
static int		 pool_is_auto = 1;
static int		 pool_rejects;
static int		 api_fd = -1;
static int		 api_old_fd = -1;	/* hung up, read until EOF */
static char		*api_out;		/* what the API answered */
static size_t		 api_outlen;
static int		 api_port;
static int		 api_lfd = -1;		/* holds api_port */
static struct sockaddr_un api_sun;	/* where evhttp really listens */
static socklen_t	 api_sunlen;
static int		 miners_read = 1;
static int		 base_verbose;
static int		 started;

static int	 fuzz_net_service(void);
static int	 fuzz_net_drain(int *, void (*)(void *, const char *, size_t),
		     void *);
static void	 fuzz_net_api_take(void *, const char *, size_t);
static void	 fuzz_net_miner_take(void *, const char *, size_t);
static int	 fuzz_net_pool_read(struct fuzz_pconn *);
static void	 fuzz_net_pool_line(struct fuzz_pconn *, char *, size_t);
static void	 fuzz_net_pool_send(struct fuzz_pconn *, const char *, size_t);
static void	 fuzz_net_pool_drop(int);
static void	 fuzz_net_pool_accept(int);
static struct fuzz_pconn *fuzz_net_pool_live(void);
static void	 fuzz_net_pool_free_all(void);
static void	 fuzz_net_job(char *, size_t, const char *);
static int	 fuzz_net_listen(int *);
static void	 fuzz_net_send(int, const char *, size_t);
static void	 fuzz_net_exit(void);

/* A loopback TCP listener on a free port; its descriptor, or exit. */
static int
fuzz_net_listen(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 fd, one = 1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("fuzz_net: listen");
		exit(1);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/*
 * A config snapshot for the fake pool: http is the "http" object (NULL:
 * off), extra more top-level keys (NULL: none). Written to a temporary
 * file, loaded by config_load(), the file removed.
 */
struct config *
fuzz_net_load_conf(const char *http, const char *extra)
{
	struct strlist	 errors = { NULL, 0 }, warnings = { NULL, 0 };
	struct config	*c;
	char		 path[] = "/tmp/sluice-fuzz-net.XXXXXX", *text;
	int		 fd, n;
	size_t		 i;

	n = xasprintf(&text, "{\n"
	    "\"mode\": \"nicehash\",\n"
	    "\"bind\": [\"127.0.0.1:3333\"],\n"
	    "\"pools\": [{\"url\": \"127.0.0.1:%d\", \"user\": \"fuzz-wallet\","
	    " \"pass\": \"fuzz-pool-pass\", \"rig-id\": \"fuzz-rig\","
	    " \"keepalive\": true}],\n"
	    "\"http\": %s,\n"
	    "\"retry-pause\": 0,\n"
	    "\"workers-max\": 64,\n"
	    "\"miner-output-limit\": 8192,\n"
	    "\"access-log-file\": \"/dev/null\",\n"
	    "\"share-log-file\": \"/dev/null\",\n"
	    "\"pid-file\": \"/dev/null\",\n"
	    "\"capture\": {\"enabled\": true, \"messages\": 64,"
	    " \"max-bytes\": 65536}%s%s\n}\n", pool_port,
	    http != NULL ? http : "{\"enabled\": false}",
	    extra != NULL ? ",\n" : "", extra != NULL ? extra : "");
	if ((fd = mkstemp(path)) == -1 || write(fd, text, (size_t)n) != n) {
		perror("fuzz_net: config file");
		exit(1);
	}
	close(fd);
	c = config_load(path, &errors, &warnings);
	unlink(path);
	for (i = 0; i < errors.n; i++)
		fprintf(stderr, "fuzz_net: %s\n", errors.v[i]);
	if (c == NULL) {
		fprintf(stderr, "fuzz_net: config:\n%s", text);
		exit(1);
	}
	free(text);
	strlist_clear(&errors);
	strlist_clear(&warnings);
	return c;
}

/*
 * The port of the API, for an "http" object. Held by a listener of ours
 * that never accepts: evhttp's bind() to it is redirected (below).
 */
int
fuzz_net_api_port(void)
{
	if (api_lfd == -1)
		api_lfd = fuzz_net_listen(&api_port);
	return api_port;
}

/*
 * Every connection between the daemon and its peers is a socketpair,
 * not loopback TCP: the kernel may hand loopback delivery to a softirq
 * thread, so a byte sent over TCP is not always readable at the other
 * end by the time the loop runs, and an input would not be one
 * deterministic exchange. The daemon's code is unchanged; only where
 * its sockets lead is:
 *
 *	connect() to the fake pool's 127.0.0.1:port puts one end of a
 *	socketpair in place of the daemon's socket (same descriptor,
 *	non-blocking, already connected) and gives the other end to the
 *	fake pool;
 *	bind() to the API's 127.0.0.1:port puts a Unix socket with an
 *	abstract name in place of evhttp's, which then listens and
 *	accepts there; the API client connects to that name.
 *
 * Any other address goes to the C library's function.
 */
static int
fuzz_net_is(const struct sockaddr *sa, socklen_t len, int port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)sa;

	return port != 0 && sa != NULL && len >= sizeof *sin &&
	    sa->sa_family == AF_INET && ntohs(sin->sin_port) == port &&
	    sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
}

/* The next definition of a libc function (after this executable's). */
static void *
fuzz_net_real(const char *name)
{
	void	*f;

	if ((f = dlsym(RTLD_NEXT, name)) == NULL) {
		fprintf(stderr, "fuzz_net: dlsym %s: %s\n", name, dlerror());
		abort();
	}
	return f;
}

/* Put newfd's socket in place of fd's; 0, or -1 with both closed. */
static int
fuzz_net_replace(int newfd, int fd)
{
	if (dup3(newfd, fd, O_CLOEXEC) == -1) {
		close(newfd);
		return -1;
	}
	close(newfd);
	return 0;
}

extern "C" int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int	(*real)(int, const struct sockaddr *, socklen_t);
	int		 sv[2];

	if (!fuzz_net_is(sa, len, pool_port)) {
		if (real == NULL)
			real = (int (*)(int, const struct sockaddr *,
			    socklen_t))fuzz_net_real("connect");
		return real(fd, sa, len);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		return -1;
	if (fuzz_net_replace(sv[0], fd) == -1) {
		close(sv[1]);
		return -1;
	}
	fuzz_net_pool_accept(sv[1]);
	return 0;
}

extern "C" int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int	(*real)(int, const struct sockaddr *, socklen_t);
	int		 u;

	if (real == NULL)
		real = (int (*)(int, const struct sockaddr *, socklen_t))
		    fuzz_net_real("bind");
	if (!fuzz_net_is(sa, len, api_port))
		return real(fd, sa, len);
	memset(&api_sun, 0, sizeof api_sun);
	api_sun.sun_family = AF_UNIX;
	/* Abstract (sun_path[0] is NUL): nothing in the file system. */
	snprintf(api_sun.sun_path + 1, sizeof api_sun.sun_path - 1,
	    "sluice-fuzz-api-%d", (int)getpid());
	api_sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(api_sun.sun_path + 1));
	if ((u = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (real(u, (struct sockaddr *)&api_sun, api_sunlen) == -1) {
		close(u);
		return -1;
	}
	return fuzz_net_replace(u, fd);
}

/*
 * Start the daemon as main.cc does, minus the listeners (miners come
 * through socketpairs), the signals and the 1-second tick (targets tick
 * by hand): the config c (taken over), the built-in policy, the event
 * base, the API when c enables it, then the splitter, whose upstream
 * connects to the fake pool and, the pool on auto, logs in.
 */
void
fuzz_net_start(struct config *c)
{
	struct strlist	 errors = { NULL, 0 };
	struct policy	*p;
	const char	*v;
	size_t		 i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < FUZZ_NET_MINERS; i++)
		peers[i].fd = peers[i].dfd = -1;
	if ((p = policy_load(c, &errors)) == NULL) {
		fprintf(stderr, "fuzz_net: policy_load failed\n");
		exit(1);
	}
	policy_swap(p);
	sl.conf = c;
	/* FUZZ_VERBOSE=2 logs every line (stderr), to replay a crash. */
	base_verbose = (v = getenv("FUZZ_VERBOSE")) != NULL ? atoi(v) : 0;
	log_init(1, base_verbose);
	if ((sl.base = event_base_new()) == NULL ||
	    (sl.dns = evdns_base_new(sl.base, 0)) == NULL) {
		fprintf(stderr, "fuzz_net: event_base_new failed\n");
		exit(1);
	}
	sl.now = sl.started = sluice_now();
	capture_start(c);
	if (api_start(c) != 0)
		exit(1);
	splitter_start();
	started = 1;
	atexit(fuzz_net_exit);
	fuzz_net_settle();
	if (pool_is_auto && (npconns != 1 || !pconns[0].answered ||
	    upstream_first() == NULL || !upstream_is_up(upstream_first()))) {
		fprintf(stderr, "fuzz_net: the upstream did not log in to the "
		    "fake pool\n");
		exit(1);
	}
}

/* The fake pool's listener, before any config names its port. */
void
fuzz_net_init(void)
{
	pool_lfd = fuzz_net_listen(&pool_port);
}

/*
 * Stop as main.cc's sluice_stop_check() and main() do, then free what
 * the harness holds, so that LeakSanitizer at exit reports only leaks.
 */
static void
fuzz_net_exit(void)
{
	int	 i;

	if (!started)
		return;
	started = 0;
	pool_is_auto = 0;
	fuzz_net_miner_close_all();
	fuzz_net_api_close();
	fuzz_net_settle();
	sl.stopping = 1;
	splitter_disconnect();
	miner_close_all(CLOSE_SHUTDOWN);
	splitter_stop();
	api_stop();
	events_stop();
	capture_stop();
	fuzz_net_settle();
	miner_shutdown();
	fuzz_net_pool_free_all();
	evdns_base_free(sl.dns, 0);
	event_base_free(sl.base);
	sl.base = NULL;
	policy_swap(NULL);
	tls_shutdown();
	config_unref(sl.conf);
	sl.conf = NULL;
	log_open_file(NULL);
	for (i = 0; i < FUZZ_NET_POOLS; i++)
		free(pconns[i].in);
	if (pool_lfd != -1)
		close(pool_lfd);
	pool_lfd = -1;
	if (api_lfd != -1)
		close(api_lfd);
	api_lfd = -1;
	if (api_old_fd != -1)
		close(api_old_fd);
	api_old_fd = -1;
	free(api_out);
	api_out = NULL;
	api_outlen = 0;
}

/* This input's verbosity on top of FUZZ_VERBOSE (2: every line). */
void
fuzz_net_verbose(int v)
{
	log_set_verbose(base_verbose > v ? base_verbose : v);
}

/*
 * Run the loop without blocking until nothing moves: no active event and
 * no byte read by a peer, for a few turns. Every socket is a socketpair
 * (see connect() and bind() above), whose bytes are readable at the
 * other end as soon as they are sent, so a quiet turn means idle. A
 * daemon still busy after many turns (a busy loop) is a failure.
 */
void
fuzz_net_settle(void)
{
	int	 busy = 0, quiet = 0;

	while (quiet < FUZZ_NET_QUIET) {
		event_base_loop(sl.base, EVLOOP_NONBLOCK);
		if (fuzz_net_service() || event_base_get_num_events(sl.base,
		    EVENT_BASE_COUNT_ACTIVE) > 0) {
			quiet = 0;
			if (++busy == FUZZ_NET_TURNS)
				fuzz_fail("the daemon did not settle in %d loop "
				    "turns", FUZZ_NET_TURNS);
		} else
			quiet++;
	}
}

/*
 * Advance the clock and run what main.cc's tick runs: miner, pool and
 * keepalive timeouts, GC, the log files, the rate limiter.
 */
void
fuzz_net_tick(int seconds)
{
	sl.now += seconds;
	miner_tick(sl.now);
	splitter_tick(sl.now);
	events_tick(sl.now);
	policy_tick(sl.now);
}

/*
 * Cut [0, len) into FUZZ_NET_CHUNKS pieces at the fractions cuts[0..2]
 * of 256 (sorted); piece k is off[k] .. off[k + 1].
 */
void
fuzz_net_cut(const uint8_t *cuts, size_t len, size_t off[FUZZ_NET_CHUNKS + 1])
{
	size_t	 i, j, t;

	off[0] = 0;
	for (i = 1; i < FUZZ_NET_CHUNKS; i++)
		off[i] = len * cuts[i - 1] / 256;
	off[FUZZ_NET_CHUNKS] = len;
	for (i = 1; i < FUZZ_NET_CHUNKS; i++) {
		for (j = i + 1; j < FUZZ_NET_CHUNKS; j++) {
			if (off[j] < off[i]) {
				t = off[i];
				off[i] = off[j];
				off[j] = t;
			}
		}
	}
}

/* Write all of buf to a socket, settling when it is full. */
static void
fuzz_net_send(int fd, const char *buf, size_t len)
{
	ssize_t	 n;
	int	 tries = 0;

	while (len > 0 && fd != -1) {
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    ++tries < 100) {
			fuzz_net_settle();
			continue;
		}
		return;		/* the daemon closed: the rest is lost */
	}
}

/*
 * Read what the daemon sent on *fdp and hand it to take (NULL: drop it);
 * 1 if anything (or EOF) came. On EOF or an error, close *fdp.
 */
static int
fuzz_net_drain(int *fdp, void (*take)(void *, const char *, size_t),
    void *arg)
{
	static char	 buf[65536];
	ssize_t		 n;
	int		 moved = 0;

	while (*fdp != -1) {
		n = recv(*fdp, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0) {
			moved = 1;
			if (take != NULL)
				take(arg, buf, (size_t)n);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)) {
			close(*fdp);
			*fdp = -1;
			moved = 1;
		}
		break;
	}
	return moved;
}

/* Keep what the API answers, for fuzz_net_api_check(). */
static void
fuzz_net_api_take(void *arg, const char *buf, size_t n)
{
	(void)arg;
	if (api_outlen + n > FUZZ_NET_API_MAX)
		return;
	api_out = (char *)xrealloc(api_out, api_outlen + n + 1);
	memcpy(api_out + api_outlen, buf, n);
	api_outlen += n;
	api_out[api_outlen] = '\0';
}

/*
 * What the daemon sends a miner: every complete line must be a JSON
 * object (a reply or a job). A line cut by a close (a slow reader's
 * backlog is dropped) is never complete, so it is not checked.
 */
static void
fuzz_net_miner_take(void *arg, const char *buf, size_t n)
{
	struct fuzz_peer	*p = (struct fuzz_peer *)arg;
	json_error_t		 err;
	json_t			*j;
	char			*nl, *l;

	if (p->inlen + n > FUZZ_NET_LINE)
		fuzz_fail("the daemon sent a miner a line over %d bytes",
		    FUZZ_NET_LINE);
	p->in = (char *)xrealloc(p->in, p->inlen + n + 1);
	memcpy(p->in + p->inlen, buf, n);
	p->inlen += n;
	l = p->in;
	while ((nl = (char *)memchr(l, '\n', p->inlen - (size_t)(l - p->in)))
	    != NULL) {
		if ((j = json_loadb(l, (size_t)(nl - l), JSON_REJECT_DUPLICATES,
		    &err)) == NULL || !json_is_object(j))
			fuzz_fail("the daemon sent a miner a line that is not "
			    "a JSON object (%s): %.*s", err.text,
			    (int)(nl - l < 600 ? nl - l : 600), l);
		json_decref(j);
		l = nl + 1;
	}
	p->inlen -= (size_t)(l - p->in);
	memmove(p->in, l, p->inlen);
}

/* One turn of every peer; 1 if any byte moved. */
static int
fuzz_net_service(void)
{
	int	 i, moved = 0;

	for (i = 0; i < npconns; i++) {
		if (fuzz_net_pool_read(&pconns[i])) {
			moved = 1;
			if (pconns[i].fd == -1)
				fuzz_net_pool_drop(i--);
		}
	}
	for (i = 0; i < FUZZ_NET_MINERS && miners_read; i++)
		moved |= fuzz_net_drain(&peers[i].fd, fuzz_net_miner_take,
		    &peers[i]);
	moved |= fuzz_net_drain(&api_fd, fuzz_net_api_take, NULL);
	moved |= fuzz_net_drain(&api_old_fd, fuzz_net_api_take, NULL);
	return moved;
}

/* A new connection from the daemon to the fake pool (connect()). */
static void
fuzz_net_pool_accept(int fd)
{
	struct fuzz_pconn	*pc;

	if (npconns == FUZZ_NET_POOLS)
		fuzz_fail("the daemon opened more than %d pool connections",
		    FUZZ_NET_POOLS);
	pc = &pconns[npconns++];
	free(pc->in);
	memset(pc, 0, sizeof *pc);
	pc->fd = fd;
}

/* Forget pool connection i (closed). */
static void
fuzz_net_pool_drop(int i)
{
	free(pconns[i].in);
	memmove(&pconns[i], &pconns[i + 1], (size_t)(npconns - i - 1) *
	    sizeof pconns[0]);
	npconns--;
	memset(&pconns[npconns], 0, sizeof pconns[0]);
}

/* Read a pool connection; its lines go to fuzz_net_pool_line. */
static int
fuzz_net_pool_read(struct fuzz_pconn *pc)
{
	static char	 buf[16384];
	char	*nl, *p;
	ssize_t	 n;
	int	 moved = 0;

	while (pc->fd != -1) {
		n = recv(pc->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK && errno != EINTR)) {
			close(pc->fd);
			pc->fd = -1;
			return 1;
		}
		if (n < 0)
			break;
		moved = 1;
		if (pc->inlen + (size_t)n > FUZZ_NET_LINE)
			fuzz_fail("the daemon sent the pool a line over %d "
			    "bytes", FUZZ_NET_LINE);
		pc->in = (char *)xrealloc(pc->in, pc->inlen + (size_t)n + 1);
		memcpy(pc->in + pc->inlen, buf, (size_t)n);
		pc->inlen += (size_t)n;
		p = pc->in;
		while ((nl = (char *)memchr(p, '\n',
		    pc->inlen - (size_t)(p - pc->in))) != NULL) {
			*nl = '\0';
			fuzz_net_pool_line(pc, p, (size_t)(nl - p));
			p = nl + 1;
		}
		pc->inlen -= (size_t)(p - pc->in);
		memmove(pc->in, p, pc->inlen);
	}
	return moved;
}

/* A job object for the fake pool's messages. */
static void
fuzz_net_job(char *buf, size_t cap, const char *job_id)
{
	snprintf(buf, cap, "{\"blob\":\"" FUZZ_NET_BLOB "\",\"job_id\":\"%s\","
	    "\"target\":\"ffffff00\",\"algo\":\"rx/0\",\"height\":3141592,"
	    "\"seed_hash\":\"" FUZZ_NET_SEED "\"}", job_id);
}

/*
 * A line the daemon sent the fake pool. What the daemon sends must be
 * JSON-RPC (it is the daemon's own output, so anything else is a bug).
 * On auto, a login is answered with a job, a submit with OK (or, when
 * rejecting, an error), a keepalived with its status.
 */
static void
fuzz_net_pool_line(struct fuzz_pconn *pc, char *line, size_t len)
{
	json_error_t	 err;
	json_t		*msg, *id, *method;
	const char	*name;
	char		 job[1024], out[2048];
	long long	 seq;
	int		 n;

	if ((msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL || !json_is_object(msg))
		fuzz_fail("the daemon sent the pool a line that is not a "
		    "JSON object: %.*s", (int)(len < 300 ? len : 300), line);
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	if (!json_is_integer(id) || !json_is_string(method))
		fuzz_fail("the daemon sent the pool a request without an "
		    "integer id or a method: %.*s", (int)(len < 300 ? len :
		    300), line);
	seq = json_integer_value(id);
	name = json_string_value(method);
	if (strcmp(name, "login") == 0) {
		pc->login = 1;
		pc->login_id = seq;
		if (pool_is_auto) {
			fuzz_net_job(job, sizeof job, FUZZ_NET_JOB_ID);
			n = snprintf(out, sizeof out, "{\"id\":%lld,\"jsonrpc\":"
			    "\"2.0\",\"error\":null,\"result\":{\"id\":"
			    "\"fz-pool-session\",\"job\":%s,\"extensions\":"
			    "[\"algo\",\"nicehash\",\"keepalive\"],"
			    "\"status\":\"OK\"}}\n", seq, job);
			fuzz_net_pool_send(pc, out, (size_t)n);
			pc->answered = 1;
		}
	} else if (pool_is_auto && strcmp(name, "submit") == 0) {
		if (pool_rejects)
			n = snprintf(out, sizeof out, "{\"id\":%lld,\"jsonrpc\":"
			    "\"2.0\",\"error\":{\"code\":-1,\"message\":"
			    "\"Low difficulty share\"}}\n", seq);
		else
			n = snprintf(out, sizeof out, "{\"id\":%lld,\"jsonrpc\":"
			    "\"2.0\",\"error\":null,\"result\":{\"status\":"
			    "\"OK\"}}\n", seq);
		fuzz_net_pool_send(pc, out, (size_t)n);
	} else if (pool_is_auto && strcmp(name, "keepalived") == 0) {
		n = snprintf(out, sizeof out, "{\"id\":%lld,\"jsonrpc\":\"2.0\","
		    "\"error\":null,\"result\":{\"status\":\"KEEPALIVED\"}}\n",
		    seq);
		fuzz_net_pool_send(pc, out, (size_t)n);
	}
	json_decref(msg);
}

/* Send bytes on a fake pool connection. */
static void
fuzz_net_pool_send(struct fuzz_pconn *pc, const char *buf, size_t len)
{
	fuzz_net_send(pc->fd, buf, len);
}

/* Answer logins, submits and keepalives (1), or only listen (0). */
void
fuzz_net_pool_auto(int on)
{
	pool_is_auto = on;
}

/* On auto, answer submits with an error (1) or OK (0). */
void
fuzz_net_pool_reject(int on)
{
	pool_rejects = on;
}

/* The newest pool connection we have not hung up, or NULL. */
static struct fuzz_pconn *
fuzz_net_pool_live(void)
{
	if (npconns == 0 || pconns[npconns - 1].hungup)
		return NULL;
	return &pconns[npconns - 1];
}

/* Open pool connections (the daemon's) that we have not hung up. */
int
fuzz_net_pool_count(void)
{
	int	 i, n = 0;

	for (i = 0; i < npconns; i++)
		n += !pconns[i].hungup;
	return n;
}

/* Has the newest pool connection sent its login, still unanswered? */
int
fuzz_net_pool_waiting(void)
{
	struct fuzz_pconn	*pc = fuzz_net_pool_live();

	return pc != NULL && pc->login && !pc->answered;
}

/* Answer the newest connection's login with job fz-1. */
void
fuzz_net_pool_login_reply(void)
{
	struct fuzz_pconn	*pc;
	char			 job[1024], out[2048];
	int			 n;

	if (!fuzz_net_pool_waiting())
		return;
	pc = fuzz_net_pool_live();
	fuzz_net_job(job, sizeof job, FUZZ_NET_JOB_ID);
	n = snprintf(out, sizeof out, "{\"id\":%lld,\"jsonrpc\":\"2.0\","
	    "\"error\":null,\"result\":{\"id\":\"fz-pool-session\",\"job\":%s,"
	    "\"extensions\":[\"algo\",\"keepalive\"],\"status\":\"OK\"}}\n",
	    pc->login_id, job);
	fuzz_net_pool_send(pc, out, (size_t)n);
	pc->answered = 1;
}

/* Push a job on the newest pool connection. */
void
fuzz_net_pool_job(const char *job_id)
{
	char	 job[1024], out[2048];
	int	 n;

	if (fuzz_net_pool_live() == NULL)
		return;
	fuzz_net_job(job, sizeof job, job_id);
	n = snprintf(out, sizeof out, "{\"jsonrpc\":\"2.0\",\"method\":\"job\","
	    "\"params\":%s}\n", job);
	fuzz_net_pool_send(fuzz_net_pool_live(), out, (size_t)n);
}

/* Bytes from the target, as the pool's, on the newest connection. */
void
fuzz_net_pool_write(const char *buf, size_t len)
{
	struct fuzz_pconn	*pc = fuzz_net_pool_live();

	if (pc != NULL)
		fuzz_net_send(pc->fd, buf, len);
}

/*
 * Hang up every pool connection: a FIN, then read until the daemon has
 * closed its side (so that settling waits for it).
 */
void
fuzz_net_pool_close_all(void)
{
	int	 i;

	for (i = 0; i < npconns; i++) {
		if (pconns[i].fd != -1 && !pconns[i].hungup)
			shutdown(pconns[i].fd, SHUT_WR);
		pconns[i].hungup = 1;
	}
}

/* Close every pool connection at once (exit). */
static void
fuzz_net_pool_free_all(void)
{
	while (npconns > 0) {
		if (pconns[npconns - 1].fd != -1)
			close(pconns[npconns - 1].fd);
		fuzz_net_pool_drop(npconns - 1);
	}
}

/*
 * Connect miner i from ip, as listener.cc hands a connection over: the
 * policy admits it, then miner_accept(). -1 if the policy refused.
 */
int
fuzz_net_miner_open(int i, const char *ip)
{
	struct sockaddr_in	 sin;
	int			 sv[2], sz = FUZZ_NET_SNDBUF;

	fuzz_net_miner_close(i);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)(40000 + i));
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1)
		fuzz_fail("fuzz_net_miner_open: bad address %s", ip);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		perror("fuzz_net: socketpair");
		abort();
	}
	/* A small send buffer, so a slow reader's backlog is reachable. */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	evutil_make_socket_nonblocking(sv[1]);
	if (policy_connect(sl.conf, ip, 3333, 0) != 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	peers[i].fd = sv[1];
	peers[i].dfd = sv[0];
	miner_accept(sv[0], (struct sockaddr *)&sin, sizeof sin, 3333, WIRE_TCP,
	    NULL);
	return 0;
}

/* The daemon's miner on connection i, or NULL once it has closed. */
struct miner *
fuzz_net_miner(int i)
{
	struct miner	*m;

	if (peers[i].fd == -1 || peers[i].dfd == -1)
		return NULL;
	for (m = miner_first(); m != NULL; m = miner_next(m)) {
		if (m->wire.fd == peers[i].dfd)
			return m;
	}
	return NULL;
}

/* Bytes from miner i. */
void
fuzz_net_miner_write(int i, const char *buf, size_t len)
{
	fuzz_net_send(peers[i].fd, buf, len);
}

/* Hang up miner i. */
void
fuzz_net_miner_close(int i)
{
	if (peers[i].fd != -1)
		close(peers[i].fd);
	peers[i].fd = peers[i].dfd = -1;
	free(peers[i].in);
	peers[i].in = NULL;
	peers[i].inlen = 0;
}

/* Hang up every miner. */
void
fuzz_net_miner_close_all(void)
{
	int	 i;

	for (i = 0; i < FUZZ_NET_MINERS; i++)
		fuzz_net_miner_close(i);
}

/* Read what miners are sent (1), or leave it queued (0: slow readers). */
void
fuzz_net_miner_reading(int on)
{
	miners_read = on;
}

/* Connect to the API (fuzz_net_settle() lets evhttp accept). */
void
fuzz_net_api_open(void)
{
	fuzz_net_api_close();
	if (api_old_fd != -1)
		close(api_old_fd);	/* the daemon kept it open: enough */
	api_old_fd = -1;
	if (api_sunlen == 0)
		fuzz_fail("the API did not bind");
	api_outlen = 0;
	if ((api_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    connect(api_fd, (struct sockaddr *)&api_sun, api_sunlen) == -1) {
		perror("fuzz_net: connect to the API");
		abort();
	}
}

/* Bytes to the API. */
void
fuzz_net_api_write(const char *buf, size_t len)
{
	fuzz_net_send(api_fd, buf, len);
}

/* Hang up the API connection: a FIN, then read it until EOF. */
void
fuzz_net_api_close(void)
{
	if (api_fd == -1)
		return;
	if (api_old_fd != -1)
		close(api_old_fd);
	shutdown(api_fd, SHUT_WR);
	api_old_fd = api_fd;
	api_fd = -1;
}

/* Does a /metrics line look like the Prometheus text format 0.0.4? */
static int
fuzz_net_metrics_line(const char *p, size_t n)
{
	size_t	 i = 0;

	if (n >= 7 && (memcmp(p, "# HELP ", 7) == 0 ||
	    memcmp(p, "# TYPE ", 7) == 0))
		return 1;
	while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '_' ||
	    p[i] == ':'))
		i++;
	if (i == 0)
		return 0;
	if (i < n && p[i] == '{') {
		/* key="value" pairs; a value escapes only \\, \" and \n */
		for (i++; i < n && p[i] != '}'; i++) {
			if (p[i] != '"')
				continue;
			for (i++; i < n && p[i] != '"'; i++) {
				if ((unsigned char)p[i] < 0x20)
					return 0;
				if (p[i] == '\\' && (++i == n || p[i] == '\0' ||
				    strchr("\\\"n", p[i]) == NULL))
					return 0;
			}
		}
		if (i++ == n)
			return 0;
	}
	if (i == n || p[i++] != ' ' || i == n)
		return 0;
	for (; i < n; i++) {
		if (p[i] == '\0' || strchr("0123456789.-+eEInfa", p[i]) == NULL)
			return 0;
	}
	return 1;
}

/*
 * Check what the API answered since fuzz_net_api_open(), once the
 * connection is over: every complete answer's JSON body must be a JSON
 * object and a /metrics body the text format. Returns the number of
 * complete answers with status 200.
 */
int
fuzz_net_api_check(void)
{
	const char	*p = api_out, *end = api_out + api_outlen, *hdr, *body;
	const char	*v, *l, *nl;
	size_t		 clen;
	json_error_t	 err;
	json_t		*j;
	int		 ok = 0, json, metrics;

	while (p != NULL && p < end) {
		/* evhttp answers in the request's version, even "HTTP/0.1". */
		if (end - p < 12 || memcmp(p, "HTTP/", 5) != 0)
			fuzz_fail("the API answered \"%.40s\"", p);
		if ((body = (const char *)memmem(p, (size_t)(end - p),
		    "\r\n\r\n", 4)) == NULL)
			break;		/* cut short: not complete */
		hdr = p;
		body += 4;
		/* Without a length (HTTP/1.0), the body runs to the close. */
		clen = (size_t)(end - body);
		json = metrics = 0;
		for (l = hdr; l < body; l = nl + 2) {
			nl = (const char *)memmem(l, (size_t)(body - l),
			    "\r\n", 2);
			if (nl == NULL)
				break;
			if ((v = (const char *)memchr(l, ':',
			    (size_t)(nl - l))) == NULL)
				continue;
			if ((size_t)(v - l) == 14 &&
			    strncasecmp(l, "Content-Length", 14) == 0)
				clen = strtoul(v + 1, NULL, 10);
			else if ((size_t)(v - l) == 12 &&
			    strncasecmp(l, "Content-Type", 12) == 0) {
				json = memmem(v, (size_t)(nl - v),
				    "application/json", 16) != NULL;
				metrics = memmem(v, (size_t)(nl - v),
				    "text/plain", 10) != NULL;
			}
		}
		/* A HEAD answer has a length and no body. */
		if (clen > 0 && (size_t)(end - body) >= 5 &&
		    memcmp(body, "HTTP/", 5) == 0)
			clen = 0;
		/* Nor has a 204 (a CORS preflight), nor a length. */
		v = (const char *)memchr(hdr, ' ', (size_t)(body - hdr));
		if (v != NULL && body - v > 5 && memcmp(v, " 204 ", 5) == 0)
			clen = 0;
		if ((size_t)(end - body) < clen)
			break;
		if (json && clen > 0) {
			if ((j = json_loadb(body, clen, JSON_REJECT_DUPLICATES,
			    &err)) == NULL || !json_is_object(j))
				fuzz_fail("the API's JSON does not parse: %s at "
				    "%d: %.*s", err.text, err.position,
				    (int)(clen < 600 ? clen : 600), body);
			json_decref(j);
		}
		if (metrics) {
			for (l = body; l < body + clen; l = nl + 1) {
				if ((nl = (const char *)memchr(l, '\n',
				    (size_t)(body + clen - l))) == NULL)
					fuzz_fail("/metrics ends without a "
					    "newline");
				if (!fuzz_net_metrics_line(l, (size_t)(nl - l)))
					fuzz_fail("/metrics line \"%.*s\"",
					    (int)(nl - l), l);
			}
		}
		v = (const char *)memchr(hdr, ' ', (size_t)(body - hdr));
		ok += v != NULL && body - v > 5 && memcmp(v, " 200 ", 5) == 0;
		p = body + clen;
	}
	return ok;
}

/* GET path from the API and check the answer: one, status 200. */
void
fuzz_net_api_get(const char *path)
{
	char	 req[256];
	int	 n;

	fuzz_net_api_open();
	n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Authorization: Bearer fuzz-token\r\nConnection: close\r\n\r\n",
	    path);
	fuzz_net_api_write(req, (size_t)n);
	fuzz_net_settle();
	fuzz_net_api_close();
	fuzz_net_settle();
	if (fuzz_net_api_check() != 1)
		fuzz_fail("GET %s: no answer with status 200", path);
}

/*
 * Make c the live config, as a reload would (the API's variants differ
 * in http only); the caller keeps its own reference.
 */
void
fuzz_net_set_conf(struct config *c)
{
	struct config	*old = sl.conf;

	sl.conf = config_ref(c);
	config_unref(old);
}

/*
 * After an input: every miner closed and reaped, every share ended, one
 * upstream. What is left over here is a leak libFuzzer cannot see (it is
 * still reachable).
 */
void
fuzz_net_check_idle(void)
{
	if (miner_count() != 0)
		fuzz_fail("%zu miners still open after the input",
		    miner_count());
	if (share_inflight() != 0)
		fuzz_fail("%zu shares still in flight after the input",
		    share_inflight());
	if (sl_stats.miners_now != 0)
		fuzz_fail("miners_now is %llu with no miner open",
		    (unsigned long long)sl_stats.miners_now);
	if (upstream_count() != 1)
		fuzz_fail("%zu upstreams after the input", upstream_count());
}
