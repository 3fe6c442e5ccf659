/* SPDX-License-Identifier: MIT */
/* Binary min-heap of objects ordered by a uint64_t deadline stored in the
 * object; each object keeps its index (at idx_off) so removal and update are
 * O(log n). */
#include <string.h>

#include "core-private.h"

#define KEY(hp, o) (*(const uint64_t *)(const void *)((const char *)(o) + (hp)->key_off))
#define IDX(hp, o) (*(uint32_t *)(void *)((char *)(o) + (hp)->idx_off))

void sippres__heap_init(struct sippres__heap *hp, size_t key_off, size_t idx_off)
{
	memset(hp, 0, sizeof(*hp));
	hp->key_off = key_off;
	hp->idx_off = idx_off;
}

int sippres__heap_reserve(struct sippres_ctx *ctx, struct sippres__heap *hp, uint32_t n)
{
	uint32_t cap = hp->cap ? hp->cap : 64;
	void **v;

	if (n <= hp->cap)
		return 0;
	while (cap < n) {
		if (cap > UINT32_MAX / 2)
			return SIPPRES_E_NOMEM;
		cap *= 2;
	}
	v = sippres__reallocarray(ctx, hp->v, cap, sizeof(*v));
	if (!v)
		return SIPPRES_E_NOMEM;
	hp->v = v;
	hp->cap = cap;
	return 0;
}

static void place(struct sippres__heap *hp, uint32_t i, void *o)
{
	hp->v[i] = o;
	IDX(hp, o) = i;
}

static void sift_up(struct sippres__heap *hp, uint32_t i)
{
	void *o = hp->v[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!(KEY(hp, o) < KEY(hp, hp->v[p])))
			break;
		place(hp, i, hp->v[p]);
		i = p;
	}
	place(hp, i, o);
}

static void sift_down(struct sippres__heap *hp, uint32_t i)
{
	void *o = hp->v[i];

	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		void *best = o;

		if (l < hp->n && KEY(hp, hp->v[l]) < KEY(hp, best)) {
			m = l;
			best = hp->v[l];
		}
		if (r < hp->n && KEY(hp, hp->v[r]) < KEY(hp, best)) {
			m = r;
			best = hp->v[r];
		}
		if (m == i)
			break;
		place(hp, i, best);
		i = m;
	}
	place(hp, i, o);
}

/* The caller reserved room first. */
void sippres__heap_push(struct sippres__heap *hp, void *o)
{
	place(hp, hp->n, o);
	hp->n++;
	sift_up(hp, hp->n - 1);
}

void sippres__heap_remove(struct sippres__heap *hp, void *o)
{
	uint32_t i = IDX(hp, o);

	if (i == SIPPRES__NOT_IN_HEAP)
		return;
	hp->n--;
	if (i != hp->n) {
		void *moved = hp->v[hp->n];

		place(hp, i, moved);
		sift_down(hp, i);
		sift_up(hp, IDX(hp, moved));
	}
	IDX(hp, o) = SIPPRES__NOT_IN_HEAP;
}

void sippres__heap_update(struct sippres__heap *hp, void *o)
{
	sift_up(hp, IDX(hp, o));
	sift_down(hp, IDX(hp, o));
}

void *sippres__heap_top(const struct sippres__heap *hp)
{
	return hp->n ? hp->v[0] : NULL;
}

uint64_t sippres__heap_key(const struct sippres__heap *hp, const void *o)
{
	return KEY(hp, o);
}

void sippres__heap_free(struct sippres_ctx *ctx, struct sippres__heap *hp)
{
	sippres__free(ctx, hp->v);
	hp->v = NULL;
	hp->n = hp->cap = 0;
}
