/* SPDX-License-Identifier: MIT */
/* Endpoints: who subscribes, with the options that shape their answers and
 * bodies. Replacing an endpoint keeps its subscriptions. */
#include <string.h>

#include "subs-private.h"

struct sippres__endpoint *sippres__endpoint_find(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->subs->endpoints, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__endpoint, node) : NULL;
}

static void endpoint_destroy(struct sippres_ctx *ctx, struct sippres__endpoint *e)
{
	sippres__free(ctx, e->name);
	sippres__free(ctx, e->context);
	sippres__free(ctx, e->sub_context);
	sippres__free(ctx, e->auth);
	sippres__free(ctx, e);
}

static void endpoint_destroy_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	endpoint_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__endpoint, node));
}

void sippres__endpoints_free(struct sippres_ctx *ctx)
{
	sippres__map_drain(ctx, &ctx->subs->endpoints, endpoint_destroy_node);
}

#define ENDPOINT_V1_SIZE (offsetof(struct sippres_endpoint, max_notify_size) + sizeof(uint32_t))

SIPPRES_EXPORT int sippres_endpoint_set(struct sippres_ctx *ctx, const char *name, const struct sippres_endpoint *ep)
{
	struct sippres__endpoint *e, *old;
	const char *context, *sub_context, *auth = NULL;
	int r, n_auth;

	if (!ctx || !sippres__name_ok(name) || !ep)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(ep, ENDPOINT_V1_SIZE, sizeof(*ep));
	if (r < 0)
		return r;
	context = ep->context && ep->context[0] ? ep->context : "default";
	sub_context = ep->subscribe_context && ep->subscribe_context[0] ? ep->subscribe_context : context;
	if (!sippres__name_ok(context) || !sippres__name_ok(sub_context) || ep->profile > SIPPRES_PROFILE_ASTERISK ||
	    (ep->flags & ~(SIPPRES_ENDPOINT_DENY_SUBSCRIBE | SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING)))
		return SIPPRES_E_INVAL;
	if (ep->size > offsetof(struct sippres_endpoint, auth))
		auth = ep->auth;
	n_auth = sippres__auth_list_check(auth);
	if (n_auth < 0)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	e = sippres__calloc(ctx, 1, sizeof(*e));
	if (!e)
		return SIPPRES_E_NOMEM;
	e->name = sippres__strdup(ctx, name);
	e->context = sippres__strdup(ctx, context);
	e->sub_context = sippres__strdup(ctx, sub_context);
	if (n_auth > 0)
		e->auth = sippres__strdup(ctx, auth);
	if (!e->name || !e->context || !e->sub_context || (n_auth > 0 && !e->auth)) {
		endpoint_destroy(ctx, e);
		return SIPPRES_E_NOMEM;
	}
	memcpy(&e->opts, ep, ENDPOINT_V1_SIZE);
	e->opts.size = sizeof(e->opts);
	e->opts.context = e->context;
	e->opts.subscribe_context = e->sub_context;
	e->opts.auth = e->auth;
	if (e->opts.max_expiry == 0)
		e->opts.max_expiry = SIPPRES__DEFAULT_EXPIRY;
	if (e->opts.default_expiry == 0)
		e->opts.default_expiry = SIPPRES__DEFAULT_EXPIRY;
	old = sippres__endpoint_find(ctx, name);
	if (old) {
		/* keep the object the subscriptions point to; swap its contents */
		struct sippres__endpoint tmp = *old;

		old->context = e->context;
		old->sub_context = e->sub_context;
		old->auth = e->auth;
		old->opts = e->opts;
		e->context = tmp.context;
		e->sub_context = tmp.sub_context;
		e->auth = tmp.auth;
		endpoint_destroy(ctx, e);
		return 1;
	}
	sippres__smap_insert(ctx, &ctx->subs->endpoints, &e->node);
	return 0;
}

SIPPRES_EXPORT int sippres_endpoint_remove(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__endpoint *e;
	struct sippres__dnode *n, *next;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	e = sippres__endpoint_find(ctx, name);
	if (!e)
		return SIPPRES_E_NOTFOUND;
	for (n = ctx->subs->all.head; n && e->nsubs; n = next) {
		struct sippres_sub *s = SIPPRES__SUB_OF(n);

		next = n->next;
		if (s->ep != e)
			continue;
		if (s->queued == SQ_DROP)
			sippres__sub_end(ctx, s);
		else
			sippres__sub_finish(ctx, s, NULL, SF_DEACTIVATED);
		/* finish may free the next subscription only if it is s itself */
	}
	sippres__map_remove(&ctx->subs->endpoints, &e->node);
	endpoint_destroy(ctx, e);
	return 0;
}
