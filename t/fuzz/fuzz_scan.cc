/*
 * fuzz_scan.cc: libFuzzer target for stratum_scan(), the in-place fast
 * path for flat stratum lines (miner.cc, pool.cc).
 *
 * The scanner promises never to accept what jansson would refuse and never
 * to decide differently. So whenever it accepts a line, jansson (with
 * JSON_REJECT_DUPLICATES, as miner.cc parses) must accept it too and agree
 * on every scanned member of the top object and of the one nested object:
 * strings byte for byte, integers by value, arrays of strings element by
 * element. Scanning must leave the line as it was, must not look past len,
 * and stratum_terminate() must change nothing but the closing quote of
 * each string value. Any disagreement aborts with the input on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static void	 check_object(const struct jobj *, json_t *, const char *,
		     size_t, int);
static void	 check_member(const struct jmember *, json_t *, const char *,
		     size_t);
static void	 check_array(const struct jmember *, json_t *);
static void	 check_within(const char *, size_t, const char *, size_t,
		     const char *);
static void	 check_same(const struct jobj *, const char *,
		     const struct jobj *, const char *);

static const struct jflat *scan_flat;	/* the scan being checked */

/* Is [p, p + n) inside [line, line + len)? Fail if not. */
static void
check_within(const char *line, size_t len, const char *p, size_t n,
    const char *what)
{
	if (p < line || p > line + len || n > (size_t)(line + len - p))
		fuzz_fail("%s at offset %td, length %zu, is outside the line "
		    "(length %zu)", what, p - line, n, len);
}

/* Check a scanned array of strings against jansson's array. */
static void
check_array(const struct jmember *m, json_t *v)
{
	const char	*pos = NULL, *s;
	size_t		 n, i = 0;
	json_t		*e;

	if (!json_is_array(v))
		fuzz_fail("member %.*s: scanned as an array, jansson says "
		    "type %d", (int)m->klen, m->key, json_typeof(v));
	if (m->vlen < 2 || m->val[0] != '[' || m->val[m->vlen - 1] != ']')
		fuzz_fail("member %.*s: array text \"%.*s\" is not [...]",
		    (int)m->klen, m->key, (int)m->vlen, m->val);
	while (stratum_array_next(m, &pos, &s, &n) == 0) {
		if (s < m->val || s + n > m->val + m->vlen)
			fuzz_fail("member %.*s: element %zu outside the array",
			    (int)m->klen, m->key, i);
		e = json_array_get(v, i);
		if (!json_is_string(e))
			fuzz_fail("member %.*s: element %zu: jansson has no "
			    "string there", (int)m->klen, m->key, i);
		if (json_string_length(e) != n ||
		    memcmp(json_string_value(e), s, n) != 0)
			fuzz_fail("member %.*s: element %zu: scanned \"%.*s\", "
			    "jansson \"%s\"", (int)m->klen, m->key, i, (int)n,
			    s, json_string_value(e));
		i++;
		if (i > json_array_size(v))
			break;
	}
	if (i != json_array_size(v))
		fuzz_fail("member %.*s: %zu elements scanned, jansson has %zu",
		    (int)m->klen, m->key, i, json_array_size(v));
}

/* Check one scanned member against jansson's value for its key. */
static void
check_member(const struct jmember *m, json_t *v, const char *line,
    size_t len)
{
	const char	*lit;
	char		 num[32], *ep;
	long long	 want;

	switch (m->type) {
	case 's':
		check_within(line, len, m->val - 1, m->vlen + 2, "string value");
		if (m->val[-1] != '"' || m->val[m->vlen] != '"')
			fuzz_fail("member %.*s: string value is not quoted",
			    (int)m->klen, m->key);
		if (!json_is_string(v))
			fuzz_fail("member %.*s: scanned as a string, jansson "
			    "says type %d", (int)m->klen, m->key,
			    json_typeof(v));
		if (json_string_length(v) != m->vlen ||
		    memcmp(json_string_value(v), m->val, m->vlen) != 0)
			fuzz_fail("member %.*s: scanned \"%.*s\", jansson "
			    "\"%s\"", (int)m->klen, m->key, (int)m->vlen,
			    m->val, json_string_value(v));
		break;
	case 'n':
		if (!json_is_integer(v))
			fuzz_fail("member %.*s: scanned as an integer, jansson "
			    "says type %d", (int)m->klen, m->key,
			    json_typeof(v));
		if (m->vlen == 0 || m->vlen >= sizeof num)
			fuzz_fail("member %.*s: integer of %zu chars",
			    (int)m->klen, m->key, m->vlen);
		memcpy(num, m->val, m->vlen);
		num[m->vlen] = '\0';
		want = strtoll(num, &ep, 10);
		if (*ep != '\0')
			fuzz_fail("member %.*s: integer text \"%s\" is not "
			    "all digits", (int)m->klen, m->key, num);
		if (want != (long long)json_integer_value(v))
			fuzz_fail("member %.*s: scanned %lld, jansson %lld",
			    (int)m->klen, m->key, want,
			    (long long)json_integer_value(v));
		break;
	case 'a':
		check_array(m, v);
		break;
	case 'o':
		if (!json_is_object(v))
			fuzz_fail("member %.*s: scanned as an object, jansson "
			    "says type %d", (int)m->klen, m->key,
			    json_typeof(v));
		if (m->vlen < 2 || m->val[0] != '{' ||
		    m->val[m->vlen - 1] != '}')
			fuzz_fail("member %.*s: object text is not {...}",
			    (int)m->klen, m->key);
		check_object(&scan_flat->sub, v, line, len, 1);
		break;
	case 'z':
	case 't':
	case 'f':
		lit = m->type == 'z' ? "null" : m->type == 't' ? "true" :
		    "false";
		if (m->vlen != strlen(lit) || memcmp(m->val, lit, m->vlen) != 0)
			fuzz_fail("member %.*s: literal \"%.*s\" for type %c",
			    (int)m->klen, m->key, (int)m->vlen, m->val,
			    m->type);
		if ((m->type == 'z' && !json_is_null(v)) ||
		    (m->type == 't' && !json_is_true(v)) ||
		    (m->type == 'f' && !json_is_false(v)))
			fuzz_fail("member %.*s: scanned %s, jansson says "
			    "type %d", (int)m->klen, m->key, lit,
			    json_typeof(v));
		break;
	default:
		fuzz_fail("member %.*s: unknown type 0x%02x", (int)m->klen,
		    m->key, (unsigned char)m->type);
	}
}

/*
 * Check a scanned object against jansson's: the same number of members,
 * each key found, each value equal. nested: the object is f.sub.
 */
static void
check_object(const struct jobj *o, json_t *jo, const char *line, size_t len,
    int nested)
{
	const struct jmember	*m;
	json_t			*v;
	char			*key;
	int			 i, nobj = 0;

	if (o->n < 0 || o->n > JFLAT_MAX)
		fuzz_fail("object with %d members", o->n);
	if ((size_t)o->n != json_object_size(jo))
		fuzz_fail("%s object: %d members scanned, jansson has %zu",
		    nested ? "nested" : "top", o->n, json_object_size(jo));
	for (i = 0; i < o->n; i++) {
		m = &o->m[i];
		check_within(line, len, m->key - 1, m->klen + 2, "key");
		check_within(line, len, m->val, m->vlen, "value");
		if (m->key[-1] != '"' || m->key[m->klen] != '"')
			fuzz_fail("key %d is not quoted", i);
		if ((v = json_object_getn(jo, m->key, m->klen)) == NULL)
			fuzz_fail("key \"%.*s\" not in jansson's object",
			    (int)m->klen, m->key);
		key = xstrndup(m->key, m->klen);
		if (stratum_member(o, key) != m)
			fuzz_fail("stratum_member(\"%s\") finds another member",
			    key);
		free(key);
		if (m->type == 'o') {
			if (nested)
				fuzz_fail("object nested two deep scanned");
			if (++nobj > 1)
				fuzz_fail("two nested objects scanned");
		}
		check_member(m, v, line, len);
		if (m->type == 's') {
			char	*val = xstrndup(m->val, m->vlen);

			if (!stratum_is(m, val))
				fuzz_fail("stratum_is(\"%s\") is false for "
				    "its own value", val);
			free(val);
		}
	}
	if (!nested && nobj == 0 && scan_flat->sub.n != 0)
		fuzz_fail("no nested object, yet f.sub has %d members",
		    scan_flat->sub.n);
}

/* Do two scans of copies of the same line agree exactly? */
static void
check_same(const struct jobj *a, const char *la, const struct jobj *b,
    const char *lb)
{
	const struct jmember	*x, *y;
	int			 i;

	if (a->n != b->n)
		fuzz_fail("the two scans have %d and %d members", a->n, b->n);
	for (i = 0; i < a->n; i++) {
		x = &a->m[i];
		y = &b->m[i];
		if (x->key - la != y->key - lb || x->klen != y->klen ||
		    x->val - la != y->val - lb || x->vlen != y->vlen ||
		    x->type != y->type)
			fuzz_fail("the two scans differ at member %d", i);
	}
}

/* One input: a line as it comes off the wire, without its newline. */
extern "C" int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jflat	 f, g;
	json_error_t	 err;
	json_t		*root;
	char		*line, *exact, *want;
	int		 rc, rc2, k, i;
	struct jobj	*objs[2] = { &f.top, &f.sub };
	struct jmember	*m;

	fuzz_input(data, len);
	/* The line as the daemon has it: NUL-terminated. */
	line = (char *)xmalloc(len + 1);
	memcpy(line, data, len);
	line[len] = '\0';
	/* And exactly len bytes, so ASan sees a read past the end. */
	exact = (char *)xmalloc(len);
	memcpy(exact, data, len);

	rc = stratum_scan(line, len, &f);
	rc2 = stratum_scan(exact, len, &g);
	if (rc != 0 && rc != -1)
		fuzz_fail("stratum_scan returned %d", rc);
	if (rc != rc2)
		fuzz_fail("stratum_scan returned %d with a NUL after the line, "
		    "%d without", rc, rc2);
	if (memcmp(line, data, len) != 0 || line[len] != '\0')
		fuzz_fail("stratum_scan changed the line");
	if (rc != 0)
		goto out;
	check_same(&f.top, line, &g.top, exact);
	check_same(&f.sub, line, &g.sub, exact);

	root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES,
	    &err);
	if (root == NULL)
		fuzz_fail("stratum_scan accepted a line jansson refuses: %s "
		    "(line %d column %d)", err.text, err.line, err.column);
	if (!json_is_object(root))
		fuzz_fail("stratum_scan accepted a line that is not an object");
	scan_flat = &f;
	check_object(&f.top, root, line, len, 0);
	json_decref(root);

	/* Terminating changes each string value's closing quote, only. */
	want = (char *)xmalloc(len + 1);
	memcpy(want, line, len + 1);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < objs[k]->n; i++) {
			m = &objs[k]->m[i];
			if (m->type == 's')
				want[m->val + m->vlen - line] = '\0';
		}
	}
	stratum_terminate(&f);
	for (k = 0; k < 2; k++) {
		for (i = 0; i < objs[k]->n; i++) {
			m = &objs[k]->m[i];
			if (m->type == 's' && m->val[m->vlen] != '\0')
				fuzz_fail("string member %.*s not terminated "
				    "at vlen", (int)m->klen, m->key);
			if (m->type == 's' && strlen(m->val) != m->vlen)
				fuzz_fail("string member %.*s: strlen %zu, "
				    "vlen %zu", (int)m->klen, m->key,
				    strlen(m->val), m->vlen);
		}
	}
	if (memcmp(want, line, len + 1) != 0)
		fuzz_fail("stratum_terminate changed more than the closing "
		    "quotes");
	free(want);
out:
	free(exact);
	free(line);
	return 0;
}
