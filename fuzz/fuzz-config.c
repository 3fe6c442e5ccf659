/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the library's config loaders: byte 0 picks the loader
 * (odd: pjsip.conf, even: extensions.conf), the rest is the file; every
 * `#include` gets the text after the first 0x01 byte (names starting with
 * 'x' do not exist). Build: see README.md. */
#include <stdint.h>
#include <string.h>

#include <libsippresence/libsippresence.h>
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *g_data;
static size_t g_len;

static int include(void *user_data, const char *name, const char **text, size_t *len)
{
	const uint8_t *p = memchr(g_data, 1, g_len);

	(void)user_data;
	if (name[0] == 'x')
		return SIPPRES_E_NOTFOUND;
	if (!p) {
		*text = "";
		*len = 0;
		return 0;
	}
	*text = (const char *)p + 1;
	*len = g_len - (size_t)(p + 1 - g_data);
	return 0;
}

static void problem(void *user_data, const char *file, const struct sippres_diag *d)
{
	(void)user_data;
	if (!file || !d->message[0])
		__builtin_trap(); /* every problem names its file and says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres_config_io io = {.size = sizeof(io), .include = include, .problem = problem};
	struct sippres_ctx *ctx;

	if (size < 1)
		return 0;
	g_data = data + 1;
	g_len = size - 1;
	if (!(ctx = fuzz_ctx(NULL, NULL)))
		return 0;
	if (data[0] & 1)
		sippres_config_load_pjsip(ctx, "pjsip.conf", (const char *)data + 1, size - 1, &io);
	else
		sippres_config_load_extensions(ctx, "extensions.conf", (const char *)data + 1, size - 1, &io);
	sippres_ctx_free(ctx);
	return 0;
}
