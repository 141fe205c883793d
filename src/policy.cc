/*
 * policy.cc: the built-in policy. It has the same interface the Lua
 * policy will have, so "fall back" means "call this". Each function is
 * pure: it reads the config and the miner and returns a decision.
 */
#include <stdlib.h>
#include <string.h>

#include "sluice.h"

#define POLICY_MIN_DIFF	100	/* xmrig-proxy ignores +N below this */

/* A loaded policy: nothing yet beyond the built-in (the Lua VM goes here). */
struct policy {
	int	 unused;
};

static struct policy	*policy_live;

/* Build a policy for a config; NULL with errors when it cannot load. */
struct policy *
policy_load(struct config *c, struct strlist *errors)
{
	(void)c;
	(void)errors;
	return XCALLOC(struct policy, 1);
}

/* Make a loaded policy the live one; frees the old. */
void
policy_swap(struct policy *p)
{
	policy_free(policy_live);
	policy_live = p;
}

/* Free a policy. */
void
policy_free(struct policy *p)
{
	free(p);
}

/* Has a policy script changed on disk since it was loaded? */
int
policy_files_changed(void)
{
	return 0;
}

/* Admit a new connection (0) or refuse it (-1). */
int
policy_connect(const struct config *c, const char *ip, int local_port,
    int tls)
{
	(void)c;
	(void)ip;
	(void)local_port;
	(void)tls;
	return 0;
}

/* A connection admitted by policy_connect() has closed. */
void
policy_disconnect(const char *ip)
{
	(void)ip;
}

/* Once a second: token buckets and bans. */
void
policy_tick(time_t now)
{
	(void)now;
}

/*
 * Simple mode: the pool user and pass for this miner's own upstream.
 * Returns 0 to use the configured pool's.
 */
int
policy_upstream_login(const struct config *c, const struct miner *m,
    char **user, char **pass)
{
	(void)c;
	(void)m;
	*user = *pass = NULL;
	return 0;
}

/* Accept a login (NULL) or say why not. */
const char *
policy_login(const struct config *c, const struct miner *m)
{
	if (m->login == NULL || m->login[0] == '\0')
		return "Invalid payment address provided";
	if (c->access_password != NULL &&
	    (m->pass == NULL || strcmp(m->pass, c->access_password) != 0))
		return "Invalid password";
	return NULL;
}

/*
 * Split "WALLET+N" into the user and a custom difficulty; without a valid
 * suffix the user is the login and the global custom-diff applies.
 */
void
policy_custom_diff(const struct config *c, const char *login, char **user,
    uint64_t *diff)
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

/* The worker name for the configured workers mode; NULL when disabled. */
char *
policy_worker_name(const struct config *c, const struct miner *m)
{
	switch (c->workers) {
	case WORKERS_NONE:
		return NULL;
	case WORKERS_RIGID:
		return xstrdup(m->rigid != NULL ? m->rigid : m->user);
	case WORKERS_USER:
		return xstrdup(m->user);
	case WORKERS_PASSWORD:
		return xstrdup(m->pass);
	case WORKERS_AGENT:
		return xstrdup(m->agent);
	case WORKERS_IP:
		return xstrdup(m->ip);
	}
	return NULL;
}
