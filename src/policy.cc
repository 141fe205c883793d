/*
 * policy.cc: connection admission, login acceptance, custom difficulty,
 * worker naming and (simple mode) upstream credentials.
 *
 * Each decision has a built-in form (policy_builtin_*, pure: config and
 * miner in, decision out) and may have a Lua hook (lua_hook.cc). The public
 * policy_* functions call the hook when the live policy defines one and
 * fall back to the built-in when it does not.
 *
 * Fail open or closed: when a hook call fails (error, limit, wrong return
 * type: lua_vm.cc has logged and counted it), policy.on-error says what
 * decides instead, per hook. "builtin", the default, fails open and keeps
 * miners mining while a script is broken; "deny" keeps a deny list honest
 * when a miner can make the script fail. Per hook, builtin / deny:
 *   on_connect      the native token bucket's verdict (the rate limit
 *                   still applies) / refused, as a native deny;
 *   on_login        the built-in checks (an address or agent the script
 *                   meant to block gets in; access-password still holds)
 *                   / refused with POLICY_DENIED and closed, like a
 *                   script's own refusal;
 *   custom_diff     the "+N" suffix, else custom-diff / the user without
 *                   its "+N" and custom-diff: the miner's ask is ignored;
 *   worker_name     the workers mode / no worker name;
 *   upstream_login  the configured pool credentials, under both.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "luavm.h"
#include "policy.h"
#include "ratelimit.h"
#include "stats.h"

#define POLICY_MIN_DIFF	100	/* xmrig-proxy ignores a smaller +N */
/* The refusal of a failed on_login under on-error "deny". */
#define POLICY_DENIED	"Access denied by policy"

/* A loaded policy: the Lua VM, or none for the built-in alone. */
struct policy {
	struct luavm	*vm;
};

static struct policy	*policy_live;

static struct luavm	*policy_vm(enum stats_hook);
static int		 policy_deny(const struct config *, enum stats_hook);

/* The live VM if it defines hook, else NULL. */
static struct luavm *
policy_vm(enum stats_hook hook)
{
	if (policy_live == NULL || !lua_vm_has(policy_live->vm, hook))
		return NULL;
	return policy_live->vm;
}

/* Does a failed call of hook fail closed (policy.on-error "deny")? */
static int
policy_deny(const struct config *c, enum stats_hook hook)
{
	return c->on_error[hook] == ON_ERROR_DENY;
}

/* Build a policy for a config; NULL with errors when it cannot load. */
struct policy *
policy_load(struct config *c, struct strlist *errors)
{
	struct policy	*p;

	p = XCALLOC(struct policy, 1);
	if (c->nlua_scripts > 0 &&
	    (p->vm = lua_vm_load(c, errors)) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

/* Make a loaded policy the live one; frees the old. NULL: shutdown. */
void
policy_swap(struct policy *p)
{
	struct policy	*old = policy_live;

	policy_live = p;
	policy_free(old);
	if (p == NULL)
		ratelimit_clear();
}

/* Free a policy. */
void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	lua_vm_free(p->vm);
	free(p);
}

/* Has a policy script changed on disk since it was loaded? */
int
policy_files_changed(void)
{
	if (policy_live == NULL || policy_live->vm == NULL)
		return 0;
	return lua_vm_files_changed(policy_live->vm);
}

/* Bytes held by the live Lua VM (0 without scripts). */
size_t
policy_lua_memory(void)
{
	if (policy_live == NULL || policy_live->vm == NULL)
		return 0;
	return lua_vm_memory(policy_live->vm);
}

/*
 * Admit a new connection (0) or refuse it (-1). The token bucket and bans
 * give the native verdict; on_connect may override it and may ban. A
 * failed on_connect keeps the native verdict, or with on-error "deny"
 * refuses (without a ban of its own). An address refused for an empty
 * bucket is banned for ban-duration unless the script banned it itself.
 */
int
policy_connect(const struct config *c, const char *ip, int local_port,
    int tls)
{
	struct luavm	*vm;
	struct lua_conn	 lc;
	enum rl_verdict	 v;
	int64_t		 now = sluice_mono_ms();
	int		 allow, decided = 0, lallow = 0, ban = 0, rc;
	const char	*why;

	v = ratelimit_take(ip, c->rate_limit_per_minute, now, &lc.tokens,
	    &lc.connections);
	allow = v == RL_OK;
	why = v == RL_BANNED ? "banned" : "rate";
	if ((vm = policy_vm(STATS_HOOK_ON_CONNECT)) != NULL) {
		lc.ip = ip;
		lc.port = local_port;
		lc.tls = tls;
		lc.allowed = allow;
		rc = lua_hook_connect(vm, &lc, &decided, &lallow, &ban);
		if (rc == 0 && decided) {
			allow = lallow;
			why = "lua";
		} else if (rc != 0 && allow &&
		    policy_deny(c, STATS_HOOK_ON_CONNECT)) {
			allow = 0;
			why = "lua_error";
		}
	}
	if (allow) {
		ratelimit_connected(ip, now);
		return 0;
	}
	sl_stats.ratelimit_denied++;
	if (ban == 0 && v == RL_EMPTY)
		ban = c->rate_limit_ban;
	log_debug("type=connect_denied ip=%s port=%d reason=%s", ip,
	    local_port, why);
	if (ban > 0 && ratelimit_ban(ip, ban, now))
		log_info("type=ip_banned ip=%s seconds=%d reason=%s", ip, ban,
		    why);
	return -1;
}

/* A connection admitted by policy_connect() has closed. */
void
policy_disconnect(const char *ip)
{
	ratelimit_disconnected(ip);
}

/* Once a second: forget addresses the rate limiter no longer needs. */
void
policy_tick(time_t now)
{
	(void)now;
	ratelimit_expire(sluice_mono_ms());
}

/*
 * Simple mode: the pool user and pass for this miner's own upstream.
 * Returns 1 with both set (the caller frees them), or 0 to use the
 * configured pool's, which is also what a failed hook gives under either
 * on-error: the operator's own credentials are already the closed choice.
 */
int
policy_upstream_login(const struct config *c, const struct peer *m,
    char **user, char **pass)
{
	struct luavm	*vm;
	int		 rc;

	(void)c;
	*user = *pass = NULL;
	if ((vm = policy_vm(STATS_HOOK_UPSTREAM_LOGIN)) == NULL)
		return 0;
	if ((rc = lua_hook_upstream_login(vm, m, user, pass)) < 0)
		return 0;
	return rc;
}

/*
 * Accept a login (NULL) or say why not. The message stays valid until
 * the next call. A failed on_login gives the built-in checks, or with
 * on-error "deny" a refusal, which the miner gets like a script's own.
 */
const char *
policy_login(const struct config *c, const struct peer *m)
{
	struct luavm	*vm;
	const char	*why;

	if ((vm = policy_vm(STATS_HOOK_ON_LOGIN)) == NULL)
		return policy_builtin_login(c, m);
	if (lua_hook_login(vm, m, &why) == 0)
		return why;
	if (policy_deny(c, STATS_HOOK_ON_LOGIN))
		return POLICY_DENIED;
	return policy_builtin_login(c, m);
}

/*
 * The user and custom difficulty for a miner's login. A failed hook gives
 * the built-in split of "+N", or with on-error "deny" the same user but
 * custom-diff, as if the miner had asked for no difficulty.
 */
void
policy_custom_diff(const struct config *c, const struct peer *m, char **user,
    uint64_t *diff)
{
	struct luavm	*vm;

	if ((vm = policy_vm(STATS_HOOK_CUSTOM_DIFF)) != NULL &&
	    lua_hook_custom_diff(vm, m, m->login, user, diff) == 0)
		return;
	policy_builtin_custom_diff(c, m->login, user, diff);
	if (vm != NULL && policy_deny(c, STATS_HOOK_CUSTOM_DIFF))
		*diff = c->custom_diff;
}

/*
 * The worker name; NULL for none. Ends the login policy_login began. A
 * failed hook gives the workers mode's name, or with on-error "deny" none.
 */
char *
policy_worker_name(const struct config *c, const struct peer *m)
{
	struct luavm	*vm;
	char		*name;

	if ((vm = policy_vm(STATS_HOOK_WORKER_NAME)) != NULL) {
		if (lua_hook_worker_name(vm, m,
		    config_workers_text(c->workers), &name) == 0)
			return name;
		if (policy_deny(c, STATS_HOOK_WORKER_NAME))
			return NULL;
	}
	return policy_builtin_worker_name(c, m);
}

/* Built-in: refuse an empty login and a wrong access password. */
const char *
policy_builtin_login(const struct config *c, const struct peer *m)
{
	if (m->login == NULL || m->login[0] == '\0')
		return "Invalid payment address provided";
	if (c->access_password != NULL &&
	    (m->pass == NULL || strcmp(m->pass, c->access_password) != 0))
		return "Invalid password";
	return NULL;
}

/*
 * Built-in: split "WALLET+N" into the user and a custom difficulty;
 * without a valid suffix the user is the login and the global
 * custom-diff applies.
 */
void
policy_builtin_custom_diff(const struct config *c, const char *login,
    char **user, uint64_t *diff)
{
	const char	*plus = strrchr(login, '+');
	char		*end;
	unsigned long long n;

	*diff = c->custom_diff;
	if (plus != NULL && plus[1] >= '0' && plus[1] <= '9') {
		n = strtoull(plus + 1, &end, 10);
		if (*end == '\0') {
			*user = xstrndup(login, plus - login);
			if (n >= POLICY_MIN_DIFF)
				*diff = n;
			return;
		}
	}
	*user = xstrdup(login);
}

/* Built-in: the worker name for the workers mode; NULL when disabled. */
char *
policy_builtin_worker_name(const struct config *c, const struct peer *m)
{
	char	 tag[SECRET_TAG_LEN + 1];

	switch (c->workers) {
	case WORKERS_NONE:
		return NULL;
	case WORKERS_RIGID:
		return xstrdup(m->rigid != NULL ? m->rigid : m->user);
	case WORKERS_USER:
		return xstrdup(m->user);
	case WORKERS_PASSWORD:
		secret_tag(m->pass, tag);
		return xstrdup(tag);
	case WORKERS_AGENT:
		return xstrdup(m->agent);
	case WORKERS_IP:
		return xstrdup(m->ip);
	}
	return NULL;
}
