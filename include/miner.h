/*
 * miner.h: one miner connection (miner.cc): its state machine, stratum
 * methods, login, submit checks and the one close path. The struct is
 * public because the hot path (wire.cc framing, the splitters' job
 * fan-out, share.cc) reads it inline; the policy and the monitoring side
 * see only its peer (sluice.h) or go through the functions below.
 */
#ifndef SLUICE_MINER_H
#define SLUICE_MINER_H

#include "sluice.h"
#include "stats.h"
#include "wire.h"

struct job;
struct upstream;
struct worker;

enum miner_state {
	MINER_WAIT_LOGIN,
	MINER_WAIT_READY,
	MINER_READY,
	MINER_CLOSING
};

struct miner {
	int		 refs;
	enum miner_state state;
	struct wire	 wire;
	struct peer	 peer;		/* who: address and login */
	char		 session[SLUICE_SESSION_LEN + 1];
	int		 logged_in;	/* counted in miners_now */
	struct worker	*worker_rec;	/* workers.cc record, or NULL */
	char		 login_id[SLUICE_REQID_MAX];	/* for a late reply */
	uint64_t	 custom_diff;
	uint64_t	 diff;		/* difficulty of the last target sent */
	struct job	*job;		/* last job sent */

	struct upstream	*upstream;	/* the splitter's, or NULL */
	int		 slot;		/* nicehash: fixed byte; else -1 */
	uint64_t	 prev_upstream;	/* id of the one before a coin switch,
					   for late shares; 0: none */
	int		 prev_slot;	/* nicehash: the slot on it */
	char		*algos;		/* login's algo list, "a,b" interned;
					   NULL: none sent */

	time_t		 connected;	/* monotonic seconds */
	time_t		 last_active;
	uint64_t	 rx;
	uint64_t	 tx;
	uint64_t	 accepted;
	uint64_t	 rejected;
	uint64_t	 invalid;
	enum close_reason close_reason;	/* set by miner_close() */
	char		*finish_detail;	/* a deferred close's detail */
	TAILQ_ENTRY(miner) entry;
};
TAILQ_HEAD(minerq, miner);

void		 miner_accept(evutil_socket_t, struct sockaddr *, int,
		     int local_port, enum wire_transport, const char *ws_path);
void		 miner_line(struct miner *, char *, size_t);
void		 miner_close(struct miner *, enum close_reason,
		     const char *detail);
void		 miner_finish(struct miner *, enum close_reason,
		     const char *detail);
void		 miner_refused(enum close_reason, const char *ip, int port,
		     const char *detail);
void		 miner_unref(struct miner *);
struct miner	*miner_ref(struct miner *);
void		 miner_send_job(struct miner *, struct job *);
void		 miner_login_done(struct miner *, struct job *);
void		 miner_reply_error(struct miner *, const char *reqid,
		     const char *message);
void		 miner_reply_status(struct miner *, const char *reqid,
		     const char *status);
void		 miner_tick(time_t now);
void		 miner_summary(void);
void		 miner_close_all(enum close_reason);
void		 miner_quiesce(void);
void		 miner_reap(void);
void		 miner_shutdown(void);
const char	*miner_state_text(enum miner_state);
const char	*miner_close_text(enum close_reason);
size_t		 miner_count(void);
struct miner	*miner_first(void);
struct miner	*miner_next(struct miner *);
uint64_t	 miner_target_diff(const struct miner *, const struct job *,
		     char target[17]);

#endif /* SLUICE_MINER_H */
