/* SPDX-License-Identifier: MIT */
/* PUBLISH (RFC 3903) through the public API: every decision in its order,
 * the lifecycle (initial, refresh, modify, remove, expiry), what a hint sees,
 * the asterisk-devicestate exchange in and out, and publication records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#define PIDF(basic, extra)                                                                                  \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "          \
	"xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" " \
	"entity=\"sip:1000@example.com\"><tuple id=\"t\"><status><basic>" basic "</basic></status></tuple>"  \
	extra "</presence>"
#define AWAY PIDF("open", "<dm:person id=\"p\"><rpid:activities><rpid:away/></rpid:activities></dm:person>")
#define OPEN PIDF("open", "")
#define DIALOG(state)                                                                                    \
	"<?xml version=\"1.0\"?><dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" " \
	"state=\"full\" entity=\"sip:1000@example.com\"><dialog id=\"d1\" call-id=\"c1\" local-tag=\"l\" "  \
	"remote-tag=\"r\" direction=\"recipient\"><state>" state "</state><remote><identity display=\"Bob\">"   \
	"sip:2000@example.com</identity></remote></dialog></dialog-info>"

#define DIALOG_OUT(state)                                                                                \
	"<?xml version=\"1.0\"?><dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"1\" " \
	"state=\"full\" entity=\"sip:1000@example.com\"><dialog id=\"d2\" call-id=\"c2\" local-tag=\"l\" "  \
	"remote-tag=\"r\" direction=\"initiator\"><state>" state "</state><remote><identity>"             \
	"sip:3000@example.com</identity></remote></dialog></dialog-info>"

struct fx {
	struct sippres_ctx *ctx;
	uint8_t record[4096];
	size_t record_len;
	int persists, forgets;
	char out[8][256]; /* bodies handed to the publish callback */
	char out_to[8][32];
	int nout;
	uint32_t rnd;
	int rnd_mode; /* 0: a sequence, 1: the same bytes every call, 2: the source fails */
	char notify[4096]; /* the last NOTIFY body */
	int notifies;
	struct sippres_sub *other; /* a second subscription, counted apart */
	int other_notifies;
};

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	struct fx *f = ud;

	if (sub && sub == f->other) {
		f->other_notifies++;
		return 0;
	}
	assert_true(n->body_len < sizeof(f->notify));
	memcpy(f->notify, n->body ? n->body : "", n->body_len);
	f->notify[n->body_len] = '\0';
	f->notifies++;
	return 0;
}

static int fixed_random(void *ud, uint8_t *buf, size_t len)
{
	struct fx *f = ud;

	if (f->rnd_mode == 2)
		return -1;
	if (f->rnd_mode == 1)
		f->rnd = 0;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(f->rnd++ * 37u);
	return 0;
}

static void on_persist(void *ud, struct sippres_publication *pub, const void *rec, size_t len)
{
	struct fx *f = ud;

	(void)pub;
	assert_true(len <= sizeof(f->record));
	memcpy(f->record, rec, len);
	f->record_len = len;
	f->persists++;
}

static void on_forget(void *ud, struct sippres_publication *pub)
{
	struct fx *f = ud;

	(void)pub;
	f->forgets++;
}

static int on_publish(void *ud, const char *outbound, const char *event, const char *ctype, const char *body,
                      size_t len)
{
	struct fx *f = ud;

	assert_string_equal(event, "asterisk-devicestate");
	assert_string_equal(ctype, "application/json");
	assert_true(f->nout < 8 && len < sizeof(f->out[0]));
	memcpy(f->out[f->nout], body, len);
	f->out[f->nout][len] = '\0';
	snprintf(f->out_to[f->nout], sizeof(f->out_to[0]), "%s", outbound);
	f->nout++;
	return 0;
}

static struct sippres_ctx *new_ctx(struct fx *f)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .random = fixed_random, .persist_publication = on_persist,
	                               .forget_publication = on_forget, .publish = on_publish, .notify = on_notify};
	struct sippres_inbound_publication in = {.size = sizeof(in), .endpoint = "proxy",
	                                         .events = SIPPRES_PUBLISH_PRESENCE | SIPPRES_PUBLISH_DIALOG,
	                                         .min_expiry = 60, .max_expiry = 3600};
	struct sippres_inbound_publication peer = {.size = sizeof(peer), .endpoint = "peer",
	                                           .events = SIPPRES_PUBLISH_DEVICESTATE,
	                                           .device_state_filter = "^PJSIP/", .devicestate_publish = "to-peer"};
	struct sippres_outbound_publish out = {.size = sizeof(out), .device_state_filter = "^PJSIP/"};
	struct sippres_ctx *ctx;

	assert_int_equal(sippres_ctx_new(NULL, &cb, f, &ctx), 0);
	assert_int_equal(sippres_inbound_publication_set(ctx, "1000", &in), 0);
	assert_int_equal(sippres_inbound_publication_set(ctx, "state", &peer), 0);
	assert_int_equal(sippres_outbound_publish_set(ctx, "to-peer", &out), 0);
	assert_int_equal(sippres_ctx_set_eid(ctx, "00:11:22:33:44:55"), 0);
	assert_int_equal(sippres_hint_set(ctx, "default", "1000", "PJSIP/alice&Dialog/1000,Publish:1000", NULL), 0);
	return ctx;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->ctx = new_ctx(f);
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

/* One PUBLISH; returns the status, res keeps the rest. */
static uint32_t publish(struct fx *f, const char *endpoint, const char *resource, const char *event, int64_t expires,
                        const char *if_match, const char *ctype, const char *body, uint64_t now,
                        struct sippres_publish_res *res)
{
	struct sippres_publish_req req = {.size = sizeof(req), .endpoint = endpoint, .resource = resource,
	                                  .event = event, .expires = expires, .if_match = if_match,
	                                  .content_type = ctype, .body = body, .body_len = body ? strlen(body) : 0};

	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	assert_int_equal(sippres_publish(f->ctx, &req, now, res), 0);
	return res->status;
}

static void exten(struct fx *f, struct sippres_exten_status *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	assert_int_equal(sippres_exten_status_get(f->ctx, "default", "1000", st), 0);
}

static void test_decisions(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	char *big;
	char etag[64];

	assert_int_equal(publish(f, "nobody", "1000", "presence", 600, NULL, "application/pidf+xml", OPEN, 0, &res),
	                 403);
	assert_int_equal(publish(f, "proxy", "1000", "message-summary", 600, NULL, "text/plain", "x", 0, &res), 489);
	assert_string_equal(res.allow_events, "presence, dialog, asterisk-devicestate");
	assert_int_equal(publish(f, "proxy", "9999", "presence", 600, NULL, "application/pidf+xml", OPEN, 0, &res),
	                 404);
	/* the resource does not take that package */
	assert_int_equal(publish(f, "proxy", "1000", "asterisk-devicestate", 600, NULL, "application/json", "{}", 0,
	                         &res), 404);
	/* an endpoint that publishes elsewhere, not here */
	assert_int_equal(publish(f, "peer", "1000", "presence", 600, NULL, "application/pidf+xml", OPEN, 0, &res),
	                 403);
	assert_int_equal(publish(f, "proxy", "1000", "presence", 30, NULL, "application/pidf+xml", OPEN, 0, &res), 423);
	assert_int_equal(res.min_expires, 60);
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, "nosuchtag", "text/plain", "x", 0, &res), 412);
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, NULL, NULL, 0, &res), 400);
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "text/plain", "x", 0, &res), 415);
	assert_string_equal(res.accept, "application/pidf+xml");
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", "<presence", 0,
	                         &res), 400);
	/* a body larger than any package takes is refused before it is copied */
	big = malloc(2 * 1024 * 1024 + 1);
	assert_non_null(big);
	memset(big, ' ', 2 * 1024 * 1024);
	big[2 * 1024 * 1024] = '\0';
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", big, 0, &res), 400);
	free(big);
	assert_int_equal(sippres_publication_count(f->ctx), 0);
	assert_int_equal(f->persists, 0);
	/* parameters after the type and its case do not matter */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 7200, NULL, "Application/PIDF+XML; charset=UTF-8",
	                         OPEN, 0, &res), 200);
	assert_int_equal(res.expires, 3600); /* never more than the maximum */
	snprintf(etag, sizeof(etag), "%s", res.etag);
	/* a live entity-tag of another resource or package is no match */
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, etag, NULL, NULL, 0, &res), 412);
	/* 412 before 415 */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, "other", "text/plain", "x", 0, &res), 412);
}

static void test_lifecycle(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	struct sippres_exten_status st;
	char first[64], second[64];
	uint64_t at;

	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", AWAY, 0, &res), 200);
	assert_int_equal(res.expires, 600);
	snprintf(first, sizeof(first), "%s", res.etag);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AWAY);
	assert_int_equal(f->persists, 1);
	/* refresh: a new entity-tag, the old one is gone */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, first, NULL, NULL, 1000, &res), 200);
	snprintf(second, sizeof(second), "%s", res.etag);
	assert_string_not_equal(first, second);
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, first, NULL, NULL, 1000, &res), 412);
	/* modify */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, second, "application/pidf+xml", OPEN, 2000, &res),
	                 200);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AVAILABLE);
	/* expiry on the context's timers */
	assert_int_equal(sippres_ctx_next_timeout(f->ctx, 2000, &at), 1);
	assert_int_equal(at, 2000 + 600 * 1000);
	assert_true(sippres_ctx_handle_timeout(f->ctx, at - 1) >= 0);
	assert_int_equal(sippres_publication_count(f->ctx), 1);
	assert_true(sippres_ctx_handle_timeout(f->ctx, at) >= 0);
	assert_int_equal(sippres_publication_count(f->ctx), 0);
	assert_int_equal(f->forgets, 1);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_NOT_SET);
	/* remove with Expires 0 */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", AWAY, 0, &res), 200);
	snprintf(first, sizeof(first), "%s", res.etag);
	assert_int_equal(publish(f, "proxy", "1000", "presence", 0, first, NULL, NULL, 10, &res), 200);
	assert_null(res.etag);
	assert_int_equal(res.expires, 0);
	assert_int_equal(f->forgets, 2);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_NOT_SET);
}

static void test_dialog(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	struct sippres_exten_status st;
	char etag[64];

	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, NULL, "application/dialog-info+xml",
	                         DIALOG("early"), 0, &res), 200);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	assert_int_equal(sippres_device_state_get(f->ctx, "Dialog/1000"), SIPPRES_DEVICE_RINGING);
	exten(f, &st);
	assert_true(st.exten_state & SIPPRES_EXTEN_RINGING);
	assert_non_null(st.causing_call);
	assert_string_equal(st.causing_call->call_id, "c1");
	assert_string_equal(st.causing_call->remote_display, "Bob");
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, etag, "application/dialog-info+xml",
	                         DIALOG("confirmed"), 0, &res), 200);
	assert_int_equal(sippres_device_state_get(f->ctx, "Dialog/1000"), SIPPRES_DEVICE_INUSE);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, etag, "application/dialog-info+xml",
	                         DIALOG("terminated"), 0, &res), 200);
	assert_int_equal(sippres_device_state_get(f->ctx, "Dialog/1000"), SIPPRES_DEVICE_NOT_INUSE);
	exten(f, &st);
	assert_null(st.causing_call);
}

/* A proxy that publishes one dialog twice without SIP-If-Match (Kamailio's
 * pua_dialoginfo does when two of its PUBLISHes race): the publication
 * changed last says what the call is, its end included. */
static void test_dialog_published_twice(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	struct sippres_exten_status st;
	char first[64], second[64];

	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, NULL, "application/dialog-info+xml",
	                         DIALOG("trying"), 0, &res), 200);
	snprintf(first, sizeof(first), "%s", res.etag);
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, NULL, "application/dialog-info+xml",
	                         DIALOG("early"), 0, &res), 200);
	snprintf(second, sizeof(second), "%s", res.etag);
	assert_int_equal(sippres_publication_count(f->ctx), 2);
	assert_int_equal(sippres_device_state_get(f->ctx, "Dialog/1000"), SIPPRES_DEVICE_RINGING);
	/* the older publication is changed last: confirmed */
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, first, "application/dialog-info+xml",
	                         DIALOG("confirmed"), 1, &res), 200);
	snprintf(first, sizeof(first), "%s", res.etag);
	assert_int_equal(sippres_device_state_get(f->ctx, "Dialog/1000"), SIPPRES_DEVICE_INUSE);
	exten(f, &st);
	assert_non_null(st.causing_call);
	assert_int_equal(st.causing_call->state, SIPPRES_CALL_CONFIRMED);
	/* the call ends in one of them: it is over, the other's stale copy does not keep it */
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, first, "application/dialog-info+xml",
	                         DIALOG("terminated"), 2, &res), 200);
	assert_int_equal(sippres_device_state_get(f->ctx, "Dialog/1000"), SIPPRES_DEVICE_NOT_INUSE);
	exten(f, &st);
	assert_null(st.causing_call);
	assert_int_equal(sippres_publication_count(f->ctx), 2);
}

static void test_devicestate(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;

	/* in: the named device, unless filtered out or our own */
	assert_int_equal(publish(f, "peer", "state", "asterisk-devicestate", 600, NULL, "application/json",
	                         "{\"type\":\"devicestate\",\"device\":\"PJSIP/alice\",\"state\":\"INUSE\","
	                         "\"cachable\":1,\"eid\":\"aa:bb:cc:dd:ee:ff\"}",
	                         0, &res), 200);
	assert_int_equal(sippres_device_state_get(f->ctx, "PJSIP/alice"), SIPPRES_DEVICE_INUSE);
	assert_int_equal(f->nout, 0); /* a remote change is not published back out */
	assert_int_equal(publish(f, "peer", "state", "asterisk-devicestate", 600, NULL, "application/json",
	                         "{\"type\":\"devicestate\",\"device\":\"SIP/bob\",\"state\":\"INUSE\","
	                         "\"cachable\":1,\"eid\":\"aa:bb:cc:dd:ee:ff\"}",
	                         0, &res), 200);
	assert_int_equal(sippres_device_state_get(f->ctx, "SIP/bob"), SIPPRES_DEVICE_UNKNOWN);
	assert_int_equal(publish(f, "peer", "state", "asterisk-devicestate", 600, NULL, "application/json",
	                         "{\"type\":\"devicestate\",\"device\":\"PJSIP/alice\",\"state\":\"RINGING\","
	                         "\"cachable\":1,\"eid\":\"00:11:22:33:44:55\"}",
	                         0, &res), 200);
	assert_int_equal(sippres_device_state_get(f->ctx, "PJSIP/alice"), SIPPRES_DEVICE_INUSE);
	assert_int_equal(publish(f, "peer", "state", "asterisk-devicestate", 600, NULL, "application/json",
	                         "{\"type\":\"devicestate\",\"device\":5}", 0, &res), 400);
	/* out: a local change, filtered */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/carol", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(sippres_device_state_set(f->ctx, "IAX2/dave", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(f->nout, 1);
	assert_string_equal(f->out_to[0], "to-peer");
	assert_string_equal(f->out[0], "{\"type\":\"devicestate\",\"device\":\"PJSIP/carol\",\"state\":\"RINGING\","
	                               "\"cachable\":1,\"eid\":\"00:11:22:33:44:55\"}");
	/* the same state again is no change */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/carol", SIPPRES_DEVICE_RINGING), 0);
	assert_int_equal(f->nout, 1);
	/* resync: a refresh request, then the local states only: PJSIP/alice
	 * came from the peer and is not sent back to it */
	f->nout = 0;
	assert_int_equal(sippres_outbound_publish_resync(f->ctx, "to-peer"), 2);
	assert_int_equal(f->nout, 2);
	assert_string_equal(f->out[0], "{\"type\":\"refresh\",\"eid\":\"00:11:22:33:44:55\"}");
	assert_non_null(strstr(f->out[1], "\"PJSIP/carol\""));
	/* once set here, a device that came from the peer is ours to publish */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/alice", SIPPRES_DEVICE_NOT_INUSE), 0);
	f->nout = 0;
	assert_int_equal(sippres_outbound_publish_resync(f->ctx, "to-peer"), 3);
	assert_int_equal(sippres_outbound_publish_resync(f->ctx, "nowhere"), SIPPRES_E_NOTFOUND);
}

static void test_restore(void **state)
{
	struct fx *f = *state, g = {0};
	struct sippres_publish_res res;
	struct sippres_publication *pub;
	struct sippres_publication_info info = {.size = sizeof(info)};
	struct sippres_exten_status st;
	uint8_t bad[4096];
	char etag[64];

	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", AWAY, 0, &res), 200);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	g.ctx = new_ctx(&g);
	for (size_t i = 0; i < f->record_len; i++) {
		memcpy(bad, f->record, f->record_len);
		bad[i] ^= 0x20;
		assert_int_equal(sippres_publication_restore(g.ctx, bad, f->record_len, 0, &pub), SIPPRES_E_PARSE);
	}
	assert_int_equal(sippres_publication_restore(g.ctx, f->record, f->record_len - 1, 0, &pub), SIPPRES_E_PARSE);
	assert_int_equal(sippres_publication_restore(g.ctx, f->record, f->record_len, 600 * 1000, &pub),
	                 SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_publication_restore(g.ctx, f->record, f->record_len, 5, &pub), 0);
	assert_int_equal(sippres_publication_restore(g.ctx, f->record, f->record_len, 5, &pub), SIPPRES_E_EXISTS);
	assert_int_equal(sippres_publication_get_info(g.ctx, pub, &info), 0);
	assert_string_equal(info.etag, etag);
	assert_string_equal(info.resource, "1000");
	assert_int_equal(info.expires_at_ms, 600 * 1000);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	assert_int_equal(sippres_exten_status_get(g.ctx, "default", "1000", &st), 0);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AWAY);
	/* the restored entity-tag refreshes as before */
	f->ctx = (sippres_ctx_free(f->ctx), g.ctx);
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, etag, NULL, NULL, 10, &res), 200);
}

static void test_restore_devicestate(void **state)
{
	struct fx *f = *state, g = {0};
	struct sippres_publish_res res;
	struct sippres_publication *pub;
	uint8_t rec[4096];
	size_t rec_len;

	assert_int_equal(publish(f, "peer", "state", "asterisk-devicestate", 600, NULL, "application/json",
	                         "{\"type\":\"devicestate\",\"device\":\"PJSIP/alice\",\"state\":\"INUSE\","
	                         "\"cachable\":1,\"eid\":\"aa:bb:cc:dd:ee:ff\"}",
	                         0, &res), 200);
	assert_true(f->record_len <= sizeof(rec));
	memcpy(rec, f->record, f->record_len);
	rec_len = f->record_len;
	/* the peer's refresh request is answered once, when it arrives */
	assert_int_equal(sippres_device_state_set(f->ctx, "PJSIP/carol", SIPPRES_DEVICE_BUSY), 0);
	f->nout = 0;
	assert_int_equal(publish(f, "peer", "state", "asterisk-devicestate", 600, res.etag, "application/json",
	                         "{\"type\":\"refresh\",\"eid\":\"aa:bb:cc:dd:ee:ff\"}", 0, &res), 200);
	assert_int_equal(f->nout, 1);
	assert_non_null(strstr(f->out[0], "\"PJSIP/carol\""));
	/* restored after a restart: the device event applies again (as the
	 * peer's, so not published back), the refresh request is not answered twice */
	g.ctx = new_ctx(&g);
	assert_int_equal(sippres_publication_restore(g.ctx, rec, rec_len, 5, &pub), 0);
	assert_int_equal(sippres_device_state_get(g.ctx, "PJSIP/alice"), SIPPRES_DEVICE_INUSE);
	sippres_ctx_free(g.ctx);
	g.ctx = new_ctx(&g);
	assert_int_equal(sippres_device_state_set(g.ctx, "PJSIP/carol", SIPPRES_DEVICE_BUSY), 0);
	g.nout = 0;
	assert_int_equal(sippres_publication_restore(g.ctx, f->record, f->record_len, 5, &pub), 0);
	assert_int_equal(g.nout, 0);
	assert_int_equal(sippres_outbound_publish_resync(g.ctx, "to-peer"), 2);
	sippres_ctx_free(g.ctx);
}

/* A PUBLISH whose entity-tag cannot be made fails as a whole: the error,
 * no answer, and the state and the publication as they were. */
static void call_fails(struct fx *f, const char *if_match, const char *body, int err)
{
	struct sippres_publish_req req = {.size = sizeof(req), .endpoint = "proxy", .resource = "1000",
	                                  .event = "presence", .expires = 600, .if_match = if_match,
	                                  .content_type = body ? "application/pidf+xml" : NULL, .body = body,
	                                  .body_len = body ? strlen(body) : 0};
	struct sippres_publish_res res = {.size = sizeof(res)};

	assert_int_equal(sippres_publish(f->ctx, &req, 10, &res), err);
}

static void test_random_source(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	struct sippres_exten_status st;
	char etag[64];
	int persists;

	f->rnd_mode = 1; /* a stuck source: the first entity-tag is fine, then it repeats */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", AWAY, 0, &res), 200);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	persists = f->persists;
	call_fails(f, NULL, OPEN, SIPPRES_E_RANDOM);       /* a second publication: bounded retries */
	call_fails(f, etag, OPEN, SIPPRES_E_RANDOM);       /* a modify */
	f->rnd_mode = 2;                                   /* a failing source */
	call_fails(f, etag, OPEN, SIPPRES_E_RANDOM);
	call_fails(f, etag, NULL, SIPPRES_E_RANDOM);       /* a refresh */
	assert_int_equal(sippres_publication_count(f->ctx), 1);
	assert_int_equal(f->persists, persists);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AWAY); /* the modify's open never took effect */
	assert_int_equal(sippres_publication_foreach(f->ctx, NULL, NULL), SIPPRES_E_INVAL);
	f->rnd_mode = 0;
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, etag, "application/pidf+xml", OPEN, 20, &res), 200);
	assert_string_not_equal(res.etag, etag);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AVAILABLE);
}

/* Two phones publish for one resource: a reachable one beats one that says
 * unavailable; among equals the latest change wins. */
static void test_composition(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	struct sippres_exten_status st;
	char desk[64], soft[64];

	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", OPEN, 0, &res), 200);
	snprintf(desk, sizeof(desk), "%s", res.etag);
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", PIDF("closed", ""), 1,
	                         &res), 200);
	snprintf(soft, sizeof(soft), "%s", res.etag);
	assert_int_equal(sippres_publication_count(f->ctx), 2);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AVAILABLE); /* the desk phone is still open */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, soft, "application/pidf+xml", AWAY, 2, &res), 200);
	snprintf(soft, sizeof(soft), "%s", res.etag);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AWAY); /* both reachable: the latest */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, desk, NULL, NULL, 3, &res), 200);
	snprintf(desk, sizeof(desk), "%s", res.etag);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AWAY); /* a refresh is no change */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 0, soft, NULL, NULL, 4, &res), 200);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AVAILABLE); /* the desk phone's again */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, desk, "application/pidf+xml", PIDF("closed", ""),
	                         5, &res), 200);
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_UNAVAILABLE);
}

/* Hostile bodies get 400 and change nothing. */
static void test_hostile_bodies(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	struct sippres_exten_status st;
	char etag[64], *big, *deep;
	const char *xml[] = {
		("<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple id=\"t\"><status>"
		"<basic>open</basic></status><note>&x;</note></tuple></presence>"),
		("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
		"<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
		"entity=\"sip:a@b\"><tuple id=\"t\"><status><basic>open</basic></status><note>&c;</note></tuple></presence>"),
		("<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple id=\"t\">"
		"<status><basic>open</basic></status><note>caf\xc3(</note></tuple></presence>"),
		"<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\"><tuple id=\"t\">",
		"<other xmlns=\"urn:x\"/>",
	};
	const char *json[] = {
		"{\"type\":\"devicestate\",\"device\":5,\"state\":\"INUSE\",\"eid\":\"aa:bb:cc:dd:ee:ff\"}",
		"{\"type\":\"devicestate\",\"device\":\"PJSIP/alice\",\"state\":[\"INUSE\"],\"eid\":\"aa:bb:cc:dd:ee:ff\"}",
		"{\"type\":\"devicestate\",\"device\":\"PJSIP/alice\",\"state\":\"SLEEPY\",\"eid\":\"aa:bb:cc:dd:ee:ff\"}",
		"[{\"type\":\"devicestate\"}]",
		"{\"type\":\"devicestate\",\"device\":\"PJSIP/alice\",\"state\":\"INUSE\"",
	};
	size_t n = 2 * 1024 * 1024, depth = 64, off = 0;

	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", AWAY, 0, &res), 200);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	big = malloc(n + 1);
	deep = malloc(depth * 16 + 512);
	assert_non_null(big);
	assert_non_null(deep);
	memset(big, ' ', n);
	memcpy(big, OPEN, strlen(OPEN)); /* valid PIDF followed by 2 MiB of blanks */
	big[n] = '\0';
	off += (size_t)sprintf(deep, "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:a@b\">");
	for (size_t i = 0; i < depth; i++)
		off += (size_t)sprintf(deep + off, "<x>");
	sprintf(deep + off, "</presence>");
	for (size_t i = 0; i < sizeof(xml) / sizeof(xml[0]) + 2; i++) {
		const char *b = i < sizeof(xml) / sizeof(xml[0]) ? xml[i] : i == sizeof(xml) / sizeof(xml[0]) ? big : deep;

		/* as a new publication and as a modify of the live one */
		assert_int_equal(publish(f, "proxy", "1000", "presence", 600, NULL, "application/pidf+xml", b, 1, &res), 400);
		assert_int_equal(publish(f, "proxy", "1000", "presence", 600, etag, "application/pidf+xml", b, 1, &res), 400);
		assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, NULL, "application/dialog-info+xml", b, 1, &res),
		                 400);
	}
	exten(f, &st);
	assert_int_equal(st.presence_state, SIPPRES_PRESENCE_AWAY);
	assert_int_equal(sippres_publication_count(f->ctx), 1);
	assert_int_equal(f->persists, 1);
	for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++)
		assert_int_equal(publish(f, "peer", "state", "asterisk-devicestate", 600, NULL, "application/json", json[i], 1,
		                         &res), 400);
	assert_int_equal(sippres_device_state_get(f->ctx, "PJSIP/alice"), SIPPRES_DEVICE_UNKNOWN);
	/* the live publication still modifies and refreshes */
	assert_int_equal(publish(f, "proxy", "1000", "presence", 600, etag, "application/pidf+xml", OPEN, 2, &res), 200);
	free(big);
	free(deep);
}

/* A dialog subscription of endpoint ep (made with profile) to 1000, its
 * first NOTIFY sent. */
static struct sippres_sub *blf_subscribe(struct fx *f, const char *ep_name, uint32_t profile, const char *call_id)
{
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default", .profile = profile};
	struct sippres_subscribe_req req;
	struct sippres_subscribe_res sres = {.size = sizeof(sres)};
	struct sippres_sub *sub = NULL;

	assert_true(sippres_endpoint_set(f->ctx, ep_name, &ep) >= 0);
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.endpoint = ep_name;
	req.ruri_scheme = "sip";
	req.ruri_user = "1000";
	req.ruri_host = "example.com";
	req.from_uri = "sip:phone@example.com";
	req.from_tag = "ft";
	req.call_id = call_id;
	req.contact = "sip:phone@192.0.2.1";
	req.event = "dialog";
	req.expires = 600;
	assert_int_equal(sippres_subscribe(f->ctx, &req, 0, &sres, &sub), 0);
	assert_int_equal(sres.status, 200);
	assert_true(sippres_ctx_handle_timeout(f->ctx, 0) >= 0);
	return sub;
}

/* A BLF watcher of the hint sees a proxy's dialogs with the caller. */
static void test_blf_watcher(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	struct sippres_sub *sub = blf_subscribe(f, "phone", SIPPRES_PROFILE_STANDARD, "blf-1");
	char etag[64];

	assert_int_equal(f->notifies, 1);
	assert_null(strstr(f->notify, "<dialog "));
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, NULL, "application/dialog-info+xml", DIALOG("early"),
	                         10, &res), 200);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	assert_true(sippres_ctx_handle_timeout(f->ctx, 10) >= 0);
	assert_int_equal(f->notifies, 2);
	/* the caller and what pickup needs: call-id, both tags, direction */
	assert_non_null(strstr(f->notify, "call-id=\"c1\""));
	assert_non_null(strstr(f->notify, "local-tag=\"l\""));
	assert_non_null(strstr(f->notify, "remote-tag=\"r\""));
	assert_non_null(strstr(f->notify, "direction=\"recipient\""));
	assert_non_null(strstr(f->notify, "<state>early</state>"));
	assert_non_null(strstr(f->notify, "<identity display=\"Bob\">sip:2000@example.com</identity>"));
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, etag, "application/dialog-info+xml",
	                         DIALOG("confirmed"), 20, &res), 200);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	assert_true(sippres_ctx_handle_timeout(f->ctx, 20) >= 0);
	assert_int_equal(f->notifies, 3);
	assert_non_null(strstr(f->notify, "<state>confirmed</state>"));
	assert_non_null(strstr(f->notify, "<identity display=\"Bob\">sip:2000@example.com</identity>"));
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, etag, "application/dialog-info+xml",
	                         DIALOG("terminated"), 30, &res), 200);
	assert_true(sippres_ctx_handle_timeout(f->ctx, 30) >= 0);
	assert_int_equal(f->notifies, 4);
	assert_null(strstr(f->notify, "<dialog "));
	assert_int_equal(sippres_sub_terminate(f->ctx, sub, 40), 0);
}

/* An outgoing call is in use from its start: early -> confirmed changes no
 * state. A dialog-info watcher in the standard profile still hears of it
 * (RFC 4235); one in the asterisk profile does not, as with Asterisk. */
static void test_calls_only_change(void **state)
{
	struct fx *f = *state;
	struct sippres_publish_res res;
	struct sippres_sub *sub = blf_subscribe(f, "phone", SIPPRES_PROFILE_STANDARD, "blf-1");
	int before, other_before;
	char etag[64];

	f->other = blf_subscribe(f, "ast-phone", SIPPRES_PROFILE_ASTERISK, "blf-2"); /* its first NOTIFY is sent */
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, NULL, "application/dialog-info+xml",
	                         DIALOG_OUT("early"), 10, &res), 200);
	snprintf(etag, sizeof(etag), "%s", res.etag);
	assert_true(sippres_ctx_handle_timeout(f->ctx, 10) >= 0);
	assert_int_equal(sippres_device_state_get(f->ctx, "Dialog/1000"), SIPPRES_DEVICE_INUSE);
	assert_non_null(strstr(f->notify, "<state>early</state>"));
	before = f->notifies;
	other_before = f->other_notifies;
	assert_int_equal(other_before, 1); /* in use: the asterisk-profile watcher is told */
	assert_int_equal(publish(f, "proxy", "1000", "dialog", 600, etag, "application/dialog-info+xml",
	                         DIALOG_OUT("confirmed"), 20, &res), 200);
	assert_true(sippres_ctx_handle_timeout(f->ctx, 20) >= 0);
	assert_int_equal(sippres_device_state_get(f->ctx, "Dialog/1000"), SIPPRES_DEVICE_INUSE);
	assert_int_equal(f->notifies, before + 1);
	assert_non_null(strstr(f->notify, "<state>confirmed</state>"));
	assert_non_null(strstr(f->notify, "direction=\"initiator\""));
	assert_int_equal(f->other_notifies, other_before);
	assert_int_equal(sippres_sub_terminate(f->ctx, sub, 30), 0);
	assert_int_equal(sippres_sub_terminate(f->ctx, f->other, 30), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_decisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dialog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dialog_published_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devicestate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_devicestate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_composition, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blf_watcher, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calls_only_change, setup, teardown),
	};

	return cmocka_run_group_tests_name("publish", tests, NULL, NULL);
}
