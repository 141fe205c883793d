/*
 * tls.h: the OpenSSL server and client contexts (tls.cc).
 */
#ifndef SLUICE_TLS_H
#define SLUICE_TLS_H

#include "sluice.h"

struct config;

#define TLS_NAME_MAX	64	/* a certificate's CN */

/* tls.cc */
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
int		 tls_server_wanted(const struct config *);
int		 tls_name_ok(const char *);
const char	*tls_self_signed_name(const struct config *, char *, size_t);
int		 tls_server_load(const struct config *, SSL_CTX **,
		     struct strlist *errors);
void		 tls_server_swap(SSL_CTX *);
void		 tls_server_free(SSL_CTX *);
SSL_CTX		*tls_server(void);
SSL_CTX		*tls_client(int verify);
void		 tls_shutdown(void);
int		 tls_fingerprint(SSL *, char out[65]);
int		 tls_is_ip(const char *);

#endif /* SLUICE_TLS_H */
