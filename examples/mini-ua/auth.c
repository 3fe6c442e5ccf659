/* SPDX-License-Identifier: MIT */
/* Digest authentication for the mini UA (RFC 7616 and RFC 8760 as RFC 3261
 * 22 uses them, qop=auth, MD5 and SHA-256), with OpenSSL's libcrypto for the
 * hashes, the MAC and the randomness. The library decides who must
 * authenticate (sippres_auth_check()); this file makes the nonces, checks the
 * Authorization headers it is asked about and writes the challenges.
 *
 * A nonce is "<seconds>.<random>.<mac>" in hex: the time it was issued, 8
 * random bytes, and the first 16 bytes of HMAC-SHA256 over both, the client's
 * address and the realm under a secret drawn at start. So a nonce is only
 * good from the address it was given to, for its realm, for the auth object's
 * nonce_lifetime, and not after a restart. Nonces cost no memory until a
 * request with the right credentials uses one: then its highest nonce count
 * is remembered until it expires (at most UA_AUTH_MAX_USED), so that a
 * replayed request (same nonce, a nonce count not above the last) is stale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth.h"

#define NONCE_LEN (16 + 1 + 16 + 1 + 32)
#define CLOCK_SKEW 5 /* seconds a nonce may seem to come from the future */

struct used {
	char nonce[NONCE_LEN + 1];
	uint64_t issued;   /* seconds */
	uint64_t expires;  /* seconds */
	uint32_t nc;       /* highest nonce count seen; 0: used without qop */
	struct used *hnext, *qnext;
};

struct ua_auth {
	unsigned char secret[32];
	struct used **buckets;
	size_t nbuckets, count;
	struct used *qhead, *qtail; /* by first use */
	uint64_t floor;             /* nonces issued at or before it are stale (the table overflowed) */
};

struct ua_auth *ua_auth_new(void)
{
	struct ua_auth *a = calloc(1, sizeof(*a));

	if (!a) {
		ua_log(LOG_ERR, "out of memory");
		return NULL;
	}
	a->nbuckets = 4096;
	a->buckets = calloc(a->nbuckets, sizeof(*a->buckets));
	if (!a->buckets || RAND_bytes(a->secret, sizeof(a->secret)) != 1) {
		ua_log(LOG_ERR, "cannot set up digest authentication (memory or OpenSSL's random generator)");
		ua_auth_free(a);
		return NULL;
	}
	return a;
}

void ua_auth_free(struct ua_auth *a)
{
	if (!a)
		return;
	for (struct used *u = a->qhead, *n; u; u = n) {
		n = u->qnext;
		free(u);
	}
	free(a->buckets);
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
	free(a);
}

static uint64_t now_s(void)
{
	return ua_now_wall_ms() / 1000;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int digest_hex(uint32_t alg, const char *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(data, len, md, &n, alg == SIPPRES_AUTH_ALG_SHA256 ? EVP_sha256() : EVP_md5(), NULL) != 1)
		return -1;
	hex(md, n, out);
	return 0;
}

/* H(a:b:...) of up to 6 parts. */
static int digest_parts(uint32_t alg, char *out, const char *const *parts, size_t n)
{
	struct sbuf b;
	int r;

	sbuf_init(&b);
	for (size_t i = 0; i < n; i++)
		sbuf_printf(&b, "%s%s", i ? ":" : "", parts[i]);
	r = b.oom ? -1 : digest_hex(alg, b.s ? b.s : "", b.len, out);
	OPENSSL_cleanse(b.s, b.cap);
	sbuf_free(&b);
	return r;
}

static void nonce_mac(const struct ua_auth *a, const char *head, size_t head_len, const char *ip, const char *realm,
                      char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct sbuf b;

	sbuf_init(&b);
	sbuf_printf(&b, "%.*s|%s|%s", (int)head_len, head, ip, realm);
	if (b.oom || !HMAC(EVP_sha256(), a->secret, sizeof(a->secret), (const unsigned char *)b.s, b.len, md, &n))
		memset(md, 0, sizeof(md)); /* never matches a real MAC in practice; the nonce is then stale */
	sbuf_free(&b);
	hex(md, 16, out);
}

static int make_nonce(const struct ua_auth *a, const char *ip, const char *realm, char *out)
{
	unsigned char rnd[8];
	char r[17];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	hex(rnd, sizeof(rnd), r);
	snprintf(out, NONCE_LEN + 1, "%016llx.%s.", (unsigned long long)now_s(), r);
	nonce_mac(a, out, 34, ip, realm, out + 34);
	return 0;
}

/* Issued time of a nonce made here for ip and realm, or 0 when it is not one. */
static uint64_t nonce_issued(const struct ua_auth *a, const char *nonce, const char *ip, const char *realm)
{
	char mac[33];
	unsigned long long t;

	if (strlen(nonce) != NONCE_LEN || nonce[16] != '.' || nonce[33] != '.' ||
	    strspn(nonce, "0123456789abcdef") != 16 || sscanf(nonce, "%16llx", &t) != 1)
		return 0;
	nonce_mac(a, nonce, 34, ip, realm, mac);
	if (CRYPTO_memcmp(mac, nonce + 34, 32) != 0)
		return 0;
	return t;
}

/* ---- used nonces ------------------------------------------------------------------ */

static size_t bucket_of(const struct ua_auth *a, const char *nonce)
{
	return (size_t)ua_fnv64(nonce, strlen(nonce)) & (a->nbuckets - 1);
}

static void used_unlink(struct ua_auth *a, struct used *u)
{
	struct used **p = &a->buckets[bucket_of(a, u->nonce)];

	while (*p && *p != u)
		p = &(*p)->hnext;
	if (*p)
		*p = u->hnext;
	a->count--;
}

/* Drop the expired ones at the head; at the cap, the oldest too (raising the floor). */
static void used_expire(struct ua_auth *a, uint64_t now)
{
	while (a->qhead && (a->qhead->expires < now || a->count >= UA_AUTH_MAX_USED)) {
		struct used *u = a->qhead;

		if (u->expires >= now && u->issued > a->floor)
			a->floor = u->issued;
		a->qhead = u->qnext;
		if (!a->qhead)
			a->qtail = NULL;
		used_unlink(a, u);
		free(u);
	}
}

/* Record a use of nonce with nonce count nc (0: no qop). false: a replay (or out of memory, logged). */
static bool used_check_and_record(struct ua_auth *a, const char *nonce, uint64_t issued, uint32_t lifetime,
                                  uint32_t nc, bool has_nc, uint64_t now)
{
	size_t b;
	struct used *u;

	used_expire(a, now);
	if (issued <= a->floor)
		return false;
	b = bucket_of(a, nonce);
	for (u = a->buckets[b]; u; u = u->hnext) {
		if (strcmp(u->nonce, nonce) == 0) {
			if (!has_nc || nc <= u->nc)
				return false;
			u->nc = nc;
			return true;
		}
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		ua_log(LOG_ERR, "out of memory: a nonce is refused");
		return false;
	}
	snprintf(u->nonce, sizeof(u->nonce), "%s", nonce);
	u->issued = issued;
	u->expires = issued + lifetime;
	u->nc = has_nc ? nc : 0;
	u->hnext = a->buckets[b];
	a->buckets[b] = u;
	if (a->qtail)
		a->qtail->qnext = u;
	else
		a->qhead = u;
	a->qtail = u;
	a->count++;
	return true;
}

/* ---- the check of one Authorization ------------------------------------------------- */

/* osip keeps quoted values with their quotes: a copy without them (NULL: none). */
static char *unq(const char *s)
{
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		return strndup(s + 1, n - 2);
	return strdup(s);
}

struct cred {
	char *scheme, *username, *realm, *nonce, *uri, *response, *algorithm, *cnonce, *qop, *nc;
};

static void cred_free(struct cred *c)
{
	free(c->scheme);
	free(c->username);
	free(c->realm);
	free(c->nonce);
	free(c->uri);
	free(c->response);
	free(c->algorithm);
	free(c->cnonce);
	free(c->qop);
	free(c->nc);
}

struct verify_ctx {
	struct ua_auth *a;
	const char *method, *ip;
	struct cred *creds;
	uint64_t now;
	bool stale;
};

static int verify(void *user_data, size_t index, const struct sippres_auth_secret *s)
{
	struct verify_ctx *v = user_data;
	const struct cred *c = &v->creds[index];
	char ha1[65], ha2[65], want[65], got[65];
	uint32_t alg, nc = 0;
	uint64_t issued;
	size_t n;

	if (!c->scheme || strcasecmp(c->scheme, "Digest") != 0 || !c->nonce || !c->uri || !c->response)
		return SIPPRES_AUTH_VERDICT_WRONG;
	if (!c->algorithm || strcasecmp(c->algorithm, "MD5") == 0)
		alg = SIPPRES_AUTH_ALG_MD5;
	else if (strcasecmp(c->algorithm, "SHA-256") == 0)
		alg = SIPPRES_AUTH_ALG_SHA256;
	else
		return SIPPRES_AUTH_VERDICT_WRONG; /* MD5-sess, SHA-512-256, ...: never offered */
	if (!(s->algorithms & alg))
		return SIPPRES_AUTH_VERDICT_WRONG;
	if (c->qop) {
		char *end;
		unsigned long x;

		if (strcasecmp(c->qop, "auth") != 0 || !c->cnonce || !c->cnonce[0] || !c->nc || strlen(c->nc) != 8)
			return SIPPRES_AUTH_VERDICT_WRONG;
		x = strtoul(c->nc, &end, 16);
		if (*end || x == 0)
			return SIPPRES_AUTH_VERDICT_WRONG;
		nc = (uint32_t)x;
	}
	/* the response */
	if (s->type == SIPPRES_AUTH_MD5) {
		snprintf(ha1, sizeof(ha1), "%s", s->md5_cred);
	} else {
		const char *p[] = {s->username, s->realm, s->password};

		if (digest_parts(alg, ha1, p, 3) < 0)
			return -1;
	}
	{
		const char *p[] = {v->method, c->uri};

		if (digest_parts(alg, ha2, p, 2) < 0)
			return -1;
	}
	if (c->qop) {
		const char *p[] = {ha1, c->nonce, c->nc, c->cnonce, "auth", ha2};

		if (digest_parts(alg, want, p, 6) < 0)
			return -1;
	} else {
		const char *p[] = {ha1, c->nonce, ha2};

		if (digest_parts(alg, want, p, 3) < 0)
			return -1;
	}
	OPENSSL_cleanse(ha1, sizeof(ha1));
	n = strlen(c->response);
	if (n != strlen(want))
		return SIPPRES_AUTH_VERDICT_WRONG;
	for (size_t i = 0; i < n; i++)
		got[i] = (char)((c->response[i] >= 'A' && c->response[i] <= 'F') ? c->response[i] + 32 : c->response[i]);
	got[n] = '\0';
	if (CRYPTO_memcmp(got, want, n) != 0)
		return SIPPRES_AUTH_VERDICT_WRONG;
	/* the nonce: ours, for this address and realm, fresh, not used before with this count */
	issued = nonce_issued(v->a, c->nonce, v->ip, s->realm);
	if (!issued || issued > v->now + CLOCK_SKEW || (v->now > issued && v->now - issued > s->nonce_lifetime) ||
	    !used_check_and_record(v->a, c->nonce, issued, s->nonce_lifetime, nc, c->qop != NULL, v->now))
		return SIPPRES_AUTH_VERDICT_STALE;
	return SIPPRES_AUTH_VERDICT_OK;
}

/* ---- a request ------------------------------------------------------------------------ */

static int challenges(struct ua_auth *a, const struct sippres_auth_res *res, const char *ip, struct sbuf *out)
{
	for (size_t i = 0; i < res->n_challenges; i++) {
		const struct sippres_auth_challenge *c = &res->challenges[i];
		char nonce[NONCE_LEN + 1];

		if (make_nonce(a, ip, c->realm, nonce) < 0)
			return -1;
		/* RFC 8760 3: one challenge per algorithm, the preferred (SHA-256) first */
		for (int k = 0; k < 2; k++) {
			uint32_t alg = k == 0 ? SIPPRES_AUTH_ALG_SHA256 : SIPPRES_AUTH_ALG_MD5;

			if (c->algorithms & alg)
				sbuf_printf(out, "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s\r\n",
				            c->realm, nonce, alg == SIPPRES_AUTH_ALG_SHA256 ? "SHA-256" : "MD5",
				            c->stale ? ", stale=true" : "");
		}
	}
	return out->oom ? -1 : 0;
}

int ua_auth_request(struct sippres_ctx *ctx, struct ua_auth *a, const struct sip_in *in, const struct ua_addr *src,
                    const char *from_user, const char *dialog_endpoint, struct auth_outcome *o)
{
	struct sippres_auth_credential cc[8];
	struct cred creds[8];
	struct sippres_auth_req req = {.size = sizeof(req), .endpoint = dialog_endpoint, .from_user = from_user};
	struct sippres_auth_res res = {.size = sizeof(res)};
	struct verify_ctx v = {.a = a, .method = in->method, .creds = creds, .now = now_s()};
	char ip[64];
	size_t n = 0;
	int r, rc = -1;

	memset(o, 0, sizeof(*o));
	sbuf_init(&o->extra);
	memset(creds, 0, sizeof(creds));
	addr_host(src, ip, sizeof(ip));
	v.ip = ip;
	req.source_ip = ip;
	req.source_port = addr_port(src);
	/* at most 8 Authorization headers are looked at; more are a client's mistake or an attack */
	for (int i = 0; n < sizeof(creds) / sizeof(creds[0]); i++) {
		osip_authorization_t *h = NULL;
		struct cred *c = &creds[n];

		/* a SUBSCRIBE read without libosip2 (in->fast) has no Authorization header */
		if (!in->msg || osip_message_get_authorization(in->msg, i, &h) < 0 || !h)
			break;
		c->scheme = unq(h->auth_type);
		c->username = unq(h->username);
		c->realm = unq(h->realm);
		c->nonce = unq(h->nonce);
		c->uri = unq(h->uri);
		c->response = unq(h->response);
		c->algorithm = unq(h->algorithm);
		c->cnonce = unq(h->cnonce);
		c->qop = unq(h->message_qop);
		c->nc = unq(h->nonce_count);
		cc[n].username = c->username;
		cc[n].realm = c->realm;
		n++;
	}
	req.credentials = n ? cc : NULL;
	req.n_credentials = n;
	req.verify = verify;
	req.user_data = &v;
	r = sippres_auth_check(ctx, &req, &res);
	if (r < 0) {
		ua_log(LOG_ERR, "sippres_auth_check: %s", sippres_strerror(r));
		goto out;
	}
	o->why = res.reason;
	if (res.endpoint)
		snprintf(o->endpoint, sizeof(o->endpoint), "%s", res.endpoint);
	if (res.auth)
		snprintf(o->auth, sizeof(o->auth), "%s", res.auth);
	if (res.decision == SIPPRES_AUTH_ACCEPT) {
		o->status = 0;
	} else {
		o->status = (int)res.status;
		if (res.decision == SIPPRES_AUTH_CHALLENGE && challenges(a, &res, ip, &o->extra) < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		cred_free(&creds[i]);
	return rc;
}
