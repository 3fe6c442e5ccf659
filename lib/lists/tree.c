/* SPDX-License-Identifier: MIT */
/* The resource tree of a list subscription: built depth-first from the list
 * definitions (first visit wins, members that do not resolve and empty
 * sublists pruned), with each member linked to its hint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists-private.h"

#define MAX_TREE 20000

void sippres__rls_node_free(struct sippres_ctx *ctx, struct sippres__rls_node *n)
{
	struct sippres__rls_node *c = n->children;

	while (c) {
		struct sippres__rls_node *next = c->next;
		sippres__rls_node_free(ctx, c);
		c = next;
	}
	if (n->hint) {
		sippres__hlink_remove(n->hint, &n->link);
		sippres__hint_idle_check(ctx, n->hint);
	}
	sippres__free(ctx, n->name);
	sippres__free(ctx, n->display);
	sippres__free(ctx, n);
}

void sippres__rls_free(struct sippres_ctx *ctx, struct sippres__rls *rls)
{
	if (!rls)
		return;
	if (rls->root)
		sippres__rls_node_free(ctx, rls->root);
	sippres__free(ctx, rls->scheme);
	sippres__free(ctx, rls->host);
	sippres__free(ctx, rls);
}

static struct sippres__rls_node *node_new(struct sippres_ctx *ctx, struct sippres__rls *rls, const char *name,
                                          const char *display)
{
	struct sippres__rls_node *n;

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

/* Asterisk's build_node_children: depth-first, first visit wins, failed
 * leaves omitted, sublists kept only when they have members. */
static int build_children(struct sippres_ctx *ctx, struct sippres__rls *rls, struct sippres__rls_node *node,
                          const struct sippres__list_def *def, const char *context, struct sippres__set *vis,
                          int depth)
{
	for (size_t i = 0; i < def->n_items; i++) {
		const char *item = def->items[i];
		const struct sippres__list_def *sub;
		struct sippres__rls_node *c;
		struct sippres__hint *h;
		int r;

		if (sippres__set_find(vis, item, NULL))
			continue; /* names already in the tree: first visit wins */
		if (rls->nnodes >= MAX_TREE) {
			/* the members up to the bound are served, the rest left out */
			sippres__log(ctx, SIPPRES_LOG_INFO, "list %s: more than %d members and sublists; %s and the rest left out",
			             rls->root->name, MAX_TREE, item);
			return 0;
		}
		sub = sippres__list_find(ctx, item, def->event);
		if (sub && depth < 16) {
			struct sippres__rls_node *prev = node->last_child;

			r = sippres__set_add(ctx, vis, item, 0, NULL);
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
				/* prune the empty sublist (the last child) */
				node->last_child = prev;
				if (prev)
					prev->next = NULL;
				else
					node->children = NULL;
				sippres__rls_node_free(ctx, c);
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
		r = sippres__set_add(ctx, vis, item, 0, NULL);
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

int sippres__rls_build(struct sippres_ctx *ctx, const struct sippres__list_def *def, const char *context,
                       const char *scheme, const char *host, uint32_t port, struct sippres__rls **ret)
{
	struct sippres__set vis;
	struct sippres__rls *rls = sippres__calloc(ctx, 1, sizeof(*rls));
	int r = SIPPRES_E_NOMEM;

	if (!rls)
		return r;
	sippres__set_init(ctx, &vis, true);
	rls->scheme = sippres__strdup(ctx, scheme);
	rls->host = sippres__strdup(ctx, host);
	rls->port = port;
	rls->batch_ms = def->batch_ms; /* the top-level list's interval only, as Asterisk */
	rls->timer.idx = SIPPRES__NOT_IN_HEAP;
	if (!rls->scheme || !rls->host)
		goto fail;
	rls->root = node_new(ctx, rls, def->name, def->name);
	if (!rls->root)
		goto fail;
	rls->root->is_list = true;
	rls->root->full_state = def->full_state;
	r = sippres__set_add(ctx, &vis, def->name, 0, NULL);
	if (r < 0)
		goto fail;
	r = build_children(ctx, rls, rls->root, def, context, &vis, 0);
	if (r < 0)
		goto fail;
	if (!rls->root->children) {
		r = SIPPRES_E_NOTFOUND;
		goto fail;
	}
	sippres__set_fini(ctx, &vis);
	*ret = rls;
	return 0;
fail:
	sippres__set_fini(ctx, &vis);
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

bool sippres__rls_subtree_changed(const struct sippres__rls_node *n)
{
	if (!n->is_list)
		return n->changed;
	for (const struct sippres__rls_node *c = n->children; c; c = c->next) {
		if (sippres__rls_subtree_changed(c))
			return true;
	}
	return false;
}

bool sippres__rls_has_changes(const struct sippres__rls *rls)
{
	return sippres__rls_subtree_changed(rls->root);
}

struct sippres__rls *sippres__rls_of_link(struct sippres__hlink *link)
{
	return SIPPRES__CONTAINER_OF(link, struct sippres__rls_node, link)->rls;
}

int sippres__rls_member_event(struct sippres__hlink *link, const struct sippres_exten_status *st,
                              struct sippres__rls **ret, uint32_t *delay_ms)
{
	struct sippres__rls_node *leaf = SIPPRES__CONTAINER_OF(link, struct sippres__rls_node, link);
	struct sippres__rls *rls = leaf->rls;

	if (st->reason == SIPPRES_REASON_REMOVED) {
		/* the hint is going away now: report the member terminated once */
		sippres__hlink_remove(leaf->hint, &leaf->link);
		leaf->hint = NULL;
		leaf->removed = true;
	}
	leaf->changed = true;
	*ret = rls;
	*delay_ms = rls->batch_ms;
	return rls->batch_ms && st->reason != SIPPRES_REASON_REMOVED ? SIPPRES__RLS_BATCH : SIPPRES__RLS_NOTIFY;
}

/* -------------------------------------------------------------- pruning */

void sippres__rls_clear_changed(struct sippres__rls_node *n)
{
	n->changed = false;
	for (struct sippres__rls_node *c = n->children; c; c = c->next)
		sippres__rls_clear_changed(c);
}

/* Drop members whose removal has been reported. */
void sippres__rls_prune_removed(struct sippres_ctx *ctx, struct sippres__rls_node *node)
{
	struct sippres__rls_node **pp = &node->children, *last = NULL;

	while (*pp) {
		struct sippres__rls_node *c = *pp;

		if (c->is_list)
			sippres__rls_prune_removed(ctx, c);
		if (!c->is_list && c->removed && !c->changed) {
			*pp = c->next;
			c->rls->nnodes--;
			sippres__rls_node_free(ctx, c);
			continue;
		}
		last = c;
		pp = &c->next;
	}
	node->last_child = last;
}

