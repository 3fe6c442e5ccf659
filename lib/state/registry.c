/* SPDX-License-Identifier: MIT */
/* The state registry: hints per (context, extension), devices and presence
 * providers with a reverse index to the hints that name them, calls per
 * device, and watches. A state change costs O(hints naming the source). */
#include <string.h>

#include "registry-private.h"
#include "subs/subs-private.h"

/* ---------------------------------------------------------------- sources */

static struct sippres__source *source_find(struct sippres_ctx *ctx, struct sippres__map *m, const char *name)
{
	uint32_t h = sippres__hash(ctx->hash_seed, name, true);

	for (struct sippres__hnode *n = sippres__map_chain(m, h); n; n = n->next) {
		struct sippres__source *s = SIPPRES__CONTAINER_OF(n, struct sippres__source, node);

		if (n->hash == h && sippres__streq_nocase(s->name, name))
			return s;
	}
	return NULL;
}

static struct sippres__source *source_get(struct sippres_ctx *ctx, struct sippres__map *m, const char *name, size_t len)
{
	struct sippres__source *s;
	char *copy = sippres__strndup(ctx, name, len);

	if (!copy)
		return NULL;
	s = source_find(ctx, m, copy);
	if (s) {
		sippres__free(ctx, copy);
		return s;
	}
	s = sippres__calloc(ctx, 1, sizeof(*s));
	if (!s) {
		sippres__free(ctx, copy);
		return NULL;
	}
	s->name = copy;
	s->state = SIPPRES_DEVICE_UNKNOWN; /* == SIPPRES_PRESENCE_NOT_SET */
	sippres__map_insert(ctx, m, &s->node, sippres__hash(ctx->hash_seed, copy, true));
	return s;
}

static void call_free_all(struct sippres_ctx *ctx, struct sippres__source *s)
{
	struct sippres__call *c = s->calls_head;

	while (c) {
		struct sippres__call *next = c->next;
		sippres__free(ctx, c);
		c = next;
	}
	s->calls_head = s->calls_tail = NULL;
}

static void source_destroy(struct sippres_ctx *ctx, struct sippres__source *s)
{
	call_free_all(ctx, s);
	sippres__free(ctx, s->subtype);
	sippres__free(ctx, s->message);
	sippres__free(ctx, s->name);
	sippres__free(ctx, s);
}

/* Free a source nothing needs any more. */
static void source_gc(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__source *s)
{
	if (s->is_set || s->nrefs || s->npending || s->calls_head)
		return;
	sippres__map_remove(m, &s->node);
	source_destroy(ctx, s);
}

/* ------------------------------------------------------------ hint bodies */

static int scratch_reserve(struct sippres_ctx *ctx, size_t n)
{
	struct sippres__registry *reg = ctx->reg;

	if (n <= reg->scratch_cap)
		return 0;
	for (int i = 0; i < SCRATCH_COUNT; i++) {
		void *p = sippres__reallocarray(ctx, reg->scratch[i], n, sizeof(*reg->scratch[i]));
		if (!p)
			return SIPPRES_E_NOMEM; /* the arrays already grown stay grown: harmless */
		reg->scratch[i] = p;
	}
	reg->scratch_cap = n;
	return 0;
}

static void refs_discard(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		refs[i].src->npending--;
		source_gc(ctx, m, refs[i].src);
	}
	sippres__free(ctx, refs);
}

static void body_discard(struct sippres_ctx *ctx, struct sippres__hint_body *b)
{
	refs_discard(ctx, &ctx->reg->devices, b->devs, b->ndevs);
	refs_discard(ctx, &ctx->reg->providers, b->provs, b->nprovs);
	sippres__free(ctx, b->value);
	sippres__free(ctx, b->display);
	memset(b, 0, sizeof(*b));
}

/* Resolve names to sources (created as needed, held by npending), skipping repeats. */
static int refs_prepare(struct sippres_ctx *ctx, struct sippres__map *m, const char *value, const struct sippres__span *spans,
                        size_t n, struct sippres__ref **out, size_t *nout)
{
	struct sippres__ref *refs;
	size_t k = 0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	refs = sippres__calloc(ctx, n, sizeof(*refs));
	if (!refs)
		return SIPPRES_E_NOMEM;
	for (size_t i = 0; i < n; i++) {
		struct sippres__source *s = source_get(ctx, m, value + spans[i].off, spans[i].len);
		bool dup = false;

		if (!s) {
			refs_discard(ctx, m, refs, k);
			return SIPPRES_E_NOMEM;
		}
		for (size_t j = 0; j < k; j++)
			dup = dup || refs[j].src == s;
		if (dup)
			continue;
		s->npending++;
		refs[k++].src = s;
	}
	*out = refs;
	*nout = k;
	return 0;
}

/* Parse value and resolve its sources. Patterns are only parsed: their
 * ${EXTEN} references resolve when an extension is instantiated. */
static int body_prepare(struct sippres_ctx *ctx, const char *value, bool pattern, struct sippres__hint_body *b,
                        struct sippres_diag *diag)
{
	struct sippres__hint_parsed p;
	int r;

	memset(b, 0, sizeof(*b));
	r = sippres__hint_parse(ctx, value, strlen(value), &p, diag);
	if (r < 0)
		return r;
	b->value = sippres__strdup(ctx, value);
	b->display = sippres__strndup(ctx, value + p.display.off, p.display.len);
	if (!b->value || !b->display) {
		r = SIPPRES_E_NOMEM;
		goto fail;
	}
	if (!pattern) {
		r = refs_prepare(ctx, &ctx->reg->devices, value, p.devices, p.ndevices, &b->devs, &b->ndevs);
		if (r < 0)
			goto fail;
		r = refs_prepare(ctx, &ctx->reg->providers, value, p.providers, p.nproviders, &b->provs,
		                 &b->nprovs);
		if (r < 0)
			goto fail;
		r = scratch_reserve(ctx, b->ndevs);
		if (r < 0)
			goto fail;
	}
	sippres__hint_parsed_fini(ctx, &p);
	return 0;
fail:
	sippres__diag(diag, 0, 0, "out of memory");
	sippres__hint_parsed_fini(ctx, &p);
	body_discard(ctx, b);
	return r;
}

static void refs_link(struct sippres__hint *h, struct sippres__ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sippres__source *s = refs[i].src;

		refs[i].hint = h;
		refs[i].prev = NULL;
		refs[i].next = s->refs;
		if (s->refs)
			s->refs->prev = &refs[i];
		s->refs = &refs[i];
		s->nrefs++;
		s->npending--;
	}
}

static void refs_unlink(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sippres__source *s = refs[i].src;

		if (refs[i].prev)
			refs[i].prev->next = refs[i].next;
		else
			s->refs = refs[i].next;
		if (refs[i].next)
			refs[i].next->prev = refs[i].prev;
		s->nrefs--;
		source_gc(ctx, m, s);
	}
	sippres__free(ctx, refs);
}

/* Install a prepared body into h; the old body is returned for release. */
static void body_commit(struct sippres__hint *h, struct sippres__hint_body *b, struct sippres__hint_body *old)
{
	*old = h->body;
	h->body = *b;
	memset(b, 0, sizeof(*b));
	refs_link(h, h->body.devs, h->body.ndevs);
	refs_link(h, h->body.provs, h->body.nprovs);
}

static void body_release(struct sippres_ctx *ctx, struct sippres__hint_body *b)
{
	refs_unlink(ctx, &ctx->reg->devices, b->devs, b->ndevs);
	refs_unlink(ctx, &ctx->reg->providers, b->provs, b->nprovs);
	sippres__free(ctx, b->value);
	sippres__free(ctx, b->display);
	memset(b, 0, sizeof(*b));
}

/* ------------------------------------------------------- state computation */

static void compute_device_state(struct sippres__hint *h)
{
	struct sippres__devagg a;

	sippres__devagg_init(&a);
	for (size_t i = 0; i < h->body.ndevs; i++)
		sippres__devagg_add(&a, h->body.devs[i].src->state);
	h->device_state = a.state;
	/* no devices: INVALID, which maps to Unavailable, as Asterisk's presence-only hints */
	h->exten_state = sippres_device_to_exten_state(a.state);
}

static struct sippres__source *presence_winner(const struct sippres__hint *h)
{
	struct sippres__source *w = NULL;
	int rank = -1;

	for (size_t i = 0; i < h->body.nprovs; i++) {
		struct sippres__source *s = h->body.provs[i].src;
		int r = sippres__presence_rank(s->state);

		if (r > rank) { /* strictly higher: ties keep the first */
			rank = r;
			w = s;
		}
	}
	return w;
}

static bool str_same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ------------------------------------------------------- status & dispatch */

static const struct sippres_call *device_causing_call(const struct sippres__source *d)
{
	const struct sippres__call *c, *any = NULL;

	switch (d->state) {
	case SIPPRES_DEVICE_RINGING:
	case SIPPRES_DEVICE_RINGINUSE:
		/* the oldest ringing call, preferring calls to the device (pickup) */
		for (c = d->calls_head; c; c = c->next) {
			if (c->pub.state != SIPPRES_CALL_EARLY)
				continue;
			if (c->pub.direction == SIPPRES_DIRECTION_RECIPIENT)
				return &c->pub;
			if (!any)
				any = c;
		}
		return any ? &any->pub : NULL;
	case SIPPRES_DEVICE_ONHOLD:
		for (c = d->calls_head; c; c = c->next) {
			if (c->pub.state == SIPPRES_CALL_HELD)
				return &c->pub;
		}
		SIPPRES__FALLTHROUGH;
	case SIPPRES_DEVICE_INUSE:
	case SIPPRES_DEVICE_BUSY:
		for (c = d->calls_head; c; c = c->next) {
			if (c->pub.state == SIPPRES_CALL_CONFIRMED || c->pub.state == SIPPRES_CALL_HELD)
				return &c->pub;
			if (!any)
				any = c;
		}
		return any ? &any->pub : NULL;
	default:
		return NULL;
	}
}

static void fill_status(struct sippres_ctx *ctx, const struct sippres__hint *h, uint32_t reason, int slot,
                        struct sippres_exten_status *st)
{
	struct sippres_device_info *di = ctx->reg->scratch[slot];
	const struct sippres_call *ring = NULL, *first = NULL;
	uint64_t ring_seq = UINT64_MAX;

	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->context = h->cx->name;
	st->exten = h->exten;
	st->value = h->body.value;
	st->display_name = h->body.display;
	st->reason = reason;
	st->is_pattern = h->is_pattern;
	st->presence_subtype = "";
	st->presence_message = "";
	if (reason == SIPPRES_REASON_REMOVED) {
		st->exten_state = SIPPRES_EXTEN_REMOVED;
		st->device_state = SIPPRES_DEVICE_INVALID;
		return;
	}
	if (h->is_pattern) {
		st->exten_state = SIPPRES_EXTEN_DEACTIVATED;
		st->device_state = SIPPRES_DEVICE_INVALID;
		return;
	}
	st->exten_state = h->exten_state;
	st->device_state = h->device_state;
	st->presence_state = (uint32_t)h->presence_state;
	if (h->pres_winner) {
		if (h->pres_winner->subtype)
			st->presence_subtype = h->pres_winner->subtype;
		if (h->pres_winner->message)
			st->presence_message = h->pres_winner->message;
	}
	for (size_t i = 0; i < h->body.ndevs; i++) {
		const struct sippres__source *d = h->body.devs[i].src;
		const struct sippres_call *c = device_causing_call(d);

		di[i].name = d->name;
		di[i].state = d->state;
		di[i].causing_call = c;
		if (!c)
			continue;
		if (!first)
			first = c;
		if ((d->state == SIPPRES_DEVICE_RINGING || d->state == SIPPRES_DEVICE_RINGINUSE) &&
		    c->state == SIPPRES_CALL_EARLY) {
			const struct sippres__call *sc = SIPPRES__CONTAINER_OF(c, const struct sippres__call, pub);
			if (sc->seq < ring_seq) {
				ring_seq = sc->seq;
				ring = c;
			}
		}
	}
	st->devices = h->body.ndevs ? di : NULL;
	st->n_devices = h->body.ndevs;
	st->causing_call = ring ? ring : first;
}

static void sweep_graveyard(struct sippres_ctx *ctx)
{
	struct sippres_watch *w = ctx->reg->graveyard;

	ctx->reg->graveyard = NULL;
	while (w) {
		struct sippres_watch *next = w->grave_next;
		sippres__free(ctx, w);
		w = next;
	}
}

static void watch_unlink(struct sippres_watch *w)
{
	struct sippres__hint *h = w->hint;

	if (w->prev)
		w->prev->next = w->next;
	else
		h->watches = w->next;
	if (w->next)
		w->next->prev = w->prev;
	/* w->next stays valid: a dispatch loop standing on w can go on from it */
}

/* Tell every live watch of h. Watches removed meanwhile are skipped; their
 * memory lives until the outermost dispatch ends. */
static void dispatch(struct sippres_ctx *ctx, struct sippres__hint *h, uint32_t reason)
{
	struct sippres_exten_status st;

	if (!h->watches && !h->links)
		return;
	fill_status(ctx, h, reason, SCRATCH_DISPATCH, &st);
	ctx->in_callback++;
	for (struct sippres_watch *w = h->watches; w; w = w->next) {
		if (!w->dead)
			w->fn(w->user_data, &st);
	}
	ctx->in_callback--;
	if (h->links)
		sippres__subs_hint_event(ctx, h, &st);
	if (ctx->in_callback == 0)
		sweep_graveyard(ctx);
}

/* ------------------------------------------------------------------ hints */

static struct sippres__context *context_find(struct sippres_ctx *ctx, const char *name)
{
	uint32_t h = sippres__hash(ctx->hash_seed, name, false);

	for (struct sippres__hnode *n = sippres__map_chain(&ctx->reg->contexts, h); n; n = n->next) {
		struct sippres__context *c = SIPPRES__CONTAINER_OF(n, struct sippres__context, node);

		if (n->hash == h && strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static struct sippres__context *context_get(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__context *c = context_find(ctx, name);

	if (c)
		return c;
	c = sippres__calloc(ctx, 1, sizeof(*c));
	if (!c)
		return NULL;
	c->name = sippres__strdup(ctx, name);
	if (!c->name || sippres__map_init(ctx, &c->hints, 16) < 0) {
		sippres__free(ctx, c->name);
		sippres__free(ctx, c);
		return NULL;
	}
	sippres__map_insert(ctx, &ctx->reg->contexts, &c->node, sippres__hash(ctx->hash_seed, name, false));
	return c;
}

static void context_gc(struct sippres_ctx *ctx, struct sippres__context *c)
{
	if (c->nhints)
		return;
	sippres__map_remove(&ctx->reg->contexts, &c->node);
	sippres__map_fini(ctx, &c->hints);
	sippres__free(ctx, c->name);
	sippres__free(ctx, c);
}

static struct sippres__hint *hint_find(struct sippres_ctx *ctx, struct sippres__context *c, const char *exten)
{
	uint32_t hv = sippres__hash(ctx->hash_seed, exten, false);

	for (struct sippres__hnode *n = sippres__map_chain(&c->hints, hv); n; n = n->next) {
		struct sippres__hint *h = SIPPRES__CONTAINER_OF(n, struct sippres__hint, node);

		if (n->hash == hv && strcmp(h->exten, exten) == 0)
			return h;
	}
	return NULL;
}

static struct sippres__hint *pattern_find(struct sippres__context *c, const char *exten)
{
	for (struct sippres__hint *p = c->patterns; p; p = p->pat_next) {
		if (strcmp(p->exten, exten) == 0)
			return p;
	}
	return NULL;
}

static void recompute(struct sippres__hint *h)
{
	if (h->is_pattern)
		return;
	compute_device_state(h);
	h->pres_winner = presence_winner(h);
	h->presence_state = h->pres_winner ? h->pres_winner->state : SIPPRES_PRESENCE_NOT_SET;
}

/* Allocate a hint shell (not yet linked anywhere). */
static struct sippres__hint *hint_alloc(struct sippres_ctx *ctx, const char *exten)
{
	struct sippres__hint *h = sippres__calloc(ctx, 1, sizeof(*h));

	if (!h)
		return NULL;
	h->exten = sippres__strdup(ctx, exten);
	if (!h->exten) {
		sippres__free(ctx, h);
		return NULL;
	}
	return h;
}

/* Link a hint with a prepared body into its context and the global order. */
static void hint_link(struct sippres_ctx *ctx, struct sippres__context *c, struct sippres__hint *h, struct sippres__hint_body *b)
{
	struct sippres__registry *reg = ctx->reg;
	struct sippres__hint_body none;

	h->cx = c;
	body_commit(h, b, &none);
	if (h->is_pattern) {
		/* keep patterns sorted, most specific first (stable for equals) */
		struct sippres__hint **pp = &c->patterns;
		while (*pp && sippres__pattern_cmp((*pp)->exten, h->exten) <= 0)
			pp = &(*pp)->pat_next;
		h->pat_next = *pp;
		*pp = h;
	} else {
		sippres__map_insert(ctx, &c->hints, &h->node, sippres__hash(ctx->hash_seed, h->exten, false));
	}
	c->nhints++;
	h->all_prev = reg->all_tail;
	if (reg->all_tail)
		reg->all_tail->all_next = h;
	else
		reg->all_head = h;
	reg->all_tail = h;
	reg->nhints++;
	recompute(h);
}

static void instance_detach(struct sippres__hint *h)
{
	struct sippres__hint *p = h->pattern;

	if (!p)
		return;
	if (h->inst_prev)
		h->inst_prev->inst_next = h->inst_next;
	else
		p->instances = h->inst_next;
	if (h->inst_next)
		h->inst_next->inst_prev = h->inst_prev;
	h->pattern = NULL;
	h->inst_prev = h->inst_next = NULL;
}

/* Fire the final event, then unlink and free the hint (not its instances). */
static void hint_destroy(struct sippres_ctx *ctx, struct sippres__hint *h)
{
	struct sippres__registry *reg = ctx->reg;
	struct sippres__context *c = h->cx;
	struct sippres_watch *w;

	dispatch(ctx, h, SIPPRES_REASON_REMOVED);
	w = h->watches;
	while (w) {
		struct sippres_watch *next = w->next;
		sippres__free(ctx, w);
		w = next;
	}
	h->watches = NULL;
	instance_detach(h);
	if (h->is_pattern) {
		struct sippres__hint **pp = &c->patterns;
		while (*pp != h)
			pp = &(*pp)->pat_next;
		*pp = h->pat_next;
	} else {
		sippres__map_remove(&c->hints, &h->node);
	}
	if (h->all_prev)
		h->all_prev->all_next = h->all_next;
	else
		reg->all_head = h->all_next;
	if (h->all_next)
		h->all_next->all_prev = h->all_prev;
	else
		reg->all_tail = h->all_prev;
	reg->nhints--;
	c->nhints--;
	body_release(ctx, &h->body);
	sippres__free(ctx, h->exten);
	sippres__free(ctx, h);
	context_gc(ctx, c);
}

/* Replace a concrete hint's body and tell its watches if its state changed. */
static void hint_replace(struct sippres_ctx *ctx, struct sippres__hint *h, struct sippres__hint_body *b)
{
	struct sippres__hint_body old;
	int32_t old_ext = h->exten_state, old_pres = h->presence_state;
	const char *old_sub = h->pres_winner ? h->pres_winner->subtype : NULL;
	const char *old_msg = h->pres_winner ? h->pres_winner->message : NULL;

	body_commit(h, b, &old);
	recompute(h);
	/* old sources are still alive (old refs hold them) while we compare */
	if (!h->is_pattern &&
	    (old_ext != h->exten_state || old_pres != h->presence_state ||
	     !str_same(old_sub, h->pres_winner ? h->pres_winner->subtype : NULL) ||
	     !str_same(old_msg, h->pres_winner ? h->pres_winner->message : NULL)))
		dispatch(ctx, h, SIPPRES_REASON_HINT);
	body_release(ctx, &old);
}

/* Create the concrete hint for exten from pattern p. */
static int instantiate(struct sippres_ctx *ctx, struct sippres__hint *p, const char *exten, struct sippres__hint **ret)
{
	struct sippres__hint_body b;
	struct sippres__hint *h;
	int err = 0, r;
	char *value = sippres__pattern_substitute(ctx, p->body.value, exten, &err);

	if (!value)
		return err;
	r = body_prepare(ctx, value, false, &b, NULL);
	sippres__free(ctx, value);
	if (r < 0) {
		sippres__log(ctx, SIPPRES_LOG_WARNING, "pattern hint %s@%s gives an invalid hint for %s", p->exten,
		       p->cx->name, exten);
		return r == SIPPRES_E_NOMEM ? r : SIPPRES_E_NOTFOUND;
	}
	h = hint_alloc(ctx, exten);
	if (!h) {
		body_discard(ctx, &b);
		return SIPPRES_E_NOMEM;
	}
	hint_link(ctx, p->cx, h, &b);
	h->pattern = p;
	h->inst_next = p->instances;
	if (p->instances)
		p->instances->inst_prev = h;
	p->instances = h;
	*ret = h;
	return 0;
}

/* Find the hint for (context, exten), instantiating a pattern hint if needed. */
int sippres__hint_lookup(struct sippres_ctx *ctx, const char *context, const char *exten, struct sippres__hint **ret)
{
	struct sippres__context *c;
	struct sippres__hint *h;

	if (!sippres__name_ok(context) || !sippres__name_ok(exten))
		return SIPPRES_E_INVAL;
	c = context_find(ctx, context);
	if (!c)
		return SIPPRES_E_NOTFOUND;
	h = hint_find(ctx, c, exten);
	if (h) {
		*ret = h;
		return 0;
	}
	if (exten[0] == '_')
		return SIPPRES_E_NOTFOUND;
	for (struct sippres__hint *p = c->patterns; p; p = p->pat_next) {
		if (sippres__pattern_match(p->exten, exten))
			return instantiate(ctx, p, exten, ret);
	}
	return SIPPRES_E_NOTFOUND;
}

/* Prepared bodies for every instance of a pattern whose value changes. */
static int prepare_instances(struct sippres_ctx *ctx, struct sippres__hint *p, const char *value,
                             struct sippres__hint_body **out, size_t *nout)
{
	size_t n = 0, k = 0;
	struct sippres__hint_body *bodies;
	int r = 0;

	*out = NULL;
	*nout = 0;
	for (struct sippres__hint *i = p->instances; i; i = i->inst_next)
		n++;
	if (n == 0)
		return 0;
	bodies = sippres__calloc(ctx, n, sizeof(*bodies));
	if (!bodies)
		return SIPPRES_E_NOMEM;
	for (struct sippres__hint *i = p->instances; i; i = i->inst_next, k++) {
		char *v = sippres__pattern_substitute(ctx, value, i->exten, &r);

		if (!v)
			break;
		r = body_prepare(ctx, v, false, &bodies[k], NULL);
		sippres__free(ctx, v);
		if (r < 0)
			break;
	}
	if (r < 0) {
		for (size_t j = 0; j < k; j++)
			body_discard(ctx, &bodies[j]);
		sippres__free(ctx, bodies);
		return r;
	}
	*out = bodies;
	*nout = n;
	return 0;
}

SIPPRES_EXPORT int sippres_hint_set(struct sippres_ctx *ctx, const char *context, const char *exten,
                                    const char *value, struct sippres_diag *diag)
{
	struct sippres__hint_body b, *inst = NULL;
	struct sippres__context *c;
	struct sippres__hint *h;
	size_t ninst = 0, bad;
	bool pattern;
	int r;

	sippres__diag_clear(diag);
	if (!ctx || !value)
		return SIPPRES_E_INVAL;
	if (!sippres__name_ok(context)) {
		sippres__diag(diag, 0, 0, "invalid context name");
		return SIPPRES_E_INVAL;
	}
	if (!sippres__name_ok(exten)) {
		sippres__diag(diag, 0, 0, "invalid extension name");
		return SIPPRES_E_INVAL;
	}
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	pattern = exten[0] == '_';
	if (pattern && !sippres__pattern_valid(exten, &bad)) {
		sippres__diag(diag, 0, (uint32_t)(bad + 1), "invalid extension pattern '%s'", exten);
		return SIPPRES_E_PARSE;
	}
	r = body_prepare(ctx, value, pattern, &b, diag);
	if (r < 0)
		return r;

	c = context_find(ctx, context);
	h = c ? (pattern ? pattern_find(c, exten) : hint_find(ctx, c, exten)) : NULL;
	if (h) {
		if (pattern) {
			r = prepare_instances(ctx, h, value, &inst, &ninst);
			if (r < 0) {
				body_discard(ctx, &b);
				if (r != SIPPRES_E_NOMEM)
					sippres__diag(diag, 0, 0, "the new value gives an invalid hint for an extension in use");
				return r;
			}
		}
		hint_replace(ctx, h, &b);
		if (pattern) {
			size_t k = 0;
			for (struct sippres__hint *i = h->instances; i; i = i->inst_next)
				hint_replace(ctx, i, &inst[k++]);
			sippres__free(ctx, inst);
		} else if (h->pattern) {
			instance_detach(h); /* set explicitly: no longer follows the pattern */
		}
		return 1;
	}
	c = context_get(ctx, context);
	h = c ? hint_alloc(ctx, exten) : NULL;
	if (!h) {
		if (c)
			context_gc(ctx, c);
		body_discard(ctx, &b);
		sippres__diag(diag, 0, 0, "out of memory");
		return SIPPRES_E_NOMEM;
	}
	h->is_pattern = pattern;
	hint_link(ctx, c, h, &b);
	return 0;
}

SIPPRES_EXPORT int sippres_hint_remove(struct sippres_ctx *ctx, const char *context, const char *exten)
{
	struct sippres__context *c;
	struct sippres__hint *h;

	if (!ctx || !sippres__name_ok(context) || !sippres__name_ok(exten))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	c = context_find(ctx, context);
	if (!c)
		return SIPPRES_E_NOTFOUND;
	h = exten[0] == '_' ? pattern_find(c, exten) : hint_find(ctx, c, exten);
	if (!h)
		return SIPPRES_E_NOTFOUND;
	while (h->instances)
		hint_destroy(ctx, h->instances);
	hint_destroy(ctx, h);
	return 0;
}

void sippres__hint_status(struct sippres_ctx *ctx, const struct sippres__hint *h, struct sippres_exten_status *st)
{
	fill_status(ctx, h, SIPPRES_REASON_QUERY, SCRATCH_QUERY, st);
}

#define STATUS_V1_SIZE (offsetof(struct sippres_exten_status, is_pattern) + sizeof(uint32_t))

SIPPRES_EXPORT int sippres_exten_status_get(struct sippres_ctx *ctx, const char *context, const char *exten,
                                            struct sippres_exten_status *out)
{
	struct sippres_exten_status st;
	struct sippres__hint *h;
	size_t size;
	int r;

	if (!ctx || !out)
		return SIPPRES_E_INVAL;
	size = out->size;
	if (size < STATUS_V1_SIZE)
		return SIPPRES_E_ABI;
	r = sippres__hint_lookup(ctx, context, exten, &h);
	if (r < 0)
		return r;
	fill_status(ctx, h, SIPPRES_REASON_QUERY, SCRATCH_QUERY, &st);
	/* a newer host's bigger struct: fill what we know, zero the rest */
	if (size > sizeof(st)) {
		memset(out, 0, size);
		size = sizeof(st);
	}
	memcpy(out, &st, size);
	out->size = size;
	return 0;
}

SIPPRES_EXPORT int sippres_hint_foreach(struct sippres_ctx *ctx,
                                        int (*fn)(void *user_data, const struct sippres_exten_status *st),
                                        void *user_data)
{
	struct sippres_exten_status st;
	int n = 0;

	if (!ctx || !fn)
		return SIPPRES_E_INVAL;
	ctx->in_callback++;
	for (struct sippres__hint *h = ctx->reg->all_head; h; h = h->all_next) {
		fill_status(ctx, h, SIPPRES_REASON_QUERY, SCRATCH_ITER, &st);
		n++;
		if (fn(user_data, &st) < 0)
			break;
	}
	ctx->in_callback--;
	if (ctx->in_callback == 0)
		sweep_graveyard(ctx);
	return n;
}

SIPPRES_EXPORT int sippres_watch_add(struct sippres_ctx *ctx, const char *context, const char *exten,
                                     void (*fn)(void *user_data, const struct sippres_exten_status *st),
                                     void *user_data, struct sippres_watch **ret)
{
	struct sippres_watch *w;
	struct sippres__hint *h;
	int r;

	if (!ctx || !fn || !ret)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	r = sippres__hint_lookup(ctx, context, exten, &h);
	if (r < 0)
		return r;
	w = sippres__calloc(ctx, 1, sizeof(*w));
	if (!w)
		return SIPPRES_E_NOMEM; /* an instantiated pattern hint stays: it is valid state */
	w->hint = h;
	w->fn = fn;
	w->user_data = user_data;
	/* append, so watches are told in the order they were added */
	if (!h->watches) {
		h->watches = w;
	} else {
		struct sippres_watch *t = h->watches;
		while (t->next)
			t = t->next;
		t->next = w;
		w->prev = t;
	}
	*ret = w;
	return 0;
}

SIPPRES_EXPORT void sippres_watch_remove(struct sippres_ctx *ctx, struct sippres_watch *w)
{
	if (!ctx || !w || w->dead)
		return;
	watch_unlink(w);
	if (ctx->in_callback) {
		w->dead = true;
		w->grave_next = ctx->reg->graveyard;
		ctx->reg->graveyard = w;
	} else {
		sippres__free(ctx, w);
	}
}

/* ------------------------------------------------------------------ state */

SIPPRES_EXPORT int sippres_device_state_set(struct sippres_ctx *ctx, const char *device, int state)
{
	struct sippres__source *d;
	size_t bad;

	if (!ctx || !device || state < 0 || state >= SIPPRES_DEVICE_STATE_COUNT)
		return SIPPRES_E_INVAL;
	if (!sippres__device_name_ok(device, strlen(device), &bad))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	d = source_get(ctx, &ctx->reg->devices, device, strlen(device));
	if (!d)
		return SIPPRES_E_NOMEM;
	d->state = state;
	d->is_set = true;
	for (struct sippres__ref *ref = d->refs; ref; ref = ref->next) {
		struct sippres__hint *h = ref->hint;
		int32_t old = h->exten_state;

		compute_device_state(h);
		/* Asterisk re-notifies a ringing state even when unchanged, so a new
		 * ringing call reaches the watchers with its caller. */
		if (old != h->exten_state || (h->exten_state & SIPPRES_EXTEN_RINGING))
			dispatch(ctx, h, SIPPRES_REASON_DEVICE);
	}
	return 0;
}

SIPPRES_EXPORT int sippres_device_state_get(struct sippres_ctx *ctx, const char *device)
{
	struct sippres__source *d;
	size_t bad;

	if (!ctx || !device || !sippres__device_name_ok(device, strlen(device), &bad))
		return SIPPRES_E_INVAL;
	d = source_find(ctx, &ctx->reg->devices, device);
	return d ? d->state : SIPPRES_DEVICE_UNKNOWN;
}

static int dup_optional(struct sippres_ctx *ctx, const char *s, char **out)
{
	size_t n;

	*out = NULL;
	if (!s || !*s)
		return 0;
	n = strnlen(s, SIPPRES_MAX_TEXT + 1);
	if (n > SIPPRES_MAX_TEXT)
		return SIPPRES_E_TOOBIG;
	*out = sippres__strndup(ctx, s, n);
	return *out ? 0 : SIPPRES_E_NOMEM;
}

SIPPRES_EXPORT int sippres_presence_state_set(struct sippres_ctx *ctx, const char *provider, int state,
                                              const char *subtype, const char *message)
{
	struct sippres__source *p;
	char *sub, *msg, *old_sub, *old_msg;
	size_t bad;
	int r;

	if (!ctx || !provider || state < 0 || state >= SIPPRES_PRESENCE_STATE_COUNT)
		return SIPPRES_E_INVAL;
	if (!sippres__device_name_ok(provider, strlen(provider), &bad))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	r = dup_optional(ctx, subtype, &sub);
	if (r < 0)
		return r;
	r = dup_optional(ctx, message, &msg);
	if (r < 0) {
		sippres__free(ctx, sub);
		return r;
	}
	p = source_get(ctx, &ctx->reg->providers, provider, strlen(provider));
	if (!p) {
		sippres__free(ctx, sub);
		sippres__free(ctx, msg);
		return SIPPRES_E_NOMEM;
	}
	old_sub = p->subtype;
	old_msg = p->message;
	p->subtype = sub;
	p->message = msg;
	p->state = state;
	p->is_set = true;
	for (struct sippres__ref *ref = p->refs; ref; ref = ref->next) {
		struct sippres__hint *h = ref->hint;
		int32_t ost = h->presence_state;
		const char *osub = h->pres_winner == p ? old_sub : (h->pres_winner ? h->pres_winner->subtype : NULL);
		const char *omsg = h->pres_winner == p ? old_msg : (h->pres_winner ? h->pres_winner->message : NULL);

		h->pres_winner = presence_winner(h);
		h->presence_state = h->pres_winner->state;
		if (ost != h->presence_state || !str_same(osub, h->pres_winner->subtype) ||
		    !str_same(omsg, h->pres_winner->message))
			dispatch(ctx, h, SIPPRES_REASON_PRESENCE);
	}
	sippres__free(ctx, old_sub);
	sippres__free(ctx, old_msg);
	return 0;
}

/* ------------------------------------------------------------------ calls */

#define CALL_V1_SIZE (offsetof(struct sippres_call, remote_display) + sizeof(const char *))

static int call_pack(struct sippres_ctx *ctx, const struct sippres_call *in, struct sippres__call **ret)
{
	const char *const *fields[] = {&in->call_id, &in->local_tag, &in->remote_tag, &in->local_uri,
	                               &in->local_display, &in->remote_uri, &in->remote_display};
	const char **outf[7];
	size_t lens[7], total = sizeof(struct sippres__call);
	struct sippres__call *c;
	char *w;

	for (size_t i = 0; i < 7; i++) {
		lens[i] = *fields[i] ? strnlen(*fields[i], SIPPRES_MAX_TEXT + 1) : 0;
		if (lens[i] > SIPPRES_MAX_TEXT)
			return SIPPRES_E_TOOBIG;
		if (*fields[i])
			total += lens[i] + 1;
	}
	c = sippres__malloc(ctx, total);
	if (!c)
		return SIPPRES_E_NOMEM;
	memset(c, 0, sizeof(*c));
	c->pub.size = sizeof(c->pub);
	c->pub.state = in->state;
	c->pub.direction = in->direction;
	c->pub.flags = in->flags;
	outf[0] = &c->pub.call_id;
	outf[1] = &c->pub.local_tag;
	outf[2] = &c->pub.remote_tag;
	outf[3] = &c->pub.local_uri;
	outf[4] = &c->pub.local_display;
	outf[5] = &c->pub.remote_uri;
	outf[6] = &c->pub.remote_display;
	w = (char *)(c + 1);
	for (size_t i = 0; i < 7; i++) {
		if (!*fields[i])
			continue;
		memcpy(w, *fields[i], lens[i]);
		w[lens[i]] = '\0';
		*outf[i] = w;
		w += lens[i] + 1;
	}
	*ret = c;
	return 0;
}

static struct sippres__call *call_find(struct sippres__source *d, const char *call_id)
{
	for (struct sippres__call *c = d->calls_head; c; c = c->next) {
		if (strcmp(c->pub.call_id, call_id) == 0)
			return c;
	}
	return NULL;
}

static void call_unlink(struct sippres__source *d, struct sippres__call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		d->calls_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		d->calls_tail = c->prev;
}

SIPPRES_EXPORT int sippres_call_set(struct sippres_ctx *ctx, const char *device, const struct sippres_call *call)
{
	struct sippres__source *d;
	struct sippres__call *c, *old;
	size_t bad;
	int r;

	if (!ctx || !device || !call)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(call, CALL_V1_SIZE, sizeof(*call));
	if (r < 0)
		return r;
	if (!sippres__name_ok(call->call_id) || call->state > SIPPRES_CALL_TERMINATED ||
	    call->direction > SIPPRES_DIRECTION_INITIATOR ||
	    (call->flags & ~(SIPPRES_CALL_NAME_RESTRICTED | SIPPRES_CALL_NUMBER_RESTRICTED)))
		return SIPPRES_E_INVAL;
	if (!sippres__device_name_ok(device, strlen(device), &bad))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	if (call->state == SIPPRES_CALL_TERMINATED) {
		r = sippres_call_clear(ctx, device, call->call_id);
		return r == SIPPRES_E_NOTFOUND ? 0 : r;
	}
	r = call_pack(ctx, call, &c);
	if (r < 0)
		return r;
	d = source_get(ctx, &ctx->reg->devices, device, strlen(device));
	if (!d) {
		sippres__free(ctx, c);
		return SIPPRES_E_NOMEM;
	}
	old = call_find(d, call->call_id);
	if (old) {
		/* keep the call's age and place */
		c->seq = old->seq;
		c->prev = old->prev;
		c->next = old->next;
		if (c->prev)
			c->prev->next = c;
		else
			d->calls_head = c;
		if (c->next)
			c->next->prev = c;
		else
			d->calls_tail = c;
		sippres__free(ctx, old);
	} else {
		c->seq = ++ctx->reg->call_seq;
		c->prev = d->calls_tail;
		if (d->calls_tail)
			d->calls_tail->next = c;
		else
			d->calls_head = c;
		d->calls_tail = c;
	}
	return 0;
}

SIPPRES_EXPORT int sippres_call_clear(struct sippres_ctx *ctx, const char *device, const char *call_id)
{
	struct sippres__source *d;
	struct sippres__call *c;
	size_t bad;

	if (!ctx || !device || !sippres__name_ok(call_id) || !sippres__device_name_ok(device, strlen(device), &bad))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	d = source_find(ctx, &ctx->reg->devices, device);
	c = d ? call_find(d, call_id) : NULL;
	if (!c)
		return SIPPRES_E_NOTFOUND;
	call_unlink(d, c);
	sippres__free(ctx, c);
	source_gc(ctx, &ctx->reg->devices, d);
	return 0;
}

/* --------------------------------------------------------------- lifecycle */

int sippres__registry_new(struct sippres_ctx *ctx)
{
	struct sippres__registry *reg = sippres__calloc(ctx, 1, sizeof(*reg));

	if (!reg)
		return SIPPRES_E_NOMEM;
	if (sippres__map_init(ctx, &reg->contexts, 8) < 0)
		goto fail;
	if (sippres__map_init(ctx, &reg->devices, 64) < 0)
		goto fail;
	if (sippres__map_init(ctx, &reg->providers, 16) < 0)
		goto fail;
	ctx->reg = reg;
	return 0;
fail:
	sippres__map_fini(ctx, &reg->devices);
	sippres__map_fini(ctx, &reg->contexts);
	sippres__free(ctx, reg);
	return SIPPRES_E_NOMEM;
}

static void free_sources(struct sippres_ctx *ctx, struct sippres__map *m)
{
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct sippres__hnode *n = m->buckets[i];

		while (n) {
			struct sippres__hnode *next = n->next;
			source_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__source, node));
			n = next;
		}
	}
	sippres__map_fini(ctx, m);
}

void sippres__registry_free(struct sippres_ctx *ctx)
{
	struct sippres__registry *reg = ctx->reg;
	struct sippres__hint *h;

	if (!reg)
		return;
	sweep_graveyard(ctx);
	h = reg->all_head;
	while (h) {
		struct sippres__hint *next = h->all_next;
		struct sippres_watch *w = h->watches;

		while (w) {
			struct sippres_watch *wn = w->next;
			sippres__free(ctx, w);
			w = wn;
		}
		sippres__free(ctx, h->body.devs);
		sippres__free(ctx, h->body.provs);
		sippres__free(ctx, h->body.value);
		sippres__free(ctx, h->body.display);
		sippres__free(ctx, h->exten);
		sippres__free(ctx, h);
		h = next;
	}
	for (size_t i = 0; i < reg->contexts.nbuckets; i++) {
		struct sippres__hnode *n = reg->contexts.buckets[i];

		while (n) {
			struct sippres__hnode *next = n->next;
			struct sippres__context *c = SIPPRES__CONTAINER_OF(n, struct sippres__context, node);
			sippres__map_fini(ctx, &c->hints);
			sippres__free(ctx, c->name);
			sippres__free(ctx, c);
			n = next;
		}
	}
	sippres__map_fini(ctx, &reg->contexts);
	free_sources(ctx, &reg->devices);
	free_sources(ctx, &reg->providers);
	for (int i = 0; i < SCRATCH_COUNT; i++)
		sippres__free(ctx, reg->scratch[i]);
	sippres__free(ctx, reg);
	ctx->reg = NULL;
}
