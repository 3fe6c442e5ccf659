/* SPDX-License-Identifier: MIT */
/* Resource lists (RFC 4662): list definitions, the resource tree of a list
 * subscription, and its NOTIFY bodies. The lists layer plans and renders; the
 * subscription layer above drives it: it hands member events over, carries
 * out the action they ask for (notify now, or after the batching interval),
 * and emits the bodies that rendering returns one NOTIFY at a time. */
#ifndef SIPPRES_LISTS_PRIVATE_H
#define SIPPRES_LISTS_PRIVATE_H

#include "state/registry-private.h"
#include "bodies/bodies-private.h"

/* The tag of a list member's link to its hint (struct sippres__hlink.kind). */
#define SIPPRES__HLINK_MEMBER 1

struct sippres__list_def {
	struct sippres__hnode node;
	char *name;
	char *event;
	char **items;
	size_t n_items;
	uint32_t full_state;
	uint32_t batch_ms;
	uint32_t display_name;
};

/* The timer a list subscription's driver keeps for batching; the first member
 * of struct sippres__rls, so a heap of timers finds its tree. owner is the
 * driver's (the subscription). */
struct sippres__rls_timer {
	uint64_t at;
	uint32_t idx;
	void *owner;
};

struct sippres__rls_node {
	struct sippres__rls_node *parent, *next, *children, *last_child;
	char *name;
	char *display;
	bool is_list;
	bool full_state;   /* lists */
	bool changed;      /* leaves: the body changed since the last NOTIFY that carried it */
	bool removed;      /* leaves: the hint went away; reported terminated once, then pruned */
	bool sent_any;     /* leaves: a body went out (asterisk version rule) */
	uint32_t version;  /* lists: next RLMI version; leaves: next dialog-info version */
	struct sippres__hlink link;
	struct sippres__hint *hint;
	struct sippres__rls *rls;
};

/* The resource tree of one list subscription. */
struct sippres__rls {
	struct sippres__rls_timer timer; /* first: see struct sippres__rls_timer */
	struct sippres__rls_node *root;
	uint32_t batch_ms;
	char *scheme;
	char *host;
	uint32_t port;
	size_t nnodes;
};

struct sippres__rls_part;

struct sippres__lists {
	struct sippres__map defs; /* by name */
	/* A list NOTIFY's two large buffers, kept for the next one: allocating
	 * and freeing 100 KB per NOTIFY makes malloc grow and trim the heap
	 * every time (a system call, page faults and a TLB flush). Used by one
	 * rendering at a time; capacities above SIPPRES__RLS_KEEP_MAX are freed. */
	struct sippres__buf keep_arena, keep_out, keep_rlmi;
	struct sippres__rls_part *keep_parts, *keep_parts_lent;
	size_t keep_parts_n;
	bool keep_busy;
};
#define SIPPRES__RLS_KEEP_MAX (4u << 20)

/* ---- definitions (defs.c) -------------------------------------------------- */

int sippres__lists_new(struct sippres_ctx *ctx);
void sippres__lists_free(struct sippres_ctx *ctx);
/* The list called name whose event is event (byte for byte), or NULL. */
const struct sippres__list_def *sippres__list_find(struct sippres_ctx *ctx, const char *name, const char *event);

/* ---- the tree (tree.c) ----------------------------------------------------- */

/* Build the resource tree of a list subscription (members looked up in
 * context). SIPPRES_E_NOTFOUND when no member resolves. */
int sippres__rls_build(struct sippres_ctx *ctx, const struct sippres__list_def *def, const char *context,
                       const char *scheme, const char *host, uint32_t port, struct sippres__rls **ret);
/* The same, for the list URI a subscription was made to (scheme:list@host[:port]). */
int sippres__rls_build_at(struct sippres_ctx *ctx, const struct sippres__list_def *def, const char *context,
                          const char *local_uri, struct sippres__rls **ret);
void sippres__rls_free(struct sippres_ctx *ctx, struct sippres__rls *rls);
const char *sippres__rls_name(const struct sippres__rls *rls);
/* Same top-level members, by name and display name (as Asterisk compares on refresh). */
bool sippres__rls_same_members(const struct sippres__rls *a, const struct sippres__rls *b);
uint32_t sippres__rls_root_version(const struct sippres__rls *rls);
void sippres__rls_set_root_version(struct sippres__rls *rls, uint32_t v);
bool sippres__rls_has_changes(const struct sippres__rls *rls);

/* What a member event asks the driver to do. */
enum sippres__rls_action {
	SIPPRES__RLS_NOTIFY, /* send the list's NOTIFY now */
	SIPPRES__RLS_BATCH   /* send it after *delay_ms (the list's batching interval) */
};
/* The tree of the member whose link to its hint this is. */
struct sippres__rls *sippres__rls_of_link(struct sippres__hlink *link);
/* A member's hint had an event (link is the member's link to it). Returns the
 * member's tree and what to do. */
int sippres__rls_member_event(struct sippres__hlink *link, const struct sippres_exten_status *st,
                              struct sippres__rls **rls, uint32_t *delay_ms);

/* Inside the lists layer: the tree's housekeeping for rendering. */
void sippres__rls_node_free(struct sippres_ctx *ctx, struct sippres__rls_node *n);
bool sippres__rls_subtree_changed(const struct sippres__rls_node *n);
void sippres__rls_clear_changed(struct sippres__rls_node *n);
/* Drop members whose removal has been reported. */
void sippres__rls_prune_removed(struct sippres_ctx *ctx, struct sippres__rls_node *node);

/* ---- NOTIFY bodies (render.c) ---------------------------------------------- */

/* What the subscription gives for rendering its list's NOTIFYs. */
struct sippres__rls_render_in {
	const char *content_type;        /* the members' body type */
	struct sippres_body_input base;  /* profile, flags, remote URI, user agent; the rest is per member */
	uint32_t reason;                 /* SIPPRES_NOTIFY_* */
	bool final;                      /* the subscription ends with these NOTIFYs */
	const char *final_reason;        /* RLMI reason of members when final (standard profile) */
	size_t max_size;                 /* split bodies above this many bytes */
};

/* One NOTIFY's body. */
struct sippres__rls_chunk {
	const char *content_type;
	const char *body;
	size_t len;
	bool last;                       /* the last NOTIFY of this rendering */
};

/* A rendering in progress: made by _begin, one NOTIFY per _next, ended by _end.
 * The fields are the renderer's own. */
struct sippres__rls_render {
	struct sippres_ctx *ctx;
	struct sippres__rls *rls;
	const struct sippres__rls_render_in *in;
	bool asterisk;
	bool full;
	struct sippres__buf arena;        /* every part's body, back to back */
	struct sippres__rls_part *parts;
	size_t np, lo;
	struct sippres__buf out;          /* the current chunk */
	char *ctype;
	bool kept; /* arena and out are the context's kept buffers */
	/* member URIs are pre NAME suf: "scheme:" and "@host[:port]" */
	char pre[64], suf[300];
	size_t pre_len, suf_len, host_len; /* pre_len 0: too long, built piece by piece */
};

/* Plan the NOTIFYs of a list subscription: returns 1 when there is something
 * to send (render with _next), 0 when not (partial state and nothing
 * changed; _end is then not needed), or < 0. */
int sippres__rls_render_begin(struct sippres_ctx *ctx, struct sippres__rls *rls,
                              const struct sippres__rls_render_in *in, struct sippres__rls_render *rr);
/* The next NOTIFY's body, valid until the next call: 1 with *chunk filled, 0
 * when all went out, or < 0. */
int sippres__rls_render_next(struct sippres__rls_render *rr, struct sippres__rls_chunk *chunk);
/* Free the rendering. completed: every chunk went out and the tree still
 * exists (its reported removals are then pruned unless final). */
void sippres__rls_render_end(struct sippres__rls_render *rr, bool completed);

#endif
