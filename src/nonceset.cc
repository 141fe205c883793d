/*
 * nonceset.cc: the nonces submitted for one job, to refuse duplicate
 * shares. Open addressing in a table that doubles up to NONCESET_MAX;
 * past that a set stops tracking rather than block shares.
 */
#include <stdlib.h>
#include <string.h>

#include "job.h"

/* Add a nonce; 1 if new, 0 if already present (or the set is full). */
int
nonceset_add(struct nonceset *s, uint32_t nonce)
{
	uint32_t	 i, mask, key, *old, oldcap;

	if (nonce == 0) {
		if (s->has_zero)
			return 0;
		s->has_zero = 1;
		return 1;
	}
	if (s->n + 1 > s->cap / 2) {
		if (s->cap >= NONCESET_MAX)
			return 1;	/* stop tracking; never block shares */
		old = s->v;
		oldcap = s->cap;
		s->cap = oldcap == 0 ? 256 : oldcap * 2;
		s->v = XCALLOC(uint32_t, s->cap);
		s->n = 0;
		for (i = 0; i < oldcap; i++) {
			if (old[i] != 0)
				nonceset_add(s, old[i]);
		}
		free(old);
	}
	/*
	 * Fibonacci hashing: take the product's top bits. The miners of one
	 * upstream differ in the nonce's top byte, which the low bits of the
	 * product ignore, so masking them would chain all 256 together.
	 */
	mask = s->cap - 1;
	key = (nonce * 2654435761u) >> (32 - __builtin_ctz(s->cap));
	for (i = key & mask;; i = (i + 1) & mask) {
		if (s->v[i] == nonce)
			return 0;
		if (s->v[i] == 0) {
			s->v[i] = nonce;
			s->n++;
			return 1;
		}
	}
}

/* Empty a set, keeping a small table. */
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
