/* SPDX-License-Identifier: MIT */
/* The built-in NOTIFY body generators with the round-trip oracle of
 * tests/body-oracle.c: NUL-separated fields fill a body input (extension,
 * presentity and subscriber URIs, domain, User-Agent, presence subtype and
 * message) and the ringing call that causes its state (Call-ID, tags, both
 * parties' URIs and display names); byte 0 picks the profile, the body
 * options, the presence state, the call's privacy flags and whether there
 * is a call. Every built-in type is rendered, parsed by libxml2, and each
 * field must come back as the documented repair makes it; PIDF is rendered
 * twice, by the generator's direct path and through the supplement hooks,
 * which must give the same bytes. An empty extension or presentity must be
 * refused, never rendered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../tests/body-oracle.h"

enum { F_EXTEN, F_LOCAL, F_REMOTE, F_DOMAIN, F_UA, F_SUBTYPE, F_MESSAGE, F_CALL_ID, F_LTAG, F_RTAG, F_CLOCAL,
       F_CLOCAL_DISPLAY, F_CREMOTE, F_CREMOTE_DISPLAY, F_COUNT };

/* Fields past the input are NULL ("not known"); a field that is "-" alone is NULL too. */
static const char *field(const char *const *f, size_t nf, int i)
{
	return (size_t)i < nf && strcmp(f[i], "-") != 0 ? f[i] : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {SIPPRES_CONTENT_TYPE_PIDF, SIPPRES_CONTENT_TYPE_XPIDF,
	                                    SIPPRES_CONTENT_TYPE_CPIM_PIDF, SIPPRES_CONTENT_TYPE_DIALOG_INFO};
	struct sippres_call call = {.size = sizeof(call), .state = SIPPRES_CALL_EARLY,
	                            .direction = SIPPRES_DIRECTION_RECIPIENT};
	struct sippres_device_info dev = {.name = "PJSIP/x", .state = SIPPRES_DEVICE_RINGING};
	struct sippres_body_input in = {.size = sizeof(in), .exten_state = SIPPRES_EXTEN_RINGING, .devices = &dev,
	                                .n_devices = 1};
	const char *f[F_COUNT];
	char *text;
	size_t nf = 0;
	struct sippres_ctx *ctx, *general;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	text = fuzz_split(data + 1, size - 1, f, F_COUNT, &nf);
	if (!text)
		return 0;
	ctx = fuzz_ctx(NULL, NULL);
	general = fuzz_ctx(NULL, NULL);
	if (!ctx || !general ||
	    sippres_body_supplement_register(general, SIPPRES_CONTENT_TYPE_PIDF, "noop", oracle_noop_supplement, NULL) < 0) {
		sippres_ctx_free(ctx);
		sippres_ctx_free(general);
		free(text);
		return 0;
	}
	in.profile = mode & 1;
	in.flags = (mode >> 1) & 7;
	in.presence_state = (uint32_t)((mode >> 4) % 7);
	in.exten = field(f, nf, F_EXTEN) ? field(f, nf, F_EXTEN) : "";
	in.local_uri = field(f, nf, F_LOCAL) ? field(f, nf, F_LOCAL) : "";
	in.remote_uri = field(f, nf, F_REMOTE);
	in.domain = field(f, nf, F_DOMAIN);
	in.user_agent = field(f, nf, F_UA);
	in.presence_subtype = field(f, nf, F_SUBTYPE);
	in.presence_message = field(f, nf, F_MESSAGE);
	in.version = (uint32_t)size * 2654435761u;
	call.call_id = field(f, nf, F_CALL_ID);
	call.local_tag = field(f, nf, F_LTAG);
	call.remote_tag = field(f, nf, F_RTAG);
	call.local_uri = field(f, nf, F_CLOCAL);
	call.local_display = field(f, nf, F_CLOCAL_DISPLAY);
	call.remote_uri = field(f, nf, F_CREMOTE);
	call.remote_display = field(f, nf, F_CREMOTE_DISPLAY);
	call.flags = (mode >> 6) & 3;
	if (call.call_id && call.call_id[0]) {
		dev.causing_call = &call;
		in.causing_call = &call;
	}
	for (size_t t = 0; t < 4; t++) {
		struct sippres_body b = {.size = sizeof(b)};
		int r = sippres_body_render(ctx, types[t], &in, &b);

		if (!in.exten[0] || !in.local_uri[0]) {
			if (r != SIPPRES_E_INVAL)
				oracle_fail("an empty extension or presentity gave %d", r);
			continue;
		}
		if (r == SIPPRES_E_TOOBIG)
			continue;
		if (r < 0)
			oracle_fail("%s: render failed: %s", types[t], sippres_strerror(r));
		if (strlen(b.data) != b.len)
			oracle_fail("%s: the body has a NUL", types[t]);
		if (t == 0) {
			struct sippres_body g = {.size = sizeof(g)};

			if (sippres_body_render(general, types[t], &in, &g) != 0 || g.len != b.len ||
			    memcmp(g.data, b.data, b.len) != 0)
				oracle_fail("the PIDF direct path and the general one differ:\n%s\n%s", b.data, g.data);
		}
		{
			xmlDocPtr doc = oracle_parse(b.data, b.len);

			oracle_check_body(doc, types[t], &in, &b);
			xmlFreeDoc(doc);
		}
	}
	sippres_ctx_free(ctx);
	sippres_ctx_free(general);
	free(text);
	return 0;
}
