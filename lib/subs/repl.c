/* SPDX-License-Identifier: MIT */
/* Replication of what a node owns: taking over another node's
 * subscriptions, letting go of the ones another node took over, and handing
 * everything this node owns to the bus again (docs/cluster.md, "Ownership
 * and takeover"). */
#include "subs-private.h"

SIPPRES_EXPORT int sippres_sub_adopt(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms,
                                     struct sippres_sub **ret)
{
	struct sippres_sub *s;
	int r;

	if (!ctx || !record || !ret)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	r = sippres__sub_restore(ctx, record, len, now_ms, &s);
	if (r < 0)
		return r;
	/* the record is this node's from now on; its CSeq and version are the
	 * dead owner's next ones, which the full-state NOTIFY queued uses */
	sippres__sub_persist(ctx, s);
	*ret = s;
	return 0;
}

SIPPRES_EXPORT int sippres_sub_release(struct sippres_ctx *ctx, struct sippres_sub *sub)
{
	if (!ctx || !sub)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	sippres__sub_end_as(ctx, sub, false);
	sippres__hints_reclaim(ctx);
	return 0;
}

SIPPRES_EXPORT int sippres_repl_resync(struct sippres_ctx *ctx)
{
	struct sippres__subs *ss;
	int n, k;

	if (!ctx)
		return SIPPRES_E_INVAL;
	if (!sippres__repl_on(ctx))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	n = sippres__views_resync(ctx);
	if (n < 0)
		return n;
	k = sippres__pubs_resync(ctx);
	if (k < 0)
		return k;
	n += k;
	ss = ctx->subs;
	if (!ss->record && !(ss->record = sippres__malloc(ctx, SIPPRES__RECORD_MAX)))
		return SIPPRES_E_NOMEM;
	for (struct sippres__dnode *a = ss->all.head; a; a = a->next) {
		struct sippres_sub *s = SIPPRES__SUB_OF(a);
		size_t len;

		if (s->queued == SQ_DROP)
			continue;
		len = sippres__record_write(ctx, s, ss->record, SIPPRES__RECORD_MAX);
		if (len == 0)
			continue;
		sippres__repl_record(ctx, SIPPRES_REPL_SUBSCRIPTION, sippres__sub_str(s, SS_CALL_ID),
		                     sippres__sub_str(s, SS_LOCAL_TAG), ss->record, len);
		n++;
	}
	return n;
}
