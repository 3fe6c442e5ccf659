/* SPDX-License-Identifier: MIT */
/* The subscriber mode over TCP or TLS (--transport, --ca): one connection to
 * the notifier, opened before the first SUBSCRIBE; the responses and NOTIFYs
 * come back on it, framed by Content-Length (sip_stream_frame()). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "subscriber.h"
#include "transport.h"

struct sub_stream {
	int fd, proto;
	SSL_CTX *ctx;
	SSL *ssl;
	char *in;
	size_t in_len;
};

/* Wait until fd is ready for events, at most ms. */
static bool wait_fd(int fd, short events, int ms)
{
	struct pollfd p = {.fd = fd, .events = events};

	return poll(&p, 1, ms) > 0;
}

struct sub_stream *sub_stream_open(const struct ua_addr *dst, int proto, const char *ca, const char *host,
                                   struct ua_addr *local)
{
	struct sub_stream *st = calloc(1, sizeof(*st));
	uint64_t deadline = ua_now_mono_ms() + 10000;
	int one = 1, err = 0;
	socklen_t el = sizeof(err);
	char a[80];

	addr_format(dst, a, sizeof(a));
	if (!st || !(st->in = malloc(STREAM_MAX_MESSAGE)))
		goto fail;
	st->proto = proto;
	st->fd = socket(dst->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (st->fd < 0)
		goto fail;
	setsockopt(st->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(st->fd, (const struct sockaddr *)&dst->ss, dst->len) < 0 &&
	    (errno != EINPROGRESS || !wait_fd(st->fd, POLLOUT, 10000) ||
	     getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)) {
		ua_log(LOG_ERR, "connect %s: %s", a, strerror(err ? err : errno));
		goto fail;
	}
	if (proto == UA_PROTO_TLS) {
		struct in6_addr ip;

		st->ctx = tls_client_ctx(ca);
		if (!st->ctx || !(st->ssl = SSL_new(st->ctx)) || SSL_set_fd(st->ssl, st->fd) != 1)
			goto fail;
		/* with --ca the certificate must also name the host: an IP address or a DNS name */
		if (ca && ((inet_pton(AF_INET, host, &ip) == 1 || inet_pton(AF_INET6, host, &ip) == 1)
		                   ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(st->ssl), host) != 1
		                   : SSL_set1_host(st->ssl, host) != 1))
			goto fail;
		if (inet_pton(AF_INET, host, &ip) != 1 && inet_pton(AF_INET6, host, &ip) != 1) {
			char sni[256]; /* the macro takes a char *; OpenSSL copies it */

			snprintf(sni, sizeof(sni), "%s", host);
			SSL_set_tlsext_host_name(st->ssl, sni);
		}
		for (;;) {
			int r = SSL_connect(st->ssl), e;

			if (r == 1)
				break;
			e = SSL_get_error(st->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				if (ua_now_mono_ms() < deadline) {
					wait_fd(st->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 1000);
					continue;
				}
			}
			{
				unsigned long x = ERR_get_error();

				ua_log(LOG_ERR, "TLS with %s: %s", a, x ? ERR_reason_error_string(x) : "handshake failed");
				goto fail;
			}
		}
		ua_log(LOG_DEBUG, "TLS with %s: %s, %s", a, SSL_get_version(st->ssl), SSL_get_cipher(st->ssl));
	}
	local->len = sizeof(local->ss);
	getsockname(st->fd, (struct sockaddr *)&local->ss, &local->len);
	return st;
fail:
	sub_stream_close(st);
	return NULL;
}

int sub_stream_fd(const struct sub_stream *st)
{
	return st->fd;
}

int sub_stream_send(struct sub_stream *st, const char *data, size_t len)
{
	size_t off = 0;
	uint64_t deadline = ua_now_mono_ms() + 5000;

	while (off < len) {
		ssize_t w;

		if (st->ssl) {
			int r = SSL_write(st->ssl, data + off, (int)(len - off)), e;

			if (r > 0) {
				off += (size_t)r;
				continue;
			}
			e = SSL_get_error(st->ssl, r);
			if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) || ua_now_mono_ms() > deadline)
				return -1;
			wait_fd(st->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 1000);
			continue;
		}
		w = send(st->fd, data + off, len - off, MSG_NOSIGNAL);
		if (w < 0) {
			if ((errno != EAGAIN && errno != EINTR) || ua_now_mono_ms() > deadline)
				return -1;
			wait_fd(st->fd, POLLOUT, 1000);
			continue;
		}
		off += (size_t)w;
	}
	if (ua_verbosity >= 2)
		ua_log(LOG_TRACE, "send %zu bytes over %s:\n%.*s", len, proto_name(st->proto), (int)len, data);
	return 0;
}

int sub_stream_read(struct sub_stream *st, void (*fn)(void *arg, const char *msg, size_t len), void *arg)
{
	for (;;) {
		size_t off = 0, total = 0;
		ssize_t n;
		int r;

		if (st->ssl) {
			int x = SSL_read(st->ssl, st->in + st->in_len, (int)(STREAM_MAX_MESSAGE - st->in_len));

			if (x <= 0) {
				int e = SSL_get_error(st->ssl, x);

				return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
			}
			n = x;
		} else {
			n = recv(st->fd, st->in + st->in_len, STREAM_MAX_MESSAGE - st->in_len, 0);
			if (n == 0)
				return -1;
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -1;
		}
		st->in_len += (size_t)n;
		for (;;) {
			while (off < st->in_len && (st->in[off] == '\r' || st->in[off] == '\n'))
				off++;
			r = sip_stream_frame(st->in + off, st->in_len - off, &total);
			if (r < 0)
				return -1;
			if (r == 0)
				break;
			fn(arg, st->in + off, total);
			off += total;
		}
		memmove(st->in, st->in + off, st->in_len - off);
		st->in_len -= off;
		if (st->in_len >= STREAM_MAX_MESSAGE)
			return -1;
	}
}

void sub_stream_close(struct sub_stream *st)
{
	if (!st)
		return;
	if (st->ssl) {
		SSL_shutdown(st->ssl);
		SSL_free(st->ssl);
	}
	SSL_CTX_free(st->ctx);
	if (st->fd > 0)
		close(st->fd);
	free(st->in);
	free(st);
}
