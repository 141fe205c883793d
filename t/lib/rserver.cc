/*
 * rserver.cc: a real redis-server for the integration tests (rserver.h).
 * redis-server must be installed (contrib/deps.sh does it); a missing
 * one fails the tests, it does not skip them.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "rserver.h"

#define WAIT_MS		5000

/* Is prog an executable in $PATH? */
bool
in_path(const char *prog)
{
	const char	*path = getenv("PATH");
	char		*copy, *dir, *save, *f;
	bool		 found = false;

	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	copy = strdup(path);
	cr_assert(copy != NULL);
	for (dir = strtok_r(copy, ":", &save); dir != NULL && !found;
	    dir = strtok_r(NULL, ":", &save)) {
		cr_assert(asprintf(&f, "%s/%s", dir, prog) != -1);
		found = access(f, X_OK) == 0;
		free(f);
	}
	free(copy);
	return found;
}

/* Read what redis-server printed so far (or within ms). */
void
rs_drain(struct rsrv *r, int ms)
{
	struct pollfd	 pfd = { r->outfd, POLLIN, 0 };
	char		 buf[4096];
	ssize_t		 n;

	if (r->outfd == -1 || poll(&pfd, 1, ms) <= 0)
		return;
	while ((n = read(r->outfd, buf, sizeof buf)) > 0) {
		r->out = (char *)realloc(r->out, r->outlen + (size_t)n + 1);
		cr_assert(r->out != NULL);
		memcpy(r->out + r->outlen, buf, (size_t)n);
		r->outlen += (size_t)n;
		r->out[r->outlen] = '\0';
	}
	if (n == 0) {
		close(r->outfd);
		r->outfd = -1;
	}
}

/* RESP: one reply from buf[*pos..len), or NULL when incomplete. */
json_t *
resp_parse(const char *buf, size_t len, size_t *pos)
{
	const char	*nl;
	json_t		*a, *e;
	long long	 n, i;
	size_t		 p = *pos, line;

	if (p >= len || (nl = (const char *)memmem(buf + p, len - p, "\r\n",
	    2)) == NULL)
		return NULL;
	line = (size_t)(nl - (buf + p));
	n = strtoll(buf + p + 1, NULL, 10);
	p += line + 2;
	switch (buf[*pos]) {
	case '+':
		*pos = p;
		return json_stringn(buf + *pos - line - 1, line - 1);
	case '-':
		*pos = p;
		return json_pack("{s:s%}", "error", buf + p - line - 1,
		    line - 1);
	case ':':
		*pos = p;
		return json_integer(n);
	case '$':
		if (n < 0) {
			*pos = p;
			return json_null();
		}
		if (len - p < (size_t)n + 2)
			return NULL;
		*pos = p + (size_t)n + 2;
		return json_stringn(buf + p, (size_t)n);
	case '*':
		if (n < 0) {
			*pos = p;
			return json_null();
		}
		a = json_array();
		for (i = 0; i < n; i++) {
			if ((e = resp_parse(buf, len, &p)) == NULL) {
				json_decref(a);
				return NULL;
			}
			json_array_append_new(a, e);
		}
		*pos = p;
		return a;
	}
	cr_assert_fail("not a RESP reply: %.*s", (int)(len - *pos),
	    buf + *pos);
	return NULL;
}

/*
 * Send one command (NULL-terminated words) to the redis-server on port,
 * authenticating first when pass is set; return its reply.
 */
json_t *
rs_call(int port, const char *pass, ...)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	const char		*w;
	char			*cmd = NULL, buf[65536];
	size_t			 cmdlen = 0, len = 0, pos;
	int64_t			 deadline = now_ms() + WAIT_MS;
	FILE			*f;
	json_t			*r = NULL, *auth;
	va_list			 ap;
	ssize_t			 n;
	int			 fd, words = 0, replies, i;

	f = open_memstream(&cmd, &cmdlen);
	cr_assert(f != NULL);
	if (pass != NULL)
		fprintf(f, "*2\r\n$4\r\nAUTH\r\n$%zu\r\n%s\r\n", strlen(pass),
		    pass);
	va_start(ap, pass);
	while (va_arg(ap, const char *) != NULL)
		words++;
	va_end(ap);
	fprintf(f, "*%d\r\n", words);
	va_start(ap, pass);
	while ((w = va_arg(ap, const char *)) != NULL)
		fprintf(f, "$%zu\r\n%s\r\n", strlen(w), w);
	va_end(ap);
	fclose(f);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "connect to redis-server on port %d: %s", port, strerror(errno));
	cr_assert(write(fd, cmd, cmdlen) == (ssize_t)cmdlen,
	    "write to redis-server: %s", strerror(errno));
	free(cmd);
	replies = pass != NULL ? 2 : 1;
	for (i = 0, pos = 0; i < replies; i++) {
		while ((r = resp_parse(buf, len, &pos)) == NULL) {
			pfd.fd = fd;
			pfd.events = POLLIN;
			cr_assert(poll(&pfd, 1, left_ms(deadline)) == 1,
			    "redis-server on port %d did not answer", port);
			n = read(fd, buf + len, sizeof buf - len);
			cr_assert(n > 0, "redis-server closed or failed: %s",
			    n == 0 ? "EOF" : strerror(errno));
			len += (size_t)n;
			cr_assert(len < sizeof buf, "reply too long");
		}
		if (i + 1 < replies) {
			auth = r;
			cr_assert(json_is_string(auth), "AUTH: %s", jtext(auth));
			json_decref(auth);
		}
	}
	close(fd);
	return r;
}

/*
 * Start redis-server on port (0: a free one) with no persistence, in a
 * folder of its own, dying with the test; wait until it answers PING.
 */
struct rsrv *
rs_start(int port, const char *pass)
{
	const char	*tmp = getenv("TMPDIR");
	char		 portbuf[16];
	const char	*argv[24];
	struct rsrv	*r;
	pid_t		 parent = getpid();
	int64_t		 deadline = now_ms() + 10000;
	json_t		*pong;
	int		 fds[2], null, argc = 0;

	cr_assert(in_path("redis-server"), "redis-server is not installed "
	    "(not in $PATH): the redis tests need it; contrib/deps.sh "
	    "installs the Debian package redis-server");
	r = (struct rsrv *)calloc(1, sizeof *r);
	cr_assert(r != NULL);
	r->port = port != 0 ? port : free_port();
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	cr_assert(asprintf(&r->dir, "%s/sluice-redis.XXXXXX", tmp) != -1);
	cr_assert(mkdtemp(r->dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(portbuf, sizeof portbuf, "%d", r->port);
	argv[argc++] = "redis-server";
	argv[argc++] = "--port";
	argv[argc++] = portbuf;
	argv[argc++] = "--bind";
	argv[argc++] = "127.0.0.1";
	argv[argc++] = "--save";
	argv[argc++] = "";
	argv[argc++] = "--appendonly";
	argv[argc++] = "no";
	argv[argc++] = "--dir";
	argv[argc++] = r->dir;
	argv[argc++] = "--daemonize";
	argv[argc++] = "no";
	if (pass != NULL) {
		argv[argc++] = "--requirepass";
		argv[argc++] = pass;
	}
	argv[argc] = NULL;

	cr_assert(pipe2(fds, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
	r->pid = fork();
	cr_assert(r->pid != -1, "fork: %s", strerror(errno));
	if (r->pid == 0) {
		/* Never outlive the test, even one that failed half-way. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if ((null = open("/dev/null", O_RDONLY)) != -1)
			dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close_range(3, ~0U, 0);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "exec redis-server: %s\n", strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	r->outfd = fds[0];
	/* Its log says when it listens; then it must answer PING. */
	while (r->out == NULL ||
	    strstr(r->out, "Ready to accept connections") == NULL) {
		cr_assert(r->outfd != -1 && left_ms(deadline) > 0,
		    "redis-server on port %d did not start:\n%s", r->port,
		    r->out != NULL ? r->out : "(no output)");
		rs_drain(r, left_ms(deadline));
	}
	pong = rs_call(r->port, pass, "PING", NULL);
	cr_assert(json_is_string(pong) &&
	    strcmp(json_string_value(pong), "PONG") == 0,
	    "PING answered %s", jtext(pong));
	json_decref(pong);
	return r;
}

/* Kill redis-server at once (its data is gone) and reap it. */
void
rs_kill(struct rsrv *r)
{
	int	 status;

	if (r->pid <= 0)
		return;
	kill(r->pid, SIGKILL);
	while (waitpid(r->pid, &status, 0) == -1 && errno == EINTR)
		;
	r->pid = -1;
	rs_drain(r, 0);
	if (r->outfd != -1)
		close(r->outfd);
	r->outfd = -1;
}

/* nftw callback: remove one entry. */
static int
rs_rm_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Stop redis-server if it runs, remove its folder, free. */
void
rs_free(struct rsrv *r)
{
	rs_kill(r);
	nftw(r->dir, rs_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(r->dir);
	free(r->out);
	free(r);
}
