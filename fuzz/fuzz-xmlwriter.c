/* SPDX-License-Identifier: MIT */
/* The public XML writer (sippres_xml_start/attr/text/end/supplements) driven
 * by a host generator that plays the input as a program: byte 0 picks the
 * profile, then each op byte is followed by its operands (names with a
 * 1-byte length, values with a 2-byte one, NULs and any bytes allowed):
 *   0 start NAME | 1 attr NAME VALUE | 2 text VALUE | 3 end
 *   4 supplements HOOK | 5 attr NAME VALUE as a NUL-terminated string
 * A supplement registered for the type writes at each hook (an xmlns:s
 * attribute at the root, an <s:x> element after the main children), through
 * the same recorder. The oracle: when every call succeeded the render
 * succeeds, libxml2 parses the body (SAX, no network, no DTD), and the
 * parsed elements, attributes (in order) and text are the ones written,
 * repaired as documented (tests/body-oracle.c); when a call failed, the
 * render fails. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "fuzz.h"
#include "../tests/body-oracle.h"

enum ev_kind { EV_START, EV_ATTR, EV_TEXT, EV_END };

struct ev {
	enum ev_kind kind;
	struct oracle_buf name, value;
};

struct evs {
	struct ev *v;
	size_t n, cap;
};

static struct ev *ev_add(struct evs *e, enum ev_kind kind)
{
	struct ev *x;

	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->v = realloc(e->v, e->cap * sizeof(*e->v));
		if (!e->v)
			abort();
	}
	x = &e->v[e->n++];
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	oracle_put(&x->name, "", 0);
	oracle_put(&x->value, "", 0);
	return x;
}

static void evs_free(struct evs *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].name.p);
		free(e->v[i].value.p);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

/* ---- the program and what it wrote ---------------------------------------- */

struct run {
	const uint8_t *p;
	size_t n;
	struct evs model;
	int depth;
	int failed;       /* a call returned < 0 */
	int roots;        /* root elements started */
	int empty_attr;   /* an attribute with an empty value (the asterisk format prints it bare) */
};

static struct run g;

/* Record a successful call; a failed one ends the recording. */
static int rec(int r)
{
	if (r < 0)
		g.failed = 1;
	return r;
}

static void do_start(struct sippres_xml *xml, const char *name)
{
	if (rec(sippres_xml_start(xml, name)) < 0)
		return;
	oracle_str(&ev_add(&g.model, EV_START)->name, name);
	if (g.depth++ == 0)
		g.roots++;
}

static void do_attr(struct sippres_xml *xml, const char *name, const char *v, size_t len, int nul_terminated)
{
	struct ev *e;

	if (rec(sippres_xml_attr(xml, name, v, nul_terminated ? (size_t)-1 : len)) < 0)
		return;
	e = ev_add(&g.model, EV_ATTR);
	oracle_str(&e->name, name);
	oracle_repair(&e->value, v, nul_terminated ? strlen(v) : len);
	g.empty_attr |= e->value.n == 0;
}

static void do_text(struct sippres_xml *xml, const char *v, size_t len)
{
	if (rec(sippres_xml_text(xml, v, len)) < 0 || len == 0)
		return; /* empty text writes nothing */
	if (g.model.n && g.model.v[g.model.n - 1].kind == EV_TEXT)
		oracle_repair(&g.model.v[g.model.n - 1].value, v, len);
	else
		oracle_repair(&ev_add(&g.model, EV_TEXT)->value, v, len);
}

static void do_end(struct sippres_xml *xml)
{
	if (rec(sippres_xml_end(xml)) < 0)
		return;
	ev_add(&g.model, EV_END);
	g.depth--;
}

static int supplement(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in, uint32_t hook)
{
	(void)ud;
	(void)in;
	if (hook == SIPPRES_BODY_HOOK_ROOT) {
		do_attr(xml, "xmlns:s", "urn:x-fuzz", 0, 1);
	} else if (hook == SIPPRES_BODY_HOOK_MAIN) {
		do_start(xml, "s:x");
		do_text(xml, "sup & <", 7);
		do_end(xml);
	}
	return 0;
}

static int generate(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in)
{
	(void)ud;
	(void)in;
	while (g.n && !g.failed) {
		uint8_t op = *g.p % 6;
		char name[256];
		const char *f;
		size_t len;

		g.p++;
		g.n--;
		switch (op) {
		case 0:
			f = fuzz_field(&g.p, &g.n, 1, &len);
			memcpy(name, f, len); /* a NUL in it ends the name early: the library sees a C string */
			name[len] = '\0';
			do_start(xml, name);
			break;
		case 1:
		case 5: {
			const char *v;
			char *z;

			f = fuzz_field(&g.p, &g.n, 1, &len);
			memcpy(name, f, len);
			name[len] = '\0';
			v = fuzz_field(&g.p, &g.n, 2, &len);
			if (op == 1) {
				do_attr(xml, name, v, len, 0);
				break;
			}
			z = malloc(len + 1);
			if (!z)
				abort();
			memcpy(z, v, len);
			z[len] = '\0';
			do_attr(xml, name, z, len, 1);
			free(z);
			break;
		}
		case 2:
			f = fuzz_field(&g.p, &g.n, 2, &len);
			do_text(xml, f, len);
			break;
		case 3:
			do_end(xml);
			break;
		default:
			if (g.n) {
				uint32_t hook = *g.p % 4; /* 3: not a hook (refused) */

				g.p++;
				g.n--;
				rec(sippres_xml_supplements(xml, hook));
			}
			break;
		}
	}
	while (!g.failed && g.depth > 0)
		do_end(xml);
	return 0;
}

/* ---- what libxml2 reads back (SAX1: qualified names and every attribute,
 * xmlns ones included, in document order) --------------------------------- */

struct parsed {
	struct evs ev;
	struct oracle_buf text; /* characters since the last tag */
	int errors;
	char first_error[256];
};

static void flush_text(struct parsed *ps)
{
	if (ps->text.n) {
		oracle_put(&ev_add(&ps->ev, EV_TEXT)->value, ps->text.p, ps->text.n);
		ps->text.n = 0;
		ps->text.p[0] = '\0';
	}
}

static void sax_start(void *ud, const xmlChar *name, const xmlChar **atts)
{
	struct parsed *ps = ud;

	flush_text(ps);
	oracle_str(&ev_add(&ps->ev, EV_START)->name, (const char *)name);
	for (size_t i = 0; atts && atts[i]; i += 2) {
		struct ev *e = ev_add(&ps->ev, EV_ATTR);

		oracle_str(&e->name, (const char *)atts[i]);
		oracle_str(&e->value, atts[i + 1] ? (const char *)atts[i + 1] : "");
	}
}

static void sax_end(void *ud, const xmlChar *name)
{
	struct parsed *ps = ud;

	(void)name;
	flush_text(ps);
	ev_add(&ps->ev, EV_END);
}

static void sax_chars(void *ud, const xmlChar *s, int len)
{
	oracle_put(&((struct parsed *)ud)->text, s, (size_t)len);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sax_error(void *ud, const char *msg, ...)
{
	struct parsed *ps = ud;
	va_list ap;

	if (ps->errors++)
		return;
	va_start(ap, msg);
	vsnprintf(ps->first_error, sizeof(ps->first_error), msg, ap);
	va_end(ap);
}

/* Parse with the SAX1 handler; the predefined entities and character
 * references are replaced in attribute values too (NOENT: the body has no
 * DTD, so there is no other entity to replace). */
static int sax_parse(xmlSAXHandler *sax, struct parsed *ps, const char *data, size_t len)
{
	xmlParserCtxtPtr pc = xmlCreateMemoryParserCtxt(data, (int)len);
	int ok;

	if (!pc)
		abort();
	xmlFree(pc->sax);
	pc->sax = sax;
	pc->userData = ps;
	xmlCtxtUseOptions(pc, XML_PARSE_NOENT | XML_PARSE_NONET | XML_PARSE_SAX1);
	xmlParseDocument(pc);
	ok = pc->wellFormed;
	pc->sax = NULL;
	xmlFreeParserCtxt(pc);
	return ok;
}

static int blank(const struct oracle_buf *b)
{
	return strspn(b->p, " \n") == b->n;
}

static void compare(const struct evs *m, const struct evs *p, const char *body)
{
	size_t i = 0, j = 0;

	while (i < m->n || j < p->n) {
		/* the writer's indentation between elements */
		if (j < p->n && p->v[j].kind == EV_TEXT && (i >= m->n || m->v[i].kind != EV_TEXT) && blank(&p->v[j].value)) {
			j++;
			continue;
		}
		if (i >= m->n || j >= p->n)
			oracle_fail("event %zu/%zu: %s\n%s", i, j, i >= m->n ? "more parsed than written" : "less parsed than written",
			            body);
		if (m->v[i].kind != p->v[j].kind || strcmp(m->v[i].name.p, p->v[j].name.p) != 0 ||
		    m->v[i].value.n != p->v[j].value.n || memcmp(m->v[i].value.p, p->v[j].value.p, m->v[i].value.n) != 0)
			oracle_fail("event %zu: wrote %d %s=\"%s\", parsed %d %s=\"%s\"\n%s", i, m->v[i].kind, m->v[i].name.p,
			            m->v[i].value.p, p->v[j].kind, p->v[j].name.p, p->v[j].value.p, body);
		i++;
		j++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres_body_input in = {.size = sizeof(in), .exten = "x", .local_uri = "sip:x@h"};
	struct sippres_body b = {.size = sizeof(b)};
	struct sippres_ctx *ctx;
	int r;

	if (size < 1)
		return 0;
	ctx = fuzz_ctx(NULL, NULL);
	if (!ctx)
		return 0;
	if (sippres_body_generator_register(ctx, "application/x-fuzz+xml", generate, NULL) < 0 ||
	    sippres_body_supplement_register(ctx, "application/x-fuzz+xml", "s", supplement, NULL) < 0)
		abort();
	memset(&g, 0, sizeof(g));
	g.p = data + 1;
	g.n = size - 1;
	in.profile = data[0] & 1;
	r = sippres_body_render(ctx, "application/x-fuzz+xml", &in, &b);
	if (g.failed || g.roots == 0) {
		if (r >= 0)
			oracle_fail("a writer call failed (or nothing was written) and the render succeeded");
	} else if (r < 0) {
		oracle_fail("every writer call succeeded and the render failed: %s", sippres_strerror(r));
	} else if (!(in.profile == SIPPRES_PROFILE_ASTERISK && g.empty_attr)) {
		xmlSAXHandler sax;
		struct parsed ps;

		memset(&sax, 0, sizeof(sax));
		memset(&ps, 0, sizeof(ps));
		oracle_put(&ps.text, "", 0);
		sax.startElement = sax_start;
		sax.endElement = sax_end;
		sax.characters = sax_chars;
		sax.error = sax_error;
		sax.fatalError = sax_error;
		if (strlen(b.data) != b.len)
			oracle_fail("the body has a NUL");
		if (!sax_parse(&sax, &ps, b.data, b.len) || ps.errors)
			oracle_fail("libxml2: %s\n%s", ps.first_error, b.data);
		flush_text(&ps);
		compare(&g.model, &ps.ev, b.data);
		evs_free(&ps.ev);
		free(ps.text.p);
	}
	evs_free(&g.model);
	sippres_ctx_free(ctx);
	return 0;
}
