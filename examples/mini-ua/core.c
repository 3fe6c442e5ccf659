/* SPDX-License-Identifier: MIT */
/* The notifier: library callbacks, SIP request/response handling, NOTIFY
 * transactions, control commands. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <osipparser2/osip_port.h>

#include "core.h"
#include "auth.h"
#include "cli-show.h"
#include "transport.h"

#define UA_ALLOW "OPTIONS, SUBSCRIBE, NOTIFY, PUBLISH"
#define UA_ALLOW_EVENTS "presence, dialog"
#define UA_USER_AGENT "sippres-mini-ua"
#define UA_RETRY_AFTER "60" /* seconds, in the 503 of a subscription limit */

/* ---- a set of strings (endpoint names) ------------------------------------------ */

static size_t slot_of(const struct strset *s, const char *v)
{
	size_t i = (size_t)ua_fnv64(v, strlen(v)) & (s->cap - 1);

	while (s->slots[i] && strcmp(s->slots[i], v) != 0)
		i = (i + 1) & (s->cap - 1);
	return i;
}

int strset_add(struct strset *s, const char *v)
{
	size_t i;

	if ((s->count + 1) * 2 > s->cap) {
		struct strset n = {.cap = s->cap ? s->cap * 2 : 64};

		n.slots = calloc(n.cap, sizeof(*n.slots));
		if (!n.slots)
			return -1;
		for (size_t k = 0; k < s->cap; k++) {
			if (s->slots[k])
				n.slots[slot_of(&n, s->slots[k])] = s->slots[k];
		}
		n.count = s->count;
		free(s->slots);
		*s = n;
	}
	i = slot_of(s, v);
	if (s->slots[i])
		return 0;
	s->slots[i] = strdup(v);
	if (!s->slots[i])
		return -1;
	s->count++;
	return 0;
}

bool strset_has(const struct strset *s, const char *v)
{
	return s->cap && s->slots[slot_of(s, v)] != NULL;
}

void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

/* ---- transport ------------------------------------------------------------------- */

void ua_send(struct ua *ua, const char *data, size_t len, const struct ua_addr *dst)
{
	if (stream_reply(ua, dst, data, len) || ua_sendto(ua->fd, data, len, dst) == 0)
		ua->tx++;
}

/* Up to 64 datagrams in one system call each time; a failure skips the datagram it failed on (a full queue,
 * an unreachable address), as sendto would have. */
static void send_mmsg(struct ua *ua, struct mmsghdr *msgs, unsigned n)
{
	for (unsigned off = 0; off < n;) {
		int sent = sendmmsg(ua->fd, msgs + off, n - off, 0);

		if (sent < 0) {
			if (errno == EINTR)
				continue;
			ua_log(LOG_WARN, "sendmmsg: %s", strerror(errno));
			off++;
			continue;
		}
		ua->tx += (unsigned)sent;
		off += (unsigned)sent;
	}
}

static void mmsg_set(struct mmsghdr *m, struct iovec *iov, char *data, size_t len, struct ua_addr *dst)
{
	iov->iov_base = data;
	iov->iov_len = len;
	memset(m, 0, sizeof(*m));
	m->msg_hdr.msg_name = &dst->ss;
	m->msg_hdr.msg_namelen = dst->len;
	m->msg_hdr.msg_iov = iov;
	m->msg_hdr.msg_iovlen = 1;
}

/* Keep a response for rsp_flush (takes data). false: no room (the caller sends it now). */
static bool rsp_queue(struct ua *ua, char *data, size_t len, const struct ua_addr *dst)
{
	if (!ua_grow(&ua->rspq, &ua->rspq_cap, ua->rspq_len, sizeof(*ua->rspq), 64))
		return false;
	ua->rspq[ua->rspq_len++] = (struct rsp_out){.data = data, .len = len, .dst = *dst};
	return true;
}

/* The queued responses, 64 per sendmmsg. */
static void rsp_flush(struct ua *ua)
{
	struct mmsghdr msgs[64];
	struct iovec iov[64];

	for (size_t i = 0; i < ua->rspq_len;) {
		unsigned n = 0;

		for (; i < ua->rspq_len && n < 64; i++, n++)
			mmsg_set(&msgs[n], &iov[n], ua->rspq[i].data, ua->rspq[i].len, &ua->rspq[i].dst);
		send_mmsg(ua, msgs, n);
	}
	for (size_t i = 0; i < ua->rspq_len; i++)
		free(ua->rspq[i].data);
	ua->rspq_len = 0;
}

/* A NOTIFY or PUBLISH transaction's message: on its connection, else over UDP. */
static void send_ntx(struct ua *ua, const struct ntx *x)
{
	if (!x->conn_id)
		ua_send(ua, x->data, x->len, &x->dst);
	else if (stream_send_id(ua, x->conn_id, x->data, x->len))
		ua->tx++;
}

/* host:port we are reachable at from dst (the bound address, or for a
 * wildcard bind the source address the kernel picks for dst). */
void ua_local_for(struct ua *ua, const struct ua_addr *dst, char *out, size_t len)
{
	struct ua_addr a;
	int fd;

	if (!addr_is_wildcard(&ua->local)) {
		size_t n = strnlen(ua->local_str, len - 1);

		memcpy(out, ua->local_str, n);
		out[n] = '\0';
		return;
	}
	a = ua->local;
	fd = socket(dst->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		a.len = sizeof(a.ss);
		if (connect(fd, (const struct sockaddr *)&dst->ss, dst->len) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a.ss, &a.len) < 0)
			a = ua->local;
		close(fd);
	}
	if (a.ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a.ss)->sin6_port = ((struct sockaddr_in6 *)&ua->local.ss)->sin6_port;
	else
		((struct sockaddr_in *)&a.ss)->sin_port = ((struct sockaddr_in *)&ua->local.ss)->sin_port;
	addr_format(&a, out, len);
}

/* ---- library callbacks -------------------------------------------------------------- */

void ua_log_sippres(int level, const char *what, const char *msg)
{
	ua_log(level == SIPPRES_LOG_ERROR ? LOG_ERR : level == SIPPRES_LOG_WARNING ? LOG_WARN
	                                           : level == SIPPRES_LOG_INFO    ? LOG_INFO
	                                                                          : LOG_DEBUG,
	       "%s: %s", what, msg);
}

static void cb_log(void *user_data, int level, const char *msg)
{
	(void)user_data;
	ua_log_sippres(level, "lib", msg);
}

static int cb_random(void *user_data, uint8_t *buf, size_t len)
{
	(void)user_data;
	return ua_random(buf, len) < 0 ? -1 : 0;
}

/* Where a subscription's NOTIFYs go: its Contact's numeric address, or the SUBSCRIBE's source (policy
 * source, or a Contact with a host name: no DNS in the loop). -1: nowhere. */
static int notify_target(struct ua *ua, struct ua_sub *us, const char *contact, struct ua_addr *dst)
{
	int r;

	if (us && us->src.len && ua->notify_contact == UA_CONTACT_SOURCE) {
		*dst = us->src;
		return 0;
	}
	if (us && us->contact && strcmp(us->contact, contact) == 0) {
		/* the Contact resolved for its last NOTIFY */
		r = us->contact_r;
		*dst = us->contact_dst;
	} else {
		r = addr_from_uri(contact, ua->local.ss.ss_family, dst);
		if (us) {
			char *c = strdup(contact);

			if (c) {
				free(us->contact);
				us->contact = c;
				us->contact_r = r;
				us->contact_dst = *dst;
			}
		}
	}
	if (r == -2 && us && us->src.len) {
		*dst = us->src;
		return 0;
	}
	return r < 0 ? -1 : 0;
}

static void report(struct ua *ua, const char *call_id, const char *local_tag, uint32_t cseq, int status);

/* The window is full: what is queued now waits for answers. */
static bool window_full(const struct ua *ua)
{
	return ua->inflight + (ua->outq_len - ua->outq_head) >= UA_INFLIGHT_MAX;
}

/* Room for one more entry in the send queue; false: out of memory. */
static bool outq_room(struct ua *ua)
{
	return ua_grow(&ua->outq, &ua->outq_cap, ua->outq_len, sizeof(*ua->outq), 64);
}

/* A record to the end of the waiting queue; -1: out of memory. */
static int pend_push(struct ua *ua, struct ntx_pend *p)
{
	if (!ua_grow(&ua->pendq, &ua->pendq_cap, ua->pendq_len, sizeof(*ua->pendq), 256))
		return -1;
	ua->pendq[ua->pendq_len++] = p;
	return 0;
}

/* A NOTIFY transaction into the send queue (ua_flush sends it). When the window is full, or NOTIFYs wait
 * already, it waits behind them (held: no retransmission timer until it goes out). */
static int outq_add(struct ua *ua, struct ntx *x, uint64_t now)
{
	if (!x->unproven && (ua->pendq_head < ua->pendq_len || window_full(ua))) {
		struct ntx_pend *p = ntx_pend_ready(x, now);

		if (p && pend_push(ua, p) == 0) {
			ntx_hold(&ua->ntx, x);
			return 0;
		}
		free(p);
		x->queued = false;
	}
	if (!outq_room(ua)) {
		send_ntx(ua, x); /* cannot defer: send now */
		return 0;
	}
	x->queued = true;
	if (!x->unproven && window_full(ua))
		ntx_hold(&ua->ntx, x); /* waits for room: no retransmission timer until it goes out */
	ua->outq[ua->outq_len++] = x;
	return 0;
}

static int cb_notify(void *user_data, struct sippres_sub *sub, const struct sippres_notify *n)
{
	struct ua *ua = user_data;
	struct ua_sub *us = sippres_sub_get_user_data(sub);
	struct notify_route rt;
	struct notify_out o;
	struct ua_addr dst;
	char branch[32], via[80];
	struct sbuf contact;
	char *user, *data, *block;
	size_t len = 0;
	uint64_t now = ua_now_mono_ms();

	if (n->terminated)
		store_forget(ua, n->call_id, n->local_tag); /* the subscription ends with this NOTIFY */
	if (us && !us->proven) {
		/* its Contact is another address than its source: nothing goes there before the subscriber proves
		 * it got our 200 (docs/security.md, "Reflection"); the refresh that proves it brings full state */
		ua->held++;
		ua_log(LOG_DEBUG, "NOTIFY %s cseq %u not sent: Contact %s is not the source, not proven yet", n->call_id,
		       n->cseq, n->contact);
		return 0;
	}
	if (notify_target(ua, us, n->contact, &dst) < 0) {
		ua_log(LOG_WARN, "NOTIFY for %s: cannot send to Contact %s", n->call_id, n->contact);
		return -1;
	}
	if (stream_route(ua, sub, n->contact, &dst, &rt) < 0)
		return -1;
	memcpy(branch, "z9hG4bK", 7);
	ua_random_token(branch + 7, 20);
	if (rt.proto)
		snprintf(via, sizeof(via), "%s", rt.local);
	else
		ua_local_for(ua, &dst, via, sizeof(via));
	user = sip_uri_user(n->local_uri);
	sbuf_init(&contact);
	sbuf_add(&contact, "sip:", 4);
	if (user && user[0]) {
		sip_user_escape(&contact, user);
		sbuf_add(&contact, "@", 1);
	}
	sbuf_add(&contact, via, strlen(via));
	free(user);
	if (contact.oom) {
		sbuf_free(&contact);
		return -1;
	}
	o = (struct notify_out){
		.ruri = n->contact, .via_sent_by = via, .branch = branch, .contact = contact.s,
		.from_uri = n->local_uri, .from_tag = n->local_tag, .to_uri = n->remote_uri, .to_tag = n->remote_tag,
		.call_id = n->call_id, .cseq = n->cseq, .event = n->event, .subscription_state = n->subscription_state,
		.content_type = n->content_type, .body = n->body, .body_len = n->body_len,
		.require_eventlist = n->require_eventlist != 0, .allow_events = UA_ALLOW_EVENTS, .user_agent = UA_USER_AGENT,
	};
	if (!rt.proto && (ua->pendq_head < ua->pendq_len || window_full(ua)) && limits_proven(&ua->limits, &dst, now) &&
	    sip_notify_plain(&o)) {
		/* no room: it waits as a record (what its dialog has of its own; the rest shared with the other
		 * NOTIFYs of this change) and becomes a transaction only when it goes out (ua_flush) */
		struct ntx_pend *p = ntx_pend_new(&ua->ntx, &o, &dst, now);

		sbuf_free(&contact);
		if (!p || pend_push(ua, p) < 0) {
			ntx_pend_free(&ua->ntx, p);
			ua_log(LOG_ERR, "out of memory: NOTIFY %s cseq %u not sent", n->call_id, n->cseq);
			return -1;
		}
		return 0;
	}
	/* over UDP the transaction and its message in one allocation; over a stream the message is patched */
	block = rt.proto ? NULL : sip_build_notify_at(&o, ntx_head(n->call_id, n->local_tag), &len);
	data = block ? NULL : sip_build_notify(&o, &len);
	sbuf_free(&contact);
	if (data && rt.proto && !stream_patch_message(&data, &len, rt.proto)) {
		free(data);
		data = NULL;
	}
	if (!data && !block) {
		ua_log(LOG_ERR, "cannot build the NOTIFY for %s (Contact %s)", n->call_id, n->contact);
		return -1;
	}
	ua_log(LOG_DEBUG, "NOTIFY %s cseq %u %s (%s, %zu body bytes)", n->call_id, n->cseq, n->subscription_state,
	       n->content_type ? n->content_type : "no body", n->body_len);
	{
		struct ntx *x = block ? ntx_add_at(&ua->ntx, block, branch, n->call_id, n->local_tag, n->cseq, len, &dst, now)
		                      : ntx_add(&ua->ntx, branch, n->call_id, n->local_tag, n->cseq, data, len, &dst, now);

		if (!x) {
			ua_log(LOG_ERR, "out of memory: NOTIFY %s cseq %u not sent", n->call_id, n->cseq);
			return -1;
		}
		if (rt.conn_id) {
			x->conn_id = rt.conn_id; /* a live connection: proven, reliable */
			ntx_reliable(&ua->ntx, x);
		} else if (!limits_proven(&ua->limits, &dst, now)) {
			/* an address that never answered: a short schedule, and only a few in flight at once */
			if (limits_unproven_send(&ua->limits, &dst, now)) {
				ntx_short(&ua->ntx, x);
			} else {
				ntx_hold(&ua->ntx, x);
				ua->held++;
				return 0;
			}
		}
		return outq_add(ua, x, now);
	}
}

/* ---- fairness: a burst of sends reads the socket as it goes --------------------------------- */

struct inbox_item {
	struct ua_addr src;
	size_t len;
	char data[];
};

/* One datagram into the inbox (ua_recv_batch's callback); false: no more room. */
static bool inbox_add(void *arg, const char *buf, size_t len, const struct ua_addr *src)
{
	struct ua *ua = arg;
	struct inbox_item *it;

	if (!ua_grow(&ua->inbox, &ua->inbox_cap, ua->inbox_len, sizeof(*ua->inbox), 256))
		return false;
	it = malloc(sizeof(*it) + len);
	if (!it)
		return false;
	it->src = *src;
	it->len = len;
	memcpy(it->data, buf, len);
	ua->inbox[ua->inbox_len++] = it;
	ua->inbox_bytes += len;
	ua->early_reads++;
	return ua->inbox_bytes < UA_INBOX_MAX_BYTES;
}

/* What waits on the socket, read into memory (not handled: a NOTIFY burst is being sent), so that the 200s of
 * the first NOTIFYs do not overflow the socket's buffer while the last ones go out: up to 256 datagrams, 32
 * per recvmmsg. */
static void inbox_fill(struct ua *ua)
{
	if (ua->fd < 0 || ua->inbox_bytes >= UA_INBOX_MAX_BYTES)
		return;
	ua_recv_batch(ua->fd, 256, inbox_add, ua);
}

/* Handle what inbox_fill() read, in order (their handling may send and read more). */
static void inbox_run(struct ua *ua)
{
	if (ua->inbox_running)
		return;
	ua->inbox_running = true;
	while (ua->inbox_head < ua->inbox_len) {
		bool outer = ua->in_batch;

		/* as a batch: their responses and NOTIFYs go out together after it (and the flush may read more) */
		ua->in_batch = true;
		while (ua->inbox_head < ua->inbox_len) {
			struct inbox_item *it = ua->inbox[ua->inbox_head++];

			ua->inbox_bytes -= it->len;
			ua_on_datagram(ua, it->data, it->len, &it->src);
			free(it);
		}
		ua->in_batch = outer;
		if (!outer)
			ua_flush(ua);
	}
	ua->inbox_head = ua->inbox_len = 0;
	ua->inbox_running = false;
}

/* The queue's entries from i on wait for answers to the ones in flight: the
 * next flush starts at i (moved to the front only once half the queue is
 * behind it, so that a long wait costs no scan per flush). */
static void keep_unsent(struct ua *ua, size_t i)
{
	if (i >= ua->outq_len) {
		ua->outq_len = ua->outq_head = 0;
		return;
	}
	if (i > ua->outq_len / 2) {
		memmove(ua->outq, ua->outq + i, (ua->outq_len - i) * sizeof(*ua->outq));
		ua->outq_len -= i;
		i = 0;
	}
	ua->outq_head = i;
}

/* Timers E and F of a NOTIFY from its real first transmission, now: a held one (it waited for room) starts
 * its schedule, over a connection only timer F (RFC 3261 17.1.2.1). */
static void ntx_start(struct ua *ua, struct ntx *x, uint64_t now)
{
	if (!x->held) {
		ntx_sent(&ua->ntx, x, now);
		return;
	}
	ntx_release(&ua->ntx, x, now);
	if (x->conn_id)
		ntx_reliable(&ua->ntx, x);
}

/* The waiting queue's entries from its head on moved to the front once half of it is behind. */
static void pend_compact(struct ua *ua)
{
	if (ua->pendq_head >= ua->pendq_len) {
		ua->pendq_head = ua->pendq_len = 0;
	} else if (ua->pendq_head > ua->pendq_len / 2) {
		memmove(ua->pendq, ua->pendq + ua->pendq_head, (ua->pendq_len - ua->pendq_head) * sizeof(*ua->pendq));
		ua->pendq_len -= ua->pendq_head;
		ua->pendq_head = 0;
	}
}

/* NOTIFYs that waited for room become transactions while the window has room, at most max now, just before
 * they are sent: appended to the send queue (whose entries from i on are not sent yet). A record's message
 * is written into the block of a transaction that ended (the pool), still in the cache. */
static void pend_refill(struct ua *ua, size_t i, unsigned max, uint64_t now)
{
	while (max && ua->pendq_head < ua->pendq_len && ua->inflight + (ua->outq_len - i) < UA_INFLIGHT_MAX) {
		struct ntx_pend *p = ua->pendq[ua->pendq_head];
		struct ntx *x = p->ready;

		if (!outq_room(ua))
			break;
		if (p->chg) {
			char branch[32];

			memcpy(branch, "z9hG4bK", 7);
			ua_random_token(branch + 7, 20);
			x = ntx_pend_send(&ua->ntx, p, branch, now); /* p freed */
			if (!x)
				break; /* out of memory: it waits (its timer F ends it) */
		} else {
			free(p); /* a record of one built already (NULL: it ended while it waited) */
		}
		ua->pendq_head++;
		if (x) { /* the ones that ended while they waited do not count against max */
			x->queued = true;
			ua->outq[ua->outq_len++] = x;
			max--;
		}
	}
	pend_compact(ua);
}

/* Records that waited longer than timer F (64*T1) end as unanswered NOTIFYs (408); a built one has its own
 * timer F. */
static void pend_expire(struct ua *ua, uint64_t now)
{
	while (ua->pendq_head < ua->pendq_len) {
		struct ntx_pend *p = ua->pendq[ua->pendq_head];

		if (p->ready || p->at + 64u * ua->ntx.t1 > now)
			break;
		ua->pendq_head++;
		if (p->chg) {
			ua_log(LOG_DEBUG, "NOTIFY %s cseq %u: waited for room past timer F", p->call_id, p->cseq);
			report(ua, p->call_id, p->local_tag, p->cseq, 408);
		}
		ntx_pend_free(&ua->ntx, p);
	}
	pend_compact(ua);
}

void ua_flush(struct ua *ua)
{
	struct mmsghdr msgs[64];
	struct iovec iov[64];
	struct ua_addr dsts[64];
	size_t i = ua->outq_head;
	uint64_t now = 0;

	store_sync(ua); /* the records these NOTIFYs describe are on disk before they go out */
	cluster_flush(ua); /* and in Redis's hands */
	rsp_flush(ua); /* the responses first: a 200 before its subscription's first NOTIFY */
	if (ua_verbosity >= 2) {
		/* one by one, each logged */
		for (;; i++) {
			struct ntx *x;

			if (i >= ua->outq_len)
				pend_refill(ua, i, 64, ua_now_mono_ms());
			if (i >= ua->outq_len || ua->inflight >= UA_INFLIGHT_MAX)
				break;
			x = ua->outq[i];
			if (!x)
				continue; /* finished before it was sent */
			x->queued = false;
			x->inflight = true;
			ua->inflight++;
			ntx_start(ua, x, ua_now_mono_ms());
			send_ntx(ua, x);
			if ((i & 63) == 63 && ua->inflight < UA_INFLIGHT_MAX)
				inbox_fill(ua);
		}
		keep_unsent(ua, i);
		inbox_run(ua);
		return;
	}
	/* a fan-out queues one NOTIFY per subscriber: up to 64 per system call */
	for (;;) {
		unsigned n = 0;

		if (i >= ua->outq_len && ua->pendq_head < ua->pendq_len) {
			if (!now)
				now = ua_now_mono_ms();
			pend_refill(ua, i, 64, now);
		}
		if (i >= ua->outq_len || ua->inflight >= UA_INFLIGHT_MAX)
			break;

		for (; i < ua->outq_len && n < 64 && ua->inflight < UA_INFLIGHT_MAX; i++) {
			struct ntx *x = ua->outq[i];

			if (!x)
				continue;
			x->queued = false;
			x->inflight = true;
			ua->inflight++;
			if (!now)
				now = ua_now_mono_ms();
			ntx_start(ua, x, now);
			if (x->conn_id) {
				send_ntx(ua, x); /* over its TCP or TLS connection, not the UDP socket */
				continue;
			}
			/* the address copied next to the headers: the kernel reads it from this hot page, not from
			 * the transaction's (one page each in a burst) */
			memcpy(&dsts[n].ss, &x->dst.ss, x->dst.len);
			dsts[n].len = x->dst.len;
			mmsg_set(&msgs[n], &iov[n], x->data, x->len, &dsts[n]);
			n++;
		}
		send_mmsg(ua, msgs, n); /* one that fails is sent again by its retransmission timer */
		/* the 200s of the first NOTIFYs are read while the rest go out (not when the
		 * rest waits for them: the loop reads them then, many per system call) */
		if (i < ua->outq_len && ua->inflight < UA_INFLIGHT_MAX)
			inbox_fill(ua);
	}
	keep_unsent(ua, i);
	inbox_run(ua);
}

/* A transaction is going away: make sure the send queue forgets it. */
static void unqueue(struct ua *ua, struct ntx *x)
{
	if (x->inflight) {
		x->inflight = false;
		ua->inflight--;
	}
	if (!x->queued)
		return;
	for (size_t i = ua->outq_head; i < ua->outq_len; i++) {
		if (ua->outq[i] == x)
			ua->outq[i] = NULL;
	}
	for (size_t i = ua->pendq_head; i < ua->pendq_len; i++) {
		if (ua->pendq[i]->ready == x) {
			ua->pendq[i]->ready = NULL;
			ua->pendq[i]->gone = true;
		}
	}
}

static void cb_persist(void *user_data, struct sippres_sub *sub, const void *record, size_t len)
{
	struct ua *ua = user_data;
	const struct ua_sub *us = sippres_sub_get_user_data(sub);

	if (!us)
		us = ua->creating;
	if (us && !us->proven)
		return; /* stored once proven: a restart would otherwise NOTIFY an address nobody vouched for */
	store_persist(ua, sub, record, len);
}

static void sub_data_free(struct ua *ua, struct sippres_sub *sub)
{
	struct ua_sub *us = sippres_sub_get_user_data(sub);

	if (!us)
		return;
	if (us->counted)
		limits_sub_remove(&ua->limits, us->src.len ? &us->src : NULL, us->endpoint);
	sippres_sub_set_user_data(sub, NULL);
	ua_sub_free(us);
}

void ua_sub_free(struct ua_sub *us)
{
	if (us)
		free(us->contact);
	free(us);
}

/* A subscription ends (always called, with or without a state directory). */
static void cb_forget(void *user_data, struct sippres_sub *sub)
{
	struct ua *ua = user_data;

	if (ua->store)
		store_forget_sub(ua, sub);
	sub_data_free(ua, sub);
}

static struct ua_sub *sub_data_new(const char *endpoint, const struct ua_addr *src, bool proven)
{
	size_t n = strlen(endpoint);
	struct ua_sub *us = calloc(1, sizeof(*us) + n + 1);

	if (!us)
		return NULL;
	memcpy(us->endpoint, endpoint, n + 1);
	if (src)
		us->src = *src;
	us->proven = proven;
	return us;
}

static int adopt_one(void *user_data, struct sippres_sub *sub)
{
	struct ua *ua = user_data;
	struct sippres_sub_info i = {.size = sizeof(i)};
	struct ua_sub *us;

	if (sippres_sub_get_user_data(sub) || sippres_sub_get_info(ua->ctx, sub, &i) < 0)
		return 0;
	us = sub_data_new(i.endpoint, NULL, true); /* stored, so it was proven */
	if (!us)
		return 0;
	us->counted = limits_sub_add(&ua->limits, NULL, i.endpoint, ua_now_mono_ms()) == 0;
	sippres_sub_set_user_data(sub, us);
	return 0;
}

void ua_adopt_restored(struct ua *ua)
{
	sippres_sub_foreach(ua->ctx, adopt_one, ua);
}

static int free_one(void *user_data, struct sippres_sub *sub)
{
	sub_data_free(user_data, sub);
	return 0;
}

int ua_set_limits(struct ua *ua, const struct limits_conf *c)
{
	limits_fini(&ua->limits);
	return limits_init(&ua->limits, c);
}

static void cb_persist_publication(void *user_data, struct sippres_publication *pub, const void *record, size_t len)
{
	store_persist_publication(user_data, pub, record, len);
}

static void cb_forget_publication(void *user_data, struct sippres_publication *pub)
{
	store_forget_publication(user_data, pub);
}

/* Whether the subscription a record key ("CALL-ID LOCAL-TAG") names may be stored: not while it is unproven
 * (as cb_persist: a node that takes it over would NOTIFY an address nobody vouched for). */
static bool record_proven(struct ua *ua, const char *key)
{
	const char *sp = strrchr(key, ' ');
	const struct ua_sub *us = NULL;
	struct sippres_sub *sub;
	char call_id[1024];

	if (!sp || (size_t)(sp - key) >= sizeof(call_id))
		return true;
	memcpy(call_id, key, (size_t)(sp - key));
	call_id[sp - key] = '\0';
	sub = sippres_sub_find(ua->ctx, call_id, sp + 1);
	if (sub)
		us = sippres_sub_get_user_data(sub);
	if (!us)
		us = ua->creating;
	return !us || us->proven;
}

static void cb_replicate(void *user_data, const struct sippres_repl_change *c)
{
	struct ua *ua = user_data;

	if (c->kind == SIPPRES_REPL_SUBSCRIPTION && !c->removed && !record_proven(ua, c->key))
		return;
	cluster_replicate(ua, c);
}

static int cb_publish(void *user_data, const char *outbound, const char *event, const char *content_type,
                      const char *body, size_t len)
{
	return outpub_body(user_data, outbound, event, content_type, body, len);
}

int ua_init(struct ua *ua, uint32_t t1, bool persist)
{
	struct sippres_config cfg = {.size = sizeof(cfg), .log_level = SIPPRES_LOG_INFO};
	struct sippres_callbacks cb = {
		.size = sizeof(cb),
		.log = cb_log,
		.random = cb_random,
		.notify = cb_notify,
		/* without a state directory the library need not build records at all */
		.persist = persist ? cb_persist : NULL,
		.forget = cb_forget, /* also the end of the UA's own data of a subscription */
		.persist_publication = persist ? cb_persist_publication : NULL,
		.forget_publication = persist ? cb_forget_publication : NULL,
		.publish = cb_publish,
		.replicate = cb_replicate, /* nothing is replicated before cluster_open() */
	};
	int r;

	memset(ua, 0, sizeof(*ua));
	ua->fd = -1;
	if (ua_verbosity > 0)
		cfg.log_level = SIPPRES_LOG_DEBUG;
	if (ntx_table_init(&ua->ntx, t1) < 0 || stx_table_init(&ua->stx, 64u * (t1 ? t1 : 500)) < 0)
		return -1;
	ua->auth = ua_auth_new();
	if (!ua->auth)
		return -1;
	{
		struct limits_conf lc;

		limits_conf_defaults(&lc);
		if (limits_init(&ua->limits, &lc) < 0)
			return -1;
	}
	r = sippres_ctx_new(&cfg, &cb, ua, &ua->ctx);
	if (r < 0) {
		ua_log(LOG_ERR, "sippres_ctx_new: %s", sippres_strerror(r));
		return -1;
	}
	return 0;
}

void ua_fini(struct ua *ua)
{
	cluster_close(ua); /* the lease runs out: another node takes the subscribers over */
	if (ua->ctx)
		sippres_sub_foreach(ua->ctx, free_one, ua);
	sippres_ctx_free(ua->ctx); /* no callback fires: stored records stay */
	ua_auth_free(ua->auth);
	streams_close(ua);
	transport_conf_free(ua->transports);
	limits_fini(&ua->limits);
	free(ua->outq);
	for (size_t i = ua->pendq_head; i < ua->pendq_len; i++)
		ntx_pend_free(&ua->ntx, ua->pendq[i]); /* before ntx_table_fini: their changes */
	free(ua->pendq);
	for (size_t i = 0; i < ua->rspq_len; i++)
		free(ua->rspq[i].data);
	free(ua->rspq);
	for (size_t i = ua->inbox_head; i < ua->inbox_len; i++)
		free(ua->inbox[i]);
	free(ua->inbox);
	ntx_table_fini(&ua->ntx);
	stx_table_fini(&ua->stx);
	strset_free(&ua->endpoints);
	strset_free(&ua->autohints);
	strset_free(&ua->lists);
	strset_free(&ua->inpubs);
	strset_free(&ua->auths);
	strset_free(&ua->identifies);
	outpub_free_list(ua->outpubs);
	outpub_free_list(ua->outpubs_ending);
	free(ua->extensions_path);
	free(ua->pjsip_path);
	store_close(ua);
	free(ua->state_dir);
	if (ua->fd >= 0)
		close(ua->fd);
	memset(ua, 0, sizeof(*ua));
	ua->fd = -1;
}

/* ---- SIP: requests ------------------------------------------------------------------- */

static void respond(struct ua *ua, const struct sip_in *in, const struct ua_addr *src, const char *key, int status,
                    const char *reason, const char *to_tag, const char *extra)
{
	size_t len = 0;
	char *data;

	store_sync(ua); /* a 200 to a SUBSCRIBE: acknowledged means stored */
	data = sip_build_response(in, src, status, reason, to_tag, extra, &len);
	if (!data) {
		ua_log(LOG_ERR, "cannot build a %d response", status);
		return;
	}
	if (key && stx_add(&ua->stx, key, data, len, ua_now_mono_ms()) < 0)
		ua_log(LOG_WARN, "out of memory: a retransmitted %s will be processed again", in->method);
	/* over UDP in a batch: sent with the batch's other responses (ua_flush); over a connection, on it */
	if (ua->in_batch && ua_verbosity < 2 && !streams_current(ua) && rsp_queue(ua, data, len, src))
		return;
	ua_send(ua, data, len, src);
	free(data);
}

/* The response a decision asks for. */
static void respond_decision(struct ua *ua, const struct sip_in *in, const struct ua_addr *src, const char *key,
                             const struct sippres_subscribe_res *res, const char *resource)
{
	struct sbuf x;
	char local[80], num[24];

	sbuf_init(&x);
	if (res->status >= 200 && res->status < 300) {
		struct conn *c = streams_current(ua);

		if (c)
			conn_local(c, local, sizeof(local));
		else
			ua_local_for(ua, src, local, sizeof(local));
		ua_utoa(num, res->expires);
		sbuf_add(&x, "Expires: ", 9);
		sbuf_add(&x, num, strlen(num));
		sbuf_add(&x, "\r\nContact: <sip:", 16);
		if (resource && resource[0]) {
			sip_user_escape(&x, resource); /* never a malformed header, whatever the Request-URI had */
			sbuf_add(&x, "@", 1);
		}
		sbuf_add(&x, local, strlen(local));
		if (c)
			sbuf_printf(&x, ";transport=%s", proto_name(conn_proto(c)));
		sbuf_add(&x, ">\r\n", 3);
	}
	if (res->min_expires)
		sbuf_printf(&x, "Min-Expires: %u\r\n", res->min_expires);
	if (res->require_eventlist)
		sbuf_printf(&x, "Require: eventlist\r\n");
	if (res->allow_events)
		sbuf_printf(&x, "Allow-Events: %s\r\n", res->allow_events);
	if (res->accept)
		sbuf_printf(&x, "Accept: %s\r\n", res->accept);
	if (x.oom) {
		sbuf_free(&x);
		respond(ua, in, src, key, 500, NULL, NULL, NULL);
		return;
	}
	respond(ua, in, src, key, (int)res->status, res->reason,
	        res->status >= 200 && res->status < 300 ? res->local_tag : NULL, x.s);
	sbuf_free(&x);
}

/* Who sent the request, and did it prove it (docs/security.md): the library identifies the endpoint
 * (type=identify, the From user, [anonymous]) and decides on the credentials; auth.c checks the digest.
 * Returns the endpoint (o->endpoint), or NULL when the request was answered (401, 403 or 500). */
static const char *authorize(struct ua *ua, const struct sip_in *in, const struct ua_addr *src, const char *key,
                             const char *from_user, const char *dialog_endpoint, struct auth_outcome *o)
{
	if (ua_auth_request(ua->ctx, ua->auth, in, src, from_user, dialog_endpoint, o) < 0) {
		respond(ua, in, src, key, 500, NULL, NULL, NULL);
		sbuf_free(&o->extra);
		return NULL;
	}
	if (o->status) {
		ua_log(LOG_DEBUG, "%s %s from %s: %d (%s)", in->method, in->call_id,
		       o->endpoint[0] ? o->endpoint : from_user ? from_user : "(no user)", o->status, o->why);
		respond(ua, in, src, key, o->status, NULL, NULL, o->extra.len ? o->extra.s : NULL);
		sbuf_free(&o->extra);
		return NULL;
	}
	sbuf_free(&o->extra);
	return o->endpoint;
}

static void on_subscribe_new(struct ua *ua, const struct sip_in *in, const struct ua_addr *src, const char *key)
{
	struct sippres_subscribe_req req;
	struct sippres_subscribe_res res;
	struct sippres_sub *sub = NULL;
	struct auth_outcome ao;
	struct sub_facts f;
	const char *endpoint;
	int r;

	if (sip_subscribe_facts(in, &f) < 0) {
		sub_facts_free(&f);
		respond(ua, in, src, key, 500, NULL, NULL, NULL);
		return;
	}
	if (f.bad || !f.contact) {
		ua_log(LOG_DEBUG, "SUBSCRIBE %s: 400 (%s)", in->call_id, f.bad ? f.bad : "no Contact");
		respond(ua, in, src, key, 400, f.bad ? "Bad Request" : "Missing Contact", NULL, NULL);
		sub_facts_free(&f);
		return;
	}
	endpoint = authorize(ua, in, src, key, f.from_user, NULL, &ao);
	if (!endpoint) {
		sub_facts_free(&f);
		return;
	}
	r = limits_sub_check(&ua->limits, src, endpoint, ua_now_mono_ms());
	if (r) {
		static const char *const why[] = {"", "Too Many Subscriptions", "Too Many Subscriptions For Endpoint",
		                                  "Too Many Subscriptions From Source"};

		ua->refused++;
		ua_log(LOG_DEBUG, "SUBSCRIBE %s from endpoint %s: 503 (%s)", in->call_id, endpoint, why[r]);
		respond(ua, in, src, key, 503, why[r], NULL, "Retry-After: " UA_RETRY_AFTER "\r\n");
		sub_facts_free(&f);
		return;
	}
	{
		/* docs/security.md, "Reflection": is the Contact where the SUBSCRIBE came from? */
		struct ua_addr c;
		int cr = addr_from_uri(f.contact, ua->local.ss.ss_family, &c);
		/* over TCP or TLS the connection is the proof: the NOTIFYs go back on it */
		bool proven = ua->notify_contact != UA_CONTACT_MATCH || cr == -2 || (cr == 0 && addr_equal(&c, src)) ||
		              streams_current(ua) != NULL;

		ua->creating = sub_data_new(endpoint, src, proven);
		if (!ua->creating) {
			respond(ua, in, src, key, 500, NULL, NULL, NULL);
			sub_facts_free(&f);
			return;
		}
		ua->creating->have_cseq = true;
		ua->creating->remote_cseq = in->cseq;
	}
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.endpoint = endpoint;
	req.ruri_scheme = f.ruri_scheme;
	req.ruri_user = f.ruri_user;
	req.ruri_host = f.ruri_host;
	req.ruri_port = f.ruri_port;
	req.flags = f.eventlist ? SIPPRES_SUBSCRIBE_EVENTLIST : 0;
	req.from_uri = f.from_uri;
	req.from_tag = in->from_tag;
	req.call_id = in->call_id;
	req.contact = f.contact;
	req.event = f.event;
	req.event_id = f.event_id;
	req.accept = (const char *const *)f.accept;
	req.n_accept = f.n_accept;
	req.expires = f.expires;
	req.user_agent = f.user_agent;
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	r = sippres_subscribe(ua->ctx, &req, ua_now_wall_ms(), &res, &sub);
	if (r >= 0 && sub) {
		/* the policy applies even when it cannot be counted (no room in the table of peers) */
		ua->creating->counted = limits_sub_add(&ua->limits, src, endpoint, ua_now_mono_ms()) == 0;
		sippres_sub_set_user_data(sub, ua->creating);
		if (!ua->creating->proven)
			ua_log(LOG_INFO, "SUBSCRIBE %s: Contact %s is not its source; NOTIFYs wait for a request in the dialog",
			       in->call_id, f.contact);
	} else {
		ua_sub_free(ua->creating);
	}
	ua->creating = NULL;
	if (r == SIPPRES_E_INVAL) {
		/* a field the library cannot take (invalid UTF-8, control characters, too long) */
		ua_log(LOG_DEBUG, "SUBSCRIBE %s: 400 (a header the library refuses)", in->call_id);
		respond(ua, in, src, key, 400, NULL, NULL, NULL);
	} else if (r < 0) {
		ua_log(LOG_ERR, "sippres_subscribe: %s", sippres_strerror(r));
		respond(ua, in, src, key, 500, NULL, NULL, NULL);
	} else {
		ua_log(LOG_DEBUG, "SUBSCRIBE %s to %s from endpoint %s, event %s: %u %s", in->call_id, f.ruri_user, endpoint,
		       f.event ? f.event : "(none)", res.status, res.reason ? res.reason : "");
		stream_bind_sub(ua, sub); /* its NOTIFYs go back on the connection it came on */
		respond_decision(ua, in, src, key, &res, f.ruri_user);
	}
	sub_facts_free(&f);
}

static void on_subscribe_refresh(struct ua *ua, struct sippres_sub *sub, const struct sip_in *in,
                                 const struct ua_addr *src, const char *key)
{
	struct sippres_sub_info info = {.size = sizeof(info)};
	struct sippres_subscribe_res res;
	struct auth_outcome ao;
	int64_t expires = sip_expires(in);
	const char *user;
	int r;

	if (expires == -2) {
		respond(ua, in, src, key, 400, "Bad Request", NULL, NULL);
		return;
	}
	/* as Asterisk, an in-dialog request of an endpoint with auth= is challenged too */
	if (sippres_sub_get_info(ua->ctx, sub, &info) < 0 || !authorize(ua, in, src, key, NULL, info.endpoint, &ao))
		return;
	if (streams_current(ua))
		stream_bind_sub(ua, sub); /* a refresh on a new connection moves the NOTIFYs there */
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	r = sippres_sub_refresh(ua->ctx, sub, expires, ua_now_wall_ms(), &res);
	if (r < 0) {
		ua_log(LOG_ERR, "sippres_sub_refresh: %s", sippres_strerror(r));
		respond(ua, in, src, key, 500, NULL, NULL, NULL);
		return;
	}
	ua_log(LOG_DEBUG, "SUBSCRIBE %s refresh (Expires %lld): %u", in->call_id, (long long)expires, res.status);
	user = sip_ruri_user(in);
	respond_decision(ua, in, src, key, &res, user);
}

/* PUBLISH (RFC 3903): the library decides; every header value it returns goes out as it gave it. */
static void on_publish(struct ua *ua, const struct sip_in *in, const struct ua_addr *src, const char *key)
{
	struct sippres_publish_req req = {.size = sizeof(req)};
	struct sippres_publish_res res = {.size = sizeof(res)};
	struct auth_outcome ao;
	struct pub_facts f;
	struct sbuf x;
	const char *endpoint;
	int r;

	if (sip_publish_facts(in, &f) < 0) {
		pub_facts_free(&f);
		respond(ua, in, src, key, 500, NULL, NULL, NULL);
		return;
	}
	if (f.bad) {
		ua_log(LOG_DEBUG, "PUBLISH %s: 400 (%s)", in->call_id, f.bad);
		respond(ua, in, src, key, 400, "Bad Request", NULL, NULL);
		pub_facts_free(&f);
		return;
	}
	endpoint = authorize(ua, in, src, key, f.from_user, NULL, &ao);
	if (!endpoint) {
		pub_facts_free(&f);
		return;
	}
	req.endpoint = endpoint;
	req.resource = f.ruri_user;
	req.event = f.event;
	req.expires = f.expires;
	req.if_match = f.if_match;
	req.content_type = in->body ? f.content_type : NULL;
	req.body = in->body;
	req.body_len = in->body_len;
	r = sippres_publish(ua->ctx, &req, ua_now_wall_ms(), &res);
	if (r == SIPPRES_E_INVAL) {
		ua_log(LOG_DEBUG, "PUBLISH %s: 400 (a header the library refuses)", in->call_id);
		respond(ua, in, src, key, 400, NULL, NULL, NULL);
		pub_facts_free(&f);
		return;
	}
	if (r < 0) {
		ua_log(LOG_ERR, "sippres_publish: %s", sippres_strerror(r));
		respond(ua, in, src, key, 500, NULL, NULL, NULL);
		pub_facts_free(&f);
		return;
	}
	ua_log(LOG_DEBUG, "PUBLISH %s to %s from endpoint %s, event %s%s%s: %u %s", in->call_id, f.ruri_user, endpoint,
	       f.event ? f.event : "(none)", f.if_match ? ", SIP-If-Match " : "", f.if_match ? f.if_match : "",
	       res.status, res.reason ? res.reason : "");
	sbuf_init(&x);
	if (res.status >= 200 && res.status < 300) {
		if (res.etag)
			sbuf_printf(&x, "SIP-ETag: %s\r\n", res.etag);
		sbuf_printf(&x, "Expires: %u\r\n", res.expires);
	}
	if (res.status == 423 && res.min_expires)
		sbuf_printf(&x, "Min-Expires: %u\r\n", res.min_expires);
	if (res.status == 489 && res.allow_events)
		sbuf_printf(&x, "Allow-Events: %s\r\n", res.allow_events);
	if (res.status == 415 && res.accept)
		sbuf_printf(&x, "Accept: %s\r\n", res.accept);
	if (x.oom)
		respond(ua, in, src, key, 500, NULL, NULL, NULL);
	else
		respond(ua, in, src, key, (int)res.status, res.reason, NULL, x.s);
	sbuf_free(&x);
	pub_facts_free(&f);
}

/* RFC 3261 12.2.2 for a request in the dialog of sub: the From tag is the subscriber's, and the CSeq is
 * above the last one (a retransmission of the same request is answered from the response cache before
 * this). NULL: fine (the CSeq is taken, and the subscriber has proven it received our 200); else what is
 * wrong ("From tag" or "CSeq"). */
static const char *in_dialog_check(struct ua *ua, struct sippres_sub *sub, const struct sip_in *in)
{
	struct sippres_sub_info i = {.size = sizeof(i)};
	struct ua_sub *us = sippres_sub_get_user_data(sub);

	if (sippres_sub_get_info(ua->ctx, sub, &i) == 0 && i.remote_tag && in->from_tag &&
	    strcmp(i.remote_tag, in->from_tag) != 0)
		return "From tag";
	if (!us)
		return NULL;
	if (us->have_cseq && in->cseq <= us->remote_cseq)
		return "CSeq";
	us->have_cseq = true;
	us->remote_cseq = in->cseq;
	if (!us->proven) {
		us->proven = true; /* only the one who got our 200 (and its tag) at the source can send this */
		ua_log(LOG_INFO, "subscription %s proven by %s: its NOTIFYs go out from now on", in->call_id, in->method);
	}
	return NULL;
}

static bool known_method(const char *m)
{
	static const char *const known[] = {"INVITE", "ACK", "BYE", "CANCEL", "REGISTER", "OPTIONS", "PRACK",
	                                    "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(m, known[i]) == 0)
			return true;
	}
	return false;
}

static void on_request(struct ua *ua, const struct sip_in *in, const struct ua_addr *src)
{
	const char *m = in->method;
	const struct stx *cached;
	const char *mf;
	char *key;

	if (strcmp(m, "ACK") == 0)
		return; /* no INVITE transactions here: nothing to acknowledge */
	key = stx_key(in);
	if (!key)
		return;
	cached = stx_find(&ua->stx, key);
	if (cached) {
		ua_log(LOG_DEBUG, "retransmitted %s %s: same response again", m, in->call_id);
		ua_send(ua, cached->data, cached->len, src);
		free(key);
		return;
	}
	if (in->bad) {
		ua_log(LOG_DEBUG, "%s %s: 400 (%s)", m, in->call_id, in->bad);
		respond(ua, in, src, key, 400, in->bad_reason, NULL, NULL);
		goto out;
	}
	if (in->msg && (!in->msg->sip_version || strcmp(in->msg->sip_version, "SIP/2.0") != 0)) {
		respond(ua, in, src, key, 505, NULL, NULL, NULL);
		goto out;
	}
	mf = sip_header(in, "max-forwards", NULL);
	if (mf && strcmp(m, "OPTIONS") != 0 && strspn(mf, " \t0") == strlen(mf) && strchr(mf, '0')) {
		respond(ua, in, src, key, 483, NULL, NULL, NULL);
		goto out;
	}
	if (strcmp(m, "CANCEL") == 0) {
		/* RFC 6665 4.6: answered, otherwise ignored; 481 when nothing matches */
		struct sip_in probe = *in;
		char *k2;

		probe.method = "SUBSCRIBE";
		k2 = stx_key(&probe);
		respond(ua, in, src, key, k2 && stx_find(&ua->stx, k2) ? 200 : 481, NULL, NULL, NULL);
		free(k2);
		goto out;
	}
	if (strcmp(m, "PUBLISH") == 0) {
		on_publish(ua, in, src, key); /* never in a dialog (RFC 3903 4): a To tag changes nothing */
		goto out;
	}
	if (in->to_tag) {
		struct sippres_sub *sub = sippres_sub_find(ua->ctx, in->call_id, in->to_tag);
		const char *why = sub ? in_dialog_check(ua, sub, in) : NULL;

		if (!sub || (why && strcmp(why, "From tag") == 0)) {
			ua_log(LOG_DEBUG, "%s %s: 481 (no dialog with tag %s%s)", m, in->call_id, in->to_tag,
			       sub ? " and this From tag" : "");
			respond(ua, in, src, key, 481, NULL, NULL, NULL);
		} else if (why) {
			ua_log(LOG_DEBUG, "%s %s: 500 (CSeq %u out of order)", m, in->call_id, in->cseq);
			respond(ua, in, src, key, 500, "CSeq Out of Order", NULL, "Retry-After: 1\r\n");
		} else if (strcmp(m, "SUBSCRIBE") == 0) {
			on_subscribe_refresh(ua, sub, in, src, key);
		} else if (strcmp(m, "OPTIONS") == 0) {
			respond(ua, in, src, key, 200, NULL, NULL, "Allow: " UA_ALLOW "\r\nAllow-Events: " UA_ALLOW_EVENTS "\r\n");
		} else if (strcmp(m, "NOTIFY") == 0) {
			respond(ua, in, src, key, 481, NULL, NULL, NULL); /* we subscribe to nothing */
		} else if (known_method(m)) {
			respond(ua, in, src, key, 405, NULL, NULL, "Allow: " UA_ALLOW "\r\n");
		} else {
			respond(ua, in, src, key, 501, NULL, NULL, "Allow: " UA_ALLOW "\r\n");
		}
		goto out;
	}
	if (strcmp(m, "SUBSCRIBE") == 0)
		on_subscribe_new(ua, in, src, key);
	else if (strcmp(m, "OPTIONS") == 0)
		respond(ua, in, src, key, 200, NULL, NULL, "Allow: " UA_ALLOW "\r\nAllow-Events: " UA_ALLOW_EVENTS "\r\n");
	else if (strcmp(m, "NOTIFY") == 0 || strcmp(m, "BYE") == 0)
		respond(ua, in, src, key, 481, NULL, NULL, NULL);
	else if (known_method(m))
		respond(ua, in, src, key, 405, NULL, NULL, "Allow: " UA_ALLOW "\r\n");
	else
		respond(ua, in, src, key, 501, NULL, NULL, "Allow: " UA_ALLOW "\r\n");
out:
	free(key);
}

/* ---- SIP: responses (to our NOTIFYs) ------------------------------------------------------ */

static void report(struct ua *ua, const char *call_id, const char *local_tag, uint32_t cseq, int status)
{
	struct sippres_sub *sub = sippres_sub_find(ua->ctx, call_id, local_tag);
	int r;

	if (!sub)
		return; /* the subscription ended meanwhile (a final NOTIFY, or an earlier failure) */
	r = sippres_sub_notify_result(ua->ctx, sub, cseq, status, ua_now_wall_ms());
	if (r < 0)
		ua_log(LOG_ERR, "sippres_sub_notify_result: %s", sippres_strerror(r));
	else if (r == 1)
		ua_log(LOG_DEBUG, "subscription %s ended after NOTIFY cseq %u got %d", call_id, cseq, status);
}

/* dst has proven itself: the NOTIFYs held for it go out now (one pass over the transactions, once per address
 * and hour at most). */
static void release_held(struct ua *ua, const struct ua_addr *dst)
{
	uint64_t now = ua_now_mono_ms();
	struct ntx **v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < ua->ntx.heap_len; i++) {
		struct ntx *x = ua->ntx.heap[i];

		if (!x->held || x->queued || !addr_equal(&x->dst, dst)) /* queued: held for room, sent by ua_flush */
			continue;
		if (n == cap) {
			struct ntx **nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv)
				break; /* the rest stays held until its timer F */
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[n++] = x;
	}
	for (size_t i = 0; i < n; i++) {
		ntx_release(&ua->ntx, v[i], now);
		ua_send(ua, v[i]->data, v[i]->len, &v[i]->dst);
	}
	free(v);
	if (n)
		ua_log(LOG_DEBUG, "%zu held NOTIFY(s) sent to an address that answered", n);
}

static void on_response(struct ua *ua, const struct sip_in *in)
{
	struct ntx *x;

	if (in->branch && strcmp(in->cseq_method, "PUBLISH") == 0 && (x = ntx_find(&ua->ntx, in->branch)) &&
	    x->publish) {
		if (in->status < 200) {
			ntx_proceeding(&ua->ntx, x, ua_now_mono_ms());
			return;
		}
		unqueue(ua, x);
		outpub_response(ua, x->local_tag, x->branch, in, in->status);
		ntx_remove(&ua->ntx, x);
		return;
	}
	if (!in->branch || strcmp(in->cseq_method, "NOTIFY") != 0 || !(x = ntx_find(&ua->ntx, in->branch)) ||
	    x->publish) {
		ua_log(LOG_DEBUG, "response %d %s %s matches no transaction", in->status, in->cseq_method, in->call_id);
		return;
	}
	if (x->unproven) {
		/* the branch was ours: whoever answers (even 100 Trying) got the NOTIFY at dst */
		uint64_t now = ua_now_mono_ms();

		limits_unproven_done(&ua->limits, &x->dst);
		limits_prove(&ua->limits, &x->dst, now);
		x->unproven = false;
		x->f_at = now + 64u * ua->ntx.t1 - ua->ntx.t1; /* the whole schedule from now on */
		release_held(ua, &x->dst);
	}
	if (in->status < 200) {
		ntx_proceeding(&ua->ntx, x, ua_now_mono_ms());
		return;
	}
	ua_log(LOG_DEBUG, "NOTIFY %s cseq %u: %d", x->call_id, x->cseq, in->status);
	/* out of the table first: the library may send NOTIFYs (and add transactions) from report() */
	unqueue(ua, x);
	ntx_detach(&ua->ntx, x);
	report(ua, x->call_id, x->local_tag, x->cseq, in->status);
	ntx_destroy(&ua->ntx, x);
}

void ua_on_datagram(struct ua *ua, const char *buf, size_t len, const struct ua_addr *src)
{
	struct sip_in in;
	char err[128], a[80];

	ua->rx++;
	if (ua_verbosity >= 2) {
		addr_format(src, a, sizeof(a));
		ua_log(LOG_TRACE, "received %zu bytes from %s:\n%.*s", len, a, (int)len, buf);
	}
	/* keep-alives: CRLF (RFC 5626) and empty datagrams (buf is not NUL-terminated) */
	if (len <= 4) {
		size_t i = 0;

		while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
			i++;
		if (i == len)
			return;
	}
	/* requests count against their source's rate (answers to our own requests do not) */
	if ((len < 8 || memcmp(buf, "SIP/2.0 ", 8) != 0) && !limits_request(&ua->limits, src, ua_now_mono_ms())) {
		ua->dropped++;
		if (ua->limits.rate_dropped % 1000 == 1) {
			addr_format(src, a, sizeof(a));
			ua_log(LOG_WARN, "%s is over --rate-per-source (%lu requests a second): dropped unanswered (%lu so far)",
			       a, ua->limits.conf.rate_per_source, ua->limits.rate_dropped);
		}
		return;
	}
	if (sip_parse_notifier(buf, len, &in, err, sizeof(err)) < 0) {
		ua->dropped++;
		addr_format(src, a, sizeof(a));
		ua_log(LOG_DEBUG, "dropped a datagram of %zu bytes from %s: %s", len, a, err);
		return;
	}
	if (in.is_request)
		on_request(ua, &in, src);
	else
		on_response(ua, &in);
	sip_in_free(&in);
	if (!ua->in_batch)
		ua_flush(ua);
}

void ua_recv_all(struct ua *ua, int max, bool (*fn)(void *arg, const char *buf, size_t len, const struct ua_addr *src))
{
	/* the NOTIFYs the batch's datagrams caused go out together after it */
	ua->in_batch = true;
	ua_recv_batch(ua->fd, max, fn, ua);
	ua->in_batch = false;
	ua_flush(ua);
}

/* ---- timers ------------------------------------------------------------------------------- */

void ua_run_timers(struct ua *ua)
{
	uint64_t mono = ua_now_mono_ms(), wall, deadline;
	unsigned long sent = 0;
	struct ntx *x;
	int guard = 0;

	ua_flush(ua);
	while ((x = ntx_due(&ua->ntx, mono)) != NULL) {
		if (mono >= x->f_at && x->publish) {
			ua_log(LOG_DEBUG, "PUBLISH %s cseq %u: no response (timer F)", x->local_tag, x->cseq);
			outpub_response(ua, x->local_tag, x->branch, NULL, 408);
			ntx_remove(&ua->ntx, x);
		} else if (mono >= x->f_at) {
			ua_log(LOG_DEBUG, "NOTIFY %s cseq %u: %s (timer F)", x->call_id, x->cseq,
			       x->held ? "held, its address never answered" : "no response");
			if (x->unproven)
				limits_unproven_done(&ua->limits, &x->dst);
			unqueue(ua, x);
			ntx_detach(&ua->ntx, x);
			report(ua, x->call_id, x->local_tag, x->cseq, 408);
			ntx_destroy(&ua->ntx, x);
		} else if (x->queued) {
			ntx_fired(&ua->ntx, x, mono); /* not sent yet: waiting in the queue for room */
		} else {
			ua->retransmits++;
			ua_log(LOG_DEBUG, "retransmitting %s %s cseq %u", x->publish ? "PUBLISH" : "NOTIFY",
			       x->publish ? x->local_tag : x->call_id, x->cseq);
			send_ntx(ua, x);
			ntx_fired(&ua->ntx, x, mono);
			if ((++sent & 63) == 0)
				inbox_fill(ua); /* a burst of retransmissions reads the socket as it goes, as ua_flush() */
		}
	}
	inbox_run(ua);
	pend_expire(ua, mono);
	stx_expire(&ua->stx, mono);
	outpub_run_timers(ua, mono);
	cluster_run_timers(ua);
	/* the library: queued NOTIFYs, expiry; handle_timeout may schedule more that are due at once */
	wall = ua_now_wall_ms();
	while (guard++ < 8 && sippres_ctx_next_timeout(ua->ctx, wall, &deadline) == 1 && deadline <= wall) {
		int r = sippres_ctx_handle_timeout(ua->ctx, wall);

		ua_flush(ua);
		if (r < 0) {
			ua_log(LOG_ERR, "sippres_ctx_handle_timeout: %s", sippres_strerror(r));
			break;
		}
	}
}

int ua_poll_timeout(struct ua *ua)
{
	uint64_t mono = ua_now_mono_ms(), wall = ua_now_wall_ms(), deadline, t = UINT64_MAX, n;

	n = ntx_next(&ua->ntx);
	if (n != UINT64_MAX)
		t = n > mono ? n - mono : 0;
	if (ua->pendq_head < ua->pendq_len && !ua->pendq[ua->pendq_head]->ready) {
		n = ua->pendq[ua->pendq_head]->at + 64u * ua->ntx.t1; /* waited past timer F: pend_expire */
		if ((n > mono ? n - mono : 0) < t)
			t = n > mono ? n - mono : 0;
	}
	n = outpub_next(ua);
	if (n != UINT64_MAX && (n > mono ? n - mono : 0) < t)
		t = n > mono ? n - mono : 0;
	n = stx_next(&ua->stx);
	if (n != UINT64_MAX && (n > mono ? n - mono : 0) < t)
		t = n > mono ? n - mono : 0;
	if (sippres_ctx_next_timeout(ua->ctx, wall, &deadline) == 1) {
		n = deadline > wall ? deadline - wall : 0;
		if (n < t)
			t = n;
	}
	n = cluster_next(ua);
	if (n != UINT64_MAX && (n > wall ? n - wall : 0) < t)
		t = n > wall ? n - wall : 0;
	if (t == UINT64_MAX)
		return -1;
	return t > 60000 ? 60000 : (int)t;
}

/* ---- control commands ------------------------------------------------------------------------ */

static void one_line(struct sbuf *out, const char *prefix, const char *text)
{
	sbuf_add(out, prefix, strlen(prefix));
	for (const char *p = text; *p; p++)
		sbuf_add(out, (*p == '\n' || *p == '\r') ? " " : p, 1);
	sbuf_add(out, "\n", 1);
}

static void err_reply(struct sbuf *out, const char *reason)
{
	one_line(out, "ERR ", reason);
}

struct show_subs {
	struct ua *ua;
	struct sbuf *out;
	uint64_t now;
};

static int show_sub(void *user_data, struct sippres_sub *sub)
{
	struct show_subs *s = user_data;
	struct sippres_sub_info i = {.size = sizeof(i)};

	if (sippres_sub_get_info(s->ua->ctx, sub, &i) < 0)
		return 0;
	sbuf_printf(s->out,
	            "%s %s@%s event=%s%s%s type=%s state=%s expires=%llu cseq=%u version=%u call-id=%s tag=%s contact=%s\n",
	            i.endpoint, i.resource, i.context, i.event, i.event_id ? ";id=" : "", i.event_id ? i.event_id : "",
	            i.content_type ? i.content_type : "-", sippres_exten_state_string(i.exten_state),
	            (unsigned long long)(i.expires_at_ms > s->now ? (i.expires_at_ms - s->now + 999) / 1000 : 0),
	            i.next_cseq, i.version, i.call_id, i.local_tag, i.contact);
	return 0;
}

static int show_pub(void *user_data, struct sippres_publication *pub)
{
	struct show_subs *s = user_data;
	struct sippres_publication_info i = {.size = sizeof(i)};

	if (sippres_publication_get_info(s->ua->ctx, pub, &i) < 0)
		return 0;
	sbuf_printf(s->out, "%s event=%s endpoint=%s etag=%s expires=%llu type=%s body=%zu\n", i.resource, i.event,
	            i.endpoint, i.etag,
	            (unsigned long long)(i.expires_at_ms > s->now ? (i.expires_at_ms - s->now + 999) / 1000 : 0),
	            i.content_type ? i.content_type : "-", i.body_len);
	return 0;
}

void ua_command(struct ua *ua, const char *line, struct sbuf *out)
{
	const char *reason = NULL;
	char err[1280];
	struct cmd c;
	int r = 0;

	if (cmd_parse(line, &c, err, sizeof(err)) < 0) {
		err_reply(out, err);
		return;
	}
	switch (c.kind) {
	case CMD_NONE:
		return;
	case CMD_QUIT:
		ua->quit = true;
		break;
	case CMD_RELOAD:
		if (ua_reload(ua, out, err, sizeof(err)) < 0) {
			r = SIPPRES_E_INVAL;
			reason = err;
		}
		break;
	case CMD_DEVSTATE:
	case CMD_PRESENCE:
	case CMD_HINT_ADD:
	case CMD_HINT_REMOVE:
	case CMD_CALL_SET:
	case CMD_CALL_CLEAR:
		r = cmd_apply(ua->ctx, &c, err, sizeof(err));
		if (r < 0)
			reason = err;
		else if (c.kind == CMD_DEVSTATE)
			store_save_device(ua, c.a, c.state);
		else if (c.kind == CMD_PRESENCE)
			store_save_presence(ua, c.a, c.state, c.c, c.d);
		break;
	case CMD_SHOW_HINTS:
		r = cli_show_hints(ua->ctx, out);
		break;
	case CMD_SHOW_SUBS:
	case CMD_LIST_SUBS:
		err[0] = '\0';
		r = cli_show_subscriptions(ua->ctx, out, ua_now_wall_ms(), c.kind == CMD_LIST_SUBS, c.outbound, c.a, err,
		                           sizeof(err));
		if (r < 0 && err[0])
			reason = err;
		break;
	case CMD_SUBS_DETAIL: {
		struct show_subs s = {.ua = ua, .out = out, .now = ua_now_wall_ms()};

		r = sippres_sub_foreach(ua->ctx, show_sub, &s);
		break;
	}
	case CMD_SHOW_PUBS: {
		struct show_subs s = {.ua = ua, .out = out, .now = ua_now_wall_ms()};

		r = sippres_publication_foreach(ua->ctx, show_pub, &s);
		break;
	}
	}
	cmd_free(&c);
	/* the caller runs ua_flush() before it writes the replies out: the NOTIFYs
	 * caused by the command go out before its reply, and a burst of commands
	 * read at once is one batch of state-directory writes */
	if (r < 0)
		err_reply(out, reason ? reason : sippres_strerror(r));
	else
		sbuf_add(out, "OK\n", 3);
}
