/* SPDX-License-Identifier: MIT */
/* The context's services to every layer: allocation, logging, diagnostics,
 * randomness, struct size checks and error strings. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(SIPPRES_HAVE_GETRANDOM)
#include <sys/random.h>
#endif

#include <libxml/parser.h>

#include "core-private.h"

int sippres__check_struct(const void *p, size_t min_size, size_t known_size)
{
	size_t size;
	const unsigned char *b = p;

	if (!p)
		return SIPPRES_E_INVAL;
	memcpy(&size, p, sizeof(size));
	if (sippres__check_size(size, min_size) < 0)
		return SIPPRES_E_ABI;
	/* A newer host may pass a bigger struct: accept it only when every
	 * member we do not know is zero (unused). */
	for (size_t i = known_size; i < size; i++) {
		if (b[i] != 0)
			return SIPPRES_E_ABI;
	}
	return 0;
}

void sippres__copy_out(void *out, const void *in, size_t in_size)
{
	size_t size;

	memcpy(&size, out, sizeof(size));
	if (size > in_size) {
		memset(out, 0, size);
		size = in_size;
	}
	memcpy(out, in, size);
	memcpy(out, &size, sizeof(size));
}

/* The kernel's random bytes: getrandom() reads no file and opens nothing (it
 * blocks only until the kernel's pool is first initialised, early at boot). */
static int os_random(uint8_t *buf, size_t len)
{
#if defined(SIPPRES_HAVE_GETRANDOM)
	while (len) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return SIPPRES_E_RANDOM;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
#else
	(void)buf;
	(void)len;
	return SIPPRES_E_RANDOM; /* no source: sippres_ctx_new() needs the host's callback */
#endif
}

SIPPRES_EXPORT int sippres_ctx_random(struct sippres_ctx *ctx, uint8_t *buf, size_t len)
{
	if (!ctx || (!buf && len))
		return SIPPRES_E_INVAL;
	if (len == 0)
		return 0;
	if (ctx->cb.random) {
		if (ctx->cb.random(ctx->user_data, buf, len) < 0)
			return SIPPRES_E_RANDOM;
		return 0;
	}
	while (len) {
		uint8_t *p;
		size_t n;

		if (ctx->rnd_avail == 0) {
			if (os_random(ctx->rnd_pool, sizeof(ctx->rnd_pool)) < 0)
				return SIPPRES_E_RANDOM;
			ctx->rnd_avail = sizeof(ctx->rnd_pool);
		}
		p = ctx->rnd_pool + sizeof(ctx->rnd_pool) - ctx->rnd_avail;
		n = len < ctx->rnd_avail ? len : ctx->rnd_avail;
		memcpy(buf, p, n);
		memset(p, 0, n); /* handed out: not kept */
		ctx->rnd_avail = (uint16_t)(ctx->rnd_avail - n);
		buf += n;
		len -= n;
	}
	return 0;
}

bool sippres__random_peek(const struct sippres_ctx *ctx, uint8_t *buf, size_t len)
{
	if (ctx->cb.random || ctx->rnd_avail < len)
		return false;
	memcpy(buf, ctx->rnd_pool + sizeof(ctx->rnd_pool) - ctx->rnd_avail, len);
	return true;
}

const char sippres__alpha_alnum[] = SIPPRES__ALPHA_ALNUM;
const char sippres__alpha_lower[] = SIPPRES__ALPHA_LOWER;
#define alnum_alphabet sippres__alpha_alnum
#define lower_alphabet sippres__alpha_lower
/* alphabet[b % 62] and alphabet[b % 26] for b = 0..255 */
static const char alnum_by_byte[256] = SIPPRES__ALPHA_ALNUM SIPPRES__ALPHA_ALNUM SIPPRES__ALPHA_ALNUM
	SIPPRES__ALPHA_ALNUM "abcdefgh";
static const char lower_by_byte[256] = SIPPRES__ALPHA_LOWER SIPPRES__ALPHA_LOWER SIPPRES__ALPHA_LOWER
	SIPPRES__ALPHA_LOWER SIPPRES__ALPHA_LOWER SIPPRES__ALPHA_LOWER SIPPRES__ALPHA_LOWER SIPPRES__ALPHA_LOWER
	SIPPRES__ALPHA_LOWER "abcdefghijklmnopqrstuv";

int sippres__random_string(struct sippres_ctx *ctx, char *out, size_t n, const char *alphabet)
{
	size_t alen = strlen(alphabet);
	uint8_t rnd[64];
	int r;

	if (n > sizeof(rnd) || alen == 0 || alen > 256)
		return SIPPRES_E_INVAL;
	r = sippres_ctx_random(ctx, rnd, n);
	if (r < 0)
		return r;
	/* the two usual alphabets through a table of alphabet[b % alen] for
	 * every byte b: one load per character */
	if (alphabet == alnum_alphabet || alphabet == lower_alphabet) {
		const char *t = alphabet == alnum_alphabet ? alnum_by_byte : lower_by_byte;
		for (size_t i = 0; i < n; i++)
			out[i] = t[rnd[i]];
	} else {
		for (size_t i = 0; i < n; i++)
			out[i] = alphabet[rnd[i] % alen];
	}
	out[n] = '\0';
	return 0;
}

void sippres__rnd_init(struct sippres__rnd_reader *r, struct sippres_ctx *ctx, size_t total)
{
	r->ctx = ctx;
	r->left = total;
	r->off = r->len = 0;
}

int sippres__rnd_token(struct sippres__rnd_reader *r, char *out, size_t n, const char *alphabet)
{
	const char *t = alphabet == alnum_alphabet ? alnum_by_byte : lower_by_byte;

	if (alphabet != alnum_alphabet && alphabet != lower_alphabet)
		return SIPPRES_E_INVAL;
	if ((size_t)(r->len - r->off) >= n) {
		/* the common case: the whole token in what was drawn */
		uint8_t *b = r->b + r->off;

		for (size_t i = 0; i < n; i++)
			out[i] = t[b[i]];
		memset(b, 0, n); /* handed out: not kept */
		r->off = (uint16_t)(r->off + n);
		out[n] = '\0';
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (r->off == r->len) {
			size_t k = r->left < sizeof(r->b) ? r->left : sizeof(r->b);
			int e;

			if (k == 0)
				return SIPPRES_E_INVAL; /* more than announced */
			e = sippres_ctx_random(r->ctx, r->b, k);
			if (e < 0)
				return e;
			r->left -= k;
			r->off = 0;
			r->len = (uint16_t)k;
		}
		out[i] = t[r->b[r->off]];
		r->b[r->off++] = 0; /* handed out: not kept */
	}
	out[n] = '\0';
	return 0;
}

void sippres__rnd_done(struct sippres__rnd_reader *r)
{
	memset(r->b, 0, r->len); /* what was drawn and not handed out */
	r->off = r->len = 0;
}

void *sippres__malloc(struct sippres_ctx *ctx, size_t n)
{
	if (n == 0)
		return NULL;
	return ctx->alloc.malloc(ctx->alloc.user_data, n);
}

void *sippres__calloc(struct sippres_ctx *ctx, size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0 || nmemb > SIZE_MAX / size)
		return NULL;
	p = sippres__malloc(ctx, nmemb * size);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

void *sippres__realloc(struct sippres_ctx *ctx, void *p, size_t n)
{
	if (n == 0)
		return NULL;
	if (!p)
		return sippres__malloc(ctx, n);
	return ctx->alloc.realloc(ctx->alloc.user_data, p, n);
}

void *sippres__reallocarray(struct sippres_ctx *ctx, void *p, size_t nmemb, size_t size)
{
	if (nmemb == 0 || size == 0 || nmemb > SIZE_MAX / size)
		return NULL;
	return sippres__realloc(ctx, p, nmemb * size);
}

void sippres__free(struct sippres_ctx *ctx, void *p)
{
	if (p)
		ctx->alloc.free(ctx->alloc.user_data, p);
}

char *sippres__strndup(struct sippres_ctx *ctx, const char *s, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		return NULL;
	d = sippres__malloc(ctx, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *sippres__strdup(struct sippres_ctx *ctx, const char *s)
{
	return sippres__strndup(ctx, s, strlen(s));
}

void sippres__log(struct sippres_ctx *ctx, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!ctx->cb.log || level > (int)ctx->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ctx->cb.log(ctx->user_data, level, buf);
}

#define DIAG_V1_SIZE (offsetof(struct sippres_diag, message) + sizeof(((struct sippres_diag *)0)->message))

void sippres__diag_clear(struct sippres_diag *diag)
{
	if (!diag || diag->size < DIAG_V1_SIZE)
		return;
	diag->line = 0;
	diag->column = 0;
	diag->message[0] = '\0';
}

void sippres__diag(struct sippres_diag *diag, uint32_t line, uint32_t column, const char *fmt, ...)
{
	va_list ap;

	if (!diag || diag->size < DIAG_V1_SIZE)
		return;
	diag->line = line;
	diag->column = column;
	va_start(ap, fmt);
	vsnprintf(diag->message, sizeof(diag->message), fmt, ap);
	va_end(ap);
}

SIPPRES_EXPORT const char *sippres_strerror(int err)
{
	switch (err) {
	case SIPPRES_OK: return "success";
	case SIPPRES_E_INVAL: return "invalid argument";
	case SIPPRES_E_NOMEM: return "out of memory";
	case SIPPRES_E_ABI: return "unsupported structure size or unknown non-zero members";
	case SIPPRES_E_NOTFOUND: return "not found";
	case SIPPRES_E_EXISTS: return "already exists";
	case SIPPRES_E_CALLBACK: return "a callback failed";
	case SIPPRES_E_PARSE: return "parse error";
	case SIPPRES_E_TOOBIG: return "too big";
	case SIPPRES_E_REENTRANT: return "not allowed from inside a callback";
	case SIPPRES_E_RANDOM: return "random source failed";
	default: return "unknown error";
	}
}

SIPPRES_EXPORT void sippres_global_init(void)
{
	xmlInitParser();
}

SIPPRES_EXPORT const char *sippres_version_string(void)
{
	return SIPPRES_VERSION_STRING;
}
