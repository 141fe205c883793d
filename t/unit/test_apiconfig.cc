/*
 * test_apiconfig.cc: apiconfig_write() replaces a config file whole or
 * not at all: the new text, the old mode, through a symbolic link, and
 * the old file intact when the folder cannot take a new one.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "sluice.h"
#include "api.h"

TestSuite(apiconfig);

/* A new temporary folder; caller frees. */
static char *
tmpdir(void)
{
	char	*d = strdup("/tmp/sluice-apiconfig-XXXXXX");

	cr_assert_not_null(mkdtemp(d));
	return d;
}

/* The whole text of a file; caller frees. */
static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s = (char *)calloc(1, 65536);

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert(fread(s, 1, 65535, f) > 0 || !ferror(f), "%s: read error",
	    path);
	fclose(f);
	return s;
}

/* Write text to path with mode. */
static void
put(const char *path, const char *text, mode_t mode)
{
	FILE	*f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

/* How many entries a folder has, . and .. aside. */
static int
entries(const char *dir)
{
	char	*cmd;
	FILE	*p;
	int	 n = -1;

	cr_assert(asprintf(&cmd, "ls -A '%s' | wc -l", dir) != -1);
	p = popen(cmd, "r");
	cr_assert(fscanf(p, "%d", &n) == 1);
	pclose(p);
	free(cmd);
	return n;
}

Test(apiconfig, write_replaces_keeps_mode_and_link)
{
	struct strlist	 errors = {};
	struct stat	 st;
	char		*d = tmpdir(), *path, *link, *s;
	json_t		*root = json_pack("{s:[s],s:i}", "bind", "1.2.3.4:5",
			    "retries", 3);

	cr_assert(asprintf(&path, "%s/config.json", d) != -1);
	cr_assert(asprintf(&link, "%s/link.json", d) != -1);
	put(path, "{\"old\":true}\n", 0640);
	cr_assert_eq(apiconfig_write(path, root, &errors), 0);
	s = slurp(path);
	cr_assert_str_eq(s, "{\n    \"bind\": [\n        \"1.2.3.4:5\"\n"
	    "    ],\n    \"retries\": 3\n}\n");
	free(s);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640);
	/* Nothing left beside it. */
	cr_assert_eq(entries(d), 1);

	/* Through a link: the target changes, the link stays a link. */
	cr_assert_eq(symlink("config.json", link), 0);
	json_object_set_new(root, "retries", json_integer(4));
	cr_assert_eq(apiconfig_write(link, root, &errors), 0);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	s = slurp(path);
	cr_assert(strstr(s, "\"retries\": 4") != NULL, "%s", s);
	free(s);
	cr_assert_eq(errors.n, 0);
	cr_assert_eq(entries(d), 2);
	unlink(link);
	unlink(path);
	rmdir(d);
	json_decref(root);
	free(path);
	free(link);
	free(d);
}

Test(apiconfig, write_failure_leaves_the_file)
{
	struct strlist	 errors = {};
	char		*d = tmpdir(), *path, *s;
	json_t		*root = json_pack("{s:i}", "retries", 3);

	/* No folder. */
	cr_assert(asprintf(&path, "%s/none/config.json", d) != -1);
	cr_assert_eq(apiconfig_write(path, root, &errors), -1);
	cr_assert_eq(errors.n, 1);
	cr_assert(strncmp(errors.v[0], path, strlen(path)) == 0 &&
	    strstr(errors.v[0], ": cannot write the file: No such file or "
	    "directory") != NULL, "%s", errors.v[0]);
	strlist_clear(&errors);
	free(path);

	/* Written, then the rename fails: the temporary file goes. */
	cr_assert(asprintf(&path, "%s/dir.json", d) != -1);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(apiconfig_write(path, root, &errors), -1);
	cr_assert(strstr(errors.v[0], "Is a directory") != NULL, "%s",
	    errors.v[0]);
	cr_assert_eq(entries(d), 1);
	rmdir(path);
	strlist_clear(&errors);
	free(path);

	/* Not as root, who writes anywhere: a folder we may not write. */
	if (geteuid() != 0) {
		cr_assert(asprintf(&path, "%s/config.json", d) != -1);
		put(path, "{\"old\":true}\n", 0600);
		cr_assert_eq(chmod(d, 0500), 0);
		cr_assert_eq(apiconfig_write(path, root, &errors), -1);
		cr_assert(strstr(errors.v[0], "Permission denied") != NULL,
		    "%s", errors.v[0]);
		s = slurp(path);
		cr_assert_str_eq(s, "{\"old\":true}\n");
		free(s);
		cr_assert_eq(chmod(d, 0700), 0);
		cr_assert_eq(entries(d), 1);
		unlink(path);
		free(path);
		strlist_clear(&errors);
	}
	rmdir(d);
	free(d);
	json_decref(root);
}
