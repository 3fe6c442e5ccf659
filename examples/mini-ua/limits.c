/* SPDX-License-Identifier: MIT */
/* What one peer may make the UA do (docs/security.md, "Limits"): per-source request rate, subscriptions in
 * total, per endpoint and per source, and which addresses have proven that they receive what is sent to them.
 * Transport-neutral: every function takes the peer's address (struct ua_addr), so the UDP path and a
 * stream transport account the same way. One table of peers in a hash seeded at start (keys come from the
 * network), bounded: the least recently seen peer without subscriptions makes room for a new one. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "ua-limits.h"

/* A source is its IP address (port 0 in the key); a proven destination is address and port. */
struct peer {
	struct peer *hnext;       /* hash chain */
	struct peer *lprev, *lnext; /* LRU list, most recent first */
	uint8_t key[19];          /* family, 16 address bytes, port (0: the source as a whole) */
	uint32_t subs;            /* live subscriptions it created (sources) */
	double tokens;            /* rate bucket (sources) */
	uint64_t refill_at;       /* monotonic ms of the last refill */
	uint64_t proven_until;    /* destinations: it answered one of our requests; 0: never */
	uint32_t unproven_out;    /* destinations: our requests to it waiting for their first answer */
};

struct ep_count {
	struct ep_count *next;
	uint32_t subs;
	char name[];
};

#define EP_BUCKETS 256

static void key_of(const struct ua_addr *a, bool with_port, uint8_t key[19])
{
	memset(key, 0, 19);
	key[0] = (uint8_t)a->ss.ss_family;
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&a->ss;

		memcpy(key + 1, &s->sin6_addr, 16);
		if (with_port)
			memcpy(key + 17, &s->sin6_port, 2);
	} else {
		const struct sockaddr_in *s = (const void *)&a->ss;

		memcpy(key + 1, &s->sin_addr, 4);
		if (with_port)
			memcpy(key + 17, &s->sin_port, 2);
	}
}

void limits_conf_defaults(struct limits_conf *c)
{
	c->max_subs = LIMITS_MAX_SUBS;
	c->max_subs_per_endpoint = LIMITS_MAX_SUBS_PER_ENDPOINT;
	c->max_subs_per_source = LIMITS_MAX_SUBS_PER_SOURCE;
	c->rate_per_source = LIMITS_RATE_PER_SOURCE;
	c->max_peers = 0;
}

int limits_init(struct limits *l, const struct limits_conf *c)
{
	memset(l, 0, sizeof(*l));
	l->conf = *c;
	if (!l->conf.max_peers)
		l->conf.max_peers = (l->conf.max_subs ? l->conf.max_subs : 100000) + 16384;
	l->nbuckets = 1024;
	while (l->nbuckets < l->conf.max_peers / 2 && l->nbuckets < (1u << 20))
		l->nbuckets *= 2;
	l->buckets = calloc(l->nbuckets, sizeof(*l->buckets));
	l->eps = calloc(EP_BUCKETS, sizeof(*l->eps));
	return l->buckets && l->eps ? 0 : -1;
}

void limits_fini(struct limits *l)
{
	struct peer *p = l->lru_head;

	while (p) {
		struct peer *n = p->lnext;

		free(p);
		p = n;
	}
	for (size_t i = 0; l->eps && i < EP_BUCKETS; i++) {
		for (struct ep_count *e = l->eps[i], *n; e; e = n) {
			n = e->next;
			free(e);
		}
	}
	free(l->eps);
	free(l->buckets);
	memset(l, 0, sizeof(*l));
}

static size_t bucket(const struct limits *l, const uint8_t key[19])
{
	return (size_t)(ua_hash(key, 19) & (l->nbuckets - 1));
}

static void lru_unlink(struct limits *l, struct peer *p)
{
	if (p->lprev)
		p->lprev->lnext = p->lnext;
	else
		l->lru_head = p->lnext;
	if (p->lnext)
		p->lnext->lprev = p->lprev;
	else
		l->lru_tail = p->lprev;
	p->lprev = p->lnext = NULL;
}

static void lru_front(struct limits *l, struct peer *p)
{
	p->lnext = l->lru_head;
	if (l->lru_head)
		l->lru_head->lprev = p;
	l->lru_head = p;
	if (!l->lru_tail)
		l->lru_tail = p;
}

static void peer_drop(struct limits *l, struct peer *p)
{
	struct peer **pp = &l->buckets[bucket(l, p->key)];

	while (*pp != p)
		pp = &(*pp)->hnext;
	*pp = p->hnext;
	lru_unlink(l, p);
	l->npeers--;
	free(p);
}

/* The peer with this key; made when create (NULL: none, or no room). Marked most recently seen. */
static struct peer *peer_get(struct limits *l, const uint8_t key[19], bool create, uint64_t now)
{
	size_t b = bucket(l, key);
	struct peer *p;

	for (p = l->buckets[b]; p; p = p->hnext) {
		if (memcmp(p->key, key, 19) == 0) {
			lru_unlink(l, p);
			lru_front(l, p);
			return p;
		}
	}
	if (!create)
		return NULL;
	if (l->npeers >= l->conf.max_peers) {
		/* room: the least recently seen peer that holds nothing (no subscription, no request in flight) */
		struct peer *v = l->lru_tail;
		int tries = 64;

		while (v && tries-- > 0 && (v->subs || v->unproven_out))
			v = v->lprev;
		if (!v || v->subs || v->unproven_out) {
			l->full++;
			return NULL;
		}
		peer_drop(l, v);
		l->evicted++;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	memcpy(p->key, key, 19);
	p->tokens = l->conf.rate_per_source ? 2.0 * l->conf.rate_per_source : 0;
	p->refill_at = now;
	p->hnext = l->buckets[b];
	l->buckets[b] = p;
	lru_front(l, p);
	l->npeers++;
	return p;
}

bool limits_request(struct limits *l, const struct ua_addr *src, uint64_t now)
{
	uint8_t key[19];
	struct peer *p;
	double cap;

	if (!l->conf.rate_per_source)
		return true;
	key_of(src, false, key);
	p = peer_get(l, key, true, now);
	if (!p) {
		l->rate_dropped++;
		return false; /* the table is full of peers that hold subscriptions: refuse newcomers */
	}
	cap = 2.0 * l->conf.rate_per_source; /* a burst of two seconds' worth */
	if (now > p->refill_at) {
		p->tokens += (double)(now - p->refill_at) * l->conf.rate_per_source / 1000.0;
		if (p->tokens > cap)
			p->tokens = cap;
		p->refill_at = now;
	}
	if (p->tokens < 1.0) {
		l->rate_dropped++;
		return false;
	}
	p->tokens -= 1.0;
	return true;
}

static struct ep_count **ep_find(struct limits *l, const char *endpoint)
{
	struct ep_count **pp = &l->eps[ua_hash(endpoint, strlen(endpoint)) & (EP_BUCKETS - 1)];

	while (*pp && strcmp((*pp)->name, endpoint) != 0)
		pp = &(*pp)->next;
	return pp;
}

int limits_sub_check(struct limits *l, const struct ua_addr *src, const char *endpoint, uint64_t now)
{
	uint8_t key[19];
	struct ep_count *e;
	struct peer *p;

	if (l->conf.max_subs && l->subs >= l->conf.max_subs)
		return LIMITS_TOTAL;
	e = *ep_find(l, endpoint);
	if (l->conf.max_subs_per_endpoint && e && e->subs >= l->conf.max_subs_per_endpoint)
		return LIMITS_ENDPOINT;
	if (src && l->conf.max_subs_per_source) {
		key_of(src, false, key);
		p = peer_get(l, key, false, now);
		if (p && p->subs >= l->conf.max_subs_per_source)
			return LIMITS_SOURCE;
	}
	return 0;
}

int limits_sub_add(struct limits *l, const struct ua_addr *src, const char *endpoint, uint64_t now)
{
	struct ep_count **pp = ep_find(l, endpoint), *e = *pp;
	uint8_t key[19];
	struct peer *p = NULL;

	if (src) {
		key_of(src, false, key);
		p = peer_get(l, key, true, now);
		if (!p)
			return -1;
	}
	if (!e) {
		size_t n = strlen(endpoint);

		e = calloc(1, sizeof(*e) + n + 1);
		if (!e)
			return -1;
		memcpy(e->name, endpoint, n + 1);
		*pp = e;
	}
	e->subs++;
	if (p)
		p->subs++;
	l->subs++;
	return 0;
}

void limits_sub_remove(struct limits *l, const struct ua_addr *src, const char *endpoint)
{
	struct ep_count *e = *ep_find(l, endpoint);
	uint8_t key[19];

	if (e && e->subs)
		e->subs--;
	if (src) {
		struct peer *p;

		key_of(src, false, key);
		p = peer_get(l, key, false, 0);
		if (p && p->subs)
			p->subs--;
	}
	if (l->subs)
		l->subs--;
}

bool limits_proven(struct limits *l, const struct ua_addr *dst, uint64_t now)
{
	uint8_t key[19];
	struct peer *p;

	key_of(dst, true, key);
	p = peer_get(l, key, false, now);
	return p && p->proven_until > now;
}

void limits_prove(struct limits *l, const struct ua_addr *dst, uint64_t now)
{
	uint8_t key[19];
	struct peer *p;

	key_of(dst, true, key);
	p = peer_get(l, key, true, now);
	if (p)
		p->proven_until = now + LIMITS_PROVEN_MS;
}

bool limits_unproven_send(struct limits *l, const struct ua_addr *dst, uint64_t now)
{
	uint8_t key[19];
	struct peer *p;

	key_of(dst, true, key);
	p = peer_get(l, key, true, now);
	if (!p || p->unproven_out >= LIMITS_UNPROVEN_WINDOW)
		return false;
	p->unproven_out++;
	return true;
}

void limits_unproven_done(struct limits *l, const struct ua_addr *dst)
{
	uint8_t key[19];
	struct peer *p;

	key_of(dst, true, key);
	p = peer_get(l, key, false, 0);
	if (p && p->unproven_out)
		p->unproven_out--;
}
