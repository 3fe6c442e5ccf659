/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a state directory (--state-dir) as the UA finds it at start. The input is up to 16 files
 * separated by the bytes FF FE; each is a flags byte (bit 0: in DIR/state/; bit 1: a subscription record whose
 * expiry is moved to an hour from now and its CRC-32 made right again, so mutations get past the checksum
 * and the seeds never expire), a name up to a NUL (cut to
 * [A-Za-z0-9._-], 64 bytes; .sub, .pub, .tmp and .bad names mean what they mean to the UA) and the contents.
 * They are written to a fresh directory, then a UA with the example configuration opens it (store_open),
 * restores it (store_load: state files, publications, subscriptions and their NOTIFYs, .bad renames, .tmp
 * removal), runs its timers and closes it (store_close writes what is pending). Seeds in corpus-state/,
 * made from a real UA's directory. Build: README.md. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

#ifndef EXAMPLES_DIR
#define EXAMPLES_DIR "examples"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], sdir[80];
static char *ext_text, *pjsip_text;
static size_t ext_len, pjsip_len;

static void empty(const char *d)
{
	DIR *h = opendir(d);
	struct dirent *e;
	char p[400];

	while (h && (e = readdir(h))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, "state") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		unlink(p);
	}
	if (h)
		closedir(h);
}

static void cleanup(void)
{
	empty(dir);
	empty(sdir);
	rmdir(sdir);
	rmdir(dir);
}

static void setup(void)
{
	char path[4096];

	ua_verbosity = -3; /* errors only */
	sipmsg_init();
	snprintf(dir, sizeof(dir), "/tmp/fuzz-state-XXXXXX");
	if (!mkdtemp(dir))
		exit(1);
	snprintf(sdir, sizeof(sdir), "%s/state", dir);
	if (mkdir(sdir, 0700) < 0)
		exit(1);
	atexit(cleanup); /* the directory goes when the replay (or the fuzzer) ends */
	snprintf(path, sizeof(path), "%s/extensions.conf", EXAMPLES_DIR);
	ext_text = ua_read_file(path, &ext_len);
	snprintf(path, sizeof(path), "%s/pjsip.conf", EXAMPLES_DIR);
	pjsip_text = ua_read_file(path, &pjsip_len);
	if (!ext_text || !pjsip_text)
		exit(1);
}

/* "SPRC" | format | count | flags (2) | u64 expiry at 8 ... | CRC-32 of the rest (docs/subscriptions.md) */
static void fix_record(uint8_t *b, size_t n)
{
	uint64_t exp = ua_now_wall_ms() + 3600u * 1000u;
	uint32_t crc;

	if (n < 28 || memcmp(b, "SPRC", 4) != 0)
		return;
	for (int i = 0; i < 8; i++)
		b[8 + i] = (uint8_t)(exp >> (8 * i));
	crc = store_crc32(b, n - 4);
	for (int i = 0; i < 4; i++)
		b[n - 4 + i] = (uint8_t)(crc >> (8 * i));
}

static void write_file(const uint8_t *p, size_t n)
{
	char name[72], path[256];
	size_t k = 0, i = 1;
	FILE *f;

	if (n < 1)
		return;
	for (; i < n && p[i]; i++) {
		char c = (char)p[i];

		if (k < 64 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		               c == '_' || c == '-'))
			name[k++] = c;
	}
	name[k] = '\0';
	if (!k || name[0] == '.' || strcmp(name, "state") == 0)
		return;
	i = i < n ? i + 1 : n;
	snprintf(path, sizeof(path), "%s/%s", (p[0] & 1) ? sdir : dir, name);
	f = fopen(path, "wb");
	if (!f)
		return;
	if ((p[0] & 2) && n > i) {
		uint8_t *copy = malloc(n - i);

		if (copy) {
			memcpy(copy, p + i, n - i);
			fix_record(copy, n - i);
			fwrite(copy, 1, n - i, f);
			free(copy);
		}
	} else {
		fwrite(p + i, 1, n - i, f);
	}
	fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const endpoints[] = {"alice", "bob", "carol", "lobby", "reception", "anonymous"};
	struct sippres_config_io io = {.size = sizeof(io)};
	const uint8_t *p = data, *end = data + size;
	struct ua ua;
	int files = 0;

	if (!dir[0])
		setup();
	empty(dir);
	empty(sdir);
	while (p < end && files++ < 16) {
		const uint8_t *q = p;

		while (q + 1 < end && !(q[0] == 0xff && q[1] == 0xfe))
			q++;
		if (q + 1 >= end)
			q = end;
		write_file(p, (size_t)(q - p));
		p = q + 2;
	}
	if (ua_init(&ua, 500, true) < 0)
		return 0;
	sippres_config_load_pjsip(ua.ctx, "pjsip.conf", pjsip_text, pjsip_len, &io);
	sippres_config_load_extensions(ua.ctx, "extensions.conf", ext_text, ext_len, &io);
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		strset_add(&ua.endpoints, endpoints[i]);
	addr_parse_listen("127.0.0.1:5070", &ua.local);
	snprintf(ua.local_str, sizeof(ua.local_str), "127.0.0.1:5070");
	if (store_open(&ua, dir, 0) == 0 && store_load(&ua) == 0) {
		ua_adopt_restored(&ua);
		ua_run_timers(&ua);
	}
	ua_fini(&ua); /* store_close: pending writes, then the directory lock goes */
	return 0;
}
