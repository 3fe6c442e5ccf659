/* SPDX-License-Identifier: MIT */
/* The view messages replication hands to other nodes (docs/cluster.md,
 * "Messages"). Integers little-endian; a string is u32 length | bytes, the
 * length 0xffffffff meaning none:
 *   "SPRV" | u8 format (1) | u8 kind | u8 flags | u8 state | u64 sequence
 *   u64 stamp (the sequence number of the change itself: a resync re-sends
 *   a view with a new sequence number and its old stamp)
 *   u8 origin length | origin | u16 name length | name
 *   device:   u16 calls | per call: u8 state, u8 direction, u8 privacy flags,
 *             7 strings (call-id, local tag, remote tag, local URI, local
 *             display, remote URI, remote display)
 *   presence: 2 strings (subtype, message)
 *   sweep:    nothing (the name is empty)
 *   u32 CRC-32 of everything before it */
#include <string.h>

#include "registry-private.h"

#define FORMAT 1
#define HEAD 24
#define NONE UINT32_MAX
#define CALL_STRS 7

static size_t str_size(const char *s)
{
	return 4 + (s ? strlen(s) : 0);
}

static void put_str(struct sippres__wr *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	sippres__wr32(w, s ? (uint32_t)n : NONE);
	sippres__wrmem(w, s, n);
}

static const char *const *call_strs(const struct sippres_call *c, const char *v[CALL_STRS])
{
	v[0] = c->call_id;
	v[1] = c->local_tag;
	v[2] = c->remote_tag;
	v[3] = c->local_uri;
	v[4] = c->local_display;
	v[5] = c->remote_uri;
	v[6] = c->remote_display;
	return v;
}

#define OWN_CALL(n) SIPPRES__CONTAINER_OF((n), struct sippres__call, node)

static size_t head_size(const char *origin, const char *name)
{
	return HEAD + 1 + strlen(origin) + 2 + strlen(name) + 4;
}

static void put_head(struct sippres__wr *w, uint32_t kind, uint32_t flags, int state, uint64_t seq,
                     uint64_t stamp, const char *origin, const char *name)
{
	size_t no = strlen(origin), nn = strlen(name);

	sippres__wrmem(w, "SPRV", 4);
	sippres__wr8(w, FORMAT);
	sippres__wr8(w, (uint8_t)kind);
	sippres__wr8(w, (uint8_t)flags);
	sippres__wr8(w, (uint8_t)state);
	sippres__wr64(w, seq);
	sippres__wr64(w, stamp);
	sippres__wr8(w, (uint8_t)no);
	sippres__wrmem(w, origin, no);
	sippres__wr16(w, (uint16_t)nn);
	sippres__wrmem(w, name, nn);
}

static size_t put_crc(struct sippres__wr *w)
{
	uint32_t crc = sippres__crc32(w->p, w->off);

	sippres__wr32(w, crc);
	return w->off;
}

size_t sippres__vmsg_device_size(const struct sippres__source *d, const char *origin)
{
	size_t n = head_size(origin, d->name) + 2, k = 0;
	const char *v[CALL_STRS];

	for (const struct sippres__dnode *c = d->calls.head; c && k < SIPPRES__VIEW_MAX_CALLS; c = c->next) {
		if (OWN_CALL(c)->origin)
			continue;
		call_strs(&OWN_CALL(c)->pub, v);
		n += 3;
		for (int i = 0; i < CALL_STRS; i++)
			n += str_size(v[i]);
		k++;
	}
	return n;
}

size_t sippres__vmsg_device_encode(const struct sippres__source *d, const char *origin, uint64_t seq,
                                   uint64_t stamp, uint32_t flags, int state, uint8_t *buf)
{
	struct sippres__wr w = {buf, 0};
	size_t at, k = 0;
	const char *v[CALL_STRS];

	put_head(&w, SIPPRES_REPL_DEVICE, flags, state, seq, stamp, origin, d->name);
	at = w.off;
	sippres__wr16(&w, 0);
	for (const struct sippres__dnode *c = d->calls.head; c && k < SIPPRES__VIEW_MAX_CALLS; c = c->next) {
		const struct sippres_call *call = &OWN_CALL(c)->pub;

		if (OWN_CALL(c)->origin)
			continue;
		sippres__wr8(&w, (uint8_t)call->state);
		sippres__wr8(&w, (uint8_t)call->direction);
		sippres__wr8(&w, (uint8_t)call->flags);
		call_strs(call, v);
		for (int i = 0; i < CALL_STRS; i++)
			put_str(&w, v[i]);
		k++;
	}
	sippres__put16(buf + at, (uint16_t)k);
	return put_crc(&w);
}

size_t sippres__vmsg_provider_size(const char *name, const char *origin, const char *sub, const char *msg)
{
	return head_size(origin, name) + str_size(sub) + str_size(msg);
}

size_t sippres__vmsg_provider_encode(const char *name, const char *origin, uint64_t seq, uint64_t stamp, int state,
                                     const char *sub, const char *msg, uint8_t *buf)
{
	struct sippres__wr w = {buf, 0};

	put_head(&w, SIPPRES_REPL_PRESENCE, 0, state, seq, stamp, origin, name);
	put_str(&w, sub);
	put_str(&w, msg);
	return put_crc(&w);
}

size_t sippres__vmsg_sweep_size(const char *origin)
{
	return head_size(origin, "");
}

size_t sippres__vmsg_sweep_encode(const char *origin, uint64_t seq, uint8_t *buf)
{
	struct sippres__wr w = {buf, 0};

	put_head(&w, SIPPRES_REPL_SWEEP, 0, 0, seq, seq, origin, "");
	return put_crc(&w);
}

/* ---------------------------------------------------------------- decoding */

struct rd {
	const uint8_t *p;
	size_t off, end; /* end: where the CRC starts */
	char *out;       /* second pass: where strings are copied (NUL-terminated) */
	size_t need;     /* first pass: bytes the copies take */
};

static bool rd_has(const struct rd *r, size_t n)
{
	return n <= r->end - r->off;
}

/* A string of at most max bytes that passes ok (NULL: any valid text);
 * *out (second pass) the copy or NULL for none. */
static int rd_str(struct rd *r, size_t lenbytes, size_t max, bool (*ok)(const char *, size_t), const char **out)
{
	uint32_t n;
	size_t bad;
	const char *s;

	if (!rd_has(r, lenbytes))
		return SIPPRES_E_PARSE;
	n = lenbytes == 1 ? r->p[r->off] : lenbytes == 2 ? sippres__get16(r->p + r->off) : sippres__get32(r->p + r->off);
	r->off += lenbytes;
	if (lenbytes == 4 && n == NONE) {
		if (out)
			*out = NULL;
		return 0;
	}
	if (n > max || !rd_has(r, n))
		return SIPPRES_E_PARSE;
	s = (const char *)r->p + r->off;
	if (memchr(s, '\0', n) || !sippres__text_ok(s, n, &bad) || (ok && !ok(s, n)))
		return SIPPRES_E_PARSE;
	r->off += n;
	if (!r->out) {
		r->need += n + 1;
	} else if (out) {
		memcpy(r->out, s, n);
		r->out[n] = '\0';
		*out = r->out;
		r->out += n + 1;
	}
	return 0;
}

static bool name_ok(const char *s, size_t n)
{
	size_t bad;

	return sippres__device_name_ok(s, n, &bad);
}

static bool call_id_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ')
			return false;
	}
	return n > 0;
}

static bool empty(const char *s, size_t n)
{
	(void)s;
	return n == 0;
}

/* One pass over the message after its fixed head (two passes: first
 * r->out NULL to count, then copying into m). */
static int rd_body(struct rd *r, struct sippres__vmsg *m)
{
	const char *tmp;
	int e;

	r->off = HEAD;
	e = rd_str(r, 1, SIPPRES_MAX_ORIGIN, sippres__origin_ok, r->out ? &m->origin : &tmp);
	if (e == 0)
		e = rd_str(r, 2, SIPPRES_MAX_NAME, m->kind == SIPPRES_REPL_SWEEP ? empty : name_ok,
		           r->out ? &m->name : &tmp);
	if (e < 0)
		return e;
	if (m->kind == SIPPRES_REPL_PRESENCE) {
		e = rd_str(r, 4, SIPPRES_MAX_TEXT, NULL, r->out ? &m->subtype : &tmp);
		if (e == 0)
			e = rd_str(r, 4, SIPPRES_MAX_TEXT, NULL, r->out ? &m->message : &tmp);
	} else if (m->kind == SIPPRES_REPL_DEVICE) {
		size_t n;

		if (!rd_has(r, 2))
			return SIPPRES_E_PARSE;
		n = sippres__get16(r->p + r->off);
		r->off += 2;
		if (n > SIPPRES__VIEW_MAX_CALLS)
			return SIPPRES_E_PARSE;
		m->ncalls = n;
		for (size_t k = 0; k < n && e == 0; k++) {
			struct sippres_call *c = r->out ? &m->calls[k] : NULL;
			const char **f[CALL_STRS];
			const char *dummy[CALL_STRS];

			if (!rd_has(r, 3) || r->p[r->off] > SIPPRES_CALL_HELD || r->p[r->off + 1] > SIPPRES_DIRECTION_INITIATOR ||
			    (r->p[r->off + 2] & ~(SIPPRES_CALL_NAME_RESTRICTED | SIPPRES_CALL_NUMBER_RESTRICTED)))
				return SIPPRES_E_PARSE;
			if (c) {
				memset(c, 0, sizeof(*c));
				c->size = sizeof(*c);
				c->state = r->p[r->off];
				c->direction = r->p[r->off + 1];
				c->flags = r->p[r->off + 2];
				f[0] = &c->call_id;
				f[1] = &c->local_tag;
				f[2] = &c->remote_tag;
				f[3] = &c->local_uri;
				f[4] = &c->local_display;
				f[5] = &c->remote_uri;
				f[6] = &c->remote_display;
			} else {
				for (int i = 0; i < CALL_STRS; i++) {
					dummy[i] = "";
					f[i] = &dummy[i];
				}
			}
			r->off += 3;
			for (int i = 0; i < CALL_STRS && e == 0; i++)
				e = rd_str(r, 4, i == 0 ? SIPPRES_MAX_NAME : SIPPRES_MAX_TEXT, i == 0 ? call_id_ok : NULL, f[i]);
			if (e == 0 && !*f[0])
				return SIPPRES_E_PARSE; /* a call needs its id */
		}
	}
	if (e == 0 && r->off != r->end)
		return SIPPRES_E_PARSE;
	return e;
}

int sippres__vmsg_decode(struct sippres_ctx *ctx, const void *data, size_t len, struct sippres__vmsg *m)
{
	const uint8_t *b = data;
	struct rd r = {.p = b};
	size_t calls_size;
	int e;

	memset(m, 0, sizeof(*m));
	if (len < HEAD + 1 + 2 + 4 || memcmp(b, "SPRV", 4) != 0 || b[4] != FORMAT ||
	    sippres__crc32(b, len - 4) != sippres__get32(b + len - 4))
		return SIPPRES_E_PARSE;
	m->kind = b[5];
	m->flags = b[6];
	m->state = b[7];
	m->seq = sippres__get64(b + 8);
	m->stamp = sippres__get64(b + 16);
	if ((m->flags & ~(SIPPRES__VMSG_SET | SIPPRES__VMSG_CALLS)) || m->seq == 0 || m->stamp > m->seq)
		return SIPPRES_E_PARSE;
	if (!(m->kind == SIPPRES_REPL_DEVICE && m->state < SIPPRES_DEVICE_STATE_COUNT) &&
	    !(m->kind == SIPPRES_REPL_PRESENCE && m->state < SIPPRES_PRESENCE_STATE_COUNT && !m->flags) &&
	    !(m->kind == SIPPRES_REPL_SWEEP && m->state == 0 && !m->flags))
		return SIPPRES_E_PARSE;
	r.end = len - 4;
	e = rd_body(&r, m);
	if (e < 0)
		return e;
	calls_size = m->ncalls * sizeof(struct sippres_call);
	m->mem = sippres__malloc(ctx, calls_size + r.need);
	if (!m->mem)
		return SIPPRES_E_NOMEM;
	m->calls = m->ncalls ? m->mem : NULL;
	r.out = (char *)m->mem + calls_size;
	e = rd_body(&r, m);
	if (e < 0) { /* cannot happen: the first pass read the same bytes */
		sippres__vmsg_fini(ctx, m);
		return e;
	}
	if (m->subtype && !m->subtype[0])
		m->subtype = NULL;
	if (m->message && !m->message[0])
		m->message = NULL;
	return 0;
}

void sippres__vmsg_fini(struct sippres_ctx *ctx, struct sippres__vmsg *m)
{
	sippres__free(ctx, m->mem);
	memset(m, 0, sizeof(*m));
}
