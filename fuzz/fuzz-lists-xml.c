/* SPDX-License-Identifier: MIT */
/* RFC 4826 documents into sippres_list_load_xml(), then a list SUBSCRIBE to
 * the first list it defines. */
#include <stdint.h>
#include <string.h>

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
	struct sippres_endpoint ep = {.size = sizeof(ep)};
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres_ctx *ctx;

	if (!(ctx = fuzz_ctx(&cb, NULL)))
		return 0;
	sippres_endpoint_set(ctx, "alice", &ep);
	sippres_hint_set(ctx, "default", "alice", "PJSIP/a", NULL);
	sippres_hint_set(ctx, "default", "_X.", "Custom:${EXTEN}", NULL);
	if (sippres_list_load_xml(ctx, (const char *)data, size, NULL, &diag) > 0) {
		const char *names[] = {"friends", "team", "a", "l0", "x"};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			struct sippres_subscribe_req r = {.size = sizeof(r), .endpoint = "alice", .ruri_scheme = "sip",
			                                  .ruri_user = names[i], .ruri_host = "h", .from_uri = "sip:a@h",
			                                  .from_tag = "t", .call_id = names[i], .contact = "sip:a@h",
			                                  .event = "presence", .expires = 60,
			                                  .flags = SIPPRES_SUBSCRIBE_EVENTLIST};
			struct sippres_subscribe_res res = {.size = sizeof(res)};
			struct sippres_sub *s;

			sippres_subscribe(ctx, &r, 1000, &res, &s);
		}
		sippres_ctx_handle_timeout(ctx, 1000);
		sippres_device_state_set(ctx, "PJSIP/a", SIPPRES_DEVICE_BUSY);
	}
	sippres_ctx_free(ctx);
	return 0;
}
