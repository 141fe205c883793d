/*
 * test_stats.cc: unit tests for src/stats.cc and src/workers.cc: the
 * hashrate windows (a young proxy divides by the time it has been up,
 * old buckets fall out, memory is fixed), the ten best difficulties, the
 * bounded latency median, the close-reason labels, the counter table
 * behind /metrics and /1/summary (with metrics.cc's rendering of it and
 * the labels man/sluice.8 lists), the custom-diff-stats weighting done in
 * events.cc, and the worker table's LRU eviction and bounded memory.
 *
 * Criterion runs every test in its own process, so the globals start
 * zeroed each time.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "api.h"
#include "config.h"
#include "events.h"
#include "miner.h"
#include "share.h"
#include "stats.h"
#include "workers.h"

TestSuite(stats);

static struct config	 conf;

/* A config the code under test can read through sl.conf. */
static void
setup_conf(int workers_max)
{
	memset(&conf, 0, sizeof conf);
	conf.workers = WORKERS_RIGID;
	conf.workers_max = workers_max;
	sl.conf = &conf;
}

/* A logged-in miner with a worker name (the struct only). */
static struct miner *
fake_miner(const char *worker, const char *ip)
{
	struct miner	*m = XCALLOC(struct miner, 1);

	m->peer.worker = worker != NULL ? xstrdup(worker) : NULL;
	xstrlcpy(m->peer.ip, ip != NULL ? ip : "10.0.0.1", sizeof m->peer.ip);
	return m;
}

/* A miner's login as events_login() does it: attach its worker. */
static struct worker *
attach(struct miner *m, int64_t now_ms)
{
	return m->worker_rec = workers_attach(&m->peer, now_ms);
}

/* A miner's close as events_close() does it. */
static void
detach(struct miner *m)
{
	workers_detach(m->worker_rec);
	m->worker_rec = NULL;
}

/* Free a fake miner (detached first). */
static void
free_miner(struct miner *m)
{
	free(m->peer.worker);
	free(m->peer.user);
	free(m);
}

/* Is a double within 0.01% of want? */
static bool
near(double got, double want)
{
	return fabs(got - want) <= fabs(want) * 1e-4 + 1e-9;
}

Test(stats, young_proxy_divides_by_uptime)
{
	int	 w;

	stats_init(1000000);
	/* One share of 1000 half a second in; read 10 s after start. */
	stats_hashes(1000, 1000500);
	for (w = 0; w < STATS_NWINDOWS; w++)
		cr_assert(near(stats_hashrate((enum stats_window)w, 1010000),
		    100.0), "window %s: %f, want 100",
		    stats_window_text((enum stats_window)w),
		    stats_hashrate((enum stats_window)w, 1010000));
	/* Before one second has passed, the divisor is one second. */
	stats_init(0);
	stats_hashes(500, 100);
	cr_assert(near(stats_hashrate(STATS_W60S, 200), 500.0));
}

Test(stats, steady_rate_reads_steady)
{
	int64_t	 t;
	int	 w;

	stats_init(0);
	/* 6000 per second for 2 hours: every window reads 6000 H/s. */
	for (t = 0; t < 7200; t++)
		stats_hashes(6000, t * 1000);
	/* Mid-bucket: within the error of one share in the current one. */
	cr_assert(fabs(stats_hashrate(STATS_W600S, 7199500) - 6000.0) < 10.0,
	    "600s mid-bucket: %f", stats_hashrate(STATS_W600S, 7199500));
	for (w = 0; w < STATS_NWINDOWS; w++) {
		double	 hr = stats_hashrate((enum stats_window)w, 7200000);

		cr_assert(near(hr, 6000.0), "window %s: %f, want 6000",
		    stats_window_text((enum stats_window)w), hr);
	}
}

Test(stats, old_buckets_fall_out)
{
	stats_init(0);
	stats_hashes(60000, 1000);
	cr_assert(near(stats_hashrate(STATS_W60S, 30000), 2000.0));
	/* Two minutes later the 60 s window is empty; 600 s still sees it. */
	cr_assert_eq(stats_hashrate(STATS_W60S, 121000), 0.0);
	cr_assert(near(stats_hashrate(STATS_W600S, 121000),
	    60000.0 / 121.0));
	/* A day and more later only "all" remembers it. */
	cr_assert_eq(stats_hashrate(STATS_W24H, 90000000), 0.0);
	cr_assert(near(stats_hashrate(STATS_WALL, 90000000),
	    60000.0 / 90000.0));
}

Test(stats, ring_fixed_memory)
{
	uint64_t	 v[6] = { 0 };
	uint32_t	 last = 0;

	/* Indices far apart reuse the same six buckets. */
	stats_ring_add(v, 6, &last, 0, 5);
	stats_ring_add(v, 6, &last, 1, 7);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 1, 6), 12);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 6, 6), 7);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 7, 6), 0);
	stats_ring_add(v, 6, &last, 4000000000u, 3);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 4000000000u, 6), 3);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 4000000000u, 1), 3);
	/* An index older than the newest adds to the newest. */
	stats_ring_add(v, 6, &last, 10, 1);
	cr_assert_eq(stats_ring_sum(v, 6, &last, 4000000000u, 1), 4);
}

Test(stats, best_ten_sorted)
{
	static const uint64_t	 in[] = { 5, 1, 9, 3, 15, 2, 8, 8, 100, 4,
	    7, 6, 50, 0, 11 };
	static const uint64_t	 want[10] = { 100, 50, 15, 11, 9, 8, 8, 7, 6,
	    5 };
	size_t			 i;

	memset(&sl_stats, 0, sizeof sl_stats);
	for (i = 0; i < sizeof in / sizeof in[0]; i++)
		stats_best(in[i]);
	for (i = 0; i < 10; i++)
		cr_assert_eq(sl_stats.best[i], want[i], "best[%zu] = %llu, "
		    "want %llu", i, (unsigned long long)sl_stats.best[i],
		    (unsigned long long)want[i]);
}

Test(stats, latency_median_bounded)
{
	uint32_t	 i, v[4] = { 40, 10, 30, 20 };

	stats_init(0);
	cr_assert_eq(stats_latency_median(), 0);
	for (i = 1; i <= 1001; i++)
		stats_latency(i);
	cr_assert_eq(stats_latency_median(), 501);
	/* Only the last 1024 samples count. */
	for (i = 0; i < 2000; i++)
		stats_latency(7);
	cr_assert_eq(stats_latency_median(), 7);
	cr_assert_eq(stats_median(v, 4), 30);	/* upper median */
	cr_assert_eq(stats_median(v, 3), 30);
}

Test(stats, upstream_latency_and_counts)
{
	struct upstream_stats	 u;
	int			 i;

	memset(&u, 0, sizeof u);
	for (i = 0; i < 100; i++)
		stats_upstream_share(&u, i % 4 != 0, 1000 + i);
	stats_upstream_share(&u, 1, -1);	/* no latency sample */
	cr_assert_eq(u.accepted, 76);
	cr_assert_eq(u.rejected, 25);
	cr_assert_eq(u.nlatency, 100);
	/* The last 64 samples are 1036..1099: median 1068. */
	cr_assert_eq(stats_upstream_latency(&u), 1068);
}

Test(stats, close_reasons)
{
	const char	*seen[CLOSE_MAX];
	int		 i, j;

	/* Every reason has its own label: none is "unknown", no two alike. */
	for (i = 0; i < CLOSE_MAX; i++) {
		seen[i] = stats_close_text((enum close_reason)i);
		cr_assert_str_neq(seen[i], "unknown", "reason %d", i);
		for (j = 0; j < i; j++)
			cr_assert_str_neq(seen[i], seen[j], "%d and %d", i, j);
	}
	cr_assert_str_eq(stats_close_text(CLOSE_MINER), "miner");
	cr_assert_str_eq(stats_close_text(CLOSE_TLS_ERROR), "tls_error");
	cr_assert_str_eq(stats_close_text(CLOSE_MAX), "unknown");
}

/* s is non-empty and every character is a-z, _ or one of extra. */
static int
is_word(const char *s, const char *extra)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if ((*s < 'a' || *s > 'z') && *s != '_' &&
		    strchr(extra, *s) == NULL)
			return 0;
	}
	return 1;
}

/* s ends with suffix. */
static int
ends_with(const char *s, const char *suffix)
{
	size_t	 n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every row is well formed; names, samples and summary keys are unique. */
Test(stats, counter_table_shape)
{
	const struct stats_counter	*c, *d, *first = NULL;
	size_t				 i, k;
	unsigned			 j, l;

	cr_assert_gt(stats_ncounters, 0);
	for (i = 0; i < stats_ncounters; i++) {
		c = &stats_counters[i];
		cr_assert(c->name != NULL || c->json != NULL,
		    "row %zu is shown nowhere", i);
		cr_assert((c->v != NULL) != (c->get != NULL),
		    "row %zu: one of v and get", i);
		if (c->n > 0)
			cr_assert(c->v != NULL && c->text != NULL &&
			    c->label_value == NULL && c->key == NULL,
			    "row %zu: an array labels by text(i)", i);
		else
			cr_assert_null(c->text, "row %zu", i);
		if (c->name == NULL)
			continue;

		/* Prometheus: sluice_ names, _total counters, labels. */
		cr_assert(strncmp(c->name, "sluice_", 7) == 0 &&
		    is_word(c->name, ""), "bad name %s", c->name);
		if (c->type == STATS_COUNTER)
			cr_assert(ends_with(c->name, "_total"), "%s", c->name);
		else
			cr_assert(!ends_with(c->name, "_total"), "%s", c->name);
		cr_assert(c->n == 0 || c->label != NULL, "%s", c->name);
		if (c->label != NULL) {
			cr_assert(is_word(c->label, ""), "%s", c->name);
			for (j = 0; j < stats_counter_len(c); j++)
				cr_assert(is_word(stats_counter_label(c, j),
				    "0123456789"), "%s label %u", c->name, j);
		}

		/*
		 * A family's rows are adjacent (rows shown in the summary
		 * only may sit between them); the first has the help text,
		 * the others share its type and label name.
		 */
		if (first == NULL || strcmp(first->name, c->name) != 0) {
			first = c;
			for (k = 0; k < i; k++)
				cr_assert(stats_counters[k].name == NULL ||
				    strcmp(stats_counters[k].name,
				    c->name) != 0, "%s is split", c->name);
			cr_assert(c->help != NULL && *c->help != '\0',
			    "%s has no help", c->name);
		} else {
			cr_assert_null(c->help, "%s: help twice", c->name);
			cr_assert_eq(c->type, first->type, "%s", c->name);
			cr_assert(c->label != NULL && first->label != NULL &&
			    strcmp(c->label, first->label) == 0,
			    "%s: one label name per family", c->name);
		}
	}

	/* No sample, and no summary key, twice. */
	for (i = 0; i < stats_ncounters; i++) {
		c = &stats_counters[i];
		for (k = 0; k <= i; k++) {
			d = &stats_counters[k];
			for (j = 0; j < stats_counter_len(c); j++) {
				for (l = 0; l < stats_counter_len(d); l++) {
					if (k == i && l >= j)
						break;
					if (c->name != NULL && d->name != NULL &&
					    strcmp(c->name, d->name) == 0)
						cr_assert(c->label != NULL &&
						    strcmp(stats_counter_label(
						    c, j), stats_counter_label(
						    d, l)) != 0, "%s twice",
						    c->name);
					if (c->json != NULL && d->json != NULL &&
					    strcmp(c->json, d->json) == 0)
						cr_assert_str_neq(
						    stats_counter_key(c, j),
						    stats_counter_key(d, l),
						    "%s twice", c->json);
				}
			}
		}
	}
}

/* The sample of the table with this name and label value; NULL if none. */
static const struct stats_counter *
table_sample(const char *name, const char *label, unsigned *idx)
{
	const struct stats_counter	*c;
	const char			*l;
	size_t				 i;
	unsigned			 j;

	for (i = 0; i < stats_ncounters; i++) {
		c = &stats_counters[i];
		if (c->name == NULL || strcmp(c->name, name) != 0)
			continue;
		for (j = 0; j < stats_counter_len(c); j++) {
			l = stats_counter_label(c, j);
			if ((l == NULL && label == NULL) || (l != NULL &&
			    label != NULL && strcmp(l, label) == 0)) {
				*idx = j;
				return c;
			}
		}
	}
	return NULL;
}

/* The summary value of the table at object path json and key. */
static int
table_summary(const char *json, const char *key, uint64_t *v)
{
	const struct stats_counter	*c;
	size_t				 i;
	unsigned			 j;

	for (i = 0; i < stats_ncounters; i++) {
		c = &stats_counters[i];
		if (c->json == NULL || strcmp(c->json, json) != 0)
			continue;
		for (j = 0; j < stats_counter_len(c); j++) {
			if (strcmp(stats_counter_key(c, j), key) == 0) {
				*v = stats_counter_value(c, j);
				return 1;
			}
		}
	}
	return 0;
}

/*
 * Every counter of struct stats but best[] (a list, not a counter) is
 * reached by the table, and each sample reads its own member: a counter
 * added to struct stats without a row fails here.
 */
Test(stats, counter_table_reaches_sl_stats)
{
	uint64_t			*base = (uint64_t *)&sl_stats, v;
	const size_t			 nslots = sizeof sl_stats /
					    sizeof(uint64_t);
	unsigned char			 seen[sizeof sl_stats /
					    sizeof(uint64_t)];
	const struct stats_counter	*c;
	size_t				 i, slot;
	unsigned			 j;

	static_assert(sizeof(struct stats) % sizeof(uint64_t) == 0,
	    "struct stats holds only uint64_t counters");
	memset(seen, 0, sizeof seen);
	for (i = 0; i < nslots; i++)
		base[i] = 1000 + i;
	for (i = 0; i < stats_ncounters; i++) {
		c = &stats_counters[i];
		if (c->v == NULL)
			continue;
		cr_assert(c->v >= base && c->v + stats_counter_len(c) <=
		    base + nslots, "row %zu points outside sl_stats", i);
		for (j = 0; j < stats_counter_len(c); j++) {
			slot = (size_t)(c->v - base) + j;
			seen[slot] = 1;
			cr_assert_eq(stats_counter_value(c, j), 1000 + slot);
		}
	}
	for (i = 0; i < nslots; i++) {
		if (&base[i] >= sl_stats.best && &base[i] < sl_stats.best +
		    sizeof sl_stats.best / sizeof sl_stats.best[0])
			continue;
		cr_assert(seen[i], "sl_stats word %zu is in no table row", i);
	}

	/* A few samples by name, as /metrics and the summary show them. */
	sl_stats.closed[CLOSE_NO_JOB] = 7;
	sl_stats.lua_errors[STATS_HOOK_UPSTREAM_LOGIN] = 8;
	sl_stats.timeouts = 9;
	sl_stats.invalid = 10;
	sl_stats.duplicate = 5;
	c = table_sample("sluice_connections_closed_total", "no_job", &j);
	cr_assert(c != NULL && stats_counter_value(c, j) == 7);
	c = table_sample("sluice_lua_errors_total", "upstream_login", &j);
	cr_assert(c != NULL && stats_counter_value(c, j) == 8);
	c = table_sample("sluice_shares_total", "timeout", &j);
	cr_assert(c != NULL && stats_counter_value(c, j) == 9);
	c = table_sample("sluice_shares_total", "invalid", &j);
	cr_assert(c != NULL && stats_counter_value(c, j) == 10);
	cr_assert(table_summary("sluice.connections_closed", "no_job", &v) &&
	    v == 7);
	cr_assert(table_summary("sluice", "timeouts", &v) && v == 9);
	/* xmrig-proxy's "invalid" counts duplicates too. */
	cr_assert(table_summary("results", "invalid", &v) && v == 15);
	cr_assert(!table_summary("sluice", "invalid", &v));
}

/*
 * The whole /metrics page: one HELP and one TYPE line per family, before
 * its samples, which are adjacent; sluice_ names, _total counters; and
 * every sample of the counter table with its value.
 */
Test(stats, metrics_render_families)
{
	struct evbuffer			*b = evbuffer_new();
	char				*text, *copy, *line, *next, *sp;
	char				 fam[128], sample[256];
	char				 families[64][128];
	size_t				 nfam = 0, i, len;
	int				 help = 0, type = 0, samples;
	const struct stats_counter	*c;
	unsigned			 j;

	setup_conf(100);
	for (i = 0; i < CLOSE_MAX; i++)
		sl_stats.closed[i] = 100 + i;
	sl_stats.bytes_out = 4242;
	metrics_render(b, stats_clock_ms());
	len = evbuffer_get_length(b);
	text = XCALLOC(char, len + 1);
	evbuffer_remove(b, text, len);
	evbuffer_free(b);
	copy = xstrdup(text);

	fam[0] = '\0';
	samples = 0;
	for (line = text; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		cr_assert_not_null(next, "unterminated line");
		*next++ = '\0';
		if (strncmp(line, "# HELP ", 7) == 0 ||
		    strncmp(line, "# TYPE ", 7) == 0) {
			sp = strchr(line + 7, ' ');
			cr_assert_not_null(sp, "%s", line);
			if (strncmp(fam, line + 7, (size_t)(sp - line - 7)) !=
			    0 || fam[sp - line - 7] != '\0') {
				/* A new family: not seen before. */
				cr_assert(fam[0] == '\0' || (help == 1 &&
				    type == 1 && samples > 0),
				    "%s: HELP %d TYPE %d samples %d", fam,
				    help, type, samples);
				snprintf(fam, sizeof fam, "%.*s",
				    (int)(sp - line - 7), line + 7);
				for (i = 0; i < nfam; i++)
					cr_assert_str_neq(families[i], fam,
					    "%s twice", fam);
				cr_assert_lt(nfam, 64);
				snprintf(families[nfam++], sizeof families[0],
				    "%s", fam);
				cr_assert(strncmp(fam, "sluice_", 7) == 0 &&
				    is_word(fam, ""), "bad name %s", fam);
				help = type = samples = 0;
			}
			if (line[2] == 'H')
				help++;
			else {
				type++;
				cr_assert(strcmp(sp + 1, "gauge") == 0 ||
				    (strcmp(sp + 1, "counter") == 0 &&
				    ends_with(fam, "_total")), "%s", line);
			}
			cr_assert_eq(samples, 0, "%s after samples", line);
			continue;
		}
		len = strcspn(line, "{ ");
		cr_assert(len == strlen(fam) && strncmp(line, fam, len) == 0,
		    "sample %s outside its family %s", line, fam);
		samples++;
	}
	cr_assert(help == 1 && type == 1 && samples > 0, "%s", fam);

	/* Every sample of the table, with its value. */
	for (i = 0; i < stats_ncounters; i++) {
		c = &stats_counters[i];
		if (c->name == NULL)
			continue;
		for (j = 0; j < stats_counter_len(c); j++) {
			if (c->label != NULL)
				snprintf(sample, sizeof sample,
				    "\n%s{%s=\"%s\"} %llu\n", c->name, c->label,
				    stats_counter_label(c, j),
				    (unsigned long long)stats_counter_value(c,
				    j));
			else
				snprintf(sample, sizeof sample, "\n%s %llu\n",
				    c->name, (unsigned long long)
				    stats_counter_value(c, j));
			cr_assert_not_null(strstr(copy, sample), "no %s",
			    sample + 1);
		}
	}
	cr_assert_not_null(strstr(copy, "\nsluice_bytes_total"
	    "{direction=\"out\"} 4242\n"));
	cr_assert_not_null(strstr(copy, "\nsluice_connections_closed_total"
	    "{reason=\"job_too_large\"} 113\n"));
	free(copy);
	free(text);
}

/*
 * The .Cm words of the entry of family in man/sluice.8's METRICS list, in
 * order; their number.
 */
static int
man_words(const char *family, char words[][32], int max)
{
	const char	*src = getenv("SLUICE_SRCDIR");
	char		 path[PATH_MAX], line[512], head[256];
	FILE		*f;
	int		 n = 0, in = 0;

	snprintf(path, sizeof path, "%s/man/sluice.8",
	    src != NULL && *src != '\0' ? src : ".");
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s (run from the source tree or "
	    "set SLUICE_SRCDIR)", path);
	snprintf(head, sizeof head, ".It Li %s Ns Brq", family);
	while (fgets(line, sizeof line, f) != NULL) {
		if (!in) {
			in = strncmp(line, head, strlen(head)) == 0;
			continue;
		}
		if (strncmp(line, ".It", 3) == 0 || strncmp(line, ".El", 3) == 0)
			break;
		if (strncmp(line, ".Cm ", 4) == 0 && n < max)
			sscanf(line + 4, "%31[a-z0-9_]", words[n++]);
	}
	fclose(f);
	cr_assert(in, "%s is not in man/sluice.8", family);
	return n;
}

/* The manual lists exactly the close reasons and hooks /metrics labels. */
Test(stats, manual_lists_labels)
{
	char	 words[64][32];
	int	 n, i;

	n = man_words("sluice_connections_closed_total", words, 64);
	cr_assert_eq(n, CLOSE_MAX, "man/sluice.8 lists %d close reasons, "
	    "enum close_reason has %d", n, CLOSE_MAX);
	for (i = 0; i < n; i++)
		cr_assert_str_eq(words[i],
		    stats_close_text((enum close_reason)i));
	n = man_words("sluice_lua_errors_total", words, 64);
	cr_assert_eq(n, STATS_NHOOKS);
	for (i = 0; i < n; i++)
		cr_assert_str_eq(words[i], stats_hook_text((enum stats_hook)i));
}

Test(stats, custom_diff_stats_weighting)
{
	struct miner	*m;
	struct share	 s;

	setup_conf(100);
	conf.workers = WORKERS_NONE;
	memset(&sl_stats, 0, sizeof sl_stats);
	stats_init(stats_clock_ms());
	m = fake_miner(NULL, NULL);
	m->diff = 1000;
	m->custom_diff = 1000;
	memset(&s, 0, sizeof s);
	s.miner = m;
	s.pool_diff = 10000;
	s.diff = 20000;

	/* Off: only pool-accepted shares, at the pool's difficulty. */
	events_share(&s, SHARE_LOCAL, NULL);
	cr_assert_eq(sl_stats.hashes, 0);
	events_share(&s, SHARE_ACCEPTED, NULL);
	cr_assert_eq(sl_stats.hashes, 10000);
	cr_assert_eq(sl_stats.best[0], 20000);
	events_share(&s, SHARE_REJECTED, "Low difficulty share");
	cr_assert_eq(sl_stats.hashes, 10000);

	/* On: every OK share at min(custom, pool). */
	conf.custom_diff_stats = 1;
	events_share(&s, SHARE_LOCAL, NULL);
	events_share(&s, SHARE_ACCEPTED, NULL);
	cr_assert_eq(sl_stats.hashes, 12000);
	cr_assert_eq(sl_stats.accepted, 2);
	cr_assert_eq(sl_stats.local, 2);
	cr_assert_eq(sl_stats.rejected, 1);
	free_miner(m);
}

Test(stats, workers_lru_eviction)
{
	struct miner	*m[6];
	struct worker	*w;
	const char	*names[] = { "a", "b", "c", "d", "e", "f" };
	char		 seen[64];
	int		 i;

	setup_conf(3);
	memset(&sl_stats, 0, sizeof sl_stats);
	for (i = 0; i < 6; i++)
		m[i] = fake_miner(names[i], NULL);
	/* a, b, c connect and leave in that order: a is idle the longest. */
	for (i = 0; i < 3; i++)
		cr_assert_not_null(attach(m[i], 0));
	for (i = 0; i < 3; i++)
		detach(m[i]);
	cr_assert_eq(workers_count(), 3);
	cr_assert_not_null(attach(m[3], 0));	/* evicts a */
	cr_assert_not_null(attach(m[0], 0));	/* a again: evicts b */
	seen[0] = '\0';
	for (w = workers_first(); w != NULL; w = workers_next(w))
		strcat(seen, w->name);
	cr_assert_str_eq(seen, "cda", "workers after eviction: %s", seen);
	cr_assert_eq(sl_stats.workers_evicted, 2);

	/* c is the only idle one; with d and a connected e evicts c. */
	cr_assert_not_null(attach(m[4], 0));
	/* Now all three are connected: f cannot be tracked. */
	cr_assert_null(attach(m[5], 0));
	cr_assert_eq(sl_stats.workers_untracked, 1);
	cr_assert_eq(workers_count(), 3);

	/* A second connection of the same worker shares its record. */
	m[5]->peer.worker[0] = 'd';
	w = attach(m[5], 0);
	cr_assert(w != NULL && strcmp(w->name, "d") == 0 &&
	    w->connections == 2);
	for (i = 0; i < 6; i++) {
		detach(m[i]);
		free_miner(m[i]);
	}
	workers_clear();
	cr_assert_eq(workers_count(), 0);
}

Test(stats, workers_share_counts_and_rates)
{
	struct miner	*m;
	struct worker	*w;

	setup_conf(10);
	stats_init(0);
	m = fake_miner("rig1", "192.0.2.7");
	w = attach(m, 5000);
	cr_assert_not_null(w);
	cr_assert_str_eq(w->ip, "192.0.2.7");
	workers_share(w, SHARE_ACCEPTED, 10000, 6000);
	workers_share(w, SHARE_LOCAL, 0, 6000);
	workers_share(w, SHARE_REJECTED, 0, 6000);
	workers_share(w, SHARE_TIMEOUT, 0, 6000);
	workers_share(w, SHARE_DUPLICATE, 0, 6000);
	cr_assert_eq(w->accepted, 2);
	cr_assert_eq(w->rejected, 2);
	cr_assert_eq(w->invalid, 1);
	cr_assert_eq(w->rate.hashes, 10000);
	cr_assert_gt(w->last_share_ms, 1600000000000LL);
	/* Seen for 10 s at 15 s: every window reads 1000 H/s. */
	for (int i = 0; i < STATS_NWINDOWS; i++)
		cr_assert(near(workers_hashrate(w, (enum stats_window)i,
		    15000), 1000.0), "window %d: %f", i,
		    workers_hashrate(w, (enum stats_window)i, 15000));
	/* Two minutes later the 60 s window is empty. */
	cr_assert_eq(workers_hashrate(w, STATS_W60S, 135000), 0.0);
	detach(m);
	free_miner(m);
	workers_clear();
}

Test(stats, workers_memory_bounded)
{
	struct miner	*m;
	char		 name[64];
	size_t		 peak = 0, mem;
	int		 i;

	setup_conf(1000);
	memset(&sl_stats, 0, sizeof sl_stats);
	m = fake_miner(NULL, NULL);
	/* 100,000 distinct workers logging in and out. */
	for (i = 0; i < 100000; i++) {
		snprintf(name, sizeof name, "rig-%08d", i);
		m->peer.worker = name;
		cr_assert_not_null(attach(m, i));
		detach(m);
		if ((mem = workers_memory()) > peak)
			peak = mem;
	}
	m->peer.worker = NULL;
	cr_assert_eq(workers_count(), 1000);
	cr_assert_eq(sl_stats.workers_evicted, 99000);
	/* The newest 1000 survive, oldest first. */
	cr_assert_str_eq(workers_first()->name, "rig-00099000");
	cr_log_info("workers: %zu bytes for %zu workers, %zu bytes each "
	    "(struct %zu)", workers_memory(), workers_count(),
	    workers_memory() / workers_count(), sizeof(struct worker));
	fprintf(stderr, "workers: peak %zu bytes for 1000 workers: %zu bytes "
	    "per worker (struct worker %zu)\n", peak, peak / 1000,
	    sizeof(struct worker));
	cr_assert_lt(peak / 1000, 700, "%zu bytes per worker", peak / 1000);
	workers_clear();
	free_miner(m);
}

Test(stats, workers_mode_change_forgets)
{
	struct miner	*a, *b;

	setup_conf(10);
	a = fake_miner("x", NULL);
	b = fake_miner("y", NULL);
	attach(a, 0);
	attach(b, 0);
	detach(b);
	cr_assert_eq(workers_count(), 2);
	conf.workers = WORKERS_USER;
	workers_tick();
	/* The idle one goes now, the connected one when it leaves. */
	cr_assert_eq(workers_count(), 1);
	detach(a);
	cr_assert_eq(workers_count(), 0);
	free_miner(a);
	free_miner(b);
	workers_clear();
}

/* The text metrics_label_value() makes of s. */
static char *
label_text(const char *s)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len;
	char		*text;

	metrics_label_value(b, s);
	len = evbuffer_get_length(b);
	text = XCALLOC(char, len + 1);
	evbuffer_remove(b, text, len);
	evbuffer_free(b);
	return text;
}

/*
 * Label values as the text format wants them: backslash, quote and
 * newline escaped, valid UTF-8 kept, every other byte U+FFFD.
 */
Test(stats, metrics_label_escaping)
{
	static const struct {
		const char	*in, *out;
	} cases[] = {
		{ "rig-01", "rig-01" },
		{ "", "" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "two\nlines", "two\\nlines" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "tab\tand }{,=", "tab\tand }{,=" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "bad\xff", "bad\xef\xbf\xbd" },
		{ "cut\xc3", "cut\xef\xbf\xbd" },
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf4\x90\x80\x80x",
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx" },
	};
	char	*got;
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		got = label_text(cases[i].in);
		cr_assert_str_eq(got, cases[i].out, "case %zu: \"%s\"", i, got);
		free(got);
	}
}

/* The whole /metrics page as a string. */
static char *
metrics_text(void)
{
	struct evbuffer	*b = evbuffer_new();
	size_t		 len;
	char		*text;

	metrics_render(b, stats_clock_ms());
	len = evbuffer_get_length(b);
	text = XCALLOC(char, len + 1);
	evbuffer_remove(b, text, len);
	evbuffer_free(b);
	return text;
}

/* How many lines of text start with prefix. */
static int
count_lines(const char *text, const char *prefix)
{
	const char	*p = text;
	int		 n = 0;

	for (; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		if (strchr(p, '\n') == NULL)
			break;
	}
	return n;
}

/*
 * metrics.per-worker: off, no worker family; on, one hashrate and three
 * share samples per tracked worker (never more than workers-max), with
 * the name escaped.
 */
Test(stats, metrics_per_worker)
{
	struct miner	*m[3];
	const char	*names[] = { "rig-1", "a\"b\\c\nd", "rig-3" };
	char		*text;
	int		 i;

	setup_conf(2);
	stats_init(stats_clock_ms());
	for (i = 0; i < 3; i++) {
		m[i] = fake_miner(names[i], NULL);
		attach(m[i], stats_clock_ms());
	}
	cr_assert_eq(workers_count(), 2, "workers-max 2 tracks 2");
	workers_share(m[0]->worker_rec, SHARE_ACCEPTED, 60000,
	    stats_clock_ms());
	workers_share(m[0]->worker_rec, SHARE_ACCEPTED, 60000,
	    stats_clock_ms());
	workers_share(m[1]->worker_rec, SHARE_REJECTED, 0, stats_clock_ms());
	workers_share(m[1]->worker_rec, SHARE_DUPLICATE, 0, stats_clock_ms());

	text = metrics_text();
	cr_assert_null(strstr(text, "sluice_worker_"), "per-worker is off");
	free(text);

	conf.metrics_per_worker = 1;
	text = metrics_text();
	cr_assert_not_null(strstr(text,
	    "\n# TYPE sluice_worker_hashrate_hashes_per_second gauge\n"));
	cr_assert_not_null(strstr(text,
	    "\n# TYPE sluice_worker_shares_total counter\n"));
	cr_assert_eq(count_lines(text,
	    "sluice_worker_hashrate_hashes_per_second{"), 2, "%s", text);
	cr_assert_eq(count_lines(text, "sluice_worker_shares_total{"), 6);
	cr_assert_not_null(strstr(text, "\nsluice_worker_shares_total"
	    "{worker=\"rig-1\",result=\"accepted\"} 2\n"), "%s", text);
	cr_assert_not_null(strstr(text, "\nsluice_worker_shares_total"
	    "{worker=\"a\\\"b\\\\c\\nd\",result=\"rejected\"} 1\n"), "%s",
	    text);
	cr_assert_not_null(strstr(text, "\nsluice_worker_shares_total"
	    "{worker=\"a\\\"b\\\\c\\nd\",result=\"invalid\"} 1\n"));
	cr_assert_not_null(strstr(text,
	    "\nsluice_worker_hashrate_hashes_per_second{worker=\"rig-1\"} "));
	cr_assert_null(strstr(text, "rig-3"), "an untracked worker has no "
	    "series");
	free(text);
	for (i = 0; i < 3; i++) {
		detach(m[i]);
		free_miner(m[i]);
	}
	workers_clear();
}

/* The summary line's hashrate: two decimals, the unit that keeps >= 1. */
Test(stats, rate_text_units)
{
	static const struct {
		double		 hs;
		const char	*text;
	} cases[] = {
		{ 0, "0.00H/s" }, { -5, "0.00H/s" }, { 0.004, "0.00H/s" },
		{ 12.345, "12.35H/s" }, { 999.99, "999.99H/s" },
		{ 999.996, "1.00kH/s" }, { 1230, "1.23kH/s" },
		{ 45600000, "45.60MH/s" }, { 7.5e9, "7.50GH/s" },
		{ 2e12, "2.00TH/s" }, { 3e15, "3000.00TH/s" },
	};
	char	 buf[32];
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_assert_str_eq(stats_rate_text(buf, sizeof buf, cases[i].hs),
		    cases[i].text, "%g", cases[i].hs);
	cr_assert_str_eq(stats_rate_text(buf, sizeof buf, NAN), "0.00H/s");
}
