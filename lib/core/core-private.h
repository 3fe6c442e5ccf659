/* SPDX-License-Identifier: MIT */
/* Core internals: the context, allocation, logging, strings, hash map. */
#ifndef SIPPRES_CORE_PRIVATE_H
#define SIPPRES_CORE_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "libsippresence.h"

struct sippres__registry;
struct sippres__bodies;
struct sippres__subs;
struct sippres__lists;
struct sippres__pubs;
struct sippres__repl;

struct sippres_ctx {
	struct sippres_allocator alloc;
	struct sippres_callbacks cb;
	void *user_data;
	uint32_t log_level;
	uint32_t hash_seed;   /* per-context seed against hash flooding */
	int in_callback;      /* > 0 while a watcher callback runs */
	uint32_t max_instances; /* pattern-hint instances at most */
	struct sippres__registry *reg;
	struct sippres__bodies *bodies; /* body generator registry (lib/bodies) */
	struct sippres__subs *subs;     /* subscription engine (lib/subs) */
	struct sippres__lists *lists;   /* resource list definitions (lib/lists) */
	struct sippres__pubs *pubs;     /* publications (lib/publish) */
	/* without a random callback: the kernel's bytes, read 16 KB at a time
	 * (getrandom() costs 1.2 us a call and 1.4 ns a byte on the measuring
	 * machine: a subscription draws 8 bytes, a 100-member list NOTIFY
	 * 2,032, so one NOTIFY in eight refills). Used bytes are zeroed. */
	uint8_t rnd_pool[16384];
	uint16_t rnd_avail;
	struct sippres__repl *repl;     /* replication (core/repl.c); NULL until sippres_repl_start() */
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
/* The two alphabets as objects: sippres__random_string maps bytes to them
 * through tables when given these (use them rather than the literals). */
extern const char sippres__alpha_alnum[];
extern const char sippres__alpha_lower[];
/* Random tokens drawn ahead: exactly total bytes over the reader's life,
 * taken from sippres_ctx_random() in chunks and handed out in order, so
 * that many tokens cost a few draws and the bytes each token gets are the
 * ones it would have got drawing alone (nothing else drawing meanwhile).
 * Bytes handed out are zeroed; sippres__rnd_done() zeroes what is left. */
struct sippres__rnd_reader {
	struct sippres_ctx *ctx;
	size_t left;    /* bytes not drawn yet */
	uint16_t off, len;
	uint8_t b[2048]; /* a 100-member NOTIFY's tokens in one draw */
};
void sippres__rnd_init(struct sippres__rnd_reader *r, struct sippres_ctx *ctx, size_t total);
/* n characters of alphabet (sippres__alpha_alnum or _lower) and a NUL. */
int sippres__rnd_token(struct sippres__rnd_reader *r, char *out, size_t n, const char *alphabet);
void sippres__rnd_done(struct sippres__rnd_reader *r);
/* The next len bytes sippres_ctx_random() will hand out, without drawing
 * them: true when they are known (the library's own pool holds them; never
 * with a random callback). For guesses only (a prefetch): the next draw may
 * differ when something draws in between. */
bool sippres__random_peek(const struct sippres_ctx *ctx, uint8_t *buf, size_t len);

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

/* The largest size a host may give a size-prefixed struct: far beyond any
 * struct of the library's, near enough that a garbage size is caught before
 * the bytes it claims are read or written. */
#define SIPPRES__MAX_STRUCT_SIZE SIPPRES_MAX_STRUCT_SIZE
/* A size-prefixed struct's size: at least min_size, at most
 * SIPPRES__MAX_STRUCT_SIZE. Returns 0 or SIPPRES_E_ABI. */
static inline int sippres__check_size(size_t size, size_t min_size)
{
	return size < min_size || size > SIPPRES__MAX_STRUCT_SIZE ? SIPPRES_E_ABI : 0;
}
/* Check a size-prefixed struct passed by the host: size as
 * sippres__check_size says and every byte beyond known_size zero. Returns 0
 * or SIPPRES_E_ABI/SIPPRES_E_INVAL. */
int sippres__check_struct(const void *p, size_t min_size, size_t known_size);

/* Copy a size-prefixed struct the library filled (in, of in_size bytes) to
 * the host's out (its size checked with sippres__check_size before), whose
 * size member says how big the host's version is: a
 * bigger (newer) struct gets what we know and zeroes after it, a smaller
 * (older) one its own part. out's size is then the size copied. */
void sippres__copy_out(void *out, const void *in, size_t in_size);

/* Strings */
bool sippres__streq_nocase(const char *a, const char *b);
bool sippres__memeq_nocase(const char *a, const char *b, size_t n);
static inline int sippres__ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}
/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
size_t sippres__utf8_seq_len(const unsigned char *s, size_t n);
/* true when s[0..n) is valid UTF-8 without control characters (< 0x20, 0x7f). */
bool sippres__text_ok(const char *s, size_t n, size_t *bad_offset);
/* true when s is a valid name: 1..SIPPRES_MAX_NAME bytes of valid UTF-8, no
 * control characters, no space. */
bool sippres__name_ok(const char *s);
/* The next element of a comma list, blanks around it skipped, empty ones passed over: its start and
 * length, *p moved past it and its comma. false at the end. The text is not changed, so a caller that
 * owns it may write a NUL at (*name)[*len]. */
bool sippres__list_next(const char **p, const char **name, size_t *len);

/* Two optional strings are equal (both NULL, or the same text). */
static inline bool sippres__str_same(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Hashing: seeded, eight bytes at a time (multiply and rotate) with a final
 * avalanche, optionally ASCII case-folded; hash_mem takes a length; hash2
 * combines two strings (a pair key). Every hash in lib/ is one of these. */
uint32_t sippres__hash(uint32_t seed, const char *s, bool nocase);
uint32_t sippres__hash_mem(uint32_t seed, const char *s, size_t n, bool nocase);
/* The same in steps, for a key of several strings: init, a step per string
 * (its length is mixed in), final. */
static inline uint64_t sippres__hash_init(uint32_t seed)
{
	return (uint64_t)seed << 32 | seed;
}
#define SIPPRES__HASH_K 0x9E3779B97F4A7C15ull

static inline uint64_t sippres__hash_word(uint64_t h, uint64_t w)
{
	h = (h ^ w) * SIPPRES__HASH_K;
	return (h << 31) | (h >> 33);
}

/* A-Z to a-z in each of the eight bytes; other bytes unchanged. */
static inline uint64_t sippres__fold_lower(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t low = w & (0x7f * ones);
	uint64_t ge_a = low + (0x80 - 'A') * ones, gt_z = low + (0x80 - 'Z' - 1) * ones;

	return w | (((ge_a ^ gt_z) & ~w & (0x80 * ones)) >> 2);
}

static inline uint64_t sippres__hash_step(uint64_t h, const char *s, size_t n, bool nocase)
{
	uint64_t w;
	uint32_t lo, hi;

	h ^= n * SIPPRES__HASH_K;
	if (n > 8) {
		/* whole words, then the last eight bytes (overlapping the word
		 * before: the length is in h already) */
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&w, s + i, 8);
			h = sippres__hash_word(h, nocase ? sippres__fold_lower(w) : w);
		}
		memcpy(&w, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(&lo, s, 4);
		memcpy(&hi, s + n - 4, 4);
		w = (uint64_t)hi << 32 | lo;
	} else if (n > 0) {
		w = (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8 |
		    (uint64_t)(unsigned char)s[n - 1] << 16;
	} else {
		w = 0;
	}
	return sippres__hash_word(h, nocase ? sippres__fold_lower(w) : w);
}
uint32_t sippres__hash_final(uint64_t h);
uint32_t sippres__hash2(uint32_t seed, const char *a, const char *b);

/* Intrusive chained hash map. The owner embeds a struct sippres__hnode in
 * each entry. Insertion never fails: growth is best effort. A map made with
 * sippres__smap_init is keyed by a string member of the entry (found at
 * key_off bytes from the node) and does the hashing and comparing itself;
 * other maps (pair keys) hash with sippres__hash2, walk sippres__map_chain
 * and compare themselves. */
struct sippres__hnode {
	struct sippres__hnode *next;
	uint32_t hash;
};
/* Double a chained table of entries of type T (linked through their member
 * next, placed by their member hash): buckets (T **) and nb (a power of two)
 * are updated. Best effort: when the allocation fails the table stays as it
 * was, with longer chains, still correct. The map below grows with it. */
#define SIPPRES__CHAINS_GROW(ctx, T, next, hash, buckets, nb)                                    \
	do {                                                                                     \
		size_t n_ = (nb) * 2;                                                            \
		T **b_;                                                                          \
                                                                                                 \
		if (n_ > SIZE_MAX / sizeof(*b_) / 2 || !(b_ = sippres__calloc((ctx), n_, sizeof(*b_)))) \
			break;                                                                   \
		for (size_t i_ = 0; i_ < (nb); i_++) {                                           \
			T *e_ = (buckets)[i_];                                                   \
                                                                                                 \
			while (e_) {                                                             \
				T *nx_ = e_->next;                                               \
				size_t j_ = e_->hash & (n_ - 1);                                 \
                                                                                                 \
				e_->next = b_[j_];                                               \
				b_[j_] = e_;                                                     \
				e_ = nx_;                                                        \
			}                                                                        \
		}                                                                                \
		sippres__free((ctx), (buckets));                                                 \
		(buckets) = b_;                                                                  \
		(nb) = n_;                                                                       \
	} while (0)
struct sippres__map {
	struct sippres__hnode **buckets;
	size_t nbuckets; /* power of two */
	size_t count;
	uint32_t seed;
	bool nocase;       /* string maps: keys compare ASCII case-insensitively */
	ptrdiff_t key_off; /* string maps: offset of the entry's `char *` key from its node */
};
int sippres__map_init(struct sippres_ctx *ctx, struct sippres__map *m, size_t nbuckets);
void sippres__map_fini(struct sippres_ctx *ctx, struct sippres__map *m);
/* First node of the chain that may hold hash; walk ->next and compare ->hash. */
struct sippres__hnode *sippres__map_chain(const struct sippres__map *m, uint32_t hash);
void sippres__map_insert(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__hnode *n, uint32_t hash);
void sippres__map_remove(struct sippres__map *m, struct sippres__hnode *n);
/* Call destroy on every entry (which frees it), then free the table. */
void sippres__map_drain(struct sippres_ctx *ctx, struct sippres__map *m,
                        void (*destroy)(struct sippres_ctx *ctx, struct sippres__hnode *n));

int sippres__smap_init(struct sippres_ctx *ctx, struct sippres__map *m, size_t nbuckets, ptrdiff_t key_off,
                       bool nocase);
#define SIPPRES__SMAP_INIT(ctx, m, nbuckets, type, node, key, nocase) \
	sippres__smap_init((ctx), (m), (nbuckets), (ptrdiff_t)offsetof(type, key) - (ptrdiff_t)offsetof(type, node), \
	                   (nocase))
struct sippres__hnode *sippres__smap_find(const struct sippres__map *m, const char *key);
void sippres__smap_insert(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__hnode *n);
/* Insert n in place of the entry with the same key, which is returned (now
 * unlinked, for the caller to free), or NULL when there was none. */
struct sippres__hnode *sippres__smap_put(struct sippres_ctx *ctx, struct sippres__map *m, struct sippres__hnode *n);

/* Open-addressed table of entries by their 32-bit hash (htab.c): an array
 * of slots, each a hash (0: an empty slot) beside its entry's pointer, so
 * that a lookup touches one cache line (and one page) of the table, mostly;
 * linear probing, at most half full, removal by backward shift. Growth
 * doubles the array in place (realloc) and moves the entries without
 * reading them. The owner compares its entries itself:
 *   for (size_t i = sippres__htab_home(t, h); t->s[i].h; i = sippres__htab_next(t, i))
 *           if (t->s[i].h == h && matches(t->s[i].p)) ...
 * with h = sippres__htab_key(hash). */
#if defined(__GNUC__) || defined(__clang__)
/* 12 bytes, not 16: a third less of the table to touch (x86 and arm64 read
 * the unaligned pointer at the same cost) */
struct __attribute__((packed)) sippres__hslot {
	uint32_t h;
	void *p;
};
#else
struct sippres__hslot {
	uint32_t h;
	void *p;
};
#endif
struct sippres__htab {
	struct sippres__hslot *s;
	size_t nb, count; /* nb: a power of two */
};
int sippres__htab_init(struct sippres_ctx *ctx, struct sippres__htab *t, size_t nb);
void sippres__htab_fini(struct sippres_ctx *ctx, struct sippres__htab *t);
/* The stored form of a hash (0 is kept for empty slots). */
static inline uint32_t sippres__htab_key(uint32_t hash)
{
	return hash ? hash : 1;
}
static inline size_t sippres__htab_home(const struct sippres__htab *t, uint32_t key)
{
	return key & (t->nb - 1);
}
static inline size_t sippres__htab_next(const struct sippres__htab *t, size_t i)
{
	return (i + 1) & (t->nb - 1);
}
/* Ask for the cache lines a lookup of hash starts with (a hint, no effect
 * on the result), so that a caller with several lookups to make can
 * overlap their cache misses. */
static inline void sippres__htab_prefetch(const struct sippres__htab *t, uint32_t hash)
{
#if defined(__GNUC__) || defined(__clang__)
	size_t i = sippres__htab_home(t, sippres__htab_key(hash));

	__builtin_prefetch(&t->s[i]);
#else
	(void)t;
	(void)hash;
#endif
}
/* The entry a lookup of hash will most likely compare first (the first
 * with the same stored hash), or NULL: reads only the table's slots, the
 * lines sippres__htab_prefetch() asked for, so that the caller can ask for
 * the entry's own lines next. */
static inline void *sippres__htab_peek(const struct sippres__htab *t, uint32_t hash)
{
	uint32_t key = sippres__htab_key(hash);

	for (size_t i = sippres__htab_home(t, key); t->s[i].h; i = sippres__htab_next(t, i)) {
		if (t->s[i].h == key)
			return t->s[i].p;
	}
	return NULL;
}
/* Room for one more entry: 0, or SIPPRES_E_NOMEM when the table could not
 * grow and is too full to take it (it is unchanged either way). */
int sippres__htab_reserve(struct sippres_ctx *ctx, struct sippres__htab *t);
/* Add p under hash, after a successful reserve (never fails). */
void sippres__htab_insert(struct sippres__htab *t, uint32_t hash, void *p);
/* Remove p, added under hash (nothing when it is not there). */
void sippres__htab_remove(struct sippres__htab *t, uint32_t hash, const void *p);

/* Shared strings (shared.c): reference-counted tuples of up to
 * SIPPRES__SHARED_MAX strings, one copy for every holder of the same tuple
 * (subscriptions from one phone share its From URI, Contact and User-Agent;
 * those to one resource their local URI). A string equal to an earlier one
 * of its tuple shares its bytes. */
#define SIPPRES__SHARED_MAX 4
struct sippres__shared {
	uint32_t hash;                /* its key in the set's table */
	uint32_t refs;
	uint16_t off[SIPPRES__SHARED_MAX];
	uint8_t n;                    /* strings in the tuple */
	uint8_t user;                 /* free for the holders: set once, when fresh */
	char str[];
};
struct sippres__shared_set {
	struct sippres__htab tab; /* the tuples by hash */
	uint32_t seed;
};
int sippres__shared_init(struct sippres_ctx *ctx, struct sippres__shared_set *t);
/* Free the table (its entries must all have been put back). */
void sippres__shared_fini(struct sippres_ctx *ctx, struct sippres__shared_set *t);
/* A reference to the tuple v[0..n) (lengths len; a NULL string has length 0
 * and reads back as ""), made when there is none (*fresh true), or NULL when
 * out of memory or longer than 64 KiB together. */
struct sippres__shared *sippres__shared_get(struct sippres_ctx *ctx, struct sippres__shared_set *t, int n,
                                            const char *const *v, const size_t *len, bool *fresh);
/* The same in steps, for a caller with several lookups to overlap: the
 * tuple's hash, a hint to fetch what its lookup will read (call it some
 * time before the get), the get with that hash. */
uint32_t sippres__shared_hash(const struct sippres__shared_set *t, int n, const char *const *v, const size_t *len);
void sippres__shared_prefetch(const struct sippres__shared_set *t, uint32_t hash);
struct sippres__shared *sippres__shared_get_hashed(struct sippres_ctx *ctx, struct sippres__shared_set *t, int n,
                                                   const char *const *v, const size_t *len, uint32_t hash,
                                                   bool *fresh);
/* Give a reference back (NULL: nothing); the last one frees the tuple. */
void sippres__shared_put(struct sippres_ctx *ctx, struct sippres__shared_set *t, struct sippres__shared *e);
static inline const char *sippres__shared_str(const struct sippres__shared *e, int i)
{
	return e->str + e->off[i];
}

/* A scratch set for duplicate checks (set.c): borrowed keys, strings
 * (compared byte for byte) or pointers, each with a value; expected O(1) per
 * operation, seeded with the context's hash seed. Zero-initialised by
 * sippres__set_init, freed by sippres__set_fini; keys must outlive it. */
struct sippres__set_slot {
	const void *key; /* NULL: empty */
	size_t value;
};
struct sippres__set {
	struct sippres__set_slot *slot;
	size_t cap, n;
	uint32_t seed;
	bool strings;
};
void sippres__set_init(struct sippres_ctx *ctx, struct sippres__set *s, bool strings);
void sippres__set_fini(struct sippres_ctx *ctx, struct sippres__set *s);
/* Room for n keys without allocating. Returns 0 or SIPPRES_E_NOMEM. */
int sippres__set_reserve(struct sippres_ctx *ctx, struct sippres__set *s, size_t n);
/* Add key (not NULL) with value: 1 added, 0 already there (its value in *had
 * when had is not NULL; nothing changes), or SIPPRES_E_NOMEM. */
int sippres__set_add(struct sippres_ctx *ctx, struct sippres__set *s, const void *key, size_t value, size_t *had);
/* true when key is there (its value in *value when value is not NULL). */
bool sippres__set_find(const struct sippres__set *s, const void *key, size_t *value);

/* libxml2 (xml.c): what its parser reported while reading, through the
 * parser context's _private; sippres__xml_on_error is the parser's
 * structured error handler (sax->serror). A later error replaces the
 * context's last one, so an allocation failure is remembered here. */
struct _xmlError;
struct sippres__xml_seen {
	bool doctype;  /* a DOCTYPE was seen (sippres__xml_refuse_doctype) */
	bool nomem;    /* an allocation inside libxml2 failed (XML_ERR_NO_MEMORY) */
	bool ns_error; /* a namespace error or warning */
};
void sippres__xml_on_error(void *parser_ctxt, struct _xmlError *error);
/* After xmlCtxtReadMemory (doc: its result): true when an allocation inside
 * libxml2 failed, so that the result (a document or not) is not to be used. */
bool sippres__xml_nomem(void *parser_ctxt, const struct sippres__xml_seen *seen, const void *doc);
/* SAX internalSubset, called for any <!DOCTYPE ...>: sets doctype and stops
 * the parser before any entity declaration is read. */
void sippres__xml_refuse_doctype(void *parser_ctxt, const unsigned char *name, const unsigned char *ext_id,
                                 const unsigned char *sys_id);

/* Intrusive doubly linked list with head and tail. Removing a node leaves
 * its own next pointer as it was, so a walk standing on it can go on. */
struct sippres__dnode {
	struct sippres__dnode *prev, *next;
};
struct sippres__dlist {
	struct sippres__dnode *head, *tail;
};
static inline void sippres__dlist_append(struct sippres__dlist *l, struct sippres__dnode *n)
{
	n->next = NULL;
	n->prev = l->tail;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
}
static inline void sippres__dlist_prepend(struct sippres__dlist *l, struct sippres__dnode *n)
{
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->prev = n;
	else
		l->tail = n;
	l->head = n;
}
static inline void sippres__dlist_remove(struct sippres__dlist *l, struct sippres__dnode *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
}
/* Put n where old is (old is unlinked). */
static inline void sippres__dlist_replace(struct sippres__dlist *l, struct sippres__dnode *old,
                                          struct sippres__dnode *n)
{
	n->prev = old->prev;
	n->next = old->next;
	if (n->prev)
		n->prev->next = n;
	else
		l->head = n;
	if (n->next)
		n->next->prev = n;
	else
		l->tail = n;
}
/* The entry holding node n, or NULL for a NULL node. */
#define SIPPRES__DLIST_ENTRY(n, type, member) ((n) ? SIPPRES__CONTAINER_OF((n), type, member) : (type *)NULL)

/* Decimal digits of v at out (no NUL); returns how many (1..20). */
static inline size_t sippres__dec(char *out, uint64_t v)
{
	char tmp[20];
	size_t k = 0;

	do {
		tmp[sizeof(tmp) - 1 - k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(out, tmp + sizeof(tmp) - k, k);
	return k;
}

/* A growable byte buffer, always NUL-terminated once it holds anything, with
 * a sticky error: once err is set every add is a no-op. */
struct sippres__buf {
	struct sippres_ctx *ctx;
	char *p;
	size_t len, cap;
	int err;
};
void sippres__buf_add(struct sippres__buf *b, const char *s, size_t n);
void sippres__buf_str(struct sippres__buf *b, const char *s);
void sippres__buf_free(struct sippres__buf *b);
/* Room for n more bytes (and the NUL) at the end, returned as a cursor to
 * write through (NULL, err set, on failure); sippres__buf_commit(b, end)
 * then takes what was written. sippres__buf_grow only makes the room. */
char *sippres__buf_room(struct sippres__buf *b, size_t n);
static inline void sippres__buf_commit(struct sippres__buf *b, char *end)
{
	b->len = (size_t)(end - b->p);
	b->p[b->len] = '\0';
}
static inline void sippres__buf_grow(struct sippres__buf *b, size_t n)
{
	(void)sippres__buf_room(b, n);
}

/* Binary min-heap of objects ordered by a uint64_t deadline stored in each
 * object, which also keeps its own index in the heap (heap.c). */
#define SIPPRES__NOT_IN_HEAP UINT32_MAX
struct sippres__heap {
	void **v;
	uint32_t n, cap;
	size_t key_off, idx_off;
};
void sippres__heap_init(struct sippres__heap *hp, size_t key_off, size_t idx_off);
int sippres__heap_reserve(struct sippres_ctx *ctx, struct sippres__heap *hp, uint32_t n);
void sippres__heap_push(struct sippres__heap *hp, void *o);
void sippres__heap_remove(struct sippres__heap *hp, void *o);
void sippres__heap_update(struct sippres__heap *hp, void *o);
void *sippres__heap_top(const struct sippres__heap *hp);
uint64_t sippres__heap_key(const struct sippres__heap *hp, const void *o);
void sippres__heap_free(struct sippres_ctx *ctx, struct sippres__heap *hp);

/* Little-endian integers and the CRC-32 (IEEE) of persistence records. */
uint32_t sippres__crc32(const uint8_t *p, size_t n);
static inline void sippres__put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void sippres__put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void sippres__put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t sippres__get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t sippres__get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t sippres__get64(const uint8_t *p)
{
	return (uint64_t)sippres__get32(p) | ((uint64_t)sippres__get32(p + 4) << 32);
}

/* ---- replication (repl.c): the origin id, the Lamport clock, the change
 * handed to the replicate callback, and the little-endian message writer
 * the layers encode their messages with. docs/cluster.md. */
struct sippres__repl {
	char origin[SIPPRES_MAX_ORIGIN + 1];
	uint64_t seq;         /* the last sequence number used or seen */
	uint8_t *buf;         /* the message being encoded */
	size_t cap;
	char *key;            /* a record's key being handed over */
	size_t key_cap;
};
/* Replication is on: started and a replicate callback set. */
static inline bool sippres__repl_on(const struct sippres_ctx *ctx)
{
	return ctx->repl && ctx->cb.replicate;
}
/* The next sequence number of this node. */
uint64_t sippres__repl_tick(struct sippres_ctx *ctx);
/* A number another node used: the clock moves past it. */
void sippres__repl_seen(struct sippres_ctx *ctx, uint64_t seq);
/* Room for an n-byte message in ctx->repl->buf (0 or SIPPRES_E_NOMEM). */
int sippres__repl_reserve(struct sippres_ctx *ctx, size_t n);
/* Hand a change to the replicate callback (data may be NULL when removed). */
void sippres__repl_emit(struct sippres_ctx *ctx, uint32_t kind, bool removed, const char *key, uint64_t seq,
                        const void *data, size_t len);
/* A record's change: key "A B" (b NULL: "A"), built in ctx->repl->key; a
 * failed allocation is logged and the change not handed over. */
void sippres__repl_record(struct sippres_ctx *ctx, uint32_t kind, const char *a, const char *b, const void *data,
                          size_t len);
/* Free the replication state (the context is going). */
void sippres__repl_free(struct sippres_ctx *ctx);
/* origin: 1..SIPPRES_MAX_ORIGIN bytes of [A-Za-z0-9._:-]. */
bool sippres__origin_ok(const char *s, size_t len);
/* A writer over a reserved buffer (no bounds checks: reserve first). */
struct sippres__wr {
	uint8_t *p;
	size_t off;
};
static inline void sippres__wr8(struct sippres__wr *w, uint8_t v)
{
	w->p[w->off++] = v;
}
static inline void sippres__wr16(struct sippres__wr *w, uint16_t v)
{
	sippres__put16(w->p + w->off, v);
	w->off += 2;
}
static inline void sippres__wr32(struct sippres__wr *w, uint32_t v)
{
	sippres__put32(w->p + w->off, v);
	w->off += 4;
}
static inline void sippres__wr64(struct sippres__wr *w, uint64_t v)
{
	sippres__put64(w->p + w->off, v);
	w->off += 8;
}
static inline void sippres__wrmem(struct sippres__wr *w, const void *s, size_t n)
{
	if (n)
		memcpy(w->p + w->off, s, n);
	w->off += n;
}

/* Size of the first published version of struct sippres_call. */
#define SIPPRES__CALL_V1_SIZE (offsetof(struct sippres_call, remote_display) + sizeof(const char *))

#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 7)
#define SIPPRES__FALLTHROUGH __attribute__((fallthrough))
#else
#define SIPPRES__FALLTHROUGH ((void)0)
#endif

#define SIPPRES__CONTAINER_OF(ptr, type, member) ((type *)((uintptr_t)(ptr) - offsetof(type, member)))

#endif
