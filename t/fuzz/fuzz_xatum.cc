/*
 * fuzz_xatum.cc: libFuzzer target for xatum_decode(), the decoder of
 * every line a Xatum miner sends (xatum.cc).
 *
 * The decoder takes plain lines on the in-place scanner and any other
 * through jansson; both must decide alike. So the input is also parsed
 * here with jansson alone, and the kind, the id and each string field
 * must be what that parse says: a field is the string itself ("0x" taken
 * off nonce and result), or NULL when absent, not a string, too long or
 * holding a NUL; the id is the request's whenever it can be read, even on
 * a line that is no message. Every answer built from it must be JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "xatum.h"

static enum xatum_kind	 expect_kind(json_t *, json_t **, char *);
static void		 check_field(const char *, const char *, json_t *,
			     const char *, size_t, int);
static void		 check_json(const char *, size_t, const char *);

/* What jansson alone makes of the line: the kind, and the params. */
static enum xatum_kind
expect_kind(json_t *req, json_t **paramsp, char *reqid)
{
	static const char *names[] = { "handshake", "authorize", "submit",
	    "ping" };
	static const enum xatum_kind kinds[] = { XATUM_HANDSHAKE,
	    XATUM_AUTHORIZE, XATUM_SUBMIT, XATUM_PING };
	json_t		*method, *params;
	size_t		 i;

	*paramsp = NULL;
	memcpy(reqid, "null", 5);
	if (req == NULL || !json_is_object(req))
		return XATUM_BAD;
	if (stratum_reqid(json_object_get(req, "id"), reqid) != 0) {
		memcpy(reqid, "null", 5);
		return XATUM_BAD;
	}
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	if (!json_is_string(method))
		return XATUM_BAD;
	if (json_is_object(params))
		*paramsp = params;
	for (i = 0; i < 4; i++) {
		if (strlen(names[i]) == json_string_length(method) &&
		    memcmp(names[i], json_string_value(method),
		    json_string_length(method)) == 0)
			return kinds[i];
	}
	return XATUM_UNKNOWN;
}

/* A decoded field must be what jansson's params say. */
static void
check_field(const char *name, const char *got, json_t *params,
    const char *key, size_t cap, int hex)
{
	json_t		*v = params != NULL ? json_object_get(params, key) : NULL;
	const char	*s;
	size_t		 n;

	if (!json_is_string(v)) {
		if (got != NULL)
			fuzz_fail("%s: \"%s\", but no string in params", name,
			    got);
		return;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (hex && n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	if (n >= cap || memchr(s, '\0', n) != NULL) {
		if (got != NULL)
			fuzz_fail("%s: \"%s\" kept, but it cannot fit", name,
			    got);
		return;
	}
	if (got == NULL)
		fuzz_fail("%s: NULL, but params has \"%.*s\"", name, (int)n, s);
	if (strlen(got) != n || memcmp(got, s, n) != 0)
		fuzz_fail("%s: \"%s\", but params has \"%.*s\"", name, got,
		    (int)n, s);
}

/* An answer line must be one JSON object. */
static void
check_json(const char *line, size_t n, const char *what)
{
	json_t	*j;

	if (n == 0)
		fuzz_fail("%s: not rendered", what);
	if (line[n - 1] != '\n')
		fuzz_fail("%s: no newline", what);
	if ((j = json_loadb(line, n, 0, NULL)) == NULL || !json_is_object(j))
		fuzz_fail("%s is not a JSON object: %s", what, line);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xatum_msg	 x;
	enum xatum_kind		 want;
	json_t			*req, *params;
	char			*line, out[1024], reqid[SLUICE_REQID_MAX];

	fuzz_input(data, size);
	if (size > SLUICE_MAX_LINE)
		return 0;
	/* As wire.cc hands a line up: NUL-terminated, writable. */
	line = (char *)malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	req = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    NULL);
	want = expect_kind(req, &params, reqid);

	xatum_decode(line, size, &x);
	if (x.kind != want)
		fuzz_fail("kind %s, jansson says %s", xatum_kind_text(x.kind),
		    xatum_kind_text(want));
	if (want != XATUM_BAD) {
		check_field("address", x.address, params, "address",
		    sizeof x.address_buf, 0);
		check_field("worker", x.worker, params, "worker",
		    sizeof x.worker_buf, 0);
		check_field("password", x.password, params, "password",
		    sizeof x.password_buf, 0);
		check_field("agent", x.agent, params, "agent",
		    sizeof x.agent_buf, 0);
		check_field("job_id", x.job_id, params, "job_id",
		    sizeof x.job_id_buf, 0);
		check_field("nonce", x.nonce, params, "nonce",
		    sizeof x.nonce_buf, 1);
		check_field("result", x.result, params, "result",
		    sizeof x.result_buf, 1);
	}
	if (strcmp(x.reqid, reqid) != 0)
		fuzz_fail("id %s, jansson says %s", x.reqid, reqid);

	check_json(out, xatum_error_line(out, sizeof out, x.reqid,
	    "Invalid method"), "error line");
	check_json(out, xatum_true_line(out, sizeof out, x.reqid), "true line");
	check_json(out, xatum_pong_line(out, sizeof out, x.reqid), "pong");
	check_json(out, xatum_handshake_line(out, sizeof out, x.reqid,
	    "0123456789abcdef", 1000), "handshake answer");
	if (x.agent != NULL)
		check_json(out, xatum_error_line(out, sizeof out, x.reqid,
		    x.agent), "error with the agent as message");

	json_decref(req);
	free(line);
	return 0;
}
