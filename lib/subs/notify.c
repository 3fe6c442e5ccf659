/* SPDX-License-Identifier: MIT */
/* NOTIFY production: what a subscription's body is rendered from, the render
 * cache (once per hint, body type and profile; the dialog-info version
 * patched per subscription), the NOTIFY handed to the host, the failure
 * policy, and the hint hook through which state changes arrive. List
 * subscriptions are rendered by the lists layer and emitted here. */
#include <stdio.h>
#include <string.h>

#include "subs-private.h"

const char *sippres__content_type_intern(struct sippres_ctx *ctx, const char *s, size_t n, bool exact_case)
{
	struct sippres__subs *ss = ctx->subs;
	char buf[128];
	char **t;

	if (n == 0 || n >= sizeof(buf))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		buf[i] = (char)sippres__ascii_lower((unsigned char)s[i]);
		if (exact_case && buf[i] != s[i])
			return NULL;
	}
	buf[n] = '\0';
	/* an interned type was a valid token: only whether a generator is
	 * still registered needs asking */
	for (size_t i = 0; i < ss->ntypes; i++) {
		if (strcmp(ss->types[i], buf) == 0)
			return sippres__body_has_generator(ctx, ss->types[i], n) ? ss->types[i] : NULL;
	}
	if (ss->ntypes >= SIPPRES__MAX_TYPES || sippres_body_supported(ctx, buf) != 1)
		return NULL;
	if (ss->ntypes == ss->types_cap) {
		size_t cap = ss->types_cap ? ss->types_cap * 2 : 8;
		t = sippres__reallocarray(ctx, ss->types, cap, sizeof(*t));
		if (!t)
			return NULL;
		ss->types = t;
		ss->types_cap = cap;
	}
	ss->types[ss->ntypes] = sippres__strndup(ctx, buf, n);
	if (!ss->types[ss->ntypes])
		return NULL;
	return ss->types[ss->ntypes++];
}

static uint32_t body_flags(const struct sippres__endpoint *ep)
{
	uint32_t f = ep->opts.body_options;

	if (ep->opts.flags & SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING)
		f |= SIPPRES_BODY_EARLY_INUSE_RINGING;
	return f;
}

/* What every body of s is rendered with: its profile, options, subscriber
 * and User-Agent. The resource, its state and the version come on top. */
static void body_base(const struct sippres_sub *s, struct sippres_body_input *in)
{
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	in->profile = s->ep->opts.profile;
	in->flags = body_flags(s->ep);
	in->remote_uri = sippres__sub_str(s, SS_BODY_REMOTE);
	in->user_agent = s->digium ? sippres__sub_str(s, SS_USER_AGENT) : NULL;
}

/* Does this body type show presence states? (Standard profile: skip
 * presence-only changes for the built-in types that do not.) */
static bool shows_presence(const char *content_type)
{
	return strcmp(content_type, "application/dialog-info+xml") != 0 &&
	       strcmp(content_type, "application/xpidf+xml") != 0 &&
	       strcmp(content_type, "application/cpim-pidf+xml") != 0;
}

static int render(struct sippres_ctx *ctx, struct sippres_sub *s, const struct sippres_exten_status *st,
                  uint32_t version, const char **body, size_t *len)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres_body_input in;
	uint32_t profile = s->ep->opts.profile, flags = body_flags(s->ep);
	const char *remote = sippres__sub_str(s, SS_BODY_REMOTE);
	const char *local = sippres__sub_str(s, SS_LOCAL_URI);
	int r;

	const char *ctype = sippres__sub_ctype(ctx, s);

	if (ss->last.valid && ss->last.hint == s->w.hint && ss->last.content_type == ctype &&
	    ss->last.profile == profile && ss->last.flags == flags && ss->last.digium == s->digium &&
	    (ss->last.local_uri == local || strcmp(ss->last.local_uri, local) == 0) &&
	    (profile != SIPPRES_PROFILE_ASTERISK || ss->last.remote == remote || strcmp(ss->last.remote, remote) == 0)) {
		size_t need;

		if (ss->last.version == version || ss->last.body.version_len == 0) {
			*body = ss->last.body.data;
			*len = ss->last.body.len;
			return 0;
		}
		need = ss->last.body.len + 10;
		if (need > ss->patch_cap) {
			char *p = sippres__realloc(ctx, ss->patch, need);
			if (!p)
				return SIPPRES_E_NOMEM;
			ss->patch = p;
			ss->patch_cap = need;
		}
		r = sippres_body_patch_version(&ss->last.body, version, ss->patch, ss->patch_cap, len);
		if (r < 0)
			return r;
		*body = ss->patch;
		return 0;
	}
	body_base(s, &in);
	sippres__body_input_state(&in, st);
	in.exten = st->exten;
	in.local_uri = local;
	in.version = version;
	ss->last.valid = false;
	ss->last.body.size = sizeof(ss->last.body);
	r = sippres_body_render(ctx, ctype, &in, &ss->last.body);
	if (r < 0)
		return r;
	ss->last.valid = true;
	ss->last.hint = s->w.hint;
	ss->last.content_type = ctype;
	ss->last.profile = profile;
	ss->last.flags = flags;
	ss->last.digium = s->digium;
	ss->last.local_uri = local;
	ss->last.remote = remote;
	ss->last.version = version;
	*body = ss->last.body.data;
	*len = ss->last.body.len;
	return 0;
}

static const char *final_reason_name(uint8_t r)
{
	switch (r) {
	case SF_NORESOURCE: return "noresource";
	case SF_DEACTIVATED: return "deactivated";
	case SF_REJECTED: return "rejected";
	default: return "timeout";
	}
}

static int event_header(struct sippres_ctx *ctx, const struct sippres_sub *s, const char **out)
{
	struct sippres__subs *ss = ctx->subs;
	const char *name = sippres__event_name(s->event), *id = sippres__sub_str(s, SS_EVENT_ID);
	size_t need = strlen(name) + strlen(id) + 5;

	if (!id[0]) {
		*out = name;
		return 0;
	}
	if (need > ss->event_cap) {
		char *p = sippres__realloc(ctx, ss->event_hdr, need);
		if (!p)
			return SIPPRES_E_NOMEM;
		ss->event_hdr = p;
		ss->event_cap = need;
	}
	snprintf(ss->event_hdr, need, "%s;id=%s", name, id);
	*out = ss->event_hdr;
	return 0;
}

/* Hand one NOTIFY to the host. Returns 0, or 1 when the NOTIFY could not be
 * sent and the failure policy ended the subscription (already freed). */
static int emit(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason, bool final, uint8_t final_reason,
                const char *content_type, const char *body, size_t body_len)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres_notify n;
	int r;

	memset(&n, 0, sizeof(n));
	n.size = sizeof(n);
	n.reason = reason;
	n.cseq = s->cseq;
	n.terminated = final;
	n.require_eventlist = s->is_list;
	r = event_header(ctx, s, &n.event);
	if (r < 0)
		return r;
	if (final) {
		if (sippres__sub_asterisk(s))
			snprintf(ss->substate, sizeof(ss->substate), "terminated");
		else
			snprintf(ss->substate, sizeof(ss->substate), "terminated;reason=%s",
			         final_reason_name(final_reason));
	} else {
		uint64_t left = s->expires_at > ss->now ? (s->expires_at - ss->now) / 1000 : 0;
		size_t k;

		memcpy(ss->substate, "active;expires=", 15);
		k = sippres__dec(ss->substate + 15, left > UINT32_MAX ? UINT32_MAX : left);
		ss->substate[15 + k] = '\0';
	}
	n.subscription_state = ss->substate;
	n.content_type = content_type;
	n.body = body;
	n.body_len = body_len;
	n.call_id = sippres__sub_str(s, SS_CALL_ID);
	n.local_tag = sippres__sub_str(s, SS_LOCAL_TAG);
	n.remote_tag = sippres__sub_str(s, SS_REMOTE_TAG);
	n.remote_uri = sippres__sub_str(s, SS_REMOTE_URI);
	n.local_uri = sippres__sub_str(s, SS_LOCAL_URI);
	n.contact = sippres__sub_str(s, SS_CONTACT);
	s->cseq++;
	s->sent_any = 1;
	/* store first: a host that dies after sending must not reuse this CSeq */
	if (!final)
		sippres__sub_persist(ctx, s);
	if (ctx->cb.notify) {
		ctx->in_callback++;
		r = ctx->cb.notify(ctx->user_data, s, &n);
		ctx->in_callback--;
		if (r < 0 && !final) {
			sippres__log(ctx, SIPPRES_LOG_INFO, "NOTIFY for %s could not be sent", n.call_id);
			if (sippres__sub_notify_failed(ctx, s, 408))
				return 1;
		}
	}
	return 0;
}

/* A list subscription's NOTIFYs: the lists layer renders them, one at a
 * time, and each goes out here. */
static int send_list(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason, bool final,
                     uint8_t final_reason)
{
	struct sippres__rls_render_in in;
	struct sippres__rls_render rr;
	struct sippres__rls_chunk chunk;
	int r, e = 0;

	body_base(s, &in.base);
	in.content_type = sippres__sub_ctype(ctx, s);
	in.reason = reason;
	in.final = final;
	in.final_reason = final_reason_name(final_reason);
	in.max_size = s->ep->opts.max_notify_size ? s->ep->opts.max_notify_size : SIPPRES__DEFAULT_MAX_NOTIFY;
	r = sippres__rls_render_begin(ctx, s->w.rls, &in, &rr);
	if (r <= 0)
		return r;
	sippres__sub_batch(ctx, s, 0); /* this NOTIFY carries whatever was batched */
	while ((r = sippres__rls_render_next(&rr, &chunk)) > 0) {
		e = emit(ctx, s, reason, final && chunk.last, final_reason, chunk.content_type, chunk.body, chunk.len);
		if (e != 0)
			break; /* 1: the subscription ended */
	}
	sippres__rls_render_end(&rr, r == 0 && e == 0);
	return r < 0 ? r : e < 0 ? e : 0;
}

int sippres__sub_send(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason,
                      const struct sippres_exten_status *given, bool final, uint8_t final_reason)
{
	struct sippres_exten_status own;
	const struct sippres_exten_status *st = given;
	bool bump;
	uint32_t version = s->version;
	const char *body;
	size_t body_len;
	int r;

	if (s->is_list)
		return send_list(ctx, s, reason, final, final_reason);
	if (!st) {
		if (!s->w.hint)
			return SIPPRES_E_NOTFOUND;
		sippres__hint_status(ctx, s->w.hint, &own);
		st = &own;
	}
	bump = sippres__version_bumps(sippres__sub_asterisk(s), s->sent_any, reason, final_reason == SF_NORESOURCE);
	if (!bump)
		version = s->version - 1;
	r = render(ctx, s, st, version, &body, &body_len);
	if (r < 0)
		return r;
	if (bump)
		s->version++;
	return emit(ctx, s, reason, final, final_reason, sippres__sub_ctype(ctx, s), body, body_len);
}

int sippres__sub_list_changed(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	if (s->queued != SQ_NONE)
		return 0; /* the queued full-state NOTIFY will carry it */
	return sippres__sub_send(ctx, s, SIPPRES_NOTIFY_CHANGE, NULL, false, 0);
}

/* RFC 6665 4.2.2: these NOTIFY answers always end the subscription. */
static bool always_fatal(int status)
{
	return status == 481 || status == 404 || status == 405 || status == 410 || status == 416 ||
	       (status >= 480 && status <= 485) || status == 489 || status == 501 || status == 604;
}

int sippres__sub_notify_failed(struct sippres_ctx *ctx, struct sippres_sub *s, int status)
{
	if (!always_fatal(status) && s->failures < UINT8_MAX)
		s->failures++;
	if (always_fatal(status) || s->failures > s->ep->opts.notify_failure_limit) {
		sippres__log(ctx, SIPPRES_LOG_INFO, "subscription %s ended after NOTIFY answer %d",
		             sippres__sub_str(s, SS_CALL_ID), status);
		sippres__sub_end(ctx, s);
		return 1;
	}
	return 0;
}

int sippres__sub_finish(struct sippres_ctx *ctx, struct sippres_sub *s, const struct sippres_exten_status *st,
                        uint8_t final_reason)
{
	int r = sippres__sub_send(ctx, s, SIPPRES_NOTIFY_FINAL, st, true, final_reason);

	if (r == 1)
		return 0; /* already ended */
	sippres__sub_end(ctx, s);
	return r < 0 ? r : 1;
}

/* Does the subscription take an event of a device's calls alone? Only
 * dialog-info in the standard profile (RFC 4235: every dialog change);
 * Asterisk sends nothing while the extension state stays. */
static bool takes_calls_only(const struct sippres_ctx *ctx, const struct sippres_sub *s)
{
	return s && !sippres__sub_asterisk(s) && strcmp(sippres__sub_ctype(ctx, s), "application/dialog-info+xml") == 0;
}

/* A list member's event: do what the lists layer asks. */
static void member_event(struct sippres_ctx *ctx, struct sippres__hlink *l, const struct sippres_exten_status *st)
{
	struct sippres__rls *rls;
	struct sippres_sub *owner;
	uint32_t delay;
	int act;

	if (sippres__hint_event_calls_only(ctx) && !takes_calls_only(ctx, sippres__rls_of_link(l)->timer.owner))
		return;
	act = sippres__rls_member_event(l, st, &rls, &delay);

	owner = rls->timer.owner;
	if (!owner)
		return;
	if (act == SIPPRES__RLS_BATCH)
		sippres__sub_batch(ctx, owner, delay);
	else
		sippres__sub_list_changed(ctx, owner);
}

void sippres__subs_hint_event(struct sippres_ctx *ctx, struct sippres__hint *h, const struct sippres_exten_status *st)
{
	struct sippres__dnode *n, *next;

	for (n = h->links.head; n; n = next) {
		struct sippres__hlink *l = SIPPRES__CONTAINER_OF(n, struct sippres__hlink, node);
		struct sippres_sub *s;

		next = n->next;
		if (l->kind != SIPPRES__HLINK_SUB) {
			member_event(ctx, l, st);
			continue;
		}
		s = SIPPRES__CONTAINER_OF(l, struct sippres_sub, hl);
		if (st->reason == SIPPRES_REASON_REMOVED) {
			sippres__sub_finish(ctx, s, st, SF_NORESOURCE);
			continue;
		}
		if (s->queued != SQ_NONE)
			continue; /* the queued NOTIFY will carry the current state */
		if (st->reason == SIPPRES_REASON_PRESENCE && !sippres__sub_asterisk(s) && !shows_presence(sippres__sub_ctype(ctx, s)))
			continue;
		if (sippres__hint_event_calls_only(ctx) && !takes_calls_only(ctx, s))
			continue;
		sippres__sub_send(ctx, s, SIPPRES_NOTIFY_CHANGE, st, false, 0);
	}
	ctx->subs->last.valid = false;
}
