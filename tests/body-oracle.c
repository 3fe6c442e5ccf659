/* SPDX-License-Identifier: MIT */
/* The round-trip oracle of the NOTIFY bodies: see body-oracle.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libxml2's BAD_CAST drops const */
#pragma GCC diagnostic ignored "-Wcast-qual"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "body-oracle.h"

long oracle_checks;

void oracle_put(struct oracle_buf *b, const void *d, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	if (n)
		memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = 0;
}

void oracle_str(struct oracle_buf *b, const char *s)
{
	oracle_put(b, s, strlen(s));
}

static int xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
	       (c >= 0x10000 && c <= 0x10ffff);
}

/* Append the repaired form of s[0..n) to b. */
void oracle_repair(struct oracle_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = k == 1 ? c : k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
		static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
		int ok = k > 0 && i + k <= n;

		for (size_t j = 1; ok && j < k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				ok = 0;
			else
				cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if (ok && (cp < min[k] || (cp >= 0xd800 && cp <= 0xdfff) || !xml_char(cp)))
			ok = 0;
		if (ok) {
			oracle_put(b, p + i, k);
			i += k;
		} else {
			oracle_put(b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}

/* ---- libxml2 helpers -------------------------------------------------------- */

xmlDocPtr oracle_parse(const char *data, size_t len)
{
	xmlDocPtr doc = xmlReadMemory(data, (int)len, "body.xml", NULL,
	                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		oracle_fail("libxml2 could not parse:\n%.*s", (int)(len > 4000 ? 4000 : len), data);
	return doc;
}

/* The string value of an XPath expression, or NULL when it selects nothing. */
static char *xp(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr c = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o;
	char *r = NULL;

	xmlXPathRegisterNs(c, BAD_CAST "p", BAD_CAST "urn:ietf:params:xml:ns:pidf");
	xmlXPathRegisterNs(c, BAD_CAST "dm", BAD_CAST "urn:ietf:params:xml:ns:pidf:data-model");
	xmlXPathRegisterNs(c, BAD_CAST "rpid", BAD_CAST "urn:ietf:params:xml:ns:pidf:rpid");
	xmlXPathRegisterNs(c, BAD_CAST "d", BAD_CAST "urn:ietf:params:xml:ns:dialog-info");
	o = xmlXPathEvalExpression(BAD_CAST expr, c);
	if (!o)
		oracle_fail("XPath %s did not evaluate", expr);
	if (o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0) {
		xmlChar *s = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
		r = strdup(s ? (const char *)s : "");
		xmlFree(s);
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(c);
	return r;
}


void oracle_expect(xmlDocPtr doc, const char *expr, const char *want, const struct sippres_body *b)
{
	char *got = xp(doc, expr);

	oracle_checks++;
	if (!want) {
		if (got)
			oracle_fail("%s: expected nothing, got \"%s\"\n%s", expr, got, b->data);
		return;
	}
	if (!got || strcmp(got, want) != 0)
		oracle_fail("%s: expected \"%s\" got \"%s\"\n%s", expr, want, got ? got : "(nothing)", b->data);
	free(got);
}

/* expect(repair(a) + suffix) */
static void expect_r(xmlDocPtr doc, const char *expr, const char *pre, const char *a, const char *suffix,
                     const struct sippres_body *b)
{
	struct oracle_buf s = {0};

	oracle_put(&s, "", 0);
	if (pre)
		oracle_str(&s, pre);
	oracle_repair(&s, a, strlen(a));
	if (suffix)
		oracle_str(&s, suffix);
	oracle_expect(doc, expr, s.p, b);
	free(s.p);
}

static int set(const char *s)
{
	return s && s[0];
}

static char *mangle(const char *prefix, const char *v)
{
	struct oracle_buf s = {0};

	oracle_put(&s, "", 0);
	oracle_str(&s, prefix);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		char t[4];
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		    *p == '-')
			snprintf(t, sizeof(t), "%c", *p);
		else
			snprintf(t, sizeof(t), "_%02X", *p);
		oracle_str(&s, t);
	}
	return s.p;
}

static int digium_ua(const char *ua)
{
	char *l;
	int r;

	if (!ua)
		return 0;
	l = strdup(ua);
	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	r = strstr(l, "digium") || strstr(l, "sangoma");
	free(l);
	return r;
}

/* ---- the checks per body type -------------------------------------------------- */

static void check_pidf(xmlDocPtr doc, const struct sippres_body_input *in, const struct sippres_body *b)
{
	int ast = in->profile == SIPPRES_PROFILE_ASTERISK;

	expect_r(doc, "/p:presence/@entity", NULL, in->local_uri, NULL, b);
	if (ast) {
		expect_r(doc, "/p:presence/p:tuple[1]/@id", NULL, in->exten, NULL, b);
		expect_r(doc, "/p:presence/p:tuple[1]/p:contact", NULL, in->remote_uri ? in->remote_uri : "", NULL, b);
	} else {
		char *id = mangle("t", in->exten), *pid = mangle("p", in->exten);
		oracle_expect(doc, "/p:presence/p:tuple[1]/@id", id, b);
		oracle_expect(doc, "/p:presence/dm:person/@id", pid, b);
		expect_r(doc, "/p:presence/p:tuple[1]/p:contact", NULL, in->local_uri, NULL, b);
		if (set(in->presence_subtype))
			expect_r(doc, "/p:presence/dm:person/rpid:activities/rpid:other", NULL, in->presence_subtype, NULL, b);
		else
			oracle_expect(doc, "/p:presence/dm:person/rpid:activities/rpid:other", NULL, b);
		if (set(in->presence_message))
			expect_r(doc, "/p:presence/dm:person/dm:note", NULL, in->presence_message, NULL, b);
		free(id);
		free(pid);
	}
	if (digium_ua(in->user_agent)) {
		oracle_expect(doc, "//p:digium_presence/@type", sippres_presence_state_name((int)in->presence_state), b);
		if (set(in->presence_subtype))
			expect_r(doc, "//p:digium_presence/@subtype", NULL, in->presence_subtype, NULL, b);
		else
			oracle_expect(doc, "//p:digium_presence/@subtype", NULL, b);
		expect_r(doc, "//p:digium_presence", NULL, set(in->presence_message) ? in->presence_message : "", NULL, b);
	} else {
		oracle_expect(doc, "//p:digium_presence", NULL, b);
	}
}

static void check_xpidf(xmlDocPtr doc, const struct sippres_body_input *in, const struct sippres_body *b)
{
	int ast = in->profile == SIPPRES_PROFILE_ASTERISK;

	expect_r(doc, "/presence/presentity/@uri", NULL, in->local_uri, ";method=SUBSCRIBE", b);
	expect_r(doc, "/presence/atom/@id", NULL, in->exten, NULL, b);
	expect_r(doc, "/presence/atom/address/@uri", NULL,
	         ast ? (in->remote_uri ? in->remote_uri : "") : in->local_uri, ";user=ip", b);
	{
		char *a = xp(doc, "/presence/atom/@atomid");
		if (!a || strlen(a) != 32 || strspn(a, "0123456789abcdef") != 32)
			oracle_fail("atomid '%s' is not 32 hex digits\n%s", a ? a : "(none)", b->data);
		free(a);
	}
}

static const char *domain_of(const struct sippres_body_input *in, char *buf, size_t n)
{
	const char *s, *e;

	if (set(in->domain))
		return in->domain;
	s = strchr(in->local_uri, '@');
	s = s ? s + 1 : (strchr(in->local_uri, ':') ? strchr(in->local_uri, ':') + 1 : in->local_uri);
	if (*s == '[') {
		e = strchr(s, ']');
		e = e ? e + 1 : s + strlen(s);
	} else {
		e = s + strcspn(s, ":;>?");
	}
	snprintf(buf, n, "%.*s", (int)(e - s), s);
	return buf;
}

/* The URI the generators build from a call field. */
static void party(struct oracle_buf *s, const char *v, const char *dom)
{
	if (!set(v)) {
		oracle_str(s, "sip:invalid@");
		oracle_repair(s, dom, strlen(dom));
	} else if (strchr(v, ':')) {
		oracle_repair(s, v, strlen(v));
	} else {
		oracle_str(s, "sip:");
		oracle_repair(s, v, strlen(v));
		oracle_str(s, "@");
		oracle_repair(s, dom, strlen(dom));
	}
}

static void check_party(xmlDocPtr doc, const char *where, const char *uri_field, uint32_t flags,
                        const char *display, const char *dom, int is_remote, const struct sippres_body *b)
{
	char expr[256];
	struct oracle_buf s = {0};

	oracle_put(&s, "", 0);
	if (is_remote && (flags & SIPPRES_CALL_NUMBER_RESTRICTED))
		oracle_str(&s, "sip:anonymous@anonymous.invalid");
	else
		party(&s, uri_field, dom);
	snprintf(expr, sizeof(expr), "%s/d:identity", where);
	oracle_expect(doc, expr, s.p, b);
	if (is_remote) {
		snprintf(expr, sizeof(expr), "%s/d:target/@uri", where);
		oracle_expect(doc, expr, s.p, b);
	}
	free(s.p);
	snprintf(expr, sizeof(expr), "%s/d:identity/@display", where);
	if (is_remote && (flags & SIPPRES_CALL_NAME_RESTRICTED))
		oracle_expect(doc, expr, "anonymous", b);
	else if (set(display))
		expect_r(doc, expr, NULL, display, NULL, b);
	else
		oracle_expect(doc, expr, NULL, b);
}

static void check_dialog(xmlDocPtr doc, const struct sippres_body_input *in, const struct sippres_body *b)
{
	int ast = in->profile == SIPPRES_PROFILE_ASTERISK;
	const struct sippres_call *c = in->causing_call;
	char dbuf[70000], v[16];
	const char *dom = domain_of(in, dbuf, sizeof(dbuf));

	snprintf(v, sizeof(v), "%u", in->version);
	oracle_expect(doc, "/d:dialog-info/@version", v, b);
	oracle_expect(doc, "/d:dialog-info/@state", "full", b);
	expect_r(doc, "/d:dialog-info/@entity", NULL, in->local_uri, NULL, b);
	if (ast) {
		expect_r(doc, "/d:dialog-info/d:dialog/@id", NULL, in->exten, NULL, b);
		/* the scenarios here are RINGING with the call ringing */
		if (c) {
			check_party(doc, "/d:dialog-info/d:dialog/d:remote", c->remote_uri, c->flags, c->remote_display, dom, 1, b);
			if (set(c->local_uri))
				check_party(doc, "/d:dialog-info/d:dialog/d:local", c->local_uri, 0, c->local_display, dom, 0, b);
		}
		expect_r(doc, "/d:dialog-info/d:dialog/d:local/d:target/@uri", NULL, in->local_uri, NULL, b);
	} else if (c) {
		expect_r(doc, "/d:dialog-info/d:dialog/@id", NULL, c->call_id, NULL, b);
		expect_r(doc, "/d:dialog-info/d:dialog/@call-id", NULL, c->call_id, NULL, b);
		if (set(c->local_tag))
			expect_r(doc, "/d:dialog-info/d:dialog/@local-tag", NULL, c->local_tag, NULL, b);
		else
			oracle_expect(doc, "/d:dialog-info/d:dialog/@local-tag", NULL, b);
		if (set(c->remote_tag))
			expect_r(doc, "/d:dialog-info/d:dialog/@remote-tag", NULL, c->remote_tag, NULL, b);
		if (set(c->local_uri))
			check_party(doc, "/d:dialog-info/d:dialog/d:local", c->local_uri, 0, c->local_display, dom, 0, b);
		if (set(c->remote_uri) || (c->flags & SIPPRES_CALL_NUMBER_RESTRICTED))
			check_party(doc, "/d:dialog-info/d:dialog/d:remote", c->remote_uri, c->flags, c->remote_display, dom, 1, b);
		expect_r(doc, "/d:dialog-info/d:dialog/d:local/d:target/@uri", NULL, in->local_uri, NULL, b);
	} else {
		expect_r(doc, "/d:dialog-info/d:dialog/@id", NULL, in->exten, NULL, b);
	}
}


void oracle_check_body(xmlDocPtr doc, const char *content_type, const struct sippres_body_input *in,
                       const struct sippres_body *b)
{
	if (strcmp(content_type, SIPPRES_CONTENT_TYPE_PIDF) == 0)
		check_pidf(doc, in, b);
	else if (strcmp(content_type, SIPPRES_CONTENT_TYPE_DIALOG_INFO) == 0)
		check_dialog(doc, in, b);
	else
		check_xpidf(doc, in, b);
}

int oracle_noop_supplement(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in, uint32_t hook)
{
	(void)ud;
	(void)xml;
	(void)in;
	(void)hook;
	return 0;
}
