/* SPDX-License-Identifier: MIT */
/* libsippresence-redis: the adapter's life, its two hiredis connections
 * (commands, and the pub/sub subscription) driven by the host's loop through
 * hiredis's event hooks, reconnection with backoff, and the host's entry
 * points. Nothing here blocks or starts a thread. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis-private.h"

#define CONFIG_V1_SIZE (offsetof(struct sippres_redis_config, user_data) + sizeof(void *))
#define STATUS_V1_SIZE (offsetof(struct sippres_redis_status, takeovers) + sizeof(uint64_t))

void sippres__rd_log(struct sippres_redis *r, int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!r->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r->log(r->user_data, level, line);
}

/* ------------------------------------------------------- hiredis event hooks */

static void ev_add_read(void *p)
{
	((struct srd_conn *)p)->rd = true;
}

static void ev_del_read(void *p)
{
	((struct srd_conn *)p)->rd = false;
}

static void ev_add_write(void *p)
{
	((struct srd_conn *)p)->wr = true;
}

static void ev_del_write(void *p)
{
	((struct srd_conn *)p)->wr = false;
}

static void ev_cleanup(void *p)
{
	struct srd_conn *c = p;

	c->rd = c->wr = false;
}

static struct srd_conn *conn_of(const redisAsyncContext *ac)
{
	return ac->data;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct srd_conn *c = conn_of(ac);
	struct sippres_redis *r;

	if (!c)
		return; /* closed by us */
	r = c->r;
	if (status != REDIS_OK) {
		/* hiredis frees the context when this returns */
		sippres__rd_log(r, SIPPRES_LOG_INFO, "redis %s:%d: cannot connect: %s", r->host, r->port,
		        ac->errstr ? ac->errstr : "error");
		c->ac = NULL;
		c->up = false;
		c->lost = true;
		return;
	}
	c->up = true;
	if (r->conn[SRD_CMD].up && r->conn[SRD_SUB].up && r->state == SRD_CONNECTING)
		sippres__rd_on_connected(r);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct srd_conn *c = conn_of(ac);

	(void)status;
	if (!c)
		return; /* closed by us */
	c->ac = NULL; /* freed when this returns */
	c->up = false;
	c->rd = c->wr = false;
	if (!c->r->freeing)
		c->lost = true;
}

/* ------------------------------------------------------------ connections */

static void conn_close(struct srd_conn *c)
{
	redisAsyncContext *ac = c->ac;

	c->ac = NULL;
	c->up = false;
	c->rd = c->wr = false;
	c->lost = false;
	if (ac) {
		ac->data = NULL; /* its connect and disconnect callbacks are ours no more */
		redisAsyncFree(ac); /* pending replies are called with NULL */
	}
}

static int conn_open(struct sippres_redis *r, struct srd_conn *c)
{
	redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);

	c->r = r;
	c->lost = false;
	c->up = false;
	if (!ac)
		return -1;
	if (ac->err) {
		sippres__rd_log(r, SIPPRES_LOG_INFO, "redis %s:%d: %s", r->host, r->port, ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	ac->data = c;
	ac->ev.data = c;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	c->ac = ac;
	c->rd = true;
	c->wr = true; /* hiredis reports the connection at the first write event */
	return 0;
}

static uint64_t jitter(struct sippres_redis *r, uint64_t ms)
{
	uint8_t b = 0;

	/* up to a quarter more, so that nodes that lost Redis together do not come back in step */
	sippres_ctx_random(r->ctx, &b, 1);
	return ms + ms * b / 1024;
}

void sippres__rd_reset(struct sippres_redis *r, const char *why)
{
	bool was_up = r->state == SRD_UP;

	conn_close(&r->conn[SRD_CMD]);
	conn_close(&r->conn[SRD_SUB]);
	r->state = SRD_DOWN;
	r->st.connected = 0;
	r->registering = r->checking = false;
	r->subscribed = r->synced = false;
	r->retry_at = r->now + jitter(r, r->backoff);
	if (was_up)
		sippres__rd_log(r, SIPPRES_LOG_WARNING, "redis %s:%d: %s; reconnecting in %llu ms", r->host, r->port, why,
		        (unsigned long long)(r->retry_at - r->now));
	else
		sippres__rd_log(r, SIPPRES_LOG_DEBUG, "redis %s:%d: %s; next attempt in %llu ms", r->host, r->port, why,
		        (unsigned long long)(r->retry_at - r->now));
	r->backoff = r->backoff * 2 > r->retry_max_ms ? r->retry_max_ms : r->backoff * 2;
}

void sippres__rd_connect(struct sippres_redis *r)
{
	if (conn_open(r, &r->conn[SRD_CMD]) < 0 || conn_open(r, &r->conn[SRD_SUB]) < 0) {
		sippres__rd_reset(r, "cannot connect");
		return;
	}
	r->state = SRD_CONNECTING;
	r->connect_deadline = r->now + SRD_CONNECT_TIMEOUT_MS;
}

/* A connection failed inside hiredis: start again, here at the top level. */
static void check_lost(struct sippres_redis *r)
{
	if (r->conn[SRD_CMD].lost || r->conn[SRD_SUB].lost)
		sippres__rd_reset(r, "connection lost");
}

/* ---------------------------------------------------------------- commands */

struct srd_op {
	struct sippres_redis *r;
	srd_reply_fn *fn;
	void *arg;
};

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct srd_op *op = priv;

	(void)ac;
	op->fn(op->r, op->r->freeing ? NULL : reply, op->arg);
	free(op);
}

int sippres__rd_command(struct sippres_redis *r, int which, srd_reply_fn *fn, void *arg, int argc, const char **argv,
                const size_t *argvlen)
{
	struct srd_op *op;

	if (!r->conn[which].ac)
		return -1;
	op = malloc(sizeof(*op));
	if (!op)
		return -1;
	*op = (struct srd_op){r, fn, arg};
	if (redisAsyncCommandArgv(r->conn[which].ac, on_reply, op, argc, argv, argvlen) != REDIS_OK) {
		free(op);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ the API */

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

static void adapter_free(struct sippres_redis *r)
{
	sippres__rd_nodes_free(r);
	free(r->host);
	free(r->prefix);
	free(r->k_lease);
	free(r->k_views);
	free(r->k_subs);
	free(r->k_pubs);
	free(r->k_nodes);
	free(r->k_taken);
	free(r->k_channel);
	free(r);
}

static int check_config(const struct sippres_redis_config *cfg)
{
	const uint8_t *p = (const uint8_t *)cfg;

	if (cfg->size < CONFIG_V1_SIZE)
		return SIPPRES_E_ABI;
	for (size_t i = sizeof(*cfg); i < cfg->size; i++) {
		if (p[i])
			return SIPPRES_E_ABI;
	}
	if (!cfg->host || !cfg->host[0] || cfg->port == 0 || cfg->port > 65535 || !cfg->node_id ||
	    (cfg->lease_ms && cfg->lease_ms < 200) || (cfg->prefix && strlen(cfg->prefix) > 256))
		return SIPPRES_E_INVAL;
	return 0;
}

SIPPRES_REDIS_EXPORT int sippres_redis_new(struct sippres_ctx *ctx, const struct sippres_redis_config *cfg,
                                           uint64_t now_ms, struct sippres_redis **ret)
{
	struct sippres_redis_config c;
	struct sippres_redis *r;
	int e;

	if (!ctx || !cfg || !ret)
		return SIPPRES_E_INVAL;
	e = check_config(cfg);
	if (e < 0)
		return e;
	memset(&c, 0, sizeof(c));
	memcpy(&c, cfg, cfg->size < sizeof(c) ? cfg->size : sizeof(c));
	if (strlen(c.node_id) > SIPPRES_MAX_ORIGIN)
		return SIPPRES_E_INVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return SIPPRES_E_NOMEM;
	r->ctx = ctx;
	r->port = (int)c.port;
	strcpy(r->node, c.node_id);
	r->lease_ms = c.lease_ms ? c.lease_ms : SIPPRES_REDIS_DEFAULT_LEASE_MS;
	r->retry_max_ms = c.retry_max_ms ? c.retry_max_ms : 5000;
	r->log = c.log;
	r->user_data = c.user_data;
	r->now = now_ms;
	r->retry_at = now_ms;
	r->backoff = SRD_RETRY_MIN_MS;
	r->st.size = sizeof(r->st);
	r->host = dup_str(c.host);
	r->prefix = dup_str(c.prefix ? c.prefix : SIPPRES_REDIS_DEFAULT_PREFIX);
	if (!r->host || !r->prefix || !(r->k_lease = sippres__rd_key(r, "lease:", r->node)) ||
	    !(r->k_views = sippres__rd_key(r, "views:", r->node)) || !(r->k_subs = sippres__rd_key(r, "subs:", r->node)) ||
	    !(r->k_pubs = sippres__rd_key(r, "pubs:", r->node)) || !(r->k_nodes = sippres__rd_key(r, "nodes", "")) ||
	    !(r->k_taken = sippres__rd_key(r, "taken:", r->node)) || !(r->k_channel = sippres__rd_key(r, "changes", ""))) {
		adapter_free(r);
		return SIPPRES_E_NOMEM;
	}
	e = sippres_repl_start(ctx, r->node, c.seq_floor ? c.seq_floor : now_ms * 1000);
	if (e < 0) {
		adapter_free(r);
		return e;
	}
	*ret = r;
	return 0;
}

SIPPRES_REDIS_EXPORT void sippres_redis_free(struct sippres_redis *r)
{
	if (!r)
		return;
	r->freeing = true;
	conn_close(&r->conn[SRD_CMD]);
	conn_close(&r->conn[SRD_SUB]);
	adapter_free(r);
}

SIPPRES_REDIS_EXPORT int sippres_redis_flush(struct sippres_redis *r)
{
	struct srd_conn *c;

	if (!r)
		return SIPPRES_E_INVAL;
	c = &r->conn[SRD_CMD];
	if (c->ac && c->up && c->wr)
		redisAsyncHandleWrite(c->ac);
	check_lost(r);
	return 0;
}

SIPPRES_REDIS_EXPORT int sippres_redis_fds(struct sippres_redis *r, struct sippres_redis_fd *fds, size_t n)
{
	size_t k = 0;

	if (!r || (n && !fds))
		return SIPPRES_E_INVAL;
	for (int i = 0; i < 2 && k < n; i++) {
		const struct srd_conn *c = &r->conn[i];

		if (!c->ac || c->ac->c.fd < 0 || !(c->rd || c->wr))
			continue;
		fds[k].fd = c->ac->c.fd;
		fds[k].events = (c->rd ? SIPPRES_REDIS_READ : 0) | (c->wr ? SIPPRES_REDIS_WRITE : 0);
		k++;
	}
	return (int)k;
}

SIPPRES_REDIS_EXPORT int sippres_redis_handle_fd(struct sippres_redis *r, int fd, uint32_t events, uint64_t now_ms)
{
	if (!r || fd < 0)
		return SIPPRES_E_INVAL;
	if (now_ms > r->now)
		r->now = now_ms;
	for (int i = 0; i < 2; i++) {
		struct srd_conn *c = &r->conn[i];

		if (!c->ac || c->ac->c.fd != fd)
			continue;
		if (events & SIPPRES_REDIS_READ)
			redisAsyncHandleRead(c->ac);
		if ((events & SIPPRES_REDIS_WRITE) && c->ac)
			redisAsyncHandleWrite(c->ac);
		break;
	}
	check_lost(r);
	return 0;
}

SIPPRES_REDIS_EXPORT int sippres_redis_next_timeout(struct sippres_redis *r, uint64_t now_ms, uint64_t *deadline_ms)
{
	uint64_t at;

	if (!r || !deadline_ms)
		return SIPPRES_E_INVAL;
	(void)now_ms;
	switch (r->state) {
	case SRD_DOWN:
		at = r->retry_at;
		break;
	case SRD_CONNECTING:
	case SRD_REGISTERING:
		at = r->connect_deadline;
		break;
	default:
		at = r->renew_at < r->check_at ? r->renew_at : r->check_at;
		break;
	}
	*deadline_ms = at;
	return 1;
}

SIPPRES_REDIS_EXPORT int sippres_redis_handle_timeout(struct sippres_redis *r, uint64_t now_ms)
{
	if (!r)
		return SIPPRES_E_INVAL;
	if (now_ms > r->now)
		r->now = now_ms;
	switch (r->state) {
	case SRD_DOWN:
		if (r->now >= r->retry_at)
			sippres__rd_connect(r);
		break;
	case SRD_CONNECTING:
	case SRD_REGISTERING:
		if (r->now >= r->connect_deadline)
			sippres__rd_reset(r, r->state == SRD_CONNECTING ? "no connection in time" : "no answer to the lease");
		break;
	case SRD_UP:
		sippres__rd_cluster_timers(r);
		break;
	}
	check_lost(r);
	return 0;
}

SIPPRES_REDIS_EXPORT int sippres_redis_get_status(const struct sippres_redis *r, struct sippres_redis_status *st)
{
	size_t size;

	if (!r || !st)
		return SIPPRES_E_INVAL;
	if (st->size < STATUS_V1_SIZE)
		return SIPPRES_E_ABI;
	size = st->size < sizeof(r->st) ? st->size : sizeof(r->st);
	memcpy(st, &r->st, size);
	st->size = size;
	return 0;
}
