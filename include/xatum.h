/*
 * xatum.h: Xatum, a TLS-only JSON-lines mining protocol (xatum.cc): its
 * messages decoded into what the miner's stratum state machine takes,
 * and the miner's answers and jobs rendered in Xatum's shapes. Pure,
 * unit-tested; miner.cc does the mapping onto login and submit.
 */
#ifndef SLUICE_XATUM_H
#define SLUICE_XATUM_H

#include "sluice.h"

struct job;

#define XATUM_VERSION	"1.0.0"
#define XATUM_PROTOCOL	"xatum/1.0"

enum xatum_kind {
	XATUM_BAD,		/* not a JSON object, or a bad id */
	XATUM_UNKNOWN,		/* a method sluice does not serve */
	XATUM_HANDSHAKE,
	XATUM_AUTHORIZE,
	XATUM_SUBMIT,
	XATUM_PING
};

/*
 * One decoded message. A string field is NULL when absent, of the wrong
 * type or too long; nonce and result lose a "0x" prefix.
 */
struct xatum_msg {
	enum xatum_kind	 kind;
	char		 reqid[SLUICE_REQID_MAX];	/* JSON text of the id */
	const char	*address;	/* authorize */
	const char	*worker;
	const char	*password;
	const char	*agent;		/* handshake */
	const char	*job_id;	/* submit */
	const char	*nonce;
	const char	*result;

	char		 address_buf[1025];
	char		 worker_buf[257];
	char		 password_buf[257];
	char		 agent_buf[257];
	char		 job_id_buf[129];
	char		 nonce_buf[9];
	char		 result_buf[65];
};

void		 xatum_decode(char *line, size_t len, struct xatum_msg *);
const char	*xatum_kind_text(enum xatum_kind);
size_t		 xatum_handshake_line(char *buf, size_t cap, const char *reqid,
		     const char *session, uint64_t diff);
size_t		 xatum_true_line(char *buf, size_t cap, const char *reqid);
size_t		 xatum_error_line(char *buf, size_t cap, const char *reqid,
		     const char *message);
size_t		 xatum_pong_line(char *buf, size_t cap, const char *reqid);
size_t		 xatum_job_line(char *buf, size_t cap, const struct job *,
		     int slot, const char *target, uint64_t diff);

#endif /* SLUICE_XATUM_H */
