/* SPDX-License-Identifier: MIT */
/* Hint text and extension patterns: "EXTEN\nVALUE\nQUERY..." sets a hint
 * (patterns included), then looks up each query line (instantiating patterns)
 * and pushes a device and a presence state named in the value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libsippresence/libsippresence.h>
#include "fuzz.h"

static void noop(void *ud, const struct sippres_exten_status *st)
{
	(void)ud;
	(void)st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres_ctx *ctx;
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres_exten_status st = {.size = sizeof(st)};
	struct sippres_watch *w;
	char *text = malloc(size + 1), *lines[8] = {0}, *p;
	int n = 0;

	if (!text || !(ctx = fuzz_ctx(NULL, NULL))) {
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	for (p = text; n < 8 && p;) {
		lines[n++] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	if (n >= 2) {
		sippres_hint_set(ctx, "default", lines[0], lines[1], &diag);
		sippres_hint_set(ctx, "default", lines[0], lines[1], &diag); /* replace */
		for (int i = 2; i < n; i++) {
			/* the status's views last until the next call: copy the names first */
			char *names[16];
			size_t nd = 0;

			sippres_watch_add(ctx, "default", lines[i], noop, NULL, &w);
			if (sippres_exten_status_get(ctx, "default", lines[i], &st) == 0) {
				for (size_t d = 0; d < st.n_devices && nd < 16; d++)
					names[nd++] = strdup(st.devices[d].name);
				for (size_t d = 0; d < nd; d++) {
					if (names[d])
						sippres_device_state_set(ctx, names[d], SIPPRES_DEVICE_RINGING);
					free(names[d]);
				}
			}
		}
		sippres_hint_remove(ctx, "default", lines[0]);
	}
	sippres_ctx_free(ctx);
	free(text);
	return 0;
}
