/* SPDX-License-Identifier: MIT */
/* sippres-mini-ua: a SIP presence notifier over UDP with libsippresence inside.
 * Shared declarations of the program's parts. */
#ifndef MINI_UA_H
#define MINI_UA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <osipparser2/osip_parser.h>

#include "ctl.h"
#include "sbuf.h"

/* ---- util.c --------------------------------------------------------------- */

extern int ua_verbosity; /* 0: info, 1: debug (-v), 2: SIP trace (-vv) */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void ua_log(int level, const char *fmt, ...); /* level: 0 error, 1 warning, 2 info, 3 debug, 4 trace */
#define LOG_ERR 0
#define LOG_WARN 1
#define LOG_INFO 2
#define LOG_DEBUG 3
#define LOG_TRACE 4

uint64_t ua_now_wall_ms(void); /* CLOCK_REALTIME: the library's clock (survives restarts) */
uint64_t ua_now_mono_ms(void); /* CLOCK_MONOTONIC: retransmission timers */
int ua_random(void *buf, size_t len);
/* a token of n characters [0-9a-z] (n+1 bytes written) */
void ua_random_token(char *out, size_t n);
uint64_t ua_fnv64(const void *p, size_t n);
/* v in decimal into out (at least 21 bytes), NUL-terminated; returns the number of digits. */
size_t ua_utoa(char *out, uint64_t v);
/* strdup(s), NULL for NULL; a failed copy sets *oom. */
char *ua_strdup_or_null(const char *s, bool *oom);
/* Room for one more element in an array grown by doubling (*v, *cap elements of size bytes; first: its first
 * capacity) when len == *cap; false: out of memory (the array unchanged). */
bool ua_grow(void *v, size_t *cap, size_t len, size_t size, size_t first);
/* A keyed hash (SipHash-2-4, key drawn at the first call): for tables whose keys come from the network. */
uint64_t ua_hash(const void *p, size_t n);

/* A whole file, NUL-terminated (not counted in *len); NULL with errno set. */
char *ua_read_file(const char *path, size_t *len);

/* ---- addr.c ------------------------------------------------------------------ */

struct ua_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};
/* "127.0.0.1:5070", "[::1]:5070", "[::]:5060", "0.0.0.0:5060" (port required). */
int addr_parse_listen(const char *s, struct ua_addr *out);
/* Numeric host (IPv4, IPv6 with or without brackets) and port. */
int addr_from_host_port(const char *host, unsigned port, struct ua_addr *out);
/* "1.2.3.4:5" or "[::1]:5" */
void addr_format(const struct ua_addr *a, char *buf, size_t len);
/* Host only, IPv6 without brackets. */
void addr_host(const struct ua_addr *a, char *buf, size_t len);
unsigned addr_port(const struct ua_addr *a);
bool addr_is_wildcard(const struct ua_addr *a);
bool addr_equal(const struct ua_addr *a, const struct ua_addr *b);
/* Where to send a request for this URI string (sip:user@host:port;params): numeric hosts and "localhost"
 * only, never DNS (it would block the event loop). -1: unusable, -2: a host name. family: AF_INET or AF_INET6. */
int addr_from_uri(const char *uri, int family, struct ua_addr *out);
/* addr_from_uri(), and a host name through getaddrinfo (blocking): for configuration (outbound publish
 * servers, resolved once at load) and the subscriber mode, never for an address a peer sent. */
int addr_resolve_uri(const char *uri, int family, struct ua_addr *out);
/* One datagram (every byte logged with -vv). 0, or -1 when sendto fails (logged). */
int ua_sendto(int fd, const char *data, size_t len, const struct ua_addr *dst);
/* Up to max datagrams waiting on a non-blocking socket, each to fn, until fn returns false. */
void ua_recv_batch(int fd, int max, bool (*fn)(void *arg, const char *buf, size_t len, const struct ua_addr *src),
                   void *arg);

/* ---- sipmsg.c ---------------------------------------------------------------- */

void sipmsg_init(void); /* parser_init + osip traces to our log */

/* Caps on a datagram's headers, counted before it is parsed; beyond one a request gets 400 with the cap's
 * name as its reason phrase (docs/security.md), a response is dropped. Via and Accept count each value of a
 * comma list. */
#define SIP_MAX_HEADERS 256
#define SIP_MAX_VIA 32
#define SIP_MAX_ACCEPT 32

/* A parsed datagram: osip message plus the facts every handler needs. */
struct sip_in {
	osip_message_t *msg;
	bool is_request;
	const char *method;     /* requests */
	int status;             /* responses */
	char *call_id;          /* "number@host" */
	const char *from_tag;   /* NULL: none */
	const char *to_tag;     /* NULL: none */
	uint32_t cseq;
	const char *cseq_method;
	const char *branch;     /* top Via branch, NULL: none */
	const char *bad;        /* requests: a reason to answer 400, else NULL */
	const char *bad_reason; /* with bad: the reason phrase of the 400 (NULL: "Bad Request") */
	const char *body;       /* the body as received (into the datagram given to sip_parse); NULL: none */
	size_t body_len;
	bool body_short;        /* Content-Length says more bytes than the datagram has */
	char branch_buf[64];    /* the branch of a response read without libosip2 (msg NULL) */
	struct sip_fast *fast;  /* a plain SUBSCRIBE read without libosip2 (msg NULL): sip-fast.c */
	char call_id_buf[96];   /* call_id when it fits, read without libosip2 (not malloc'ed then) */
};
/* Parse and check the mandatory headers (Via, From, To, Call-ID, CSeq whose
 * method matches). Returns 0, or -1 with a reason in err (message dropped). */
int sip_parse(const char *buf, size_t len, struct sip_in *in, char *err, size_t errlen);
/* sip_parse for the notifier: a plain answer to one of its NOTIFYs is read by
 * hand, with msg NULL (only branch, CSeq, Call-ID and status set); anything
 * else as sip_parse. Callers must not use msg of a NOTIFY response. */
int sip_parse_notifier(const char *buf, size_t len, struct sip_in *in, char *err, size_t errlen);
void sip_in_free(struct sip_in *in);
/* The user part of a request's Request-URI ("" when none; NULL: not a request). */
const char *sip_ruri_user(const struct sip_in *in);

/* The facts of a SUBSCRIBE for the library. Strings owned by the struct. */
struct sub_facts {
	char *ruri_scheme, *ruri_user, *ruri_host;
	unsigned ruri_port;
	char *from_uri, *from_user;
	char *contact;          /* NULL: no Contact */
	char *event, *event_id; /* NULL: none */
	char **accept;          /* each Accept element ("" for an empty Accept header) */
	size_t n_accept;
	int64_t expires;        /* -1: none */
	bool eventlist;         /* Supported: eventlist */
	char *user_agent;
	const char *bad;        /* non-NULL: a reason to answer 400 */
};
int sip_subscribe_facts(const struct sip_in *in, struct sub_facts *f); /* < 0: out of memory */
void sub_facts_free(struct sub_facts *f);

/* The facts of a PUBLISH (RFC 3903) for the library. Strings owned by the struct; the body stays in the
 * sip_in (in->body, in->body_len). */
struct pub_facts {
	char *ruri_user;        /* "" when the Request-URI has none */
	char *from_user;        /* NULL: none */
	char *event;            /* the package without parameters; NULL: none */
	char *if_match;         /* SIP-If-Match, trimmed; NULL: none */
	char *content_type;     /* type/subtype without parameters; NULL: none */
	int64_t expires;        /* -1: none */
	const char *bad;        /* non-NULL: a reason to answer 400 */
};
int sip_publish_facts(const struct sip_in *in, struct pub_facts *f); /* < 0: out of memory */
void pub_facts_free(struct pub_facts *f);
/* Expires header: -1 absent, -2 malformed, else the value (capped at 2^32-1). */
int64_t sip_expires(const struct sip_in *in);
/* The value of the first header called name or its compact form (NULL: none). */
const char *sip_header(const struct sip_in *in, const char *name, const char *compact);
/* A parameter of a MIME or SIP header value (`boundary` in `multipart/related;boundary="x"`, `id` in
 * `dialog;id=3`), unquoted and malloc'ed; NULL: none. */
char *mime_param(const char *value, const char *name);
/* true when a header (name or compact form) lists token (comma lists, any case). */
bool sip_header_has_token(const struct sip_in *in, const char *name, const char *compact, const char *token);

/* Build a response to a request. src: where the request came from (received/rport).
 * to_tag: added when the To has none (NULL: random). extra: more header lines
 * ("Name: value\r\n"...) or NULL. Returns a malloc'ed message or NULL. */
char *sip_build_response(const struct sip_in *req, const struct ua_addr *src, int status, const char *reason,
                         const char *to_tag, const char *extra, size_t *len);

/* The start of a request: request line, Via (UDP, rport), From, To (to_tag NULL: none), Call-ID, CSeq,
 * Contact and Max-Forwards: 70; the caller adds the rest. NULL: a field osip cannot parse, or out of memory. */
struct sip_request_head {
	const char *method, *ruri;
	const char *via_sent_by, *branch;
	const char *from_uri, *from_tag;
	const char *to_uri, *to_tag;
	const char *call_id;
	uint32_t cseq;
	const char *contact;
};
osip_message_t *sip_request_start(const struct sip_request_head *h);

/* sip_build_response(), then sent from fd to src. Returns the message for the caller to keep or free; NULL
 * when it cannot be built (logged). sent (may be NULL): whether sendto took it. */
char *sip_send_response(int fd, const struct sip_in *req, const struct ua_addr *src, int status, const char *reason,
                        const char *to_tag, const char *extra, size_t *len, bool *sent);

struct notify_out {
	const char *ruri;          /* the subscriber's Contact */
	const char *via_sent_by;   /* host:port ([v6]:port) */
	const char *branch;
	const char *from_uri, *from_tag;
	const char *to_uri, *to_tag;
	const char *call_id;
	uint32_t cseq;
	const char *contact;       /* our Contact URI */
	const char *event;
	const char *subscription_state;
	const char *content_type;  /* NULL: no body */
	const char *body;
	size_t body_len;
	bool require_eventlist;
	const char *allow_events;  /* NULL: none */
	const char *user_agent;    /* NULL: none */
};
/* Returns a malloc'ed NOTIFY or NULL (a field osip cannot parse, or out of memory). */
char *sip_build_notify(const struct notify_out *n, size_t *len);
/* sip_build_notify's direct writing at head bytes into a malloc'ed block (returned; the message at block + head,
 * *len bytes): a NOTIFY transaction and its message in one allocation (ntx_add_at). NULL: fields that are not
 * plain (sip_build_notify takes libosip2's path for them), or out of memory. */
char *sip_build_notify_at(const struct notify_out *n, size_t head, size_t *len);
/* Fields plain enough for the direct writing (sip_build_notify takes libosip2's path for the others). */
bool sip_notify_plain(const struct notify_out *n);
/* The direct writing in two steps: at most sip_notify_size(n) bytes (NUL included), written to out by
 * sip_notify_write (returns the message's length). Only for sip_notify_plain(n). */
size_t sip_notify_size(const struct notify_out *n);
size_t sip_notify_write(const struct notify_out *n, char *out);
/* The same through libosip2 (sip_build_notify takes it for fields that are
 * not plain; the tests compare the two). */
char *sip_build_notify_osip(const struct notify_out *n, size_t *len);
struct publish_out {
	const char *ruri;          /* the server_uri */
	const char *via_sent_by;
	const char *branch;
	const char *from_uri, *from_tag, *to_uri;
	const char *call_id;
	uint32_t cseq;
	const char *contact;
	const char *event;
	uint32_t expires;
	const char *if_match;      /* NULL: an initial publication */
	const char *content_type;  /* NULL: no body (a refresh) */
	const char *body;
	size_t body_len;
	const char *user_agent;    /* NULL: none */
};
/* Returns a malloc'ed PUBLISH (RFC 3903) or NULL (a field osip cannot parse, or out of memory). */
char *sip_build_publish(const struct publish_out *p, size_t *len);
/* osip's text of a message as a malloc'd, NUL-terminated copy (free()); NULL on failure. */
char *sip_message_to_malloc(osip_message_t *m, size_t *len);
/* Append user as the user part of a SIP URI (RFC 3261 25.1): characters outside its set are %-escaped, so a
 * Contact built from a Request-URI is never malformed. */
void sip_user_escape(struct sbuf *b, const char *user);
/* user part of a SIP URI string (malloc'ed), NULL if none. */
char *sip_uri_user(const char *uri);
/* Reason phrase for a status. */
const char *sip_reason(int status);

/* ---- sip-fast.c: a plain SUBSCRIBE without libosip2 -------------------------------- */

/* Read buf as a plain SUBSCRIBE (in->fast set, in->msg NULL, in->call_id malloc'ed; every field sip_parse
 * sets for a request): true, else false with *in untouched (not plain: libosip2's path). buf must stay valid
 * while in is used (responses built from it). */
bool sip_parse_fast(const char *buf, size_t len, struct sip_in *in);
void sip_fast_free(struct sip_fast *f);
/* The value of the first header called name or compact (NULL: none), as sip_header gives it. */
const char *sip_fast_header(const struct sip_fast *f, const char *name, const char *compact);
bool sip_fast_header_at(const struct sip_fast *f, size_t i, const char **name, const char **value);
/* The top Via's sent-by as libosip2 gives it (port NULL: none). */
void sip_fast_via(const struct sip_fast *f, const char **host, const char **port);
const char *sip_fast_ruri_user(const struct sip_fast *f);
/* sip_subscribe_facts' fields taken from the URIs and lists (Request-URI, From, Contact, Accept). */
int sip_fast_facts(const struct sip_fast *f, struct sub_facts *sf);
/* The response sip_build_response writes, byte for byte, written directly; add_to_tag: the To tag to add
 * (NULL: none). NULL: extra is not plain (libosip2's path) or out of memory. */
char *sip_fast_response(const struct sip_fast *f, const struct ua_addr *src, int status, const char *reason,
                        const char *add_to_tag, const char *extra, size_t *len);
const char *sip_fast_raw(const struct sip_fast *f, size_t *len);
/* Both ways on one datagram: when sip_parse_fast takes it, the fields, the facts, the transaction key, the
 * header values and the responses (for a set of statuses, tags and extra headers, from src) must be those of
 * libosip2's path. Returns 1 (equal), 0 (not plain: nothing to compare) or -1 (a difference, described in
 * why). */
int sip_fast_compare(const char *buf, size_t len, const struct ua_addr *src, char *why, size_t whylen);

/* ---- txn.c ------------------------------------------------------------------- */

#define UA_T2_MS 4000u

/* What the NOTIFYs of one change that wait for room have in common (the same for every watcher of a
 * presentity's new state: our address, the presentity, the event, the body): shared, counted references,
 * freed with the last NOTIFY written from it (or ended). */
struct ntx_change {
	size_t refs;
	const char *via, *contact, *from_uri, *event, *content_type, *allow_events, *user_agent;
	bool require_eventlist;
	size_t body_len;
	const char *body;          /* NULL: no body */
	char str[];
};
/* A NOTIFY over UDP waiting for room in the window (a burst larger than UA_INFLIGHT_MAX): not yet a
 * transaction, only what differs per dialog, written into a transaction (ntx_pend_send) when it goes out. */
struct ntx_pend {
	struct ntx_change *chg;    /* NULL: ready holds the NOTIFY */
	struct ntx *ready;         /* a NOTIFY built already (not one for this form) waiting its turn in order */
	bool gone;                 /* ready ended while it waited (timer F): nothing to send */
	uint32_t cseq;
	uint64_t at;               /* when it began to wait (monotonic ms): its timer F counts from then */
	socklen_t dst_len;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} dst;
	const char *call_id, *local_tag, *ruri, *to_uri, *to_tag, *state;
	char str[];
};
/* Blocks of this size (a transaction and its message) are kept for reuse, at most NTX_POOL_MAX of them: the
 * NOTIFYs written when they go out take the block of one that was answered, still in the cache. */
#define NTX_BLOCK 2048
#define NTX_POOL_MAX 2048

/* NOTIFY client transaction (RFC 3261 17.1.2, timers E and F over UDP). */
struct ntx {
	char branch[48];
	const char *call_id, *local_tag; /* which subscription (looked up again on the outcome): in str[] */
	uint32_t cseq;
	char *data;
	size_t len;
	struct ua_addr dst;
	uint64_t start;            /* when its schedule starts (its first transmission), monotonic ms */
	uint64_t fire_at;          /* next timer (E or F), monotonic ms */
	uint64_t f_at;             /* timer F */
	uint32_t interval;         /* current E interval */
	bool proceeding;
	bool queued;               /* built, not yet sent (in ua->outq) */
	bool unproven;             /* to an address that has not answered yet: short schedule, counted in limits */
	bool held;                 /* not sent: waiting for its address to prove itself (or for timer F) */
	bool inflight;             /* sent by ua_flush and counted in ua->inflight until it ends */
	bool publish;              /* a PUBLISH of an outbound publish (call_id its Call-ID, local_tag its name) */
	bool data_inline;          /* data is in the transaction's own allocation (ntx_add_at) */
	bool pooled;               /* the transaction and its message are an NTX_BLOCK block of the table's pool */
	uint64_t conn_id;          /* sent over this stream connection (transport.c); 0: UDP */
	size_t heap_index;
	uint64_t hash;             /* of branch (its bucket) */
	struct ntx *hnext;
	char str[];                /* call_id and local_tag: one allocation with the transaction */
};

struct ntx_table {
	struct ntx **buckets;
	size_t nbuckets, count;
	struct ntx **heap;
	size_t heap_len, heap_cap;
	uint32_t t1;               /* ms, 500 by default */
	void **pool;               /* NTX_BLOCK blocks for reuse */
	size_t pool_len;
	struct ntx_change *last_change; /* the change shared last (not a reference: cleared when freed) */
	unsigned long pend_sent, pool_reused; /* statistics */
};
int ntx_table_init(struct ntx_table *t, uint32_t t1);
void ntx_table_fini(struct ntx_table *t);
/* Takes ownership of data. Returns the transaction or NULL (out of memory: data freed). */
struct ntx *ntx_add(struct ntx_table *t, const char *branch, const char *call_id, const char *local_tag, uint32_t cseq,
                    char *data, size_t len, const struct ua_addr *dst, uint64_t now);
/* The bytes before the message in a block for ntx_add_at. */
size_t ntx_head(const char *call_id, const char *local_tag);
/* ntx_add for a message already written at block + ntx_head(call_id, local_tag) (len bytes; block from malloc,
 * taken: freed on failure). */
struct ntx *ntx_add_at(struct ntx_table *t, void *block, const char *branch, const char *call_id,
                       const char *local_tag, uint32_t cseq, size_t len, const struct ua_addr *dst, uint64_t now);
struct ntx *ntx_find(struct ntx_table *t, const char *branch);
void ntx_remove(struct ntx_table *t, struct ntx *x); /* and free */
/* ntx_remove in two steps: out of the table (its fields stay readable), then freed. */
void ntx_detach(struct ntx_table *t, struct ntx *x);
void ntx_destroy(struct ntx_table *t, struct ntx *x);
/* A NOTIFY to wait for room as a record: the facts n gives that differ per dialog copied, the rest shared
 * with t->last_change when it has the same ones (n->branch is not kept: ntx_pend_send takes one). NULL: out
 * of memory. */
struct ntx_pend *ntx_pend_new(struct ntx_table *t, const struct notify_out *n, const struct ua_addr *dst,
                              uint64_t now);
/* A record holding a NOTIFY transaction built already (x->queued set: it waits in order with the others). */
struct ntx_pend *ntx_pend_ready(struct ntx *x, uint64_t now);
void ntx_pend_free(struct ntx_table *t, struct ntx_pend *p);
/* Its transaction now, its message written (with branch) into a pooled block; p freed. NULL: out of memory
 * (p kept). */
struct ntx *ntx_pend_send(struct ntx_table *t, struct ntx_pend *p, const char *branch, uint64_t now);
/* Blocks the pool holds (tests). */
size_t ntx_pool_len(const struct ntx_table *t);
/* To an address that has not answered us yet: one retransmission, timer F at 3*T1 (docs/security.md). */
void ntx_short(struct ntx_table *t, struct ntx *x);
/* Sent for the first time now (it waited in a queue since ntx_add): its timers count from now. */
void ntx_sent(struct ntx_table *t, struct ntx *x, uint64_t now);
/* Not sent until ntx_release(): only its timer F runs. */
void ntx_hold(struct ntx_table *t, struct ntx *x);
/* Sent now: the whole RFC 3261 schedule from now on. */
void ntx_release(struct ntx_table *t, struct ntx *x, uint64_t now);
/* A provisional response: retransmit every T2 from now on. */
void ntx_proceeding(struct ntx_table *t, struct ntx *x, uint64_t now);
/* Earliest timer, or UINT64_MAX. */
uint64_t ntx_next(const struct ntx_table *t);
/* The transaction whose timer is due at now, or NULL. The caller then either
 * retransmits it (ntx_fired: E) or, when now >= f_at, times it out. */
struct ntx *ntx_due(struct ntx_table *t, uint64_t now);
/* Over a reliable transport: no retransmission, only timer F (RFC 3261 17.1.2.1). */
void ntx_reliable(struct ntx_table *t, struct ntx *x);
/* After a retransmission for timer E: schedule the next one. */
void ntx_fired(struct ntx_table *t, struct ntx *x, uint64_t now);

/* Server transactions: the last response to each request, kept 64*T1 so a
 * retransmitted request gets the same answer (RFC 3261 17.2.2). */
struct stx {
	char *key;
	char *data;
	size_t len;
	uint64_t expires;          /* monotonic ms */
	struct stx *hnext, *qnext;
};
#define STX_MAX_DEFAULT 32768
struct stx_table {
	struct stx **buckets;
	size_t nbuckets, count;
	size_t max;                /* entries at most (0: no cap), STX_MAX_DEFAULT */
	unsigned long evicted;     /* dropped before their time to stay under max */
	struct stx *qhead, *qtail; /* FIFO: equal lifetimes */
	uint32_t lifetime;
};
int stx_table_init(struct stx_table *t, uint32_t lifetime_ms);
void stx_table_fini(struct stx_table *t);
/* The transaction key of a request (NULL: out of memory). */
char *stx_key(const struct sip_in *req);
const struct stx *stx_find(const struct stx_table *t, const char *key);
/* Remember a response (copies data). */
int stx_add(struct stx_table *t, const char *key, const char *data, size_t len, uint64_t now);
void stx_expire(struct stx_table *t, uint64_t now);
uint64_t stx_next(const struct stx_table *t);

#endif
