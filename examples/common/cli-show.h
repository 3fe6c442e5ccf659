/* SPDX-License-Identifier: MIT */
/* The listings of `core show hints` and `pjsip show subscriptions inbound` in the layout of Asterisk's commands
 * of those names (docs/mini-ua.md "core show hints"), shared by the example programs (examples/common). */
#ifndef SIPPRES_EXAMPLES_CLI_SHOW_H
#define SIPPRES_EXAMPLES_CLI_SHOW_H

#include <stddef.h>
#include <stdint.h>

#include "sbuf.h"

struct sippres_ctx;

/* One hint line: "%-20.20s: %-20.20s  State:%-15.15s Presence:%-15.15s Watchers %2d", the first field
 * exten@context; app is the hint text without its "(display name)" (app_len bytes of it). */
void cli_hint_line(struct sbuf *out, const char *exten, const char *context, const char *app, size_t app_len,
                   const char *state, const char *presence, int watchers);

/* The whole `core show hints` listing of ctx into out: a blank line, the title, one line per hint (Watchers:
 * the subscriptions to that extension), "----------------", "- N hints registered"; or the one line
 * "There are no registered dialplan hints". Returns the number of hints, or < 0 (a SIPPRES_E_*). */
int cli_show_hints(struct sippres_ctx *ctx, struct sbuf *out);

#endif
