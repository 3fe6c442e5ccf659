/* SPDX-License-Identifier: MIT */
/* Devices and presence providers (the sources hints name), their states, and
 * the calls of a device. A state change costs O(hints naming the source). */
#include <string.h>

#include "registry-private.h"

struct sippres__source *sippres__source_find(struct sippres__map *m, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(m, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__source, node) : NULL;
}

struct sippres__source *sippres__source_get(struct sippres_ctx *ctx, struct sippres__map *m, const char *name,
                                            size_t len)
{
	struct sippres__source *s;
	char *copy = sippres__strndup(ctx, name, len);

	if (!copy)
		return NULL;
	s = sippres__source_find(m, copy);
	if (s) {
		sippres__free(ctx, copy);
		return s;
	}
	s = sippres__calloc(ctx, 1, sizeof(*s));
	if (!s) {
		sippres__free(ctx, copy);
		return NULL;
	}
	s->name = copy;
	s->state = SIPPRES_DEVICE_UNKNOWN; /* == SIPPRES_PRESENCE_NOT_SET */
	sippres__smap_insert(ctx, m, &s->node);
	return s;
}

static void source_destroy(struct sippres_ctx *ctx, struct sippres__source *s)
{
	struct sippres__dnode *n = s->calls.head;

	while (n) {
		struct sippres__dnode *next = n->next;
		sippres__free(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__call, node));
		n = next;
	}
	if (s->views) {
		sippres__views_free(ctx, s); /* frees the subtype and message (views own them) */
	} else {
		sippres__free(ctx, s->subtype);
		sippres__free(ctx, s->message);
	}
	sippres__free(ctx, s->name);
	sippres__free(ctx, s);
}

void sippres__source_gc(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__source *s)
{
	if (s->is_set || s->nrefs || s->npending || s->calls.head)
		return;
	sippres__map_remove(m, &s->node);
	source_destroy(ctx, s);
}

static void source_destroy_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	source_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__source, node));
}

void sippres__sources_free(struct sippres_ctx *ctx, struct sippres__map *m)
{
	sippres__map_drain(ctx, m, source_destroy_node);
}

#define SOURCE_REF(n) SIPPRES__CONTAINER_OF((n), struct sippres__ref, node)

/* ------------------------------------------------------------------ state */

SIPPRES_EXPORT int sippres_device_state_set(struct sippres_ctx *ctx, const char *device, int state)
{
	return sippres__device_state_apply(ctx, device, state, 0);
}

bool sippres__hint_event_calls_only(const struct sippres_ctx *ctx)
{
	return ctx->reg->calls_only;
}

bool sippres__source_local(const struct sippres__source *s, int *state, bool *ast)
{
	const struct sippres__view *v = s->views ? &s->views->v[0] : NULL;

	if (v) {
		*state = v->set ? v->state : SIPPRES_DEVICE_UNKNOWN;
		*ast = v->ast;
		return v->set;
	}
	*state = s->is_set ? s->state : SIPPRES_DEVICE_UNKNOWN;
	*ast = s->remote;
	return s->is_set;
}

void sippres__device_dispatch(struct sippres_ctx *ctx, struct sippres__source *d, uint32_t flags)
{
	for (struct sippres__dnode *n = d->refs.head; n; n = n->next) {
		struct sippres__hint *h = SOURCE_REF(n)->hint;
		int32_t was = h->exten_state;

		sippres__hint_compute_devices(h);
		/* Asterisk re-notifies a ringing state even when unchanged, so a new
		 * ringing call reaches the watchers with its caller. */
		if (was != h->exten_state || (!(flags & SIPPRES__DEV_QUIET) && (h->exten_state & SIPPRES_EXTEN_RINGING))) {
			sippres__hint_dispatch(ctx, h, SIPPRES_REASON_DEVICE);
		} else if (flags & SIPPRES__DEV_CALLS_CHANGED) {
			ctx->reg->calls_only = true;
			sippres__hint_dispatch(ctx, h, SIPPRES_REASON_DEVICE);
			ctx->reg->calls_only = false;
		}
	}
}

int sippres__device_state_apply(struct sippres_ctx *ctx, const char *device, int state, uint32_t flags)
{
	bool remote = flags & SIPPRES__DEV_REMOTE, ast;
	struct sippres__source *d;
	int old, r;
	size_t bad;

	if (!ctx || !device || state < 0 || state >= SIPPRES_DEVICE_STATE_COUNT)
		return SIPPRES_E_INVAL;
	if (!sippres__device_name_ok(device, strlen(device), &bad))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	d = sippres__source_get(ctx, &ctx->reg->devices, device, strlen(device));
	if (!d)
		return SIPPRES_E_NOMEM;
	r = ctx->reg->autohint_ctxs ? sippres__autohints_for(ctx, d) : 0;
	if (r == 0 && sippres__repl_on(ctx))
		r = sippres__views_prepare_device(ctx, d);
	if (r < 0) {
		sippres__source_gc(ctx, &ctx->reg->devices, d);
		return r;
	}
	sippres__source_local(d, &old, &ast);
	if (d->views) {
		sippres__views_set_device(ctx, d, state, remote);
	} else {
		d->state = state;
		d->is_set = true;
		d->remote = remote;
	}
	if (sippres__repl_on(ctx))
		sippres__views_emit_device(ctx, d, flags);
	sippres__device_dispatch(ctx, d, flags);
	if (old != state && ctx->reg->device_hook)
		ctx->reg->device_hook(ctx, d->name, old, state, remote);
	return 0;
}

int sippres__local_devices_foreach(struct sippres_ctx *ctx, int (*fn)(void *arg, const char *device, int state),
                             void *arg)
{
	struct sippres__map *m = &ctx->reg->devices;
	int n = 0;

	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct sippres__hnode *e = m->buckets[i]; e; e = e->next) {
			struct sippres__source *d = SIPPRES__CONTAINER_OF(e, struct sippres__source, node);
			int state;
			bool ast;

			if (!sippres__source_local(d, &state, &ast) || ast)
				continue;
			n++;
			if (fn(arg, d->name, state) < 0)
				return n;
		}
	}
	return n;
}

SIPPRES_EXPORT int sippres_device_state_get(struct sippres_ctx *ctx, const char *device)
{
	struct sippres__source *d;
	size_t bad;

	if (!ctx || !device || !sippres__device_name_ok(device, strlen(device), &bad))
		return SIPPRES_E_INVAL;
	d = sippres__source_find(&ctx->reg->devices, device);
	return d ? d->state : SIPPRES_DEVICE_UNKNOWN;
}

static int dup_optional(struct sippres_ctx *ctx, const char *s, char **out)
{
	size_t n;

	*out = NULL;
	if (!s || !*s)
		return 0;
	n = strnlen(s, SIPPRES_MAX_TEXT + 1);
	if (n > SIPPRES_MAX_TEXT)
		return SIPPRES_E_TOOBIG;
	*out = sippres__strndup(ctx, s, n);
	return *out ? 0 : SIPPRES_E_NOMEM;
}

void sippres__provider_dispatch(struct sippres_ctx *ctx, struct sippres__source *p, const char *old_sub,
                                const char *old_msg)
{
	for (struct sippres__dnode *n = p->refs.head; n; n = n->next) {
		struct sippres__hint *h = SOURCE_REF(n)->hint;
		int32_t ost = h->presence_state;
		const char *osub = h->pres_winner == p ? old_sub : (h->pres_winner ? h->pres_winner->subtype : NULL);
		const char *omsg = h->pres_winner == p ? old_msg : (h->pres_winner ? h->pres_winner->message : NULL);

		h->pres_winner = sippres__hint_presence_winner(h);
		h->presence_state = h->pres_winner->state;
		if (ost != h->presence_state || !sippres__str_same(osub, h->pres_winner->subtype) ||
		    !sippres__str_same(omsg, h->pres_winner->message))
			sippres__hint_dispatch(ctx, h, SIPPRES_REASON_PRESENCE);
	}
}

SIPPRES_EXPORT int sippres_presence_state_set(struct sippres_ctx *ctx, const char *provider, int state,
                                              const char *subtype, const char *message)
{
	struct sippres__source *p;
	char *sub, *msg, *old_sub, *old_msg;
	size_t bad;
	int r;

	if (!ctx || !provider || state < 0 || state >= SIPPRES_PRESENCE_STATE_COUNT)
		return SIPPRES_E_INVAL;
	if (!sippres__device_name_ok(provider, strlen(provider), &bad))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	r = dup_optional(ctx, subtype, &sub);
	if (r < 0)
		return r;
	r = dup_optional(ctx, message, &msg);
	if (r < 0) {
		sippres__free(ctx, sub);
		return r;
	}
	p = sippres__source_get(ctx, &ctx->reg->providers, provider, strlen(provider));
	r = p ? 0 : SIPPRES_E_NOMEM;
	if (r == 0 && sippres__repl_on(ctx)) {
		r = sippres__views_prepare_provider(ctx, p, sub, msg);
		if (r < 0)
			sippres__source_gc(ctx, &ctx->reg->providers, p);
	}
	if (r < 0) {
		sippres__free(ctx, sub);
		sippres__free(ctx, msg);
		return r;
	}
	if (p->views) {
		/* the effective strings are the winning view's; ours are freed after the dispatch */
		const char *esub = p->subtype, *emsg = p->message;

		sippres__views_set_provider(ctx, p, state, sub, msg, &old_sub, &old_msg);
		if (sippres__repl_on(ctx))
			sippres__views_emit_provider(ctx, p);
		sippres__provider_dispatch(ctx, p, esub, emsg);
	} else {
		old_sub = p->subtype;
		old_msg = p->message;
		p->subtype = sub;
		p->message = msg;
		p->state = state;
		p->is_set = true;
		sippres__provider_dispatch(ctx, p, old_sub, old_msg);
	}
	sippres__free(ctx, old_sub);
	sippres__free(ctx, old_msg);
	return 0;
}

/* ------------------------------------------------------------------ calls */

int sippres__call_pack(struct sippres_ctx *ctx, const struct sippres_call *in, struct sippres__call **ret)
{
	const char *const *fields[] = {&in->call_id, &in->local_tag, &in->remote_tag, &in->local_uri,
	                               &in->local_display, &in->remote_uri, &in->remote_display};
	const char **outf[7];
	size_t lens[7], total = sizeof(struct sippres__call);
	struct sippres__call *c;
	char *w;

	for (size_t i = 0; i < 7; i++) {
		lens[i] = *fields[i] ? strnlen(*fields[i], SIPPRES_MAX_TEXT + 1) : 0;
		if (lens[i] > SIPPRES_MAX_TEXT)
			return SIPPRES_E_TOOBIG;
		if (*fields[i])
			total += lens[i] + 1;
	}
	c = sippres__malloc(ctx, total);
	if (!c)
		return SIPPRES_E_NOMEM;
	memset(c, 0, sizeof(*c));
	c->pub.size = sizeof(c->pub);
	c->pub.state = in->state;
	c->pub.direction = in->direction;
	c->pub.flags = in->flags;
	outf[0] = &c->pub.call_id;
	outf[1] = &c->pub.local_tag;
	outf[2] = &c->pub.remote_tag;
	outf[3] = &c->pub.local_uri;
	outf[4] = &c->pub.local_display;
	outf[5] = &c->pub.remote_uri;
	outf[6] = &c->pub.remote_display;
	w = (char *)(c + 1);
	for (size_t i = 0; i < 7; i++) {
		if (!*fields[i])
			continue;
		memcpy(w, *fields[i], lens[i]);
		w[lens[i]] = '\0';
		*outf[i] = w;
		w += lens[i] + 1;
	}
	*ret = c;
	return 0;
}

static struct sippres__call *call_find(struct sippres__source *d, const char *call_id)
{
	for (struct sippres__dnode *n = d->calls.head; n; n = n->next) {
		struct sippres__call *c = SIPPRES__CONTAINER_OF(n, struct sippres__call, node);

		if (!c->origin && strcmp(c->pub.call_id, call_id) == 0)
			return c; /* the host's own calls only: another node's come and go with its view */
	}
	return NULL;
}

SIPPRES_EXPORT int sippres_call_set(struct sippres_ctx *ctx, const char *device, const struct sippres_call *call)
{
	struct sippres__source *d;
	struct sippres__call *c, *old;
	size_t bad;
	int r;

	if (!ctx || !device || !call)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(call, SIPPRES__CALL_V1_SIZE, sizeof(*call));
	if (r < 0)
		return r;
	if (!sippres__name_ok(call->call_id) || call->state > SIPPRES_CALL_TERMINATED ||
	    call->direction > SIPPRES_DIRECTION_INITIATOR ||
	    (call->flags & ~(SIPPRES_CALL_NAME_RESTRICTED | SIPPRES_CALL_NUMBER_RESTRICTED)))
		return SIPPRES_E_INVAL;
	if (!sippres__device_name_ok(device, strlen(device), &bad))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	if (call->state == SIPPRES_CALL_TERMINATED) {
		r = sippres_call_clear(ctx, device, call->call_id);
		return r == SIPPRES_E_NOTFOUND ? 0 : r;
	}
	r = sippres__call_pack(ctx, call, &c);
	if (r < 0)
		return r;
	d = sippres__source_get(ctx, &ctx->reg->devices, device, strlen(device));
	if (!d) {
		sippres__free(ctx, c);
		return SIPPRES_E_NOMEM;
	}
	old = call_find(d, call->call_id);
	if (old) {
		/* keep the call's age and place */
		c->seq = old->seq;
		sippres__dlist_replace(&d->calls, &old->node, &c->node);
		sippres__free(ctx, old);
	} else {
		c->seq = ++ctx->reg->call_seq;
		sippres__dlist_append(&d->calls, &c->node);
	}
	return 0;
}

SIPPRES_EXPORT int sippres_call_clear(struct sippres_ctx *ctx, const char *device, const char *call_id)
{
	struct sippres__source *d;
	struct sippres__call *c;
	size_t bad;

	if (!ctx || !device || !sippres__name_ok(call_id) || !sippres__device_name_ok(device, strlen(device), &bad))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	d = sippres__source_find(&ctx->reg->devices, device);
	c = d ? call_find(d, call_id) : NULL;
	if (!c)
		return SIPPRES_E_NOTFOUND;
	sippres__dlist_remove(&d->calls, &c->node);
	sippres__free(ctx, c);
	sippres__source_gc(ctx, &ctx->reg->devices, d);
	return 0;
}
