/* SPDX-License-Identifier: MIT */
/* Asterisk's state exchange bodies (Event: asterisk-devicestate and
 * asterisk-mwi, Content-Type: application/json; publish.md section 2), read
 * and written with jansson. jansson allocates through its own global
 * allocator, which the library never replaces (json_set_alloc_funcs would be
 * a global); what the parser keeps is copied with the ctx allocator.
 *
 * Accepted (anything else is SIPPRES_E_PARSE, the PUBLISH gets 400):
 *   one JSON object, nothing after it, no duplicate key, at most
 *   SIPPRES__PUBLISH_MAX_JSON bytes and SIPPRES__PUBLISH_MAX_JSON_DEPTH levels
 *   (SIPPRES_E_TOOBIG), with
 *   "type"      string, required: devicestate | mailboxstate | refresh
 *   "eid"       string, required: six hex pairs joined by ':' (stored lower case)
 *   devicestate:
 *   "device"    string, required, a device name (Tech/resource, no space)
 *   "state"     string, required, an Asterisk device state name (NOT_INUSE,
 *               INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD,
 *               UNKNOWN; any case)
 *   "cachable"  integer 0 or 1, optional (absent: 0, as Asterisk reads it)
 *   mailboxstate:
 *   "uniqueid"  string, required, e.g. "1000@default"
 *   "old","new" integers 0..2^31-1, optional (absent: 0)
 * Other keys are ignored. Integers that do not fit jansson's json_int_t and
 * reals that overflow are parse errors. */
#include <string.h>

#include <jansson.h>

#include "publish/publish-private.h"
#include "state/state-private.h"

static int bad(struct sippres_ctx *ctx, const char *what)
{
	sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: asterisk event: %s", what);
	return SIPPRES_E_PARSE;
}

bool sippres__eid_ok(const char *s, size_t len, char *norm)
{
	if (!s || len != SIPPRES__EID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F');

		if (i % 3 == 2 ? s[i] != ':' : !hex)
			return false;
	}
	if (norm) {
		for (size_t i = 0; i < len; i++)
			norm[i] = (char)sippres__ascii_lower((unsigned char)s[i]);
		norm[len] = '\0';
	}
	return true;
}

/* Nesting of arrays and objects, outside strings; jansson's own limit is 2048. */
static bool too_deep(const char *s, size_t len)
{
	size_t depth = 0;
	bool str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				str = false;
		} else if (c == '"') {
			str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > SIPPRES__PUBLISH_MAX_JSON_DEPTH)
				return true;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return false;
}

/* A string member: NULL when absent, *wrong when present but not a string. */
static const char *str_member(const json_t *o, const char *key, size_t *len, bool *wrong)
{
	const json_t *v = json_object_get(o, key);

	*len = 0;
	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		*wrong = true;
		return NULL;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

/* An optional integer member in [lo, hi]; absent gives 0. */
static int int_member(struct sippres_ctx *ctx, const json_t *o, const char *key, json_int_t lo, json_int_t hi,
                      json_int_t *out)
{
	const json_t *v = json_object_get(o, key);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return bad(ctx, key);
	*out = json_integer_value(v);
	return 0;
}

static int devicestate(struct sippres_ctx *ctx, const json_t *o, struct sippres__ast_event *ev)
{
	size_t dlen, slen, bad_off;
	bool wrong = false;
	const char *dev = str_member(o, "device", &dlen, &wrong);
	const char *st = str_member(o, "state", &slen, &wrong);
	json_int_t cachable;
	int r;

	if (wrong || !dev || !st || dlen == 0 || slen == 0)
		return bad(ctx, "devicestate needs non-empty string device and state");
	if (dlen > SIPPRES_MAX_NAME || strlen(dev) != dlen || !sippres__device_name_ok(dev, dlen, &bad_off))
		return bad(ctx, "device is not a device name");
	r = sippres_device_state_from_string(st, slen);
	if (r < 0)
		return bad(ctx, "unknown device state name");
	ev->state = r;
	r = int_member(ctx, o, "cachable", 0, 1, &cachable);
	if (r < 0)
		return r;
	ev->cachable = cachable == 1;
	ev->device = sippres__strndup(ctx, dev, dlen);
	return ev->device ? 0 : SIPPRES_E_NOMEM;
}

static int mailboxstate(struct sippres_ctx *ctx, const json_t *o, struct sippres__ast_event *ev)
{
	size_t ulen, bad_off;
	bool wrong = false;
	const char *u = str_member(o, "uniqueid", &ulen, &wrong);
	json_int_t old_msgs, new_msgs;
	int r;

	if (wrong || !u || ulen == 0 || ulen > SIPPRES_MAX_NAME || strlen(u) != ulen ||
	    !sippres__text_ok(u, ulen, &bad_off))
		return bad(ctx, "mailboxstate needs a non-empty string uniqueid");
	r = int_member(ctx, o, "old", 0, INT32_MAX, &old_msgs);
	if (r == 0)
		r = int_member(ctx, o, "new", 0, INT32_MAX, &new_msgs);
	if (r < 0)
		return r;
	ev->old_msgs = (uint32_t)old_msgs;
	ev->new_msgs = (uint32_t)new_msgs;
	ev->uniqueid = sippres__strndup(ctx, u, ulen);
	return ev->uniqueid ? 0 : SIPPRES_E_NOMEM;
}

static int event(struct sippres_ctx *ctx, const json_t *o, struct sippres__ast_event *ev)
{
	size_t tlen, elen;
	bool wrong = false;
	const char *type = str_member(o, "type", &tlen, &wrong);
	const char *eid = str_member(o, "eid", &elen, &wrong);

	if (wrong || !type || !eid)
		return bad(ctx, "type and eid must be strings and are required");
	if (!sippres__eid_ok(eid, elen, ev->eid))
		return bad(ctx, "eid is not an entity id (xx:xx:xx:xx:xx:xx)");
	if (strcmp(type, "devicestate") == 0 && tlen == 11) {
		ev->type = SIPPRES__AST_DEVICESTATE;
		return devicestate(ctx, o, ev);
	}
	if (strcmp(type, "mailboxstate") == 0 && tlen == 12) {
		ev->type = SIPPRES__AST_MAILBOXSTATE;
		return mailboxstate(ctx, o, ev);
	}
	if (strcmp(type, "refresh") == 0 && tlen == 7) {
		ev->type = SIPPRES__AST_REFRESH;
		return 0;
	}
	return bad(ctx, "unknown type");
}

void sippres__ast_event_fini(struct sippres_ctx *ctx, struct sippres__ast_event *ev)
{
	if (!ev)
		return;
	sippres__free(ctx, ev->device);
	sippres__free(ctx, ev->uniqueid);
	memset(ev, 0, sizeof(*ev));
}

int sippres__ast_event_parse(struct sippres_ctx *ctx, const char *body, size_t len, struct sippres__ast_event *out)
{
	json_error_t err;
	json_t *j;
	int r;

	if (!ctx || !out)
		return SIPPRES_E_INVAL;
	memset(out, 0, sizeof(*out));
	if (len > SIPPRES__PUBLISH_MAX_JSON)
		return SIPPRES_E_TOOBIG;
	if (!body || len == 0)
		return bad(ctx, "empty body");
	if (too_deep(body, len))
		return SIPPRES_E_TOOBIG;
	/* without JSON_DECODE_ANY the text must be an object or an array; without
	 * JSON_DISABLE_EOF_CHECK anything after it but white space is an error */
	memset(&err, 0, sizeof(err)); /* json_loadb does not always set the code */
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (!j) {
		/* json_loadb leaves the error text empty when an allocation of its
		 * lexer fails; other allocation failures in the lexer (a string's
		 * copy) it reports as invalid syntax, which cannot be told apart
		 * from a real one: those end as SIPPRES_E_PARSE */
		if (json_error_code(&err) == json_error_out_of_memory || err.text[0] == '\0')
			return SIPPRES_E_NOMEM;
		sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: asterisk event: %s at %d", err.text, err.position);
		return SIPPRES_E_PARSE;
	}
	r = json_is_object(j) ? event(ctx, j, out) : bad(ctx, "not a JSON object");
	json_decref(j);
	if (r < 0)
		sippres__ast_event_fini(ctx, out);
	return r;
}

/* ---- writer -------------------------------------------------------------- */

static int dump(struct sippres_ctx *ctx, json_t *j, char **out, size_t *out_len)
{
	size_t n;
	char *b;

	if (!j)
		return SIPPRES_E_NOMEM;
	n = json_dumpb(j, NULL, 0, JSON_COMPACT);
	b = n ? sippres__malloc(ctx, n + 1) : NULL;
	if (!b || json_dumpb(j, b, n, JSON_COMPACT) != n) {
		sippres__free(ctx, b);
		json_decref(j);
		return SIPPRES_E_NOMEM;
	}
	json_decref(j);
	b[n] = '\0';
	*out = b;
	*out_len = n;
	return 0;
}

int sippres__ast_devicestate_write(struct sippres_ctx *ctx, const char *device, int state, bool cachable,
                                   const char *eid, char **out, size_t *out_len)
{
	char e[SIPPRES__EID_LEN + 1];
	size_t bad_off;

	if (!ctx || !device || !eid || !out || !out_len || state < 0 || state >= SIPPRES_DEVICE_STATE_COUNT ||
	    strlen(device) > SIPPRES_MAX_NAME || !sippres__device_name_ok(device, strlen(device), &bad_off) ||
	    !sippres__eid_ok(eid, strlen(eid), e))
		return SIPPRES_E_INVAL;
	/* jansson keeps insertion order: the keys come out as Asterisk writes them */
	return dump(ctx,
	            json_pack("{s:s, s:s, s:s, s:i, s:s}", "type", "devicestate", "device", device, "state",
	                      sippres_device_state_name(state), "cachable", cachable ? 1 : 0, "eid", e),
	            out, out_len);
}

int sippres__ast_mailboxstate_write(struct sippres_ctx *ctx, const char *uniqueid, uint32_t old_msgs,
                                    uint32_t new_msgs, const char *eid, char **out, size_t *out_len)
{
	char e[SIPPRES__EID_LEN + 1];
	size_t bad_off;

	if (!ctx || !uniqueid || !eid || !out || !out_len || !*uniqueid || strlen(uniqueid) > SIPPRES_MAX_NAME ||
	    !sippres__text_ok(uniqueid, strlen(uniqueid), &bad_off) || old_msgs > INT32_MAX || new_msgs > INT32_MAX ||
	    !sippres__eid_ok(eid, strlen(eid), e))
		return SIPPRES_E_INVAL;
	return dump(ctx,
	            json_pack("{s:s, s:s, s:i, s:i, s:s}", "type", "mailboxstate", "uniqueid", uniqueid, "old",
	                      (int)old_msgs, "new", (int)new_msgs, "eid", e),
	            out, out_len);
}

int sippres__ast_refresh_write(struct sippres_ctx *ctx, const char *eid, char **out, size_t *out_len)
{
	char e[SIPPRES__EID_LEN + 1];

	if (!ctx || !eid || !out || !out_len || !sippres__eid_ok(eid, strlen(eid), e))
		return SIPPRES_E_INVAL;
	return dump(ctx, json_pack("{s:s, s:s}", "type", "refresh", "eid", e), out, out_len);
}
