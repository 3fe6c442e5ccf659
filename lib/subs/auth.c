/* SPDX-License-Identifier: MIT */
/* Authentication policy: auth objects (pjsip.conf type=auth), the endpoint's
 * auth= list, and the decision on a request's credentials. The digest
 * mechanics (nonces, hashes, headers) are the host's: it verifies a
 * credential against the secret the library hands to its verify hook. */
#include <string.h>

#include "subs-private.h"

#define AUTH_V1_SIZE (offsetof(struct sippres_auth, nonce_lifetime) + sizeof(uint32_t))
#define REQ_V1_SIZE (offsetof(struct sippres_auth_req, user_data) + sizeof(void *))
#define RES_V1_SIZE (offsetof(struct sippres_auth_res, reason) + sizeof(const char *))

struct sippres__auth {
	struct sippres__hnode node;
	char *name;
	char *username, *password, *md5_cred, *realm;
	uint32_t type, algorithms, nonce_lifetime;
};

static struct sippres__auth *auth_find(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(&ctx->subs->auths, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct sippres__auth, node) : NULL;
}

static void auth_destroy(struct sippres_ctx *ctx, struct sippres__auth *a)
{
	if (!a)
		return;
	sippres__free(ctx, a->name);
	sippres__free(ctx, a->username);
	if (a->password) /* no copy of a secret lingers in freed memory */
		memset(a->password, 0, strlen(a->password));
	sippres__free(ctx, a->password);
	sippres__free(ctx, a->md5_cred);
	sippres__free(ctx, a->realm);
	sippres__free(ctx, a);
}

static void auth_destroy_node(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	auth_destroy(ctx, SIPPRES__CONTAINER_OF(n, struct sippres__auth, node));
}

void sippres__auth_free_all(struct sippres_ctx *ctx)
{
	sippres__map_drain(ctx, &ctx->subs->auths, auth_destroy_node);
	sippres__free(ctx, ctx->subs->challenges);
	ctx->subs->challenges = NULL;
}

/* A username or realm: it goes into a quoted header parameter. */
bool sippres__auth_token_ok(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, SIPPRES_MAX_NAME + 1);
	return n > 0 && n <= SIPPRES_MAX_NAME && sippres__text_ok(s, n, NULL) && !strchr(s, '"') && !strchr(s, '\\');
}

static bool hex32_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return i == 32;
}

SIPPRES_EXPORT int sippres_auth_set(struct sippres_ctx *ctx, const char *name, const struct sippres_auth *auth)
{
	struct sippres__auth *a;
	struct sippres__hnode *old;
	const char *realm;
	uint32_t algs;
	int r;

	if (!ctx || !sippres__name_ok(name) || !auth)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(auth, AUTH_V1_SIZE, sizeof(*auth));
	if (r < 0)
		return r;
	realm = auth->realm && auth->realm[0] ? auth->realm : SIPPRES_AUTH_DEFAULT_REALM;
	algs = auth->algorithms;
	if (auth->type == SIPPRES_AUTH_USERPASS) {
		if (!algs)
			algs = SIPPRES_AUTH_ALG_SHA256 | SIPPRES_AUTH_ALG_MD5;
		if (auth->password && strnlen(auth->password, SIPPRES_MAX_TEXT + 1) > SIPPRES_MAX_TEXT)
			return SIPPRES_E_INVAL;
	} else if (auth->type == SIPPRES_AUTH_MD5) {
		if (!algs)
			algs = SIPPRES_AUTH_ALG_MD5;
		/* an MD5 HA1 can answer only MD5 challenges */
		if (!auth->md5_cred || !hex32_ok(auth->md5_cred) || algs != SIPPRES_AUTH_ALG_MD5)
			return SIPPRES_E_INVAL;
	} else {
		return SIPPRES_E_INVAL;
	}
	if ((algs & ~(SIPPRES_AUTH_ALG_MD5 | SIPPRES_AUTH_ALG_SHA256)) || !sippres__auth_token_ok(auth->username) ||
	    !sippres__auth_token_ok(realm))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	a = sippres__calloc(ctx, 1, sizeof(*a));
	if (!a)
		return SIPPRES_E_NOMEM;
	a->type = auth->type;
	a->algorithms = algs;
	a->nonce_lifetime = auth->nonce_lifetime ? auth->nonce_lifetime : SIPPRES_AUTH_DEFAULT_NONCE_LIFETIME;
	a->name = sippres__strdup(ctx, name);
	a->username = sippres__strdup(ctx, auth->username);
	a->realm = sippres__strdup(ctx, realm);
	if (a->type == SIPPRES_AUTH_USERPASS)
		a->password = sippres__strdup(ctx, auth->password ? auth->password : "");
	else
		a->md5_cred = sippres__strdup(ctx, auth->md5_cred);
	if (!a->name || !a->username || !a->realm || (a->type == SIPPRES_AUTH_USERPASS ? !a->password : !a->md5_cred)) {
		auth_destroy(ctx, a);
		return SIPPRES_E_NOMEM;
	}
	for (char *p = a->md5_cred; p && *p; p++)
		*p = (char)sippres__ascii_lower(*p);
	old = sippres__smap_put(ctx, &ctx->subs->auths, &a->node);
	if (old) {
		auth_destroy(ctx, SIPPRES__CONTAINER_OF(old, struct sippres__auth, node));
		return 1;
	}
	return 0;
}

SIPPRES_EXPORT int sippres_auth_remove(struct sippres_ctx *ctx, const char *name)
{
	struct sippres__auth *a;

	if (!ctx || !sippres__name_ok(name))
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	a = auth_find(ctx, name);
	if (!a)
		return SIPPRES_E_NOTFOUND;
	sippres__map_remove(&ctx->subs->auths, &a->node);
	auth_destroy(ctx, a);
	return 0;
}

/* ---- the endpoint's auth= list ------------------------------------------------ */

int sippres__auth_list_check(const char *list)
{
	const char *p = list, *name;
	size_t len, n = 0;
	char buf[SIPPRES_MAX_NAME + 1];

	if (!list)
		return 0;
	if (strnlen(list, SIPPRES_MAX_TEXT + 1) > SIPPRES_MAX_TEXT)
		return SIPPRES_E_INVAL;
	while (sippres__list_next(&p, &name, &len)) {
		if (len > SIPPRES_MAX_NAME || ++n > SIPPRES__MAX_ENDPOINT_AUTHS)
			return SIPPRES_E_INVAL;
		memcpy(buf, name, len);
		buf[len] = '\0';
		if (!sippres__name_ok(buf))
			return SIPPRES_E_INVAL;
	}
	return (int)n;
}

/* ---- the decision --------------------------------------------------------------- */

struct decide {
	struct sippres_ctx *ctx;
	const struct sippres_auth_req *req;
	size_t n_auths, n_missing, n_wrong;
	bool accepted;
	const char *accepted_auth;
};

/* One auth object against the request's credentials: *wrong when a credential of its realm was wrong,
 * *stale when one was stale. Returns 1 (verified), 0, or < 0. */
static int try_auth(struct decide *d, const struct sippres__auth *a, bool *wrong, bool *stale)
{
	const struct sippres_auth_req *req = d->req;
	struct sippres_auth_secret sec = {
		.size = sizeof(sec), .auth = a->name, .username = a->username, .realm = a->realm, .type = a->type,
		.algorithms = a->algorithms, .password = a->password, .md5_cred = a->md5_cred,
		.nonce_lifetime = a->nonce_lifetime,
	};

	for (size_t i = 0; i < req->n_credentials; i++) {
		const struct sippres_auth_credential *c = &req->credentials[i];
		int v;

		if (!c->realm || strcmp(c->realm, a->realm) != 0)
			continue;
		if (!c->username || strcmp(c->username, a->username) != 0) {
			*wrong = true; /* Asterisk's lookup refuses another username in its realm */
			continue;
		}
		d->ctx->in_callback++;
		v = req->verify(req->user_data, i, &sec);
		d->ctx->in_callback--;
		if (v < 0 || v > SIPPRES_AUTH_VERDICT_WRONG)
			return SIPPRES_E_CALLBACK;
		if (v == SIPPRES_AUTH_VERDICT_OK)
			return 1;
		if (v == SIPPRES_AUTH_VERDICT_STALE)
			*stale = true;
		else
			*wrong = true;
	}
	return 0;
}

static int challenges_reserve(struct sippres_ctx *ctx, size_t n)
{
	struct sippres__subs *ss = ctx->subs;
	struct sippres_auth_challenge *c;

	if (n <= ss->challenges_cap)
		return 0;
	c = sippres__reallocarray(ctx, ss->challenges, n, sizeof(*c));
	if (!c)
		return SIPPRES_E_NOMEM;
	ss->challenges = c;
	ss->challenges_cap = n;
	return 0;
}

/* Walk the endpoint's auth objects: accept at the first that verifies, else fill the challenges. */
static int authenticate(struct decide *d, const struct sippres__endpoint *e, struct sippres_auth_res *res)
{
	struct sippres__subs *ss = d->ctx->subs;
	const char *p = e->auth, *name;
	char buf[SIPPRES_MAX_NAME + 1];
	size_t len, n = 0;
	int r;

	r = challenges_reserve(d->ctx, SIPPRES__MAX_ENDPOINT_AUTHS);
	if (r < 0)
		return r;
	while (sippres__list_next(&p, &name, &len)) {
		const struct sippres__auth *a;
		bool wrong = false, stale = false;

		memcpy(buf, name, len); /* checked by sippres__auth_list_check(): a name, at most SIPPRES_MAX_NAME */
		buf[len] = '\0';
		d->n_auths++;
		a = auth_find(d->ctx, buf);
		if (!a) {
			d->n_missing++;
			continue;
		}
		r = try_auth(d, a, &wrong, &stale);
		if (r < 0)
			return r;
		if (r == 1) {
			d->accepted = true;
			d->accepted_auth = a->name;
			return 0;
		}
		d->n_wrong += wrong;
		ss->challenges[n++] = (struct sippres_auth_challenge){
			.realm = a->realm, .algorithms = a->algorithms, .stale = stale, .nonce_lifetime = a->nonce_lifetime,
		};
	}
	res->challenges = ss->challenges;
	res->n_challenges = n;
	return 0;
}

static bool req_ok(const struct sippres_auth_req *req)
{
	if (req->flags || (req->n_credentials && (!req->credentials || !req->verify)) || req->source_port > 65535)
		return false;
	if (req->endpoint && !sippres__name_ok(req->endpoint))
		return false;
	return true;
}

SIPPRES_EXPORT int sippres_auth_check(struct sippres_ctx *ctx, const struct sippres_auth_req *req,
                                      struct sippres_auth_res *res)
{
	struct decide d = {.ctx = ctx, .req = req};
	const struct sippres__endpoint *e = NULL;
	size_t size;
	int r;

	if (!ctx || !req || !res)
		return SIPPRES_E_INVAL;
	r = sippres__check_struct(req, REQ_V1_SIZE, sizeof(*req));
	if (r < 0)
		return r;
	if (res->size < RES_V1_SIZE)
		return SIPPRES_E_ABI;
	if (!req_ok(req))
		return SIPPRES_E_INVAL;
	size = res->size;
	memset(res, 0, size < sizeof(*res) ? size : sizeof(*res));
	res->size = size;

	if (req->endpoint) {
		e = sippres__endpoint_find(ctx, req->endpoint);
		res->identified_by = e ? SIPPRES_IDENTIFY_DIALOG : SIPPRES_IDENTIFY_NONE;
	}
	if (!e && !req->endpoint) {
		const char *by_ip = sippres__identify_lookup(ctx, req->source_ip, req->source_port);

		if (by_ip && (e = sippres__endpoint_find(ctx, by_ip)) != NULL)
			res->identified_by = SIPPRES_IDENTIFY_IP;
		else if (req->from_user && (e = sippres__endpoint_find(ctx, req->from_user)) != NULL)
			res->identified_by = SIPPRES_IDENTIFY_USERNAME;
		else if ((e = sippres__endpoint_find(ctx, "anonymous")) != NULL)
			res->identified_by = SIPPRES_IDENTIFY_ANONYMOUS;
	}
	if (!e) {
		res->decision = SIPPRES_AUTH_FORBID;
		res->status = 403;
		res->reason = req->endpoint ? "the dialog's endpoint is gone" : "no endpoint matches";
		return 0;
	}
	res->endpoint = e->name;
	if (!e->auth) {
		res->decision = SIPPRES_AUTH_ACCEPT;
		res->reason = "the endpoint has no auth";
		return 0;
	}
	r = authenticate(&d, e, res);
	if (r < 0) {
		memset(res, 0, size < sizeof(*res) ? size : sizeof(*res));
		res->size = size;
		return r;
	}
	if (d.accepted) {
		res->decision = SIPPRES_AUTH_ACCEPT;
		res->auth = d.accepted_auth;
		res->challenges = NULL;
		res->n_challenges = 0;
		res->reason = "credentials verified";
	} else if (d.n_missing == d.n_auths) {
		res->decision = SIPPRES_AUTH_FORBID;
		res->status = 500;
		res->reason = "the endpoint's auth= names no auth object that exists";
		res->challenges = NULL;
		res->n_challenges = 0;
	} else if (d.n_wrong == d.n_auths - d.n_missing) {
		res->decision = SIPPRES_AUTH_FORBID;
		res->status = 403;
		res->reason = "wrong credentials";
		res->challenges = NULL;
		res->n_challenges = 0;
	} else {
		res->decision = SIPPRES_AUTH_CHALLENGE;
		res->status = 401;
		res->reason = req->n_credentials ? "no usable credentials" : "credentials needed";
		for (size_t i = 0; i < res->n_challenges; i++) {
			if (res->challenges[i].stale)
				res->reason = "stale nonce";
		}
	}
	return 0;
}
