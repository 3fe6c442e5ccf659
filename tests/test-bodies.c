/* SPDX-License-Identifier: MIT */
/* Body generators: golden files (byte-exact), the generator/supplement
 * registry API, input checks, version patching, the random source and
 * allocation failures.
 *
 * SIPPRES_GOLDEN_UPDATE=1 rewrites the golden files that differ or are
 * missing (review every rewritten file against what Asterisk sends before
 * committing it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

#include "failalloc.h"

#include "test-bodies-common.h"

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must be defined"
#endif

static struct sippres_ctx *new_ctx(void)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .random = tb_random};
	struct sippres_ctx *ctx = NULL;

	assert_int_equal(sippres_ctx_new(NULL, &cb, NULL, &ctx), 0);
	return ctx;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		*len = (size_t)n;
	}
	return buf;
}

static int render_case(struct sippres_ctx *ctx, struct tb_case *c, struct sippres_body *out)
{
	tb_set_rnd_hex(c->rnd_hex ? c->rnd_hex : TB_DEFAULT_RND);
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	return sippres_body_render(ctx, c->content_type, &c->in, out);
}

static void test_golden(void **state)
{
	struct sippres_ctx *ctx = new_ctx();
	const char *update = getenv("SIPPRES_GOLDEN_UPDATE");
	struct tb_case c;
	int failures = 0, n = 0;

	(void)state;
	for (size_t i = 0; tb_case_get(i, &c); i++) {
		struct sippres_body b;
		char path[512];
		size_t len = 0;
		char *want;
		int r = render_case(ctx, &c, &b);

		n++;
		if (r != 0) {
			print_error("%s: render failed: %s\n", c.name, sippres_strerror(r));
			failures++;
			continue;
		}
		assert_int_equal(strlen(b.data), b.len);
		assert_string_equal(b.content_type, c.content_type);
		snprintf(path, sizeof(path), "%s/%s.xml", GOLDEN_DIR, c.name);
		want = read_file(path, &len);
		if (!want || len != b.len || memcmp(want, b.data, len) != 0) {
			if (update && *update == '1') {
				FILE *f = fopen(path, "wb");
				assert_non_null(f);
				assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
				fclose(f);
				print_message("# rewrote %s\n", path);
			} else {
				print_error("%s: differs from %s%s\n--- got:\n%s\n", c.name, path,
				            want ? "" : " (missing)", b.data);
				failures++;
			}
		}
		free(want);
	}
	print_message("# %d golden bodies compared\n", n);
	assert_true(n >= 2 * 7 * 4);
	assert_int_equal(failures, 0);
	sippres_ctx_free(ctx);
}

static int noop_supplement(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in, uint32_t hook)
{
	(void)ud;
	(void)xml;
	(void)in;
	(void)hook;
	return 0;
}

/* The built-in PIDF generator writes the common case (standard profile, the
 * built-in supplements only, no Digium tuple) in one span, and every other
 * case through the supplement hooks: a host supplement that writes nothing
 * forces the hooks, and every golden case comes out the same both ways. */
static void test_direct_equals_hooks(void **state)
{
	struct sippres_ctx *direct = new_ctx(), *hooks = new_ctx();
	struct tb_case c;
	int n = 0;

	(void)state;
	assert_int_equal(sippres_body_supplement_register(hooks, SIPPRES_CONTENT_TYPE_PIDF, "noop", noop_supplement, NULL),
	                 0);
	for (size_t i = 0; tb_case_get(i, &c); i++) {
		struct sippres_body a, b;
		char *copy;

		if (strcmp(c.content_type, SIPPRES_CONTENT_TYPE_PIDF) != 0)
			continue;
		assert_int_equal(render_case(direct, &c, &a), 0);
		copy = malloc(a.len);
		assert_non_null(copy);
		memcpy(copy, a.data, a.len);
		assert_int_equal(render_case(hooks, &c, &b), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(copy, b.data, b.len);
		free(copy);
		n++;
	}
	assert_true(n >= 10);
	sippres_ctx_free(direct);
	sippres_ctx_free(hooks);
}

/* Every asterisk-profile reference golden must be identical to what the
 * reference documents; the matrix bodies of the two content types that share
 * the XPIDF generator must be identical too. */
static void test_cpim_equals_xpidf(void **state)
{
	struct sippres_ctx *ctx = new_ctx();

	(void)state;
	for (uint32_t p = 0; p < 2; p++) {
		for (size_t s = 0; s < TB_N_STATES; s++) {
			struct tb_case a, b;
			struct sippres_body ba, bb;
			char *copy;

			tb_base(&a, p, SIPPRES_CONTENT_TYPE_XPIDF, tb_states[s].exten, tb_states[s].device);
			tb_base(&b, p, SIPPRES_CONTENT_TYPE_CPIM_PIDF, tb_states[s].exten, tb_states[s].device);
			a.rnd_hex = b.rnd_hex = NULL;
			assert_int_equal(render_case(ctx, &a, &ba), 0);
			copy = strdup(ba.data);
			assert_int_equal(render_case(ctx, &b, &bb), 0);
			assert_string_equal(copy, bb.data);
			assert_string_equal(bb.content_type, "application/cpim-pidf+xml");
			free(copy);
		}
	}
	sippres_ctx_free(ctx);
}

static struct sippres_body_input base_input(uint32_t profile)
{
	struct sippres_body_input in;

	memset(&in, 0, sizeof(in));
	in.size = sizeof(in);
	in.profile = profile;
	in.exten = "1000";
	in.local_uri = "sip:1000@192.0.2.10:5060";
	in.remote_uri = "sip:carol@192.0.2.20";
	in.exten_state = SIPPRES_EXTEN_INUSE;
	return in;
}

static void test_input_checks(void **state)
{
	struct sippres_ctx *ctx = new_ctx();
	struct sippres_body out = {.size = sizeof(out)}, before;
	struct sippres_body_input in = base_input(SIPPRES_PROFILE_STANDARD);
	struct sippres_call small = {.size = 8, .call_id = "x"};
	struct sippres_device_info dev = {.name = "PJSIP/a", .state = 2, .causing_call = &small};
	struct {
		struct sippres_body_input in;
		uint64_t extra;
	} big;

	(void)state;
	assert_int_equal(sippres_body_render(NULL, "application/pidf+xml", &in, &out), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_render(ctx, NULL, &in, &out), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", NULL, &out), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml;charset=utf-8", &in, &out), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_render(ctx, "", &in, &out), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_render(ctx, "text/plain", &in, &out), SIPPRES_E_NOTFOUND);
	/* content types compare case-insensitively */
	assert_int_equal(sippres_body_render(ctx, "Application/PIDF+XML", &in, &out), 0);
	assert_string_equal(out.content_type, "application/pidf+xml");

	before = out;
	out.size = 8;
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, &out), SIPPRES_E_ABI);
	out = before;

#define BAD(field, value, err)                                                                     \
	do {                                                                                       \
		struct sippres_body_input t_ = base_input(SIPPRES_PROFILE_STANDARD);               \
		struct sippres_body o_ = {.size = sizeof(o_)};                                     \
		t_.field = value;                                                                  \
		assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &t_, &o_), err); \
		assert_null(o_.data);                                                              \
	} while (0)
	BAD(size, 8, SIPPRES_E_ABI);
	BAD(profile, 2, SIPPRES_E_INVAL);
	BAD(flags, 0x8, SIPPRES_E_INVAL);
	BAD(exten, NULL, SIPPRES_E_INVAL);
	BAD(exten, "", SIPPRES_E_INVAL);
	BAD(local_uri, NULL, SIPPRES_E_INVAL);
	BAD(local_uri, "", SIPPRES_E_INVAL);
	BAD(presence_state, SIPPRES_PRESENCE_INVALID, SIPPRES_E_INVAL);
	BAD(presence_state, 99, SIPPRES_E_INVAL);
	BAD(n_devices, 1, SIPPRES_E_INVAL); /* devices NULL */
	BAD(causing_call, &small, SIPPRES_E_ABI);
#undef BAD
	in.devices = &dev;
	in.n_devices = 1;
	assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &out), SIPPRES_E_ABI);

	/* a bigger struct from a newer host: accepted when the tail is zero */
	memset(&big, 0, sizeof(big));
	big.in = base_input(SIPPRES_PROFILE_STANDARD);
	big.in.size = sizeof(big);
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &big.in, &out), 0);
	big.extra = 1;
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &big.in, &out), SIPPRES_E_ABI);

	/* unknown extension states render like Asterisk's default (Ready / terminated) */
	in = base_input(SIPPRES_PROFILE_ASTERISK);
	in.exten_state = SIPPRES_EXTEN_REMOVED;
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, &out), 0);
	assert_non_null(strstr(out.data, "<note>Ready</note>"));
	in.exten_state = 12345;
	assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &out), 0);
	assert_non_null(strstr(out.data, "<state>terminated</state>"));
	in.profile = SIPPRES_PROFILE_STANDARD;
	in.exten_state = SIPPRES_EXTEN_DEACTIVATED;
	assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &out), 0);
	assert_null(strstr(out.data, "<dialog "));

	assert_int_equal(sippres_body_supported(ctx, "application/xpidf+xml"), 1);
	assert_int_equal(sippres_body_supported(ctx, "application/rlmi+xml"), 0);
	assert_int_equal(sippres_body_supported(ctx, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_supported(NULL, "application/xpidf+xml"), SIPPRES_E_INVAL);
	sippres_ctx_free(ctx);
}

static void test_version_patch(void **state)
{
	struct sippres_ctx *ctx = new_ctx();
	struct sippres_body out = {.size = sizeof(out)};
	struct sippres_body_input in = base_input(SIPPRES_PROFILE_ASTERISK);
	static const uint32_t versions[] = {0, 7, 9, 10, 99, 12345, 4294967295u};
	char buf[4096], want[4096];
	size_t len;

	(void)state;
	in.version = 42;
	assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &out), 0);
	assert_int_equal(out.version_len, 2);
	assert_memory_equal(out.data + out.version_offset, "42", 2);
	assert_memory_equal(out.data + out.version_offset - 9, "version=\"", 9);
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		char *copy = strdup(out.data);
		struct sippres_body saved = out, fresh = {.size = sizeof(fresh)};

		saved.data = copy;
		assert_int_equal(sippres_body_patch_version(&saved, versions[i], buf, sizeof(buf), &len), 0);
		in.version = versions[i];
		assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &fresh), 0);
		memcpy(want, fresh.data, fresh.len);
		assert_int_equal(len, fresh.len);
		assert_memory_equal(buf, want, len);
		/* the documented bound: len + 10 always suffices, and too small fails */
		assert_int_equal(sippres_body_patch_version(&saved, versions[i], buf, len - 1, &len), SIPPRES_E_TOOBIG);
		free(copy);
		in.version = 42;
		assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &out), 0);
	}
	/* the standard profile too */
	in.profile = SIPPRES_PROFILE_STANDARD;
	in.version = 0;
	assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &out), 0);
	assert_int_equal(out.version_len, 1);
	assert_int_equal(out.data[out.version_offset], '0');
	/* bodies without a version */
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, &out), 0);
	assert_int_equal(out.version_len, 0);
	assert_int_equal(sippres_body_patch_version(&out, 1, buf, sizeof(buf), &len), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_patch_version(NULL, 1, buf, sizeof(buf), &len), SIPPRES_E_INVAL);
	sippres_ctx_free(ctx);
}

static void test_user_agent_match(void **state)
{
	static const struct {
		const char *ua;
		int digium;
	} cases[] = {
		{NULL, 0}, {"", 0}, {"Yealink", 0}, {"digium", 1}, {"DIGIUM D65", 1}, {"xx-DiGiUm", 1},
		{"Sangoma P330", 1}, {"sangom", 0}, {"digiu m", 0}, {"Asterisk SaNgOmA", 1},
		{"g", 0}, {"gg digium", 1}, {"Grandstream GXP2170 1.0.11", 0}, {"xxxxxxxSANGOMA", 1},
		{"Grandstream GXP2170 1.0.11 (Digium)", 1}, {"igium sangoma", 1}, {"angoma digiu", 0},
	};
	struct sippres_ctx *ctx = new_ctx();
	struct sippres_body out = {.size = sizeof(out)};

	(void)state;
	for (uint32_t p = 0; p < 2; p++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct sippres_body_input in = base_input(p);
			in.user_agent = cases[i].ua;
			assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, &out), 0);
			assert_int_equal(strstr(out.data, "digium-presence") != NULL, cases[i].digium);
		}
	}
	sippres_ctx_free(ctx);
}

static void test_random_source(void **state)
{
	struct sippres_ctx *ctx = new_ctx();
	struct sippres_body out = {.size = sizeof(out)};
	struct sippres_body_input in = base_input(SIPPRES_PROFILE_ASTERISK);
	unsigned before = tb_rnd_calls;

	(void)state;
	tb_set_rnd_hex("00112233445566778899aabbccddeeff");
	assert_int_equal(sippres_body_render(ctx, "application/xpidf+xml", &in, &out), 0);
	assert_non_null(strstr(out.data, "atomid=\"00112233445566778899aabbccddeeff\""));
	assert_true(tb_rnd_calls > before);
	tb_rnd_fail = 1;
	memset(&out, 0, sizeof(out));
	out.size = sizeof(out);
	assert_int_equal(sippres_body_render(ctx, "application/xpidf+xml", &in, &out), SIPPRES_E_RANDOM);
	assert_null(out.data);
	/* bodies without random tokens do not need the source */
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, &out), 0);
	tb_rnd_fail = 0;
	sippres_ctx_free(ctx);
}

/* ---- registry ------------------------------------------------------------- */

struct host_gen {
	int calls;
	int fail;         /* return -1 */
	int incomplete;   /* leave the root open */
	int reenter;      /* call render from inside */
	struct sippres_ctx *ctx;
	int reenter_result;
};

static int my_generate(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in)
{
	struct host_gen *g = ud;

	g->calls++;
	if (g->reenter) {
		struct sippres_body o = {.size = sizeof(o)};
		g->reenter_result = sippres_body_render(g->ctx, "application/pidf+xml", in, &o);
		assert_int_equal(sippres_body_generator_unregister(g->ctx, "application/pidf+xml"), SIPPRES_E_REENTRANT);
		assert_int_equal(sippres_body_supplement_register(g->ctx, "x/y", "n", NULL, NULL), SIPPRES_E_INVAL);
	}
	if (g->fail)
		return -1;
	assert_int_equal(sippres_xml_start(xml, "note"), 0);
	assert_int_equal(sippres_xml_attr(xml, "who", in->exten, (size_t)-1), 0);
	assert_int_equal(sippres_xml_supplements(xml, SIPPRES_BODY_HOOK_ROOT), 0);
	assert_int_equal(sippres_xml_text(xml, "a<b", 3), 0);
	if (!g->incomplete)
		assert_int_equal(sippres_xml_end(xml), 0);
	return 0;
}

static int my_supp(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in, uint32_t hook)
{
	int *hooks = ud;

	(void)in;
	hooks[hook]++;
	if (hook == SIPPRES_BODY_HOOK_ROOT)
		return sippres_xml_attr(xml, "xmlns:x", "urn:x", 5);
	if (hook == SIPPRES_BODY_HOOK_END) {
		sippres_xml_start(xml, "x:ext");
		sippres_xml_attr(xml, "v", "1&2", (size_t)-1);
		return sippres_xml_end(xml);
	}
	return 0;
}

static int failing_supp(void *ud, struct sippres_xml *xml, const struct sippres_body_input *in, uint32_t hook)
{
	(void)ud;
	(void)xml;
	(void)in;
	return hook == SIPPRES_BODY_HOOK_MAIN ? -5 : 0;
}

static void test_registry(void **state)
{
	struct sippres_ctx *ctx = new_ctx();
	struct sippres_body out = {.size = sizeof(out)};
	struct sippres_body_input in = base_input(SIPPRES_PROFILE_ASTERISK);
	struct host_gen g = {.ctx = ctx};
	int hooks[3] = {0, 0, 0};

	(void)state;
	/* disable a built-in generator */
	assert_int_equal(sippres_body_generator_unregister(ctx, "application/xpidf+xml"), 0);
	assert_int_equal(sippres_body_generator_unregister(ctx, "application/xpidf+xml"), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_body_render(ctx, "application/xpidf+xml", &in, &out), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_body_supported(ctx, "application/xpidf+xml"), 0);
	/* cpim-pidf is registered separately and still works */
	assert_int_equal(sippres_body_render(ctx, "application/cpim-pidf+xml", &in, &out), 0);

	/* disable a built-in supplement: no dm:person, no namespaces */
	assert_int_equal(sippres_body_supplement_unregister(ctx, "application/pidf+xml", "rpid"), 0);
	assert_int_equal(sippres_body_supplement_unregister(ctx, "application/pidf+xml", "rpid"), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, &out), 0);
	assert_null(strstr(out.data, "dm:person"));
	assert_null(strstr(out.data, "xmlns:dm"));
	assert_non_null(strstr(out.data, "<basic>open</basic>"));

	/* the host's own generator for a new type, with a host supplement */
	assert_int_equal(sippres_body_generator_register(ctx, "application/x-test+xml", my_generate, &g), 0);
	assert_int_equal(sippres_body_supplement_register(ctx, "application/x-test+xml", "mine", my_supp, hooks), 0);
	assert_int_equal(sippres_body_render(ctx, "application/x-test+xml", &in, &out), 0);
	assert_string_equal(out.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                              "<note who=\"1000\" xmlns:x=\"urn:x\">a&lt;b</note>\n");
	assert_int_equal(hooks[0], 1);
	/* replacing keeps one registration */
	assert_int_equal(sippres_body_generator_register(ctx, "application/X-TEST+xml", my_generate, &g), 1);
	assert_int_equal(sippres_body_supplement_register(ctx, "application/x-test+xml", "mine", my_supp, hooks), 1);

	/* a host supplement on a built-in generator runs after the built-in ones */
	assert_int_equal(sippres_body_supplement_register(ctx, "application/pidf+xml", "mine", my_supp, hooks), 0);
	memset(hooks, 0, sizeof(hooks));
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, &out), 0);
	assert_int_equal(hooks[0], 1);
	assert_int_equal(hooks[1], 1);
	assert_int_equal(hooks[2], 1);
	assert_non_null(strstr(out.data, " xmlns:x=\"urn:x\">\n <note>"));
	assert_non_null(strstr(out.data, " </tuple>\n <x:ext v=\"1&amp;2\" />\n</presence>\n"));

	/* replace a built-in generator */
	assert_int_equal(sippres_body_generator_register(ctx, "application/pidf+xml", my_generate, &g), 1);
	assert_int_equal(sippres_body_render(ctx, "application/pidf+xml", &in, &out), 0);
	assert_non_null(strstr(out.data, "<note who=\"1000\""));

	/* failures of host code */
	g.fail = 1;
	assert_int_equal(sippres_body_render(ctx, "application/x-test+xml", &in, &out), SIPPRES_E_CALLBACK);
	g.fail = 0;
	g.incomplete = 1;
	assert_int_equal(sippres_body_render(ctx, "application/x-test+xml", &in, &out), SIPPRES_E_CALLBACK);
	g.incomplete = 0;
	g.reenter = 1;
	assert_int_equal(sippres_body_render(ctx, "application/x-test+xml", &in, &out), 0);
	assert_int_equal(g.reenter_result, SIPPRES_E_REENTRANT);
	g.reenter = 0;
	assert_int_equal(sippres_body_supplement_register(ctx, "application/dialog-info+xml", "bad", failing_supp, NULL), 0);
	assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &out), SIPPRES_E_CALLBACK);
	assert_int_equal(sippres_body_supplement_unregister(ctx, "application/dialog-info+xml", "bad"), 0);
	assert_int_equal(sippres_body_render(ctx, "application/dialog-info+xml", &in, &out), 0);

	/* argument checks */
	assert_int_equal(sippres_body_generator_register(NULL, "a/b", my_generate, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_generator_register(ctx, "a/b", NULL, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_generator_register(ctx, "a b", my_generate, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_generator_register(ctx, "a/b;q=1", my_generate, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_supplement_register(ctx, "a/b", "", my_supp, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_supplement_register(ctx, "a/b", NULL, my_supp, NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_body_supplement_unregister(ctx, "a/b", "x"), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_body_generator_unregister(NULL, "a/b"), SIPPRES_E_INVAL);
	assert_int_equal(sippres_xml_start(NULL, "x"), SIPPRES_E_INVAL);
	assert_int_equal(sippres_xml_attr(NULL, "x", "", 0), SIPPRES_E_INVAL);
	assert_int_equal(sippres_xml_text(NULL, "x", 1), SIPPRES_E_INVAL);
	assert_int_equal(sippres_xml_end(NULL), SIPPRES_E_INVAL);
	assert_int_equal(sippres_xml_supplements(NULL, 0), SIPPRES_E_INVAL);
	sippres_ctx_free(ctx);
}

/* A registration per context: another context still has every built-in. */
static void test_registry_per_context(void **state)
{
	struct sippres_ctx *a = new_ctx(), *b = new_ctx();

	(void)state;
	assert_int_equal(sippres_body_generator_unregister(a, "application/pidf+xml"), 0);
	assert_int_equal(sippres_body_supported(a, "application/pidf+xml"), 0);
	assert_int_equal(sippres_body_supported(b, "application/pidf+xml"), 1);
	sippres_ctx_free(a);
	sippres_ctx_free(b);
}

/* ---- allocation failures --------------------------------------------------- */


static void test_oom(void **state)
{
	long total = 0;

	(void)state;
	for (long fail_at = 1;; fail_at++) {
		struct failer f = {.fail_at = fail_at};
		struct sippres_allocator alloc = {.size = sizeof(alloc), .user_data = &f, .malloc = failer_malloc,
		                                  .realloc = failer_realloc, .free = failer_free};
		struct sippres_config cfg = {.size = sizeof(cfg), .allocator = &alloc, .log_level = SIPPRES_LOG_INFO};
		struct sippres_callbacks cb = {.size = sizeof(cb), .random = tb_random};
		struct sippres_ctx *ctx = NULL;
		struct tb_case c;
		int r, hooks[3];

		r = sippres_ctx_new(&cfg, &cb, NULL, &ctx);
		if (r == SIPPRES_E_NOMEM) {
			assert_true(f.failed);
			assert_null(ctx);
			assert_int_equal(f.live, 0);
			continue;
		}
		assert_int_equal(r, 0);
		r = sippres_body_supplement_register(ctx, "application/pidf+xml", "mine", my_supp, hooks);
		assert_true(r == 0 || r == SIPPRES_E_NOMEM);
		r = sippres_body_generator_register(ctx, "application/x-test+xml", my_generate, &(struct host_gen){0});
		assert_true(r == 0 || r == SIPPRES_E_NOMEM);
		for (size_t i = 0; tb_case_get(i, &c); i++) {
			struct sippres_body out = {.size = sizeof(out)};
			/* the hostile bodies are the biggest: they make the buffer grow */
			if (!strstr(c.name, "hostile") && i % 7)
				continue;
			r = render_case(ctx, &c, &out);
			if (r == SIPPRES_E_NOMEM) {
				assert_null(out.data);
			} else {
				assert_int_equal(r, 0);
				assert_int_equal(strlen(out.data), out.len);
			}
		}
		sippres_ctx_free(ctx);
		assert_int_equal(f.live, 0);
		if (!f.failed) {
			total = fail_at - 1;
			break;
		}
	}
	print_message("# %ld allocations, each failed once\n", total);
	assert_true(total > 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_cpim_equals_xpidf),
		cmocka_unit_test(test_direct_equals_hooks),
		cmocka_unit_test(test_input_checks),
		cmocka_unit_test(test_version_patch),
		cmocka_unit_test(test_user_agent_match),
		cmocka_unit_test(test_random_source),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_registry_per_context),
		cmocka_unit_test(test_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
