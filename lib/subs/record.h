/* SPDX-License-Identifier: MIT */
/* Persistence records: a compact, versioned, checksummed binary form of a
 * subscription; docs/subscriptions.md describes the layout. */
#ifndef SIPPRES_RECORD_H
#define SIPPRES_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* A subscription's strings are at most 64 KiB together (16-bit offsets), plus
 * the endpoint, resource and content type. */
#define SIPPRES__RECORD_MAX 72000

enum sippres__record_str {
	SR_ENDPOINT, SR_RESOURCE, SR_EVENT, SR_CONTENT_TYPE, SR_CALL_ID, SR_LOCAL_TAG, SR_REMOTE_TAG,
	SR_REMOTE_URI, SR_CONTACT, SR_LOCAL_URI, SR_EVENT_ID, SR_USER_AGENT, SR_BODY_REMOTE, SR_COUNT
};

/* The subscription's own strings follow in enum sippres__sub_str order. */
#define SR_SUB_FIRST SR_CALL_ID

#define SIPPRES__RECORD_LIST 0x1u

struct sippres__record {
	uint16_t flags;
	uint64_t expires_at;
	uint32_t cseq;
	uint32_t version;
	/* NUL-terminated copies inside buf */
	const char *s[SR_COUNT];
	char buf[SIPPRES__RECORD_MAX];
};

struct sippres_sub;
struct sippres_ctx;
/* Encode; returns the length, or 0 when it does not fit. */
size_t sippres__record_encode(uint8_t *buf, size_t cap, uint16_t flags, uint64_t expires_at, uint32_t cseq,
                              uint32_t version, const char *const strs[SR_COUNT]);
size_t sippres__record_write(const struct sippres_ctx *ctx, const struct sippres_sub *s, uint8_t *buf, size_t cap);
/* Decode and validate; SIPPRES_E_PARSE for anything corrupt, truncated or unknown. */
int sippres__record_read(const void *data, size_t len, struct sippres__record *out);

#endif
