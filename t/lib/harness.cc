/*
 * harness.cc: run the sluice daemon as a child and script fake pools and
 * miners around it (see harness.h for the rules).
 *
 * The daemon's stdout and stderr share one non-blocking pipe that is read
 * into an in-memory log; tests wait on log lines, never on sleep(). A daemon
 * is killed when its test worker dies (PR_SET_PDEATHSIG) and, when the
 * worker exits after a failed assertion, by an atexit() sweep, so a failing
 * test leaves no process behind.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "harness.h"

#define START_TIMEOUT_MS	10000	/* until type=ready */
#define STOP_TIMEOUT_MS		8000	/* SIGTERM until exit */
#define RUN_TIMEOUT_MS		10000	/* run_capture, expect_fail */
#define SEND_TIMEOUT_MS		10000	/* one blocked tc_send */
#define EXIT_POLL_MS		20	/* waitpid re-check while waiting */
#define MAX_LIVE		16

static struct proxy *harness_live[MAX_LIVE];
static int harness_atexit_set;

/*
 * Under ASan, leave leak checking to the daemon: a test stopped by a failed
 * cr_assert abandons its sockets and strings, and LeakSanitizer's report
 * of those would bury the daemon's log. The daemon reads its own options.
 */
extern "C" const char *__asan_default_options(void);
extern "C" __attribute__((used)) const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}

/* Milliseconds on the monotonic clock. */
int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline, never negative. */
int
left_ms(int64_t deadline)
{
	int64_t	d = deadline - now_ms();

	return d < 0 ? 0 : (int)d;
}

/* Append n bytes to a NUL-terminated growable buffer. */
static void
buf_add(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t	ncap = *cap ? *cap : 4096;

		while (ncap < *len + n + 1)
			ncap *= 2;
		*buf = (char *)realloc(*buf, ncap);
		cr_assert(*buf != NULL, "out of memory");
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* Decode a waitpid status: exit code, or 128 + signal. */
static int
decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* Kill and remove what live daemons are left when a test worker exits. */
static void
harness_atexit(void)
{
	for (int i = 0; i < MAX_LIVE; i++) {
		if (harness_live[i] != NULL)
			proxy_free(harness_live[i]);
	}
}

/* The daemon binary from $SLUICE_BIN. */
const char *
sluice_bin(void)
{
	const char	*bin = getenv("SLUICE_BIN");

	cr_assert(bin != NULL && *bin != '\0',
	    "SLUICE_BIN must name the sluice binary (absolute path)");
	return bin;
}

/* The source tree from $SLUICE_SRCDIR. */
const char *
sluice_srcdir(void)
{
	const char	*dir = getenv("SLUICE_SRCDIR");

	cr_assert(dir != NULL && *dir != '\0',
	    "SLUICE_SRCDIR must name the source tree");
	return dir;
}

/*
 * A TCP port on 127.0.0.1 that was free a moment ago. It is taken below
 * the kernel's ephemeral range: a test may leave a port unbound for
 * seconds (a pool that is down, then comes up), and in that time any
 * outgoing connection of a parallel test could be given an ephemeral port,
 * this one included.
 */
int
free_port(void)
{
	static uint32_t		seed;
	struct sockaddr_in	sin;
	FILE			*f;
	int			fd, lo = 32768, tries, port, ok;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) != NULL) {
		if (fscanf(f, "%d", &lo) != 1)
			lo = 32768;
		fclose(f);
	}
	if (lo <= 11000)
		lo = 32768;
	if (seed == 0)
		seed = (uint32_t)getpid() * 2654435761u ^ (uint32_t)now_ms();
	for (tries = 0; tries < 1000; tries++) {
		seed = seed * 1103515245u + 12345u;
		port = 10000 + (int)((seed >> 8) % (uint32_t)(lo - 10000));
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(fd != -1, "socket: %s", strerror(errno));
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	cr_assert_fail("no free port below %d", lo);
	return -1;
}

/*
 * Fork and exec argv with stdout+stderr on a pipe whose non-blocking read
 * end goes to *outfd. The child dies with its parent and starts with
 * default signals, an empty mask and no inherited descriptors.
 */
static pid_t
spawn(const char *const argv[], int *outfd)
{
	pid_t	 parent = getpid(), pid;
	int	 fds[2], null;
	sigset_t all;

	cr_assert(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	pid = fork();
	cr_assert(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close_range(3, ~0U, 0);
		/* execvp's argv is char *const[] only for C's sake. */
		execvp(argv[0], const_cast<char *const *>(argv));
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	*outfd = fds[0];
	return pid;
}

/* Read what the pipe holds into buf; close *fd at EOF. */
static void
pipe_drain(int *fd, char **buf, size_t *len, size_t *cap, int timeout_ms)
{
	struct pollfd	pfd = { *fd, POLLIN, 0 };
	char		tmp[8192];
	ssize_t		n;

	if (*fd == -1) {
		if (timeout_ms > 0)
			poll(NULL, 0, timeout_ms);
		return;
	}
	if (poll(&pfd, 1, timeout_ms) <= 0)
		return;
	for (;;) {
		n = read(*fd, tmp, sizeof(tmp));
		if (n > 0) {
			buf_add(buf, len, cap, tmp, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN) {
			close(*fd);
			*fd = -1;
		}
		return;
	}
}

/* Run argv to completion; return its exit code and set *output. */
int
run_capture(const char *const argv[], char **output)
{
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;
	int64_t	 deadline = now_ms() + RUN_TIMEOUT_MS;
	int	 fd, status;
	pid_t	 pid;

	buf_add(&buf, &len, &cap, "", 0);
	pid = spawn(argv, &fd);
	while (fd != -1 && left_ms(deadline) > 0)
		pipe_drain(&fd, &buf, &len, &cap, left_ms(deadline));
	if (fd != -1) {
		kill(pid, SIGKILL);
		close(fd);
		fprintf(stderr, "%s still running after %d ms; output:\n%s\n",
		    argv[0], RUN_TIMEOUT_MS, buf);
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	cr_assert(fd == -1, "%s did not finish", argv[0]);
	if (output != NULL)
		*output = buf;
	else
		free(buf);
	return decode_status(status);
}

/* A daemon record with its private temp dir; nothing runs yet. */
struct proxy *
proxy_new(void)
{
	struct proxy	*p;
	const char	*tmp = getenv("TMPDIR");
	int		 i;

	p = (struct proxy *)calloc(1, sizeof(*p));
	cr_assert(p != NULL, "out of memory");
	p->pid = -1;
	p->verbose = 1;
	p->logfd = -1;
	buf_add(&p->log, &p->loglen, &p->logcap, "", 0);
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	cr_assert(asprintf(&p->dir, "%s/sluice-test.XXXXXX", tmp) != -1);
	cr_assert(mkdtemp(p->dir) != NULL, "mkdtemp %s: %s", p->dir,
	    strerror(errno));
	cr_assert(asprintf(&p->config, "%s/config.json", p->dir) != -1);

	if (!harness_atexit_set) {
		atexit(harness_atexit);
		harness_atexit_set = 1;
	}
	for (i = 0; i < MAX_LIVE && harness_live[i] != NULL; i++)
		;
	cr_assert(i < MAX_LIVE, "too many daemons in one test");
	harness_live[i] = p;
	return p;
}

/* Write text to dir/name atomically (temp file, then rename). */
void
proxy_write_file(struct proxy *p, const char *name, const char *text)
{
	char	*path, *tmp;
	FILE	*f;

	cr_assert(asprintf(&path, "%s/%s", p->dir, name) != -1);
	cr_assert(asprintf(&tmp, "%s.tmp", path) != -1);
	f = fopen(tmp, "w");
	cr_assert(f != NULL, "fopen %s: %s", tmp, strerror(errno));
	fputs(text, f);
	cr_assert(fclose(f) == 0, "write %s: %s", tmp, strerror(errno));
	cr_assert(rename(tmp, path) == 0, "rename %s: %s", tmp,
	    strerror(errno));
	free(tmp);
	free(path);
}

/*
 * (Re)write the daemon's config.json. A config that does not name
 * "history" gets its own database in the test's folder, first key of
 * the object: history is on by default, and its default file is the
 * system's.
 */
void
proxy_write_config(struct proxy *p, const char *json)
{
	const char	*brace = strchr(json, '{');
	const char	*rest;
	char		*text;

	if (strstr(json, "\"history\"") != NULL || brace == NULL ||
	    strspn(json, " \t\r\n") != (size_t)(brace - json)) {
		proxy_write_file(p, "config.json", json);
		return;
	}
	rest = brace + 1 + strspn(brace + 1, " \t\r\n");
	cr_assert(asprintf(&text, "{\"history\":{\"file\":\"history.db\"}%s%s",
	    *rest == '}' ? "" : ",", brace + 1) != -1);
	proxy_write_file(p, "config.json", text);
	free(text);
}

/* Spawn [$SLUICE_WRAPPER] $SLUICE_BIN -d -v -c DIR/config.json. */
void
proxy_launch(struct proxy *p)
{
	proxy_launch_args(p, NULL);
}

/* The same, with more arguments after them (NULL-terminated, or NULL). */
void
proxy_launch_args(struct proxy *p, const char *const args[])
{
	const char	*wrapper = getenv("SLUICE_WRAPPER");
	char		*words = NULL, *w, *save;
	const char	*argv[64];
	int		 argc = 0;

	cr_assert(p->pid == -1, "daemon already launched");
	if (wrapper != NULL && (words = strdup(wrapper)) != NULL) {
		for (w = strtok_r(words, " ", &save); w != NULL && argc < 58;
		    w = strtok_r(NULL, " ", &save))
			argv[argc++] = w;
	}
	argv[argc++] = sluice_bin();
	argv[argc++] = "-d";
	if (p->verbose)
		argv[argc++] = "-v";
	argv[argc++] = "-c";
	argv[argc++] = p->config;
	for (; args != NULL && *args != NULL && argc < 63; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	p->pid = spawn(argv, &p->logfd);
	free(words);
}

/* Start a daemon on config_json (at -v) and wait until it is ready. */
struct proxy *
proxy_start(const char *config_json)
{
	return proxy_start_verbose(config_json, 1);
}

/*
 * Wait until the daemon launched when the log was from bytes long says
 * type=ready. Not proxy_wait_log: lines logged before ready stay
 * waitable.
 */
static void
proxy_wait_ready(struct proxy *p, size_t from, const char *config_json)
{
	int64_t		 deadline = now_ms() + START_TIMEOUT_MS;

	while (strstr(p->log + from, "type=ready") == NULL) {
		if (proxy_exited(p, 0)) {
			proxy_dump_log(p);
			cr_assert_fail("sluice exited (status %d) before "
			    "type=ready; config:\n%s", proxy_exit_code(p),
			    config_json);
		}
		if (left_ms(deadline) == 0) {
			proxy_dump_log(p);
			cr_assert_fail("sluice not ready after %d ms",
			    START_TIMEOUT_MS);
		}
		pipe_drain(&p->logfd, &p->log, &p->loglen, &p->logcap,
		    left_ms(deadline) < EXIT_POLL_MS ? left_ms(deadline) :
		    EXIT_POLL_MS);
	}
}

/*
 * Start a daemon on config_json with more command-line arguments (after
 * -c) and wait until it is ready. A restart drops them.
 */
struct proxy *
proxy_start_args(const char *config_json, const char *const args[])
{
	struct proxy	*p = proxy_new();

	proxy_write_config(p, config_json);
	proxy_launch_args(p, args);
	proxy_wait_ready(p, 0, config_json);
	return p;
}

/* The same, at the default log level when verbose is 0. */
struct proxy *
proxy_start_verbose(const char *config_json, int verbose)
{
	struct proxy	*p = proxy_new();

	p->verbose = verbose;
	proxy_write_config(p, config_json);
	proxy_launch(p);
	proxy_wait_ready(p, 0, config_json);
	return p;
}

/*
 * Start a stopped daemon again on the same dir and config (what it left
 * there stays) and wait until it is ready. Its log is appended to the
 * first run's; waits start after what was captured.
 */
void
proxy_restart(struct proxy *p)
{
	size_t	 from;

	cr_assert(p->pid > 0 && p->reaped, "proxy_restart: stop it first");
	if (p->logfd != -1) {
		close(p->logfd);
		p->logfd = -1;
	}
	p->pid = -1;
	p->reaped = p->killed = p->status = 0;
	from = p->logpos = p->loglen;
	proxy_launch(p);
	proxy_wait_ready(p, from, "(restart)");
}

/* Run a daemon on a config it must refuse; return exit code and output. */
int
proxy_start_expect_fail(const char *config_json, char **output)
{
	struct proxy	*p = proxy_new();
	int		 code;

	proxy_write_config(p, config_json);
	proxy_launch(p);
	if (!proxy_exited(p, RUN_TIMEOUT_MS) ||
	    strstr(p->log, "type=ready") != NULL) {
		proxy_dump_log(p);
		cr_assert_fail("sluice started on a config it should refuse:"
		    "\n%s", config_json);
	}
	code = proxy_exit_code(p);
	if (output != NULL)
		*output = strdup(p->log);
	proxy_free(p);
	return code;
}

/* Print the whole captured log to stderr. */
void
proxy_dump_log(struct proxy *p)
{
	pipe_drain(&p->logfd, &p->log, &p->loglen, &p->logcap, 0);
	fprintf(stderr, "---- sluice log (pid %d, %zu bytes) ----\n%s%s"
	    "---- end of sluice log ----\n", (int)p->pid, p->loglen, p->log,
	    p->loglen > 0 && p->log[p->loglen - 1] != '\n' ? "\n" : "");
}

/*
 * Wait for a complete log line containing substring after the previous
 * match; on success the next wait starts after that line.
 */
bool
proxy_wait_log(struct proxy *p, const char *substring, int timeout_ms)
{
	int64_t		 deadline = now_ms() + timeout_ms;
	size_t		 slen = strlen(substring);
	const char	*hit, *nl;
	int		 last = 0;

	for (;;) {
		hit = (const char *)memmem(p->log + p->logpos,
		    p->loglen - p->logpos, substring, slen);
		if (hit != NULL && (nl = (const char *)memchr(hit, '\n',
		    p->log + p->loglen - hit)) != NULL) {
			p->logpos = (size_t)(nl + 1 - p->log);
			return true;
		}
		if (p->logfd == -1 || last)
			break;
		last = left_ms(deadline) == 0;
		pipe_drain(&p->logfd, &p->log, &p->loglen, &p->logcap,
		    left_ms(deadline));
	}
	proxy_dump_log(p);
	fprintf(stderr, "timed out after %d ms waiting for log \"%s\"%s\n",
	    timeout_ms, substring, p->logfd == -1 ? " (log closed)" : "");
	return false;
}

/* Count occurrences of substring in everything captured so far. */
int
proxy_log_count(struct proxy *p, const char *substring)
{
	size_t		 slen = strlen(substring);
	const char	*s, *hit;
	int		 n = 0;

	pipe_drain(&p->logfd, &p->log, &p->loglen, &p->logcap, 0);
	s = p->log;
	while (slen > 0 && (hit = strstr(s, substring)) != NULL) {
		n++;
		s = hit + slen;
	}
	return n;
}

/*
 * Keep reading the daemon's log for ms milliseconds: a test that does
 * something else for a while must not let the pipe fill, or the daemon
 * blocks on its next log line.
 */
void
proxy_drain(struct proxy *p, int ms)
{
	int64_t	 deadline = now_ms() + ms;

	while (p->logfd != -1 && left_ms(deadline) > 0)
		pipe_drain(&p->logfd, &p->log, &p->loglen, &p->logcap,
		    left_ms(deadline));
}

/* The sluice-bench binary, next to sluice in the build folder. */
const char *
bench_bin(void)
{
	const char	*b = getenv("SLUICE_BENCH");

	cr_assert(b != NULL && *b != '\0', "SLUICE_BENCH must name "
	    "sluice-bench (make integration sets it)");
	return b;
}

/* Start sluice-bench with args, output to file; returns its pid. */
pid_t
bench_spawn(const char *const args[], const char *out)
{
	const char	*argv[24];
	pid_t		 pid;
	int		 i, fd;

	argv[0] = bench_bin();
	for (i = 0; args[i] != NULL && i < 22; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	pid = fork();
	cr_assert(pid != -1);
	if (pid == 0) {
		/* Never outlive the test, even one that failed half-way. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Send sig to the running daemon. */
void
proxy_signal(struct proxy *p, int sig)
{
	cr_assert(p->pid > 0 && !proxy_exited(p, 0),
	    "cannot signal: sluice is not running");
	cr_assert(kill(p->pid, sig) == 0, "kill: %s", strerror(errno));
}

/* Wait up to timeout_ms for the daemon to exit; reap it; keep its log. */
bool
proxy_exited(struct proxy *p, int timeout_ms)
{
	int64_t	deadline = now_ms() + timeout_ms;
	int	last = 0;

	if (p->pid <= 0 || p->reaped)
		return true;
	for (;;) {
		if (waitpid(p->pid, &p->status, WNOHANG) == p->pid) {
			p->reaped = 1;
			/* Dead: the rest of its output is in the pipe. */
			deadline = now_ms() + 1000;
			while (p->logfd != -1 && left_ms(deadline) > 0)
				pipe_drain(&p->logfd, &p->log, &p->loglen,
				    &p->logcap, left_ms(deadline));
			return true;
		}
		if (last)
			return false;
		last = left_ms(deadline) == 0;
		pipe_drain(&p->logfd, &p->log, &p->loglen, &p->logcap,
		    left_ms(deadline) < EXIT_POLL_MS ? left_ms(deadline) :
		    EXIT_POLL_MS);
	}
}

/* Exit code of a reaped daemon: code, 128 + signal, or -1 if we killed it. */
int
proxy_exit_code(const struct proxy *p)
{
	cr_assert(p->reaped, "sluice has not exited");
	if (p->killed)
		return -1;
	return decode_status(p->status);
}

/* Kill the daemon with SIGKILL and reap it. */
static void
proxy_kill(struct proxy *p)
{
	kill(p->pid, SIGKILL);
	while (waitpid(p->pid, &p->status, 0) == -1 && errno == EINTR)
		;
	p->reaped = 1;
	p->killed = 1;
}

/*
 * The end of a test's proxy: it must still run, stop on SIGTERM with
 * status 0, and its log must hold no sanitizer report and no "SECRET"
 * (the tests' marker for passwords, which must never be logged). The log
 * is printed when one of these fails.
 */
void
proxy_stop_clean(struct proxy *p)
{
	static const char *const bad[] = { "runtime error",
	    "AddressSanitizer", "LeakSanitizer", "SECRET" };
	int	 code;
	size_t	 i;

	cr_assert(!proxy_exited(p, 0), "sluice died (status %d)",
	    proxy_exit_code(p));
	code = proxy_stop(p);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (proxy_log_count(p, bad[i]) > 0)
			break;
	if (code != 0 || i < sizeof bad / sizeof bad[0])
		proxy_dump_log(p);
	cr_assert_eq(code, 0, "sluice exit status %d", code);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(proxy_log_count(p, bad[i]), 0,
		    "\"%s\" in the daemon log", bad[i]);
}

/* SIGTERM, wait up to 8 s, else SIGKILL; return the exit code. */
int
proxy_stop(struct proxy *p)
{
	if (!proxy_exited(p, 0)) {
		kill(p->pid, SIGTERM);
		if (!proxy_exited(p, STOP_TIMEOUT_MS)) {
			proxy_dump_log(p);
			fprintf(stderr, "sluice ignored SIGTERM for %d ms; "
			    "killing it\n", STOP_TIMEOUT_MS);
			proxy_kill(p);
			return -1;
		}
	}
	return proxy_exit_code(p);
}

/* The daemon's process id. */
pid_t
proxy_pid(const struct proxy *p)
{
	return p->pid;
}

/* nftw callback: remove one entry. */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Kill the daemon if it still runs, remove its temp dir, free it. */
void
proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < MAX_LIVE; i++) {
		if (harness_live[i] == p)
			harness_live[i] = NULL;
	}
	if (p->pid > 0 && !p->reaped)
		proxy_kill(p);
	if (p->logfd != -1)
		close(p->logfd);
	nftw(p->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(p->dir);
	free(p->config);
	free(p->log);
	free(p);
}

/* A minimal nicehash config; extra is inserted verbatim as more keys. */
char *
config_basic(int bind_port, int pool_port, const char *extra)
{
	char	*s;

	cr_assert(asprintf(&s, "{\"mode\":\"nicehash\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"WALLET\","
	    "\"pass\":\"x\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"watch\":false%s%s}\n", bind_port, pool_port,
	    extra != NULL && *extra != '\0' ? "," : "",
	    extra != NULL ? extra : "") != -1);
	return s;
}

/* A 127.0.0.1 address (or src_ip) with port, for bind or connect. */
static void
addr_make(struct sockaddr_in *sin, const char *ip, int port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	cr_assert(inet_pton(AF_INET, ip, &sin->sin_addr) == 1,
	    "bad address %s", ip);
}

/* Listen on 127.0.0.1:port (0 picks one; see tl->port). */
struct tlisten *
tl_listen(int port)
{
	struct tlisten		*tl;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 on = 1;

	tl = (struct tlisten *)calloc(1, sizeof(*tl));
	cr_assert(tl != NULL, "out of memory");
	tl->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	cr_assert(tl->fd != -1, "socket: %s", strerror(errno));
	setsockopt(tl->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	addr_make(&sin, "127.0.0.1", port);
	cr_assert(bind(tl->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "fake pool: bind 127.0.0.1:%d: %s", port, strerror(errno));
	cr_assert(listen(tl->fd, 64) == 0, "listen: %s", strerror(errno));
	getsockname(tl->fd, (struct sockaddr *)&sin, &len);
	tl->port = ntohs(sin.sin_port);
	return tl;
}

/* Wrap a connected, non-blocking socket. */
static struct tconn *
tconn_new(int fd)
{
	struct tconn	*c;
	int		 on = 1;

	c = (struct tconn *)calloc(1, sizeof(*c));
	cr_assert(c != NULL, "out of memory");
	c->fd = fd;
	c->stash = json_array();
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return c;
}

/* Accept one connection within timeout_ms, or NULL. */
struct tconn *
tl_accept(struct tlisten *tl, int timeout_ms)
{
	struct pollfd	pfd = { tl->fd, POLLIN, 0 };
	int64_t		deadline = now_ms() + timeout_ms;
	int		fd;

	for (;;) {
		fd = accept4(tl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd != -1)
			return tconn_new(fd);
		cr_assert(errno == EAGAIN || errno == EINTR ||
		    errno == ECONNABORTED, "accept: %s", strerror(errno));
		if (left_ms(deadline) == 0)
			return NULL;
		poll(&pfd, 1, left_ms(deadline));
	}
}

/* Close a fake pool listener. */
void
tl_close(struct tlisten *tl)
{
	if (tl == NULL)
		return;
	close(tl->fd);
	free(tl);
}

/* Connect from src_ip (NULL: any) to 127.0.0.1:port; fail the test if refused. */
struct tconn *
tc_connect_from(const char *src_ip, int port)
{
	struct sockaddr_in	sin;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	if (src_ip != NULL) {
		addr_make(&sin, src_ip, 0);
		cr_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
		    "bind %s: %s", src_ip, strerror(errno));
	}
	addr_make(&sin, "127.0.0.1", port);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0,
	    "connect 127.0.0.1:%d: %s", port, strerror(errno));
	return tconn_new(fd);
}

/* Connect a fake miner to 127.0.0.1:port. */
struct tconn *
tc_connect(int port)
{
	return tc_connect_from(NULL, port);
}

static bool	 tc_tls_write(struct tconn *, const char *, size_t, int64_t);
static void	 tc_tls_fill(struct tconn *);
static void	 send_json(struct tconn *, json_t *);

/* Write all of buf; false if the peer is gone. A 10 s stall fails. */
bool
tc_send_raw(struct tconn *c, const void *buf, size_t len)
{
	struct pollfd	 pfd = { c->fd, POLLOUT, 0 };
	const char	*p = (const char *)buf;
	int64_t		 deadline = now_ms() + SEND_TIMEOUT_MS;
	ssize_t		 n;

	if (c->ssl != NULL)
		return tc_tls_write(c, p, len, deadline);
	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			return false;
		cr_assert(n == -1 && (errno == EAGAIN || errno == EINTR),
		    "send: %s", strerror(errno));
		cr_assert(left_ms(deadline) > 0, "send stalled for %d ms "
		    "(%zu bytes left)", SEND_TIMEOUT_MS, len);
		poll(&pfd, 1, left_ms(deadline));
	}
	return true;
}

/* printf to the connection, adding the final newline if missing. */
bool
tc_send(struct tconn *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;
	bool	 ok;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert(n != -1, "out of memory");
	ok = tc_send_raw(c, s, (size_t)n);
	if (ok && (n == 0 || s[n - 1] != '\n'))
		ok = tc_send_raw(c, "\n", 1);
	free(s);
	return ok;
}

/* Drain what TLS has decrypted into the input buffer; note EOF. */
static void
tc_tls_fill(struct tconn *c)
{
	char	 tmp[8192];
	int	 n, err;

	for (;;) {
		n = SSL_read((SSL *)c->ssl, tmp, sizeof(tmp));
		if (n > 0) {
			buf_add(&c->in, &c->inlen, &c->incap, tmp, (size_t)n);
			continue;
		}
		err = SSL_get_error((SSL *)c->ssl, n);
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			c->eof = 1;
		ERR_clear_error();
		return;
	}
}

/* Write all of buf over TLS; false if the peer is gone. */
static bool
tc_tls_write(struct tconn *c, const char *p, size_t len, int64_t deadline)
{
	struct pollfd	 pfd = { c->fd, POLLOUT, 0 };
	int		 n, err;

	while (len > 0) {
		n = SSL_write((SSL *)c->ssl, p, (int)len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		err = SSL_get_error((SSL *)c->ssl, n);
		ERR_clear_error();
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			return false;
		cr_assert(left_ms(deadline) > 0, "TLS send stalled");
		pfd.events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		poll(&pfd, 1, left_ms(deadline));
	}
	return true;
}

/* Drive a TLS handshake on a non-blocking socket; false on failure. */
static bool
tc_tls_handshake(struct tconn *c, SSL *ssl, int server)
{
	struct pollfd	 pfd = { c->fd, 0, 0 };
	int64_t		 deadline = now_ms() + 5000;
	int		 n, err;

	signal(SIGPIPE, SIG_IGN);	/* OpenSSL writes with write(2) */
	SSL_set_fd(ssl, c->fd);
	for (;;) {
		n = server ? SSL_accept(ssl) : SSL_connect(ssl);
		if (n == 1)
			break;
		err = SSL_get_error(ssl, n);
		ERR_clear_error();
		if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) ||
		    left_ms(deadline) == 0) {
			SSL_free(ssl);
			return false;
		}
		pfd.events = err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		poll(&pfd, 1, left_ms(deadline));
	}
	c->ssl = ssl;
	return true;
}

/*
 * Start TLS as a client (a TLS miner). With ca_file the server's chain is
 * verified against it. The server certificate's SHA-256 goes to
 * fingerprint when given. Returns false if the handshake fails.
 */
bool
tc_tls_client(struct tconn *c, const char *ca_file, const char *sni,
    char fingerprint[65])
{
	SSL_CTX		*ctx = SSL_CTX_new(TLS_client_method());
	SSL		*ssl;
	X509		*cert;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	bool		 ok;

	cr_assert(ctx != NULL);
	if (ca_file != NULL) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		cr_assert(SSL_CTX_load_verify_locations(ctx, ca_file, NULL) == 1);
	}
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	if (sni != NULL)
		SSL_set_tlsext_host_name(ssl, sni);
	ok = tc_tls_handshake(c, ssl, 0);
	if (ok && fingerprint != NULL) {
		cert = SSL_get1_peer_certificate(ssl);
		cr_assert(cert != NULL);
		X509_digest(cert, EVP_sha256(), md, &mdlen);
		X509_free(cert);
		for (i = 0; i < mdlen; i++)
			snprintf(fingerprint + 2 * i, 3, "%02x", md[i]);
	}
	return ok;
}

/* Start TLS as a server (a TLS pool) with a certificate and key. */
bool
tc_tls_server(struct tconn *c, const char *cert, const char *key)
{
	SSL_CTX	*ctx = SSL_CTX_new(TLS_server_method());
	SSL	*ssl;

	cr_assert(ctx != NULL);
	cr_assert(SSL_CTX_use_certificate_chain_file(ctx, cert) == 1,
	    "cannot load %s", cert);
	cr_assert(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1,
	    "cannot load %s", key);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);
	return tc_tls_handshake(c, ssl, 1);
}

/*
 * Make DIR/PREFIX-ca.pem (a CA) and DIR/PREFIX-cert.pem + -key.pem (a
 * server certificate for localhost and 127.0.0.1 signed by it) with the
 * openssl command, as an operator would.
 */
void
tls_make_certs(const char *dir, const char *prefix)
{
	char	*cmd, *out = NULL;
	int	 rc;

	cr_assert(asprintf(&cmd,
	    "cd '%s' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
	    "-subj '/CN=sluice test CA' -keyout %s-ca-key.pem -out %s-ca.pem "
	    "&& openssl req -newkey rsa:2048 -nodes -subj /CN=localhost "
	    "-keyout %s-key.pem -out %s.csr && printf "
	    "'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > %s.ext && "
	    "openssl x509 -req -in %s.csr -CA %s-ca.pem -CAkey %s-ca-key.pem "
	    "-CAcreateserial -days 2 -extfile %s.ext -out %s-cert.pem",
	    dir, prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix,
	    prefix, prefix) != -1);
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	rc = run_capture(argv, &out);
	cr_assert(rc == 0, "openssl failed (%d): %s", rc, out);
	free(out);
	free(cmd);
}

/* The lower-case hex SHA-256 of a PEM certificate's DER (free it). */
char *
cert_fingerprint(const char *cert_file)
{
	FILE		*f = fopen(cert_file, "r");
	X509		*cert;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	char		*hex;

	cr_assert(f != NULL, "%s: %s", cert_file, strerror(errno));
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert(cert != NULL, "%s: not a PEM certificate", cert_file);
	X509_digest(cert, EVP_sha256(), md, &mdlen);
	X509_free(cert);
	hex = (char *)calloc(1, 65);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}

/* Wait up to timeout_ms for input; append it; note EOF. */
static void
tc_fill(struct tconn *c, int timeout_ms)
{
	struct pollfd	pfd = { c->fd, POLLIN, 0 };
	char		tmp[8192];
	ssize_t		n;

	if (c->ssl != NULL && !c->eof &&
	    SSL_pending((SSL *)c->ssl) == 0 && poll(&pfd, 1, timeout_ms) <= 0)
		return;
	if (c->ssl != NULL) {
		tc_tls_fill(c);
		return;
	}
	if (c->eof || poll(&pfd, 1, timeout_ms) <= 0)
		return;
	for (;;) {
		n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n > 0) {
			buf_add(&c->in, &c->inlen, &c->incap, tmp, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0 || errno != EAGAIN)
			c->eof = 1;
		return;
	}
}

/* The next complete line without its newline (free it), or NULL. */
char *
tc_recv_line(struct tconn *c, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;
	char	*nl, *line;
	size_t	 n;
	int	 last = 0;

	for (;;) {
		if (c->inlen > 0 &&
		    (nl = (char *)memchr(c->in, '\n', c->inlen)) != NULL) {
			n = (size_t)(nl - c->in);
			line = strndup(c->in, n);
			cr_assert(line != NULL, "out of memory");
			c->inlen -= n + 1;
			memmove(c->in, nl + 1, c->inlen + 1);
			return line;
		}
		if (c->eof || last)
			return NULL;
		last = left_ms(deadline) == 0;
		tc_fill(c, left_ms(deadline));
	}
}

/* Receive one line off the wire and parse it; not JSON fails the test. */
static json_t *
tc_recv_wire(struct tconn *c, int timeout_ms)
{
	json_error_t	 err;
	json_t		*j;
	char		*line;

	int64_t		 deadline = now_ms() + timeout_ms;
	const char	*method;

	for (;;) {
		if ((line = tc_recv_line(c, left_ms(deadline))) == NULL)
			return NULL;
		j = json_loads(line, 0, &err);
		cr_assert(j != NULL, "received a line that is not JSON (%s): "
		    "%.300s", err.text, line);
		free(line);
		/*
		 * The proxy probes a quiet pool with keepalived (and never
		 * sends one to a miner): answer it as a live pool does, so a
		 * test sees only the traffic it is about.
		 */
		method = json_string_value(json_object_get(j, "method"));
		if (method == NULL || strcmp(method, "keepalived") != 0)
			return j;
		c->keepalived++;
		send_json(c, json_pack("{s:O, s:s, s:n, s:{s:s}}", "id",
		    json_object_get(j, "id"), "jsonrpc", "2.0", "error",
		    "result", "status", "KEEPALIVED"));
		json_decref(j);
	}
}

/* The next message (put-aside ones first), or NULL on timeout or EOF. */
json_t *
tc_recv(struct tconn *c, int timeout_ms)
{
	json_t	*j;

	if (json_array_size(c->stash) > 0) {
		j = json_incref(json_array_get(c->stash, 0));
		json_array_remove(c->stash, 0);
		return j;
	}
	return tc_recv_wire(c, timeout_ms);
}

/*
 * The reply whose "id" is id; other messages met meanwhile (job pushes)
 * are kept for the next tc_recv, in order.
 */
json_t *
tc_recv_reply(struct tconn *c, json_int_t id, int timeout_ms)
{
	int64_t	 deadline = now_ms() + timeout_ms;
	json_t	*j, *jid;
	size_t	 i;

	json_array_foreach(c->stash, i, j) {
		jid = json_object_get(j, "id");
		if (json_is_integer(jid) && json_integer_value(jid) == id) {
			json_incref(j);
			json_array_remove(c->stash, i);
			return j;
		}
	}
	while ((j = tc_recv_wire(c, left_ms(deadline))) != NULL) {
		jid = json_object_get(j, "id");
		if (json_is_integer(jid) && json_integer_value(jid) == id)
			return j;
		json_array_append_new(c->stash, j);
	}
	return NULL;
}

/* True once the peer has closed; input meanwhile is discarded. */
bool
tc_wait_closed(struct tconn *c, int timeout_ms)
{
	int64_t	deadline = now_ms() + timeout_ms;
	int	last = 0;

	for (;;) {
		c->inlen = 0;
		json_array_clear(c->stash);
		if (c->eof)
			return true;
		if (last)
			return false;
		last = left_ms(deadline) == 0;
		tc_fill(c, left_ms(deadline));
	}
}

/* Close and free a connection. */
void
tc_close(struct tconn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free((SSL *)c->ssl);
	close(c->fd);
	json_decref(c->stash);
	free(c->in);
	free(c);
}

/* Serialise j compactly, send it as one line, and drop the reference. */
static void
send_json(struct tconn *c, json_t *j)
{
	char	*s;

	cr_assert(j != NULL, "json_pack failed");
	s = json_dumps(j, JSON_COMPACT);
	cr_assert(s != NULL, "json_dumps failed");
	tc_send(c, "%s", s);
	free(s);
	json_decref(j);
}

/*
 * A 76-byte CryptoNote hashing blob: versions, varint timestamp, previous
 * hash, the nonce at byte 39 (hex 78..85, zero), merkle root, tx count.
 */
static const char tjob_blob[] =
    "1010" "e0c5d3a206"
    "3f00000000000000000000000000000000000000000000000000000000a500c1"
    "00000000"
    "7d0000000000000000000000000000000000000000000000000000001b0000e4"
    "05";
static_assert(sizeof(tjob_blob) == 153, "blob must be 152 hex chars");

/* A realistic rx/0 job at difficulty 10000. */
void
tjob_default(struct tjob *job, const char *job_id)
{
	job->blob = tjob_blob;
	job->job_id = job_id;
	job->target = "b88d0600";
	job->algo = "rx/0";
	job->height = 1000;
	job->seed_hash = "a3f1c8d20b7e4596"
	    "a3f1c8d20b7e4596a3f1c8d20b7e4596a3f1c8d20b7e4596";
}

/* The JSON object of a job. */
static json_t *
tjob_json(const struct tjob *job)
{
	json_t	*j;

	cr_assert(job->blob != NULL && job->job_id != NULL &&
	    job->target != NULL, "tjob needs blob, job_id and target");
	j = json_pack("{s:s, s:s, s:s}", "blob", job->blob, "job_id",
	    job->job_id, "target", job->target);
	if (job->algo != NULL)
		json_object_set_new(j, "algo", json_string(job->algo));
	json_object_set_new(j, "height", json_integer((json_int_t)job->height));
	if (job->seed_hash != NULL)
		json_object_set_new(j, "seed_hash", json_string(job->seed_hash));
	return j;
}

/* Receive the proxy's login at the fake pool (caller decrefs). */
json_t *
pool_expect_login(struct tconn *pc, int timeout_ms)
{
	json_t		*m = tc_recv(pc, timeout_ms);
	const char	*method;

	cr_assert(m != NULL, "fake pool: no login within %d ms", timeout_ms);
	method = json_string_value(json_object_get(m, "method"));
	cr_assert(method != NULL && strcmp(method, "login") == 0,
	    "fake pool: expected login, got %s", json_dumps(m, JSON_COMPACT));
	return m;
}

/* Answer the proxy's login as a pool would, with a first job. */
void
pool_send_login_ok(struct tconn *pc, json_t *login_req, const char *session,
    const struct tjob *job)
{
	json_t	*id = json_object_get(login_req, "id");

	cr_assert(id != NULL, "pool login request has no id");
	send_json(pc, json_pack("{s:O, s:s, s:n, s:{s:s, s:o, s:[sss], s:s}}",
	    "id", id, "jsonrpc", "2.0", "error", "result",
	    "id", session, "job", tjob_json(job),
	    "extensions", "algo", "nicehash", "keepalive", "status", "OK"));
}

/* Push a job from the fake pool. */
void
pool_send_job(struct tconn *pc, const struct tjob *job)
{
	send_json(pc, json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0",
	    "method", "job", "params", tjob_json(job)));
}

/* Log a fake XMRig in (id 1); return the reply or NULL on timeout. */
json_t *
miner_login(struct tconn *mc, const char *login, const char *pass,
    const char *rigid, int timeout_ms)
{
	json_t	*params;

	params = json_pack("{s:s, s:s, s:s}", "login", login, "pass", pass,
	    "agent", HARNESS_LOGIN_AGENT);
	cr_assert(params != NULL, "login and pass must be set");
	if (rigid != NULL)
		json_object_set_new(params, "rigid", json_string(rigid));
	json_object_set_new(params, "algo", json_pack("[ss]", "rx/0", "cn/r"));
	send_json(mc, json_pack("{s:i, s:s, s:s, s:o}", "id", 1,
	    "jsonrpc", "2.0", "method", "login", "params", params));
	return tc_recv_reply(mc, 1, timeout_ms);
}

/* Submit a share as XMRig does; return the reply or NULL on timeout. */
json_t *
miner_submit(struct tconn *mc, int id, const char *session,
    const char *job_id, const char *nonce, const char *result, int timeout_ms)
{
	send_json(mc, json_pack("{s:i, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}",
	    "id", id, "jsonrpc", "2.0", "method", "submit", "params",
	    "id", session, "job_id", job_id, "nonce", nonce, "result", result,
	    "algo", "rx/0"));
	return tc_recv_reply(mc, id, timeout_ms);
}

/* A result hash whose difficulty is diff (last 8 bytes: LE UINT64_MAX/diff). */
void
make_result(char out[65], uint64_t diff)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t	  r;
	int		  i;

	cr_assert(diff > 0, "make_result: diff must be positive");
	r = UINT64_MAX / diff;
	for (i = 0; i < 24; i++) {
		out[2 * i] = hex[(i * 7 + 3) & 0xf];
		out[2 * i + 1] = hex[(i * 11 + 5) & 0xf];
	}
	for (i = 0; i < 8; i++) {
		out[48 + 2 * i] = hex[(r >> (8 * i + 4)) & 0xf];
		out[48 + 2 * i + 1] = hex[(r >> (8 * i)) & 0xf];
	}
	out[64] = '\0';
}

/* The value at a dotted path ("result.job.blob") of a JSON object. */
json_t *
jget(json_t *o, const char *path)
{
	char	 key[64];
	size_t	 n;

	while (o != NULL && *path != '\0') {
		n = strcspn(path, ".");
		cr_assert(n < sizeof key);
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path += n + (path[n] == '.');
	}
	return o;
}

/* The string at a dotted path, or NULL. */
const char *
jstr(json_t *o, const char *path)
{
	return json_string_value(jget(o, path));
}

/* Compact text of a message, for failure output. */
const char *
jtext(json_t *j)
{
	char	*s;

	if (j == NULL)
		return "(nothing)";
	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	return s != NULL ? s : "(unprintable)";
}

/* The slot a blob carries (hex chars 84..85). */
int
blob_slot(const char *blob)
{
	char	hex[3];

	cr_assert(blob != NULL && strlen(blob) >= SLOT_HEX + 2,
	    "blob too short: %s", blob != NULL ? blob : "(null)");
	memcpy(hex, blob + SLOT_HEX, 2);
	hex[2] = '\0';
	return (int)strtol(hex, NULL, 16);
}

/* Does blob equal the pool's blob everywhere but the slot byte? */
bool
blob_same_but_slot(const char *blob, const char *pool_blob)
{
	size_t	n = strlen(pool_blob);

	return strlen(blob) == n && memcmp(blob, pool_blob, SLOT_HEX) == 0 &&
	    strcmp(blob + SLOT_HEX + 2, pool_blob + SLOT_HEX + 2) == 0;
}

/*
 * Send req to an HTTP server on 127.0.0.1:port and read until it closes,
 * within HARNESS_HTTP_MS; the bytes read, NUL-terminated (free them). A
 * server that stops reading and answers (a refused body) ends the
 * sending, not the test.
 */
char *
http_exchange(int port, const char *req, size_t reqlen, size_t *lenp)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	char			*buf = NULL;
	size_t			 len = 0, cap = 0, off = 0;
	int64_t			 deadline = now_ms() + HARNESS_HTTP_MS;
	ssize_t			 n;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	addr_make(&sin, "127.0.0.1", port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		cr_assert(errno == EINPROGRESS, "connect to HTTP port %d: %s",
		    port, strerror(errno));
	while (off < reqlen) {
		pfd.fd = fd;
		pfd.events = POLLOUT | POLLIN;
		cr_assert(poll(&pfd, 1, left_ms(deadline)) == 1,
		    "HTTP request timed out (send)");
		/* A server that answers before the end (a refused body). */
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
			break;
		n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break;
		cr_assert(n > 0 || errno == EAGAIN, "write to HTTP: %s",
		    strerror(errno));
		if (n > 0)
			off += (size_t)n;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 16384 : cap * 2;
			buf = (char *)realloc(buf, cap + 1);
			cr_assert(buf != NULL);
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		cr_assert(poll(&pfd, 1, left_ms(deadline)) == 1,
		    "HTTP answer timed out for %.*s", (int)strcspn(req, "\r"),
		    req);
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0 && errno == ECONNRESET && len > 0)
			break;
		cr_assert(n > 0 || errno == EAGAIN, "read from HTTP: %s",
		    strerror(errno));
		if (n > 0)
			len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/*
 * One HTTP/1.1 request with Connection: close, read to EOF. headers are
 * extra "Name: value\r\n" lines or NULL; body (JSON unless headers name
 * a Content-Type) or NULL.
 */
struct hresp *
http_request(int port, const char *method, const char *path,
    const char *headers, const char *body)
{
	struct hresp	*r;
	char		*req, *buf, *sep, blen[96] = "";
	size_t		 len;
	int		 reqlen;
	int		 ctype = headers != NULL &&
			    strcasestr(headers, "Content-Type:") != NULL;

	if (body != NULL)
		snprintf(blen, sizeof blen, "%sContent-Length: %zu\r\n",
		    ctype ? "" : "Content-Type: application/json\r\n",
		    strlen(body));
	reqlen = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n%s%s\r\n%s", method, path,
	    headers != NULL ? headers : "", blen, body != NULL ? body : "");
	cr_assert(reqlen > 0);
	buf = http_exchange(port, req, (size_t)reqlen, &len);
	free(req);
	r = (struct hresp *)calloc(1, sizeof *r);
	cr_assert(r != NULL);
	cr_assert(sscanf(buf, "HTTP/1.1 %d", &r->status) == 1,
	    "not an HTTP answer: %s", buf);
	sep = strstr(buf, "\r\n\r\n");
	cr_assert(sep != NULL, "no end of headers: %s", buf);
	*sep = '\0';
	r->head = buf;
	r->body = sep + 4;
	r->bodylen = len - (size_t)(r->body - buf);
	return r;
}

/*
 * A JSON answer (what: the request, for messages): it must be a 200 with
 * Content-Type application/json and a body that parses. Frees r; the
 * proxy's log is printed when it is not (p may be NULL).
 */
json_t *
hresp_json(struct hresp *r, const char *what, struct proxy *p)
{
	json_error_t	 err;
	json_t		*j;

	if (r->status != 200 && p != NULL)
		proxy_dump_log(p);
	cr_assert_eq(r->status, 200, "%s: %d\n%s\n%s", what, r->status,
	    r->head, r->body);
	cr_assert(strstr(r->head, "Content-Type: application/json") != NULL,
	    "%s content type:\n%s", what, r->head);
	j = json_loads(r->body, 0, &err);
	cr_assert(j != NULL, "%s: not JSON (%s): %s", what, err.text,
	    r->body);
	hresp_free(r);
	return j;
}

/* Free an answer. */
void
hresp_free(struct hresp *r)
{
	free(r->head);
	free(r);
}

/* Run $SLUICE_BIN with the NULL-terminated arguments; its exit code. */
int
run_sluice(char **output, ...)
{
	const char	*argv[16];
	va_list		 ap;
	int		 argc = 0;

	argv[argc++] = sluice_bin();
	va_start(ap, output);
	while (argc < 15 && (argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return run_capture(argv, output);
}

/* The path of a file in the source tree (free it). */
char *
srcfile(const char *name)
{
	char	*path;

	cr_assert(asprintf(&path, "%s/%s", sluice_srcdir(), name) != -1);
	return path;
}

/* A file's whole text (free it); the file must exist. */
char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s;
	long	 n;

	cr_assert(f != NULL, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = (char *)calloc(1, (size_t)n + 1);
	cr_assert(s != NULL);
	if (n > 0)
		cr_assert(fread(s, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	return s;
}

/* How many lines of text start with prefix. */
int
count_lines(const char *text, const char *prefix)
{
	const char	*p;
	int		 n = 0;

	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	}
	return n;
}

/* out must hold needle. */
void
must_say(const char *out, const char *needle)
{
	cr_assert(strstr(out, needle) != NULL, "no \"%s\" in:\n%s", needle,
	    out);
}

/*
 * The proxy's first pool connection at tl: accepted, logged in (session
 * "pool-session-1", job "job1"), and up in the proxy's log.
 */
struct tconn *
pool_bring_up(struct tlisten *tl, struct proxy *p)
{
	struct tconn	*pc;
	struct tjob	 job;
	json_t		*login;

	pc = tl_accept(tl, 5000);
	if (pc == NULL)
		proxy_dump_log(p);
	cr_assert(pc != NULL, "sluice did not connect to the fake pool");
	login = pool_expect_login(pc, 5000);
	cr_assert(login != NULL, "no login from sluice");
	tjob_default(&job, "job1");
	pool_send_login_ok(pc, login, "pool-session-1", &job);
	json_decref(login);
	cr_assert(proxy_wait_log(p, "state=up", 5000), "pool never came up");
	return pc;
}

/*
 * The fake pool side: accept, read the login, answer it with a job;
 * returns the login (decref it), the connection in *pcp.
 */
json_t *
pool_login_of(struct tlisten *tl, struct tconn **pcp)
{
	struct tconn	*pc;
	struct tjob	 job;
	json_t		*login;

	pc = tl_accept(tl, 5000);
	cr_assert(pc != NULL, "sluice did not connect to the fake pool");
	login = pool_expect_login(pc, 5000);
	tjob_default(&job, "j1");
	pool_send_login_ok(pc, login, "0123456789abcdef", &job);
	*pcp = pc;
	return login;
}
