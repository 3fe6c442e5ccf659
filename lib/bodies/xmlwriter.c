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

#define PUT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)

size_t sp_xml_escape(char *out, const char *s, size_t n, bool attr)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	char *o = out;

	while (p < end) {
		const unsigned char *run = p;

		while (p < end && !esc_class[*p])
			p++;
		if (p != run) {
			memcpy(o, run, (size_t)(p - run));
			o += p - run;
		}
		if (p >= end)
			break;
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

void sp_xml_reset(struct sippres_xml *w, uint32_t format)
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

void sp_xml_release(struct sippres_xml *w)
{
	sp_free(w->ctx, w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

bool sp_xml_reserve(struct sippres_xml *w, size_t n)
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
	cap = w->cap ? w->cap : 1024;
	while (cap < want)
		cap *= 2;
	b = sp_realloc(w->ctx, w->buf, cap);
	if (!b) {
		w->err = SIPPRES_E_NOMEM;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

void sp_xml_raw(struct sippres_xml *w, const char *s, size_t n)
{
	if (!sp_xml_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

void sp_xml_prolog(struct sippres_xml *w)
{
	sp_xml_lit(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

static void escaped(struct sippres_xml *w, const char *s, size_t n, bool attr)
{
	if (n > (SIZE_MAX / 2) / 6) {
		if (!w->err)
			w->err = SIPPRES_E_TOOBIG;
		return;
	}
	if (!sp_xml_reserve(w, n * 6))
		return;
	w->len += sp_xml_escape(w->buf + w->len, s, n, attr);
}

/* Newline and indent for an element or closing tag at depth d. */
static void newline(struct sippres_xml *w, uint32_t d)
{
	size_t n = w->format == SP_XML_ASTERISK ? d : 2u * d;
	char *o;

	if (!sp_xml_reserve(w, n + 1))
		return;
	o = w->buf + w->len;
	*o++ = '\n';
	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		memcpy(o, spaces, k);
		o += k;
		n -= k;
	}
	w->len = (size_t)(o - w->buf);
}

static void close_start_tag(struct sippres_xml *w)
{
	if (w->open) {
		sp_xml_lit(w, ">");
		w->open = false;
	}
}

void sp_xml_start(struct sippres_xml *w, const char *name, size_t n)
{
	struct sp_xml_level *lv;

	if (w->err)
		return;
	if (w->depth >= SP_XML_MAX_DEPTH || n > UINT32_MAX / 2) {
		w->err = SIPPRES_E_TOOBIG;
		return;
	}
	if (w->depth > 0) {
		struct sp_xml_level *parent = &w->stack[w->depth - 1];
		if (parent->text) {
			w->err = SIPPRES_E_INVAL; /* no mixed content */
			return;
		}
		close_start_tag(w);
		parent->children = 1;
		newline(w, w->depth);
	} else if (w->root_done) {
		w->err = SIPPRES_E_INVAL; /* one root */
		return;
	}
	if (!sp_xml_reserve(w, n + 1))
		return;
	if (w->len > UINT32_MAX - n) {
		w->err = SIPPRES_E_TOOBIG;
		return;
	}
	w->buf[w->len++] = '<';
	lv = &w->stack[w->depth++];
	lv->name_off = (uint32_t)w->len;
	lv->name_len = (uint32_t)n;
	lv->children = 0;
	lv->text = 0;
	memcpy(w->buf + w->len, name, n);
	w->len += n;
	w->open = true;
}

void sp_xml_end(struct sippres_xml *w)
{
	struct sp_xml_level *lv;

	if (w->err)
		return;
	if (w->depth == 0) {
		w->err = SIPPRES_E_INVAL;
		return;
	}
	lv = &w->stack[w->depth - 1];
	if (w->open) {
		if (w->format == SP_XML_ASTERISK)
			sp_xml_lit(w, " />");
		else
			sp_xml_lit(w, "/>");
		w->open = false;
	} else {
		if (lv->children)
			newline(w, w->depth - 1);
		if (!sp_xml_reserve(w, (size_t)lv->name_len + 3))
			return;
		w->buf[w->len++] = '<';
		w->buf[w->len++] = '/';
		memcpy(w->buf + w->len, w->buf + lv->name_off, lv->name_len);
		w->len += lv->name_len;
		w->buf[w->len++] = '>';
	}
	if (w->err)
		return;
	w->depth--;
	if (w->depth == 0) {
		w->root_done = true;
		sp_xml_lit(w, "\n");
	}
}

static bool text_begin(struct sippres_xml *w)
{
	struct sp_xml_level *lv;

	if (w->err)
		return false;
	if (w->depth == 0 || w->stack[w->depth - 1].children) {
		w->err = SIPPRES_E_INVAL;
		return false;
	}
	lv = &w->stack[w->depth - 1];
	close_start_tag(w);
	lv->text = 1;
	return true;
}

void sp_xml_text(struct sippres_xml *w, const char *s, size_t n)
{
	/* like pj: an element with empty text is an empty element */
	if (n && text_begin(w))
		escaped(w, s, n, false);
}

void sp_xml_text_raw(struct sippres_xml *w, const char *s, size_t n)
{
	if (n && text_begin(w))
		sp_xml_raw(w, s, n);
}

void sp_xml_elem_text(struct sippres_xml *w, const char *name, size_t n, const char *text, size_t tn)
{
	sp_xml_start(w, name, n);
	sp_xml_text(w, text, tn);
	sp_xml_end(w);
}

void sp_xml_attr_open(struct sippres_xml *w, const char *name, size_t n)
{
	char *o;

	if (w->err)
		return;
	if (!w->open) {
		w->err = SIPPRES_E_INVAL;
		return;
	}
	if (!sp_xml_reserve(w, n + 3))
		return;
	o = w->buf + w->len;
	*o++ = ' ';
	memcpy(o, name, n);
	o += n;
	*o++ = '=';
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void sp_xml_attr_part(struct sippres_xml *w, const char *v, size_t vn)
{
	escaped(w, v, vn, true);
}

void sp_xml_attr_close(struct sippres_xml *w)
{
	sp_xml_lit(w, "\"");
}

void sp_xml_attr(struct sippres_xml *w, const char *name, size_t n, const char *v, size_t vn)
{
	if (vn == 0) {
		sp_xml_attr_raw(w, name, n, v, 0);
		return;
	}
	sp_xml_attr_open(w, name, n);
	escaped(w, v, vn, true);
	sp_xml_attr_close(w);
}

void sp_xml_attr_raw(struct sippres_xml *w, const char *name, size_t n, const char *v, size_t vn)
{
	char *o;

	if (w->err)
		return;
	if (!w->open) {
		w->err = SIPPRES_E_INVAL;
		return;
	}
	if (vn == 0 && w->format == SP_XML_ASTERISK) {
		/* pj_xml_print prints an attribute with an empty value as its bare name */
		if (!sp_xml_reserve(w, n + 1))
			return;
		w->buf[w->len++] = ' ';
		memcpy(w->buf + w->len, name, n);
		w->len += n;
		return;
	}
	if (!sp_xml_reserve(w, n + vn + 4))
		return;
	o = w->buf + w->len;
	*o++ = ' ';
	memcpy(o, name, n);
	o += n;
	*o++ = '=';
	*o++ = '"';
	if (vn)
		memcpy(o, v, vn);
	o += vn;
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}

void sp_xml_attr_u32(struct sippres_xml *w, const char *name, size_t n, uint32_t v, bool mark)
{
	char digits[10];
	size_t k = 0;

	do {
		digits[sizeof(digits) - 1 - k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sp_xml_attr_open(w, name, n);
	if (mark && !w->err) {
		w->version_off = w->len;
		w->version_len = k;
	}
	sp_xml_raw(w, digits + sizeof(digits) - k, k);
	sp_xml_attr_close(w);
}

void sp_xml_attr_id(struct sippres_xml *w, const char *name, size_t n, const char *prefix, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t vn = strlen(v);
	char *o;

	sp_xml_attr_open(w, name, n);
	sp_xml_raw(w, prefix, strlen(prefix));
	if (vn > (SIZE_MAX / 2) / 3) {
		if (!w->err)
			w->err = SIPPRES_E_TOOBIG;
		return;
	}
	if (!sp_xml_reserve(w, 3 * vn))
		return;
	o = w->buf + w->len;
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
	w->len = (size_t)(o - w->buf);
	sp_xml_attr_close(w);
}
