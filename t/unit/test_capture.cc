/*
 * test_capture.cc: the capture's ring (capture.cc) without a daemon:
 * both limits drop the oldest first, passwords are masked unless
 * show-passwords, a refused line is cut with its reason, bytes that are
 * not UTF-8 come out as base64, a narrowing keeps one miner and the pool
 * lines that concern it; base64, the UTF-8 check and the session
 * parser on their own.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "capture.h"
#include "config.h"
#include "stratum.h"

TestSuite(capture);

static struct config	 cap_conf;

/* Start the capture on with these limits. */
static void
cap_begin(size_t messages, size_t max_bytes, int show)
{
	if (sl.base == NULL)
		sl.base = event_base_new();
	memset(&cap_conf, 0, sizeof cap_conf);
	cap_conf.capture.enabled = 1;
	cap_conf.capture.messages = messages;
	cap_conf.capture.max_bytes = max_bytes;
	cap_conf.capture.show_passwords = show;
	capture_start(&cap_conf);
	cr_assert(capture_on);
}

/* A miner with this id, on 127.0.0.1. */
static void
cap_peer(struct peer *p, uint64_t id, const char *user)
{
	memset(p, 0, sizeof *p);
	p->id = id;
	snprintf(p->ip, sizeof p->ip, "127.0.0.1");
	p->port = 40000 + (int)id;
	p->user = (char *)user;
}

/* Record id as JSON (any session). */
static json_t *
cap_get(uint64_t id)
{
	struct evbuffer	*b = evbuffer_new();
	json_t		*j = NULL;
	json_error_t	 err;
	size_t		 len;

	if (capture_format(id, -1, 0, b) == 1) {
		len = evbuffer_get_length(b);
		j = json_loadb((const char *)evbuffer_pullup(b, -1), len, 0,
		    &err);
		cr_assert(j != NULL, "record %llu is not JSON: %s",
		    (unsigned long long)id, err.text);
	}
	evbuffer_free(b);
	return j;
}

Test(capture, message_limit)
{
	struct peer	 p;
	char		 line[64];
	int		 i, n;
	json_t		*j;

	cap_begin(10, 1 << 20, 0);
	cap_peer(&p, 1, "W");
	for (i = 1; i <= 25; i++) {
		n = snprintf(line, sizeof line, "{\"id\":%d}", i);
		capture_miner(CAPTURE_MINER_IN, &p, line, (size_t)n, NULL);
		capture_done();
	}
	cr_assert_eq(capture_count(), 10);
	cr_assert_eq(capture_first_id(), 16);
	cr_assert_eq(capture_last_id(), 25);
	cr_assert_null(cap_get(15));
	j = cap_get(16);
	cr_assert_str_eq(json_string_value(json_object_get(j, "raw")),
	    "{\"id\":16}");
	cr_assert_str_eq(json_string_value(json_object_get(j, "session")),
	    "miner:1");
	cr_assert_str_eq(json_string_value(json_object_get(j, "peer")),
	    "127.0.0.1:40001");
	cr_assert_str_eq(json_string_value(json_object_get(j, "direction")),
	    "miner_to_proxy");
	cr_assert_eq(json_integer_value(json_object_get(j, "size_bytes")), 9);
	cr_assert_eq(json_integer_value(json_object_get(j, "id")), 16);
	json_decref(j);
	capture_stop();
}

Test(capture, byte_limit)
{
	struct peer	 p;
	char		 line[1001];
	json_t		*st;
	int		 i;

	cap_begin(100000, 65536, 0);
	cap_peer(&p, 1, NULL);
	memset(line, 'a', 1000);
	for (i = 0; i < 500; i++) {
		capture_miner(CAPTURE_MINER_IN, &p, line, 1000, NULL);
		capture_done();
		st = capture_state();
		cr_assert_leq(json_integer_value(json_object_get(st, "bytes")),
		    65536);
		json_decref(st);
	}
	cr_assert_gt(capture_count(), 50);
	cr_assert_lt(capture_count(), 66);
	cr_assert_eq(capture_last_id(), 500);
	capture_stop();
}

Test(capture, masks_passwords)
{
	struct peer	 p;
	const char	*login = "{\"id\":1,\"method\":\"login\",\"params\":"
			    "{\"login\":\"W\",\"pass\":\"hunter2\"}}";
	json_t		*j;

	cap_begin(100, 1 << 20, 0);
	cap_peer(&p, 1, NULL);
	capture_miner(CAPTURE_MINER_IN, &p, login, strlen(login), NULL);
	capture_done();
	j = cap_get(1);
	cr_assert_str_eq(json_string_value(json_object_get(j, "raw")),
	    "{\"id\":1,\"method\":\"login\",\"params\":{\"login\":\"W\","
	    "\"pass\":\"" SECRET_HIDDEN "\"}}");
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "decoded"), "params"), "pass")), SECRET_HIDDEN);
	cr_assert(json_is_null(json_object_get(j, "user")));
	/* The size is the line's as it was on the wire. */
	cr_assert_eq(json_integer_value(json_object_get(j, "size_bytes")),
	    (json_int_t)strlen(login));
	json_decref(j);
	capture_stop();

	cap_begin(100, 1 << 20, 1);
	capture_miner(CAPTURE_MINER_IN, &p, login, strlen(login), NULL);
	capture_done();
	j = cap_get(capture_last_id());
	cr_assert_str_eq(json_string_value(json_object_get(j, "raw")), login);
	json_decref(j);
	capture_stop();
}

Test(capture, refused_and_binary)
{
	struct peer	 p;
	char		*big;
	const char	 bin[] = "\xff\xfe{\"x\":1}";
	json_t		*j;

	cap_begin(100, 1 << 20, 0);
	cap_peer(&p, 3, "U");
	big = (char *)malloc(20000);
	memset(big, 'z', 20000);
	capture_miner(CAPTURE_MINER_IN, &p, big, 20000, "line too long");
	capture_done();
	j = cap_get(1);
	cr_assert_eq(strlen(json_string_value(json_object_get(j, "raw"))),
	    CAPTURE_CUT);
	cr_assert_eq(json_integer_value(json_object_get(j, "size_bytes")),
	    20000);
	cr_assert_str_eq(json_string_value(json_object_get(j,
	    "parse_error")), "line too long");
	cr_assert(json_is_null(json_object_get(j, "decoded")));
	json_decref(j);

	capture_miner(CAPTURE_MINER_OUT, &p, bin, sizeof bin - 1, NULL);
	j = cap_get(2);
	cr_assert(json_is_true(json_object_get(j, "raw_base64")));
	cr_assert_str_eq(json_string_value(json_object_get(j, "raw")),
	    "//57IngiOjF9");
	cr_assert_str_eq(json_string_value(json_object_get(j,
	    "parse_error")), "not UTF-8 text");
	json_decref(j);

	/* Not JSON: the parser's message; a written line loses its \n. */
	capture_miner(CAPTURE_MINER_OUT, &p, "hello\n", 6, NULL);
	j = cap_get(3);
	cr_assert_str_eq(json_string_value(json_object_get(j, "raw")),
	    "hello");
	cr_assert(json_is_string(json_object_get(j, "parse_error")));
	cr_assert(json_is_null(json_object_get(j, "decoded")));
	cr_assert_eq(json_integer_value(json_object_get(j, "size_bytes")), 5);
	json_decref(j);
	free(big);
	capture_stop();
}

Test(capture, forwarded_and_narrowed)
{
	struct peer		 a, b;
	struct capture_pool	 cp = { 4, "pool:3333", "WALLET" };
	const char		*why = NULL;
	json_t			*j;

	cap_begin(100, 1 << 20, 0);
	cap_peer(&a, 1, "A");
	cap_peer(&b, 2, "B");
	/* A submit forwarded to the pool has a ts_fwd; a keepalive not. */
	capture_miner(CAPTURE_MINER_IN, &a, "{\"method\":\"submit\"}", 19,
	    NULL);
	capture_pool(CAPTURE_POOL_OUT, &cp, "{\"method\":\"submit\"}\n", 20,
	    NULL);
	capture_done();
	capture_miner(CAPTURE_MINER_IN, &a, "{\"method\":\"keepalived\"}",
	    23, NULL);
	capture_miner(CAPTURE_MINER_OUT, &a, "{\"result\":1}\n", 13, NULL);
	capture_done();
	j = cap_get(1);
	cr_assert(json_is_integer(json_object_get(j, "ts_fwd")));
	json_decref(j);
	j = cap_get(2);
	cr_assert_str_eq(json_string_value(json_object_get(j, "session")),
	    "upstream:4");
	cr_assert_str_eq(json_string_value(json_object_get(j, "peer")),
	    "pool:3333");
	cr_assert_str_eq(json_string_value(json_object_get(j, "user")),
	    "WALLET");
	json_decref(j);
	j = cap_get(3);
	cr_assert(json_is_null(json_object_get(j, "ts_fwd")));
	json_decref(j);
	cr_assert_eq(capture_last_id(), 4);

	/*
	 * A line read while another is handled (a TLS miner read during a
	 * job's fan-out): the outer line is still the one a write forwards.
	 */
	capture_pool(CAPTURE_POOL_IN, &cp, "{\"job\":0}", 9, NULL);
	capture_miner(CAPTURE_MINER_IN, &b, "{\"n\":1}", 7, NULL);
	capture_done();
	capture_miner(CAPTURE_MINER_OUT, &a, "{\"job\":0}\n", 10, NULL);
	capture_done();
	j = cap_get(5);
	cr_assert(json_is_integer(json_object_get(j, "ts_fwd")),
	    "the outer line lost its context: %s", json_dumps(j, 0));
	json_decref(j);
	j = cap_get(6);
	cr_assert(json_is_null(json_object_get(j, "ts_fwd")));
	json_decref(j);
	cr_assert_eq(capture_last_id(), 7);

	/* Narrowed to miner 2: A is not kept, B is; pool lines for B. */
	cr_assert_eq(capture_narrow(CAPTURE_BY_MINER, 2, NULL, 60, &why), 0);
	capture_miner(CAPTURE_MINER_IN, &a, "{\"a\":1}", 7, NULL);
	capture_pool(CAPTURE_POOL_OUT, &cp, "{\"a\":2}\n", 8, NULL);
	capture_done();
	cr_assert_eq(capture_last_id(), 7);
	capture_pool(CAPTURE_POOL_IN, &cp, "{\"job\":1}", 9, NULL);
	capture_miner(CAPTURE_MINER_OUT, &a, "{\"job\":1}\n", 10, NULL);
	capture_done();
	cr_assert_eq(capture_last_id(), 7);
	capture_pool(CAPTURE_POOL_IN, &cp, "{\"job\":2}", 9, NULL);
	capture_miner(CAPTURE_MINER_OUT, &a, "{\"job\":2}\n", 10, NULL);
	capture_miner(CAPTURE_MINER_OUT, &b, "{\"job\":2}\n", 10, NULL);
	capture_done();
	cr_assert_eq(capture_last_id(), 9);
	j = cap_get(8);
	cr_assert_str_eq(json_string_value(json_object_get(j, "direction")),
	    "pool_to_proxy");
	cr_assert(json_is_integer(json_object_get(j, "ts_fwd")));
	json_decref(j);
	j = cap_get(9);
	cr_assert_str_eq(json_string_value(json_object_get(j, "session")),
	    "miner:2");
	json_decref(j);
	capture_miner(CAPTURE_MINER_IN, &b, "{\"b\":1}", 7, NULL);
	capture_pool(CAPTURE_POOL_OUT, &cp, "{\"b\":2}\n", 8, NULL);
	capture_done();
	cr_assert_eq(capture_last_id(), 11);
	/* By user, by address; bad narrowings. */
	cr_assert_eq(capture_narrow(CAPTURE_BY_USER, 0, "A", 60, &why), 0);
	capture_miner(CAPTURE_MINER_IN, &b, "{}", 2, NULL);
	capture_miner(CAPTURE_MINER_IN, &a, "{}", 2, NULL);
	capture_done();
	cr_assert_eq(capture_last_id(), 12);
	cr_assert_neq(capture_narrow(CAPTURE_BY_IP, 0, "", 60, &why), 0);
	cr_assert_neq(capture_narrow(CAPTURE_ALL, 0, NULL, 0, &why), 0);
	capture_off();
	cr_assert(!capture_on);
	capture_stop();
}

Test(capture, base64_utf8_session)
{
	char		 out[64];
	int		 kind;
	uint64_t	 id;

	cr_assert_eq(capture_base64(out, sizeof out, "", 0), 0);
	cr_assert_str_eq(out, "");
	capture_base64(out, sizeof out, "f", 1);
	cr_assert_str_eq(out, "Zg==");
	capture_base64(out, sizeof out, "fo", 2);
	cr_assert_str_eq(out, "Zm8=");
	capture_base64(out, sizeof out, "foobar", 6);
	cr_assert_str_eq(out, "Zm9vYmFy");
	cr_assert_eq(capture_base64(out, 4, "foo", 3), 0);

	cr_assert(stratum_utf8_ok("plain", 5));
	cr_assert(stratum_utf8_ok("\xc3\xa9t\xc3\xa9", 6));
	cr_assert(stratum_utf8_ok("\xf0\x9f\x98\x80", 4));
	cr_assert(!stratum_utf8_ok("\xff", 1));
	cr_assert(!stratum_utf8_ok("\xc3", 1));		/* cut short */
	cr_assert(!stratum_utf8_ok("\xed\xa0\x80", 3));	/* a surrogate */
	cr_assert(!stratum_utf8_ok("\xc0\xaf", 2));	/* overlong */

	cr_assert_eq(capture_session_parse("miner:12", &kind, &id), 0);
	cr_assert(kind == 0 && id == 12);
	cr_assert_eq(capture_session_parse("upstream:3", &kind, &id), 0);
	cr_assert(kind == 1 && id == 3);
	cr_assert_neq(capture_session_parse("miner:", &kind, &id), 0);
	cr_assert_neq(capture_session_parse("miner:1x", &kind, &id), 0);
	cr_assert_neq(capture_session_parse("pool:1", &kind, &id), 0);
	cr_assert_neq(capture_session_parse("miner:-1", &kind, &id), 0);
}
