/*
 * lua_hook.cc: the hooks as the policy calls them. Each lua_hook_<hook>()
 * pushes the hook and its arguments (a connection's table or a miner's),
 * runs it through lua_vm_call() (lua_vm.cc) and reads back what the
 * hook's checker accepted. The checkers say what each hook may return; a
 * wrong type is a failure like an error: logged and counted by the VM,
 * -1 here, and the built-in decision in policy.cc.
 *
 * Scripts see a miner only as a table built from its struct peer, never
 * the connection. lua_hook_samples() calls each hook once at load time on
 * made-up arguments, so a hook that fails on any input fails the load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.hpp>

#include "config.h"
#include "luavm.h"
#include "stats.h"

#define LUA_STR_MAX	1024	/* a returned user, pass or worker */
#define LUA_BAN_MAX	(365 * 86400)	/* longest on_connect ban */

static void	 lua_hook_push_miner(struct luavm *, const struct peer *,
		     int fresh);
static void	 lua_hook_push_conn(lua_State *, const struct lua_conn *,
		     int sample);
static int	 lua_hook_check_connect(lua_State *, int, int,
		     struct lua_result *, char *, size_t);
static int	 lua_hook_check_login(lua_State *, int, int,
		     struct lua_result *, char *, size_t);
static int	 lua_hook_check_str(lua_State *, int, const char *, char **,
		     char *, size_t);
static int	 lua_hook_check_custom_diff(lua_State *, int, int,
		     struct lua_result *, char *, size_t);
static int	 lua_hook_check_worker_name(lua_State *, int, int,
		     struct lua_result *, char *, size_t);
static int	 lua_hook_check_upstream_login(lua_State *, int, int,
		     struct lua_result *, char *, size_t);

/*
 * Push the table of a miner for the hooks of one login. on_login builds
 * it afresh; the later hooks of the same login get the same table, so a
 * hook can leave notes in it for the next. user is refreshed each time.
 */
static void
lua_hook_push_miner(struct luavm *vm, const struct peer *m, int fresh)
{
	lua_State		*L = lua_vm_state(vm);
	struct lua_miner	*t = lua_vm_miner(vm);
	size_t			 i;
	json_t			*v;
	int			 n = 0;

	if (!fresh && t->ref != LUA_NOREF && t->peer == m && t->id == m->id) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
		if (m->user != NULL) {
			lua_pushstring(L, m->user);
			lua_setfield(L, -2, "user");
		}
		return;
	}
	lua_createtable(L, 0, 12);
	lua_field_num(L, "id", (double)m->id);
	lua_field_str(L, "ip", m->ip);
	lua_field_num(L, "port", m->local_port);
	lua_field_num(L, "remote_port", m->port);
	lua_field_bool(L, "tls", m->tls);
	lua_field_str(L, "login", m->login != NULL ? m->login : "");
	lua_field_str(L, "pass", m->pass != NULL ? m->pass : "");
	lua_field_str(L, "agent", m->agent != NULL ? m->agent : "");
	lua_field_str(L, "rigid", m->rigid);
	lua_field_str(L, "user", m->user);
	lua_createtable(L, m->algos != NULL ? (int)json_array_size(m->algos) :
	    0, 0);
	if (m->algos != NULL) {
		json_array_foreach(m->algos, i, v) {
			if (json_is_string(v)) {
				lua_pushstring(L, json_string_value(v));
				lua_rawseti(L, -2, ++n);
			}
		}
	}
	lua_setfield(L, -2, "algo");
	lua_pushvalue(L, -1);
	if (t->ref == LUA_NOREF)
		t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	else
		lua_rawseti(L, LUA_REGISTRYINDEX, t->ref);
	t->peer = m;
	t->id = m->id;
}

/* Push the on_connect table. */
static void
lua_hook_push_conn(lua_State *L, const struct lua_conn *c, int sample)
{
	lua_createtable(L, 0, 7);
	lua_field_str(L, "ip", c->ip);
	lua_field_num(L, "port", c->port);
	lua_field_bool(L, "tls", c->tls);
	lua_field_bool(L, "allowed", c->allowed);
	lua_field_num(L, "tokens", c->tokens);
	lua_field_num(L, "connections", c->connections);
	if (sample)
		lua_field_bool(L, "sample", 1);
}

/* on_connect: nil | true | false[, seconds]. */
static int
lua_hook_check_connect(lua_State *L, int first, int n, struct lua_result *r,
    char *why, size_t len)
{
	double	 s;

	if (n == 0 || lua_isnil(L, first)) {
		r->decided = 0;
		return 0;
	}
	if (lua_type(L, first) != LUA_TBOOLEAN) {
		snprintf(why, len, "returned a %s, expected nil or a boolean",
		    luaL_typename(L, first));
		return -1;
	}
	r->decided = 1;
	r->allow = lua_toboolean(L, first);
	r->ban = 0;
	if (n < 2 || lua_isnil(L, first + 1) || r->allow)
		return 0;
	if (lua_type(L, first + 1) != LUA_TNUMBER ||
	    !((s = lua_tonumber(L, first + 1)) >= 0)) {
		snprintf(why, len, "returned false, %s: the ban must be a "
		    "number of seconds >= 0", luaL_typename(L, first + 1));
		return -1;
	}
	r->ban = s > LUA_BAN_MAX ? LUA_BAN_MAX : (int)s;
	return 0;
}

/* on_login: true | false[, "message"]. */
static int
lua_hook_check_login(lua_State *L, int first, int n, struct lua_result *r,
    char *why, size_t len)
{
	size_t	 i;

	if (n == 0 || lua_type(L, first) != LUA_TBOOLEAN) {
		snprintf(why, len, "returned %s%s, expected a boolean",
		    n == 0 ? "nothing" : "a ",
		    n == 0 ? "" : luaL_typename(L, first));
		return -1;
	}
	r->allow = lua_toboolean(L, first);
	if (r->allow)
		return 0;
	if (n < 2 || lua_isnil(L, first + 1)) {
		xstrlcpy(r->msg, "Login refused by policy", sizeof r->msg);
		return 0;
	}
	if (lua_type(L, first + 1) != LUA_TSTRING) {
		snprintf(why, len, "returned false, %s: the message must be "
		    "a string", luaL_typename(L, first + 1));
		return -1;
	}
	xstrlcpy(r->msg, lua_tostring(L, first + 1), sizeof r->msg);
	for (i = 0; r->msg[i] != '\0'; i++) {
		if ((unsigned char)r->msg[i] < 0x20)
			r->msg[i] = ' ';
	}
	if (r->msg[0] == '\0')
		xstrlcpy(r->msg, "Login refused by policy", sizeof r->msg);
	return 0;
}

/* A returned string no longer than LUA_STR_MAX, copied; or -1. */
static int
lua_hook_check_str(lua_State *L, int idx, const char *what, char **out,
    char *why, size_t len)
{
	size_t	 n;

	if (lua_type(L, idx) != LUA_TSTRING) {
		snprintf(why, len, "returned a %s as the %s, expected a "
		    "string", luaL_typename(L, idx), what);
		return -1;
	}
	lua_tolstring(L, idx, &n);
	if (n > LUA_STR_MAX || strlen(lua_tostring(L, idx)) != n) {
		snprintf(why, len, "the %s is longer than %d bytes or holds "
		    "a NUL", what, LUA_STR_MAX);
		return -1;
	}
	*out = xstrdup(lua_tostring(L, idx));
	return 0;
}

/* custom_diff: user[, diff]; diff nil or 0 means the pool's. */
static int
lua_hook_check_custom_diff(lua_State *L, int first, int n,
    struct lua_result *r, char *why, size_t len)
{
	double	 d = 0;

	if (n == 0) {
		snprintf(why, len, "returned nothing, expected user, diff");
		return -1;
	}
	if (n >= 2 && !lua_isnil(L, first + 1) &&
	    (lua_type(L, first + 1) != LUA_TNUMBER ||
	    !((d = lua_tonumber(L, first + 1)) >= 0))) {
		if (lua_type(L, first + 1) == LUA_TNUMBER)
			snprintf(why, len, "returned the difficulty %g, "
			    "expected a number >= 0", d);
		else
			snprintf(why, len, "returned a %s as the difficulty, "
			    "expected a number >= 0",
			    luaL_typename(L, first + 1));
		return -1;
	}
	if (lua_hook_check_str(L, first, "user", &r->user, why, len) != 0)
		return -1;
	if (d >= 18446744073709551615.0)
		r->diff = UINT64_MAX;
	else
		r->diff = (uint64_t)d;
	return 0;
}

/* worker_name: a string, or nil/false for no worker. */
static int
lua_hook_check_worker_name(lua_State *L, int first, int n,
    struct lua_result *r, char *why, size_t len)
{
	r->user = NULL;
	if (n == 0 || lua_isnil(L, first) || (lua_type(L, first) ==
	    LUA_TBOOLEAN && !lua_toboolean(L, first)))
		return 0;
	return lua_hook_check_str(L, first, "worker name", &r->user, why,
	    len);
}

/* upstream_login: nil, or user[, pass]. */
static int
lua_hook_check_upstream_login(lua_State *L, int first, int n,
    struct lua_result *r, char *why, size_t len)
{
	r->decided = 0;
	if (n == 0 || lua_isnil(L, first))
		return 0;
	if (lua_hook_check_str(L, first, "user", &r->user, why, len) != 0)
		return -1;
	if (n >= 2 && !lua_isnil(L, first + 1) &&
	    lua_hook_check_str(L, first + 1, "pass", &r->pass, why,
	    len) != 0) {
		free(r->user);
		r->user = NULL;
		return -1;
	}
	if (r->user[0] == '\0') {
		snprintf(why, len, "returned an empty user");
		free(r->user);
		free(r->pass);
		r->user = r->pass = NULL;
		return -1;
	}
	r->decided = 1;
	return 0;
}

/*
 * Call each defined hook once on a sample, so a hook that fails on any
 * input (a typo'd global, a wrong return type) fails the load instead.
 * Errors go to errors as "FILE:LINE: hook (sample call): message".
 */
int
lua_hook_samples(struct luavm *vm, const struct config *conf,
    struct strlist *errors)
{
	lua_State		*L = lua_vm_state(vm);
	struct peer		 m;
	struct lua_conn		 c = { "192.0.2.1", 3333, 0, 1, 30, 0 };
	struct lua_result	 r;
	json_t			*algos = json_pack("[s]", "rx/0");
	/* The sample login: writable copies, as a peer's strings are. */
	char			 sample_login[] = "SAMPLEWALLET+5000";
	char			 sample_pass[] = "x", sample_rigid[] = "sample-rig";
	char			 sample_agent[] = "XMRig/6.21.0";
	char			 sample_user[] = "SAMPLEWALLET";
	int			 h, rc = 0;

	memset(&m, 0, sizeof m);
	xstrlcpy(m.ip, "192.0.2.1", sizeof m.ip);
	m.local_port = 3333;
	m.port = 50000;
	m.login = sample_login;
	m.pass = sample_pass;
	m.agent = sample_agent;
	m.rigid = sample_rigid;
	m.algos = algos;
	for (h = 0; h < STATS_NHOOKS && rc == 0; h++) {
		if (!lua_vm_has(vm, h))
			continue;
		memset(&r, 0, sizeof r);
		/* stack: hook, its table[, mode] */
		lua_vm_push_hook(vm, h);
		switch (h) {
		case STATS_HOOK_ON_CONNECT:
			lua_hook_push_conn(L, &c, 1);
			rc = lua_vm_call(vm, h, 1, lua_hook_check_connect, &r,
			    errors);
			break;
		case STATS_HOOK_ON_LOGIN:
			lua_hook_push_miner(vm, &m, 1);
			lua_field_bool(L, "sample", 1);
			rc = lua_vm_call(vm, h, 1, lua_hook_check_login, &r,
			    errors);
			break;
		case STATS_HOOK_CUSTOM_DIFF:
			lua_hook_push_miner(vm, &m, 1);
			lua_field_bool(L, "sample", 1);
			rc = lua_vm_call(vm, h, 1, lua_hook_check_custom_diff,
			    &r, errors);
			break;
		case STATS_HOOK_WORKER_NAME:
			m.user = sample_user;
			lua_hook_push_miner(vm, &m, 1);
			lua_field_bool(L, "sample", 1);
			lua_pushstring(L, config_workers_text(conf->workers));
			rc = lua_vm_call(vm, h, 2, lua_hook_check_worker_name,
			    &r, errors);
			break;
		case STATS_HOOK_UPSTREAM_LOGIN:
			m.user = sample_user;
			lua_hook_push_miner(vm, &m, 1);
			lua_field_bool(L, "sample", 1);
			rc = lua_vm_call(vm, h, 1,
			    lua_hook_check_upstream_login, &r, errors);
			break;
		}
		free(r.user);
		free(r.pass);
	}
	/* Forget the sample miner: it lives on this stack frame. */
	lua_vm_miner(vm)->peer = NULL;
	json_decref(algos);
	return rc;
}

/* on_connect: 0 with the decision (decided 0: use the native verdict). */
int
lua_hook_connect(struct luavm *vm, const struct lua_conn *c, int *decided,
    int *allow, int *ban)
{
	struct lua_result	 r;

	memset(&r, 0, sizeof r);
	lua_vm_push_hook(vm, STATS_HOOK_ON_CONNECT);
	lua_hook_push_conn(lua_vm_state(vm), c, 0);
	if (lua_vm_call(vm, STATS_HOOK_ON_CONNECT, 1, lua_hook_check_connect,
	    &r, NULL) != 0)
		return -1;
	*decided = r.decided;
	*allow = r.allow;
	*ban = r.ban;
	return 0;
}

/* on_login: 0 with *why NULL (accept) or the refusal; -1 on error. */
int
lua_hook_login(struct luavm *vm, const struct peer *m, const char **why)
{
	static char		 msg[LUA_MSG_MAX];
	struct lua_result	 r;

	memset(&r, 0, sizeof r);
	lua_vm_push_hook(vm, STATS_HOOK_ON_LOGIN);
	lua_hook_push_miner(vm, m, 1);
	if (lua_vm_call(vm, STATS_HOOK_ON_LOGIN, 1, lua_hook_check_login, &r,
	    NULL) != 0)
		return -1;
	if (r.allow)
		*why = NULL;
	else {
		/* The caller keeps the pointer until the next login. */
		xstrlcpy(msg, r.msg, sizeof msg);
		*why = msg;
	}
	return 0;
}

/*
 * custom_diff: 0 with *user (allocated) and *diff; -1 on error. m may be
 * NULL when the caller only knows the login: the table then holds just
 * the login.
 */
int
lua_hook_custom_diff(struct luavm *vm, const struct peer *m,
    const char *login, char **user, uint64_t *diff)
{
	lua_State		*L = lua_vm_state(vm);
	struct lua_result	 r;

	memset(&r, 0, sizeof r);
	lua_vm_push_hook(vm, STATS_HOOK_CUSTOM_DIFF);
	if (m != NULL)
		lua_hook_push_miner(vm, m, 0);
	else {
		lua_createtable(L, 0, 1);
		lua_field_str(L, "login", login);
	}
	if (lua_vm_call(vm, STATS_HOOK_CUSTOM_DIFF, 1,
	    lua_hook_check_custom_diff, &r, NULL) != 0)
		return -1;
	*user = r.user;
	*diff = r.diff;
	return 0;
}

/* worker_name: 0 with *name (allocated, or NULL: no worker); -1 on error. */
int
lua_hook_worker_name(struct luavm *vm, const struct peer *m,
    const char *mode, char **name)
{
	struct lua_result	 r;

	memset(&r, 0, sizeof r);
	lua_vm_push_hook(vm, STATS_HOOK_WORKER_NAME);
	lua_hook_push_miner(vm, m, 0);
	lua_pushstring(lua_vm_state(vm), mode);
	if (lua_vm_call(vm, STATS_HOOK_WORKER_NAME, 2,
	    lua_hook_check_worker_name, &r, NULL) != 0)
		return -1;
	*name = r.user;
	return 0;
}

/*
 * upstream_login: 1 with *user and *pass (allocated; pass "x" when the
 * script gives none), 0 for the configured credentials, -1 on error.
 */
int
lua_hook_upstream_login(struct luavm *vm, const struct peer *m,
    char **user, char **pass)
{
	struct lua_result	 r;

	memset(&r, 0, sizeof r);
	lua_vm_push_hook(vm, STATS_HOOK_UPSTREAM_LOGIN);
	lua_hook_push_miner(vm, m, 0);
	if (lua_vm_call(vm, STATS_HOOK_UPSTREAM_LOGIN, 1,
	    lua_hook_check_upstream_login, &r, NULL) != 0)
		return -1;
	if (!r.decided)
		return 0;
	*user = r.user;
	*pass = r.pass != NULL ? r.pass : xstrdup("x");
	return 1;
}
