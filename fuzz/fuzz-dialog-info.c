/* SPDX-License-Identifier: MIT */
/* application/dialog-info+xml PUBLISH bodies into
 * sippres__dialoginfo_parse(); every dialog it accepts must make call
 * details sippres_call_set takes, and a device state sippres_device_state_set
 * takes; merged into itself as a partial update it keeps each id once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "publish/publish-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres__dialoginfo d;
	struct sippres_ctx *ctx;
	int r;

	if (!(ctx = fuzz_ctx(NULL, NULL)))
		return 0;
	sippres_hint_set(ctx, "default", "1000", "Dialog/1000", NULL);
	r = sippres__dialoginfo_parse(ctx, (const char *)data, size, &d);
	if (r == 0) {
		for (size_t i = 0; i < d.n_dialogs; i++) {
			struct sippres_call c;
			int st = sippres__dialog_device_state(&d.dialogs[i]);

			if (st < 0 || st >= SIPPRES_DEVICE_STATE_COUNT)
				abort();
			sippres__dialog_to_call(&d.dialogs[i], &c);
			if (sippres_call_set(ctx, "Dialog/1000", &c) != 0)
				abort();
		}
		if (sippres_device_state_set(ctx, "Dialog/1000", sippres__dialoginfo_device_state(&d)) != 0)
			abort();
		{
			struct sippres__dialoginfo again;

			if (sippres__dialoginfo_parse(ctx, (const char *)data, size, &again) != 0)
				abort();
			r = sippres__dialoginfo_merge(ctx, &d, &again);
			if (r == 0) {
				for (size_t i = 0; i < d.n_dialogs; i++) {
					if (d.dialogs[i].state == SIPPRES__DLG_TERMINATED)
						abort();
					for (size_t k = 0; k < i; k++) {
						if (strcmp(d.dialogs[k].id, d.dialogs[i].id) == 0)
							abort();
					}
				}
			} else if (r != SIPPRES_E_TOOBIG && r != SIPPRES_E_NOMEM) {
				abort();
			}
			sippres__dialoginfo_fini(ctx, &again);
		}
		sippres__dialoginfo_fini(ctx, &d);
	} else if (r != SIPPRES_E_PARSE && r != SIPPRES_E_TOOBIG && r != SIPPRES_E_NOMEM) {
		abort();
	}
	sippres_ctx_free(ctx);
	return 0;
}
