/* SPDX-License-Identifier: MIT */
/* extensions.conf and pjsip.conf: the first load, and reloads (SIGHUP, `dialplan reload`, `module reload`,
 * `core reload`). A reload validates both files in a scratch context, then applies the difference to the
 * running one through the public API. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "transport.h"

struct conf_io {
	char dir[4096];          /* directory of the top file: relative includes start there, as in /etc/asterisk */
	struct strset *endpoints; /* names loaded are added to these (NULL: not kept) */
	struct strset *lists;
	struct strset *inpubs;    /* inbound-publication names */
	struct strset *autohints; /* contexts with autohints = yes */
	struct strset *auths, *identifies; /* type=auth and type=identify names */
	struct transport_conf **transports; /* with transports: type=transport sections are kept (NULL: not) */
	struct ua *ua;            /* with outpubs: where outbound-publish facts go (NULL: not kept) */
	struct outpub **outpubs;
	int n_endpoints, n_hints, n_inpubs, n_outpubs;
	bool quiet;              /* problems not logged */
	char first[1024];        /* the first problem, "file:line[:column]: message" */
	bool oom;
};

static int conf_include(void *user_data, const char *name, const char **text, size_t *len)
{
	struct conf_io *c = user_data;
	char path[8192];
	char *t;

	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	t = ua_read_file(path, len);
	if (!t)
		return errno == ENOENT ? SIPPRES_E_NOTFOUND : SIPPRES_E_INVAL;
	*text = t;
	return 0;
}

static void conf_release(void *user_data, const char *text, size_t len)
{
	void *p;

	(void)user_data;
	(void)len;
	memcpy(&p, &text, sizeof(p)); /* our own buffer from conf_include */
	free(p);
}

static void conf_problem(void *user_data, const char *file, const struct sippres_diag *d)
{
	struct conf_io *c = user_data;
	char where[300];

	if (d->column)
		snprintf(where, sizeof(where), "%s:%u:%u", file, d->line, d->column);
	else
		snprintf(where, sizeof(where), "%s:%u", file, d->line);
	if (!c->quiet)
		ua_log(LOG_WARN, "%s: %s", where, d->message);
	if (!c->first[0])
		snprintf(c->first, sizeof(c->first), "%s: %s", where, d->message);
}

static void conf_loaded(void *user_data, const char *type, const char *name)
{
	struct conf_io *c = user_data;
	struct strset *set = NULL;

	if (strcmp(type, "endpoint") == 0) {
		c->n_endpoints++;
		set = c->endpoints;
	} else if (strcmp(type, "resource_list") == 0) {
		set = c->lists;
	} else if (strcmp(type, "hint") == 0) {
		c->n_hints++;
	} else if (strcmp(type, "inbound-publication") == 0) {
		c->n_inpubs++;
		set = c->inpubs;
	} else if (strcmp(type, "outbound-publish") == 0) {
		c->n_outpubs++;
	} else if (strcmp(type, "autohints") == 0) {
		set = c->autohints;
	} else if (strcmp(type, "auth") == 0) {
		set = c->auths;
	} else if (strcmp(type, "identify") == 0) {
		set = c->identifies;
	}
	if (set && strset_add(set, name) < 0) {
		ua_log(LOG_ERR, "out of memory: %s %s is not known", type, name);
		c->oom = true;
	}
	if (!c->quiet)
		ua_log(LOG_DEBUG, "loaded %s %s", type, name);
}

static void conf_outbound_publish(void *user_data, const char *name, const struct sippres_conf_outbound_publish *o)
{
	struct conf_io *c = user_data;

	if (c->outpubs && outpub_conf(c->ua, c->outpubs, name, o) < 0 && !c->first[0])
		snprintf(c->first, sizeof(c->first), "outbound publish %s: server_uri %s cannot be used", name,
		         o->server_uri ? o->server_uri : "(none)");
}

static void conf_transport(void *user_data, const char *name, const struct sippres_conf_transport *t)
{
	struct conf_io *c = user_data;

	if (c->transports && transport_conf_add(c->transports, name, t) < 0) {
		ua_log(LOG_ERR, "out of memory: transport %s is not used", name);
		c->oom = true;
	}
}

/* Load one file into ctx. Returns the number of problems, or -1 (reason in c->first, logged). */
static int load_file(struct sippres_ctx *ctx, const char *path, bool pjsip, struct conf_io *c)
{
	struct sippres_config_io io = {
		.size = sizeof(io),
		.user_data = c,
		.include = conf_include,
		.release = conf_release,
		.problem = conf_problem,
		.loaded = conf_loaded,
		.outbound_publish = conf_outbound_publish,
		.transport = conf_transport,
	};
	char *copy = strdup(path), *text;
	size_t len = 0;
	int r;

	if (!copy)
		return -1;
	snprintf(c->dir, sizeof(c->dir), "%s", dirname(copy));
	free(copy);
	text = ua_read_file(path, &len);
	if (!text) {
		snprintf(c->first, sizeof(c->first), "cannot read %s: %s", path, strerror(errno));
		ua_log(LOG_ERR, "%s", c->first);
		return -1;
	}
	r = pjsip ? sippres_config_load_pjsip(ctx, path, text, len, &io)
	          : sippres_config_load_extensions(ctx, path, text, len, &io);
	free(text);
	if (r < 0 || c->oom) {
		snprintf(c->first, sizeof(c->first), "loading %s: %s", path, sippres_strerror(r < 0 ? r : SIPPRES_E_NOMEM));
		ua_log(LOG_ERR, "%s", c->first);
		return -1;
	}
	return r;
}

/* ---- the mini UA's own keys: [global] type=global in pjsip.conf ---------------------------------- */

static const struct {
	const char *key;
	int bit;
} limit_keys[] = {
	{"max_subscriptions", UA_OPT_MAX_SUBS},
	{"max_subscriptions_per_endpoint", UA_OPT_MAX_SUBS_EP},
	{"max_subscriptions_per_source", UA_OPT_MAX_SUBS_SRC},
	{"rate_per_source", UA_OPT_RATE},
	{"max_response_cache", UA_OPT_CACHE},
	{"notify_contact", UA_OPT_CONTACT},
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* One key of a type=global section; false: a bad value (logged). */
static bool global_key(struct ua *ua, const char *key, const char *value, const char *path, unsigned line)
{
	for (size_t i = 0; i < sizeof(limit_keys) / sizeof(limit_keys[0]); i++) {
		unsigned long v = 0;
		char *end;

		if (strcmp(key, limit_keys[i].key) != 0)
			continue;
		if (ua->opts_given & limit_keys[i].bit)
			return true; /* the command line wins */
		if (limit_keys[i].bit == UA_OPT_CONTACT) {
			int c = strcmp(value, "match") == 0 ? UA_CONTACT_MATCH : strcmp(value, "source") == 0 ? UA_CONTACT_SOURCE
			      : strcmp(value, "any") == 0 ? UA_CONTACT_ANY : -1;

			if (c < 0) {
				ua_log(LOG_WARN, "%s:%u: notify_contact = %s: match, source or any; the setting stays", path, line,
				       value);
				return false;
			}
			ua->notify_contact = c;
			return true;
		}
		v = strtoul(value, &end, 10);
		if (end == value || *end || v > 100000000 || value[0] == '-') {
			ua_log(LOG_WARN, "%s:%u: %s = %s: a count from 0 to 100000000; the setting stays", path, line, key, value);
			return false;
		}
		switch (limit_keys[i].bit) {
		case UA_OPT_MAX_SUBS:
			ua->limits.conf.max_subs = v;
			if ((v ? v : 100000) + 16384 > ua->limits.conf.max_peers)
				ua->limits.conf.max_peers = (v ? v : 100000) + 16384; /* room for a source per subscription */
			break;
		case UA_OPT_MAX_SUBS_EP: ua->limits.conf.max_subs_per_endpoint = v; break;
		case UA_OPT_MAX_SUBS_SRC: ua->limits.conf.max_subs_per_source = v; break;
		case UA_OPT_RATE: ua->limits.conf.rate_per_source = v; break;
		case UA_OPT_CACHE: ua->stx.max = v; break;
		}
		return true;
	}
	return true; /* Asterisk's own global keys: not ours */
}

struct global_scan {
	bool global;               /* the section has type=global */
	char *keys[64];            /* its other key = value lines, applied once its type is known */
	unsigned lines[64];
	size_t n;
	unsigned bad;
};

static void global_flush(struct ua *ua, struct global_scan *g, const char *path)
{
	for (size_t i = 0; g->global && i < g->n; i++) {
		char *k = g->keys[i], *v = strchr(k, '=');

		*v++ = '\0';
		g->bad += !global_key(ua, trim(k), trim(v), path, g->lines[i]);
	}
	g->n = 0;
	g->global = false;
}

int ua_global_keys(struct ua *ua, const char *path)
{
	size_t len = 0;
	char *text = ua_read_file(path, &len), *p, *nl;
	struct global_scan g = {0};
	bool in_section = false;
	unsigned line = 0;

	if (!text)
		return -1;
	for (p = text; p; p = nl) {
		char *l, *eq, *semi;

		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		line++;
		semi = strchr(p, ';');
		if (semi)
			*semi = '\0';
		l = trim(p);
		if (l[0] == '[') {
			global_flush(ua, &g, path);
			in_section = true;
			continue;
		}
		eq = strchr(l, '=');
		if (!in_section || !eq)
			continue;
		if (strncmp(l, "type", 4) == 0 && trim(l + 4) == eq)
			g.global = strcmp(trim(eq + 1), "global") == 0;
		else if (g.n < sizeof(g.keys) / sizeof(g.keys[0])) {
			g.lines[g.n] = line;
			g.keys[g.n++] = l;
		}
	}
	global_flush(ua, &g, path);
	free(text);
	return (int)g.bad;
}

int ua_config_load(struct ua *ua, const char *extensions, const char *pjsip)
{
	struct outpub *fresh = NULL;
	struct conf_io c = {.endpoints = &ua->endpoints, .lists = &ua->lists, .inpubs = &ua->inpubs,
	                    .autohints = &ua->autohints, .auths = &ua->auths, .identifies = &ua->identifies, .ua = ua,
	                    .outpubs = &fresh, .transports = &ua->transports};
	int r;

	ua->extensions_path = strdup(extensions);
	ua->pjsip_path = strdup(pjsip);
	if (!ua->extensions_path || !ua->pjsip_path)
		return -1;
	/* extensions.conf first: a pjsip.conf wizard hint for an extension it defines is then a problem and
	 * extensions.conf's hint stays (whatever the order, the library keeps that one) */
	r = load_file(ua->ctx, extensions, false, &c);
	if (r < 0)
		return -1;
	ua_log(LOG_INFO, "%s: %d hint(s), %d problem(s)", extensions, c.n_hints, r);
	c.n_hints = 0;
	r = load_file(ua->ctx, pjsip, true, &c);
	if (r < 0) {
		outpub_free_list(fresh);
		return -1;
	}
	outpub_apply(ua, fresh, true); /* resynced by main() once the stored state is back */
	ua_global_keys(ua, pjsip);
	ua_log(LOG_INFO, "%s: %d endpoint(s), %d wizard hint(s), %d inbound publication(s), %d outbound publish(es), "
	                 "%d problem(s)",
	       pjsip, c.n_endpoints, c.n_hints, c.n_inpubs, c.n_outpubs, r);
	return 0;
}

/* ---- reload ------------------------------------------------------------------------------ */

struct hint {
	char *context, *exten, *value;
	bool pattern;
	bool autohint;
};

struct hints {
	struct hint *v;
	size_t n, cap;
	bool oom;
};

static int hints_add(void *user_data, const struct sippres_exten_status *st)
{
	struct hints *h = user_data;
	struct hint *x;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct hint *v = realloc(h->v, cap * sizeof(*v));

		if (!v) {
			h->oom = true;
			return -1;
		}
		h->v = v;
		h->cap = cap;
	}
	x = &h->v[h->n];
	x->context = strdup(st->context);
	x->exten = strdup(st->exten);
	x->value = strdup(st->value);
	x->pattern = st->is_pattern != 0;
	x->autohint = st->is_autohint != 0;
	h->n++;
	if (!x->context || !x->exten || !x->value) {
		h->oom = true;
		return -1;
	}
	return 0;
}

static void hints_free(struct hints *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].context);
		free(h->v[i].exten);
		free(h->v[i].value);
	}
	free(h->v);
	memset(h, 0, sizeof(*h));
}

static int hint_cmp(const void *a, const void *b)
{
	const struct hint *x = a, *y = b;
	int r = strcmp(x->context, y->context);

	return r ? r : strcmp(x->exten, y->exten);
}

/* Every hint of ctx, sorted by context and extension. */
static int hints_of(struct sippres_ctx *ctx, struct hints *h)
{
	memset(h, 0, sizeof(*h));
	if (sippres_hint_foreach(ctx, hints_add, h) < 0 || h->oom) {
		hints_free(h);
		return -1;
	}
	if (h->n)
		qsort(h->v, h->n, sizeof(h->v[0]), hint_cmp);
	return 0;
}

static const struct hint *hint_find(const struct hints *h, const struct hint *key)
{
	return h->n ? bsearch(key, h->v, h->n, sizeof(h->v[0]), hint_cmp) : NULL;
}

struct reload_counts {
	unsigned added, changed, removed, endpoints_removed, lists_removed, inpubs_removed;
	int outpubs_changed;
};

/* The running hints become the scratch context's: unchanged ones are not touched (their subscriptions
 * see nothing), changed and new ones are set, the others removed (their subscriptions end). An
 * instantiated hint (from a pattern) that the files still produce stays as it is, and so does an
 * autohint of a context that keeps autohints = yes (autohints) (the scratch context has no devices). */
static void apply_hints(struct ua *ua, struct sippres_ctx *scratch, const struct hints *want,
                        const struct strset *autohints, struct reload_counts *n)
{
	struct hints have;
	int r;

	if (hints_of(ua->ctx, &have) < 0) {
		ua_log(LOG_ERR, "out of memory: the hints were not reloaded");
		return;
	}
	for (size_t i = 0; i < have.n; i++) {
		const struct hint *h = &have.v[i];

		if (hint_find(want, h) || (h->autohint && strset_has(autohints, h->context)))
			continue;
		if (!h->pattern) {
			struct sippres_exten_status st = {.size = sizeof(st)};

			/* (the same context: found through an include it would be another hint) */
			if (sippres_exten_status_get(scratch, h->context, h->exten, &st) == 0 &&
			    strcmp(st.context, h->context) == 0) {
				/* an instance of a pattern that stays: follow the pattern's value */
				if (strcmp(st.value, h->value) != 0 &&
				    sippres_hint_set(ua->ctx, h->context, h->exten, st.value, NULL) >= 0)
					n->changed++;
				continue;
			}
		}
		r = sippres_hint_remove(ua->ctx, h->context, h->exten);
		if (r == 0)
			n->removed++;
		else if (r != SIPPRES_E_NOTFOUND) /* NOTFOUND: it went with its pattern */
			ua_log(LOG_ERR, "removing hint %s@%s: %s", h->exten, h->context, sippres_strerror(r));
	}
	for (size_t i = 0; i < want->n; i++) {
		const struct hint *w = &want->v[i], *h = hint_find(&have, w);
		struct sippres_diag diag = {.size = sizeof(diag)};

		if (h && strcmp(h->value, w->value) == 0)
			continue;
		r = sippres_hint_set(ua->ctx, w->context, w->exten, w->value, &diag);
		if (r < 0)
			ua_log(LOG_ERR, "hint %s@%s: %s", w->exten, w->context, diag.message[0] ? diag.message
			                                                                          : sippres_strerror(r));
		else if (h)
			n->changed++;
		else
			n->added++;
	}
	hints_free(&have);
}

struct includes_apply {
	struct sippres_ctx *to;
	struct strset names; /* contexts with includes in the new files */
	bool failed;
};

static int includes_collect(void *user_data, const char *context, const char *const *includes, size_t n)
{
	struct includes_apply *a = user_data;

	(void)includes;
	(void)n;
	if (strset_add(&a->names, context) < 0)
		a->failed = true;
	return a->failed ? -1 : 0;
}

static int includes_set(void *user_data, const char *context, const char *const *includes, size_t n)
{
	struct includes_apply *a = user_data;

	if (sippres_context_include_set(a->to, context, includes, n) < 0)
		a->failed = true;
	return 0;
}

/* The running include lists become the scratch context's (they change no subscription: those stay with
 * the hint they found). */
static void apply_includes(struct ua *ua, struct sippres_ctx *scratch)
{
	struct includes_apply want = {.to = ua->ctx}, have = {0};

	if (sippres_context_include_foreach(scratch, includes_collect, &want) < 0 || want.failed ||
	    sippres_context_include_foreach(ua->ctx, includes_collect, &have) < 0 || have.failed) {
		ua_log(LOG_ERR, "out of memory: the context includes were not reloaded");
		goto out;
	}
	for (size_t i = 0; i < have.names.cap; i++) {
		if (have.names.slots[i] && !strset_has(&want.names, have.names.slots[i]))
			sippres_context_include_set(ua->ctx, have.names.slots[i], NULL, 0);
	}
	sippres_context_include_foreach(scratch, includes_set, &want);
	if (want.failed)
		ua_log(LOG_ERR, "out of memory: some context includes were not reloaded");
out:
	strset_free(&want.names);
	strset_free(&have.names);
}

/* The running contexts' autohints become the files': on where they are now (the hints they made stay),
 * off where they are no more (apply_hints() then removes the hints they made); want becomes ua's. */
static void apply_autohints(struct ua *ua, struct strset *want)
{
	for (size_t i = 0; i < ua->autohints.cap; i++) {
		if (ua->autohints.slots[i] && !strset_has(want, ua->autohints.slots[i]))
			sippres_context_autohints_set(ua->ctx, ua->autohints.slots[i], 0);
	}
	for (size_t i = 0; i < want->cap; i++) {
		if (want->slots[i] &&
		    sippres_context_autohints_set(ua->ctx, want->slots[i], SIPPRES_AUTOHINTS_DEFAULT_MAX) < 0)
			ua_log(LOG_ERR, "out of memory: autohints of %s were not reloaded", want->slots[i]);
	}
	strset_free(&ua->autohints);
	ua->autohints = *want;
	memset(want, 0, sizeof(*want));
}

/* Names in old that are not in keep: removed from ctx with rm. */
static unsigned remove_gone(struct sippres_ctx *ctx, const struct strset *old, const struct strset *keep,
                            int (*rm)(struct sippres_ctx *, const char *))
{
	unsigned n = 0;

	for (size_t i = 0; i < old->cap; i++) {
		if (old->slots[i] && !strset_has(keep, old->slots[i]) && rm(ctx, old->slots[i]) == 0)
			n++;
	}
	return n;
}

int ua_reload(struct ua *ua, struct sbuf *out, char *err, size_t errlen)
{
	struct strset endpoints = {0}, lists = {0}, inpubs = {0}, autohints = {0}, auths = {0}, identifies = {0};
	struct outpub *fresh = NULL;
	struct conf_io c = {.endpoints = &endpoints, .lists = &lists, .inpubs = &inpubs, .autohints = &autohints,
	                    .auths = &auths, .identifies = &identifies, .ua = ua, .outpubs = &fresh};
	struct conf_io again = {.quiet = true};
	struct reload_counts n = {0};
	struct sippres_ctx *scratch = NULL;
	struct hints want = {0};
	int r, problems = 0, rc = -1;

	r = sippres_ctx_new(NULL, NULL, NULL, &scratch);
	if (r < 0) {
		snprintf(err, errlen, "%s", sippres_strerror(r));
		return -1;
	}
	/* 1. both files into a scratch context: any problem refuses the reload whole */
	r = load_file(scratch, ua->extensions_path, false, &c); /* first, as in ua_config_load() */
	if (r >= 0) {
		problems = r;
		r = load_file(scratch, ua->pjsip_path, true, &c);
	}
	if (r < 0 || problems + r > 0) {
		snprintf(err, errlen, "reload refused, the running configuration is kept: %s%s", c.first,
		         problems + r > 1 ? " (and more problems, logged)" : "");
		ua_log(LOG_WARN, "%s", err);
		goto out;
	}
	if (hints_of(scratch, &want) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* 2. the difference into the running context. Endpoints and lists: loading pjsip.conf again sets
	 * each one (and its wizard hints: apply_hints() then sees them as they should be, and removes those of
	 * a wizard gone) (a replaced endpoint keeps its subscriptions, with the new options; a replaced list
	 * applies at the next refresh); the ones gone are removed. */
	if (load_file(ua->ctx, ua->pjsip_path, true, &again) < 0)
		ua_log(LOG_ERR, "reloading %s into the running configuration: %s", ua->pjsip_path, again.first);
	ua_global_keys(ua, ua->pjsip_path); /* the limits of [global] (those the command line does not set) */
	n.endpoints_removed = remove_gone(ua->ctx, &ua->endpoints, &endpoints, sippres_endpoint_remove);
	n.lists_removed = remove_gone(ua->ctx, &ua->lists, &lists, sippres_list_remove);
	n.inpubs_removed = remove_gone(ua->ctx, &ua->inpubs, &inpubs, sippres_inbound_publication_remove);
	/* an auth or identify section gone: its object goes too (an endpoint still naming the auth is then
	 * answered 500, never let in) */
	remove_gone(ua->ctx, &ua->auths, &auths, sippres_auth_remove);
	remove_gone(ua->ctx, &ua->identifies, &identifies, sippres_identify_remove);
	strset_free(&ua->auths);
	strset_free(&ua->identifies);
	ua->auths = auths;
	ua->identifies = identifies;
	memset(&auths, 0, sizeof(auths));
	memset(&identifies, 0, sizeof(identifies));
	strset_free(&ua->endpoints);
	strset_free(&ua->lists);
	strset_free(&ua->inpubs);
	ua->endpoints = endpoints;
	ua->lists = lists;
	ua->inpubs = inpubs;
	memset(&endpoints, 0, sizeof(endpoints));
	memset(&lists, 0, sizeof(lists));
	memset(&inpubs, 0, sizeof(inpubs));
	n.outpubs_changed = outpub_apply(ua, fresh, false); /* new and changed ones resync */
	fresh = NULL;
	apply_includes(ua, scratch);
	apply_autohints(ua, &autohints);
	apply_hints(ua, scratch, &want, &ua->autohints, &n);
	sbuf_printf(out, "reloaded: hints %u added, %u changed, %u removed; %d endpoint(s), %u removed; %u list(s) removed; "
	                 "%d inbound publication(s), %u removed; %d outbound publish(es), %d added or changed\n",
	            n.added, n.changed, n.removed, c.n_endpoints, n.endpoints_removed, n.lists_removed, c.n_inpubs,
	            n.inpubs_removed, c.n_outpubs, n.outpubs_changed);
	ua_log(LOG_INFO, "reloaded %s and %s: hints %u added, %u changed, %u removed; %d endpoint(s), %u removed; "
	                 "%u list(s) removed; %d inbound publication(s), %u removed; %d outbound publish(es), %d added "
	                 "or changed",
	       ua->extensions_path, ua->pjsip_path, n.added, n.changed, n.removed, c.n_endpoints, n.endpoints_removed,
	       n.lists_removed, c.n_inpubs, n.inpubs_removed, c.n_outpubs, n.outpubs_changed);
	rc = 0;
out:
	hints_free(&want);
	strset_free(&endpoints);
	strset_free(&lists);
	strset_free(&inpubs);
	strset_free(&autohints);
	strset_free(&auths);
	strset_free(&identifies);
	outpub_free_list(fresh);
	sippres_ctx_free(scratch);
	return rc;
}
