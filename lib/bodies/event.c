/* SPDX-License-Identifier: MIT */
/* The event packages bodies are made for, and what a body input takes from an
 * extension's status. */
#include <string.h>

#include "bodies-private.h"

static const char *const event_names[] = {"presence", "dialog"};
static const char *const event_default[] = {"application/pidf+xml", "application/dialog-info+xml"};

int sippres__event_parse(const char *event)
{
	/* RFC 6665 8.2.1: event types compare byte by byte */
	for (int i = 0; i < 2; i++) {
		if (event && strcmp(event, event_names[i]) == 0)
			return i;
	}
	return -1;
}

const char *sippres__event_name(int ev)
{
	return event_names[ev];
}

const char *sippres__event_default_type(int ev)
{
	return event_default[ev];
}

void sippres__body_input_state(struct sippres_body_input *in, const struct sippres_exten_status *st)
{
	in->exten_state = st->exten_state;
	in->presence_state = st->presence_state == SIPPRES_PRESENCE_INVALID ? SIPPRES_PRESENCE_NOT_SET
	                                                                     : st->presence_state;
	in->presence_subtype = st->presence_subtype;
	in->presence_message = st->presence_message;
	in->devices = st->devices;
	in->n_devices = st->n_devices;
	in->causing_call = st->causing_call;
}
