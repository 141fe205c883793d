/*
 * secret.cc: how a password is kept out of what sluice shows. Pool
 * passwords, miners' passwords and the access password travel in the
 * "pass" member of stratum login lines; every place that shows a raw line
 * (the -vv debug lines, later the capture) goes through secret_mask(),
 * and a password that must name something (workers "password") is shown
 * as secret_tag()'s short hash, never in clear.
 *
 * The configuration the API shows (GET /1/config) goes through
 * secret_mask_json(), which knows the same member names; a config sent
 * back (PUT /1/config) goes through secret_unmask_json(), which puts the
 * secrets in force back where the masked text stands.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "sluice.h"

#define SECRET_PATH_MAX	256	/* a key path in an unmask error */

/* Where a config tree is being unmasked, and what went wrong. */
struct secret_walk {
	const char	*file;
	struct strlist	*errors;
	char		 path[SECRET_PATH_MAX];
};

static size_t	 secret_string_end(const char *, size_t, size_t);
static int	 secret_is_key(const char *, size_t);
static int	 secret_url_pass(const char *, size_t *, size_t *);
static json_t	*secret_url_with(const char *, size_t, size_t, const char *,
		     size_t);
static int	 secret_same_pool(const json_t *, const json_t *);
static const json_t *secret_match(const json_t *, const json_t *, size_t);
static void	 secret_unmask_at(struct secret_walk *, json_t *,
		     const json_t *);
static void	 secret_unmask_string(struct secret_walk *, json_t *,
		     const json_t *, const char *, size_t);

/*
 * Member names whose values are secrets, wherever they appear: the
 * stratum "pass", and in the config pools[].pass, switch.password,
 * access-password and http.access-token.
 */
static const char *const secret_keys[] = { "pass", "password",
    "access-password", "access-token", NULL };

/*
 * The end of the JSON string token that starts at line[i] (a quote): the
 * index after its closing quote, or len when it is not closed.
 */
static size_t
secret_string_end(const char *line, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (line[i] == '\\')
			i++;
		else if (line[i] == '"')
			return i + 1;
	}
	return len;
}

/* Is the token line[0..n) (quotes excluded) a secret member's name? */
static int
secret_is_key(const char *name, size_t n)
{
	const char *const	*k;

	for (k = secret_keys; *k != NULL; k++) {
		if (strlen(*k) == n && memcmp(*k, name, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Copy a stratum line into out (NUL-terminated, cut to fit) with the
 * string value of every "pass" or "password" member replaced by "***".
 * Works on any bytes: string tokens are skipped whole, so a value that
 * contains "pass": is not mistaken for a key, and an unterminated value
 * is masked to the end. Returns the length written.
 */
size_t
secret_mask(char *out, size_t cap, const char *line, size_t len)
{
	return secret_mask_as(out, cap, line, len, "***");
}

/* secret_mask() with the masked values written as "mask". */
size_t
secret_mask_as(char *out, size_t cap, const char *line, size_t len,
    const char *mask)
{
	size_t	 i = 0, o = 0, end, k, n, mlen = strlen(mask);

	if (cap == 0)
		return 0;
	while (i < len && o + 1 < cap) {
		if (line[i] != '"') {
			out[o++] = line[i++];
			continue;
		}
		end = secret_string_end(line, len, i);
		/* Copy the token, then see whether it names a secret. */
		n = end - i;
		if (n > cap - 1 - o)
			n = cap - 1 - o;
		memcpy(out + o, line + i, n);
		o += n;
		k = end;
		while (k < len && (line[k] == ' ' || line[k] == '\t'))
			k++;
		if (end - i >= 2 && k < len && line[k] == ':' &&
		    secret_is_key(line + i + 1, end - i - 2)) {
			for (k++; k < len && (line[k] == ' ' || line[k] == '\t');
			    k++)
				;
			if (k < len && line[k] == '"') {
				if (o + mlen + 3 < cap) {
					memcpy(out + o, ":\"", 2);
					memcpy(out + o + 2, mask, mlen);
					out[o + 2 + mlen] = '"';
					o += mlen + 3;
				}
				i = secret_string_end(line, len, k);
				continue;
			}
		}
		i = end;
	}
	out[o] = '\0';
	return o;
}

/*
 * A stable short name for a secret, "pw:" and 6 hex digits of its
 * SHA-256: the same password gives the same tag on every proxy and
 * after a restart, so it can name a worker. It does not hide a weak
 * password from someone who guesses it; it only keeps it out of sight.
 */
void
secret_tag(const char *secret, char out[SECRET_TAG_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0;
	int			 i;

	if (secret == NULL)
		secret = "";
	EVP_Digest(secret, strlen(secret), md, &mdlen, EVP_sha256(), NULL);
	memcpy(out, "pw:", 3);
	for (i = 0; i < 3; i++) {
		out[3 + 2 * i] = hex[md[i] >> 4];
		out[4 + 2 * i] = hex[md[i] & 0xf];
	}
	out[SECRET_TAG_LEN] = '\0';
}

/*
 * Where the password of a URL's user info is, as in
 * redis://:PASSWORD@host:port/db: 1 with its offset and length, or 0 if
 * s is no URL or has no password (an empty one is none). The user info
 * is taken to end at the last "@", wherever it is, and the password to
 * start after the first ":" before it: a password with "/", "?", "#" or
 * "@" in it is hidden whole, at the cost of hiding more than the
 * password of a URL that has an "@" in its path or query.
 */
static int
secret_url_pass(const char *s, size_t *off, size_t *len)
{
	const char	*a, *at, *colon;

	if ((a = strstr(s, "://")) == NULL || (at = strrchr(a, '@')) == NULL)
		return 0;
	a += 3;
	if (at < a ||
	    (colon = (const char *)memchr(a, ':', (size_t)(at - a))) == NULL ||
	    colon + 1 == at)
		return 0;
	*off = (size_t)(colon + 1 - s);
	*len = (size_t)(at - colon - 1);
	return 1;
}

/* A new string: s with its bytes [off, off + len) replaced by pw. */
static json_t *
secret_url_with(const char *s, size_t off, size_t len, const char *pw,
    size_t pwlen)
{
	size_t	 n = strlen(s), m = n - len + pwlen;
	char	*t = (char *)xmalloc(m + 1);
	json_t	*j;

	memcpy(t, s, off);
	memcpy(t + off, pw, pwlen);
	memcpy(t + off + pwlen, s + off + len, n - off - len);
	t[m] = '\0';
	j = json_string(t);
	free(t);
	return j;
}

/*
 * Mask a config tree in place, for showing it: the value of every secret
 * member that is not null, and the password of every URL (switch.redis),
 * become SECRET_HIDDEN.
 */
void
secret_mask_json(json_t *j)
{
	const char	*key, *s;
	json_t		*v;
	size_t		 i, off, len;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			if (json_is_string(v) && secret_url_pass(s =
			    json_string_value(v), &off, &len))
				json_array_set_new(j, i, secret_url_with(s, off,
				    len, SECRET_HIDDEN, strlen(SECRET_HIDDEN)));
			else
				secret_mask_json(v);
		}
		return;
	}
	if (!json_is_object(j))
		return;
	/* Replacing the value of a member leaves the iteration whole. */
	json_object_foreach(j, key, v) {
		if (secret_is_key(key, strlen(key)) && !json_is_null(v))
			json_object_set_new(j, key, json_string(SECRET_HIDDEN));
		else if (json_is_string(v) && secret_url_pass(s =
		    json_string_value(v), &off, &len))
			json_object_set_new(j, key, secret_url_with(s, off, len,
			    SECRET_HIDDEN, strlen(SECRET_HIDDEN)));
		else
			secret_mask_json(v);
	}
}

/* Do the objects a and b have the same url, and the same user or none? */
static int
secret_same_pool(const json_t *a, const json_t *b)
{
	const json_t	*u = json_object_get(a, "user");
	const json_t	*v = json_object_get(b, "user");

	return json_equal(json_object_get(a, "url"), json_object_get(b,
	    "url")) && (u == v || (u != NULL && v != NULL && json_equal(u, v)));
}

/*
 * The element of the current array cur that the new element n, at index
 * i of its own array, stands for: a pool (an object with a "url") is the
 * one at the same index if it has the same url and user, else the first
 * that has, else the one at the same index. NULL if there is none.
 */
static const json_t *
secret_match(const json_t *cur, const json_t *n, size_t i)
{
	const json_t	*same = json_array_get(cur, i);
	size_t		 k;

	if (!json_is_array(cur) || !json_is_string(json_object_get(n, "url")))
		return same;
	if (same != NULL && secret_same_pool(same, n))
		return same;
	for (k = 0; k < json_array_size(cur); k++) {
		if (secret_same_pool(json_array_get(cur, k), n))
			return json_array_get(cur, k);
	}
	return same;
}

/*
 * A string of the new tree at w->path that is not a secret member's
 * value: a URL whose password is SECRET_HIDDEN gets the password of the
 * current URL at the same place. The string is parent's member key, or
 * its element idx when key is NULL.
 */
static void
secret_unmask_string(struct secret_walk *w, json_t *parent,
    const json_t *cur, const char *key, size_t idx)
{
	json_t		*v, *nv;
	const char	*s, *cs;
	size_t		 off, len, coff, clen;

	v = key != NULL ? json_object_get(parent, key) :
	    json_array_get(parent, idx);
	s = json_string_value(v);
	if (!secret_url_pass(s, &off, &len) || len != strlen(SECRET_HIDDEN) ||
	    memcmp(s + off, SECRET_HIDDEN, len) != 0)
		return;
	if (!json_is_string(cur) || !secret_url_pass(cs =
	    json_string_value(cur), &coff, &clen)) {
		strlist_add(w->errors, "%s: %s: \"%s\" keeps the password in "
		    "force, but the URL in force here has none", w->file,
		    w->path, SECRET_HIDDEN);
		return;
	}
	nv = secret_url_with(s, off, len, cs + coff, clen);
	if (key != NULL)
		json_object_set_new(parent, key, nv);
	else
		json_array_set_new(parent, idx, nv);
}

/* Unmask the value n at w->path against cur, the value in force there. */
static void
secret_unmask_at(struct secret_walk *w, json_t *n, const json_t *cur)
{
	const char	*key;
	const json_t	*c;
	json_t		*v;
	size_t		 i, plen = strlen(w->path);

	if (json_is_array(n)) {
		json_array_foreach(n, i, v) {
			snprintf(w->path + plen, sizeof w->path - plen,
			    "[%zu]", i);
			if (json_is_string(v))
				secret_unmask_string(w, n, json_array_get(cur,
				    i), NULL, i);
			else
				secret_unmask_at(w, v, secret_match(cur, v, i));
		}
		w->path[plen] = '\0';
		return;
	}
	if (!json_is_object(n))
		return;
	json_object_foreach(n, key, v) {
		snprintf(w->path + plen, sizeof w->path - plen, "%s%s",
		    plen > 0 ? "." : "", key);
		c = json_is_object(cur) ? json_object_get(cur, key) : NULL;
		if (!secret_is_key(key, strlen(key)) || !json_is_string(v) ||
		    strcmp(json_string_value(v), SECRET_HIDDEN) != 0) {
			if (json_is_string(v))
				secret_unmask_string(w, n, c, key, 0);
			else
				secret_unmask_at(w, v, c);
		} else if (c == NULL || json_is_null(c))
			strlist_add(w->errors, "%s: %s: \"%s\" keeps the "
			    "password in force, but there is none here",
			    w->file, w->path, SECRET_HIDDEN);
		else
			json_object_set_new(n, key, json_deep_copy(c));
	}
	w->path[plen] = '\0';
}

/*
 * Undo secret_mask_json() on a config sent back (n, changed in place):
 * where a secret member's value is SECRET_HIDDEN, or a URL's password
 * is, put the one in force (cur, the tree in force) back. The place is
 * the same key path, except that a pool in an array is matched by its
 * url and user (see secret_match), so that pools may be added and
 * reordered. Unmasking a masked copy of cur gives cur back. A hidden value with nothing in force at its place is an
 * error, "file: key: message", added to errors; returns their number.
 */
size_t
secret_unmask_json(json_t *n, const json_t *cur, const char *file,
    struct strlist *errors)
{
	struct secret_walk	 w;
	size_t			 before = errors->n;

	w.file = file;
	w.errors = errors;
	w.path[0] = '\0';
	secret_unmask_at(&w, n, cur);
	return errors->n - before;
}
