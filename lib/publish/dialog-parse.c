/* SPDX-License-Identifier: MIT */
/* application/dialog-info+xml (RFC 4235) into dialogs, a device state and
 * call details. Elements are matched by namespace URI; unknown elements and
 * attributes are ignored.
 *
 * Required, else SIPPRES_E_PARSE: the root {urn:ietf:params:xml:ns:dialog-info}
 * dialog-info with version (xs:nonNegativeInteger that fits 32 bits), state
 * (full|partial) and entity; every <dialog> with an id (unique in the
 * document) and a <state> of
 * trying|proceeding|early|confirmed|terminated; direction, when present,
 * initiator|recipient. call-id, local-tag and remote-tag are optional (RFC
 * 4235); when present they must be usable names (no space or control
 * character, at most SIPPRES_MAX_NAME bytes), as sippres_call_set wants them.
 *
 * Device state of one dialog (publish.md section 4):
 *   trying, proceeding, early   RINGING; INUSE when direction="initiator"
 *                               (the entity is the caller: it hears ringback,
 *                               its phone does not ring, so no pickup lamp)
 *   confirmed                   INUSE; ONHOLD when the local <target> has
 *                               <param pname="+sip.rendering" pval="no"/>
 *                               (pvalue, as Asterisk writes it, is accepted too)
 *   terminated                  NOT_INUSE
 * The document's device state aggregates its dialogs as Asterisk aggregates
 * the devices of a hint (RINGING with INUSE, ONHOLD or BUSY -> RINGINUSE,
 * else the highest of INUSE > ONHOLD > NOT_INUSE, so held and active gives
 * INUSE); no dialog: NOT_INUSE. A state="partial" document describes only the dialogs that
 * changed: the compositor merges it into the publication's full state
 * before taking the device state of the result.
 *
 * Call details: call-id (else the dialog id), local-tag, remote-tag;
 * direction initiator -> SIPPRES_DIRECTION_INITIATOR, recipient or none ->
 * RECIPIENT; trying/proceeding/early -> SIPPRES_CALL_EARLY, confirmed ->
 * CONFIRMED (HELD when on hold as above), terminated -> TERMINATED; the local
 * and remote <identity> (else the <target> uri) and display attributes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "publish/publish-private.h"
#include "state/state-private.h"

#define NS_DI "urn:ietf:params:xml:ns:dialog-info"

static const char *const dlg_states[] = {"trying", "proceeding", "early", "confirmed", "terminated"};

static int bad(struct sippres_ctx *ctx, const xmlNode *n, const char *what)
{
	sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: dialog-info line %ld: %s", n ? xmlGetLineNo(n) : 0L, what);
	return SIPPRES_E_PARSE;
}

/* An optional attribute that must be a usable name (call-id, tags, id). */
static int name_attr(struct sippres_ctx *ctx, const xmlNode *n, const char *attr, char **out)
{
	const char *v = sippres__publish_xml_attr(n, attr);

	*out = NULL;
	if (!v)
		return 0;
	if (!sippres__name_ok(v))
		return bad(ctx, n, "an id, call-id or tag is empty, too long or has a space or control character");
	*out = sippres__strdup(ctx, v);
	return *out ? 0 : SIPPRES_E_NOMEM;
}

static uint32_t rendering(const xmlNode *target)
{
	for (const xmlNode *c = target->children; c; c = c->next) {
		const char *name, *val;

		if (!sippres__publish_xml_is(c, NS_DI, "param"))
			continue;
		name = sippres__publish_xml_attr(c, "pname");
		if (!name || !sippres__streq_nocase(name, "+sip.rendering"))
			continue;
		val = sippres__publish_xml_attr(c, "pval");
		if (!val)
			val = sippres__publish_xml_attr(c, "pvalue");
		if (!val)
			return SIPPRES__RENDER_UNKNOWN;
		if (sippres__streq_nocase(val, "no"))
			return SIPPRES__RENDER_NO;
		if (sippres__streq_nocase(val, "yes"))
			return SIPPRES__RENDER_YES;
		return SIPPRES__RENDER_UNKNOWN;
	}
	return SIPPRES__RENDER_NONE;
}

static int read_party(struct sippres_ctx *ctx, const xmlNode *n, struct sippres__dlg_party *p)
{
	int r = 0;

	for (const xmlNode *c = n->children; c && r == 0; c = c->next) {
		if (sippres__publish_xml_is(c, NS_DI, "identity") && !p->identity) {
			r = sippres__publish_xml_text(ctx, c, SIPPRES_MAX_TEXT, &p->identity);
			if (r == 0)
				r = sippres__publish_str(ctx, sippres__publish_xml_attr(c, "display"), SIPPRES_MAX_TEXT,
				                         &p->display);
		} else if (sippres__publish_xml_is(c, NS_DI, "target") && !p->target) {
			const char *uri = sippres__publish_xml_attr(c, "uri");

			if (!uri)
				return bad(ctx, c, "<target> without uri");
			r = sippres__publish_str(ctx, uri, SIPPRES_MAX_TEXT, &p->target);
			p->rendering = rendering(c);
		}
	}
	return r;
}

static void party_fini(struct sippres_ctx *ctx, struct sippres__dlg_party *p)
{
	sippres__free(ctx, p->identity);
	sippres__free(ctx, p->display);
	sippres__free(ctx, p->target);
}

static void dialog_fini(struct sippres_ctx *ctx, struct sippres__dialog *d)
{
	sippres__free(ctx, d->id);
	sippres__free(ctx, d->call_id);
	sippres__free(ctx, d->local_tag);
	sippres__free(ctx, d->remote_tag);
	party_fini(ctx, &d->local);
	party_fini(ctx, &d->remote);
}

static int read_state(struct sippres_ctx *ctx, const xmlNode *n, uint32_t *state)
{
	char *t;
	int r = sippres__publish_xml_text(ctx, n, 32, &t);

	if (r == SIPPRES_E_TOOBIG || r == SIPPRES_E_PARSE)
		return bad(ctx, n, "unknown dialog <state>");
	if (r < 0)
		return r;
	r = SIPPRES_E_PARSE;
	/* RFC 4235's values are lower case, but Kamailio 5.6's pua_dialoginfo
	 * sends <state>Trying</state>: compare ASCII case-insensitively */
	for (uint32_t i = 0; r < 0 && i < sizeof(dlg_states) / sizeof(dlg_states[0]); i++) {
		if (sippres__streq_nocase(t, dlg_states[i])) {
			*state = i;
			r = 0;
		}
	}
	sippres__free(ctx, t);
	return r < 0 ? bad(ctx, n, "unknown dialog <state>") : 0;
}

static int read_dialog(struct sippres_ctx *ctx, const xmlNode *n, struct sippres__dialog *d)
{
	const char *dir = sippres__publish_xml_attr(n, "direction");
	bool have_state = false;
	int r;

	if (!sippres__publish_xml_attr(n, "id"))
		return bad(ctx, n, "<dialog> without id");
	if (dir && strcmp(dir, "initiator") == 0)
		d->direction = SIPPRES__DIR_INITIATOR;
	else if (dir && strcmp(dir, "recipient") == 0)
		d->direction = SIPPRES__DIR_RECIPIENT;
	else if (dir)
		return bad(ctx, n, "direction is neither initiator nor recipient");
	r = name_attr(ctx, n, "id", &d->id);
	if (r == 0)
		r = name_attr(ctx, n, "call-id", &d->call_id);
	if (r == 0)
		r = name_attr(ctx, n, "local-tag", &d->local_tag);
	if (r == 0)
		r = name_attr(ctx, n, "remote-tag", &d->remote_tag);
	for (const xmlNode *c = n->children; c && r == 0; c = c->next) {
		if (sippres__publish_xml_is(c, NS_DI, "state") && !have_state) {
			have_state = true;
			r = read_state(ctx, c, &d->state);
		} else if (sippres__publish_xml_is(c, NS_DI, "local")) {
			r = read_party(ctx, c, &d->local);
		} else if (sippres__publish_xml_is(c, NS_DI, "remote")) {
			r = read_party(ctx, c, &d->remote);
		}
	}
	if (r == 0 && !have_state)
		r = bad(ctx, n, "<dialog> without <state>");
	return r;
}

static int read_version(struct sippres_ctx *ctx, const xmlNode *root, uint32_t *version)
{
	const char *v = sippres__publish_xml_attr(root, "version");
	unsigned long long x;
	char *end;

	/* xs:nonNegativeInteger: digits only (no sign, no space) */
	if (!v || *v < '0' || *v > '9')
		return bad(ctx, root, "version is missing or not a number");
	errno = 0;
	x = strtoull(v, &end, 10);
	if (*end || errno == ERANGE || x > UINT32_MAX)
		return bad(ctx, root, "version is not a 32-bit number");
	*version = (uint32_t)x;
	return 0;
}

static int fill(struct sippres_ctx *ctx, const xmlNode *root, struct sippres__dialoginfo *d)
{
	const char *state = sippres__publish_xml_attr(root, "state");
	const char *entity = sippres__publish_xml_attr(root, "entity");
	size_t n = 0;
	int r;

	r = read_version(ctx, root, &d->version);
	if (r < 0)
		return r;
	if (!state || (strcmp(state, "full") != 0 && strcmp(state, "partial") != 0))
		return bad(ctx, root, "state is neither full nor partial");
	d->partial = strcmp(state, "partial") == 0;
	if (!entity || !*entity)
		return bad(ctx, root, "<dialog-info> without entity");
	r = sippres__publish_str(ctx, entity, SIPPRES_MAX_TEXT, &d->entity);
	if (r < 0)
		return r;
	for (const xmlNode *c = root->children; c; c = c->next)
		n += sippres__publish_xml_is(c, NS_DI, "dialog");
	if (n > SIPPRES__PUBLISH_MAX_ITEMS)
		return SIPPRES_E_TOOBIG;
	if (n == 0)
		return 0;
	d->dialogs = sippres__calloc(ctx, n, sizeof(*d->dialogs));
	if (!d->dialogs)
		return SIPPRES_E_NOMEM;
	for (const xmlNode *c = root->children; c && r == 0; c = c->next) {
		if (!sippres__publish_xml_is(c, NS_DI, "dialog"))
			continue;
		r = read_dialog(ctx, c, &d->dialogs[d->n_dialogs++]);
		for (size_t k = 0; r == 0 && k + 1 < d->n_dialogs; k++) {
			if (strcmp(d->dialogs[k].id, d->dialogs[d->n_dialogs - 1].id) == 0)
				r = bad(ctx, c, "two dialogs with one id");
		}
	}
	return r;
}

void sippres__dialoginfo_fini(struct sippres_ctx *ctx, struct sippres__dialoginfo *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_dialogs; i++)
		dialog_fini(ctx, &d->dialogs[i]);
	sippres__free(ctx, d->dialogs);
	sippres__free(ctx, d->entity);
	memset(d, 0, sizeof(*d));
}

int sippres__dialoginfo_parse(struct sippres_ctx *ctx, const char *body, size_t len, struct sippres__dialoginfo *out)
{
	xmlDocPtr doc;
	int r;

	if (!ctx || !out)
		return SIPPRES_E_INVAL;
	memset(out, 0, sizeof(*out));
	r = sippres__publish_xml_load(ctx, body, len, NS_DI, "dialog-info", &doc);
	if (r < 0)
		return r;
	r = fill(ctx, xmlDocGetRootElement(doc), out);
	xmlFreeDoc(doc);
	if (r < 0)
		sippres__dialoginfo_fini(ctx, out);
	return r;
}

int sippres__dialoginfo_merge(struct sippres_ctx *ctx, struct sippres__dialoginfo *base,
                              struct sippres__dialoginfo *partial)
{
	size_t add = 0, n = 0;
	struct sippres__dialog *v;

	for (size_t i = 0; i < partial->n_dialogs; i++) {
		bool found = false;

		for (size_t k = 0; k < base->n_dialogs && !found; k++)
			found = strcmp(base->dialogs[k].id, partial->dialogs[i].id) == 0;
		add += !found;
	}
	if (base->n_dialogs + add > SIPPRES__PUBLISH_MAX_ITEMS)
		return SIPPRES_E_TOOBIG;
	v = base->dialogs;
	if (add) {
		v = sippres__reallocarray(ctx, base->dialogs, base->n_dialogs + add, sizeof(*v));
		if (!v)
			return SIPPRES_E_NOMEM;
		base->dialogs = v;
	}
	/* nothing can fail from here on: move the dialogs over */
	for (size_t i = 0; i < partial->n_dialogs; i++) {
		struct sippres__dialog *d = &partial->dialogs[i];
		size_t k;

		for (k = 0; k < base->n_dialogs && strcmp(v[k].id, d->id) != 0; k++)
			;
		if (k < base->n_dialogs)
			dialog_fini(ctx, &v[k]);
		else
			base->n_dialogs++;
		v[k] = *d;
		memset(d, 0, sizeof(*d));
	}
	partial->n_dialogs = 0;
	for (size_t k = 0; k < base->n_dialogs; k++) {
		if (v[k].state == SIPPRES__DLG_TERMINATED)
			dialog_fini(ctx, &v[k]);
		else
			v[n++] = v[k];
	}
	base->n_dialogs = n;
	base->version = partial->version;
	return 0;
}

static bool on_hold(const struct sippres__dialog *dl)
{
	return dl->state == SIPPRES__DLG_CONFIRMED && dl->local.rendering == SIPPRES__RENDER_NO;
}

int sippres__dialog_device_state(const struct sippres__dialog *dl)
{
	switch (dl->state) {
	case SIPPRES__DLG_TRYING:
	case SIPPRES__DLG_PROCEEDING:
	case SIPPRES__DLG_EARLY:
		return dl->direction == SIPPRES__DIR_INITIATOR ? SIPPRES_DEVICE_INUSE : SIPPRES_DEVICE_RINGING;
	case SIPPRES__DLG_CONFIRMED:
		return on_hold(dl) ? SIPPRES_DEVICE_ONHOLD : SIPPRES_DEVICE_INUSE;
	default:
		return SIPPRES_DEVICE_NOT_INUSE;
	}
}

int sippres__dialoginfo_device_state(const struct sippres__dialoginfo *d)
{
	struct sippres__devagg a;

	sippres__devagg_init(&a);
	for (size_t i = 0; i < d->n_dialogs; i++)
		sippres__devagg_add(&a, sippres__dialog_device_state(&d->dialogs[i]));
	/* no dialog gives INVALID in the aggregation: idle here */
	return a.state == SIPPRES_DEVICE_INVALID ? SIPPRES_DEVICE_NOT_INUSE : a.state;
}

void sippres__dialog_to_call(const struct sippres__dialog *dl, struct sippres_call *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->call_id = dl->call_id ? dl->call_id : dl->id;
	out->local_tag = dl->local_tag;
	out->remote_tag = dl->remote_tag;
	out->direction = dl->direction == SIPPRES__DIR_INITIATOR ? SIPPRES_DIRECTION_INITIATOR
	                                                         : SIPPRES_DIRECTION_RECIPIENT;
	switch (dl->state) {
	case SIPPRES__DLG_CONFIRMED:
		out->state = on_hold(dl) ? SIPPRES_CALL_HELD : SIPPRES_CALL_CONFIRMED;
		break;
	case SIPPRES__DLG_TERMINATED:
		out->state = SIPPRES_CALL_TERMINATED;
		break;
	default:
		out->state = SIPPRES_CALL_EARLY;
		break;
	}
	out->local_uri = dl->local.identity ? dl->local.identity : dl->local.target;
	out->local_display = dl->local.display;
	out->remote_uri = dl->remote.identity ? dl->remote.identity : dl->remote.target;
	out->remote_display = dl->remote.display;
}
