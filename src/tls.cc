/*
 * tls.cc: OpenSSL contexts. The miner-facing server context is built from
 * the config (cert, cert_key, protocols, ciphers) and swapped on reload, so
 * a rotated certificate applies to new connections while existing
 * sessions keep theirs; a bad certificate fails the reload and the old
 * context stays. Pool-facing client contexts (verifying or not) are made
 * once. Also the SHA-256 certificate fingerprint used for pinning.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <arpa/inet.h>

#include "config.h"
#include "stratum.h"
#include "tls.h"

static SSL_CTX	*tls_server_ctx;
static SSL_CTX	*tls_client_ctx[2];	/* [0] no verify, [1] verify */

static int	 tls_protocols(SSL_CTX *, const char *);

/* Does the config ask for a miner-facing TLS context? */
int
tls_server_wanted(const struct config *c)
{
	return c->tls.enabled && c->tls.cert != NULL && c->tls.cert_key != NULL;
}

/* Apply "TLSv1.2 TLSv1.3"-style protocol lists as a min/max range. */
static int
tls_protocols(SSL_CTX *ctx, const char *list)
{
	static const struct {
		const char	*name;
		int		 version;
	} names[] = {
		{ "TLSv1", TLS1_VERSION }, { "TLSv1.0", TLS1_VERSION },
		{ "TLSv1.1", TLS1_1_VERSION }, { "TLSv1.2", TLS1_2_VERSION },
		{ "TLSv1.3", TLS1_3_VERSION },
	};
	char	 buf[256], *tok, *save;
	int	 lo = 0, hi = 0, v;
	size_t	 i;

	xstrlcpy(buf, list, sizeof buf);
	for (tok = strtok_r(buf, " ,", &save); tok != NULL;
	    tok = strtok_r(NULL, " ,", &save)) {
		v = 0;
		for (i = 0; i < sizeof names / sizeof names[0]; i++) {
			if (strcasecmp(tok, names[i].name) == 0)
				v = names[i].version;
		}
		if (v == 0)
			return -1;
		if (lo == 0 || v < lo)
			lo = v;
		if (v > hi)
			hi = v;
	}
	if (lo == 0)
		return -1;
	SSL_CTX_set_min_proto_version(ctx, lo);
	SSL_CTX_set_max_proto_version(ctx, hi);
	return 0;
}

/*
 * Build the server context for a config into *out (NULL when the config
 * has no TLS). Returns -1 with the reason in errors.
 */
int
tls_server_load(const struct config *c, SSL_CTX **out, struct strlist *errors)
{
	SSL_CTX		*ctx;
	unsigned long	 e;
	char		 buf[256];

	*out = NULL;
	if (!tls_server_wanted(c))
		return 0;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto ssl_error;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (c->tls.protocols != NULL && tls_protocols(ctx, c->tls.protocols)) {
		strlist_add(errors, "%s: tls.protocols: cannot parse \"%s\"",
		    c->path, c->tls.protocols);
		SSL_CTX_free(ctx);
		return -1;
	}
	if (c->tls.ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, c->tls.ciphers) != 1) {
		strlist_add(errors, "%s: tls.ciphers: no usable cipher in \"%s\"",
		    c->path, c->tls.ciphers);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls.cert) != 1) {
		e = ERR_get_error();
		ERR_error_string_n(e, buf, sizeof buf);
		strlist_add(errors, "%s: tls.cert: cannot load %s: %s",
		    c->path, c->tls.cert, buf);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls.cert_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		e = ERR_get_error();
		ERR_error_string_n(e, buf, sizeof buf);
		strlist_add(errors, "%s: tls.cert_key: cannot use %s: %s",
		    c->path, c->tls.cert_key, buf);
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	*out = ctx;
	return 0;
ssl_error:
	strlist_add(errors, "%s: tls: cannot create an OpenSSL context",
	    c->path);
	return -1;
}

/* Make ctx the live server context (NULL: no inbound TLS). */
void
tls_server_swap(SSL_CTX *ctx)
{
	tls_server_free(tls_server_ctx);
	tls_server_ctx = ctx;
}

/* Free a server context from tls_server_load() that is not live. */
void
tls_server_free(SSL_CTX *ctx)
{
	if (ctx != NULL)
		SSL_CTX_free(ctx);
}

/* The live server context, or NULL. */
SSL_CTX *
tls_server(void)
{
	return tls_server_ctx;
}

/* The client context for pools, verifying the chain or not. */
SSL_CTX *
tls_client(int verify)
{
	SSL_CTX	*ctx;

	verify = verify != 0;
	if ((ctx = tls_client_ctx[verify]) != NULL)
		return ctx;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("tls: cannot create a client context");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (verify) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			log_ssl_errors("tls: system CA store");
	} else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	tls_client_ctx[verify] = ctx;
	return ctx;
}

/* Free every context (exit). */
void
tls_shutdown(void)
{
	tls_server_swap(NULL);
	for (int i = 0; i < 2; i++) {
		if (tls_client_ctx[i] != NULL)
			SSL_CTX_free(tls_client_ctx[i]);
		tls_client_ctx[i] = NULL;
	}
}

/* Lower-case hex SHA-256 of the peer certificate's DER; -1 without one. */
int
tls_fingerprint(SSL *ssl, char out[65])
{
	X509		*cert;
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 len = 0, i;

	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return -1;
	if (X509_digest(cert, EVP_sha256(), md, &len) != 1 || len != 32) {
		X509_free(cert);
		return -1;
	}
	X509_free(cert);
	for (i = 0; i < len; i++)
		stratum_hex_byte(md[i], out + 2 * i);
	out[64] = '\0';
	return 0;
}

/* Is a host name an IP literal (no SNI for those)? */
int
tls_is_ip(const char *host)
{
	unsigned char	 buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}
