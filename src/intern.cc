/*
 * intern.cc: one shared, reference-counted copy of each string that many
 * miners repeat (a farm's wallet, password and miner agent), so ten
 * thousand miners on one wallet hold one copy of it, not ten thousand.
 * An interned string is read-only; give it back with intern_drop().
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sluice.h"

struct istr {
	struct istr	*next;		/* hash chain */
	uint32_t	 hash;
	uint32_t	 refs;
	char		 s[1];		/* the string, allocated to fit */
};

static struct istr	**intern_tab;
static size_t		  intern_cap;	/* a power of two, or 0 */
static size_t		  intern_n;

static void	 intern_grow(void);

/* Double the table (keeps chains short as strings accumulate). */
static void
intern_grow(void)
{
	struct istr	**tab, *e, *next;
	size_t		  cap = intern_cap == 0 ? 256 : intern_cap * 2, i;

	tab = XCALLOC(struct istr *, cap);
	for (i = 0; i < intern_cap; i++) {
		for (e = intern_tab[i]; e != NULL; e = next) {
			next = e->next;
			e->next = tab[e->hash & (cap - 1)];
			tab[e->hash & (cap - 1)] = e;
		}
	}
	free(intern_tab);
	intern_tab = tab;
	intern_cap = cap;
}

/* The shared copy of s, with one more reference. */
char *
intern(const char *s)
{
	struct istr	*e;
	uint32_t	 h = strhash(s);
	size_t		 len;

	if (intern_cap != 0) {
		for (e = intern_tab[h & (intern_cap - 1)]; e != NULL;
		    e = e->next) {
			if (e->hash == h && strcmp(e->s, s) == 0) {
				e->refs++;
				return e->s;
			}
		}
	}
	if (intern_n >= intern_cap / 2)
		intern_grow();
	len = strlen(s);
	e = (struct istr *)xmalloc(offsetof(struct istr, s) + len + 1);
	memcpy(e->s, s, len + 1);
	e->hash = h;
	e->refs = 1;
	e->next = intern_tab[h & (intern_cap - 1)];
	intern_tab[h & (intern_cap - 1)] = e;
	intern_n++;
	return e->s;
}

/* Drop a reference taken by intern(); NULL is ignored. */
void
intern_drop(const char *s)
{
	struct istr	*e, **p;

	if (s == NULL)
		return;
	e = (struct istr *)(uintptr_t)(s - offsetof(struct istr, s));
	if (--e->refs > 0)
		return;
	for (p = &intern_tab[e->hash & (intern_cap - 1)]; *p != e;
	    p = &(*p)->next)
		;
	*p = e->next;
	intern_n--;
	free(e);
}

/* Number of distinct strings held (tests, monitoring). */
size_t
intern_count(void)
{
	return intern_n;
}
