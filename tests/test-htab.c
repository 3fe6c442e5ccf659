/* SPDX-License-Identifier: MIT */
/* The open-addressed table (lib/core/htab.c) that the dialog table and the
 * shared strings use: growth across sizes, removal by backward shift
 * (also across the end of the array), many entries with one hash, lookups
 * after removals, a failed growth leaving the table as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "core/core-private.h"
#include "failalloc.h"

struct fx {
	struct failer f;
	struct sippres_ctx *ctx;
	struct sippres__htab t;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (!x || failer_ctx_new(&x->f, &x->ctx) < 0 || sippres__htab_init(x->ctx, &x->t, 8) < 0)
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	sippres__htab_fini(x->ctx, &x->t);
	sippres_ctx_free(x->ctx);
	assert_int_equal(x->f.live, 0);
	free(x);
	return 0;
}

/* How many times p is in the table under hash (by probing, as owners do). */
static int count_of(const struct sippres__htab *t, uint32_t hash, const void *p)
{
	uint32_t key = sippres__htab_key(hash);
	int n = 0;

	for (size_t i = sippres__htab_home(t, key); t->s[i].h; i = sippres__htab_next(t, i)) {
		if (t->s[i].h == key && t->s[i].p == p)
			n++;
	}
	return n;
}

/* Every entry of the array is reachable from its home without crossing an
 * empty slot, and count matches the occupied slots. */
static void check_invariant(const struct sippres__htab *t)
{
	size_t used = 0;

	for (size_t i = 0; i < t->nb; i++) {
		if (!t->s[i].h) {
			assert_null(t->s[i].p);
			continue;
		}
		used++;
		for (size_t j = sippres__htab_home(t, t->s[i].h); j != i; j = sippres__htab_next(t, j))
			assert_int_not_equal(t->s[j].h, 0);
	}
	assert_int_equal(used, t->count);
	assert_true(t->count * 8 <= t->nb * 7);
}

static uint32_t mix(uint32_t i)
{
	i ^= i >> 16;
	i *= 0x45d9f3bu;
	i ^= i >> 16;
	return i;
}

static void put(struct fx *x, uint32_t hash, void *p)
{
	assert_int_equal(sippres__htab_reserve(x->ctx, &x->t), 0);
	sippres__htab_insert(&x->t, hash, p);
}

/* From 8 slots to 2^16: at most half full after each insertion, every
 * entry found at every size; then removed in a scattered order, the others
 * still found each time. */
static void test_growth_and_removal(void **state)
{
	struct fx *x = *state;
	enum { N = 20000 };
	char *objs = calloc(N, 1);

	for (uint32_t i = 0; i < N; i++) {
		put(x, mix(i), objs + i);
		assert_true(x->t.count * 2 <= x->t.nb);
		if ((i & (i + 1)) == 0) { /* at each power of two: all found */
			for (uint32_t k = 0; k <= i; k++)
				assert_int_equal(count_of(&x->t, mix(k), objs + k), 1);
			check_invariant(&x->t);
		}
	}
	assert_int_equal(x->t.nb, 65536);
	for (uint32_t k = 0; k < N; k++) {
		uint32_t i = (k * 7919u) % N; /* 7919 is prime to N: each once */

		sippres__htab_remove(&x->t, mix(i), objs + i);
		objs[i] = 1; /* removed */
		assert_int_equal(count_of(&x->t, mix(i), objs + i), 0);
		if (k % 2500 == 0) {
			check_invariant(&x->t);
			for (uint32_t j = 0; j < N; j++)
				assert_int_equal(count_of(&x->t, mix(j), objs + j), objs[j] ? 0 : 1);
		}
	}
	assert_int_equal(x->t.count, 0);
	check_invariant(&x->t);
	/* removing what is not there changes nothing */
	sippres__htab_remove(&x->t, 5, objs);
	assert_int_equal(x->t.count, 0);
	free(objs);
}

/* Many entries under one hash (and hash 0, kept as 1 since 0 marks an
 * empty slot): each is one entry, removing one in the middle of the run
 * leaves the others found, and the run wraps past the end of the array. */
static void test_collisions_and_wrap(void **state)
{
	struct fx *x = *state;
	char objs[40];
	uint32_t last;

	/* 8 slots: a hash whose home is the last slot makes its run wrap to 0 */
	last = (uint32_t)x->t.nb - 1;
	put(x, last, objs + 0);
	put(x, last, objs + 1);
	put(x, last, objs + 2);
	assert_int_equal(x->t.nb, 8);
	assert_ptr_equal(x->t.s[7].p, objs + 0);
	assert_ptr_equal(x->t.s[0].p, objs + 1);
	assert_ptr_equal(x->t.s[1].p, objs + 2);
	sippres__htab_remove(&x->t, last, objs + 0); /* both behind it shift back across the end */
	assert_ptr_equal(x->t.s[7].p, objs + 1);
	assert_ptr_equal(x->t.s[0].p, objs + 2);
	assert_int_equal(x->t.s[1].h, 0);
	check_invariant(&x->t);
	sippres__htab_remove(&x->t, last, objs + 1);
	sippres__htab_remove(&x->t, last, objs + 2);
	assert_int_equal(x->t.count, 0);

	for (int i = 0; i < 40; i++)
		put(x, i % 2 ? 0 : 0x1234, objs + i);
	check_invariant(&x->t);
	for (int i = 0; i < 40; i++)
		assert_int_equal(count_of(&x->t, i % 2 ? 0 : 0x1234, objs + i), 1);
	assert_int_equal(count_of(&x->t, 1, objs + 1), 1); /* 0 is stored as 1 */
	for (int i = 10; i < 30; i++) {
		sippres__htab_remove(&x->t, i % 2 ? 0 : 0x1234, objs + i);
		check_invariant(&x->t);
		for (int k = 0; k < 40; k++)
			assert_int_equal(count_of(&x->t, k % 2 ? 0 : 0x1234, objs + k), k >= 10 && k <= i ? 0 : 1);
	}
	/* an entry under another hash between runs is untouched by the shifts */
	put(x, 0x99, objs);
	for (int i = 0; i < 10; i++)
		sippres__htab_remove(&x->t, i % 2 ? 0 : 0x1234, objs + i);
	for (int i = 30; i < 40; i++)
		sippres__htab_remove(&x->t, i % 2 ? 0 : 0x1234, objs + i);
	assert_int_equal(x->t.count, 1);
	assert_int_equal(count_of(&x->t, 0x99, objs), 1);
	sippres__htab_remove(&x->t, 0x99, objs);
	assert_int_equal(x->t.count, 0);
	check_invariant(&x->t);
}

/* Growth from a crowded table (7 of 8, as after failed growths): runs that
 * wrap past the end, homes that split between the two halves, entries
 * displaced while the table doubles in place. 2,000 random layouts; after
 * each growth every entry is found once and every run is unbroken. */
static void test_growth_in_place(void **state)
{
	struct fx *x = *state;
	char objs[8];
	uint32_t rng = 12345, hashes[8];

	for (int trial = 0; trial < 2000; trial++) {
		sippres__htab_fini(x->ctx, &x->t);
		assert_int_equal(sippres__htab_init(x->ctx, &x->t, 8), 0);
		for (int i = 0; i < 8; i++) {
			rng = rng * 1103515245u + 12345u;
			/* homes crowd the last slots half the time; bit 3 (the new
			 * mask's) and the rest are random */
			hashes[i] = (rng >> 4) & ~7u;
			hashes[i] |= (rng & 1) ? 6 + ((rng >> 1) & 1) : (rng >> 1) & 7;
			if (!hashes[i])
				hashes[i] = 8;
			x->f.count = 0;
			x->f.fail_at = i < 7 ? 1 : 0; /* grows at the 8th only */
			put(x, hashes[i], objs + i);
		}
		x->f.fail_at = 0;
		x->f.failed = 0;
		assert_int_equal(x->t.nb, 16);
		assert_int_equal(x->t.count, 8);
		check_invariant(&x->t);
		for (int i = 0; i < 8; i++)
			assert_int_equal(count_of(&x->t, hashes[i], objs + i), 1);
	}
	for (int i = 0; i < 8; i++)
		sippres__htab_remove(&x->t, hashes[i], objs + i);
	assert_int_equal(x->t.count, 0);
}

/* Growth fails: the table stays as it was (same arrays, same entries) and
 * keeps taking entries up to 7/8 full; past that reserve says
 * SIPPRES_E_NOMEM until an allocation succeeds again. Nothing leaks. */
static void test_oom_growth(void **state)
{
	struct fx *x = *state;
	char objs[64];
	struct sippres__hslot *s;
	int r;

	for (int i = 0; i < 4; i++)
		put(x, mix((uint32_t)i), objs + i);
	assert_int_equal(x->t.nb, 8);
	s = x->t.s;
	/* each allocation of a growth fails in turn (the placement bits, then
	 * the larger array): the table is as it was, nothing leaks */
	for (long which = 1; which <= 2; which++) {
		x->f.count = 0;
		x->f.fail_at = which;
		assert_int_equal(sippres__htab_reserve(x->ctx, &x->t), 0); /* 5 of 8: allowed */
		assert_int_equal(x->f.failed, 1);
		x->f.failed = 0;
		assert_ptr_equal(x->t.s, s);
		assert_int_equal(x->t.nb, 8);
		assert_int_equal(x->t.count, 4);
		for (int i = 0; i < 4; i++)
			assert_int_equal(count_of(&x->t, mix((uint32_t)i), objs + i), 1);
	}
	x->f.fail_at = -1;
	x->f.count = 0;
	for (int i = 4; i < 7; i++) { /* 5, 6, 7 of 8 */
		x->f.count = 0;
		x->f.fail_at = 1;
		put(x, mix((uint32_t)i), objs + i);
	}
	assert_int_equal(x->t.nb, 8);
	x->f.count = 0;
	x->f.fail_at = 1;
	r = sippres__htab_reserve(x->ctx, &x->t); /* the 8th of 8: refused */
	assert_int_equal(r, SIPPRES_E_NOMEM);
	assert_int_equal(x->t.count, 7);
	check_invariant(&x->t);
	for (int i = 0; i < 7; i++)
		assert_int_equal(count_of(&x->t, mix((uint32_t)i), objs + i), 1);
	x->f.fail_at = 0;
	put(x, mix(7), objs + 7); /* grows now */
	assert_int_equal(x->t.nb, 16);
	for (int i = 0; i < 8; i++)
		assert_int_equal(count_of(&x->t, mix((uint32_t)i), objs + i), 1);
	check_invariant(&x->t);
	for (int i = 0; i < 8; i++)
		sippres__htab_remove(&x->t, mix((uint32_t)i), objs + i);
	assert_int_equal(x->t.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_growth_and_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collisions_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_growth_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom_growth, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
