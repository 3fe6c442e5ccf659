/* SPDX-License-Identifier: MIT */
/* Persistence records from storage: sippres_sub_restore() must refuse
 * anything corrupt without crashing, and what it accepts must work. */
#include <stdint.h>
#include <string.h>

#include <libsippresence/libsippresence.h>

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)ud;
	(void)sub;
	return n->body_len > 0 ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = on_notify};
	struct sippres_endpoint ep = {.size = sizeof(ep)};
	const char *items[] = {"1000", "1001"};
	struct sippres_list l = {.size = sizeof(l), .name = "blf", .event = "dialog", .items = items, .n_items = 2};
	struct sippres_ctx *ctx;
	struct sippres_sub *s;

	if (sippres_ctx_new(NULL, &cb, NULL, &ctx) < 0)
		return 0;
	sippres_endpoint_set(ctx, "alice", &ep);
	ep.profile = SIPPRES_PROFILE_ASTERISK;
	sippres_endpoint_set(ctx, "bob", &ep);
	sippres_hint_set(ctx, "default", "1000", "PJSIP/a,CustomPresence:a", NULL);
	sippres_hint_set(ctx, "default", "_10XX", "Custom:${EXTEN}", NULL);
	sippres_list_set(ctx, &l);
	if (sippres_sub_restore(ctx, data, size, 1000, &s) == 0) {
		sippres_ctx_handle_timeout(ctx, 1000);
		sippres_device_state_set(ctx, "PJSIP/a", SIPPRES_DEVICE_INUSE);
		sippres_ctx_handle_timeout(ctx, UINT64_MAX);
	}
	sippres_ctx_free(ctx);
	return 0;
}
