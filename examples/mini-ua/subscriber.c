/* SPDX-License-Identifier: MIT */
/* `sippres-mini-ua subscribe URI ...`: the mini UA as a SIP subscriber over
 * UDP (RFC 6665). It sends one SUBSCRIBE, answers and prints every NOTIFY of
 * its dialog, refreshes at half the granted expiry and unsubscribes on
 * SIGINT/SIGTERM, at the end of --duration or after --count NOTIFYs, then
 * exits 0 after the final (terminated) NOTIFY. Messages are built and parsed
 * with libosip2, as the notifier's are; the SUBSCRIBE is retransmitted per
 * RFC 3261 timers E and F. No libsippresence logic is involved.
 *
 * Standard output: every NOTIFY (first line, Event, Subscription-State,
 * Content-Type, CSeq, Require, then the body; multipart bodies part by part)
 * between "=== NOTIFY n ..." and "=== end of NOTIFY n", and one "=== " line
 * per event of the subscription (responses, refreshes, the end). Logs and
 * errors go to standard error. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libsippresence/libsippresence.h>
#include <osipparser2/osip_port.h>

#include "subscriber.h"
#include "transport.h"
#include "ua.h"

#define MAX_ACCEPT 32
#define SUB_USER_AGENT "sippres-mini-ua (subscriber)"

enum phase {
	PH_SUBSCRIBING,   /* initial SUBSCRIBE sent, no 2xx yet */
	PH_ACTIVE,        /* subscribed; refreshes keep it */
	PH_UNSUBSCRIBING, /* Expires: 0 sent (or granted): waiting for the final NOTIFY */
};

/* The one SUBSCRIBE client transaction in progress (RFC 3261 17.1.2). */
struct sub_tx {
	bool active;
	char branch[40];
	uint32_t cseq;
	uint32_t expires; /* what this SUBSCRIBE asked for */
	char *data;
	size_t len;
	uint64_t fire_at, f_at; /* timers E and F, monotonic ms */
	uint32_t interval;
	bool proceeding;
};

struct subr {
	/* command line */
	const char *target, *event, *from_opt, *listen_opt;
	const char *accept[MAX_ACCEPT + 2];
	size_t n_accept;
	bool eventlist;
	uint32_t expires;
	unsigned long count;    /* 0: no limit */
	uint64_t duration_ms;   /* 0: none */
	uint32_t t1;
	int proto;              /* --transport: UA_PROTO_UDP, _TCP or _TLS */
	const char *ca;         /* --ca */
	char *host;             /* the target's host, for the server certificate */
	struct sub_stream *st;  /* tcp, tls: the connection */
	/* socket */
	int fd;
	struct ua_addr local, dst;
	char local_str[80];
	/* the dialog */
	char call_id[32], from_tag[20];
	char *from_uri, *to_uri, *contact, *remote_tag, *remote_target;
	uint32_t cseq;
	enum phase phase;
	struct sub_tx tx;
	uint64_t start, refresh_at, deadline, final_wait_until; /* monotonic ms, 0: not set */
	bool retried_423;
	bool unsub_wanted;
	const char *unsub_why;
	/* NOTIFYs */
	unsigned long notifies;
	bool have_notify_cseq;
	uint32_t notify_cseq;
	char notify_branch[96];
	char *notify_resp;      /* our answer to the last NOTIFY, for its retransmissions */
	size_t notify_resp_len;
	/* the end */
	bool done;
	int rc;
};

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	signals_seen++;
}

/* One "=== " event line on standard output. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void event_line(const char *fmt, ...)
{
	va_list ap;

	fputs("=== ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static void finish(struct subr *s, int rc)
{
	if (s->done)
		return;
	s->done = true;
	s->rc = rc;
}

/* Over the connection (--transport tcp|tls), else as a datagram to dst. */
static void sub_send(struct subr *s, const char *data, size_t len, const struct ua_addr *dst)
{
	if (!s->st) {
		ua_sendto(s->fd, data, len, dst);
	} else if (sub_stream_send(s->st, data, len) < 0) {
		event_line("the %s connection to the notifier failed", proto_name(s->proto));
		finish(s, 1);
	}
}

/* ---- SUBSCRIBE ------------------------------------------------------------------------- */

static char *build_subscribe(const struct subr *s, uint32_t cseq, uint32_t expires, const char *branch, size_t *len)
{
	const struct sip_request_head h = {
		.method = "SUBSCRIBE", .ruri = s->remote_target ? s->remote_target : s->target,
		.via_sent_by = s->local_str, .branch = branch, .from_uri = s->from_uri, .from_tag = s->from_tag,
		.to_uri = s->to_uri, .to_tag = s->remote_tag, .call_id = s->call_id, .cseq = cseq, .contact = s->contact,
	};
	osip_message_t *m = sip_request_start(&h);
	char *out = NULL;
	char num[16];

	if (!m)
		return NULL;
	snprintf(num, sizeof(num), "%u", expires);
	if (osip_message_set_header(m, "Event", s->event) != 0 || osip_message_set_expires(m, num) != 0)
		goto out;
	for (size_t i = 0; i < s->n_accept; i++) {
		if (osip_message_set_header(m, "Accept", s->accept[i]) != 0)
			goto out;
	}
	if (s->eventlist && osip_message_set_header(m, "Supported", "eventlist") != 0)
		goto out;
	if (osip_message_set_header(m, "Allow", "NOTIFY, OPTIONS") != 0 ||
	    osip_message_set_header(m, "User-Agent", SUB_USER_AGENT) != 0)
		goto out;
	out = sip_message_to_malloc(m, len);
out:
	osip_message_free(m);
	return out;
}

/* Send a new SUBSCRIBE in the dialog (the first one creates it). */
static int send_subscribe(struct subr *s, uint32_t expires)
{
	uint64_t now = ua_now_mono_ms();
	char branch[40];
	size_t len = 0;
	char *data;

	memcpy(branch, "z9hG4bK", 7);
	ua_random_token(branch + 7, 20);
	s->cseq++;
	data = build_subscribe(s, s->cseq, expires, branch, &len);
	if (data && s->st && !stream_patch_message(&data, &len, s->proto)) {
		free(data);
		data = NULL;
	}
	if (!data) {
		ua_log(LOG_ERR, "cannot build the SUBSCRIBE (Request-URI %s, From %s, Event %s)",
		       s->remote_target ? s->remote_target : s->target, s->from_uri, s->event);
		finish(s, 1);
		return -1;
	}
	free(s->tx.data);
	memset(&s->tx, 0, sizeof(s->tx));
	s->tx.active = true;
	snprintf(s->tx.branch, sizeof(s->tx.branch), "%s", branch);
	s->tx.cseq = s->cseq;
	s->tx.expires = expires;
	s->tx.data = data;
	s->tx.len = len;
	s->tx.interval = s->t1;
	s->tx.fire_at = now + s->t1;
	s->tx.f_at = now + 64u * s->t1;
	if (s->st)
		s->tx.fire_at = s->tx.f_at; /* reliable: timer F only */
	ua_log(LOG_DEBUG, "SUBSCRIBE cseq %u Expires %u", s->cseq, expires);
	sub_send(s, data, len, &s->dst);
	return 0;
}

static void tx_stop(struct subr *s)
{
	free(s->tx.data);
	memset(&s->tx, 0, sizeof(s->tx));
}

static void start_unsubscribe(struct subr *s, const char *why)
{
	if (s->done || s->phase == PH_UNSUBSCRIBING)
		return;
	if (s->tx.active || s->phase == PH_SUBSCRIBING) {
		/* after the answer to the SUBSCRIBE in progress */
		s->unsub_wanted = true;
		s->unsub_why = why;
		return;
	}
	s->unsub_wanted = false;
	event_line("unsubscribing (%s): SUBSCRIBE with Expires: 0", why);
	s->phase = PH_UNSUBSCRIBING;
	s->refresh_at = 0;
	send_subscribe(s, 0);
}

/* The dialog's remote target: the Contact of a 2xx or of a NOTIFY (RFC 6665 4.1.2.2, 4.1.3). */
static void take_remote_target(struct subr *s, osip_message_t *m)
{
	osip_contact_t *c = NULL;
	struct ua_addr a;
	char *uri = NULL;

	if (osip_message_get_contact(m, 0, &c) < 0 || !c || !c->url)
		return;
	if (osip_uri_to_str(c->url, &uri) != 0 || !uri)
		return;
	if (!s->remote_target || strcmp(s->remote_target, uri) != 0) {
		if (addr_from_uri(uri, s->local.ss.ss_family, &a) == 0) {
			char *copy = strdup(uri);

			if (copy) {
				free(s->remote_target);
				s->remote_target = copy;
				s->dst = a;
			}
		} else {
			ua_log(LOG_WARN, "cannot send to the Contact %s; requests keep their old target", uri);
		}
	}
	osip_free(uri);
}

static void print_response_headers(const struct sip_in *in)
{
	static const char *const names[] = {"Allow-Events", "Min-Expires", "Require", "Retry-After", "Warning"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		osip_list_iterator_t it;
		const char *sep = "";

		/* osip keeps each comma-separated value of a header as a header of its own */
		for (osip_header_t *h = osip_list_get_first(&in->msg->headers, &it); h; h = osip_list_get_next(&it)) {
			if (!h->hname || strcasecmp(h->hname, names[i]) != 0)
				continue;
			if (!*sep)
				printf("    %s: ", names[i]);
			printf("%s%s", sep, h->hvalue ? h->hvalue : "");
			sep = ", ";
		}
		if (*sep)
			putchar('\n');
	}
	if (in->msg->accepts.nb_elt > 0) {
		osip_list_iterator_t it;
		const char *sep = "";

		printf("    Accept: ");
		for (osip_accept_t *a = osip_list_get_first(&in->msg->accepts, &it); a; a = osip_list_get_next(&it)) {
			char *v = NULL;

			if (osip_accept_to_str(a, &v) == 0 && v) {
				printf("%s%s", sep, v);
				sep = ", ";
				osip_free(v);
			}
		}
		putchar('\n');
	}
	fflush(stdout);
}

static void on_success(struct subr *s, const struct sip_in *in, uint32_t asked, uint64_t now)
{
	const char *reason = in->msg->reason_phrase ? in->msg->reason_phrase : "";
	int64_t e = sip_expires(in);
	uint32_t granted = asked;

	if (!s->remote_tag && in->to_tag) {
		s->remote_tag = strdup(in->to_tag);
		if (!s->remote_tag) {
			ua_log(LOG_ERR, "out of memory");
			finish(s, 1);
			return;
		}
	}
	take_remote_target(s, in->msg);
	if (e >= 0)
		granted = (uint32_t)e;
	else
		ua_log(LOG_WARN, "%d %s without a valid Expires: taking the %u asked for", in->status, reason, asked);
	if (s->phase == PH_UNSUBSCRIBING) {
		event_line("%d %s: unsubscribed, waiting for the final NOTIFY", in->status, reason);
		s->final_wait_until = now + 64u * s->t1;
		return;
	}
	event_line("%d %s: %s, Expires: %u", in->status, reason, s->phase == PH_SUBSCRIBING ? "subscribed" : "refreshed",
	           granted);
	s->phase = PH_ACTIVE;
	if (granted == 0) {
		/* a fetch (RFC 6665 4.4.3): one NOTIFY with the state, terminated */
		s->phase = PH_UNSUBSCRIBING;
		s->final_wait_until = now + 64u * s->t1;
		return;
	}
	s->refresh_at = now + (uint64_t)granted * 500u;
	if (s->unsub_wanted)
		start_unsubscribe(s, s->unsub_why);
}

static void on_response(struct subr *s, const struct sip_in *in)
{
	const char *reason = in->msg->reason_phrase ? in->msg->reason_phrase : "";
	uint64_t now = ua_now_mono_ms();
	uint32_t asked;

	if (!s->tx.active || !in->branch || strcmp(in->branch, s->tx.branch) != 0 || in->cseq != s->tx.cseq ||
	    strcmp(in->cseq_method, "SUBSCRIBE") != 0) {
		ua_log(LOG_DEBUG, "a response that matches no SUBSCRIBE in progress: %d %s (CSeq %u %s)", in->status,
		       reason, in->cseq, in->cseq_method);
		return;
	}
	if (in->status < 200) {
		if (!s->tx.proceeding) {
			s->tx.proceeding = true;
			s->tx.interval = UA_T2_MS;
			s->tx.fire_at = now + UA_T2_MS;
		}
		return;
	}
	asked = s->tx.expires;
	tx_stop(s);
	if (in->status < 300) {
		on_success(s, in, asked, now);
		return;
	}
	if (in->status == 423 && !s->retried_423 && asked > 0) {
		const char *v = sip_header(in, "min-expires", NULL);
		char *end = NULL;
		unsigned long min = v ? strtoul(v, &end, 10) : 0;

		if (v && end != v && min > asked && min <= UINT32_MAX) {
			event_line("%d %s, Min-Expires: %lu: subscribing again with Expires: %lu", in->status, reason, min,
			           min);
			s->retried_423 = true;
			s->expires = (uint32_t)min;
			send_subscribe(s, s->expires);
			return;
		}
	}
	event_line("%d %s: the %s failed", in->status, reason,
	           s->phase == PH_SUBSCRIBING ? "SUBSCRIBE" : s->phase == PH_ACTIVE ? "refresh" : "un-SUBSCRIBE");
	print_response_headers(in);
	if (in->status == 403)
		ua_log(LOG_ERR, "403: the notifier took the From user (%s) for an endpoint it does not know; "
		                "try --from sip:ENDPOINT@HOST",
		       s->from_uri);
	ua_log(LOG_ERR, "SUBSCRIBE answered %d %s", in->status, reason);
	finish(s, 1);
}

/* ---- NOTIFY ------------------------------------------------------------------------------- */

static void respond(struct subr *s, const struct sip_in *in, const struct ua_addr *src, int status,
                    const char *reason, const char *extra, bool keep)
{
	size_t len = 0;
	char *r = s->st ? sip_build_response(in, src, status, reason, NULL, extra, &len)
	                : sip_send_response(s->fd, in, src, status, reason, NULL, extra, &len, NULL);

	if (!r)
		return;
	if (s->st)
		sub_send(s, r, len, src);
	if (keep) {
		free(s->notify_resp);
		s->notify_resp = r;
		s->notify_resp_len = len;
	} else {
		free(r);
	}
}

/* The event package of an Event header value, without parameters, equals ours. */
static bool same_event(const char *value, const char *ours)
{
	size_t a = strcspn(value, "; \t"), b = strcspn(ours, "; \t");

	return a == b && strncasecmp(value, ours, a) == 0;
}

static void print_notify(struct subr *s, const struct sip_in *in, const char *raw, size_t rawlen,
                         const struct ua_addr *src)
{
	static const char *const names[] = {"Event", "Subscription-State"};
	const char *eol = memchr(raw, '\r', rawlen), *hend = NULL, *body = "";
	uint64_t ms = ua_now_mono_ms() - s->start;
	char *ctype = NULL, a[80];
	size_t blen = 0;

	for (size_t i = 0; i + 4 <= rawlen; i++) {
		if (memcmp(raw + i, "\r\n\r\n", 4) == 0) {
			hend = raw + i;
			break;
		}
	}
	(void)hend;
	if (in->body) {
		body = in->body; /* as it arrived, as long as Content-Length says (sip_parse) */
		blen = in->body_len;
	}
	if (in->msg->content_type && osip_content_type_to_str(in->msg->content_type, &ctype) != 0)
		ctype = NULL;
	addr_format(src, a, sizeof(a));
	printf("=== NOTIFY %lu from %s (+%llu.%03llu s)\n", s->notifies, a, (unsigned long long)(ms / 1000),
	       (unsigned long long)(ms % 1000));
	printf("%.*s\n", eol ? (int)(eol - raw) : 0, raw);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = sip_header(in, names[i], i == 0 ? "o" : NULL);

		if (v)
			printf("%s: %s\n", names[i], v);
	}
	if (ctype)
		printf("Content-Type: %s\n", ctype);
	printf("CSeq: %u %s\n", in->cseq, in->cseq_method);
	{
		const char *req = sip_header(in, "require", NULL);

		if (req)
			printf("Require: %s\n", req);
	}
	putchar('\n');
	notify_print_body(stdout, ctype, body, blen);
	printf("=== end of NOTIFY %lu\n", s->notifies);
	fflush(stdout);
	if (ctype)
		osip_free(ctype);
}

static void on_notify(struct subr *s, const struct sip_in *in, const char *raw, size_t rawlen,
                      const struct ua_addr *src)
{
	const char *ev, *state;
	uint64_t now = ua_now_mono_ms();

	if (in->bad) {
		respond(s, in, src, 400, in->bad, NULL, false);
		return;
	}
	if (strcmp(in->call_id, s->call_id) != 0 || !in->to_tag || strcmp(in->to_tag, s->from_tag) != 0 ||
	    (s->remote_tag && (!in->from_tag || strcmp(in->from_tag, s->remote_tag) != 0)) || s->done) {
		ua_log(LOG_INFO, "a NOTIFY for a dialog that is not ours (Call-ID %s): 481", in->call_id);
		respond(s, in, src, 481, NULL, NULL, false);
		return;
	}
	if (s->have_notify_cseq && in->cseq == s->notify_cseq && in->branch && s->notify_resp &&
	    strcmp(in->branch, s->notify_branch) == 0) {
		ua_log(LOG_DEBUG, "NOTIFY CSeq %u again: the same answer", in->cseq);
		sub_send(s, s->notify_resp, s->notify_resp_len, src);
		return;
	}
	if (s->have_notify_cseq && in->cseq <= s->notify_cseq) {
		ua_log(LOG_WARN, "NOTIFY CSeq %u after %u: 500", in->cseq, s->notify_cseq);
		respond(s, in, src, 500, "CSeq Out Of Order", NULL, false);
		return;
	}
	ev = sip_header(in, "event", "o");
	if (!ev || !same_event(ev, s->event)) {
		ua_log(LOG_WARN, "NOTIFY with Event %s, we subscribed to %s: 489", ev ? ev : "(none)", s->event);
		respond(s, in, src, 489, NULL, NULL, false);
		return;
	}
	state = sip_header(in, "subscription-state", NULL);
	if (!state) {
		respond(s, in, src, 400, "Missing Subscription-State", NULL, false);
		return;
	}
	if (!s->remote_tag && in->from_tag) {
		/* a NOTIFY before the 2xx creates the dialog (RFC 6665 4.1.2.4) */
		s->remote_tag = strdup(in->from_tag);
	}
	take_remote_target(s, in->msg);
	respond(s, in, src, 200, NULL, NULL, true);
	s->have_notify_cseq = true;
	s->notify_cseq = in->cseq;
	snprintf(s->notify_branch, sizeof(s->notify_branch), "%s", in->branch ? in->branch : "");
	s->notifies++;
	print_notify(s, in, raw, rawlen, src);

	if (strncasecmp(state, "terminated", 10) == 0) {
		char *why = mime_param(state, "reason");

		event_line("subscription terminated%s%s%s", why ? " (reason=" : "", why ? why : "", why ? ")" : "");
		if (s->phase != PH_UNSUBSCRIBING)
			ua_log(LOG_INFO, "the notifier ended the subscription");
		free(why);
		finish(s, 0);
		return;
	}
	{
		char *e = mime_param(state, "expires");

		if (e) {
			unsigned long left = strtoul(e, NULL, 10);
			/* whole seconds, maybe rounded down: up to one more */
			uint64_t at = now + ((uint64_t)left + 1u) * 500u;

			/* the notifier may shorten the subscription (RFC 6665 4.1.2.3) */
			if (s->phase == PH_ACTIVE && s->refresh_at && at < s->refresh_at)
				s->refresh_at = at;
			free(e);
		}
	}
	if (s->count && s->notifies >= s->count && !s->unsub_wanted)
		start_unsubscribe(s, s->count == 1 ? "after 1 NOTIFY" : "after --count NOTIFYs");
}

static void on_datagram(struct subr *s, const char *buf, size_t len, const struct ua_addr *src)
{
	struct sip_in in;
	char err[128];
	size_t i = 0;

	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	if (i == len)
		return; /* keep-alive */
	if (ua_verbosity >= 2) {
		char a[80];

		addr_format(src, a, sizeof(a));
		ua_log(LOG_TRACE, "received %zu bytes from %s:\n%.*s", len, a, (int)len, buf);
	}
	if (sip_parse(buf, len, &in, err, sizeof(err)) < 0) {
		ua_log(LOG_DEBUG, "dropped a datagram: %s", err);
		return;
	}
	if (!in.is_request)
		on_response(s, &in);
	else if (strcmp(in.method, "NOTIFY") == 0)
		on_notify(s, &in, buf, len, src);
	else if (strcmp(in.method, "ACK") == 0)
		;
	else if (in.bad)
		respond(s, &in, src, 400, in.bad, NULL, false);
	else if (strcmp(in.method, "OPTIONS") == 0)
		respond(s, &in, src, 200, NULL, "Allow: NOTIFY, OPTIONS\r\n", false);
	else
		respond(s, &in, src, 405, NULL, "Allow: NOTIFY, OPTIONS\r\n", false);
	sip_in_free(&in);
}

static bool on_datagram_batch(void *arg, const char *buf, size_t len, const struct ua_addr *src)
{
	struct subr *s = arg;

	on_datagram(s, buf, len, src);
	return !s->done;
}

static void on_stream_message(void *arg, const char *msg, size_t len)
{
	struct subr *s = arg;

	if (!s->done)
		on_datagram(s, msg, len, &s->dst);
}

/* ---- timers and the loop --------------------------------------------------------------- */

static void run_timers(struct subr *s)
{
	uint64_t now = ua_now_mono_ms();

	if (s->tx.active && now >= s->tx.fire_at) {
		if (now >= s->tx.f_at) {
			event_line("no answer to the SUBSCRIBE (CSeq %u) within %u ms (timer F)", s->tx.cseq, 64u * s->t1);
			ua_log(LOG_ERR, "the notifier at %s did not answer",
			       s->remote_target ? s->remote_target : s->target);
			finish(s, 1);
			return;
		}
		ua_log(LOG_DEBUG, "SUBSCRIBE CSeq %u: retransmission", s->tx.cseq);
		sub_send(s, s->tx.data, s->tx.len, &s->dst);
		if (!s->tx.proceeding)
			s->tx.interval = s->tx.interval * 2 < UA_T2_MS ? s->tx.interval * 2 : UA_T2_MS;
		s->tx.fire_at = now + s->tx.interval;
		if (s->tx.fire_at > s->tx.f_at)
			s->tx.fire_at = s->tx.f_at;
	}
	if (s->deadline && now >= s->deadline) {
		s->deadline = 0;
		start_unsubscribe(s, "end of --duration");
	}
	if (s->unsub_wanted && !s->tx.active && s->phase == PH_ACTIVE)
		start_unsubscribe(s, s->unsub_why);
	if (s->phase == PH_ACTIVE && !s->tx.active && s->refresh_at && now >= s->refresh_at) {
		s->refresh_at = 0;
		event_line("refreshing: SUBSCRIBE with Expires: %u", s->expires);
		send_subscribe(s, s->expires);
	}
	if (s->final_wait_until && now >= s->final_wait_until && !s->done) {
		event_line("no final NOTIFY within %u ms", 64u * s->t1);
		ua_log(LOG_ERR, "the subscription ended without its final NOTIFY");
		finish(s, 1);
	}
}

static int poll_timeout(const struct subr *s)
{
	uint64_t now = ua_now_mono_ms(), next = now + 1000; /* signals are looked at every second anyway */
	const uint64_t t[] = {s->tx.active ? s->tx.fire_at : 0, s->phase == PH_ACTIVE ? s->refresh_at : 0, s->deadline,
	                      s->final_wait_until};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i] && t[i] < next)
			next = t[i];
	}
	return next <= now ? 0 : (int)(next - now);
}

/* ---- command line and socket ---------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: sippres-mini-ua subscribe URI [--event presence|dialog] [--accept TYPE]... [--eventlist]\n"
	        "                      [--expires N] [--from URI] [--listen ADDR:PORT] [--count N] [--duration S]\n"
	        "                      [--t1 MS] [--transport udp|tcp|tls] [--ca FILE] [-v|--verbose]...\n"
	        "  URI                  the resource: sip:1000@127.0.0.1:5070\n"
	        "  --event NAME         event package (default presence)\n"
	        "  --accept TYPE        an Accept value, repeatable (default: none, the notifier's default)\n"
	        "  --eventlist          Supported: eventlist, for a resource list (RFC 4662); adds multipart/related\n"
	        "                       and application/rlmi+xml to the Accept values given\n"
	        "  --expires N          asked expiry in seconds (default 600; 0: fetch the state once)\n"
	        "  --from URI           our identity; its user is the notifier's endpoint (default\n"
	        "                       sip:subscriber@<local address>)\n"
	        "  --listen ADDR:PORT   local UDP address (default: the address that reaches URI, any port)\n"
	        "  --count N            unsubscribe after N NOTIFYs\n"
	        "  --duration S         unsubscribe after S seconds (decimals allowed)\n"
	        "  --t1 MS              SIP timer T1 for retransmissions (default 500)\n"
	        "  --transport tcp|tls  one TCP or TLS connection to the notifier instead of UDP (default udp)\n"
	        "  --ca FILE            tls: check the notifier's certificate against these CAs (PEM) and the\n"
	        "                       URI's host (default: no check)\n"
	        "  -v, --verbose        more logs on standard error (twice: every SIP message)\n"
	        "Prints every NOTIFY on standard output; refreshes at half the granted expiry;\n"
	        "SIGINT/SIGTERM unsubscribe (a second one exits at once). Exit status 0 after the\n"
	        "final NOTIFY, 1 when the SUBSCRIBE fails or times out, 2 for a bad command line.\n");
}

static bool has_accept(const struct subr *s, const char *type)
{
	for (size_t i = 0; i < s->n_accept; i++) {
		if (strncasecmp(s->accept[i], type, strlen(type)) == 0)
			return true;
	}
	return false;
}

static int parse_args(struct subr *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{"event", required_argument, NULL, 'E'},  {"accept", required_argument, NULL, 'a'},
		{"eventlist", no_argument, NULL, 'L'},    {"expires", required_argument, NULL, 'x'},
		{"from", required_argument, NULL, 'f'},   {"listen", required_argument, NULL, 'l'},
		{"count", required_argument, NULL, 'c'},  {"duration", required_argument, NULL, 'd'},
		{"t1", required_argument, NULL, 't'},     {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},         {"transport", required_argument, NULL, 'T'},
		{"ca", required_argument, NULL, 'C'},     {NULL, 0, NULL, 0},
	};
	const char *from = NULL, *listen = NULL;
	int o;

	s->event = "presence";
	s->expires = 600;
	s->t1 = 500;
	optind = 1;
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		char *end = NULL;

		switch (o) {
		case 'E': s->event = optarg; break;
		case 'a':
			if (s->n_accept >= MAX_ACCEPT) {
				fprintf(stderr, "--accept: at most %d values\n", MAX_ACCEPT);
				return 2;
			}
			s->accept[s->n_accept++] = optarg;
			break;
		case 'L': s->eventlist = true; break;
		case 'x': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (!*optarg || *end || optarg[0] == '-' || v > UINT32_MAX) {
				fprintf(stderr, "--expires: seconds from 0 to 4294967295\n");
				return 2;
			}
			s->expires = (uint32_t)v;
			break;
		}
		case 'f': from = optarg; break;
		case 'l': listen = optarg; break;
		case 'c':
			s->count = strtoul(optarg, &end, 10);
			if (!*optarg || *end || optarg[0] == '-' || s->count == 0) {
				fprintf(stderr, "--count: a number of NOTIFYs, at least 1\n");
				return 2;
			}
			break;
		case 'd': {
			double d = strtod(optarg, &end);

			if (!*optarg || *end || !(d > 0) || d > 86400.0 * 365) {
				fprintf(stderr, "--duration: seconds, more than 0\n");
				return 2;
			}
			s->duration_ms = (uint64_t)(d * 1000.0 + 0.5);
			if (s->duration_ms == 0)
				s->duration_ms = 1;
			break;
		}
		case 't': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (!*optarg || *end || v < 1 || v > 60000) {
				fprintf(stderr, "--t1: milliseconds from 1 to 60000\n");
				return 2;
			}
			s->t1 = (uint32_t)v;
			break;
		}
		case 'T':
			if (!strcasecmp(optarg, "udp")) {
				s->proto = UA_PROTO_UDP;
			} else if (!strcasecmp(optarg, "tcp")) {
				s->proto = UA_PROTO_TCP;
			} else if (!strcasecmp(optarg, "tls")) {
				s->proto = UA_PROTO_TLS;
			} else {
				fprintf(stderr, "--transport: udp, tcp or tls\n");
				return 2;
			}
			break;
		case 'C': s->ca = optarg; break;
		case 'v': ua_verbosity++; break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	s->target = argv[optind];
	if (!s->event[0] || strpbrk(s->event, " \t\r\n")) {
		fprintf(stderr, "--event: a package name such as presence or dialog\n");
		return 2;
	}
	if (s->ca && s->proto != UA_PROTO_TLS) {
		fprintf(stderr, "--ca: only with --transport tls\n");
		return 2;
	}
	if (s->eventlist && s->n_accept > 0) {
		/* RFC 4662 5.2: a list subscriber accepts these two */
		if (!has_accept(s, "multipart/related"))
			s->accept[s->n_accept++] = "multipart/related";
		if (!has_accept(s, "application/rlmi+xml"))
			s->accept[s->n_accept++] = "application/rlmi+xml";
	}
	s->from_opt = from;
	s->listen_opt = listen;
	return 0;
}

/* The local address the kernel picks to reach dst, with the given port. */
static int routed_addr(const struct ua_addr *dst, unsigned port, struct ua_addr *out)
{
	int fd = socket(dst->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	*out = *dst;
	out->len = sizeof(out->ss);
	if (connect(fd, (const struct sockaddr *)&dst->ss, dst->len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&out->ss, &out->len) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	if (out->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&out->ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)&out->ss)->sin_port = htons((uint16_t)port);
	return 0;
}

/* Socket, addresses, identities and the Call-ID. */
static int setup(struct subr *s)
{
	const char *from = s->from_opt, *listen = s->listen_opt;
	osip_uri_t *u = NULL;
	int fd, one = 1;
	char *user = NULL;

	if (osip_uri_init(&u) != 0)
		return 1;
	if (osip_uri_parse(u, s->target) != 0 || !u->scheme || (strcasecmp(u->scheme, "sip") != 0 &&
	                                                          strcasecmp(u->scheme, "sips") != 0) ||
	    !u->host || !u->host[0]) {
		osip_uri_free(u);
		fprintf(stderr, "%s: expected a SIP URI such as sip:1000@127.0.0.1:5070\n", s->target);
		return 2;
	}
	s->host = strdup(u->host);
	osip_uri_free(u);
	if (!s->host)
		return 1;
	if (addr_resolve_uri(s->target, AF_INET, &s->dst) < 0 && addr_resolve_uri(s->target, AF_INET6, &s->dst) < 0) {
		ua_log(LOG_ERR, "%s: cannot find the address to send to", s->target);
		return 1;
	}
	if (listen) {
		if (addr_parse_listen(listen, &s->local) < 0) {
			fprintf(stderr, "--listen %s: expected IPv4:PORT or [IPv6]:PORT\n", listen);
			return 2;
		}
		if (s->local.ss.ss_family != s->dst.ss.ss_family) {
			fprintf(stderr, "--listen %s: not of the address family of %s\n", listen, s->target);
			return 2;
		}
	} else if (routed_addr(&s->dst, 0, &s->local) < 0) {
		ua_log(LOG_ERR, "no route to %s: %s", s->target, strerror(errno));
		return 1;
	}
	fd = socket(s->local.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ua_log(LOG_ERR, "socket: %s", strerror(errno));
		return 1;
	}
	if (s->local.ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&s->local.ss, s->local.len) < 0) {
		char a[80];

		addr_format(&s->local, a, sizeof(a));
		ua_log(LOG_ERR, "bind %s: %s", a, strerror(errno));
		close(fd);
		return 1;
	}
	s->fd = fd;
	s->local.len = sizeof(s->local.ss);
	getsockname(fd, (struct sockaddr *)&s->local.ss, &s->local.len);
	if (addr_is_wildcard(&s->local)) {
		/* Via and Contact need the address that reaches the target */
		struct ua_addr a;

		if (routed_addr(&s->dst, addr_port(&s->local), &a) < 0) {
			ua_log(LOG_ERR, "no route to %s: %s", s->target, strerror(errno));
			return 1;
		}
		addr_format(&a, s->local_str, sizeof(s->local_str));
	} else {
		addr_format(&s->local, s->local_str, sizeof(s->local_str));
	}
	if (s->proto != UA_PROTO_UDP) {
		/* the connection's end is our address in Via and Contact */
		struct ua_addr l;

		s->st = sub_stream_open(&s->dst, s->proto, s->ca, s->host, &l);
		if (!s->st)
			return 1;
		addr_format(&l, s->local_str, sizeof(s->local_str));
	}
	if (from) {
		s->from_uri = strdup(from);
		user = sip_uri_user(from);
		if (!s->from_uri || osip_uri_init(&u) != 0) {
			free(user);
			return 1;
		}
		if (osip_uri_parse(u, from) != 0 || !u->host || !u->host[0]) {
			osip_uri_free(u);
			free(user);
			fprintf(stderr, "--from %s: expected a SIP URI such as sip:alice@127.0.0.1\n", from);
			return 2;
		}
		osip_uri_free(u);
	} else {
		size_t n = strlen(s->local_str) + 32;

		s->from_uri = malloc(n);
		if (!s->from_uri)
			return 1;
		snprintf(s->from_uri, n, "sip:subscriber@%s", s->local_str);
		user = strdup("subscriber");
	}
	{
		size_t n = strlen(s->local_str) + (user ? strlen(user) : 0) + 8;

		s->contact = malloc(n);
		if (!s->contact) {
			free(user);
			return 1;
		}
		snprintf(s->contact, n, "sip:%s%s%s", user ? user : "", user ? "@" : "", s->local_str);
		free(user);
	}
	s->to_uri = strdup(s->target);
	if (!s->to_uri)
		return 1;
	ua_random_token(s->call_id, 24);
	ua_random_token(s->from_tag, 16);
	return 0;
}

static void cleanup(struct subr *s)
{
	if (s->fd >= 0)
		close(s->fd);
	sub_stream_close(s->st);
	free(s->host);
	tx_stop(s);
	free(s->from_uri);
	free(s->to_uri);
	free(s->contact);
	free(s->remote_tag);
	free(s->remote_target);
	free(s->notify_resp);
}

int subscriber_main(int argc, char **argv)
{
	struct subr s;
	struct sigaction sa;
	int handled_signals = 0;
	int r;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	r = parse_args(&s, argc, argv);
	if (r != 0)
		return r < 0 ? 0 : r;
	sipmsg_init();
	r = setup(&s);
	if (r != 0) {
		cleanup(&s);
		return r;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	s.start = ua_now_mono_ms();
	if (s.duration_ms)
		s.deadline = s.start + s.duration_ms;
	ua_log(LOG_INFO, "subscribing from %s %s to %s (Event: %s, From: %s)", proto_name(s.proto), s.local_str,
	       s.target, s.event, s.from_uri);
	event_line("SUBSCRIBE %s Event: %s, Expires: %u, from %s", s.target, s.event, s.expires, s.local_str);
	send_subscribe(&s, s.expires);

	while (!s.done) {
		struct pollfd p = {.fd = s.st ? sub_stream_fd(s.st) : s.fd, .events = POLLIN};
		int n;

		if (signals_seen > handled_signals) {
			handled_signals = (int)signals_seen;
			if (handled_signals >= 2) {
				ua_log(LOG_WARN, "second signal: leaving without the final NOTIFY");
				finish(&s, 1);
				break;
			}
			start_unsubscribe(&s, "signal");
		}
		run_timers(&s);
		if (s.done)
			break;
		n = poll(&p, 1, poll_timeout(&s));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ua_log(LOG_ERR, "poll: %s", strerror(errno));
			finish(&s, 1);
			break;
		}
		if (s.st && (p.revents & (POLLIN | POLLHUP | POLLERR)) && sub_stream_read(s.st, on_stream_message, &s) < 0 &&
		    !s.done) {
			event_line("the notifier closed the %s connection", proto_name(s.proto));
			finish(&s, 1);
		} else if (!s.st && (p.revents & POLLIN)) {
			ua_recv_batch(s.fd, 64, on_datagram_batch, &s);
		}
	}
	ua_log(LOG_INFO, "%lu NOTIFY(s) received; exit status %d", s.notifies, s.rc);
	cleanup(&s);
	return s.rc;
}
