/* SPDX-License-Identifier: MIT */
/* asterisk-devicestate / asterisk-mwi JSON bodies into
 * sippres__ast_event_parse(); an accepted event must be written back by the
 * writer and read again to the same event, and its device state must be
 * accepted by sippres_device_state_set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "publish/publish-private.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(struct sippres_ctx *ctx, const struct sippres__ast_event *ev)
{
	struct sippres__ast_event again;
	char *b = NULL;
	size_t n = 0;
	int r;

	switch (ev->type) {
	case SIPPRES__AST_DEVICESTATE:
		r = sippres__ast_devicestate_write(ctx, ev->device, ev->state, ev->cachable, ev->eid, &b, &n);
		break;
	case SIPPRES__AST_MAILBOXSTATE:
		r = sippres__ast_mailboxstate_write(ctx, ev->uniqueid, ev->old_msgs, ev->new_msgs, ev->eid, &b, &n);
		break;
	default:
		r = sippres__ast_refresh_write(ctx, ev->eid, &b, &n);
		break;
	}
	if (r != 0 || sippres__ast_event_parse(ctx, b, n, &again) != 0)
		abort();
	if (again.type != ev->type || strcmp(again.eid, ev->eid) != 0 || again.state != ev->state ||
	    again.cachable != ev->cachable || again.old_msgs != ev->old_msgs || again.new_msgs != ev->new_msgs ||
	    (ev->device && strcmp(again.device, ev->device) != 0) ||
	    (ev->uniqueid && strcmp(again.uniqueid, ev->uniqueid) != 0))
		abort();
	sippres__ast_event_fini(ctx, &again);
	sippres__free(ctx, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres__ast_event ev;
	struct sippres_ctx *ctx;
	int r;

	if (!(ctx = fuzz_ctx(NULL, NULL)))
		return 0;
	r = sippres__ast_event_parse(ctx, (const char *)data, size, &ev);
	if (r == 0) {
		roundtrip(ctx, &ev);
		if (ev.type == SIPPRES__AST_DEVICESTATE && sippres_device_state_set(ctx, ev.device, ev.state) != 0)
			abort();
		sippres__ast_event_fini(ctx, &ev);
	} else if (r != SIPPRES_E_PARSE && r != SIPPRES_E_TOOBIG && r != SIPPRES_E_NOMEM) {
		abort();
	}
	sippres_ctx_free(ctx);
	return 0;
}
