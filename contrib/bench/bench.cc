/*
 * bench.cc: sluice-bench's entry point (a table of subcommands) and the
 * helpers every subcommand shares: clocks, the descriptor limit, sockets,
 * line framing, the small scanners used on hot paths instead of a JSON
 * parser, and sampling a process's CPU and memory from /proc.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct bench_cmd {
	const char	*name;
	int		(*main)(int, char **);
	const char	*usage;
};

static int	 bench_freeport_main(int, char **);
static void	 bench_usage(void) NORETURN;

static const struct bench_cmd bench_cmds[] = {
	{ "pool", tpool_main, "pool --port P [--host H] [--control-port C] "
	    "[--job-interval-ms N] [--reject-every N] [--diff D] "
	    "[--job-prefix P]" },
	{ "miners", coord_main, "miners --port P --count N [--host H] "
	    "[--src A-B] [--login-rate R] [--share-rate S | --saturate T] "
	    "[--duration T] [--steady T [--steady-rate S]] "
	    "[--broadcasts K --control-port C] "
	    "[--switch COIN --switch-api PORT --switch-auth USER:PASS "
	    "--switch-prefix P [--switch-control-port C]] "
	    "[--watch-pid PID [--syscalls perf|strace]] "
	    "[--json FILE]" },
	{ "ctl", tpool_ctl_main, "ctl --port C [--wait SECONDS] COMMAND" },
	{ "status", status_main, "status [--api URL] [--control-port C] "
	    "[--log FILE] [--interval S] [--duration S] [--diff D]" },
	{ "report", report_main, "report --dir DIR [--json FILE]" },
	{ "jget", report_jget_main, "jget FILE KEY[.KEY...]" },
	{ "freeport", bench_freeport_main, "freeport [PREFERRED]" },
	{ "window", scount_window_main, "window FD SECONDS (perf's command "
	    "for a counted window)" },
};

/* Print the subcommands and exit 1. */
static void
bench_usage(void)
{
	size_t	 i;

	fprintf(stderr, "usage: sluice-bench COMMAND [options]\n");
	for (i = 0; i < sizeof bench_cmds / sizeof bench_cmds[0]; i++)
		fprintf(stderr, "  sluice-bench %s\n", bench_cmds[i].usage);
	exit(1);
}

/* Dispatch to a subcommand. */
int
main(int argc, char **argv)
{
	size_t	 i;

	if (argc < 2)
		bench_usage();
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof bench_cmds / sizeof bench_cmds[0]; i++) {
		if (strcmp(argv[1], bench_cmds[i].name) == 0)
			return bench_cmds[i].main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "version") == 0) {
		printf("sluice-bench %s, libevent %s\n", BENCH_VERSION,
		    event_get_version());
		return 0;
	}
	bench_usage();
}

/* freeport: print PREFERRED if it can be bound on 127.0.0.1, else any. */
static int
bench_freeport_main(int argc, char **argv)
{
	int	 port;

	port = bench_free_port(argc > 1 ? atoi(argv[1]) : 0);
	if (port <= 0)
		bench_fatalx("no free port");
	printf("%d\n", port);
	return 0;
}

/* Monotonic nanoseconds. */
uint64_t
bench_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* CPU time used by this process, nanoseconds. */
uint64_t
bench_cpu_self(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Raise the soft descriptor limit to the hard one. */
void
bench_raise_nofile(void)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Make a descriptor non-blocking and close-on-exec. */
int
bench_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* A non-blocking IPv4 listening socket; -1 on failure (errno set). */
int
bench_listen(const char *host, int port, int backlog)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(fd, backlog) != 0 || bench_nonblock(fd) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A blocking TCP connection with a connect timeout; -1 on failure. */
int
bench_connect_tcp(const char *host, int port, int timeout_ms)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	int			 fd, fl, err = 0, one = 1;
	socklen_t		 len = sizeof err;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) != 1)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
		    err != 0)
			goto fail;
	}
	fcntl(fd, F_SETFL, fl);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
fail:
	close(fd);
	return -1;
}

/* A free TCP port on 127.0.0.1: preferred if free, else the kernel's pick. */
int
bench_free_port(int preferred)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof sin;
	int			 fd, port = -1;

	if (preferred > 0 && (fd = bench_listen("127.0.0.1", preferred,
	    1)) != -1) {
		close(fd);
		return preferred;
	}
	if ((fd = bench_listen("127.0.0.1", 0, 1)) == -1)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/*
 * "127.0.0.1-127.0.0.8" or a single address: the first address (host
 * order) and how many. -1 if malformed.
 */
int
bench_parse_range(const char *s, uint32_t *first, uint32_t *count)
{
	char		 a[64], *dash;
	struct in_addr	 lo, hi;

	if (strlen(s) >= sizeof a)
		return -1;
	strcpy(a, s);
	if ((dash = strchr(a, '-')) != NULL)
		*dash++ = '\0';
	if (inet_pton(AF_INET, a, &lo) != 1)
		return -1;
	hi = lo;
	if (dash != NULL && inet_pton(AF_INET, dash, &hi) != 1)
		return -1;
	if (ntohl(hi.s_addr) < ntohl(lo.s_addr))
		return -1;
	*first = ntohl(lo.s_addr);
	*count = ntohl(hi.s_addr) - ntohl(lo.s_addr) + 1;
	return 0;
}

/* Print a message with strerror(errno) and exit 1. */
void
bench_fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	fprintf(stderr, "sluice-bench[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(saved));
	exit(1);
}

/* Print a message and exit 1. */
void
bench_fatalx(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "sluice-bench[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Print a warning. */
void
bench_warnx(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "sluice-bench[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Hand every complete line in lb's remainder plus data to cb, without the
 * newline and NUL-terminated in place (data is modified). Keeps a trailing
 * partial line. Returns -1 when cb returns -1 or a line is too long.
 * Contract: cb never frees the connection that owns lb; it returns -1 to
 * have the caller close it after lbuf_feed() returns.
 */
int
lbuf_feed(struct lbuf *lb, char *data, size_t len, lbuf_cb cb, void *arg)
{
	char	*p, *nl, *end;
	size_t	 need;

	if (lb->n > 0) {
		/* Slow path: complete the kept partial line first. */
		need = lb->n + len + 1;
		if (need > lb->cap) {
			lb->cap = need < 4096 ? 4096 : need;
			if ((lb->v = (char *)realloc(lb->v, lb->cap)) == NULL)
				bench_fatal("realloc");
		}
		memcpy(lb->v + lb->n, data, len);
		lb->n += len;
		lb->v[lb->n] = '\0';
		if ((nl = (char *)memchr(lb->v, '\n', lb->n)) == NULL)
			return lb->n > BENCH_MAX_LINE ? -1 : 0;
		/* Move it out so cb may re-enter lbuf_feed safely. */
		p = lb->v;
		end = p + lb->n;
		lb->v = NULL;
		lb->n = lb->cap = 0;
		int rc = lbuf_feed(lb, p, (size_t)(end - p), cb, arg);
		free(p);
		return rc;
	}
	p = data;
	end = data + len;
	while (p < end && (nl = (char *)memchr(p, '\n', end - p)) != NULL) {
		need = (size_t)(nl - p);
		*nl = '\0';
		if (need > 0 && p[need - 1] == '\r')
			p[--need] = '\0';
		if (need > 0 && cb(arg, p, need) == -1)
			return -1;
		p = nl + 1;
	}
	if (p < end) {
		if ((size_t)(end - p) > BENCH_MAX_LINE)
			return -1;
		lb->cap = (size_t)(end - p) + 1 < 512 ? 512 :
		    (size_t)(end - p) + 1;
		if ((lb->v = (char *)malloc(lb->cap)) == NULL)
			bench_fatal("malloc");
		memcpy(lb->v, p, (size_t)(end - p));
		lb->n = (size_t)(end - p);
	}
	return 0;
}

/* Free a line buffer's storage. */
void
lbuf_free(struct lbuf *lb)
{
	free(lb->v);
	lb->v = NULL;
	lb->n = lb->cap = 0;
}

/*
 * The string value of the first "key":"..." in a line (no escapes in the
 * values we look for). Returns a pointer into line and its length, or NULL.
 */
const char *
bench_jstr(const char *line, size_t len, const char *key, size_t *vlen)
{
	char		 pat[64];
	const char	*p, *q, *end = line + len;
	int		 n;

	n = snprintf(pat, sizeof pat, "\"%s\":\"", key);
	if (n <= 0 || (size_t)n >= sizeof pat)
		return NULL;
	if ((p = (const char *)memmem(line, len, pat, (size_t)n)) == NULL)
		return NULL;
	p += n;
	if ((q = (const char *)memchr(p, '"', end - p)) == NULL)
		return NULL;
	*vlen = (size_t)(q - p);
	return p;
}

/* The integer of a line that starts {"id":N; -1 if it does not. */
int
bench_jint_first(const char *line, size_t len, int64_t *v)
{
	const char	*p = line + 6, *end = line + len;
	int64_t		 n = 0;

	if (len < 8 || memcmp(line, "{\"id\":", 6) != 0)
		return -1;
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	while (p < end && *p >= '0' && *p <= '9')
		n = n * 10 + (*p++ - '0');
	if (p >= end || *p != ',')
		return -1;
	*v = n;
	return 0;
}

/* Sequence and send time from a test-pool job id "j<seq>-<ns>". */
int
bench_jobid_time(const char *id, size_t len, uint64_t *seq, uint64_t *ns)
{
	const char	*p = id + 1, *end = id + len;
	uint64_t	 a = 0, b = 0;

	if (len < 4 || id[0] != 'j')
		return -1;
	while (p < end && *p >= '0' && *p <= '9')
		a = a * 10 + (uint64_t)(*p++ - '0');
	if (p >= end || *p++ != '-')
		return -1;
	if (p >= end)
		return -1;
	while (p < end && *p >= '0' && *p <= '9')
		b = b * 10 + (uint64_t)(*p++ - '0');
	if (p != end)
		return -1;
	*seq = a;
	*ns = b;
	return 0;
}

/* Read a small /proc file into buf; length or -1. */
static ssize_t
bench_read_file(const char *path, char *buf, size_t cap)
{
	int	 fd;
	ssize_t	 n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/*
 * Sample a process: on-CPU time from /proc/PID/schedstat (ns; else
 * utime+stime from /proc/PID/stat), VmRSS and VmHWM from its status,
 * and its open descriptors.
 */
void
bench_proc_sample(pid_t pid, struct procsample *ps)
{
	char		 path[64], buf[4096], *p;
	unsigned long long utime, stime, ns;
	long		 hz = sysconf(_SC_CLK_TCK);
	int		 i;
	DIR		*d;
	struct dirent	*de;

	memset(ps, 0, sizeof *ps);
	ps->at_ns = bench_now();
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (bench_read_file(path, buf, sizeof buf) <= 0)
		return;
	/* Fields after the ")" of comm: state is 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL)
		return;
	p += 2;
	for (i = 3; i < 14 && p != NULL; i++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p == NULL || sscanf(p, "%llu %llu", &utime, &stime) != 2)
		return;
	ps->ticks = utime + stime;
	ps->cpu_ns = ps->ticks * (1000000000ull / (hz > 0 ? hz : 100));
	snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
	if (bench_read_file(path, buf, sizeof buf) > 0 &&
	    sscanf(buf, "%llu", &ns) == 1 && ns > 0)
		ps->cpu_ns = ns;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (bench_read_file(path, buf, sizeof buf) <= 0)
		return;
	if ((p = strstr(buf, "VmRSS:")) != NULL)
		ps->rss_kb = strtoull(p + 6, NULL, 10);
	if ((p = strstr(buf, "VmHWM:")) != NULL)
		ps->hwm_kb = strtoull(p + 6, NULL, 10);
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			ps->fds += de->d_name[0] != '.';
		closedir(d);
	}
	ps->ok = 1;
}

/* A sample as a JSON object. */
json_t *
bench_proc_json(const struct procsample *ps)
{
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "ok", ps->ok,
	    "at_ns", (json_int_t)ps->at_ns, "cpu_ns", (json_int_t)ps->cpu_ns,
	    "ticks", (json_int_t)ps->ticks, "rss_kb", (json_int_t)ps->rss_kb,
	    "hwm_kb", (json_int_t)ps->hwm_kb, "fds", (json_int_t)ps->fds);
}
