/* SPDX-License-Identifier: MIT */
/* libsippresence-redis internals: the two hiredis connections on the host's
 * loop (conn.c) and the cluster protocol over them (cluster.c). */
#ifndef SIPPRES_REDIS_PRIVATE_H
#define SIPPRES_REDIS_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "libsippresence-redis.h"

#define SRD_CONNECT_TIMEOUT_MS 2000
#define SRD_RETRY_MIN_MS 100
#define SRD_TOKEN_LEN 24

enum srd_conn_kind { SRD_CMD = 0, SRD_SUB = 1 };

/* One hiredis connection and what it wants polled. */
struct srd_conn {
	struct sippres_redis *r;
	redisAsyncContext *ac; /* NULL: none */
	bool rd, wr;           /* hiredis wants to read, to write */
	bool up;               /* connected */
	bool lost;             /* disconnected or failed: torn down at the top level */
};

enum srd_state {
	SRD_DOWN = 0,    /* waiting for retry_at */
	SRD_CONNECTING,  /* both connections on their way */
	SRD_REGISTERING, /* the lease script sent */
	SRD_UP           /* registered: changes are written */
};

/* Another node seen in the nodes hash. */
struct srd_node {
	char *name;
	uint64_t missing_since; /* 0: in the hash at the last check */
};

struct sippres_redis {
	struct sippres_ctx *ctx;
	char *host;
	int port;
	char node[SIPPRES_MAX_ORIGIN + 1];
	char *prefix;
	uint32_t lease_ms, retry_max_ms;
	void (*log)(void *user_data, int level, const char *msg);
	void *user_data;

	struct srd_conn conn[2];
	enum srd_state state;
	uint64_t now;
	uint64_t retry_at, backoff, connect_deadline;
	uint64_t renew_at, check_at;
	uint64_t up_since;
	char token[SRD_TOKEN_LEN + 1];
	char write_sha[48];  /* the write script's SHA1 once SCRIPT LOAD answered */
	bool subscribed;     /* the changes channel is subscribed on this connection */
	bool synced;         /* the snapshot of the others' views was asked for on this connection */
	bool registering;    /* a lease script is outstanding */
	bool checking;       /* a check script is outstanding */
	bool freeing;

	struct srd_node *nodes;
	size_t nnodes;

	/* keys, built once */
	char *k_lease, *k_views, *k_subs, *k_pubs, *k_nodes, *k_taken, *k_channel;

	struct sippres_redis_status st;
};

/* conn.c */
void sippres__rd_log(struct sippres_redis *r, int level, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;
/* Start both connections (state CONNECTING), or schedule the next attempt. */
void sippres__rd_connect(struct sippres_redis *r);
/* Tear both down and schedule a reconnection with backoff. */
void sippres__rd_reset(struct sippres_redis *r, const char *why);
/* A command on a connection; fn(r, reply, arg) is called once, reply NULL
 * when the connection went first. 0 or -1. */
typedef void srd_reply_fn(struct sippres_redis *r, redisReply *reply, void *arg);
int sippres__rd_command(struct sippres_redis *r, int which, srd_reply_fn *fn, void *arg, int argc, const char **argv,
                const size_t *argvlen);

/* cluster.c */
/* Both connections are up: subscribe and register. */
void sippres__rd_on_connected(struct sippres_redis *r);
/* The timers of a registered node: renew, check. */
void sippres__rd_cluster_timers(struct sippres_redis *r);
/* A key: prefix + a + b (NULL on no memory). */
char *sippres__rd_key(const struct sippres_redis *r, const char *a, const char *b);
void sippres__rd_nodes_free(struct sippres_redis *r);

#endif
