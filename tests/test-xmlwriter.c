/* SPDX-License-Identifier: MIT */
/* The XML writer on its own: both formattings, every escape, UTF-8 repair,
 * structural errors, limits, and the public sippres_xml_* wrappers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bodies/bodies-private.h"

static struct sippres_ctx *ctx;

static int setup(void **state)
{
	(void)state;
	return sippres_ctx_new(NULL, NULL, NULL, &ctx);
}

static int teardown(void **state)
{
	(void)state;
	sippres_ctx_free(ctx);
	return 0;
}

static void w_init(struct sippres_xml *w, uint32_t format)
{
	memset(w, 0, sizeof(*w));
	w->ctx = ctx;
	sippres__xml_reset(w, format);
}

static const char *w_str(struct sippres_xml *w)
{
	assert_int_equal(w->err, 0);
	assert_true(sippres__xml_reserve(w, 1));
	w->buf[w->len] = 0;
	return w->buf;
}

/* The same small document in both formattings. */
static void build(struct sippres_xml *w)
{
	sippres__xml_prolog(w);
	sippres__xml_start_lit(w, "root");
	sippres__xml_attr_str(w, "a", "1");
	sippres__xml_attr_str(w, "empty", "");
	sippres__xml_start_lit(w, "leaf");
	sippres__xml_end(w);
	sippres__xml_start_lit(w, "txt");
	sippres__xml_text(w, "hi", 2);
	sippres__xml_end(w);
	sippres__xml_start_lit(w, "emptytext");
	sippres__xml_text(w, "", 0);
	sippres__xml_end(w);
	sippres__xml_start_lit(w, "p");
	sippres__xml_start_lit(w, "q");
	sippres__xml_start_lit(w, "r");
	sippres__xml_attr_str(w, "x", "y");
	sippres__xml_end(w);
	sippres__xml_end(w);
	sippres__xml_end(w);
	sippres__xml_end(w);
}

static void test_formats(void **state)
{
	struct sippres_xml w;

	(void)state;
	w_init(&w, SIPPRES__XML_ASTERISK);
	build(&w);
	assert_string_equal(w_str(&w), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                               "<root a=\"1\" empty>\n"
	                               " <leaf />\n"
	                               " <txt>hi</txt>\n"
	                               " <emptytext />\n"
	                               " <p>\n"
	                               "  <q>\n"
	                               "   <r x=\"y\" />\n"
	                               "  </q>\n"
	                               " </p>\n"
	                               "</root>\n");
	assert_true(w.root_done);
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	build(&w);
	assert_string_equal(w_str(&w), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                               "<root a=\"1\" empty=\"\">\n"
	                               "  <leaf/>\n"
	                               "  <txt>hi</txt>\n"
	                               "  <emptytext/>\n"
	                               "  <p>\n"
	                               "    <q>\n"
	                               "      <r x=\"y\"/>\n"
	                               "    </q>\n"
	                               "  </p>\n"
	                               "</root>\n");
	/* the prolog line is exactly Asterisk's 39 bytes */
	assert_int_equal(strlen("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), 39);
	sippres__xml_release(&w);
}

static void check_escape(const char *in, size_t n, bool attr, const char *want)
{
	char out[1024];
	size_t len;

	assert_true(6 * n < sizeof(out));
	len = sippres__xml_escape(out, in, n, attr);
	out[len] = 0;
	assert_int_equal(len, strlen(want));
	assert_string_equal(out, want);
}

#define ESC(lit, attr, want) check_escape((lit), sizeof(lit) - 1, (attr), (want))

static void test_escape(void **state)
{
	(void)state;
	ESC("plain sip:1000@x;a=b", false, "plain sip:1000@x;a=b");
	ESC("&<>\"'", false, "&amp;&lt;&gt;&quot;&apos;");
	ESC("&<>\"'", true, "&amp;&lt;&gt;&quot;&apos;");
	ESC("a\r\nb\tc", false, "a&#13;&#10;b\tc");
	ESC("a\r\nb\tc", true, "a&#13;&#10;b&#9;c");
	/* NUL and the other C0 controls XML forbids become U+FFFD; DEL is allowed */
	ESC("\x00\x01\x08\x0b\x0c\x0e\x1f\x7f", false,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\x7f");
	/* valid UTF-8 of every length passes */
	ESC("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbd", false,
	    "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbd");
	/* U+FFFE / U+FFFF are not XML characters; U+FFFD is */
	ESC("\xef\xbf\xbe|\xef\xbf\xbf", false, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* invalid UTF-8: each byte that does not start a valid sequence becomes U+FFFD */
	ESC("\x80", false, "\xef\xbf\xbd");
	ESC("\xff", false, "\xef\xbf\xbd");
	ESC("\xc0\xaf", false, "\xef\xbf\xbd\xef\xbf\xbd");                 /* overlong */
	ESC("\xe0\x80\xaf", false, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* overlong */
	ESC("\xed\xa0\x80", false, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	ESC("\xf4\x90\x80\x80", false, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* > U+10FFFF */
	ESC("\xc3", false, "\xef\xbf\xbd");                                 /* truncated */
	ESC("\xe2\x82", false, "\xef\xbf\xbd\xef\xbf\xbd");
	ESC("a\xc3" "b", false, "a\xef\xbf\xbd" "b");
	/* the worst case stays within 6 bytes per input byte */
	ESC("\"\"\"", true, "&quot;&quot;&quot;");
}

/* The escaper scans clean runs in blocks (16 or 8 bytes): every length and
 * every position of a byte that needs attention, at and around the block
 * edges, gives what escaping token by token gives. */
static void test_escape_blocks(void **state)
{
	static const struct {
		const char *in, *text, *attr;
	} tok[] = {
		{"a", "a", "a"},           {"Z", "Z", "Z"},           {"~", "~", "~"},
		{"\x7f", "\x7f", "\x7f"},  {"&", "&amp;", "&amp;"},   {"<", "&lt;", "&lt;"},
		{">", "&gt;", "&gt;"},     {"\"", "&quot;", "&quot;"}, {"'", "&apos;", "&apos;"},
		{"\t", "\t", "&#9;"},      {"\n", "&#10;", "&#10;"},  {"\x01", "\xef\xbf\xbd", "\xef\xbf\xbd"},
		{"\x80", "\xef\xbf\xbd", "\xef\xbf\xbd"}, {"\xc3\xa9", "\xc3\xa9", "\xc3\xa9"},
		{"\xe2\x82\xac", "\xe2\x82\xac", "\xe2\x82\xac"}, {" ", " ", " "},
	};
	const size_t ntok = sizeof(tok) / sizeof(tok[0]);
	char in[128], want[1024], out[1024];
	uint32_t x = 12345;

	(void)state;
	for (int attr = 0; attr < 2; attr++) {
		/* a clean run of every length up to 40 with one token at every position */
		for (size_t len = 0; len <= 40; len++) {
			for (size_t t = 0; t < ntok; t++) {
				for (size_t pos = 0; pos <= len; pos++) {
					size_t n = 0, wn = 0, k;
					const char *tw = attr ? tok[t].attr : tok[t].text;

					for (size_t i = 0; i < len; i++) {
						if (i == pos) {
							memcpy(in + n, tok[t].in, strlen(tok[t].in));
							n += strlen(tok[t].in);
							memcpy(want + wn, tw, strlen(tw));
							wn += strlen(tw);
						}
						in[n++] = (char)('a' + i % 26);
						want[wn++] = (char)('a' + i % 26);
					}
					k = sippres__xml_escape(out, in, n, attr);
					assert_int_equal(k, wn);
					assert_memory_equal(out, want, wn);
				}
			}
		}
		/* random token strings */
		for (int round = 0; round < 3000; round++) {
			size_t n = 0, wn = 0, k, count;

			x = x * 1103515245u + 12345u;
			count = (x >> 16) % 40;
			for (size_t i = 0; i < count; i++) {
				size_t t;
				const char *tw;

				x = x * 1103515245u + 12345u;
				t = (x >> 16) % (ntok + 6);
				t = t >= ntok ? 0 : t; /* mostly clean */
				tw = attr ? tok[t].attr : tok[t].text;
				memcpy(in + n, tok[t].in, strlen(tok[t].in));
				n += strlen(tok[t].in);
				memcpy(want + wn, tw, strlen(tw));
				wn += strlen(tw);
			}
			k = sippres__xml_escape(out, in, n, attr);
			assert_int_equal(k, wn);
			assert_memory_equal(out, want, wn);
		}
	}
}

/* Random tokens map each byte b to alphabet[b % size]; the two usual
 * alphabets go through tables, which must agree for all 256 bytes. */
static int all_bytes(void *ud, uint8_t *buf, size_t len)
{
	unsigned *next = ud;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(*next)++;
	return 0;
}

static void test_random_alphabets(void **state)
{
	static const char *const alphabets[] = {SIPPRES__ALPHA_ALNUM, SIPPRES__ALPHA_LOWER};
	const char *objects[] = {sippres__alpha_alnum, sippres__alpha_lower};
	unsigned next = 0;
	struct sippres_callbacks cb = {.size = sizeof(cb), .random = all_bytes};
	struct sippres_ctx *rctx;

	(void)state;
	assert_int_equal(sippres_ctx_new(NULL, &cb, &next, &rctx), 0);
	for (int a = 0; a < 2; a++) {
		size_t n = strlen(alphabets[a]);
		assert_string_equal(objects[a], alphabets[a]);
		next = 0;
		for (unsigned b = 0; b < 256; b += 32) {
			char out[33];
			assert_int_equal(sippres__random_string(rctx, out, 32, objects[a]), 0);
			for (unsigned i = 0; i < 32; i++)
				assert_int_equal(out[i], alphabets[a][(b + i) % n]);
		}
	}
	sippres_ctx_free(rctx);
}

static void test_u32_and_id(void **state)
{
	struct sippres_xml w;

	(void)state;
	w_init(&w, SIPPRES__XML_STANDARD);
	sippres__xml_start_lit(&w, "x");
	sippres__xml_attr_u32(&w, "a", 1, 0, false);
	sippres__xml_attr_u32(&w, "version", 7, 4294967295u, true);
	sippres__xml_attr_id(&w, "id", 2, "t", "1000");
	sippres__xml_attr_id(&w, "id2", 3, "p", "a b/\xc3\xa9_.-Z");
	sippres__xml_end(&w);
	assert_string_equal(w_str(&w), "<x a=\"0\" version=\"4294967295\" id=\"t1000\" id2=\"pa_20b_2F_C3_A9_5F.-Z\"/>\n");
	assert_int_equal(w.version_len, 10);
	assert_memory_equal(w.buf + w.version_off, "4294967295", 10);
	sippres__xml_release(&w);
}

static void test_structure_errors(void **state)
{
	struct sippres_xml w;

	(void)state;
	w_init(&w, SIPPRES__XML_STANDARD);
	/* attribute after a child */
	sippres__xml_start_lit(&w, "a");
	sippres__xml_start_lit(&w, "b");
	sippres__xml_end(&w);
	sippres__xml_attr_str(&w, "x", "1");
	assert_int_equal(w.err, SIPPRES_E_INVAL);
	/* sticky: nothing more is written */
	size_t len = w.len;
	sippres__xml_start_lit(&w, "c");
	assert_int_equal(w.len, len);

	/* mixed content: a child after text */
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	sippres__xml_start_lit(&w, "a");
	sippres__xml_text(&w, "t", 1);
	sippres__xml_start_lit(&w, "b");
	assert_int_equal(w.err, SIPPRES_E_INVAL);
	/* text after a child */
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	sippres__xml_start_lit(&w, "a");
	sippres__xml_start_lit(&w, "b");
	sippres__xml_end(&w);
	sippres__xml_text(&w, "t", 1);
	assert_int_equal(w.err, SIPPRES_E_INVAL);
	/* end without start, text without element, a second root */
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	sippres__xml_end(&w);
	assert_int_equal(w.err, SIPPRES_E_INVAL);
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	sippres__xml_text(&w, "t", 1);
	assert_int_equal(w.err, SIPPRES_E_INVAL);
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	sippres__xml_start_lit(&w, "a");
	sippres__xml_end(&w);
	sippres__xml_start_lit(&w, "b");
	assert_int_equal(w.err, SIPPRES_E_INVAL);
	/* depth limit */
	sippres__xml_reset(&w, SIPPRES__XML_ASTERISK);
	for (int i = 0; i < SIPPRES__XML_MAX_DEPTH; i++)
		sippres__xml_start_lit(&w, "d");
	assert_int_equal(w.err, 0);
	sippres__xml_start_lit(&w, "d");
	assert_int_equal(w.err, SIPPRES_E_TOOBIG);
	/* deep indentation is written correctly */
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	for (int i = 0; i < SIPPRES__XML_MAX_DEPTH; i++)
		sippres__xml_start_lit(&w, "d");
	for (int i = 0; i < SIPPRES__XML_MAX_DEPTH; i++)
		sippres__xml_end(&w);
	assert_int_equal(w.err, 0);
	assert_non_null(strstr(w_str(&w), "\n                                                                                                                              <d/>\n"));
	sippres__xml_release(&w);
}

static void test_big_values(void **state)
{
	struct sippres_xml w;
	size_t n = 256 * 1024;
	char *big = malloc(n);

	(void)state;
	for (size_t i = 0; i < n; i++)
		big[i] = "a<&\"\xc3\xa9\x01"[i % 7];
	w_init(&w, SIPPRES__XML_ASTERISK);
	sippres__xml_start_lit(&w, "x");
	sippres__xml_attr(&w, "v", 1, big, n);
	sippres__xml_text(&w, big, n);
	sippres__xml_end(&w);
	assert_int_equal(w.err, 0);
	assert_true(w.len > 2 * n);
	assert_true(w.len < w.cap);
	sippres__xml_release(&w);
	free(big);
}

/* Host-facing wrappers: name checks and sticky errors. */
static void test_public_writer(void **state)
{
	struct sippres_xml w;

	(void)state;
	w_init(&w, SIPPRES__XML_STANDARD);
	assert_int_equal(sippres_xml_start(&w, "ok:name-1.x_y"), 0);
	assert_int_equal(sippres_xml_attr(&w, "v", "a\0b", 3), 0);
	assert_int_equal(sippres_xml_attr(&w, "n", NULL, 0), 0);
	assert_int_equal(sippres_xml_text(&w, "t\"", (size_t)-1), 0);
	assert_int_equal(sippres_xml_end(&w), 0);
	assert_string_equal(w_str(&w), "<ok:name-1.x_y v=\"a\xef\xbf\xbd" "b\" n=\"\">t&quot;</ok:name-1.x_y>\n");

	static const char *const bad_names[] = {"", "1a", "-a", ".a", "a b", "a>", "a\"", "\xc3\xa9", "a/b"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
		assert_int_equal(sippres_xml_start(&w, bad_names[i]), SIPPRES_E_INVAL);
		assert_int_equal(sippres_xml_start(&w, "x"), SIPPRES_E_INVAL); /* sticky */
	}
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	assert_int_equal(sippres_xml_start(&w, NULL), SIPPRES_E_INVAL);
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	sippres_xml_start(&w, "x");
	assert_int_equal(sippres_xml_attr(&w, "a", NULL, 3), SIPPRES_E_INVAL);
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	sippres_xml_start(&w, "x");
	assert_int_equal(sippres_xml_text(&w, NULL, 3), SIPPRES_E_INVAL);
	sippres__xml_reset(&w, SIPPRES__XML_STANDARD);
	/* no render in progress: no supplements to run */
	assert_int_equal(sippres_xml_supplements(&w, 0), SIPPRES_E_INVAL);
	sippres__xml_release(&w);
}

/* An attribute the open element already has is refused (fuzz-xmlwriter's
 * first finding: <r a="1" a="2"/> was written, which is not well-formed),
 * in both formats (the asterisk one prints an empty value bare), however
 * the earlier values look. */
static void test_public_writer_duplicate_attribute(void **state)
{
	static const char *const values[] = {"1", "", "a=\"b\" c", " a", "a a=", "x\"a\"", "a"};
	struct sippres_xml w;

	(void)state;
	for (uint32_t format = 0; format < 2; format++) {
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			w_init(&w, format);
			assert_int_equal(sippres_xml_start(&w, "r"), 0);
			assert_int_equal(sippres_xml_attr(&w, "b", values[i], (size_t)-1), 0);
			assert_int_equal(sippres_xml_attr(&w, "a", values[i], (size_t)-1), 0);
			assert_int_equal(sippres_xml_attr(&w, "ab", values[i], (size_t)-1), 0);
			assert_int_equal(sippres_xml_attr(&w, "x:a", "v", 1), 0); /* another name */
			assert_int_equal(sippres_xml_attr(&w, "a", "2", 1), SIPPRES_E_INVAL);
			assert_int_equal(sippres_xml_end(&w), SIPPRES_E_INVAL); /* sticky */
			sippres__xml_release(&w);
		}
		/* the same name on another element is fine */
		w_init(&w, format);
		assert_int_equal(sippres_xml_start(&w, "r"), 0);
		assert_int_equal(sippres_xml_attr(&w, "a", "1", 1), 0);
		assert_int_equal(sippres_xml_start(&w, "c"), 0);
		assert_int_equal(sippres_xml_attr(&w, "a", "1", 1), 0);
		assert_int_equal(sippres_xml_end(&w), 0);
		assert_int_equal(sippres_xml_end(&w), 0);
		sippres__xml_release(&w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_blocks),
		cmocka_unit_test(test_u32_and_id),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_big_values),
		cmocka_unit_test(test_public_writer),
		cmocka_unit_test(test_public_writer_duplicate_attribute),
		cmocka_unit_test(test_random_alphabets),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
