/* SPDX-License-Identifier: MIT */
/* What a hint's state is (struct sippres_exten_status), and telling it: the
 * host's watches, then the hint hook of the layer above. */
#include <string.h>

#include "registry-private.h"

int sippres__status_reserve(struct sippres_ctx *ctx, size_t n)
{
	struct sippres__registry *reg = ctx->reg;

	if (n <= reg->scratch_cap)
		return 0;
	for (int i = 0; i < SCRATCH_COUNT; i++) {
		void *p = sippres__reallocarray(ctx, reg->scratch[i], n, sizeof(*reg->scratch[i]));
		if (!p)
			return SIPPRES_E_NOMEM; /* the arrays already grown stay grown: harmless */
		reg->scratch[i] = p;
	}
	reg->scratch_cap = n;
	return 0;
}

#define CALL_OF(n) (&SIPPRES__CONTAINER_OF((n), struct sippres__call, node)->pub)

static const struct sippres_call *device_causing_call(const struct sippres__source *d)
{
	const struct sippres__dnode *n;
	const struct sippres_call *any = NULL;

	switch (d->state) {
	case SIPPRES_DEVICE_RINGING:
	case SIPPRES_DEVICE_RINGINUSE:
		/* the oldest ringing call, preferring calls to the device (pickup) */
		for (n = d->calls.head; n; n = n->next) {
			const struct sippres_call *c = CALL_OF(n);

			if (c->state != SIPPRES_CALL_EARLY)
				continue;
			if (c->direction == SIPPRES_DIRECTION_RECIPIENT)
				return c;
			if (!any)
				any = c;
		}
		return any;
	case SIPPRES_DEVICE_ONHOLD:
		for (n = d->calls.head; n; n = n->next) {
			if (CALL_OF(n)->state == SIPPRES_CALL_HELD)
				return CALL_OF(n);
		}
		SIPPRES__FALLTHROUGH;
	case SIPPRES_DEVICE_INUSE:
	case SIPPRES_DEVICE_BUSY:
		for (n = d->calls.head; n; n = n->next) {
			const struct sippres_call *c = CALL_OF(n);

			if (c->state == SIPPRES_CALL_CONFIRMED || c->state == SIPPRES_CALL_HELD)
				return c;
			if (!any)
				any = c;
		}
		return any;
	default:
		return NULL;
	}
}

static void fill_status(struct sippres_ctx *ctx, const struct sippres__hint *h, uint32_t reason, int slot,
                        struct sippres_exten_status *st)
{
	struct sippres_device_info *di = ctx->reg->scratch[slot];
	const struct sippres_call *ring = NULL, *first = NULL;
	uint64_t ring_seq = UINT64_MAX;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->context = h->cx->name;
	st->exten = h->exten;
	st->value = h->body.value;
	st->display_name = h->body.display;
	st->reason = reason;
	st->is_pattern = h->is_pattern;
	st->is_autohint = h->autohint;
	st->presence_subtype = "";
	st->presence_message = "";
	if (reason == SIPPRES_REASON_REMOVED) {
		st->exten_state = SIPPRES_EXTEN_REMOVED;
		st->device_state = SIPPRES_DEVICE_INVALID;
		return;
	}
	if (h->is_pattern) {
		st->exten_state = SIPPRES_EXTEN_DEACTIVATED;
		st->device_state = SIPPRES_DEVICE_INVALID;
		return;
	}
	st->exten_state = h->exten_state;
	st->device_state = h->device_state;
	st->presence_state = (uint32_t)h->presence_state;
	if (h->pres_winner) {
		if (h->pres_winner->subtype)
			st->presence_subtype = h->pres_winner->subtype;
		if (h->pres_winner->message)
			st->presence_message = h->pres_winner->message;
	}
	for (size_t i = 0; i < h->body.ndevs; i++) {
		const struct sippres__source *d = h->body.devs[i].src;
		const struct sippres_call *c = device_causing_call(d);

		di[i].name = d->name;
		di[i].state = d->state;
		di[i].causing_call = c;
		if (!c)
			continue;
		if (!first)
			first = c;
		if ((d->state == SIPPRES_DEVICE_RINGING || d->state == SIPPRES_DEVICE_RINGINUSE) &&
		    c->state == SIPPRES_CALL_EARLY) {
			const struct sippres__call *sc = SIPPRES__CONTAINER_OF(c, const struct sippres__call, pub);
			if (sc->seq < ring_seq) {
				ring_seq = sc->seq;
				ring = c;
			}
		}
	}
	st->devices = h->body.ndevs ? di : NULL;
	st->n_devices = h->body.ndevs;
	st->causing_call = ring ? ring : first;
}

void sippres__watch_sweep(struct sippres_ctx *ctx)
{
	struct sippres_watch *w = ctx->reg->graveyard;

	ctx->reg->graveyard = NULL;
	while (w) {
		struct sippres_watch *next = w->grave_next;
		sippres__free(ctx, w);
		w = next;
	}
}

void sippres__hint_watches_free(struct sippres_ctx *ctx, struct sippres__hint *h)
{
	struct sippres__dnode *n = h->watches.head;

	while (n) {
		struct sippres__dnode *next = n->next;
		sippres__free(ctx, SIPPRES__CONTAINER_OF(n, struct sippres_watch, node));
		n = next;
	}
	h->watches.head = h->watches.tail = NULL;
}

/* Watches removed meanwhile are skipped; their memory lives until the
 * outermost dispatch ends (a removed watch keeps its next pointer, so the
 * walk standing on it goes on). */
void sippres__hint_dispatch(struct sippres_ctx *ctx, struct sippres__hint *h, uint32_t reason)
{
	struct sippres_exten_status st;
	sippres__hint_hook *hook = ctx->reg->hint_hook;

	if (!h->watches.head && !(h->links.head && hook))
		return;
	fill_status(ctx, h, reason, SCRATCH_DISPATCH, &st);
	ctx->in_callback++;
	for (struct sippres__dnode *n = h->watches.head; n; n = n->next) {
		struct sippres_watch *w = SIPPRES__CONTAINER_OF(n, struct sippres_watch, node);

		/* the public watchers are told of state changes (a change of calls
		 * alone is for the subscriptions' dialog-info) */
		if (!w->dead && !ctx->reg->calls_only)
			w->fn(w->user_data, &st);
	}
	ctx->in_callback--;
	if (h->links.head && hook)
		hook(ctx, h, &st);
	if (ctx->in_callback == 0)
		sippres__watch_sweep(ctx);
}

void sippres__hint_status(struct sippres_ctx *ctx, const struct sippres__hint *h, struct sippres_exten_status *st)
{
	fill_status(ctx, h, SIPPRES_REASON_QUERY, SCRATCH_QUERY, st);
}

int sippres__hint_presence(const struct sippres__hint *h)
{
	/* as fill_status() gives it for a query: a pattern's is not set */
	return h->is_pattern ? SIPPRES_PRESENCE_NOT_SET : h->presence_state;
}

#define STATUS_V1_SIZE (offsetof(struct sippres_exten_status, is_pattern) + sizeof(uint32_t))

SIPPRES_EXPORT int sippres_exten_status_get(struct sippres_ctx *ctx, const char *context, const char *exten,
                                            struct sippres_exten_status *out)
{
	struct sippres_exten_status st;
	struct sippres__hint *h;
	int r;

	if (!ctx || !out)
		return SIPPRES_E_INVAL;
	if (sippres__check_size(out->size, STATUS_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	sippres__hints_reclaim(ctx); /* not inside a callback: a query there holds views of hints */
	r = sippres__hint_lookup(ctx, context, exten, &h);
	if (r < 0)
		return r;
	fill_status(ctx, h, SIPPRES_REASON_QUERY, SCRATCH_QUERY, &st);
	sippres__copy_out(out, &st, sizeof(st));
	return 0;
}

SIPPRES_EXPORT int sippres_hint_foreach(struct sippres_ctx *ctx,
                                        int (*fn)(void *user_data, const struct sippres_exten_status *st),
                                        void *user_data)
{
	struct sippres_exten_status st;
	int n = 0;

	if (!ctx || !fn)
		return SIPPRES_E_INVAL;
	ctx->in_callback++;
	for (struct sippres__dnode *a = ctx->reg->all.head; a; a = a->next) {
		fill_status(ctx, SIPPRES__CONTAINER_OF(a, struct sippres__hint, all_node), SIPPRES_REASON_QUERY,
		            SCRATCH_ITER, &st);
		n++;
		if (fn(user_data, &st) < 0)
			break;
	}
	ctx->in_callback--;
	if (ctx->in_callback == 0)
		sippres__watch_sweep(ctx);
	return n;
}

SIPPRES_EXPORT int sippres_watch_add(struct sippres_ctx *ctx, const char *context, const char *exten,
                                     void (*fn)(void *user_data, const struct sippres_exten_status *st),
                                     void *user_data, struct sippres_watch **ret)
{
	struct sippres_watch *w;
	struct sippres__hint *h;
	int r;

	if (!ctx || !fn || !ret)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	sippres__hints_reclaim(ctx);
	r = sippres__hint_lookup(ctx, context, exten, &h);
	if (r < 0)
		return r;
	w = sippres__calloc(ctx, 1, sizeof(*w));
	if (!w)
		return SIPPRES_E_NOMEM; /* an instantiated pattern hint stays: it is valid state */
	w->hint = h;
	w->fn = fn;
	w->user_data = user_data;
	sippres__dlist_append(&h->watches, &w->node); /* told in the order they were added */
	*ret = w;
	return 0;
}

SIPPRES_EXPORT void sippres_watch_remove(struct sippres_ctx *ctx, struct sippres_watch *w)
{
	if (!ctx || !w || w->dead)
		return;
	sippres__dlist_remove(&w->hint->watches, &w->node);
	sippres__hint_idle_check(ctx, w->hint);
	if (ctx->in_callback) {
		w->dead = true;
		w->grave_next = ctx->reg->graveyard;
		ctx->reg->graveyard = w;
	} else {
		sippres__free(ctx, w);
		sippres__hints_reclaim(ctx);
	}
}
