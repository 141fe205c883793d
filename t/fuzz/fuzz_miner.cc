/*
 * fuzz_miner.cc: libFuzzer target for a miner's session: wire.cc's
 * framing and back-pressure, miner.cc's method table, login and submit
 * checks and state machine, the policy's login and custom difficulty,
 * the NiceHash slots (nicehash.cc, storage.cc), upstream.cc's share
 * checks and share.cc's one ending, through the real daemon (fuzz_net.cc)
 * with an upstream logged in to a fake pool that answers everything.
 *
 * An input is a header and the miners' bytes:
 *
 *	byte 0	flags
 *		  bits 0-1  miners: 1 + (bits % 3), from 127.0.0.1,
 *		            10.0.0.2 and 10.0.0.3
 *		  bit 2     after the bytes, the pool pushes a new job
 *		            (fz-2): fan-out to the logged-in miners
 *		  bit 3     then the pool hangs up (pending submits end as
 *		            "Bad gateway"; the upstream logs in again)
 *		  bit 4     then the clock jumps 601 s and the 1-second tick
 *		            runs (idle timeouts, pool keepalive and reply
 *		            timeouts)
 *		  bit 5     the pool rejects submits instead of accepting
 *		  bit 6     slow readers: the miners' sockets are not read
 *		            until they hang up (the output limit, pausing)
 *		  bit 7     log at verbosity 2 (every line, secrets masked)
 *	byte 1	which miner each of the 4 pieces goes to, 2 bits a piece
 *	bytes 2-4
 *		where the bytes are cut into 4 pieces (fractions of 256);
 *		each piece is written, then the loop runs until idle
 *	byte 5	more flags
 *		  bit 0     before the miners hang up, GET /1/miners,
 *		            /1/workers, /1/summary and /metrics from the API:
 *		            what miners sent (user, rig id, agent) is in
 *		            those answers, which must be valid JSON and the
 *		            Prometheus text format
 *	rest	the miners' bytes
 *
 * Before a piece is written, "%S" in it becomes its miner's session id
 * and "%N" its NiceHash slot as two hex digits (so "000000%N" is a
 * nonce in the miner's range): they are random or depend on earlier
 * inputs, and the fuzzer could not guess them. The pool's jobs are
 * fz-1 (current) and fz-0 (previous) at the start of every input, at
 * difficulty 256; the config wants the access password "fuzz-pw".
 *
 * Then every miner hangs up; after the input nothing may be left: no
 * miner, no share in flight (fuzz_net_check_idle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "miner.h"
#include "upstream.h"

#include "fuzz_net.h"

#define FUZZ_MINER_HDR	6
#define FUZZ_MINER_MAX	(64 * 1024)	/* bytes of one piece, substituted */

static const char *const fuzz_miner_ips[] = {
	"127.0.0.1", "10.0.0.2", "10.0.0.3"
};

static size_t	 fuzz_miner_subst(int, const uint8_t *, size_t, char *);

/* Start the daemon once, with a logged-in upstream. */
extern "C" int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	*http;

	(void)argc;
	(void)argv;
	fuzz_net_init();
	xasprintf(&http, "{\"enabled\": true, \"port\": %d, "
	    "\"access-token\": \"fuzz-token\"}", fuzz_net_api_port());
	fuzz_net_start(fuzz_net_load_conf(http,
	    "\"access-password\": \"fuzz-pw\",\n"
	    "\"custom-diff-stats\": true,\n"
	    "\"workers\": \"rig_id\""));
	free(http);
	return 0;
}

/*
 * A piece for miner i with %S and %N replaced; out holds at least
 * FUZZ_MINER_MAX bytes. Returns the length.
 */
static size_t
fuzz_miner_subst(int i, const uint8_t *p, size_t len, char *out)
{
	struct miner	*m = fuzz_net_miner(i);
	const char	*session = "0000000000000000";
	char		 slot[3] = "00";
	size_t		 k, o = 0;

	if (m != NULL && m->session[0] != '\0')
		session = m->session;
	if (m != NULL && m->slot >= 0)
		snprintf(slot, sizeof slot, "%02x", m->slot);
	for (k = 0; k < len && o + SLUICE_SESSION_LEN < FUZZ_MINER_MAX; k++) {
		if (p[k] == '%' && k + 1 < len && p[k + 1] == 'S') {
			memcpy(out + o, session, SLUICE_SESSION_LEN);
			o += SLUICE_SESSION_LEN;
			k++;
		} else if (p[k] == '%' && k + 1 < len && p[k + 1] == 'N') {
			memcpy(out + o, slot, 2);
			o += 2;
			k++;
		} else
			out[o++] = (char)p[k];
	}
	return o;
}

/* One input: a few miners' sessions, then every miner hangs up. */
extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char	 buf[FUZZ_MINER_MAX];
	size_t		 off[FUZZ_NET_CHUNKS + 1], n;
	uint8_t		 flags;
	int		 i, k, nminers, open[FUZZ_NET_MINERS] = { 0 };

	if (len < FUZZ_MINER_HDR)
		return 0;
	fuzz_input(data, len);
	flags = data[0];
	nminers = 1 + (flags & 3) % 3;
	fuzz_net_verbose(flags & 0x80 ? 2 : 0);
	fuzz_net_pool_reject(flags & 0x20);
	fuzz_net_miner_reading(!(flags & 0x40));
	for (i = 0; i < nminers; i++)
		open[i] = fuzz_net_miner_open(i, fuzz_miner_ips[i]) == 0;
	fuzz_net_settle();

	fuzz_net_cut(data + 2, len - FUZZ_MINER_HDR, off);
	for (k = 0; k < FUZZ_NET_CHUNKS; k++) {
		if (off[k + 1] == off[k])
			continue;
		i = (data[1] >> (2 * k) & 3) % nminers;
		if (!open[i])
			continue;
		n = fuzz_miner_subst(i, data + FUZZ_MINER_HDR + off[k],
		    off[k + 1] - off[k], buf);
		fuzz_net_miner_write(i, buf, n);
		fuzz_net_settle();
	}
	if (flags & 0x04) {
		fuzz_net_pool_job("fz-2");
		fuzz_net_settle();
	}
	if (flags & 0x08) {
		fuzz_net_pool_close_all();
		fuzz_net_settle();
	}
	if (flags & 0x10) {
		fuzz_net_tick(601);
		fuzz_net_settle();
	}
	if (data[5] & 0x01) {
		fuzz_net_miner_reading(1);
		fuzz_net_api_get("/1/miners");
		fuzz_net_api_get("/1/workers");
		fuzz_net_api_get("/1/summary");
		fuzz_net_api_get("/metrics");
	}

	/* Hang up, answer what is pending, then back to jobs fz-0, fz-1. */
	fuzz_net_miner_reading(1);
	fuzz_net_pool_reject(0);
	fuzz_net_miner_close_all();
	fuzz_net_settle();
	if (fuzz_net_pool_count() != 1 || !upstream_is_up(upstream_first()))
		fuzz_fail("the upstream is not logged in after the input "
		    "(%d pool connections)", fuzz_net_pool_count());
	fuzz_net_pool_job("fz-0");
	fuzz_net_pool_job(FUZZ_NET_JOB_ID);
	fuzz_net_settle();
	fuzz_net_check_idle();
	fuzz_net_verbose(0);
	return 0;
}
