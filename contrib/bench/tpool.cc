/*
 * tpool.cc: the test pool. It answers login with a job, pushes a new job
 * to every logged-in connection on an interval or when told to on the
 * control port, and answers submits: OK, or an error by policy
 * (--reject-every), for an unknown job, a low difficulty or a duplicate
 * nonce (per connection and job).
 *
 * It has to be fast enough to be the "floor" of the benchmark: serving
 * 19,000 miners directly, with no proxy in between. So a broadcast is
 * encoded once and copied per connection with only the connection's blob
 * bytes patched, written with one write(2) straight to the socket (an
 * evbuffer only holds what the kernel did not take), and the replies to
 * all the submits found in one read leave in one write.
 *
 * The job id is "j<seq>-<ns>": the broadcast's sequence number and the
 * CLOCK_MONOTONIC time it began, for the receivers' fan-out latency.
 * With --job-prefix P it is "Pj<seq>-<ns>", so that miners behind a proxy
 * with two coins can tell this pool's jobs from the other's (the switch
 * scenario); such ids are no fan-out samples.
 *
 * Control port, one command per line, one line back:
 *	job	push a new job now	-> "ok seq=N sent=M us=T"
 *		(T: microseconds the pool spent writing it to M connections)
 *	stats	counters		-> one JSON object
 *	reset	zero the counters	-> "ok"
 *	quit	exit
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "bench.h"

#define TP_SEED		"b5a3b8b7a1e0c6f7d3c2b1a09f8e7d6c" \
			"5b4a39281706f5e4d3c2b1a0f9e8d7c6"
#define TP_ALGO		"rx/0"
#define TP_BLOB_CONN	120	/* hex offset of the per-connection bytes */
#define TP_BLOB_SEQ	20	/* hex offset of the per-job bytes */
#define TP_BATCH	65536	/* replies gathered per read */

/* Nonces seen for one job on one connection. */
/* The nonces seen for one job of one connection (daemon's nonceset). */
struct dupset {
	uint64_t	 seq;
	struct nonceset	 set;
};

struct tpconn {
	uint64_t	 id;
	int		 fd;
	int		 idx;		/* in tp.conns */
	int		 logged_in;
	int		 dead;		/* write failed: close it later */
	struct event	*rev;
	struct event	*wev;
	struct evbuffer	*out;		/* what write(2) did not take */
	struct lbuf	 lb;
	char		 session[17];
	struct dupset	 sets[2];
};

struct tpstats {
	uint64_t	 connections_total;
	uint64_t	 logins;
	uint64_t	 jobs;
	uint64_t	 job_lines;
	uint64_t	 submits;
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint64_t	 duplicates;
	uint64_t	 invalid;
	uint64_t	 keepalives;
	uint64_t	 write_errors;
	uint64_t	 accept_paused;
};

static struct {
	struct event_base *base;
	struct event	*lev;
	struct event	*clev;
	struct event	*job_ev;
	struct event	*resume_ev;
	struct event	*sig_ev[2];
	struct tpconn	**conns;
	size_t		 nconns;
	size_t		 capconns;
	uint64_t	 next_id;
	int		 lfd;
	int		 cfd;
	int		 reject_every;
	uint64_t	 diff;
	char		 target[9];
	const char	*prefix;	/* of job ids, "" by default */
	size_t		 prefix_len;
	uint64_t	 seq;		/* current job */
	uint64_t	 height;
	char		 job_id[64];
	char		 blob[153];
	char		*line;		/* the push line of the current job */
	size_t		 line_len;
	size_t		 line_blob;	/* offset of the blob in line */
	struct tpstats	 st;
	struct tpconn	*batch_conn;	/* replies gathered for this one */
	char		*batch;
	size_t		 batch_len;
	char		*scratch;
} tp;

static void	 tpool_usage(void) NORETURN;
static void	 tpool_new_job(void);
static size_t	 tpool_broadcast(void);
static void	 tpool_accept(evutil_socket_t, short, void *);
static void	 tpool_resume(evutil_socket_t, short, void *);
static void	 tpool_read(evutil_socket_t, short, void *);
static void	 tpool_writable(evutil_socket_t, short, void *);
static int	 tpool_line(void *, char *, size_t);
static void	 tpool_login(struct tpconn *, const char *, json_t *);
static void	 tpool_submit(struct tpconn *, const char *, const char *,
		     size_t, const char *, size_t, const char *, size_t);
static void	 tpool_reply_ok(struct tpconn *, const char *, const char *);
static void	 tpool_reply_err(struct tpconn *, const char *, const char *);
static void	 tpool_send(struct tpconn *, const char *, size_t);
static void	 tpool_write(struct tpconn *, const char *, size_t);
static void	 tpool_flush_batch(void);
static void	 tpool_close(struct tpconn *);
static void	 tpool_patch(char *, uint64_t);
static void	 tpool_ctl_accept(evutil_socket_t, short, void *);
static void	 tpool_ctl_read(struct bufferevent *, void *);
static void	 tpool_ctl_event(struct bufferevent *, short, void *);
static char	*tpool_stats_json(void);
static void	 tpool_job_timer(evutil_socket_t, short, void *);
static void	 tpool_signal(evutil_socket_t, short, void *);

/* Print usage and exit 1. */
static void
tpool_usage(void)
{
	fprintf(stderr, "usage: sluice-bench pool --port P [--host H] "
	    "[--control-port C] [--job-interval-ms N] [--reject-every N] "
	    "[--diff D] [--job-prefix P]\n");
	exit(1);
}

/* pool: listen, make the first job, serve until a signal or "quit". */
int
tpool_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "control-port", required_argument, NULL, 'c' },
		{ "job-interval-ms", required_argument, NULL, 'i' },
		{ "reject-every", required_argument, NULL, 'r' },
		{ "diff", required_argument, NULL, 'd' },
		{ "job-prefix", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*host = "127.0.0.1";
	int		 ch, port = 0, cport = 0, interval = 0, i;
	struct timeval	 tv;
	static const int sigs[2] = { SIGINT, SIGTERM };

	tp.diff = 1000;
	tp.prefix = "";
	while ((ch = getopt_long(argc, argv, "p:H:c:i:r:d:P:", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'H':
			host = optarg;
			break;
		case 'c':
			cport = atoi(optarg);
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 'r':
			tp.reject_every = atoi(optarg);
			break;
		case 'd':
			tp.diff = strtoull(optarg, NULL, 10);
			break;
		case 'P':
			tp.prefix = optarg;
			break;
		default:
			tpool_usage();
		}
	}
	tp.prefix_len = strlen(tp.prefix);
	if (port <= 0 || tp.diff == 0 || tp.prefix_len > 16 ||
	    strcspn(tp.prefix, "\"\\") != tp.prefix_len)
		tpool_usage();
	bench_raise_nofile();
	stratum_diff_target(tp.diff, tp.target);
	tp.batch = (char *)malloc(TP_BATCH);
	tp.scratch = (char *)malloc(BENCH_SCRATCH);
	if (tp.batch == NULL || tp.scratch == NULL)
		bench_fatal("malloc");

	if ((tp.base = event_base_new()) == NULL)
		bench_fatalx("event_base_new failed");
	if ((tp.lfd = bench_listen(host, port, 4096)) == -1)
		bench_fatal("listen %s:%d", host, port);
	tp.lev = event_new(tp.base, tp.lfd, EV_READ | EV_PERSIST,
	    tpool_accept, NULL);
	event_add(tp.lev, NULL);
	tp.resume_ev = evtimer_new(tp.base, tpool_resume, NULL);
	if (cport > 0) {
		if ((tp.cfd = bench_listen("127.0.0.1", cport, 64)) == -1)
			bench_fatal("listen 127.0.0.1:%d (control)", cport);
		tp.clev = event_new(tp.base, tp.cfd, EV_READ | EV_PERSIST,
		    tpool_ctl_accept, NULL);
		event_add(tp.clev, NULL);
	}
	if (interval > 0) {
		tp.job_ev = event_new(tp.base, -1, EV_PERSIST, tpool_job_timer,
		    NULL);
		tv.tv_sec = interval / 1000;
		tv.tv_usec = (interval % 1000) * 1000;
		event_add(tp.job_ev, &tv);
	}
	for (i = 0; i < 2; i++) {
		tp.sig_ev[i] = evsignal_new(tp.base, sigs[i], tpool_signal,
		    NULL);
		evsignal_add(tp.sig_ev[i], NULL);
	}
	tpool_new_job();
	fprintf(stderr, "sluice-bench pool: listening on %s:%d control %d "
	    "diff %" PRIu64 " target %s job-interval %d ms%s%s\n", host, port,
	    cport, tp.diff, tp.target, interval, tp.prefix_len > 0 ?
	    " job-prefix " : "", tp.prefix);
	event_base_dispatch(tp.base);

	char *s = tpool_stats_json();
	fprintf(stderr, "sluice-bench pool: exit %s\n", s);
	free(s);
	return 0;
}

/* SIGINT/SIGTERM: leave the loop. */
static void
tpool_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	event_base_loopbreak(tp.base);
}

/* Write a 32-bit value as 8 hex chars at p. */
static void
tpool_patch(char *p, uint64_t v)
{
	static const char	 digits[] = "0123456789abcdef";
	int			 i;

	for (i = 0; i < 8; i++)
		p[i] = digits[(v >> (28 - 4 * i)) & 15];
}

/*
 * Make the next job: a 76-byte CryptoNote-shaped blob (nonce at byte 39,
 * the NiceHash byte 42 zero), with the sequence number in its "previous
 * hash" so every job differs. Encodes the push line once.
 */
static void
tpool_new_job(void)
{
	static const char	 base[] =
	    "0e0e" "a0b1c2d305"
	    "3f2e1d0c00000000b7a6958473625140ffeeddccbbaa99887766554433221100"
	    "00000000"
	    "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
	    "0000000091827364554637281900aabb01";
	char			 id[64];
	int			 n;

	static_assert(sizeof base - 1 == 152, "a 76-byte blob");
	tp.seq++;
	tp.height = 3000000 + tp.seq;
	memcpy(tp.blob, base, 152);
	tp.blob[152] = '\0';
	tpool_patch(tp.blob + TP_BLOB_SEQ, tp.seq);
	snprintf(id, sizeof id, "%sj%" PRIu64 "-%" PRIu64, tp.prefix, tp.seq,
	    bench_now());
	memcpy(tp.job_id, id, sizeof id);
	free(tp.line);
	static const char pre[] =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"job\",\"params\":{\"blob\":\"";
	n = asprintf(&tp.line, "%s%s\",\"job_id\":\"%s\",\"target\":\"%s\","
	    "\"algo\":\"" TP_ALGO "\",\"height\":%" PRIu64 ",\"seed_hash\":\""
	    TP_SEED "\"}}\n", pre, tp.blob, tp.job_id, tp.target, tp.height);
	if (n < 0)
		bench_fatal("asprintf");
	tp.line_len = (size_t)n;
	tp.line_blob = sizeof pre - 1;
}

/*
 * Push a new job to every logged-in connection: one memcpy, one patch and
 * one write each. Returns the number of connections sent to.
 */
static size_t
tpool_broadcast(void)
{
	struct tpconn	*c;
	char		*buf;
	size_t		 i, sent = 0;

	tpool_new_job();
	tp.st.jobs++;
	buf = (char *)malloc(tp.line_len);
	if (buf == NULL)
		bench_fatal("malloc");
	memcpy(buf, tp.line, tp.line_len);
	/* Backwards, so closing (swap-remove) keeps the walk valid. */
	for (i = tp.nconns; i-- > 0;) {
		c = tp.conns[i];
		if (!c->logged_in || c->dead)
			continue;
		tpool_patch(buf + tp.line_blob + TP_BLOB_CONN, c->id);
		tpool_write(c, buf, tp.line_len);
		tp.st.job_lines++;
		sent++;
		if (c->dead)
			tpool_close(c);
	}
	free(buf);
	return sent;
}

/* The job interval timer. */
static void
tpool_job_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	tpool_broadcast();
}

/* Accept what is waiting; on EMFILE stop accepting for a second. */
static void
tpool_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct tpconn	*c;
	struct timeval	 one = { 1, 0 };
	int		 fd, i, on = 1;

	(void)what;
	(void)arg;
	for (i = 0; i < 512; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				tp.st.accept_paused++;
				bench_warnx("pool: accept: %s; pausing 1 s",
				    strerror(errno));
				event_del(tp.lev);
				evtimer_add(tp.resume_ev, &one);
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
		c = XCALLOC(struct tpconn, 1);
		c->id = ++tp.next_id;
		c->fd = fd;
		c->rev = event_new(tp.base, fd, EV_READ | EV_PERSIST,
		    tpool_read, c);
		event_add(c->rev, NULL);
		if (tp.nconns == tp.capconns) {
			tp.capconns = tp.capconns == 0 ? 1024 : tp.capconns * 2;
			tp.conns = (struct tpconn **)realloc(tp.conns,
			    tp.capconns * sizeof *tp.conns);
			if (tp.conns == NULL)
				bench_fatal("realloc");
		}
		c->idx = (int)tp.nconns;
		tp.conns[tp.nconns++] = c;
		tp.st.connections_total++;
	}
}

/* Accept again after an EMFILE pause. */
static void
tpool_resume(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_add(tp.lev, NULL);
}

/* Close a connection and free it. */
static void
tpool_close(struct tpconn *c)
{
	struct tpconn	*last;
	int		 i;

	if (tp.batch_conn == c)
		tp.batch_conn = NULL;
	last = tp.conns[tp.nconns - 1];
	tp.conns[c->idx] = last;
	last->idx = c->idx;
	tp.nconns--;
	event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->out != NULL)
		evbuffer_free(c->out);
	close(c->fd);
	lbuf_free(&c->lb);
	for (i = 0; i < 2; i++)
		nonceset_free(&c->sets[i].set);
	free(c);
}

/* Readable: one read (level-triggered, fair), lines, then one write. */
static void
tpool_read(evutil_socket_t fd, short what, void *arg)
{
	struct tpconn	*c = (struct tpconn *)arg;
	ssize_t		 n;
	int		 rc;

	(void)what;
	n = read(fd, tp.scratch, BENCH_SCRATCH);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		tpool_close(c);
		return;
	}
	if (n < 0)
		return;
	tp.batch_conn = c;
	tp.batch_len = 0;
	rc = lbuf_feed(&c->lb, tp.scratch, (size_t)n, tpool_line, c);
	tpool_flush_batch();
	if (rc == -1 || c->dead)
		tpool_close(c);
}

/* Send the gathered replies. */
static void
tpool_flush_batch(void)
{
	struct tpconn	*c = tp.batch_conn;

	tp.batch_conn = NULL;
	if (c != NULL && tp.batch_len > 0)
		tpool_write(c, tp.batch, tp.batch_len);
	tp.batch_len = 0;
}

/* Queue a reply: into the batch while reading this connection. */
static void
tpool_send(struct tpconn *c, const char *buf, size_t len)
{
	if (tp.batch_conn == c) {
		if (tp.batch_len + len > TP_BATCH) {
			tpool_flush_batch();
			tp.batch_conn = c;
		}
		if (len <= TP_BATCH) {
			memcpy(tp.batch + tp.batch_len, buf, len);
			tp.batch_len += len;
			return;
		}
	}
	tpool_write(c, buf, len);
}

/* Write now if nothing is queued; keep what the kernel did not take. */
static void
tpool_write(struct tpconn *c, const char *buf, size_t len)
{
	ssize_t	 n = 0;

	if (c->dead)
		return;
	if (c->out == NULL || evbuffer_get_length(c->out) == 0) {
		n = write(c->fd, buf, len);
		if (n == (ssize_t)len)
			return;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			tp.st.write_errors++;
			c->dead = 1;
			return;
		}
		if (n < 0)
			n = 0;
	}
	if (c->out == NULL)
		c->out = evbuffer_new();
	if (c->wev == NULL)
		c->wev = event_new(tp.base, c->fd, EV_WRITE | EV_PERSIST,
		    tpool_writable, c);
	evbuffer_add(c->out, buf + n, len - (size_t)n);
	event_add(c->wev, NULL);
}

/* Writable with output queued. */
static void
tpool_writable(evutil_socket_t fd, short what, void *arg)
{
	struct tpconn	*c = (struct tpconn *)arg;

	(void)what;
	if (evbuffer_write(c->out, fd) < 0 && errno != EAGAIN &&
	    errno != EINTR) {
		tp.st.write_errors++;
		tpool_close(c);
		return;
	}
	if (evbuffer_get_length(c->out) == 0)
		event_del(c->wev);
}

/*
 * One line from a connection. Submits take a fast path that reads the
 * fixed shape proxies and miners send ({"id":N,... "method":"submit" ...});
 * anything else is parsed with jansson.
 */
static int
tpool_line(void *arg, char *line, size_t len)
{
	struct tpconn	*c = (struct tpconn *)arg;
	json_error_t	 err;
	json_t		*req, *id, *params;
	const char	*method, *job, *nonce, *result;
	size_t		 jl, nl, rl;
	int64_t		 rid;
	char		 reqid[48], *s;

	if (bench_jint_first(line, len, &rid) == 0 &&
	    memmem(line, len, "\"method\":\"submit\"", 17) != NULL &&
	    (job = bench_jstr(line, len, "job_id", &jl)) != NULL &&
	    (nonce = bench_jstr(line, len, "nonce", &nl)) != NULL &&
	    (result = bench_jstr(line, len, "result", &rl)) != NULL) {
		snprintf(reqid, sizeof reqid, "%" PRId64, rid);
		tpool_submit(c, reqid, job, jl, nonce, nl, result, rl);
		return c->dead ? -1 : 0;
	}
	if ((req = json_loadb(line, len, 0, &err)) == NULL ||
	    !json_is_object(req)) {
		if (req != NULL)
			json_decref(req);
		return -1;
	}
	id = json_object_get(req, "id");
	s = json_dumps(id != NULL ? id : json_null(), JSON_ENCODE_ANY |
	    JSON_COMPACT);
	snprintf(reqid, sizeof reqid, "%s", s != NULL && strlen(s) <
	    sizeof reqid ? s : "null");
	free(s);
	method = json_string_value(json_object_get(req, "method"));
	params = json_object_get(req, "params");
	if (method == NULL)
		;
	else if (strcmp(method, "login") == 0)
		tpool_login(c, reqid, params);
	else if (strcmp(method, "keepalived") == 0) {
		tp.st.keepalives++;
		tpool_reply_ok(c, reqid, "KEEPALIVED");
	} else if (strcmp(method, "submit") == 0) {
		job = json_string_value(json_object_get(params, "job_id"));
		nonce = json_string_value(json_object_get(params, "nonce"));
		result = json_string_value(json_object_get(params, "result"));
		tpool_submit(c, reqid, job, job ? strlen(job) : 0, nonce,
		    nonce ? strlen(nonce) : 0, result,
		    result ? strlen(result) : 0);
	} else
		tpool_reply_err(c, reqid, "Invalid method");
	json_decref(req);
	return c->dead ? -1 : 0;
}

/* login: a session id and the current job, blob patched for this connection. */
static void
tpool_login(struct tpconn *c, const char *reqid, json_t *params)
{
	char	 blob[153], buf[1024];
	int	 n;

	if (!json_is_object(params) ||
	    !json_is_string(json_object_get(params, "login"))) {
		tpool_reply_err(c, reqid, "Invalid payment address provided");
		return;
	}
	tp.st.logins++;
	c->logged_in = 1;
	snprintf(c->session, sizeof c->session, "%08x%08x",
	    arc4random(), arc4random());
	memcpy(blob, tp.blob, sizeof blob);
	tpool_patch(blob + TP_BLOB_CONN, c->id);
	n = snprintf(buf, sizeof buf, "{\"id\":%s,\"jsonrpc\":\"2.0\","
	    "\"error\":null,\"result\":{\"id\":\"%s\",\"job\":{\"blob\":\"%s\","
	    "\"job_id\":\"%s\",\"target\":\"%s\",\"algo\":\"" TP_ALGO "\","
	    "\"height\":%" PRIu64 ",\"seed_hash\":\"" TP_SEED "\"},"
	    "\"extensions\":[\"algo\",\"nicehash\",\"keepalive\"],"
	    "\"status\":\"OK\"}}\n", reqid, c->session, blob, tp.job_id,
	    tp.target, tp.height);
	if (n > 0 && (size_t)n < sizeof buf)
		tpool_send(c, buf, (size_t)n);
}

/*
 * submit: the current or previous job only, 8-hex nonce, 64-hex result
 * of at least the pool difficulty, not seen before on this connection for
 * that job; then the reject policy.
 */
static void
tpool_submit(struct tpconn *c, const char *reqid, const char *job, size_t jl,
    const char *nonce, size_t nl, const char *result, size_t rl)
{
	struct dupset	*set;
	uint64_t	 seq, ns, r = 0;
	uint32_t	 nv = 0;
	size_t		 i;
	int		 v;

	tp.st.submits++;
	if (!c->logged_in) {
		tp.st.invalid++;
		tpool_reply_err(c, reqid, "Unauthenticated");
		return;
	}
	if (job == NULL || jl < tp.prefix_len ||
	    memcmp(job, tp.prefix, tp.prefix_len) != 0 ||
	    bench_jobid_time(job + tp.prefix_len, jl - tp.prefix_len, &seq,
	    &ns) != 0 || seq == 0 || seq > tp.seq || seq + 1 < tp.seq) {
		tp.st.invalid++;
		tpool_reply_err(c, reqid, "Invalid job id");
		return;
	}
	if (nonce == NULL || nl != 8 || result == NULL || rl != 64) {
		tp.st.invalid++;
		tpool_reply_err(c, reqid, "Invalid nonce or result");
		return;
	}
	for (i = 0; i < 4; i++) {
		if (sscanf(nonce + 2 * i, "%2x", &v) != 1) {
			tp.st.invalid++;
			tpool_reply_err(c, reqid, "Invalid nonce");
			return;
		}
		nv |= (uint32_t)v << (8 * i);
	}
	for (i = 0; i < 8; i++) {
		if (sscanf(result + 48 + 2 * i, "%2x", &v) != 1) {
			tp.st.invalid++;
			tpool_reply_err(c, reqid, "Invalid result");
			return;
		}
		r |= (uint64_t)v << (8 * i);
	}
	if (r == 0 || UINT64_MAX / r < tp.diff) {
		tp.st.invalid++;
		tpool_reply_err(c, reqid, "Low difficulty share");
		return;
	}
	set = c->sets[0].seq == seq ? &c->sets[0] :
	    c->sets[1].seq == seq ? &c->sets[1] : NULL;
	if (set == NULL) {
		set = c->sets[0].seq < c->sets[1].seq ? &c->sets[0] :
		    &c->sets[1];
		nonceset_clear(&set->set);
		set->seq = seq;
	}
	if (!nonceset_add(&set->set, nv)) {
		tp.st.duplicates++;
		tpool_reply_err(c, reqid, "Duplicate share");
		return;
	}
	if (tp.reject_every > 0 &&
	    tp.st.submits % (uint64_t)tp.reject_every == 0) {
		char	 why[96];

		/* Say so: a demo's reader must not take it for a fault. */
		snprintf(why, sizeof why, "Rejected on purpose: the test pool "
		    "rejects one share in %d (--reject-every)", tp.reject_every);
		tp.st.rejected++;
		tpool_reply_err(c, reqid, why);
		return;
	}
	tp.st.accepted++;
	tpool_reply_ok(c, reqid, "OK");
}

/* {"id":..,"error":null,"result":{"status":..}} */
static void
tpool_reply_ok(struct tpconn *c, const char *reqid, const char *status)
{
	char	 buf[128];
	int	 n;

	n = snprintf(buf, sizeof buf, "{\"id\":%s,\"jsonrpc\":\"2.0\","
	    "\"error\":null,\"result\":{\"status\":\"%s\"}}\n", reqid, status);
	if (n > 0 && (size_t)n < sizeof buf)
		tpool_send(c, buf, (size_t)n);
}

/* {"id":..,"error":{"code":-1,"message":..}} */
static void
tpool_reply_err(struct tpconn *c, const char *reqid, const char *message)
{
	char	 buf[256];
	int	 n;

	n = snprintf(buf, sizeof buf, "{\"id\":%s,\"jsonrpc\":\"2.0\","
	    "\"error\":{\"code\":-1,\"message\":\"%s\"}}\n", reqid, message);
	if (n > 0 && (size_t)n < sizeof buf)
		tpool_send(c, buf, (size_t)n);
}

/* The counters as one JSON line (caller frees). */
static char *
tpool_stats_json(void)
{
	char	*s;

	if (asprintf(&s, "{\"connections\":%zu,\"connections_total\":%" PRIu64
	    ",\"logins\":%" PRIu64 ",\"jobs\":%" PRIu64 ",\"job_lines\":%"
	    PRIu64 ",\"submits\":%" PRIu64 ",\"accepted\":%" PRIu64
	    ",\"rejected\":%" PRIu64 ",\"duplicates\":%" PRIu64
	    ",\"invalid\":%" PRIu64 ",\"keepalives\":%" PRIu64
	    ",\"write_errors\":%" PRIu64 ",\"accept_paused\":%" PRIu64
	    ",\"diff\":%" PRIu64 ",\"seq\":%" PRIu64 "}", tp.nconns,
	    tp.st.connections_total, tp.st.logins, tp.st.jobs, tp.st.job_lines,
	    tp.st.submits, tp.st.accepted, tp.st.rejected, tp.st.duplicates,
	    tp.st.invalid, tp.st.keepalives, tp.st.write_errors,
	    tp.st.accept_paused, tp.diff, tp.seq) < 0)
		bench_fatal("asprintf");
	return s;
}

/* A control connection. */
static void
tpool_ctl_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct bufferevent	*bev;
	int			 fd;

	(void)what;
	(void)arg;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	bev = bufferevent_socket_new(tp.base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(bev, tpool_ctl_read, NULL, tpool_ctl_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Control commands, one per line. */
static void
tpool_ctl_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line, *s;
	size_t		 len, sent;
	uint64_t	 t0;

	(void)arg;
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_ANY)) != NULL) {
		if (strcmp(line, "job") == 0) {
			t0 = bench_now();
			sent = tpool_broadcast();
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "ok seq=%" PRIu64 " sent=%zu us=%" PRIu64 "\n",
			    tp.seq, sent, (bench_now() - t0) / 1000);
		} else if (strcmp(line, "stats") == 0) {
			s = tpool_stats_json();
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "%s\n", s);
			free(s);
		} else if (strcmp(line, "reset") == 0) {
			memset(&tp.st, 0, sizeof tp.st);
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "ok\n");
		} else if (strcmp(line, "quit") == 0) {
			free(line);
			event_base_loopbreak(tp.base);
			return;
		} else if (len > 0)
			evbuffer_add_printf(bufferevent_get_output(bev),
			    "error unknown command (job, stats, reset, "
			    "quit)\n");
		free(line);
	}
}

/* A control connection ended. */
static void
tpool_ctl_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

/*
 * ctl: send one command to a pool's control port and print the answer.
 * Retries connecting until --wait seconds pass (for scripts that start
 * the pool and must wait until it listens).
 */
int
tpool_ctl_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "wait", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 }
	};
	char		 buf[8192], cmd[256];
	uint64_t	 deadline;
	int		 ch, port = 0, fd = -1;
	double		 wait = 0;
	size_t		 n = 0;
	ssize_t		 r;

	while ((ch = getopt_long(argc, argv, "p:w:", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'w':
			wait = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (port <= 0 || optind != argc - 1)
		goto usage;
	deadline = bench_now() + (uint64_t)(wait * 1e9);
	while ((fd = bench_connect_tcp("127.0.0.1", port, 1000)) == -1) {
		if (bench_now() >= deadline)
			bench_fatalx("ctl: cannot connect to 127.0.0.1:%d",
			    port);
		usleep(50000);
	}
	snprintf(cmd, sizeof cmd, "%s\n", argv[optind]);
	if (write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		bench_fatal("ctl: write");
	if (strcmp(argv[optind], "quit") == 0) {
		close(fd);
		return 0;
	}
	while (n < sizeof buf - 1 && (r = read(fd, buf + n,
	    sizeof buf - 1 - n)) > 0) {
		n += (size_t)r;
		if (memchr(buf, '\n', n) != NULL)
			break;
	}
	close(fd);
	buf[n] = '\0';
	fputs(buf, stdout);
	return n > 0 ? 0 : 1;
usage:
	fprintf(stderr, "usage: sluice-bench ctl --port C [--wait S] "
	    "job|stats|reset|quit\n");
	return 1;
}
