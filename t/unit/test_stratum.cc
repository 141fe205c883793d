/*
 * test_stratum.cc: unit tests for src/stratum.cc, the wire format helpers:
 * target and difficulty math, hex checks, request ids and reply lines.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "job.h"
#include "stratum.h"

TestSuite(stratum);

/* Write v as the lower-case hex of its 8 little-endian bytes. */
static void
le64_hex(uint64_t v, char out[17])
{
	int	i;

	for (i = 0; i < 8; i++)
		snprintf(out + i * 2, 3, "%02x", (unsigned)((v >> (8 * i)) & 0xff));
	out[16] = '\0';
}

/* Build a 64-hex share result whose last 8 bytes are r, little-endian. */
static void
result_hex(uint64_t r, char out[65])
{
	memset(out, '0', 48);
	le64_hex(r, out + 48);
	out[64] = '\0';
}

/* The DESIGN.md formula for an 8 hex char target, computed here. */
static uint64_t
ref_diff32(uint32_t t)
{
	uint64_t	target64;

	if (t == 0)
		return 0;
	target64 = UINT64_MAX / (0xFFFFFFFFULL / t);
	return UINT64_MAX / target64;
}

/* Relative error of got against want, in parts per million. */
static uint64_t
ppm_off(uint64_t got, uint64_t want)
{
	uint64_t	d = got > want ? got - want : want - got;

	return (uint64_t)((long double)d * 1000000.0L / (long double)want);
}

Test(stratum, target_diff_b88d0600_is_10000)
{
	cr_assert_eq(stratum_target_diff("b88d0600", 8), 10000,
	    "b88d0600 -> %" PRIu64, stratum_target_diff("b88d0600", 8));
}

Test(stratum, target_diff_upper_case_hex)
{
	cr_assert_eq(stratum_target_diff("B88D0600", 8), 10000);
}

Test(stratum, target_diff_c5a70000_about_100000)
{
	uint64_t	d = stratum_target_diff("c5a70000", 8);

	cr_assert(d >= 99000 && d <= 101000, "c5a70000 -> %" PRIu64, d);
	cr_assert_eq(d, ref_diff32(0x0000a7c5), "c5a70000 -> %" PRIu64
	    " want %" PRIu64, d, ref_diff32(0x0000a7c5));
}

Test(stratum, target_diff_zero_target_no_crash)
{
	cr_assert_eq(stratum_target_diff("00000000", 8), 0);
}

Test(stratum, target_diff_ffffffff_is_1)
{
	cr_assert_eq(stratum_target_diff("ffffffff", 8), 1);
}

Test(stratum, target_diff_is_little_endian)
{
	/* 0x00068db8 little-endian; the big-endian reading would be huge. */
	cr_assert_eq(stratum_target_diff("00068db8", 8), ref_diff32(0xb88d0600));
	cr_assert_neq(stratum_target_diff("00068db8", 8), 10000);
}

Test(stratum, target_diff_64bit)
{
	char	hex[17];

	le64_hex(UINT64_MAX / 5000, hex);
	cr_assert_eq(stratum_target_diff(hex, 16), 5000, "%s -> %" PRIu64,
	    hex, stratum_target_diff(hex, 16));

	le64_hex(UINT64_MAX / 123456789, hex);
	cr_assert_eq(stratum_target_diff(hex, 16), 123456789);
}

Test(stratum, target_diff_64bit_zero_and_max)
{
	cr_assert_eq(stratum_target_diff("0000000000000000", 16), 0);
	cr_assert_eq(stratum_target_diff("ffffffffffffffff", 16), 1);
}

Test(stratum, target_diff_bad_length)
{
	cr_assert_eq(stratum_target_diff("b88d060", 7), 0);
	cr_assert_eq(stratum_target_diff("b88d060000", 10), 0);
	cr_assert_eq(stratum_target_diff("", 0), 0);
}

Test(stratum, target_diff_not_hex)
{
	cr_assert_eq(stratum_target_diff("b88d06zz", 8), 0);
	cr_assert_eq(stratum_target_diff("xyzxyzxy", 8), 0);
	cr_assert_eq(stratum_target_diff("b88d0600b88d06-0", 16), 0);
}

Test(stratum, diff_target_10000)
{
	char	out[9];

	memset(out, 'X', sizeof(out));
	stratum_diff_target(10000, out);
	cr_assert_str_eq(out, "b88d0600");
}

Test(stratum, diff_target_upper_32_bits_le)
{
	char		out[9], want[9];
	uint64_t	diffs[] = { 2, 5000, 100000, 1000000, 123456789 };
	size_t		i;
	uint32_t	hi;

	for (i = 0; i < sizeof(diffs) / sizeof(diffs[0]); i++) {
		hi = (uint32_t)((UINT64_MAX / diffs[i]) >> 32);
		snprintf(want, sizeof(want), "%02x%02x%02x%02x",
		    hi & 0xff, (hi >> 8) & 0xff, (hi >> 16) & 0xff, hi >> 24);
		stratum_diff_target(diffs[i], out);
		cr_assert_str_eq(out, want, "diff %" PRIu64 ": %s, want %s",
		    diffs[i], out, want);
	}
}

Test(stratum, diff_target_round_trip)
{
	char		out[9];
	uint64_t	diffs[] = { 5000, 10000, 100000, 1000000 };
	uint64_t	got;
	size_t		i;

	for (i = 0; i < sizeof(diffs) / sizeof(diffs[0]); i++) {
		stratum_diff_target(diffs[i], out);
		cr_assert_eq(strlen(out), 8);
		got = stratum_target_diff(out, 8);
		/* within 0.1 % */
		cr_assert(ppm_off(got, diffs[i]) <= 1000,
		    "diff %" PRIu64 " -> %s -> %" PRIu64, diffs[i], out, got);
	}
	stratum_diff_target(10000, out);
	cr_assert_eq(stratum_target_diff(out, 8), 10000);
}

Test(stratum, diff_target_0_and_1)
{
	char	out[9];

	stratum_diff_target(0, out);
	cr_assert_str_eq(out, "ffffffff");
	stratum_diff_target(1, out);
	cr_assert_str_eq(out, "ffffffff");
}

Test(stratum, result_diff)
{
	char	res[65];

	result_hex(UINT64_MAX / 10000, res);
	cr_assert_eq(stratum_result_diff(res), 10000, "%s -> %" PRIu64, res,
	    stratum_result_diff(res));

	result_hex(1, res);
	cr_assert_eq(stratum_result_diff(res), UINT64_MAX);

	result_hex(UINT64_MAX, res);
	cr_assert_eq(stratum_result_diff(res), 1);

	result_hex(0x0123456789abcdefULL, res);
	cr_assert_eq(stratum_result_diff(res), UINT64_MAX / 0x0123456789abcdefULL);
}

Test(stratum, result_diff_uses_last_8_bytes_only)
{
	char	res[65];

	result_hex(UINT64_MAX / 5000, res);
	/* the first 24 bytes do not matter */
	memset(res, 'f', 48);
	cr_assert_eq(stratum_result_diff(res), 5000);
}

Test(stratum, result_diff_is_little_endian)
{
	char	res[65];

	/* LE r = 0x0100000000000000 (last byte 01): diff 255 */
	result_hex(0x0100000000000000ULL, res);
	cr_assert_str_eq(res + 48, "0000000000000001");
	cr_assert_eq(stratum_result_diff(res), UINT64_MAX / 0x0100000000000000ULL);
}

Test(stratum, result_diff_zero)
{
	char	res[65];

	result_hex(0, res);
	cr_assert_eq(stratum_result_diff(res), UINT64_MAX);
}

Test(stratum, is_hex)
{
	cr_assert_eq(stratum_is_hex("deadbeef", 8), 1);
	cr_assert_eq(stratum_is_hex("DEADBEEF", 8), 1);
	cr_assert_eq(stratum_is_hex("0123456789abcdefABCDEF", 22), 1);
	cr_assert_eq(stratum_is_hex("deadbeeg", 8), 0);
	cr_assert_eq(stratum_is_hex("dead beef", 9), 0);
	cr_assert_eq(stratum_is_hex("-1", 2), 0);
	cr_assert_eq(stratum_is_hex("0x12", 4), 0);
}

Test(stratum, is_hex_checks_only_len_chars)
{
	/* only the first len characters are looked at */
	cr_assert_eq(stratum_is_hex("deadbeefXYZ", 8), 1);
}

Test(stratum, is_hex_short_string)
{
	/* fewer than len characters before the NUL: not hex */
	cr_assert_eq(stratum_is_hex("dead", 8), 0);
}

Test(stratum, nonce_byte3)
{
	cr_assert_eq(stratum_nonce_byte3("deadbe2a"), 0x2a);
	cr_assert_eq(stratum_nonce_byte3("000000ff"), 0xff);
	cr_assert_eq(stratum_nonce_byte3("ffffff00"), 0x00);
	cr_assert_eq(stratum_nonce_byte3("DEADBEEF"), 0xef);
}

Test(stratum, nonce_byte3_invalid)
{
	cr_assert_eq(stratum_nonce_byte3("deadbezz"), -1);
	cr_assert_eq(stratum_nonce_byte3("xxadbe2a"), -1);
}

Test(stratum, hex_byte)
{
	char	out[3];

	out[2] = '\0';
	stratum_hex_byte(0xff, out);
	cr_assert_str_eq(out, "ff");
	stratum_hex_byte(0x2a, out);
	cr_assert_str_eq(out, "2a");
	stratum_hex_byte(0, out);
	cr_assert_str_eq(out, "00");
	stratum_hex_byte(0xab, out);
	cr_assert_str_eq(out, "ab");
}

Test(stratum, reqid_integer)
{
	char	out[SLUICE_REQID_MAX];
	json_t	*j = json_integer(7);

	cr_assert_eq(stratum_reqid(j, out), 0);
	cr_assert_str_eq(out, "7");
	json_decref(j);
}

Test(stratum, reqid_string)
{
	char	out[SLUICE_REQID_MAX];
	json_t	*j = json_string("abc");

	cr_assert_eq(stratum_reqid(j, out), 0);
	cr_assert_str_eq(out, "\"abc\"");
	json_decref(j);
}

Test(stratum, reqid_null)
{
	char	out[SLUICE_REQID_MAX];
	json_t	*j = json_null();

	cr_assert_eq(stratum_reqid(j, out), 0);
	cr_assert_str_eq(out, "null");
	json_decref(j);
}

Test(stratum, reqid_too_long)
{
	char	out[SLUICE_REQID_MAX];
	char	s[101];
	json_t	*j;

	memset(s, 'a', 100);
	s[100] = '\0';
	j = json_string(s);
	cr_assert_eq(stratum_reqid(j, out), -1);
	json_decref(j);
}

Test(stratum, error_line_exact)
{
	char		buf[512];
	const char	*want = "{\"id\":7,\"jsonrpc\":\"2.0\",\"error\":"
	    "{\"code\":-1,\"message\":\"Low difficulty share\"}}\n";
	size_t		n;

	n = stratum_error_line(buf, sizeof(buf), "7", "Low difficulty share");
	cr_assert_eq(n, strlen(want), "length %zu, want %zu", n, strlen(want));
	cr_assert_str_eq(buf, want);
}

Test(stratum, error_line_string_id)
{
	char	buf[512];
	size_t	n;

	n = stratum_error_line(buf, sizeof(buf), "\"x1\"", "Bad gateway");
	cr_assert_str_eq(buf, "{\"id\":\"x1\",\"jsonrpc\":\"2.0\",\"error\":"
	    "{\"code\":-1,\"message\":\"Bad gateway\"}}\n");
	cr_assert_eq(n, strlen(buf));
}

Test(stratum, status_line_exact)
{
	char		buf[512];
	const char	*want = "{\"id\":3,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"KEEPALIVED\"}}\n";
	size_t		n;

	n = stratum_status_line(buf, sizeof(buf), "3", "KEEPALIVED");
	cr_assert_eq(n, strlen(want), "length %zu, want %zu", n, strlen(want));
	cr_assert_str_eq(buf, want);
}

Test(stratum, error_line_escapes_message)
{
	char		buf[512];
	const char	*msg = "bad \"quote\" and back\\slash\tand tab";
	json_t		*root, *err, *m;
	json_error_t	 je;
	size_t		 n;

	n = stratum_error_line(buf, sizeof(buf), "9", msg);
	cr_assert_gt(n, 0);
	cr_assert_eq(n, strlen(buf));
	cr_assert_eq(buf[n - 1], '\n');
	root = json_loadb(buf, n, 0, &je);
	cr_assert_not_null(root, "line does not parse: %s: %s", buf, je.text);
	cr_assert_eq(json_integer_value(json_object_get(root, "id")), 9);
	err = json_object_get(root, "error");
	cr_assert(json_is_object(err));
	cr_assert_eq(json_integer_value(json_object_get(err, "code")), -1);
	m = json_object_get(err, "message");
	cr_assert(json_is_string(m));
	cr_assert_str_eq(json_string_value(m), msg);
	json_decref(root);
}

Test(stratum, status_line_ok)
{
	char	buf[512];
	size_t	n;

	n = stratum_status_line(buf, sizeof(buf), "\"a\"", "OK");
	cr_assert_str_eq(buf, "{\"id\":\"a\",\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"OK\"}}\n");
	cr_assert_eq(n, strlen(buf));
}

Test(stratum, line_cap_too_small)
{
	char	buf[16];

	memset(buf, 0, sizeof(buf));
	cr_assert_eq(stratum_error_line(buf, sizeof(buf), "7",
	    "Low difficulty share"), 0);
	cr_assert_eq(stratum_status_line(buf, sizeof(buf), "3", "KEEPALIVED"),
	    0);
}

/*
 * A long pool error text (they pass through verbatim) made of multi-byte
 * UTF-8 characters must still give a line that parses: any shortening may
 * not cut a character in half.
 */
Test(stratum, error_line_long_utf8_message)
{
	char		 msg[2 * 600 + 1], buf[4096];
	const char	*got;
	json_t		*root;
	json_error_t	 je;
	size_t		 i, n;

	for (i = 0; i < 600; i++)
		memcpy(msg + 2 * i, "\xc3\xa9", 2);	/* U+00E9 */
	msg[2 * 600] = '\0';
	n = stratum_error_line(buf, sizeof(buf), "5", msg);
	cr_assert_gt(n, 0);
	cr_assert_eq(buf[n - 1], '\n');
	root = json_loadb(buf, n, 0, &je);
	cr_assert_not_null(root, "line does not parse: %s", je.text);
	got = json_string_value(json_object_get(json_object_get(root, "error"),
	    "message"));
	cr_assert_not_null(got);
	cr_assert_gt(strlen(got), 0);
	cr_assert_eq(strncmp(got, msg, strlen(got)), 0,
	    "message is not a prefix of the original");
	json_decref(root);
}

Test(stratum, random_hex)
{
	char	a[SLUICE_SESSION_LEN + 1], b[SLUICE_SESSION_LEN + 1];
	size_t	i;

	memset(a, 'X', sizeof(a));
	memset(b, 'X', sizeof(b));
	stratum_random_hex(a, SLUICE_SESSION_LEN);
	stratum_random_hex(b, SLUICE_SESSION_LEN);
	cr_assert_eq(a[SLUICE_SESSION_LEN], '\0');
	cr_assert_eq(b[SLUICE_SESSION_LEN], '\0');
	cr_assert_eq(strlen(a), SLUICE_SESSION_LEN);
	for (i = 0; i < SLUICE_SESSION_LEN; i++)
		cr_assert((a[i] >= '0' && a[i] <= '9') ||
		    (a[i] >= 'a' && a[i] <= 'f'), "char %zu of %s", i, a);
	cr_assert_str_neq(a, b);
}

/*
 * The fast-path scanner: whatever it accepts, jansson accepts too, with
 * the same member values; whatever is unusual, it leaves to jansson.
 */
static const char *scan_inputs[] = {
	"{\"id\":2,\"jsonrpc\":\"2.0\",\"method\":\"submit\",\"params\":"
	    "{\"id\":\"0123456789abcdef\",\"job_id\":\"j1\",\"nonce\":"
	    "\"0000002a\",\"result\":\"00\",\"algo\":\"rx/0\"}}",
	"{\"id\":7,\"jsonrpc\":\"2.0\",\"error\":null,\"result\":"
	    "{\"status\":\"OK\"}}",
	"{\"id\":8,\"jsonrpc\":\"2.0\",\"error\":{\"code\":-1,\"message\":"
	    "\"Low difficulty share\"},\"result\":null}",
	"  { \"id\" : \"abc\" , \"method\" : \"keepalived\" , \"params\" : { } }  ",
	"{}",
	"{\"a\":true,\"b\":false,\"c\":null,\"d\":-12}",
	"{\"method\":\"login\",\"params\":{\"login\":\"W\",\"algo\":"
	    "[\"rx/0\", \"cn/r\"]}}",
	"{\"a\":[ ]}",
	/* left to jansson: */
	"{\"a\":[\"x\",]}",
	"{\"a\":[\"x\" \"y\"]}",
	"{\"a\":[\"x\\n\"]}",
	"{\"a\":\"x\\\"y\"}",
	"{\"a\":1.5}",
	"{\"a\":1e3}",
	"{\"a\":01}",
	"{\"a\":-}",
	"{\"a\":[1,2]}",
	"{\"a\":{\"b\":{}}}",
	"{\"a\":{},\"b\":{}}",
	"{\"a\":1,\"a\":2}",
	"{\"a\":1}x",
	"{\"a\":1,}",
	"{\"a\" 1}",
	"{\"\xc3\xa9\":1}",
	"{\"a\":\"\xc3\xa9\"}",
	"{\"a\":1234567890123456789012}",
	"{\"a\":tru}",
	"[1]",
	"\"s\"",
	"",
	"{",
	"{\"a\":\"unterminated}",
};

/* Compare a scanned object with jansson's reading of the same text. */
static void
scan_compare(const struct jobj *o, json_t *j)
{
	const struct jmember	*m;
	json_t			*v;
	char			 key[64];
	int			 i;

	cr_assert_eq((size_t)o->n, json_object_size(j));
	for (i = 0; i < o->n; i++) {
		m = &o->m[i];
		snprintf(key, sizeof key, "%.*s", (int)m->klen, m->key);
		v = json_object_get(j, key);
		cr_assert_not_null(v, "key %s", key);
		switch (m->type) {
		case 's':
			cr_assert(json_is_string(v));
			cr_assert_eq(json_string_length(v), m->vlen);
			cr_assert_eq(memcmp(json_string_value(v), m->val, m->vlen),
			    0);
			break;
		case 'n':
			cr_assert(json_is_integer(v));
			cr_assert_eq(json_integer_value(v),
			    strtoll(m->val, NULL, 10));
			break;
		case 'z':
			cr_assert(json_is_null(v));
			break;
		case 't':
			cr_assert(json_is_true(v));
			break;
		case 'f':
			cr_assert(json_is_false(v));
			break;
		case 'o':
			cr_assert(json_is_object(v));
			break;
		case 'a': {
			const char	*pos = NULL, *e;
			size_t		 en, k = 0;

			cr_assert(json_is_array(v));
			while (stratum_array_next(m, &pos, &e, &en) == 0) {
				json_t *x = json_array_get(v, k++);
				cr_assert(json_is_string(x));
				cr_assert_eq(json_string_length(x), en);
				cr_assert_eq(memcmp(json_string_value(x), e, en), 0);
			}
			cr_assert_eq(k, json_array_size(v));
			break;
		}
		default:
			cr_assert_fail("type %c", m->type);
		}
	}
}

Test(stratum, scan_agrees_with_jansson)
{
	struct jflat	 f;
	json_error_t	 je;
	json_t		*j;
	char		*line;
	size_t		 i, len, accepted = 0;
	int		 k;

	for (i = 0; i < sizeof scan_inputs / sizeof scan_inputs[0]; i++) {
		len = strlen(scan_inputs[i]);
		line = strdup(scan_inputs[i]);
		if (stratum_scan(line, len, &f) == 0) {
			accepted++;
			/* Scanning leaves the line untouched. */
			cr_assert_str_eq(line, scan_inputs[i]);
			j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
			cr_assert_not_null(j, "scanned but jansson refuses: %s",
			    scan_inputs[i]);
			scan_compare(&f.top, j);
			for (k = 0; k < f.top.n; k++) {
				if (f.top.m[k].type != 'o')
					continue;
				char key[64];
				snprintf(key, sizeof key, "%.*s",
				    (int)f.top.m[k].klen, f.top.m[k].key);
				scan_compare(&f.sub, json_object_get(j, key));
			}
			json_decref(j);
		}
		free(line);
	}
	cr_assert_eq(accepted, 8, "the eight plain shapes scan, the rest do not");
}

Test(stratum, scan_terminate_and_member)
{
	char		 line[] = "{\"id\":3,\"method\":\"submit\",\"params\":"
	    "{\"job_id\":\"j9\",\"nonce\":\"deadbeef\"}}";
	struct jflat	 f;

	cr_assert_eq(stratum_scan(line, strlen(line), &f), 0);
	cr_assert(stratum_is(stratum_member(&f.top, "method"), "submit"));
	cr_assert(!stratum_is(stratum_member(&f.top, "method"), "subm"));
	cr_assert_null(stratum_member(&f.top, "nope"));
	stratum_terminate(&f);
	cr_assert_str_eq(stratum_member(&f.sub, "job_id")->val, "j9");
	cr_assert_str_eq(stratum_member(&f.sub, "nonce")->val, "deadbeef");
}

/*
 * Random mutations of the plain shapes (bytes replaced, inserted and
 * deleted from JSON's own alphabet): whatever still scans must parse with
 * jansson to the same members. Seeded, so a failure repeats.
 */
Test(stratum, scan_mutations_agree_with_jansson)
{
	static const char	 alphabet[] = "{}[]\",:\\ 0123456789-.eEtrufalsn"
	    "x\t\r\x01\xc3";
	char			 buf[512], line[512];
	struct jflat		 f;
	json_error_t		 je;
	json_t			*j;
	uint32_t		 seed = 12345;
	size_t			 len, pos, i, k, src;
	int			 round, n, accepted = 0;

	for (round = 0; round < 40000; round++) {
		src = (size_t)round % 8;
		len = strlen(scan_inputs[src]);
		memcpy(buf, scan_inputs[src], len);
		n = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 3;
		for (k = 0; k < (size_t)n; k++) {
			seed = seed * 1103515245 + 12345;
			pos = len == 0 ? 0 : (seed >> 8) % len;
			char c = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
			switch ((seed >> 4) % 3) {
			case 0:
				if (len > 0)
					buf[pos] = c;
				break;
			case 1:
				if (len + 1 < sizeof buf) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = c;
					len++;
				}
				break;
			default:
				if (len > 0) {
					memmove(buf + pos, buf + pos + 1,
					    len - pos - 1);
					len--;
				}
			}
		}
		memcpy(line, buf, len);
		if (stratum_scan(line, len, &f) != 0)
			continue;
		accepted++;
		j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
		cr_assert_not_null(j, "scanned but jansson refuses: %.*s",
		    (int)len, line);
		scan_compare(&f.top, j);
		for (i = 0; i < (size_t)f.top.n; i++) {
			if (f.top.m[i].type == 'o') {
				char key[64];
				snprintf(key, sizeof key, "%.*s",
				    (int)f.top.m[i].klen, f.top.m[i].key);
				scan_compare(&f.sub, json_object_get(j, key));
			}
		}
		json_decref(j);
	}
	cr_assert_gt(accepted, 100, "the mutations hardly ever scanned");
}

/* Found by fuzz_escape: any bytes in, valid JSON out (\ufffd for junk). */
Test(stratum, error_line_invalid_utf8_still_json)
{
	static const char	*msgs[] = {
		"\xff", "a\xd0", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"ok \xe2\x82\xac ok", "\x80\x80", "\xe2\x82",
	};
	char			 buf[1024], big[256];
	json_error_t		 je;
	json_t			*j;
	size_t			 i, n;

	for (i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		n = stratum_error_line(buf, sizeof buf, "1", msgs[i]);
		cr_assert_gt(n, 0);
		j = json_loadb(buf, n, 0, &je);
		cr_assert_not_null(j, "message %zu: %s", i, je.text);
		json_decref(j);
	}
	/* The valid euro sign passes through untouched. */
	n = stratum_error_line(buf, sizeof buf, "1", msgs[5]);
	cr_assert(strstr(buf, "ok \xe2\x82\xac ok") != NULL);
	/* The reproducer from the Lua path: 127 x U+0416 and a cut byte. */
	for (i = 0; i < 127; i++)
		memcpy(big + 2 * i, "\xd0\x96", 2);
	big[254] = '\xd0';
	big[255] = '\0';
	n = stratum_error_line(buf, sizeof buf, "1", big);
	j = json_loadb(buf, n, 0, &je);
	cr_assert_not_null(j, "%s", je.text);
	json_decref(j);
}

/* What stratum_frame() handed up: the lines, joined by '|'. */
struct frame_seen {
	char	 lines[256];
	int	 n;
	int	 stop_after;	/* return -1 after this many; 0: never */
};

/* A line callback that records each line. */
static int
frame_take(void *arg, char *line, size_t len)
{
	struct frame_seen	*s = (struct frame_seen *)arg;
	size_t			 have = strlen(s->lines);

	cr_assert_eq(line[len], '\0', "a line is not NUL-terminated");
	snprintf(s->lines + have, sizeof s->lines - have, "%s%.*s",
	    s->n > 0 ? "|" : "", (int)len, line);
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after ? -1 : 0;
}

Test(stratum, frame_lines_in_place_partial_kept)
{
	struct stratum_part	 part = { NULL, 0 };
	struct frame_seen	 s = { "", 0, 0 };
	static char		 buf[STRATUM_RBUF];
	uint64_t		 rx = 0;
	size_t			 have;

	strcpy(buf, "a\nbb\r\n\n\r\nccc");
	cr_assert_eq(stratum_frame(&part, buf, strlen(buf), &rx, frame_take,
	    &s), STRATUM_FRAMED);
	cr_assert_str_eq(s.lines, "a|bb");
	cr_assert_eq(rx, 2 + 4 + 1 + 2);
	cr_assert_eq(part.len, 3);
	cr_assert(part.buf != NULL && memcmp(part.buf, "ccc", 3) == 0);

	/* The next read goes after the partial line. */
	have = stratum_part_take(&part, buf);
	cr_assert_eq(have, 3);
	cr_assert_null(part.buf);
	cr_assert_eq(part.len, 0);
	memcpy(buf + have, "d\ne\n", 4);
	cr_assert_eq(stratum_frame(&part, buf, have + 4, &rx, frame_take, &s),
	    STRATUM_FRAMED);
	cr_assert_str_eq(s.lines, "a|bb|cccd|e");
	cr_assert_null(part.buf, "nothing to keep, nothing allocated");
	cr_assert_eq(rx, 9 + 5 + 2);
	cr_assert_eq(stratum_part_take(&part, buf), 0);
}

Test(stratum, frame_stops_when_the_callback_does)
{
	struct stratum_part	 part = { NULL, 0 };
	struct frame_seen	 s = { "", 0, 1 };
	char			 buf[64];
	uint64_t		 rx = 0;

	strcpy(buf, "one\ntwo\nthr");
	cr_assert_eq(stratum_frame(&part, buf, strlen(buf), &rx, frame_take,
	    &s), STRATUM_STOPPED);
	cr_assert_str_eq(s.lines, "one");
	cr_assert_eq(rx, 4, "only the line handed up is counted");
	cr_assert_null(part.buf, "a stopped connection keeps nothing");
}

Test(stratum, frame_line_limit)
{
	struct stratum_part	 part = { NULL, 0 };
	struct frame_seen	 s = { "", 0, 0 };
	static char		 buf[STRATUM_RBUF];
	uint64_t		 rx = 0;

	/* A line of exactly the limit passes; one byte more does not. */
	memset(buf, 'x', SLUICE_MAX_LINE);
	buf[SLUICE_MAX_LINE] = '\n';
	cr_assert_eq(stratum_frame(&part, buf, SLUICE_MAX_LINE + 1, &rx,
	    frame_take, &s), STRATUM_FRAMED);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(rx, SLUICE_MAX_LINE + 1);

	rx = 0;
	memset(buf, 'x', SLUICE_MAX_LINE + 1);
	buf[SLUICE_MAX_LINE + 1] = '\n';
	cr_assert_eq(stratum_frame(&part, buf, SLUICE_MAX_LINE + 2, &rx,
	    frame_take, &s), STRATUM_TOO_LONG);
	cr_assert_eq(s.n, 1, "a line too long was handed up");
	cr_assert_eq(rx, SLUICE_MAX_LINE + 2, "its bytes are counted");
	cr_assert_null(part.buf);

	/* A partial line: kept up to the limit, too long past it. */
	rx = 0;
	memset(buf, 'y', SLUICE_MAX_LINE + 1);
	cr_assert_eq(stratum_frame(&part, buf, SLUICE_MAX_LINE, &rx,
	    frame_take, &s), STRATUM_FRAMED);
	cr_assert_eq(part.len, SLUICE_MAX_LINE);
	cr_assert_eq(rx, 0, "a kept partial line is counted when framed");
	stratum_part_free(&part);
	stratum_part_free(&part);
	cr_assert_null(part.buf);
	cr_assert_eq(stratum_frame(&part, buf, SLUICE_MAX_LINE + 1, &rx,
	    frame_take, &s), STRATUM_TOO_LONG);
	cr_assert_eq(rx, SLUICE_MAX_LINE + 1);
	cr_assert_null(part.buf);
	cr_assert_eq(s.n, 1);
}

/* A line callback that records the last line's length. */
static int
frame_len(void *arg, char *line, size_t len)
{
	(void)line;
	*(size_t *)arg = len;
	return 0;
}

Test(stratum, frame_line_with_a_nul_byte)
{
	struct stratum_part	 part = { NULL, 0 };
	char			 buf[16];
	uint64_t		 rx = 0;
	size_t			 seen = 0;

	memcpy(buf, "ab\0cd\n", 6);
	cr_assert_eq(stratum_frame(&part, buf, 6, &rx, frame_len, &seen),
	    STRATUM_FRAMED);
	cr_assert_eq(seen, 5, "the length, not strlen, is the line's");
}
