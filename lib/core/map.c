/* SPDX-License-Identifier: MIT */
/* Intrusive chained hash map, and string-keyed maps on top of it. */
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
	m->seed = ctx->hash_seed;
	m->nocase = false;
	m->key_off = 0;
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

void sippres__map_insert(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__hnode *n, uint32_t hash)
{
	size_t i;

	if (m->count >= m->nbuckets)
		SIPPRES__CHAINS_GROW(ctx, struct sippres__hnode, next, hash, m->buckets, m->nbuckets);
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

void sippres__map_drain(struct sippres_ctx *ctx, struct sippres__map *m,
                        void (*destroy)(struct sippres_ctx *ctx, struct sippres__hnode *n))
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct sippres__hnode *n = m->buckets[i];

		while (n) {
			struct sippres__hnode *next = n->next;
			destroy(ctx, n);
			n = next;
		}
	}
	sippres__map_fini(ctx, m);
}

int sippres__smap_init(struct sippres_ctx *ctx, struct sippres__map *m, size_t nbuckets, ptrdiff_t key_off,
                       bool nocase)
{
	int r = sippres__map_init(ctx, m, nbuckets);

	m->nocase = nocase;
	m->key_off = key_off;
	return r;
}

static const char *node_key(const struct sippres__map *m, const struct sippres__hnode *n)
{
	const char *const *k = (const char *const *)(const void *)((const char *)n + m->key_off);

	return *k;
}

struct sippres__hnode *sippres__smap_find(const struct sippres__map *m, const char *key)
{
	uint32_t h = sippres__hash(m->seed, key, m->nocase);

	for (struct sippres__hnode *n = sippres__map_chain(m, h); n; n = n->next) {
		if (n->hash != h)
			continue;
		if (m->nocase ? sippres__streq_nocase(node_key(m, n), key) : strcmp(node_key(m, n), key) == 0)
			return n;
	}
	return NULL;
}

void sippres__smap_insert(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__hnode *n)
{
	sippres__map_insert(ctx, m, n, sippres__hash(m->seed, node_key(m, n), m->nocase));
}

struct sippres__hnode *sippres__smap_put(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__hnode *n)
{
	struct sippres__hnode *old = sippres__smap_find(m, node_key(m, n));

	if (old)
		sippres__map_remove(m, old);
	sippres__smap_insert(ctx, m, n);
	return old;
}
