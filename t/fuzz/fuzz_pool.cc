/*
 * fuzz_pool.cc: libFuzzer target for the pool side: pool.cc's line
 * reading, the fast path for submit answers, the login reply, jobs,
 * errors and the failure taxonomy; strategy.cc's reaction to a failed
 * or dropped connection; upstream.cc's jobs and job fan-out to a miner;
 * share.cc answering the miner's submits from whatever the pool says.
 * The daemon is the real one (fuzz_net.cc); the fake pool says only what
 * the input says.
 *
 * Every input starts with a new pool connection whose login the daemon
 * has sent (request id 1) and nobody has answered, and no miner. Then:
 *
 *	byte 0	flags
 *		  bit 0     the harness answers the login first, with job
 *		            fz-1 (difficulty 256); else the input's bytes
 *		            are the answer
 *		  bits 1-2  submits the miner makes before the input's
 *		            bytes (0-3; request ids 2, 3, 4 at the pool)
 *		  bit 3     after the bytes, the clock jumps 61 s and the
 *		            1-second tick runs (login, reply and keepalive
 *		            timeouts)
 *		  bit 4     after the bytes, a second miner logs in
 *		  bit 5     the miner hangs up before the bytes (answers for
 *		            a departed miner)
 *		  bit 6     after the bytes, the miner submits once more,
 *		            on whatever job the pool sent last
 *		  bit 7     log at verbosity 2 (every line)
 *	bytes 1-3
 *		where the bytes are cut into 4 pieces (fractions of 256);
 *		each is written to the newest pool connection (a pool that
 *		was dropped has been replaced at once: retry-pause is 0),
 *		then the loop runs until idle
 *	rest	the pool's bytes
 *
 * A miner ("fuzz-miner", logged in at the start) is there so that jobs
 * are fanned out and shares answered. At the end the miners and the pool
 * hang up: every share in flight ends, the upstream connects again, and
 * nothing of the input may be left (fuzz_net_check_idle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "miner.h"
#include "upstream.h"

#include "fuzz_net.h"

#define FUZZ_POOL_HDR	4

static void	 fuzz_pool_login(int);
static void	 fuzz_pool_submit(int, unsigned);

/* Start the daemon once; the fake pool only listens. */
extern "C" int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_net_init();
	fuzz_net_pool_auto(0);
	fuzz_net_start(fuzz_net_load_conf(NULL, NULL));
	if (!fuzz_net_pool_waiting()) {
		fprintf(stderr, "fuzz_pool: no login reached the fake pool\n");
		exit(1);
	}
	return 0;
}

/* Miner i connects and logs in. */
static void
fuzz_pool_login(int i)
{
	char	 line[512];
	int	 n;

	if (fuzz_net_miner_open(i, i == 0 ? "127.0.0.1" : "10.0.0.2") != 0)
		return;
	n = snprintf(line, sizeof line, "{\"id\":1,\"jsonrpc\":\"2.0\","
	    "\"method\":\"login\",\"params\":{\"login\":\"fuzz-miner\","
	    "\"pass\":\"x\",\"agent\":\"XMRig/6.21.0 (Linux x86_64) "
	    "libuv/1.44.2 gcc/12.2.0\",\"rigid\":\"rig%d\",\"algo\":"
	    "[\"rx/0\",\"cn/r\"]}}\n", i);
	fuzz_net_miner_write(i, line, (size_t)n);
	fuzz_net_settle();
}

/*
 * Miner i submits a share for the upstream's job: a nonce in its slot
 * (nth of this input), a result of high difficulty.
 */
static void
fuzz_pool_submit(int i, unsigned nth)
{
	struct miner	*m = fuzz_net_miner(i);
	struct upstream	*u = upstream_first();
	json_t		*req;
	char		 nonce[9], *s;

	if (m == NULL || m->state != MINER_READY || u == NULL ||
	    u->job == NULL)
		return;
	snprintf(nonce, sizeof nonce, "%06x%02x", nth, m->slot & 0xff);
	req = json_pack("{s:i,s:s,s:s,s:{s:s,s:s,s:s,s:s}}", "id", 10 + nth,
	    "jsonrpc", "2.0", "method", "submit", "params", "id", m->session,
	    "job_id", u->job->job_id, "nonce", nonce, "result",
	    "4a4c7e9e2b9c2e5d8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a00000000");
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	fuzz_net_miner_write(i, s, strlen(s));
	fuzz_net_miner_write(i, "\n", 1);
	free(s);
	fuzz_net_settle();
}

/* One input: what the pool says to a fresh connection. */
extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t		 off[FUZZ_NET_CHUNKS + 1];
	uint8_t		 flags;
	unsigned	 k, nsubmits;

	if (len < FUZZ_POOL_HDR)
		return 0;
	fuzz_input(data, len);
	flags = data[0];
	fuzz_net_verbose(flags & 0x80 ? 2 : 0);
	fuzz_pool_login(0);
	if (flags & 0x01) {
		fuzz_net_pool_login_reply();
		fuzz_net_settle();
	}
	nsubmits = (flags >> 1) & 3;
	for (k = 0; k < nsubmits; k++)
		fuzz_pool_submit(0, k + 1);
	if (flags & 0x20) {
		fuzz_net_miner_close(0);
		fuzz_net_settle();
	}

	fuzz_net_cut(data + 1, len - FUZZ_POOL_HDR, off);
	for (k = 0; k < FUZZ_NET_CHUNKS; k++) {
		if (off[k + 1] == off[k])
			continue;
		fuzz_net_pool_write((const char *)data + FUZZ_POOL_HDR + off[k],
		    off[k + 1] - off[k]);
		fuzz_net_settle();
	}
	if (flags & 0x40)
		fuzz_pool_submit(0, 9);
	if (flags & 0x10)
		fuzz_pool_login(1);
	if (flags & 0x08) {
		fuzz_net_tick(61);
		fuzz_net_settle();
	}

	/* Hang up everything; the upstream connects and logs in again. */
	fuzz_net_miner_close_all();
	fuzz_net_settle();
	fuzz_net_pool_close_all();
	fuzz_net_settle();
	if (fuzz_net_pool_count() != 1 || !fuzz_net_pool_waiting())
		fuzz_fail("no new pool login after the input (%d connections)",
		    fuzz_net_pool_count());
	fuzz_net_check_idle();
	fuzz_net_verbose(0);
	return 0;
}
