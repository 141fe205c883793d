/*
 * main.cc: the process. Flags, daemon(3), signals through libevent, the
 * one 1-second tick that drives every timeout, window and watcher, reload
 * (build new, then swap; a failure changes nothing), the same for a
 * config sent to PUT /1/config, and the graceful stop.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <jansson.h>
#include <luajit.h>
#include <openssl/opensslv.h>
#include <openssl/crypto.h>

#include "api.h"
#include "capture.h"
#include "coins.h"
#include "config.h"
#include "debug.h"
#include "events.h"
#include "fleet.h"
#include "history.h"
#include "listener.h"
#include "miner.h"
#include "policy.h"
#include "redis.h"
#include "share.h"
#include "stats.h"
#include "tls.h"
#include "upstream.h"

#define SHUTDOWN_GRACE	5	/* seconds to wait for in-flight submits */
#define MAIN_TRIM_INTERVAL 10	/* seconds between heap checks */
#define MAIN_TRIM_MIN	(4 << 20)	/* free bytes worth a malloc_trim() */

/*
 * Everything one configuration needs, built whole before any of it is
 * applied: start, -n and every reload make it with main_build(). It is
 * either complete or empty; applying it moves each part into place.
 */
struct build {
	struct config	*conf;		/* the snapshot */
	SSL_CTX		*tls;		/* server context; NULL without TLS */
	struct policy	*policy;	/* the Lua VM, or the built-in alone */
};

static struct event	*tick_ev;
static struct event	*sig_evs[4];
static struct timespec	 conf_mtime;
static time_t		 last_print;
static time_t		 last_trim;
static int		 pidfile_written;

/* The long options, xmrig-proxy's where they mean something here. */
#define MAIN_OPT_NO_COLOR	256
static const char	 main_short[] = "Bb:c:dhl:nO:o:p:u:Vv";
static const struct option main_long[] = {
	{ "background",	no_argument,		NULL,	'B' },
	{ "bind",	required_argument,	NULL,	'b' },
	{ "config",	required_argument,	NULL,	'c' },
	{ "help",	no_argument,		NULL,	'h' },
	{ "log-file",	required_argument,	NULL,	'l' },
	{ "no-color",	no_argument,		NULL,	MAIN_OPT_NO_COLOR },
	{ "pass",	required_argument,	NULL,	'p' },
	{ "url",	required_argument,	NULL,	'o' },
	{ "user",	required_argument,	NULL,	'u' },
	{ "userpass",	required_argument,	NULL,	'O' },
	{ "verbose",	no_argument,		NULL,	'v' },
	{ "version",	no_argument,		NULL,	'V' },
	{ NULL,		0,			NULL,	0 }
};

static void	 usage(void) NORETURN;
static void	 help(void);
static void	 version(void);
static void	 main_cli(json_t *, int, const char *);
static json_t	*main_cli_pool(json_t *, int);
static void	 main_signal(evutil_socket_t, short, void *);
static void	 main_tick(evutil_socket_t, short, void *);
static int	 main_build(const char *, json_t *, struct build *,
		     struct strlist *, struct strlist *);
static void	 main_build_free(struct build *);
static void	 main_reload(const char *);
static void	 main_commit(struct build *, const char *, struct strlist *);
static enum apiconfig_result main_config_put(json_t *, struct strlist *,
		     struct strlist *);
static void	 main_apply(struct config *, struct config *,
		     struct strlist *);
static void	 main_stop(void);
static void	 main_stop_check(evutil_socket_t, short, void *);
static void	 main_summary(void);
static void	 main_trim(void);
static int	 main_mtime(const char *, struct timespec *);
static void	 main_pidfile(const struct config *);
static void	 main_print_errors(struct strlist *, struct strlist *);

/* Print usage and exit 1. */
static void
usage(void)
{
	fprintf(stderr, "usage: sluice [-BdhnVv] [-b address:port] [-c file] "
	    "[-l file]\n"
	    "              [-o url [-u user] [-p pass] [-O user:pass]] ...\n");
	exit(1);
}

/* Print every option with its default (--help). */
static void
help(void)
{
	printf("usage: sluice [-BdhnVv] [-b address:port] [-c file] [-l file]\n"
	    "              [-o url [-u user] [-p pass] [-O user:pass]] ...\n"
	    "  -c, --config=FILE      configuration (default %s/config.json)\n"
	    "  -d                     stay in the foreground, log to stderr\n"
	    "  -B, --background       run in the background (the default "
	    "without -d)\n"
	    "  -n                     check the configuration and exit\n"
	    "  -v, --verbose          more verbose (repeatable)\n"
	    "  -V, --version          print the version and exit\n"
	    "  -h, --help             print this help and exit\n"
	    "options that replace the configuration's keys, at start and at "
	    "every reload:\n"
	    "  -b, --bind=ADDR:PORT   listen there (repeatable; replaces "
	    "\"bind\")\n"
	    "  -o, --url=URL          a pool (repeatable; replaces "
	    "\"pools\")\n"
	    "  -u, --user=USER        that pool's user (default x)\n"
	    "  -p, --pass=PASS        that pool's password (default x)\n"
	    "  -O, --userpass=U:P     both at once\n"
	    "  -l, --log-file=FILE    append the log to FILE (replaces "
	    "\"log-file\")\n"
	    "      --no-color         accepted; sluice writes no colours\n",
	    SLUICE_CONFDIR);
}

/* Print the version and the libraries' versions. */
static void
version(void)
{
	printf("sluice %s\n", SLUICE_VERSION);
	printf("libevent %s, %s, jansson %s, %s, SQLite %s\n",
	    event_get_version(), OpenSSL_version(OPENSSL_VERSION),
	    JANSSON_VERSION, LUAJIT_VERSION, histdb_version());
}

/*
 * The pool -u, -p and -O apply to: the last one, or a new one that the
 * next -o fills in, as xmrig-proxy takes them (-u before -o works too).
 * With url set, the pool for a new -o.
 */
static json_t *
main_cli_pool(json_t *cli, int url)
{
	json_t	*pools = json_object_get(cli, "pools"), *pool;
	size_t	 n;

	if (pools == NULL) {
		pools = json_array();
		json_object_set_new(cli, "pools", pools);
	}
	n = json_array_size(pools);
	pool = n > 0 ? json_array_get(pools, n - 1) : NULL;
	if (pool == NULL || (url && json_object_get(pool, "url") != NULL)) {
		pool = json_object();
		json_array_append_new(pools, pool);
	}
	return pool;
}

/*
 * Add one command-line option to cli, the keys that replace the
 * configuration file's: "bind" (-b), "pools" (-o, -u, -p, -O) and
 * "log-file" (-l). Addresses are checked here, so that a mistake is
 * reported as the option's and not as the file's.
 */
static void
main_cli(json_t *cli, int ch, const char *arg)
{
	json_t		*a;
	char		*host, *s, cwd[PATH_MAX];
	const char	*why, *colon;
	int		 port, tls;

	switch (ch) {
	case 'b':
	case 'o':
		if (config_parse_url(arg, &host, &port, &tls, &why) != 0) {
			fprintf(stderr, "sluice: %s %s: %s\n", ch == 'b' ?
			    "--bind" : "--url", arg, why);
			exit(1);
		}
		free(host);
		if (ch == 'o') {
			json_object_set_new(main_cli_pool(cli, 1), "url",
			    json_string(arg));
			break;
		}
		if ((a = json_object_get(cli, "bind")) == NULL) {
			a = json_array();
			json_object_set_new(cli, "bind", a);
		}
		json_array_append_new(a, json_string(arg));
		break;
	case 'u':
		json_object_set_new(main_cli_pool(cli, 0), "user",
		    json_string(arg));
		break;
	case 'p':
		json_object_set_new(main_cli_pool(cli, 0), "pass",
		    json_string(arg));
		break;
	case 'O':
		if ((colon = strchr(arg, ':')) == NULL) {
			fprintf(stderr, "sluice: --userpass %s: expected "
			    "USER:PASS\n", arg);
			exit(1);
		}
		json_object_set_new(main_cli_pool(cli, 0), "user",
		    json_stringn(arg, colon - arg));
		json_object_set_new(main_cli_pool(cli, 0), "pass",
		    json_string(colon + 1));
		break;
	case 'l':
		/* Relative to where sluice was started: daemon(3) goes to /. */
		if (arg[0] != '/' && getcwd(cwd, sizeof cwd) != NULL) {
			xasprintf(&s, "%s/%s", cwd, arg);
			json_object_set_new(cli, "log-file", json_string(s));
			free(s);
		} else
			json_object_set_new(cli, "log-file", json_string(arg));
		break;
	}
}

/*
 * Build everything path's configuration needs: the snapshot, the server
 * SSL_CTX and the policy VM, in that order (each needs the one before).
 * The snapshot is the file's, or root's if not NULL (a PUT /1/config,
 * built as if path held it). Returns 0 with b complete, or -1 with b
 * empty and the reasons in errors: whatever part was made has been freed.
 */
static int
main_build(const char *path, json_t *root, struct build *b,
    struct strlist *errors, struct strlist *warnings)
{
	memset(b, 0, sizeof *b);
	b->conf = root != NULL ? config_build(path, root, errors, warnings) :
	    config_load(path, errors, warnings);
	if (b->conf == NULL ||
	    tls_server_load(b->conf, &b->tls, errors) != 0 ||
	    (b->policy = policy_load(b->conf, errors)) == NULL) {
		main_build_free(b);
		return -1;
	}
	return 0;
}

/* Free a build, or what part of one was made, that is not applied. */
static void
main_build_free(struct build *b)
{
	policy_free(b->policy);
	tls_server_free(b->tls);
	config_unref(b->conf);
	memset(b, 0, sizeof *b);
}

/* Print config errors and warnings, one per line. */
static void
main_print_errors(struct strlist *errors, struct strlist *warnings)
{
	size_t	 i;

	for (i = 0; i < warnings->n; i++)
		fprintf(stderr, "warning: %s\n", warnings->v[i]);
	for (i = 0; i < errors->n; i++)
		fprintf(stderr, "%s\n", errors->v[i]);
}

int
main(int argc, char **argv)
{
	struct strlist	 errors = {}, warnings = {};
	struct build	 b;
	const char	*path = SLUICE_CONFDIR "/config.json";
	json_t		*cli, *v;
	int		 ch, foreground = 0, check = 0, verbose = 0, cflag = 0;
	int		 rc;
	size_t		 i;
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };

	cli = json_object();
	while ((ch = getopt_long(argc, argv, main_short, main_long,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			cflag = 1;
			break;
		case 'd':
			foreground = 1;
			break;
		case 'B':
			/* Detaching is the default; -d wins, as over the key. */
			break;
		case 'h':
			help();
			exit(0);
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			version();
			exit(0);
		case MAIN_OPT_NO_COLOR:
			break;
		case 'b':
		case 'l':
		case 'o':
		case 'O':
		case 'p':
		case 'u':
			main_cli(cli, ch, optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	json_array_foreach(json_object_get(cli, "pools"), i, v) {
		if (json_object_get(v, "url") == NULL) {
			fprintf(stderr, "sluice: -u, -p and -O set the user and "
			    "password of the pool of an -o option\n");
			usage();
		}
	}
	/*
	 * The command line's keys replace the file's at every load. With
	 * neither -c nor the default file, -o and -b are enough to run,
	 * as they are for xmrig-proxy.
	 */
	if (json_object_size(cli) > 0)
		config_file_set_overlay(cli, !cflag &&
		    json_object_get(cli, "bind") != NULL &&
		    json_object_get(cli, "pools") != NULL);
	json_decref(cli);

	/* -n builds exactly what a start would, then frees it. */
	rc = main_build(path, NULL, &b, &errors, &warnings);
	if (check || rc != 0) {
		main_print_errors(&errors, &warnings);
		strlist_clear(&errors);
		strlist_clear(&warnings);
		if (rc != 0)
			exit(1);
		main_build_free(&b);
		printf("configuration OK\n");
		exit(0);
	}
	strlist_clear(&errors);
	policy_swap(b.policy);
	tls_server_swap(b.tls);
	sl.conf = b.conf;
	/* "background" is xmrig-proxy's; without -d sluice detaches anyway. */
	log_init(foreground, verbose + sl.conf->verbose);
	for (i = 0; i < warnings.n; i++)
		log_warnx("%s", warnings.v[i]);
	strlist_clear(&warnings);
	log_set_syslog(sl.conf->syslog);
	log_open_file(sl.conf->log_file);
	main_mtime(path, &conf_mtime);

	if (!foreground && daemon(0, 0) != 0)
		fatal("daemon");
	signal(SIGPIPE, SIG_IGN);

	if ((sl.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	sl.dns = evdns_base_new(sl.base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
	    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (sl.dns == NULL) {
		log_warnx("no usable resolv.conf; only numeric pool addresses "
		    "will work");
		sl.dns = evdns_base_new(sl.base, 0);
	}
	sl.now = sl.started = sluice_now();

	for (i = 0; i < sizeof signals / sizeof signals[0]; i++) {
		sig_evs[i] = evsignal_new(sl.base, signals[i], main_signal,
		    NULL);
		evsignal_add(sig_evs[i], NULL);
	}
	apiconfig_set_apply(main_config_put);
	capture_start(sl.conf);
	if (listener_open_all(sl.conf) != 0 || api_start(sl.conf) != 0 ||
	    debug_start(sl.conf) != 0)
		exit(1);
	if (!foreground)
		main_pidfile(sl.conf);

	tick_ev = event_new(sl.base, -1, EV_PERSIST, main_tick, NULL);
	struct timeval one = { 1, 0 };
	event_add(tick_ev, &one);
	last_print = sl.now;

	coins_start();
	splitter_start();
	fleet_start();
	redis_start();
	coinpull_start();
	history_start();
	log_info("type=ready pid=%d version=%s mode=%s", (int)getpid(),
	    SLUICE_VERSION, config_mode_text(sl.conf->mode));
	event_base_dispatch(sl.base);

	/*
	 * The loop is over: a second SIGTERM (an impatient operator) must
	 * not kill the cleanup and turn exit 0 into 143. Blocked signals
	 * stay pending and die with the process.
	 */
	sigset_t	 block;
	sigemptyset(&block);
	for (i = 0; i < sizeof signals / sizeof signals[0]; i++)
		sigaddset(&block, signals[i]);
	sigprocmask(SIG_BLOCK, &block, NULL);

	/* Everything has been closed by main_stop(); free what is left. */
	miner_shutdown();
	for (i = 0; i < sizeof signals / sizeof signals[0]; i++)
		event_free(sig_evs[i]);
	event_free(tick_ev);
	if (sl.stop_ev != NULL)
		event_free(sl.stop_ev);
	evdns_base_free(sl.dns, 0);
	event_base_free(sl.base);
	if (pidfile_written)
		unlink(sl.conf->pid_file);
	policy_swap(NULL);
	tls_shutdown();
	config_unref(sl.conf);
	config_file_set_overlay(NULL, 0);
	log_open_file(NULL);
	return 0;
}

/* Write the pid file; failure is a warning, not fatal. */
static void
main_pidfile(const struct config *c)
{
	FILE	*f;

	if (c->pid_file == NULL || c->pid_file[0] == '\0')
		return;
	if ((f = fopen(c->pid_file, "w")) == NULL) {
		log_warn("pid file %s", c->pid_file);
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	pidfile_written = 1;
}

/* Signals: TERM/INT stop, HUP reloads, USR1 reopens logs. */
static void
main_signal(evutil_socket_t sig, short events, void *arg)
{
	sluice_activity(ACT_SIGNAL);
	(void)events;
	(void)arg;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		main_stop();
		break;
	case SIGHUP:
		main_reload("signal");
		break;
	case SIGUSR1:
		log_info("type=reopen status=start");
		log_reopen();
		events_reopen();
		capture_reopen();
		break;
	}
}

/* The modification time of a file; -1 if it cannot be read. */
static int
main_mtime(const char *path, struct timespec *ts)
{
	struct stat	 st;

	if (stat(path, &st) != 0)
		return -1;
	*ts = st.st_mtim;
	return 0;
}

/* Once a second: timeouts, GC, windows, the watcher, the summary line. */
static void
main_tick(evutil_socket_t fd, short events, void *arg)
{
	struct timespec	 ts;

	sluice_activity(ACT_TICK);
	(void)fd;
	(void)events;
	(void)arg;
	sl.now = sluice_now();
	miner_tick(sl.now);
	listener_tick(sl.now);
	splitter_tick(sl.now);
	events_tick(sl.now);
	history_tick();
	policy_tick(sl.now);
	capture_tick(sl.now);
	fleet_tick(sl.now);

	if (sl.conf->watch && !sl.stopping &&
	    ((main_mtime(sl.conf->path, &ts) == 0 &&
	    (ts.tv_sec != conf_mtime.tv_sec ||
	    ts.tv_nsec != conf_mtime.tv_nsec)) || policy_files_changed())) {
		main_reload("watch");
	}
	if (sl.conf->print_time > 0 &&
	    sl.now - last_print >= sl.conf->print_time) {
		last_print = sl.now;
		main_summary();
	}
	if (sl.now - last_trim >= MAIN_TRIM_INTERVAL) {
		last_trim = sl.now;
		main_trim();
	}
}

/*
 * Give the kernel back what a burst left free in the heap. A share
 * storm allocates shares, backlogs and nonce tables by the thousand and
 * frees them; glibc keeps the pages, so RSS stayed at the burst's high
 * mark. Every MAIN_TRIM_INTERVAL seconds, when more than a quarter of
 * the heap (and at least MAIN_TRIM_MIN) is free, malloc_trim() returns
 * it: about a millisecond, a few times a minute at most.
 */
static void
main_trim(void)
{
	struct mallinfo2	 mi = mallinfo2();
	size_t			 before = mi.fordblks;

	if (mi.fordblks < MAIN_TRIM_MIN || mi.fordblks < mi.arena / 4)
		return;
	malloc_trim(0);
	mi = mallinfo2();
	log_debug("heap: trimmed, %zu of %zu bytes free before, %zu after",
	    before, mi.arena, mi.fordblks);
}

/*
 * The periodic one-line summary, with the hashrate over 60 s and 10 min
 * (the windows' names as /metrics labels them).
 */
static void
main_summary(void)
{
	uint64_t	 active, sleep, error, total;
	int64_t		 now_ms = stats_clock_ms();
	char		 hr1[32], hr10[32];

	splitter_upstreams(&active, &sleep, &error, &total);
	stats_rate_text(hr1, sizeof hr1, stats_hashrate(STATS_W60S, now_ms));
	stats_rate_text(hr10, sizeof hr10,
	    stats_hashrate(STATS_W600S, now_ms));
	log_info("type=summary miners=%llu max=%llu upstreams=%llu/%llu "
	    "accepted=%llu rejected=%llu invalid=%llu expired=%llu "
	    "hashes=%llu hashrate_%s=%s hashrate_%s=%s",
	    (unsigned long long)sl_stats.miners_now,
	    (unsigned long long)sl_stats.miners_max,
	    (unsigned long long)active, (unsigned long long)total,
	    (unsigned long long)sl_stats.accepted,
	    (unsigned long long)sl_stats.rejected,
	    (unsigned long long)sl_stats.invalid,
	    (unsigned long long)sl_stats.expired,
	    (unsigned long long)sl_stats.hashes,
	    stats_window_text(STATS_W60S), hr1,
	    stats_window_text(STATS_W600S), hr10);
}

/*
 * Reload: build a new snapshot; on success swap it in and apply what may
 * change at runtime. A failure is logged and changes nothing.
 */
static void
main_reload(const char *why)
{
	struct strlist	 errors = {}, warnings = {};
	struct build	 b;
	size_t		 i;
	int		 rc;

	if (sl.stopping)
		return;
	log_info("type=reload status=start trigger=%s file=%s", why,
	    sl.conf->path);
	main_mtime(sl.conf->path, &conf_mtime);
	rc = main_build(sl.conf->path, NULL, &b, &errors, &warnings);
	for (i = 0; i < warnings.n; i++)
		log_warnx("%s", warnings.v[i]);
	for (i = 0; i < errors.n; i++)
		log_warnx("%s", errors.v[i]);
	strlist_clear(&warnings);
	strlist_clear(&errors);
	if (rc != 0) {
		sl_stats.reloads_failed++;
		log_info("type=reload status=failed trigger=%s reason=\"config, "
		    "certificate or policy error (above)\"", why);
		return;
	}
	main_commit(&b, why, NULL);
}

/*
 * Swap a complete build in and apply it; the warnings of the apply (what
 * cannot change at runtime) are logged and, if notes is not NULL, added
 * to it.
 */
static void
main_commit(struct build *b, const char *why, struct strlist *notes)
{
	struct strlist	 applied = {};
	struct config	*old;
	size_t		 i;

	policy_swap(b->policy);
	tls_server_swap(b->tls);
	old = sl.conf;
	sl.conf = b->conf;
	memset(b, 0, sizeof *b);
	main_apply(old, sl.conf, &applied);
	config_unref(old);
	for (i = 0; i < applied.n; i++) {
		log_warnx("%s", applied.v[i]);
		if (notes != NULL)
			strlist_add(notes, "%s", applied.v[i]);
	}
	strlist_clear(&applied);
	sl_stats.reloads_ok++;
	log_info("type=reload status=done trigger=%s", why);
}

/*
 * PUT /1/config (apiconfig.cc): build root as the config file would be
 * built on a reload; only if it builds, write it to the file, then apply
 * it. The errors and warnings are logged as a reload's, and go back in
 * errors and warnings for the answer.
 */
static enum apiconfig_result
main_config_put(json_t *root, struct strlist *errors, struct strlist *warnings)
{
	struct build	 b;
	const char	*path = sl.conf->path;
	size_t		 i;

	if (sl.stopping) {
		strlist_add(errors, "sluice is stopping");
		return APICONFIG_UNAVAILABLE;
	}
	log_info("type=reload status=start trigger=api file=%s", path);
	if (main_build(path, root, &b, errors, warnings) != 0 ||
	    apiconfig_write(path, root, errors) != 0) {
		for (i = 0; i < warnings->n; i++)
			log_warnx("%s", warnings->v[i]);
		for (i = 0; i < errors->n; i++)
			log_warnx("%s", errors->v[i]);
		sl_stats.reloads_failed++;
		log_info("type=reload status=failed trigger=api reason=\"%s\"",
		    b.conf == NULL ? "config, certificate or policy error "
		    "(above)" : "the file cannot be written (above)");
		if (b.conf == NULL)
			return APICONFIG_INVALID;
		main_build_free(&b);
		return APICONFIG_FAILED;
	}
	for (i = 0; i < warnings->n; i++)
		log_warnx("%s", warnings->v[i]);
	/* The watcher must not reload what it sees changed: it is ours. */
	main_mtime(path, &conf_mtime);
	main_commit(&b, "api", warnings);
	return APICONFIG_APPLIED;
}

/*
 * Apply a new snapshot: what can change at runtime does; what cannot is
 * said in warnings.
 */
static void
main_apply(struct config *old, struct config *nc, struct strlist *warnings)
{
	size_t	 i;
	int	 same = old->nbinds == nc->nbinds;

	for (i = 0; same && i < nc->nbinds; i++) {
		same = strcmp(old->binds[i].host, nc->binds[i].host) == 0 &&
		    old->binds[i].port == nc->binds[i].port &&
		    old->binds[i].tls == nc->binds[i].tls &&
		    old->binds[i].proxy_protocol ==
		    nc->binds[i].proxy_protocol &&
		    old->binds[i].proxy_timeout == nc->binds[i].proxy_timeout &&
		    old->binds[i].nproxy_from == nc->binds[i].nproxy_from &&
		    (old->binds[i].nproxy_from == 0 ||
		    memcmp(old->binds[i].proxy_from, nc->binds[i].proxy_from,
		    nc->binds[i].nproxy_from *
		    sizeof *nc->binds[i].proxy_from) == 0);
	}
	if (!same)
		strlist_add(warnings, "reload: bind addresses cannot change at "
		    "runtime; restart to apply");
	if (old->reuse_port != nc->reuse_port)
		strlist_add(warnings, "reload: reuse-port cannot change at "
		    "runtime; restart to apply");
	if (old->mode != nc->mode) {
		strlist_add(warnings, "reload: mode cannot change at runtime; "
		    "still %s", config_mode_text(old->mode));
		nc->mode = old->mode;
	}
	log_set_verbose(log_get_verbose() - old->verbose + nc->verbose);
	log_set_syslog(nc->syslog);
	log_open_file(nc->log_file);
	events_reopen();
	capture_reload(nc);
	api_reload(nc);
	debug_reload(nc);
	if (!config_pools_equal(old, nc)) {
		splitter_reload();
		coins_reload();
	}
	redis_reload();
	coinpull_reload();
	history_reload(old, nc);
}

/*
 * Begin the graceful stop: no new miners, no more reads, then wait for
 * the submits in flight. The stop finishes when share_finish() reports
 * the last one answered (sluice_stop_ready) or after SHUTDOWN_GRACE.
 */
static void
main_stop(void)
{
	struct timeval	 tv = { SHUTDOWN_GRACE, 0 };

	if (sl.stopping)
		return;
	sl.stopping = 1;
	log_info("type=shutdown status=start inflight=%zu", share_inflight());
	listener_close_all();
	miner_quiesce();
	sl.stop_ev = evtimer_new(sl.base, main_stop_check, NULL);
	if (share_inflight() == 0)
		sluice_stop_ready();
	else
		evtimer_add(sl.stop_ev, &tv);
}

/* Finish the stop: the last submit was answered, or the grace is over. */
static void
main_stop_check(evutil_socket_t fd, short events, void *arg)
{
	static int	 done;

	(void)fd;
	(void)events;
	(void)arg;
	/* Answering the last pending submit below calls sluice_stop_ready()
	 * again: the stop runs once. */
	if (done)
		return;
	done = 1;
	evtimer_del(sl.stop_ev);
	/*
	 * Pool connections first: their pending submits are answered while
	 * the miners are still there to read the answer. Then the miners;
	 * then history takes its last sample (while the upstreams, coins
	 * and workers it reads are still there) and writes it; then what
	 * the splitter holds.
	 */
	coinpull_stop();
	redis_stop();
	fleet_stop();
	splitter_disconnect();
	miner_close_all(CLOSE_SHUTDOWN);
	history_stop();
	splitter_stop();
	coins_stop();
	api_stop();
	debug_stop();
	events_stop();
	capture_stop();
	log_info("type=shutdown status=done");
	event_base_loopexit(sl.base, NULL);
}
