/*
 * scount.cc: counting another process's system calls over a window, for
 * the syscalls-per-share rows of "make bench". Two tools, tried in this
 * order by run-bench:
 *
 *	perf	"perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_X...
 *		-p PID -- sluice-bench window FD SECONDS": perf enables its
 *		counters, runs the window command, and disables them when it
 *		exits; the window command writes "start" and "end" on FD, a
 *		pipe to the coordinator, so the coordinator's samples (CPU,
 *		shares) bracket the very interval perf counted. Tracepoints
 *		cost the traced process little (a few percent here).
 *	strace	"strace -c -f -p PID", started, then stopped with SIGINT:
 *		the window runs from its "attached" line to its exit. It
 *		stops the process twice per call, so the process is several
 *		times slower while counted and its CPU is not comparable;
 *		the counts of each call per share still are.
 *
 * The counts are per call name ("total" for every call); scount_per_share
 * groups them: read (read, readv, recvfrom, recvmsg, recvmmsg), write
 * (write, writev, sendto, sendmsg, sendmmsg), epoll_wait (with
 * epoll_pwait, epoll_pwait2), epoll_ctl, other.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* The calls perf counts one by one (those of the hot paths). */
static const char *const scount_calls[] = {
	"read", "readv", "recvfrom", "recvmsg", "recvmmsg",
	"write", "writev", "sendto", "sendmsg", "sendmmsg",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	"ioctl", "accept4", "close", "clock_gettime", "gettimeofday",
};

/* The groups of the per-share figures, and what each holds. */
static const struct {
	const char	*group;
	const char	*calls[5];
} scount_groups[] = {
	{ "read", { "read", "readv", "recvfrom", "recvmsg", "recvmmsg" } },
	{ "write", { "write", "writev", "sendto", "sendmsg", "sendmmsg" } },
	{ "epoll_wait", { "epoll_wait", "epoll_pwait", "epoll_pwait2" } },
	{ "epoll_ctl", { "epoll_ctl" } },
};

static int	 scount_tracepoint(const char *);
static int	 scount_line(struct scount *, const char *);
static json_t	*scount_parse_perf(FILE *);
static json_t	*scount_parse_strace(FILE *);

/* Does the kernel have a sys_enter tracepoint for this call? */
static int
scount_tracepoint(const char *call)
{
	static const char *const dirs[] = { "/sys/kernel/tracing",
	    "/sys/kernel/debug/tracing" };
	char	 path[256];
	size_t	 i;

	for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/events/syscalls/sys_enter_%s",
		    dirs[i], call);
		if (access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

/*
 * Start counting PID's calls with TOOL ("perf" or "strace") for SECONDS;
 * SELF is this program, for perf's window command. -1 if it cannot.
 */
int
scount_start(struct scount *sc, const char *tool, pid_t pid, double seconds,
    const char *self)
{
	char		 events[2048], fdarg[16], secs[32], pidarg[16];
	const char	*argv[24];
	const char	*tmp = getenv("TMPDIR");
	size_t		 i, n, len;
	int		 p[2], fd, nul, perf;

	memset(sc, 0, sizeof *sc);
	sc->fd = -1;
	sc->seconds = seconds;
	perf = strcmp(tool, "perf") == 0;
	if (!perf && strcmp(tool, "strace") != 0)
		return -1;
	snprintf(sc->tool, sizeof sc->tool, "%s", tool);
	snprintf(sc->path, sizeof sc->path, "%s/sluice-bench-sc.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if ((fd = mkstemp(sc->path)) == -1) {
		sc->path[0] = '\0';
		return -1;
	}
	close(fd);
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;

	snprintf(pidarg, sizeof pidarg, "%d", (int)pid);
	snprintf(secs, sizeof secs, "%.3f", seconds);
	snprintf(fdarg, sizeof fdarg, "%d", p[1]);
	n = 0;
	if (perf) {
		len = (size_t)snprintf(events, sizeof events,
		    "raw_syscalls:sys_enter");
		for (i = 0; i < sizeof scount_calls / sizeof scount_calls[0];
		    i++) {
			if (scount_tracepoint(scount_calls[i]))
				len += (size_t)snprintf(events + len,
				    sizeof events - len, ",syscalls:sys_enter_%s",
				    scount_calls[i]);
		}
		argv[n++] = "perf";
		argv[n++] = "stat";
		argv[n++] = "-x,";
		argv[n++] = "-o";
		argv[n++] = sc->path;
		argv[n++] = "-e";
		argv[n++] = events;
		argv[n++] = "-p";
		argv[n++] = pidarg;
		argv[n++] = "--";
		argv[n++] = self;
		argv[n++] = "window";
		argv[n++] = fdarg;
		argv[n++] = secs;
	} else {
		argv[n++] = "strace";
		argv[n++] = "-c";
		argv[n++] = "-f";
		argv[n++] = "-o";
		argv[n++] = sc->path;
		argv[n++] = "-p";
		argv[n++] = pidarg;
	}
	argv[n] = NULL;

	switch (sc->pid = fork()) {
	case -1:
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((nul = open("/dev/null", O_RDWR)) != -1)
			dup2(nul, 0);
		if (nul != -1)
			dup2(nul, 1);
		if (perf)
			fcntl(p[1], F_SETFD, 0);	/* for the window */
		else
			dup2(p[1], 2);	/* strace: "Process N attached" */
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	sc->fd = p[0];
	bench_nonblock(sc->fd);
	return 0;
}

/* One line from the tracer side of the pipe. */
static int
scount_line(struct scount *sc, const char *line)
{
	uint64_t	 now = bench_now();

	if (sc->t_start == 0 && (strcmp(line, "start") == 0 ||
	    strstr(line, "attached") != NULL))
		sc->t_start = now;
	else if (sc->t_start != 0 && strcmp(line, "end") == 0)
		sc->t_end = now;
	return 0;
}

/*
 * Wait up to timeout_ms for the tracer's next event. 1: the window has
 * started (want 0) or ended (want 1); 0: not yet; -1: the tracer failed.
 * With strace, the end is its exit after the SIGINT sent here once the
 * window's time is up.
 */
int
scount_wait(struct scount *sc, int want_end, int timeout_ms)
{
	struct pollfd	 pfd;
	char		 buf[512], *p, *nl;
	ssize_t		 n;
	uint64_t	 now;

	for (;;) {
		if (!want_end && sc->t_start != 0)
			return 1;
		if (want_end && (sc->t_end != 0 || sc->eof))
			break;
		if (sc->eof)
			return -1;	/* gone before the window began */
		now = bench_now();
		if (want_end && !sc->stopped && sc->tool[0] == 's' &&
		    now >= sc->t_start + (uint64_t)(sc->seconds * 1e9)) {
			kill(sc->pid, SIGINT);
			sc->stopped = 1;
		}
		pfd.fd = sc->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		n = read(sc->fd, buf, sizeof buf - 1);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			sc->eof = 1;
			continue;
		}
		buf[n] = '\0';
		/* Lines are short; one read holds whole ones. */
		for (p = buf; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
			*nl = '\0';
			scount_line(sc, p);
		}
		timeout_ms = 0;
	}
	if (sc->t_end == 0)
		sc->t_end = bench_now();
	return 1;
}

/* Let the tracer finish (10 s at most), parse what it counted. */
json_t *
scount_finish(struct scount *sc)
{
	uint64_t	 end = bench_now() + 10000000000ull;
	int		 status = 0;
	json_t		*o = NULL;
	FILE		*f;

	if (sc->pid > 0) {
		while (waitpid(sc->pid, &status, WNOHANG) == 0) {
			if (bench_now() > end) {
				kill(sc->pid, SIGKILL);
				waitpid(sc->pid, &status, 0);
				break;
			}
			poll(NULL, 0, 20);
		}
		sc->pid = 0;
	}
	if (sc->fd != -1)
		close(sc->fd);
	sc->fd = -1;
	if (sc->path[0] != '\0' && (f = fopen(sc->path, "r")) != NULL) {
		o = sc->tool[0] == 'p' ? scount_parse_perf(f) :
		    scount_parse_strace(f);
		fclose(f);
	}
	if (sc->path[0] != '\0')
		unlink(sc->path);
	sc->path[0] = '\0';
	if (o != NULL && json_object_get(o, "total") == NULL) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* Kill a tracer still running (the coordinator is aborting). */
void
scount_kill(struct scount *sc)
{
	if (sc->pid > 0) {
		kill(sc->pid, SIGKILL);
		waitpid(sc->pid, NULL, 0);
		sc->pid = 0;
	}
	if (sc->fd != -1)
		close(sc->fd);
	sc->fd = -1;
	if (sc->path[0] != '\0')
		unlink(sc->path);
	sc->path[0] = '\0';
}

/* perf stat -x, lines: "count,unit,event,..."; "total" for raw_syscalls. */
static json_t *
scount_parse_perf(FILE *f)
{
	char		 line[512], *c1, *c2, *c3, *name;
	unsigned long long n;
	json_t		*o = json_object();

	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || (c1 = strchr(line, ',')) == NULL)
			continue;
		*c1 = '\0';
		if (sscanf(line, "%llu", &n) != 1)
			continue;	/* <not counted>, <not supported> */
		if ((c2 = strchr(c1 + 1, ',')) == NULL)
			continue;
		if ((c3 = strchr(c2 + 1, ',')) != NULL)
			*c3 = '\0';
		name = c2 + 1;
		if (strcmp(name, "raw_syscalls:sys_enter") == 0)
			name = (char *)"total";
		else if (strncmp(name, "syscalls:sys_enter_", 19) == 0)
			name += 19;
		else
			continue;
		json_object_set_new(o, name, json_integer((json_int_t)n));
	}
	return o;
}

/* strace -c's table: "% time seconds usecs/call calls [errors] name". */
static json_t *
scount_parse_strace(FILE *f)
{
	char		 line[512], *tok[8], *p, *save;
	unsigned long long n;
	json_t		*o = json_object();
	int		 k;

	while (fgets(line, sizeof line, f) != NULL) {
		for (k = 0, p = strtok_r(line, " \t\n", &save); p != NULL &&
		    k < 8; p = strtok_r(NULL, " \t\n", &save))
			tok[k++] = p;
		if (k < 5 || sscanf(tok[3], "%llu", &n) != 1 ||
		    strchr(tok[0], '.') == NULL)
			continue;
		json_object_set_new(o, tok[k - 1], json_integer((json_int_t)n));
	}
	return o;
}

/*
 * Counts per share: {"calls": each call counted and "total", "groups":
 * read, write, epoll_wait, epoll_ctl, "other" (the rest) and "total"}.
 */
json_t *
scount_per_share(json_t *counts, double shares)
{
	json_t		*calls = json_object(), *groups = json_object(), *v;
	const char	*k;
	double		 grouped = 0, g, total;
	size_t		 i, j;

	if (counts != NULL && shares > 0) {
		total = (double)json_integer_value(json_object_get(counts,
		    "total"));
		json_object_foreach(counts, k, v) {
			if (json_integer_value(v) > 0)
				json_object_set_new(calls, k, json_real(
				    round(1000.0 * (double)json_integer_value(v) /
				    shares) / 1000.0));
		}
		for (i = 0; i < sizeof scount_groups /
		    sizeof scount_groups[0]; i++) {
			g = 0;
			for (j = 0; j < 5 && scount_groups[i].calls[j] != NULL;
			    j++)
				g += (double)json_integer_value(json_object_get(
				    counts, scount_groups[i].calls[j]));
			grouped += g;
			json_object_set_new(groups, scount_groups[i].group,
			    json_real(round(1000.0 * g / shares) / 1000.0));
		}
		json_object_set_new(groups, "other", json_real(round(1000.0 *
		    (total - grouped) / shares) / 1000.0));
		json_object_set_new(groups, "total", json_real(round(1000.0 *
		    total / shares) / 1000.0));
	}
	return json_pack("{s:o,s:o}", "calls", calls, "groups", groups);
}

/* window FD SECONDS: perf's command; "start", sleep, "end" on FD. */
int
scount_window_main(int argc, char **argv)
{
	struct timespec	 ts;
	double		 s;
	int		 fd;

	if (argc != 3) {
		fprintf(stderr, "usage: sluice-bench window FD SECONDS\n");
		return 1;
	}
	fd = atoi(argv[1]);
	s = atof(argv[2]);
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	if (write(fd, "start\n", 6) != 6)
		return 1;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	if (write(fd, "end\n", 4) != 4)
		return 1;
	return 0;
}
