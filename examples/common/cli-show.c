/* SPDX-License-Identifier: MIT */
/* `core show hints`, `pjsip show subscriptions inbound` and `pjsip list subscriptions inbound` as Asterisk
 * prints them: cli-show.h. */
#include "cli-show.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsippresence/libsippresence.h>

/* the printf widths of Asterisk's hint list (docs/mini-ua.md: 20 for exten@context and for the hint text,
 * 15 for the state and the presence, 2 for the watcher count) */
enum { HINT_W_NAME = 20, HINT_W_APP = 20, HINT_W_STATE = 15, HINT_W_PRESENCE = 15 };

void cli_hint_line(struct sbuf *out, const char *exten, const char *context, const char *app, size_t app_len,
                   const char *state, const char *presence, int watchers)
{
	size_t el = strlen(exten), cl = strlen(context);
	char name[HINT_W_NAME + 1];
	size_t n = 0;

	/* exten@context cut at 20 bytes, as a 20-byte printf precision cuts it */
	for (size_t i = 0; i < el + 1 + cl && n < HINT_W_NAME; i++)
		name[n++] = i < el ? exten[i] : i == el ? '@' : context[i - el - 1];
	name[n] = '\0';
	if (app_len > HINT_W_APP)
		app_len = HINT_W_APP;
	sbuf_printf(out, "%-*s: %-*.*s  State:%-*.*s Presence:%-*.*s Watchers %2d\n", HINT_W_NAME, name, HINT_W_APP,
	            (int)app_len, app, HINT_W_STATE, HINT_W_STATE, state, HINT_W_PRESENCE, HINT_W_PRESENCE, presence,
	            watchers);
}

/* ---- watchers: the subscriptions of each extension ------------------------------------------ */

struct watched {
	struct sippres_ctx *ctx;
	char **keys; /* "context\nresource", sorted */
	size_t n, cap;
	int err;
};

static char *watch_key(const char *context, const char *resource)
{
	size_t cl = strlen(context), rl = strlen(resource);
	char *k = malloc(cl + rl + 2);

	if (k) {
		memcpy(k, context, cl);
		k[cl] = '\n';
		memcpy(k + cl + 1, resource, rl + 1);
	}
	return k;
}

static int collect_sub(void *user_data, struct sippres_sub *sub)
{
	struct watched *w = user_data;
	struct sippres_sub_info i = {.size = sizeof(i)};
	char *k;

	/* a list subscription watches its members, which the library does not list: not counted */
	if (sippres_sub_get_info(w->ctx, sub, &i) < 0 || i.is_list)
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		char **keys = cap < ((size_t)-1) / sizeof(*keys) ? realloc(w->keys, cap * sizeof(*keys)) : NULL;

		if (!keys) {
			w->err = SIPPRES_E_NOMEM;
			return -1;
		}
		w->keys = keys;
		w->cap = cap;
	}
	if (!(k = watch_key(i.context, i.resource))) {
		w->err = SIPPRES_E_NOMEM;
		return -1;
	}
	w->keys[w->n++] = k;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int watchers_of(const struct watched *w, const char *context, const char *exten)
{
	char *k = watch_key(context, exten);
	size_t lo = 0, hi = w->n;
	int count = 0;

	if (!k)
		return 0;
	while (lo < hi) { /* the first key >= k */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(w->keys[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo < w->n && strcmp(w->keys[lo], k) == 0 && count < 99999) {
		count++;
		lo++;
	}
	free(k);
	return count;
}

static void watched_free(struct watched *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->keys[i]);
	free(w->keys);
}

/* ---- core show hints -------------------------------------------------------------------------- */

struct show_hints {
	struct sbuf *out;
	const struct watched *w;
};

static int show_hint(void *user_data, const struct sippres_exten_status *st)
{
	struct show_hints *s = user_data;
	size_t app_len = strlen(st->value);

	/* "(Display Name)" is the hint's data, not its app: Asterisk lists the app */
	if (st->display_name[0] && app_len > 0 && st->value[app_len - 1] == ')') {
		const char *open = strrchr(st->value, '(');

		if (open)
			app_len = (size_t)(open - st->value);
	}
	if (st->is_pattern) /* not evaluated itself: Asterisk lists a pattern hint as Unavailable, no presence */
		cli_hint_line(s->out, st->exten, st->context, st->value, app_len, "Unavailable", "", 0);
	else
		cli_hint_line(s->out, st->exten, st->context, st->value, app_len,
		              sippres_exten_state_string(st->exten_state),
		              sippres_presence_state_name((int)st->presence_state),
		              watchers_of(s->w, st->context, st->exten));
	return 0;
}

static int count_hint(void *user_data, const struct sippres_exten_status *st)
{
	(void)user_data;
	(void)st;
	return 0;
}

int cli_show_hints(struct sippres_ctx *ctx, struct sbuf *out)
{
	struct watched w = {.ctx = ctx};
	struct show_hints s = {.out = out, .w = &w};
	int r = sippres_hint_foreach(ctx, count_hint, NULL);

	if (r <= 0) {
		if (r == 0)
			sbuf_printf(out, "There are no registered dialplan hints\n");
		return r;
	}
	r = sippres_sub_foreach(ctx, collect_sub, &w);
	if (w.err < 0 || r < 0) {
		watched_free(&w);
		return w.err < 0 ? w.err : r;
	}
	if (w.n > 1)
		qsort(w.keys, w.n, sizeof(*w.keys), key_cmp);
	sbuf_printf(out, "\n    -= Registered Asterisk Dial Plan Hints =-\n");
	r = sippres_hint_foreach(ctx, show_hint, &s);
	watched_free(&w);
	if (r < 0)
		return r;
	sbuf_printf(out, "----------------\n- %d hints registered\n", r);
	return r;
}

/* ---- pjsip show|list subscriptions ----------------------------------------------------------- */

/* Asterisk's limits: the merged caller ID and the Call-ID are copied into 256-byte buffers, a quoted name
 * escaped into 128 bytes; the list layout's first two columns are 30 wide. */
enum { SUB_W_CID = 255, SUB_W_NAME = 127, SUB_W_CALLID = 255, SUB_W_COL = 30 };

struct show_subs {
	struct sippres_ctx *ctx;
	struct sbuf *out;
	uint64_t now;
	bool list;
	regex_t *like;
	int count;
};

/* The caller ID as Asterisk merges it for the show layout: "name" <number> (quotes and backslashes in the
 * name escaped), the name or the number alone, or <none>; at most SUB_W_CID bytes. */
static void merged_cid(char *buf, const char *name, const char *number)
{
	if (name && number) {
		char esc[SUB_W_NAME + 1];
		size_t n = 0;

		for (; *name && n < SUB_W_NAME; name++) {
			if ((*name == '"' || *name == '\\') && n + 2 > SUB_W_NAME)
				break;
			if (*name == '"' || *name == '\\')
				esc[n++] = '\\';
			esc[n++] = *name;
		}
		esc[n] = '\0';
		snprintf(buf, SUB_W_CID + 1, "\"%s\" <%s>", esc, number);
	} else {
		snprintf(buf, SUB_W_CID + 1, "%s", name ? name : number ? number : "<none>");
	}
}

/* The seconds left, rounded down and never below 0, as Asterisk counts them. */
static unsigned int expiry_left(uint64_t expires_at, uint64_t now)
{
	uint64_t s = expires_at > now ? (expires_at - now) / 1000 : 0;

	return s > 0x7fffffff ? 0x7fffffff : (unsigned int)s;
}

static int show_sub(void *user_data, struct sippres_sub *sub)
{
	struct show_subs *s = user_data;
	struct sippres_sub_info i = {.size = sizeof(i)};
	unsigned int left;
	struct sbuf e;

	if (sippres_sub_get_info(s->ctx, sub, &i) < 0)
		return 0;
	left = expiry_left(i.expires_at_ms, s->now);
	sbuf_init(&e);
	if (s->list) {
		char ep[SUB_W_COL + 1], res[SUB_W_COL + 1];

		snprintf(ep, sizeof(ep), "%s/%s", i.endpoint,
		         i.endpoint_cid_name ? i.endpoint_cid_name : i.endpoint_cid_number ? i.endpoint_cid_number : "<none>");
		snprintf(res, sizeof(res), "%s/%s", i.resource, i.event);
		sbuf_printf(&e, "%-*s %-*s %6u %.*s\n", SUB_W_COL, ep, SUB_W_COL, res, left, SUB_W_CALLID, i.call_id);
	} else {
		char cid[SUB_W_CID + 1];

		merged_cid(cid, i.endpoint_cid_name, i.endpoint_cid_number);
		sbuf_printf(&e, "Endpoint: %s/%s\nResource: %s/%s\n  Expiry: %8u  %.*s\n\n", i.endpoint, cid, i.resource,
		            i.event, left, SUB_W_CALLID, i.call_id);
	}
	if (e.oom) {
		sbuf_free(&e);
		s->out->oom = true;
		return -1;
	}
	if (!s->like || regexec(s->like, e.s, 0, NULL, 0) == 0) {
		sbuf_add(s->out, e.s, e.len);
		s->count++;
	}
	sbuf_free(&e);
	return 0;
}

int cli_show_subscriptions(struct sippres_ctx *ctx, struct sbuf *out, uint64_t now_ms, bool list, bool outbound,
                           const char *like, char *err, size_t errlen)
{
	struct show_subs s = {.ctx = ctx, .out = out, .now = now_ms, .list = list};
	regex_t re;
	int r = 0;

	if (like) {
		int rc = regcomp(&re, like, REG_EXTENDED | REG_NOSUB);

		if (rc) {
			char why[128];

			regerror(rc, &re, why, sizeof(why));
			snprintf(err, errlen, "Regular expression '%s' failed to compile: %s", like, why);
			return SIPPRES_E_INVAL;
		}
		s.like = &re;
	}
	if (list)
		sbuf_printf(out, "%-*s %-*s %6s %s\n", SUB_W_COL, "Endpoint/CLI", SUB_W_COL, "Resource/Event", "Expiry",
		            "Call-id");
	else
		sbuf_printf(out, "Endpoint: <Endpoint/Caller-ID.............................................>\n"
		                 "Resource: <Resource/Event.................................................>\n"
		                 "  Expiry: <Expiry>  <Call-id..............................................>\n"
		                 "===========================================================================\n\n");
	if (!outbound)
		r = sippres_sub_foreach(ctx, show_sub, &s);
	if (like)
		regfree(&re);
	if (r < 0)
		return r;
	if (out->oom)
		return SIPPRES_E_NOMEM;
	sbuf_printf(out, "%s%d active subscriptions%s%s%s\n", list ? "\n" : "", s.count, like ? " matched \"" : "",
	            like ? like : "", like ? "\"" : "");
	return s.count;
}
