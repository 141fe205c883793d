/*
 * test_lua.cc: unit tests for src/lua_*.cc and src/policy.cc: the sandbox
 * (what is absent, bytecode, locked globals, the instruction and memory
 * limits), the fallback to the built-in policy on errors and wrong return
 * types or, with policy.on-error "deny", a denial, loading and its errors,
 * the sluice table, and lua/policy.lua deciding exactly as the built-in
 * policy on a table of inputs. The last test measures the CPU cost of a
 * login through the Lua hooks.
 *
 * Criterion runs each test in its own process, so the live policy, the
 * counters and the rate limiter start fresh every time.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <lua.hpp>

#include "sluice.h"
#include "config.h"
#include "luavm.h"
#include "policy.h"
#include "ratelimit.h"
#include "stats.h"

TestSuite(lua, .timeout = 60);

/* One test's files: a temp dir with config.json and scripts. */
struct fx {
	char		 dir[64];
	struct config	*conf;
	struct strlist	 errors;
	struct strlist	 warnings;
};

/* Write text to dir/name. */
static void
fx_write(struct fx *f, const char *name, const char *text)
{
	char	 path[256];
	FILE	*fp;

	snprintf(path, sizeof path, "%s/%s", f->dir, name);
	fp = fopen(path, "w");
	cr_assert(fp != NULL, "fopen %s", path);
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

/*
 * Load config.json with the given lua scripts list (JSON array text) and
 * extra keys; an extra with its own "lua" object replaces the scripts.
 * Returns the config or NULL (errors in f->errors).
 */
static struct config *
fx_config(struct fx *f, const char *scripts, const char *extra)
{
	char	 json[PATH_MAX + 4096], path[256], lua[PATH_MAX + 32];

	lua[0] = '\0';
	if (extra == NULL || strstr(extra, "\"lua\":") == NULL)
		snprintf(lua, sizeof lua, ",\"lua\":{\"scripts\":%s}", scripts);
	snprintf(json, sizeof json, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"pool.example.com:3333\","
	    "\"user\":\"POOLUSER\",\"pass\":\"poolsecret\"}]%s%s%s}", lua,
	    extra != NULL ? "," : "", extra != NULL ? extra : "");
	fx_write(f, "config.json", json);
	snprintf(path, sizeof path, "%s/config.json", f->dir);
	f->conf = config_load(path, &f->errors, &f->warnings);
	return f->conf;
}

/* A fresh temp dir. */
static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/sluice-lua.XXXXXX");
	cr_assert(mkdtemp(f->dir) != NULL);
}

/* Remove a file tree (nftw callback). */
static int
fx_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Free what a test's files hold and remove the temp dir. */
static void
fx_done(struct fx *f)
{
	strlist_clear(&f->errors);
	strlist_clear(&f->warnings);
	if (f->conf != NULL)
		config_unref(f->conf);
	f->conf = NULL;
	nftw(f->dir, fx_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* All errors joined, for messages. */
static const char *
fx_errors(struct fx *f)
{
	static char	 buf[4096];
	size_t		 i;

	buf[0] = '\0';
	for (i = 0; i < f->errors.n; i++) {
		strncat(buf, f->errors.v[i], sizeof buf - strlen(buf) - 2);
		strncat(buf, "\n", sizeof buf - strlen(buf) - 1);
	}
	return buf;
}

/*
 * Write policy.lua with text, load it with extra config keys, make it
 * live. The load must succeed.
 */
static struct config *
live(struct fx *f, const char *text, const char *extra)
{
	struct policy	*p;

	fx_init(f);
	fx_write(f, "policy.lua", text);
	cr_assert(fx_config(f, "[\"policy.lua\"]", extra) != NULL,
	    "config: %s", fx_errors(f));
	p = policy_load(f->conf, &f->errors);
	cr_assert(p != NULL, "policy_load failed:\n%s", fx_errors(f));
	policy_swap(p);
	return f->conf;
}

/* Load text as policy.lua and expect failure; returns the errors. */
static const char *
load_fails(struct fx *f, const char *text)
{
	fx_init(f);
	fx_write(f, "policy.lua", text);
	cr_assert(fx_config(f, "[\"policy.lua\"]", NULL) != NULL,
	    "config: %s", fx_errors(f));
	cr_assert(policy_load(f->conf, &f->errors) == NULL,
	    "policy_load accepted:\n%s", text);
	cr_assert(f->errors.n > 0, "no error reported");
	return fx_errors(f);
}

/* Where the tests let policy_custom_diff() put a difficulty. */
static uint64_t	 m_custom_diff;

/* A miner as miner_login() leaves it before the policy runs. */
static void
miner_init(struct peer *m, const char *login, const char *pass,
    const char *rigid)
{
	static uint64_t	 next_id = 1;

	memset(m, 0, sizeof *m);
	m->id = next_id++;
	xstrlcpy(m->ip, "10.1.2.3", sizeof m->ip);
	m->local_port = 3333;
	m->port = 40000;
	m->login = xstrdup(login);
	m->pass = xstrdup(pass);
	m->agent = xstrdup("XMRig/6.21.0 (Linux x86_64)");
	m->rigid = rigid != NULL ? xstrdup(rigid) : NULL;
	m->algos = json_pack("[ss]", "rx/0", "cn/r");
}

/* Free what miner_init and the policy allocated. */
static void
miner_done(struct peer *m)
{
	free(m->login);
	free(m->pass);
	free(m->agent);
	free(m->rigid);
	free(m->user);
	free(m->worker);
	json_decref(m->algos);
}

/* Sum of the per-hook error counters. */
static uint64_t
lua_errors_total(void)
{
	uint64_t	 n = 0;
	int		 i;

	for (i = 0; i < STATS_NHOOKS; i++)
		n += sl_stats.lua_errors[i];
	return n;
}

/* The login decision must be the built-in one, after a counted error. */
static void
expect_login_fallback(struct config *c, const char *login, const char *pass)
{
	struct peer	 m;
	const char	*got, *want;
	uint64_t	 before = sl_stats.lua_errors[STATS_HOOK_ON_LOGIN];

	miner_init(&m, login, pass, NULL);
	got = policy_login(c, &m);
	want = policy_builtin_login(c, &m);
	cr_assert(got == want || (got != NULL && want != NULL &&
	    strcmp(got, want) == 0), "login %s: got %s, built-in %s", login,
	    got ? got : "accept", want ? want : "accept");
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_LOGIN], before + 1,
	    "the error was not counted");
	miner_done(&m);
}

/* Without scripts the policy is the built-in. */
Test(lua, no_scripts_builtin)
{
	struct fx	 f;
	struct peer	 m;
	struct policy	*p;
	char		*user;
	uint64_t	 diff;

	fx_init(&f);
	cr_assert(fx_config(&f, "[]", "\"access-password\":\"pw\"") != NULL,
	    "%s", fx_errors(&f));
	cr_assert((p = policy_load(f.conf, &f.errors)) != NULL);
	policy_swap(p);
	miner_init(&m, "WALLET+5000", "nope", NULL);
	cr_assert_str_eq(policy_login(f.conf, &m), "Invalid password");
	policy_custom_diff(f.conf, &m, &user, &diff);
	cr_assert_str_eq(user, "WALLET");
	cr_assert_eq(diff, 5000);
	free(user);
	miner_done(&m);
	cr_assert_eq(policy_files_changed(), 0);
	policy_swap(NULL);
	fx_done(&f);
}

/* The libraries and functions a sandbox must not have, at load time. */
Test(lua, sandbox_absent_at_load)
{
	struct fx	 f;

	live(&f,
	    "assert(io == nil, 'io') assert(os == nil, 'os')\n"
	    "assert(require == nil, 'require') assert(package == nil)\n"
	    "assert(debug == nil, 'debug') assert(ffi == nil, 'ffi')\n"
	    "assert(jit == nil, 'jit') assert(dofile == nil)\n"
	    "assert(loadfile == nil) assert(module == nil)\n"
	    "assert(getfenv == nil) assert(setfenv == nil)\n"
	    "assert(newproxy == nil) assert(coroutine == nil)\n"
	    "assert(print == nil) assert(string.dump == nil)\n"
	    "assert(type(string.format) == 'function')\n"
	    "assert(type(table.concat) == 'function')\n"
	    "assert(type(math.floor) == 'function')\n"
	    "assert(type(bit.band) == 'function')\n"
	    "assert(type(load) == 'function' and type(pcall) == 'function')\n"
	    "assert(getmetatable(_G) == 'locked')\n"
	    "assert(not pcall(setmetatable, _G, nil))\n"
	    "assert(not pcall(collectgarbage, 'stop'))\n"
	    "assert(collectgarbage('count') > 0)\n"
	    "assert(math.random(1, 10) >= 1)\n", NULL);
	policy_swap(NULL);
	fx_done(&f);
}

/* Escapes at hook time: each is an error, counted, built-in decides. */
Test(lua, sandbox_escapes_fall_back)
{
	static const char *const bodies[] = {
		"io.open('/etc/passwd')",
		"os.execute('touch /tmp/sluice-pwned')",
		"require('ffi')",
		"local f = string.dump(function() end)",
		"debug.getinfo(1)",
		"jit.on()",
		"getfenv(0).x = 1",
		"assert(load(string.char(27) .. 'LJ\\2\\0'))()",
		"assert(loadstring(string.char(27) .. 'LJ'))()",
		"assert(load(function() return nil end))",
		NULL
	};
	struct fx	 f;
	struct config	*c;
	char		 script[512];
	int		 i;

	for (i = 0; bodies[i] != NULL; i++) {
		snprintf(script, sizeof script,
		    "function on_login(m)\n"
		    "  if m.sample then return true end\n"
		    "  %s\n"
		    "  return true\n"
		    "end\n", bodies[i]);
		c = live(&f, script, "\"access-password\":\"pw\"");
		/* The script would accept; the built-in refuses "bad". */
		expect_login_fallback(c, "WALLET", "bad");
		policy_swap(NULL);
		fx_done(&f);
	}
	cr_assert(access("/tmp/sluice-pwned", F_OK) != 0);
}

/* Real LuaJIT bytecode, made in a full VM, is refused by load and files. */
Test(lua, bytecode_rejected)
{
	struct fx	 f;
	lua_State	*L = luaL_newstate();
	const char	*bc;
	char		 script[8192], *p;
	size_t		 len, i;

	luaL_openlibs(L);
	cr_assert_eq(luaL_dostring(L, "return string.dump(function() "
	    "return true end)"), 0);
	bc = lua_tolstring(L, -1, &len);
	cr_assert(len > 4 && bc[0] == 0x1b);

	/* As a string handed to load() inside the sandbox. */
	p = script + snprintf(script, sizeof script, "local bc = \"");
	for (i = 0; i < len && p < script + sizeof script - 300; i++)
		p += sprintf(p, "\\%d", (unsigned char)bc[i]);
	snprintf(p, script + sizeof script - p, "\"\n"
	    "local f, err = load(bc)\n"
	    "assert(f == nil and err:find('binary'), 'load took bytecode')\n"
	    "f, err = loadstring(bc)\n"
	    "assert(f == nil, 'loadstring took bytecode')\n"
	    "f, err = load(bc, 'x', 'b')\n"
	    "assert(f == nil, 'load mode b took bytecode')\n"
	    "assert(load('return 1 + 1')() == 2)\n");
	live(&f, script, NULL);
	policy_swap(NULL);
	fx_done(&f);

	/* As the script file itself. */
	fx_init(&f);
	{
		char	 path[256];
		FILE	*fp;

		snprintf(path, sizeof path, "%s/policy.lua", f.dir);
		fp = fopen(path, "wb");
		fwrite(bc, 1, len, fp);
		fclose(fp);
	}
	lua_close(L);
	cr_assert(fx_config(&f, "[\"policy.lua\"]", NULL) != NULL);
	cr_assert(policy_load(f.conf, &f.errors) == NULL,
	    "a bytecode file loaded");
	cr_assert(strstr(fx_errors(&f), "policy.lua") != NULL, "%s",
	    fx_errors(&f));
	fx_done(&f);
}

/* Globals are writable at load, frozen at hook time. */
Test(lua, globals_locked_at_hook_time)
{
	struct fx	 f;
	struct config	*c;
	static const char *const bodies[] = {
		"counter = 1",			/* a new global */
		"helper = nil",			/* an existing one */
		"local x = undefined_name",	/* reading a missing one */
		"rawset(_G, 'y', 1)",
		"_G.z = 1",
		NULL
	};
	char		 script[512];
	int		 i;

	for (i = 0; bodies[i] != NULL; i++) {
		snprintf(script, sizeof script,
		    "helper = function() return true end\n"
		    "local at_load = not_defined_yet\n"
		    "assert(at_load == nil)\n"
		    "function on_login(m)\n"
		    "  if m.sample then return true end\n"
		    "  %s\n"
		    "  return helper()\n"
		    "end\n", bodies[i]);
		c = live(&f, script, "\"access-password\":\"pw\"");
		expect_login_fallback(c, "WALLET", "bad");
		policy_swap(NULL);
		fx_done(&f);
	}
}

/* An infinite loop is stopped every time, even one that pcalls. */
Test(lua, instruction_limit)
{
	struct fx	 f;
	struct config	*c;
	struct timespec	 t0, t1;
	double		 ms;
	int		 i;

	c = live(&f,
	    "function on_login(m)\n"
	    "  if m.sample then return true end\n"
	    "  if m.login == 'PCALL' then\n"
	    "    while true do pcall(function() while true do end end) end\n"
	    "  end\n"
	    "  while true do end\n"
	    "end\n",
	    "\"access-password\":\"pw\"");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 3; i++) {
		expect_login_fallback(c, "WALLET", "bad");
		expect_login_fallback(c, "PCALL", "bad");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_assert(ms < 5000, "six stopped loops took %.0f ms", ms);
	policy_swap(NULL);
	fx_done(&f);
}

/* A memory bomb is stopped; the VM is fine afterwards. */
Test(lua, memory_limit)
{
	struct fx	 f;
	struct config	*c;
	struct peer	 m;

	c = live(&f,
	    "local keep = {}\n"
	    "function on_login(m)\n"
	    "  if m.sample or m.login == 'OK' then return true end\n"
	    "  if m.login == 'BIG' then local s = string.rep('x', 2^30) end\n"
	    "  local t = {}\n"
	    "  while true do t[#t + 1] = string.rep('x', 1000) .. #t end\n"
	    "end\n",
	    "\"access-password\":\"pw\",\"lua\":{\"scripts\":[\"policy.lua\"],"
	    "\"memory-limit\":4,\"instruction-limit\":100000000}");
	cr_assert_eq(c->lua_memory_limit, 4);
	expect_login_fallback(c, "WALLET", "bad");
	expect_login_fallback(c, "BIG", "bad");
	expect_login_fallback(c, "WALLET", "bad");
	cr_assert(policy_lua_memory() < 4u << 20, "VM holds %zu bytes",
	    policy_lua_memory());
	miner_init(&m, "OK", "bad", NULL);
	cr_assert_null(policy_login(c, &m), "the VM no longer works");
	miner_done(&m);
	policy_swap(NULL);
	fx_done(&f);
}

/* The luaL_newstate fallback enforces both limits too. */
Test(lua, fallback_allocator_limits)
{
	struct fx	 f;
	struct config	*c;

	lua_vm_alloc_fallback = 1;
	c = live(&f,
	    "function on_login(m)\n"
	    "  if m.sample then return true end\n"
	    "  if m.login == 'LOOP' then while true do end end\n"
	    "  local t = {}\n"
	    "  while true do t[#t + 1] = string.rep('x', 1000) .. #t end\n"
	    "end\n",
	    "\"access-password\":\"pw\",\"lua\":{\"scripts\":[\"policy.lua\"],"
	    "\"memory-limit\":4,\"instruction-limit\":100000000}");
	expect_login_fallback(c, "WALLET", "bad");
	expect_login_fallback(c, "LOOP", "bad");
	policy_swap(NULL);
	fx_done(&f);
	lua_vm_alloc_fallback = 0;
}

/* Errors and wrong return types in every hook fall back. */
Test(lua, wrong_types_fall_back)
{
	struct fx	 f;
	struct config	*c;
	struct peer	 m;
	char		*user, *name, *pass;
	uint64_t	 diff;

	c = live(&f,
	    "local function real(m) return m.sample end\n"
	    "function on_connect(c)\n"
	    "  if c.sample then return nil end\n"
	    "  if c.ip == '10.0.0.1' then return 'yes' end\n"
	    "  if c.ip == '10.0.0.2' then return false, 'long' end\n"
	    "  error('boom')\n"
	    "end\n"
	    "function on_login(m)\n"
	    "  if real(m) then return true end return 1\n"
	    "end\n"
	    "function custom_diff(m)\n"
	    "  if real(m) then return 'u', 0 end\n"
	    "  if m.login == 'NEG+5000' then return 'x', -1 end\n"
	    "  if m.login == 'NUM+5000' then return 5 end\n"
	    "  return nil\n"
	    "end\n"
	    "function worker_name(m) if real(m) then return nil end "
	    "return {} end\n"
	    "function upstream_login(m) if real(m) then return nil end "
	    "return 'user', 7 end\n",
	    "\"workers\":\"user\",\"custom-diff\":777");

	/* on_connect: the native verdict (no rate limit: allow). */
	cr_assert_eq(policy_connect(c, "10.0.0.1", 3333, 0), 0);
	cr_assert_eq(policy_connect(c, "10.0.0.2", 3333, 0), 0);
	cr_assert_eq(policy_connect(c, "10.0.0.3", 3333, 0), 0);
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_CONNECT], 3);
	cr_assert_eq(sl_stats.ratelimit_denied, 0);

	miner_init(&m, "NEG+5000", "x", NULL);
	cr_assert_null(policy_login(c, &m));
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_LOGIN], 1);
	policy_custom_diff(c, &m, &user, &diff);
	cr_assert_str_eq(user, "NEG");
	cr_assert_eq(diff, 5000);
	free(user);
	free(m.login);
	m.login = xstrdup("NUM+5000");
	policy_custom_diff(c, &m, &user, &diff);
	cr_assert_str_eq(user, "NUM");
	cr_assert_eq(diff, 5000);
	free(user);
	free(m.login);
	m.login = xstrdup("plain");
	policy_custom_diff(c, &m, &user, &diff);
	cr_assert_str_eq(user, "plain");
	cr_assert_eq(diff, 777);
	m.user = user;
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_CUSTOM_DIFF], 3);
	name = policy_worker_name(c, &m);
	cr_assert_str_eq(name, "plain");
	free(name);
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_WORKER_NAME], 1);
	cr_assert_eq(policy_upstream_login(c, &m, &user, &pass), 0);
	cr_assert_null(user);
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_UPSTREAM_LOGIN], 1);
	miner_done(&m);
	policy_swap(NULL);
	fx_done(&f);
}

/* The hooks decide when they work. */
Test(lua, hooks_decide)
{
	struct fx	 f;
	struct config	*c;
	struct peer	 m;
	char		*user, *pass, *name;
	uint64_t	 diff;

	c = live(&f,
	    "function on_login(m)\n"
	    "  if m.agent:find('BadMiner') then\n"
	    "    return false, 'Miner not allowed here'\n"
	    "  end\n"
	    "  m.note = 'seen by on_login'\n"
	    "  return true\n"
	    "end\n"
	    "function custom_diff(m)\n"
	    "  local w, d = m.login:match('^([^.]+)%.(%d+)$')\n"
	    "  if w then return w, tonumber(d) end\n"
	    "  return m.login, 0\n"
	    "end\n"
	    "function worker_name(m, mode)\n"
	    "  return (m.rigid or 'x') .. '@' .. m.ip .. '/' .. mode ..\n"
	    "      '/' .. (m.note or 'none')\n"
	    "end\n"
	    "function upstream_login(m) return m.user, 'x-' .. m.algo[1] end\n",
	    "\"workers\":\"rig-id\"");
	miner_init(&m, "WALLET.5000", "x", "rig7");
	cr_assert_null(policy_login(c, &m));
	policy_custom_diff(c, &m, &m.user, &m_custom_diff);
	cr_assert_str_eq(m.user, "WALLET");
	cr_assert_eq(m_custom_diff, 5000);
	name = policy_worker_name(c, &m);
	cr_assert_str_eq(name, "rig7@10.1.2.3/rig_id/seen by on_login");
	free(name);
	cr_assert_eq(policy_upstream_login(c, &m, &user, &pass), 1);
	cr_assert_str_eq(user, "WALLET");
	cr_assert_str_eq(pass, "x-rx/0");
	free(user);
	free(pass);
	free(m.agent);
	m.agent = xstrdup("BadMiner/1.0");
	cr_assert_str_eq(policy_login(c, &m), "Miner not allowed here");
	cr_assert_eq(lua_errors_total(), 0);
	miner_done(&m);
	/* Another miner's login. */
	miner_init(&m, "OTHER.300", "x", NULL);
	policy_custom_diff(c, &m, &user, &diff);
	cr_assert_str_eq(user, "OTHER");
	cr_assert_eq(diff, 300);
	free(user);
	miner_done(&m);
	policy_swap(NULL);
	fx_done(&f);
}

/* on_connect allows, denies and bans. */
Test(lua, on_connect)
{
	struct fx	 f;
	struct config	*c;
	double		 tokens;
	int		 conns, banned;

	c = live(&f,
	    "function on_connect(c)\n"
	    "  if c.sample then return nil end\n"
	    "  assert(c.port == 3333 and c.tls == true)\n"
	    "  if c.ip == '127.0.0.2' then return false end\n"
	    "  if c.ip == '127.0.0.3' then return false, 60 end\n"
	    "  if c.ip == '127.0.0.4' then return true end\n"
	    "  if c.connections >= 2 then return false end\n"
	    "  return nil\n"
	    "end\n",
	    "\"rate-limit\":{\"max-connections-per-minute\":1,"
	    "\"ban-duration\":0}");
	cr_assert_eq(policy_connect(c, "127.0.0.1", 3333, 1), 0);
	cr_assert_eq(policy_connect(c, "127.0.0.2", 3333, 1), -1);
	cr_assert_eq(policy_connect(c, "127.0.0.3", 3333, 1), -1);
	cr_assert_eq(ratelimit_info("127.0.0.3", 0, &tokens, &conns, &banned),
	    0);
	cr_assert(banned > 0, "on_connect's ban did not stick");
	/* true overrides an empty bucket. */
	cr_assert_eq(policy_connect(c, "127.0.0.4", 3333, 1), 0);
	cr_assert_eq(policy_connect(c, "127.0.0.4", 3333, 1), 0);
	cr_assert_eq(policy_connect(c, "127.0.0.4", 3333, 1), 0);
	/* nil keeps the native verdict: the bucket of 1 is empty. */
	cr_assert_eq(policy_connect(c, "127.0.0.1", 3333, 1), -1);
	cr_assert_eq(sl_stats.ratelimit_denied, 3);
	cr_assert_eq(lua_errors_total(), 0);
	policy_disconnect("127.0.0.4");
	cr_assert_eq(ratelimit_info("127.0.0.4", 0, &tokens, &conns, &banned),
	    0);
	cr_assert_eq(conns, 2);
	policy_swap(NULL);
	fx_done(&f);
}

/* Load failures name file:line and load nothing. */
Test(lua, load_errors)
{
	struct fx	 f;
	const char	*e;

	e = load_fails(&f, "function on_login(m)\n  return 1 +\nend\n");
	cr_assert(strstr(e, "policy.lua:3:") != NULL, "%s", e);
	fx_done(&f);
	e = load_fails(&f, "local x = 1\nerror('top level says no')\n");
	cr_assert(strstr(e, "policy.lua:2: top level says no") != NULL, "%s",
	    e);
	fx_done(&f);
	e = load_fails(&f, "on_login = 42\n");
	cr_assert(strstr(e, "on_login is a number") != NULL, "%s", e);
	fx_done(&f);
	e = load_fails(&f, "function worker_name(m, mode)\n"
	    "  return typo_global\nend\n");
	cr_assert(strstr(e, "policy.lua:2:") != NULL &&
	    strstr(e, "worker_name") != NULL && strstr(e, "typo_global"),
	    "%s", e);
	fx_done(&f);
	e = load_fails(&f, "function on_login(m) return 'yes' end\n");
	cr_assert(strstr(e, "policy.lua:1:") != NULL &&
	    strstr(e, "expected a boolean") != NULL, "%s", e);
	fx_done(&f);
	e = load_fails(&f, "while true do end\n");
	cr_assert(strstr(e, "policy.lua:1: instruction limit") != NULL, "%s",
	    e);
	fx_done(&f);

	/* A missing file. */
	fx_init(&f);
	cr_assert(fx_config(&f, "[\"nope.lua\"]", NULL) != NULL);
	cr_assert(policy_load(f.conf, &f.errors) == NULL);
	cr_assert(strstr(fx_errors(&f), "nope.lua") != NULL);
	fx_done(&f);
}

/* Scripts load in order into one VM; a later one sees the earlier. */
Test(lua, scripts_in_order)
{
	struct fx	 f;
	struct peer	 m;
	struct policy	*p;

	fx_init(&f);
	fx_write(&f, "a.lua", "blocked = { ['BadMiner/1'] = true }\n");
	fx_write(&f, "b.lua", "assert(blocked)\n"
	    "function on_login(m)\n"
	    "  if blocked[m.agent] then return false, 'blocked' end\n"
	    "  return true\nend\n");
	cr_assert(fx_config(&f, "[\"a.lua\", \"b.lua\"]", NULL) != NULL);
	cr_assert((p = policy_load(f.conf, &f.errors)) != NULL, "%s",
	    fx_errors(&f));
	policy_swap(p);
	miner_init(&m, "W", "x", NULL);
	free(m.agent);
	m.agent = xstrdup("BadMiner/1");
	cr_assert_str_eq(policy_login(f.conf, &m), "blocked");
	miner_done(&m);
	policy_swap(NULL);
	fx_done(&f);
}

/* The sluice table: config without secrets, read-only, helpers. */
Test(lua, sluice_table)
{
	struct fx	 f;

	live(&f,
	    "local c = sluice.config\n"
	    "assert(c.mode == 'nicehash', c.mode)\n"
	    "assert(c.custom_diff == 1234)\n"
	    "assert(c.pools[1].user == 'POOLUSER')\n"
	    "assert(c.pools[1].pass == nil, 'pool pass leaked')\n"
	    "assert(c.access_password == nil, 'access-password leaked')\n"
	    "assert(c.http.access_token == nil, 'access-token leaked')\n"
	    "assert(c.rate_limit.max_connections_per_minute == 30)\n"
	    "assert(c.lua.memory_limit == 32)\n"
	    "assert(c.retry_pause == 2 and c.retry_pause_max == 45)\n"
	    "assert(not pcall(function() c.mode = 'simple' end))\n"
	    "assert(not pcall(function() c.pools[1].user = 'x' end))\n"
	    "assert(not pcall(function() sluice.log = nil end))\n"
	    "assert(not pcall(rawset, c, 'mode', 'x'))\n"
	    "assert(rawget(c, 'mode') == 'nicehash')\n"
	    "local n = 0\n"
	    "for k, v in pairs(c) do n = n + 1 end\n"
	    "assert(n > 10, 'pairs over sluice.config')\n"
	    "n = 0\n"
	    "for i, p in ipairs(c.pools) do n = n + 1 end\n"
	    "assert(n == 1, 'ipairs over pools')\n"
	    "for i, v in ipairs({ 5, 6 }) do n = n + v end\n"
	    "assert(n == 12, 'ipairs over a plain table')\n"
	    "for k, v in pairs({ a = 1 }) do n = n + v end\n"
	    "assert(n == 13, 'pairs over a plain table')\n"
	    "n = 0\n"
	    "for k, v in pairs(_G) do n = n + 1 end\n"
	    "assert(n > 10, 'pairs over _G')\n"
	    "assert(sluice.check_password('pw') == true)\n"
	    "assert(sluice.check_password('no') == false)\n"
	    "assert(sluice.check_password(nil) == false)\n"
	    "assert(sluice.now() > 1.7e9 and sluice.now() % 1 ~= nil)\n"
	    "assert(sluice.monotonic() > 0)\n"
	    "assert(sluice.LOG_INFO and sluice.LOG_WARN and sluice.LOG_DEBUG)\n"
	    "sluice.log(sluice.LOG_INFO, 'hello\\nfrom lua')\n"
	    "assert(type(sluice.version) == 'string')\n",
	    "\"custom-diff\":1234,\"access-password\":\"pw\","
	    "\"http\":{\"enabled\":false,\"access-token\":\"tok\"},"
	    "\"rate-limit\":{\"max-connections-per-minute\":30},"
	    "\"retry-pause\":2,\"retry-pause-max\":45");
	policy_swap(NULL);
	fx_done(&f);
}

/* The type=lua_error line: hook, message, file:line; rate-limited. */
Test(lua, error_log_line)
{
	struct fx	 f;
	struct config	*c;
	struct peer	 m;
	char		 path[256], buf[8192];
	FILE		*fp;
	size_t		 n;
	int		 i;

	c = live(&f,
	    "function on_login(m)\n"
	    "  if m.sample then return true end\n"
	    "  local t = nil\n"
	    "  return t.field\n"
	    "end\n", NULL);
	snprintf(path, sizeof path, "%s/log", f.dir);
	log_open_file(path);
	for (i = 0; i < 50; i++) {
		miner_init(&m, "W", "x", NULL);
		cr_assert_null(policy_login(c, &m));
		miner_done(&m);
	}
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_LOGIN], 50);
	log_open_file(NULL);
	fp = fopen(path, "r");
	cr_assert(fp != NULL);
	n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	cr_assert(strstr(buf, "type=lua_error hook=on_login msg=\"attempt to "
	    "index local 't' (a nil value)\" at=") != NULL, "%s", buf);
	cr_assert(strstr(buf, "policy.lua:4") != NULL, "%s", buf);
	/* 50 errors in well under a second or two: one or two lines. */
	cr_assert(strstr(buf, "type=lua_error") != NULL);
	{
		int	 lines = 0;
		char	*p = buf;

		while ((p = strstr(p, "type=lua_error")) != NULL) {
			lines++;
			p++;
		}
		cr_assert(lines <= 3, "%d lua_error lines:\n%s", lines, buf);
	}
	policy_swap(NULL);
	fx_done(&f);
}

/* A changed script is noticed once. */
Test(lua, files_changed)
{
	struct fx	 f;
	struct timespec	 ts[2];
	char		 path[256];

	live(&f, "function on_login(m) return true end\n", NULL);
	cr_assert_eq(policy_files_changed(), 0);
	snprintf(path, sizeof path, "%s/policy.lua", f.dir);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec += 10;
	ts[1] = ts[0];
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	cr_assert_eq(policy_files_changed(), 1);
	cr_assert_eq(policy_files_changed(), 0);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(policy_files_changed(), 1);
	cr_assert_eq(policy_files_changed(), 0);
	fx_write(&f, "policy.lua", "-- back\n");
	cr_assert_eq(policy_files_changed(), 1);
	policy_swap(NULL);
	fx_done(&f);
}

/* A failed load leaves the live policy alone. */
Test(lua, failed_load_keeps_live)
{
	struct fx	 f, g;
	struct config	*c;
	struct peer	 m;

	c = live(&f, "function on_login(m) return false, 'v1' end\n", NULL);
	load_fails(&g, "function on_login(m) return false, 'v2' \n");
	fx_done(&g);
	miner_init(&m, "W", "x", NULL);
	cr_assert_str_eq(policy_login(c, &m), "v1");
	miner_done(&m);
	policy_swap(NULL);
	fx_done(&f);
}

/*
 * A deny list that fails on a login shape it did not expect: "WALLET"
 * without "+N" leaves wallet nil, and indexing it raises.
 */
#define DENY_LIST_SCRIPT \
	"local blocked = { BADWALLET = true }\n" \
	"function on_login(m)\n" \
	"  if m.sample then return true end\n" \
	"  local wallet = m.login:match('^(%w+)%+%d+$')\n" \
	"  if blocked[wallet:upper()] then return false, 'blocked' end\n" \
	"  return true\n" \
	"end\n"

/* The deny list's failed call, under on-error c: what policy_login says. */
static const char *
deny_list_login(struct config *c, const char *login)
{
	static char	 got[128];
	struct peer	 m;
	const char	*why;

	miner_init(&m, login, "x", NULL);
	why = policy_login(c, &m);
	xstrlcpy(got, why != NULL ? why : "(accepted)", sizeof got);
	miner_done(&m);
	return got;
}

/* on-error "builtin" (the default): a failed on_login admits the miner. */
Test(lua, on_error_builtin_fails_open)
{
	struct fx	 f;
	struct config	*c;

	c = live(&f, DENY_LIST_SCRIPT, "\"policy\":{\"on-error\":\"builtin\"}");
	cr_assert_str_eq(deny_list_login(c, "BADWALLET+5000"), "blocked");
	cr_assert_str_eq(deny_list_login(c, "GOOD+5000"), "(accepted)");
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_LOGIN], 0);
	/* The shape the script did not expect gets the blocked wallet in. */
	cr_assert_str_eq(deny_list_login(c, "BADWALLET"), "(accepted)");
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_LOGIN], 1);
	/* The built-in checks still apply: an empty login is refused. */
	cr_assert_str_eq(deny_list_login(c, ""),
	    "Invalid payment address provided");
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_LOGIN], 2);
	policy_swap(NULL);
	fx_done(&f);
}

/* on-error "deny": a failed on_login refuses, the script still decides. */
Test(lua, on_error_deny_login)
{
	struct fx	 f;
	struct config	*c;

	c = live(&f, DENY_LIST_SCRIPT,
	    "\"policy\":{\"on-error\":{\"on_login\":\"deny\"}}");
	cr_assert_eq(c->on_error[STATS_HOOK_ON_LOGIN], ON_ERROR_DENY);
	cr_assert_str_eq(deny_list_login(c, "BADWALLET+5000"), "blocked");
	cr_assert_str_eq(deny_list_login(c, "GOOD+5000"), "(accepted)");
	cr_assert_str_eq(deny_list_login(c, "BADWALLET"),
	    "Access denied by policy");
	cr_assert_str_eq(deny_list_login(c, "GOOD"), "Access denied by policy");
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_LOGIN], 2);
	policy_swap(NULL);
	fx_done(&f);
}

/*
 * on-error "deny" for every hook: on_connect refuses (without a ban),
 * custom_diff ignores the miner's "+N", worker_name gives none,
 * upstream_login the configured credentials. The log line says so.
 */
Test(lua, on_error_deny_every_hook)
{
	struct fx	 f;
	struct config	*c;
	struct peer	 m;
	char		*user, *pass, path[256], buf[8192];
	uint64_t	 diff;
	double		 tokens;
	int		 conns, banned;
	FILE		*fp;
	size_t		 n;

	c = live(&f,
	    "local function real(m) return m.sample end\n"
	    "function on_connect(c)\n"
	    "  if c.sample then return nil end\n"
	    "  if c.ip == '10.0.0.9' then return false end\n"
	    "  if c.ip == '10.0.0.1' then return nil end\n"
	    "  error('boom')\n"
	    "end\n"
	    "function on_login(m) if real(m) then return true end "
	    "error('no') end\n"
	    "function custom_diff(m) if real(m) then return 'u', 0 end "
	    "return 5 end\n"
	    "function worker_name(m) if real(m) then return nil end "
	    "return {} end\n"
	    "function upstream_login(m) if real(m) then return nil end "
	    "return 'user', 7 end\n",
	    "\"workers\":\"user\",\"custom-diff\":777,"
	    "\"policy\":{\"on-error\":\"deny\"}");
	snprintf(path, sizeof path, "%s/log", f.dir);
	log_open_file(path);

	/* on_connect: the script still decides; its failure refuses. */
	cr_assert_eq(policy_connect(c, "10.0.0.1", 3333, 0), 0);
	cr_assert_eq(policy_connect(c, "10.0.0.9", 3333, 0), -1);
	cr_assert_eq(policy_connect(c, "10.0.0.3", 3333, 0), -1);
	cr_assert_eq(sl_stats.lua_errors[STATS_HOOK_ON_CONNECT], 1);
	cr_assert_eq(sl_stats.ratelimit_denied, 2);
	cr_assert_eq(ratelimit_info("10.0.0.3", 0, &tokens, &conns, &banned),
	    0);
	cr_assert_eq(banned, 0, "a failed on_connect banned the address");

	miner_init(&m, "WALLET+5000", "x", "rig1");
	cr_assert_str_eq(policy_login(c, &m), "Access denied by policy");
	policy_custom_diff(c, &m, &user, &diff);
	cr_assert_str_eq(user, "WALLET");
	cr_assert_eq(diff, 777, "the miner's +5000 was honoured: %llu",
	    (unsigned long long)diff);
	m.user = user;
	cr_assert_null(policy_worker_name(c, &m));
	cr_assert_eq(policy_upstream_login(c, &m, &user, &pass), 0);
	cr_assert_null(user);
	cr_assert_null(pass);
	cr_assert_eq(lua_errors_total(), 5);
	miner_done(&m);

	log_open_file(NULL);
	fp = fopen(path, "r");
	cr_assert(fp != NULL);
	n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	cr_assert(strstr(buf, "type=lua_error hook=on_connect msg=") != NULL,
	    "%s", buf);
	cr_assert(strstr(buf, "fallback=deny") != NULL, "%s", buf);
	cr_assert(strstr(buf, "fallback=builtin") == NULL, "%s", buf);
	policy_swap(NULL);
	fx_done(&f);
}

/* A new snapshot with another on-error changes the decision (reload). */
Test(lua, on_error_follows_reload)
{
	struct fx	 f;
	struct config	*c;
	struct policy	*p;

	c = live(&f, DENY_LIST_SCRIPT, NULL);
	cr_assert_str_eq(deny_list_login(c, "BADWALLET"), "(accepted)");
	/* As main_build() and the swap in main.cc do on a reload. */
	config_unref(f.conf);
	f.conf = NULL;
	c = fx_config(&f, "[\"policy.lua\"]",
	    "\"policy\":{\"on-error\":\"deny\"}");
	cr_assert(c != NULL, "config: %s", fx_errors(&f));
	cr_assert((p = policy_load(c, &f.errors)) != NULL, "%s",
	    fx_errors(&f));
	policy_swap(p);
	cr_assert_str_eq(deny_list_login(c, "BADWALLET"),
	    "Access denied by policy");
	policy_swap(NULL);
	fx_done(&f);
}

/* The path of lua/policy.lua in the source tree. */
static void
default_script(char *buf, size_t len)
{
	const char	*src = getenv("SLUICE_SRCDIR");
	char		 rel[PATH_MAX];

	snprintf(rel, sizeof rel, "%s/lua/policy.lua",
	    src != NULL && *src != '\0' ? src : ".");
	cr_assert(realpath(rel, buf) != NULL && strlen(buf) < len,
	    "cannot find lua/policy.lua (run from the source tree or set "
	    "SLUICE_SRCDIR)");
}

/*
 * lua/policy.lua decides exactly as the built-in policy: every login in
 * the table, under every combination of access-password, custom-diff and
 * workers mode, gets the same login verdict, user, difficulty and worker
 * name, and no call falls back (so the Lua really decided).
 */
Test(lua, default_script_matches_builtin)
{
	static const char *const logins[] = {
		"WALLET", "", "WALLET+5000", "WALLET+99", "WALLET+100",
		"WALLET+0", "WALLET+", "WALLET+abc", "WALLET+50x", "+5000",
		"a+b+3000", "a+3000+b", "WALLET.5000", "W+007000",
		"W+18446744073709551615", "W+99999999999999999999999",
		"4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3skxNgYeYTRj5UzqtR"
		"eoS44qo9mtmXCqY45DJ852K5Jv2684Rge+25000", "  spaces +300",
		"ünïcödé+1000", NULL
	};
	static const char *const passes[] = { "x", "pw", "", "PW", NULL };
	static const char *const rigids[] = { NULL, "rig-1", NULL };
	static const char *const modes[] = { "\"rig-id\"", "\"user\"",
	    "\"password\"", "\"agent\"", "\"ip\"", "false" };
	struct fx	 f;
	struct config	*c;
	struct peer	 m;
	const char	*got, *want;
	char		 script[PATH_MAX], scripts[PATH_MAX + 8];
	char		 extra[256];
	char		*u1, *u2, *w1, *w2;
	uint64_t	 d1, d2;
	int		 pw, cd, wm, li, pi, ri, checked = 0;
	struct policy	*p;

	default_script(script, sizeof script);
	snprintf(scripts, sizeof scripts, "[\"%s\"]", script);
	for (pw = 0; pw < 2; pw++)
	for (cd = 0; cd < 2; cd++)
	for (wm = 0; wm < 6; wm++) {
		fx_init(&f);
		snprintf(extra, sizeof extra, "%s\"custom-diff\":%d,"
		    "\"workers\":%s", pw ? "\"access-password\":\"pw\"," : "",
		    cd ? 5000 : 0, modes[wm]);
		c = fx_config(&f, scripts, extra);
		cr_assert(c != NULL, "%s", fx_errors(&f));
		cr_assert((p = policy_load(c, &f.errors)) != NULL, "%s",
		    fx_errors(&f));
		policy_swap(p);
		for (li = 0; logins[li] != NULL; li++)
		for (pi = 0; passes[pi] != NULL; pi++)
		for (ri = 0; ri < 3; ri++) {
			miner_init(&m, logins[li], passes[pi], rigids[ri]);
			got = policy_login(c, &m);
			want = policy_builtin_login(c, &m);
			cr_assert((got == NULL) == (want == NULL) &&
			    (got == NULL || strcmp(got, want) == 0),
			    "login '%s' pass '%s' %s: lua %s, built-in %s",
			    logins[li], passes[pi], extra, got ? got : "OK",
			    want ? want : "OK");
			policy_custom_diff(c, &m, &u1, &d1);
			policy_builtin_custom_diff(c, m.login, &u2, &d2);
			cr_assert_str_eq(u1, u2, "login '%s' %s", logins[li],
			    extra);
			cr_assert_eq(d1, d2, "login '%s' %s: diff %llu vs %llu",
			    logins[li], extra, (unsigned long long)d1,
			    (unsigned long long)d2);
			m.user = u1;
			w1 = policy_worker_name(c, &m);
			w2 = policy_builtin_worker_name(c, &m);
			cr_assert((w1 == NULL) == (w2 == NULL) &&
			    (w1 == NULL || strcmp(w1, w2) == 0),
			    "worker for '%s' %s: lua %s, built-in %s",
			    logins[li], extra, w1 ? w1 : "(none)",
			    w2 ? w2 : "(none)");
			free(w1);
			free(w2);
			free(u2);
			miner_done(&m);
			checked++;
		}
		cr_assert_eq(lua_errors_total(), 0,
		    "a hook fell back: the comparison is void");
		/* on_connect and upstream_login: the native decisions. */
		cr_assert_eq(policy_connect(c, "10.9.9.9", 3333, 0), 0);
		miner_init(&m, "W", "x", NULL);
		m.user = xstrdup("W");
		cr_assert_eq(policy_upstream_login(c, &m, &u1, &u2), 0);
		miner_done(&m);
		cr_assert_eq(lua_errors_total(), 0);
		policy_swap(NULL);
		fx_done(&f);
	}
	cr_assert_gt(checked, 1000);
}

/* CPU seconds of this process. */
static double
cpu_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * One connection's and login's policy calls, as the listener, miner_login()
 * and simple mode make them: all five hooks.
 */
static void
one_login(struct config *c, struct peer *m)
{
	const char	*why;
	char		*user, *pass;

	cr_assert_eq(policy_connect(c, m->ip, m->local_port, 0), 0);
	why = policy_login(c, m);
	cr_assert_null(why);
	policy_custom_diff(c, m, &m->user, &m_custom_diff);
	m->worker = policy_worker_name(c, m);
	cr_assert_eq(policy_upstream_login(c, m, &user, &pass), 0);
	policy_disconnect(m->ip);
	free(m->user);
	free(m->worker);
	m->user = m->worker = NULL;
}

/*
 * The acceptance benchmark: a connection and login through all five Lua
 * hooks (the default script) costs at most 10 us of CPU more than the
 * built-in policy. Not asserted under ASan, which slows Lua's C side.
 */
Test(lua, login_cost)
{
	struct fx	 f, g;
	struct config	*cb, *cl;
	struct policy	*p;
	struct peer	 m;
	char		 script[PATH_MAX], scripts[PATH_MAX + 8];
	double		 t0, builtin, lua;
	int		 i, n = 20000;

	fx_init(&f);
	cb = fx_config(&f, "[]", "\"workers\":\"rig-id\"");
	cr_assert(cb != NULL);
	default_script(script, sizeof script);
	snprintf(scripts, sizeof scripts, "[\"%s\"]", script);
	fx_init(&g);
	cl = fx_config(&g, scripts, "\"workers\":\"rig-id\"");
	cr_assert(cl != NULL);

	miner_init(&m, "4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx3+25000",
	    "x", "rig-1");
	cr_assert((p = policy_load(cb, &f.errors)) != NULL);
	policy_swap(p);
	for (i = 0; i < 1000; i++)
		one_login(cb, &m);
	t0 = cpu_now();
	for (i = 0; i < n; i++)
		one_login(cb, &m);
	builtin = (cpu_now() - t0) / n * 1e6;

	cr_assert((p = policy_load(cl, &g.errors)) != NULL);
	policy_swap(p);
	for (i = 0; i < 1000; i++) {
		m.id++;
		one_login(cl, &m);
	}
	t0 = cpu_now();
	for (i = 0; i < n; i++) {
		m.id++;
		one_login(cl, &m);
	}
	lua = (cpu_now() - t0) / n * 1e6;
	cr_assert_eq(lua_errors_total(), 0);
	fprintf(stderr, "login_cost: built-in %.2f us, lua %.2f us, "
	    "difference %.2f us per login\n", builtin, lua, lua - builtin);
#if !defined(__SANITIZE_ADDRESS__)
	cr_assert_lt(lua - builtin, 10.0, "a Lua login costs %.2f us more",
	    lua - builtin);
#endif
	miner_done(&m);
	policy_swap(NULL);
	fx_done(&f);
	fx_done(&g);
}
