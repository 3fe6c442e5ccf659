/* SPDX-License-Identifier: MIT */
/* Body generator benchmark.
 *
 * Builds the same PIDF+RPID, XPIDF and dialog-info documents (standard
 * profile) two ways in one run:
 *   ours     sippres_body_render() (the library's escaping writer)
 *   libxml2  the tree API the way Kamailio and OpenSIPS build bodies:
 *            xmlNewDoc / xmlNewNode / xmlNewChild / xmlNewProp / xmlNewNs,
 *            then xmlDocDumpMemory, then xmlFreeDoc
 * and prints bodies per second for each and the ratio. Before timing it
 * checks that both ways produce the same document (canonical XML, C14N, of
 * both after parsing without blank nodes).
 * It also measures the fan-out path: one dialog-info rendering per hint,
 * patched with each subscription's version (sippres_body_patch_version) and
 * handed to a no-op callback.
 *
 * usage: bench-bodies [--csv FILE] [seconds per side per round (default 0.1)]
 *        bench-bodies --count N KIND ours|libxml2|memcpy   (for callgrind) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <libsippresence/libsippresence.h>

/* Times are the process's CPU time, not wall time: on a shared machine a
 * benchmark that waits for a core would otherwise count the wait
 * (BENCH_WALL=1 at build time gives wall time). */
#ifdef BENCH_WALL
#define BENCH_CLOCK CLOCK_MONOTONIC
#else
#define BENCH_CLOCK CLOCK_PROCESS_CPUTIME_ID
#endif

/* libxml2's BAD_CAST drops const */
#pragma GCC diagnostic ignored "-Wcast-qual"

static double now(void)
{
	struct timespec ts;

	clock_gettime(BENCH_CLOCK, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile size_t sink;

static int cheap_random(void *ud, uint8_t *buf, size_t len)
{
	static uint32_t x = 2463534242u;

	(void)ud;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	return 0;
}

/* ---- the scenario ---------------------------------------------------------- */

static struct sippres_call call = {
	.size = sizeof(struct sippres_call),
	.call_id = "a84b4c76e66710@pc33.example.com",
	.local_tag = "1928301774",
	.remote_tag = "456248",
	.state = SIPPRES_CALL_EARLY,
	.direction = SIPPRES_DIRECTION_RECIPIENT,
	.local_uri = "sip:1000@pbx.example.com",
	.local_display = "Bob",
	.remote_uri = "sip:1001@pbx.example.com",
	.remote_display = "Alice & Co",
};
static struct sippres_device_info dev = {"PJSIP/bob", SIPPRES_DEVICE_RINGING, &call};

static struct sippres_body_input input(void)
{
	struct sippres_body_input in;

	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	in.profile = SIPPRES_PROFILE_STANDARD;
	in.exten = "1000";
	in.local_uri = "sip:1000@pbx.example.com";
	in.remote_uri = "sip:carol@192.0.2.20";
	in.user_agent = "Yealink SIP-T46S";
	in.exten_state = SIPPRES_EXTEN_RINGING;
	in.presence_state = SIPPRES_PRESENCE_AWAY;
	in.presence_subtype = "lunch";
	in.presence_message = "Out to lunch";
	in.devices = &dev;
	in.n_devices = 1;
	in.causing_call = &call;
	in.version = 17;
	return in;
}

/* ---- the libxml2 tree-API baseline ------------------------------------------ */

static xmlChar *lx_pidf(const struct sippres_body_input *in, int *len)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "presence"), tuple, status, contact, person, act;
	xmlNsPtr ns, dm, rpid;
	xmlChar *out = NULL;
	char id[64];

	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, BAD_CAST "urn:ietf:params:xml:ns:pidf", NULL);
	xmlSetNs(root, ns);
	xmlNewProp(root, BAD_CAST "entity", BAD_CAST in->local_uri);
	dm = xmlNewNs(root, BAD_CAST "urn:ietf:params:xml:ns:pidf:data-model", BAD_CAST "dm");
	rpid = xmlNewNs(root, BAD_CAST "urn:ietf:params:xml:ns:pidf:rpid", BAD_CAST "rpid");
	tuple = xmlNewChild(root, ns, BAD_CAST "tuple", NULL);
	snprintf(id, sizeof(id), "t%s", in->exten);
	xmlNewProp(tuple, BAD_CAST "id", BAD_CAST id);
	status = xmlNewChild(tuple, ns, BAD_CAST "status", NULL);
	xmlNewChild(status, ns, BAD_CAST "basic", BAD_CAST "open");
	contact = xmlNewTextChild(tuple, ns, BAD_CAST "contact", BAD_CAST in->local_uri);
	xmlNewProp(contact, BAD_CAST "priority", BAD_CAST "1");
	xmlNewChild(root, ns, BAD_CAST "note", BAD_CAST "Ringing");
	person = xmlNewChild(root, dm, BAD_CAST "person", NULL);
	snprintf(id, sizeof(id), "p%s", in->exten);
	xmlNewProp(person, BAD_CAST "id", BAD_CAST id);
	act = xmlNewChild(person, rpid, BAD_CAST "activities", NULL);
	xmlNewChild(act, rpid, BAD_CAST "on-the-phone", NULL);
	xmlNewChild(act, rpid, BAD_CAST "away", NULL);
	xmlNewTextChild(act, rpid, BAD_CAST "other", BAD_CAST in->presence_subtype);
	xmlNewTextChild(person, dm, BAD_CAST "note", BAD_CAST in->presence_message);
	xmlDocDumpMemory(doc, &out, len);
	xmlFreeDoc(doc);
	return out;
}

static xmlChar *lx_xpidf(const struct sippres_body_input *in, int *len)
{
	static const char hex[] = "0123456789abcdef";
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root, n, atom, addr;
	xmlChar *out = NULL;
	char buf[512], atomid[33];
	uint8_t rnd[16];

	cheap_random(NULL, rnd, sizeof(rnd));
	for (int i = 0; i < 16; i++) {
		atomid[2 * i] = hex[rnd[i] >> 4];
		atomid[2 * i + 1] = hex[rnd[i] & 15];
	}
	atomid[32] = 0;
	xmlCreateIntSubset(doc, BAD_CAST "presence", BAD_CAST "-//IETF//DTD RFCxxxx XPIDF 1.0//EN", BAD_CAST "xpidf.dtd");
	root = xmlNewNode(NULL, BAD_CAST "presence");
	xmlDocSetRootElement(doc, root);
	n = xmlNewChild(root, NULL, BAD_CAST "presentity", NULL);
	snprintf(buf, sizeof(buf), "%s;method=SUBSCRIBE", in->local_uri);
	xmlNewProp(n, BAD_CAST "uri", BAD_CAST buf);
	atom = xmlNewChild(root, NULL, BAD_CAST "atom", NULL);
	xmlNewProp(atom, BAD_CAST "atomid", BAD_CAST atomid);
	xmlNewProp(atom, BAD_CAST "id", BAD_CAST in->exten);
	addr = xmlNewChild(atom, NULL, BAD_CAST "address", NULL);
	snprintf(buf, sizeof(buf), "%s;user=ip", in->local_uri);
	xmlNewProp(addr, BAD_CAST "uri", BAD_CAST buf);
	xmlNewProp(addr, BAD_CAST "priority", BAD_CAST "0.800000");
	n = xmlNewChild(addr, NULL, BAD_CAST "status", NULL);
	xmlNewProp(n, BAD_CAST "status", BAD_CAST "inuse");
	n = xmlNewChild(addr, NULL, BAD_CAST "msnsubstatus", NULL);
	xmlNewProp(n, BAD_CAST "substatus", BAD_CAST "onthephone");
	xmlDocDumpMemory(doc, &out, len);
	xmlFreeDoc(doc);
	return out;
}

static xmlChar *lx_dialog(const struct sippres_body_input *in, int *len)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "dialog-info"), d, p, n;
	xmlNsPtr ns;
	xmlChar *out = NULL;
	char v[16];
	const struct sippres_call *c = in->causing_call;

	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, BAD_CAST "urn:ietf:params:xml:ns:dialog-info", NULL);
	xmlSetNs(root, ns);
	snprintf(v, sizeof(v), "%u", in->version);
	xmlNewProp(root, BAD_CAST "version", BAD_CAST v);
	xmlNewProp(root, BAD_CAST "state", BAD_CAST "full");
	xmlNewProp(root, BAD_CAST "entity", BAD_CAST in->local_uri);
	d = xmlNewChild(root, ns, BAD_CAST "dialog", NULL);
	xmlNewProp(d, BAD_CAST "id", BAD_CAST c->call_id);
	xmlNewProp(d, BAD_CAST "call-id", BAD_CAST c->call_id);
	xmlNewProp(d, BAD_CAST "local-tag", BAD_CAST c->local_tag);
	xmlNewProp(d, BAD_CAST "remote-tag", BAD_CAST c->remote_tag);
	xmlNewProp(d, BAD_CAST "direction", BAD_CAST "recipient");
	xmlNewChild(d, ns, BAD_CAST "state", BAD_CAST "early");
	p = xmlNewChild(d, ns, BAD_CAST "local", NULL);
	n = xmlNewTextChild(p, ns, BAD_CAST "identity", BAD_CAST c->local_uri);
	xmlNewProp(n, BAD_CAST "display", BAD_CAST c->local_display);
	n = xmlNewChild(p, ns, BAD_CAST "target", NULL);
	xmlNewProp(n, BAD_CAST "uri", BAD_CAST in->local_uri);
	p = xmlNewChild(d, ns, BAD_CAST "remote", NULL);
	n = xmlNewTextChild(p, ns, BAD_CAST "identity", BAD_CAST c->remote_uri);
	xmlNewProp(n, BAD_CAST "display", BAD_CAST c->remote_display);
	n = xmlNewChild(p, ns, BAD_CAST "target", NULL);
	xmlNewProp(n, BAD_CAST "uri", BAD_CAST c->remote_uri);
	xmlDocDumpMemory(doc, &out, len);
	xmlFreeDoc(doc);
	return out;
}

/* ---- sameness check ------------------------------------------------------------ */

static char *canon(const char *data, int len)
{
	xmlDocPtr doc = xmlReadMemory(data, len, "b.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS);
	xmlChar *out = NULL;

	if (!doc)
		return NULL;
	if (xmlC14NDocDumpMemory(doc, NULL, XML_C14N_1_0, NULL, 0, &out) < 0)
		out = NULL;
	xmlFreeDoc(doc);
	return (char *)out;
}

/* The XPIDF atom id is random on both sides: compare with it blanked. */
static void blank_atomid(char *s)
{
	char *p = s ? strstr(s, "atomid=\"") : NULL;

	if (p)
		for (p += 8; *p && *p != '"'; p++)
			*p = 'x';
}

/* ---- timing ----------------------------------------------------------------------- */

struct kind {
	const char *name;
	const char *content_type;
	xmlChar *(*lx)(const struct sippres_body_input *, int *);
};

static double measure_ours(struct sippres_ctx *ctx, const struct kind *k, const struct sippres_body_input *in,
                           double secs)
{
	struct sippres_body b = {.size = sizeof(b)};
	double t0 = now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 1000; i++) {
			if (sippres_body_render(ctx, k->content_type, in, &b) != 0)
				abort();
			sink += b.len;
		}
		n += 1000;
	} while ((t = now() - t0) < secs);
	return (double)n / t;
}

static double measure_libxml2(const struct kind *k, const struct sippres_body_input *in, double secs)
{
	double t0 = now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 100; i++) {
			int len;
			xmlChar *out = k->lx(in, &len);
			sink += (size_t)len;
			xmlFree(out);
		}
		n += 100;
	} while ((t = now() - t0) < secs);
	return (double)n / t;
}

/* The floor: copying the same bytes. */
static double measure_memcpy(const char *data, size_t len, double secs)
{
	char *copy = malloc(len + 1);
	double t0 = now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 1000; i++) {
			memcpy(copy, data, len);
			__asm__ volatile("" : : "r"(copy) : "memory"); /* keep every copy */
			sink += (size_t)copy[i % len];
		}
		n += 1000;
	} while ((t = now() - t0) < secs);
	free(copy);
	return (double)n / t;
}

#define ROUNDS 11

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* sorts v */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void noop_notify(void *ud, const char *body, size_t len)
{
	(void)ud;
	sink += len + (size_t)body[len / 2];
}

/* One render per change, then one patched copy per subscription. */
static double measure_fanout(struct sippres_ctx *ctx, const struct sippres_body_input *in0, size_t subs,
                             double secs)
{
	struct sippres_body_input in = *in0;
	struct sippres_body b = {.size = sizeof(b)};
	uint32_t *versions = malloc(subs * sizeof(*versions));
	char *buf = malloc(8192);
	double t0 = now(), t;
	long n = 0;

	for (size_t i = 0; i < subs; i++)
		versions[i] = (uint32_t)(i * 7 % 1000);
	do {
		in.version = versions[0];
		if (sippres_body_render(ctx, SIPPRES_CONTENT_TYPE_DIALOG_INFO, &in, &b) != 0)
			abort();
		for (size_t i = 0; i < subs; i++) {
			size_t len;
			if (sippres_body_patch_version(&b, versions[i]++, buf, 8192, &len) != 0)
				abort();
			noop_notify(NULL, buf, len);
		}
		n += (long)subs;
	} while ((t = now() - t0) < secs);
	free(versions);
	free(buf);
	return (double)n / t;
}

static int count_bodies(struct sippres_ctx *ctx, const struct kind *k, const struct sippres_body_input *in,
                        const char *how, long n)
{
	struct sippres_body b = {.size = sizeof(b)};
	char *copy;

	if (sippres_body_render(ctx, k->content_type, in, &b) != 0)
		return 1;
	copy = malloc(b.len + 1);
	if (strcmp(how, "ours") == 0) {
		for (long i = 0; i < n; i++) {
			if (sippres_body_render(ctx, k->content_type, in, &b) != 0)
				return 1;
			sink += b.len;
		}
	} else if (strcmp(how, "libxml2") == 0) {
		for (long i = 0; i < n; i++) {
			int len;
			xmlChar *out = k->lx(in, &len);
			sink += (size_t)len;
			xmlFree(out);
		}
	} else {
		for (long i = 0; i < n; i++) {
			memcpy(copy, b.data, b.len);
			sink += (size_t)copy[b.len / 2];
		}
	}
	free(copy);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct kind kinds[] = {
		{"PIDF+RPID", SIPPRES_CONTENT_TYPE_PIDF, lx_pidf},
		{"XPIDF", SIPPRES_CONTENT_TYPE_XPIDF, lx_xpidf},
		{"dialog-info", SIPPRES_CONTENT_TYPE_DIALOG_INFO, lx_dialog},
	};
	struct sippres_callbacks cb = {.size = sizeof(cb), .random = cheap_random};
	double secs = 0.1;
	struct sippres_body_input in = input();
	struct sippres_ctx *ctx;
	FILE *csv = NULL;
	int bad = 0;

	if (argc >= 3 && strcmp(argv[1], "--csv") == 0) {
		csv = fopen(argv[2], "w");
		if (!csv) {
			perror(argv[2]);
			return 2;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc == 2)
		secs = atof(argv[1]);

	xmlInitParser();
	if (sippres_ctx_new(NULL, &cb, NULL, &ctx) != 0)
		return 1;
	if (argc == 5 && strcmp(argv[1], "--count") == 0) {
		/* bench-bodies --count N KIND ours|libxml2|memcpy: N bodies and
		 * nothing else, for instruction counts under callgrind (run it
		 * again with N = 0 and subtract: the rest is start-up) */
		long n = atol(argv[2]);
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			if (strcmp(argv[3], kinds[i].name) == 0)
				return count_bodies(ctx, &kinds[i], &in, argv[4], n);
		}
		fprintf(stderr, "unknown kind %s\n", argv[3]);
		return 2;
	}
	if (secs <= 0)
		secs = 0.1;

	printf("libsippresence %s, libxml2 %s; %d rounds, each %.2f s of ours, libxml2 and memcpy in turn;\n"
	       "medians, the ratio's spread over the rounds in brackets\n",
	       sippres_version_string(), xmlParserVersion, ROUNDS, secs);
	printf("%-12s %6s %6s %9s %9s %9s %22s %9s\n", "body", "ours B", "lx2 B", "ours ns", "libxml2 ns", "memcpy ns",
	       "ratio to libxml2", "x memcpy");
	if (csv)
		fprintf(csv, "body,bytes,libxml2_bytes,ours_ns,libxml2_ns,memcpy_ns,ratio_median,ratio_min,ratio_max,"
		             "ours_per_memcpy\n");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const struct kind *k = &kinds[i];
		struct sippres_body b = {.size = sizeof(b)};
		int lxlen;
		xmlChar *lx = k->lx(&in, &lxlen);
		char *c1, *c2;
		double ours[ROUNDS], base[ROUNDS], mc[ROUNDS], ratio[ROUNDS];

		if (sippres_body_render(ctx, k->content_type, &in, &b) != 0)
			return 1;
		c1 = canon(b.data, (int)b.len);
		c2 = canon((const char *)lx, lxlen);
		blank_atomid(c1);
		blank_atomid(c2);
		if (!c1 || !c2 || strcmp(c1, c2) != 0) {
			fprintf(stderr, "%s: the two documents differ\nours:    %s\nlibxml2: %s\n", k->name,
			        c1 ? c1 : "(unparsable)", c2 ? c2 : "(unparsable)");
			bad = 1;
		}
		for (int r = 0; r < ROUNDS; r++) {
			ours[r] = 1e9 / measure_ours(ctx, k, &in, secs);
			base[r] = 1e9 / measure_libxml2(k, &in, secs);
			mc[r] = 1e9 / measure_memcpy(b.data, b.len, secs);
			ratio[r] = base[r] / ours[r];
		}
		{
			double o = median(ours, ROUNDS), l = median(base, ROUNDS), m = median(mc, ROUNDS);
			double rm = median(ratio, ROUNDS), rlo = ratio[0], rhi = ratio[ROUNDS - 1];
			char spread[64];

			snprintf(spread, sizeof(spread), "%.1fx [%.1f-%.1f]", rm, rlo, rhi);
			printf("%-12s %6zu %6d %9.1f %9.1f %9.1f %22s %8.1fx\n", k->name, b.len, lxlen, o, l, m, spread, o / m);
			if (csv)
				fprintf(csv, "%s,%zu,%d,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f\n", k->name, b.len, lxlen, o, l, m, rm,
				        rlo, rhi, o / m);
		}
		free(c1);
		free(c2);
		xmlFree(lx);
	}
	{
		double best = 0;
		for (int r = 0; r < 3; r++) {
			double f = measure_fanout(ctx, &in, 10000, secs);
			if (f > best)
				best = f;
		}
		printf("fan-out: dialog-info rendered once per change, version patched per subscription, 10000 "
		       "subscriptions: %.0f bodies/s\n",
		       best);
	}
	sippres_ctx_free(ctx);
	if (csv)
		fclose(csv);
	return bad;
}
