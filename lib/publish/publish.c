/* SPDX-License-Identifier: MIT */
/* PUBLISH (RFC 3903): the decision, and the life of a publication: initial,
 * refresh, modify, removal and expiry, each with a fresh entity-tag. */
#include <string.h>

#include "publish-private.h"

#define REQ_V1_SIZE (offsetof(struct sippres_publish_req, body_len) + sizeof(size_t))
#define RES_V1_SIZE (offsetof(struct sippres_publish_res, accept) + sizeof(const char *))
#define INFO_V1_SIZE (offsetof(struct sippres_publication_info, body_len) + sizeof(size_t))
#define MAX_FIELD 2048

static const char allow_events[] = "presence, dialog, asterisk-devicestate";

static void decide(struct sippres_publish_res *res, uint32_t status, const char *reason)
{
	res->status = status;
	res->reason = reason;
}

/* ---------------------------------------------------------- publications */

/* A fresh entity-tag that no live publication has. A real random source
 * repeats one with odds of 62^-ETAG_LEN; a broken one that keeps repeating
 * is an error, not an endless loop. */
static int make_etag(struct sippres_ctx *ctx, char tag[SIPPRES__ETAG_LEN + 1])
{
	for (int tries = 0; tries < 8; tries++) {
		int r = sippres__random_string(ctx, tag, SIPPRES__ETAG_LEN, sippres__alpha_alnum);

		if (r < 0)
			return r;
		if (!sippres__smap_find(&ctx->pubs->etags, tag))
			return 0;
	}
	sippres__log(ctx, SIPPRES_LOG_ERROR, "the random source gives entity-tags that are already in use");
	return SIPPRES_E_RANDOM;
}

/* Give p the entity-tag tag (from make_etag); cannot fail. */
static void set_etag(struct sippres_ctx *ctx, struct sippres_publication *p, const char *tag)
{
	struct sippres__pubs *ps = ctx->pubs;

	if (p->etag) {
		sippres__map_remove(&ps->etags, &p->node);
		/* the record's key is its entity-tag: the old one goes */
		if (sippres__repl_on(ctx))
			sippres__repl_record(ctx, SIPPRES_REPL_PUBLICATION, p->etag, NULL, NULL, 0);
	}
	memcpy(p->etag_buf, tag, SIPPRES__ETAG_LEN + 1);
	p->etag = p->etag_buf;
	sippres__smap_insert(ctx, &ps->etags, &p->node);
}

int sippres__pub_link(struct sippres_ctx *ctx, struct sippres_publication *p, uint64_t expires_at, const char *etag)
{
	struct sippres__pubs *ps = ctx->pubs;
	char tag[SIPPRES__ETAG_LEN + 1];
	int r;

	if (sippres__heap_reserve(ctx, &ps->heap, ps->heap.n + 1) < 0)
		return SIPPRES_E_NOMEM;
	if (!etag) {
		r = make_etag(ctx, tag);
		if (r < 0)
			return r;
		etag = tag;
	}
	set_etag(ctx, p, etag);
	p->expires_at = expires_at;
	sippres__heap_push(&ps->heap, p);
	sippres__dlist_append(&p->res->pubs, &p->res_node);
	sippres__dlist_append(&ps->all, &p->all_node);
	ps->count++;
	return 0;
}

void sippres__pub_destroy(struct sippres_ctx *ctx, struct sippres_publication *p)
{
	sippres__pidf_fini(ctx, &p->pidf);
	sippres__dialoginfo_fini(ctx, &p->dinfo);
	sippres__free(ctx, p->body);
	sippres__free(ctx, p);
}

void sippres__pub_end(struct sippres_ctx *ctx, struct sippres_publication *p)
{
	struct sippres__pubs *ps = ctx->pubs;
	struct sippres__pub_resource *r = p->res;

	sippres__heap_remove(&ps->heap, p);
	sippres__map_remove(&ps->etags, &p->node);
	sippres__dlist_remove(&r->pubs, &p->res_node);
	sippres__dlist_remove(&ps->all, &p->all_node);
	ps->count--;
	if (p->event != SIPPRES_PUBLISH_DEVICESTATE)
		sippres__pub_compose(ctx, r, p->event);
	if (sippres__repl_on(ctx))
		sippres__repl_record(ctx, SIPPRES_REPL_PUBLICATION, p->etag, NULL, NULL, 0);
	if (ctx->cb.forget_publication) {
		ctx->in_callback++;
		ctx->cb.forget_publication(ctx->user_data, p);
		ctx->in_callback--;
	}
	sippres__pub_destroy(ctx, p);
}

int sippres__pubs_deadline(struct sippres_ctx *ctx, uint64_t *at)
{
	struct sippres_publication *p = sippres__heap_top(&ctx->pubs->heap);

	if (!p)
		return 0;
	*at = p->expires_at;
	return 1;
}

int sippres__pubs_expire(struct sippres_ctx *ctx, uint64_t now)
{
	struct sippres_publication *p;
	int n = 0;

	while ((p = sippres__heap_top(&ctx->pubs->heap)) && p->expires_at <= now) {
		sippres__log(ctx, SIPPRES_LOG_DEBUG, "publication %s of %s expired", p->etag, p->res->name);
		sippres__pub_end(ctx, p);
		n++;
	}
	return n;
}

/* ---------------------------------------------------------------- PUBLISH */

static bool field_ok(const char *s)
{
	return !s || strnlen(s, MAX_FIELD + 1) <= MAX_FIELD;
}

/* The Content-Type is the package's (ASCII case-insensitive, parameters and
 * white space after the type ignored). */
static bool type_is(const char *ct, const char *want)
{
	size_t n = strcspn(ct, "; \t"), w = strlen(want);

	return n == w && sippres__memeq_nocase(ct, want, n);
}

/* The body is of the package's type; else the 415 is in res. */
static bool type_ok(const struct sippres_publish_req *req, uint32_t ev, struct sippres_publish_res *res)
{
	if (req->content_type && type_is(req->content_type, sippres__pub_event_type(ev)))
		return true;
	decide(res, 415, "Unsupported Media Type");
	res->accept = sippres__pub_event_type(ev);
	return false;
}

/* Set the body in force, parsing it into p first (nothing changes on failure). */
int sippres__pub_take_body(struct sippres_ctx *ctx, struct sippres_publication *p, const char *body, size_t len)
{
	char *copy;
	int r;

	/* no package's body may be larger: refuse before copying what the host gave */
	if (len > SIPPRES__PUBLISH_MAX_XML)
		return SIPPRES_E_TOOBIG;
	copy = sippres__malloc(ctx, len + 1);
	if (!copy)
		return SIPPRES_E_NOMEM;
	r = sippres__pub_parse_into(ctx, p, body, len);
	if (r < 0) {
		sippres__free(ctx, copy);
		return r;
	}
	memcpy(copy, body, len);
	copy[len] = '\0';
	sippres__free(ctx, p->body);
	p->body = copy;
	p->body_len = len;
	p->seq = ++ctx->pubs->seq;
	return 0;
}

/* The outcome of a body that failed: 400 for a bad body, an error otherwise. */
static int body_failed(struct sippres_publish_res *res, int r)
{
	if (r == SIPPRES_E_NOMEM)
		return r;
	decide(res, 400, "Bad Request");
	return 0;
}

/* After the body (or the refresh) went in: the resource's new state, the
 * record, then the answer. The publication is in force from here on: an
 * allocation failure while the state is recomposed is logged and the state
 * catches up with the next change, as after a restore. */
static void done(struct sippres_ctx *ctx, struct sippres_publication *p, bool body, uint64_t expires, uint64_t now,
                 struct sippres_publish_res *res)
{
	if (body && sippres__pub_apply(ctx, p, false) == SIPPRES_E_NOMEM)
		sippres__log(ctx, SIPPRES_LOG_ERROR, "out of memory: the state of publication %s of %s is not applied yet",
		             p->etag, p->res->name);
	p->expires_at = now + expires * 1000;
	sippres__heap_update(&ctx->pubs->heap, p);
	sippres__pub_persist(ctx, p);
	decide(res, 200, "OK");
	res->etag = p->etag;
	res->expires = (uint32_t)expires;
}

static int initial(struct sippres_ctx *ctx, struct sippres__pub_resource *r, uint32_t ev,
                   const struct sippres_publish_req *req, uint64_t expires, uint64_t now,
                   struct sippres_publish_res *res)
{
	struct sippres_publication *p = sippres__calloc(ctx, 1, sizeof(*p));
	int e;

	if (!p)
		return SIPPRES_E_NOMEM;
	p->res = r;
	p->event = ev;
	p->heap_idx = SIPPRES__NOT_IN_HEAP;
	e = sippres__pub_take_body(ctx, p, req->body, req->body_len);
	if (e < 0) {
		sippres__pub_destroy(ctx, p);
		return body_failed(res, e);
	}
	if (expires == 0) {
		/* published and withdrawn at once: nothing to keep */
		sippres__pub_destroy(ctx, p);
		decide(res, 200, "OK");
		return 0;
	}
	e = sippres__pub_link(ctx, p, now + expires * 1000, NULL);
	if (e < 0) {
		sippres__pub_destroy(ctx, p);
		return e;
	}
	done(ctx, p, true, expires, now, res);
	return 0;
}

SIPPRES_EXPORT int sippres_publish(struct sippres_ctx *ctx, const struct sippres_publish_req *req, uint64_t now_ms,
                                   struct sippres_publish_res *res)
{
	struct sippres__pub_resource *r;
	struct sippres_publication *p;
	struct sippres__hnode *n;
	char tag[SIPPRES__ETAG_LEN + 1];
	bool has_body;
	uint64_t requested, expires;
	uint32_t ev;
	size_t size;
	int e;

	if (!ctx || !req || !res)
		return SIPPRES_E_INVAL;
	e = sippres__check_struct(req, REQ_V1_SIZE, sizeof(*req));
	if (e < 0)
		return e;
	if (sippres__check_size(res->size, RES_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	if (!field_ok(req->endpoint) || !field_ok(req->resource) || !field_ok(req->event) || !field_ok(req->if_match) ||
	    !field_ok(req->content_type) || (req->body_len && !req->body))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	size = res->size;
	memset(res, 0, RES_V1_SIZE);
	res->size = size;

	if (!req->endpoint || !sippres__name_ok(req->endpoint) ||
	    !sippres__smap_find(&ctx->pubs->publishers, req->endpoint)) {
		decide(res, 403, "Forbidden");
		return 0;
	}
	ev = sippres__pub_event_parse(req->event);
	if (!ev) {
		decide(res, 489, "Bad Event");
		res->allow_events = allow_events;
		return 0;
	}
	r = req->resource && sippres__name_ok(req->resource) ? sippres__pub_resource_find(ctx, req->resource) : NULL;
	if (!r || !(r->events & ev)) {
		decide(res, 404, "Not Found");
		return 0;
	}
	if (strcmp(req->endpoint, r->endpoint) != 0) {
		decide(res, 403, "Forbidden");
		return 0;
	}
	requested = req->expires < 0 ? r->default_expiry : (uint64_t)req->expires;
	if (requested != 0 && requested < r->min_expiry) {
		decide(res, 423, "Interval Too Brief");
		res->min_expires = r->min_expiry;
		return 0;
	}
	expires = requested < r->max_expiry ? requested : r->max_expiry;
	has_body = req->body && req->body_len;
	if (!req->if_match) {
		if (!has_body) {
			decide(res, 400, "Bad Request"); /* an initial publication carries its state */
			return 0;
		}
		if (!type_ok(req, ev, res))
			return 0;
		return initial(ctx, r, ev, req, expires, now_ms, res);
	}
	n = sippres__smap_find(&ctx->pubs->etags, req->if_match);
	p = n ? SIPPRES__CONTAINER_OF(n, struct sippres_publication, node) : NULL;
	if (!p || p->res != r || p->event != ev || p->expires_at <= now_ms) {
		decide(res, 412, "Conditional Request Failed");
		return 0;
	}
	if (expires == 0) {
		sippres__pub_end(ctx, p);
		decide(res, 200, "OK");
		return 0;
	}
	if (has_body && !type_ok(req, ev, res))
		return 0;
	/* the new entity-tag first: once the body is in, nothing may fail */
	e = make_etag(ctx, tag);
	if (e < 0)
		return e;
	if (has_body) {
		e = sippres__pub_take_body(ctx, p, req->body, req->body_len);
		if (e < 0)
			return body_failed(res, e);
	}
	set_etag(ctx, p, tag);
	done(ctx, p, has_body, expires, now_ms, res);
	return 0;
}

/* --------------------------------------------------------------- queries */

SIPPRES_EXPORT int sippres_publication_get_info(struct sippres_ctx *ctx, const struct sippres_publication *p,
                                                struct sippres_publication_info *info)
{
	struct sippres_publication_info i;

	if (!ctx || !p || !info)
		return SIPPRES_E_INVAL;
	if (sippres__check_size(info->size, INFO_V1_SIZE) < 0)
		return SIPPRES_E_ABI;
	memset(&i, 0, sizeof(i));
	i.size = sizeof(i);
	i.resource = p->res->name;
	i.event = sippres__pub_event_name(p->event);
	i.endpoint = p->res->endpoint;
	i.etag = p->etag;
	i.content_type = sippres__pub_event_type(p->event);
	i.expires_at_ms = p->expires_at;
	i.body_len = p->body_len;
	sippres__copy_out(info, &i, sizeof(i));
	return 0;
}

SIPPRES_EXPORT int sippres_publication_foreach(struct sippres_ctx *ctx,
                                               int (*fn)(void *user_data, struct sippres_publication *pub),
                                               void *user_data)
{
	int n = 0;

	if (!ctx || !fn)
		return SIPPRES_E_INVAL;
	ctx->in_callback++;
	for (struct sippres__dnode *a = ctx->pubs->all.head; a; a = a->next) {
		n++;
		if (fn(user_data, SIPPRES__CONTAINER_OF(a, struct sippres_publication, all_node)) < 0)
			break;
	}
	ctx->in_callback--;
	return n;
}

SIPPRES_EXPORT size_t sippres_publication_count(const struct sippres_ctx *ctx)
{
	return ctx ? ctx->pubs->count : 0;
}
