/* SPDX-License-Identifier: MIT */
/* The subscription engine: RFC 6665 notifier decisions, subscription
 * lifecycle, NOTIFY production (render once per hint, patch per
 * subscription), expiry and NOTIFY failure policy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "subs-private.h"
#include "record.h"
#include "bodies/bodies-private.h"

#define MAX_FIELD 2048
#define DEFAULT_EXPIRY 3600

struct sippres__subs {
	struct sippres__map endpoints;
	struct sippres__map dialogs;
	struct sippres_sub *all_head, *all_tail;
	size_t count;
	struct sippres__heap heap;   /* subscriptions by expiry */
	struct sippres__heap batch;  /* list subscriptions with a batched NOTIFY due (struct sippres__batch) */
	struct sippres_sub *q_head, *q_tail;
	char **types;
	size_t ntypes, types_cap;
	char *patch;            /* a body with its version digits replaced */
	size_t patch_cap;
	uint8_t *record;        /* the persistence record being handed over */
	char *event_hdr;        /* Event header value of the NOTIFY being sent */
	size_t event_cap;
	char substate[64];      /* Subscription-State value */
	char tag[24];           /* a local tag for a response */
	uint64_t now;           /* the latest now_ms the host gave */
	/* the body rendered last, for reuse across the subscriptions of one event */
	struct {
		bool valid;
		struct sippres_body body;
		const struct sippres__hint *hint;
		const char *content_type;
		uint32_t profile, flags, version;
		uint8_t digium;
		const char *local_uri, *remote;
	} last;
};

/* ----------------------------------------------------------------- helpers */

static void set_now(struct sippres_ctx *ctx, uint64_t now)
{
	if (now > ctx->subs->now)
		ctx->subs->now = now;
}

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
	if (sippres_body_supported(ctx, buf) != 1)
		return NULL;
	for (size_t i = 0; i < ss->ntypes; i++) {
		if (strcmp(ss->types[i], buf) == 0)
			return ss->types[i];
	}
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

static bool is_asterisk(const struct sippres_sub *s)
{
	return s->ep->opts.profile == SIPPRES_PROFILE_ASTERISK;
}

static uint32_t body_flags(const struct sippres__endpoint *ep)
{
	uint32_t f = ep->opts.body_options;

	if (ep->opts.flags & SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING)
		f |= SIPPRES_BODY_EARLY_INUSE_RINGING;
	return f;
}

static uint32_t dialog_hash(struct sippres_ctx *ctx, const char *call_id, const char *local_tag)
{
	return sippres__hash(ctx->hash_seed, call_id, false) ^ (sippres__hash(ctx->hash_seed, local_tag, false) * 31u);
}

/* Write a decimal number; returns its length. */
static size_t u32_to_str(char *out, uint32_t v)
{
	char tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* ---------------------------------------------------------------- endpoints */

static struct sippres__endpoint *endpoint_find(struct sippres_ctx *ctx, const char *name)
{
	uint32_t h = sippres__hash(ctx->hash_seed, name, false);

	for (struct sippres__hnode *n = sippres__map_chain(&ctx->subs->endpoints, h); n; n = n->next) {
		struct sippres__endpoint *e = SIPPRES__CONTAINER_OF(n, struct sippres__endpoint, node);
		if (n->hash == h && strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

static void endpoint_destroy(struct sippres_ctx *ctx, struct sippres__endpoint *e)
{
	sippres__free(ctx, e->name);
	sippres__free(ctx, e->context);
	sippres__free(ctx, e->sub_context);
	sippres__free(ctx, e);
}

#define ENDPOINT_V1_SIZE (offsetof(struct sippres_endpoint, max_notify_size) + sizeof(uint32_t))

SIPPRES_EXPORT int sippres_endpoint_set(struct sippres_ctx *ctx, const char *name, const struct sippres_endpoint *ep)
{
	struct sippres__endpoint *e, *old;
	const char *context, *sub_context;
	int r;

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
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	e = sippres__calloc(ctx, 1, sizeof(*e));
	if (!e)
		return SIPPRES_E_NOMEM;
	e->name = sippres__strdup(ctx, name);
	e->context = sippres__strdup(ctx, context);
	e->sub_context = sippres__strdup(ctx, sub_context);
	if (!e->name || !e->context || !e->sub_context) {
		endpoint_destroy(ctx, e);
		return SIPPRES_E_NOMEM;
	}
	memcpy(&e->opts, ep, ENDPOINT_V1_SIZE);
	e->opts.size = sizeof(e->opts);
	e->opts.context = e->context;
	e->opts.subscribe_context = e->sub_context;
	if (e->opts.max_expiry == 0)
		e->opts.max_expiry = DEFAULT_EXPIRY;
	if (e->opts.default_expiry == 0)
		e->opts.default_expiry = DEFAULT_EXPIRY;
	old = endpoint_find(ctx, name);
	if (old) {
		/* keep the object the subscriptions point to; swap its contents */
		struct sippres__endpoint tmp = *old;

		old->context = e->context;
		old->sub_context = e->sub_context;
		old->opts = e->opts;
		e->context = tmp.context;
		e->sub_context = tmp.sub_context;
		endpoint_destroy(ctx, e);
		return 1;
	}
	sippres__map_insert(ctx, &ctx->subs->endpoints, &e->node, sippres__hash(ctx->hash_seed, name, false));
	return 0;
}

/* ----------------------------------------------------------- subscriptions */

static void queue_remove(struct sippres__subs *ss, struct sippres_sub *s)
{
	struct sippres_sub **pp;

	if (s->queued == SQ_NONE)
		return;
	/* the queue is short-lived (drained by every handle_timeout) */
	for (pp = &ss->q_head; *pp; pp = &(*pp)->qnext) {
		if (*pp == s) {
			*pp = s->qnext;
			break;
		}
	}
	if (ss->q_tail == s) {
		ss->q_tail = NULL;
		for (struct sippres_sub *q = ss->q_head; q; q = q->qnext)
			ss->q_tail = q;
	}
	s->qnext = NULL;
	s->queued = SQ_NONE;
}

static void queue_push(struct sippres__subs *ss, struct sippres_sub *s, uint8_t what)
{
	if (s->queued != SQ_NONE) {
		/* a pending final or drop wins; otherwise keep the first kind
		 * (an initial NOTIFY also carries a refresh's new expiry) */
		if (what == SQ_FINAL || what == SQ_DROP)
			s->queued = what;
		return;
	}
	s->queued = what;
	s->qnext = NULL;
	if (ss->q_tail)
		ss->q_tail->qnext = s;
	else
		ss->q_head = s;
	ss->q_tail = s;
}

static void sub_unlink_hint(struct sippres_sub *s)
{
	if (!s->hint)
		return;
	sippres__hlink_remove(s->hint, &s->hl);
	s->hint = NULL;
}

static void sub_free(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	struct sippres__subs *ss = ctx->subs;

	if (ss->last.valid && ss->last.local_uri == sippres__sub_str(s, SS_LOCAL_URI))
		ss->last.valid = false; /* the cache key points into this subscription */
	sub_unlink_hint(s);
	sippres__heap_remove(&ss->heap, s);
	if (s->rls) {
		sippres__heap_remove(&ss->batch, (struct sippres__batch *)(void *)s->rls);
		sippres__rls_free(ctx, s->rls);
		s->rls = NULL;
	}
	queue_remove(ss, s);
	sippres__map_remove(&ss->dialogs, &s->node);
	if (s->aprev)
		s->aprev->anext = s->anext;
	else
		ss->all_head = s->anext;
	if (s->anext)
		s->anext->aprev = s->aprev;
	else
		ss->all_tail = s->aprev;
	ss->count--;
	s->ep->nsubs--;
	sippres__free(ctx, s);
}

/* The subscription is over: tell the host, then free it. */
static void sub_end(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	if (ctx->cb.forget) {
		ctx->in_callback++;
		ctx->cb.forget(ctx->user_data, s);
		ctx->in_callback--;
	}
	sub_free(ctx, s);
}

static void persist(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	struct sippres__subs *ss = ctx->subs;
	size_t len;

	if (!ctx->cb.persist || s->queued == SQ_DROP)
		return;
	if (!ss->record) {
		ss->record = sippres__malloc(ctx, SIPPRES__RECORD_MAX);
		if (!ss->record) {
			sippres__log(ctx, SIPPRES_LOG_WARNING, "out of memory: subscription %s not stored",
			       sippres__sub_str(s, SS_CALL_ID));
			return;
		}
	}
	len = sippres__record_write(s, ss->record, SIPPRES__RECORD_MAX);
	if (len == 0)
		return;
	ctx->in_callback++;
	ctx->cb.persist(ctx->user_data, s, ss->record, len);
	ctx->in_callback--;
}

/* Does this body type show presence states? (Standard profile: skip
 * presence-only changes for the built-in types that do not.) */
static bool shows_presence(const char *content_type)
{
	return strcmp(content_type, "application/dialog-info+xml") != 0 &&
	       strcmp(content_type, "application/xpidf+xml") != 0 &&
	       strcmp(content_type, "application/cpim-pidf+xml") != 0;
}

void sippres__sub_body_input(const struct sippres_sub *s, const struct sippres_exten_status *st, const char *exten,
                       const char *local_uri, uint32_t version, struct sippres_body_input *in)
{
	memset(in, 0, sizeof(*in));
	in->size = sizeof(*in);
	in->profile = s->ep->opts.profile;
	in->flags = body_flags(s->ep);
	in->exten = exten;
	in->local_uri = local_uri;
	in->remote_uri = sippres__sub_str(s, SS_BODY_REMOTE);
	in->user_agent = s->digium ? sippres__sub_str(s, SS_USER_AGENT) : NULL;
	in->exten_state = st->exten_state;
	in->presence_state = st->presence_state == SIPPRES_PRESENCE_INVALID ? SIPPRES_PRESENCE_NOT_SET
	                                                                     : st->presence_state;
	in->presence_subtype = st->presence_subtype;
	in->presence_message = st->presence_message;
	in->devices = st->devices;
	in->n_devices = st->n_devices;
	in->causing_call = st->causing_call;
	in->version = version;
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

	if (ss->last.valid && ss->last.hint == s->hint && ss->last.content_type == s->content_type &&
	    ss->last.profile == profile && ss->last.flags == flags && ss->last.digium == s->digium &&
	    strcmp(ss->last.local_uri, local) == 0 &&
	    (profile != SIPPRES_PROFILE_ASTERISK || strcmp(ss->last.remote, remote) == 0)) {
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
	sippres__sub_body_input(s, st, st->exten, local, version, &in);
	ss->last.valid = false;
	ss->last.body.size = sizeof(ss->last.body);
	r = sippres_body_render(ctx, s->content_type, &in, &ss->last.body);
	if (r < 0)
		return r;
	ss->last.valid = true;
	ss->last.hint = s->hint;
	ss->last.content_type = s->content_type;
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

const char *sippres__final_reason_name(uint8_t r)
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

/* Send one NOTIFY. final: the subscription ends after it (the caller frees).
 * Returns 0, 1 when the NOTIFY failed and the failure policy ended the
 * subscription (already freed), or < 0 (nothing sent). */
static int send_notify(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason,
                       const struct sippres_exten_status *given, bool final, uint8_t final_reason);

static int notify_failed(struct sippres_ctx *ctx, struct sippres_sub *s, int status);

/* Hand one NOTIFY to the host. Returns 0, or 1 when the NOTIFY could not be
 * sent and the failure policy ended the subscription (already freed). */
int sippres__subs_emit(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason, bool final, uint8_t final_reason,
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
	n.require_eventlist = s->rls != NULL;
	r = event_header(ctx, s, &n.event);
	if (r < 0)
		return r;
	if (final) {
		if (is_asterisk(s))
			snprintf(ss->substate, sizeof(ss->substate), "terminated");
		else
			snprintf(ss->substate, sizeof(ss->substate), "terminated;reason=%s", sippres__final_reason_name(final_reason));
	} else {
		uint64_t left = s->expires_at > ss->now ? (s->expires_at - ss->now) / 1000 : 0;
		memcpy(ss->substate, "active;expires=", 15);
		u32_to_str(ss->substate + 15, left > UINT32_MAX ? UINT32_MAX : (uint32_t)left);
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
		persist(ctx, s);
	if (ctx->cb.notify) {
		ctx->in_callback++;
		r = ctx->cb.notify(ctx->user_data, s, &n);
		ctx->in_callback--;
		if (r < 0 && !final) {
			sippres__log(ctx, SIPPRES_LOG_INFO, "NOTIFY for %s could not be sent", n.call_id);
			if (notify_failed(ctx, s, 408))
				return 1;
		}
	}
	return 0;
}

static int send_notify(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason,
                       const struct sippres_exten_status *given, bool final, uint8_t final_reason)
{
	struct sippres_exten_status own;
	const struct sippres_exten_status *st = given;
	bool bump;
	uint32_t version = s->version;
	const char *body;
	size_t body_len;
	int r;

	if (s->rls)
		return sippres__rls_notify(ctx, s, reason, final, final_reason);
	if (!st) {
		if (!s->hint)
			return SIPPRES_E_NOTFOUND;
		sippres__hint_status(ctx, s->hint, &own);
		st = &own;
	}
	/* Asterisk re-sends its cached body on refresh and termination, so the
	 * dialog-info version stays; the standard profile counts every NOTIFY. */
	bump = sippres__version_bumps(s, reason, final_reason);
	if (!bump)
		version = s->version - 1;
	r = render(ctx, s, st, version, &body, &body_len);
	if (r < 0)
		return r;
	if (bump)
		s->version++;
	return sippres__subs_emit(ctx, s, reason, final, final_reason, s->content_type, body, body_len);
}

bool sippres__version_bumps(const struct sippres_sub *s, uint32_t reason, uint8_t final_reason)
{
	return !is_asterisk(s) || !s->sent_any ||
	       !(reason == SIPPRES_NOTIFY_REFRESH || (reason == SIPPRES_NOTIFY_FINAL && final_reason != SF_NORESOURCE));
}

uint64_t sippres__subs_now(const struct sippres_ctx *ctx)
{
	return ctx->subs->now;
}

int sippres__subs_batch(struct sippres_ctx *ctx, struct sippres_sub *s, uint64_t at)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres__batch *b = (struct sippres__batch *)(void *)s->rls;

	if (!b)
		return 0;
	if (at == 0) {
		sippres__heap_remove(&ss->batch, b);
		return 0;
	}
	if (b->idx != SIPPRES__NOT_IN_HEAP)
		return 0; /* one timer at a time: the NOTIFY carries everything up to then */
	if (s->queued != SQ_NONE)
		return 0; /* a full-state NOTIFY is on its way */
	if (sippres__heap_reserve(ctx, &ss->batch, ss->batch.n + 1) < 0)
		return sippres__subs_list_changed(ctx, s); /* cannot wait: send now */
	b->at = at;
	sippres__heap_push(&ss->batch, b);
	return 0;
}

int sippres__subs_list_changed(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	if (s->queued != SQ_NONE)
		return 0; /* the queued full-state NOTIFY will carry it */
	return send_notify(ctx, s, SIPPRES_NOTIFY_CHANGE, NULL, false, 0);
}

/* RFC 6665 4.2.2: these NOTIFY answers always end the subscription. */
static bool always_fatal(int status)
{
	return status == 481 || status == 404 || status == 405 || status == 410 || status == 416 ||
	       (status >= 480 && status <= 485) || status == 489 || status == 501 || status == 604;
}

/* Count a failed NOTIFY; returns 1 when the subscription was ended (freed). */
static int notify_failed(struct sippres_ctx *ctx, struct sippres_sub *s, int status)
{
	if (!always_fatal(status) && s->failures < UINT8_MAX)
		s->failures++;
	if (always_fatal(status) || s->failures > s->ep->opts.notify_failure_limit) {
		sippres__log(ctx, SIPPRES_LOG_INFO, "subscription %s ended after NOTIFY answer %d",
		       sippres__sub_str(s, SS_CALL_ID), status);
		sub_end(ctx, s);
		return 1;
	}
	return 0;
}

/* The final NOTIFY, then the end. */
static int finish(struct sippres_ctx *ctx, struct sippres_sub *s, const struct sippres_exten_status *st,
                  uint8_t final_reason)
{
	int r = send_notify(ctx, s, SIPPRES_NOTIFY_FINAL, st, true, final_reason);

	if (r == 1)
		return 0; /* already ended */
	sub_end(ctx, s);
	return r < 0 ? r : 1;
}

void sippres__subs_hint_event(struct sippres_ctx *ctx, struct sippres__hint *h, const struct sippres_exten_status *st)
{
	struct sippres__dnode *n, *next;

	for (n = h->links.head; n; n = next) {
		struct sippres__hlink *l = SIPPRES__CONTAINER_OF(n, struct sippres__hlink, node);
		struct sippres_sub *s;

		next = n->next;
		if (l->kind == SIPPRES__HLINK_MEMBER) {
			sippres__rls_leaf_event(ctx, l, st);
			continue;
		}
		s = SIPPRES__CONTAINER_OF(l, struct sippres_sub, hl);
		if (st->reason == SIPPRES_REASON_REMOVED) {
			finish(ctx, s, st, SF_NORESOURCE);
			continue;
		}
		if (s->queued != SQ_NONE)
			continue; /* the queued NOTIFY will carry the current state */
		if (st->reason == SIPPRES_REASON_PRESENCE && !is_asterisk(s) && !shows_presence(s->content_type))
			continue;
		send_notify(ctx, s, SIPPRES_NOTIFY_CHANGE, st, false, 0);
	}
	ctx->subs->last.valid = false;
}

/* ------------------------------------------------------------ SUBSCRIBE */

#define REQ_V1_SIZE (offsetof(struct sippres_subscribe_req, local_tag) + sizeof(const char *))
#define RES_V1_SIZE (offsetof(struct sippres_subscribe_res, accept) + sizeof(const char *))

static void decide(struct sippres_subscribe_res *res, uint32_t status, const char *reason)
{
	res->status = status;
	res->reason = reason;
}

static void res_clear(struct sippres_subscribe_res *res)
{
	size_t size = res->size;

	memset(res, 0, RES_V1_SIZE);
	res->size = size;
}

static bool field_ok(const char *s, bool required)
{
	if (!s)
		return !required;
	if (required && !s[0])
		return false;
	return strnlen(s, MAX_FIELD + 1) <= MAX_FIELD;
}

/* The subscriber URI as Asterisk prints it in From/To context: no port, no parameters. */
static size_t strip_uri(const char *uri, char *out, size_t cap)
{
	const char *at = strchr(uri, '@'), *host = at ? at + 1 : strchr(uri, ':');
	const char *end;
	size_t n;

	if (!host)
		host = uri;
	else if (!at)
		host++;
	end = host;
	if (*end == '[') {
		while (*end && *end != ']')
			end++;
		if (*end)
			end++;
	} else {
		while (*end && *end != ':' && *end != ';' && *end != '?' && *end != '>')
			end++;
	}
	n = (size_t)(end - uri);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, uri, n);
	out[n] = '\0';
	return n;
}

struct sub_fields {
	const char *v[SS_COUNT];
};

static int sub_create(struct sippres_ctx *ctx, struct sippres__endpoint *ep, struct sippres__hint *h, int event,
                      const char *content_type, const struct sub_fields *f, struct sippres_sub **ret)
{
	struct sippres__subs *ss = ctx->subs;
	size_t lens[SS_COUNT], total = 0;
	struct sippres_sub *s;
	char *w;

	for (int i = 0; i < SS_COUNT; i++) {
		lens[i] = f->v[i] ? strlen(f->v[i]) : 0;
		total += lens[i] + 1;
	}
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
	if (h)
		sippres__hlink_add(h, &s->hl);
	s->aprev = ss->all_tail;
	if (ss->all_tail)
		ss->all_tail->anext = s;
	else
		ss->all_head = s;
	ss->all_tail = s;
	ss->count++;
	ep->nsubs++;
	sippres__map_insert(ctx, &ss->dialogs, &s->node,
	              dialog_hash(ctx, sippres__sub_str(s, SS_CALL_ID), sippres__sub_str(s, SS_LOCAL_TAG)));
	*ret = s;
	return 0;
}

static void schedule(struct sippres__subs *ss, struct sippres_sub *s, uint64_t expires_at)
{
	s->expires_at = expires_at;
	if (s->heap_idx == SIPPRES__NOT_IN_HEAP)
		sippres__heap_push(&ss->heap, s); /* room was reserved at creation */
	else
		sippres__heap_update(&ss->heap, s);
}

SIPPRES_EXPORT struct sippres_sub *sippres_sub_find(struct sippres_ctx *ctx, const char *call_id,
                                                    const char *local_tag)
{
	uint32_t h;

	if (!ctx || !call_id || !local_tag)
		return NULL;
	h = dialog_hash(ctx, call_id, local_tag);
	for (struct sippres__hnode *n = sippres__map_chain(&ctx->subs->dialogs, h); n; n = n->next) {
		struct sippres_sub *s = SIPPRES__CONTAINER_OF(n, struct sippres_sub, node);
		if (n->hash == h && strcmp(sippres__sub_str(s, SS_CALL_ID), call_id) == 0 &&
		    strcmp(sippres__sub_str(s, SS_LOCAL_TAG), local_tag) == 0)
			return s;
	}
	return NULL;
}

SIPPRES_EXPORT int sippres_subscribe(struct sippres_ctx *ctx, const struct sippres_subscribe_req *req,
                                     uint64_t now_ms, struct sippres_subscribe_res *res, struct sippres_sub **ret)
{
	struct sippres__subs *ss;
	struct sippres__endpoint *ep;
	struct sippres__hint *h;
	struct sub_fields f;
	struct sippres_sub *s;
	struct sippres_exten_status st;
	const struct sippres__list_def *def;
	struct sippres__rls *rls = NULL;
	char local_uri[MAX_FIELD * 2 + 32], body_remote[MAX_FIELD], host[MAX_FIELD + 3];
	const char *content_type;
	uint64_t requested;
	bool asterisk, fetch = false;
	int event, r;

	if (!ctx || !req || !res || !ret)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(req, REQ_V1_SIZE, sizeof(*req));
	if (r < 0)
		return r;
	if (res->size < RES_V1_SIZE)
		return SIPPRES_E_ABI;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	if (!req->endpoint || !field_ok(req->ruri_user, false) || !field_ok(req->ruri_host, false) ||
	    !field_ok(req->ruri_scheme, false) || !field_ok(req->from_uri, false) || !field_ok(req->from_tag, false) ||
	    !field_ok(req->call_id, false) || !field_ok(req->contact, false) || !field_ok(req->event_id, false) ||
	    !field_ok(req->user_agent, false) || !field_ok(req->local_tag, false) || (req->n_accept && !req->accept) ||
	    req->ruri_port > 65535 || (req->flags & ~SIPPRES_SUBSCRIBE_EVENTLIST))
		return SIPPRES_E_INVAL;
	ss = ctx->subs;
	set_now(ctx, now_ms);
	res_clear(res);

	/* Asterisk's order of checks (asterisk-behaviour.md 4.1) */
	ep = sippres__name_ok(req->endpoint) ? endpoint_find(ctx, req->endpoint) : NULL;
	if (!ep) {
		decide(res, 403, "Forbidden");
		return 0;
	}
	asterisk = ep->opts.profile == SIPPRES_PROFILE_ASTERISK;
	if (ep->opts.flags & SIPPRES_ENDPOINT_DENY_SUBSCRIBE) {
		decide(res, 603, "Decline");
		return 0;
	}
	if (!req->ruri_scheme || !(sippres__streq_nocase(req->ruri_scheme, "sip") || sippres__streq_nocase(req->ruri_scheme, "sips"))) {
		decide(res, 416, "Unsupported URI Scheme");
		return 0;
	}
	if (!req->call_id || !req->call_id[0] || !req->from_tag || !req->from_tag[0] || !req->from_uri ||
	    !req->from_uri[0] || !req->contact || !req->contact[0] || !req->ruri_host || !req->ruri_host[0]) {
		decide(res, 400, "Bad Request");
		return 0;
	}
	/* an IPv6 address goes into URIs in brackets, whether or not the host's
	 * parser kept them */
	if (strchr(req->ruri_host, ':') && req->ruri_host[0] != '[')
		snprintf(host, sizeof(host), "[%s]", req->ruri_host);
	else
		snprintf(host, sizeof(host), "%s", req->ruri_host);
	if (req->expires == 0) {
		if (asterisk) {
			decide(res, 400, "Bad Request");
			return 0;
		}
		fetch = true; /* RFC 6665 4.4.3: one NOTIFY with the current state */
	}
	requested = req->expires < 0 ? ep->opts.default_expiry : (uint64_t)req->expires;
	if (!fetch && requested < ep->opts.sub_min_expiry && (asterisk || requested < 3600)) {
		decide(res, 423, "Interval Too Brief");
		if (!asterisk)
			res->min_expires = ep->opts.sub_min_expiry;
		return 0;
	}
	event = sippres__event_parse(req->event);
	if (event < 0) {
		decide(res, 489, "Bad Event");
		if (!asterisk)
			res->allow_events = "presence, dialog";
		return 0;
	}
	if (req->n_accept)
		content_type = sippres__accept_choose(ctx, event, asterisk, req->accept, req->n_accept);
	else
		content_type = sippres__content_type_intern(ctx, event == SIPPRES__EVENT_DIALOG ? "application/dialog-info+xml"
		                                                                     : "application/pidf+xml",
		                                      event == SIPPRES__EVENT_DIALOG ? 27 : 20, false);
	if (!content_type) {
		if (asterisk) {
			decide(res, 489, "Bad Event");
		} else {
			decide(res, 406, "Not Acceptable");
			res->accept = sippres__accept_list(event);
		}
		return 0;
	}
	if (!req->ruri_user || !sippres__name_ok(req->ruri_user)) {
		decide(res, 404, "Not Found");
		return 0;
	}
	memset(&st, 0, sizeof(st));
	h = NULL;
	def = (req->flags & SIPPRES_SUBSCRIBE_EVENTLIST) ? sippres__list_find(ctx, req->ruri_user, sippres__event_name(event))
	                                                  : NULL;
	if (def) {
		/* RFC 4662: a list subscription (asterisk-behaviour.md 3.1) */
		char scheme[8];

		snprintf(scheme, sizeof(scheme), "%s", req->ruri_scheme);
		for (char *p = scheme; *p; p++)
			*p = (char)sippres__ascii_lower((unsigned char)*p);
		r = sippres__rls_build(ctx, def, ep->sub_context, scheme, host, req->ruri_port, &rls);
		if (r == SIPPRES_E_NOTFOUND) {
			decide(res, 500, "Server Internal Error");
			return 0;
		}
		if (r < 0)
			return r;
	} else {
		r = sippres__hint_lookup(ctx, ep->sub_context, req->ruri_user, &h);
		if (r == SIPPRES_E_NOTFOUND || r == SIPPRES_E_INVAL) {
			decide(res, 404, "Not Found");
			return 0;
		}
		if (r < 0)
			return r;
		sippres__hint_status(ctx, h, &st);
		if (st.presence_state == SIPPRES_PRESENCE_INVALID && !asterisk) {
			decide(res, 404, "Not Found");
			return 0;
		}
	}

	if (!(req->local_tag && req->local_tag[0])) {
		/* 64 random bits as 16 hex digits */
		uint8_t rnd[8];
		static const char hex[] = SIPPRES__ALPHA_HEX;

		r = sippres_ctx_random(ctx, rnd, sizeof(rnd));
		if (r < 0) {
			sippres__rls_free(ctx, rls);
			return r;
		}
		for (int i = 0; i < 8; i++) {
			ss->tag[2 * i] = hex[rnd[i] >> 4];
			ss->tag[2 * i + 1] = hex[rnd[i] & 15];
		}
		ss->tag[16] = '\0';
	}
	if (sippres_sub_find(ctx, req->call_id, req->local_tag && req->local_tag[0] ? req->local_tag : ss->tag)) {
		sippres__rls_free(ctx, rls);
		return SIPPRES_E_EXISTS;
	}
	if (req->ruri_port)
		snprintf(local_uri, sizeof(local_uri), "%s:%s@%s:%u", req->ruri_scheme, req->ruri_user, host,
		         req->ruri_port);
	else
		snprintf(local_uri, sizeof(local_uri), "%s:%s@%s", req->ruri_scheme, req->ruri_user, host);
	for (char *p = local_uri; *p && *p != ':'; p++)
		*p = (char)sippres__ascii_lower((unsigned char)*p);
	strip_uri(req->from_uri, body_remote, sizeof(body_remote));

	memset(&f, 0, sizeof(f));
	f.v[SS_CALL_ID] = req->call_id;
	f.v[SS_LOCAL_TAG] = req->local_tag && req->local_tag[0] ? req->local_tag : ss->tag;
	f.v[SS_REMOTE_TAG] = req->from_tag;
	f.v[SS_REMOTE_URI] = req->from_uri;
	f.v[SS_CONTACT] = req->contact;
	f.v[SS_LOCAL_URI] = local_uri;
	f.v[SS_EVENT_ID] = req->event_id;
	f.v[SS_USER_AGENT] = req->user_agent;
	f.v[SS_BODY_REMOTE] = body_remote;
	r = sub_create(ctx, ep, h, event, content_type, &f, &s);
	if (r < 0) {
		sippres__rls_free(ctx, rls);
		return r;
	}
	if (rls) {
		s->rls = rls;
		sippres__rls_attach(rls, s);
		res->require_eventlist = 1;
	}
	decide(res, 200, "OK");
	res->local_tag = sippres__sub_str(s, SS_LOCAL_TAG);
	if (fetch) {
		res->expires = 0;
		s->expires_at = now_ms;
		queue_push(ss, s, SQ_FINAL);
		s->final_reason = SF_TIMEOUT;
	} else {
		res->expires = (uint32_t)(requested < ep->opts.max_expiry ? requested : ep->opts.max_expiry);
		schedule(ss, s, now_ms + (uint64_t)res->expires * 1000);
		if (st.presence_state == SIPPRES_PRESENCE_INVALID) {
			/* Asterisk: the first body cannot be made, the subscription
			 * ends silently after the 200 */
			queue_push(ss, s, SQ_DROP);
		} else {
			queue_push(ss, s, SQ_INITIAL);
			persist(ctx, s);
		}
	}
	*ret = s;
	return 0;
}

/* Asterisk rebuilds a list's tree at each refresh and replaces it when its
 * top-level members changed, carrying the version over. 1: nothing left. */
static int refresh_list(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	const struct sippres__list_def *def = sippres__list_find(ctx, sippres__rls_name(s->rls), sippres__event_name(s->event));
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
	sippres__heap_remove(&ctx->subs->batch, (struct sippres__batch *)(void *)s->rls);
	sippres__rls_free(ctx, s->rls);
	s->rls = nr;
	sippres__rls_attach(nr, s);
	return 0;
}

SIPPRES_EXPORT int sippres_sub_refresh(struct sippres_ctx *ctx, struct sippres_sub *s, int64_t expires,
                                       uint64_t now_ms, struct sippres_subscribe_res *res)
{
	struct sippres__subs *ss;
	uint64_t requested;
	bool asterisk;

	if (!ctx || !s || !res)
		return SIPPRES_E_INVAL;
	if (res->size < RES_V1_SIZE)
		return SIPPRES_E_ABI;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	ss = ctx->subs;
	set_now(ctx, now_ms);
	res_clear(res);
	asterisk = is_asterisk(s);
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
		persist(ctx, s);
		s->final_reason = SF_TIMEOUT;
		queue_push(ss, s, SQ_FINAL);
		return 0;
	}
	/* RFC 6665 4.2.1.4: a too short refresh gets 423 too (Asterisk does not check) */
	if (!asterisk && requested < s->ep->opts.sub_min_expiry && requested < 3600) {
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
			queue_push(ss, s, SQ_FINAL);
			return 0;
		}
	}
	schedule(ss, s, now_ms + (uint64_t)res->expires * 1000);
	queue_push(ss, s, SQ_REFRESH);
	persist(ctx, s);
	return 0;
}

SIPPRES_EXPORT int sippres_sub_notify_result(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t cseq,
                                             int sip_status, uint64_t now_ms)
{
	if (!ctx || !s || sip_status < 100 || sip_status > 699)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	if (cseq == 0 || cseq >= s->cseq)
		return SIPPRES_E_INVAL; /* no such NOTIFY was sent */
	set_now(ctx, now_ms);
	if (sip_status < 200)
		return 0;
	if (cseq < s->acked)
		return 0; /* a late answer to an older NOTIFY says nothing about the dialog now */
	s->acked = cseq;
	if (sip_status < 300) {
		if (sip_status >= 200)
			s->failures = 0;
		return 0;
	}
	return notify_failed(ctx, s, sip_status);
}

SIPPRES_EXPORT int sippres_sub_terminate(struct sippres_ctx *ctx, struct sippres_sub *s, uint64_t now_ms)
{
	if (!ctx || !s)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	set_now(ctx, now_ms);
	if (s->queued == SQ_DROP || !s->hint) {
		sub_end(ctx, s);
		return 0;
	}
	return finish(ctx, s, NULL, SF_DEACTIVATED) < 0 ? SIPPRES_E_NOMEM : 0;
}

SIPPRES_EXPORT int sippres_endpoint_remove(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__endpoint *e;
	struct sippres_sub *s, *next;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	e = endpoint_find(ctx, name);
	if (!e)
		return SIPPRES_E_NOTFOUND;
	for (s = ctx->subs->all_head; s && e->nsubs; s = next) {
		next = s->anext;
		if (s->ep != e)
			continue;
		if (s->queued == SQ_DROP)
			sub_end(ctx, s);
		else
			finish(ctx, s, NULL, SF_DEACTIVATED);
		/* finish may free the next subscription only if it is s itself */
	}
	sippres__map_remove(&ctx->subs->endpoints, &e->node);
	endpoint_destroy(ctx, e);
	return 0;
}

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
	size_t size;

	if (!ctx || !s || !info)
		return SIPPRES_E_INVAL;
	size = info->size;
	if (size < INFO_V1_SIZE)
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
	if (size > sizeof(i)) {
		memset(info, 0, size);
		size = sizeof(i);
	}
	memcpy(info, &i, size);
	info->size = size;
	return 0;
}

SIPPRES_EXPORT int sippres_sub_foreach(struct sippres_ctx *ctx, int (*fn)(void *user_data, struct sippres_sub *sub),
                                       void *user_data)
{
	int n = 0;

	if (!ctx || !fn)
		return SIPPRES_E_INVAL;
	ctx->in_callback++;
	for (struct sippres_sub *s = ctx->subs->all_head; s; s = s->anext) {
		n++;
		if (fn(user_data, s) < 0)
			break;
	}
	ctx->in_callback--;
	return n;
}

SIPPRES_EXPORT size_t sippres_sub_count(const struct sippres_ctx *ctx)
{
	return ctx ? ctx->subs->count : 0;
}

/* ------------------------------------------------------------------ time */

SIPPRES_EXPORT int sippres_ctx_set_time(struct sippres_ctx *ctx, uint64_t now_ms)
{
	if (!ctx)
		return SIPPRES_E_INVAL;
	set_now(ctx, now_ms);
	return 0;
}

SIPPRES_EXPORT int sippres_ctx_next_timeout(struct sippres_ctx *ctx, uint64_t now_ms, uint64_t *deadline_ms)
{
	struct sippres_sub *top;

	if (!ctx || !deadline_ms)
		return SIPPRES_E_INVAL;
	set_now(ctx, now_ms);
	if (ctx->subs->q_head) {
		*deadline_ms = now_ms;
		return 1;
	}
	top = sippres__heap_top(&ctx->subs->heap);
	{
		struct sippres__batch *b = sippres__heap_top(&ctx->subs->batch);

		if (!top && !b)
			return 0;
		if (top && (!b || top->expires_at <= b->at))
			*deadline_ms = top->expires_at;
		else
			*deadline_ms = b->at;
	}
	return 1;
}

SIPPRES_EXPORT int sippres_ctx_handle_timeout(struct sippres_ctx *ctx, uint64_t now_ms)
{
	struct sippres__subs *ss;
	struct sippres_sub *s;
	int sent = 0, err = 0;

	if (!ctx)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	ss = ctx->subs;
	set_now(ctx, now_ms);
	while ((s = ss->q_head)) {
		uint8_t what = s->queued;
		int r;

		ss->q_head = s->qnext;
		if (!ss->q_head)
			ss->q_tail = NULL;
		s->qnext = NULL;
		s->queued = SQ_NONE;
		switch (what) {
		case SQ_DROP:
			sub_end(ctx, s);
			continue;
		case SQ_FINAL:
			r = finish(ctx, s, NULL, s->final_reason);
			break;
		default:
			r = send_notify(ctx, s,
			                what == SQ_INITIAL ? SIPPRES_NOTIFY_INITIAL
			                : what == SQ_REFRESH ? SIPPRES_NOTIFY_REFRESH
			                                     : SIPPRES_NOTIFY_RESTORED,
			                NULL, false, 0);
		}
		if (r < 0)
			err = r;
		else
			sent++;
	}
	for (;;) {
		struct sippres__batch *b = sippres__heap_top(&ss->batch);
		int r;

		if (!b || b->at > now_ms)
			break;
		sippres__heap_remove(&ss->batch, b);
		r = sippres__subs_list_changed(ctx, b->owner);
		if (r < 0)
			err = r;
		else
			sent++;
	}
	while ((s = sippres__heap_top(&ss->heap)) && s->expires_at <= now_ms) {
		int r;

		sippres__heap_remove(&ss->heap, s);
		r = finish(ctx, s, NULL, SF_TIMEOUT);
		if (r < 0)
			err = r;
		else
			sent++;
	}
	ss->last.valid = false;
	return err < 0 ? err : sent;
}

/* -------------------------------------------------------------- persistence */

static int restore(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms, struct sippres__record *recp,
                   struct sippres_sub **ret);

SIPPRES_EXPORT int sippres_sub_restore(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms,
                                       struct sippres_sub **ret)
{
	struct sippres__record *recp;
	int r;

	if (!ctx || !record || !ret)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	set_now(ctx, now_ms);
	recp = sippres__malloc(ctx, sizeof(*recp));
	if (!recp)
		return SIPPRES_E_NOMEM;
	r = restore(ctx, record, len, now_ms, recp, ret);
	sippres__free(ctx, recp);
	return r;
}

static int restore(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms, struct sippres__record *recp,
                   struct sippres_sub **ret)
{
	struct sippres__endpoint *ep;
	struct sippres__hint *h;
	struct sub_fields f;
	struct sippres_sub *s;
	struct sippres__rls *rls = NULL;
	const char *content_type;
	int event, r;

	r = sippres__record_read(record, len, recp);
	if (r < 0)
		return r;
	if (recp->expires_at <= now_ms)
		return SIPPRES_E_NOTFOUND;
	event = sippres__event_parse(recp->s[SR_EVENT]);
	ep = endpoint_find(ctx, recp->s[SR_ENDPOINT]);
	if (event < 0 || !ep)
		return SIPPRES_E_NOTFOUND;
	content_type = sippres__content_type_intern(ctx, recp->s[SR_CONTENT_TYPE], strlen(recp->s[SR_CONTENT_TYPE]), false);
	if (!content_type)
		return SIPPRES_E_NOTFOUND;
	h = NULL;
	if (recp->flags & SIPPRES__RECORD_LIST) {
		const struct sippres__list_def *def = sippres__list_find(ctx, recp->s[SR_RESOURCE], recp->s[SR_EVENT]);

		if (!def)
			return SIPPRES_E_NOTFOUND;
		r = sippres__rls_build_at(ctx, def, ep->sub_context, recp->s[SR_LOCAL_URI], &rls);
		if (r < 0)
			return r;
	} else {
		r = sippres__hint_lookup(ctx, ep->sub_context, recp->s[SR_RESOURCE], &h);
		if (r < 0)
			return r == SIPPRES_E_INVAL ? SIPPRES_E_NOTFOUND : r;
	}
	if (sippres_sub_find(ctx, recp->s[SR_CALL_ID], recp->s[SR_LOCAL_TAG])) {
		sippres__rls_free(ctx, rls);
		return SIPPRES_E_EXISTS;
	}
	memset(&f, 0, sizeof(f));
	f.v[SS_CALL_ID] = recp->s[SR_CALL_ID];
	f.v[SS_LOCAL_TAG] = recp->s[SR_LOCAL_TAG];
	f.v[SS_REMOTE_TAG] = recp->s[SR_REMOTE_TAG];
	f.v[SS_REMOTE_URI] = recp->s[SR_REMOTE_URI];
	f.v[SS_CONTACT] = recp->s[SR_CONTACT];
	f.v[SS_LOCAL_URI] = recp->s[SR_LOCAL_URI];
	f.v[SS_EVENT_ID] = recp->s[SR_EVENT_ID];
	f.v[SS_USER_AGENT] = recp->s[SR_USER_AGENT];
	f.v[SS_BODY_REMOTE] = recp->s[SR_BODY_REMOTE];
	r = sub_create(ctx, ep, h, event, content_type, &f, &s);
	if (r < 0) {
		sippres__rls_free(ctx, rls);
		return r;
	}
	s->cseq = recp->cseq;
	if (rls) {
		s->rls = rls;
		sippres__rls_attach(rls, s);
		sippres__rls_set_root_version(rls, recp->version);
	} else {
		s->version = recp->version;
	}
	s->sent_any = recp->version > 0;
	schedule(ctx->subs, s, recp->expires_at);
	queue_push(ctx->subs, s, SQ_RESTORED);
	*ret = s;
	return 0;
}

/* The record layer needs the subscription's fields. */
size_t sippres__record_write(const struct sippres_sub *s, uint8_t *buf, size_t cap)
{
	const char *strs[SR_COUNT];

	strs[SR_ENDPOINT] = s->ep->name;
	strs[SR_RESOURCE] = s->rls ? sippres__rls_name(s->rls) : s->hint ? s->hint->exten : "";
	strs[SR_EVENT] = sippres__event_name(s->event);
	strs[SR_CONTENT_TYPE] = s->content_type;
	strs[SR_CALL_ID] = sippres__sub_str(s, SS_CALL_ID);
	strs[SR_LOCAL_TAG] = sippres__sub_str(s, SS_LOCAL_TAG);
	strs[SR_REMOTE_TAG] = sippres__sub_str(s, SS_REMOTE_TAG);
	strs[SR_REMOTE_URI] = sippres__sub_str(s, SS_REMOTE_URI);
	strs[SR_CONTACT] = sippres__sub_str(s, SS_CONTACT);
	strs[SR_LOCAL_URI] = sippres__sub_str(s, SS_LOCAL_URI);
	strs[SR_EVENT_ID] = sippres__sub_str(s, SS_EVENT_ID);
	strs[SR_USER_AGENT] = sippres__sub_str(s, SS_USER_AGENT);
	strs[SR_BODY_REMOTE] = sippres__sub_str(s, SS_BODY_REMOTE);
	return sippres__record_encode(buf, cap, s->rls ? SIPPRES__RECORD_LIST : 0, s->expires_at, s->cseq,
	                        s->rls ? sippres__rls_root_version(s->rls) : s->version, strs);
}

/* -------------------------------------------------------------- lifecycle */

int sippres__subs_new(struct sippres_ctx *ctx)
{
	struct sippres__subs *ss = sippres__calloc(ctx, 1, sizeof(*ss));

	if (!ss)
		return SIPPRES_E_NOMEM;
	sippres__heap_init(&ss->heap, offsetof(struct sippres_sub, expires_at), offsetof(struct sippres_sub, heap_idx));
	sippres__heap_init(&ss->batch, offsetof(struct sippres__batch, at), offsetof(struct sippres__batch, idx));
	if (sippres__map_init(ctx, &ss->endpoints, 16) < 0) {
		sippres__free(ctx, ss);
		return SIPPRES_E_NOMEM;
	}
	if (sippres__map_init(ctx, &ss->dialogs, 64) < 0) {
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
	struct sippres_sub *s;

	if (!ss)
		return;
	/* list trees first: freeing them unlinks their members from the hints'
	 * watcher lists, which still hold the plain subscriptions' links */
	for (s = ss->all_head; s; s = s->anext) {
		sippres__rls_free(ctx, s->rls);
		s->rls = NULL;
	}
	s = ss->all_head;
	while (s) {
		struct sippres_sub *next = s->anext;
		sippres__free(ctx, s);
		s = next;
	}
	for (size_t i = 0; i < ss->endpoints.nbuckets; i++) {
		struct sippres__hnode *n = ss->endpoints.buckets[i];
		while (n) {
			struct sippres__hnode *next = n->next;
			endpoint_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__endpoint, node));
			n = next;
		}
	}
	for (size_t i = 0; i < ss->ntypes; i++)
		sippres__free(ctx, ss->types[i]);
	sippres__free(ctx, ss->types);
	sippres__map_fini(ctx, &ss->endpoints);
	sippres__map_fini(ctx, &ss->dialogs);
	sippres__heap_free(ctx, &ss->heap);
	sippres__heap_free(ctx, &ss->batch);
	sippres__free(ctx, ss->patch);
	sippres__free(ctx, ss->record);
	sippres__free(ctx, ss->event_hdr);
	sippres__free(ctx, ss);
	ctx->subs = NULL;
}
