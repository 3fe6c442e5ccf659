/* SPDX-License-Identifier: MIT */
/* A program outside the project: built by tests/consumer-check.py against the
 * DESTDIR-installed library with nothing but `pkg-config --cflags --libs
 * libsippresence`. It prints one line that the check compares. */
#include <stdio.h>
#include <string.h>

#include <libsippresence/libsippresence.h>

#if !SIPPRES_CHECK_VERSION(0, 1, 0)
#error "libsippresence >= 0.1.0 expected"
#endif

int main(void)
{
	struct sippres_ctx *ctx = NULL;
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres_exten_status st = {.size = sizeof(st)};
	int r;

	if (strcmp(sippres_version_string(), SIPPRES_VERSION_STRING) != 0) {
		fprintf(stderr, "header says %s, library says %s\n", SIPPRES_VERSION_STRING, sippres_version_string());
		return 1;
	}
	r = sippres_ctx_new(NULL, NULL, NULL, &ctx);
	if (r == 0)
		r = sippres_hint_set(ctx, "default", "1000", "PJSIP/alice&PJSIP/bob(Alice)", &diag);
	if (r >= 0)
		r = sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_INUSE);
	if (r >= 0)
		r = sippres_exten_status_get(ctx, "default", "1000", &st);
	if (r < 0) {
		fprintf(stderr, "libsippresence: %s (%s)\n", sippres_strerror(r), diag.message);
		sippres_ctx_free(ctx);
		return 1;
	}
	printf("consumer: libsippresence %s: %s@%s %s '%s' %zu devices\n", sippres_version_string(), st.exten,
	       st.context, sippres_exten_state_string(st.exten_state), st.display_name, st.n_devices);
	sippres_ctx_free(ctx);
	return 0;
}
