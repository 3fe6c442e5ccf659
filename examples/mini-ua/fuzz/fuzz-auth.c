/* SPDX-License-Identifier: MIT */
/* libFuzzer target (issue 12): the bytes of one TCP or TLS connection, and
 * digest authentication. The input is cut into messages as a connection is
 * (sip_stream_frame(): Content-Length framing, at most 65536 bytes a
 * message; leading CRLFs skipped), and each framed message is handed to a UA
 * whose endpoints all have auth= (userpass with SHA-256 and MD5, md5_cred,
 * two realms) and one identify match, so that the Authorization headers it
 * carries go through the library's decision and the mini UA's digest check
 * (auth.c). A valid-looking nonce is in the seeds. Build: README.md. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "transport.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ua ua;
static struct ua_addr src;

static const char pjsip[] =
	"[alice]\ntype=endpoint\nauth=alice-auth\n"
	"[alice-auth]\ntype=auth\nusername=alice\npassword=wonderland\n"
	"[bob]\ntype=endpoint\nauth=bob-md5,alice-auth\n"
	"[bob-md5]\ntype=auth\nauth_type=md5\nusername=bob\nrealm=pbx\nmd5_cred=0123456789abcdef0123456789abcdef\n"
	"[desk]\ntype=endpoint\nauth=alice-auth\n"
	"[desk-ip]\ntype=identify\nendpoint=desk\nmatch=127.0.0.9\n"
	"[1000]\ntype=inbound-publication\nendpoint=alice\nevent_presence=yes\n";
static const char extensions[] = "[default]\nexten => 1000,hint,PJSIP/alice\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ua_verbosity = -3; /* errors only */
	sipmsg_init();
	if (ua_init(&ua, 500, false) < 0)
		exit(1);
	sippres_config_load_pjsip(ua.ctx, "pjsip.conf", pjsip, sizeof(pjsip) - 1, NULL);
	sippres_config_load_extensions(ua.ctx, "extensions.conf", extensions, sizeof(extensions) - 1, NULL);
	addr_parse_listen("127.0.0.1:5062", &src);
	addr_parse_listen("127.0.0.1:5070", &ua.local);
	snprintf(ua.local_str, sizeof(ua.local_str), "127.0.0.1:5070");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	static bool init;
	size_t off = 0;

	if (!init) {
		if (!ua.ctx) /* the replay driver (fuzz/driver.c) does not call LLVMFuzzerInitialize */
			LLVMFuzzerInitialize(NULL, NULL);
		init = true;
	}
	while (off < size) {
		size_t total = 0;
		int r;

		while (off < size && (p[off] == '\r' || p[off] == '\n'))
			off++;
		r = sip_stream_frame(p + off, size - off, &total);
		if (r <= 0)
			break; /* more needed, or a connection the UA would close */
		if (total == 0 || total > size - off || total > STREAM_MAX_MESSAGE)
			abort(); /* the framer's promise */
		ua_on_datagram(&ua, p + off, total, &src);
		off += total;
	}
	ua_run_timers(&ua);
	return 0;
}
