/*
 * stratum.h: the wire format: hex, targets, request ids, reply lines, the
 * in-place scanner of flat JSON objects and line framing (stratum.cc).
 * Pure, unit-tested.
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
size_t		 stratum_escape(char *buf, size_t cap, const char *);
size_t		 stratum_error_line(char *buf, size_t cap, const char *reqid,
		     const char *message);
size_t		 stratum_rpc_error_line(char *buf, size_t cap,
		     const char *reqid, int code, const char *message);
size_t		 stratum_status_line(char *buf, size_t cap, const char *reqid,
		     const char *status);
int		 stratum_utf8_ok(const char *, size_t);
size_t		 stratum_utf8_len(const unsigned char *);

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

/*
 * Line framing, for both sides' sockets (wire.cc, pool.cc). A read goes
 * into a shared buffer after the connection's kept partial line; its
 * complete lines go up in place, with no copy and no allocation, and only
 * a trailing partial line is kept, in a buffer of its own that exists
 * while one is pending.
 */
#define STRATUM_RBUF	(SLUICE_MAX_LINE + 65536)	/* a read buffer */
struct stratum_part {
	char		*buf;		/* a partial line, or NULL */
	uint32_t	 len;
};
/* One complete line (NUL-terminated, not empty): 0, or -1 to stop. */
typedef int	(*stratum_line_fn)(void *, char *, size_t);
enum stratum_frame {
	STRATUM_FRAMED,		/* every line handed up, a partial kept */
	STRATUM_STOPPED,	/* the line callback stopped it */
	STRATUM_TOO_LONG	/* a line over SLUICE_MAX_LINE */
};
size_t		 stratum_part_take(struct stratum_part *, char *);
void		 stratum_part_keep(struct stratum_part *, const char *, size_t);
void		 stratum_part_free(struct stratum_part *);
enum stratum_frame stratum_frame(struct stratum_part *, char *, size_t,
		     uint64_t *rx, stratum_line_fn, void *);
extern const char *stratum_long_line;	/* the last STRATUM_TOO_LONG's */
extern size_t	 stratum_long_len;

#endif /* SLUICE_STRATUM_H */
