/* SPDX-License-Identifier: MIT */
/* Unit tests of examples/common: lines cut from a byte stream (bounded, in pieces, CR LF, the end of the
 * stream, over-long lines dropped once), the reload commands of the parser, and cmd_apply() on a context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "ctl.h"

static void add(struct ctl_lines *l, const char *s)
{
	assert_int_equal(ctl_lines_add(l, s, strlen(s)), 0);
}

static void next_is(struct ctl_lines *l, bool eof, const char *want)
{
	char *line = NULL;

	assert_int_equal(ctl_lines_next(l, eof, &line), 1);
	assert_string_equal(line, want);
}

static void test_lines_pieces(void **state)
{
	struct ctl_lines l;
	char *line;

	(void)state;
	ctl_lines_init(&l, 0);
	assert_int_equal(ctl_lines_next(&l, false, &line), 0);
	assert_int_equal(ctl_lines_next(&l, true, &line), 0);
	add(&l, "core sh");
	assert_int_equal(ctl_lines_next(&l, false, &line), 0);
	assert_int_equal(ctl_lines_pending(&l), 7);
	add(&l, "ow hints\r\nquit\n\nlast");
	next_is(&l, false, "core show hints");
	next_is(&l, false, "quit");
	next_is(&l, false, "");
	assert_int_equal(ctl_lines_next(&l, false, &line), 0);
	assert_int_equal(ctl_lines_pending(&l), 4);
	next_is(&l, true, "last"); /* the end of the stream ends the last line */
	assert_int_equal(ctl_lines_next(&l, true, &line), 0);
	assert_int_equal(ctl_lines_pending(&l), 0);
	ctl_lines_free(&l);
}

static void test_lines_bounded(void **state)
{
	struct ctl_lines l;
	char big[3001], *line;

	(void)state;
	ctl_lines_init(&l, 10);
	add(&l, "0123456789\n"); /* exactly the bound */
	next_is(&l, false, "0123456789");
	add(&l, "0123456789A\nok\n"); /* one over, newline already there */
	assert_int_equal(ctl_lines_next(&l, false, &line), -1);
	next_is(&l, false, "ok");
	/* over the bound without a newline: refused once, the rest of the line dropped as it comes */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	add(&l, big);
	assert_int_equal(ctl_lines_next(&l, false, &line), -1);
	assert_true(ctl_lines_pending(&l) == 0);
	for (int i = 0; i < 3; i++) {
		add(&l, big);
		assert_int_equal(ctl_lines_next(&l, false, &line), 0);
	}
	assert_true(l.cap <= 4096); /* what is kept stays bounded: one piece, not the whole line */
	add(&l, "xx\nafter\n");
	next_is(&l, false, "after");
	assert_int_equal(ctl_lines_next(&l, false, &line), 0);
	ctl_lines_free(&l);
}

static void test_parse_reload(void **state)
{
	static const char *const ok[] = {"dialplan reload", "module reload", "core reload", "  Core  RELOAD "};
	struct cmd c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cmd_parse(ok[i], &c, err, sizeof(err)), 0);
		assert_int_equal(c.kind, CMD_RELOAD);
		cmd_free(&c);
	}
	assert_int_equal(cmd_parse("module reload res_pjsip.so", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "usage: module reload");
	assert_int_equal(cmd_parse("reload", &c, err, sizeof(err)), -1);
}

static void test_apply(void **state)
{
	struct sippres_ctx *ctx = NULL;
	struct sippres_exten_status st = {.size = sizeof(st)};
	struct cmd c;
	char err[256];

	(void)state;
	assert_int_equal(sippres_ctx_new(NULL, NULL, NULL, &ctx), 0);
	assert_int_equal(cmd_parse("dialplan add extension 100,hint,Custom:a into default", &c, err, sizeof(err)), 0);
	assert_int_equal(cmd_apply(ctx, &c, err, sizeof(err)), 0);
	cmd_free(&c);
	assert_int_equal(cmd_parse("devstate change Custom:a INUSE", &c, err, sizeof(err)), 0);
	assert_int_equal(cmd_apply(ctx, &c, err, sizeof(err)), 0);
	cmd_free(&c);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "100", &st), 0);
	assert_int_equal(st.device_state, SIPPRES_DEVICE_INUSE);
	assert_int_equal(cmd_parse("dialplan remove extension 101@default hint", &c, err, sizeof(err)), 0);
	assert_true(cmd_apply(ctx, &c, err, sizeof(err)) < 0);
	assert_string_equal(err, "no such hint");
	cmd_free(&c);
	assert_int_equal(cmd_parse("call clear Custom:a nope", &c, err, sizeof(err)), 0);
	assert_true(cmd_apply(ctx, &c, err, sizeof(err)) < 0);
	assert_string_equal(err, "no such call");
	cmd_free(&c);
	assert_int_equal(cmd_parse("core show hints", &c, err, sizeof(err)), 0);
	assert_int_equal(cmd_apply(ctx, &c, err, sizeof(err)), SIPPRES_E_INVAL); /* not a state command */
	cmd_free(&c);
	sippres_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_pieces),
		cmocka_unit_test(test_lines_bounded),
		cmocka_unit_test(test_parse_reload),
		cmocka_unit_test(test_apply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
