/* SPDX-License-Identifier: MIT */
/* Hint parsing (valid and malformed forms), patterns, status, scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "state/state-private.h"

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

static void get(struct sippres_ctx *ctx, const char *exten, struct sippres_exten_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	assert_int_equal(sippres_exten_status_get(ctx, "default", exten, st), 0);
}

static void test_valid_forms(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_exten_status st;
	struct {
		const char *value;
		size_t ndev;
		const char *dev0;
		const char *display;
		int exten_state; /* with every device UNKNOWN and providers unset */
	} cases[] = {
		{"PJSIP/alice", 1, "PJSIP/alice", "", SIPPRES_EXTEN_NOT_INUSE},
		{"PJSIP/alice&PJSIP/bob", 2, "PJSIP/alice", "", SIPPRES_EXTEN_NOT_INUSE},
		{"PJSIP/alice&PJSIP/bob,CustomPresence:alice", 2, "PJSIP/alice", "", SIPPRES_EXTEN_NOT_INUSE},
		{"PJSIP/alice,CustomPresence:alice(Alice Smith)", 1, "PJSIP/alice", "Alice Smith", SIPPRES_EXTEN_NOT_INUSE},
		{"PJSIP/alice(Alice)", 1, "PJSIP/alice", "Alice", SIPPRES_EXTEN_NOT_INUSE},
		{",CustomPresence:lamp1", 0, NULL, "", SIPPRES_EXTEN_UNAVAILABLE}, /* presence-only */
		{"&&PJSIP/a&&", 1, "PJSIP/a", "", SIPPRES_EXTEN_NOT_INUSE},        /* empty names skipped */
		{" PJSIP/a & Custom:b ", 2, "PJSIP/a", "", SIPPRES_EXTEN_NOT_INUSE},
		{"Local/1000@from-internal", 1, "Local/1000@from-internal", "", SIPPRES_EXTEN_NOT_INUSE},
		{"DAHDI/1/2", 1, "DAHDI/1/2", "", SIPPRES_EXTEN_NOT_INUSE},
		{"PJSIP/a&pjsip/A", 1, "PJSIP/a", "", SIPPRES_EXTEN_NOT_INUSE}, /* same device, case-insensitive */
		{"Custom:x(Zoë (home))", 1, "Custom:x", "Zoë (home)", SIPPRES_EXTEN_NOT_INUSE},
		{"Custom:x()", 1, "Custom:x", "", SIPPRES_EXTEN_NOT_INUSE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char exten[16];
		struct sippres_diag diag = {.size = sizeof(diag)};
		int r;

		snprintf(exten, sizeof(exten), "%zu", 100 + i);
		r = sippres_hint_set(ctx, "default", exten, cases[i].value, &diag);
		if (r != 0)
			fail_msg("'%s' rejected: %s", cases[i].value, diag.message);
		get(ctx, exten, &st);
		assert_int_equal(st.n_devices, cases[i].ndev);
		if (cases[i].dev0)
			assert_string_equal(st.devices[0].name, cases[i].dev0);
		assert_string_equal(st.display_name, cases[i].display);
		assert_string_equal(st.value, cases[i].value);
		assert_string_equal(st.exten, exten);
		assert_string_equal(st.context, "default");
		assert_int_equal(st.exten_state, cases[i].exten_state);
		assert_int_equal(st.presence_state, SIPPRES_PRESENCE_NOT_SET);
		assert_string_equal(st.presence_subtype, "");
		assert_string_equal(st.presence_message, "");
		assert_int_equal(st.reason, SIPPRES_REASON_QUERY);
		assert_int_equal(st.is_pattern, 0);
	}
}

static void test_malformed(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_exten_status st = {.size = sizeof(st)};
	struct {
		const char *value;
		int err;
		uint32_t column;
	} cases[] = {
		{"", SIPPRES_E_PARSE, 1},
		{"&&", SIPPRES_E_PARSE, 1},
		{",", SIPPRES_E_PARSE, 1},
		{"alice", SIPPRES_E_PARSE, 1},                 /* neither / nor : */
		{"PJSIP/alice&bob", SIPPRES_E_PARSE, 13},      /* second name bad */
		{"PJSIP/", SIPPRES_E_PARSE, 6},                /* empty resource */
		{"/alice", SIPPRES_E_PARSE, 1},                /* empty tech */
		{"PJ SIP/alice", SIPPRES_E_PARSE, 3},          /* space in tech */
		{"PJSIP/al ice", SIPPRES_E_PARSE, 9},          /* space in resource */
		{"PJSIP/a,CustomPresence:a,x", SIPPRES_E_PARSE, 25}, /* two commas */
		{"PJSIP/a(Alice", SIPPRES_E_PARSE, 8},         /* unclosed display */
		{"PJSIP/a(Alice)x", SIPPRES_E_PARSE, 8},       /* text after display */
		{"PJSIP/a,presence", SIPPRES_E_PARSE, 9},      /* bad provider */
		{"PJSIP/a\tb", SIPPRES_E_PARSE, 8},            /* control character */
		{"PJSIP/a\nb", SIPPRES_E_PARSE, 8},
		{"PJSIP/\xff", SIPPRES_E_PARSE, 7},            /* invalid UTF-8 */
		{"PJSIP/\xc0\xaf", SIPPRES_E_PARSE, 7},        /* overlong */
		{"PJSIP/a)", SIPPRES_E_PARSE, 8},              /* stray ) */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sippres_diag diag = {.size = sizeof(diag)};
		int r = sippres_hint_set(ctx, "default", "500", cases[i].value, &diag);

		if (r != cases[i].err || diag.column != cases[i].column)
			fail_msg("'%s': got %d column %u (%s), want %d column %u", cases[i].value, r, diag.column,
			         diag.message, cases[i].err, cases[i].column);
		assert_true(diag.message[0] != '\0');
		/* nothing half-registered */
		assert_int_equal(sippres_exten_status_get(ctx, "default", "500", &st), SIPPRES_E_NOTFOUND);
	}
	assert_int_equal(sippres_hint_foreach(ctx, NULL, NULL), SIPPRES_E_INVAL);
}

static void test_bad_arguments(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres_exten_status st = {.size = sizeof(st)};
	char *big = malloc(SIPPRES_MAX_TEXT + 10);

	assert_non_null(big);
	assert_int_equal(sippres_hint_set(NULL, "default", "1", "PJSIP/a", NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_hint_set(ctx, NULL, "1", "PJSIP/a", NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_hint_set(ctx, "", "1", "PJSIP/a", NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_hint_set(ctx, "default", "", "PJSIP/a", &diag), SIPPRES_E_INVAL);
	assert_string_equal(diag.message, "invalid extension name");
	assert_int_equal(sippres_hint_set(ctx, "default", "1 2", "PJSIP/a", NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_hint_set(ctx, "default", "1", NULL, NULL), SIPPRES_E_INVAL);
	memset(big, 'a', SIPPRES_MAX_TEXT + 5);
	memcpy(big, "PJSIP/", 6);
	big[SIPPRES_MAX_TEXT + 5] = '\0';
	assert_int_equal(sippres_hint_set(ctx, "default", "1", big, &diag), SIPPRES_E_TOOBIG);
	big[2000] = '\0'; /* a 2000-byte device name: over SIPPRES_MAX_NAME */
	assert_int_equal(sippres_hint_set(ctx, "default", "1", big, &diag), SIPPRES_E_PARSE);
	memset(big, '1', SIPPRES_MAX_NAME + 1);
	big[SIPPRES_MAX_NAME + 1] = '\0';
	assert_int_equal(sippres_hint_set(ctx, "default", big, "PJSIP/a", NULL), SIPPRES_E_INVAL);
	free(big);
	/* a diag with a too-small size is never written */
	{
		struct sippres_diag small = {.size = 8, .line = 77};
		assert_int_equal(sippres_hint_set(ctx, "default", "1", "bad", &small), SIPPRES_E_PARSE);
		assert_int_equal(small.line, 77);
	}
	/* status struct too small for version 0.1 */
	assert_int_equal(sippres_hint_set(ctx, "default", "1", "PJSIP/a", NULL), 0);
	st.size = 8;
	assert_int_equal(sippres_exten_status_get(ctx, "default", "1", &st), SIPPRES_E_ABI);
	st.size = sizeof(st);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "2", &st), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_exten_status_get(ctx, "other", "1", &st), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "1", NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_hint_remove(ctx, "default", "2"), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_hint_remove(ctx, "default", "1"), 0);
	assert_int_equal(sippres_hint_remove(ctx, "default", "1"), SIPPRES_E_NOTFOUND);
	/* device and provider names */
	assert_int_equal(sippres_device_state_set(ctx, "alice", SIPPRES_DEVICE_INUSE), SIPPRES_E_INVAL);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", 9), SIPPRES_E_INVAL);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", -1), SIPPRES_E_INVAL);
	assert_int_equal(sippres_device_state_set(ctx, NULL, 0), SIPPRES_E_INVAL);
	assert_int_equal(sippres_device_state_get(ctx, "alice"), SIPPRES_E_INVAL);
	assert_int_equal(sippres_presence_state_set(ctx, "presence", 0, NULL, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:a", 8, NULL, NULL), SIPPRES_E_INVAL);
}

static void test_replace(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_exten_status st;

	assert_int_equal(sippres_hint_set(ctx, "default", "1000", "PJSIP/alice", NULL), 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_BUSY), 0);
	get(ctx, "1000", &st);
	assert_int_equal(st.exten_state, SIPPRES_EXTEN_NOT_INUSE);
	assert_int_equal(sippres_hint_set(ctx, "default", "1000", "PJSIP/alice&PJSIP/bob(Bob)", NULL), 1);
	get(ctx, "1000", &st);
	assert_int_equal(st.exten_state, SIPPRES_EXTEN_BUSY);
	assert_int_equal(st.n_devices, 2);
	assert_string_equal(st.devices[1].name, "PJSIP/bob");
	assert_int_equal(st.devices[1].state, SIPPRES_DEVICE_BUSY);
	assert_string_equal(st.display_name, "Bob");
	/* a failed replacement leaves the old hint in place */
	assert_int_equal(sippres_hint_set(ctx, "default", "1000", "junk", NULL), SIPPRES_E_PARSE);
	get(ctx, "1000", &st);
	assert_string_equal(st.value, "PJSIP/alice&PJSIP/bob(Bob)");
	/* same extension in another context is another hint */
	assert_int_equal(sippres_hint_set(ctx, "other", "1000", "Custom:x", NULL), 0);
	get(ctx, "1000", &st);
	assert_string_equal(st.value, "PJSIP/alice&PJSIP/bob(Bob)");
	/* device state set before any hint names it is kept */
	assert_int_equal(sippres_device_state_get(ctx, "pjsip/BOB"), SIPPRES_DEVICE_BUSY);
	assert_int_equal(sippres_device_state_get(ctx, "PJSIP/nobody"), SIPPRES_DEVICE_UNKNOWN);
}

static void test_presence_aggregation(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_exten_status st;

	assert_int_equal(sippres_hint_set(ctx, "default", "1", "PJSIP/a,CustomPresence:a&CustomPresence:b", NULL), 0);
	get(ctx, "1", &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_NOT_SET);
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:a", SIPPRES_PRESENCE_AVAILABLE, "", "here"), 0);
	get(ctx, "1", &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AVAILABLE);
	assert_string_equal(st.presence_subtype, "");
	assert_string_equal(st.presence_message, "here");
	/* b: away outranks available, and its own subtype/message win */
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:b", SIPPRES_PRESENCE_AWAY, "lunch", NULL), 0);
	get(ctx, "1", &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AWAY);
	assert_string_equal(st.presence_subtype, "lunch");
	assert_string_equal(st.presence_message, "");
	/* every rank, pairwise: the higher ranked provider wins, ties keep the first */
	{
		static const int rank[8] = {1, 3, 2, 5, 6, 4, 7, 0}; /* by enum value */
		for (int a = 0; a < 8; a++) {
			for (int b = 0; b < 8; b++) {
				assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:a", a, "A", NULL), 0);
				assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:b", b, "B", NULL), 0);
				get(ctx, "1", &st);
				assert_int_equal(st.presence_state, rank[b] > rank[a] ? b : a);
				assert_string_equal(st.presence_subtype, rank[b] > rank[a] ? "B" : "A");
			}
		}
	}
	/* DND beats XA */
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:a", SIPPRES_PRESENCE_XA, NULL, NULL), 0);
	assert_int_equal(sippres_presence_state_set(ctx, "customPRESENCE:B", SIPPRES_PRESENCE_DND, NULL, "busy"), 0);
	get(ctx, "1", &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_DND);
	assert_string_equal(st.presence_message, "busy");
}

static void test_patterns(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_exten_status st = {.size = sizeof(st)};
	struct sippres_diag diag = {.size = sizeof(diag)};

	assert_int_equal(sippres_hint_set(ctx, "default", "_2XX", "Custom:lamp${EXTEN}(Lamp ${EXTEN})", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "_20X", "PJSIP/${EXTEN:1}&Custom:${EXTEN:-2:1}", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "_3.", "Custom:dot${EXTEN:0:-1}", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "_4!", "Custom:bang", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "_5[1-3a]N", "Custom:cls", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "_6-XX", "Custom:dash", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "_[", "Custom:x", &diag), SIPPRES_E_PARSE);
	assert_int_equal(sippres_hint_set(ctx, "default", "_[]", "Custom:x", &diag), SIPPRES_E_PARSE);
	assert_int_equal(sippres_hint_set(ctx, "default", "_[9-1]", "Custom:x", &diag), SIPPRES_E_PARSE);
	assert_int_equal(sippres_hint_set(ctx, "default", "_", "Custom:x", &diag), SIPPRES_E_PARSE);

	/* most specific pattern wins: _20X over _2XX */
	get(ctx, "205", &st);
	assert_string_equal(st.value, "PJSIP/05&Custom:0");
	assert_int_equal(st.n_devices, 2);
	get(ctx, "215", &st);
	assert_string_equal(st.value, "Custom:lamp215(Lamp 215)");
	assert_string_equal(st.display_name, "Lamp 215");
	/* '.' needs at least one more character */
	assert_int_equal(sippres_exten_status_get(ctx, "default", "3", &st), SIPPRES_E_NOTFOUND);
	get(ctx, "3abc", &st);
	assert_string_equal(st.value, "Custom:dot3ab");
	get(ctx, "4", &st);
	assert_string_equal(st.value, "Custom:bang");
	assert_int_equal(sippres_exten_status_get(ctx, "default", "52", &st), SIPPRES_E_NOTFOUND);
	get(ctx, "5a9", &st);
	get(ctx, "529", &st);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "541", &st), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "521", &st), SIPPRES_E_NOTFOUND); /* N is 2-9 */
	get(ctx, "612", &st);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "2000", &st), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "2x5", &st), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "_2XX", &st), SIPPRES_E_NOTFOUND);

	/* an instance is a real hint: device changes reach it */
	assert_int_equal(sippres_device_state_set(ctx, "Custom:lamp215", SIPPRES_DEVICE_INUSE), 0);
	get(ctx, "215", &st);
	assert_int_equal(st.exten_state, SIPPRES_EXTEN_INUSE);

	/* changing the pattern updates its instances */
	assert_int_equal(sippres_hint_set(ctx, "default", "_2XX", "Custom:other${EXTEN}", NULL), 1);
	get(ctx, "215", &st);
	assert_string_equal(st.value, "Custom:other215");
	assert_int_equal(st.exten_state, SIPPRES_EXTEN_NOT_INUSE);
	/* a pattern change that would break an instance is refused as a whole */
	assert_int_equal(sippres_hint_set(ctx, "default", "_2XX", "Custom:${EXTEN:9}", &diag), SIPPRES_E_PARSE);
	get(ctx, "215", &st);
	assert_string_equal(st.value, "Custom:other215");

	/* removing the pattern removes its instances */
	assert_int_equal(sippres_hint_remove(ctx, "default", "_2XX"), 0);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "215", &st), SIPPRES_E_NOTFOUND);
	/* _20X still serves 205 */
	get(ctx, "205", &st);
	/* an instance set explicitly stops following its pattern */
	assert_int_equal(sippres_hint_set(ctx, "default", "209", "Custom:explicit", NULL), 0);
	get(ctx, "209", &st);
	assert_string_equal(st.value, "Custom:explicit");
	assert_int_equal(sippres_hint_set(ctx, "default", "207", "Custom:x", NULL), 0);
	get(ctx, "208", &st); /* instance */
	assert_int_equal(sippres_hint_set(ctx, "default", "208", "Custom:mine", NULL), 1);
	assert_int_equal(sippres_hint_remove(ctx, "default", "_20X"), 0);
	get(ctx, "208", &st);
	assert_string_equal(st.value, "Custom:mine");
	assert_int_equal(sippres_exten_status_get(ctx, "default", "205", &st), SIPPRES_E_NOTFOUND);
}

/* Many pattern hints (issue 11's review: each was inserted into a sorted
 * list and found by a scan, so n patterns took n^2: 20,000 took 4.2 s; now
 * they are sorted at the next lookup): random patterns, set in random order
 * with lookups in between, some replaced and removed; every lookup picks
 * what a brute-force search over the patterns set so far picks (the most
 * specific by sippres__pattern_cmp, the first set among equals). */
static uint32_t prng(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void test_many_patterns(void **state)
{
	enum { N = 3000 };
	static const char *const parts[] = {"1", "2", "3", "X", "N", "Z", "[1-3]", "[25]"};
	static char pats[N][32];
	static int live[N];
	struct sippres_ctx *ctx = *state;
	uint32_t x = 12345;
	int set = 0;

	for (int i = 0; i < N; i++) {
		int len = 1 + (int)(prng(&x) % 4);
		size_t n = 1;

		pats[i][0] = '_';
		for (int k = 0; k < len; k++)
			n += (size_t)snprintf(pats[i] + n, sizeof(pats[i]) - n, "%s", parts[prng(&x) % 8]);
		if (prng(&x) % 3 == 0)
			snprintf(pats[i] + n, sizeof(pats[i]) - n, "%s", prng(&x) % 2 ? "." : "!");
	}
	for (int round = 0; round < 60; round++) {
		/* set 50 more (a name set before is replaced: it keeps its place) */
		for (int k = 0; k < 50 && set < N; k++, set++) {
			char v[48];
			int first = -1;

			for (int j = 0; j < set && first < 0; j++)
				first = live[j] && strcmp(pats[j], pats[set]) == 0 ? j : -1;
			snprintf(v, sizeof(v), "Custom:p%d", first >= 0 ? first : set);
			assert_true(sippres_hint_set(ctx, "many", pats[set], v, NULL) >= 0);
			live[set] = first < 0;
		}
		/* remove a few */
		for (int k = 0; k < 3; k++) {
			int j = (int)(prng(&x) % (uint32_t)set);

			if (live[j]) {
				assert_int_equal(sippres_hint_remove(ctx, "many", pats[j]), 0);
				live[j] = 0;
			}
		}
		for (int q = 0; q < 40; q++) {
			struct sippres_exten_status st = {.size = sizeof(st)};
			char exten[16], want[48];
			int best = -1, r;

			snprintf(exten, sizeof(exten), "%u", prng(&x) % 40000);
			for (int j = 0; j < set; j++) {
				if (live[j] && sippres__pattern_match(pats[j], exten) &&
				    (best < 0 || sippres__pattern_cmp(pats[j], pats[best]) < 0))
					best = j;
			}
			/* instances are not refreshed here: drop each after the check */
			r = sippres_exten_status_get(ctx, "many", exten, &st);
			if (best < 0) {
				assert_int_equal(r, SIPPRES_E_NOTFOUND);
				continue;
			}
			assert_int_equal(r, 0);
			snprintf(want, sizeof(want), "Custom:p%d", best);
			if (strcmp(st.value, want) != 0)
				fail_msg("%s: got %s, want %s (%s)", exten, st.value, want, pats[best]);
			assert_int_equal(sippres_hint_remove(ctx, "many", exten), 0);
		}
	}
}

static int count_cb(void *ud, const struct sippres_exten_status *st)
{
	int *n = ud;
	(*n)++;
	return st->is_pattern ? -1 : 0; /* stop at the first pattern */
}

static void test_foreach(void **state)
{
	struct sippres_ctx *ctx = *state;
	int n = 0;

	assert_int_equal(sippres_hint_foreach(ctx, count_cb, &n), 0);
	assert_int_equal(sippres_hint_set(ctx, "a", "1", "PJSIP/x", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "b", "2", "PJSIP/y", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "b", "_3X", "PJSIP/z", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "b", "4", "PJSIP/w", NULL), 0);
	assert_int_equal(sippres_hint_foreach(ctx, count_cb, &n), 3); /* stopped at _3X */
	assert_int_equal(n, 3);
}

/* 100,000 hints; a device change reaches only the hints that name it. */
static int scale_hits;
static void scale_cb(void *ud, const struct sippres_exten_status *st)
{
	(void)ud;
	(void)st;
	scale_hits++;
}

static void test_scale(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_exten_status st;
	struct sippres_watch *w;
	char exten[16], value[64];

	for (int i = 0; i < 100000; i++) {
		snprintf(exten, sizeof(exten), "%d", 100000 + i);
		snprintf(value, sizeof(value), "PJSIP/u%d&Custom:group%d,CustomPresence:u%d", i, i % 1000, i);
		assert_int_equal(sippres_hint_set(ctx, "scale", exten, value, NULL), 0);
		assert_int_equal(sippres_watch_add(ctx, "scale", exten, scale_cb, NULL, &w), 0);
	}
	scale_hits = 0;
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/u777", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(scale_hits, 1);
	assert_int_equal(sippres_device_state_set(ctx, "Custom:group5", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(scale_hits, 1 + 100); /* group5 is in 100 hints */
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:u99999", SIPPRES_PRESENCE_DND, NULL, NULL), 0);
	assert_int_equal(scale_hits, 102);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	assert_int_equal(sippres_exten_status_get(ctx, "scale", "100777", &st), 0);
	assert_int_equal(st.exten_state, SIPPRES_EXTEN_INUSE);
	assert_int_equal(sippres_exten_status_get(ctx, "scale", "100005", &st), 0);
	assert_int_equal(st.exten_state, SIPPRES_EXTEN_BUSY);
	assert_int_equal(sippres_hint_remove(ctx, "scale", "100005"), 0);
	assert_int_equal(scale_hits, 103); /* its REMOVED event */
}


/* A hint of SIPPRES_MAX_TEXT bytes naming 5,000 devices twice each: each
 * device once, in the order of its first mention (issue 11: the repeats were
 * found by a scan of the ones before, quadratic in the count). */
static void test_many_devices_repeated(void **state)
{
	static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct sippres_ctx *ctx = *state;
	struct sippres_exten_status st;
	char *v = malloc(SIPPRES_MAX_TEXT + 1);
	size_t n = 0;
	int k = 0, last = -1;

	assert_non_null(v);
	/* "A/xyz&A/xyz&..." in the order 0, 1, 0, 2, 1, 3, 2, ...: first mentions in order */
	for (int i = 0; n + 14 <= SIPPRES_MAX_TEXT; i++, k++) {
		int d = i == 0 ? 0 : i % 2 ? (i + 1) / 2 : i / 2 - 1;

		last = d > last ? d : last;
		n += (size_t)snprintf(v + n, 16, "%sA/%c%c%c", n ? "&" : "", b36[d / 1296 % 36], b36[d / 36 % 36],
		                      b36[d % 36]);
	}
	assert_true(k > 9000);
	assert_int_equal(sippres_hint_set(ctx, "default", "many", v, NULL), 0);
	get(ctx, "many", &st);
	assert_int_equal(st.n_devices, (size_t)last + 1);
	for (size_t i = 0; i < st.n_devices; i++) {
		char want[8];

		snprintf(want, sizeof(want), "A/%c%c%c", b36[i / 1296 % 36], b36[i / 36 % 36], b36[i % 36]);
		assert_string_equal(st.devices[i].name, want);
	}
	free(v);
}

/* Where a lookup in context found exten: "value@context", or "" when not found. */
static const char *found(struct sippres_ctx *ctx, const char *context, const char *exten)
{
	static char buf[256];
	struct sippres_exten_status st = {.size = sizeof(st)};
	int r = sippres_exten_status_get(ctx, context, exten, &st);

	if (r == SIPPRES_E_NOTFOUND)
		return "";
	assert_int_equal(r, 0);
	snprintf(buf, sizeof(buf), "%s@%s", st.value, st.context);
	return buf;
}

static void include_set1(struct sippres_ctx *ctx, const char *context, const char *inc)
{
	const char *v[1] = {inc};

	assert_int_equal(sippres_context_include_set(ctx, context, v, 1), 0);
}

static void test_include_order(void **state)
{
	struct sippres_ctx *ctx = *state;
	const char *a_inc[] = {"b", "c"};

	assert_int_equal(sippres_hint_set(ctx, "a", "1", "PJSIP/a1", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "a", "_2X", "Custom:a${EXTEN}", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "b", "20", "PJSIP/b20", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "b", "3", "PJSIP/b3", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "b", "_4X", "Custom:b${EXTEN}", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "c", "3", "PJSIP/c3", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "c", "40", "PJSIP/c40", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "c", "5", "PJSIP/c5", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "c", "6", "PJSIP/c6", NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "d", "6", "PJSIP/d6", NULL), 0);
	/* before any include: one context only, as before */
	assert_string_equal(found(ctx, "a", "3"), "");
	assert_int_equal(sippres_context_include_set(ctx, "a", a_inc, 2), 0);
	include_set1(ctx, "b", "d");
	include_set1(ctx, "d", "a"); /* a loop back to the start */
	assert_string_equal(found(ctx, "a", "1"), "PJSIP/a1@a");
	assert_string_equal(found(ctx, "a", "20"), "Custom:a20@a");  /* own pattern before an included exact hint */
	assert_string_equal(found(ctx, "a", "3"), "PJSIP/b3@b");     /* includes in order */
	assert_string_equal(found(ctx, "a", "40"), "Custom:b40@b");  /* b's pattern before c's exact hint */
	assert_string_equal(found(ctx, "a", "5"), "PJSIP/c5@c");
	assert_string_equal(found(ctx, "a", "6"), "PJSIP/d6@d");     /* depth first: b's include before c */
	assert_string_equal(found(ctx, "a", "99"), "");              /* the loop ends */
	assert_string_equal(found(ctx, "d", "1"), "PJSIP/a1@a");
	assert_string_equal(found(ctx, "b", "5"), "PJSIP/c5@c");     /* b -> d -> a -> (b searched) c */
	assert_string_equal(found(ctx, "c", "1"), "");               /* c includes nothing */
	assert_string_equal(found(ctx, "a", "_2X"), "");             /* patterns are not looked up */
	/* the pattern instance lives in its own context */
	assert_string_equal(found(ctx, "b", "40"), "Custom:b40@b");
	/* replacing the list: c first, b gone */
	include_set1(ctx, "a", "c");
	assert_string_equal(found(ctx, "a", "3"), "PJSIP/c3@c");
	assert_string_equal(found(ctx, "a", "6"), "PJSIP/c6@c");
	assert_string_equal(found(ctx, "a", "41"), "");
	/* a context with only includes is kept; removing them lets it go */
	include_set1(ctx, "only", "c");
	assert_string_equal(found(ctx, "only", "5"), "PJSIP/c5@c");
	assert_int_equal(sippres_context_include_set(ctx, "only", NULL, 0), 0);
	assert_string_equal(found(ctx, "only", "5"), "");
	/* an include of a context that appears later is searched once it has hints */
	include_set1(ctx, "x", "later");
	assert_string_equal(found(ctx, "x", "8"), "");
	assert_int_equal(sippres_hint_set(ctx, "later", "8", "PJSIP/l8", NULL), 0);
	assert_string_equal(found(ctx, "x", "8"), "PJSIP/l8@later");
}

static void test_include_bound(void **state)
{
	struct sippres_ctx *ctx = *state;
	char name[16], next[16];

	/* c0 -> c1 -> ... -> c130: a lookup searches SIPPRES_MAX_INCLUDE_SEARCH contexts */
	for (int i = 0; i < 130; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		snprintf(next, sizeof(next), "c%d", i + 1);
		include_set1(ctx, name, next);
	}
	snprintf(name, sizeof(name), "c%d", SIPPRES_MAX_INCLUDE_SEARCH - 1);
	assert_int_equal(sippres_hint_set(ctx, name, "1", "PJSIP/last", NULL), 0);
	snprintf(name, sizeof(name), "c%d", SIPPRES_MAX_INCLUDE_SEARCH);
	assert_int_equal(sippres_hint_set(ctx, name, "2", "PJSIP/beyond", NULL), 0);
	assert_string_equal(found(ctx, "c0", "1"), "PJSIP/last@c127");
	assert_string_equal(found(ctx, "c0", "2"), "");
	assert_string_equal(found(ctx, "c1", "2"), "PJSIP/beyond@c128");
	/* contexts already searched do not count again: a diamond */
	include_set1(ctx, "top", "c0");
	{
		const char *two[] = {"c0", "c0"};
		assert_int_equal(sippres_context_include_set(ctx, "top", two, 2), 0);
	}
	assert_string_equal(found(ctx, "top", "1"), "");  /* top + c0..c126 = 128 */
	assert_string_equal(found(ctx, "c0", "1"), "PJSIP/last@c127");
}

struct inc_seen {
	struct sippres_ctx *ctx;
	char text[256];
	int calls, reentrant;
};

static int inc_cb(void *ud, const char *context, const char *const *includes, size_t n)
{
	struct inc_seen *s = ud;
	size_t l = strlen(s->text);

	s->calls++;
	snprintf(s->text + l, sizeof(s->text) - l, "%s:", context);
	for (size_t i = 0; i < n; i++) {
		l = strlen(s->text);
		snprintf(s->text + l, sizeof(s->text) - l, "%s%s", i ? "," : "", includes[i]);
	}
	s->reentrant = sippres_context_include_set(s->ctx, context, NULL, 0);
	return 0;
}

static void test_include_api(void **state)
{
	struct sippres_ctx *ctx = *state;
	const char *ok[] = {"b", "c"}, *bad[] = {"b", ""}, *nul[] = {"b", NULL};
	static const char *many[SIPPRES_MAX_INCLUDES + 1];
	struct inc_seen s = {.ctx = ctx};

	assert_int_equal(sippres_context_include_set(NULL, "a", ok, 2), SIPPRES_E_INVAL);
	assert_int_equal(sippres_context_include_set(ctx, NULL, ok, 2), SIPPRES_E_INVAL);
	assert_int_equal(sippres_context_include_set(ctx, "", ok, 2), SIPPRES_E_INVAL);
	assert_int_equal(sippres_context_include_set(ctx, "a", NULL, 1), SIPPRES_E_INVAL);
	assert_int_equal(sippres_context_include_set(ctx, "a", bad, 2), SIPPRES_E_INVAL);
	assert_int_equal(sippres_context_include_set(ctx, "a", nul, 2), SIPPRES_E_INVAL);
	for (size_t i = 0; i < SIPPRES_MAX_INCLUDES + 1; i++)
		many[i] = "z";
	assert_int_equal(sippres_context_include_set(ctx, "a", many, SIPPRES_MAX_INCLUDES + 1), SIPPRES_E_TOOBIG);
	assert_int_equal(sippres_context_include_set(ctx, "a", many, SIPPRES_MAX_INCLUDES), 0);
	assert_int_equal(sippres_context_include_foreach(ctx, NULL, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_context_include_foreach(NULL, inc_cb, &s), SIPPRES_E_INVAL);
	/* nothing to clear: no context is made */
	assert_int_equal(sippres_context_include_set(ctx, "none", NULL, 0), 0);
	assert_int_equal(sippres_context_include_set(ctx, "a", ok, 2), 0);
	assert_int_equal(sippres_context_include_foreach(ctx, inc_cb, &s), 1);
	assert_string_equal(s.text, "a:b,c");
	assert_int_equal(s.reentrant, SIPPRES_E_REENTRANT);
	assert_int_equal(sippres_context_include_set(ctx, "a", NULL, 0), 0);
	assert_int_equal(sippres_context_include_foreach(ctx, inc_cb, &s), 0);
}

static void test_autohints(void **state)
{
	struct sippres_ctx *ctx = *state;
	char dev[32];

	assert_int_equal(sippres_context_autohints_set(NULL, "auto", 3), SIPPRES_E_INVAL);
	assert_int_equal(sippres_context_autohints_set(ctx, "", 3), SIPPRES_E_INVAL);
	assert_int_equal(sippres_hint_set(ctx, "auto", "carol", "PJSIP/other", NULL), 0);
	assert_int_equal(sippres_context_autohints_set(ctx, "auto", 3), 0);
	assert_string_equal(found(ctx, "auto", "alice"), "");
	/* made on the first state of each device, in that context only */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found(ctx, "auto", "alice"), "PJSIP/alice@auto");
	assert_string_equal(found(ctx, "default", "alice"), "");
	{
		struct sippres_exten_status st = {.size = sizeof(st)};
		assert_int_equal(sippres_exten_status_get(ctx, "auto", "alice", &st), 0);
		assert_int_equal(st.exten_state, SIPPRES_EXTEN_INUSE);
	}
	/* an explicit hint wins */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/carol", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found(ctx, "auto", "carol"), "PJSIP/other@auto");
	/* providers too (Asterisk: Custom:bob gives bob) */
	assert_int_equal(sippres_device_state_set(ctx, "Custom:lamp", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found(ctx, "auto", "lamp"), "Custom:lamp@auto");
	/* a resource that cannot be an extension name gets none */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/_x", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found(ctx, "auto", "_x"), "");
	/* the bound: 3 autohints, then none */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/dave", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found(ctx, "auto", "dave"), "PJSIP/dave@auto");
	for (int i = 0; i < 100; i++) {
		snprintf(dev, sizeof(dev), "PJSIP/h%d", i);
		assert_int_equal(sippres_device_state_set(ctx, dev, SIPPRES_DEVICE_INUSE), 0);
	}
	assert_string_equal(found(ctx, "auto", "h0"), "");
	/* removing one makes room; an autohint set explicitly no longer counts */
	assert_int_equal(sippres_hint_remove(ctx, "auto", "dave"), 0);
	assert_int_equal(sippres_hint_set(ctx, "auto", "lamp", "Custom:lamp(Lamp)", NULL), 1);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/h0", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/h1", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/h2", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found(ctx, "auto", "h0"), "PJSIP/h0@auto");
	assert_string_equal(found(ctx, "auto", "h1"), "PJSIP/h1@auto");
	assert_string_equal(found(ctx, "auto", "h2"), "");
	/* off: no more, the ones made stay */
	assert_int_equal(sippres_context_autohints_set(ctx, "auto", 0), 0);
	assert_int_equal(sippres_hint_remove(ctx, "auto", "h1"), 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/h3", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found(ctx, "auto", "h3"), "");
	assert_string_equal(found(ctx, "auto", "h0"), "PJSIP/h0@auto");
	/* a context with only autohints on is kept, and freed with the context */
	assert_int_equal(sippres_context_autohints_set(ctx, "empty", 5), 0);
	assert_int_equal(sippres_context_autohints_set(ctx, "empty2", 5), 0);
	assert_int_equal(sippres_context_autohints_set(ctx, "empty", 0), 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/zed", SIPPRES_DEVICE_INUSE), 0);
	assert_string_equal(found(ctx, "empty2", "zed"), "PJSIP/zed@empty2");
	assert_string_equal(found(ctx, "empty", "zed"), "");
}

static int count_one(void *user_data, const struct sippres_exten_status *st)
{
	(void)st;
	(*(int *)user_data)++;
	return 0;
}

static int hint_count(struct sippres_ctx *ctx)
{
	int n = 0;

	assert_true(sippres_hint_foreach(ctx, count_one, &n) >= 0);
	return n;
}

static void ignore_status(void *user_data, const struct sippres_exten_status *st)
{
	(void)user_data;
	(void)st;
}

static int no_notify(void *user_data, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)user_data;
	(void)sub;
	(void)n;
	return 0;
}

/* Pattern-hint instances live while something watches or subscribes to them
 * (issue 11): a query alone does not keep one, nothing is lost when one goes,
 * and the context's limit gives a clear error (SUBSCRIBE: 503). */
static void test_instances_reclaimed(void **state)
{
	struct sippres_config cfg = {.size = sizeof(cfg), .max_pattern_instances = 8};
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = no_notify};
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default"};
	struct sippres_watch *w[9];
	struct sippres_sub *subs[9];
	struct sippres_exten_status st;
	struct sippres_ctx *ctx;
	char exten[16];

	(void)state;
	assert_int_equal(sippres_ctx_new(&cfg, &cb, NULL, &ctx), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "_1XX", "PJSIP/${EXTEN}", NULL), 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/101", SIPPRES_DEVICE_INUSE), 0);
	/* queries: each instance goes at the next call, so any number of them fits */
	for (int i = 0; i < 100; i++) {
		snprintf(exten, sizeof(exten), "1%02d", i);
		get(ctx, exten, &st);
		assert_int_equal(st.is_pattern, 0);
	}
	assert_int_equal(hint_count(ctx), 2); /* the pattern and the last instance */
	/* watches keep theirs: 8 fit, the 9th is refused */
	for (int i = 0; i < 8; i++) {
		snprintf(exten, sizeof(exten), "1%02d", i);
		assert_int_equal(sippres_watch_add(ctx, "default", exten, ignore_status, NULL, &w[i]), 0);
	}
	assert_int_equal(hint_count(ctx), 9);
	assert_int_equal(sippres_watch_add(ctx, "default", "108", ignore_status, NULL, &w[8]), SIPPRES_E_TOOBIG);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "108", &st), SIPPRES_E_TOOBIG);
	/* one watch goes: its instance goes, and there is room again */
	sippres_watch_remove(ctx, w[0]);
	assert_int_equal(hint_count(ctx), 8);
	assert_int_equal(sippres_watch_add(ctx, "default", "108", ignore_status, NULL, &w[0]), 0);
	/* an instance set explicitly is a hint of its own: not reclaimed, not counted */
	assert_int_equal(sippres_hint_set(ctx, "default", "102", "PJSIP/102", NULL), 1);
	for (int i = 0; i < 8; i++)
		sippres_watch_remove(ctx, w[i]);
	assert_int_equal(hint_count(ctx), 2); /* the pattern and 102 */
	/* the state an instance showed comes back with it */
	get(ctx, "101", &st);
	assert_int_equal(st.exten_state, SIPPRES_EXTEN_INUSE);

	/* subscriptions keep theirs until they end; past the limit: 503 */
	assert_int_equal(sippres_endpoint_set(ctx, "phone", &ep), 0);
	for (int i = 0; i < 9; i++) {
		struct sippres_subscribe_req req;
		struct sippres_subscribe_res res = {.size = sizeof(res)};
		char call_id[16];

		snprintf(exten, sizeof(exten), "1%02d", 10 + i);
		snprintf(call_id, sizeof(call_id), "c%d", i);
		memset(&req, 0, sizeof(req));
		req.size = sizeof(req);
		req.endpoint = "phone";
		req.ruri_scheme = "sip";
		req.ruri_user = exten;
		req.ruri_host = "example.com";
		req.from_uri = "sip:phone@example.com";
		req.from_tag = "t";
		req.call_id = call_id;
		req.contact = "sip:phone@192.0.2.1";
		req.event = "presence";
		req.expires = 60;
		subs[i] = NULL;
		assert_int_equal(sippres_subscribe(ctx, &req, 0, &res, &subs[i]), 0);
		assert_int_equal(res.status, i < 8 ? 200 : 503);
	}
	assert_int_equal(sippres_ctx_handle_timeout(ctx, 0) >= 0, 1);
	assert_int_equal(hint_count(ctx), 10);
	/* they expire: their instances go with them */
	assert_true(sippres_ctx_handle_timeout(ctx, 60 * 1000) >= 0);
	assert_int_equal(sippres_sub_count(ctx), 0);
	assert_int_equal(hint_count(ctx), 2);
	sippres_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instances_reclaimed),
		cmocka_unit_test_setup_teardown(test_valid_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_aggregation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patterns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_devices_repeated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_patterns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_autohints, setup, teardown),
	};
	return cmocka_run_group_tests_name("hints", tests, NULL, NULL);
}
