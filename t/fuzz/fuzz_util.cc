/*
 * fuzz_util.cc: helpers linked into every fuzz target. fuzz_fail() prints
 * what disagreed and the input being run (as a C string literal, so it
 * pastes into a unit test), then aborts, which libFuzzer reports as a
 * crash and saves the input for.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"

#define FUZZ_SHOW_MAX	2048	/* input bytes printed with a failure */

static const uint8_t	*fuzz_data;
static size_t		 fuzz_len;
static FILE		*fuzz_err;

static void	 fuzz_err_open(void) __attribute__((constructor));

/*
 * Before libFuzzer's main: a copy of stderr for failures, which still
 * prints when a run closes stderr (-close_fd_mask=2) to silence the
 * daemon's log.
 */
static void
fuzz_err_open(void)
{
	int	 fd;

	if ((fd = dup(2)) != -1 && (fuzz_err = fdopen(fd, "w")) != NULL)
		setvbuf(fuzz_err, NULL, _IONBF, 0);
	else
		fuzz_err = stderr;
}

/* Remember the input being run, for fuzz_fail(). */
void
fuzz_input(const uint8_t *data, size_t len)
{
	fuzz_data = data;
	fuzz_len = len;
}

/* Print the input as a C string literal on stderr. */
static void
fuzz_show(void)
{
	size_t	 i, n = fuzz_len < FUZZ_SHOW_MAX ? fuzz_len : FUZZ_SHOW_MAX;
	int	 hex = 0;
	uint8_t	 c;

	fprintf(fuzz_err, "input (%zu bytes): \"", fuzz_len);
	for (i = 0; i < n; i++) {
		c = fuzz_data[i];
		/* A hex escape swallows the hex digits after it: split. */
		if (hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')))
			fputs("\" \"", fuzz_err);
		hex = 0;
		if (c == '"' || c == '\\')
			fprintf(fuzz_err, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", fuzz_err);
		else if (c == '\t')
			fputs("\\t", fuzz_err);
		else if (c == '\r')
			fputs("\\r", fuzz_err);
		else if (c < 0x20 || c >= 0x7f) {
			fprintf(fuzz_err, "\\x%02x", c);
			hex = 1;
		} else
			fputc(c, fuzz_err);
	}
	fprintf(fuzz_err, "\"%s\n", n < fuzz_len ? " (cut)" : "");
}

/* Report a disagreement with the current input and abort. */
void
fuzz_fail(const char *fmt, ...)
{
	va_list	 ap;

	fputs("FUZZ FAILURE: ", fuzz_err);
	va_start(ap, fmt);
	vfprintf(fuzz_err, fmt, ap);
	va_end(ap);
	fputc('\n', fuzz_err);
	if (fuzz_data != NULL)
		fuzz_show();
	abort();
}
