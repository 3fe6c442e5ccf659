/* SPDX-License-Identifier: MIT */
/* Binary min-heap of subscriptions ordered by expiry; each subscription
 * keeps its index so removal and update are O(log n). */
#include "subs-private.h"

int sp_heap_reserve(struct sippres_ctx *ctx, struct sp_heap *hp, uint32_t n)
{
	uint32_t cap = hp->cap ? hp->cap : 64;
	struct sippres_sub **v;

	if (n <= hp->cap)
		return 0;
	while (cap < n) {
		if (cap > UINT32_MAX / 2)
			return SIPPRES_E_NOMEM;
		cap *= 2;
	}
	v = sp_reallocarray(ctx, hp->v, cap, sizeof(*v));
	if (!v)
		return SIPPRES_E_NOMEM;
	hp->v = v;
	hp->cap = cap;
	return 0;
}

static bool before(const struct sippres_sub *a, const struct sippres_sub *b)
{
	return a->expires_at < b->expires_at;
}

static void place(struct sp_heap *hp, uint32_t i, struct sippres_sub *s)
{
	hp->v[i] = s;
	s->heap_idx = i;
}

static void sift_up(struct sp_heap *hp, uint32_t i)
{
	struct sippres_sub *s = hp->v[i];

	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!before(s, hp->v[p]))
			break;
		place(hp, i, hp->v[p]);
		i = p;
	}
	place(hp, i, s);
}

static void sift_down(struct sp_heap *hp, uint32_t i)
{
	struct sippres_sub *s = hp->v[i];

	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		struct sippres_sub *best = s;

		if (l < hp->n && before(hp->v[l], best)) {
			m = l;
			best = hp->v[l];
		}
		if (r < hp->n && before(hp->v[r], best)) {
			m = r;
			best = hp->v[r];
		}
		if (m == i)
			break;
		place(hp, i, best);
		i = m;
	}
	place(hp, i, s);
}

/* The caller reserved room first. */
void sp_heap_push(struct sp_heap *hp, struct sippres_sub *s)
{
	place(hp, hp->n, s);
	hp->n++;
	sift_up(hp, hp->n - 1);
}

void sp_heap_remove(struct sp_heap *hp, struct sippres_sub *s)
{
	uint32_t i = s->heap_idx;

	if (i == SP_NOT_IN_HEAP)
		return;
	hp->n--;
	if (i != hp->n) {
		struct sippres_sub *moved = hp->v[hp->n];

		place(hp, i, moved);
		sift_down(hp, i);
		sift_up(hp, moved->heap_idx);
	}
	s->heap_idx = SP_NOT_IN_HEAP;
}

void sp_heap_update(struct sp_heap *hp, struct sippres_sub *s)
{
	sift_up(hp, s->heap_idx);
	sift_down(hp, s->heap_idx);
}

struct sippres_sub *sp_heap_top(const struct sp_heap *hp)
{
	return hp->n ? hp->v[0] : NULL;
}

void sp_heap_free(struct sippres_ctx *ctx, struct sp_heap *hp)
{
	sp_free(ctx, hp->v);
	hp->v = NULL;
	hp->n = hp->cap = 0;
}
