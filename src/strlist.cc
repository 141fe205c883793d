/*
 * strlist.cc: a growable list of owned strings (config errors and
 * warnings, collected and printed or logged by the caller).
 */
#include <stdarg.h>
#include <stdlib.h>

#include "sluice.h"

/* Append a formatted string to a list. */
void
strlist_add(struct strlist *list, const char *fmt, ...)
{
	va_list	 ap;

	list->v = (char **)xrealloc(list->v, (list->n + 1) * sizeof *list->v);
	va_start(ap, fmt);
	xvasprintf(&list->v[list->n], fmt, ap);
	va_end(ap);
	list->n++;
}

/* Free every string of a list and empty it. */
void
strlist_clear(struct strlist *list)
{
	size_t	 i;

	for (i = 0; i < list->n; i++)
		free(list->v[i]);
	free(list->v);
	list->v = NULL;
	list->n = 0;
}
