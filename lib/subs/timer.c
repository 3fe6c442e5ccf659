/* SPDX-License-Identifier: MIT */
/* Time: the queue of NOTIFYs due now (sent from sippres_ctx_handle_timeout),
 * subscription expiry, the batching timers of list subscriptions, and the
 * expiry of publications. The
 * host gives the time; nothing here reads a clock. */
#include <string.h>

#include "subs-private.h"

void sippres__subs_set_now(struct sippres_ctx *ctx, uint64_t now)
{
	if (now > ctx->subs->now)
		ctx->subs->now = now;
}

void sippres__sub_release(struct sippres_ctx *ctx, struct sippres_sub *s)
{
	if (s->queued == SQ_NONE) {
		sippres__free(ctx, s);
		return;
	}
	/* unlinking from the middle of the queue would walk it: the drain frees it */
	s->queued = SQ_FREED;
}

void sippres__subs_queue_free(struct sippres_ctx *ctx)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres_sub *s = ss->q_head;

	while (s) {
		struct sippres_sub *next = s->qnext;

		if (s->queued == SQ_FREED)
			sippres__free(ctx, s);
		s = next;
	}
	ss->q_head = ss->q_tail = NULL;
}

void sippres__sub_queue(struct sippres__subs *ss, struct sippres_sub *s, uint8_t what)
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

void sippres__sub_schedule(struct sippres__subs *ss, struct sippres_sub *s, uint64_t expires_at)
{
	s->expires_at = expires_at;
	if (s->heap_idx == SIPPRES__NOT_IN_HEAP)
		sippres__heap_push(&ss->heap, s); /* room was reserved at creation */
	else
		sippres__heap_update(&ss->heap, s);
}

int sippres__sub_batch(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t delay_ms)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres__rls_timer *t = s->is_list ? &s->w.rls->timer : NULL;

	if (!t)
		return 0;
	if (delay_ms == 0) {
		sippres__heap_remove(&ss->batch, t);
		return 0;
	}
	if (t->idx != SIPPRES__NOT_IN_HEAP)
		return 0; /* one timer at a time: the NOTIFY carries everything up to then */
	if (s->queued != SQ_NONE)
		return 0; /* a full-state NOTIFY is on its way */
	if (sippres__heap_reserve(ctx, &ss->batch, ss->batch.n + 1) < 0)
		return sippres__sub_list_changed(ctx, s); /* cannot wait: send now */
	t->at = ss->now + delay_ms;
	sippres__heap_push(&ss->batch, t);
	return 0;
}

SIPPRES_EXPORT int sippres_ctx_set_time(struct sippres_ctx *ctx, uint64_t now_ms)
{
	if (!ctx)
		return SIPPRES_E_INVAL;
	sippres__subs_set_now(ctx, now_ms);
	return 0;
}

SIPPRES_EXPORT int sippres_ctx_next_timeout(struct sippres_ctx *ctx, uint64_t now_ms, uint64_t *deadline_ms)
{
	struct sippres_sub *top;
	struct sippres__rls_timer *b;
	uint64_t at = 0;
	int have;

	if (!ctx || !deadline_ms)
		return SIPPRES_E_INVAL;
	sippres__subs_set_now(ctx, now_ms);
	if (ctx->subs->q_head) {
		*deadline_ms = now_ms;
		return 1;
	}
	top = sippres__heap_top(&ctx->subs->heap);
	b = sippres__heap_top(&ctx->subs->batch);
	have = sippres__pubs_deadline(ctx, &at);
	if (top && (!have || top->expires_at < at)) {
		at = top->expires_at;
		have = 1;
	}
	if (b && (!have || b->at < at)) {
		at = b->at;
		have = 1;
	}
	if (have)
		*deadline_ms = at;
	return have;
}

/* Send what the queue holds. */
static int drain_queue(struct sippres_ctx *ctx, int *sent)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres_sub *s;
	int err = 0;

	while ((s = ss->q_head)) {
		uint8_t what = s->queued;
		int r;

		ss->q_head = s->qnext;
		if (!ss->q_head)
			ss->q_tail = NULL;
		s->qnext = NULL;
		s->queued = SQ_NONE;
		switch (what) {
		case SQ_FREED:
			sippres__free(ctx, s);
			continue;
		case SQ_DROP:
			sippres__sub_end(ctx, s);
			continue;
		case SQ_FINAL:
			r = sippres__sub_finish(ctx, s, NULL, s->final_reason);
			break;
		default:
			r = sippres__sub_send(ctx, s,
			                      what == SQ_INITIAL ? SIPPRES_NOTIFY_INITIAL
			                      : what == SQ_REFRESH ? SIPPRES_NOTIFY_REFRESH
			                                           : SIPPRES_NOTIFY_RESTORED,
			                      NULL, false, 0);
		}
		if (r < 0)
			err = r;
		else
			(*sent)++;
	}
	return err;
}

SIPPRES_EXPORT int sippres_ctx_handle_timeout(struct sippres_ctx *ctx, uint64_t now_ms)
{
	struct sippres__subs *ss;
	struct sippres_sub *s;
	int sent = 0, err, r;

	if (!ctx)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	ss = ctx->subs;
	sippres__subs_set_now(ctx, now_ms);
	/* publications first: the state they take away goes out as NOTIFYs now */
	sippres__pubs_expire(ctx, now_ms);
	err = drain_queue(ctx, &sent);
	for (;;) {
		struct sippres__rls_timer *b = sippres__heap_top(&ss->batch);

		if (!b || b->at > now_ms)
			break;
		sippres__heap_remove(&ss->batch, b);
		r = sippres__sub_list_changed(ctx, b->owner);
		if (r < 0)
			err = r;
		else
			sent++;
	}
	while ((s = sippres__heap_top(&ss->heap)) && s->expires_at <= now_ms) {
		sippres__heap_remove(&ss->heap, s);
		r = sippres__sub_finish(ctx, s, NULL, SF_TIMEOUT);
		if (r < 0)
			err = r;
		else
			sent++;
	}
	ss->last.valid = false;
	sippres__hints_reclaim(ctx);
	return err < 0 ? err : sent;
}
