/*
 * capture.cc: the capture of stratum traffic (the "capture" key, POST
 * /1/capture). Every line on the four legs, miner_to_proxy,
 * proxy_to_miner, pool_to_proxy and proxy_to_pool, becomes a record in
 * a ring bounded both in records (capture.messages) and in bytes
 * (capture.max-bytes); the oldest go first. With capture.file, each
 * record is also appended to the file as one JSON object per line.
 *
 * Off, it costs the hot path one test of capture_on per line. On, a line
 * costs a clock read, one allocation and a copy (passwords masked on the
 * way in); the JSON of a record (its "decoded" member is parsed from the
 * raw bytes) is only built when someone reads it: the API, the live
 * feed, or the file, which is written at the end of each loop turn, when
 * what the proxy forwarded of a line (ts_fwd) is known.
 *
 * ts_fwd: a line read is handled before capture_done(); a write to the
 * other side meanwhile (a miner's submit written to the pool, a pool's
 * result or job written to a miner) sets the read line's ts_fwd. Writes
 * the proxy makes on its own (a keepalive, a retried login, a job to a
 * miner that logs in later) relate to no line, and leave ts_fwd null.
 *
 * Narrowed to a miner, a user or an address (capture_narrow), a miner's
 * lines are kept when it matches, checked before anything is copied. A
 * pool's traffic is kept when it concerns such a miner: what the proxy
 * writes to a pool while handling the miner's line, and a pool's line
 * that the proxy answers by writing to the miner (its result, or a job).
 * Such a pool line is held aside until then, and is dropped at
 * capture_done() if nothing made it count.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "capture.h"
#include "config.h"
#include "stratum.h"

#define CAPTURE_RAW_MAX		65536	/* bytes kept of a line written */
#define CAPTURE_FILE_BUF	(8 * 1024 * 1024)	/* NDJSON waiting */
#define CAPTURE_FILE_FLUSH	65536	/* write at once past this */
#define CAPTURE_MASK_MAX	(CAPTURE_RAW_MAX + 1024)

/*
 * One line. The bytes follow the struct: the peer's address, a NUL, the
 * user (if has_user), a NUL, the raw line (masked), a NUL.
 */
struct capture_rec {
	uint64_t	 id;
	int64_t		 ts_recv;	/* us since the epoch */
	int64_t		 ts_fwd;	/* 0: none */
	uint64_t	 sid;		/* miner or upstream id */
	const char	*refused;	/* why the line was cut, or NULL */
	uint32_t	 size;		/* the line's bytes, newline aside */
	uint32_t	 rawlen;	/* bytes kept */
	uint32_t	 datalen;
	int		 port;		/* miners: remote port; pools: -1 */
	uint8_t		 dir;		/* enum capture_dir */
	uint8_t		 upstream;	/* session kind: 0 miner, 1 upstream */
	uint8_t		 has_user;
	uint8_t		 match;		/* a miner that the narrowing names */
};

int			 capture_on;

static struct capture_rec **cap_ring;	/* cap_slots pointers */
static size_t		 cap_slots;
static size_t		 cap_head;	/* the oldest */
static size_t		 cap_n;
static size_t		 cap_nbytes;
static uint64_t		 cap_next_id = 1;
static uint64_t		 cap_dropped;	/* pushed out by the limits */
static size_t		 cap_max_bytes = 16777216;
static int		 cap_show_passwords;
static int		 cap_conf_enabled;	/* capture.enabled in force */

static enum capture_by	 cap_by = CAPTURE_ALL;
static uint64_t		 cap_by_miner;
static char		*cap_by_text;	/* user or address */
static time_t		 cap_until;	/* a narrowing's end, or 0 */
static int		 cap_narrowed;	/* a POST is in force */

/*
 * The line being handled, and a pool line held aside (narrowed). A line
 * can be read while another is handled (a job written to a TLS miner
 * whose bufferevent reads): the outer one's are kept on a short stack.
 */
#define CAPTURE_NEST	4
struct capture_ctx {
	struct capture_rec *cur;
	struct capture_rec *held;
};
static struct capture_rec *cap_cur;
static struct capture_rec *cap_held;
static struct capture_ctx cap_outer[CAPTURE_NEST];
static int		 cap_depth;
static char		 cap_mask[CAPTURE_MASK_MAX];

static struct event	*cap_flush_ev;	/* end of a turn with records */
static uint64_t		 cap_flushed;	/* the last id handed on */
static void		(*cap_notify)(void);

static char		*cap_file;	/* capture.file, or NULL */
static int		 cap_fd = -1;
static struct evbuffer	*cap_fbuf;
static uint64_t		 cap_file_done;	/* the last id in cap_fbuf */
static uint64_t		 cap_file_errors;
static uint64_t		 cap_file_dropped;
static int		 cap_file_failing;

static const char *const cap_dir_names[] = { "miner_to_proxy",
    "proxy_to_miner", "pool_to_proxy", "proxy_to_pool" };

static void	 capture_update(void);
static int	 capture_match(const struct peer *);
static struct capture_rec *capture_new(enum capture_dir, const char *,
		     size_t, const char *peer, int port, const char *user,
		     const char *refused);
static void	 capture_insert(struct capture_rec *);
static void	 capture_evict(void);
static struct capture_rec *capture_get(uint64_t);
static void	 capture_forwarded(enum capture_dir);
static void	 capture_enter(void);
static void	 capture_reset(void);
static void	 capture_json(const struct capture_rec *, struct evbuffer *);
static void	 capture_flush_cb(evutil_socket_t, short, void *);
static void	 capture_file_catchup(void);
static void	 capture_file_add(const struct capture_rec *);
static void	 capture_file_write(void);
static void	 capture_file_fail(const char *);
static void	 capture_file_close(void);
static void	 capture_resize(size_t);
static void	 capture_unnarrow(void);

/* Set capture_on from the configuration and the narrowing in force. */
static void
capture_update(void)
{
	capture_on = cap_narrowed || cap_conf_enabled;
}

/* Does the narrowing in force name this miner? */
static int
capture_match(const struct peer *p)
{
	switch (cap_by) {
	case CAPTURE_ALL:
		return 1;
	case CAPTURE_BY_MINER:
		return p->id == cap_by_miner;
	case CAPTURE_BY_USER:
		return p->user != NULL && strcmp(p->user, cap_by_text) == 0;
	case CAPTURE_BY_IP:
		return strcmp(p->ip, cap_by_text) == 0;
	}
	return 0;
}

/*
 * A record of len bytes of line (a trailing newline dropped), cut to
 * CAPTURE_CUT when refused and to CAPTURE_RAW_MAX anyway, with the
 * passwords masked unless capture.show-passwords.
 */
static struct capture_rec *
capture_new(enum capture_dir dir, const char *line, size_t len,
    const char *peer, int port, const char *user, const char *refused)
{
	struct capture_rec	*r;
	size_t			 plen, ulen, keep = len;
	char			*d;

	if (keep > 0 && line[keep - 1] == '\n')
		keep = --len;
	if (refused != NULL && keep > CAPTURE_CUT)
		keep = CAPTURE_CUT;
	else if (keep > CAPTURE_RAW_MAX) {
		keep = CAPTURE_RAW_MAX;
		refused = "line too long to keep";
	}
	if (!cap_show_passwords && memmem(line, keep, "\"pass", 5) != NULL) {
		keep = secret_mask_as(cap_mask, sizeof cap_mask, line, keep,
		    SECRET_HIDDEN);
		line = cap_mask;
	}
	plen = strlen(peer);
	ulen = user != NULL ? strlen(user) : 0;
	r = (struct capture_rec *)xmalloc(sizeof *r + plen + ulen + keep + 3);
	r->id = 0;
	r->ts_recv = sluice_clock_us(CLOCK_REALTIME);
	r->ts_fwd = 0;
	r->sid = 0;
	r->refused = refused;
	r->size = (uint32_t)len;
	r->rawlen = (uint32_t)keep;
	r->datalen = (uint32_t)(plen + ulen + keep + 3);
	r->port = port;
	r->dir = (uint8_t)dir;
	r->upstream = dir == CAPTURE_POOL_IN || dir == CAPTURE_POOL_OUT;
	r->has_user = user != NULL;
	r->match = 0;
	d = (char *)(r + 1);
	memcpy(d, peer, plen + 1);
	d += plen + 1;
	if (user != NULL)
		memcpy(d, user, ulen);
	d[ulen] = '\0';
	d += ulen + 1;
	memcpy(d, line, keep);
	d[keep] = '\0';
	return r;
}

/* Give a record the next id and put it in the ring, pushing out the old. */
static void
capture_insert(struct capture_rec *r)
{
	size_t	 sz = sizeof *r + r->datalen;

	while (cap_n > 0 && (cap_n >= cap_slots ||
	    cap_nbytes + sz > cap_max_bytes))
		capture_evict();
	r->id = cap_next_id++;
	cap_ring[(cap_head + cap_n) % cap_slots] = r;
	cap_n++;
	cap_nbytes += sz;
	if (cap_flush_ev != NULL && cap_flushed + 1 == r->id)
		event_active(cap_flush_ev, EV_TIMEOUT, 0);
}

/* Drop the oldest record; the file gets it first if it has not yet. */
static void
capture_evict(void)
{
	struct capture_rec	*r = cap_ring[cap_head];
	int			 i;

	if (cap_file != NULL && r->id > cap_file_done)
		capture_file_add(r);
	if (r == cap_cur)
		cap_cur = NULL;
	for (i = 0; i < cap_depth && i < CAPTURE_NEST; i++) {
		if (cap_outer[i].cur == r)
			cap_outer[i].cur = NULL;
	}
	cap_nbytes -= sizeof *r + r->datalen;
	cap_ring[cap_head] = NULL;
	cap_head = (cap_head + 1) % cap_slots;
	cap_n--;
	cap_dropped++;
	free(r);
}

/* The record with this id, or NULL if it is gone or not yet there. */
static struct capture_rec *
capture_get(uint64_t id)
{
	uint64_t	 first;

	if (cap_n == 0)
		return NULL;
	first = cap_ring[cap_head]->id;
	if (id < first || id >= first + cap_n)
		return NULL;
	return cap_ring[(cap_head + (size_t)(id - first)) % cap_slots];
}

/*
 * A write in direction dir while a line read is being handled: the read
 * line has been forwarded if it came from the other side.
 */
static void
capture_forwarded(enum capture_dir dir)
{
	struct capture_rec	*c = cap_cur;

	if (c == NULL || c->ts_fwd != 0)
		return;
	if ((dir == CAPTURE_POOL_OUT && c->dir == CAPTURE_MINER_IN) ||
	    (dir == CAPTURE_MINER_OUT && c->dir == CAPTURE_POOL_IN))
		c->ts_fwd = sluice_clock_us(CLOCK_REALTIME);
}

/* A line read from (MINER_IN) or written to (MINER_OUT) a miner. */
void
capture_miner(enum capture_dir dir, const struct peer *p, const char *line,
    size_t len, const char *refused)
{
	struct capture_rec	*r;
	int			 match;

	if (dir == CAPTURE_MINER_OUT)
		capture_forwarded(dir);
	else
		capture_enter();
	if (!(match = capture_match(p)))
		return;
	/* A pool line held aside concerns this miner: keep it. */
	if (dir == CAPTURE_MINER_OUT && cap_held != NULL) {
		capture_insert(cap_held);
		cap_cur = cap_held;
		cap_held = NULL;
		capture_forwarded(dir);
	}
	r = capture_new(dir, line, len, p->ip, p->port, p->user, refused);
	r->sid = p->id;
	r->match = 1;
	capture_insert(r);
	if (dir == CAPTURE_MINER_IN)
		cap_cur = r;
}

/* A line read from (POOL_IN) or written to (POOL_OUT) a pool. */
void
capture_pool(enum capture_dir dir, const struct capture_pool *cp,
    const char *line, size_t len, const char *refused)
{
	struct capture_rec	*r;

	if (dir == CAPTURE_POOL_IN)
		capture_enter();
	if (dir == CAPTURE_POOL_OUT) {
		capture_forwarded(dir);
		/* Narrowed: only for a named miner's line. */
		if (cap_by != CAPTURE_ALL && (cap_cur == NULL ||
		    !cap_cur->match))
			return;
	}
	r = capture_new(dir, line, len, cp->name, -1, cp->user, refused);
	r->sid = cp->upstream;
	if (dir == CAPTURE_POOL_IN && cap_by != CAPTURE_ALL) {
		cap_held = r;
		return;
	}
	capture_insert(r);
	if (dir == CAPTURE_POOL_IN)
		cap_cur = r;
}

/* A line read: handled in a context of its own. */
static void
capture_enter(void)
{
	if (cap_depth < CAPTURE_NEST) {
		cap_outer[cap_depth].cur = cap_cur;
		cap_outer[cap_depth].held = cap_held;
	} else
		free(cap_held);		/* too deep: dropped */
	cap_depth++;
	cap_cur = NULL;
	cap_held = NULL;
}

/* The line read has been handled: back to the one around it, if any. */
void
capture_done(void)
{
	free(cap_held);
	cap_held = NULL;
	cap_cur = NULL;
	if (cap_depth > 0 && --cap_depth < CAPTURE_NEST) {
		cap_cur = cap_outer[cap_depth].cur;
		cap_held = cap_outer[cap_depth].held;
	}
}

/* Forget every line being handled (a narrowing changes, a stop). */
static void
capture_reset(void)
{
	while (cap_depth > 0)
		capture_done();
	capture_done();
}

/* Number of records held. */
size_t
capture_count(void)
{
	return cap_n;
}

/* Bytes the ring holds: the records, and the ring of pointers. */
size_t
capture_bytes(void)
{
	return cap_nbytes + cap_slots * sizeof *cap_ring;
}

/* The oldest id held, or the next to come when none is. */
uint64_t
capture_first_id(void)
{
	return cap_n > 0 ? cap_ring[cap_head]->id : cap_next_id;
}

/* The newest id given out (0: none yet). */
uint64_t
capture_last_id(void)
{
	return cap_next_id - 1;
}

/*
 * Parse a session, "miner:<id>" or "upstream:<id>": kind 0 or 1. 0, or
 * -1 if it is neither.
 */
int
capture_session_parse(const char *s, int *kind, uint64_t *id)
{
	const char	*n;
	char		*end;

	if (strncmp(s, "miner:", 6) == 0) {
		*kind = 0;
		n = s + 6;
	} else if (strncmp(s, "upstream:", 9) == 0) {
		*kind = 1;
		n = s + 9;
	} else
		return -1;
	if (*n < '0' || *n > '9')
		return -1;
	errno = 0;
	*id = strtoull(n, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/*
 * Append record id as JSON (no newline) if it is of session kind/sid
 * (kind -1: any): 1; 0 if it is of another; -1 if it is not held.
 */
int
capture_format(uint64_t id, int kind, uint64_t sid, struct evbuffer *b)
{
	const struct capture_rec	*r;

	if ((r = capture_get(id)) == NULL)
		return -1;
	if (kind != -1 && (r->upstream != kind || r->sid != sid))
		return 0;
	capture_json(r, b);
	return 1;
}

/* Base64 (RFC 4648, padded) of len bytes into out; its length. */
size_t
capture_base64(char *out, size_t cap, const char *in, size_t len)
{
	if (cap < 4 * ((len + 2) / 3) + 1) {
		if (cap > 0)
			out[0] = '\0';
		return 0;
	}
	return (size_t)EVP_EncodeBlock((unsigned char *)out,
	    (const unsigned char *)in, (int)len);
}

/* One record as a JSON object. */
static void
capture_json(const struct capture_rec *r, struct evbuffer *b)
{
	const char	*peer = (const char *)(r + 1), *user, *raw;
	json_t		*o, *dec = NULL;
	json_error_t	 err;
	char		 sess[40], addr[96], *s, *b64;
	int		 isutf8;

	user = peer + strlen(peer) + 1;
	raw = user + strlen(user) + 1;
	o = json_object();
	json_object_set_new(o, "id", json_integer((json_int_t)r->id));
	json_object_set_new(o, "ts_recv", json_integer(r->ts_recv));
	json_object_set_new(o, "ts_fwd", r->ts_fwd != 0 ?
	    json_integer(r->ts_fwd) : json_null());
	json_object_set_new(o, "direction", json_string(cap_dir_names[r->dir]));
	snprintf(sess, sizeof sess, "%s:%llu", r->upstream ? "upstream" :
	    "miner", (unsigned long long)r->sid);
	json_object_set_new(o, "session", json_string(sess));
	if (r->port >= 0) {
		snprintf(addr, sizeof addr, strchr(peer, ':') != NULL ?
		    "[%s]:%d" : "%s:%d", peer, r->port);
		json_object_set_new(o, "peer", json_string(addr));
	} else
		json_object_set_new(o, "peer", json_string(peer));
	json_object_set_new(o, "user", r->has_user ? json_string(user) :
	    json_null());
	/* A NUL is valid UTF-8, but no text: many JSON readers refuse it. */
	isutf8 = stratum_utf8_ok(raw, r->rawlen) &&
	    memchr(raw, '\0', r->rawlen) == NULL;
	if (isutf8)
		json_object_set_new(o, "raw", json_stringn(raw, r->rawlen));
	else {
		b64 = (char *)xmalloc(4 * ((r->rawlen + 2) / 3) + 1);
		capture_base64(b64, 4 * ((r->rawlen + 2) / 3) + 1, raw,
		    r->rawlen);
		json_object_set_new(o, "raw", json_string(b64));
		free(b64);
	}
	json_object_set_new(o, "raw_base64", json_boolean(!isutf8));
	if (r->refused == NULL && isutf8)
		dec = json_loadb(raw, r->rawlen, JSON_DECODE_ANY, &err);
	json_object_set_new(o, "decoded", dec != NULL ? dec : json_null());
	if (r->refused != NULL)
		json_object_set_new(o, "parse_error", json_string(r->refused));
	else if (!isutf8)
		json_object_set_new(o, "parse_error",
		    json_string("not UTF-8 text"));
	else if (dec == NULL)
		json_object_set_new(o, "parse_error", json_string(err.text));
	else
		json_object_set_new(o, "parse_error", json_null());
	json_object_set_new(o, "size_bytes", json_integer(r->size));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s != NULL) {
		evbuffer_add(b, s, strlen(s));
		free(s);
	}
}

/*
 * The end of a loop turn that made records: they go to the file, and
 * the live feed is told.
 */
static void
capture_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t	 last = capture_last_id();

	(void)fd;
	(void)what;
	(void)arg;
	capture_file_catchup();
	if (cap_file != NULL && evbuffer_get_length(cap_fbuf) >=
	    CAPTURE_FILE_FLUSH)
		capture_file_write();
	cap_flushed = last;
	if (cap_notify != NULL)
		cap_notify();
}

/* Queue the records the file has not had yet. */
static void
capture_file_catchup(void)
{
	const struct capture_rec	*r;
	uint64_t			 id, last = capture_last_id();

	if (cap_file == NULL)
		return;
	for (id = cap_file_done + 1; id <= last; id++) {
		if ((r = capture_get(id)) != NULL)
			capture_file_add(r);
	}
	cap_file_done = last;
}

/* Queue a record for the file; a full buffer drops it, counted. */
static void
capture_file_add(const struct capture_rec *r)
{
	cap_file_done = r->id;
	if (evbuffer_get_length(cap_fbuf) >= CAPTURE_FILE_BUF) {
		cap_file_dropped++;
		return;
	}
	capture_json(r, cap_fbuf);
	evbuffer_add(cap_fbuf, "\n", 1);
}

/* A failed open or write: count it; warn once until the file works. */
static void
capture_file_fail(const char *what)
{
	cap_file_errors++;
	if (!cap_file_failing)
		log_warn("capture file %s: %s", cap_file, what);
	cap_file_failing = 1;
}

/* Write what is queued for the file; what fails to go stays queued. */
static void
capture_file_write(void)
{
	int	 n;

	if (cap_file == NULL || evbuffer_get_length(cap_fbuf) == 0)
		return;
	if (cap_fd == -1 && (cap_fd = open(cap_file, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC, 0640)) == -1) {
		capture_file_fail("open");
		return;
	}
	while (evbuffer_get_length(cap_fbuf) > 0) {
		n = evbuffer_write(cap_fbuf, cap_fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			capture_file_fail("write");
			return;
		}
	}
	if (cap_file_failing)
		log_info("type=capture file=%s status=recovered", cap_file);
	cap_file_failing = 0;
}

/* Write out what is queued and close the file. */
static void
capture_file_close(void)
{
	capture_file_write();
	if (cap_fd != -1)
		close(cap_fd);
	cap_fd = -1;
}

/* Make the ring hold n records, keeping the newest. */
static void
capture_resize(size_t n)
{
	struct capture_rec	**ring;
	size_t			  i, keep;

	if (n == cap_slots)
		return;
	while (cap_n > n)
		capture_evict();
	ring = (struct capture_rec **)xcalloc(n, sizeof *ring);
	keep = cap_n;
	for (i = 0; i < keep; i++)
		ring[i] = cap_ring[(cap_head + i) % cap_slots];
	free(cap_ring);
	cap_ring = ring;
	cap_slots = n;
	cap_head = 0;
}

/* Take the configuration's capture key (start and reload). */
void
capture_reload(const struct config *c)
{
	const struct capture_conf	*k = &c->capture;

	cap_show_passwords = k->show_passwords;
	cap_max_bytes = k->max_bytes;
	capture_resize(k->messages);
	while (cap_n > 0 && cap_nbytes > cap_max_bytes)
		capture_evict();
	if (cap_file == NULL || k->file == NULL ||
	    strcmp(cap_file, k->file) != 0) {
		capture_file_close();
		free(cap_file);
		cap_file = k->file != NULL ? xstrdup(k->file) : NULL;
		evbuffer_drain(cap_fbuf, evbuffer_get_length(cap_fbuf));
		cap_file_done = capture_last_id();
		cap_file_failing = 0;
	}
	cap_conf_enabled = k->enabled;
	capture_update();
}

/* Set up the ring and the end-of-turn flush. */
void
capture_start(const struct config *c)
{
	cap_fbuf = evbuffer_new();
	cap_flush_ev = event_new(sl.base, -1, 0, capture_flush_cb, NULL);
	if (cap_fbuf == NULL || cap_flush_ev == NULL)
		fatalx("%s: out of memory", __func__);
	capture_reload(c);
	if (capture_on)
		log_info("type=capture status=on messages=%zu max_bytes=%zu",
		    cap_slots, cap_max_bytes);
}

/* SIGUSR1: reopen the file (log rotation). */
void
capture_reopen(void)
{
	capture_file_close();
	cap_file_failing = 0;
}

/* Once a second: end an expired narrowing; write the file. */
void
capture_tick(time_t now)
{
	if (cap_narrowed && cap_until != 0 && now >= cap_until) {
		log_info("type=capture status=expired");
		capture_unnarrow();
	}
	capture_file_write();
}

/* Free everything (stop). */
void
capture_stop(void)
{
	capture_file_catchup();
	capture_file_close();
	capture_reset();
	while (cap_n > 0)
		capture_evict();
	free(cap_ring);
	cap_ring = NULL;
	cap_slots = 0;
	free(cap_file);
	cap_file = NULL;
	free(cap_by_text);
	cap_by_text = NULL;
	if (cap_fbuf != NULL)
		evbuffer_free(cap_fbuf);
	cap_fbuf = NULL;
	if (cap_flush_ev != NULL)
		event_free(cap_flush_ev);
	cap_flush_ev = NULL;
	capture_on = 0;
}

/*
 * Record for seconds (> 0) what one miner, user or address does, or
 * everything (CAPTURE_ALL). 0, or -1 with why.
 */
int
capture_narrow(enum capture_by by, uint64_t miner, const char *text,
    int seconds, const char **why)
{
	if (cap_slots == 0) {
		*why = "the capture is not started";
		return -1;
	}
	if (seconds <= 0 || seconds > 86400) {
		*why = "seconds must be 1..86400";
		return -1;
	}
	if ((by == CAPTURE_BY_USER || by == CAPTURE_BY_IP) &&
	    (text == NULL || text[0] == '\0' || strlen(text) > 1024)) {
		*why = "user and ip must be 1..1024 bytes";
		return -1;
	}
	capture_reset();
	free(cap_by_text);
	cap_by_text = by == CAPTURE_BY_USER || by == CAPTURE_BY_IP ?
	    xstrdup(text) : NULL;
	cap_by = by;
	cap_by_miner = miner;
	cap_until = sl.now + seconds;
	cap_narrowed = 1;
	capture_update();
	log_info("type=capture status=on by=%s seconds=%d",
	    by == CAPTURE_ALL ? "all" : by == CAPTURE_BY_MINER ? "miner" :
	    by == CAPTURE_BY_USER ? "user" : "ip", seconds);
	return 0;
}

/*
 * Stop recording (DELETE /1/capture): a narrowing ends, and capture
 * that capture.enabled turned on stops until the next reload changes
 * it. The records stay.
 */
void
capture_off(void)
{
	cap_conf_enabled = 0;
	capture_unnarrow();
	log_info("type=capture status=off");
}

/* End a narrowing: back to what capture.enabled says. */
static void
capture_unnarrow(void)
{
	capture_reset();
	cap_narrowed = 0;
	cap_until = 0;
	cap_by = CAPTURE_ALL;
	free(cap_by_text);
	cap_by_text = NULL;
	capture_update();
}

/* The state, as POST, DELETE and GET /1/capture?state show it. */
json_t *
capture_state(void)
{
	json_t	*o, *f;

	o = json_object();
	json_object_set_new(o, "enabled", json_boolean(capture_on));
	if (cap_narrowed && cap_by != CAPTURE_ALL) {
		f = json_object();
		if (cap_by == CAPTURE_BY_MINER)
			json_object_set_new(f, "miner",
			    json_integer((json_int_t)cap_by_miner));
		else
			json_object_set_new(f, cap_by == CAPTURE_BY_USER ?
			    "user" : "ip", json_string(cap_by_text));
		json_object_set_new(o, "filter", f);
	} else
		json_object_set_new(o, "filter", json_null());
	json_object_set_new(o, "seconds_left", cap_narrowed ?
	    json_integer(cap_until > sl.now ? cap_until - sl.now : 0) :
	    json_null());
	json_object_set_new(o, "records", json_integer((json_int_t)cap_n));
	json_object_set_new(o, "bytes", json_integer((json_int_t)cap_nbytes));
	json_object_set_new(o, "first",
	    json_integer((json_int_t)capture_first_id()));
	json_object_set_new(o, "last",
	    json_integer((json_int_t)capture_last_id()));
	json_object_set_new(o, "dropped", json_integer((json_int_t)cap_dropped));
	json_object_set_new(o, "messages", json_integer((json_int_t)cap_slots));
	json_object_set_new(o, "max-bytes",
	    json_integer((json_int_t)cap_max_bytes));
	json_object_set_new(o, "file", cap_file != NULL ?
	    json_string(cap_file) : json_null());
	json_object_set_new(o, "file_errors",
	    json_integer((json_int_t)cap_file_errors));
	json_object_set_new(o, "file_dropped",
	    json_integer((json_int_t)cap_file_dropped));
	return o;
}

/* The live feed's hook: called at the end of a turn that made records. */
void
capture_set_notify(void (*fn)(void))
{
	cap_notify = fn;
}
