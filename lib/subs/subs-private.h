/* SPDX-License-Identifier: MIT */
/* The subscription engine: endpoints, subscriptions, NOTIFY production,
 * expiry timers and persistence records. */
#ifndef SIPPRES_SUBS_PRIVATE_H
#define SIPPRES_SUBS_PRIVATE_H

#include "state/registry-private.h"

#define SP_NOT_IN_HEAP UINT32_MAX

/* Strings kept per subscription, in one block after the struct. */
enum sp_sub_str {
	SS_CALL_ID, SS_LOCAL_TAG, SS_REMOTE_TAG, SS_REMOTE_URI, SS_CONTACT, SS_LOCAL_URI, SS_EVENT_ID,
	SS_USER_AGENT, SS_BODY_REMOTE, SS_COUNT
};

/* What is queued to be sent from sippres_ctx_handle_timeout(). */
enum sp_queued { SQ_NONE = 0, SQ_INITIAL, SQ_REFRESH, SQ_FINAL, SQ_RESTORED, SQ_DROP };

struct sp_endpoint {
	struct sp_hnode node;
	char *name;
	char *context;      /* never NULL */
	char *sub_context;  /* the context SUBSCRIBEs look in; never NULL */
	struct sippres_endpoint opts;
	size_t nsubs;
};

struct sippres_sub {
	struct sp_hnode node;          /* in the dialog map (call-id + local tag) */
	struct sp_hint *hint;
	struct sp_endpoint *ep;
	struct sp_hlink hl;            /* in the hint's links (leaf NULL) */
	struct sippres_sub *aprev, *anext; /* every subscription, creation order */
	struct sippres_sub *qnext;     /* queue of NOTIFYs due now */
	void *user_data;
	struct sp_rls *rls;            /* list subscriptions: the resource tree (lib/lists) */
	const char *content_type;      /* interned; for lists: the members' type */
	uint64_t expires_at;
	uint32_t heap_idx;
	uint32_t cseq;                 /* next CSeq */
	uint32_t version;              /* next dialog-info version */
	uint32_t acked;                /* highest CSeq whose final response was reported */
	uint8_t event;                 /* enum sp_event */
	uint8_t queued;                /* enum sp_queued */
	uint8_t final_reason;          /* for SQ_FINAL: enum sp_final */
	uint8_t failures;
	uint8_t digium;                /* User-Agent names Digium or Sangoma */
	uint8_t sent_any;              /* a NOTIFY went out */
	uint16_t off[SS_COUNT];        /* string offsets into str[] */
	char str[];
};

enum sp_final { SF_TIMEOUT = 0, SF_NORESOURCE, SF_DEACTIVATED, SF_REJECTED };

static inline const char *sp_sub_str(const struct sippres_sub *s, int which)
{
	return s->str + s->off[which];
}

struct sp_subs;
struct sp_rls;
struct sp_list_def;

/* The batching timer of a list subscription: the first member of struct sp_rls. */
struct sp_batch {
	uint64_t at;
	uint32_t idx;
	struct sippres_sub *owner;
};

/* subs.c, for the list code */
int sp_subs_emit(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason, bool final, uint8_t final_reason,
                 const char *content_type, const char *body, size_t body_len);
/* What a subscription's body is rendered from (its profile, options, URIs, User-Agent) for one resource. */
void sp_sub_body_input(const struct sippres_sub *s, const struct sippres_exten_status *st, const char *exten,
                       const char *local_uri, uint32_t version, struct sippres_body_input *in);
bool sp_version_bumps(const struct sippres_sub *s, uint32_t reason, uint8_t final_reason);
const char *sp_final_reason_name(uint8_t r);
uint64_t sp_subs_now(const struct sippres_ctx *ctx);
/* Schedule (or cancel, at == 0) a batched list NOTIFY for s. */
int sp_subs_batch(struct sippres_ctx *ctx, struct sippres_sub *s, uint64_t at);
/* A list member changed: send the owner's NOTIFY now (partial or full as the list says). */
int sp_subs_list_changed(struct sippres_ctx *ctx, struct sippres_sub *s);

/* lists.c */
int sp_lists_new(struct sippres_ctx *ctx);
void sp_lists_free(struct sippres_ctx *ctx);
const struct sp_list_def *sp_list_find(struct sippres_ctx *ctx, const char *name, const char *event);
/* Build the resource tree of a list subscription (members looked up in
 * context). SIPPRES_E_NOTFOUND when no member resolves (500). */
int sp_rls_build(struct sippres_ctx *ctx, const struct sp_list_def *def, const char *context, const char *scheme,
                 const char *host, uint32_t port, struct sp_rls **ret);
/* The same, for the list URI a subscription was made to (scheme:list@host[:port]). */
int sp_rls_build_at(struct sippres_ctx *ctx, const struct sp_list_def *def, const char *context,
                    const char *local_uri, struct sp_rls **ret);
void sp_rls_attach(struct sp_rls *rls, struct sippres_sub *owner);
void sp_rls_free(struct sippres_ctx *ctx, struct sp_rls *rls);
/* Send the NOTIFY (or NOTIFYs, when split) of a list subscription. */
int sp_rls_notify(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason, bool final, uint8_t final_reason);
void sp_rls_leaf_event(struct sippres_ctx *ctx, struct sp_rls_node *leaf, const struct sippres_exten_status *st);
uint32_t sp_rls_root_version(const struct sp_rls *rls);
const char *sp_rls_name(const struct sp_rls *rls);
bool sp_rls_same_members(const struct sp_rls *a, const struct sp_rls *b);
void sp_rls_set_root_version(struct sp_rls *rls, uint32_t v);
bool sp_rls_has_changes(const struct sp_rls *rls);

int sp_subs_new(struct sippres_ctx *ctx);
void sp_subs_free(struct sippres_ctx *ctx);

/* Called by the registry for every event of a hint that has subscriptions
 * (after its watches). st is the status being dispatched. */
void sp_subs_hint_event(struct sippres_ctx *ctx, struct sp_hint *h, const struct sippres_exten_status *st);

/* The canonical, stable copy of a content type that has a generator, or NULL.
 * exact_case: the text must already be in canonical (lower) case, as
 * Asterisk compares. */
const char *sp_content_type_intern(struct sippres_ctx *ctx, const char *s, size_t n, bool exact_case);

/* Accept negotiation (accept.c). Returns the chosen content type (a static or
 * interned string) or NULL; *status_out gets 0 on success, else 406/489. */
struct sp_accept_choice {
	const char *content_type;
};
/* Built-in content types in preference order for each event. */
enum sp_event { SP_EVENT_PRESENCE = 0, SP_EVENT_DIALOG = 1 };
int sp_event_parse(const char *event);
const char *sp_event_name(int ev);
/* asterisk: first exact match of a registered generator, q ignored.
 * standard: highest q among the usable ranges, ties in Accept order; wildcards
 * pick the event's default. Returns NULL when nothing is usable. */
const char *sp_accept_choose(struct sippres_ctx *ctx, int event, bool asterisk, const char *const *accept,
                             size_t n);
/* The Accept header value listing what can be produced for an event (406). */
const char *sp_accept_list(int event);

/* Binary min-heap of objects keyed by a uint64_t deadline inside them (heap.c). */
struct sp_heap {
	void **v;
	uint32_t n, cap;
	size_t key_off, idx_off;
};
void sp_heap_init(struct sp_heap *hp, size_t key_off, size_t idx_off);
int sp_heap_reserve(struct sippres_ctx *ctx, struct sp_heap *hp, uint32_t n);
void sp_heap_push(struct sp_heap *hp, void *o);
void sp_heap_remove(struct sp_heap *hp, void *o);
void sp_heap_update(struct sp_heap *hp, void *o);
void *sp_heap_top(const struct sp_heap *hp);
uint64_t sp_heap_key(const struct sp_heap *hp, const void *o);
void sp_heap_free(struct sippres_ctx *ctx, struct sp_heap *hp);

/* Link and unlink a watcher of a hint. */
void sp_hlink_add(struct sp_hint *h, struct sp_hlink *l);
void sp_hlink_remove(struct sp_hint *h, struct sp_hlink *l);

#endif
