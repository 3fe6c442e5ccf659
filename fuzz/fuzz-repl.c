/* SPDX-License-Identifier: MIT */
/* Replication messages from the bus (docs/cluster.md, "Messages"):
 * sippres_repl_apply() must refuse anything corrupt without crashing, and
 * sequences of what it accepts (views of several origins, out of order,
 * sweeps, drops) must keep the state usable. Input: a flags byte (1: drop
 * node-a at the end, 2: resync this node, 4: put the right CRC-32 at the end
 * of each message first, so the fuzzer gets past the checksum), then
 * messages, each u16 little-endian length | bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libsippresence/libsippresence.h>

#include "fuzz.h"

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *n)
{
	(void)ud;
	(void)sub;
	return n->body_len > 0 ? 0 : -1;
}

static void on_replicate(void *ud, const struct sippres_repl_change *c)
{
	(void)ud;
	(void)c;
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .notify = on_notify, .replicate = on_replicate};
	struct sippres_endpoint ep = {.size = sizeof(ep)};
	const char *accept = "application/dialog-info+xml";
	struct sippres_subscribe_req req = {
		.size = sizeof(req), .endpoint = "alice", .ruri_scheme = "sip", .ruri_user = "1000",
		.ruri_host = "192.0.2.1", .from_uri = "sip:alice@192.0.2.9", .from_tag = "t", .call_id = "c",
		.contact = "sip:alice@192.0.2.9", .event = "dialog", .accept = &accept, .n_accept = 1, .expires = 600,
	};
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_ctx *ctx;
	struct sippres_sub *s;
	uint8_t flags;
	size_t off = 1;

	if (size < 1 || !(ctx = fuzz_ctx(&cb, NULL)))
		return 0;
	flags = data[0];
	sippres_endpoint_set(ctx, "alice", &ep);
	sippres_hint_set(ctx, "default", "1000", "PJSIP/alice&PJSIP/bob,CustomPresence:alice", NULL);
	sippres_context_autohints_set(ctx, "auto", 16);
	sippres_repl_start(ctx, "node-z", 0);
	sippres_subscribe(ctx, &req, 1000, &res, &s);
	sippres_ctx_handle_timeout(ctx, 1000);
	sippres_device_state_set(ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE);
	while (off + 2 <= size) {
		size_t n = (size_t)data[off] | ((size_t)data[off + 1] << 8);

		off += 2;
		if (n > size - off)
			n = size - off;
		if ((flags & 4) && n >= 4) {
			uint8_t *m = malloc(n);

			if (m) {
				uint32_t crc;

				memcpy(m, data + off, n);
				crc = crc32(m, n - 4);
				for (int i = 0; i < 4; i++)
					m[n - 4 + i] = (uint8_t)(crc >> (8 * i));
				sippres_repl_apply(ctx, m, n);
				free(m);
			}
		} else {
			sippres_repl_apply(ctx, data + off, n);
		}
		off += n;
	}
	if (flags & 1)
		sippres_repl_origin_drop(ctx, "node-a");
	if (flags & 2)
		sippres_repl_resync(ctx);
	sippres_device_state_set(ctx, "PJSIP/bob", SIPPRES_DEVICE_RINGING);
	sippres_ctx_handle_timeout(ctx, UINT64_MAX);
	sippres_ctx_free(ctx);
	return 0;
}
