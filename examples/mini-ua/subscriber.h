/* SPDX-License-Identifier: MIT */
/* `sippres-mini-ua subscribe`: the mini UA as a SIP subscriber (RFC 6665)
 * that prints every NOTIFY it receives. docs/mini-ua.md, "Subscriber mode". */
#ifndef MINI_UA_SUBSCRIBER_H
#define MINI_UA_SUBSCRIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* subscriber.c: argv[0] is "subscribe". Returns the exit status: 0 after the
 * final NOTIFY, 1 on a failed SUBSCRIBE, a timeout or a socket error, 2 for a
 * bad command line. */
int subscriber_main(int argc, char **argv);

/* ---- subscriber-stream.c: --transport tcp|tls ------------------------------------- */

struct ua_addr;
struct sub_stream;
/* Connect (and for tls the handshake, checking the server against ca and host when ca is given), at
 * most 10 s; local gets our end's address. NULL: logged. proto: UA_PROTO_TCP or UA_PROTO_TLS. */
struct sub_stream *sub_stream_open(const struct ua_addr *dst, int proto, const char *ca, const char *host,
                                   struct ua_addr *local);
int sub_stream_fd(const struct sub_stream *st);
/* Write all of data (at most 5 s). 0 or -1. */
int sub_stream_send(struct sub_stream *st, const char *data, size_t len);
/* Read what is there and hand each complete message to fn. 0, or -1 when the connection is closed or
 * sends what cannot be framed. */
int sub_stream_read(struct sub_stream *st, void (*fn)(void *arg, const char *msg, size_t len), void *arg);
void sub_stream_close(struct sub_stream *st);

/* ---- notify-print.c ---------------------------------------------------------------- */

/* One part of a multipart body: views into the body. */
struct mp_part {
	const char *headers; /* the part's header lines, without the empty line */
	size_t headers_len;
	const char *body;
	size_t body_len;
};
/* Split a multipart body (RFC 2046) at its boundary: fills up to max parts
 * and returns how many there are, or -1 when no delimiter line is found. */
int multipart_split(const char *body, size_t len, const char *boundary, struct mp_part *parts, size_t max);
/* A header of a part, value trimmed and malloc'ed; NULL: none. */
char *mime_header(const struct mp_part *part, const char *name);
/* Print a body: as it is, or part by part ("--- part 2 of 4: Content-Type:
 * ..., Content-ID: ...", nested parts numbered 2.1, 2.2, ...). */
void notify_print_body(FILE *out, const char *content_type, const char *body, size_t len);

#endif
