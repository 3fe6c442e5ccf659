/* SPDX-License-Identifier: MIT */
/* Unit tests of the mini UA's parts that need no subscription engine:
 * addresses, SIP parsing and building through libosip2 (including a
 * mutation loop over malformed messages), control commands, timers E/F and
 * the response cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "ua-limits.h"
#include "ua.h"
#include "transport.h"

static const char *subscribe_msg =
	"SUBSCRIBE sip:1000@127.0.0.1:5070 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1f743526c5bf02d1;rport\r\n"
	"Contact: <sip:alice-0x55a78799dc50@127.0.0.1:5062>\r\n"
	"Max-Forwards: 70\r\n"
	"To: <sip:1000@127.0.0.1:5070>\r\n"
	"From: <sip:alice@127.0.0.1:5062>;tag=27f1be309b9cec79\r\n"
	"Call-ID: aab825501797c37c\r\n"
	"CSeq: 10895 SUBSCRIBE\r\n"
	"User-Agent: baresip v1.0.0 (x86_64/linux)\r\n"
	"Event: presence\r\n"
	"Expires: 600\r\n"
	"Supported: gruu\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static void test_addr(void **state)
{
	struct ua_addr a;
	char buf[80];

	(void)state;
	assert_int_equal(addr_parse_listen("127.0.0.1:5070", &a), 0);
	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:5070");
	assert_false(addr_is_wildcard(&a));
	assert_int_equal(addr_parse_listen("[::1]:5070", &a), 0);
	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:5070");
	addr_host(&a, buf, sizeof(buf));
	assert_string_equal(buf, "::1");
	assert_int_equal(addr_port(&a), 5070);
	assert_int_equal(addr_parse_listen("0.0.0.0:0", &a), 0);
	assert_true(addr_is_wildcard(&a));
	assert_int_equal(addr_parse_listen("[::]:5060", &a), 0);
	assert_true(addr_is_wildcard(&a));
	assert_int_equal(addr_parse_listen("::1:5070", &a), -1);
	assert_int_equal(addr_parse_listen("127.0.0.1", &a), -1);
	assert_int_equal(addr_parse_listen("127.0.0.1:", &a), -1);
	assert_int_equal(addr_parse_listen("127.0.0.1:70000", &a), -1);
	assert_int_equal(addr_parse_listen("127.0.0.1:-1", &a), -1);
	assert_int_equal(addr_parse_listen("example.com:5060", &a), -1);
	assert_int_equal(addr_parse_listen("[::1]5070", &a), -1);
	assert_int_equal(addr_from_uri("sip:bob@127.0.0.2:5099;transport=udp", AF_INET, &a), 0);
	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.2:5099");
	assert_int_equal(addr_from_uri("sip:bob@127.0.0.2", AF_INET, &a), 0);
	assert_int_equal(addr_port(&a), 5060);
	assert_int_equal(addr_from_uri("sip:bob@[::1]:5062", AF_INET6, &a), 0);
	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:5062");
	assert_int_equal(addr_from_uri("sip:bob@[::1]:5062", AF_INET, &a), -1); /* wrong family */
	assert_int_equal(addr_from_uri("sip:bob@localhost:7", AF_INET, &a), 0);
	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:7");
	assert_int_equal(addr_from_uri("not a uri", AF_INET, &a), -1);
	assert_int_equal(addr_from_uri("sip:bob@127.0.0.1:0", AF_INET, &a), -1);
}

static void test_parse_subscribe(void **state)
{
	struct sip_in in;
	struct sub_facts f;
	char err[128];

	(void)state;
	assert_int_equal(sip_parse(subscribe_msg, strlen(subscribe_msg), &in, err, sizeof(err)), 0);
	assert_true(in.is_request);
	assert_string_equal(in.method, "SUBSCRIBE");
	assert_string_equal(in.call_id, "aab825501797c37c");
	assert_string_equal(in.from_tag, "27f1be309b9cec79");
	assert_null(in.to_tag);
	assert_int_equal(in.cseq, 10895);
	assert_string_equal(in.branch, "z9hG4bK1f743526c5bf02d1");
	assert_null(in.bad);
	assert_int_equal(sip_subscribe_facts(&in, &f), 0);
	assert_null(f.bad);
	assert_string_equal(f.ruri_scheme, "sip");
	assert_string_equal(f.ruri_user, "1000");
	assert_string_equal(f.ruri_host, "127.0.0.1");
	assert_int_equal(f.ruri_port, 5070);
	assert_string_equal(f.from_uri, "sip:alice@127.0.0.1:5062");
	assert_string_equal(f.from_user, "alice");
	assert_string_equal(f.contact, "sip:alice-0x55a78799dc50@127.0.0.1:5062");
	assert_string_equal(f.event, "presence");
	assert_null(f.event_id);
	assert_int_equal(f.n_accept, 0);
	assert_int_equal(f.expires, 600);
	assert_false(f.eventlist);
	assert_string_equal(f.user_agent, "baresip v1.0.0 (x86_64/linux)");
	sub_facts_free(&f);
	sip_in_free(&in);
}

static void test_parse_compact_ipv6(void **state)
{
	const char *m = "SUBSCRIBE sip:2000@[::1]:5070;user=phone SIP/2.0\r\n"
	                "v: SIP/2.0/UDP [::1]:5062;branch=z9hG4bKv6;rport\r\n"
	                "m: \"Bob\" <sip:bob@[::1]:5062;transport=udp>;expires=60\r\n"
	                "t: <sip:2000@[::1]>;tag=totag\r\n"
	                "f: \"Bob\" <sip:bob@[::1]>;tag=ft\r\n"
	                "i: abc@[::1]\r\n"
	                "CSeq: 7 SUBSCRIBE\r\n"
	                "o: dialog ; id=42\r\n"
	                "Accept: application/dialog-info+xml, application/pidf+xml;q=0.5\r\n"
	                "Accept: application/xpidf+xml\r\n"
	                "k: replaces, EventList\r\n"
	                "Expires:  0 \r\n"
	                "l: 0\r\n\r\n";
	struct sip_in in;
	struct sub_facts f;
	char err[128];

	(void)state;
	assert_int_equal(sip_parse(m, strlen(m), &in, err, sizeof(err)), 0);
	assert_string_equal(in.to_tag, "totag");
	assert_string_equal(in.call_id, "abc@[::1]");
	assert_int_equal(sip_subscribe_facts(&in, &f), 0);
	assert_string_equal(f.ruri_host, "[::1]");
	assert_string_equal(f.contact, "sip:bob@[::1]:5062;transport=udp");
	assert_string_equal(f.event, "dialog");
	assert_string_equal(f.event_id, "42");
	assert_int_equal(f.n_accept, 3);
	assert_string_equal(f.accept[0], "application/dialog-info+xml");
	assert_non_null(strstr(f.accept[1], "application/pidf+xml"));
	assert_non_null(strstr(f.accept[1], "q=0.5"));
	assert_string_equal(f.accept[2], "application/xpidf+xml");
	assert_int_equal(f.expires, 0);
	assert_true(f.eventlist);
	assert_null(f.user_agent);
	sub_facts_free(&f);
	sip_in_free(&in);
}

static char *replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *r = malloc(n);

	assert_non_null(p);
	snprintf(r, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return r;
}

static void test_parse_errors(void **state)
{
	struct sip_in in;
	struct sub_facts f;
	char err[128];
	struct {
		const char *from, *to;
		int parse;          /* expected sip_parse result */
		const char *bad;    /* expected in.bad or facts.bad substring */
	} cases[] = {
		{"Call-ID: aab825501797c37c\r\n", "", -1, NULL},
		{"CSeq: 10895 SUBSCRIBE\r\n", "", -1, NULL},
		{"CSeq: 10895 SUBSCRIBE\r\n", "CSeq: x SUBSCRIBE\r\n", -1, NULL},
		{"CSeq: 10895 SUBSCRIBE\r\n", "CSeq: 99999999999 SUBSCRIBE\r\n", -1, NULL},
		{"CSeq: 10895 SUBSCRIBE\r\n", "CSeq: 1 NOTIFY\r\n", 0, "CSeq method"},
		{";tag=27f1be309b9cec79", "", 0, "From without tag"},
		{"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1f743526c5bf02d1;rport\r\n", "", -1, NULL},
		{"From: <sip:alice@127.0.0.1:5062>;tag=27f1be309b9cec79\r\n", "", -1, NULL},
		{"Expires: 600\r\n", "Expires: soon\r\n", 0, "malformed Expires"},
		{"Expires: 600\r\n", "Expires: 99999999999\r\n", 0, NULL},
		{"SUBSCRIBE sip:1000@127.0.0.1:5070 SIP/2.0", "SUBSCRIBE sip:1000@127.0.0.1:99999 SIP/2.0", 0, "bad port"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *m = replace(subscribe_msg, cases[i].from, cases[i].to);
		int r = sip_parse(m, strlen(m), &in, err, sizeof(err));

		if (r != cases[i].parse)
			fail_msg("case %zu: parse gave %d (%s)", i, r, r < 0 ? err : "");
		if (r == 0) {
			assert_int_equal(sip_subscribe_facts(&in, &f), 0);
			if (cases[i].bad) {
				const char *bad = in.bad ? in.bad : f.bad;

				if (!bad || !strstr(bad, cases[i].bad))
					fail_msg("case %zu: expected '%s', got '%s'", i, cases[i].bad, bad ? bad : "(none)");
			} else {
				assert_null(in.bad);
				assert_null(f.bad);
			}
			if (i == 9)
				assert_int_equal(f.expires, UINT32_MAX);
			sub_facts_free(&f);
			sip_in_free(&in);
		}
		free(m);
	}
	assert_int_equal(sip_parse("", 0, &in, err, sizeof(err)), -1);
	assert_int_equal(sip_parse("garbage\r\n\r\n", 11, &in, err, sizeof(err)), -1);
	assert_int_equal(sip_parse("SIP/2.0 200 OK\r\n\r\n", 18, &in, err, sizeof(err)), -1);
	assert_int_equal(sip_parse("NOTIFY x\0y SIP/2.0\r\n\r\n", 22, &in, err, sizeof(err)), -1);
}

/* Random damage to real messages: parse, extract, answer; nothing may crash. */
static void test_mutations(void **state)
{
	const char *seeds[] = {
		subscribe_msg,
		"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx;rport=5070;received=127.0.0.1\r\n"
		"From: <sip:1000@127.0.0.1>;tag=a\r\nTo: <sip:alice@127.0.0.1>;tag=b\r\nCall-ID: c\r\nCSeq: 5 NOTIFY\r\n"
		"Content-Length: 0\r\n\r\n",
		"OPTIONS sip:127.0.0.1:5070 SIP/2.0\r\nv: SIP/2.0/UDP [::1]:9;branch=z9hG4bKo\r\nf: <sip:a@[::1]>;tag=1\r\n"
		"t: <sip:b@[::1]>\r\ni: x\r\nCSeq: 1 OPTIONS\r\nAccept: a/b, c/d;q=1\r\nk: x\r\no: presence;id=\r\n"
		"l: 5\r\n\r\nhello",
	};
	const char junk[] = "<>;:=,@\"\\[]\r\n \t\x01\xff/SIP2.0z9hG4bK";
	uint64_t seed = 88172645463325252ull;
	struct ua_addr src;
	char err[128];
	int parsed = 0, answered = 0;

	(void)state;
	assert_int_equal(addr_parse_listen("127.0.0.1:5062", &src), 0);
	for (int iter = 0; iter < 60000; iter++) {
		const char *s = seeds[iter % 3];
		size_t n = strlen(s);
		char buf[2048];
		struct sip_in in;
		int edits;

		memcpy(buf, s, n);
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		edits = 1 + (int)(seed % 8);
		for (int e = 0; e < edits; e++) {
			size_t pos;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			pos = n ? (size_t)(seed >> 16) % n : 0;
			switch (seed % 5) {
			case 0: /* replace a byte */
				if (n)
					buf[pos] = junk[(seed >> 40) % (sizeof(junk) - 1)];
				break;
			case 1: /* delete a run */
				if (n) {
					size_t k = 1 + (size_t)((seed >> 32) % 16);

					if (pos + k > n)
						k = n - pos;
					memmove(buf + pos, buf + pos + k, n - pos - k);
					n -= k;
				}
				break;
			case 2: /* insert a junk byte */
				if (n + 1 < sizeof(buf)) {
					memmove(buf + pos + 1, buf + pos, n - pos);
					buf[pos] = junk[(seed >> 40) % (sizeof(junk) - 1)];
					n++;
				}
				break;
			case 3: /* truncate */
				n = pos;
				break;
			default: /* duplicate a chunk */
				if (n && n + 64 < sizeof(buf)) {
					size_t k = 1 + (size_t)((seed >> 32) % 64);

					if (pos + k > n)
						k = n - pos;
					memmove(buf + pos + k, buf + pos, n - pos);
					n += k;
				}
				break;
			}
		}
		if (sip_parse(buf, n, &in, err, sizeof(err)) == 0) {
			size_t len;
			char *r;

			parsed++;
			if (in.is_request && !strcmp(in.method, in.cseq_method)) {
				struct sub_facts f;

				if (sip_subscribe_facts(&in, &f) == 0)
					(void)f;
				sub_facts_free(&f);
				r = sip_build_response(&in, &src, 200, NULL, NULL, "Expires: 5\r\n", &len);
				answered += r != NULL;
				free(r);
				r = sip_build_response(&in, &src, 481, NULL, "tag", NULL, &len);
				free(r);
				free(stx_key(&in));
			}
			sip_in_free(&in);
		}
	}
	/* the damage is mild enough that much of it still parses and gets answered */
	print_message("# %d of 60000 damaged messages parsed, %d answered\n", parsed, answered);
	assert_true(parsed > 6000);
	assert_true(answered > 3000);
}

static void test_build_response(void **state)
{
	struct sip_in in, out;
	struct ua_addr src;
	char err[128];
	size_t len;
	char *r;

	(void)state;
	assert_int_equal(addr_parse_listen("127.0.0.9:6000", &src), 0);
	assert_int_equal(sip_parse(subscribe_msg, strlen(subscribe_msg), &in, err, sizeof(err)), 0);
	r = sip_build_response(&in, &src, 200, "OK", "mytag", "Expires: 600\r\nContact: <sip:1000@127.0.0.1:5070>\r\n",
	                       &len);
	assert_non_null(r);
	assert_int_equal(len, strlen(r));
	assert_int_equal(sip_parse(r, len, &out, err, sizeof(err)), 0);
	assert_false(out.is_request);
	assert_int_equal(out.status, 200);
	assert_string_equal(out.to_tag, "mytag");
	assert_string_equal(out.from_tag, "27f1be309b9cec79");
	assert_string_equal(out.call_id, "aab825501797c37c");
	assert_int_equal(out.cseq, 10895);
	assert_string_equal(out.cseq_method, "SUBSCRIBE");
	assert_string_equal(out.branch, "z9hG4bK1f743526c5bf02d1");
	assert_non_null(strstr(r, ";rport=6000"));
	assert_non_null(strstr(r, "received=127.0.0.9"));
	assert_string_equal(sip_header(&out, "expires", NULL), "600");
	assert_int_equal(osip_list_size(&out.msg->contacts), 1);
	assert_non_null(strstr(r, "Content-Length: 0"));
	sip_in_free(&out);
	free(r);
	/* no tag given: a random one; a response to a request with a To tag keeps it */
	r = sip_build_response(&in, &src, 403, NULL, NULL, NULL, &len);
	assert_int_equal(sip_parse(r, len, &out, err, sizeof(err)), 0);
	assert_non_null(out.to_tag);
	assert_int_equal(strlen(out.to_tag), 16);
	assert_non_null(strstr(r, "SIP/2.0 403 Forbidden\r\n"));
	sip_in_free(&out);
	free(r);
	sip_in_free(&in);
}

static void test_build_notify(void **state)
{
	struct notify_out n = {
		.ruri = "sip:alice-0x55@[::1]:5062;transport=udp",
		.via_sent_by = "[::1]:5070",
		.branch = "z9hG4bKabc",
		.from_uri = "sip:1000@[::1]:5070",
		.from_tag = "ours",
		.to_uri = "sip:alice@[::1]",
		.to_tag = "theirs",
		.call_id = "cid@host",
		.cseq = 7,
		.contact = "sip:1000@[::1]:5070",
		.event = "presence;id=7",
		.subscription_state = "active;expires=599",
		.content_type = "application/pidf+xml",
		.body = "<?xml version=\"1.0\"?>\n<presence/>\n",
		.body_len = 34,
		.require_eventlist = true,
		.allow_events = "presence, dialog",
	};
	struct sip_in in;
	char err[128];
	size_t len;
	char *m = sip_build_notify(&n, &len);

	(void)state;
	assert_non_null(m);
	assert_int_equal(sip_parse(m, len, &in, err, sizeof(err)), 0);
	assert_string_equal(in.method, "NOTIFY");
	assert_int_equal(in.cseq, 7);
	assert_string_equal(in.from_tag, "ours");
	assert_string_equal(in.to_tag, "theirs");
	assert_string_equal(in.call_id, "cid@host");
	assert_string_equal(in.branch, "z9hG4bKabc");
	assert_string_equal(sip_header(&in, "event", "o"), "presence;id=7");
	assert_string_equal(sip_header(&in, "subscription-state", NULL), "active;expires=599");
	assert_string_equal(sip_header(&in, "require", NULL), "eventlist");
	assert_string_equal(sip_header(&in, "max-forwards", NULL), "70");
	assert_non_null(strstr(m, "NOTIFY sip:alice-0x55@[::1]:5062;transport=udp SIP/2.0\r\n"));
	assert_non_null(strstr(m, "Content-Type: application/pidf+xml\r\n"));
	assert_non_null(strstr(m, "Contact: <sip:1000@[::1]:5070>\r\n"));
	assert_non_null(strstr(m, "\r\n\r\n<?xml version=\"1.0\"?>\n<presence/>\n"));
	assert_int_equal(strlen(strstr(m, "\r\n\r\n") + 4), 34);
	sip_in_free(&in);
	free(m);
	/* no body: no Content-Type, Content-Length 0 */
	n.content_type = NULL;
	n.require_eventlist = false;
	m = sip_build_notify(&n, &len);
	assert_non_null(m);
	assert_null(strstr(m, "Content-Type"));
	assert_null(strstr(m, "Require"));
	assert_non_null(strstr(m, "Content-Length: 0"));
	free(m);
	/* a URI osip cannot take */
	n.ruri = "not a uri";
	assert_null(sip_build_notify(&n, &len));
	/* the direct builder writes what the libosip2 one writes */
	{
		static const char *const ruris[] = {"sip:alice-0x55@[::1]:5062;transport=udp", "sip:u0@127.0.0.1:39732",
		                                    "sips:bob@example.com;ob"};
		for (int k = 0; k < 12; k++) {
			char *a, *b;
			size_t la, lb;

			n.ruri = ruris[k % 3];
			n.to_tag = k % 2 ? NULL : "theirs";
			n.content_type = k % 4 < 2 ? "application/pidf+xml" : NULL;
			n.body_len = k % 3 == 0 ? 0 : 34;
			n.require_eventlist = k % 5 == 0;
			n.allow_events = k % 3 == 1 ? NULL : "presence, dialog";
			n.user_agent = k % 2 ? "sippres-mini-ua" : NULL;
			n.event = k % 2 ? "dialog" : "presence;id=7";
			a = sip_build_notify(&n, &la);
			b = sip_build_notify_osip(&n, &lb);
			assert_non_null(a);
			assert_non_null(b);
			assert_int_equal(la, lb);
			assert_memory_equal(a, b, la);
			free(b);
			/* the same bytes after a transaction's room (ntx_add_at) */
			b = sip_build_notify_at(&n, 200, &lb);
			assert_non_null(b);
			assert_int_equal(la, lb);
			assert_memory_equal(a, b + 200, la);
			free(a);
			free(b);
		}
	}
}


/* A plain SUBSCRIBE read without libosip2 (sip-fast.c): the same fields, facts, transaction key, header values
 * and responses, byte for byte, as libosip2's path; anything less plain takes libosip2's path. */
static void test_fast_subscribe(void **state)
{
	static const char *const plain[] = {
		/* the load generator's */
		"SUBSCRIBE sip:p3@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:40001;branch=z9hG4bKs3x1;rport\r\n"
		"Max-Forwards: 70\r\nFrom: <sip:u0@127.0.0.1>;tag=f3\r\nTo: <sip:p3@127.0.0.1:5070>\r\n"
		"Call-ID: lg3-77\r\nCSeq: 1 SUBSCRIBE\r\nContact: <sip:u0@127.0.0.1:40001>\r\nEvent: presence\r\n"
		"Accept: application/pidf+xml\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n",
		/* a refresh in the dialog, behind a proxy, a phone's fields */
		"SUBSCRIBE sip:1001@10.0.0.5:5060;transport=udp SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bK-p1;rport=5060\r\n"
		"Via: SIP/2.0/UDP 192.168.1.20:5062;branch=z9hG4bK-phone;rport\r\n"
		"From: \"Alice Smith\" <sip:alice@pbx.example.com>;tag=8d1c\r\n"
		"To: <sip:1001@pbx.example.com>;tag=srv77\r\nCall-ID: 9f2e-11@192.168.1.20\r\nCSeq: 102 SUBSCRIBE\r\n"
		"Contact: <sip:alice@192.168.1.20:5062;ob>;expires=3600\r\nEvent: dialog;id=4\r\n"
		"Accept: application/dialog-info+xml, multipart/related, application/rlmi+xml\r\n"
		"Supported: replaces, eventlist\r\nUser-Agent: Phone 1.2.3 (x)\r\nAllow-Events: dialog\r\n"
		"Expires:  3600 \r\n\r\n",
		/* an unsubscribe without Contact, no Accept, TCP Via without port, no rport */
		"SUBSCRIBE sips:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP host.example.com;branch=z9hG4bKu9\r\n"
		"From: <sips:carol@example.com:5061>;tag=a.b-c\r\nTo: <sips:bob@example.com>;tag=9\r\n"
		"Call-ID: abc\r\nCSeq: 4294967295 SUBSCRIBE\r\nEvent: presence\r\nExpires: 0\r\n\r\n",
		/* not RFC 3261's branch: the RFC 2543 key; a malformed Expires (a 400 decided the same way) */
		"SUBSCRIBE sip:p1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5062;branch=old1\r\n"
		"From: <sip:127.0.0.1>;tag=1\r\nTo: <sip:p1@127.0.0.1>\r\nCall-ID: x\r\nCSeq: 0 SUBSCRIBE\r\n"
		"Contact: <sip:u@127.0.0.2:5062>\r\nExpires: 1x\r\nMax-Forwards: 0\r\n\r\n",
	};
	static const char *const not_plain[] = {
		/* compact forms, folded lines, a body, Authorization, a bare URI, an IPv6 host */
		"SUBSCRIBE sip:p1@h SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@h>;tag=1\r\nt: <sip:p1@h>\r\n"
		"i: x\r\nCSeq: 1 SUBSCRIBE\r\n\r\n",
		"SUBSCRIBE sip:p1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:p1@h>\r\n"
		"Call-ID: x\r\nCSeq: 1 SUBSCRIBE\r\nEvent:\r\n presence\r\n\r\n",
		"SUBSCRIBE sip:p1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:p1@h>\r\n"
		"Call-ID: x\r\nCSeq: 1 SUBSCRIBE\r\nContent-Length: 2\r\n\r\nab",
		"SUBSCRIBE sip:p1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:p1@h>\r\n"
		"Call-ID: x\r\nCSeq: 1 SUBSCRIBE\r\nAuthorization: Digest username=\"a\"\r\n\r\n",
		"SUBSCRIBE sip:p1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: sip:a@h;tag=1\r\nTo: <sip:p1@h>\r\n"
		"Call-ID: x\r\nCSeq: 1 SUBSCRIBE\r\n\r\n",
		"SUBSCRIBE sip:p1@[::1]:5070 SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:5062;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n"
		"To: <sip:p1@h>\r\nCall-ID: x\r\nCSeq: 1 SUBSCRIBE\r\n\r\n",
		/* no From tag: libosip2's path answers 400 */
		"SUBSCRIBE sip:p1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>\r\nTo: <sip:p1@h>\r\n"
		"Call-ID: x\r\nCSeq: 1 SUBSCRIBE\r\n\r\n",
	};
	static const char subst[] = " ;\"<>%A,:@\t=/\n0";
	struct ua_addr src, other;
	char why[2048];
	unsigned taken = 0;

	(void)state;
	assert_int_equal(addr_parse_listen("127.0.0.1:40001", &src), 0);
	assert_int_equal(addr_parse_listen("10.0.0.7:5060", &other), 0);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		int r = sip_fast_compare(plain[i], strlen(plain[i]), &src, why, sizeof(why));

		if (r != 1)
			fail_msg("plain SUBSCRIBE %zu: %d %s", i, r, r < 0 ? why : "not taken");
		assert_int_equal(sip_fast_compare(plain[i], strlen(plain[i]), &other, why, sizeof(why)), 1);
	}
	for (size_t i = 0; i < sizeof(not_plain) / sizeof(not_plain[0]); i++)
		assert_int_equal(sip_fast_compare(not_plain[i], strlen(not_plain[i]), &src, why, sizeof(why)), 0);
	/* every byte of the plain ones replaced by each of subst, or removed: taken or not, never different */
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		size_t n = strlen(plain[i]);
		char *m = malloc(n + 1);

		assert_non_null(m);
		for (size_t at = 0; at < n; at++) {
			for (size_t k = 0; k <= sizeof(subst) - 1; k++) {
				size_t mn = n;
				int r;

				memcpy(m, plain[i], n);
				if (k < sizeof(subst) - 1) {
					m[at] = subst[k];
				} else {
					memmove(m + at, m + at + 1, n - at - 1);
					mn--;
				}
				r = sip_fast_compare(m, mn, &src, why, sizeof(why));
				if (r < 0)
					fail_msg("SUBSCRIBE %zu with byte %zu %s: %s\n%.*s", i, at, k < sizeof(subst) - 1 ? "replaced" : "removed",
					         why, (int)mn, m);
				taken += r == 1;
			}
		}
		free(m);
	}
	assert_true(taken > 100);
}

static void test_tokens(void **state)
{
	const char *m = "SUBSCRIBE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n"
	                "To: <sip:1@h>\r\nCall-ID: x\r\nCSeq: 1 SUBSCRIBE\r\nSupported: timer,  eventlist ;x=1\r\n"
	                "Supported: 100rel\r\n\r\n";
	struct sip_in in;
	char err[128];

	(void)state;
	assert_int_equal(sip_parse(m, strlen(m), &in, err, sizeof(err)), 0);
	assert_true(sip_header_has_token(&in, "supported", "k", "eventlist"));
	assert_true(sip_header_has_token(&in, "supported", "k", "100REL"));
	assert_false(sip_header_has_token(&in, "supported", "k", "event"));
	assert_false(sip_header_has_token(&in, "require", NULL, "eventlist"));
	assert_int_equal(sip_expires(&in), -1);
	sip_in_free(&in);
	{
		char *u = sip_uri_user("sip:alice@h:5");

		assert_string_equal(u, "alice");
		free(u);
	}
	assert_null(sip_uri_user("sip:h"));
}

/* ---- commands ----------------------------------------------------------------------------- */

static void parse_ok(const char *line, struct cmd *c)
{
	char err[256];

	if (cmd_parse(line, c, err, sizeof(err)) != 0)
		fail_msg("'%s' rejected: %s", line, err);
}

static void parse_err(const char *line, const char *needle)
{
	char err[256];
	struct cmd c;

	if (cmd_parse(line, &c, err, sizeof(err)) != -1)
		fail_msg("'%s' accepted", line);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", line, err, needle);
}

static void test_commands(void **state)
{
	struct cmd c;

	(void)state;
	parse_ok("", &c);
	assert_int_equal(c.kind, CMD_NONE);
	parse_ok("   # a comment", &c);
	assert_int_equal(c.kind, CMD_NONE);
	parse_ok("quit", &c);
	assert_int_equal(c.kind, CMD_QUIT);
	parse_ok("devstate change PJSIP/alice RINGING", &c);
	assert_int_equal(c.kind, CMD_DEVSTATE);
	assert_string_equal(c.a, "PJSIP/alice");
	assert_int_equal(c.state, SIPPRES_DEVICE_RINGING);
	cmd_free(&c);
	parse_ok("  devstate   change Custom:lamp1 not_inuse\r", &c);
	assert_int_equal(c.state, SIPPRES_DEVICE_NOT_INUSE);
	cmd_free(&c);
	parse_ok("presencestate change CustomPresence:alice away,lunch,Out to lunch, back at 2", &c);
	assert_int_equal(c.kind, CMD_PRESENCE);
	assert_string_equal(c.a, "CustomPresence:alice");
	assert_int_equal(c.state, SIPPRES_PRESENCE_AWAY);
	assert_string_equal(c.c, "lunch");
	assert_string_equal(c.d, "Out to lunch, back at 2");
	cmd_free(&c);
	parse_ok("presencestate change CustomPresence:alice \"DND,,Busy\"", &c);
	assert_int_equal(c.state, SIPPRES_PRESENCE_DND);
	assert_string_equal(c.c, "");
	assert_string_equal(c.d, "Busy");
	cmd_free(&c);
	parse_ok("presencestate change CustomPresence:alice available", &c);
	assert_int_equal(c.state, SIPPRES_PRESENCE_AVAILABLE);
	assert_null(c.c);
	assert_null(c.d);
	cmd_free(&c);
	parse_ok("dialplan add extension 1000,hint,PJSIP/alice&PJSIP/bob,CustomPresence:alice(Alice Smith) into default",
	         &c);
	assert_int_equal(c.kind, CMD_HINT_ADD);
	assert_string_equal(c.a, "1000");
	assert_string_equal(c.b, "PJSIP/alice&PJSIP/bob,CustomPresence:alice(Alice Smith)");
	assert_string_equal(c.c, "default");
	assert_false(c.replace);
	cmd_free(&c);
	parse_ok("dialplan add extension _[1,2]XX,hint,Custom:${EXTEN} into from-internal replace", &c);
	assert_string_equal(c.a, "_[1,2]XX");
	assert_string_equal(c.b, "Custom:${EXTEN}");
	assert_string_equal(c.c, "from-internal");
	assert_true(c.replace);
	cmd_free(&c);
	parse_ok("dialplan remove extension 1000@default hint", &c);
	assert_int_equal(c.kind, CMD_HINT_REMOVE);
	assert_string_equal(c.a, "1000");
	assert_string_equal(c.c, "default");
	cmd_free(&c);
	parse_ok("dialplan remove extension 1000@default", &c);
	cmd_free(&c);
	parse_ok("call set PJSIP/alice abc123 early direction=recipient remote=sip:bob@pbx "
	         "remote_display=\"Bob \\\"B\\\" Smith\" local=sip:1000@pbx local_display=Alice local_tag=lt remote_tag=rt",
	         &c);
	assert_int_equal(c.kind, CMD_CALL_SET);
	assert_string_equal(c.a, "PJSIP/alice");
	assert_string_equal(c.b, "abc123");
	assert_int_equal(c.state, SIPPRES_CALL_EARLY);
	assert_int_equal(c.direction, SIPPRES_DIRECTION_RECIPIENT);
	assert_string_equal(c.remote, "sip:bob@pbx");
	assert_string_equal(c.remote_display, "Bob \"B\" Smith");
	assert_string_equal(c.local, "sip:1000@pbx");
	assert_string_equal(c.local_display, "Alice");
	assert_string_equal(c.local_tag, "lt");
	assert_string_equal(c.remote_tag, "rt");
	cmd_free(&c);
	parse_ok("call set PJSIP/alice x held", &c);
	assert_int_equal(c.state, SIPPRES_CALL_HELD);
	assert_int_equal(c.direction, -1);
	cmd_free(&c);
	parse_ok("call clear PJSIP/alice x", &c);
	assert_int_equal(c.kind, CMD_CALL_CLEAR);
	cmd_free(&c);
	parse_ok("core show hints", &c);
	assert_int_equal(c.kind, CMD_SHOW_HINTS);
	parse_ok("pjsip show subscriptions inbound", &c);
	assert_int_equal(c.kind, CMD_SHOW_SUBS);
	assert_false(c.outbound);
	assert_null(c.a);
	parse_ok("pjsip list subscriptions OUTBOUND like \"1000/(presence|dialog)\"", &c);
	assert_int_equal(c.kind, CMD_LIST_SUBS);
	assert_true(c.outbound);
	assert_string_equal(c.a, "1000/(presence|dialog)");
	cmd_free(&c);
	parse_ok("sippres show subscriptions", &c);
	assert_int_equal(c.kind, CMD_SUBS_DETAIL);
	parse_err("pjsip show subscriptions", "usage: pjsip show subscriptions {inbound|outbound} [like <regex>]");
	parse_err("pjsip list subscriptions inbound like", "usage: pjsip list subscriptions");
	parse_err("pjsip show subscriptions sideways", "usage: pjsip show subscriptions");
	parse_err("pjsip show subscriptions inbound unlike x", "usage: pjsip show subscriptions");
	parse_ok("pjsip show publications", &c);
	assert_int_equal(c.kind, CMD_SHOW_PUBS);

	parse_err("frobnicate", "unknown command");
	parse_err("quit now", "usage: quit");
	parse_err("devstate change PJSIP/alice", "usage: devstate");
	parse_err("devstate change PJSIP/alice SLEEPY", "unknown device state 'SLEEPY'");
	parse_err("presencestate change CustomPresence:a sleepy,x", "unknown presence state 'sleepy'");
	parse_err("presencestate change CustomPresence:a", "usage: presencestate");
	parse_err("dialplan add extension 1000,1,Dial(x) into default", "only hints");
	parse_err("dialplan add extension 1000,hint,PJSIP/a default", "usage: dialplan add");
	parse_err("dialplan add extension into default", "usage: dialplan add");
	parse_err("dialplan remove extension 1000 hint", "<exten>@<context>");
	parse_err("dialplan remove extension 1000@default 1", "usage: dialplan remove");
	parse_err("call set PJSIP/a x ringing", "unknown call state 'ringing'");
	parse_err("call set PJSIP/a x early colour=red", "unknown call key 'colour'");
	parse_err("call set PJSIP/a x early direction=sideways", "direction must be");
	parse_err("call set PJSIP/a x early remote", "expected key=value");
	parse_err("call set PJSIP/a x early remote_display=\"unterminated", "unterminated quote");
	parse_err("call clear PJSIP/a", "usage: call clear");
	parse_err("core show hint", "unknown command");
}

/* ---- transactions --------------------------------------------------------------------------- */

static void test_timers(void **state)
{
	struct ntx_table t;
	struct ua_addr dst;
	struct ntx *x;
	uint64_t now = 1000;
	uint32_t expect[] = {500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000, 4000};
	size_t fired = 0;

	(void)state;
	assert_int_equal(addr_parse_listen("127.0.0.1:1", &dst), 0);
	assert_int_equal(ntx_table_init(&t, 500), 0);
	assert_int_equal(ntx_next(&t), UINT64_MAX);
	x = ntx_add(&t, "z9hG4bKa", "cid", "tag", 3, strdup("data"), 4, &dst, now);
	assert_non_null(x);
	assert_ptr_equal(ntx_find(&t, "z9hG4bKa"), x);
	assert_null(ntx_find(&t, "z9hG4bKb"));
	/* E: 500, 1000, 2000, 4000, 4000 ... until F at 32 s */
	for (;;) {
		uint64_t next = ntx_next(&t);

		assert_null(ntx_due(&t, next - 1));
		x = ntx_due(&t, next);
		assert_non_null(x);
		if (next >= x->f_at) {
			assert_int_equal(next, 1000 + 32000);
			break;
		}
		assert_true(fired < 10);
		assert_int_equal(next - now, expect[fired]);
		fired++;
		now = next;
		ntx_fired(&t, x, now);
	}
	/* retransmissions at 0.5, 1.5, 3.5, 7.5, 11.5 ... 31.5 s */
	assert_int_equal(fired, 10);
	ntx_remove(&t, x);
	assert_int_equal(t.count, 0);
	/* a provisional response switches to T2 */
	x = ntx_add(&t, "z9hG4bKp", "cid", "tag", 4, strdup("data"), 4, &dst, 0);
	ntx_proceeding(&t, x, 100);
	assert_int_equal(ntx_next(&t), 4100);
	ntx_fired(&t, x, 4100);
	assert_int_equal(ntx_next(&t), 8100);
	/* many transactions come out in deadline order */
	for (int i = 0; i < 500; i++) {
		char b[32];

		snprintf(b, sizeof(b), "z9hG4bK%d", i);
		assert_non_null(ntx_add(&t, b, "c", "t", (uint32_t)i, strdup("d"), 1, &dst, (uint64_t)((i * 7919) % 1000)));
	}
	{
		uint64_t last = 0;
		int n = 0;

		while ((x = ntx_due(&t, UINT64_MAX - 1)) != NULL) {
			assert_true(x->fire_at >= last);
			last = x->fire_at;
			ntx_remove(&t, x);
			n++;
		}
		assert_int_equal(n, 501);
	}
	ntx_table_fini(&t);
	/* T1 can be scaled for tests */
	assert_int_equal(ntx_table_init(&t, 50), 0);
	x = ntx_add(&t, "z9hG4bKs", "c", "t", 1, strdup("d"), 1, &dst, 0);
	assert_int_equal(ntx_next(&t), 50);
	assert_int_equal(x->f_at, 3200);
	ntx_table_fini(&t);
}

/* A NOTIFY that waits for room is kept as a record: what differs per dialog, the rest (our address, the
 * presentity, the event, the body) shared by the NOTIFYs of one change and freed with the last one sent or
 * ended (valgrind and ASan see a leak or a double free); it becomes a transaction when it goes out, byte for
 * byte what the direct writing makes, in the block of one that ended. */
static void test_pending_notify(void **state)
{
	const char *body1 = "<presence>open</presence>", *body2 = "<presence>closed</presence>";
	struct notify_out n = {
		.ruri = "sip:w0@127.0.0.1:5062", .via_sent_by = "127.0.0.1:5070", .branch = "z9hG4bKl0",
		.from_uri = "sip:p0@127.0.0.1", .from_tag = "ours0", .to_uri = "sip:w0@127.0.0.1", .to_tag = "theirs",
		.call_id = "c0@h", .cseq = 7, .contact = "sip:p0@127.0.0.1:5070", .event = "presence",
		.subscription_state = "active;expires=599", .content_type = "application/pidf+xml", .body = body1,
		.body_len = strlen(body1), .allow_events = "presence, dialog", .user_agent = "ua",
	};
	struct ntx_table t;
	struct ua_addr dst;
	struct ntx_pend *p[4];
	struct ntx *x, *y;
	char *want, c[3][16], tag[3][16], st[3][32]; /* n points to them until the end */
	size_t want_len;

	(void)state;
	assert_int_equal(addr_parse_listen("127.0.0.1:5062", &dst), 0);
	assert_int_equal(ntx_table_init(&t, 500), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(c[i], sizeof(c[i]), "c%d@h", i);
		snprintf(tag[i], sizeof(tag[i]), "ours%d", i);
		snprintf(st[i], sizeof(st[i]), "active;expires=%d", 599 - i);
		n.call_id = c[i];
		n.from_tag = tag[i];
		n.subscription_state = st[i];
		n.cseq = 7 + (uint32_t)i;
		p[i] = ntx_pend_new(&t, &n, &dst, 1000);
		assert_non_null(p[i]);
		assert_string_equal(p[i]->call_id, c[i]);
		assert_string_equal(p[i]->local_tag, tag[i]);
		assert_string_equal(p[i]->state, st[i]);
		assert_ptr_equal(p[i]->chg, p[0]->chg); /* the same change: one copy */
	}
	assert_int_equal(p[0]->chg->refs, 3);
	assert_int_equal(t.count, 0); /* no transaction yet */
	/* another change: its own */
	n.body = body2;
	n.body_len = strlen(body2);
	n.call_id = "c3@h";
	n.from_tag = "ours3";
	n.to_tag = NULL;
	n.cseq = 1;
	p[3] = ntx_pend_new(&t, &n, &dst, 1000);
	assert_non_null(p[3]);
	assert_ptr_not_equal(p[3]->chg, p[0]->chg);
	assert_ptr_equal(t.last_change, p[3]->chg);
	/* sent: a transaction whose message is what sip_build_notify writes for the same facts */
	x = ntx_pend_send(&t, p[1], "z9hG4bKl1", 2000);
	assert_non_null(x);
	assert_ptr_equal(ntx_find(&t, "z9hG4bKl1"), x);
	assert_string_equal(x->call_id, "c1@h");
	assert_string_equal(x->local_tag, "ours1");
	assert_int_equal(x->cseq, 8);
	assert_true(addr_equal(&x->dst, &dst));
	assert_int_equal(x->start, 2000);
	n.body = body1;
	n.body_len = strlen(body1);
	n.branch = "z9hG4bKl1";
	n.call_id = "c1@h";
	n.from_tag = "ours1";
	n.to_tag = "theirs";
	n.subscription_state = "active;expires=598";
	n.cseq = 8;
	want = sip_build_notify(&n, &want_len);
	assert_non_null(want);
	assert_int_equal(x->len, want_len);
	assert_memory_equal(x->data, want, want_len);
	free(want);
	assert_int_equal(p[0]->chg->refs, 2);
	/* one that ends unsent (timer F while it waited) drops its reference */
	ntx_pend_free(&t, p[0]);
	assert_int_equal(p[2]->chg->refs, 1);
	/* an answered transaction's block goes back to the pool and the next one sent takes it */
	assert_true(x->pooled);
	assert_int_equal(ntx_pool_len(&t), 0);
	ntx_remove(&t, x);
	assert_int_equal(ntx_pool_len(&t), 1);
	y = ntx_pend_send(&t, p[2], "z9hG4bKl2", 3000);
	assert_ptr_equal(y, x);
	assert_int_equal(ntx_pool_len(&t), 0);
	assert_int_equal(t.pool_reused, 1);
	assert_int_equal(t.pend_sent, 2);
	assert_non_null(memmem(y->data, y->len, "CSeq: 9 NOTIFY\r\n", 16));
	/* the last reference to the first change went with that; the second's goes with its record */
	assert_ptr_equal(t.last_change, p[3]->chg);
	ntx_pend_free(&t, p[3]);
	assert_null(t.last_change);
	/* a message longer than a pool block gets one of its own */
	{
		size_t big = NTX_BLOCK + 100;
		char *b = malloc(big);
		struct ntx_pend *q;

		assert_non_null(b);
		memset(b, 'x', big);
		n.body = b;
		n.body_len = big;
		q = ntx_pend_new(&t, &n, &dst, 0);
		free(b);
		assert_non_null(q);
		x = ntx_pend_send(&t, q, "z9hG4bKbig", 0);
		assert_non_null(x);
		assert_false(x->pooled);
		assert_true(x->len > big);
		assert_null(t.last_change);
	}
	ntx_remove(&t, y);
	assert_int_equal(ntx_pool_len(&t), 1);
	ntx_table_fini(&t); /* with the big one and the pool's block */
}

static void test_response_cache(void **state)
{
	struct stx_table t;
	struct sip_in in;
	char err[128];
	char *k1, *k2, *k3, *m;

	(void)state;
	assert_int_equal(stx_table_init(&t, 32000), 0);
	assert_int_equal(sip_parse(subscribe_msg, strlen(subscribe_msg), &in, err, sizeof(err)), 0);
	k1 = stx_key(&in);
	sip_in_free(&in);
	/* the same request again: same key; another branch: another key */
	assert_int_equal(sip_parse(subscribe_msg, strlen(subscribe_msg), &in, err, sizeof(err)), 0);
	k2 = stx_key(&in);
	sip_in_free(&in);
	assert_string_equal(k1, k2);
	m = replace(subscribe_msg, "z9hG4bK1f74", "z9hG4bK9f74");
	assert_int_equal(sip_parse(m, strlen(m), &in, err, sizeof(err)), 0);
	k3 = stx_key(&in);
	sip_in_free(&in);
	free(m);
	assert_string_not_equal(k1, k3);
	assert_int_equal(stx_add(&t, k1, "resp1", 5, 1000), 0);
	assert_int_equal(stx_add(&t, k3, "resp3", 5, 2000), 0);
	assert_memory_equal(stx_find(&t, k2)->data, "resp1", 5);
	assert_int_equal(stx_next(&t), 33000);
	stx_expire(&t, 32999);
	assert_non_null(stx_find(&t, k1));
	stx_expire(&t, 33000);
	assert_null(stx_find(&t, k1));
	assert_non_null(stx_find(&t, k3));
	for (int i = 0; i < 5000; i++) {
		char k[32];

		snprintf(k, sizeof(k), "key%d", i);
		assert_int_equal(stx_add(&t, k, "x", 1, 3000 + (uint64_t)i), 0);
	}
	assert_non_null(stx_find(&t, "key4999"));
	stx_expire(&t, 100000);
	assert_int_equal(t.count, 0);
	assert_int_equal(stx_next(&t), UINT64_MAX);
	stx_table_fini(&t);
	free(k1);
	free(k2);
	free(k3);
}

/* RFC 3261 18.3 framing on a stream (frame.c): every way a buffer can end. */
static void test_stream_frame(void **state)
{
	static const char two[] = "OPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabcNOTIFY sip:b SIP/2.0\r\n"
	                          "Content-Length :0\r\n\r\n";
	char big[STREAM_MAX_MESSAGE + 16];
	size_t total = 0;

	(void)state;
	assert_int_equal(sip_stream_frame(two, sizeof(two) - 1, &total), 1);
	assert_int_equal(total, strlen("OPTIONS sip:a SIP/2.0\r\nl: 3\r\n\r\nabc"));
	assert_int_equal(sip_stream_frame(two + total, sizeof(two) - 1 - total, &total), 1);
	assert_int_equal(total, strlen("NOTIFY sip:b SIP/2.0\r\nContent-Length :0\r\n\r\n"));
	/* the body not all there yet, the headers not all there yet */
	assert_int_equal(sip_stream_frame(two, 30, &total), 0);
	assert_int_equal(sip_stream_frame(two, 10, &total), 0);
	/* no Content-Length, or one that is not a number or too big */
	assert_int_equal(sip_stream_frame("A sip:a SIP/2.0\r\nX: 1\r\n\r\n", 26, &total), -1);
	assert_int_equal(sip_stream_frame("A sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n", 39, &total), -2);
	assert_int_equal(sip_stream_frame("A sip:a SIP/2.0\r\nContent-Length: 99999999999999999999\r\n\r\n", 58, &total),
	                 -2);
	assert_int_equal(sip_stream_frame("A sip:a SIP/2.0\r\nContent-Length: 65530\r\n\r\n", 43, &total), -2);
	/* a header block that never ends within the bound */
	memset(big, 'a', sizeof(big));
	assert_int_equal(sip_stream_frame(big, STREAM_MAX_MESSAGE - 1, &total), 0);
	assert_int_equal(sip_stream_frame(big, STREAM_MAX_MESSAGE, &total), -2);
}

/* limits.c: the rate bucket refills, the counts per endpoint, source and in all, proven addresses, the
 * window of unproven requests, and the table of peers staying bounded (issue 11). */
static void test_limits(void **state)
{
	struct limits_conf c = {.max_subs = 5, .max_subs_per_endpoint = 3, .max_subs_per_source = 4,
	                        .rate_per_source = 10, .max_peers = 8};
	struct limits l;
	struct ua_addr a, b, p;
	int ok = 0;

	(void)state;
	assert_int_equal(limits_init(&l, &c), 0);
	assert_int_equal(addr_parse_listen("127.0.0.1:5000", &a), 0);
	assert_int_equal(addr_parse_listen("127.0.0.2:5000", &b), 0);
	/* a burst of 2 * rate, then one more every 100 ms */
	for (int i = 0; i < 30; i++)
		ok += limits_request(&l, &a, 1000);
	assert_int_equal(ok, 20);
	assert_false(limits_request(&l, &a, 1050));
	assert_true(limits_request(&l, &a, 1100));
	assert_false(limits_request(&l, &a, 1100));
	/* another port of the same address shares its allowance; another address has its own */
	assert_int_equal(addr_parse_listen("127.0.0.1:5001", &p), 0);
	assert_false(limits_request(&l, &p, 1100));
	assert_true(limits_request(&l, &b, 1100));
	/* subscriptions */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(limits_sub_check(&l, &a, "alice", 0), 0);
		assert_int_equal(limits_sub_add(&l, &a, "alice", 0), 0);
	}
	assert_int_equal(limits_sub_check(&l, &a, "alice", 0), LIMITS_ENDPOINT);
	assert_int_equal(limits_sub_add(&l, &a, "bob", 0), 0);
	assert_int_equal(limits_sub_check(&l, &a, "carol", 0), LIMITS_SOURCE);
	assert_int_equal(limits_sub_add(&l, &b, "carol", 0), 0);
	assert_int_equal(limits_sub_check(&l, &b, "carol", 0), LIMITS_TOTAL);
	limits_sub_remove(&l, &a, "alice");
	assert_int_equal(limits_sub_check(&l, &b, "carol", 0), 0);
	assert_int_equal(limits_sub_check(&l, &a, "alice", 0), 0);
	/* proven addresses (address and port), and two requests in flight to an unproven one */
	assert_false(limits_proven(&l, &p, 0));
	assert_true(limits_unproven_send(&l, &p, 0));
	assert_true(limits_unproven_send(&l, &p, 0));
	assert_false(limits_unproven_send(&l, &p, 0));
	limits_unproven_done(&l, &p);
	assert_true(limits_unproven_send(&l, &p, 0));
	limits_prove(&l, &p, 0);
	assert_true(limits_proven(&l, &p, 1));
	assert_false(limits_proven(&l, &a, 1));
	assert_false(limits_proven(&l, &p, LIMITS_PROVEN_MS + 1));
	/* many sources: the table stays at max_peers, forgetting idle ones, never one with subscriptions */
	for (unsigned i = 0; i < 200; i++) {
		char s[32];
		struct ua_addr x;

		snprintf(s, sizeof(s), "10.0.%u.%u:5060", i / 250, i % 250);
		assert_int_equal(addr_parse_listen(s, &x), 0);
		limits_request(&l, &x, 2000);
	}
	assert_true(l.npeers <= 8);
	assert_true(l.evicted > 0);
	assert_int_equal(limits_sub_check(&l, &b, "carol", 0), 0);
	limits_sub_remove(&l, &b, "carol");
	limits_sub_remove(&l, &a, "alice");
	limits_sub_remove(&l, &a, "alice");
	limits_sub_remove(&l, &a, "bob");
	assert_int_equal(l.subs, 0);
	limits_fini(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_stream_frame),
		cmocka_unit_test(test_parse_subscribe),
		cmocka_unit_test(test_parse_compact_ipv6),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_build_response),
		cmocka_unit_test(test_build_notify),
		cmocka_unit_test(test_fast_subscribe),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_pending_notify),
		cmocka_unit_test(test_response_cache),
		cmocka_unit_test(test_limits),
	};

	sipmsg_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
