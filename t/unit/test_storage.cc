/*
 * test_storage.cc: unit tests for the NiceHash slot table in
 * src/nicehash.cc (storage_*): round-robin slots, dead slots until the next
 * job, and the counters.
 */

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "miner.h"
#include "upstream.h"

TestSuite(storage);

static struct miner	*miners[SLUICE_SLOTS + 2];

/* Allocate the miners the tests hand to the table (it stores pointers). */
static void
setup(void)
{
	size_t	i;

	for (i = 0; i < sizeof(miners) / sizeof(miners[0]); i++)
		miners[i] = XCALLOC(struct miner, 1);
}

static void
teardown(void)
{
	size_t	i;

	for (i = 0; i < sizeof(miners) / sizeof(miners[0]); i++) {
		free(miners[i]);
		miners[i] = NULL;
	}
}

/* Check the three counters at once. */
static void
expect_count(const struct nonce_storage *s, int free_, int dead, int active,
    const char *when)
{
	int	f = -1, d = -1, a = -1;

	storage_count(s, &f, &d, &a);
	cr_assert_eq(f, free_, "%s: free %d, want %d", when, f, free_);
	cr_assert_eq(d, dead, "%s: dead %d, want %d", when, d, dead);
	cr_assert_eq(a, active, "%s: active %d, want %d", when, a, active);
	cr_assert_eq(f + d + a, SLUICE_SLOTS, "%s: counts do not add up", when);
}

/* Fill every slot with miners[0..255]; check all 256 slots are distinct. */
static void
fill(struct nonce_storage *s)
{
	int	seen[SLUICE_SLOTS], i, slot;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < SLUICE_SLOTS; i++) {
		slot = storage_add(s, miners[i]);
		cr_assert(slot >= 0 && slot < SLUICE_SLOTS, "add %d: slot %d",
		    i, slot);
		cr_assert_eq(seen[slot], 0, "slot %d handed out twice", slot);
		seen[slot] = 1;
	}
}

Test(storage, init_all_free, .init = setup, .fini = teardown)
{
	struct nonce_storage	s;
	int			i;

	memset(&s, 0xa5, sizeof(s));
	storage_init(&s, 17);
	cr_assert_eq(s.cursor, 17);
	cr_assert_eq(s.nactive, 0);
	cr_assert_eq(s.ndead, 0);
	for (i = 0; i < SLUICE_SLOTS; i++) {
		cr_assert_eq(s.state[i], SLOT_FREE, "slot %d not free", i);
	}
	expect_count(&s, SLUICE_SLOTS, 0, 0, "after init");
}

Test(storage, add_from_cursor, .init = setup, .fini = teardown)
{
	struct nonce_storage	s;

	storage_init(&s, 0);
	cr_assert_eq(storage_add(&s, miners[0]), 0);
	cr_assert_eq(storage_add(&s, miners[1]), 1);
	cr_assert_eq(storage_add(&s, miners[2]), 2);
	cr_assert_eq(s.miners[0], miners[0]);
	cr_assert_eq(s.miners[1], miners[1]);
	cr_assert_eq(s.miners[2], miners[2]);
	cr_assert_eq(s.state[1], SLOT_ACTIVE);
	expect_count(&s, SLUICE_SLOTS - 3, 0, 3, "after 3 adds");
}

Test(storage, add_wraps_round_robin, .init = setup, .fini = teardown)
{
	struct nonce_storage	s;
	int			want[] = { 250, 251, 252, 253, 254, 255, 0, 1 };
	int			i, slot;

	storage_init(&s, 250);
	for (i = 0; i < (int)(sizeof(want) / sizeof(want[0])); i++) {
		slot = storage_add(&s, miners[i]);
		cr_assert_eq(slot, want[i], "add %d: slot %d, want %d", i, slot,
		    want[i]);
		cr_assert_eq(s.miners[slot], miners[i]);
	}
	expect_count(&s, SLUICE_SLOTS - 8, 0, 8, "after 8 adds");
}

Test(storage, add_fills_then_full, .init = setup, .fini = teardown)
{
	struct nonce_storage	s;

	storage_init(&s, 250);
	fill(&s);
	expect_count(&s, 0, 0, SLUICE_SLOTS, "full");
	cr_assert_eq(storage_add(&s, miners[SLUICE_SLOTS]), -1);
	expect_count(&s, 0, 0, SLUICE_SLOTS, "after refused add");
}

Test(storage, round_robin_skips_active, .init = setup, .fini = teardown)
{
	struct nonce_storage	s;
	int			a, b, c;

	storage_init(&s, 0);
	a = storage_add(&s, miners[0]);
	b = storage_add(&s, miners[1]);
	cr_assert_eq(a, 0);
	cr_assert_eq(b, 1);
	/* remove slot 0 and reset: round robin goes on from the cursor */
	storage_remove(&s, a);
	storage_reset_dead(&s);
	c = storage_add(&s, miners[2]);
	cr_assert_eq(c, 2, "slot %d, want 2 (round robin, not lowest free)", c);
}

Test(storage, remove_makes_dead, .init = setup, .fini = teardown)
{
	struct nonce_storage	s;
	int			slot;

	storage_init(&s, 0);
	slot = storage_add(&s, miners[0]);
	cr_assert_eq(slot, 0);
	storage_add(&s, miners[1]);
	expect_count(&s, SLUICE_SLOTS - 2, 0, 2, "after 2 adds");
	storage_remove(&s, slot);
	cr_assert_eq(s.state[slot], SLOT_DEAD);
	expect_count(&s, SLUICE_SLOTS - 2, 1, 1, "after remove");
}

Test(storage, dead_slot_not_reused_until_reset, .init = setup,
    .fini = teardown)
{
	struct nonce_storage	s;

	storage_init(&s, 250);
	fill(&s);
	storage_remove(&s, 7);
	expect_count(&s, 0, 1, SLUICE_SLOTS - 1, "full, one dead");
	cr_assert_eq(storage_add(&s, miners[SLUICE_SLOTS]), -1,
	    "a dead slot was handed out before the next job");
	expect_count(&s, 0, 1, SLUICE_SLOTS - 1, "after refused add");

	storage_reset_dead(&s);
	expect_count(&s, 1, 0, SLUICE_SLOTS - 1, "after reset");
	cr_assert_eq(storage_add(&s, miners[SLUICE_SLOTS]), 7);
	cr_assert_eq(s.miners[7], miners[SLUICE_SLOTS]);
	expect_count(&s, 0, 0, SLUICE_SLOTS, "full again");
	cr_assert_eq(storage_add(&s, miners[SLUICE_SLOTS + 1]), -1);
}

Test(storage, dead_skipped_while_free_remain, .init = setup,
    .fini = teardown)
{
	struct nonce_storage	s;
	int			i, slot;

	storage_init(&s, 0);
	cr_assert_eq(storage_add(&s, miners[0]), 0);
	storage_remove(&s, 0);
	/* 255 free slots remain; none of the adds may return dead slot 0 */
	for (i = 1; i < SLUICE_SLOTS; i++) {
		slot = storage_add(&s, miners[i]);
		cr_assert(slot > 0 && slot < SLUICE_SLOTS, "add %d: slot %d",
		    i, slot);
	}
	expect_count(&s, 0, 1, SLUICE_SLOTS - 1, "all but the dead");
	cr_assert_eq(storage_add(&s, miners[SLUICE_SLOTS]), -1);
}

Test(storage, reset_dead_keeps_active, .init = setup, .fini = teardown)
{
	struct nonce_storage	s;
	int			i;

	storage_init(&s, 0);
	for (i = 0; i < 10; i++)
		cr_assert_eq(storage_add(&s, miners[i]), i);
	storage_remove(&s, 3);
	storage_remove(&s, 5);
	expect_count(&s, SLUICE_SLOTS - 10, 2, 8, "two dead");
	storage_reset_dead(&s);
	expect_count(&s, SLUICE_SLOTS - 8, 0, 8, "after reset");
	cr_assert_eq(s.state[3], SLOT_FREE);
	cr_assert_eq(s.state[5], SLOT_FREE);
	cr_assert_eq(s.state[4], SLOT_ACTIVE);
	cr_assert_eq(s.miners[4], miners[4]);
}

Test(storage, counts_each_step, .init = setup, .fini = teardown)
{
	struct nonce_storage	s;
	int			i;

	storage_init(&s, 100);
	for (i = 0; i < 5; i++) {
		storage_add(&s, miners[i]);
		expect_count(&s, SLUICE_SLOTS - 1 - i, 0, i + 1, "adding");
	}
	for (i = 0; i < 5; i++) {
		storage_remove(&s, 100 + i);
		expect_count(&s, SLUICE_SLOTS - 5, i + 1, 4 - i, "removing");
	}
	storage_reset_dead(&s);
	expect_count(&s, SLUICE_SLOTS, 0, 0, "after reset");
	cr_assert_eq(s.nactive, 0);
	cr_assert_eq(s.ndead, 0);
}
