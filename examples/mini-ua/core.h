/* SPDX-License-Identifier: MIT */
/* The running notifier: one context, one UDP socket, transactions, storage. */
#ifndef MINI_UA_CORE_H
#define MINI_UA_CORE_H

#include <poll.h>

#include <libsippresence/libsippresence.h>

#include "ua-limits.h"
#include "store.h"
#include "ua.h"

struct strset {
	char **slots;
	size_t cap, count;
};
int strset_add(struct strset *s, const char *v);
bool strset_has(const struct strset *s, const char *v);
void strset_free(struct strset *s);

struct outpub; /* publish.c */
struct ua_auth; /* auth.c */
struct streams; /* transport.c */
struct sippres_redis; /* cluster.c */
struct inbox_item;
struct rsp_out {
	char *data;
	size_t len;
	struct ua_addr dst;
};
/* At most this many NOTIFYs unanswered at once; the rest of a burst waits in
 * the send queue for answers (flow control: a burst never outruns the
 * subscribers, so their answers do not overflow the socket and nothing is
 * retransmitted for being late). */
#define UA_INFLIGHT_MAX 1024
#define UA_INBOX_MAX_BYTES (64u << 20) /* read ahead during a send burst at most this much */

/* --notify-contact: where NOTIFYs may go (docs/security.md, "Reflection") */
enum {
	UA_CONTACT_MATCH,  /* the Contact when its address is the SUBSCRIBE's source; else held until the subscriber
	                      proves it received the 200 (an in-dialog request with our tag) */
	UA_CONTACT_SOURCE, /* the SUBSCRIBE's source address, whatever the Contact says (NAT, like rport) */
	UA_CONTACT_ANY,    /* the Contact, as before (trusted networks only) */
};

/* The limits, as command-line options and as keys of pjsip.conf's type=global section. */
enum {
	UA_OPT_MAX_SUBS = 1, UA_OPT_MAX_SUBS_EP = 2, UA_OPT_MAX_SUBS_SRC = 4, UA_OPT_RATE = 8, UA_OPT_CACHE = 16,
	UA_OPT_CONTACT = 32,
};

/* What the UA keeps of each subscription (sippres_sub_set_user_data). */
struct ua_sub {
	struct ua_addr src;        /* where its initial SUBSCRIBE came from; len 0: unknown (restored) */
	bool proven;               /* NOTIFYs may go out (and its record be stored) */
	bool counted;              /* in limits.c's counts (limits_sub_add took it) */
	bool have_cseq;
	uint32_t remote_cseq;      /* the subscriber's last CSeq (RFC 3261 12.2.2) */
	uint64_t conn_id;          /* transport.c: the TCP or TLS connection its NOTIFYs go on; 0: UDP */
	char *contact;             /* the Contact last resolved for its NOTIFYs (NULL: none yet) ... */
	struct ua_addr contact_dst; /* ... to this address ... */
	int contact_r;             /* ... with this result of addr_from_uri (it is not parsed again per NOTIFY) */
	char endpoint[];
};

struct ua {
	struct sippres_ctx *ctx;
	int fd;
	struct ua_addr local;      /* bound address (real port) */
	char local_str[80];        /* host:port, [v6]:port */
	struct ntx_table ntx;
	struct stx_table stx;
	struct strset endpoints;   /* endpoint names from pjsip.conf */
	struct strset autohints;   /* contexts with autohints = yes in extensions.conf */
	struct strset lists;       /* resource list names from pjsip.conf */
	struct strset inpubs;      /* inbound-publication (resource) names from pjsip.conf */
	struct strset auths, identifies; /* type=auth and type=identify names from pjsip.conf */
	struct outpub *outpubs;    /* outbound publishes (publish.c), a list */
	struct outpub *outpubs_ending; /* removed or stopping ones whose removal PUBLISH is still to be answered */
	char *extensions_path, *pjsip_path; /* what ua_reload() reads again */
	char *state_dir;           /* NULL: no persistence */
	struct store *store;       /* store.c, with state_dir */
	struct ua_auth *auth;      /* auth.c: digest nonces and their uses */
	struct streams *streams;   /* transport.c: TCP and TLS listeners and connections; NULL: none */
	struct transport_conf *transports; /* pjsip.conf type=transport sections of the first load */
	/* NOTIFYs built in the notify callback, sent when the library call that
	 * made them returns: the library persists the subscription's next CSeq
	 * after the callback, and a crash in between must not let a restart
	 * reuse a CSeq that went out */
	struct ntx **outq;
	size_t outq_len, outq_cap;
	size_t outq_head;          /* the first entry not sent yet (the ones before it went out) */
	bool in_batch;             /* a batch of datagrams is being read: one ua_flush after it */
	size_t inflight;           /* NOTIFYs sent and not answered yet (at most UA_INFLIGHT_MAX) */
	/* NOTIFYs waiting for room in the window, in order, as records (txn.c, struct ntx_pend): once one
	 * waits, every later one waits behind it (a dialog's CSeqs go out in order) */
	struct ntx_pend **pendq;
	size_t pendq_head, pendq_len, pendq_cap;
	bool quit;
	struct sippres_redis *redis; /* cluster.c: --redis, NULL without */
	/* issue 11: limits (limits.c), the NOTIFY target policy, the subscription being created */
	struct limits limits;
	int notify_contact;        /* UA_CONTACT_* */
	unsigned opts_given;       /* UA_OPT_*: set on the command line, so pjsip.conf's [global] keys do not */
	struct ua_sub *creating;
	/* datagrams read while a burst was being sent, handled after it (core.c, inbox_fill) */
	struct inbox_item **inbox;
	size_t inbox_head, inbox_len, inbox_cap, inbox_bytes;
	bool inbox_running;
	unsigned long early_reads;
	/* UDP responses to the datagrams of a batch (in_batch), sent together by ua_flush before the NOTIFYs
	 * they cause (a 200 precedes its first NOTIFY) */
	struct rsp_out *rspq;
	size_t rspq_len, rspq_cap;
	/* statistics for logs */
	unsigned long rx, tx, retransmits, dropped, held, refused;
};

/* core.c */
/* A log line of libsippresence or libsippresence-redis (level: enum sippres_log_level), prefixed "what: ". */
void ua_log_sippres(int level, const char *what, const char *msg);
int ua_init(struct ua *ua, uint32_t t1, bool persist);
void ua_fini(struct ua *ua);
/* New limits (main.c, from the options); 0 or -1 (out of memory). */
int ua_set_limits(struct ua *ua, const struct limits_conf *c);
/* After store_load(): the restored subscriptions get their struct ua_sub (proven, source unknown). */
void ua_adopt_restored(struct ua *ua);
/* What the UA keeps of a subscription, freed (NULL: nothing). */
void ua_sub_free(struct ua_sub *us);
void ua_on_datagram(struct ua *ua, const char *buf, size_t len, const struct ua_addr *src);
/* ua_recv_batch on the server socket with ua_on_datagram-calling fn, one ua_flush at the end of the batch */
void ua_recv_all(struct ua *ua, int max, bool (*fn)(void *arg, const char *buf, size_t len, const struct ua_addr *src));
/* Run due timers (library, retransmissions, response cache). */
void ua_run_timers(struct ua *ua);
/* Milliseconds until the next timer (-1: none). */
int ua_poll_timeout(struct ua *ua);
/* One control line; writes the reply to out (ends with "OK\n" or "ERR ...\n"). */
void ua_command(struct ua *ua, const char *line, struct sbuf *out);
void ua_send(struct ua *ua, const char *data, size_t len, const struct ua_addr *dst);
/* host:port we are reachable at from dst. */
void ua_local_for(struct ua *ua, const struct ua_addr *dst, char *out, size_t len);
/* Send the NOTIFYs the library produced during the last call(s). */
void ua_flush(struct ua *ua);

/* config.c: the first load of both files (problems logged, the rest loads). Returns 0, -1: a file cannot be
 * read (logged). */
int ua_config_load(struct ua *ua, const char *extensions, const char *pjsip);
/* The keys of the type=global sections of pjsip.conf (in the file itself, not its includes) that set limits:
 * max_subscriptions, max_subscriptions_per_endpoint, max_subscriptions_per_source, rate_per_source,
 * max_response_cache, notify_contact; those given on the command line (ua->opts_given) are left alone.
 * Called by ua_config_load() and ua_reload(). Returns the number of bad values (logged), -1: unreadable. */
int ua_global_keys(struct ua *ua, const char *path);
/* Read both files again and validate them in a scratch context; any problem refuses the reload whole
 * (-1, the first problem in err, the running configuration untouched). Otherwise apply the difference
 * (unchanged hints untouched, changed ones set, removed ones removed, endpoints and lists set, the ones
 * gone removed), write a summary line to out and return 0. NOTIFYs it causes are queued (ua_flush). */
int ua_reload(struct ua *ua, struct sbuf *out, char *err, size_t errlen);

/* publish.c: the outbound publishes (type=outbound-publish), one PUBLISH client each (RFC 3903): at most one
 * PUBLISH in flight, the bodies the library hands over queued and coalesced per device, SIP-If-Match of the
 * last SIP-ETag, refreshes before expiry, 412 answered by a new initial PUBLISH, retransmission over UDP
 * (txn.c, timers E and F), retries with backoff. */
/* The config hook: add (or replace) name in *list with these facts; server_uri resolved here, once. Returns 0,
 * or -1 (logged: the section is not published to). */
int outpub_conf(struct ua *ua, struct outpub **list, const char *name, const struct sippres_conf_outbound_publish *o);
/* Make fresh (from outpub_conf) the running set: unchanged entries keep their state; new and changed ones
 * are resynced unless initial (outpub_resync_all does that once the state is restored); the ones gone are
 * removed from the library. Returns how many were added or changed; fresh is consumed. */
int outpub_apply(struct ua *ua, struct outpub *fresh, bool initial);
void outpub_resync_all(struct ua *ua);
void outpub_free_list(struct outpub *list);
/* Quit: every outbound publish ends; a live publication gets its removal (Expires: 0, SIP-If-Match). The
 * ones still waiting for an answer stay in ua->outpubs_ending: main() runs the loop for them, at most
 * OUTPUB_QUIT_MS. */
#define OUTPUB_QUIT_MS 1000
void outpub_end_all(struct ua *ua);
/* The library's publish callback. */
int outpub_body(struct ua *ua, const char *name, const char *event, const char *content_type, const char *body,
                size_t len);
/* A final or provisional response to our PUBLISH x (taken out of the table by the caller when final), or
 * status 408 when timer F fired. */
void outpub_response(struct ua *ua, const char *name, const char *branch, const struct sip_in *in, int status);
void outpub_run_timers(struct ua *ua, uint64_t mono);
uint64_t outpub_next(const struct ua *ua); /* monotonic ms, UINT64_MAX: none */
size_t outpub_count(const struct ua *ua);

/* cluster.c: --redis HOST:PORT --node-id NAME (docs/cluster.md). Without --redis every function is a no-op. */
#define CLUSTER_MAX_FDS 2
/* Connect (at the next cluster_run_timers) as node node_id; lease_ms 0: the adapter's default. 0 or -1 (logged). */
int cluster_open(struct ua *ua, const char *hostport, const char *node_id, unsigned long lease_ms);
void cluster_close(struct ua *ua);
/* The library's replicate callback. */
void cluster_replicate(struct ua *ua, const struct sippres_repl_change *c);
/* Before NOTIFYs go out: the records they describe are written to Redis first. */
void cluster_flush(struct ua *ua);
/* pollfds for the adapter's sockets (at most CLUSTER_MAX_FDS); after poll(), handle them. */
size_t cluster_pollfds(struct ua *ua, struct pollfd *p);
void cluster_handle(struct ua *ua, const struct pollfd *p, size_t n);
void cluster_run_timers(struct ua *ua);
/* The adapter's next deadline on the wall clock, UINT64_MAX: none. */
uint64_t cluster_next(struct ua *ua);

/* control.c: --control PATH, a Unix stream socket taking the control commands, several clients at once,
 * each bounded (CTL_MAX_LINE bytes a line, CTL_MAX_OUT bytes of replies waiting), all non-blocking. */
#define CTL_MAX_CLIENTS 16
#define CTL_MAX_LINE 4096
#define CTL_MAX_OUT (1024u * 1024u)
#define CTL_DEFAULT_PATH "/run/sippres-mini-ua/control"
struct ctl_client;
struct ctl_server {
	int fd;                /* -1: none */
	char *path;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	size_t n_clients;
};
/* Create the socket (mode 0660; a stale socket file is replaced, a live one or another kind of file
 * refused). Returns 0 or -1 (logged). */
int ctl_server_open(struct ctl_server *s, const char *path);
/* Best effort to hand every client its waiting replies, then close them and remove the socket file. */
void ctl_server_close(struct ctl_server *s);
/* pollfds for the listening socket and the clients (at most 1 + CTL_MAX_CLIENTS); returns how many. */
size_t ctl_server_pollfds(const struct ctl_server *s, struct pollfd *p);
/* After poll(): accept, read and run lines (ua_command), write replies, drop finished clients. */
void ctl_server_handle(struct ctl_server *s, struct ua *ua, const struct pollfd *p, size_t n);
/* `sippres-mini-ua -rx COMMAND [--control PATH]`: the exit status (0 OK, 1 ERR, 2 no connection). */
int ctl_client_main(int argc, char **argv);

#endif
