/* SPDX-License-Identifier: MIT */
/* An initial SUBSCRIBE: check the facts the host gives, decide in
 * Asterisk's order of checks (profile by profile), then create the
 * subscription and queue its first NOTIFY. */
#include <stdio.h>
#include <string.h>

#include "subs-private.h"

#define MAX_FIELD 2048
#define REQ_V1_SIZE (offsetof(struct sippres_subscribe_req, local_tag) + sizeof(const char *))
#define RES_V1_SIZE (offsetof(struct sippres_subscribe_res, accept) + sizeof(const char *))

static void decide(struct sippres_subscribe_res *res, uint32_t status, const char *reason)
{
	res->status = status;
	res->reason = reason;
}

/* The request's string fields, in the order of their lengths in struct lens. */
enum { F_RURI_USER, F_RURI_HOST, F_RURI_SCHEME, F_FROM_URI, F_FROM_TAG, F_CALL_ID, F_CONTACT, F_EVENT_ID,
       F_USER_AGENT, F_LOCAL_TAG, F_COUNT };

/* The request's arguments, as an API call: SIPPRES_E_INVAL when unusable.
 * Their lengths (0 for NULL) go to len[], measured once. */
static int check_req(const struct sippres_subscribe_req *req, size_t len[F_COUNT])
{
	const char *const fields[F_COUNT] = {req->ruri_user, req->ruri_host, req->ruri_scheme, req->from_uri,
	                                     req->from_tag,  req->call_id,   req->contact,     req->event_id,
	                                     req->user_agent, req->local_tag};

	if (!req->endpoint || (req->n_accept && !req->accept) || req->ruri_port > 65535 ||
	    (req->flags & ~SIPPRES_SUBSCRIBE_EVENTLIST))
		return SIPPRES_E_INVAL;
	for (size_t i = 0; i < F_COUNT; i++) {
		len[i] = fields[i] ? strnlen(fields[i], MAX_FIELD + 1) : 0;
		if (len[i] > MAX_FIELD)
			return SIPPRES_E_INVAL;
	}
	return 0;
}

static bool set(const char *s)
{
	return s && s[0];
}

/* What the checks before the resource lookup decide. */
struct verdict {
	struct sippres__endpoint *ep;
	bool asterisk, fetch;
	uint64_t requested;      /* expiry asked for, in seconds */
	int event;
	const char *content_type;
	size_t host_len;
	char host[MAX_FIELD + 3]; /* the Request-URI host, IPv6 in brackets */
};

/* An event's default body type, interned: looked up once, then only
 * whether its generator is still registered is asked. */
static const char *default_type(struct sippres_ctx *ctx, int event)
{
	struct sippres__subs *ss = ctx->subs;
	const char *dflt;

	if (event >= 0 && event < 2 && ss->dflt_type[event])
		return sippres__body_has_generator(ctx, ss->dflt_type[event], strlen(ss->dflt_type[event]))
		               ? ss->dflt_type[event]
		               : NULL;
	dflt = sippres__event_default_type(event);
	dflt = sippres__content_type_intern(ctx, dflt, strlen(dflt), false);
	if (dflt && event >= 0 && event < 2)
		ss->dflt_type[event] = dflt;
	return dflt;
}

/* The checks in Asterisk's order: endpoint (403), allow_subscribe (603), URI
 * scheme (416), required headers (400), Expires (400 for 0 in the asterisk
 * profile, else a fetch; 423), Event (489), Accept (489 asterisk, 406
 * standard), resource name (404). false when a final answer is in res. */
static bool pre_checks(struct sippres_ctx *ctx, const struct sippres_subscribe_req *req, const size_t *len,
                       struct sippres_subscribe_res *res, struct verdict *v)
{
	struct sippres__endpoint *ep = sippres__name_ok(req->endpoint) ? sippres__endpoint_find(ctx, req->endpoint)
	                                                                : NULL;

	if (!ep) {
		decide(res, 403, "Forbidden");
		return false;
	}
	v->ep = ep;
	v->asterisk = ep->opts.profile == SIPPRES_PROFILE_ASTERISK;
	if (ep->opts.flags & SIPPRES_ENDPOINT_DENY_SUBSCRIBE) {
		decide(res, 603, "Decline");
		return false;
	}
	if (!req->ruri_scheme ||
	    !(sippres__streq_nocase(req->ruri_scheme, "sip") || sippres__streq_nocase(req->ruri_scheme, "sips"))) {
		decide(res, 416, "Unsupported URI Scheme");
		return false;
	}
	if (!set(req->call_id) || !set(req->from_tag) || !set(req->from_uri) || !set(req->contact) ||
	    !set(req->ruri_host)) {
		decide(res, 400, "Bad Request");
		return false;
	}
	/* an IPv6 address goes into URIs in brackets, whether or not the host's
	 * parser kept them */
	if (req->ruri_host[0] != '[' && memchr(req->ruri_host, ':', len[F_RURI_HOST])) {
		v->host[0] = '[';
		memcpy(v->host + 1, req->ruri_host, len[F_RURI_HOST]);
		v->host[len[F_RURI_HOST] + 1] = ']';
		v->host_len = len[F_RURI_HOST] + 2;
	} else {
		memcpy(v->host, req->ruri_host, len[F_RURI_HOST]);
		v->host_len = len[F_RURI_HOST];
	}
	v->host[v->host_len] = '\0';
	v->fetch = false;
	if (req->expires == 0) {
		if (v->asterisk) {
			decide(res, 400, "Bad Request");
			return false;
		}
		v->fetch = true; /* RFC 6665 4.4.3: one NOTIFY with the current state */
	}
	v->requested = req->expires < 0 ? ep->opts.default_expiry : (uint64_t)req->expires;
	if (!v->fetch && v->requested < ep->opts.sub_min_expiry && (v->asterisk || v->requested < 3600)) {
		decide(res, 423, "Interval Too Brief");
		if (!v->asterisk)
			res->min_expires = ep->opts.sub_min_expiry;
		return false;
	}
	v->event = sippres__event_parse(req->event);
	if (v->event < 0) {
		decide(res, 489, "Bad Event");
		if (!v->asterisk)
			res->allow_events = "presence, dialog";
		return false;
	}
	if (req->n_accept) {
		v->content_type = sippres__accept_choose(ctx, v->event, v->asterisk, req->accept, req->n_accept);
	} else {
		v->content_type = default_type(ctx, v->event);
	}
	if (!v->content_type) {
		if (v->asterisk) {
			decide(res, 489, "Bad Event");
		} else {
			decide(res, 406, "Not Acceptable");
			res->accept = sippres__accept_list(v->event);
		}
		return false;
	}
	if (!req->ruri_user || !sippres__name_ok(req->ruri_user)) {
		decide(res, 404, "Not Found");
		return false;
	}
	return true;
}

/* The resource: a list (when the subscriber supports them and one exists)
 * or a hint. 1 when a final answer is in res, 0 when found, or < 0. */
static int find_resource(struct sippres_ctx *ctx, const struct sippres_subscribe_req *req, const struct verdict *v,
                         struct sippres_subscribe_res *res, struct sippres__hint **h, struct sippres__rls **rls,
                         int *presence)
{
	const struct sippres__list_def *def = NULL;
	int r;

	*presence = SIPPRES_PRESENCE_NOT_SET; /* a list's: its members have their own */
	*h = NULL;
	*rls = NULL;
	if (req->flags & SIPPRES_SUBSCRIBE_EVENTLIST)
		def = sippres__list_find(ctx, req->ruri_user, sippres__event_name(v->event));
	if (def) {
		/* RFC 4662: a list subscription (the SUBSCRIBE supports eventlist and
		 * the resource names a list of its event) */
		char scheme[8];

		snprintf(scheme, sizeof(scheme), "%s", req->ruri_scheme);
		for (char *p = scheme; *p; p++)
			*p = (char)sippres__ascii_lower((unsigned char)*p);
		r = sippres__rls_build(ctx, def, v->ep->sub_context, scheme, v->host, req->ruri_port, rls);
		if (r == SIPPRES_E_NOTFOUND) {
			decide(res, 500, "Server Internal Error");
			return 1;
		}
		return r < 0 ? r : 0;
	}
	/* the names were checked: the endpoint's context when it was set, the
	 * user in pre_checks() */
	r = sippres__hint_lookup_names_ok(ctx, v->ep->sub_context, req->ruri_user, h);
	if (r == SIPPRES_E_NOTFOUND || r == SIPPRES_E_INVAL) {
		decide(res, 404, "Not Found");
		return 1;
	}
	if (r == SIPPRES_E_TOOBIG) {
		/* as many pattern-hint instances live as the context allows */
		decide(res, 503, "Service Unavailable");
		return 1;
	}
	if (r < 0)
		return r;
	*presence = sippres__hint_presence(*h);
	if (*presence == SIPPRES_PRESENCE_INVALID && !v->asterisk) {
		decide(res, 404, "Not Found");
		return 1;
	}
	return 0;
}

/* scheme:user@host[:port] with the scheme in lower case, as snprintf
 * would write it (truncated to cap); returns its length */
static size_t make_local_uri(char *out, size_t cap, const struct sippres_subscribe_req *req, const size_t *len,
                             const struct verdict *v)
{
	size_t sl = len[F_RURI_SCHEME], ul = len[F_RURI_USER], hl = v->host_len, n;
	const char *host = v->host;

	if (sl + ul + hl + 16 >= cap) {
		if (req->ruri_port)
			snprintf(out, cap, "%s:%s@%s:%u", req->ruri_scheme, req->ruri_user, host, req->ruri_port);
		else
			snprintf(out, cap, "%s:%s@%s", req->ruri_scheme, req->ruri_user, host);
		n = strlen(out);
	} else {
		memcpy(out, req->ruri_scheme, sl);
		n = sl;
		out[n++] = ':';
		memcpy(out + n, req->ruri_user, ul);
		n += ul;
		out[n++] = '@';
		memcpy(out + n, host, hl);
		n += hl;
		if (req->ruri_port) {
			out[n++] = ':';
			n += sippres__dec(out + n, req->ruri_port);
		}
		out[n] = '\0';
	}
	for (char *p = out; *p && *p != ':'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + ('a' - 'A'));
	}
	return n;
}

/* 8 random bytes as 16 hex digits and a NUL: two digits per byte from a
 * table of every byte's pair. */
static void hex_tag(char *tag, const uint8_t rnd[8])
{
#define P4(x) #x "0" #x "1" #x "2" #x "3" #x "4" #x "5" #x "6" #x "7" #x "8" #x "9" #x "a" #x "b" #x "c" #x "d" \
	#x "e" #x "f"
	static const char pairs[] = P4(0) P4(1) P4(2) P4(3) P4(4) P4(5) P4(6) P4(7) P4(8) P4(9) P4(a) P4(b) P4(c)
		P4(d) P4(e) P4(f);
#undef P4

	for (int i = 0; i < 8; i++)
		memcpy(tag + 2 * i, pairs + 2 * rnd[i], 2);
	tag[16] = '\0';
}

/* The dialog's local tag: the host's, or 64 random bits as 16 hex digits. */
static int local_tag(struct sippres_ctx *ctx, const struct sippres_subscribe_req *req, const char **out)
{
	uint8_t rnd[8];
	int r;

	if (set(req->local_tag)) {
		*out = req->local_tag;
		return 0;
	}
	r = sippres_ctx_random(ctx, rnd, sizeof(rnd));
	if (r < 0)
		return r;
	hex_tag(ctx->subs->tag, rnd);
	*out = ctx->subs->tag;
	return 0;
}

/* The local tag the dialog will most likely get (the host's, or the next
 * random bytes when they are known ahead) in guess[17]; false: unknown. */
static bool guess_tag(struct sippres_ctx *ctx, const struct sippres_subscribe_req *req, char *guess)
{
	uint8_t rnd[8];

	if (set(req->local_tag) || !sippres__random_peek(ctx, rnd, sizeof(rnd)))
		return false;
	hex_tag(guess, rnd);
	return true;
}

/* The subscriber URI as Asterisk prints it in From/To context: no port, no
 * parameters. Returns its length. */
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
		end += strcspn(end, ":;?>");
	}
	n = (size_t)(end - uri);
	if (n >= cap)
		n = cap - 1;
	memcpy(out, uri, n);
	out[n] = '\0';
	return n;
}

/* Queue the first NOTIFY (or the fetch's only one) and set the expiry. */
static void start(struct sippres_ctx *ctx, struct sippres_sub *s, const struct verdict *v, bool body_possible,
                  uint64_t now_ms, struct sippres_subscribe_res *res)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres__endpoint *ep = v->ep;

	if (v->fetch) {
		res->expires = 0;
		s->expires_at = now_ms;
		sippres__sub_queue(ss, s, SQ_FINAL);
		s->final_reason = SF_TIMEOUT;
		return;
	}
	res->expires = (uint32_t)(v->requested < ep->opts.max_expiry ? v->requested : ep->opts.max_expiry);
	sippres__sub_schedule(ss, s, now_ms + (uint64_t)res->expires * 1000);
	if (!body_possible) {
		/* Asterisk: the first body cannot be made, the subscription ends
		 * silently after the 200 */
		sippres__sub_queue(ss, s, SQ_DROP);
	} else {
		sippres__sub_queue(ss, s, SQ_INITIAL);
		sippres__sub_persist(ctx, s);
	}
}

SIPPRES_EXPORT int sippres_subscribe(struct sippres_ctx *ctx, const struct sippres_subscribe_req *req,
                                     uint64_t now_ms, struct sippres_subscribe_res *res, struct sippres_sub **ret)
{
	struct verdict v;
	struct sippres__hint *h;
	struct sippres__rls *rls;
	int presence;
	struct sippres__sub_fields f = {.lens = true};
	struct sippres__hint_ahead ahead;
	struct sippres_sub *s;
	char local_uri[MAX_FIELD * 2 + 32], body_remote[MAX_FIELD], guess[17];
	bool guessed;
	size_t len[F_COUNT];
	const char *tag;
	size_t size;
	int r;

	if (!ctx || !req || !res || !ret)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(req, REQ_V1_SIZE, sizeof(*req));
	if (r < 0)
		return r;
	if (sippres__check_size(res->size, RES_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	if (check_req(req, len) < 0)
		return SIPPRES_E_INVAL;
	sippres__hints_reclaim(ctx);
	sippres__subs_set_now(ctx, now_ms);
	size = res->size;
	memset(res, 0, RES_V1_SIZE);
	res->size = size;

	if (!pre_checks(ctx, req, len, res, &v))
		return 0;
	sippres__hint_ahead_start(ctx, v.ep->sub_context, req->ruri_user, &ahead);
	/* Everything the creation looks up is hashed, and the cache lines of
	 * those lookups asked for, before the resource lookup: its misses and
	 * theirs overlap. The hint's are asked for in two steps (its slot, then
	 * the hint) with this work between them. The dialog table's need the
	 * local tag, known ahead when it is the host's or the next bytes of the
	 * library's own random pool (else asked for once it is drawn). */
	f.v[SS_CALL_ID] = req->call_id;
	f.len[SS_CALL_ID] = len[F_CALL_ID];
	f.v[SS_REMOTE_TAG] = req->from_tag;
	f.len[SS_REMOTE_TAG] = len[F_FROM_TAG];
	f.v[SS_REMOTE_URI] = req->from_uri;
	f.len[SS_REMOTE_URI] = len[F_FROM_URI];
	f.v[SS_CONTACT] = req->contact;
	f.len[SS_CONTACT] = len[F_CONTACT];
	f.v[SS_LOCAL_URI] = local_uri;
	f.len[SS_LOCAL_URI] = make_local_uri(local_uri, sizeof(local_uri), req, len, &v);
	f.v[SS_EVENT_ID] = req->event_id;
	f.len[SS_EVENT_ID] = len[F_EVENT_ID];
	f.v[SS_USER_AGENT] = req->user_agent;
	f.len[SS_USER_AGENT] = len[F_USER_AGENT];
	f.v[SS_BODY_REMOTE] = body_remote;
	f.len[SS_BODY_REMOTE] = strip_uri(req->from_uri, body_remote, sizeof(body_remote));
	guessed = set(req->local_tag) || guess_tag(ctx, req, guess);
	if (guessed) {
		f.v[SS_LOCAL_TAG] = set(req->local_tag) ? req->local_tag : guess;
		sippres__sub_prepare_dialog(ctx, &f);
	}
	sippres__sub_prepare(ctx, &f);
	sippres__hint_ahead_next(&ahead);
	r = find_resource(ctx, req, &v, res, &h, &rls, &presence);
	if (r != 0)
		return r < 0 ? r : 0;
	r = local_tag(ctx, req, &tag);
	if (r < 0) {
		sippres__rls_free(ctx, rls);
		return r;
	}
	f.v[SS_LOCAL_TAG] = tag;
	f.len[SS_LOCAL_TAG] = tag == req->local_tag ? len[F_LOCAL_TAG] : strlen(tag);
	if (!guessed || (tag != req->local_tag && memcmp(tag, guess, sizeof(guess)) != 0))
		sippres__sub_prepare_dialog(ctx, &f);
	if (sippres__sub_find_hashed(ctx, req->call_id, tag, f.dialog_hash)) {
		sippres__rls_free(ctx, rls);
		return SIPPRES_E_EXISTS;
	}
	sippres__sub_prefetch_shared(ctx, &f);
	r = sippres__sub_create(ctx, v.ep, h, v.event, v.content_type, &f, &s);
	if (r < 0) {
		sippres__rls_free(ctx, rls);
		return r;
	}
	if (rls) {
		sippres__sub_attach_list(s, rls);
		res->require_eventlist = 1;
	}
	decide(res, 200, "OK");
	res->local_tag = sippres__sub_str(s, SS_LOCAL_TAG);
	start(ctx, s, &v, presence != SIPPRES_PRESENCE_INVALID, now_ms, res);
	*ret = s;
	return 0;
}
