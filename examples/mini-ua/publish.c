/* SPDX-License-Identifier: MIT */
/* Outbound publishes (pjsip.conf type=outbound-publish): the library hands
 * over asterisk-devicestate bodies through its publish callback; each
 * outbound publish is one RFC 3903 publication at its server_uri, driven here.
 *
 * - At most one PUBLISH in flight per outbound publish. Bodies that arrive
 *   meanwhile wait in a queue, one entry per device (a newer state of a
 *   device replaces the waiting one in place), so the last state of every
 *   device reaches the peer and a burst costs one PUBLISH per device.
 * - The first PUBLISH is an initial one (no SIP-If-Match); later ones carry
 *   SIP-If-Match with the last SIP-ETag (a modify, or a refresh without a
 *   body shortly before the granted Expires runs out).
 * - 412 (the peer lost our publication): the body that got it, or for a
 *   refresh the last body sent, goes again as a new initial PUBLISH.
 *   423: Expires becomes the peer's Min-Expires, the same PUBLISH again.
 * - Over UDP each PUBLISH is retransmitted with timers E and F (txn.c); no
 *   final answer, or any other failure, and the same body is tried again
 *   after a backoff (8 T1, doubling, at most 128 T1: 4 s to 64 s by default).
 * - server_uri is resolved when the configuration is loaded, never per
 *   message.
 * - Ending (quit, SIGTERM, a reload that removes the section): the queue is
 *   dropped and, once the PUBLISH in flight (if any) is answered, a PUBLISH
 *   with Expires: 0 and SIP-If-Match of the live publication removes it
 *   (RFC 3903 4.5). Best effort: one try, retransmitted over UDP; an ending
 *   outbound publish waits in ua->outpubs_ending until it is answered or
 *   timer F fires (main() waits at most OUTPUB_QUIT_MS for them at quit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define OUTPUB_USER_AGENT "sippres-mini-ua"

struct pending {
	char *key;  /* "d:DEVICE", "m:MAILBOX", "r" (refresh request); NULL: never coalesced */
	char *body;
	size_t len;
};

struct outpub {
	struct outpub *next;
	char *name, *server_uri, *from_uri, *to_uri, *event;
	uint32_t expiration;       /* asked for */
	uint32_t expires;          /* asked for now (raised by a 423) */
	struct ua_addr dst;
	char call_id[40], from_tag[20];
	uint32_t cseq;
	char *etag;                /* our publication there; NULL: none (the next PUBLISH is an initial one) */
	uint64_t refresh_at;       /* monotonic ms; 0: no refresh due */
	uint64_t retry_at;         /* monotonic ms; 0: not waiting after a failure */
	uint32_t backoff;          /* ms, the next wait after a failure; 0: none yet */
	/* in flight */
	bool inflight;
	char branch[48];
	struct pending sent;       /* body NULL: a refresh */
	bool sent_if_match;
	struct pending last;       /* the last body the peer took (412 on a refresh sends it again) */
	struct pending *q;         /* waiting, oldest first */
	size_t nq, capq;
	unsigned long published, failures;
	bool resync;               /* outpub_apply: new or changed by a reload */
	bool ending;               /* in ua->outpubs_ending: only the removal is still to go */
	bool removal_sent;
};

static void pending_free(struct pending *p)
{
	free(p->key);
	free(p->body);
	memset(p, 0, sizeof(*p));
}

static void outpub_free(struct outpub *op)
{
	free(op->name);
	free(op->server_uri);
	free(op->from_uri);
	free(op->to_uri);
	free(op->event);
	free(op->etag);
	pending_free(&op->sent);
	pending_free(&op->last);
	for (size_t i = 0; i < op->nq; i++)
		pending_free(&op->q[i]);
	free(op->q);
	free(op);
}

void outpub_free_list(struct outpub *list)
{
	while (list) {
		struct outpub *next = list->next;

		outpub_free(list);
		list = next;
	}
}

static struct outpub *find(struct outpub *list, const char *name)
{
	for (; list; list = list->next) {
		if (strcmp(list->name, name) == 0)
			return list;
	}
	return NULL;
}

size_t outpub_count(const struct ua *ua)
{
	size_t n = 0;

	for (const struct outpub *op = ua->outpubs; op; op = op->next)
		n++;
	return n;
}

int outpub_conf(struct ua *ua, struct outpub **list, const char *name, const struct sippres_conf_outbound_publish *o)
{
	struct outpub *op = calloc(1, sizeof(*op)), **pp;
	bool oom = false;

	if (!op) {
		ua_log(LOG_ERR, "out of memory: outbound publish %s is not used", name);
		return -1;
	}
	op->name = ua_strdup_or_null(name, &oom);
	op->server_uri = ua_strdup_or_null(o->server_uri, &oom);
	op->from_uri = ua_strdup_or_null(o->from_uri, &oom);
	op->to_uri = ua_strdup_or_null(o->to_uri ? o->to_uri : o->server_uri, &oom);
	op->event = ua_strdup_or_null(o->event ? o->event : "asterisk-devicestate", &oom);
	op->expiration = o->expiration ? o->expiration : 3600;
	op->expires = op->expiration;
	if (oom || !op->server_uri) {
		ua_log(LOG_ERR, "%s: outbound publish %s is not used", oom ? "out of memory" : "no server_uri", name);
		outpub_free(op);
		return -1;
	}
	/* once, here: the loop never waits for a resolver */
	if (addr_resolve_uri(op->server_uri, ua->local.ss.ss_family, &op->dst) < 0) {
		ua_log(LOG_ERR, "outbound publish %s: cannot send to server_uri %s (a numeric address of the listening "
		       "family, localhost, or a name that resolves now)", name, op->server_uri);
		outpub_free(op);
		return -1;
	}
	for (pp = list; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			struct outpub *old = *pp;

			op->next = old->next;
			*pp = op;
			outpub_free(old);
			return 0;
		}
	}
	*pp = op;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_facts(const struct outpub *a, const struct outpub *b)
{
	return str_eq(a->server_uri, b->server_uri) && str_eq(a->from_uri, b->from_uri) &&
	       str_eq(a->to_uri, b->to_uri) && str_eq(a->event, b->event) && a->expiration == b->expiration;
}

static void start(struct outpub *op)
{
	ua_random_token(op->call_id, 24);
	ua_random_token(op->from_tag, 12);
	op->cseq = 1;
}

static void resync(struct ua *ua, struct outpub *op);
static void end_publication(struct ua *ua, struct outpub *op);

int outpub_apply(struct ua *ua, struct outpub *fresh, bool initial)
{
	struct outpub *running = ua->outpubs, *kept = NULL, **tail = &kept;
	int n = 0;

	/* the ones gone: out of the library too, and their publication removed at the peer */
	for (struct outpub **pp = &running; *pp;) {
		struct outpub *op = *pp;
		int r;

		if (find(fresh, op->name)) {
			pp = &op->next;
			continue;
		}
		r = sippres_outbound_publish_remove(ua->ctx, op->name);
		ua_log(LOG_INFO, "outbound publish %s removed%s", op->name,
		       r == 0 || r == SIPPRES_E_NOTFOUND ? "" : " (the library refused)");
		*pp = op->next;
		end_publication(ua, op);
	}
	while (fresh) {
		struct outpub *f = fresh, *old = find(running, f->name);

		fresh = f->next;
		f->next = NULL;
		if (old && same_facts(old, f)) {
			/* unchanged: keep its publication, queue and transaction */
			struct outpub **pp = &running;

			while (*pp != old)
				pp = &(*pp)->next;
			*pp = old->next;
			old->next = NULL;
			outpub_free(f);
			*tail = old;
			tail = &old->next;
			continue;
		}
		start(f);
		f->resync = !initial;
		*tail = f;
		tail = &f->next;
		n++;
		if (!initial)
			ua_log(LOG_INFO, "outbound publish %s %s: %s", f->name, old ? "changed" : "added", f->server_uri);
	}
	outpub_free_list(running); /* gone or replaced: a response to their PUBLISH in flight finds nobody */
	ua->outpubs = kept;
	for (struct outpub *op = ua->outpubs; op; op = op->next) {
		if (op->resync) {
			op->resync = false;
			resync(ua, op);
		}
	}
	return n;
}

static void resync(struct ua *ua, struct outpub *op)
{
	int r = sippres_outbound_publish_resync(ua->ctx, op->name);

	if (r < 0)
		ua_log(LOG_ERR, "outbound publish %s: resync: %s", op->name, sippres_strerror(r));
	else
		ua_log(LOG_INFO, "outbound publish %s: resync to %s, %d bod%s", op->name, op->server_uri, r,
		       r == 1 ? "y" : "ies");
}

void outpub_resync_all(struct ua *ua)
{
	for (struct outpub *op = ua->outpubs; op; op = op->next)
		resync(ua, op);
}

/* ---- the queue -------------------------------------------------------------------------------- */

/* What a body is about, so that a newer one replaces it: the library's compact JSON, "key":"value". */
static char *body_key(const char *body, size_t len)
{
	static const struct {
		const char *needle, *prefix;
	} keys[] = {{"\"device\":\"", "d:"}, {"\"uniqueid\":\"", "m:"}};
	char *k;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		size_t nl = strlen(keys[i].needle);
		const char *p = memmem(body, len, keys[i].needle, nl), *e;

		if (!p)
			continue;
		p += nl;
		e = memchr(p, '"', len - (size_t)(p - body));
		if (!e)
			return NULL;
		k = malloc(2 + (size_t)(e - p) + 1);
		if (k) {
			memcpy(k, keys[i].prefix, 2);
			memcpy(k + 2, p, (size_t)(e - p));
			k[2 + (e - p)] = '\0';
		}
		return k;
	}
	if (memmem(body, len, "\"type\":\"refresh\"", 16))
		return strdup("r");
	return NULL;
}

static struct pending *queued(struct outpub *op, const char *key)
{
	for (size_t i = 0; key && i < op->nq; i++) {
		if (op->q[i].key && strcmp(op->q[i].key, key) == 0)
			return &op->q[i];
	}
	return NULL;
}

/* Take p (its strings) into the queue: in place of a waiting body with the same key, else at the end (or the
 * front). Returns 0, -1 out of memory (p freed). */
static int enqueue(struct outpub *op, struct pending *p, bool front)
{
	struct pending *same = queued(op, p->key);

	if (same) {
		pending_free(same);
		*same = *p;
		memset(p, 0, sizeof(*p));
		return 0;
	}
	if (op->nq == op->capq) {
		size_t cap = op->capq ? op->capq * 2 : 16;
		struct pending *q = realloc(op->q, cap * sizeof(*q));

		if (!q) {
			pending_free(p);
			return -1;
		}
		op->q = q;
		op->capq = cap;
	}
	if (front) {
		memmove(op->q + 1, op->q, op->nq * sizeof(*op->q));
		op->q[0] = *p;
	} else {
		op->q[op->nq] = *p;
	}
	op->nq++;
	memset(p, 0, sizeof(*p));
	return 0;
}

/* The body that was in flight goes back to the front, unless a newer one about the same thing waits. */
static void requeue(struct outpub *op, struct pending *p)
{
	if (!p->body || queued(op, p->key)) {
		pending_free(p);
		return;
	}
	if (enqueue(op, p, true) < 0)
		ua_log(LOG_ERR, "out of memory: outbound publish %s lost a body", op->name);
}

/* ---- sending ---------------------------------------------------------------------------------- */

/* The next waiting body; with nothing waiting and refresh set, a refresh (no body, SIP-If-Match). */
static void send_publish(struct ua *ua, struct outpub *op, uint64_t now, bool refresh)
{
	struct publish_out o;
	struct ntx *x;
	char via[80], from[600], contact[600], *data;
	size_t len = 0;

	if (op->inflight)
		return;
	if (op->ending) {
		if (!op->etag || op->removal_sent)
			return;
		memset(&op->sent, 0, sizeof(op->sent));
		op->removal_sent = true;
	} else if (op->nq > 0) {
		op->sent = op->q[0];
		memmove(op->q, op->q + 1, (op->nq - 1) * sizeof(*op->q));
		op->nq--;
	} else if (op->etag && refresh) {
		memset(&op->sent, 0, sizeof(op->sent));
	} else {
		return;
	}
	memcpy(op->branch, "z9hG4bK", 7);
	ua_random_token(op->branch + 7, 20);
	ua_local_for(ua, &op->dst, via, sizeof(via));
	snprintf(from, sizeof(from), "sip:%s@%s", op->name, via);
	snprintf(contact, sizeof(contact), "sip:%s@%s", op->name, via);
	op->sent_if_match = op->etag != NULL;
	o = (struct publish_out){
		.ruri = op->server_uri, .via_sent_by = via, .branch = op->branch,
		.from_uri = op->from_uri ? op->from_uri : from, .from_tag = op->from_tag, .to_uri = op->to_uri,
		.call_id = op->call_id, .cseq = op->cseq++, .contact = contact, .event = op->event,
		.expires = op->ending ? 0 : op->expires, .if_match = op->etag,
		.content_type = op->sent.body ? "application/json" : NULL, .body = op->sent.body,
		.body_len = op->sent.len, .user_agent = OUTPUB_USER_AGENT,
	};
	data = sip_build_publish(&o, &len);
	if (!data) {
		ua_log(LOG_ERR, "outbound publish %s: cannot build a PUBLISH to %s", op->name, op->server_uri);
		goto fail;
	}
	/* timers E and F count from the transmission below, not from when the caller read the clock */
	x = ntx_add(&ua->ntx, op->branch, op->call_id, op->name, o.cseq, data, len, &op->dst, ua_now_mono_ms());
	if (!x) {
		ua_log(LOG_ERR, "out of memory: outbound publish %s: PUBLISH not sent", op->name);
		goto fail;
	}
	x->publish = true;
	op->inflight = true;
	op->refresh_at = 0;
	ua_log(LOG_DEBUG, "PUBLISH %s to %s cseq %u%s%s (%s)", op->name, op->server_uri, o.cseq,
	       op->etag ? ", SIP-If-Match " : " (initial)", op->etag ? op->etag : "",
	       op->sent.body ? op->sent.body : op->ending ? "removal" : "refresh");
	ua_send(ua, x->data, x->len, &x->dst);
	return;
fail:
	if (op->ending)
		return; /* no removal, then */
	requeue(op, &op->sent);
	op->retry_at = now + 8u * ua->ntx.t1;
}

int outpub_body(struct ua *ua, const char *name, const char *event, const char *content_type, const char *body,
                size_t len)
{
	struct outpub *op = find(ua->outpubs, name);
	struct pending p = {0};

	(void)event;
	(void)content_type;
	if (!op && find(ua->outpubs_ending, name))
		return 0; /* stopping, or removed by a reload: only the removal goes */
	if (!op) {
		ua_log(LOG_WARN, "a body for outbound publish %s, which has no server_uri here: not sent", name);
		return -1;
	}
	p.body = malloc(len + 1);
	if (!p.body)
		return -1;
	memcpy(p.body, body, len);
	p.body[len] = '\0';
	p.len = len;
	p.key = body_key(body, len);
	if (enqueue(op, &p, false) < 0) {
		ua_log(LOG_ERR, "out of memory: outbound publish %s: a body not sent", name);
		return -1;
	}
	if (!op->retry_at)
		send_publish(ua, op, ua_now_mono_ms(), false);
	return 0;
}

/* ---- answers and timers ------------------------------------------------------------------------- */

static void failed(struct ua *ua, struct outpub *op, int status, uint64_t now)
{
	uint32_t t1 = ua->ntx.t1;

	op->failures++;
	op->backoff = op->backoff ? op->backoff * 2 : 8u * t1;
	if (op->backoff > 128u * t1)
		op->backoff = 128u * t1;
	op->retry_at = now + op->backoff;
	ua_log(LOG_WARN, "outbound publish %s: PUBLISH to %s got %d; trying again in %u ms", op->name, op->server_uri,
	       status, op->backoff);
	requeue(op, &op->sent);
}

/* An ending one whose last PUBLISH got status: the removal next, or done (out of ua->outpubs_ending). */
static void ending_response(struct ua *ua, struct outpub *op, const struct sip_in *in, int status, uint64_t now)
{
	if (op->removal_sent) {
		ua_log(status >= 200 && status < 300 ? LOG_INFO : LOG_WARN, "outbound publish %s: removal at %s: %d",
		       op->name, op->server_uri, status);
	} else if (status >= 200 && status < 300) {
		const char *etag = in ? sip_header(in, "sip-etag", NULL) : NULL;

		free(op->etag);
		op->etag = etag && etag[0] ? strdup(etag) : NULL;
	} else if (status == 412) {
		free(op->etag); /* the peer has no publication of ours: nothing to remove */
		op->etag = NULL;
	} /* else (408, 5xx...): the last SIP-ETag may still be live, remove that */
	pending_free(&op->sent);
	send_publish(ua, op, now, false);
	if (!op->inflight)
		end_publication(ua, op);
}

/* Take op (out of any list) into ua->outpubs_ending; its removal goes once nothing is in flight. When there is
 * nothing to remove (no publication, or it was removed), op is freed. */
static void end_publication(struct ua *ua, struct outpub *op)
{
	struct outpub **pp = &ua->outpubs_ending;

	while (*pp && *pp != op)
		pp = &(*pp)->next;
	if (!*pp) {
		op->next = ua->outpubs_ending;
		ua->outpubs_ending = op;
		pp = &ua->outpubs_ending;
	}
	if (!op->ending) {
		op->ending = true;
		op->retry_at = op->refresh_at = 0;
		for (size_t i = 0; i < op->nq; i++)
			pending_free(&op->q[i]);
		op->nq = 0;
		send_publish(ua, op, ua_now_mono_ms(), false);
	}
	if (!op->inflight) {
		*pp = op->next;
		outpub_free(op);
	}
}

void outpub_end_all(struct ua *ua)
{
	while (ua->outpubs) {
		struct outpub *op = ua->outpubs;

		ua->outpubs = op->next;
		end_publication(ua, op);
	}
}

void outpub_response(struct ua *ua, const char *name, const char *branch, const struct sip_in *in, int status)
{
	struct outpub *op = find(ua->outpubs, name);
	uint64_t now = ua_now_mono_ms();

	if (!op || !op->inflight || strcmp(op->branch, branch) != 0)
		op = find(ua->outpubs_ending, name);
	if (!op || !op->inflight || strcmp(op->branch, branch) != 0)
		return; /* an outbound publish replaced by a reload */
	op->inflight = false;
	if (op->ending) {
		ending_response(ua, op, in, status, now);
		return;
	}
	if (status >= 200 && status < 300) {
		const char *etag = in ? sip_header(in, "sip-etag", NULL) : NULL;
		int64_t e = in ? sip_expires(in) : -1;
		uint32_t granted = e >= 0 ? (uint32_t)e : op->expires;

		free(op->etag);
		op->etag = etag && etag[0] ? strdup(etag) : NULL;
		if (!op->etag)
			ua_log(LOG_WARN, "outbound publish %s: 2xx without SIP-ETag; the next PUBLISH is an initial one",
			       op->name);
		op->published++;
		op->backoff = 0;
		op->retry_at = 0;
		op->refresh_at = granted > 1 ? now + 1000ull * (granted - (granted / 2 < 30 ? granted / 2 : 30)) : 0;
		if (op->sent.body) {
			pending_free(&op->last);
			op->last = op->sent;
			memset(&op->sent, 0, sizeof(op->sent));
		}
		ua_log(LOG_DEBUG, "outbound publish %s: %d, SIP-ETag %s, Expires %u", op->name, status,
		       op->etag ? op->etag : "-", granted);
	} else if (status == 412 && op->sent_if_match) {
		ua_log(LOG_INFO, "outbound publish %s: 412 from %s, publishing anew", op->name, op->server_uri);
		free(op->etag);
		op->etag = NULL;
		if (!op->sent.body && op->last.body) {
			/* a refresh: the last body becomes the new initial publication */
			op->sent = op->last;
			memset(&op->last, 0, sizeof(op->last));
		}
		requeue(op, &op->sent);
	} else if (status == 423 && in && sip_header(in, "min-expires", NULL)) {
		unsigned long m = strtoul(sip_header(in, "min-expires", NULL), NULL, 10);

		if (m > op->expires && m <= UINT32_MAX) {
			ua_log(LOG_INFO, "outbound publish %s: 423, Expires %lu from now on", op->name, m);
			op->expires = (uint32_t)m;
			requeue(op, &op->sent);
		} else {
			failed(ua, op, status, now);
		}
	} else {
		failed(ua, op, status, now);
	}
	pending_free(&op->sent);
	if (!op->retry_at)
		send_publish(ua, op, now, false);
}

void outpub_run_timers(struct ua *ua, uint64_t mono)
{
	for (struct outpub *op = ua->outpubs; op; op = op->next) {
		if (op->inflight)
			continue;
		if (op->retry_at && mono >= op->retry_at) {
			op->retry_at = 0;
			send_publish(ua, op, mono, true); /* what failed, or the refresh that failed */
		} else if (!op->retry_at && op->refresh_at && mono >= op->refresh_at) {
			ua_log(LOG_DEBUG, "outbound publish %s: refreshing", op->name);
			send_publish(ua, op, mono, true);
		}
	}
}

uint64_t outpub_next(const struct ua *ua)
{
	uint64_t t = UINT64_MAX;

	for (const struct outpub *op = ua->outpubs; op; op = op->next) {
		uint64_t at = op->inflight ? 0 : op->retry_at ? op->retry_at : op->refresh_at;

		if (at && at < t)
			t = at;
	}
	return t;
}
