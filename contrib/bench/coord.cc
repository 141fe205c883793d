/*
 * coord.cc: "sluice-bench miners", the coordinator. It forks the miner
 * processes (tminer.cc) so that none holds more than --per-proc sockets,
 * drives them through the phases of a run, samples the watched process
 * (the proxy) at each phase boundary, merges what the children measured
 * and writes one JSON summary.
 *
 * Phases, each optional but the first:
 *	login	  children connect and log in at --login-rate (split evenly);
 *		  "ready" when every miner is in or has failed
 *	fanout	  --broadcasts K: "job" on the pool's control port K times,
 *		  --broadcast-interval-ms apart; children time each push
 *	switch	  --switch COIN: one POST /switch?puname=USER&coin=COIN to
 *		  the proxy's API (--switch-api, HTTP Basic --switch-auth);
 *		  children time each miner's first job from the new coin's
 *		  pool (its ids start with --switch-prefix) from the POST,
 *		  and the proxy's CPU is sampled before the POST and when
 *		  the last miner has its job
 *	shares	  --share-rate S for --duration T seconds (aggregate rate),
 *		  sent by each process every millisecond: bursts
 *	steady	  --steady T seconds at --steady-rate S (else the share
 *		  rate, else 20,000): one share per timer tick, the ticks of
 *		  all the processes interleaved, so that the proxy sees one
 *		  share at a time
 *	saturate  --saturate T: every miner keeps --saturate-window shares
 *		  in flight for T seconds
 *	hold	  --hold T: stay connected (the demo)
 *
 * The steady phase, and the shares phase when --syscalls is given, start
 * with measured windows: after a second of warm-up, --measure-window
 * seconds (4) bracketed by a sample of the watched process and a "mark"
 * of every child's counts, for its CPU per share over exactly those
 * shares; then, with --syscalls perf or strace, as long again with the
 * tracer counting the process's system calls (scount.cc), their CPU and
 * shares alike. The phase's T seconds, measured as without the windows
 * (CPU over the shares answered in them and their drain), come after.
 *
 * The coordinator itself only uses poll(2) on the children's socketpairs
 * and, for broadcasts, one blocking control connection; it does no
 * stratum work, so it never competes with the miners for a core.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bench.h"

#define COORD_MAX_PROCS	64
#define COORD_MAX_BCAST	256	/* broadcasts reported per run */
#define COORD_WARMUP_MS	1000	/* phase start to its measured window */
#define COORD_SWITCH_MS	15000	/* switch request to the last new job */

/* One broadcast's merged fan-out latencies. */
struct bcast {
	uint64_t	 seq;
	struct hist	*h;
};

struct child {
	pid_t		 pid;
	int		 fd;
	int		 dead;
	char		*buf;		/* received, not yet a full line */
	size_t		 len;
	size_t		 cap;
	char		 kind[16];	/* last line's kind */
	json_t		*msg;		/* and its JSON */
};

struct coord_opts {
	const char	*host;
	int		 port;
	int		 count;
	uint32_t	 src_first;
	uint32_t	 src_count;
	double		 login_rate;
	int		 login_timeout_ms;
	const char	*user;
	int		 procs;
	int		 per_proc;
	int		 broadcasts;
	int		 bcast_interval_ms;
	int		 control_port;
	double		 share_rate;
	double		 duration;
	int		 window;
	double		 saturate;
	int		 sat_window;
	double		 hold;
	double		 steady;
	double		 steady_rate;
	double		 measure_window;
	const char	*syscalls;	/* "perf", "strace" or NULL */
	const char	*switch_coin;
	int		 switch_api;	/* the proxy's HTTP API port */
	const char	*switch_auth;	/* user:password */
	const char	*switch_prefix;	/* the new coin's job ids */
	int		 switch_control;	/* its pool's control port */
	pid_t		 watch;
	const char	*json_path;
	const char	*label;
	int		 quiet;
};

static struct child	 children[COORD_MAX_PROCS];
static int		 nchildren;
static struct scount	 coord_sc;	/* a tracer, while it runs */
static volatile sig_atomic_t coord_signalled;

static void	 coord_usage(void) NORETURN;
static void	 coord_on_signal(int);
static void	 coord_abort(const char *) NORETURN;
static void	 coord_poll(int timeout_ms);
static void	 coord_sleep(uint64_t ms);
static void	 coord_wait(const char *kind, uint64_t timeout_ms);
static void	 coord_send(const char *);
static void	 coord_sample(const struct coord_opts *, json_t *,
		     const char *, struct procsample *);
static json_t	*coord_phase(const struct coord_opts *, const char *cmd,
		     double seconds, double offered, int measure,
		     json_t *samples, const char *s0, const char *s1);
static void	 coord_mark(uint64_t *sent, uint64_t *answered);
static json_t	*coord_window(const struct coord_opts *, double seconds,
		     const char *tool);
static json_t	*coord_fanout(const struct coord_opts *, json_t *);
static json_t	*coord_switch(const struct coord_opts *, json_t *);
static int	 coord_http(int, const char *, uint64_t, char *, size_t);
static json_t	*coord_pool_stats(int);
static void	 coord_add_kinds(json_t *, json_t *);
static int	 coord_bcast_cmp(const void *, const void *);
static void	 coord_note(const struct coord_opts *, const char *, ...)
		     PRINTFLIKE(2, 3);

/* Print usage and exit 1. */
static void
coord_usage(void)
{
	fprintf(stderr,
	    "usage: sluice-bench miners --port P --count N [options]\n"
	    "  --host H                  target address (127.0.0.1)\n"
	    "  --src A[-B]               sources (127.0.0.1-127.0.0.8)\n"
	    "  --login-rate R            logins/s, all processes (2000)\n"
	    "  --login-timeout-ms MS     per miner (30000)\n"
	    "  --user U                  login (bench-wallet)\n"
	    "  --procs K | --per-proc M  processes (ceil(N/M), M = 9000)\n"
	    "  --broadcasts K --control-port C [--broadcast-interval-ms MS]\n"
	    "  --switch COIN --switch-api PORT --switch-auth USER:PASS\n"
	    "      --switch-prefix P [--switch-control-port C]\n"
	    "                            switch the user to COIN, time the\n"
	    "                            jobs whose ids start with P\n"
	    "  --share-rate S --duration T [--window W]\n"
	    "  --steady T [--steady-rate S]  one share per tick (the rate,\n"
	    "                            else 20000)\n"
	    "  --saturate T [--saturate-window W]\n"
	    "  --syscalls perf|strace    count the watched process's calls\n"
	    "  --measure-window T        seconds counted per phase (4)\n"
	    "  --hold T                  stay connected T seconds at the end\n"
	    "  --watch-pid PID           sample PID's CPU, memory per phase\n"
	    "  --json FILE  --label NAME  --quiet\n");
	exit(1);
}

/* SIGINT/SIGTERM: stop at the next poll. */
static void
coord_on_signal(int sig)
{
	(void)sig;
	coord_signalled = 1;
}

/* Kill the children and exit. */
static void
coord_abort(const char *why)
{
	int	 i;

	scount_kill(&coord_sc);
	for (i = 0; i < nchildren; i++) {
		if (children[i].pid > 0)
			kill(children[i].pid, SIGKILL);
	}
	for (i = 0; i < nchildren; i++) {
		if (children[i].pid > 0)
			waitpid(children[i].pid, NULL, 0);
	}
	bench_fatalx("miners: %s", why);
}

/* A progress note on stderr. */
static void
coord_note(const struct coord_opts *o, const char *fmt, ...)
{
	va_list	 ap;

	if (o->quiet)
		return;
	fprintf(stderr, "miners%s%s: ", o->label ? " " : "",
	    o->label ? o->label : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Read whatever the children sent; parse complete lines. */
static void
coord_poll(int timeout_ms)
{
	struct pollfd	 pfd[COORD_MAX_PROCS];
	struct child	*c;
	char		*nl, *sp;
	ssize_t		 n;
	int		 i, rc;
	json_error_t	 err;

	if (coord_signalled)
		coord_abort("interrupted");
	for (i = 0; i < nchildren; i++) {
		pfd[i].fd = children[i].dead ? -1 : children[i].fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	rc = poll(pfd, (nfds_t)nchildren, timeout_ms);
	if (rc < 0 && errno == EINTR)
		return;
	for (i = 0; i < nchildren && rc > 0; i++) {
		if (pfd[i].revents == 0)
			continue;
		c = &children[i];
		if (c->len + 65536 > c->cap) {
			c->cap = c->cap * 2 + 65536;
			if ((c->buf = (char *)realloc(c->buf, c->cap)) == NULL)
				bench_fatal("realloc");
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (n <= 0) {
			c->dead = 1;
			coord_abort("a miner process exited early");
		}
		c->len += (size_t)n;
		while ((nl = (char *)memchr(c->buf, '\n', c->len)) != NULL) {
			*nl = '\0';
			if ((sp = strchr(c->buf, ' ')) != NULL &&
			    (size_t)(sp - c->buf) < sizeof c->kind) {
				memcpy(c->kind, c->buf, (size_t)(sp - c->buf));
				c->kind[sp - c->buf] = '\0';
				if (c->msg != NULL)
					json_decref(c->msg);
				c->msg = json_loads(sp + 1, 0, &err);
				if (c->msg == NULL)
					coord_abort("bad report from a miner "
					    "process");
			}
			c->len -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->len);
		}
	}
}

/* Sleep, still reading the children. */
static void
coord_sleep(uint64_t ms)
{
	uint64_t	 end = bench_now() + ms * 1000000ull, now;

	while ((now = bench_now()) < end)
		coord_poll((int)((end - now) / 1000000ull) + 1);
}

/* Wait until every child's last report is of this kind. */
static void
coord_wait(const char *kind, uint64_t timeout_ms)
{
	uint64_t	 end = bench_now() + timeout_ms * 1000000ull;
	int		 i, done;
	char		 why[128];

	for (;;) {
		for (i = 0, done = 0; i < nchildren; i++)
			done += strcmp(children[i].kind, kind) == 0;
		if (done == nchildren)
			return;
		if (bench_now() >= end) {
			snprintf(why, sizeof why, "timed out waiting for "
			    "\"%s\" (%d of %d processes)", kind, done,
			    nchildren);
			coord_abort(why);
		}
		coord_poll(100);
	}
}

/* Send a command line to every child. */
static void
coord_send(const char *line)
{
	size_t	 len = strlen(line);
	int	 i;

	for (i = 0; i < nchildren; i++) {
		children[i].kind[0] = '\0';
		if (write(children[i].fd, line, len) != (ssize_t)len)
			coord_abort("cannot write to a miner process");
	}
}

/* Sample the watched process into samples[name]. */
static void
coord_sample(const struct coord_opts *o, json_t *samples, const char *name,
    struct procsample *ps)
{
	struct procsample	 tmp;

	if (ps == NULL)
		ps = &tmp;
	if (o->watch <= 0) {
		memset(ps, 0, sizeof *ps);
		return;
	}
	bench_proc_sample(o->watch, ps);
	json_object_set_new(samples, name, bench_proc_json(ps));
}

/* Add the counts of one {"message": n} object into another. */
static void
coord_add_kinds(json_t *into, json_t *from)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(from, k, v) {
		json_object_set_new(into, k, json_integer(
		    json_integer_value(json_object_get(into, k)) +
		    json_integer_value(v)));
	}
}

/* Every child's counts of the running phase: shares sent, answered. */
static void
coord_mark(uint64_t *sent, uint64_t *answered)
{
	json_t	*m;
	int	 i;

	coord_send("mark\n");
	coord_wait("mark", 10000);
	*sent = *answered = 0;
	for (i = 0; i < nchildren; i++) {
		m = children[i].msg;
		*sent += (uint64_t)json_integer_value(json_object_get(m,
		    "sent"));
		*answered += (uint64_t)json_integer_value(json_object_get(m,
		    "ok")) + (uint64_t)json_integer_value(json_object_get(m,
		    "errors"));
	}
}

/*
 * A measured window of a phase: the watched process's CPU and, with a
 * tool, its system calls, over the shares answered in between.
 */
static json_t *
coord_window(const struct coord_opts *o, double seconds, const char *tool)
{
	struct procsample	 a, b;
	uint64_t		 s0, s1, a0, a1, end;
	char			 self[1024];
	ssize_t			 n;
	json_t			*out = json_object(), *counts = NULL;
	double			 shares, sec, epw;
	int			 rc = 0;

	if (tool != NULL) {
		n = readlink("/proc/self/exe", self, sizeof self - 1);
		self[n > 0 ? n : 0] = '\0';
		if (n <= 0 || scount_start(&coord_sc, tool, o->watch,
		    seconds, self) != 0) {
			json_object_set_new(out, "syscalls_error",
			    json_sprintf("cannot start %s", tool));
			scount_kill(&coord_sc);
		} else {
			/* The tracer sets up its counters first. */
			end = bench_now() + 15000000000ull;
			while ((rc = scount_wait(&coord_sc, 0, 20)) == 0 &&
			    bench_now() < end)
				coord_poll(0);
			if (rc != 1) {
				json_object_set_new(out, "syscalls_error",
				    json_sprintf("%s did not start counting",
				    tool));
				json_decref(scount_finish(&coord_sc));
			}
		}
	}
	bench_proc_sample(o->watch, &a);
	coord_mark(&s0, &a0);
	if (rc == 1) {
		end = bench_now() + (uint64_t)(seconds * 1e9) + 15000000000ull;
		while (scount_wait(&coord_sc, 1, 20) == 0 && bench_now() < end)
			coord_poll(0);
	} else
		coord_sleep((uint64_t)(seconds * 1000));
	bench_proc_sample(o->watch, &b);
	coord_mark(&s1, &a1);
	if (rc == 1 && (counts = scount_finish(&coord_sc)) == NULL)
		json_object_set_new(out, "syscalls_error",
		    json_sprintf("no counts from %s", tool));

	shares = (double)(a1 - a0);
	sec = (double)(b.at_ns - a.at_ns) / 1e9;
	json_object_set_new(out, "seconds", json_real(round(1000 * sec) /
	    1000));
	json_object_set_new(out, "sent", json_integer((json_int_t)(s1 - s0)));
	json_object_set_new(out, "shares", json_integer((json_int_t)(a1 - a0)));
	json_object_set_new(out, "per_second", json_real(sec <= 0 ? 0 :
	    round(shares / sec)));
	/* Near rate times latency while the proxy keeps up; else growing. */
	json_object_set_new(out, "in_flight_at_end",
	    json_integer((json_int_t)(s1 - a1)));
	if (a.ok && b.ok && shares > 0) {
		json_object_set_new(out, "proxy_cpu_ns",
		    json_integer((json_int_t)(b.cpu_ns - a.cpu_ns)));
		json_object_set_new(out, "proxy_cores", json_real(
		    round(100.0 * (double)(b.cpu_ns - a.cpu_ns) /
		    (double)(b.at_ns - a.at_ns)) / 100.0));
		json_object_set_new(out, "proxy_cpu_per_share_us", json_real(
		    round(10.0 * (double)(b.cpu_ns - a.cpu_ns) / 1000.0 /
		    shares) / 10.0));
	}
	if (counts != NULL) {
		json_object_set_new(out, "syscalls_tool",
		    json_string(tool));
		json_object_set_new(out, "syscalls_seconds", json_real(
		    round((double)(coord_sc.t_end - coord_sc.t_start) / 1e6) /
		    1000));
		json_object_set_new(out, "syscalls_per_share",
		    scount_per_share(counts, shares));
		/* One epoll_wait per turn of the event loop. */
		epw = (double)(json_integer_value(json_object_get(counts,
		    "epoll_wait")) + json_integer_value(json_object_get(counts,
		    "epoll_pwait")) + json_integer_value(json_object_get(counts,
		    "epoll_pwait2")));
		if (epw > 0)
			json_object_set_new(out, "shares_per_loop_turn",
			    json_real(round(100.0 * shares / epw) / 100.0));
		json_object_set_new(out, "syscalls", counts);
	}
	return out;
}

/*
 * One share phase: the command to every child, the phase's length, then
 * "stop" and the drained reports, merged. Samples the watched process
 * before the command and after the drain, for its CPU per share answered.
 * With measure, first, after a warm-up, a window of CPU alone ("window")
 * and, with --syscalls, one more where the tracer counts
 * ("window_counted"): tracing costs the process some CPU, so the CPU per
 * share comes from the first. Then the phase's length as without them.
 */
static json_t *
coord_phase(const struct coord_opts *o, const char *cmd, double seconds,
    double offered, int measure, json_t *samples, const char *s0,
    const char *s1)
{
	struct procsample	 a, b;
	struct hist		*lat = hist_new(), *late = NULL;
	json_t			*out, *kinds = json_object(), *m, *win = NULL;
	json_t			*wcount = NULL;
	json_t			*st, *e, *arr;
	uint64_t		 sent = 0, ok = 0, errs = 0, skipped = 0;
	uint64_t		 unanswered = 0, wall = 0, cpu = 0, cpumax = 0;
	uint64_t		 steady = 0, active = 0, wakeups = 0;
	uint64_t		 burst[8] = { 0 };
	uint64_t		 base_sent = 0, base = 0;
	uint64_t		 t0, t1, v, end;
	size_t			 k;
	int			 i;

	measure = measure && o->watch > 0;
	if (!measure)
		coord_sample(o, samples, s0, &a);
	t0 = bench_now();
	coord_send(cmd);
	if (measure) {
		coord_sleep(COORD_WARMUP_MS);
		win = coord_window(o, o->measure_window, NULL);
		if (o->syscalls != NULL) {
			wcount = coord_window(o, o->measure_window,
			    o->syscalls);
			/* Under strace the proxy falls behind: let it drain. */
			coord_mark(&base_sent, &base);
			end = bench_now() + 10000000000ull;
			for (v = base_sent; base < v && bench_now() < end;) {
				coord_sleep(50);
				coord_mark(&base_sent, &base);
			}
		}
		/* The phase's own figures start after the windows. */
		coord_sample(o, samples, s0, &a);
		coord_mark(&base_sent, &base);
	}
	coord_sleep((uint64_t)(seconds * 1000));
	t1 = bench_now();
	coord_send("stop\n");
	coord_wait("stopped", 10000);
	coord_sample(o, samples, s1, &b);
	for (i = 0; i < nchildren; i++) {
		m = children[i].msg;
		sent += (uint64_t)json_integer_value(json_object_get(m,
		    "sent"));
		ok += (uint64_t)json_integer_value(json_object_get(m, "ok"));
		errs += (uint64_t)json_integer_value(json_object_get(m,
		    "errors"));
		skipped += (uint64_t)json_integer_value(json_object_get(m,
		    "skipped"));
		unanswered += (uint64_t)json_integer_value(json_object_get(m,
		    "unanswered"));
		hist_load(lat, json_object_get(m, "lat"));
		coord_add_kinds(kinds, json_object_get(m, "errors_by"));
		v = (uint64_t)json_integer_value(json_object_get(m, "wall_ns"));
		wall = v > wall ? v : wall;
		steady += (uint64_t)json_integer_value(json_object_get(m,
		    "answered_at_stop"));
		v = (uint64_t)json_integer_value(json_object_get(m,
		    "active_ns"));
		active = v > active ? v : active;
		v = (uint64_t)json_integer_value(json_object_get(m, "cpu_ns"));
		cpu += v;
		cpumax = v > cpumax ? v : cpumax;
		if ((st = json_object_get(m, "steady")) == NULL)
			continue;
		if (late == NULL)
			late = hist_new();
		hist_load(late, json_object_get(st, "late"));
		wakeups += (uint64_t)json_integer_value(json_object_get(st,
		    "wakeups"));
		json_array_foreach(json_object_get(st, "per_wakeup"), k, e) {
			if (k < 8)
				burst[k] += (uint64_t)json_integer_value(e);
		}
	}
	out = json_object();
	json_object_set_new(out, "offered_per_second", json_real(offered));
	json_object_set_new(out, "seconds", json_real((double)(t1 - t0) / 1e9));
	json_object_set_new(out, "sent", json_integer((json_int_t)sent));
	json_object_set_new(out, "ok", json_integer((json_int_t)ok));
	json_object_set_new(out, "errors", json_integer((json_int_t)errs));
	json_object_set_new(out, "skipped", json_integer((json_int_t)skipped));
	json_object_set_new(out, "unanswered",
	    json_integer((json_int_t)unanswered));
	/* Answers before "stop" over the active time: the steady rate. */
	json_object_set_new(out, "per_second", json_real(active == 0 ? 0 :
	    round((double)steady / ((double)active / 1e9))));
	/* Every answer, the drain included, over the whole phase. */
	json_object_set_new(out, "per_second_with_drain", json_real(wall == 0 ?
	    0 : round((double)(ok + errs) / ((double)wall / 1e9))));
	json_object_set_new(out, "drain_seconds", json_real(
	    round((double)(wall - active) / 1e7) / 100.0));
	json_object_set_new(out, "latency", hist_summary(lat));
	json_object_set_new(out, "errors_by", kinds);
	/* Is the load generator itself the bottleneck? */
	json_object_set_new(out, "bench_cores", json_real(wall == 0 ? 0 :
	    round(100.0 * (double)cpu / (double)wall) / 100.0));
	json_object_set_new(out, "bench_busiest_process", json_real(wall == 0 ?
	    0 : round(100.0 * (double)cpumax / (double)wall) / 100.0));
	if (a.ok && b.ok) {
		json_object_set_new(out, "proxy_cpu_ns",
		    json_integer((json_int_t)(b.cpu_ns - a.cpu_ns)));
		json_object_set_new(out, "proxy_cores", json_real(
		    round(100.0 * (double)(b.cpu_ns - a.cpu_ns) /
		    (double)(b.at_ns - a.at_ns)) / 100.0));
		json_object_set_new(out, "proxy_cpu_per_share_us",
		    json_real(ok + errs <= base ? 0 : round(10.0 *
		    (double)(b.cpu_ns - a.cpu_ns) / 1000.0 /
		    (double)(ok + errs - base)) / 10.0));
		json_object_set_new(out, "proxy_shares",
		    json_integer((json_int_t)(ok + errs - base)));
	}
	if (late != NULL) {
		/* Steady: how many shares each timer wakeup sent, how late. */
		arr = json_array();
		for (k = 0; k < 6; k++)
			json_array_append_new(arr,
			    json_integer((json_int_t)burst[k]));
		json_object_set_new(out, "ticks", json_pack("{s:I,s:s,s:o,s:f,"
		    "s:o}", "wakeups", (json_int_t)wakeups, "per_wakeup_buckets",
		    "1 2 3 4 5-8 9+", "per_wakeup", arr, "one_share_fraction",
		    wakeups == 0 ? 0.0 : round(1000.0 * (double)burst[0] /
		    (double)wakeups) / 1000.0, "late", hist_summary(late)));
		hist_free(late);
	}
	if (win != NULL)
		json_object_set_new(out, "window", win);
	if (wcount != NULL)
		json_object_set_new(out, "window_counted", wcount);
	hist_free(lat);
	return out;
}

/* Order broadcasts by sequence number. */
static int
coord_bcast_cmp(const void *a, const void *b)
{
	const struct bcast	*x = (const struct bcast *)a;
	const struct bcast	*y = (const struct bcast *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The fan-out phase: K job commands to the pool, timed by the children. */
static json_t *
coord_fanout(const struct coord_opts *o, json_t *seqs)
{
	char		 buf[256];
	unsigned long long seq, us;
	size_t		 sent;
	ssize_t		 n;
	int		 fd, i;

	if ((fd = bench_connect_tcp("127.0.0.1", o->control_port, 2000)) == -1)
		coord_abort("cannot connect to the pool's control port");
	for (i = 0; i < o->broadcasts; i++) {
		if (write(fd, "job\n", 4) != 4)
			coord_abort("control port write failed");
		n = read(fd, buf, sizeof buf - 1);
		if (n <= 0)
			coord_abort("control port closed");
		buf[n] = '\0';
		if (sscanf(buf, "ok seq=%llu sent=%zu us=%llu", &seq, &sent,
		    &us) == 3)
			json_array_append_new(seqs, json_pack("{s:I,s:I,s:I}",
			    "seq", (json_int_t)seq, "sent", (json_int_t)sent,
			    "pool_write_us", (json_int_t)us));
		coord_sleep((uint64_t)o->bcast_interval_ms);
	}
	close(fd);
	/* Let the last one arrive everywhere. */
	coord_sleep(o->bcast_interval_ms < 1000 ? 1000 :
	    (uint64_t)o->bcast_interval_ms);
	return seqs;
}

/*
 * Send a request on a connected socket and read the answer until the
 * server closes or the deadline: the HTTP status, the body in buf; -1 if
 * there is no status line.
 */
static int
coord_http(int fd, const char *req, uint64_t deadline, char *buf,
    size_t len)
{
	struct pollfd	 pfd;
	size_t		 n = 0;
	ssize_t		 r;
	uint64_t	 now;
	char		*body;
	int		 code;

	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return -1;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (n < len - 1 && (now = bench_now()) < deadline) {
		if (poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
			continue;
		if ((r = read(fd, buf + n, len - 1 - n)) <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	if (sscanf(buf, "HTTP/%*s %d", &code) != 1)
		return -1;
	if ((body = strstr(buf, "\r\n\r\n")) != NULL)
		memmove(buf, body + 4, strlen(body + 4) + 1);
	return code;
}

/* A test pool's "stats" line from its control port; null if none. */
static json_t *
coord_pool_stats(int port)
{
	struct pollfd	 pfd;
	char		 buf[4096];
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd;
	json_error_t	 err;
	json_t		*o;

	if ((fd = bench_connect_tcp("127.0.0.1", port, 2000)) == -1)
		return json_null();
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (write(fd, "stats\n", 6) == 6) {
		while (n < sizeof buf - 1 && memchr(buf, '\n', n) == NULL &&
		    poll(&pfd, 1, 2000) == 1 &&
		    (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
			n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	o = json_loads(buf, JSON_DISABLE_EOF_CHECK, &err);
	return o != NULL ? o : json_null();
}

/*
 * The switch phase: one POST /switch for the user every miner logged in
 * as, then the time until each miner has a job of the new coin and the
 * watched process's CPU from just before the POST until the last has it
 * (sampled when the children's reports are in, a few ms later, while the
 * proxy has nothing else to do).
 */
static json_t *
coord_switch(const struct coord_opts *o, json_t *samples)
{
	struct procsample	 a, b;
	struct hist		*h = hist_new();
	char			 req[1024], ans[4096], cmd[96], pn[256];
	unsigned char		 auth[512];
	uint64_t		 t0, t_ans, miners = 0, got = 0, early = 0;
	json_t			*out = json_object(), *m;
	size_t			 n;
	int			 fd, code, i;

	/* The switch key: the login user up to its first ".". */
	n = strcspn(o->user, ".");
	snprintf(pn, sizeof pn, "%.*s", (int)n, o->user);
	if (strlen(o->switch_auth) > sizeof auth / 4 * 3 - 3)
		coord_abort("--switch-auth is too long");
	EVP_EncodeBlock(auth, (const unsigned char *)o->switch_auth,
	    (int)strlen(o->switch_auth));
	/* Punames and coin names need no escaping: [A-Za-z0-9_.-]. */
	snprintf(req, sizeof req, "POST /switch?puname=%s&coin=%s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\nAuthorization: Basic %s\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n", pn,
	    o->switch_coin, o->switch_api, (const char *)auth);

	coord_sample(o, samples, "switch_start", &a);
	if ((fd = bench_connect_tcp("127.0.0.1", o->switch_api, 2000)) == -1)
		coord_abort("cannot connect to the proxy's API");
	t0 = bench_now();
	snprintf(cmd, sizeof cmd, "switch %llu %llu\n", (unsigned long long)t0,
	    (unsigned long long)(t0 + COORD_SWITCH_MS * 1000000ull));
	code = coord_http(fd, req, t0 + 10000000000ull, ans, sizeof ans);
	t_ans = bench_now();
	close(fd);
	/* Jobs that came before the children read this are kept too. */
	coord_send(cmd);
	coord_wait("switched", COORD_SWITCH_MS + 10000);
	coord_sample(o, samples, "switch_end", &b);

	for (i = 0; i < nchildren; i++) {
		m = children[i].msg;
		miners += (uint64_t)json_integer_value(json_object_get(m,
		    "miners"));
		got += (uint64_t)json_integer_value(json_object_get(m, "got"));
		early += (uint64_t)json_integer_value(json_object_get(m,
		    "early"));
		hist_load(h, json_object_get(m, "lat"));
	}
	json_object_set_new(out, "coin", json_string(o->switch_coin));
	json_object_set_new(out, "puname", json_string(pn));
	json_object_set_new(out, "http_status", json_integer(code));
	n = strcspn(ans, "\r\n");
	ans[n] = '\0';
	json_object_set_new(out, "answer", json_string(ans));
	json_object_set_new(out, "answer_us", json_real(hist_us(t_ans - t0)));
	json_object_set_new(out, "miners", json_integer((json_int_t)miners));
	json_object_set_new(out, "got", json_integer((json_int_t)got));
	json_object_set_new(out, "early", json_integer((json_int_t)early));
	json_object_set_new(out, "latency", hist_summary(h));
	if (a.ok && b.ok) {
		json_object_set_new(out, "proxy_cpu_ns",
		    json_integer((json_int_t)(b.cpu_ns - a.cpu_ns)));
		json_object_set_new(out, "proxy_cpu_ms", json_real(
		    round((double)(b.cpu_ns - a.cpu_ns) / 1e5) / 10));
		json_object_set_new(out, "proxy_cpu_per_miner_us", json_real(
		    got == 0 ? 0 : round(10.0 * (double)(b.cpu_ns - a.cpu_ns) /
		    1000.0 / (double)got) / 10.0));
		/* The CPU's interval: the POST to the last report read. */
		json_object_set_new(out, "proxy_window_ms", json_real(
		    round((double)(b.at_ns - t0) / 1e5) / 10));
	}
	/* The new pool's logins: the upstreams the switch opened. */
	if (o->switch_control > 0)
		json_object_set_new(out, "pool",
		    coord_pool_stats(o->switch_control));
	hist_free(h);
	return out;
}

/* miners: fork, drive the phases, merge, write the summary. */
int
coord_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "src", required_argument, NULL, 's' },
		{ "login-rate", required_argument, NULL, 'r' },
		{ "login-timeout-ms", required_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'u' },
		{ "procs", required_argument, NULL, 'P' },
		{ "per-proc", required_argument, NULL, 'M' },
		{ "broadcasts", required_argument, NULL, 'b' },
		{ "broadcast-interval-ms", required_argument, NULL, 'I' },
		{ "control-port", required_argument, NULL, 'c' },
		{ "share-rate", required_argument, NULL, 'S' },
		{ "duration", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ "saturate", required_argument, NULL, 'X' },
		{ "saturate-window", required_argument, NULL, 'W' },
		{ "hold", required_argument, NULL, 'h' },
		{ "steady", required_argument, NULL, 'y' },
		{ "steady-rate", required_argument, NULL, 'Y' },
		{ "syscalls", required_argument, NULL, 'C' },
		{ "measure-window", required_argument, NULL, 'm' },
		{ "switch", required_argument, NULL, 'Z' },
		{ "switch-api", required_argument, NULL, 'A' },
		{ "switch-auth", required_argument, NULL, 'U' },
		{ "switch-prefix", required_argument, NULL, 'F' },
		{ "switch-control-port", required_argument, NULL, 'K' },
		{ "watch-pid", required_argument, NULL, 'x' },
		{ "json", required_argument, NULL, 'j' },
		{ "label", required_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	struct coord_opts	 o;
	struct tminer_args	 ta;
	struct procsample	 ps_start, ps_ready, ps_loaded, ps_end;
	struct sigaction	 sa;
	struct hist		*h_login, *h_connect, *h_all;
	struct bcast		 bc[COORD_MAX_BCAST];
	json_t			*out, *samples, *seqs, *fk, *per, *m, *e, *v;
	char			 cmd[64];
	uint64_t		 seq;
	int			 nbc = 0;
	uint64_t		 logged = 0, cerr = 0, lerr = 0, drops = 0;
	uint64_t		 wall = 0, open_ = 0, pushes = 0, foreign = 0;
	uint64_t		 loaded_rss;
	int			 ch, i, sv[2], k, first;
	size_t			 idx;
	pid_t			 parent = getpid();
	FILE			*f;

	memset(&o, 0, sizeof o);
	coord_sc.fd = -1;
	o.host = "127.0.0.1";
	o.login_rate = 2000;
	o.login_timeout_ms = 30000;
	o.user = "bench-wallet";
	o.per_proc = 9000;
	o.bcast_interval_ms = 500;
	o.window = 4;
	o.sat_window = 1;
	o.measure_window = 4;
	bench_parse_range("127.0.0.1-127.0.0.8", &o.src_first, &o.src_count);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'n': o.count = atoi(optarg); break;
		case 's':
			if (bench_parse_range(optarg, &o.src_first,
			    &o.src_count) != 0)
				coord_usage();
			break;
		case 'r': o.login_rate = atof(optarg); break;
		case 'T': o.login_timeout_ms = atoi(optarg); break;
		case 'u': o.user = optarg; break;
		case 'P': o.procs = atoi(optarg); break;
		case 'M': o.per_proc = atoi(optarg); break;
		case 'b': o.broadcasts = atoi(optarg); break;
		case 'I': o.bcast_interval_ms = atoi(optarg); break;
		case 'c': o.control_port = atoi(optarg); break;
		case 'S': o.share_rate = atof(optarg); break;
		case 'd': o.duration = atof(optarg); break;
		case 'w': o.window = atoi(optarg); break;
		case 'X': o.saturate = atof(optarg); break;
		case 'W': o.sat_window = atoi(optarg); break;
		case 'h': o.hold = atof(optarg); break;
		case 'y': o.steady = atof(optarg); break;
		case 'Y': o.steady_rate = atof(optarg); break;
		case 'C': o.syscalls = optarg; break;
		case 'm': o.measure_window = atof(optarg); break;
		case 'Z': o.switch_coin = optarg; break;
		case 'A': o.switch_api = atoi(optarg); break;
		case 'U': o.switch_auth = optarg; break;
		case 'F': o.switch_prefix = optarg; break;
		case 'K': o.switch_control = atoi(optarg); break;
		case 'x': o.watch = (pid_t)atoi(optarg); break;
		case 'j': o.json_path = optarg; break;
		case 'L': o.label = optarg; break;
		case 'q': o.quiet = 1; break;
		default: coord_usage();
		}
	}
	if (o.port <= 0 || o.count < 1 || o.per_proc < 1 ||
	    (o.broadcasts > 0 && o.control_port <= 0) ||
	    o.measure_window <= 0 || (o.switch_coin != NULL &&
	    (o.switch_api <= 0 || o.switch_auth == NULL ||
	    o.switch_prefix == NULL || o.switch_prefix[0] == '\0')) ||
	    (o.syscalls != NULL &&
	    strcmp(o.syscalls, "perf") != 0 &&
	    strcmp(o.syscalls, "strace") != 0))
		coord_usage();
	if (o.steady_rate <= 0)
		o.steady_rate = o.share_rate > 0 ? o.share_rate : 20000;
	if (o.procs <= 0)
		o.procs = (o.count + o.per_proc - 1) / o.per_proc;
	if (o.procs > COORD_MAX_PROCS)
		o.procs = COORD_MAX_PROCS;
	if (o.procs > o.count)
		o.procs = o.count;
	bench_raise_nofile();

	samples = json_object();
	coord_sample(&o, samples, "start", &ps_start);

	/* Fork the miner processes, splitting count and rate evenly. */
	for (i = 0, first = 0; i < o.procs; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
			bench_fatal("socketpair");
		memset(&ta, 0, sizeof ta);
		ta.index = i;
		ta.count = o.count / o.procs + (i < o.count % o.procs);
		ta.first = first;
		ta.host = o.host;
		ta.port = o.port;
		ta.src_first = o.src_first;
		ta.src_count = o.src_count;
		ta.login_rate = o.login_rate / o.procs;
		ta.login_timeout_ms = o.login_timeout_ms;
		ta.user = o.user;
		ta.switch_prefix = o.switch_coin != NULL ? o.switch_prefix :
		    NULL;
		ta.ctlfd = sv[1];
		first += ta.count;
		switch (children[i].pid = fork()) {
		case -1:
			coord_abort("fork failed");
		case 0:
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(2);
			for (k = 0; k < i; k++)
				close(children[k].fd);
			close(sv[0]);
			tminer_child(&ta);
		}
		close(sv[1]);
		children[i].fd = sv[0];
		nchildren++;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = coord_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	out = json_object();
	json_object_set_new(out, "label", json_string(o.label ? o.label : ""));
	json_object_set_new(out, "target", json_sprintf("%s:%d", o.host,
	    o.port));
	json_object_set_new(out, "miners", json_integer(o.count));
	json_object_set_new(out, "procs", json_integer(o.procs));

	/* Login phase. */
	coord_wait("ready", (uint64_t)(o.count / (o.login_rate > 0 ?
	    o.login_rate : 1e9) * 1000) + (uint64_t)o.login_timeout_ms + 10000);
	coord_sample(&o, samples, "ready", &ps_ready);
	for (i = 0; i < nchildren; i++) {
		m = children[i].msg;
		v = json_object_get(m, "wall_ns");
		if ((uint64_t)json_integer_value(v) > wall)
			wall = (uint64_t)json_integer_value(v);
		logged += (uint64_t)json_integer_value(json_object_get(m,
		    "logged_in"));
	}
	coord_note(&o, "%" PRIu64 "/%d logged in in %.2f s", logged, o.count,
	    (double)wall / 1e9);
	ps_loaded = ps_ready;

	seqs = json_array();
	if (o.broadcasts > 0) {
		coord_fanout(&o, seqs);
		coord_sample(&o, samples, "fanout_end", &ps_loaded);
		coord_note(&o, "%d broadcasts sent", o.broadcasts);
	}
	if (o.switch_coin != NULL) {
		json_object_set_new(out, "switch", coord_switch(&o, samples));
		coord_note(&o, "switch to %s done", o.switch_coin);
	}
	if (o.share_rate > 0 && o.duration > 0) {
		snprintf(cmd, sizeof cmd, "shares %.3f %d\n",
		    o.share_rate / o.procs, o.window);
		json_object_set_new(out, "shares", coord_phase(&o, cmd,
		    o.duration, o.share_rate, o.syscalls != NULL, samples,
		    "shares_start", "shares_end"));
		coord_note(&o, "share phase done");
	}
	if (o.steady > 0) {
		/* A start all the processes share, after they all read it. */
		snprintf(cmd, sizeof cmd, "steady %.3f %d %llu\n",
		    o.steady_rate, nchildren,
		    (unsigned long long)bench_now() + 20000000ull);
		json_object_set_new(out, "steady", coord_phase(&o, cmd,
		    o.steady, o.steady_rate, 1, samples, "steady_start",
		    "steady_end"));
		coord_note(&o, "steady phase done");
	}
	if (o.saturate > 0) {
		snprintf(cmd, sizeof cmd, "saturate %d\n", o.sat_window);
		json_object_set_new(out, "saturate", coord_phase(&o, cmd,
		    o.saturate, 0, 0, samples, "saturate_start",
		    "saturate_end"));
		coord_note(&o, "saturated phase done");
	}
	if (o.hold > 0)
		coord_sleep((uint64_t)(o.hold * 1000));
	coord_sample(&o, samples, "end", &ps_end);

	/* Final reports; the children exit after sending them. */
	coord_send("finish\n");
	coord_wait("summary", 30000);
	h_login = hist_new();
	h_connect = hist_new();
	h_all = hist_new();
	fk = json_object();
	for (i = 0; i < nchildren; i++) {
		m = children[i].msg;
		logged = 0;
		cerr += (uint64_t)json_integer_value(json_object_get(m,
		    "connect_errors"));
		lerr += (uint64_t)json_integer_value(json_object_get(m,
		    "login_errors"));
		drops += (uint64_t)json_integer_value(json_object_get(m,
		    "drops"));
		open_ += (uint64_t)json_integer_value(json_object_get(m,
		    "open"));
		pushes += (uint64_t)json_integer_value(json_object_get(m,
		    "pushes"));
		foreign += (uint64_t)json_integer_value(json_object_get(m,
		    "foreign_pushes"));
		hist_load(h_login, json_object_get(m, "login"));
		hist_load(h_connect, json_object_get(m, "connect"));
		coord_add_kinds(fk, json_object_get(m, "fail_kinds"));
		json_array_foreach(json_object_get(m, "broadcasts"), idx, e) {
			seq = (uint64_t)json_integer_value(json_object_get(e,
			    "seq"));
			for (k = 0; k < nbc && bc[k].seq != seq; k++)
				;
			if (k == nbc) {
				if (nbc == COORD_MAX_BCAST)
					continue;
				bc[nbc].seq = seq;
				bc[nbc++].h = hist_new();
			}
			hist_load(bc[k].h, json_object_get(e, "h"));
		}
	}
	for (i = 0; i < nchildren; i++)
		waitpid(children[i].pid, NULL, 0);
	logged = (uint64_t)h_login->n;

	json_object_set_new(out, "logged_in", json_integer((json_int_t)logged));
	json_object_set_new(out, "connect_errors",
	    json_integer((json_int_t)cerr));
	json_object_set_new(out, "login_errors",
	    json_integer((json_int_t)lerr));
	json_object_set_new(out, "drops", json_integer((json_int_t)drops));
	json_object_set_new(out, "open_at_end",
	    json_integer((json_int_t)open_));
	json_object_set_new(out, "fail_kinds", fk);
	json_object_set_new(out, "login", json_pack("{s:f,s:f,s:o,s:o}",
	    "seconds", (double)wall / 1e9, "per_second", wall == 0 ? 0 :
	    round((double)logged / ((double)wall / 1e9)), "latency",
	    hist_summary(h_login), "connect_latency", hist_summary(h_connect)));

	/* Fan-out: per broadcast, and over all of them. */
	per = json_array();
	qsort(bc, (size_t)nbc, sizeof bc[0], coord_bcast_cmp);
	for (k = 0; k < nbc; k++) {
		e = hist_summary(bc[k].h);
		json_object_set_new(e, "seq",
		    json_integer((json_int_t)bc[k].seq));
		json_array_append_new(per, e);
		hist_merge(h_all, bc[k].h);
		hist_free(bc[k].h);
	}
	m = hist_summary(h_all);
	json_object_set_new(out, "fanout",
	    json_pack("{s:i,s:o,s:o,s:o,s:I,s:I}",
	    "broadcasts", o.broadcasts, "sent", seqs, "overall", m,
	    "per_broadcast", per, "pushes", (json_int_t)pushes,
	    "foreign_pushes", (json_int_t)foreign));

	if (o.watch > 0) {
		json_object_set_new(out, "watch", json_pack("{s:i,s:o}", "pid",
		    (int)o.watch, "samples", samples));
		m = json_object();
		loaded_rss = ps_loaded.rss_kb > ps_ready.rss_kb ?
		    ps_loaded.rss_kb : ps_ready.rss_kb;
		json_object_set_new(m, "idle_rss_kb",
		    json_integer((json_int_t)ps_start.rss_kb));
		json_object_set_new(m, "loaded_rss_kb",
		    json_integer((json_int_t)loaded_rss));
		json_object_set_new(m, "hwm_kb",
		    json_integer((json_int_t)ps_end.hwm_kb));
		json_object_set_new(m, "loaded_fds",
		    json_integer((json_int_t)ps_loaded.fds));
		if (logged > 0 && ps_start.ok && ps_ready.ok) {
			json_object_set_new(m, "rss_per_miner_bytes",
			    json_integer((json_int_t)llround(
			    ((double)loaded_rss - (double)ps_start.rss_kb) *
			    1024.0 / (double)logged)));
			json_object_set_new(m, "cpu_per_login_us", json_real(
			    round(10.0 * (double)(ps_ready.cpu_ns -
			    ps_start.cpu_ns) / 1000.0 / (double)logged) /
			    10.0));
			json_object_set_new(m, "login_cpu_ns", json_integer(
			    (json_int_t)(ps_ready.cpu_ns - ps_start.cpu_ns)));
		}
		json_object_set_new(out, "derived", m);
	} else
		json_decref(samples);

	hist_free(h_login);
	hist_free(h_connect);
	hist_free(h_all);
	if (o.json_path != NULL) {
		if ((f = fopen(o.json_path, "w")) == NULL)
			bench_fatal("%s", o.json_path);
		json_dumpf(out, f, JSON_INDENT(1) | JSON_SORT_KEYS |
		    JSON_REAL_PRECISION(10));
		fputc('\n', f);
		fclose(f);
	}
	if (!o.quiet || o.json_path == NULL) {
		json_dumpf(out, stdout, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_REAL_PRECISION(10));
		fputc('\n', stdout);
	}
	json_decref(out);
	return 0;
}
