/*
 * secret.cc: how a password is kept out of what sluice shows. Pool
 * passwords, miners' passwords and the access password travel in the
 * "pass" member of stratum login lines; every place that shows a raw line
 * (the -vv debug lines, later the capture) goes through secret_mask(),
 * and a password that must name something (workers "password") is shown
 * as secret_tag()'s short hash, never in clear.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "sluice.h"

static size_t	 secret_string_end(const char *, size_t, size_t);
static int	 secret_is_key(const char *, size_t);

/* Member names whose string values are secrets, wherever they appear. */
static const char *const secret_keys[] = { "pass", "password", NULL };

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
	size_t	 i = 0, o = 0, end, k, n;

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
				if (o + 6 < cap) {
					memcpy(out + o, ":\"***\"", 6);
					o += 6;
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
