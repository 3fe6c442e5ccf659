/* SPDX-License-Identifier: MIT */
/* State model internals: aggregation, hint parsing, patterns, the registry. */
#ifndef SIPPRES_STATE_PRIVATE_H
#define SIPPRES_STATE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/core-private.h"

/* Asterisk's device-state aggregation (ast_devstate_aggregate_*). */
struct sp_devagg {
	int state;
	bool ringing;
	bool inuse;
};
void sp_devagg_init(struct sp_devagg *a);
void sp_devagg_add(struct sp_devagg *a, int s);
int sp_presence_rank(int state);

/* A parsed hint value: views into the (copied) value text. */
struct sp_span {
	size_t off;
	size_t len;
};
struct sp_hint_parsed {
	struct sp_span *devices;   /* allocated array */
	size_t ndevices;
	struct sp_span *providers; /* allocated array */
	size_t nproviders;
	struct sp_span display;
};
/* Parse value[0..len). On error fills diag (column = 1-based byte offset) and
 * returns SIPPRES_E_PARSE / SIPPRES_E_TOOBIG / SIPPRES_E_NOMEM; out is then empty. */
int sp_hint_parse(struct sippres_ctx *ctx, const char *value, size_t len, struct sp_hint_parsed *out,
                  struct sippres_diag *diag);
void sp_hint_parsed_fini(struct sippres_ctx *ctx, struct sp_hint_parsed *p);
/* Tech/resource or Provider:resource, both parts non-empty, no separators. */
bool sp_device_name_ok(const char *s, size_t len, size_t *bad_offset);

/* Extension patterns ("_2XX"). */
bool sp_pattern_valid(const char *pattern, size_t *bad_offset);
bool sp_pattern_match(const char *pattern, const char *exten);
/* < 0 when a is more specific than b (Asterisk's sort order), > 0 when less, 0 when equal. */
int sp_pattern_cmp(const char *a, const char *b);
/* Substitute ${EXTEN} and ${EXTEN:off[:len]} in value; returns an allocated string or NULL (NOMEM/TOOBIG via *err). */
char *sp_pattern_substitute(struct sippres_ctx *ctx, const char *value, const char *exten, int *err);

#endif
