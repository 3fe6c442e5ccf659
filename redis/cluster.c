/* SPDX-License-Identifier: MIT */
/* libsippresence-redis: the cluster protocol (docs/cluster.md, "Keys and
 * channels"). Every step that must be atomic is one Lua script:
 *   register  take or renew this node's lease; refuse when another node took
 *             this incarnation over (its token is in taken:NODE)
 *   reset     after a (re)connection: this node's hashes go (their old
 *             contents returned), before it writes everything it owns again
 *   write     a view, record or removal, only while this node holds its
 *             lease; views are also published on the changes channel
 *   check     the nodes, and those whose lease ran out
 *   takeover  one dead node's records move to this node's hashes, its views
 *             go, its token goes to taken:NODE; only one survivor gets them
 *   snapshot  every other node's views, for a node that (re)joins */
#include <stdlib.h>
#include <string.h>

#include "redis-private.h"

static const char SCRIPT_REGISTER[] =
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end\n"
	"if redis.call('GET', KEYS[3]) == ARGV[1] then return 0 end\n"
	"local prev = redis.call('HGET', KEYS[2], ARGV[3])\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])\n"
	"if prev and prev ~= ARGV[1] then return 3 end\n"
	"return 2\n";

static const char SCRIPT_RESET[] =
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end\n"
	"local s = redis.call('HGETALL', KEYS[3])\n"
	"local p = redis.call('HGETALL', KEYS[4])\n"
	"redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])\n"
	"return {s, p}\n";

static const char SCRIPT_WRITE[] =
	"if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n"
	"if ARGV[3] == '' then redis.call('HDEL', KEYS[2], ARGV[2])\n"
	"else redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end\n"
	"if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[3]) end\n"
	"return 1\n";

static const char SCRIPT_CHECK[] =
	"local all = redis.call('HKEYS', KEYS[1])\n"
	"local dead = {}\n"
	"for _, n in ipairs(all) do\n"
	"  if n ~= ARGV[2] and redis.call('EXISTS', ARGV[1] .. 'lease:' .. n) == 0 then dead[#dead + 1] = n end\n"
	"end\n"
	"return {all, dead}\n";

/* KEYS: nodes, lease:dead, subs:dead, pubs:dead, views:dead, taken:dead, lease:me, subs:me, pubs:me
 * ARGV: dead, my token, the changes channel */
static const char SCRIPT_TAKEOVER[] =
	"if redis.call('GET', KEYS[7]) ~= ARGV[2] then return false end\n"
	"if redis.call('EXISTS', KEYS[2]) == 1 then return false end\n"
	"local tok = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if not tok then return false end\n"
	"local s = redis.call('HGETALL', KEYS[3])\n"
	"local p = redis.call('HGETALL', KEYS[4])\n"
	"for i = 1, #s, 2 do redis.call('HSET', KEYS[8], s[i], s[i + 1]) end\n"
	"for i = 1, #p, 2 do redis.call('HSET', KEYS[9], p[i], p[i + 1]) end\n"
	"redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])\n"
	"redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"redis.call('SET', KEYS[6], tok)\n"
	"redis.call('PUBLISH', ARGV[3], 'DROP ' .. ARGV[1])\n"
	"return {s, p}\n";

static const char SCRIPT_SNAPSHOT[] =
	"local out = {}\n"
	"for _, n in ipairs(redis.call('HKEYS', KEYS[1])) do\n"
	"  if n ~= ARGV[2] then out[#out + 1] = n; out[#out + 1] = redis.call('HGETALL', ARGV[1] .. 'views:' .. n) end\n"
	"end\n"
	"return out\n";

char *sippres__rd_key(const struct sippres_redis *r, const char *a, const char *b)
{
	size_t lp = strlen(r->prefix), la = strlen(a), lb = strlen(b);
	char *k = malloc(lp + la + lb + 1);

	if (k) {
		memcpy(k, r->prefix, lp);
		memcpy(k + lp, a, la);
		memcpy(k + lp + la, b, lb + 1);
	}
	return k;
}

/* A failure inside a reply: the connection starts again from the top level. */
static void fail(struct sippres_redis *r, const char *what, const redisReply *reply)
{
	sippres__rd_log(r, SIPPRES_LOG_WARNING, "redis: %s: %.*s", what, reply && reply->type == REDIS_REPLY_ERROR ? (int)reply->len : 0,
	        reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "");
	r->conn[SRD_CMD].lost = true;
}

/* EVAL script with nkeys keys then the other arguments (strings, or binary
 * with their lengths when lens is not NULL). */
static int eval(struct sippres_redis *r, srd_reply_fn *fn, void *arg, const char *script, int nkeys, int nargs,
                const char **args, const size_t *lens)
{
	const char *argv[16];
	size_t argl[16];
	char nk[4];

	/* the write script, once loaded, by its SHA1: every change sends it */
	argv[0] = script == SCRIPT_WRITE && r->write_sha[0] ? "EVALSHA" : "EVAL";
	argv[1] = script == SCRIPT_WRITE && r->write_sha[0] ? r->write_sha : script;
	nk[0] = (char)('0' + nkeys);
	nk[1] = '\0';
	argv[2] = nk;
	for (int i = 0; i < nargs; i++) {
		argv[3 + i] = args[i];
		argl[3 + i] = lens ? lens[i] : strlen(args[i]);
	}
	for (int i = 0; i < 3; i++)
		argl[i] = strlen(argv[i]);
	return sippres__rd_command(r, SRD_CMD, fn, arg, 3 + nargs, argv, argl);
}

/* ------------------------------------------------------------------ nodes */

void sippres__rd_nodes_free(struct sippres_redis *r)
{
	for (size_t i = 0; i < r->nnodes; i++)
		free(r->nodes[i].name);
	free(r->nodes);
	r->nodes = NULL;
	r->nnodes = 0;
}

static struct srd_node *node_find(struct sippres_redis *r, const char *name, size_t len)
{
	for (size_t i = 0; i < r->nnodes; i++) {
		if (strlen(r->nodes[i].name) == len && memcmp(r->nodes[i].name, name, len) == 0)
			return &r->nodes[i];
	}
	return NULL;
}

static void node_seen(struct sippres_redis *r, const char *name, size_t len)
{
	struct srd_node *n = node_find(r, name, len), *v;
	char *s;

	if (n) {
		n->missing_since = 0;
		return;
	}
	if (len == strlen(r->node) && memcmp(name, r->node, len) == 0)
		return;
	v = realloc(r->nodes, (r->nnodes + 1) * sizeof(*v));
	if (!v)
		return;
	r->nodes = v;
	s = malloc(len + 1);
	if (!s)
		return;
	memcpy(s, name, len);
	s[len] = '\0';
	r->nodes[r->nnodes++] = (struct srd_node){s, 0};
}

static void node_forget(struct sippres_redis *r, const char *name)
{
	struct srd_node *n = node_find(r, name, strlen(name));

	if (!n)
		return;
	free(n->name);
	*n = r->nodes[--r->nnodes];
}

/* ---------------------------------------------------------- applying views */

static void apply(struct sippres_redis *r, const char *data, size_t len)
{
	int e = sippres_repl_apply(r->ctx, data, len);

	if (e > 0)
		r->st.applied++;
	else if (e < 0)
		sippres__rd_log(r, SIPPRES_LOG_WARNING, "redis: a change not applied: %s", sippres_strerror(e));
}

static void drop_node(struct sippres_redis *r, const char *name)
{
	int n = sippres_repl_origin_drop(r->ctx, name);

	if (n > 0)
		sippres__rd_log(r, SIPPRES_LOG_INFO, "redis: node %s is gone: %d of its states dropped", name, n);
	node_forget(r, name);
}

static void on_snapshot(struct sippres_redis *r, redisReply *reply, void *arg)
{
	(void)arg;
	if (!reply)
		return;
	if (reply->type != REDIS_REPLY_ARRAY) {
		fail(r, "snapshot", reply);
		return;
	}
	for (size_t i = 0; i + 1 < reply->elements; i += 2) {
		const redisReply *name = reply->element[i], *h = reply->element[i + 1];

		if (name->type != REDIS_REPLY_STRING || h->type != REDIS_REPLY_ARRAY)
			continue;
		node_seen(r, name->str, name->len);
		/* the sweep first: the views after it are numbered above it */
		for (size_t k = 0; k + 1 < h->elements; k += 2) {
			if (h->element[k]->len == 5 && memcmp(h->element[k]->str, "sweep", 5) == 0)
				apply(r, h->element[k + 1]->str, h->element[k + 1]->len);
		}
		for (size_t k = 0; k + 1 < h->elements; k += 2) {
			if (!(h->element[k]->len == 5 && memcmp(h->element[k]->str, "sweep", 5) == 0))
				apply(r, h->element[k + 1]->str, h->element[k + 1]->len);
		}
	}
	r->st.connected = 1;
	sippres__rd_log(r, SIPPRES_LOG_INFO, "redis %s:%d: node %s replicating (%zu other nodes)", r->host, r->port, r->node,
	        r->nnodes);
}

static void snapshot(struct sippres_redis *r)
{
	const char *args[] = {r->k_nodes, r->prefix, r->node};

	if (r->state != SRD_UP || !r->subscribed || r->synced)
		return;
	r->synced = true;
	if (eval(r, on_snapshot, NULL, SCRIPT_SNAPSHOT, 1, 3, args, NULL) < 0)
		r->conn[SRD_CMD].lost = true;
}

/* The changes channel: other nodes' views, and takeovers. */
static void on_message(redisAsyncContext *ac, void *reply_, void *priv)
{
	struct sippres_redis *r = priv;
	redisReply *reply = reply_;
	const redisReply *kind, *payload;

	(void)ac;
	if (!reply || r->freeing || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
		return;
	kind = reply->element[0];
	payload = reply->element[2];
	if (kind->type != REDIS_REPLY_STRING)
		return;
	if (kind->len == 9 && memcmp(kind->str, "subscribe", 9) == 0) {
		r->subscribed = true;
		snapshot(r);
		return;
	}
	if (!(kind->len == 7 && memcmp(kind->str, "message", 7) == 0) || payload->type != REDIS_REPLY_STRING)
		return;
	if (payload->len > 5 && memcmp(payload->str, "DROP ", 5) == 0) {
		char name[SIPPRES_MAX_ORIGIN + 1];
		size_t n = payload->len - 5;

		if (n > SIPPRES_MAX_ORIGIN)
			return;
		memcpy(name, payload->str + 5, n);
		name[n] = '\0';
		if (strcmp(name, r->node) != 0)
			drop_node(r, name);
		return;
	}
	if (r->state == SRD_UP)
		apply(r, payload->str, payload->len);
}

/* ------------------------------------------------------------- ownership */

struct adopt_list {
	struct sippres_sub **v;
	size_t n, cap;
};

static int collect(void *ud, struct sippres_sub *sub)
{
	struct adopt_list *l = ud;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct sippres_sub **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = sub;
	return 0;
}

/* Another node took this one over while it was cut off: its subscribers are
 * that node's now. */
static void release_all(struct sippres_redis *r)
{
	struct adopt_list l = {0};

	sippres_sub_foreach(r->ctx, collect, &l);
	for (size_t i = 0; i < l.n; i++) {
		if (sippres_sub_release(r->ctx, l.v[i]) == 0)
			r->st.released++;
	}
	sippres__rd_log(r, SIPPRES_LOG_WARNING, "redis: node %s was taken over while cut off: %zu subscriptions let go", r->node,
	        l.n);
	free(l.v);
}

static void new_token(struct sippres_redis *r)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[SRD_TOKEN_LEN / 2];

	if (sippres_ctx_random(r->ctx, b, sizeof(b)) < 0)
		memset(b, 0x5a, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++) {
		r->token[2 * i] = hex[b[i] >> 4];
		r->token[2 * i + 1] = hex[b[i] & 15];
	}
	r->token[SRD_TOKEN_LEN] = '\0';
}

/* Write a record's removal (an adopted record the library refused). */
static void write_removal(struct sippres_redis *r, const char *hash, const char *field, size_t flen);

/* Adopt records: an array of field, record pairs. Returns how many. */
static size_t adopt(struct sippres_redis *r, const redisReply *h, bool subs)
{
	size_t n = 0;

	if (!h || h->type != REDIS_REPLY_ARRAY)
		return 0;
	for (size_t k = 0; k + 1 < h->elements; k += 2) {
		const redisReply *rec = h->element[k + 1];
		int e;

		if (subs) {
			struct sippres_sub *sub;

			e = sippres_sub_adopt(r->ctx, rec->str, rec->len, r->now, &sub);
		} else {
			struct sippres_publication *pub;

			e = sippres_publication_adopt(r->ctx, rec->str, rec->len, r->now, &pub);
		}
		if (e == 0) {
			n++;
		} else if (e != SIPPRES_E_EXISTS) {
			sippres__rd_log(r, SIPPRES_LOG_INFO, "redis: a %s record not taken over: %s", subs ? "subscription" : "publication",
			        sippres_strerror(e));
			write_removal(r, subs ? r->k_subs : r->k_pubs, h->element[k]->str, h->element[k]->len);
		}
	}
	return n;
}

static void registered(struct sippres_redis *r, long long how);
static void lease(struct sippres_redis *r);

static void on_register(struct sippres_redis *r, redisReply *reply, void *arg)
{
	(void)arg;
	if (!reply)
		return;
	r->registering = false;
	if (reply->type != REDIS_REPLY_INTEGER) {
		fail(r, "lease", reply);
		return;
	}
	if (reply->integer == 1 && r->state == SRD_UP) {
		r->renew_at = r->now + r->lease_ms / 3;
		return; /* renewed */
	}
	if (reply->integer == 0) {
		/* taken over: let go, and join again as a new incarnation */
		release_all(r);
		new_token(r);
		r->state = SRD_REGISTERING;
		r->connect_deadline = r->now + SRD_CONNECT_TIMEOUT_MS + r->lease_ms;
		lease(r);
		return;
	}
	registered(r, reply->integer);
}

static void lease(struct sippres_redis *r)
{
	char ms[24];
	const char *args[] = {r->k_lease, r->k_nodes, r->k_taken, r->token, ms, r->node};

	if (r->registering)
		return;
	snprintf(ms, sizeof(ms), "%u", r->lease_ms);
	r->registering = true;
	if (eval(r, on_register, NULL, SCRIPT_REGISTER, 3, 6, args, NULL) < 0)
		r->conn[SRD_CMD].lost = true;
}

struct reset_arg {
	long long how; /* the register script's answer */
};

static void on_reset(struct sippres_redis *r, redisReply *reply, void *arg)
{
	struct reset_arg *a = arg;
	long long how = a->how;
	size_t n = 0;
	int e;

	free(a);
	if (!reply)
		return;
	if (reply->type == REDIS_REPLY_NIL) {
		r->state = SRD_REGISTERING; /* the lease went meanwhile: once more */
		lease(r);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
		fail(r, "reset", reply);
		return;
	}
	r->state = SRD_UP;
	r->up_since = r->now;
	r->backoff = SRD_RETRY_MIN_MS;
	r->st.connections++;
	r->renew_at = r->now + r->lease_ms / 3;
	r->check_at = r->now;
	if (how == 3) {
		/* this node restarted before its lease ran out: what its last life
		 * owned and this one did not restore is taken over like a dead node's */
		n = adopt(r, reply->element[1], false) + adopt(r, reply->element[0], true);
		r->st.adopted += n;
		if (n)
			sippres__rd_log(r, SIPPRES_LOG_INFO, "redis: %zu records of this node's last run taken over", n);
	}
	/* everything this node owns, written again (Redis may have restarted empty) */
	e = sippres_repl_resync(r->ctx);
	if (e < 0)
		sippres__rd_log(r, SIPPRES_LOG_WARNING, "redis: resync: %s", sippres_strerror(e));
	snapshot(r);
}

static void registered(struct sippres_redis *r, long long how)
{
	struct reset_arg *a = malloc(sizeof(*a));
	const char *args[] = {r->k_lease, r->k_views, r->k_subs, r->k_pubs, r->token};

	if (!a) {
		r->conn[SRD_CMD].lost = true;
		return;
	}
	a->how = how;
	/* writes stop until the reset is answered: the node's hashes are emptied first; and the changes
	 * published meanwhile were not applied, so the others' views are read again after it */
	r->state = SRD_REGISTERING;
	r->synced = false;
	r->connect_deadline = r->now + SRD_CONNECT_TIMEOUT_MS + r->lease_ms;
	if (eval(r, on_reset, a, SCRIPT_RESET, 4, 5, args, NULL) < 0) {
		free(a);
		r->conn[SRD_CMD].lost = true;
	}
}

static void on_script_load(struct sippres_redis *r, redisReply *reply, void *arg)
{
	(void)arg;
	if (reply && reply->type == REDIS_REPLY_STRING && reply->len < sizeof(r->write_sha)) {
		memcpy(r->write_sha, reply->str, reply->len);
		r->write_sha[reply->len] = '\0';
	}
}

void sippres__rd_on_connected(struct sippres_redis *r)
{
	const char *argv[] = {"SUBSCRIBE", r->k_channel};
	size_t argl[] = {9, strlen(r->k_channel)};
	const char *load[] = {"SCRIPT", "LOAD", SCRIPT_WRITE};
	size_t loadl[] = {6, 4, sizeof(SCRIPT_WRITE) - 1};

	r->state = SRD_REGISTERING;
	r->connect_deadline = r->now + SRD_CONNECT_TIMEOUT_MS + r->lease_ms;
	if (!r->token[0])
		new_token(r);
	if (redisAsyncCommandArgv(r->conn[SRD_SUB].ac, on_message, r, 2, argv, argl) != REDIS_OK) {
		r->conn[SRD_SUB].lost = true;
		return;
	}
	r->write_sha[0] = '\0'; /* a restarted Redis has an empty script cache */
	if (sippres__rd_command(r, SRD_CMD, on_script_load, NULL, 3, load, loadl) < 0)
		r->conn[SRD_CMD].lost = true;
	lease(r);
}

/* ------------------------------------------------------------ writing */

static void on_write(struct sippres_redis *r, redisReply *reply, void *arg)
{
	(void)arg;
	if (!reply)
		return;
	if (reply->type == REDIS_REPLY_INTEGER && reply->integer == 0 && r->state == SRD_UP) {
		/* the lease is not ours any more: ask why */
		sippres__rd_log(r, SIPPRES_LOG_WARNING, "redis: node %s lost its lease", r->node);
		r->state = SRD_REGISTERING;
		r->connect_deadline = r->now + SRD_CONNECT_TIMEOUT_MS + r->lease_ms;
		lease(r);
	} else if (reply->type == REDIS_REPLY_ERROR) {
		fail(r, "write", reply);
	}
}

static void write_one(struct sippres_redis *r, const char *hash, const char *field, size_t flen, const void *data,
                      size_t len, bool publish)
{
	const char *args[] = {r->k_lease, hash, r->token, field, data ? data : "", publish ? r->k_channel : ""};
	size_t lens[] = {strlen(r->k_lease), strlen(hash), strlen(r->token), flen, data ? len : 0,
	                 publish ? strlen(r->k_channel) : 0};

	if (eval(r, on_write, NULL, SCRIPT_WRITE, 2, 6, args, lens) < 0)
		r->conn[SRD_CMD].lost = true;
	else
		r->st.writes++;
}

static void write_removal(struct sippres_redis *r, const char *hash, const char *field, size_t flen)
{
	write_one(r, hash, field, flen, NULL, 0, false);
}

SIPPRES_REDIS_EXPORT void sippres_redis_replicate(struct sippres_redis *r, const struct sippres_repl_change *c)
{
	char field[SIPPRES_MAX_NAME + 3];
	size_t n;

	if (!r || !c || r->state != SRD_UP)
		return; /* not connected: the next connection writes everything again */
	switch (c->kind) {
	case SIPPRES_REPL_DEVICE:
	case SIPPRES_REPL_PRESENCE:
		n = strlen(c->key);
		if (n > SIPPRES_MAX_NAME)
			return;
		field[0] = c->kind == SIPPRES_REPL_DEVICE ? 'd' : 'p';
		field[1] = ':';
		memcpy(field + 2, c->key, n);
		write_one(r, r->k_views, field, n + 2, c->data, c->len, true);
		break;
	case SIPPRES_REPL_SWEEP:
		write_one(r, r->k_views, "sweep", 5, c->data, c->len, true);
		break;
	case SIPPRES_REPL_SUBSCRIPTION:
	case SIPPRES_REPL_PUBLICATION:
		write_one(r, c->kind == SIPPRES_REPL_SUBSCRIPTION ? r->k_subs : r->k_pubs, c->key, strlen(c->key),
		          c->removed ? NULL : c->data, c->len, false);
		break;
	default:
		break;
	}
}

/* ---------------------------------------------------- checks and takeover */

static void on_takeover(struct sippres_redis *r, redisReply *reply, void *arg)
{
	char *dead = arg;
	size_t n;

	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
		if (reply && reply->type == REDIS_REPLY_ERROR)
			fail(r, "takeover", reply);
		free(dead);
		return;
	}
	r->st.takeovers++;
	/* its views no longer count; its publications, taken over, set their state again */
	drop_node(r, dead);
	n = adopt(r, reply->element[1], false);
	n += adopt(r, reply->element[0], true);
	r->st.adopted += n;
	sippres__rd_log(r, SIPPRES_LOG_INFO, "redis: node %s took over dead node %s: %zu records adopted", r->node, dead, n);
	free(dead);
}

static void takeover(struct sippres_redis *r, const char *dead, size_t len)
{
	char *name = malloc(len + 1);
	char *k_lease = NULL, *k_subs = NULL, *k_pubs = NULL, *k_views = NULL, *k_taken = NULL;

	if (!name)
		return;
	memcpy(name, dead, len);
	name[len] = '\0';
	k_lease = sippres__rd_key(r, "lease:", name);
	k_subs = sippres__rd_key(r, "subs:", name);
	k_pubs = sippres__rd_key(r, "pubs:", name);
	k_views = sippres__rd_key(r, "views:", name);
	k_taken = sippres__rd_key(r, "taken:", name);
	if (k_lease && k_subs && k_pubs && k_views && k_taken) {
		const char *args[] = {r->k_nodes, k_lease, k_subs, k_pubs, k_views, k_taken,
		                      r->k_lease, r->k_subs, r->k_pubs, name, r->token, r->k_channel};

		if (eval(r, on_takeover, name, SCRIPT_TAKEOVER, 9, 12, args, NULL) == 0)
			name = NULL;
	}
	free(name);
	free(k_lease);
	free(k_subs);
	free(k_pubs);
	free(k_views);
	free(k_taken);
}

static void on_check(struct sippres_redis *r, redisReply *reply, void *arg)
{
	const redisReply *all, *dead;

	(void)arg;
	if (!reply)
		return;
	r->checking = false;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || reply->element[0]->type != REDIS_REPLY_ARRAY ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		fail(r, "check", reply);
		return;
	}
	all = reply->element[0];
	dead = reply->element[1];
	r->st.nodes = (uint32_t)all->elements;
	for (size_t i = 0; i < r->nnodes; i++)
		if (!r->nodes[i].missing_since)
			r->nodes[i].missing_since = r->now;
	for (size_t i = 0; i < all->elements; i++)
		node_seen(r, all->element[i]->str, all->element[i]->len);
	/* a node that left the hash without a takeover this node heard of (it
	 * was taken over while this one was away, or died while Redis was down)
	 * no longer counts either; after a Redis restart the live nodes register
	 * again within two leases and a reconnection delay */
	for (size_t i = 0; i < r->nnodes;) {
		struct srd_node *n = &r->nodes[i];

		uint64_t grace = 2ull * r->lease_ms + r->retry_max_ms; /* a node's reconnection included */

		if (n->missing_since && r->now - n->missing_since > grace && r->now - r->up_since > grace) {
			char name[SIPPRES_MAX_ORIGIN + 1];

			snprintf(name, sizeof(name), "%s", n->name);
			drop_node(r, name);
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < dead->elements; i++)
		takeover(r, dead->element[i]->str, dead->element[i]->len);
}

void sippres__rd_cluster_timers(struct sippres_redis *r)
{
	if (r->now >= r->renew_at) {
		r->renew_at = r->now + r->lease_ms / 3;
		lease(r);
	}
	if (r->now >= r->check_at) {
		const char *args[] = {r->k_nodes, r->prefix, r->node};

		r->check_at = r->now + r->lease_ms / 4;
		if (!r->checking) {
			r->checking = true;
			if (eval(r, on_check, NULL, SCRIPT_CHECK, 1, 3, args, NULL) < 0)
				r->conn[SRD_CMD].lost = true;
		}
	}
}
