/* SPDX-License-Identifier: MIT */
/* Resource lists (RFC 4662): list definitions, expansion into a resource tree
 * (depth-first, first visit wins, failed leaves and empty sublists pruned),
 * and the multipart/related NOTIFY bodies with their RLMI documents, in full
 * or partial state, split over several NOTIFYs when too large. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodies/bodies-private.h"
#include "subs/subs-private.h"

#define MAX_ITEMS 10000
#define MAX_TREE 20000
#define DEFAULT_MAX_NOTIFY 64000

struct sippres__list_def {
	struct sippres__hnode node;
	char *name;
	char *event;
	char **items;
	size_t n_items;
	uint32_t full_state;
	uint32_t batch_ms;
	uint32_t display_name;
};

struct sippres__rls_node {
	struct sippres__rls_node *parent, *next, *children, *last_child;
	char *name;
	char *display;
	bool is_list;
	bool full_state;   /* lists */
	bool changed;      /* leaves: the body changed since the last NOTIFY that carried it */
	bool removed;      /* leaves: the hint went away; reported terminated once, then pruned */
	bool sent_any;     /* leaves: a body went out (asterisk version rule) */
	uint32_t version;  /* lists: next RLMI version; leaves: next dialog-info version */
	struct sippres__hlink link;
	struct sippres__hint *hint;
	struct sippres__rls *rls;
};

struct sippres__rls {
	struct sippres__batch batch; /* first: the batch heap points here */
	struct sippres__rls_node *root;
	uint32_t batch_ms;
	char *scheme;
	char *host;
	uint32_t port;
	size_t nnodes;
};

struct sippres__lists {
	struct sippres__map defs;
};

/* ------------------------------------------------------------ definitions */

static uint32_t def_hash(struct sippres_ctx *ctx, const char *name)
{
	return sippres__hash(ctx->hash_seed, name, false);
}

static struct sippres__list_def *def_find(struct sippres_ctx *ctx, const char *name)
{
	uint32_t h = def_hash(ctx, name);

	for (struct sippres__hnode *n = sippres__map_chain(&ctx->lists->defs, h); n; n = n->next) {
		struct sippres__list_def *d = SIPPRES__CONTAINER_OF(n, struct sippres__list_def, node);
		if (n->hash == h && strcmp(d->name, name) == 0)
			return d;
	}
	return NULL;
}

const struct sippres__list_def *sippres__list_find(struct sippres_ctx *ctx, const char *name, const char *event)
{
	const struct sippres__list_def *d = name ? def_find(ctx, name) : NULL;

	/* the list's event must equal the SUBSCRIBE's, byte for byte */
	return d && event && strcmp(d->event, event) == 0 ? d : NULL;
}

static void def_destroy(struct sippres_ctx *ctx, struct sippres__list_def *d)
{
	for (size_t i = 0; i < d->n_items; i++)
		sippres__free(ctx, d->items[i]);
	sippres__free(ctx, d->items);
	sippres__free(ctx, d->name);
	sippres__free(ctx, d->event);
	sippres__free(ctx, d);
}

#define LIST_V1_SIZE (offsetof(struct sippres_list, resource_display_name) + sizeof(uint32_t))

SIPPRES_EXPORT int sippres_list_set(struct sippres_ctx *ctx, const struct sippres_list *list)
{
	struct sippres__list_def *d, *old;
	int r;

	if (!ctx || !list)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(list, LIST_V1_SIZE, sizeof(*list));
	if (r < 0)
		return r;
	if (!sippres__name_ok(list->name) || !list->event || sippres__event_parse(list->event) < 0 || list->n_items == 0 ||
	    !list->items || list->full_state > 1 || list->resource_display_name > 1)
		return SIPPRES_E_INVAL;
	if (list->n_items > MAX_ITEMS)
		return SIPPRES_E_TOOBIG;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	d = sippres__calloc(ctx, 1, sizeof(*d));
	if (!d)
		return SIPPRES_E_NOMEM;
	d->name = sippres__strdup(ctx, list->name);
	d->event = sippres__strdup(ctx, list->event);
	d->items = sippres__calloc(ctx, list->n_items, sizeof(*d->items));
	if (!d->name || !d->event || !d->items) {
		def_destroy(ctx, d);
		return SIPPRES_E_NOMEM;
	}
	for (size_t i = 0; i < list->n_items; i++) {
		const char *it = list->items[i];
		size_t n;
		bool dup = false;

		if (!it) {
			def_destroy(ctx, d);
			return SIPPRES_E_INVAL;
		}
		while (*it == ' ' || *it == '\t')
			it++;
		n = strlen(it);
		while (n && (it[n - 1] == ' ' || it[n - 1] == '\t'))
			n--;
		if (n == 0)
			continue;
		d->items[d->n_items] = sippres__strndup(ctx, it, n);
		if (!d->items[d->n_items]) {
			def_destroy(ctx, d);
			return SIPPRES_E_NOMEM;
		}
		if (!sippres__name_ok(d->items[d->n_items])) {
			d->n_items++;
			def_destroy(ctx, d);
			return SIPPRES_E_INVAL;
		}
		for (size_t j = 0; j < d->n_items; j++)
			dup = dup || strcmp(d->items[j], d->items[d->n_items]) == 0;
		if (dup) {
			sippres__log(ctx, SIPPRES_LOG_INFO, "list %s: ignoring duplicated item %s", d->name, d->items[d->n_items]);
			sippres__free(ctx, d->items[d->n_items]);
			continue;
		}
		d->n_items++;
	}
	if (d->n_items == 0) {
		def_destroy(ctx, d);
		return SIPPRES_E_INVAL;
	}
	d->full_state = list->full_state;
	d->batch_ms = list->batch_interval_ms;
	d->display_name = list->resource_display_name;
	old = def_find(ctx, list->name);
	if (old) {
		sippres__map_remove(&ctx->lists->defs, &old->node);
		def_destroy(ctx, old);
	}
	sippres__map_insert(ctx, &ctx->lists->defs, &d->node, def_hash(ctx, d->name));
	return old ? 1 : 0;
}

SIPPRES_EXPORT int sippres_list_remove(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__list_def *d;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	d = def_find(ctx, name);
	if (!d)
		return SIPPRES_E_NOTFOUND;
	sippres__map_remove(&ctx->lists->defs, &d->node);
	def_destroy(ctx, d);
	return 0;
}

/* -------------------------------------------------------------- the tree */

static void node_free(struct sippres_ctx *ctx, struct sippres__rls_node *n)
{
	struct sippres__rls_node *c = n->children;

	while (c) {
		struct sippres__rls_node *next = c->next;
		node_free(ctx, c);
		c = next;
	}
	if (n->hint)
		sippres__hlink_remove(n->hint, &n->link);
	sippres__free(ctx, n->name);
	sippres__free(ctx, n->display);
	sippres__free(ctx, n);
}

void sippres__rls_free(struct sippres_ctx *ctx, struct sippres__rls *rls)
{
	if (!rls)
		return;
	if (rls->root)
		node_free(ctx, rls->root);
	sippres__free(ctx, rls->scheme);
	sippres__free(ctx, rls->host);
	sippres__free(ctx, rls);
}

static struct sippres__rls_node *node_new(struct sippres_ctx *ctx, struct sippres__rls *rls, const char *name, const char *display)
{
	struct sippres__rls_node *n;

	if (rls->nnodes >= MAX_TREE)
		return NULL;
	n = sippres__calloc(ctx, 1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = sippres__strdup(ctx, name);
	n->display = sippres__strdup(ctx, display);
	if (!n->name || !n->display) {
		sippres__free(ctx, n->name);
		sippres__free(ctx, n->display);
		sippres__free(ctx, n);
		return NULL;
	}
	n->rls = rls;
	n->link.kind = SIPPRES__HLINK_MEMBER;
	rls->nnodes++;
	return n;
}

static void append_child(struct sippres__rls_node *p, struct sippres__rls_node *c)
{
	c->parent = p;
	if (p->last_child)
		p->last_child->next = c;
	else
		p->children = c;
	p->last_child = c;
}

/* Names already in the tree: an open-addressing set (first visit wins). */
struct visited {
	const char **slot;
	size_t cap, n;
};

static size_t vhash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static bool was_visited(const struct visited *vis, const char *name)
{
	if (!vis->cap)
		return false;
	for (size_t i = vhash(name) & (vis->cap - 1);; i = (i + 1) & (vis->cap - 1)) {
		if (!vis->slot[i])
			return false;
		if (strcmp(vis->slot[i], name) == 0)
			return true;
	}
}

static int visit(struct sippres_ctx *ctx, struct visited *vis, const char *name)
{
	if ((vis->n + 1) * 2 > vis->cap) {
		size_t cap = vis->cap ? vis->cap * 2 : 64;
		const char **slot = sippres__calloc(ctx, cap, sizeof(*slot));

		if (!slot)
			return SIPPRES_E_NOMEM;
		for (size_t i = 0; i < vis->cap; i++) {
			if (vis->slot[i]) {
				size_t j = vhash(vis->slot[i]) & (cap - 1);
				while (slot[j])
					j = (j + 1) & (cap - 1);
				slot[j] = vis->slot[i];
			}
		}
		sippres__free(ctx, (void *)vis->slot);
		vis->slot = slot;
		vis->cap = cap;
	}
	for (size_t i = vhash(name) & (vis->cap - 1);; i = (i + 1) & (vis->cap - 1)) {
		if (!vis->slot[i]) {
			vis->slot[i] = name;
			vis->n++;
			return 0;
		}
	}
}

/* Asterisk's build_node_children: depth-first, first visit wins, failed
 * leaves omitted, sublists kept only when they have members. */
static int build_children(struct sippres_ctx *ctx, struct sippres__rls *rls, struct sippres__rls_node *node,
                          const struct sippres__list_def *def, const char *context, struct visited *vis, int depth)
{
	for (size_t i = 0; i < def->n_items; i++) {
		const char *item = def->items[i];
		const struct sippres__list_def *sub;
		struct sippres__rls_node *c;
		struct sippres__hint *h;
		int r;

		if (was_visited(vis, item))
			continue;
		sub = sippres__list_find(ctx, item, def->event);
		if (sub && depth < 16) {
			r = visit(ctx, vis, item);
			if (r < 0)
				return r;
			c = node_new(ctx, rls, item, item);
			if (!c)
				return SIPPRES_E_NOMEM;
			c->is_list = true;
			c->full_state = sub->full_state;
			append_child(node, c);
			r = build_children(ctx, rls, c, sub, context, vis, depth + 1);
			if (r < 0)
				return r;
			if (!c->children) {
				/* prune the empty sublist */
				node->last_child = NULL;
				for (struct sippres__rls_node *x = node->children; x; x = x->next) {
					if (x->next == c) {
						x->next = NULL;
						node->last_child = x;
					}
				}
				if (node->children == c)
					node->children = NULL;
				node_free(ctx, c);
				rls->nnodes--;
			}
			continue;
		}
		r = sippres__hint_lookup(ctx, context, item, &h);
		if (r == SIPPRES_E_NOMEM)
			return r;
		if (r < 0 || h->presence_state == SIPPRES_PRESENCE_INVALID) {
			sippres__log(ctx, SIPPRES_LOG_DEBUG, "list %s: member %s does not resolve", def->name, item);
			continue;
		}
		r = visit(ctx, vis, item);
		if (r < 0)
			return r;
		c = node_new(ctx, rls, item,
		             def->display_name && h->body.display && h->body.display[0] ? h->body.display : item);
		if (!c)
			return SIPPRES_E_NOMEM;
		c->hint = h;
		c->changed = true;
		sippres__hlink_add(h, &c->link);
		append_child(node, c);
	}
	return 0;
}

int sippres__rls_build(struct sippres_ctx *ctx, const struct sippres__list_def *def, const char *context, const char *scheme,
                 const char *host, uint32_t port, struct sippres__rls **ret)
{
	struct visited vis = {0};
	struct sippres__rls *rls = sippres__calloc(ctx, 1, sizeof(*rls));
	int r = SIPPRES_E_NOMEM;

	if (!rls)
		return r;
	rls->scheme = sippres__strdup(ctx, scheme);
	rls->host = sippres__strdup(ctx, host);
	rls->port = port;
	rls->batch_ms = def->batch_ms; /* the top-level list's interval only, as Asterisk */
	rls->batch.idx = SIPPRES__NOT_IN_HEAP;
	if (!rls->scheme || !rls->host)
		goto fail;
	rls->root = node_new(ctx, rls, def->name, def->name);
	if (!rls->root)
		goto fail;
	rls->root->is_list = true;
	rls->root->full_state = def->full_state;
	r = visit(ctx, &vis, def->name);
	if (r < 0)
		goto fail;
	r = build_children(ctx, rls, rls->root, def, context, &vis, 0);
	if (r < 0)
		goto fail;
	if (!rls->root->children) {
		r = SIPPRES_E_NOTFOUND;
		goto fail;
	}
	sippres__free(ctx, (void *)vis.slot);
	*ret = rls;
	return 0;
fail:
	sippres__free(ctx, (void *)vis.slot);
	sippres__rls_free(ctx, rls);
	return r;
}

int sippres__rls_build_at(struct sippres_ctx *ctx, const struct sippres__list_def *def, const char *context,
                    const char *local_uri, struct sippres__rls **ret)
{
	const char *host = strchr(local_uri, '@'), *colon;
	char scheme[8], hostbuf[2048];
	uint32_t port = 0;

	if (!host)
		return SIPPRES_E_NOTFOUND;
	snprintf(scheme, sizeof(scheme), "%.*s", (int)strcspn(local_uri, ":"), local_uri);
	host++;
	colon = host[0] == '[' ? strstr(host, "]:") : strrchr(host, ':');
	if (colon && colon[0] == ']')
		colon++;
	if (colon) {
		port = (uint32_t)strtoul(colon + 1, NULL, 10);
		snprintf(hostbuf, sizeof(hostbuf), "%.*s", (int)(colon - host), host);
	} else {
		snprintf(hostbuf, sizeof(hostbuf), "%s", host);
	}
	return sippres__rls_build(ctx, def, context, scheme, hostbuf, port, ret);
}

void sippres__rls_attach(struct sippres__rls *rls, struct sippres_sub *owner)
{
	rls->batch.owner = owner;
}

const char *sippres__rls_name(const struct sippres__rls *rls)
{
	return rls->root->name;
}

bool sippres__rls_same_members(const struct sippres__rls *a, const struct sippres__rls *b)
{
	const struct sippres__rls_node *x = a->root->children, *y = b->root->children;

	/* top level only, by name and display name, as Asterisk compares */
	for (; x && y; x = x->next, y = y->next) {
		if (strcmp(x->name, y->name) != 0 || strcmp(x->display, y->display) != 0)
			return false;
	}
	return !x && !y;
}

uint32_t sippres__rls_root_version(const struct sippres__rls *rls)
{
	return rls->root->version;
}

void sippres__rls_set_root_version(struct sippres__rls *rls, uint32_t v)
{
	rls->root->version = v;
}

static bool subtree_changed(const struct sippres__rls_node *n)
{
	if (!n->is_list)
		return n->changed;
	for (const struct sippres__rls_node *c = n->children; c; c = c->next) {
		if (subtree_changed(c))
			return true;
	}
	return false;
}

bool sippres__rls_has_changes(const struct sippres__rls *rls)
{
	return subtree_changed(rls->root);
}

void sippres__rls_leaf_event(struct sippres_ctx *ctx, struct sippres__hlink *link, const struct sippres_exten_status *st)
{
	struct sippres__rls_node *leaf = SIPPRES__CONTAINER_OF(link, struct sippres__rls_node, link);
	struct sippres__rls *rls = leaf->rls;
	struct sippres_sub *s = rls->batch.owner;

	if (st->reason == SIPPRES_REASON_REMOVED) {
		/* the hint is going away now: report the member terminated once */
		sippres__hlink_remove(leaf->hint, &leaf->link);
		leaf->hint = NULL;
		leaf->removed = true;
	}
	leaf->changed = true;
	if (!s)
		return;
	if (rls->batch_ms && st->reason != SIPPRES_REASON_REMOVED) {
		sippres__subs_batch(ctx, s, sippres__subs_now(ctx) + rls->batch_ms);
		return;
	}
	sippres__subs_list_changed(ctx, s);
}

/* ------------------------------------------------------------- rendering */

/* Asterisk's tokens are five lowercase letters; ours are longer alphanumerics. */
static int random_letters(struct sippres_ctx *ctx, char *out, size_t n)
{
	return sippres__random_string(ctx, out, n, SIPPRES__ALPHA_LOWER);
}

static int random_token(struct sippres_ctx *ctx, char *out, size_t n)
{
	return sippres__random_string(ctx, out, n, SIPPRES__ALPHA_ALNUM);
}

/* scheme:name@host[:port] without printf: this runs twice per member per NOTIFY. */
static void member_uri(const struct sippres__rls *rls, const char *name, char *out, size_t cap)
{
	size_t n = 0;
	const char *pieces[3] = {rls->scheme, name, rls->host};
	const char sep[3] = {':', '@', '\0'};

	for (int i = 0; i < 3; i++) {
		size_t l = strlen(pieces[i]);

		if (n + l + 2 >= cap)
			break;
		memcpy(out + n, pieces[i], l);
		n += l;
		if (sep[i])
			out[n++] = sep[i];
	}
	if (rls->port && n + 7 < cap) {
		char digits[6];
		int k = 0;
		uint32_t p = rls->port;

		out[n++] = ':';
		do {
			digits[k++] = (char)('0' + p % 10);
			p /= 10;
		} while (p && k < 6);
		while (k)
			out[n++] = digits[--k];
	}
	out[n] = '\0';
}

/* One part of a multipart body. */
struct part {
	struct sippres__rls_node *node;
	char cid[80];
	char id[24];
	const char *ctype;
	char *ctype_owned; /* nested lists: their multipart Content-Type */
	size_t off, len;   /* the body inside the arena */
	bool has_body;
};

struct render_ctx {
	struct sippres_ctx *ctx;
	struct sippres_sub *s;
	struct sippres__buf arena; /* every part's body, back to back */
	bool asterisk;
	bool final;
	uint8_t final_reason;
	uint32_t reason;
};

static void parts_free(struct sippres_ctx *ctx, struct part *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sippres__free(ctx, parts[i].ctype_owned);
	sippres__free(ctx, parts);
}

/* The body of a member: its own document, as a single subscription would get. */
static int render_leaf(struct render_ctx *rc, struct sippres__rls_node *leaf, struct part *p)
{
	struct sippres_ctx *ctx = rc->ctx;
	struct sippres_sub *s = rc->s;
	struct sippres_exten_status st;
	struct sippres_body_input in;
	struct sippres_body body = {.size = sizeof(body)};
	char uri[4200];
	bool bump;
	int r;

	if (leaf->removed) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		st.exten = leaf->name;
		st.exten_state = SIPPRES_EXTEN_REMOVED;
		st.presence_subtype = st.presence_message = "";
	} else {
		sippres__hint_status(ctx, leaf->hint, &st);
	}
	member_uri(leaf->rls, leaf->name, uri, sizeof(uri));
	/* member dialog-info versions follow the rules of a single subscription */
	bump = !rc->asterisk || !leaf->sent_any ||
	       !(rc->reason == SIPPRES_NOTIFY_REFRESH || (rc->final && !leaf->removed));
	sippres__sub_body_input(s, &st, leaf->name, uri, bump ? leaf->version : leaf->version - 1, &in);
	r = sippres_body_render(ctx, s->content_type, &in, &body);
	if (r < 0)
		return r;
	p->off = rc->arena.len;
	sippres__buf_add(&rc->arena, body.data, body.len);
	if (rc->arena.err)
		return rc->arena.err;
	p->len = body.len;
	p->ctype = s->content_type;
	if (bump)
		leaf->version++;
	leaf->sent_any = true;
	p->has_body = true;
	return 0;
}

static bool part_at(const struct part *parts, size_t np, size_t *pi, const struct sippres__rls_node *c)
{
	if (*pi < np && parts[*pi].node == c) {
		(*pi)++;
		return true;
	}
	return false;
}

/* The RLMI document of node. Parts in [lo, hi) get an instance; in full
 * state every member is named (those without an instance in this NOTIFY are
 * reported in the next one: RFC 4662 4.5). */
static int render_rlmi(struct render_ctx *rc, struct sippres__rls_node *node, bool full, const struct part *parts,
                       size_t np, size_t lo, size_t hi, struct sippres__buf *out)
{
	struct sippres_xml w;
	char uri[4200];
	size_t pi = 0;
	int r;

	memset(&w, 0, sizeof(w));
	w.ctx = rc->ctx;
	sippres__xml_reset(&w, rc->asterisk ? SIPPRES__XML_ASTERISK : SIPPRES__XML_STANDARD);
	sippres__xml_prolog(&w);
	sippres__xml_start_lit(&w, "list");
	sippres__xml_attr_lit(&w, "xmlns", "urn:ietf:params:xml:ns:rlmi");
	member_uri(node->rls, node->name, uri, sizeof(uri));
	sippres__xml_attr_str(&w, "uri", uri);
	sippres__xml_attr_u32(&w, "version", 7, node->version, false);
	if (full)
		sippres__xml_attr_lit(&w, "fullState", "true");
	else
		sippres__xml_attr_lit(&w, "fullState", "false");
	sippres__xml_elem_text(&w, "name", 4, node->name, strlen(node->name));
	for (struct sippres__rls_node *c = node->children; c; c = c->next) {
		size_t at = pi;
		const struct part *p = part_at(parts, np, &pi, c) ? &parts[at] : NULL;
		bool terminated = rc->final || c->removed;

		if (p && (at < lo || at >= hi))
			p = NULL;
		if (!p && !full)
			continue;
		sippres__xml_start_lit(&w, "resource");
		member_uri(node->rls, c->name, uri, sizeof(uri));
		sippres__xml_attr_str(&w, "uri", uri);
		sippres__xml_elem_text(&w, "name", 4, c->display, strlen(c->display));
		if (p) {
			sippres__xml_start_lit(&w, "instance");
			sippres__xml_attr_str(&w, "id", p->id);
			if (terminated)
				sippres__xml_attr_lit(&w, "state", "terminated");
			else
				sippres__xml_attr_lit(&w, "state", "active");
			if (terminated && !rc->asterisk)
				sippres__xml_attr_str(&w, "reason",
				                c->removed ? "noresource" : sippres__final_reason_name(rc->final_reason));
			if (p->has_body)
				sippres__xml_attr_str(&w, "cid", p->cid);
			sippres__xml_end(&w);
		}
		sippres__xml_end(&w);
	}
	sippres__xml_end(&w);
	r = w.err;
	if (!r)
		sippres__buf_add(out, w.buf, w.len);
	sippres__xml_release(&w);
	return r ? r : out->err;
}

/* Asterisk (pjproject's multipart printer): CRLF before each boundary,
 * Content-Length padded to 5 characters. Standard: RFC 2046 layout. */
static void add_part(struct render_ctx *rc, struct sippres__buf *out, const char *boundary, const char *cid,
                     const char *ctype, const char *body, size_t len)
{
	char line[64];

	if (rc->asterisk) {
		sippres__buf_str(out, "\r\n--");
		sippres__buf_str(out, boundary);
		sippres__buf_str(out, "\r\nContent-ID: <");
		sippres__buf_str(out, cid);
		sippres__buf_str(out, ">\r\nContent-Type: ");
		sippres__buf_str(out, ctype);
		{
			/* pjproject pads the length to 5 characters */
			char digits[24];
			int k = 0;
			size_t v = len;

			do {
				digits[k++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			memcpy(line, "\r\nContent-Length: ", 18);
			size_t n = 18;
			for (int pad = k; pad < 5; pad++)
				line[n++] = ' ';
			while (k)
				line[n++] = digits[--k];
			memcpy(line + n, "\r\n\r\n", 4);
			sippres__buf_add(out, line, n + 4);
		}
		sippres__buf_add(out, body, len);
	} else {
		sippres__buf_str(out, "--");
		sippres__buf_str(out, boundary);
		sippres__buf_str(out, "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <");
		sippres__buf_str(out, cid);
		sippres__buf_str(out, ">\r\nContent-Type: ");
		sippres__buf_str(out, ctype);
		sippres__buf_str(out, "\r\n\r\n");
		sippres__buf_add(out, body, len);
		sippres__buf_str(out, "\r\n");
	}
}

static int make_cid(struct render_ctx *rc, char *cid, size_t cap)
{
	char local[24];
	int r = rc->asterisk ? random_letters(rc->ctx, local, 5) : random_token(rc->ctx, local, 12);

	size_t ln, hn;

	if (r < 0)
		return r;
	ln = strlen(local);
	hn = strlen(rc->s->rls->host);
	if (ln + hn + 2 > cap)
		hn = cap - ln - 2;
	memcpy(cid, local, ln);
	cid[ln] = '@';
	memcpy(cid + ln + 1, rc->s->rls->host, hn);
	cid[ln + 1 + hn] = '\0';
	return 0;
}

static int assemble(struct render_ctx *rc, struct sippres__rls_node *node, bool full, const struct part *parts, size_t np,
                    size_t lo, size_t hi, struct sippres__buf *out, char **ctype);

/* Parts for node's members that go into this NOTIFY (all in full state, the
 * changed ones otherwise). Renders member bodies and nested lists once. */
static int build_parts(struct render_ctx *rc, struct sippres__rls_node *node, bool full, struct part **ret, size_t *nret)
{
	struct sippres_ctx *ctx = rc->ctx;
	struct part *parts;
	size_t n = 0, np = 0;
	int r = 0;

	for (struct sippres__rls_node *c = node->children; c; c = c->next)
		n++;
	parts = sippres__calloc(ctx, n ? n : 1, sizeof(*parts));
	if (!parts)
		return SIPPRES_E_NOMEM;
	for (struct sippres__rls_node *c = node->children; c; c = c->next) {
		struct part *p;

		if (!full && !subtree_changed(c))
			continue;
		p = &parts[np++];
		p->node = c;
		r = rc->asterisk ? random_letters(ctx, p->id, 5) : random_token(ctx, p->id, 8);
		if (r < 0)
			break;
		if (c->is_list) {
			struct part *sub;
			size_t nsub;
			bool sub_full = full || c->full_state;

			struct sippres__buf nested = {.ctx = ctx};

			r = build_parts(rc, c, sub_full, &sub, &nsub);
			if (r < 0)
				break;
			r = assemble(rc, c, sub_full, sub, nsub, 0, SIZE_MAX, &nested, &p->ctype_owned);
			parts_free(ctx, sub, nsub);
			if (r >= 0) {
				p->ctype = p->ctype_owned;
				p->off = rc->arena.len;
				p->len = nested.len;
				sippres__buf_add(&rc->arena, nested.p, nested.len);
				r = rc->arena.err;
			}
			sippres__buf_free(&nested);
			if (r < 0)
				break;
			c->version++;
			p->has_body = true;
		} else if (c->removed && !rc->asterisk) {
			p->has_body = false; /* terminated;reason=noresource: nothing to show */
		} else {
			r = render_leaf(rc, c, p);
			if (r < 0)
				break;
		}
		if (p->has_body) {
			r = make_cid(rc, p->cid, sizeof(p->cid));
			if (r < 0)
				break;
		}
	}
	if (r < 0) {
		parts_free(ctx, parts, np);
		return r;
	}
	*ret = parts;
	*nret = np;
	return 0;
}

/* node's multipart body with the parts in [lo, hi); *ctype gets its
 * Content-Type (allocated). */
static int assemble(struct render_ctx *rc, struct sippres__rls_node *node, bool full, const struct part *parts, size_t np,
                    size_t lo, size_t hi, struct sippres__buf *out, char **ctype)
{
	struct sippres_ctx *ctx = rc->ctx;
	struct sippres__buf rlmi = {.ctx = ctx};
	char boundary[24], root_cid[80], type[200];
	int r;

	r = render_rlmi(rc, node, full, parts, np, lo, hi, &rlmi);
	if (r >= 0)
		r = rc->asterisk ? random_letters(ctx, boundary, 5) : random_token(ctx, boundary, 20);
	if (r >= 0)
		r = make_cid(rc, root_cid, sizeof(root_cid));
	if (r < 0) {
		sippres__buf_free(&rlmi);
		return r;
	}
	if (rc->asterisk)
		snprintf(type, sizeof(type), "multipart/related;type=\"application/rlmi+xml\";boundary=%s", boundary);
	else
		snprintf(type, sizeof(type),
		         "multipart/related;type=\"application/rlmi+xml\";start=\"<%s>\";boundary=\"%s\"", root_cid,
		         boundary);
	add_part(rc, out, boundary, root_cid,
	         rc->asterisk ? "application/rlmi+xml" : "application/rlmi+xml;charset=\"UTF-8\"", rlmi.p, rlmi.len);
	sippres__buf_free(&rlmi);
	for (size_t i = lo; i < np && i < hi; i++) {
		if (parts[i].has_body)
			add_part(rc, out, boundary, parts[i].cid, parts[i].ctype, rc->arena.p + parts[i].off, parts[i].len);
	}
	sippres__buf_str(out, rc->asterisk ? "\r\n--" : "--");
	sippres__buf_str(out, boundary);
	sippres__buf_str(out, "--\r\n");
	if (out->err)
		return out->err;
	*ctype = sippres__strdup(ctx, type);
	return *ctype ? 0 : SIPPRES_E_NOMEM;
}

static void clear_changed(struct sippres__rls_node *n)
{
	n->changed = false;
	for (struct sippres__rls_node *c = n->children; c; c = c->next)
		clear_changed(c);
}

/* Drop members whose removal has been reported. */
static void prune_removed(struct sippres_ctx *ctx, struct sippres__rls_node *node)
{
	struct sippres__rls_node **pp = &node->children, *last = NULL;

	while (*pp) {
		struct sippres__rls_node *c = *pp;

		if (c->is_list)
			prune_removed(ctx, c);
		if (!c->is_list && c->removed && !c->changed) {
			*pp = c->next;
			c->rls->nnodes--;
			node_free(ctx, c);
			continue;
		}
		last = c;
		pp = &c->next;
	}
	node->last_child = last;
}

int sippres__rls_notify(struct sippres_ctx *ctx, struct sippres_sub *s, uint32_t reason, bool final, uint8_t final_reason)
{
	struct sippres__rls *rls = s->rls;
	struct render_ctx rc = {.ctx = ctx, .s = s, .asterisk = s->ep->opts.profile == SIPPRES_PROFILE_ASTERISK,
	                        .final = final, .final_reason = final_reason, .reason = reason, .arena = {.ctx = ctx}};
	bool full = reason != SIPPRES_NOTIFY_CHANGE || final || rls->root->full_state;
	size_t max = s->ep->opts.max_notify_size ? s->ep->opts.max_notify_size : DEFAULT_MAX_NOTIFY;
	struct part *parts;
	size_t np, lo = 0;
	int r;

	if (!full && !sippres__rls_has_changes(rls))
		return 0; /* partial state and nothing changed: no NOTIFY */
	sippres__subs_batch(ctx, s, 0); /* this NOTIFY carries whatever was batched */
	r = build_parts(&rc, rls->root, full, &parts, &np);
	if (r < 0) {
		sippres__buf_free(&rc.arena);
		return r;
	}
	do {
		struct sippres__buf out = {.ctx = ctx};
		char *ctype = NULL;
		size_t hi = np;
		bool last;

		/* the most members that fit, one at least */
		for (;;) {
			r = assemble(&rc, rls->root, full, parts, np, lo, hi, &out, &ctype);
			if (r < 0 || out.len <= max || hi - lo <= 1)
				break;
			sippres__buf_free(&out);
			out.ctx = ctx;
			sippres__free(ctx, ctype);
			ctype = NULL;
			hi = lo + (hi - lo) * 3 / 4;
		}
		if (r < 0) {
			sippres__buf_free(&out);
			break;
		}
		if (out.len > max)
			sippres__log(ctx, SIPPRES_LOG_WARNING, "list %s: one member alone exceeds %zu bytes", rls->root->name, max);
		last = hi >= np;
		rls->root->version++;
		for (size_t i = lo; i < hi && i < np; i++)
			clear_changed(parts[i].node);
		r = sippres__subs_emit(ctx, s, reason, final && last, final_reason, ctype, out.p, out.len);
		sippres__buf_free(&out);
		sippres__free(ctx, ctype);
		if (r != 0)
			break; /* 1: the subscription ended */
		lo = hi;
		full = false; /* the rest goes out as partial state */
	} while (lo < np);
	parts_free(ctx, parts, np);
	sippres__buf_free(&rc.arena);
	if (r == 0 && !final)
		prune_removed(ctx, rls->root);
	return r < 0 ? r : 0;
}

/* -------------------------------------------------------------- lifecycle */

int sippres__lists_new(struct sippres_ctx *ctx)
{
	struct sippres__lists *l = sippres__calloc(ctx, 1, sizeof(*l));

	if (!l)
		return SIPPRES_E_NOMEM;
	if (sippres__map_init(ctx, &l->defs, 16) < 0) {
		sippres__free(ctx, l);
		return SIPPRES_E_NOMEM;
	}
	ctx->lists = l;
	return 0;
}

void sippres__lists_free(struct sippres_ctx *ctx)
{
	struct sippres__lists *l = ctx->lists;

	if (!l)
		return;
	for (size_t i = 0; i < l->defs.nbuckets; i++) {
		struct sippres__hnode *n = l->defs.buckets[i];
		while (n) {
			struct sippres__hnode *next = n->next;
			def_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__list_def, node));
			n = next;
		}
	}
	sippres__map_fini(ctx, &l->defs);
	sippres__free(ctx, l);
	ctx->lists = NULL;
}
