/* SPDX-License-Identifier: MIT */
/* Subscription engine at scale:
 *  1. memory per subscription and creation time at N subscriptions (default 1,000,000);
 *  2. fan-out: one device change with 10,000 subscribers on the hint, NOTIFY
 *     bodies per second delivered to a no-op callback, against a baseline that
 *     renders every subscriber's body on its own (sippres_body_render per
 *     subscriber) in the same run.
 * Usage: bench-subs [subscriptions] [fanout-subscribers] */
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

int main(int argc, char **argv)
{
	long nsubs = argc > 1 ? atol(argv[1]) : 1000000;
	long fan = argc > 2 ? atol(argv[2]) : 10000;
	long nhints = nsubs / 100 > 0 ? nsubs / 100 : 1;
	struct counter c = {0};
	struct sippres_ctx *ctx = make_ctx(&c);
	char exten[32], value[64];
	long long before;
	double t0, t1;

	/* 1. memory and creation time */
	for (long h = 0; h < nhints; h++) {
		snprintf(exten, sizeof(exten), "%ld", 10000 + h);
		snprintf(value, sizeof(value), "PJSIP/u%ld,CustomPresence:u%ld", h, h);
		sippres_hint_set(ctx, "default", exten, value, NULL);
	}
	sippres_ctx_handle_timeout(ctx, 1);
	before = c.live_bytes;
	t0 = now_s();
	for (long i = 0; i < nsubs; i++) {
		snprintf(exten, sizeof(exten), "%ld", 10000 + i % nhints);
		if (subscribe(ctx, exten, i, i % 2 ? "dialog" : "presence", 1000) < 0) {
			fprintf(stderr, "subscribe %ld failed\n", i);
			return 1;
		}
	}
	t1 = now_s();
	printf("subscriptions: %ld on %ld hints\n", nsubs, nhints);
	printf("create: %.2f s (%.0f subscriptions/s)\n", t1 - t0, (double)nsubs / (t1 - t0));
	printf("memory per subscription (library side, malloc chunks): %.0f bytes\n",
	       (double)(c.live_bytes - before) / (double)nsubs);
	t0 = now_s();
	notified = 0;
	sippres_ctx_handle_timeout(ctx, 1000); /* the initial NOTIFYs */
	t1 = now_s();
	printf("initial NOTIFYs: %lld in %.2f s (%.0f/s)\n", notified, t1 - t0, (double)notified / (t1 - t0));
	t0 = now_s();
	sippres_ctx_free(ctx);
	printf("free: %.2f s, leftover bytes %lld\n", now_s() - t0, c.live_bytes);

	/* 2. fan-out */
	for (int pass = 0; pass < 2; pass++) {
		const char *event = pass ? "dialog" : "presence";
		const char *ctype = pass ? "application/dialog-info+xml" : "application/pidf+xml";
		struct counter c2 = {0};
		struct sippres_ctx *fx = make_ctx(&c2);
		struct sippres_body_input in = {.size = sizeof(in), .exten = "1000", .local_uri = "sip:1000@192.0.2.10:5060",
		                                .remote_uri = "sip:100001@192.0.2.20"};
		struct sippres_body body = {.size = sizeof(body)};
		long rounds = 50;
		double engine, naive;

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
		/* baseline: every subscriber's body rendered on its own */
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
		printf("fan-out %s, %ld subscribers: %.0f NOTIFY bodies/s; baseline (render per subscriber) %.0f/s; ratio %.1fx\n",
		       ctype, fan, engine, naive, engine / naive);
		sippres_ctx_free(fx);
	}
	return body_bytes == 0;
}
