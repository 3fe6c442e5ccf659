/* SPDX-License-Identifier: MIT */
/* Shared strings (lib/core/shared.c): reference-counted tuples kept once
 * for every holder; the last put frees; allocation failures; the 64 KiB
 * bound; tuples whose 32-bit hashes collide. */
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
	struct sippres__shared_set t;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (!x || failer_ctx_new(&x->f, &x->ctx) < 0 || sippres__shared_init(x->ctx, &x->t) < 0)
		return -1;
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	assert_int_equal(x->t.tab.count, 0); /* every test gives its references back */
	sippres__shared_fini(x->ctx, &x->t);
	sippres_ctx_free(x->ctx);
	assert_int_equal(x->f.live, 0);
	free(x);
	return 0;
}

static struct sippres__shared *get(struct fx *x, int n, const char *const *v, bool *fresh)
{
	size_t len[SIPPRES__SHARED_MAX];

	for (int i = 0; i < n; i++)
		len[i] = v[i] ? strlen(v[i]) : 0;
	return sippres__shared_get(x->ctx, &x->t, n, v, len, fresh);
}

/* One copy for every holder of the same tuple; a tuple differing in any
 * string, or in where one string ends and the next begins, is another. */
static void test_sharing(void **state)
{
	struct fx *x = *state;
	const char *a[3] = {"sip:alice@192.0.2.1", "sip:alice@192.0.2.1:5060", "Yealink"};
	const char *b[3] = {"sip:alice@192.0.2.1", "sip:alice@192.0.2.1:5060", "Yealink"};
	const char *c[3] = {"sip:alice@192.0.2.1", "sip:alice@192.0.2.1:5060", "Yealink2"};
	const char *d[3] = {"sip:alice@192.0.2.", "1sip:alice@192.0.2.1:5060", "Yealink"};
	const char *e[2] = {"sip:alice@192.0.2.1", "sip:alice@192.0.2.1:5060"};
	struct sippres__shared *ea, *eb, *ec, *ed, *ee;
	bool fresh;

	ea = get(x, 3, a, &fresh);
	assert_non_null(ea);
	assert_true(fresh);
	ea->user = 7;
	eb = get(x, 3, b, &fresh); /* same bytes, other pointers */
	assert_ptr_equal(ea, eb);
	assert_false(fresh);
	assert_int_equal(eb->user, 7);
	assert_int_equal(ea->refs, 2);
	ec = get(x, 3, c, &fresh);
	assert_true(fresh);
	assert_ptr_not_equal(ec, ea);
	ed = get(x, 3, d, &fresh);
	assert_true(fresh);
	assert_ptr_not_equal(ed, ea);
	ee = get(x, 2, e, &fresh); /* fewer strings: another tuple */
	assert_true(fresh);
	assert_ptr_not_equal(ee, ea);
	assert_int_equal(x->t.tab.count, 4);
	for (int i = 0; i < 3; i++) {
		assert_string_equal(sippres__shared_str(ea, i), a[i]);
		assert_string_equal(sippres__shared_str(ec, i), c[i]);
		assert_string_equal(sippres__shared_str(ed, i), d[i]);
	}
	/* the strings point into the one copy, not at the callers' */
	assert_ptr_not_equal(sippres__shared_str(ea, 0), a[0]);
	sippres__shared_put(x->ctx, &x->t, ea);
	sippres__shared_put(x->ctx, &x->t, eb);
	sippres__shared_put(x->ctx, &x->t, ec);
	sippres__shared_put(x->ctx, &x->t, ed);
	sippres__shared_put(x->ctx, &x->t, ee);
	sippres__shared_put(x->ctx, &x->t, NULL); /* nothing */
}

/* A string equal to an earlier one of its tuple shares its bytes; NULL
 * reads back as "" and equals "". */
static void test_inner_sharing_and_null(void **state)
{
	struct fx *x = *state;
	const char *a[4] = {"sip:bob@x", NULL, "sip:bob@x", ""};
	const char *b[4] = {"sip:bob@x", "", "sip:bob@x", NULL};
	struct sippres__shared *ea, *eb;
	bool fresh;

	ea = get(x, 4, a, &fresh);
	assert_non_null(ea);
	assert_ptr_equal(sippres__shared_str(ea, 0), sippres__shared_str(ea, 2));
	assert_ptr_equal(sippres__shared_str(ea, 1), sippres__shared_str(ea, 3));
	assert_string_equal(sippres__shared_str(ea, 1), "");
	eb = get(x, 4, b, &fresh);
	assert_ptr_equal(ea, eb);
	assert_false(fresh);
	sippres__shared_put(x->ctx, &x->t, ea);
	sippres__shared_put(x->ctx, &x->t, eb);
}

/* Only the last reference frees the tuple: until then it stays findable
 * and its bytes stay where they are. */
static void test_last_put_frees(void **state)
{
	struct fx *x = *state;
	const char *a[1] = {"sip:1000@192.0.2.10:5060"};
	struct sippres__shared *e[5];
	long live;
	bool fresh;

	for (int i = 0; i < 5; i++)
		e[i] = get(x, 1, a, &fresh);
	assert_int_equal(e[0]->refs, 5);
	live = x->f.live;
	for (int i = 0; i < 4; i++) {
		const char *s = sippres__shared_str(e[0], 0);

		sippres__shared_put(x->ctx, &x->t, e[i]);
		assert_int_equal(x->f.live, live);
		assert_int_equal(x->t.tab.count, 1);
		assert_ptr_equal(get(x, 1, a, &fresh), e[0]);
		assert_false(fresh);
		assert_ptr_equal(sippres__shared_str(e[0], 0), s);
		sippres__shared_put(x->ctx, &x->t, e[0]);
	}
	assert_int_equal(e[4]->refs, 1);
	sippres__shared_put(x->ctx, &x->t, e[4]);
	assert_int_equal(x->f.live, live - 1);
	assert_int_equal(x->t.tab.count, 0);
	/* made again from nothing */
	e[0] = get(x, 1, a, &fresh);
	assert_true(fresh);
	sippres__shared_put(x->ctx, &x->t, e[0]);
}

/* Up to 64 KiB together (each string with its NUL): one byte more is
 * refused; a tuple's count must be 1..SIPPRES__SHARED_MAX. */
static void test_bound(void **state)
{
	struct fx *x = *state;
	char *big = malloc(UINT16_MAX + 2);
	const char *v[2];
	size_t len[2];
	struct sippres__shared *e;
	bool fresh;

	memset(big, 'a', UINT16_MAX + 1);
	big[UINT16_MAX + 1] = '\0';
	v[0] = big;
	v[1] = "b";
	len[1] = 1;
	len[0] = UINT16_MAX - 1 - 2; /* with the NULs: 65,535 */
	e = sippres__shared_get(x->ctx, &x->t, 2, v, len, &fresh);
	assert_non_null(e);
	assert_int_equal(strlen(sippres__shared_str(e, 0)), len[0]);
	assert_string_equal(sippres__shared_str(e, 1), "b");
	len[0]++;
	assert_null(sippres__shared_get(x->ctx, &x->t, 2, v, len, &fresh));
	len[0] = UINT16_MAX;
	assert_null(sippres__shared_get(x->ctx, &x->t, 1, v, len, &fresh));
	len[0] = UINT16_MAX - 1;
	sippres__shared_put(x->ctx, &x->t, e);
	e = sippres__shared_get(x->ctx, &x->t, 1, v, len, &fresh);
	assert_non_null(e);
	sippres__shared_put(x->ctx, &x->t, e);
	assert_null(sippres__shared_get(x->ctx, &x->t, 0, v, len, &fresh));
	assert_null(sippres__shared_get(x->ctx, &x->t, SIPPRES__SHARED_MAX + 1, v, len, &fresh));
	assert_int_equal(x->t.tab.count, 0);
	free(big);
}

struct hv {
	uint32_t h;
	uint32_t i;
};

static int hv_cmp(const void *a, const void *b)
{
	const struct hv *x = a, *y = b;

	return x->h < y->h ? -1 : x->h > y->h ? 1 : x->i < y->i ? -1 : x->i > y->i;
}

static void tuple_of(char *o, size_t cap, uint32_t i)
{
	snprintf(o, cap, "sip:%u@192.0.2.20", i);
}

/* Two different tuples with the same 32-bit hash (found by a birthday
 * search over the table's seed) stay two entries, each found for its own
 * bytes, and putting one leaves the other. Then many tuples in a few
 * buckets: growth keeps every one findable. */
static void test_hash_collisions(void **state)
{
	struct fx *x = *state;
	enum { N = 300000 };
	struct hv *hv = malloc(N * sizeof(*hv));
	char s1[32], s2[32];
	const char *v1[2] = {s1, "Yealink"}, *v2[2] = {s2, "Yealink"};
	struct sippres__shared *e1, *e2, *again;
	uint32_t a = 0, b = 0;
	bool fresh, found = false;

	x->t.seed = 0x5eed1234;
	for (uint32_t i = 0; i < N; i++) {
		char s[32];
		uint64_t h = sippres__hash_init(x->t.seed);

		tuple_of(s, sizeof(s), i);
		h = sippres__hash_step(h, s, strlen(s), false);
		h = sippres__hash_step(h, "Yealink", 7, false);
		hv[i].h = sippres__hash_final(h);
		hv[i].i = i;
	}
	qsort(hv, N, sizeof(*hv), hv_cmp);
	for (size_t i = 1; i < N && !found; i++) {
		if (hv[i].h == hv[i - 1].h) {
			a = hv[i - 1].i;
			b = hv[i].i;
			found = true;
		}
	}
	free(hv);
	assert_true(found); /* about 10 pairs expected among 300,000 */
	tuple_of(s1, sizeof(s1), a);
	tuple_of(s2, sizeof(s2), b);
	e1 = get(x, 2, v1, &fresh);
	assert_true(fresh);
	e2 = get(x, 2, v2, &fresh);
	assert_true(fresh);
	assert_ptr_not_equal(e1, e2);
	assert_int_equal(e1->hash, e2->hash);
	assert_ptr_equal(get(x, 2, v1, &fresh), e1);
	assert_ptr_equal(get(x, 2, v2, &fresh), e2);
	assert_string_equal(sippres__shared_str(e1, 0), s1);
	assert_string_equal(sippres__shared_str(e2, 0), s2);
	/* e1's two references gone: e2 is still found, e1 is made again */
	sippres__shared_put(x->ctx, &x->t, e1);
	sippres__shared_put(x->ctx, &x->t, e1);
	assert_int_equal(x->t.tab.count, 1);
	assert_ptr_equal(get(x, 2, v2, &fresh), e2);
	assert_int_equal(e2->refs, 3);
	again = get(x, 2, v1, &fresh);
	assert_true(fresh);
	assert_string_equal(sippres__shared_str(again, 0), s1);
	sippres__shared_put(x->ctx, &x->t, again);
	for (int i = 0; i < 3; i++)
		sippres__shared_put(x->ctx, &x->t, e2);
	assert_int_equal(x->t.tab.count, 0);
}

/* Many tuples: the table grows; every one is found again, in any order of
 * puts. */
static void test_growth(void **state)
{
	struct fx *x = *state;
	enum { N = 5000 };
	struct sippres__shared **e = calloc(N, sizeof(*e));
	char s[32];
	const char *v[1] = {s};
	bool fresh;

	for (uint32_t i = 0; i < N; i++) {
		tuple_of(s, sizeof(s), i);
		e[i] = get(x, 1, v, &fresh);
		assert_true(fresh);
	}
	assert_true(x->t.tab.nb >= 2 * N);
	for (uint32_t i = 0; i < N; i++) {
		tuple_of(s, sizeof(s), i);
		assert_ptr_equal(get(x, 1, v, &fresh), e[i]);
		sippres__shared_put(x->ctx, &x->t, e[i]);
	}
	for (uint32_t i = 0; i < N; i += 2)
		sippres__shared_put(x->ctx, &x->t, e[i]);
	for (uint32_t i = 1; i < N; i += 2) {
		tuple_of(s, sizeof(s), i);
		assert_ptr_equal(get(x, 1, v, &fresh), e[i]);
		sippres__shared_put(x->ctx, &x->t, e[i]);
		sippres__shared_put(x->ctx, &x->t, e[i]);
	}
	free(e);
}

/* Every allocation of a sequence of gets fails once in turn: a failed get
 * returns NULL and changes nothing (a failed growth only leaves a fuller
 * table); the tuples got are all still found, and putting them all back
 * frees everything. */
static void test_oom(void **state)
{
	struct fx *x = *state;
	enum { N = 200 };

	for (long fail_at = 1;; fail_at++) {
		struct sippres__shared *e[N];
		char s[32];
		const char *v[2] = {s, "UA"};
		long live = x->f.live;
		bool fresh;
		int failed = 0;

		x->f.count = 0;
		x->f.fail_at = fail_at;
		x->f.failed = 0;
		for (uint32_t i = 0; i < N; i++) {
			tuple_of(s, sizeof(s), i % (N / 2)); /* each tuple twice */
			e[i] = get(x, 2, v, &fresh);
			if (!e[i])
				failed++;
		}
		x->f.fail_at = 0;
		assert_true(failed <= 1);
		for (uint32_t i = 0; i < N; i++) {
			if (!e[i])
				continue;
			tuple_of(s, sizeof(s), i % (N / 2));
			assert_string_equal(sippres__shared_str(e[i], 0), s);
			assert_string_equal(sippres__shared_str(e[i], 1), "UA");
			assert_ptr_equal(get(x, 2, v, &fresh), e[i]);
			assert_false(fresh);
			sippres__shared_put(x->ctx, &x->t, e[i]);
		}
		for (uint32_t i = 0; i < N; i++)
			sippres__shared_put(x->ctx, &x->t, e[i]);
		assert_int_equal(x->t.tab.count, 0);
		/* the table may have grown (or not); nothing else is left */
		assert_int_equal(x->f.live, live);
		if (!x->f.failed)
			break;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sharing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inner_sharing_and_null, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_put_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_collisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
