/*
 * share.h: a share in flight, from a miner's submit to its one end in
 * share_finish() (share.cc).
 */
#ifndef SLUICE_SHARE_H
#define SLUICE_SHARE_H

#include "sluice.h"

/* share.cc */
enum share_result {
	SHARE_ACCEPTED,		/* pool said OK */
	SHARE_REJECTED,		/* pool said no */
	SHARE_INVALID,		/* failed a local check */
	SHARE_DUPLICATE,	/* nonce already seen for that job */
	SHARE_LOCAL,		/* met custom diff only: OK, not forwarded */
	SHARE_BAD_GATEWAY,	/* no upstream to send it to */
	SHARE_TIMEOUT,		/* pool never answered */
	SHARE_LOST		/* its pool connection ended first */
};

/*
 * A share in flight. Holds a reference on its miner until it ends in
 * share_finish(), which is the only place a share ends.
 */
struct share {
	struct miner	*miner;
	char		 reqid[SLUICE_REQID_MAX];
	char		 nonce[9];
	uint32_t	 nonce_le;
	char		 result[65];
	uint64_t	 diff;		/* actual, from result */
	uint64_t	 pool_diff;	/* difficulty of its job at the pool */
	int		 expired;	/* for the previous job */
	int64_t		 seq;		/* pool request id */
	struct timespec	 sent;
	TAILQ_ENTRY(share) entry;
};
TAILQ_HEAD(shareq, share);

struct share	*share_new(struct miner *);
void		 share_finish(struct share *, enum share_result,
		     const char *message);
const char	*share_result_text(enum share_result);
size_t		 share_inflight(void);


#endif /* SLUICE_SHARE_H */
