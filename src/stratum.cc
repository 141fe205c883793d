/*
 * stratum.cc: wire-format helpers that need no state: hex checks, targets
 * and difficulties (per DESIGN.md, not the RFC: 8-hex targets are LE uint32,
 * "b88d0600" is difficulty 10000), request ids and reply lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice.h"

static int	 stratum_hexval(char);
static size_t	 stratum_escape(char *, size_t, const char *);

/* Value of one hex digit, or -1. */
static int
stratum_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Are the first len chars of s all hex digits (and present)? */
int
stratum_is_hex(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (stratum_hexval(s[i]) < 0)
			return 0;
	}
	return 1;
}

/* Read len/2 little-endian bytes of hex into an integer. */
static uint64_t
stratum_le(const char *hex, size_t nbytes)
{
	uint64_t	 v = 0;
	size_t		 i;

	for (i = 0; i < nbytes; i++) {
		v |= (uint64_t)(stratum_hexval(hex[2 * i]) << 4 |
		    stratum_hexval(hex[2 * i + 1])) << (8 * i);
	}
	return v;
}

/*
 * Difficulty of a target: 8 hex = LE uint32 t, target64 = 2^64-1 /
 * (0xFFFFFFFF / t); 16 hex = LE uint64 target64. 0 for anything invalid.
 */
uint64_t
stratum_target_diff(const char *hex, size_t len)
{
	uint64_t	 t, t64;

	if ((len != 8 && len != 16) || !stratum_is_hex(hex, len))
		return 0;
	if (len == 8) {
		t = stratum_le(hex, 4);
		if (t == 0)
			return 0;
		t64 = UINT64_MAX / (0xFFFFFFFFULL / t);
	} else
		t64 = stratum_le(hex, 8);
	if (t64 == 0)
		return 0;
	return UINT64_MAX / t64;
}

/* The 8-hex target for a difficulty: upper 32 bits of 2^64-1 / diff. */
void
stratum_diff_target(uint64_t diff, char out[9])
{
	uint32_t	 t;
	int		 i;

	if (diff < 1)
		diff = 1;
	t = (uint32_t)((UINT64_MAX / diff) >> 32);
	for (i = 0; i < 4; i++)
		stratum_hex_byte((uint8_t)(t >> (8 * i)), out + 2 * i);
	out[8] = '\0';
}

/* Difficulty of a 64-hex result: its last 8 bytes as LE uint64 r. */
uint64_t
stratum_result_diff(const char *hex64)
{
	uint64_t	 r;

	if (!stratum_is_hex(hex64, 64))
		return 0;
	r = stratum_le(hex64 + 48, 8);
	if (r == 0)
		return UINT64_MAX;
	return UINT64_MAX / r;
}

/* Byte 3 of an 8-hex LE nonce (the NiceHash fixed byte), or -1. */
int
stratum_nonce_byte3(const char *nonce8)
{
	if (!stratum_is_hex(nonce8, 8))
		return -1;
	return stratum_hexval(nonce8[6]) << 4 | stratum_hexval(nonce8[7]);
}

/* Two lower-case hex digits of a byte. */
void
stratum_hex_byte(uint8_t b, char out[2])
{
	static const char	 digits[] = "0123456789abcdef";

	out[0] = digits[b >> 4];
	out[1] = digits[b & 15];
}

/*
 * The JSON text of a request id, to echo it in the reply. Returns -1 when
 * it does not fit (a miner's id is small; a huge one is hostile).
 */
int
stratum_reqid(json_t *id, char out[SLUICE_REQID_MAX])
{
	char	*s;
	size_t	 len;

	if (id == NULL || json_is_null(id)) {
		memcpy(out, "null", 5);
		return 0;
	}
	if (json_is_integer(id)) {
		snprintf(out, SLUICE_REQID_MAX, "%lld",
		    (long long)json_integer_value(id));
		return 0;
	}
	if (!json_is_string(id) && !json_is_real(id))
		return -1;
	if (json_is_string(id) &&
	    json_string_length(id) > SLUICE_REQID_MAX / 2 - 2)
		return -1;
	if ((s = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		return -1;
	len = strlen(s);
	if (len >= SLUICE_REQID_MAX) {
		free(s);
		return -1;
	}
	memcpy(out, s, len + 1);
	free(s);
	return 0;
}

/* Fill out with len random lower-case hex chars and a NUL. */
void
stratum_random_hex(char *out, size_t len)
{
	uint8_t	 b[64];
	size_t	 i;

	if (len > 2 * sizeof b)
		len = 2 * sizeof b;
	arc4random_buf(b, (len + 1) / 2);
	for (i = 0; i < len; i++)
		out[i] = "0123456789abcdef"[i % 2 ? b[i / 2] & 15 : b[i / 2] >> 4];
	out[len] = '\0';
}

/*
 * JSON-escape s into buf (without quotes); returns the length written. A
 * message too long for buf is cut at a character boundary, never inside a
 * UTF-8 sequence, so the line stays valid JSON.
 */
static size_t
stratum_escape(char *buf, size_t cap, const char *s)
{
	size_t	 n = 0, len, i;
	uint8_t	 c;

	while (*s != '\0' && n + 7 < cap) {
		c = (uint8_t)*s;
		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
			s++;
		} else if (c < 0x20) {
			n += snprintf(buf + n, cap - n, "\\u%04x", c);
			s++;
		} else if (c < 0x80) {
			buf[n++] = (char)*s++;
		} else {
			len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
			if (n + len + 7 >= cap)
				break;
			for (i = 0; i < len && s[i] != '\0'; i++)
				buf[n++] = s[i];
			s += i;
		}
	}
	buf[n] = '\0';
	return n;
}

/* A JSON-RPC error reply line. Returns its length (0 if cap too small). */
size_t
stratum_error_line(char *buf, size_t cap, const char *reqid,
    const char *message)
{
	char	 esc[512];
	int	 n;

	stratum_escape(esc, sizeof esc, message);
	n = snprintf(buf, cap, "{\"id\":%s,\"jsonrpc\":\"2.0\",\"error\":"
	    "{\"code\":-1,\"message\":\"%s\"}}\n", reqid, esc);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* A JSON-RPC status reply line ("OK", "KEEPALIVED"). */
size_t
stratum_status_line(char *buf, size_t cap, const char *reqid,
    const char *status)
{
	int	 n;

	n = snprintf(buf, cap, "{\"id\":%s,\"jsonrpc\":\"2.0\",\"error\":null,"
	    "\"result\":{\"status\":\"%s\"}}\n", reqid, status);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
