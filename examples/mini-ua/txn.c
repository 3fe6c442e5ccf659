/* SPDX-License-Identifier: MIT */
/* Transactions over UDP: NOTIFY client transactions with RFC 3261 timers E
 * and F (a hash by branch plus a deadline heap), and the server side's
 * response cache that answers retransmitted requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ua.h"

static size_t bucket_of(const char *key, size_t nbuckets)
{
	return (size_t)(ua_hash(key, strlen(key)) & (nbuckets - 1)); /* branches and keys come from the network */
}

/* ---- NOTIFY client transactions --------------------------------------------- */

int ntx_table_init(struct ntx_table *t, uint32_t t1)
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->t1 = t1 ? t1 : 500;
	return t->buckets ? 0 : -1;
}

static void change_unref(struct ntx_table *t, struct ntx_change *c)
{
	if (!c || --c->refs)
		return;
	if (t->last_change == c)
		t->last_change = NULL;
	free(c);
}

/* A block back to the pool (freed when the pool is full or cannot grow). */
static void pool_put(struct ntx_table *t, void *block)
{
	if (t->pool_len < NTX_POOL_MAX) {
		if (!t->pool)
			t->pool = malloc(NTX_POOL_MAX * sizeof(*t->pool));
		if (t->pool) {
			t->pool[t->pool_len++] = block;
			return;
		}
	}
	free(block);
}

void ntx_destroy(struct ntx_table *t, struct ntx *x)
{
	if (!x->data_inline)
		free(x->data);
	if (x->pooled)
		pool_put(t, x);
	else
		free(x);
}

void ntx_table_fini(struct ntx_table *t)
{
	for (size_t i = 0; i < t->heap_len; i++)
		ntx_destroy(t, t->heap[i]);
	for (size_t i = 0; i < t->pool_len; i++)
		free(t->pool[i]);
	free(t->pool);
	free(t->heap);
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

size_t ntx_pool_len(const struct ntx_table *t)
{
	return t->pool_len;
}

static void heap_swap(struct ntx_table *t, size_t a, size_t b)
{
	struct ntx *x = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->heap[a]->heap_index = a;
	t->heap[b]->heap_index = b;
}

static void heap_up(struct ntx_table *t, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (t->heap[p]->fire_at <= t->heap[i]->fire_at)
			break;
		heap_swap(t, p, i);
		i = p;
	}
}

static void heap_down(struct ntx_table *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < t->heap_len && t->heap[l]->fire_at < t->heap[m]->fire_at)
			m = l;
		if (r < t->heap_len && t->heap[r]->fire_at < t->heap[m]->fire_at)
			m = r;
		if (m == i)
			return;
		heap_swap(t, i, m);
		i = m;
	}
}

static void heap_fix(struct ntx_table *t, size_t i)
{
	heap_up(t, i);
	heap_down(t, i);
}

static void grow_buckets(struct ntx_table *t)
{
	size_t n = t->nbuckets * 2;
	struct ntx **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct ntx *x = t->buckets[i];

		while (x) {
			struct ntx *next = x->hnext;
			size_t j = (size_t)(x->hash & (n - 1));

			x->hnext = b[j];
			b[j] = x;
			x = next;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

size_t ntx_head(const char *call_id, const char *local_tag)
{
	return sizeof(struct ntx) + strlen(call_id) + 1 + strlen(local_tag) + 1;
}

static struct ntx *add(struct ntx_table *t, struct ntx *x, const char *branch, const char *call_id,
                       const char *local_tag, uint32_t cseq, char *data, size_t len, const struct ua_addr *dst,
                       uint64_t now);

struct ntx *ntx_add(struct ntx_table *t, const char *branch, const char *call_id, const char *local_tag, uint32_t cseq,
                    char *data, size_t len, const struct ua_addr *dst, uint64_t now)
{
	struct ntx *x = malloc(ntx_head(call_id, local_tag));

	if (!x) {
		free(data);
		return NULL;
	}
	memset(x, 0, sizeof(*x));
	x = add(t, x, branch, call_id, local_tag, cseq, data, len, dst, now);
	if (!x)
		free(data);
	return x;
}

struct ntx *ntx_add_at(struct ntx_table *t, void *block, const char *branch, const char *call_id,
                       const char *local_tag, uint32_t cseq, size_t len, const struct ua_addr *dst, uint64_t now)
{
	struct ntx *x = block;

	memset(x, 0, sizeof(*x));
	x->data_inline = true;
	return add(t, x, branch, call_id, local_tag, cseq, (char *)block + ntx_head(call_id, local_tag), len, dst, now);
}

/* s copied at *p (advanced); NULL stays NULL */
static const char *put_str(char **p, const char *s)
{
	size_t n;
	char *d = *p;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	memcpy(d, s, n);
	*p += n;
	return d;
}

static size_t len0(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* n's shared facts: the last change when they are the same, else a new one (the last from now on) */
static struct ntx_change *change_share(struct ntx_table *t, const struct notify_out *n)
{
	struct ntx_change *c = t->last_change;
	size_t body_len = n->content_type ? n->body_len : 0;
	char *p;

	if (c && c->require_eventlist == n->require_eventlist && c->body_len == body_len &&
	    same(c->via, n->via_sent_by) && same(c->contact, n->contact) && same(c->from_uri, n->from_uri) &&
	    same(c->event, n->event) && same(c->content_type, n->content_type) &&
	    same(c->allow_events, n->allow_events) && same(c->user_agent, n->user_agent) &&
	    (!body_len || memcmp(c->body, n->body, body_len) == 0)) {
		c->refs++;
		return c;
	}
	c = malloc(sizeof(*c) + len0(n->via_sent_by) + len0(n->contact) + len0(n->from_uri) + len0(n->event) +
	           len0(n->content_type) + len0(n->allow_events) + len0(n->user_agent) + body_len);
	if (!c)
		return NULL;
	c->refs = 1;
	p = c->str;
	c->via = put_str(&p, n->via_sent_by);
	c->contact = put_str(&p, n->contact);
	c->from_uri = put_str(&p, n->from_uri);
	c->event = put_str(&p, n->event);
	c->content_type = put_str(&p, n->content_type);
	c->allow_events = put_str(&p, n->allow_events);
	c->user_agent = put_str(&p, n->user_agent);
	c->require_eventlist = n->require_eventlist;
	c->body_len = body_len;
	c->body = body_len ? p : NULL;
	if (body_len)
		memcpy(p, n->body, body_len);
	t->last_change = c;
	return c;
}

struct ntx_pend *ntx_pend_new(struct ntx_table *t, const struct notify_out *n, const struct ua_addr *dst,
                              uint64_t now)
{
	struct ntx_pend *p;
	char *s;

	if ((size_t)dst->len > sizeof(p->dst))
		return NULL;
	p = malloc(sizeof(*p) + len0(n->call_id) + len0(n->from_tag) + len0(n->ruri) + len0(n->to_uri) +
	           len0(n->to_tag) + len0(n->subscription_state));
	if (!p)
		return NULL;
	p->chg = change_share(t, n);
	if (!p->chg) {
		free(p);
		return NULL;
	}
	p->ready = NULL;
	p->gone = false;
	p->cseq = n->cseq;
	p->at = now;
	p->dst_len = dst->len;
	memcpy(&p->dst, &dst->ss, dst->len);
	s = p->str;
	p->call_id = put_str(&s, n->call_id);
	p->local_tag = put_str(&s, n->from_tag);
	p->ruri = put_str(&s, n->ruri);
	p->to_uri = put_str(&s, n->to_uri);
	p->to_tag = put_str(&s, n->to_tag);
	p->state = put_str(&s, n->subscription_state);
	return p;
}

struct ntx_pend *ntx_pend_ready(struct ntx *x, uint64_t now)
{
	struct ntx_pend *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->ready = x;
	p->at = now;
	x->queued = true;
	return p;
}

void ntx_pend_free(struct ntx_table *t, struct ntx_pend *p)
{
	if (p)
		change_unref(t, p->chg);
	free(p);
}

struct ntx *ntx_pend_send(struct ntx_table *t, struct ntx_pend *p, const char *branch, uint64_t now)
{
	const struct ntx_change *c = p->chg;
	const struct notify_out o = {
		.ruri = p->ruri, .via_sent_by = c->via, .branch = branch, .from_uri = c->from_uri,
		.from_tag = p->local_tag, .to_uri = p->to_uri, .to_tag = p->to_tag, .call_id = p->call_id,
		.cseq = p->cseq, .contact = c->contact, .event = c->event, .subscription_state = p->state,
		.content_type = c->content_type, .body = c->body, .body_len = c->body_len,
		.require_eventlist = c->require_eventlist, .allow_events = c->allow_events, .user_agent = c->user_agent,
	};
	size_t head = ntx_head(p->call_id, p->local_tag), need = head + sip_notify_size(&o);
	struct ua_addr dst;
	struct ntx *x;
	char *block;
	bool pooled = need <= NTX_BLOCK;

	if (pooled && t->pool_len) {
		block = t->pool[--t->pool_len];
		t->pool_reused++;
	} else {
		block = malloc(pooled ? NTX_BLOCK : need);
		if (!block)
			return NULL;
	}
	memset(&dst, 0, sizeof(dst));
	memcpy(&dst.ss, &p->dst, p->dst_len);
	dst.len = p->dst_len;
	x = ntx_add_at(t, block, branch, p->call_id, p->local_tag, p->cseq,
	               sip_notify_write(&o, block + head), &dst, now);
	if (!x)
		return NULL; /* ntx_add_at freed the block */
	x->pooled = pooled;
	t->pend_sent++;
	ntx_pend_free(t, p);
	return x;
}

/* x (its struct zeroed, with room for the strings after it) into the table; NULL (x freed, not data) when
 * out of memory */
static struct ntx *add(struct ntx_table *t, struct ntx *x, const char *branch, const char *call_id,
                       const char *local_tag, uint32_t cseq, char *data, size_t len, const struct ua_addr *dst,
                       uint64_t now)
{
	size_t cl = strlen(call_id) + 1, tl = strlen(local_tag) + 1, b;

	if (t->heap_len == t->heap_cap) {
		size_t n = t->heap_cap ? t->heap_cap * 2 : 64;
		struct ntx **h = realloc(t->heap, n * sizeof(*h));

		if (!h)
			goto fail;
		t->heap = h;
		t->heap_cap = n;
	}
	b = strnlen(branch, sizeof(x->branch) - 1);
	memcpy(x->branch, branch, b);
	x->branch[b] = '\0';
	memcpy(x->str, call_id, cl);
	memcpy(x->str + cl, local_tag, tl);
	x->call_id = x->str;
	x->local_tag = x->str + cl;
	x->cseq = cseq;
	x->data = data;
	x->len = len;
	x->dst = *dst;
	x->interval = t->t1;
	x->start = now;
	x->fire_at = now + t->t1;
	x->f_at = now + 64u * t->t1;
	if (t->count >= t->nbuckets)
		grow_buckets(t);
	x->hash = ua_hash(x->branch, strlen(x->branch));
	b = (size_t)(x->hash & (t->nbuckets - 1));
	x->hnext = t->buckets[b];
	t->buckets[b] = x;
	t->count++;
	x->heap_index = t->heap_len;
	t->heap[t->heap_len++] = x;
	heap_up(t, x->heap_index);
	return x;
fail:
	free(x);
	return NULL;
}

struct ntx *ntx_find(struct ntx_table *t, const char *branch)
{
	for (struct ntx *x = t->buckets[bucket_of(branch, t->nbuckets)]; x; x = x->hnext) {
		if (strcmp(x->branch, branch) == 0)
			return x;
	}
	return NULL;
}

void ntx_remove(struct ntx_table *t, struct ntx *x)
{
	ntx_detach(t, x);
	ntx_destroy(t, x);
}

void ntx_detach(struct ntx_table *t, struct ntx *x)
{
	struct ntx **pp = &t->buckets[x->hash & (t->nbuckets - 1)];
	size_t i = x->heap_index;

	while (*pp && *pp != x)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = x->hnext;
	t->count--;
	t->heap_len--;
	if (i != t->heap_len) {
		t->heap[i] = t->heap[t->heap_len];
		t->heap[i]->heap_index = i;
		heap_fix(t, i);
	}
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

void ntx_short(struct ntx_table *t, struct ntx *x)
{
	x->unproven = true;
	x->f_at = x->fire_at - t->t1 + 3u * t->t1;
	heap_fix(t, x->heap_index);
}

void ntx_sent(struct ntx_table *t, struct ntx *x, uint64_t now)
{
	uint64_t shift = now > x->start ? now - x->start : 0;

	if (!shift)
		return;
	x->start = now;
	x->fire_at += shift;
	x->f_at += shift;
	heap_fix(t, x->heap_index);
}

void ntx_hold(struct ntx_table *t, struct ntx *x)
{
	x->held = true;
	x->fire_at = x->f_at; /* nothing to retransmit: only timer F */
	heap_fix(t, x->heap_index);
}

void ntx_release(struct ntx_table *t, struct ntx *x, uint64_t now)
{
	x->held = false;
	x->interval = t->t1;
	x->start = now;
	x->fire_at = now + t->t1;
	x->f_at = now + 64u * t->t1;
	heap_fix(t, x->heap_index);
}

void ntx_proceeding(struct ntx_table *t, struct ntx *x, uint64_t now)
{
	if (x->proceeding)
		return;
	x->proceeding = true;
	x->interval = UA_T2_MS;
	x->fire_at = min_u64(now + UA_T2_MS, x->f_at);
	heap_fix(t, x->heap_index);
}

void ntx_reliable(struct ntx_table *t, struct ntx *x)
{
	x->fire_at = x->f_at;
	heap_fix(t, x->heap_index);
}

uint64_t ntx_next(const struct ntx_table *t)
{
	return t->heap_len ? t->heap[0]->fire_at : UINT64_MAX;
}

struct ntx *ntx_due(struct ntx_table *t, uint64_t now)
{
	if (t->heap_len && t->heap[0]->fire_at <= now)
		return t->heap[0];
	return NULL;
}

void ntx_fired(struct ntx_table *t, struct ntx *x, uint64_t now)
{
	/* E doubles up to T2 while Trying; stays at T2 while Proceeding */
	if (!x->proceeding) {
		x->interval *= 2;
		if (x->interval > UA_T2_MS)
			x->interval = UA_T2_MS;
	}
	/* from when it was due, so that a busy loop does not stretch the schedule past timer F (0, T1, 3T1, 7T1
	 * ... 63T1 before F at 64T1); when far behind, half an interval from now rather than a burst */
	x->fire_at = x->fire_at + x->interval;
	if (x->fire_at < now + x->interval / 2)
		x->fire_at = now + x->interval / 2;
	x->fire_at = min_u64(x->fire_at, x->f_at);
	heap_fix(t, x->heap_index);
}

/* ---- server response cache ---------------------------------------------------- */

int stx_table_init(struct stx_table *t, uint32_t lifetime_ms)
{
	memset(t, 0, sizeof(*t));
	t->max = STX_MAX_DEFAULT;
	t->nbuckets = 1024;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	t->lifetime = lifetime_ms;
	return t->buckets ? 0 : -1;
}

static void stx_free(struct stx *s)
{
	free(s->key);
	free(s->data);
	free(s);
}

void stx_table_fini(struct stx_table *t)
{
	struct stx *s = t->qhead;

	while (s) {
		struct stx *n = s->qnext;

		stx_free(s);
		s = n;
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

char *stx_key(const struct sip_in *req)
{
	struct sbuf b;
	osip_via_t *v = NULL;
	const char *host = NULL, *port = NULL;

	sbuf_init(&b);
	if (req->fast) {
		sip_fast_via(req->fast, &host, &port);
	} else if (osip_message_get_via(req->msg, 0, &v) >= 0 && v) {
		host = v->host;
		port = v->port;
	}
	/* RFC 3261 17.2.3: branch (magic cookie) + sent-by + method; else the
	 * RFC 2543 way: Call-ID, From tag, CSeq and the top Via */
	if (req->branch && strncmp(req->branch, "z9hG4bK", 7) == 0) {
		const char *parts[] = {req->branch, "|", host ? host : "", "|", port ? port : "", "|", req->method};

		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
			sbuf_add(&b, parts[i], strlen(parts[i]));
	} else {
		sbuf_printf(&b, "~%s|%s|%u|%s|%s|%s|%s", req->call_id, req->from_tag ? req->from_tag : "", req->cseq,
		            req->method, req->branch ? req->branch : "", host ? host : "", req->to_tag ? req->to_tag : "");
	}
	if (b.oom) {
		sbuf_free(&b);
		return NULL;
	}
	return b.s;
}

const struct stx *stx_find(const struct stx_table *t, const char *key)
{
	for (const struct stx *s = t->buckets[bucket_of(key, t->nbuckets)]; s; s = s->hnext) {
		if (strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

static void stx_grow(struct stx_table *t)
{
	size_t n = t->nbuckets * 2;
	struct stx **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct stx *s = t->buckets[i];

		while (s) {
			struct stx *next = s->hnext;
			size_t j = bucket_of(s->key, n);

			s->hnext = b[j];
			b[j] = s;
			s = next;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
}

/* The oldest entry goes when it has expired, or (force) to make room. */
static void stx_drop_oldest(struct stx_table *t)
{
	struct stx *s = t->qhead, **pp = &t->buckets[bucket_of(s->key, t->nbuckets)];

	while (*pp && *pp != s)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = s->hnext;
	t->qhead = s->qnext;
	if (!t->qhead)
		t->qtail = NULL;
	t->count--;
	stx_free(s);
}

int stx_add(struct stx_table *t, const char *key, const char *data, size_t len, uint64_t now)
{
	struct stx *s = calloc(1, sizeof(*s));
	size_t b;

	if (!s)
		return -1;
	s->key = strdup(key);
	s->data = malloc(len ? len : 1);
	if (!s->key || !s->data) {
		stx_free(s);
		return -1;
	}
	memcpy(s->data, data, len);
	s->len = len;
	s->expires = now + t->lifetime;
	while (t->max && t->count >= t->max && t->qhead) {
		stx_drop_oldest(t); /* full: the oldest answer goes first (a retransmission of it gets a new one) */
		t->evicted++;
	}
	if (t->count >= t->nbuckets)
		stx_grow(t);
	b = bucket_of(key, t->nbuckets);
	s->hnext = t->buckets[b];
	t->buckets[b] = s;
	if (t->qtail)
		t->qtail->qnext = s;
	else
		t->qhead = s;
	t->qtail = s;
	t->count++;
	return 0;
}

void stx_expire(struct stx_table *t, uint64_t now)
{
	while (t->qhead && t->qhead->expires <= now)
		stx_drop_oldest(t);
}

uint64_t stx_next(const struct stx_table *t)
{
	return t->qhead ? t->qhead->expires : UINT64_MAX;
}
