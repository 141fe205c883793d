/*
 * test_config_xmrig.cc: unit tests for xmrig-proxy's keys in config.json
 * (src/config_xmrig.cc and the keys config.cc takes from xmrig-proxy):
 * a value that would make xmrig-proxy do what sluice does not gets one
 * warning naming the key; false and null stay silent; sni, user-agent,
 * api.id and api.worker-id work; a placeholder wallet is warned about.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "config.h"

TestSuite(config_xmrig);

/* One load of "{bind, pools: [POOL], EXTRA}". */
struct load {
	char		 path[64];
	struct config	*conf;
	struct strlist	 errors;
	struct strlist	 warnings;
};

/* Load a config whose one pool has pool_extra and the top has extra. */
static void
load(struct load *l, const char *pool_extra, const char *extra)
{
	char	*text;
	int	 fd;

	memset(l, 0, sizeof(*l));
	cr_assert(asprintf(&text, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":"
	    "[{\"url\":\"pool.example.com:3333\",\"user\":\"W\"%s%s}]%s%s}",
	    *pool_extra ? "," : "", pool_extra, *extra ? "," : "",
	    extra) != -1);
	snprintf(l->path, sizeof(l->path), "/tmp/sluice-test-XXXXXX");
	fd = mkstemp(l->path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	l->conf = config_load(l->path, &l->errors, &l->warnings);
	cr_assert_not_null(l->conf, "refused: %s\n%s", text,
	    l->errors.n ? l->errors.v[0] : "");
	free(text);
}

/* Release a load. */
static void
done(struct load *l)
{
	config_unref(l->conf);
	strlist_clear(&l->errors);
	strlist_clear(&l->warnings);
	unlink(l->path);
}

/* All warnings, one per line, for messages; caller frees. */
static char *
joined(const struct strlist *list)
{
	size_t	 i, len = 1;
	char	*s;

	for (i = 0; i < list->n; i++)
		len += strlen(list->v[i]) + 1;
	s = (char *)calloc(1, len);
	for (i = 0; i < list->n; i++) {
		strcat(s, list->v[i]);
		strcat(s, "\n");
	}
	return s;
}

/*
 * The load must give exactly one warning, "FILE: key: not supported by
 * sluice: ..." mentioning why.
 */
static void
expect_warning(const char *pool_extra, const char *extra, const char *key,
    const char *why)
{
	struct load	 l;
	char		 want[128], *w;

	load(&l, pool_extra, extra);
	w = joined(&l.warnings);
	snprintf(want, sizeof want, "%s: %s: not supported by sluice: ",
	    l.path, key);
	cr_assert_eq(l.warnings.n, 1, "for %s%s, warnings:\n%s", pool_extra,
	    extra, w);
	cr_assert_eq(strncmp(l.warnings.v[0], want, strlen(want)), 0,
	    "want \"%s...\", got:\n%s", want, w);
	cr_assert(strstr(l.warnings.v[0], why) != NULL, "no \"%s\" in:\n%s",
	    why, w);
	free(w);
	done(&l);
}

/* The load must give no warning at all. */
static void
expect_silent(const char *pool_extra, const char *extra)
{
	struct load	 l;
	char		*w;

	load(&l, pool_extra, extra);
	w = joined(&l.warnings);
	cr_assert_eq(l.warnings.n, 0, "for %s%s, warnings:\n%s", pool_extra,
	    extra, w);
	free(w);
	done(&l);
}

Test(config_xmrig, pool_keys_that_would_do_something_warn)
{
	expect_warning("\"daemon\":true", "", "pools[0].daemon", "RPC");
	expect_warning("\"self-select\":\"node.example.com:18081\"", "",
	    "pools[0].self-select", "block templates");
	expect_warning("\"submit-to-origin\":true", "",
	    "pools[0].submit-to-origin", "self-select");
	expect_warning("\"coin\":\"monero\"", "", "pools[0].coin", "algo");
	expect_warning("\"spend-secret-key\":\"00ff\"", "",
	    "pools[0].spend-secret-key", "daemon");
}

Test(config_xmrig, top_keys_that_would_do_something_warn)
{
	expect_warning("", "\"coin\":\"xmr\"", "coin", "algo");
	expect_warning("", "\"algo\":\"cryptonight\"", "algo", "algo");
	expect_warning("", "\"debug\":true", "debug", "verbose");
	expect_warning("", "\"dns\":{\"ipv6\":true}", "dns.ipv6", "IPv6");
	expect_warning("", "\"dns\":{\"ip_version\":4,\"ttl\":30}",
	    "dns.ip_version", "IPv4");
	expect_warning("", "\"api\":{\"port\":8080,\"access-token\":\"t\"}",
	    "api.port", "\"http\"");
}

Test(config_xmrig, coins_pools_warn_with_their_path)
{
	struct load	 l;
	char		*w;

	load(&l, "", "\"coins\":{\"wow\":{\"pools\":[{\"url\":\"w.example:1\","
	    "\"daemon\":true}]}}");
	w = joined(&l.warnings);
	cr_assert(strstr(w, "coins.wow.pools[0].daemon: not supported") !=
	    NULL, "warnings:\n%s", w);
	free(w);
	done(&l);
}

Test(config_xmrig, false_and_null_stay_silent)
{
	/* As xmrig-proxy writes them into every file it saves. */
	expect_silent("\"algo\":null,\"coin\":null,\"rig-id\":null,"
	    "\"keepalive\":false,\"enabled\":true,\"tls\":false,\"sni\":false,"
	    "\"tls-fingerprint\":null,\"daemon\":false,\"socks5\":null,"
	    "\"self-select\":null,\"submit-to-origin\":false,"
	    "\"nicehash\":false,\"variant\":-1,\"daemon-poll-interval\":1000,"
	    "\"spend-secret-key\":\"\"",
	    "\"api\":{\"id\":null,\"worker-id\":null},\"colors\":true,"
	    "\"title\":true,\"donate-level\":0,\"donate-over-proxy\":0,"
	    "\"autosave\":true,\"user-agent\":null,\"debug\":false,"
	    "\"coin\":null,\"algo\":\"\",\"version\":1,"
	    "\"dns\":{\"ipv6\":false,\"ip_version\":0,\"ttl\":30}");
	/* xmrig-proxy 2's API, turned off. */
	expect_silent("", "\"api\":{\"port\":0,\"access-token\":null,"
	    "\"ipv6\":false,\"restricted\":true}");
}

Test(config_xmrig, unknown_keys_of_xmrig_objects_still_warn)
{
	struct load	 l;

	load(&l, "\"daemonn\":true", "\"dns\":{\"ttll\":1}");
	cr_assert_eq(l.warnings.n, 2);
	cr_assert(strstr(l.warnings.v[0], "pools[0].daemonn: unknown key") !=
	    NULL || strstr(l.warnings.v[1], "pools[0].daemonn: unknown key") !=
	    NULL);
	done(&l);
}

Test(config_xmrig, sni)
{
	struct load	 l;

	load(&l, "", "");
	cr_assert_eq(l.conf->pools[0].sni, 1, "SNI is sent by default");
	done(&l);
	load(&l, "\"sni\":false", "");
	cr_assert_eq(l.conf->pools[0].sni, 0);
	done(&l);
	load(&l, "\"sni\":true", "");
	cr_assert_eq(l.conf->pools[0].sni, 1);
	done(&l);
}

Test(config_xmrig, user_agent_and_api_names)
{
	struct load	 l;

	load(&l, "", "\"user-agent\":\"farm/1.0\",\"api\":{\"id\":\"abc\","
	    "\"worker-id\":\"edge-1\"}");
	cr_assert_str_eq(l.conf->user_agent, "farm/1.0");
	cr_assert_str_eq(l.conf->api_id, "abc");
	cr_assert_str_eq(l.conf->api_worker_id, "edge-1");
	cr_assert_eq(l.warnings.n, 0);
	done(&l);
	load(&l, "", "\"user-agent\":\"\",\"api\":{\"id\":\"\"}");
	cr_assert_null(l.conf->user_agent, "\"\" is null, as in xmrig-proxy");
	cr_assert_null(l.conf->api_id);
	done(&l);
}

Test(config_xmrig, api_and_dns_must_be_objects)
{
	struct strlist	 errors = {}, warnings = {};
	char		 path[64] = "/tmp/sluice-test-XXXXXX";
	const char	*text = "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":"
	    "[{\"url\":\"p.example:1\"}],\"api\":1,\"dns\":[]}";
	int		 fd = mkstemp(path);

	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_null(config_load(path, &errors, &warnings));
	cr_assert_eq(errors.n, 2);
	cr_assert(strstr(errors.v[0], ": api: expected an object") != NULL);
	cr_assert(strstr(errors.v[1], ": dns: expected an object") != NULL);
	strlist_clear(&errors);
	strlist_clear(&warnings);
	unlink(path);
}

Test(config_xmrig, placeholder_wallet_warns)
{
	struct load	 l;
	char		*w;

	load(&l, "", "");
	cr_assert_eq(l.warnings.n, 0);
	done(&l);
	load(&l, "", "\"coins\":{\"b\":{\"pools\":[{\"url\":\"b.example:1\","
	    "\"user\":\"YOUR_WALLET_ADDRESS\"},{\"url\":\"c.example:1\","
	    "\"user\":\"YOUR_WALLET\",\"enabled\":false}]}}");
	w = joined(&l.warnings);
	cr_assert_eq(l.warnings.n, 1, "warnings:\n%s", w);
	cr_assert(strstr(w, "coins.b.pools[0].user: \"YOUR_WALLET_ADDRESS\" "
	    "is a placeholder") != NULL, "warnings:\n%s", w);
	free(w);
	done(&l);
}
