/* SPDX-License-Identifier: MIT */
/* The digest mechanics of the mini UA (RFC 7616, RFC 8760 with RFC 3261
 * 22): nonces, the Authorization check, WWW-Authenticate challenges. Who must
 * authenticate and with what is the library's decision (sippres_auth_check()). */
#ifndef MINI_UA_AUTH_H
#define MINI_UA_AUTH_H

#include <libsippresence/libsippresence.h>

#include "ua.h"

/* Nonces bound to the client's address are remembered once used, at most this many (then the oldest
 * goes, and every nonce issued before it counts as stale). */
#define UA_AUTH_MAX_USED 65536

struct ua_auth;
/* A secret for the nonces from OpenSSL's RAND_bytes. NULL: no entropy or memory (logged). */
struct ua_auth *ua_auth_new(void);
void ua_auth_free(struct ua_auth *a);

/* The outcome for one request: status 0 means go on as endpoint; otherwise answer status with the
 * extra header lines (WWW-Authenticate for 401). */
struct auth_outcome {
	int status;
	char endpoint[SIPPRES_MAX_NAME + 1];
	struct sbuf extra;
	const char *why;      /* for logs */
	char auth[SIPPRES_MAX_NAME + 1]; /* the auth object that verified, "" none */
};
/* Identify and authenticate a request: from_user its From user (NULL none), dialog_endpoint the
 * endpoint of its dialog (NULL: outside a dialog). Returns 0 (o filled; free o->extra with sbuf_free),
 * or -1 (out of memory or a library error, logged: answer 500). */
int ua_auth_request(struct sippres_ctx *ctx, struct ua_auth *a, const struct sip_in *in, const struct ua_addr *src,
                    const char *from_user, const char *dialog_endpoint, struct auth_outcome *o);

/* For tests and the subscriber: the digest of "user:realm:password" etc. in lower-case hex. alg is
 * SIPPRES_AUTH_ALG_MD5 or _SHA256; out has room for 65 bytes. Returns 0 or -1. */
int digest_hex(uint32_t alg, const char *data, size_t len, char *out);

#endif
