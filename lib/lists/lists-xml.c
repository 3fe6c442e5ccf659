/* SPDX-License-Identifier: MIT */
/* RFC 4826 list documents (rls-services and resource-lists) into list
 * definitions. libxml2 parses without network access, without loading a DTD
 * and without expanding entities; a document with a DOCTYPE is refused (the
 * parser stops at it). An allocation that fails inside libxml2 is
 * SIPPRES_E_NOMEM (lib/core/xml.c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "lists-private.h"

#define MAX_DOC (1024 * 1024)
#define MAX_DEPTH 10
#define MAX_LISTS 10000

#define NS_RL "urn:ietf:params:xml:ns:resource-lists"
#define NS_RLS "urn:ietf:params:xml:ns:rls-services"

struct pending {
	char *name;
	char **items;
	size_t n, cap;
	const char *event;
};

struct loader {
	struct sippres_ctx *ctx;
	struct sippres_diag *diag;
	struct pending *lists;
	size_t n, cap;
	struct sippres__set names; /* of lists[].name */
	int err;
};

static bool is(const xmlNode *n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(struct loader *l, const xmlNode *n, int err, const char *fmt, ...)
{
	if (!l->err) {
		char msg[200];
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		sippres__diag(l->diag, n ? (uint32_t)xmlGetLineNo(n) : 0, 0, "%s", msg);
		l->err = err;
	}
	return l->err;
}

/* An attribute (no namespace): its value for xmlFree, or NULL when the
 * element has none (*nomem false) or libxml2 could not copy it. */
static xmlChar *attr(struct loader *l, const xmlNode *n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);

	if (!v && xmlHasNsProp(n, (const xmlChar *)name, NULL))
		fail(l, n, SIPPRES_E_NOMEM, "out of memory");
	return v;
}

/* "sip:alice@example.com;x" -> "alice"; "sip:alice" -> "alice". NULL when
 * there is no user part (what: the problem) or no memory (a failure). */
static char *uri_user(struct loader *l, const xmlNode *n, const char *uri, const char *what)
{
	const char *p = strchr(uri, ':'), *end;
	char *u;

	p = p ? p + 1 : uri;
	end = p + strcspn(p, "@;?>");
	if (end == p) {
		fail(l, n, SIPPRES_E_PARSE, "%s", what);
		return NULL;
	}
	u = sippres__strndup(l->ctx, p, (size_t)(end - p));
	if (!u)
		fail(l, n, SIPPRES_E_NOMEM, "out of memory");
	return u;
}

static struct pending *new_list(struct loader *l, const xmlNode *n, const char *name, const char *event)
{
	struct pending *p;

	if (!name || !sippres__name_ok(name)) {
		fail(l, n, SIPPRES_E_PARSE, "a list needs a valid name");
		return NULL;
	}
	if (sippres__set_find(&l->names, name, NULL)) {
		fail(l, n, SIPPRES_E_PARSE, "list '%s' is defined twice", name);
		return NULL;
	}
	if (l->n >= MAX_LISTS) {
		fail(l, n, SIPPRES_E_TOOBIG, "too many lists");
		return NULL;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct pending *v = sippres__reallocarray(l->ctx, l->lists, cap, sizeof(*v));
		if (!v) {
			fail(l, n, SIPPRES_E_NOMEM, "out of memory");
			return NULL;
		}
		l->lists = v;
		l->cap = cap;
	}
	p = &l->lists[l->n];
	memset(p, 0, sizeof(*p));
	p->name = sippres__strdup(l->ctx, name);
	if (!p->name || sippres__set_add(l->ctx, &l->names, p->name, l->n, NULL) < 0) {
		sippres__free(l->ctx, p->name);
		fail(l, n, SIPPRES_E_NOMEM, "out of memory");
		return NULL;
	}
	p->event = event;
	l->n++;
	return p;
}

static int add_item(struct loader *l, size_t li, const xmlNode *n, char *item)
{
	struct pending *p = &l->lists[li];

	if (!item)
		return fail(l, n, SIPPRES_E_NOMEM, "out of memory");
	if (!sippres__name_ok(item)) {
		sippres__free(l->ctx, item);
		return fail(l, n, SIPPRES_E_PARSE, "an entry has no usable user part");
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		char **v = sippres__reallocarray(l->ctx, p->items, cap, sizeof(*v));
		if (!v) {
			sippres__free(l->ctx, item);
			return fail(l, n, SIPPRES_E_NOMEM, "out of memory");
		}
		p->items = v;
		p->cap = cap;
	}
	p->items[p->n++] = item;
	return 0;
}

/* A <list> element (resource-lists namespace) and its nested lists. */
static int walk_list(struct loader *l, const xmlNode *list, const char *name, const char *event, int depth)
{
	struct pending *p;
	size_t li;

	if (depth > MAX_DEPTH)
		return fail(l, list, SIPPRES_E_TOOBIG, "lists nested deeper than 10 levels");
	p = new_list(l, list, name, event);
	if (!p)
		return l->err;
	li = (size_t)(p - l->lists);
	for (const xmlNode *c = list->children; c && !l->err; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, NS_RL, "entry")) {
			xmlChar *uri = attr(l, c, "uri");

			if (!uri)
				return fail(l, c, SIPPRES_E_PARSE, "<entry> without uri");
			char *user = uri_user(l, c, (const char *)uri, "an entry has no usable user part");

			xmlFree(uri);
			if (!user)
				return l->err;
			add_item(l, li, c, user);
		} else if (is(c, NS_RL, "list")) {
			xmlChar *sub = attr(l, c, "name");
			char *copy = sub ? sippres__strdup(l->ctx, (const char *)sub) : NULL;

			if (!sub) {
				return fail(l, c, SIPPRES_E_PARSE, "a nested <list> needs a name attribute");
			}
			xmlFree(sub);
			if (!copy)
				return fail(l, c, SIPPRES_E_NOMEM, "out of memory");
			if (add_item(l, li, c, sippres__strdup(l->ctx, copy)) == 0)
				walk_list(l, c, copy, event, depth + 1);
			sippres__free(l->ctx, copy);
		} else if (is(c, NS_RL, "entry-ref") || is(c, NS_RL, "external")) {
			return fail(l, c, SIPPRES_E_PARSE, "<%s> references are not supported", (const char *)c->name);
		}
		/* display-name and extensions are ignored */
	}
	return l->err;
}

static const char *service_event(const xmlNode *svc)
{
	for (const xmlNode *c = svc->children; c; c = c->next) {
		if (!is(c, NS_RLS, "packages"))
			continue;
		for (const xmlNode *p = c->children; p; p = p->next) {
			if (is(p, NS_RLS, "package") && p->children && p->children->content) {
				const char *t = (const char *)p->children->content;
				if (strcmp(t, "presence") == 0)
					return "presence";
				if (strcmp(t, "dialog") == 0)
					return "dialog";
			}
		}
	}
	return "presence";
}

static void loader_free(struct loader *l)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t k = 0; k < l->lists[i].n; k++)
			sippres__free(l->ctx, l->lists[i].items[k]);
		sippres__free(l->ctx, l->lists[i].items);
		sippres__free(l->ctx, l->lists[i].name);
	}
	sippres__free(l->ctx, l->lists);
	sippres__set_fini(l->ctx, &l->names);
}

SIPPRES_EXPORT int sippres_list_load_xml(struct sippres_ctx *ctx, const char *xml, size_t len, const char *event,
                                         struct sippres_diag *diag)
{
	struct loader l = {.ctx = ctx, .diag = diag};
	struct sippres__xml_seen seen = {0};
	xmlParserCtxtPtr pc;
	xmlErrorPtr e;
	xmlDocPtr doc;
	xmlNodePtr root;
	int r = 0;

	sippres__diag_clear(diag);
	if (!ctx || !xml)
		return SIPPRES_E_INVAL;
	sippres__set_init(ctx, &l.names, true);
	if (event && sippres__event_parse(event) < 0)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	if (len > MAX_DOC) {
		sippres__diag(diag, 0, 0, "document larger than 1 MiB");
		return SIPPRES_E_TOOBIG;
	}
	pc = xmlNewParserCtxt();
	if (!pc) {
		sippres__diag(diag, 0, 0, "out of memory");
		return SIPPRES_E_NOMEM;
	}
	pc->sax->internalSubset = sippres__xml_refuse_doctype;
	pc->sax->serror = sippres__xml_on_error;
	pc->_private = &seen;
	doc = xmlCtxtReadMemory(pc, xml, (int)len, NULL, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	e = xmlCtxtGetLastError(pc);
	/* libxml2 2.9 goes on after some failed allocations and may still return
	 * a document: never trust one after an allocation failure */
	if (sippres__xml_nomem(pc, &seen, doc)) {
		xmlFreeDoc(doc);
		pc->_private = NULL;
		xmlFreeParserCtxt(pc);
		sippres__diag(diag, 0, 0, "out of memory");
		return SIPPRES_E_NOMEM;
	}
	/* a namespace error (an undeclared prefix...) refuses the document: its
	 * elements would not be the ones it means (libxml2 2.9 also loses a
	 * declaration it fails to copy that way) */
	if (!doc || seen.doctype || !pc->nsWellFormed || seen.ns_error) {
		char msg[200];

		snprintf(msg, sizeof(msg), "%s%s", doc && !seen.doctype ? "namespace error: " : "",
		         seen.doctype ? "documents with a DOCTYPE are refused"
		         : e && e->message ? e->message : "not well-formed XML");
		msg[strcspn(msg, "\n")] = '\0';
		sippres__diag(diag, e ? (uint32_t)e->line : 0, e ? (uint32_t)e->int2 : 0, "%s", msg);
		xmlFreeDoc(doc);
		pc->_private = NULL;
		xmlFreeParserCtxt(pc);
		return SIPPRES_E_PARSE;
	}
	pc->_private = NULL;
	root = xmlDocGetRootElement(doc);
	if (doc->intSubset || doc->extSubset) {
		fail(&l, NULL, SIPPRES_E_PARSE, "documents with a DOCTYPE are refused");
	} else if (root && is(root, NS_RLS, "rls-services")) {
		for (xmlNodePtr svc = root->children; svc && !l.err; svc = svc->next) {
			xmlChar *uri;
			char *name;
			bool found = false;

			if (!is(svc, NS_RLS, "service"))
				continue;
			uri = attr(&l, svc, "uri");
			if (!uri) {
				fail(&l, svc, SIPPRES_E_PARSE, "<service> without uri");
				break;
			}
			name = uri_user(&l, svc, (const char *)uri, "<service> uri has no user part");
			xmlFree(uri);
			if (!name)
				break;
			for (xmlNodePtr c = svc->children; c && !l.err; c = c->next) {
				if (is(c, NS_RLS, "list")) {
					found = true;
					walk_list(&l, c, name, service_event(svc), 0);
				} else if (is(c, NS_RLS, "resource-list")) {
					fail(&l, c, SIPPRES_E_PARSE, "<resource-list> references are not supported");
				}
			}
			if (!found && !l.err)
				fail(&l, svc, SIPPRES_E_PARSE, "<service> for '%s' has no <list>", name);
			sippres__free(ctx, name);
		}
	} else if (root && is(root, NS_RL, "resource-lists")) {
		for (xmlNodePtr c = root->children; c && !l.err; c = c->next) {
			xmlChar *name;

			if (!is(c, NS_RL, "list"))
				continue;
			name = attr(&l, c, "name");
			if (!name) {
				fail(&l, c, SIPPRES_E_PARSE, "a top-level <list> needs a name attribute");
				break;
			}
			walk_list(&l, c, (const char *)name, event ? event : "presence", 0);
			xmlFree(name);
		}
	} else {
		fail(&l, root, SIPPRES_E_PARSE, "not an rls-services or resource-lists document");
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(pc);
	for (size_t i = 0; i < l.n && !l.err; i++) {
		if (l.lists[i].n == 0)
			fail(&l, NULL, SIPPRES_E_PARSE, "list '%s' has no entries", l.lists[i].name);
	}
	if (!l.err) {
		for (size_t i = 0; i < l.n; i++) {
			struct sippres_list def = {.size = sizeof(def), .name = l.lists[i].name, .event = l.lists[i].event,
			                           .items = (const char *const *)l.lists[i].items, .n_items = l.lists[i].n};
			r = sippres_list_set(ctx, &def);
			if (r < 0) {
				sippres__diag(diag, 0, 0, "list '%s': %s", l.lists[i].name, sippres_strerror(r));
				break;
			}
		}
	}
	if (l.err)
		r = l.err;
	else if (r >= 0)
		r = (int)l.n;
	loader_free(&l);
	return r;
}
