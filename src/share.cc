/*
 * share.cc: a share's life. A submit becomes a share in miner.cc; the
 * splitter either ends it locally or hands it to a pool; the pool's answer
 * (or its failure, or a timeout) ends it. Every share ends exactly once,
 * here: one reply to the miner, then events_share() for the counters and
 * logs. Shares are recycled through a free list, so the common path does
 * not allocate.
 */
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "miner.h"
#include "share.h"
#include "stats.h"
#include "stratum.h"

static struct shareq	 share_free = TAILQ_HEAD_INITIALIZER(share_free);
static size_t		 share_nfree;
static size_t		 share_live;

#define SHARE_FREE_MAX	4096	/* recycled structs kept */

/* Start a share for a miner; holds a reference on it. */
struct share *
share_new(struct miner *m)
{
	struct share	*s;

	if ((s = TAILQ_FIRST(&share_free)) != NULL) {
		TAILQ_REMOVE(&share_free, s, entry);
		share_nfree--;
		memset(s, 0, sizeof *s);
	} else
		s = XCALLOC(struct share, 1);
	s->miner = miner_ref(m);
	share_live++;
	return s;
}

/* Shares not yet ended (the graceful stop waits for these). */
size_t
share_inflight(void)
{
	return share_live;
}

/* Name of a result, for logs and metrics. */
const char *
share_result_text(enum share_result r)
{
	switch (r) {
	case SHARE_ACCEPTED:
		return "accepted";
	case SHARE_REJECTED:
		return "rejected";
	case SHARE_INVALID:
		return "invalid";
	case SHARE_DUPLICATE:
		return "duplicate";
	case SHARE_LOCAL:
		return "local";
	case SHARE_BAD_GATEWAY:
		return "bad_gateway";
	case SHARE_TIMEOUT:
		return "timeout";
	case SHARE_LOST:
		return "lost";
	}
	return "unknown";
}

/*
 * End a share: answer the miner (if it is still there), count and log it,
 * and drop the miner reference. message is the error text for failures.
 */
void
share_finish(struct share *s, enum share_result r, const char *message)
{
	struct miner	*m = s->miner;

	switch (r) {
	case SHARE_ACCEPTED:
	case SHARE_LOCAL:
		miner_reply_status(m, s->reqid, "OK");
		m->accepted++;
		break;
	case SHARE_REJECTED:
		miner_reply_error(m, s->reqid, message != NULL ? message :
		    "Rejected");
		m->rejected++;
		break;
	case SHARE_INVALID:
	case SHARE_DUPLICATE:
		miner_reply_error(m, s->reqid, message);
		m->invalid++;
		break;
	case SHARE_BAD_GATEWAY:
		miner_reply_error(m, s->reqid, "Bad gateway");
		break;
	case SHARE_TIMEOUT:
		miner_reply_error(m, s->reqid, "Pool timeout");
		break;
	case SHARE_LOST:
		miner_reply_error(m, s->reqid, "Pool connection lost");
		break;
	}
	events_share(s, r, message);

	s->miner = NULL;
	miner_unref(m);
	if (--share_live == 0 && sl.stopping)
		sluice_stop_ready();	/* the graceful stop waited for this */
	if (share_nfree < SHARE_FREE_MAX) {
		TAILQ_INSERT_HEAD(&share_free, s, entry);
		share_nfree++;
	} else
		free(s);
}
