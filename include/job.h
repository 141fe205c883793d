/*
 * job.h: an upstream job, encoded once (job.cc), and the nonce sets that
 * find duplicate shares (nonceset.cc).
 */
#ifndef SLUICE_JOB_H
#define SLUICE_JOB_H

#include "sluice.h"

/* job.cc */
/*
 * One upstream job, encoded once. The notification sent to a miner is
 *   head[0..head_len) with the slot byte patched at slot_off,
 *   then the target, then ","id":"SESSION"}}\n;
 * the job object of a login reply is the same from JOB_PARAMS_OFF on.
 */
struct job {
	int		 refs;
	char		*blob;
	size_t		 blob_len;
	char		*job_id;
	char		*target;	/* as the pool sent it */
	uint64_t	 diff;		/* pool difficulty from target */
	char		*algo;		/* or NULL */
	uint64_t	 height;	/* 0 when absent */
	char		*seed_hash;	/* or NULL */
	int		 send_algo;	/* algo goes to miners */
	int		 has_height;
	char		*qjob_id;	/* job_id as a JSON string literal */
	char		*qalgo;		/* algo likewise, or NULL */
	char		*head;
	size_t		 head_len;
	size_t		 slot_off;	/* of the slot byte in head */
};
#define JOB_NONCE_OFF	39	/* nonce: 4 LE bytes at blob offset 39 */
#define JOB_SLOT_OFF	42	/* NiceHash fixed byte: nonce byte 3 */
#define JOB_PARAMS_OFF	41	/* head: where the params object starts */

struct job	*job_parse(json_t *, int algo_ext, const char **why);
struct job	*job_ref(struct job *);
void		 job_unref(struct job *);
size_t		 job_render(const struct job *, int slot, const char *target,
		     const char *session, char *buf, size_t cap);
size_t		 job_render_object(const struct job *, int slot,
		     const char *target, const char *session, char *buf,
		     size_t cap);
void		 job_blob_slot(char *blob, size_t len, uint8_t slot);

/*
 * A nonce set for duplicate detection, per job: open addressing in at
 * most NONCESET_SLOTS slots (32 KiB); past half of that it forgets some
 * nonces rather than grow (nonceset.cc).
 */
struct nonceset {
	uint32_t	*v;		/* 0 is the empty marker (0 is has_zero) */
	uint32_t	 cap;
	uint32_t	 n;
	int		 has_zero;
};
#define NONCESET_SLOTS	8192	/* 4,096 nonces per job remembered in full */
int		 nonceset_add(struct nonceset *, uint32_t);	/* 1 new, 0 dup */
void		 nonceset_clear(struct nonceset *);
void		 nonceset_free(struct nonceset *);


#endif /* SLUICE_JOB_H */
