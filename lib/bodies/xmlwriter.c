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

/* The bytes of a clean run (nothing to escape, check or replace) are found
 * 16 at a time with SSE2 where the compiler has it (every x86-64), else 8 at
 * a time in a 64-bit word. A byte needs attention when it is below 0x20 or
 * at least 0x80 (one signed compare: both are below 0x20 as signed bytes), or
 * one of & < > " '. */
#if defined(__SSE2__)
#include <emmintrin.h>

static inline unsigned attention16(__m128i v)
{
	/* < and > are the two bytes that give 0x3e with bit 1 set; & and ' the
	 * two that give 0x27 with bit 0 set */
	__m128i bad = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));

	bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x02)), _mm_set1_epi8(0x3e)));
	bad = _mm_or_si128(bad, _mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x01)), _mm_set1_epi8(0x27)));
	bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
	return (unsigned)_mm_movemask_epi8(bad);
}

static inline bool attention1(unsigned char c)
{
	return c < 0x20 || c >= 0x80 || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'';
}

/* Copy the clean run at p (at most n bytes) to o; returns its length. The
 * output has room for 6 * n bytes, so whole blocks are stored even past the
 * run's end: what follows the run is written over by the caller. Short tails
 * are read as two overlapping 8- or 4-byte words, never past p + n. */
static inline size_t copy_clean(char *o, const unsigned char *p, size_t n)
{
	size_t i = 0, r;
	unsigned m;

	if (n >= 16) {
		__m128i v;

		for (; n - i > 16; i += 16) {
			v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			m = attention16(v);
			_mm_storeu_si128((__m128i *)(void *)(o + i), v);
			if (m)
				return i + (size_t)__builtin_ctz(m);
		}
		/* the last 16 bytes, overlapping what is known clean */
		i = n - 16;
		v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		m = attention16(v);
		_mm_storeu_si128((__m128i *)(void *)(o + i), v);
		return m ? i + (size_t)__builtin_ctz(m) : n;
	}
	r = n - i;
	if (r >= 8) {
		uint64_t a, b;

		memcpy(&a, p + i, 8);
		memcpy(&b, p + n - 8, 8);
		memcpy(o + i, &a, 8);
		memcpy(o + n - 8, &b, 8);
		m = attention16(_mm_set_epi64x((long long)b, (long long)a));
		if (m & 0xff)
			return i + (size_t)__builtin_ctz(m);
		if (m)
			return n - 8 + (size_t)__builtin_ctz(m >> 8);
		return n;
	}
	if (r >= 4) {
		uint32_t a, b;

		memcpy(&a, p + i, 4);
		memcpy(&b, p + n - 4, 4);
		memcpy(o + i, &a, 4);
		memcpy(o + n - 4, &b, 4);
		m = attention16(_mm_cvtsi32_si128((int)a)) & 0xf;
		if (m)
			return i + (size_t)__builtin_ctz(m);
		m = attention16(_mm_cvtsi32_si128((int)b)) & 0xf;
		if (m)
			return n - 4 + (size_t)__builtin_ctz(m);
		return n;
	}
	while (i < n && !attention1(p[i])) {
		o[i] = (char)p[i];
		i++;
	}
	return i;
}
#else
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

#define ONES(c) (UINT64_C(0x0101010101010101) * (uint8_t)(c))
#define HASZERO(v) (((v) - ONES(1)) & ~(v) & ONES(0x80))
#define HASLESS(v, n) (((v) - ONES(n)) & ~(v) & ONES(0x80))

static inline size_t copy_clean(char *o, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (n - i >= 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		if ((v & ONES(0x80)) | HASLESS(v, 0x20) | HASZERO(v ^ ONES('&')) | HASZERO(v ^ ONES('<')) |
		    HASZERO(v ^ ONES('>')) | HASZERO(v ^ ONES('"')) | HASZERO(v ^ ONES('\'')))
			break;
		memcpy(o + i, &v, 8);
		i += 8;
	}
	while (i < n && !esc_class[p[i]]) {
		o[i] = (char)p[i];
		i++;
	}
	return i;
}
#endif

#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* The rest of the value from the first byte that needs attention (at k). */
static NOINLINE size_t escape_rest(char *out, size_t k, const unsigned char *s, size_t n, bool attr)
{
	const unsigned char *p = s + k, *end = s + n;
	char *o = out + k;

	while (p < end) {
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
				size_t u = utf8_ok(p, (size_t)(end - p));
				if (u) {
					memcpy(o, p, u);
					o += u;
					p += u;
					goto clean;
				}
			}
			PUT(o, "\xef\xbf\xbd"); /* U+FFFD */
			break;
		}
		p++;
clean:
		k = copy_clean(o, p, (size_t)(end - p));
		o += k;
		p += k;
	}
	return (size_t)(o - out);
}

/* Most values need nothing escaped: one scan-and-copy, and the slow path
 * only from the first byte that needs attention. */
size_t sippres__xml_escape(char *out, const char *s, size_t n, bool attr)
{
	size_t k = copy_clean(out, (const unsigned char *)s, n);

	return k == n ? n : escape_rest(out, k, (const unsigned char *)s, n, attr);
}

char *sippres__put_esc_clean(char *o, const char *s, size_t n, bool attr, bool *clean)
{
	size_t k = copy_clean(o, (const unsigned char *)s, n);

	*clean = k == n;
	return o + (k == n ? n : escape_rest(o, k, (const unsigned char *)s, n, attr));
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

char *sippres__xml_root_span(struct sippres_xml *w, const char *name, size_t n, size_t max)
{
	struct sippres__xml_level *lv;
	char *o;

	if (w->err)
		return NULL;
	if (w->depth || w->root_done || n > UINT32_MAX / 2 || w->len > UINT32_MAX / 2) {
		w->err = w->depth || w->root_done ? SIPPRES_E_INVAL : SIPPRES_E_TOOBIG;
		return NULL;
	}
	if (max > SIZE_MAX / 4 - n) {
		w->err = SIPPRES_E_TOOBIG;
		return NULL;
	}
	o = sippres__xml_room(w, n + 1 + max);
	if (!o)
		return NULL;
	*o++ = '<';
	lv = &w->stack[w->depth++];
	lv->name_off = (uint32_t)(o - w->buf);
	lv->name_len = (uint32_t)n;
	lv->children = 0;
	lv->text = 0;
	memcpy(o, name, n);
	w->open = true;
	return o + n;
}

char *sippres__put_version(struct sippres_xml *w, char *o, uint32_t v)
{
	size_t k = sippres__dec(o, v);

	w->version_off = (size_t)(o - w->buf);
	w->version_len = k;
	return o + k;
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

void sippres__xml_attr_fail(struct sippres_xml *w)
{
	if (!w->err)
		w->err = SIPPRES_E_INVAL; /* an attribute outside an open start tag */
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

/* 1 for the bytes an xs:ID keeps as they are: [A-Za-z0-9.-] */
static const uint8_t id_keep[256] = {
	['-'] = 1, ['.'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
	['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
	['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

char *sippres__put_id(char *o, const char *v, size_t vn)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)v;

	for (size_t i = 0; i < vn; i++) {
		unsigned char c = p[i];
		if (id_keep[c]) {
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
		w->len = (size_t)(sippres__put_id(o, v, vn) - w->buf);
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
	o = sippres__put_id(o + pn, v, vn);
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
}
