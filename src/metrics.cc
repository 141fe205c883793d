/*
 * metrics.cc: GET /metrics in the Prometheus text exposition format,
 * version 0.0.4. Every name starts with sluice_, is in base units
 * (seconds, bytes), counters end in _total, and each family has its HELP
 * and TYPE lines. Label sets are fixed and small: no label takes a value
 * a miner chose (a worker name or an address would make the series grow
 * without bound; /1/workers and /1/miners are for those), except the
 * per-worker families that metrics.per-worker turns on: a series per
 * worker, bounded by workers-max as the worker table is, each name
 * escaped (metrics_label_value) since miners choose it.
 *
 * The counters of sl_stats come from stats.cc's counter table, which the
 * summary reads too; only values computed at render time, or kept by
 * another subsystem, are written out here.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "coins.h"
#include "config.h"
#include "history.h"
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
static void	 metrics_upstream_state(const struct upstream_view *, void *);
static void	 metrics_counters(struct evbuffer *);
static void	 metrics_coins(struct evbuffer *);
static void	 metrics_history(struct evbuffer *);
static void	 metrics_workers(struct evbuffer *, int64_t);

/*
 * Coin switching (coins.h): miners per coin, switches by source, failures
 * of the sources, refused moves. Coin names come from the config, not
 * from miners, so the label sets stay small.
 */
static void
metrics_coins(struct evbuffer *b)
{
	size_t	 miners[CONFIG_MAX_COINS + 1];
	size_t	 i;

	if (sl.conf->ncoins == 0)
		return;
	coins_count(miners, NULL);
	metrics_family(b, "sluice_coin_miners", "gauge",
	    "Logged-in miners on each coin.");
	for (i = 0; i < sl.conf->ncoins; i++)
		metrics_u64(b, "sluice_coin_miners", "coin",
		    sl.conf->coins[i].name, miners[i]);
	metrics_family(b, "sluice_switches_total", "counter",
	    "Users moved to another coin, by the source of the change.");
	for (i = COINS_SRC_API; i <= COINS_SRC_REDIS; i++)
		metrics_u64(b, "sluice_switches_total", "source",
		    coins_source_text((enum coins_source)i),
		    coins_switches((enum coins_source)i));
	metrics_family(b, "sluice_switch_errors_total", "counter",
	    "Failures of the coin map's sources: the state file, the pull, "
	    "Redis.");
	for (i = 0; i < COINS_ERR_MAX; i++)
		metrics_u64(b, "sluice_switch_errors_total", "kind",
		    coins_error_text((enum coins_error)i),
		    coins_errors((enum coins_error)i));
	metrics_family(b, "sluice_switch_refused_total", "counter",
	    "Miners not moved to a coin whose algorithm their login "
	    "excluded.");
	for (i = 0; i < sl.conf->ncoins; i++)
		metrics_u64(b, "sluice_switch_refused_total", "coin",
		    sl.conf->coins[i].name,
		    coins_refused(sl.conf->coins[i].name));
}

/*
 * The hashrate history (history.h): whether the database is in use, the
 * rings in memory, the rows written and lost, and what the last and the
 * longest flush cost the event loop and the writer thread. Its errors
 * are a row of the counter table.
 */
static void
metrics_history(struct evbuffer *b)
{
	struct history_metrics	 m;

	history_metrics(&m);
	metrics_family(b, "sluice_history_persisted", "gauge",
	    "1 while the history database is in use, else 0.");
	metrics_u64(b, "sluice_history_persisted", NULL, NULL,
	    (uint64_t)m.persisted);
	metrics_family(b, "sluice_history_series", "gauge",
	    "History rings in memory: the total, coins, upstreams and workers "
	    "that had a share.");
	metrics_u64(b, "sluice_history_series", NULL, NULL, m.series);
	metrics_family(b, "sluice_history_rows_total", "counter",
	    "History rows written to the database, and rows dropped because "
	    "the writer was too far behind.");
	metrics_u64(b, "sluice_history_rows_total", "result", "written",
	    m.rows);
	metrics_u64(b, "sluice_history_rows_total", "result", "dropped",
	    m.rows_dropped);
	metrics_family(b, "sluice_history_flushes_total", "counter",
	    "History flushes that handed rows to the writer.");
	metrics_u64(b, "sluice_history_flushes_total", NULL, NULL, m.flushes);
	metrics_family(b, "sluice_history_flush_rows", "gauge",
	    "Rows of the last history flush.");
	metrics_u64(b, "sluice_history_flush_rows", NULL, NULL, m.last_rows);
	metrics_family(b, "sluice_history_flush_max_rows", "gauge",
	    "Rows of the largest history flush since the start.");
	metrics_u64(b, "sluice_history_flush_max_rows", NULL, NULL,
	    m.max_rows);
	metrics_family(b, "sluice_history_flush_seconds", "gauge",
	    "The last history flush: how long it held the event loop "
	    "(loop; loop_cpu, its CPU time) and the writer thread's "
	    "transaction (write).");
	metrics_f64(b, "sluice_history_flush_seconds", "part", "loop",
	    m.loop_last);
	metrics_f64(b, "sluice_history_flush_seconds", "part", "loop_cpu",
	    m.cpu_last);
	metrics_f64(b, "sluice_history_flush_seconds", "part", "write",
	    m.write_last);
	metrics_family(b, "sluice_history_flush_max_seconds", "gauge",
	    "The longest history flush since the start, by part.");
	metrics_f64(b, "sluice_history_flush_max_seconds", "part", "loop",
	    m.loop_max);
	metrics_f64(b, "sluice_history_flush_max_seconds", "part", "loop_cpu",
	    m.cpu_max);
	metrics_f64(b, "sluice_history_flush_max_seconds", "part", "write",
	    m.write_max);
}

/*
 * A label value in the text format: backslash, double quote and newline
 * escaped as \\, \" and \n, and each byte that is not part of valid
 * UTF-8 (a Lua worker_name hook may return any bytes) written as U+FFFD,
 * since the format is UTF-8. Everything else as it is.
 */
void
metrics_label_value(struct evbuffer *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s, *run = p;
	size_t			 n, i;
	unsigned		 c;

	while (*p != '\0') {
		c = *p;
		if (c == '\\' || c == '"' || c == '\n') {
			evbuffer_add(b, run, (size_t)(p - run));
			evbuffer_add(b, c == '\\' ? "\\\\" : c == '"' ?
			    "\\\"" : "\\n", 2);
			run = ++p;
			continue;
		}
		if (c < 0x80) {
			p++;
			continue;
		}
		/* The length of a valid sequence starting here, or 0. */
		n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
		    c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		}
		/* No overlong 3- and 4-byte forms, surrogates, or > U+10FFFF. */
		if ((n == 3 && ((c == 0xe0 && p[1] < 0xa0) ||
		    (c == 0xed && p[1] > 0x9f))) ||
		    (n == 4 && ((c == 0xf0 && p[1] < 0x90) ||
		    (c == 0xf4 && p[1] > 0x8f))))
			n = 0;
		if (n == 0) {
			evbuffer_add(b, run, (size_t)(p - run));
			evbuffer_add(b, "\xef\xbf\xbd", 3);
			run = ++p;
		} else
			p += n;
	}
	evbuffer_add(b, run, (size_t)(p - run));
}

/*
 * metrics.per-worker: the hashrate over 60 s and the shares of each
 * worker, as many as the worker table holds (workers-max). A worker's
 * shares are counted as /1/workers counts them.
 */
static void
metrics_workers(struct evbuffer *b, int64_t now_ms)
{
	static const char	*results[] = { "accepted", "rejected", "invalid" };
	struct worker		*w;
	uint64_t		 v[3];
	int			 i;

	if (!sl.conf->metrics_per_worker)
		return;
	metrics_family(b, "sluice_worker_hashrate_hashes_per_second", "gauge",
	    "Hashrate of each worker over the last 60 seconds (metrics."
	    "per-worker; at most workers-max workers).");
	for (w = workers_first(); w != NULL; w = workers_next(w)) {
		evbuffer_add_printf(b,
		    "sluice_worker_hashrate_hashes_per_second{worker=\"");
		metrics_label_value(b, w->name);
		evbuffer_add_printf(b, "\"} %.6f\n",
		    workers_hashrate(w, STATS_W60S, now_ms));
	}
	metrics_family(b, "sluice_worker_shares_total", "counter",
	    "Shares of each worker by result, as /1/workers counts them "
	    "(metrics.per-worker).");
	for (w = workers_first(); w != NULL; w = workers_next(w)) {
		v[0] = w->accepted;
		v[1] = w->rejected;
		v[2] = w->invalid;
		for (i = 0; i < 3; i++) {
			evbuffer_add_printf(b,
			    "sluice_worker_shares_total{worker=\"");
			metrics_label_value(b, w->name);
			evbuffer_add_printf(b, "\",result=\"%s\"} %llu\n",
			    results[i], (unsigned long long)v[i]);
		}
	}
}

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

/* The families of the counter table, in table order. */
static void
metrics_counters(struct evbuffer *b)
{
	const struct stats_counter	*c;
	const char			*family = NULL;
	size_t				 i;
	unsigned			 j;

	for (i = 0; i < stats_ncounters; i++) {
		c = &stats_counters[i];
		if (c->name == NULL)
			continue;	/* in the summary only */
		if (family == NULL || strcmp(family, c->name) != 0) {
			metrics_family(b, c->name, stats_type_text(c->type),
			    c->help);
			family = c->name;
		}
		for (j = 0; j < stats_counter_len(c); j++)
			metrics_u64(b, c->name, c->label,
			    stats_counter_label(c, j), stats_counter_value(c, j));
	}
}

/*
 * Render every metric into b: the process, the values computed here,
 * then the counters of sl_stats from the table, then those kept by other
 * subsystems.
 */
void
metrics_render(struct evbuffer *b, int64_t now_ms)
{
	uint64_t		 ucount[5] = { 0, 0, 0, 0, 0 };
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

	metrics_family(b, "sluice_connections_open", "gauge",
	    "Miner connections open now, logged in or not.");
	metrics_u64(b, "sluice_connections_open", NULL, NULL, miner_count());
	metrics_family(b, "sluice_workers", "gauge", "Workers tracked now.");
	metrics_u64(b, "sluice_workers", NULL, NULL, workers_count());
	metrics_family(b, "sluice_workers_memory_bytes", "gauge",
	    "Memory held by the worker table.");
	metrics_u64(b, "sluice_workers_memory_bytes", NULL, NULL,
	    workers_memory());

	splitter_foreach(metrics_upstream_state, ucount);
	metrics_family(b, "sluice_upstreams", "gauge",
	    "Upstream pool connections by state.");
	for (j = 0; j < 5; j++)
		metrics_u64(b, "sluice_upstreams", "state", metrics_ustates[j],
		    ucount[j]);

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

	metrics_counters(b);
	metrics_coins(b);
	metrics_history(b);
	metrics_workers(b, now_ms);

	metrics_family(b, "sluice_pool_failures_total", "counter",
	    "Upstream pool connection failures, by reason.");
	for (j = POOL_FAIL_NONE + 1; j < POOL_FAIL_MAX; j++)
		metrics_u64(b, "sluice_pool_failures_total", "reason",
		    pool_fail_text((enum pool_fail)j), pool_fail_counts[j]);

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
