/* SPDX-License-Identifier: MIT */
/* Device/extension/presence state tables and Asterisk's aggregation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "core/core-private.h"

enum { UNK, NIU, INU, BSY, INV, UNA, RNG, RIU, HLD };
#define E_IDLE SIPPRES_EXTEN_NOT_INUSE
#define E_INUSE SIPPRES_EXTEN_INUSE
#define E_BUSY SIPPRES_EXTEN_BUSY
#define E_UNAV SIPPRES_EXTEN_UNAVAILABLE
#define E_RING SIPPRES_EXTEN_RINGING
#define E_IR (SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING)
#define E_HOLD SIPPRES_EXTEN_ONHOLD

/* Asterisk's aggregate of two devices (rows: first, columns: second),
 * in enum order UNKNOWN NOT_INUSE INUSE BUSY INVALID UNAVAILABLE RINGING RINGINUSE ONHOLD. */
static const int combined[9][9] = {
	/* UNKNOWN */ {UNK, NIU, INU, BSY, UNK, UNA, RNG, RIU, HLD},
	/* NOT_INUSE */ {NIU, NIU, INU, BSY, NIU, NIU, RNG, RIU, HLD},
	/* INUSE */ {INU, INU, INU, BSY, INU, INU, RIU, RIU, INU},
	/* BUSY */ {BSY, BSY, BSY, BSY, BSY, BSY, RIU, RIU, BSY},
	/* INVALID */ {UNK, NIU, INU, BSY, INV, UNA, RNG, RIU, HLD},
	/* UNAVAILABLE */ {UNA, NIU, INU, BSY, UNA, UNA, RNG, RIU, HLD},
	/* RINGING */ {RNG, RNG, RIU, RIU, RNG, RNG, RNG, RIU, RIU},
	/* RINGINUSE */ {RIU, RIU, RIU, RIU, RIU, RIU, RIU, RIU, RIU},
	/* ONHOLD */ {HLD, HLD, INU, BSY, HLD, HLD, RIU, RIU, HLD},
};
static const int exten_of[9] = {E_IDLE, E_IDLE, E_INUSE, E_BUSY, E_UNAV, E_UNAV, E_RING, E_IR, E_HOLD};

static void test_aggregation_table(void **state)
{
	(void)state;
	for (int a = 0; a < 9; a++) {
		for (int b = 0; b < 9; b++) {
			int in[2] = {a, b};
			int agg = sippres_device_state_aggregate(in, 2);

			if (agg != combined[a][b])
				fail_msg("%s + %s: got %s, want %s", sippres_device_state_name(a),
				         sippres_device_state_name(b), sippres_device_state_name(agg),
				         sippres_device_state_name(combined[a][b]));
			assert_int_equal(sippres_device_to_exten_state(agg), exten_of[combined[a][b]]);
		}
	}
}

static void test_aggregation_edges(void **state)
{
	int one[1], three[3] = {RNG, NIU, HLD};

	(void)state;
	assert_int_equal(sippres_device_state_aggregate(NULL, 0), INV);
	for (int s = 0; s < 9; s++) {
		one[0] = s;
		assert_int_equal(sippres_device_state_aggregate(one, 1), s);
	}
	/* ringing + (later) on hold, with an idle device between: RINGINUSE */
	assert_int_equal(sippres_device_state_aggregate(three, 3), RIU);
	three[0] = 9;
	assert_int_equal(sippres_device_state_aggregate(three, 3), SIPPRES_E_INVAL);
	three[0] = -1;
	assert_int_equal(sippres_device_state_aggregate(three, 3), SIPPRES_E_INVAL);
	assert_int_equal(sippres_device_state_aggregate(NULL, 2), SIPPRES_E_INVAL);
}

static void test_device_names(void **state)
{
	static const char *names[9] = {"UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID",
	                               "UNAVAILABLE", "RINGING", "RINGINUSE", "ONHOLD"};
	static const char *descr[9] = {"Unknown", "Not in use", "In use", "Busy", "Invalid",
	                               "Unavailable", "Ringing", "Ring+Inuse", "On Hold"};
	char lower[32];

	(void)state;
	for (int s = 0; s < 9; s++) {
		size_t n = strlen(names[s]);

		assert_string_equal(sippres_device_state_name(s), names[s]);
		assert_string_equal(sippres_device_state_description(s), descr[s]);
		assert_int_equal(sippres_device_state_from_string(names[s], n), s);
		for (size_t i = 0; i <= n; i++)
			lower[i] = (char)((names[s][i] >= 'A' && names[s][i] <= 'Z') ? names[s][i] + 32 : names[s][i]);
		assert_int_equal(sippres_device_state_from_string(lower, n), s);
		/* a prefix is not a state */
		assert_int_equal(sippres_device_state_from_string(names[s], n - 1), SIPPRES_E_INVAL);
	}
	assert_int_equal(sippres_device_state_from_string("INUSEX", 6), SIPPRES_E_INVAL);
	assert_int_equal(sippres_device_state_from_string("", 0), SIPPRES_E_INVAL);
	assert_int_equal(sippres_device_state_from_string(NULL, 0), SIPPRES_E_INVAL);
	/* length is honoured: "BUSY" out of "BUSYBOX" */
	assert_int_equal(sippres_device_state_from_string("BUSYBOX", 4), SIPPRES_DEVICE_BUSY);
	assert_string_equal(sippres_device_state_name(42), "UNKNOWN");
	assert_string_equal(sippres_device_state_name(-1), "UNKNOWN");
}

static void test_exten_strings(void **state)
{
	(void)state;
	assert_string_equal(sippres_exten_state_string(0), "Idle");
	assert_string_equal(sippres_exten_state_string(1), "InUse");
	assert_string_equal(sippres_exten_state_string(2), "Busy");
	assert_string_equal(sippres_exten_state_string(4), "Unavailable");
	assert_string_equal(sippres_exten_state_string(8), "Ringing");
	assert_string_equal(sippres_exten_state_string(9), "InUse&Ringing");
	assert_string_equal(sippres_exten_state_string(16), "Hold");
	assert_string_equal(sippres_exten_state_string(17), "InUse&Hold");
	assert_string_equal(sippres_exten_state_string(-1), "Unknown");
	assert_string_equal(sippres_exten_state_string(-2), "Unknown");
	assert_string_equal(sippres_exten_state_string(3), "Unknown");
	/* device -> extension mapping, including the default for out-of-range */
	assert_int_equal(sippres_device_to_exten_state(SIPPRES_DEVICE_UNKNOWN), E_IDLE);
	assert_int_equal(sippres_device_to_exten_state(SIPPRES_DEVICE_INVALID), E_UNAV);
	assert_int_equal(sippres_device_to_exten_state(SIPPRES_DEVICE_RINGINUSE), E_IR);
	assert_int_equal(sippres_device_to_exten_state(99), E_IDLE);
}

static void test_presence_names(void **state)
{
	static const char *names[7] = {"not_set", "unavailable", "available", "away", "xa", "chat", "dnd"};

	(void)state;
	for (int s = 0; s < 7; s++) {
		assert_string_equal(sippres_presence_state_name(s), names[s]);
		assert_int_equal(sippres_presence_state_from_string(names[s], strlen(names[s])), s);
	}
	assert_int_equal(sippres_presence_state_from_string("AWAY", 4), SIPPRES_PRESENCE_AWAY);
	assert_int_equal(sippres_presence_state_from_string("Dnd", 3), SIPPRES_PRESENCE_DND);
	assert_int_equal(sippres_presence_state_from_string("", 0), SIPPRES_E_INVAL);
	assert_int_equal(sippres_presence_state_from_string("invalid", 7), SIPPRES_E_INVAL);
	assert_int_equal(sippres_presence_state_from_string("busy", 4), SIPPRES_E_INVAL);
	assert_string_equal(sippres_presence_state_name(SIPPRES_PRESENCE_INVALID), "");
	assert_string_equal(sippres_presence_state_name(8), "");
}

static void test_strerror(void **state)
{
	(void)state;
	for (int e = -20; e <= 0; e++)
		assert_non_null(sippres_strerror(e));
	assert_string_equal(sippres_strerror(SIPPRES_E_NOMEM), "out of memory");
	assert_string_equal(sippres_strerror(-12345), "unknown error");
	assert_string_equal(sippres_strerror(12345), "unknown error");
	assert_string_equal(sippres_version_string(), SIPPRES_VERSION_STRING);
	assert_true(SIPPRES_CHECK_VERSION(0, 1, 0));
	assert_false(SIPPRES_CHECK_VERSION(SIPPRES_VERSION_MAJOR + 1, 0, 0));
}

/* The scratch set behind the duplicate checks (lib/core/set.c): strings by
 * content, pointers by address, values kept, growth keeps every key. */
static void test_scratch_set(void **state)
{
	static char names[3000][8];
	struct sippres_ctx *ctx;
	struct sippres__set s, p;
	size_t v;

	(void)state;
	assert_int_equal(sippres_ctx_new(NULL, NULL, NULL, &ctx), 0);
	sippres__set_init(ctx, &s, true);
	sippres__set_init(ctx, &p, false);
	assert_false(sippres__set_find(&s, "x", NULL));
	for (size_t i = 0; i < 3000; i++) {
		snprintf(names[i], sizeof(names[i]), "n%zu", i % 1000);
		assert_int_equal(sippres__set_add(ctx, &s, names[i], i, &v), i < 1000 ? 1 : 0);
		if (i >= 1000)
			assert_int_equal(v, i % 1000); /* the first one's value; nothing changed */
		assert_int_equal(sippres__set_add(ctx, &p, names[i], i, NULL), 1); /* other addresses */
	}
	assert_int_equal(s.n, 1000);
	assert_int_equal(p.n, 3000);
	assert_true(s.cap >= 2 * s.n);
	assert_true(sippres__set_find(&s, "n999", &v));
	assert_int_equal(v, 999);
	assert_false(sippres__set_find(&s, "n1000", NULL));
	assert_true(sippres__set_find(&p, names[2999], &v));
	assert_int_equal(v, 2999);
	assert_int_equal(sippres__set_reserve(ctx, &p, 10000), 0);
	assert_true(p.cap >= 20000);
	assert_true(sippres__set_find(&p, names[5], &v));
	assert_int_equal(v, 5);
	sippres__set_fini(ctx, &s);
	sippres__set_fini(ctx, &p);
	assert_false(sippres__set_find(&s, "n1", NULL));
	sippres_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aggregation_table), cmocka_unit_test(test_aggregation_edges),
		cmocka_unit_test(test_device_names),     cmocka_unit_test(test_exten_strings),
		cmocka_unit_test(test_presence_names),   cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_scratch_set),
	};
	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
