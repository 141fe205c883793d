/*
 * ws.cc: the WebSocket upgrade (RFC 6455, section 4.2) and the header of a
 * server's frames. The request head is read by wire.cc, bounded by
 * WS_REQUEST_MAX and the login timeout; this file only decides on it.
 * Frames from the client are wslay's business (masking, control frames,
 * UTF-8); a frame to the client is a short header written here and the
 * stratum line, with no copy into a library queue.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ws.h"

/* A request's header fields that decide an upgrade. */
struct ws_req {
	const char	*target;	/* the path, without a query */
	size_t		 target_len;
	int		 upgrade;	/* Upgrade: websocket */
	int		 connection;	/* Connection: ... upgrade ... */
	int		 host;
	const char	*key;
	size_t		 key_len;
	const char	*version;
	size_t		 version_len;
	const char	*origin;
	size_t		 origin_len;
};

static int	 ws_has_token(const char *, size_t, const char *);
static int	 ws_parse(const char *, size_t, struct ws_req *,
		     const char **);

/* Where the request head ends (past the blank line), or 0: not yet. */
size_t
ws_request_end(const char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Does a comma-separated header value hold token (any case)? */
static int
ws_has_token(const char *v, size_t len, const char *token)
{
	size_t		 tlen = strlen(token), n;
	const char	*end = v + len, *p;

	while (v < end) {
		while (v < end && (*v == ' ' || *v == '\t' || *v == ','))
			v++;
		for (p = v; p < end && *p != ','; p++)
			;
		n = (size_t)(p - v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n == tlen && strncasecmp(v, token, n) == 0)
			return 1;
		v = p;
	}
	return 0;
}

/*
 * Split the request line and the header fields of an upgrade request.
 * Returns 0, or the HTTP status that refuses it with *why set.
 */
static int
ws_parse(const char *buf, size_t len, struct ws_req *r, const char **why)
{
	const char	*p = buf, *end = buf + len, *eol, *colon, *v, *sp;
	size_t		 n, vlen;

	memset(r, 0, sizeof *r);
	if ((eol = (const char *)memchr(p, '\n', len)) == NULL) {
		*why = "no request line";
		return 400;
	}
	n = (size_t)(eol - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n < 14 || memcmp(p, "GET ", 4) != 0) {
		*why = "not a GET request";
		return 400;
	}
	if ((sp = (const char *)memchr(p + 4, ' ', n - 4)) == NULL ||
	    (size_t)(p + n - sp - 1) != 8 || memcmp(sp + 1, "HTTP/1.", 7) != 0 ||
	    sp[8] < '1' || sp[8] > '9') {
		*why = "not HTTP/1.1";
		return 400;
	}
	r->target = p + 4;
	r->target_len = (size_t)(sp - r->target);
	if ((v = (const char *)memchr(r->target, '?', r->target_len)) != NULL)
		r->target_len = (size_t)(v - r->target);

	for (p = eol + 1; p < end; p = eol + 1) {
		if ((eol = (const char *)memchr(p, '\n', (size_t)(end - p))) ==
		    NULL)
			break;
		n = (size_t)(eol - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break;		/* the blank line */
		if ((colon = (const char *)memchr(p, ':', n)) == NULL ||
		    colon == p || *p == ' ' || *p == '\t') {
			*why = "malformed header field";
			return 400;
		}
		v = colon + 1;
		vlen = (size_t)(p + n - v);
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
#define WS_IS(name) ((size_t)(colon - p) == sizeof name - 1 && \
	strncasecmp(p, name, sizeof name - 1) == 0)
		if (WS_IS("Host"))
			r->host = 1;
		else if (WS_IS("Upgrade"))
			r->upgrade |= ws_has_token(v, vlen, "websocket");
		else if (WS_IS("Connection"))
			r->connection |= ws_has_token(v, vlen, "upgrade");
		else if (WS_IS("Sec-WebSocket-Key")) {
			r->key = v;
			r->key_len = vlen;
		} else if (WS_IS("Sec-WebSocket-Version")) {
			r->version = v;
			r->version_len = vlen;
		} else if (WS_IS("Origin")) {
			r->origin = v;
			r->origin_len = vlen;
		}
#undef WS_IS
	}
	return 0;
}

/*
 * The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64 of the
 * SHA-1 of the key and the RFC's GUID. -1 unless the key is the base64
 * of 16 bytes.
 */
int
ws_accept_key(const char *key, size_t len, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char	 raw[24], md[SHA_DIGEST_LENGTH];
	char		 cat[24 + sizeof guid];

	if (len != 24 || key[22] != '=' || key[23] != '=' ||
	    EVP_DecodeBlock(raw, (const unsigned char *)key, 24) != 18)
		return -1;
	memcpy(cat, key, 24);
	memcpy(cat + 24, guid, sizeof guid - 1);
	SHA1((const unsigned char *)cat, 24 + sizeof guid - 1, md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof md);
	return 0;
}

/* An HTTP error answer that ends the connection; returns status. */
int
ws_reply(int status, const char *why, char *out, size_t cap, size_t *outlen)
{
	const char	*text;
	int		 n;

	switch (status) {
	case 403:
		text = "Forbidden";
		break;
	case 404:
		text = "Not Found";
		break;
	default:
		text = "Bad Request";
		break;
	}
	n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nConnection: close\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s\n",
	    status, text, strlen(why) + 1,
	    status == 400 ? "Sec-WebSocket-Version: 13\r\n" : "", why);
	*outlen = n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
	return status;
}

/*
 * Decide on an upgrade request head (req, len: through the blank line)
 * for a bind's path and the allowed origins (none: any). Writes the
 * answer to out: 101 with Sec-WebSocket-Accept, or an error that closes
 * (400 bad handshake, 404 another path, 403 another Origin). Returns the
 * status; *why says what was wrong.
 */
int
ws_upgrade(const char *req, size_t len, const char *path,
    char *const *origins, size_t norigins, char *out, size_t cap,
    size_t *outlen, const char **why)
{
	struct ws_req	 r;
	char		 accept[29];
	size_t		 i;
	int		 status, n;

	*why = NULL;
	if ((status = ws_parse(req, len, &r, why)) != 0)
		return ws_reply(status, *why, out, cap, outlen);
	if (r.target_len != strlen(path) ||
	    memcmp(r.target, path, r.target_len) != 0) {
		*why = "no WebSocket at this path";
		return ws_reply(404, *why, out, cap, outlen);
	}
	if (!r.host || !r.upgrade || !r.connection) {
		*why = !r.host ? "no Host" : "not a WebSocket upgrade";
		return ws_reply(400, *why, out, cap, outlen);
	}
	if (r.version == NULL || r.version_len != 2 ||
	    memcmp(r.version, "13", 2) != 0) {
		*why = "Sec-WebSocket-Version is not 13";
		return ws_reply(400, *why, out, cap, outlen);
	}
	if (r.key == NULL || ws_accept_key(r.key, r.key_len, accept) != 0) {
		*why = "bad Sec-WebSocket-Key";
		return ws_reply(400, *why, out, cap, outlen);
	}
	/* A client without an Origin is no browser page: origins are for
	 * pages of other sites. */
	if (norigins > 0 && r.origin != NULL) {
		for (i = 0; i < norigins; i++) {
			if (strlen(origins[i]) == r.origin_len &&
			    strncasecmp(origins[i], r.origin,
			    r.origin_len) == 0)
				break;
		}
		if (i == norigins) {
			*why = "Origin not allowed";
			return ws_reply(403, *why, out, cap, outlen);
		}
	}
	n = snprintf(out, cap, "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	*outlen = n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
	return 101;
}

/*
 * The header of an unmasked, final text frame of payload bytes, as a
 * server sends it. Returns its length (2, 4 or 10).
 */
size_t
ws_frame_head(uint8_t out[WS_FRAME_HEAD], size_t payload)
{
	int	 i;

	out[0] = 0x81;		/* FIN, text */
	if (payload < 126) {
		out[1] = (uint8_t)payload;
		return 2;
	}
	if (payload <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(payload >> 8);
		out[3] = (uint8_t)payload;
		return 4;
	}
	out[1] = 127;
	for (i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)((uint64_t)payload >> (56 - 8 * i));
	return 10;
}
