/* SPDX-License-Identifier: MIT */
/* Replication's core: this node's origin id, its Lamport clock, and the
 * change handed to the replicate callback. The layers above encode their
 * own messages (state/views-msg.c) and records (subs, publish) and hand them
 * over here. docs/cluster.md. */
#include <string.h>

#include "core-private.h"

bool sippres__origin_ok(const char *s, size_t len)
{
	if (len == 0 || len > SIPPRES_MAX_ORIGIN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_' || c == ':'))
			return false;
	}
	return true;
}

uint64_t sippres__repl_tick(struct sippres_ctx *ctx)
{
	return ++ctx->repl->seq;
}

void sippres__repl_seen(struct sippres_ctx *ctx, uint64_t seq)
{
	/* Lamport: every number this node uses from now on is above seq */
	if (ctx->repl && seq > ctx->repl->seq && seq < UINT64_MAX)
		ctx->repl->seq = seq;
}

int sippres__repl_reserve(struct sippres_ctx *ctx, size_t n)
{
	struct sippres__repl *r = ctx->repl;
	uint8_t *b;

	if (n <= r->cap)
		return 0;
	b = sippres__realloc(ctx, r->buf, n);
	if (!b)
		return SIPPRES_E_NOMEM;
	r->buf = b;
	r->cap = n;
	return 0;
}

void sippres__repl_emit(struct sippres_ctx *ctx, uint32_t kind, bool removed, const char *key, uint64_t seq,
                        const void *data, size_t len)
{
	struct sippres_repl_change c = {
		.size = sizeof(c), .kind = kind, .removed = removed, .origin = ctx->repl->origin, .seq = seq,
		.key = key, .data = removed ? NULL : data, .len = removed ? 0 : len,
	};

	ctx->in_callback++;
	ctx->cb.replicate(ctx->user_data, &c);
	ctx->in_callback--;
}

void sippres__repl_record(struct sippres_ctx *ctx, uint32_t kind, const char *a, const char *b, const void *data,
                          size_t len)
{
	struct sippres__repl *r = ctx->repl;
	size_t la = strlen(a), lb = b ? strlen(b) : 0, need = la + (b ? 1 + lb : 0) + 1;

	if (need > r->key_cap) {
		char *k = sippres__realloc(ctx, r->key, need);

		if (!k) {
			sippres__log(ctx, SIPPRES_LOG_WARNING, "out of memory: the record of %s not replicated", a);
			return;
		}
		r->key = k;
		r->key_cap = need;
	}
	memcpy(r->key, a, la);
	if (b) {
		r->key[la] = ' ';
		memcpy(r->key + la + 1, b, lb);
	}
	r->key[need - 1] = '\0';
	sippres__repl_emit(ctx, kind, data == NULL, r->key, sippres__repl_tick(ctx), data, len);
}

SIPPRES_EXPORT int sippres_repl_start(struct sippres_ctx *ctx, const char *origin, uint64_t seq_floor)
{
	size_t n;

	if (!ctx || !origin)
		return SIPPRES_E_INVAL;
	n = strlen(origin);
	if (!sippres__origin_ok(origin, n) || seq_floor == UINT64_MAX)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	if (!ctx->repl) {
		ctx->repl = sippres__calloc(ctx, 1, sizeof(*ctx->repl));
		if (!ctx->repl)
			return SIPPRES_E_NOMEM;
	}
	memcpy(ctx->repl->origin, origin, n + 1);
	if (seq_floor > ctx->repl->seq)
		ctx->repl->seq = seq_floor;
	return 0;
}

void sippres__repl_free(struct sippres_ctx *ctx)
{
	if (!ctx->repl)
		return;
	sippres__free(ctx, ctx->repl->buf);
	sippres__free(ctx, ctx->repl->key);
	sippres__free(ctx, ctx->repl);
	ctx->repl = NULL;
}
