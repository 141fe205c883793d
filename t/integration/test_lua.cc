/*
 * test_lua.cc: the Lua policy in the running daemon, one script fixture
 * per scenario (issue 6's acceptance list): on_login refusing an agent,
 * custom_diff parsing WALLET.5000, worker_name in /1/workers, on_connect
 * refusing one address, upstream_login in simple mode, the native rate
 * limit, sandbox escapes served by the built-in policy, a script edit
 * taking effect within 2 s without dropping a miner, a broken script
 * keeping the old policy, and -n reporting file:line. Then issue 18's
 * policy.on-error: a failing on_login admitted under "builtin" and
 * refused after a reload to "deny", a failing on_connect refused.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define WAIT_MS		5000	/* anything that must happen */
#define QUIET_MS	300	/* something that must not happen */

TestSuite(lua, .timeout = 60);

/* A daemon with a script, a fake pool and (nicehash) its upstream. */
struct rig {
	int		 bind;
	int		 http;		/* 0: no API */
	struct tlisten	*tl;
	struct proxy	*p;
	struct tconn	*pc;		/* the pool side (nicehash) */
};

/* The config: one pool, policy.lua, watch on or off, extra keys. */
static char *
lua_config(struct rig *rg, const char *mode, int watch, const char *extra)
{
	char	*s, http[160] = "";

	if (rg->http != 0)
		snprintf(http, sizeof http, ",\"http\":{\"enabled\":true,"
		    "\"host\":\"127.0.0.1\",\"port\":%d,\"restricted\":true}",
		    rg->http);
	cr_assert(asprintf(&s, "{\"mode\":\"%s\","
	    "\"bind\":[{\"host\":\"127.0.0.1\",\"port\":%d}],"
	    "\"pools\":[{\"url\":\"127.0.0.1:%d\",\"user\":\"POOLWALLET\","
	    "\"pass\":\"x\"}],\"retries\":1,\"retry-pause\":1,"
	    "\"watch\":%s,\"lua\":{\"scripts\":[\"policy.lua\"],"
	    "\"memory-limit\":8}%s%s%s}\n", mode, rg->bind, rg->tl->port,
	    watch ? "true" : "false", http, *extra != '\0' ? "," : "",
	    extra) != -1);
	return s;
}

/* Accept the daemon at the fake pool and log it in with a first job. */
static struct tconn *
pool_up(struct rig *rg, const char *job_id)
{
	struct tconn	*pc;
	struct tjob	 job;
	json_t		*login;

	pc = tl_accept(rg->tl, WAIT_MS);
	if (pc == NULL)
		proxy_dump_log(rg->p);
	cr_assert(pc != NULL, "sluice did not connect to the fake pool");
	login = pool_expect_login(pc, WAIT_MS);
	tjob_default(&job, job_id);
	pool_send_login_ok(pc, login, "pool-session-1", &job);
	json_decref(login);
	return pc;
}

/*
 * Start a daemon on script (policy.lua next to the config). In nicehash
 * mode the pool is brought up too.
 */
static void
rig_start(struct rig *rg, const char *script, const char *mode, int watch,
    int api, const char *extra)
{
	char	*cfg;

	memset(rg, 0, sizeof *rg);
	rg->bind = free_port();
	rg->http = api ? free_port() : 0;
	rg->tl = tl_listen(0);
	rg->p = proxy_new();
	proxy_write_file(rg->p, "policy.lua", script);
	cfg = lua_config(rg, mode, watch, extra);
	proxy_write_config(rg->p, cfg);
	free(cfg);
	proxy_launch(rg->p);
	if (!proxy_wait_log(rg->p, "type=ready", WAIT_MS)) {
		proxy_dump_log(rg->p);
		cr_assert_fail("sluice did not start");
	}
	if (strcmp(mode, "nicehash") == 0) {
		rg->pc = pool_up(rg, "job-1");
		cr_assert(proxy_wait_log(rg->p, "state=up", WAIT_MS),
		    "the pool never came up");
	}
}

/* Stop the daemon (it must exit 0) and free everything. */
static void
rig_stop(struct rig *rg)
{
	int	 code = proxy_stop(rg->p);

	if (code != 0)
		proxy_dump_log(rg->p);
	cr_assert_eq(code, 0, "sluice exited %d", code);
	proxy_free(rg->p);
	if (rg->pc != NULL)
		tc_close(rg->pc);
	tl_close(rg->tl);
}

/* A login with any agent (id 1); the reply or NULL. */
static json_t *
login_as(struct tconn *mc, const char *login, const char *agent,
    const char *rigid)
{
	cr_assert(tc_send(mc, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"login\",\"params\":{\"login\":\"%s\",\"pass\":\"x\","
	    "\"agent\":\"%s\",\"rigid\":\"%s\",\"algo\":[\"rx/0\"]}}", login,
	    agent, rigid));
	return tc_recv_reply(mc, 1, WAIT_MS);
}

/* The error message of a reply, or NULL. */
static const char *
err_msg(json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"),
	    "message"));
}

/* The result.status of a reply, or NULL. */
static const char *
ok_status(json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "result"),
	    "status"));
}

/* Log in and expect OK; returns the reply. */
static json_t *
login_ok(struct rig *rg, struct tconn *mc, const char *login)
{
	json_t	*r = miner_login(mc, login, "x", "rig1", WAIT_MS);

	if (r == NULL || ok_status(r) == NULL)
		proxy_dump_log(rg->p);
	cr_assert(r != NULL, "no login reply for %s", login);
	cr_assert(ok_status(r) != NULL && strcmp(ok_status(r), "OK") == 0,
	    "login %s refused: %s", login, json_dumps(r, JSON_COMPACT));
	return r;
}

/* Log in and expect a refusal with msg and the connection closed. */
static void
login_refused(struct rig *rg, const char *login, const char *msg)
{
	struct tconn	*mc = tc_connect(rg->bind);
	json_t		*r = miner_login(mc, login, "x", "rig1", WAIT_MS);

	if (r == NULL || err_msg(r) == NULL)
		proxy_dump_log(rg->p);
	cr_assert(r != NULL, "no login reply for %s", login);
	cr_assert(err_msg(r) != NULL && strcmp(err_msg(r), msg) == 0,
	    "login %s: want error \"%s\", got %s", login, msg,
	    json_dumps(r, JSON_COMPACT));
	cr_assert(tc_wait_closed(mc, WAIT_MS), "a refused miner stayed open");
	json_decref(r);
	tc_close(mc);
}

/* A keepalived round trip: the miner's connection is alive and served. */
static void
keepalive_ok(struct tconn *mc, json_t *login_reply, int id)
{
	const char	*session;
	json_t		*r;

	session = json_string_value(json_object_get(json_object_get(
	    login_reply, "result"), "id"));
	cr_assert(session != NULL);
	cr_assert(tc_send(mc, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"keepalived\",\"params\":{\"id\":\"%s\"}}", id, session),
	    "the miner was dropped");
	r = tc_recv_reply(mc, id, WAIT_MS);
	cr_assert(r != NULL, "no keepalived reply: the miner was dropped");
	cr_assert(ok_status(r) != NULL && strcmp(ok_status(r), "KEEPALIVED")
	    == 0, "keepalived: %s", json_dumps(r, JSON_COMPACT));
	json_decref(r);
}

/* GET path from the API and parse the JSON body. */
static json_t *
api_get(struct rig *rg, const char *path)
{
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	char			 req[256], buf[65536], *body;
	size_t			 len = 0;
	long long		 deadline = now_ms() + WAIT_MS;
	ssize_t			 n;
	int			 fd;
	json_t			*j;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd != -1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)rg->http);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0,
	    "connect to the API: %s", strerror(errno));
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Connection: close\r\n\r\n", path);
	cr_assert(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		cr_assert(poll(&pfd, 1, (int)(deadline - now_ms())) == 1,
		    "API answer timed out");
		n = read(fd, buf + len, sizeof buf - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	cr_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0, "GET %s: %s", path,
	    buf);
	body = strstr(buf, "\r\n\r\n");
	cr_assert(body != NULL);
	j = json_loads(body + 4, 0, NULL);
	cr_assert(j != NULL, "GET %s: not JSON: %s", path, body + 4);
	return j;
}

/* An agent blocked by on_login gets the script's message and is closed. */
Test(lua, on_login_blocks_agent)
{
	struct rig	 rg;
	struct tconn	*mc;
	json_t		*r;

	rig_start(&rg,
	    "function on_login(m)\n"
	    "  if m.agent:find('XMRig/6.21', 1, true) then\n"
	    "    return false, 'XMRig 6.21 is not welcome here'\n"
	    "  end\n"
	    "  return true\n"
	    "end\n", "nicehash", 0, 0, "");
	login_refused(&rg, "WALLET", "XMRig 6.21 is not welcome here");
	mc = tc_connect(rg.bind);
	r = login_as(mc, "WALLET", "xmrig/6.22.0", "rig2");
	cr_assert(r != NULL && ok_status(r) != NULL, "another agent was "
	    "refused: %s", r ? json_dumps(r, JSON_COMPACT) : "no reply");
	json_decref(r);
	tc_close(mc);
	cr_assert_eq(proxy_log_count(rg.p, "type=lua_error"), 0);
	rig_stop(&rg);
}

/* custom_diff parsing WALLET.5000 gives that miner difficulty 5000. */
Test(lua, custom_diff_wallet_dot)
{
	struct rig	 rg;
	struct tconn	*mc;
	json_t		*r;
	const char	*target;
	uint64_t	 t32 = (UINT64_MAX / 5000) >> 32;
	char		 want[9];

	snprintf(want, sizeof want, "%02x%02x%02x%02x",
	    (unsigned)(t32 & 0xff), (unsigned)(t32 >> 8 & 0xff),
	    (unsigned)(t32 >> 16 & 0xff), (unsigned)(t32 >> 24 & 0xff));
	rig_start(&rg,
	    "function custom_diff(m)\n"
	    "  local wallet, diff = m.login:match('^([^.]+)%.(%d+)$')\n"
	    "  if wallet then return wallet, tonumber(diff) end\n"
	    "  return m.login, 0\n"
	    "end\n", "nicehash", 0, 0, "");
	mc = tc_connect(rg.bind);
	r = login_ok(&rg, mc, "WALLET.5000");
	target = json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "result"), "job"), "target"));
	cr_assert(target != NULL && strcmp(target, want) == 0,
	    "target %s, want %s (difficulty 5000)", target, want);
	cr_assert(proxy_wait_log(rg.p, "type=miner_login", WAIT_MS));
	cr_assert(strstr(rg.p->log, "user=WALLET ") != NULL &&
	    strstr(rg.p->log, "diff=5000") != NULL,
	    "the miner's user or diff is not the script's:\n%s", rg.p->log);
	json_decref(r);
	tc_close(mc);
	rig_stop(&rg);
}

/* worker_name returning rigid .. "@" .. ip shows in /1/workers. */
Test(lua, worker_name_in_api)
{
	struct rig	 rg;
	struct tconn	*mc;
	json_t		*r, *w;
	char		*text;

	rig_start(&rg,
	    "function worker_name(m, mode)\n"
	    "  return (m.rigid or m.user) .. '@' .. m.ip\n"
	    "end\n", "nicehash", 0, 1, "\"workers\":\"rig_id\"");
	mc = tc_connect(rg.bind);
	r = login_ok(&rg, mc, "WALLET");
	w = api_get(&rg, "/1/workers");
	text = json_dumps(w, JSON_COMPACT);
	cr_assert(strstr(text, "\"rig1@127.0.0.1\"") != NULL,
	    "/1/workers has no rig1@127.0.0.1: %s", text);
	free(text);
	json_decref(w);
	json_decref(r);
	tc_close(mc);
	rig_stop(&rg);
}

/* on_connect denying 127.0.0.2 closes it while 127.0.0.1 connects. */
Test(lua, on_connect_denies_one_address)
{
	struct rig	 rg;
	struct tconn	*mc, *bad;
	json_t		*r, *s;

	rig_start(&rg,
	    "function on_connect(c)\n"
	    "  if c.ip == '127.0.0.2' then return false end\n"
	    "  return nil\n"
	    "end\n", "nicehash", 0, 1, "");
	bad = tc_connect_from("127.0.0.2", rg.bind);
	cr_assert(tc_wait_closed(bad, WAIT_MS), "127.0.0.2 was not closed");
	tc_close(bad);
	mc = tc_connect_from("127.0.0.1", rg.bind);
	r = login_ok(&rg, mc, "WALLET");
	s = api_get(&rg, "/1/summary");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(s,
	    "sluice"), "ratelimit_denied")), 1, "denial not counted");
	json_decref(s);
	json_decref(r);
	tc_close(mc);
	rig_stop(&rg);
}

/* The native limit: with 10 per minute the 11th connection is refused. */
Test(lua, rate_limit_eleventh_refused)
{
	struct rig	 rg;
	struct tconn	*mc[10], *c;
	int		 i;

	rig_start(&rg, "-- no hooks: the native limiter alone\n", "nicehash",
	    0, 0, "\"rate-limit\":{\"max-connections-per-minute\":10,"
	    "\"ban-duration\":300}");
	for (i = 0; i < 10; i++)
		mc[i] = tc_connect_from("127.0.0.1", rg.bind);
	/* The tenth is served: its login is answered. */
	json_decref(login_ok(&rg, mc[9], "WALLET"));
	c = tc_connect_from("127.0.0.1", rg.bind);
	cr_assert(tc_wait_closed(c, WAIT_MS), "the 11th connection was served");
	tc_close(c);
	cr_assert(proxy_wait_log(rg.p, "type=ip_banned ip=127.0.0.1 "
	    "seconds=300 reason=rate", WAIT_MS), "no ban logged");
	/* Banned now: refused again; another address is not. */
	c = tc_connect_from("127.0.0.1", rg.bind);
	cr_assert(tc_wait_closed(c, WAIT_MS), "a banned address was served");
	tc_close(c);
	c = tc_connect_from("127.0.0.3", rg.bind);
	json_decref(login_ok(&rg, c, "WALLET"));
	tc_close(c);
	/* The first ten were not touched. */
	for (i = 0; i < 9; i++)
		cr_assert_not(tc_wait_closed(mc[i], 0), "connection %d dropped",
		    i);
	for (i = 0; i < 10; i++)
		tc_close(mc[i]);
	rig_stop(&rg);
}

/*
 * Escapes fail: each is stopped, logged and counted, and the miner is
 * served by the built-in decision (the script would refuse it).
 */
Test(lua, escapes_served_by_builtin)
{
	static const char *const logins[] = {
		"IO", "OS", "REQUIRE", "BYTECODE", "DUMP", "GLOBAL", "LOOP",
		"BOMB", NULL
	};
	struct rig	 rg;
	struct tconn	*mc;
	json_t		*r, *s;
	int		 i;

	rig_start(&rg,
	    "local escapes = {\n"
	    "  IO = function() return io.open('/etc/passwd') end,\n"
	    "  OS = function() return os.execute('true') end,\n"
	    "  REQUIRE = function() return require('ffi') end,\n"
	    "  BYTECODE = function()\n"
	    "    return assert(load(string.char(27) .. 'LJ\\2\\0'))() end,\n"
	    "  DUMP = function() return string.dump(function() end) end,\n"
	    "  GLOBAL = function() stolen = true end,\n"
	    "  LOOP = function() while true do end end,\n"
	    "  BOMB = function()\n"
	    "    local t = {}\n"
	    "    while true do t[#t + 1] = string.rep('x', 4096) .. #t end\n"
	    "  end,\n"
	    "}\n"
	    "function on_login(m)\n"
	    "  if m.sample then return true end\n"
	    "  escapes[m.login]()\n"
	    "  return false, 'escaped'\n"
	    "end\n", "nicehash", 0, 1, "");
	for (i = 0; logins[i] != NULL; i++) {
		mc = tc_connect(rg.bind);
		r = login_ok(&rg, mc, logins[i]);
		json_decref(r);
		tc_close(mc);
	}
	cr_assert(proxy_wait_log(rg.p, "type=lua_error hook=on_login",
	    WAIT_MS), "no lua_error logged");
	s = api_get(&rg, "/1/summary");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(s, "sluice"), "lua_errors"), "on_login")), 8,
	    "escapes counted: %s", json_dumps(s, JSON_COMPACT));
	json_decref(s);
	rig_stop(&rg);
}

/*
 * A deny list that fails on a login shape it did not expect ("WALLET"
 * without "+N"): with on-error "builtin" (the default) the blocked wallet
 * gets in; after a reload to "deny" it is refused with "Access denied by
 * policy" and closed, while the script's own decisions stand.
 */
Test(lua, on_error_login_builtin_then_deny)
{
	struct rig	 rg;
	struct tconn	*mc;
	json_t		*r, *s;
	char		*cfg;

	rig_start(&rg,
	    "local blocked = { BADWALLET = true }\n"
	    "function on_login(m)\n"
	    "  if m.sample then return true end\n"
	    "  local wallet = m.login:match('^(%w+)%+%d+$')\n"
	    "  if blocked[wallet:upper()] then return false, 'blocked' end\n"
	    "  return true\n"
	    "end\n", "nicehash", 0, 1, "");
	login_refused(&rg, "BADWALLET+5000", "blocked");
	mc = tc_connect(rg.bind);
	r = login_ok(&rg, mc, "BADWALLET");
	cr_assert(proxy_wait_log(rg.p, "type=lua_error hook=on_login",
	    WAIT_MS), "no lua_error logged");
	cr_assert(proxy_log_count(rg.p, "fallback=builtin") == 1,
	    "the lua_error line does not say fallback=builtin");
	json_decref(r);

	cfg = lua_config(&rg, "nicehash", 0,
	    "\"policy\":{\"on-error\":{\"on_login\":\"deny\"}}");
	proxy_write_config(rg.p, cfg);
	free(cfg);
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", WAIT_MS),
	    "no reload");
	login_refused(&rg, "BADWALLET", "Access denied by policy");
	cr_assert(proxy_wait_log(rg.p, "type=lua_error hook=on_login",
	    WAIT_MS), "no lua_error logged after the reload");
	cr_assert(proxy_log_count(rg.p, "fallback=deny") == 1,
	    "the lua_error line does not say fallback=deny");
	cr_assert(proxy_log_count(rg.p, "close=login_rejected reason=\"Access "
	    "denied by policy\"") == 1, "not closed as a refused login");
	login_refused(&rg, "BADWALLET+5000", "blocked");
	/* The miner admitted before the reload is still served. */
	cr_assert_not(tc_wait_closed(mc, 0), "the admitted miner was dropped");
	tc_close(mc);
	mc = tc_connect(rg.bind);
	json_decref(login_ok(&rg, mc, "GOOD+5000"));
	tc_close(mc);
	s = api_get(&rg, "/1/summary");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(s, "sluice"), "lua_errors"), "on_login")), 2,
	    "errors counted: %s", json_dumps(s, JSON_COMPACT));
	json_decref(s);
	rig_stop(&rg);
}

/* on_connect failing with on-error "deny" refuses, as a native deny. */
Test(lua, on_error_connect_deny)
{
	struct rig	 rg;
	struct tconn	*mc, *bad;
	json_t		*r, *s;

	rig_start(&rg,
	    "function on_connect(c)\n"
	    "  if c.sample or c.ip == '127.0.0.1' then return nil end\n"
	    "  error('no idea about ' .. c.ip)\n"
	    "end\n", "nicehash", 0, 1, "\"policy\":{\"on-error\":\"deny\"}");
	bad = tc_connect_from("127.0.0.2", rg.bind);
	cr_assert(tc_wait_closed(bad, WAIT_MS), "127.0.0.2 was not closed");
	tc_close(bad);
	cr_assert(proxy_wait_log(rg.p, "type=lua_error hook=on_connect",
	    WAIT_MS), "no lua_error for on_connect");
	cr_assert_eq(proxy_log_count(rg.p, "fallback=deny"), 1);
	mc = tc_connect_from("127.0.0.1", rg.bind);
	r = login_ok(&rg, mc, "WALLET");
	s = api_get(&rg, "/1/summary");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(s,
	    "sluice"), "ratelimit_denied")), 1, "denial not counted");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(s, "sluice"), "lua_errors"), "on_connect")), 1,
	    "error not counted");
	json_decref(s);
	json_decref(r);
	tc_close(mc);
	rig_stop(&rg);
}

/* upstream_login sends the miner's wallet to its own upstream (simple). */
Test(lua, upstream_login_simple_mode)
{
	struct rig	 rg;
	struct tconn	*mc, *pc;
	struct tjob	 job;
	json_t		*login, *r;
	const char	*user, *pass;

	rig_start(&rg,
	    "function upstream_login(m)\n"
	    "  if m.user:sub(1, 4) == 'POOL' then return nil end\n"
	    "  return m.user, 'rig=' .. (m.rigid or '')\n"
	    "end\n", "simple", 0, 0, "");
	mc = tc_connect(rg.bind);
	cr_assert(tc_send(mc, "{\"id\":1,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"login\",\"params\":{\"login\":\"MINERWALLET+5000\","
	    "\"pass\":\"x\",\"agent\":\"t\",\"rigid\":\"r9\"}}"));
	pc = tl_accept(rg.tl, WAIT_MS);
	cr_assert(pc != NULL, "no upstream for the miner");
	login = pool_expect_login(pc, WAIT_MS);
	user = json_string_value(json_object_get(json_object_get(login,
	    "params"), "login"));
	pass = json_string_value(json_object_get(json_object_get(login,
	    "params"), "pass"));
	cr_assert(user != NULL && strcmp(user, "MINERWALLET") == 0,
	    "the pool got login %s, want the miner's wallet", user);
	cr_assert(pass != NULL && strcmp(pass, "rig=r9") == 0,
	    "the pool got pass %s", pass);
	tjob_default(&job, "s1");
	pool_send_login_ok(pc, login, "PS", &job);
	json_decref(login);
	r = tc_recv_reply(mc, 1, WAIT_MS);
	cr_assert(r != NULL && ok_status(r) != NULL, "miner login failed");
	json_decref(r);
	tc_close(pc);
	tc_close(mc);
	rig_stop(&rg);
}

/* Editing a script changes decisions within 2 s; no miner is dropped. */
Test(lua, edit_takes_effect)
{
	struct rig	 rg;
	struct tconn	*mc;
	struct tjob	 job;
	json_t		*r, *j;
	long long	 t0, took;

	rig_start(&rg,
	    "function on_login(m)\n"
	    "  if m.login == 'BLOCKED' then return false, 'v1' end\n"
	    "  return true\n"
	    "end\n", "nicehash", 1, 0, "");
	mc = tc_connect(rg.bind);
	r = login_ok(&rg, mc, "WALLET");
	login_refused(&rg, "BLOCKED", "v1");

	t0 = now_ms();
	proxy_write_file(rg.p, "policy.lua",
	    "function on_login(m)\n"
	    "  if m.login == 'BLOCKED' then return false, 'v2' end\n"
	    "  return true\n"
	    "end\n");
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", 3000),
	    "no reload after the edit");
	took = now_ms() - t0;
	cr_assert(took <= 2000, "the reload took %lld ms", took);
	login_refused(&rg, "BLOCKED", "v2");

	/* The first miner is still served: a keepalive and a new job. */
	keepalive_ok(mc, r, 7);
	tjob_default(&job, "job-2");
	pool_send_job(rg.pc, &job);
	j = tc_recv(mc, WAIT_MS);
	cr_assert(j != NULL, "the connected miner got no job after reload");
	json_decref(j);
	cr_assert_eq(proxy_log_count(rg.p, "type=miner_close"), 2,
	    "something besides the two refused miners closed");
	json_decref(r);
	tc_close(mc);
	rig_stop(&rg);
}

/* A script with a syntax error keeps the old policy and logs file:line. */
Test(lua, broken_edit_keeps_old)
{
	struct rig	 rg;
	struct tconn	*mc;
	json_t		*r;

	rig_start(&rg,
	    "function on_login(m)\n"
	    "  if m.login == 'BLOCKED' then return false, 'v1' end\n"
	    "  return true\n"
	    "end\n", "nicehash", 1, 0, "");
	mc = tc_connect(rg.bind);
	r = login_ok(&rg, mc, "WALLET");
	proxy_write_file(rg.p, "policy.lua",
	    "function on_login(m)\n"
	    "  if m.login == 'BLOCKED' then return false, 'v2'\n"
	    "  return true\n"
	    "end\n");
	cr_assert(proxy_wait_log(rg.p, "policy.lua:3: 'end' expected", 3000),
	    "no file:line for the syntax error");
	cr_assert(proxy_wait_log(rg.p, "type=reload status=failed", 3000),
	    "the reload did not fail");
	login_refused(&rg, "BLOCKED", "v1");
	keepalive_ok(mc, r, 7);
	/* SIGHUP retries, and fails the same way. */
	proxy_signal(rg.p, SIGHUP);
	cr_assert(proxy_wait_log(rg.p, "type=reload status=failed", 3000));
	login_refused(&rg, "BLOCKED", "v1");
	/* Fixing the file reloads it. */
	proxy_write_file(rg.p, "policy.lua",
	    "function on_login(m)\n"
	    "  if m.login == 'BLOCKED' then return false, 'v3' end\n"
	    "  return true\n"
	    "end\n");
	cr_assert(proxy_wait_log(rg.p, "type=reload status=done", 3000));
	login_refused(&rg, "BLOCKED", "v3");
	keepalive_ok(mc, r, 8);
	json_decref(r);
	tc_close(mc);
	rig_stop(&rg);
}

/* sluice -n loads the scripts the same way and reports file:line. */
Test(lua, check_mode_reports_errors)
{
	struct rig	 rg;
	const char	*argv[5];
	char		*cfg, *out;
	int		 code;

	memset(&rg, 0, sizeof rg);
	rg.bind = free_port();
	rg.tl = tl_listen(0);
	rg.p = proxy_new();
	cfg = lua_config(&rg, "nicehash", 0, "");
	proxy_write_config(rg.p, cfg);
	free(cfg);
	argv[0] = sluice_bin();
	argv[1] = "-n";
	argv[2] = "-c";
	argv[3] = rg.p->config;
	argv[4] = NULL;

	proxy_write_file(rg.p, "policy.lua", "function on_login(m)\n"
	    "  return true\nend\n");
	code = run_capture(argv, &out);
	cr_assert_eq(code, 0, "-n refused a good script: %s", out);
	free(out);

	proxy_write_file(rg.p, "policy.lua", "local x = 1\n"
	    "function on_login(m)\n  return 1 +\nend\n");
	code = run_capture(argv, &out);
	cr_assert_eq(code, 1, "-n exit %d on a syntax error: %s", code, out);
	cr_assert(strstr(out, "policy.lua:4:") != NULL,
	    "-n does not say file:line: %s", out);
	free(out);

	proxy_write_file(rg.p, "policy.lua", "function custom_diff(m)\n"
	    "  return m.login, nil_global\nend\n");
	code = run_capture(argv, &out);
	cr_assert_eq(code, 1, "-n exit %d on a failing sample call: %s", code,
	    out);
	cr_assert(strstr(out, "policy.lua:2:") != NULL &&
	    strstr(out, "nil_global") != NULL, "-n output: %s", out);
	free(out);
	proxy_free(rg.p);
	tl_close(rg.tl);
}

/* A start with a broken script fails and says where. */
Test(lua, start_with_broken_script_fails)
{
	struct rig	 rg;
	char		*cfg;

	memset(&rg, 0, sizeof rg);
	rg.bind = free_port();
	rg.tl = tl_listen(0);
	rg.p = proxy_new();
	proxy_write_file(rg.p, "policy.lua", "on_connect = 'yes'\n");
	cfg = lua_config(&rg, "nicehash", 0, "");
	proxy_write_config(rg.p, cfg);
	free(cfg);
	proxy_launch(rg.p);
	cr_assert(proxy_exited(rg.p, WAIT_MS), "sluice started anyway");
	cr_assert_eq(proxy_exit_code(rg.p), 1);
	cr_assert(strstr(rg.p->log, "on_connect is a string") != NULL,
	    "%s", rg.p->log);
	proxy_free(rg.p);
	tl_close(rg.tl);
}
