/*
 * test_secret.cc: secret_mask() keeps every "pass" value out of a raw
 * stratum line whatever its shape; secret_tag() is stable and short;
 * secret_mask_json() hides every secret of a config tree and
 * secret_unmask_json() puts the ones in force back.
 */
#include <stdlib.h>
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

/* A config tree with a secret in every place the config has one. */
static const char secret_conf[] =
    "{\"pools\":[{\"url\":\"a:1\",\"user\":\"W\",\"pass\":\"pool-a\"},"
    "{\"url\":\"b:2\",\"user\":\"W\",\"pass\":\"pool-b\"},"
    "{\"url\":\"c:3\",\"pass\":null}],"
    "\"coins\":{\"xmr\":{\"pools\":[{\"url\":\"d:4\",\"pass\":\"pool-d\"}]}},"
    "\"access-password\":\"acc\","
    "\"http\":{\"access-token\":\"tok\",\"port\":8080},"
    "\"switch\":{\"user\":\"sw\",\"password\":\"swpw\","
    "\"redis\":\"redis://:redispw@127.0.0.1:6379/0\","
    "\"user-coin-url\":\"https://u:urlpw@h/x?a=b@c\"},"
    "\"lua\":{\"scripts\":[\"policy.lua\",\"http://x:listpw@h/\"]}}";

/* Parse JSON text, failing the test if it does not parse. */
static json_t *
secret_json(const char *text)
{
	json_error_t	 err;
	json_t		*j = json_loads(text, 0, &err);

	cr_assert_not_null(j, "%s: %s", text, err.text);
	return j;
}

Test(secret, mask_json_hides_every_secret)
{
	json_t	*j = secret_json(secret_conf);
	char	*s;

	secret_mask_json(j);
	s = json_dumps(j, JSON_COMPACT);
	cr_assert_str_eq(s,
	    "{\"pools\":[{\"url\":\"a:1\",\"user\":\"W\",\"pass\":\"********\"},"
	    "{\"url\":\"b:2\",\"user\":\"W\",\"pass\":\"********\"},"
	    "{\"url\":\"c:3\",\"pass\":null}],"
	    "\"coins\":{\"xmr\":{\"pools\":[{\"url\":\"d:4\","
	    "\"pass\":\"********\"}]}},"
	    "\"access-password\":\"********\","
	    "\"http\":{\"access-token\":\"********\",\"port\":8080},"
	    "\"switch\":{\"user\":\"sw\",\"password\":\"********\","
	    "\"redis\":\"redis://:********@127.0.0.1:6379/0\","
	    "\"user-coin-url\":\"https://u:********@c\"},"
	    "\"lua\":{\"scripts\":[\"policy.lua\",\"http://x:********@h/\"]}}");
	free(s);
	json_decref(j);
	/* A secret that is not a string is hidden whole. */
	j = secret_json("{\"pass\":1234,\"password\":{\"a\":1},\"user\":\"x\"}");
	secret_mask_json(j);
	s = json_dumps(j, JSON_COMPACT);
	cr_assert_str_eq(s, "{\"pass\":\"********\",\"password\":\"********\","
	    "\"user\":\"x\"}");
	free(s);
	json_decref(j);
	/* A password with what ends a URL's parts in it: hidden whole. */
	j = secret_json("{\"redis\":\"redis://:p/a?s#s@w@h:1/0\"}");
	secret_mask_json(j);
	s = json_dumps(j, JSON_COMPACT);
	cr_assert_str_eq(s, "{\"redis\":\"redis://:********@h:1/0\"}");
	free(s);
	json_decref(j);
	/* No password in the user info, or none at all: left alone. */
	j = secret_json("{\"a\":\"redis://h:1/0\",\"b\":\"redis://u@h:1\","
	    "\"c\":\"redis://:@h:1\",\"d\":\"x:y@z\",\"e\":\"h:1/p:q@r\"}");
	s = json_dumps(j, JSON_COMPACT);
	secret_mask_json(j);
	{
		char	*t = json_dumps(j, JSON_COMPACT);

		cr_assert_str_eq(t, s);
		free(t);
	}
	free(s);
	json_decref(j);
}

Test(secret, unmask_restores_a_masked_copy)
{
	struct strlist	 errors = {};
	json_t		*cur = secret_json(secret_conf), *n;

	n = json_deep_copy(cur);
	secret_mask_json(n);
	cr_assert_eq(secret_unmask_json(n, cur, "c.json", &errors), 0, "%s",
	    errors.n > 0 ? errors.v[0] : "");
	cr_assert(json_equal(n, cur), "%s", json_dumps(n, JSON_COMPACT));
	json_decref(n);
	json_decref(cur);
}

Test(secret, unmask_matches_pools_by_url_and_user)
{
	struct strlist	 errors = {};
	json_t		*cur = secret_json(secret_conf), *n;

	/*
	 * b moved to the front and a new pool e (a copy of a's entry with
	 * another url) came at the end: b keeps its own, e has a's place
	 * (index 2 in the old list is c, whose pass is null: an error).
	 */
	n = secret_json("{\"pools\":["
	    "{\"url\":\"b:2\",\"user\":\"W\",\"pass\":\"********\"},"
	    "{\"url\":\"a:1\",\"user\":\"W\",\"pass\":\"********\"},"
	    "{\"url\":\"e:5\",\"user\":\"W\",\"pass\":\"********\"},"
	    "{\"url\":\"f:6\",\"user\":\"W\",\"pass\":\"clear\"}]}");
	cr_assert_eq(secret_unmask_json(n, cur, "c.json", &errors), 1);
	cr_assert_str_eq(errors.v[0], "c.json: pools[2].pass: \"********\" "
	    "keeps the password in force, but there is none here");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(n, "pools"), 0), "pass")), "pool-b");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(n, "pools"), 1), "pass")), "pool-a");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(n, "pools"), 3), "pass")), "clear");
	strlist_clear(&errors);
	json_decref(n);

	/* The same pool twice, two passwords (worker names): each its own. */
	json_decref(cur);
	cur = secret_json("{\"pools\":[{\"url\":\"a:1\",\"user\":\"W\","
	    "\"pass\":\"rig1\"},{\"url\":\"a:1\",\"user\":\"W\","
	    "\"pass\":\"rig2\"}]}");
	n = json_deep_copy(cur);
	secret_mask_json(n);
	cr_assert_eq(secret_unmask_json(n, cur, "c.json", &errors), 0);
	cr_assert(json_equal(n, cur), "%s", json_dumps(n, JSON_COMPACT));

	/* Another user at the same url is another pool: by index. */
	json_decref(n);
	json_decref(cur);
	cur = secret_json(secret_conf);
	n = secret_json("{\"pools\":[{\"url\":\"b:2\",\"user\":\"V\","
	    "\"pass\":\"********\"}]}");
	cr_assert_eq(secret_unmask_json(n, cur, "c.json", &errors), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(n, "pools"), 0), "pass")), "pool-a");
	json_decref(n);
	json_decref(cur);
}

Test(secret, unmask_without_a_secret_in_force_is_an_error)
{
	struct strlist	 errors = {};
	json_t		*cur = secret_json("{\"http\":{\"port\":1},"
			    "\"switch\":{\"redis\":\"redis://h:1/0\"}}"), *n;

	n = secret_json("{\"http\":{\"access-token\":\"********\"},"
	    "\"access-password\":\"********\","
	    "\"switch\":{\"redis\":\"redis://:********@h:1/0\","
	    "\"password\":\"new\"},"
	    "\"coins\":{\"x\":{\"pools\":[{\"url\":\"a:1\","
	    "\"pass\":\"********\"}]}}}");
	cr_assert_eq(secret_unmask_json(n, cur, "/etc/c.json", &errors), 4);
	cr_assert_str_eq(errors.v[0], "/etc/c.json: http.access-token: "
	    "\"********\" keeps the password in force, but there is none here");
	cr_assert_str_eq(errors.v[1], "/etc/c.json: access-password: "
	    "\"********\" keeps the password in force, but there is none here");
	cr_assert_str_eq(errors.v[2], "/etc/c.json: switch.redis: "
	    "\"********\" keeps the password in force, but the URL in force "
	    "here has none");
	cr_assert_str_eq(errors.v[3], "/etc/c.json: coins.x.pools[0].pass: "
	    "\"********\" keeps the password in force, but there is none here");
	strlist_clear(&errors);
	json_decref(n);
	/* A new URL password is taken as it is; a hidden one is restored. */
	json_decref(cur);
	cur = secret_json("{\"switch\":{\"redis\":\"redis://:old@h:1/0\"}}");
	n = secret_json("{\"switch\":{\"redis\":\"redis://:********@h2:2/1\"}}");
	cr_assert_eq(secret_unmask_json(n, cur, "c", &errors), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(n,
	    "switch"), "redis")), "redis://:old@h2:2/1");
	json_decref(n);
	json_decref(cur);
}

/* A pool's socks5 login (socks5://user:pass@host:port) is a URL's. */
Test(secret, socks5_password_masked_and_kept)
{
	json_t		*cur, *n, *pool;
	struct strlist	 errors = { 0 };

	cur = secret_json("{\"pools\":[{\"url\":\"p.onion:1\",\"socks5\":"
	    "\"socks5://tor:Sup3r@127.0.0.1:9050\"}]}");
	n = json_deep_copy(cur);
	secret_mask_json(n);
	pool = json_array_get(json_object_get(n, "pools"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(pool, "socks5")),
	    "socks5://tor:********@127.0.0.1:9050");
	cr_assert_eq(secret_unmask_json(n, cur, "c", &errors), 0);
	pool = json_array_get(json_object_get(n, "pools"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(pool, "socks5")),
	    "socks5://tor:Sup3r@127.0.0.1:9050");
	json_decref(n);
	json_decref(cur);
}
