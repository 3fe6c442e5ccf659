/* SPDX-License-Identifier: MIT */
/* Socket addresses: --listen parsing, formatting, URI targets; sending and receiving datagrams. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <osipparser2/osip_port.h>

#include "ua.h"

int addr_from_host_port(const char *host, unsigned port, struct ua_addr *out)
{
	char h[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (port > 65535)
		return -1;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		if (n - 2 >= sizeof(h))
			return -1;
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		host = h;
	}
	memset(out, 0, sizeof(*out));
	{
		struct sockaddr_in *a = (struct sockaddr_in *)&out->ss;

		if (inet_pton(AF_INET, host, &a->sin_addr) == 1) {
			a->sin_family = AF_INET;
			a->sin_port = htons((uint16_t)port);
			out->len = sizeof(*a);
			return 0;
		}
	}
	{
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->ss;

		if (inet_pton(AF_INET6, host, &a->sin6_addr) == 1) {
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((uint16_t)port);
			out->len = sizeof(*a);
			return 0;
		}
	}
	return -1;
}

int addr_parse_listen(const char *s, struct ua_addr *out)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	char *end;
	unsigned long port;
	size_t hl;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -1;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon) /* bare IPv6 needs brackets */
			return -1;
	}
	hl = (size_t)(colon - s);
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (!colon[1])
		return -1;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return -1;
	return addr_from_host_port(host, (unsigned)port, out);
}

void addr_host(const struct ua_addr *a, char *buf, size_t len)
{
	if (a->ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, buf, (socklen_t)len);
}

unsigned addr_port(const struct ua_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

void addr_format(const struct ua_addr *a, char *buf, size_t len)
{
	char h[INET6_ADDRSTRLEN];

	addr_host(a, h, sizeof(h));
	if (a->ss.ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", h, addr_port(a));
	else
		snprintf(buf, len, "%s:%u", h, addr_port(a));
}

bool addr_is_wildcard(const struct ua_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

bool addr_equal(const struct ua_addr *a, const struct ua_addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return false;
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	} else {
		const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
}

int addr_from_uri(const char *uri, int family, struct ua_addr *out)
{
	osip_uri_t *u = NULL;
	unsigned port = 5060;
	int r = -1;

	if (osip_uri_init(&u) != 0)
		return -1;
	if (osip_uri_parse(u, uri) != 0 || !u->host || !u->host[0])
		goto out;
	if (u->port && u->port[0]) {
		char *end;
		unsigned long p = strtoul(u->port, &end, 10);

		if (*end || p == 0 || p > 65535)
			goto out;
		port = (unsigned)p;
	}
	if (addr_from_host_port(u->host, port, out) == 0) {
		r = out->ss.ss_family == family ? 0 : -1;
		goto out;
	}
	if (strcmp(u->host, "localhost") == 0) {
		r = addr_from_host_port(family == AF_INET6 ? "::1" : "127.0.0.1", port, out);
		goto out;
	}
	r = -2; /* a host name: no DNS here (docs/security.md) */
out:
	osip_uri_free(u);
	return r;
}

int addr_resolve_uri(const char *uri, int family, struct ua_addr *out)
{
	osip_uri_t *u = NULL;
	struct addrinfo hints, *res = NULL;
	unsigned port = 5060;
	int r = addr_from_uri(uri, family, out);

	if (r != -2)
		return r;
	if (osip_uri_init(&u) != 0)
		return -1;
	r = -1;
	if (osip_uri_parse(u, uri) != 0 || !u->host)
		goto out;
	if (u->port && u->port[0])
		port = (unsigned)strtoul(u->port, NULL, 10);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(u->host, NULL, &hints, &res) == 0 && res) {
		memset(out, 0, sizeof(*out));
		memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
		out->len = (socklen_t)res->ai_addrlen;
		if (family == AF_INET6)
			((struct sockaddr_in6 *)&out->ss)->sin6_port = htons((uint16_t)port);
		else
			((struct sockaddr_in *)&out->ss)->sin_port = htons((uint16_t)port);
		r = 0;
	}
	if (res)
		freeaddrinfo(res);
out:
	osip_uri_free(u);
	return r;
}

int ua_sendto(int fd, const char *data, size_t len, const struct ua_addr *dst)
{
	char a[80];

	if (ua_verbosity >= 2) {
		addr_format(dst, a, sizeof(a));
		ua_log(LOG_TRACE, "send %zu bytes to %s:\n%.*s", len, a, (int)len, data);
	}
	if (sendto(fd, data, len, 0, (const struct sockaddr *)&dst->ss, dst->len) < 0) {
		addr_format(dst, a, sizeof(a));
		ua_log(LOG_WARN, "sendto %s: %s", a, strerror(errno));
		return -1;
	}
	return 0;
}

void ua_recv_batch(int fd, int max, bool (*fn)(void *arg, const char *buf, size_t len, const struct ua_addr *src),
                   void *arg)
{
	/* up to RECV_BATCH datagrams per recvmmsg: one system call, not one each */
	enum { RECV_BATCH = 32 };
	static char bufs[RECV_BATCH][65536];
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct ua_addr src[RECV_BATCH];
	static bool busy; /* bufs are in use: a call from fn reads nothing */

	if (busy)
		return;
	busy = true;
	for (int k = 0; k < max;) {
		int want = max - k < RECV_BATCH ? max - k : RECV_BATCH, r;

		for (int i = 0; i < want; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			src[i].len = sizeof(src[i].ss);
			msgs[i].msg_hdr.msg_name = &src[i].ss;
			msgs[i].msg_hdr.msg_namelen = src[i].len;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		r = recvmmsg(fd, msgs, (unsigned)want, MSG_DONTWAIT, NULL);
		if (r <= 0)
			break;
		for (int i = 0; i < r; i++) {
			src[i].len = msgs[i].msg_hdr.msg_namelen;
			if (!fn(arg, bufs[i], msgs[i].msg_len, &src[i])) {
				busy = false;
				return;
			}
		}
		k += r;
		if (r < want)
			break; /* the socket is empty */
	}
	busy = false;
}
