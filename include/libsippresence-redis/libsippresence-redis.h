/* SPDX-License-Identifier: MIT */
/**
 * @file libsippresence-redis.h
 * @brief libsippresence-redis: a cluster of libsippresence servers sharing
 * state and subscriptions through Redis.
 *
 * An optional adapter between libsippresence's replication hooks (the
 * replicate callback, sippres_repl_apply(), sippres_sub_adopt(), ...) and a
 * Redis server, through hiredis's asynchronous API. Like the library, it
 * owns no loop and starts no thread: the host polls the descriptors
 * sippres_redis_fds() gives, calls sippres_redis_handle_fd() when one is
 * ready and sippres_redis_handle_timeout() at sippres_redis_next_timeout().
 * Views of devices and presence providers travel over pub/sub and are kept
 * in hashes (a node that starts late or reconnects catches up from them);
 * subscription and publication records are kept in hashes under their
 * owner, who holds a lease; when a lease runs out, a surviving node takes
 * the records over (exactly one, in one Lua script) and adopts them. After a
 * reconnection (with backoff) each node writes everything it owns again, so
 * a Redis that restarted empty loses nothing the nodes still hold.
 * docs/cluster.md has the keys, channels and rules.
 *
 * Threads: as libsippresence; an adapter is used from the thread that uses
 * its context. hiredis resolves a host name with a blocking getaddrinfo():
 * give a numeric address where that matters. hiredis (0.14) aborts the
 * process when its own allocations fail.
 */
#ifndef LIBSIPPRESENCE_REDIS_H
#define LIBSIPPRESENCE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <libsippresence/libsippresence.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @cond hidden */
#if defined(SIPPRES_REDIS_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define SIPPRES_REDIS_EXPORT __attribute__((visibility("default")))
#else
#define SIPPRES_REDIS_EXPORT
#endif
/** @endcond */

/** An adapter: one node's connection to the cluster's Redis. @since 0.2 */
struct sippres_redis;

/** The default key and channel prefix. @since 0.2 */
#define SIPPRES_REDIS_DEFAULT_PREFIX "sippres:"
/** The default lease, in milliseconds. @since 0.2 */
#define SIPPRES_REDIS_DEFAULT_LEASE_MS 3000

/**
 * What an adapter needs. The host sets size; strings are copied.
 * @since 0.2
 */
struct sippres_redis_config {
	size_t size;             /**< sizeof(struct sippres_redis_config), set by the host */
	const char *host;        /**< Redis's address (numeric IPv4 or IPv6, or a name) */
	uint32_t port;           /**< Redis's TCP port, 1 to 65535 */
	const char *node_id;     /**< this node's origin id (sippres_repl_start() rules), unique in the cluster */
	const char *prefix;      /**< key and channel prefix; NULL: SIPPRES_REDIS_DEFAULT_PREFIX */
	uint32_t lease_ms;       /**< how long a silent node keeps its subscribers (0: the default; at least 200) */
	uint32_t retry_max_ms;   /**< the longest wait between reconnection attempts (0: 5000; they start at 100) */
	uint64_t seq_floor;      /**< for sippres_repl_start(); 0: now_ms times 1000 */
	/** Optional log sink (levels as enum sippres_log_level), a line without newline. */
	void (*log)(void *user_data, int level, const char *msg);
	void *user_data;         /**< for log */
};

/**
 * Make an adapter for ctx and start replication (sippres_repl_start() with
 * the node id). The first connection attempt happens at the first
 * sippres_redis_handle_timeout(). now_ms is on the clock the host gives the
 * library (wall-clock milliseconds for a host that keeps records).
 * The host's replicate callback must hand every change to
 * sippres_redis_replicate().
 * @return 0, SIPPRES_E_INVAL, SIPPRES_E_ABI, SIPPRES_E_NOMEM.
 * @since 0.2
 */
SIPPRES_REDIS_EXPORT int sippres_redis_new(struct sippres_ctx *ctx, const struct sippres_redis_config *cfg,
                                           uint64_t now_ms, struct sippres_redis **ret);

/** Close the connections (the lease runs out on its own: a graceful stop
 *  is a takeover) and free. NULL is a no-op. @since 0.2 */
SIPPRES_REDIS_EXPORT void sippres_redis_free(struct sippres_redis *r);

/**
 * The replicate callback's work: queue the change for Redis (nothing is
 * written before the next sippres_redis_flush() or writable descriptor).
 * While disconnected the change is not kept: the next connection writes
 * everything again. Safe inside the callback.
 * @since 0.2
 */
SIPPRES_REDIS_EXPORT void sippres_redis_replicate(struct sippres_redis *r, const struct sippres_repl_change *c);

/**
 * Write what is queued now, as far as the socket takes it without blocking.
 * A host calls it before sending the NOTIFYs a library call produced, so a
 * subscription's record (its next CSeq) is in Redis's hands before the
 * NOTIFY is on the wire and a node that takes over never reuses a CSeq.
 * @return 0, or SIPPRES_E_INVAL.
 * @since 0.2
 */
SIPPRES_REDIS_EXPORT int sippres_redis_flush(struct sippres_redis *r);

/** sippres_redis_fd.events bits. @since 0.2 */
#define SIPPRES_REDIS_READ 0x1u
/** Poll for writing. @since 0.2 */
#define SIPPRES_REDIS_WRITE 0x2u

/** A descriptor to poll. @since 0.2 */
struct sippres_redis_fd {
	int fd;          /**< the socket */
	uint32_t events; /**< SIPPRES_REDIS_READ and/or SIPPRES_REDIS_WRITE */
};

/**
 * The descriptors to poll now (they change as connections come and go:
 * ask again each time round the loop).
 * @return how many were written to fds (at most 2, at most n), or SIPPRES_E_INVAL.
 * @since 0.2
 */
SIPPRES_REDIS_EXPORT int sippres_redis_fds(struct sippres_redis *r, struct sippres_redis_fd *fds, size_t n);

/**
 * A descriptor sippres_redis_fds() gave is ready (events: what poll said,
 * SIPPRES_REDIS_READ for readable, hang-up or error too). Replies and
 * messages are handled here: the library is called (changes applied,
 * subscriptions adopted), so this must not be called from a library callback.
 * @return 0, or SIPPRES_E_INVAL.
 * @since 0.2
 */
SIPPRES_REDIS_EXPORT int sippres_redis_handle_fd(struct sippres_redis *r, int fd, uint32_t events, uint64_t now_ms);

/** When sippres_redis_handle_timeout() is next due: 1 with *deadline_ms set
 *  (always, while the adapter lives), or SIPPRES_E_INVAL. @since 0.2 */
SIPPRES_REDIS_EXPORT int sippres_redis_next_timeout(struct sippres_redis *r, uint64_t now_ms,
                                                    uint64_t *deadline_ms);

/** Connect, reconnect, renew the lease, look for dead nodes and take them
 *  over, as due at now_ms. @return 0, or SIPPRES_E_INVAL. @since 0.2 */
SIPPRES_REDIS_EXPORT int sippres_redis_handle_timeout(struct sippres_redis *r, uint64_t now_ms);

/** An adapter's state and counters. @since 0.2 */
struct sippres_redis_status {
	size_t size;              /**< sizeof(struct sippres_redis_status), set by the host */
	uint32_t connected;       /**< 1: registered, caught up and replicating */
	uint32_t nodes;           /**< nodes with a record in Redis at the last check, this one included */
	uint64_t connections;     /**< successful (re)connections */
	uint64_t writes;          /**< changes written */
	uint64_t applied;         /**< other nodes' view messages applied */
	uint64_t adopted;         /**< subscriptions and publications taken over from dead nodes */
	uint64_t released;        /**< subscriptions let go (another node took this one over) */
	uint64_t takeovers;       /**< dead nodes taken over by this one */
};

/** Fill st (the host sets size). @return 0, SIPPRES_E_INVAL, SIPPRES_E_ABI. @since 0.2 */
SIPPRES_REDIS_EXPORT int sippres_redis_get_status(const struct sippres_redis *r, struct sippres_redis_status *st);

#ifdef __cplusplus
}
#endif

#endif /* LIBSIPPRESENCE_REDIS_H */
