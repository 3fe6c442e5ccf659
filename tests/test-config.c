/* SPDX-License-Identifier: MIT */
/* Config loaders: extensions.conf hints and pjsip.conf endpoints/resource
 * lists; every construct, malformed lines reported with their line numbers
 * while the rest loads, includes, templates, argument checks, OOM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "config/pjsip-private.h"

/* ---- helpers ------------------------------------------------------------ */

struct problem {
	char file[64];
	uint32_t line, column;
	char message[256];
};

struct vfile {
	const char *name;
	const char *text;
};

struct io_state {
	struct problem problems[64];
	size_t n_problems;
	const struct vfile *files; /* NULL-name terminated */
	int includes, releases;
	char loaded[64][80];
	size_t n_loaded;
	/* endpoints captured by the test sink */
	struct {
		char name[64];
		struct sippres_endpoint ep;
		char context[64], subscribe_context[64], callerid[64];
	} eps[16];
	size_t n_eps;
	struct {
		char name[64], event[32];
		char items[8][32];
		size_t n_items;
		int full_state, display;
		uint32_t batch;
	} lists[8];
	size_t n_lists;
	int list_result; /* what the list sink returns */
};

static void on_problem(void *ud, const char *file, const struct sippres_diag *d)
{
	struct io_state *s = ud;
	struct problem *p;

	assert_true(s->n_problems < 64);
	assert_int_equal(d->size, sizeof(*d));
	p = &s->problems[s->n_problems++];
	snprintf(p->file, sizeof(p->file), "%s", file);
	p->line = d->line;
	p->column = d->column;
	snprintf(p->message, sizeof(p->message), "%s", d->message);
}

static int on_include(void *ud, const char *name, const char **text, size_t *len)
{
	struct io_state *s = ud;

	for (const struct vfile *f = s->files; f && f->name; f++) {
		if (strcmp(f->name, name) == 0) {
			*text = f->text;
			*len = strlen(f->text);
			s->includes++;
			return 0;
		}
	}
	return SIPPRES_E_NOTFOUND;
}

static void on_release(void *ud, const char *text, size_t len)
{
	struct io_state *s = ud;

	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	s->releases++;
}

static void on_loaded(void *ud, const char *type, const char *name)
{
	struct io_state *s = ud;

	assert_true(s->n_loaded < 64);
	snprintf(s->loaded[s->n_loaded++], 80, "%s %s", type, name);
}

static struct sippres_config_io make_io(struct io_state *s)
{
	struct sippres_config_io io = {
		.size = sizeof(io),
		.user_data = s,
		.include = on_include,
		.release = on_release,
		.problem = on_problem,
		.loaded = on_loaded,
	};
	return io;
}

static int setup(void **state)
{
	struct sippres_ctx *ctx;

	if (sippres_ctx_new(NULL, NULL, NULL, &ctx) < 0)
		return -1;
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	sippres_ctx_free(*state);
	return 0;
}

static int load_ext(struct sippres_ctx *ctx, struct io_state *s, const char *text)
{
	struct sippres_config_io io = make_io(s);

	return sippres_config_load_extensions(ctx, "extensions.conf", text, strlen(text), &io);
}

/* The hint value registered for exten@context, or NULL. */
static const char *hint_value(struct sippres_ctx *ctx, const char *context, const char *exten)
{
	static char buf[256];
	struct sippres_exten_status st = {.size = sizeof(st)};

	if (sippres_exten_status_get(ctx, context, exten, &st) != 0)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", st.value);
	return buf;
}

static void expect_problem(const struct io_state *s, size_t i, const char *file, uint32_t line, uint32_t column,
                           const char *needle)
{
	if (i >= s->n_problems)
		fail_msg("expected problem %zu (%s:%u: %s), only %zu reported", i, file, line, needle, s->n_problems);
	if (strcmp(s->problems[i].file, file) != 0 || s->problems[i].line != line ||
	    (column != (uint32_t)-1 && s->problems[i].column != column) || !strstr(s->problems[i].message, needle))
		fail_msg("problem %zu is %s:%u:%u: %s; expected %s:%u:%d containing '%s'", i, s->problems[i].file,
		         s->problems[i].line, s->problems[i].column, s->problems[i].message, file, line, (int)column,
		         needle);
}

#define ANYCOL ((uint32_t)-1)

/* ---- extensions.conf ------------------------------------------------------ */

static void test_ext_constructs(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	struct sippres_exten_status st = {.size = sizeof(st)};
	const char *text =
		"; a comment line\n"
		"[general]\n"
		"static=yes\n"
		"exten => 9999,hint,PJSIP/general ; not a context\n"
		"[globals]\n"
		"exten => 9998,hint,PJSIP/globals\n"
		"\n"
		"[default]\n"
		"exten => 1000,1,Dial(PJSIP/alice)\n"
		"exten => 1000,hint,PJSIP/alice&PJSIP/bob,CustomPresence:alice(Alice)\n"
		"exten = 1001,hint,PJSIP/carol\n"
		"  exten   =>   1002 , hint ,  PJSIP/dave  \n"
		"exten => 1003,hint,PJSIP/erin(Erin\\; Smith) ; comment after an escaped semicolon\n"
		"exten => 1004,1,Answer()\n"
		" same => n,Hangup()\n"
		" same => hint,PJSIP/frank\n"
		"exten => _2XX,hint,Custom:lamp${EXTEN}\n"
		"exten => _[1,3]5XX,hint,Custom:bracket${EXTEN}\n"
		"EXTEN => 1005,hint,PJSIP/upper\n"
		"ignorepat => 9\n"
		"switch => Realtime/foo\n"
		"\r\n"
		"[internal] ;-- a block comment\n"
		"exten => 3000,hint,PJSIP/hidden\n"
		"still in the comment --; exten => 3001,hint,PJSIP/after\n"
		"exten => 3002,hint,,CustomPresence:lamp\r\n"
		"exten => 3003,2,Noop(x) ;-- opened and closed on one line --;\n"
		"exten => 3004,hint,PJSIP/x ;-- nested ;-- deeper --; still --; \n"
		"exten => 3005,hint,PJSIP/y\n";
	int r;

	r = load_ext(ctx, &s, text);
	if (r != 0)
		fail_msg("%d problems, first: line %u: %s", r, s.problems[0].line, s.problems[0].message);
	assert_int_equal(s.n_problems, 0);
	assert_null(hint_value(ctx, "general", "9999"));
	assert_null(hint_value(ctx, "globals", "9998"));
	assert_string_equal(hint_value(ctx, "default", "1000"), "PJSIP/alice&PJSIP/bob,CustomPresence:alice(Alice)");
	assert_string_equal(hint_value(ctx, "default", "1001"), "PJSIP/carol");
	assert_string_equal(hint_value(ctx, "default", "1002"), "PJSIP/dave");
	assert_string_equal(hint_value(ctx, "default", "1003"), "PJSIP/erin(Erin; Smith)");
	assert_int_equal(sippres_exten_status_get(ctx, "default", "1003", &st), 0);
	assert_string_equal(st.display_name, "Erin; Smith");
	assert_string_equal(hint_value(ctx, "default", "1004"), "PJSIP/frank");
	assert_string_equal(hint_value(ctx, "default", "1005"), "PJSIP/upper");
	assert_string_equal(hint_value(ctx, "default", "234"), "Custom:lamp234");
	assert_string_equal(hint_value(ctx, "default", "3599"), "Custom:bracket3599");
	assert_null(hint_value(ctx, "default", "2599"));
	assert_null(hint_value(ctx, "internal", "3000"));
	assert_string_equal(hint_value(ctx, "internal", "3001"), "PJSIP/after");
	assert_string_equal(hint_value(ctx, "internal", "3002"), ",CustomPresence:lamp");
	assert_null(hint_value(ctx, "internal", "3003"));
	assert_string_equal(hint_value(ctx, "internal", "3004"), "PJSIP/x"); /* nested block comment after it */
	assert_string_equal(hint_value(ctx, "internal", "3005"), "PJSIP/y");
	/* the loaded callback names every hint */
	assert_int_equal(s.n_loaded, 12);
	assert_string_equal(s.loaded[0], "hint 1000@default");
	assert_string_equal(s.loaded[s.n_loaded - 1], "hint 3005@internal");
}

static void test_ext_block_comment_keeps_text_before(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};

	assert_int_equal(load_ext(ctx, &s, "[c]\nexten => 1,hint,PJSIP/a ;-- comment --;\nexten => 2,hint,PJSIP/b;--x\n--;\n"), 0);
	assert_string_equal(hint_value(ctx, "c", "1"), "PJSIP/a");
	assert_string_equal(hint_value(ctx, "c", "2"), "PJSIP/b");
}

static void test_ext_malformed(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	static const char text[] =
		"exten => 1,hint,PJSIP/nocontext\n"          /* 1: outside a section */
		"[default]\n"                                 /* 2 */
		"exten => 1000,hint,PJSIP/alice\n"            /* 3 ok */
		"this line has no equal sign\n"               /* 4 */
		"exten => 1001,hint,PJSIP/bad name\n"         /* 5: space in a device name */
		"exten => 1002\n"                             /* 6: no priority */
		"exten => 1003,hint\n"                        /* 7: no value */
		"exten => 1004,hint,PJSIP/carol,,x\n"         /* 8: library rejects */
		"exten => _1X[,hint,Custom:x\n"               /* 9: bad pattern */
		"exten => 1000,hint,PJSIP/again\n"            /* 10: duplicate */
		"exten => 1005/5551234,hint,PJSIP/cid\n"      /* 11: caller ID */
		"= novalue\n"                                 /* 12: no name */
		"[broken\n"                                   /* 13: header */
		"exten => 1006,hint,PJSIP/skipped\n"          /* 14: skipped silently */
		"[ok2](\n"                                    /* 15: options not closed */
		"[ok3] trailing\n"                            /* 16 */
		"[ok4]\n"                                     /* 17 */
		"include => other,08:00-17:00,mon-fri,*,*\n"  /* 18: time restriction */
		"same => hint,PJSIP/nosame\n"                 /* 19: same without exten */
		"exten => 1007,hint,PJSIP/dan\n"              /* 20 ok */
		"#exec /bin/true\n"                           /* 21 */
		"#frobnicate\n"                               /* 22 */
		"exten => 10\0008,hint,PJSIP/nul\n"           /* 23: NUL byte */
		"exten => 1009,hint,PJSIP/last\n"             /* 24 ok */
		"[]\n"                                        /* 25 */
		"exten => ,hint,PJSIP/x\n"                    /* 26: no section (skipped), reported? no */
		"[ok5]\n"                                     /* 27 */
		"exten => ,hint,PJSIP/x\n"                    /* 28: empty extension */
		"[bad context]\n"                             /* 29 */
		"exten => 1,hint,PJSIP/x\n"                   /* 30: context name */
		"[ok6]\n"                                     /* 31 */
		"exten => 1,hint,PJSIP/x ;-- never closed\n"; /* 32 */
	struct sippres_config_io io = make_io(&s);
	size_t len = sizeof(text) - 1; /* the text has a NUL inside */
	int r;

	r = sippres_config_load_extensions(ctx, "x.conf", text, len, &io);
	assert_int_equal(r, (int)s.n_problems);
	expect_problem(&s, 0, "x.conf", 1, 1, "outside any [section]");
	expect_problem(&s, 1, "x.conf", 4, 1, "no '='");
	expect_problem(&s, 2, "x.conf", 5, 20 + 9, "hint 1001@default"); /* the space */
	expect_problem(&s, 3, "x.conf", 6, 10, "expected 'extension,priority,application'");
	expect_problem(&s, 4, "x.conf", 7, ANYCOL, "hint without a value");
	expect_problem(&s, 5, "x.conf", 8, ANYCOL, "hint 1004@default");
	expect_problem(&s, 6, "x.conf", 9, 10 + 3, "invalid extension pattern '_1X['");
	expect_problem(&s, 7, "x.conf", 10, 10, "already defined at x.conf:3");
	expect_problem(&s, 8, "x.conf", 11, 10 + 4, "caller ID");
	expect_problem(&s, 9, "x.conf", 12, 1, "no name before '='");
	expect_problem(&s, 10, "x.conf", 13, 1, "without closing ']'");
	expect_problem(&s, 11, "x.conf", 15, 6, "without closing ')'");
	expect_problem(&s, 12, "x.conf", 16, 7, "unexpected text after the section header");
	expect_problem(&s, 13, "x.conf", 18, 12 + 6, "time restrictions are not supported; 'other' is included at all times");
	expect_problem(&s, 14, "x.conf", 19, 9, "'same =>' without an earlier 'exten =>'");
	expect_problem(&s, 15, "x.conf", 21, 1, "#exec is not supported");
	expect_problem(&s, 16, "x.conf", 22, 1, "unknown directive '#frobnicate'");
	expect_problem(&s, 17, "x.conf", 23, 12, "NUL byte");
	expect_problem(&s, 18, "x.conf", 25, 1, "empty section name");
	expect_problem(&s, 19, "x.conf", 28, 10, "empty extension name");
	expect_problem(&s, 20, "x.conf", 30, 10, "invalid context name");
	expect_problem(&s, 21, "x.conf", 32, 0, "block comment ';--' not closed");
	assert_int_equal(s.n_problems, 22);
	/* everything else loaded */
	assert_string_equal(hint_value(ctx, "default", "1000"), "PJSIP/alice");
	assert_string_equal(hint_value(ctx, "ok4", "1007"), "PJSIP/dan");
	assert_string_equal(hint_value(ctx, "ok4", "1009"), "PJSIP/last");
	assert_string_equal(hint_value(ctx, "ok6", "1"), "PJSIP/x");
	assert_null(hint_value(ctx, "default", "1001"));
	assert_null(hint_value(ctx, "default", "1006"));
	assert_null(hint_value(ctx, "default", "1004"));
}


/* "value@context" of what a lookup in context finds for exten, or "". */
static const char *found_in(struct sippres_ctx *ctx, const char *context, const char *exten)
{
	static char buf[256];
	struct sippres_exten_status st = {.size = sizeof(st)};

	if (sippres_exten_status_get(ctx, context, exten, &st) != 0)
		return "";
	snprintf(buf, sizeof(buf), "%s@%s", st.value, st.context);
	return buf;
}

static void test_ext_context_includes(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	static const char text[] =
		"[a]\n"                                         /* 1 */
		"include => b\n"                                /* 2 */
		"include => c\n"                                /* 3 */
		"exten => 1,hint,PJSIP/a1\n"                    /* 4 */
		"exten => _2X,hint,Custom:a${EXTEN}\n"          /* 5 */
		"[b]\n"                                         /* 6 */
		"include => d\n"                                /* 7 */
		"exten => 20,hint,PJSIP/b20\n"                  /* 8 */
		"exten => 3,hint,PJSIP/b3\n"                    /* 9 */
		"exten => _4X,hint,Custom:b${EXTEN}\n"          /* 10 */
		"[c]\n"                                         /* 11 */
		"exten => 3,hint,PJSIP/c3\n"                    /* 12 */
		"exten => 5,hint,PJSIP/c5\n"                    /* 13 */
		"exten => 40,hint,PJSIP/c40\n"                  /* 14 */
		"exten => 6,hint,PJSIP/c6\n"                    /* 15 */
		"[d]\n"                                         /* 16 */
		"include => a\n"                                /* 17: a loop */
		"exten => 6,hint,PJSIP/d6\n"                    /* 18 */
		"include => d\n"                                /* 19: itself */
		"include => a|09:00-17:00|*|*|*\n"              /* 20: again */
		"include => \n"                                 /* 21: no name */
		"include => bad name\n"                         /* 22 */
		"[e]\n"                                         /* 23 */
		"include => f ,08:00-18:00,*,*,*\n"             /* 24: time restriction, included */
		"[f]\n"                                         /* 25 */
		"exten => 7,hint,PJSIP/f7\n"                    /* 26 */
		"[a]\n"                                         /* 27: a again: its includes add up */
		"include => f\n";                               /* 28 */
	int r;

	r = load_ext(ctx, &s, text);
	assert_int_equal(r, 5);
	expect_problem(&s, 0, "extensions.conf", 19, 12, "context 'd' includes itself; ignored");
	expect_problem(&s, 1, "extensions.conf", 20, 12, "'a' is already included in 'd' at extensions.conf:17; ignored");
	expect_problem(&s, 2, "extensions.conf", 21, ANYCOL, "include without a context name");
	expect_problem(&s, 3, "extensions.conf", 22, 12, "include => bad name: invalid context name");
	expect_problem(&s, 4, "extensions.conf", 24, 12 + 3, "time restrictions are not supported; 'f' is included");
	assert_string_equal(found_in(ctx, "a", "1"), "PJSIP/a1@a");
	assert_string_equal(found_in(ctx, "a", "20"), "Custom:a20@a"); /* own pattern before an included hint */
	assert_string_equal(found_in(ctx, "a", "3"), "PJSIP/b3@b");    /* includes in order */
	assert_string_equal(found_in(ctx, "a", "40"), "Custom:b40@b"); /* b's pattern before c's exact hint */
	assert_string_equal(found_in(ctx, "a", "5"), "PJSIP/c5@c");
	assert_string_equal(found_in(ctx, "a", "6"), "PJSIP/d6@d");    /* depth first */
	assert_string_equal(found_in(ctx, "a", "7"), "PJSIP/f7@f");    /* the second [a] section */
	assert_string_equal(found_in(ctx, "a", "99"), "");
	assert_string_equal(found_in(ctx, "d", "1"), "PJSIP/a1@a");
	assert_string_equal(found_in(ctx, "e", "7"), "PJSIP/f7@f");
	/* a reload replaces the include lists of the contexts it has; others keep theirs */
	memset(&s, 0, sizeof(s));
	r = load_ext(ctx, &s, "[a]\ninclude => c\n[d]\nexten => 6,hint,PJSIP/d6\n");
	assert_int_equal(r, 0);
	assert_string_equal(found_in(ctx, "a", "3"), "PJSIP/c3@c");
	assert_string_equal(found_in(ctx, "a", "6"), "PJSIP/c6@c");
	assert_string_equal(found_in(ctx, "a", "7"), "");
	assert_string_equal(found_in(ctx, "d", "1"), "");              /* d's include is gone */
	assert_string_equal(found_in(ctx, "b", "6"), "PJSIP/d6@d");    /* b was not in the file */
	assert_string_equal(found_in(ctx, "e", "7"), "PJSIP/f7@f");
}

static void test_ext_autohints(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	int r;

	r = load_ext(ctx, &s, "[auto]\nautohints = yes\n[other]\nexten => 1,hint,PJSIP/x\n[bad]\nautohints = maybe\n");
	assert_int_equal(r, 1);
	expect_problem(&s, 0, "extensions.conf", 6, 13, "context 'bad': autohints: 'maybe' is not a boolean");
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found_in(ctx, "auto", "alice"), "PJSIP/alice@auto");
	assert_string_equal(found_in(ctx, "other", "alice"), "");
	assert_string_equal(found_in(ctx, "bad", "alice"), "");
	/* a reload without the option turns it off; the autohint made stays */
	memset(&s, 0, sizeof(s));
	assert_int_equal(load_ext(ctx, &s, "[auto]\n"), 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found_in(ctx, "auto", "bob"), "");
	assert_string_equal(found_in(ctx, "auto", "alice"), "PJSIP/alice@auto");
}

static void test_ext_column_of_library_diag(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	struct sippres_diag d = {.size = sizeof(d)};
	const char *value = "PJSIP/carol,,x";
	int r;

	/* the library's own column for this value ... */
	r = sippres_hint_set(ctx, "scratch", "1", value, &d);
	assert_true(r < 0);
	assert_true(d.column > 0);
	/* ... shifted to the line: the value starts at column 17 */
	r = load_ext(ctx, &s, "[c]\nexten => 5,hint,PJSIP/carol,,x\n");
	assert_int_equal(r, 1);
	expect_problem(&s, 0, "extensions.conf", 2, 17 + d.column - 1, "hint 5@c");
	assert_non_null(strstr(s.problems[0].message, d.message));
}

static void test_ext_templates(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	const char *text =
		"[base](!)\n"
		"exten => 100,hint,PJSIP/base\n"
		"[other](!)\n"
		"exten => 200,hint,PJSIP/other\n"
		"[sales](base, other)\n"
		"exten => 300,hint,PJSIP/own\n"
		"[sales](+)\n"
		"exten => 301,hint,PJSIP/appended\n"
		"[nobase](missing)\n"
		"exten => 400,hint,PJSIP/nobase\n"
		"[ghost](+)\n"
		"exten => 500,hint,PJSIP/ghost\n";

	assert_int_equal(load_ext(ctx, &s, text), 2);
	expect_problem(&s, 0, "extensions.conf", 9, 10, "inheritance from 'missing'");
	expect_problem(&s, 1, "extensions.conf", 11, 2, "cannot append: no earlier section 'ghost'");
	assert_null(hint_value(ctx, "base", "100"));
	assert_null(hint_value(ctx, "other", "200"));
	assert_string_equal(hint_value(ctx, "sales", "100"), "PJSIP/base");
	assert_string_equal(hint_value(ctx, "sales", "200"), "PJSIP/other");
	assert_string_equal(hint_value(ctx, "sales", "300"), "PJSIP/own");
	assert_string_equal(hint_value(ctx, "sales", "301"), "PJSIP/appended");
	assert_string_equal(hint_value(ctx, "nobase", "400"), "PJSIP/nobase");
	assert_null(hint_value(ctx, "ghost", "500"));
}

static void test_ext_includes(void **state)
{
	struct sippres_ctx *ctx = *state;
	const struct vfile files[] = {
		{"hints.conf", "exten => 2000,hint,PJSIP/inc ; continues [default]\n[more]\n#include <deeper.conf>\n"},
		{"deeper.conf", "exten => 2001,hint,PJSIP/deep\nexten => 2002,hint,PJSIP/a b\n"},
		{"loop.conf", "[loop]\nexten => 1,hint,PJSIP/loop\n#include loop.conf\n#include \"extensions.conf\"\n"},
		{NULL, NULL},
	};
	struct io_state s = {.files = files};
	const char *text =
		"[default]\n"
		"#include \"hints.conf\"\n"
		"#include missing.conf\n"
		"#tryinclude missing.conf\n"
		"#include loop.conf\n"
		"#include\n"
		"exten => 2003,hint,PJSIP/after ; back in loop's [loop] section\n";

	assert_int_equal(load_ext(ctx, &s, text), 5);
	expect_problem(&s, 0, "deeper.conf", 2, 20 + 7, "hint 2002@more"); /* the space */
	expect_problem(&s, 1, "extensions.conf", 3, 10, "cannot include 'missing.conf'");
	expect_problem(&s, 2, "loop.conf", 3, 10, "include loop: 'loop.conf'");
	expect_problem(&s, 3, "loop.conf", 4, 11, "include loop: 'extensions.conf'");
	expect_problem(&s, 4, "extensions.conf", 6, 1, "#include without a file name");
	assert_string_equal(hint_value(ctx, "default", "2000"), "PJSIP/inc");
	assert_string_equal(hint_value(ctx, "more", "2001"), "PJSIP/deep");
	assert_string_equal(hint_value(ctx, "loop", "1"), "PJSIP/loop");
	assert_string_equal(hint_value(ctx, "loop", "2003"), "PJSIP/after");
	assert_int_equal(s.includes, 3);
	assert_int_equal(s.releases, 3);
}

static int include_chain(void *ud, const char *name, const char **text, size_t *len)
{
	static char buf[64][32];
	int *n = ud;
	int k = atoi(name + 1);

	(*n)++;
	snprintf(buf[k % 64], sizeof(buf[0]), "#include f%d\n", k + 1);
	*text = buf[k % 64];
	*len = strlen(buf[k % 64]);
	return 0;
}

static void test_ext_include_depth(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	int calls = 0;
	struct sippres_config_io io = {.size = sizeof(io), .user_data = &calls, .include = include_chain};
	int r;

	r = sippres_config_load_extensions(ctx, "f0", "#include f1\n", 12, &io);
	assert_int_equal(r, 1);
	assert_int_equal(calls, 16); /* f1..f16 nested in f0 */
	/* with a problem callback, the message says why */
	io.user_data = &s;
	io.problem = on_problem;
	io.include = NULL;
	r = sippres_config_load_extensions(ctx, "top", "#include x\n", 11, &io);
	assert_int_equal(r, 1);
	expect_problem(&s, 0, "top", 1, 10, "no include callback");
}

static void test_ext_duplicates_across_loads_replace(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};

	assert_int_equal(load_ext(ctx, &s, "[d]\nexten => 1,hint,PJSIP/a\n"), 0);
	/* a second load (a reload) replaces the hint */
	assert_int_equal(load_ext(ctx, &s, "[d]\nexten => 1,hint,PJSIP/b\n"), 0);
	assert_string_equal(hint_value(ctx, "d", "1"), "PJSIP/b");
}

static void test_ext_args(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_config_io io = {.size = sizeof(io)};
	unsigned char big[sizeof(io) + 8];
	const char *t;

	assert_int_equal(sippres_config_load_extensions(NULL, "f", "", 0, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_config_load_extensions(ctx, "f", NULL, 1, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_config_load_extensions(ctx, "f", NULL, 0, NULL), 0);
	t = "[a]\nexten=>1,hint,PJSIP/a\n";
	assert_int_equal(sippres_config_load_extensions(ctx, NULL, t, strlen(t), NULL), 0);
	assert_string_equal(hint_value(ctx, "a", "1"), "PJSIP/a");
	/* a v0.1 struct (up to loaded) is taken; anything shorter is not */
	io.size = offsetof(struct sippres_config_io, outbound_publish);
	assert_int_equal(sippres_config_load_extensions(ctx, "f", "", 0, &io), 0);
	io.size = offsetof(struct sippres_config_io, outbound_publish) - 1;
	assert_int_equal(sippres_config_load_extensions(ctx, "f", "", 0, &io), SIPPRES_E_ABI);
	io.size = sizeof(io);
	/* a bigger struct from a newer host is fine while the unknown tail is zero */
	memset(big, 0, sizeof(big));
	io.size = sizeof(big);
	memcpy(big, &io, sizeof(io));
	assert_int_equal(sippres_config_load_extensions(ctx, "f", "", 0, (const void *)big), 0);
	big[sizeof(io) + 3] = 1;
	assert_int_equal(sippres_config_load_extensions(ctx, "f", "", 0, (const void *)big), SIPPRES_E_ABI);
	/* a problem without a callback is still counted */
	assert_int_equal(sippres_config_load_extensions(ctx, "f", "junk\n", 5, NULL), 1);
	/* a BOM and a last line without newline */
	t = "\xEF\xBB\xBF[b]\nexten=>1,hint,PJSIP/b";
	assert_int_equal(sippres_config_load_extensions(ctx, "f", t, strlen(t), NULL), 0);
	assert_string_equal(hint_value(ctx, "b", "1"), "PJSIP/b");
}

static int reentrant_calls;
static void reentrant_watch(void *ud, const struct sippres_exten_status *st)
{
	struct sippres_ctx *ctx = ud;

	(void)st;
	reentrant_calls++;
	assert_int_equal(sippres_config_load_extensions(ctx, "f", "", 0, NULL), SIPPRES_E_REENTRANT);
}

static void test_ext_reentrant(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_watch *w;

	assert_int_equal(sippres_hint_set(ctx, "r", "1", "Custom:r", NULL), 0);
	assert_int_equal(sippres_watch_add(ctx, "r", "1", reentrant_watch, ctx, &w), 0);
	assert_int_equal(sippres_device_state_set(ctx, "Custom:r", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(reentrant_calls, 1);
}

static int include_fanout(void *ud, const char *name, const char **text, size_t *len)
{
	static char buf[64];
	int *calls = ud;
	int depth = atoi(name + 1);

	(*calls)++;
	snprintf(buf, sizeof(buf), "#include a%d\n#include b%d\n", depth + 1, depth + 1);
	*text = buf; /* the reader copies what it keeps before the next include */
	*len = strlen(buf);
	return 0;
}

struct limit_probe {
	int problems;
	struct problem big; /* the "more than ... lines" problem */
	char last[256];
};

static void on_limit_problem(void *ud, const char *file, const struct sippres_diag *d)
{
	struct limit_probe *p = ud;

	p->problems++;
	if (strstr(d->message, "more than") && !p->big.message[0]) {
		snprintf(p->big.file, sizeof(p->big.file), "%s", file);
		p->big.line = d->line;
		snprintf(p->big.message, sizeof(p->big.message), "%s", d->message);
	}
	snprintf(p->last, sizeof(p->last), "%s", d->message);
}

/* Hostile text cannot make a load exponential: includes, inherited copies and
 * stored problems are bounded. */
static void test_limits(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct limit_probe probe;
	struct sippres_config_io io = {.size = sizeof(io), .include = include_fanout};
	size_t n = 0, cap = 2 << 20;
	char *text = malloc(cap);
	int calls = 0, r;

	assert_non_null(text);
	/* every file includes two more, 16 deep: 2^17 - 2 files without a bound */
	io.user_data = &calls;
	r = sippres_config_load_extensions(ctx, "f0", "#include a1\n#include b1\n", 24, &io);
	assert_int_equal(calls, 1024);
	assert_true(r > 0);
	/* each section inherits its predecessor twice: 2^30 lines without a bound;
	 * a 1.5 MB comment first, so that the bound on the lines' bytes (which
	 * grows with the text read) is not the one reached */
	text[n++] = ';';
	memset(text + n, 'x', 3 << 19);
	n += 3 << 19;
	text[n++] = '\n';
	n += (size_t)snprintf(text + n, cap - n, "[c0]\nexten => 1,hint,PJSIP/a\n");
	for (int i = 1; i <= 30; i++)
		n += (size_t)snprintf(text + n, cap - n, "[c%d](c%d,c%d)\n", i, i - 1, i - 1);
	memset(&probe, 0, sizeof(probe));
	io.user_data = &probe;
	io.include = NULL;
	io.problem = on_limit_problem;
	r = sippres_config_load_extensions(ctx, "deep.conf", text, n, &io);
	assert_true(r > 1000); /* the limit, and a duplicated hint for every inherited copy */
	assert_string_equal(probe.big.file, "deep.conf");
	assert_int_equal(probe.big.line, 23); /* [c20](c19,c19) reaches 2^20 */
	assert_non_null(strstr(probe.big.message, "more than 1048576 lines"));
	assert_string_equal(hint_value(ctx, "c19", "1"), "PJSIP/a");
	assert_null(hint_value(ctx, "c25", "1"));
	/* problems beyond 1000 are counted and summarised in one more report */
	n = (size_t)snprintf(text, cap, "[x]\n");
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(text + n, cap - n, "junk\n");
	assert_true(n < cap);
	memset(&probe, 0, sizeof(probe));
	r = sippres_config_load_extensions(ctx, "junk.conf", text, n, &io);
	assert_int_equal(r, 2000);
	assert_int_equal(probe.problems, 1001);
	assert_string_equal(probe.last, "1000 more problems not reported");
	free(text);
}

/* Counts the bytes allocated through the context: live and peak. */
struct bytes_counter {
	size_t live, peak;
};

static void *bc_malloc(void *ud, size_t n)
{
	struct bytes_counter *c = ud;
	size_t *h = malloc(sizeof(size_t) * 2 + n);

	if (!h)
		return NULL;
	h[0] = n;
	c->live += n;
	if (c->live > c->peak)
		c->peak = c->live;
	return h + 2;
}

static void bc_free(void *ud, void *p)
{
	struct bytes_counter *c = ud;
	size_t *h = p;

	if (!p)
		return;
	h -= 2;
	c->live -= h[0];
	free(h);
}

static void *bc_realloc(void *ud, void *p, size_t n)
{
	struct bytes_counter *c = ud;
	size_t *h = p, *nh;

	if (!p)
		return bc_malloc(ud, n);
	h -= 2;
	nh = realloc(h, sizeof(size_t) * 2 + n);
	if (!nh)
		return NULL;
	c->live = c->live - nh[0] + n;
	if (c->live > c->peak)
		c->peak = c->live;
	nh[0] = n;
	return nh + 2;
}

/* The shape of issue 11's hostile extensions.conf: 100 hint lines of 150
 * bytes in a template, a template inheriting it 100 times, and 100 contexts
 * inheriting that one 100 times each: 100 million lines asked for by 38 KB.
 * Each inherited line used to be a copy and only the lines were bounded: a
 * load took 230 MB and 1 s (1.9 GB and 9 s with 1800-byte values). Now the
 * lines' bytes are bounded too (16 MiB + 64 times the text) and inherited
 * lines share their template's strings. */
static void test_limit_bytes_hostile(void **state)
{
	struct bytes_counter bc = {0};
	struct sippres_allocator a = {.size = sizeof(a), .user_data = &bc, .malloc = bc_malloc, .realloc = bc_realloc,
	                              .free = bc_free};
	struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &a};
	struct sippres_config_io io = {.size = sizeof(io), .problem = on_limit_problem};
	struct limit_probe probe;
	struct sippres_ctx *ctx;
	size_t n = 0, cap = 64 << 10;
	char *text = malloc(cap);
	int r;

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "[t](!)\n");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(text + n, cap - n, "exten => %d,hint,PJSIP/%0144d\n", 1000 + i, i);
	n += (size_t)snprintf(text + n, cap - n, "[u](!");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(text + n, cap - n, ",t");
	n += (size_t)snprintf(text + n, cap - n, ")\n");
	for (int c = 0; c < 100; c++) {
		n += (size_t)snprintf(text + n, cap - n, "[c%d](u", c);
		for (int i = 1; i < 100; i++)
			n += (size_t)snprintf(text + n, cap - n, ",u");
		n += (size_t)snprintf(text + n, cap - n, ")\n");
	}
	assert_true(n < cap);
	assert_int_equal(sippres_ctx_new(&cfg, NULL, NULL, &ctx), 0);
	memset(&probe, 0, sizeof(probe));
	io.user_data = &probe;
	r = sippres_config_load_extensions(ctx, "hostile.conf", text, n, &io);
	assert_true(r > 1);
	assert_string_equal(probe.big.file, "hostile.conf");
	assert_non_null(strstr(probe.big.message, "bytes of lines"));
	/* the hints up to the bound are there, those after it are not */
	assert_non_null(hint_value(ctx, "c0", "1099"));
	assert_null(hint_value(ctx, "c99", "1000"));
	/* the bound (16 MiB of lines counted in full) holds the real peak far below it */
	assert_true(bc.peak < (16u << 20));
	sippres_ctx_free(ctx);
	assert_int_equal(bc.live, 0);
	free(text);
}

/* ---- pjsip.conf ------------------------------------------------------------ */

static int sink_endpoint(void *ud, const char *name, const struct sippres_endpoint *ep, struct sippres_diag *diag)
{
	struct io_state *s = ud;

	(void)diag;
	assert_true(s->n_eps < 16);
	assert_int_equal(ep->size, sizeof(*ep));
	snprintf(s->eps[s->n_eps].name, 64, "%s", name);
	s->eps[s->n_eps].ep = *ep;
	snprintf(s->eps[s->n_eps].context, 64, "%s", ep->context ? ep->context : "(null)");
	snprintf(s->eps[s->n_eps].subscribe_context, 64, "%s", ep->subscribe_context ? ep->subscribe_context : "(null)");
	snprintf(s->eps[s->n_eps].callerid, 64, "%s", ep->callerid ? ep->callerid : "(null)");
	s->n_eps++;
	if (strcmp(name, "refused") == 0) {
		snprintf(diag->message, sizeof(diag->message), "refused by the sink");
		return SIPPRES_E_INVAL;
	}
	return 0;
}

static int sink_list(void *ud, const struct sippres__conf_list *l, struct sippres_diag *diag)
{
	struct io_state *s = ud;

	(void)diag;
	assert_true(s->n_lists < 8);
	snprintf(s->lists[s->n_lists].name, 64, "%s", l->name);
	snprintf(s->lists[s->n_lists].event, 32, "%s", l->event);
	assert_true(l->n_items <= 8);
	for (size_t i = 0; i < l->n_items; i++)
		snprintf(s->lists[s->n_lists].items[i], 32, "%s", l->items[i]);
	s->lists[s->n_lists].n_items = l->n_items;
	s->lists[s->n_lists].full_state = l->full_state;
	s->lists[s->n_lists].display = l->resource_display_name;
	s->lists[s->n_lists].batch = l->notification_batch_interval;
	s->n_lists++;
	if (s->list_result < 0)
		snprintf(diag->message, sizeof(diag->message), "lists refused");
	return s->list_result;
}

static int load_pj(struct sippres_ctx *ctx, struct io_state *s, const char *text)
{
	struct sippres_config_io io = make_io(s);
	struct sippres__pjsip_sink sink = {.user_data = s, .endpoint = sink_endpoint, .list = sink_list};

	return sippres__config_pjsip(ctx, "pjsip.conf", text, strlen(text), &io, &sink);
}

static const struct sippres_endpoint *ep_named(struct io_state *s, const char *name, size_t *idx)
{
	for (size_t i = 0; i < s->n_eps; i++) {
		if (strcmp(s->eps[i].name, name) == 0) {
			if (idx)
				*idx = i;
			return &s->eps[i].ep;
		}
	}
	fail_msg("endpoint %s not loaded", name);
	return NULL;
}

static void test_pjsip_endpoints(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	const struct sippres_endpoint *ep;
	size_t i = 0;
	const char *text =
		"[transport-udp]\n"
		"type=transport\n"
		"protocol=udp\n"
		"bind=0.0.0.0\n"
		"\n"
		"[alice]\n"
		"type=endpoint\n"
		"context=internal\n"
		"disallow=all ; an option we ignore\n"
		"allow=ulaw\n"
		"aors=alice\n"
		"[alice]\n"
		"type=aor\n"
		"max_contacts=1\n"
		"[bob]\n"
		"type = endpoint\n"
		"context => internal\n"
		"subscribe_context=blf\n"
		"allow_subscribe=no\n"
		"sub_min_expiry=60\n"
		"notify_early_inuse_ringing=yes\n"
		"presence_profile=asterisk\n"
		"sub_max_expiry=1800\n"
		"sub_default_expiry=900\n"
		"notify_failure_limit=3\n"
		"callerid=\"Bob\" <1001>\n"
		"[carol]\n"
		"type=endpoint\n"
		"callerid=\n"
		"presence_profile=Standard\n"
		"allow_subscribe=on\n"
		"context=\n"
		"[global]\n"
		"type=global\n"
		"user_agent=x\n";

	assert_int_equal(load_pj(ctx, &s, text), 0);
	assert_int_equal(s.n_eps, 3);
	ep = ep_named(&s, "alice", &i);
	assert_string_equal(s.eps[i].context, "internal");
	assert_string_equal(s.eps[i].subscribe_context, "(null)");
	assert_int_equal(ep->flags, 0);
	assert_int_equal(ep->profile, SIPPRES_PROFILE_STANDARD);
	assert_int_equal(ep->sub_min_expiry, 0);
	assert_int_equal(ep->max_expiry, 0);
	assert_int_equal(ep->default_expiry, 0);
	assert_int_equal(ep->notify_failure_limit, 0);
	ep = ep_named(&s, "bob", &i);
	assert_string_equal(s.eps[i].context, "internal");
	assert_string_equal(s.eps[i].subscribe_context, "blf");
	assert_int_equal(ep->flags, SIPPRES_ENDPOINT_DENY_SUBSCRIBE | SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING);
	assert_int_equal(ep->profile, SIPPRES_PROFILE_ASTERISK);
	assert_int_equal(ep->sub_min_expiry, 60);
	assert_int_equal(ep->max_expiry, 1800);
	assert_int_equal(ep->default_expiry, 900);
	assert_int_equal(ep->notify_failure_limit, 3);
	assert_string_equal(s.eps[i].callerid, "\"Bob\" <1001>");
	ep = ep_named(&s, "carol", &i);
	assert_string_equal(s.eps[i].context, "(null)");
	assert_string_equal(s.eps[i].callerid, "(null)");
	assert_int_equal(ep->flags, 0);
	assert_int_equal(s.n_loaded, 4);
	assert_string_equal(s.loaded[0], "endpoint alice");
	assert_string_equal(s.loaded[2], "endpoint carol");
	assert_string_equal(s.loaded[3], "transport transport-udp"); /* for the host's io hook; nothing else */
}

static void test_pjsip_booleans(void **state)
{
	struct sippres_ctx *ctx = *state;
	const char *yes[] = {"yes", "YES", "true", "True", "y", "t", "1", "on", "ON"};
	const char *no[] = {"no", "No", "false", "FALSE", "n", "f", "0", "off", "Off"};
	char text[256];

	for (size_t k = 0; k < 9; k++) {
		struct io_state s = {0};

		snprintf(text, sizeof(text),
		         "[a]\ntype=endpoint\nnotify_early_inuse_ringing=%s\nallow_subscribe=%s\n"
		         "[b]\ntype=endpoint\nnotify_early_inuse_ringing=%s\nallow_subscribe=%s\n",
		         yes[k], no[k], no[k], yes[k]);
		assert_int_equal(load_pj(ctx, &s, text), 0);
		assert_int_equal(s.n_eps, 2);
		assert_int_equal(s.eps[0].ep.flags,
		                 SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING | SIPPRES_ENDPOINT_DENY_SUBSCRIBE);
		assert_int_equal(s.eps[1].ep.flags, 0);
	}
}

static void test_pjsip_templates(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	size_t i = 0;
	const char *text =
		"[phone](!)\n"                     /* 1 */
		"type=endpoint\n"                  /* 2 */
		"context=office\n"                 /* 3 */
		"sub_min_expiry=120\n"             /* 4 */
		"[blf](!)\n"                       /* 5 */
		"notify_early_inuse_ringing=yes\n" /* 6 */
		"presence_profile=asterisk\n"      /* 7 */
		"[dave](phone,blf)\n"              /* 8 */
		"sub_min_expiry=30 ; own value wins\n"
		"[erin](phone)\n"                  /* 10 */
		"[erin](+)\n"                      /* 11 */
		"subscribe_context=erin-blf\n"     /* 12 */
		"[frank](erin)\n"                  /* 13: inherits from a normal section */
		"[ghost](nothere)\n"               /* 14 */
		"type=endpoint\n";

	assert_int_equal(load_pj(ctx, &s, text), 1);
	expect_problem(&s, 0, "pjsip.conf", 14, 9, "inheritance from 'nothere'");
	assert_int_equal(s.n_eps, 4); /* no template became an endpoint */
	ep_named(&s, "dave", &i);
	assert_string_equal(s.eps[i].context, "office");
	assert_int_equal(s.eps[i].ep.sub_min_expiry, 30);
	assert_int_equal(s.eps[i].ep.flags, SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING);
	assert_int_equal(s.eps[i].ep.profile, SIPPRES_PROFILE_ASTERISK);
	ep_named(&s, "erin", &i);
	assert_string_equal(s.eps[i].context, "office");
	assert_string_equal(s.eps[i].subscribe_context, "erin-blf");
	assert_int_equal(s.eps[i].ep.sub_min_expiry, 120);
	assert_int_equal(s.eps[i].ep.profile, SIPPRES_PROFILE_STANDARD);
	ep_named(&s, "frank", &i);
	assert_string_equal(s.eps[i].context, "office");
	assert_string_equal(s.eps[i].subscribe_context, "erin-blf"); /* erin's (+) came before [frank] */
	ep_named(&s, "ghost", NULL);
}

static void test_pjsip_malformed(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	const char *text =
		"[ok1]\n"                              /* 1 */
		"type=endpoint\n"                      /* 2 */
		"[bad1]\n"                             /* 3 */
		"type=endpoint\n"                      /* 4 */
		"allow_subscribe=maybe\n"              /* 5 */
		"sub_min_expiry=-5\n"                  /* 6 */
		"[bad2]\n"                             /* 7 */
		"type=endpoint\n"                      /* 8 */
		"sub_min_expiry=99999999999\n"         /* 9 */
		"presence_profile=rfc\n"               /* 10 */
		"notify_failure_limit=3x\n"            /* 11 */
		"context=has space\n"                  /* 12 */
		"[notype]\n"                           /* 13 */
		"context=x\n"                          /* 14 */
		"[ok2]\n"                              /* 15 */
		"type=endpoint\n"                      /* 16 */
		"allow_subscribe=\n"                   /* 17: empty is not a boolean */
		"[ok3]\n"                              /* 18 */
		"type=endpoint\n"                      /* 19 */
		"sub_max_expiry= 600 \n"               /* 20 */
		"[ok1]\n"                              /* 21: defined again */
		"type=endpoint\n"                      /* 22 */
		"context=second\n"                     /* 23 */
		"[refused]\n"                          /* 24 */
		"type=endpoint\n"                      /* 25 */
		"[bad name]\n"                         /* 26 */
		"type=endpoint\n";                     /* 27 */
	size_t i = 0;

	assert_int_equal(load_pj(ctx, &s, text), 11);
	expect_problem(&s, 0, "pjsip.conf", 5, 17, "endpoint 'bad1': allow_subscribe: 'maybe' is not a boolean");
	expect_problem(&s, 1, "pjsip.conf", 6, 16, "sub_min_expiry: '-5' is not a number");
	expect_problem(&s, 2, "pjsip.conf", 9, 16, "'99999999999' is not a number");
	expect_problem(&s, 3, "pjsip.conf", 10, 18, "presence_profile: 'rfc'");
	expect_problem(&s, 4, "pjsip.conf", 11, 22, "notify_failure_limit: '3x'");
	expect_problem(&s, 5, "pjsip.conf", 12, 9, "'has space' is not a valid context name");
	expect_problem(&s, 6, "pjsip.conf", 13, 0, "section 'notype' has no type");
	expect_problem(&s, 7, "pjsip.conf", 17, 17, "allow_subscribe: '' is not a boolean");
	expect_problem(&s, 8, "pjsip.conf", 21, 0, "endpoint 'ok1' is already defined at pjsip.conf:1");
	expect_problem(&s, 9, "pjsip.conf", 24, 0, "endpoint 'refused': refused by the sink");
	expect_problem(&s, 10, "pjsip.conf", 26, 0, "'bad name' is not a valid endpoint name");
	assert_int_equal(s.n_problems, 11);
	/* endpoints without problems loaded, the bad ones not */
	ep_named(&s, "ok3", &i);
	assert_int_equal(s.eps[i].ep.max_expiry, 600);
	for (i = 0; i < s.n_eps; i++) {
		assert_string_not_equal(s.eps[i].name, "bad1");
		assert_string_not_equal(s.eps[i].name, "bad2");
		assert_string_not_equal(s.eps[i].name, "ok2");
	}
	/* ok1 twice, the second one last */
	assert_string_equal(s.eps[0].name, "ok1");
	assert_string_equal(s.eps[2].name, "ok1");
	assert_string_equal(s.eps[2].context, "second");
}

static void test_pjsip_resource_lists(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	const char *text =
		"[sales]\n"                                         /* 1 */
		"type=resource_list\n"                              /* 2 */
		"event=presence\n"                                  /* 3 */
		"list_item=alice\n"                                 /* 4 */
		"list_item=bob , carol,,dave \n"                    /* 5 */
		"list_item=alice\n"                                 /* 6: duplicate */
		"full_state=yes\n"                                  /* 7 */
		"notification_batch_interval=2000\n"                /* 8 */
		"resource_display_name=true\n"                      /* 9 */
		"[noevent]\n"                                       /* 10 */
		"type=resource_list\n"                              /* 11 */
		"list_item=alice\n"                                 /* 12 */
		"[noitems]\n"                                       /* 13 */
		"type=resource_list\n"                              /* 14 */
		"event=dialog\n"                                    /* 15 */
		"[badvals]\n"                                       /* 16 */
		"type=resource_list\n"                              /* 17 */
		"event=dialog\n"                                    /* 18 */
		"list_item=x\n"                                     /* 19 */
		"full_state=sometimes\n"                            /* 20 */
		"notification_batch_interval=soon\n"                /* 21 */
		"colour=blue\n"                                     /* 22: unknown key */
		"[lst](!)\n"                                        /* 23 */
		"type=resource_list\n"                              /* 24 */
		"event=dialog\n"                                    /* 25 */
		"list_item=t1\n"                                    /* 26 */
		"[fromtmpl](lst)\n"                                 /* 27 */
		"list_item=t2,t1\n"                                 /* 28 */
		"[longevent]\n"                                     /* 29 */
		"type=resource_list\n"                              /* 30 */
		"event=0123456789012345678901234567890123\n"        /* 31 */
		"list_item=a\n";                                    /* 32 */

	assert_int_equal(load_pj(ctx, &s, text), 8);
	expect_problem(&s, 0, "pjsip.conf", 6, 11, "duplicated list item 'alice'");
	expect_problem(&s, 1, "pjsip.conf", 10, 0, "resource_list 'noevent' has no event");
	expect_problem(&s, 2, "pjsip.conf", 13, 0, "resource_list 'noitems' has no list_item");
	expect_problem(&s, 3, "pjsip.conf", 20, 12, "full_state: 'sometimes' is not a boolean");
	expect_problem(&s, 4, "pjsip.conf", 21, 29, "notification_batch_interval: 'soon'");
	expect_problem(&s, 5, "pjsip.conf", 22, 8, "unknown key 'colour'");
	expect_problem(&s, 6, "pjsip.conf", 28, 14, "duplicated list item 't1'");
	expect_problem(&s, 7, "pjsip.conf", 31, 7, "event '0123456789");
	assert_int_equal(s.n_lists, 2);
	assert_string_equal(s.lists[0].name, "sales");
	assert_string_equal(s.lists[0].event, "presence");
	assert_int_equal(s.lists[0].n_items, 4);
	assert_string_equal(s.lists[0].items[0], "alice");
	assert_string_equal(s.lists[0].items[1], "bob");
	assert_string_equal(s.lists[0].items[2], "carol");
	assert_string_equal(s.lists[0].items[3], "dave");
	assert_int_equal(s.lists[0].full_state, 1);
	assert_int_equal(s.lists[0].display, 1);
	assert_int_equal(s.lists[0].batch, 2000);
	assert_string_equal(s.lists[1].name, "fromtmpl");
	assert_int_equal(s.lists[1].n_items, 2);
	assert_string_equal(s.lists[1].items[0], "t1");
	assert_string_equal(s.lists[1].items[1], "t2");
	assert_int_equal(s.lists[1].full_state, 0);
	assert_int_equal(s.lists[1].batch, 0);
	assert_int_equal(s.n_loaded, 2);
	assert_string_equal(s.loaded[0], "resource_list sales");
}

static void test_pjsip_list_sink_refusal(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {.list_result = SIPPRES_E_NOTFOUND};

	assert_int_equal(load_pj(ctx, &s, "[l]\ntype=resource_list\nevent=presence\nlist_item=a\n"), 1);
	expect_problem(&s, 0, "pjsip.conf", 1, 0, "resource_list 'l': lists refused");
	assert_int_equal(s.n_loaded, 0);
	/* a fatal sink error stops the load */
	memset(&s, 0, sizeof(s));
	s.list_result = SIPPRES_E_NOMEM;
	assert_int_equal(load_pj(ctx, &s, "[l]\ntype=resource_list\nevent=presence\nlist_item=a\n"), SIPPRES_E_NOMEM);
}

static void test_pjsip_includes(void **state)
{
	struct sippres_ctx *ctx = *state;
	const struct vfile files[] = {
		{"endpoints.conf", "[inc](!)\ntype=endpoint\ncontext=from-inc\n"},
		{NULL, NULL},
	};
	struct io_state s = {.files = files};
	size_t i = 0;

	assert_int_equal(load_pj(ctx, &s, "#include endpoints.conf\n[user](inc)\nsub_min_expiry=bad\n[user2](inc)\n"), 1);
	expect_problem(&s, 0, "pjsip.conf", 3, 16, "endpoint 'user': sub_min_expiry: 'bad'");
	ep_named(&s, "user2", &i);
	assert_string_equal(s.eps[i].context, "from-inc");
	assert_int_equal(s.n_eps, 1);
}

static void test_pjsip_inherited_bad_value(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};

	/* a bad value in a template is reported at the template's line for each user */
	assert_int_equal(load_pj(ctx, &s, "[t](!)\ntype=endpoint\nallow_subscribe=perhaps\n[u1](t)\n[u2](t)\n"), 2);
	expect_problem(&s, 0, "pjsip.conf", 3, 17, "endpoint 'u1'");
	expect_problem(&s, 1, "pjsip.conf", 3, 17, "endpoint 'u2'");
	assert_int_equal(s.n_eps, 0);
}

/* ---- the public pjsip.conf loader, checked through the engine's decisions ---------------- */

static struct sippres_sub *decided[32];
static size_t n_decided;

static int decide(struct sippres_ctx *ctx, const char *endpoint, const char *resource, const char *event,
                  int64_t expires, uint32_t flags, struct sippres_subscribe_res *res)
{
	static int n;
	char call_id[32], tag[16];
	struct sippres_subscribe_req req;
	struct sippres_sub *sub = NULL;

	snprintf(call_id, sizeof(call_id), "call%d", ++n);
	snprintf(tag, sizeof(tag), "t%d", n);
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.endpoint = endpoint;
	req.ruri_scheme = "sip";
	req.ruri_user = resource;
	req.ruri_host = "pbx.example.com";
	req.flags = flags;
	req.from_uri = "sip:someone@example.com";
	req.from_tag = tag;
	req.call_id = call_id;
	req.contact = "sip:someone@192.0.2.1";
	req.event = event;
	req.expires = expires;
	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	assert_int_equal(sippres_subscribe(ctx, &req, 1000, res, &sub), 0);
	if (sub && n_decided < 32)
		decided[n_decided++] = sub;
	return (int)res->status;
}

static void test_pjsip_public_loader(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	struct sippres_config_io io = make_io(&s);
	struct sippres_subscribe_res res;
	const char *ext = "[office]\nexten => 1000,hint,PJSIP/alice\nexten => 1001,hint,PJSIP/bob\n"
	                  "[blf]\nexten => alice,hint,PJSIP/alice\n";
	const char *pj =
		"[phone](!)\ntype=endpoint\ncontext=office\nsub_min_expiry=60\n"
		"[alice](phone)\n"
		"[bob](phone)\npresence_profile=asterisk\n"
		"[lobby](phone)\nallow_subscribe=no\n"
		"[reception](phone)\nsubscribe_context=blf\nsub_max_expiry=1800\nsub_default_expiry=900\n"
		"[blf-keys]\ntype=resource_list\nevent=presence\nlist_item=1000,1001,1000\nfull_state=yes\n"
		"[bad]\ntype=resource_list\nevent=presence\nlist_item=has space\n";

	assert_int_equal(sippres_config_load_extensions(ctx, "extensions.conf", ext, strlen(ext), &io), 0);
	assert_int_equal(sippres_config_load_pjsip(ctx, "pjsip.conf", pj, strlen(pj), &io), 2);
	expect_problem(&s, 0, "pjsip.conf", 17, 21, "duplicated list item '1000'");
	expect_problem(&s, 1, "pjsip.conf", 22, 11, "'has space' is not a valid name");
	assert_string_equal(s.loaded[3], "endpoint alice");
	assert_string_equal(s.loaded[6], "endpoint reception");
	assert_string_equal(s.loaded[7], "resource_list blf-keys");
	assert_int_equal(s.n_loaded, 8);

	assert_int_equal(decide(ctx, "alice", "1001", "presence", 600, 0, &res), 200);
	assert_int_equal(res.expires, 600);
	assert_int_equal(decide(ctx, "alice", "1001", "presence", 30, 0, &res), 423); /* template's minimum */
	assert_int_equal(res.min_expires, 60);
	assert_int_equal(decide(ctx, "bob", "1001", "presence", 30, 0, &res), 423);    /* asterisk: no Min-Expires */
	assert_int_equal(res.min_expires, 0);
	assert_int_equal(decide(ctx, "bob", "1001", "presence", 0, 0, &res), 400);     /* asterisk refuses a fetch */
	assert_int_equal(decide(ctx, "lobby", "1001", "presence", 600, 0, &res), 603);
	assert_int_equal(decide(ctx, "reception", "alice", "presence", 3600, 0, &res), 200); /* context blf */
	assert_int_equal(res.expires, 1800);
	assert_int_equal(decide(ctx, "reception", "alice", "presence", -1, 0, &res), 200);
	assert_int_equal(res.expires, 900);
	assert_int_equal(decide(ctx, "reception", "1000", "presence", 600, 0, &res), 404);   /* not in blf */
	assert_int_equal(decide(ctx, "nobody", "1000", "presence", 600, 0, &res), 403);
	assert_int_equal(decide(ctx, "alice", "blf-keys", "presence", 600, SIPPRES_SUBSCRIBE_EVENTLIST, &res), 200);
	assert_int_equal(res.require_eventlist, 1);
	assert_int_equal(decide(ctx, "alice", "blf-keys", "dialog", 600, SIPPRES_SUBSCRIBE_EVENTLIST, &res), 404);
	assert_int_equal(decide(ctx, "alice", "bad", "presence", 600, SIPPRES_SUBSCRIBE_EVENTLIST, &res), 404);
	/* reloading replaces: alice loses her minimum */
	memset(&s, 0, sizeof(s));
	assert_int_equal(sippres_config_load_pjsip(ctx, "pjsip.conf", "[alice]\ntype=endpoint\ncontext=office\n", 37,
	                                           &io), 0);
	assert_int_equal(decide(ctx, "alice", "1001", "presence", 30, 0, &res), 200);
	/* arguments */
	assert_int_equal(sippres_config_load_pjsip(NULL, "f", "", 0, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_config_load_pjsip(ctx, "f", NULL, 3, NULL), SIPPRES_E_INVAL);
	io.size = 8;
	assert_int_equal(sippres_config_load_pjsip(ctx, "f", "", 0, &io), SIPPRES_E_ABI);
	/* End the subscriptions before the context goes: sippres_ctx_free() with a
	 * list subscription and a plain one on the same hint writes into freed
	 * memory (an engine bug, reported with a reproducer). */
	for (size_t i = 0; i < n_decided; i++)
		assert_int_equal(sippres_sub_terminate(ctx, decided[i], 2000), 0);
	assert_int_equal(sippres_sub_count(ctx), 0);
}

/* type=wizard: the endpoint from endpoint/ keys, the hint from has_hint. */
static void test_pjsip_wizard(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s = {0};
	struct sippres_config_io io = make_io(&s);
	struct sippres_subscribe_res res;
	size_t first = n_decided;
	const char *ext = "[office]\nexten => 1000,hint,PJSIP/zed\n";
	const char *pj = "[phones](!)\ntype=wizard\nendpoint/context=office\nendpoint/sub_min_expiry=60\n"
	                 "has_hint=yes\nhint_application=Gosub(hints)\n"              /* 1-6 */
	                 "[alice](phones)\nhint_exten=100\naor/max_contacts=1\ntransport=udp\n" /* 7-10 */
	                 "[bob](phones)\nhint_exten=101\nhint_context=blf\nendpoint/presence_profile=asterisk\n" /* 11-14 */
	                 "[carol]\ntype=wizard\nhas_hint=maybe\n"                       /* 15-17 */
	                 "[dave]\ntype=wizard\nhas_hint=yes\n"                          /* 18-20 */
	                 "[erin]\ntype=wizard\nendpoint/allow_subscribe=perhaps\nhas_hint=no\n" /* 21-24 */
	                 "[frank]\ntype=wizard\nhas_hint=yes\nhint_exten=1000\nendpoint/context=office\n" /* 25-29 */
	                 "[gina]\ntype=wizard\nhas_hint=yes\nhint_exten=200\n";          /* 30-33 */
	const char *again = "[alice]\ntype=wizard\nendpoint/context=office\nhas_hint=yes\nhint_exten=100\n";

	assert_int_equal(sippres_config_load_extensions(ctx, "extensions.conf", ext, strlen(ext), &io), 0);
	assert_int_equal(sippres_config_load_pjsip(ctx, "pjsip.conf", pj, strlen(pj), &io), 4);
	expect_problem(&s, 0, "pjsip.conf", 17, (uint32_t)-1, "wizard 'carol': has_hint: 'maybe' is not a boolean");
	expect_problem(&s, 1, "pjsip.conf", 20, (uint32_t)-1, "wizard 'dave': has_hint=yes needs hint_exten");
	expect_problem(&s, 2, "pjsip.conf", 23, (uint32_t)-1,
	               "wizard 'erin': endpoint/allow_subscribe: 'perhaps' is not a boolean");
	expect_problem(&s, 3, "pjsip.conf", 28, (uint32_t)-1, "1000@office already has the hint 'PJSIP/zed'");
	assert_int_equal(s.n_loaded, 8);
	assert_string_equal(s.loaded[1], "endpoint alice");
	assert_string_equal(s.loaded[2], "hint 100@office");
	assert_string_equal(s.loaded[3], "endpoint bob");
	assert_string_equal(s.loaded[4], "hint 101@blf");
	assert_string_equal(s.loaded[5], "endpoint frank");
	assert_string_equal(s.loaded[6], "endpoint gina");
	assert_string_equal(s.loaded[7], "hint 200@default"); /* no endpoint/context: default */
	assert_string_equal(hint_value(ctx, "office", "100"), "PJSIP/alice");
	assert_string_equal(hint_value(ctx, "blf", "101"), "PJSIP/bob");
	assert_string_equal(hint_value(ctx, "office", "1000"), "PJSIP/zed"); /* extensions.conf's stays */
	assert_string_equal(hint_value(ctx, "default", "200"), "PJSIP/gina");
	assert_null(hint_value(ctx, "office", "101"));

	/* the endpoint keys, inherited from the template */
	assert_int_equal(decide(ctx, "alice", "100", "presence", 30, 0, &res), 423);
	assert_int_equal(res.min_expires, 60);
	assert_int_equal(decide(ctx, "alice", "100", "presence", 600, 0, &res), 200);
	assert_int_equal(decide(ctx, "bob", "100", "presence", 30, 0, &res), 423); /* asterisk: no Min-Expires */
	assert_int_equal(res.min_expires, 0);
	assert_int_equal(decide(ctx, "bob", "101", "presence", 600, 0, &res), 404); /* its hint is in blf */
	assert_int_equal(decide(ctx, "frank", "1000", "presence", 600, 0, &res), 200);
	assert_int_equal(decide(ctx, "carol", "100", "presence", 600, 0, &res), 403); /* not loaded */
	assert_int_equal(decide(ctx, "erin", "100", "presence", 600, 0, &res), 403);

	/* a reload: the same hint is left as it is, alice loses her minimum */
	memset(&s, 0, sizeof(s));
	assert_int_equal(sippres_config_load_pjsip(ctx, "pjsip.conf", again, strlen(again), &io), 0);
	assert_int_equal(s.n_loaded, 2);
	assert_string_equal(s.loaded[1], "hint 100@office");
	assert_int_equal(decide(ctx, "alice", "100", "presence", 30, 0, &res), 200);
	assert_string_equal(hint_value(ctx, "office", "100"), "PJSIP/alice");

	for (size_t i = first; i < n_decided; i++)
		assert_int_equal(sippres_sub_terminate(ctx, decided[i], 2000), 0);
	n_decided = first;
}

/* ---- pjsip.conf publications ---------------------------------------------- */

struct pub_state {
	struct io_state io;
	struct {
		char name[32], server[64], from[64], to[64], event[32];
		uint32_t expiration;
	} out[4];
	size_t n_out;
	char published[8][256]; /* "outbound|event|content-type|body" from the publish callback */
	size_t n_published;
};

static void on_outbound(void *ud, const char *name, const struct sippres_conf_outbound_publish *o)
{
	struct pub_state *s = ud;

	assert_int_equal(o->size, sizeof(*o));
	assert_true(s->n_out < 4);
	snprintf(s->out[s->n_out].name, 32, "%s", name);
	snprintf(s->out[s->n_out].server, 64, "%s", o->server_uri);
	snprintf(s->out[s->n_out].from, 64, "%s", o->from_uri ? o->from_uri : "-");
	snprintf(s->out[s->n_out].to, 64, "%s", o->to_uri ? o->to_uri : "-");
	snprintf(s->out[s->n_out].event, 32, "%s", o->event);
	s->out[s->n_out++].expiration = o->expiration;
}

static int on_publish(void *ud, const char *outbound, const char *event, const char *type, const char *body,
                      size_t len)
{
	struct pub_state *s = ud;

	assert_true(s->n_published < 8);
	snprintf(s->published[s->n_published++], 256, "%s|%s|%s|%.*s", outbound, event, type, (int)len, body);
	return 0;
}

static int pub_load(struct sippres_ctx *ctx, struct pub_state *s, const char *text)
{
	struct sippres_config_io io = make_io(&s->io);

	io.user_data = s; /* struct io_state is pub_state's first member */
	io.outbound_publish = on_outbound;
	return sippres_config_load_pjsip(ctx, "pjsip.conf", text, strlen(text), &io);
}

/* The status sippres_publish gives: an initial publication of body. */
static uint32_t pub_status(struct sippres_ctx *ctx, const char *endpoint, const char *resource, const char *event,
                           int64_t expires, const char *type, const char *body, struct sippres_publish_res *res)
{
	struct sippres_publish_req req = {.size = sizeof(req), .endpoint = endpoint, .resource = resource,
	                                  .event = event, .expires = expires, .content_type = type, .body = body,
	                                  .body_len = body ? strlen(body) : 0};

	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	assert_int_equal(sippres_publish(ctx, &req, 1000, res), 0);
	return res->status;
}

#define PIDF_OPEN                                                                                       \
	"<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:1000@h\">" \
	"<tuple id=\"t\"><status><basic>open</basic></status></tuple></presence>"
#define DEVSTATE(dev, st) \
	"{\"type\":\"devicestate\",\"device\":\"" dev "\",\"state\":\"" st "\",\"cachable\":1,\"eid\":\"02:00:00:00:00:09\"}"

static void test_pjsip_publications(void **state)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .publish = on_publish};
	struct pub_state s;
	struct sippres_publish_res res;
	struct sippres_ctx *ctx;
	/* the inbound publication comes first and names sections further down */
	const char *pj = "[alice]\ntype=endpoint\ncontext=default\n"
	                 "[peer]\ntype=endpoint\ncontext=default\n"
	                 "[1000]\ntype=inbound-publication\nendpoint=alice\nevent_presence=yes\nevent_dialog=on\n"
	                 "min_expiry=5\nmax_expiry=600\n"
	                 "[devstate]\ntype=inbound-publication\nendpoint=peer\nevent_asterisk-devicestate=from-peer\n"
	                 "[from-peer]\ntype=asterisk-publication\ndevice_state=yes\ndevice_state_filter=^pjsip/\n"
	                 "devicestate_publish=to-peer\n"
	                 "[to-peer]\ntype=outbound-publish\nserver_uri=sip:devstate@127.0.0.1:5072\n"
	                 "event=asterisk-devicestate\nexpiration=120\n@device_state_filter=^PJSIP/\n"
	                 "outbound_auth=peer-auth\n@comment=mine\n"
	                 "[tmpl](!)\ntype=inbound-publication\nendpoint=alice\nevent_presence=yes\n"
	                 "[2000](tmpl)\n";

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(sippres_ctx_new(NULL, &cb, &s, &ctx), 0);
	assert_int_equal(pub_load(ctx, &s, pj), 0);
	/* endpoints in reading order, then outbound publishes, then inbound publications */
	assert_int_equal(s.io.n_loaded, 6);
	assert_string_equal(s.io.loaded[2], "outbound-publish to-peer");
	assert_string_equal(s.io.loaded[3], "inbound-publication 1000");
	assert_string_equal(s.io.loaded[4], "inbound-publication devstate");
	assert_string_equal(s.io.loaded[5], "inbound-publication 2000");
	assert_int_equal(s.n_out, 1);
	assert_string_equal(s.out[0].name, "to-peer");
	assert_string_equal(s.out[0].server, "sip:devstate@127.0.0.1:5072");
	assert_string_equal(s.out[0].from, "-");
	assert_string_equal(s.out[0].to, "-");
	assert_string_equal(s.out[0].event, "asterisk-devicestate");
	assert_int_equal(s.out[0].expiration, 120);

	/* the engine has them: endpoint, packages, expiries */
	assert_int_equal(pub_status(ctx, "alice", "1000", "presence", 3600, "application/pidf+xml", PIDF_OPEN, &res), 200);
	assert_int_equal(res.expires, 600);
	assert_int_equal(pub_status(ctx, "alice", "1000", "presence", 4, "application/pidf+xml", PIDF_OPEN, &res), 423);
	assert_int_equal(res.min_expires, 5);
	assert_int_equal(pub_status(ctx, "peer", "1000", "presence", 60, "application/pidf+xml", PIDF_OPEN, &res), 403);
	assert_int_equal(pub_status(ctx, "alice", "1000", "asterisk-devicestate", 60, "application/json",
	                            DEVSTATE("PJSIP/x", "INUSE"), &res), 404);
	assert_int_equal(pub_status(ctx, "alice", "2000", "presence", 60, "application/pidf+xml", PIDF_OPEN, &res), 200);
	assert_int_equal(pub_status(ctx, "alice", "tmpl", "presence", 60, "application/pidf+xml", PIDF_OPEN, &res), 404);
	/* asterisk-devicestate with the asterisk-publication's filter (case-insensitive) */
	assert_int_equal(pub_status(ctx, "peer", "devstate", "asterisk-devicestate", 60, "application/json",
	                            DEVSTATE("PJSIP/bob", "INUSE"), &res), 200);
	assert_int_equal(sippres_device_state_get(ctx, "PJSIP/bob"), SIPPRES_DEVICE_INUSE);
	assert_int_equal(pub_status(ctx, "peer", "devstate", "asterisk-devicestate", 60, "application/json",
	                            DEVSTATE("SIP/carol", "INUSE"), &res), 200);
	assert_int_not_equal(sippres_device_state_get(ctx, "SIP/carol"), SIPPRES_DEVICE_INUSE);
	/* a refresh request is answered through devicestate_publish, with the
	 * outbound publish's own filter: PJSIP/alice goes, SIP/dave does not */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(sippres_device_state_set(ctx, "SIP/dave", SIPPRES_DEVICE_BUSY), 0);
	s.n_published = 0;
	assert_int_equal(pub_status(ctx, "peer", "devstate", "asterisk-devicestate", 60, "application/json",
	                            "{\"type\":\"refresh\",\"eid\":\"02:00:00:00:00:09\"}", &res), 200);
	assert_true(s.n_published >= 1);
	for (size_t i = 0; i < s.n_published; i++) {
		assert_non_null(strstr(s.published[i], "to-peer|asterisk-devicestate|application/json|"));
		assert_null(strstr(s.published[i], "SIP/dave\""));
	}
	{
		bool alice = false;

		for (size_t i = 0; i < s.n_published; i++)
			alice |= strstr(s.published[i], "\"PJSIP/alice\"") && strstr(s.published[i], "\"RINGING\"");
		assert_true(alice);
	}
	sippres_ctx_free(ctx);
}

static void test_pjsip_publication_problems(void **state)
{
	struct pub_state s;
	struct sippres_publish_res res;
	struct sippres_ctx *ctx;
	const char *pj =
		"[a]\ntype=endpoint\n"                                                            /* 1-2 */
		"[r1]\ntype=inbound-publication\nendpoint=has space\nevent_presence=yes\n"       /* 3-6 */
		"[r2]\ntype=inbound-publication\nevent_presence=yes\n"                           /* 7-9 */
		"[r3]\ntype=inbound-publication\nendpoint=a\nevent_presence=\n"                  /* 10-13 */
		"[r4]\ntype=inbound-publication\nendpoint=a\nevent_presence=1\nevent_asterisk-mwi=m\n" /* 14-18 */
		"[r5]\ntype=inbound-publication\nendpoint=a\nevent_presence=1\nmin_expiry=9x\n"   /* 19-23 */
		"[r6]\ntype=inbound-publication\nendpoint=a\nevent_dialog=1\nmin_expiry=90\nmax_expiry=30\n" /* 24-29 */
		"[r7]\ntype=inbound-publication\nendpoint=a\nevent_asterisk-devicestate=nowhere\nevent_dialog=1\n" /* 30-34 */
		"[r8]\ntype=inbound-publication\nendpoint=a\nevent_asterisk-devicestate=off\n"   /* 35-38 */
		"[off]\ntype=asterisk-publication\nmailbox_state=yes\ncolour=blue\n"             /* 39-42 */
		"[r9]\ntype=inbound-publication\nendpoint=a\nevent_asterisk-devicestate=on\n"    /* 43-46 */
		"[on]\ntype=asterisk-publication\ndevice_state=yes\ndevicestate_publish=gone\n"  /* 47-50 */
		"[r10]\ntype=inbound-publication\nendpoint=a\nevent_asterisk-devicestate=badre\n" /* 51-54 */
		"[badre]\ntype=asterisk-publication\ndevice_state=yes\ndevice_state_filter=(\n"  /* 55-58 */
		"[o1]\ntype=outbound-publish\nevent=asterisk-devicestate\n"                      /* 59-61 */
		"[o2]\ntype=outbound-publish\nserver_uri=http://x\nevent=asterisk-devicestate\n" /* 62-65 */
		"[o3]\ntype=outbound-publish\nserver_uri=sip:x@h\nevent=asterisk-mwi\n"          /* 66-69 */
		"[o4]\ntype=outbound-publish\nserver_uri=sip:x@h\nevent=presence\n"              /* 70-73 */
		"[o5]\ntype=outbound-publish\nserver_uri=sip:x@h\nevent=asterisk-devicestate\nexpiration=0\n" /* 74-78 */
		"[o6]\ntype=outbound-publish\nserver_uri=sip:x@h\nevent=asterisk-devicestate\n@device_state_filter=[\n"
		"wrong=1\n"                                                                       /* 79-84 */
		"[r11]\ntype=inbound-publication\nendpoint=a\nevent_presence=1\nendpoint_x=1\n"; /* 85-89 */

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(sippres_ctx_new(NULL, NULL, NULL, &ctx), 0);
	assert_int_equal(pub_load(ctx, &s, pj), 21);
	/* reported in reading order, each at its line (and the value's column) */
	expect_problem(&s.io, 0, "pjsip.conf", 5, 10, "endpoint: 'has space' is not a valid endpoint name");
	expect_problem(&s.io, 1, "pjsip.conf", 7, 0, "inbound-publication 'r2' has no endpoint; not loaded");
	expect_problem(&s.io, 2, "pjsip.conf", 10, 0, "inbound-publication 'r3' enables no event package; not loaded");
	expect_problem(&s.io, 3, "pjsip.conf", 18, ANYCOL, "event package 'asterisk-mwi' is not supported; ignored");
	expect_problem(&s.io, 4, "pjsip.conf", 23, ANYCOL, "min_expiry: '9x' is not a number of seconds");
	expect_problem(&s.io, 5, "pjsip.conf", 24, 0, "min_expiry 90 is above max_expiry 30; not loaded");
	expect_problem(&s.io, 6, "pjsip.conf", 33, ANYCOL, "'nowhere' names no asterisk-publication section");
	expect_problem(&s.io, 7, "pjsip.conf", 35, 0, "inbound-publication 'r8' enables no event package");
	expect_problem(&s.io, 8, "pjsip.conf", 38, ANYCOL, "without device_state=yes; asterisk-devicestate stays off");
	expect_problem(&s.io, 9, "pjsip.conf", 41, ANYCOL, "mailbox state is not supported; ignored");
	expect_problem(&s.io, 10, "pjsip.conf", 42, ANYCOL, "asterisk-publication 'off': unknown key 'colour' ignored");
	expect_problem(&s.io, 11, "pjsip.conf", 46, ANYCOL, "devicestate_publish: 'gone' names no outbound-publish section");
	expect_problem(&s.io, 12, "pjsip.conf", 51, 0, "device_state_filter '(' is not a POSIX extended regular expression");
	expect_problem(&s.io, 13, "pjsip.conf", 59, 0, "outbound-publish 'o1' has no server_uri; not loaded");
	expect_problem(&s.io, 14, "pjsip.conf", 64, ANYCOL, "server_uri: 'http://x' is not a sip: or sips: URI");
	expect_problem(&s.io, 15, "pjsip.conf", 69, ANYCOL, "event asterisk-mwi: mailbox state is not supported");
	expect_problem(&s.io, 16, "pjsip.conf", 73, ANYCOL, "event 'presence' cannot be published");
	expect_problem(&s.io, 17, "pjsip.conf", 78, ANYCOL, "expiration: '0' is not a number of seconds");
	expect_problem(&s.io, 18, "pjsip.conf", 79, 0, "@device_state_filter '[' is not a POSIX extended regular expression");
	expect_problem(&s.io, 19, "pjsip.conf", 84, 7, "outbound-publish 'o6': unknown key 'wrong' ignored");
	expect_problem(&s.io, 20, "pjsip.conf", 89, ANYCOL, "inbound-publication 'r11': unknown key 'endpoint_x' ignored");
	/* what loaded: r4 (presence), r7 (dialog only), r9 (devicestate, no refresh answers), r11 */
	assert_int_equal(pub_status(ctx, "a", "r4", "presence", 60, "application/pidf+xml", PIDF_OPEN, &res), 200);
	assert_int_equal(pub_status(ctx, "a", "r7", "dialog", 60, "application/pidf+xml", PIDF_OPEN, &res), 415);
	assert_int_equal(pub_status(ctx, "a", "r7", "asterisk-devicestate", 60, "application/json",
	                            DEVSTATE("PJSIP/x", "INUSE"), &res), 404);
	assert_int_equal(pub_status(ctx, "a", "r9", "asterisk-devicestate", 60, "application/json",
	                            DEVSTATE("PJSIP/x", "INUSE"), &res), 200);
	assert_int_equal(pub_status(ctx, "a", "r11", "presence", 60, "application/pidf+xml", PIDF_OPEN, &res), 200);
	for (const char *const *r = (const char *const[]){"r1", "r2", "r3", "r5", "r6", "r8", "r10", NULL}; *r; r++)
		assert_int_equal(pub_status(ctx, "a", *r, "presence", 60, "application/pidf+xml", PIDF_OPEN, &res), 404);
	sippres_ctx_free(ctx);
}

/* ---- allocation failures --------------------------------------------------- */

struct failer {
	long count, fail_at, live;
};

static void *f_malloc(void *ud, size_t n)
{
	struct failer *f = ud;
	void *p;

	assert_true(n > 0);
	if (++f->count == f->fail_at)
		return NULL;
	p = malloc(n);
	if (p)
		f->live++;
	return p;
}

static void *f_realloc(void *ud, void *ptr, size_t n)
{
	struct failer *f = ud;

	assert_true(n > 0);
	if (++f->count == f->fail_at)
		return NULL;
	return realloc(ptr, n);
}

static void f_free(void *ud, void *ptr)
{
	struct failer *f = ud;

	if (ptr)
		f->live--;
	free(ptr);
}

/* A resource_list of 10,000 list_item values, each item twice (issue 11:
 * each item was checked against all earlier ones): 5,000 items in first
 * order, 5,000 problems. */
struct big_list {
	size_t n;
	int ok;
};

static int sink_big_list(void *ud, const struct sippres__conf_list *l, struct sippres_diag *diag)
{
	struct big_list *b = ud;
	char want[32];

	(void)diag;
	b->n = l->n_items;
	b->ok = 1;
	for (size_t i = 0; i < l->n_items; i++) {
		snprintf(want, sizeof(want), "m%zu", i);
		b->ok &= strcmp(l->items[i], want) == 0;
	}
	return 0;
}

static void test_pjsip_list_duplicates_at_scale(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct big_list b = {0};
	struct sippres__pjsip_sink sink = {.user_data = &b, .list = sink_big_list};
	size_t n = 0, cap = 256 << 10;
	char *text = malloc(cap);

	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, "[big]\ntype=resource_list\nevent=presence\n");
	/* m0, m1 then m0, m1 again on one line; m2, m3, m2, m3; ... */
	for (int i = 0; i < 5000; i += 2)
		n += (size_t)snprintf(text + n, cap - n, "list_item=m%d,m%d\nlist_item = m%d , m%d\n", i, i + 1, i, i + 1);
	assert_true(n < cap);
	assert_int_equal(sippres__config_pjsip(ctx, "pjsip.conf", text, n, NULL, &sink), 5000);
	assert_int_equal(b.n, 5000);
	assert_true(b.ok);
	free(text);
}

static void test_oom(void **state)
{
	const struct vfile files[] = {{"inc.conf", "exten => 3,hint,PJSIP/c\n"}, {NULL, NULL}};
	const char *ext = "[default]\nexten => 1,hint,PJSIP/a\ninclude => u\ninclude => x\nautohints=yes\n#include inc.conf\n"
	                  "[t](!)\nexten => 2,hint,PJSIP/b\n"
	                  "[u](t)\nexten => _2X,hint,Custom:${EXTEN}\nbad line\n";
	const char *pj = "[t](!)\ntype=endpoint\ncontext=c\n[a](t)\nallow_subscribe=x\n[b](t)\n[l]\ntype=resource_list\n"
	                 "event=presence\nlist_item=a,b,a\n#include inc.conf\n";
	const char *pub = "[a]\ntype=endpoint\n[r]\ntype=inbound-publication\nendpoint=a\nevent_presence=1\n"
	                  "event_asterisk-devicestate=ap\n[ap]\ntype=asterisk-publication\ndevice_state=yes\n"
	                  "device_state_filter=^PJSIP/\ndevicestate_publish=o\n[o]\ntype=outbound-publish\n"
	                  "server_uri=sip:x@127.0.0.1\nevent=asterisk-devicestate\n@device_state_filter=.\n"
	                  "[bad]\ntype=inbound-publication\n";
	const char *wiz = "[t](!)\ntype=wizard\nendpoint/context=c\nhas_hint=yes\n[a](t)\nhint_exten=1\n"
	                  "[b](t)\nhint_exten=_2X\nhint_context=h\n[d]\ntype=wizard\nhas_hint=yes\n";
	const char *auth = "[e]\ntype=endpoint\nauth=a1,a2\n[a1]\ntype=auth\nusername=u\npassword=p\n[i]\ntype=identify\n"
	                   "endpoint=e\nmatch=192.0.2.0/24,10.0.0.1\nmatch=::1\n[t]\ntype=transport\nprotocol=tls\n"
	                   "bind=0.0.0.0:5061\ncert_file=c\npriv_key_file=k\n";
	long n;

	(void)state;
	for (int which = 0; which < 6; which++) {
		for (n = 1;; n++) {
			struct failer f = {.fail_at = n};
			struct sippres_allocator alloc = {.size = sizeof(alloc), .user_data = &f, .malloc = f_malloc,
			                                  .realloc = f_realloc, .free = f_free};
			struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &alloc};
			struct io_state s = {.files = files};
			struct sippres_config_io io = make_io(&s);
			struct sippres__pjsip_sink sink = {.user_data = &s, .endpoint = sink_endpoint, .list = sink_list};
			struct sippres_ctx *ctx;
			int r;

			if (sippres_ctx_new(&cfg, NULL, NULL, &ctx) < 0) {
				assert_int_equal(f.live, 0);
				continue;
			}
			if (which == 0)
				r = sippres_config_load_extensions(ctx, "e", ext, strlen(ext), &io);
			else if (which == 1)
				r = sippres__config_pjsip(ctx, "p", pj, strlen(pj), &io, &sink);
			else if (which == 2)
				r = sippres_config_load_pjsip(ctx, "p", pj, strlen(pj), &io); /* into the engine */
			else if (which == 3)
				r = sippres_config_load_pjsip(ctx, "p", pub, strlen(pub), &io); /* publications */
			else if (which == 4)
				r = sippres_config_load_pjsip(ctx, "p", wiz, strlen(wiz), &io); /* wizards */
			else
				r = sippres_config_load_pjsip(ctx, "p", auth, strlen(auth), &io); /* auth, identify, transport */
			if (r < 0)
				assert_int_equal(r, SIPPRES_E_NOMEM);
			assert_int_equal(s.includes, s.releases);
			sippres_ctx_free(ctx);
			assert_int_equal(f.live, 0);
			if (r >= 0 && f.count < f.fail_at) {
				assert_int_equal(r, which == 0 || which >= 3 ? 1 : 3);
				break;
			}
		}
		assert_true(n > 10);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ext_constructs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_block_comment_keeps_text_before, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_column_of_library_diag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_context_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_autohints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_include_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_duplicates_across_loads_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ext_reentrant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test(test_limit_bytes_hostile),
		cmocka_unit_test_setup_teardown(test_pjsip_endpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_booleans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_resource_lists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_list_sink_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_inherited_bad_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_public_loader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_wizard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_list_duplicates_at_scale, setup, teardown),
		cmocka_unit_test(test_pjsip_publications),
		cmocka_unit_test(test_pjsip_publication_problems),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
