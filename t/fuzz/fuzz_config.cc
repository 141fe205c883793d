/*
 * fuzz_config.cc: libFuzzer target for config_load(). Each input is
 * written to one temporary file (made once per process in /tmp, removed
 * at exit) and loaded. A snapshot comes back exactly when no error was
 * recorded, and then holds what config.cc promises (at least one bind and
 * one enabled pool, valid ports, fingerprints as 64 lower-case hex, Lua
 * scripts as absolute paths, TLS with both cert and cert_key or neither,
 * a self-signed certificate then). It is
 * released, and both message lists are cleared: ASan's leak check at exit
 * (libFuzzer's -detect_leaks=1) catches anything config.cc forgets.
 *
 * The snapshot's JSON goes through what GET and PUT /1/config do with
 * it (secret.cc): masked, no secret member keeps a value; the masked
 * copy unmasked against the original is the original again.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "tls.h"

static char	 fuzz_path[] = "/tmp/sluice-fuzz-config.XXXXXX";
static int	 fuzz_fd = -1;

static void	 fuzz_cleanup(void);
static void	 check_config(const struct config *);
static void	 check_masked(const json_t *);
static void	 check_mask(const struct config *);

/* Remove the temporary file at exit. */
static void
fuzz_cleanup(void)
{
	if (fuzz_fd != -1) {
		close(fuzz_fd);
		unlink(fuzz_path);
		fuzz_fd = -1;
	}
}

/* Make the one temporary file this process writes each input to. */
extern "C" int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((fuzz_fd = mkstemp(fuzz_path)) == -1) {
		perror("fuzz_config: mkstemp");
		exit(1);
	}
	atexit(fuzz_cleanup);
	return 0;
}

/* Does a loaded snapshot hold what config.cc promises? */
static void
check_config(const struct config *c)
{
	const struct pool_conf	*p;
	size_t			 i;

	if (c->refs != 1)
		fuzz_fail("new config with %d references", c->refs);
	if (c->nbinds == 0 || c->binds == NULL)
		fuzz_fail("config without a bind address");
	for (i = 0; i < c->nbinds; i++) {
		if (c->binds[i].host == NULL || c->binds[i].port < 0 ||
		    c->binds[i].port > 65535)
			fuzz_fail("bind[%zu]: host %s port %d", i,
			    c->binds[i].host != NULL ? c->binds[i].host :
			    "NULL", c->binds[i].port);
		if (c->binds[i].tls && !tls_server_wanted(c))
			fuzz_fail("bind[%zu]: tls without a server context", i);
	}
	if (c->npools == 0 || c->pools == NULL)
		fuzz_fail("config without an enabled pool");
	for (i = 0; i < c->npools; i++) {
		p = &c->pools[i];
		if (!p->enabled || p->url == NULL || p->host == NULL ||
		    p->host[0] == '\0' || p->port < 1 || p->port > 65535 ||
		    p->user == NULL || p->pass == NULL)
			fuzz_fail("pools[%zu]: bad pool (url %s)", i,
			    p->url != NULL ? p->url : "NULL");
		if (p->tls_fingerprint != NULL &&
		    (strlen(p->tls_fingerprint) != 64 ||
		    strspn(p->tls_fingerprint, "0123456789abcdef") != 64))
			fuzz_fail("pools[%zu]: fingerprint \"%s\"", i,
			    p->tls_fingerprint);
	}
	if (c->tls.enabled && !tls_server_wanted(c))
		fuzz_fail("tls enabled without a server context");
	if (tls_server_wanted(c) &&
	    (c->tls.cert == NULL) != (c->tls.cert_key == NULL))
		fuzz_fail("tls.cert without tls.cert_key, or the reverse");
	if (c->http.host == NULL || c->pid_file == NULL)
		fuzz_fail("http.host or pid-file missing");
	if (c->http.access_token != NULL && c->http.access_token[0] == '\0')
		fuzz_fail("empty http.access-token kept");
	if (c->access_password != NULL && c->access_password[0] == '\0')
		fuzz_fail("empty access-password kept");
	for (i = 0; i < c->nlua_scripts; i++) {
		if (c->lua_scripts[i] == NULL || c->lua_scripts[i][0] != '/')
			fuzz_fail("lua.scripts[%zu] \"%s\" is not absolute", i,
			    c->lua_scripts[i] != NULL ? c->lua_scripts[i] :
			    "NULL");
	}
	if (c->max_output < 4096 || c->workers_max < 1 ||
	    c->pool_connect_timeout < 1 || c->pool_response_timeout < 1)
		fuzz_fail("a limit is out of its range");
	if (!config_pools_equal(c, c))
		fuzz_fail("config_pools_equal(c, c) is 0");
	if (config_mode_text(c->mode) == NULL ||
	    strcmp(config_workers_text(c->workers), "unknown") == 0)
		fuzz_fail("mode %d or workers %d has no name", c->mode,
		    c->workers);
}

/* Is every secret member of a masked tree hidden (or null)? */
static void
check_masked(const json_t *j)
{
	static const char *const keys[] = { "pass", "password",
	    "access-password", "access-token" };
	const char	*key;
	json_t		*v;
	size_t		 i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			check_masked(v);
		return;
	}
	json_object_foreach((json_t *)j, key, v) {
		for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			if (strcmp(key, keys[i]) == 0 && !json_is_null(v) &&
			    (!json_is_string(v) || strcmp(json_string_value(v),
			    SECRET_HIDDEN) != 0))
				fuzz_fail("\"%s\" shown by GET /1/config", key);
		}
		check_masked(v);
	}
}

/* GET /1/config's mask, and PUT's unmask of it, on the snapshot. */
static void
check_mask(const struct config *c)
{
	struct strlist	 errors = { NULL, 0 };
	json_t		*m;

	if (c->json == NULL || !json_is_object(c->json))
		fuzz_fail("the snapshot keeps no JSON object");
	if ((m = json_deep_copy(c->json)) == NULL)
		fuzz_fail("json_deep_copy failed");
	secret_mask_json(m);
	check_masked(m);
	if (secret_unmask_json(m, c->json, c->path, &errors) != 0)
		fuzz_fail("a masked copy does not unmask: %s", errors.v[0]);
	if (!json_equal(m, c->json))
		fuzz_fail("a masked copy unmasked is not the config again");
	json_decref(m);
}

/* One input: the text of a config file. */
extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct strlist	 errors = { NULL, 0 }, warnings = { NULL, 0 };
	struct config	*c;
	size_t		 i;

	fuzz_input(data, len);
	if (ftruncate(fuzz_fd, 0) == -1 ||
	    pwrite(fuzz_fd, data, len, 0) != (ssize_t)len) {
		perror("fuzz_config: write");
		abort();
	}
	c = config_load(fuzz_path, &errors, &warnings);
	if (c == NULL && errors.n == 0)
		fuzz_fail("config_load failed without an error");
	if (c != NULL && errors.n != 0)
		fuzz_fail("config_load succeeded with %zu errors, the first: "
		    "%s", errors.n, errors.v[0]);
	for (i = 0; i < errors.n; i++) {
		if (errors.v[i] == NULL || strncmp(errors.v[i], fuzz_path,
		    strlen(fuzz_path)) != 0)
			fuzz_fail("error message without the file name: %s",
			    errors.v[i] != NULL ? errors.v[i] : "NULL");
	}
	if (c != NULL) {
		check_config(c);
		check_mask(c);
		config_unref(config_ref(c));
		config_unref(c);
	}
	strlist_clear(&errors);
	strlist_clear(&warnings);
	return 0;
}
