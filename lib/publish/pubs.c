/* SPDX-License-Identifier: MIT */
/* The publication engine's lifecycle, the resources that may be published to
 * (inbound publications), the outbound publishes this context's device
 * changes go to, and the entity id they carry. */
#include <string.h>

#include "publish-private.h"

#define PUB_V1_SIZE (offsetof(struct sippres_inbound_publication, devicestate_publish) + sizeof(const char *))
#define OUT_V1_SIZE (offsetof(struct sippres_outbound_publish, device_state_filter) + sizeof(const char *))
#define ALL_EVENTS (SIPPRES_PUBLISH_PRESENCE | SIPPRES_PUBLISH_DIALOG | SIPPRES_PUBLISH_DEVICESTATE)
#define DEFAULT_MIN_EXPIRY 60
#define DEFAULT_EXPIRY 3600

static const struct {
	uint32_t bit;
	const char *name, *type;
} packages[] = {
	{SIPPRES_PUBLISH_PRESENCE, "presence", "application/pidf+xml"},
	{SIPPRES_PUBLISH_DIALOG, "dialog", "application/dialog-info+xml"},
	{SIPPRES_PUBLISH_DEVICESTATE, "asterisk-devicestate", "application/json"},
};
#define NPACKAGES (sizeof(packages) / sizeof(packages[0]))

uint32_t sippres__pub_event_parse(const char *event)
{
	/* RFC 6665 8.2.1: event types compare byte by byte */
	for (size_t i = 0; event && i < NPACKAGES; i++) {
		if (strcmp(event, packages[i].name) == 0)
			return packages[i].bit;
	}
	return 0;
}

const char *sippres__pub_event_name(uint32_t event)
{
	for (size_t i = 0; i < NPACKAGES; i++) {
		if (packages[i].bit == event)
			return packages[i].name;
	}
	return "";
}

const char *sippres__pub_event_type(uint32_t event)
{
	for (size_t i = 0; i < NPACKAGES; i++) {
		if (packages[i].bit == event)
			return packages[i].type;
	}
	return "";
}

/* ------------------------------------------------------------ resources */

struct sippres__pub_resource *sippres__pub_resource_find(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->pubs->resources, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__pub_resource, node) : NULL;
}

static int publisher_add(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->pubs->publishers, name);
	struct sippres__publisher *p;

	if (n) {
		SIPPRES__CONTAINER_OF(n, struct sippres__publisher, node)->nres++;
		return 0;
	}
	p = sippres__calloc(ctx, 1, sizeof(*p));
	if (!p || !(p->name = sippres__strdup(ctx, name))) {
		sippres__free(ctx, p);
		return SIPPRES_E_NOMEM;
	}
	p->nres = 1;
	sippres__smap_insert(ctx, &ctx->pubs->publishers, &p->node);
	return 0;
}

static void publisher_drop(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->pubs->publishers, name);
	struct sippres__publisher *p = n ? SIPPRES__CONTAINER_OF(n, struct sippres__publisher, node) : NULL;

	if (!p || --p->nres)
		return;
	sippres__map_remove(&ctx->pubs->publishers, &p->node);
	sippres__free(ctx, p->name);
	sippres__free(ctx, p);
}

static void resource_free(struct sippres_ctx *ctx, struct sippres__pub_resource *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ncalls; i++)
		sippres__free(ctx, r->calls[i]);
	sippres__free(ctx, r->calls);
	sippres__filter_fini(&r->filter);
	sippres__free(ctx, r->name);
	sippres__free(ctx, r->endpoint);
	sippres__free(ctx, r->devicestate_publish);
	sippres__free(ctx, r->provider);
	sippres__free(ctx, r->device);
	sippres__free(ctx, r);
}

static char *joined(struct sippres_ctx *ctx, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = sippres__malloc(ctx, la + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/* A new resource from the host's description (not yet linked anywhere). */
static int resource_new(struct sippres_ctx *ctx, const char *name, const struct sippres_inbound_publication *p,
                        struct sippres__pub_resource **ret)
{
	struct sippres__pub_resource *r = sippres__calloc(ctx, 1, sizeof(*r));
	int e;

	if (!r)
		return SIPPRES_E_NOMEM;
	r->events = p->events;
	r->min_expiry = p->min_expiry ? p->min_expiry : DEFAULT_MIN_EXPIRY;
	r->max_expiry = p->max_expiry ? p->max_expiry : DEFAULT_EXPIRY;
	r->default_expiry = p->default_expiry ? p->default_expiry : DEFAULT_EXPIRY;
	r->name = sippres__strdup(ctx, name);
	r->endpoint = sippres__strdup(ctx, p->endpoint);
	r->provider = joined(ctx, "Publish:", name);
	r->device = joined(ctx, "Dialog/", name);
	if (p->devicestate_publish && p->devicestate_publish[0])
		r->devicestate_publish = sippres__strdup(ctx, p->devicestate_publish);
	if (!r->name || !r->endpoint || !r->provider || !r->device ||
	    (p->devicestate_publish && p->devicestate_publish[0] && !r->devicestate_publish)) {
		resource_free(ctx, r);
		return SIPPRES_E_NOMEM;
	}
	e = sippres__filter_compile(ctx, &r->filter, p->device_state_filter);
	if (e < 0) {
		resource_free(ctx, r);
		return e == SIPPRES_E_NOMEM ? e : SIPPRES_E_INVAL;
	}
	*ret = r;
	return 0;
}

SIPPRES_EXPORT int sippres_inbound_publication_set(struct sippres_ctx *ctx, const char *resource,
                                                   const struct sippres_inbound_publication *p)
{
	struct sippres__pub_resource *r, *old;
	int e;

	if (!ctx || !sippres__name_ok(resource) || !p)
		return SIPPRES_E_INVAL;
	e = sippres__check_struct(p, PUB_V1_SIZE, sizeof(*p));
	if (e < 0)
		return e;
	if (!sippres__name_ok(p->endpoint) || p->events == 0 || (p->events & ~ALL_EVENTS) ||
	    (p->max_expiry && p->min_expiry > p->max_expiry) ||
	    (p->devicestate_publish && p->devicestate_publish[0] && !sippres__name_ok(p->devicestate_publish)))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	e = resource_new(ctx, resource, p, &r);
	if (e < 0)
		return e;
	e = publisher_add(ctx, r->endpoint);
	if (e < 0) {
		resource_free(ctx, r);
		return e;
	}
	old = sippres__pub_resource_find(ctx, resource);
	if (!old) {
		sippres__smap_insert(ctx, &ctx->pubs->resources, &r->node);
		return 0;
	}
	/* the live publications move over; those of a package no longer enabled end */
	while (old->pubs.head) {
		struct sippres_publication *pub = SIPPRES__CONTAINER_OF(old->pubs.head, struct sippres_publication,
		                                                        res_node);

		sippres__dlist_remove(&old->pubs, &pub->res_node);
		pub->res = r;
		sippres__dlist_append(&r->pubs, &pub->res_node);
	}
	r->calls = old->calls;
	r->ncalls = old->ncalls;
	old->calls = NULL;
	old->ncalls = 0;
	sippres__map_remove(&ctx->pubs->resources, &old->node);
	sippres__smap_insert(ctx, &ctx->pubs->resources, &r->node);
	publisher_drop(ctx, old->endpoint);
	resource_free(ctx, old);
	for (struct sippres__dnode *n = r->pubs.head, *next; n; n = next) {
		struct sippres_publication *pub = SIPPRES__CONTAINER_OF(n, struct sippres_publication, res_node);

		next = n->next;
		if (!(r->events & pub->event))
			sippres__pub_end(ctx, pub);
	}
	return 1;
}

SIPPRES_EXPORT int sippres_inbound_publication_remove(struct sippres_ctx *ctx, const char *resource)
{
	struct sippres__pub_resource *r;

	if (!ctx || !sippres__name_ok(resource))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	r = sippres__pub_resource_find(ctx, resource);
	if (!r)
		return SIPPRES_E_NOTFOUND;
	while (r->pubs.head)
		sippres__pub_end(ctx, SIPPRES__CONTAINER_OF(r->pubs.head, struct sippres_publication, res_node));
	sippres__map_remove(&ctx->pubs->resources, &r->node);
	publisher_drop(ctx, r->endpoint);
	resource_free(ctx, r);
	return 0;
}

/* ------------------------------------------------------------- outbound */

struct sippres__outbound *sippres__pub_outbound_find(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->pubs->outbound, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__outbound, node) : NULL;
}

static void outbound_free(struct sippres_ctx *ctx, struct sippres__outbound *o)
{
	sippres__filter_fini(&o->filter);
	sippres__free(ctx, o->name);
	sippres__free(ctx, o);
}

SIPPRES_EXPORT int sippres_outbound_publish_set(struct sippres_ctx *ctx, const char *name,
                                                const struct sippres_outbound_publish *out)
{
	struct sippres__outbound *o;
	struct sippres__hnode *replaced;
	int e;

	if (!ctx || !sippres__name_ok(name) || !out)
		return SIPPRES_E_INVAL;
	e = sippres__check_struct(out, OUT_V1_SIZE, sizeof(*out));
	if (e < 0)
		return e;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	o = sippres__calloc(ctx, 1, sizeof(*o));
	if (!o || !(o->name = sippres__strdup(ctx, name))) {
		sippres__free(ctx, o);
		return SIPPRES_E_NOMEM;
	}
	e = sippres__filter_compile(ctx, &o->filter, out->device_state_filter);
	if (e < 0) {
		outbound_free(ctx, o);
		return e == SIPPRES_E_NOMEM ? e : SIPPRES_E_INVAL;
	}
	replaced = sippres__smap_put(ctx, &ctx->pubs->outbound, &o->node);
	if (replaced)
		outbound_free(ctx, SIPPRES__CONTAINER_OF(replaced, struct sippres__outbound, node));
	return replaced ? 1 : 0;
}

SIPPRES_EXPORT int sippres_outbound_publish_remove(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__outbound *o;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	o = sippres__pub_outbound_find(ctx, name);
	if (!o)
		return SIPPRES_E_NOTFOUND;
	sippres__map_remove(&ctx->pubs->outbound, &o->node);
	outbound_free(ctx, o);
	return 0;
}

/* Hand one body to the publish callback. */
static int out_body(struct sippres_ctx *ctx, const struct sippres__outbound *o, const char *body, size_t len)
{
	int r;

	if (!ctx->cb.publish)
		return 0;
	ctx->in_callback++;
	r = ctx->cb.publish(ctx->user_data, o->name, "asterisk-devicestate", "application/json", body, len);
	ctx->in_callback--;
	if (r < 0) {
		sippres__log(ctx, SIPPRES_LOG_INFO, "outbound publish %s: the host could not send a PUBLISH", o->name);
		return SIPPRES_E_CALLBACK;
	}
	return 1;
}

static int out_one(struct sippres_ctx *ctx, const struct sippres__outbound *o, const char *device, int state)
{
	char *body;
	size_t len;
	int r;

	if (!sippres__filter_match(&o->filter, device))
		return 0;
	r = sippres__ast_devicestate_write(ctx, device, state, true, ctx->pubs->eid, &body, &len);
	if (r < 0)
		return r;
	r = out_body(ctx, o, body, len);
	sippres__free(ctx, body);
	return r;
}

int sippres__pub_out_device(struct sippres_ctx *ctx, const struct sippres__outbound *only, const char *device,
                            int state)
{
	struct sippres__map *m = &ctx->pubs->outbound;
	int n = 0, r;

	if (only) {
		r = out_one(ctx, only, device, state);
		return r;
	}
	for (size_t i = 0; i < m->nbuckets; i++) {
		for (struct sippres__hnode *e = m->buckets[i]; e; e = e->next) {
			r = out_one(ctx, SIPPRES__CONTAINER_OF(e, struct sippres__outbound, node), device, state);
			if (r < 0)
				return r;
			n += r;
		}
	}
	return n;
}

struct out_all {
	struct sippres_ctx *ctx;
	const struct sippres__outbound *o;
	int n, err;
};

static int out_all_one(void *arg, const char *device, int state)
{
	struct out_all *a = arg;
	int r = out_one(a->ctx, a->o, device, state);

	if (r < 0) {
		a->err = r;
		return -1;
	}
	a->n += r;
	return 0;
}

int sippres__pub_out_all(struct sippres_ctx *ctx, const struct sippres__outbound *o)
{
	struct out_all a = {.ctx = ctx, .o = o};

	sippres__local_devices_foreach(ctx, out_all_one, &a);
	return a.err < 0 ? a.err : a.n;
}

SIPPRES_EXPORT int sippres_outbound_publish_resync(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__outbound *o;
	char *body;
	size_t len;
	int r, n;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	o = sippres__pub_outbound_find(ctx, name);
	if (!o)
		return SIPPRES_E_NOTFOUND;
	r = sippres__ast_refresh_write(ctx, ctx->pubs->eid, &body, &len);
	if (r < 0)
		return r;
	r = out_body(ctx, o, body, len);
	sippres__free(ctx, body);
	if (r < 0)
		return r;
	n = sippres__pub_out_all(ctx, o);
	return n < 0 ? n : n + r;
}

SIPPRES_EXPORT int sippres_ctx_set_eid(struct sippres_ctx *ctx, const char *eid)
{
	char norm[SIPPRES__EID_LEN + 1];

	if (!ctx || !eid || !sippres__eid_ok(eid, strlen(eid), norm))
		return SIPPRES_E_INVAL;
	memcpy(ctx->pubs->eid, norm, sizeof(norm));
	return 0;
}

SIPPRES_EXPORT const char *sippres_ctx_get_eid(const struct sippres_ctx *ctx)
{
	return ctx ? ctx->pubs->eid : NULL;
}

/* ------------------------------------------------------------ lifecycle */

/* The starting entity id: made from the context's random hash seed, so
 * that it takes no bytes of its own from the random source (a host's
 * deterministic source then gives the same tokens as without publications). */
static void initial_eid(struct sippres_ctx *ctx, char *out)
{
	static const char hex[] = SIPPRES__ALPHA_HEX;
	uint64_t z = (uint64_t)ctx->hash_seed * UINT64_C(0x9E3779B97F4A7C15) + UINT64_C(0x6a09e667f3bcc908);
	uint8_t b[6];

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	z ^= z >> 31;
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(z >> (8 * i));
	b[0] = (uint8_t)((b[0] & 0xfc) | 0x02); /* locally administered, unicast */
	for (int i = 0; i < 6; i++) {
		out[3 * i] = hex[b[i] >> 4];
		out[3 * i + 1] = hex[b[i] & 15];
		out[3 * i + 2] = i < 5 ? ':' : '\0';
	}
}

int sippres__pubs_new(struct sippres_ctx *ctx)
{
	struct sippres__pubs *ps = sippres__calloc(ctx, 1, sizeof(*ps));
	int r = SIPPRES_E_NOMEM;

	if (!ps)
		return r;
	ctx->pubs = ps;
	sippres__heap_init(&ps->heap, offsetof(struct sippres_publication, expires_at),
	                   offsetof(struct sippres_publication, heap_idx));
	if (SIPPRES__SMAP_INIT(ctx, &ps->resources, 16, struct sippres__pub_resource, node, name, false) < 0 ||
	    SIPPRES__SMAP_INIT(ctx, &ps->publishers, 16, struct sippres__publisher, node, name, false) < 0 ||
	    SIPPRES__SMAP_INIT(ctx, &ps->etags, 16, struct sippres_publication, node, etag, false) < 0 ||
	    SIPPRES__SMAP_INIT(ctx, &ps->outbound, 8, struct sippres__outbound, node, name, false) < 0)
		goto fail;
	initial_eid(ctx, ps->eid);
	sippres__registry_set_device_hook(ctx, sippres__pub_device_hook);
	return 0;
fail:
	sippres__map_fini(ctx, &ps->resources);
	sippres__map_fini(ctx, &ps->publishers);
	sippres__map_fini(ctx, &ps->etags);
	sippres__map_fini(ctx, &ps->outbound);
	sippres__free(ctx, ps);
	ctx->pubs = NULL;
	return r;
}

static void resource_free_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	resource_free(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__pub_resource, node));
}

static void publisher_free_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	struct sippres__publisher *p = SIPPRES__CONTAINER_OF(n, struct sippres__publisher, node);

	sippres__free(ctx, p->name);
	sippres__free(ctx, p);
}

static void outbound_free_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	outbound_free(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__outbound, node));
}

void sippres__pubs_free(struct sippres_ctx *ctx)
{
	struct sippres__pubs *ps = ctx->pubs;
	struct sippres__dnode *n;

	if (!ps)
		return;
	n = ps->all.head;
	while (n) {
		struct sippres__dnode *next = n->next;
		sippres__pub_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres_publication, all_node));
		n = next;
	}
	sippres__map_fini(ctx, &ps->etags);
	sippres__map_drain(ctx, &ps->resources, resource_free_node);
	sippres__map_drain(ctx, &ps->publishers, publisher_free_node);
	sippres__map_drain(ctx, &ps->outbound, outbound_free_node);
	sippres__heap_free(ctx, &ps->heap);
	sippres__free(ctx, ps->record);
	sippres__free(ctx, ps);
	ctx->pubs = NULL;
}
