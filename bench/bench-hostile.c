/* SPDX-License-Identifier: MIT */
/* Hostile input at scale (issue 11): what a small text can make the library
 * spend, in time and in bytes allocated through the context's allocator.
 *  1. extensions.conf whose sections inherit templates many times over
 *     (a few KB of text asking for a million inherited lines);
 *  2. duplicate checks: each measured at n and at 10 n in the same run; the
 *     ratio t(10 n) / t(n) is about 10 when the work is linear or n log n, and
 *     about 100 when it is quadratic:
 *       - one hint naming n devices (sippres_hint_set);
 *       - n pattern hints in one context, then one lookup;
 *       - sippres_list_set with n items;
 *       - an RFC 4826 document with n lists (sippres_list_load_xml);
 *       - a pjsip.conf resource_list with n list_item values;
 *       - n subscriptions whose first NOTIFY is queued, ended by the host
 *         (sippres_sub_terminate, last first) before the queue is sent.
 * Usage: bench-hostile [n] (default 10000; the small run is n / 10). */
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

/* Counting allocator: live and peak bytes asked for. */
struct counter {
	long long live, peak;
};

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
	c->live += (long long)n;
	if (c->live > c->peak)
		c->peak = c->live;
	return h + 1;
}

static void c_free(void *ud, void *p)
{
	struct counter *c = ud;
	struct hdr *h;
	if (!p)
		return;
	h = (struct hdr *)p - 1;
	c->live -= (long long)h->n;
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
	c->live += (long long)n - (long long)nh->n;
	if (c->live > c->peak)
		c->peak = c->live;
	nh->n = n;
	return nh + 1;
}

static struct sippres_ctx *ctx_counted(struct counter *c, const struct sippres_callbacks *cb)
{
	static struct sippres_allocator a;
	struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &a};
	struct sippres_ctx *ctx;

	a = (struct sippres_allocator){.size = sizeof(a), .user_data = c, .malloc = c_malloc, .realloc = c_realloc,
	                               .free = c_free};
	if (sippres_ctx_new(&cfg, cb, NULL, &ctx) < 0)
		exit(1);
	return ctx;
}

struct text {
	char *p;
	size_t len, cap;
};

static void add(struct text *t, const char *s)
{
	size_t n = strlen(s);

	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
		if (!t->p)
			exit(1);
	}
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
}

/* A template of 100 hint lines of value_len bytes each; a second template
 * inheriting it 100 times (10,000 lines); 100 contexts inheriting the second
 * one 100 times each: 100 million lines asked for, in a few KB. */
static struct text hostile_extensions(size_t value_len)
{
	struct text t = {0};
	char line[256];
	char *v = malloc(value_len + 1);

	memset(v, 'a', value_len);
	v[value_len] = '\0';
	memcpy(v, "PJSIP/", 6);
	add(&t, "[t](!)\n");
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "exten => %d,hint,", 1000 + i);
		add(&t, line);
		add(&t, v);
		add(&t, "\n");
	}
	add(&t, "[u](!");
	for (int i = 0; i < 100; i++)
		add(&t, ",t");
	add(&t, ")\n");
	for (int c = 0; c < 100; c++) {
		snprintf(line, sizeof(line), "[c%d](u", c);
		add(&t, line);
		for (int i = 1; i < 100; i++)
			add(&t, ",u");
		add(&t, ")\n");
	}
	free(v);
	return t;
}

static void bench_config(size_t value_len)
{
	struct counter c = {0};
	struct sippres_ctx *ctx = ctx_counted(&c, NULL);
	struct text t = hostile_extensions(value_len);
	double t0 = now_s(), dt;
	int r;

	r = sippres_config_load_extensions(ctx, "extensions.conf", t.p, t.len, NULL);
	dt = now_s() - t0;
	printf("hostile extensions.conf, %zu bytes (hint values of %zu bytes): %.3f s, peak %.1f MB allocated, "
	       "result %d (%s)\n",
	       t.len, value_len, dt, (double)c.peak / 1e6, r, r < 0 ? sippres_strerror(r) : "problems");
	sippres_ctx_free(ctx);
	free(t.p);
}

/* ---------------------------------------------------------------- scans */

static double hint_devices(int n)
{
	struct sippres_ctx *ctx;
	struct text t = {0};
	char name[32];
	double t0, dt;
	int rounds = n >= 10000 ? 5 : 50;

	if (sippres_ctx_new(NULL, NULL, NULL, &ctx) < 0)
		exit(1);
	/* "A/xyz" (device names ignore case: base 36): 6 bytes a device with its '&', so 10,000 fit in SIPPRES_MAX_TEXT */
	for (int i = 0; i < n; i++) {
		static const char b36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

		snprintf(name, sizeof(name), "%sA/%c%c%c", i ? "&" : "", b36[i / 1296 % 36], b36[i / 36 % 36], b36[i % 36]);
		add(&t, name);
	}
	t0 = now_s();
	for (int k = 0; k < rounds; k++) {
		if (sippres_hint_set(ctx, "default", k & 1 ? "a" : "b", t.p, NULL) < 0) {
			fprintf(stderr, "hint_set failed (%zu bytes)\n", t.len);
			exit(1);
		}
	}
	dt = (now_s() - t0) / rounds;
	sippres_ctx_free(ctx);
	free(t.p);
	return dt;
}

static double patterns(int n)
{
	struct sippres_ctx *ctx;
	struct sippres_exten_status st = {.size = sizeof(st)};
	char e[32], v[32];
	double t0, dt;

	if (sippres_ctx_new(NULL, NULL, NULL, &ctx) < 0)
		exit(1);
	t0 = now_s();
	for (int i = 0; i < n; i++) {
		snprintf(e, sizeof(e), "_%dX.", i);
		snprintf(v, sizeof(v), "A/p%d", i);
		if (sippres_hint_set(ctx, "default", e, v, NULL) < 0)
			exit(1);
	}
	sippres_exten_status_get(ctx, "default", "91", &st); /* the first lookup sorts them */
	dt = now_s() - t0;
	sippres_ctx_free(ctx);
	return dt;
}

static double list_items(int n)
{
	struct sippres_ctx *ctx;
	const char **items = calloc((size_t)n, sizeof(*items));
	char (*names)[16] = calloc((size_t)n, 16);
	struct sippres_list l = {.size = sizeof(l), .name = "big", .event = "presence", .items = items,
	                         .n_items = (size_t)n};
	double t0, dt;

	if (sippres_ctx_new(NULL, NULL, NULL, &ctx) < 0)
		exit(1);
	for (int i = 0; i < n; i++) {
		snprintf(names[i], 16, "m%d", i);
		items[i] = names[i];
	}
	t0 = now_s();
	if (sippres_list_set(ctx, &l) < 0)
		exit(1);
	dt = now_s() - t0;
	sippres_ctx_free(ctx);
	free(items);
	free(names);
	return dt;
}

static double lists_xml(int n)
{
	struct sippres_ctx *ctx;
	struct text t = {0};
	char line[128];
	double t0, dt;
	int r;

	add(&t, "<?xml version=\"1.0\"?>\n<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\">\n");
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "<list name=\"l%d\"><entry uri=\"sip:m%d@x\"/></list>\n", i, i);
		add(&t, line);
	}
	add(&t, "</resource-lists>\n");
	if (sippres_ctx_new(NULL, NULL, NULL, &ctx) < 0)
		exit(1);
	t0 = now_s();
	r = sippres_list_load_xml(ctx, t.p, t.len, NULL, NULL);
	dt = now_s() - t0;
	if (r != n) {
		fprintf(stderr, "list_load_xml: %d\n", r);
		exit(1);
	}
	sippres_ctx_free(ctx);
	free(t.p);
	return dt;
}

static double pjsip_list(int n)
{
	struct sippres_ctx *ctx;
	struct text t = {0};
	char line[64];
	double t0, dt;

	add(&t, "[big]\ntype=resource_list\nevent=presence\n");
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "list_item=m%d\n", i);
		add(&t, line);
	}
	if (sippres_ctx_new(NULL, NULL, NULL, &ctx) < 0)
		exit(1);
	t0 = now_s();
	if (sippres_config_load_pjsip(ctx, "pjsip.conf", t.p, t.len, NULL) != 0)
		exit(1);
	dt = now_s() - t0;
	sippres_ctx_free(ctx);
	free(t.p);
	return dt;
}

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)ud;
	(void)sub;
	(void)n;
	return 0;
}

static double queue_removal(int n)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = on_notify};
	struct sippres_endpoint ep = {.size = sizeof(ep)};
	struct sippres_ctx *ctx;
	struct sippres_sub **subs = calloc((size_t)n, sizeof(*subs));
	double t0, dt;

	if (sippres_ctx_new(NULL, &cb, NULL, &ctx) < 0)
		exit(1);
	sippres_endpoint_set(ctx, "phone", &ep);
	sippres_hint_set(ctx, "default", "100", "PJSIP/100", NULL);
	for (int i = 0; i < n; i++) {
		char cid[32];
		struct sippres_subscribe_req r = {.size = sizeof(r), .endpoint = "phone", .ruri_scheme = "sip",
		                                  .ruri_user = "100", .ruri_host = "192.0.2.10",
		                                  .from_uri = "sip:200@192.0.2.20", .from_tag = "t", .call_id = cid,
		                                  .contact = "sip:200@192.0.2.20", .event = "presence",
		                                  .expires = 3600};
		struct sippres_subscribe_res res = {.size = sizeof(res)};

		snprintf(cid, sizeof(cid), "c%d", i);
		if (sippres_subscribe(ctx, &r, 1000, &res, &subs[i]) < 0 || res.status != 200)
			exit(1);
	}
	t0 = now_s();
	for (int i = n; i-- > 0;)
		sippres_sub_terminate(ctx, subs[i], 1000);
	dt = now_s() - t0;
	sippres_ctx_handle_timeout(ctx, 1000);
	sippres_ctx_free(ctx);
	free(subs);
	return dt;
}

/* The best of three runs: the first touches of fresh memory are slow here. */
static double best(double (*fn)(int), int n)
{
	double t = fn(n);

	for (int k = 0; k < 2; k++) {
		double u = fn(n);

		t = u < t ? u : t;
	}
	return t;
}

static void scaling(const char *what, double (*fn)(int), int n)
{
	double small = best(fn, n / 10), big = best(fn, n);

	printf("%-58s n=%6d: %9.3f ms, n=%6d: %9.3f ms, ratio %6.1f (linear ~10, quadratic ~100)\n", what, n / 10,
	       small * 1e3, n, big * 1e3, big / small);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;

	if (n < 100)
		n = 100;
	bench_config(150);
	if (argc < 3 || strcmp(argv[2], "quick") != 0)
		bench_config(1800);
	scaling("sippres_hint_set, one hint of n devices", hint_devices, n);
	scaling("sippres_hint_set, n pattern hints in one context", patterns, n);
	scaling("sippres_list_set, n items", list_items, n);
	scaling("sippres_list_load_xml, n lists", lists_xml, n);
	scaling("sippres_config_load_pjsip, resource_list of n list_item", pjsip_list, n);
	scaling("sippres_sub_terminate of n queued subscriptions", queue_removal, n);
	return 0;
}
