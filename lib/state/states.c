/* SPDX-License-Identifier: MIT */
/* Device, extension and presence state tables and Asterisk's aggregation rules. */
#include <string.h>

#include "core/core-private.h"
#include "state-private.h"

static const char *const device_names[SIPPRES_DEVICE_STATE_COUNT] = {
	"UNKNOWN", "NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING", "RINGINUSE", "ONHOLD",
};
static const char *const device_descriptions[SIPPRES_DEVICE_STATE_COUNT] = {
	"Unknown", "Not in use", "In use", "Busy", "Invalid", "Unavailable", "Ringing", "Ring+Inuse", "On Hold",
};
/* Aggregation rank (Asterisk's state_order): higher wins. */
static const int device_rank[SIPPRES_DEVICE_STATE_COUNT] = {1, 3, 6, 7, 0, 2, 5, 8, 4};

static const char *const presence_names[SIPPRES_PRESENCE_STATE_COUNT] = {
	"not_set", "unavailable", "available", "away", "xa", "chat", "dnd", "",
};
/* Presence aggregation rank: INVALID < NOT_SET < AVAILABLE < UNAVAILABLE < CHAT < AWAY < XA < DND */
static const int presence_rank[SIPPRES_PRESENCE_STATE_COUNT] = {1, 3, 2, 5, 6, 4, 7, 0};

SIPPRES_EXPORT int sippres_device_state_from_string(const char *s, size_t len)
{
	if (!s)
		return SIPPRES_E_INVAL;
	for (int i = 0; i < SIPPRES_DEVICE_STATE_COUNT; i++) {
		if (strlen(device_names[i]) == len && sippres__memeq_nocase(s, device_names[i], len))
			return i;
	}
	return SIPPRES_E_INVAL;
}

SIPPRES_EXPORT const char *sippres_device_state_name(int state)
{
	if (state < 0 || state >= SIPPRES_DEVICE_STATE_COUNT)
		return "UNKNOWN";
	return device_names[state];
}

SIPPRES_EXPORT const char *sippres_device_state_description(int state)
{
	if (state < 0 || state >= SIPPRES_DEVICE_STATE_COUNT)
		return "Unknown";
	return device_descriptions[state];
}

void sippres__devagg_init(struct sippres__devagg *a)
{
	a->state = SIPPRES_DEVICE_INVALID;
	a->ringing = false;
	a->inuse = false;
}

void sippres__devagg_add(struct sippres__devagg *a, int s)
{
	if (s == SIPPRES_DEVICE_RINGING)
		a->ringing = true;
	else if (s == SIPPRES_DEVICE_INUSE || s == SIPPRES_DEVICE_ONHOLD || s == SIPPRES_DEVICE_BUSY)
		a->inuse = true;
	if (a->ringing && a->inuse)
		a->state = SIPPRES_DEVICE_RINGINUSE;
	else if (device_rank[s] > device_rank[a->state])
		a->state = s;
}

SIPPRES_EXPORT int sippres_device_state_aggregate(const int *states, size_t n)
{
	struct sippres__devagg a;

	if (n && !states)
		return SIPPRES_E_INVAL;
	for (size_t i = 0; i < n; i++) {
		if (states[i] < 0 || states[i] >= SIPPRES_DEVICE_STATE_COUNT)
			return SIPPRES_E_INVAL;
	}
	sippres__devagg_init(&a);
	for (size_t i = 0; i < n; i++)
		sippres__devagg_add(&a, states[i]);
	return a.state;
}

SIPPRES_EXPORT int sippres_device_to_exten_state(int device_state)
{
	switch (device_state) {
	case SIPPRES_DEVICE_ONHOLD: return SIPPRES_EXTEN_ONHOLD;
	case SIPPRES_DEVICE_BUSY: return SIPPRES_EXTEN_BUSY;
	case SIPPRES_DEVICE_UNAVAILABLE:
	case SIPPRES_DEVICE_INVALID: return SIPPRES_EXTEN_UNAVAILABLE;
	case SIPPRES_DEVICE_RINGINUSE: return SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING;
	case SIPPRES_DEVICE_RINGING: return SIPPRES_EXTEN_RINGING;
	case SIPPRES_DEVICE_INUSE: return SIPPRES_EXTEN_INUSE;
	case SIPPRES_DEVICE_UNKNOWN:
	case SIPPRES_DEVICE_NOT_INUSE:
	default: return SIPPRES_EXTEN_NOT_INUSE;
	}
}

SIPPRES_EXPORT const char *sippres_exten_state_string(int exten_state)
{
	switch (exten_state) {
	case SIPPRES_EXTEN_NOT_INUSE: return "Idle";
	case SIPPRES_EXTEN_INUSE: return "InUse";
	case SIPPRES_EXTEN_BUSY: return "Busy";
	case SIPPRES_EXTEN_UNAVAILABLE: return "Unavailable";
	case SIPPRES_EXTEN_RINGING: return "Ringing";
	case SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_RINGING: return "InUse&Ringing";
	case SIPPRES_EXTEN_ONHOLD: return "Hold";
	case SIPPRES_EXTEN_INUSE | SIPPRES_EXTEN_ONHOLD: return "InUse&Hold";
	default: return "Unknown";
	}
}

SIPPRES_EXPORT int sippres_presence_state_from_string(const char *s, size_t len)
{
	if (!s || len == 0)
		return SIPPRES_E_INVAL;
	for (int i = 0; i < SIPPRES_PRESENCE_STATE_COUNT - 1; i++) {
		if (strlen(presence_names[i]) == len && sippres__memeq_nocase(s, presence_names[i], len))
			return i;
	}
	return SIPPRES_E_INVAL;
}

SIPPRES_EXPORT const char *sippres_presence_state_name(int state)
{
	if (state < 0 || state >= SIPPRES_PRESENCE_STATE_COUNT)
		return "";
	return presence_names[state];
}

int sippres__presence_rank(int state)
{
	if (state < 0 || state >= SIPPRES_PRESENCE_STATE_COUNT)
		return 0;
	return presence_rank[state];
}
