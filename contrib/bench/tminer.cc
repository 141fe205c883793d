/*
 * tminer.cc: one process's share of the simulated miners. Forked by the
 * coordinator (coord.cc) and driven by it over a socketpair, one command
 * per line:
 *
 *	coordinator -> child		child -> coordinator
 *					ready {json}	(every login done)
 *	shares RATE WINDOW		(starts the rate phase)
 *	steady RATE PROCS START		(starts the paced phase)
 *	saturate WINDOW			(starts the closed-loop phase)
 *	mark				mark {json}	(counts so far)
 *	switch T0 DEADLINE		switched {json}	(every miner has a
 *					job of the new coin, or DEADLINE)
 *	stop				stopped {json}	(replies drained)
 *	finish				summary {json}, then exit
 *
 * Each miner connects from its own 127.0.0.x source address (bind before
 * connect, with IP_BIND_ADDRESS_NO_PORT so ports are picked per 4-tuple),
 * logs in right after connecting (logins are paced by the coordinator's
 * rate), keeps its last job, and submits valid shares: the nonce's byte 3
 * is the NiceHash byte of its blob (hex 84..85), and the result's last 8
 * bytes, read as LE r, give (2^64-1)/r above the job's difficulty.
 *
 * Measured here: connect and login latency, the fan-out latency of every
 * job push (now minus the time in "j<seq>-<ns>"), one histogram per
 * broadcast, share latency (submit written to reply read) and, after a
 * coin switch, the time from T0 (the coordinator sent the switch) to
 * each miner's first job whose id starts with the new coin's pool's
 * prefix (--switch-prefix; such jobs are no fan-out samples; one in the
 * login reply counts, and comes before T0). Sockets
 * are raw descriptors with libevent events, read once per wakeup into a
 * shared buffer: the cheapest a client can be, so that it is not what
 * gets measured.
 *
 * The rate phase sends what is due every millisecond, so a proxy sees
 * the shares in bursts. The steady phase sends one share per tick of a
 * timerfd, RATE/PROCS ticks a second in each process, the processes'
 * ticks offset by 1/RATE from each other so that they interleave (START
 * is a CLOCK_MONOTONIC time they all share): the shares arrive one at a
 * time, as from a farm. Its wakeups are counted by how many shares each
 * sent (more than one when it came a tick late) and timed against their
 * tick.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define TM_WINDOW_MAX	8	/* shares outstanding per miner */
#define TM_BCAST	128	/* broadcasts remembered */
#define TM_KINDS	16	/* distinct error messages counted */
#define TM_DRAIN_MS	3000	/* wait for replies after "stop" */
#define TM_BURSTS	6	/* shares per steady wakeup: 1 2 3 4 5-8 9+ */

enum tm_state {
	TM_IDLE,
	TM_CONNECTING,
	TM_LOGIN,
	TM_READY,
	TM_CLOSED
};

enum tm_phase {
	TM_PHASE_NONE,
	TM_PHASE_RATE,
	TM_PHASE_STEADY,
	TM_PHASE_SATURATE,
	TM_PHASE_DRAIN
};

struct tmpend {
	uint32_t	 id;
	uint64_t	 t;
};

struct tmm {
	int		 fd;
	int		 num;		/* global miner number */
	enum tm_state	 state;
	int		 dead;		/* close at a safe point */
	struct event	*rev;
	struct event	*wev;
	struct evbuffer	*out;
	struct lbuf	 lb;
	uint64_t	 t_start;	/* connect() */
	uint64_t	 t_login;	/* login written */
	char		 session[64];
	char		 job_id[96];
	uint64_t	 diff;
	uint64_t	 r;		/* result value meeting diff */
	int		 slot;		/* blob byte 42 */
	int		 has_job;
	uint64_t	 t_switch;	/* first job of the switched-to pool */
	uint32_t	 nonce;
	uint32_t	 reqid;
	struct tmpend	 pend[TM_WINDOW_MAX];
	int		 npend;
};

struct tmkinds {
	char		 msg[TM_KINDS][80];
	uint64_t	 n[TM_KINDS];
	uint64_t	 other;
};

struct tmbcast {
	uint64_t	 seq;
	struct hist	*h;
};

static struct {
	const struct tminer_args *a;
	struct event_base *base;
	struct tmm	*m;
	int		 launched;
	int		 settled;	/* logged in or failed */
	int		 ready_sent;
	uint64_t	 t0;
	uint64_t	 t_last_login;
	struct event	*launch_ev;
	struct event	*timeout_ev;
	struct event	*share_ev;
	struct event	*drain_ev;
	struct event	*ctl_ev;
	struct lbuf	 ctl_lb;
	char		*scratch;

	uint64_t	 logged_in;
	uint64_t	 connect_errors;
	uint64_t	 login_errors;
	uint64_t	 drops;
	struct tmkinds	 fail_kinds;	/* connect, login, drop reasons */
	struct hist	*h_login;
	struct hist	*h_connect;
	struct tmbcast	 bcast[TM_BCAST];
	uint64_t	 pushes;
	uint64_t	 foreign_pushes;	/* job ids without a time */

	enum tm_phase	 phase;
	double		 rate;
	int		 window;
	uint64_t	 ph_t0;
	uint64_t	 ph_cpu0;
	uint64_t	 ph_due;
	uint64_t	 ph_sent;
	uint64_t	 ph_ok;
	uint64_t	 ph_err;
	uint64_t	 ph_skipped;
	uint64_t	 ph_drain_until;
	uint64_t	 ph_answered_at_stop;	/* replies before "stop" */
	uint64_t	 ph_active_ns;	/* start to "stop" */
	int		 rr;		/* round-robin cursor */
	uint64_t	 outstanding;
	struct hist	*ph_lat;
	struct tmkinds	 ph_kinds;

	int		 st_fd;		/* the steady phase's timerfd */
	struct event	*st_ev;
	uint64_t	 st_first;	/* first tick, CLOCK_MONOTONIC ns */
	uint64_t	 st_period;	/* ns between this process's ticks */
	uint64_t	 st_wakeups;
	uint64_t	 st_burst[TM_BURSTS];
	struct hist	*st_late;	/* wakeup time minus tick time */

	size_t		 sw_plen;	/* of the new coin's job ids' prefix */
	int		 sw_armed;	/* "switch" received, not reported */
	uint64_t	 sw_t0;		/* the switch request was sent */
	uint64_t	 sw_deadline;
	uint64_t	 sw_got;	/* miners with a job of the new pool */
	int		 sw_want;	/* miners logged in, at the last count */
	struct event	*sw_ev;
} tm;

static void	 tm_launch(evutil_socket_t, short, void *);
static void	 tm_start(struct tmm *);
static void	 tm_writable(evutil_socket_t, short, void *);
static void	 tm_read(evutil_socket_t, short, void *);
static int	 tm_line(void *, char *, size_t);
static void	 tm_login_reply(struct tmm *, char *, size_t);
static void	 tm_share_reply(struct tmm *, int64_t, char *, size_t);
static void	 tm_set_job(struct tmm *, const char *, size_t, const char *,
		     size_t, const char *, size_t);
static void	 tm_submit(struct tmm *);
static void	 tm_write(struct tmm *, const char *, size_t);
static void	 tm_fail(struct tmm *, uint64_t *, const char *);
static void	 tm_close(struct tmm *);
static void	 tm_settle(void);
static void	 tm_timeouts(evutil_socket_t, short, void *);
static void	 tm_share_tick(evutil_socket_t, short, void *);
static struct tmm *tm_next_miner(void);
static void	 tm_steady_begin(double, int, uint64_t);
static void	 tm_steady_tick(evutil_socket_t, short, void *);
static json_t	*tm_steady_json(void);
static void	 tm_drain_tick(evutil_socket_t, short, void *);
static void	 tm_switch_tick(evutil_socket_t, short, void *);
static void	 tm_switch_report(void);
static void	 tm_ctl_read(evutil_socket_t, short, void *);
static int	 tm_ctl_line(void *, char *, size_t);
static void	 tm_report(const char *, json_t *);
static void	 tm_kind(struct tmkinds *, const char *, size_t);
static json_t	*tm_kinds_json(const struct tmkinds *);
static void	 tm_phase_begin(enum tm_phase);
static void	 tm_summary(void) NORETURN;

/* Run this process's miners until the coordinator says "finish". */
void
tminer_child(const struct tminer_args *a)
{
	struct timeval	 ms = { 0, 1000 }, quarter = { 0, 250000 };
	int		 i;

	tm.a = a;
	signal(SIGPIPE, SIG_IGN);
	bench_raise_nofile();
	if ((tm.base = event_base_new()) == NULL)
		bench_fatalx("miners: event_base_new failed");
	tm.m = XCALLOC(struct tmm, (size_t)a->count);
	for (i = 0; i < a->count; i++) {
		tm.m[i].fd = -1;
		tm.m[i].num = a->first + i;
	}
	tm.scratch = (char *)malloc(BENCH_SCRATCH);
	tm.h_login = hist_new();
	tm.h_connect = hist_new();
	tm.ph_lat = hist_new();
	tm.st_late = hist_new();
	tm.st_fd = -1;
	if (tm.scratch == NULL)
		bench_fatal("malloc");
	bench_nonblock(a->ctlfd);
	tm.ctl_ev = event_new(tm.base, a->ctlfd, EV_READ | EV_PERSIST,
	    tm_ctl_read, NULL);
	event_add(tm.ctl_ev, NULL);
	tm.launch_ev = event_new(tm.base, -1, EV_PERSIST, tm_launch, NULL);
	tm.timeout_ev = event_new(tm.base, -1, EV_PERSIST, tm_timeouts, NULL);
	tm.share_ev = event_new(tm.base, -1, EV_PERSIST, tm_share_tick, NULL);
	tm.drain_ev = event_new(tm.base, -1, EV_PERSIST, tm_drain_tick, NULL);
	tm.sw_ev = event_new(tm.base, -1, EV_PERSIST, tm_switch_tick, NULL);
	if (a->switch_prefix != NULL)
		tm.sw_plen = strlen(a->switch_prefix);
	tm.t0 = bench_now();
	if (a->count == 0)
		tm_settle();
	else {
		event_add(tm.launch_ev, &ms);
		event_add(tm.timeout_ev, &quarter);
		tm_launch(-1, 0, NULL);
	}
	event_base_dispatch(tm.base);
	bench_fatalx("miners: event loop ended");
}

/* Paced logins: start the connections that are due by now. */
static void
tm_launch(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	 due;
	double		 el;

	(void)fd;
	(void)what;
	(void)arg;
	el = (double)(bench_now() - tm.t0) / 1e9;
	if (tm.a->login_rate <= 0)
		due = (uint64_t)tm.a->count;
	else
		due = 1 + (uint64_t)(tm.a->login_rate * el);
	if (due > (uint64_t)tm.a->count)
		due = (uint64_t)tm.a->count;
	while ((uint64_t)tm.launched < due)
		tm_start(&tm.m[tm.launched++]);
	if (tm.launched == tm.a->count)
		event_del(tm.launch_ev);
}

/* Connect one miner from its source address. */
static void
tm_start(struct tmm *m)
{
	struct sockaddr_in	 src, dst;
	int			 one = 1;

	m->t_start = bench_now();
	m->state = TM_CONNECTING;
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(tm.a->src_first +
	    (uint32_t)m->num % tm.a->src_count);
	memset(&dst, 0, sizeof dst);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)tm.a->port);
	inet_pton(AF_INET, tm.a->host, &dst.sin_addr);

	m->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->fd == -1) {
		tm_fail(m, &tm.connect_errors, strerror(errno));
		return;
	}
	setsockopt(m->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof one);
	setsockopt(m->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind(m->fd, (struct sockaddr *)&src, sizeof src) != 0) {
		tm_fail(m, &tm.connect_errors, strerror(errno));
		return;
	}
	if (connect(m->fd, (struct sockaddr *)&dst, sizeof dst) != 0 &&
	    errno != EINPROGRESS) {
		tm_fail(m, &tm.connect_errors, strerror(errno));
		return;
	}
	m->rev = event_new(tm.base, m->fd, EV_READ | EV_PERSIST, tm_read, m);
	m->wev = event_new(tm.base, m->fd, EV_WRITE | EV_PERSIST, tm_writable,
	    m);
	event_add(m->wev, NULL);
}

/* Connected (or not); later, output the kernel did not take. */
static void
tm_writable(evutil_socket_t fd, short what, void *arg)
{
	struct tmm	*m = (struct tmm *)arg;
	char		 line[512];
	int		 err = 0, n;
	socklen_t	 len = sizeof err;

	(void)what;
	if (m->state == TM_CONNECTING) {
		event_del(m->wev);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			tm_fail(m, &tm.connect_errors, strerror(err));
			return;
		}
		hist_add(tm.h_connect, bench_now() - m->t_start);
		event_add(m->rev, NULL);
		m->state = TM_LOGIN;
		n = snprintf(line, sizeof line, "{\"id\":1,\"jsonrpc\":\"2.0\","
		    "\"method\":\"login\",\"params\":{\"login\":\"%s\","
		    "\"pass\":\"x\",\"agent\":\"" BENCH_AGENT " (XMRig "
		    "compatible)\",\"rigid\":\"rig%06d\","
		    "\"algo\":[\"rx/0\"]}}\n",
		    tm.a->user, m->num);
		m->t_login = bench_now();
		tm_write(m, line, (size_t)n);
		if (m->dead)
			tm_fail(m, &tm.login_errors, "write failed");
		return;
	}
	if (m->out != NULL && evbuffer_write(m->out, fd) < 0 &&
	    errno != EAGAIN && errno != EINTR) {
		m->dead = 1;
	} else if (m->out == NULL || evbuffer_get_length(m->out) == 0)
		event_del(m->wev);
	if (m->dead)
		tm_close(m);
}

/* Write now, or queue behind what is already waiting. */
static void
tm_write(struct tmm *m, const char *buf, size_t len)
{
	ssize_t	 n = 0;

	if (m->dead || m->fd == -1)
		return;
	if (m->out == NULL || evbuffer_get_length(m->out) == 0) {
		n = write(m->fd, buf, len);
		if (n == (ssize_t)len)
			return;
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			m->dead = 1;
			return;
		}
		if (n < 0)
			n = 0;
	}
	if (m->out == NULL)
		m->out = evbuffer_new();
	evbuffer_add(m->out, buf + n, len - (size_t)n);
	event_add(m->wev, NULL);
}

/* Count an error message by kind (the first TM_KINDS distinct ones). */
static void
tm_kind(struct tmkinds *k, const char *msg, size_t len)
{
	int	 i;

	if (len >= sizeof k->msg[0])
		len = sizeof k->msg[0] - 1;
	for (i = 0; i < TM_KINDS; i++) {
		if (k->n[i] == 0) {
			memcpy(k->msg[i], msg, len);
			k->msg[i][len] = '\0';
			k->n[i] = 1;
			return;
		}
		if (strncmp(k->msg[i], msg, len) == 0 &&
		    k->msg[i][len] == '\0') {
			k->n[i]++;
			return;
		}
	}
	k->other++;
}

/* {"message": count, ...} */
static json_t *
tm_kinds_json(const struct tmkinds *k)
{
	json_t	*o = json_object();
	int	 i;

	for (i = 0; i < TM_KINDS && k->n[i] != 0; i++)
		json_object_set_new(o, k->msg[i],
		    json_integer((json_int_t)k->n[i]));
	if (k->other != 0)
		json_object_set_new(o, "(other)",
		    json_integer((json_int_t)k->other));
	return o;
}

/* A miner failed to connect or log in, or dropped: count and close. */
static void
tm_fail(struct tmm *m, uint64_t *counter, const char *why)
{
	int	 was = m->state;

	if (was == TM_CLOSED)
		return;
	(*counter)++;
	tm_kind(&tm.fail_kinds, why, strlen(why));
	tm_close(m);
	if (was != TM_READY)
		tm_settle();
}

/* Release a miner's socket; its outstanding shares are forgotten. */
static void
tm_close(struct tmm *m)
{
	if (m->state == TM_CLOSED)
		return;
	m->state = TM_CLOSED;
	if (m->t_switch != 0)
		tm.sw_got--;	/* counted among those still logged in */
	tm.outstanding -= (uint64_t)m->npend;
	m->npend = 0;
	if (m->rev != NULL)
		event_free(m->rev);
	if (m->wev != NULL)
		event_free(m->wev);
	m->rev = m->wev = NULL;
	if (m->out != NULL)
		evbuffer_free(m->out);
	m->out = NULL;
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	lbuf_free(&m->lb);
}

/* One more miner logged in or failed; report "ready" after the last. */
static void
tm_settle(void)
{
	json_t	*o;

	tm.settled++;
	if (tm.ready_sent || tm.settled < tm.a->count)
		return;
	tm.ready_sent = 1;
	event_del(tm.timeout_ev);
	o = json_pack("{s:I,s:I,s:I,s:I,s:I}", "logged_in",
	    (json_int_t)tm.logged_in, "connect_errors",
	    (json_int_t)tm.connect_errors, "login_errors",
	    (json_int_t)tm.login_errors, "wall_ns",
	    (json_int_t)((tm.t_last_login > tm.t0 ? tm.t_last_login : tm.t0) -
	    tm.t0), "cpu_ns", (json_int_t)bench_cpu_self());
	tm_report("ready", o);
}

/* Connections or logins that took too long. */
static void
tm_timeouts(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	 now = bench_now(), limit;
	int		 i;

	(void)fd;
	(void)what;
	(void)arg;
	limit = (uint64_t)tm.a->login_timeout_ms * 1000000ull;
	for (i = 0; i < tm.launched; i++) {
		struct tmm *m = &tm.m[i];
		if ((m->state == TM_CONNECTING || m->state == TM_LOGIN) &&
		    now - m->t_start > limit)
			tm_fail(m, m->state == TM_CONNECTING ?
			    &tm.connect_errors : &tm.login_errors,
			    "timed out");
	}
}

/* Readable: one read, then the complete lines. */
static void
tm_read(evutil_socket_t fd, short what, void *arg)
{
	struct tmm	*m = (struct tmm *)arg;
	ssize_t		 n;
	int		 rc;

	(void)what;
	n = read(fd, tm.scratch, BENCH_SCRATCH);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		if (m->state == TM_READY) {
			tm_fail(m, &tm.drops, n == 0 ? "closed by peer" :
			    strerror(errno));
		} else
			tm_fail(m, &tm.login_errors, n == 0 ?
			    "closed before login reply" : strerror(errno));
		return;
	}
	if (n < 0)
		return;
	rc = lbuf_feed(&m->lb, tm.scratch, (size_t)n, tm_line, m);
	if (m->state == TM_CLOSED)
		return;
	if (rc == -1 || m->dead) {
		if (m->state == TM_READY)
			tm_fail(m, &tm.drops, "protocol error or write failed");
		else
			tm_fail(m, &tm.login_errors, "protocol error");
	}
}

/*
 * One line. Replies start {"id":N (sluice and the test pool both write
 * the id first); job pushes carry "method":"job". Login replies are
 * parsed fully, the rest with the scanners.
 */
static int
tm_line(void *arg, char *line, size_t len)
{
	struct tmm	*m = (struct tmm *)arg;
	const char	*jid, *blob, *target;
	size_t		 jl, bl, tl;
	int64_t		 id;
	uint64_t	 seq, ns, now;
	struct tmbcast	*b;

	if (m->state == TM_CLOSED || m->dead)
		return -1;
	if (bench_jint_first(line, len, &id) == 0) {
		if (m->state == TM_LOGIN && id == 1)
			tm_login_reply(m, line, len);
		else
			tm_share_reply(m, id, line, len);
		return m->state == TM_CLOSED ? -1 : 0;
	}
	if (memmem(line, len, "\"method\":\"job\"", 14) == NULL)
		return 0;
	now = bench_now();
	if ((jid = bench_jstr(line, len, "job_id", &jl)) == NULL ||
	    (blob = bench_jstr(line, len, "blob", &bl)) == NULL ||
	    (target = bench_jstr(line, len, "target", &tl)) == NULL)
		return -1;
	if (m->state != TM_READY)
		return 0;
	tm.pushes++;
	if (tm.a->switch_prefix != NULL && jl >= tm.sw_plen &&
	    memcmp(jid, tm.a->switch_prefix, tm.sw_plen) == 0) {
		/* The switched-to pool's job: timed against "switch". */
		if (m->t_switch == 0) {
			m->t_switch = now;
			if (++tm.sw_got >= (uint64_t)tm.sw_want && tm.sw_armed)
				tm_switch_report();
		}
	} else if (bench_jobid_time(jid, jl, &seq, &ns) == 0 && ns <= now) {
		b = &tm.bcast[seq % TM_BCAST];
		if (b->h == NULL || b->seq != seq) {
			if (b->h == NULL)
				b->h = hist_new();
			else
				memset(b->h, 0, sizeof *b->h);
			b->seq = seq;
		}
		hist_add(b->h, now - ns);
	} else
		tm.foreign_pushes++;
	tm_set_job(m, jid, jl, blob, bl, target, tl);
	return 0;
}

/* Keep a job: its id, NiceHash byte and the result value that meets it. */
static void
tm_set_job(struct tmm *m, const char *jid, size_t jl, const char *blob,
    size_t bl, const char *target, size_t tl)
{
	unsigned int	 v;
	char		 b[3];

	if (jl >= sizeof m->job_id)
		jl = sizeof m->job_id - 1;
	memcpy(m->job_id, jid, jl);
	m->job_id[jl] = '\0';
	m->slot = 0;
	if (bl >= 86) {
		b[0] = blob[84];
		b[1] = blob[85];
		b[2] = '\0';
		if (sscanf(b, "%2x", &v) == 1)
			m->slot = (int)v;
	}
	m->diff = stratum_target_diff(target, tl);
	if (m->diff == 0)
		m->diff = 1;
	m->r = UINT64_MAX / (m->diff + 1);
	m->has_job = 1;
}

/* The login reply: session id and first job, or a refusal. */
static void
tm_login_reply(struct tmm *m, char *line, size_t len)
{
	json_error_t	 err;
	json_t		*o, *res, *job, *e;
	const char	*sid, *jid, *blob, *target, *msg;

	if ((o = json_loadb(line, len, 0, &err)) == NULL) {
		tm_fail(m, &tm.login_errors, "malformed login reply");
		return;
	}
	res = json_object_get(o, "result");
	e = json_object_get(o, "error");
	if (e != NULL && !json_is_null(e)) {
		msg = json_string_value(json_object_get(e, "message"));
		tm_fail(m, &tm.login_errors, msg != NULL ? msg : "login error");
		json_decref(o);
		return;
	}
	job = json_object_get(res, "job");
	sid = json_string_value(json_object_get(res, "id"));
	jid = json_string_value(json_object_get(job, "job_id"));
	blob = json_string_value(json_object_get(job, "blob"));
	target = json_string_value(json_object_get(job, "target"));
	if (sid == NULL || jid == NULL || blob == NULL || target == NULL ||
	    strlen(sid) >= sizeof m->session) {
		tm_fail(m, &tm.login_errors,
		    "login reply without session or job");
		json_decref(o);
		return;
	}
	snprintf(m->session, sizeof m->session, "%s", sid);
	tm_set_job(m, jid, strlen(jid), blob, strlen(blob), target,
	    strlen(target));
	/* On the new coin from the start: "early" if a switch is timed. */
	if (tm.sw_plen > 0 && strncmp(jid, tm.a->switch_prefix,
	    tm.sw_plen) == 0) {
		m->t_switch = bench_now();
		tm.sw_got++;
	}
	json_decref(o);
	m->state = TM_READY;
	m->reqid = 1;
	tm.logged_in++;
	tm.t_last_login = bench_now();
	hist_add(tm.h_login, tm.t_last_login - m->t_login);
	tm_settle();
	if (tm.phase == TM_PHASE_SATURATE)
		tm_submit(m);
}

/* The answer to a submit: latency, OK or error by message. */
static void
tm_share_reply(struct tmm *m, int64_t id, char *line, size_t len)
{
	const char	*msg;
	size_t		 ml;
	uint64_t	 now = bench_now();
	int		 i;

	for (i = 0; i < m->npend; i++) {
		if (m->pend[i].id == (uint32_t)id)
			break;
	}
	if (i == m->npend)
		return;		/* keepalived, or already forgotten */
	hist_add(tm.ph_lat, now - m->pend[i].t);
	m->pend[i] = m->pend[--m->npend];
	tm.outstanding--;
	if (memmem(line, len, "\"error\":null", 12) != NULL &&
	    memmem(line, len, "\"status\":\"OK\"", 13) != NULL)
		tm.ph_ok++;
	else {
		tm.ph_err++;
		if ((msg = bench_jstr(line, len, "message", &ml)) != NULL)
			tm_kind(&tm.ph_kinds, msg, ml);
		else
			tm_kind(&tm.ph_kinds, "(no message)", 12);
	}
	if (tm.phase == TM_PHASE_SATURATE && m->npend < tm.window)
		tm_submit(m);
}

/* Submit one share for the miner's current job. */
static void
tm_submit(struct tmm *m)
{
	char		 line[512];
	uint32_t	 nonce;
	uint64_t	 r = m->r;
	int		 n;

	if (m->state != TM_READY || !m->has_job || m->npend >= TM_WINDOW_MAX)
		return;
	nonce = (m->nonce++ & 0xffffff) | (uint32_t)m->slot << 24;
	m->reqid++;
	n = snprintf(line, sizeof line, "{\"id\":%u,\"jsonrpc\":\"2.0\","
	    "\"method\":\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":\"%s\","
	    "\"nonce\":\"%02x%02x%02x%02x\",\"result\":\""
	    "000000000000000000000000000000000000000000000000"
	    "%02x%02x%02x%02x%02x%02x%02x%02x\",\"algo\":\"rx/0\"}}\n",
	    m->reqid, m->session, m->job_id, nonce & 0xff, (nonce >> 8) & 0xff,
	    (nonce >> 16) & 0xff, nonce >> 24,
	    (unsigned)(r & 0xff), (unsigned)((r >> 8) & 0xff),
	    (unsigned)((r >> 16) & 0xff), (unsigned)((r >> 24) & 0xff),
	    (unsigned)((r >> 32) & 0xff), (unsigned)((r >> 40) & 0xff),
	    (unsigned)((r >> 48) & 0xff), (unsigned)(r >> 56));
	if (n <= 0 || (size_t)n >= sizeof line)
		return;
	m->pend[m->npend].id = m->reqid;
	m->pend[m->npend].t = bench_now();
	m->npend++;
	tm.outstanding++;
	tm.ph_sent++;
	tm_write(m, line, (size_t)n);
	if (m->dead)
		tm_fail(m, &tm.drops, "write failed");
}

/* The next miner, round-robin, that can take a share; NULL if none. */
static struct tmm *
tm_next_miner(void)
{
	struct tmm	*m;
	int		 scanned;

	for (scanned = 0; scanned < tm.a->count; scanned++) {
		m = &tm.m[tm.rr];
		tm.rr = (tm.rr + 1) % tm.a->count;
		if (m->state == TM_READY && m->has_job &&
		    m->npend < tm.window)
			return m;
	}
	return NULL;
}

/* Rate phase: send what is due, round-robin over miners with room. */
static void
tm_share_tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	 due;
	struct tmm	*m;

	(void)fd;
	(void)what;
	(void)arg;
	if (tm.phase != TM_PHASE_RATE)
		return;
	due = (uint64_t)(tm.rate * (double)(bench_now() - tm.ph_t0) / 1e9);
	while (tm.ph_due < due) {
		if ((m = tm_next_miner()) == NULL) {
			/* Nobody has room: the offered load is not met. */
			tm.ph_skipped += due - tm.ph_due;
			tm.ph_due = due;
			break;
		}
		tm_submit(m);
		tm.ph_due++;
	}
}

/*
 * Start the steady phase: RATE shares a second over PROCS processes, this
 * one's ticks at START + index/RATE + k*PROCS/RATE, one share each.
 */
static void
tm_steady_begin(double rate, int procs, uint64_t start)
{
	struct itimerspec	 its;
	uint64_t		 gap;

	tm_phase_begin(TM_PHASE_STEADY);
	if (start > tm.ph_t0)
		tm.ph_t0 = start;	/* the phase's time starts at a tick */
	tm.window = TM_WINDOW_MAX;
	memset(tm.st_burst, 0, sizeof tm.st_burst);
	memset(tm.st_late, 0, sizeof *tm.st_late);
	tm.st_wakeups = 0;
	if (rate <= 0 || procs < 1)
		return;
	gap = (uint64_t)(1e9 / rate + 0.5);
	tm.st_period = gap * (uint64_t)procs;
	tm.st_first = start + gap * (uint64_t)tm.a->index;
	if (tm.st_fd == -1) {
		/* The wakeups of a 50 us default slack would bunch up. */
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
		tm.st_fd = timerfd_create(CLOCK_MONOTONIC,
		    TFD_NONBLOCK | TFD_CLOEXEC);
		if (tm.st_fd == -1)
			bench_fatal("miners: timerfd_create");
		tm.st_ev = event_new(tm.base, tm.st_fd, EV_READ | EV_PERSIST,
		    tm_steady_tick, NULL);
	}
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = (time_t)(tm.st_first / 1000000000ull);
	its.it_value.tv_nsec = (long)(tm.st_first % 1000000000ull);
	its.it_interval.tv_sec = (time_t)(tm.st_period / 1000000000ull);
	its.it_interval.tv_nsec = (long)(tm.st_period % 1000000000ull);
	if (timerfd_settime(tm.st_fd, TFD_TIMER_ABSTIME, &its, NULL) != 0)
		bench_fatal("miners: timerfd_settime");
	event_add(tm.st_ev, NULL);
}

/* Steady phase: one share per tick that has passed since the last. */
static void
tm_steady_tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	 exp, now, due, n = 0;
	struct tmm	*m;

	(void)what;
	(void)arg;
	if (read(fd, &exp, sizeof exp) != (ssize_t)sizeof exp)
		return;
	if (tm.phase != TM_PHASE_STEADY)
		return;
	now = bench_now();
	if (now < tm.st_first)
		return;
	due = (now - tm.st_first) / tm.st_period + 1;
	if (due > tm.ph_due)
		hist_add(tm.st_late, now - (tm.st_first + tm.ph_due *
		    tm.st_period));
	while (tm.ph_due < due) {
		if ((m = tm_next_miner()) == NULL) {
			tm.ph_skipped += due - tm.ph_due;
			tm.ph_due = due;
			break;
		}
		tm_submit(m);
		tm.ph_due++;
		n++;
	}
	if (n == 0)
		return;
	tm.st_wakeups++;
	tm.st_burst[n <= 4 ? n - 1 : n <= 8 ? 4 : 5]++;
}

/* What the steady phase's ticks looked like. */
static json_t *
tm_steady_json(void)
{
	json_t	*b = json_array();
	int	 i;

	for (i = 0; i < TM_BURSTS; i++)
		json_array_append_new(b, json_integer(
		    (json_int_t)tm.st_burst[i]));
	return json_pack("{s:I,s:I,s:o,s:o}", "period_ns",
	    (json_int_t)tm.st_period, "wakeups", (json_int_t)tm.st_wakeups,
	    "per_wakeup", b, "late", hist_json(tm.st_late));
}

/* Start a share phase: zero its counters. */
static void
tm_phase_begin(enum tm_phase p)
{
	tm.phase = p;
	tm.ph_t0 = bench_now();
	tm.ph_cpu0 = bench_cpu_self();
	tm.ph_due = tm.ph_sent = tm.ph_ok = tm.ph_err = tm.ph_skipped = 0;
	memset(tm.ph_lat, 0, sizeof *tm.ph_lat);
	memset(&tm.ph_kinds, 0, sizeof tm.ph_kinds);
}

/* After "stop": report once every reply is in, or the drain time is up. */
static void
tm_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	json_t	*o;

	(void)fd;
	(void)what;
	(void)arg;
	if (tm.outstanding > 0 && bench_now() < tm.ph_drain_until)
		return;
	event_del(tm.drain_ev);
	o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:I,s:I}",
	    "answered_at_stop", (json_int_t)tm.ph_answered_at_stop,
	    "active_ns", (json_int_t)tm.ph_active_ns,
	    "sent", (json_int_t)tm.ph_sent, "ok", (json_int_t)tm.ph_ok,
	    "errors", (json_int_t)tm.ph_err,
	    "skipped", (json_int_t)tm.ph_skipped,
	    "unanswered", (json_int_t)tm.outstanding,
	    "lat", hist_json(tm.ph_lat),
	    "errors_by", tm_kinds_json(&tm.ph_kinds),
	    "cpu_ns", (json_int_t)(bench_cpu_self() - tm.ph_cpu0),
	    "wall_ns", (json_int_t)(bench_now() - tm.ph_t0));
	if (tm.st_period != 0)
		json_object_set_new(o, "steady", tm_steady_json());
	tm.st_period = 0;
	tm.phase = TM_PHASE_NONE;
	tm_report("stopped", o);
}

/*
 * After "switch": every 10 ms, recount the miners still logged in (one may
 * have dropped) and report when each has its new job or at the deadline.
 */
static void
tm_switch_tick(evutil_socket_t fd, short what, void *arg)
{
	int	 i, n = 0;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = 0; i < tm.a->count; i++)
		n += tm.m[i].state == TM_READY;
	tm.sw_want = n;
	if (tm.sw_got >= (uint64_t)n || bench_now() >= tm.sw_deadline)
		tm_switch_report();
}

/*
 * "switched": of the miners logged in, how many have a job of the new
 * pool, and how long after T0 each got it (before T0: "early", which
 * means the miner was on that pool already).
 */
static void
tm_switch_report(void)
{
	struct hist	*h = hist_new();
	struct tmm	*m;
	uint64_t	 ready = 0, got = 0, early = 0;
	int		 i;

	tm.sw_armed = 0;
	event_del(tm.sw_ev);
	for (i = 0; i < tm.a->count; i++) {
		m = &tm.m[i];
		if (m->state != TM_READY)
			continue;
		ready++;
		if (m->t_switch == 0)
			continue;
		got++;
		if (m->t_switch < tm.sw_t0)
			early++;
		else
			hist_add(h, m->t_switch - tm.sw_t0);
	}
	tm_report("switched", json_pack("{s:I,s:I,s:I,s:o}", "miners",
	    (json_int_t)ready, "got", (json_int_t)got, "early",
	    (json_int_t)early, "lat", hist_json(h)));
	hist_free(h);
}

/* Commands from the coordinator. */
static void
tm_ctl_read(evutil_socket_t fd, short what, void *arg)
{
	char	 buf[4096];
	ssize_t	 n;

	(void)what;
	(void)arg;
	n = read(fd, buf, sizeof buf);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		_exit(2);	/* the coordinator is gone */
	if (n > 0)
		lbuf_feed(&tm.ctl_lb, buf, (size_t)n, tm_ctl_line, NULL);
}

/* One command. */
static int
tm_ctl_line(void *arg, char *line, size_t len)
{
	struct timeval	 ms = { 0, 1000 }, ten = { 0, 10000 };
	struct itimerspec its;
	unsigned long long start, t0, deadline;
	double		 rate = 0;
	int		 window = 1, procs, i, j;

	(void)arg;
	(void)len;
	if (sscanf(line, "shares %lf %d", &rate, &window) >= 1) {
		tm_phase_begin(TM_PHASE_RATE);
		tm.rate = rate;
		tm.window = window < 1 ? 1 : window > TM_WINDOW_MAX ?
		    TM_WINDOW_MAX : window;
		event_add(tm.share_ev, &ms);
	} else if (sscanf(line, "steady %lf %d %llu", &rate, &procs,
	    &start) == 3) {
		tm_steady_begin(rate, procs, (uint64_t)start);
	} else if (sscanf(line, "saturate %d", &window) == 1) {
		tm_phase_begin(TM_PHASE_SATURATE);
		tm.window = window < 1 ? 1 : window > TM_WINDOW_MAX ?
		    TM_WINDOW_MAX : window;
		for (j = 0; j < tm.window; j++) {
			for (i = 0; i < tm.a->count; i++)
				tm_submit(&tm.m[i]);
		}
	} else if (sscanf(line, "switch %llu %llu", &t0, &deadline) == 2) {
		tm.sw_t0 = (uint64_t)t0;
		tm.sw_deadline = (uint64_t)deadline;
		tm.sw_armed = 1;
		event_add(tm.sw_ev, &ten);
		tm_switch_tick(-1, 0, NULL);
	} else if (strcmp(line, "mark") == 0) {
		tm_report("mark", json_pack("{s:I,s:I,s:I,s:I}", "sent",
		    (json_int_t)tm.ph_sent, "ok", (json_int_t)tm.ph_ok,
		    "errors", (json_int_t)tm.ph_err, "at_ns",
		    (json_int_t)bench_now()));
	} else if (strcmp(line, "stop") == 0) {
		event_del(tm.share_ev);
		if (tm.st_fd != -1) {
			event_del(tm.st_ev);
			memset(&its, 0, sizeof its);
			timerfd_settime(tm.st_fd, 0, &its, NULL);
		}
		tm.ph_answered_at_stop = tm.ph_ok + tm.ph_err;
		tm.ph_active_ns = bench_now() - tm.ph_t0;
		tm.phase = TM_PHASE_DRAIN;
		tm.ph_drain_until = bench_now() + TM_DRAIN_MS * 1000000ull;
		event_add(tm.drain_ev, &ten);
	} else if (strcmp(line, "finish") == 0)
		tm_summary();
	return 0;
}

/* Send "KIND {json}\n" to the coordinator, blocking until written. */
static void
tm_report(const char *kind, json_t *o)
{
	struct pollfd	 pfd;
	char		*s, *line;
	size_t		 len, off = 0;
	ssize_t		 n;
	int		 k;

	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL || (k = asprintf(&line, "%s %s\n", kind, s)) < 0)
		bench_fatalx("miners: cannot encode the %s report", kind);
	free(s);
	len = (size_t)k;
	pfd.fd = tm.a->ctlfd;
	pfd.events = POLLOUT;
	while (off < len) {
		n = write(tm.a->ctlfd, line + off, len - off);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && (errno == EAGAIN || errno == EINTR))
			poll(&pfd, 1, 1000);
		else
			_exit(2);
	}
	free(line);
}

/* The final report: everything measured; then exit (the kernel closes). */
static void
tm_summary(void)
{
	json_t	*o, *bc;
	int	 i, open_ = 0;

	bc = json_array();
	for (i = 0; i < TM_BCAST; i++) {
		if (tm.bcast[i].h != NULL && tm.bcast[i].h->n > 0)
			json_array_append_new(bc, json_pack("{s:I,s:o}", "seq",
			    (json_int_t)tm.bcast[i].seq, "h",
			    hist_json(tm.bcast[i].h)));
	}
	for (i = 0; i < tm.a->count; i++)
		open_ += tm.m[i].state == TM_READY;
	o = json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:i,s:o,s:o,s:o,s:o,s:I,s:I,"
	    "s:I}",
	    "index", tm.a->index, "count", tm.a->count,
	    "logged_in", (json_int_t)tm.logged_in,
	    "connect_errors", (json_int_t)tm.connect_errors,
	    "login_errors", (json_int_t)tm.login_errors,
	    "drops", (json_int_t)tm.drops, "open", open_,
	    "login", hist_json(tm.h_login), "connect", hist_json(tm.h_connect),
	    "broadcasts", bc, "fail_kinds", tm_kinds_json(&tm.fail_kinds),
	    "pushes", (json_int_t)tm.pushes,
	    "foreign_pushes", (json_int_t)tm.foreign_pushes,
	    "cpu_ns", (json_int_t)bench_cpu_self());
	tm_report("summary", o);
	_exit(0);
}
