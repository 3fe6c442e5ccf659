/* SPDX-License-Identifier: MIT */
/* String helpers: ASCII case folding, UTF-8 checks, name validation, hashing,
 * checksums. */
#include <string.h>

#include "core-private.h"

bool sippres__memeq_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (sippres__ascii_lower((unsigned char)a[i]) != sippres__ascii_lower((unsigned char)b[i]))
			return false;
	}
	return true;
}

bool sippres__streq_nocase(const char *a, const char *b)
{
	size_t la = strlen(a);

	return la == strlen(b) && sippres__memeq_nocase(a, b, la);
}

size_t sippres__utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

bool sippres__text_ok(const char *s, size_t n, size_t *bad_offset)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		size_t k;

		if (u[i] < 0x20 || u[i] == 0x7f) {
			if (bad_offset)
				*bad_offset = i;
			return false;
		}
		k = sippres__utf8_seq_len(u + i, n - i);
		if (k == 0) {
			if (bad_offset)
				*bad_offset = i;
			return false;
		}
		i += k;
	}
	return true;
}

bool sippres__name_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;

	if (!s)
		return false;
	/* printable ASCII other than the space, the common case, byte by byte;
	 * the first other byte sends the whole name to the full check */
	for (n = 0; n <= SIPPRES_MAX_NAME && u[n] > 0x20 && u[n] < 0x7f; n++)
		;
	if (u[n] == '\0' && n > 0 && n <= SIPPRES_MAX_NAME)
		return true;
	n = strnlen(s, SIPPRES_MAX_NAME + 1);
	if (n == 0 || n > SIPPRES_MAX_NAME)
		return false;
	if (!sippres__text_ok(s, n, NULL))
		return false;
	return strchr(s, ' ') == NULL;
}

uint32_t sippres__hash_final(uint64_t h)
{
	/* final avalanche so the low bits depend on every byte */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (uint32_t)h;
}

uint32_t sippres__hash_mem(uint32_t seed, const char *s, size_t n, bool nocase)
{
	return sippres__hash_final(sippres__hash_step(sippres__hash_init(seed), s, n, nocase));
}

uint32_t sippres__hash(uint32_t seed, const char *s, bool nocase)
{
	return sippres__hash_mem(seed, s, strlen(s), nocase);
}

uint32_t sippres__hash2(uint32_t seed, const char *a, const char *b)
{
	return sippres__hash_final(
		sippres__hash_step(sippres__hash_step(sippres__hash_init(seed), a, strlen(a), false), b, strlen(b), false));
}

uint32_t sippres__crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
	}
	return ~c;
}

bool sippres__list_next(const char **p, const char **name, size_t *len)
{
	const char *s = *p, *e;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return false;
		e = s;
		while (*e && *e != ',')
			e++;
		*p = *e ? e + 1 : e;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > s) {
			*name = s;
			*len = (size_t)(e - s);
			return true;
		}
		s = *p;
	}
}
