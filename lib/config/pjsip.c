/* SPDX-License-Identifier: MIT */
/* pjsip.conf loader: endpoint and resource_list sections, checked and handed
 * to a sink (the public entry point's sink registers them in the context). */
#include <stdlib.h>
#include <string.h>

#include "pjsip-private.h"

#define LIST_EVENT_MAX 31 /* Asterisk keeps the event in char[32] */

static bool value_name_ok(const char *s)
{
	return sippres__name_ok(s);
}

/* One endpoint key. Returns 0 (applied or ignored), 1 (bad value, reported), < 0. */
static int endpoint_key(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                        struct sippres_endpoint *ep)
{
	const char *k = v->name, *val = v->value;
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
			BAD("endpoint '%s': %s: '%s' is not a valid context name", cat->name, k, val);
		if (sub)
			ep->subscribe_context = val[0] ? val : NULL;
		else
			ep->context = val[0] ? val : NULL;
	} else if (sippres__streq_nocase(k, "allow_subscribe") || sippres__streq_nocase(k, "notify_early_inuse_ringing")) {
		uint32_t flag = sippres__streq_nocase(k, "allow_subscribe") ? SIPPRES_ENDPOINT_DENY_SUBSCRIBE
		                                                      : SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING;

		b = sippres__conf_bool(val);
		if (b < 0)
			BAD("endpoint '%s': %s: '%s' is not a boolean (yes/no)", cat->name, k, val);
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
			BAD("endpoint '%s': %s: '%s' is not a boolean (yes/no)", cat->name, k, val);
		if (b)
			ep->body_options |= flag;
		else
			ep->body_options &= ~flag;
	} else if (sippres__streq_nocase(k, "presence_profile")) {
		if (sippres__streq_nocase(val, "standard"))
			ep->profile = SIPPRES_PROFILE_STANDARD;
		else if (sippres__streq_nocase(val, "asterisk"))
			ep->profile = SIPPRES_PROFILE_ASTERISK;
		else
			BAD("endpoint '%s': presence_profile: '%s' is neither 'standard' nor 'asterisk'", cat->name, val);
	} else if (sippres__streq_nocase(k, "sub_min_expiry") || sippres__streq_nocase(k, "sub_max_expiry") ||
	           sippres__streq_nocase(k, "sub_default_expiry") || sippres__streq_nocase(k, "notify_failure_limit") ||
	           sippres__streq_nocase(k, "max_notify_size")) {
		if (sippres__conf_uint(val, &u) < 0)
			BAD("endpoint '%s': %s: '%s' is not a number from 0 to 4294967295", cat->name, k, val);
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
	}
	/* every other key (Asterisk has ~200 endpoint options) is none of ours */
	return 0;
#undef BAD
}

static int sink_problem(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, int r, const struct sippres_diag *diag,
                        const char *what)
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
		r = endpoint_key(doc, cat, &cat->vars[i], &ep);
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
		return sink_problem(doc, cat, r, &diag, "endpoint");
	sippres__conf_loaded(doc, "endpoint", cat->name);
	return 0;
}

static void list_free(struct sippres_ctx *ctx, struct sippres__conf_list *l)
{
	sippres__free(ctx, l->items);
	memset(l, 0, sizeof(*l));
}

static int list_item_add(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                         struct sippres__conf_list *l, char *item, size_t off, bool *bad)
{
	const char **items;

	if (!sippres__name_ok(item)) {
		*bad = true;
		return sippres__conf_var_problem(doc, v, off, "resource_list '%s': list_item '%s' is not a valid name", cat->name,
		                           item);
	}
	for (size_t i = 0; i < l->n_items; i++) {
		if (strcmp(l->items[i], item) == 0)
			return sippres__conf_var_problem(doc, v, off, "resource_list '%s': duplicated list item '%s' ignored",
			                           cat->name, item);
	}
	items = sippres__reallocarray(doc->ctx, l->items, l->n_items + 1, sizeof(*items));
	if (!items)
		return SIPPRES_E_NOMEM;
	l->items = items;
	l->items[l->n_items++] = item;
	return 0;
}

/* Split a list_item value in place (the doc owns the string) into items. */
static int list_items(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, struct sippres__conf_var *v,
                      struct sippres__conf_list *l, bool *bad)
{
	char *s = v->value;
	size_t i = 0;
	int r;

	while (s[i]) {
		size_t b = i, e;

		while (s[i] && s[i] != ',')
			i++;
		e = i;
		if (s[i])
			s[i++] = '\0';
		while (b < e && (s[b] == ' ' || s[b] == '\t'))
			b++;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
			s[--e] = '\0';
		if (b == e)
			continue;
		r = list_item_add(doc, cat, v, l, s + b, b, bad);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_list(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__pjsip_sink *sink)
{
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres__conf_list l;
	bool bad = false;
	uint32_t u;
	int b, r = 0;

	memset(&l, 0, sizeof(l));
	l.name = cat->name;
	l.file = cat->file;
	l.line = cat->line;
	for (size_t i = 0; i < cat->n_vars && r >= 0; i++) {
		struct sippres__conf_var *v = &cat->vars[i];
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
			r = list_items(doc, cat, v, &l, &bad);
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
		r = sink_problem(doc, cat, r, &diag, "resource_list");
	else
		sippres__conf_loaded(doc, "resource_list", cat->name);
out:
	list_free(doc->ctx, &l);
	return r < 0 ? r : 0;
}

static bool is_endpoint(const struct sippres__conf_cat *c)
{
	const struct sippres__conf_var *t = sippres__conf_cat_get(c, "type");

	return !c->is_template && t && sippres__streq_nocase(t->value, "endpoint");
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
		if (sippres__streq_nocase(type->value, "endpoint")) {
			if (dup_of[i]) {
				const struct sippres__conf_cat *o = dup_of[i];

				r = sippres__conf_problem(&doc, cat->file, cat->line, 0, cat->seq,
				                    "endpoint '%s' is already defined at %s:%u; this section replaces it",
				                    cat->name, o->file, o->line);
			}
			if (r >= 0)
				r = load_endpoint(&doc, cat, sink);
		} else if (sippres__streq_nocase(type->value, "resource_list")) {
			r = load_list(&doc, cat, sink);
		}
		/* publications: below; aor, auth, transport, identify, global, system, ...: not ours */
	}
	if (r >= 0)
		r = sippres__conf_pjsip_publications(&doc, sink);
	if (r >= 0)
		r = sippres__conf_emit_problems(&doc);
	sippres__free(ctx, dup_of);
	sippres__conf_doc_fini(&doc);
	return r;
}
