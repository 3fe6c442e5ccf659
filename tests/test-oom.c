/* SPDX-License-Identifier: MIT */
/* Allocation failure injected at every allocation of a representative
 * sequence: each step either succeeds or fails cleanly with SIPPRES_E_NOMEM
 * (nothing half-registered), and freeing the context leaves no allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "failalloc.h"


static int reached_restore;
static uint8_t saved_record[20000];
static size_t saved_len;

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)ud;
	(void)sub;
	assert_non_null(n->body);
	assert_true(n->body_len > 0);
	return 0;
}

static void on_persist(void *ud, struct sippres_sub *sub, const void *rec, size_t len)
{
	(void)ud;
	(void)sub;
	if (len <= sizeof(saved_record)) {
		memcpy(saved_record, rec, len);
		saved_len = len;
	}
}

static void on_event(void *ud, const struct sippres_exten_status *st)
{
	int *n = ud;
	(void)st;
	(*n)++;
}

static int pick_first(void *ud, struct sippres_sub *s)
{
	*(struct sippres_sub **)ud = s;
	return -1;
}

#define STEP(expr)                                                                           \
	do {                                                                                 \
		int r_ = (expr);                                                             \
		if (r_ < 0 && r_ != SIPPRES_E_NOMEM && r_ != SIPPRES_E_NOTFOUND && r_ != SIPPRES_E_EXISTS)             \
			fail_msg("fail_at %ld: %s gave %d", f->fail_at, #expr, r_);           \
		last = r_;                                                                   \
	} while (0)

/* Returns 1 when the whole sequence ran without an injected failure. */
static int run_sequence(struct failer *f)
{
	struct sippres_allocator alloc = {.size = sizeof(alloc), .user_data = f, .malloc = failer_malloc,
	                                  .realloc = failer_realloc, .free = failer_free};
	struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &alloc};
	struct sippres_exten_status st = {.size = sizeof(st)};
	struct sippres_call call = {.size = sizeof(call), .call_id = "c1", .remote_uri = "sip:1@x",
	                            .remote_display = "One", .local_tag = "a", .remote_tag = "b"};
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = on_notify, .persist = on_persist};
	struct sippres_endpoint ep = {.size = sizeof(ep), .profile = SIPPRES_PROFILE_ASTERISK,
	                             .callerid = "\"Alice\" <1000>"};
	const char *accept[1] = {"application/dialog-info+xml"};
	struct sippres_subscribe_req req = {
		.size = sizeof(req), .endpoint = "alice", .ruri_scheme = "sip", .ruri_user = "1000",
		.ruri_host = "pbx", .from_uri = "sip:bob@pbx", .from_tag = "t1", .call_id = "cid",
		.contact = "sip:bob@10.0.0.2", .event = "dialog", .event_id = "1", .accept = accept, .n_accept = 1,
		.expires = 600, .user_agent = "Digium D65"};
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *sub = NULL, *sub2 = NULL;
	struct sippres_ctx *ctx = NULL;
	struct sippres_watch *w;
	int events = 0, last, r;
	char exten[8];

	r = sippres_ctx_new(&cfg, &cb, NULL, &ctx);
	if (r < 0) {
		assert_int_equal(r, SIPPRES_E_NOMEM);
		assert_null(ctx);
		return 0;
	}
	STEP(sippres_hint_set(ctx, "default", "1000", "PJSIP/alice&PJSIP/bob,CustomPresence:alice(Alice)", NULL));
	if (last < 0)
		assert_int_equal(sippres_exten_status_get(ctx, "default", "1000", &st), SIPPRES_E_NOTFOUND);
	for (int i = 0; i < 20; i++) { /* enough to grow the hash tables */
		snprintf(exten, sizeof(exten), "%d", 1100 + i);
		STEP(sippres_hint_set(ctx, "other", exten, "PJSIP/alice&Custom:shared", NULL));
	}
	STEP(sippres_hint_set(ctx, "default", "_2XX", "Custom:lamp${EXTEN}&PJSIP/bob", NULL));
	STEP(sippres_watch_add(ctx, "default", "1000", on_event, &events, &w));
	STEP(sippres_watch_add(ctx, "default", "201", on_event, &events, &w)); /* instantiates */
	STEP(sippres_exten_status_get(ctx, "default", "202", &st));
	STEP(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING));
	if (last < 0)
		assert_int_equal(sippres_device_state_get(ctx, "PJSIP/alice"), SIPPRES_DEVICE_UNKNOWN);
	STEP(sippres_device_state_set(ctx, "PJSIP/new", SIPPRES_DEVICE_INUSE));
	STEP(sippres_call_set(ctx, "PJSIP/alice", &call));
	if (last < 0)
		assert_int_equal(sippres_call_clear(ctx, "PJSIP/alice", "c1"), SIPPRES_E_NOTFOUND);
	call.remote_display = "One again";
	STEP(sippres_call_set(ctx, "PJSIP/alice", &call));
	STEP(sippres_presence_state_set(ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "lunch", "Out"));
	STEP(sippres_presence_state_set(ctx, "CustomPresence:nobody", SIPPRES_PRESENCE_DND, NULL, "x"));
	STEP(sippres_hint_set(ctx, "default", "1000", "PJSIP/carol&PJSIP/alice,CustomPresence:carol", NULL));
	if (last < 0 && sippres_exten_status_get(ctx, "default", "1000", &st) == 0)
		assert_string_equal(st.value, "PJSIP/alice&PJSIP/bob,CustomPresence:alice(Alice)");
	STEP(sippres_hint_set(ctx, "default", "_2XX", "Custom:x${EXTEN}&Custom:y${EXTEN}", NULL));
	if (last < 0 && sippres_exten_status_get(ctx, "default", "202", &st) == 0)
		assert_string_equal(st.value, "Custom:lamp202&PJSIP/bob");
	/* subscriptions: decide, NOTIFY (initial, change, refresh), persist, restore, end */
	STEP(sippres_endpoint_set(ctx, "alice", &ep));
	STEP(sippres_endpoint_set(ctx, "std", &ep)); /* replaced below */
	ep.profile = SIPPRES_PROFILE_STANDARD;
	STEP(sippres_endpoint_set(ctx, "std", &ep));
	sub = NULL;
	STEP(sippres_subscribe(ctx, &req, 1000, &res, &sub));
	if (last == 0 && res.status == 200) {
		STEP(sippres_ctx_handle_timeout(ctx, 1000));
		STEP(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE));
		STEP(sippres_sub_refresh(ctx, sub, 900, 2000, &res));
		STEP(sippres_ctx_handle_timeout(ctx, 2000));
		if (sippres_sub_count(ctx) == 1) {
			struct sippres_sub_info info = {.size = sizeof(info)};

			if (sippres_sub_get_info(ctx, sub, &info) == 0 && info.next_cseq > 1)
				STEP(sippres_sub_notify_result(ctx, sub, info.next_cseq - 1, 200, 2000));
		}
	}
	req.endpoint = "std";
	req.call_id = "cid2";
	req.n_accept = 0;
	req.event = "presence";
	STEP(sippres_subscribe(ctx, &req, 1000, &res, &sub2));
	STEP(sippres_ctx_handle_timeout(ctx, 1000));
	STEP(sippres_presence_state_set(ctx, "CustomPresence:carol", SIPPRES_PRESENCE_AWAY, "x", "y"));
	if (saved_len && sippres_sub_count(ctx) > 0) {
		struct sippres_sub *first = NULL;
		/* restore needs its dialog gone: end everything first, then restore */
		while (sippres_sub_count(ctx) > 0) {
			first = NULL;
			sippres_sub_foreach(ctx, pick_first, &first);
			if (sippres_sub_terminate(ctx, first, 3000) < 0)
				break;
		}
		if (sippres_sub_count(ctx) == 0) {
			STEP(sippres_sub_restore(ctx, saved_record, saved_len, 3000, &sub));
			if (last == 0)
				reached_restore = 1;
			STEP(sippres_ctx_handle_timeout(ctx, 3000));
		}
	}
	/* a list subscription: expansion, multipart NOTIFYs, partial state, batching */
	{
		const char *items[] = {"1000", "nested", "201"};
		const char *sub_items[] = {"202", "1000"};
		struct sippres_list l = {.size = sizeof(l), .name = "blf", .event = "presence", .items = items,
		                         .n_items = 3, .batch_interval_ms = 100};
		struct sippres_list n = {.size = sizeof(n), .name = "nested", .event = "presence", .items = sub_items,
		                         .n_items = 2};
		struct sippres_sub *ls = NULL;
		static const char xml[] = "<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">"
		                          "<list name=\"x\"><entry uri=\"sip:1000@h\"/><list name=\"y\">"
		                          "<entry uri=\"sip:201@h\"/></list></list></resource-lists>";

		STEP(sippres_list_set(ctx, &l));
		STEP(sippres_list_set(ctx, &n));
		STEP(sippres_list_load_xml(ctx, xml, sizeof(xml) - 1, "presence", NULL));
		req.endpoint = "std";
		req.call_id = "cid-list";
		req.ruri_user = "blf";
		req.flags = SIPPRES_SUBSCRIBE_EVENTLIST;
		STEP(sippres_subscribe(ctx, &req, 1000, &res, &ls));
		if (last == 0 && res.status == 200) {
			STEP(sippres_ctx_handle_timeout(ctx, 1000));
			STEP(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_RINGING));
			STEP(sippres_ctx_handle_timeout(ctx, 1200));
			if (sippres_sub_find(ctx, "cid-list", res.local_tag)) {
				STEP(sippres_sub_refresh(ctx, ls, 600, 1300, &res));
				STEP(sippres_ctx_handle_timeout(ctx, 1300));
			}
		}
		req.ruri_user = "1000";
		req.flags = 0;
	}
	/* authentication policy: objects, an endpoint's auth=, a challenge with its views */
	{
		struct sippres_auth a = {.size = sizeof(a), .username = "alice", .password = "pw", .realm = "r"};
		const char *match[] = {"192.0.2.0/24", "2001:db8::1"};
		struct sippres_identify id = {.size = sizeof(id), .endpoint = "guarded", .match = match, .n_match = 2};
		struct sippres_endpoint gep = {.size = sizeof(gep), .auth = "a1, a2"};
		struct sippres_auth_req ar = {.size = sizeof(ar), .from_user = "guarded", .source_ip = "192.0.2.9"};
		struct sippres_auth_res as = {.size = sizeof(as)};

		STEP(sippres_auth_set(ctx, "a1", &a));
		STEP(sippres_auth_set(ctx, "a1", &a)); /* replaced */
		STEP(sippres_identify_set(ctx, "i", &id));
		STEP(sippres_endpoint_set(ctx, "guarded", &gep));
		STEP(sippres_auth_check(ctx, &ar, &as));
		if (last == 0 && as.decision == SIPPRES_AUTH_CHALLENGE)
			assert_string_equal(as.challenges[0].realm, "r");
		STEP(sippres_auth_remove(ctx, "a1"));
		STEP(sippres_identify_remove(ctx, "i"));
	}
	STEP(sippres_endpoint_remove(ctx, "alice"));
	STEP(sippres_ctx_handle_timeout(ctx, 10000000));
	STEP(sippres_call_clear(ctx, "PJSIP/alice", "c1"));
	STEP(sippres_hint_remove(ctx, "default", "_2XX"));
	STEP(sippres_hint_remove(ctx, "default", "1000"));
	sippres_ctx_free(ctx);
	if (f->live != 0)
		fail_msg("fail_at %ld: %ld blocks leaked", f->fail_at, f->live);
	return !f->failed;
}

static void test_every_allocation_fails_once(void **state)
{
	struct failer f = {0};
	long total;

	(void)state;
	assert_int_equal(run_sequence(&f), 1);
	assert_int_equal(reached_restore, 1); /* the clean run covers the whole sequence */
	total = f.count;
	assert_true(total > 50);
	for (long n = 1; n <= total; n++) {
		memset(&f, 0, sizeof(f));
		f.fail_at = n;
		saved_len = 0;
		run_sequence(&f);
		assert_true(f.failed);
	}
	printf("# %ld allocation failures injected\n", total);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_allocation_fails_once),
	};
	return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
