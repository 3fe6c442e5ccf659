/* SPDX-License-Identifier: MIT */
/* libFuzzer target: every input is one UDP datagram handed to the mini UA
 * (a real context with examples/pjsip.conf and examples/extensions.conf, no
 * socket: answers go nowhere). Every 64 inputs a state change and the timers
 * run, so NOTIFYs, retransmissions and expiries happen too.
 * Build: see README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#ifndef EXAMPLES_DIR
#define EXAMPLES_DIR "examples"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ua ua;
static struct ua_addr src;

static void load(const char *name, bool pjsip)
{
	struct sippres_config_io io = {.size = sizeof(io)};
	char path[4096], *text;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz-ua: cannot read %s\n", path);
		exit(1);
	}
	text = malloc(1 << 20);
	n = fread(text, 1, 1 << 20, f);
	fclose(f);
	if (pjsip)
		sippres_config_load_pjsip(ua.ctx, path, text, n, &io);
	else
		sippres_config_load_extensions(ua.ctx, path, text, n, &io);
	free(text);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const endpoints[] = {"alice", "bob", "carol", "lobby", "reception", "anonymous"};

	(void)argc;
	(void)argv;
	ua_verbosity = -3; /* errors only */
	sipmsg_init();
	if (ua_init(&ua, 500, false) < 0)
		exit(1);
	load("pjsip.conf", true);
	load("extensions.conf", false);
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		strset_add(&ua.endpoints, endpoints[i]);
	addr_parse_listen("127.0.0.1:5062", &src);
	addr_parse_listen("127.0.0.1:5070", &ua.local);
	snprintf(ua.local_str, sizeof(ua.local_str), "127.0.0.1:5070");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned k;
	static bool init;

	if (!init) {
		/* libFuzzer calls LLVMFuzzerInitialize first; the replay driver (fuzz/driver.c) does not */
		if (!ua.ctx)
			LLVMFuzzerInitialize(NULL, NULL);
		init = true;
	}

	ua_on_datagram(&ua, (const char *)data, size, &src);
	if (++k % 64 == 0) {
		struct sbuf out;

		sbuf_init(&out);
		ua_command(&ua, (k & 64) ? "devstate change PJSIP/bob INUSE" : "devstate change PJSIP/bob NOT_INUSE", &out);
		ua_flush(&ua);
		sbuf_free(&out);
		ua_run_timers(&ua);
	}
	return 0;
}
