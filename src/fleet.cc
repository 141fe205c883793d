/*
 * fleet.cc: sluice nodes that know of each other through Redis, with no
 * protocol of their own (fleet.h). With fleet.redis set, on redis.cc's
 * connection (the one coin switching uses when both are set):
 *
 *  - every FLEET_PUBLISH seconds, and as soon as the link comes up, this
 *    node's summary is SET under sluice:node:NAME with EX FLEET_TTL and
 *    its name scored by the time in the sorted set sluice:nodes (old
 *    names are pruned from it by every write). NAME is api.worker-id,
 *    else hostname:port of the first stratum bind;
 *  - every second the summaries alive are read (ZRANGEBYSCORE, MGET, at
 *    most FLEET_MAX) into a cache that GET /1/fleet shows, this node's
 *    entry fresh; a node that stops is gone once its key expires;
 *  - with fleet.share-bans (default true), each ban the rate limiter or
 *    Lua makes here is published on sluice:ban as
 *    {"node":ID,"ip":IP,"seconds":N}, and the bans of the other nodes
 *    are applied as they come (never shortening one held here).
 *
 * Redis down: the node goes on alone (/1/fleet shows itself), redis.cc
 * warns once; when it is back the summary is written again at once and
 * the bans made here meanwhile that still run are published.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fleet.h"
#include "ratelimit.h"
#include "redis.h"
#include "stats.h"
#include "upstream.h"
#include "workers.h"

#define FLEET_BANS_KEPT		1024	/* bans made here, for a resync */
#define FLEET_BAN_MAX		(366 * 86400)	/* s a shared ban may last */

/* A ban made here: published again when Redis comes back. */
struct fleet_ban {
	char		 ip[64];
	int64_t		 until_ms;
};

static struct {
	json_t		*nodes;		/* the last read, sorted by name */
	time_t		 published;	/* monotonic s of the last write */
	time_t		 read;		/* ... of the last read */
	struct fleet_ban bans[FLEET_BANS_KEPT];
	size_t		 nbans;		/* next slot (a ring) */
	uint64_t	 shared_in;	/* bans applied from other nodes */
	uint64_t	 shared_out;	/* bans published */
} fl;

static void	 fleet_name(char *, size_t);
static json_t	*fleet_self(int64_t);
static void	 fleet_publish(void);
static void	 fleet_ban_hook(const char *, int);
static void	 fleet_ban_send(const char *, int);
static int	 fleet_on(void);

/* Is the fleet configured? */
static int
fleet_on(void)
{
	return sl.conf->fleet.redis != NULL;
}

/* This node's name: api.worker-id, else hostname:port. */
static void
fleet_name(char *buf, size_t len)
{
	char	 host[256];

	if (sl.conf->api_worker_id != NULL) {
		xstrlcpy(buf, sl.conf->api_worker_id, len);
		return;
	}
	if (gethostname(host, sizeof host) != 0)
		xstrlcpy(host, "sluice", sizeof host);
	host[sizeof host - 1] = '\0';
	snprintf(buf, len, "%s:%d", host, sl.conf->nbinds > 0 ?
	    sl.conf->binds[0].port : 0);
}

/* Start: hear of the bans made here. */
void
fleet_start(void)
{
	ratelimit_set_ban_hook(fleet_ban_hook);
}

/* Shutdown: forget the cache. */
void
fleet_stop(void)
{
	ratelimit_set_ban_hook(NULL);
	if (fl.nodes != NULL)
		json_decref(fl.nodes);
	fl.nodes = NULL;
}

/* This node's summary, as the others read it. */
static json_t *
fleet_self(int64_t now_ms)
{
	json_t		*o, *h, *u;
	uint64_t	 active, sleep, error, total;
	char		 name[320];
	int		 i;

	fleet_name(name, sizeof name);
	splitter_upstreams(&active, &sleep, &error, &total);
	o = json_object();
	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "version", json_string(SLUICE_VERSION));
	json_object_set_new(o, "uptime", json_integer(
	    stats_uptime_ms(now_ms) / 1000));
	json_object_set_new(o, "miners", json_integer(
	    (json_int_t)sl_stats.miners_now));
	json_object_set_new(o, "workers", json_integer(
	    (json_int_t)workers_count()));
	u = json_object();
	json_object_set_new(u, "active", json_integer((json_int_t)active));
	json_object_set_new(u, "total", json_integer((json_int_t)total));
	json_object_set_new(o, "upstreams", u);
	h = json_array();
	for (i = 0; i < STATS_NWINDOWS; i++)
		json_array_append_new(h, json_real(floor(stats_hashrate(
		    (enum stats_window)i, now_ms) / 1000.0 * 100.0 + 0.5) /
		    100.0));
	json_object_set_new(o, "hashrate", h);
	json_object_set_new(o, "accepted", json_integer(
	    (json_int_t)sl_stats.accepted));
	json_object_set_new(o, "rejected", json_integer(
	    (json_int_t)sl_stats.rejected));
	json_object_set_new(o, "seen", json_integer((json_int_t)time(NULL)));
	return o;
}

/* Write this node's summary. */
static void
fleet_publish(void)
{
	json_t	*o = fleet_self(stats_clock_ms());
	char	*s = json_dumps(o, JSON_COMPACT);

	if (s != NULL && redis_fleet_put(json_string_value(json_object_get(o,
	    "name")), s, FLEET_TTL) == 0)
		fl.published = sl.now;
	free(s);
	json_decref(o);
}

/* Once a second: write the summary when due, read the others. */
void
fleet_tick(time_t now)
{
	if (!fleet_on())
		return;
	if (!redis_fleet_ready())
		return;
	if (fl.published == 0 || now - fl.published >= FLEET_PUBLISH)
		fleet_publish();
	if (now != fl.read && redis_fleet_get(FLEET_MAX) == 0)
		fl.read = now;
}

/* The link is up (again): write at once, publish the bans still on. */
void
fleet_redis_up(void)
{
	int64_t	 now = sluice_mono_ms();
	size_t	 i;

	if (!fleet_on())
		return;
	fleet_publish();
	if (redis_fleet_get(FLEET_MAX) == 0)
		fl.read = sl.now;
	if (!sl.conf->fleet.share_bans)
		return;
	for (i = 0; i < FLEET_BANS_KEPT; i++) {
		if (fl.bans[i].ip[0] != '\0' && fl.bans[i].until_ms > now)
			fleet_ban_send(fl.bans[i].ip, (int)((fl.bans[i].until_ms
			    - now + 999) / 1000));
	}
}

/* The rate limiter or Lua banned ip here: keep it, publish it. */
static void
fleet_ban_hook(const char *ip, int seconds)
{
	struct fleet_ban	*b;

	if (!fleet_on() || !sl.conf->fleet.share_bans)
		return;
	b = &fl.bans[fl.nbans++ % FLEET_BANS_KEPT];
	xstrlcpy(b->ip, ip, sizeof b->ip);
	b->until_ms = sluice_mono_ms() + (int64_t)seconds * 1000;
	fleet_ban_send(ip, seconds);
}

/* PUBLISH one ban; lost while Redis is down (fleet_redis_up resends). */
static void
fleet_ban_send(const char *ip, int seconds)
{
	json_t	*o;
	char	*s;

	if (!redis_fleet_ready())
		return;
	o = json_pack("{s:s, s:s, s:i}", "node", redis_node(), "ip", ip,
	    "seconds", seconds);
	if (o == NULL)
		return;
	if ((s = json_dumps(o, JSON_COMPACT)) != NULL &&
	    redis_fleet_ban(s) == 0)
		fl.shared_out++;
	free(s);
	json_decref(o);
}

/* A ban on the channel: apply another node's. */
void
fleet_ban_message(const char *text, size_t len)
{
	json_t		*o;
	json_error_t	 jerr;
	const char	*node, *ip;
	unsigned char	 a[16];
	json_int_t	 seconds;

	if (!fleet_on() || !sl.conf->fleet.share_bans || len > 1024)
		return;
	if ((o = json_loadb(text, len, 0, &jerr)) == NULL)
		return;
	node = json_string_value(json_object_get(o, "node"));
	ip = json_string_value(json_object_get(o, "ip"));
	seconds = json_integer_value(json_object_get(o, "seconds"));
	if (node == NULL || ip == NULL || strlen(ip) >= 64 ||
	    (inet_pton(AF_INET, ip, a) != 1 && inet_pton(AF_INET6, ip, a) !=
	    1) || seconds <= 0 || seconds > FLEET_BAN_MAX) {
		log_debug("type=fleet status=bad_ban");
		json_decref(o);
		return;
	}
	if (strcmp(node, redis_node()) != 0) {
		fl.shared_in++;
		if (ratelimit_ban_shared(ip, (int)seconds, sluice_mono_ms()))
			log_info("type=ip_banned ip=%s seconds=%d reason=fleet "
			    "node=%s", ip, (int)seconds, log_word(node));
	}
	json_decref(o);
}

/* Sort the nodes by name. */
static int
fleet_cmp(const void *a, const void *b)
{
	const char	*x = json_string_value(json_object_get(
			    *(json_t *const *)a, "name"));
	const char	*y = json_string_value(json_object_get(
			    *(json_t *const *)b, "name"));

	return strcmp(x, y);
}

/* The summaries read: keep those that look like one. */
void
fleet_nodes(const char *const *json, const size_t *len, size_t n)
{
	json_t		*v[FLEET_MAX], *o;
	json_error_t	 jerr;
	size_t		 i, k = 0;

	for (i = 0; i < n && k < FLEET_MAX; i++) {
		if (json[i] == NULL || len[i] > 16384)
			continue;
		if ((o = json_loadb(json[i], len[i], 0, &jerr)) == NULL)
			continue;
		if (!json_is_object(o) || !json_is_string(json_object_get(o,
		    "name"))) {
			json_decref(o);
			continue;
		}
		v[k++] = o;
	}
	qsort(v, k, sizeof v[0], fleet_cmp);
	if (fl.nodes != NULL)
		json_decref(fl.nodes);
	fl.nodes = json_array();
	for (i = 0; i < k; i++)
		json_array_append_new(fl.nodes, v[i]);
}

/* Add a node's number member into the total's. */
static void
fleet_sum(json_t *total, json_t *node, const char *key)
{
	json_int_t	 a = json_integer_value(json_object_get(total, key));

	json_object_set_new(total, key, json_integer(a +
	    json_integer_value(json_object_get(node, key))));
}

/*
 * GET /1/fleet: the nodes alive and their totals. This node's entry is
 * its own fresh summary; with Redis down it is the only one. Without
 * fleet.redis there are no nodes.
 */
json_t *
fleet_json(int64_t now_ms)
{
	json_t		*o, *nodes, *total, *hr, *n, *self = NULL;
	const char	*name;
	double		 h[STATS_NWINDOWS] = { 0 };
	size_t		 i;
	int		 j, have = 0;

	nodes = json_array();
	if (fleet_on()) {
		self = fleet_self(now_ms);
		name = json_string_value(json_object_get(self, "name"));
		if (redis_fleet_ready() && fl.nodes != NULL) {
			json_array_foreach(fl.nodes, i, n) {
				if (strcmp(json_string_value(json_object_get(n,
				    "name")), name) == 0) {
					json_array_append(nodes, self);
					have = 1;
				} else
					json_array_append(nodes, n);
			}
		}
		if (!have)
			json_array_append(nodes, self);
		json_decref(self);
	}
	total = json_object();
	json_object_set_new(total, "nodes", json_integer(
	    (json_int_t)json_array_size(nodes)));
	json_object_set_new(total, "miners", json_integer(0));
	json_object_set_new(total, "workers", json_integer(0));
	json_object_set_new(total, "accepted", json_integer(0));
	json_object_set_new(total, "rejected", json_integer(0));
	json_array_foreach(nodes, i, n) {
		fleet_sum(total, n, "miners");
		fleet_sum(total, n, "workers");
		fleet_sum(total, n, "accepted");
		fleet_sum(total, n, "rejected");
		hr = json_object_get(n, "hashrate");
		for (j = 0; j < STATS_NWINDOWS; j++)
			h[j] += json_number_value(json_array_get(hr,
			    (size_t)j));
	}
	hr = json_array();
	for (j = 0; j < STATS_NWINDOWS; j++)
		json_array_append_new(hr, json_real(floor(h[j] * 100 + 0.5) /
		    100));
	json_object_set_new(total, "hashrate", hr);
	o = json_object();
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "total", total);
	return o;
}
