/* SPDX-License-Identifier: MIT */
/* libsippresence-redis against a real redis-server (Debian redis-server),
 * started here on a loopback port of its own, with no persistence: nodes
 * are contexts with an adapter each, in this one process, driven by one
 * poll loop. Views cross through pub/sub; a late node catches up from the
 * hashes; a node that stops (its sockets close, as at kill -9) is taken over
 * once its lease runs out, its subscriber's next NOTIFY continuing the CSeq
 * and version; a node that stalls past its lease lets its subscriber go; a
 * restarted (empty) Redis loses nothing the nodes hold. Skipped (77) when
 * redis-server is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <libsippresence-redis/libsippresence-redis.h>

#define LEASE_MS 600
#define WAIT_MS 15000 /* generous: valgrind, a loaded machine */

static pid_t redis_pid;
static int redis_port;
static char redis_path[256];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --------------------------------------------------------------- redis-server */

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	port = ntohs(a.sin_port);
	close(fd);
	return port == 6379 ? free_port() : port;
}

static bool redis_answers(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)redis_port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char buf[16];
	bool ok = false;

	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && write(fd, "PING\r\n", 6) == 6 &&
	    read(fd, buf, sizeof(buf)) > 0)
		ok = strncmp(buf, "+PONG", 5) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static void redis_start(void)
{
	char port[16];
	uint64_t until = now_ms() + 10000;

	snprintf(port, sizeof(port), "%d", redis_port);
	redis_pid = fork();
	assert_true(redis_pid >= 0);
	if (redis_pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execl(redis_path, redis_path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		      "--daemonize", "no", (char *)NULL);
		_exit(127);
	}
	while (!redis_answers()) {
		assert_true(now_ms() < until);
		usleep(20000);
	}
}

static void redis_stop(void)
{
	int st;

	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, &st, 0);
		redis_pid = 0;
	}
}

/* ----------------------------------------------------------------------- nodes */

struct node {
	struct sippres_ctx *ctx;
	struct sippres_redis *r;
	char name[16];
	int notifies;
	uint32_t reason, cseq;
	char body[4096];
	struct sippres_sub *sub;
	int forgets;
	bool stalled; /* not driven by the loop */
};

static void on_replicate(void *ud, const struct sippres_repl_change *c)
{
	struct node *n = ud;

	sippres_redis_replicate(n->r, c);
}

static int on_notify(void *ud, struct sippres_sub *sub, const struct sippres_notify *nt)
{
	struct node *n = ud;

	n->sub = sub;
	n->notifies++;
	n->reason = nt->reason;
	n->cseq = nt->cseq;
	assert_true(nt->body_len < sizeof(n->body));
	memcpy(n->body, nt->body ? nt->body : "", nt->body_len);
	n->body[nt->body_len] = '\0';
	return 0;
}

static void on_forget(void *ud, struct sippres_sub *sub)
{
	(void)sub;
	((struct node *)ud)->forgets++;
}

static void on_log(void *ud, int level, const char *msg)
{
	if (getenv("SIPPRES_TEST_VERBOSE"))
		fprintf(stderr, "[%s] %d %s\n", ((struct node *)ud)->name, level, msg);
}

static void node_start(struct node *n, const char *name, const char *prefix)
{
	struct sippres_callbacks cb = {.size = sizeof(cb), .replicate = on_replicate, .notify = on_notify,
	                               .forget = on_forget};
	struct sippres_endpoint ep = {.size = sizeof(ep), .context = "default"};
	struct sippres_redis_config cfg = {.size = sizeof(cfg), .host = "127.0.0.1", .port = (uint32_t)redis_port,
	                                   .node_id = name, .prefix = prefix, .lease_ms = LEASE_MS,
	                                   .retry_max_ms = 400, .log = on_log};

	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	cfg.user_data = n;
	assert_int_equal(sippres_ctx_new(NULL, &cb, n, &n->ctx), 0);
	assert_int_equal(sippres_hint_set(n->ctx, "default", "1000", "PJSIP/alice,CustomPresence:alice", NULL), 0);
	assert_int_equal(sippres_endpoint_set(n->ctx, "carol", &ep), 0);
	assert_int_equal(sippres_redis_new(n->ctx, &cfg, now_ms(), &n->r), 0);
}

/* As at kill -9: the sockets close, nothing is said. */
static void node_stop(struct node *n)
{
	sippres_redis_free(n->r);
	sippres_ctx_free(n->ctx);
	n->r = NULL;
	n->ctx = NULL;
}

/* One round of the loop over every live, not stalled node. */
static void pump_once(struct node **nodes, int nn, int max_wait)
{
	struct pollfd p[16];
	int owner[16], k = 0, wait = max_wait;
	uint64_t now = now_ms();

	for (int i = 0; i < nn; i++) {
		struct sippres_redis_fd fds[2];
		uint64_t at;
		int n;

		if (!nodes[i]->r || nodes[i]->stalled)
			continue;
		sippres_redis_handle_timeout(nodes[i]->r, now);
		sippres_ctx_handle_timeout(nodes[i]->ctx, now);
		sippres_redis_flush(nodes[i]->r);
		assert_int_equal(sippres_redis_next_timeout(nodes[i]->r, now, &at), 1);
		if (at <= now)
			wait = 0;
		else if (at - now < (uint64_t)wait)
			wait = (int)(at - now);
		n = sippres_redis_fds(nodes[i]->r, fds, 2);
		assert_true(n >= 0);
		for (int j = 0; j < n; j++) {
			p[k].fd = fds[j].fd;
			p[k].events = (short)(((fds[j].events & SIPPRES_REDIS_READ) ? POLLIN : 0) |
			                      ((fds[j].events & SIPPRES_REDIS_WRITE) ? POLLOUT : 0));
			owner[k++] = i;
		}
	}
	if (poll(p, (nfds_t)k, wait) <= 0)
		return;
	for (int j = 0; j < k; j++) {
		uint32_t ev = 0;

		if (p[j].revents & (POLLIN | POLLHUP | POLLERR))
			ev |= SIPPRES_REDIS_READ;
		if (p[j].revents & POLLOUT)
			ev |= SIPPRES_REDIS_WRITE;
		if (ev && nodes[owner[j]]->r)
			sippres_redis_handle_fd(nodes[owner[j]]->r, p[j].fd, ev, now_ms());
	}
}

/* Run the loop until cond(arg) or WAIT_MS; returns how long it took. */
static uint64_t pump_until(struct node **nodes, int nn, bool (*cond)(void *), void *arg)
{
	uint64_t t0 = now_ms();

	while (!cond(arg)) {
		assert_true(now_ms() - t0 < WAIT_MS);
		pump_once(nodes, nn, 50);
	}
	return now_ms() - t0;
}

static bool connected(void *arg)
{
	struct node *n = arg;
	struct sippres_redis_status st = {.size = sizeof(st)};

	assert_int_equal(sippres_redis_get_status(n->r, &st), 0);
	return st.connected == 1;
}

static bool all_connected(void *arg)
{
	struct node **v = arg;

	for (int i = 0; v[i]; i++) {
		if (v[i]->r && !v[i]->stalled && !connected(v[i]))
			return false;
	}
	return true;
}

struct devwait {
	struct node *n;
	const char *dev;
	int state;
};

static bool device_is(void *arg)
{
	struct devwait *w = arg;

	return sippres_device_state_get(w->n->ctx, w->dev) == w->state;
}

static bool presence_is(void *arg)
{
	struct devwait *w = arg;
	struct sippres_exten_status st = {.size = sizeof(st)};

	return sippres_exten_status_get(w->n->ctx, "default", "1000", &st) == 0 && (int)st.presence_state == w->state;
}

static bool notified(void *arg)
{
	return ((struct node *)arg)->notifies > 0;
}

static void subscribe(struct node *n)
{
	const char *accept = "application/dialog-info+xml";
	struct sippres_subscribe_req req = {
		.size = sizeof(req), .endpoint = "carol", .ruri_scheme = "sip", .ruri_user = "1000",
		.ruri_host = "192.0.2.1", .from_uri = "sip:carol@192.0.2.9", .from_tag = "ft", .call_id = "cid-1",
		.contact = "sip:carol@192.0.2.9:5062", .event = "dialog", .accept = &accept, .n_accept = 1,
		.expires = 600,
	};
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *sub = NULL;

	assert_int_equal(sippres_subscribe(n->ctx, &req, now_ms(), &res, &sub), 0);
	assert_int_equal(res.status, 200);
}

/* ------------------------------------------------------------------------- tests */

/* Nodes node-a and node-b (all[0], all[1]) on prefix, connected, and a
 * subscriber on node-a that got its first NOTIFY. */
static void two_nodes_one_subscriber(struct node **all, const char *prefix)
{
	node_start(all[0], "node-a", prefix);
	node_start(all[1], "node-b", prefix);
	pump_until(all, 2, all_connected, all);
	subscribe(all[0]);
	pump_until(all, 2, notified, all[0]);
}

static void test_views_and_late_node(void **state)
{
	struct node a, b, c;
	struct node *all[] = {&a, &b, &c, NULL};
	struct devwait w;

	(void)state;
	node_start(&a, "node-a", "t1:");
	node_start(&b, "node-b", "t1:");
	pump_until(all, 2, all_connected, (struct node *[]){&a, &b, NULL});
	/* a change on A reaches B through pub/sub */
	assert_int_equal(sippres_device_state_set(a.ctx, "PJSIP/alice", SIPPRES_DEVICE_INUSE), 0);
	w = (struct devwait){&b, "PJSIP/alice", SIPPRES_DEVICE_INUSE};
	pump_until(all, 2, device_is, &w);
	assert_int_equal(sippres_presence_state_set(b.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_AWAY, NULL, NULL),
	                 0);
	w = (struct devwait){&a, NULL, SIPPRES_PRESENCE_AWAY};
	pump_until(all, 2, presence_is, &w);
	/* C starts late: it catches up from the hashes */
	node_start(&c, "node-c", "t1:");
	pump_until(all, 3, all_connected, all);
	w = (struct devwait){&c, "PJSIP/alice", SIPPRES_DEVICE_INUSE};
	pump_until(all, 3, device_is, &w);
	w = (struct devwait){&c, NULL, SIPPRES_PRESENCE_AWAY};
	pump_until(all, 3, presence_is, &w);
	node_stop(&a);
	node_stop(&b);
	node_stop(&c);
}

static void test_takeover(void **state)
{
	struct node a, b;
	struct node *all[] = {&a, &b, NULL};
	struct sippres_redis_status st = {.size = sizeof(st)};
	struct devwait w;
	uint32_t cseq;
	uint64_t t;

	(void)state;
	two_nodes_one_subscriber(all, "t2:");
	assert_int_equal(sippres_device_state_set(a.ctx, "PJSIP/alice", SIPPRES_DEVICE_RINGING), 0);
	cseq = a.cseq;
	assert_int_equal(cseq, 2);
	assert_non_null(strstr(a.body, "version=\"1\""));
	w = (struct devwait){&b, "PJSIP/alice", SIPPRES_DEVICE_RINGING};
	pump_until(all, 2, device_is, &w);
	/* A dies: within its lease and a check, B has its subscriber, and A's state is gone */
	node_stop(&a);
	t = pump_until(all, 2, notified, &b);
	assert_true(t < 4 * LEASE_MS);
	assert_int_equal(b.reason, SIPPRES_NOTIFY_RESTORED);
	assert_int_equal(b.cseq, cseq + 1);
	assert_non_null(strstr(b.body, "version=\"2\""));
	assert_int_equal(sippres_device_state_get(b.ctx, "PJSIP/alice"), SIPPRES_DEVICE_UNKNOWN);
	assert_int_equal(sippres_redis_get_status(b.r, &st), 0);
	assert_int_equal(st.takeovers, 1);
	assert_int_equal(st.adopted, 1);
	assert_int_equal(sippres_sub_count(b.ctx), 1);
	node_stop(&b);
}

static bool released(void *arg)
{
	struct node *n = arg;

	return sippres_sub_count(n->ctx) == 0;
}

static bool has_sub(void *arg)
{
	return sippres_sub_count(((struct node *)arg)->ctx) == 1;
}

/* A stalls past its lease (a process stopped, a network cut): B takes its
 * subscriber over; when A runs again it finds out and lets it go. */
static void test_stalled_node_lets_go(void **state)
{
	struct node a, b;
	struct node *all[] = {&a, &b, NULL};
	struct sippres_redis_status st = {.size = sizeof(st)};

	(void)state;
	two_nodes_one_subscriber(all, "t3:");
	a.stalled = true;
	pump_until(all, 2, has_sub, &b);
	a.stalled = false;
	a.notifies = 0;
	pump_until(all, 2, released, &a);
	assert_int_equal(a.notifies, 0); /* no NOTIFY from the node that let go */
	assert_int_equal(a.forgets, 1);
	assert_int_equal(sippres_redis_get_status(a.r, &st), 0);
	assert_int_equal(st.released, 1);
	pump_until(all, 2, all_connected, all);
	assert_int_equal(sippres_sub_count(b.ctx), 1);
	node_stop(&a);
	node_stop(&b);
}

/* Redis restarts empty; a change made while it was down arrives once it is
 * back, and the subscriber records are written again (B can still take A's
 * subscriber over afterwards). */
static void test_redis_restart(void **state)
{
	struct node a, b;
	struct node *all[] = {&a, &b, NULL};
	struct devwait w;
	uint32_t cseq;

	(void)state;
	two_nodes_one_subscriber(all, "t4:");
	redis_stop();
	assert_int_equal(sippres_device_state_set(a.ctx, "PJSIP/alice", SIPPRES_DEVICE_BUSY), 0);
	assert_int_equal(sippres_presence_state_set(b.ctx, "CustomPresence:alice", SIPPRES_PRESENCE_DND, NULL, NULL), 0);
	for (int i = 0; i < 10; i++)
		pump_once(all, 2, 50);
	cseq = a.cseq;
	redis_start();
	w = (struct devwait){&b, "PJSIP/alice", SIPPRES_DEVICE_BUSY};
	pump_until(all, 2, device_is, &w);
	w = (struct devwait){&a, NULL, SIPPRES_PRESENCE_DND};
	pump_until(all, 2, presence_is, &w);
	/* A's subscriber record is in the new Redis too */
	b.notifies = 0;
	node_stop(&a);
	pump_until(all, 2, notified, &b);
	assert_int_equal(b.reason, SIPPRES_NOTIFY_RESTORED);
	assert_int_equal(b.cseq, cseq + 1);
	node_stop(&b);
}

static void test_bad_config(void **state)
{
	struct sippres_ctx *ctx;
	struct sippres_redis *r = NULL;
	struct sippres_redis_config cfg = {.size = sizeof(cfg), .host = "127.0.0.1", .port = 1, .node_id = "n"};

	(void)state;
	assert_int_equal(sippres_ctx_new(NULL, NULL, NULL, &ctx), 0);
	cfg.port = 0;
	assert_int_equal(sippres_redis_new(ctx, &cfg, 1, &r), SIPPRES_E_INVAL);
	cfg.port = 1;
	cfg.node_id = "bad id";
	assert_int_equal(sippres_redis_new(ctx, &cfg, 1, &r), SIPPRES_E_INVAL);
	cfg.node_id = "n";
	cfg.lease_ms = 10;
	assert_int_equal(sippres_redis_new(ctx, &cfg, 1, &r), SIPPRES_E_INVAL);
	cfg.lease_ms = 0;
	cfg.size = 8;
	assert_int_equal(sippres_redis_new(ctx, &cfg, 1, &r), SIPPRES_E_ABI);
	assert_null(r);
	cfg.size = sizeof(cfg);
	assert_int_equal(sippres_redis_new(ctx, &cfg, 1, &r), 0);
	assert_int_equal(sippres_redis_fds(r, NULL, 0), 0);
	sippres_redis_free(r);
	sippres_redis_free(NULL);
	sippres_ctx_free(ctx);
}

static int group_setup(void **state)
{
	(void)state;
	redis_port = free_port();
	assert_true(redis_port > 0);
	redis_start();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	redis_stop();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_views_and_late_node),
		cmocka_unit_test(test_takeover),
		cmocka_unit_test(test_stalled_node_lets_go),
		cmocka_unit_test(test_redis_restart),
	};
	const char *dirs[] = {"/usr/bin", "/usr/sbin", "/usr/local/bin"};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !redis_path[0]; i++) {
		snprintf(redis_path, sizeof(redis_path), "%s/redis-server", dirs[i]);
		if (access(redis_path, X_OK) != 0)
			redis_path[0] = '\0';
	}
	if (!redis_path[0]) {
		printf("1..0 # SKIP redis-server is not installed (Debian: redis-server)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("redis", tests, group_setup, group_teardown);
}
