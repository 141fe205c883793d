/*
 * test_foundation.cc: the daemon as a process. Flags (-V, -h, -n), config
 * errors and warnings as -n reports them, SIGTERM shutdown, and SIGHUP
 * reload with a broken and with a valid config.
 */
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define WAIT_MS		5000

/* A valid pool list for configs that break something else. */
#define POOLS_OK	"[{\"url\":\"127.0.0.1:3333\",\"user\":\"WALLET\"," \
			"\"pass\":\"x\"}]"

TestSuite(foundation, .timeout = 30);

/* A config from parts; a NULL mode or pools leaves that key out. */
static char *
cfg(const char *mode, const char *pools, const char *extra)
{
	char	*s;

	cr_assert(asprintf(&s, "{%s%s%s\"bind\":[{\"host\":\"127.0.0.1\","
	    "\"port\":%d}],%s%s%s%s\"watch\":false}\n",
	    mode != NULL ? "\"mode\":" : "", mode != NULL ? mode : "",
	    mode != NULL ? "," : "", 3334, pools != NULL ? "\"pools\":" : "",
	    pools != NULL ? pools : "", pools != NULL ? "," : "",
	    extra) != -1);
	return s;
}

/* Run -n on config text; return the exit code and the output. */
static int
check_config(const char *json, char **output, char **path)
{
	struct proxy	*p = proxy_new();
	int		 code;

	proxy_write_config(p, json);
	code = run_sluice(output, "-n", "-c", p->config, NULL);
	*path = strdup(p->config);
	proxy_free(p);
	return code;
}

/* -n must refuse json with exit 1, naming the file and every needle. */
static void
expect_config_error(const char *json, const char *needle1,
    const char *needle2)
{
	char	*out, *path;
	int	 code;

	code = check_config(json, &out, &path);
	cr_assert_eq(code, 1, "-n exit %d, want 1; output:\n%s\nconfig:\n%s",
	    code, out, json);
	cr_assert(strstr(out, path) != NULL,
	    "output does not name the file %s:\n%s", path, out);
	cr_assert(strstr(out, needle1) != NULL,
	    "output does not name \"%s\":\n%s", needle1, out);
	cr_assert(needle2 == NULL || strstr(out, needle2) != NULL,
	    "output does not say \"%s\":\n%s", needle2, out);
	cr_assert(strstr(out, "configuration OK") == NULL,
	    "a refused config printed \"configuration OK\":\n%s", out);
	free(out);
	free(path);
}

/* A string two levels down in a JSON object, or NULL. */
static const char *
jstr(json_t *o, const char *k1, const char *k2)
{
	json_t	*v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

/* Accept the daemon at the fake pool, log it in with job_id, wait for up. */
static struct tconn *
pool_up(struct proxy *p, struct tlisten *tl, const char *job_id)
{
	struct tconn	*pc;
	struct tjob	 job;
	json_t		*login;

	pc = tl_accept(tl, WAIT_MS);
	if (pc == NULL)
		proxy_dump_log(p);
	cr_assert(pc != NULL, "sluice did not connect to the fake pool");
	login = pool_expect_login(pc, WAIT_MS);
	tjob_default(&job, job_id);
	pool_send_login_ok(pc, login, "0123456789abcdef", &job);
	json_decref(login);
	cr_assert(proxy_wait_log(p, "state=up", WAIT_MS),
	    "pool never came up");
	return pc;
}

/* Log a fake miner in and check it gets status OK and job_id. */
static void
miner_login_ok(struct proxy *p, int port, const char *job_id)
{
	struct tconn	*mc = tc_connect(port);
	json_t		*r;
	const char	*status, *jid;

	r = miner_login(mc, "WALLET", "x", "rig1", WAIT_MS);
	if (r == NULL)
		proxy_dump_log(p);
	cr_assert(r != NULL, "no login reply");
	status = jstr(r, "result", "status");
	jid = jstr(json_object_get(r, "result"), "job", "job_id");
	cr_assert(status != NULL && strcmp(status, "OK") == 0 &&
	    jid != NULL && strcmp(jid, job_id) == 0,
	    "bad login reply: %s", json_dumps(r, JSON_COMPACT));
	json_decref(r);
	tc_close(mc);
}

Test(foundation, version_and_help)
{
	char	*out;
	int	 code;

	code = run_sluice(&out, "-V", NULL);
	cr_assert_eq(code, 0, "-V exit %d; output:\n%s", code, out);
#ifdef SLUICE_VERSION
	cr_assert(strstr(out, SLUICE_VERSION) != NULL,
	    "-V does not print %s:\n%s", SLUICE_VERSION, out);
#else
	cr_assert(strpbrk(out, "0123456789") != NULL,
	    "-V prints no version:\n%s", out);
#endif
	free(out);

	code = run_sluice(&out, "-h", NULL);
	cr_assert_eq(code, 0, "-h exit %d; output:\n%s", code, out);
	cr_assert(*out != '\0', "-h prints nothing");
	free(out);
}

Test(foundation, contrib_config_ok)
{
	char	*path, *out;
	int	 code;

	cr_assert(asprintf(&path, "%s/contrib/config.json",
	    sluice_srcdir()) != -1);
	code = run_sluice(&out, "-n", "-c", path, NULL);
	cr_assert_eq(code, 0, "-n %s exit %d; output:\n%s", path, code, out);
	cr_assert(strstr(out, "configuration OK") != NULL,
	    "no \"configuration OK\":\n%s", out);
	free(out);
	free(path);
}

Test(foundation, config_wrong_type)
{
	char	*c = cfg("\"nicehash\"", POOLS_OK, "\"retries\":\"two\",");

	expect_config_error(c, "retries", NULL);
	free(c);
}

Test(foundation, config_missing_pool_url)
{
	char	*c = cfg("\"nicehash\"", "[{\"user\":\"WALLET\",\"pass\":\"x\"}]",
	    "");

	expect_config_error(c, "pools[0].url", NULL);
	free(c);
}

Test(foundation, config_syntax_error)
{
	const char	*json = "{\n\t\"mode\": \"nicehash\",\n"
			    "\t\"pools\": [ { \"url\": \"127.0.0.1:3333\" }\n"
			    "\t\"retries\": 1\n}\n";
	char		*out, *path;
	regex_t		 re;
	int		 code;

	code = check_config(json, &out, &path);
	cr_assert_eq(code, 1, "-n exit %d, want 1; output:\n%s", code, out);
	cr_assert(regcomp(&re, "config\\.json:[0-9]+:[0-9]+:",
	    REG_EXTENDED | REG_NOSUB) == 0);
	cr_assert(regexec(&re, out, 0, NULL, 0) == 0,
	    "no FILE:LINE:COLUMN: in the output:\n%s", out);
	cr_assert(strstr(out, path) != NULL,
	    "output does not name the file %s:\n%s", path, out);
	regfree(&re);
	free(out);
	free(path);
}

Test(foundation, config_no_pools)
{
	char	*c;

	c = cfg("\"nicehash\"", NULL, "");
	expect_config_error(c, "pools", NULL);
	free(c);
	c = cfg("\"nicehash\"", "[]", "");
	expect_config_error(c, "pools", NULL);
	free(c);
}

Test(foundation, config_url_without_port)
{
	char	*c = cfg("\"nicehash\"", "[{\"url\":\"127.0.0.1\","
	    "\"user\":\"WALLET\",\"pass\":\"x\"}]", "");

	expect_config_error(c, "pools[0].url", "missing port");
	free(c);
}

Test(foundation, config_bad_mode)
{
	char	*c = cfg("\"turbo\"", POOLS_OK, "");

	expect_config_error(c, "mode", NULL);
	free(c);
}

Test(foundation, config_unknown_key_warns)
{
	char	*c = cfg("\"nicehash\"", POOLS_OK, "\"frobnicate\":1,");
	char	*out, *path;
	int	 code;

	code = check_config(c, &out, &path);
	cr_assert_eq(code, 0, "-n exit %d, want 0; output:\n%s", code, out);
	cr_assert(strstr(out, "frobnicate") != NULL,
	    "no warning naming the unknown key:\n%s", out);
	cr_assert(strstr(out, "configuration OK") != NULL,
	    "no \"configuration OK\":\n%s", out);
	free(out);
	free(path);
	free(c);
}

Test(foundation, sigterm_graceful)
{
	int		 pool = free_port(), bind = free_port(), code;
	struct tlisten	*tl = tl_listen(pool);
	char		*c = config_basic(bind, pool, "");
	struct proxy	*p = proxy_start(c);
	struct tconn	*pc = pool_up(p, tl, "job1");
	long long	 t0, ms;

	t0 = now_ms();
	code = proxy_stop(p);
	ms = now_ms() - t0;
	if (code != 0 || ms >= 6000)
		proxy_dump_log(p);
	cr_assert_eq(code, 0, "exit status %d after SIGTERM", code);
	cr_assert_lt(ms, 6000, "SIGTERM took %lld ms", ms);
	cr_assert(proxy_wait_log(p, "type=shutdown status=start", 0));
	cr_assert(proxy_wait_log(p, "type=shutdown status=done", 0));
	tc_close(pc);
	tl_close(tl);
	proxy_free(p);
	free(c);
}

/*
 * SIGTERM with a submit in flight: reads stop, the daemon waits for the
 * pool's answer (passed to the miner) and only then exits 0. With
 * answered = 0 the pool never answers: the miner still gets one reply
 * and the stop is over within 6 s.
 */
static void
sigterm_with_inflight(int answered)
{
	int		 pool = free_port(), bind = free_port(), code;
	struct tlisten	*tl = tl_listen(pool);
	char		*c = config_basic(bind, pool, ""), result[65], nonce[9];
	struct proxy	*p = proxy_start(c);
	struct tconn	*pc = pool_up(p, tl, "job1"), *mc = tc_connect(bind);
	json_t		*r, *sub;
	const char	*slot;
	long long	 t0, ms;

	r = miner_login(mc, "WALLET", "x", NULL, WAIT_MS);
	cr_assert(r != NULL && jstr(r, "result.id") != NULL, "login failed");
	slot = jstr(r, "result.job.blob") + SLOT_HEX;
	snprintf(nonce, sizeof nonce, "000000%.2s", slot);
	make_result(result, 20000);
	cr_assert(tc_send(mc, "{\"id\":7,\"jsonrpc\":\"2.0\",\"method\":"
	    "\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":\"job1\","
	    "\"nonce\":\"%s\",\"result\":\"%s\"}}", jstr(r, "result.id"),
	    nonce, result));
	sub = tc_recv(pc, WAIT_MS);
	cr_assert(sub != NULL, "the share did not reach the pool");

	t0 = now_ms();
	proxy_signal(p, SIGTERM);
	cr_assert(proxy_wait_log(p, "type=shutdown status=start inflight=1",
	    WAIT_MS));
	/* Still waiting for the pool: no reply yet, not done. */
	cr_assert_null(tc_recv(mc, 300), "answered before the pool did");
	cr_assert_eq(proxy_log_count(p, "type=shutdown status=done"), 0);
	if (answered)
		tc_send(pc, "{\"id\":%lld,\"jsonrpc\":\"2.0\",\"error\":null,"
		    "\"result\":{\"status\":\"OK\"}}",
		    (long long)json_integer_value(json_object_get(sub, "id")));
	json_t *reply = tc_recv_reply(mc, 7, 7000);
	cr_assert(reply != NULL, "the submit in flight got no reply");
	if (answered)
		cr_assert_str_eq(jstr(reply, "result.status"), "OK");
	else
		cr_assert(json_is_object(json_object_get(reply, "error")));
	code = proxy_stop(p);
	ms = now_ms() - t0;
	if (code != 0)
		proxy_dump_log(p);
	cr_assert_eq(code, 0, "exit status %d", code);
	cr_assert_lt(ms, 6000, "the stop took %lld ms", ms);
	if (answered)
		cr_assert_lt(ms, 3000, "the stop did not end with the answer");
	json_decref(reply);
	json_decref(sub);
	json_decref(r);
	tc_close(mc);
	tc_close(pc);
	tl_close(tl);
	proxy_free(p);
	free(c);
}

Test(foundation, sigterm_waits_for_inflight_submit)
{
	sigterm_with_inflight(1);
}

Test(foundation, sigterm_unanswered_submit_bounded)
{
	sigterm_with_inflight(0);
}

Test(foundation, reload_broken_keeps_serving)
{
	int		 pool = free_port(), bind = free_port();
	struct tlisten	*tl = tl_listen(pool);
	char		*c = config_basic(bind, pool, "");
	struct proxy	*p = proxy_start(c);
	struct tconn	*pc = pool_up(p, tl, "job1");

	proxy_write_config(p, "{ \"mode\": \"nicehash\", \"pools\": [\n");
	proxy_signal(p, SIGHUP);
	cr_assert(proxy_wait_log(p, "type=reload status=failed", WAIT_MS));
	cr_assert_eq(proxy_log_count(p, "type=reload status=done"), 0);
	miner_login_ok(p, bind, "job1");
	cr_assert_eq(proxy_stop(p), 0);
	tc_close(pc);
	tl_close(tl);
	proxy_free(p);
	free(c);
}

Test(foundation, reload_valid)
{
	int		 pool = free_port(), bind = free_port();
	struct tlisten	*tl = tl_listen(pool);
	char		*c = config_basic(bind, pool, "");
	char		*c2 = config_basic(bind, pool, "\"custom-diff\":5000");
	struct proxy	*p = proxy_start(c);
	struct tconn	*pc = pool_up(p, tl, "job1");

	proxy_write_config(p, c2);
	proxy_signal(p, SIGHUP);
	cr_assert(proxy_wait_log(p, "type=reload status=start", WAIT_MS));
	cr_assert(proxy_wait_log(p, "type=reload status=done", WAIT_MS));
	cr_assert_eq(proxy_log_count(p, "type=reload status=failed"), 0);
	miner_login_ok(p, bind, "job1");
	cr_assert_eq(proxy_stop(p), 0);
	tc_close(pc);
	tl_close(tl);
	proxy_free(p);
	free(c);
	free(c2);
}
