/* SPDX-License-Identifier: MIT */
/* pjsip.conf authentication and transport sections: type=auth and
 * type=identify (checked and handed to the sink, which registers them),
 * type=transport (checked and handed to the host's io hook: sockets are the
 * host's), and the check that every endpoint's auth= names an auth section.
 * The keys are Asterisk's (res_pjsip's auth and transport objects,
 * res_pjsip_endpoint_identifier_ip's identify). */
#include <string.h>

#include "pjsip-private.h"
#include "subs/subs-private.h"

#define MAX_IDENTIFY_MATCHES 1024

static bool type_is(const struct sippres__conf_cat *c, const char *type)
{
	const struct sippres__conf_var *t = sippres__conf_cat_get(c, "type");

	return !c->is_template && t && sippres__streq_nocase(t->value, type);
}

/* A value problem; bad is set so that the section is not loaded. */
#define BAD(v, ...)                                                        \
	do {                                                               \
		*bad = true;                                               \
		r = sippres__conf_var_problem(doc, (v), 0, __VA_ARGS__);   \
	} while (0)

/* ------------------------------------------------------------------- auth */
/* load_auth returns 1 when the section loaded, 0 when not (a problem says why), or < 0. */

/* supported_algorithms_uas: "MD5", "SHA-256", comma-separated, any case. */
static int algorithms(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat,
                      const struct sippres__conf_var *v, uint32_t *out, bool *bad)
{
	const char *s = v->value, *name;
	uint32_t algs = 0;
	size_t n;
	int r = 0;

	while (r >= 0 && sippres__list_next(&s, &name, &n)) {
		if (n == 3 && sippres__memeq_nocase(name, "MD5", 3))
			algs |= SIPPRES_AUTH_ALG_MD5;
		else if (n == 7 && sippres__memeq_nocase(name, "SHA-256", 7))
			algs |= SIPPRES_AUTH_ALG_SHA256;
		else
			r = sippres__conf_var_problem(doc, v, (size_t)(name - v->value),
			                              "auth '%s': supported_algorithms_uas: '%.*s' is not supported (MD5, SHA-256)",
			                              cat->name, (int)n, name);
	}
	if (r >= 0 && !algs) {
		*bad = true;
		r = sippres__conf_var_problem(doc, v, 0, "auth '%s': supported_algorithms_uas names no algorithm", cat->name);
	}
	*out = algs;
	return r;
}

static int auth_key(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                    struct sippres_auth *a, bool *bad)
{
	/* the client side's keys (outbound_auth) and OAuth: not what a notifier checks */
	static const char *const ignored[] = {"supported_algorithms_uac", "refresh_token", "oauth_clientid",
	                                      "oauth_secret"};
	const char *k = v->name, *val = v->value;
	int r = 0;

	if (sippres__streq_nocase(k, "type")) {
		return 0;
	} else if (sippres__streq_nocase(k, "auth_type")) {
		if (sippres__streq_nocase(val, "userpass") || sippres__streq_nocase(val, "digest"))
			a->type = SIPPRES_AUTH_USERPASS;
		else if (sippres__streq_nocase(val, "md5"))
			a->type = SIPPRES_AUTH_MD5;
		else
			BAD(v, "auth '%s': auth_type '%s' is not supported (userpass, md5)", cat->name, val);
	} else if (sippres__streq_nocase(k, "username") || sippres__streq_nocase(k, "realm")) {
		if (val[0] && !sippres__auth_token_ok(val))
			BAD(v, "auth '%s': %s '%s' has a control character, a double quote or a backslash", cat->name, k, val);
		else if (sippres__streq_nocase(k, "username"))
			a->username = val[0] ? val : NULL;
		else
			a->realm = val[0] ? val : NULL;
	} else if (sippres__streq_nocase(k, "password")) {
		a->password = val;
	} else if (sippres__streq_nocase(k, "md5_cred")) {
		a->md5_cred = val[0] ? val : NULL;
	} else if (sippres__streq_nocase(k, "nonce_lifetime")) {
		if (sippres__conf_uint(val, &a->nonce_lifetime) < 0 || a->nonce_lifetime == 0)
			BAD(v, "auth '%s': nonce_lifetime: '%s' is not a number of seconds from 1 to 4294967295", cat->name,
			    val);
	} else if (sippres__streq_nocase(k, "supported_algorithms_uas")) {
		r = algorithms(doc, cat, v, &a->algorithms, bad);
	} else if (sippres__streq_nocase(k, "password_digest")) {
		BAD(v, "auth '%s': password_digest is not supported; use password or md5_cred", cat->name);
	} else {
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
			if (sippres__streq_nocase(k, ignored[i]))
				return 0;
		}
		r = sippres__conf_var_problem(doc, v, 0, "auth '%s': unknown key '%s' ignored", cat->name, k);
	}
	return r;
}

static int load_auth(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat,
                     const struct sippres__pjsip_sink *sink)
{
	struct sippres_auth a = {.size = sizeof(a), .type = SIPPRES_AUTH_USERPASS};
	struct sippres_diag diag = {.size = sizeof(diag)};
	bool bad = false;
	int r = 0;

	for (size_t i = 0; i < cat->n_vars && r >= 0; i++)
		r = auth_key(doc, cat, &cat->vars[i], &a, &bad);
	if (r < 0 || bad)
		return r < 0 ? r : 0;
	if (!sippres__name_ok(cat->name))
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "'%s' is not a valid auth name; not loaded",
		                             cat->name);
	if (!a.username)
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "auth '%s' has no username; not loaded",
		                             cat->name);
	if (a.type == SIPPRES_AUTH_MD5 && !a.md5_cred)
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                             "auth '%s': auth_type=md5 needs md5_cred; not loaded", cat->name);
	if (a.type == SIPPRES_AUTH_MD5 && a.algorithms & SIPPRES_AUTH_ALG_SHA256)
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                             "auth '%s': an md5_cred answers MD5 challenges only, not SHA-256; not loaded",
		                             cat->name);
	if (a.type == SIPPRES_AUTH_USERPASS)
		a.md5_cred = NULL;
	else
		a.password = NULL;
	r = sink->auth ? sink->auth(sink->user_data, cat->name, &a, &diag) : 0;
	if (r == SIPPRES_E_INVAL && a.type == SIPPRES_AUTH_MD5)
		sippres__diag(&diag, 0, 0, "md5_cred '%s' is not 32 hex digits", a.md5_cred);
	if (r < 0)
		return sippres__pjsip_sink_problem(doc, cat, r, &diag, "auth");
	sippres__conf_loaded(doc, "auth", cat->name);
	return 1;
}

/* --------------------------------------------------------------- identify */

struct identify {
	struct sippres_identify id;
	char **match;  /* copies, owned */
	size_t cap;
};

/* Split a match value (read only: it may be a template's) into copies of the matches. */
static int identify_matches(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat,
                            const struct sippres__conf_var *v, struct identify *x)
{
	const char *p = v->value, *item;
	size_t n;
	int r = 0;

	while (r >= 0 && sippres__list_next(&p, &item, &n)) {
		size_t off = (size_t)(item - v->value);
		char *m;

		if (x->id.n_match == x->cap) {
			size_t cap = x->cap ? x->cap * 2 : 4;
			char **grown = sippres__reallocarray(doc->ctx, x->match, cap, sizeof(*grown));

			if (!grown)
				return SIPPRES_E_NOMEM;
			x->match = grown;
			x->cap = cap;
		}
		m = sippres__strndup(doc->ctx, item, n); /* the value may be a template's: read only */
		if (!m)
			return SIPPRES_E_NOMEM;
		if (sippres__ip_match_parse(m, NULL) < 0) {
			r = sippres__conf_var_problem(doc, v, off,
			                              "identify '%s': match '%s' is not an IP address or network (host names are not looked up); ignored",
			                              cat->name, m);
			sippres__free(doc->ctx, m);
			continue;
		}
		if (x->id.n_match == MAX_IDENTIFY_MATCHES) {
			r = sippres__conf_var_problem(doc, v, off, "identify '%s': more than %d matches; '%s' ignored",
			                              cat->name, MAX_IDENTIFY_MATCHES, m);
			sippres__free(doc->ctx, m);
			continue;
		}
		x->match[x->id.n_match++] = m;
	}
	return r;
}

static int load_identify(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat,
                         const struct sippres__pjsip_sink *sink)
{
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct identify x = {.id = {.size = sizeof(x.id)}};
	bool bad_value = false, *bad = &bad_value;
	int r = 0;

	for (size_t i = 0; i < cat->n_vars && r >= 0; i++) {
		const struct sippres__conf_var *v = &cat->vars[i];
		const char *k = v->name;

		if (sippres__streq_nocase(k, "type") || sippres__streq_nocase(k, "srv_lookups"))
			continue;
		if (sippres__streq_nocase(k, "endpoint")) {
			if (!sippres__name_ok(v->value))
				BAD(v, "identify '%s': endpoint: '%s' is not a valid endpoint name", cat->name, v->value);
			else
				x.id.endpoint = v->value;
		} else if (sippres__streq_nocase(k, "match")) {
			r = identify_matches(doc, cat, v, &x);
		} else if (sippres__streq_nocase(k, "match_header") || sippres__streq_nocase(k, "match_request_uri")) {
			r = sippres__conf_var_problem(doc, v, 0, "identify '%s': %s is not supported; ignored", cat->name, k);
		} else {
			r = sippres__conf_var_problem(doc, v, 0, "identify '%s': unknown key '%s' ignored", cat->name, k);
		}
	}
	if (r < 0 || bad_value)
		goto out;
	if (!sippres__name_ok(cat->name)) {
		r = sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                          "'%s' is not a valid identify name; not loaded", cat->name);
	} else if (!x.id.endpoint || !x.id.n_match) {
		r = sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "identify '%s' has no %s; not loaded",
		                          cat->name, !x.id.endpoint ? "endpoint" : "usable match");
	} else {
		x.id.match = (const char *const *)x.match;
		r = sink->identify ? sink->identify(sink->user_data, cat->name, &x.id, &diag) : 0;
		if (r < 0)
			r = sippres__pjsip_sink_problem(doc, cat, r, &diag, "identify");
		else
			sippres__conf_loaded(doc, "identify", cat->name);
	}
out:
	for (size_t i = 0; i < x.id.n_match; i++)
		sippres__free(doc->ctx, x.match[i]);
	sippres__free(doc->ctx, x.match);
	return r < 0 ? r : 0;
}

/* -------------------------------------------------------------- transport */

static int transport_key(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat,
                         const struct sippres__conf_var *v, struct sippres_conf_transport *t, bool *bad)
{
	/* Asterisk's keys about NAT, QoS, reloads, websockets and keepalives: the host's business or none */
	static const char *const ignored[] = {
		"external_media_address", "external_signaling_address", "external_signaling_port", "local_net", "tos",
		"cos", "allow_reload", "symmetric_transport", "domain", "password", "async_operations",
		"websocket_write_timeout", "tcp_keepalive_enable", "tcp_keepalive_idle_time",
		"tcp_keepalive_interval_time", "tcp_keepalive_probe_count", "verify_server", "allow_wildcard_certs"};
	const char *k = v->name, *val = v->value;
	int r = 0, b;

	if (sippres__streq_nocase(k, "type")) {
		return 0;
	} else if (sippres__streq_nocase(k, "protocol")) {
		if (sippres__streq_nocase(val, "udp"))
			t->protocol = "udp";
		else if (sippres__streq_nocase(val, "tcp"))
			t->protocol = "tcp";
		else if (sippres__streq_nocase(val, "tls"))
			t->protocol = "tls";
		else
			BAD(v, "transport '%s': protocol '%s' is not supported (udp, tcp, tls)", cat->name, val);
	} else if (sippres__streq_nocase(k, "bind")) {
		if (!val[0] || strpbrk(val, " \t"))
			BAD(v, "transport '%s': bind '%s' is not an address with an optional port", cat->name, val);
		else
			t->bind = val;
	} else if (sippres__streq_nocase(k, "cert_file") || sippres__streq_nocase(k, "priv_key_file") ||
	           sippres__streq_nocase(k, "ca_list_file") || sippres__streq_nocase(k, "ca_list_path") ||
	           sippres__streq_nocase(k, "method") || sippres__streq_nocase(k, "cipher")) {
		const char *x = val[0] ? val : NULL;

		if (sippres__streq_nocase(k, "cert_file"))
			t->cert_file = x;
		else if (sippres__streq_nocase(k, "priv_key_file"))
			t->priv_key_file = x;
		else if (sippres__streq_nocase(k, "ca_list_file"))
			t->ca_list_file = x;
		else if (sippres__streq_nocase(k, "ca_list_path"))
			t->ca_list_path = x;
		else if (sippres__streq_nocase(k, "method"))
			t->method = x;
		else
			t->cipher = x;
	} else if (sippres__streq_nocase(k, "verify_client") || sippres__streq_nocase(k, "require_client_cert")) {
		b = sippres__conf_bool(val);
		if (b < 0)
			BAD(v, "transport '%s': %s: '%s' is not a boolean (yes/no)", cat->name, k, val);
		else if (sippres__streq_nocase(k, "verify_client"))
			t->verify_client = (uint32_t)b;
		else
			t->require_client_cert = (uint32_t)b;
	} else {
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
			if (sippres__streq_nocase(k, ignored[i]))
				return 0;
		}
		r = sippres__conf_var_problem(doc, v, 0, "transport '%s': unknown key '%s' ignored", cat->name, k);
	}
	return r;
}

static int load_transport(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat)
{
	struct sippres_conf_transport t = {.size = sizeof(t), .protocol = "udp"};
	const char *missing = NULL;
	bool bad = false;
	int r = 0;

	for (size_t i = 0; i < cat->n_vars && r >= 0; i++)
		r = transport_key(doc, cat, &cat->vars[i], &t, &bad);
	if (r < 0 || bad)
		return r < 0 ? r : 0;
	if (!sippres__name_ok(cat->name))
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                             "'%s' is not a valid transport name; not loaded", cat->name);
	if (!t.bind)
		missing = "bind";
	else if (strcmp(t.protocol, "tls") == 0 && !t.cert_file)
		missing = "cert_file (protocol=tls)";
	else if (strcmp(t.protocol, "tls") == 0 && !t.priv_key_file)
		missing = "priv_key_file (protocol=tls)";
	else if ((t.verify_client || t.require_client_cert) && !t.ca_list_file && !t.ca_list_path)
		missing = "ca_list_file or ca_list_path (verify_client)";
	if (missing)
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "transport '%s' has no %s; not loaded",
		                             cat->name, missing);
	if (doc->io.transport)
		doc->io.transport(doc->io.user_data, cat->name, &t);
	sippres__conf_loaded(doc, "transport", cat->name);
	return 0;
}

#undef BAD

/* ------------------------------------------------- endpoints' auth= names */

/* Each name of an endpoint's (or a wizard's endpoint/) auth= must be an auth section that loaded. */
static int check_endpoint_auths(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat,
                                const struct sippres__map *loaded)
{
	const struct sippres__conf_var *v = sippres__conf_cat_get(cat, "auth");
	const char *p, *item;
	size_t n;
	int r = 0;

	if (!v)
		v = sippres__conf_cat_get(cat, "endpoint/auth");
	if (!v || sippres__auth_list_check(v->value) <= 0)
		return 0; /* none, or a bad list: the endpoint reported it */
	p = v->value;
	while (r >= 0 && sippres__list_next(&p, &item, &n)) {
		char name[SIPPRES_MAX_NAME + 1];

		memcpy(name, item, n); /* a name of at most SIPPRES_MAX_NAME: checked above */
		name[n] = '\0';
		if (!sippres__smap_find(loaded, name))
			r = sippres__conf_var_problem(doc, v, (size_t)(item - v->value),
			                              "endpoint '%s': auth '%s' names no auth section that loaded; its requests are answered 500 until one does",
			                              cat->name, name);
	}
	return r;
}

struct loaded_name {
	struct sippres__hnode node;
	char *name;
};

static void loaded_destroy(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	sippres__free(ctx, SIPPRES__CONTAINER_OF(n, struct loaded_name, node));
}

int sippres__conf_pjsip_auth(struct sippres__conf_doc *doc, const struct sippres__pjsip_sink *sink)
{
	struct sippres__map loaded = {0};
	int r;

	r = SIPPRES__SMAP_INIT(doc->ctx, &loaded, 8, struct loaded_name, node, name, false);
	for (size_t i = 0; r >= 0 && i < doc->n_cats; i++) {
		const struct sippres__conf_cat *cat = doc->cats[i];

		if (type_is(cat, "auth")) {
			r = load_auth(doc, cat, sink);
			if (r == 1) {
				struct loaded_name *l = sippres__calloc(doc->ctx, 1, sizeof(*l));

				if (!l) {
					r = SIPPRES_E_NOMEM;
					break;
				}
				l->name = cat->name;
				sippres__smap_insert(doc->ctx, &loaded, &l->node);
			}
		} else if (type_is(cat, "identify")) {
			r = load_identify(doc, cat, sink);
		} else if (type_is(cat, "transport")) {
			r = load_transport(doc, cat);
		}
	}
	for (size_t i = 0; r >= 0 && i < doc->n_cats; i++) {
		if (type_is(doc->cats[i], "endpoint") || type_is(doc->cats[i], "wizard"))
			r = check_endpoint_auths(doc, doc->cats[i], &loaded);
	}
	sippres__map_drain(doc->ctx, &loaded, loaded_destroy);
	return r;
}
