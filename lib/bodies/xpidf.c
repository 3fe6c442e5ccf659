/* SPDX-License-Identifier: MIT */
/* application/xpidf+xml, also registered as application/cpim-pidf+xml (the
 * same XPIDF body under the old CPIM name, as Asterisk sends it).
 *
 * asterisk profile (what res_pjsip_xpidf_body_generator and pjxpidf_create send):
 *   <presence>
 *    <presentity uri="LOCAL;method=SUBSCRIBE" />
 *    <atom atomid="RANDOM" id="EXTEN">
 *     <address uri="REMOTE;user=ip" priority="0.80000">
 *      <status status="open|inuse|closed" />
 *      <msnsubstatus substatus="online|onthephone|offline" />
 * standard profile: the shape chan_sip sent, which most XPIDF phones were
 * tested against: the XPIDF doctype line, priority="0.800000", the
 * address is the presentity (like the PIDF contact), and the presence state
 * refines msnsubstatus (away, busy) when the phone is not in use. */
#include <string.h>

#include "bodies/bodies-private.h"

#define XPIDF_DOCTYPE "<!DOCTYPE presence PUBLIC \"-//IETF//DTD RFCxxxx XPIDF 1.0//EN\" \"xpidf.dtd\">\n"

int sippres__gen_xpidf(void *user_data, struct sippres_xml *w, const struct sippres_body_input *in)
{
	static const char hex[] = "0123456789abcdef";
	bool ast = in->profile == SIPPRES_PROFILE_ASTERISK;
	struct sippres__exten_map m;
	uint8_t rnd[16];
	char atomid[32];
	const char *status, *substatus, *addr;
	int r;

	(void)user_data;
	/* The atom id: 32 lower-case hex digits from the context's random source
	 * (Asterisk's pjproject makes a unique string per body). */
	r = sippres_ctx_random(w->ctx, rnd, sizeof(rnd));
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(rnd); i++) {
		atomid[2 * i] = hex[rnd[i] >> 4];
		atomid[2 * i + 1] = hex[rnd[i] & 15];
	}

	sippres__exten_map(in->exten_state, false, &m);
	switch (m.local_state) {
	case SIPPRES__NOTIFY_CLOSED:
		status = "closed";
		substatus = "offline";
		break;
	case SIPPRES__NOTIFY_INUSE:
		status = "inuse";
		substatus = "onthephone";
		break;
	default:
		status = "open";
		substatus = "online";
		if (!ast) {
			if (in->presence_state == SIPPRES_PRESENCE_AWAY || in->presence_state == SIPPRES_PRESENCE_XA)
				substatus = "away";
			else if (in->presence_state == SIPPRES_PRESENCE_DND)
				substatus = "busy";
		}
		break;
	}
	addr = ast ? (in->remote_uri ? in->remote_uri : "") : in->local_uri;

	if (!ast)
		sippres__xml_lit(w, XPIDF_DOCTYPE);
	sippres__xml_start_lit(w, "presence");
	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_ROOT);

	/* fixed markup as raw fragments per formatting, values escaped */
	sippres__xml_children(w);
	sippres__xml_lit2(w, "\n <presentity uri=\"", "\n  <presentity uri=\"");
	sippres__xml_esc_attr(w, in->local_uri, strlen(in->local_uri));
	sippres__xml_lit2(w, ";method=SUBSCRIBE\" />\n <atom atomid=\"", ";method=SUBSCRIBE\"/>\n  <atom atomid=\"");
	sippres__xml_raw(w, atomid, sizeof(atomid));
	sippres__xml_lit(w, "\" id=\"");
	sippres__xml_esc_attr(w, in->exten, strlen(in->exten));
	sippres__xml_lit2(w, "\">\n  <address uri=\"", "\">\n    <address uri=\"");
	sippres__xml_esc_attr(w, addr, strlen(addr));
	sippres__xml_lit2(w, ";user=ip\" priority=\"0.80000\">\n   <status status=\"",
	            ";user=ip\" priority=\"0.800000\">\n      <status status=\"");
	sippres__xml_raw(w, status, strlen(status));
	sippres__xml_lit2(w, "\" />\n   <msnsubstatus substatus=\"", "\"/>\n      <msnsubstatus substatus=\"");
	sippres__xml_raw(w, substatus, strlen(substatus));
	sippres__xml_lit2(w, "\" />\n  </address>\n </atom>", "\"/>\n    </address>\n  </atom>");

	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_MAIN);
	sippres__bodies_run_supplements(w, SIPPRES_BODY_HOOK_END);
	sippres__xml_end(w); /* presence */
	return w->err;
}
