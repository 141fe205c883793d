/*
 * test_tls.cc: unit tests for src/tls.cc's miner-facing context: the
 * self-signed certificate made when TLS is on without one (as
 * xmrig-proxy makes one), tls.ciphersuites and tls.dhparam.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/dh.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "sluice.h"
#include "config.h"
#include "tls.h"

TestSuite(tls);

#define BIND_POOL "\"bind\":[\"127.0.0.1:3333\"]," \
		"\"pools\":[{\"url\":\"pool.example.com:3333\"}]"

/* One load: the temp file, the snapshot, the server context, messages. */
struct load {
	char		 path[64];
	struct config	*conf;
	SSL_CTX		*ctx;
	int		 rc;
	struct strlist	 errors;
	struct strlist	 warnings;
};

/* Write "{BIND_POOL, extra}" to a temp file, load it and build its ctx. */
static void
load(struct load *l, const char *extra)
{
	char	*text;
	int	 fd;

	memset(l, 0, sizeof(*l));
	cr_assert(asprintf(&text, "{" BIND_POOL "%s%s}", *extra ? "," : "",
	    extra) != -1);
	snprintf(l->path, sizeof(l->path), "/tmp/sluice-test-XXXXXX");
	fd = mkstemp(l->path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	free(text);
	l->conf = config_load(l->path, &l->errors, &l->warnings);
	l->rc = -1;
	if (l->conf != NULL)
		l->rc = tls_server_load(l->conf, &l->ctx, &l->errors);
}

/* Release a load. */
static void
done(struct load *l)
{
	tls_server_free(l->ctx);
	config_unref(l->conf);
	strlist_clear(&l->errors);
	strlist_clear(&l->warnings);
	unlink(l->path);
}

/* Does some entry of a list contain both a and b? */
static int
has(const struct strlist *list, const char *a, const char *b)
{
	size_t	 i;

	for (i = 0; i < list->n; i++) {
		if (strstr(list->v[i], a) != NULL &&
		    (b == NULL || strstr(list->v[i], b) != NULL))
			return 1;
	}
	return 0;
}

/* The CN of a context's certificate, into buf. */
static void
ctx_cn(SSL_CTX *ctx, char *buf, size_t len)
{
	X509	*x = SSL_CTX_get0_certificate(ctx);

	cr_assert_not_null(x);
	cr_assert_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, buf, (int)len), 0);
}

Test(tls, no_tls_no_context)
{
	struct load	 l;

	load(&l, "");
	cr_assert_eq(l.rc, 0);
	cr_assert_null(l.ctx);
	cr_assert_not(has(&l.warnings, "self-signed", NULL));
	done(&l);
}

Test(tls, enabled_without_cert_is_self_signed)
{
	struct load	 l;
	char		 cn[80], want[80];
	X509		*x;
	GENERAL_NAMES	*san;
	time_t		 t;
	int		 dns_localhost = 0, ip_local = 0, i;

	load(&l, "\"tls\":{\"enabled\":true,\"cert\":null,\"cert_key\":null}");
	cr_assert_not_null(l.conf, "refused: %s", l.errors.n ?
	    l.errors.v[0] : "");
	cr_assert_eq(l.rc, 0, "%s", l.errors.n ? l.errors.v[0] : "");
	cr_assert_not_null(l.ctx);
	cr_assert(has(&l.warnings, "tls:", "self-signed"),
	    "no warning that says so");
	tls_self_signed_name(l.conf, want, sizeof want);
	cr_assert(has(&l.warnings, l.path, want));
	ctx_cn(l.ctx, cn, sizeof cn);
	cr_assert_str_eq(cn, want);

	/* localhost and 127.0.0.1 as alternative names; about ten years. */
	x = SSL_CTX_get0_certificate(l.ctx);
	san = (GENERAL_NAMES *)X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL);
	cr_assert_not_null(san);
	for (i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		if (g->type == GEN_DNS && ASN1_STRING_length(g->d.dNSName) ==
		    9 && memcmp(ASN1_STRING_get0_data(g->d.dNSName),
		    "localhost", 9) == 0)
			dns_localhost = 1;
		if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) ==
		    4 && memcmp(ASN1_STRING_get0_data(g->d.iPAddress),
		    "\x7f\0\0\x01", 4) == 0)
			ip_local = 1;
	}
	GENERAL_NAMES_free(san);
	cr_assert(dns_localhost && ip_local);
	t = time(NULL) + 9L * 365 * 86400;
	cr_assert_gt(X509_cmp_time(X509_get0_notAfter(x), &t), 0,
	    "valid for less than nine years");
	done(&l);
}

/* Write text to l->path and load it (without BIND_POOL). */
static void
load_text(struct load *l, const char *text)
{
	int	 fd;

	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "/tmp/sluice-test-XXXXXX");
	fd = mkstemp(l->path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	l->conf = config_load(l->path, &l->errors, &l->warnings);
	l->rc = -1;
	if (l->conf != NULL)
		l->rc = tls_server_load(l->conf, &l->ctx, &l->errors);
}

Test(tls, tls_bind_alone_is_self_signed)
{
	struct load	 l;
	char		 cn[80];

	/* tls.gen alone turns nothing on. */
	load(&l, "\"tls\":{\"gen\":\"proxy.example.com\"}");
	cr_assert_eq(l.rc, 0);
	cr_assert_null(l.ctx);
	done(&l);
	load_text(&l, "{\"bind\":[{\"host\":\"127.0.0.1\",\"port\":3333,"
	    "\"tls\":true}],\"pools\":[{\"url\":\"p.example.com:1\"}],"
	    "\"tls\":{\"gen\":\"proxy.example.com\"}}");
	cr_assert_eq(l.rc, 0, "%s", l.errors.n ? l.errors.v[0] : "");
	cr_assert_not_null(l.ctx);
	ctx_cn(l.ctx, cn, sizeof cn);
	cr_assert_str_eq(cn, "proxy.example.com", "tls.gen names it");
	cr_assert(has(&l.warnings, "self-signed", "proxy.example.com"));
	done(&l);
}

Test(tls, same_certificate_across_reloads)
{
	struct load	 a, b;
	unsigned char	 da[32], db[32];
	unsigned int	 n;

	load(&a, "\"tls\":{\"enabled\":true}");
	load(&b, "\"tls\":{\"enabled\":true}");
	cr_assert(a.ctx != NULL && b.ctx != NULL);
	cr_assert(X509_digest(SSL_CTX_get0_certificate(a.ctx), EVP_sha256(),
	    da, &n) == 1 && n == 32);
	cr_assert(X509_digest(SSL_CTX_get0_certificate(b.ctx), EVP_sha256(),
	    db, &n) == 1 && n == 32);
	cr_assert_eq(memcmp(da, db, 32), 0, "a reload made a new certificate");
	done(&a);
	done(&b);
}

Test(tls, cert_without_key_is_an_error)
{
	struct load	 l;

	load(&l, "\"tls\":{\"enabled\":true,\"cert\":\"c.pem\"}");
	cr_assert_null(l.conf);
	cr_assert(has(&l.errors, "tls.cert_key", NULL));
	done(&l);
	load(&l, "\"tls\":{\"enabled\":true,\"cert_key\":\"k.pem\"}");
	cr_assert_null(l.conf);
	cr_assert(has(&l.errors, "tls.cert:", NULL));
	done(&l);
}

Test(tls, cert_key_spelled_with_a_dash)
{
	struct load	 l;

	load(&l, "\"tls\":{\"enabled\":true,\"cert\":\"c.pem\","
	    "\"cert-key\":\"k.pem\"}");
	cr_assert_not_null(l.conf);
	cr_assert(strstr(l.conf->tls.cert_key, "/k.pem") != NULL);
	cr_assert_neq(l.rc, 0, "c.pem does not exist");
	cr_assert(has(&l.errors, "tls.cert", "c.pem"));
	done(&l);
}

Test(tls, bad_gen_is_an_error)
{
	struct load	 l;

	load(&l, "\"tls\":{\"enabled\":true,\"gen\":\"a,DNS:evil\"}");
	cr_assert_null(l.conf);
	cr_assert(has(&l.errors, "tls.gen", NULL));
	done(&l);
}

Test(tls, ciphersuites)
{
	struct load	 l;

	load(&l, "\"tls\":{\"enabled\":true,\"ciphersuites\":"
	    "\"TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256\"}");
	cr_assert_eq(l.rc, 0, "%s", l.errors.n ? l.errors.v[0] : "");
	cr_assert_str_eq(l.conf->tls.ciphersuites,
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
	done(&l);
	load(&l, "\"tls\":{\"enabled\":true,\"ciphersuites\":\"BOGUS\"}");
	cr_assert_neq(l.rc, 0);
	cr_assert(has(&l.errors, "tls.ciphersuites", "BOGUS"));
	done(&l);
}

Test(tls, empty_strings_are_null)
{
	struct load	 l;

	load(&l, "\"tls\":{\"enabled\":true,\"cert\":\"\",\"cert_key\":\"\","
	    "\"ciphers\":\"\",\"ciphersuites\":\"\",\"dhparam\":\"\"}");
	cr_assert_eq(l.rc, 0, "%s", l.errors.n ? l.errors.v[0] : "");
	cr_assert_null(l.conf->tls.cert);
	cr_assert_null(l.conf->tls.ciphersuites);
	done(&l);
}

/* Write DH parameters (RFC 7919's ffdhe2048) to a new temp file. */
static void
write_dhparam(char path[64])
{
	EVP_PKEY_CTX	*pc;
	EVP_PKEY	*params = NULL;
	BIO		*bio;
	int		 fd;

	snprintf(path, 64, "/tmp/sluice-dh-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
	cr_assert_not_null(pc);
	cr_assert_eq(EVP_PKEY_paramgen_init(pc), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_dh_nid(pc, NID_ffdhe2048), 1);
	cr_assert_eq(EVP_PKEY_paramgen(pc, &params), 1);
	bio = BIO_new_file(path, "w");
	cr_assert_not_null(bio);
	cr_assert_eq(PEM_write_bio_Parameters(bio, params), 1);
	BIO_free(bio);
	EVP_PKEY_free(params);
	EVP_PKEY_CTX_free(pc);
}

Test(tls, dhparam)
{
	struct load	 l;
	char		 path[64], *extra;

	load(&l, "\"tls\":{\"enabled\":true,\"dhparam\":\"no-such.pem\"}");
	cr_assert_neq(l.rc, 0);
	cr_assert(has(&l.errors, "tls.dhparam", "no-such.pem"));
	done(&l);
	write_dhparam(path);
	cr_assert(asprintf(&extra, "\"tls\":{\"enabled\":true,"
	    "\"dhparam\":\"%s\"}", path) != -1);
	load(&l, extra);
	cr_assert_eq(l.rc, 0, "%s", l.errors.n ? l.errors.v[0] : "");
	done(&l);
	free(extra);
	unlink(path);
}
