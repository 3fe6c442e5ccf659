/* SPDX-License-Identifier: MIT */
/* Resource list definitions: what the host (or a loader) set with
 * sippres_list_set, by name. */
#include <string.h>

#include "lists-private.h"

#define MAX_ITEMS 10000

static struct sippres__list_def *def_find(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->lists->defs, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__list_def, node) : NULL;
}

const struct sippres__list_def *sippres__list_find(struct sippres_ctx *ctx, const char *name, const char *event)
{
	const struct sippres__list_def *d = name ? def_find(ctx, name) : NULL;

	/* the list's event must equal the SUBSCRIBE's, byte for byte */
	return d && event && strcmp(d->event, event) == 0 ? d : NULL;
}

static void def_destroy(struct sippres_ctx *ctx, struct sippres__list_def *d)
{
	for (size_t i = 0; i < d->n_items; i++)
		sippres__free(ctx, d->items[i]);
	sippres__free(ctx, d->items);
	sippres__free(ctx, d->name);
	sippres__free(ctx, d->event);
	sippres__free(ctx, d);
}

#define LIST_V1_SIZE (offsetof(struct sippres_list, resource_display_name) + sizeof(uint32_t))

SIPPRES_EXPORT int sippres_list_set(struct sippres_ctx *ctx, const struct sippres_list *list)
{
	struct sippres__list_def *d;
	struct sippres__hnode *replaced;
	struct sippres__set seen;
	int r;

	if (!ctx || !list)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(list, LIST_V1_SIZE, sizeof(*list));
	if (r < 0)
		return r;
	if (!sippres__name_ok(list->name) || !list->event || sippres__event_parse(list->event) < 0 || list->n_items == 0 ||
	    !list->items || list->full_state > 1 || list->resource_display_name > 1)
		return SIPPRES_E_INVAL;
	if (list->n_items > MAX_ITEMS)
		return SIPPRES_E_TOOBIG;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	d = sippres__calloc(ctx, 1, sizeof(*d));
	if (!d)
		return SIPPRES_E_NOMEM;
	d->name = sippres__strdup(ctx, list->name);
	d->event = sippres__strdup(ctx, list->event);
	d->items = sippres__calloc(ctx, list->n_items, sizeof(*d->items));
	sippres__set_init(ctx, &seen, true);
	r = d->name && d->event && d->items ? sippres__set_reserve(ctx, &seen, list->n_items) : SIPPRES_E_NOMEM;
	for (size_t i = 0; r >= 0 && i < list->n_items; i++) {
		const char *it = list->items[i];
		char *item;
		size_t n;

		if (!it) {
			r = SIPPRES_E_INVAL;
			break;
		}
		while (*it == ' ' || *it == '\t')
			it++;
		n = strlen(it);
		while (n && (it[n - 1] == ' ' || it[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		item = sippres__strndup(ctx, it, n);
		if (!item) {
			r = SIPPRES_E_NOMEM;
			break;
		}
		d->items[d->n_items++] = item;
		if (!sippres__name_ok(item)) {
			r = SIPPRES_E_INVAL;
			break;
		}
		if (sippres__set_add(ctx, &seen, item, 0, NULL) == 0) { /* room was reserved */
			sippres__log(ctx, SIPPRES_LOG_INFO, "list %s: ignoring duplicated item %s", d->name, item);
			sippres__free(ctx, d->items[--d->n_items]);
		}
	}
	sippres__set_fini(ctx, &seen);
	if (r >= 0 && d->n_items == 0)
		r = SIPPRES_E_INVAL;
	if (r < 0) {
		def_destroy(ctx, d);
		return r;
	}
	d->full_state = list->full_state;
	d->batch_ms = list->batch_interval_ms;
	d->display_name = list->resource_display_name;
	replaced = sippres__smap_put(ctx, &ctx->lists->defs, &d->node);
	if (replaced)
		def_destroy(ctx, SIPPRES__CONTAINER_OF(replaced, struct sippres__list_def, node));
	return replaced ? 1 : 0;
}

SIPPRES_EXPORT int sippres_list_remove(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__list_def *d;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	d = def_find(ctx, name);
	if (!d)
		return SIPPRES_E_NOTFOUND;
	sippres__map_remove(&ctx->lists->defs, &d->node);
	def_destroy(ctx, d);
	return 0;
}

static void def_destroy_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	def_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__list_def, node));
}

/* -------------------------------------------------------------- lifecycle */

int sippres__lists_new(struct sippres_ctx *ctx)
{
	struct sippres__lists *l = sippres__calloc(ctx, 1, sizeof(*l));

	if (!l)
		return SIPPRES_E_NOMEM;
	if (SIPPRES__SMAP_INIT(ctx, &l->defs, 16, struct sippres__list_def, node, name, false) < 0) {
		sippres__free(ctx, l);
		return SIPPRES_E_NOMEM;
	}
	l->keep_arena.ctx = l->keep_out.ctx = l->keep_rlmi.ctx = ctx;
	ctx->lists = l;
	return 0;
}

void sippres__lists_free(struct sippres_ctx *ctx)
{
	struct sippres__lists *l = ctx->lists;

	if (!l)
		return;
	sippres__map_drain(ctx, &l->defs, def_destroy_node);
	sippres__buf_free(&l->keep_arena);
	sippres__buf_free(&l->keep_out);
	sippres__buf_free(&l->keep_rlmi);
	sippres__free(ctx, l->keep_parts);
	sippres__free(ctx, l);
	ctx->lists = NULL;
}
