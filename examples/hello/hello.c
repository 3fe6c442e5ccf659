/* SPDX-License-Identifier: MIT */
/* hello: register hints, push device and presence states, print extension states. */
#include <stdio.h>
#include <string.h>

#include <libsippresence/libsippresence.h>

static void on_change(void *user_data, const struct sippres_exten_status *st)
{
	(void)user_data;
	printf("  watch: %s@%s -> %s (presence %s%s%s)\n", st->exten, st->context,
	       sippres_exten_state_string(st->exten_state), sippres_presence_state_name((int)st->presence_state),
	       st->presence_message[0] ? ": " : "", st->presence_message);
}

static int show(void *user_data, const struct sippres_exten_status *st)
{
	(void)user_data;
	printf("  %-20s %-40s State:%-15s Presence:%s\n", st->exten, st->value,
	       st->is_pattern ? "(pattern)" : sippres_exten_state_string(st->exten_state),
	       sippres_presence_state_name((int)st->presence_state));
	return 0;
}

#define CHECK(expr)                                                                         \
	do {                                                                                \
		int r_ = (expr);                                                            \
		if (r_ < 0) {                                                               \
			fprintf(stderr, "%s: %s\n", #expr, sippres_strerror(r_));           \
			return 1;                                                           \
		}                                                                           \
	} while (0)

int main(void)
{
	struct sippres_ctx *ctx;
	struct sippres_watch *w;
	struct sippres_diag diag = {.size = sizeof(diag)};
	struct sippres_exten_status st = {.size = sizeof(st)};

	printf("libsippresence %s\n", sippres_version_string());
	CHECK(sippres_ctx_new(NULL, NULL, NULL, &ctx));
	CHECK(sippres_hint_set(ctx, "default", "1000", "PJSIP/alice&PJSIP/bob,CustomPresence:alice(Alice)", &diag));
	CHECK(sippres_hint_set(ctx, "default", "_2XX", "Custom:lamp${EXTEN}", &diag));
	if (sippres_hint_set(ctx, "default", "1001", "PJSIP/carol,,x", &diag) < 0)
		printf("rejected hint 1001: column %u: %s\n", diag.column, diag.message);

	CHECK(sippres_watch_add(ctx, "default", "1000", on_change, NULL, &w));
	printf("PJSIP/alice rings:\n");
	CHECK(sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING));
	printf("PJSIP/bob answers another call:\n");
	CHECK(sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_INUSE));
	printf("alice goes to lunch:\n");
	CHECK(sippres_presence_state_set(ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "lunch", "Out to lunch"));
	printf("the same again (no event):\n");
	CHECK(sippres_presence_state_set(ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, "lunch", "Out to lunch"));

	CHECK(sippres_exten_status_get(ctx, "default", "205", &st)); /* instantiates _2XX */
	CHECK(sippres_device_state_set(ctx, "Custom:lamp205", SIPPRES_DEVICE_BUSY));
	printf("core show hints:\n");
	CHECK(sippres_hint_foreach(ctx, show, NULL));
	sippres_ctx_free(ctx);
	return 0;
}
