/*
 * fuzz_api.cc: libFuzzer target for the HTTP API: arbitrary bytes as
 * requests on one connection to the daemon's evhttp server, so
 * api.cc's gate (token, restricted, path, method), every page
 * (summary, workers, miners, upstreams, metrics.cc), the CORS preflight
 * (cors.cc), /1/config (apiconfig.cc: the masked config, a PUT's body
 * unmasked and built as a config; fuzz_api_put stands for main.cc and
 * neither writes nor applies it) and the switch API (switchapi.cc:
 * Basic auth, forms, JSON bodies) run on whatever evhttp makes of them. The daemon is the real one (fuzz_net.cc), with
 * a logged-in upstream and three miners that stay for the whole run:
 * two logged in (one with accepted and rejected shares), one that has
 * not sent anything yet, so every table has rows.
 *
 *	byte 0	bits 0-1  the http section of the live config:
 *		            0 restricted, no token;  1 unrestricted;
 *		            2 restricted, access-token "fuzz-token";
 *		            3 unrestricted with the token
 *		  bit 2     no switch API (else switch.user "fuzz",
 *		            password "fuzz-switch-pass")
 *		  bit 7     log at verbosity 2
 *	bytes 1-3
 *		where the bytes are cut into 4 pieces (fractions of 256);
 *		each is written, then the loop runs until idle
 *	rest	the client's bytes (one or more requests, keep-alive)
 *
 * Then the client hangs up. Every complete answer must be well formed
 * (JSON bodies parse, /metrics is the text format), and the miners must
 * all still be there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "miner.h"
#include "share.h"
#include "upstream.h"

#include "fuzz_net.h"

#define FUZZ_API_HDR	4
#define FUZZ_API_VARIANTS 8
#define FUZZ_API_SWITCH	"\"switch\": {\"user\": \"fuzz\", \"password\": " \
	"\"fuzz-switch-pass\", \"state-file\": \"sluice-fuzz-user-coin.json\"}"

static struct config	*fuzz_api_conf[FUZZ_API_VARIANTS];

static void	 fuzz_api_exit(void);
static void	 fuzz_api_miner(int, const char *, const char *);
static enum apiconfig_result fuzz_api_put(json_t *, struct strlist *,
		     struct strlist *);

/*
 * PUT /1/config's last step, in main.cc's place: build the config as a
 * reload would, then let it go. Writing the file and applying it would
 * change what every later input runs against.
 */
static enum apiconfig_result
fuzz_api_put(json_t *root, struct strlist *errors, struct strlist *warnings)
{
	struct config	*c;

	if ((c = config_build(sl.conf->path, root, errors, warnings)) == NULL)
		return APICONFIG_INVALID;
	config_unref(c);
	return APICONFIG_APPLIED;
}

/* Let go of the config variants (fuzz_net_exit stops the daemon). */
static void
fuzz_api_exit(void)
{
	int	 i;

	for (i = 0; i < FUZZ_API_VARIANTS; i++) {
		config_unref(fuzz_api_conf[i]);
		fuzz_api_conf[i] = NULL;
	}
}

/* Miner i connects from ip and says line (NULL: nothing). */
static void
fuzz_api_miner(int i, const char *ip, const char *line)
{
	if (fuzz_net_miner_open(i, ip) != 0) {
		fprintf(stderr, "fuzz_api: miner %d refused\n", i);
		exit(1);
	}
	if (line != NULL)
		fuzz_net_miner_write(i, line, strlen(line));
	fuzz_net_settle();
}

/* Start the daemon with the API on and give it miners to report. */
extern "C" int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const http[FUZZ_API_VARIANTS / 2] = {
		"",
		", \"restricted\": false",
		", \"access-token\": \"fuzz-token\"",
		", \"access-token\": \"fuzz-token\", \"restricted\": false",
	};
	char		*h;
	struct miner	*m;
	int		 i;

	(void)argc;
	(void)argv;
	fuzz_net_init();
	for (i = 0; i < FUZZ_API_VARIANTS; i++) {
		xasprintf(&h, "{\"enabled\": true, \"host\": \"127.0.0.1\", "
		    "\"port\": %d%s}", fuzz_net_api_port(), http[i & 3]);
		fuzz_api_conf[i] = fuzz_net_load_conf(h, i & 4 ? NULL :
		    FUZZ_API_SWITCH);
		free(h);
	}
	fuzz_net_start(config_ref(fuzz_api_conf[0]));
	apiconfig_set_apply(fuzz_api_put);
	atexit(fuzz_api_exit);

	fuzz_api_miner(0, "127.0.0.1", "{\"id\":1,\"jsonrpc\":\"2.0\","
	    "\"method\":\"login\",\"params\":{\"login\":\"4fuzzWallet+500\","
	    "\"pass\":\"secret-pass\",\"agent\":\"XMRig/6.21.0\","
	    "\"rigid\":\"rig-\\\"one\\\"\",\"algo\":[\"rx/0\"]}}\n");
	fuzz_api_miner(1, "10.0.0.2", "{\"id\":1,\"jsonrpc\":\"2.0\","
	    "\"method\":\"login\",\"params\":{\"login\":\"4fuzzWallet\","
	    "\"pass\":\"x\",\"agent\":\"xmr-stak/2.10\"}}\n");
	fuzz_api_miner(2, "10.0.0.3", NULL);
	/* Shares for the first: accepted, then rejected by the pool. */
	if ((m = fuzz_net_miner(0)) == NULL || m->state != MINER_READY) {
		fprintf(stderr, "fuzz_api: the first miner did not log in\n");
		exit(1);
	}
	for (i = 0; i < 2; i++) {
		char *line;
		fuzz_net_pool_reject(i);
		xasprintf(&line, "{\"id\":%d,\"jsonrpc\":\"2.0\",\"method\":"
		    "\"submit\",\"params\":{\"id\":\"%s\",\"job_id\":\""
		    FUZZ_NET_JOB_ID "\",\"nonce\":\"0000%02x%02x\",\"result\":"
		    "\"5d4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938"
		    "27160000\"}}\n", 2 + i, m->session, i, m->slot & 0xff);
		fuzz_net_miner_write(0, line, strlen(line));
		free(line);
		fuzz_net_settle();
	}
	fuzz_net_pool_reject(0);
	if (miner_count() != 3) {
		fprintf(stderr, "fuzz_api: %zu miners, not 3\n", miner_count());
		exit(1);
	}
	return 0;
}

/* One input: a client's bytes to the API. */
extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t	 off[FUZZ_NET_CHUNKS + 1];
	int	 k;

	if (len < FUZZ_API_HDR)
		return 0;
	fuzz_input(data, len);
	fuzz_net_verbose(data[0] & 0x80 ? 2 : 0);
	fuzz_net_set_conf(fuzz_api_conf[data[0] & 7]);
	fuzz_net_api_open();
	fuzz_net_settle();
	fuzz_net_cut(data + 1, len - FUZZ_API_HDR, off);
	for (k = 0; k < FUZZ_NET_CHUNKS; k++) {
		if (off[k + 1] == off[k])
			continue;
		fuzz_net_api_write((const char *)data + FUZZ_API_HDR + off[k],
		    off[k + 1] - off[k]);
		fuzz_net_settle();
	}
	fuzz_net_api_close();
	fuzz_net_settle();
	fuzz_net_api_check();
	if (miner_count() != 3 || share_inflight() != 0)
		fuzz_fail("after the request: %zu miners, %zu shares in "
		    "flight", miner_count(), share_inflight());
	fuzz_net_verbose(0);
	return 0;
}
