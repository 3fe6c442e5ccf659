/* SPDX-License-Identifier: MIT */
/* Publications (RFC 3903: the library as an event state compositor): the
 * engine that decides PUBLISHes and keeps publications, composes them into
 * the state the hints aggregate and publishes local device changes out
 * (asterisk-devicestate); and the body parsers it uses, the
 * asterisk-devicestate writer and the device_state_filter regex.
 *
 * The body parsers:
 *
 * Every parser takes (ctx, body, len, out) and returns 0 or a negative
 * SIPPRES_E_* code: SIPPRES_E_PARSE for a body that does not parse, has the
 * wrong root, namespace or types (the PUBLISH is answered 400),
 * SIPPRES_E_TOOBIG for a body over its size limit or nested deeper than its
 * depth limit (also 400, or 413 for the size if the engine prefers),
 * SIPPRES_E_NOMEM when an allocation failed (ours always; libxml2's and
 * jansson's wherever they say so: a namespace declaration libxml2 2.9 fails
 * to copy and a string jansson 2.14's lexer fails to copy surface only as
 * parse errors, so those give SIPPRES_E_PARSE, never a wrong result),
 * SIPPRES_E_INVAL for NULL arguments. On
 * failure nothing stays allocated and *out is zeroed; on success the matching
 * _fini frees it. Strings in the out structs are NUL-terminated, valid UTF-8
 * without control characters, owned by the struct.
 * docs/publish.md, "Bodies and their mapping", is the user-facing version of
 * the mapping tables below. */
#ifndef SIPPRES_PUBLISH_PRIVATE_H
#define SIPPRES_PUBLISH_PRIVATE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/registry-private.h"

#define SIPPRES__PUBLISH_MAX_XML (1024 * 1024) /* bytes of a PIDF or dialog-info body */
#define SIPPRES__PUBLISH_MAX_XML_DEPTH 32      /* element nesting, root = 1 */
#define SIPPRES__PUBLISH_MAX_ITEMS 256         /* tuples, persons or dialogs in one body */
#define SIPPRES__PUBLISH_MAX_JSON (64 * 1024)  /* bytes of an asterisk-devicestate body */
#define SIPPRES__PUBLISH_MAX_JSON_DEPTH 4      /* nesting of arrays and objects, the body's object = 1 */

/* ---- presence: application/pidf+xml (RFC 3863, RFC 4480 RPID) ----------- */

enum sippres__basic {
	SIPPRES__BASIC_NONE = 0, /* no <basic>, or a value that is neither open nor closed */
	SIPPRES__BASIC_OPEN = 1,
	SIPPRES__BASIC_CLOSED = 2
};

/* RFC 4480 activities (bit = 1 << index in the table in pidf-parse.c). */
#define SIPPRES__ACT_APPOINTMENT (1u << 0)
#define SIPPRES__ACT_AWAY (1u << 1)
#define SIPPRES__ACT_BREAKFAST (1u << 2)
#define SIPPRES__ACT_BUSY (1u << 3)
#define SIPPRES__ACT_DINNER (1u << 4)
#define SIPPRES__ACT_HOLIDAY (1u << 5)
#define SIPPRES__ACT_IN_TRANSIT (1u << 6)
#define SIPPRES__ACT_LOOKING_FOR_WORK (1u << 7)
#define SIPPRES__ACT_MEAL (1u << 8)
#define SIPPRES__ACT_MEETING (1u << 9)
#define SIPPRES__ACT_ON_THE_PHONE (1u << 10)
#define SIPPRES__ACT_PERFORMANCE (1u << 11)
#define SIPPRES__ACT_PERMANENT_ABSENCE (1u << 12)
#define SIPPRES__ACT_PLAYING (1u << 13)
#define SIPPRES__ACT_PRESENTATION (1u << 14)
#define SIPPRES__ACT_SHOPPING (1u << 15)
#define SIPPRES__ACT_SLEEPING (1u << 16)
#define SIPPRES__ACT_SPECTATOR (1u << 17)
#define SIPPRES__ACT_STEERING (1u << 18)
#define SIPPRES__ACT_TRAVEL (1u << 19)
#define SIPPRES__ACT_TV (1u << 20)
#define SIPPRES__ACT_UNKNOWN (1u << 21)
#define SIPPRES__ACT_VACATION (1u << 22)
#define SIPPRES__ACT_WORKING (1u << 23)
#define SIPPRES__ACT_WORSHIP (1u << 24)
#define SIPPRES__ACT_OTHER (1u << 25) /* <rpid:other> */

struct sippres__pidf {
	char *entity;        /* the presence element's entity attribute */
	uint32_t state;      /* enum sippres_presence_state, from the mapping */
	char *subtype;       /* NULL or the subtype for sippres_presence_state_set */
	char *message;       /* NULL or the chosen note */
	uint32_t basic;      /* enum sippres__basic over all tuples: open if any is open */
	uint32_t activities; /* SIPPRES__ACT_* found in persons and tuples */
	size_t n_tuples;
	size_t n_persons;
};
int sippres__pidf_parse(struct sippres_ctx *ctx, const char *body, size_t len, struct sippres__pidf *out);
void sippres__pidf_fini(struct sippres_ctx *ctx, struct sippres__pidf *p);
/* "away", "on-the-phone", ... for one SIPPRES__ACT_* bit; NULL for other values. */
const char *sippres__activity_name(uint32_t bit);

/* ---- dialog: application/dialog-info+xml (RFC 4235) --------------------- */

enum sippres__dlg_state {
	SIPPRES__DLG_TRYING = 0,
	SIPPRES__DLG_PROCEEDING = 1,
	SIPPRES__DLG_EARLY = 2,
	SIPPRES__DLG_CONFIRMED = 3,
	SIPPRES__DLG_TERMINATED = 4
};
enum sippres__dlg_direction {
	SIPPRES__DIR_NONE = 0, /* no direction attribute */
	SIPPRES__DIR_INITIATOR = 1,
	SIPPRES__DIR_RECIPIENT = 2
};
enum sippres__rendering {
	SIPPRES__RENDER_NONE = 0, /* no +sip.rendering param */
	SIPPRES__RENDER_YES = 1,
	SIPPRES__RENDER_NO = 2,
	SIPPRES__RENDER_UNKNOWN = 3
};

struct sippres__dlg_party {
	char *identity; /* <identity> text (a URI), or NULL */
	char *display;  /* its display attribute, or NULL */
	char *target;   /* <target uri=...>, or NULL */
	uint32_t rendering; /* enum sippres__rendering of the target's +sip.rendering param */
};

struct sippres__dialog {
	char *id;         /* required */
	char *call_id;    /* NULL when absent */
	char *local_tag;  /* NULL when absent */
	char *remote_tag; /* NULL when absent */
	uint32_t direction; /* enum sippres__dlg_direction */
	uint32_t state;     /* enum sippres__dlg_state */
	struct sippres__dlg_party local, remote;
};

struct sippres__dialoginfo {
	char *entity;
	uint32_t version;
	bool partial; /* state="partial" (else "full") */
	struct sippres__dialog *dialogs;
	size_t n_dialogs;
};
int sippres__dialoginfo_parse(struct sippres_ctx *ctx, const char *body, size_t len, struct sippres__dialoginfo *out);
void sippres__dialoginfo_fini(struct sippres_ctx *ctx, struct sippres__dialoginfo *d);
/* Apply a state="partial" document to the stored state (RFC 4235 4.1): each
 * of its dialogs replaces the dialog of the same id or is added; terminated
 * dialogs are then dropped; base takes partial's version. The dialogs move
 * (partial keeps no dialog; _fini it as usual). On failure (SIPPRES_E_NOMEM,
 * SIPPRES_E_TOOBIG above SIPPRES__PUBLISH_MAX_ITEMS dialogs) neither changes.
 * Version order is the caller's business. */
int sippres__dialoginfo_merge(struct sippres_ctx *ctx, struct sippres__dialoginfo *base,
                              struct sippres__dialoginfo *partial);
/* One dialog's device state: trying/proceeding/early -> RINGING (INUSE when
 * the entity initiated it), confirmed -> INUSE, confirmed with the local
 * target's +sip.rendering=no -> ONHOLD, terminated -> NOT_INUSE. */
int sippres__dialog_device_state(const struct sippres__dialog *dl);
/* The document's device state: the dialogs' states aggregated as Asterisk
 * aggregates a hint's devices (sippres_device_state_aggregate: RINGING with
 * INUSE/ONHOLD/BUSY -> RINGINUSE, else the highest ranked); NOT_INUSE when
 * there is no dialog or every dialog is terminated. */
int sippres__dialoginfo_device_state(const struct sippres__dialoginfo *d);
/* The dialog as call details for sippres_call_set (out->size set; strings are
 * views into dl). call_id is the call-id attribute, else the dialog id. */
void sippres__dialog_to_call(const struct sippres__dialog *dl, struct sippres_call *out);

/* ---- asterisk-devicestate / asterisk-mwi: application/json -------------- */

enum sippres__ast_type {
	SIPPRES__AST_DEVICESTATE = 1,
	SIPPRES__AST_MAILBOXSTATE = 2,
	SIPPRES__AST_REFRESH = 3
};
#define SIPPRES__EID_LEN 17 /* "00:11:22:33:44:55" */

struct sippres__ast_event {
	uint32_t type;                    /* enum sippres__ast_type */
	char eid[SIPPRES__EID_LEN + 1];   /* the sender's entity id, lower case */
	/* devicestate */
	char *device;                     /* e.g. "PJSIP/alice" */
	int32_t state;                    /* enum sippres_device_state */
	bool cachable;
	/* mailboxstate */
	char *uniqueid;                   /* e.g. "1000@default" */
	uint32_t old_msgs, new_msgs;
};
int sippres__ast_event_parse(struct sippres_ctx *ctx, const char *body, size_t len, struct sippres__ast_event *out);
void sippres__ast_event_fini(struct sippres_ctx *ctx, struct sippres__ast_event *ev);
/* true when s[0..len) is an entity id: six pairs of hex digits separated by
 * ':' (either case). With norm (SIPPRES__EID_LEN + 1 bytes) non-NULL, the
 * lower-case form is written there. */
bool sippres__eid_ok(const char *s, size_t len, char *norm);
/* The bodies Asterisk sends, compact, keys in Asterisk's order:
 * {"type":"devicestate","device":D,"state":S,"cachable":C,"eid":E},
 * {"type":"mailboxstate","uniqueid":U,"old":O,"new":N,"eid":E},
 * {"type":"refresh","eid":E}. *out (ctx-allocated, NUL-terminated, *out_len
 * bytes) is freed with sippres__free. SIPPRES_E_INVAL for a bad device name,
 * state or eid. */
int sippres__ast_devicestate_write(struct sippres_ctx *ctx, const char *device, int state, bool cachable,
                                   const char *eid, char **out, size_t *out_len);
int sippres__ast_mailboxstate_write(struct sippres_ctx *ctx, const char *uniqueid, uint32_t old_msgs,
                                    uint32_t new_msgs, const char *eid, char **out, size_t *out_len);
int sippres__ast_refresh_write(struct sippres_ctx *ctx, const char *eid, char **out, size_t *out_len);

/* ---- device_state_filter / mailbox_state_filter ------------------------- */

/* A POSIX extended, case-insensitive regex, matched unanchored (regexec) as
 * Asterisk matches the filters. regcomp allocates through libc's malloc, not
 * the ctx allocator. */
struct sippres__filter {
	bool set;
	regex_t re;
};
/* NULL or "" is no filter (everything passes). SIPPRES_E_PARSE for a bad
 * pattern (the reason goes to the log sink), SIPPRES_E_NOMEM, SIPPRES_E_TOOBIG
 * for a pattern over SIPPRES_MAX_TEXT bytes. */
int sippres__filter_compile(struct sippres_ctx *ctx, struct sippres__filter *f, const char *pattern);
bool sippres__filter_match(const struct sippres__filter *f, const char *s);
void sippres__filter_fini(struct sippres__filter *f);

/* ---- the hardened libxml2 loader the XML parsers share ------------------ */

struct _xmlDoc;
struct _xmlNode;
/* No network, no DTD, no entity expansion, a DOCTYPE stops the parse,
 * UTF-8 only, size and depth bounded, libxml2's messages to the log sink;
 * the root must be the element {ns}name (else SIPPRES_E_PARSE). */
int sippres__publish_xml_load(struct sippres_ctx *ctx, const char *body, size_t len, const char *ns, const char *name,
                              struct _xmlDoc **doc);
bool sippres__publish_xml_is(const struct _xmlNode *n, const char *ns, const char *name);
/* A no-namespace attribute's value (borrowed), NULL when absent. */
const char *sippres__publish_xml_attr(const struct _xmlNode *n, const char *name);
/* An element's direct text, XML white space collapsed to single spaces and
 * trimmed, ctx-allocated; SIPPRES_E_TOOBIG above max bytes. */
int sippres__publish_xml_text(struct sippres_ctx *ctx, const struct _xmlNode *n, size_t max, char **out);
/* A copy of s with white space collapsed as above; NULL s gives *out NULL. */
int sippres__publish_str(struct sippres_ctx *ctx, const char *s, size_t max, char **out);

/* ---- the engine (pubs.c, publish.c, compose.c, precord.c) -------------- */

#define SIPPRES__ETAG_LEN 16

/* A resource that may be published to (an inbound publication). */
struct sippres__pub_resource {
	struct sippres__hnode node;   /* in pubs->resources, by name */
	char *name;
	char *endpoint;
	uint32_t events;              /* SIPPRES_PUBLISH_* */
	uint32_t min_expiry, max_expiry, default_expiry;
	struct sippres__filter filter; /* asterisk-devicestate: devices taken */
	char *devicestate_publish;    /* asterisk-devicestate: where a refresh is answered; NULL: nowhere */
	char *provider;               /* "Publish:NAME" */
	char *device;                 /* "Dialog/NAME" */
	struct sippres__dlist pubs;   /* its live publications, oldest first */
	char **calls;                 /* the call-ids set on the device from dialog publications */
	size_t ncalls;
};

struct sippres_publication {
	struct sippres__hnode node;     /* in pubs->etags, by etag */
	struct sippres__dnode res_node; /* in the resource's pubs */
	struct sippres__dnode all_node; /* in pubs->all */
	struct sippres__pub_resource *res;
	char *etag;                     /* points at etag_buf */
	char etag_buf[SIPPRES__ETAG_LEN + 1];
	uint32_t event;                 /* one SIPPRES_PUBLISH_* bit */
	uint32_t heap_idx;
	uint64_t expires_at;
	uint64_t seq;                   /* when its body last changed: the latest wins (presence) */
	char *body;                     /* the body in force */
	size_t body_len;
	struct sippres__pidf pidf;      /* presence: the parsed body */
	struct sippres__dialoginfo dinfo; /* dialog: the dialogs, partial documents merged in */
};

/* Where this context's device changes are published. */
struct sippres__outbound {
	struct sippres__hnode node; /* in pubs->outbound, by name */
	char *name;
	struct sippres__filter filter;
};

/* Names an inbound publication gives as its endpoint, and how many do. */
struct sippres__publisher {
	struct sippres__hnode node;
	char *name;
	size_t nres;
};

struct sippres__pubs {
	struct sippres__map resources;  /* struct sippres__pub_resource by name */
	struct sippres__map publishers; /* struct sippres__publisher by name */
	struct sippres__map etags;      /* struct sippres_publication by etag */
	struct sippres__map outbound;   /* struct sippres__outbound by name */
	struct sippres__dlist all;      /* every live publication, oldest first */
	size_t count;
	struct sippres__heap heap;      /* publications by expiry */
	uint64_t seq;
	char eid[SIPPRES__EID_LEN + 1];
	uint8_t *record;                /* the record being handed over */
	size_t record_cap;
};

/* pubs.c: lifecycle (for the context), resources, outbound publishes */
int sippres__pubs_new(struct sippres_ctx *ctx);
void sippres__pubs_free(struct sippres_ctx *ctx);
struct sippres__pub_resource *sippres__pub_resource_find(struct sippres_ctx *ctx, const char *name);
/* The event package named event (one SIPPRES_PUBLISH_* bit), or 0. */
uint32_t sippres__pub_event_parse(const char *event);
const char *sippres__pub_event_name(uint32_t event);
const char *sippres__pub_event_type(uint32_t event);
/* Publish (device, state) to every outbound publish whose filter takes it,
 * or, with only non-NULL, to that one alone. Returns the number of bodies
 * handed over, or < 0 (SIPPRES_E_CALLBACK when the callback failed). */
int sippres__pub_out_device(struct sippres_ctx *ctx, const struct sippres__outbound *only, const char *device,
                            int state);
struct sippres__outbound *sippres__pub_outbound_find(struct sippres_ctx *ctx, const char *name);
/* Every device's state through one outbound publish. */
int sippres__pub_out_all(struct sippres_ctx *ctx, const struct sippres__outbound *o);

/* publish.c: publications */
/* End a publication: unlink it, recompose its resource, tell the host, free it. */
void sippres__pub_end(struct sippres_ctx *ctx, struct sippres_publication *p);
void sippres__pub_destroy(struct sippres_ctx *ctx, struct sippres_publication *p);
/* The earliest expiry (1, *at set) or none (0). */
int sippres__pubs_deadline(struct sippres_ctx *ctx, uint64_t *at);
/* End the publications whose expiry is at or before now; returns how many. */
int sippres__pubs_expire(struct sippres_ctx *ctx, uint64_t now);
/* Link a new publication, with etag (a restored one) or a fresh entity-tag. */
int sippres__pub_link(struct sippres_ctx *ctx, struct sippres_publication *p, uint64_t expires_at,
                      const char *etag);
/* Parse body into p and make it the body in force (p unchanged on failure). */
int sippres__pub_take_body(struct sippres_ctx *ctx, struct sippres_publication *p, const char *body, size_t len);

/* compose.c: from publications to state */
/* Parse body for event into p (presence: pidf, dialog: dinfo merged into
 * what p had). SIPPRES_E_PARSE and the like for a bad body (p unchanged). */
int sippres__pub_parse_into(struct sippres_ctx *ctx, struct sippres_publication *p, const char *body,
                            size_t len);
/* The body in force of p takes effect: its resource's state is recomposed, or
 * (asterisk-devicestate) the event it carries is applied; restored: it comes
 * from a record (a refresh request it carried is not answered again). */
int sippres__pub_apply(struct sippres_ctx *ctx, struct sippres_publication *p, bool restored);
/* Recompose the state of a resource's package from its live publications. */
int sippres__pub_compose(struct sippres_ctx *ctx, struct sippres__pub_resource *r, uint32_t event);
/* An asterisk-devicestate body received for r: apply it (or answer a
 * refresh, unless restored). */
int sippres__pub_devicestate_apply(struct sippres_ctx *ctx, struct sippres__pub_resource *r, const char *body,
                                   size_t len, bool restored);
/* The device hook: a local device change goes out to the outbound publishes. */
void sippres__pub_device_hook(struct sippres_ctx *ctx, const char *device, int old_state, int state, bool remote);

/* precord.c: persistence */
/* The record to the persist_publication and replicate callbacks. */
void sippres__pub_persist(struct sippres_ctx *ctx, struct sippres_publication *p);
/* Every publication's record to the replicate callback (sippres_repl_resync()):
 * how many, or SIPPRES_E_NOMEM. */
int sippres__pubs_resync(struct sippres_ctx *ctx);

#endif
