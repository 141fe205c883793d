/*
 * strlist.cc: a growable list of owned strings (config errors and
 * warnings, collected and printed or logged by the caller).
 */
#include <stdarg.h>
#include <stdlib.h>

#include "sluice.h"

/* Append a formatted string to a list. */
void
strlist_add(struct strlist *sl, const char *fmt, ...)
{
	va_list	 ap;

	sl->v = (char **)xrealloc(sl->v, (sl->n + 1) * sizeof *sl->v);
	va_start(ap, fmt);
	xvasprintf(&sl->v[sl->n], fmt, ap);
	va_end(ap);
	sl->n++;
}

/* Free every string of a list and empty it. */
void
strlist_clear(struct strlist *sl)
{
	size_t	 i;

	for (i = 0; i < sl->n; i++)
		free(sl->v[i]);
	free(sl->v);
	sl->v = NULL;
	sl->n = 0;
}
