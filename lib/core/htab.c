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

static bool moved_get(const uint64_t *moved, size_t i)
{
	return (moved[i / 64] >> (i % 64)) & 1;
}

/* Double the table in place: the array grows by realloc (a large block
 * keeps its pages, so only the new half is fresh memory), then every entry
 * moves to its place under the new mask, by its stored hash (entries are
 * never read). An entry probes over slots already placed and takes the
 * first that is empty or holds an entry not yet placed, which it displaces
 * to be placed next; placed entries never move again, so each one's run
 * from its home stays filled. */
static int grow(struct sippres_ctx *ctx, struct sippres__htab *t)
{
	size_t n = t->nb, n2 = n * 2, mask = n2 - 1;
	struct sippres__hslot *s;
	uint64_t *moved; /* one bit per slot: placed under the new mask */

	if (n2 > SIZE_MAX / sizeof(*s))
		return SIPPRES_E_NOMEM;
	moved = sippres__calloc(ctx, (n2 + 63) / 64, sizeof(*moved));
	if (!moved)
		return SIPPRES_E_NOMEM;
	s = sippres__realloc(ctx, t->s, n2 * sizeof(*s));
	if (!s) {
		sippres__free(ctx, moved);
		return SIPPRES_E_NOMEM;
	}
	memset(s + n, 0, n * sizeof(*s));
	for (size_t j = 0; j < n; j++) {
		struct sippres__hslot e;

		if (!s[j].h || moved_get(moved, j))
			continue;
		e = s[j];
		s[j].h = 0;
		s[j].p = NULL;
		for (;;) {
			size_t i = e.h & mask;
			struct sippres__hslot out;

			while (s[i].h && moved_get(moved, i))
				i = (i + 1) & mask;
			moved[i / 64] |= (uint64_t)1 << (i % 64);
			out = s[i];
			s[i] = e;
			if (!out.h)
				break;
			e = out; /* displaced before it was placed: its turn now */
		}
	}
	sippres__free(ctx, moved);
	t->s = s;
	t->nb = n2;
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
