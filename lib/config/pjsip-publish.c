/* SPDX-License-Identifier: MIT */
/* pjsip.conf publication sections: type=outbound-publish,
 * type=asterisk-publication and type=inbound-publication, checked and handed
 * to the sink after the endpoints and lists (so a section may name one that
 * is written further down). The keys are Asterisk's, as documented for its
 * res_pjsip_outbound_publish and res_pjsip_publish_asterisk, plus our
 * min_expiry, max_expiry and default_expiry. */
#include <string.h>

#include "pjsip-private.h"

#define DEFAULT_EXPIRATION 3600 /* Asterisk's outbound-publish default */

/* A section of this load, by name: asterisk-publication (checked values) or
 * a loaded outbound-publish (only its name). */
struct named {
	struct sippres__hnode node;
	char *name; /* the section's, not owned */
	bool ok;    /* asterisk-publication: no bad value */
	bool device_state;
	const char *filter;  /* device_state_filter, NULL: none */
	const char *publish; /* devicestate_publish, NULL: none */
};

struct pub_load {
	struct sippres__conf_doc *doc;
	const struct sippres__pjsip_sink *sink;
	struct sippres__map astpubs;   /* struct named: asterisk-publication sections */
	struct sippres__map outbounds; /* struct named: outbound-publish sections loaded */
};

static bool type_is(const struct sippres__conf_cat *c, const char *type)
{
	const struct sippres__conf_var *t = sippres__conf_cat_get(c, "type");

	return !c->is_template && t && sippres__streq_nocase(t->value, type);
}

static bool sip_uri_ok(const char *s)
{
	if (sippres__memeq_nocase(s, "sip:", 4))
		s += 4;
	else if (sippres__memeq_nocase(s, "sips:", 5))
		s += 5;
	else
		return false;
	if (!*s)
		return false;
	for (; *s; s++) {
		/* nothing that would end or fold a header line */
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == '<' || *s == '>' || *s == '"')
			return false;
	}
	return true;
}

static int named_add(struct pub_load *pl, struct sippres__map *m, const struct sippres__conf_cat *cat,
                     struct named **ret)
{
	struct named *n = sippres__calloc(pl->doc->ctx, 1, sizeof(*n));
	struct sippres__hnode *old;

	if (!n)
		return SIPPRES_E_NOMEM;
	n->name = cat->name;
	old = sippres__smap_put(pl->doc->ctx, m, &n->node);
	sippres__free(pl->doc->ctx, old ? SIPPRES__CONTAINER_OF(old, struct named, node) : NULL);
	*ret = n;
	return 0;
}

static struct named *named_find(const struct sippres__map *m, const char *name)
{
	struct sippres__hnode *n = sippres__smap_find(m, name);

	return n ? SIPPRES__CONTAINER_OF(n, struct named, node) : NULL;
}

static void named_destroy(struct sippres_ctx *ctx, struct sippres__hnode *n)
{
	sippres__free(ctx, SIPPRES__CONTAINER_OF(n, struct named, node));
}

/* A value problem; bad is set so that the section is not loaded. */
#define BAD(v, ...)                                                            \
	do {                                                                   \
		*bad = true;                                                   \
		r = sippres__conf_var_problem(pl->doc, (v), 0, __VA_ARGS__);   \
	} while (0)

/* ------------------------------------------------------- outbound-publish */

static int outbound_key(struct pub_load *pl, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                        struct sippres_conf_outbound_publish *o, struct sippres_outbound_publish *f, bool *bad)
{
	/* Asterisk's keys that concern how it sends, not what: ours is the host's business */
	static const char *const ignored[] = {"outbound_auth", "outbound_proxy", "transport", "max_auth_attempts",
	                                      "multi_user", "user_agent", "contact_user"};
	const char *k = v->name, *val = v->value;
	int r = 0;

	if (sippres__streq_nocase(k, "type")) {
		return 0;
	} else if (sippres__streq_nocase(k, "server_uri") || sippres__streq_nocase(k, "from_uri") ||
	           sippres__streq_nocase(k, "to_uri")) {
		if (!sip_uri_ok(val))
			BAD(v, "outbound-publish '%s': %s: '%s' is not a sip: or sips: URI", cat->name, k, val);
		else if (sippres__streq_nocase(k, "server_uri"))
			o->server_uri = val;
		else if (sippres__streq_nocase(k, "from_uri"))
			o->from_uri = val;
		else
			o->to_uri = val;
	} else if (sippres__streq_nocase(k, "event")) {
		if (sippres__streq_nocase(val, "asterisk-devicestate"))
			o->event = "asterisk-devicestate";
		else if (sippres__streq_nocase(val, "asterisk-mwi"))
			BAD(v, "outbound-publish '%s': event asterisk-mwi: mailbox state is not supported", cat->name);
		else
			BAD(v, "outbound-publish '%s': event '%s' cannot be published (only asterisk-devicestate)",
			    cat->name, val);
	} else if (sippres__streq_nocase(k, "expiration")) {
		if (sippres__conf_uint(val, &o->expiration) < 0 || o->expiration == 0)
			BAD(v, "outbound-publish '%s': expiration: '%s' is not a number of seconds from 1 to 4294967295",
			    cat->name, val);
	} else if (sippres__streq_nocase(k, "@device_state_filter")) {
		f->device_state_filter = val[0] ? val : NULL;
	} else if (k[0] != '@') { /* other @ keys are the user's own, as in Asterisk */
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
			if (sippres__streq_nocase(k, ignored[i]))
				return 0;
		}
		r = sippres__conf_var_problem(pl->doc, v, 0, "outbound-publish '%s': unknown key '%s' ignored", cat->name, k);
	}
	return r;
}

static int load_outbound(struct pub_load *pl, const struct sippres__conf_cat *cat)
{
	struct sippres_conf_outbound_publish o = {.size = sizeof(o), .expiration = DEFAULT_EXPIRATION};
	struct sippres_outbound_publish f = {.size = sizeof(f)};
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres__conf_doc *doc = pl->doc;
	struct named *n;
	bool bad = false;
	int r = 0;

	for (size_t i = 0; i < cat->n_vars && r >= 0; i++)
		r = outbound_key(pl, cat, &cat->vars[i], &o, &f, &bad);
	if (r < 0 || bad)
		return r < 0 ? r : 0;
	if (!sippres__name_ok(cat->name))
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                             "'%s' is not a valid outbound-publish name; not loaded", cat->name);
	if (!o.server_uri || !o.event)
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq, "outbound-publish '%s' has no %s; not loaded",
		                             cat->name, !o.server_uri ? "server_uri" : "event");
	r = pl->sink->outbound ? pl->sink->outbound(pl->sink->user_data, cat->name, &f, &diag) : 0;
	if (r < 0)
		return sippres__pjsip_sink_problem(pl->doc, cat, r, &diag, "outbound-publish");
	r = named_add(pl, &pl->outbounds, cat, &n);
	if (r < 0)
		return r;
	if (doc->io.outbound_publish)
		doc->io.outbound_publish(doc->io.user_data, cat->name, &o);
	sippres__conf_loaded(doc, "outbound-publish", cat->name);
	return 0;
}

/* --------------------------------------------------- asterisk-publication */

static int read_astpub(struct pub_load *pl, const struct sippres__conf_cat *cat)
{
	struct named *a;
	bool bad_value = false, *bad = &bad_value;
	int r;

	r = named_add(pl, &pl->astpubs, cat, &a);
	for (size_t i = 0; r >= 0 && i < cat->n_vars; i++) {
		const struct sippres__conf_var *v = &cat->vars[i];
		const char *k = v->name, *val = v->value;
		int b;

		if (sippres__streq_nocase(k, "type") || sippres__streq_nocase(k, "mailbox_state_filter") ||
		    sippres__streq_nocase(k, "mailboxstate_publish")) {
			continue;
		} else if (sippres__streq_nocase(k, "device_state") || sippres__streq_nocase(k, "mailbox_state")) {
			b = sippres__conf_bool(val);
			if (b < 0)
				BAD(v, "asterisk-publication '%s': %s: '%s' is not a boolean (yes/no)", cat->name, k, val);
			else if (sippres__streq_nocase(k, "device_state"))
				a->device_state = b;
			else if (b)
				r = sippres__conf_var_problem(pl->doc, v, 0,
				                              "asterisk-publication '%s': mailbox_state: mailbox state is not supported; ignored",
				                              cat->name);
		} else if (sippres__streq_nocase(k, "device_state_filter")) {
			a->filter = val[0] ? val : NULL;
		} else if (sippres__streq_nocase(k, "devicestate_publish")) {
			if (val[0] && !sippres__name_ok(val))
				BAD(v, "asterisk-publication '%s': devicestate_publish: '%s' is not a valid name", cat->name, val);
			else
				a->publish = val[0] ? val : NULL;
		} else {
			r = sippres__conf_var_problem(pl->doc, v, 0, "asterisk-publication '%s': unknown key '%s' ignored",
			                              cat->name, k);
		}
	}
	if (r >= 0)
		a->ok = !bad_value;
	return r;
}

/* ---------------------------------------------------- inbound-publication */

struct inbound {
	struct sippres_inbound_publication p;
	const struct sippres__conf_var *devicestate; /* event_asterisk-devicestate, NULL: none */
};

static int inbound_key(struct pub_load *pl, const struct sippres__conf_cat *cat, const struct sippres__conf_var *v,
                       struct inbound *in, bool *bad)
{
	const char *k = v->name, *val = v->value;
	uint32_t u;
	int r = 0;

	if (sippres__streq_nocase(k, "type")) {
		return 0;
	} else if (sippres__streq_nocase(k, "endpoint")) {
		if (!sippres__name_ok(val))
			BAD(v, "inbound-publication '%s': endpoint: '%s' is not a valid endpoint name", cat->name, val);
		else
			in->p.endpoint = val;
	} else if (sippres__streq_nocase(k, "event_presence") || sippres__streq_nocase(k, "event_dialog")) {
		uint32_t bit = sippres__streq_nocase(k, "event_presence") ? SIPPRES_PUBLISH_PRESENCE : SIPPRES_PUBLISH_DIALOG;

		/* as in Asterisk, any non-empty value enables the package */
		if (val[0])
			in->p.events |= bit;
		else
			in->p.events &= ~bit;
	} else if (sippres__streq_nocase(k, "event_asterisk-devicestate")) {
		if (val[0] && !sippres__name_ok(val))
			BAD(v, "inbound-publication '%s': event_asterisk-devicestate: '%s' is not a valid section name",
			    cat->name, val);
		else
			in->devicestate = val[0] ? v : NULL;
	} else if (sippres__memeq_nocase(k, "event_", 6)) {
		r = sippres__conf_var_problem(pl->doc, v, 0, "inbound-publication '%s': event package '%s' is not supported; ignored",
		                              cat->name, k + 6);
	} else if (sippres__streq_nocase(k, "min_expiry") || sippres__streq_nocase(k, "max_expiry") ||
	           sippres__streq_nocase(k, "default_expiry")) {
		if (sippres__conf_uint(val, &u) < 0)
			BAD(v, "inbound-publication '%s': %s: '%s' is not a number of seconds", cat->name, k, val);
		else if (sippres__streq_nocase(k, "min_expiry"))
			in->p.min_expiry = u;
		else if (sippres__streq_nocase(k, "max_expiry"))
			in->p.max_expiry = u;
		else
			in->p.default_expiry = u;
	} else {
		r = sippres__conf_var_problem(pl->doc, v, 0, "inbound-publication '%s': unknown key '%s' ignored", cat->name, k);
	}
	return r;
}

/* Take the asterisk-publication that event_asterisk-devicestate names, or
 * leave the package off with a problem saying why. */
static int inbound_devicestate(struct pub_load *pl, const struct sippres__conf_cat *cat, struct inbound *in)
{
	const struct sippres__conf_var *v = in->devicestate;
	const struct named *a = named_find(&pl->astpubs, v->value);
	const char *why = NULL;

	if (!a)
		why = "names no asterisk-publication section";
	else if (!a->ok)
		why = "names an asterisk-publication section that has a bad value";
	else if (!a->device_state)
		why = "names an asterisk-publication section without device_state=yes";
	if (why)
		return sippres__conf_var_problem(pl->doc, v, 0,
		                                 "inbound-publication '%s': event_asterisk-devicestate: '%s' %s; asterisk-devicestate stays off",
		                                 cat->name, v->value, why);
	in->p.events |= SIPPRES_PUBLISH_DEVICESTATE;
	in->p.device_state_filter = a->filter;
	if (a->publish && !named_find(&pl->outbounds, a->publish))
		return sippres__conf_var_problem(pl->doc, v, 0,
		                                 "asterisk-publication '%s': devicestate_publish: '%s' names no outbound-publish section that loaded; refresh requests are ignored",
		                                 v->value, a->publish);
	in->p.devicestate_publish = a->publish;
	return 0;
}

static int load_inbound(struct pub_load *pl, const struct sippres__conf_cat *cat)
{
	struct sippres__conf_doc *doc = pl->doc;
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct inbound in;
	bool bad = false;
	int r = 0;

	memset(&in, 0, sizeof(in));
	in.p.size = sizeof(in.p);
	for (size_t i = 0; i < cat->n_vars && r >= 0; i++)
		r = inbound_key(pl, cat, &cat->vars[i], &in, &bad);
	if (r < 0 || bad)
		return r < 0 ? r : 0;
	if (!sippres__name_ok(cat->name))
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                             "'%s' is not a valid inbound-publication name; not loaded", cat->name);
	if (!in.p.endpoint)
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                             "inbound-publication '%s' has no endpoint; not loaded", cat->name);
	if (in.p.max_expiry && in.p.min_expiry > in.p.max_expiry)
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                             "inbound-publication '%s': min_expiry %u is above max_expiry %u; not loaded",
		                             cat->name, (unsigned)in.p.min_expiry, (unsigned)in.p.max_expiry);
	if (in.devicestate) {
		r = inbound_devicestate(pl, cat, &in);
		if (r < 0)
			return r;
	}
	if (!in.p.events)
		return sippres__conf_problem(doc, cat->file, cat->line, 0, cat->seq,
		                             "inbound-publication '%s' enables no event package; not loaded", cat->name);
	r = pl->sink->inbound ? pl->sink->inbound(pl->sink->user_data, cat->name, &in.p, &diag) : 0;
	if (r < 0)
		return sippres__pjsip_sink_problem(pl->doc, cat, r, &diag, "inbound-publication");
	sippres__conf_loaded(doc, "inbound-publication", cat->name);
	return 0;
}

#undef BAD

int sippres__conf_pjsip_publications(struct sippres__conf_doc *doc, const struct sippres__pjsip_sink *sink)
{
	struct pub_load pl = {.doc = doc, .sink = sink};
	int r;

	r = SIPPRES__SMAP_INIT(doc->ctx, &pl.astpubs, 8, struct named, node, name, false);
	if (r < 0)
		return r;
	r = SIPPRES__SMAP_INIT(doc->ctx, &pl.outbounds, 8, struct named, node, name, false);
	for (size_t i = 0; r >= 0 && i < doc->n_cats; i++) {
		if (type_is(doc->cats[i], "outbound-publish"))
			r = load_outbound(&pl, doc->cats[i]);
		else if (type_is(doc->cats[i], "asterisk-publication"))
			r = read_astpub(&pl, doc->cats[i]);
	}
	for (size_t i = 0; r >= 0 && i < doc->n_cats; i++) {
		if (type_is(doc->cats[i], "inbound-publication"))
			r = load_inbound(&pl, doc->cats[i]);
	}
	sippres__map_drain(doc->ctx, &pl.astpubs, named_destroy);
	sippres__map_drain(doc->ctx, &pl.outbounds, named_destroy);
	return r;
}
