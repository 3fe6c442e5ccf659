/* SPDX-License-Identifier: MIT */
/* An allocator for the libraries the library uses (libxml2 through
 * xmlMemSetup(), jansson through json_set_alloc_funcs()), which keep their
 * own global one: plain malloc wrappers, so blocks from before stay
 * freeable, that refuse call number lib_fail_at (1-based; 0: never). Set only
 * in a test program. */
#ifndef SIPPRES_TEST_LIBFAIL_H
#define SIPPRES_TEST_LIBFAIL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static long lib_count, lib_fail_at;
static int lib_failed; /* a call was refused */

static inline bool lib_refuse(void)
{
	if (lib_fail_at && ++lib_count == lib_fail_at) {
		lib_failed = 1;
		return true;
	}
	return false;
}

static inline void *lib_malloc(size_t n)
{
	return lib_refuse() ? NULL : malloc(n);
}

static inline void *lib_realloc(void *p, size_t n)
{
	return lib_refuse() ? NULL : realloc(p, n);
}

static inline char *lib_strdup(const char *s)
{
	return lib_refuse() ? NULL : strdup(s);
}

/* Fail call n from now on (0: none). */
static inline void lib_fail(long n)
{
	lib_count = 0;
	lib_failed = 0;
	lib_fail_at = n;
}

#endif
