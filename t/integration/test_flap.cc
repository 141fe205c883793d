/*
 * test_flap.cc: failover under a flapping primary (issue 18). Real
 * processes end to end: two sluice-bench test pools, sluice between them
 * and 50 sluice-bench miners submitting 100 shares a second for 60 s,
 * while the primary pool is killed and restarted every 2 s. No miner may
 * be dropped, every submit must be answered, and with the standby on,
 * "Bad gateway" (no pool up) must stay under 2 % of the submits: the
 * backup is up the whole time.
 *
 * The 2 s kill/restart schedule is the stimulus under test, not a wait
 * for state; every wait for state is on a process exit or a log line.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define FLAP_SECONDS	60
#define FLAP_PERIOD_MS	2000
#define FLAP_MINERS	"50"
#define FLAP_RATE	"100"	/* shares per second, all miners */
#define WAIT_MS		5000

TestSuite(flap, .timeout = FLAP_SECONDS + 60);

/* A test pool on port; returns its pid. */
static pid_t
pool_spawn(int port, const char *out)
{
	char		 p[16];
	const char	*args[] = { "pool", "--port", p, "--job-interval-ms",
	    "1000", NULL };

	snprintf(p, sizeof p, "%d", port);
	return bench_spawn(args, out);
}

/* Stop a process and reap it. */
static void
stop(pid_t pid)
{
	int	 status;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
}

/* Copy a file to stderr (the bench tools' output, on a failure). */
static void
system_cat(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	 buf[4096];
	size_t	 n;

	if (f == NULL)
		return;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}


Test(flap, primary_flapping_standby)
{
	int		 bind = free_port(), prim = free_port(), back = free_port();
	char		*conf, out[512], json[512], bport[16], secs[16];
	struct proxy	*p;
	pid_t		 pb, pp, pm;
	long long	 t0, next;
	json_t		*res, *shares, *by;
	json_error_t	 err;
	json_int_t	 sent, bad;
	int		 status, up = 1;

	cr_assert(asprintf(&conf, "{\"mode\":\"nicehash\",\"bind\":[{\"host\":"
	    "\"127.0.0.1\",\"port\":%d}],\"pools\":[{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"PRIMARY\",\"pass\":\"x\"},{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"BACKUP\",\"pass\":\"x\"}],\"watch\":false,"
	    "\"workers\":false,\"failover-standby\":true}\n", bind, prim,
	    back) != -1);
	p = proxy_start(conf);
	snprintf(out, sizeof out, "%s/bench.log", p->dir);
	snprintf(json, sizeof json, "%s/miners.json", p->dir);
	pb = pool_spawn(back, out);
	pp = pool_spawn(prim, out);
	cr_assert(proxy_wait_log(p, "type=pool_standby", WAIT_MS),
	    "no standby logged in to the backup");

	snprintf(bport, sizeof bport, "%d", bind);
	snprintf(secs, sizeof secs, "%d", FLAP_SECONDS);
	{
		const char	*args[] = { "miners", "--port", bport, "--count",
		    FLAP_MINERS, "--share-rate", FLAP_RATE, "--duration", secs,
		    "--json", json, NULL };

		pm = bench_spawn(args, out);
	}

	/* Kill the primary for 2 s, bring it back for 2 s, until done. */
	t0 = now_ms();
	for (next = t0 + FLAP_PERIOD_MS; next < t0 + FLAP_SECONDS * 1000;
	    next += FLAP_PERIOD_MS) {
		/* The schedule; the daemon's log is read meanwhile. */
		if (next > now_ms())
			proxy_drain(p, (int)(next - now_ms()));
		if (waitpid(pm, &status, WNOHANG) == pm) {
			pm = -1;
			break;
		}
		if (up)
			stop(pp);
		else
			pp = pool_spawn(prim, out);
		up = !up;
	}
	while (pm > 0 && waitpid(pm, &status, WNOHANG) != pm)
		proxy_drain(p, 100);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "sluice-bench miners failed (see %s)", out);
	if (up)
		stop(pp);
	cr_assert(proxy_log_count(p, "reason=standby") >= 1,
	    "the standby never took over");

	res = json_load_file(json, 0, &err);
	cr_assert(res != NULL, "%s: %s", json, err.text);
	shares = json_object_get(res, "shares");
	sent = json_integer_value(json_object_get(shares, "sent"));
	by = json_object_get(shares, "errors_by");
	bad = json_integer_value(json_object_get(by, "Bad gateway"));
	if (sent <= FLAP_SECONDS * 50) {
		system_cat(out);
		proxy_dump_log(p);
	}
	fprintf(stderr, "flap: sent %lld ok %lld errors %s\n",
	    (long long)sent, (long long)json_integer_value(json_object_get(
	    shares, "ok")), jtext(by));
	cr_assert_gt(sent, FLAP_SECONDS * 50, "too few shares were sent");
	cr_assert_eq(json_integer_value(json_object_get(res, "drops")), 0,
	    "a miner was dropped");
	cr_assert_eq(json_integer_value(json_object_get(res, "open_at_end")),
	    50, "not every miner was still connected");
	cr_assert_eq(json_integer_value(json_object_get(shares,
	    "unanswered")), 0, "a submit was never answered");
	cr_assert_lt(bad * 50, sent, "Bad gateway for %lld of %lld submits "
	    "with the backup up (2 %% allowed)", (long long)bad,
	    (long long)sent);
	json_decref(res);
	stop(pb);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	free(conf);
}
