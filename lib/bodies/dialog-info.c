/* SPDX-License-Identifier: MIT */
/* application/dialog-info+xml (RFC 4235).
 *
 * asterisk profile (what res_pjsip_dialog_info_body_generator sends):
 * always state="full" and exactly one
 * <dialog id="EXTEN">; early adds direction="recipient", a <remote> for the
 * ringing call and a <local> whose target is the presentity; ONHOLD adds the
 * +sip.rendering=no target after <state>. Element order as Asterisk sends it.
 *
 * standard profile (RFC 4235 schema order: state, local, remote): one dialog
 * per call the host told us about (id and call-id from the call, local-tag,
 * remote-tag and direction for pickup), filtered by the extension state; when
 * the calls do not explain the state a "virtual" dialog with id=EXTEN stands
 * in, as Asterisk's does. Nothing going on gives an empty document unless the
 * endpoint asks for a dummy dialog; SINGLE_DIALOG keeps the most interesting
 * dialog only. */
#include <string.h>

#include "bodies/bodies-private.h"

#define NS_DIALOG_INFO "urn:ietf:params:xml:ns:dialog-info"
#define MAX_DIALOGS 32

enum { DLG_EARLY = 0, DLG_CONFIRMED = 1, DLG_TERMINATED = 2 };

/* A URI written in parts (each escaped): pre main mid post. */
struct uri {
	const char *part[4];
	size_t len[4];
};

static void uri_set(struct uri *u, const char *pre, const char *main_, const char *mid, const char *post)
{
	const char *p[4] = {pre, main_, mid, post};

	for (int i = 0; i < 4; i++) {
		u->part[i] = p[i] ? p[i] : "";
		u->len[i] = strlen(u->part[i]);
	}
}

/* The document is written as raw fragments (the writer's fast path): the
 * fixed markup per formatting as literals, every value escaped. */
static const char nl_spaces[] = "\n                ";

/* A new line indented for depth d (at most 4 here). */
static void nl(struct sippres_xml *w, unsigned d)
{
	sippres__xml_raw(w, nl_spaces, 1 + (w->format == SIPPRES__XML_ASTERISK ? d : 2 * d));
}

static void esc_attr_str(struct sippres_xml *w, const char *s)
{
	sippres__xml_esc_attr(w, s, strlen(s));
}

static void uri_attr(struct sippres_xml *w, const struct uri *u)
{
	for (int i = 0; i < 4; i++) {
		if (u->len[i])
			sippres__xml_esc_attr(w, u->part[i], u->len[i]);
	}
}

static void uri_text(struct sippres_xml *w, const struct uri *u)
{
	for (int i = 0; i < 4; i++) {
		if (u->len[i])
			sippres__xml_esc_text(w, u->part[i], u->len[i]);
	}
}

/* The host part of a SIP URI (between '@', or the scheme, and ':' ';' '>' '?'). */
static void uri_host(const char *uri, const char **host, size_t *len)
{
	const char *s = strchr(uri, '@'), *e;

	if (s)
		s++;
	else if ((s = strchr(uri, ':')) != NULL)
		s++;
	else
		s = uri;
	if (*s == '[') { /* IPv6 reference */
		e = strchr(s, ']');
		e = e ? e + 1 : s + strlen(s);
	} else {
		e = s + strcspn(s, ":;>?");
	}
	*host = s;
	*len = (size_t)(e - s);
}

struct dctx {
	const struct sippres_body_input *in;
	char domain[256]; /* NUL-terminated copy when derived from local_uri */
	const char *dom;
};

static void set_domain(struct dctx *d)
{
	const char *h;
	size_t n;

	if (sippres__str_set(d->in->domain)) {
		d->dom = d->in->domain;
		return;
	}
	uri_host(d->in->local_uri, &h, &n);
	if (n >= sizeof(d->domain))
		n = sizeof(d->domain) - 1;
	memcpy(d->domain, h, n);
	d->domain[n] = '\0';
	d->dom = d->domain;
}

/* A party URI from a call field: a URI as is, a bare number/user as
 * sip:USER@DOMAIN, unknown as sip:FALLBACK@DOMAIN. */
static void party_uri(struct uri *u, const struct dctx *d, const char *v, const char *fallback)
{
	if (!sippres__str_set(v))
		uri_set(u, "sip:", fallback, "@", d->dom);
	else if (strchr(v, ':'))
		uri_set(u, NULL, v, NULL, NULL);
	else
		uri_set(u, "sip:", v, "@", d->dom);
}

static void remote_uri(struct uri *u, const struct dctx *d, const struct sippres_call *c)
{
	if (c->flags & SIPPRES_CALL_NUMBER_RESTRICTED)
		uri_set(u, "sip:anonymous@anonymous.invalid", NULL, NULL, NULL);
	else
		party_uri(u, d, c->remote_uri, "invalid");
}

static const char *remote_display(const struct sippres_call *c)
{
	if (c->flags & SIPPRES_CALL_NAME_RESTRICTED)
		return "anonymous";
	return sippres__str_set(c->remote_display) ? c->remote_display : NULL;
}

/* <identity [display=]>uri</identity> at depth d (the URI is never empty) */
static void identity(struct sippres_xml *w, const struct uri *u, const char *display, unsigned d)
{
	nl(w, d);
	if (display) {
		sippres__xml_lit(w, "<identity display=\"");
		esc_attr_str(w, display);
		sippres__xml_lit(w, "\">");
	} else {
		sippres__xml_lit(w, "<identity>");
	}
	uri_text(w, u);
	sippres__xml_lit(w, "</identity>");
}

/* <target uri=""/> at depth d, with the +sip.rendering=no param on hold */
static void target(struct sippres_xml *w, const struct uri *u, bool hold, bool ast, unsigned d)
{
	nl(w, d);
	sippres__xml_lit(w, "<target uri=\"");
	uri_attr(w, u);
	if (!hold) {
		sippres__xml_lit2(w, "\" />", "\"/>");
		return;
	}
	sippres__xml_lit(w, "\">");
	nl(w, d + 1);
	/* RFC 4235's schema calls it pval; Asterisk writes pvalue */
	if (ast)
		sippres__xml_lit(w, "<param pname=\"+sip.rendering\" pvalue=\"no\" />");
	else
		sippres__xml_lit(w, "<param pname=\"+sip.rendering\" pval=\"no\"/>");
	nl(w, d);
	sippres__xml_lit(w, "</target>");
}

/* <state>s</state> at depth 2 */
static void state_elem(struct sippres_xml *w, const char *st)
{
	nl(w, 2);
	sippres__xml_lit(w, "<state>");
	sippres__xml_raw(w, st, strlen(st));
	sippres__xml_lit(w, "</state>");
}

static bool is_ringing_device(int32_t st)
{
	return st == SIPPRES_DEVICE_RINGING || st == SIPPRES_DEVICE_RINGINUSE;
}

/* The callee's ringing call: the host's causing call when it is early, else
 * the first ringing device's causing call. */
static const struct sippres_call *ringing_call(const struct sippres_body_input *in)
{
	if (in->causing_call && in->causing_call->state == SIPPRES_CALL_EARLY)
		return in->causing_call;
	for (size_t i = 0; i < in->n_devices; i++) {
		if (is_ringing_device(in->devices[i].state) && in->devices[i].causing_call)
			return in->devices[i].causing_call;
	}
	return NULL;
}

static void root_start(struct sippres_xml *w, const struct sippres_body_input *in)
{
	sippres__xml_start_lit(w, "dialog-info");
	sippres__xml_lit(w, " xmlns=\"" NS_DIALOG_INFO "\"");
	sippres__xml_attr_u32(w, "version", 7, in->version, true);
	sippres__xml_lit(w, " state=\"full\" entity=\"");
	esc_attr_str(w, in->local_uri);
	sippres__xml_lit(w, "\"");
	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_ROOT);
}

static void root_end(struct sippres_xml *w)
{
	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_MAIN);
	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_END);
	sippres__xml_end(w);
}

/* ---- asterisk profile ---------------------------------------------------- */

static int gen_asterisk(struct sippres_xml *w, const struct sippres_body_input *in)
{
	struct sippres__exten_map m;
	struct dctx d = {.in = in};
	struct uri local;
	bool early;

	set_domain(&d);
	sippres__exten_map(in->exten_state, (in->flags & SIPPRES_BODY_EARLY_INUSE_RINGING) != 0, &m);
	early = strcmp(m.statestring, "early") == 0;
	uri_set(&local, NULL, in->local_uri, NULL, NULL);

	root_start(w, in);
	sippres__xml_children(w);
	nl(w, 1);
	sippres__xml_lit(w, "<dialog id=\"");
	esc_attr_str(w, in->exten);
	if (early) {
		const struct sippres_call *ring = ringing_call(in);

		sippres__xml_lit(w, "\" direction=\"recipient\">");
		if (ring) {
			struct uri u;

			remote_uri(&u, &d, ring);
			nl(w, 2);
			sippres__xml_lit(w, "<remote>");
			identity(w, &u, remote_display(ring), 3);
			target(w, &u, false, true, 3);
			nl(w, 2);
			sippres__xml_lit(w, "</remote>");
		}
		/* Asterisk adds <local> whenever it has device information (always
		 * for subscriptions; not for outbound PUBLISH). */
		if (in->n_devices || in->causing_call) {
			nl(w, 2);
			sippres__xml_lit(w, "<local>");
			if (ring) {
				struct uri u;

				if (sippres__str_set(ring->local_uri))
					party_uri(&u, &d, ring->local_uri, "invalid");
				else
					u = local;
				identity(w, &u, sippres__str_set(ring->local_display) ? ring->local_display : NULL, 3);
			} else {
				identity(w, &local, NULL, 3);
			}
			target(w, &local, false, true, 3);
			nl(w, 2);
			sippres__xml_lit(w, "</local>");
		}
	} else {
		sippres__xml_lit(w, "\">");
	}
	state_elem(w, m.statestring);
	if (in->exten_state == SIPPRES_EXTEN_ONHOLD) {
		nl(w, 2);
		sippres__xml_lit(w, "<local>");
		target(w, &local, true, true, 3);
		nl(w, 2);
		sippres__xml_lit(w, "</local>");
	}
	nl(w, 1);
	sippres__xml_lit(w, "</dialog>");
	root_end(w);
	return w->err;
}

/* ---- standard profile ---------------------------------------------------- */

struct dlg {
	const struct sippres_call *call; /* NULL: virtual dialog (id = exten) */
	int state;                       /* DLG_* */
	bool held;
	int direction; /* -1 unknown, else enum sippres_call_direction */
};

struct dlist {
	struct dlg d[MAX_DIALOGS];
	size_t n;
	bool early_recipient; /* a known call explains RINGING */
	bool active;          /* a known call explains INUSE/BUSY/ONHOLD */
};

#define ACTIVE_BITS (SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_BUSY | SIPPRES_EXTEN_ONHOLD)

static void add_call(struct dlist *l, const struct sippres_call *c, int32_t st)
{
	bool ringing;

	if (!c || !sippres__str_set(c->call_id) || c->state > SIPPRES_CALL_HELD || l->n >= MAX_DIALOGS)
		return; /* terminated or unknown state: not reported */
	for (size_t i = 0; i < l->n; i++) {
		if (l->d[i].call == c || strcmp(l->d[i].call->call_id, c->call_id) == 0)
			return;
	}
	ringing = c->state == SIPPRES_CALL_EARLY && c->direction == SIPPRES_DIRECTION_RECIPIENT;
	/* report only calls that agree with the extension state */
	if (ringing ? !(st & SIPPRES_EXTEN_RINGING) : !(st & ACTIVE_BITS))
		return;
	l->d[l->n++] = (struct dlg){
		.call = c,
		.state = c->state == SIPPRES_CALL_EARLY ? DLG_EARLY : DLG_CONFIRMED,
		.held = c->state == SIPPRES_CALL_HELD,
		.direction = c->direction <= SIPPRES_DIRECTION_INITIATOR ? (int)c->direction : -1,
	};
	if (ringing)
		l->early_recipient = true;
	else
		l->active = true;
}

static void add_virtual(struct dlist *l, int state, bool held, int direction)
{
	if (l->n < MAX_DIALOGS)
		l->d[l->n++] = (struct dlg){.call = NULL, .state = state, .held = held, .direction = direction};
}

static void write_dialog(struct sippres_xml *w, const struct dctx *d, const struct dlg *g)
{
	static const char *const states[] = {"early", "confirmed", "terminated"};
	const struct sippres_body_input *in = d->in;
	const struct sippres_call *c = g->call;
	struct uri local;

	uri_set(&local, NULL, in->local_uri, NULL, NULL);
	nl(w, 1);
	sippres__xml_lit(w, "<dialog id=\"");
	if (c) {
		size_t n = strlen(c->call_id);

		sippres__xml_esc_attr(w, c->call_id, n);
		sippres__xml_lit(w, "\" call-id=\"");
		sippres__xml_esc_attr(w, c->call_id, n);
		if (sippres__str_set(c->local_tag)) {
			sippres__xml_lit(w, "\" local-tag=\"");
			esc_attr_str(w, c->local_tag);
		}
		if (sippres__str_set(c->remote_tag)) {
			sippres__xml_lit(w, "\" remote-tag=\"");
			esc_attr_str(w, c->remote_tag);
		}
	} else {
		esc_attr_str(w, in->exten);
	}
	if (g->direction == SIPPRES_DIRECTION_RECIPIENT)
		sippres__xml_lit(w, "\" direction=\"recipient\">");
	else if (g->direction == SIPPRES_DIRECTION_INITIATOR)
		sippres__xml_lit(w, "\" direction=\"initiator\">");
	else
		sippres__xml_lit(w, "\">");
	state_elem(w, states[g->state]);

	if (c) {
		struct uri u;

		nl(w, 2);
		sippres__xml_lit(w, "<local>");
		if (sippres__str_set(c->local_uri))
			party_uri(&u, d, c->local_uri, "invalid");
		else
			u = local;
		identity(w, &u, sippres__str_set(c->local_display) ? c->local_display : NULL, 3);
		target(w, &local, g->held, false, 3);
		nl(w, 2);
		sippres__xml_lit(w, "</local>");
		if (sippres__str_set(c->remote_uri) || (c->flags & SIPPRES_CALL_NUMBER_RESTRICTED)) {
			remote_uri(&u, d, c);
			nl(w, 2);
			sippres__xml_lit(w, "<remote>");
			identity(w, &u, remote_display(c), 3);
			target(w, &u, false, false, 3);
			nl(w, 2);
			sippres__xml_lit(w, "</remote>");
		}
	} else if (g->state == DLG_EARLY || g->held) {
		nl(w, 2);
		sippres__xml_lit(w, "<local>");
		if (g->state == DLG_EARLY)
			identity(w, &local, NULL, 3);
		target(w, &local, g->state != DLG_EARLY && g->held, false, 3);
		nl(w, 2);
		sippres__xml_lit(w, "</local>");
	}
	nl(w, 1);
	sippres__xml_lit(w, "</dialog>");
}

static int gen_standard(struct sippres_xml *w, const struct sippres_body_input *in)
{
	struct dctx d = {.in = in};
	struct dlist l = {.n = 0};
	struct sippres__exten_map m;
	int32_t st = in->exten_state;
	size_t first = 0, count;

	set_domain(&d);
	if (st < 0)
		st = 0; /* removed / deactivated: nothing going on */
	sippres__exten_map(in->exten_state, (in->flags & SIPPRES_BODY_EARLY_INUSE_RINGING) != 0, &m);

	add_call(&l, in->causing_call, st);
	for (size_t i = 0; i < in->n_devices; i++)
		add_call(&l, in->devices[i].causing_call, st);

	if (l.n == 0) {
		/* no call details: one virtual dialog as Asterisk sends it */
		if (strcmp(m.statestring, "early") == 0)
			add_virtual(&l, DLG_EARLY, false, SIPPRES_DIRECTION_RECIPIENT);
		else if (strcmp(m.statestring, "confirmed") == 0)
			add_virtual(&l, DLG_CONFIRMED, in->exten_state == SIPPRES_EXTEN_ONHOLD, -1);
		else if (in->flags & SIPPRES_BODY_DUMMY_DIALOG)
			add_virtual(&l, DLG_TERMINATED, false, -1);
	} else if ((st & SIPPRES_EXTEN_RINGING) && !l.early_recipient) {
		add_virtual(&l, DLG_EARLY, false, SIPPRES_DIRECTION_RECIPIENT);
	} else if ((st & ACTIVE_BITS) && !l.active) {
		add_virtual(&l, DLG_CONFIRMED, (st & ACTIVE_BITS) == SIPPRES_EXTEN_ONHOLD, -1);
	}

	count = l.n;
	if ((in->flags & SIPPRES_BODY_SINGLE_DIALOG) && l.n > 1) {
		/* early beats confirmed so that pickup stays possible; the first wins ties */
		for (size_t i = 1; i < l.n; i++) {
			if (l.d[i].state < l.d[first].state)
				first = i;
		}
		count = 1;
	}

	root_start(w, in);
	if (count)
		sippres__xml_children(w);
	for (size_t i = 0; i < count; i++)
		write_dialog(w, &d, &l.d[first + i]);
	root_end(w);
	return w->err;
}

int sippres__gen_dialog_info(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in)
{
	(void)user_data;
	if (in->profile == SIPPRES_PROFILE_ASTERISK)
		return gen_asterisk(w, in);
	return gen_standard(w, in);
}
