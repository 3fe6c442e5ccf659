/* SPDX-License-Identifier: MIT */
/* Frozen ABI of the public header, after wayland-egl-abi-check.c: the size and
 * offset of every member of every public struct, and the value of every public
 * enum constant, error code and numeric macro, as released, on LP64 (x86_64,
 * aarch64, ...). A change here is an ABI break for binaries built against an
 * older header, so these numbers are only ever appended to: a member appended
 * to a size-prefixed struct gets a new MEMBER line (and a new sizeof), a new
 * constant a new line. tests/header-check.py (layout-coverage) makes sure
 * every struct member and constant of the header appears here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

struct member {
	const char *name;
	size_t offset, frozen_offset;
	size_t size, frozen_size;
};

#define MEMBER(type, m, off, sz) \
	{#m, offsetof(struct type, m), (off), sizeof(((struct type *)0)->m), (sz)}

/* Report every difference of one struct, then fail if there was any. */
static void check_struct(const char *type, size_t size, size_t frozen_size, const struct member *m, size_t n)
{
	int bad = 0;

	if (size != frozen_size) {
		print_error("struct %s: sizeof is %zu, frozen at %zu\n", type, size, frozen_size);
		bad++;
	}
	for (size_t i = 0; i < n; i++) {
		if (m[i].offset != m[i].frozen_offset) {
			print_error("struct %s: offsetof(%s) is %zu, frozen at %zu\n", type, m[i].name, m[i].offset,
			            m[i].frozen_offset);
			bad++;
		}
		if (m[i].size != m[i].frozen_size) {
			print_error("struct %s: sizeof(%s) is %zu, frozen at %zu\n", type, m[i].name, m[i].size,
			            m[i].frozen_size);
			bad++;
		}
	}
	if (bad)
		fail_msg("struct %s: %d layout difference(s) from the frozen ABI", type, bad);
}

#define CHECK_STRUCT(type, frozen_size, members) \
	check_struct(#type, sizeof(struct type), (frozen_size), (members), sizeof(members) / sizeof((members)[0]))

static void test_allocator(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_allocator, size, 0, 8),
		MEMBER(sippres_allocator, user_data, 8, 8),
		MEMBER(sippres_allocator, malloc, 16, 8),
		MEMBER(sippres_allocator, realloc, 24, 8),
		MEMBER(sippres_allocator, free, 32, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_allocator, 40, m);
}

static void test_config(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_config, size, 0, 8),
		MEMBER(sippres_config, allocator, 8, 8),
		MEMBER(sippres_config, log_level, 16, 4),
		MEMBER(sippres_config, flags, 20, 4),
	};
	(void)state;
	CHECK_STRUCT(sippres_config, 24, m);
}

static void test_callbacks(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_callbacks, size, 0, 8),
		MEMBER(sippres_callbacks, log, 8, 8),
		MEMBER(sippres_callbacks, random, 16, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_callbacks, 24, m);
}

static void test_diag(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_diag, size, 0, 8),
		MEMBER(sippres_diag, line, 8, 4),
		MEMBER(sippres_diag, column, 12, 4),
		MEMBER(sippres_diag, message, 16, 256),
	};
	(void)state;
	CHECK_STRUCT(sippres_diag, 272, m);
}

static void test_call(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_call, size, 0, 8),
		MEMBER(sippres_call, call_id, 8, 8),
		MEMBER(sippres_call, local_tag, 16, 8),
		MEMBER(sippres_call, remote_tag, 24, 8),
		MEMBER(sippres_call, state, 32, 4),
		MEMBER(sippres_call, direction, 36, 4),
		MEMBER(sippres_call, flags, 40, 4),
		MEMBER(sippres_call, local_uri, 48, 8),
		MEMBER(sippres_call, local_display, 56, 8),
		MEMBER(sippres_call, remote_uri, 64, 8),
		MEMBER(sippres_call, remote_display, 72, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_call, 80, m);
}

/* Not size-prefixed: an array element (sippres_exten_status.devices), so it
 * can never grow within soname 0. */
static void test_device_info(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_device_info, name, 0, 8),
		MEMBER(sippres_device_info, state, 8, 4),
		MEMBER(sippres_device_info, causing_call, 16, 8),
	};
	(void)state;
	CHECK_STRUCT(sippres_device_info, 24, m);
}

static void test_exten_status(void **state)
{
	static const struct member m[] = {
		MEMBER(sippres_exten_status, size, 0, 8),
		MEMBER(sippres_exten_status, context, 8, 8),
		MEMBER(sippres_exten_status, exten, 16, 8),
		MEMBER(sippres_exten_status, value, 24, 8),
		MEMBER(sippres_exten_status, display_name, 32, 8),
		MEMBER(sippres_exten_status, reason, 40, 4),
		MEMBER(sippres_exten_status, exten_state, 44, 4),
		MEMBER(sippres_exten_status, device_state, 48, 4),
		MEMBER(sippres_exten_status, presence_state, 52, 4),
		MEMBER(sippres_exten_status, presence_subtype, 56, 8),
		MEMBER(sippres_exten_status, presence_message, 64, 8),
		MEMBER(sippres_exten_status, devices, 72, 8),
		MEMBER(sippres_exten_status, n_devices, 80, 8),
		MEMBER(sippres_exten_status, causing_call, 88, 8),
		MEMBER(sippres_exten_status, is_pattern, 96, 4),
	};
	(void)state;
	CHECK_STRUCT(sippres_exten_status, 104, m);
}

struct constant {
	const char *name;
	long long value, frozen;
};

#define CONSTANT(c, v) {#c, (long long)(c), (v)}

static void check_constants(const char *what, const struct constant *c, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		if (c[i].value != c[i].frozen) {
			print_error("%s: %s is %lld, frozen at %lld\n", what, c[i].name, c[i].value, c[i].frozen);
			bad++;
		}
	}
	if (bad)
		fail_msg("%s: %d value(s) differ from the frozen ABI", what, bad);
}

#define CHECK_CONSTANTS(what, table) check_constants((what), (table), sizeof(table) / sizeof((table)[0]))

/* Never renumbered, never reused. */
static void test_error_codes(void **state)
{
	static const struct constant c[] = {
		CONSTANT(SIPPRES_OK, 0),
		CONSTANT(SIPPRES_E_INVAL, -1),
		CONSTANT(SIPPRES_E_NOMEM, -2),
		CONSTANT(SIPPRES_E_ABI, -3),
		CONSTANT(SIPPRES_E_NOTFOUND, -4),
		CONSTANT(SIPPRES_E_EXISTS, -5),
		CONSTANT(SIPPRES_E_CALLBACK, -6),
		CONSTANT(SIPPRES_E_PARSE, -7),
		CONSTANT(SIPPRES_E_TOOBIG, -8),
		CONSTANT(SIPPRES_E_REENTRANT, -9),
		CONSTANT(SIPPRES_E_RANDOM, -10),
	};
	(void)state;
	CHECK_CONSTANTS("error codes", c);
}

static void test_enums(void **state)
{
	static const struct constant c[] = {
		CONSTANT(SIPPRES_LOG_ERROR, 0),
		CONSTANT(SIPPRES_LOG_WARNING, 1),
		CONSTANT(SIPPRES_LOG_INFO, 2),
		CONSTANT(SIPPRES_LOG_DEBUG, 3),

		CONSTANT(SIPPRES_DEVICE_UNKNOWN, 0),
		CONSTANT(SIPPRES_DEVICE_NOT_INUSE, 1),
		CONSTANT(SIPPRES_DEVICE_INUSE, 2),
		CONSTANT(SIPPRES_DEVICE_BUSY, 3),
		CONSTANT(SIPPRES_DEVICE_INVALID, 4),
		CONSTANT(SIPPRES_DEVICE_UNAVAILABLE, 5),
		CONSTANT(SIPPRES_DEVICE_RINGING, 6),
		CONSTANT(SIPPRES_DEVICE_RINGINUSE, 7),
		CONSTANT(SIPPRES_DEVICE_ONHOLD, 8),

		CONSTANT(SIPPRES_EXTEN_REMOVED, -2),
		CONSTANT(SIPPRES_EXTEN_DEACTIVATED, -1),
		CONSTANT(SIPPRES_EXTEN_NOT_INUSE, 0),
		CONSTANT(SIPPRES_EXTEN_INUSE, 1),
		CONSTANT(SIPPRES_EXTEN_BUSY, 2),
		CONSTANT(SIPPRES_EXTEN_UNAVAILABLE, 4),
		CONSTANT(SIPPRES_EXTEN_RINGING, 8),
		CONSTANT(SIPPRES_EXTEN_ONHOLD, 16),

		CONSTANT(SIPPRES_PRESENCE_NOT_SET, 0),
		CONSTANT(SIPPRES_PRESENCE_UNAVAILABLE, 1),
		CONSTANT(SIPPRES_PRESENCE_AVAILABLE, 2),
		CONSTANT(SIPPRES_PRESENCE_AWAY, 3),
		CONSTANT(SIPPRES_PRESENCE_XA, 4),
		CONSTANT(SIPPRES_PRESENCE_CHAT, 5),
		CONSTANT(SIPPRES_PRESENCE_DND, 6),
		CONSTANT(SIPPRES_PRESENCE_INVALID, 7),

		CONSTANT(SIPPRES_CALL_EARLY, 0),
		CONSTANT(SIPPRES_CALL_CONFIRMED, 1),
		CONSTANT(SIPPRES_CALL_HELD, 2),
		CONSTANT(SIPPRES_CALL_TERMINATED, 3),

		CONSTANT(SIPPRES_DIRECTION_RECIPIENT, 0),
		CONSTANT(SIPPRES_DIRECTION_INITIATOR, 1),

		CONSTANT(SIPPRES_REASON_QUERY, 0),
		CONSTANT(SIPPRES_REASON_DEVICE, 1),
		CONSTANT(SIPPRES_REASON_PRESENCE, 2),
		CONSTANT(SIPPRES_REASON_HINT, 3),
		CONSTANT(SIPPRES_REASON_REMOVED, 4),
	};
	(void)state;
	CHECK_CONSTANTS("enum constants", c);
}

static void test_macros(void **state)
{
	static const struct constant c[] = {
		CONSTANT(SIPPRES_MAX_NAME, 1024),
		CONSTANT(SIPPRES_MAX_TEXT, 65536),
		CONSTANT(SIPPRES_DEVICE_STATE_COUNT, 9),
		CONSTANT(SIPPRES_PRESENCE_STATE_COUNT, 8),
		CONSTANT(SIPPRES_CALL_NAME_RESTRICTED, 0x1),
		CONSTANT(SIPPRES_CALL_NUMBER_RESTRICTED, 0x2),
	};
	(void)state;
	CHECK_CONSTANTS("numeric macros", c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allocator),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_callbacks),
		cmocka_unit_test(test_diag),
		cmocka_unit_test(test_call),
		cmocka_unit_test(test_device_info),
		cmocka_unit_test(test_exten_status),
		cmocka_unit_test(test_error_codes),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_macros),
	};

	/* The frozen numbers are LP64's (64-bit size_t, pointers and long). */
	if (sizeof(void *) != 8 || sizeof(size_t) != 8 || sizeof(long) != 8) {
		printf("1..0 # SKIP frozen layouts are recorded for LP64 platforms only\n");
		return 0;
	}
	return cmocka_run_group_tests_name("abi-layout", tests, NULL, NULL);
}
