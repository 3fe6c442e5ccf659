/* SPDX-License-Identifier: MIT */
/* Open-addressed table of entries by their 32-bit hash: linear probing over
 * an array of hashes beside an array of pointers, removal by backward shift
 * (no tombstones). */
#include <string.h>

#include "core-private.h"

int sippres__htab_init(struct sippres_ctx *ctx, struct sippres__htab *t, size_t nb)
{
	size_t n = 8;

	while (n < nb)
		n <<= 1;
	t->h = sippres__calloc(ctx, n, sizeof(*t->h));
	t->p = sippres__calloc(ctx, n, sizeof(*t->p));
	if (!t->h || !t->p) {
		sippres__free(ctx, t->h);
		sippres__free(ctx, t->p);
		t->h = NULL;
		t->p = NULL;
		return SIPPRES_E_NOMEM;
	}
	t->nb = n;
	t->count = 0;
	return 0;
}

void sippres__htab_fini(struct sippres_ctx *ctx, struct sippres__htab *t)
{
	sippres__free(ctx, t->h);
	sippres__free(ctx, t->p);
	t->h = NULL;
	t->p = NULL;
	t->nb = t->count = 0;
}

/* Double the table; the entries move by their stored hashes, never read. */
static int grow(struct sippres_ctx *ctx, struct sippres__htab *t)
{
	size_t n = t->nb * 2, mask = n - 1;
	uint32_t *h;
	void **p;

	if (n > SIZE_MAX / sizeof(*p) / 2)
		return SIPPRES_E_NOMEM;
	h = sippres__calloc(ctx, n, sizeof(*h));
	p = h ? sippres__calloc(ctx, n, sizeof(*p)) : NULL;
	if (!p) {
		sippres__free(ctx, h);
		return SIPPRES_E_NOMEM;
	}
	for (size_t i = 0; i < t->nb; i++) {
		size_t j;

		if (!t->h[i])
			continue;
		for (j = t->h[i] & mask; h[j]; j = (j + 1) & mask)
			;
		h[j] = t->h[i];
		p[j] = t->p[i];
	}
	sippres__free(ctx, t->h);
	sippres__free(ctx, t->p);
	t->h = h;
	t->p = p;
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

	for (i = h & mask; t->h[i]; i = (i + 1) & mask)
		;
	t->h[i] = h;
	t->p[i] = p;
	t->count++;
}

void sippres__htab_remove(struct sippres__htab *t, uint32_t hash, const void *p)
{
	size_t mask = t->nb - 1, i;
	uint32_t h = sippres__htab_key(hash);

	for (i = h & mask; t->h[i]; i = (i + 1) & mask) {
		if (t->h[i] == h && t->p[i] == p)
			break;
	}
	if (!t->h[i])
		return;
	/* backward shift: each entry after the hole that may sit in it (its
	 * home is not between the hole and itself) moves up, until an empty slot */
	for (size_t j = (i + 1) & mask; t->h[j]; j = (j + 1) & mask) {
		size_t home = t->h[j] & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->h[i] = t->h[j];
			t->p[i] = t->p[j];
			i = j;
		}
	}
	t->h[i] = 0;
	t->p[i] = NULL;
	t->count--;
}
