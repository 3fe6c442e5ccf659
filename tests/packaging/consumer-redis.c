/* SPDX-License-Identifier: MIT */
/* Built by tools/check-packaging against the installed libsippresence-redis-dev
 * with `pkg-config --cflags --libs libsippresence-redis` alone: the header,
 * the .pc (and the libsippresence it requires) and the library agree. Makes
 * an adapter (no connection is attempted before the first timeout) and
 * frees it. */
#include <stdio.h>

#include <libsippresence-redis/libsippresence-redis.h>

int main(void)
{
	struct sippres_redis_config cfg = {.size = sizeof(cfg), .host = "127.0.0.1", .port = 6379, .node_id = "n1"};
	struct sippres_redis_status st = {.size = sizeof(st)};
	struct sippres_redis *r = NULL;
	struct sippres_ctx *ctx = NULL;

	if (sippres_ctx_new(NULL, NULL, NULL, &ctx) < 0 || sippres_redis_new(ctx, &cfg, 1, &r) < 0 ||
	    sippres_redis_get_status(r, &st) < 0 || st.connected != 0)
		return 1;
	printf("consumer-redis: libsippresence %s, an adapter for node %s\n", sippres_version_string(), cfg.node_id);
	sippres_redis_free(r);
	sippres_ctx_free(ctx);
	return 0;
}
