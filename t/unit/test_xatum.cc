/*
 * test_xatum.cc: unit tests for src/xatum.cc: decoding Xatum's messages
 * (plain lines on the in-place scanner, others through jansson, the same
 * answers either way) and rendering its answers and job pushes.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "job.h"
#include "xatum.h"

TestSuite(xatum);

/* Decode a copy of a line (the decoder may write into it). */
static void
decode(const char *line, struct xatum_msg *x)
{
	char	 buf[4096];

	snprintf(buf, sizeof buf, "%s", line);
	xatum_decode(buf, strlen(buf), x);
}

Test(xatum, handshake_and_ping)
{
	struct xatum_msg	 x;

	decode("{\"id\":\"1\",\"method\":\"handshake\",\"params\":"
	    "{\"version\":\"1.0.0\",\"protocol\":\"xatum/1.0\","
	    "\"agent\":\"rig/2\"}}", &x);
	cr_assert_eq(x.kind, XATUM_HANDSHAKE);
	cr_assert_str_eq(x.reqid, "\"1\"");
	cr_assert_str_eq(x.agent, "rig/2");
	decode("{\"id\": \"4\", \"method\": \"ping\"}", &x);
	cr_assert_eq(x.kind, XATUM_PING);
	cr_assert_str_eq(x.reqid, "\"4\"");
	decode("{\"id\":7,\"method\":\"ping\",\"params\":null}", &x);
	cr_assert_eq(x.kind, XATUM_PING);
	cr_assert_str_eq(x.reqid, "7");
}

Test(xatum, authorize)
{
	struct xatum_msg	 x;

	decode("{\"id\":\"2\",\"method\":\"authorize\",\"params\":"
	    "{\"address\":\"tos1abc\",\"worker\":\"rig1\"}}", &x);
	cr_assert_eq(x.kind, XATUM_AUTHORIZE);
	cr_assert_str_eq(x.address, "tos1abc");
	cr_assert_str_eq(x.worker, "rig1");
	cr_assert_null(x.password);
	/* An escape sends it to jansson; same answer. */
	decode("{\"id\":\"2\",\"method\":\"authorize\",\"params\":"
	    "{\"address\":\"tos1\\u0061bc\",\"worker\":\"rig1\","
	    "\"password\":\"x\"}}", &x);
	cr_assert_eq(x.kind, XATUM_AUTHORIZE);
	cr_assert_str_eq(x.address, "tos1abc");
	cr_assert_str_eq(x.password, "x");
	/* Wrong types: NULL, not a crash. */
	decode("{\"id\":\"2\",\"method\":\"authorize\",\"params\":"
	    "{\"address\":5,\"worker\":[\"a\"]}}", &x);
	cr_assert_eq(x.kind, XATUM_AUTHORIZE);
	cr_assert_null(x.address);
	cr_assert_null(x.worker);
}

Test(xatum, submit_hex_prefixes)
{
	struct xatum_msg	 x;
	static const char	 res[] = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	char			 line[512];

	snprintf(line, sizeof line, "{\"id\":\"3\",\"method\":\"submit\","
	    "\"params\":{\"job_id\":\"job_123\",\"nonce\":\"0x1a2b3c4d\","
	    "\"result\":\"0x%s\"}}", res);
	decode(line, &x);
	cr_assert_eq(x.kind, XATUM_SUBMIT);
	cr_assert_str_eq(x.job_id, "job_123");
	cr_assert_str_eq(x.nonce, "1a2b3c4d");
	cr_assert_str_eq(x.result, res);
	/* Without the prefix too. */
	snprintf(line, sizeof line, "{\"id\":\"3\",\"method\":\"submit\","
	    "\"params\":{\"job_id\":\"j\",\"nonce\":\"1a2b3c4d\","
	    "\"result\":\"%s\"}}", res);
	decode(line, &x);
	cr_assert_str_eq(x.nonce, "1a2b3c4d");
	cr_assert_str_eq(x.result, res);
	/* No result: NULL (miner.cc answers it). Too long: NULL. */
	decode("{\"id\":\"3\",\"method\":\"submit\",\"params\":"
	    "{\"job_id\":\"j\",\"nonce\":\"0x1a2b3c4d00\"}}", &x);
	cr_assert_eq(x.kind, XATUM_SUBMIT);
	cr_assert_null(x.result);
	cr_assert_null(x.nonce);
}

Test(xatum, bad_and_unknown)
{
	struct xatum_msg	 x;

	decode("not json", &x);
	cr_assert_eq(x.kind, XATUM_BAD);
	cr_assert_str_eq(x.reqid, "null");
	decode("[1,2]", &x);
	cr_assert_eq(x.kind, XATUM_BAD);
	decode("{\"id\":\"9\",\"method\":\"getwork\"}", &x);
	cr_assert_eq(x.kind, XATUM_UNKNOWN);
	cr_assert_str_eq(x.reqid, "\"9\"");
	decode("{\"id\":\"9\"}", &x);
	cr_assert_eq(x.kind, XATUM_BAD);
	cr_assert_str_eq(x.reqid, "\"9\"", "a bad line's id is answered");
	decode("{\"id\":{\"a\":1},\"method\":\"ping\"}", &x);
	cr_assert_eq(x.kind, XATUM_BAD);
	/* Known method, params not an object: the fields stay NULL. */
	decode("{\"id\":\"5\",\"method\":\"submit\",\"params\":[1]}", &x);
	cr_assert_eq(x.kind, XATUM_SUBMIT);
	cr_assert_null(x.job_id);
}

Test(xatum, answers)
{
	char	 buf[512];

	cr_assert_gt(xatum_handshake_line(buf, sizeof buf, "\"1\"",
	    "00112233aabbccdd", 5000), 0);
	cr_assert_str_eq(buf, "{\"id\":\"1\",\"result\":{\"version\":\"1.0.0\","
	    "\"protocol\":\"xatum/1.0\",\"session_id\":\"0x00112233aabbccdd\","
	    "\"difficulty\":5000}}\n");
	xatum_true_line(buf, sizeof buf, "\"2\"");
	cr_assert_str_eq(buf, "{\"id\":\"2\",\"result\":true}\n");
	xatum_pong_line(buf, sizeof buf, "\"4\"");
	cr_assert_str_eq(buf, "{\"id\":\"4\",\"method\":\"pong\"}\n");
	xatum_error_line(buf, sizeof buf, "\"3\"", "Low difficulty share");
	cr_assert_str_eq(buf, "{\"id\":\"3\",\"error\":{\"code\":23,"
	    "\"message\":\"Low difficulty share\"}}\n");
	xatum_error_line(buf, sizeof buf, "null", "say \"hi\"");
	cr_assert_str_eq(buf, "{\"id\":null,\"error\":{\"code\":20,"
	    "\"message\":\"say \\\"hi\\\"\"}}\n");
	cr_assert_eq(xatum_true_line(buf, 5, "\"2\""), 0);
}

Test(xatum, job_push)
{
	char		 blob[153], buf[2048], want[2048];
	const char	*why;
	struct job	*j;
	json_t		*o;
	size_t		 i;

	for (i = 0; i < 152; i++)
		blob[i] = "0123456789abcdef"[i % 16];
	blob[152] = '\0';
	o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s}", "blob", blob, "job_id",
	    "job_123", "target", "b88d0600", "algo", "rx/0", "height", 123456,
	    "seed_hash", "abcd");
	j = job_parse(o, 1, &why);
	json_decref(o);
	cr_assert_not_null(j, "%s", why);
	cr_assert_gt(xatum_job_line(buf, sizeof buf, j, 0x7e, "b88d0600",
	    10000), 0);
	blob[84] = '7';
	blob[85] = 'e';
	snprintf(want, sizeof want, "{\"method\":\"job\",\"result\":{\"id\":"
	    "\"job_123\",\"header_hash\":\"0x%s\",\"target\":\"0xb88d0600\","
	    "\"height\":123456,\"difficulty\":10000,\"clean\":true,"
	    "\"algo\":\"rx/0\",\"seed_hash\":\"abcd\"}}\n", blob);
	cr_assert_str_eq(buf, want);
	/* Valid JSON, whatever the slot. */
	o = json_loads(buf, 0, NULL);
	cr_assert_not_null(o);
	json_decref(o);
	cr_assert_eq(xatum_job_line(buf, 100, j, 1, "b88d0600", 10000), 0);
	job_unref(j);
}
