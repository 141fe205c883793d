/*
 * test_fleet.cc: several sluice processes on one port (reuse-port) and
 * their view of each other through Redis (src/fleet.cc).
 *
 * Two processes bind the same port with reuse-port, each with its own
 * API port and name (api.worker-id), sharing a redis-server the test
 * starts. Miners connect to the port; the kernel spreads them. GET
 * /1/fleet on either node lists both, with the right totals; after one
 * is killed (SIGKILL: it says nothing) it drops out of the other's view
 * once its summary expires (30 s). A node whose Redis goes away shows
 * itself alone, and comes back to the fleet when Redis does.
 *
 * No sleeps: every wait is on a socket, a log line or an API value,
 * against a deadline.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rserver.h"

#define WAIT_MS		5000
#define NMINERS		8

TestSuite(fleet, .timeout = 120);

/* A node's config: the shared port with reuse-port, its API and name. */
static char *
fleet_config(int bind, int pool, int http, const char *name, int redis)
{
	char	*cfg;

	cr_assert(asprintf(&cfg, "{\"mode\":\"nicehash\",\"watch\":false,"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"WALLET\","
	    "\"pass\":\"x\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"reuse-port\":true,"
	    "\"http\":{\"enabled\":true,\"host\":\"127.0.0.1\",\"port\":%d},"
	    "\"api\":{\"worker-id\":\"%s\"},"
	    "\"fleet\":{\"redis\":\"redis://127.0.0.1:%d/0\"}}", pool, bind,
	    http, name, redis) != -1);
	return cfg;
}

/* GET /1/fleet on port. */
static json_t *
fleet_get(int port)
{
	return hresp_json(http_request(port, "GET", "/1/fleet", NULL, NULL),
	    "GET /1/fleet", NULL);
}

/*
 * Wait until /1/fleet on port says nodes and miners (miners < 0: any);
 * returns the last answer (decref it).
 */
static json_t *
fleet_wait(struct proxy *p, int port, int nodes, int miners, int ms)
{
	int64_t	 deadline = now_ms() + ms;
	json_t	*o;

	for (;;) {
		o = fleet_get(port);
		if (json_integer_value(jget(o, "total.nodes")) == nodes &&
		    (miners < 0 || json_integer_value(jget(o,
		    "total.miners")) == miners))
			return o;
		if (left_ms(deadline) == 0)
			cr_assert_fail("/1/fleet never had %d nodes and %d "
			    "miners: %s", nodes, miners, jtext(o));
		json_decref(o);
		proxy_drain(p, 50);
	}
}

/* The entry of name in a /1/fleet answer, or NULL. */
static json_t *
fleet_node(json_t *o, const char *name)
{
	json_t	*n;
	size_t	 i;

	json_array_foreach(json_object_get(o, "nodes"), i, n) {
		if (strcmp(json_string_value(json_object_get(n, "name")),
		    name) == 0)
			return n;
	}
	return NULL;
}

Test(fleet, reuse_port_two_nodes)
{
	struct rsrv	*rs = rs_start(0, NULL);
	int		 bind = free_port(), h1 = free_port(),
			 h2 = free_port();
	struct tlisten	*tl = tl_listen(0);
	struct proxy	*a, *b;
	struct tconn	*pca, *pcb, *m[NMINERS];
	struct rsrv	*rs2;
	char		*cfg, src[32];
	json_t		*o, *r, *na, *nb;
	int64_t		 deadline;
	int		 i;

	cfg = fleet_config(bind, tl->port, h1, "node-a", rs->port);
	a = proxy_start(cfg);
	free(cfg);
	json_decref(pool_login_of(tl, &pca));
	cfg = fleet_config(bind, tl->port, h2, "node-b", rs->port);
	b = proxy_start(cfg);
	free(cfg);
	json_decref(pool_login_of(tl, &pcb));
	cr_assert(proxy_wait_log(a, "reuse_port=1", WAIT_MS));
	cr_assert(proxy_wait_log(b, "reuse_port=1", WAIT_MS));

	/* Miners from several addresses on the one port. */
	for (i = 0; i < NMINERS; i++) {
		snprintf(src, sizeof src, "127.0.0.%d", 10 + i);
		m[i] = tc_connect_from(src, bind);
		r = miner_login(m[i], "W", "x", NULL, WAIT_MS);
		cr_assert(r != NULL && jget(r, "result.job") != NULL,
		    "login %d: %s", i, jtext(r));
		json_decref(r);
	}

	/* Both nodes on either, the totals right (a summary every 10 s). */
	o = fleet_wait(a, h1, 2, NMINERS, 25000);
	na = fleet_node(o, "node-a");
	nb = fleet_node(o, "node-b");
	cr_assert(na != NULL && nb != NULL, "%s", jtext(o));
	cr_assert_eq(json_integer_value(json_object_get(na, "miners")) +
	    json_integer_value(json_object_get(nb, "miners")), NMINERS);
	cr_assert_str_eq(jstr(na, "version"), jstr(nb, "version"));
	/* Each node's one upstream (the fake pool may idle it). */
	cr_assert(json_integer_value(jget(na, "upstreams.total")) == 1 &&
	    json_integer_value(jget(nb, "upstreams.total")) == 1 &&
	    json_is_integer(jget(na, "upstreams.active")), "%s", jtext(o));
	cr_assert_eq(json_array_size(json_object_get(na, "hashrate")), 6);
	cr_assert_eq(json_array_size(jget(o, "total.hashrate")), 6);
	cr_assert(json_integer_value(json_object_get(na, "seen")) > 0);
	cr_assert(json_is_integer(json_object_get(na, "accepted")));
	cr_assert(json_is_integer(json_object_get(na, "rejected")));
	cr_assert(json_is_integer(json_object_get(na, "uptime")));
	cr_assert(json_is_integer(json_object_get(na, "workers")));
	cr_assert_eq(json_integer_value(jget(o, "total.workers")),
	    json_integer_value(json_object_get(na, "workers")) +
	    json_integer_value(json_object_get(nb, "workers")));
	json_decref(o);
	o = fleet_wait(b, h2, 2, NMINERS, 15000);
	json_decref(o);

	/* node-b dies without a word: gone from node-a's view in 30 s. */
	proxy_signal(b, SIGKILL);
	cr_assert(proxy_exited(b, WAIT_MS));
	o = fleet_wait(a, h1, 1, -1, 35000);
	cr_assert(fleet_node(o, "node-a") != NULL, "%s", jtext(o));
	cr_assert(fleet_node(o, "node-b") == NULL, "%s", jtext(o));
	json_decref(o);

	/* Redis gone: node-a goes on alone, warns once; back: it rejoins. */
	rs_kill(rs);
	cr_assert(proxy_wait_log(a, "type=redis status=down", 15000));
	o = fleet_wait(a, h1, 1, -1, WAIT_MS);
	json_decref(o);
	/* Its miners stay: the view is its own. */
	o = fleet_get(h1);
	cr_assert(json_integer_value(jget(o, "total.miners")) > 0, "%s",
	    jtext(o));
	json_decref(o);
	rs2 = rs_start(rs->port, NULL);
	cr_assert(proxy_wait_log(a, "type=redis status=up", 40000));
	deadline = now_ms() + WAIT_MS;
	for (;;) {
		r = rs_call(rs2->port, NULL, "EXISTS", "sluice:node:node-a",
		    NULL);
		if (json_integer_value(r) == 1 || left_ms(deadline) == 0)
			break;
		json_decref(r);
		proxy_drain(a, 20);
	}
	cr_assert_eq(json_integer_value(r), 1,
	    "node-a did not write its summary again");
	json_decref(r);
	cr_assert_eq(proxy_log_count(a, "type=redis status=down"), 1,
	    "warned more than once");
	rs_free(rs2);

	for (i = 0; i < NMINERS; i++)
		tc_close(m[i]);
	cr_assert_eq(proxy_stop(a), 0);
	proxy_free(a);
	proxy_free(b);
	tc_close(pca);
	tc_close(pcb);
	tl_close(tl);
	rs_free(rs);
}

Test(fleet, off_and_config)
{
	int		 h = free_port(), bind = free_port();
	struct tlisten	*tl = tl_listen(0);
	struct proxy	*p;
	struct tconn	*pc;
	char		*cfg, *extra, *out = NULL;
	json_t		*o;

	/* No fleet.redis: no nodes. */
	cr_assert(asprintf(&extra, "\"http\":{\"enabled\":true,"
	    "\"host\":\"127.0.0.1\",\"port\":%d}", h) != -1);
	cfg = config_basic(bind, tl->port, extra);
	p = proxy_start(cfg);
	json_decref(pool_login_of(tl, &pc));
	o = fleet_get(h);
	cr_assert_eq(json_array_size(json_object_get(o, "nodes")), 0);
	cr_assert_eq(json_integer_value(jget(o, "total.nodes")), 0);
	json_decref(o);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	free(cfg);
	free(extra);

	/* Two different servers for switch.redis and fleet.redis. */
	cfg = config_basic(bind, tl->port, "\"switch\":{\"redis\":"
	    "\"redis://127.0.0.1:1/0\"},\"fleet\":{\"redis\":"
	    "\"redis://127.0.0.1:2/0\"}");
	cr_assert_neq(proxy_start_expect_fail(cfg, &out), 0);
	must_say(out, "fleet.redis");
	free(out);
	free(cfg);
	/* Bad keys name their path. */
	cfg = config_basic(bind, tl->port, "\"fleet\":{\"share-bans\":1}");
	cr_assert_neq(proxy_start_expect_fail(cfg, &out), 0);
	must_say(out, "fleet.share-bans");
	free(out);
	free(cfg);
	cfg = config_basic(bind, tl->port, "\"reuse-port\":\"yes\"");
	cr_assert_neq(proxy_start_expect_fail(cfg, &out), 0);
	must_say(out, "reuse-port");
	free(out);
	free(cfg);
	cr_assert(asprintf(&cfg, "{\"bind\":[{\"host\":\"127.0.0.1\","
	    "\"port\":%d,\"proxy-protocol\":true,\"proxy-protocol-from\":"
	    "[\"10.0.0.0/33\"]}],\"pools\":[{\"url\":\"127.0.0.1:%d\"}]}",
	    bind, tl->port) != -1);
	cr_assert_neq(proxy_start_expect_fail(cfg, &out), 0);
	must_say(out, "bind[0].proxy-protocol-from");
	free(out);
	free(cfg);
	tc_close(pc);
	tl_close(tl);
}
