/* SPDX-License-Identifier: MIT */
/* A growable string buffer, shared by the example programs (examples/common). */
#ifndef SIPPRES_EXAMPLES_SBUF_H
#define SIPPRES_EXAMPLES_SBUF_H

#include <stdbool.h>
#include <stddef.h>

/* s is NUL-terminated once anything was added; oom sticks after a failed allocation (later adds do nothing). */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};
void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void sbuf_printf(struct sbuf *b, const char *fmt, ...);
void sbuf_add(struct sbuf *b, const char *s, size_t n);

#endif
