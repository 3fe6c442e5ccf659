/* SPDX-License-Identifier: MIT */
/* The hardened libxml2 loader of the PUBLISH XML bodies, with the same rules
 * as the RFC 4826 loader (lib/lists/lists-xml.c): no network (NONET), no DTD
 * loading, no entity substitution (no NOENT), libxml2's own messages off
 * (NOERROR|NOWARNING) and the last error passed to the log sink, 1 MiB at
 * most. Stricter in three ways: a DOCTYPE stops the parser from its SAX
 * callback, before any entity declaration is read (so neither an external
 * entity nor a billion-laughs cascade is ever looked at), the element
 * nesting is bounded, and the body must be UTF-8 (an encoding declaration is
 * not honoured). An allocation failure inside libxml2 is reported as
 * SIPPRES_E_NOMEM where libxml2 tells (lib/core/xml.c). libxml2 allocates
 * through its own global allocator. */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "publish/publish-private.h"

/* The whole body is UTF-8 without NUL (a UTF-8 BOM is fine). With no NUL
 * byte and no byte that cannot start UTF-8, libxml2's detection from the
 * first bytes finds neither UTF-16, UCS-4 nor EBCDIC. */
static bool utf8(const char *body, size_t len, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)body;

	for (size_t i = 0; i < len;) {
		size_t k = u[i] == 0 ? 0 : u[i] < 0x80 ? 1 : sippres__utf8_seq_len(u + i, len - i);

		if (k == 0) {
			*bad = i;
			return false;
		}
		i += k;
	}
	return true;
}

static bool too_deep(const xmlNode *n, size_t depth)
{
	for (; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (depth > SIPPRES__PUBLISH_MAX_XML_DEPTH || too_deep(n->children, depth + 1))
			return true;
	}
	return false;
}

int sippres__publish_xml_load(struct sippres_ctx *ctx, const char *body, size_t len, const char *ns, const char *name,
                              xmlDoc **out)
{
	xmlParserCtxtPtr pc;
	xmlDocPtr doc;
	struct sippres__xml_seen seen = {0};
	xmlErrorPtr e;
	size_t bad;
	bool nomem;

	*out = NULL;
	if (len > SIPPRES__PUBLISH_MAX_XML) {
		sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: XML body of %zu bytes is over 1 MiB", len);
		return SIPPRES_E_TOOBIG;
	}
	if (!body || len == 0)
		return SIPPRES_E_PARSE;
	/* Bodies are read as UTF-8 whatever their declaration says (IGNORE_ENC):
	 * every peer sends UTF-8, and libxml2 reports a failed conversion from
	 * another encoding only to its global handler (stderr), never to us. */
	if (!utf8(body, len, &bad)) {
		sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: XML body is not UTF-8 (byte %zu)", bad);
		return SIPPRES_E_PARSE;
	}
	pc = xmlNewParserCtxt();
	if (!pc)
		return SIPPRES_E_NOMEM;
	pc->sax->internalSubset = sippres__xml_refuse_doctype;
	pc->sax->serror = sippres__xml_on_error;
	pc->_private = &seen;
	/* (naming "UTF-8" here instead makes libxml2 2.9.14 switch encodings,
	 * which crashes it when an allocation fails there) */
	doc = xmlCtxtReadMemory(pc, body, (int)len, NULL, NULL,
	                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
	                                XML_PARSE_IGNORE_ENC);
	e = xmlCtxtGetLastError(pc);
	nomem = sippres__xml_nomem(pc, &seen, doc);
	/* libxml2 2.9 goes on after some failed allocations and still returns a
	 * document: never trust one after an allocation failure. One it reports
	 * to nobody but its global handler: xmlNewNs losing a declaration, which
	 * then shows as an undeclared prefix, a namespace error; documents with
	 * namespace errors are refused (not namespace-well-formed), so such a
	 * failure ends as SIPPRES_E_PARSE, never as a wrong document. */
	if (seen.doctype || !doc || !xmlDocGetRootElement(doc) || doc->intSubset || doc->extSubset || nomem ||
	    !pc->nsWellFormed || seen.ns_error) {
		int r = SIPPRES_E_PARSE;

		if (seen.doctype || (doc && (doc->intSubset || doc->extSubset))) {
			sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: documents with a DOCTYPE are refused");
		} else if (nomem) {
			r = SIPPRES_E_NOMEM;
		} else {
			char msg[200];

			snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed XML");
			msg[strcspn(msg, "\n")] = '\0';
			sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: line %d: %s", e ? e->line : 0, msg);
		}
		xmlFreeDoc(doc);
		pc->_private = NULL;
		xmlFreeParserCtxt(pc);
		return r;
	}
	pc->_private = NULL;
	xmlFreeParserCtxt(pc);
	if (too_deep(xmlDocGetRootElement(doc), 1)) {
		sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: elements nested deeper than %d levels",
		             SIPPRES__PUBLISH_MAX_XML_DEPTH);
		xmlFreeDoc(doc);
		return SIPPRES_E_TOOBIG;
	}
	if (!sippres__publish_xml_is(xmlDocGetRootElement(doc), ns, name)) {
		sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: the root is not {%s}%s", ns, name);
		xmlFreeDoc(doc);
		return SIPPRES_E_PARSE;
	}
	*out = doc;
	return 0;
}

bool sippres__publish_xml_is(const xmlNode *n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0 &&
	       strcmp((const char *)n->name, name) == 0;
}

const char *sippres__publish_xml_attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		if (a->ns || strcmp((const char *)a->name, name) != 0)
			continue;
		/* without entity substitution libxml2 still decodes the predefined
		 * entities and character references of a value into one text node */
		if (!a->children)
			return "";
		return a->children->type == XML_TEXT_NODE && a->children->content ? (const char *)a->children->content
		                                                                    : NULL;
	}
	return NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Append s[0..n) collapsed to b (cap bytes, *len used); *pending: a space is owed. */
static void collapse(char *b, size_t *len, const char *s, size_t n, bool *pending)
{
	for (size_t i = 0; i < n; i++) {
		if (is_space(s[i])) {
			*pending = *len > 0;
			continue;
		}
		if (*pending)
			b[(*len)++] = ' ';
		*pending = false;
		b[(*len)++] = s[i];
	}
}

static int finish(struct sippres_ctx *ctx, char *b, size_t len, size_t max, char **out)
{
	size_t bad;

	b[len] = '\0';
	if (len > max) {
		sippres__free(ctx, b);
		return SIPPRES_E_TOOBIG;
	}
	if (!sippres__text_ok(b, len, &bad)) {
		sippres__free(ctx, b);
		return SIPPRES_E_PARSE;
	}
	*out = b;
	return 0;
}

int sippres__publish_xml_text(struct sippres_ctx *ctx, const xmlNode *n, size_t max, char **out)
{
	size_t total = 0, len = 0;
	bool pending = false;
	char *b;

	*out = NULL;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE && c->content)
			total += strlen((const char *)c->content);
	}
	b = sippres__malloc(ctx, total + 1);
	if (!b)
		return SIPPRES_E_NOMEM;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE && c->content)
			collapse(b, &len, (const char *)c->content, strlen((const char *)c->content), &pending);
	}
	return finish(ctx, b, len, max, out);
}

int sippres__publish_str(struct sippres_ctx *ctx, const char *s, size_t max, char **out)
{
	size_t n, len = 0;
	bool pending = false;
	char *b;

	*out = NULL;
	if (!s)
		return 0;
	n = strlen(s);
	b = sippres__malloc(ctx, n + 1);
	if (!b)
		return SIPPRES_E_NOMEM;
	collapse(b, &len, s, n, &pending);
	return finish(ctx, b, len, max, out);
}
