/* SPDX-License-Identifier: MIT */
/* The oracle's findings in a fuzz target (tests/body-oracle.h): say what
 * differs, then abort, which libFuzzer reports with the input. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "../tests/body-oracle.h"

void oracle_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
