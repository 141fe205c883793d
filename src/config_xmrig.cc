/*
 * config_xmrig.cc: xmrig-proxy's keys that sluice does not act on.
 *
 * An operator moving from xmrig-proxy keeps a file full of them. Each is
 * accepted without the "unknown key" warning; one whose value would make
 * xmrig-proxy do something sluice does not (true, a value other than
 * null, false and "", a number other than 0, as "when" says) gets one
 * warning that names it and says what is not done, so that a pool meant
 * for daemon mining is not silently mined as a stratum pool. false and
 * null stay silent: xmrig-proxy writes them into every file it saves.
 */
#include <string.h>

#include "config.h"

enum config_when {
	WHEN_NEVER,		/* silent: nothing sluice should do */
	WHEN_TRUE,
	WHEN_SET,
	WHEN_NONZERO
};

struct config_xmrig {
	const char	*key;
	enum config_when when;
	const char	*why;
};

static const struct config_xmrig config_xmrig_top[] = {
	/* sluice takes no fee; the console's colours and title. */
	{ "donate-level", WHEN_NEVER, NULL },
	{ "donate-over-proxy", WHEN_NEVER, NULL },
	{ "colors", WHEN_NEVER, NULL },
	{ "title", WHEN_NEVER, NULL },
	/* sluice never writes its config; editors' and xmrig's markers. */
	{ "autosave", WHEN_NEVER, NULL },
	{ "$schema", WHEN_NEVER, NULL },
	{ "version", WHEN_NEVER, NULL },
	/* Its boolean; sluice's own "debug" is an object (config.cc). */
	{ "debug", WHEN_TRUE, "\"verbose\": 2 (or -vv) logs every stratum "
	    "line instead" },
	{ "coin", WHEN_SET, "give each pool its \"algo\" instead" },
	{ "algo", WHEN_SET, "give each pool its \"algo\" instead" },
	{ NULL, WHEN_NEVER, NULL }
};

static const struct config_xmrig config_xmrig_pool[] = {
	{ "daemon", WHEN_TRUE, "solo mining from a node's RPC; the url is "
	    "used as a stratum pool" },
	{ "daemon-poll-interval", WHEN_NEVER, NULL },
	{ "daemon-job-timeout", WHEN_NEVER, NULL },
	{ "daemon-zmq-port", WHEN_NEVER, NULL },
	{ "spend-secret-key", WHEN_SET, "it goes with daemon mining" },
	{ "self-select", WHEN_SET, "block templates from a node; the pool's "
	    "own jobs are mined" },
	{ "submit-to-origin", WHEN_TRUE, "it goes with self-select" },
	{ "coin", WHEN_SET, "give the pool its \"algo\" instead" },
	/* Not used by xmrig-proxy either; PoW variants of 2018. */
	{ "nicehash", WHEN_NEVER, NULL },
	{ "variant", WHEN_NEVER, NULL },
	{ NULL, WHEN_NEVER, NULL }
};

static const struct config_xmrig config_xmrig_dns[] = {
	{ "ipv6", WHEN_TRUE, "pool host names resolve to IPv4 and IPv6 "
	    "addresses alike" },
	{ "ip_version", WHEN_NONZERO, "pool host names resolve to IPv4 and "
	    "IPv6 addresses alike" },
	{ "ttl", WHEN_NEVER, NULL },
	{ NULL, WHEN_NEVER, NULL }
};

/* "api" holds id and worker-id; the rest is xmrig-proxy 2's HTTP API. */
static const struct config_xmrig config_xmrig_api[] = {
	{ "port", WHEN_NONZERO, "the API is the \"http\" object" },
	{ "access-token", WHEN_NEVER, NULL },
	{ "ipv6", WHEN_NEVER, NULL },
	{ "restricted", WHEN_NEVER, NULL },
	{ NULL, WHEN_NEVER, NULL }
};

static const struct config_xmrig *config_xmrig_table(enum config_xmrig_obj);

/* The table of an object's xmrig-proxy keys; NULL for none. */
static const struct config_xmrig *
config_xmrig_table(enum config_xmrig_obj obj)
{
	switch (obj) {
	case XMRIG_TOP:
		return config_xmrig_top;
	case XMRIG_POOL:
		return config_xmrig_pool;
	case XMRIG_API:
		return config_xmrig_api;
	case XMRIG_DNS:
		return config_xmrig_dns;
	case XMRIG_NONE:
		break;
	}
	return NULL;
}

/*
 * If key is one of xmrig-proxy's keys of obj, add "FILE: PREFIXKEY: not
 * supported by sluice: ..." to warnings when v would make it do
 * something, and return 1; return 0 if it is not one of them.
 */
int
config_xmrig_key(enum config_xmrig_obj obj, const char *file,
    const char *prefix, const char *key, json_t *v, struct strlist *warnings)
{
	const struct config_xmrig	*tab = config_xmrig_table(obj);
	int				 on = 0;

	for (; tab != NULL && tab->key != NULL; tab++) {
		if (strcmp(tab->key, key) == 0)
			break;
	}
	if (tab == NULL || tab->key == NULL)
		return 0;
	switch (tab->when) {
	case WHEN_NEVER:
		break;
	case WHEN_TRUE:
		on = json_is_true(v);
		break;
	case WHEN_SET:
		on = !json_is_null(v) && !json_is_false(v) &&
		    !(json_is_string(v) && json_string_length(v) == 0);
		break;
	case WHEN_NONZERO:
		on = json_is_true(v) || (json_is_integer(v) &&
		    json_integer_value(v) != 0);
		break;
	}
	if (on)
		strlist_add(warnings, "%s: %s%s: not supported by sluice: %s",
		    file, prefix, key, tab->why);
	return 1;
}
