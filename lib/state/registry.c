/* SPDX-License-Identifier: MIT */
/* The state registry's lifecycle, and the hook through which the layer above
 * hears of hint events. */
#include <string.h>

#include "registry-private.h"

void sippres__registry_set_hint_hook(struct sippres_ctx *ctx, sippres__hint_hook *fn)
{
	ctx->reg->hint_hook = fn;
}

void sippres__registry_set_device_hook(struct sippres_ctx *ctx, sippres__device_hook *fn)
{
	ctx->reg->device_hook = fn;
}

int sippres__registry_new(struct sippres_ctx *ctx)
{
	struct sippres__registry *reg = sippres__calloc(ctx, 1, sizeof(*reg));

	if (!reg)
		return SIPPRES_E_NOMEM;
	if (SIPPRES__SMAP_INIT(ctx, &reg->contexts, 8, struct sippres__context, node, name, false) < 0)
		goto fail;
	if (SIPPRES__SMAP_INIT(ctx, &reg->devices, 64, struct sippres__source, node, name, true) < 0)
		goto fail;
	if (SIPPRES__SMAP_INIT(ctx, &reg->providers, 16, struct sippres__source, node, name, true) < 0)
		goto fail;
	ctx->reg = reg;
	return 0;
fail:
	sippres__map_fini(ctx, &reg->devices);
	sippres__map_fini(ctx, &reg->contexts);
	sippres__free(ctx, reg);
	return SIPPRES_E_NOMEM;
}

void sippres__registry_free(struct sippres_ctx *ctx)
{
	struct sippres__registry *reg = ctx->reg;

	if (!reg)
		return;
	sippres__watch_sweep(ctx);
	sippres__hints_free(ctx);
	sippres__sources_free(ctx, &reg->devices);
	sippres__sources_free(ctx, &reg->providers);
	sippres__origins_free(ctx);
	for (int i = 0; i < SCRATCH_COUNT; i++)
		sippres__free(ctx, reg->scratch[i]);
	sippres__free(ctx, reg);
	ctx->reg = NULL;
}
