/* SPDX-License-Identifier: MIT */
/* Persistence: each subscription's record goes to the host's persist
 * callback (before every NOTIFY, so a restarted host never reuses a CSeq),
 * and sippres_sub_restore brings a stored subscription back. */
#include <string.h>

#include "subs-private.h"

void sippres__sub_persist(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	struct sippres__subs *ss = ctx->subs;
	size_t len;

	if ((!ctx->cb.persist && !sippres__repl_on(ctx)) || s->queued == SQ_DROP)
		return;
	if (!ss->record) {
		ss->record = sippres__malloc(ctx, SIPPRES__RECORD_MAX);
		if (!ss->record) {
			sippres__log(ctx, SIPPRES_LOG_WARNING, "out of memory: subscription %s not stored",
			             sippres__sub_str(s, SS_CALL_ID));
			return;
		}
	}
	len = sippres__record_write(ctx, s, ss->record, SIPPRES__RECORD_MAX);
	if (len == 0)
		return;
	if (ctx->cb.persist) {
		ctx->in_callback++;
		ctx->cb.persist(ctx->user_data, s, ss->record, len);
		ctx->in_callback--;
	}
	if (sippres__repl_on(ctx))
		sippres__repl_record(ctx, SIPPRES_REPL_SUBSCRIPTION, sippres__sub_str(s, SS_CALL_ID),
		                     sippres__sub_str(s, SS_LOCAL_TAG), ss->record, len);
}

size_t sippres__record_write(const struct sippres_ctx *ctx, const struct sippres_sub *s, uint8_t *buf, size_t cap)
{
	const struct sippres__hint *h = sippres__sub_hint(s);
	const char *strs[SR_COUNT];

	strs[SR_ENDPOINT] = s->ep->name;
	strs[SR_RESOURCE] = s->is_list ? sippres__rls_name(s->w.rls) : h ? h->exten : "";
	strs[SR_EVENT] = sippres__event_name(s->event);
	strs[SR_CONTENT_TYPE] = sippres__sub_ctype(ctx, s);
	for (int i = 0; i < SS_COUNT; i++)
		strs[SR_SUB_FIRST + i] = sippres__sub_str(s, i);
	return sippres__record_encode(buf, cap, s->is_list ? SIPPRES__RECORD_LIST : 0, s->expires_at, s->cseq,
	                              s->is_list ? sippres__rls_root_version(s->w.rls) : s->version, strs);
}

/* What the record names must still exist: its endpoint, event, body type,
 * and its hint or list (whose tree is built here). */
static int resolve(struct sippres_ctx *ctx, const struct sippres__record *rec, struct sippres__endpoint **ep,
                   int *event, const char **content_type, struct sippres__hint **h, struct sippres__rls **rls)
{
	const char *ct = rec->s[SR_CONTENT_TYPE];
	int r;

	*event = sippres__event_parse(rec->s[SR_EVENT]);
	*ep = sippres__endpoint_find(ctx, rec->s[SR_ENDPOINT]);
	if (*event < 0 || !*ep)
		return SIPPRES_E_NOTFOUND;
	*content_type = sippres__content_type_intern(ctx, ct, strlen(ct), false);
	if (!*content_type)
		return SIPPRES_E_NOTFOUND;
	*h = NULL;
	*rls = NULL;
	if (rec->flags & SIPPRES__RECORD_LIST) {
		const struct sippres__list_def *def = sippres__list_find(ctx, rec->s[SR_RESOURCE], rec->s[SR_EVENT]);

		if (!def)
			return SIPPRES_E_NOTFOUND;
		return sippres__rls_build_at(ctx, def, (*ep)->sub_context, rec->s[SR_LOCAL_URI], rls);
	}
	r = sippres__hint_lookup(ctx, (*ep)->sub_context, rec->s[SR_RESOURCE], h);
	return r == SIPPRES_E_INVAL ? SIPPRES_E_NOTFOUND : r;
}

static int restore(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms,
                   struct sippres__record *rec, struct sippres_sub **ret)
{
	struct sippres__endpoint *ep;
	struct sippres__hint *h;
	struct sippres__sub_fields f = {.hashed = false};
	struct sippres_sub *s;
	struct sippres__rls *rls;
	const char *content_type;
	int event, r;

	r = sippres__record_read(record, len, rec);
	if (r < 0)
		return r;
	if (rec->expires_at <= now_ms)
		return SIPPRES_E_NOTFOUND;
	r = resolve(ctx, rec, &ep, &event, &content_type, &h, &rls);
	if (r < 0)
		return r;
	if (sippres_sub_find(ctx, rec->s[SR_CALL_ID], rec->s[SR_LOCAL_TAG])) {
		sippres__rls_free(ctx, rls);
		return SIPPRES_E_EXISTS;
	}
	for (int i = 0; i < SS_COUNT; i++)
		f.v[i] = rec->s[SR_SUB_FIRST + i];
	r = sippres__sub_create(ctx, ep, h, event, content_type, &f, &s);
	if (r < 0) {
		sippres__rls_free(ctx, rls);
		return r;
	}
	s->cseq = rec->cseq;
	if (rls) {
		sippres__sub_attach_list(s, rls);
		sippres__rls_set_root_version(rls, rec->version);
	} else {
		s->version = rec->version;
	}
	s->sent_any = rec->version > 0;
	sippres__sub_schedule(ctx->subs, s, rec->expires_at);
	sippres__sub_queue(ctx->subs, s, SQ_RESTORED);
	*ret = s;
	return 0;
}

SIPPRES_EXPORT int sippres_sub_restore(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms,
                                       struct sippres_sub **ret)
{
	if (!ctx || !record || !ret)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	return sippres__sub_restore(ctx, record, len, now_ms, ret);
}

int sippres__sub_restore(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms,
                         struct sippres_sub **ret)
{
	struct sippres__record *rec;
	int r;

	sippres__subs_set_now(ctx, now_ms);
	rec = sippres__malloc(ctx, sizeof(*rec));
	if (!rec)
		return SIPPRES_E_NOMEM;
	r = restore(ctx, record, len, now_ms, rec, ret);
	sippres__free(ctx, rec);
	return r;
}
