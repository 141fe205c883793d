/*
 * fuzz_escape.cc: libFuzzer target for the two escapers: the JSON-RPC
 * error line sent to a miner (stratum_error_line()) and the key=value
 * log escaping (log_escape(), log_esc(), log_word()). The input, up to
 * its first NUL, is the message.
 *
 * Whatever the message, the error line must parse as JSON: a Lua on_login
 * hook's refusal reaches it as any bytes, cut to 255 of them. For valid
 * UTF-8 its message must also be the input, or a prefix of it cut at a
 * character boundary and only when the escaped text fills the buffer.
 *
 * log_escape() takes any bytes: its output must hold no control byte,
 * DEL, '"' or (bare) space, every backslash must start a \xHH escape, and
 * undoing the escapes must give a prefix of the input, cut only when the
 * buffer is full. Buffers of an input-derived size are allocated exactly,
 * so ASan sees any overrun.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FUZZ_ERRBUF	1024	/* miner_reply_error()'s buffer */
#define FUZZ_ESCMAX	512	/* stratum_escape()'s buffer */
#define FUZZ_LOGBUF	384	/* log_esc()'s buffers */


static int	 utf8_valid(const uint8_t *, size_t);
static size_t	 json_esc_len(const char *, size_t);
static void	 check_error_line(const char *, size_t, uint8_t);
static void	 check_log_escape(const char *, size_t, size_t, int);
static int	 hexval(char);

/*
 * Is s valid UTF-8 as jansson takes it: no overlong forms, no surrogates,
 * nothing past U+10FFFF?
 */
static int
utf8_valid(const uint8_t *s, size_t n)
{
	size_t		 i = 0, k, len;
	uint32_t	 cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			len = 2;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			len = 3;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			len = 4;
			cp = s[i] & 0x07;
		} else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Length of the first n bytes of s as stratum_escape() writes them. */
static size_t
json_esc_len(const char *s, size_t n)
{
	size_t	 i, e = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			e += 2;
		else if ((unsigned char)s[i] < 0x20)
			e += 6;
		else
			e++;
	}
	return e;
}

/*
 * stratum_error_line(): with miner.cc's buffer the line must parse (for
 * valid UTF-8) and carry the message, cut only when needed; with a buffer
 * of any size it is that same line or 0.
 */
static void
check_error_line(const char *msg, size_t mlen, uint8_t capbyte)
{
	char		 buf[FUZZ_ERRBUF], *small;
	size_t		 n, r, cap, plen;
	json_error_t	 err;
	json_t		*line, *e, *v;
	const char	*got;
	int		 valid;

	n = stratum_error_line(buf, sizeof buf, "1", msg);
	if (n == 0)
		return;
	if (n >= sizeof buf || strlen(buf) != n || buf[n - 1] != '\n')
		fuzz_fail("stratum_error_line: length %zu, strlen %zu", n,
		    strlen(buf));
	valid = utf8_valid((const uint8_t *)msg, mlen);
	if ((line = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		fuzz_fail("stratum_error_line is not JSON (message %s "
		    "UTF-8): %s: %s", valid ? "valid" : "invalid", err.text,
		    buf);
	} else if (valid) {
		e = json_object_get(line, "error");
		v = json_object_get(line, "id");
		if (!json_is_integer(v) || json_integer_value(v) != 1 ||
		    !json_is_object(e) ||
		    !json_is_integer(json_object_get(e, "code")) ||
		    json_integer_value(json_object_get(e, "code")) != -1 ||
		    !json_is_string(json_object_get(e, "message")))
			fuzz_fail("stratum_error_line: not an error reply: %s",
			    buf);
		v = json_object_get(e, "message");
		got = json_string_value(v);
		plen = json_string_length(v);
		if (plen > mlen || memcmp(got, msg, plen) != 0)
			fuzz_fail("error.message is not a prefix of the "
			    "message: %s", buf);
		if (!utf8_valid((const uint8_t *)msg + plen, mlen - plen))
			fuzz_fail("error.message cut inside a character at "
			    "%zu", plen);
		/* Cut only when the next character would not fit. */
		if (plen < mlen && json_esc_len(msg, plen) + 4 + 7 <
		    FUZZ_ESCMAX)
			fuzz_fail("error.message cut at %zu of %zu bytes "
			    "(%zu escaped) with room left", plen, mlen,
			    json_esc_len(msg, plen));
	}
	if (line != NULL)
		json_decref(line);

	/* Any cap: the same line or 0, never past cap. */
	cap = (size_t)capbyte * (n + 2) / 255;
	small = (char *)xmalloc(cap > 0 ? cap : 1);
	r = stratum_error_line(small, cap, "1", msg);
	if (r != 0 && (r != n || memcmp(small, buf, n + 1) != 0))
		fuzz_fail("stratum_error_line with cap %zu returned %zu, "
		    "full %zu", cap, r, n);
	if ((r == 0) != (cap <= n))
		fuzz_fail("stratum_error_line with cap %zu returned %zu "
		    "(line %zu)", cap, r, n);
	free(small);
}

/* Value of a lower-case hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * log_escape() into exactly cap bytes: only safe bytes, every backslash a
 * \xHH, and unescaped a prefix of the message, cut only when full.
 */
static void
check_log_escape(const char *msg, size_t mlen, size_t cap, int quoted)
{
	char		*out;
	const char	*ret;
	size_t		 olen, i, m = 0;
	unsigned char	 c;
	int		 hi, lo;

	out = (char *)xmalloc(cap);
	ret = log_escape(out, cap, msg, quoted);
	if (ret != out)
		fuzz_fail("log_escape returned another buffer");
	olen = strlen(out);
	if (olen >= cap)
		fuzz_fail("log_escape: %zu bytes in a buffer of %zu", olen,
		    cap);
	for (i = 0; i < olen; i++) {
		c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f || c == '"' || (c == ' ' && !quoted))
			fuzz_fail("log_escape (quoted %d, cap %zu): byte 0x%02x "
			    "at %zu: %s", quoted, cap, c, i, out);
		if (c == '\\') {
			if (i + 3 >= olen)
				fuzz_fail("log_escape: backslash at the end: %s",
				    out);
			if (out[i + 1] != 'x' || (hi = hexval(out[i + 2])) < 0 ||
			    (lo = hexval(out[i + 3])) < 0)
				fuzz_fail("log_escape: backslash without \\xHH "
				    "at %zu: %s", i, out);
			c = (unsigned char)(hi << 4 | lo);
			if (!(c < 0x20 || c == 0x7f || c == '"' || c == '\\' ||
			    (c == ' ' && !quoted)))
				fuzz_fail("log_escape: 0x%02x escaped needlessly",
				    c);
			i += 3;
		}
		if (m >= mlen || (unsigned char)msg[m] != c)
			fuzz_fail("log_escape (quoted %d): unescaped output "
			    "differs from the message at byte %zu", quoted, m);
		m++;
	}
	if (m < mlen && olen + 5 < cap)
		fuzz_fail("log_escape (quoted %d): cut at %zu of %zu bytes "
		    "with %zu of %zu bytes used", quoted, m, mlen, olen, cap);
	free(out);
}

/* One input: a message, up to its first NUL. */
extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char		*msg, buf[FUZZ_LOGBUF];
	size_t		 mlen, cap;
	uint8_t		 last = len > 0 ? data[len - 1] : 0;
	int		 quoted;

	fuzz_input(data, len);
	msg = (char *)xmalloc(len + 1);
	memcpy(msg, data, len);
	msg[len] = '\0';
	mlen = strlen(msg);

	check_error_line(msg, mlen, last);
	for (quoted = 0; quoted <= 1; quoted++) {
		check_log_escape(msg, mlen, FUZZ_LOGBUF, quoted);
		cap = 1 + (size_t)(last ^ (quoted ? 0xa5 : 0)) * 2;
		check_log_escape(msg, mlen, cap, quoted);
		log_escape(buf, sizeof buf, msg, quoted);
		if (strcmp(quoted ? log_esc(msg) : log_word(msg), buf) != 0)
			fuzz_fail("log_%s differs from log_escape",
			    quoted ? "esc" : "word");
	}
	free(msg);
	return 0;
}
