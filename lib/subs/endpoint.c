/* SPDX-License-Identifier: MIT */
/* Endpoints: who subscribes, with the options that shape their answers and
 * bodies. Replacing an endpoint keeps its subscriptions. */
#include <string.h>

#include "subs-private.h"

struct sippres__endpoint *sippres__endpoint_find(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->subs->endpoints, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__endpoint, node) : NULL;
}

static void endpoint_destroy(struct sippres_ctx *ctx, struct sippres__endpoint *e)
{
	sippres__free(ctx, e->name);
	sippres__free(ctx, e->context);
	sippres__free(ctx, e->sub_context);
	sippres__free(ctx, e->cid_name);
	sippres__free(ctx, e->cid_number);
	sippres__free(ctx, e->auth);
	sippres__free(ctx, e);
}

static void endpoint_destroy_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	endpoint_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__endpoint, node));
}

void sippres__endpoints_free(struct sippres_ctx *ctx)
{
	sippres__map_drain(ctx, &ctx->subs->endpoints, endpoint_destroy_node);
}

#define ENDPOINT_V1_SIZE (offsetof(struct sippres_endpoint, max_notify_size) + sizeof(uint32_t))
#define ENDPOINT_HAS(ep, member) ((ep)->size >= offsetof(struct sippres_endpoint, member) + sizeof((ep)->member))

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A copy of s[0, n) without surrounding blanks and, when it is quoted, without its quotes and with its
 * backslash escapes undone; NULL (with *err unchanged) when nothing is left, NULL with *err = SIPPRES_E_NOMEM
 * when out of memory. */
static char *cid_part(struct sippres_ctx *ctx, const char *s, size_t n, int *err)
{
	bool quoted = false;
	size_t k = 0;
	char *r;

	while (n && is_blank(*s)) {
		s++;
		n--;
	}
	while (n && is_blank(s[n - 1]))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
		quoted = true;
	}
	if (!n)
		return NULL;
	r = sippres__malloc(ctx, n + 1);
	if (!r) {
		*err = SIPPRES_E_NOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (quoted && s[i] == '\\' && i + 1 < n)
			i++;
		r[k++] = s[i];
	}
	r[k] = '\0';
	return r;
}

/* Only the characters of a dialled number (digits, + * #, and the separators people write: - . ( ) and
 * blanks), with at least one digit: Asterisk's test for "this caller ID is a number, not a name". */
static bool looks_like_number(const char *s)
{
	bool digit = false;

	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (!strchr("+*#-.() \t", *s))
			return false;
	}
	return digit;
}

/* Asterisk's callerid= value into name and number (each NULL when absent): `"Name" <number>`, `Name
 * <number>`, `<number>`, a number alone, a name alone. */
static int cid_parse(struct sippres_ctx *ctx, const char *cid, char **name, char **number)
{
	const char *lt = strrchr(cid, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	int err = 0;

	*name = *number = NULL;
	if (lt && gt) {
		*name = cid_part(ctx, cid, (size_t)(lt - cid), &err);
		if (!err)
			*number = cid_part(ctx, lt + 1, (size_t)(gt - lt - 1), &err);
	} else if (looks_like_number(cid)) {
		*number = cid_part(ctx, cid, strlen(cid), &err);
	} else {
		*name = cid_part(ctx, cid, strlen(cid), &err);
	}
	if (err) {
		sippres__free(ctx, *name);
		sippres__free(ctx, *number);
		*name = *number = NULL;
	}
	return err;
}

SIPPRES_EXPORT int sippres_endpoint_set(struct sippres_ctx *ctx, const char *name, const struct sippres_endpoint *ep)
{
	struct sippres__endpoint *e, *old;
	const char *context, *sub_context, *auth = NULL;
	int r, n_auth;

	if (!ctx || !sippres__name_ok(name) || !ep)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(ep, ENDPOINT_V1_SIZE, sizeof(*ep));
	if (r < 0)
		return r;
	context = ep->context && ep->context[0] ? ep->context : "default";
	sub_context = ep->subscribe_context && ep->subscribe_context[0] ? ep->subscribe_context : context;
	if (!sippres__name_ok(context) || !sippres__name_ok(sub_context) || ep->profile > SIPPRES_PROFILE_ASTERISK ||
	    (ep->flags & ~(SIPPRES_ENDPOINT_DENY_SUBSCRIBE | SIPPRES_ENDPOINT_NOTIFY_EARLY_INUSE_RINGING)))
		return SIPPRES_E_INVAL;
	if (ENDPOINT_HAS(ep, auth))
		auth = ep->auth;
	n_auth = sippres__auth_list_check(auth);
	if (n_auth < 0)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	e = sippres__calloc(ctx, 1, sizeof(*e));
	if (!e)
		return SIPPRES_E_NOMEM;
	e->name = sippres__strdup(ctx, name);
	e->context = sippres__strdup(ctx, context);
	e->sub_context = sippres__strdup(ctx, sub_context);
	if (n_auth > 0)
		e->auth = sippres__strdup(ctx, auth);
	if (!e->name || !e->context || !e->sub_context || (n_auth > 0 && !e->auth) ||
	    (ENDPOINT_HAS(ep, callerid) && ep->callerid && cid_parse(ctx, ep->callerid, &e->cid_name, &e->cid_number))) {
		endpoint_destroy(ctx, e);
		return SIPPRES_E_NOMEM;
	}
	memcpy(&e->opts, ep, ENDPOINT_V1_SIZE);
	e->opts.size = sizeof(e->opts);
	e->opts.callerid = NULL; /* kept as cid_name and cid_number */
	e->opts.context = e->context;
	e->opts.subscribe_context = e->sub_context;
	e->opts.auth = e->auth;
	if (e->opts.max_expiry == 0)
		e->opts.max_expiry = SIPPRES__DEFAULT_EXPIRY;
	if (e->opts.default_expiry == 0)
		e->opts.default_expiry = SIPPRES__DEFAULT_EXPIRY;
	old = sippres__endpoint_find(ctx, name);
	if (old) {
		/* keep the object the subscriptions point to; swap its contents */
		struct sippres__endpoint tmp = *old;

		old->context = e->context;
		old->sub_context = e->sub_context;
		old->cid_name = e->cid_name;
		old->cid_number = e->cid_number;
		old->auth = e->auth;
		old->opts = e->opts;
		e->context = tmp.context;
		e->sub_context = tmp.sub_context;
		e->cid_name = tmp.cid_name;
		e->cid_number = tmp.cid_number;
		e->auth = tmp.auth;
		endpoint_destroy(ctx, e);
		return 1;
	}
	sippres__smap_insert(ctx, &ctx->subs->endpoints, &e->node);
	return 0;
}

SIPPRES_EXPORT int sippres_endpoint_remove(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__endpoint *e;
	struct sippres__dnode *n, *next;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	e = sippres__endpoint_find(ctx, name);
	if (!e)
		return SIPPRES_E_NOTFOUND;
	for (n = ctx->subs->all.head; n && e->nsubs; n = next) {
		struct sippres_sub *s = SIPPRES__SUB_OF(n);

		next = n->next;
		if (s->ep != e)
			continue;
		if (s->queued == SQ_DROP)
			sippres__sub_end(ctx, s);
		else
			sippres__sub_finish(ctx, s, NULL, SF_DEACTIVATED);
		/* finish may free the next subscription only if it is s itself */
	}
	sippres__map_remove(&ctx->subs->endpoints, &e->node);
	endpoint_destroy(ctx, e);
	return 0;
}
