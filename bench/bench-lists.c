/* SPDX-License-Identifier: MIT */
/* Resource lists: time of a full-state NOTIFY for a 100-member list (render
 * of every member, RLMI and multipart assembly) in both profiles, against a
 * baseline of rendering the same 100 member bodies alone in the same run;
 * and how many NOTIFYs a burst of changes costs with and without batching.
 * Usage: bench-lists [members] */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libsippresence/libsippresence.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long notifies;
static size_t last_len;
static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)ud;
	(void)sub;
	notifies++;
	last_len = n->body_len;
	return 0;
}

static struct sippres_ctx *setup(int members, uint32_t profile, uint32_t batch_ms, struct sippres_sub **s)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = on_notify};
	struct sippres_endpoint ep = {.size = sizeof(ep), .profile = profile, .max_notify_size = 1u << 30};
	struct sippres_ctx *ctx;
	const char **items = calloc((size_t)members, sizeof(*items));
	char (*names)[16] = calloc((size_t)members, 16);
	struct sippres_list l = {.size = sizeof(l), .name = "blf", .event = "presence", .items = items,
	                         .n_items = (size_t)members, .batch_interval_ms = batch_ms};
	const char *acc[1] = {"multipart/related, application/rlmi+xml, application/pidf+xml"};
	struct sippres_subscribe_req r = {.size = sizeof(r), .endpoint = "phone", .ruri_scheme = "sip",
	                                  .ruri_user = "blf", .ruri_host = "192.0.2.10", .ruri_port = 5060,
	                                  .from_uri = "sip:100@192.0.2.20", .from_tag = "t", .call_id = "c",
	                                  .contact = "sip:100@192.0.2.20:5060", .event = "presence", .accept = acc,
	                                  .n_accept = 1, .expires = 3600, .flags = SIPPRES_SUBSCRIBE_EVENTLIST};
	struct sippres_subscribe_res res = {.size = sizeof(res)};

	if (sippres_ctx_new(NULL, &cb, NULL, &ctx) < 0)
		exit(1);
	sippres_endpoint_set(ctx, "phone", &ep);
	for (int i = 0; i < members; i++) {
		char value[64];
		snprintf(names[i], 16, "%d", 2000 + i);
		snprintf(value, sizeof(value), "PJSIP/u%d,CustomPresence:u%d(User %d)", i, i, i);
		sippres_hint_set(ctx, "default", names[i], value, NULL);
		items[i] = names[i];
	}
	sippres_list_set(ctx, &l);
	if (sippres_subscribe(ctx, &r, 1000, &res, s) < 0 || res.status != 200)
		exit(1);
	sippres_ctx_handle_timeout(ctx, 1000);
	free(items);
	free(names);
	return ctx;
}

int main(int argc, char **argv)
{
	int members = argc > 1 ? atoi(argv[1]) : 100;

	for (uint32_t profile = 0; profile < 2; profile++) {
		struct sippres_sub *s;
		struct sippres_ctx *ctx = setup(members, profile, 0, &s);
		struct sippres_subscribe_res res = {.size = sizeof(res)};
		struct sippres_body_input in = {.size = sizeof(in), .profile = profile, .exten = "2000",
		                                .local_uri = "sip:2000@192.0.2.10:5060", .remote_uri = "sip:100@192.0.2.20"};
		struct sippres_body body = {.size = sizeof(body)};
		int rounds = 2000;
		double t0, t1, full_us, base_us, refresh_us = 0;

		/* a refresh forces a full-state NOTIFY of the whole list; the
		 * refresh itself (re-expanding the list, as Asterisk does) is timed apart */
		notifies = 0;
		full_us = 0;
		for (int i = 0; i < rounds; i++) {
			t0 = now_s();
			sippres_sub_refresh(ctx, s, 3600, 2000 + (uint64_t)i, &res);
			t1 = now_s();
			sippres_ctx_handle_timeout(ctx, 2000 + (uint64_t)i);
			full_us += now_s() - t1;
			refresh_us += t1 - t0;
		}
		full_us = full_us / rounds * 1e6;
		refresh_us = refresh_us / rounds * 1e6;
		t0 = now_s();
		for (int i = 0; i < rounds; i++) {
			for (int m = 0; m < members; m++)
				sippres_body_render(ctx, "application/pidf+xml", &in, &body);
		}
		base_us = (now_s() - t0) / rounds * 1e6;
		printf("%s profile: full-state NOTIFY for a %d-member list: %.1f us (%zu bytes, %ld NOTIFYs); "
		       "baseline (the %d member bodies alone) %.1f us; ratio %.2f; the refresh's re-expansion %.1f us\n",
		       profile ? "asterisk" : "standard", members, full_us, last_len, notifies, members, base_us,
		       full_us / base_us, refresh_us);
		sippres_ctx_free(ctx);
	}
	/* a burst: every member changes once within 50 ms */
	for (int batched = 0; batched < 2; batched++) {
		struct sippres_sub *s;
		struct sippres_ctx *ctx = setup(members, SIPPRES_PROFILE_ASTERISK, batched ? 200 : 0, &s);
		char dev[32];

		notifies = 0;
		sippres_ctx_set_time(ctx, 5000);
		for (int i = 0; i < members; i++) {
			snprintf(dev, sizeof(dev), "PJSIP/u%d", i);
			sippres_device_state_set(ctx, dev, SIPPRES_DEVICE_INUSE);
		}
		sippres_ctx_handle_timeout(ctx, 5050);
		sippres_ctx_handle_timeout(ctx, 5300);
		printf("burst of %d changes, batch interval %d ms: %ld NOTIFYs\n", members, batched ? 200 : 0, notifies);
		sippres_ctx_free(ctx);
	}
	return 0;
}
