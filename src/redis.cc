/*
 * redis.cc: the link to Redis (redis.h), which shares the user->coin map
 * between sluice nodes; hiredis on the event loop, never blocking it.
 *
 * The hash sluice:user-coin holds the map (field puname, value coin).
 * A change made here (coins_apply from the API or the pull) is written
 * to it and published on the channel sluice:switch in one MULTI/EXEC:
 *
 *	{"node":"<this node's id>","user_coin":{"puname":"coin",...}}
 *
 * Every node applies the messages of the others as COINS_SRC_REDIS
 * changes. Two connections to one server: "cmd" sends commands, "sub"
 * is subscribed to the channel and receives (a subscribed connection
 * may send nothing else). The link goes
 *
 *	down -> resolving -> connecting -> syncing -> ready
 *
 * connecting: both sockets open with AUTH, SELECT and (sub) SUBSCRIBE
 * queued. syncing: subscribed, so nothing published from now on is
 * missed; HSCAN reads the hash page by page while messages from the
 * other nodes wait in a queue, since a page read before a message may
 * hold an older value than the message. At the end the hash is applied
 * as one change, then the queue. If Redis came back empty (it keeps no
 * data across a restart) while this node holds a map, the map is
 * written back and the hash read again, rather than trusting the void.
 * ready: redis_ready() says yes, so the API and the pull may change the
 * map (coins.cc refuses them with 107 otherwise).
 *
 * Any failure (a connect, a dropped socket, an error reply, no answer
 * within REDIS_TIMEOUT) closes both connections, is counted
 * (COINS_ERR_REDIS) and retried after a backoff of 1 s doubling to
 * 30 s; the first of an outage is logged as a warning, the rest at -v,
 * and the end of it with one line. The map is kept meanwhile.
 *
 * hiredis frees a context itself after a failed connect and when the
 * server drops it (the disconnect callback runs inside that free), and
 * defers redisAsyncFree() called from inside one of the context's reply
 * callbacks; every callback of a context it frees runs with a NULL
 * reply. So a context is forgotten (its pointer set to NULL) before it
 * is freed, and every callback first checks that its context is still
 * rd.cmd or rd.sub, and does nothing otherwise.
 *
 * The fleet (fleet.cc) uses the same link: the URL is switch.redis, else
 * fleet.redis (config.cc refuses two different ones). Without
 * switch.redis there is no hash to read: the link is ready once
 * subscribed. The sub connection listens to sluice:ban too, whose
 * messages go to fleet_ban_message(); the cmd connection writes the
 * node summaries and reads them back for fleet_nodes().
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/util.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/rand.h>

#include "coins.h"
#include "config.h"
#include "fleet.h"
#include "redis.h"

#define REDIS_HASH		"sluice:user-coin"
#define REDIS_CHANNEL		"sluice:switch"
#define REDIS_BACKOFF_MAX	30	/* s between retries, at most */
#define REDIS_TIMEOUT		10	/* s a command may wait for its reply */
#define REDIS_PING_IDLE		10	/* s idle before a PING */
#define REDIS_SCAN_COUNT	"1000"	/* HSCAN's page size hint */
#define REDIS_CHUNK		512	/* pairs per HSET */
#define REDIS_QUEUE_MAX		(16 << 20)	/* bytes of messages kept
						   while syncing */
#define REDIS_SYNC_MAX		1000000	/* entries read in one sync */
#define REDIS_WARNED_MAX	32	/* unknown coins warned about */

enum redis_st {
	REDIS_DOWN,		/* nothing open; a retry may be due */
	REDIS_RESOLVING,	/* the host name, through evdns */
	REDIS_CONNECTING,	/* sockets opening, hello queued */
	REDIS_SYNCING,		/* subscribed, reading the hash */
	REDIS_READY
};

/* What a reply answers, for its error message. */
enum redis_what {
	REDIS_W_AUTH,
	REDIS_W_SELECT,
	REDIS_W_PING,
	REDIS_W_MULTI,
	REDIS_W_HSET,
	REDIS_W_PUBLISH,
	REDIS_W_EXEC,
	REDIS_W_WRITEBACK,
	REDIS_W_HSCAN,
	REDIS_W_SET,
	REDIS_W_ZADD,
	REDIS_W_ZREM,
	REDIS_W_ZRANGE,
	REDIS_W_MGET
};

/* Pairs read by HSCAN: "puname\0coin\0" one after the other. */
struct redis_pairs {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	size_t	 n;
};

/* HSET key and REDIS_CHUNK pairs at most, for the write-back. */
struct redis_batch {
	const char	*argv[2 + 2 * REDIS_CHUNK];
	int		 argc;
	int		 failed;
};

/* A message that came while syncing. */
struct redis_msg {
	char	*text;
	size_t	 len;
};

static struct {
	char			*url;		/* the URL in use */
	int			 with_switch;	/* switch.redis set: sync */
	struct redis_url	 u;		/* its parts */
	int			 bad;		/* the URL does not parse */

	enum redis_st		 state;
	redisAsyncContext	*cmd;
	redisAsyncContext	*sub;
	struct evdns_getaddrinfo_request *dns;
	int			 dns_waiting;
	struct event		*retry_ev;
	struct event		*tick_ev;
	int			 backoff;	/* s before the next retry */
	int			 outage;	/* warned about this one */
	unsigned		 pending;	/* replies awaited */
	time_t			 activity;	/* last reply, or first wait */
	char			 node[17];	/* this node's id, hex */
	int			 fleet_reading;	/* a read of the nodes */

	char			 cursor[32];	/* HSCAN's */
	struct redis_pairs	 scan;
	size_t			 scan_seen;	/* entries the hash had */
	int			 wrote_back;
	int			 rescan;	/* the queue overflowed */
	struct redis_msg	*queue;
	size_t			 nqueue;
	size_t			 queue_cap;
	size_t			 queue_bytes;

	char			*warned[REDIS_WARNED_MAX];
	size_t			 nwarned;
	int			 warned_bad;
} rd;

static const char *redis_what_text(enum redis_what);
static void	 redis_forget_url(void);
static void	 redis_begin(void);
static void	 redis_connect(void);
static void	 redis_dns_done(int, struct evutil_addrinfo *, void *);
static void	 redis_open(const char *);
static redisAsyncContext *redis_conn(const char *, const char **);
static int	 redis_send(redisAsyncContext *, redisCallbackFn *,
		     enum redis_what, int, const char **);
static void	 redis_hello(redisAsyncContext *);
static void	 redis_connected(const redisAsyncContext *, int);
static void	 redis_disconnected(const redisAsyncContext *, int);
static void	 redis_reply(redisAsyncContext *, void *, void *);
static void	 redis_sub_reply(redisAsyncContext *, void *, void *);
static void	 redis_scan_reply(redisAsyncContext *, void *, void *);
static void	 redis_answered(void);
static void	 redis_scan_start(void);
static void	 redis_scan(void);
static void	 redis_scan_done(void);
static void	 redis_write_back(void);
static void	 redis_write_one(const char *, const char *, void *);
static void	 redis_message(const char *, size_t);
static void	 redis_message_apply(const char *, size_t);
static int	 redis_keep(const char *, const char *);
static void	 redis_queue_clear(void);
static void	 redis_fail(const char *, const char *);
static void	 redis_close(void);
static void	 redis_retry(evutil_socket_t, short, void *);
static void	 redis_tick(evutil_socket_t, short, void *);
static void	 redis_warned_clear(void);
static const char *redis_url(void);
static void	 redis_up(void);
static void	 redis_fleet_names(redisAsyncContext *, void *, void *);
static void	 redis_fleet_values(redisAsyncContext *, void *, void *);

static const char *
redis_what_text(enum redis_what w)
{
	switch (w) {
	case REDIS_W_AUTH:
		return "AUTH";
	case REDIS_W_SELECT:
		return "SELECT";
	case REDIS_W_PING:
		return "PING";
	case REDIS_W_MULTI:
		return "MULTI";
	case REDIS_W_HSET:
		return "HSET";
	case REDIS_W_PUBLISH:
		return "PUBLISH";
	case REDIS_W_EXEC:
		return "EXEC";
	case REDIS_W_WRITEBACK:
		return "HSET (write-back)";
	case REDIS_W_HSCAN:
		return "HSCAN";
	case REDIS_W_SET:
		return "SET";
	case REDIS_W_ZADD:
		return "ZADD";
	case REDIS_W_ZREM:
		return "ZREMRANGEBYSCORE";
	case REDIS_W_ZRANGE:
		return "ZRANGEBYSCORE";
	case REDIS_W_MGET:
		return "MGET";
	}
	return "?";
}

/* Drop the URL and its parts. */
static void
redis_forget_url(void)
{
	free(rd.url);
	rd.url = NULL;
	config_redis_url_clear(&rd.u);
	rd.bad = 0;
}

/* The URL to use: switch.redis, else fleet.redis, else NULL. */
static const char *
redis_url(void)
{
	return sl.conf->sw.redis != NULL ? sl.conf->sw.redis :
	    sl.conf->fleet.redis;
}

/* Take sl.conf's URL and connect; a bad URL stays down until a reload. */
static void
redis_begin(void)
{
	rd.url = xstrdup(redis_url());
	rd.with_switch = sl.conf->sw.redis != NULL;
	rd.backoff = 1;
	rd.outage = 0;
	if (rd.retry_ev == NULL)
		rd.retry_ev = evtimer_new(sl.base, redis_retry, NULL);
	if (rd.tick_ev == NULL) {
		struct timeval	 one = { 1, 0 };

		rd.tick_ev = event_new(sl.base, -1, EV_PERSIST, redis_tick,
		    NULL);
		event_add(rd.tick_ev, &one);
	}
	if (config_redis_url(rd.url, &rd.u) != 0) {
		rd.bad = 1;
		if (rd.with_switch)
			coins_error(COINS_ERR_REDIS);
		log_warnx("type=redis status=down reason=\"%s is "
		    "not redis://[:password@]host:port/db\"", rd.with_switch ?
		    "switch.redis" : "fleet.redis");
		return;
	}
	redis_connect();
}

/* Start: make this node's id, connect if switch.redis is set. */
void
redis_start(void)
{
	unsigned char	 r[8];
	size_t		 i;

	if (RAND_bytes(r, sizeof r) != 1) {
		uint64_t	 x = (uint64_t)getpid() << 32 ^
		    (uint64_t)time(NULL);

		memcpy(r, &x, sizeof r);
	}
	for (i = 0; i < sizeof r; i++)
		snprintf(rd.node + 2 * i, 3, "%02x", r[i]);
	if (redis_url() != NULL)
		redis_begin();
}

/* The config changed: a new URL reconnects, none disconnects. */
void
redis_reload(void)
{
	const char	*url = redis_url();

	/* The coins may have changed: warn again about unknown ones. */
	redis_warned_clear();
	/* Coin switching turned on or off: reconnect to sync (or not). */
	if (url != NULL && rd.url != NULL && strcmp(url, rd.url) == 0 &&
	    rd.with_switch == (sl.conf->sw.redis != NULL))
		return;
	if (rd.url != NULL) {
		redis_close();
		log_info("type=redis status=off server=%s reason=%s",
		    rd.u.where[0] != '\0' ? rd.u.where : "-",
		    url != NULL ? "changed" : "removed");
		redis_forget_url();
	}
	if (url != NULL)
		redis_begin();
	else
		redis_stop();
}

/* Shutdown (or no more switch.redis): close and free everything. */
void
redis_stop(void)
{
	redis_close();
	if (rd.retry_ev != NULL)
		event_free(rd.retry_ev);
	if (rd.tick_ev != NULL)
		event_free(rd.tick_ev);
	rd.retry_ev = rd.tick_ev = NULL;
	redis_forget_url();
	redis_warned_clear();
}

/* May a change be made here: is the map in step with Redis? */
int
redis_ready(void)
{
	return rd.state == REDIS_READY;
}

const char *
redis_state(void)
{
	if (sl.conf->sw.redis == NULL)
		return "off";
	return rd.state == REDIS_READY ? "connected" : "disconnected";
}

/* Resolve the host without blocking, unless it is an address. */
static void
redis_connect(void)
{
	struct evutil_addrinfo	 hints;
	struct in6_addr		 a6;
	struct in_addr		 a4;
	struct evdns_getaddrinfo_request *req;

	if (inet_pton(AF_INET, rd.u.host, &a4) == 1 ||
	    inet_pton(AF_INET6, rd.u.host, &a6) == 1) {
		redis_open(rd.u.host);
		return;
	}
	rd.state = REDIS_RESOLVING;
	rd.activity = sluice_now();
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* The answer may come at once, from inside the call. */
	rd.dns_waiting = 1;
	req = evdns_getaddrinfo(sl.dns, rd.u.host, NULL, &hints,
	    redis_dns_done, NULL);
	if (rd.dns_waiting)
		rd.dns = req;
}

/* The host's addresses: connect to the first. */
static void
redis_dns_done(int err, struct evutil_addrinfo *ai, void *arg)
{
	char	 ip[INET6_ADDRSTRLEN];
	void	*a;

	(void)arg;
	rd.dns_waiting = 0;
	rd.dns = NULL;
	if (err == EVUTIL_EAI_CANCEL || rd.state != REDIS_RESOLVING) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		return;
	}
	if (err != 0 || ai == NULL) {
		redis_fail("resolve", evutil_gai_strerror(err));
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		return;
	}
	if (ai->ai_family == AF_INET6)
		a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	else
		a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
	if (evutil_inet_ntop(ai->ai_family, a, ip, sizeof ip) == NULL)
		ip[0] = '\0';
	evutil_freeaddrinfo(ai);
	if (ip[0] == '\0') {
		redis_fail("resolve", "no address");
		return;
	}
	redis_open(ip);
}

/* Open both connections to ip and queue their first commands. */
static void
redis_open(const char *ip)
{
	const char	*err = NULL;
	const char	*sub[] = { "SUBSCRIBE", REDIS_CHANNEL, FLEET_BANS };

	rd.state = REDIS_CONNECTING;
	rd.activity = sluice_now();
	rd.pending = 0;
	if ((rd.cmd = redis_conn(ip, &err)) == NULL ||
	    (rd.sub = redis_conn(ip, &err)) == NULL) {
		redis_fail("connect", err);
		return;
	}
	log_debug("type=redis status=connecting server=%s address=%s",
	    rd.u.where, ip);
	redis_hello(rd.cmd);
	redis_hello(rd.sub);
	if (rd.state != REDIS_CONNECTING)
		return;
	/* Its first reply counts as the answer; messages do not. */
	if (redisAsyncCommandArgv(rd.sub, redis_sub_reply, NULL, 3, sub,
	    NULL) != REDIS_OK) {
		redis_fail("SUBSCRIBE", "cannot send");
		return;
	}
	rd.pending += 2;	/* one confirmation per channel */
}

/* One connection on the event loop; NULL and *err on failure. */
static redisAsyncContext *
redis_conn(const char *ip, const char **err)
{
	static char		 buf[128];
	redisAsyncContext	*ac;

	if ((ac = redisAsyncConnect(ip, rd.u.port)) == NULL) {
		*err = "out of memory";
		return NULL;
	}
	if (ac->err != 0) {
		xstrlcpy(buf, ac->errstr, sizeof buf);
		*err = buf;
		redisAsyncFree(ac);
		return NULL;
	}
	/* A server that vanishes without a word is found in seconds. */
	redisEnableKeepAlive(&ac->c);
	if (redisLibeventAttach(ac, sl.base) != REDIS_OK) {
		*err = "cannot attach to the event loop";
		redisAsyncFree(ac);
		return NULL;
	}
	redisAsyncSetConnectCallback(ac, redis_connected);
	redisAsyncSetDisconnectCallback(ac, redis_disconnected);
	return ac;
}

/* Send a command whose reply cb awaits; -1 (and failed) when it cannot. */
static int
redis_send(redisAsyncContext *ac, redisCallbackFn *cb, enum redis_what w,
    int argc, const char **argv)
{
	/* A failure earlier in this turn closed the link. */
	if (ac == NULL)
		return -1;
	if (redisAsyncCommandArgv(ac, cb, (void *)(intptr_t)w, argc, argv,
	    NULL) != REDIS_OK) {
		redis_fail(redis_what_text(w), "cannot send");
		return -1;
	}
	if (rd.pending++ == 0)
		rd.activity = sluice_now();
	return 0;
}

/* AUTH when the URL has a password, then SELECT its db. */
static void
redis_hello(redisAsyncContext *ac)
{
	const char	*auth[] = { "AUTH", rd.u.user, rd.u.password };
	const char	*select[] = { "SELECT", NULL };
	char		 db[16];

	if (rd.u.password != NULL) {
		if (rd.u.user != NULL) {
			if (redis_send(ac, redis_reply, REDIS_W_AUTH, 3,
			    auth) != 0)
				return;
		} else {
			auth[1] = rd.u.password;
			if (redis_send(ac, redis_reply, REDIS_W_AUTH, 2,
			    auth) != 0)
				return;
		}
	}
	snprintf(db, sizeof db, "%d", rd.u.db);
	select[1] = db;
	redis_send(ac, redis_reply, REDIS_W_SELECT, 2, select);
}

/*
 * A connection is open or failed. On failure hiredis frees it when this
 * returns: forget it, then fail (which frees the other).
 */
static void
redis_connected(const redisAsyncContext *ac, int status)
{
	char	 why[128];

	if (ac != rd.cmd && ac != rd.sub)
		return;
	if (status == REDIS_OK) {
		log_debug("type=redis status=open server=%s conn=%s",
		    rd.u.where, ac == rd.cmd ? "cmd" : "sub");
		return;
	}
	xstrlcpy(why, ac->errstr[0] != '\0' ? ac->errstr : "connect failed",
	    sizeof why);
	if (ac == rd.cmd)
		rd.cmd = NULL;
	else
		rd.sub = NULL;
	redis_fail("connect", why);
}

/* hiredis is freeing a connection (the server closed it, or an error). */
static void
redis_disconnected(const redisAsyncContext *ac, int status)
{
	char	 why[128];

	if (ac != rd.cmd && ac != rd.sub)
		return;
	xstrlcpy(why, status != REDIS_OK && ac->errstr[0] != '\0' ?
	    ac->errstr : "connection closed", sizeof why);
	if (ac == rd.cmd)
		rd.cmd = NULL;
	else
		rd.sub = NULL;
	redis_fail("connection", why);
}

/* A reply came: the link is alive. */
static void
redis_answered(void)
{
	if (rd.pending > 0)
		rd.pending--;
	rd.activity = sluice_now();
}

/* The reply to AUTH, SELECT, PING or a publish: an error fails the link. */
static void
redis_reply(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = (redisReply *)r;
	enum redis_what	 w = (enum redis_what)(intptr_t)arg;
	size_t		 i;

	if (ac != rd.cmd && ac != rd.sub)
		return;
	if (reply == NULL)
		return;
	redis_answered();
	if (reply->type == REDIS_REPLY_ERROR) {
		redis_fail(redis_what_text(w), reply->str);
		return;
	}
	/* EXEC: each queued command's result; nil when it was discarded. */
	if (w == REDIS_W_EXEC) {
		if (reply->type != REDIS_REPLY_ARRAY) {
			redis_fail("EXEC", "transaction discarded");
			return;
		}
		for (i = 0; i < reply->elements; i++) {
			if (reply->element[i]->type == REDIS_REPLY_ERROR) {
				redis_fail("EXEC", reply->element[i]->str);
				return;
			}
		}
	}
}

/*
 * The subscribed connection: first the confirmation, which starts the
 * sync, then the messages of the channel.
 */
static void
redis_sub_reply(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = (redisReply *)r, **e;

	(void)arg;
	if (ac != rd.sub || reply == NULL)
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	e = reply->element;
	if (strcasecmp(e[0]->str, "subscribe") == 0) {
		redis_answered();
		if (rd.state == REDIS_CONNECTING && !rd.with_switch)
			redis_up();
		else if (rd.state == REDIS_CONNECTING) {
			rd.state = REDIS_SYNCING;
			rd.wrote_back = 0;
			rd.rescan = 0;
			redis_scan_start();
		}
		return;
	}
	if (strcasecmp(e[0]->str, "message") != 0 ||
	    e[1]->type != REDIS_REPLY_STRING ||
	    e[2]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(e[1]->str, FLEET_BANS) == 0)
		fleet_ban_message(e[2]->str, e[2]->len);
	else if (rd.with_switch)
		redis_message(e[2]->str, e[2]->len);
}

/* Read the hash from its start. */
static void
redis_scan_start(void)
{
	free(rd.scan.buf);
	memset(&rd.scan, 0, sizeof rd.scan);
	rd.scan_seen = 0;
	xstrlcpy(rd.cursor, "0", sizeof rd.cursor);
	redis_scan();
}

/* Ask for the next page of the hash. */
static void
redis_scan(void)
{
	const char	*argv[] = { "HSCAN", REDIS_HASH, rd.cursor, "COUNT",
			    REDIS_SCAN_COUNT };

	redis_send(rd.cmd, redis_scan_reply, REDIS_W_HSCAN, 5, argv);
}

/* A page of the hash: [cursor, [field, value, ...]]. */
static void
redis_scan_reply(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply		*reply = (redisReply *)r, *page, *f, *v;
	struct redis_pairs	*s = &rd.scan;
	size_t			 i, need;

	(void)arg;
	if (ac != rd.cmd || reply == NULL)
		return;
	redis_answered();
	if (reply->type == REDIS_REPLY_ERROR) {
		redis_fail("HSCAN", reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY ||
	    reply->element[0]->len >= sizeof rd.cursor) {
		redis_fail("HSCAN", "unexpected reply");
		return;
	}
	page = reply->element[1];
	for (i = 0; i + 1 < page->elements; i += 2) {
		f = page->element[i];
		v = page->element[i + 1];
		if (f->type != REDIS_REPLY_STRING ||
		    v->type != REDIS_REPLY_STRING)
			continue;
		rd.scan_seen++;
		/* Too long to be valid: coins_check would refuse it. */
		if (f->len > COINS_PUNAME_MAX || v->len > 64 ||
		    strlen(f->str) != f->len || strlen(v->str) != v->len) {
			redis_keep(NULL, NULL);
			continue;
		}
		if (s->n >= REDIS_SYNC_MAX)
			continue;
		need = f->len + v->len + 2;
		if (s->len + need > s->cap) {
			s->cap = s->cap == 0 ? 4096 : s->cap;
			while (s->len + need > s->cap)
				s->cap *= 2;
			s->buf = (char *)xrealloc(s->buf, s->cap);
		}
		memcpy(s->buf + s->len, f->str, f->len + 1);
		s->len += f->len + 1;
		memcpy(s->buf + s->len, v->str, v->len + 1);
		s->len += v->len + 1;
		s->n++;
	}
	xstrlcpy(rd.cursor, reply->element[0]->str, sizeof rd.cursor);
	if (strcmp(rd.cursor, "0") != 0)
		redis_scan();
	else
		redis_scan_done();
}

/*
 * The whole hash is read: apply it as one change (entries this node
 * cannot take are skipped), then what came meanwhile, and be ready. An
 * empty hash while this node holds a map is Redis back without its
 * data: write the map back and read again.
 */
static void
redis_scan_done(void)
{
	struct redis_pairs	*s = &rd.scan;
	struct coins_change	*ch;
	const char		*p;
	size_t			 i, n = 0;
	int			 err;

	if (rd.scan_seen == 0 && coins_users() > 0 && !rd.wrote_back) {
		rd.wrote_back = 1;
		log_info("type=redis status=write_back server=%s users=%zu "
		    "reason=\"the hash is empty\"", rd.u.where, coins_users());
		redis_write_back();
		if (rd.state == REDIS_SYNCING)
			redis_scan_start();
		return;
	}
	if (s->n > 0) {
		ch = XCALLOC(struct coins_change, s->n);
		for (p = s->buf, i = 0; i < s->n; i++) {
			ch[n].puname = p;
			p += strlen(p) + 1;
			ch[n].coin = p;
			p += strlen(p) + 1;
			if (redis_keep(ch[n].puname, ch[n].coin))
				n++;
		}
		if (n > 0 && (err = coins_apply(ch, n, COINS_SRC_REDIS)) !=
		    COINS_OK)
			log_warnx("type=redis status=sync_refused server=%s "
			    "entries=%zu reason=\"%s\"", rd.u.where, n,
			    coins_err_text(err));
		free(ch);
	}
	free(s->buf);
	memset(s, 0, sizeof *s);
	if (rd.rescan) {
		/* Messages were lost while reading: read it all again. */
		rd.rescan = 0;
		redis_scan_start();
		return;
	}
	for (i = 0; i < rd.nqueue; i++)
		redis_message_apply(rd.queue[i].text, rd.queue[i].len);
	redis_queue_clear();
	redis_up();
}

/* In step (or nothing to sync): ready; tell the fleet. */
static void
redis_up(void)
{
	rd.state = REDIS_READY;
	rd.backoff = 1;
	rd.outage = 0;
	log_info("type=redis status=up server=%s entries=%zu users=%zu "
	    "node=%s", rd.u.where, rd.scan_seen, coins_users(), rd.node);
	fleet_redis_up();
}

/* HSET this node's whole map, REDIS_CHUNK pairs a command. */
static void
redis_write_back(void)
{
	struct redis_batch	 b;

	b.argv[0] = "HSET";
	b.argv[1] = REDIS_HASH;
	b.argc = 2;
	b.failed = 0;
	coins_foreach(redis_write_one, &b);
	if (!b.failed && b.argc > 2)
		redis_send(rd.cmd, redis_reply, REDIS_W_WRITEBACK, b.argc,
		    b.argv);
}

/* One entry of the map into the batch; send the batch when it is full. */
static void
redis_write_one(const char *puname, const char *coin, void *arg)
{
	struct redis_batch	*b = (struct redis_batch *)arg;

	/* coins_foreach cannot stop: after a failure, skip the rest. */
	if (b->failed)
		return;
	b->argv[b->argc++] = puname;
	b->argv[b->argc++] = coin;
	if (b->argc < 2 + 2 * REDIS_CHUNK)
		return;
	if (redis_send(rd.cmd, redis_reply, REDIS_W_WRITEBACK, b->argc,
	    b->argv) != 0)
		b->failed = 1;
	b->argc = 2;
}

/* A message on the channel: apply it, or keep it while syncing. */
static void
redis_message(const char *text, size_t len)
{
	struct redis_msg	*m;

	if (rd.state == REDIS_READY) {
		redis_message_apply(text, len);
		return;
	}
	if (rd.state != REDIS_SYNCING || rd.rescan)
		return;
	if (rd.queue_bytes + len > REDIS_QUEUE_MAX) {
		redis_queue_clear();
		rd.rescan = 1;
		return;
	}
	if (rd.nqueue == rd.queue_cap) {
		rd.queue_cap = rd.queue_cap == 0 ? 16 : rd.queue_cap * 2;
		rd.queue = (struct redis_msg *)xrealloc(rd.queue,
		    rd.queue_cap * sizeof *rd.queue);
	}
	m = &rd.queue[rd.nqueue++];
	m->text = xstrndup(text, len);
	m->len = len;
	rd.queue_bytes += len;
}

/*
 * Apply another node's change: {"node":..., "user_coin":{puname: coin}}.
 * This node's own messages come back too and are ignored.
 */
static void
redis_message_apply(const char *text, size_t len)
{
	json_t			*o, *uc, *v;
	json_error_t		 jerr;
	struct coins_change	*ch;
	const char		*node, *key;
	size_t			 n = 0;
	int			 err;

	if ((o = json_loadb(text, len, 0, &jerr)) == NULL) {
		log_debug("type=redis status=bad_message reason=\"%s\"",
		    log_esc(jerr.text));
		return;
	}
	node = json_string_value(json_object_get(o, "node"));
	uc = json_object_get(o, "user_coin");
	if (node == NULL || !json_is_object(uc)) {
		log_debug("type=redis status=bad_message reason=\"no node or "
		    "user_coin\"");
		json_decref(o);
		return;
	}
	if (strcmp(node, rd.node) == 0 || json_object_size(uc) == 0) {
		json_decref(o);
		return;
	}
	ch = XCALLOC(struct coins_change, json_object_size(uc));
	json_object_foreach(uc, key, v) {
		if (!redis_keep(key, json_string_value(v)))
			continue;
		ch[n].puname = key;
		ch[n].coin = json_string_value(v);
		n++;
	}
	if (n > 0) {
		err = coins_apply(ch, n, COINS_SRC_REDIS);
		log_debug("type=redis status=applied node=%s users=%zu "
		    "result=%d", log_word(node), n, err);
		if (err != COINS_OK)
			log_warnx("type=redis status=refused node=%s "
			    "users=%zu reason=\"%s\"", log_word(node), n,
			    coins_err_text(err));
	}
	free(ch);
	json_decref(o);
}

/*
 * Can this node take the entry? A coin it does not have is skipped with
 * one warning per coin name; a bad puname or coin with one warning.
 */
static int
redis_keep(const char *puname, const char *coin)
{
	size_t	 i;
	int	 err = puname == NULL ? COINS_E_PUNAME_INVALID :
		    coins_check(puname, coin);

	if (err == COINS_OK)
		return 1;
	if (err != COINS_E_COIN_UNKNOWN) {
		if (!rd.warned_bad)
			log_warnx("type=redis status=skipped reason=\"%s\" "
			    "note=\"warned once\"", coins_err_text(err));
		rd.warned_bad = 1;
		return 0;
	}
	for (i = 0; i < rd.nwarned; i++) {
		if (strcmp(rd.warned[i], coin) == 0)
			return 0;
	}
	if (rd.nwarned < REDIS_WARNED_MAX)
		rd.warned[rd.nwarned++] = xstrdup(coin);
	log_warnx("type=redis status=skipped coin=%s reason=\"no such coin "
	    "here\"", log_word(coin));
	return 0;
}

/* Forget the coins warned about (at reload and stop). */
static void
redis_warned_clear(void)
{
	size_t	 i;

	for (i = 0; i < rd.nwarned; i++)
		free(rd.warned[i]);
	rd.nwarned = 0;
	rd.warned_bad = 0;
}

static void
redis_queue_clear(void)
{
	size_t	 i;

	for (i = 0; i < rd.nqueue; i++)
		free(rd.queue[i].text);
	free(rd.queue);
	rd.queue = NULL;
	rd.nqueue = rd.queue_cap = rd.queue_bytes = 0;
}

/*
 * Store changes made here in the hash and publish them, in one
 * MULTI/EXEC so that neither happens without the other. 0 when sent
 * (a failure later is counted and resyncs), -1 when not ready.
 */
int
redis_publish(const struct coins_change *ch, size_t n)
{
	const char	*argv[2 + 2 * REDIS_CHUNK], *one[2];
	json_t		*o, *uc;
	char		*msg;
	size_t		 i;
	int		 argc;

	if (rd.state != REDIS_READY || n == 0)
		return rd.state == REDIS_READY ? 0 : -1;
	uc = json_object();
	for (i = 0; i < n; i++)
		json_object_set_new(uc, ch[i].puname, json_string(ch[i].coin));
	o = json_object();
	json_object_set_new(o, "node", json_string(rd.node));
	json_object_set_new(o, "user_coin", uc);
	msg = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (msg == NULL)
		return -1;

	one[0] = "MULTI";
	if (redis_send(rd.cmd, redis_reply, REDIS_W_MULTI, 1, one) != 0)
		goto fail;
	argv[0] = "HSET";
	argv[1] = REDIS_HASH;
	for (i = 0, argc = 2; i < n; i++) {
		argv[argc++] = ch[i].puname;
		argv[argc++] = ch[i].coin;
		if (argc == 2 + 2 * REDIS_CHUNK || i + 1 == n) {
			if (redis_send(rd.cmd, redis_reply, REDIS_W_HSET, argc,
			    argv) != 0)
				goto fail;
			argc = 2;
		}
	}
	argv[0] = "PUBLISH";
	argv[1] = REDIS_CHANNEL;
	argv[2] = msg;
	if (redis_send(rd.cmd, redis_reply, REDIS_W_PUBLISH, 3, argv) != 0)
		goto fail;
	one[0] = "EXEC";
	if (redis_send(rd.cmd, redis_reply, REDIS_W_EXEC, 1, one) != 0)
		goto fail;
	free(msg);
	return 0;
fail:
	free(msg);
	return -1;
}

/*
 * The link failed: say so once per outage, count it, close both
 * connections and retry after the backoff.
 */
static void
redis_fail(const char *what, const char *why)
{
	struct timeval	 tv = { rd.backoff, 0 };

	if (rd.state == REDIS_DOWN)
		return;
	if (rd.with_switch)
		coins_error(COINS_ERR_REDIS);
	if (!rd.outage) {
		log_warnx("type=redis status=down server=%s what=%s "
		    "reason=\"%s\" retry=%ds", rd.u.where, log_word(what),
		    log_esc(why != NULL ? why : "?"), rd.backoff);
		rd.outage = 1;
	} else {
		log_debug("type=redis status=retry_failed server=%s what=%s "
		    "reason=\"%s\" retry=%ds", rd.u.where, log_word(what),
		    log_esc(why != NULL ? why : "?"), rd.backoff);
	}
	redis_close();
	evtimer_add(rd.retry_ev, &tv);
	rd.backoff = rd.backoff * 2 > REDIS_BACKOFF_MAX ? REDIS_BACKOFF_MAX :
	    rd.backoff * 2;
}

/*
 * Close both connections and drop what a sync held; the state is down.
 * Safe from inside a callback of either (hiredis defers the free).
 */
static void
redis_close(void)
{
	redisAsyncContext			*ac;
	struct evdns_getaddrinfo_request	*req;

	rd.state = REDIS_DOWN;
	if ((req = rd.dns) != NULL) {
		rd.dns = NULL;
		evdns_getaddrinfo_cancel(req);
	}
	if ((ac = rd.cmd) != NULL) {
		rd.cmd = NULL;
		redisAsyncFree(ac);
	}
	if ((ac = rd.sub) != NULL) {
		rd.sub = NULL;
		redisAsyncFree(ac);
	}
	if (rd.retry_ev != NULL)
		evtimer_del(rd.retry_ev);
	rd.pending = 0;
	rd.fleet_reading = 0;
	free(rd.scan.buf);
	memset(&rd.scan, 0, sizeof rd.scan);
	redis_queue_clear();
}

/* The backoff is over: try again. */
static void
redis_retry(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	if (rd.state == REDIS_DOWN && rd.url != NULL && !rd.bad)
		redis_connect();
}

/*
 * Once a second: a command unanswered for REDIS_TIMEOUT fails the link
 * (a server that stopped answering but keeps its sockets); an idle ready
 * link sends a PING so that this is noticed without traffic.
 */
static void
redis_tick(evutil_socket_t fd, short events, void *arg)
{
	const char	*ping[] = { "PING" };
	time_t		 now = sluice_now();

	(void)fd;
	(void)events;
	(void)arg;
	if (rd.state == REDIS_DOWN)
		return;
	if ((rd.pending > 0 || rd.state != REDIS_READY) &&
	    now - rd.activity >= REDIS_TIMEOUT) {
		redis_fail(rd.state == REDIS_RESOLVING ? "resolve" : "timeout",
		    "no answer in time");
		return;
	}
	if (rd.state == REDIS_READY && rd.pending == 0 &&
	    now - rd.activity >= REDIS_PING_IDLE)
		redis_send(rd.cmd, redis_reply, REDIS_W_PING, 1, ping);
}

/* May the fleet use the link? */
int
redis_fleet_ready(void)
{
	return rd.state == REDIS_READY;
}

/* This node's id in the messages (random, per process). */
const char *
redis_node(void)
{
	return rd.node;
}

/*
 * Write a node's summary: SET sluice:node:NAME with its expiry, its name
 * in the index scored by the time, and the names older than the expiry
 * out of the index; in one MULTI/EXEC.
 */
int
redis_fleet_put(const char *name, const char *json, int ttl)
{
	const char	*argv[5];
	char		 key[sizeof FLEET_KEY + 320], ex[16], now[24], old[24];
	time_t		 t = time(NULL);

	if (rd.state != REDIS_READY || strlen(name) > 300)
		return -1;
	snprintf(key, sizeof key, "%s%s", FLEET_KEY, name);
	snprintf(ex, sizeof ex, "%d", ttl);
	snprintf(now, sizeof now, "%lld", (long long)t);
	snprintf(old, sizeof old, "(%lld", (long long)t - ttl);
	argv[0] = "MULTI";
	if (redis_send(rd.cmd, redis_reply, REDIS_W_MULTI, 1, argv) != 0)
		return -1;
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = json;
	argv[3] = "EX";
	argv[4] = ex;
	if (redis_send(rd.cmd, redis_reply, REDIS_W_SET, 5, argv) != 0)
		return -1;
	argv[0] = "ZADD";
	argv[1] = FLEET_INDEX;
	argv[2] = now;
	argv[3] = name;
	if (redis_send(rd.cmd, redis_reply, REDIS_W_ZADD, 4, argv) != 0)
		return -1;
	argv[0] = "ZREMRANGEBYSCORE";
	argv[2] = "-inf";
	argv[3] = old;
	if (redis_send(rd.cmd, redis_reply, REDIS_W_ZREM, 4, argv) != 0)
		return -1;
	argv[0] = "EXEC";
	return redis_send(rd.cmd, redis_reply, REDIS_W_EXEC, 1, argv);
}

/*
 * Read the summaries alive: the names seen within FLEET_TTL from the
 * index (max at most), then their keys; fleet_nodes() gets them. One
 * read at a time.
 */
int
redis_fleet_get(size_t max)
{
	const char	*argv[7];
	char		 min[24], lim[24];

	if (rd.state != REDIS_READY || rd.fleet_reading)
		return -1;
	snprintf(min, sizeof min, "%lld", (long long)time(NULL) - FLEET_TTL);
	snprintf(lim, sizeof lim, "%zu", max);
	argv[0] = "ZRANGEBYSCORE";
	argv[1] = FLEET_INDEX;
	argv[2] = min;
	argv[3] = "+inf";
	argv[4] = "LIMIT";
	argv[5] = "0";
	argv[6] = lim;
	if (redis_send(rd.cmd, redis_fleet_names, REDIS_W_ZRANGE, 7,
	    argv) != 0)
		return -1;
	rd.fleet_reading = 1;
	return 0;
}

/* The names alive: MGET their summaries. */
static void
redis_fleet_names(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = (redisReply *)r;
	const char	*argv[1 + FLEET_MAX];
	char		*keys[FLEET_MAX];
	size_t		 i, n = 0;

	(void)arg;
	if (ac != rd.cmd || reply == NULL)
		return;
	redis_answered();
	if (reply->type == REDIS_REPLY_ERROR) {
		redis_fail("ZRANGEBYSCORE", reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY) {
		redis_fail("ZRANGEBYSCORE", "unexpected reply");
		return;
	}
	for (i = 0; i < reply->elements && n < FLEET_MAX; i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING ||
		    reply->element[i]->len > 300)
			continue;
		keys[n] = (char *)xmalloc(sizeof FLEET_KEY +
		    reply->element[i]->len);
		snprintf(keys[n], sizeof FLEET_KEY + reply->element[i]->len,
		    "%s%s", FLEET_KEY, reply->element[i]->str);
		n++;
	}
	if (n == 0) {
		rd.fleet_reading = 0;
		fleet_nodes(NULL, NULL, 0);
		return;
	}
	argv[0] = "MGET";
	for (i = 0; i < n; i++)
		argv[1 + i] = keys[i];
	if (redis_send(rd.cmd, redis_fleet_values, REDIS_W_MGET, (int)n + 1,
	    argv) != 0)
		rd.fleet_reading = 0;
	for (i = 0; i < n; i++)
		free(keys[i]);
}

/* The summaries: nil for a key that expired since. */
static void
redis_fleet_values(redisAsyncContext *ac, void *r, void *arg)
{
	redisReply	*reply = (redisReply *)r;
	const char	*json[FLEET_MAX];
	size_t		 len[FLEET_MAX], i, n = 0;

	(void)arg;
	if (ac != rd.cmd || reply == NULL)
		return;
	redis_answered();
	rd.fleet_reading = 0;
	if (reply->type == REDIS_REPLY_ERROR) {
		redis_fail("MGET", reply->str);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY) {
		redis_fail("MGET", "unexpected reply");
		return;
	}
	for (i = 0; i < reply->elements && n < FLEET_MAX; i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING)
			continue;
		json[n] = reply->element[i]->str;
		len[n] = reply->element[i]->len;
		n++;
	}
	fleet_nodes(json, len, n);
}

/* PUBLISH a ban on sluice:ban. */
int
redis_fleet_ban(const char *json)
{
	const char	*argv[] = { "PUBLISH", FLEET_BANS, json };

	if (rd.state != REDIS_READY)
		return -1;
	return redis_send(rd.cmd, redis_reply, REDIS_W_PUBLISH, 3, argv);
}
