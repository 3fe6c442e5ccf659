/* SPDX-License-Identifier: MIT */
/* SUBSCRIBE facts from the wire: NUL-separated fields fill the request
 * (scheme, user, host, From, tags, Call-ID, Contact, Event, id, User-Agent,
 * and every remaining field an Accept value); the first byte picks the
 * endpoint's profile, flags and Expires. Then a refresh, a change, expiry. */
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#include <libsippresence/libsippresence.h>
#include "fuzz.h"

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)ud;
	(void)sub;
	(void)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = on_notify};
	struct sippres_endpoint ep = {.size = sizeof(ep), .sub_min_expiry = 30};
	const char *items[] = {"1000", "blf2", "1001"};
	struct sippres_list l = {.size = sizeof(l), .name = "blf", .event = "presence", .items = items, .n_items = 3,
	                         .batch_interval_ms = 50};
	struct sippres_subscribe_req r = {.size = sizeof(r), .endpoint = "phone"};
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	const char *f[24] = {0}, *accept[16];
	struct sippres_ctx *ctx;
	struct sippres_sub *s = NULL;
	char *text;
	size_t nf = 0, na = 0;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	text = fuzz_split(data + 1, size - 1, f, 24, &nf);
	if (!text)
		return 0;
	if (!(ctx = fuzz_ctx(&cb, NULL))) {
		free(text);
		return 0;
	}
	ep.profile = mode & 1;
	sippres_endpoint_set(ctx, "phone", &ep);
	sippres_hint_set(ctx, "default", "1000", "PJSIP/a&PJSIP/b,CustomPresence:a(A)", NULL);
	sippres_hint_set(ctx, "default", "_1XXX", "Custom:${EXTEN}", NULL);
	sippres_list_set(ctx, &l);
	l.name = "blf2";
	l.items = items;
	l.n_items = 1;
	sippres_list_set(ctx, &l);
	r.ruri_scheme = f[0];
	r.ruri_user = f[1];
	r.ruri_host = f[2];
	r.from_uri = f[3];
	r.from_tag = f[4];
	r.call_id = f[5];
	r.contact = f[6];
	r.event = f[7];
	r.event_id = f[8];
	r.user_agent = f[9];
	for (size_t i = 10; i < nf && na < 16; i++)
		accept[na++] = f[i];
	r.accept = accept;
	r.n_accept = na;
	r.expires = (mode & 2) ? -1 : (int64_t)(mode >> 2) * 40;
	r.flags = (mode & 0x80) ? SIPPRES_SUBSCRIBE_EVENTLIST : 0;
	r.ruri_port = mode;
	if (sippres_subscribe(ctx, &r, 1000, &res, &s) == 0 && res.status == 200) {
		sippres_ctx_handle_timeout(ctx, 1000);
		sippres_device_state_set(ctx, "PJSIP/a", SIPPRES_DEVICE_RINGING);
		sippres_presence_state_set(ctx, "CustomPresence:a", SIPPRES_PRESENCE_AWAY, "x", "<&>");
		if (sippres_sub_count(ctx)) {
			sippres_sub_refresh(ctx, s, (mode & 4) ? 0 : 120, 1100, &res);
			sippres_ctx_handle_timeout(ctx, 1200);
		}
		sippres_ctx_handle_timeout(ctx, UINT64_MAX);
	}
	sippres_ctx_free(ctx);
	free(text);
	return 0;
}
