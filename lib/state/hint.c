/* SPDX-License-Identifier: MIT */
/* Hints: per (context, extension) a value naming devices and presence
 * providers, resolved to sources; pattern hints and the instances made from
 * them; the extension state computed from the sources. */
#include <string.h>

#include "registry-private.h"

#define INSTANCE(n) SIPPRES__CONTAINER_OF((n), struct sippres__hint, inst_node)

/* ------------------------------------------------------------ hint bodies */

static void refs_discard(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		refs[i].src->npending--;
		sippres__source_gc(ctx, m, refs[i].src);
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

/* Resolve names to sources (created as needed, held by npending), skipping
 * repeats (a set of the sources taken: a hint may name 10,000 devices). */
static int refs_prepare(struct sippres_ctx *ctx, struct sippres__map *m, const char *value,
                        const struct sippres__span *spans, size_t n, struct sippres__ref **out, size_t *nout)
{
	struct sippres__ref *refs;
	struct sippres__set taken;
	size_t k = 0;
	int r = 0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	refs = sippres__calloc(ctx, n, sizeof(*refs));
	if (!refs)
		return SIPPRES_E_NOMEM;
	sippres__set_init(ctx, &taken, false);
	if (n > 1)
		r = sippres__set_reserve(ctx, &taken, n);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct sippres__source *s = sippres__source_get(ctx, m, value + spans[i].off, spans[i].len);

		if (!s) {
			r = SIPPRES_E_NOMEM;
			break;
		}
		if (n > 1 && sippres__set_add(ctx, &taken, s, 0, NULL) == 0)
			continue; /* a repeat (held by its first) */
		s->npending++;
		refs[k++].src = s;
	}
	sippres__set_fini(ctx, &taken);
	if (r < 0) {
		refs_discard(ctx, m, refs, k);
		return r;
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
		r = sippres__status_reserve(ctx, b->ndevs);
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
		sippres__dlist_prepend(&s->refs, &refs[i].node);
		s->nrefs++;
		s->npending--;
	}
}

static void refs_unlink(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sippres__source *s = refs[i].src;

		sippres__dlist_remove(&s->refs, &refs[i].node);
		s->nrefs--;
		sippres__source_gc(ctx, m, s);
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

void sippres__hint_compute_devices(struct sippres__hint *h)
{
	struct sippres__devagg a;

	sippres__devagg_init(&a);
	for (size_t i = 0; i < h->body.ndevs; i++)
		sippres__devagg_add(&a, h->body.devs[i].src->state);
	h->device_state = a.state;
	/* no devices: INVALID, which maps to Unavailable, as Asterisk's presence-only hints */
	h->exten_state = sippres_device_to_exten_state(a.state);
}

struct sippres__source *sippres__hint_presence_winner(const struct sippres__hint *h)
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

/* ------------------------------------------------------------------ hints */

static struct sippres__hint *hint_find(struct sippres_ctx *ctx, struct sippres__context *c, const char *exten)
{
	const struct sippres__htab *t = &c->hints;
	uint32_t key = sippres__htab_key(sippres__hint_hash(ctx, exten));

	for (size_t i = sippres__htab_home(t, key); t->s[i].h; i = sippres__htab_next(t, i)) {
		struct sippres__hint *h = t->s[i].p;

		if (t->s[i].h == key && strcmp(h->exten, exten) == 0)
			return h;
	}
	return NULL;
}

/* A pattern hint by its name: patterns are in the context's map too, under
 * their "_..." names, which no concrete extension has. */
#define pattern_find hint_find

#define PATTERN(n) SIPPRES__CONTAINER_OF((n), struct sippres__hint, pat_node)

/* Sort the context's patterns, most specific first, keeping the order of
 * equals (the order they were added in): a stable merge sort of the list,
 * so that adding n patterns costs n log n, not n^2 (issue 11). */
static void patterns_sort(struct sippres__context *c)
{
	struct sippres__dnode *list = c->patterns.head, *prev = NULL;

	for (size_t width = 1;; width *= 2) {
		struct sippres__dnode *p = list, *out = NULL, **tail = &out;
		size_t merges = 0;

		while (p) {
			struct sippres__dnode *q = p;
			size_t np = 0, nq = width;

			merges++;
			while (np < width && q) {
				np++;
				q = q->next;
			}
			while (np > 0 || (nq > 0 && q)) {
				struct sippres__dnode *e;

				if (np == 0 || (nq > 0 && q && sippres__pattern_cmp(PATTERN(q)->exten, PATTERN(p)->exten) < 0)) {
					e = q;
					q = q->next;
					nq--;
				} else {
					e = p;
					p = p->next;
					np--;
				}
				*tail = e;
				tail = &e->next;
			}
			p = q;
		}
		*tail = NULL;
		list = out;
		if (merges <= 1)
			break;
	}
	c->patterns.head = list;
	for (struct sippres__dnode *n = list; n; n = n->next) {
		n->prev = prev;
		prev = n;
	}
	c->patterns.tail = prev;
	c->patterns_unsorted = false;
}

static void recompute(struct sippres__hint *h)
{
	if (h->is_pattern)
		return;
	sippres__hint_compute_devices(h);
	h->pres_winner = sippres__hint_presence_winner(h);
	h->presence_state = h->pres_winner ? h->pres_winner->state : SIPPRES_PRESENCE_NOT_SET;
}

/* Allocate a hint shell for c (not yet linked anywhere), its name right
 * after it in the same block, with room for it in c's table. */
static struct sippres__hint *hint_alloc(struct sippres_ctx *ctx, struct sippres__context *c, const char *exten)
{
	size_t n = strlen(exten) + 1;
	struct sippres__hint *h;

	if (sippres__htab_reserve(ctx, &c->hints) < 0)
		return NULL;
	h = sippres__malloc(ctx, sizeof(*h) + n);
	if (!h)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->exten = (char *)(h + 1);
	memcpy(h->exten, exten, n);
	return h;
}

/* Link a hint with a prepared body into its context and the global order. */
static void hint_link(struct sippres_ctx *ctx, struct sippres__context *c, struct sippres__hint *h,
                      struct sippres__hint_body *b)
{
	struct sippres__registry *reg = ctx->reg;
	struct sippres__hint_body none;

	h->cx = c;
	body_commit(h, b, &none);
	if (h->is_pattern) {
		/* sorted at the next lookup: see patterns_sort */
		sippres__dlist_append(&c->patterns, &h->pat_node);
		c->patterns_unsorted = true;
	}
	sippres__htab_insert(&c->hints, sippres__hint_hash(ctx, h->exten), h);
	c->nhints++;
	sippres__dlist_append(&reg->all, &h->all_node);
	reg->nhints++;
	recompute(h);
}

static void instance_detach(struct sippres_ctx *ctx, struct sippres__hint *h)
{
	struct sippres__hint *p = h->pattern;

	if (!p)
		return;
	sippres__dlist_remove(&p->instances, &h->inst_node);
	h->pattern = NULL;
	ctx->reg->ninstances--;
	if (h->on_idle) {
		sippres__dlist_remove(&ctx->reg->idle, &h->idle_node);
		h->on_idle = false;
	}
}

void sippres__hint_idle_check(struct sippres_ctx *ctx, struct sippres__hint *h)
{
	if (h->pattern && !h->nlinks && !h->watches.head && !h->on_idle) {
		sippres__dlist_append(&ctx->reg->idle, &h->idle_node);
		h->on_idle = true;
	}
}

/* Fire the final event, then unlink and free the hint (not its instances). */
static void hint_destroy(struct sippres_ctx *ctx, struct sippres__hint *h)
{
	struct sippres__registry *reg = ctx->reg;
	struct sippres__context *c = h->cx;

	sippres__hint_dispatch(ctx, h, SIPPRES_REASON_REMOVED);
	sippres__hint_watches_free(ctx, h);
	instance_detach(ctx, h);
	if (h->is_pattern)
		sippres__dlist_remove(&c->patterns, &h->pat_node);
	sippres__htab_remove(&c->hints, sippres__hint_hash(ctx, h->exten), h);
	sippres__dlist_remove(&reg->all, &h->all_node);
	reg->nhints--;
	c->nhints--;
	if (h->autohint)
		c->nautohints--;
	body_release(ctx, &h->body);
	sippres__free(ctx, h);
	sippres__context_gc(ctx, c);
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
	     !sippres__str_same(old_sub, h->pres_winner ? h->pres_winner->subtype : NULL) ||
	     !sippres__str_same(old_msg, h->pres_winner ? h->pres_winner->message : NULL)))
		sippres__hint_dispatch(ctx, h, SIPPRES_REASON_HINT);
	body_release(ctx, &old);
}

/* Create the concrete hint for exten from pattern p. */
static int instantiate(struct sippres_ctx *ctx, struct sippres__hint *p, const char *exten,
                       struct sippres__hint **ret)
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
	if (ctx->reg->ninstances >= ctx->max_instances) {
		body_discard(ctx, &b);
		sippres__log(ctx, SIPPRES_LOG_INFO, "pattern hint %s@%s: %zu instances live, the limit; no more for %s",
		             p->exten, p->cx->name, ctx->reg->ninstances, exten);
		return SIPPRES_E_TOOBIG;
	}
	h = hint_alloc(ctx, p->cx, exten);
	if (!h) {
		body_discard(ctx, &b);
		return SIPPRES_E_NOMEM;
	}
	hint_link(ctx, p->cx, h, &b);
	h->pattern = p;
	sippres__dlist_prepend(&p->instances, &h->inst_node);
	ctx->reg->ninstances++;
	/* nothing links or watches it yet: a query alone does not keep it */
	sippres__hint_idle_check(ctx, h);
	*ret = h;
	return 0;
}

void sippres__hints_reclaim(struct sippres_ctx *ctx)
{
	struct sippres__registry *reg = ctx->reg;

	if (ctx->in_callback)
		return;
	while (reg->idle.head) {
		struct sippres__hint *h = SIPPRES__CONTAINER_OF(reg->idle.head, struct sippres__hint, idle_node);

		sippres__dlist_remove(&reg->idle, &h->idle_node);
		h->on_idle = false;
		/* the state it shows comes back with the next lookup: nothing is lost */
		if (h->pattern && !h->nlinks && !h->watches.head)
			hint_destroy(ctx, h);
	}
}

int sippres__hint_lookup_own(struct sippres_ctx *ctx, struct sippres__context *c, const char *exten,
                             struct sippres__hint **ret)
{
	struct sippres__hint *h = hint_find(ctx, c, exten);

	if (h) {
		*ret = h;
		return 0;
	}
	if (c->patterns_unsorted)
		patterns_sort(c);
	for (struct sippres__dnode *n = c->patterns.head; n; n = n->next) {
		if (sippres__pattern_match(PATTERN(n)->exten, exten))
			return instantiate(ctx, PATTERN(n), exten, ret);
	}
	return 1;
}

int sippres__autohints_for(struct sippres_ctx *ctx, const struct sippres__source *d)
{
	const char *res = d->name + strcspn(d->name, "/:");

	/* Asterisk: the part after the technology or provider is the extension */
	if (!*res || !sippres__name_ok(++res) || res[0] == '_')
		return 0;
	for (struct sippres__context *c = ctx->reg->autohint_ctxs; c; c = c->auto_next) {
		struct sippres__hint_body b;
		struct sippres__hint *h;
		int r;

		if (hint_find(ctx, c, res))
			continue;
		if (c->nautohints >= c->autohints_max) {
			sippres__log(ctx, SIPPRES_LOG_INFO, "context %s has %zu autohints: none made for %s", c->name,
			             c->nautohints, d->name);
			continue;
		}
		r = body_prepare(ctx, d->name, false, &b, NULL);
		if (r == SIPPRES_E_NOMEM)
			return r;
		if (r < 0)
			return 0; /* a device name that is no hint value: no autohint anywhere */
		h = hint_alloc(ctx, c, res);
		if (!h) {
			body_discard(ctx, &b);
			return SIPPRES_E_NOMEM;
		}
		hint_link(ctx, c, h, &b);
		h->autohint = true;
		c->nautohints++;
	}
	return 0;
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
	for (struct sippres__dnode *i = p->instances.head; i; i = i->next)
		n++;
	if (n == 0)
		return 0;
	bodies = sippres__calloc(ctx, n, sizeof(*bodies));
	if (!bodies)
		return SIPPRES_E_NOMEM;
	for (struct sippres__dnode *i = p->instances.head; i; i = i->next, k++) {
		char *v = sippres__pattern_substitute(ctx, value, INSTANCE(i)->exten, &r);

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

	c = sippres__context_find(ctx, context);
	h = c ? (pattern ? pattern_find(ctx, c, exten) : hint_find(ctx, c, exten)) : NULL;
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
			for (struct sippres__dnode *i = h->instances.head; i; i = i->next)
				hint_replace(ctx, INSTANCE(i), &inst[k++]);
			sippres__free(ctx, inst);
		} else if (h->pattern) {
			instance_detach(ctx, h); /* set explicitly: no longer follows the pattern */
		}
		if (h->autohint) { /* set explicitly: no longer one of the autohints */
			h->autohint = false;
			h->cx->nautohints--;
		}
		return 1;
	}
	c = sippres__context_get(ctx, context);
	h = c ? hint_alloc(ctx, c, exten) : NULL;
	if (!h) {
		if (c)
			sippres__context_gc(ctx, c);
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
	c = sippres__context_find(ctx, context);
	if (!c)
		return SIPPRES_E_NOTFOUND;
	h = exten[0] == '_' ? pattern_find(ctx, c, exten) : hint_find(ctx, c, exten);
	if (!h)
		return SIPPRES_E_NOTFOUND;
	while (h->instances.head)
		hint_destroy(ctx, INSTANCE(h->instances.head));
	hint_destroy(ctx, h);
	return 0;
}


/* ------------------------------------------------------------ watcher links */

void sippres__hlink_add(struct sippres__hint *h, struct sippres__hlink *l)
{
	sippres__dlist_prepend(&h->links, &l->node);
	h->nlinks++;
}

void sippres__hlink_remove(struct sippres__hint *h, struct sippres__hlink *l)
{
	sippres__dlist_remove(&h->links, &l->node);
	h->nlinks--;
	l->node.prev = l->node.next = NULL;
}

/* ---------------------------------------------------------------- teardown */

/* Free every hint and context without telling anyone (the context is going). */
void sippres__hints_free(struct sippres_ctx *ctx)
{
	struct sippres__dnode *a = ctx->reg->all.head;

	while (a) {
		struct sippres__dnode *next = a->next;
		struct sippres__hint *h = SIPPRES__CONTAINER_OF(a, struct sippres__hint, all_node);

		sippres__hint_watches_free(ctx, h);
		sippres__free(ctx, h->body.devs);
		sippres__free(ctx, h->body.provs);
		sippres__free(ctx, h->body.value);
		sippres__free(ctx, h->body.display);
		sippres__free(ctx, h); /* and its name, in the same block */
		a = next;
	}
	sippres__contexts_free(ctx);
}

/* The value of the hint set for exten in context itself (sippres_hint_set:
 * not an autohint, not an instance of a pattern), or NULL. No side effect. */
const char *sippres__hint_own_value(struct sippres_ctx *ctx, const char *context, const char *exten)
{
	struct sippres__context *c = sippres__context_find(ctx, context);
	struct sippres__hint *h;

	if (!c)
		return NULL;
	h = exten[0] == '_' ? pattern_find(ctx, c, exten) : hint_find(ctx, c, exten);
	if (!h || h->autohint || h->pattern)
		return NULL;
	return h->body.value;
}
