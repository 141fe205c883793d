/*
 * luavm.h: the Lua side of the policy (lua.cc, lua_sandbox.cc). It sees
 * the config and a miner's peer, never a socket or an upstream.
 */
#ifndef SLUICE_LUAVM_H
#define SLUICE_LUAVM_H

#include "sluice.h"
#include "stats.h"

/*
 * lua.cc: the sandboxed policy VM and the one hook-call wrapper. Hooks
 * are indexed by enum stats_hook. Each lua_vm_<hook>() returns -1 when
 * the call failed (already logged and counted): use the built-in then.
 */
struct config;
struct luavm;
struct lua_conn {
	const char	*ip;
	int		 port;		/* local bind port */
	int		 tls;
	int		 allowed;	/* the native verdict */
	double		 tokens;	/* left in the bucket; HUGE_VAL: off */
	int		 connections;	/* open now from ip */
};
struct luavm	*lua_vm_load(struct config *, struct strlist *errors);
void		 lua_vm_free(struct luavm *);
int		 lua_vm_has(const struct luavm *, int hook);
size_t		 lua_vm_memory(const struct luavm *);
int		 lua_vm_files_changed(struct luavm *);
int		 lua_vm_connect(struct luavm *, const struct lua_conn *,
		     int *decided, int *allow, int *ban);
int		 lua_vm_login(struct luavm *, const struct peer *,
		     const char **why);
int		 lua_vm_custom_diff(struct luavm *, const struct peer *,
		     const char *login, char **user, uint64_t *diff);
int		 lua_vm_worker_name(struct luavm *, const struct peer *,
		     const char *mode, char **name);
int		 lua_vm_upstream_login(struct luavm *, const struct peer *,
		     char **user, char **pass);
extern int	 lua_alloc_fallback;	/* tests: force luaL_newstate */

/* lua_sandbox.cc: a policy VM's sandbox and its "sluice" table. */
struct lua_State;
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
