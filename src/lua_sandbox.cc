/*
 * lua_sandbox.cc: the sandbox of a policy VM and its "sluice" table,
 * built by hand: never luaL_openlibs, which would open io, os, package,
 * debug and jit and preload ffi.
 *
 * What scripts get: base (without dofile, loadfile, getfenv, setfenv,
 * print, newproxy, coroutine; load and loadstring take source text only),
 * string (without dump), table, math (seeded here) and bit, plus sluice:
 * log, now, monotonic, check_password, secret_tag, config, version and
 * the LOG_* levels, the same at load time and at hook time.
 *
 * Globals: the thread's global table is replaced by an empty proxy whose
 * reads fall through to the real table. While the scripts' top level
 * runs, assignments go through and a missing name reads as nil; once
 * lua_vm.cc sets locked, assigning any global or reading a missing one is an
 * error. rawget, rawset, pairs and ipairs know the proxies (the global
 * one and the read-only sluice tables) so they neither bypass the lock
 * nor see an empty table.
 *
 * Every function here that can raise runs inside lua_cpcall or lua_pcall
 * and holds no C++ object with a destructor.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lua.hpp>
#include <openssl/crypto.h>

#include "config.h"
#include "luavm.h"

#define LUA_LOG_MAX	1024		/* one sluice.log message */

static int	 lua_ro_newindex(lua_State *);
static void	 lua_ro_push(lua_State *, int proxies);
static int	 lua_sb_backing(lua_State *, int idx);
static int	 lua_sb_index(lua_State *);
static int	 lua_sb_newindex(lua_State *);
static int	 lua_sb_load(lua_State *);
static int	 lua_sb_rawget(lua_State *);
static int	 lua_sb_rawset(lua_State *);
static int	 lua_sb_next(lua_State *);
static int	 lua_sb_pairs(lua_State *);
static int	 lua_sb_inext(lua_State *);
static int	 lua_sb_ipairs(lua_State *);
static int	 lua_sb_collectgarbage(lua_State *);
static void	 lua_sb_config(lua_State *, const struct config *);
static void	 lua_sb_open(lua_State *, lua_CFunction, const char *);
static int	 lua_api_log(lua_State *);
static int	 lua_api_now(lua_State *);
static int	 lua_api_monotonic(lua_State *);
static int	 lua_api_check_password(lua_State *);
static int	 lua_api_secret_tag(lua_State *);

/* "FILE:LINE:" of the Lua function running at level, or "?". */
void
lua_where(lua_State *L, int level, char *buf, size_t len)
{
	lua_Debug	 ar;

	if (lua_getstack(L, level, &ar) && lua_getinfo(L, "Sl", &ar) &&
	    ar.currentline > 0)
		snprintf(buf, len, "%s:%d:", ar.short_src, ar.currentline);
	else
		xstrlcpy(buf, "?:", len);
}

/* Push a read-only proxy of the table on top (replacing it). */
static void
lua_ro_push(lua_State *L, int proxies)
{
	/* stack: backing */
	lua_newtable(L);			/* backing, proxy */
	lua_createtable(L, 0, 3);		/* backing, proxy, mt */
	lua_pushvalue(L, -3);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, lua_ro_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushliteral(L, "read-only");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);		/* backing, proxy */
	lua_pushvalue(L, -1);
	lua_pushvalue(L, -3);
	lua_rawset(L, proxies);		/* proxies[proxy] = backing */
	lua_replace(L, -2);			/* proxy */
}

/* __newindex of a read-only table. */
static int
lua_ro_newindex(lua_State *L)
{
	return luaL_error(L, "attempt to modify a read-only table (key '%s')",
	    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

/* If the value at idx is a proxy, push its backing table and return 1. */
static int
lua_sb_backing(lua_State *L, int idx)
{
	struct lua_sandbox *sb = (struct lua_sandbox *)lua_touserdata(L,
			    lua_upvalueindex(1));

	if (lua_type(L, idx) != LUA_TTABLE)
		return 0;
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->proxies_ref);
	lua_pushvalue(L, idx);
	lua_rawget(L, -2);
	lua_remove(L, -2);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	return 1;
}

/* Reading a global the real table lacks: nil at load, an error after. */
static int
lua_sb_index(lua_State *L)
{
	struct lua_sandbox *sb = (struct lua_sandbox *)lua_touserdata(L,
			    lua_upvalueindex(1));

	if (!sb->locked)
		return 0;
	return luaL_error(L, "attempt to read undeclared global '%s'",
	    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
}

/* Assigning a global: through to the real table at load, an error after. */
static int
lua_sb_newindex(lua_State *L)
{
	struct lua_sandbox *sb = (struct lua_sandbox *)lua_touserdata(L,
			    lua_upvalueindex(1));

	if (sb->locked)
		return luaL_error(L, "attempt to set global '%s' at hook time "
		    "(globals are read-only after loading; use a local)",
		    lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?");
	lua_rawgeti(L, LUA_REGISTRYINDEX, sb->globals_ref);
	lua_pushvalue(L, 2);
	lua_pushvalue(L, 3);
	lua_rawset(L, -3);
	return 0;
}

/*
 * load and loadstring: source text only. A chunk starting with the
 * bytecode signature byte (0x1b) is refused before the parser sees it,
 * and the parser runs in mode "t" anyway. Function readers are refused.
 */
static int
lua_sb_load(lua_State *L)
{
	const char	*s, *name;
	size_t		 len;
	int		 env = lua_gettop(L) >= 4 && !lua_isnil(L, 4);

	if (lua_type(L, 1) != LUA_TSTRING) {
		lua_pushnil(L);
		lua_pushliteral(L, "load: only source strings are allowed");
		return 2;
	}
	s = lua_tolstring(L, 1, &len);
	name = luaL_optstring(L, 2, "=(load)");
	if (len > 0 && s[0] == 0x1b) {
		lua_pushnil(L);
		lua_pushliteral(L, "load: binary chunks are not allowed");
		return 2;
	}
	if (luaL_loadbufferx(L, s, len, name, "t") != 0) {
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	if (env) {
		/* stack: s, name, mode, env, ..., fn */
		lua_pushvalue(L, 4);
		lua_setfenv(L, -2);
	}
	return 1;
}

/* rawget that sees through a read-only proxy and the global proxy. */
static int
lua_sb_rawget(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	if (lua_sb_backing(L, 1))
		lua_replace(L, 1);
	lua_settop(L, 2);
	lua_rawget(L, 1);
	return 1;
}

/* rawset, refused on proxies so it cannot bypass a lock. */
static int
lua_sb_rawset(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checkany(L, 2);
	luaL_checkany(L, 3);
	if (lua_sb_backing(L, 1))
		return luaL_error(L, "rawset on a protected table");
	lua_settop(L, 3);
	lua_rawset(L, 1);
	return 1;
}

/* next over a proxy's backing table (upvalue 2). */
static int
lua_sb_next(lua_State *L)
{
	lua_settop(L, 2);
	if (lua_next(L, lua_upvalueindex(2)))
		return 2;
	lua_pushnil(L);
	return 1;
}

/* pairs: a proxy iterates its backing table without handing it out. */
static int
lua_sb_pairs(lua_State *L)
{
	luaL_checkany(L, 1);
	if (!lua_sb_backing(L, 1)) {
		lua_pushvalue(L, lua_upvalueindex(2)); /* the real next */
		lua_pushvalue(L, 1);
		lua_pushnil(L);
		return 3;
	}
	/* stack: t, backing */
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, -2);
	lua_pushcclosure(L, lua_sb_next, 2);
	lua_pushnil(L);
	lua_pushnil(L);
	return 3;
}

/* The ipairs iterator over a proxy's backing table (upvalue 1). */
static int
lua_sb_inext(lua_State *L)
{
	lua_Integer	 i = luaL_checkinteger(L, 2) + 1;

	lua_pushinteger(L, i);
	lua_rawgeti(L, lua_upvalueindex(1), (int)i);
	return lua_isnil(L, -1) ? 1 : 2;
}

/* ipairs: a proxy iterates its backing array. */
static int
lua_sb_ipairs(lua_State *L)
{
	luaL_checkany(L, 1);
	if (!lua_sb_backing(L, 1)) {
		lua_pushvalue(L, lua_upvalueindex(2)); /* real ipairs */
		lua_pushvalue(L, 1);
		lua_call(L, 1, 3);
		return 3;
	}
	lua_pushcclosure(L, lua_sb_inext, 1);
	lua_pushnil(L);
	lua_pushinteger(L, 0);
	return 3;
}

/* collectgarbage, without the options that switch the collector off. */
static int
lua_sb_collectgarbage(lua_State *L)
{
	const char	*opt = luaL_optstring(L, 1, "collect");

	if (strcmp(opt, "count") == 0) {
		lua_pushnumber(L, lua_gc(L, LUA_GCCOUNT, 0) +
		    lua_gc(L, LUA_GCCOUNTB, 0) / 1024.0);
		return 1;
	}
	if (strcmp(opt, "collect") == 0) {
		lua_gc(L, LUA_GCCOLLECT, 0);
		lua_pushinteger(L, 0);
		return 1;
	}
	if (strcmp(opt, "step") == 0) {
		lua_pushboolean(L, lua_gc(L, LUA_GCSTEP,
		    (int)luaL_optinteger(L, 2, 0)));
		return 1;
	}
	return luaL_error(L, "collectgarbage option '%s' is not allowed", opt);
}

/* sluice.log(level, msg): one log line, control characters blanked. */
static int
lua_api_log(lua_State *L)
{
	lua_Integer	 level = luaL_checkinteger(L, 1);
	const char	*s = luaL_checkstring(L, 2);
	char		 msg[LUA_LOG_MAX], where[128];
	size_t		 i;

	xstrlcpy(msg, s, sizeof msg);
	for (i = 0; msg[i] != '\0'; i++) {
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = ' ';
	}
	lua_where(L, 1, where, sizeof where);
	if (level <= 1)
		log_warnx("lua: %s %s", where, msg);
	else if (level == 2)
		log_info("lua: %s %s", where, msg);
	else
		log_debug("lua: %s %s", where, msg);
	return 0;
}

/* sluice.now(): wall-clock seconds since the epoch, with a fraction. */
static int
lua_api_now(lua_State *L)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec / 1e9);
	return 1;
}

/* sluice.monotonic(): seconds on a clock that never steps back. */
static int
lua_api_monotonic(lua_State *L)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (double)ts.tv_sec + ts.tv_nsec / 1e9);
	return 1;
}

/*
 * sluice.secret_tag(s): "pw:" and 6 hex digits of s's SHA-256, the name a
 * password gets where it must name something (workers "password"), so
 * that no password is shown in clear.
 */
static int
lua_api_secret_tag(lua_State *L)
{
	char	 tag[SECRET_TAG_LEN + 1];

	secret_tag(luaL_checkstring(L, 1), tag);
	lua_pushstring(L, tag);
	return 1;
}

/*
 * sluice.check_password(pass): true when no access-password is set or
 * pass matches it. Scripts check the password without ever seeing it.
 */
static int
lua_api_check_password(lua_State *L)
{
	struct lua_sandbox *sb = (struct lua_sandbox *)lua_touserdata(L,
			    lua_upvalueindex(1));
	const char	*want = sb->conf->access_password, *pass;
	size_t		 len;

	if (want == NULL) {
		lua_pushboolean(L, 1);
		return 1;
	}
	if (lua_type(L, 1) != LUA_TSTRING) {
		lua_pushboolean(L, 0);
		return 1;
	}
	pass = lua_tolstring(L, 1, &len);
	lua_pushboolean(L, len == strlen(want) &&
	    CRYPTO_memcmp(pass, want, len) == 0);
	return 1;
}

/* t[key] = s, or nothing when s is NULL. Stack: t. */
void
lua_field_str(lua_State *L, const char *key, const char *s)
{
	if (s == NULL)
		return;
	lua_pushstring(L, s);
	lua_setfield(L, -2, key);
}

/* t[key] = n. Stack: t. */
void
lua_field_num(lua_State *L, const char *key, double n)
{
	lua_pushnumber(L, n);
	lua_setfield(L, -2, key);
}

/* t[key] = b. Stack: t. */
void
lua_field_bool(lua_State *L, const char *key, int b)
{
	lua_pushboolean(L, b);
	lua_setfield(L, -2, key);
}

/*
 * Push sluice.config: the config as nested read-only tables, keys as in
 * config.json with '-' written '_'. Secrets (pool pass, access-password,
 * http access-token) are left out.
 */
static void
lua_sb_config(lua_State *L, const struct config *c)
{
	int	 proxies, i;

	proxies = lua_gettop(L);		/* the caller pushed proxies */
	lua_createtable(L, 0, 24);
	lua_field_str(L, "path", c->path);
	lua_field_str(L, "dir", c->dir);
	lua_field_str(L, "mode", config_mode_text(c->mode));
	lua_field_str(L, "workers", config_workers_text(c->workers));
	lua_field_num(L, "custom_diff", (double)c->custom_diff);
	lua_field_bool(L, "custom_diff_stats", c->custom_diff_stats);
	lua_field_bool(L, "algo_ext", c->algo_ext);
	lua_field_num(L, "reuse_timeout", c->reuse_timeout);
	lua_field_num(L, "retries", c->retries);
	lua_field_num(L, "retry_pause", c->retry_pause);
	lua_field_num(L, "retry_pause_max", c->retry_pause_max);
	lua_field_bool(L, "watch", c->watch);
	lua_field_num(L, "max_connections", c->max_connections);
	lua_field_num(L, "max_upstreams", c->max_upstreams);
	lua_field_num(L, "workers_max", c->workers_max);

	lua_createtable(L, (int)c->nbinds, 0);
	for (i = 0; i < (int)c->nbinds; i++) {
		lua_createtable(L, 0, 3);
		lua_field_str(L, "host", c->binds[i].host);
		lua_field_num(L, "port", c->binds[i].port);
		lua_field_bool(L, "tls", c->binds[i].tls);
		lua_ro_push(L, proxies);
		lua_rawseti(L, -2, i + 1);
	}
	lua_ro_push(L, proxies);
	lua_setfield(L, -2, "bind");

	lua_createtable(L, (int)c->npools, 0);
	for (i = 0; i < (int)c->npools; i++) {
		lua_createtable(L, 0, 9);
		lua_field_str(L, "url", c->pools[i].url);
		lua_field_str(L, "host", c->pools[i].host);
		lua_field_num(L, "port", c->pools[i].port);
		lua_field_str(L, "user", c->pools[i].user);
		lua_field_str(L, "rig_id", c->pools[i].rig_id);
		lua_field_str(L, "algo", c->pools[i].algo);
		lua_field_bool(L, "tls", c->pools[i].tls);
		lua_field_str(L, "tls_fingerprint",
		    c->pools[i].tls_fingerprint);
		lua_field_bool(L, "keepalive", c->pools[i].keepalive);
		lua_ro_push(L, proxies);
		lua_rawseti(L, -2, i + 1);
	}
	lua_ro_push(L, proxies);
	lua_setfield(L, -2, "pools");

	lua_createtable(L, 0, 1);
	lua_field_bool(L, "enabled", c->tls.enabled);
	lua_ro_push(L, proxies);
	lua_setfield(L, -2, "tls");

	lua_createtable(L, 0, 4);
	lua_field_bool(L, "enabled", c->http.enabled);
	lua_field_str(L, "host", c->http.host);
	lua_field_num(L, "port", c->http.port);
	lua_field_bool(L, "restricted", c->http.restricted);
	lua_ro_push(L, proxies);
	lua_setfield(L, -2, "http");

	lua_createtable(L, 0, 2);
	lua_field_num(L, "max_connections_per_minute",
	    c->rate_limit_per_minute);
	lua_field_num(L, "ban_duration", c->rate_limit_ban);
	lua_ro_push(L, proxies);
	lua_setfield(L, -2, "rate_limit");

	lua_createtable(L, 0, 3);
	lua_createtable(L, (int)c->nlua_scripts, 0);
	for (i = 0; i < (int)c->nlua_scripts; i++) {
		lua_pushstring(L, c->lua_scripts[i]);
		lua_rawseti(L, -2, i + 1);
	}
	lua_ro_push(L, proxies);
	lua_setfield(L, -2, "scripts");
	lua_field_num(L, "instruction_limit", (double)c->lua_instruction_limit);
	lua_field_num(L, "memory_limit", (double)c->lua_memory_limit);
	lua_ro_push(L, proxies);
	lua_setfield(L, -2, "lua");

	lua_ro_push(L, proxies);
}

/* Open one library through lua_call, as its luaopen_* expects. */
static void
lua_sb_open(lua_State *L, lua_CFunction f, const char *name)
{
	lua_pushcfunction(L, f);
	lua_pushstring(L, name);
	lua_call(L, 1, 0);
}

/*
 * Build the sandbox in a new state (run under lua_cpcall with the
 * struct lua_sandbox as argument, so errors are returned, not raised into
 * C). Afterwards the real global table holds only the allowed names, _G
 * and the thread's globals are the proxy, and sb has the registry refs of
 * the real globals and the proxy map.
 */
int
lua_sandbox_open(lua_State *L)
{
	static const char *const allowed[] = {
		"assert", "error", "getmetatable", "ipairs", "next", "pairs",
		"pcall", "rawequal", "rawget", "rawset", "select",
		"setmetatable", "tonumber", "tostring", "type", "unpack",
		"xpcall", "gcinfo", "collectgarbage", "load", "loadstring",
		"_VERSION", "string", "table", "math", "bit", NULL
	};
	struct lua_sandbox *sb = (struct lua_sandbox *)lua_touserdata(L, 1);
	unsigned char	 seed[4];
	uint32_t	 s;
	int		 g, proxies, i, keep;

	lua_settop(L, 0);
	lua_sb_open(L, luaopen_base, "");
	lua_sb_open(L, luaopen_string, LUA_STRLIBNAME);
	lua_sb_open(L, luaopen_table, LUA_TABLIBNAME);
	lua_sb_open(L, luaopen_math, LUA_MATHLIBNAME);
	lua_sb_open(L, luaopen_bit, LUA_BITLIBNAME);

	lua_pushvalue(L, LUA_GLOBALSINDEX);
	g = lua_gettop(L);				/* stack: G */
	lua_newtable(L);
	proxies = lua_gettop(L);			/* stack: G, proxies */
	lua_pushvalue(L, proxies);
	sb->proxies_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pushvalue(L, g);
	sb->globals_ref = luaL_ref(L, LUA_REGISTRYINDEX);

	/*
	 * Drop every global not on the allow list (clearing a field while
	 * traversing is allowed; adding one is not).
	 */
	lua_pushnil(L);
	while (lua_next(L, g) != 0) {
		lua_pop(L, 1);
		keep = 0;
		for (i = 0; lua_type(L, -1) == LUA_TSTRING &&
		    allowed[i] != NULL; i++) {
			if (strcmp(lua_tostring(L, -1), allowed[i]) == 0)
				keep = 1;
		}
		if (!keep) {
			lua_pushvalue(L, -1);
			lua_pushnil(L);
			lua_rawset(L, g);
		}
	}
	lua_getfield(L, g, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);

	/* math.random: seeded here, from the kernel. */
	if (getentropy(seed, sizeof seed) != 0)
		memset(seed, 0, sizeof seed);
	s = ((uint32_t)seed[0] << 24 | (uint32_t)seed[1] << 16 |
	    (uint32_t)seed[2] << 8 | seed[3]) ^ (uint32_t)getpid() ^
	    (uint32_t)time(NULL);
	lua_getfield(L, g, LUA_MATHLIBNAME);
	lua_getfield(L, -1, "randomseed");
	lua_pushnumber(L, (double)s);
	lua_call(L, 1, 0);
	lua_pop(L, 1);

	/* Wrapped base functions; the closures get sb as upvalue 1. */
	lua_pushcfunction(L, lua_sb_load);
	lua_setfield(L, g, "load");
	lua_pushcfunction(L, lua_sb_load);
	lua_setfield(L, g, "loadstring");
	lua_pushcfunction(L, lua_sb_collectgarbage);
	lua_setfield(L, g, "collectgarbage");
	lua_pushlightuserdata(L, sb);
	lua_pushcclosure(L, lua_sb_rawget, 1);
	lua_setfield(L, g, "rawget");
	lua_pushlightuserdata(L, sb);
	lua_pushcclosure(L, lua_sb_rawset, 1);
	lua_setfield(L, g, "rawset");
	lua_pushlightuserdata(L, sb);
	lua_getfield(L, g, "next");
	lua_pushcclosure(L, lua_sb_pairs, 2);
	lua_setfield(L, g, "pairs");
	lua_pushlightuserdata(L, sb);
	lua_getfield(L, g, "ipairs");
	lua_pushcclosure(L, lua_sb_ipairs, 2);
	lua_setfield(L, g, "ipairs");

	/* The API table. */
	lua_createtable(L, 0, 12);
	lua_pushcfunction(L, lua_api_log);
	lua_setfield(L, -2, "log");
	lua_pushcfunction(L, lua_api_now);
	lua_setfield(L, -2, "now");
	lua_pushcfunction(L, lua_api_monotonic);
	lua_setfield(L, -2, "monotonic");
	lua_pushlightuserdata(L, sb);
	lua_pushcclosure(L, lua_api_check_password, 1);
	lua_setfield(L, -2, "check_password");
	lua_pushcfunction(L, lua_api_secret_tag);
	lua_setfield(L, -2, "secret_tag");
	lua_field_num(L, "LOG_WARN", 1);
	lua_field_num(L, "LOG_INFO", 2);
	lua_field_num(L, "LOG_DEBUG", 3);
	lua_field_str(L, "version", SLUICE_VERSION);
	/* stack: G, proxies, api, proxies (for lua_sb_config), config */
	lua_pushvalue(L, proxies);
	lua_sb_config(L, sb->conf);
	lua_remove(L, -2);
	lua_setfield(L, -2, "config");
	lua_ro_push(L, proxies);
	lua_setfield(L, g, "sluice");

	/*
	 * The global proxy: empty, reads fall through to G (whose own
	 * metatable handles missing names), writes go to lua_sb_newindex.
	 * It becomes the thread's globals, so every chunk loaded from now
	 * on, getfenv(0) and _G all see the proxy, never G itself.
	 */
	lua_createtable(L, 0, 1);			/* G's metatable */
	lua_pushlightuserdata(L, sb);
	lua_pushcclosure(L, lua_sb_index, 1);
	lua_setfield(L, -2, "__index");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, g);
	lua_newtable(L);				/* the proxy */
	lua_createtable(L, 0, 3);
	lua_pushvalue(L, g);
	lua_setfield(L, -2, "__index");
	lua_pushlightuserdata(L, sb);
	lua_pushcclosure(L, lua_sb_newindex, 1);
	lua_setfield(L, -2, "__newindex");
	lua_pushliteral(L, "locked");
	lua_setfield(L, -2, "__metatable");
	lua_setmetatable(L, -2);
	lua_pushvalue(L, -1);
	lua_pushvalue(L, g);
	lua_rawset(L, proxies);		/* proxies[proxy] = G */
	lua_pushvalue(L, -1);
	lua_setfield(L, g, "_G");
	lua_replace(L, LUA_GLOBALSINDEX);
	lua_settop(L, 0);
	return 0;
}
