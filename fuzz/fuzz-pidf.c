/* SPDX-License-Identifier: MIT */
/* application/pidf+xml PUBLISH bodies into sippres__pidf_parse(); what it
 * accepts must be accepted by sippres_presence_state_set as it stands. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "publish/publish-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres__pidf p;
	struct sippres_ctx *ctx;
	int r;

	if (!(ctx = fuzz_ctx(NULL, NULL)))
		return 0;
	sippres_hint_set(ctx, "default", "1000", "PJSIP/a,Publish:1000", NULL);
	r = sippres__pidf_parse(ctx, (const char *)data, size, &p);
	if (r == 0) {
		if (p.state >= SIPPRES_PRESENCE_STATE_COUNT || !p.entity)
			abort();
		if (sippres_presence_state_set(ctx, "Publish:1000", (int)p.state, p.subtype, p.message) != 0)
			abort();
		sippres__pidf_fini(ctx, &p);
	} else if (r != SIPPRES_E_PARSE && r != SIPPRES_E_TOOBIG && r != SIPPRES_E_NOMEM) {
		abort();
	}
	sippres_ctx_free(ctx);
	return 0;
}
