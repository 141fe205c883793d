/*
 * fuzz_net.h: the whole daemon in the fuzzer's process, for the network
 * targets (fuzz_miner, fuzz_pool, fuzz_api). fuzz_net.cc sets up what
 * main.cc would (event base, config snapshot, built-in policy, the API,
 * the splitter) around the real daemon objects, and plays the other side
 * of every socket, always a socketpair:
 *
 *	miners	the daemon's end goes to miner_accept() as listener.cc
 *		would hand it over
 *	pool	the config's one pool is 127.0.0.1:port, and connect() to
 *		it gives the daemon a socketpair instead; on auto, the fake
 *		pool answers logins (with a job), submits and keepalives,
 *		else it only reads and the target scripts what it says
 *	API	evhttp's bind() to the API port gets a Unix socket, which
 *		the client connects to
 *
 * fuzz_net_settle() runs the event loop without blocking until nothing
 * moves, so one input is one bounded, synchronous exchange.
 */
#ifndef FUZZ_NET_H
#define FUZZ_NET_H

#include "fuzz.h"

struct miner;

#define FUZZ_NET_MINERS	4	/* miner connections open at once */
#define FUZZ_NET_CHUNKS	4	/* pieces an input is written in */

/* The pool's job: blob, target "ffffff00" (difficulty 256), rx/0. */
#define FUZZ_NET_JOB_ID	"fz-1"

/* Set-up, in this order; then settle and tick as a target needs. */
void		 fuzz_net_init(void);
int		 fuzz_net_api_port(void);
struct config	*fuzz_net_load_conf(const char *http, const char *extra);
void		 fuzz_net_start(struct config *);
void		 fuzz_net_settle(void);
void		 fuzz_net_tick(int seconds);
void		 fuzz_net_verbose(int);
void		 fuzz_net_cut(const uint8_t *cuts, size_t len,
		     size_t off[FUZZ_NET_CHUNKS + 1]);

/* Miners: i is 0 .. FUZZ_NET_MINERS - 1. */
int		 fuzz_net_miner_open(int i, const char *ip);
void		 fuzz_net_miner_write(int i, const char *, size_t);
void		 fuzz_net_miner_close(int i);
void		 fuzz_net_miner_close_all(void);
struct miner	*fuzz_net_miner(int i);
void		 fuzz_net_miner_reading(int);

/* The fake pool. */
void		 fuzz_net_pool_auto(int);
void		 fuzz_net_pool_reject(int);
int		 fuzz_net_pool_waiting(void);
void		 fuzz_net_pool_login_reply(void);
void		 fuzz_net_pool_job(const char *job_id);
void		 fuzz_net_pool_write(const char *, size_t);
void		 fuzz_net_pool_close_all(void);
int		 fuzz_net_pool_count(void);

/* The API. */
void		 fuzz_net_api_open(void);
void		 fuzz_net_api_write(const char *, size_t);
void		 fuzz_net_api_close(void);
int		 fuzz_net_api_check(void);
void		 fuzz_net_api_get(const char *path);
void		 fuzz_net_set_conf(struct config *);

/* After an input: nothing of it may be left. */
void		 fuzz_net_check_idle(void);

#endif /* FUZZ_NET_H */
