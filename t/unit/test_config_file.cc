/*
 * test_config_file.cc: unit tests for src/config_file.cc: comments and
 * trailing commas blanked as xmrig-proxy's parser allows them, with the
 * line and column of every later error unchanged, and the command line's
 * keys laid over the file.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "config.h"

TestSuite(config_file);

/* Strip text; return the result (caller frees), or NULL (line, col set). */
static char *
strip(const char *text, int *line, int *col)
{
	size_t	 len = strlen(text);
	char	*buf = strdup(text);
	ssize_t	 n;

	cr_assert_not_null(buf);
	*line = *col = 0;
	n = config_file_strip(buf, len, line, col);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	cr_assert_leq((size_t)n, len);
	buf[n] = '\0';
	return buf;
}

/* text must strip to want exactly. */
static void
expect_strip(const char *text, const char *want)
{
	char	*got;
	int	 line, col;

	got = strip(text, &line, &col);
	cr_assert_not_null(got, "refused: %s (at %d:%d)", text, line, col);
	cr_assert_str_eq(got, want, "stripping [%s]", text);
	free(got);
}

/* Write text to a temp file and load it; *errors gets the messages. */
static struct config *
load(const char *text, char path[64], struct strlist *errors,
    struct strlist *warnings)
{
	size_t	len = strlen(text);
	int	fd;

	snprintf(path, 64, "/tmp/sluice-test-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	memset(errors, 0, sizeof(*errors));
	memset(warnings, 0, sizeof(*warnings));
	return config_load(path, errors, warnings);
}

/* The text must be refused with one error; return it without the path. */
static char *
load_error(const char *text)
{
	struct strlist	 errors, warnings;
	struct config	*c;
	char		 path[64], *e;

	c = load(text, path, &errors, &warnings);
	cr_assert_null(c, "accepted: %s", text);
	cr_assert_eq(errors.n, 1, "%zu errors for %s", errors.n, text);
	cr_assert_eq(strncmp(errors.v[0], path, strlen(path)), 0,
	    "no file name: %s", errors.v[0]);
	e = strdup(errors.v[0] + strlen(path));
	strlist_clear(&errors);
	strlist_clear(&warnings);
	unlink(path);
	return e;
}

/*
 * The text must be refused at line:col with what in the message; and,
 * when blank is given (the same text with its comments already blank),
 * with exactly the error jansson reports for that.
 */
static void
expect_error_at(const char *text, const char *blank, int line, int col,
    const char *what)
{
	char	*e, *b, want[64];

	e = load_error(text);
	snprintf(want, sizeof want, ":%d:%d: ", line, col);
	cr_assert_eq(strncmp(e, want, strlen(want)), 0,
	    "want \"%s...\", got \"%s\"", want, e);
	cr_assert(what == NULL || strstr(e, what) != NULL,
	    "no \"%s\" in \"%s\"", what, e);
	if (blank != NULL) {
		b = load_error(blank);
		cr_assert_str_eq(e, b, "with comments: %s; blank: %s", e, b);
		free(b);
	}
	free(e);
}

Test(config_file, line_comment_to_spaces)
{
	expect_strip("{\"a\": 1 // one\n}", "{\"a\": 1       \n}");
}

Test(config_file, block_comment_keeps_newlines)
{
	expect_strip("{/* a\nb */\"a\":1}", "{    \n    \"a\":1}");
}

Test(config_file, slashes_inside_strings_stay)
{
	expect_strip("{\"url\": \"http://x/*y*/\"}", "{\"url\": \"http://x/*y*/\"}");
	expect_strip("[\"//\", \"/*\"]", "[\"//\", \"/*\"]");
}

Test(config_file, escaped_quotes_do_not_end_strings)
{
	/* "a\"//b" is one string; the // after it is a comment. */
	expect_strip("[\"a\\\"//b\" // c\n]", "[\"a\\\"//b\"     \n]");
	/* An escaped backslash ends before the quote, which closes. */
	expect_strip("[\"a\\\\\" // c\n]", "[\"a\\\\\"     \n]");
}

Test(config_file, trailing_commas)
{
	expect_strip("[1,2,]", "[1,2 ]");
	expect_strip("{\"a\":1,}", "{\"a\":1 }");
	expect_strip("{\"a\":[1,],\"b\":{\"c\":true,},}",
	    "{\"a\":[1 ],\"b\":{\"c\":true } }");
	expect_strip("[\"x\" , \n ]", "[\"x\"   \n ]");
}

Test(config_file, comma_then_comment_then_brace)
{
	expect_strip("{\"a\":1, // last\n}", "{\"a\":1         \n}");
	expect_strip("[1, /* x */ ]", "[1          ]");
}

Test(config_file, commas_that_are_errors_stay)
{
	/* Not after a value: left for jansson to refuse. */
	expect_strip("[,]", "[,]");
	expect_strip("{,}", "{,}");
	expect_strip("[1,,]", "[1,,]");
	expect_strip("{\"a\":,}", "{\"a\":,}");
	/* A comma before a value is an ordinary comma. */
	expect_strip("[1,2]", "[1,2]");
}

Test(config_file, utf8_in_comments_keeps_columns)
{
	/* "é" is two bytes and one column: it becomes one space. */
	expect_strip("[/* \xc3\xa9 */1]", "[       1]");
}

Test(config_file, unterminated_comment)
{
	char	*got;
	int	 line, col;

	got = strip("{\n  \"a\": 1 /* open\n\n", &line, &col);
	cr_assert_null(got);
	cr_assert_eq(line, 2);
	cr_assert_eq(col, 10);
}

Test(config_file, lone_slash_is_left)
{
	expect_strip("[1/2]", "[1/2]");
	expect_strip("[1]/", "[1]/");
}

Test(config_file, loads_with_comments_and_commas)
{
	struct strlist	 errors, warnings;
	struct config	*c;
	char		 path[64];

	c = load("// xmrig-proxy style\n"
	    "{\n"
	    "  \"bind\": [\"127.0.0.1:3333\", /* plain */],\n"
	    "  \"pools\": [\n"
	    "    {\"url\": \"pool.example.com:3333\", // primary\n"
	    "     \"user\": \"W//1\", \"pass\": \"/*x*/\",},\n"
	    "  ],\n"
	    "}\n", path, &errors, &warnings);
	cr_assert_not_null(c, "refused: %s", errors.n ? errors.v[0] : "");
	cr_assert_eq(c->nbinds, 1);
	cr_assert_eq(c->npools, 1);
	cr_assert_str_eq(c->pools[0].user, "W//1");
	cr_assert_str_eq(c->pools[0].pass, "/*x*/");
	config_unref(c);
	strlist_clear(&errors);
	strlist_clear(&warnings);
	unlink(path);
}

Test(config_file, error_positions_after_comments)
{
	/* jansson reports "nope" where it ends: line 4, column 14. */
	expect_error_at("{ // a comment\n"
	    "  /* a block\n"
	    "     of two lines */ \"bind\": [\"127.0.0.1:3333\"],\n"
	    "  \"mode\": nope,\n"
	    "}\n",
	    "{             \n"
	    "            \n"
	    "                    \"bind\": [\"127.0.0.1:3333\"],\n"
	    "  \"mode\": nope,\n"
	    "}\n", 4, 14, NULL);
	/* Multi-byte characters in a comment before the error. */
	expect_error_at("{\"a\": /* \xc3\xa9\xc3\xa9 */ x}",
	    "{\"a\":          x}", 1, 16, NULL);
}

Test(config_file, error_for_unterminated_comment)
{
	expect_error_at("{\"bind\": [],\n   /* never closed\n}\n", NULL, 2, 4,
	    "unterminated /* comment");
}

Test(config_file, error_for_double_comma)
{
	expect_error_at("{\n\"bind\": [\"a:1\",,]\n}", NULL, 2, 16, NULL);
}

Test(config_file, overlay_replaces_keys)
{
	struct strlist	 errors, warnings;
	struct config	*c;
	json_t		*o;
	char		 path[64];

	o = json_pack("{s:[s], s:[{s:s, s:s}]}", "bind", "127.0.0.1:4444",
	    "pools", "url", "cli.example.com:5555", "user", "CLI");
	config_file_set_overlay(o, 0);
	json_decref(o);
	c = load("{\"bind\":[\"127.0.0.1:3333\"],\"pools\":[{\"url\":"
	    "\"file.example.com:3333\"},{\"url\":\"b.example.com:1\"}]}",
	    path, &errors, &warnings);
	config_file_set_overlay(NULL, 0);
	cr_assert_not_null(c, "refused: %s", errors.n ? errors.v[0] : "");
	cr_assert_eq(c->nbinds, 1);
	cr_assert_eq(c->binds[0].port, 4444);
	cr_assert_eq(c->npools, 1);
	cr_assert_str_eq(c->pools[0].host, "cli.example.com");
	cr_assert_str_eq(c->pools[0].user, "CLI");
	config_unref(c);
	strlist_clear(&errors);
	strlist_clear(&warnings);
	unlink(path);
}

Test(config_file, overlay_without_a_file)
{
	struct strlist	 errors = {}, warnings = {};
	struct config	*c;
	json_t		*o;

	o = json_pack("{s:[s], s:[{s:s}]}", "bind", "127.0.0.1:4444",
	    "pools", "url", "cli.example.com:5555");
	/* Not optional: a missing file is an error. */
	config_file_set_overlay(o, 0);
	c = config_load("/nonexistent/sluice/config.json", &errors,
	    &warnings);
	cr_assert_null(c);
	strlist_clear(&errors);
	config_file_set_overlay(o, 1);
	json_decref(o);
	c = config_load("/nonexistent/sluice/config.json", &errors,
	    &warnings);
	config_file_set_overlay(NULL, 0);
	cr_assert_not_null(c, "refused: %s", errors.n ? errors.v[0] : "");
	cr_assert_eq(c->npools, 1);
	config_unref(c);
	strlist_clear(&errors);
	strlist_clear(&warnings);
}

Test(config_file, put_body_parsed_as_the_file)
{
	struct strlist	 errors = {};
	json_t		*root;
	const char	*body = "{ // from a dashboard\n\"retries\": 3,}";

	root = config_parse("request body", body, strlen(body), &errors);
	cr_assert_not_null(root, "%s", errors.n ? errors.v[0] : "");
	cr_assert_eq(json_integer_value(json_object_get(root, "retries")), 3);
	json_decref(root);
	body = "{\"retries\": 3 /* open";
	cr_assert_null(config_parse("request body", body, strlen(body),
	    &errors));
	cr_assert_eq(errors.n, 1);
	cr_assert_str_eq(errors.v[0],
	    "request body:1:15: unterminated /* comment");
	strlist_clear(&errors);
}

Test(config_file, lay_leaves_file_and_overlay_alone)
{
	json_t	*file, *o, *eff;

	file = json_pack("{s:[s], s:i}", "bind", "127.0.0.1:1", "retries", 2);
	eff = config_file_lay(file);
	cr_assert_eq(eff, file, "no overlay: the same object");
	json_decref(eff);

	o = json_pack("{s:[s]}", "bind", "127.0.0.1:2");
	config_file_set_overlay(o, 0);
	eff = config_file_lay(file);
	config_file_set_overlay(NULL, 0);
	cr_assert_neq(eff, file);
	cr_assert_str_eq(json_string_value(json_array_get(
	    json_object_get(eff, "bind"), 0)), "127.0.0.1:2");
	cr_assert_eq(json_integer_value(json_object_get(eff, "retries")), 2);
	cr_assert_str_eq(json_string_value(json_array_get(
	    json_object_get(file, "bind"), 0)), "127.0.0.1:1",
	    "the file's object changed");
	/* Editing the result leaves the overlay as it was. */
	json_array_clear(json_object_get(eff, "bind"));
	cr_assert_eq(json_array_size(json_object_get(o, "bind")), 1);
	json_decref(eff);
	json_decref(o);
	json_decref(file);
}
