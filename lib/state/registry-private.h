/* SPDX-License-Identifier: MIT */
/* The state registry: contexts, hints, devices, presence providers, calls,
 * watches, and the links through which the layers above watch a hint. */
#ifndef SIPPRES_REGISTRY_PRIVATE_H
#define SIPPRES_REGISTRY_PRIVATE_H

#include "state-private.h"

struct sippres__hint;
struct sippres__source;

/* Something in a layer above watching a hint (a subscription, a member of a
 * list subscription). The owner embeds the link and tags it with kind, which
 * only the layer that registered the hint hook reads. */
struct sippres__hlink {
	struct sippres__dnode node;
	uint32_t kind;
};

/* Another node of a cluster (views.c). */
struct sippres__origin {
	struct sippres__hnode node; /* in the registry's origins, by name */
	char *name;
	uint64_t seen;              /* the highest sequence number applied from it */
	uint64_t floor;             /* its messages numbered at or below this are void (a sweep, a drop) */
};

/* One node's view of a device or provider. */
struct sippres__view {
	struct sippres__origin *o;  /* NULL: this node's own (always views->v[0]) */
	uint64_t seq;               /* the message it came in (ours: the last we sent; 0: none yet) */
	uint64_t stamp;             /* when it changed, on its origin's clock: the latest wins (providers) */
	int32_t state;
	bool set;
	bool ast;                   /* ours, a device: the state came in as asterisk-devicestate */
	char *subtype, *message;    /* providers; owned */
};
struct sippres__views {
	size_t n, cap;
	struct sippres__view v[];
};

/* A call on a device; pub's strings point into the same allocation. */
struct sippres__call {
	struct sippres_call pub;
	uint64_t seq; /* creation order: lower is older */
	struct sippres__dnode node; /* in the device's calls, oldest first */
	struct sippres__origin *origin; /* NULL: set here; else the node whose view holds it */
};

/* A device or a presence provider. Kept while a hint refers to it, the host
 * has set it, or (devices) it has calls. */
struct sippres__source {
	struct sippres__hnode node;
	char *name;
	int state;
	bool is_set;
	bool remote;             /* devices: the state in force came from another server */
	uint32_t npending;       /* references from prepared, uncommitted hint bodies */
	char *subtype, *message; /* providers: NULL when unset */
	struct sippres__dlist calls;
	struct sippres__dlist refs; /* the struct sippres__ref of every hint that names this source */
	size_t nrefs;
	/* With replication (views.c): every node's view, this node's first.
	 * Then state is the merge of the views and is_set says some view is
	 * set; a provider's subtype and message are the winning view's
	 * (borrowed, not owned). NULL: this node's own state alone. */
	struct sippres__views *views;
};

/* One device or provider of a hint, linked into the source's refs. */
struct sippres__ref {
	struct sippres__hint *hint;
	struct sippres__source *src;
	struct sippres__dnode node;
};

/* What a hint value resolves to. */
struct sippres__hint_body {
	char *value;
	char *display;
	struct sippres__ref *devs;
	size_t ndevs;
	struct sippres__ref *provs;
	size_t nprovs;
};

struct sippres__context {
	struct sippres__hnode node;
	char *name;
	struct sippres__htab hints;         /* every hint by extension's hash (patterns by their "_..." name) */
	struct sippres__dlist patterns;     /* pattern hints, most specific first once sorted */
	bool patterns_unsorted;             /* a pattern was added since the last sort */
	size_t nhints;                      /* concrete + pattern */
	char **includes;                    /* `include =>` names, searched in this order */
	size_t nincludes;
	uint64_t visit;                     /* the lookup that last searched this context */
	size_t autohints_max;               /* autohints=yes: at most this many (0: off) */
	size_t nautohints;                  /* hints made by autohints, still so */
	struct sippres__context *auto_next; /* in the registry's autohint_ctxs */
};

struct sippres__hint {
	/* what a subscription's creation reads, in the first cache line: the
	 * name, the presence state and the links */
	struct sippres__context *cx;
	char *exten;                /* right after the struct, in the same block */
	struct sippres__dlist links; /* struct sippres__hlink, newest first */
	size_t nlinks;
	int32_t presence_state;
	bool is_pattern;
	bool autohint;                       /* made by the context's autohints */
	bool on_idle;
	int32_t exten_state;
	int32_t device_state;
	struct sippres__hint_body body;
	struct sippres__source *pres_winner; /* NULL: no providers */
	struct sippres__hint *pattern;       /* instances: their pattern */
	struct sippres__dlist instances;     /* patterns: their instances, newest first */
	struct sippres__dnode inst_node;     /* instances: in the pattern's instances */
	struct sippres__dnode pat_node;      /* patterns: in context->patterns */
	struct sippres__dnode all_node;      /* in the registry's list of every hint */
	struct sippres__dlist watches;       /* struct sippres_watch, in the order added */
	struct sippres__dnode idle_node;     /* instances: in the registry's idle list */
};

struct sippres_watch {
	struct sippres__hint *hint;
	void (*fn)(void *user_data, const struct sippres_exten_status *st);
	void *user_data;
	struct sippres__dnode node;
	struct sippres_watch *grave_next;
	bool dead;
};

/* Told of every event of a hint that has links, after its watches. */
typedef void sippres__hint_hook(struct sippres_ctx *ctx, struct sippres__hint *h,
                                const struct sippres_exten_status *st);

/* Told of every change of a device's state (remote: it came from another
 * server's state exchange rather than from this host). */
typedef void sippres__device_hook(struct sippres_ctx *ctx, const char *device, int old_state, int state,
                                  bool remote);

enum { SCRATCH_DISPATCH, SCRATCH_QUERY, SCRATCH_ITER, SCRATCH_COUNT };

struct sippres__registry {
	struct sippres__map contexts;  /* by name */
	struct sippres__map devices;   /* by name, case-insensitive */
	struct sippres__map providers; /* by name, case-insensitive */
	struct sippres__dlist all;     /* every hint, oldest first */
	size_t nhints;
	struct sippres_device_info *scratch[SCRATCH_COUNT];
	size_t scratch_cap;
	struct sippres_watch *graveyard;
	uint64_t call_seq;
	struct sippres__context *autohint_ctxs; /* contexts with autohints on */
	uint64_t visit_seq;            /* lookups through includes so far (marks visited contexts) */
	sippres__hint_hook *hint_hook;
	sippres__device_hook *device_hook;
	bool calls_only;               /* the hint event being dispatched is a change of calls alone */
	struct sippres__map origins;   /* struct sippres__origin by name (views.c) */
	struct sippres__dlist idle;    /* instances that may have nothing linked or watching */
	size_t ninstances;             /* live pattern-hint instances */
};

/* ---- inside the state layer: contexts (context.c) and hints (hint.c) ---- */

struct sippres__context *sippres__context_find(struct sippres_ctx *ctx, const char *name);
/* Find or create (NULL: no memory). */
struct sippres__context *sippres__context_get(struct sippres_ctx *ctx, const char *name);
/* Free the context if it holds nothing any more (no hint, include or autohints). */
void sippres__context_gc(struct sippres_ctx *ctx, struct sippres__context *c);
void sippres__includes_free(struct sippres_ctx *ctx, char **v, size_t n);
/* Every context, without telling anyone (the context is going). */
void sippres__contexts_free(struct sippres_ctx *ctx);
/* The hint of c itself for exten: its explicit hint, else an instance of the
 * most specific pattern that matches (made now). 1: none, 0: *ret set, < 0. */
int sippres__hint_lookup_own(struct sippres_ctx *ctx, struct sippres__context *c, const char *exten,
                             struct sippres__hint **ret);

/* ---- for the layers above -------------------------------------------------- */

/* Register the hook told of hint events, and the one told of device changes
 * (one of each per context). */
void sippres__registry_set_hint_hook(struct sippres_ctx *ctx, sippres__hint_hook *fn);
void sippres__registry_set_device_hook(struct sippres_ctx *ctx, sippres__device_hook *fn);
/* sippres_device_state_set() with flags: SIPPRES__DEV_REMOTE (the change
 * came from another server), SIPPRES__DEV_CALLS_CHANGED (the device's calls
 * were changed just before: a hint whose state stays the same still gets an
 * event, which sippres__hint_event_calls_only() tells apart). The same checks
 * and errors. */
#define SIPPRES__DEV_REMOTE 1u
#define SIPPRES__DEV_CALLS_CHANGED 2u
int sippres__device_state_apply(struct sippres_ctx *ctx, const char *device, int state, uint32_t flags);
/* Inside the hint hook: is this event a change of a device's calls alone
 * (the hint's state is the same; RFC 4235 watchers want it, Asterisk's
 * do not)? */
bool sippres__hint_event_calls_only(const struct sippres_ctx *ctx);
/* Call fn for every device whose state was set here (not by another
 * server: sippres__device_state_apply with remote), until it returns < 0. */
int sippres__local_devices_foreach(struct sippres_ctx *ctx, int (*fn)(void *arg, const char *device, int state),
                             void *arg);
/* Find (instantiating a pattern) and describe a hint. */
int sippres__hint_lookup(struct sippres_ctx *ctx, const char *context, const char *exten, struct sippres__hint **ret);
/* The same for names the caller has checked with sippres__name_ok(). */
int sippres__hint_lookup_names_ok(struct sippres_ctx *ctx, const char *context, const char *exten,
                                  struct sippres__hint **ret);
void sippres__hint_status(struct sippres_ctx *ctx, const struct sippres__hint *h, struct sippres_exten_status *st);
/* The hash an extension's hint is filed under in its context's table. */
static inline uint32_t sippres__hint_hash(const struct sippres_ctx *ctx, const char *exten)
{
	return sippres__hash(ctx->hash_seed, exten, false);
}

/* A hint lookup's memory asked for ahead, in two steps that the caller
 * separates by other work, so that the lookup's cache misses overlap it:
 * start() finds the context and asks for exten's slot in its table, next()
 * asks for the hint that slot names (its first cache line and its name).
 * Hints only: the lookup itself is unchanged. */
struct sippres__hint_ahead {
	const struct sippres__htab *hints; /* NULL: no such context */
	uint32_t hash;
};
void sippres__hint_ahead_start(struct sippres_ctx *ctx, const char *context, const char *exten,
                               struct sippres__hint_ahead *a);
void sippres__hint_ahead_next(const struct sippres__hint_ahead *a);
/* Its presence_state alone (reads the hint only, not its devices). */
int sippres__hint_presence(const struct sippres__hint *h);
/* Link and unlink a watcher of a hint. */
void sippres__hlink_add(struct sippres__hint *h, struct sippres__hlink *l);
void sippres__hlink_remove(struct sippres__hint *h, struct sippres__hlink *l);
/* A link or watch of h went: an instance with none left is a candidate for
 * sippres__hints_reclaim(). */
void sippres__hint_idle_check(struct sippres_ctx *ctx, struct sippres__hint *h);
/* Free the instances that nothing links or watches. Only where no hint
 * pointer is held across the call: outside callbacks, at the start or end
 * of a public entry point. */
void sippres__hints_reclaim(struct sippres_ctx *ctx);

/* ---- inside the state layer ------------------------------------------------ */

/* source.c */
struct sippres__source *sippres__source_find(struct sippres__map *m, const char *name);
/* Find or create the source name[0..len) (NULL: out of memory). */
struct sippres__source *sippres__source_get(struct sippres_ctx *ctx, struct sippres__map *m, const char *name,
                                            size_t len);
/* Free a source nothing needs any more. */
void sippres__source_gc(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__source *s);
void sippres__sources_free(struct sippres_ctx *ctx, struct sippres__map *m);

/* A new call from the host's description (origin NULL, seq 0). */
int sippres__call_pack(struct sippres_ctx *ctx, const struct sippres_call *in, struct sippres__call **ret);
/* The device's state changed (d->state is the new one): recompute and tell
 * every hint naming it, as sippres__device_state_apply() does (flags:
 * SIPPRES__DEV_CALLS_CHANGED; SIPPRES__DEV_QUIET: no repeated RINGING). */
#define SIPPRES__DEV_QUIET 4u
void sippres__device_dispatch(struct sippres_ctx *ctx, struct sippres__source *d, uint32_t flags);
/* The provider's effective state changed (p's members are the new ones;
 * old_sub and old_msg the strings it had, still alive): tell its hints. */
void sippres__provider_dispatch(struct sippres_ctx *ctx, struct sippres__source *p, const char *old_sub,
                                const char *old_msg);
/* This node's own view of a source: true when set here, with its state
 * (and, for devices, whether it came from asterisk-devicestate). */
bool sippres__source_local(const struct sippres__source *s, int *state, bool *ast);

/* views-msg.c: the view messages (docs/cluster.md, "Messages") */
#define SIPPRES__VMSG_SET 1u   /* from a state set: a repeated RINGING is told again */
#define SIPPRES__VMSG_CALLS 2u /* the device's calls changed with the state */
#define SIPPRES__VIEW_MAX_CALLS 256 /* calls of one device's view at most */
struct sippres__vmsg {
	uint32_t kind;       /* SIPPRES_REPL_DEVICE, _PRESENCE or _SWEEP */
	uint32_t flags;      /* SIPPRES__VMSG_* */
	uint64_t seq;
	uint64_t stamp;      /* when the view changed (a resync re-sends it with a new seq) */
	int32_t state;
	const char *origin, *name;
	const char *subtype, *message; /* presence; NULL: unset */
	struct sippres_call *calls;    /* device */
	size_t ncalls;
	void *mem;           /* the decoded strings and calls */
};
/* Sizes and encodings of this node's view (the device's own calls, at most
 * SIPPRES__VIEW_MAX_CALLS); encode into a buffer of the size's bytes. */
size_t sippres__vmsg_device_size(const struct sippres__source *d, const char *origin);
size_t sippres__vmsg_device_encode(const struct sippres__source *d, const char *origin, uint64_t seq,
                                   uint64_t stamp, uint32_t flags, int state, uint8_t *buf);
size_t sippres__vmsg_provider_size(const char *name, const char *origin, const char *sub, const char *msg);
size_t sippres__vmsg_provider_encode(const char *name, const char *origin, uint64_t seq, uint64_t stamp, int state,
                                     const char *sub, const char *msg, uint8_t *buf);
size_t sippres__vmsg_sweep_size(const char *origin);
size_t sippres__vmsg_sweep_encode(const char *origin, uint64_t seq, uint8_t *buf);
/* Decode and check a message: SIPPRES_E_PARSE for anything corrupt,
 * truncated or unknown, SIPPRES_E_NOMEM. _fini frees it. */
int sippres__vmsg_decode(struct sippres_ctx *ctx, const void *data, size_t len, struct sippres__vmsg *m);
void sippres__vmsg_fini(struct sippres_ctx *ctx, struct sippres__vmsg *m);

/* views.c: replication */
/* Before this node's own change of d (a device) or p (a provider): the
 * views are made (when replication is on) and the message buffer reserved.
 * 0 or SIPPRES_E_NOMEM (nothing changed). */
int sippres__views_prepare_device(struct sippres_ctx *ctx, struct sippres__source *d);
int sippres__views_prepare_provider(struct sippres_ctx *ctx, struct sippres__source *p, const char *subtype,
                                    const char *message);
/* This node's own view changed (views exist): set it, merge into d->state. */
void sippres__views_set_device(struct sippres_ctx *ctx, struct sippres__source *d, int state, bool ast);
/* The same for a provider: v0 takes sub and msg (owned); the old strings of
 * v0 are returned in old_sub and old_msg for the caller to free after the
 * dispatch. */
void sippres__views_set_provider(struct sippres_ctx *ctx, struct sippres__source *p, int state, char *sub,
                                 char *msg, char **old_sub, char **old_msg);
/* Hand this node's view of a source to the replicate callback (replication
 * on, prepared: cannot fail). flags: the SIPPRES__DEV_* of the change. */
void sippres__views_emit_device(struct sippres_ctx *ctx, struct sippres__source *d, uint32_t flags);
void sippres__views_emit_provider(struct sippres_ctx *ctx, struct sippres__source *p);
/* Every view set here again, then a sweep (sippres_repl_resync()). Returns
 * the number of changes handed over, or SIPPRES_E_NOMEM. */
int sippres__views_resync(struct sippres_ctx *ctx);
void sippres__views_free(struct sippres_ctx *ctx, struct sippres__source *s);
void sippres__origins_free(struct sippres_ctx *ctx);

/* hint.c */
void sippres__hint_compute_devices(struct sippres__hint *h);
struct sippres__source *sippres__hint_presence_winner(const struct sippres__hint *h);
void sippres__hints_free(struct sippres_ctx *ctx);
/* A device's state is being set: make the autohints it calls for. 0 or SIPPRES_E_NOMEM. */
int sippres__autohints_for(struct sippres_ctx *ctx, const struct sippres__source *d);

/* watch.c */
/* Make room in the status scratch arrays for a hint of n devices. */
int sippres__status_reserve(struct sippres_ctx *ctx, size_t n);
/* Tell h's watches, then the hint hook, of an event. */
void sippres__hint_dispatch(struct sippres_ctx *ctx, struct sippres__hint *h, uint32_t reason);
/* Free every watch of h now. */
void sippres__hint_watches_free(struct sippres_ctx *ctx, struct sippres__hint *h);
/* Free the watches removed during callbacks (outside any callback only). */
void sippres__watch_sweep(struct sippres_ctx *ctx);

#endif
