/* SPDX-License-Identifier: MIT */
/* Watches: when they fire and when they do not (Asterisk's repeat rules),
 * hint replacement and removal, re-entrancy, calls and the causing call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#define MAX_EV 32
struct rec {
	struct sippres_ctx *ctx;
	int n;
	struct {
		uint32_t reason;
		int32_t exten_state;
		uint32_t presence;
		char subtype[32], message[32];
		size_t n_devices;
		char causing_call_id[32], causing_remote[64];
		int reentrant_result;
	} ev[MAX_EV];
	struct sippres_watch *remove_in_cb; /* removed when the next event arrives */
	int try_reentry;
};

static void rec_cb(void *ud, const struct sippres_exten_status *st)
{
	struct rec *r = ud;

	assert_true(r->n < MAX_EV);
	r->ev[r->n].reason = st->reason;
	r->ev[r->n].exten_state = st->exten_state;
	r->ev[r->n].presence = st->presence_state;
	snprintf(r->ev[r->n].subtype, 32, "%s", st->presence_subtype);
	snprintf(r->ev[r->n].message, 32, "%s", st->presence_message);
	r->ev[r->n].n_devices = st->n_devices;
	r->ev[r->n].causing_call_id[0] = r->ev[r->n].causing_remote[0] = '\0';
	if (st->causing_call) {
		snprintf(r->ev[r->n].causing_call_id, 32, "%s", st->causing_call->call_id);
		snprintf(r->ev[r->n].causing_remote, 64, "%s",
		         st->causing_call->remote_uri ? st->causing_call->remote_uri : "");
	}
	if (r->try_reentry) {
		struct sippres_exten_status q = {.size = sizeof(q)};
		struct sippres_watch *w;

		r->ev[r->n].reentrant_result = sippres_device_state_set(r->ctx, "PJSIP/x", 1);
		assert_int_equal(sippres_presence_state_set(r->ctx, "CustomPresence:x", 1, NULL, NULL),
		                 SIPPRES_E_REENTRANT);
		assert_int_equal(sippres_hint_set(r->ctx, "default", "9", "PJSIP/x", NULL), SIPPRES_E_REENTRANT);
		assert_int_equal(sippres_hint_remove(r->ctx, "default", "1000"), SIPPRES_E_REENTRANT);
		assert_int_equal(sippres_watch_add(r->ctx, "default", "1000", rec_cb, r, &w), SIPPRES_E_REENTRANT);
		/* queries are fine, and do not disturb the status being delivered */
		assert_int_equal(sippres_exten_status_get(r->ctx, "default", "1000", &q), 0);
		assert_int_equal(q.exten_state, st->exten_state);
	}
	if (r->remove_in_cb) {
		sippres_watch_remove(r->ctx, r->remove_in_cb);
		r->remove_in_cb = NULL;
	}
	r->n++;
}

struct fixture {
	struct sippres_ctx *ctx;
	struct rec rec;
	struct sippres_watch *w;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (sippres_ctx_new(NULL, NULL, NULL, &f.ctx) < 0)
		return -1;
	f.rec.ctx = f.ctx;
	if (sippres_hint_set(f.ctx, "default", "1000", "PJSIP/alice&PJSIP/bob,CustomPresence:alice", NULL) < 0)
		return -1;
	if (sippres_watch_add(f.ctx, "default", "1000", rec_cb, &f.rec, &f.w) < 0)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	sippres_ctx_free(f->ctx);
	return 0;
}

static void test_device_changes(void **state)
{
	struct fixture *f = *state;
	struct sippres_ctx *ctx = f->ctx;

	/* UNKNOWN -> NOT_INUSE: both Idle: nothing */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_int_equal(f->rec.n, 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.ev[0].reason, SIPPRES_REASON_DEVICE);
	assert_int_equal(f->rec.ev[0].exten_state, SIPPRES_EXTEN_INUSE);
	assert_int_equal(f->rec.ev[0].n_devices, 2);
	/* the same state again: nothing (devstate_repeat) */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(f->rec.n, 1);
	/* bob on hold: INUSE outranks ONHOLD: no change */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_ONHOLD), 0);
	assert_int_equal(f->rec.n, 1);
	/* bob rings while alice is in use: InUse&Ringing */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(f->rec.ev[1].exten_state, SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING);
	/* a repeated ringing state notifies again (new caller) */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(f->rec.n, 3);
	assert_int_equal(f->rec.ev[2].exten_state, SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING);
	/* a device of no hint: nothing */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/carol", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(f->rec.n, 3);
	/* names compare case-insensitively */
	assert_int_equal(sippres_device_state_set(ctx, "pjsip/BOB", SIPPRES_DEVICE_UNAVAILABLE), 0);
	assert_int_equal(f->rec.n, 4);
	assert_int_equal(f->rec.ev[3].exten_state, SIPPRES_EXTEN_INUSE);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_UNAVAILABLE), 0);
	assert_int_equal(f->rec.n, 5);
	assert_int_equal(f->rec.ev[4].exten_state, SIPPRES_EXTEN_UNAVAILABLE);
}

static void test_presence_changes(void **state)
{
	struct fixture *f = *state;
	struct sippres_ctx *ctx = f->ctx;

	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "lunch", "banana"), 0);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.ev[0].reason, SIPPRES_REASON_PRESENCE);
	assert_int_equal(f->rec.ev[0].presence, SIPPRES_PRESENCE_AWAY);
	assert_string_equal(f->rec.ev[0].subtype, "lunch");
	assert_string_equal(f->rec.ev[0].message, "banana");
	assert_int_equal(f->rec.ev[0].exten_state, SIPPRES_EXTEN_NOT_INUSE);
	/* identical triple: nothing (presencestate_repeat) */
	assert_int_equal(sippres_presence_state_set(ctx, "CUSTOMPRESENCE:alice", SIPPRES_PRESENCE_AWAY, "lunch", "banana"), 0);
	assert_int_equal(f->rec.n, 1);
	/* subtype-only and message-only changes notify (presencestate_repeat_okay) */
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "dinner", "banana"), 0);
	assert_int_equal(f->rec.n, 2);
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "dinner", "apple"), 0);
	assert_int_equal(f->rec.n, 3);
	/* "" is the same as unset */
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "dinner", NULL), 0);
	assert_int_equal(f->rec.n, 4);
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "dinner", ""), 0);
	assert_int_equal(f->rec.n, 4);
	/* a provider in no hint: nothing */
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:bob", SIPPRES_PRESENCE_DND, NULL, NULL), 0);
	assert_int_equal(f->rec.n, 4);
	/* device changes do not repeat presence events and vice versa */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(f->rec.n, 5);
	assert_int_equal(f->rec.ev[4].reason, SIPPRES_REASON_DEVICE);
	assert_int_equal(f->rec.ev[4].presence, SIPPRES_PRESENCE_AWAY);
}

static void test_hint_replace_and_remove(void **state)
{
	struct fixture *f = *state;
	struct sippres_ctx *ctx = f->ctx;
	struct rec other = {.ctx = ctx};
	struct sippres_watch *w2;

	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/carol", SIPPRES_DEVICE_INUSE), 0);
	/* a replacement that keeps the state: nothing */
	assert_int_equal(sippres_hint_set(ctx, "default", "1000", "PJSIP/alice,CustomPresence:alice", NULL), 1);
	assert_int_equal(f->rec.n, 0);
	/* one that changes it: an event with reason HINT */
	assert_int_equal(sippres_hint_set(ctx, "default", "1000", "PJSIP/carol", NULL), 1);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(f->rec.ev[0].reason, SIPPRES_REASON_HINT);
	assert_int_equal(f->rec.ev[0].exten_state, SIPPRES_EXTEN_INUSE);
	/* the watch follows the new devices */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/carol", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_int_equal(f->rec.n, 2);
	/* presence provider added by replacement with a set value: presence change */
	assert_int_equal(sippres_presence_state_set(ctx, "CustomPresence:carol", SIPPRES_PRESENCE_XA, NULL, NULL), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "1000", "PJSIP/carol,CustomPresence:carol", NULL), 1);
	assert_int_equal(f->rec.n, 3);
	assert_int_equal(f->rec.ev[2].presence, SIPPRES_PRESENCE_XA);

	/* removal: every watch gets REMOVED once, then is gone */
	assert_int_equal(sippres_watch_add(ctx, "default", "1000", rec_cb, &other, &w2), 0);
	assert_int_equal(sippres_hint_remove(ctx, "default", "1000"), 0);
	assert_int_equal(f->rec.n, 4);
	assert_int_equal(f->rec.ev[3].reason, SIPPRES_REASON_REMOVED);
	assert_int_equal(f->rec.ev[3].exten_state, SIPPRES_EXTEN_REMOVED);
	assert_int_equal(other.n, 1);
	assert_int_equal(other.ev[0].exten_state, SIPPRES_EXTEN_REMOVED);
	/* a new hint under the same name has no watches */
	assert_int_equal(sippres_hint_set(ctx, "default", "1000", "PJSIP/carol", NULL), 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/carol", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(f->rec.n, 4);
	assert_int_equal(other.n, 1);
	/* watch on a missing hint */
	assert_int_equal(sippres_watch_add(ctx, "default", "nope", rec_cb, &other, &w2), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_watch_add(ctx, "default", "1000", NULL, &other, &w2), SIPPRES_E_INVAL);
	sippres_watch_remove(ctx, NULL);
}

static void test_reentrancy_and_removal_in_callback(void **state)
{
	struct fixture *f = *state;
	struct sippres_ctx *ctx = f->ctx;
	struct rec second = {.ctx = ctx}, third = {.ctx = ctx};
	struct sippres_watch *w2, *w3;

	assert_int_equal(sippres_watch_add(ctx, "default", "1000", rec_cb, &second, &w2), 0);
	assert_int_equal(sippres_watch_add(ctx, "default", "1000", rec_cb, &third, &w3), 0);
	f->rec.try_reentry = 1;
	f->rec.remove_in_cb = w2; /* the first watch removes the second during the event */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(f->rec.ev[0].reentrant_result, SIPPRES_E_REENTRANT);
	assert_int_equal(f->rec.n, 1);
	assert_int_equal(second.n, 0); /* removed before its turn */
	assert_int_equal(third.n, 1);
	/* a watch removing itself */
	third.remove_in_cb = w3;
	f->rec.try_reentry = 0;
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(third.n, 2);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(third.n, 2);
	assert_int_equal(f->rec.n, 3);
	/* after the callbacks, state changes work again */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/x", SIPPRES_DEVICE_INUSE), 0);
	/* the fixture watch removed outside a callback */
	sippres_watch_remove(ctx, f->w);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(f->rec.n, 3);
}

static void set_call(struct sippres_ctx *ctx, const char *dev, const char *id, uint32_t st, uint32_t dir,
                     const char *remote, uint32_t flags)
{
	struct sippres_call c = {.size = sizeof(c), .call_id = id, .state = st, .direction = dir,
	                         .remote_uri = remote, .remote_display = "Caller", .local_tag = "lt",
	                         .remote_tag = "rt", .flags = flags};
	assert_int_equal(sippres_call_set(ctx, dev, &c), 0);
}

static void test_calls_and_causing_call(void **state)
{
	struct fixture *f = *state;
	struct sippres_ctx *ctx = f->ctx;
	struct sippres_exten_status st = {.size = sizeof(st)};
	struct sippres_call bad = {.size = sizeof(bad), .call_id = "x", .state = 7};

	/* bob's call is older than alice's */
	set_call(ctx, "PJSIP/bob", "call-b", SIPPRES_CALL_EARLY, SIPPRES_DIRECTION_RECIPIENT, "sip:200@pbx", 0);
	set_call(ctx, "PJSIP/alice", "call-a", SIPPRES_CALL_EARLY, SIPPRES_DIRECTION_RECIPIENT, "sip:100@pbx", 0);
	assert_int_equal(f->rec.n, 0); /* call details alone fire nothing */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	assert_string_equal(f->rec.ev[0].causing_call_id, "call-a");
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_RINGING), 0);
	/* both ring: the oldest ringing call is the causing one (pickup) */
	assert_string_equal(f->rec.ev[1].causing_call_id, "call-b");
	assert_string_equal(f->rec.ev[1].causing_remote, "sip:200@pbx");
	/* updating a call keeps its age; details change */
	set_call(ctx, "PJSIP/bob", "call-b", SIPPRES_CALL_EARLY, SIPPRES_DIRECTION_RECIPIENT, "sip:201@pbx",
	         SIPPRES_CALL_NUMBER_RESTRICTED);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "1000", &st), 0);
	assert_string_equal(st.causing_call->call_id, "call-b");
	assert_string_equal(st.causing_call->remote_uri, "sip:201@pbx");
	assert_int_equal(st.causing_call->flags, SIPPRES_CALL_NUMBER_RESTRICTED);
	assert_string_equal(st.causing_call->local_tag, "lt");
	assert_string_equal(st.causing_call->remote_tag, "rt");
	assert_null(st.causing_call->local_uri);
	assert_string_equal(st.devices[1].causing_call->call_id, "call-b");
	/* bob answers: terminated removes the call; alice is still ringing */
	set_call(ctx, "PJSIP/bob", "call-b", SIPPRES_CALL_TERMINATED, 0, NULL, 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_string_equal(f->rec.ev[2].causing_call_id, "call-a");
	/* an outgoing early call from a ringing device is only a fallback */
	set_call(ctx, "PJSIP/alice", "call-out", SIPPRES_CALL_EARLY, SIPPRES_DIRECTION_INITIATOR, NULL, 0);
	assert_int_equal(sippres_call_clear(ctx, "PJSIP/alice", "call-a"), 0);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "1000", &st), 0);
	assert_string_equal(st.causing_call->call_id, "call-out");
	/* in use: the confirmed call */
	set_call(ctx, "PJSIP/alice", "call-c", SIPPRES_CALL_CONFIRMED, SIPPRES_DIRECTION_INITIATOR, NULL, 0);
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "1000", &st), 0);
	assert_string_equal(st.causing_call->call_id, "call-c");
	/* idle devices have no causing call */
	assert_int_equal(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_int_equal(sippres_exten_status_get(ctx, "default", "1000", &st), 0);
	assert_null(st.causing_call);
	assert_null(st.devices[0].causing_call);
	/* errors */
	assert_int_equal(sippres_call_clear(ctx, "PJSIP/alice", "nope"), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_call_clear(ctx, "PJSIP/nobody", "nope"), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_call_set(ctx, "PJSIP/alice", &bad), SIPPRES_E_INVAL);
	bad.state = 0;
	bad.call_id = NULL;
	assert_int_equal(sippres_call_set(ctx, "PJSIP/alice", &bad), SIPPRES_E_INVAL);
	bad.call_id = "x";
	bad.size = 4;
	assert_int_equal(sippres_call_set(ctx, "PJSIP/alice", &bad), SIPPRES_E_ABI);
	bad.size = sizeof(bad);
	bad.flags = 0x80;
	assert_int_equal(sippres_call_set(ctx, "PJSIP/alice", &bad), SIPPRES_E_INVAL);
	bad.flags = 0;
	assert_int_equal(sippres_call_set(ctx, "alice", &bad), SIPPRES_E_INVAL);
}

/* A bigger struct from a newer host: accepted when the unknown tail is zero. */
static void test_struct_sizes(void **state)
{
	struct {
		struct sippres_call c;
		uint64_t future;
	} big;
	struct fixture *f = *state;

	memset(&big, 0, sizeof(big));
	big.c.size = sizeof(big);
	big.c.call_id = "y";
	assert_int_equal(sippres_call_set(f->ctx, "PJSIP/alice", &big.c), 0);
	big.future = 1;
	assert_int_equal(sippres_call_set(f->ctx, "PJSIP/alice", &big.c), SIPPRES_E_ABI);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_device_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hint_replace_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reentrancy_and_removal_in_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calls_and_causing_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_struct_sizes, setup, teardown),
	};
	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
