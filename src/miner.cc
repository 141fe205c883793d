/*
 * miner.cc: one miner's stratum session (JSON-RPC lines from wire.cc):
 * the state machine
 *	WAIT_LOGIN -> WAIT_READY -> READY -> CLOSING
 * a method table, login, jobs, the submit checks, and the one close path.
 *
 * Ownership: the miner list holds one reference and a share in flight
 * holds one. miner_close() moves a miner to the dead list, whose reference
 * is dropped on the next loop turn, so whatever called it (a fan-out loop,
 * a read callback) may go on touching the struct; a pool reply for a
 * departed miner finds a CLOSING miner, never freed memory.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "config.h"
#include "events.h"
#include "job.h"
#include "listener.h"
#include "miner.h"
#include "policy.h"
#include "share.h"
#include "stats.h"
#include "stratum.h"
#include "upstream.h"
#include "wire.h"
#include "xatum.h"

#define MINER_F_LOGIN	0x1	/* needs a completed login */

struct miner_method {
	const char	*name;
	void		(*handler)(struct miner *, const char *, json_t *);
	int		 flags;
};

static void	 miner_set_state(struct miner *, enum miner_state);
static void	 miner_free(struct miner *);
static void	 miner_login(struct miner *, const char *, json_t *);
static void	 miner_submit(struct miner *, const char *, json_t *);
static void	 miner_keepalived(struct miner *, const char *, json_t *);
static void	 miner_submit_args(struct miner *, const char *, const char *,
		     const char *, const char *, const char *, const char *);
static int	 miner_line_fast(struct miner *, char *, size_t);
static void	 miner_dispatch(struct miner *, char *, size_t);
static void	 miner_login_args(struct miner *, const char *, const char *,
		     const char *, const char *, const char *, json_t *);
static json_t	*miner_falgo(const struct jobj *);
static char	*miner_algo_list(json_t *);
static const char *miner_fstr(const struct jobj *, const char *, size_t);
static const char *miner_str(json_t *, const char *, size_t);
static void	 miner_reply_rpc_error(struct miner *, int, const char *);
static void	 miner_xatum(struct miner *, char *, size_t);

static const struct miner_method miner_methods[] = {
	{ "login", miner_login, 0 },
	{ "submit", miner_submit, MINER_F_LOGIN },
	{ "keepalived", miner_keepalived, MINER_F_LOGIN },
	{ "getjob", NULL, MINER_F_LOGIN },	/* answered "Invalid method" */
};

static uint64_t	 miner_next_id = 1;
/* Since the last summary line: connections opened, logins, closes. */
static uint64_t	 miner_opened;
static uint64_t	 miner_logins;
static uint64_t	 miner_closed[CLOSE_MAX];
static size_t	 miner_n;
static struct minerq miner_list = TAILQ_HEAD_INITIALIZER(miner_list);
static struct minerq miner_dead = TAILQ_HEAD_INITIALIZER(miner_dead);
static struct event *miner_reaper;

static void	 miner_reap_cb(evutil_socket_t, short, void *);
static int	 miner_close_is_error(enum close_reason);

/* Name of a state, for logs and the API. */
const char *
miner_state_text(enum miner_state s)
{
	switch (s) {
	case MINER_WAIT_LOGIN:
		return "wait_login";
	case MINER_WAIT_READY:
		return "wait_ready";
	case MINER_READY:
		return "ready";
	case MINER_CLOSING:
		return "closing";
	}
	return "unknown";
}

/* Change state; every transition goes through here. */
static void
miner_set_state(struct miner *m, enum miner_state s)
{
	log_debug2("miner %llu: %s -> %s", (unsigned long long)m->peer.id,
	    miner_state_text(m->state), miner_state_text(s));
	m->state = s;
}

/* The open miners, oldest first (the API's /1/miners). */
struct miner *
miner_first(void)
{
	return TAILQ_FIRST(&miner_list);
}

/* The next open miner, or NULL. */
struct miner *
miner_next(struct miner *m)
{
	return TAILQ_NEXT(m, entry);
}

/* Number of open miner connections. */
size_t
miner_count(void)
{
	return miner_n;
}

/* Take a reference. */
struct miner *
miner_ref(struct miner *m)
{
	m->refs++;
	return m;
}

/* Drop a reference; the last one frees a closed miner. */
void
miner_unref(struct miner *m)
{
	if (--m->refs == 0)
		miner_free(m);
}

/* Free a miner; only reached with no references left. */
static void
miner_free(struct miner *m)
{
	job_unref(m->job);
	intern_drop(m->peer.login);
	intern_drop(m->peer.user);
	intern_drop(m->peer.pass);
	intern_drop(m->peer.agent);
	intern_drop(m->algos);
	free(m->peer.rigid);
	free(m->peer.worker);
	free(m->finish_detail);
	if (m->peer.algos != NULL)
		json_decref(m->peer.algos);
	free(m);
}

/*
 * A new connection from the listener, spoken over transport t (ws_path:
 * a WebSocket bind's path).
 */
void
miner_accept(evutil_socket_t fd, struct sockaddr *sa, int salen,
    int local_port, enum wire_transport t, const char *ws_path)
{
	struct miner	*m;

	(void)salen;
	m = XCALLOC(struct miner, 1);
	m->peer.id = miner_next_id++;
	m->refs = 1;
	m->slot = -1;
	m->peer.local_port = local_port;
	m->connected = m->last_active = sl.now;
	listener_ip(sa, m->peer.ip, sizeof m->peer.ip);
	if (sa->sa_family == AF_INET)
		m->peer.port = ntohs(((struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		m->peer.port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);

	m->peer.tls = wire_is_tls(t);
	if (wire_open(m, fd, t, ws_path) != 0) {
		policy_disconnect(m->peer.ip);	/* policy_connect() counted it */
		free(m);
		return;
	}
	TAILQ_INSERT_TAIL(&miner_list, m, entry);
	miner_n++;
	miner_opened++;
	log_debug("miner %llu: connect from %s:%d port %d",
	    (unsigned long long)m->peer.id, m->peer.ip, m->peer.port, local_port);
	events_connect(m);
}

/*
 * A connection the listener closed before it became a miner (a PROXY
 * header refused): counted with the miners' closes, logged at -v.
 */
void
miner_refused(enum close_reason reason, const char *ip, int port,
    const char *detail)
{
	miner_closed[reason]++;
	sl_stats.closed[reason]++;
	log_debug("type=miner_close id=- ip=%s port=%d state=accept close=%s "
	    "reason=\"%s\"", ip, port, stats_close_text(reason),
	    log_esc(detail != NULL ? detail : miner_close_text(reason)));
}

/* The words a close reason is logged with when the caller gave none. */
const char *
miner_close_text(enum close_reason r)
{
	switch (r) {
	case CLOSE_MINER:
		return "closed by miner";
	case CLOSE_SOCKET_ERROR:
		return "socket error";
	case CLOSE_TLS_ERROR:
		return "TLS error";
	case CLOSE_LOGIN_TIMEOUT:
		return "login timeout";
	case CLOSE_IDLE_TIMEOUT:
		return "idle timeout";
	case CLOSE_NO_JOB:
		return "no job from any pool";
	case CLOSE_LINE_TOO_LONG:
		return "line too long";
	case CLOSE_PROTOCOL_ERROR:
		return "protocol error before login";
	case CLOSE_UNKNOWN_METHOD:
		return "unknown method before login";
	case CLOSE_OVERFLOW:
		return "output limit reached (slow reader)";
	case CLOSE_LOGIN_REJECTED:
		return "login rejected";
	case CLOSE_PROXY_FULL:
		return "proxy is full";
	case CLOSE_BAD_NONCE:
		return "nonce outside the miner's slot";
	case CLOSE_JOB_TOO_LARGE:
		return "job too large for a login reply";
	case CLOSE_SHUTDOWN:
		return "shutdown";
	case CLOSE_PROXY_UNTRUSTED:
		return "PROXY header from an untrusted source";
	case CLOSE_PROXY_BAD:
		return "bad PROXY header";
	case CLOSE_PROXY_TIMEOUT:
		return "no PROXY header in time";
	case CLOSE_MAX:
		break;
	}
	return "unknown";
}

/* Is a close for this reason a warning (the proxy's or the miner's fault)? */
static int
miner_close_is_error(enum close_reason r)
{
	switch (r) {
	case CLOSE_LINE_TOO_LONG:
	case CLOSE_PROTOCOL_ERROR:
	case CLOSE_UNKNOWN_METHOD:
	case CLOSE_OVERFLOW:
	case CLOSE_BAD_NONCE:
	case CLOSE_JOB_TOO_LARGE:
	case CLOSE_NO_JOB:
	case CLOSE_PROXY_UNTRUSTED:
	case CLOSE_PROXY_BAD:
	case CLOSE_PROXY_TIMEOUT:
		return 1;
	default:
		return 0;
	}
}

/*
 * The one close path: detach from the splitter, report, free the socket.
 * detail (a socket error, the policy's message) says more than the reason
 * and is only read during the call. Safe to call twice; the struct lives
 * on while references remain.
 */
void
miner_close(struct miner *m, enum close_reason reason, const char *detail)
{
	enum miner_state	 was = m->state;
	const char		*why;

	if (was == MINER_CLOSING)
		return;
	miner_set_state(m, MINER_CLOSING);
	m->close_reason = reason;
	why = detail != NULL ? detail : miner_close_text(reason);
	splitter_close(m);
	events_close(m, why);
	/* One line per miner at -v; the default level gets the summary. */
	miner_closed[reason]++;
	log_debug(
	    "type=miner_close id=%llu ip=%s user=%s state=%s close=%s "
	    "reason=\"%s\" rx=%llu tx=%llu accepted=%llu rejected=%llu "
	    "invalid=%llu seconds=%lld",
	    (unsigned long long)m->peer.id, m->peer.ip, log_word(m->peer.user),
	    miner_state_text(was), stats_close_text(reason), log_esc(why),
	    (unsigned long long)m->rx, (unsigned long long)m->tx,
	    (unsigned long long)m->accepted, (unsigned long long)m->rejected,
	    (unsigned long long)m->invalid, (long long)(sl.now - m->connected));
	wire_close(m);
	TAILQ_REMOVE(&miner_list, m, entry);
	miner_n--;
	policy_disconnect(m->peer.ip);

	/*
	 * The caller (a fan-out loop, a read callback) may still hold m:
	 * the list's reference is dropped on the next loop turn.
	 */
	TAILQ_INSERT_TAIL(&miner_dead, m, entry);
	if (miner_reaper == NULL)
		miner_reaper = event_new(sl.base, -1, 0, miner_reap_cb, NULL);
	event_active(miner_reaper, EV_TIMEOUT, 0);
}

/* Next loop turn after closes: drop the list's references. */
static void
miner_reap_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	miner_reap();
}

/* Drop the references of closed miners (also at exit). */
void
miner_reap(void)
{
	struct miner	*m;

	while ((m = TAILQ_FIRST(&miner_dead)) != NULL) {
		TAILQ_REMOVE(&miner_dead, m, entry);
		miner_unref(m);
	}
}

/* Free the reaper (exit, after the last close). */
void
miner_shutdown(void)
{
	miner_reap();
	if (miner_reaper != NULL)
		event_free(miner_reaper);
	miner_reaper = NULL;
}

/*
 * Close after what is queued has been written (a refused login): the
 * wire calls miner_close() with this reason once the backlog is out.
 */
void
miner_finish(struct miner *m, enum close_reason reason, const char *detail)
{
	m->close_reason = reason;
	free(m->finish_detail);
	m->finish_detail = detail != NULL ? xstrdup(detail) : NULL;
	wire_finish(m);
}

/* A string member of a scanned object no longer than max, or NULL. */
static const char *
miner_fstr(const struct jobj *o, const char *key, size_t max)
{
	const struct jmember	*v = stratum_member(o, key);

	if (v == NULL || v->type != 's' || v->vlen > max)
		return NULL;
	return v->val;
}

/* A login's algo array from a scanned object, as JSON (1..64), or NULL. */
static json_t *
miner_falgo(const struct jobj *o)
{
	const struct jmember	*a = stratum_member(o, "algo");
	const char		*pos = NULL, *s;
	size_t			 n;
	json_t			*arr;

	if (a == NULL || a->type != 'a')
		return NULL;
	arr = json_array();
	while (stratum_array_next(a, &pos, &s, &n) == 0)
		json_array_append_new(arr, json_stringn(s, n));
	if (json_array_size(arr) == 0 || json_array_size(arr) > 64) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/*
 * The fast path for the lines that come by the thousand: a waiting
 * miner's login, a ready miner's submit and keepalived. Scanned in place
 * (a login's algo list aside, no allocation). Returns 0 to let jansson
 * parse the line (any other method, state or shape), 1 once handled.
 */
static int
miner_line_fast(struct miner *m, char *line, size_t len)
{
	struct jflat		 f;
	const struct jmember	*method, *params, *id;
	char			 reqid[SLUICE_REQID_MAX];
	int			 what;

	if ((m->state != MINER_READY && m->state != MINER_WAIT_LOGIN) ||
	    stratum_scan(line, len, &f) != 0)
		return 0;
	method = stratum_member(&f.top, "method");
	params = stratum_member(&f.top, "params");
	id = stratum_member(&f.top, "id");
	if (params == NULL || params->type != 'o')
		return 0;
	if (m->state == MINER_READY && stratum_is(method, "submit"))
		what = 's';
	else if (m->state == MINER_READY && stratum_is(method, "keepalived"))
		what = 'k';
	else if (m->state == MINER_WAIT_LOGIN && stratum_is(method, "login"))
		what = 'l';
	else
		return 0;
	if (id == NULL || id->type == 'z')
		memcpy(reqid, "null", 5);
	else if (id->type == 'n')
		snprintf(reqid, sizeof reqid, "%lld", strtoll(id->val, NULL, 10));
	else if (id->type == 's' && id->vlen <= SLUICE_REQID_MAX / 2 - 2)
		snprintf(reqid, sizeof reqid, "\"%.*s\"", (int)id->vlen,
		    id->val);
	else
		return 0;
	stratum_terminate(&f);
	if (what == 'k') {
		miner_keepalived(m, reqid, NULL);
		return 1;
	}
	if (what == 'l') {
		miner_login_args(m, reqid, miner_fstr(&f.sub, "login", 1024),
		    miner_fstr(&f.sub, "pass", 256),
		    miner_fstr(&f.sub, "agent", 256),
		    miner_fstr(&f.sub, "rigid", 256), miner_falgo(&f.sub));
		return 1;
	}
	miner_submit_args(m, reqid, miner_fstr(&f.sub, "id", 64),
	    miner_fstr(&f.sub, "job_id", 128), miner_fstr(&f.sub, "nonce", 8),
	    miner_fstr(&f.sub, "result", 64), miner_fstr(&f.sub, "algo", 64));
	return 1;
}

/*
 * One line from the wire. With capture on, it is recorded first, and
 * what is written until it has been handled is what it caused.
 */
void
miner_line(struct miner *m, char *line, size_t len)
{
	if (capture_on) {
		capture_miner(CAPTURE_MINER_IN, &m->peer, line, len, NULL);
		miner_dispatch(m, line, len);
		capture_done();
		return;
	}
	miner_dispatch(m, line, len);
}

/* Parse a line and dispatch it through the method table. */
static void
miner_dispatch(struct miner *m, char *line, size_t len)
{
	const struct miner_method	*mm = NULL;
	json_error_t			 err;
	json_t				*req, *method, *params;
	char				 reqid[SLUICE_REQID_MAX];
	const char			*name;
	size_t				 i;

	if (log_get_verbose() >= 2)
		log_debug2("miner %llu: < %s", (unsigned long long)m->peer.id,
		    log_line(line, len));
	if (m->wire.transport == WIRE_XATUM) {
		miner_xatum(m, line, len);
		return;
	}
	if (miner_line_fast(m, line, len))
		return;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (req == NULL || !json_is_object(req) ||
	    stratum_reqid(json_object_get(req, "id"), reqid) != 0) {
		sl_stats.protocol_errors++;
		if (m->state == MINER_WAIT_LOGIN) {
			/* Say why before the close: JSON-RPC's own codes. */
			miner_reply_rpc_error(m, req == NULL ? -32700 : -32600,
			    req == NULL ? "Parse error" : "Invalid request");
			if (req != NULL)
				json_decref(req);
			miner_finish(m, CLOSE_PROTOCOL_ERROR, NULL);
			return;
		}
		if (req != NULL)
			json_decref(req);
		miner_reply_error(m, "null", "Invalid request");
		return;
	}
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	name = json_is_string(method) ? json_string_value(method) : "";
	for (i = 0; i < sizeof miner_methods / sizeof miner_methods[0]; i++) {
		if (strcmp(miner_methods[i].name, name) == 0) {
			mm = &miner_methods[i];
			break;
		}
	}
	if (mm == NULL || mm->handler == NULL) {
		sl_stats.protocol_errors++;
		if (m->state == MINER_WAIT_LOGIN) {
			miner_reply_error(m, reqid, "Invalid method");
			miner_finish(m, CLOSE_UNKNOWN_METHOD, NULL);
		} else
			miner_reply_error(m, reqid, "Invalid method");
		json_decref(req);
		return;
	}
	if ((mm->flags & MINER_F_LOGIN) && m->state != MINER_READY &&
	    m->state != MINER_WAIT_READY) {
		miner_reply_error(m, reqid, "Unauthenticated");
		json_decref(req);
		return;
	}
	if (!json_is_object(params)) {
		sl_stats.protocol_errors++;
		miner_reply_error(m, reqid, "Invalid params");
		json_decref(req);
		return;
	}
	mm->handler(m, reqid, params);
	json_decref(req);
}

/* A string member no longer than max, or NULL. */
static const char *
miner_str(json_t *o, const char *key, size_t max)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) > max)
		return NULL;
	return json_string_value(v);
}

/* Send a JSON-RPC error reply (Xatum: its error shape). */
void
miner_reply_error(struct miner *m, const char *reqid, const char *message)
{
	char	 buf[1024];
	size_t	 n;

	if (m->wire.transport == WIRE_XATUM)
		n = xatum_error_line(buf, sizeof buf, reqid, message);
	else
		n = stratum_error_line(buf, sizeof buf, reqid, message);
	if (n > 0)
		wire_write(m, buf, n);
}

/* A JSON-RPC error with a standard code and id null (a line that is no
 * request). */
static void
miner_reply_rpc_error(struct miner *m, int code, const char *message)
{
	char	 buf[256];
	size_t	 n;

	if (m->wire.transport == WIRE_XATUM)
		n = xatum_error_line(buf, sizeof buf, "null", message);
	else
		n = stratum_rpc_error_line(buf, sizeof buf, "null", code,
		    message);
	if (n > 0)
		wire_write(m, buf, n);
}

/* Send a JSON-RPC status reply (Xatum: "result": true). */
void
miner_reply_status(struct miner *m, const char *reqid, const char *status)
{
	char	 buf[256];
	size_t	 n;

	if (m->wire.transport == WIRE_XATUM)
		n = xatum_true_line(buf, sizeof buf, reqid);
	else
		n = stratum_status_line(buf, sizeof buf, reqid, status);
	if (n > 0)
		wire_write(m, buf, n);
}

/*
 * login: policy checks, custom difficulty, session id, then the splitter
 * finds an upstream. The reply goes out with the first job (now, or when
 * the upstream has one).
 */
static void
miner_login(struct miner *m, const char *reqid, json_t *params)
{
	json_t	*algo = json_object_get(params, "algo");

	if (m->state != MINER_WAIT_LOGIN) {
		miner_reply_error(m, reqid, "Already logged in");
		return;
	}
	if (!json_is_array(algo) || json_array_size(algo) == 0 ||
	    json_array_size(algo) > 64)
		algo = NULL;
	miner_login_args(m, reqid, miner_str(params, "login", 1024),
	    miner_str(params, "pass", 256), miner_str(params, "agent", 256),
	    miner_str(params, "rigid", 256),
	    algo != NULL ? json_incref(algo) : NULL);
}

/*
 * A login's policy, custom difficulty, session and upstream, whichever
 * parser read it (strings absent, of the wrong type or too long arrive as
 * NULL). algo is a reference the miner takes, or NULL.
 */
static void
miner_login_args(struct miner *m, const char *reqid, const char *login,
    const char *pass, const char *agent, const char *rigid, json_t *algo)
{
	const char	*why;
	char		*user;

	m->peer.login = intern(login != NULL ? login : "");
	m->peer.pass = intern(pass != NULL ? pass : "");
	m->peer.agent = intern(agent != NULL ? agent : "");
	if (rigid != NULL && rigid[0] != '\0')
		m->peer.rigid = xstrdup(rigid);
	m->peer.algos = algo;
	xstrlcpy(m->login_id, reqid, sizeof m->login_id);

	if ((why = policy_login(sl.conf, &m->peer)) != NULL) {
		log_debug("type=login_rejected id=%llu ip=%s user=%s "
		    "reason=\"%s\"", (unsigned long long)m->peer.id, m->peer.ip,
		    log_word(m->peer.login), log_esc(why));
		miner_reply_error(m, reqid, why);
		miner_finish(m, CLOSE_LOGIN_REJECTED, why);
		return;
	}
	policy_custom_diff(sl.conf, &m->peer, &user, &m->custom_diff);
	m->peer.user = intern(user);
	free(user);
	m->peer.worker = policy_worker_name(sl.conf, &m->peer);
	/* A Xatum handshake gave out the session already. */
	if (m->session[0] == '\0')
		stratum_random_hex(m->session, SLUICE_SESSION_LEN);
	m->last_active = sl.now;
	m->algos = miner_algo_list(m->peer.algos);
	miner_set_state(m, MINER_WAIT_READY);

	if (splitter_login(m) != 0) {
		sl_stats.refused_full++;
		miner_reply_error(m, reqid, "Proxy is full, try again later");
		miner_finish(m, CLOSE_PROXY_FULL, NULL);
		return;
	}
	if (m->state == MINER_CLOSING)
		return;
	/* The algo list is for the login's policy hooks only. */
	if (m->peer.algos != NULL) {
		json_decref(m->peer.algos);
		m->peer.algos = NULL;
	}
	sl_stats.logins++;
	miner_logins++;
	log_debug("type=miner_login id=%llu ip=%s user=%s rigid=%s agent=\"%s\" "
	    "diff=%llu slot=%d", (unsigned long long)m->peer.id, m->peer.ip,
	    log_word(m->peer.user), log_word(m->peer.rigid), log_esc(m->peer.agent),
	    (unsigned long long)m->custom_diff, m->slot);
	events_login(m);
}

/*
 * The login's algo list as "a,b" (interned: a farm's miners send the same
 * list), for a coin switch to check against; NULL when none was sent.
 */
static char *
miner_algo_list(json_t *algos)
{
	char	 buf[1024];
	size_t	 i, o = 0, n;
	json_t	*v;

	if (algos == NULL || !json_is_array(algos))
		return NULL;
	buf[0] = '\0';
	json_array_foreach(algos, i, v) {
		if (!json_is_string(v))
			continue;
		n = json_string_length(v);
		if (o + n + 2 > sizeof buf)
			break;
		if (o > 0)
			buf[o++] = ',';
		memcpy(buf + o, json_string_value(v), n);
		o += n;
		buf[o] = '\0';
	}
	return o > 0 ? intern(buf) : NULL;
}

/*
 * The difficulty a miner works at for a job, and its target: the custom
 * difficulty when it is lower than the pool's, else the pool's own.
 */
uint64_t
miner_target_diff(const struct miner *m, const struct job *j, char target[17])
{
	if (m->custom_diff != 0 && m->custom_diff < j->diff) {
		stratum_diff_target(m->custom_diff, target);
		return stratum_target_diff(target, 8);
	}
	xstrlcpy(target, j->target, 17);
	return j->diff;
}

/*
 * Reply to a waiting login with its first job. The job object is the
 * job's encoding with this miner's slot, target and session, so the
 * reply is built with memcpy, not a JSON tree.
 */
void
miner_login_done(struct miner *m, struct job *j)
{
	char		 line[4096], target[17], obj[3072];
	size_t		 olen;
	int		 n;

	if (m->state != MINER_WAIT_READY)
		return;
	m->diff = miner_target_diff(m, j, target);
	if (m->wire.transport == WIRE_XATUM) {
		/* authorize's answer, then the first job push. */
		olen = xatum_true_line(line, sizeof line, m->login_id);
		wire_write(m, line, olen);
		if (m->state == MINER_CLOSING)
			return;
		miner_set_state(m, MINER_READY);
		miner_send_job(m, j);
		return;
	}
	olen = job_render_object(j, m->slot, target, m->session, obj,
	    sizeof obj);
	n = snprintf(line, sizeof line, "{\"id\":%s,\"jsonrpc\":\"2.0\","
	    "\"error\":null,\"result\":{\"id\":\"%s\",\"job\":%.*s,"
	    "\"extensions\":[%s%s\"keepalive\"],\"status\":\"OK\"}}\n",
	    m->login_id, m->session, (int)olen, obj,
	    sl.conf->algo_ext ? "\"algo\"," : "",
	    sl.conf->mode == MODE_NICEHASH ? "\"nicehash\"," : "");
	if (olen == 0 || n < 0 || (size_t)n >= sizeof line) {
		miner_close(m, CLOSE_JOB_TOO_LARGE, NULL);
		return;
	}
	wire_write(m, line, (size_t)n);
	if (m->state == MINER_CLOSING)
		return;
	job_unref(m->job);
	m->job = job_ref(j);
	miner_set_state(m, MINER_READY);
}

/* Send a job: the encoded head, this miner's slot, target and session. */
void
miner_send_job(struct miner *m, struct job *j)
{
	char	 buf[2048], target[17];
	size_t	 n;

	if (m->state == MINER_WAIT_READY) {
		miner_login_done(m, j);
		return;
	}
	if (m->state != MINER_READY)
		return;
	m->diff = miner_target_diff(m, j, target);
	if (m->wire.transport == WIRE_XATUM)
		n = xatum_job_line(buf, sizeof buf, j, m->slot, target,
		    m->diff);
	else
		n = job_render(j, m->slot, target, m->session, buf,
		    sizeof buf);
	if (n == 0)
		return;
	wire_write(m, buf, n);
	if (m->state == MINER_CLOSING)
		return;
	job_unref(m->job);
	m->job = job_ref(j);
}

/*
 * submit: the protocol checks, in the documented order; then the splitter
 * checks the job and forwards. Every submit ends in share_finish().
 */
static void
miner_submit(struct miner *m, const char *reqid, json_t *params)
{
	miner_submit_args(m, reqid, miner_str(params, "id", 64),
	    miner_str(params, "job_id", 128), miner_str(params, "nonce", 8),
	    miner_str(params, "result", 64), miner_str(params, "algo", 64));
}

/*
 * A submit's checks, whichever parser read it (strings that are absent,
 * of the wrong type or too long arrive as NULL).
 */
static void
miner_submit_args(struct miner *m, const char *reqid, const char *id,
    const char *job_id, const char *nonce, const char *result,
    const char *algo)
{
	struct share	*s;

	m->last_active = sl.now;
	s = share_new(m);
	xstrlcpy(s->reqid, reqid, sizeof s->reqid);

	if (m->state != MINER_READY || id == NULL ||
	    strcmp(id, m->session) != 0) {
		share_finish(s, SHARE_INVALID, "Unauthenticated");
		return;
	}
	if (job_id == NULL || job_id[0] == '\0') {
		share_finish(s, SHARE_INVALID, "Missing job id");
		return;
	}
	if (nonce == NULL || strlen(nonce) != 8 || !stratum_is_hex(nonce, 8)) {
		share_finish(s, SHARE_INVALID, "Invalid nonce");
		return;
	}
	if (result == NULL || strlen(result) != 64 ||
	    !stratum_is_hex(result, 64)) {
		share_finish(s, SHARE_INVALID, "Invalid result");
		return;
	}
	memcpy(s->nonce, nonce, 9);
	memcpy(s->result, result, 65);
	s->nonce_le = (uint32_t)strtoul(nonce, NULL, 16);
	s->diff = stratum_result_diff(result);
	if (s->diff < m->diff) {
		share_finish(s, SHARE_INVALID, "Low difficulty share");
		return;
	}
	/* After a coin switch, a late share carries the old slot. */
	if (m->slot >= 0 && stratum_nonce_byte3(nonce) != m->slot &&
	    (m->prev_upstream == 0 ||
	    stratum_nonce_byte3(nonce) != m->prev_slot)) {
		share_finish(s, SHARE_INVALID,
		    "Invalid nonce; is miner not compatible with NiceHash?");
		miner_finish(m, CLOSE_BAD_NONCE, NULL);
		return;
	}
	splitter_submit(m, s, job_id, algo);
}

/*
 * One Xatum line: the same state machine as a stratum miner's, reached
 * through its own messages. authorize is the login (address the user,
 * worker the rig id, password the pass), submit the submit with this
 * miner's session; handshake and ping are answered here. Errors are
 * Xatum-shaped (miner_reply_error); a bad line before the login closes,
 * as a stratum miner's does.
 */
static void
miner_xatum(struct miner *m, char *line, size_t len)
{
	struct xatum_msg	 x;
	char			 buf[512];
	const char		*agent;
	size_t			 n;

	xatum_decode(line, len, &x);
	switch (x.kind) {
	case XATUM_BAD:
		sl_stats.protocol_errors++;
		miner_reply_error(m, x.reqid, "Invalid request");
		if (m->state == MINER_WAIT_LOGIN)
			miner_finish(m, CLOSE_PROTOCOL_ERROR, NULL);
		return;
	case XATUM_UNKNOWN:
		sl_stats.protocol_errors++;
		miner_reply_error(m, x.reqid, "Invalid method");
		if (m->state == MINER_WAIT_LOGIN)
			miner_finish(m, CLOSE_UNKNOWN_METHOD, NULL);
		return;
	case XATUM_HANDSHAKE:
		if (m->session[0] == '\0')
			stratum_random_hex(m->session, SLUICE_SESSION_LEN);
		if (x.agent != NULL && m->state == MINER_WAIT_LOGIN) {
			intern_drop(m->peer.agent);
			m->peer.agent = intern(x.agent);
		}
		n = xatum_handshake_line(buf, sizeof buf, x.reqid, m->session,
		    m->diff != 0 ? m->diff : sl.conf->custom_diff);
		if (n > 0)
			wire_write(m, buf, n);
		return;
	case XATUM_AUTHORIZE:
		if (m->state != MINER_WAIT_LOGIN) {
			miner_reply_error(m, x.reqid, "Already logged in");
			return;
		}
		if (x.address == NULL || x.address[0] == '\0') {
			miner_reply_error(m, x.reqid, "Missing address");
			miner_finish(m, CLOSE_PROTOCOL_ERROR, NULL);
			return;
		}
		/* The handshake's agent, if any; the login interns its own. */
		agent = m->peer.agent;
		m->peer.agent = NULL;
		miner_login_args(m, x.reqid, x.address, x.password,
		    agent != NULL ? agent : XATUM_PROTOCOL, x.worker, NULL);
		intern_drop(agent);
		return;
	case XATUM_SUBMIT:
		miner_submit_args(m, x.reqid, m->session, x.job_id, x.nonce,
		    x.result, NULL);
		return;
	case XATUM_PING:
		m->last_active = sl.now;
		if ((n = xatum_pong_line(buf, sizeof buf, x.reqid)) > 0)
			wire_write(m, buf, n);
		return;
	}
}

/* keepalived: the miner is alive. */
static void
miner_keepalived(struct miner *m, const char *reqid, json_t *params)
{
	(void)params;
	m->last_active = sl.now;
	miner_reply_status(m, reqid, "KEEPALIVED");
}

/*
 * The default level's view of miners coming and going: at most one line
 * a second, with the counts since the last one and the closes by reason,
 * so that a reconnect storm of 10,000 miners costs a line, not 10,000.
 * A warning when any close was an error. One line per miner is at -v,
 * and in the access log.
 */
void
miner_summary(void)
{
	char		 buf[1024];
	uint64_t	 closed = 0;
	size_t		 o = 0;
	int		 i, n, error = 0;

	for (i = 0; i < CLOSE_MAX; i++) {
		if (miner_closed[i] == 0)
			continue;
		closed += miner_closed[i];
		error |= miner_close_is_error((enum close_reason)i);
		n = snprintf(buf + o, sizeof buf - o, " %s=%llu",
		    stats_close_text((enum close_reason)i),
		    (unsigned long long)miner_closed[i]);
		if (n > 0 && (size_t)n < sizeof buf - o)
			o += (size_t)n;
		miner_closed[i] = 0;
	}
	buf[o] = '\0';
	if (miner_opened == 0 && miner_logins == 0 && closed == 0)
		return;
	(error ? log_warnx : log_info)("type=miners opened=%llu logins=%llu "
	    "closed=%llu now=%zu%s", (unsigned long long)miner_opened,
	    (unsigned long long)miner_logins, (unsigned long long)closed,
	    miner_n, buf);
	miner_opened = miner_logins = 0;
}

/* Once a second: login and idle timeouts, then the summary line. */
void
miner_tick(time_t now)
{
	struct miner	*m, *next;

	for (m = TAILQ_FIRST(&miner_list); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (m->state == MINER_WAIT_LOGIN &&
		    now - m->connected >= SLUICE_LOGIN_TIMEOUT)
			miner_close(m, CLOSE_LOGIN_TIMEOUT, NULL);
		else if ((m->state == MINER_READY ||
		    m->state == MINER_WAIT_READY) &&
		    now - m->last_active >= SLUICE_IDLE_TIMEOUT)
			miner_close(m, m->state == MINER_READY ?
			    CLOSE_IDLE_TIMEOUT : CLOSE_NO_JOB, NULL);
	}
	miner_summary();
}

/* Stop reading from every miner (shutdown: no new submits). */
void
miner_quiesce(void)
{
	struct miner	*m;

	TAILQ_FOREACH(m, &miner_list, entry)
		wire_quiesce(m);
}

/* Close every miner. */
void
miner_close_all(enum close_reason reason)
{
	struct miner	*m;

	while ((m = TAILQ_FIRST(&miner_list)) != NULL)
		miner_close(m, reason, NULL);
	miner_summary();
}
