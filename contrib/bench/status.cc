/*
 * status.cc: "sluice-bench status", the live status line of "make demo".
 * Every --interval seconds it prints one line: miners, upstreams,
 * hashrate, accepted and rejected shares, and where the numbers came
 * from.
 *
 * The source is the proxy's HTTP API (/1/summary, xmrig-proxy's format)
 * when it answers. Until it does, the line is put together from what is
 * always there: the test pool's control port (its connections are the
 * proxy's upstreams, its accepted and rejected counts are the shares that
 * reached it, and its difficulty turns the accepted rate into a hashrate)
 * and the proxy's periodic "type=summary" log line (miners).
 */
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

struct status_line {
	int		 ok;
	const char	*source;
	long long	 miners;	/* -1 unknown */
	long long	 up_active;
	long long	 up_total;
	double		 khs;		/* -1 unknown */
	long long	 accepted;
	long long	 rejected;
};

static volatile sig_atomic_t status_stop;

static void	 status_on_signal(int);
static json_t	*status_http_get(const char *host, int port, const char *path,
		     const char *token);
static int	 status_from_api(const char *, int, const char *,
		     struct status_line *);
static json_t	*status_pool_stats(int);
static long long status_log_field(const char *, const char *);
static char	*status_last_summary(const char *);

/* SIGINT/SIGTERM end the loop early. */
static void
status_on_signal(int sig)
{
	(void)sig;
	status_stop = 1;
}

/* GET path over HTTP/1.0; the body as JSON if the status is 200. */
static json_t *
status_http_get(const char *host, int port, const char *path,
    const char *token)
{
	struct pollfd	 pfd;
	char		 req[512], *buf, *body;
	size_t		 n = 0, cap = 1 << 20;
	ssize_t		 r;
	int		 fd, code = 0;
	uint64_t	 end = bench_now() + 1000000000ull;
	json_error_t	 err;
	json_t		*o = NULL;

	if ((fd = bench_connect_tcp(host, port, 500)) == -1)
		return NULL;
	snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s:%d\r\n"
	    "%s%s%sAccept: application/json\r\n\r\n", path, host, port,
	    token != NULL ? "Authorization: Bearer " : "",
	    token != NULL ? token : "", token != NULL ? "\r\n" : "");
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		close(fd);
		return NULL;
	}
	if ((buf = (char *)malloc(cap)) == NULL)
		bench_fatal("malloc");
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (n < cap - 1 && bench_now() < end) {
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		if ((r = read(fd, buf + n, cap - 1 - n)) <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (sscanf(buf, "HTTP/%*s %d", &code) == 1 && code == 200 &&
	    (body = strstr(buf, "\r\n\r\n")) != NULL)
		o = json_loads(body + 4, 0, &err);
	free(buf);
	return o;
}

/* Fill a line from /1/summary; -1 if the API does not answer. */
static int
status_from_api(const char *host, int port, const char *token,
    struct status_line *sl)
{
	json_t	*o, *v;

	if ((o = status_http_get(host, port, "/1/summary", token)) == NULL)
		return -1;
	if (!json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	sl->source = "api";
	v = json_object_get(json_object_get(o, "miners"), "now");
	sl->miners = json_is_integer(v) ? json_integer_value(v) : -1;
	v = json_object_get(o, "upstreams");
	sl->up_active = json_integer_value(json_object_get(v, "active"));
	sl->up_total = json_integer_value(json_object_get(v, "total"));
	v = json_array_get(json_object_get(json_object_get(o, "hashrate"),
	    "total"), 0);
	sl->khs = json_is_number(v) ? json_number_value(v) : -1;
	v = json_object_get(o, "results");
	sl->accepted = json_integer_value(json_object_get(v, "accepted"));
	sl->rejected = json_integer_value(json_object_get(v, "rejected")) +
	    json_integer_value(json_object_get(v, "invalid"));
	json_decref(o);
	sl->ok = 1;
	return 0;
}

/* The test pool's counters, or NULL. */
static json_t *
status_pool_stats(int port)
{
	char		 buf[4096];
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd;
	json_error_t	 err;

	if (port <= 0 || (fd = bench_connect_tcp("127.0.0.1", port,
	    500)) == -1)
		return NULL;
	if (write(fd, "stats\n", 6) != 6) {
		close(fd);
		return NULL;
	}
	while (n < sizeof buf - 1 && (r = read(fd, buf + n,
	    sizeof buf - 1 - n)) > 0) {
		n += (size_t)r;
		if (memchr(buf, '\n', n) != NULL)
			break;
	}
	close(fd);
	buf[n] = '\0';
	return json_loads(buf, JSON_DISABLE_EOF_CHECK, &err);
}

/* The last "type=summary" line of a log file (caller frees), or NULL. */
static char *
status_last_summary(const char *path)
{
	FILE	*f;
	char	*line = NULL, *last = NULL;
	size_t	 cap = 0;

	if (path == NULL || (f = fopen(path, "r")) == NULL)
		return NULL;
	while (getline(&line, &cap, f) != -1) {
		if (strstr(line, "type=summary ") != NULL) {
			free(last);
			last = xstrdup(line);
		}
	}
	free(line);
	fclose(f);
	return last;
}

/* The number after " key=" in a log line, or -1. */
static long long
status_log_field(const char *line, const char *key)
{
	char		 pat[64];
	const char	*p;

	snprintf(pat, sizeof pat, " %s=", key);
	if (line == NULL || (p = strstr(line, pat)) == NULL)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

/* status: one line every --interval seconds until --duration or a signal. */
int
status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "token", required_argument, NULL, 't' },
		{ "control-port", required_argument, NULL, 'c' },
		{ "log", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, '1' },
		{ NULL, 0, NULL, 0 }
	};
	struct status_line	 sl;
	struct sigaction	 sa;
	const char		*token = NULL, *log = NULL, *api = NULL;
	char			 host[64] = "127.0.0.1", *summary;
	char			 up[48], hr[48];
	char			 mn[32];
	int			 ch, cport = 0, aport = 0, once = 0;
	int			 api_seen = 0;
	int			 api_said = 0;
	double			 interval = 2, duration = 30, el;
	uint64_t		 t0, next, now, pool_prev_acc = 0, prev_t = 0;
	long long		 sl_up;
	json_t			*ps;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': api = optarg; break;
		case 't': token = optarg; break;
		case 'c': cport = atoi(optarg); break;
		case 'l': log = optarg; break;
		case 'i': interval = atof(optarg); break;
		case 'd': duration = atof(optarg); break;
		case '1': once = 1; break;
		default:
			fprintf(stderr, "usage: sluice-bench status [--api "
			    "http://HOST:PORT] [--token T] [--control-port C] "
			    "[--log FILE] [--interval S] [--duration S] "
			    "[--once]\n");
			return 1;
		}
	}
	if (api != NULL) {
		const char *p = strncmp(api, "http://", 7) == 0 ? api + 7 : api;
		const char *colon = strrchr(p, ':');
		if (colon == NULL || (size_t)(colon - p) >= sizeof host)
			bench_fatalx("status: --api wants http://HOST:PORT");
		memcpy(host, p, (size_t)(colon - p));
		host[colon - p] = '\0';
		if (strcmp(host, "localhost") == 0)
			strcpy(host, "127.0.0.1");
		aport = atoi(colon + 1);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = status_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	t0 = bench_now();
	next = t0;
	while (!status_stop) {
		now = bench_now();
		if (now < next) {
			usleep((useconds_t)((next - now) / 1000 > 100000 ?
			    100000 : (next - now) / 1000));
			continue;
		}
		next += (uint64_t)(interval * 1e9);
		el = (double)(now - t0) / 1e9;
		if (!once && el > duration + 0.5)
			break;
		memset(&sl, 0, sizeof sl);
		sl.miners = sl.up_active = sl.up_total = -1;
		sl.khs = -1;
		if (aport > 0 && status_from_api(host, aport, token, &sl) == 0)
			api_seen = 1;
		else {
			/* Fallback: the pool's counters and the proxy's log. */
			sl.source = "pool+log";
			summary = status_last_summary(log);
			sl.miners = status_log_field(summary, "miners");
			if ((ps = status_pool_stats(cport)) != NULL) {
				uint64_t acc = (uint64_t)json_integer_value(
				    json_object_get(ps, "accepted"));
				uint64_t diff = (uint64_t)json_integer_value(
				    json_object_get(ps, "diff"));
				sl.up_active = json_integer_value(
				    json_object_get(ps, "connections"));
				sl.accepted = (long long)acc;
				sl.rejected = json_integer_value(
				    json_object_get(ps, "rejected")) +
				    json_integer_value(json_object_get(ps,
				    "invalid")) + json_integer_value(
				    json_object_get(ps, "duplicates"));
				if (prev_t != 0 && now > prev_t)
					sl.khs = (double)(acc - pool_prev_acc) *
					    (double)diff / ((double)(now -
					    prev_t) / 1e9) / 1000.0;
				pool_prev_acc = acc;
				prev_t = now;
				json_decref(ps);
			}
			if ((sl_up = status_log_field(summary,
			    "upstreams")) >= 0) {
				const char *p = strstr(summary, " upstreams=");
				p = p != NULL ? strchr(p, '/') : NULL;
				sl.up_active = sl_up;
				sl.up_total = p != NULL ? atoll(p + 1) : -1;
			}
			free(summary);
		}
		if (aport > 0 && !api_said) {
			api_said = 1;
			if (api_seen)
				printf("API: http://%s:%d/1/summary answers; "
				    "the lines below come from it\n", host,
				    aport);
			else
				printf("API: http://%s:%d/1/summary does not "
				    "answer (yet); the lines below come from "
				    "the pool's control port and the proxy's "
				    "log\n", host, aport);
		}
		if (sl.up_active < 0)
			snprintf(up, sizeof up, "?");
		else if (sl.up_total < 0)
			snprintf(up, sizeof up, "%lld", sl.up_active);
		else
			snprintf(up, sizeof up, "%lld/%lld", sl.up_active,
			    sl.up_total);
		if (sl.khs < 0)
			snprintf(hr, sizeof hr, "-");
		else
			snprintf(hr, sizeof hr, "%.1f kH/s", sl.khs);
		if (sl.miners < 0)
			snprintf(mn, sizeof mn, "?");
		else
			snprintf(mn, sizeof mn, "%lld", sl.miners);
		printf("[%3.0fs] miners %s  upstreams %s  hashrate %s  "
		    "accepted %lld  rejected %lld  (%s)\n", el, mn, up, hr,
		    sl.accepted, sl.rejected, sl.source);
		fflush(stdout);
		if (once)
			break;
	}
	return 0;
}
