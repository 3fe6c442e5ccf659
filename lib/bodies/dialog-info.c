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
		u->len[i] = p[i] ? strlen(p[i]) : 0;
	}
}

/* a URI that is one value */
static void uri_one(struct uri *u, const char *v)
{
	u->part[0] = u->part[2] = u->part[3] = "";
	u->len[0] = u->len[2] = u->len[3] = 0;
	u->part[1] = v;
	u->len[1] = strlen(v);
}

static size_t uri_len(const struct uri *u)
{
	return u->len[0] + u->len[1] + u->len[2] + u->len[3];
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
	const char *dom;  /* NULL until a bare user needs it */
};

static const char *domain_of(struct dctx *d)
{
	const char *h;
	size_t n;

	if (d->dom)
		return d->dom;
	if (sippres__str_set(d->in->domain)) {
		d->dom = d->in->domain;
		return d->dom;
	}
	uri_host(d->in->local_uri, &h, &n);
	if (n >= sizeof(d->domain))
		n = sizeof(d->domain) - 1;
	memcpy(d->domain, h, n);
	d->domain[n] = '\0';
	d->dom = d->domain;
	return d->dom;
}

/* A party URI from a call field: a URI as is, a bare number/user as
 * sip:USER@DOMAIN, unknown as sip:FALLBACK@DOMAIN. */
static void party_uri(struct uri *u, struct dctx *d, const char *v, const char *fallback)
{
	if (!sippres__str_set(v))
		uri_set(u, "sip:", fallback, "@", domain_of(d));
	else if (strchr(v, ':'))
		uri_one(u, v);
	else
		uri_set(u, "sip:", v, "@", domain_of(d));
}

static void remote_uri(struct uri *u, struct dctx *d, const struct sippres_call *c)
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

#define ROOT_ATTRS_FIXED (sizeof(" xmlns=\"" NS_DIALOG_INFO "\" version=\"4294967295\" state=\"full\" entity=\"\""))

static void root_start(struct sippres_xml *w, const struct sippres_body_input *in)
{
	size_t local_len = strlen(in->local_uri), max = ROOT_ATTRS_FIXED;
	char *o;

	if (!sippres__xml_bound(w, &max, local_len, 6) ||
	    (o = sippres__xml_root_span(w, "dialog-info", sizeof("dialog-info") - 1, max)) == NULL)
		return;
	SIPPRES__PUT(o, " xmlns=\"" NS_DIALOG_INFO "\" version=\"");
	o = sippres__put_version(w, o, in->version);
	SIPPRES__PUT(o, "\" state=\"full\" entity=\"");
	o = sippres__put_attr(o, in->local_uri, local_len);
	SIPPRES__PUT(o, "\"");
	sippres__xml_commit(w, o, false);
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

	sippres__exten_map(in->exten_state, (in->flags & SIPPRES_BODY_EARLY_INUSE_RINGING) != 0, &m);
	early = strcmp(m.statestring, "early") == 0;
	uri_one(&local, in->local_uri);

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

/* ---- the standard profile's dialogs, written through a cursor --------------- */

static char *put_uri_attr(char *o, const struct uri *u)
{
	for (int i = 0; i < 4; i++) {
		if (u->len[i])
			o = sippres__put_attr(o, u->part[i], u->len[i]);
	}
	return o;
}

/* The URI as text; *clean: nothing in it needed escaping. */
static char *put_uri_text(char *o, const struct uri *u, bool *clean)
{
	*clean = true;
	for (int i = 0; i < 4; i++) {
		if (u->len[i]) {
			bool c;

			o = sippres__put_esc_clean(o, u->part[i], u->len[i], false, &c);
			*clean = *clean && c;
		}
	}
	return o;
}

/* A URI written once and not escaped at all, to copy again. */
struct written {
	const struct uri *u; /* NULL: none */
	char *at;
	size_t len;
};

/* at depth 3: <identity [display=]>uri</identity> */
static char *put_identity(char *o, const struct uri *u, const char *display, size_t display_len,
                          struct written *wr)
{
	bool clean;

	if (display) {
		SIPPRES__PUT(o, "\n      <identity display=\"");
		o = sippres__put_attr(o, display, display_len);
		SIPPRES__PUT(o, "\">");
	} else {
		SIPPRES__PUT(o, "\n      <identity>");
	}
	wr->at = o;
	o = put_uri_text(o, u, &clean);
	wr->u = clean ? u : NULL;
	wr->len = (size_t)(o - wr->at);
	SIPPRES__PUT(o, "</identity>");
	return o;
}

/* at depth 3: <target uri=""/>, with the +sip.rendering=no param on hold */
static char *put_target(char *o, const struct uri *u, bool hold, const struct written *wr)
{
	SIPPRES__PUT(o, "\n      <target uri=\"");
	if (wr->u == u)
		o = sippres__put(o, wr->at, wr->len);
	else
		o = put_uri_attr(o, u);
	if (hold)
		SIPPRES__PUT(o, "\">\n        <param pname=\"+sip.rendering\" pval=\"no\"/>\n      </target>");
	else
		SIPPRES__PUT(o, "\"/>");
	return o;
}

/* Every literal one dialog can hold, with room to spare. */
#define DIALOG_STD_FIXED                                                                                          \
	(sizeof("\n  <dialog id=\"\" call-id=\"\" local-tag=\"\" remote-tag=\"\" direction=\"initiator\">"            \
	        "\n    <state>terminated</state>\n    <local>\n      <identity display=\"\"></identity>"                \
	        "\n      <target uri=\"\">\n        <param pname=\"+sip.rendering\" pval=\"no\"/>\n      </target>"    \
	        "\n    </local>\n    <remote>\n      <identity display=\"\"></identity>\n      <target uri=\"\"/>"       \
	        "\n    </remote>\n  </dialog>") +                                                                     \
	 64)

static size_t opt_len(const char *s)
{
	return sippres__str_set(s) ? strlen(s) : 0;
}

static void write_dialog(struct sippres_xml *w, struct dctx *d, const struct dlg *g)
{
	static const char *const states[] = {"<state>early</state>", "<state>confirmed</state>",
	                                     "<state>terminated</state>"};
	const struct sippres_body_input *in = d->in;
	const struct sippres_call *c = g->call;
	struct uri local, lid, rid;
	const char *ldisp = NULL, *rdisp = NULL;
	size_t cid_len = 0, ltag_len = 0, rtag_len = 0, ldisp_len = 0, rdisp_len = 0, max = DIALOG_STD_FIXED;
	bool has_remote = false;
	struct written wr = {NULL, NULL, 0};
	char *o;

	uri_one(&local, in->local_uri);
	if (c) {
		cid_len = strlen(c->call_id);
		ltag_len = opt_len(c->local_tag);
		rtag_len = opt_len(c->remote_tag);
		if (sippres__str_set(c->local_uri))
			party_uri(&lid, d, c->local_uri, "invalid");
		else
			lid = local;
		ldisp = sippres__str_set(c->local_display) ? c->local_display : NULL;
		ldisp_len = opt_len(ldisp);
		has_remote = sippres__str_set(c->remote_uri) || (c->flags & SIPPRES_CALL_NUMBER_RESTRICTED);
		if (has_remote) {
			remote_uri(&rid, d, c);
			rdisp = remote_display(c);
			rdisp_len = opt_len(rdisp);
		}
	} else {
		cid_len = strlen(in->exten);
		lid = local;
	}
	if (!sippres__xml_bound(w, &max, cid_len, 12) || !sippres__xml_bound(w, &max, ltag_len + rtag_len, 6) ||
	    !sippres__xml_bound(w, &max, uri_len(&local) + uri_len(&lid) + ldisp_len, 6) ||
	    (has_remote && !sippres__xml_bound(w, &max, 2 * uri_len(&rid) + rdisp_len, 6)))
		return;
	o = sippres__xml_span(w, max);
	if (!o)
		return;

	SIPPRES__PUT(o, "\n  <dialog id=\"");
	if (c) {
		char *id = o;

		o = sippres__put_attr(o, c->call_id, cid_len);
		cid_len = (size_t)(o - id);
		SIPPRES__PUT(o, "\" call-id=\"");
		o = sippres__put(o, id, cid_len);
		if (ltag_len) {
			SIPPRES__PUT(o, "\" local-tag=\"");
			o = sippres__put_attr(o, c->local_tag, ltag_len);
		}
		if (rtag_len) {
			SIPPRES__PUT(o, "\" remote-tag=\"");
			o = sippres__put_attr(o, c->remote_tag, rtag_len);
		}
	} else {
		o = sippres__put_attr(o, in->exten, cid_len);
	}
	if (g->direction == SIPPRES_DIRECTION_RECIPIENT)
		SIPPRES__PUT(o, "\" direction=\"recipient\">\n    ");
	else if (g->direction == SIPPRES_DIRECTION_INITIATOR)
		SIPPRES__PUT(o, "\" direction=\"initiator\">\n    ");
	else
		SIPPRES__PUT(o, "\">\n    ");
	o = sippres__put(o, states[g->state], strlen(states[g->state]));

	if (c) {
		SIPPRES__PUT(o, "\n    <local>");
		o = put_identity(o, sippres__str_set(c->local_uri) ? &lid : &local, ldisp, ldisp_len, &wr);
		o = put_target(o, &local, g->held, &wr);
		SIPPRES__PUT(o, "\n    </local>");
		if (has_remote) {
			SIPPRES__PUT(o, "\n    <remote>");
			o = put_identity(o, &rid, rdisp, rdisp_len, &wr);
			o = put_target(o, &rid, false, &wr);
			SIPPRES__PUT(o, "\n    </remote>");
		}
	} else if (g->state == DLG_EARLY || g->held) {
		SIPPRES__PUT(o, "\n    <local>");
		if (g->state == DLG_EARLY)
			o = put_identity(o, &local, NULL, 0, &wr);
		o = put_target(o, &local, g->state != DLG_EARLY && g->held, &wr);
		SIPPRES__PUT(o, "\n    </local>");
	}
	SIPPRES__PUT(o, "\n  </dialog>");
	sippres__xml_commit(w, o, false);
}

static int gen_standard(struct sippres_xml *w, const struct sippres_body_input *in)
{
	struct dctx d = {.in = in};
	struct dlist l = {.n = 0};
	struct sippres__exten_map m;
	int32_t st = in->exten_state;
	size_t first = 0, count;

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
