/* SPDX-License-Identifier: MIT */
/* Intrusive chained hash map; the owner compares keys. */
#include <string.h>

#include "core-private.h"

int sippres__map_init(struct sippres_ctx *ctx, struct sippres__map *m, size_t nbuckets)
{
	size_t n = 8;

	while (n < nbuckets)
		n <<= 1;
	m->buckets = sippres__calloc(ctx, n, sizeof(*m->buckets));
	if (!m->buckets)
		return SIPPRES_E_NOMEM;
	m->nbuckets = n;
	m->count = 0;
	return 0;
}

void sippres__map_fini(struct sippres_ctx *ctx, struct sippres__map *m)
{
	sippres__free(ctx, m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}

struct sippres__hnode *sippres__map_chain(const struct sippres__map *m, uint32_t hash)
{
	return m->buckets[hash & (m->nbuckets - 1)];
}

static void grow(struct sippres_ctx *ctx, struct sippres__map *m)
{
	size_t n = m->nbuckets * 2;
	struct sippres__hnode **b;

	if (n > SIZE_MAX / sizeof(*b) / 2)
		return;
	b = sippres__calloc(ctx, n, sizeof(*b));
	if (!b)
		return; /* keep the smaller table: longer chains, still correct */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct sippres__hnode *e = m->buckets[i];

		while (e) {
			struct sippres__hnode *next = e->next;
			size_t j = e->hash & (n - 1);

			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	sippres__free(ctx, m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void sippres__map_insert(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__hnode *n, uint32_t hash)
{
	size_t i;

	if (m->count >= m->nbuckets)
		grow(ctx, m);
	i = hash & (m->nbuckets - 1);
	n->hash = hash;
	n->next = m->buckets[i];
	m->buckets[i] = n;
	m->count++;
}

void sippres__map_remove(struct sippres__map *m, struct sippres__hnode *n)
{
	struct sippres__hnode **pp = &m->buckets[n->hash & (m->nbuckets - 1)];

	while (*pp) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			m->count--;
			return;
		}
		pp = &(*pp)->next;
	}
}
