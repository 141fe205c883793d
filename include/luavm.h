/*
 * luavm.h: the Lua side of the policy (lua_vm.cc, lua_hook.cc,
 * lua_sandbox.cc). It sees the config and a miner's peer, never a socket
 * or an upstream.
 */
#ifndef SLUICE_LUAVM_H
#define SLUICE_LUAVM_H

#include "sluice.h"
#include "stats.h"

/*
 * lua_vm.cc: the sandboxed policy VM, its limits and the one hook-call
 * wrapper. Hooks are indexed by enum stats_hook.
 */
struct config;
struct luavm;
struct lua_State;
struct luavm	*lua_vm_load(struct config *, struct strlist *errors);
void		 lua_vm_free(struct luavm *);
int		 lua_vm_has(const struct luavm *, int hook);
size_t		 lua_vm_memory(const struct luavm *);
int		 lua_vm_files_changed(struct luavm *);
extern int	 lua_vm_alloc_fallback;	/* tests: force luaL_newstate */

/*
 * lua_hook.cc: each hook's arguments and return values. Each
 * lua_hook_<hook>() returns -1 when the call failed (already logged and
 * counted): policy.cc then decides as the config's on-error says.
 */
struct lua_conn {
	const char	*ip;
	int		 port;		/* local bind port */
	int		 tls;
	int		 allowed;	/* the native verdict */
	double		 tokens;	/* left in the bucket; HUGE_VAL: off */
	int		 connections;	/* open now from ip */
};
int		 lua_hook_connect(struct luavm *, const struct lua_conn *,
		     int *decided, int *allow, int *ban);
int		 lua_hook_login(struct luavm *, const struct peer *,
		     const char **why);
int		 lua_hook_custom_diff(struct luavm *, const struct peer *,
		     const char *login, char **user, uint64_t *diff);
int		 lua_hook_worker_name(struct luavm *, const struct peer *,
		     const char *mode, char **name);
int		 lua_hook_upstream_login(struct luavm *, const struct peer *,
		     char **user, char **pass);

/*
 * Between lua_vm.cc and lua_hook.cc only. lua_vm_call() runs the function
 * under nargs arguments (stack: ..., fn, arg1..argN) and hands the results
 * to check, which fills a lua_result or says why they are wrong; -1 when
 * anything failed, reported to errors at load time or else logged and
 * counted. lua_hook_samples() calls each hook once at load time.
 */
#define LUA_MSG_MAX	256	/* an on_login refusal message */
struct lua_result {			/* each hook uses its own part */
	int		 decided;	/* the hook did not say nil */
	int		 allow;
	int		 ban;
	char		*user;
	char		*pass;
	uint64_t	 diff;
	char		 msg[LUA_MSG_MAX];
};
typedef int	(*lua_check_fn)(struct lua_State *, int first, int n,
		    struct lua_result *, char *why, size_t whylen);
struct lua_miner {			/* the table of the login under way */
	int		 ref;		/* registry, or LUA_NOREF */
	const struct peer *peer;	/* ... whose it is */
	uint64_t	 id;
};
int		 lua_vm_call(struct luavm *, int hook, int nargs,
		     lua_check_fn, struct lua_result *, struct strlist *);
struct lua_State *lua_vm_state(struct luavm *);
void		 lua_vm_push_hook(struct luavm *, int hook);
struct lua_miner *lua_vm_miner(struct luavm *);
int		 lua_hook_samples(struct luavm *, const struct config *,
		     struct strlist *errors);

/* lua_sandbox.cc: a policy VM's sandbox and its "sluice" table. */
struct lua_sandbox {
	const struct config *conf;	/* sluice.config, check_password */
	int		 locked;	/* globals frozen: hook time */
	int		 globals_ref;	/* registry: the real global table */
	int		 proxies_ref;	/* registry: proxy -> backing table */
};
int		 lua_sandbox_open(struct lua_State *);	/* lua_cpcall */
void		 lua_where(struct lua_State *, int level, char *, size_t);
void		 lua_field_str(struct lua_State *, const char *key,
		     const char *);
void		 lua_field_num(struct lua_State *, const char *key, double);
void		 lua_field_bool(struct lua_State *, const char *key, int);

#endif /* SLUICE_LUAVM_H */
