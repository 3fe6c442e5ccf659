/* SPDX-License-Identifier: MIT */
/* libFuzzer target: control input (standard input and --control clients share it). The input is a byte
 * stream cut into lines as the UA cuts them (at most CTL_MAX_LINE bytes a line), each line run as a control
 * command of a UA with the example configuration, then the NOTIFYs it queued are flushed (to no socket) and
 * the timers run. The UA is made anew every 256 inputs so that what commands add stays bounded. Seeds in
 * corpus-control/. Build: README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#ifndef EXAMPLES_DIR
#define EXAMPLES_DIR "examples"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ua ua;
static bool up;

static void load(const char *name, bool pjsip)
{
	struct sippres_config_io io = {.size = sizeof(io)};
	char path[4096], *text;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, name);
	text = ua_read_file(path, &n);
	if (!text) {
		fprintf(stderr, "fuzz-control: cannot read %s\n", path);
		exit(1);
	}
	if (pjsip)
		sippres_config_load_pjsip(ua.ctx, path, text, n, &io);
	else
		sippres_config_load_extensions(ua.ctx, path, text, n, &io);
	free(text);
}

static void start(void)
{
	static const char *const endpoints[] = {"alice", "bob", "carol", "lobby", "reception", "anonymous"};

	if (ua_init(&ua, 500, false) < 0)
		exit(1);
	load("pjsip.conf", true);
	load("extensions.conf", false);
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		strset_add(&ua.endpoints, endpoints[i]);
	addr_parse_listen("127.0.0.1:5070", &ua.local);
	snprintf(ua.local_str, sizeof(ua.local_str), "127.0.0.1:5070");
	/* what `dialplan reload` reads again (main.c sets them from --extensions and --pjsip) */
	ua.extensions_path = strdup(EXAMPLES_DIR "/extensions.conf");
	ua.pjsip_path = strdup(EXAMPLES_DIR "/pjsip.conf");
	up = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned k;
	struct ctl_lines in;
	struct sbuf out;
	char *line;
	int r;

	if (!up) {
		ua_verbosity = -3; /* errors only */
		sipmsg_init();
		start();
	}
	ctl_lines_init(&in, CTL_MAX_LINE);
	sbuf_init(&out);
	if (ctl_lines_add(&in, (const char *)data, size) == 0) {
		while (!ua.quit && (r = ctl_lines_next(&in, true, &line)) != 0) {
			if (r > 0)
				ua_command(&ua, line, &out);
			if (out.len > (1u << 20))
				out.len = 0; /* long listings: only the commands' effects matter */
		}
	}
	/* every reply ends with OK or ERR (the contract of the control channel) */
	if (out.len && !(out.len >= 3 && out.s[out.len - 1] == '\n'))
		__builtin_trap();
	ua_flush(&ua);
	ua_run_timers(&ua);
	ctl_lines_free(&in);
	sbuf_free(&out);
	if (++k % 256 == 0 || ua.quit) {
		ua_fini(&ua);
		start();
	}
	return 0;
}
