/* SPDX-License-Identifier: MIT */
/* Open-addressed table of entries by their 32-bit hash: linear probing over
 * an array of slots (hash and pointer side by side), removal by backward
 * shift (no tombstones). */
#include <string.h>

#include "core-private.h"

int sippres__htab_init(struct sippres_ctx *ctx, struct sippres__htab *t, size_t nb)
{
	size_t n = 8;

	while (n < nb)
		n <<= 1;
	t->s = sippres__calloc(ctx, n, sizeof(*t->s));
	if (!t->s)
		return SIPPRES_E_NOMEM;
	t->nb = n;
	t->count = 0;
	return 0;
}

void sippres__htab_fini(struct sippres_ctx *ctx, struct sippres__htab *t)
{
	sippres__free(ctx, t->s);
	t->s = NULL;
	t->nb = t->count = 0;
}

/* Double the table; the entries move by their stored hashes, never read. */
static int grow(struct sippres_ctx *ctx, struct sippres__htab *t)
{
	size_t n = t->nb * 2, mask = n - 1;
	struct sippres__hslot *s;

	if (n > SIZE_MAX / sizeof(*s) / 2)
		return SIPPRES_E_NOMEM;
	s = sippres__calloc(ctx, n, sizeof(*s));
	if (!s)
		return SIPPRES_E_NOMEM;
	for (size_t i = 0; i < t->nb; i++) {
		size_t j;

		if (!t->s[i].h)
			continue;
		for (j = t->s[i].h & mask; s[j].h; j = (j + 1) & mask)
			;
		s[j] = t->s[i];
	}
	sippres__free(ctx, t->s);
	t->s = s;
	t->nb = n;
	return 0;
}

int sippres__htab_reserve(struct sippres_ctx *ctx, struct sippres__htab *t)
{
	/* half full at most; when growing fails, up to 7/8 (longer probes, still correct) */
	if ((t->count + 1) * 2 <= t->nb || grow(ctx, t) == 0)
		return 0;
	return (t->count + 1) * 8 <= t->nb * 7 ? 0 : SIPPRES_E_NOMEM;
}

void sippres__htab_insert(struct sippres__htab *t, uint32_t hash, void *p)
{
	size_t mask = t->nb - 1, i;
	uint32_t h = sippres__htab_key(hash);

	for (i = h & mask; t->s[i].h; i = (i + 1) & mask)
		;
	t->s[i].h = h;
	t->s[i].p = p;
	t->count++;
}

void sippres__htab_remove(struct sippres__htab *t, uint32_t hash, const void *p)
{
	size_t mask = t->nb - 1, i;
	uint32_t h = sippres__htab_key(hash);

	for (i = h & mask; t->s[i].h; i = (i + 1) & mask) {
		if (t->s[i].h == h && t->s[i].p == p)
			break;
	}
	if (!t->s[i].h)
		return;
	/* backward shift: each entry after the hole that may sit in it (its
	 * home is not between the hole and itself) moves up, until an empty slot */
	for (size_t j = (i + 1) & mask; t->s[j].h; j = (j + 1) & mask) {
		size_t home = t->s[j].h & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->s[i] = t->s[j];
			i = j;
		}
	}
	t->s[i].h = 0;
	t->s[i].p = NULL;
	t->count--;
}
