/* SPDX-License-Identifier: MIT */
/* Asterisk extension patterns: _ prefix, X Z N, [classes], '.', '!', '-' ignored. */
#include <stdio.h>
#include <string.h>

#include "state-private.h"

/* One pattern position: a set of bytes, or a wildcard tail. */
struct pos {
	unsigned char set[32]; /* bitmap of matching bytes */
	int kind;              /* 0 set, 1 '.', 2 '!', 3 end */
	int count;             /* bytes in set */
	int lowest;
};

static void set_add(struct pos *p, unsigned char c)
{
	if (!(p->set[c >> 3] & (1u << (c & 7)))) {
		p->set[c >> 3] |= (unsigned char)(1u << (c & 7));
		p->count++;
		if (p->lowest < 0 || c < p->lowest)
			p->lowest = c;
	}
}

static void set_range(struct pos *p, unsigned char a, unsigned char b)
{
	for (unsigned c = a; c <= b; c++)
		set_add(p, (unsigned char)c);
}

/* Read the position at *s (after the '_'), advancing *s. Returns false on a syntax error. */
static bool next_pos(const char **s, struct pos *p)
{
	const char *q = *s;

	memset(p, 0, sizeof(*p));
	p->lowest = -1;
	while (*q == '-')
		q++;
	switch (*q) {
	case '\0':
		p->kind = 3;
		break;
	case '.':
		p->kind = 1;
		q++;
		break;
	case '!':
		p->kind = 2;
		q++;
		break;
	case 'X': case 'x':
		set_range(p, '0', '9');
		q++;
		break;
	case 'Z': case 'z':
		set_range(p, '1', '9');
		q++;
		break;
	case 'N': case 'n':
		set_range(p, '2', '9');
		q++;
		break;
	case '[':
		q++;
		while (*q && *q != ']') {
			unsigned char a = (unsigned char)*q;

			if (q[1] == '-' && q[2] && q[2] != ']') {
				unsigned char b = (unsigned char)q[2];

				if (b < a)
					return false;
				set_range(p, a, b);
				q += 3;
			} else {
				set_add(p, a);
				q++;
			}
		}
		if (*q != ']' || p->count == 0)
			return false;
		q++;
		break;
	default:
		set_add(p, (unsigned char)*q);
		q++;
		break;
	}
	*s = q;
	return true;
}

bool sippres__pattern_valid(const char *pattern, size_t *bad_offset)
{
	const char *s = pattern + 1;
	struct pos p;

	if (pattern[0] != '_' || !pattern[1]) {
		*bad_offset = 0;
		return false;
	}
	for (;;) {
		const char *at = s;

		if (!next_pos(&s, &p)) {
			*bad_offset = (size_t)(at - pattern);
			return false;
		}
		if (p.kind != 0)
			return true;
	}
}

static bool match_at(const char *s, const char *e)
{
	struct pos p;

	for (;;) {
		if (!next_pos(&s, &p))
			return false;
		switch (p.kind) {
		case 3: return *e == '\0';
		case 1: return *e != '\0';
		case 2: return true;
		default:
			if (*e == '\0' || !(p.set[(unsigned char)*e >> 3] & (1u << ((unsigned char)*e & 7))))
				return false;
			e++;
		}
	}
}

bool sippres__pattern_match(const char *pattern, const char *exten)
{
	if (pattern[0] != '_')
		return strcmp(pattern, exten) == 0;
	return match_at(pattern + 1, exten);
}

/* Weight of a position: fewer matching bytes first, then the lowest byte;
 * the end of a pattern sorts before anything, '.' and '!' after every set. */
static long weight(const struct pos *p)
{
	switch (p->kind) {
	case 3: return 0;
	case 1: return 0x30000L;
	case 2: return 0x40000L;
	default: return ((long)p->count << 8) | p->lowest;
	}
}

int sippres__pattern_cmp(const char *a, const char *b)
{
	struct pos pa, pb;

	/* A literal extension is more specific than any pattern. */
	if (a[0] != '_' || b[0] != '_')
		return (a[0] == '_') - (b[0] == '_');
	a++;
	b++;
	for (;;) {
		bool oka = next_pos(&a, &pa), okb = next_pos(&b, &pb);
		long wa, wb;

		if (!oka || !okb)
			return okb - oka;
		wa = weight(&pa);
		wb = weight(&pb);
		if (wa != wb)
			return wa < wb ? -1 : 1;
		if (pa.kind != 0)
			return 0;
		if (pa.count > 1) {
			int c = memcmp(pa.set, pb.set, sizeof(pa.set));
			if (c)
				return c < 0 ? -1 : 1;
		}
	}
}

static int parse_int(const char **s, long *out)
{
	const char *q = *s;
	long v = 0;
	bool neg = false;

	if (*q == '-') {
		neg = true;
		q++;
	}
	if (*q < '0' || *q > '9')
		return -1;
	while (*q >= '0' && *q <= '9') {
		v = v * 10 + (*q - '0');
		if (v > 100000)
			return -1;
		q++;
	}
	*out = neg ? -v : v;
	*s = q;
	return 0;
}

/* Parse "${EXTEN}" or "${EXTEN:off[:len]}" at s; on success set the substring of exten and the end. */
static bool exten_ref(const char *s, const char *exten, size_t elen, size_t *sub_off, size_t *sub_len,
                      const char **end)
{
	const char *q;
	long off = 0, len = 0;
	bool has_len = false;

	if (strncmp(s, "${EXTEN", 7) != 0)
		return false;
	q = s + 7;
	if (*q == ':') {
		q++;
		if (parse_int(&q, &off) < 0)
			return false;
		if (*q == ':') {
			q++;
			if (parse_int(&q, &len) < 0)
				return false;
			has_len = true;
		}
	}
	if (*q != '}')
		return false;
	*end = q + 1;
	/* Asterisk substring semantics: negative offset counts from the end;
	 * a negative length leaves that many characters off the end. */
	if (off < 0)
		off = (long)elen + off < 0 ? 0 : (long)elen + off;
	if ((size_t)off > elen)
		off = (long)elen;
	if (has_len && len < 0) {
		long l = (long)elen - off + len;
		len = l < 0 ? 0 : l;
	} else if (!has_len || (size_t)(off + len) > elen) {
		len = (long)elen - off;
	}
	*sub_off = (size_t)off;
	*sub_len = (size_t)len;
	return true;
}

char *sippres__pattern_substitute(struct sippres_ctx *ctx, const char *value, const char *exten, int *err)
{
	size_t elen = strlen(exten), need = 0, so, sl;
	const char *s, *end;
	char *out, *w;

	for (s = value; *s;) {
		if (*s == '$' && exten_ref(s, exten, elen, &so, &sl, &end)) {
			need += sl;
			s = end;
		} else {
			need++;
			s++;
		}
	}
	if (need > SIPPRES_MAX_TEXT) {
		*err = SIPPRES_E_TOOBIG;
		return NULL;
	}
	out = sippres__malloc(ctx, need + 1);
	if (!out) {
		*err = SIPPRES_E_NOMEM;
		return NULL;
	}
	for (s = value, w = out; *s;) {
		if (*s == '$' && exten_ref(s, exten, elen, &so, &sl, &end)) {
			memcpy(w, exten + so, sl);
			w += sl;
			s = end;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
	return out;
}
