/*
 * test_job.cc: unit tests for src/job.cc: parsing a pool job, rendering the
 * per-miner notification with the NiceHash slot byte, and the nonce set.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "job.h"
#include "stratum.h"

TestSuite(job);

#define BLOB_LEN	152	/* 76 bytes, a usual CryptoNote hashing blob */
#define SLOT_HEX	(JOB_SLOT_OFF * 2)	/* 84 */
#define SEED		"2f1e3d4c5b6a79880716253443526170" \
			"8f9eadbccbdae9f80112233445566778"

/* A deterministic lower-case hex blob of len chars; chars 84..85 are "5c". */
static void
make_blob(char *out, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++)
		out[i] = hex[(i * 7 + 3) % 16];
	if (len >= SLOT_HEX + 2) {
		out[SLOT_HEX] = '5';
		out[SLOT_HEX + 1] = 'c';
	}
	out[len] = '\0';
}

/* Job params as a pool sends them; the caller owns the result. */
static json_t *
make_params(const char *blob, const char *job_id, const char *target)
{
	json_t	*p = json_object();

	if (blob != NULL)
		json_object_set_new(p, "blob", json_string(blob));
	if (job_id != NULL)
		json_object_set_new(p, "job_id", json_string(job_id));
	if (target != NULL)
		json_object_set_new(p, "target", json_string(target));
	return p;
}

/* A full job with algo, height and seed_hash. */
static json_t *
make_full_params(char blob[BLOB_LEN + 1])
{
	json_t	*p;

	make_blob(blob, BLOB_LEN);
	p = make_params(blob, "job-1", "b88d0600");
	json_object_set_new(p, "algo", json_string("rx/0"));
	json_object_set_new(p, "height", json_integer(3141592));
	json_object_set_new(p, "seed_hash", json_string(SEED));
	return p;
}

/* Parse params that must be rejected; check a reason is given. */
static void
expect_reject(json_t *p, const char *what)
{
	const char	*why = NULL;
	struct job	*j;

	j = job_parse(p, 1, &why);
	cr_assert_null(j, "%s: accepted", what);
	cr_assert_not_null(why, "%s: no reason", what);
	cr_assert_gt(strlen(why), 0, "%s: empty reason", what);
	json_decref(p);
}

/* Render a job and parse the line back; returns the whole message. */
static json_t *
render_parse(const struct job *j, int slot, const char *target,
    const char *session)
{
	char		 buf[4096];
	size_t		 n;
	json_t		*root;
	json_error_t	 je;

	n = job_render(j, slot, target, session, buf, sizeof(buf));
	cr_assert_gt(n, 0, "render failed");
	cr_assert_lt(n, sizeof(buf));
	cr_assert_eq(buf[n - 1], '\n', "line does not end in a newline");
	cr_assert_null(memchr(buf, '\n', n - 1), "newline inside the line");
	root = json_loadb(buf, n, 0, &je);
	cr_assert_not_null(root, "line does not parse: %.*s: %s", (int)n, buf,
	    je.text);
	return root;
}

/* The string value of key in o, or NULL. */
static const char *
str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

Test(job, parse_full)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL;
	json_t		*p = make_full_params(blob);
	struct job	*j;

	j = job_parse(p, 1, &why);
	cr_assert_not_null(j, "rejected: %s", why ? why : "(no reason)");
	cr_assert_eq(j->refs, 1);
	cr_assert_str_eq(j->blob, blob);
	cr_assert_eq(j->blob_len, BLOB_LEN);
	cr_assert_str_eq(j->job_id, "job-1");
	cr_assert_str_eq(j->target, "b88d0600");
	cr_assert_eq(j->diff, 10000, "diff %" PRIu64, j->diff);
	cr_assert_not_null(j->algo);
	cr_assert_str_eq(j->algo, "rx/0");
	cr_assert_eq(j->height, 3141592);
	cr_assert_not_null(j->seed_hash);
	cr_assert_str_eq(j->seed_hash, SEED);
	cr_assert_neq(j->slot_off, 0);
	json_decref(p);
	job_unref(j);
}

Test(job, parse_minimal)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL;
	json_t		*p;
	struct job	*j;

	make_blob(blob, BLOB_LEN);
	p = make_params(blob, "7", "b88d0600");
	j = job_parse(p, 1, &why);
	cr_assert_not_null(j, "rejected: %s", why ? why : "(no reason)");
	cr_assert_null(j->algo);
	cr_assert_null(j->seed_hash);
	cr_assert_eq(j->height, 0);
	cr_assert_eq(j->refs, 1);
	json_decref(p);
	job_unref(j);
}

Test(job, parse_64bit_target)
{
	char		 blob[BLOB_LEN + 1], t[17];
	const char	*why = NULL;
	uint64_t	 v = UINT64_MAX / 5000;
	json_t		*p;
	struct job	*j;
	int		 i;

	for (i = 0; i < 8; i++)
		snprintf(t + i * 2, 3, "%02x", (unsigned)((v >> (8 * i)) & 0xff));
	make_blob(blob, BLOB_LEN);
	p = make_params(blob, "j", t);
	j = job_parse(p, 1, &why);
	cr_assert_not_null(j, "rejected: %s", why ? why : "(no reason)");
	cr_assert_eq(j->diff, 5000, "diff %" PRIu64, j->diff);
	cr_assert_str_eq(j->target, t);
	json_decref(p);
	job_unref(j);
}

/*
 * A blob without room for the nonce (bytes 39..42) cannot be split: every
 * miner would hash the same nonces. It is refused.
 */
Test(job, parse_short_blob_refused)
{
	char		 blob[87];
	const char	*why = NULL;
	json_t		*p;

	make_blob(blob, 84);
	p = make_params(blob, "j", "b88d0600");
	cr_assert_null(job_parse(p, 1, &why), "an 84-hex blob was accepted");
	cr_assert_not_null(why);
	cr_assert(strstr(why, "short") != NULL, "why: %s", why);
	json_decref(p);
	make_blob(blob, 86);
	p = make_params(blob, "j", "b88d0600");
	struct job *j = job_parse(p, 1, &why);
	cr_assert_not_null(j, "an 86-hex blob (43 bytes) was refused: %s", why);
	cr_assert_neq(j->slot_off, 0);
	json_decref(p);
	job_unref(j);
}

Test(job, parse_rejects_missing_blob)
{
	expect_reject(make_params(NULL, "j", "b88d0600"), "missing blob");
}

Test(job, parse_rejects_blob_not_string)
{
	json_t	*p = make_params(NULL, "j", "b88d0600");

	json_object_set_new(p, "blob", json_integer(12));
	expect_reject(p, "integer blob");
}

Test(job, parse_rejects_odd_blob)
{
	char	blob[BLOB_LEN + 1];

	make_blob(blob, BLOB_LEN - 1);
	expect_reject(make_params(blob, "j", "b88d0600"), "odd-length blob");
}

Test(job, parse_rejects_non_hex_blob)
{
	char	blob[BLOB_LEN + 1];

	make_blob(blob, BLOB_LEN);
	blob[10] = 'g';
	expect_reject(make_params(blob, "j", "b88d0600"), "non-hex blob");
}

Test(job, parse_rejects_missing_job_id)
{
	char	blob[BLOB_LEN + 1];

	make_blob(blob, BLOB_LEN);
	expect_reject(make_params(blob, NULL, "b88d0600"), "missing job_id");
}

Test(job, parse_rejects_empty_job_id)
{
	char	blob[BLOB_LEN + 1];

	make_blob(blob, BLOB_LEN);
	expect_reject(make_params(blob, "", "b88d0600"), "empty job_id");
}

Test(job, parse_rejects_bad_target)
{
	char	blob[BLOB_LEN + 1];

	make_blob(blob, BLOB_LEN);
	expect_reject(make_params(blob, "j", "xyz"), "target xyz");
	expect_reject(make_params(blob, "j", "b88d060"), "7 char target");
	expect_reject(make_params(blob, "j", "b88d06zz"), "non-hex target");
}

Test(job, parse_rejects_missing_target)
{
	char	blob[BLOB_LEN + 1];

	make_blob(blob, BLOB_LEN);
	expect_reject(make_params(blob, "j", NULL), "missing target");
}

Test(job, ref_unref)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL;
	json_t		*p = make_full_params(blob);
	struct job	*j;

	j = job_parse(p, 1, &why);
	cr_assert_not_null(j);
	cr_assert_eq(job_ref(j), j);
	cr_assert_eq(j->refs, 2);
	job_unref(j);
	cr_assert_eq(j->refs, 1);
	json_decref(p);
	job_unref(j);
}

Test(job, render_full)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL;
	json_t		*p = make_full_params(blob), *root, *params;
	struct job	*j;

	j = job_parse(p, 1, &why);
	cr_assert_not_null(j, "rejected: %s", why ? why : "");
	root = render_parse(j, -1, "c5a70000", "0123456789abcdef");
	cr_assert_str_eq(str_of(root, "jsonrpc"), "2.0");
	cr_assert_str_eq(str_of(root, "method"), "job");
	params = json_object_get(root, "params");
	cr_assert(json_is_object(params));
	cr_assert_str_eq(str_of(params, "blob"), blob);
	cr_assert_str_eq(str_of(params, "job_id"), "job-1");
	/* the target argument, not the pool's */
	cr_assert_str_eq(str_of(params, "target"), "c5a70000");
	cr_assert_str_eq(str_of(params, "id"), "0123456789abcdef");
	cr_assert_not_null(str_of(params, "algo"));
	cr_assert_str_eq(str_of(params, "algo"), "rx/0");
	cr_assert(json_is_integer(json_object_get(params, "height")));
	cr_assert_eq(json_integer_value(json_object_get(params, "height")),
	    3141592);
	cr_assert_not_null(str_of(params, "seed_hash"));
	cr_assert_str_eq(str_of(params, "seed_hash"), SEED);
	json_decref(root);
	json_decref(p);
	job_unref(j);
}

Test(job, render_minimal_has_no_optional_fields)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL;
	json_t		*p, *root, *params;
	struct job	*j;

	make_blob(blob, BLOB_LEN);
	p = make_params(blob, "j2", "b88d0600");
	j = job_parse(p, 1, &why);
	cr_assert_not_null(j);
	root = render_parse(j, 0x2a, "b88d0600", "aaaabbbbccccdddd");
	params = json_object_get(root, "params");
	cr_assert(json_is_object(params));
	cr_assert_str_eq(str_of(params, "job_id"), "j2");
	cr_assert_str_eq(str_of(params, "target"), "b88d0600");
	cr_assert_str_eq(str_of(params, "id"), "aaaabbbbccccdddd");
	cr_assert_null(json_object_get(params, "algo"));
	cr_assert_null(json_object_get(params, "seed_hash"));
	cr_assert_null(json_object_get(params, "height"));
	json_decref(root);
	json_decref(p);
	job_unref(j);
}

Test(job, render_patches_slot_byte)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL, *got;
	json_t		*p = make_full_params(blob), *root;
	struct job	*j;

	j = job_parse(p, 1, &why);
	cr_assert_not_null(j);
	cr_assert_neq(strncmp(blob + SLOT_HEX, "2a", 2), 0);

	root = render_parse(j, 0x2a, "b88d0600", "0000000000000001");
	got = str_of(json_object_get(root, "params"), "blob");
	cr_assert_not_null(got);
	cr_assert_eq(strlen(got), BLOB_LEN);
	cr_assert_eq(strncmp(got + SLOT_HEX, "2a", 2), 0, "slot chars: %.2s",
	    got + SLOT_HEX);
	cr_assert_eq(strncmp(got, blob, SLOT_HEX), 0, "blob before the slot");
	cr_assert_str_eq(got + SLOT_HEX + 2, blob + SLOT_HEX + 2,
	    "blob after the slot");
	json_decref(root);

	root = render_parse(j, 0xff, "b88d0600", "0000000000000001");
	got = str_of(json_object_get(root, "params"), "blob");
	cr_assert_not_null(got);
	cr_assert_eq(strncmp(got + SLOT_HEX, "ff", 2), 0, "slot chars: %.2s",
	    got + SLOT_HEX);
	json_decref(root);

	root = render_parse(j, 0, "b88d0600", "0000000000000001");
	got = str_of(json_object_get(root, "params"), "blob");
	cr_assert_eq(strncmp(got + SLOT_HEX, "00", 2), 0);
	json_decref(root);

	/* the job itself is not changed by rendering */
	cr_assert_str_eq(j->blob, blob);
	json_decref(p);
	job_unref(j);
}

Test(job, render_slot_minus_one_keeps_blob)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL;
	json_t		*p = make_full_params(blob), *root;
	struct job	*j;

	j = job_parse(p, 1, &why);
	cr_assert_not_null(j);
	/* a slot render first must not leak into a later unslotted one */
	root = render_parse(j, 0x2a, "b88d0600", "0000000000000001");
	json_decref(root);
	root = render_parse(j, -1, "b88d0600", "0000000000000001");
	cr_assert_str_eq(str_of(json_object_get(root, "params"), "blob"), blob);
	json_decref(root);
	json_decref(p);
	job_unref(j);
}

Test(job, render_cap_too_small)
{
	char		 blob[BLOB_LEN + 1], buf[4096];
	const char	*why = NULL;
	json_t		*p = make_full_params(blob);
	struct job	*j;
	size_t		 n, m;

	j = job_parse(p, 1, &why);
	cr_assert_not_null(j);
	n = job_render(j, 0x2a, "b88d0600", "0123456789abcdef", buf,
	    sizeof(buf));
	cr_assert_gt(n, BLOB_LEN);
	cr_assert_eq(job_render(j, 0x2a, "b88d0600", "0123456789abcdef", buf,
	    10), 0);
	cr_assert_eq(job_render(j, 0x2a, "b88d0600", "0123456789abcdef", buf,
	    n - 1), 0);
	cr_assert_eq(job_render(j, 0x2a, "b88d0600", "0123456789abcdef", buf,
	    0), 0);
	/* room for the line and a NUL is always enough */
	m = job_render(j, 0x2a, "b88d0600", "0123456789abcdef", buf, n + 1);
	cr_assert_eq(m, n);
	cr_assert_eq(buf[n - 1], '\n');
	json_decref(p);
	job_unref(j);
}

/* The job object of a login reply, parsed. */
static json_t *
job_json(const struct job *j, int slot, const char *target,
    const char *session)
{
	char		 buf[4096];
	size_t		 n;
	json_error_t	 je;
	json_t		*o;

	n = job_render_object(j, slot, target, session, buf, sizeof buf);
	cr_assert_gt(n, 0);
	cr_assert_eq(strlen(buf), n);
	o = json_loadb(buf, n, 0, &je);
	cr_assert_not_null(o, "job object does not parse: %s: %s", je.text,
	    buf);
	return o;
}

Test(job, json_fields)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL, *got;
	json_t		*p = make_full_params(blob), *o;
	struct job	*j;

	j = job_parse(p, 1, &why);
	cr_assert_not_null(j);
	o = job_json(j, 0x2a, "c5a70000", "fedcba9876543210");
	cr_assert_not_null(o);
	cr_assert(json_is_object(o));
	got = str_of(o, "blob");
	cr_assert_not_null(got);
	cr_assert_eq(strlen(got), BLOB_LEN);
	cr_assert_eq(strncmp(got + SLOT_HEX, "2a", 2), 0);
	cr_assert_eq(strncmp(got, blob, SLOT_HEX), 0);
	cr_assert_str_eq(got + SLOT_HEX + 2, blob + SLOT_HEX + 2);
	cr_assert_str_eq(str_of(o, "job_id"), "job-1");
	cr_assert_str_eq(str_of(o, "target"), "c5a70000");
	cr_assert_str_eq(str_of(o, "id"), "fedcba9876543210");
	cr_assert_str_eq(str_of(o, "algo"), "rx/0");
	cr_assert_eq(json_integer_value(json_object_get(o, "height")), 3141592);
	cr_assert_str_eq(str_of(o, "seed_hash"), SEED);
	json_decref(o);

	o = job_json(j, -1, "b88d0600", "fedcba9876543210");
	cr_assert_not_null(o);
	cr_assert_str_eq(str_of(o, "blob"), blob);
	json_decref(o);
	json_decref(p);
	job_unref(j);
}

Test(job, json_matches_render)
{
	char		 blob[BLOB_LEN + 1];
	const char	*why = NULL;
	json_t		*p = make_full_params(blob), *o, *root;
	struct job	*j;

	j = job_parse(p, 1, &why);
	cr_assert_not_null(j);
	o = job_json(j, 0x11, "b88d0600", "1111222233334444");
	root = render_parse(j, 0x11, "b88d0600", "1111222233334444");
	cr_assert(json_equal(o, json_object_get(root, "params")),
	    "job_json and job_render params differ");
	json_decref(o);
	json_decref(root);
	json_decref(p);
	job_unref(j);
}

Test(job, blob_slot_in_place)
{
	char	blob[BLOB_LEN + 1], orig[BLOB_LEN + 1];

	make_blob(blob, BLOB_LEN);
	memcpy(orig, blob, sizeof(blob));
	job_blob_slot(blob, BLOB_LEN, 0xff);
	cr_assert_eq(strncmp(blob + SLOT_HEX, "ff", 2), 0);
	cr_assert_eq(strncmp(blob, orig, SLOT_HEX), 0);
	cr_assert_str_eq(blob + SLOT_HEX + 2, orig + SLOT_HEX + 2);
	job_blob_slot(blob, BLOB_LEN, 0x2a);
	cr_assert_eq(strncmp(blob + SLOT_HEX, "2a", 2), 0);
	job_blob_slot(blob, BLOB_LEN, 0x00);
	cr_assert_eq(strncmp(blob + SLOT_HEX, "00", 2), 0);
}

Test(job, blob_slot_exactly_86)
{
	char	blob[SLOT_HEX + 3];

	make_blob(blob, SLOT_HEX + 2);
	job_blob_slot(blob, SLOT_HEX + 2, 0xab);
	cr_assert_str_eq(blob + SLOT_HEX, "ab");
}

Test(job, blob_slot_short_unchanged)
{
	char	blob[SLOT_HEX + 2], orig[SLOT_HEX + 2];

	make_blob(blob, SLOT_HEX + 1);	/* 85 chars: byte 42 incomplete */
	memcpy(orig, blob, sizeof(blob));
	job_blob_slot(blob, SLOT_HEX + 1, 0xff);
	cr_assert_str_eq(blob, orig);

	make_blob(blob, 40);
	memcpy(orig, blob, 41);
	job_blob_slot(blob, 40, 0xff);
	cr_assert_str_eq(blob, orig);
}

Test(job, nonceset_add_dup)
{
	struct nonceset	ns;

	memset(&ns, 0, sizeof(ns));
	cr_assert_eq(nonceset_add(&ns, 0xdeadbeef), 1);
	cr_assert_eq(nonceset_add(&ns, 0xdeadbeef), 0);
	cr_assert_eq(nonceset_add(&ns, 0xdeadbef0), 1);
	nonceset_free(&ns);
}

Test(job, nonceset_zero_and_max)
{
	struct nonceset	ns;

	memset(&ns, 0, sizeof(ns));
	cr_assert_eq(nonceset_add(&ns, 0), 1);
	cr_assert_eq(nonceset_add(&ns, 0), 0);
	cr_assert_eq(nonceset_add(&ns, 0xffffffff), 1);
	cr_assert_eq(nonceset_add(&ns, 0xffffffff), 0);
	/* values stored +1 internally must not collide with their neighbours */
	cr_assert_eq(nonceset_add(&ns, 1), 1);
	cr_assert_eq(nonceset_add(&ns, 0xfffffffe), 1);
	cr_assert_eq(nonceset_add(&ns, 1), 0);
	nonceset_free(&ns);
}

Test(job, nonceset_many)
{
	struct nonceset	ns;
	uint32_t	i, v;

	/* Up to half the slots every nonce is remembered. */
	memset(&ns, 0, sizeof(ns));
	for (i = 0; i < NONCESET_SLOTS / 2; i++) {
		v = i * 2654435761u;	/* distinct: odd multiplier */
		cr_assert_eq(nonceset_add(&ns, v), 1, "first add of %u", v);
	}
	for (i = 0; i < NONCESET_SLOTS / 2; i++) {
		v = i * 2654435761u;
		cr_assert_eq(nonceset_add(&ns, v), 0, "second add of %u", v);
	}
	nonceset_free(&ns);
}

Test(job, nonceset_sequential)
{
	struct nonceset	ns;
	uint32_t	i;

	memset(&ns, 0, sizeof(ns));
	for (i = 0; i < NONCESET_SLOTS / 2; i++)
		cr_assert_eq(nonceset_add(&ns, 0x2a000000 | i), 1);
	for (i = 0; i < NONCESET_SLOTS / 2; i++)
		cr_assert_eq(nonceset_add(&ns, 0x2a000000 | i), 0);
	nonceset_free(&ns);
}

/*
 * Past half of the slots the set stays at its size and forgets some
 * nonces: never a new nonce taken for a duplicate, and the latest ones
 * still caught.
 */
Test(job, nonceset_fixed_memory)
{
	struct nonceset	ns;
	uint32_t	i, v, caught = 0;

	memset(&ns, 0, sizeof(ns));
	for (i = 1; i <= 200000; i++) {
		v = i * 2654435761u;
		cr_assert_eq(nonceset_add(&ns, v), 1, "new nonce %u refused",
		    v);
		cr_assert_leq(ns.cap, NONCESET_SLOTS);
	}
	cr_assert_eq(ns.cap, NONCESET_SLOTS);
	/* The last thousand: most still remembered. */
	for (i = 200000; i > 199000; i--)
		caught += nonceset_add(&ns, i * 2654435761u) == 0;
	cr_assert_gt(caught, 500, "only %u of the last 1000 caught", caught);
	nonceset_clear(&ns);
	cr_assert_eq(nonceset_add(&ns, 1), 1);
	cr_assert_eq(nonceset_add(&ns, 1), 0);
	nonceset_free(&ns);
}

Test(job, nonceset_clear)
{
	struct nonceset	ns;
	uint32_t	i;

	memset(&ns, 0, sizeof(ns));
	for (i = 0; i < 100; i++)
		cr_assert_eq(nonceset_add(&ns, i), 1);
	nonceset_clear(&ns);
	for (i = 0; i < 100; i++)
		cr_assert_eq(nonceset_add(&ns, i), 1, "after clear: %u", i);
	for (i = 0; i < 100; i++)
		cr_assert_eq(nonceset_add(&ns, i), 0);
	nonceset_free(&ns);
}
