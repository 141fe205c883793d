/*
 * policy.h: the operator's policy (policy.cc). Miners reach it through
 * their struct peer only.
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include "sluice.h"

/*
 * policy.cc: connection admission (with ratelimit.cc), login acceptance,
 * custom difficulty, worker naming and simple mode's upstream login. The
 * built-in policy and the Lua policy (lua_hook.cc) have the same interface; a
 * script error falls back to the built-in or, per hook, to a denial
 * (policy.on-error in the config). policy_login() must precede
 * policy_custom_diff() and policy_worker_name() for the same miner, as
 * miner_login() calls them: custom_diff(m) gets that miner's table.
 */
struct config;
struct policy;
struct policy	*policy_load(struct config *, struct strlist *errors);
void		 policy_swap(struct policy *);
void		 policy_free(struct policy *);
int		 policy_files_changed(void);
int		 policy_connect(const struct config *, const char *ip,
		     int local_port, int tls);
void		 policy_disconnect(const char *ip);
void		 policy_tick(time_t now);
int		 policy_upstream_login(const struct config *,
		     const struct peer *, char **user, char **pass);
const char	*policy_login(const struct config *, const struct peer *);
void		 policy_custom_diff(const struct config *, const struct peer *,
		     char **user, uint64_t *diff);
char		*policy_worker_name(const struct config *, const struct peer *);
size_t		 policy_lua_memory(void);
/* The built-in policy: the fallback of every hook. */
const char	*policy_builtin_login(const struct config *,
		     const struct peer *);
void		 policy_builtin_custom_diff(const struct config *,
		     const char *login, char **user, uint64_t *diff);
char		*policy_builtin_worker_name(const struct config *,
		     const struct peer *);

#endif /* SLUICE_POLICY_H */
