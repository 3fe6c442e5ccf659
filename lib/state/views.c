/* SPDX-License-Identifier: MIT */
/* Replication of state: every node's view of a device or presence provider,
 * and the merge rules that make one state of them (docs/cluster.md):
 * - a view replaces the same origin's view of the same source only when its
 *   sequence number is higher (stale and duplicated messages lose), and no
 *   message of an origin numbered at or below its floor (a sweep, a drop)
 *   counts;
 * - a device's state is the aggregate of every set view (Asterisk's
 *   ast_devstate_aggregate over the states its servers report); its calls
 *   are the host's own plus every view's;
 * - a provider takes the set view with the highest sequence number, ties to
 *   the greater origin id (byte order), so every node picks the same one.
 * The sequence numbers are Lamport clocks (core/repl.c), so a change made
 * after a node saw another's is numbered above it. */
#include <string.h>

#include "registry-private.h"

#define MAX_ORIGINS 1024

#define CALL_OF(n) SIPPRES__CONTAINER_OF((n), struct sippres__call, node)

/* ------------------------------------------------------------ origins */

static struct sippres__origin *origin_find(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n;

	if (!ctx->reg->origins.buckets)
		return NULL;
	n = sippres__smap_find(&ctx->reg->origins, name);
	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__origin, node) : NULL;
}

static int origin_get(struct sippres_ctx *ctx, const char *name, struct sippres__origin **ret)
{
	struct sippres__map *m = &ctx->reg->origins;
	struct sippres__origin *o = origin_find(ctx, name);

	if (o) {
		*ret = o;
		return 0;
	}
	if (!m->buckets && SIPPRES__SMAP_INIT(ctx, m, 8, struct sippres__origin, node, name, false) < 0)
		return SIPPRES_E_NOMEM;
	if (m->count >= MAX_ORIGINS)
		return SIPPRES_E_TOOBIG;
	o = sippres__calloc(ctx, 1, sizeof(*o));
	if (!o || !(o->name = sippres__strdup(ctx, name))) {
		sippres__free(ctx, o);
		return SIPPRES_E_NOMEM;
	}
	sippres__smap_insert(ctx, m, &o->node);
	*ret = o;
	return 0;
}

static void origin_destroy(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	struct sippres__origin *o = SIPPRES__CONTAINER_OF(n, struct sippres__origin, node);

	sippres__free(ctx, o->name);
	sippres__free(ctx, o);
}

void sippres__origins_free(struct sippres_ctx *ctx)
{
	if (ctx->reg->origins.buckets)
		sippres__map_drain(ctx, &ctx->reg->origins, origin_destroy);
}

/* -------------------------------------------------------------- views */

static const char *view_origin(const struct sippres_ctx *ctx, const struct sippres__view *v)
{
	return v->o ? v->o->name : ctx->repl ? ctx->repl->origin : "";
}

/* Give s its views, this node's own first (a provider's strings move there). */
static int views_make(struct sippres_ctx *ctx, struct sippres__source *s)
{
	struct sippres__views *v;

	if (s->views)
		return 0;
	v = sippres__calloc(ctx, 1, sizeof(*v) + 2 * sizeof(v->v[0]));
	if (!v)
		return SIPPRES_E_NOMEM;
	v->cap = 2;
	v->n = 1;
	v->v[0].set = s->is_set;
	v->v[0].state = s->state;
	v->v[0].ast = s->remote;
	v->v[0].subtype = s->subtype;
	v->v[0].message = s->message;
	s->views = v;
	return 0;
}

/* Room for one more view. */
static int views_room(struct sippres_ctx *ctx, struct sippres__source *s)
{
	struct sippres__views *v = s->views;
	size_t cap = v->cap * 2;

	if (v->n < v->cap)
		return 0;
	v = sippres__realloc(ctx, v, sizeof(*v) + cap * sizeof(v->v[0]));
	if (!v)
		return SIPPRES_E_NOMEM;
	v->cap = cap;
	s->views = v;
	return 0;
}

static struct sippres__view *view_of(struct sippres__source *s, const struct sippres__origin *o)
{
	for (size_t i = 1; s->views && i < s->views->n; i++) {
		if (s->views->v[i].o == o)
			return &s->views->v[i];
	}
	return NULL;
}

void sippres__views_free(struct sippres_ctx *ctx, struct sippres__source *s)
{
	for (size_t i = 0; i < s->views->n; i++) {
		sippres__free(ctx, s->views->v[i].subtype);
		sippres__free(ctx, s->views->v[i].message);
	}
	sippres__free(ctx, s->views);
	s->views = NULL;
	s->subtype = NULL;
	s->message = NULL;
}

static void merge_device(struct sippres__source *d)
{
	struct sippres__devagg a;
	bool any = false;

	sippres__devagg_init(&a);
	for (size_t i = 0; i < d->views->n; i++) {
		if (d->views->v[i].set) {
			sippres__devagg_add(&a, d->views->v[i].state);
			any = true;
		}
	}
	d->is_set = any;
	d->state = any ? a.state : SIPPRES_DEVICE_UNKNOWN;
}

static void merge_provider(const struct sippres_ctx *ctx, struct sippres__source *p)
{
	const struct sippres__view *w = NULL;

	for (size_t i = 0; i < p->views->n; i++) {
		const struct sippres__view *v = &p->views->v[i];

		if (v->set && (!w || v->stamp > w->stamp ||
		               (v->stamp == w->stamp && strcmp(view_origin(ctx, v), view_origin(ctx, w)) > 0)))
			w = v;
	}
	p->is_set = w != NULL;
	p->state = w ? w->state : SIPPRES_PRESENCE_NOT_SET;
	p->subtype = w ? w->subtype : NULL;
	p->message = w ? w->message : NULL;
}

/* ------------------------------------------------- this node's own view */

int sippres__views_prepare_device(struct sippres_ctx *ctx, struct sippres__source *d)
{
	int r = views_make(ctx, d);

	return r < 0 ? r : sippres__repl_reserve(ctx, sippres__vmsg_device_size(d, ctx->repl->origin));
}

int sippres__views_prepare_provider(struct sippres_ctx *ctx, struct sippres__source *p, const char *subtype,
                                    const char *message)
{
	int r = views_make(ctx, p);

	return r < 0 ? r
	             : sippres__repl_reserve(ctx, sippres__vmsg_provider_size(p->name, ctx->repl->origin, subtype,
	                                                                      message));
}

void sippres__views_set_device(struct sippres_ctx *ctx, struct sippres__source *d, int state, bool ast)
{
	struct sippres__view *v = &d->views->v[0];

	v->state = state;
	v->set = true;
	v->ast = ast;
	if (sippres__repl_on(ctx))
		v->stamp = v->seq = sippres__repl_tick(ctx);
	merge_device(d);
}

void sippres__views_set_provider(struct sippres_ctx *ctx, struct sippres__source *p, int state, char *sub,
                                 char *msg, char **old_sub, char **old_msg)
{
	struct sippres__view *v = &p->views->v[0];

	*old_sub = v->subtype;
	*old_msg = v->message;
	v->subtype = sub;
	v->message = msg;
	v->state = state;
	v->set = true;
	if (sippres__repl_on(ctx))
		v->stamp = v->seq = sippres__repl_tick(ctx);
	merge_provider(ctx, p);
}

void sippres__views_emit_device(struct sippres_ctx *ctx, struct sippres__source *d, uint32_t flags)
{
	struct sippres__view *v = &d->views->v[0];
	uint32_t vflags = flags & SIPPRES__DEV_QUIET ? 0 : SIPPRES__VMSG_SET;
	size_t len;

	if (flags & SIPPRES__DEV_CALLS_CHANGED)
		vflags |= SIPPRES__VMSG_CALLS;
	len = sippres__vmsg_device_encode(d, ctx->repl->origin, v->seq, v->stamp, vflags, v->state, ctx->repl->buf);
	sippres__repl_emit(ctx, SIPPRES_REPL_DEVICE, false, d->name, v->seq, ctx->repl->buf, len);
}

void sippres__views_emit_provider(struct sippres_ctx *ctx, struct sippres__source *p)
{
	struct sippres__view *v = &p->views->v[0];
	size_t len;

	len = sippres__vmsg_provider_encode(p->name, ctx->repl->origin, v->seq, v->stamp, v->state, v->subtype,
	                                    v->message, ctx->repl->buf);
	sippres__repl_emit(ctx, SIPPRES_REPL_PRESENCE, false, p->name, v->seq, ctx->repl->buf, len);
}

/* Every source of m this node set, again; returns how many or < 0. */
static int resync_map(struct sippres_ctx *ctx, struct sippres__map *m, bool devices)
{
	int n = 0, r;

	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct sippres__hnode *e = m->buckets[i]; e; e = e->next) {
			struct sippres__source *s = SIPPRES__CONTAINER_OF(e, struct sippres__source, node);
			const struct sippres__view *v = s->views ? &s->views->v[0] : NULL;

			if (v ? !v->set : !s->is_set)
				continue;
			r = views_make(ctx, s);
			if (r == 0)
				r = devices ? sippres__views_prepare_device(ctx, s)
				            : sippres__views_prepare_provider(ctx, s, s->views->v[0].subtype,
				                                              s->views->v[0].message);
			if (r < 0)
				return r;
			/* a new number, the same stamp: the view did not change */
			s->views->v[0].seq = sippres__repl_tick(ctx);
			if (devices)
				sippres__views_emit_device(ctx, s, SIPPRES__DEV_QUIET);
			else
				sippres__views_emit_provider(ctx, s);
			n++;
		}
	}
	return n;
}

int sippres__views_resync(struct sippres_ctx *ctx)
{
	uint64_t first = sippres__repl_tick(ctx); /* every view re-sent is numbered above it */
	int n, k;
	size_t len;

	n = resync_map(ctx, &ctx->reg->devices, true);
	k = n < 0 ? n : resync_map(ctx, &ctx->reg->providers, false);
	if (k < 0)
		return k;
	if (sippres__repl_reserve(ctx, sippres__vmsg_sweep_size(ctx->repl->origin)) < 0)
		return SIPPRES_E_NOMEM;
	len = sippres__vmsg_sweep_encode(ctx->repl->origin, first, ctx->repl->buf);
	sippres__repl_emit(ctx, SIPPRES_REPL_SWEEP, false, "", first, ctx->repl->buf, len);
	return n + k + 1;
}

/* --------------------------------------------------- another node's view */

/* Put the calls of o's new view on d: a call that stays keeps its age and
 * place, one that went is freed, a new one comes last. */
static void calls_replace(struct sippres_ctx *ctx, struct sippres__source *d, struct sippres__origin *o,
                          struct sippres__call **calls, size_t n)
{
	for (struct sippres__dnode *e = d->calls.head, *next; e; e = next) {
		struct sippres__call *old = CALL_OF(e);
		size_t j = 0;

		next = e->next;
		if (old->origin != o)
			continue;
		while (j < n && (calls[j]->seq || strcmp(calls[j]->pub.call_id, old->pub.call_id) != 0))
			j++;
		if (j < n) {
			calls[j]->seq = old->seq;
			sippres__dlist_replace(&d->calls, &old->node, &calls[j]->node);
		} else {
			sippres__dlist_remove(&d->calls, &old->node);
		}
		sippres__free(ctx, old);
	}
	for (size_t j = 0; j < n; j++) {
		calls[j]->origin = o;
		if (!calls[j]->seq) {
			calls[j]->seq = ++ctx->reg->call_seq;
			sippres__dlist_append(&d->calls, &calls[j]->node);
		}
	}
}

/* The source m names (made if new) and o's view of it: 1 when m is newer
 * than that view, 0 when it is stale (the source is given back), or
 * SIPPRES_E_NOMEM. */
static int view_fresh(struct sippres_ctx *ctx, struct sippres__map *map, struct sippres__origin *o,
                      const struct sippres__vmsg *m, struct sippres__source **s, struct sippres__view **v)
{
	*s = sippres__source_get(ctx, map, m->name, strlen(m->name));
	if (!*s)
		return SIPPRES_E_NOMEM;
	*v = view_of(*s, o);
	if (*v && m->seq <= (*v)->seq) {
		sippres__source_gc(ctx, map, *s);
		return 0;
	}
	return 1;
}

/* Room for o's view of s when it has none (0 or SIPPRES_E_NOMEM). */
static int view_room(struct sippres_ctx *ctx, struct sippres__source *s, const struct sippres__view *v)
{
	int r = views_make(ctx, s);

	return r == 0 && !v ? views_room(ctx, s) : r;
}

/* m becomes o's view of s (room made by view_room). */
static struct sippres__view *view_take(struct sippres__source *s, struct sippres__origin *o, struct sippres__view *v,
                                       const struct sippres__vmsg *m)
{
	if (!v) {
		v = &s->views->v[s->views->n++];
		memset(v, 0, sizeof(*v));
		v->o = o;
	}
	v->seq = m->seq;
	v->stamp = m->stamp;
	v->state = m->state;
	v->set = true;
	return v;
}

static int apply_device(struct sippres_ctx *ctx, struct sippres__origin *o, const struct sippres__vmsg *m)
{
	struct sippres__call **calls = NULL;
	struct sippres__source *d;
	struct sippres__view *v;
	uint32_t flags = 0;
	size_t k = 0;
	int r = view_fresh(ctx, &ctx->reg->devices, o, m, &d, &v);

	if (r <= 0)
		return r;
	r = 0;
	if (m->ncalls && !(calls = sippres__calloc(ctx, m->ncalls, sizeof(*calls))))
		r = SIPPRES_E_NOMEM;
	for (; r == 0 && k < m->ncalls; k++)
		r = sippres__call_pack(ctx, &m->calls[k], &calls[k]);
	if (r == 0)
		r = view_room(ctx, d, v);
	if (r == 0 && ctx->reg->autohint_ctxs)
		r = sippres__autohints_for(ctx, d);
	if (r < 0) {
		while (k--)
			sippres__free(ctx, calls[k]);
		sippres__free(ctx, calls);
		sippres__source_gc(ctx, &ctx->reg->devices, d);
		return r;
	}
	view_take(d, o, v, m);
	calls_replace(ctx, d, o, calls, m->ncalls);
	sippres__free(ctx, calls);
	merge_device(d);
	if (!(m->flags & SIPPRES__VMSG_SET))
		flags |= SIPPRES__DEV_QUIET;
	if (m->flags & SIPPRES__VMSG_CALLS)
		flags |= SIPPRES__DEV_CALLS_CHANGED;
	sippres__device_dispatch(ctx, d, flags);
	return 1;
}

static int apply_provider(struct sippres_ctx *ctx, struct sippres__origin *o, const struct sippres__vmsg *m)
{
	struct sippres__source *p;
	struct sippres__view *v;
	char *sub = NULL, *msg = NULL, *old_sub, *old_msg;
	const char *esub, *emsg;
	int r = view_fresh(ctx, &ctx->reg->providers, o, m, &p, &v);

	if (r <= 0)
		return r;
	r = 0;
	if ((m->subtype && !(sub = sippres__strdup(ctx, m->subtype))) ||
	    (m->message && !(msg = sippres__strdup(ctx, m->message))))
		r = SIPPRES_E_NOMEM;
	if (r == 0)
		r = view_room(ctx, p, v);
	if (r < 0) {
		sippres__free(ctx, sub);
		sippres__free(ctx, msg);
		sippres__source_gc(ctx, &ctx->reg->providers, p);
		return r;
	}
	esub = p->subtype;
	emsg = p->message;
	v = view_take(p, o, v, m);
	old_sub = v->subtype;
	old_msg = v->message;
	v->subtype = sub;
	v->message = msg;
	merge_provider(ctx, p);
	sippres__provider_dispatch(ctx, p, esub, emsg);
	sippres__free(ctx, old_sub);
	sippres__free(ctx, old_msg);
	return 1;
}

/* Drop o's views numbered below `below` from every source of m; returns how
 * many. The watchers hear of every change it makes. */
static int drop_views(struct sippres_ctx *ctx, struct sippres__map *m, bool devices, struct sippres__origin *o,
                      uint64_t below)
{
	int n = 0;

	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct sippres__hnode *e = m->buckets[i], *next; e; e = next) {
			struct sippres__source *s = SIPPRES__CONTAINER_OF(e, struct sippres__source, node);
			struct sippres__view *v = view_of(s, o);
			const char *esub = s->subtype, *emsg = s->message;
			char *old_sub, *old_msg;
			bool had_calls = false;

			next = e->next;
			if (!v || v->seq >= below)
				continue;
			old_sub = v->subtype;
			old_msg = v->message;
			*v = s->views->v[--s->views->n]; /* the last one takes its place (never ours, at 0) */
			n++;
			if (devices) {
				for (struct sippres__dnode *c = s->calls.head; c && !had_calls; c = c->next)
					had_calls = CALL_OF(c)->origin == o;
				calls_replace(ctx, s, o, NULL, 0);
				merge_device(s);
				sippres__device_dispatch(ctx, s, SIPPRES__DEV_QUIET |
				                                 (had_calls ? SIPPRES__DEV_CALLS_CHANGED : 0));
			} else {
				merge_provider(ctx, s);
				sippres__provider_dispatch(ctx, s, esub, emsg);
			}
			sippres__free(ctx, old_sub);
			sippres__free(ctx, old_msg);
			sippres__source_gc(ctx, m, s);
		}
	}
	return n;
}

static int drop_all(struct sippres_ctx *ctx, struct sippres__origin *o, uint64_t below)
{
	return drop_views(ctx, &ctx->reg->devices, true, o, below) +
	       drop_views(ctx, &ctx->reg->providers, false, o, below);
}

SIPPRES_EXPORT int sippres_repl_apply(struct sippres_ctx *ctx, const void *data, size_t len)
{
	struct sippres__origin *o;
	struct sippres__vmsg m;
	int r;

	if (!ctx || !data)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	r = sippres__vmsg_decode(ctx, data, len, &m);
	if (r < 0)
		return r;
	if (ctx->repl && strcmp(m.origin, ctx->repl->origin) == 0) {
		/* our own, come back (a snapshot of a bus): only the clock moves */
		sippres__repl_seen(ctx, m.seq);
		sippres__vmsg_fini(ctx, &m);
		return 0;
	}
	r = origin_get(ctx, m.origin, &o);
	if (r == 0 && m.seq > o->floor) {
		sippres__repl_seen(ctx, m.seq);
		if (m.kind == SIPPRES_REPL_DEVICE) {
			r = apply_device(ctx, o, &m);
		} else if (m.kind == SIPPRES_REPL_PRESENCE) {
			r = apply_provider(ctx, o, &m);
		} else {
			/* a sweep: the views the origin re-sent are numbered above it */
			o->floor = m.seq;
			drop_all(ctx, o, m.seq);
			r = 1;
		}
		if (r > 0 && m.seq > o->seen)
			o->seen = m.seq;
	}
	sippres__vmsg_fini(ctx, &m);
	return r;
}

SIPPRES_EXPORT int sippres_repl_origin_drop(struct sippres_ctx *ctx, const char *origin)
{
	struct sippres__origin *o;

	if (!ctx || !origin || !sippres__origin_ok(origin, strlen(origin)))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	o = origin_find(ctx, origin);
	if (!o)
		return 0;
	if (o->seen > o->floor)
		o->floor = o->seen;
	return drop_all(ctx, o, UINT64_MAX);
}
