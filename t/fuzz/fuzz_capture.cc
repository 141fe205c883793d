/*
 * fuzz_capture.cc: libFuzzer target for the capture's record encoder
 * (capture.cc): a line of any bytes goes into the ring and comes out as
 * the JSON the API, the live feed and the file show. The first byte
 * picks the leg (bits 0-1) and whether the line was refused as too long
 * (bit 2); the rest is the line.
 *
 * Whatever the line, its record must be one JSON object whose size_bytes
 * is the line's length (a trailing newline aside), whose raw is a string
 * (base64 when the kept bytes are not UTF-8 text), and in
 * which no "pass" member of decoded is anything but the mask. The ring,
 * 8 records and 64 KiB, must hold both limits after every line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "capture.h"

#define FUZZ_CAP_MESSAGES	8
#define FUZZ_CAP_BYTES		65536

static struct config	 fuzz_conf;

static void	 check_pass(json_t *);

/* Every "pass" member, at any depth, is masked (or not a string). */
static void
check_pass(json_t *j)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			check_pass(v);
		return;
	}
	if (!json_is_object(j))
		return;
	json_object_foreach(j, key, v) {
		if (strcmp(key, "pass") == 0 && json_is_string(v) &&
		    strcmp(json_string_value(v), SECRET_HIDDEN) != 0)
			fuzz_fail("a pass left unmasked: %s",
			    json_string_value(v));
		check_pass(v);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct peer		 peer;
	static const struct capture_pool cp = { 3, "pool.example:3333",
	    "WALLET" };
	enum capture_dir		 dir;
	const char			*line, *refused;
	struct evbuffer			*b;
	json_t				*j, *st;
	json_error_t			 err;
	size_t				 n, want;

	fuzz_input(data, len);
	if (sl.base == NULL) {
		sl.base = event_base_new();
		fuzz_conf.capture.enabled = 1;
		fuzz_conf.capture.messages = FUZZ_CAP_MESSAGES;
		fuzz_conf.capture.max_bytes = FUZZ_CAP_BYTES;
		capture_start(&fuzz_conf);
		peer.id = 7;
		snprintf(peer.ip, sizeof peer.ip, "127.0.0.1");
		peer.port = 40000;
	}
	if (len == 0)
		return 0;
	dir = (enum capture_dir)(data[0] & 3);
	refused = data[0] & 4 ? "line too long" : NULL;
	line = (const char *)data + 1;
	n = len - 1;
	if (dir == CAPTURE_MINER_IN || dir == CAPTURE_MINER_OUT)
		capture_miner(dir, &peer, line, n, refused);
	else
		capture_pool(dir, &cp, line, n, refused);
	capture_done();

	b = evbuffer_new();
	if (capture_format(capture_last_id(), -1, 0, b) != 1)
		fuzz_fail("the line's record is not in the ring");
	j = json_loadb((const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b), 0, &err);
	if (!json_is_object(j))
		fuzz_fail("the record is not a JSON object: %s", err.text);
	want = n;
	if (n > 0 && line[n - 1] == '\n')
		want--;
	if ((size_t)json_integer_value(json_object_get(j, "size_bytes")) !=
	    want)
		fuzz_fail("size_bytes %lld, not %zu", (long long)
		    json_integer_value(json_object_get(j, "size_bytes")), want);
	if (!json_is_string(json_object_get(j, "raw")) ||
	    !json_is_boolean(json_object_get(j, "raw_base64")))
		fuzz_fail("raw or raw_base64 missing");
	if (json_is_true(json_object_get(j, "raw_base64")) &&
	    strspn(json_string_value(json_object_get(j, "raw")),
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") != strlen(json_string_value(json_object_get(j,
	    "raw"))))
		fuzz_fail("raw_base64 but raw is not base64");
	if (refused != NULL && !json_is_string(json_object_get(j,
	    "parse_error")))
		fuzz_fail("a refused line without its parse_error");
	check_pass(json_object_get(j, "decoded"));
	json_decref(j);
	evbuffer_free(b);

	st = capture_state();
	if (capture_count() > FUZZ_CAP_MESSAGES ||
	    (size_t)json_integer_value(json_object_get(st, "bytes")) >
	    FUZZ_CAP_BYTES)
		fuzz_fail("a limit is broken: %zu records, %lld bytes",
		    capture_count(), (long long)json_integer_value(
		    json_object_get(st, "bytes")));
	json_decref(st);
	return 0;
}
