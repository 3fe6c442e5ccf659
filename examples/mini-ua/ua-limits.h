/* SPDX-License-Identifier: MIT */
/* limits.c: per-source accounting, transport-neutral (docs/security.md, "Limits"). A transport calls
 * limits_request() for every request it takes from a peer, and the notifier the rest. */
#ifndef MINI_UA_LIMITS_H
#define MINI_UA_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "ua.h"

/* Defaults of the options (0 turns a limit off). */
#define LIMITS_MAX_SUBS 50000
#define LIMITS_MAX_SUBS_PER_ENDPOINT 1000
#define LIMITS_MAX_SUBS_PER_SOURCE 1000
#define LIMITS_RATE_PER_SOURCE 500          /* requests a second from one IP address, bursts of twice that */
/* An address that answered one of our requests is proven for this long (then asked again). */
#define LIMITS_PROVEN_MS (3600u * 1000u)
/* Requests in flight to one address that has not answered yet (more wait for its first answer). */
#define LIMITS_UNPROVEN_WINDOW 2

struct limits_conf {
	unsigned long max_subs, max_subs_per_endpoint, max_subs_per_source, rate_per_source;
	unsigned long max_peers;            /* 0: max_subs + 16384 */
};

struct peer;
struct ep_count;
struct limits {
	struct limits_conf conf;
	struct peer **buckets, *lru_head, *lru_tail;
	size_t nbuckets, npeers;
	struct ep_count **eps;
	unsigned long subs;
	/* counters for the log */
	unsigned long rate_dropped, evicted, full;
};

enum { LIMITS_TOTAL = 1, LIMITS_ENDPOINT, LIMITS_SOURCE };

void limits_conf_defaults(struct limits_conf *c);
int limits_init(struct limits *l, const struct limits_conf *c);
void limits_fini(struct limits *l);
/* A request from src (any transport): false when src is over its rate, and the request is to be dropped
 * unanswered (an answer is what a reflection attack wants). */
bool limits_request(struct limits *l, const struct ua_addr *src, uint64_t now);
/* May src make one more subscription for endpoint? 0, or which limit is reached (LIMITS_*). src NULL: a
 * subscription without a known source (restored from the state directory). */
int limits_sub_check(struct limits *l, const struct ua_addr *src, const char *endpoint, uint64_t now);
int limits_sub_add(struct limits *l, const struct ua_addr *src, const char *endpoint, uint64_t now);
void limits_sub_remove(struct limits *l, const struct ua_addr *src, const char *endpoint);
/* dst answered one of our requests (its branch was ours): it receives what we send. */
void limits_prove(struct limits *l, const struct ua_addr *dst, uint64_t now);
bool limits_proven(struct limits *l, const struct ua_addr *dst, uint64_t now);
/* A request to an address that has not proven itself: true when it may go now (one more in flight,
 * limits_unproven_done() when it ends), false when LIMITS_UNPROVEN_WINDOW are already in flight. */
bool limits_unproven_send(struct limits *l, const struct ua_addr *dst, uint64_t now);
void limits_unproven_done(struct limits *l, const struct ua_addr *dst);

#endif
