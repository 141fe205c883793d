/*
 * fuzz_job.cc: libFuzzer target for job.cc: job_parse() on a pool's job
 * object, the encoded job rendered for a miner (job_render(),
 * job_render_object()), and the duplicate-nonce set.
 *
 * The input is parsed as pool.cc parses a pool's line (jansson, flags 0)
 * and, when it is an object, handed to job_parse() with algo-ext on and
 * off. A job that comes back must hold what the object said, and every
 * line rendered from it must be JSON that says the same, with the slot at
 * blob hex 84..85. Rendering into a buffer of exactly cap bytes must give
 * the whole line or 0. The same input, read as little-endian uint32s,
 * feeds nonceset_add() against a reference set. Any disagreement aborts
 * with the input on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define FUZZ_TARGET	"b88d0600"
#define FUZZ_SESSION	"0123456789abcdef"
#define FUZZ_BIGCAP	4096
#define FUZZ_NONCES	1024	/* nonces read from one input */

/* A reference set of uint32s: open addressing over a fixed table. */
struct refset {
	uint32_t	 v[4 * FUZZ_NONCES];
	uint8_t		 used[4 * FUZZ_NONCES];
};

static void	 check_job(const struct job *, json_t *, int);
static void	 check_params(const struct job *, json_t *, int);
static void	 check_render(const struct job *, int, uint8_t);
static const char *str_member(json_t *, const char *);
static int	 refset_add(struct refset *, uint32_t);
static void	 fuzz_nonces(const uint8_t *, size_t);

/* A string member of a JSON object, or NULL. */
static const char *
str_member(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Does a parsed job hold what its object said? */
static void
check_job(const struct job *j, json_t *o, int algo_ext)
{
	json_t		*algo = json_object_get(o, "algo");
	json_t		*height = json_object_get(o, "height");
	const char	*blob = str_member(o, "blob");
	const char	*id = str_member(o, "job_id");
	const char	*target = str_member(o, "target");
	const char	*seed = str_member(o, "seed_hash");

	if (j->refs != 1)
		fuzz_fail("new job with %d references", j->refs);
	if (blob == NULL || strcmp(j->blob, blob) != 0 ||
	    j->blob_len != strlen(blob))
		fuzz_fail("job blob \"%s\" is not the object's", j->blob);
	if (j->blob_len < 2 * (JOB_SLOT_OFF + 1) || j->blob_len % 2 != 0 ||
	    !stratum_is_hex(j->blob, j->blob_len))
		fuzz_fail("job accepted with blob \"%s\"", j->blob);
	if (id == NULL || strcmp(j->job_id, id) != 0 || j->job_id[0] == '\0')
		fuzz_fail("job_id \"%s\" is not the object's", j->job_id);
	if (target == NULL || strcmp(j->target, target) != 0)
		fuzz_fail("target \"%s\" is not the object's", j->target);
	if (j->diff == 0 ||
	    j->diff != stratum_target_diff(j->target, strlen(j->target)))
		fuzz_fail("diff %llu for target \"%s\"",
		    (unsigned long long)j->diff, j->target);
	if (json_is_string(algo) ? j->algo == NULL ||
	    strcmp(j->algo, json_string_value(algo)) != 0 : j->algo != NULL)
		fuzz_fail("algo \"%s\" is not the object's",
		    j->algo != NULL ? j->algo : "(null)");
	if (j->send_algo != (algo_ext && j->algo != NULL))
		fuzz_fail("send_algo %d with algo-ext %d and algo %s",
		    j->send_algo, algo_ext, j->algo != NULL ? j->algo : "NULL");
	if (j->has_height != json_is_integer(height) || (j->has_height &&
	    j->height != (uint64_t)json_integer_value(height)) ||
	    (!j->has_height && j->height != 0))
		fuzz_fail("height %llu (has %d) is not the object's",
		    (unsigned long long)j->height, j->has_height);
	if (seed != NULL ? j->seed_hash == NULL ||
	    strcmp(j->seed_hash, seed) != 0 : j->seed_hash != NULL)
		fuzz_fail("seed_hash is not the object's");
	if (j->head == NULL || strlen(j->head) != j->head_len ||
	    j->head_len <= JOB_PARAMS_OFF)
		fuzz_fail("head of %zu bytes", j->head_len);
	if (j->slot_off + 2 > j->head_len ||
	    memcmp(j->head + j->slot_off, j->blob + 2 * JOB_SLOT_OFF, 2) != 0)
		fuzz_fail("slot_off %zu is not blob hex 84..85", j->slot_off);
}

/*
 * Check a rendered params object: exactly the job's members, the slot at
 * blob hex 84..85 (slot -1: the blob as the pool sent it).
 */
static void
check_params(const struct job *j, json_t *p, int slot)
{
	const char	*blob, *s;
	char		 want[2];
	size_t		 nkeys = 4;
	json_t		*v;

	if (!json_is_object(p))
		fuzz_fail("rendered params is not an object");
	if ((blob = str_member(p, "blob")) == NULL ||
	    strlen(blob) != j->blob_len)
		fuzz_fail("rendered blob missing or of another length");
	if (slot >= 0) {
		stratum_hex_byte((uint8_t)slot, want);
		if (memcmp(blob + 2 * JOB_SLOT_OFF, want, 2) != 0)
			fuzz_fail("slot %d: blob hex 84..85 is \"%.2s\"", slot,
			    blob + 2 * JOB_SLOT_OFF);
		if (memcmp(blob, j->blob, 2 * JOB_SLOT_OFF) != 0 ||
		    strcmp(blob + 2 * JOB_SLOT_OFF + 2,
		    j->blob + 2 * JOB_SLOT_OFF + 2) != 0)
			fuzz_fail("slot %d: blob changed outside hex 84..85",
			    slot);
	} else if (strcmp(blob, j->blob) != 0)
		fuzz_fail("slot -1: blob changed");
	if ((s = str_member(p, "job_id")) == NULL || strcmp(s, j->job_id) != 0)
		fuzz_fail("rendered job_id \"%s\", parsed \"%s\"",
		    s != NULL ? s : "(none)", j->job_id);
	if ((s = str_member(p, "target")) == NULL ||
	    strcmp(s, FUZZ_TARGET) != 0)
		fuzz_fail("rendered target is not " FUZZ_TARGET);
	if ((s = str_member(p, "id")) == NULL || strcmp(s, FUZZ_SESSION) != 0)
		fuzz_fail("rendered id is not " FUZZ_SESSION);
	s = str_member(p, "algo");
	if (j->send_algo ? s == NULL || strcmp(s, j->algo) != 0 :
	    json_object_get(p, "algo") != NULL)
		fuzz_fail("rendered algo \"%s\", send_algo %d",
		    s != NULL ? s : "(none)", j->send_algo);
	nkeys += j->send_algo != 0;
	v = json_object_get(p, "height");
	if (j->has_height ? !json_is_integer(v) ||
	    (uint64_t)json_integer_value(v) != j->height : v != NULL)
		fuzz_fail("rendered height is not the job's");
	nkeys += j->has_height != 0;
	s = str_member(p, "seed_hash");
	if (j->seed_hash != NULL ? s == NULL || strcmp(s, j->seed_hash) != 0 :
	    json_object_get(p, "seed_hash") != NULL)
		fuzz_fail("rendered seed_hash is not the job's");
	nkeys += j->seed_hash != NULL;
	if (json_object_size(p) != nkeys)
		fuzz_fail("rendered params has %zu members, want %zu",
		    json_object_size(p), nkeys);
}

/*
 * Render a job for one miner (slot, or -1) as a line and as an object;
 * both must parse and say what the job says. Then render into buffers of
 * exactly cap bytes (ASan checks the bounds): the whole thing or 0.
 */
static void
check_render(const struct job *j, int slot, uint8_t capbyte)
{
	char		*buf, *obj, *small;
	size_t		 n, no, r, caps[3], k;
	json_error_t	 err;
	json_t		*line, *o, *s;

	buf = (char *)xmalloc(FUZZ_BIGCAP);
	obj = (char *)xmalloc(FUZZ_BIGCAP);
	n = job_render(j, slot, FUZZ_TARGET, FUZZ_SESSION, buf, FUZZ_BIGCAP);
	if (n == 0 || n >= FUZZ_BIGCAP)
		fuzz_fail("job_render returned %zu with cap %d", n,
		    FUZZ_BIGCAP);
	if (strlen(buf) != n || buf[n - 1] != '\n')
		fuzz_fail("job_render: length %zu, strlen %zu, no newline", n,
		    strlen(buf));
	if ((line = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &err)) == NULL)
		fuzz_fail("job_render (slot %d) is not JSON: %s: %s", slot,
		    err.text, buf);
	if (!json_is_object(line) || json_object_size(line) != 3 ||
	    (s = json_object_get(line, "jsonrpc")) == NULL ||
	    !json_is_string(s) || strcmp(json_string_value(s), "2.0") != 0 ||
	    (s = json_object_get(line, "method")) == NULL ||
	    !json_is_string(s) || strcmp(json_string_value(s), "job") != 0)
		fuzz_fail("job_render: not a job notification: %s", buf);
	check_params(j, json_object_get(line, "params"), slot);

	no = job_render_object(j, slot, FUZZ_TARGET, FUZZ_SESSION, obj,
	    FUZZ_BIGCAP);
	if (no == 0 || strlen(obj) != no)
		fuzz_fail("job_render_object returned %zu", no);
	if ((o = json_loadb(obj, no, JSON_REJECT_DUPLICATES, &err)) == NULL)
		fuzz_fail("job_render_object is not JSON: %s: %s", err.text,
		    obj);
	if (!json_equal(o, json_object_get(line, "params")))
		fuzz_fail("job_render_object differs from the line's params");
	if (n != no + JOB_PARAMS_OFF + 2 ||
	    memcmp(buf + JOB_PARAMS_OFF, obj, no) != 0)
		fuzz_fail("the line is not head + object + \"}\\n\"");
	json_decref(o);
	json_decref(line);

	/* Exact caps: one byte short of the NUL, just enough, and any. */
	for (k = 0; k < 3; k++) {
		caps[0] = n;
		caps[1] = n + 1;
		caps[2] = (size_t)capbyte * (n + 2) / 255;
		small = (char *)xmalloc(caps[k] > 0 ? caps[k] : 1);
		r = job_render(j, slot, FUZZ_TARGET, FUZZ_SESSION, small,
		    caps[k]);
		if (r != 0 && (r != n || memcmp(small, buf, n + 1) != 0))
			fuzz_fail("job_render with cap %zu returned %zu "
			    "(full line %zu)", caps[k], r, n);
		if ((r == 0) != (caps[k] <= n))
			fuzz_fail("job_render with cap %zu returned %zu "
			    "(line %zu)", caps[k], r, n);
		free(small);

		caps[0] = no;
		caps[1] = no + 1;
		caps[2] = (size_t)capbyte * (no + 2) / 255;
		small = (char *)xmalloc(caps[k] > 0 ? caps[k] : 1);
		r = job_render_object(j, slot, FUZZ_TARGET, FUZZ_SESSION,
		    small, caps[k]);
		if (r != 0 && (r != no || memcmp(small, obj, no + 1) != 0))
			fuzz_fail("job_render_object with cap %zu returned "
			    "%zu (object %zu)", caps[k], r, no);
		if ((r == 0) != (caps[k] <= no))
			fuzz_fail("job_render_object with cap %zu returned "
			    "%zu (object %zu)", caps[k], r, no);
		free(small);
	}
	free(obj);
	free(buf);
}

/* Add to the reference set; 1 if new, 0 if there already. */
static int
refset_add(struct refset *r, uint32_t v)
{
	size_t	 mask = sizeof r->v / sizeof r->v[0] - 1;
	size_t	 i = (v ^ (v >> 13) ^ (v >> 23)) & mask;

	for (;; i = (i + 1) & mask) {
		if (!r->used[i]) {
			r->used[i] = 1;
			r->v[i] = v;
			return 1;
		}
		if (r->v[i] == v)
			return 0;
	}
}

/*
 * The input as little-endian uint32 nonces: each add must say new exactly
 * when the reference set does; a second round finds every one a
 * duplicate; after nonceset_clear() they are all new again.
 */
static void
fuzz_nonces(const uint8_t *data, size_t len)
{
	static struct refset	 ref;
	struct nonceset		 s;
	size_t			 n, i, distinct = 0;
	uint32_t		 v;
	int			 want, got, round, zero;

	/* The reference table must stay at most a quarter full. */
	n = len / 4 < FUZZ_NONCES ? len / 4 : FUZZ_NONCES;
	memset(&s, 0, sizeof s);
	for (round = 0; round < 2; round++) {
		memset(&ref, 0, sizeof ref);
		distinct = 0;
		zero = 0;
		for (i = 0; i < n; i++) {
			v = (uint32_t)data[4 * i] |
			    (uint32_t)data[4 * i + 1] << 8 |
			    (uint32_t)data[4 * i + 2] << 16 |
			    (uint32_t)data[4 * i + 3] << 24;
			want = refset_add(&ref, v);
			distinct += want && v != 0;
			zero |= v == 0;
			if ((got = nonceset_add(&s, v)) != want)
				fuzz_fail("round %d: nonceset_add(0x%08x) = %d, "
				    "want %d (nonce %zu)", round, v, got, want,
				    i);
		}
		if (s.n != distinct || s.has_zero != zero)
			fuzz_fail("round %d: set holds %u (zero %d), want %zu "
			    "(zero %d)", round, s.n, s.has_zero, distinct,
			    zero);
		if (s.cap != 0 && (s.cap & (s.cap - 1)) != 0)
			fuzz_fail("set capacity %u", s.cap);
		for (i = 0; i < n; i++) {
			v = (uint32_t)data[4 * i] |
			    (uint32_t)data[4 * i + 1] << 8 |
			    (uint32_t)data[4 * i + 2] << 16 |
			    (uint32_t)data[4 * i + 3] << 24;
			if (nonceset_add(&s, v) != 0)
				fuzz_fail("round %d: 0x%08x is new the second "
				    "time", round, v);
		}
		nonceset_clear(&s);
		if (s.n != 0 || s.has_zero)
			fuzz_fail("nonceset_clear left %u", s.n);
	}
	nonceset_free(&s);
}

/* One input: a job object from a pool, and the same bytes as nonces. */
extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct job	*j[2];
	json_error_t	 err;
	json_t		*o;
	const char	*why;
	char		*b, want[2];
	int		 algo_ext, slot;
	uint8_t		 last = len > 0 ? data[len - 1] : 0;

	fuzz_input(data, len);
	fuzz_nonces(data, len);
	if ((o = json_loadb((const char *)data, len, 0, &err)) == NULL)
		return 0;
	/* A slot from the input (and -1, no slot, below). */
	slot = len > 1 ? data[len - 2] : 0;
	for (algo_ext = 1; algo_ext >= 0; algo_ext--) {
		why = NULL;
		j[algo_ext] = job_parse(o, algo_ext, &why);
		if (j[algo_ext] == NULL) {
			if (why == NULL)
				fuzz_fail("job_parse: NULL without a reason");
			continue;
		}
		check_job(j[algo_ext], o, algo_ext);
		check_render(j[algo_ext], slot, last);
		check_render(j[algo_ext], -1, (uint8_t)(last ^ 0x5a));
		/* The blob helper patches the same two hex chars. */
		b = xstrdup(j[algo_ext]->blob);
		job_blob_slot(b, j[algo_ext]->blob_len, (uint8_t)slot);
		stratum_hex_byte((uint8_t)slot, want);
		if (memcmp(b + 2 * JOB_SLOT_OFF, want, 2) != 0 ||
		    strlen(b) != j[algo_ext]->blob_len)
			fuzz_fail("job_blob_slot did not write the slot");
		free(b);
	}
	if ((j[0] == NULL) != (j[1] == NULL))
		fuzz_fail("job_parse accepts with algo-ext %d only",
		    j[1] != NULL);
	if (j[1] != NULL && job_ref(j[1])->refs != 2)
		fuzz_fail("job_ref did not count");
	job_unref(j[1]);
	job_unref(j[1]);
	job_unref(j[0]);
	json_decref(o);
	return 0;
}
