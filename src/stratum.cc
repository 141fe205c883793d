/*
 * stratum.cc: wire-format helpers that need no state: hex checks, targets
 * and difficulties (per DESIGN.md, not the RFC: 8-hex targets are LE uint32,
 * "b88d0600" is difficulty 10000), request ids and reply lines, and the
 * line framing both sides' sockets share (wire.cc, pool.cc).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "stratum.h"


/* Value of one hex digit, or -1. */
int
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

/*
 * Fill out with len random lower-case hex chars and a NUL. The bytes come
 * from OpenSSL's user-space DRBG, drawn 4 KiB at a time: glibc 2.36's
 * arc4random_buf() is a getrandom(2) call each time, and RAND_bytes() has
 * a fixed cost per call that a login should not pay.
 */
void
stratum_random_hex(char *out, size_t len)
{
	static uint8_t	 pool[4096];
	static size_t	 avail;
	uint8_t		*b;
	size_t		 i, need;

	if (len > 128)
		len = 128;
	need = (len + 1) / 2;
	if (avail < need) {
		if (RAND_bytes(pool, sizeof pool) != 1)
			arc4random_buf(pool, sizeof pool);
		avail = sizeof pool;
	}
	b = pool + sizeof pool - avail;
	for (i = 0; i < len; i++)
		out[i] = "0123456789abcdef"[i % 2 ? b[i / 2] & 15 : b[i / 2] >> 4];
	out[len] = '\0';
	memset(b, 0, need);	/* an id is never handed out twice */
	avail -= need;
}

/*
 * The length of the valid UTF-8 sequence at s (1 to 4), or 0 when the
 * bytes there are not one: a stray continuation byte, 0xc0, 0xc1 or
 * 0xf5 up, an overlong form, a surrogate, or a sequence cut short.
 */
size_t
stratum_utf8_len(const unsigned char *s)
{
	unsigned char	 c = s[0], lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (c == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;		/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

/*
 * Are the len bytes at s valid UTF-8? s[len] must be readable and not a
 * continuation byte (a NUL does), so a sequence cut short at the end is
 * seen as such.
 */
int
stratum_utf8_ok(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, n;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = stratum_utf8_len(u + i)) == 0 || i + n > len)
			return 0;
		i += n;
	}
	return 1;
}

/*
 * JSON-escape s into buf (without quotes); returns the length written.
 * The result is always valid JSON text: bytes that are not valid UTF-8
 * (a script's or a pool's message may hold anything) become \ufffd, and
 * a message too long for buf is cut at a character boundary.
 */
size_t
stratum_escape(char *buf, size_t cap, const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 n = 0, len;

	while (*u != '\0' && n + 7 < cap) {
		if (*u == '"' || *u == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)*u++;
		} else if (*u < 0x20) {
			n += snprintf(buf + n, cap - n, "\\u%04x", *u++);
		} else if (*u < 0x80) {
			buf[n++] = (char)*u++;
		} else if ((len = stratum_utf8_len(u)) == 0) {
			memcpy(buf + n, "\\ufffd", 6);
			n += 6;
			u++;
		} else {
			if (n + len + 7 >= cap)
				break;
			memcpy(buf + n, u, len);
			n += len;
			u += len;
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

/*
 * A JSON-RPC 2.0 error line with a standard code (-32700 Parse error,
 * -32600 Invalid request), for lines that are not a stratum request.
 */
size_t
stratum_rpc_error_line(char *buf, size_t cap, const char *reqid, int code,
    const char *message)
{
	char	 esc[512];
	int	 n;

	stratum_escape(esc, sizeof esc, message);
	n = snprintf(buf, cap, "{\"id\":%s,\"jsonrpc\":\"2.0\",\"error\":"
	    "{\"code\":%d,\"message\":\"%s\"}}\n", reqid, code, esc);
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

/*
 * A fast path for the lines that come by the thousand (submits,
 * keepalives, the pool's answers): scan a flat JSON object in place,
 * without allocating. Only plain shapes are taken: strings without escapes
 * or non-ASCII bytes, integers, true, false, null, arrays of such strings,
 * and objects of the same (one level deep). Anything else (escapes, floats, arrays, duplicate keys,
 * huge integers, odd whitespace) returns -1 and the caller parses the line
 * with jansson as before, so the scanner never accepts what jansson would
 * refuse and never decides differently. Scanning leaves the line as it
 * is; stratum_terminate() then NUL-terminates the string values in place
 * (the line is not const) once the caller has committed to the fast path.
 */
static char *
stratum_ws(char *p, char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/*
 * p is just past an opening quote: the closing quote of a plain string
 * (printable ASCII, no escapes), or NULL.
 */
static char *
stratum_plain_string(char *p, char *end)
{
	for (; p < end && *p != '"'; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x80 ||
		    *p == '\\')
			return NULL;
	}
	return p < end ? p : NULL;
}

/*
 * Scan one object starting at p ('{'); returns the byte after '}'. sub,
 * when not NULL, receives the one nested object allowed.
 */
static char *
stratum_scan_object(char *p, char *end, struct jobj *o, struct jobj *sub)
{
	struct jmember	*m;
	int		 i;

	o->n = 0;
	if (p >= end || *p != '{')
		return NULL;
	p = stratum_ws(p + 1, end);
	if (p < end && *p == '}')
		return p + 1;
	for (;;) {
		if (o->n == JFLAT_MAX || p >= end || *p != '"')
			return NULL;
		m = &o->m[o->n];
		m->key = ++p;
		if ((p = stratum_plain_string(p, end)) == NULL)
			return NULL;
		m->klen = (size_t)(p - m->key);
		for (i = 0; i < o->n; i++) {
			if (o->m[i].klen == m->klen &&
			    memcmp(o->m[i].key, m->key, m->klen) == 0)
				return NULL;	/* duplicate: jansson decides */
		}
		p = stratum_ws(p + 1, end);
		if (p >= end || *p != ':')
			return NULL;
		p = stratum_ws(p + 1, end);
		if (p >= end)
			return NULL;
		m->val = p;
		if (*p == '"') {
			m->type = 's';
			m->val = ++p;
			if ((p = stratum_plain_string(p, end)) == NULL)
				return NULL;
			m->vlen = (size_t)(p++ - m->val);
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			m->type = 'n';
			if (*p == '-')
				p++;
			if (p >= end || *p < '0' || *p > '9')
				return NULL;
			if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
				return NULL;
			while (p < end && *p >= '0' && *p <= '9')
				p++;
			m->vlen = (size_t)(p - m->val);
			if (m->vlen > 18 || (p < end && (*p == '.' || *p == 'e' ||
			    *p == 'E')))
				return NULL;
		} else if (*p == '[') {
			/* An array of plain strings (a login's algo list). */
			m->type = 'a';
			p = stratum_ws(p + 1, end);
			while (p < end && *p == '"') {
				if ((p = stratum_plain_string(p + 1, end)) == NULL)
					return NULL;
				p = stratum_ws(p + 1, end);
				if (p < end && *p == ',') {
					p = stratum_ws(p + 1, end);
					if (p >= end || *p != '"')
						return NULL;
				} else if (p >= end || *p != ']')
					return NULL;
			}
			if (p >= end || *p != ']')
				return NULL;
			p++;
			m->vlen = (size_t)(p - m->val);
		} else if (*p == '{' && sub != NULL) {
			m->type = 'o';
			if ((p = stratum_scan_object(p, end, sub, NULL)) == NULL)
				return NULL;
			m->vlen = (size_t)(p - m->val);
			sub = NULL;	/* only one */
		} else if (end - p >= 4 && memcmp(p, "null", 4) == 0) {
			m->type = 'z';
			m->vlen = 4;
			p += 4;
		} else if (end - p >= 4 && memcmp(p, "true", 4) == 0) {
			m->type = 't';
			m->vlen = 4;
			p += 4;
		} else if (end - p >= 5 && memcmp(p, "false", 5) == 0) {
			m->type = 'f';
			m->vlen = 5;
			p += 5;
		} else
			return NULL;
		o->n++;
		p = stratum_ws(p, end);
		if (p < end && *p == ',') {
			p = stratum_ws(p + 1, end);
			continue;
		}
		if (p < end && *p == '}')
			return p + 1;
		return NULL;
	}
}

/*
 * Scan a line holding one flat object (with at most one nested object,
 * kept in o->sub). Returns 0, or -1 when jansson must decide.
 */
int
stratum_scan(char *line, size_t len, struct jflat *o)
{
	char	*end = line + len, *p;

	o->sub.n = 0;
	p = stratum_ws(line, end);
	if ((p = stratum_scan_object(p, end, &o->top, &o->sub)) == NULL ||
	    stratum_ws(p, end) != end)
		return -1;
	return 0;
}

/*
 * Commit to the fast path: NUL-terminate the scanned string values in
 * place. After this the line is no longer JSON, so jansson must not see it.
 */
void
stratum_terminate(struct jflat *o)
{
	struct jobj	*objs[2] = { &o->top, &o->sub };
	int		 i, k;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < objs[k]->n; i++) {
			if (objs[k]->m[i].type == 's')
				/* val points into the caller's line. */
				((char *)(uintptr_t)objs[k]->m[i].val)[
				    objs[k]->m[i].vlen] = '\0';
		}
	}
}

/* A member of a scanned object by key, or NULL. */
const struct jmember *
stratum_member(const struct jobj *o, const char *key)
{
	size_t	 klen = strlen(key);
	int	 i;

	for (i = 0; i < o->n; i++) {
		if (o->m[i].klen == klen && memcmp(o->m[i].key, key, klen) == 0)
			return &o->m[i];
	}
	return NULL;
}

/* Is a scanned member the string s? */
int
stratum_is(const struct jmember *m, const char *s)
{
	size_t	 n = strlen(s);

	return m != NULL && m->type == 's' && m->vlen == n &&
	    memcmp(m->val, s, n) == 0;
}

/*
 * The elements of a scanned array of strings, one per call: *pos starts
 * at NULL. Returns 0 with the element in *s (not terminated), *n; -1 at
 * the end.
 */
int
stratum_array_next(const struct jmember *a, const char **pos, const char **s,
    size_t *n)
{
	const char	*p = *pos == NULL ? a->val + 1 : *pos;
	const char	*end = a->val + a->vlen;

	while (p < end && *p != '"')
		p++;
	if (p >= end)
		return -1;
	*s = ++p;
	while (*p != '"')
		p++;
	*n = (size_t)(p - *s);
	*pos = p + 1;
	return 0;
}

/*
 * Move the partial line kept from the last read to the front of buf (a
 * read buffer of STRATUM_RBUF bytes); returns its length. The next read
 * goes after it.
 */
size_t
stratum_part_take(struct stratum_part *part, char *buf)
{
	size_t	 have = part->len;

	if (part->buf == NULL)
		return 0;
	memcpy(buf, part->buf, have);
	stratum_part_free(part);
	return have;
}

/* Keep len bytes of a partial line until the next read. */
void
stratum_part_keep(struct stratum_part *part, const char *buf, size_t len)
{
	if (len == 0)
		return;
	part->buf = (char *)xmalloc(len);
	memcpy(part->buf, buf, len);
	part->len = (uint32_t)len;
}

/* Drop a kept partial line. Safe to call twice. */
void
stratum_part_free(struct stratum_part *part)
{
	free(part->buf);
	part->buf = NULL;
	part->len = 0;
}

/*
 * Frame a read: hand every complete line of buf to fn, in place (the '\n'
 * becomes a NUL, a '\r' before it is cut, empty lines are skipped) and
 * keep a trailing partial line in part, which the caller has emptied
 * (stratum_part_take). Each line's bytes, newline included, are added to
 * *rx before fn sees it, so a close from fn counts them.
 *
 * fn returns -1 when the connection is closing: framing stops at once,
 * nothing is kept and neither part nor the connection is touched again.
 * A line, or a partial line, over SLUICE_MAX_LINE is STRATUM_TOO_LONG
 * (its bytes counted), and stratum_long_line and stratum_long_len say
 * where it is in buf, for the capture; the caller closes.
 */
const char	*stratum_long_line;
size_t		 stratum_long_len;

enum stratum_frame
stratum_frame(struct stratum_part *part, char *buf, size_t len, uint64_t *rx,
    stratum_line_fn fn, void *arg)
{
	char	*p = buf, *end = buf + len, *nl;
	size_t	 n;

	while (p < end) {
		if ((nl = (char *)memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		n = (size_t)(nl - p);
		*rx += n + 1;
		if (n > SLUICE_MAX_LINE) {
			stratum_long_line = p;
			stratum_long_len = n;
			return STRATUM_TOO_LONG;
		}
		*nl = '\0';
		if (n > 0 && p[n - 1] == '\r')
			p[--n] = '\0';
		if (n > 0 && fn(arg, p, n) != 0)
			return STRATUM_STOPPED;
		p = nl + 1;
	}
	n = (size_t)(end - p);
	if (n > SLUICE_MAX_LINE) {
		*rx += n;
		stratum_long_line = p;
		stratum_long_len = n;
		return STRATUM_TOO_LONG;
	}
	stratum_part_keep(part, p, n);
	return STRATUM_FRAMED;
}
