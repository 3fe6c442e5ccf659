/* SPDX-License-Identifier: MIT */
/* A growable byte buffer with a sticky error. */
#include <string.h>

#include "core-private.h"

char *sippres__buf_room(struct sippres__buf *b, size_t n)
{
	if (b->err)
		return NULL;
	if (n >= b->cap - b->len || !b->p) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap - b->len <= n) {
			if (cap > SIZE_MAX / 4) {
				b->err = SIPPRES_E_TOOBIG;
				return NULL;
			}
			cap *= 2;
		}
		p = sippres__realloc(b->ctx, b->p, cap);
		if (!p) {
			b->err = SIPPRES_E_NOMEM;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->len;
}

void sippres__buf_add(struct sippres__buf *b, const char *s, size_t n)
{
	char *o = sippres__buf_room(b, n);

	if (!o)
		return;
	memcpy(o, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sippres__buf_str(struct sippres__buf *b, const char *s)
{
	sippres__buf_add(b, s, strlen(s));
}

void sippres__buf_free(struct sippres__buf *b)
{
	sippres__free(b->ctx, b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
