/*
 * test_config.cc: unit tests for src/config.cc: config.json loading with
 * xmrig-proxy's keys and defaults, error and warning texts, pool URLs.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "config.h"
#include "stats.h"
#include "stratum.h"
#include "tls.h"

TestSuite(config);

#define MINIMAL	"{\"bind\":[\"127.0.0.1:3333\"]," \
		"\"pools\":[{\"url\":\"pool.example.com:3333\"}]}"

/* One load: the temp file, the result and both lists. */
struct load {
	char		 path[64];
	struct config	*conf;
	struct strlist	 errors;
	struct strlist	 warnings;
};

/* Write text to a new temp file and load it. */
static void
load_text(struct load *l, const char *text)
{
	size_t	len = strlen(text);
	int	fd;

	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "/tmp/sluice-test-XXXXXX");
	fd = mkstemp(l->path);
	cr_assert_geq(fd, 0, "mkstemp failed");
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	l->conf = config_load(l->path, &l->errors, &l->warnings);
}

/* Release everything a load made. */
static void
load_done(struct load *l)
{
	if (l->conf != NULL)
		config_unref(l->conf);
	l->conf = NULL;
	strlist_clear(&l->errors);
	strlist_clear(&l->warnings);
	if (l->path[0] != '\0')
		unlink(l->path);
	l->path[0] = '\0';
}

/* All strings of a list joined by newlines, for messages; caller frees. */
static char *
joined(const struct strlist *sl_)
{
	size_t	 i, len = 1;
	char	*s;

	for (i = 0; i < sl_->n; i++)
		len += strlen(sl_->v[i]) + 1;
	s = (char *)calloc(1, len);
	cr_assert_not_null(s);
	for (i = 0; i < sl_->n; i++) {
		strcat(s, sl_->v[i]);
		strcat(s, "\n");
	}
	return s;
}

/* The index of the first entry containing all of a and b (b may be NULL). */
static int
find_entry(const struct strlist *sl_, const char *a, const char *b)
{
	size_t	i;

	for (i = 0; i < sl_->n; i++) {
		if (strstr(sl_->v[i], a) != NULL &&
		    (b == NULL || strstr(sl_->v[i], b) != NULL))
			return (int)i;
	}
	return -1;
}

/* The text must load; fail with its errors otherwise. */
static void
expect_ok(struct load *l, const char *text)
{
	char	*e;

	load_text(l, text);
	if (l->conf == NULL) {
		e = joined(&l->errors);
		cr_assert_fail("config rejected: %s\nerrors:\n%s", text, e);
	}
	cr_assert_eq(l->errors.n, 0, "errors on a loaded config");
}

/* The text must be refused with an error containing a (and b). */
static void
expect_error(const char *text, const char *a, const char *b)
{
	struct load	 l;
	char		*e;

	load_text(&l, text);
	cr_assert_null(l.conf, "config accepted: %s", text);
	cr_assert_gt(l.errors.n, 0, "NULL but no errors: %s", text);
	e = joined(&l.errors);
	cr_assert_geq(find_entry(&l.errors, a, b), 0,
	    "no error with \"%s\"%s%s%s for %s; errors:\n%s", a,
	    b ? " and \"" : "", b ? b : "", b ? "\"" : "", text, e);
	free(e);
	load_done(&l);
}

/* Load MINIMAL with "workers": value; return the mode. */
static enum workers_mode
workers_of(const char *value)
{
	struct load		 l;
	char			 text[256];
	enum workers_mode	 w;

	snprintf(text, sizeof(text), "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"workers\":%s}", value);
	expect_ok(&l, text);
	w = l.conf->workers;
	load_done(&l);
	return w;
}

/* Load MINIMAL with "policy": value; the on-error per hook in out. */
static void
on_error_of(const char *value, enum on_error out[STATS_NHOOKS])
{
	struct load	 l;
	char		 text[512];
	char		*w;

	snprintf(text, sizeof(text), "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"policy\":%s}", value);
	expect_ok(&l, text);
	w = joined(&l.warnings);
	cr_assert_eq(l.warnings.n, 0, "policy %s warned:\n%s", value, w);
	free(w);
	memcpy(out, l.conf->on_error, sizeof(l.conf->on_error));
	load_done(&l);
}

Test(config, minimal_defaults)
{
	struct load	 l;
	struct config	*c;

	expect_ok(&l, MINIMAL);
	c = l.conf;
	cr_assert_eq(c->refs, 1);
	cr_assert_eq(c->mode, MODE_NICEHASH);
	cr_assert_eq(c->nbinds, 1);
	cr_assert_not_null(c->binds);
	cr_assert_eq(c->binds[0].port, 3333);
	cr_assert_str_eq(c->binds[0].host, "127.0.0.1");
	cr_assert_eq(c->binds[0].tls, 0);
	cr_assert_eq(c->npools, 1);
	cr_assert_not_null(c->pools);
	cr_assert_str_eq(c->pools[0].host, "pool.example.com");
	cr_assert_eq(c->pools[0].port, 3333);
	cr_assert_eq(c->pools[0].tls, 0);
	cr_assert_not_null(c->pools[0].user);
	cr_assert_str_eq(c->pools[0].user, "x");
	cr_assert_eq(c->pools[0].enabled, 1);
	cr_assert_eq(c->retries, 2);
	cr_assert_eq(c->retry_pause, 1);
	cr_assert_eq(c->workers, WORKERS_RIGID);
	cr_assert_eq(c->algo_ext, 1);
	cr_assert_eq(c->pool_response_timeout, 5);
	cr_assert_eq(c->pool_connect_timeout, 10);
	cr_assert_eq(c->http.restricted, 1);
	cr_assert_eq(c->http.timeout, 10);
	cr_assert_eq(c->http.max_connections, 64);
	cr_assert_eq(c->http.dashboard, 1);
	cr_assert_eq(c->metrics_per_worker, 0);
	cr_assert_not_null(c->path);
	cr_assert_str_eq(c->path, l.path);
	load_done(&l);
}

Test(config, ref_unref)
{
	struct load	 l;
	struct config	*c;

	expect_ok(&l, MINIMAL);
	c = l.conf;
	cr_assert_eq(config_ref(c), c);
	cr_assert_eq(c->refs, 2);
	config_unref(c);
	cr_assert_eq(c->refs, 1);
	load_done(&l);
}

Test(config, url_ssl)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"stratum+ssl://h:443\"}]}");
	cr_assert_eq(l.conf->npools, 1);
	cr_assert_eq(l.conf->pools[0].tls, 1);
	cr_assert_str_eq(l.conf->pools[0].host, "h");
	cr_assert_eq(l.conf->pools[0].port, 443);
	load_done(&l);
}

Test(config, url_tcp)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"stratum+tcp://h:3333\"}]}");
	cr_assert_eq(l.conf->pools[0].tls, 0);
	cr_assert_str_eq(l.conf->pools[0].host, "h");
	cr_assert_eq(l.conf->pools[0].port, 3333);
	load_done(&l);
}

Test(config, pool_fields)
{
	struct load	 l;
	struct pool_conf *p;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{"
	    "\"url\":\"p.example:5555\",\"user\":\"wallet\",\"pass\":\"pw\","
	    "\"rig-id\":\"rig7\",\"keepalive\":true}]}");
	p = &l.conf->pools[0];
	cr_assert_str_eq(p->user, "wallet");
	cr_assert_not_null(p->pass);
	cr_assert_str_eq(p->pass, "pw");
	cr_assert_not_null(p->rig_id);
	cr_assert_str_eq(p->rig_id, "rig7");
	cr_assert_eq(p->keepalive, 1);
	cr_assert_eq(p->port, 5555);
	load_done(&l);
}

Test(config, bind_object_form)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[{\"host\":\"0.0.0.0\",\"port\":3333,"
	    "\"tls\":false}],\"pools\":[{\"url\":\"p:1\"}]}");
	cr_assert_eq(l.conf->nbinds, 1);
	cr_assert_str_eq(l.conf->binds[0].host, "0.0.0.0");
	cr_assert_eq(l.conf->binds[0].port, 3333);
	cr_assert_eq(l.conf->binds[0].tls, 0);
	load_done(&l);
}

Test(config, several_binds)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\","
	    "{\"host\":\"0.0.0.0\",\"port\":4444,\"tls\":false}],"
	    "\"pools\":[{\"url\":\"p:1\"}]}");
	cr_assert_eq(l.conf->nbinds, 2);
	cr_assert_eq(l.conf->binds[0].port, 3333);
	cr_assert_eq(l.conf->binds[1].port, 4444);
	load_done(&l);
}

Test(config, bind_transports)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\","
	    "{\"port\":4444,\"websocket\":true},"
	    "{\"port\":4445,\"websocket\":true,\"tls\":true,"
	    "\"path\":\"/mine\"},"
	    "{\"port\":4446,\"tls\":true,\"protocol\":\"xatum\"}],"
	    "\"websocket-origins\":[\"https://pool.example\"],"
	    "\"pools\":[{\"url\":\"p:1\"}]}");
	cr_assert_eq(l.conf->nbinds, 4);
	cr_assert_eq(l.conf->binds[0].websocket, 0);
	cr_assert_str_eq(l.conf->binds[0].path, "/");
	cr_assert_eq(l.conf->binds[0].protocol, BIND_STRATUM);
	cr_assert_eq(l.conf->binds[1].websocket, 1);
	cr_assert_str_eq(l.conf->binds[1].path, "/");
	cr_assert_str_eq(l.conf->binds[2].path, "/mine");
	cr_assert_eq(l.conf->binds[2].tls, 1);
	cr_assert_eq(l.conf->binds[3].protocol, BIND_XATUM);
	cr_assert_eq(l.conf->nws_origins, 1);
	cr_assert_str_eq(l.conf->ws_origins[0], "https://pool.example");
	load_done(&l);
}

Test(config, bind_transport_errors)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\",{\"port\":4446,"
	    "\"protocol\":\"xatum\"}],\"pools\":[{\"url\":\"p:1\"}]}",
	    "bind[1]: ", "needs \"tls\": true");
	expect_error("{\"bind\":[{\"port\":4446,\"protocol\":\"getwork\"}],"
	    "\"pools\":[{\"url\":\"p:1\"}]}", "bind[0].protocol", NULL);
	expect_error("{\"bind\":[{\"port\":4446,\"websocket\":true,"
	    "\"path\":\"ws\"}],\"pools\":[{\"url\":\"p:1\"}]}",
	    "bind[0].path", NULL);
	expect_error("{\"bind\":[{\"port\":4446,\"path\":\"/ws\"}],"
	    "\"pools\":[{\"url\":\"p:1\"}]}", "bind[0].path",
	    "websocket");
	expect_error("{\"bind\":[{\"port\":4446,\"websocket\":true,"
	    "\"tls\":true,\"protocol\":\"xatum\"}],"
	    "\"pools\":[{\"url\":\"p:1\"}]}", "bind[0]: ", "WebSocket");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"websocket-origins\":[\"pool.example\"],"
	    "\"pools\":[{\"url\":\"p:1\"}]}", "websocket-origins[0]", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"websocket-origins\":\"https://a.b\","
	    "\"pools\":[{\"url\":\"p:1\"}]}", "websocket-origins", NULL);
}

Test(config, disabled_pools_dropped)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":["
	    "{\"url\":\"off.example:1\",\"enabled\":false},"
	    "{\"url\":\"on1.example:2\"},"
	    "{\"url\":\"on2.example:3\",\"enabled\":true}]}");
	cr_assert_eq(l.conf->npools, 2);
	cr_assert_str_eq(l.conf->pools[0].host, "on1.example");
	cr_assert_eq(l.conf->pools[0].port, 2);
	cr_assert_str_eq(l.conf->pools[1].host, "on2.example");
	cr_assert_eq(l.conf->pools[1].port, 3);
	load_done(&l);
}

Test(config, simple_mode_and_numbers)
{
	struct load	 l;

	expect_ok(&l, "{\"mode\":\"simple\",\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retries\":5,\"retry-pause\":3,"
	    "\"custom-diff\":5000,\"algo-ext\":false}");
	cr_assert_eq(l.conf->mode, MODE_SIMPLE);
	cr_assert_eq(l.conf->retries, 5);
	cr_assert_eq(l.conf->retry_pause, 3);
	cr_assert_eq(l.conf->custom_diff, 5000);
	cr_assert_eq(l.conf->algo_ext, 0);
	load_done(&l);
}

Test(config, error_retries_not_integer)
{
	struct load	 l;
	char		*e;

	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retries\":\"two\"}",
	    ": retries:", NULL);

	/* the error names the file too */
	load_text(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retries\":\"two\"}");
	cr_assert_null(l.conf);
	e = joined(&l.errors);
	cr_assert_geq(find_entry(&l.errors, l.path, ": retries:"), 0,
	    "no error naming %s and retries:\n%s", l.path, e);
	free(e);
	load_done(&l);
}

Test(config, retry_pause_max_default)
{
	struct load	 l;

	expect_ok(&l, MINIMAL);
	cr_assert_eq(l.conf->retry_pause_max, 30);
	load_done(&l);

	/* a file written before the key: the cap is raised, not refused */
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retry-pause\":60}");
	cr_assert_eq(l.conf->retry_pause, 60);
	cr_assert_eq(l.conf->retry_pause_max, 60);
	load_done(&l);
}

Test(config, retry_pause_max_set)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retry-pause\":5,"
	    "\"retry-pause-max\":5}");
	cr_assert_eq(l.conf->retry_pause, 5);
	cr_assert_eq(l.conf->retry_pause_max, 5);
	cr_assert_eq(find_entry(&l.warnings, "retry-pause-max", NULL), -1,
	    "retry-pause-max is a known key");
	load_done(&l);
}

Test(config, error_retry_pause_max_below_retry_pause)
{
	struct load	 l;
	char		*e;

	load_text(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retry-pause\":10,"
	    "\"retry-pause-max\":5}");
	cr_assert_null(l.conf);
	e = joined(&l.errors);
	cr_assert_eq(l.errors.n, 1, "errors:\n%s", e);
	cr_assert_geq(find_entry(&l.errors, l.path, ": retry-pause-max: "), 0,
	    "no error naming %s and retry-pause-max:\n%s", l.path, e);
	cr_assert_geq(find_entry(&l.errors, "retry-pause-max",
	    "less than retry-pause"), 0, "errors:\n%s", e);
	free(e);
	load_done(&l);
}

Test(config, error_retry_pause_max_not_integer)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retry-pause-max\":\"30\"}",
	    ": retry-pause-max:", "expected an integer");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retry-pause-max\":2.5}",
	    ": retry-pause-max:", "expected an integer");
}

Test(config, error_retry_pause_max_out_of_range)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retry-pause-max\":0}",
	    ": retry-pause-max:", "out of range");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"retry-pause-max\":3601}",
	    ": retry-pause-max:", "out of range");
}

/* "metrics": {"per-worker": bool}, off by default; its errors name it. */
Test(config, metrics_per_worker)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"metrics\":{\"per-worker\":true}}");
	cr_assert_eq(l.conf->metrics_per_worker, 1);
	cr_assert_eq(l.warnings.n, 0);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"metrics\":{}}");
	cr_assert_eq(l.conf->metrics_per_worker, 0);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"metrics\":null}");
	cr_assert_eq(l.conf->metrics_per_worker, 0);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"metrics\":{\"per-rig\":true}}");
	cr_assert_neq(find_entry(&l.warnings, "metrics.per-rig",
	    "unknown key"), -1);
	load_done(&l);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"metrics\":{\"per-worker\":1}}",
	    ": metrics.per-worker:", "expected true or false");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"metrics\":true}",
	    ": metrics:", "expected an object");
}

Test(config, http_timeout_max_connections_dashboard)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"enabled\":true,"
	    "\"port\":8080,\"timeout\":3600,\"max-connections\":1}}");
	cr_assert_eq(l.conf->http.timeout, 3600);
	cr_assert_eq(l.conf->http.max_connections, 1);
	load_done(&l);
	/* An "http" object without them keeps the defaults. */
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"port\":8080}}");
	cr_assert_eq(l.conf->http.timeout, 10);
	cr_assert_eq(l.conf->http.max_connections, 64);
	cr_assert_eq(l.conf->http.dashboard, 1);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"dashboard\":false}}");
	cr_assert_eq(l.conf->http.dashboard, 0);
	load_done(&l);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"dashboard\":1}}",
	    ": http.dashboard:", "expected true or false");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"timeout\":0}}",
	    ": http.timeout:", "out of range");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"timeout\":3601}}",
	    ": http.timeout:", "out of range");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],"
	    "\"http\":{\"max-connections\":0}}",
	    ": http.max-connections:", "out of range");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],"
	    "\"http\":{\"max-connections\":4097}}",
	    ": http.max-connections:", "out of range");
}

Test(config, error_pool_without_url)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"user\":\"w\"}]}", "pools[0].url", NULL);
}

Test(config, error_second_pool_index)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"},{\"user\":\"w\"}]}",
	    "pools[1].url", NULL);
}

Test(config, error_url_without_port)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"h\"}]}", "pools[0].url", "port");
}

Test(config, error_syntax_has_line_and_column)
{
	struct load	 l;
	char		 want[80], *e;

	load_text(&l, "{\"bind\": [}");
	cr_assert_null(l.conf);
	cr_assert_gt(l.errors.n, 0);
	snprintf(want, sizeof(want), "%s:1:", l.path);
	e = joined(&l.errors);
	cr_assert_geq(find_entry(&l.errors, want, NULL), 0,
	    "no \"%s\" error:\n%s", want, e);
	cr_assert_eq(strncmp(l.errors.v[find_entry(&l.errors, want, NULL)],
	    want, strlen(want)), 0, "error does not start with PATH:LINE:\n%s",
	    e);
	free(e);
	load_done(&l);
}

Test(config, error_syntax_later_line)
{
	struct load	 l;
	char		 want[80], *e;

	load_text(&l, "{\n\"bind\": [\"127.0.0.1:3333\"],\n\"pools\": [,]\n}\n");
	cr_assert_null(l.conf);
	snprintf(want, sizeof(want), "%s:3:", l.path);
	e = joined(&l.errors);
	cr_assert_geq(find_entry(&l.errors, want, NULL), 0,
	    "no \"%s\" error:\n%s", want, e);
	free(e);
	load_done(&l);
}

Test(config, error_no_pools)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"]}", "pools", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[]}", "pools",
	    NULL);
}

Test(config, error_only_disabled_pools)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\",\"enabled\":false}]}", "pools", NULL);
}

Test(config, error_bad_mode)
{
	expect_error("{\"mode\":\"turbo\",\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}]}", "mode", NULL);
}

Test(config, error_missing_file)
{
	struct strlist	 errors, warnings;
	struct config	*c;

	memset(&errors, 0, sizeof(errors));
	memset(&warnings, 0, sizeof(warnings));
	c = config_load("/nonexistent/sluice-test/config.json", &errors,
	    &warnings);
	cr_assert_null(c);
	cr_assert_gt(errors.n, 0);
	cr_assert_geq(find_entry(&errors, "/nonexistent/sluice-test/config.json",
	    NULL), 0, "error does not name the file");
	strlist_clear(&errors);
	strlist_clear(&warnings);
}

Test(config, error_not_an_object)
{
	struct load	 l;

	load_text(&l, "[1,2,3]");
	cr_assert_null(l.conf);
	cr_assert_gt(l.errors.n, 0);
	load_done(&l);
}

Test(config, unknown_key_warns)
{
	struct load	 l;
	char		*w;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"frobnicate\":1}");
	w = joined(&l.warnings);
	cr_assert_geq(find_entry(&l.warnings, "frobnicate", NULL), 0,
	    "no warning about frobnicate; warnings:\n%s", w);
	free(w);
	load_done(&l);
}

Test(config, minimal_has_no_warnings)
{
	struct load	 l;
	char		*w;

	expect_ok(&l, MINIMAL);
	w = joined(&l.warnings);
	cr_assert_eq(l.warnings.n, 0, "warnings:\n%s", w);
	free(w);
	load_done(&l);
}

Test(config, xmrig_proxy_keys_ignored)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"donate-level\":0,"
	    "\"api\":{\"id\":null,\"worker-id\":null}}");
	cr_assert_eq(l.conf->npools, 1);
	cr_assert_eq(find_entry(&l.warnings, "donate-level", NULL), -1,
	    "donate-level is a known xmrig-proxy key");
	load_done(&l);
}

Test(config, workers_false_and_none)
{
	cr_assert_eq(workers_of("false"), WORKERS_NONE);
	cr_assert_eq(workers_of("\"none\""), WORKERS_NONE);
}

Test(config, workers_true_and_rig_id)
{
	cr_assert_eq(workers_of("true"), WORKERS_RIGID);
	cr_assert_eq(workers_of("\"rig_id\""), WORKERS_RIGID);
	cr_assert_eq(workers_of("\"rig-id\""), WORKERS_RIGID);
}

Test(config, workers_named_modes)
{
	cr_assert_eq(workers_of("\"user\""), WORKERS_USER);
	cr_assert_eq(workers_of("\"password\""), WORKERS_PASSWORD);
	cr_assert_eq(workers_of("\"agent\""), WORKERS_AGENT);
	cr_assert_eq(workers_of("\"ip\""), WORKERS_IP);
}

Test(config, workers_bad_value)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"workers\":\"bogus\"}", "workers",
	    NULL);
}

Test(config, parse_url_ssl)
{
	char		*host = NULL;
	int		 port = -1, tls = -1;
	const char	*why = NULL;

	cr_assert_eq(config_parse_url("stratum+ssl://a.b:1", &host, &port, &tls,
	    &why), 0, "why: %s", why ? why : "");
	cr_assert_not_null(host);
	cr_assert_str_eq(host, "a.b");
	cr_assert_eq(port, 1);
	cr_assert_eq(tls, 1);
	free(host);
}

Test(config, parse_url_plain)
{
	char		*host = NULL;
	int		 port = -1, tls = -1;
	const char	*why = NULL;

	cr_assert_eq(config_parse_url("a.b:65535", &host, &port, &tls, &why), 0);
	cr_assert_str_eq(host, "a.b");
	cr_assert_eq(port, 65535);
	cr_assert_eq(tls, 0);
	free(host);

	host = NULL;
	cr_assert_eq(config_parse_url("stratum+tcp://a.b:3333", &host, &port,
	    &tls, &why), 0);
	cr_assert_str_eq(host, "a.b");
	cr_assert_eq(port, 3333);
	cr_assert_eq(tls, 0);
	free(host);
}

Test(config, parse_url_no_port)
{
	char		*host = NULL;
	int		 port = -1, tls = -1;
	const char	*why = NULL;

	cr_assert_eq(config_parse_url("a.b", &host, &port, &tls, &why), -1);
	cr_assert_not_null(why);
	cr_assert_not_null(strstr(why, "port"), "why: %s", why);
	free(host);
}

Test(config, parse_url_bad_ports)
{
	char		*host = NULL;
	int		 port = -1, tls = -1;
	const char	*why = NULL;

	cr_assert_eq(config_parse_url("a.b:0", &host, &port, &tls, &why), -1);
	cr_assert_not_null(why);
	free(host);
	host = NULL;
	why = NULL;
	cr_assert_eq(config_parse_url("a.b:70000", &host, &port, &tls, &why),
	    -1);
	cr_assert_not_null(why);
	free(host);
	host = NULL;
	why = NULL;
	cr_assert_eq(config_parse_url("a.b:12x", &host, &port, &tls, &why), -1);
	cr_assert_not_null(why);
	free(host);
}

Test(config, parse_url_ipv6)
{
	char		*host = NULL;
	int		 port = -1, tls = -1;
	const char	*why = NULL;

	cr_assert_eq(config_parse_url("[::1]:3333", &host, &port, &tls, &why),
	    0, "why: %s", why ? why : "");
	cr_assert_not_null(host);
	cr_assert_str_eq(host, "::1");
	cr_assert_eq(port, 3333);
	free(host);
}

Test(config, mode_and_workers_text)
{
	cr_assert_not_null(config_mode_text(MODE_NICEHASH));
	cr_assert_str_eq(config_mode_text(MODE_NICEHASH), "nicehash");
	cr_assert_str_eq(config_mode_text(MODE_SIMPLE), "simple");
}

Test(config, on_error_default_builtin)
{
	struct load	 l;
	enum on_error	 e[STATS_NHOOKS];
	int		 h;

	expect_ok(&l, MINIMAL);
	for (h = 0; h < STATS_NHOOKS; h++)
		cr_assert_eq(l.conf->on_error[h], ON_ERROR_BUILTIN,
		    "hook %d", h);
	load_done(&l);
	/* An empty "policy" and a null on-error are the default too. */
	on_error_of("{}", e);
	for (h = 0; h < STATS_NHOOKS; h++)
		cr_assert_eq(e[h], ON_ERROR_BUILTIN, "hook %d", h);
	on_error_of("{\"on-error\":null}", e);
	for (h = 0; h < STATS_NHOOKS; h++)
		cr_assert_eq(e[h], ON_ERROR_BUILTIN, "hook %d", h);
	cr_assert_str_eq(config_on_error_text(ON_ERROR_BUILTIN), "builtin");
	cr_assert_str_eq(config_on_error_text(ON_ERROR_DENY), "deny");
}

Test(config, on_error_string_every_hook)
{
	enum on_error	 e[STATS_NHOOKS];
	int		 h;

	on_error_of("{\"on-error\":\"deny\"}", e);
	for (h = 0; h < STATS_NHOOKS; h++)
		cr_assert_eq(e[h], ON_ERROR_DENY, "hook %d", h);
	on_error_of("{\"on-error\":\"builtin\"}", e);
	for (h = 0; h < STATS_NHOOKS; h++)
		cr_assert_eq(e[h], ON_ERROR_BUILTIN, "hook %d", h);
}

Test(config, on_error_object_per_hook)
{
	enum on_error	 e[STATS_NHOOKS];

	on_error_of("{\"on-error\":{\"on_login\":\"deny\","
	    "\"on_connect\":\"builtin\"}}", e);
	cr_assert_eq(e[STATS_HOOK_ON_LOGIN], ON_ERROR_DENY);
	cr_assert_eq(e[STATS_HOOK_ON_CONNECT], ON_ERROR_BUILTIN);
	/* left out: builtin */
	cr_assert_eq(e[STATS_HOOK_CUSTOM_DIFF], ON_ERROR_BUILTIN);
	cr_assert_eq(e[STATS_HOOK_WORKER_NAME], ON_ERROR_BUILTIN);
	cr_assert_eq(e[STATS_HOOK_UPSTREAM_LOGIN], ON_ERROR_BUILTIN);

	on_error_of("{\"on-error\":{\"on_connect\":\"deny\","
	    "\"custom_diff\":\"deny\",\"worker_name\":\"deny\","
	    "\"upstream_login\":\"deny\"}}", e);
	cr_assert_eq(e[STATS_HOOK_ON_CONNECT], ON_ERROR_DENY);
	cr_assert_eq(e[STATS_HOOK_ON_LOGIN], ON_ERROR_BUILTIN);
	cr_assert_eq(e[STATS_HOOK_CUSTOM_DIFF], ON_ERROR_DENY);
	cr_assert_eq(e[STATS_HOOK_WORKER_NAME], ON_ERROR_DENY);
	cr_assert_eq(e[STATS_HOOK_UPSTREAM_LOGIN], ON_ERROR_DENY);

	on_error_of("{\"on-error\":{}}", e);
	cr_assert_eq(e[STATS_HOOK_ON_LOGIN], ON_ERROR_BUILTIN);
}

Test(config, on_error_errors)
{
	struct load	 l;
	char		*e;

#define ON_ERROR_CONF(v) "{\"bind\":[\"127.0.0.1:3333\"]," \
	"\"pools\":[{\"url\":\"p:1\"}],\"policy\":" v "}"
	expect_error(ON_ERROR_CONF("{\"on-error\":\"allow\"}"),
	    ": policy.on-error: ", "unknown value \"allow\" (builtin or deny)");
	expect_error(ON_ERROR_CONF("{\"on-error\":true}"),
	    ": policy.on-error: ", "expected \"builtin\", \"deny\" or an "
	    "object");
	expect_error(ON_ERROR_CONF("{\"on-error\":[\"deny\"]}"),
	    ": policy.on-error: ", "expected");
	expect_error(ON_ERROR_CONF("{\"on-error\":{\"onlogin\":\"deny\"}}"),
	    ": policy.on-error.onlogin: ", "unknown hook");
	expect_error(ON_ERROR_CONF("{\"on-error\":{\"on_login\":\"Deny\"}}"),
	    ": policy.on-error.on_login: ", "unknown value \"Deny\"");
	expect_error(ON_ERROR_CONF("{\"on-error\":{\"on_login\":false}}"),
	    ": policy.on-error.on_login: ",
	    "expected \"builtin\" or \"deny\"");
	expect_error(ON_ERROR_CONF("\"deny\""), ": policy: ",
	    "expected an object");

	/* The error names the file, and every bad hook is reported. */
	load_text(&l, ON_ERROR_CONF("{\"on-error\":{\"on_login\":\"deny\","
	    "\"bogus\":\"deny\",\"worker_name\":\"nope\"}}"));
	cr_assert_null(l.conf);
	e = joined(&l.errors);
	cr_assert_eq(l.errors.n, 2, "errors:\n%s", e);
	cr_assert_geq(find_entry(&l.errors, l.path,
	    ": policy.on-error.bogus: unknown hook"), 0, "errors:\n%s", e);
	cr_assert_geq(find_entry(&l.errors, l.path,
	    ": policy.on-error.worker_name: unknown value \"nope\""), 0,
	    "errors:\n%s", e);
	free(e);
	load_done(&l);
#undef ON_ERROR_CONF
}

Test(config, policy_unknown_key_warns)
{
	struct load	 l;
	char		*w;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"policy\":{\"on-eror\":"
	    "\"deny\"}}");
	w = joined(&l.warnings);
	cr_assert_geq(find_entry(&l.warnings, "policy.on-eror",
	    "unknown key"), 0, "warnings:\n%s", w);
	free(w);
	cr_assert_eq(l.conf->on_error[STATS_HOOK_ON_LOGIN], ON_ERROR_BUILTIN);
	load_done(&l);
}

/* The text loads with a warning containing a. */
static void
expect_warning(const char *text, const char *a)
{
	struct load	 l;
	char		*w;

	expect_ok(&l, text);
	w = joined(&l.warnings);
	cr_assert_geq(find_entry(&l.warnings, a, NULL), 0,
	    "no warning with \"%s\" for %s; warnings:\n%s", a, text, w);
	free(w);
	load_done(&l);
}

/* The top-level pools are the coin "default"; coins follow in order. */
Test(config, coins_beside_pools)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"a:1\",\"algo\":\"rx/0\"}],"
	    "\"coins\":{\"wow\":{\"pools\":[{\"url\":\"b:2\"},{\"url\":\"c:3\"}],"
	    "\"algo\":\"rx/wow\"},\"arq\":{\"pools\":[{\"url\":\"d:4\","
	    "\"algo\":\"rx/arq\"}]}}}");
	cr_assert_eq(l.conf->ncoins, 3);
	cr_assert_str_eq(l.conf->coins[0].name, "default");
	cr_assert_str_eq(l.conf->coins[0].algo, "rx/0", "from the pool");
	cr_assert_str_eq(l.conf->coins[1].name, "wow");
	cr_assert_eq(l.conf->coins[1].npools, 2);
	cr_assert_str_eq(l.conf->coins[1].pools[1].host, "c");
	cr_assert_str_eq(l.conf->coins[2].algo, "rx/arq");
	cr_assert_eq(l.conf->default_coin, 0);
	cr_assert_eq(l.conf->pools, l.conf->coins[0].pools,
	    "pools are the default coin's");
	cr_assert_eq(config_coin_index(l.conf, "arq"), 2);
	cr_assert_null(config_coin(l.conf, "btc"));
	load_done(&l);
}

/* Coins alone: default-coin names the coin of unmapped users. */
Test(config, coins_only_default_coin)
{
	struct load	 l;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"coins\":{"
	    "\"a\":{\"pools\":[{\"url\":\"a:1\"}]},\"b\":{\"pools\":[{"
	    "\"url\":\"b:1\"}]}},\"default-coin\":\"b\"}");
	cr_assert_eq(l.conf->ncoins, 2);
	cr_assert_eq(l.conf->default_coin, 1);
	cr_assert_str_eq(l.conf->pools[0].host, "b");
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"coins\":{"
	    "\"only\":{\"pools\":[{\"url\":\"a:1\"}]}}}");
	cr_assert_eq(l.conf->default_coin, 0, "the only coin");
	load_done(&l);
}

Test(config, coins_errors_name_the_key)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"coins\":{\"a\":{"
	    "\"pools\":[{\"url\":\"a:1\"}]},\"b\":{\"pools\":[{\"user\":"
	    "\"x\"}]}},\"default-coin\":\"a\"}", "coins.b.pools[0].url", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"coins\":{\"a\":{"
	    "\"pools\":[{\"url\":\"a:1\"}]},\"b\":{\"pools\":[{\"url\":"
	    "\"b:1\"}]}}}", "default-coin", "several coins");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"coins\":{\"a\":{"
	    "\"pools\":[{\"url\":\"a:1\"}]}},\"default-coin\":\"z\"}",
	    "default-coin", "no coin named");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"coins\":{\"bad name\":{"
	    "\"pools\":[{\"url\":\"a:1\"}]}}}", "coins.bad name", NULL);
	expect_warning("{\"bind\":[\"127.0.0.1:3333\"],\"coins\":{\"a\":{"
	    "\"pools\":[{\"url\":\"a:1\"}],\"algos\":\"x\"}}}",
	    "coins.a.algos: unknown key");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"a:1\"}],\"coins\":{\"default\":{\"pools\":[{\"url\":\"b:1\"}]}}}",
	    "pools", "keep one");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"]}", "pools", "at least");
}

Test(config, switch_keys)
{
	struct load	 l;

	expect_ok(&l, MINIMAL);
	cr_assert_null(l.conf->sw.user);
	cr_assert_eq(l.conf->sw.interval, 60);
	cr_assert_eq(l.conf->sw.timeout, 10);
	cr_assert_eq(l.conf->sw.grace, 10);
	cr_assert_str_eq(l.conf->sw.state_file,
	    SLUICE_STATEDIR "/user-coin.json");
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"switch\":{\"user\":\"u\",\"password\":\"p\","
	    "\"user-coin-url\":\"https://h/uc\",\"interval\":5,\"timeout\":3,"
	    "\"state-file\":\"uc.json\",\"redis\":\"redis://127.0.0.1:6379/0\","
	    "\"grace\":0}}");
	cr_assert_str_eq(l.conf->sw.user, "u");
	cr_assert_eq(l.conf->sw.interval, 5);
	cr_assert_eq(l.conf->sw.grace, 0);
	cr_assert(strstr(l.conf->sw.state_file, "/uc.json") != NULL &&
	    l.conf->sw.state_file[0] == '/', "relative to the config's folder");
	load_done(&l);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"switch\":{\"user\":\"u\"}}", "switch.password", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"switch\":{\"redis\":\"127.0.0.1:6379\"}}",
	    "switch.redis", NULL);
	/* Caught at load (and by -n), not only when it connects. */
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"switch\":{\"redis\":\"redis://h:99999/0\"}}",
	    "switch.redis", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"switch\":{\"redis\":\"redis://h:1/x\"}}",
	    "switch.redis", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"switch\":{\"redis\":\"redis:///0\"}}",
	    "switch.redis", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"switch\":{\"user-coin-url\":\"ftp://x\"}}",
	    "switch.user-coin-url", NULL);
	expect_warning("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"switch\":{\"intervall\":5}}",
	    "switch.intervall: unknown key");
}

Test(config, http_cors_origin)
{
	struct load	 l;

	/* Absent, in the http object or with it: "*". */
	expect_ok(&l, MINIMAL);
	cr_assert_str_eq(l.conf->http.cors_origin, "*");
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"port\":8080}}");
	cr_assert_str_eq(l.conf->http.cors_origin, "*");
	load_done(&l);
	/* null or "" turn CORS off. */
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"cors-origin\":null}}");
	cr_assert_null(l.conf->http.cors_origin);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"cors-origin\":\"\"}}");
	cr_assert_null(l.conf->http.cors_origin);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],"
	    "\"http\":{\"cors-origin\":\"https://dash.example.com:8443\"}}");
	cr_assert_str_eq(l.conf->http.cors_origin,
	    "https://dash.example.com:8443");
	cr_assert_eq(l.warnings.n, 0);
	load_done(&l);
	/* Not an origin: a path, another scheme, a header's end. */
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],"
	    "\"http\":{\"cors-origin\":\"https://a.example/\"}}",
	    ": http.cors-origin:", "no path");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],"
	    "\"http\":{\"cors-origin\":\"a.example\"}}",
	    ": http.cors-origin:", "expected \"*\" or one origin");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],"
	    "\"http\":{\"cors-origin\":\"http://a\\r\\nX: y\"}}",
	    ": http.cors-origin:", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],"
	    "\"http\":{\"cors-origin\":\"http://\"}}",
	    ": http.cors-origin:", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"p:1\"}],\"http\":{\"cors-origin\":true}}",
	    ": http.cors-origin:", "expected a string");
}

Test(config, snapshot_keeps_the_json_loaded)
{
	struct load	 l;
	json_t		*want;

	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"pass\":\"s\"}],\"log-file\":\"rel.log\"}");
	want = json_loads("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"pass\":\"s\"}],\"log-file\":\"rel.log\"}", 0, NULL);
	cr_assert_not_null(l.conf->json);
	/* As written: the relative name stays, no default is added. */
	cr_assert(json_equal(l.conf->json, want));
	cr_assert_str_neq(l.conf->log_file, "rel.log");
	json_decref(want);
	load_done(&l);
}

Test(config, build_from_parsed_text)
{
	struct strlist	 errors = {}, warnings = {};
	struct config	*c;
	json_t		*root;
	const char	*text = "{\"bind\":[\"127.0.0.1:3333\"],"
			    "\"pools\":[{\"url\":\"p:1\"}],\"log-file\":\"x.log\","
			    "\"nokey\":1}";

	root = config_parse("body", text, strlen(text), &errors);
	cr_assert_not_null(root);
	/* Named and placed as /etc/sluice/config.json would be. */
	c = config_build("/etc/sluice/config.json", root, &errors, &warnings);
	cr_assert_not_null(c);
	cr_assert_eq(errors.n, 0);
	cr_assert_str_eq(c->path, "/etc/sluice/config.json");
	cr_assert_str_eq(c->log_file, "/etc/sluice/x.log");
	cr_assert_eq(c->json, root);
	cr_assert_eq(warnings.n, 1);
	cr_assert_str_eq(warnings.v[0], "/etc/sluice/config.json: nokey: "
	    "unknown key, ignored");
	config_unref(c);
	json_decref(root);
	strlist_clear(&warnings);

	/* Errors name the file; no snapshot, root still the caller's. */
	text = "{\"bind\":[],\"pools\":[{\"url\":\"p\"}]}";
	root = config_parse("body", text, strlen(text), &errors);
	cr_assert_null(config_build("/etc/sluice/config.json", root, &errors,
	    &warnings));
	cr_assert_eq(errors.n, 2);
	cr_assert_str_eq(errors.v[0], "/etc/sluice/config.json: bind: at "
	    "least one bind address is required");
	cr_assert_str_eq(errors.v[1], "/etc/sluice/config.json: pools[0].url: "
	    "missing port");
	cr_assert_eq(root->refcount, 1);
	json_decref(root);
	strlist_clear(&errors);
	strlist_clear(&warnings);

	/* Text that is no object. */
	cr_assert_null(config_parse("body", "{\"a\":", 5, &errors));
	cr_assert_null(config_parse("body", "[1]", 3, &errors));
	cr_assert_null(config_parse("body", "{\"a\":1,\"a\":2}", 13, &errors));
	cr_assert_eq(errors.n, 3);
	cr_assert(strncmp(errors.v[0], "body:1:5: ", 10) == 0, "%s",
	    errors.v[0]);
	cr_assert_str_eq(errors.v[1], "body: the top level must be an object");
	cr_assert(strstr(errors.v[2], "duplicate") != NULL, "%s", errors.v[2]);
	strlist_clear(&errors);
}

/* "history": on by default; false, an object, its errors name the key. */
Test(config, history_keys)
{
	struct load	 l;

	expect_ok(&l, MINIMAL);
	cr_assert(l.conf->history.enabled);
	cr_assert_str_eq(l.conf->history.file, SLUICE_STATEDIR "/history.db");
	cr_assert_eq(l.conf->history.days, 30);
	cr_assert_eq(l.conf->history.sample_interval, 10);
	cr_assert_eq(l.conf->history.flush_interval, 60);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":false}");
	cr_assert(!l.conf->history.enabled);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":true}");
	cr_assert(l.conf->history.enabled);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"file\":\"h.db\",\"days\":7,"
	    "\"sample-interval\":2,\"flush-interval\":10}}");
	cr_assert(l.conf->history.enabled);
	cr_assert(l.conf->history.file[0] == '/' &&
	    strstr(l.conf->history.file, "/h.db") != NULL,
	    "relative to the config's folder: %s", l.conf->history.file);
	cr_assert_eq(l.conf->history.days, 7);
	cr_assert_eq(l.conf->history.sample_interval, 2);
	cr_assert_eq(l.conf->history.flush_interval, 10);
	load_done(&l);
	expect_ok(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"enabled\":false}}");
	cr_assert(!l.conf->history.enabled);
	load_done(&l);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"days\":0}}", "history.days",
	    "out of range 1..3650");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"days\":\"30\"}}", "history.days",
	    "expected an integer");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"file\":\"\"}}", "history.file", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"file\":5}}", "history.file", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"sample-interval\":3}}",
	    "history.sample-interval", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"sample-interval\":5,"
	    "\"flush-interval\":12}}", "history.flush-interval", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"flush-interval\":7}}",
	    "history.flush-interval", NULL);
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":\"on\"}", "history",
	    "expected an object, true or false");
	expect_warning("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"}],\"history\":{\"dayz\":5}}",
	    "history.dayz: unknown key");
}

/* Load one pool with "socks5": value. */
static void
socks5_of(struct load *l, const char *value)
{
	char	 text[512];

	snprintf(text, sizeof(text), "{\"bind\":[\"127.0.0.1:3333\"],"
	    "\"pools\":[{\"url\":\"pool.onion:3333\",\"socks5\":%s}]}", value);
	expect_ok(l, text);
}

Test(config, socks5_host_port)
{
	struct load	 l;
	struct pool_conf *p;

	socks5_of(&l, "\"127.0.0.1:9050\"");
	p = &l.conf->pools[0];
	cr_assert_str_eq(p->socks5_host, "127.0.0.1");
	cr_assert_eq(p->socks5_port, 9050);
	cr_assert_null(p->socks5_user);
	cr_assert_null(p->socks5_pass);
	cr_assert_str_eq(p->host, "pool.onion");
	load_done(&l);
}

Test(config, socks5_url_with_login)
{
	struct load	 l;
	struct pool_conf *p;

	socks5_of(&l, "\"socks5h://tor:pa:ss@[::1]:1080\"");
	p = &l.conf->pools[0];
	cr_assert_str_eq(p->socks5_host, "::1");
	cr_assert_eq(p->socks5_port, 1080);
	cr_assert_str_eq(p->socks5_user, "tor");
	cr_assert_str_eq(p->socks5_pass, "pa:ss");
	load_done(&l);
	socks5_of(&l, "\"socks5://alice@proxy.lan:1080\"");
	p = &l.conf->pools[0];
	cr_assert_str_eq(p->socks5_host, "proxy.lan");
	cr_assert_str_eq(p->socks5_user, "alice");
	cr_assert_str_eq(p->socks5_pass, "");
	load_done(&l);
}

/* xmrig-proxy's short form: a port of the local host. */
Test(config, socks5_port_only)
{
	struct load	 l;

	socks5_of(&l, "9050");
	cr_assert_str_eq(l.conf->pools[0].socks5_host, "127.0.0.1");
	cr_assert_eq(l.conf->pools[0].socks5_port, 9050);
	load_done(&l);
}

Test(config, socks5_off)
{
	static const char *const off[] = { "null", "false", "\"\"", "0" };
	struct load	 l;
	size_t		 i;

	for (i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		socks5_of(&l, off[i]);
		cr_assert_null(l.conf->pools[0].socks5_host, "%s", off[i]);
		cr_assert_eq(l.warnings.n, 0, "%s warned", off[i]);
		load_done(&l);
	}
}

Test(config, socks5_errors)
{
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"socks5\":\"127.0.0.1\"}]}", "pools[0].socks5",
	    "missing port");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"socks5\":[9050]}]}", "pools[0].socks5", "host:port");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"socks5\":70000}]}", "pools[0].socks5", "invalid port");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"socks5\":\"stratum+tcp://h:1\"}]}", "pools[0].socks5",
	    "host:port");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"socks5\":\"h:1/x\"}]}", "pools[0].socks5", "host:port");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\"},{\"url\":\"p:2\",\"socks5\":\"socks5://:hunter2@h:1\"}]}",
	    "pools[1].socks5", "user must be");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"socks5\":\"u:pw@h:1\"}]}", "pools[0].socks5",
	    "socks5://user:pass@host:port");
	expect_error("{\"bind\":[\"127.0.0.1:3333\"],\"coins\":{\"xmr\":{"
	    "\"pools\":[{\"url\":\"p:1\",\"socks5\":\"h:99999\"}]}}}",
	    "coins.xmr.pools[0].socks5", "invalid port");
}

/* The password never shows in an error, even where the value is bad. */
Test(config, socks5_error_hides_password)
{
	struct load	 l;
	char		*e;

	load_text(&l, "{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"p:1\",\"socks5\":\"socks5://u:hunter2@h\"}]}");
	cr_assert_null(l.conf);
	e = joined(&l.errors);
	cr_assert_null(strstr(e, "hunter2"), "%s", e);
	free(e);
	load_done(&l);
}

/* A changed socks5 is a changed pool list (a reload reconnects). */
Test(config, socks5_in_pools_equal)
{
	struct load	 a, b;

	socks5_of(&a, "\"127.0.0.1:9050\"");
	socks5_of(&b, "\"127.0.0.1:9050\"");
	cr_assert(config_pools_equal(a.conf, b.conf));
	load_done(&b);
	socks5_of(&b, "\"socks5://u:p@127.0.0.1:9050\"");
	cr_assert_not(config_pools_equal(a.conf, b.conf));
	load_done(&b);
	socks5_of(&b, "null");
	cr_assert_not(config_pools_equal(a.conf, b.conf));
	load_done(&b);
	load_done(&a);
}
