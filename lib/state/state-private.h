/* SPDX-License-Identifier: MIT */
/* State model internals: aggregation, hint parsing, patterns, the registry. */
#ifndef SIPPRES_STATE_PRIVATE_H
#define SIPPRES_STATE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/core-private.h"

/* Asterisk's device-state aggregation (ast_devstate_aggregate_*). */
struct sippres__devagg {
	int state;
	bool ringing;
	bool inuse;
};
void sippres__devagg_init(struct sippres__devagg *a);
void sippres__devagg_add(struct sippres__devagg *a, int s);
int sippres__presence_rank(int state);

/* A parsed hint value: views into the (copied) value text. */
struct sippres__span {
	size_t off;
	size_t len;
};
struct sippres__hint_parsed {
	struct sippres__span *devices;   /* allocated array */
	size_t ndevices;
	struct sippres__span *providers; /* allocated array */
	size_t nproviders;
	struct sippres__span display;
};
/* Parse value[0..len). On error fills diag (column = 1-based byte offset) and
 * returns SIPPRES_E_PARSE / SIPPRES_E_TOOBIG / SIPPRES_E_NOMEM; out is then empty. */
int sippres__hint_parse(struct sippres_ctx *ctx, const char *value, size_t len, struct sippres__hint_parsed *out,
                  struct sippres_diag *diag);
void sippres__hint_parsed_fini(struct sippres_ctx *ctx, struct sippres__hint_parsed *p);
/* Tech/resource or Provider:resource, both parts non-empty, no separators. */
bool sippres__device_name_ok(const char *s, size_t len, size_t *bad_offset);

/* The value of the hint set by sippres_hint_set() for exten in context
 * itself (not an autohint or a pattern's instance), or NULL. No side effect. */
const char *sippres__hint_own_value(struct sippres_ctx *ctx, const char *context, const char *exten);

/* Extension patterns ("_2XX"). */
bool sippres__pattern_valid(const char *pattern, size_t *bad_offset);
bool sippres__pattern_match(const char *pattern, const char *exten);
/* < 0 when a is more specific than b (Asterisk's sort order), > 0 when less, 0 when equal. */
int sippres__pattern_cmp(const char *a, const char *b);
/* Substitute ${EXTEN} and ${EXTEN:off[:len]} in value; returns an allocated string or NULL (NOMEM/TOOBIG via *err). */
char *sippres__pattern_substitute(struct sippres_ctx *ctx, const char *value, const char *exten, int *err);

/* The registry's lifecycle, for the context (registry.c). */
int sippres__registry_new(struct sippres_ctx *ctx);
void sippres__registry_free(struct sippres_ctx *ctx);

#endif
