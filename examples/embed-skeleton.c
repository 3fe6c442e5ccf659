/* SPDX-License-Identifier: MIT */
/*
 * embed-skeleton: the host side of libsippresence in one file, the code that
 * docs/getting-started.md walks through. The "SIP stack" is a fake kept in
 * memory: a SUBSCRIBE is a struct, a NOTIFY is printed and answered by a fake
 * phone, and the clock jumps instead of sleeping. So the program runs
 * anywhere and prints what a real stack would put on the wire.
 *
 * Every C block of docs/getting-started.md is a verbatim piece of this file;
 * tests/embed-skeleton-check.py checks that, runs the program and checks
 * what it prints.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libsippresence/libsippresence.h>

/* ---- what the host already has ---------------------------------------- */

/* A SUBSCRIBE as the host's SIP parser hands it over. */
struct host_subscribe {
	const char *endpoint;  /* who sent it, after authentication */
	const char *ruri_user; /* the resource: Request-URI user part */
	const char *ruri_host;
	uint32_t ruri_port;
	const char *from_uri, *from_tag, *to_tag; /* to_tag: NULL out of dialog */
	const char *call_id, *contact, *event, *event_id, *user_agent;
	const char *accept[4];
	size_t n_accept;
	int64_t expires; /* -1: no Expires header */
	int supported_eventlist;
};

/* A NOTIFY client transaction: what the host keeps to match the answer. */
struct host_transaction {
	int used;
	char call_id[128], local_tag[64];
	uint32_t cseq;
	int answer; /* the status the fake phone will answer with */
};

/* A stored subscription record (a real host: a database row or a file). */
struct host_record {
	int used;
	char call_id[128], local_tag[64];
	unsigned char data[2048];
	size_t len;
};

struct host {
	struct sippres_ctx *ctx;
	uint64_t now_ms; /* wall-clock milliseconds: records outlive the process */
	struct host_transaction tx[32];
	struct host_record records[32];
	int phone_answer;     /* what the fake phones answer to NOTIFYs */
	char last_to_tag[64]; /* the To tag of the last 200 to a SUBSCRIBE */
};

static void print_body(const char *body, size_t len)
{
	const char *p = body, *end = body + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		printf("   | %.*s\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static struct host_record *record_find(struct host *h, const char *call_id, const char *local_tag, int create)
{
	struct host_record *free_slot = NULL;
	for (size_t i = 0; i < sizeof(h->records) / sizeof(h->records[0]); i++) {
		struct host_record *r = &h->records[i];
		if (r->used && !strcmp(r->call_id, call_id) && !strcmp(r->local_tag, local_tag))
			return r;
		if (!r->used && !free_slot)
			free_slot = r;
	}
	if (!create || !free_slot)
		return NULL;
	free_slot->used = 1;
	snprintf(free_slot->call_id, sizeof(free_slot->call_id), "%s", call_id);
	snprintf(free_slot->local_tag, sizeof(free_slot->local_tag), "%s", local_tag);
	return free_slot;
}

static size_t record_count(const struct host *h)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(h->records) / sizeof(h->records[0]); i++)
		n += h->records[i].used ? 1 : 0;
	return n;
}

/* The host's SIP stack sends a response to a SUBSCRIBE (here: prints it). */
static void send_response(struct host *h, const struct host_subscribe *s, int status, const char *reason,
                          const struct sippres_subscribe_res *res)
{
	printf("<< SIP/2.0 %d %s\n", status, reason);
	if (res && status >= 200 && status < 300) {
		const char *tag = res->local_tag ? res->local_tag : s->to_tag;
		printf("   To: <sip:%s@%s>;tag=%s\n", s->ruri_user, s->ruri_host, tag);
		printf("   Expires: %" PRIu32 "\n", res->expires);
		snprintf(h->last_to_tag, sizeof(h->last_to_tag), "%s", tag);
	}
	if (res && res->min_expires)
		printf("   Min-Expires: %" PRIu32 "\n", res->min_expires);
	if (res && res->require_eventlist)
		printf("   Require: eventlist\n");
	if (res && res->allow_events)
		printf("   Allow-Events: %s\n", res->allow_events);
	if (res && res->accept)
		printf("   Accept: %s\n", res->accept);
}

/* ---- callbacks ---------------------------------------------------------- */

static void on_log(void *user_data, int level, const char *msg)
{
	(void)user_data;
	fprintf(stderr, "libsippresence[%d]: %s\n", level, msg);
}

static int on_random(void *user_data, uint8_t *buf, size_t len)
{
	(void)user_data;
	return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

/* NOTIFY: build the request from the library's view and hand it to the
 * transport. The views are valid only until this returns: copy what the
 * answer must be matched with. */
static int on_notify(void *user_data, struct sippres_sub *sub, const struct sippres_notify *n)
{
	struct host *h = user_data;
	struct host_transaction *tx = NULL;
	(void)sub;

	for (size_t i = 0; i < sizeof(h->tx) / sizeof(h->tx[0]) && !tx; i++)
		if (!h->tx[i].used)
			tx = &h->tx[i];
	if (!tx)
		return -1; /* could not send: the library counts a failed NOTIFY */

	printf("<< NOTIFY %s SIP/2.0\n", n->contact);
	printf("   From: <%s>;tag=%s\n", n->local_uri, n->local_tag);
	printf("   To: <%s>;tag=%s\n", n->remote_uri, n->remote_tag);
	printf("   Call-ID: %s\n", n->call_id);
	printf("   CSeq: %" PRIu32 " NOTIFY\n", n->cseq);
	printf("   Event: %s\n", n->event);
	printf("   Subscription-State: %s\n", n->subscription_state);
	if (n->require_eventlist)
		printf("   Require: eventlist\n");
	if (n->content_type) {
		printf("   Content-Type: %s\n", n->content_type);
		printf("   Content-Length: %zu\n", n->body_len);
		print_body(n->body, n->body_len);
	}

	tx->used = 1;
	snprintf(tx->call_id, sizeof(tx->call_id), "%s", n->call_id);
	snprintf(tx->local_tag, sizeof(tx->local_tag), "%s", n->local_tag);
	tx->cseq = n->cseq;
	tx->answer = h->phone_answer;
	return 0;
}

/* Store (replace) the subscription's record under its dialog. */
static void on_persist(void *user_data, struct sippres_sub *sub, const void *record, size_t len)
{
	struct host *h = user_data;
	struct sippres_sub_info info = {.size = sizeof(info)};
	struct host_record *rec;

	if (sippres_sub_get_info(h->ctx, sub, &info) < 0)
		return;
	rec = record_find(h, info.call_id, info.local_tag, 1);
	if (!rec || len > sizeof(rec->data))
		return; /* a real host logs this: the subscription will not survive a restart */
	memcpy(rec->data, record, len);
	rec->len = len;
}

/* The subscription ended (final NOTIFY, NOTIFY failure, removal): delete it. */
static void on_forget(void *user_data, struct sippres_sub *sub)
{
	struct host *h = user_data;
	struct sippres_sub_info info = {.size = sizeof(info)};
	struct host_record *rec;

	if (sippres_sub_get_info(h->ctx, sub, &info) < 0)
		return;
	rec = record_find(h, info.call_id, info.local_tag, 0);
	if (rec)
		rec->used = 0;
	printf("   (subscription %s ended, record deleted)\n", info.call_id);
}

/* ---- configuration ------------------------------------------------------ */

static int load_config(struct host *h)
{
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres_endpoint alice = {.size = sizeof(alice), .context = "office"};
	struct sippres_endpoint bob = {
		.size = sizeof(bob),
		.context = "office",
		.body_options = SIPPRES_BODY_DUMMY_DIALOG | SIPPRES_BODY_EARLY_INUSE_RINGING,
		.notify_failure_limit = 2,
	};
	static const char *const blf_items[] = {"1000", "1001"};
	struct sippres_list blf = {
		.size = sizeof(blf), .name = "blf", .event = "dialog",
		.items = blf_items, .n_items = 2, .batch_interval_ms = 200,
	};

	if (sippres_hint_set(h->ctx, "office", "1000", "PJSIP/alice(Alice)", &diag) < 0 ||
	    sippres_hint_set(h->ctx, "office", "1001", "PJSIP/bob,CustomPresence:bob(Bob)", &diag) < 0) {
		fprintf(stderr, "hint, column %" PRIu32 ": %s\n", diag.column, diag.message);
		return -1;
	}
	if (sippres_endpoint_set(h->ctx, "alice", &alice) < 0 ||
	    sippres_endpoint_set(h->ctx, "bob", &bob) < 0 ||
	    sippres_list_set(h->ctx, &blf) < 0)
		return -1;
	return 0;
}

/* ---- start ---------------------------------------------------------------- */

static int host_start(struct host *h)
{
	struct sippres_callbacks cb = {
		.size = sizeof(cb),
		.log = on_log,
		.random = on_random,
		.notify = on_notify,
		.persist = on_persist,
		.forget = on_forget,
	};
	struct sippres_config cfg = {.size = sizeof(cfg), .log_level = SIPPRES_LOG_WARNING};
	int r = sippres_ctx_new(&cfg, &cb, h, &h->ctx);

	if (r < 0) {
		fprintf(stderr, "sippres_ctx_new: %s\n", sippres_strerror(r));
		return -1;
	}
	return load_config(h);
}

/* ---- SUBSCRIBE ------------------------------------------------------------ */

static void on_subscribe(struct host *h, const struct host_subscribe *s)
{
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *sub = NULL;
	int r;

	if (s->to_tag) {
		/* in dialog: a refresh, or Expires: 0 to end the subscription */
		sub = sippres_sub_find(h->ctx, s->call_id, s->to_tag);
		if (!sub) {
			send_response(h, s, 481, "Subscription Does Not Exist", NULL);
			return;
		}
		r = sippres_sub_refresh(h->ctx, sub, s->expires, h->now_ms, &res);
	} else {
		struct sippres_subscribe_req req = {
			.size = sizeof(req),
			.endpoint = s->endpoint,
			.ruri_scheme = "sip",
			.ruri_user = s->ruri_user,
			.ruri_host = s->ruri_host,
			.ruri_port = s->ruri_port,
			.flags = s->supported_eventlist ? SIPPRES_SUBSCRIBE_EVENTLIST : 0,
			.from_uri = s->from_uri,
			.from_tag = s->from_tag,
			.call_id = s->call_id,
			.contact = s->contact,
			.event = s->event,
			.event_id = s->event_id,
			.accept = s->accept,
			.n_accept = s->n_accept,
			.expires = s->expires,
			.user_agent = s->user_agent,
			.local_tag = NULL, /* the library makes the To tag */
		};
		r = sippres_subscribe(h->ctx, &req, h->now_ms, &res, &sub);
	}
	if (r < 0) {
		send_response(h, s, 500, "Server Internal Error", NULL);
		return;
	}
	send_response(h, s, (int)res.status, res.reason, &res);
	/* The NOTIFY that follows a 200 is queued: the event loop sends it
	 * right after this response. */
}

/* ---- NOTIFY outcome --------------------------------------------------------- */

static void on_notify_response(struct host *h, const char *call_id, const char *local_tag, uint32_t cseq,
                               int status)
{
	struct sippres_sub *sub = sippres_sub_find(h->ctx, call_id, local_tag);

	if (!sub)
		return; /* it ended meanwhile, e.g. this was its final NOTIFY */
	if (sippres_sub_notify_result(h->ctx, sub, cseq, status, h->now_ms) == 1)
		printf("   (the library ended the subscription after a %d)\n", status);
}

/* The fake network: the phones answer every NOTIFY in flight. */
static void deliver_answers(struct host *h)
{
	for (size_t i = 0; i < sizeof(h->tx) / sizeof(h->tx[0]); i++) {
		struct host_transaction *tx = &h->tx[i];
		if (!tx->used)
			continue;
		tx->used = 0;
		printf(">> SIP/2.0 %d (NOTIFY CSeq %" PRIu32 ")\n", tx->answer, tx->cseq);
		on_notify_response(h, tx->call_id, tx->local_tag, tx->cseq, tx->answer);
	}
}

/* ---- state feed ---------------------------------------------------------- */

static void call_ringing(struct host *h, const char *device, const char *call_id, const char *caller_uri,
                         const char *caller_name)
{
	struct sippres_call call = {
		.size = sizeof(call),
		.call_id = call_id,
		.local_tag = "callee-tag",
		.remote_tag = "caller-tag",
		.state = SIPPRES_CALL_EARLY,
		.direction = SIPPRES_DIRECTION_RECIPIENT,
		.remote_uri = caller_uri,
		.remote_display = caller_name,
	};

	sippres_call_set(h->ctx, device, &call);                          /* details first: no NOTIFY */
	sippres_device_state_set(h->ctx, device, SIPPRES_DEVICE_RINGING); /* this one notifies */
}

static void call_answered(struct host *h, const char *device, const char *call_id)
{
	struct sippres_call call = {
		.size = sizeof(call),
		.call_id = call_id,
		.local_tag = "callee-tag",
		.remote_tag = "caller-tag",
		.state = SIPPRES_CALL_CONFIRMED,
		.direction = SIPPRES_DIRECTION_RECIPIENT,
	};

	sippres_call_set(h->ctx, device, &call);
	sippres_device_state_set(h->ctx, device, SIPPRES_DEVICE_INUSE);
}

static void call_ended(struct host *h, const char *device, const char *call_id)
{
	sippres_call_clear(h->ctx, device, call_id);
	sippres_device_state_set(h->ctx, device, SIPPRES_DEVICE_NOT_INUSE);
}

/* ---- the event loop --------------------------------------------------------- */

static void run_until(struct host *h, uint64_t until_ms)
{
	for (int turn = 0; turn < 1000; turn++) {
		uint64_t deadline;
		int r;

		deliver_answers(h); /* a real host: poll() returned, the stack read a datagram */
		r = sippres_ctx_next_timeout(h->ctx, h->now_ms, &deadline);
		if (r > 0 && deadline <= h->now_ms) {
			sippres_ctx_handle_timeout(h->ctx, h->now_ms);
			continue;
		}
		if (r <= 0 || deadline > until_ms)
			break;
		h->now_ms = deadline; /* a real host: poll(..., deadline - now) */
	}
	if (h->now_ms < until_ms)
		h->now_ms = until_ms;
	sippres_ctx_set_time(h->ctx, h->now_ms);
}

/* ---- restart ------------------------------------------------------------- */

static void restore_all(struct host *h)
{
	for (size_t i = 0; i < sizeof(h->records) / sizeof(h->records[0]); i++) {
		struct host_record *rec = &h->records[i];
		unsigned char copy[sizeof(rec->data)];
		size_t len = rec->len;
		struct sippres_sub *sub;
		int r;

		if (!rec->used)
			continue;
		memcpy(copy, rec->data, len); /* persist may rewrite the slot */
		r = sippres_sub_restore(h->ctx, copy, len, h->now_ms, &sub);
		if (r == SIPPRES_E_NOTFOUND || r == SIPPRES_E_PARSE)
			rec->used = 0; /* expired, resource gone or unreadable: delete it */
		else if (r < 0)
			fprintf(stderr, "restore %s: %s\n", rec->call_id, sippres_strerror(r));
	}
	/* Each restored subscription has a full-state NOTIFY queued that
	 * continues its CSeq and version: the event loop sends them. */
}

/* ---- shutdown -------------------------------------------------------------- */

static int collect(void *user_data, struct sippres_sub *sub)
{
	struct sippres_sub **list = user_data;
	size_t i = 0;
	while (list[i])
		i++;
	if (i < 63)
		list[i] = sub;
	return 0;
}

static void host_stop(struct host *h, int end_subscriptions)
{
	if (end_subscriptions) {
		struct sippres_sub *subs[64] = {0};
		sippres_sub_foreach(h->ctx, collect, subs);
		for (size_t i = 0; subs[i]; i++)
			sippres_sub_terminate(h->ctx, subs[i], h->now_ms); /* final NOTIFY now */
		run_until(h, h->now_ms + 100);                             /* their answers */
	}
	sippres_ctx_free(h->ctx); /* no callback fires: stored records stay */
	h->ctx = NULL;
}

/* ---- the script: what happens on the fake network ------------------------ */

static void step(const char *what)
{
	printf("\n== %s\n", what);
}

int main(void)
{
	static struct host host; /* zeroed */
	struct host *h = &host;
	char bob_tag[sizeof(h->last_to_tag)], alice_tag[sizeof(h->last_to_tag)];
	struct host_subscribe bob_blf = {
		.endpoint = "bob", .ruri_user = "1000", .ruri_host = "pbx.example.com", .ruri_port = 5060,
		.from_uri = "sip:bob@pbx.example.com", .from_tag = "bob-1", .call_id = "blf-1000@192.0.2.21",
		.contact = "sip:bob@192.0.2.21:5062", .event = "dialog",
		.accept = {"application/dialog-info+xml"}, .n_accept = 1,
		.expires = 600, .user_agent = "Yealink SIP-T46S 66.86.0.15",
	};
	struct host_subscribe alice_pres = {
		.endpoint = "alice", .ruri_user = "1001", .ruri_host = "pbx.example.com", .ruri_port = 5060,
		.from_uri = "sip:alice@pbx.example.com", .from_tag = "alice-1", .call_id = "pres-1001@192.0.2.20",
		.contact = "sip:alice@192.0.2.20:5060", .event = "presence",
		.accept = {"application/pidf+xml"}, .n_accept = 1, .expires = 3600,
	};

	h->now_ms = UINT64_C(1767225600000); /* 2026-01-01, wall clock */
	h->phone_answer = 200;
	if (host_start(h) < 0)
		return 1;

	step("bob's phone subscribes to the busy lamp of 1000");
	printf(">> SUBSCRIBE sip:1000@pbx.example.com (bob, Event: dialog, Expires: 600)\n");
	on_subscribe(h, &bob_blf);
	memcpy(bob_tag, h->last_to_tag, sizeof(bob_tag));
	run_until(h, h->now_ms + 10);

	step("alice watches bob's presence");
	printf(">> SUBSCRIBE sip:1001@pbx.example.com (alice, Event: presence, Expires: 3600)\n");
	on_subscribe(h, &alice_pres);
	memcpy(alice_tag, h->last_to_tag, sizeof(alice_tag));
	run_until(h, h->now_ms + 10);

	step("a call from carol rings alice's phone");
	call_ringing(h, "PJSIP/alice", "call-7@pbx", "sip:carol@pbx.example.com", "Carol");
	run_until(h, h->now_ms + 1000);

	step("alice answers");
	call_answered(h, "PJSIP/alice", "call-7@pbx");
	run_until(h, h->now_ms + 1000);

	step("bob sets do-not-disturb");
	sippres_presence_state_set(h->ctx, "CustomPresence:bob", SIPPRES_PRESENCE_DND, NULL, "In a meeting");
	run_until(h, h->now_ms + 1000);

	step("five minutes later bob's phone refreshes");
	run_until(h, h->now_ms + 300000);
	bob_blf.to_tag = bob_tag;
	bob_blf.expires = 600;
	printf(">> SUBSCRIBE (in dialog, Expires: 600)\n");
	on_subscribe(h, &bob_blf);
	run_until(h, h->now_ms + 10);

	step("the server crashes and starts again");
	printf("   %zu records stored\n", record_count(h));
	host_stop(h, 0);
	h->now_ms += 5000;
	if (host_start(h) < 0)
		return 1;
	call_answered(h, "PJSIP/alice", "call-7@pbx"); /* the current state first */
	sippres_presence_state_set(h->ctx, "CustomPresence:bob", SIPPRES_PRESENCE_DND, NULL, "In a meeting");
	restore_all(h);
	run_until(h, h->now_ms + 10);

	step("the call ends; bob's phone answers 481: it lost the subscription");
	h->phone_answer = 481;
	call_ended(h, "PJSIP/alice", "call-7@pbx");
	run_until(h, h->now_ms + 10);
	h->phone_answer = 200;

	step("alice unsubscribes");
	alice_pres.to_tag = alice_tag;
	alice_pres.expires = 0;
	printf(">> SUBSCRIBE (in dialog, Expires: 0)\n");
	on_subscribe(h, &alice_pres);
	run_until(h, h->now_ms + 10);

	step("a SUBSCRIBE for a dialog that no longer exists");
	printf(">> SUBSCRIBE (in dialog, Expires: 600)\n");
	alice_pres.expires = 600;
	on_subscribe(h, &alice_pres);

	step("shutdown");
	host_stop(h, 1);
	printf("   %zu records stored\n", record_count(h));
	return 0;
}
