/* SPDX-License-Identifier: MIT */
/* An allocator for cmocka tests that fails allocation number fail_at (1-based;
 * 0: never) and counts live blocks, so a test can inject a failure at every
 * allocation of a sequence and check that nothing leaks. Include after
 * <cmocka.h>. */
#ifndef SIPPRES_TEST_FAILALLOC_H
#define SIPPRES_TEST_FAILALLOC_H

#include <stdbool.h>
#include <stdlib.h>

#include <libsippresence/libsippresence.h>

struct failer {
	long count;   /* allocations asked for so far */
	long fail_at; /* refuse this one */
	long live;    /* blocks currently allocated */
	int failed;   /* an allocation was refused */
};

static inline bool failer_refuse(struct failer *f, size_t n)
{
	assert_true(n > 0); /* the library never asks for 0 bytes */
	if (++f->count == f->fail_at) {
		f->failed = 1;
		return true;
	}
	return false;
}

static inline void *failer_malloc(void *ud, size_t n)
{
	struct failer *f = ud;
	void *p;

	if (failer_refuse(f, n))
		return NULL;
	p = malloc(n);
	if (p)
		f->live++;
	return p;
}

static inline void *failer_realloc(void *ud, void *ptr, size_t n)
{
	struct failer *f = ud;
	void *p;

	if (failer_refuse(f, n))
		return NULL;
	p = realloc(ptr, n);
	if (p && !ptr)
		f->live++;
	return p;
}

static inline void failer_free(void *ud, void *ptr)
{
	struct failer *f = ud;

	if (ptr)
		f->live--;
	free(ptr);
}

static inline struct sippres_allocator failer_allocator(struct failer *f)
{
	struct sippres_allocator a = {.size = sizeof(a), .user_data = f, .malloc = failer_malloc,
	                              .realloc = failer_realloc, .free = failer_free};
	return a;
}

/* A context (no callbacks) whose allocations go through f. */
static inline int failer_ctx_new(struct failer *f, struct sippres_ctx **ctx)
{
	struct sippres_allocator a = failer_allocator(f);
	struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &a};

	return sippres_ctx_new(&cfg, NULL, NULL, ctx);
}

#endif
