/* SPDX-License-Identifier: MIT */
/* Replication through the public API (docs/cluster.md): nodes are contexts
 * whose replicate callbacks fill a queue; the test carries the messages by
 * hand, in order, out of order, twice, late, corrupted, and checks the merge
 * rules: device aggregation over every node's view, presence by the latest
 * sequence number, stale and duplicated updates losing, two nodes changing
 * one device at once, a dropped origin, the sweep after a resync; and
 * ownership: records, adoption continuing CSeq and version, release. */
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

#define MAXQ 64

struct msg {
	uint32_t kind, removed;
	uint64_t seq;
	char key[160];
	uint8_t data[4096];
	size_t len;
};

struct node {
	struct sippres_ctx *ctx;
	const char *name;
	struct msg q[MAXQ];
	int nq;
	/* the last NOTIFY */
	int notifies;
	uint32_t reason, cseq;
	char body[4096];
	int forgets, persists;
	uint32_t rnd;
	struct failer *fail;
};

static void on_replicate(void *ud, const struct sippres_repl_change *c)
{
	struct node *n = ud;
	struct msg *m;

	assert_int_equal(c->size, sizeof(*c));
	assert_string_equal(c->origin, n->name);
	assert_true(n->nq < MAXQ);
	m = &n->q[n->nq++];
	m->kind = c->kind;
	m->removed = c->removed;
	m->seq = c->seq;
	assert_true(strlen(c->key) < sizeof(m->key));
	strcpy(m->key, c->key);
	assert_true(c->len <= sizeof(m->data));
	assert_true(c->removed ? c->data == NULL && c->len == 0 : c->data != NULL && c->len > 0);
	if (c->len)
		memcpy(m->data, c->data, c->len);
	m->len = c->len;
}

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	struct node *nd = ud;

	(void)sub;
	nd->notifies++;
	nd->reason = n->reason;
	nd->cseq = n->cseq;
	assert_true(n->body_len < sizeof(nd->body));
	memcpy(nd->body, n->body ? n->body : "", n->body_len);
	nd->body[n->body_len] = '\0';
	return 0;
}

static void on_persist(void *ud, struct sippres_sub *sub, const void *rec, size_t len)
{
	(void)sub;
	(void)rec;
	(void)len;
	((struct node *)ud)->persists++;
}

static void on_forget(void *ud, struct sippres_sub *sub)
{
	(void)sub;
	((struct node *)ud)->forgets++;
}

static int on_random(void *ud, uint8_t *buf, size_t len)
{
	struct node *n = ud;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(n->rnd++ * 41u + (uint8_t)n->name[5]);
	return 0;
}

static void node_init(struct node *n, const char *name)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .replicate = on_replicate, .notify = on_notify,
	                               .persist = on_persist, .forget = on_forget, .random = on_random};
	struct sippres_allocator a = {.size = sizeof(a), .malloc = failer_malloc, .realloc = failer_realloc,
	                              .free = failer_free};
	struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &a};
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default"};

	memset(n, 0, sizeof(*n));
	n->name = name;
	n->fail = calloc(1, sizeof(*n->fail));
	assert_non_null(n->fail);
	a.user_data = n->fail;
	assert_int_equal(sippres_ctx_new(&cfg, &cb, n, &n->ctx), 0);
	assert_int_equal(sippres_hint_set(n->ctx, "default", "1000", "PJSIP/alice,CustomPresence:alice", NULL), 0);
	assert_int_equal(sippres_hint_set(n->ctx, "default", "1001", "PJSIP/bob", NULL), 0);
	assert_int_equal(sippres_endpoint_set(n->ctx, "carol", &ep), 0);
	assert_int_equal(sippres_repl_start(n->ctx, name, 0), 0);
}

static void node_fini(struct node *n)
{
	sippres_ctx_free(n->ctx);
	assert_int_equal(n->fail->live, 0);
	free(n->fail);
}

struct two {
	struct node a, b, c;
};

static int setup(void **state)
{
	struct two *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	node_init(&t->a, "node-a");
	node_init(&t->b, "node-b");
	node_init(&t->c, "node-c");
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct two *t = *state;

	node_fini(&t->a);
	node_fini(&t->b);
	node_fini(&t->c);
	free(t);
	return 0;
}

/* Apply message i of from's queue to to; returns what sippres_repl_apply said. */
static int deliver(struct node *from, int i, struct node *to)
{
	assert_true(i < from->nq);
	return sippres_repl_apply(to->ctx, from->q[i].data, from->q[i].len);
}

/* Every view message of from's queue, in order, to to; then the queue is empty. */
static void deliver_all(struct node *from, struct node *to)
{
	for (int i = 0; i < from->nq; i++) {
		if (from->q[i].kind <= SIPPRES_REPL_SWEEP)
			assert_true(deliver(from, i, to) >= 0);
	}
	from->nq = 0;
}

static int exten_state(struct node *n, const char *exten)
{
	struct sippres_exten_status st = {.size = sizeof(st)};

	assert_int_equal(sippres_exten_status_get(n->ctx, "default", exten, &st), 0);
	return st.exten_state;
}

static struct sippres_sub *subscribe(struct node *n, const char *exten, const char *event, const char *call_id)
{
	const char *accept = strcmp(event, "dialog") == 0 ? "application/dialog-info+xml" : "application/pidf+xml";
	struct sippres_subscribe_req req = {
		.size = sizeof(req), .endpoint = "carol", .ruri_scheme = "sip", .ruri_user = exten,
		.ruri_host = "192.0.2.1", .from_uri = "sip:carol@192.0.2.9", .from_tag = "ft", .call_id = call_id,
		.contact = "sip:carol@192.0.2.9:5062", .event = event, .accept = &accept, .n_accept = 1, .expires = 600,
	};
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *sub = NULL;

	assert_int_equal(sippres_subscribe(n->ctx, &req, 1000, &res, &sub), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(sippres_ctx_handle_timeout(n->ctx, 1000), 1);
	return sub;
}

/* ----------------------------------------------------------------- devices */

static void test_device_crosses(void **state)
{
	struct two *t = *state;

	subscribe(&t->b, "1000", "presence", "sub-1");
	t->b.notifies = 0;
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(t->a.nq, 1);
	assert_int_equal(t->a.q[0].kind, SIPPRES_REPL_DEVICE);
	assert_string_equal(t->a.q[0].key, "PJSIP/alice");
	assert_int_equal(deliver(&t->a, 0, &t->b), 1);
	assert_int_equal(exten_state(&t->b, "1000"), SIPPRES_EXTEN_INUSE);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/alice"), SIPPRES_DEVICE_INUSE);
	assert_int_equal(t->b.notifies, 1);
	assert_int_equal(t->b.reason, SIPPRES_NOTIFY_CHANGE);
	assert_non_null(strstr(t->b.body, "on-the-phone"));
	/* what B was told is not B's to replicate: only the subscription's record moved */
	for (int i = 0; i < t->b.nq; i++)
		assert_int_equal(t->b.q[i].kind, SIPPRES_REPL_SUBSCRIPTION);
	/* B's own message comes back to it (a bus echo): ignored */
	assert_int_equal(deliver(&t->a, 0, &t->a), 0);
}

static void test_out_of_order(void **state)
{
	struct two *t = *state;

	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_int_equal(t->a.nq, 2);
	assert_true(t->a.q[1].seq > t->a.q[0].seq);
	/* the later one first: the earlier one is stale and loses */
	assert_int_equal(deliver(&t->a, 1, &t->b), 1);
	assert_int_equal(deliver(&t->a, 0, &t->b), 0);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/alice"), SIPPRES_DEVICE_NOT_INUSE);
	/* and a duplicate changes nothing */
	subscribe(&t->b, "1000", "presence", "sub-1");
	t->b.notifies = 0;
	assert_int_equal(deliver(&t->a, 1, &t->b), 0);
	assert_int_equal(t->b.notifies, 0);
}

static void test_duplicate_no_notify(void **state)
{
	struct two *t = *state;

	subscribe(&t->b, "1000", "presence", "sub-1");
	t->b.notifies = 0;
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(deliver(&t->a, 0, &t->b), 1);
	assert_int_equal(t->b.notifies, 1);
	/* a ringing state set again is told again (Asterisk re-notifies RINGING),
	 * the same message twice is not */
	assert_int_equal(deliver(&t->a, 0, &t->b), 0);
	assert_int_equal(t->b.notifies, 1);
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(deliver(&t->a, 1, &t->b), 1);
	assert_int_equal(t->b.notifies, 2);
}

static void test_concurrent_device(void **state)
{
	struct two *t = *state;
	int sa, sb;

	/* A and B change the same device before either hears of the other */
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(sippres_device_state_set(t->b.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(t->a.q[0].seq, t->b.q[0].seq); /* the same number: the rule must not need an order */
	assert_int_equal(deliver(&t->a, 0, &t->b), 1);
	assert_int_equal(deliver(&t->b, 0, &t->a), 1);
	/* both end with the aggregate of both views, as Asterisk aggregates its eids' */
	sa = sippres_device_state_get(t->a.ctx, "PJSIP/alice");
	sb = sippres_device_state_get(t->b.ctx, "PJSIP/alice");
	assert_int_equal(sa, SIPPRES_DEVICE_RINGINUSE);
	assert_int_equal(sb, sa);
	assert_int_equal(exten_state(&t->a, "1000"), SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING);
	/* the ring stops on A: both see B's INUSE alone */
	t->a.nq = t->b.nq = 0;
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_NOT_INUSE), 0);
	deliver_all(&t->a, &t->b);
	assert_int_equal(sippres_device_state_get(t->a.ctx, "PJSIP/alice"), SIPPRES_DEVICE_INUSE);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/alice"), SIPPRES_DEVICE_INUSE);
	/* the third node hears both, in the other order: the same result */
	assert_int_equal(sippres_device_state_set(t->b.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_int_equal(deliver(&t->a, 0, &t->c), 1);
	assert_int_equal(deliver(&t->b, 0, &t->c), 1);
	assert_int_equal(sippres_device_state_get(t->c.ctx, "PJSIP/alice"), SIPPRES_DEVICE_INUSE);
}

static void test_calls_cross(void **state)
{
	struct two *t = *state;
	struct sippres_call call = {.size = sizeof(call), .call_id = "call-77", .state = SIPPRES_CALL_EARLY,
	                            .direction = SIPPRES_DIRECTION_RECIPIENT, .remote_uri = "sip:2000@example.com",
	                            .remote_display = "Bob"};

	subscribe(&t->b, "1000", "dialog", "sub-d");
	assert_int_equal(sippres_call_set(t->a.ctx, "PJSIP/alice", &call), 0);
	assert_int_equal(t->a.nq, 0); /* calls go with the device's next state */
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(deliver(&t->a, 0, &t->b), 1);
	assert_non_null(strstr(t->b.body, "call-77"));
	assert_non_null(strstr(t->b.body, "Bob"));
	assert_non_null(strstr(t->b.body, "<state>early</state>"));
	/* B's host cannot clear A's call: it is A's */
	assert_int_equal(sippres_call_clear(t->b.ctx, "PJSIP/alice", "call-77"), SIPPRES_E_NOTFOUND);
	/* the call ends on A: gone on B with A's next state */
	assert_int_equal(sippres_call_clear(t->a.ctx, "PJSIP/alice", "call-77"), 0);
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_int_equal(deliver(&t->a, 1, &t->b), 1);
	assert_null(strstr(t->b.body, "call-77"));
}

static void test_drop_origin(void **state)
{
	struct two *t = *state;

	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_device_state_set(t->b.ctx, "PJSIP/bob", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(deliver(&t->a, 0, &t->b), 1);
	subscribe(&t->b, "1000", "presence", "sub-1");
	t->b.notifies = 0;
	/* A's lease ran out: its views no longer count, B's own stay */
	assert_int_equal(sippres_repl_origin_drop(t->b.ctx, "node-a"), 1);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/alice"), SIPPRES_DEVICE_UNKNOWN);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/bob"), SIPPRES_DEVICE_RINGING);
	assert_int_equal(t->b.notifies, 1);
	/* a late message of A's from before the drop is void */
	assert_int_equal(deliver(&t->a, 0, &t->b), 0);
	assert_int_equal(sippres_repl_origin_drop(t->b.ctx, "node-a"), 0);
	assert_int_equal(sippres_repl_origin_drop(t->b.ctx, "node-z"), 0);
	assert_int_equal(sippres_repl_origin_drop(t->b.ctx, "bad id"), SIPPRES_E_INVAL);
	/* A comes back: its new changes count again */
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(deliver(&t->a, 1, &t->b), 1);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/alice"), SIPPRES_DEVICE_BUSY);
}

/* A node restarts (a new context, the same origin, a higher floor) knowing
 * less than before: its resync's sweep removes what it no longer says. */
static void test_resync_sweep(void **state)
{
	struct two *t = *state;
	struct node a2;

	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/bob", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_presence_state_set(t->a.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "lunch",
	                                            NULL), 0);
	deliver_all(&t->a, &t->b);
	assert_int_equal(exten_state(&t->b, "1001"), SIPPRES_EXTEN_INUSE);
	node_init(&a2, "node-a");
	assert_int_equal(sippres_repl_start(a2.ctx, "node-a", 1000), 0);
	assert_int_equal(sippres_device_state_set(a2.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	a2.nq = 0;
	/* 1 view and the sweep */
	assert_int_equal(sippres_repl_resync(a2.ctx), 2);
	assert_int_equal(a2.nq, 2);
	assert_int_equal(a2.q[1].kind, SIPPRES_REPL_SWEEP);
	assert_string_equal(a2.q[1].key, "");
	assert_true(a2.q[1].seq < a2.q[0].seq);
	deliver_all(&a2, &t->b);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/alice"), SIPPRES_DEVICE_INUSE);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/bob"), SIPPRES_DEVICE_UNKNOWN);
	assert_int_equal(exten_state(&t->b, "1001"), SIPPRES_EXTEN_NOT_INUSE);
	/* the presence A's first life set is gone too */
	{
		struct sippres_exten_status st = {.size = sizeof(st)};

		assert_int_equal(sippres_exten_status_get(t->b.ctx, "default", "1000", &st), 0);
		assert_int_equal(st.presence_state, SIPPRES_PRESENCE_NOT_SET);
	}
	/* the sweep is idempotent, and the old life's messages are void */
	assert_int_equal(sippres_repl_apply(t->b.ctx, a2.q[1].data, a2.q[1].len), 0);
	node_fini(&a2);
}

/* ---------------------------------------------------------------- presence */

static void presence_of(struct node *n, int *state, char *sub, size_t len)
{
	struct sippres_exten_status st = {.size = sizeof(st)};

	assert_int_equal(sippres_exten_status_get(n->ctx, "default", "1000", &st), 0);
	*state = (int)st.presence_state;
	snprintf(sub, len, "%s", st.presence_subtype);
}

static void test_presence_latest_wins(void **state)
{
	struct two *t = *state;
	char sa[32], sb[32];
	int pa, pb;

	/* causal: B heard A's away, then set available: B's is later everywhere */
	assert_int_equal(sippres_presence_state_set(t->a.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "lunch",
	                                            "back at 2"), 0);
	assert_int_equal(deliver(&t->a, 0, &t->b), 1);
	assert_int_equal(sippres_presence_state_set(t->b.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AVAILABLE, NULL,
	                                            NULL), 0);
	assert_true(t->b.q[t->b.nq - 1].seq > t->a.q[0].seq);
	assert_int_equal(deliver(&t->b, t->b.nq - 1, &t->a), 1);
	presence_of(&t->a, &pa, sa, sizeof(sa));
	presence_of(&t->b, &pb, sb, sizeof(sb));
	assert_int_equal(pa, SIPPRES_PRESENCE_AVAILABLE);
	assert_int_equal(pb, SIPPRES_PRESENCE_AVAILABLE);
	/* the third node hears them late and in the other order: the same */
	assert_int_equal(deliver(&t->b, t->b.nq - 1, &t->c), 1);
	assert_int_equal(deliver(&t->a, 0, &t->c), 1);
	presence_of(&t->c, &pa, sa, sizeof(sa));
	assert_int_equal(pa, SIPPRES_PRESENCE_AVAILABLE);
}

static void test_presence_concurrent(void **state)
{
	struct two *t = *state;
	char sa[32], sb[32];
	int pa, pb;

	/* the same number on both: the greater origin id wins on both */
	assert_int_equal(sippres_presence_state_set(t->a.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_DND, "meeting",
	                                            NULL), 0);
	assert_int_equal(sippres_presence_state_set(t->b.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "lunch",
	                                            NULL), 0);
	assert_int_equal(t->a.q[0].seq, t->b.q[0].seq);
	assert_int_equal(deliver(&t->a, 0, &t->b), 1);
	assert_int_equal(deliver(&t->b, 0, &t->a), 1);
	presence_of(&t->a, &pa, sa, sizeof(sa));
	presence_of(&t->b, &pb, sb, sizeof(sb));
	assert_int_equal(pa, SIPPRES_PRESENCE_AWAY);
	assert_int_equal(pb, SIPPRES_PRESENCE_AWAY);
	assert_string_equal(sa, "lunch");
	assert_string_equal(sb, "lunch");
	/* B's view gone: A's own comes back into force */
	assert_int_equal(sippres_repl_origin_drop(t->a.ctx, "node-b"), 1);
	presence_of(&t->a, &pa, sa, sizeof(sa));
	assert_int_equal(pa, SIPPRES_PRESENCE_DND);
	assert_string_equal(sa, "meeting");
}

/* ------------------------------------------------------------- bad input */

static void test_corrupt(void **state)
{
	struct two *t = *state;
	struct msg m;
	uint8_t buf[4096];

	assert_int_equal(sippres_presence_state_set(t->a.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "x", "y"),
	                 0);
	m = t->a.q[0];
	/* every cut and every flipped bit is refused, and changes nothing */
	for (size_t n = 0; n < m.len; n++)
		assert_int_equal(sippres_repl_apply(t->b.ctx, m.data, n), SIPPRES_E_PARSE);
	for (size_t i = 0; i < m.len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(buf, m.data, m.len);
			buf[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(sippres_repl_apply(t->b.ctx, buf, m.len), SIPPRES_E_PARSE);
		}
	}
	assert_int_equal(sippres_repl_apply(t->b.ctx, "SPRC", 4), SIPPRES_E_PARSE);
	assert_int_equal(sippres_repl_apply(t->b.ctx, NULL, 4), SIPPRES_E_INVAL);
	assert_int_equal(sippres_repl_apply(NULL, m.data, m.len), SIPPRES_E_INVAL);
	assert_int_equal(exten_state(&t->b, "1000"), SIPPRES_EXTEN_NOT_INUSE);
	assert_int_equal(sippres_repl_apply(t->b.ctx, m.data, m.len), 1);
	/* bad origins */
	assert_int_equal(sippres_repl_start(t->b.ctx, "", 0), SIPPRES_E_INVAL);
	assert_int_equal(sippres_repl_start(t->b.ctx, "a b", 0), SIPPRES_E_INVAL);
	assert_int_equal(sippres_repl_start(t->b.ctx, "0123456789012345678901234567890123456789012345678901234567890123"
	                                              "4", 0), SIPPRES_E_INVAL);
	assert_int_equal(sippres_repl_start(t->b.ctx, "node-b", UINT64_MAX), SIPPRES_E_INVAL);
}

static void test_records_and_adoption(void **state)
{
	struct two *t = *state;
	struct sippres_sub *sub, *adopted = NULL;
	const struct msg *rec = NULL;
	uint32_t cseq;
	char key[200];

	sub = subscribe(&t->a, "1000", "dialog", "sub-x");
	assert_non_null(sub);
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	cseq = t->a.cseq;
	assert_int_equal(cseq, 2);
	assert_non_null(strstr(t->a.body, "version=\"1\""));
	/* the latest record of the subscription, keyed by its dialog */
	{
		struct sippres_sub_info info = {.size = sizeof(info)};

		assert_int_equal(sippres_sub_get_info(t->a.ctx, sub, &info), 0);
		snprintf(key, sizeof(key), "%s %s", info.call_id, info.local_tag);
	}
	for (int i = 0; i < t->a.nq; i++) {
		if (t->a.q[i].kind == SIPPRES_REPL_SUBSCRIPTION) {
			assert_string_equal(t->a.q[i].key, key);
			rec = &t->a.q[i];
		}
	}
	assert_non_null(rec);
	assert_false(rec->removed);
	/* A dies; B takes the subscriber over: the same dialog, the next CSeq and version */
	t->b.notifies = 0;
	assert_int_equal(sippres_device_state_set(t->b.ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	t->b.nq = 0;
	assert_int_equal(sippres_sub_adopt(t->b.ctx, rec->data, rec->len, 5000, &adopted), 0);
	assert_non_null(adopted);
	assert_int_equal(t->b.nq, 1); /* B's record now */
	assert_int_equal(t->b.q[0].kind, SIPPRES_REPL_SUBSCRIPTION);
	assert_string_equal(t->b.q[0].key, key);
	assert_int_equal(sippres_ctx_handle_timeout(t->b.ctx, 5000), 1);
	assert_int_equal(t->b.reason, SIPPRES_NOTIFY_RESTORED);
	assert_int_equal(t->b.cseq, cseq + 1);
	assert_non_null(strstr(t->b.body, "version=\"2\""));
	assert_non_null(strstr(t->b.body, "<state>early</state>"));
	/* adopting it twice is refused */
	assert_int_equal(sippres_sub_adopt(t->b.ctx, rec->data, rec->len, 5000, &adopted), SIPPRES_E_EXISTS);
	/* A was only cut off: told its subscriber is B's now, it lets go quietly */
	t->a.notifies = 0;
	t->a.nq = 0;
	t->a.forgets = 0;
	assert_int_equal(sippres_sub_release(t->a.ctx, sub), 0);
	assert_int_equal(t->a.notifies, 0);
	assert_int_equal(t->a.forgets, 1);
	assert_int_equal(t->a.nq, 0);
	assert_int_equal(sippres_sub_count(t->a.ctx), 0);
	/* B's ends: removed */
	t->b.nq = 0;
	assert_int_equal(sippres_sub_terminate(t->b.ctx, adopted, 6000), 0);
	assert_int_equal(t->b.q[t->b.nq - 1].kind, SIPPRES_REPL_SUBSCRIPTION);
	assert_true(t->b.q[t->b.nq - 1].removed);
	assert_string_equal(t->b.q[t->b.nq - 1].key, key);
	assert_int_equal(sippres_sub_release(t->a.ctx, NULL), SIPPRES_E_INVAL);
}

static void test_resync_records(void **state)
{
	struct two *t = *state;
	int n;

	subscribe(&t->a, "1000", "presence", "sub-1");
	subscribe(&t->a, "1001", "presence", "sub-2");
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/bob", SIPPRES_DEVICE_INUSE), 0);
	t->a.nq = 0;
	/* a view, the sweep, two records */
	n = sippres_repl_resync(t->a.ctx);
	assert_int_equal(n, 4);
	assert_int_equal(t->a.nq, 4);
	assert_int_equal(t->a.q[0].kind, SIPPRES_REPL_DEVICE);
	assert_int_equal(t->a.q[1].kind, SIPPRES_REPL_SWEEP);
	assert_int_equal(t->a.q[2].kind, SIPPRES_REPL_SUBSCRIPTION);
	assert_int_equal(t->a.q[3].kind, SIPPRES_REPL_SUBSCRIPTION);
	/* no NOTIFY for the re-sent view on the other side */
	subscribe(&t->b, "1001", "presence", "sub-9");
	t->b.notifies = 0;
	deliver_all(&t->a, &t->b);
	assert_int_equal(t->b.notifies, 1); /* bob's INUSE was new to B */
	assert_int_equal(sippres_repl_resync(t->a.ctx), 4);
	deliver_all(&t->a, &t->b);
	assert_int_equal(t->b.notifies, 1); /* the same again: nothing to tell */
}

/* A device set before replication started, and one the peer Asterisk
 * (asterisk-devicestate) set: both are this node's view. */
static void test_local_before_start(void **state)
{
	struct two *t = *state;
	struct node d;
	struct sippres_callbacks cb = {.size = sizeof(cb), .replicate = on_replicate};

	memset(&d, 0, sizeof(d));
	d.name = "node-d";
	assert_int_equal(sippres_ctx_new(NULL, &cb, &d, &d.ctx), 0);
	assert_int_equal(sippres_device_state_set(d.ctx, "PJSIP/alice", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(sippres_presence_state_set(d.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_XA, NULL, NULL), 0);
	assert_int_equal(d.nq, 0);
	assert_int_equal(sippres_repl_resync(d.ctx), SIPPRES_E_INVAL); /* not started */
	assert_int_equal(sippres_repl_start(d.ctx, "node-d", 0), 0);
	assert_int_equal(sippres_repl_resync(d.ctx), 3);
	deliver_all(&d, &t->b);
	assert_int_equal(sippres_device_state_get(t->b.ctx, "PJSIP/alice"), SIPPRES_DEVICE_BUSY);
	sippres_ctx_free(d.ctx);
}

/* Every allocation of an apply fails in turn: an error, nothing changed, no leak. */
static void test_apply_oom(void **state)
{
	struct two *t = *state;
	struct sippres_call call = {.size = sizeof(call), .call_id = "c1", .state = SIPPRES_CALL_CONFIRMED};
	int r;

	/* B knows node-a already */
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/bob", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_int_equal(deliver(&t->a, 0, &t->b), 1);
	assert_int_equal(sippres_call_set(t->a.ctx, "PJSIP/alice", &call), 0);
	assert_int_equal(sippres_device_state_set(t->a.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(sippres_presence_state_set(t->a.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "a", "b"),
	                 0);
	for (int which = 1; which <= 2; which++) {
		for (long k = 1;; k++) {
			long live = t->b.fail->live;
			struct sippres_exten_status st = {.size = sizeof(st)};

			t->b.fail->count = 0;
			t->b.fail->fail_at = k;
			t->b.fail->failed = 0;
			r = deliver(&t->a, which, &t->b);
			t->b.fail->fail_at = 0;
			if (!t->b.fail->failed) {
				assert_int_equal(r, 1);
				break;
			}
			assert_int_equal(r, SIPPRES_E_NOMEM);
			assert_int_equal(sippres_exten_status_get(t->b.ctx, "default", "1000", &st), 0);
			if (which == 1)
				assert_int_equal(st.exten_state, SIPPRES_EXTEN_NOT_INUSE);
			else
				assert_int_equal(st.presence_state, SIPPRES_PRESENCE_NOT_SET);
			assert_true(t->b.fail->live <= live + 1); /* at most the source's views, made empty */
		}
	}
	assert_int_equal(exten_state(&t->b, "1000"), SIPPRES_EXTEN_INUSE);
	/* the local side: a failed set changes nothing and sends nothing */
	for (long k = 1;; k++) {
		t->a.nq = 0;
		t->a.fail->count = 0;
		t->a.fail->fail_at = k;
		t->a.fail->failed = 0;
		r = sippres_device_state_set(t->a.ctx, "PJSIP/newdev", SIPPRES_DEVICE_RINGING);
		t->a.fail->fail_at = 0;
		if (!t->a.fail->failed) {
			assert_int_equal(r, 0);
			assert_int_equal(t->a.nq, 1);
			break;
		}
		assert_int_equal(r, SIPPRES_E_NOMEM);
		assert_int_equal(t->a.nq, 0);
		assert_int_equal(sippres_device_state_get(t->a.ctx, "PJSIP/newdev"), SIPPRES_DEVICE_UNKNOWN);
	}
}

#define PIDF_AWAY                                                                                          \
	"<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "                         \
	"xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" " \
	"entity=\"sip:1000@example.com\"><tuple id=\"t\"><status><basic>open</basic></status></tuple>"      \
	"<dm:person id=\"p\"><rpid:activities><rpid:away/></rpid:activities></dm:person></presence>"

static void test_publication_adoption(void **state)
{
	struct two *t = *state;
	struct sippres_inbound_publication in = {.size = sizeof(in), .endpoint = "carol",
	                                         .events = SIPPRES_PUBLISH_PRESENCE};
	struct sippres_publish_req req = {.size = sizeof(req), .endpoint = "carol", .resource = "1000",
	                                  .event = "presence", .expires = 600, .content_type = "application/pidf+xml",
	                                  .body = PIDF_AWAY, .body_len = sizeof(PIDF_AWAY) - 1};
	struct sippres_publish_res res = {.size = sizeof(res)};
	struct sippres_publication *pub = NULL;
	struct sippres_exten_status st = {.size = sizeof(st)};
	char etag[32];
	const struct msg *rec = NULL;

	assert_int_equal(sippres_hint_set(t->a.ctx, "default", "1002", "PJSIP/x,Publish:1000", NULL), 0);
	assert_int_equal(sippres_hint_set(t->b.ctx, "default", "1002", "PJSIP/x,Publish:1000", NULL), 0);
	assert_int_equal(sippres_inbound_publication_set(t->a.ctx, "1000", &in), 0);
	assert_int_equal(sippres_inbound_publication_set(t->b.ctx, "1000", &in), 0);
	assert_int_equal(sippres_publish(t->a.ctx, &req, 1000, &res), 0);
	assert_int_equal(res.status, 200);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	/* the state it composed is a presence view; the publication a record keyed by its entity-tag */
	assert_int_equal(t->a.nq, 2);
	assert_int_equal(t->a.q[0].kind, SIPPRES_REPL_PRESENCE);
	assert_string_equal(t->a.q[0].key, "Publish:1000");
	assert_int_equal(t->a.q[1].kind, SIPPRES_REPL_PUBLICATION);
	assert_string_equal(t->a.q[1].key, etag);
	/* a refresh: a new entity-tag, so the old key goes first */
	t->a.nq = 0;
	req.if_match = etag;
	req.body = NULL;
	req.body_len = 0;
	req.content_type = NULL;
	assert_int_equal(sippres_publish(t->a.ctx, &req, 2000, &res), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(t->a.nq, 2);
	assert_int_equal(t->a.q[0].kind, SIPPRES_REPL_PUBLICATION);
	assert_true(t->a.q[0].removed);
	assert_string_equal(t->a.q[0].key, etag);
	assert_false(t->a.q[1].removed);
	assert_string_equal(t->a.q[1].key, res.etag);
	rec = &t->a.q[1];
	/* B takes it over: the state is B's to replicate now */
	t->b.nq = 0;
	assert_int_equal(sippres_publication_adopt(t->b.ctx, rec->data, rec->len, 3000, &pub), 0);
	assert_non_null(pub);
	assert_int_equal(sippres_exten_status_get(t->b.ctx, "default", "1002", &st), 0);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AWAY);
	assert_int_equal(t->b.nq, 2);
	assert_int_equal(t->b.q[0].kind, SIPPRES_REPL_PRESENCE);
	assert_int_equal(t->b.q[1].kind, SIPPRES_REPL_PUBLICATION);
	assert_string_equal(t->b.q[1].key, res.etag);
	assert_int_equal(sippres_publication_adopt(t->b.ctx, rec->data, rec->len, 3000, &pub), SIPPRES_E_EXISTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_device_crosses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_no_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calls_cross, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resync_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_latest_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_and_adoption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resync_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_before_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_oom, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publication_adoption, setup, teardown),
	};

	return cmocka_run_group_tests_name("repl", tests, NULL, NULL);
}
