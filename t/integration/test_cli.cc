/*
 * test_cli.cc: the command line (issue 14): xmrig-proxy's long options
 * (--config, --version, --help, --bind, --url, --user, --pass,
 * --userpass, --log-file, --no-color, --verbose) beside sluice's own
 * flags; -b, -o, -u and -p replace the file's keys, also across a reload.
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

TestSuite(cli, .timeout = 60);

Test(cli, version_long)
{
	char	*a, *b;

	cr_assert_eq(run_sluice(&a, "--version", NULL), 0);
	cr_assert_eq(run_sluice(&b, "-V", NULL), 0);
	cr_assert(strncmp(a, "sluice ", 7) == 0, "--version: %s", a);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
}

Test(cli, help_long)
{
	static const char *opts[] = { "--config=FILE", "--bind=ADDR:PORT",
	    "--url=URL", "--user=USER", "--pass=PASS", "--userpass=U:P",
	    "--background", "--log-file=FILE", "--no-color", "--verbose",
	    "--version", "--help", "-d ", "-n ", NULL };
	const char	**o;
	char		*out;

	cr_assert_eq(run_sluice(&out, "--help", NULL), 0);
	for (o = opts; *o != NULL; o++)
		must_say(out, *o);
	free(out);
}

Test(cli, unknown_option_fails_with_usage)
{
	char	*out;

	cr_assert_eq(run_sluice(&out, "--frobnicate", NULL), 1);
	must_say(out, "usage: sluice");
	free(out);
	cr_assert_eq(run_sluice(&out, "--config", NULL), 1,
	    "--config needs an argument");
	must_say(out, "usage: sluice");
	free(out);
	cr_assert_eq(run_sluice(&out, "-u", "W", NULL), 1);
	must_say(out, "-o");
	free(out);
	cr_assert_eq(run_sluice(&out, "-n", "--url=no-port", "-b",
	    "127.0.0.1:1", NULL), 1);
	must_say(out, "--url no-port: missing port");
	free(out);
}

Test(cli, config_long)
{
	struct proxy	*p = proxy_new();
	char		*out, *arg;

	proxy_write_config(p, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{"
	    "\"url\":\"127.0.0.1:3334\"}]}");
	cr_assert(asprintf(&arg, "--config=%s", p->config) != -1);
	cr_assert_eq(run_sluice(&out, "-n", arg, NULL), 0, "%s", out);
	must_say(out, "configuration OK");
	free(out);
	free(arg);
	proxy_free(p);
}

/*
 * -o, -u and -p: the proxy logs in to the command line's pool with its
 * user and password, not to the file's; a reload keeps them.
 */
Test(cli, url_user_pass_replace_the_pools)
{
	int		 pp = free_port(), bp = free_port(), dead = free_port();
	struct tlisten	*tl = tl_listen(pp);
	char		*cfg = config_basic(bp, dead, ""), url[64];
	struct proxy	*p;
	struct tconn	*pc;
	json_t		*login;

	snprintf(url, sizeof url, "stratum+tcp://127.0.0.1:%d", pp);
	{
		const char *args[] = { "--url", url, "--user=CLI-WALLET",
		    "-p", "cli-pass", NULL };
		p = proxy_start_args(cfg, args);
	}
	login = pool_login_of(tl, &pc);
	cr_assert_str_eq(jstr(login, "params.login"), "CLI-WALLET");
	cr_assert_str_eq(jstr(login, "params.pass"), "cli-pass");
	json_decref(login);
	cr_assert(proxy_wait_log(p, "state=up", T));
	proxy_signal(p, SIGHUP);
	cr_assert(proxy_wait_log(p, "type=reload status=done", T));
	snprintf(url, sizeof url, "127.0.0.1:%d", dead);
	cr_assert_eq(proxy_log_count(p, url), 0, "the file's pool was used");
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

/* -b replaces the file's bind; -O sets user and password at once. */
Test(cli, bind_and_userpass)
{
	int		 pp = free_port(), fp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	char		*cfg = config_basic(fp, pp, ""), bind[40], url[32];
	struct proxy	*p;
	struct tconn	*pc, *mc;
	json_t		*login, *r;

	snprintf(bind, sizeof bind, "--bind=127.0.0.1:%d", bp);
	snprintf(url, sizeof url, "127.0.0.1:%d", pp);
	{
		const char *args[] = { bind, "-o", url, "-O", "U1:P:1", NULL };
		p = proxy_start_args(cfg, args);
	}
	login = pool_login_of(tl, &pc);
	cr_assert_str_eq(jstr(login, "params.login"), "U1");
	cr_assert_str_eq(jstr(login, "params.pass"), "P:1");
	json_decref(login);
	mc = tc_connect(bp);
	r = miner_login(mc, "MINER", "x", NULL, T);
	cr_assert(r != NULL && jstr(r, "result.status") != NULL,
	    "no login on the --bind address");
	json_decref(r);
	tc_close(mc);
	cr_assert_eq(proxy_log_count(p, "type=listen"), 1,
	    "the file's bind was kept too");
	tc_close(pc);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
}

Test(cli, log_file_long)
{
	int		 pp = free_port(), bp = free_port();
	struct tlisten	*tl = tl_listen(pp);
	char		*cfg = config_basic(bp, pp, ""), *log, *arg, *text;
	char		 dir[] = "/tmp/sluice-cli-XXXXXX";
	struct proxy	*p;

	cr_assert(mkdtemp(dir) != NULL);
	cr_assert(asprintf(&log, "%s/cli.log", dir) != -1);
	cr_assert(asprintf(&arg, "--log-file=%s", log) != -1);
	{
		const char *args[] = { arg, "--no-color", "--verbose", NULL };
		p = proxy_start_args(cfg, args);
	}
	cr_assert_eq(proxy_stop(p), 0);
	text = slurp(log);
	must_say(text, "type=ready");
	free(text);
	unlink(log);
	rmdir(dir);
	proxy_free(p);
	tl_close(tl);
	free(cfg);
	free(log);
	free(arg);
}

/* Without -c and without the default file, -o and -b are enough. */
Test(cli, runs_without_a_config_file)
{
	struct stat	 st;
	char		*out;

	if (stat("/etc/sluice/config.json", &st) == 0)
		cr_skip_test("/etc/sluice/config.json exists here");
	cr_assert_eq(run_sluice(&out, "-n", "-o", "127.0.0.1:3334", "-u", "W",
	    "-b", "127.0.0.1:3333", NULL), 0, "%s", out);
	must_say(out, "configuration OK");
	free(out);
	/* -o alone does not make the file optional. */
	cr_assert_eq(run_sluice(&out, "-n", "-o", "127.0.0.1:3334", NULL), 1);
	must_say(out, "/etc/sluice/config.json");
	free(out);
}
