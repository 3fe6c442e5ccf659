/* SPDX-License-Identifier: MIT */
/* What the library's fuzz targets share: a random callback that starts over
 * for every input (the same input takes the same path: hash seeds, tags and
 * entity tags come from it), and the input cut into fields. */
#ifndef SIPPRES_FUZZ_H
#define SIPPRES_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libsippresence/libsippresence.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_rng_state;

/* Call at the start of every input. */
static inline void fuzz_rng_reset(void)
{
	fuzz_rng_state = UINT64_C(0x9e3779b97f4a7c15);
}

static inline int fuzz_random(void *user_data, uint8_t *buf, size_t len)
{
	(void)user_data;
	for (size_t i = 0; i < len; i++) {
		fuzz_rng_state ^= fuzz_rng_state << 13;
		fuzz_rng_state ^= fuzz_rng_state >> 7;
		fuzz_rng_state ^= fuzz_rng_state << 17;
		buf[i] = (uint8_t)(fuzz_rng_state >> 24);
	}
	return 0;
}

/* A context with cb (NULL: none) whose random callback is fuzz_random, the
 * generator reset. NULL when it cannot be made. */
static inline struct sippres_ctx *fuzz_ctx(const struct sippres_callbacks *cb, void *user_data)
{
	struct sippres_callbacks c = {.size = sizeof(c)};
	struct sippres_ctx *ctx;

	if (cb)
		c = *cb;
	c.random = fuzz_random;
	fuzz_rng_reset();
	return sippres_ctx_new(NULL, &c, user_data, &ctx) == 0 ? ctx : NULL;
}

/* Read the next field of *p (n bytes left): a length in `width` bytes
 * (little-endian), then that many bytes (fewer at the end). */
static inline const char *fuzz_field(const uint8_t **p, size_t *n, int width, size_t *len)
{
	size_t l = 0;
	const char *f;

	for (int i = 0; i < width && *n; i++, (*p)++, (*n)--)
		l |= (size_t)**p << (8 * i);
	if (l > *n)
		l = *n;
	f = (const char *)*p;
	*p += l;
	*n -= l;
	*len = l;
	return f;
}

/* Copy data[0..size) into a new NUL-terminated string cut at its NULs into
 * at most max fields; returns the copy (free it) and the count in *n, or NULL. */
static inline char *fuzz_split(const uint8_t *data, size_t size, const char **f, size_t max, size_t *n)
{
	char *text = malloc(size + 1);

	*n = 0;
	if (!text)
		return NULL;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *p = text; *n < max && p < text + size; p += strlen(p) + 1)
		f[(*n)++] = p;
	return text;
}

#endif
