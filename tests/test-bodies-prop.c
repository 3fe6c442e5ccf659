/* SPDX-License-Identifier: MIT */
/* Property test: random and hostile strings (quotes, angle brackets,
 * ampersands, control characters, invalid UTF-8, U+FFFE/U+FFFF, surrogates,
 * 64 KiB values) in every string field of every generator, both profiles.
 * Every output must parse with libxml2 (no network, no DTD), and every field
 * must come back from the parsed document exactly as the documented repair
 * makes it: characters XML cannot carry and bytes that are not UTF-8 become
 * U+FFFD, everything else is unchanged (the oracle, body-oracle.c, shared
 * with fuzz/fuzz-bodies.c, re-implements the repair independently of the
 * writer). A host generator also pushes (ptr, len) values with embedded NULs
 * through the public writer. */
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

#include "body-oracle.h"

void oracle_fail(const char *fmt, ...)
{
	char msg[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fail_msg("%s", msg);
	abort(); /* fail_msg does not return */
}

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
	struct oracle_buf b = {0};
	size_t len = maxlen == 65536 ? 65536 : rnd() % (maxlen + 1);

	oracle_put(&b, "", 0);
	while (b.n < len) {
		switch (rnd() % 4) {
		case 0: {
			char c = (char)(rnd() % 255 + 1); /* any byte but NUL */
			oracle_put(&b, &c, 1);
			break;
		}
		case 1: {
			char c = (char)(' ' + rnd() % 95);
			oracle_put(&b, &c, 1);
			break;
		}
		default:
			oracle_str(&b, pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))]);
			break;
		}
	}
	if (b.n == 0 && !allow_empty)
		oracle_put(&b, "x", 1);
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

/* ---- the test --------------------------------------------------------------- */

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
	assert_int_equal(sippres_body_supplement_register(general, SIPPRES_CONTENT_TYPE_PIDF, "noop", oracle_noop_supplement,
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
				doc = oracle_parse(b.data, b.len);
				oracle_check_body(doc, types[t], &in, &b);
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
	print_message("# %ld random bodies parsed, %ld field checks\n", bodies, oracle_checks);
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
		struct oracle_buf want = {0};
		xmlDocPtr doc;

		for (size_t j = 0; j < n; j++)
			buf[j] = (char)(rnd() % 8 == 0 ? 0 : rnd());
		c.v = buf;
		c.n = n;
		in.profile = SIPPRES_PROFILE_STANDARD; /* asterisk prints an empty attribute bare */
		assert_int_equal(sippres_body_render(ctx, "application/x-nul+xml", &in, &b), 0);
		doc = oracle_parse(b.data, b.len);
		oracle_put(&want, "", 0);
		oracle_repair(&want, buf, n);
		oracle_expect(doc, "/r/@a", want.p, &b);
		oracle_expect(doc, "/r/t", want.p, &b);
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
