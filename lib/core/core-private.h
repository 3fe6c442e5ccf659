/* SPDX-License-Identifier: MIT */
/* Core internals: the context, allocation, logging, strings, hash map. */
#ifndef SIPPRES_CORE_PRIVATE_H
#define SIPPRES_CORE_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libsippresence.h"

struct sp_registry;
struct sp_bodies;
struct sp_subs;
struct sp_lists;

struct sippres_ctx {
	struct sippres_allocator alloc;
	struct sippres_callbacks cb;
	void *user_data;
	uint32_t log_level;
	uint64_t rng_state;   /* fallback generator when cb.random is NULL */
	uint32_t hash_seed;   /* per-context seed against hash flooding */
	int in_callback;      /* > 0 while a watcher callback runs */
	struct sp_registry *reg;
	struct sp_bodies *bodies; /* body generator registry (lib/bodies) */
	struct sp_subs *subs;     /* subscription engine (lib/subs) */
	struct sp_lists *lists;   /* resource list definitions (lib/lists) */
};

/* Allocation through the context's allocator. sp_malloc(ctx, 0) returns NULL. */
void *sp_malloc(struct sippres_ctx *ctx, size_t n);
void *sp_calloc(struct sippres_ctx *ctx, size_t nmemb, size_t size);
void *sp_realloc(struct sippres_ctx *ctx, void *p, size_t n);
void *sp_reallocarray(struct sippres_ctx *ctx, void *p, size_t nmemb, size_t size);
void sp_free(struct sippres_ctx *ctx, void *p);
char *sp_strndup(struct sippres_ctx *ctx, const char *s, size_t n);
char *sp_strdup(struct sippres_ctx *ctx, const char *s);

/* n characters drawn from alphabet (one random byte each) and a NUL; n <= 64. */
int sp_random_string(struct sippres_ctx *ctx, char *out, size_t n, const char *alphabet);
#define SP_ALPHA_LOWER "abcdefghijklmnopqrstuvwxyz"
#define SP_ALPHA_ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define SP_ALPHA_HEX "0123456789abcdef"

/* Logging: formats only when a log callback is set and the level passes. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void sp_log(struct sippres_ctx *ctx, int level, const char *fmt, ...);

/* Fill a diagnostic (NULL-safe, size-checked: a diag whose size is too small is left alone). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void sp_diag(struct sippres_diag *diag, uint32_t line, uint32_t column, const char *fmt, ...);
void sp_diag_clear(struct sippres_diag *diag);

/* Check a size-prefixed struct passed by the host: size at least min_size and
 * every byte beyond known_size zero. Returns 0 or SIPPRES_E_ABI/SIPPRES_E_INVAL. */
int sp_check_struct(const void *p, size_t min_size, size_t known_size);

/* Strings */
bool sp_streq_nocase(const char *a, const char *b);
bool sp_memeq_nocase(const char *a, const char *b, size_t n);
int sp_ascii_lower(int c);
/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
size_t sp_utf8_seq_len(const unsigned char *s, size_t n);
/* true when s[0..n) is valid UTF-8 without control characters (< 0x20, 0x7f). */
bool sp_text_ok(const char *s, size_t n, size_t *bad_offset);
/* true when s is a valid name: 1..SIPPRES_MAX_NAME bytes of valid UTF-8, no
 * control characters, no space. */
bool sp_name_ok(const char *s);

/* Hashing (seeded FNV-1a, optionally ASCII case-folded). */
uint32_t sp_hash(uint32_t seed, const char *s, bool nocase);

/* Intrusive chained hash map. Insertion never fails: growth is best effort. */
struct sp_hnode {
	struct sp_hnode *next;
	uint32_t hash;
};
struct sp_map {
	struct sp_hnode **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
};
int sp_map_init(struct sippres_ctx *ctx, struct sp_map *m, size_t nbuckets);
void sp_map_fini(struct sippres_ctx *ctx, struct sp_map *m);
/* First node of the chain that may hold hash; walk ->next and compare ->hash. */
struct sp_hnode *sp_map_chain(const struct sp_map *m, uint32_t hash);
void sp_map_insert(struct sippres_ctx *ctx, struct sp_map *m, struct sp_hnode *n, uint32_t hash);
void sp_map_remove(struct sp_map *m, struct sp_hnode *n);

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 7)
#define SP_FALLTHROUGH __attribute__((fallthrough))
#else
#define SP_FALLTHROUGH ((void)0)
#endif

#define SP_CONTAINER_OF(ptr, type, member) ((type *)((uintptr_t)(ptr) - offsetof(type, member)))

/* Registry lifecycle (state/registry.c) */
int sp_registry_new(struct sippres_ctx *ctx);
void sp_registry_free(struct sippres_ctx *ctx);
/* Subscription engine lifecycle (subs/subs.c) */
int sp_subs_new(struct sippres_ctx *ctx);
void sp_subs_free(struct sippres_ctx *ctx);
int sp_lists_new(struct sippres_ctx *ctx);
void sp_lists_free(struct sippres_ctx *ctx);

#endif
