/*
 * config_file.cc: config.json from the disk to a jansson object.
 *
 * xmrig-proxy reads its file with rapidjson's comment and trailing-comma
 * flags, so real configs carry "//" and slash-star comments and a comma
 * before "]" or "}". jansson accepts neither: config_file_strip() blanks
 * them first, in place, so that every line and column jansson reports for
 * what is left is still the one in the operator's file. Also the options
 * given on the command line (-b, -o, -u, -p, -l), which replace the
 * file's keys of the same name at every load, as xmrig-proxy's do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define CONFIG_FILE_MAX	(16 << 20)	/* bytes; a config is a few KiB */

enum strip_state {
	STRIP_CODE,
	STRIP_STRING,
	STRIP_ESCAPE,
	STRIP_LINE,		/* a // comment, until the newline */
	STRIP_BLOCK		/* a slash-star comment */
};

static json_t	*config_file_overlay;	/* the command line's keys */
static int	 config_file_optional;	/* a missing file is {} */

static char	*config_file_slurp(const char *, size_t *, struct strlist *);

/*
 * Blank the comments and trailing commas of JSON text in buf, in place.
 * A comment's bytes become spaces, except its newlines, which stay, and
 * the continuation bytes of UTF-8 characters, which go: jansson counts
 * columns in characters, so each character still takes one column. A
 * comma whose next significant character closes an array or object
 * becomes a space, unless it follows "[", "{", ":" or another comma,
 * where it is an error jansson should report. Strings and their escapes
 * are left alone. Returns the new length, or -1 for an unterminated
 * comment with its 1-based line and column in *line and *col.
 */
ssize_t
config_file_strip(char *buf, size_t len, int *line, int *col)
{
	enum strip_state	 st = STRIP_CODE;
	ssize_t			 comma = -1;	/* a candidate, in the output */
	size_t			 r, w = 0;
	int			 ln = 1, cl = 0, bline = 0, bcol = 0;
	char			 c, last = '\0';	/* last significant */

	for (r = 0; r < len; r++) {
		c = buf[r];
		if (c == '\n') {
			ln++;
			cl = 0;
		} else if (((unsigned char)c & 0xc0) != 0x80)
			cl++;
		switch (st) {
		case STRIP_CODE:
			if (c == '/' && r + 1 < len &&
			    (buf[r + 1] == '/' || buf[r + 1] == '*')) {
				st = buf[r + 1] == '/' ? STRIP_LINE :
				    STRIP_BLOCK;
				bline = ln;
				bcol = cl;
				buf[w++] = ' ';
				buf[w++] = ' ';
				r++;
				cl++;
				continue;
			}
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
				break;
			if ((c == ']' || c == '}') && comma >= 0)
				buf[comma] = ' ';
			comma = -1;
			if (c == ',' && last != '\0' && last != '[' &&
			    last != '{' && last != ':' && last != ',')
				comma = (ssize_t)w;
			if (c == '"')
				st = STRIP_STRING;
			last = c;
			break;
		case STRIP_STRING:
			if (c == '\\')
				st = STRIP_ESCAPE;
			else if (c == '"')
				st = STRIP_CODE;
			break;
		case STRIP_ESCAPE:
			st = STRIP_STRING;
			break;
		case STRIP_LINE:
		case STRIP_BLOCK:
			if (st == STRIP_LINE && c == '\n') {
				st = STRIP_CODE;
				break;
			}
			if (st == STRIP_BLOCK && c == '*' && r + 1 < len &&
			    buf[r + 1] == '/') {
				st = STRIP_CODE;
				buf[w++] = ' ';
				buf[w++] = ' ';
				r++;
				cl++;
				continue;
			}
			if (c == '\n' || c == '\r')
				break;
			if (((unsigned char)c & 0xc0) == 0x80)
				continue;	/* dropped: see above */
			c = ' ';
			break;
		}
		buf[w++] = c;
	}
	if (st == STRIP_BLOCK) {
		*line = bline;
		*col = bcol;
		return -1;
	}
	return (ssize_t)w;
}

/* The whole file in a new buffer; NULL with the reason in errors. */
static char *
config_file_slurp(const char *path, size_t *len, struct strlist *errors)
{
	FILE	*f;
	char	*buf;
	size_t	 n, cap = 8192;

	if ((f = fopen(path, "r")) == NULL) {
		strlist_add(errors, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	buf = XCALLOC(char, cap);
	*len = 0;
	while ((n = fread(buf + *len, 1, cap - *len, f)) > 0) {
		*len += n;
		if (*len < cap)
			continue;
		if (cap >= CONFIG_FILE_MAX) {
			strlist_add(errors, "%s: larger than %d bytes", path,
			    CONFIG_FILE_MAX);
			goto fail;
		}
		cap *= 2;
		buf = (char *)xrealloc(buf, cap);
	}
	if (ferror(f)) {
		strlist_add(errors, "%s: cannot read: %s", path,
		    strerror(errno));
		goto fail;
	}
	fclose(f);
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

/*
 * Read, strip and parse the file, then lay the command line's keys over
 * it. Returns the top-level object, or NULL with the error added.
 */
json_t *
config_file_read(const char *path, struct strlist *errors)
{
	json_t		*root;
	char		*buf;
	size_t		 len = 0;

	if (config_file_optional && config_file_overlay != NULL &&
	    access(path, F_OK) == -1 && errno == ENOENT)
		return json_object();
	if ((buf = config_file_slurp(path, &len, errors)) == NULL)
		return NULL;
	root = config_file_parse(path, buf, len, errors);
	free(buf);
	return root;
}

/*
 * Parse config text (the file's, or PUT /1/config's) with comments and
 * trailing commas: NULL, with "name:line:column: message" in errors,
 * unless it is a JSON object.
 */
json_t *
config_file_parse(const char *name, const char *text, size_t len,
    struct strlist *errors)
{
	json_error_t	 jerr;
	json_t		*root;
	char		*buf;
	ssize_t		 n;
	int		 line, col;

	buf = (char *)xmalloc(len + 1);
	memcpy(buf, text, len);
	if ((n = config_file_strip(buf, len, &line, &col)) < 0) {
		strlist_add(errors, "%s:%d:%d: unterminated /* comment", name,
		    line, col);
		free(buf);
		return NULL;
	}
	root = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (root == NULL) {
		if (jerr.line < 0)
			strlist_add(errors, "%s: %s", name, jerr.text);
		else
			strlist_add(errors, "%s:%d:%d: %s", name, jerr.line,
			    jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		strlist_add(errors, "%s: the top level must be an object", name);
		json_decref(root);
		return NULL;
	}
	return root;
}

/*
 * root with the command line's keys laid over it, as a new reference:
 * root itself when there are none, else a copy. The copy is shallow for
 * root's own keys and deep for the overlay's, so that neither the file's
 * object (/1/config shows and replaces it) nor the overlay, which lives
 * as long as the process, is changed.
 */
json_t *
config_file_lay(json_t *root)
{
	json_t	*copy, *o;

	if (config_file_overlay == NULL)
		return json_incref(root);
	copy = json_copy(root);
	o = json_deep_copy(config_file_overlay);
	json_object_update(copy, o);
	json_decref(o);
	return copy;
}

/*
 * Keys from the command line that replace the file's at every load
 * (start, -n, reload), or NULL for none; takes a reference. With
 * optional set, a file that does not exist reads as an empty object, so
 * that "sluice -o POOL -b ADDR" runs without one, as xmrig-proxy does.
 */
void
config_file_set_overlay(json_t *o, int optional)
{
	if (o != NULL)
		json_incref(o);
	json_decref(config_file_overlay);
	config_file_overlay = o;
	config_file_optional = optional;
}
