/* SPDX-License-Identifier: MIT */
/* Stream transports of the mini UA: SIP over TCP and TLS (RFC 3261 18.3 and
 * 26.2), from pjsip.conf type=transport sections. Each connection is framed
 * by Content-Length and bounded (bytes buffered, time to complete a message,
 * idle time); connections are bounded in number, in total and per source
 * address. A complete message goes through the same entry point as a UDP
 * datagram (ua_on_datagram()), so every per-request check and limit applies
 * alike; its responses go back on its connection, and the NOTIFYs of a
 * subscription made over a connection go out on that connection. */
#ifndef MINI_UA_TRANSPORT_H
#define MINI_UA_TRANSPORT_H

#include <poll.h>

#include <libsippresence/libsippresence.h>

#include "ua.h"

#define UA_PROTO_UDP 0
#define UA_PROTO_TCP 1
#define UA_PROTO_TLS 2

/* Defaults of the command line's limits. */
#define STREAM_MAX_CONNS_DEFAULT 1024
#define STREAM_MAX_PER_SOURCE_DEFAULT 64
#define STREAM_IDLE_DEFAULT_S 600
/* One message: its headers and body buffered at most (a longer one closes the connection). */
#define STREAM_MAX_MESSAGE 65536
/* A message must be complete within this of its first byte (slowloris), and a connection that never
 * completed one is closed after it too. */
#define STREAM_MESSAGE_MS 10000
/* Bytes waiting to be written to one connection; more closes it (a peer that does not read). */
#define STREAM_MAX_OUT (1024u * 1024u)

struct ua;
struct conn;
struct streams;

/* A pjsip.conf transport section as the loader gave it (strings copied). */
struct transport_conf {
	char *name;
	struct sippres_conf_transport t;
	struct transport_conf *next;
};
/* Copy one (the config hook); -1: out of memory. */
int transport_conf_add(struct transport_conf **list, const char *name, const struct sippres_conf_transport *t);
void transport_conf_free(struct transport_conf *list);

struct stream_limits {
	unsigned max_conns, max_per_source, idle_s;
};

/* Open a listener per tcp and tls section of confs (udp ones: logged, --listen is the UDP socket). Each
 * logs "listening on tcp|tls ADDR:PORT". Returns 0, or -1 (logged: a bind, a certificate or key failed). */
int streams_open(struct ua *ua, const struct transport_conf *confs, const struct stream_limits *lim);
void streams_close(struct ua *ua);
/* pollfds for the listeners and connections: *n entries in a buffer the streams own (valid until the
 * next call), for poll(); streams_handle() takes them back. */
struct pollfd *streams_pollfds(struct ua *ua, size_t *n);
void streams_handle(struct ua *ua, const struct pollfd *p, size_t n);
/* Idle and unfinished-message timeouts; ms until the next (-1: none). */
int streams_timeout(struct ua *ua);
void streams_run_timers(struct ua *ua);
size_t streams_count(const struct ua *ua);

/* The connection a message is being handled from, NULL: UDP. */
struct conn *streams_current(const struct ua *ua);
uint64_t conn_id(const struct conn *c);
int conn_proto(const struct conn *c);
/* The connection's local address as host:port (for Via and Contact). */
void conn_local(const struct conn *c, char *out, size_t len);
/* A response to the message being handled from a connection (dst its peer): queued on it, true; false
 * when the message came over UDP (or dst is elsewhere). */
bool stream_reply(struct ua *ua, const struct ua_addr *dst, const char *data, size_t len);
/* Queue data on the live connection id; false when it is gone or over its limit (then closed). */
bool stream_send_id(struct ua *ua, uint64_t id, const char *data, size_t len);

/* Where a NOTIFY for sub goes: over the connection the subscription came in on (its struct ua_sub's
 * conn_id), else a
 * Contact with transport=tcp gets a new TCP connection, else UDP (proto 0). */
struct notify_route {
	int proto;
	uint64_t conn_id;     /* streams: the connection */
	char local[80];       /* streams: host:port for Via and Contact */
};
int stream_route(struct ua *ua, struct sippres_sub *sub, const char *contact, const struct ua_addr *dst,
                 struct notify_route *rt);
/* Mark sub as living on the current connection (none: UDP). */
void stream_bind_sub(struct ua *ua, struct sippres_sub *sub);
/* "UDP" in the top Via of a built message becomes the route's transport; ";transport=tcp|tls" is added
 * to the Contact URI of a NOTIFY (both in place or by reallocation; false: out of memory). */
bool stream_patch_message(char **msg, size_t *len, int proto);
const char *proto_name(int proto); /* "udp", "tcp", "tls" */

/* The first message of a stream buffer (no leading CRLF): 1 complete, *total its length; 0 more bytes
 * needed; -1 no Content-Length; -2 longer than STREAM_MAX_MESSAGE or a bad Content-Length. */
int sip_stream_frame(const char *b, size_t avail, size_t *total);

/* tls.c: a server context from a transport section (certificate, key, CAs, client checks, method,
 * ciphers); NULL: logged. A client context that checks the server against ca (NULL: no check). */
void *tls_server_ctx(const struct transport_conf *c);
void *tls_client_ctx(const char *ca);
void tls_ctx_free(void *ctx);

#endif
