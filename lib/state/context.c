/* SPDX-License-Identifier: MIT */
/* Dialplan contexts: the registry of contexts, their `include =>` lists and
 * autohints settings, and the hint lookup that follows includes in
 * Asterisk's search order (the hints themselves are in hint.c). */
#include <string.h>

#include "registry-private.h"

struct sippres__context *sippres__context_find(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->reg->contexts, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__context, node) : NULL;
}

struct sippres__context *sippres__context_get(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__context *c = sippres__context_find(ctx, name);

	if (c)
		return c;
	c = sippres__calloc(ctx, 1, sizeof(*c));
	if (!c)
		return NULL;
	c->name = sippres__strdup(ctx, name);
	if (!c->name || sippres__htab_init(ctx, &c->hints, 16) < 0) {
		sippres__free(ctx, c->name);
		sippres__free(ctx, c);
		return NULL;
	}
	sippres__smap_insert(ctx, &ctx->reg->contexts, &c->node);
	return c;
}

void sippres__includes_free(struct sippres_ctx *ctx, char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sippres__free(ctx, v[i]);
	sippres__free(ctx, v);
}

void sippres__context_gc(struct sippres_ctx *ctx, struct sippres__context *c)
{
	if (c->nhints || c->nincludes || c->autohints_max)
		return;
	sippres__map_remove(&ctx->reg->contexts, &c->node);
	sippres__htab_fini(ctx, &c->hints);
	sippres__free(ctx, c->name);
	sippres__free(ctx, c);
}

/* Find the hint for (context, exten), instantiating a pattern hint if needed.
 * Asterisk's search order (pbx_find_extension): the context's own hints, then
 * each included context in the order of its includes, depth first; a context
 * is searched once per lookup, and at most SIPPRES_MAX_INCLUDE_SEARCH are. */
int sippres__hint_lookup(struct sippres_ctx *ctx, const char *context, const char *exten, struct sippres__hint **ret)
{
	if (!sippres__name_ok(context) || !sippres__name_ok(exten))
		return SIPPRES_E_INVAL;
	return sippres__hint_lookup_names_ok(ctx, context, exten, ret);
}

void sippres__hint_ahead_start(struct sippres_ctx *ctx, const char *context, const char *exten,
                               struct sippres__hint_ahead *a)
{
	struct sippres__context *c = sippres__context_find(ctx, context);

	a->hints = c ? &c->hints : NULL;
	if (!c)
		return;
	a->hash = sippres__hint_hash(ctx, exten);
	sippres__htab_prefetch(a->hints, a->hash);
}

void sippres__hint_ahead_next(const struct sippres__hint_ahead *a)
{
#if defined(__GNUC__) || defined(__clang__)
	const struct sippres__hint *h = a->hints ? sippres__htab_peek(a->hints, a->hash) : NULL;

	if (!h)
		return;
	/* the first line may straddle two (blocks are 16-byte aligned); the
	 * links are written when a subscription joins */
	__builtin_prefetch(h, 1);
	__builtin_prefetch((const char *)h + 63, 1);
	__builtin_prefetch(h + 1); /* the name: hint_alloc() puts it there */
#else
	(void)a;
#endif
}

int sippres__hint_lookup_names_ok(struct sippres_ctx *ctx, const char *context, const char *exten,
                                  struct sippres__hint **ret)
{
	struct {
		struct sippres__context *c;
		size_t next; /* the next of c's includes to follow */
	} stack[SIPPRES_MAX_INCLUDE_SEARCH];
	struct sippres__context *c;
	size_t depth = 0, searched = 1;
	uint64_t mark;
	int r;

	c = sippres__context_find(ctx, context);
	if (!c || exten[0] == '_')
		return SIPPRES_E_NOTFOUND;
	r = sippres__hint_lookup_own(ctx, c, exten, ret);
	if (r <= 0 || !c->nincludes)
		return r < 0 ? r : r ? SIPPRES_E_NOTFOUND : 0;
	mark = ++ctx->reg->visit_seq;
	c->visit = mark;
	stack[depth].c = c;
	stack[depth++].next = 0;
	while (depth) {
		struct sippres__context *top = stack[depth - 1].c, *n;

		if (stack[depth - 1].next == top->nincludes) {
			depth--;
			continue;
		}
		n = sippres__context_find(ctx, top->includes[stack[depth - 1].next++]);
		if (!n || n->visit == mark)
			continue; /* not defined, a loop or a repeat */
		if (searched == SIPPRES_MAX_INCLUDE_SEARCH) {
			sippres__log(ctx, SIPPRES_LOG_INFO, "looking up %s@%s: more than %d contexts through includes",
			             exten, context, SIPPRES_MAX_INCLUDE_SEARCH);
			break;
		}
		searched++;
		n->visit = mark;
		r = sippres__hint_lookup_own(ctx, n, exten, ret);
		if (r <= 0)
			return r;
		stack[depth].c = n; /* depth < searched <= SIPPRES_MAX_INCLUDE_SEARCH */
		stack[depth++].next = 0;
	}
	return SIPPRES_E_NOTFOUND;
}

SIPPRES_EXPORT int sippres_context_include_set(struct sippres_ctx *ctx, const char *context,
                                               const char *const *includes, size_t n)
{
	struct sippres__context *c;
	char **v = NULL;

	if (!ctx || !sippres__name_ok(context) || (n && !includes))
		return SIPPRES_E_INVAL;
	for (size_t i = 0; i < n; i++) {
		if (!sippres__name_ok(includes[i]))
			return SIPPRES_E_INVAL;
	}
	if (n > SIPPRES_MAX_INCLUDES)
		return SIPPRES_E_TOOBIG;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	c = sippres__context_find(ctx, context);
	if (!c && n == 0)
		return 0;
	if (n) {
		v = sippres__calloc(ctx, n, sizeof(*v));
		if (!v)
			return SIPPRES_E_NOMEM;
		for (size_t i = 0; i < n; i++) {
			v[i] = sippres__strdup(ctx, includes[i]);
			if (!v[i]) {
				sippres__includes_free(ctx, v, i);
				return SIPPRES_E_NOMEM;
			}
		}
		c = c ? c : sippres__context_get(ctx, context);
		if (!c) {
			sippres__includes_free(ctx, v, n);
			return SIPPRES_E_NOMEM;
		}
	}
	sippres__includes_free(ctx, c->includes, c->nincludes);
	c->includes = v;
	c->nincludes = n;
	sippres__context_gc(ctx, c);
	return 0;
}

SIPPRES_EXPORT int sippres_context_autohints_set(struct sippres_ctx *ctx, const char *context, size_t max_hints)
{
	struct sippres__context *c, **pp;

	if (!ctx || !sippres__name_ok(context))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	c = sippres__context_find(ctx, context);
	if (!c && !max_hints)
		return 0;
	c = c ? c : sippres__context_get(ctx, context);
	if (!c)
		return SIPPRES_E_NOMEM;
	if (!c->autohints_max && max_hints) {
		c->auto_next = ctx->reg->autohint_ctxs;
		ctx->reg->autohint_ctxs = c;
	} else if (c->autohints_max && !max_hints) {
		for (pp = &ctx->reg->autohint_ctxs; *pp != c; pp = &(*pp)->auto_next)
			;
		*pp = c->auto_next;
		c->auto_next = NULL;
	}
	c->autohints_max = max_hints;
	sippres__context_gc(ctx, c);
	return 0;
}

SIPPRES_EXPORT int sippres_context_include_foreach(struct sippres_ctx *ctx,
                                                   int (*fn)(void *user_data, const char *context,
                                                             const char *const *includes, size_t n),
                                                   void *user_data)
{
	int count = 0;

	if (!ctx || !fn)
		return SIPPRES_E_INVAL;
	ctx->in_callback++;
	for (size_t b = 0; b < ctx->reg->contexts.nbuckets; b++) {
		for (struct sippres__hnode *x = ctx->reg->contexts.buckets[b]; x; x = x->next) {
			struct sippres__context *c = SIPPRES__CONTAINER_OF(x, struct sippres__context, node);

			if (!c->nincludes)
				continue;
			count++;
			if (fn(user_data, c->name, (const char *const *)c->includes, c->nincludes) < 0)
				goto out;
		}
	}
out:
	ctx->in_callback--;
	if (ctx->in_callback == 0)
		sippres__watch_sweep(ctx);
	return count;
}

static void context_destroy_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	struct sippres__context *c = SIPPRES__CONTAINER_OF(n, struct sippres__context, node);

	sippres__includes_free(ctx, c->includes, c->nincludes);
	sippres__htab_fini(ctx, &c->hints);
	sippres__free(ctx, c->name);
	sippres__free(ctx, c);
}

void sippres__contexts_free(struct sippres_ctx *ctx)
{
	sippres__map_drain(ctx, &ctx->reg->contexts, context_destroy_node);
}
