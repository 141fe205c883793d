/*
 * test_compat.cc: an xmrig-proxy operator's files and commands on the
 * real daemon (issue 14). A config.json in xmrig-proxy's 6.x layout
 * passes -n and runs; comments and trailing commas; the warnings for
 * xmrig-proxy's keys that sluice does not act on. The options are in test_cli.cc.
 *
 * The fixtures in t/data/ are written for these tests in xmrig-proxy's
 * layouts (see t/data/README), not copied from xmrig-proxy:
 * - xmrig-proxy-6.json: the 6.x layout (http, tls enabled without a
 *   certificate, pools[].sni, socks5, self-select, submit-to-origin, dns);
 * - xmrig-proxy-2.json: the 2.x layout (top-level algo, the old "api"
 *   object, "variant").
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define T	5000	/* ms: generous deadline for one step */

TestSuite(compat, .timeout = 60);

/* Run -n on config text; return the exit code and the output. */
static int
check_text(const char *json, char **output)
{
	struct proxy	*p = proxy_new();
	int		 code;

	proxy_write_config(p, json);
	code = run_sluice(output, "-n", "-c", p->config, NULL);
	proxy_free(p);
	return code;
}

Test(compat, xmrig_proxy_shipped_config_passes_n)
{
	char	*path = srcfile("t/data/xmrig-proxy-6.json"), *out;
	int	 code;

	code = run_sluice(&out, "-n", "-c", path, NULL);
	cr_assert_eq(code, 0, "-n exit %d:\n%s", code, out);
	must_say(out, "configuration OK");
	/* Exactly these warnings: every xmrig-proxy key is known. */
	must_say(out, "pools[0].user: \"YOUR_WALLET_ADDRESS\" is a "
	    "placeholder");
	must_say(out, "tls: no cert and cert_key: miners get a self-signed "
	    "certificate");
	cr_assert_eq(count_lines(out, "warning: "), 2, "warnings:\n%s", out);
	free(out);
	free(path);
}

Test(compat, xmrig_proxy_2x_config_passes_n)
{
	char	*path = srcfile("t/data/xmrig-proxy-2.json"), *out;
	int	 code;

	code = run_sluice(&out, "-n", "-c", path, NULL);
	cr_assert_eq(code, 0, "-n exit %d:\n%s", code, out);
	must_say(out, "configuration OK");
	must_say(out, ": algo: not supported by sluice: give each pool its");
	must_say(out, "pools[0].user: \"YOUR_WALLET\" is a placeholder");
	cr_assert_eq(count_lines(out, "warning: "), 2, "warnings:\n%s", out);
	free(out);
	free(path);
}

/*
 * The shipped file as a daemon, with -b and -o for a test's addresses:
 * the self-signed certificate is served on the plain bind (a TLS first
 * byte is served over TLS), and a miner logs in over it.
 */
Test(compat, xmrig_proxy_shipped_config_runs)
{
	char		*path = srcfile("t/data/xmrig-proxy-6.json");
	char		*text = slurp(path), bind[32], url[32], fp[65];
	int		 pp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	struct proxy	*p;
	struct tconn	*pc, *mc;
	json_t		*login, *r;

	snprintf(bind, sizeof bind, "127.0.0.1:%d", bp);
	snprintf(url, sizeof url, "127.0.0.1:%d", pp);
	{
		const char *args[] = { "-b", bind, "-o", url, NULL };
		p = proxy_start_args(text, args);
	}
	cr_assert(proxy_wait_log(p, "self-signed certificate", 0));
	login = pool_login_of(tl, &pc);
	cr_assert_str_eq(jstr(login, "params.login"), "x",
	    "-o replaces the file's pools; the user's default is x");
	json_decref(login);
	mc = tc_connect(bp);
	cr_assert(tc_tls_client(mc, NULL, NULL, fp), "no TLS on the bind");
	r = miner_login(mc, "MINER", "x", NULL, T);
	cr_assert(r != NULL && jstr(r, "result.status") != NULL &&
	    strcmp(jstr(r, "result.status"), "OK") == 0, "login: %s",
	    r != NULL ? jtext(r) : "none");
	json_decref(r);
	tc_close(mc);
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(text);
	free(path);
}

Test(compat, comments_and_trailing_commas)
{
	char	*out;
	int	 code;

	code = check_text("// made by hand\n"
	    "{\n"
	    "    \"bind\": [\"127.0.0.1:3333\",],  /* one */\n"
	    "    \"pools\": [\n"
	    "        {\"url\": \"127.0.0.1:3334\", // the pool\n"
	    "         \"user\": \"W\",},\n"
	    "    ],\n"
	    "}\n", &out);
	cr_assert_eq(code, 0, "-n exit %d:\n%s", code, out);
	must_say(out, "configuration OK");
	cr_assert_eq(count_lines(out, "warning: "), 0, "%s", out);
	free(out);

	/* The error is on line 6 of the file, after comments. */
	code = check_text("// made by hand\n"
	    "{\n"
	    "    /* the listening\n"
	    "       addresses */ \"bind\": [\"127.0.0.1:3333\",],\n"
	    "    \"pools\": [{\"url\": \"127.0.0.1:3334\"},],  // ok\n"
	    "    \"retries\": two,\n"
	    "}\n", &out);
	cr_assert_eq(code, 1, "-n exit %d:\n%s", code, out);
	must_say(out, "config.json:6:");
	free(out);
}

Test(compat, each_xmrig_key_warns)
{
	char	*out;
	int	 code;

	code = check_text("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{"
	    "\"url\":\"127.0.0.1:3334\",\"daemon\":true,\"self-select\":"
	    "\"node.example:18081\",\"submit-to-origin\":true,\"coin\":"
	    "\"monero\"}],\"coin\":\"xmr\",\"debug\":true,"
	    "\"dns\":{\"ip_version\":6}}", &out);
	cr_assert_eq(code, 0, "-n exit %d:\n%s", code, out);
	must_say(out, "config.json: pools[0].daemon: not supported by sluice: ");
	must_say(out, "config.json: pools[0].self-select: not supported by "
	    "sluice: ");
	must_say(out, "config.json: pools[0].submit-to-origin: not supported "
	    "by sluice: ");
	must_say(out, "config.json: pools[0].coin: not supported by sluice: ");
	must_say(out, "config.json: coin: not supported by sluice: ");
	must_say(out, "config.json: debug: not supported by sluice: ");
	must_say(out, "config.json: dns.ip_version: not supported by sluice: ");
	cr_assert_eq(count_lines(out, "warning: "), 7, "%s", out);
	free(out);

	/* The same keys, false or null: silent. */
	code = check_text("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{"
	    "\"url\":\"127.0.0.1:3334\",\"daemon\":false,\"self-select\":null,"
	    "\"submit-to-origin\":false,\"coin\":null,\"sni\":false}],"
	    "\"coin\":null,\"debug\":false,\"dns\":{\"ip_version\":0}}", &out);
	cr_assert_eq(code, 0, "-n exit %d:\n%s", code, out);
	cr_assert_eq(count_lines(out, "warning: "), 0, "%s", out);
	free(out);
}

Test(compat, placeholder_wallet_warns_at_start)
{
	int		 pp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	char		*cfg;
	struct proxy	*p;

	cr_assert(asprintf(&cfg, "{\"bind\":[\"127.0.0.1:%d\"],\"pools\":[{"
	    "\"url\":\"127.0.0.1:%d\",\"user\":\"YOUR_WALLET_ADDRESS\"}],"
	    "\"watch\":false}", bp, pp) != -1);
	p = proxy_start(cfg);
	cr_assert(proxy_wait_log(p, "pools[0].user: \"YOUR_WALLET_ADDRESS\" "
	    "is a placeholder", 0), "no warning at start");
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

Test(compat, user_agent_goes_to_the_pool)
{
	int		 pp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	char		*cfg = config_basic(bp, pp, "\"user-agent\":\"farm/2.0\"");
	struct proxy	*p = proxy_start(cfg);
	struct tconn	*pc;
	json_t		*login = pool_login_of(tl, &pc);

	cr_assert_str_eq(jstr(login, "params.agent"), "farm/2.0");
	json_decref(login);
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}
