/* SPDX-License-Identifier: MIT */
/* Control commands, Asterisk CLI syntax where one exists (ctl.h): the
 * parser, and the commands that change the library's state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libsippresence/libsippresence.h>

#include "ctl.h"
#include "sbuf.h"

#define MAX_TOKENS 32

struct tokens {
	char *t[MAX_TOKENS];
	size_t start[MAX_TOKENS]; /* offset of each token in the line */
	size_t n;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void tokens_free(struct tokens *tk)
{
	for (size_t i = 0; i < tk->n; i++)
		free(tk->t[i]);
	tk->n = 0;
}

/* Split at blanks; "double quotes" group (\" and \\ escape inside them). */
static int tokenize(const char *s, struct tokens *tk, char *err, size_t errlen)
{
	size_t i = 0;

	tk->n = 0;
	for (;;) {
		struct sbuf b;
		bool quoted = false;

		while (s[i] && blank(s[i]))
			i++;
		if (!s[i])
			return 0;
		if (tk->n == MAX_TOKENS) {
			snprintf(err, errlen, "too many words");
			return -1;
		}
		sbuf_init(&b);
		sbuf_add(&b, "", 0);
		tk->start[tk->n] = i;
		while (s[i] && (quoted || !blank(s[i]))) {
			if (s[i] == '"') {
				quoted = !quoted;
				i++;
			} else if (quoted && s[i] == '\\' && (s[i + 1] == '"' || s[i + 1] == '\\')) {
				sbuf_add(&b, s + i + 1, 1);
				i += 2;
			} else {
				sbuf_add(&b, s + i, 1);
				i++;
			}
		}
		if (quoted) {
			sbuf_free(&b);
			snprintf(err, errlen, "unterminated quote");
			return -1;
		}
		if (b.oom) {
			sbuf_free(&b);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		tk->t[tk->n++] = b.s;
	}
}

static bool is(const struct tokens *tk, size_t i, const char *word)
{
	return i < tk->n && strcasecmp(tk->t[i], word) == 0;
}

/* The rest of the line from token i, trimmed; a fully quoted rest is unquoted. */
static char *rest_of_line(const char *line, const struct tokens *tk, size_t i)
{
	const char *s = line + tk->start[i];
	size_t n = strlen(s);

	while (n > 0 && blank(s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"' && !memchr(s + 1, '"', n - 2))
		return strndup(s + 1, n - 2);
	return strndup(s, n);
}

static int call_state(const char *s)
{
	if (strcasecmp(s, "early") == 0)
		return SIPPRES_CALL_EARLY;
	if (strcasecmp(s, "confirmed") == 0)
		return SIPPRES_CALL_CONFIRMED;
	if (strcasecmp(s, "held") == 0)
		return SIPPRES_CALL_HELD;
	if (strcasecmp(s, "terminated") == 0)
		return SIPPRES_CALL_TERMINATED;
	return -1;
}

#define FAIL(...)                                          \
	do {                                               \
		snprintf(err, errlen, __VA_ARGS__);        \
		goto fail;                                 \
	} while (0)

#define DUP(dst, src)                                      \
	do {                                               \
		(dst) = strdup(src);                       \
		if (!(dst))                                \
			FAIL("out of memory");             \
	} while (0)

static int parse_call_set(const struct tokens *tk, struct cmd *c, char *err, size_t errlen)
{
	if (tk->n < 5)
		FAIL("usage: call set <device> <call-id> <early|confirmed|held|terminated> [key=value ...]");
	DUP(c->a, tk->t[2]);
	DUP(c->b, tk->t[3]);
	c->state = call_state(tk->t[4]);
	if (c->state < 0)
		FAIL("unknown call state '%s' (early, confirmed, held, terminated)", tk->t[4]);
	c->direction = -1;
	for (size_t i = 5; i < tk->n; i++) {
		const char *kv = tk->t[i], *eq = strchr(kv, '=');
		char **slot = NULL;
		size_t kl;

		if (!eq)
			FAIL("expected key=value, got '%s'", kv);
		kl = (size_t)(eq - kv);
		if (kl == 9 && strncasecmp(kv, "direction", 9) == 0) {
			if (strcasecmp(eq + 1, "recipient") == 0)
				c->direction = SIPPRES_DIRECTION_RECIPIENT;
			else if (strcasecmp(eq + 1, "initiator") == 0)
				c->direction = SIPPRES_DIRECTION_INITIATOR;
			else
				FAIL("direction must be recipient or initiator");
			continue;
		}
		if (kl == 6 && strncasecmp(kv, "remote", 6) == 0)
			slot = &c->remote;
		else if (kl == 14 && strncasecmp(kv, "remote_display", 14) == 0)
			slot = &c->remote_display;
		else if (kl == 5 && strncasecmp(kv, "local", 5) == 0)
			slot = &c->local;
		else if (kl == 13 && strncasecmp(kv, "local_display", 13) == 0)
			slot = &c->local_display;
		else if (kl == 9 && strncasecmp(kv, "local_tag", 9) == 0)
			slot = &c->local_tag;
		else if (kl == 10 && strncasecmp(kv, "remote_tag", 10) == 0)
			slot = &c->remote_tag;
		else
			FAIL("unknown call key '%.*s'", (int)kl, kv);
		free(*slot);
		DUP(*slot, eq + 1);
	}
	c->kind = CMD_CALL_SET;
	return 0;
fail:
	return -1;
}

/* `<exten>,hint,<value> into <context> [replace]` starting at token 3 */
static int parse_hint_add(const char *line, const struct tokens *tk, struct cmd *c, char *err, size_t errlen)
{
	char *spec = NULL;
	size_t n, into = 0, i, e, depth = 0;
	const char *s;

	if (tk->n < 6)
		FAIL("usage: dialplan add extension <exten>,hint,<value> into <context> [replace]");
	/* the last "into" word that is followed by the context (and maybe "replace") */
	if (is(tk, tk->n - 1, "replace") && tk->n >= 7 && is(tk, tk->n - 3, "into")) {
		into = tk->n - 3;
		c->replace = true;
	} else if (is(tk, tk->n - 2, "into")) {
		into = tk->n - 2;
	} else {
		FAIL("usage: dialplan add extension <exten>,hint,<value> into <context> [replace]");
	}
	if (into < 4)
		FAIL("missing <exten>,hint,<value>");
	DUP(c->c, tk->t[into + 1]);
	s = line + tk->start[3];
	n = tk->start[into] - tk->start[3];
	while (n > 0 && blank(s[n - 1]))
		n--;
	spec = strndup(s, n);
	if (!spec)
		FAIL("out of memory");
	for (e = 0; spec[e] && (spec[e] != ',' || depth > 0); e++) {
		if (spec[e] == '[')
			depth++;
		else if (spec[e] == ']' && depth > 0)
			depth--;
	}
	if (!spec[e] || e == 0)
		FAIL("expected <exten>,hint,<value>");
	c->a = strndup(spec, e);
	if (!c->a)
		FAIL("out of memory");
	i = e + 1;
	while (blank(spec[i]))
		i++;
	if (strncmp(spec + i, "hint", 4) != 0 || (spec[i + 4] != ',' && !blank(spec[i + 4]) && spec[i + 4]))
		FAIL("only hints can be added (<exten>,hint,<value>)");
	i += 4;
	while (blank(spec[i]))
		i++;
	if (spec[i] != ',')
		FAIL("expected <exten>,hint,<value>");
	i++;
	while (blank(spec[i]))
		i++;
	/* a quoted value ("PJSIP/a&PJSIP/b(Alice Smith)") */
	n = strlen(spec + i);
	if (n >= 2 && spec[i] == '"' && spec[i + n - 1] == '"')
		c->b = strndup(spec + i + 1, n - 2);
	else
		c->b = strdup(spec + i);
	if (!c->b)
		FAIL("out of memory");
	free(spec);
	c->kind = CMD_HINT_ADD;
	return 0;
fail:
	free(spec);
	return -1;
}

int cmd_parse(const char *line, struct cmd *c, char *err, size_t errlen)
{
	struct tokens tk;

	memset(c, 0, sizeof(*c));
	c->direction = -1;
	if (tokenize(line, &tk, err, errlen) < 0) {
		tokens_free(&tk);
		return -1;
	}
	if (tk.n == 0 || tk.t[0][0] == '#') {
		tokens_free(&tk);
		return 0;
	}
	if (is(&tk, 0, "quit")) {
		if (tk.n != 1)
			FAIL("usage: quit");
		c->kind = CMD_QUIT;
	} else if (is(&tk, 0, "devstate") && is(&tk, 1, "change")) {
		if (tk.n != 4)
			FAIL("usage: devstate change <device> <STATE>");
		c->state = sippres_device_state_from_string(tk.t[3], strlen(tk.t[3]));
		if (c->state < 0)
			FAIL("unknown device state '%s'", tk.t[3]);
		DUP(c->a, tk.t[2]);
		c->kind = CMD_DEVSTATE;
	} else if (is(&tk, 0, "presencestate") && is(&tk, 1, "change")) {
		char *v, *comma;

		if (tk.n < 4)
			FAIL("usage: presencestate change <provider> <STATE>[,<subtype>[,<message>]]");
		DUP(c->a, tk.t[2]);
		v = rest_of_line(line, &tk, 3);
		if (!v)
			FAIL("out of memory");
		comma = strchr(v, ',');
		if (comma) {
			char *comma2;

			*comma = '\0';
			comma2 = strchr(comma + 1, ',');
			if (comma2) {
				*comma2 = '\0';
				c->d = strdup(comma2 + 1);
			}
			c->c = strdup(comma + 1);
			if (!c->c || (comma2 && !c->d)) {
				free(v);
				FAIL("out of memory");
			}
		}
		c->b = v;
		c->state = sippres_presence_state_from_string(v, strlen(v));
		if (c->state < 0)
			FAIL("unknown presence state '%s'", v);
		c->kind = CMD_PRESENCE;
	} else if (is(&tk, 0, "dialplan") && is(&tk, 1, "add") && is(&tk, 2, "extension")) {
		if (parse_hint_add(line, &tk, c, err, errlen) < 0)
			goto fail;
	} else if (is(&tk, 0, "dialplan") && is(&tk, 1, "remove") && is(&tk, 2, "extension")) {
		char *at;

		if (tk.n < 4 || tk.n > 5 || (tk.n == 5 && !is(&tk, 4, "hint")))
			FAIL("usage: dialplan remove extension <exten>@<context> hint");
		at = strrchr(tk.t[3], '@');
		if (!at || at == tk.t[3] || !at[1])
			FAIL("expected <exten>@<context>");
		c->a = strndup(tk.t[3], (size_t)(at - tk.t[3]));
		c->c = strdup(at + 1);
		if (!c->a || !c->c)
			FAIL("out of memory");
		c->kind = CMD_HINT_REMOVE;
	} else if (is(&tk, 0, "call") && is(&tk, 1, "set")) {
		if (parse_call_set(&tk, c, err, errlen) < 0)
			goto fail;
	} else if (is(&tk, 0, "call") && is(&tk, 1, "clear")) {
		if (tk.n != 4)
			FAIL("usage: call clear <device> <call-id>");
		DUP(c->a, tk.t[2]);
		DUP(c->b, tk.t[3]);
		c->kind = CMD_CALL_CLEAR;
	} else if ((is(&tk, 0, "dialplan") || is(&tk, 0, "module") || is(&tk, 0, "core")) && is(&tk, 1, "reload")) {
		if (tk.n != 2)
			FAIL("usage: %s reload", tk.t[0]);
		c->kind = CMD_RELOAD;
	} else if (is(&tk, 0, "core") && is(&tk, 1, "show") && is(&tk, 2, "hints") && tk.n == 3) {
		c->kind = CMD_SHOW_HINTS;
	} else if (is(&tk, 0, "pjsip") && (is(&tk, 1, "show") || is(&tk, 1, "list")) && is(&tk, 2, "subscriptions")) {
		if (!(tk.n == 4 || (tk.n == 6 && is(&tk, 4, "like"))) || !(is(&tk, 3, "inbound") || is(&tk, 3, "outbound")))
			FAIL("usage: pjsip %s subscriptions {inbound|outbound} [like <regex>]", tk.t[1]);
		if (tk.n == 6)
			DUP(c->a, tk.t[5]);
		c->outbound = is(&tk, 3, "outbound");
		c->kind = is(&tk, 1, "show") ? CMD_SHOW_SUBS : CMD_LIST_SUBS;
	} else if (is(&tk, 0, "sippres") && is(&tk, 1, "show") && is(&tk, 2, "subscriptions") && tk.n == 3) {
		c->kind = CMD_SUBS_DETAIL;
	} else if (is(&tk, 0, "pjsip") && is(&tk, 1, "show") && is(&tk, 2, "publications") && tk.n == 3) {
		c->kind = CMD_SHOW_PUBS;
	} else {
		FAIL("unknown command");
	}
	tokens_free(&tk);
	return 0;
fail:
	tokens_free(&tk);
	cmd_free(c);
	return -1;
}

void cmd_free(struct cmd *c)
{
	free(c->a);
	free(c->b);
	free(c->c);
	free(c->d);
	free(c->remote);
	free(c->remote_display);
	free(c->local);
	free(c->local_display);
	free(c->local_tag);
	free(c->remote_tag);
	memset(c, 0, sizeof(*c));
	c->direction = -1;
}

int cmd_apply(struct sippres_ctx *ctx, const struct cmd *c, char *err, size_t errlen)
{
	struct sippres_diag diag = {.size = sizeof(diag)};
	int r;

	switch (c->kind) {
	case CMD_DEVSTATE:
		r = sippres_device_state_set(ctx, c->a, c->state);
		break;
	case CMD_PRESENCE:
		r = sippres_presence_state_set(ctx, c->a, c->state, c->c, c->d);
		break;
	case CMD_HINT_ADD:
		r = sippres_hint_set(ctx, c->c, c->a, c->b, &diag);
		if (r < 0 && diag.message[0]) {
			snprintf(err, errlen, "%s", diag.message);
			return r;
		}
		break;
	case CMD_HINT_REMOVE:
		r = sippres_hint_remove(ctx, c->c, c->a);
		break;
	case CMD_CALL_SET: {
		struct sippres_call call = {
			.size = sizeof(call),
			.call_id = c->b,
			.local_tag = c->local_tag,
			.remote_tag = c->remote_tag,
			.state = (uint32_t)c->state,
			.direction = c->direction < 0 ? SIPPRES_DIRECTION_RECIPIENT : (uint32_t)c->direction,
			.local_uri = c->local,
			.local_display = c->local_display,
			.remote_uri = c->remote,
			.remote_display = c->remote_display,
		};
		r = sippres_call_set(ctx, c->a, &call);
		break;
	}
	case CMD_CALL_CLEAR:
		r = sippres_call_clear(ctx, c->a, c->b);
		break;
	default:
		r = SIPPRES_E_INVAL;
		break;
	}
	if (r == SIPPRES_E_NOTFOUND && (c->kind == CMD_HINT_REMOVE || c->kind == CMD_CALL_CLEAR))
		snprintf(err, errlen, "no such %s", c->kind == CMD_HINT_REMOVE ? "hint" : "call");
	else if (r < 0)
		snprintf(err, errlen, "%s", sippres_strerror(r));
	return r < 0 ? r : 0;
}
