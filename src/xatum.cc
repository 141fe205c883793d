/*
 * xatum.cc: Xatum's messages, one JSON object per line over TLS:
 *	handshake {version, protocol}	-> version, protocol, session_id,
 *					   difficulty
 *	authorize {address, worker}	-> the stratum login (miner.cc)
 *	submit {job_id, nonce, result}	-> the stratum submit
 *	ping				-> pong
 *	job pushes			<- the upstream's job, per miner
 * Ids are strings (numbers are taken too); hex fields carry "0x", which
 * is taken off on the way in and put on on the way out. Submits come by
 * the thousand, so a plain line is scanned in place (stratum_scan) and
 * only other shapes go to jansson: no allocation per share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "stratum.h"
#include "xatum.h"

static const char *xatum_take(char *, size_t, const char *, size_t, int);
static void	 xatum_method(struct xatum_msg *, const char *, size_t);
static int	 xatum_fast(char *, size_t, struct xatum_msg *);
static void	 xatum_slow(const char *, size_t, struct xatum_msg *);
static int	 xatum_error_code(const char *);

/* Name of a message kind, for logs. */
const char *
xatum_kind_text(enum xatum_kind k)
{
	switch (k) {
	case XATUM_BAD:
		return "bad";
	case XATUM_UNKNOWN:
		return "unknown";
	case XATUM_HANDSHAKE:
		return "handshake";
	case XATUM_AUTHORIZE:
		return "authorize";
	case XATUM_SUBMIT:
		return "submit";
	case XATUM_PING:
		return "ping";
	}
	return "unknown";
}

/*
 * Copy a string field of n bytes into dst (cap bytes with the NUL); hex
 * fields lose a "0x" prefix. Returns dst, or NULL if it does not fit.
 */
static const char *
xatum_take(char *dst, size_t cap, const char *s, size_t n, int hex)
{
	if (s == NULL)
		return NULL;
	if (hex && n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		n -= 2;
	}
	if (n >= cap || memchr(s, '\0', n) != NULL)
		return NULL;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return dst;
}

/* Set the kind from the method name. */
static void
xatum_method(struct xatum_msg *x, const char *name, size_t n)
{
	static const struct {
		const char	*name;
		enum xatum_kind	 kind;
	} methods[] = {
		{ "handshake", XATUM_HANDSHAKE },
		{ "authorize", XATUM_AUTHORIZE },
		{ "submit", XATUM_SUBMIT },
		{ "ping", XATUM_PING },
	};
	size_t	 i;

	x->kind = XATUM_UNKNOWN;
	for (i = 0; name != NULL && i < sizeof methods / sizeof methods[0];
	    i++) {
		if (strlen(methods[i].name) == n &&
		    memcmp(methods[i].name, name, n) == 0) {
			x->kind = methods[i].kind;
			return;
		}
	}
}

/* A plain line scanned in place. Returns 0, or -1: jansson decides. */
static int
xatum_fast(char *line, size_t len, struct xatum_msg *x)
{
	struct jflat		 f;
	const struct jmember	*method, *params, *id, *v;
	static const struct {
		const char	*key;
		size_t		 off_ptr, off_buf, cap;
		int		 hex;
	} fields[] = {
#define XF(k, f, h) { k, offsetof(struct xatum_msg, f), \
	offsetof(struct xatum_msg, f##_buf), \
	sizeof ((struct xatum_msg *)0)->f##_buf, h }
		XF("address", address, 0), XF("worker", worker, 0),
		XF("password", password, 0), XF("agent", agent, 0),
		XF("job_id", job_id, 0), XF("nonce", nonce, 1),
		XF("result", result, 1),
#undef XF
	};
	size_t			 i;

	if (stratum_scan(line, len, &f) != 0)
		return -1;
	method = stratum_member(&f.top, "method");
	params = stratum_member(&f.top, "params");
	id = stratum_member(&f.top, "id");
	if (method == NULL || method->type != 's' ||
	    (params != NULL && params->type != 'o' && params->type != 'z'))
		return -1;
	if (id == NULL || id->type == 'z')
		memcpy(x->reqid, "null", 5);
	else if (id->type == 'n')
		snprintf(x->reqid, sizeof x->reqid, "%lld",
		    strtoll(id->val, NULL, 10));
	else if (id->type == 's' && id->vlen <= SLUICE_REQID_MAX / 2 - 2)
		snprintf(x->reqid, sizeof x->reqid, "\"%.*s\"", (int)id->vlen,
		    id->val);
	else
		return -1;
	xatum_method(x, method->val, method->vlen);
	if (params == NULL || params->type != 'o')
		return 0;
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if ((v = stratum_member(&f.sub, fields[i].key)) == NULL ||
		    v->type != 's')
			continue;
		*(const char **)((char *)x + fields[i].off_ptr) = xatum_take(
		    (char *)x + fields[i].off_buf, fields[i].cap, v->val,
		    v->vlen, fields[i].hex);
	}
	return 0;
}

/* Any other line, through jansson. */
static void
xatum_slow(const char *line, size_t len, struct xatum_msg *x)
{
	json_error_t	 err;
	json_t		*req, *method, *params, *v;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (req == NULL || !json_is_object(req) ||
	    stratum_reqid(json_object_get(req, "id"), x->reqid) != 0) {
		x->kind = XATUM_BAD;
		memcpy(x->reqid, "null", 5);
		if (req != NULL)
			json_decref(req);
		return;
	}
	/* From here on the id stands, whatever else is wrong. */
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	if (!json_is_string(method) || (params != NULL &&
	    !json_is_object(params) && !json_is_null(params))) {
		x->kind = json_is_string(method) ? XATUM_UNKNOWN : XATUM_BAD;
		if (json_is_string(method))
			xatum_method(x, json_string_value(method),
			    json_string_length(method));
		/* A known method with bad params: its fields stay NULL. */
		json_decref(req);
		return;
	}
	xatum_method(x, json_string_value(method), json_string_length(method));
#define XS(k, f, h) \
	if (json_is_string(v = json_object_get(params, k))) \
		x->f = xatum_take(x->f##_buf, sizeof x->f##_buf, \
		    json_string_value(v), json_string_length(v), h)
	if (json_is_object(params)) {
		XS("address", address, 0);
		XS("worker", worker, 0);
		XS("password", password, 0);
		XS("agent", agent, 0);
		XS("job_id", job_id, 0);
		XS("nonce", nonce, 1);
		XS("result", result, 1);
	}
#undef XS
	json_decref(req);
}

/*
 * Decode one line (NUL-terminated; it may be changed in place). Never
 * fails: a line that is no message is XATUM_BAD, with its id when one
 * could be read (else null), so that the error answers it.
 */
void
xatum_decode(char *line, size_t len, struct xatum_msg *x)
{
	x->kind = XATUM_BAD;
	memcpy(x->reqid, "null", 5);
	x->address = x->worker = x->password = x->agent = NULL;
	x->job_id = x->nonce = x->result = NULL;
	if (xatum_fast(line, len, x) == 0)
		return;
	x->address = x->worker = x->password = x->agent = NULL;
	x->job_id = x->nonce = x->result = NULL;
	xatum_slow(line, len, x);
}

/* The answer to a handshake. */
size_t
xatum_handshake_line(char *buf, size_t cap, const char *reqid,
    const char *session, uint64_t diff)
{
	int	 n;

	n = snprintf(buf, cap, "{\"id\":%s,\"result\":{\"version\":\""
	    XATUM_VERSION "\",\"protocol\":\"" XATUM_PROTOCOL "\","
	    "\"session_id\":\"0x%s\",\"difficulty\":%llu}}\n", reqid, session,
	    (unsigned long long)diff);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* A request that succeeded (authorize, an accepted share). */
size_t
xatum_true_line(char *buf, size_t cap, const char *reqid)
{
	int	 n;

	n = snprintf(buf, cap, "{\"id\":%s,\"result\":true}\n", reqid);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/*
 * A code for an error message, in the stratum family's numbering (20
 * other, 21 job not found, 22 duplicate, 23 low difficulty, 24
 * unauthorized), so a client can tell them apart without the words.
 */
static int
xatum_error_code(const char *message)
{
	if (strcmp(message, "Unauthenticated") == 0 ||
	    strcmp(message, "Not authorized") == 0)
		return 24;
	if (strcmp(message, "Low difficulty share") == 0)
		return 23;
	if (strcmp(message, "Duplicate share") == 0)
		return 22;
	if (strcmp(message, "Invalid job id") == 0 ||
	    strcmp(message, "Job expired") == 0 ||
	    strcmp(message, "Block expired") == 0)
		return 21;
	return 20;
}

/* An error answer: {"id":..,"error":{"code":N,"message":".."}}. */
size_t
xatum_error_line(char *buf, size_t cap, const char *reqid,
    const char *message)
{
	char	 esc[512];
	int	 n;

	stratum_escape(esc, sizeof esc, message);
	n = snprintf(buf, cap, "{\"id\":%s,\"error\":{\"code\":%d,"
	    "\"message\":\"%s\"}}\n", reqid, xatum_error_code(message), esc);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* The answer to a ping (the seed's {"method":"pong"}, with the id). */
size_t
xatum_pong_line(char *buf, size_t cap, const char *reqid)
{
	int	 n;

	n = snprintf(buf, cap, "{\"id\":%s,\"method\":\"pong\"}\n", reqid);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/*
 * A job push for one miner: the blob as header_hash with the miner's
 * slot (-1: as the pool sent it), its target and difficulty, and what
 * CryptoNote miners need beside (algo, seed_hash). Returns the length,
 * or 0 if cap is too small. No allocation.
 */
size_t
xatum_job_line(char *buf, size_t cap, const struct job *j, int slot,
    const char *target, uint64_t diff)
{
	char	 blob[1025], algo[160], seed[160];
	int	 n;

	if (j->blob_len >= sizeof blob)
		return 0;
	memcpy(blob, j->blob, j->blob_len + 1);
	if (slot >= 0)
		job_blob_slot(blob, j->blob_len, (uint8_t)slot);
	algo[0] = seed[0] = '\0';
	if (j->algo != NULL) {
		memcpy(algo, ",\"algo\":\"", 9);
		n = (int)stratum_escape(algo + 9, sizeof algo - 11, j->algo);
		memcpy(algo + 9 + n, "\"", 2);
	}
	if (j->seed_hash != NULL)
		snprintf(seed, sizeof seed, ",\"seed_hash\":\"%s\"",
		    j->seed_hash);
	n = snprintf(buf, cap, "{\"method\":\"job\",\"result\":{\"id\":%s,"
	    "\"header_hash\":\"0x%s\",\"target\":\"0x%s\",\"height\":%llu,"
	    "\"difficulty\":%llu,\"clean\":true%s%s}}\n", j->qjob_id, blob,
	    target, (unsigned long long)j->height, (unsigned long long)diff,
	    algo, seed);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
