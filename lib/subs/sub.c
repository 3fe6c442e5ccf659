/* SPDX-License-Identifier: MIT */
/* A subscription's life after the SUBSCRIBE: creation and registration,
 * refresh, NOTIFY outcomes, termination, and what the host can ask of it. */
#include <string.h>

#include "subs-private.h"

#define RES_V1_SIZE (offsetof(struct sippres_subscribe_res, accept) + sizeof(const char *))

static uint32_t dialog_hash(struct sippres_ctx *ctx, const char *call_id, const char *local_tag)
{
	return sippres__hash2(ctx->hash_seed, call_id, local_tag);
}

int sippres__sub_create(struct sippres_ctx *ctx, struct sippres__endpoint *ep, struct sippres__hint *h, int event,
                        const char *content_type, const struct sippres__sub_fields *f, struct sippres_sub **ret)
{
	struct sippres__subs *ss = ctx->subs;
	size_t lens[SS_COUNT], total = 0;
	struct sippres_sub *s;
	bool same_remote;
	char *w;

	for (int i = 0; i < SS_COUNT; i++) {
		lens[i] = f->v[i] ? strlen(f->v[i]) : 0;
		total += lens[i] + 1;
	}
	/* the body's remote party is most often the From URI itself: its bytes
	 * are then shared */
	same_remote = lens[SS_BODY_REMOTE] == lens[SS_REMOTE_URI] && lens[SS_BODY_REMOTE] &&
	              memcmp(f->v[SS_BODY_REMOTE], f->v[SS_REMOTE_URI], lens[SS_BODY_REMOTE]) == 0;
	if (same_remote)
		total -= lens[SS_BODY_REMOTE] + 1;
	if (total > UINT16_MAX)
		return SIPPRES_E_TOOBIG;
	if (sippres__heap_reserve(ctx, &ss->heap, ss->heap.n + 1) < 0)
		return SIPPRES_E_NOMEM;
	s = sippres__malloc(ctx, sizeof(*s) + total);
	if (!s)
		return SIPPRES_E_NOMEM;
	memset(s, 0, sizeof(*s));
	w = s->str;
	for (int i = 0; i < SS_COUNT; i++) {
		if (i == SS_BODY_REMOTE && same_remote) {
			s->off[i] = s->off[SS_REMOTE_URI];
			continue;
		}
		s->off[i] = (uint16_t)(w - s->str);
		if (lens[i])
			memcpy(w, f->v[i], lens[i]);
		w[lens[i]] = '\0';
		w += lens[i] + 1;
	}
	s->ep = ep;
	s->event = (uint8_t)event;
	s->content_type = content_type;
	s->heap_idx = SIPPRES__NOT_IN_HEAP;
	s->cseq = 1;
	s->digium = sippres__ua_is_digium(f->v[SS_USER_AGENT]);
	s->hint = h;
	s->hl.kind = SIPPRES__HLINK_SUB;
	if (h)
		sippres__hlink_add(h, &s->hl);
	sippres__dlist_append(&ss->all, &s->all_node);
	ss->count++;
	ep->nsubs++;
	sippres__map_insert(ctx, &ss->dialogs, &s->node,
	                    f->hashed ? f->dialog_hash
	                              : dialog_hash(ctx, sippres__sub_str(s, SS_CALL_ID), sippres__sub_str(s, SS_LOCAL_TAG)));
	*ret = s;
	return 0;
}

void sippres__sub_attach_list(struct sippres_sub *s, struct sippres__rls *rls)
{
	s->rls = rls;
	rls->timer.owner = s;
}

static void sub_free(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	struct sippres__subs *ss = ctx->subs;

	if (ss->last.valid && ss->last.local_uri == sippres__sub_str(s, SS_LOCAL_URI))
		ss->last.valid = false; /* the cache key points into this subscription */
	if (s->hint) {
		sippres__hlink_remove(s->hint, &s->hl);
		sippres__hint_idle_check(ctx, s->hint);
		s->hint = NULL;
	}
	sippres__heap_remove(&ss->heap, s);
	if (s->rls) {
		sippres__heap_remove(&ss->batch, &s->rls->timer);
		sippres__rls_free(ctx, s->rls);
		s->rls = NULL;
	}
	sippres__map_remove(&ss->dialogs, &s->node);
	sippres__dlist_remove(&ss->all, &s->all_node);
	ss->count--;
	s->ep->nsubs--;
	sippres__sub_release(ctx, s);
}

void sippres__sub_end(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	sippres__sub_end_as(ctx, s, true);
}

void sippres__sub_end_as(struct sippres_ctx *ctx, struct sippres_sub *s, bool replicate)
{
	if (replicate && sippres__repl_on(ctx))
		sippres__repl_record(ctx, SIPPRES_REPL_SUBSCRIPTION, sippres__sub_str(s, SS_CALL_ID),
		                     sippres__sub_str(s, SS_LOCAL_TAG), NULL, 0);
	if (ctx->cb.forget) {
		ctx->in_callback++;
		ctx->cb.forget(ctx->user_data, s);
		ctx->in_callback--;
	}
	sub_free(ctx, s);
}

SIPPRES_EXPORT struct sippres_sub *sippres_sub_find(struct sippres_ctx *ctx, const char *call_id,
                                                    const char *local_tag)
{
	uint32_t h;

	if (!ctx || !call_id || !local_tag)
		return NULL;
	return sippres__sub_find_hash(ctx, call_id, local_tag, &h);
}

struct sippres_sub *sippres__sub_find_hash(struct sippres_ctx *ctx, const char *call_id, const char *local_tag,
                                           uint32_t *hash)
{
	uint32_t h = dialog_hash(ctx, call_id, local_tag);

	*hash = h;
	for (struct sippres__hnode *n = sippres__map_chain(&ctx->subs->dialogs, h); n; n = n->next) {
		struct sippres_sub *s = SIPPRES__CONTAINER_OF(n, struct sippres_sub, node);
		if (n->hash == h && strcmp(sippres__sub_str(s, SS_CALL_ID), call_id) == 0 &&
		    strcmp(sippres__sub_str(s, SS_LOCAL_TAG), local_tag) == 0)
			return s;
	}
	return NULL;
}

/* ---------------------------------------------------------------- refresh */

/* Asterisk rebuilds a list's tree at each refresh and replaces it when its
 * top-level members changed, carrying the version over. 1: nothing left. */
static int refresh_list(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	const struct sippres__list_def *def =
		sippres__list_find(ctx, sippres__rls_name(s->rls), sippres__event_name(s->event));
	struct sippres__rls *nr;
	int r;

	if (!def)
		return 1;
	r = sippres__rls_build_at(ctx, def, s->ep->sub_context, sippres__sub_str(s, SS_LOCAL_URI), &nr);
	if (r == SIPPRES_E_NOTFOUND)
		return 1;
	if (r < 0)
		return r;
	if (sippres__rls_same_members(s->rls, nr)) {
		sippres__rls_free(ctx, nr);
		return 0;
	}
	sippres__rls_set_root_version(nr, sippres__rls_root_version(s->rls));
	sippres__heap_remove(&ctx->subs->batch, &s->rls->timer);
	sippres__rls_free(ctx, s->rls);
	sippres__sub_attach_list(s, nr);
	return 0;
}

static void decide(struct sippres_subscribe_res *res, uint32_t status, const char *reason)
{
	res->status = status;
	res->reason = reason;
}

SIPPRES_EXPORT int sippres_sub_refresh(struct sippres_ctx *ctx, struct sippres_sub *s, int64_t expires,
                                       uint64_t now_ms, struct sippres_subscribe_res *res)
{
	struct sippres__subs *ss;
	uint64_t requested;
	size_t size;

	if (!ctx || !s || !res)
		return SIPPRES_E_INVAL;
	if (sippres__check_size(res->size, RES_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	ss = ctx->subs;
	sippres__subs_set_now(ctx, now_ms);
	size = res->size;
	memset(res, 0, RES_V1_SIZE);
	res->size = size;
	if (s->queued == SQ_FINAL || s->queued == SQ_DROP) {
		decide(res, 481, "Call/Transaction Does Not Exist");
		return 0;
	}
	requested = expires < 0 ? s->ep->opts.default_expiry : (uint64_t)expires;
	if (requested == 0) {
		decide(res, 200, "OK");
		res->local_tag = sippres__sub_str(s, SS_LOCAL_TAG);
		res->expires = 0;
		res->require_eventlist = s->rls != NULL; /* every 2xx of a list subscription (RFC 4662 4.1) */
		sippres__heap_remove(&ss->heap, s);
		/* the stored record expires now, so a restart before the final
		 * NOTIFY does not bring the subscription back */
		s->expires_at = now_ms;
		sippres__sub_persist(ctx, s);
		s->final_reason = SF_TIMEOUT;
		sippres__sub_queue(ss, s, SQ_FINAL);
		return 0;
	}
	/* RFC 6665 4.2.1.4: a too short refresh gets 423 too (Asterisk does not check) */
	if (!sippres__sub_asterisk(s) && requested < s->ep->opts.sub_min_expiry && requested < 3600) {
		decide(res, 423, "Interval Too Brief");
		res->min_expires = s->ep->opts.sub_min_expiry;
		return 0;
	}
	decide(res, 200, "OK");
	res->local_tag = sippres__sub_str(s, SS_LOCAL_TAG);
	res->expires = (uint32_t)(requested < s->ep->opts.max_expiry ? requested : s->ep->opts.max_expiry);
	if (s->rls) {
		int r = refresh_list(ctx, s);

		res->require_eventlist = 1;
		if (r < 0)
			return r;
		if (r == 1) {
			/* the list is gone or has no members left: end it */
			sippres__heap_remove(&ss->heap, s);
			s->final_reason = SF_NORESOURCE;
			sippres__sub_queue(ss, s, SQ_FINAL);
			return 0;
		}
	}
	sippres__sub_schedule(ss, s, now_ms + (uint64_t)res->expires * 1000);
	sippres__sub_queue(ss, s, SQ_REFRESH);
	sippres__sub_persist(ctx, s);
	return 0;
}

/* ---------------------------------------------------- outcomes and the end */

SIPPRES_EXPORT int sippres_sub_notify_result(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t cseq,
                                             int sip_status, uint64_t now_ms)
{
	if (!ctx || !s || sip_status < 100 || sip_status > 699)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	if (cseq == 0 || cseq >= s->cseq)
		return SIPPRES_E_INVAL; /* no such NOTIFY was sent */
	sippres__subs_set_now(ctx, now_ms);
	if (sip_status < 200)
		return 0;
	if (cseq < s->acked)
		return 0; /* a late answer to an older NOTIFY says nothing about the dialog now */
	s->acked = cseq;
	if (sip_status < 300) {
		s->failures = 0;
		return 0;
	}
	return sippres__sub_notify_failed(ctx, s, sip_status);
}

SIPPRES_EXPORT int sippres_sub_terminate(struct sippres_ctx *ctx, struct sippres_sub *s, uint64_t now_ms)
{
	int r;

	if (!ctx || !s)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	sippres__subs_set_now(ctx, now_ms);
	if (s->queued == SQ_DROP || !s->hint) {
		sippres__sub_end(ctx, s);
		r = 0;
	} else {
		r = sippres__sub_finish(ctx, s, NULL, SF_DEACTIVATED) < 0 ? SIPPRES_E_NOMEM : 0;
	}
	sippres__hints_reclaim(ctx);
	return r;
}

/* ---------------------------------------------------------------- queries */

SIPPRES_EXPORT void sippres_sub_set_user_data(struct sippres_sub *s, void *user_data)
{
	if (s)
		s->user_data = user_data;
}

SIPPRES_EXPORT void *sippres_sub_get_user_data(const struct sippres_sub *s)
{
	return s ? s->user_data : NULL;
}

#define INFO_V1_SIZE (offsetof(struct sippres_sub_info, is_list) + sizeof(uint32_t))

SIPPRES_EXPORT int sippres_sub_get_info(struct sippres_ctx *ctx, const struct sippres_sub *s,
                                        struct sippres_sub_info *info)
{
	struct sippres_sub_info i;

	if (!ctx || !s || !info)
		return SIPPRES_E_INVAL;
	if (sippres__check_size(info->size, INFO_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	memset(&i, 0, sizeof(i));
	i.size = sizeof(i);
	i.endpoint = s->ep->name;
	i.context = s->hint ? s->hint->cx->name : s->ep->sub_context;
	i.resource = s->rls ? sippres__rls_name(s->rls) : s->hint ? s->hint->exten : "";
	i.is_list = s->rls != NULL;
	i.event = sippres__event_name(s->event);
	i.event_id = sippres__sub_str(s, SS_EVENT_ID)[0] ? sippres__sub_str(s, SS_EVENT_ID) : NULL;
	i.content_type = s->content_type;
	i.call_id = sippres__sub_str(s, SS_CALL_ID);
	i.local_tag = sippres__sub_str(s, SS_LOCAL_TAG);
	i.remote_tag = sippres__sub_str(s, SS_REMOTE_TAG);
	i.remote_uri = sippres__sub_str(s, SS_REMOTE_URI);
	i.local_uri = sippres__sub_str(s, SS_LOCAL_URI);
	i.contact = sippres__sub_str(s, SS_CONTACT);
	i.user_agent = sippres__sub_str(s, SS_USER_AGENT);
	i.expires_at_ms = s->expires_at;
	i.next_cseq = s->cseq;
	i.profile = s->ep->opts.profile;
	i.version = s->version;
	i.exten_state = s->hint ? s->hint->exten_state : s->rls ? SIPPRES_EXTEN_DEACTIVATED : SIPPRES_EXTEN_REMOVED;
	i.endpoint_cid_name = s->ep->cid_name;
	i.endpoint_cid_number = s->ep->cid_number;
	sippres__copy_out(info, &i, sizeof(i));
	return 0;
}

SIPPRES_EXPORT int sippres_sub_foreach(struct sippres_ctx *ctx, int (*fn)(void *user_data, struct sippres_sub *sub),
                                       void *user_data)
{
	int n = 0;

	if (!ctx || !fn)
		return SIPPRES_E_INVAL;
	ctx->in_callback++;
	for (struct sippres__dnode *a = ctx->subs->all.head; a; a = a->next) {
		n++;
		if (fn(user_data, SIPPRES__SUB_OF(a)) < 0)
			break;
	}
	ctx->in_callback--;
	return n;
}

SIPPRES_EXPORT size_t sippres_sub_count(const struct sippres_ctx *ctx)
{
	return ctx ? ctx->subs->count : 0;
}
