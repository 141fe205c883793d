/*
 * test_logs.cc: log volume at scale (issue 11). At the default level a
 * reconnect storm of 10,000 miners is summarised (type=miners, at most
 * one line a second), not logged one line per miner; the per-miner
 * lines stay at -v and in the access log.
 */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define STORM_MINERS	10000
#define MAX_LINES	40	/* a few dozen, whatever the number of miners */
#define WAIT_MS		5000

TestSuite(logs, .timeout = 120);

/* Count the lines of the daemon's log. */
static int
lines(const struct proxy *p)
{
	const char	*s;
	int		 n = 0;

	for (s = p->log; (s = strchr(s, '\n')) != NULL; s++)
		n++;
	return n;
}

Test(logs, storm_of_closes_is_summarised)
{
	int		 bind = free_port(), pool = free_port(), before, status;
	char		*conf, out[512], pport[16], bport[16], count[16];
	struct proxy	*p;
	struct rlimit	 rl;
	pid_t		 pp, pm;

	/* 10,000 miners need more than the usual 1,024 files. */
	cr_assert(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	cr_assert(rl.rlim_max >= STORM_MINERS + 512, "the hard file limit "
	    "(%llu) is too low for %d miners", (unsigned long long)rl.rlim_max,
	    STORM_MINERS);
	rl.rlim_cur = rl.rlim_max;
	cr_assert(setrlimit(RLIMIT_NOFILE, &rl) == 0);

	cr_assert(asprintf(&conf, "{\"mode\":\"nicehash\",\"bind\":[{\"host\":"
	    "\"127.0.0.1\",\"port\":%d}],\"pools\":[{\"url\":\"127.0.0.1:%d\","
	    "\"user\":\"W\",\"pass\":\"x\"}],\"watch\":false,"
	    "\"access-log-file\":\"access.log\"}\n", bind, pool) != -1);
	p = proxy_start_verbose(conf, 0);
	snprintf(out, sizeof out, "%s/bench.log", p->dir);
	snprintf(pport, sizeof pport, "%d", pool);
	snprintf(bport, sizeof bport, "%d", bind);
	snprintf(count, sizeof count, "%d", STORM_MINERS);
	{
		const char	*args[] = { "pool", "--port", pport, NULL };

		pp = bench_spawn(args, out);
	}
	cr_assert(proxy_wait_log(p, "state=up", WAIT_MS));
	before = lines(p);
	{
		/* Log in 10,000 miners, then all leave at once. */
		const char	*args[] = { "miners", "--port", bport, "--count",
		    count, "--login-rate", "5000", "--quiet", NULL };

		pm = bench_spawn(args, out);
	}
	while (waitpid(pm, &status, WNOHANG) != pm)
		proxy_drain(p, 100);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "sluice-bench miners failed (see %s)", out);
	/* The closes are counted: wait for the summary that says so. */
	cr_assert(proxy_wait_log(p, "now=0", WAIT_MS), "no summary line "
	    "reported every miner gone");
	cr_assert(proxy_log_count(p, "type=miners ") >= 1);
	cr_assert_eq(proxy_log_count(p, "type=miner_close"), 0,
	    "a per-miner close line at the default level");
	if (lines(p) - before > MAX_LINES)
		fprintf(stderr, "%s\n", p->log);
	cr_assert_leq(lines(p) - before, MAX_LINES, "%d log lines for %d "
	    "miners coming and going", lines(p) - before, STORM_MINERS);
	kill(pp, SIGTERM);
	waitpid(pp, &status, 0);
	cr_assert_eq(proxy_stop(p), 0);
	proxy_free(p);
	free(conf);
}
