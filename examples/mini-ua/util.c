/* SPDX-License-Identifier: MIT */
/* Logging, clocks, randomness, files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ua.h"

int ua_verbosity;

void ua_log(int level, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug", "trace"};
	char buf[4096];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level > LOG_INFO + ua_verbosity)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%02d:%02d:%02d.%03ld sippres-mini-ua %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
	        ts.tv_nsec / 1000000, names[level < 0 ? 0 : level > 4 ? 4 : level], buf);
}

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t ua_now_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

uint64_t ua_now_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

/* A buffered getrandom(): tags and branches need many small pieces. */
int ua_random(void *buf, size_t len)
{
	static unsigned char pool[4096];
	static size_t avail;
	unsigned char *out = buf;

	while (len > 0) {
		size_t n;

		if (avail == 0) {
			ssize_t r = getrandom(pool, sizeof(pool), 0);

			if (r < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			avail = (size_t)r;
			if (avail == 0)
				return -1;
		}
		n = len < avail ? len : avail;
		memcpy(out, pool + sizeof(pool) - avail, n);
		memset(pool + sizeof(pool) - avail, 0, n);
		avail -= n;
		out += n;
		len -= n;
	}
	return 0;
}

void ua_random_token(char *out, size_t n)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned char r[64];

	while (n > 0) {
		size_t k = n < sizeof(r) ? n : sizeof(r);

		if (ua_random(r, k) < 0)
			memset(r, 0, k); /* cannot happen on Linux >= 3.17; stay deterministic rather than crash */
		for (size_t i = 0; i < k; i++)
			*out++ = alphabet[r[i] % 36];
		n -= k;
	}
	*out = '\0';
}

uint64_t ua_fnv64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* SipHash-2-4 (Aumasson and Bernstein) under a key drawn once per process: hash tables whose keys come from
 * the network cannot be steered into one chain. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                                  \
	do {                                                                                                      \
		v0 += v1, v1 = ROTL(v1, 13), v1 ^= v0, v0 = ROTL(v0, 32);                                         \
		v2 += v3, v3 = ROTL(v3, 16), v3 ^= v2;                                                            \
		v0 += v3, v3 = ROTL(v3, 21), v3 ^= v0;                                                            \
		v2 += v1, v1 = ROTL(v1, 17), v1 ^= v2, v2 = ROTL(v2, 32);                                         \
	} while (0)

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t ua_hash(const void *p, size_t n)
{
	static uint64_t k0, k1;
	static bool keyed;
	const unsigned char *s = p;
	uint64_t v0, v1, v2, v3, m, b = (uint64_t)n << 56;
	size_t i;

	if (!keyed) {
		unsigned char k[16] = {0};

		if (ua_random(k, sizeof(k)) < 0)
			ua_log(LOG_WARN, "no random key for the hash tables");
		k0 = le64(k);
		k1 = le64(k + 8);
		keyed = true;
	}
	v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	v3 = k1 ^ UINT64_C(0x7465646279746573);
	for (i = 0; i + 8 <= n; i += 8) {
		m = le64(s + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < n; j++)
		b |= (uint64_t)s[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

char *ua_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct sbuf b;
	char tmp[65536];
	size_t n;
	int err;

	if (!f)
		return NULL;
	sbuf_init(&b);
	sbuf_add(&b, "", 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		sbuf_add(&b, tmp, n);
	err = ferror(f) ? EIO : b.oom ? ENOMEM : 0;
	fclose(f);
	if (err) {
		sbuf_free(&b);
		errno = err;
		return NULL;
	}
	*len = b.len;
	return b.s;
}

char *ua_strdup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

size_t ua_utoa(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

bool ua_grow(void *v, size_t *cap, size_t len, size_t size, size_t first)
{
	void **pv = v, *n;
	size_t c;

	if (len < *cap)
		return true;
	c = *cap ? *cap * 2 : first;
	n = realloc(*pv, c * size);
	if (!n)
		return false;
	*pv = n;
	*cap = c;
	return true;
}
