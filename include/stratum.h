/*
 * stratum.h: the wire format: hex, targets, request ids, reply lines and the
 * in-place scanner of flat JSON objects (stratum.cc). Pure, unit-tested.
 */
#ifndef SLUICE_STRATUM_H
#define SLUICE_STRATUM_H

#include "sluice.h"

/* stratum.cc: wire format helpers; pure, unit-tested. */
int		 stratum_is_hex(const char *, size_t);
uint64_t	 stratum_target_diff(const char *hex, size_t len);
void		 stratum_diff_target(uint64_t diff, char out[9]);
uint64_t	 stratum_result_diff(const char *hex64);
int		 stratum_nonce_byte3(const char *nonce8);
int		 stratum_hexval(char);
void		 stratum_hex_byte(uint8_t, char out[2]);
int		 stratum_reqid(json_t *, char out[SLUICE_REQID_MAX]);
void		 stratum_random_hex(char *out, size_t len);
size_t		 stratum_error_line(char *buf, size_t cap, const char *reqid,
		     const char *message);
size_t		 stratum_rpc_error_line(char *buf, size_t cap,
		     const char *reqid, int code, const char *message);
size_t		 stratum_status_line(char *buf, size_t cap, const char *reqid,
		     const char *status);

/* A flat JSON object scanned in place (stratum_scan). */
#define JFLAT_MAX	12
struct jmember {
	const char	*key;
	size_t		 klen;
	const char	*val;		/* strings: NUL-terminated in place */
	size_t		 vlen;
	char		 type;		/* s n o a z t f */
};
struct jobj {
	struct jmember	 m[JFLAT_MAX];
	int		 n;
};
struct jflat {
	struct jobj	 top;
	struct jobj	 sub;		/* the one nested object allowed */
};
int		 stratum_scan(char *line, size_t len, struct jflat *);
void		 stratum_terminate(struct jflat *);
const struct jmember *stratum_member(const struct jobj *, const char *);
int		 stratum_is(const struct jmember *, const char *);
int		 stratum_array_next(const struct jmember *, const char **,
		     const char **, size_t *);


#endif /* SLUICE_STRATUM_H */
