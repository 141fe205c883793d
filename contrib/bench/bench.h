/*
 * bench.h: the one header of sluice-bench, the benchmark and demo tool.
 *
 * sluice-bench is a separate program from the daemon: a fast test pool
 * (tpool.cc), a swarm of simulated miners (tminer.cc, one process each,
 * forked and driven through phases by coord.cc, which counts the proxy's
 * system calls with scount.cc), the live status line of
 * "make demo" (status.cc) and the table of "make bench" (report.cc).
 * Every process is single-threaded on libevent (the coordinator uses
 * poll(2) alone) and talks stratum over loopback.
 *
 * Times are CLOCK_MONOTONIC nanoseconds throughout. A job id made by the
 * test pool is "j<seq>-<ns>": ns is the monotonic time the broadcast
 * began, so a receiver on the same machine measures fan-out latency by
 * subtracting it from its own clock.
 */
#ifndef BENCH_H
#define BENCH_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <jansson.h>

/* Target math and nonce sets come from the daemon (stratum.o, job.o). */
#include "sluice.h"
#include "job.h"
#include "stratum.h"

#define BENCH_VERSION	"0.1.0"
#define BENCH_AGENT	"sluice-bench/" BENCH_VERSION
#define BENCH_MAX_LINE	16384	/* longest stratum line accepted */
#define BENCH_SCRATCH	65536	/* shared read buffer */

#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))
#define NORETURN __attribute__((noreturn))

/* bench.cc: process helpers shared by every subcommand. */
uint64_t	 bench_now(void);
uint64_t	 bench_cpu_self(void);
void		 bench_raise_nofile(void);
int		 bench_nonblock(int);
int		 bench_listen(const char *host, int port, int backlog);
int		 bench_connect_tcp(const char *host, int port, int timeout_ms);
int		 bench_free_port(int preferred);
int		 bench_parse_range(const char *, uint32_t *first,
		     uint32_t *count);
NORETURN void	 bench_fatal(const char *, ...) PRINTFLIKE(1, 2);
NORETURN void	 bench_fatalx(const char *, ...) PRINTFLIKE(1, 2);
void		 bench_warnx(const char *, ...) PRINTFLIKE(1, 2);

/*
 * Line framing without a copy in the common case: bytes are read into a
 * shared scratch buffer and complete lines handed out from there; only a
 * trailing partial line is kept, in a per-connection buffer.
 */
struct lbuf {
	char	*v;
	size_t	 n;
	size_t	 cap;
};
typedef int	(*lbuf_cb)(void *arg, char *line, size_t len);
int		 lbuf_feed(struct lbuf *, char *data, size_t len, lbuf_cb,
		     void *arg);
void		 lbuf_free(struct lbuf *);

/* Tiny scanners for the fixed-shape lines of the hot paths. */
const char	*bench_jstr(const char *line, size_t len, const char *key,
		     size_t *vlen);
int		 bench_jint_first(const char *line, size_t len, int64_t *);
int		 bench_jobid_time(const char *id, size_t len, uint64_t *seq,
		     uint64_t *ns);

/* A watched process (the proxy or the pool): CPU and memory from /proc. */
struct procsample {
	int		 ok;
	uint64_t	 at_ns;		/* when sampled */
	uint64_t	 cpu_ns;	/* schedstat, else utime+stime */
	uint64_t	 ticks;		/* utime+stime, clock ticks */
	uint64_t	 rss_kb;	/* VmRSS */
	uint64_t	 hwm_kb;	/* VmHWM */
	uint64_t	 fds;		/* open descriptors */
};
void		 bench_proc_sample(pid_t, struct procsample *);
json_t		*bench_proc_json(const struct procsample *);

/* hist.cc: log-linear latency histogram (ns), about 0.4% resolution. */
#define HIST_SUB_BITS	7
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_N		((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
	uint64_t	 n;
	uint64_t	 max;
	uint64_t	 min;
	double		 sum;
	uint32_t	 c[HIST_N];
};
struct hist	*hist_new(void);
void		 hist_free(struct hist *);
void		 hist_add(struct hist *, uint64_t);
void		 hist_merge(struct hist *, const struct hist *);
uint64_t	 hist_pct(const struct hist *, double q);
json_t		*hist_json(const struct hist *);
int		 hist_load(struct hist *, json_t *);
json_t		*hist_summary(const struct hist *);
double		 hist_us(uint64_t ns);

/* tpool.cc: the test pool. */
int		 tpool_main(int, char **);
int		 tpool_ctl_main(int, char **);

/* tminer.cc: one process's share of the miners. */
struct tminer_args {
	int		 index;		/* child number */
	int		 count;		/* miners in this process */
	int		 first;		/* global number of the first */
	const char	*host;
	int		 port;
	uint32_t	 src_first;	/* source addresses, host order */
	uint32_t	 src_count;
	double		 login_rate;	/* per second, this process */
	int		 login_timeout_ms;
	const char	*user;
	const char	*switch_prefix;	/* job ids of the switched-to pool */
	int		 ctlfd;		/* socketpair to the coordinator */
};
NORETURN void	 tminer_child(const struct tminer_args *);

/* scount.cc: another process's system calls over a window. */
struct scount {
	char		 tool[8];	/* "perf" or "strace" */
	char		 path[256];	/* the tracer's output */
	pid_t		 pid;		/* the tracer */
	int		 fd;		/* its window events */
	int		 eof;
	int		 stopped;	/* strace: SIGINT sent */
	double		 seconds;
	uint64_t	 t_start;	/* window start and end, bench_now() */
	uint64_t	 t_end;
};
int		 scount_start(struct scount *, const char *tool, pid_t,
		     double seconds, const char *self);
int		 scount_wait(struct scount *, int want_end, int timeout_ms);
json_t		*scount_finish(struct scount *);
void		 scount_kill(struct scount *);
json_t		*scount_per_share(json_t *counts, double shares);
int		 scount_window_main(int, char **);

/* coord.cc: the miners subcommand (forks tminer children). */
int		 coord_main(int, char **);

/* status.cc: the demo's live status line. */
int		 status_main(int, char **);

/* report.cc: the table and results file of "make bench". */
int		 report_main(int, char **);
int		 report_jget_main(int, char **);

#endif /* BENCH_H */
