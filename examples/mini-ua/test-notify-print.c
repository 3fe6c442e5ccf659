/* SPDX-License-Identifier: MIT */
/* Unit tests of the subscriber mode's body printer (notify-print.c): MIME
 * parameters, multipart splitting (the golden list bodies of both profiles,
 * nested ones, LF line ends, unterminated bodies), the printed layout; and
 * that a NOTIFY built by sip_build_notify() carries a multipart body byte
 * for byte and parses again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "subscriber.h"
#include "ua.h"

static char *read_file(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* The golden .content-type file without its line end. */
static char *read_ctype(const char *name)
{
	size_t len;
	char *s = read_file(name, &len);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

static char *print_to_string(const char *ctype, const char *body, size_t len)
{
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);

	assert_non_null(f);
	notify_print_body(f, ctype, body, len);
	fclose(f);
	return out;
}

static void expect_param(const char *value, const char *name, const char *want)
{
	char *got = mime_param(value, name);

	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_mime_param(void **state)
{
	(void)state;
	expect_param("multipart/related;type=\"application/rlmi+xml\";start=\"<a@b>\";boundary=\"xyz\"", "boundary",
	             "xyz");
	expect_param("multipart/related;type=\"application/rlmi+xml\";start=\"<a@b>\";boundary=\"xyz\"", "start", "<a@b>");
	expect_param("multipart/related; type=\"application/rlmi+xml\"; boundary=ghijk", "boundary", "ghijk");
	expect_param("multipart/related ; BOUNDARY = \"q r\" ;x=1", "boundary", "q r");
	expect_param("multipart/related;type=\"a;boundary=no\";boundary=yes", "boundary", "yes");
	expect_param("application/pidf+xml", "boundary", NULL);
	expect_param("active;expires=600", "expires", "600");
	expect_param("terminated;reason=noresource", "reason", "noresource");
	expect_param("terminated", "reason", NULL);
	expect_param("multipart/related;boundary", "boundary", NULL);
}

static void test_split_golden(void **state)
{
	static const struct {
		const char *name;
		int parts;
	} cases[] = {
		{"standard/list5-initial-nested", 3}, {"standard/list-terminated", 2},  {"standard/list5-batched", 3},
		{"asterisk/list5-initial-nested", 3}, {"asterisk/list-partial", 2},     {"asterisk/list-initial", 3},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[256], *ctype, *boundary, *body, *type;
		struct mp_part parts[8];
		size_t len;
		int n;

		snprintf(name, sizeof(name), "%s.content-type", cases[i].name);
		ctype = read_ctype(name);
		snprintf(name, sizeof(name), "%s.multipart", cases[i].name);
		body = read_file(name, &len);
		boundary = mime_param(ctype, "boundary");
		assert_non_null(boundary);
		n = multipart_split(body, len, boundary, parts, 8);
		assert_int_equal(n, cases[i].parts);
		/* the first part is the RLMI document, whole */
		type = mime_header(&parts[0], "content-type");
		assert_non_null(type);
		assert_true(strncmp(type, "application/rlmi+xml", 20) == 0);
		assert_true(parts[0].body_len > 40);
		assert_memory_equal(parts[0].body, "<?xml", 5);
		assert_memory_equal(parts[0].body + parts[0].body_len - 8, "</list>\n", 8);
		for (int k = 0; k < n; k++) {
			/* no part holds a delimiter line of its own list, nor the line break before one */
			char delim[64];

			snprintf(delim, sizeof(delim), "\n--%s", boundary);
			assert_null(memmem(parts[k].body, parts[k].body_len, delim, strlen(delim)));
			assert_false(parts[k].body_len >= strlen(delim) - 1 &&
			             memcmp(parts[k].body, delim + 1, strlen(delim) - 1) == 0);
			assert_true(parts[k].body_len == 0 || parts[k].body[parts[k].body_len - 1] != '\r');
		}
		free(type);
		free(boundary);
		free(body);
		free(ctype);
	}
}

static void test_split_edges(void **state)
{
	struct mp_part p[4];
	char *v;
	const char *lf = "preamble\n--b\nContent-Type: text/plain\n\none\n--b\n\ntwo, no headers\n--b--\nepilogue\n";
	const char *open_end = "--b\r\nContent-Type: a/b\r\n\r\nx\r\n--b\r\nContent-Type: c/d\r\n\r\ntail";
	const char *not_line_start = "--b\r\nContent-Type: a/b\r\n\r\nx --b inside\r\n--bb is another boundary\r\n--b--";

	(void)state;
	assert_int_equal(multipart_split(lf, strlen(lf), "b", p, 4), 2);
	assert_int_equal(p[0].body_len, 3);
	assert_memory_equal(p[0].body, "one", 3);
	v = mime_header(&p[0], "Content-Type");
	assert_string_equal(v, "text/plain");
	free(v);
	assert_int_equal(p[1].headers_len, 0);
	assert_int_equal(p[1].body_len, strlen("two, no headers"));
	assert_null(mime_header(&p[1], "Content-Type"));

	assert_int_equal(multipart_split(open_end, strlen(open_end), "b", p, 4), 2);
	assert_int_equal(p[1].body_len, 4);
	assert_memory_equal(p[1].body, "tail", 4);

	/* "--b" inside a line and "--bb" at a line start: only a whole "--b" line delimits */
	assert_int_equal(multipart_split(not_line_start, strlen(not_line_start), "b", p, 4), 1);
	assert_int_equal(p[0].body_len, strlen("x --b inside\r\n--bb is another boundary"));

	assert_int_equal(multipart_split("no delimiter", 12, "b", p, 4), -1);
	assert_int_equal(multipart_split("--b\r\n", 5, "", p, 4), -1);
	/* more parts than room: all counted, the first ones filled */
	assert_int_equal(multipart_split("--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--", 37, "b", p, 2), 3);
	assert_memory_equal(p[1].body, "2", 1);
}

static void test_print_layout(void **state)
{
	char *out, *ctype, *body;
	size_t len;

	(void)state;
	out = print_to_string("application/pidf+xml", "<x/>", 4);
	assert_string_equal(out, "<x/>\n");
	free(out);
	out = print_to_string("application/pidf+xml", "<x/>\n", 5);
	assert_string_equal(out, "<x/>\n");
	free(out);
	out = print_to_string(NULL, "", 0);
	assert_string_equal(out, "(empty body)\n");
	free(out);
	out = print_to_string("multipart/related;boundary=zz", "junk", 4);
	assert_string_equal(out, "(multipart body without its boundary; as received:)\njunk\n");
	free(out);

	/* a nested golden list: parts 1..3, the third a list of its own (3.1, 3.2, ...) */
	ctype = read_ctype("standard/list5-initial-nested.content-type");
	body = read_file("standard/list5-initial-nested.multipart", &len);
	out = print_to_string(ctype, body, len);
	assert_non_null(strstr(out, "--- part 1 of 3: Content-Type: application/rlmi+xml;charset=\"UTF-8\", Content-ID: <"));
	assert_non_null(strstr(out, "--- part 2 of 3: Content-Type: application/pidf+xml, Content-ID: <"));
	assert_non_null(strstr(out, "--- part 3 of 3: Content-Type: multipart/related;"));
	assert_non_null(strstr(out, "--- part 3.1 of "));
	assert_non_null(strstr(out, "--- part 3.2 of "));
	assert_null(strstr(out, "\n--6789abcdefghijklmnop")); /* no delimiter printed as body */
	assert_non_null(strstr(out, "</list>\n--- part 2 of 3"));
	free(out);
	free(body);
	free(ctype);
}

/* sip_build_notify + sip_parse: a multipart body arrives as it was given. */
static void test_notify_multipart_round_trip(void **state)
{
	struct notify_out n;
	struct sip_in in;
	char err[128], *msg, *ctype, *body;
	const char *sep;
	size_t len = 0, blen;

	(void)state;
	ctype = read_ctype("standard/list5-initial-nested.content-type");
	body = read_file("standard/list5-initial-nested.multipart", &blen);
	memset(&n, 0, sizeof(n));
	n.ruri = "sip:carol@127.0.0.1:5062";
	n.via_sent_by = "127.0.0.1:5070";
	n.branch = "z9hG4bKabc";
	n.from_uri = "sip:office-blf@127.0.0.1:5070";
	n.from_tag = "ft";
	n.to_uri = "sip:carol@127.0.0.1";
	n.to_tag = "tt";
	n.call_id = "cid1";
	n.cseq = 7;
	n.contact = "sip:office-blf@127.0.0.1:5070";
	n.event = "presence";
	n.subscription_state = "active;expires=600";
	n.content_type = ctype;
	n.body = body;
	n.body_len = blen;
	n.require_eventlist = true;
	msg = sip_build_notify(&n, &len);
	assert_non_null(msg);
	sep = strstr(msg, "\r\n\r\n");
	assert_non_null(sep);
	assert_int_equal(len - (size_t)(sep + 4 - msg), blen);
	assert_memory_equal(sep + 4, body, blen);
	assert_int_equal(sip_parse(msg, len, &in, err, sizeof(err)), 0);
	/* the body as it arrived, as long as Content-Length says (osip never parses bodies: sip_parse) */
	assert_int_equal(in.body_len, blen);
	assert_memory_equal(in.body, body, blen);
	assert_non_null(in.msg->content_type);
	sip_in_free(&in);
	free(msg);

	/* and a plain body too */
	n.content_type = "application/pidf+xml";
	n.body = "<presence/>";
	n.body_len = 11;
	msg = sip_build_notify(&n, &len);
	assert_non_null(msg);
	assert_int_equal(strcmp(msg + len - 11, "<presence/>"), 0);
	assert_non_null(strstr(msg, "\r\nContent-Length: 11\r\n"));
	assert_null(strstr(msg, "Content-Length: 0"));
	free(msg);
	free(body);
	free(ctype);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mime_param),
		cmocka_unit_test(test_split_golden),
		cmocka_unit_test(test_split_edges),
		cmocka_unit_test(test_print_layout),
		cmocka_unit_test(test_notify_multipart_round_trip),
	};

	sipmsg_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
