/*
 * logfile.cc: the access log (access-log-file) and the share log
 * (share-log-file), one line per event, appended:
 *
 *	TIME CONNECT id=N ip=IP user=USER agent="..." rigid=R
 *	TIME CLOSE id=N ip=IP user=USER rx=B tx=B seconds=S reason="..."
 *	TIME ACCEPT id=N user=USER diff=D latency_ms=L [local=1] [expired=1]
 *	TIME REJECT id=N user=USER reason="..." [local=1]
 *
 * TIME is RFC 3339 UTC to the second. Values that come from miners are
 * escaped (\xHH for control bytes, quotes, backslashes, and spaces where
 * unquoted), so a miner cannot forge a line. No password is ever written.
 *
 * Lines are buffered in fixed memory and written once a second (from the
 * tick), when the buffer fills, and on stop. A failed open or write is
 * counted and warned about once until the file works again; lines that
 * find the buffer full meanwhile are dropped and counted. Nothing here
 * ever stops the proxy. events_reopen() reopens both files (SIGUSR1,
 * reload) for log rotation, and picks up a changed path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "logfile.h"
#include "share.h"

#define LOGFILE_BUF	32768	/* bytes buffered per file */
#define LOGFILE_LINE	4096	/* longest line; longer values are cut */

struct logfile {
	const char	*kind;
	char		*path;		/* NULL: this log is off */
	int		 fd;
	size_t		 len;
	uint64_t	 lines;
	uint64_t	 errors;	/* failed opens and writes */
	uint64_t	 dropped;	/* lines lost to a full buffer */
	int		 failing;	/* warned; quiet until it works */
	char		 buf[LOGFILE_BUF];
};

static struct logfile	 logfiles[LOGFILE_MAX] = {
	{ "access", NULL, -1, 0, 0, 0, 0, 0, {} },
	{ "share", NULL, -1, 0, 0, 0, 0, 0, {} },
};

static void	 logfile_fail(struct logfile *, const char *);
static int	 logfile_open(struct logfile *);
static void	 logfile_flush_one(struct logfile *);
static void	 logfile_add(struct logfile *, const char *, size_t);
static void	 logfile_put(struct logfile *, char *, size_t, int);
static const char *logfile_time(void);

/* A failure: count it; warn unless this file is already failing. */
static void
logfile_fail(struct logfile *lf, const char *what)
{
	lf->errors++;
	if (!lf->failing)
		log_warn("%s log %s: %s", lf->kind, lf->path, what);
	lf->failing = 1;
}

/* Open the file for appending; 0 on success. */
static int
logfile_open(struct logfile *lf)
{
	if (lf->fd != -1 || lf->path == NULL)
		return lf->fd != -1 ? 0 : -1;
	lf->fd = open(lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640);
	if (lf->fd == -1) {
		logfile_fail(lf, "open");
		return -1;
	}
	log_debug("type=logfile kind=%s status=open path=%s", lf->kind,
	    lf->path);
	return 0;
}

/* Write out what is buffered. On failure the buffer is kept for a retry. */
static void
logfile_flush_one(struct logfile *lf)
{
	size_t	 off = 0;
	ssize_t	 n;

	if (lf->len == 0 || logfile_open(lf) != 0)
		return;
	while (off < lf->len) {
		n = write(lf->fd, lf->buf + off, lf->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			logfile_fail(lf, "write");
			break;
		}
		off += (size_t)n;
	}
	if (off > 0 && off < lf->len)
		memmove(lf->buf, lf->buf + off, lf->len - off);
	lf->len -= off;
	if (lf->len == 0 && lf->failing) {
		log_info("type=logfile kind=%s status=recovered path=%s",
		    lf->kind, lf->path);
		lf->failing = 0;
	}
}

/* Buffer one line, flushing first when it would not fit. */
static void
logfile_add(struct logfile *lf, const char *line, size_t len)
{
	if (lf->len + len > sizeof lf->buf)
		logfile_flush_one(lf);
	if (lf->len + len > sizeof lf->buf) {
		lf->dropped++;
		return;
	}
	memcpy(lf->buf + lf->len, line, len);
	lf->len += len;
	lf->lines++;
}

/* Buffer a line snprintf made; a cut line still ends in a newline. */
static void
logfile_put(struct logfile *lf, char *line, size_t cap, int n)
{
	if (n <= 0)
		return;
	if ((size_t)n >= cap) {
		n = (int)cap - 1;
		line[n - 1] = '\n';
	}
	logfile_add(lf, line, (size_t)n);
}

/* The wall-clock time in RFC 3339 UTC, formatted once per second. */
static const char *
logfile_time(void)
{
	static char	 text[32];
	static time_t	 cached = -1;
	struct tm	 tm;
	time_t		 now = time(NULL);

	if (now != cached && gmtime_r(&now, &tm) != NULL) {
		strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
		cached = now;
	}
	return text;
}

/* Point both logs at the configured paths and reopen them (rotation). */
void
logfile_reopen(const struct config *c)
{
	const char	*paths[LOGFILE_MAX];
	struct logfile	*lf;
	int		 i;

	paths[LOGFILE_ACCESS] = c != NULL ? c->access_log_file : NULL;
	paths[LOGFILE_SHARE] = c != NULL ? c->share_log_file : NULL;
	for (i = 0; i < LOGFILE_MAX; i++) {
		lf = &logfiles[i];
		logfile_flush_one(lf);
		if (lf->fd != -1) {
			close(lf->fd);
			lf->fd = -1;
		}
		if (paths[i] != NULL && paths[i][0] == '\0')
			paths[i] = NULL;
		if (lf->path == NULL || paths[i] == NULL ||
		    strcmp(lf->path, paths[i]) != 0) {
			free(lf->path);
			lf->path = paths[i] != NULL ? xstrdup(paths[i]) : NULL;
			lf->len = 0;	/* lines for an old path are gone */
			lf->failing = 0;
		}
		if (lf->path != NULL)
			logfile_open(lf);
	}
}

/* Write out both buffers (every second, and before stopping). */
void
logfile_flush(void)
{
	int	 i;

	for (i = 0; i < LOGFILE_MAX; i++)
		logfile_flush_one(&logfiles[i]);
}

/* Flush and close both files (stop). */
void
logfile_close(void)
{
	int	 i;

	logfile_flush();
	for (i = 0; i < LOGFILE_MAX; i++) {
		if (logfiles[i].fd != -1)
			close(logfiles[i].fd);
		logfiles[i].fd = -1;
		free(logfiles[i].path);
		logfiles[i].path = NULL;
		logfiles[i].len = 0;
	}
}

/* Access log: a miner logged in. */
void
logfile_connect(const struct peer *m)
{
	struct logfile	*lf = &logfiles[LOGFILE_ACCESS];
	char		 line[LOGFILE_LINE], user[1100], agent[1100];
	char		 rigid[1100];
	int		 n;

	if (lf->path == NULL)
		return;
	n = snprintf(line, sizeof line, "%s CONNECT id=%llu ip=%s user=%s "
	    "agent=\"%s\" rigid=%s\n", logfile_time(),
	    (unsigned long long)m->id, m->ip,
	    log_escape(user, sizeof user, m->user, 0),
	    log_escape(agent, sizeof agent, m->agent, 1),
	    log_escape(rigid, sizeof rigid, m->rigid, 0));
	logfile_put(lf, line, sizeof line, n);
}

/* Access log: a miner moved to another coin (coins.h). */
void
logfile_switch(const struct peer *m, const char *from, const char *to)
{
	struct logfile	*lf = &logfiles[LOGFILE_ACCESS];
	char		 line[LOGFILE_LINE], user[1100];
	int		 n;

	if (lf->path == NULL)
		return;
	n = snprintf(line, sizeof line, "%s SWITCH id=%llu ip=%s user=%s "
	    "from=%s to=%s\n", logfile_time(), (unsigned long long)m->id,
	    m->ip, log_escape(user, sizeof user, m->user, 0), from, to);
	logfile_put(lf, line, sizeof line, n);
}

/* Access log: a connection closed, logged in or not; reason in words. */
void
logfile_disconnect(const struct peer *m, uint64_t rx, uint64_t tx,
    long long seconds, const char *why)
{
	struct logfile	*lf = &logfiles[LOGFILE_ACCESS];
	char		 line[LOGFILE_LINE], user[1100], reason[512];
	int		 n;

	if (lf->path == NULL)
		return;
	n = snprintf(line, sizeof line, "%s CLOSE id=%llu ip=%s user=%s "
	    "rx=%llu tx=%llu seconds=%lld reason=\"%s\"\n", logfile_time(),
	    (unsigned long long)m->id, m->ip,
	    log_escape(user, sizeof user, m->user, 0),
	    (unsigned long long)rx, (unsigned long long)tx, seconds,
	    log_escape(reason, sizeof reason, why, 1));
	logfile_put(lf, line, sizeof line, n);
}

/*
 * Share log: one line per share. diff is the difficulty credited (the
 * pool's, or the miner's for a local OK); latency_ms the pool's answer
 * time, or -1 when the pool did not answer. Outcomes decided here and
 * not by the pool carry local=1.
 */
void
logfile_share(const struct peer *m, const struct share *s,
    enum share_result r, const char *message, uint64_t diff,
    int64_t latency_ms)
{
	struct logfile	*lf = &logfiles[LOGFILE_SHARE];
	char		 line[LOGFILE_LINE], user[1100], reason[512];
	int		 n;

	if (lf->path == NULL)
		return;
	log_escape(user, sizeof user, m->user, 0);
	switch (r) {
	case SHARE_ACCEPTED:
	case SHARE_LOCAL:
		n = snprintf(line, sizeof line, "%s ACCEPT id=%llu user=%s "
		    "diff=%llu latency_ms=%lld%s%s\n", logfile_time(),
		    (unsigned long long)m->id, user, (unsigned long long)diff,
		    (long long)(latency_ms > 0 ? latency_ms : 0),
		    r == SHARE_LOCAL ? " local=1" : "",
		    s->expired ? " expired=1" : "");
		break;
	default:
		if (message == NULL)
			message = r == SHARE_TIMEOUT ? "Pool timeout" :
			    r == SHARE_LOST ? "Pool connection lost" :
			    r == SHARE_BAD_GATEWAY ? "Bad gateway" : "Rejected";
		n = snprintf(line, sizeof line, "%s REJECT id=%llu user=%s "
		    "reason=\"%s\"%s\n", logfile_time(),
		    (unsigned long long)m->id, user,
		    log_escape(reason, sizeof reason, message, 1),
		    r == SHARE_REJECTED || r == SHARE_TIMEOUT ||
		    r == SHARE_LOST ? "" :
		    " local=1");
		break;
	}
	logfile_put(lf, line, sizeof line, n);
}

/* Failed opens and writes of one log. */
uint64_t
logfile_errors(enum logfile_kind k)
{
	return (unsigned)k < LOGFILE_MAX ? logfiles[k].errors : 0;
}

/* Lines one log lost to a full buffer while its file failed. */
uint64_t
logfile_dropped(enum logfile_kind k)
{
	return (unsigned)k < LOGFILE_MAX ? logfiles[k].dropped : 0;
}

/* Lines buffered for one log (written, or waiting). */
uint64_t
logfile_lines(enum logfile_kind k)
{
	return (unsigned)k < LOGFILE_MAX ? logfiles[k].lines : 0;
}
