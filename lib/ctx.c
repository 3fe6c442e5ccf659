/* SPDX-License-Identifier: MIT */
/* The context's construction: the one place that knows every layer. Each
 * layer is set up lowest first and torn down in the reverse order. */
#include <stdlib.h>
#include <string.h>

#include "core/core-private.h"
#include "state/state-private.h"
#include "bodies/bodies-private.h"
#include "lists/lists-private.h"
#include "publish/publish-private.h"
#include "subs/subs-private.h"

static const struct {
	int (*init)(struct sippres_ctx *ctx);
	void (*fini)(struct sippres_ctx *ctx);
} layers[] = {
	{sippres__registry_new, sippres__registry_free},
	{sippres__bodies_init, sippres__bodies_fini},
	{sippres__lists_new, sippres__lists_free},
	{sippres__pubs_new, sippres__pubs_free},
	{sippres__subs_new, sippres__subs_free},
};
#define NLAYERS (sizeof(layers) / sizeof(layers[0]))

/* Tear down the first n layers, highest first. */
static void teardown(struct sippres_ctx *ctx, size_t n)
{
	while (n--)
		layers[n].fini(ctx);
}

static void *default_malloc(void *ud, size_t n)
{
	(void)ud;
	return malloc(n);
}

static void *default_realloc(void *ud, void *p, size_t n)
{
	(void)ud;
	return realloc(p, n);
}

static void default_free(void *ud, void *p)
{
	(void)ud;
	free(p);
}

/* Size of the first published version of each host struct. */
#define ALLOCATOR_V1_SIZE (offsetof(struct sippres_allocator, free) + sizeof(void (*)(void *, void *)))
#define CONFIG_V1_SIZE (offsetof(struct sippres_config, flags) + sizeof(uint32_t))
#define CALLBACKS_V1_SIZE (offsetof(struct sippres_callbacks, forget) + sizeof(void *))

SIPPRES_EXPORT int sippres_ctx_new(const struct sippres_config *cfg, const struct sippres_callbacks *cb,
                                   void *user_data, struct sippres_ctx **ret)
{
	struct sippres_allocator alloc = {
		.size = sizeof(alloc), .malloc = default_malloc, .realloc = default_realloc, .free = default_free,
	};
	struct sippres_config conf = {.size = sizeof(conf), .log_level = SIPPRES_LOG_INFO};
	struct sippres_callbacks cbs;
	struct sippres_ctx *ctx;
	int r;

	if (!ret)
		return SIPPRES_E_INVAL;
	memset(&cbs, 0, sizeof(cbs));
	if (cfg) {
		r = sippres__check_struct(cfg, CONFIG_V1_SIZE, sizeof(*cfg));
		if (r < 0)
			return r;
		memcpy(&conf, cfg, cfg->size < sizeof(conf) ? cfg->size : sizeof(conf));
		conf.size = sizeof(conf);
		if (conf.flags != 0 || conf.log_level > SIPPRES_LOG_DEBUG)
			return SIPPRES_E_INVAL;
		if (conf.allocator) {
			r = sippres__check_struct(conf.allocator, ALLOCATOR_V1_SIZE, sizeof(alloc));
			if (r < 0)
				return r;
			memcpy(&alloc, conf.allocator, ALLOCATOR_V1_SIZE);
			if (!alloc.malloc || !alloc.realloc || !alloc.free)
				return SIPPRES_E_INVAL;
		}
	}
	if (cb) {
		r = sippres__check_struct(cb, CALLBACKS_V1_SIZE, sizeof(*cb));
		if (r < 0)
			return r;
		memcpy(&cbs, cb, cb->size < sizeof(cbs) ? cb->size : sizeof(cbs));
	}
	cbs.size = sizeof(cbs);

	ctx = alloc.malloc(alloc.user_data, sizeof(*ctx));
	if (!ctx)
		return SIPPRES_E_NOMEM;
	memset(ctx, 0, sizeof(*ctx));
	ctx->alloc = alloc;
	ctx->cb = cbs;
	ctx->user_data = user_data;
	ctx->log_level = conf.log_level;
	ctx->max_instances = conf.max_pattern_instances ? conf.max_pattern_instances : SIPPRES_DEFAULT_MAX_INSTANCES;

	r = sippres_ctx_random(ctx, (uint8_t *)&ctx->hash_seed, sizeof(ctx->hash_seed));
	for (size_t i = 0; r >= 0 && i < NLAYERS; i++) {
		r = layers[i].init(ctx);
		if (r < 0)
			teardown(ctx, i);
	}
	if (r < 0) {
		alloc.free(alloc.user_data, ctx);
		return r;
	}
	*ret = ctx;
	return 0;
}

SIPPRES_EXPORT void sippres_ctx_free(struct sippres_ctx *ctx)
{
	if (!ctx)
		return;
	teardown(ctx, NLAYERS);
	sippres__repl_free(ctx);
	ctx->alloc.free(ctx->alloc.user_data, ctx);
}
