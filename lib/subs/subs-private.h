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
	struct sippres_sub *hprev, *hnext; /* subscriptions of the same hint */
	struct sippres_sub *aprev, *anext; /* every subscription, creation order */
	struct sippres_sub *qnext;     /* queue of NOTIFYs due now */
	void *user_data;
	const char *content_type;      /* interned */
	uint64_t expires_at;
	uint32_t heap_idx;
	uint32_t cseq;                 /* next CSeq */
	uint32_t version;              /* next dialog-info version */
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

/* Binary min-heap of subscriptions by expiry (heap.c). */
struct sp_heap {
	struct sippres_sub **v;
	uint32_t n, cap;
};
int sp_heap_reserve(struct sippres_ctx *ctx, struct sp_heap *hp, uint32_t n);
void sp_heap_push(struct sp_heap *hp, struct sippres_sub *s);
void sp_heap_remove(struct sp_heap *hp, struct sippres_sub *s);
void sp_heap_update(struct sp_heap *hp, struct sippres_sub *s);
struct sippres_sub *sp_heap_top(const struct sp_heap *hp);
void sp_heap_free(struct sippres_ctx *ctx, struct sp_heap *hp);

#endif
