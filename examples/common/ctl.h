/* SPDX-License-Identifier: MIT */
/*
 * Control commands of the example programs (examples/common), shared by
 * sippres-mini-ua and sippres-sofia-notifier: one command a line, Asterisk
 * CLI syntax where one exists (docs/mini-ua.md, "Control commands").
 *
 *  - ctl_lines: cuts a byte stream (standard input, a control socket) into
 *    lines, with an optional bound on the line length.
 *  - cmd_parse(): one line into a struct cmd.
 *  - cmd_apply(): the commands that change the library's state (devstate,
 *    presencestate, dialplan add/remove, call set/clear) run on a context.
 *    Showing, quitting and reloading stay with each program.
 */
#ifndef SIPPRES_EXAMPLES_CTL_H
#define SIPPRES_EXAMPLES_CTL_H

#include <stdbool.h>
#include <stddef.h>

struct sippres_ctx;

/* ---- lines ------------------------------------------------------------------- */

struct ctl_lines {
	char *buf;
	size_t start, len, cap;
	size_t max;    /* the longest line taken (bytes before the newline); 0: no bound */
	bool skipping; /* inside a line that was too long: dropped up to its newline */
};
/* max: as in struct ctl_lines. */
void ctl_lines_init(struct ctl_lines *l, size_t max);
void ctl_lines_free(struct ctl_lines *l);
/* Append bytes. With a bound, what is kept stays below max + n + 1 bytes. Returns 0, -1: out of memory. */
int ctl_lines_add(struct ctl_lines *l, const char *data, size_t n);
/* The next line: 1 with *line set (NUL-terminated, without the CR LF; valid until the next call), 0 when no
 * whole line is buffered, -1 for a line longer than max (dropped; once a line). At eof an unterminated rest
 * is a line too. */
int ctl_lines_next(struct ctl_lines *l, bool eof, char **line);
/* Bytes buffered, not yet returned as lines. */
size_t ctl_lines_pending(const struct ctl_lines *l);

/* ---- commands ---------------------------------------------------------------- */

enum cmd_kind {
	CMD_NONE = 0, /* empty line or comment: no reply */
	CMD_DEVSTATE,
	CMD_PRESENCE,
	CMD_HINT_ADD,
	CMD_HINT_REMOVE,
	CMD_CALL_SET,
	CMD_CALL_CLEAR,
	CMD_SHOW_HINTS,
	CMD_SHOW_SUBS,  /* pjsip show subscriptions inbound|outbound [like RE]: Asterisk's layout */
	CMD_LIST_SUBS,  /* pjsip list subscriptions inbound|outbound [like RE]: Asterisk's layout */
	CMD_SUBS_DETAIL, /* sippres show subscriptions: the programs' own, a line each with every field */
	CMD_SHOW_PUBS, /* pjsip show publications */
	CMD_QUIT,
	CMD_RELOAD, /* dialplan reload, module reload, core reload: the program's configuration files again */
};

struct cmd {
	enum cmd_kind kind;
	char *a, *b, *c, *d;   /* per kind: device/state; provider/state/subtype/message; exten/value/context;
	                          exten/context; device/call-id */
	int state;             /* parsed state (devstate, presence, call) */
	bool replace;
	bool outbound;         /* show/list subscriptions outbound (a: the like regex or NULL) */
	/* call set */
	int direction;         /* -1: not given */
	char *remote, *remote_display, *local, *local_display, *local_tag, *remote_tag;
};
/* Parse one control line. Returns 0 (cmd filled), or -1 with err set. */
int cmd_parse(const char *line, struct cmd *cmd, char *err, size_t errlen);
void cmd_free(struct cmd *cmd);
/* Run a state-changing command (CMD_DEVSTATE ... CMD_CALL_CLEAR) on ctx. Returns 0, or < 0 (a SIPPRES_E_*)
 * with the reason for the ERR reply in err. Other kinds: SIPPRES_E_INVAL. */
int cmd_apply(struct sippres_ctx *ctx, const struct cmd *cmd, char *err, size_t errlen);

#endif
