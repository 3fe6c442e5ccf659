/* SPDX-License-Identifier: MIT */
/* The subscription engine's lifecycle. */
#include <string.h>

#include "subs-private.h"

int sippres__subs_new(struct sippres_ctx *ctx)
{
	struct sippres__subs *ss = sippres__calloc(ctx, 1, sizeof(*ss));

	if (!ss)
		return SIPPRES_E_NOMEM;
	sippres__heap_init(&ss->heap, offsetof(struct sippres_sub, expires_at), offsetof(struct sippres_sub, heap_idx));
	sippres__heap_init(&ss->batch, offsetof(struct sippres__rls_timer, at), offsetof(struct sippres__rls_timer, idx));
	if (SIPPRES__SMAP_INIT(ctx, &ss->endpoints, 16, struct sippres__endpoint, node, name, false) < 0) {
		sippres__free(ctx, ss);
		return SIPPRES_E_NOMEM;
	}
	if (sippres__htab_init(ctx, &ss->dialogs, 64) < 0 || sippres__shared_init(ctx, &ss->peers) < 0 || sippres__shared_init(ctx, &ss->locals) < 0 ||
	    SIPPRES__SMAP_INIT(ctx, &ss->auths, 8, struct sippres__auth_key, node, name, false) < 0 ||
	    SIPPRES__SMAP_INIT(ctx, &ss->identifies, 8, struct sippres__auth_key, node, name, false) < 0) {
		sippres__map_fini(ctx, &ss->auths);
		sippres__shared_fini(ctx, &ss->locals);
		sippres__shared_fini(ctx, &ss->peers);
		sippres__htab_fini(ctx, &ss->dialogs);
		sippres__map_fini(ctx, &ss->endpoints);
		sippres__free(ctx, ss);
		return SIPPRES_E_NOMEM;
	}
	ctx->subs = ss;
	sippres__registry_set_hint_hook(ctx, sippres__subs_hint_event);
	return 0;
}

void sippres__subs_free(struct sippres_ctx *ctx)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres__dnode *n;

	if (!ss)
		return;
	/* list trees first: freeing them unlinks their members from the hints'
	 * watcher lists, which still hold the plain subscriptions' links */
	for (n = ss->all.head; n; n = n->next) {
		struct sippres_sub *s = SIPPRES__SUB_OF(n);

		if (s->is_list) {
			sippres__rls_free(ctx, s->w.rls);
			s->w.rls = NULL;
		}
	}
	sippres__subs_queue_free(ctx); /* the ended ones it still holds; the live ones are in all */
	n = ss->all.head;
	while (n) {
		struct sippres__dnode *next = n->next;

		sippres__sub_unshare(ctx, SIPPRES__SUB_OF(n));
		sippres__free(ctx, SIPPRES__SUB_OF(n));
		n = next;
	}
	sippres__endpoints_free(ctx);
	sippres__auth_free_all(ctx);
	sippres__identify_free_all(ctx);
	for (size_t i = 0; i < ss->ntypes; i++)
		sippres__free(ctx, ss->types[i]);
	sippres__free(ctx, ss->types);
	sippres__htab_fini(ctx, &ss->dialogs);
	sippres__shared_fini(ctx, &ss->peers);
	sippres__shared_fini(ctx, &ss->locals);
	sippres__heap_free(ctx, &ss->heap);
	sippres__heap_free(ctx, &ss->batch);
	sippres__free(ctx, ss->patch);
	sippres__free(ctx, ss->record);
	sippres__free(ctx, ss->event_hdr);
	sippres__free(ctx, ss);
	ctx->subs = NULL;
}
