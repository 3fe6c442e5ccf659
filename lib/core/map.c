/* SPDX-License-Identifier: MIT */
/* Intrusive chained hash map; the owner compares keys. */
#include <string.h>

#include "core-private.h"

int sp_map_init(struct sippres_ctx *ctx, struct sp_map *m, size_t nbuckets)
{
	size_t n = 8;

	while (n < nbuckets)
		n <<= 1;
	m->buckets = sp_calloc(ctx, n, sizeof(*m->buckets));
	if (!m->buckets)
		return SIPPRES_E_NOMEM;
	m->nbuckets = n;
	m->count = 0;
	return 0;
}

void sp_map_fini(struct sippres_ctx *ctx, struct sp_map *m)
{
	sp_free(ctx, m->buckets);
	m->buckets = NULL;
	m->nbuckets = 0;
	m->count = 0;
}

struct sp_hnode *sp_map_chain(const struct sp_map *m, uint32_t hash)
{
	return m->buckets[hash & (m->nbuckets - 1)];
}

static void grow(struct sippres_ctx *ctx, struct sp_map *m)
{
	size_t n = m->nbuckets * 2;
	struct sp_hnode **b;

	if (n > SIZE_MAX / sizeof(*b) / 2)
		return;
	b = sp_calloc(ctx, n, sizeof(*b));
	if (!b)
		return; /* keep the smaller table: longer chains, still correct */
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct sp_hnode *e = m->buckets[i];

		while (e) {
			struct sp_hnode *next = e->next;
			size_t j = e->hash & (n - 1);

			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	sp_free(ctx, m->buckets);
	m->buckets = b;
	m->nbuckets = n;
}

void sp_map_insert(struct sippres_ctx *ctx, struct sp_map *m, struct sp_hnode *n, uint32_t hash)
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

void sp_map_remove(struct sp_map *m, struct sp_hnode *n)
{
	struct sp_hnode **pp = &m->buckets[n->hash & (m->nbuckets - 1)];

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
