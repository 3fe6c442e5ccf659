/* SPDX-License-Identifier: MIT */
/* application/pidf+xml (RFC 3863) and its two supplements: "rpid" (the
 * eyeBeam on-the-phone person, plus RFC 4480 activities and a note for the
 * presence state in the standard profile) and "digium" (the Digium/Sangoma
 * presence tuple).
 *
 * asterisk profile (what res_pjsip_pidf_body_generator and its two
 * supplement modules send):
 *   presence(entity, xmlns, [rpid: xmlns:dm, xmlns:rpid])
 *     note, tuple(id=exten){status{basic}, contact priority=1 = subscriber},
 *     [digium tuple], [rpid: dm:person]
 * standard profile (RFC 3863/4479/4480 schema order):
 *   presence(xmlns, entity, [xmlns:dm, xmlns:rpid])
 *     tuple(id=t<exten>){status{basic}, contact priority=1 = presentity},
 *     [digium tuple], note, [dm:person id=p<exten>{rpid:activities, dm:note}] */
#include <string.h>

#include "bodies/bodies-private.h"

#define NS_PIDF "urn:ietf:params:xml:ns:pidf"
#define NS_DM "urn:ietf:params:xml:ns:pidf:data-model"
#define NS_RPID "urn:ietf:params:xml:ns:pidf:rpid"

static void text_str(struct sippres_xml *w, const char *s)
{
	sippres__xml_text(w, s, strlen(s));
}

/* The standard profile's <basic> and tuple note also follow the presence
 * state, so that a watcher reading only <basic> sees someone go offline:
 * a hint without devices takes them from its presence state alone (when
 * set), and a presence state of unavailable closes a hint whose devices are
 * reachable. The asterisk profile takes them from the devices, as Asterisk. */
static void std_basic(const struct sippres_body_input *in, struct sippres__exten_map *m)
{
	bool reachable = in->presence_state >= SIPPRES_PRESENCE_AVAILABLE && in->presence_state <= SIPPRES_PRESENCE_DND;

	if (in->n_devices == 0 && in->presence_state != SIPPRES_PRESENCE_NOT_SET) {
		m->local_state = reachable ? SIPPRES__NOTIFY_OPEN : SIPPRES__NOTIFY_CLOSED;
		m->note = reachable ? "Ready" : "Unavailable";
	} else if (in->presence_state == SIPPRES_PRESENCE_UNAVAILABLE) {
		m->local_state = SIPPRES__NOTIFY_CLOSED;
		m->note = "Unavailable";
	}
}

/* ---- the standard profile's parts, written through a cursor ---------------- */

#define TUPLE_STD_OPEN "\n  <tuple id=\"t"
#define TUPLE_STD_MID_CLOSED "\">\n    <status>\n      <basic>closed</basic>\n    </status>\n    <contact priority=\"1\">"
#define TUPLE_STD_MID_OPEN "\">\n    <status>\n      <basic>open</basic>\n    </status>\n    <contact priority=\"1\">"
#define TUPLE_STD_END "</contact>\n  </tuple>"
#define TUPLE_STD_MAX (sizeof(TUPLE_STD_OPEN TUPLE_STD_MID_CLOSED TUPLE_STD_END))

/* local_clean: the local URI needs no escaping (copied as it is) */
static char *put_tuple_std(char *o, const struct sippres_body_input *in, size_t exten_len, size_t local_len,
                           bool closed, bool local_clean, char **id, size_t *id_len)
{
	SIPPRES__PUT(o, TUPLE_STD_OPEN);
	*id = o;
	o = sippres__put_id(o, in->exten, exten_len);
	*id_len = (size_t)(o - *id);
	if (closed)
		SIPPRES__PUT(o, TUPLE_STD_MID_CLOSED);
	else
		SIPPRES__PUT(o, TUPLE_STD_MID_OPEN);
	if (local_clean)
		o = sippres__put(o, in->local_uri, local_len);
	else
		o = sippres__put_text(o, in->local_uri, local_len);
	SIPPRES__PUT(o, TUPLE_STD_END);
	return o;
}

/* What the standard profile's dm:person says (the rpid supplement). */
struct person {
	bool on_the_phone;
	const char *activity; /* an rpid element name, or NULL */
	size_t activity_len;
	const char *other; /* the presence subtype as rpid:other, or NULL */
	size_t other_len;
	const char *note; /* dm:note, or NULL */
	size_t note_len;
};

static void presence_rpid(uint32_t ps, const char **activity, const char **note);

static void person_std(const struct sippres_body_input *in, const struct sippres__exten_map *m, struct person *p)
{
	presence_rpid(in->presence_state, &p->activity, &p->note);
	p->on_the_phone = m->on_the_phone;
	p->activity_len = p->activity ? strlen(p->activity) : 0;
	p->other = sippres__str_set(in->presence_subtype) ? in->presence_subtype : NULL;
	p->other_len = p->other ? strlen(p->other) : 0;
	if (sippres__str_set(in->presence_message))
		p->note = in->presence_message;
	p->note_len = p->note ? strlen(p->note) : 0;
}

#define PERSON_STD_FIXED                                                                                         \
	(sizeof("\n  <dm:person id=\"p\">\n    <rpid:activities>\n      <rpid:on-the-phone/>\n      </>"          \
	        "\n      <rpid:other></rpid:other>\n    </rpid:activities>\n    <dm:note></dm:note>\n  </dm:person>"))

/* The room put_person_std needs, added to *max; false (err set) on overflow. */
static bool person_bound(struct sippres_xml *w, const struct person *p, size_t exten_len, size_t *max)
{
	*max += PERSON_STD_FIXED + p->activity_len;
	return sippres__xml_bound(w, max, exten_len, 3) && sippres__xml_bound(w, max, p->other_len, 6) &&
	       sippres__xml_bound(w, max, p->note_len, 6);
}

/* id: the exten's xs:ID form written before (id_len bytes), or NULL */
static char *put_person_std(char *o, const struct sippres_body_input *in, size_t exten_len, const struct person *p,
                            const char *id, size_t id_len)
{
	SIPPRES__PUT(o, "\n  <dm:person id=\"p");
	if (id)
		o = sippres__put(o, id, id_len);
	else
		o = sippres__put_id(o, in->exten, exten_len);
	if (!p->on_the_phone && !p->activity && !p->other && !p->note) {
		SIPPRES__PUT(o, "\"/>");
		return o;
	}
	SIPPRES__PUT(o, "\">");
	if (p->on_the_phone || p->activity || p->other) {
		SIPPRES__PUT(o, "\n    <rpid:activities>");
		if (p->on_the_phone)
			SIPPRES__PUT(o, "\n      <rpid:on-the-phone/>");
		if (p->activity) {
			SIPPRES__PUT(o, "\n      <");
			o = sippres__put(o, p->activity, p->activity_len);
			SIPPRES__PUT(o, "/>");
		}
		if (p->other) {
			SIPPRES__PUT(o, "\n      <rpid:other>");
			o = sippres__put_text(o, p->other, p->other_len);
			SIPPRES__PUT(o, "</rpid:other>");
		}
		SIPPRES__PUT(o, "\n    </rpid:activities>");
	}
	if (p->note) {
		SIPPRES__PUT(o, "\n    <dm:note>");
		o = sippres__put_text(o, p->note, p->note_len);
		SIPPRES__PUT(o, "</dm:note>");
	}
	SIPPRES__PUT(o, "\n  </dm:person>");
	return o;
}

#define PRESENCE_STD_OPEN "<presence xmlns=\"" NS_PIDF "\" entity=\""
#define PRESENCE_STD_RPID_NS "\" xmlns:dm=\"" NS_DM "\" xmlns:rpid=\"" NS_RPID "\">"

/* The common case in one span: the standard profile, the built-in
 * supplements and a user agent that gets no Digium tuple. Byte for byte what
 * the general path (generator, hooks, supplements) writes. */
static int pidf_std_direct(struct sippres_xml *w, const struct sippres_body_input *in,
                           const struct sippres__exten_map *m, bool closed, size_t local_len)
{
	size_t exten_len = strlen(in->exten), note_len = strlen(m->note);
	size_t max = sizeof(PRESENCE_STD_OPEN PRESENCE_STD_RPID_NS "\n  <note></note>\n</presence>\n") +
	             TUPLE_STD_MAX + note_len;
	struct person p;
	bool clean;
	char *o, *id;
	size_t id_len;

	person_std(in, m, &p);
	if (!sippres__xml_bound(w, &max, local_len, 12) || !sippres__xml_bound(w, &max, exten_len, 3) ||
	    !person_bound(w, &p, exten_len, &max))
		return w->err;
	o = sippres__xml_span(w, max);
	if (!o)
		return w->err;
	SIPPRES__PUT(o, PRESENCE_STD_OPEN);
	o = sippres__put_esc_clean(o, in->local_uri, local_len, true, &clean);
	SIPPRES__PUT(o, PRESENCE_STD_RPID_NS);
	o = put_tuple_std(o, in, exten_len, local_len, closed, clean, &id, &id_len);
	SIPPRES__PUT(o, "\n  <note>");
	o = sippres__put(o, m->note, note_len);
	SIPPRES__PUT(o, "</note>");
	o = put_person_std(o, in, exten_len, &p, id, id_len);
	SIPPRES__PUT(o, "\n</presence>\n");
	sippres__xml_commit(w, o, true);
	return 0;
}

/* The fixed parts are written as raw fragments per formatting; every value
 * goes through the escaping writer. */
int sippres__gen_pidf(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in)
{
	struct sippres__exten_map m;
	bool ast = in->profile == SIPPRES_PROFILE_ASTERISK;
	bool closed;
	size_t local_len;

	(void)user_data;
	sippres__exten_map(in->exten_state, false, &m);
	if (!ast)
		std_basic(in, &m);
	closed = m.local_state == SIPPRES__NOTIFY_CLOSED;

	local_len = strlen(in->local_uri);
	if (!ast && sippres__bodies_builtin_pidf_supplements(w) && !sippres__ua_is_digium(in->user_agent))
		return pidf_std_direct(w, in, &m, closed, local_len);
	sippres__xml_start_lit(w, "presence");
	if (ast) {
		sippres__xml_lit(w, " entity=\"");
		sippres__xml_esc_attr(w, in->local_uri, local_len);
		sippres__xml_lit(w, "\" xmlns=\"" NS_PIDF "\"");
	} else {
		sippres__xml_lit(w, " xmlns=\"" NS_PIDF "\" entity=\"");
		sippres__xml_esc_attr(w, in->local_uri, local_len);
		sippres__xml_lit(w, "\"");
	}
	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_ROOT);

	sippres__xml_children(w);
	if (ast) {
		const char *contact = in->remote_uri ? in->remote_uri : "";

		sippres__xml_lit(w, "\n <note>");
		sippres__xml_raw(w, m.note, strlen(m.note));
		sippres__xml_lit(w, "</note>\n <tuple id=\"");
		sippres__xml_esc_attr(w, in->exten, strlen(in->exten));
		if (closed)
			sippres__xml_lit(w, "\">\n  <status>\n   <basic>closed</basic>\n  </status>\n  <contact priority=\"1\"");
		else
			sippres__xml_lit(w, "\">\n  <status>\n   <basic>open</basic>\n  </status>\n  <contact priority=\"1\"");
		if (contact[0]) {
			sippres__xml_lit(w, ">");
			sippres__xml_esc_text(w, contact, strlen(contact));
			sippres__xml_lit(w, "</contact>\n </tuple>");
		} else {
			sippres__xml_lit(w, " />\n </tuple>");
		}
	} else {
		size_t exten_len = strlen(in->exten), max = TUPLE_STD_MAX, id_len;
		char *o, *id;

		if (sippres__xml_bound(w, &max, local_len, 6) && sippres__xml_bound(w, &max, exten_len, 3) &&
		    (o = sippres__xml_span(w, max)) != NULL)
			sippres__xml_commit(w, put_tuple_std(o, in, exten_len, local_len, closed, false, &id, &id_len), false);
	}

	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_MAIN);
	if (!ast) {
		sippres__xml_lit(w, "\n  <note>");
		sippres__xml_raw(w, m.note, strlen(m.note));
		sippres__xml_lit(w, "</note>");
	}
	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_END);
	sippres__xml_end(w); /* presence */
	return w->err;
}

/* ---- Digium / Sangoma presence tuple ------------------------------------- */

int sippres__supp_digium(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in, uint32_t hook)
{
	const char *type;

	(void)user_data;
	if (hook != SIPPRES_BODY_HOOK_MAIN || !sippres__ua_is_digium(in->user_agent))
		return 0;
	type = sippres_presence_state_name((int)in->presence_state);
	sippres__xml_start_lit(w, "tuple");
	sippres__xml_attr_lit(w, "id", "digium-presence");
	sippres__xml_start_lit(w, "status");
	sippres__xml_start_lit(w, "digium_presence");
	sippres__xml_attr_str(w, "type", type);
	if (sippres__str_set(in->presence_subtype))
		sippres__xml_attr_str(w, "subtype", in->presence_subtype);
	if (sippres__str_set(in->presence_message))
		text_str(w, in->presence_message);
	sippres__xml_end(w); /* digium_presence */
	sippres__xml_end(w); /* status */
	sippres__xml_end(w); /* tuple */
	return w->err;
}

/* ---- RPID (eyeBeam) person ------------------------------------------------ */

/* The RFC 4480 activity and the note the standard profile gives a presence
 * state (Asterisk sends presence only to Digium phones). */
static void presence_rpid(uint32_t ps, const char **activity, const char **note)
{
	*activity = NULL;
	*note = NULL;
	switch (ps) {
	case SIPPRES_PRESENCE_AWAY:
		*activity = "rpid:away";
		*note = "Away";
		break;
	case SIPPRES_PRESENCE_XA:
		*activity = "rpid:away";
		*note = "Extended away";
		break;
	case SIPPRES_PRESENCE_DND:
		*activity = "rpid:busy";
		*note = "Do not disturb";
		break;
	case SIPPRES_PRESENCE_CHAT:
		*note = "Available for chat";
		break;
	case SIPPRES_PRESENCE_UNAVAILABLE:
		*note = "Unavailable";
		break;
	default:
		break;
	}
}

int sippres__supp_rpid(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in, uint32_t hook)
{
	struct sippres__exten_map m;

	(void)user_data;
	if (hook == SIPPRES_BODY_HOOK_ROOT) {
		sippres__xml_attr_lit(w, "xmlns:dm", NS_DM);
		sippres__xml_attr_lit(w, "xmlns:rpid", NS_RPID);
		return w->err;
	}
	if (hook != SIPPRES_BODY_HOOK_END)
		return 0;
	sippres__exten_map(in->exten_state, false, &m);
	sippres__xml_children(w);
	if (in->profile == SIPPRES_PROFILE_ASTERISK) {
		/* eyeBeam: only ever on-the-phone, presence is not mapped */
		if (m.on_the_phone)
			sippres__xml_lit(w, "\n <dm:person>\n  <rpid:activities>\n   <rpid:on-the-phone />\n"
			              "  </rpid:activities>\n </dm:person>");
		else
			sippres__xml_lit(w, "\n <dm:person />");
		return w->err;
	}

	{
		size_t exten_len = strlen(in->exten), max = 0;
		struct person p;
		char *o;

		person_std(in, &m, &p);
		if (person_bound(w, &p, exten_len, &max) && (o = sippres__xml_span(w, max)) != NULL)
			sippres__xml_commit(w, put_person_std(o, in, exten_len, &p, NULL, 0), false);
	}
	return w->err;
}
