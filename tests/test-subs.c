/* SPDX-License-Identifier: MIT */
/* The subscription engine with a fake clock: every decision code in both
 * profiles, Accept negotiation, lifecycle (initial, change, refresh,
 * unsubscribe, expiry, removal, fetch), NOTIFY failure policy, fan-out,
 * persistence and restore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "failalloc.h"

#define MAX_N 64

struct captured {
	struct sippres_sub *sub;
	uint32_t reason, cseq, terminated, require_eventlist;
	char event[64], substate[64], content_type[64], call_id[64], local_tag[32], remote_tag[32], contact[64],
	        local_uri[64], remote_uri[64];
	char body[4096];
	size_t body_len;
};

struct fx {
	struct sippres_ctx *ctx;
	struct captured n[MAX_N];
	int nn;
	int forgets;
	struct sippres_sub *forgotten[MAX_N];
	uint8_t record[20000];
	size_t record_len;
	int persists;
	int fail_notify; /* the notify callback returns -1 */
	uint64_t now;
};

#define CPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "(null)")

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	struct fx *f = ud;
	struct captured *c;

	assert_true(f->nn < MAX_N);
	c = &f->n[f->nn++];
	c->sub = sub;
	c->reason = n->reason;
	c->cseq = n->cseq;
	c->terminated = n->terminated;
	c->require_eventlist = n->require_eventlist;
	CPY(c->event, n->event);
	CPY(c->substate, n->subscription_state);
	CPY(c->content_type, n->content_type);
	CPY(c->call_id, n->call_id);
	CPY(c->local_tag, n->local_tag);
	CPY(c->remote_tag, n->remote_tag);
	CPY(c->contact, n->contact);
	CPY(c->local_uri, n->local_uri);
	CPY(c->remote_uri, n->remote_uri);
	assert_true(n->body_len < sizeof(c->body));
	memcpy(c->body, n->body, n->body_len);
	c->body[n->body_len] = '\0';
	c->body_len = n->body_len;
	assert_int_equal(strlen(c->body), n->body_len);
	if (!n->terminated && f->record_len >= 20) {
		/* the record is stored before the NOTIFY goes out: a crash after
		 * sending never makes a restart reuse this CSeq */
		uint32_t stored = (uint32_t)f->record[16] | ((uint32_t)f->record[17] << 8) |
		                  ((uint32_t)f->record[18] << 16) | ((uint32_t)f->record[19] << 24);
		assert_true(stored > n->cseq);
	}
	return f->fail_notify ? -1 : 0;
}

static void on_persist(void *ud, struct sippres_sub *sub, const void *rec, size_t len)
{
	struct fx *f = ud;
	(void)sub;
	assert_true(len <= sizeof(f->record));
	memcpy(f->record, rec, len);
	f->record_len = len;
	f->persists++;
}

static void on_forget(void *ud, struct sippres_sub *sub)
{
	struct fx *f = ud;
	assert_true(f->forgets < MAX_N);
	f->forgotten[f->forgets++] = sub;
}

static int fixed_random(void *ud, uint8_t *buf, size_t len)
{
	static uint8_t x;
	(void)ud;
	for (size_t i = 0; i < len; i++)
		buf[i] = x++;
	return 0;
}

static struct sippres_ctx *new_ctx(struct fx *f)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = on_notify, .persist = on_persist,
	                               .forget = on_forget, .random = fixed_random};
	struct sippres_ctx *ctx;

	assert_int_equal(sippres_ctx_new(NULL, &cb, f, &ctx), 0);
	return ctx;
}

static void add_endpoint(struct sippres_ctx *ctx, const char *name, uint32_t profile, uint32_t min)
{
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default", .profile = profile,
	                              .sub_min_expiry = min};
	assert_true(sippres_endpoint_set(ctx, name, &ep) >= 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->ctx = new_ctx(f);
	f->now = 1000000;
	add_endpoint(f->ctx, "std", SIPPRES_PROFILE_STANDARD, 60);
	add_endpoint(f->ctx, "ast", SIPPRES_PROFILE_ASTERISK, 60);
	assert_int_equal(sippres_hint_set(f->ctx, "default", "1000", "PJSIP/alice&PJSIP/bob,CustomPresence:alice", NULL), 0);
	assert_int_equal(sippres_hint_set(f->ctx, "default", "2000", "PJSIP/carol", NULL), 0);
	assert_int_equal(sippres_hint_set(f->ctx, "default", "_3XX", "Custom:lamp${EXTEN}", NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	sippres_ctx_free(f->ctx);
	free(f);
	return 0;
}

/* A default SUBSCRIBE, to be modified by each case. */
static struct sippres_subscribe_req base_req(const char *ep, const char *resource, const char *event)
{
	static const char *accept_none[1];
	struct sippres_subscribe_req r = {
		.size = sizeof(r), .endpoint = ep, .ruri_scheme = "sip", .ruri_user = resource,
		.ruri_host = "192.0.2.10", .ruri_port = 5060, .from_uri = "sip:carol@192.0.2.20:5062",
		.from_tag = "ftag", .call_id = "call-1@192.0.2.20", .contact = "sip:carol@192.0.2.20:5062",
		.event = event, .accept = accept_none, .n_accept = 0, .expires = 600, .user_agent = "Yealink",
	};
	return r;
}

static uint32_t decide(struct fx *f, struct sippres_subscribe_req *req, struct sippres_subscribe_res *res,
                       struct sippres_sub **sub)
{
	struct sippres_sub *s = NULL;

	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	assert_int_equal(sippres_subscribe(f->ctx, req, f->now, res, &s), 0);
	if (sub)
		*sub = s;
	if (res->status == 200)
		assert_non_null(s);
	else
		assert_null(s);
	return res->status;
}

static int flush(struct fx *f)
{
	uint64_t deadline;
	int before = f->nn;

	assert_int_equal(sippres_ctx_next_timeout(f->ctx, f->now, &deadline), 1);
	assert_true(deadline <= f->now);
	assert_true(sippres_ctx_handle_timeout(f->ctx, f->now) >= 0);
	return f->nn - before;
}

static void test_decisions(void **state)
{
	struct fx *f = *state;
	struct sippres_subscribe_res res;
	struct sippres_subscribe_req r;
	const char *acc[40];

	for (int prof = 0; prof < 2; prof++) {
		const char *ep = prof ? "ast" : "std";
		bool ast = prof == 1;

		r = base_req("nobody", "1000", "presence");
		assert_int_equal(decide(f, &r, &res, NULL), 403);
		r = base_req(ep, "1000", "presence");
		r.ruri_scheme = "tel";
		assert_int_equal(decide(f, &r, &res, NULL), 416);
		r.ruri_scheme = "SIPS";
		r.call_id = "dec-sips";
		assert_int_equal(decide(f, &r, &res, NULL), 200);
		r = base_req(ep, "1000", "presence");
		r.call_id = "";
		assert_int_equal(decide(f, &r, &res, NULL), 400);
		r = base_req(ep, "1000", "presence");
		r.contact = NULL;
		assert_int_equal(decide(f, &r, &res, NULL), 400);
		/* Expires: 0 on an initial SUBSCRIBE: Asterisk 400, standard fetch */
		r = base_req(ep, "1000", "presence");
		r.expires = 0;
		r.call_id = ast ? "x" : "fetch-decision";
		assert_int_equal(decide(f, &r, &res, NULL), ast ? 400 : 200);
		/* below the minimum (60) */
		r = base_req(ep, "1000", "presence");
		r.expires = 30;
		assert_int_equal(decide(f, &r, &res, NULL), 423);
		assert_int_equal(res.min_expires, ast ? 0 : 60);
		assert_string_equal(res.reason, "Interval Too Brief");
		/* Event */
		r = base_req(ep, "1000", NULL);
		assert_int_equal(decide(f, &r, &res, NULL), 489);
		if (ast)
			assert_null(res.allow_events);
		else
			assert_string_equal(res.allow_events, "presence, dialog");
		r = base_req(ep, "1000", "shablagoo");
		assert_int_equal(decide(f, &r, &res, NULL), 489);
		r = base_req(ep, "1000", "Presence"); /* byte-exact */
		assert_int_equal(decide(f, &r, &res, NULL), 489);
		r = base_req(ep, "1000", "message-summary");
		assert_int_equal(decide(f, &r, &res, NULL), 489);
		/* Accept with nothing usable: 489 (asterisk) / 406 with Accept (standard) */
		r = base_req(ep, "1000", "presence");
		acc[0] = "application/simple-message-summary";
		r.accept = acc;
		r.n_accept = 1;
		assert_int_equal(decide(f, &r, &res, NULL), ast ? 489 : 406);
		if (!ast)
			assert_non_null(strstr(res.accept, "application/pidf+xml"));
		/* resource */
		r = base_req(ep, "9999", "presence");
		assert_int_equal(decide(f, &r, &res, NULL), 404);
		r = base_req(ep, "", "presence");
		assert_int_equal(decide(f, &r, &res, NULL), 404);
		/* pattern hint instantiated on subscribe */
		r = base_req(ep, "305", "dialog");
		r.call_id = ast ? "pat-a" : "pat-s";
		assert_int_equal(decide(f, &r, &res, NULL), 200);
		/* expiry: capped at 3600, default 3600 */
		r = base_req(ep, "1000", "presence");
		r.expires = 100000;
		r.call_id = ast ? "cap-a" : "cap-s";
		assert_int_equal(decide(f, &r, &res, NULL), 200);
		assert_int_equal(res.expires, 3600);
		assert_string_equal(res.reason, "OK");
		assert_non_null(res.local_tag);
		r.expires = -1;
		r.call_id = ast ? "def-a" : "def-s";
		assert_int_equal(decide(f, &r, &res, NULL), 200);
		assert_int_equal(res.expires, 3600);
	}
	/* the standard profile never answers 423 to 3600 s or more, even with a larger minimum */
	add_endpoint(f->ctx, "bigmin", SIPPRES_PROFILE_STANDARD, 7200);
	r = base_req("bigmin", "1000", "presence");
	r.expires = 3600;
	r.call_id = "bigmin";
	assert_int_equal(decide(f, &r, &res, NULL), 200);
	/* allow_subscribe=no */
	{
		struct sippres_endpoint ep = {.size = sizeof(ep), .flags = SIPPRES_ENDPOINT_DENY_SUBSCRIBE};
		assert_int_equal(sippres_endpoint_set(f->ctx, "deny", &ep), 0);
		r = base_req("deny", "1000", "presence");
		assert_int_equal(decide(f, &r, &res, NULL), 603);
		assert_string_equal(res.reason, "Decline");
	}
	/* subscribe_context wins over context */
	{
		struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default", .subscribe_context = "blf"};
		assert_int_equal(sippres_endpoint_set(f->ctx, "sc", &ep), 0);
		r = base_req("sc", "1000", "presence");
		assert_int_equal(decide(f, &r, &res, NULL), 404);
		assert_int_equal(sippres_hint_set(f->ctx, "blf", "1000", "PJSIP/x", NULL), 0);
		r.call_id = "sc-1";
		assert_int_equal(decide(f, &r, &res, NULL), 200);
	}
	/* argument errors are errors, not decisions */
	r = base_req("std", "1000", "presence");
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	{
		struct sippres_sub *s;
		assert_int_equal(sippres_subscribe(f->ctx, NULL, 0, &res, &s), SIPPRES_E_INVAL);
		r.size = 8;
		assert_int_equal(sippres_subscribe(f->ctx, &r, 0, &res, &s), SIPPRES_E_ABI);
		r.size = sizeof(r);
		res.size = 4;
		assert_int_equal(sippres_subscribe(f->ctx, &r, 0, &res, &s), SIPPRES_E_ABI);
	}
}

static const char *choose(struct fx *f, const char *ep, const char *event, const char **acc, size_t n)
{
	static char ct[64];
	struct sippres_subscribe_res res;
	struct sippres_subscribe_req r = base_req(ep, "1000", event);
	struct sippres_sub *s;
	static int k;
	char cid[32];
	struct sippres_sub_info info = {.size = sizeof(info)};

	snprintf(cid, sizeof(cid), "accept-%d", k++);
	r.call_id = cid;
	r.accept = acc;
	r.n_accept = n;
	if (decide(f, &r, &res, &s) != 200)
		return NULL;
	assert_int_equal(sippres_sub_get_info(f->ctx, s, &info), 0);
	snprintf(ct, sizeof(ct), "%s", info.content_type);
	return ct;
}

static void test_accept(void **state)
{
	struct fx *f = *state;
	const char *a[40];

	/* no Accept: the package default */
	assert_string_equal(choose(f, "ast", "presence", a, 0), "application/pidf+xml");
	assert_string_equal(choose(f, "ast", "dialog", a, 0), "application/dialog-info+xml");
	assert_string_equal(choose(f, "std", "dialog", a, 0), "application/dialog-info+xml");
	/* asterisk: the first exact match; q ignored; parameters never match */
	a[0] = "application/xpidf+xml;q=0.1, application/pidf+xml";
	assert_string_equal(choose(f, "ast", "presence", a, 1), "application/pidf+xml");
	a[0] = "multipart/related, application/rlmi+xml";
	a[1] = "application/xpidf+xml, application/pidf+xml";
	assert_string_equal(choose(f, "ast", "presence", a, 2), "application/xpidf+xml");
	a[0] = "Application/PIDF+XML";
	assert_null(choose(f, "ast", "presence", a, 1));
	a[0] = "application/pidf+xml";
	assert_string_equal(choose(f, "ast", "dialog", a, 1), "application/pidf+xml"); /* cross-event works */
	/* asterisk looks at 32 values only */
	for (int i = 0; i < 40; i++)
		a[i] = "text/plain";
	a[35] = "application/pidf+xml";
	assert_null(choose(f, "ast", "presence", a, 40));
	a[31] = "application/dialog-info+xml";
	assert_string_equal(choose(f, "ast", "presence", a, 40), "application/dialog-info+xml");
	/* standard: q-values honoured, ties in order, case-insensitive, wildcards */
	a[0] = "application/xpidf+xml;q=0.1, application/pidf+xml";
	assert_string_equal(choose(f, "std", "presence", a, 1), "application/pidf+xml");
	a[0] = "application/xpidf+xml;q=0.9, application/PIDF+xml;q=0.5";
	assert_string_equal(choose(f, "std", "presence", a, 1), "application/xpidf+xml");
	a[0] = "application/xpidf+xml; q=0.5";
	a[1] = "application/dialog-info+xml;q=0.5";
	assert_string_equal(choose(f, "std", "presence", a, 2), "application/xpidf+xml");
	a[0] = "application/pidf+xml;q=0";
	assert_null(choose(f, "std", "presence", a, 1));
	a[0] = "*/*";
	assert_string_equal(choose(f, "std", "dialog", a, 1), "application/dialog-info+xml");
	a[0] = "application/*;q=0.2, text/html";
	assert_string_equal(choose(f, "std", "presence", a, 1), "application/pidf+xml");
	a[0] = "application/pidf+xml;q=bogus, application/xpidf+xml;q=0.3";
	assert_string_equal(choose(f, "std", "presence", a, 1), "application/xpidf+xml");
	a[0] = ",,, ,";
	assert_null(choose(f, "std", "presence", a, 1));
}

static struct sippres_sub *subscribe_ok(struct fx *f, const char *ep, const char *res_name, const char *event,
                                        const char *call_id, int64_t expires)
{
	struct sippres_subscribe_res res;
	struct sippres_subscribe_req r = base_req(ep, res_name, event);
	struct sippres_sub *s;

	r.call_id = call_id;
	r.expires = expires;
	r.event_id = strcmp(event, "dialog") == 0 ? "7" : NULL;
	assert_int_equal(decide(f, &r, &res, &s), 200);
	return s;
}

static void test_lifecycle_standard(void **state)
{
	struct fx *f = *state;
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *s = subscribe_ok(f, "std", "1000", "presence", "life-1", 600);
	uint64_t deadline;

	/* nothing is sent before the host runs the timers (it answers 200 first) */
	assert_int_equal(f->nn, 0);
	assert_int_equal(sippres_ctx_next_timeout(f->ctx, f->now, &deadline), 1);
	assert_int_equal(deadline, f->now);
	/* a state change before the initial NOTIFY only updates what it will carry */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(f->nn, 0);
	f->now += 250;
	assert_int_equal(flush(f), 1);
	assert_int_equal(f->n[0].reason, SIPPRES_NOTIFY_INITIAL);
	assert_int_equal(f->n[0].cseq, 1);
	assert_string_equal(f->n[0].event, "presence");
	assert_string_equal(f->n[0].substate, "active;expires=599");
	assert_string_equal(f->n[0].content_type, "application/pidf+xml");
	assert_string_equal(f->n[0].call_id, "life-1");
	assert_string_equal(f->n[0].remote_tag, "ftag");
	assert_string_equal(f->n[0].contact, "sip:carol@192.0.2.20:5062");
	assert_string_equal(f->n[0].local_uri, "sip:1000@192.0.2.10:5060");
	assert_string_equal(f->n[0].remote_uri, "sip:carol@192.0.2.20:5062");
	assert_non_null(strstr(f->n[0].body, "<basic>open</basic>"));
	assert_non_null(strstr(f->n[0].body, "on-the-phone"));
	assert_non_null(sippres_sub_find(f->ctx, "life-1", f->n[0].local_tag));
	assert_ptr_equal(sippres_sub_find(f->ctx, "life-1", f->n[0].local_tag), s);
	assert_null(sippres_sub_find(f->ctx, "life-1", "other"));
	/* the timer now is the expiry */
	assert_int_equal(sippres_ctx_next_timeout(f->ctx, f->now, &deadline), 1);
	assert_int_equal(deadline, 1000000 + 600000);
	/* a change: synchronous NOTIFY; the same state again: none */
	f->now += 10000;
	assert_int_equal(sippres_ctx_set_time(f->ctx, f->now), 0);
	assert_int_equal(sippres_ctx_set_time(f->ctx, f->now - 5000), 0); /* never backwards */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/alice", SIPPRES_DEVICE_UNAVAILABLE), 0);
	assert_int_equal(f->nn, 2);
	assert_int_equal(f->n[1].reason, SIPPRES_NOTIFY_CHANGE);
	assert_int_equal(f->n[1].cseq, 2);
	assert_string_equal(f->n[1].substate, "active;expires=589");
	assert_non_null(strstr(f->n[1].body, "<basic>closed</basic>")); /* UNAVAILABLE outranks UNKNOWN */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/alice", SIPPRES_DEVICE_UNAVAILABLE), 0);
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/carol", SIPPRES_DEVICE_BUSY), 0); /* other hint */
	assert_int_equal(f->nn, 2);
	/* presence changes reach PIDF subscribers */
	assert_int_equal(sippres_presence_state_set(f->ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "lunch", "Out"), 0);
	assert_int_equal(f->nn, 3);
	assert_non_null(strstr(f->n[2].body, "away"));
	/* refresh */
	f->now += 1000;
	assert_int_equal(sippres_sub_refresh(f->ctx, s, 900, f->now, &res), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.expires, 900);
	assert_int_equal(f->nn, 3);
	assert_int_equal(flush(f), 1);
	assert_int_equal(f->n[3].reason, SIPPRES_NOTIFY_REFRESH);
	assert_string_equal(f->n[3].substate, "active;expires=900");
	assert_int_equal(f->n[3].cseq, 4);
	/* a too-short refresh: 423 with Min-Expires in the standard profile */
	assert_int_equal(sippres_sub_refresh(f->ctx, s, 10, f->now, &res), 0);
	assert_int_equal(res.status, 423);
	assert_int_equal(res.min_expires, 60);
	/* unsubscribe */
	assert_int_equal(sippres_sub_refresh(f->ctx, s, 0, f->now, &res), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.expires, 0);
	{
		/* the stored record now says "ended": a restart in between does not bring it back */
		struct fx g;
		struct sippres_sub *r;

		memset(&g, 0, sizeof(g));
		g.ctx = new_ctx(&g);
		add_endpoint(g.ctx, "std", SIPPRES_PROFILE_STANDARD, 60);
		assert_int_equal(sippres_hint_set(g.ctx, "default", "1000", "PJSIP/alice", NULL), 0);
		assert_int_equal(sippres_sub_restore(g.ctx, f->record, f->record_len, f->now, &r), SIPPRES_E_NOTFOUND);
		sippres_ctx_free(g.ctx);
	}
	assert_int_equal(f->forgets, 0);
	assert_int_equal(flush(f), 1);
	assert_int_equal(f->n[4].reason, SIPPRES_NOTIFY_FINAL);
	assert_int_equal(f->n[4].terminated, 1);
	assert_string_equal(f->n[4].substate, "terminated;reason=timeout");
	assert_non_null(strstr(f->n[4].body, "<presence"));
	assert_int_equal(f->forgets, 1);
	assert_ptr_equal(f->forgotten[0], s);
	assert_int_equal(sippres_sub_count(f->ctx), 0);
	assert_int_equal(sippres_ctx_next_timeout(f->ctx, f->now, &deadline), 0);
}

static void test_lifecycle_asterisk_dialog(void **state)
{
	struct fx *f = *state;
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *s = subscribe_ok(f, "ast", "1000", "dialog", "ast-1", 300);

	assert_int_equal(flush(f), 1);
	assert_string_equal(f->n[0].event, "dialog;id=7");
	assert_string_equal(f->n[0].substate, "active;expires=300");
	assert_non_null(strstr(f->n[0].body, "version=\"0\""));
	assert_non_null(strstr(f->n[0].body, "<state>terminated</state>"));
	/* a presence change still notifies in the asterisk profile, with a new version */
	assert_int_equal(sippres_presence_state_set(f->ctx, "CustomPresence:alice", SIPPRES_PRESENCE_DND, NULL, NULL), 0);
	assert_int_equal(f->nn, 2);
	assert_non_null(strstr(f->n[1].body, "version=\"1\""));
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/bob", SIPPRES_DEVICE_RINGING), 0);
	assert_non_null(strstr(f->n[2].body, "version=\"2\""));
	assert_non_null(strstr(f->n[2].body, "<state>early</state>"));
	assert_non_null(strstr(f->n[2].body, "direction=\"recipient\""));
	/* a refresh re-sends the last body: version unchanged */
	assert_int_equal(sippres_sub_refresh(f->ctx, s, 300, f->now, &res), 0);
	assert_int_equal(flush(f), 1);
	assert_non_null(strstr(f->n[3].body, "version=\"2\""));
	assert_string_equal(f->n[3].body, f->n[2].body);
	/* expiry: terminated without reason */
	f->now += 300 * 1000;
	assert_int_equal(sippres_ctx_handle_timeout(f->ctx, f->now), 1);
	assert_string_equal(f->n[4].substate, "terminated");
	assert_int_equal(f->n[4].terminated, 1);
	assert_non_null(strstr(f->n[4].body, "version=\"2\""));
	assert_int_equal(f->forgets, 1);
	assert_int_equal(sippres_sub_count(f->ctx), 0);
}

static void test_versions_standard(void **state)
{
	struct fx *f = *state;
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *s = subscribe_ok(f, "std", "1000", "dialog", "ver-1", 600);

	assert_int_equal(flush(f), 1);
	assert_non_null(strstr(f->n[0].body, "version=\"0\""));
	/* presence-only changes do not reach dialog-info subscribers in the standard profile */
	assert_int_equal(sippres_presence_state_set(f->ctx, "CustomPresence:alice", SIPPRES_PRESENCE_DND, NULL, NULL), 0);
	assert_int_equal(f->nn, 1);
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/bob", SIPPRES_DEVICE_INUSE), 0);
	assert_non_null(strstr(f->n[1].body, "version=\"1\""));
	/* every NOTIFY carries the next version, refresh included (RFC 4235) */
	assert_int_equal(sippres_sub_refresh(f->ctx, s, 600, f->now, &res), 0);
	assert_int_equal(flush(f), 1);
	assert_non_null(strstr(f->n[2].body, "version=\"2\""));
	/* hint removal: final NOTIFY with noresource */
	assert_int_equal(sippres_hint_remove(f->ctx, "default", "1000"), 0);
	assert_int_equal(f->nn, 4);
	assert_string_equal(f->n[3].substate, "terminated;reason=noresource");
	assert_non_null(strstr(f->n[3].body, "version=\"3\""));
	assert_int_equal(f->forgets, 1);
}

static void test_fetch(void **state)
{
	struct fx *f = *state;
	struct sippres_subscribe_res res;
	struct sippres_subscribe_req r = base_req("std", "1000", "presence");
	struct sippres_sub *s;

	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/bob", SIPPRES_DEVICE_BUSY), 0);
	r.expires = 0;
	assert_int_equal(decide(f, &r, &res, &s), 200);
	assert_int_equal(res.expires, 0);
	assert_int_equal(flush(f), 1);
	assert_string_equal(f->n[0].substate, "terminated;reason=timeout");
	assert_non_null(strstr(f->n[0].body, "on-the-phone"));
	assert_int_equal(sippres_sub_count(f->ctx), 0);
	assert_int_equal(f->persists, 0); /* a fetch is never stored */
}

static void test_fanout_and_failures(void **state)
{
	struct fx *f = *state;
	struct sippres_sub *a[3], *b[2];
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default", .notify_failure_limit = 2};

	assert_int_equal(sippres_endpoint_set(f->ctx, "tolerant", &ep), 0);
	a[0] = subscribe_ok(f, "std", "1000", "presence", "fa-0", 600);
	a[1] = subscribe_ok(f, "ast", "1000", "presence", "fa-1", 600);
	a[2] = subscribe_ok(f, "tolerant", "1000", "dialog", "fa-2", 600);
	b[0] = subscribe_ok(f, "std", "2000", "presence", "fb-0", 600);
	b[1] = subscribe_ok(f, "std", "2000", "dialog", "fb-1", 600);
	assert_int_equal(flush(f), 5);
	f->nn = 0;
	/* a change on 1000 reaches its 3 subscriptions and no other */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(f->nn, 3);
	for (int i = 0; i < 3; i++)
		assert_non_null(strstr(f->n[i].call_id, "fa-"));
	/* a 2xx keeps it, 408 with limit 0 ends it (pjsip) */
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[0], 2, 200, f->now), 0);
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[0], 2, 180, f->now), 0);
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[0], 2, 408, f->now), 1);
	assert_int_equal(f->forgets, 1);
	assert_ptr_equal(f->forgotten[0], a[0]);
	/* tolerant endpoint: two failures survive, the third ends it; a 2xx resets the count */
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 2, 408, f->now), 0);
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 2, 503, f->now), 0);
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 2, 200, f->now), 0);
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 2, 408, f->now), 0);
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 1, 408, f->now), 0); /* older: ignored */
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 2, 408, f->now), 0);
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 3, 200, f->now), SIPPRES_E_INVAL); /* never sent */
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 0, 200, f->now), SIPPRES_E_INVAL);
	assert_int_equal(sippres_sub_notify_result(f->ctx, a[2], 2, 408, f->now), 1);
	assert_int_equal(f->forgets, 2);
	/* 481 always ends */
	assert_int_equal(sippres_sub_notify_result(f->ctx, b[0], 1, 481, f->now), 1);
	assert_int_equal(f->forgets, 3);
	assert_int_equal(sippres_sub_notify_result(f->ctx, b[1], 2, 99, f->now), SIPPRES_E_INVAL);
	/* a notify callback that cannot send counts as a failure */
	f->fail_notify = 1;
	f->nn = 0;
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(f->nn, 1);
	assert_int_equal(f->forgets, 4);
	assert_int_equal(sippres_sub_count(f->ctx), 1);
	f->fail_notify = 0;
	/* the host ends one: deactivated */
	assert_int_equal(sippres_sub_terminate(f->ctx, b[1], f->now), 0);
	assert_string_equal(f->n[f->nn - 1].substate, "terminated;reason=deactivated");
	assert_int_equal(sippres_sub_count(f->ctx), 0);
}

static void test_endpoint_removal(void **state)
{
	struct fx *f = *state;

	subscribe_ok(f, "ast", "1000", "presence", "er-0", 600);
	subscribe_ok(f, "std", "1000", "presence", "er-1", 600);
	assert_int_equal(flush(f), 2);
	assert_int_equal(sippres_endpoint_remove(f->ctx, "ast"), 0);
	assert_int_equal(f->nn, 3);
	assert_string_equal(f->n[2].substate, "terminated");
	assert_int_equal(sippres_sub_count(f->ctx), 1);
	assert_int_equal(sippres_endpoint_remove(f->ctx, "ast"), SIPPRES_E_NOTFOUND);
}

static void test_persist_restore(void **state)
{
	struct fx *f = *state, g;
	struct sippres_sub *s = subscribe_ok(f, "ast", "1000", "dialog", "pr-1", 600), *r;
	uint8_t rec[20000];
	size_t len;

	assert_int_equal(flush(f), 1);
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/bob", SIPPRES_DEVICE_INUSE), 0);
	assert_int_equal(f->nn, 2);
	assert_true(f->persists >= 3); /* created, and after each NOTIFY */
	memcpy(rec, f->record, f->record_len);
	len = f->record_len;
	(void)s;

	/* a new process: same config, the record comes back */
	memset(&g, 0, sizeof(g));
	g.ctx = new_ctx(&g);
	add_endpoint(g.ctx, "ast", SIPPRES_PROFILE_ASTERISK, 60);
	assert_int_equal(sippres_hint_set(g.ctx, "default", "1000", "PJSIP/alice&PJSIP/bob,CustomPresence:alice", NULL), 0);
	assert_int_equal(sippres_device_state_set(g.ctx, "PJSIP/bob", SIPPRES_DEVICE_BUSY), 0);
	g.now = f->now + 5000;
	assert_int_equal(sippres_sub_restore(g.ctx, rec, len, g.now, &r), 0);
	assert_int_equal(sippres_sub_restore(g.ctx, rec, len, g.now, &r), SIPPRES_E_EXISTS);
	assert_int_equal(flush(&g), 1);
	assert_int_equal(g.n[0].reason, SIPPRES_NOTIFY_RESTORED);
	assert_int_equal(g.n[0].cseq, 3);                         /* continues CSeq */
	assert_non_null(strstr(g.n[0].body, "version=\"2\"")); /* continues the version */
	assert_string_equal(g.n[0].call_id, "pr-1");
	assert_string_equal(g.n[0].local_tag, f->n[0].local_tag);
	assert_string_equal(g.n[0].event, "dialog;id=7");
	assert_string_equal(g.n[0].substate, "active;expires=595");
	assert_int_equal(sippres_ctx_handle_timeout(g.ctx, f->now + 600 * 1000), 1); /* expires as before */
	assert_string_equal(g.n[1].substate, "terminated");
	sippres_ctx_free(g.ctx);

	/* expired, unknown endpoint, corrupt and truncated records */
	memset(&g, 0, sizeof(g));
	g.ctx = new_ctx(&g);
	assert_int_equal(sippres_sub_restore(g.ctx, rec, len, f->now, &r), SIPPRES_E_NOTFOUND); /* no endpoint */
	add_endpoint(g.ctx, "ast", SIPPRES_PROFILE_ASTERISK, 60);
	assert_int_equal(sippres_sub_restore(g.ctx, rec, len, f->now, &r), SIPPRES_E_NOTFOUND); /* no hint */
	assert_int_equal(sippres_hint_set(g.ctx, "default", "1000", "PJSIP/alice", NULL), 0);
	assert_int_equal(sippres_sub_restore(g.ctx, rec, len, f->now + 601 * 1000, &r), SIPPRES_E_NOTFOUND);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(sippres_sub_restore(g.ctx, rec, cut, f->now, &r), cut ? SIPPRES_E_PARSE : SIPPRES_E_PARSE);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			rec[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(sippres_sub_restore(g.ctx, rec, len, f->now, &r), SIPPRES_E_PARSE);
			rec[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(sippres_sub_count(g.ctx), 0);
	assert_int_equal(sippres_sub_restore(g.ctx, rec, len, f->now, &r), 0);
	sippres_ctx_free(g.ctx);
}

/* The longest fields the engine takes still make a record, which restores. */
static void test_long_fields_persist(void **state)
{
	struct fx *f = *state, g;
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_subscribe_req r = base_req("std", "1000", "presence");
	static char contact[2049], from[2049], ua[2049], cid[2049];
	struct sippres_sub *s;

	memset(contact, 'c', 2048);
	memcpy(contact, "sip:", 4);
	memset(from, 'f', 2048);
	memcpy(from, "sip:", 4);
	memset(ua, 'u', 2048);
	memset(cid, 'i', 2048);
	r.contact = contact;
	r.from_uri = from;
	r.user_agent = ua;
	r.call_id = cid;
	assert_int_equal(decide(f, &r, &res, &s), 200);
	assert_true(f->record_len > 4 * 2048);
	/* one byte more is refused as an argument error */
	{
		static char big[2050];
		memset(big, 'x', 2049);
		r.contact = big;
		r.call_id = "other";
		assert_int_equal(sippres_subscribe(f->ctx, &r, f->now, &res, &s), SIPPRES_E_INVAL);
	}
	memset(&g, 0, sizeof(g));
	g.ctx = new_ctx(&g);
	add_endpoint(g.ctx, "std", SIPPRES_PROFILE_STANDARD, 60);
	assert_int_equal(sippres_hint_set(g.ctx, "default", "1000", "PJSIP/alice", NULL), 0);
	assert_int_equal(sippres_sub_restore(g.ctx, f->record, f->record_len, f->now, &s), 0);
	assert_int_equal(flush(&g), 1);
	assert_int_equal(strlen(g.n[0].contact), 63); /* the capture truncates; the NOTIFY carries it whole */
	sippres_ctx_free(g.ctx);
}

static void test_golden_asterisk_pidf(void **state)
{
	struct fx *f = *state;
	char path[512], want[4096];
	FILE *fp;
	size_t n;

	/* the PIDF Asterisk sends for an idle extension, end to end through the engine */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	subscribe_ok(f, "ast", "1000", "presence", "golden", 3600);
	assert_int_equal(flush(f), 1);
	snprintf(path, sizeof(path), "%s/asterisk/ref-example-a-pidf.xml", GOLDEN_DIR);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	n = fread(want, 1, sizeof(want) - 1, fp);
	fclose(fp);
	want[n] = '\0';
	assert_string_equal(f->n[0].body, want);
}

static void test_info_and_foreach(void **state)
{
	struct fx *f = *state;
	struct sippres_sub *s = subscribe_ok(f, "std", "305", "presence", "info-1", 600);
	struct sippres_sub_info info = {.size = sizeof(info)};
	int x = 5;

	assert_int_equal(sippres_sub_get_info(f->ctx, s, &info), 0);
	assert_string_equal(info.local_uri, "sip:305@192.0.2.10:5060");
	assert_string_equal(info.endpoint, "std");
	assert_string_equal(info.context, "default");
	assert_string_equal(info.resource, "305");
	assert_string_equal(info.event, "presence");
	assert_null(info.event_id);
	assert_string_equal(info.user_agent, "Yealink");
	assert_int_equal(info.expires_at_ms, f->now + 600000);
	assert_int_equal(info.next_cseq, 1);
	assert_int_equal(info.profile, SIPPRES_PROFILE_STANDARD);
	/* an IPv6 Request-URI host is bracketed in URIs, given with or without brackets */
	{
		struct sippres_subscribe_res res;
		struct sippres_subscribe_req r = base_req("std", "1000", "presence");
		struct sippres_sub *s6;

		r.ruri_host = "2001:db8::1";
		r.call_id = "v6";
		assert_int_equal(decide(f, &r, &res, &s6), 200);
		assert_int_equal(sippres_sub_get_info(f->ctx, s6, &info), 0);
		assert_string_equal(info.local_uri, "sip:1000@[2001:db8::1]:5060");
		r.ruri_host = "[::1]";
		r.call_id = "v6b";
		assert_int_equal(decide(f, &r, &res, &s6), 200);
		assert_int_equal(sippres_sub_get_info(f->ctx, s6, &info), 0);
		assert_string_equal(info.local_uri, "sip:1000@[::1]:5060");
	}
	sippres_sub_set_user_data(s, &x);
	assert_ptr_equal(sippres_sub_get_user_data(s), &x);
	assert_int_equal(sippres_sub_foreach(f->ctx, NULL, NULL), SIPPRES_E_INVAL);
	info.size = 4;
	assert_int_equal(sippres_sub_get_info(f->ctx, s, &info), SIPPRES_E_ABI);
}


/* What subscriptions share is kept once (docs/performance.md, memory): the
 * subscriber's From URI, Contact and User-Agent, and the local URI of a
 * resource. Each subscription still reads its own values, a Digium
 * User-Agent still gets its tuple, and ending one subscription leaves the
 * others' strings as they were. */
static void test_shared_strings(void **state)
{
	struct fx *f = *state;
	struct sippres_sub *s1 = subscribe_ok(f, "std", "1000", "presence", "sh-1", 600);
	struct sippres_sub *s2 = subscribe_ok(f, "std", "2000", "dialog", "sh-2", 600);
	struct sippres_sub_info i1 = {.size = sizeof(i1)}, i2 = {.size = sizeof(i2)}, i3 = {.size = sizeof(i3)};
	struct sippres_subscribe_req r = base_req("std", "1000", "presence");
	struct sippres_subscribe_res res;
	struct sippres_sub *s3, *s4, *s5;
	int n;

	assert_int_equal(sippres_sub_get_info(f->ctx, s1, &i1), 0);
	assert_int_equal(sippres_sub_get_info(f->ctx, s2, &i2), 0);
	assert_string_equal(i1.remote_uri, "sip:carol@192.0.2.20:5062");
	assert_ptr_equal(i1.remote_uri, i2.remote_uri); /* one copy */
	assert_ptr_equal(i1.contact, i2.contact);
	assert_ptr_equal(i1.user_agent, i2.user_agent);
	assert_string_equal(i2.local_uri, "sip:2000@192.0.2.10:5060");
	/* the same phone with a Digium User-Agent: its own tuple, its own flag */
	r.call_id = "sh-3";
	r.user_agent = "Digium D65 1.2";
	assert_int_equal(decide(f, &r, &res, &s3), 200);
	/* another phone to the same resource: the local URI is shared */
	r.call_id = "sh-4";
	r.user_agent = "Yealink";
	r.from_uri = "sip:dave@192.0.2.21";
	r.contact = "sip:dave@192.0.2.21";
	assert_int_equal(decide(f, &r, &res, &s4), 200);
	assert_int_equal(sippres_sub_get_info(f->ctx, s3, &i3), 0);
	assert_string_equal(i3.user_agent, "Digium D65 1.2");
	assert_string_equal(i3.remote_uri, "sip:carol@192.0.2.20:5062");
	assert_ptr_not_equal(i3.user_agent, i1.user_agent);
	assert_ptr_equal(i3.local_uri, i1.local_uri);
	assert_int_equal(sippres_sub_get_info(f->ctx, s4, &i3), 0);
	assert_ptr_equal(i3.local_uri, i1.local_uri);
	assert_string_equal(i3.remote_uri, "sip:dave@192.0.2.21");
	/* carol again, asterisk profile: the body's remote party is her From
	 * URI without its port */
	r = base_req("ast", "1000", "presence");
	r.call_id = "sh-5";
	assert_int_equal(decide(f, &r, &res, &s5), 200);
	n = f->nn;
	assert_int_equal(flush(f), 5);
	for (int k = n; k < f->nn; k++) {
		const struct captured *c = &f->n[k];

		if (c->sub == s5)
			assert_non_null(strstr(c->body, ">sip:carol@192.0.2.20</contact>"));
		/* only the Digium User-Agent's PIDF carries the Digium tuple */
		assert_int_equal(strstr(c->body, "digium-presence") != NULL, c->sub == s3);
		assert_string_equal(c->contact, c->sub == s4 ? "sip:dave@192.0.2.21" : "sip:carol@192.0.2.20:5062");
	}
	/* ending the first of them leaves the others' strings */
	assert_int_equal(sippres_sub_terminate(f->ctx, s1, f->now), 0);
	assert_int_equal(sippres_ctx_handle_timeout(f->ctx, f->now) >= 0, 1);
	assert_int_equal(sippres_sub_get_info(f->ctx, s2, &i2), 0);
	assert_string_equal(i2.remote_uri, "sip:carol@192.0.2.20:5062");
	assert_string_equal(i2.contact, "sip:carol@192.0.2.20:5062");
	assert_string_equal(i2.user_agent, "Yealink");
	assert_int_equal(sippres_sub_get_info(f->ctx, s4, &i3), 0);
	assert_string_equal(i3.local_uri, "sip:1000@192.0.2.10:5060");
}

/* An endpoint's callerid= (Asterisk's forms) comes back apart, as name and
 * number, in each of its subscriptions' info; replacing the endpoint
 * replaces them; an old-sized struct sippres_endpoint has none. */
static void test_endpoint_callerid(void **state)
{
	static const struct {
		const char *cid, *name, *number;
	} cases[] = {
		{"\"Alice Smith\" <1000>", "Alice Smith", "1000"},
		{"\"Front \\\"Desk\\\" \\\\ <x>\" <2000>", "Front \"Desk\" \\ <x>", "2000"},
		{"Alice Smith <+1 (555) 010-1000>", "Alice Smith", "+1 (555) 010-1000"},
		{"<1000>", NULL, "1000"},
		{"  1000  ", NULL, "1000"},
		{"Reception", "Reception", NULL},
		{"\"\" <>", NULL, NULL},
		{"", NULL, NULL},
	};
	struct fx *f = *state;
	struct sippres_sub_info info = {.size = sizeof(info)};
	struct sippres_endpoint ep = {.size = sizeof(ep), .profile = SIPPRES_PROFILE_STANDARD};
	struct sippres_sub *s;

	assert_int_equal(sippres_endpoint_set(f->ctx, "cid", &ep), 0);
	s = subscribe_ok(f, "cid", "1000", "presence", "cid-1", 600);
	assert_int_equal(sippres_sub_get_info(f->ctx, s, &info), 0);
	assert_null(info.endpoint_cid_name);
	assert_null(info.endpoint_cid_number);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *name = cases[i].name;

		ep.callerid = cases[i].cid;
		assert_int_equal(sippres_endpoint_set(f->ctx, "cid", &ep), 1);
		assert_int_equal(sippres_sub_get_info(f->ctx, s, &info), 0);
		if (name)
			assert_string_equal(info.endpoint_cid_name, name);
		else
			assert_null(info.endpoint_cid_name);
		if (cases[i].number)
			assert_string_equal(info.endpoint_cid_number, cases[i].number);
		else
			assert_null(info.endpoint_cid_number);
	}
	/* a host built against 0.1 passes the struct without callerid: no caller ID */
	ep.callerid = "Alice <1000>";
	assert_int_equal(sippres_endpoint_set(f->ctx, "cid", &ep), 1);
	ep.size = offsetof(struct sippres_endpoint, callerid);
	assert_int_equal(sippres_endpoint_set(f->ctx, "cid", &ep), 1);
	assert_int_equal(sippres_sub_get_info(f->ctx, s, &info), 0);
	assert_null(info.endpoint_cid_name);
	assert_null(info.endpoint_cid_number);
	/* and a 0.1 sippres_sub_info is filled up to its own end */
	{
		struct sippres_sub_info small[2];

		memset(small, 0xa5, sizeof(small));
		small[0].size = offsetof(struct sippres_sub_info, endpoint_cid_name);
		assert_int_equal(sippres_sub_get_info(f->ctx, s, &small[0]), 0);
		assert_int_equal(((unsigned char *)&small[0])[offsetof(struct sippres_sub_info, endpoint_cid_name)], 0xa5);
	}
}


/* A SUBSCRIBE for a hint kept in an included context: 200, NOTIFYs that
 * follow that hint, and the end when that hint is removed. */
static void test_subscribe_through_include(void **state)
{
	struct fx *f = *state;
	struct sippres_subscribe_req r = base_req("std", "4000", "presence");
	struct sippres_subscribe_res res;
	const char *shared[] = {"shared"};
	struct sippres_sub *s, *p;

	assert_int_equal(sippres_hint_set(f->ctx, "shared", "4000", "PJSIP/dave", NULL), 0);
	assert_int_equal(sippres_hint_set(f->ctx, "shared", "_5XX", "PJSIP/p${EXTEN}", NULL), 0);
	assert_int_equal(decide(f, &r, &res, NULL), 404);
	assert_int_equal(sippres_context_include_set(f->ctx, "default", shared, 1), 0);
	s = subscribe_ok(f, "std", "4000", "presence", "inc-1", 600);
	assert_int_equal(flush(f), 1);
	assert_ptr_equal(f->n[0].sub, s);
	assert_non_null(strstr(f->n[0].body, "<basic>open</basic>"));
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/dave", SIPPRES_DEVICE_UNAVAILABLE), 0);
	assert_int_equal(f->nn, 2);
	assert_non_null(strstr(f->n[1].body, "<basic>closed</basic>"));
	/* an own hint still comes first */
	(void)subscribe_ok(f, "std", "2000", "presence", "inc-2", 600);
	assert_int_equal(flush(f), 1);
	assert_non_null(strstr(f->n[2].body, "2000"));
	/* a pattern of the included context: instantiated there */
	p = subscribe_ok(f, "std", "555", "presence", "inc-3", 600);
	assert_int_equal(flush(f), 1);
	assert_ptr_equal(f->n[3].sub, p);
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/p555", SIPPRES_DEVICE_UNAVAILABLE), 0);
	assert_int_equal(f->nn, 5);
	assert_ptr_equal(f->n[4].sub, p);
	/* the subscription keeps the hint it found when the include goes away */
	assert_int_equal(sippres_context_include_set(f->ctx, "default", NULL, 0), 0);
	assert_int_equal(decide(f, &r, &res, NULL), 404);
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/dave", SIPPRES_DEVICE_NOT_INUSE), 0);
	assert_int_equal(f->nn, 6);
	assert_ptr_equal(f->n[5].sub, s);
	assert_non_null(strstr(f->n[5].body, "<basic>open</basic>"));
	/* and ends when that hint is removed */
	assert_int_equal(sippres_hint_remove(f->ctx, "shared", "4000"), 0);
	assert_int_equal(f->nn, 7);
	assert_ptr_equal(f->n[6].sub, s);
	assert_int_equal(f->n[6].terminated, 1);
	assert_string_equal(f->n[6].substate, "terminated;reason=noresource");
	assert_int_equal(f->forgets, 1);
	assert_int_equal(sippres_hint_remove(f->ctx, "shared", "_5XX"), 0);
	assert_int_equal(f->nn, 8);
	assert_ptr_equal(f->n[7].sub, p);
	assert_string_equal(f->n[7].substate, "terminated;reason=noresource");
}

/* Many subscriptions whose first NOTIFY is queued, ended by the host before
 * the queue is sent (issue 11: each end walked the queue, quadratic in the
 * count; bench-hostile measures it). Each gets its final NOTIFY and forget
 * at once; the queue then sends the others' first NOTIFYs; ended ones that
 * the queue still holds are freed by the drain or by sippres_ctx_free
 * (the live-block count goes back to zero). */
static int count_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	long *c = ud;

	(void)sub;
	c[n->terminated ? 1 : 0]++;
	return 0;
}

static void count_forget(void *ud, struct sippres_sub *sub)
{
	long *c = ud;

	(void)sub;
	c[2]++;
}

static void test_queue_ends_at_scale(void **state)
{
	enum { N = 20000 };
	struct failer fl = {0};
	struct sippres_allocator a = failer_allocator(&fl);
	struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &a};
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = count_notify, .forget = count_forget,
	                               .random = fixed_random};
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default"};
	struct sippres_sub **subs = calloc(N, sizeof(*subs));
	long c[3] = {0}; /* NOTIFYs, final NOTIFYs, forgets */
	struct sippres_ctx *ctx;

	(void)state;
	assert_non_null(subs);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(sippres_ctx_new(&cfg, &cb, c, &ctx), 0);
		assert_int_equal(sippres_endpoint_set(ctx, "std", &ep), 0);
		assert_int_equal(sippres_hint_set(ctx, "default", "1000", "PJSIP/alice", NULL), 0);
		memset(c, 0, sizeof(c));
		for (int i = 0; i < N; i++) {
			struct sippres_subscribe_req r = base_req("std", "1000", "presence");
			struct sippres_subscribe_res res = {.size = sizeof(res)};
			char cid[32];

			snprintf(cid, sizeof(cid), "q-%d", i);
			r.call_id = cid;
			assert_int_equal(sippres_subscribe(ctx, &r, 1000, &res, &subs[i]), 0);
			assert_int_equal(res.status, 200);
		}
		/* every other one, from the end of the queue back */
		for (int i = N - 1; i >= 0; i -= 2)
			assert_int_equal(sippres_sub_terminate(ctx, subs[i], 1000), 0);
		assert_int_equal(c[1], N / 2);
		assert_int_equal(c[2], N / 2);
		assert_int_equal(sippres_sub_count(ctx), N / 2);
		if (round == 0) {
			/* the drain sends the others' first NOTIFYs and frees the ended ones */
			assert_int_equal(sippres_ctx_handle_timeout(ctx, 1000), N / 2);
			assert_int_equal(c[0], N / 2);
			assert_int_equal(sippres_sub_terminate(ctx, subs[0], 1000), 0);
			assert_int_equal(sippres_sub_count(ctx), N / 2 - 1);
		}
		/* round 1: the context ends with ended subscriptions in its queue */
		sippres_ctx_free(ctx);
		assert_int_equal(fl.live, 0);
	}
	free(subs);
}

/* A copy of the struct at init (n bytes) in a zeroed 8 KiB block, its size
 * member set to claimed. */
static void *sized(const void *init, size_t n, size_t claimed)
{
	static unsigned char block[8][8192];
	static int next;
	unsigned char *b = block[next++ % 8];

	memset(b, 0, sizeof(block[0]));
	memcpy(b, init, n);
	memcpy(b, &claimed, sizeof(claimed));
	return b;
}

/* Every size-prefixed struct a host passes: a size above
 * SIPPRES_MAX_STRUCT_SIZE is refused before the bytes it claims are read or
 * written (issue 11: the tail check read, and the out structs were cleared,
 * as far as the size said); a size up to it with a zero tail is a newer
 * host's struct and is accepted. */
static void test_struct_size_bound(void **state)
{
	struct fx *f = *state;
	const size_t huge = (size_t)1 << 40, over = SIPPRES_MAX_STRUCT_SIZE + 1, max = SIPPRES_MAX_STRUCT_SIZE;
	struct sippres_config cfg = {.size = sizeof(cfg)};
	struct sippres_callbacks cb = {.size = sizeof(cb)};
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default"};
	struct sippres_subscribe_req req = base_req("std", "1000", "presence");
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub_info info = {.size = sizeof(info)};
	struct sippres_exten_status st = {.size = sizeof(st)};
	const char *items[1] = {"1000"};
	struct sippres_list l = {.size = sizeof(l), .name = "l", .event = "presence", .items = items, .n_items = 1};
	struct sippres_call call = {.size = sizeof(call), .call_id = "c1"};
	struct sippres_body_input in = {.size = sizeof(in), .exten = "1000", .local_uri = "sip:1000@h"};
	struct sippres_body body = {.size = sizeof(body)};
	struct sippres_config_io io = {.size = sizeof(io)};
	struct sippres_inbound_publication ip = {.size = sizeof(ip), .endpoint = "std", .events = 1};
	struct sippres_publish_req preq = {.size = sizeof(preq), .endpoint = "std", .resource = "r", .event = "presence"};
	struct sippres_publish_res pres = {.size = sizeof(pres)};
	struct sippres_outbound_publish op = {.size = sizeof(op)};
	struct sippres_ctx *ctx = NULL;
	struct sippres_sub *s = NULL;
	const size_t claims[2] = {huge, over};

	for (int k = 0; k < 2; k++) {
		size_t c = claims[k];

		assert_int_equal(sippres_ctx_new(sized(&cfg, sizeof(cfg), c), NULL, NULL, &ctx), SIPPRES_E_ABI);
		assert_int_equal(sippres_ctx_new(NULL, sized(&cb, sizeof(cb), c), NULL, &ctx), SIPPRES_E_ABI);
		assert_int_equal(sippres_endpoint_set(f->ctx, "e", sized(&ep, sizeof(ep), c)), SIPPRES_E_ABI);
		assert_int_equal(sippres_subscribe(f->ctx, sized(&req, sizeof(req), c), f->now, &res, &s), SIPPRES_E_ABI);
		assert_int_equal(sippres_subscribe(f->ctx, &req, f->now, sized(&res, sizeof(res), c), &s), SIPPRES_E_ABI);
		assert_int_equal(sippres_exten_status_get(f->ctx, "default", "1000", sized(&st, sizeof(st), c)),
		                 SIPPRES_E_ABI);
		assert_int_equal(sippres_list_set(f->ctx, sized(&l, sizeof(l), c)), SIPPRES_E_ABI);
		assert_int_equal(sippres_call_set(f->ctx, "PJSIP/alice", sized(&call, sizeof(call), c)), SIPPRES_E_ABI);
		assert_int_equal(sippres_body_render(f->ctx, "application/pidf+xml", sized(&in, sizeof(in), c), &body),
		                 SIPPRES_E_ABI);
		assert_int_equal(sippres_body_render(f->ctx, "application/pidf+xml", &in, sized(&body, sizeof(body), c)),
		                 SIPPRES_E_ABI);
		assert_int_equal(sippres_config_load_extensions(f->ctx, "f", "", 0, sized(&io, sizeof(io), c)),
		                 SIPPRES_E_ABI);
		assert_int_equal(sippres_inbound_publication_set(f->ctx, "r", sized(&ip, sizeof(ip), c)), SIPPRES_E_ABI);
		assert_int_equal(sippres_publish(f->ctx, sized(&preq, sizeof(preq), c), f->now, &pres), SIPPRES_E_ABI);
		assert_int_equal(sippres_publish(f->ctx, &preq, f->now, sized(&pres, sizeof(pres), c)), SIPPRES_E_ABI);
		assert_int_equal(sippres_outbound_publish_set(f->ctx, "o", sized(&op, sizeof(op), c)), SIPPRES_E_ABI);
	}
	/* a live subscription's info and refresh */
	assert_int_equal(decide(f, &req, &res, &s), 200);
	assert_int_equal(sippres_sub_get_info(f->ctx, s, sized(&info, sizeof(info), huge)), SIPPRES_E_ABI);
	assert_int_equal(sippres_sub_refresh(f->ctx, s, 600, f->now, sized(&res, sizeof(res), huge)), SIPPRES_E_ABI);
	/* up to the bound, a zero tail: accepted, and an out struct's tail is cleared */
	assert_int_equal(sippres_sub_get_info(f->ctx, s, sized(&info, sizeof(info), max)), 0);
	assert_int_equal(sippres_exten_status_get(f->ctx, "default", "1000", sized(&st, sizeof(st), max)), 0);
	assert_int_equal(sippres_ctx_new(sized(&cfg, sizeof(cfg), max), sized(&cb, sizeof(cb), max), NULL, &ctx), 0);
	sippres_ctx_free(ctx);
}

/* Without a random callback the bytes come from the kernel (getrandom),
 * not from a generator seeded by the context's address (issue 11): two
 * contexts at the same address draw different bytes. */
static _Alignas(16) unsigned char arena[1 << 20];
static size_t arena_used;

static void *arena_malloc(void *ud, size_t n)
{
	void *p;

	(void)ud;
	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(arena) - arena_used)
		return NULL;
	p = arena + arena_used;
	arena_used += n;
	return p;
}

static void *arena_realloc(void *ud, void *old, size_t n)
{
	void *p = arena_malloc(ud, n);

	if (p && old)
		memmove(p, old, n); /* the old block is at most this big, or ends in the arena */
	return p;
}

static void arena_free(void *ud, void *p)
{
	(void)ud;
	(void)p;
}

static void test_random_fallback(void **state)
{
	struct sippres_allocator a = {.size = sizeof(a), .malloc = arena_malloc, .realloc = arena_realloc,
	                              .free = arena_free};
	struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &a};
	uint8_t r[2][32];
	struct sippres_ctx *ctx[2];

	(void)state;
	for (int i = 0; i < 2; i++) {
		arena_used = 0;
		assert_int_equal(sippres_ctx_new(&cfg, NULL, NULL, &ctx[i]), 0);
		assert_int_equal(sippres_ctx_random(ctx[i], r[i], sizeof(r[i])), 0);
		sippres_ctx_free(ctx[i]);
	}
	assert_ptr_equal(ctx[0], ctx[1]);
	assert_memory_not_equal(r[0], r[1], sizeof(r[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_decisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_standard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_asterisk_dialog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_standard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_and_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persist_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_fields_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_golden_asterisk_pidf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_and_foreach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_callerid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe_through_include, setup, teardown),
		cmocka_unit_test(test_queue_ends_at_scale),
		cmocka_unit_test_setup_teardown(test_struct_size_bound, setup, teardown),
		cmocka_unit_test(test_random_fallback),
	};
	return cmocka_run_group_tests_name("subs", tests, NULL, NULL);
}
