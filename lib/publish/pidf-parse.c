/* SPDX-License-Identifier: MIT */
/* application/pidf+xml (RFC 3863) with RFC 4480 RPID activities into a
 * presence state, subtype and message. Elements are matched by namespace URI,
 * never by prefix; unknown elements are ignored, as PIDF's extensibility
 * requires.
 *
 * Mapping (docs/publish.md, "Bodies and their mapping"):
 *   1. The activities of every <dm:person> and every <tuple> (as a child of
 *      the tuple or of its <status>) are collected. The highest class
 *      present decides the state; within a class the first activity in the
 *      table below wins and gives the subtype:
 *        class  activity            state  subtype
 *        3      busy                DND    -
 *        3      on-the-phone        DND    on-the-phone
 *        3      meeting             DND    meeting
 *        3      presentation        DND    presentation
 *        3      performance         DND    performance
 *        2      vacation            XA     vacation
 *        2      holiday             XA     holiday
 *        2      permanent-absence   XA     permanent-absence
 *        2      sleeping            XA     sleeping
 *        1      away                AWAY   -
 *        1      appointment         AWAY   appointment
 *        1      meal                AWAY   meal
 *        1      breakfast           AWAY   breakfast
 *        1      dinner              AWAY   dinner
 *        1      in-transit          AWAY   in-transit
 *        1      travel              AWAY   travel
 *        1      steering            AWAY   steering
 *        1      shopping            AWAY   shopping
 *        1      playing             AWAY   playing
 *        1      tv                  AWAY   tv
 *        1      spectator           AWAY   spectator
 *        1      worship             AWAY   worship
 *        0      working, looking-for-work, unknown: recorded, no effect
 *   2. No activity of class >= 1: any tuple <basic>open</basic> gives
 *      AVAILABLE; else any <basic>closed</basic> gives UNAVAILABLE; else
 *      NOT_SET (no tuple, or no usable <basic>).
 *   3. A non-empty <rpid:other> text is the subtype (it replaces the
 *      activity's subtype; it does not change the state).
 *   4. The message is the first non-empty note of: the persons' <dm:note>,
 *      the presence-level <note>, the tuples' <note>, in document order
 *      within each; xml:lang is ignored.
 * The library's own standard-profile PIDF round-trips AVAILABLE, AWAY, DND,
 * UNAVAILABLE (closed) and subtypes; XA is written as away and reads back as
 * AWAY, and CHAT (no RFC 4480 activity) reads back as AVAILABLE.
 *
 * baresip 1.0.0's first PUBLISH has <basic>unknown</basic>, which the PIDF
 * schema does not allow. It is accepted: a <basic> that is neither open nor
 * closed counts as absent, so that body gives NOT_SET (the publication exists
 * and contributes nothing to the hint's presence). Refusing it with 400 would
 * only make baresip retry the same body. */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "publish/publish-private.h"

#define NS_PIDF "urn:ietf:params:xml:ns:pidf"
#define NS_DM "urn:ietf:params:xml:ns:pidf:data-model"
#define NS_RPID "urn:ietf:params:xml:ns:pidf:rpid"

struct activity {
	const char *name;
	uint32_t bit;
	uint8_t cls;      /* 0: no effect on the state */
	uint8_t state;    /* enum sippres_presence_state for cls > 0 */
	bool subtype;     /* the name is the subtype */
};

/* In priority order within each class (see the table above). */
static const struct activity activities[] = {
	{"busy", SIPPRES__ACT_BUSY, 3, SIPPRES_PRESENCE_DND, false},
	{"on-the-phone", SIPPRES__ACT_ON_THE_PHONE, 3, SIPPRES_PRESENCE_DND, true},
	{"meeting", SIPPRES__ACT_MEETING, 3, SIPPRES_PRESENCE_DND, true},
	{"presentation", SIPPRES__ACT_PRESENTATION, 3, SIPPRES_PRESENCE_DND, true},
	{"performance", SIPPRES__ACT_PERFORMANCE, 3, SIPPRES_PRESENCE_DND, true},
	{"vacation", SIPPRES__ACT_VACATION, 2, SIPPRES_PRESENCE_XA, true},
	{"holiday", SIPPRES__ACT_HOLIDAY, 2, SIPPRES_PRESENCE_XA, true},
	{"permanent-absence", SIPPRES__ACT_PERMANENT_ABSENCE, 2, SIPPRES_PRESENCE_XA, true},
	{"sleeping", SIPPRES__ACT_SLEEPING, 2, SIPPRES_PRESENCE_XA, true},
	{"away", SIPPRES__ACT_AWAY, 1, SIPPRES_PRESENCE_AWAY, false},
	{"appointment", SIPPRES__ACT_APPOINTMENT, 1, SIPPRES_PRESENCE_AWAY, true},
	{"meal", SIPPRES__ACT_MEAL, 1, SIPPRES_PRESENCE_AWAY, true},
	{"breakfast", SIPPRES__ACT_BREAKFAST, 1, SIPPRES_PRESENCE_AWAY, true},
	{"dinner", SIPPRES__ACT_DINNER, 1, SIPPRES_PRESENCE_AWAY, true},
	{"in-transit", SIPPRES__ACT_IN_TRANSIT, 1, SIPPRES_PRESENCE_AWAY, true},
	{"travel", SIPPRES__ACT_TRAVEL, 1, SIPPRES_PRESENCE_AWAY, true},
	{"steering", SIPPRES__ACT_STEERING, 1, SIPPRES_PRESENCE_AWAY, true},
	{"shopping", SIPPRES__ACT_SHOPPING, 1, SIPPRES_PRESENCE_AWAY, true},
	{"playing", SIPPRES__ACT_PLAYING, 1, SIPPRES_PRESENCE_AWAY, true},
	{"tv", SIPPRES__ACT_TV, 1, SIPPRES_PRESENCE_AWAY, true},
	{"spectator", SIPPRES__ACT_SPECTATOR, 1, SIPPRES_PRESENCE_AWAY, true},
	{"worship", SIPPRES__ACT_WORSHIP, 1, SIPPRES_PRESENCE_AWAY, true},
	{"working", SIPPRES__ACT_WORKING, 0, 0, false},
	{"looking-for-work", SIPPRES__ACT_LOOKING_FOR_WORK, 0, 0, false},
	{"unknown", SIPPRES__ACT_UNKNOWN, 0, 0, false},
};
#define N_ACTIVITIES (sizeof(activities) / sizeof(activities[0]))

const char *sippres__activity_name(uint32_t bit)
{
	if (bit == SIPPRES__ACT_OTHER)
		return "other";
	for (size_t i = 0; i < N_ACTIVITIES; i++) {
		if (activities[i].bit == bit)
			return activities[i].name;
	}
	return NULL;
}

struct walk {
	struct sippres_ctx *ctx;
	struct sippres__pidf *out;
	const xmlNode *other;       /* first <rpid:other> with text */
	const xmlNode *person_note; /* first candidate notes, by level */
	const xmlNode *pres_note;
	const xmlNode *tuple_note;
};

static bool xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool has_text(const xmlNode *n)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE || !c->content)
			continue;
		for (const xmlChar *p = c->content; *p; p++) {
			if (!xml_space((char)*p))
				return true;
		}
	}
	return false;
}

static void note_candidate(const xmlNode *n, const xmlNode **slot)
{
	if (!*slot && has_text(n))
		*slot = n;
}

static void read_activities(struct walk *w, const xmlNode *acts)
{
	for (const xmlNode *c = acts->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || !c->ns || !c->ns->href ||
		    strcmp((const char *)c->ns->href, NS_RPID) != 0)
			continue;
		if (strcmp((const char *)c->name, "other") == 0) {
			w->out->activities |= SIPPRES__ACT_OTHER;
			note_candidate(c, &w->other);
			continue;
		}
		for (size_t i = 0; i < N_ACTIVITIES; i++) {
			if (strcmp((const char *)c->name, activities[i].name) == 0) {
				w->out->activities |= activities[i].bit;
				break;
			}
		}
	}
}

/* s is word with optional XML white space around it (an xs:token compare). */
static bool token_is(const char *s, const char *word)
{
	size_t n = strlen(word);

	while (xml_space(*s))
		s++;
	if (strncmp(s, word, n) != 0)
		return false;
	for (s += n; xml_space(*s); s++)
		;
	return *s == '\0';
}

static uint32_t read_basic(const xmlNode *status)
{
	for (const xmlNode *c = status->children; c; c = c->next) {
		const xmlNode *t;

		if (!sippres__publish_xml_is(c, NS_PIDF, "basic"))
			continue;
		t = c->children;
		if (!t || t->type != XML_TEXT_NODE || t->next || !t->content)
			return SIPPRES__BASIC_NONE;
		if (token_is((const char *)t->content, "open"))
			return SIPPRES__BASIC_OPEN;
		if (token_is((const char *)t->content, "closed"))
			return SIPPRES__BASIC_CLOSED;
		return SIPPRES__BASIC_NONE;
	}
	return SIPPRES__BASIC_NONE;
}

static void read_tuple(struct walk *w, const xmlNode *tuple)
{
	for (const xmlNode *c = tuple->children; c; c = c->next) {
		if (sippres__publish_xml_is(c, NS_PIDF, "status")) {
			uint32_t b = read_basic(c);

			/* open wins over closed, closed over none */
			if (b == SIPPRES__BASIC_OPEN ||
			    (b == SIPPRES__BASIC_CLOSED && w->out->basic == SIPPRES__BASIC_NONE))
				w->out->basic = b;
			for (const xmlNode *s = c->children; s; s = s->next) {
				if (sippres__publish_xml_is(s, NS_RPID, "activities"))
					read_activities(w, s);
			}
		} else if (sippres__publish_xml_is(c, NS_RPID, "activities")) {
			read_activities(w, c);
		} else if (sippres__publish_xml_is(c, NS_PIDF, "note")) {
			note_candidate(c, &w->tuple_note);
		}
	}
}

static void read_person(struct walk *w, const xmlNode *person)
{
	for (const xmlNode *c = person->children; c; c = c->next) {
		if (sippres__publish_xml_is(c, NS_RPID, "activities"))
			read_activities(w, c);
		else if (sippres__publish_xml_is(c, NS_DM, "note"))
			note_candidate(c, &w->person_note);
	}
}

/* Steps 1-3 of the mapping. */
static const struct activity *decide(struct sippres__pidf *p)
{
	const struct activity *best = NULL;

	for (size_t i = 0; i < N_ACTIVITIES; i++) {
		const struct activity *a = &activities[i];

		if (a->cls && (p->activities & a->bit) && (!best || a->cls > best->cls))
			best = a;
	}
	if (best)
		p->state = best->state;
	else if (p->basic == SIPPRES__BASIC_OPEN)
		p->state = SIPPRES_PRESENCE_AVAILABLE;
	else if (p->basic == SIPPRES__BASIC_CLOSED)
		p->state = SIPPRES_PRESENCE_UNAVAILABLE;
	else
		p->state = SIPPRES_PRESENCE_NOT_SET;
	return best;
}

void sippres__pidf_fini(struct sippres_ctx *ctx, struct sippres__pidf *p)
{
	if (!p)
		return;
	sippres__free(ctx, p->entity);
	sippres__free(ctx, p->subtype);
	sippres__free(ctx, p->message);
	memset(p, 0, sizeof(*p));
}

static int fill(struct walk *w, const xmlNode *root)
{
	struct sippres__pidf *p = w->out;
	const struct activity *best;
	const xmlNode *note;
	const char *entity = sippres__publish_xml_attr(root, "entity");
	int r;

	if (!entity || !*entity) {
		sippres__log(w->ctx, SIPPRES_LOG_DEBUG, "publish: <presence> without entity");
		return SIPPRES_E_PARSE;
	}
	r = sippres__publish_str(w->ctx, entity, SIPPRES_MAX_TEXT, &p->entity);
	if (r < 0)
		return r;
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (sippres__publish_xml_is(c, NS_PIDF, "tuple")) {
			p->n_tuples++;
			read_tuple(w, c);
		} else if (sippres__publish_xml_is(c, NS_DM, "person")) {
			p->n_persons++;
			read_person(w, c);
		} else if (sippres__publish_xml_is(c, NS_PIDF, "note")) {
			note_candidate(c, &w->pres_note);
		}
		if (p->n_tuples + p->n_persons > SIPPRES__PUBLISH_MAX_ITEMS)
			return SIPPRES_E_TOOBIG;
	}
	best = decide(p);
	if (w->other) {
		r = sippres__publish_xml_text(w->ctx, w->other, SIPPRES_MAX_TEXT, &p->subtype);
	} else if (best && best->subtype) {
		p->subtype = sippres__strdup(w->ctx, best->name);
		r = p->subtype ? 0 : SIPPRES_E_NOMEM;
	}
	if (r < 0)
		return r;
	note = w->person_note ? w->person_note : w->pres_note ? w->pres_note : w->tuple_note;
	return note ? sippres__publish_xml_text(w->ctx, note, SIPPRES_MAX_TEXT, &p->message) : 0;
}

int sippres__pidf_parse(struct sippres_ctx *ctx, const char *body, size_t len, struct sippres__pidf *out)
{
	struct walk w = {.ctx = ctx, .out = out};
	xmlDocPtr doc;
	int r;

	if (!ctx || !out)
		return SIPPRES_E_INVAL;
	memset(out, 0, sizeof(*out));
	r = sippres__publish_xml_load(ctx, body, len, NS_PIDF, "presence", &doc);
	if (r < 0)
		return r;
	r = fill(&w, xmlDocGetRootElement(doc));
	xmlFreeDoc(doc);
	if (r < 0)
		sippres__pidf_fini(ctx, out);
	return r;
}
