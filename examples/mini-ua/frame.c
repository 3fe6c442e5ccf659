/* SPDX-License-Identifier: MIT */
/* Messages on a stream (RFC 3261 18.3): framing by the end of the header
 * block and the Content-Length, bounded by STREAM_MAX_MESSAGE, and the Via
 * and Contact of a message sent over TCP or TLS. Shared by the notifier's
 * connections (transport.c) and the subscriber's (subscriber-stream.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport.h"

/* The Content-Length of a header block (text up to and including the blank line); -1 none, -2 bad. */
static long content_length(const char *h, size_t n)
{
	const char *p = h, *end = h + n;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon;
		size_t nl;

		if (!eol)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon) {
			const char *ne = colon;

			while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t'))
				ne--;
			nl = (size_t)(ne - p);
			if ((nl == 14 && strncasecmp(p, "content-length", 14) == 0) || (nl == 1 && (*p == 'l' || *p == 'L'))) {
				const char *v = colon + 1;
				long x = 0;

				while (v < eol && (*v == ' ' || *v == '\t'))
					v++;
				if (v >= eol || *v < '0' || *v > '9')
					return -2;
				while (v < eol && *v >= '0' && *v <= '9') {
					x = x * 10 + (*v++ - '0');
					if (x > STREAM_MAX_MESSAGE)
						return STREAM_MAX_MESSAGE + 1;
				}
				return x;
			}
		}
		p = eol + 1;
	}
	return -1;
}

int sip_stream_frame(const char *b, size_t avail, size_t *total)
{
	const char *hdr_end = memmem(b, avail, "\r\n\r\n", 4);
	long cl;

	if (!hdr_end)
		return avail >= STREAM_MAX_MESSAGE ? -2 : 0;
	cl = content_length(b, (size_t)(hdr_end - b) + 2);
	if (cl == -1)
		return -1;
	if (cl < 0 || (size_t)cl > STREAM_MAX_MESSAGE - (size_t)(hdr_end + 4 - b))
		return -2;
	*total = (size_t)(hdr_end + 4 - b) + (size_t)cl;
	return avail >= *total ? 1 : 0;
}

const char *proto_name(int proto)
{
	return proto == UA_PROTO_TLS ? "tls" : proto == UA_PROTO_TCP ? "tcp" : "udp";
}

bool stream_patch_message(char **msg, size_t *len, int proto)
{
	const char *tp = proto == UA_PROTO_TLS ? "TLS" : "TCP", *param = proto == UA_PROTO_TLS ? ";transport=tls"
	                                                                                        : ";transport=tcp";
	char *m = *msg, *via = strstr(m, "SIP/2.0/UDP"), *ct, *gt, *n;
	size_t pl = strlen(param), off;

	if (via)
		memcpy(via + 8, tp, 3);
	ct = strstr(m, "\r\nContact: <");
	if (!ct)
		return true;
	gt = strchr(ct + 12, '>');
	if (!gt || memchr(ct + 12, '\r', (size_t)(gt - ct - 12)))
		return true;
	off = (size_t)(gt - m);
	n = realloc(m, *len + pl + 1);
	if (!n)
		return false;
	memmove(n + off + pl, n + off, *len - off + 1);
	memcpy(n + off, param, pl);
	*len += pl;
	*msg = n;
	return true;
}
