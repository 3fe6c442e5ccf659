/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the subscriber mode (`sippres-mini-ua subscribe`). Byte 0 picks the surface:
 *   even: the rest is one datagram handed to the subscriber's receive path, in an active dialog (Call-ID
 *         "fuzzcall@fuzz", our tag "fuzztag"): NOTIFY handling, its answers, the printing of its body;
 *   odd:  the rest is "Content-Type value\n" then a body for notify_print_body() (multipart/MIME splitting,
 *         nested parts, headers of parts).
 * Printing goes to /dev/null, answers to no socket. The seeds are in corpus-notify/. Build: README.md. */
#include "../subscriber.c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;
static bool init;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	init = true;
	ua_verbosity = -3; /* errors only */
	sipmsg_init();
	devnull = fopen("/dev/null", "w");
	if (!devnull || !freopen("/dev/null", "w", stdout))
		exit(1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct subr s;
	struct ua_addr src;

	if (!init)
		LLVMFuzzerInitialize(NULL, NULL); /* the replay driver does not call it */
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		const char *p = (const char *)data + 1, *nl = memchr(p, '\n', size - 1);
		char *ctype;

		if (!nl)
			return 0;
		ctype = strndup(p, (size_t)(nl - p));
		if (!ctype || strlen(ctype) != (size_t)(nl - p)) {
			free(ctype);
			return 0;
		}
		notify_print_body(devnull, ctype, nl + 1, size - 1 - (size_t)(nl + 1 - p));
		free(ctype);
		return 0;
	}
	memset(&s, 0, sizeof(s));
	s.fd = -1;
	s.target = "sip:1000@127.0.0.1:5070";
	s.event = "presence";
	s.t1 = 500;
	s.expires = 600;
	snprintf(s.call_id, sizeof(s.call_id), "fuzzcall@fuzz");
	snprintf(s.from_tag, sizeof(s.from_tag), "fuzztag");
	s.from_uri = strdup("sip:alice@127.0.0.1:5062");
	s.to_uri = strdup("sip:1000@127.0.0.1:5070");
	s.contact = strdup("sip:alice@127.0.0.1:5062");
	s.phase = (data[0] & 2) ? PH_UNSUBSCRIBING : PH_ACTIVE;
	s.start = ua_now_mono_ms();
	addr_parse_listen("127.0.0.1:5062", &s.local);
	addr_parse_listen("127.0.0.1:5070", &s.dst);
	addr_parse_listen("127.0.0.1:5070", &src);
	if (s.from_uri && s.to_uri && s.contact) {
		/* the datagram twice: the second time as a retransmission (or a later NOTIFY of the dialog) */
		on_datagram(&s, (const char *)data + 1, size - 1, &src);
		on_datagram(&s, (const char *)data + 1, size - 1, &src);
	}
	cleanup(&s);
	return 0;
}
