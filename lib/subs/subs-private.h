/* SPDX-License-Identifier: MIT */
/* The subscription engine: endpoints, subscriptions, NOTIFY production,
 * expiry timers and persistence records. */
#ifndef SIPPRES_SUBS_PRIVATE_H
#define SIPPRES_SUBS_PRIVATE_H

#include "state/registry-private.h"

/* Strings kept per subscription, in one block after the struct. */
enum sippres__sub_str {
	SS_CALL_ID, SS_LOCAL_TAG, SS_REMOTE_TAG, SS_REMOTE_URI, SS_CONTACT, SS_LOCAL_URI, SS_EVENT_ID,
	SS_USER_AGENT, SS_BODY_REMOTE, SS_COUNT
};

/* What is queued to be sent from sippres_ctx_handle_timeout(). */
enum sippres__queued { SQ_NONE = 0, SQ_INITIAL, SQ_REFRESH, SQ_FINAL, SQ_RESTORED, SQ_DROP };

struct sippres__endpoint {
	struct sippres__hnode node;
	char *name;
	char *context;      /* never NULL */
	char *sub_context;  /* the context SUBSCRIBEs look in; never NULL */
	struct sippres_endpoint opts;
	size_t nsubs;
};

struct sippres_sub {
	struct sippres__hnode node;          /* in the dialog map (call-id + local tag) */
	struct sippres__hint *hint;
	struct sippres__endpoint *ep;
	struct sippres__hlink hl;            /* in the hint's links (leaf NULL) */
	struct sippres_sub *aprev, *anext; /* every subscription, creation order */
	struct sippres_sub *qnext;     /* queue of NOTIFYs due now */
	void *user_data;
	struct sippres__rls *rls;            /* list subscriptions: the resource tree (lib/lists) */
	const char *content_type;      /* interned; for lists: the members' type */
	uint64_t expires_at;
	uint32_t heap_idx;
	uint32_t cseq;                 /* next CSeq */
	uint32_t version;              /* next dialog-info version */
	uint32_t acked;                /* highest CSeq whose final response was reported */
	uint8_t event;                 /* enum sippres__event */
	uint8_t queued;                /* enum sippres__queued */
	uint8_t final_reason;          /* for SQ_FINAL: enum sippres__final */
	uint8_t failures;
	uint8_t digium;                /* User-Agent names Digium or Sangoma */
	uint8_t sent_any;              /* a NOTIFY went out */
	uint16_t off[SS_COUNT];        /* string offsets into str[] */
	char str[];
};

enum sippres__final { SF_TIMEOUT = 0, SF_NORESOURCE, SF_DEACTIVATED, SF_REJECTED };

static inline const char *sippres__sub_str(const struct sippres_sub *s, int which)
{
	return s->str + s->off[which];
}

struct sippres__subs;
struct sippres__rls;
struct sippres__list_def;

/* The batching timer of a list subscription: the first member of struct sippres__rls. */
struct sippres__batch {
	uint64_t at;
	uint32_t idx;
	struct sippres_sub *owner;
};

/* subs.c, for the list code */
int sippres__subs_emit(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason, bool final, uint8_t final_reason,
                 const char *content_type, const char *body, size_t body_len);
/* What a subscription's body is rendered from (its profile, options, URIs, User-Agent) for one resource. */
void sippres__sub_body_input(const struct sippres_sub *s, const struct sippres_exten_status *st, const char *exten,
                       const char *local_uri, uint32_t version, struct sippres_body_input *in);
bool sippres__version_bumps(const struct sippres_sub *s, uint32_t reason, uint8_t final_reason);
const char *sippres__final_reason_name(uint8_t r);
uint64_t sippres__subs_now(const struct sippres_ctx *ctx);
/* Schedule (or cancel, at == 0) a batched list NOTIFY for s. */
int sippres__subs_batch(struct sippres_ctx *ctx, struct sippres_sub *s, uint64_t at);
/* A list member changed: send the owner's NOTIFY now (partial or full as the list says). */
int sippres__subs_list_changed(struct sippres_ctx *ctx, struct sippres_sub *s);

/* lists.c */
int sippres__lists_new(struct sippres_ctx *ctx);
void sippres__lists_free(struct sippres_ctx *ctx);
const struct sippres__list_def *sippres__list_find(struct sippres_ctx *ctx, const char *name, const char *event);
/* Build the resource tree of a list subscription (members looked up in
 * context). SIPPRES_E_NOTFOUND when no member resolves (500). */
int sippres__rls_build(struct sippres_ctx *ctx, const struct sippres__list_def *def, const char *context, const char *scheme,
                 const char *host, uint32_t port, struct sippres__rls **ret);
/* The same, for the list URI a subscription was made to (scheme:list@host[:port]). */
int sippres__rls_build_at(struct sippres_ctx *ctx, const struct sippres__list_def *def, const char *context,
                    const char *local_uri, struct sippres__rls **ret);
void sippres__rls_attach(struct sippres__rls *rls, struct sippres_sub *owner);
void sippres__rls_free(struct sippres_ctx *ctx, struct sippres__rls *rls);
/* Send the NOTIFY (or NOTIFYs, when split) of a list subscription. */
int sippres__rls_notify(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason, bool final, uint8_t final_reason);
void sippres__rls_leaf_event(struct sippres_ctx *ctx, struct sippres__hlink *link, const struct sippres_exten_status *st);
#define SIPPRES__HLINK_SUB 0
#define SIPPRES__HLINK_MEMBER 1
uint32_t sippres__rls_root_version(const struct sippres__rls *rls);
const char *sippres__rls_name(const struct sippres__rls *rls);
bool sippres__rls_same_members(const struct sippres__rls *a, const struct sippres__rls *b);
void sippres__rls_set_root_version(struct sippres__rls *rls, uint32_t v);
bool sippres__rls_has_changes(const struct sippres__rls *rls);

int sippres__subs_new(struct sippres_ctx *ctx);
void sippres__subs_free(struct sippres_ctx *ctx);

/* Called by the registry for every event of a hint that has subscriptions
 * (after its watches). st is the status being dispatched. */
void sippres__subs_hint_event(struct sippres_ctx *ctx, struct sippres__hint *h, const struct sippres_exten_status *st);

/* The canonical, stable copy of a content type that has a generator, or NULL.
 * exact_case: the text must already be in canonical (lower) case, as
 * Asterisk compares. */
const char *sippres__content_type_intern(struct sippres_ctx *ctx, const char *s, size_t n, bool exact_case);

/* Accept negotiation (accept.c). Returns the chosen content type (a static or
 * interned string) or NULL; *status_out gets 0 on success, else 406/489. */
struct sippres__accept_choice {
	const char *content_type;
};
/* Built-in content types in preference order for each event. */
enum sippres__event { SIPPRES__EVENT_PRESENCE = 0, SIPPRES__EVENT_DIALOG = 1 };
int sippres__event_parse(const char *event);
const char *sippres__event_name(int ev);
/* asterisk: first exact match of a registered generator, q ignored.
 * standard: highest q among the usable ranges, ties in Accept order; wildcards
 * pick the event's default. Returns NULL when nothing is usable. */
const char *sippres__accept_choose(struct sippres_ctx *ctx, int event, bool asterisk, const char *const *accept,
                             size_t n);
/* The Accept header value listing what can be produced for an event (406). */
const char *sippres__accept_list(int event);


#endif
