/* SPDX-License-Identifier: MIT */
/* Shared strings: reference-counted tuples of a few strings, one copy for
 * every holder of the same tuple, found through an open-addressed table
 * (struct sippres__htab) keyed by a hash of all of the tuple's bytes. */
#include <string.h>

#include "core-private.h"

uint32_t sippres__shared_hash(const struct sippres__shared_set *t, int n, const char *const *v, const size_t *len)
{
	uint64_t h = sippres__hash_init(t->seed);

	for (int i = 0; i < n; i++)
		h = sippres__hash_step(h, v[i] ? v[i] : "", len[i], false);
	return sippres__hash_final(h);
}

static bool tuple_eq(const struct sippres__shared *e, int n, const char *const *v, const size_t *len)
{
	if (e->n != n)
		return false;
	for (int i = 0; i < n; i++) {
		const char *s = e->str + e->off[i];

		/* the stored copy ends at its NUL: same length, then same bytes */
		if ((len[i] && memcmp(s, v[i], len[i]) != 0) || s[len[i]] != '\0')
			return false;
	}
	return true;
}

int sippres__shared_init(struct sippres_ctx *ctx, struct sippres__shared_set *t)
{
	t->seed = ctx->hash_seed;
	return sippres__htab_init(ctx, &t->tab, 64);
}

void sippres__shared_fini(struct sippres_ctx *ctx, struct sippres__shared_set *t)
{
	/* every holder gave its reference back before: nothing is left but the table */
	sippres__htab_fini(ctx, &t->tab);
}

/* The entry the lookup will most likely compare first: the first with the
 * same hash (its hash array is what sippres__htab_prefetch asked for). */
void sippres__shared_prefetch(const struct sippres__shared_set *t, uint32_t hash)
{
#if defined(__GNUC__) || defined(__clang__)
	const char *e = sippres__htab_peek(&t->tab, hash);

	if (e) {
		__builtin_prefetch(e);
		__builtin_prefetch(e + 64);
	}
#else
	(void)t;
	(void)hash;
#endif
}

struct sippres__shared *sippres__shared_get(struct sippres_ctx *ctx, struct sippres__shared_set *t, int n,
                                            const char *const *v, const size_t *len, bool *fresh)
{
	if (n < 1 || n > SIPPRES__SHARED_MAX)
		return NULL;
	return sippres__shared_get_hashed(ctx, t, n, v, len, sippres__shared_hash(t, n, v, len), fresh);
}

struct sippres__shared *sippres__shared_get_hashed(struct sippres_ctx *ctx, struct sippres__shared_set *t, int n,
                                                   const char *const *v, const size_t *len, uint32_t h,
                                                   bool *fresh)
{
	struct sippres__shared *e;
	size_t total = 0;
	uint32_t key;
	char *w;

	if (n < 1 || n > SIPPRES__SHARED_MAX)
		return NULL;
	key = sippres__htab_key(h);
	for (size_t i = sippres__htab_home(&t->tab, key); t->tab.s[i].h; i = sippres__htab_next(&t->tab, i)) {
		if (t->tab.s[i].h != key)
			continue;
		e = t->tab.s[i].p;
		if (tuple_eq(e, n, v, len) && e->refs < UINT32_MAX) {
			e->refs++;
			*fresh = false;
			return e;
		}
	}
	for (int i = 0; i < n; i++)
		total += len[i] + 1;
	if (total > UINT16_MAX || sippres__htab_reserve(ctx, &t->tab) < 0)
		return NULL;
	e = sippres__malloc(ctx, offsetof(struct sippres__shared, str) + total);
	if (!e)
		return NULL;
	w = e->str;
	for (int i = 0; i < n; i++) {
		int j;

		/* a string equal to an earlier one of the tuple shares its bytes */
		for (j = 0; j < i; j++) {
			if (len[j] == len[i] && (len[i] == 0 || memcmp(v[j], v[i], len[i]) == 0))
				break;
		}
		if (j < i) {
			e->off[i] = e->off[j];
			continue;
		}
		e->off[i] = (uint16_t)(w - e->str);
		if (len[i])
			memcpy(w, v[i], len[i]);
		w[len[i]] = '\0';
		w += len[i] + 1;
	}
	e->n = (uint8_t)n;
	e->user = 0;
	e->refs = 1;
	e->hash = h;
	sippres__htab_insert(&t->tab, h, e);
	*fresh = true;
	return e;
}

void sippres__shared_put(struct sippres_ctx *ctx, struct sippres__shared_set *t, struct sippres__shared *e)
{
	if (!e || --e->refs > 0)
		return;
	sippres__htab_remove(&t->tab, e->hash, e);
	sippres__free(ctx, e);
}
