/* SPDX-License-Identifier: MIT */
/* extensions.conf loader: the hints of every context. */
#include <string.h>

#include "config-private.h"
#include "state/state-private.h"

/* A (context, extension) pair already loaded by this call. */
struct seen {
	struct sippres__hnode node;
	const char *context; /* the section's name, owned by the document */
	char *exten;         /* own copy */
	const struct sippres__conf_var *var;
};

/* The include lines and options of one context name, across its sections, in reading order. */
struct incl {
	const char *context;                 /* the section's name, owned by the document */
	bool autohints;                      /* the last `autohints =` of the context */
	char **names;                        /* own copies */
	const struct sippres__conf_var **vars;
	size_t n, cap;
	struct sippres__set set;             /* of names, value: the index */
};

struct ext_load {
	struct sippres__conf_doc doc;
	struct sippres__map seen;
	struct seen **all;
	size_t n_all, cap_all;
	struct incl *incls;                  /* one per context name loaded */
	size_t n_incls, cap_incls;
	struct sippres__set incl_set;        /* of incls[].context, value: the index */
};

static uint32_t seen_hash(struct sippres_ctx *ctx, const char *context, const char *exten)
{
	return sippres__hash(ctx->hash_seed, context, false) * 31u + sippres__hash(ctx->hash_seed, exten, false);
}

static const struct seen *seen_find(struct ext_load *L, const char *context, const char *exten)
{
	uint32_t h = seen_hash(L->doc.ctx, context, exten);

	for (struct sippres__hnode *n = sippres__map_chain(&L->seen, h); n; n = n->next) {
		struct seen *s = SIPPRES__CONTAINER_OF(n, struct seen, node);

		if (n->hash == h && strcmp(s->context, context) == 0 && strcmp(s->exten, exten) == 0)
			return s;
	}
	return NULL;
}

static int seen_add(struct ext_load *L, const char *context, const char *exten, const struct sippres__conf_var *v)
{
	struct sippres_ctx *ctx = L->doc.ctx;
	struct seen *s;

	if (L->n_all == L->cap_all) {
		size_t n = L->cap_all ? L->cap_all * 2 : 16;
		struct seen **a = sippres__reallocarray(ctx, L->all, n, sizeof(*a));

		if (!a)
			return SIPPRES_E_NOMEM;
		L->all = a;
		L->cap_all = n;
	}
	s = sippres__calloc(ctx, 1, sizeof(*s));
	if (!s)
		return SIPPRES_E_NOMEM;
	s->exten = sippres__strdup(ctx, exten);
	if (!s->exten) {
		sippres__free(ctx, s);
		return SIPPRES_E_NOMEM;
	}
	s->context = context;
	s->var = v;
	L->all[L->n_all++] = s;
	sippres__map_insert(ctx, &L->seen, &s->node, seen_hash(ctx, context, exten));
	return 0;
}

/* End of the first comma-separated field of s, skipping commas inside [...]
 * (extension patterns such as _[1,2]XX). */
static size_t field_end(const char *s, bool brackets)
{
	size_t i = 0;
	int depth = 0;

	for (; s[i]; i++) {
		if (brackets && s[i] == '[')
			depth++;
		else if (brackets && s[i] == ']' && depth > 0)
			depth--;
		else if (s[i] == ',' && depth == 0)
			break;
	}
	return i;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Register one hint line. exten points into a scratch copy; value_off is the
 * offset of the hint value in v->value. */
static int add_hint(struct ext_load *L, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v, const char *exten,
                    size_t exten_off, size_t value_off)
{
	struct sippres__conf_doc *doc = &L->doc;
	struct sippres_diag diag = {.size = sizeof(diag)};
	const char *value = v->value + value_off;
	const struct seen *dup;
	size_t bad = 0;
	int r;

	if (!sippres__name_ok(cat->name))
		return sippres__conf_var_problem(doc, v, 0, "context '%s': invalid context name; hint ignored", cat->name);
	if (!sippres__name_ok(exten))
		return sippres__conf_var_problem(doc, v, exten_off, "invalid extension name '%s'; hint ignored", exten);
	if (exten[0] == '_' && !sippres__pattern_valid(exten, &bad))
		return sippres__conf_var_problem(doc, v, exten_off + bad, "invalid extension pattern '%s'; hint ignored", exten);
	dup = seen_find(L, cat->name, exten);
	if (dup)
		return sippres__conf_var_problem(doc, v, exten_off, "a hint for %s@%s is already defined at %s:%u; this one is ignored",
		                           exten, cat->name, dup->var->file, dup->var->line);
	r = sippres_hint_set(doc->ctx, cat->name, exten, value, &diag);
	if (r == SIPPRES_E_NOMEM || r == SIPPRES_E_REENTRANT || r == SIPPRES_E_CALLBACK)
		return r;
	if (r < 0)
		return sippres__conf_var_problem(doc, v, value_off + (diag.column ? diag.column - 1 : 0),
		                           "hint %s@%s: %s; ignored", exten, cat->name,
		                           diag.message[0] ? diag.message : sippres_strerror(r));
	r = seen_add(L, cat->name, exten, v);
	if (r < 0)
		return r;
	if (doc->io.loaded) {
		size_t n = strlen(exten) + strlen(cat->name) + 2;
		char *name = sippres__malloc(doc->ctx, n);

		if (!name)
			return SIPPRES_E_NOMEM;
		memcpy(name, exten, strlen(exten));
		name[strlen(exten)] = '@';
		memcpy(name + strlen(exten) + 1, cat->name, strlen(cat->name) + 1);
		sippres__conf_loaded(doc, "hint", name);
		sippres__free(doc->ctx, name);
	}
	return 0;
}

/* One `exten =>` or `same =>` line. last: the extension of the previous
 * `exten` line in this context (scratch buffer, updated). */
static int exten_line(struct ext_load *L, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v, bool same,
                      char **last)
{
	struct sippres__conf_doc *doc = &L->doc;
	const char *s = v->value;
	size_t eb = 0, ee, pb, pe, vb, i;
	char *exten;
	int r;

	if (!same) {
		ee = field_end(s, true);
		if (!s[ee])
			ee = field_end(s, false); /* an unclosed '[': let the pattern check report it */
		if (!s[ee])
			return sippres__conf_var_problem(doc, v, 0, "expected 'extension,priority,application'; line ignored");
		pb = ee + 1;
		while (ee > eb && blank(s[ee - 1]))
			ee--;
		if (ee == eb)
			return sippres__conf_var_problem(doc, v, 0, "empty extension name; line ignored");
		exten = sippres__strndup(doc->ctx, s + eb, ee - eb);
		if (!exten)
			return SIPPRES_E_NOMEM;
		sippres__free(doc->ctx, *last);
		*last = exten;
	} else {
		if (!*last)
			return sippres__conf_var_problem(doc, v, 0, "'same =>' without an earlier 'exten =>' in this context; line ignored");
		pb = 0;
	}
	while (s[pb] && blank(s[pb]))
		pb++;
	pe = pb + field_end(s + pb, false);
	vb = s[pe] ? pe + 1 : pe;
	while (pe > pb && blank(s[pe - 1]))
		pe--;
	if (pe - pb != 4 || memcmp(s + pb, "hint", 4) != 0)
		return 0; /* another priority: not ours */
	if (!s[vb] && vb == pe)
		return sippres__conf_var_problem(doc, v, pb, "hint without a value; ignored");
	while (s[vb] && blank(s[vb]))
		vb++;
	exten = *last;
	/* caller-ID matching ("1000/5551234") does not apply to hints */
	{
		int depth = 0;

		for (i = 0; exten[i]; i++) {
			if (exten[i] == '[')
				depth++;
			else if (exten[i] == ']' && depth > 0)
				depth--;
			else if (exten[i] == '/' && depth == 0)
				return sippres__conf_var_problem(doc, v, same ? 0 : i,
				                           "caller ID matching ('%s') is not supported for hints; ignored", exten);
		}
	}
	r = add_hint(L, cat, v, exten, same ? 0 : eb, vb);
	return r;
}

/* The include list of a context name, made empty the first time. */
static struct incl *incl_get(struct ext_load *L, const char *context)
{
	size_t i;

	if (sippres__set_find(&L->incl_set, context, &i))
		return &L->incls[i];
	if (sippres__set_reserve(L->doc.ctx, &L->incl_set, L->n_incls + 1) < 0)
		return NULL;
	if (L->n_incls == L->cap_incls) {
		size_t n = L->cap_incls ? L->cap_incls * 2 : 8;
		struct incl *a = sippres__reallocarray(L->doc.ctx, L->incls, n, sizeof(*a));

		if (!a)
			return NULL;
		L->incls = a;
		L->cap_incls = n;
	}
	memset(&L->incls[L->n_incls], 0, sizeof(L->incls[0]));
	L->incls[L->n_incls].context = context;
	sippres__set_init(L->doc.ctx, &L->incls[L->n_incls].set, true);
	sippres__set_add(L->doc.ctx, &L->incl_set, context, L->n_incls, NULL); /* room was reserved */
	return &L->incls[L->n_incls++];
}

/* `include => NAME[,times,weekdays,monthdays,months[,timezone]]` (or `|`
 * separated, the old syntax). The time restriction cannot be honoured (the
 * library reads no wall clock): the context is included at all times and the
 * line is a problem saying so. */
static int include_line(struct ext_load *L, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v)
{
	struct sippres__conf_doc *doc = &L->doc;
	const char *s = v->value;
	size_t e = strcspn(s, ",|"), ne = e, i;
	struct incl *in;
	char *name;
	int r = 0;

	while (ne > 0 && blank(s[ne - 1]))
		ne--;
	if (ne == 0)
		return sippres__conf_var_problem(doc, v, 0, "include without a context name; ignored");
	name = sippres__strndup(doc->ctx, s, ne);
	if (!name)
		return SIPPRES_E_NOMEM;
	if (!sippres__name_ok(cat->name) || !sippres__name_ok(name)) {
		r = sippres__conf_var_problem(doc, v, 0, "include => %s: invalid context name; ignored",
		                              sippres__name_ok(name) ? cat->name : name);
		goto out;
	}
	if (strcmp(name, cat->name) == 0) {
		r = sippres__conf_var_problem(doc, v, 0, "context '%s' includes itself; ignored", name);
		goto out;
	}
	in = incl_get(L, cat->name);
	if (!in) {
		r = SIPPRES_E_NOMEM;
		goto out;
	}
	if (sippres__set_find(&in->set, name, &i)) {
		r = sippres__conf_var_problem(doc, v, 0, "'%s' is already included in '%s' at %s:%u; ignored", name,
		                              cat->name, in->vars[i]->file, in->vars[i]->line);
		goto out;
	}
	if (in->n == SIPPRES_MAX_INCLUDES) {
		r = sippres__conf_var_problem(doc, v, 0, "context '%s' has more than %d includes; '%s' ignored",
		                              cat->name, SIPPRES_MAX_INCLUDES, name);
		goto out;
	}
	if (in->n == in->cap) {
		size_t n = in->cap ? in->cap * 2 : 4;
		char **a = sippres__reallocarray(doc->ctx, in->names, n, sizeof(*a));
		const struct sippres__conf_var **b;

		if (!a) {
			r = SIPPRES_E_NOMEM;
			goto out;
		}
		in->names = a;
		b = sippres__reallocarray(doc->ctx, in->vars, n, sizeof(*b));
		if (!b) {
			r = SIPPRES_E_NOMEM;
			goto out;
		}
		in->vars = b;
		in->cap = n;
	}
	if (sippres__set_add(doc->ctx, &in->set, name, in->n, NULL) < 0) {
		r = SIPPRES_E_NOMEM;
		goto out;
	}
	in->vars[in->n] = v;
	in->names[in->n++] = name;
	if (s[e])
		return sippres__conf_var_problem(doc, v, e + 1,
		                                 "include => %s: time restrictions are not supported; '%s' is included "
		                                 "at all times",
		                                 name, name);
	return 0;
out:
	sippres__free(doc->ctx, name);
	return r;
}

static int autohints_line(struct ext_load *L, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v)
{
	int b = sippres__conf_bool(v->value);
	struct incl *in;

	if (b < 0)
		return sippres__conf_var_problem(&L->doc, v, 0, "context '%s': autohints: '%s' is not a boolean (yes/no); ignored",
		                                 cat->name, v->value);
	if (!sippres__name_ok(cat->name))
		return 0; /* its hints are reported */
	in = incl_get(L, cat->name);
	if (!in)
		return SIPPRES_E_NOMEM;
	in->autohints = b;
	return 0;
}

static int load_context(struct ext_load *L, const struct sippres__conf_cat *cat)
{
	struct sippres__conf_doc *doc = &L->doc;
	char *last = NULL;
	int r = 0;

	/* every context of the load gets its include list set, empty or not */
	if (sippres__name_ok(cat->name) && !incl_get(L, cat->name))
		return SIPPRES_E_NOMEM;
	for (size_t i = 0; i < cat->n_vars && r >= 0; i++) {
		const struct sippres__conf_var *v = &cat->vars[i];

		if (sippres__streq_nocase(v->name, "exten"))
			r = exten_line(L, cat, v, false, &last);
		else if (sippres__streq_nocase(v->name, "same"))
			r = exten_line(L, cat, v, true, &last);
		else if (sippres__streq_nocase(v->name, "include"))
			r = include_line(L, cat, v);
		else if (sippres__streq_nocase(v->name, "autohints"))
			r = autohints_line(L, cat, v);
		/* ignorepat, switch, lswitch, eswitch, ...: nothing to do with hints */
	}
	sippres__free(doc->ctx, last);
	return r;
}

/* A reload replaces the include list and the autohints of every context it has a section for. */
static int apply_includes(struct ext_load *L)
{
	for (size_t i = 0; i < L->n_incls; i++) {
		const struct incl *in = &L->incls[i];
		int r = sippres_context_include_set(L->doc.ctx, in->context, (const char *const *)in->names, in->n);

		if (r >= 0)
			r = sippres_context_autohints_set(L->doc.ctx, in->context,
			                                  in->autohints ? SIPPRES_AUTOHINTS_DEFAULT_MAX : 0);
		if (r < 0)
			return r; /* names were checked: NOMEM or REENTRANT */
		if (in->autohints)
			sippres__conf_loaded(&L->doc, "autohints", in->context);
	}
	return 0;
}

static void incls_free(struct ext_load *L)
{
	for (size_t i = 0; i < L->n_incls; i++) {
		for (size_t j = 0; j < L->incls[i].n; j++)
			sippres__free(L->doc.ctx, L->incls[i].names[j]);
		sippres__free(L->doc.ctx, L->incls[i].names);
		sippres__free(L->doc.ctx, L->incls[i].vars);
		sippres__set_fini(L->doc.ctx, &L->incls[i].set);
	}
	sippres__free(L->doc.ctx, L->incls);
	sippres__set_fini(L->doc.ctx, &L->incl_set);
}

SIPPRES_EXPORT int sippres_config_load_extensions(struct sippres_ctx *ctx, const char *file, const char *text,
                                                  size_t len, const struct sippres_config_io *io)
{
	struct ext_load L;
	int r;

	if (!ctx || (!text && len))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	memset(&L, 0, sizeof(L));
	sippres__set_init(ctx, &L.incl_set, true);
	r = sippres__conf_doc_init(&L.doc, ctx, io);
	if (r < 0)
		return r;
	r = sippres__map_init(ctx, &L.seen, 64);
	if (r < 0) {
		sippres__conf_doc_fini(&L.doc);
		return r;
	}
	r = sippres__conf_read(&L.doc, file ? file : "extensions.conf", text ? text : "", len);
	for (size_t i = 0; r >= 0 && i < L.doc.n_cats; i++) {
		const struct sippres__conf_cat *cat = L.doc.cats[i];

		if (cat->is_template || sippres__streq_nocase(cat->name, "general") || sippres__streq_nocase(cat->name, "globals"))
			continue;
		r = load_context(&L, cat);
	}
	if (r >= 0)
		r = apply_includes(&L);
	if (r >= 0)
		r = sippres__conf_emit_problems(&L.doc);
	incls_free(&L);
	for (size_t i = 0; i < L.n_all; i++) {
		sippres__free(ctx, L.all[i]->exten);
		sippres__free(ctx, L.all[i]);
	}
	sippres__free(ctx, L.all);
	sippres__map_fini(ctx, &L.seen);
	sippres__conf_doc_fini(&L.doc);
	return r;
}
