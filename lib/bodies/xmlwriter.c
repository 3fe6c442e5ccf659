/* SPDX-License-Identifier: MIT */
/* The one XML writer every body generator uses.
 *
 * It streams into a growable buffer owned by the context and renders two
 * formattings:
 *  - asterisk: what pjproject's XML printer produces (LF line ends, one space
 *    of indent per depth, "<x />" for empty elements, an attribute with an
 *    empty value printed as its bare name, the prolog on its own line);
 *  - standard: the same layout with two spaces of indent, "<x/>" and x="".
 * Every value is escaped: & < > " ' always, CR and LF as character
 * references, TAB too inside attributes; characters XML 1.0 forbids (C0
 * controls other than TAB/LF/CR, U+FFFE, U+FFFF) and every byte that does not
 * start a valid UTF-8 sequence become U+FFFD. */
#include <string.h>

#include "bodies/bodies-private.h"

/* 0: copy as is. 1: needs attention (escape, check, or replace). */
static const uint8_t esc_class[256] = {
	/* 0x00-0x1f: control characters (TAB, LF, CR escaped, the rest replaced) */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	/*     !  "  #  $  %  &  '  (  )  *  +  ,  -  .  / */
	0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0,
	/*  0-9 : ; < = > ? */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x80-0xff: UTF-8 lead and continuation bytes, checked */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static const char spaces[] = "                                                                "
                             "                                                                ";

/* Length of the valid UTF-8 sequence at p (n bytes available) that encodes a
 * character XML allows, or 0. */
static size_t utf8_ok(const unsigned char *p, size_t n)
{
	unsigned c = p[0];

	if (c >= 0xc2 && c <= 0xdf) {
		if (n >= 2 && (p[1] & 0xc0) == 0x80)
			return 2;
		return 0;
	}
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = 0x80, hi = 0xbf;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no UTF-16 surrogates */
		if (n < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf))
			return 0; /* U+FFFE, U+FFFF */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = 0x80, hi = 0xbf;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* <= U+10FFFF */
		if (n < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/* Word-at-a-time tests (exact as booleans): a byte equal to zero, a byte
 * below n (for bytes < 0x80). */
#define ONES(c) (UINT64_C(0x0101010101010101) * (uint8_t)(c))
#define HASZERO(v) (((v) - ONES(1)) & ~(v) & ONES(0x80))
#define HASLESS(v, n) (((v) - ONES(n)) & ~(v) & ONES(0x80))

#define PUT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)

size_t sippres__xml_escape(char *out, const char *s, size_t n, bool attr)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char *o = out;

	while (p < end) {
		/* eight bytes at a time while none needs attention */
		while (end - p >= 8) {
			uint64_t v;
			memcpy(&v, p, 8);
			if ((v & ONES(0x80)) | HASLESS(v, 0x20) | HASZERO(v ^ ONES('&')) | HASZERO(v ^ ONES('<')) |
			    HASZERO(v ^ ONES('>')) | HASZERO(v ^ ONES('"')) | HASZERO(v ^ ONES('\'')))
				break;
			memcpy(o, &v, 8);
			o += 8;
			p += 8;
		}
		if (p >= end)
			break;
		if (!esc_class[*p]) {
			*o++ = (char)*p++;
			continue;
		}
		switch (*p) {
		case '&': PUT(o, "&amp;"); break;
		case '<': PUT(o, "&lt;"); break;
		case '>': PUT(o, "&gt;"); break;
		case '"': PUT(o, "&quot;"); break;
		case '\'': PUT(o, "&apos;"); break;
		case '\n': PUT(o, "&#10;"); break;
		case '\r': PUT(o, "&#13;"); break;
		case '\t':
			if (attr)
				PUT(o, "&#9;");
			else
				*o++ = '\t';
			break;
		default:
			if (*p >= 0x80) {
				size_t k = utf8_ok(p, (size_t)(end - p));
				if (k) {
					memcpy(o, p, k);
					o += k;
					p += k;
					continue;
				}
			}
			PUT(o, "\xef\xbf\xbd"); /* U+FFFD */
			break;
		}
		p++;
	}
	return (size_t)(o - out);
}

void sippres__xml_reset(struct sippres_xml *w, uint32_t format)
{
	w->len = 0;
	w->err = 0;
	w->format = format;
	w->depth = 0;
	w->open = false;
	w->root_done = false;
	w->version_off = 0;
	w->version_len = 0;
}

void sippres__xml_release(struct sippres_xml *w)
{
	sippres__free(w->ctx, w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

bool sippres__xml_grow(struct sippres_xml *w, size_t n)
{
	size_t want, cap;
	char *b;

	if (w->err)
		return false;
	/* cap is the allocation size; one byte always stays free for the NUL */
	if (w->cap && n < w->cap - w->len)
		return true;
	if (n > SIZE_MAX / 4 - w->len) {
		w->err = SIPPRES_E_TOOBIG;
		return false;
	}
	want = w->len + n + 1;
	cap = w->cap ? w->cap : 2048;
	while (cap < want)
		cap *= 2;
	b = sippres__realloc(w->ctx, w->buf, cap);
	if (!b) {
		w->err = SIPPRES_E_NOMEM;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

bool sippres__xml_reserve(struct sippres_xml *w, size_t n)
{
	return sippres__xml_room(w, n) != NULL;
}

void sippres__xml_prolog(struct sippres_xml *w)
{
	sippres__xml_lit(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

/* Room for an escaped copy of n bytes plus extra; NULL (err set) on failure. */
static char *room_escaped(struct sippres_xml *w, size_t n, size_t extra)
{
	if (n > (SIZE_MAX / 8) / 6) {
		if (!w->err)
			w->err = SIPPRES_E_TOOBIG;
		return NULL;
	}
	return sippres__xml_room(w, 6 * n + extra);
}

static inline size_t indent_of(const struct sippres_xml *w, uint32_t d)
{
	return w->format == SIPPRES__XML_ASTERISK ? d : 2u * d;
}

void sippres__xml_start(struct sippres_xml *w, const char *name, size_t n)
{
	struct sippres__xml_level *lv;
	size_t ind;
	char *o;

	if (w->err)
		return;
	if (w->depth >= SIPPRES__XML_MAX_DEPTH || n > UINT32_MAX / 2) {
		w->err = SIPPRES_E_TOOBIG;
		return;
	}
	ind = indent_of(w, w->depth);
	o = sippres__xml_room(w, n + ind + 3);
	if (!o)
		return;
	if (w->depth > 0) {
		struct sippres__xml_level *parent = &w->stack[w->depth - 1];
		if (parent->text) {
			w->err = SIPPRES_E_INVAL; /* no mixed content */
			return;
		}
		if (w->open)
			*o++ = '>';
		parent->children = 1;
		*o++ = '\n';
		memcpy(o, spaces, ind); /* ind <= 2 * (SIPPRES__XML_MAX_DEPTH - 1) < sizeof(spaces) */
		o += ind;
	} else if (w->root_done) {
		w->err = SIPPRES_E_INVAL; /* one root */
		return;
	}
	*o++ = '<';
	if ((size_t)(o - w->buf) > UINT32_MAX - n) {
		w->err = SIPPRES_E_TOOBIG;
		return;
	}
	lv = &w->stack[w->depth++];
	lv->name_off = (uint32_t)(o - w->buf);
	lv->name_len = (uint32_t)n;
	lv->children = 0;
	lv->text = 0;
	memcpy(o, name, n);
	o += n;
	w->len = (size_t)(o - w->buf);
	w->open = true;
}

void sippres__xml_end(struct sippres_xml *w)
{
	struct sippres__xml_level *lv;
	size_t ind;
	char *o;

	if (w->err)
		return;
	if (w->depth == 0) {
		w->err = SIPPRES_E_INVAL;
		return;
	}
	lv = &w->stack[w->depth - 1];
	ind = indent_of(w, w->depth - 1);
	o = sippres__xml_room(w, (size_t)lv->name_len + ind + 6);
	if (!o)
		return;
	if (w->open) {
		if (w->format == SIPPRES__XML_ASTERISK)
			*o++ = ' ';
		*o++ = '/';
		*o++ = '>';
		w->open = false;
	} else {
		if (lv->children) {
			*o++ = '\n';
			memcpy(o, spaces, ind);
			o += ind;
		}
		*o++ = '<';
		*o++ = '/';
		memcpy(o, w->buf + lv->name_off, lv->name_len);
		o += lv->name_len;
		*o++ = '>';
	}
	w->depth--;
	if (w->depth == 0) {
		w->root_done = true;
		*o++ = '\n';
	}
	w->len = (size_t)(o - w->buf);
}

/* Close the start tag for text; false (err set) when text is not allowed. */
static bool text_begin(struct sippres_xml *w, char **o, size_t n, bool escape)
{
	struct sippres__xml_level *lv;

	if (w->err)
		return false;
	if (w->depth == 0 || w->stack[w->depth - 1].children) {
		w->err = SIPPRES_E_INVAL;
		return false;
	}
	*o = escape ? room_escaped(w, n, 1) : sippres__xml_room(w, n + 1);
	if (!*o)
		return false;
	lv = &w->stack[w->depth - 1];
	if (w->open) {
		*(*o)++ = '>';
		w->open = false;
	}
	lv->text = 1;
	return true;
}

void sippres__xml_text(struct sippres_xml *w, const char *s, size_t n)
{
	char *o;

	/* like pj: an element with empty text is an empty element */
	if (n && text_begin(w, &o, n, true)) {
		o += sippres__xml_escape(o, s, n, false);
		w->len = (size_t)(o - w->buf);
	}
}

void sippres__xml_text_raw(struct sippres_xml *w, const char *s, size_t n)
{
	char *o;

	if (n && text_begin(w, &o, n, false)) {
		memcpy(o, s, n);
		w->len = (size_t)(o + n - w->buf);
	}
}

void sippres__xml_elem_text(struct sippres_xml *w, const char *name, size_t n, const char *text, size_t tn)
{
	sippres__xml_start(w, name, n);
	sippres__xml_text(w, text, tn);
	sippres__xml_end(w);
}

/* ` name="` */
static char *attr_head(struct sippres_xml *w, const char *name, size_t n, size_t extra)
{
	char *o;

	if (w->err)
		return NULL;
	if (!w->open) {
		w->err = SIPPRES_E_INVAL;
		return NULL;
	}
	o = sippres__xml_room(w, n + 3 + extra);
	if (!o)
		return NULL;
	*o++ = ' ';
	memcpy(o, name, n);
	o += n;
	*o++ = '=';
	*o++ = '"';
	return o;
}

void sippres__xml_attr_open(struct sippres_xml *w, const char *name, size_t n)
{
	char *o = attr_head(w, name, n, 0);

	if (o)
		w->len = (size_t)(o - w->buf);
}

void sippres__xml_attr_part(struct sippres_xml *w, const char *v, size_t vn)
{
	char *o = room_escaped(w, vn, 0);

	if (o)
		w->len += sippres__xml_escape(o, v, vn, true);
}

void sippres__xml_attr_close(struct sippres_xml *w)
{
	sippres__xml_lit(w, "\"");
}

void sippres__xml_attr(struct sippres_xml *w, const char *name, size_t n, const char *v, size_t vn)
{
	char *o;

	if (vn == 0) {
		sippres__xml_attr_raw(w, name, n, v, 0);
		return;
	}
	if (vn > (SIZE_MAX / 8) / 6) {
		if (!w->err)
			w->err = SIPPRES_E_TOOBIG;
		return;
	}
	o = attr_head(w, name, n, 6 * vn + 1);
	if (!o)
		return;
	o += sippres__xml_escape(o, v, vn, true);
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void sippres__xml_attr_raw(struct sippres_xml *w, const char *name, size_t n, const char *v, size_t vn)
{
	char *o;

	if (vn == 0 && w->format == SIPPRES__XML_ASTERISK) {
		/* pj_xml_print prints an attribute with an empty value as its bare name */
		if (w->err)
			return;
		if (!w->open) {
			w->err = SIPPRES_E_INVAL;
			return;
		}
		o = sippres__xml_room(w, n + 1);
		if (!o)
			return;
		*o++ = ' ';
		memcpy(o, name, n);
		w->len = (size_t)(o + n - w->buf);
		return;
	}
	o = attr_head(w, name, n, vn + 1);
	if (!o)
		return;
	if (vn)
		memcpy(o, v, vn);
	o += vn;
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void sippres__xml_attr_u32(struct sippres_xml *w, const char *name, size_t n, uint32_t v, bool mark)
{
	char *o = attr_head(w, name, n, 10 + 1); /* room for the most digits a uint32_t has */
	size_t k;

	if (!o)
		return;
	k = sippres__dec(o, v);
	if (mark) {
		w->version_off = (size_t)(o - w->buf);
		w->version_len = k;
	}
	o += k;
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void sippres__xml_children(struct sippres_xml *w)
{
	struct sippres__xml_level *lv;

	if (w->err)
		return;
	if (w->depth == 0 || w->stack[w->depth - 1].text) {
		w->err = SIPPRES_E_INVAL;
		return;
	}
	lv = &w->stack[w->depth - 1];
	lv->children = 1;
	if (w->open) {
		w->open = false;
		sippres__xml_lit(w, ">");
	}
}

void sippres__xml_esc_text(struct sippres_xml *w, const char *s, size_t n)
{
	char *o = room_escaped(w, n, 0);

	if (o)
		w->len += sippres__xml_escape(o, s, n, false);
}

void sippres__xml_esc_attr(struct sippres_xml *w, const char *s, size_t n)
{
	char *o = room_escaped(w, n, 0);

	if (o)
		w->len += sippres__xml_escape(o, s, n, true);
}

static char *id_copy(char *o, const char *v, size_t vn)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < vn; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '-') {
			*o++ = (char)c;
		} else {
			*o++ = '_';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	return o;
}

void sippres__xml_id(struct sippres_xml *w, const char *v)
{
	size_t vn = strlen(v);
	char *o;

	if (vn > (SIZE_MAX / 8) / 3) {
		if (!w->err)
			w->err = SIPPRES_E_TOOBIG;
		return;
	}
	o = sippres__xml_room(w, 3 * vn);
	if (o)
		w->len = (size_t)(id_copy(o, v, vn) - w->buf);
}

void sippres__xml_attr_id(struct sippres_xml *w, const char *name, size_t n, const char *prefix, const char *v)
{
	size_t vn = strlen(v), pn = strlen(prefix);
	char *o;

	if (vn > (SIZE_MAX / 8) / 3) {
		if (!w->err)
			w->err = SIPPRES_E_TOOBIG;
		return;
	}
	o = attr_head(w, name, n, pn + 3 * vn + 1);
	if (!o)
		return;
	memcpy(o, prefix, pn);
	o = id_copy(o + pn, v, vn);
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}
