/* SPDX-License-Identifier: MIT */
/* The body generator registry and the public render / writer entry points.
 *
 * Generators and supplements are registered per context and keyed by content
 * type, like Asterisk's body generator modules: one generator per type,
 * any number of supplements per type, run in registration order at the hook
 * points the generator offers. The built-ins are registered at context
 * creation (sippres__bodies_init) and can be unregistered or replaced by the host. */
#include <string.h>

#include "bodies/bodies-private.h"

#define SIPPRES__MAX_TYPE_LEN 255

struct sippres__supplement {
	struct sippres__supplement *next;
	char *name;
	int (*fn)(void *user_data, struct sippres_xml *xml, const struct sippres_body_input *in, uint32_t hook);
	void *user_data;
	bool builtin;
};

/* One record per content type: its generator (fn NULL when none is
 * registered) and its supplements in registration order. Supplements only
 * compare pointers to their type at render time. */
struct sippres__type {
	struct sippres__type *next;
	char *name;
	size_t len;
	int (*fn)(void *user_data, struct sippres_xml *xml, const struct sippres_body_input *in);
	void *user_data;
	bool builtin;
	struct sippres__supplement *supps;
};

struct sippres__bodies {
	struct sippres__type *types;
	struct sippres_xml xml; /* the render buffer, reused */
	int busy;               /* > 0 while a generator runs */
};

#define BODY_INPUT_V1_SIZE (offsetof(struct sippres_body_input, version) + sizeof(uint32_t))
#define BODY_V1_SIZE (offsetof(struct sippres_body, version_len) + sizeof(size_t))
#define BODY_FLAGS_ALL (SIPPRES_BODY_EARLY_INUSE_RINGING | SIPPRES_BODY_SINGLE_DIALOG | SIPPRES_BODY_DUMMY_DIALOG)

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* A content type or supplement name: 1..255 printable ASCII bytes without
 * spaces, quotes or ';' (no parameters). */
static bool token_ok(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c <= 0x20 || c >= 0x7f || c == ';' || c == '"' || c == ',' || n >= SIPPRES__MAX_TYPE_LEN)
			return false;
	}
	return n > 0;
}

static char *dup(struct sippres_ctx *ctx, const char *s)
{
	size_t n = strlen(s);
	char *d = sippres__malloc(ctx, n + 1);

	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static struct sippres__type *find_type(struct sippres__bodies *b, const char *name, size_t len)
{
	for (struct sippres__type *t = b->types; t; t = t->next) {
		size_t i = 0;

		if (t->len != len)
			continue;
		if (memcmp(t->name, name, len) == 0)
			return t;
		while (i < len && lower((unsigned char)t->name[i]) == lower((unsigned char)name[i]))
			i++;
		if (i == len)
			return t;
	}
	return NULL;
}

static struct sippres__type *get_type(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__bodies *b = ctx->bodies;
	size_t len = strlen(name);
	struct sippres__type *t = find_type(b, name, len), **tail;

	if (t)
		return t;
	t = sippres__calloc(ctx, 1, sizeof(*t));
	if (!t)
		return NULL;
	t->name = dup(ctx, name);
	if (!t->name) {
		sippres__free(ctx, t);
		return NULL;
	}
	t->len = len;
	for (tail = &b->types; *tail; tail = &(*tail)->next)
		;
	*tail = t;
	return t;
}

static int gen_register(struct sippres_ctx *ctx, const char *type,
                        int (*fn)(void *, struct sippres_xml *, const struct sippres_body_input *), void *ud,
                        bool builtin)
{
	struct sippres__type *t = get_type(ctx, type);
	int r;

	if (!t)
		return SIPPRES_E_NOMEM;
	r = t->fn ? 1 : 0;
	t->fn = fn;
	t->user_data = ud;
	t->builtin = builtin;
	return r;
}

static int supp_register(struct sippres_ctx *ctx, const char *type, const char *name,
                         int (*fn)(void *, struct sippres_xml *, const struct sippres_body_input *, uint32_t),
                         void *ud, bool builtin)
{
	struct sippres__type *t = get_type(ctx, type);
	struct sippres__supplement *s, **tail;

	if (!t)
		return SIPPRES_E_NOMEM;
	for (tail = &t->supps; *tail; tail = &(*tail)->next) {
		s = *tail;
		if (strcmp(s->name, name) == 0) {
			s->fn = fn;
			s->user_data = ud;
			s->builtin = builtin;
			return 1;
		}
	}
	s = sippres__malloc(ctx, sizeof(*s));
	if (!s)
		return SIPPRES_E_NOMEM;
	s->name = dup(ctx, name);
	if (!s->name) {
		sippres__free(ctx, s);
		return SIPPRES_E_NOMEM;
	}
	s->next = NULL;
	s->fn = fn;
	s->user_data = ud;
	s->builtin = builtin;
	*tail = s;
	return 0;
}

void sippres__bodies_fini(struct sippres_ctx *ctx)
{
	struct sippres__bodies *b = ctx->bodies;

	if (!b)
		return;
	while (b->types) {
		struct sippres__type *t = b->types;
		b->types = t->next;
		while (t->supps) {
			struct sippres__supplement *s = t->supps;
			t->supps = s->next;
			sippres__free(ctx, s->name);
			sippres__free(ctx, s);
		}
		sippres__free(ctx, t->name);
		sippres__free(ctx, t);
	}
	sippres__xml_release(&b->xml);
	sippres__free(ctx, b);
	ctx->bodies = NULL;
}

int sippres__bodies_init(struct sippres_ctx *ctx)
{
	struct sippres__bodies *b = sippres__calloc(ctx, 1, sizeof(*b));
	int r;

	if (!b)
		return SIPPRES_E_NOMEM;
	b->xml.ctx = ctx;
	ctx->bodies = b;
	/* Asterisk loads the digium supplement before the eyebeam one
	 * (alphabetical module order), so the digium tuple precedes dm:person. */
	if ((r = gen_register(ctx, SIPPRES_CONTENT_TYPE_PIDF, sippres__gen_pidf, NULL, true)) < 0 ||
	    (r = gen_register(ctx, SIPPRES_CONTENT_TYPE_XPIDF, sippres__gen_xpidf, NULL, true)) < 0 ||
	    (r = gen_register(ctx, SIPPRES_CONTENT_TYPE_CPIM_PIDF, sippres__gen_xpidf, NULL, true)) < 0 ||
	    (r = gen_register(ctx, SIPPRES_CONTENT_TYPE_DIALOG_INFO, sippres__gen_dialog_info, NULL, true)) < 0 ||
	    (r = supp_register(ctx, SIPPRES_CONTENT_TYPE_PIDF, "digium", sippres__supp_digium, NULL, true)) < 0 ||
	    (r = supp_register(ctx, SIPPRES_CONTENT_TYPE_PIDF, "rpid", sippres__supp_rpid, NULL, true)) < 0) {
		sippres__bodies_fini(ctx);
		return r;
	}
	return 0;
}

int sippres__bodies_run_hook(struct sippres_xml *w, uint32_t hook)
{
	if (w->err)
		return w->err;
	for (const struct sippres__supplement *s = w->type->supps; s; s = s->next) {
		int r = s->fn(s->user_data, w, w->in, hook);

		if (w->err)
			return w->err;
		if (r < 0) {
			w->err = s->builtin ? r : SIPPRES_E_CALLBACK;
			return w->err;
		}
	}
	return 0;
}

bool sippres__bodies_builtin_pidf_supplements(const struct sippres_xml *w)
{
	const struct sippres__supplement *s = w->type->supps;

	return s && s->builtin && s->fn == sippres__supp_digium && s->next && s->next->builtin &&
	       s->next->fn == sippres__supp_rpid && !s->next->next;
}

/* ---- mapping helpers ------------------------------------------------------ */

void sippres__exten_map(int32_t st, bool early_inuse_ringing, struct sippres__exten_map *m)
{
	switch (st) {
	case SIPPRES_EXTEN_RINGING:
		*m = (struct sippres__exten_map){"early", SIPPRES__NOTIFY_INUSE, true, "Ringing"};
		break;
	case SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING:
		*m = (struct sippres__exten_map){early_inuse_ringing ? "early" : "confirmed", SIPPRES__NOTIFY_INUSE, true, "Ringing"};
		break;
	case SIPPRES_EXTEN_INUSE:
	case SIPPRES_EXTEN_BUSY:
		*m = (struct sippres__exten_map){"confirmed", SIPPRES__NOTIFY_INUSE, true, "On the phone"};
		break;
	case SIPPRES_EXTEN_UNAVAILABLE:
		*m = (struct sippres__exten_map){"terminated", SIPPRES__NOTIFY_CLOSED, false, "Unavailable"};
		break;
	case SIPPRES_EXTEN_ONHOLD:
		*m = (struct sippres__exten_map){"confirmed", SIPPRES__NOTIFY_INUSE, true, "On hold"};
		break;
	default: /* NOT_INUSE, InUse&Hold, DEACTIVATED, REMOVED, anything else */
		*m = (struct sippres__exten_map){"terminated", SIPPRES__NOTIFY_OPEN, false, "Ready"};
		break;
	}
}

/* Does s start with the lower-case ASCII word lw, ignoring ASCII case? */
static bool prefix_ci(const char *s, const char *lw)
{
	for (; *lw; s++, lw++) {
		if ((*s | 0x20) != *lw)
			return false;
	}
	return true;
}

/* Is "digium" or "sangoma" at p - 2 or p - 3 (ua..p is the string so far)? */
static bool digium_at_g(const char *ua, const char *p)
{
	return (p - ua >= 2 && prefix_ci(p - 2, "digium")) || (p - ua >= 3 && prefix_ci(p - 3, "sangoma"));
}

#define ONES8 UINT64_C(0x0101010101010101)

bool sippres__ua_is_digium(const char *ua)
{
	size_t n, i = 0;

	if (!ua)
		return false;
	/* both words have a g (digium at 2, sangoma at 3): look for g or G a
	 * word at a time, and check the two words only around one */
	n = strlen(ua);
	for (; n - i >= 8; i += 8) {
		uint64_t v, x;

		memcpy(&v, ua + i, 8);
		x = (v | ONES8 * 0x20) ^ (ONES8 * 'g');
		if (((x - ONES8) & ~x & ONES8 * 0x80) == 0)
			continue;
		for (size_t j = i; j < i + 8; j++) {
			if ((ua[j] | 0x20) == 'g' && digium_at_g(ua, ua + j))
				return true;
		}
	}
	for (; i < n; i++) {
		if ((ua[i] | 0x20) == 'g' && digium_at_g(ua, ua + i))
			return true;
	}
	return false;
}

/* ---- public API ----------------------------------------------------------- */

static int check_call(const struct sippres_call *c)
{
	if (!c)
		return 0;
	if (sippres__check_size(c->size, SIPPRES__CALL_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	return 0;
}

static int check_input(const struct sippres_body_input *in)
{
	int r = sippres__check_struct(in, BODY_INPUT_V1_SIZE, sizeof(*in));

	if (r < 0)
		return r;
	if (in->profile > SIPPRES_PROFILE_ASTERISK || (in->flags & ~BODY_FLAGS_ALL))
		return SIPPRES_E_INVAL;
	if (!sippres__str_set(in->exten) || !sippres__str_set(in->local_uri))
		return SIPPRES_E_INVAL;
	if (in->presence_state >= SIPPRES_PRESENCE_INVALID)
		return SIPPRES_E_INVAL;
	if (in->n_devices && !in->devices)
		return SIPPRES_E_INVAL;
	if ((r = check_call(in->causing_call)) < 0)
		return r;
	for (size_t i = 0; i < in->n_devices; i++) {
		if ((r = check_call(in->devices[i].causing_call)) < 0)
			return r;
	}
	return 0;
}

/* Render into the writer from w->len on (the prolog first); returns < 0 or 0. */
static int render_at(struct sippres__bodies *b, struct sippres__type *t, const struct sippres_body_input *in,
                     size_t start)
{
	struct sippres_xml *w = &b->xml;
	int r;

	sippres__xml_reset(w, in->profile == SIPPRES_PROFILE_ASTERISK ? SIPPRES__XML_ASTERISK : SIPPRES__XML_STANDARD);
	w->len = start;
	w->bodies = b;
	w->type = t;
	w->supplements = t->supps != NULL;
	w->in = in;
	sippres__xml_prolog(w);
	b->busy++;
	r = t->fn(t->user_data, w, in);
	b->busy--;
	if (w->err)
		r = w->err;
	else if (r < 0 && !t->builtin)
		r = SIPPRES_E_CALLBACK;
	else if (r >= 0 && (!w->root_done || w->depth))
		r = t->builtin ? SIPPRES_E_INVAL : SIPPRES_E_CALLBACK; /* an incomplete document */
	if (r < 0)
		return r;
	w->buf[w->len] = '\0';
	return 0;
}

/* checked: the input comes from the library itself (already valid) */
static int render_checks(struct sippres_ctx *ctx, const char *content_type, const struct sippres_body_input *in,
                         bool checked, struct sippres__type **ret)
{
	struct sippres__bodies *b;
	struct sippres__type *t;
	int r;

	if (!ctx || !ctx->bodies || !content_type || !in)
		return SIPPRES_E_INVAL;
	r = checked ? 0 : check_input(in);
	if (r < 0)
		return r;
	b = ctx->bodies;
	if (b->busy)
		return SIPPRES_E_REENTRANT;
	t = find_type(b, content_type, strlen(content_type));
	if (!t || !t->fn)
		return token_ok(content_type) ? SIPPRES_E_NOTFOUND : SIPPRES_E_INVAL;
	*ret = t;
	return 0;
}

SIPPRES_EXPORT int sippres_body_render(struct sippres_ctx *ctx, const char *content_type,
                                       const struct sippres_body_input *in, struct sippres_body *out)
{
	struct sippres__type *t;
	struct sippres_xml *w;
	int r;

	if (!out)
		return SIPPRES_E_INVAL;
	if (ctx && ctx->bodies && content_type && in && sippres__check_size(out->size, BODY_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	r = render_checks(ctx, content_type, in, false, &t);
	if (r < 0)
		return r;
	r = render_at(ctx->bodies, t, in, 0);
	if (r < 0)
		return r;
	w = &ctx->bodies->xml;
	out->content_type = t->name;
	out->data = w->buf;
	out->len = w->len;
	out->version_offset = w->version_off;
	out->version_len = w->version_len;
	return 0;
}

int sippres__body_render_append(struct sippres_ctx *ctx, const char *content_type,
                                const struct sippres_body_input *in, struct sippres__buf *dst, size_t *len)
{
	struct sippres__type *t;
	struct sippres_xml *w;
	char *own;
	size_t own_cap, start = dst->len;
	int r;

	if (dst->err)
		return dst->err;
	r = render_checks(ctx, content_type, in, true, &t);
	if (r < 0)
		return r;
	/* the writer works in dst's buffer for this one */
	w = &ctx->bodies->xml;
	own = w->buf;
	own_cap = w->cap;
	w->buf = dst->p;
	w->cap = dst->p ? dst->cap : 0;
	r = render_at(ctx->bodies, t, in, start);
	dst->p = w->buf;
	dst->cap = w->cap;
	if (r >= 0) {
		*len = w->len - start;
		dst->len = w->len;
	} else if (dst->p) {
		dst->p[dst->len] = '\0';
	}
	w->buf = own;
	w->cap = own_cap;
	w->len = 0;
	return r;
}

SIPPRES_EXPORT int sippres_body_patch_version(const struct sippres_body *body, uint32_t version, char *buf,
                                              size_t buf_size, size_t *ret_len)
{
	char digits[20];
	size_t k, head, tail, need;

	if (!body || !buf || !ret_len || sippres__check_size(body->size, BODY_V1_SIZE) < 0 || !body->data ||
	    body->version_len == 0 || body->version_len > 10 || body->version_offset > body->len ||
	    body->version_len > body->len - body->version_offset)
		return SIPPRES_E_INVAL;
	k = sippres__dec(digits, version);
	head = body->version_offset;
	tail = body->len - head - body->version_len;
	need = head + k + tail;
	if (need > buf_size)
		return SIPPRES_E_TOOBIG;
	memcpy(buf, body->data, head);
	memcpy(buf + head, digits, k);
	memcpy(buf + head + k, body->data + head + body->version_len, tail);
	*ret_len = need;
	return 0;
}

bool sippres__body_has_generator(struct sippres_ctx *ctx, const char *content_type, size_t len)
{
	const struct sippres__type *t = find_type(ctx->bodies, content_type, len);

	return t && t->fn;
}

SIPPRES_EXPORT int sippres_body_supported(struct sippres_ctx *ctx, const char *content_type)
{
	struct sippres__type *t;

	if (!ctx || !ctx->bodies || !token_ok(content_type))
		return SIPPRES_E_INVAL;
	t = find_type(ctx->bodies, content_type, strlen(content_type));
	return t && t->fn ? 1 : 0;
}

SIPPRES_EXPORT int sippres_body_generator_register(struct sippres_ctx *ctx, const char *content_type,
                                                   int (*generate)(void *user_data, struct sippres_xml *xml,
                                                                   const struct sippres_body_input *in),
                                                   void *user_data)
{
	if (!ctx || !ctx->bodies || !token_ok(content_type) || !generate)
		return SIPPRES_E_INVAL;
	if (ctx->bodies->busy)
		return SIPPRES_E_REENTRANT;
	return gen_register(ctx, content_type, generate, user_data, false);
}

SIPPRES_EXPORT int sippres_body_generator_unregister(struct sippres_ctx *ctx, const char *content_type)
{
	struct sippres__type *t;

	if (!ctx || !ctx->bodies || !token_ok(content_type))
		return SIPPRES_E_INVAL;
	if (ctx->bodies->busy)
		return SIPPRES_E_REENTRANT;
	t = find_type(ctx->bodies, content_type, strlen(content_type));
	if (!t || !t->fn)
		return SIPPRES_E_NOTFOUND;
	t->fn = NULL;
	t->user_data = NULL;
	t->builtin = false;
	return 0;
}

SIPPRES_EXPORT int sippres_body_supplement_register(struct sippres_ctx *ctx, const char *content_type,
                                                    const char *name,
                                                    int (*supplement)(void *user_data, struct sippres_xml *xml,
                                                                      const struct sippres_body_input *in,
                                                                      uint32_t hook),
                                                    void *user_data)
{
	if (!ctx || !ctx->bodies || !token_ok(content_type) || !token_ok(name) || !supplement)
		return SIPPRES_E_INVAL;
	if (ctx->bodies->busy)
		return SIPPRES_E_REENTRANT;
	return supp_register(ctx, content_type, name, supplement, user_data, false);
}

SIPPRES_EXPORT int sippres_body_supplement_unregister(struct sippres_ctx *ctx, const char *content_type,
                                                      const char *name)
{
	struct sippres__supplement **pp;
	struct sippres__type *t;

	if (!ctx || !ctx->bodies || !token_ok(content_type) || !token_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->bodies->busy)
		return SIPPRES_E_REENTRANT;
	t = find_type(ctx->bodies, content_type, strlen(content_type));
	if (!t)
		return SIPPRES_E_NOTFOUND;
	for (pp = &t->supps; *pp; pp = &(*pp)->next) {
		struct sippres__supplement *s = *pp;
		if (strcmp(s->name, name) == 0) {
			*pp = s->next;
			sippres__free(ctx, s->name);
			sippres__free(ctx, s);
			return 0;
		}
	}
	return SIPPRES_E_NOTFOUND;
}

/* ---- the writer, for host generators -------------------------------------- */

static bool xml_name_ok(const char *s, size_t *len)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
		bool other = (c >= '0' && c <= '9') || c == '-' || c == '.';
		if (!alpha && !(other && n > 0))
			return false;
		if (n >= 256)
			return false;
	}
	*len = n;
	return n > 0;
}

/* The open start tag already has an attribute called name[0..n). The tag is
 * our own output: ` name="value"` with no raw '"' in a value (escaped), or
 * ` name` bare (the asterisk format's empty value). */
static bool attr_dup(const struct sippres_xml *w, const char *name, size_t n)
{
	const struct sippres__xml_level *lv = &w->stack[w->depth - 1];
	const char *p = w->buf + lv->name_off + lv->name_len, *end = w->buf + w->len;

	while (p < end) {
		const char *a = ++p; /* past the space */

		while (p < end && *p != '=' && *p != ' ')
			p++;
		if ((size_t)(p - a) == n && memcmp(a, name, n) == 0)
			return true;
		if (p < end && *p == '=') {
			p += 2; /* =" */
			while (p < end && *p != '"')
				p++;
			p++;
		}
	}
	return false;
}

static int writer_fail(struct sippres_xml *w, int err)
{
	if (!w->err)
		w->err = err;
	return w->err;
}

SIPPRES_EXPORT int sippres_xml_start(struct sippres_xml *xml, const char *name)
{
	size_t n;

	if (!xml)
		return SIPPRES_E_INVAL;
	if (!xml_name_ok(name, &n))
		return writer_fail(xml, SIPPRES_E_INVAL);
	sippres__xml_start(xml, name, n);
	return xml->err;
}

SIPPRES_EXPORT int sippres_xml_attr(struct sippres_xml *xml, const char *name, const char *value, size_t len)
{
	size_t n;

	if (!xml)
		return SIPPRES_E_INVAL;
	if (!xml_name_ok(name, &n) || (!value && len))
		return writer_fail(xml, SIPPRES_E_INVAL);
	if (!xml->err && xml->open && attr_dup(xml, name, n))
		return writer_fail(xml, SIPPRES_E_INVAL); /* not well-formed XML */
	if (len == (size_t)-1)
		len = strlen(value);
	sippres__xml_attr(xml, name, n, value ? value : "", len);
	return xml->err;
}

SIPPRES_EXPORT int sippres_xml_text(struct sippres_xml *xml, const char *text, size_t len)
{
	if (!xml)
		return SIPPRES_E_INVAL;
	if (!text && len)
		return writer_fail(xml, SIPPRES_E_INVAL);
	if (len == (size_t)-1)
		len = strlen(text);
	sippres__xml_text(xml, text ? text : "", len);
	return xml->err;
}

SIPPRES_EXPORT int sippres_xml_end(struct sippres_xml *xml)
{
	if (!xml)
		return SIPPRES_E_INVAL;
	sippres__xml_end(xml);
	return xml->err;
}

SIPPRES_EXPORT int sippres_xml_supplements(struct sippres_xml *xml, uint32_t hook)
{
	if (!xml)
		return SIPPRES_E_INVAL;
	if (hook > SIPPRES_BODY_HOOK_END || !xml->type)
		return writer_fail(xml, SIPPRES_E_INVAL);
	return sippres__bodies_run_supplements(xml, hook);
}
