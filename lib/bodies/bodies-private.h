/* SPDX-License-Identifier: MIT */
/* NOTIFY body generators: the escaping XML writer, the generator registry and
 * the built-in generators (pidf, xpidf, dialog-info) and supplements. */
#ifndef SIPPRES_BODIES_PRIVATE_H
#define SIPPRES_BODIES_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core-private.h"

/* The registry's lifecycle, for the context: built-ins registered at creation. */
int sippres__bodies_init(struct sippres_ctx *ctx);
void sippres__bodies_fini(struct sippres_ctx *ctx);

/* sippres_body_render, the body appended to dst (its length in *len) rather
 * than left in the context's render buffer: one copy less for list NOTIFYs.
 * For inputs the library built from its own state (not checked again). */
int sippres__body_render_append(struct sippres_ctx *ctx, const char *content_type,
                                const struct sippres_body_input *in, struct sippres__buf *dst, size_t *len);

/* Has a generator for this content type (len bytes, a valid token)? */
bool sippres__body_has_generator(struct sippres_ctx *ctx, const char *content_type, size_t len);

/* ---- event packages and body inputs (event.c) ------------------------------ */

/* Event packages; names compare byte by byte (RFC 6665 8.2.1). */
enum sippres__event { SIPPRES__EVENT_PRESENCE = 0, SIPPRES__EVENT_DIALOG = 1 };
/* The package named event, or -1. */
int sippres__event_parse(const char *event);
const char *sippres__event_name(int ev);
/* The body type a SUBSCRIBE without Accept gets. */
const char *sippres__event_default_type(int ev);
/* The state fields of a body input (extension and presence state, devices,
 * the causing call), from an extension's status. */
void sippres__body_input_state(struct sippres_body_input *in, const struct sippres_exten_status *st);

/* Does this NOTIFY carry a new dialog-info version? The standard profile
 * counts every NOTIFY; Asterisk re-sends its cached body on a refresh and on
 * termination, so the version stays, except for the first body and for the
 * final NOTIFY of a resource that is gone. */
static inline bool sippres__version_bumps(bool asterisk, bool sent_any, uint32_t reason, bool gone)
{
	return !asterisk || !sent_any ||
	       !(reason == SIPPRES_NOTIFY_REFRESH || (reason == SIPPRES_NOTIFY_FINAL && !gone));
}

/* ---- XML writer -------------------------------------------------------- */

#define SIPPRES__XML_MAX_DEPTH 64

enum sippres__xml_format {
	SIPPRES__XML_STANDARD = 0, /* two-space indent, <x/>, empty attributes as x="" */
	SIPPRES__XML_ASTERISK = 1  /* pj_xml_print: one-space indent, <x />, empty attributes bare */
};

struct sippres__xml_level {
	uint32_t name_off; /* the element name inside buf (after '<') */
	uint32_t name_len;
	uint8_t children;  /* has child elements */
	uint8_t text;      /* has text */
};

struct sippres__bodies;
struct sippres__type;

/* The writer. Errors are sticky in err: every write is a no-op once it is set. */
struct sippres_xml {
	struct sippres_ctx *ctx;
	char *buf;
	size_t len;
	size_t cap;
	int err;
	uint32_t format;
	uint32_t depth;
	bool open;          /* the innermost start tag is still open (attributes allowed) */
	bool root_done;     /* the root element has been closed */
	size_t version_off; /* where the marked number starts, version_len 0 if none */
	size_t version_len;
	/* what is being rendered, for supplements */
	struct sippres__bodies *bodies;
	const struct sippres__type *type; /* the content type being rendered */
	bool supplements;                 /* the type has supplements */
	const struct sippres_body_input *in;
	struct sippres__xml_level stack[SIPPRES__XML_MAX_DEPTH];
};

/* Reset for a new document, keeping the buffer. */
void sippres__xml_reset(struct sippres_xml *w, uint32_t format);
void sippres__xml_release(struct sippres_xml *w);
/* Make room for n more bytes (plus the NUL); false (and err set) on failure. */
bool sippres__xml_reserve(struct sippres_xml *w, size_t n);
bool sippres__xml_grow(struct sippres_xml *w, size_t n);
/* The write position with room for n bytes, or NULL (err set). */
static inline char *sippres__xml_room(struct sippres_xml *w, size_t n)
{
	if (w->err)
		return NULL;
	if (n < w->cap - w->len)
		return w->buf + w->len;
	return sippres__xml_grow(w, n) ? w->buf + w->len : NULL;
}

/* Raw bytes, no escaping: only for constant markup the library writes. */
static inline void sippres__xml_raw(struct sippres_xml *w, const char *s, size_t n)
{
	char *o = sippres__xml_room(w, n);

	if (o) {
		memcpy(o, s, n);
		w->len += n;
	}
}
#define sippres__xml_lit(w, s) sippres__xml_raw((w), (s), sizeof(s) - 1)
/* Select the literal for the current formatting. */
#define SIPPRES__FMT(w, ast, std) ((w)->format == SIPPRES__XML_ASTERISK ? (ast) : (std))
#define sippres__xml_lit2(w, ast, std) \
	((w)->format == SIPPRES__XML_ASTERISK ? sippres__xml_lit((w), ast) : sippres__xml_lit((w), std))

/* Fast path for fixed markup: begin writing child content of the innermost
 * element as raw fragments (closes its start tag, marks it as having
 * children). The fragments that follow (sippres__xml_lit, sippres__xml_esc_text,
 * sippres__xml_esc_attr, sippres__xml_id) must form complete elements, each starting
 * with the newline and indent of the child depth for the current format. */
void sippres__xml_children(struct sippres_xml *w);
size_t sippres__xml_escape(char *out, const char *s, size_t n, bool attr);
/* Cursor writing, the fastest path for fixed markup: reserve an upper bound
 * of what follows once (sippres__xml_span, NULL with err set on failure),
 * write through the returned pointer with the sippres__put* helpers and no
 * further checks, then sippres__xml_commit the end pointer. The same rules
 * as for fragments apply (complete elements, child content only, after
 * sippres__xml_children); doc: the span held the whole root element. */
static inline char *sippres__xml_span(struct sippres_xml *w, size_t max)
{
	return sippres__xml_room(w, max);
}
/* Start the root element <name (a literal) and reserve max bytes after it
 * for its attributes, written through the returned cursor; the start tag
 * stays open (for more attributes and the root hook) after the commit. */
char *sippres__xml_root_span(struct sippres_xml *w, const char *name, size_t n, size_t max);
/* The version number at o through the cursor, marked as the version field. */
char *sippres__put_version(struct sippres_xml *w, char *o, uint32_t v);
static inline void sippres__xml_commit(struct sippres_xml *w, char *end, bool doc)
{
	w->len = (size_t)(end - w->buf);
	if (doc)
		w->root_done = true;
}
/* *acc += mult * n; false (err set to SIPPRES_E_TOOBIG) on overflow. */
static inline bool sippres__xml_bound(struct sippres_xml *w, size_t *acc, size_t n, size_t mult)
{
	if (n > (SIZE_MAX / 4 - *acc) / mult) {
		if (!w->err)
			w->err = SIPPRES_E_TOOBIG;
		return false;
	}
	*acc += n * mult;
	return true;
}
#define SIPPRES__PUT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)
static inline char *sippres__put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}
/* value escaped (room 6 * n), as text or as an attribute value */
static inline char *sippres__put_text(char *o, const char *s, size_t n)
{
	return o + sippres__xml_escape(o, s, n, false);
}
static inline char *sippres__put_attr(char *o, const char *s, size_t n)
{
	return o + sippres__xml_escape(o, s, n, true);
}
/* value escaped (room 6 * n); clean: nothing in it needed escaping, so its
 * text and attribute forms are both the value itself */
char *sippres__put_esc_clean(char *o, const char *s, size_t n, bool attr, bool *clean);
/* the mangled xs:ID form of v (room 3 * n), see sippres__xml_attr_id */
char *sippres__put_id(char *o, const char *v, size_t n);

/* Escaped value fragments (text or attribute rules), no structure checks. */
void sippres__xml_esc_text(struct sippres_xml *w, const char *s, size_t n);
void sippres__xml_esc_attr(struct sippres_xml *w, const char *s, size_t n);
/* The mangled xs:ID form of v (see sippres__xml_attr_id), no quotes. */
void sippres__xml_id(struct sippres_xml *w, const char *v);
/* The prolog line, and for XPIDF a doctype line after it. */
void sippres__xml_prolog(struct sippres_xml *w);

/* Elements. Names are trusted (literals). */
void sippres__xml_start(struct sippres_xml *w, const char *name, size_t n);
#define sippres__xml_start_lit(w, s) sippres__xml_start((w), (s), sizeof(s) - 1)
void sippres__xml_end(struct sippres_xml *w);
/* <name>escaped text</name> as one element */
void sippres__xml_elem_text(struct sippres_xml *w, const char *name, size_t n, const char *text, size_t tn);

/* Attributes: name is a trusted literal; values are escaped unless _raw. */
void sippres__xml_attr(struct sippres_xml *w, const char *name, size_t n, const char *v, size_t vn);
void sippres__xml_attr_raw(struct sippres_xml *w, const char *name, size_t n, const char *v, size_t vn);
/* A literal attribute in one copy: ` name="v"` (name and v are string
 * literals; an empty v takes the formatting's empty-attribute rule). */
void sippres__xml_attr_fail(struct sippres_xml *w);
static inline void sippres__xml_attr_frag(struct sippres_xml *w, const char *frag, size_t n)
{
	if (w->open)
		sippres__xml_raw(w, frag, n);
	else
		sippres__xml_attr_fail(w);
}
#define sippres__xml_attr_lit(w, name, v)                                                        \
	(sizeof(v) > 1 ? sippres__xml_attr_frag((w), " " name "=\"" v "\"", sizeof(" " name "=\"" v "\"") - 1) \
	               : sippres__xml_attr_raw((w), (name), sizeof(name) - 1, (v), 0))
#define sippres__xml_attr_str(w, name, v) sippres__xml_attr((w), (name), sizeof(name) - 1, (v), strlen(v))
/* Composed values: open, then any number of escaped / raw parts, then close. */
void sippres__xml_attr_open(struct sippres_xml *w, const char *name, size_t n);
void sippres__xml_attr_part(struct sippres_xml *w, const char *v, size_t vn);
void sippres__xml_attr_close(struct sippres_xml *w);
/* A number attribute; mark records its digits as the version field. */
void sippres__xml_attr_u32(struct sippres_xml *w, const char *name, size_t n, uint32_t v, bool mark);
/* An xs:ID made of a literal prefix and a mangled value: bytes outside
 * [A-Za-z0-9.-] become _XX (upper-case hex). */
void sippres__xml_attr_id(struct sippres_xml *w, const char *name, size_t n, const char *prefix, const char *v);

/* Escaped text content of the innermost element. */
void sippres__xml_text(struct sippres_xml *w, const char *s, size_t n);
/* Text without escaping: only for literals. */
void sippres__xml_text_raw(struct sippres_xml *w, const char *s, size_t n);
#define sippres__xml_text_lit(w, s) sippres__xml_text_raw((w), (s), sizeof(s) - 1)

/* Escape s[0..n) into out (which must hold 6 * n bytes); returns the bytes
 * written. attr: also escape TAB as &#9;. Exposed for tests. */
size_t sippres__xml_escape(char *out, const char *s, size_t n, bool attr);

/* ---- registry ------------------------------------------------------------ */

/* Run the supplements of w->type at one hook; returns w->err or SIPPRES_E_CALLBACK. */
int sippres__bodies_run_hook(struct sippres_xml *w, uint32_t hook);
static inline int sippres__bodies_run_supplements(struct sippres_xml *w, uint32_t hook)
{
	return w->supplements ? sippres__bodies_run_hook(w, hook) : w->err;
}

/* Are the supplements of w's type exactly the built-in digium and rpid, in
 * that order (so that a generator may write their parts itself)? */
bool sippres__bodies_builtin_pidf_supplements(const struct sippres_xml *w);

/* ---- shared helpers for the generators --------------------------------- */

enum sippres__pidf_state { SIPPRES__NOTIFY_OPEN = 0, SIPPRES__NOTIFY_INUSE = 1, SIPPRES__NOTIFY_CLOSED = 2 };

/* Asterisk's ast_sip_presence_exten_state_to_str table. */
struct sippres__exten_map {
	const char *statestring; /* dialog-info <state>: early, confirmed, terminated */
	int local_state;         /* enum sippres__pidf_state */
	bool on_the_phone;       /* eyeBeam activity, else "--" */
	const char *note;        /* PIDF note */
};
void sippres__exten_map(int32_t exten_state, bool early_inuse_ringing, struct sippres__exten_map *m);

static inline bool sippres__str_set(const char *s)
{
	return s && s[0];
}

/* Built-in generators and supplements (pidf.c, xpidf.c, dialog-info.c) */
int sippres__gen_pidf(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in);
int sippres__supp_digium(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in, uint32_t hook);
int sippres__supp_rpid(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in, uint32_t hook);
int sippres__gen_xpidf(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in);
int sippres__gen_dialog_info(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in);

/* true when the user agent contains "digium" or "sangoma" (ASCII case-insensitive) */
bool sippres__ua_is_digium(const char *ua);

#endif
