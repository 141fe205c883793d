/*
 * log.cc: the OpenBSD log verbs. In the foreground everything goes to
 * stderr; a daemon logs to syslog; a configured log file gets a copy and
 * is reopened on SIGUSR1. The level is checked before anything is
 * formatted. Operators' and tests' events are fixed key=value lines
 * ("type=pool_state pool=... state=up"), written through log_info.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "sluice.h"

static int	 log_foreground = 1;
static int	 log_verbose;
static int	 log_to_syslog;
static char	*log_path;
static FILE	*log_file;
static int	 log_file_failed;

static void	 log_vwrite(int, const char *, const char *, va_list);
static void	 log_libevent(int, const char *);

/* Route libevent's own messages into ours. */
static void
log_libevent(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

/* Set up logging: stderr in the foreground, syslog otherwise. */
void
log_init(int foreground, int verbose)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground) {
		openlog("sluice", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_to_syslog = 1;
	}
	event_set_log_callback(log_libevent);
	tzset();
}

/* Also send everything to syslog when the config asks for it. */
void
log_set_syslog(int on)
{
	if (on && !log_to_syslog) {
		openlog("sluice", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_to_syslog = 1;
	}
}

/* Change the verbosity (config reload or -v). */
void
log_set_verbose(int v)
{
	log_verbose = v;
}

/* Return the verbosity. */
int
log_get_verbose(void)
{
	return log_verbose;
}

/* Use (or stop using, with NULL) a log file; reopens at once. */
void
log_open_file(const char *path)
{
	if (path != NULL && log_path != NULL && strcmp(path, log_path) == 0)
		return;
	free(log_path);
	log_path = path != NULL ? xstrdup(path) : NULL;
	log_reopen();
}

/* Reopen the log file, for logrotate (SIGUSR1). */
int
log_reopen(void)
{
	FILE	*f;

	if (log_file != NULL) {
		fclose(log_file);
		log_file = NULL;
	}
	if (log_path == NULL)
		return 0;
	if ((f = fopen(log_path, "a")) == NULL) {
		log_warn("log file %s", log_path);
		return -1;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	log_file = f;
	log_file_failed = 0;
	return 0;
}

/* Write one line to every destination. */
static void
log_vwrite(int pri, const char *prefix, const char *fmt, va_list ap)
{
	char		 msg[4096], ts[64];
	struct timespec	 tv;
	struct tm	 tm;
	int		 saved = errno;

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_to_syslog)
		syslog(pri, "%s%s", prefix, msg);
	if (log_foreground || log_file != NULL) {
		clock_gettime(CLOCK_REALTIME, &tv);
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, tv.tv_nsec / 1000000);
		if (log_foreground)
			fprintf(stderr, "%s %s%s\n", ts, prefix, msg);
		if (log_file != NULL &&
		    fprintf(log_file, "%s %s%s\n", ts, prefix, msg) < 0 &&
		    !log_file_failed) {
			log_file_failed = 1;
			if (log_foreground)
				fprintf(stderr, "%s warning: log file %s: %s\n",
				    ts, log_path, strerror(errno));
		}
	}
	errno = saved;
}

/*
 * Copy a string from a miner or a pool into buf, made safe for a
 * key=value line: control bytes, DEL, '"' and '\\' become \\xHH, and so
 * does a space unless the value is quoted, so nobody can start a line or a
 * key of their own. Cut to fit.
 */
const char *
log_escape(char *buf, size_t cap, const char *s, int quoted)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;
	unsigned char		 c;

	for (; s != NULL && *s != '\0' && o + 5 < cap; s++) {
		c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' ||
		    (c == ' ' && !quoted)) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 0xf];
		} else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

/* log_escape() into one of a few rotating buffers (one log call's worth). */
static const char *
log_escape_rot(const char *s, int quoted)
{
	static char	 bufs[6][384];
	static int	 next;

	return log_escape(bufs[next++ % 6], sizeof bufs[0], s, quoted);
}

/* Escape a value written inside quotes: key="value". */
const char *
log_esc(const char *s)
{
	return log_escape_rot(s, 1);
}

/*
 * A raw stratum line for a debug line: secrets masked (secret_mask),
 * then escaped as a quoted value.
 */
const char *
log_line(const char *line, size_t len)
{
	static char	 buf[384];

	secret_mask(buf, sizeof buf, line, len);
	return log_esc(buf);
}

/* Escape a value written bare: key=value. */
const char *
log_word(const char *s)
{
	return log_escape_rot(s, 0);
}

/* Warning with strerror(errno) appended. */
void
log_warn(const char *fmt, ...)
{
	char	 buf[2048];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	errno = saved;
	log_warnx("%s: %s", buf, strerror(saved));
}

/* Warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, "warning: ", fmt, ap);
	va_end(ap);
}

/* Informational message: events and state changes. */
void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, "", fmt, ap);
	va_end(ap);
}

/* Debug message, with -v. */
void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, "debug: ", fmt, ap);
	va_end(ap);
}

/* Very verbose debug (state transitions, wire lines), with -vv. */
void
log_debug2(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, "debug: ", fmt, ap);
	va_end(ap);
}

/* Drain OpenSSL's error queue into the log. */
void
log_ssl_errors(const char *what)
{
	unsigned long	 e;
	char		 buf[256];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		log_warnx("%s: %s", what, buf);
	}
}

/* Fatal error with strerror(errno). */
void
fatal(const char *fmt, ...)
{
	char	 buf[2048];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_info("fatal: %s: %s", buf, strerror(saved));
	exit(1);
}

/* Fatal error. */
void
fatalx(const char *fmt, ...)
{
	char	 buf[2048];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_info("fatal: %s", buf);
	exit(1);
}
