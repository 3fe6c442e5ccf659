/* SPDX-License-Identifier: MIT */
/* Record layout (all integers little-endian):
 *   "SPRC" | u8 format version (1) | u8 string count | u16 flags (bit 0: list subscription)
 *   u64 absolute expiry (ms, host clock) | u32 next CSeq | u32 next dialog-info version
 *   (for a list subscription: the next RLMI version of the list)
 *   string count x (u16 length | bytes)
 *   u32 CRC-32 (IEEE) of everything before it
 * Strings must be valid UTF-8 without NUL; names must be non-empty. */
#include <string.h>

#include "core/core-private.h"
#include "record.h"

#define FORMAT 1
#define HEADER 24

size_t sippres__record_encode(uint8_t *buf, size_t cap, uint16_t flags, uint64_t expires_at, uint32_t cseq,
                              uint32_t version, const char *const strs[SR_COUNT])
{
	size_t off = HEADER;

	if (cap < HEADER + 4)
		return 0;
	memcpy(buf, "SPRC", 4);
	buf[4] = FORMAT;
	buf[5] = SR_COUNT;
	sippres__put16(buf + 6, flags);
	sippres__put64(buf + 8, expires_at);
	sippres__put32(buf + 16, cseq);
	sippres__put32(buf + 20, version);
	for (int i = 0; i < SR_COUNT; i++) {
		size_t n = strs[i] ? strlen(strs[i]) : 0;

		if (n > UINT16_MAX || off + 2 + n + 4 > cap)
			return 0;
		sippres__put16(buf + off, (uint16_t)n);
		memcpy(buf + off + 2, strs[i] ? strs[i] : "", n);
		off += 2 + n;
	}
	sippres__put32(buf + off, sippres__crc32(buf, off));
	return off + 4;
}

int sippres__record_read(const void *data, size_t len, struct sippres__record *out)
{
	const uint8_t *p = data;
	size_t off = HEADER, w = 0;

	if (len < HEADER + 4 || len > SIPPRES__RECORD_MAX || memcmp(p, "SPRC", 4) != 0 || p[4] != FORMAT ||
	    p[5] != SR_COUNT || (sippres__get16(p + 6) & ~SIPPRES__RECORD_LIST) != 0)
		return SIPPRES_E_PARSE;
	if (sippres__crc32(p, len - 4) != sippres__get32(p + len - 4))
		return SIPPRES_E_PARSE;
	out->flags = sippres__get16(p + 6);
	out->expires_at = sippres__get64(p + 8);
	out->cseq = sippres__get32(p + 16);
	out->version = sippres__get32(p + 20);
	for (int i = 0; i < SR_COUNT; i++) {
		size_t n;

		if (off + 2 > len - 4)
			return SIPPRES_E_PARSE;
		n = sippres__get16(p + off);
		off += 2;
		if (n > len - 4 - off || w + n + 1 > sizeof(out->buf) || memchr(p + off, 0, n) ||
		    !sippres__text_ok((const char *)p + off, n, NULL))
			return SIPPRES_E_PARSE;
		memcpy(out->buf + w, p + off, n);
		out->buf[w + n] = '\0';
		out->s[i] = out->buf + w;
		w += n + 1;
		off += n;
	}
	if (off != len - 4)
		return SIPPRES_E_PARSE;
	for (int i = SR_ENDPOINT; i <= SR_LOCAL_URI; i++) {
		if (!out->s[i][0])
			return SIPPRES_E_PARSE;
	}
	if (out->cseq == 0)
		return SIPPRES_E_PARSE;
	return 0;
}
