/* SPDX-License-Identifier: MIT */
/* Shared strings: reference-counted tuples of a few strings, one copy for
 * every holder of the same tuple, found through a chained hash table keyed
 * by all of the tuple's bytes. */
#include <string.h>

#include "core-private.h"

static uint32_t tuple_hash(const struct sippres__shared_set *t, int n, const char *const *v, const size_t *len)
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
	t->b = sippres__calloc(ctx, 64, sizeof(*t->b));
	if (!t->b)
		return SIPPRES_E_NOMEM;
	t->nb = 64;
	t->count = 0;
	t->seed = ctx->hash_seed;
	return 0;
}

void sippres__shared_fini(struct sippres_ctx *ctx, struct sippres__shared_set *t)
{
	/* every holder gave its reference back before: nothing is left but the table */
	sippres__free(ctx, t->b);
	t->b = NULL;
	t->nb = t->count = 0;
}

struct sippres__shared *sippres__shared_get(struct sippres_ctx *ctx, struct sippres__shared_set *t, int n,
                                            const char *const *v, const size_t *len, bool *fresh)
{
	struct sippres__shared *e;
	size_t total = 0;
	uint32_t h;
	char *w;

	if (n < 1 || n > SIPPRES__SHARED_MAX)
		return NULL;
	h = tuple_hash(t, n, v, len);
	for (e = t->b[h & (t->nb - 1)]; e; e = e->next) {
		if (e->hash == h && tuple_eq(e, n, v, len) && e->refs < UINT32_MAX) {
			e->refs++;
			*fresh = false;
			return e;
		}
	}
	for (int i = 0; i < n; i++)
		total += len[i] + 1;
	if (total > UINT16_MAX)
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
	if (t->count >= t->nb)
		SIPPRES__CHAINS_GROW(ctx, struct sippres__shared, next, hash, t->b, t->nb);
	e->next = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = e;
	t->count++;
	*fresh = true;
	return e;
}

void sippres__shared_put(struct sippres_ctx *ctx, struct sippres__shared_set *t, struct sippres__shared *e)
{
	struct sippres__shared **pp;

	if (!e || --e->refs > 0)
		return;
	for (pp = &t->b[e->hash & (t->nb - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	t->count--;
	sippres__free(ctx, e);
}
