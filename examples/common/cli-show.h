/* SPDX-License-Identifier: MIT */
/* The listings of `core show hints`, `pjsip show subscriptions inbound` and `pjsip list subscriptions inbound`
 * in the layout of Asterisk's commands of those names (docs/mini-ua.md "core show hints" and "pjsip show
 * subscriptions"), shared by the example programs (examples/common). */
#ifndef SIPPRES_EXAMPLES_CLI_SHOW_H
#define SIPPRES_EXAMPLES_CLI_SHOW_H

#include <stdbool.h>
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

/* `pjsip show subscriptions inbound|outbound [like RE]` (list false: a header block, three lines and a blank
 * one a subscription, "N active subscriptions") or `pjsip list subscriptions inbound|outbound [like RE]` (list
 * true: a column header, a line a subscription, a blank line, "N active subscriptions") of ctx at now_ms (the
 * clock the host gives the library), in creation order. outbound: the subscriptions this program made, none
 * (it only notifies). like: a POSIX extended regular expression an entry's text must match, NULL: all.
 * Returns the number listed, or < 0: SIPPRES_E_INVAL with err set when like does not compile, another
 * SIPPRES_E_* otherwise. */
int cli_show_subscriptions(struct sippres_ctx *ctx, struct sbuf *out, uint64_t now_ms, bool list, bool outbound,
                           const char *like, char *err, size_t errlen);

#endif
