/* SPDX-License-Identifier: MIT */
/* SIP over TCP and TLS for the mini UA: listeners from pjsip.conf transport
 * sections, connections framed by Content-Length (RFC 3261 18.3), bounded in
 * number, bytes and time, TLS through OpenSSL (tls.c makes the contexts). */
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core.h"
#include "transport.h"

#define MAX_LISTENERS 8
#define ACCEPT_BATCH 64

struct conn {
	uint64_t id;         /* never 0, never reused */
	int fd, proto;
	struct ua_addr peer, local;
	SSL *ssl;
	bool handshaken;     /* TLS: the handshake finished (TCP: always) */
	bool connecting;     /* outbound, connect() in progress */
	bool ssl_wants_write;
	bool closed;         /* to be freed after the current round */
	bool had_message;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t created, last, msg_started; /* monotonic ms; msg_started 0: no partial message */
};

struct listener {
	int fd, proto;
	SSL_CTX *ctx;
	struct ua_addr local;
};

struct streams {
	struct listener l[MAX_LISTENERS];
	size_t nl;
	struct conn **c; /* sorted by id (ids only grow: appended) */
	size_t n, cap;
	uint64_t next_id;
	struct stream_limits lim;
	struct pollfd *pfd;
	size_t pfd_cap;
	struct conn *current;
	unsigned long refused;
};

/* ---- configuration ---------------------------------------------------------------------- */

int transport_conf_add(struct transport_conf **list, const char *name, const struct sippres_conf_transport *t)
{
	struct transport_conf *c = calloc(1, sizeof(*c)), **end = list;
	bool oom = !c;

	if (oom)
		return -1;
	c->t.size = sizeof(c->t);
	c->name = ua_strdup_or_null(name, &oom);
	c->t.protocol = ua_strdup_or_null(t->protocol, &oom);
	c->t.bind = ua_strdup_or_null(t->bind, &oom);
	c->t.cert_file = ua_strdup_or_null(t->cert_file, &oom);
	c->t.priv_key_file = ua_strdup_or_null(t->priv_key_file, &oom);
	c->t.ca_list_file = ua_strdup_or_null(t->ca_list_file, &oom);
	c->t.ca_list_path = ua_strdup_or_null(t->ca_list_path, &oom);
	c->t.method = ua_strdup_or_null(t->method, &oom);
	c->t.cipher = ua_strdup_or_null(t->cipher, &oom);
	c->t.verify_client = t->verify_client;
	c->t.require_client_cert = t->require_client_cert;
	if (oom) {
		transport_conf_free(c);
		return -1;
	}
	while (*end)
		end = &(*end)->next;
	*end = c;
	return 0;
}

void transport_conf_free(struct transport_conf *list)
{
	while (list) {
		struct transport_conf *n = list->next;
		char *p;

		free(list->name);
#define FREE_CONST(x) memcpy(&p, &(x), sizeof(p)), free(p)
		FREE_CONST(list->t.protocol);
		FREE_CONST(list->t.bind);
		FREE_CONST(list->t.cert_file);
		FREE_CONST(list->t.priv_key_file);
		FREE_CONST(list->t.ca_list_file);
		FREE_CONST(list->t.ca_list_path);
		FREE_CONST(list->t.method);
		FREE_CONST(list->t.cipher);
#undef FREE_CONST
		free(list);
		list = n;
	}
}

/* bind= with an optional port (5060 for tcp, 5061 for tls, as Asterisk). */
static int parse_bind(const char *bind, int proto, struct ua_addr *out)
{
	char buf[128];
	const char *close = bind[0] == '[' ? strchr(bind, ']') : NULL;
	bool has_port = bind[0] == '[' ? (close && close[1] == ':') : strchr(bind, ':') != NULL;

	if (has_port)
		return addr_parse_listen(bind, out);
	snprintf(buf, sizeof(buf), "%s:%d", bind, proto == UA_PROTO_TLS ? 5061 : 5060);
	return addr_parse_listen(buf, out);
}

static int listen_on(struct streams *s, const struct transport_conf *c, int proto)
{
	struct listener *l = &s->l[s->nl];
	int one = 1;
	char a[80];

	if (s->nl == MAX_LISTENERS) {
		ua_log(LOG_ERR, "transport %s: more than %d stream transports", c->name, MAX_LISTENERS);
		return -1;
	}
	if (parse_bind(c->t.bind, proto, &l->local) < 0) {
		ua_log(LOG_ERR, "transport %s: bind %s: expected IPv4[:PORT] or [IPv6][:PORT]", c->name, c->t.bind);
		return -1;
	}
	if (proto == UA_PROTO_TLS && !(l->ctx = tls_server_ctx(c)))
		return -1;
	l->proto = proto;
	l->fd = socket(l->local.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		ua_log(LOG_ERR, "transport %s: socket: %s", c->name, strerror(errno));
		SSL_CTX_free(l->ctx);
		return -1;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->local.ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (const struct sockaddr *)&l->local.ss, l->local.len) < 0 || listen(l->fd, 128) < 0) {
		ua_log(LOG_ERR, "transport %s: bind %s: %s", c->name, c->t.bind, strerror(errno));
		close(l->fd);
		SSL_CTX_free(l->ctx);
		return -1;
	}
	l->local.len = sizeof(l->local.ss);
	getsockname(l->fd, (struct sockaddr *)&l->local.ss, &l->local.len);
	addr_format(&l->local, a, sizeof(a));
	ua_log(LOG_INFO, "listening on %s %s (transport %s)", proto_name(proto), a, c->name);
	s->nl++;
	return 0;
}

int streams_open(struct ua *ua, const struct transport_conf *confs, const struct stream_limits *lim)
{
	struct streams *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	s->lim = *lim;
	s->next_id = 1;
	ua->streams = s;
	for (const struct transport_conf *c = confs; c; c = c->next) {
		int proto = strcmp(c->t.protocol, "tls") == 0 ? UA_PROTO_TLS
		            : strcmp(c->t.protocol, "tcp") == 0 ? UA_PROTO_TCP
		                                                : UA_PROTO_UDP;

		if (proto == UA_PROTO_UDP) {
			ua_log(LOG_INFO, "transport %s: udp is served on --listen %s", c->name, ua->local_str);
			continue;
		}
		if (listen_on(s, c, proto) < 0)
			return -1;
	}
	return 0;
}

/* ---- connections --------------------------------------------------------------------- */

static struct conn *find(const struct streams *s, uint64_t id)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (s->c[m]->id < id)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < s->n && s->c[lo]->id == id ? s->c[lo] : NULL;
}

static void conn_close(struct conn *c, const char *why)
{
	char a[80];

	if (c->closed)
		return;
	addr_format(&c->peer, a, sizeof(a));
	ua_log(LOG_DEBUG, "%s connection %llu with %s closed: %s", proto_name(c->proto), (unsigned long long)c->id, a,
	       why);
	c->closed = true;
}

static void conn_free(struct conn *c)
{
	if (c->ssl) {
		if (c->handshaken)
			SSL_shutdown(c->ssl); /* best effort close_notify; non-blocking */
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
}

/* Free the connections closed during this round (never while one is being handled). */
static void sweep(struct streams *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (s->c[i]->closed && s->c[i] != s->current)
			conn_free(s->c[i]);
		else
			s->c[k++] = s->c[i];
	}
	s->n = k;
}

static size_t from_source(const struct streams *s, const struct ua_addr *peer)
{
	char a[64], b[64];
	size_t n = 0;

	addr_host(peer, a, sizeof(a));
	for (size_t i = 0; i < s->n; i++) {
		if (s->c[i]->closed)
			continue;
		addr_host(&s->c[i]->peer, b, sizeof(b));
		n += strcmp(a, b) == 0;
	}
	return n;
}

static size_t live(const struct streams *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += !s->c[i]->closed;
	return n;
}

static struct conn *conn_new(struct streams *s, int fd, int proto, const struct ua_addr *peer)
{
	struct conn *c;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct conn **n = realloc(s->c, cap * sizeof(*n));

		if (!n)
			return NULL;
		s->c = n;
		s->cap = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->proto = proto;
	c->peer = *peer;
	c->local.len = sizeof(c->local.ss);
	getsockname(fd, (struct sockaddr *)&c->local.ss, &c->local.len);
	c->id = s->next_id++;
	c->created = c->last = ua_now_mono_ms();
	c->handshaken = proto != UA_PROTO_TLS;
	s->c[s->n++] = c;
	return c;
}

static void accept_some(struct streams *s, struct listener *l)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct ua_addr peer = {.len = sizeof(peer.ss)};
		int fd = accept4(l->fd, (struct sockaddr *)&peer.ss, &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct conn *c;
		char a[80];

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				ua_log(LOG_WARN, "accept: %s", strerror(errno));
			return;
		}
		addr_format(&peer, a, sizeof(a));
		if (live(s) >= s->lim.max_conns || from_source(s, &peer) >= s->lim.max_per_source) {
			s->refused++;
			ua_log(LOG_DEBUG, "%s connection from %s refused: %s", proto_name(l->proto), a,
			       live(s) >= s->lim.max_conns ? "--max-connections reached" : "--max-connections-per-source reached");
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = conn_new(s, fd, l->proto, &peer);
		if (!c) {
			ua_log(LOG_ERR, "out of memory: connection from %s closed", a);
			close(fd);
			continue;
		}
		if (l->proto == UA_PROTO_TLS) {
			c->ssl = SSL_new(l->ctx);
			if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
				conn_close(c, "out of memory for TLS");
				continue;
			}
			SSL_set_accept_state(c->ssl);
		}
		ua_log(LOG_DEBUG, "%s connection %llu from %s", proto_name(l->proto), (unsigned long long)c->id, a);
	}
}

/* ---- writing ----------------------------------------------------------------------------- */

static void conn_flush(struct conn *c)
{
	while (!c->closed && !c->connecting && c->handshaken && c->out_off < c->out_len) {
		size_t left = c->out_len - c->out_off;
		ssize_t w;

		if (c->ssl) {
			int r = SSL_write(c->ssl, c->out + c->out_off, left > INT32_MAX ? INT32_MAX : (int)left);

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					return;
				conn_close(c, "TLS write failed");
				return;
			}
			w = r;
		} else {
			w = send(c->fd, c->out + c->out_off, left, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return;
				conn_close(c, strerror(errno));
				return;
			}
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

static bool conn_queue(struct conn *c, const char *data, size_t len)
{
	if (c->closed)
		return false;
	if (c->out_len - c->out_off + len > STREAM_MAX_OUT) {
		conn_close(c, "more than 1 MiB waiting to be written: the peer does not read");
		return false;
	}
	if (c->out_off && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *n;

		while (cap < c->out_len + len)
			cap *= 2;
		n = realloc(c->out, cap);
		if (!n) {
			conn_close(c, "out of memory");
			return false;
		}
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	if (ua_verbosity >= 2) {
		char a[80];

		addr_format(&c->peer, a, sizeof(a));
		ua_log(LOG_TRACE, "send %zu bytes over %s to %s:\n%.*s", len, proto_name(c->proto), a, (int)len, data);
	}
	conn_flush(c);
	return !c->closed;
}

bool stream_reply(struct ua *ua, const struct ua_addr *dst, const char *data, size_t len)
{
	struct conn *c = streams_current(ua);

	if (!c || !addr_equal(dst, &c->peer))
		return false;
	conn_queue(c, data, len);
	return true;
}

bool stream_send_id(struct ua *ua, uint64_t id, const char *data, size_t len)
{
	struct conn *c = ua->streams ? find(ua->streams, id) : NULL;

	return c && conn_queue(c, data, len);
}

/* ---- reading and framing ---------------------------------------------------------------- */

static void deliver(struct ua *ua, struct conn *c, const char *msg, size_t len)
{
	struct streams *s = ua->streams;

	c->had_message = true;
	s->current = c;
	ua_on_datagram(ua, msg, len, &c->peer);
	s->current = NULL;
}

/* Take every complete message out of c's buffer. */
static void frame(struct ua *ua, struct conn *c)
{
	size_t off = 0;

	while (!c->closed && off < c->in_len) {
		const char *b = c->in + off;
		size_t avail = c->in_len - off, total = 0;
		int r;

		/* RFC 5626 4.4.1: a CRLF CRLF ping gets a CRLF pong; lone CRLFs between messages are skipped */
		if (avail >= 4 && memcmp(b, "\r\n\r\n", 4) == 0) {
			conn_queue(c, "\r\n", 2);
			off += 4;
			continue;
		}
		if (b[0] == '\r' || b[0] == '\n') {
			size_t k = 0;

			while (k < avail && (b[k] == '\r' || b[k] == '\n'))
				k++;
			if (k == avail && avail < 4)
				break; /* perhaps the start of a ping */
			off++;
			continue;
		}
		r = sip_stream_frame(b, avail, &total);
		if (r == 0 && c->in_len >= STREAM_MAX_MESSAGE)
			r = -2;
		if (r == -1)
			conn_close(c, "a message without Content-Length (RFC 3261 18.3)");
		else if (r < 0)
			conn_close(c, "a header block or Content-Length beyond 65536 bytes a message, or a bad Content-Length");
		if (r <= 0)
			break;
		deliver(ua, c, b, total);
		off += total;
	}
	if (c->closed)
		return;
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
		c->msg_started = 0;
	}
	if (c->in_len && !c->msg_started)
		c->msg_started = ua_now_mono_ms();
}

static bool handshake(struct conn *c)
{
	int r;

	if (c->handshaken)
		return true;
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->handshaken = true;
		c->ssl_wants_write = false;
		return true;
	}
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		c->ssl_wants_write = false;
		return false;
	case SSL_ERROR_WANT_WRITE:
		c->ssl_wants_write = true;
		return false;
	default: {
		char why[256];
		unsigned long e = ERR_get_error();

		snprintf(why, sizeof(why), "TLS handshake failed: %s", e ? ERR_reason_error_string(e) : "connection closed");
		ERR_clear_error();
		conn_close(c, why);
		return false;
	}
	}
}

static void conn_read(struct ua *ua, struct conn *c)
{
	for (int rounds = 0; rounds < 16 && !c->closed; rounds++) {
		size_t room;
		ssize_t n;

		if (c->ssl && !handshake(c))
			return;
		if (!c->in && !(c->in = malloc(STREAM_MAX_MESSAGE))) {
			conn_close(c, "out of memory");
			return;
		}
		room = STREAM_MAX_MESSAGE - c->in_len;
		if (room == 0) {
			conn_close(c, "a message longer than 65536 bytes");
			return;
		}
		if (c->ssl) {
			int r = SSL_read(c->ssl, c->in + c->in_len, (int)room);

			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_READ)
					return;
				if (e == SSL_ERROR_WANT_WRITE) {
					c->ssl_wants_write = true;
					return;
				}
				ERR_clear_error();
				conn_close(c, e == SSL_ERROR_ZERO_RETURN ? "closed by the peer" : "TLS read failed");
				return;
			}
			n = r;
		} else {
			n = recv(c->fd, c->in + c->in_len, room, 0);
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR)
					conn_close(c, strerror(errno));
				return;
			}
			if (n == 0) {
				conn_close(c, "closed by the peer");
				return;
			}
		}
		if (ua_verbosity >= 2) {
			char a[80];

			addr_format(&c->peer, a, sizeof(a));
			ua_log(LOG_TRACE, "received %zd bytes over %s from %s", n, proto_name(c->proto), a);
		}
		c->in_len += (size_t)n;
		c->last = ua_now_mono_ms();
		frame(ua, c);
		if ((size_t)n < room && !(c->ssl && SSL_pending(c->ssl)))
			return;
	}
}

static void connected(struct conn *c)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 || err) {
		conn_close(c, err ? strerror(err) : "connect failed");
		return;
	}
	c->connecting = false;
	c->local.len = sizeof(c->local.ss);
	getsockname(c->fd, (struct sockaddr *)&c->local.ss, &c->local.len);
}

/* ---- the loop ------------------------------------------------------------------------------- */

struct pollfd *streams_pollfds(struct ua *ua, size_t *n)
{
	struct streams *s = ua->streams;
	size_t want, k = 0;

	*n = 0;
	if (!s)
		return NULL;
	sweep(s);
	want = s->nl + s->n;
	if (want > s->pfd_cap) {
		struct pollfd *p = realloc(s->pfd, want * sizeof(*p));

		if (!p)
			return NULL;
		s->pfd = p;
		s->pfd_cap = want;
	}
	for (size_t i = 0; i < s->nl; i++)
		s->pfd[k++] = (struct pollfd){.fd = s->l[i].fd, .events = POLLIN};
	for (size_t i = 0; i < s->n; i++) {
		struct conn *c = s->c[i];
		short ev = c->connecting ? POLLOUT : POLLIN;

		if (!c->connecting && (c->out_off < c->out_len || c->ssl_wants_write))
			ev |= POLLOUT;
		s->pfd[k++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	*n = k;
	return s->pfd;
}

void streams_handle(struct ua *ua, const struct pollfd *p, size_t n)
{
	struct streams *s = ua->streams;
	size_t nconn;

	if (!s || n != s->nl + s->n)
		return;
	nconn = s->n; /* connections accepted below are polled next round */
	for (size_t i = 0; i < nconn; i++) {
		struct conn *c = s->c[i];
		short re = p[s->nl + i].revents;

		if (c->closed || !re)
			continue;
		if (c->connecting) {
			connected(c);
			if (!c->closed)
				conn_flush(c);
			continue;
		}
		if (re & (POLLIN | POLLHUP | POLLERR))
			conn_read(ua, c);
		if (!c->closed && (re & POLLOUT)) {
			c->ssl_wants_write = false;
			if (c->ssl && !c->handshaken)
				handshake(c);
			conn_flush(c);
		}
	}
	for (size_t i = 0; i < s->nl; i++) {
		if (p[i].revents & POLLIN)
			accept_some(s, &s->l[i]);
	}
	sweep(s);
}

static uint64_t conn_deadline(const struct streams *s, const struct conn *c)
{
	uint64_t d = c->last + (uint64_t)s->lim.idle_s * 1000;

	if (!c->had_message && c->created + STREAM_MESSAGE_MS < d)
		d = c->created + STREAM_MESSAGE_MS;
	if (c->msg_started && c->msg_started + STREAM_MESSAGE_MS < d)
		d = c->msg_started + STREAM_MESSAGE_MS;
	return d;
}

int streams_timeout(struct ua *ua)
{
	struct streams *s = ua->streams;
	uint64_t now = ua_now_mono_ms(), t = UINT64_MAX;

	if (!s)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		uint64_t d = conn_deadline(s, s->c[i]);

		if (!s->c[i]->closed && d < t)
			t = d;
	}
	if (t == UINT64_MAX)
		return -1;
	return t <= now ? 0 : t - now > 60000 ? 60000 : (int)(t - now);
}

void streams_run_timers(struct ua *ua)
{
	struct streams *s = ua->streams;
	uint64_t now = ua_now_mono_ms();

	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct conn *c = s->c[i];

		if (c->closed || conn_deadline(s, c) > now)
			continue;
		if (c->msg_started && c->msg_started + STREAM_MESSAGE_MS <= now)
			conn_close(c, "a message not complete within 10 s (slow sender, or a Content-Length bigger than what follows)");
		else if (!c->had_message)
			conn_close(c, "no complete message within 10 s of connecting");
		else
			conn_close(c, "idle");
	}
	sweep(s);
}

size_t streams_count(const struct ua *ua)
{
	return ua->streams ? live(ua->streams) : 0;
}

void streams_close(struct ua *ua)
{
	struct streams *s = ua->streams;

	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		conn_flush(s->c[i]);
		conn_free(s->c[i]);
	}
	for (size_t i = 0; i < s->nl; i++) {
		close(s->l[i].fd);
		SSL_CTX_free(s->l[i].ctx);
	}
	if (s->refused)
		ua_log(LOG_INFO, "stream connections refused at the limits: %lu", s->refused);
	free(s->c);
	free(s->pfd);
	free(s);
	ua->streams = NULL;
}

/* ---- routing ------------------------------------------------------------------------------------ */

struct conn *streams_current(const struct ua *ua)
{
	return ua->streams ? ua->streams->current : NULL;
}

uint64_t conn_id(const struct conn *c)
{
	return c->id;
}

int conn_proto(const struct conn *c)
{
	return c->proto;
}

void conn_local(const struct conn *c, char *out, size_t len)
{
	addr_format(&c->local, out, len);
}

void stream_bind_sub(struct ua *ua, struct sippres_sub *sub)
{
	struct conn *c = streams_current(ua);
	struct ua_sub *us = sub ? sippres_sub_get_user_data(sub) : NULL;

	if (us)
		us->conn_id = c ? c->id : 0;
}

/* The transport= parameter of a URI (sips: is tls); UA_PROTO_UDP when none. */
static int uri_transport(const char *uri)
{
	const char *p = uri;

	if (strncasecmp(uri, "sips:", 5) == 0)
		return UA_PROTO_TLS;
	while ((p = strchr(p, ';')) != NULL) {
		p++;
		if (strncasecmp(p, "transport=", 10) == 0) {
			p += 10;
			if (strncasecmp(p, "tcp", 3) == 0 && !isalnum((unsigned char)p[3]))
				return UA_PROTO_TCP;
			if (strncasecmp(p, "tls", 3) == 0 && !isalnum((unsigned char)p[3]))
				return UA_PROTO_TLS;
			return UA_PROTO_UDP;
		}
	}
	return UA_PROTO_UDP;
}

static struct conn *connect_out(struct ua *ua, const struct ua_addr *dst)
{
	struct streams *s = ua->streams;
	struct conn *c;
	int fd, one = 1;
	char a[80];

	addr_format(dst, a, sizeof(a));
	if (!s || live(s) >= s->lim.max_conns) {
		ua_log(LOG_WARN, "no TCP connection to %s: %s", a, s ? "--max-connections reached" : "no tcp transport");
		return NULL;
	}
	for (size_t i = 0; i < s->n; i++) { /* one we opened before to the same place */
		if (!s->c[i]->closed && s->c[i]->proto == UA_PROTO_TCP && addr_equal(&s->c[i]->peer, dst))
			return s->c[i];
	}
	fd = socket(dst->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&dst->ss, dst->len) < 0 && errno != EINPROGRESS) {
		ua_log(LOG_WARN, "connect %s: %s", a, strerror(errno));
		close(fd);
		return NULL;
	}
	c = conn_new(s, fd, UA_PROTO_TCP, dst);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->connecting = true;
	c->had_message = true; /* ours: only the idle timeout applies */
	ua_log(LOG_DEBUG, "tcp connection %llu to %s", (unsigned long long)c->id, a);
	return c;
}

int stream_route(struct ua *ua, struct sippres_sub *sub, const char *contact, const struct ua_addr *dst,
                 struct notify_route *rt)
{
	struct ua_sub *us = sippres_sub_get_user_data(sub);
	uint64_t id = us ? us->conn_id : 0;
	struct conn *c = id && ua->streams ? find(ua->streams, id) : NULL;
	int want = uri_transport(contact);

	memset(rt, 0, sizeof(*rt));
	if (c && !c->closed) {
		rt->proto = c->proto;
		rt->conn_id = c->id;
		conn_local(c, rt->local, sizeof(rt->local));
		return 0;
	}
	if (want == UA_PROTO_TCP) {
		c = connect_out(ua, dst);
		if (!c)
			return -1;
		if (us)
			us->conn_id = c->id;
		rt->proto = UA_PROTO_TCP;
		rt->conn_id = c->id;
		conn_local(c, rt->local, sizeof(rt->local));
		return 0;
	}
	if (want == UA_PROTO_TLS || id) {
		/* the phone's TLS connection is gone (we do not open TLS connections to phones), or its TCP one is
		 * and its Contact does not say tcp: RFC 3261 lets a sip: Contact without transport take UDP */
		if (want == UA_PROTO_TLS) {
			ua_log(LOG_WARN, "NOTIFY to %s: the subscriber's TLS connection is closed", contact);
			return -1;
		}
		if (us)
			us->conn_id = 0;
	}
	rt->proto = UA_PROTO_UDP;
	return 0;
}
