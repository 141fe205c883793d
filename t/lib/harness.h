/*
 * harness.h: the integration-test harness. It runs the real sluice binary
 * ($SLUICE_BIN) as a child process and scripts a fake pool and fake miners
 * over plain sockets, in the manner of memcached's t/lib/MemcachedTest.pm.
 *
 * Rules every helper follows:
 * - no sleeps: every wait is poll() against a deadline in milliseconds;
 * - a broken precondition fails the running Criterion test (cr_assert) with
 *   a message, and a timed-out log wait prints the daemon's whole log;
 * - every socket and pipe is close-on-exec and binds 127.0.0.1 only, so two
 *   tests running in parallel (--jobs=2) never share ports or files.
 *
 * Environment: SLUICE_BIN (required: absolute path of the daemon),
 * SLUICE_SRCDIR (source tree, for contrib/), SLUICE_WRAPPER (optional
 * command prefix such as "valgrind -q", split on spaces).
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <criterion/criterion.h>
#include <jansson.h>

#define HARNESS_LOGIN_AGENT "XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0"

/* One daemon under test. Fields are read-only for tests. */
struct proxy {
	pid_t	 pid;		/* -1 until launched */
	int	 reaped;	/* exited and waited for */
	int	 killed;	/* we had to SIGKILL it */
	int	 status;	/* raw waitpid status once reaped */
	int	 logfd;		/* read end of the stdout+stderr pipe, or -1 */
	char	*log;		/* everything captured, NUL-terminated */
	size_t	 loglen;
	size_t	 logcap;
	size_t	 logpos;	/* end of the last proxy_wait_log match */
	char	*dir;		/* private temp dir, removed by proxy_free */
	char	*config;	/* dir/config.json */
	int	 verbose;	/* launch with -v (proxy_new sets it) */
};

/* A fake pool's listening socket. */
struct tlisten {
	int	 fd;
	int	 port;
};

/* One scripted TCP connection (fake miner, or the pool side of one). */
struct tconn {
	int	 fd;
	char	*in;		/* received bytes not yet returned */
	size_t	 inlen;
	size_t	 incap;
	int	 eof;
	json_t	*stash;		/* messages put aside by tc_recv_reply */
	void	*ssl;		/* SSL *, once TLS is started */
	int	 keepalived;	/* probes answered, as a live pool does */
};

/* A job as the fake pool sends it. */
struct tjob {
	const char	*blob;
	const char	*job_id;
	const char	*target;
	const char	*algo;		/* omitted when NULL */
	uint64_t	 height;
	const char	*seed_hash;	/* omitted when NULL */
};

/* Time: the monotonic clock in ms, and what is left of a deadline. */
int64_t		 now_ms(void);
int		 left_ms(int64_t deadline);

/* Environment. */
const char	*sluice_bin(void);
const char	*sluice_srcdir(void);
int		 free_port(void);
int		 run_capture(const char *const argv[], char **output);
int		 run_sluice(char **output, ...);
char		*srcfile(const char *name);
char		*slurp(const char *path);
int		 count_lines(const char *text, const char *prefix);
void		 must_say(const char *out, const char *needle);

/* The daemon. */
struct proxy	*proxy_new(void);
void		 proxy_write_config(struct proxy *, const char *json);
void		 proxy_write_file(struct proxy *, const char *name,
		     const char *text);
void		 proxy_launch(struct proxy *);
void		 proxy_launch_args(struct proxy *, const char *const args[]);
struct proxy	*proxy_start(const char *config_json);
struct proxy	*proxy_start_args(const char *config_json,
		     const char *const args[]);
struct proxy	*proxy_start_verbose(const char *config_json, int verbose);
void		 proxy_restart(struct proxy *);
int		 proxy_start_expect_fail(const char *config_json,
		     char **output);
bool		 proxy_wait_log(struct proxy *, const char *substring,
		     int timeout_ms);
int		 proxy_log_count(struct proxy *, const char *substring);
void		 proxy_drain(struct proxy *, int ms);
/* sluice-bench ($SLUICE_BENCH), for tests with real pools and miners. */
const char	*bench_bin(void);
pid_t		 bench_spawn(const char *const args[], const char *out);
void		 proxy_dump_log(struct proxy *);
void		 proxy_signal(struct proxy *, int sig);
bool		 proxy_exited(struct proxy *, int timeout_ms);
int		 proxy_exit_code(const struct proxy *);
int		 proxy_stop(struct proxy *);
void		 proxy_stop_clean(struct proxy *);
pid_t		 proxy_pid(const struct proxy *);
void		 proxy_free(struct proxy *);
char		*config_basic(int bind_port, int pool_port, const char *extra);

/* Sockets. */
struct tlisten	*tl_listen(int port);
struct tconn	*tl_accept(struct tlisten *, int timeout_ms);
void		 tl_close(struct tlisten *);
struct tconn	*tc_connect(int port);
struct tconn	*tc_connect_from(const char *src_ip, int port);
bool		 tc_send(struct tconn *, const char *fmt, ...)
		     __attribute__((format(printf, 2, 3)));
bool		 tc_send_raw(struct tconn *, const void *buf, size_t len);
char		*tc_recv_line(struct tconn *, int timeout_ms);
json_t		*tc_recv(struct tconn *, int timeout_ms);
json_t		*tc_recv_reply(struct tconn *, json_int_t id, int timeout_ms);
bool		 tc_wait_closed(struct tconn *, int timeout_ms);
void		 tc_close(struct tconn *);
bool		 tc_tls_client(struct tconn *, const char *ca_file,
		     const char *sni, char fingerprint[65]);
bool		 tc_tls_server(struct tconn *, const char *cert,
		     const char *key);
void		 tls_make_certs(const char *dir, const char *prefix);
char		*cert_fingerprint(const char *cert_file);

/* Stratum roles. */
void		 tjob_default(struct tjob *, const char *job_id);

/* Reading what the proxy sends. */
#ifndef SLOT_HEX
#define SLOT_HEX	84	/* hex offset of blob byte 42, the slot */
#endif
json_t		*jget(json_t *, const char *path);
const char	*jstr(json_t *, const char *path);
const char	*jtext(json_t *);
int		 blob_slot(const char *blob);
bool		 blob_same_but_slot(const char *blob, const char *pool_blob);
json_t		*pool_expect_login(struct tconn *pc, int timeout_ms);
void		 pool_send_login_ok(struct tconn *pc, json_t *login_req,
		     const char *session, const struct tjob *job);
void		 pool_send_job(struct tconn *pc, const struct tjob *job);
json_t		*pool_login_of(struct tlisten *, struct tconn **);
struct tconn	*pool_bring_up(struct tlisten *, struct proxy *);
json_t		*miner_login(struct tconn *mc, const char *login,
		     const char *pass, const char *rigid, int timeout_ms);
json_t		*miner_submit(struct tconn *mc, int id, const char *session,
		     const char *job_id, const char *nonce, const char *result,
		     int timeout_ms);
void		 make_result(char out[65], uint64_t diff);


/* A tiny HTTP client for the API tests (harness.cc). */
#define HARNESS_HTTP_MS	5000	/* deadline of one exchange */
struct hresp {
	int	 status;
	char	*head;		/* status line and headers */
	char	*body;
	size_t	 bodylen;
};
char		*http_exchange(int port, const char *req, size_t reqlen,
		     size_t *lenp);
struct hresp	*http_request(int port, const char *method, const char *path,
		     const char *headers, const char *body);
void		 hresp_free(struct hresp *);
json_t		*hresp_json(struct hresp *, const char *what, struct proxy *);

#endif /* HARNESS_H */
