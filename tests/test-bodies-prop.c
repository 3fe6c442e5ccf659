/* SPDX-License-Identifier: MIT */
/* Property test: random and hostile strings (quotes, angle brackets,
 * ampersands, control characters, invalid UTF-8, U+FFFE/U+FFFF, surrogates,
 * 64 KiB values) in every string field of every generator, both profiles.
 * Every output must parse with libxml2 (no network, no DTD), and every field
 * must come back from the parsed document exactly as the documented repair
 * makes it: characters XML cannot carry and bytes that are not UTF-8 become
 * U+FFFD, everything else is unchanged. The repair is re-implemented here
 * independently of the writer. A host generator also pushes (ptr, len) values
 * with embedded NULs through the public writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* libxml2's BAD_CAST drops const */
#pragma GCC diagnostic ignored "-Wcast-qual"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <libsippresence/libsippresence.h>

/* ---- a small deterministic PRNG ------------------------------------------- */
static uint64_t seed = 0x9e3779b97f4a7c15u;

static uint32_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return (uint32_t)(seed >> 11);
}

static int host_random(void *ud, uint8_t *buf, size_t len)
{
	(void)ud;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
	return 0;
}

/* ---- the reference repair -------------------------------------------------- */

struct sbuf {
	char *p;
	size_t n, cap;
};

static void sb_put(struct sbuf *b, const void *d, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = 0;
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static int xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
	       (c >= 0x10000 && c <= 0x10ffff);
}

/* Append the repaired form of s[0..n) to b. */
static void repair(struct sbuf *b, const char *s, size_t n)
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
			sb_put(b, p + i, k);
			i += k;
		} else {
			sb_put(b, "\xef\xbf\xbd", 3);
			i++;
		}
	}
}

/* ---- random hostile strings ---------------------------------------------- */

#define N_STR 24
static char *pool[N_STR];

static char *hostile(size_t maxlen, int allow_empty)
{
	static const char *const pieces[] = {
		"&", "<", ">", "\"", "'", "&amp;", "]]>", "<!--", "\r\n", "\t", "\x01", "\x1f", "\x7f",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbe", "\xef\xbf\xbf", "\xed\xa0\x80",
		"\xc0\xaf", "\xff", "\x80", "\xf4\x90\x80\x80", "sip:", "@", ";", "=", " ", "anonymous", "%00",
	};
	struct sbuf b = {0};
	size_t len = maxlen == 65536 ? 65536 : rnd() % (maxlen + 1);

	sb_put(&b, "", 0);
	while (b.n < len) {
		switch (rnd() % 4) {
		case 0: {
			char c = (char)(rnd() % 255 + 1); /* any byte but NUL */
			sb_put(&b, &c, 1);
			break;
		}
		case 1: {
			char c = (char)(' ' + rnd() % 95);
			sb_put(&b, &c, 1);
			break;
		}
		default:
			sb_str(&b, pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))]);
			break;
		}
	}
	if (b.n == 0 && !allow_empty)
		sb_put(&b, "x", 1);
	return b.p;
}

static const char *pick(int allow_null, int allow_empty)
{
	uint32_t r = rnd() % 16;

	if (allow_null && r == 0)
		return NULL;
	if (allow_empty && r == 1)
		return "";
	return pool[rnd() % N_STR];
}

static void refill_pool(unsigned round)
{
	for (int i = 0; i < N_STR; i++) {
		free(pool[i]);
		/* a few 64 KiB values every round */
		pool[i] = hostile(i == 0 && round % 8 == 0 ? 65536 : 48, 0);
	}
}

/* ---- libxml2 helpers -------------------------------------------------------- */

static xmlDocPtr parse(const char *data, size_t len)
{
	xmlDocPtr doc = xmlReadMemory(data, (int)len, "body.xml", NULL,
	                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		fail_msg("libxml2 could not parse:\n%.*s", (int)(len > 4000 ? 4000 : len), data);
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
	assert_non_null(o);
	if (o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0) {
		xmlChar *s = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
		r = strdup(s ? (const char *)s : "");
		xmlFree(s);
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(c);
	return r;
}

static long checks;

static void expect(xmlDocPtr doc, const char *expr, const char *want, const struct sippres_body *b)
{
	char *got = xp(doc, expr);

	checks++;
	if (!want) {
		if (got)
			fail_msg("%s: expected nothing, got \"%s\"\n%s", expr, got, b->data);
		return;
	}
	if (!got || strcmp(got, want) != 0)
		fail_msg("%s: expected \"%s\" got \"%s\"\n%s", expr, want, got ? got : "(nothing)", b->data);
	free(got);
}

/* expect(repair(a) + suffix) */
static void expect_r(xmlDocPtr doc, const char *expr, const char *pre, const char *a, const char *suffix,
                     const struct sippres_body *b)
{
	struct sbuf s = {0};

	sb_put(&s, "", 0);
	if (pre)
		sb_str(&s, pre);
	repair(&s, a, strlen(a));
	if (suffix)
		sb_str(&s, suffix);
	expect(doc, expr, s.p, b);
	free(s.p);
}

static int set(const char *s)
{
	return s && s[0];
}

static char *mangle(const char *prefix, const char *v)
{
	struct sbuf s = {0};

	sb_put(&s, "", 0);
	sb_str(&s, prefix);
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		char t[4];
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		    *p == '-')
			snprintf(t, sizeof(t), "%c", *p);
		else
			snprintf(t, sizeof(t), "_%02X", *p);
		sb_str(&s, t);
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
		expect(doc, "/p:presence/p:tuple[1]/@id", id, b);
		expect(doc, "/p:presence/dm:person/@id", pid, b);
		expect_r(doc, "/p:presence/p:tuple[1]/p:contact", NULL, in->local_uri, NULL, b);
		if (set(in->presence_subtype))
			expect_r(doc, "/p:presence/dm:person/rpid:activities/rpid:other", NULL, in->presence_subtype, NULL, b);
		else
			expect(doc, "/p:presence/dm:person/rpid:activities/rpid:other", NULL, b);
		if (set(in->presence_message))
			expect_r(doc, "/p:presence/dm:person/dm:note", NULL, in->presence_message, NULL, b);
		free(id);
		free(pid);
	}
	if (digium_ua(in->user_agent)) {
		expect(doc, "//p:digium_presence/@type", sippres_presence_state_name((int)in->presence_state), b);
		if (set(in->presence_subtype))
			expect_r(doc, "//p:digium_presence/@subtype", NULL, in->presence_subtype, NULL, b);
		else
			expect(doc, "//p:digium_presence/@subtype", NULL, b);
		expect_r(doc, "//p:digium_presence", NULL, set(in->presence_message) ? in->presence_message : "", NULL, b);
	} else {
		expect(doc, "//p:digium_presence", NULL, b);
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
		assert_non_null(a);
		assert_int_equal(strlen(a), 32);
		assert_int_equal(strspn(a, "0123456789abcdef"), 32);
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
static void party(struct sbuf *s, const char *v, const char *dom)
{
	if (!set(v)) {
		sb_str(s, "sip:invalid@");
		repair(s, dom, strlen(dom));
	} else if (strchr(v, ':')) {
		repair(s, v, strlen(v));
	} else {
		sb_str(s, "sip:");
		repair(s, v, strlen(v));
		sb_str(s, "@");
		repair(s, dom, strlen(dom));
	}
}

static void check_party(xmlDocPtr doc, const char *where, const char *uri_field, uint32_t flags,
                        const char *display, const char *dom, int is_remote, const struct sippres_body *b)
{
	char expr[256];
	struct sbuf s = {0};

	sb_put(&s, "", 0);
	if (is_remote && (flags & SIPPRES_CALL_NUMBER_RESTRICTED))
		sb_str(&s, "sip:anonymous@anonymous.invalid");
	else
		party(&s, uri_field, dom);
	snprintf(expr, sizeof(expr), "%s/d:identity", where);
	expect(doc, expr, s.p, b);
	if (is_remote) {
		snprintf(expr, sizeof(expr), "%s/d:target/@uri", where);
		expect(doc, expr, s.p, b);
	}
	free(s.p);
	snprintf(expr, sizeof(expr), "%s/d:identity/@display", where);
	if (is_remote && (flags & SIPPRES_CALL_NAME_RESTRICTED))
		expect(doc, expr, "anonymous", b);
	else if (set(display))
		expect_r(doc, expr, NULL, display, NULL, b);
	else
		expect(doc, expr, NULL, b);
}

static void check_dialog(xmlDocPtr doc, const struct sippres_body_input *in, const struct sippres_body *b)
{
	int ast = in->profile == SIPPRES_PROFILE_ASTERISK;
	const struct sippres_call *c = in->causing_call;
	char dbuf[70000], v[16];
	const char *dom = domain_of(in, dbuf, sizeof(dbuf));

	snprintf(v, sizeof(v), "%u", in->version);
	expect(doc, "/d:dialog-info/@version", v, b);
	expect(doc, "/d:dialog-info/@state", "full", b);
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
			expect(doc, "/d:dialog-info/d:dialog/@local-tag", NULL, b);
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

/* ---- the test --------------------------------------------------------------- */

/* A host supplement that writes nothing: with it registered the built-in
 * PIDF generator cannot take its direct path (which writes the built-in
 * supplements' parts itself) and goes through the hooks. */
static int noop_supplement(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in, uint32_t hook)
{
	(void)ud;
	(void)xml;
	(void)in;
	(void)hook;
	return 0;
}

static void test_generators(void **state)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .random = host_random};
	struct sippres_ctx *ctx;
	static const char *const types[] = {SIPPRES_CONTENT_TYPE_PIDF, SIPPRES_CONTENT_TYPE_XPIDF,
	                                    SIPPRES_CONTENT_TYPE_CPIM_PIDF, SIPPRES_CONTENT_TYPE_DIALOG_INFO};
	struct sippres_ctx *general;
	long bodies = 0;

	(void)state;
	assert_int_equal(sippres_ctx_new(NULL, &cb, NULL, &ctx), 0);
	assert_int_equal(sippres_ctx_new(NULL, &cb, NULL, &general), 0);
	assert_int_equal(sippres_body_supplement_register(general, SIPPRES_CONTENT_TYPE_PIDF, "noop", noop_supplement,
	                                                  NULL),
	                 0);
	for (unsigned round = 0; round < 400; round++) {
		refill_pool(round);
		for (int k = 0; k < 8; k++) {
			struct sippres_call call;
			struct sippres_device_info dev;
			struct sippres_body_input in;

			memset(&call, 0, sizeof(call));
			call.size = sizeof(call);
			call.call_id = pick(0, 0);
			call.local_tag = pick(1, 1);
			call.remote_tag = pick(1, 1);
			call.state = SIPPRES_CALL_EARLY;
			call.direction = SIPPRES_DIRECTION_RECIPIENT;
			call.flags = rnd() % 4;
			call.local_uri = pick(1, 1);
			call.local_display = pick(1, 1);
			call.remote_uri = pick(1, 1);
			call.remote_display = pick(1, 1);
			dev.name = "PJSIP/x";
			dev.state = SIPPRES_DEVICE_RINGING;
			dev.causing_call = rnd() % 4 ? &call : NULL;

			memset(&in, 0, sizeof(in));
			in.size = sizeof(in);
			in.profile = rnd() % 2;
			in.flags = rnd() % 8;
			in.exten = pick(0, 0);
			in.local_uri = pick(0, 0);
			in.remote_uri = pick(1, 1);
			in.domain = pick(1, 1);
			in.user_agent = rnd() % 3 ? pick(1, 1) : "Digium D65";
			in.exten_state = SIPPRES_EXTEN_RINGING;
			in.presence_state = rnd() % 7;
			in.presence_subtype = pick(1, 1);
			in.presence_message = pick(1, 1);
			in.devices = &dev;
			in.n_devices = 1;
			in.causing_call = dev.causing_call;
			in.version = rnd();

			for (size_t t = 0; t < 4; t++) {
				struct sippres_body b = {.size = sizeof(b)};
				xmlDocPtr doc;

				assert_int_equal(sippres_body_render(ctx, types[t], &in, &b), 0);
				assert_int_equal(strlen(b.data), b.len);
				if (t == 0) {
					/* the direct path writes what the general path writes */
					struct sippres_body g = {.size = sizeof(g)};
					assert_int_equal(sippres_body_render(general, types[t], &in, &g), 0);
					assert_int_equal(g.len, b.len);
					assert_memory_equal(g.data, b.data, b.len);
				}
				doc = parse(b.data, b.len);
				if (t == 0)
					check_pidf(doc, &in, &b);
				else if (t == 3)
					check_dialog(doc, &in, &b);
				else
					check_xpidf(doc, &in, &b);
				xmlFreeDoc(doc);
				bodies++;
			}
			/* empty required fields are refused, never rendered */
			{
				struct sippres_body b = {.size = sizeof(b)};
				struct sippres_body_input bad = in;
				bad.exten = "";
				assert_int_equal(sippres_body_render(ctx, types[rnd() % 4], &bad, &b), SIPPRES_E_INVAL);
			}
		}
	}
	print_message("# %ld random bodies parsed, %ld field checks\n", bodies, checks);
	sippres_ctx_free(ctx);
	sippres_ctx_free(general);
}

/* Values with embedded NULs through the public writer of a host generator. */
struct nul_case {
	const char *v;
	size_t n;
};

static int nul_gen(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in)
{
	const struct nul_case *c = ud;

	(void)in;
	sippres_xml_start(xml, "r");
	sippres_xml_attr(xml, "a", c->v, c->n);
	sippres_xml_start(xml, "t");
	sippres_xml_text(xml, c->v, c->n);
	sippres_xml_end(xml);
	return sippres_xml_end(xml);
}

static void test_public_writer_nul(void **state)
{
	struct sippres_ctx *ctx;
	struct nul_case c;
	struct sippres_body_input in;

	(void)state;
	assert_int_equal(sippres_ctx_new(NULL, NULL, NULL, &ctx), 0);
	assert_int_equal(sippres_body_generator_register(ctx, "application/x-nul+xml", nul_gen, &c), 0);
	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	in.exten = "x";
	in.local_uri = "sip:x@y";
	for (int i = 0; i < 3000; i++) {
		char buf[200];
		size_t n = rnd() % sizeof(buf);
		struct sippres_body b = {.size = sizeof(b)};
		struct sbuf want = {0};
		xmlDocPtr doc;

		for (size_t j = 0; j < n; j++)
			buf[j] = (char)(rnd() % 8 == 0 ? 0 : rnd());
		c.v = buf;
		c.n = n;
		in.profile = SIPPRES_PROFILE_STANDARD; /* asterisk prints an empty attribute bare */
		assert_int_equal(sippres_body_render(ctx, "application/x-nul+xml", &in, &b), 0);
		doc = parse(b.data, b.len);
		sb_put(&want, "", 0);
		repair(&want, buf, n);
		expect(doc, "/r/@a", want.p, &b);
		expect(doc, "/r/t", want.p, &b);
		xmlFreeDoc(doc);
		free(want.p);
	}
	sippres_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generators),
		cmocka_unit_test(test_public_writer_nul),
	};
	int r;

	xmlInitParser();
	r = cmocka_run_group_tests(tests, NULL, NULL);
	for (int i = 0; i < N_STR; i++)
		free(pool[i]);
	return r;
}
