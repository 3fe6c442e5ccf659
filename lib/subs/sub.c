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

/* The dialog table (struct sippres__htab): a subscription is found by the
 * hash of its call-id and local tag, recomputed when it is removed. */
static void dialogs_remove(struct sippres_ctx *ctx, struct sippres__subs *ss, struct sippres_sub *s)
{
	sippres__htab_remove(&ss->dialogs, dialog_hash(ctx, s->str, sippres__sub_str(s, SS_LOCAL_TAG)), s);
}

/* The index of an interned content type (sippres__content_type_intern). */
static uint8_t type_index(const struct sippres__subs *ss, const char *content_type)
{
	size_t i = 0;

	while (i + 1 < ss->ntypes && ss->types[i] != content_type)
		i++;
	return (uint8_t)i;
}

/* The subscriber's tuple (SP_*) out of f's strings. */
static void peer_tuple(const struct sippres__sub_fields *f, const size_t *lens, const char *pv[SP_COUNT],
                       size_t pl[SP_COUNT])
{
	static const uint8_t from[SP_COUNT] = {SS_REMOTE_URI, SS_CONTACT, SS_USER_AGENT, SS_BODY_REMOTE};

	for (int i = 0; i < SP_COUNT; i++) {
		pv[i] = f->v[from[i]];
		pl[i] = lens[from[i]];
	}
}

void sippres__sub_prepare_dialog(struct sippres_ctx *ctx, struct sippres__sub_fields *f)
{
	f->dialog_hash = dialog_hash(ctx, f->v[SS_CALL_ID], f->v[SS_LOCAL_TAG]);
	sippres__htab_prefetch(&ctx->subs->dialogs, f->dialog_hash);
}

void sippres__sub_prepare(struct sippres_ctx *ctx, struct sippres__sub_fields *f)
{
	struct sippres__subs *ss = ctx->subs;
	const char *pv[SP_COUNT];
	size_t pl[SP_COUNT];

	peer_tuple(f, f->len, pv, pl);
	f->local_hash = sippres__shared_hash(&ss->locals, 1, &f->v[SS_LOCAL_URI], &f->len[SS_LOCAL_URI]);
	sippres__htab_prefetch(&ss->locals.tab, f->local_hash);
	f->peer_hash = sippres__shared_hash(&ss->peers, SP_COUNT, pv, pl);
	sippres__htab_prefetch(&ss->peers.tab, f->peer_hash);
	f->hashed = true;
}

void sippres__sub_prefetch_shared(struct sippres_ctx *ctx, const struct sippres__sub_fields *f)
{
	sippres__shared_prefetch(&ctx->subs->locals, f->local_hash);
	sippres__shared_prefetch(&ctx->subs->peers, f->peer_hash);
}

/* The subscriber's tuple and the local URI, shared with the other
 * subscriptions that have the same. */
static int share_strings(struct sippres_ctx *ctx, struct sippres_sub *s, const struct sippres__sub_fields *f,
                         const size_t *lens)
{
	struct sippres__subs *ss = ctx->subs;
	const char *pv[SP_COUNT];
	size_t pl[SP_COUNT];
	bool fresh;

	peer_tuple(f, lens, pv, pl);
	s->local = f->hashed ? sippres__shared_get_hashed(ctx, &ss->locals, 1, &f->v[SS_LOCAL_URI], &lens[SS_LOCAL_URI],
	                                                  f->local_hash, &fresh)
	                     : sippres__shared_get(ctx, &ss->locals, 1, &f->v[SS_LOCAL_URI], &lens[SS_LOCAL_URI], &fresh);
	if (!s->local)
		return SIPPRES_E_NOMEM;
	s->peer = f->hashed ? sippres__shared_get_hashed(ctx, &ss->peers, SP_COUNT, pv, pl, f->peer_hash, &fresh)
	                    : sippres__shared_get(ctx, &ss->peers, SP_COUNT, pv, pl, &fresh);
	if (!s->peer) {
		sippres__shared_put(ctx, &ss->locals, s->local);
		return SIPPRES_E_NOMEM;
	}
	/* whether the User-Agent names Digium: asked once per tuple */
	if (fresh)
		s->peer->user = sippres__ua_is_digium(sippres__shared_str(s->peer, SP_USER_AGENT));
	s->digium = s->peer->user;
	return 0;
}

int sippres__sub_create(struct sippres_ctx *ctx, struct sippres__endpoint *ep, struct sippres__hint *h, int event,
                        const char *content_type, const struct sippres__sub_fields *f, struct sippres_sub **ret)
{
	static const uint8_t own[] = {SS_CALL_ID, SS_LOCAL_TAG, SS_REMOTE_TAG, SS_EVENT_ID};
	struct sippres__subs *ss = ctx->subs;
	size_t lens[SS_COUNT], total = 0;
	struct sippres_sub *s;
	char *w;

	for (int i = 0; i < SS_COUNT; i++)
		lens[i] = f->lens ? f->len[i] : f->v[i] ? strlen(f->v[i]) : 0;
	for (size_t i = 0; i < sizeof(own); i++)
		total += lens[own[i]] + 1;
	if (total > UINT16_MAX)
		return SIPPRES_E_TOOBIG;
	if (sippres__heap_reserve(ctx, &ss->heap, ss->heap.n + 1) < 0 || sippres__htab_reserve(ctx, &ss->dialogs) < 0)
		return SIPPRES_E_NOMEM;
	s = sippres__malloc(ctx, offsetof(struct sippres_sub, str) + total - !lens[SS_EVENT_ID]);
	if (!s)
		return SIPPRES_E_NOMEM;
	memset(s, 0, offsetof(struct sippres_sub, str));
	if (share_strings(ctx, s, f, lens) < 0) {
		sippres__free(ctx, s);
		return SIPPRES_E_NOMEM;
	}
	/* Call-ID, local tag, remote tag, then the event id only when it is
	 * not empty (else the remote tag's NUL is its ""): each after the NUL
	 * of the one before */
	w = s->str;
	for (size_t i = 0; i < sizeof(own) - !lens[SS_EVENT_ID]; i++) {
		size_t n = lens[own[i]];

		if (i == 1)
			s->ltag = (uint16_t)(w - s->str);
		if (n)
			memcpy(w, f->v[own[i]], n);
		w[n] = '\0';
		w += n + 1;
	}
	s->has_event_id = lens[SS_EVENT_ID] != 0;
	s->ep = ep;
	s->event = (uint8_t)event;
	s->ctype = type_index(ss, content_type);
	s->heap_idx = SIPPRES__NOT_IN_HEAP;
	s->cseq = 1;
	s->w.hint = h;
	s->hl.kind = SIPPRES__HLINK_SUB;
	if (h)
		sippres__hlink_add(h, &s->hl);
	sippres__dlist_append(&ss->all, &s->all_node);
	ss->count++;
	ep->nsubs++;
	sippres__htab_insert(&ss->dialogs,
	                     f->hashed ? f->dialog_hash : dialog_hash(ctx, s->str, sippres__sub_str(s, SS_LOCAL_TAG)), s);
	*ret = s;
	return 0;
}

void sippres__sub_attach_list(struct sippres_sub *s, struct sippres__rls *rls)
{
	s->is_list = 1;
	s->w.rls = rls;
	rls->timer.owner = s;
}

void sippres__sub_unshare(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	sippres__shared_put(ctx, &ctx->subs->peers, s->peer);
	sippres__shared_put(ctx, &ctx->subs->locals, s->local);
	s->peer = s->local = NULL;
}

static void sub_free(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres__hint *h = sippres__sub_hint(s);
	struct sippres__rls *rls = sippres__sub_rls(s);

	if (ss->last.valid && ss->last.local_uri == sippres__sub_str(s, SS_LOCAL_URI))
		ss->last.valid = false; /* the cache key may point into what is freed here */
	if (h) {
		sippres__hlink_remove(h, &s->hl);
		sippres__hint_idle_check(ctx, h);
		s->w.hint = NULL;
	}
	sippres__heap_remove(&ss->heap, s);
	if (rls) {
		sippres__heap_remove(&ss->batch, &rls->timer);
		sippres__rls_free(ctx, rls);
		s->w.rls = NULL;
	}
	dialogs_remove(ctx, ss, s);
	sippres__dlist_remove(&ss->all, &s->all_node);
	ss->count--;
	s->ep->nsubs--;
	sippres__sub_unshare(ctx, s);
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
	*hash = dialog_hash(ctx, call_id, local_tag);
	return sippres__sub_find_hashed(ctx, call_id, local_tag, *hash);
}

struct sippres_sub *sippres__sub_find_hashed(struct sippres_ctx *ctx, const char *call_id, const char *local_tag,
                                             uint32_t hash)
{
	struct sippres__htab *t = &ctx->subs->dialogs;
	uint32_t key = sippres__htab_key(hash);

	for (size_t i = sippres__htab_home(t, key); t->s[i].h; i = sippres__htab_next(t, i)) {
		struct sippres_sub *s = t->s[i].p;

		if (t->s[i].h == key && strcmp(s->str, call_id) == 0 &&
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
	struct sippres__rls *rls = sippres__sub_rls(s);
	const struct sippres__list_def *def =
		sippres__list_find(ctx, sippres__rls_name(rls), sippres__event_name(s->event));
	struct sippres__rls *nr;
	int r;

	if (!def)
		return 1;
	r = sippres__rls_build_at(ctx, def, s->ep->sub_context, sippres__sub_str(s, SS_LOCAL_URI), &nr);
	if (r == SIPPRES_E_NOTFOUND)
		return 1;
	if (r < 0)
		return r;
	if (sippres__rls_same_members(rls, nr)) {
		sippres__rls_free(ctx, nr);
		return 0;
	}
	sippres__rls_set_root_version(nr, sippres__rls_root_version(rls));
	sippres__heap_remove(&ctx->subs->batch, &rls->timer);
	sippres__rls_free(ctx, rls);
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
		res->require_eventlist = s->is_list; /* every 2xx of a list subscription (RFC 4662 4.1) */
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
	if (s->is_list) {
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
	if (s->queued == SQ_DROP || !sippres__sub_hint(s)) {
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
	const struct sippres__hint *h;

	if (!ctx || !s || !info)
		return SIPPRES_E_INVAL;
	if (sippres__check_size(info->size, INFO_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	h = sippres__sub_hint(s);
	memset(&i, 0, sizeof(i));
	i.size = sizeof(i);
	i.endpoint = s->ep->name;
	i.context = h ? h->cx->name : s->ep->sub_context;
	i.resource = s->is_list ? sippres__rls_name(s->w.rls) : h ? h->exten : "";
	i.is_list = s->is_list;
	i.event = sippres__event_name(s->event);
	i.event_id = sippres__sub_str(s, SS_EVENT_ID)[0] ? sippres__sub_str(s, SS_EVENT_ID) : NULL;
	i.content_type = sippres__sub_ctype(ctx, s);
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
	i.exten_state = h ? h->exten_state : s->is_list ? SIPPRES_EXTEN_DEACTIVATED : SIPPRES_EXTEN_REMOVED;
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
