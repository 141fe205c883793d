/*
 * tls.cc: OpenSSL contexts. The miner-facing server context is built from
 * the config (cert, cert_key, protocols, ciphers) and swapped on reload, so
 * a rotated certificate applies to new connections while existing
 * sessions keep theirs; a bad certificate fails the reload and the old
 * context stays. Pool-facing client contexts (verifying or not) are made
 * once. Also the SHA-256 certificate fingerprint used for pinning, and
 * the self-signed certificate made when TLS is on without one, as
 * xmrig-proxy makes one.
 */
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <arpa/inet.h>

#include "config.h"
#include "stratum.h"
#include "tls.h"

#define TLS_GEN_DAYS	3650	/* the self-signed certificate's life */

static SSL_CTX	*tls_server_ctx;
static SSL_CTX	*tls_client_ctx[2];	/* [0] no verify, [1] verify */

/*
 * The last self-signed certificate, kept so that reloads serve the same
 * one (a miner pinning its fingerprint survives them); made again only
 * when its name changes.
 */
static X509	*tls_gen_cert;
static EVP_PKEY	*tls_gen_key;
static char	 tls_gen_cn[TLS_NAME_MAX + 1];

static int	 tls_protocols(SSL_CTX *, const char *);
static int	 tls_gen_ext(X509 *, int, const char *);
static int	 tls_gen(const char *);
static int	 tls_server_cert(const struct config *, SSL_CTX *,
		     struct strlist *);
static void	 tls_error(const struct config *, struct strlist *,
		     const char *, const char *, const char *);

/*
 * Does the config ask for a miner-facing TLS context: tls.enabled, or a
 * bind with "tls": true? Without a certificate, one is made.
 */
int
tls_server_wanted(const struct config *c)
{
	size_t	 i;

	if (c->tls.enabled)
		return 1;
	for (i = 0; i < c->nbinds; i++) {
		if (c->binds[i].tls)
			return 1;
	}
	return 0;
}

/* Can s name a certificate: letters, digits, "-", "." and "_", 1 to 64? */
int
tls_name_ok(const char *s)
{
	size_t	 n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._");

	return n > 0 && n <= TLS_NAME_MAX && s[n] == '\0';
}

/*
 * The name a self-signed certificate for c is made for: tls.gen, else the
 * host name, else "sluice".
 */
const char *
tls_self_signed_name(const struct config *c, char *buf, size_t len)
{
	char	 host[256];

	if (c->tls.gen != NULL)
		xstrlcpy(buf, c->tls.gen, len);
	else if (gethostname(host, sizeof host) == 0 &&
	    (host[sizeof host - 1] = '\0', tls_name_ok(host)))
		xstrlcpy(buf, host, len);
	else
		xstrlcpy(buf, "sluice", len);
	return buf;
}

/* Add one X509v3 extension, in openssl.cnf's syntax, to a certificate. */
static int
tls_gen_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX	 v3;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/*
 * Make the self-signed certificate for cn, unless the one kept is for
 * cn already: an EC P-256 key, ten years, subject and issuer CN=cn, and
 * cn, localhost and 127.0.0.1 as alternative names. cn passed
 * tls_name_ok(), so it cannot add names of its own to the list.
 */
static int
tls_gen(const char *cn)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	X509_NAME	*name;
	BIGNUM		*bn = NULL;
	unsigned char	 serial[16];
	char		 san[TLS_NAME_MAX + 64];

	if (tls_gen_cert != NULL && strcmp(tls_gen_cn, cn) == 0)
		return 0;
	if ((key = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL ||
	    RAND_bytes(serial, sizeof serial) != 1)
		goto fail;
	serial[0] &= 0x7f;	/* positive */
	if ((bn = BN_bin2bn(serial, sizeof serial, NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_GEN_DAYS, 0,
	    NULL) == NULL || X509_set_pubkey(x, key) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;
	if (strcmp(cn, "localhost") == 0)
		xstrlcpy(san, "DNS:localhost,IP:127.0.0.1", sizeof san);
	else
		snprintf(san, sizeof san, "%s:%s,DNS:localhost,IP:127.0.0.1",
		    tls_is_ip(cn) ? "IP" : "DNS", cn);
	if (tls_gen_ext(x, NID_subject_alt_name, san) != 0 ||
	    tls_gen_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    tls_gen_ext(x, NID_ext_key_usage, "serverAuth") != 0 ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	BN_free(bn);
	X509_free(tls_gen_cert);
	EVP_PKEY_free(tls_gen_key);
	tls_gen_cert = x;
	tls_gen_key = key;
	xstrlcpy(tls_gen_cn, cn, sizeof tls_gen_cn);
	return 0;
fail:
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(key);
	return -1;
}

/* Add "FILE: KEY: what: the OpenSSL error" to errors; clear the queue. */
static void
tls_error(const struct config *c, struct strlist *errors, const char *key,
    const char *what, const char *arg)
{
	char	 buf[256] = "";

	ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
	ERR_clear_error();
	strlist_add(errors, "%s: %s: %s %s: %s", c->path, key, what, arg, buf);
}

/* Put the configured, or a self-signed, certificate and key into ctx. */
static int
tls_server_cert(const struct config *c, SSL_CTX *ctx, struct strlist *errors)
{
	char	 cn[TLS_NAME_MAX + 1];

	if (c->tls.cert == NULL) {
		tls_self_signed_name(c, cn, sizeof cn);
		if (tls_gen(cn) != 0 ||
		    SSL_CTX_use_certificate(ctx, tls_gen_cert) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, tls_gen_key) != 1) {
			tls_error(c, errors, "tls", "cannot make a certificate "
			    "for", cn);
			return -1;
		}
		return 0;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls.cert) != 1) {
		tls_error(c, errors, "tls.cert", "cannot load", c->tls.cert);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls.cert_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(c, errors, "tls.cert_key", "cannot use",
		    c->tls.cert_key);
		return -1;
	}
	return 0;
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
	EVP_PKEY	*dh = NULL;
	BIO		*bio;

	*out = NULL;
	if (!tls_server_wanted(c))
		return 0;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		strlist_add(errors, "%s: tls: cannot create an OpenSSL context",
		    c->path);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (c->tls.protocols != NULL && tls_protocols(ctx, c->tls.protocols)) {
		strlist_add(errors, "%s: tls.protocols: cannot parse \"%s\"",
		    c->path, c->tls.protocols);
		goto fail;
	}
	if (c->tls.ciphers != NULL &&
	    SSL_CTX_set_cipher_list(ctx, c->tls.ciphers) != 1) {
		strlist_add(errors, "%s: tls.ciphers: no usable cipher in \"%s\"",
		    c->path, c->tls.ciphers);
		goto fail;
	}
	if (c->tls.ciphersuites != NULL &&
	    SSL_CTX_set_ciphersuites(ctx, c->tls.ciphersuites) != 1) {
		strlist_add(errors, "%s: tls.ciphersuites: no usable TLS 1.3 "
		    "ciphersuite in \"%s\"", c->path, c->tls.ciphersuites);
		goto fail;
	}
	if (c->tls.dhparam != NULL) {
		if ((bio = BIO_new_file(c->tls.dhparam, "r")) != NULL) {
			dh = PEM_read_bio_Parameters(bio, NULL);
			BIO_free(bio);
		}
		if (dh == NULL || SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
			EVP_PKEY_free(dh);
			tls_error(c, errors, "tls.dhparam", "cannot load",
			    c->tls.dhparam);
			goto fail;
		}
	}
	if (tls_server_cert(c, ctx, errors) != 0)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	*out = ctx;
	return 0;
fail:
	ERR_clear_error();
	SSL_CTX_free(ctx);
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
	X509_free(tls_gen_cert);
	EVP_PKEY_free(tls_gen_key);
	tls_gen_cert = NULL;
	tls_gen_key = NULL;
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
