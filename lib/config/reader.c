/* SPDX-License-Identifier: MIT */
/* Asterisk configuration syntax reader: builds sections and variables from
 * text, following includes through the host's callback. Written from the
 * documented behaviour of Asterisk's config files, not from its code. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-private.h"

#define IO_V1_SIZE (offsetof(struct sippres_config_io, loaded) + sizeof(void (*)(void))) /* all of v0.1 */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

int sippres__conf_doc_init(struct sippres__conf_doc *doc, struct sippres_ctx *ctx, const struct sippres_config_io *io)
{
	memset(doc, 0, sizeof(*doc));
	doc->ctx = ctx;
	if (io) {
		int r = sippres__check_struct(io, IO_V1_SIZE, sizeof(*io));

		if (r < 0)
			return r;
		/* a v0.1 host's struct ends before outbound_publish: that stays NULL */
		memcpy(&doc->io, io, io->size < sizeof(*io) ? io->size : sizeof(*io));
	}
	doc->io.size = sizeof(doc->io);
	return sippres__map_init(ctx, &doc->by_name, 64);
}

/* A line's own string (const in the struct: copies share it). */
static void str_free(struct sippres_ctx *ctx, const char *s)
{
	sippres__free(ctx, (void *)(uintptr_t)s);
}

static void cat_free(struct sippres_ctx *ctx, struct sippres__conf_cat *c)
{
	for (size_t i = 0; i < c->n_vars; i++) {
		if (c->vars[i].inherited)
			continue; /* the template's strings */
		str_free(ctx, c->vars[i].name);
		str_free(ctx, c->vars[i].value);
	}
	sippres__free(ctx, c->vars);
	sippres__free(ctx, c->name);
	sippres__free(ctx, c);
}

void sippres__conf_doc_fini(struct sippres__conf_doc *doc)
{
	for (size_t i = 0; i < doc->n_cats; i++)
		cat_free(doc->ctx, doc->cats[i]);
	sippres__free(doc->ctx, doc->cats);
	for (size_t i = 0; i < doc->n_files; i++)
		sippres__free(doc->ctx, doc->files[i]);
	sippres__free(doc->ctx, doc->files);
	sippres__free(doc->ctx, doc->problems);
	sippres__map_fini(doc->ctx, &doc->by_name);
	memset(doc, 0, sizeof(*doc));
}

/* Grow an array to hold at least need elements. */
static int grow(struct sippres_ctx *ctx, void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t n;
	void *p;

	if (need <= *cap)
		return 0;
	n = *cap ? *cap * 2 : 8;
	while (n < need)
		n *= 2;
	p = sippres__reallocarray(ctx, *arr, n, elem);
	if (!p)
		return SIPPRES_E_NOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

#if defined(__GNUC__)
__attribute__((format(printf, 6, 0)))
#endif
static int vproblem(struct sippres__conf_doc *doc, const char *file, uint32_t line, uint32_t column, uint64_t seq,
                    const char *fmt, va_list ap)
{
	struct sippres__conf_problem *p;

	if (doc->n_problems >= SIPPRES__CONF_MAX_PROBLEMS) {
		doc->n_more_problems++;
		return 0;
	}
	if (grow(doc->ctx, (void **)&doc->problems, &doc->cap_problems, doc->n_problems + 1, sizeof(*p)) < 0)
		return SIPPRES_E_NOMEM;
	p = &doc->problems[doc->n_problems++];
	memset(p, 0, sizeof(*p));
	p->file = file;
	p->seq = seq;
	p->diag.size = sizeof(p->diag);
	p->diag.line = line;
	p->diag.column = column;
	vsnprintf(p->diag.message, sizeof(p->diag.message), fmt, ap);
	return 0;
}

int sippres__conf_problem(struct sippres__conf_doc *doc, const char *file, uint32_t line, uint32_t column, uint64_t seq,
                    const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vproblem(doc, file, line, column, seq, fmt, ap);
	va_end(ap);
	return r;
}

int sippres__conf_var_problem(struct sippres__conf_doc *doc, const struct sippres__conf_var *v, size_t offset, const char *fmt, ...)
{
	va_list ap;
	uint32_t col = 0;
	int r;

	if (v->value_col && offset < UINT32_MAX - v->value_col)
		col = v->value_col + (uint32_t)offset;
	va_start(ap, fmt);
	r = vproblem(doc, v->file, v->line, col, v->seq, fmt, ap);
	va_end(ap);
	return r;
}

static int problem_cmp(const void *a, const void *b)
{
	const struct sippres__conf_problem *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	/* same line: keep recording order (pointers into one array) */
	return x < y ? -1 : (x > y);
}

int sippres__conf_emit_problems(struct sippres__conf_doc *doc)
{
	size_t total = doc->n_problems + doc->n_more_problems;

	if (doc->n_problems > 1)
		qsort(doc->problems, doc->n_problems, sizeof(doc->problems[0]), problem_cmp);
	if (doc->io.problem) {
		for (size_t i = 0; i < doc->n_problems; i++)
			doc->io.problem(doc->io.user_data, doc->problems[i].file, &doc->problems[i].diag);
		if (doc->n_more_problems) {
			struct sippres_diag d = {.size = sizeof(d)};

			snprintf(d.message, sizeof(d.message), "%zu more problems not reported", doc->n_more_problems);
			doc->io.problem(doc->io.user_data, doc->problems[doc->n_problems - 1].file, &d);
		}
	}
	return total > INT32_MAX ? INT32_MAX : (int)total;
}

void sippres__conf_loaded(struct sippres__conf_doc *doc, const char *type, const char *name)
{
	if (doc->io.loaded)
		doc->io.loaded(doc->io.user_data, type, name);
}

const struct sippres__conf_var *sippres__conf_cat_get(const struct sippres__conf_cat *cat, const char *name)
{
	for (size_t i = cat->n_vars; i-- > 0;) {
		if (sippres__streq_nocase(cat->vars[i].name, name))
			return &cat->vars[i];
	}
	return NULL;
}

int sippres__conf_bool(const char *s)
{
	static const char *const yes[] = {"yes", "true", "y", "t", "1", "on"};
	static const char *const no[] = {"no", "false", "n", "f", "0", "off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (sippres__streq_nocase(s, yes[i]))
			return 1;
		if (sippres__streq_nocase(s, no[i]))
			return 0;
	}
	return -1;
}

int sippres__conf_uint(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	while (is_blank(s[i]))
		i++;
	if (s[i] < '0' || s[i] > '9')
		return -1;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	while (is_blank(s[i]))
		i++;
	if (s[i])
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Intern a file name so problems and variables can point at it. */
static const char *intern(struct sippres__conf_doc *doc, const char *name)
{
	char **f;
	char *copy;

	for (size_t i = 0; i < doc->n_files; i++) {
		if (strcmp(doc->files[i], name) == 0)
			return doc->files[i];
	}
	copy = sippres__strdup(doc->ctx, name);
	if (!copy)
		return NULL;
	f = sippres__reallocarray(doc->ctx, doc->files, doc->n_files + 1, sizeof(*f));
	if (!f) {
		sippres__free(doc->ctx, copy);
		return NULL;
	}
	doc->files = f;
	doc->files[doc->n_files++] = copy;
	return copy;
}

/* The state of reading one file. */
struct reader {
	struct sippres__conf_doc *doc;
	const char *file;     /* interned */
	const char *text;
	size_t len, pos;
	uint32_t line;
	uint64_t seq;         /* seq of the current line */
	int block_depth;      /* ;-- --; nesting */
	uint32_t block_line;  /* where the outermost block comment began */
	/* the current line after comment removal; col[i] is the 1-based original column of buf[i] */
	char *buf;
	uint32_t *col;
	size_t cap;
};

static int reader_reserve(struct reader *rd, size_t n)
{
	char *b;
	uint32_t *c;
	size_t cap;

	if (n <= rd->cap)
		return 0;
	cap = rd->cap ? rd->cap : 256;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(uint32_t))
			return SIPPRES_E_NOMEM;
		cap *= 2;
	}
	b = sippres__realloc(rd->doc->ctx, rd->buf, cap);
	if (!b)
		return SIPPRES_E_NOMEM;
	rd->buf = b;
	c = sippres__reallocarray(rd->doc->ctx, rd->col, cap, sizeof(*c));
	if (!c)
		return SIPPRES_E_NOMEM;
	rd->col = c;
	rd->cap = cap;
	return 0;
}

static int rproblem(struct reader *rd, uint32_t column, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

static int rproblem(struct reader *rd, uint32_t column, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vproblem(rd->doc, rd->file, rd->line, column, rd->seq, fmt, ap);
	va_end(ap);
	return r;
}

/* Copy the raw line [p, p+n) into rd->buf without comments; `\;` becomes `;`.
 * Returns the cleaned length, or < 0. */
static long clean_line(struct reader *rd, const char *p, size_t n)
{
	size_t o = 0;
	int r;

	if ((r = reader_reserve(rd, n + 1)) < 0)
		return r;
	for (size_t i = 0; i < n;) {
		if (rd->block_depth > 0) {
			if (i + 2 < n && p[i] == '-' && p[i + 1] == '-' && p[i + 2] == ';') {
				rd->block_depth--;
				i += 3;
			} else if (i + 2 < n && p[i] == ';' && p[i + 1] == '-' && p[i + 2] == '-') {
				rd->block_depth++;
				i += 3;
			} else {
				i++;
			}
			continue;
		}
		if (p[i] == '\\' && i + 1 < n && p[i + 1] == ';') {
			rd->col[o] = (uint32_t)(i + 2);
			rd->buf[o++] = ';';
			i += 2;
			continue;
		}
		if (p[i] == ';') {
			if (i + 2 < n && p[i + 1] == '-' && p[i + 2] == '-') {
				rd->block_depth = 1;
				rd->block_line = rd->line;
				i += 3;
				continue;
			}
			break; /* the rest of the line is a comment */
		}
		rd->col[o] = (uint32_t)(i + 1);
		rd->buf[o++] = p[i];
		i++;
	}
	rd->buf[o] = '\0';
	return (long)o;
}

/* Trim blanks from [*b, *e). */
static void trim(const char *s, size_t *b, size_t *e)
{
	while (*b < *e && is_blank(s[*b]))
		(*b)++;
	while (*e > *b && is_blank(s[*e - 1]))
		(*e)--;
}

/* Earlier section called name[0..n) (the first one, as Asterisk looks it
 * it up), not counting `not`. */
static struct sippres__conf_cat *cat_find(struct sippres__conf_doc *doc, const char *name, size_t n, const struct sippres__conf_cat *not)
{
	char stack[128], *key = stack;
	struct sippres__conf_cat *found = NULL;
	uint32_t h;

	if (n >= sizeof(stack)) {
		key = sippres__strndup(doc->ctx, name, n);
		if (!key)
			return NULL;
	} else {
		memcpy(stack, name, n);
		stack[n] = '\0';
	}
	h = sippres__hash(doc->ctx->hash_seed, key, false);
	for (struct sippres__hnode *e = sippres__map_chain(&doc->by_name, h); e; e = e->next) {
		struct sippres__conf_cat *c = SIPPRES__CONTAINER_OF(e, struct sippres__conf_cat, node);

		if (e->hash == h && c != not && strcmp(c->name, key) == 0) {
			found = c;
			break;
		}
	}
	if (key != stack)
		sippres__free(doc->ctx, key);
	return found;
}

static struct sippres__conf_cat *cat_new(struct reader *rd, const char *name, size_t n)
{
	struct sippres__conf_doc *doc = rd->doc;
	struct sippres__conf_cat *c;

	if (grow(doc->ctx, (void **)&doc->cats, &doc->cap_cats, doc->n_cats + 1, sizeof(*doc->cats)) < 0)
		return NULL;
	c = sippres__calloc(doc->ctx, 1, sizeof(*c));
	if (!c)
		return NULL;
	c->name = sippres__strndup(doc->ctx, name, n);
	if (!c->name) {
		sippres__free(doc->ctx, c);
		return NULL;
	}
	c->file = rd->file;
	c->line = rd->line;
	c->seq = rd->seq;
	doc->cats[doc->n_cats++] = c;
	if (!cat_find(doc, c->name, n, c))
		sippres__map_insert(doc->ctx, &doc->by_name, &c->node, sippres__hash(doc->ctx->hash_seed, c->name, false));
	return c;
}

/* The bytes one line counts for (SIPPRES__CONF_MAX_BYTES_*), or 0 when the
 * bounds are reached (doc->vars_full says which: reported once). */
static size_t var_cost(struct sippres__conf_doc *doc, size_t nlen, size_t vlen)
{
	size_t cost = sizeof(struct sippres__conf_var) + nlen + vlen + 2;
	size_t budget = SIPPRES__CONF_MAX_BYTES_BASE;

	if (doc->text_bytes < (SIZE_MAX - budget) / SIPPRES__CONF_MAX_BYTES_RATIO)
		budget += doc->text_bytes * SIPPRES__CONF_MAX_BYTES_RATIO;
	else
		budget = SIZE_MAX;
	if (doc->n_vars >= SIPPRES__CONF_MAX_VARS || cost > budget - doc->n_bytes)
		return 0;
	return cost;
}

/* Add a line: own strings copied from name and value, or (tmpl->inherited)
 * the template's strings shared. */
static int var_add(struct sippres__conf_doc *doc, struct sippres__conf_cat *c, const struct sippres__conf_var *tmpl,
                   const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct sippres__conf_var *v;
	size_t cost = var_cost(doc, nlen, vlen);
	char *n = NULL, *val = NULL;

	if (!cost)
		return SIPPRES_E_TOOBIG;
	if (grow(doc->ctx, (void **)&c->vars, &c->cap_vars, c->n_vars + 1, sizeof(*v)) < 0)
		return SIPPRES_E_NOMEM;
	if (!tmpl->inherited) {
		n = sippres__strndup(doc->ctx, name, nlen);
		val = sippres__strndup(doc->ctx, value, vlen);
		if (!n || !val) {
			sippres__free(doc->ctx, n);
			sippres__free(doc->ctx, val);
			return SIPPRES_E_NOMEM;
		}
		name = n;
		value = val;
	}
	v = &c->vars[c->n_vars++];
	*v = *tmpl;
	v->name = name;
	v->value = value;
	doc->n_vars++;
	doc->n_bytes += cost;
	return 0;
}

/* var_add's SIPPRES_E_TOOBIG becomes one problem for the whole load. */
static int too_many_lines(struct sippres__conf_doc *doc, const char *file, uint32_t line, uint64_t seq)
{
	if (doc->vars_full)
		return 0;
	doc->vars_full = true;
	if (doc->n_vars >= SIPPRES__CONF_MAX_VARS)
		return sippres__conf_problem(doc, file, line, 0, seq,
		                             "more than %u lines (inherited copies included): this line and all later ones are ignored",
		                             SIPPRES__CONF_MAX_VARS);
	return sippres__conf_problem(doc, file, line, 0, seq,
	                             "more than %zu bytes of lines (inherited copies included; the bound is %zu MiB and %u "
	                             "times the %zu bytes of text read): this line and all later ones are ignored",
	                             doc->n_bytes, SIPPRES__CONF_MAX_BYTES_BASE >> 20, SIPPRES__CONF_MAX_BYTES_RATIO,
	                             doc->text_bytes);
}

static int inherit(struct reader *rd, struct sippres__conf_cat *c, const struct sippres__conf_cat *base)
{
	struct sippres__conf_doc *doc = rd->doc;
	size_t n = base->n_vars; /* base may be c itself after (+): copy what it had */

	for (size_t i = 0; i < n; i++) {
		struct sippres__conf_var t = base->vars[i];
		int r;

		t.inherited = true; /* shares the strings */
		r = var_add(doc, c, &t, t.name, strlen(t.name), t.value, strlen(t.value));
		if (r == SIPPRES_E_TOOBIG)
			return too_many_lines(doc, rd->file, rd->line, rd->seq);
		if (r < 0)
			return r;
	}
	return 0;
}

/* `[name]` or `[name](opt,opt...)` in rd->buf[0..n). */
static int section_header(struct reader *rd, size_t n)
{
	struct sippres__conf_doc *doc = rd->doc;
	const char *s = rd->buf;
	size_t close, nb, ne, i;
	struct sippres__conf_cat *c;
	bool append = false;
	int r;

	doc->cur = NULL;
	doc->cur_broken = true;
	for (close = 1; close < n && s[close] != ']'; close++)
		;
	if (close >= n)
		return rproblem(rd, rd->col[0], "section header without closing ']'; lines up to the next section are skipped");
	nb = 1;
	ne = close;
	trim(s, &nb, &ne);
	if (nb == ne)
		return rproblem(rd, rd->col[0], "empty section name; lines up to the next section are skipped");
	i = close + 1;
	while (i < n && is_blank(s[i]))
		i++;
	if (i < n && s[i] != '(')
		return rproblem(rd, rd->col[i], "unexpected text after the section header; lines up to the next section are skipped");

	/* Options: first check the syntax, then apply. */
	if (i < n) {
		size_t open = i, end;

		for (end = open + 1; end < n && s[end] != ')'; end++)
			;
		if (end >= n)
			return rproblem(rd, rd->col[open], "section options without closing ')'; lines up to the next section are skipped");
		for (size_t k = end + 1; k < n; k++) {
			if (!is_blank(s[k]))
				return rproblem(rd, rd->col[k], "unexpected text after the section options; lines up to the next section are skipped");
		}
		/* (+) appends to an earlier section of that name */
		for (size_t b = open + 1; b < end;) {
			size_t e = b, tb, te;

			while (e < end && s[e] != ',')
				e++;
			tb = b;
			te = e;
			trim(s, &tb, &te);
			if (te - tb == 1 && s[tb] == '+')
				append = true;
			b = e + 1;
		}
		if (append) {
			c = cat_find(doc, s + nb, ne - nb, NULL);
			if (!c)
				return rproblem(rd, rd->col[nb], "cannot append: no earlier section '%.*s'; lines up to the next section are skipped",
				                (int)(ne - nb), s + nb);
		} else {
			c = cat_new(rd, s + nb, ne - nb);
			if (!c)
				return SIPPRES_E_NOMEM;
		}
		doc->cur = c;
		doc->cur_broken = false;
		for (size_t b = open + 1; b < end;) {
			size_t e = b, tb, te;
			const struct sippres__conf_cat *base;

			while (e < end && s[e] != ',')
				e++;
			tb = b;
			te = e;
			trim(s, &tb, &te);
			b = e + 1;
			if (tb == te) {
				if ((r = rproblem(rd, rd->col[tb < n ? tb : open], "empty section option ignored")) < 0)
					return r;
				continue;
			}
			if (te - tb == 1 && s[tb] == '!') {
				c->is_template = true;
				continue;
			}
			if (te - tb == 1 && s[tb] == '+')
				continue;
			base = cat_find(doc, s + tb, te - tb, c);
			if (!base) {
				if ((r = rproblem(rd, rd->col[tb], "inheritance from '%.*s', which is not an earlier section; ignored",
				                  (int)(te - tb), s + tb)) < 0)
					return r;
				continue;
			}
			if ((r = inherit(rd, c, base)) < 0)
				return r;
		}
		return 0;
	}
	c = cat_new(rd, s + nb, ne - nb);
	if (!c)
		return SIPPRES_E_NOMEM;
	doc->cur = c;
	doc->cur_broken = false;
	return 0;
}

static int read_text(struct sippres__conf_doc *doc, const char *file, const char *text, size_t len);

/* `#include`, `#tryinclude`, `#exec` ... */
static int directive(struct reader *rd, size_t n)
{
	struct sippres__conf_doc *doc = rd->doc;
	char *s = rd->buf;
	size_t nb = 1, ne, ab, ae;
	bool try_only;
	const char *text = NULL;
	size_t tlen = 0;
	int r;

	for (ne = nb; ne < n && !is_blank(s[ne]) && s[ne] != '"' && s[ne] != '<'; ne++)
		;
	if (ne - nb == 7 && sippres__memeq_nocase(s + nb, "include", 7))
		try_only = false;
	else if (ne - nb == 10 && sippres__memeq_nocase(s + nb, "tryinclude", 10))
		try_only = true;
	else if ((ne - nb == 4 && sippres__memeq_nocase(s + nb, "exec", 4)) ||
	         (ne - nb == 7 && sippres__memeq_nocase(s + nb, "tryexec", 7)))
		return rproblem(rd, rd->col[0], "#%.*s is not supported; line ignored", (int)(ne - nb), s + nb);
	else
		return rproblem(rd, rd->col[0], "unknown directive '#%.*s'; line ignored", (int)(ne - nb), s + nb);

	ab = ne;
	ae = n;
	trim(s, &ab, &ae);
	if (ae - ab >= 2 && ((s[ab] == '"' && s[ae - 1] == '"') || (s[ab] == '<' && s[ae - 1] == '>'))) {
		ab++;
		ae--;
	}
	if (ab == ae)
		return rproblem(rd, rd->col[0], "#include without a file name; line ignored");
	s[ae] = '\0';
	if (!doc->io.include)
		return rproblem(rd, rd->col[ab], "cannot include '%s': the host gave no include callback", s + ab);
	if (doc->depth > SIPPRES__CONF_MAX_INCLUDE_DEPTH)
		return rproblem(rd, rd->col[ab], "cannot include '%s': includes nested deeper than %d", s + ab,
		                SIPPRES__CONF_MAX_INCLUDE_DEPTH);
	for (unsigned i = 0; i < doc->depth; i++) {
		if (strcmp(doc->include_stack[i], s + ab) == 0)
			return rproblem(rd, rd->col[ab], "include loop: '%s' is already being read; not included again", s + ab);
	}
	if (doc->n_includes >= SIPPRES__CONF_MAX_INCLUDES)
		return rproblem(rd, rd->col[ab], "cannot include '%s': more than %d includes in one load", s + ab,
		                SIPPRES__CONF_MAX_INCLUDES);
	doc->n_includes++;
	r = doc->io.include(doc->io.user_data, s + ab, &text, &tlen);
	if (r < 0 || (!text && tlen)) {
		if (try_only && r == SIPPRES_E_NOTFOUND)
			return 0;
		return rproblem(rd, rd->col[ab], "cannot include '%s': %s", s + ab,
		                r < 0 ? sippres_strerror(r) : "the include callback returned no text");
	}
	{
		/* The line buffer is reused by the nested reader: keep the name. */
		const char *name = intern(doc, s + ab);

		if (!name) {
			r = SIPPRES_E_NOMEM;
		} else {
			r = read_text(doc, name, text ? text : "", tlen);
		}
	}
	if (doc->io.release)
		doc->io.release(doc->io.user_data, text, tlen);
	return r;
}

static int variable(struct reader *rd, size_t n)
{
	struct sippres__conf_doc *doc = rd->doc;
	const char *s = rd->buf;
	size_t eq, nb = 0, ne, vb, ve;
	struct sippres__conf_var v;
	int r;

	for (eq = 0; eq < n && s[eq] != '='; eq++)
		;
	if (eq >= n)
		return rproblem(rd, rd->col[0], "no '=' in this line; ignored");
	ne = eq;
	trim(s, &nb, &ne);
	if (nb == ne)
		return rproblem(rd, rd->col[eq], "no name before '='; line ignored");
	vb = eq + 1;
	memset(&v, 0, sizeof(v));
	if (vb < n && s[vb] == '>') {
		vb++;
		v.object = true;
	}
	ve = n;
	trim(s, &vb, &ve);
	if (doc->cur_broken)
		return 0; /* already reported at the header */
	if (!doc->cur)
		return rproblem(rd, rd->col[nb], "'%.*s' is outside any [section]; ignored", (int)(ne - nb), s + nb);
	v.file = rd->file;
	v.line = rd->line;
	v.seq = rd->seq;
	/* column of the value; for an empty value, just after the '=' */
	v.value_col = vb < n ? rd->col[vb] : rd->col[eq] + 1 + (v.object ? 1 : 0);
	r = var_add(doc, doc->cur, &v, s + nb, ne - nb, s + vb, ve - vb);
	return r == SIPPRES_E_TOOBIG ? too_many_lines(doc, rd->file, rd->line, rd->seq) : r;
}

static int read_text(struct sippres__conf_doc *doc, const char *file, const char *text, size_t len)
{
	struct reader rd;
	int r = 0;

	memset(&rd, 0, sizeof(rd));
	rd.doc = doc;
	rd.file = file;
	rd.text = text;
	rd.len = len;
	doc->text_bytes = len < SIZE_MAX - doc->text_bytes ? doc->text_bytes + len : SIZE_MAX;
	doc->include_stack[doc->depth] = file;
	doc->depth++;
	/* a UTF-8 byte order mark */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		rd.pos = 3;
	while (rd.pos < rd.len && r >= 0) {
		const char *p = text + rd.pos;
		const char *nl = memchr(p, '\n', rd.len - rd.pos);
		size_t raw = nl ? (size_t)(nl - p) : rd.len - rd.pos;
		size_t b = 0, e;
		long n;

		rd.pos += raw + (nl ? 1 : 0);
		rd.line++;
		rd.seq = ++doc->seq;
		if (raw > 0 && p[raw - 1] == '\r')
			raw--;
		if (memchr(p, '\0', raw)) {
			r = rproblem(&rd, (uint32_t)((const char *)memchr(p, '\0', raw) - p) + 1,
			             "NUL byte in this line; line ignored");
			continue;
		}
		n = clean_line(&rd, p, raw);
		if (n < 0) {
			r = (int)n;
			break;
		}
		e = (size_t)n;
		trim(rd.buf, &b, &e);
		if (b == e)
			continue;
		/* shift so the line starts at 0 (keeps col[] aligned) */
		if (b > 0) {
			memmove(rd.buf, rd.buf + b, e - b);
			memmove(rd.col, rd.col + b, (e - b) * sizeof(*rd.col));
		}
		e -= b;
		rd.buf[e] = '\0';
		if (rd.buf[0] == '[')
			r = section_header(&rd, e);
		else if (rd.buf[0] == '#')
			r = directive(&rd, e);
		else
			r = variable(&rd, e);
	}
	if (r >= 0 && rd.block_depth > 0) {
		uint32_t l = rd.line;

		rd.line = rd.block_line;
		r = rproblem(&rd, 0, "block comment ';--' not closed before the end of the file (line %u)", l);
	}
	sippres__free(doc->ctx, rd.buf);
	sippres__free(doc->ctx, rd.col);
	doc->depth--;
	return r < 0 ? r : 0;
}

int sippres__conf_read(struct sippres__conf_doc *doc, const char *file, const char *text, size_t len)
{
	const char *name = intern(doc, file);

	if (!name)
		return SIPPRES_E_NOMEM;
	doc->cur = NULL;
	doc->cur_broken = false;
	return read_text(doc, name, text, len);
}
