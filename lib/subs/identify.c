/* SPDX-License-Identifier: MIT */
/* Endpoint identification by source address (pjsip.conf type=identify,
 * match=): the match strings, and the most specific match for an address. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "subs-private.h"

#define IDENTIFY_V1_SIZE (offsetof(struct sippres_identify, n_match) + sizeof(size_t))
#define MAX_MATCHES 1024 /* per identify object */

struct ip_match {
	uint8_t addr[16];  /* IPv4 as the first 4 bytes */
	uint8_t family;    /* 4 or 6 */
	uint8_t prefix;    /* bits */
	uint16_t port;     /* 0: any */
};

struct sippres__identify {
	struct sippres__hnode node;
	char *name;
	char *endpoint;
	struct ip_match *m;
	size_t n;
};

/* Parse a dotted IPv4 netmask into a prefix length; -1 when not contiguous. */
static int netmask_prefix(const uint8_t *b)
{
	uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	int n = 0;

	while (n < 32 && (v & (UINT32_C(1) << (31 - n))))
		n++;
	if (n < 32 && (v << n) != 0)
		return -1;
	return n;
}

int sippres__ip_match_parse(const char *s, struct sippres__ip_match_view *out)
{
	char host[64], *slash, *end;
	const char *p = s, *h, *he;
	struct ip_match m = {0};
	unsigned long port = 0;
	int maxbits;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '[') {
		h = p + 1;
		he = strchr(h, ']');
		if (!he)
			return -1;
		p = he + 1;
		if (*p == ':') {
			port = strtoul(p + 1, &end, 10);
			if (end == p + 1 || port == 0 || port > 65535)
				return -1;
			p = end;
		}
	} else {
		const char *colon = strchr(p, ':'), *sl = strchr(p, '/');

		h = p;
		he = sl ? sl : p + strlen(p);
		/* one colon before any slash: IPv4 with a port; more: IPv6 without brackets */
		if (colon && (!sl || colon < sl) && !memchr(colon + 1, ':', (size_t)(he - colon - 1))) {
			port = strtoul(colon + 1, &end, 10);
			if (end == colon + 1 || port == 0 || port > 65535 || end != he)
				return -1;
			he = colon;
		}
		p = sl ? sl : he;
		if (!sl)
			p = p + strlen(p);
	}
	while (he > h && (he[-1] == ' ' || he[-1] == '\t'))
		he--;
	if (he == h || (size_t)(he - h) >= sizeof(host))
		return -1;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = '\0';
	if (inet_pton(AF_INET, host, m.addr) == 1) {
		m.family = 4;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, host, m.addr) == 1) {
		m.family = 6;
		maxbits = 128;
	} else {
		return -1; /* a host name: Asterisk resolves it; here it would take DNS */
	}
	m.prefix = (uint8_t)maxbits;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '/') {
		char mask[64];
		size_t n;
		uint8_t b[4];

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, " \t");
		if (n == 0 || n >= sizeof(mask) || p[n + strspn(p + n, " \t")])
			return -1;
		memcpy(mask, p, n);
		mask[n] = '\0';
		slash = mask;
		if (m.family == 4 && strchr(mask, '.')) {
			int bits;

			if (inet_pton(AF_INET, mask, b) != 1 || (bits = netmask_prefix(b)) < 0)
				return -1;
			m.prefix = (uint8_t)bits;
		} else {
			unsigned long bits = strtoul(slash, &end, 10);

			if (end == slash || *end || bits > (unsigned long)maxbits || mask[0] == '-' || mask[0] == '+')
				return -1;
			m.prefix = (uint8_t)bits;
		}
	} else if (*p) {
		return -1;
	}
	m.port = (uint16_t)port;
	if (out) {
		memcpy(out->addr, m.addr, sizeof(m.addr));
		out->family = m.family;
		out->prefix = m.prefix;
		out->port = m.port;
	}
	return 0;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));

		return (a[full] & mask) == (b[full] & mask);
	}
	return true;
}

static void identify_destroy(struct sippres_ctx *ctx, struct sippres__identify *id)
{
	if (!id)
		return;
	sippres__free(ctx, id->name);
	sippres__free(ctx, id->endpoint);
	sippres__free(ctx, id->m);
	sippres__free(ctx, id);
}

static void identify_destroy_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	identify_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__identify, node));
}

void sippres__identify_free_all(struct sippres_ctx *ctx)
{
	sippres__map_drain(ctx, &ctx->subs->identifies, identify_destroy_node);
}

SIPPRES_EXPORT int sippres_identify_set(struct sippres_ctx *ctx, const char *name, const struct sippres_identify *id)
{
	struct sippres__identify *x;
	struct sippres__hnode *old;
	int r;

	if (!ctx || !sippres__name_ok(name) || !id)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(id, IDENTIFY_V1_SIZE, sizeof(*id));
	if (r < 0)
		return r;
	if (!sippres__name_ok(id->endpoint) || !id->match || id->n_match == 0 || id->n_match > MAX_MATCHES)
		return SIPPRES_E_INVAL;
	for (size_t i = 0; i < id->n_match; i++) {
		if (!id->match[i] || sippres__ip_match_parse(id->match[i], NULL) < 0)
			return SIPPRES_E_INVAL;
	}
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	x = sippres__calloc(ctx, 1, sizeof(*x));
	if (!x)
		return SIPPRES_E_NOMEM;
	x->name = sippres__strdup(ctx, name);
	x->endpoint = sippres__strdup(ctx, id->endpoint);
	x->m = sippres__calloc(ctx, id->n_match, sizeof(*x->m));
	if (!x->name || !x->endpoint || !x->m) {
		identify_destroy(ctx, x);
		return SIPPRES_E_NOMEM;
	}
	for (size_t i = 0; i < id->n_match; i++) {
		struct sippres__ip_match_view v;

		sippres__ip_match_parse(id->match[i], &v);
		memcpy(x->m[i].addr, v.addr, sizeof(v.addr));
		x->m[i].family = v.family;
		x->m[i].prefix = v.prefix;
		x->m[i].port = v.port;
	}
	x->n = id->n_match;
	old = sippres__smap_put(ctx, &ctx->subs->identifies, &x->node);
	if (old) {
		identify_destroy(ctx, SIPPRES__CONTAINER_OF(old, struct sippres__identify, node));
		return 1;
	}
	return 0;
}

SIPPRES_EXPORT int sippres_identify_remove(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	n = sippres__smap_find(&ctx->subs->identifies, name);
	if (!n)
		return SIPPRES_E_NOTFOUND;
	sippres__map_remove(&ctx->subs->identifies, n);
	identify_destroy_node(ctx, n);
	return 0;
}

const char *sippres__identify_lookup(struct sippres_ctx *ctx, const char *ip, uint32_t port)
{
	struct sippres__map *map = &ctx->subs->identifies;
	const struct sippres__identify *best = NULL;
	uint8_t a[16];
	int family, best_score = -1;

	if (!ip || map->count == 0)
		return NULL;
	if (inet_pton(AF_INET, ip, a) == 1) {
		family = 4;
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		family = 6;
		/* an IPv4-mapped IPv6 address is the IPv4 address */
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			memmove(a, a + 12, 4);
			family = 4;
		}
	} else {
		return NULL;
	}
	for (size_t b = 0; b < map->nbuckets; b++) {
		for (struct sippres__hnode *n = map->buckets[b]; n; n = n->next) {
			const struct sippres__identify *id = SIPPRES__CONTAINER_OF(n, struct sippres__identify, node);

			for (size_t i = 0; i < id->n; i++) {
				const struct ip_match *m = &id->m[i];
				int score;

				if (m->family != family || (m->port && m->port != port) || !prefix_equal(m->addr, a, m->prefix))
					continue;
				score = m->prefix * 2 + (m->port != 0);
				/* ties: the first name in byte order, so that the answer never depends on hashing */
				if (score > best_score || (score == best_score && strcmp(id->name, best->name) < 0)) {
					best_score = score;
					best = id;
				}
			}
		}
	}
	return best ? best->endpoint : NULL;
}
