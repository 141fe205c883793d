/*
 * metrics.cc: GET /metrics in the Prometheus text exposition format,
 * version 0.0.4. Every name starts with sluice_, is in base units
 * (seconds, bytes), counters end in _total, and each family has its HELP
 * and TYPE lines. Label sets are fixed and small: no label takes a value
 * a miner chose (a worker name or an address would make the series grow
 * without bound; /1/workers and /1/miners are for those).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "logfile.h"
#include "miner.h"
#include "policy.h"
#include "pool.h"
#include "ratelimit.h"
#include "share.h"
#include "stats.h"
#include "upstream.h"
#include "workers.h"

static void	 metrics_family(struct evbuffer *, const char *, const char *,
		     const char *);
static void	 metrics_u64(struct evbuffer *, const char *, const char *,
		     const char *, uint64_t);
static void	 metrics_f64(struct evbuffer *, const char *, const char *,
		     const char *, double);
static uint64_t	 metrics_rss(void);

/* The HELP and TYPE lines of a family. */
static void
metrics_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/*
 * One sample with an integer value. label is "key" and value its value,
 * or both NULL; label values here are fixed strings, never user input.
 */
static void
metrics_u64(struct evbuffer *b, const char *name, const char *label,
    const char *value, uint64_t v)
{
	if (label != NULL)
		evbuffer_add_printf(b, "%s{%s=\"%s\"} %llu\n", name, label,
		    value, (unsigned long long)v);
	else
		evbuffer_add_printf(b, "%s %llu\n", name,
		    (unsigned long long)v);
}

/* One sample with a real value. */
static void
metrics_f64(struct evbuffer *b, const char *name, const char *label,
    const char *value, double v)
{
	if (label != NULL)
		evbuffer_add_printf(b, "%s{%s=\"%s\"} %.6f\n", name, label,
		    value, v);
	else
		evbuffer_add_printf(b, "%s %.6f\n", name, v);
}

/* Resident set size of the process, in bytes. */
static uint64_t
metrics_rss(void)
{
	FILE			*f;
	unsigned long long	 size, pages;
	uint64_t		 rss = 0;

	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &pages) == 2)
		rss = pages * (uint64_t)sysconf(_SC_PAGESIZE);
	fclose(f);
	return rss;
}

/* Upstream states, as upstream_state_text() names them. */
static const char	*metrics_ustates[] = { "active", "idle", "connecting",
    "suspended", "error" };

/* Count one upstream under its state. */
static void
metrics_upstream_state(const struct upstream_view *v, void *arg)
{
	uint64_t		*ucount = (uint64_t *)arg;
	const char		*st = v->state;
	int			 j;

	for (j = 0; j < 5; j++) {
		if (strcmp(st, metrics_ustates[j]) == 0)
			ucount[j]++;
	}
}

/* Render every metric into b. */
void
metrics_render(struct evbuffer *b, int64_t now_ms)
{
	const struct {
		const char	*result;
		uint64_t	 n;
	} shares[] = {
		{ "accepted", sl_stats.accepted },
		{ "rejected", sl_stats.rejected },
		{ "invalid", sl_stats.invalid },
		{ "expired", sl_stats.expired },
		{ "duplicate", sl_stats.duplicate },
		{ "local", sl_stats.local },
		{ "bad_gateway", sl_stats.bad_gateway },
		{ "timeout", sl_stats.timeouts },
	};
	uint64_t		 ucount[5] = { 0, 0, 0, 0, 0 };
	size_t			 i;
	int			 j;

	metrics_family(b, "sluice_info", "gauge",
	    "Version and mode of the running proxy; the value is always 1.");
	evbuffer_add_printf(b, "sluice_info{version=\"%s\",mode=\"%s\"} 1\n",
	    SLUICE_VERSION, config_mode_text(sl.conf->mode));
	metrics_family(b, "sluice_uptime_seconds", "gauge",
	    "Seconds since the proxy started.");
	metrics_f64(b, "sluice_uptime_seconds", NULL, NULL,
	    (double)stats_uptime_ms(now_ms) / 1000.0);
	metrics_family(b, "sluice_resident_memory_bytes", "gauge",
	    "Resident set size of the proxy process.");
	metrics_u64(b, "sluice_resident_memory_bytes", NULL, NULL,
	    metrics_rss());

	metrics_family(b, "sluice_miners", "gauge",
	    "Miners logged in now.");
	metrics_u64(b, "sluice_miners", NULL, NULL, sl_stats.miners_now);
	metrics_family(b, "sluice_miners_max", "gauge",
	    "Most miners logged in at once since the start.");
	metrics_u64(b, "sluice_miners_max", NULL, NULL, sl_stats.miners_max);
	metrics_family(b, "sluice_connections_open", "gauge",
	    "Miner connections open now, logged in or not.");
	metrics_u64(b, "sluice_connections_open", NULL, NULL, miner_count());

	metrics_family(b, "sluice_workers", "gauge", "Workers tracked now.");
	metrics_u64(b, "sluice_workers", NULL, NULL, workers_count());
	metrics_family(b, "sluice_workers_memory_bytes", "gauge",
	    "Memory held by the worker table.");
	metrics_u64(b, "sluice_workers_memory_bytes", NULL, NULL,
	    workers_memory());
	metrics_family(b, "sluice_workers_evicted_total", "counter",
	    "Idle workers forgotten to stay within workers-max.");
	metrics_u64(b, "sluice_workers_evicted_total", NULL, NULL,
	    sl_stats.workers_evicted);
	metrics_family(b, "sluice_workers_untracked_total", "counter",
	    "Logins not tracked as workers because workers-max was reached "
	    "with every worker connected.");
	metrics_u64(b, "sluice_workers_untracked_total", NULL, NULL,
	    sl_stats.workers_untracked);

	splitter_foreach(metrics_upstream_state, ucount);
	metrics_family(b, "sluice_upstreams", "gauge",
	    "Upstream pool connections by state.");
	for (j = 0; j < 5; j++)
		metrics_u64(b, "sluice_upstreams", "state", metrics_ustates[j],
		    ucount[j]);

	metrics_family(b, "sluice_shares_total", "counter",
	    "Shares by how they ended; expired shares are also accepted.");
	for (i = 0; i < sizeof shares / sizeof shares[0]; i++)
		metrics_u64(b, "sluice_shares_total", "result",
		    shares[i].result, shares[i].n);
	metrics_family(b, "sluice_hashes_total", "counter",
	    "Sum of the difficulties of the shares counted for hashrate.");
	metrics_u64(b, "sluice_hashes_total", NULL, NULL, sl_stats.hashes);
	metrics_family(b, "sluice_hashrate_hashes_per_second", "gauge",
	    "Hashrate over a window, from counted share difficulties.");
	for (j = 0; j < STATS_NWINDOWS; j++)
		metrics_f64(b, "sluice_hashrate_hashes_per_second", "window",
		    stats_window_text((enum stats_window)j),
		    stats_hashrate((enum stats_window)j, now_ms));
	metrics_family(b, "sluice_best_share_difficulty", "gauge",
	    "Highest difficulty of a pool-accepted share since the start.");
	metrics_u64(b, "sluice_best_share_difficulty", NULL, NULL,
	    sl_stats.best[0]);
	metrics_family(b, "sluice_pool_latency_seconds", "gauge",
	    "Median time pools took to answer a share, over the last 1024 "
	    "answers.");
	metrics_f64(b, "sluice_pool_latency_seconds", NULL, NULL,
	    (double)stats_latency_median() / 1000.0);

	metrics_family(b, "sluice_connections_total", "counter",
	    "Miner connections accepted by the listeners.");
	metrics_u64(b, "sluice_connections_total", NULL, NULL,
	    sl_stats.connections);
	metrics_family(b, "sluice_connections_refused_total", "counter",
	    "Connections closed at once because max-connections was "
	    "reached.");
	metrics_u64(b, "sluice_connections_refused_total", NULL, NULL,
	    sl_stats.refused_max_conn);
	metrics_family(b, "sluice_connections_closed_total", "counter",
	    "Miner connections closed, by reason.");
	for (j = 0; j < CLOSE_MAX; j++)
		metrics_u64(b, "sluice_connections_closed_total", "reason",
		    stats_close_text((enum close_reason)j), sl_stats.closed[j]);
	metrics_family(b, "sluice_logins_total", "counter",
	    "Miner logins that got an upstream.");
	metrics_u64(b, "sluice_logins_total", NULL, NULL, sl_stats.logins);
	metrics_family(b, "sluice_logins_refused_full_total", "counter",
	    "Logins refused because the proxy was full (max-upstreams).");
	metrics_u64(b, "sluice_logins_refused_full_total", NULL, NULL,
	    sl_stats.refused_full);
	metrics_family(b, "sluice_ratelimit_denied_total", "counter",
	    "Connections denied by the rate limit.");
	metrics_u64(b, "sluice_ratelimit_denied_total", NULL, NULL,
	    sl_stats.ratelimit_denied);
	metrics_family(b, "sluice_protocol_errors_total", "counter",
	    "Miner lines that were not valid requests.");
	metrics_u64(b, "sluice_protocol_errors_total", NULL, NULL,
	    sl_stats.protocol_errors);
	metrics_family(b, "sluice_lines_too_long_total", "counter",
	    "Miner connections closed for a line over the limit.");
	metrics_u64(b, "sluice_lines_too_long_total", NULL, NULL,
	    sl_stats.lines_too_long);
	metrics_family(b, "sluice_output_overflows_total", "counter",
	    "Miner connections closed for reading too slowly.");
	metrics_u64(b, "sluice_output_overflows_total", NULL, NULL,
	    sl_stats.overflows);
	metrics_family(b, "sluice_bytes_total", "counter",
	    "Bytes received from (in) and sent to (out) miners.");
	metrics_u64(b, "sluice_bytes_total", "direction", "in",
	    sl_stats.bytes_in);
	metrics_u64(b, "sluice_bytes_total", "direction", "out",
	    sl_stats.bytes_out);

	metrics_family(b, "sluice_pool_failures_total", "counter",
	    "Upstream pool connection failures, by reason.");
	for (j = POOL_FAIL_NONE + 1; j < POOL_FAIL_MAX; j++)
		metrics_u64(b, "sluice_pool_failures_total", "reason",
		    pool_fail_text((enum pool_fail)j), pool_fail_counts[j]);
	metrics_family(b, "sluice_reloads_total", "counter",
	    "Configuration reloads, by outcome.");
	metrics_u64(b, "sluice_reloads_total", "status", "ok",
	    sl_stats.reloads_ok);
	metrics_u64(b, "sluice_reloads_total", "status", "failed",
	    sl_stats.reloads_failed);
	metrics_family(b, "sluice_lua_errors_total", "counter",
	    "Lua hook calls that failed and fell back to the built-in "
	    "policy, by hook.");
	for (j = 0; j < STATS_NHOOKS; j++)
		metrics_u64(b, "sluice_lua_errors_total", "hook",
		    stats_hook_text((enum stats_hook)j),
		    sl_stats.lua_errors[j]);

	metrics_family(b, "sluice_log_lines_total", "counter",
	    "Lines written to the access and share logs.");
	for (j = 0; j < LOGFILE_MAX; j++)
		metrics_u64(b, "sluice_log_lines_total", "log",
		    j == LOGFILE_ACCESS ? "access" : "share",
		    logfile_lines((enum logfile_kind)j));
	metrics_family(b, "sluice_log_write_errors_total", "counter",
	    "Failed opens and writes of the access and share logs.");
	for (j = 0; j < LOGFILE_MAX; j++)
		metrics_u64(b, "sluice_log_write_errors_total", "log",
		    j == LOGFILE_ACCESS ? "access" : "share",
		    logfile_errors((enum logfile_kind)j));
	metrics_family(b, "sluice_log_dropped_lines_total", "counter",
	    "Log lines lost while a log file could not be written.");
	for (j = 0; j < LOGFILE_MAX; j++)
		metrics_u64(b, "sluice_log_dropped_lines_total", "log",
		    j == LOGFILE_ACCESS ? "access" : "share",
		    logfile_dropped((enum logfile_kind)j));
}
