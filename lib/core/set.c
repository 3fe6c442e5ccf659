/* SPDX-License-Identifier: MIT */
/* Scratch sets for duplicate checks: open addressing (linear probing, at
 * most half full) over borrowed keys, each with a value, hashed with the
 * context's seed. */
#include <string.h>

#include "core-private.h"

static uint32_t key_hash(const struct sippres__set *s, const void *key)
{
	uint64_t z;

	if (s->strings)
		return sippres__hash(s->seed, key, false);
	/* a pointer: splitmix64's finaliser over its bits and the seed */
	z = (uint64_t)(uintptr_t)key ^ ((uint64_t)s->seed << 32);
	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return (uint32_t)(z ^ (z >> 31));
}

static bool key_eq(const struct sippres__set *s, const void *a, const void *b)
{
	return s->strings ? strcmp(a, b) == 0 : a == b;
}

void sippres__set_init(struct sippres_ctx *ctx, struct sippres__set *s, bool strings)
{
	memset(s, 0, sizeof(*s));
	s->seed = ctx->hash_seed;
	s->strings = strings;
}

void sippres__set_fini(struct sippres_ctx *ctx, struct sippres__set *s)
{
	sippres__free(ctx, s->slot);
	s->slot = NULL;
	s->cap = s->n = 0;
}

/* The slot of key, or the empty slot where it would go. */
static struct sippres__set_slot *find(const struct sippres__set *s, const void *key)
{
	size_t i = key_hash(s, key) & (s->cap - 1);

	while (s->slot[i].key && !key_eq(s, s->slot[i].key, key))
		i = (i + 1) & (s->cap - 1);
	return &s->slot[i];
}

static int grow(struct sippres_ctx *ctx, struct sippres__set *s)
{
	struct sippres__set old = *s;
	size_t cap = s->cap ? s->cap * 2 : 16;

	if (cap > SIZE_MAX / 2 / sizeof(*s->slot))
		return SIPPRES_E_NOMEM;
	s->slot = sippres__calloc(ctx, cap, sizeof(*s->slot));
	if (!s->slot) {
		*s = old;
		return SIPPRES_E_NOMEM;
	}
	s->cap = cap;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slot[i].key)
			*find(s, old.slot[i].key) = old.slot[i];
	}
	sippres__free(ctx, old.slot);
	return 0;
}

int sippres__set_reserve(struct sippres_ctx *ctx, struct sippres__set *s, size_t n)
{
	while (n > s->cap / 2) {
		int r = grow(ctx, s);

		if (r < 0)
			return r;
	}
	return 0;
}

int sippres__set_add(struct sippres_ctx *ctx, struct sippres__set *s, const void *key, size_t value, size_t *had)
{
	struct sippres__set_slot *slot;
	int r;

	if (s->cap) {
		slot = find(s, key);
		if (slot->key) {
			if (had)
				*had = slot->value;
			return 0;
		}
	}
	if ((r = sippres__set_reserve(ctx, s, s->n + 1)) < 0)
		return r;
	slot = find(s, key);
	slot->key = key;
	slot->value = value;
	s->n++;
	return 1;
}

bool sippres__set_find(const struct sippres__set *s, const void *key, size_t *value)
{
	const struct sippres__set_slot *slot;

	if (!s->cap)
		return false;
	slot = find(s, key);
	if (!slot->key)
		return false;
	if (value)
		*value = slot->value;
	return true;
}
