/* SPDX-License-Identifier: MIT */
/* pjsip.conf loader: endpoint and resource_list sections, checked and handed
 * to a sink (the public entry point's sink registers them in the context). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pjsip-private.h"
#include "state/state-private.h"
#include "subs/subs-private.h"

#define LIST_EVENT_MAX 31 /* Asterisk keeps the event in char[32] */

static bool value_name_ok(const char *s)
{
	return sippres__name_ok(s);
}

/* One endpoint key k (v->name, or what follows a wizard's "endpoint/"); what
 * names the section type in problems. Returns 0 (applied or ignored), 1 (bad
 * value, reported), < 0. */
static int endpoint_key(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                        const char *k, const char *what, struct sippres_endpoint *ep)
{
	const char *val = v->value;
	uint32_t u;
	int b, r;

#define BAD(...)                                                                                \
	do {                                                                                    \
		r = sippres__conf_var_problem(doc, v, 0, __VA_ARGS__);                               \
		return r < 0 ? r : 1;                                                           \
	} while (0)

	if (sippres__streq_nocase(k, "context") || sippres__streq_nocase(k, "subscribe_context")) {
		bool sub = sippres__streq_nocase(k, "subscribe_context");

		if (val[0] && !value_name_ok(val))
			BAD("%s '%s': %s: '%s' is not a valid context name", what, cat->name, v->name, val);
		if (sub)
			ep->subscribe_context = val[0] ? val : NULL;
		else
			ep->context = val[0] ? val : NULL;
	} else if (sippres__streq_nocase(k, "allow_subscribe") || sippres__streq_nocase(k, "notify_early_inuse_ringing")) {
		uint32_t flag = sippres__streq_nocase(k, "allow_subscribe") ? SIPPRES_ENDPOINT_DENY_SUBSCRIBE
		                                                      : SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING;

		b = sippres__conf_bool(val);
		if (b < 0)
			BAD("%s '%s': %s: '%s' is not a boolean (yes/no)", what, cat->name, v->name, val);
		if (flag == SIPPRES_ENDPOINT_DENY_SUBSCRIBE)
			b = !b;
		if (b)
			ep->flags |= flag;
		else
			ep->flags &= ~flag;
	} else if (sippres__streq_nocase(k, "dialog_info_single_dialog") || sippres__streq_nocase(k, "dialog_info_dummy_dialog")) {
		uint32_t flag = sippres__streq_nocase(k, "dialog_info_single_dialog") ? SIPPRES_BODY_SINGLE_DIALOG
		                                                                 : SIPPRES_BODY_DUMMY_DIALOG;

		b = sippres__conf_bool(val);
		if (b < 0)
			BAD("%s '%s': %s: '%s' is not a boolean (yes/no)", what, cat->name, v->name, val);
		if (b)
			ep->body_options |= flag;
		else
			ep->body_options &= ~flag;
	} else if (sippres__streq_nocase(k, "callerid")) {
		ep->callerid = val[0] ? val : NULL;
	} else if (sippres__streq_nocase(k, "presence_profile")) {
		if (sippres__streq_nocase(val, "standard"))
			ep->profile = SIPPRES_PROFILE_STANDARD;
		else if (sippres__streq_nocase(val, "asterisk"))
			ep->profile = SIPPRES_PROFILE_ASTERISK;
		else
			BAD("%s '%s': %s: '%s' is neither 'standard' nor 'asterisk'", what, cat->name, v->name, val);
	} else if (sippres__streq_nocase(k, "sub_min_expiry") || sippres__streq_nocase(k, "sub_max_expiry") ||
	           sippres__streq_nocase(k, "sub_default_expiry") || sippres__streq_nocase(k, "notify_failure_limit") ||
	           sippres__streq_nocase(k, "max_notify_size")) {
		if (sippres__conf_uint(val, &u) < 0)
			BAD("%s '%s': %s: '%s' is not a number from 0 to 4294967295", what, cat->name, v->name, val);
		if (sippres__streq_nocase(k, "sub_min_expiry"))
			ep->sub_min_expiry = u;
		else if (sippres__streq_nocase(k, "sub_max_expiry"))
			ep->max_expiry = u;
		else if (sippres__streq_nocase(k, "sub_default_expiry"))
			ep->default_expiry = u;
		else if (sippres__streq_nocase(k, "max_notify_size"))
			ep->max_notify_size = u;
		else
			ep->notify_failure_limit = u;
	} else if (sippres__streq_nocase(k, "auth")) {
		if (sippres__auth_list_check(val) < 0)
			BAD("%s '%s': auth: '%s' is not a list of at most %d auth section names", what, cat->name, val,
			    SIPPRES__MAX_ENDPOINT_AUTHS);
		ep->auth = val[0] ? val : NULL;
	}
	/* every other key (Asterisk has ~200 endpoint options) is none of ours */
	return 0;
#undef BAD
}

int sippres__pjsip_sink_problem(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, int r,
                                const struct sippres_diag *diag, const char *what)
{
	if (r == SIPPRES_E_NOMEM || r == SIPPRES_E_REENTRANT || r == SIPPRES_E_CALLBACK)
		return r;
	return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "%s '%s': %s", what, cat->name,
	                       diag->message[0] ? diag->message : sippres_strerror(r));
}

static int load_endpoint(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__pjsip_sink *sink)
{
	struct sippres_endpoint ep;
	struct sippres_diag diag = {.size = sizeof(diag)};
	int bad = 0, r;

	memset(&ep, 0, sizeof(ep));
	ep.size = sizeof(ep);
	for (size_t i = 0; i < cat->n_vars; i++) {
		r = endpoint_key(doc, cat, &cat->vars[i], cat->vars[i].name, "endpoint", &ep);
		if (r < 0)
			return r;
		bad |= r;
	}
	if (bad)
		return 0; /* each bad value is reported: "... endpoint not loaded" would say it twice */
	if (!sippres__name_ok(cat->name))
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "'%s' is not a valid endpoint name; not loaded",
		                       cat->name);
	r = sink->endpoint ? sink->endpoint(sink->user_data, cat->name, &ep, &diag) : 0;
	if (r < 0)
		return sippres__pjsip_sink_problem(doc, cat, r, &diag, "endpoint");
	sippres__conf_loaded(doc, "endpoint", cat->name);
	return 0;
}

/* ------------------------------------------------------------------ wizard */

#define WIZARD_ENDPOINT "endpoint/"

struct wizard {
	struct sippres_endpoint ep;
	const struct sippres__conf_var *has_hint; /* has_hint=yes, NULL: no hint */
	const struct sippres__conf_var *exten;    /* hint_exten */
	const char *context;                      /* hint_context, NULL: the endpoint's */
};

/* One wizard key. Returns 0 (applied or ignored), 1 (bad value, reported), < 0. */
static int wizard_key(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                      struct wizard *w)
{
	const char *k = v->name, *val = v->value;
	size_t off = 0;
	int b, r;

	if (sippres__memeq_nocase(k, WIZARD_ENDPOINT, strlen(WIZARD_ENDPOINT)))
		return endpoint_key(doc, cat, v, k + strlen(WIZARD_ENDPOINT), "wizard", &w->ep);
	if (sippres__streq_nocase(k, "has_hint")) {
		b = sippres__conf_bool(val);
		if (b < 0) {
			r = sippres__conf_var_problem(doc, v, 0, "wizard '%s': has_hint: '%s' is not a boolean (yes/no)",
			                              cat->name, val);
			return r < 0 ? r : 1;
		}
		w->has_hint = b ? v : NULL;
	} else if (sippres__streq_nocase(k, "hint_context")) {
		if (val[0] && !sippres__name_ok(val)) {
			r = sippres__conf_var_problem(doc, v, 0, "wizard '%s': hint_context: '%s' is not a valid context name",
			                              cat->name, val);
			return r < 0 ? r : 1;
		}
		w->context = val[0] ? val : NULL;
	} else if (sippres__streq_nocase(k, "hint_exten")) {
		if (!val[0]) {
			w->exten = NULL;
		} else if (!sippres__name_ok(val) || (val[0] == '_' && !sippres__pattern_valid(val, &off))) {
			r = sippres__conf_var_problem(doc, v, off, "wizard '%s': hint_exten: '%s' is not a valid extension",
			                              cat->name, val);
			return r < 0 ? r : 1;
		} else {
			w->exten = v;
		}
	}
	/* hint_application (no dialplan here), aor/, auth/, registration/,
	 * identify/, transport, remote_hosts, ...: none of ours */
	return 0;
}

static int wizard_hint(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct wizard *w,
                       const struct sippres__pjsip_sink *sink)
{
	struct sippres_diag diag = {.size = sizeof(diag)};
	const char *context = w->context ? w->context : w->ep.context ? w->ep.context : "default";
	const char *exten = w->exten->value;
	size_t nv = strlen("PJSIP/") + strlen(cat->name) + 1, nn = strlen(exten) + strlen(context) + 2;
	char *value = sippres__malloc(doc->ctx, nv), *name = NULL;
	int r;

	if (!value)
		return SIPPRES_E_NOMEM;
	snprintf(value, nv, "PJSIP/%s", cat->name);
	r = sink->hint ? sink->hint(sink->user_data, context, exten, value, &diag) : 0;
	if (r == SIPPRES_E_NOMEM || r == SIPPRES_E_REENTRANT || r == SIPPRES_E_CALLBACK)
		goto out;
	if (r == SIPPRES_E_EXISTS) {
		r = sippres__conf_var_problem(doc, w->exten, 0,
		                              "wizard '%s': %s@%s already has the hint '%s' (extensions.conf?); it is kept and the wizard's hint is not added",
		                              cat->name, exten, context, diag.message);
		goto out;
	}
	if (r < 0) {
		r = sippres__conf_var_problem(doc, w->exten, 0, "wizard '%s': hint %s@%s: %s; not added", cat->name, exten,
		                              context, diag.message[0] ? diag.message : sippres_strerror(r));
		goto out;
	}
	r = 0;
	if (doc->io.loaded) {
		name = sippres__malloc(doc->ctx, nn);
		if (!name) {
			r = SIPPRES_E_NOMEM;
			goto out;
		}
		snprintf(name, nn, "%s@%s", exten, context);
		sippres__conf_loaded(doc, "hint", name);
	}
out:
	sippres__free(doc->ctx, name);
	sippres__free(doc->ctx, value);
	return r;
}

static int load_wizard(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__pjsip_sink *sink)
{
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct wizard w;
	int bad = 0, r;

	memset(&w, 0, sizeof(w));
	w.ep.size = sizeof(w.ep);
	for (size_t i = 0; i < cat->n_vars; i++) {
		r = wizard_key(doc, cat, &cat->vars[i], &w);
		if (r < 0)
			return r;
		bad |= r;
	}
	if (!bad && w.has_hint && !w.exten) {
		r = sippres__conf_var_problem(doc, w.has_hint, 0, "wizard '%s': has_hint=yes needs hint_exten; not loaded",
		                              cat->name);
		if (r < 0)
			return r;
		bad = 1;
	}
	if (bad)
		return 0;
	if (!sippres__name_ok(cat->name))
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "'%s' is not a valid wizard name; not loaded",
		                             cat->name);
	r = sink->endpoint ? sink->endpoint(sink->user_data, cat->name, &w.ep, &diag) : 0;
	if (r < 0)
		return sippres__pjsip_sink_problem(doc, cat, r, &diag, "wizard");
	sippres__conf_loaded(doc, "endpoint", cat->name);
	return w.has_hint ? wizard_hint(doc, cat, &w, sink) : 0;
}

static void list_free(struct sippres_ctx *ctx, struct sippres__conf_list *l)
{
	for (size_t i = 0; i < l->n_items; i++)
		sippres__free(ctx, (void *)(uintptr_t)l->items[i]);
	sippres__free(ctx, l->items);
	memset(l, 0, sizeof(*l));
}

/* Add the item s[0..n) (off: its offset in v->value) to l, which owns a
 * copy; seen holds l's items. */
static int list_item_add(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                         struct sippres__conf_list *l, struct sippres__set *seen, const char *s, size_t n, size_t off,
                         bool *bad)
{
	const char **items;
	char *item = sippres__strndup(doc->ctx, s, n);
	int r = 0;

	if (!item)
		return SIPPRES_E_NOMEM;
	if (!sippres__name_ok(item)) {
		*bad = true;
		r = sippres__conf_var_problem(doc, v, off, "resource_list '%s': list_item '%s' is not a valid name", cat->name,
		                              item);
		goto out;
	}
	if (sippres__set_find(seen, item, NULL)) {
		r = sippres__conf_var_problem(doc, v, off, "resource_list '%s': duplicated list item '%s' ignored",
		                              cat->name, item);
		goto out;
	}
	/* room for powers of two, 8 at least */
	if (l->n_items == 0 || (l->n_items >= 8 && !(l->n_items & (l->n_items - 1)))) {
		items = sippres__reallocarray(doc->ctx, l->items, l->n_items ? l->n_items * 2 : 8, sizeof(*items));
		if (!items) {
			r = SIPPRES_E_NOMEM;
			goto out;
		}
		l->items = items;
	}
	if (sippres__set_add(doc->ctx, seen, item, 0, NULL) < 0) {
		r = SIPPRES_E_NOMEM;
		goto out;
	}
	l->items[l->n_items++] = item;
	return 0;
out:
	sippres__free(doc->ctx, item);
	return r;
}

/* Split a list_item value (shared with templates: read only) into items. */
static int list_items(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                      struct sippres__conf_list *l, struct sippres__set *seen, bool *bad)
{
	const char *p = v->value, *item;
	size_t n;
	int r;

	while (sippres__list_next(&p, &item, &n)) {
		r = list_item_add(doc, cat, v, l, seen, item, n, (size_t)(item - v->value), bad);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_list(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__pjsip_sink *sink)
{
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres__conf_list l;
	struct sippres__set seen;
	bool bad = false;
	uint32_t u;
	int b, r = 0;

	sippres__set_init(doc->ctx, &seen, true);
	memset(&l, 0, sizeof(l));
	l.name = cat->name;
	l.file = cat->file;
	l.line = cat->line;
	for (size_t i = 0; i < cat->n_vars && r >= 0; i++) {
		const struct sippres__conf_var *v = &cat->vars[i];
		const char *k = v->name;

		if (sippres__streq_nocase(k, "type")) {
			continue;
		} else if (sippres__streq_nocase(k, "event")) {
			if (!v->value[0] || strlen(v->value) > LIST_EVENT_MAX || !value_name_ok(v->value)) {
				bad = true;
				r = sippres__conf_var_problem(doc, v, 0, "resource_list '%s': event '%s' is not a valid event package name",
				                        cat->name, v->value);
			} else {
				l.event = v->value;
			}
		} else if (sippres__streq_nocase(k, "list_item")) {
			r = list_items(doc, cat, v, &l, &seen, &bad);
		} else if (sippres__streq_nocase(k, "full_state") || sippres__streq_nocase(k, "resource_display_name")) {
			b = sippres__conf_bool(v->value);
			if (b < 0) {
				bad = true;
				r = sippres__conf_var_problem(doc, v, 0, "resource_list '%s': %s: '%s' is not a boolean (yes/no)",
				                        cat->name, k, v->value);
			} else if (sippres__streq_nocase(k, "full_state")) {
				l.full_state = b;
			} else {
				l.resource_display_name = b;
			}
		} else if (sippres__streq_nocase(k, "notification_batch_interval")) {
			if (sippres__conf_uint(v->value, &u) < 0) {
				bad = true;
				r = sippres__conf_var_problem(doc, v, 0,
				                        "resource_list '%s': notification_batch_interval: '%s' is not a number of milliseconds",
				                        cat->name, v->value);
			} else {
				l.notification_batch_interval = u;
			}
		} else {
			r = sippres__conf_var_problem(doc, v, 0, "resource_list '%s': unknown key '%s' ignored", cat->name, k);
		}
	}
	if (r < 0)
		goto out;
	if (bad)
		goto out;
	if (!sippres__name_ok(cat->name)) {
		r = sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "'%s' is not a valid resource_list name; not loaded",
		                    cat->name);
		goto out;
	}
	if (!l.event) {
		r = sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "resource_list '%s' has no event; not loaded",
		                    cat->name);
		goto out;
	}
	if (l.n_items == 0) {
		r = sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "resource_list '%s' has no list_item; not loaded",
		                    cat->name);
		goto out;
	}
	r = sink->list ? sink->list(sink->user_data, &l, &diag) : 0;
	if (r < 0)
		r = sippres__pjsip_sink_problem(doc, cat, r, &diag, "resource_list");
	else
		sippres__conf_loaded(doc, "resource_list", cat->name);
out:
	sippres__set_fini(doc->ctx, &seen);
	list_free(doc->ctx, &l);
	return r < 0 ? r : 0;
}

static bool is_endpoint(const struct sippres__conf_cat *c)
{
	const struct sippres__conf_var *t = sippres__conf_cat_get(c, "type");

	return !c->is_template && t && (sippres__streq_nocase(t->value, "endpoint") || sippres__streq_nocase(t->value, "wizard"));
}

struct cat_ref {
	const struct sippres__conf_cat *cat;
	size_t index;
};

static int cat_ref_cmp(const void *a, const void *b)
{
	const struct cat_ref *x = a, *y = b;
	int c = strcmp(x->cat->name, y->cat->name);

	if (c)
		return c;
	return x->index < y->index ? -1 : (x->index > y->index);
}

/* (*ret)[i]: the earlier endpoint section with the name of section i, or NULL. */
static int find_duplicates(struct sippres__conf_doc *doc, const struct sippres__conf_cat ***ret)
{
	const struct sippres__conf_cat **dup;
	struct cat_ref *eps;
	size_t n = 0;

	if (doc->n_cats == 0)
		return 0;
	dup = sippres__calloc(doc->ctx, doc->n_cats, sizeof(*dup));
	eps = sippres__calloc(doc->ctx, doc->n_cats, sizeof(*eps));
	if (!dup || !eps) {
		sippres__free(doc->ctx, dup);
		sippres__free(doc->ctx, eps);
		return SIPPRES_E_NOMEM;
	}
	for (size_t i = 0; i < doc->n_cats; i++) {
		if (is_endpoint(doc->cats[i])) {
			eps[n].cat = doc->cats[i];
			eps[n++].index = i;
		}
	}
	qsort(eps, n, sizeof(*eps), cat_ref_cmp);
	for (size_t k = 1; k < n; k++) {
		if (strcmp(eps[k].cat->name, eps[k - 1].cat->name) == 0)
			dup[eps[k].index] = eps[k - 1].cat;
	}
	sippres__free(doc->ctx, eps);
	*ret = dup;
	return 0;
}

int sippres__config_pjsip(struct sippres_ctx *ctx, const char *file, const char *text, size_t len,
                    const struct sippres_config_io *io, const struct sippres__pjsip_sink *sink)
{
	struct sippres__conf_doc doc;
	const struct sippres__conf_cat **dup_of = NULL;
	int r;

	if (!ctx || (!text && len) || !sink)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	r = sippres__conf_doc_init(&doc, ctx, io);
	if (r < 0)
		return r;
	r = sippres__conf_read(&doc, file ? file : "pjsip.conf", text ? text : "", len);
	if (r >= 0)
		r = find_duplicates(&doc, &dup_of);
	for (size_t i = 0; r >= 0 && i < doc.n_cats; i++) {
		struct sippres__conf_cat *cat = doc.cats[i];
		const struct sippres__conf_var *type;

		if (cat->is_template)
			continue;
		type = sippres__conf_cat_get(cat, "type");
		if (!type || !type->value[0]) {
			r = sippres__conf_problem(&doc, cat->file, cat->line, 0, cat->seq, "section '%s' has no type; ignored",
			                    cat->name);
			continue;
		}
		if (sippres__streq_nocase(type->value, "endpoint") || sippres__streq_nocase(type->value, "wizard")) {
			if (dup_of[i]) {
				const struct sippres__conf_cat *o = dup_of[i];

				r = sippres__conf_problem(&doc, cat->file, cat->line, 0, cat->seq,
				                    "endpoint '%s' is already defined at %s:%u; this section replaces it",
				                    cat->name, o->file, o->line);
			}
			if (r >= 0 && sippres__streq_nocase(type->value, "wizard"))
				r = load_wizard(&doc, cat, sink);
			else if (r >= 0)
				r = load_endpoint(&doc, cat, sink);
		} else if (sippres__streq_nocase(type->value, "resource_list")) {
			r = load_list(&doc, cat, sink);
		}
		/* publications, auth, identify, transport: below; aor, global, system, ...: not ours */
	}
	if (r >= 0)
		r = sippres__conf_pjsip_publications(&doc, sink);
	if (r >= 0)
		r = sippres__conf_pjsip_auth(&doc, sink);
	if (r >= 0)
		r = sippres__conf_emit_problems(&doc);
	sippres__free(ctx, dup_of);
	sippres__conf_doc_fini(&doc);
	return r;
}
