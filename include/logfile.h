/*
 * logfile.h: the access log and the share log (logfile.cc).
 */
#ifndef SLUICE_LOGFILE_H
#define SLUICE_LOGFILE_H

#include "sluice.h"
#include "share.h"

struct config;

/* logfile.cc: the access log and the share log. */
enum logfile_kind {
	LOGFILE_ACCESS,
	LOGFILE_SHARE,
	LOGFILE_MAX
};
void		 logfile_reopen(const struct config *);
void		 logfile_flush(void);
void		 logfile_close(void);
void		 logfile_connect(const struct peer *);
void		 logfile_switch(const struct peer *, const char *from,
		     const char *to);
void		 logfile_disconnect(const struct peer *, uint64_t rx, uint64_t tx,
		     long long seconds, const char *reason);
void		 logfile_share(const struct peer *, const struct share *,
		     enum share_result,
		     const char *message, uint64_t diff, int64_t latency_ms);
uint64_t	 logfile_errors(enum logfile_kind);
uint64_t	 logfile_dropped(enum logfile_kind);
uint64_t	 logfile_lines(enum logfile_kind);

#endif /* SLUICE_LOGFILE_H */
