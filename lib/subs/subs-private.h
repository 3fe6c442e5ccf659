/* SPDX-License-Identifier: MIT */
/* The subscription engine (RFC 6665 notifier): endpoints, the SUBSCRIBE
 * decisions, subscriptions, NOTIFY production (render once per hint, patch
 * per subscription), the NOTIFY queue and timers, and persistence records.
 * It drives the lists layer for list subscriptions. */
#ifndef SIPPRES_SUBS_PRIVATE_H
#define SIPPRES_SUBS_PRIVATE_H

#include "lists/lists-private.h"
#include "publish/publish-private.h"
#include "record.h"

/* The tag of a subscription's link to its hint (struct sippres__hlink.kind). */
#define SIPPRES__HLINK_SUB 0

#define SIPPRES__DEFAULT_EXPIRY 3600
/* Interned content types: a subscription keeps an index of one byte. */
#define SIPPRES__MAX_TYPES 255
/* A list NOTIFY larger than this is split, unless the endpoint says otherwise. */
#define SIPPRES__DEFAULT_MAX_NOTIFY 64000

/* A subscription's strings, in the order the persistence record stores them
 * (from SR_CALL_ID on). The dialog's own (Call-ID, tags, event id) are kept
 * in one block after the struct; what many subscriptions share is kept once
 * (struct sippres__shared): the subscriber's From URI, Contact, User-Agent
 * and body remote party as one tuple (a phone's BLF keys share it), the
 * local URI as another (the watchers of a resource share it). */
enum sippres__sub_str {
	SS_CALL_ID, SS_LOCAL_TAG, SS_REMOTE_TAG, SS_REMOTE_URI, SS_CONTACT, SS_LOCAL_URI, SS_EVENT_ID,
	SS_USER_AGENT, SS_BODY_REMOTE, SS_COUNT
};
/* The subscriber's tuple, by index. */
enum { SP_REMOTE_URI, SP_CONTACT, SP_USER_AGENT, SP_BODY_REMOTE, SP_COUNT };

/* What is queued to be sent from sippres_ctx_handle_timeout(). SQ_FREED: the
 * subscription ended while queued; only the queue holds it, and its drain
 * frees it (so ending one is O(1) with a singly linked queue). */
enum sippres__queued { SQ_NONE = 0, SQ_INITIAL, SQ_REFRESH, SQ_FINAL, SQ_RESTORED, SQ_DROP, SQ_FREED };

enum sippres__final { SF_TIMEOUT = 0, SF_NORESOURCE, SF_DEACTIVATED, SF_REJECTED };

struct sippres__endpoint {
	struct sippres__hnode node;
	char *name;
	char *context;      /* never NULL */
	char *sub_context;  /* the context SUBSCRIBEs look in; never NULL */
	char *cid_name;     /* the caller ID's name, NULL: none */
	char *cid_number;   /* the caller ID's number, NULL: none */
	char *auth;         /* auth= (checked names, comma-separated); NULL: none */
	struct sippres_endpoint opts;
	size_t nsubs;
};

/* 119 bytes before its strings (docs/performance.md counts them): kept
 * small, as a million of them may live at once. */
struct sippres_sub {
	union {
		struct sippres__hint *hint; /* !is_list: the hint watched; NULL once it is gone */
		struct sippres__rls *rls;   /* is_list: the resource tree */
	} w;                            /* read through sippres__sub_hint(), sippres__sub_rls() */
	struct sippres__endpoint *ep;
	struct sippres__hlink hl;       /* in the hint's links (kind SIPPRES__HLINK_SUB) */
	struct sippres__dnode all_node; /* every subscription, creation order */
	struct sippres_sub *qnext;      /* queue of NOTIFYs due now */
	void *user_data;
	struct sippres__shared *peer;   /* SP_*: From URI, Contact, User-Agent, body remote party */
	struct sippres__shared *local;  /* the local URI */
	uint64_t expires_at;
	uint32_t heap_idx;
	uint32_t cseq;                  /* next CSeq */
	uint32_t version;               /* next dialog-info version */
	uint32_t acked;                 /* highest CSeq whose final response was reported */
	uint16_t ltag;                  /* the local tag's offset in str[] */
	uint8_t event;                  /* enum sippres__event */
	uint8_t failures;
	uint8_t ctype;                  /* index into subs->types; for lists: the members' type */
	unsigned int queued : 3;        /* enum sippres__queued */
	unsigned int final_reason : 2;  /* for SQ_FINAL: enum sippres__final */
	unsigned int digium : 1;        /* User-Agent names Digium or Sangoma */
	unsigned int sent_any : 1;      /* a NOTIFY went out */
	unsigned int is_list : 1;       /* w.rls, not w.hint */
	unsigned int has_event_id : 1;  /* str[] holds an event id (else it is "") */
	/* Call-ID, local tag, remote tag, event id (when not empty), each after
	 * the NUL of the one before */
	char str[];
};

static inline const char *sippres__sub_remote_tag(const struct sippres_sub *s)
{
	const char *l = s->str + s->ltag;

	return l + strlen(l) + 1;
}

static inline const char *sippres__sub_str(const struct sippres_sub *s, int which)
{
	const char *r;

	switch (which) {
	case SS_CALL_ID: return s->str;
	case SS_LOCAL_TAG: return s->str + s->ltag;
	case SS_REMOTE_TAG: return sippres__sub_remote_tag(s);
	case SS_EVENT_ID:
		r = sippres__sub_remote_tag(s);
		return r + strlen(r) + s->has_event_id;
	case SS_LOCAL_URI: return sippres__shared_str(s->local, 0);
	case SS_REMOTE_URI: return sippres__shared_str(s->peer, SP_REMOTE_URI);
	case SS_CONTACT: return sippres__shared_str(s->peer, SP_CONTACT);
	case SS_USER_AGENT: return sippres__shared_str(s->peer, SP_USER_AGENT);
	default: return sippres__shared_str(s->peer, SP_BODY_REMOTE);
	}
}

static inline struct sippres__hint *sippres__sub_hint(const struct sippres_sub *s)
{
	return s->is_list ? NULL : s->w.hint;
}

static inline struct sippres__rls *sippres__sub_rls(const struct sippres_sub *s)
{
	return s->is_list ? s->w.rls : NULL;
}

static inline bool sippres__sub_asterisk(const struct sippres_sub *s)
{
	return s->ep->opts.profile == SIPPRES_PROFILE_ASTERISK;
}

#define SIPPRES__SUB_OF(n) SIPPRES__CONTAINER_OF((n), struct sippres_sub, all_node)

/* The engine's state, one per context. */
struct sippres__subs {
	struct sippres__map endpoints;  /* by name */
	struct sippres__htab dialogs;   /* by the hash of call-id and local tag */
	struct sippres__shared_set peers;  /* subscribers' tuples (SP_*) */
	struct sippres__shared_set locals; /* local URIs */
	struct sippres__dlist all;      /* every subscription, creation order */
	size_t count;
	struct sippres__heap heap;      /* subscriptions by expiry */
	struct sippres__heap batch;     /* list trees with a batched NOTIFY due (struct sippres__rls_timer) */
	struct sippres_sub *q_head, *q_tail;
	char **types;                   /* interned content types (at most SIPPRES__MAX_TYPES) */
	size_t ntypes, types_cap;
	const char *dflt_type[2];       /* each event's default type, interned (or NULL: not yet) */
	char *patch;                    /* a body with its version digits replaced */
	size_t patch_cap;
	uint8_t *record;                /* the persistence record being handed over */
	char *event_hdr;                /* Event header value of the NOTIFY being sent */
	size_t event_cap;
	char substate[64];              /* Subscription-State value */
	char tag[24];                   /* a local tag for a response */
	uint64_t now;                   /* the latest now_ms the host gave */
	struct sippres__map auths;      /* struct sippres__auth by name (auth.c) */
	struct sippres__map identifies; /* struct sippres__identify by name (identify.c) */
	struct sippres_auth_challenge *challenges; /* the last sippres_auth_check()'s */
	size_t challenges_cap;
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

/* The strings of a new subscription, by enum sippres__sub_str; len[i] is
 * their length when lens is set (else they are measured). */
struct sippres__sub_fields {
	const char *v[SS_COUNT];
	size_t len[SS_COUNT];
	bool lens;
	bool hashed;          /* the hashes below are set (sippres__sub_prepare) */
	uint32_t dialog_hash; /* of call-id and local tag */
	uint32_t peer_hash, local_hash; /* of the subscriber's tuple, of the local URI */
};
/* sippres_sub_find, also giving the dialog hash it computed */
struct sippres_sub *sippres__sub_find_hash(struct sippres_ctx *ctx, const char *call_id, const char *local_tag,
                                           uint32_t *hash);
/* The same with the hash given. */
struct sippres_sub *sippres__sub_find_hashed(struct sippres_ctx *ctx, const char *call_id, const char *local_tag,
                                             uint32_t hash);
/* Hash what the creation of a subscription with f (lens set) looks up, and
 * ask for the cache lines of those lookups, so that their misses overlap:
 * the dialog table's (f's Call-ID and local tag set), the shared tuples'
 * tables (every string set; this sets f->hashed), then (some time later)
 * the tuples' entries. */
void sippres__sub_prepare_dialog(struct sippres_ctx *ctx, struct sippres__sub_fields *f);
void sippres__sub_prepare(struct sippres_ctx *ctx, struct sippres__sub_fields *f);
void sippres__sub_prefetch_shared(struct sippres_ctx *ctx, const struct sippres__sub_fields *f);

/* subs.c: lifecycle, for the context */
int sippres__subs_new(struct sippres_ctx *ctx);
void sippres__subs_free(struct sippres_ctx *ctx);

/* The head that struct sippres__auth and struct sippres__identify share: their maps' key offset. */
struct sippres__auth_key {
	struct sippres__hnode node;
	char *name;
};
/* auth.c: auth objects and the decision. An endpoint names at most this many. */
#define SIPPRES__MAX_ENDPOINT_AUTHS 16
void sippres__auth_free_all(struct sippres_ctx *ctx);
/* A username or realm fit for a quoted header parameter. */
bool sippres__auth_token_ok(const char *s);
/* An auth= list: the number of names (>= 0), or SIPPRES_E_INVAL (a bad name, more than
 * SIPPRES__MAX_ENDPOINT_AUTHS). NULL: 0. */
int sippres__auth_list_check(const char *list);

/* identify.c */
struct sippres__ip_match_view {
	uint8_t addr[16];
	uint8_t family; /* 4 or 6 */
	uint8_t prefix;
	uint16_t port;  /* 0: any */
};
/* "ADDR[/PREFIX|/NETMASK]", "ADDR:PORT[/...]", "[V6]:PORT[/...]": 0 (out may be NULL) or -1. */
int sippres__ip_match_parse(const char *s, struct sippres__ip_match_view *out);
void sippres__identify_free_all(struct sippres_ctx *ctx);
/* The endpoint of the most specific identify match for a numeric address, or NULL. */
const char *sippres__identify_lookup(struct sippres_ctx *ctx, const char *ip, uint32_t port);

/* endpoint.c */
struct sippres__endpoint *sippres__endpoint_find(struct sippres_ctx *ctx, const char *name);
void sippres__endpoints_free(struct sippres_ctx *ctx);

/* sub.c */
/* Create a subscription watching h (or none yet: a list) and register it. */
int sippres__sub_create(struct sippres_ctx *ctx, struct sippres__endpoint *ep, struct sippres__hint *h, int event,
                        const char *content_type, const struct sippres__sub_fields *f, struct sippres_sub **ret);
/* The subscription's body type (interned). */
static inline const char *sippres__sub_ctype(const struct sippres_ctx *ctx, const struct sippres_sub *s)
{
	return ctx->subs->types[s->ctype];
}
/* Give s its list tree. */
void sippres__sub_attach_list(struct sippres_sub *s, struct sippres__rls *rls);
/* Give back the strings s shares with others (when it is freed). */
void sippres__sub_unshare(struct sippres_ctx *ctx, struct sippres_sub *s);
/* The subscription is over: tell the host, then free it. */
void sippres__sub_end(struct sippres_ctx *ctx, struct sippres_sub *s);
/* The same; replicate: the end is this node's to tell (not a release). */
void sippres__sub_end_as(struct sippres_ctx *ctx, struct sippres_sub *s, bool replicate);

/* notify.c */
/* Send one NOTIFY (st: the status being dispatched, or NULL to look it up).
 * final: the subscription ends after it (the caller frees). Returns 0, 1 when
 * the failure policy ended the subscription (already freed), or < 0. */
int sippres__sub_send(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason,
                      const struct sippres_exten_status *st, bool final, uint8_t final_reason);
/* The final NOTIFY, then the end. Returns 1, 0 when the failure policy had
 * already ended it, or < 0 (ended all the same). */
int sippres__sub_finish(struct sippres_ctx *ctx, struct sippres_sub *s, const struct sippres_exten_status *st,
                        uint8_t final_reason);
/* Count a failed NOTIFY; returns 1 when the subscription was ended (freed). */
int sippres__sub_notify_failed(struct sippres_ctx *ctx, struct sippres_sub *s, int status);
/* A list member changed: send the owner's NOTIFY now, unless one is queued. */
int sippres__sub_list_changed(struct sippres_ctx *ctx, struct sippres_sub *s);
/* The hint hook: a hint with subscriptions or list members had an event. */
void sippres__subs_hint_event(struct sippres_ctx *ctx, struct sippres__hint *h, const struct sippres_exten_status *st);
/* The canonical, stable copy of a content type that has a generator, or
 * NULL. exact_case: the text must already be lower case, as Asterisk compares. */
const char *sippres__content_type_intern(struct sippres_ctx *ctx, const char *s, size_t n, bool exact_case);

/* timer.c */
void sippres__subs_set_now(struct sippres_ctx *ctx, uint64_t now);
void sippres__sub_queue(struct sippres__subs *ss, struct sippres_sub *s, uint8_t what);
/* Free a subscription that has ended (unlinked from everything else): now,
 * or at the queue's drain when it is queued. */
void sippres__sub_release(struct sippres_ctx *ctx, struct sippres_sub *s);
/* Free the ended subscriptions the queue still holds (the context's end). */
void sippres__subs_queue_free(struct sippres_ctx *ctx);
/* (Re)arm the expiry of s (room in the heap was reserved at creation). */
void sippres__sub_schedule(struct sippres__subs *ss, struct sippres_sub *s, uint64_t expires_at);
/* Arm (delay > 0) or cancel (delay 0) the batched NOTIFY of a list subscription. */
int sippres__sub_batch(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t delay_ms);

/* persist.c */
/* Hand the subscription's record to the host's persist callback (and to
 * the replicate callback). */
void sippres__sub_persist(struct sippres_ctx *ctx, struct sippres_sub *s);
/* sippres_sub_restore()'s work, after the argument checks. */
int sippres__sub_restore(struct sippres_ctx *ctx, const void *record, size_t len, uint64_t now_ms,
                         struct sippres_sub **ret);

/* accept.c: Accept negotiation */
/* asterisk: first exact match of a registered generator, q ignored.
 * standard: highest q among the usable ranges, ties in Accept order; wildcards
 * pick the event's default. Returns NULL when nothing is usable. */
const char *sippres__accept_choose(struct sippres_ctx *ctx, int event, bool asterisk, const char *const *accept,
                                   size_t n);
/* The Accept header value listing what can be produced for an event (406). */
const char *sippres__accept_list(int event);

#endif
