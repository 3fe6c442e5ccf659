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

/* The fixed parts are written as raw fragments per formatting (the fast
 * path); every value goes through the escaping writer. */
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
		sippres__xml_lit(w, "\n  <tuple id=\"t");
		sippres__xml_id(w, in->exten);
		if (closed)
			sippres__xml_lit(w, "\">\n    <status>\n      <basic>closed</basic>\n    </status>\n    <contact priority=\"1\">");
		else
			sippres__xml_lit(w, "\">\n    <status>\n      <basic>open</basic>\n    </status>\n    <contact priority=\"1\">");
		sippres__xml_esc_text(w, in->local_uri, local_len);
		sippres__xml_lit(w, "</contact>\n  </tuple>");
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
	const char *activity, *note;
	bool other;

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

	presence_rpid(in->presence_state, &activity, &note);
	other = sippres__str_set(in->presence_subtype);
	if (sippres__str_set(in->presence_message))
		note = in->presence_message;
	sippres__xml_lit(w, "\n  <dm:person id=\"p");
	sippres__xml_id(w, in->exten);
	if (!m.on_the_phone && !activity && !other && !note) {
		sippres__xml_lit(w, "\"/>");
		return w->err;
	}
	sippres__xml_lit(w, "\">");
	if (m.on_the_phone || activity || other) {
		sippres__xml_lit(w, "\n    <rpid:activities>");
		if (m.on_the_phone)
			sippres__xml_lit(w, "\n      <rpid:on-the-phone/>");
		if (activity) {
			sippres__xml_lit(w, "\n      <");
			sippres__xml_raw(w, activity, strlen(activity));
			sippres__xml_lit(w, "/>");
		}
		if (other) {
			sippres__xml_lit(w, "\n      <rpid:other>");
			sippres__xml_esc_text(w, in->presence_subtype, strlen(in->presence_subtype));
			sippres__xml_lit(w, "</rpid:other>");
		}
		sippres__xml_lit(w, "\n    </rpid:activities>");
	}
	if (note) {
		sippres__xml_lit(w, "\n    <dm:note>");
		sippres__xml_esc_text(w, note, strlen(note));
		sippres__xml_lit(w, "</dm:note>");
	}
	sippres__xml_lit(w, "\n  </dm:person>");
	return w->err;
}
