/* SPDX-License-Identifier: MIT */
/* Persistence records from storage: sippres_sub_restore() and
 * sippres_publication_restore() must refuse anything corrupt without
 * crashing, and what they accept must work (NOTIFYs, a state change, a
 * PUBLISH refresh, expiry). Each input is tried twice: as it is (the
 * checksum check), and with its last 4 bytes replaced by the CRC-32 of the
 * rest, so that mutations get past the checksum to the fields behind it. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "core/core-private.h"

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)ud;
	(void)sub;
	return n->body_len > 0 ? 0 : -1;
}

static void try_record(const uint8_t *data, size_t size)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = on_notify};
	struct sippres_endpoint ep = {.size = sizeof(ep)};
	struct sippres_inbound_publication ip = {.size = sizeof(ip), .endpoint = "alice",
	                                         .events = SIPPRES_PUBLISH_PRESENCE | SIPPRES_PUBLISH_DIALOG |
	                                                   SIPPRES_PUBLISH_DEVICESTATE};
	const char *items[] = {"1000", "1001"};
	struct sippres_list l = {.size = sizeof(l), .name = "blf", .event = "dialog", .items = items, .n_items = 2};
	struct sippres_ctx *ctx = fuzz_ctx(&cb, NULL);
	struct sippres_publication *pub;
	struct sippres_sub *s;

	if (!ctx)
		return;
	sippres_endpoint_set(ctx, "alice", &ep);
	ep.profile = SIPPRES_PROFILE_ASTERISK;
	sippres_endpoint_set(ctx, "bob", &ep);
	sippres_hint_set(ctx, "default", "1000", "PJSIP/a&Dialog/1000,CustomPresence:a&Publish:1000", NULL);
	sippres_hint_set(ctx, "default", "_10XX", "Custom:${EXTEN}", NULL);
	sippres_list_set(ctx, &l);
	sippres_inbound_publication_set(ctx, "1000", &ip);
	if (sippres_sub_restore(ctx, data, size, 1000, &s) == 0) {
		sippres_ctx_handle_timeout(ctx, 1000);
		sippres_device_state_set(ctx, "PJSIP/a", SIPPRES_DEVICE_INUSE);
		sippres_ctx_handle_timeout(ctx, UINT64_MAX);
	}
	if (sippres_publication_restore(ctx, data, size, 1000, &pub) == 0) {
		struct sippres_publication_info info = {.size = sizeof(info)};
		struct sippres_publish_res res = {.size = sizeof(res)};
		struct sippres_publish_req req = {.size = sizeof(req), .endpoint = "alice", .resource = "1000",
		                                  .expires = 60};

		char event[64], etag[256];

		if (sippres_publication_get_info(ctx, pub, &info) != 0 || strlen(info.event) >= sizeof(event) ||
		    strlen(info.etag) >= sizeof(etag))
			abort();
		/* a refresh of what was restored: its entity tag, its event (copied:
		 * the info's views end at the next call) */
		memcpy(event, info.event, strlen(info.event) + 1);
		memcpy(etag, info.etag, strlen(info.etag) + 1);
		req.event = event;
		req.if_match = etag;
		sippres_publish(ctx, &req, 2000, &res);
		sippres_ctx_handle_timeout(ctx, UINT64_MAX);
	}
	sippres_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	try_record(data, size);
	if (size < 8)
		return 0;
	fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	sippres__put32(fixed + size - 4, sippres__crc32(fixed, size - 4));
	if (memcmp(fixed, data, size) != 0)
		try_record(fixed, size);
	free(fixed);
	return 0;
}
