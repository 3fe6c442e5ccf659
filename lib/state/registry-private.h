/* SPDX-License-Identifier: MIT */
/* The state registry: contexts, hints, devices, presence providers, calls, watches. */
#ifndef SIPPRES_REGISTRY_PRIVATE_H
#define SIPPRES_REGISTRY_PRIVATE_H

#include "state-private.h"

struct sp_hint;
struct sp_source;
struct sp_rls_node;

/* A subscription (leaf == NULL: the link is inside a struct sippres_sub) or a
 * resource-list member (leaf) watching a hint. */
struct sp_hlink {
	struct sp_hlink *prev, *next;
	struct sp_rls_node *leaf;
};

/* A call on a device; pub's strings point into the same allocation. */
struct sp_call {
	struct sippres_call pub;
	uint64_t seq; /* creation order: lower is older */
	struct sp_call *prev, *next;
};

/* A device or a presence provider. Kept while a hint refers to it, the host
 * has set it, or (devices) it has calls. */
struct sp_source {
	struct sp_hnode node;
	char *name;
	int state;
	bool is_set;
	uint32_t npending;       /* references from prepared, uncommitted hint bodies */
	char *subtype, *message; /* providers: NULL when unset */
	struct sp_call *calls_head, *calls_tail;
	struct sp_ref *refs;     /* hints that name this source */
	size_t nrefs;
};

/* One device or provider of a hint, linked into the source's ref list. */
struct sp_ref {
	struct sp_hint *hint;
	struct sp_source *src;
	struct sp_ref *prev, *next;
};

/* What a hint value resolves to. */
struct sp_hint_body {
	char *value;
	char *display;
	struct sp_ref *devs;
	size_t ndevs;
	struct sp_ref *provs;
	size_t nprovs;
};

struct sp_context {
	struct sp_hnode node;
	char *name;
	struct sp_map hints;       /* concrete hints by extension */
	struct sp_hint *patterns;  /* pattern hints, most specific first */
	size_t nhints;             /* concrete + pattern */
};

struct sp_hint {
	struct sp_hnode node; /* in context->hints (concrete hints only) */
	struct sp_context *cx;
	char *exten;
	struct sp_hint_body body;
	bool is_pattern;
	int32_t exten_state;
	int32_t device_state;
	int32_t presence_state;
	struct sp_source *pres_winner; /* NULL: no providers */
	/* patterns: the list of instances; instances: their pattern */
	struct sp_hint *pattern;
	struct sp_hint *instances;
	struct sp_hint *inst_prev, *inst_next;
	struct sp_hint *pat_next; /* in context->patterns */
	struct sp_hint *all_prev, *all_next;
	struct sippres_watch *watches;
	struct sp_hlink *links; /* subscriptions and list members watching this extension (lib/subs) */
	size_t nlinks;
};

struct sippres_watch {
	struct sp_hint *hint;
	void (*fn)(void *user_data, const struct sippres_exten_status *st);
	void *user_data;
	struct sippres_watch *prev, *next;
	struct sippres_watch *grave_next;
	bool dead;
};

enum { SCRATCH_DISPATCH, SCRATCH_QUERY, SCRATCH_ITER, SCRATCH_COUNT };

struct sp_registry {
	struct sp_map contexts;
	struct sp_map devices;
	struct sp_map providers;
	struct sp_hint *all_head, *all_tail;
	size_t nhints;
	struct sippres_device_info *scratch[SCRATCH_COUNT];
	size_t scratch_cap;
	struct sippres_watch *graveyard;
	uint64_t call_seq;
};

/* For the subscription engine: find (instantiating a pattern) and describe a hint. */
int sp_hint_lookup(struct sippres_ctx *ctx, const char *context, const char *exten, struct sp_hint **ret);
void sp_hint_status(struct sippres_ctx *ctx, const struct sp_hint *h, struct sippres_exten_status *st);

#endif
