/* SPDX-License-Identifier: MIT */
/* libFuzzer target (issue 13): the hand-written SUBSCRIBE parser and
 * response writer (sip-fast.c) against libosip2's path. Every input is one
 * datagram; when sip_parse_fast() takes it, sip_fast_compare() checks that
 * libosip2 reads the same fields, facts, transaction key and header values
 * and that every response is byte for byte the libosip2 builder's, from two
 * sources (one with rport/received to add). A difference aborts. Build:
 * README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ua.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ua_addr src[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ua_verbosity = -3; /* errors only */
	sipmsg_init();
	addr_parse_listen("127.0.0.1:40001", &src[0]);
	addr_parse_listen("10.0.0.7:5060", &src[1]);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	char why[4096];

	if (!init) {
		/* libFuzzer calls LLVMFuzzerInitialize first; the replay driver (fuzz/driver.c) does not */
		LLVMFuzzerInitialize(NULL, NULL);
		init = true;
	}
	for (int i = 0; i < 2; i++) {
		if (sip_fast_compare((const char *)data, size, &src[i], why, sizeof(why)) < 0) {
			fprintf(stderr, "fuzz-mini-ua-sip: the fast path and libosip2's differ: %s\n", why);
			abort();
		}
	}
	return 0;
}
