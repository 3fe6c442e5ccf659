/* SPDX-License-Identifier: MIT */
/* Subscription engine at scale:
 *  1. memory per subscription and creation time at N subscriptions (default 1,000,000);
 *  2. fan-out: one device change with 10,000 subscribers on the hint, NOTIFY
 *     bodies per second delivered to a no-op callback, against a baseline that
 *     renders every subscriber's body on its own (sippres_body_render per
 *     subscriber) in the same run.
 * Usage: bench-subs [--sizes N,N,...] [--fanout N,N,...] [--csv-create FILE] [--csv-fanout FILE]
 *        bench-subs SUBSCRIPTIONS FANOUT-SUBSCRIBERS */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libsippresence/libsippresence.h>

/* Times are the process's CPU time, not wall time: on a shared machine a
 * benchmark that waits for a core would otherwise count the wait
 * (BENCH_WALL=1 at build time gives wall time). */
#ifdef BENCH_WALL
#define BENCH_CLOCK CLOCK_MONOTONIC
#else
#define BENCH_CLOCK CLOCK_PROCESS_CPUTIME_ID
#endif

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(BENCH_CLOCK, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counting allocator: bytes requested plus glibc's per-chunk overhead
 * (8 bytes of header, 16-byte granularity, 32-byte minimum). */
struct counter {
	long long live_bytes;
	long long chunks;
};

static size_t chunk_size(size_t n)
{
	size_t c = (n + 8 + 15) & ~(size_t)15;
	return c < 32 ? 32 : c;
}

struct hdr {
	size_t n;
	size_t pad;
};

static void *c_malloc(void *ud, size_t n)
{
	struct counter *c = ud;
	struct hdr *h = malloc(sizeof(*h) + n);
	if (!h)
		return NULL;
	h->n = n;
	c->live_bytes += (long long)chunk_size(n);
	c->chunks++;
	return h + 1;
}

static void c_free(void *ud, void *p)
{
	struct counter *c = ud;
	struct hdr *h;
	if (!p)
		return;
	h = (struct hdr *)p - 1;
	c->live_bytes -= (long long)chunk_size(h->n);
	c->chunks--;
	free(h);
}

static void *c_realloc(void *ud, void *p, size_t n)
{
	struct counter *c = ud;
	struct hdr *h, *nh;
	if (!p)
		return c_malloc(ud, n);
	h = (struct hdr *)p - 1;
	nh = realloc(h, sizeof(*nh) + n);
	if (!nh)
		return NULL;
	c->live_bytes += (long long)chunk_size(n) - (long long)chunk_size(nh->n);
	nh->n = n;
	return nh + 1;
}

static long long notified;
static size_t body_bytes;
static int noop_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)ud;
	(void)sub;
	notified++;
	body_bytes += n->body_len;
	return 0;
}

static struct sippres_ctx *make_ctx(struct counter *c)
{
	static struct sippres_allocator a;
	struct sippres_config cfg = {.size = sizeof(cfg)};
	struct sippres_callbacks cb0 = {.size = sizeof(cb0), .notify = noop_notify};
	struct sippres_endpoint ep0 = {.size = sizeof(ep0), .context = "default"};
	struct sippres_ctx *ctx0;

	if (!c) { /* the default allocator */
		if (sippres_ctx_new(NULL, &cb0, NULL, &ctx0) < 0)
			exit(1);
		sippres_endpoint_set(ctx0, "phone", &ep0);
		return ctx0;
	}
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = noop_notify};
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default"};
	struct sippres_ctx *ctx;

	a = (struct sippres_allocator){.size = sizeof(a), .user_data = c, .malloc = c_malloc, .realloc = c_realloc,
	                               .free = c_free};
	cfg.allocator = &a;
	if (sippres_ctx_new(&cfg, &cb, NULL, &ctx) < 0)
		exit(1);
	sippres_endpoint_set(ctx, "phone", &ep);
	return ctx;
}

static void hex8(char *o, unsigned long v)
{
	static const char hex[] = "0123456789abcdef";

	for (int k = 7; k >= 0; k--) {
		o[k] = hex[v & 15];
		v >>= 4;
	}
}

/* s copied to o with its NUL; returns the end (at the NUL) */
static char *put_str(char *o, const char *s)
{
	size_t n = strlen(s);

	memcpy(o, s, n + 1);
	return o + n;
}

static char *put_dec(char *o, long v)
{
	char tmp[24];
	int k = 0;

	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		*o++ = tmp[--k];
	*o = '\0';
	return o;
}

static int subscribe(struct sippres_ctx *ctx, const char *exten, long i, const char *event, uint64_t now)
{
	char cid[64], tag[32], from[64], contact[64];
	struct sippres_subscribe_req r = {.size = sizeof(r), .endpoint = "phone", .ruri_scheme = "sip",
	                                  .ruri_user = exten, .ruri_host = "192.0.2.10", .ruri_port = 5060,
	                                  .event = event, .expires = 3600, .user_agent = "Yealink SIP-T46S 66.86.0.15"};
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *s;

	/* formatted by hand: snprintf would be a good part of what is timed */
	hex8(cid, (unsigned long)i);
	memcpy(cid + 8, "-4f2a-11ef-9c1d-0242ac120002", 29);
	memcpy(tag, "as", 2);
	hex8(tag + 2, (unsigned long)i);
	tag[10] = '\0';
	put_str(put_dec(put_str(from, "sip:"), 100000 + i % 50000), "@192.0.2.20");
	put_str(put_dec(put_str(put_dec(put_str(contact, "sip:"), 100000 + i % 50000), "@192.0.2."), 20 + i % 200),
	        ":5060");
	r.call_id = cid;
	r.from_tag = tag;
	r.from_uri = from;
	r.contact = contact;
	if (sippres_subscribe(ctx, &r, now, &res, &s) < 0 || res.status != 200)
		return -1;
	return 0;
}

/* Hints 10000.. with one device and one presence provider each */
static char (*make_hints(struct sippres_ctx *ctx, long nhints))[16]
{
	char (*names)[16] = malloc((size_t)nhints * 16), value[64];

	if (nhints > 100000000)
		exit(1);

	for (long h = 0; h < nhints; h++) {
		snprintf(names[h], 16, "%ld", (10000 + h) % 1000000000);
		snprintf(value, sizeof(value), "PJSIP/u%ld,CustomPresence:u%ld", h, h);
		sippres_hint_set(ctx, "default", names[h], value, NULL);
	}
	sippres_ctx_handle_timeout(ctx, 1);
	return names;
}

/* nsubs subscriptions on nsubs / 100 hints, half presence, half dialog.
 * Time first, in a fresh heap as a server that starts or restores its
 * subscriptions has (with the default allocator: the counting one adds a
 * header to every block), then memory in a second context with the
 * counting allocator. */
static int create_run(long nsubs, FILE *csv)
{
	long nhints = nsubs / 100 > 0 ? nsubs / 100 : 1;
	struct counter c = {0};
	struct sippres_ctx *ctx = make_ctx(NULL);
	char (*names)[16] = make_hints(ctx, nhints);
	long long before;
	double t0, t1, create_s, per_sub, init_s, free_s;

	t0 = now_s();
	for (long i = 0; i < nsubs; i++) {
		if (subscribe(ctx, names[i % nhints], i, i % 2 ? "dialog" : "presence", 1000) < 0) {
			fprintf(stderr, "subscribe %ld failed\n", i);
			return 1;
		}
	}
	t1 = now_s();
	create_s = t1 - t0;
	notified = 0;
	t0 = now_s();
	sippres_ctx_handle_timeout(ctx, 1000); /* the initial NOTIFYs */
	init_s = now_s() - t0;
	t0 = now_s();
	sippres_ctx_free(ctx);
	free_s = now_s() - t0;
	free(names);

	ctx = make_ctx(&c);
	names = make_hints(ctx, nhints);
	before = c.live_bytes;
	for (long i = 0; i < nsubs; i++) {
		if (subscribe(ctx, names[i % nhints], i, i % 2 ? "dialog" : "presence", 1000) < 0)
			return 1;
	}
	per_sub = (double)(c.live_bytes - before) / (double)nsubs;
	sippres_ctx_free(ctx);
	free(names);
	if (c.live_bytes != 0) {
		fprintf(stderr, "leftover bytes %lld\n", c.live_bytes);
		return 1;
	}
	printf("%10ld %10ld %9.3f %12.0f %9.0f %12.0f %8.3f\n", nsubs, nhints, create_s, (double)nsubs / create_s, per_sub,
	       (double)notified / init_s, free_s);
	if (csv)
		fprintf(csv, "%ld,%ld,%.4f,%.0f,%.1f,%.0f,%.4f\n", nsubs, nhints, create_s, (double)nsubs / create_s, per_sub,
		        (double)notified / init_s, free_s);
	return 0;
}

/* One device change with fan subscribers on the hint, NOTIFY bodies per
 * second to a no-op callback; baseline: every subscriber's body rendered on
 * its own with sippres_body_render(). */
static void fanout_run(long fan, FILE *csv)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *event = pass ? "dialog" : "presence";
		const char *ctype = pass ? "application/dialog-info+xml" : "application/pidf+xml";
		struct sippres_ctx *fx = make_ctx(NULL);
		struct sippres_body_input in = {.size = sizeof(in), .exten = "1000", .local_uri = "sip:1000@192.0.2.10:5060",
		                                .remote_uri = "sip:100001@192.0.2.20"};
		struct sippres_body body = {.size = sizeof(body)};
		long rounds = 500000 / fan > 2 ? 500000 / fan : 2;
		double t0, t1, engine, naive;

		sippres_hint_set(fx, "default", "1000", "PJSIP/alice,CustomPresence:alice", NULL);
		for (long i = 0; i < fan; i++)
			subscribe(fx, "1000", i, event, 1000);
		sippres_ctx_handle_timeout(fx, 1000);
		notified = 0;
		t0 = now_s();
		for (long k = 0; k < rounds; k++)
			sippres_device_state_set(fx, "PJSIP/alice", k % 2 ? SIPPRES_DEVICE_NOT_INUSE : SIPPRES_DEVICE_INUSE);
		t1 = now_s();
		engine = (double)notified / (t1 - t0);
		t0 = now_s();
		for (long k = 0; k < rounds; k++) {
			for (long i = 0; i < fan; i++) {
				in.exten_state = k % 2 ? SIPPRES_EXTEN_NOT_INUSE : SIPPRES_EXTEN_INUSE;
				in.version = (uint32_t)(k + 1);
				sippres_body_render(fx, ctype, &in, &body);
				body_bytes += body.len;
			}
		}
		t1 = now_s();
		naive = (double)(rounds * fan) / (t1 - t0);
		printf("%-28s %8ld %14.0f %9.1f %14.0f %7.1fx\n", ctype, fan, engine, 1e9 / engine, naive, engine / naive);
		if (csv)
			fprintf(csv, "%s,%ld,%.0f,%.2f,%.0f,%.2f\n", event, fan, engine, 1e9 / engine, naive, engine / naive);
		sippres_ctx_free(fx);
	}
}

static int parse_list(const char *s, long *out, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *e;
		out[n++] = strtol(s, &e, 10);
		s = *e == ',' ? e + 1 : e;
		if (e == s && *s)
			break;
	}
	return n;
}

int main(int argc, char **argv)
{
	long sizes[16] = {1000000}, fans[16] = {10000};
	int nsizes = 1, nfans = 1;
	FILE *ccsv = NULL, *fcsv = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--sizes") == 0)
			nsizes = parse_list(argv[i + 1], sizes, 16);
		else if (strcmp(argv[i], "--fanout") == 0)
			nfans = parse_list(argv[i + 1], fans, 16);
		else if (strcmp(argv[i], "--csv-create") == 0)
			ccsv = fopen(argv[i + 1], "w");
		else if (strcmp(argv[i], "--csv-fanout") == 0)
			fcsv = fopen(argv[i + 1], "w");
	}
	if (argc == 3 && argv[1][0] != '-') { /* the old form: bench-subs SUBSCRIPTIONS FANOUT */
		sizes[0] = atol(argv[1]);
		fans[0] = atol(argv[2]);
	}
	printf("subscriptions (sippres_subscribe, realistic strings, half presence/PIDF, half dialog), 1 per 100 on a hint;\n"
	       "memory: library-side malloc chunks per subscription; times: CPU time\n");
	printf("%10s %10s %9s %12s %9s %12s %8s\n", "subs", "hints", "create s", "subs/s", "B/sub", "init NOTIFY/s",
	       "free s");
	if (ccsv)
		fprintf(ccsv, "subscriptions,hints,create_s,subs_per_s,bytes_per_sub,initial_notifies_per_s,free_s\n");
	for (int k = 0; k < nsizes; k++) {
		if (create_run(sizes[k], ccsv) != 0)
			return 1;
	}
	printf("\nfan-out: one device change, N subscribers on the hint, NOTIFYs to a no-op callback;\n"
	       "baseline: every subscriber's body rendered on its own (sippres_body_render)\n");
	printf("%-28s %8s %14s %9s %14s %8s\n", "type", "N", "NOTIFY/s", "ns each", "baseline/s", "ratio");
	if (fcsv)
		fprintf(fcsv, "event,subscribers,notifies_per_s,ns_per_notify,baseline_per_s,ratio\n");
	for (int k = 0; k < nfans; k++)
		fanout_run(fans[k], fcsv);
	if (ccsv)
		fclose(ccsv);
	if (fcsv)
		fclose(fcsv);
	return body_bytes == 0;
}
