/*
 * job.cc: an upstream job, validated once and encoded once.
 *
 * Fan-out cost per miner is a memcpy of the encoded head, two hex chars
 * patched for the NiceHash slot, the target and the session id: no JSON
 * encoding and no allocation per miner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "stratum.h"

#define JOB_ID_MAX	128
#define JOB_BLOB_MAX	1024	/* hex chars; CryptoNote blobs are ~152 */

static char	*job_quote(const char *);

/* A string as a JSON string literal (quotes included). */
static char *
job_quote(const char *s)
{
	json_t	*j = json_string(s);
	char	*out;

	if (j == NULL)
		return NULL;
	out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(j);
	return out;
}

/*
 * Validate a job object from a pool (login reply "job" or "job" params)
 * and encode it. Returns NULL with *why set when it cannot be used.
 */
struct job *
job_parse(json_t *o, int algo_ext, const char **why)
{
	struct job	*j;
	json_t		*blob, *id, *target, *algo, *height, *seed;
	char		*qid = NULL, *qalgo = NULL, *head = NULL;
	size_t		 tlen;

	if (!json_is_object(o)) {
		*why = "job is not an object";
		return NULL;
	}
	blob = json_object_get(o, "blob");
	id = json_object_get(o, "job_id");
	target = json_object_get(o, "target");
	algo = json_object_get(o, "algo");
	height = json_object_get(o, "height");
	seed = json_object_get(o, "seed_hash");
	if (!json_is_string(blob) || json_string_length(blob) == 0) {
		*why = "missing blob";
		return NULL;
	}
	if (json_string_length(blob) < 2 * (JOB_SLOT_OFF + 1)) {
		*why = "blob too short to hold a nonce at bytes 39..42";
		return NULL;
	}
	if (json_string_length(blob) > JOB_BLOB_MAX) {
		*why = "blob longer than 1024 hex characters";
		return NULL;
	}
	if (json_string_length(blob) % 2 != 0 ||
	    !stratum_is_hex(json_string_value(blob), json_string_length(blob))) {
		*why = "blob is not even-length hex";
		return NULL;
	}
	if (!json_is_string(id) || json_string_length(id) == 0 ||
	    json_string_length(id) > JOB_ID_MAX) {
		*why = "missing or oversized job_id";
		return NULL;
	}
	if (!json_is_string(target) ||
	    stratum_target_diff(json_string_value(target),
	    json_string_length(target)) == 0) {
		*why = "invalid target";
		return NULL;
	}
	if (algo != NULL && !json_is_null(algo) && (!json_is_string(algo) ||
	    json_string_length(algo) == 0 || json_string_length(algo) > 64)) {
		*why = "invalid algo";
		return NULL;
	}
	if (height != NULL && !json_is_null(height) &&
	    (!json_is_integer(height) || json_integer_value(height) < 0)) {
		*why = "invalid height";
		return NULL;
	}
	if (seed != NULL && !json_is_null(seed) && (!json_is_string(seed) ||
	    json_string_length(seed) > 128 ||
	    !stratum_is_hex(json_string_value(seed), json_string_length(seed)))) {
		*why = "invalid seed_hash";
		return NULL;
	}

	j = XCALLOC(struct job, 1);
	j->refs = 1;
	j->blob_len = json_string_length(blob);
	j->blob = xstrndup(json_string_value(blob), j->blob_len);
	j->job_id = xstrdup(json_string_value(id));
	tlen = json_string_length(target);
	j->target = xstrndup(json_string_value(target), tlen);
	j->diff = stratum_target_diff(j->target, tlen);
	if (json_is_string(algo))
		j->algo = xstrdup(json_string_value(algo));
	if (json_is_integer(height))
		j->height = (uint64_t)json_integer_value(height);
	if (json_is_string(seed))
		j->seed_hash = xstrdup(json_string_value(seed));

	qid = job_quote(j->job_id);
	if (j->algo != NULL && algo_ext)
		qalgo = job_quote(j->algo);
	if (qid == NULL || (j->algo != NULL && algo_ext && qalgo == NULL)) {
		free(qid);
		free(qalgo);
		job_unref(j);
		*why = "job_id or algo is not valid UTF-8";
		return NULL;
	}

	/* Encode everything before the target once. */
	static const char pre[] =
	    "{\"jsonrpc\":\"2.0\",\"method\":\"job\",\"params\":{\"blob\":\"";
	static_assert(sizeof "{\"jsonrpc\":\"2.0\",\"method\":\"job\",\"params\":"
	    - 1 == JOB_PARAMS_OFF, "JOB_PARAMS_OFF");
	struct evbuffer *b = evbuffer_new();
	evbuffer_add_printf(b, "%s%s\",\"job_id\":%s", pre, j->blob, qid);
	if (qalgo != NULL) {
		evbuffer_add_printf(b, ",\"algo\":%s", qalgo);
		j->send_algo = 1;
	}
	if (json_is_integer(height)) {
		evbuffer_add_printf(b, ",\"height\":%llu",
		    (unsigned long long)j->height);
		j->has_height = 1;
	}
	if (j->seed_hash != NULL)
		evbuffer_add_printf(b, ",\"seed_hash\":\"%s\"", j->seed_hash);
	evbuffer_add_printf(b, ",\"target\":\"");
	j->head_len = evbuffer_get_length(b);
	head = (char *)xmalloc(j->head_len + 1);
	evbuffer_remove(b, head, j->head_len);
	head[j->head_len] = '\0';
	evbuffer_free(b);
	j->qjob_id = qid;
	j->qalgo = qalgo;
	j->head = head;
	j->slot_off = sizeof pre - 1 + 2 * JOB_SLOT_OFF;
	return j;
}

/* Take a reference. */
struct job *
job_ref(struct job *j)
{
	j->refs++;
	return j;
}

/* Drop a reference; the last one frees. */
void
job_unref(struct job *j)
{
	if (j == NULL || --j->refs > 0)
		return;
	free(j->blob);
	free(j->job_id);
	free(j->target);
	free(j->algo);
	free(j->seed_hash);
	free(j->qjob_id);
	free(j->qalgo);
	free(j->head);
	free(j);
}

/* Write a slot into a blob in place (hex chars 84..85). */
void
job_blob_slot(char *blob, size_t len, uint8_t slot)
{
	if (len >= 2 * JOB_SLOT_OFF + 2)
		stratum_hex_byte(slot, blob + 2 * JOB_SLOT_OFF);
}

/*
 * The job object for one miner: the encoded params with this miner's
 * slot (-1 leaves the blob as the pool sent it), target and session:
 *	{"blob":"...",...,"target":"T","id":"S"}
 * Returns its length, or 0 if cap is too small. No allocation.
 */
size_t
job_render_object(const struct job *j, int slot, const char *target,
    const char *session, char *buf, size_t cap)
{
	size_t		 hlen = j->head_len - JOB_PARAMS_OFF;
	size_t		 tlen = strlen(target), slen = strlen(session), n;
	static const char mid[] = "\",\"id\":\"";

	n = hlen + tlen + sizeof mid - 1 + slen + 2;
	if (n >= cap)
		return 0;
	memcpy(buf, j->head + JOB_PARAMS_OFF, hlen);
	if (slot >= 0)
		stratum_hex_byte((uint8_t)slot, buf + j->slot_off -
		    JOB_PARAMS_OFF);
	n = hlen;
	memcpy(buf + n, target, tlen);
	n += tlen;
	memcpy(buf + n, mid, sizeof mid - 1);
	n += sizeof mid - 1;
	memcpy(buf + n, session, slen);
	n += slen;
	buf[n++] = '"';
	buf[n++] = '}';
	buf[n] = '\0';
	return n;
}

/*
 * The job notification line for one miner:
 *	{"jsonrpc":"2.0","method":"job","params":<object>}\n
 * Returns the line length, or 0 if cap is too small.
 */
size_t
job_render(const struct job *j, int slot, const char *target,
    const char *session, char *buf, size_t cap)
{
	size_t	 n;

	if (cap < JOB_PARAMS_OFF + 3)
		return 0;
	memcpy(buf, j->head, JOB_PARAMS_OFF);
	n = job_render_object(j, slot, target, session, buf + JOB_PARAMS_OFF,
	    cap - JOB_PARAMS_OFF - 2);
	if (n == 0)
		return 0;
	n += JOB_PARAMS_OFF;
	buf[n++] = '}';
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}
