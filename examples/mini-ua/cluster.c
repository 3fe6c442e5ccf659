/* SPDX-License-Identifier: MIT */
/* --redis HOST:PORT --node-id NAME: this server is one node of a cluster
 * sharing state and subscriptions through Redis (libsippresence-redis,
 * docs/cluster.md). The adapter's sockets join the poll loop; its timers
 * run with the library's, on the same (wall) clock. Without the options
 * nothing here runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#ifdef HAVE_REDIS
#include <libsippresence-redis/libsippresence-redis.h>

static void cluster_log(void *user_data, int level, const char *msg)
{
	(void)user_data;
	ua_log_sippres(level, "cluster", msg);
}

int cluster_open(struct ua *ua, const char *hostport, const char *node_id, unsigned long lease_ms)
{
	struct sippres_redis_config cfg = {.size = sizeof(cfg), .node_id = node_id, .lease_ms = (uint32_t)lease_ms,
	                                   .log = cluster_log, .user_data = ua};
	char host[256];
	const char *colon = strrchr(hostport, ':');
	char *end;
	unsigned long port;
	int r;

	if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host)) {
		ua_log(LOG_ERR, "--redis %s: expected HOST:PORT", hostport);
		return -1;
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535) {
		ua_log(LOG_ERR, "--redis %s: the port is 1 to 65535", hostport);
		return -1;
	}
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:6379 */
		memmove(host, host + 1, strlen(host) - 2);
		host[strlen(host) - 2] = '\0';
	}
	cfg.host = host;
	cfg.port = (uint32_t)port;
	r = sippres_redis_new(ua->ctx, &cfg, ua_now_wall_ms(), &ua->redis);
	if (r < 0) {
		ua_log(LOG_ERR, "--redis %s --node-id %s: %s", hostport, node_id, sippres_strerror(r));
		return -1;
	}
	ua_log(LOG_INFO, "cluster node %s, Redis at %s, lease %lu ms", node_id, hostport,
	       lease_ms ? lease_ms : (unsigned long)SIPPRES_REDIS_DEFAULT_LEASE_MS);
	return 0;
}

void cluster_close(struct ua *ua)
{
	sippres_redis_free(ua->redis);
	ua->redis = NULL;
}

void cluster_replicate(struct ua *ua, const struct sippres_repl_change *c)
{
	if (ua->redis)
		sippres_redis_replicate(ua->redis, c);
}

void cluster_flush(struct ua *ua)
{
	if (ua->redis)
		sippres_redis_flush(ua->redis);
}

size_t cluster_pollfds(struct ua *ua, struct pollfd *p)
{
	struct sippres_redis_fd fds[CLUSTER_MAX_FDS];
	int n = ua->redis ? sippres_redis_fds(ua->redis, fds, CLUSTER_MAX_FDS) : 0;

	for (int i = 0; i < n; i++) {
		p[i].fd = fds[i].fd;
		p[i].events = (short)(((fds[i].events & SIPPRES_REDIS_READ) ? POLLIN : 0) |
		                      ((fds[i].events & SIPPRES_REDIS_WRITE) ? POLLOUT : 0));
		p[i].revents = 0;
	}
	return n > 0 ? (size_t)n : 0;
}

void cluster_handle(struct ua *ua, const struct pollfd *p, size_t n)
{
	for (size_t i = 0; i < n && ua->redis; i++) {
		uint32_t ev = 0;

		if (p[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
			ev |= SIPPRES_REDIS_READ;
		if (p[i].revents & POLLOUT)
			ev |= SIPPRES_REDIS_WRITE;
		if (ev)
			sippres_redis_handle_fd(ua->redis, p[i].fd, ev, ua_now_wall_ms());
	}
	ua_flush(ua); /* the NOTIFYs that applying other nodes' changes made */
}

void cluster_run_timers(struct ua *ua)
{
	if (ua->redis)
		sippres_redis_handle_timeout(ua->redis, ua_now_wall_ms());
}

uint64_t cluster_next(struct ua *ua)
{
	uint64_t at;

	if (!ua->redis || sippres_redis_next_timeout(ua->redis, ua_now_wall_ms(), &at) != 1)
		return UINT64_MAX;
	return at;
}

#else /* built without libsippresence-redis */

int cluster_open(struct ua *ua, const char *hostport, const char *node_id, unsigned long lease_ms)
{
	(void)ua;
	(void)hostport;
	(void)node_id;
	(void)lease_ms;
	ua_log(LOG_ERR, "--redis: this sippres-mini-ua was built without libsippresence-redis (hiredis)");
	return -1;
}

void cluster_close(struct ua *ua)
{
	(void)ua;
}

void cluster_replicate(struct ua *ua, const struct sippres_repl_change *c)
{
	(void)ua;
	(void)c;
}

void cluster_flush(struct ua *ua)
{
	(void)ua;
}

size_t cluster_pollfds(struct ua *ua, struct pollfd *p)
{
	(void)ua;
	(void)p;
	return 0;
}

void cluster_handle(struct ua *ua, const struct pollfd *p, size_t n)
{
	(void)ua;
	(void)p;
	(void)n;
}

void cluster_run_timers(struct ua *ua)
{
	(void)ua;
}

uint64_t cluster_next(struct ua *ua)
{
	(void)ua;
	return UINT64_MAX;
}
#endif
