/*
 * nonceset.cc: the nonces submitted for one job, to refuse duplicate
 * shares, in fixed memory.
 *
 * Open addressing in a table that starts at 256 slots and doubles up to
 * NONCESET_SLOTS (32 KiB). Once the table is that large and half full, a
 * new nonce that finds no free slot within NONCESET_PROBE steps takes the
 * place of the one in its home slot: the set then forgets some nonces of
 * a job that has seen thousands of shares, so a late duplicate of one of
 * them may be forwarded and left to the pool to refuse. It never refuses
 * a nonce it has not seen: only an exact match is a duplicate.
 */
#include <stdlib.h>
#include <string.h>

#include "job.h"

#define NONCESET_FIRST	256	/* slots of a new table */
#define NONCESET_PROBE	16	/* steps before a full table overwrites */

static uint32_t	 nonceset_home(const struct nonceset *, uint32_t);
static void	 nonceset_grow(struct nonceset *);

/*
 * Fibonacci hashing: take the product's top bits. The miners of one
 * upstream differ in the nonce's top byte, which the low bits of the
 * product ignore, so masking them would chain all 256 together.
 */
static uint32_t
nonceset_home(const struct nonceset *s, uint32_t nonce)
{
	return (nonce * 2654435761u) >> (32 - __builtin_ctz(s->cap));
}

/* Double the table (or make the first one), rehashing what it holds. */
static void
nonceset_grow(struct nonceset *s)
{
	uint32_t	*old = s->v, oldcap = s->cap, i, j, mask;

	s->cap = oldcap == 0 ? NONCESET_FIRST : oldcap * 2;
	s->v = XCALLOC(uint32_t, s->cap);
	mask = s->cap - 1;
	for (i = 0; i < oldcap; i++) {
		if (old[i] == 0)
			continue;
		for (j = nonceset_home(s, old[i]); s->v[j] != 0;
		    j = (j + 1) & mask)
			;
		s->v[j] = old[i];
	}
	free(old);
}

/* Add a nonce; 1 if new (or forgotten), 0 if already in the set. */
int
nonceset_add(struct nonceset *s, uint32_t nonce)
{
	uint32_t	 i, k, mask, home;

	if (nonce == 0) {
		if (s->has_zero)
			return 0;
		s->has_zero = 1;
		return 1;
	}
	if (s->n + 1 > s->cap / 2 && s->cap < NONCESET_SLOTS)
		nonceset_grow(s);
	mask = s->cap - 1;
	home = nonceset_home(s, nonce);
	for (i = home, k = 0;; i = (i + 1) & mask, k++) {
		if (s->v[i] == nonce)
			return 0;
		if (s->v[i] == 0) {
			s->v[i] = nonce;
			s->n++;
			return 1;
		}
		if (k >= NONCESET_PROBE && s->n + 1 > s->cap / 2) {
			/* Full size and crowded: forget the home slot's. */
			s->v[home] = nonce;
			return 1;
		}
	}
}

/* Empty a set (a new job), keeping a small table. */
void
nonceset_clear(struct nonceset *s)
{
	if (s->cap > 1024) {
		nonceset_free(s);
		return;
	}
	if (s->v != NULL)
		memset(s->v, 0, s->cap * sizeof *s->v);
	s->n = 0;
	s->has_zero = 0;
}

/* Free a set's table. */
void
nonceset_free(struct nonceset *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}
