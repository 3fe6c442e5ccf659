/* SPDX-License-Identifier: MIT */
/* Core internals: the context, allocation, logging, strings, hash map. */
#ifndef SIPPRES_CORE_PRIVATE_H
#define SIPPRES_CORE_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libsippresence.h"

struct sippres__registry;
struct sippres__bodies;
struct sippres__subs;
struct sippres__lists;

struct sippres_ctx {
	struct sippres_allocator alloc;
	struct sippres_callbacks cb;
	void *user_data;
	uint32_t log_level;
	uint64_t rng_state;   /* fallback generator when cb.random is NULL */
	uint32_t hash_seed;   /* per-context seed against hash flooding */
	int in_callback;      /* > 0 while a watcher callback runs */
	struct sippres__registry *reg;
	struct sippres__bodies *bodies; /* body generator registry (lib/bodies) */
	struct sippres__subs *subs;     /* subscription engine (lib/subs) */
	struct sippres__lists *lists;   /* resource list definitions (lib/lists) */
};

/* Allocation through the context's allocator. sippres__malloc(ctx, 0) returns NULL. */
void *sippres__malloc(struct sippres_ctx *ctx, size_t n);
void *sippres__calloc(struct sippres_ctx *ctx, size_t nmemb, size_t size);
void *sippres__realloc(struct sippres_ctx *ctx, void *p, size_t n);
void *sippres__reallocarray(struct sippres_ctx *ctx, void *p, size_t nmemb, size_t size);
void sippres__free(struct sippres_ctx *ctx, void *p);
char *sippres__strndup(struct sippres_ctx *ctx, const char *s, size_t n);
char *sippres__strdup(struct sippres_ctx *ctx, const char *s);

/* n characters drawn from alphabet (one random byte each) and a NUL; n <= 64. */
int sippres__random_string(struct sippres_ctx *ctx, char *out, size_t n, const char *alphabet);
#define SIPPRES__ALPHA_LOWER "abcdefghijklmnopqrstuvwxyz"
#define SIPPRES__ALPHA_ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define SIPPRES__ALPHA_HEX "0123456789abcdef"

/* Logging: formats only when a log callback is set and the level passes. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void sippres__log(struct sippres_ctx *ctx, int level, const char *fmt, ...);

/* Fill a diagnostic (NULL-safe, size-checked: a diag whose size is too small is left alone). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void sippres__diag(struct sippres_diag *diag, uint32_t line, uint32_t column, const char *fmt, ...);
void sippres__diag_clear(struct sippres_diag *diag);

/* Check a size-prefixed struct passed by the host: size at least min_size and
 * every byte beyond known_size zero. Returns 0 or SIPPRES_E_ABI/SIPPRES_E_INVAL. */
int sippres__check_struct(const void *p, size_t min_size, size_t known_size);

/* Strings */
bool sippres__streq_nocase(const char *a, const char *b);
bool sippres__memeq_nocase(const char *a, const char *b, size_t n);
int sippres__ascii_lower(int c);
/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
size_t sippres__utf8_seq_len(const unsigned char *s, size_t n);
/* true when s[0..n) is valid UTF-8 without control characters (< 0x20, 0x7f). */
bool sippres__text_ok(const char *s, size_t n, size_t *bad_offset);
/* true when s is a valid name: 1..SIPPRES_MAX_NAME bytes of valid UTF-8, no
 * control characters, no space. */
bool sippres__name_ok(const char *s);

/* Hashing (seeded FNV-1a, optionally ASCII case-folded). */
uint32_t sippres__hash(uint32_t seed, const char *s, bool nocase);

/* Intrusive chained hash map. Insertion never fails: growth is best effort. */
struct sippres__hnode {
	struct sippres__hnode *next;
	uint32_t hash;
};
struct sippres__map {
	struct sippres__hnode **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};
int sippres__map_init(struct sippres_ctx *ctx, struct sippres__map *m, size_t nbuckets);
void sippres__map_fini(struct sippres_ctx *ctx, struct sippres__map *m);
/* First node of the chain that may hold hash; walk ->next and compare ->hash. */
struct sippres__hnode *sippres__map_chain(const struct sippres__map *m, uint32_t hash);
void sippres__map_insert(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__hnode *n, uint32_t hash);
void sippres__map_remove(struct sippres__map *m, struct sippres__hnode *n);

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 7)
#define SIPPRES__FALLTHROUGH __attribute__((fallthrough))
#else
#define SIPPRES__FALLTHROUGH ((void)0)
#endif

#define SIPPRES__CONTAINER_OF(ptr, type, member) ((type *)((uintptr_t)(ptr) - offsetof(type, member)))

/* Registry lifecycle (state/registry.c) */
int sippres__registry_new(struct sippres_ctx *ctx);
void sippres__registry_free(struct sippres_ctx *ctx);
/* Subscription engine lifecycle (subs/subs.c) */
int sippres__subs_new(struct sippres_ctx *ctx);
void sippres__subs_free(struct sippres_ctx *ctx);
int sippres__lists_new(struct sippres_ctx *ctx);
void sippres__lists_free(struct sippres_ctx *ctx);

#endif
