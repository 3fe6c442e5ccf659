/* SPDX-License-Identifier: MIT */
/* Authentication and identification policy through the public API: auth
 * objects, identify objects, an endpoint's auth=, the decision of
 * sippres_auth_check() for each kind of credential, and the pjsip.conf
 * auth, identify and transport sections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libsippresence/libsippresence.h>

static int setup(void **state)
{
	struct sippres_ctx *ctx;

	if (sippres_ctx_new(NULL, NULL, NULL, &ctx) < 0)
		return -1;
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	sippres_ctx_free(*state);
	return 0;
}

static void endpoint(struct sippres_ctx *ctx, const char *name, const char *auth)
{
	struct sippres_endpoint ep = {.size = sizeof(ep), .auth = auth};

	assert_true(sippres_endpoint_set(ctx, name, &ep) >= 0);
}

static void userpass(struct sippres_ctx *ctx, const char *name, const char *user, const char *password,
                     const char *realm)
{
	struct sippres_auth a = {.size = sizeof(a), .type = SIPPRES_AUTH_USERPASS, .username = user,
	                         .password = password, .realm = realm};

	assert_true(sippres_auth_set(ctx, name, &a) >= 0);
}

/* What the verify hook saw and answers: verdicts[i] for credential i. */
struct verifier {
	int verdicts[8];
	int calls;
	size_t last_index;
	char last_auth[64], last_realm[64], last_password[64], last_md5[40];
	uint32_t last_algorithms, last_lifetime, last_type;
	struct sippres_ctx *ctx; /* set: the hook tries a call that is not allowed inside it */
	int reentrant_result;
};

static int verify(void *user_data, size_t index, const struct sippres_auth_secret *s)
{
	struct verifier *v = user_data;

	assert_int_equal(s->size, sizeof(*s));
	v->calls++;
	v->last_index = index;
	snprintf(v->last_auth, sizeof(v->last_auth), "%s", s->auth);
	snprintf(v->last_realm, sizeof(v->last_realm), "%s", s->realm);
	snprintf(v->last_password, sizeof(v->last_password), "%s", s->password ? s->password : "(null)");
	snprintf(v->last_md5, sizeof(v->last_md5), "%s", s->md5_cred ? s->md5_cred : "(null)");
	v->last_algorithms = s->algorithms;
	v->last_lifetime = s->nonce_lifetime;
	v->last_type = s->type;
	if (v->ctx) {
		struct sippres_auth a = {.size = sizeof(a), .username = "x"};

		v->reentrant_result = sippres_auth_set(v->ctx, "x", &a);
	}
	return v->verdicts[index];
}

static int check(struct sippres_ctx *ctx, const char *from_user, const char *ip, const struct sippres_auth_credential *c,
                 size_t n, struct verifier *v, struct sippres_auth_res *res)
{
	struct sippres_auth_req req = {.size = sizeof(req), .from_user = from_user, .source_ip = ip,
	                               .credentials = c, .n_credentials = n, .verify = verify, .user_data = v};

	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	return sippres_auth_check(ctx, &req, res);
}

/* ---- objects ------------------------------------------------------------------ */

static void test_auth_objects(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_auth a = {.size = sizeof(a), .type = SIPPRES_AUTH_USERPASS, .username = "alice", .password = "pw"};

	assert_int_equal(sippres_auth_set(ctx, "a", &a), 0);
	assert_int_equal(sippres_auth_set(ctx, "a", &a), 1);
	assert_int_equal(sippres_auth_set(NULL, "a", &a), SIPPRES_E_INVAL);
	assert_int_equal(sippres_auth_set(ctx, "has space", &a), SIPPRES_E_INVAL);
	assert_int_equal(sippres_auth_set(ctx, "a", NULL), SIPPRES_E_INVAL);
	a.username = NULL;
	assert_int_equal(sippres_auth_set(ctx, "b", &a), SIPPRES_E_INVAL);
	a.username = "";
	assert_int_equal(sippres_auth_set(ctx, "b", &a), SIPPRES_E_INVAL);
	a.username = "al\"ice"; /* goes into a quoted parameter */
	assert_int_equal(sippres_auth_set(ctx, "b", &a), SIPPRES_E_INVAL);
	a.username = "alice";
	a.realm = "bad\\realm";
	assert_int_equal(sippres_auth_set(ctx, "b", &a), SIPPRES_E_INVAL);
	a.realm = "line\nbreak";
	assert_int_equal(sippres_auth_set(ctx, "b", &a), SIPPRES_E_INVAL);
	a.realm = NULL;
	a.type = 7;
	assert_int_equal(sippres_auth_set(ctx, "b", &a), SIPPRES_E_INVAL);
	a.type = SIPPRES_AUTH_USERPASS;
	a.algorithms = 0x4;
	assert_int_equal(sippres_auth_set(ctx, "b", &a), SIPPRES_E_INVAL);
	/* md5: 32 hex digits, MD5 only */
	a.algorithms = 0;
	a.type = SIPPRES_AUTH_MD5;
	a.md5_cred = NULL;
	assert_int_equal(sippres_auth_set(ctx, "m", &a), SIPPRES_E_INVAL);
	a.md5_cred = "0123456789abcdef0123456789abcdeg";
	assert_int_equal(sippres_auth_set(ctx, "m", &a), SIPPRES_E_INVAL);
	a.md5_cred = "0123456789ABCDEF0123456789abcdef0";
	assert_int_equal(sippres_auth_set(ctx, "m", &a), SIPPRES_E_INVAL);
	a.md5_cred = "0123456789ABCDEF0123456789abcdef";
	a.algorithms = SIPPRES_AUTH_ALG_SHA256 | SIPPRES_AUTH_ALG_MD5;
	assert_int_equal(sippres_auth_set(ctx, "m", &a), SIPPRES_E_INVAL);
	a.algorithms = 0;
	assert_int_equal(sippres_auth_set(ctx, "m", &a), 0);
	/* a size from the future with a non-zero tail is refused */
	{
		struct {
			struct sippres_auth a;
			uint64_t more;
		} big = {.a = a, .more = 1};

		big.a.size = sizeof(big);
		assert_int_equal(sippres_auth_set(ctx, "m2", &big.a), SIPPRES_E_ABI);
	}
	assert_int_equal(sippres_auth_remove(ctx, "m"), 0);
	assert_int_equal(sippres_auth_remove(ctx, "m"), SIPPRES_E_NOTFOUND);
	assert_int_equal(sippres_auth_remove(ctx, NULL), SIPPRES_E_INVAL);
}

static void test_endpoint_auth_list(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_endpoint ep = {.size = sizeof(ep)};
	char many[256] = "";

	ep.auth = "a, b ,c";
	assert_int_equal(sippres_endpoint_set(ctx, "e", &ep), 0);
	ep.auth = ",,";
	assert_int_equal(sippres_endpoint_set(ctx, "e", &ep), 1); /* no names: no auth */
	ep.auth = "a,b c";
	assert_int_equal(sippres_endpoint_set(ctx, "e", &ep), SIPPRES_E_INVAL);
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sa%d", i ? "," : "", i);
	ep.auth = many;
	assert_int_equal(sippres_endpoint_set(ctx, "e", &ep), SIPPRES_E_INVAL); /* at most 16 */
	/* a host built against 0.1 passes the struct without auth */
	ep.size = offsetof(struct sippres_endpoint, auth);
	assert_int_equal(sippres_endpoint_set(ctx, "old", &ep), 0);
}

static void test_identify_objects(void **state)
{
	struct sippres_ctx *ctx = *state;
	const char *good[] = {"192.0.2.1", "192.0.2.0/24", "198.51.100.0/255.255.255.0", "203.0.113.7:5062",
	                      "203.0.113.8:5062/32", "2001:db8::/32", "[2001:db8::1]:5061/128", "[2001:db8::2]", "::1",
	                      " 10.0.0.1 / 8 "};
	const char *bad[] = {"pbx.example.com", "192.0.2.1/33", "192.0.2.0/255.0.255.0", "2001:db8::/129",
	                     "192.0.2.1:0", "192.0.2.1:70000", "[2001:db8::1", "192.0.2.1/", "192.0.2.1/-1",
	                     "", "192.0.2.1 x"};
	struct sippres_identify id = {.size = sizeof(id), .endpoint = "e", .match = good,
	                              .n_match = sizeof(good) / sizeof(good[0])};

	assert_int_equal(sippres_identify_set(ctx, "i", &id), 0);
	assert_int_equal(sippres_identify_set(ctx, "i", &id), 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id.match = &bad[i];
		id.n_match = 1;
		if (sippres_identify_set(ctx, "j", &id) != SIPPRES_E_INVAL)
			fail_msg("match '%s' was taken", bad[i]);
	}
	id.match = good;
	id.n_match = 0;
	assert_int_equal(sippres_identify_set(ctx, "j", &id), SIPPRES_E_INVAL);
	id.n_match = 1;
	id.endpoint = NULL;
	assert_int_equal(sippres_identify_set(ctx, "j", &id), SIPPRES_E_INVAL);
	assert_int_equal(sippres_identify_remove(ctx, "i"), 0);
	assert_int_equal(sippres_identify_remove(ctx, "i"), SIPPRES_E_NOTFOUND);
}

/* ---- identification ----------------------------------------------------------- */

static void test_identification_order(void **state)
{
	struct sippres_ctx *ctx = *state;
	const char *net[] = {"192.0.2.0/24"}, *host[] = {"192.0.2.7"}, *port[] = {"192.0.2.7:5070"},
	           *v6[] = {"2001:db8::/48"};
	struct sippres_identify id = {.size = sizeof(id), .n_match = 1};
	struct sippres_auth_res res;
	struct verifier v = {0};

	endpoint(ctx, "alice", NULL);
	endpoint(ctx, "office", NULL);
	endpoint(ctx, "desk", NULL);
	endpoint(ctx, "deskport", NULL);
	endpoint(ctx, "six", NULL);
	/* no identify, no anonymous: the From user or nothing */
	assert_int_equal(check(ctx, "alice", "192.0.2.7", NULL, 0, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_ACCEPT);
	assert_int_equal(res.identified_by, SIPPRES_IDENTIFY_USERNAME);
	assert_string_equal(res.endpoint, "alice");
	assert_null(res.auth);
	assert_int_equal(check(ctx, "mallory", "192.0.2.7", NULL, 0, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_FORBID);
	assert_int_equal(res.status, 403);
	assert_null(res.endpoint);
	/* by address first, the most specific match winning */
	id.endpoint = "office";
	id.match = net;
	assert_int_equal(sippres_identify_set(ctx, "net", &id), 0);
	id.endpoint = "desk";
	id.match = host;
	assert_int_equal(sippres_identify_set(ctx, "host", &id), 0);
	id.endpoint = "deskport";
	id.match = port;
	assert_int_equal(sippres_identify_set(ctx, "port", &id), 0);
	id.endpoint = "six";
	id.match = v6;
	assert_int_equal(sippres_identify_set(ctx, "six", &id), 0);
	assert_int_equal(check(ctx, "alice", "192.0.2.8", NULL, 0, &v, &res), 0);
	assert_string_equal(res.endpoint, "office");
	assert_int_equal(res.identified_by, SIPPRES_IDENTIFY_IP);
	assert_int_equal(check(ctx, "alice", "192.0.2.7", NULL, 0, &v, &res), 0);
	assert_string_equal(res.endpoint, "desk");
	{
		struct sippres_auth_req req = {.size = sizeof(req), .from_user = "alice", .source_ip = "192.0.2.7",
		                               .source_port = 5070};

		res.size = sizeof(res);
		assert_int_equal(sippres_auth_check(ctx, &req, &res), 0);
		assert_string_equal(res.endpoint, "deskport");
		req.source_ip = "::ffff:192.0.2.7"; /* an IPv4-mapped source is the IPv4 address */
		assert_int_equal(sippres_auth_check(ctx, &req, &res), 0);
		assert_string_equal(res.endpoint, "deskport");
		req.source_port = 70000;
		assert_int_equal(sippres_auth_check(ctx, &req, &res), SIPPRES_E_INVAL);
	}
	assert_int_equal(check(ctx, "alice", "2001:db8:0:1::5", NULL, 0, &v, &res), 0);
	assert_string_equal(res.endpoint, "six");
	assert_int_equal(check(ctx, "alice", "2001:db9::5", NULL, 0, &v, &res), 0);
	assert_string_equal(res.endpoint, "alice");
	assert_int_equal(check(ctx, "alice", "not-an-address", NULL, 0, &v, &res), 0);
	assert_string_equal(res.endpoint, "alice");
	/* an identify naming an endpoint that does not exist identifies nothing */
	id.endpoint = "ghost";
	id.match = (const char *[]){"198.51.100.1"};
	assert_int_equal(sippres_identify_set(ctx, "ghost", &id), 0);
	assert_int_equal(check(ctx, "alice", "198.51.100.1", NULL, 0, &v, &res), 0);
	assert_string_equal(res.endpoint, "alice");
	assert_int_equal(v.calls, 0);
}

static void test_anonymous_only_for_unknown(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_auth_res res;
	struct verifier v = {0};

	endpoint(ctx, "anonymous", NULL);
	endpoint(ctx, "alice", "alice-auth");
	userpass(ctx, "alice-auth", "alice", "secret", NULL);
	/* an unknown From user is anonymous */
	assert_int_equal(check(ctx, "mallory", NULL, NULL, 0, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_ACCEPT);
	assert_int_equal(res.identified_by, SIPPRES_IDENTIFY_ANONYMOUS);
	assert_string_equal(res.endpoint, "anonymous");
	/* claiming alice without credentials is challenged, never let in as anonymous */
	assert_int_equal(check(ctx, "alice", NULL, NULL, 0, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_CHALLENGE);
	assert_int_equal(res.status, 401);
	assert_string_equal(res.endpoint, "alice");
	assert_int_equal(res.n_challenges, 1);
	assert_string_equal(res.challenges[0].realm, SIPPRES_AUTH_DEFAULT_REALM);
	assert_int_equal(res.challenges[0].algorithms, SIPPRES_AUTH_ALG_SHA256 | SIPPRES_AUTH_ALG_MD5);
	assert_int_equal(res.challenges[0].stale, 0);
	assert_int_equal(res.challenges[0].nonce_lifetime, SIPPRES_AUTH_DEFAULT_NONCE_LIFETIME);
}

/* ---- authentication ------------------------------------------------------------------ */

static void test_verdicts(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_auth m = {.size = sizeof(m), .type = SIPPRES_AUTH_MD5, .username = "bob",
	                         .md5_cred = "0123456789ABCDEF0123456789ABCDEF", .realm = "pbx", .nonce_lifetime = 60};
	struct sippres_auth_credential good = {"alice", "asterisk"}, other_realm = {"alice", "elsewhere"},
	                               other_user = {"carol", "asterisk"}, md5user = {"bob", "pbx"};
	struct sippres_auth_res res;
	struct verifier v = {0};

	userpass(ctx, "alice-auth", "alice", "secret", NULL);
	assert_int_equal(sippres_auth_set(ctx, "bob-md5", &m), 0);
	endpoint(ctx, "alice", "alice-auth");
	endpoint(ctx, "both", "alice-auth, bob-md5");
	/* right credentials */
	v.verdicts[0] = SIPPRES_AUTH_VERDICT_OK;
	assert_int_equal(check(ctx, "alice", NULL, &good, 1, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_ACCEPT);
	assert_int_equal(res.status, 0);
	assert_string_equal(res.auth, "alice-auth");
	assert_int_equal(res.n_challenges, 0);
	assert_int_equal(v.calls, 1);
	assert_string_equal(v.last_password, "secret");
	assert_string_equal(v.last_realm, "asterisk");
	assert_int_equal(v.last_type, SIPPRES_AUTH_USERPASS);
	/* a wrong password: 403 */
	v.verdicts[0] = SIPPRES_AUTH_VERDICT_WRONG;
	assert_int_equal(check(ctx, "alice", NULL, &good, 1, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_FORBID);
	assert_int_equal(res.status, 403);
	assert_string_equal(res.endpoint, "alice");
	assert_int_equal(res.n_challenges, 0);
	/* a stale (or replayed) nonce: challenged again with stale=true */
	v.verdicts[0] = SIPPRES_AUTH_VERDICT_STALE;
	assert_int_equal(check(ctx, "alice", NULL, &good, 1, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_CHALLENGE);
	assert_int_equal(res.status, 401);
	assert_int_equal(res.n_challenges, 1);
	assert_int_equal(res.challenges[0].stale, 1);
	/* credentials for another realm: a new challenge, nothing verified */
	v.calls = 0;
	assert_int_equal(check(ctx, "alice", NULL, &other_realm, 1, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_CHALLENGE);
	assert_int_equal(res.challenges[0].stale, 0);
	assert_int_equal(v.calls, 0);
	/* another username in the realm: wrong, as Asterisk's lookup has it */
	assert_int_equal(check(ctx, "alice", NULL, &other_user, 1, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_FORBID);
	assert_int_equal(v.calls, 0);
	/* two auth objects: each a challenge; one wrong and one missing is still a challenge */
	v.verdicts[0] = SIPPRES_AUTH_VERDICT_WRONG;
	assert_int_equal(check(ctx, "both", NULL, &good, 1, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_CHALLENGE);
	assert_int_equal(res.n_challenges, 2);
	assert_string_equal(res.challenges[0].realm, "asterisk");
	assert_string_equal(res.challenges[1].realm, "pbx");
	assert_int_equal(res.challenges[1].algorithms, SIPPRES_AUTH_ALG_MD5);
	assert_int_equal(res.challenges[1].nonce_lifetime, 60);
	/* the second verifies: accepted with it */
	{
		struct sippres_auth_credential two[2] = {good, md5user};

		v.verdicts[0] = SIPPRES_AUTH_VERDICT_WRONG;
		v.verdicts[1] = SIPPRES_AUTH_VERDICT_OK;
		assert_int_equal(check(ctx, "both", NULL, two, 2, &v, &res), 0);
		assert_int_equal(res.decision, SIPPRES_AUTH_ACCEPT);
		assert_string_equal(res.auth, "bob-md5");
		assert_int_equal(v.last_index, 1);
		assert_string_equal(v.last_md5, "0123456789abcdef0123456789abcdef"); /* lower case */
		assert_string_equal(v.last_password, "(null)");
		/* both wrong: 403 */
		v.verdicts[1] = SIPPRES_AUTH_VERDICT_WRONG;
		assert_int_equal(check(ctx, "both", NULL, two, 2, &v, &res), 0);
		assert_int_equal(res.decision, SIPPRES_AUTH_FORBID);
	}
	/* in a dialog: the dialog's endpoint, whatever the From says */
	{
		struct sippres_auth_req req = {.size = sizeof(req), .endpoint = "alice", .from_user = "nobody"};

		res.size = sizeof(res);
		assert_int_equal(sippres_auth_check(ctx, &req, &res), 0);
		assert_int_equal(res.decision, SIPPRES_AUTH_CHALLENGE);
		assert_int_equal(res.identified_by, SIPPRES_IDENTIFY_DIALOG);
		req.endpoint = "gone";
		assert_int_equal(sippres_auth_check(ctx, &req, &res), 0);
		assert_int_equal(res.decision, SIPPRES_AUTH_FORBID);
		assert_int_equal(res.status, 403);
	}
	/* auth= naming nothing that exists: 500 */
	endpoint(ctx, "broken", "nope");
	assert_int_equal(check(ctx, "broken", NULL, NULL, 0, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_FORBID);
	assert_int_equal(res.status, 500);
	/* removing the auth object leaves the endpoint closed, not open */
	assert_int_equal(sippres_auth_remove(ctx, "alice-auth"), 0);
	assert_int_equal(check(ctx, "alice", NULL, &good, 1, &v, &res), 0);
	assert_int_equal(res.status, 500);
}

static void test_verify_hook_errors(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_auth_credential good = {"alice", "asterisk"};
	struct sippres_auth_req req = {.size = sizeof(req), .from_user = "alice", .credentials = &good,
	                               .n_credentials = 1};
	struct sippres_auth_res res = {.size = sizeof(res)};
	struct verifier v = {0};

	userpass(ctx, "alice-auth", "alice", "secret", NULL);
	endpoint(ctx, "alice", "alice-auth");
	assert_int_equal(sippres_auth_check(ctx, &req, &res), SIPPRES_E_INVAL); /* credentials, no hook */
	req.verify = verify;
	req.user_data = &v;
	v.verdicts[0] = -5;
	assert_int_equal(sippres_auth_check(ctx, &req, &res), SIPPRES_E_CALLBACK);
	v.verdicts[0] = 3;
	assert_int_equal(sippres_auth_check(ctx, &req, &res), SIPPRES_E_CALLBACK);
	v.verdicts[0] = SIPPRES_AUTH_VERDICT_OK;
	v.ctx = ctx;
	assert_int_equal(sippres_auth_check(ctx, &req, &res), 0);
	assert_int_equal(v.reentrant_result, SIPPRES_E_REENTRANT);
	req.flags = 1;
	assert_int_equal(sippres_auth_check(ctx, &req, &res), SIPPRES_E_INVAL);
	req.flags = 0;
	res.size = 8;
	assert_int_equal(sippres_auth_check(ctx, &req, &res), SIPPRES_E_ABI);
	assert_int_equal(sippres_auth_check(NULL, &req, &res), SIPPRES_E_INVAL);
}

/* ---- pjsip.conf -------------------------------------------------------------------------- */

struct io_state {
	char problems[32][300];
	int n_problems;
	char loaded[32][80];
	int n_loaded;
	char transports[4][400];
	int n_transports;
};

static void on_problem(void *ud, const char *file, const struct sippres_diag *d)
{
	struct io_state *s = ud;

	assert_true(s->n_problems < 32);
	snprintf(s->problems[s->n_problems++], 300, "%s:%u:%u: %s", file, d->line, d->column, d->message);
}

static void on_loaded(void *ud, const char *type, const char *name)
{
	struct io_state *s = ud;

	assert_true(s->n_loaded < 32);
	snprintf(s->loaded[s->n_loaded++], 80, "%s %s", type, name);
}

static void on_transport(void *ud, const char *name, const struct sippres_conf_transport *t)
{
	struct io_state *s = ud;

	assert_int_equal(t->size, sizeof(*t));
	assert_true(s->n_transports < 4);
	snprintf(s->transports[s->n_transports++], 400, "%s %s %s cert=%s key=%s ca=%s verify=%u require=%u method=%s",
	         name, t->protocol, t->bind, t->cert_file ? t->cert_file : "-", t->priv_key_file ? t->priv_key_file : "-",
	         t->ca_list_file ? t->ca_list_file : "-", t->verify_client, t->require_client_cert,
	         t->method ? t->method : "-");
}

static int load(struct sippres_ctx *ctx, struct io_state *s, const char *text)
{
	struct sippres_config_io io = {.size = sizeof(io), .user_data = s, .problem = on_problem, .loaded = on_loaded,
	                               .transport = on_transport};

	memset(s, 0, sizeof(*s));
	return sippres_config_load_pjsip(ctx, "pjsip.conf", text, strlen(text), &io);
}

static bool was_loaded(const struct io_state *s, const char *what)
{
	for (int i = 0; i < s->n_loaded; i++) {
		if (strcmp(s->loaded[i], what) == 0)
			return true;
	}
	return false;
}

static void expect_problem(const struct io_state *s, int i, const char *where, const char *needle)
{
	if (i >= s->n_problems)
		fail_msg("expected problem %d at %s (%s), only %d", i, where, needle, s->n_problems);
	if (strncmp(s->problems[i], where, strlen(where)) != 0 || !strstr(s->problems[i], needle))
		fail_msg("problem %d is '%s'; expected '%s' ... '%s'", i, s->problems[i], where, needle);
}

static void test_pjsip_auth_sections(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct sippres_auth_credential md5c = {"bob", "pbx"}, a1 = {"1001", "asterisk"};
	struct sippres_auth_res res;
	struct verifier v = {0};
	struct io_state s;
	const char *pj =
		"[alice]\ntype=endpoint\nauth=alice-auth\n"                                   /* 1-3 */
		"[alice-auth]\ntype=auth\nauth_type=userpass\nusername=1001\npassword=s3cret\n" /* 4-8 */
		"[bob]\ntype=endpoint\nauth = bob-md5, missing\n"                             /* 9-11 */
		"[bob-md5]\ntype=auth\nauth_type=md5\nusername=bob\nrealm=pbx\n"             /* 12-16 */
		"md5_cred=0123456789abcdef0123456789abcdef\nnonce_lifetime=120\n"             /* 17-18 */
		"[phones]\ntype=identify\nendpoint=alice\nmatch=192.0.2.0/24, 198.51.100.7\n" /* 19-22 */
		"match=2001:db8::1\nsrv_lookups=yes\n"                                        /* 23-24 */
		"[tls]\ntype=transport\nprotocol=tls\nbind=0.0.0.0:5061\ncert_file=/k/c.pem\n" /* 25-29 */
		"priv_key_file=/k/k.pem\nca_list_file=/k/ca.pem\nverify_client=yes\nmethod=tlsv1_2\n" /* 30-33 */
		"external_signaling_address=203.0.113.1\n"                                    /* 34 */
		"[tcp]\ntype=transport\nprotocol=tcp\nbind=[::1]:5070\n";                     /* 35-38 */

	assert_int_equal(load(ctx, &s, pj), 1);
	expect_problem(&s, 0, "pjsip.conf:11:", "auth 'missing' names no auth section");
	assert_true(was_loaded(&s, "auth alice-auth"));
	assert_true(was_loaded(&s, "auth bob-md5"));
	assert_true(was_loaded(&s, "identify phones"));
	assert_true(was_loaded(&s, "transport tls"));
	assert_true(was_loaded(&s, "transport tcp"));
	assert_int_equal(s.n_transports, 2);
	assert_string_equal(s.transports[0], "tls tls 0.0.0.0:5061 cert=/k/c.pem key=/k/k.pem ca=/k/ca.pem verify=1 "
	                                     "require=0 method=tlsv1_2");
	assert_string_equal(s.transports[1], "tcp tcp [::1]:5070 cert=- key=- ca=- verify=0 require=0 method=-");
	/* the policy is in place: alice by address and by name, bob with his md5 credential */
	assert_int_equal(check(ctx, "nobody", "198.51.100.7", NULL, 0, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_CHALLENGE);
	assert_string_equal(res.endpoint, "alice");
	assert_int_equal(res.identified_by, SIPPRES_IDENTIFY_IP);
	v.verdicts[0] = SIPPRES_AUTH_VERDICT_OK;
	assert_int_equal(check(ctx, "alice", NULL, &a1, 1, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_ACCEPT);
	assert_string_equal(v.last_password, "s3cret");
	assert_int_equal(v.last_lifetime, 32);
	assert_int_equal(check(ctx, "bob", NULL, &md5c, 1, &v, &res), 0);
	assert_int_equal(res.decision, SIPPRES_AUTH_ACCEPT);
	assert_string_equal(v.last_md5, "0123456789abcdef0123456789abcdef");
	assert_int_equal(v.last_lifetime, 120);
	assert_int_equal(v.last_algorithms, SIPPRES_AUTH_ALG_MD5);
}

static void test_pjsip_auth_problems(void **state)
{
	struct sippres_ctx *ctx = *state;
	struct io_state s;
	const char *pj =
		"[a1]\ntype=auth\nauth_type=google_oauth\nusername=x\n"          /* 1-4 */
		"[a2]\ntype=auth\npassword=x\n"                                    /* 5-7 */
		"[a3]\ntype=auth\nauth_type=md5\nusername=x\n"                     /* 8-11 */
		"[a4]\ntype=auth\nauth_type=md5\nusername=x\nmd5_cred=abc\n"       /* 12-16 */
		"[a5]\ntype=auth\nusername=x\nnonce_lifetime=0\n"                  /* 17-20 */
		"[a6]\ntype=auth\nusername=x\nsupported_algorithms_uas=SHA-512-256,sha-256\nfoo=1\n" /* 21-25 */
		"[i1]\ntype=identify\nmatch=pbx.example.com\nendpoint=e\n"        /* 26-29 */
		"[i2]\ntype=identify\nmatch=192.0.2.1\nmatch_header=X-Foo: bar\n"  /* 30-33 */
		"[t1]\ntype=transport\nprotocol=ws\nbind=0.0.0.0\n"               /* 34-37 */
		"[t2]\ntype=transport\nprotocol=tls\nbind=0.0.0.0:5061\n"         /* 38-41 */
		"[t3]\ntype=transport\nprotocol=tcp\nbind=0.0.0.0\nverify_client=maybe\n" /* 42-46 */
		"[e]\ntype=endpoint\nauth=has space\n";                           /* 47-49 */

	assert_int_equal(load(ctx, &s, pj), 15);
	expect_problem(&s, 0, "pjsip.conf:3:", "auth_type 'google_oauth' is not supported");
	expect_problem(&s, 1, "pjsip.conf:5:", "auth 'a2' has no username");
	expect_problem(&s, 2, "pjsip.conf:8:", "needs md5_cred");
	expect_problem(&s, 3, "pjsip.conf:12:", "md5_cred 'abc' is not 32 hex digits");
	expect_problem(&s, 4, "pjsip.conf:20:", "nonce_lifetime");
	expect_problem(&s, 5, "pjsip.conf:24:", "'SHA-512-256' is not supported");
	expect_problem(&s, 6, "pjsip.conf:25:", "unknown key 'foo'");
	expect_problem(&s, 7, "pjsip.conf:26:", "identify 'i1' has no usable match");
	expect_problem(&s, 8, "pjsip.conf:28:", "host names are not looked up");
	expect_problem(&s, 9, "pjsip.conf:30:", "identify 'i2' has no endpoint");
	expect_problem(&s, 10, "pjsip.conf:33:", "match_header is not supported");
	expect_problem(&s, 11, "pjsip.conf:36:", "protocol 'ws' is not supported");
	expect_problem(&s, 12, "pjsip.conf:38:", "has no cert_file");
	expect_problem(&s, 13, "pjsip.conf:46:", "verify_client: 'maybe' is not a boolean");
	expect_problem(&s, 14, "pjsip.conf:49:", "is not a list of at most 16 auth section names");
	assert_true(was_loaded(&s, "auth a6")); /* an unsupported algorithm among supported ones: a problem only */
	assert_false(was_loaded(&s, "auth a1"));
	assert_false(was_loaded(&s, "auth a4"));
	assert_int_equal(s.n_transports, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auth_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_auth_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identification_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anonymous_only_for_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_hook_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_auth_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pjsip_auth_problems, setup, teardown),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
