/* SPDX-License-Identifier: MIT */
/* The state registry: contexts, hints, devices, presence providers, calls, watches. */
#ifndef SIPPRES_REGISTRY_PRIVATE_H
#define SIPPRES_REGISTRY_PRIVATE_H

#include "state-private.h"

struct sippres__hint;
struct sippres__source;
struct sippres__rls_node;

/* A subscription (leaf == NULL: the link is inside a struct sippres_sub) or a
 * resource-list member (leaf) watching a hint. */
struct sippres__hlink {
	struct sippres__hlink *prev, *next;
	struct sippres__rls_node *leaf;
};

/* A call on a device; pub's strings point into the same allocation. */
struct sippres__call {
	struct sippres_call pub;
	uint64_t seq; /* creation order: lower is older */
	struct sippres__call *prev, *next;
};

/* A device or a presence provider. Kept while a hint refers to it, the host
 * has set it, or (devices) it has calls. */
struct sippres__source {
	struct sippres__hnode node;
	char *name;
	int state;
	bool is_set;
	uint32_t npending;       /* references from prepared, uncommitted hint bodies */
	char *subtype, *message; /* providers: NULL when unset */
	struct sippres__call *calls_head, *calls_tail;
	struct sippres__ref *refs;     /* hints that name this source */
	size_t nrefs;
};

/* One device or provider of a hint, linked into the source's ref list. */
struct sippres__ref {
	struct sippres__hint *hint;
	struct sippres__source *src;
	struct sippres__ref *prev, *next;
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
	struct sippres__map hints;       /* concrete hints by extension */
	struct sippres__hint *patterns;  /* pattern hints, most specific first */
	size_t nhints;             /* concrete + pattern */
};

struct sippres__hint {
	struct sippres__hnode node; /* in context->hints (concrete hints only) */
	struct sippres__context *cx;
	char *exten;
	struct sippres__hint_body body;
	bool is_pattern;
	int32_t exten_state;
	int32_t device_state;
	int32_t presence_state;
	struct sippres__source *pres_winner; /* NULL: no providers */
	/* patterns: the list of instances; instances: their pattern */
	struct sippres__hint *pattern;
	struct sippres__hint *instances;
	struct sippres__hint *inst_prev, *inst_next;
	struct sippres__hint *pat_next; /* in context->patterns */
	struct sippres__hint *all_prev, *all_next;
	struct sippres_watch *watches;
	struct sippres__hlink *links; /* subscriptions and list members watching this extension (lib/subs) */
	size_t nlinks;
};

struct sippres_watch {
	struct sippres__hint *hint;
	void (*fn)(void *user_data, const struct sippres_exten_status *st);
	void *user_data;
	struct sippres_watch *prev, *next;
	struct sippres_watch *grave_next;
	bool dead;
};

enum { SCRATCH_DISPATCH, SCRATCH_QUERY, SCRATCH_ITER, SCRATCH_COUNT };

struct sippres__registry {
	struct sippres__map contexts;
	struct sippres__map devices;
	struct sippres__map providers;
	struct sippres__hint *all_head, *all_tail;
	size_t nhints;
	struct sippres_device_info *scratch[SCRATCH_COUNT];
	size_t scratch_cap;
	struct sippres_watch *graveyard;
	uint64_t call_seq;
};

/* For the subscription engine: find (instantiating a pattern) and describe a hint. */
int sippres__hint_lookup(struct sippres_ctx *ctx, const char *context, const char *exten, struct sippres__hint **ret);
void sippres__hint_status(struct sippres_ctx *ctx, const struct sippres__hint *h, struct sippres_exten_status *st);

#endif
