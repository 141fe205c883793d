/*
 * test_intern.cc: shared string copies (intern.cc).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "sluice.h"

TestSuite(intern);

Test(intern, same_string_same_copy_refcounted)
{
	size_t	 base = intern_count();
	char	*a = intern("WALLET"), *b = intern("WALLET"), *c = intern("x");

	cr_assert_eq(a, b, "two copies of one string");
	cr_assert_neq(a, c);
	cr_assert_str_eq(a, "WALLET");
	cr_assert_eq(intern_count(), base + 2);
	intern_drop(a);
	cr_assert_eq(intern_count(), base + 2, "freed with a reference left");
	cr_assert_str_eq(b, "WALLET");
	intern_drop(b);
	intern_drop(c);
	cr_assert_eq(intern_count(), base);
	intern_drop(NULL);
}

Test(intern, many_strings_grow_and_shrink)
{
	char	 buf[32], *v[5000];
	size_t	 base = intern_count();
	int	 i;

	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof buf, "rig%05d", i);
		v[i] = intern(buf);
	}
	cr_assert_eq(intern_count(), base + 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof buf, "rig%05d", i);
		cr_assert_eq(intern(buf), v[i]);
		intern_drop(v[i]);
		cr_assert_str_eq(v[i], buf);
		intern_drop(v[i]);
	}
	cr_assert_eq(intern_count(), base);
}
