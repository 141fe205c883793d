/*
 * storage.cc: the 256-slot table of one NiceHash upstream. Each miner
 * owns one value of the nonce's top byte (blob byte 42), so the miners of
 * an upstream never search the same nonces. A freed slot stays dead
 * until the next job, so a new miner never repeats a departed miner's
 * range within one job. Pure, unit-tested (t/unit/test_storage.cc).
 */
#include <string.h>

#include "upstream.h"

/* Empty table; allocation starts at slot start. */
void
storage_init(struct nonce_storage *s, int start)
{
	memset(s, 0, sizeof *s);
	s->cursor = start & (SLUICE_SLOTS - 1);
}

/* Take the next free slot from the cursor on; -1 when none is free. */
int
storage_add(struct nonce_storage *s, struct miner *m)
{
	int	 i, slot;

	for (i = 0; i < SLUICE_SLOTS; i++) {
		slot = (s->cursor + i) & (SLUICE_SLOTS - 1);
		if (s->state[slot] != SLOT_FREE)
			continue;
		s->state[slot] = SLOT_ACTIVE;
		s->miners[slot] = m;
		s->nactive++;
		s->cursor = (slot + 1) & (SLUICE_SLOTS - 1);
		return slot;
	}
	return -1;
}

/* Free a slot: dead (unusable) until the next job. */
void
storage_remove(struct nonce_storage *s, int slot)
{
	if (slot < 0 || slot >= SLUICE_SLOTS || s->state[slot] != SLOT_ACTIVE)
		return;
	s->state[slot] = SLOT_DEAD;
	s->miners[slot] = NULL;
	s->nactive--;
	s->ndead++;
}

/* A new job: dead slots become free. */
void
storage_reset_dead(struct nonce_storage *s)
{
	int	 i;

	if (s->ndead == 0)
		return;
	for (i = 0; i < SLUICE_SLOTS; i++) {
		if (s->state[i] == SLOT_DEAD)
			s->state[i] = SLOT_FREE;
	}
	s->ndead = 0;
}

/* Slot counts, for monitoring. */
void
storage_count(const struct nonce_storage *s, int *free_, int *dead,
    int *active)
{
	*active = s->nactive;
	*dead = s->ndead;
	*free_ = SLUICE_SLOTS - s->nactive - s->ndead;
}

/* Can this table take another miner before the next job? */
int
storage_has_room(const struct nonce_storage *s)
{
	return s->nactive + s->ndead < SLUICE_SLOTS;
}
