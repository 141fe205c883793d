/*
 * test_secret.cc: secret_mask() keeps every "pass" value out of a raw
 * stratum line whatever its shape; secret_tag() is stable and short.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"

TestSuite(secret);

/* Mask line into a buffer of cap bytes and return it. */
static const char *
masked(const char *line, size_t cap)
{
	static char	 out[1024];

	secret_mask(out, cap, line, strlen(line));
	return out;
}

Test(secret, masks_pass_members)
{
	cr_assert_str_eq(masked("{\"id\":1,\"method\":\"login\",\"params\":"
	    "{\"login\":\"W\",\"pass\":\"hunter2\",\"agent\":\"a\"}}", 1024),
	    "{\"id\":1,\"method\":\"login\",\"params\":{\"login\":\"W\","
	    "\"pass\":\"***\",\"agent\":\"a\"}}");
	/* Spaces, escapes inside the value, "password" too. */
	cr_assert_str_eq(masked("{\"pass\" : \"a\\\"b\\\\\",\"password\":"
	    "\"x\"}", 1024), "{\"pass\":\"***\",\"password\":\"***\"}");
	/* A value that looks like a key is not one. */
	cr_assert_str_eq(masked("{\"login\":\"\\\"pass\\\":\\\"no\","
	    "\"pass\":\"s\"}", 1024),
	    "{\"login\":\"\\\"pass\\\":\\\"no\",\"pass\":\"***\"}");
	/* Not a string value: left alone. */
	cr_assert_str_eq(masked("{\"pass\":12}", 1024), "{\"pass\":12}");
}

Test(secret, unterminated_and_cut)
{
	char	 out[16];

	/* An unterminated secret is masked to the end. */
	cr_assert_str_eq(masked("{\"pass\":\"hunter2", 1024),
	    "{\"pass\":\"***\"");
	/* Cut to fit, always terminated, and never the secret's bytes. */
	secret_mask(out, sizeof out, "{\"pass\":\"hunter2hunter2\"}", 25);
	cr_assert_lt(strlen(out), sizeof out);
	cr_assert_null(strstr(out, "hunter"), "%s", out);
	cr_assert_eq(secret_mask(out, 0, "x", 1), 0);
}

Test(secret, tag_is_stable_and_short)
{
	char	 a[SECRET_TAG_LEN + 1], b[SECRET_TAG_LEN + 1];

	secret_tag("hunter2", a);
	secret_tag("hunter2", b);
	cr_assert_str_eq(a, b);
	cr_assert_eq(strlen(a), SECRET_TAG_LEN);
	cr_assert_eq(strncmp(a, "pw:", 3), 0);
	/* SHA-256("hunter2") starts f52fbd. */
	cr_assert_str_eq(a, "pw:f52fbd");
	secret_tag("hunter3", b);
	cr_assert_str_neq(a, b);
	secret_tag(NULL, b);
	cr_assert_eq(strlen(b), SECRET_TAG_LEN);
}
