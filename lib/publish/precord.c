/* SPDX-License-Identifier: MIT */
/* Publication records, handed to the host's persist_publication callback
 * whenever a publication is made or changed, and sippres_publication_restore.
 * Layout (integers little-endian):
 *   "SPPB" | u8 format version (1) | u8 event (SIPPRES_PUBLISH_* bit) | u16 flags (0)
 *   u64 absolute expiry (ms, host clock) | u64 change sequence
 *   3 x (u16 length | bytes): resource, endpoint, entity-tag
 *   u32 body length | body
 *   u32 CRC-32 (IEEE) of everything before it */
#include <string.h>

#include "publish-private.h"

#define FORMAT 1
#define HEADER 24
#define NSTR 3

/* Encode p's record into ps->record; its length, or 0 (no memory: logged). */
static size_t record_build(struct sippres_ctx *ctx, struct sippres_publication *p)
{
	struct sippres__pubs *ps = ctx->pubs;
	const char *strs[NSTR] = {p->res->name, p->res->endpoint, p->etag};
	size_t need = HEADER + 4 + 4 + p->body_len, off = HEADER;

	for (int i = 0; i < NSTR; i++)
		need += 2 + strlen(strs[i]);
	if (need > ps->record_cap) {
		uint8_t *b = sippres__realloc(ctx, ps->record, need);

		if (!b) {
			sippres__log(ctx, SIPPRES_LOG_WARNING, "out of memory: publication %s not stored", p->etag);
			return 0;
		}
		ps->record = b;
		ps->record_cap = need;
	}
	memcpy(ps->record, "SPPB", 4);
	ps->record[4] = FORMAT;
	ps->record[5] = (uint8_t)p->event;
	sippres__put16(ps->record + 6, 0);
	sippres__put64(ps->record + 8, p->expires_at);
	sippres__put64(ps->record + 16, p->seq);
	for (int i = 0; i < NSTR; i++) {
		size_t n = strlen(strs[i]);

		sippres__put16(ps->record + off, (uint16_t)n);
		memcpy(ps->record + off + 2, strs[i], n);
		off += 2 + n;
	}
	sippres__put32(ps->record + off, (uint32_t)p->body_len);
	memcpy(ps->record + off + 4, p->body, p->body_len);
	off += 4 + p->body_len;
	sippres__put32(ps->record + off, sippres__crc32(ps->record, off));
	return off + 4;
}

void sippres__pub_persist(struct sippres_ctx *ctx, struct sippres_publication *p)
{
	size_t len;

	if (!ctx->cb.persist_publication && !sippres__repl_on(ctx))
		return;
	len = record_build(ctx, p);
	if (!len)
		return;
	if (ctx->cb.persist_publication) {
		ctx->in_callback++;
		ctx->cb.persist_publication(ctx->user_data, p, ctx->pubs->record, len);
		ctx->in_callback--;
	}
	if (sippres__repl_on(ctx))
		sippres__repl_record(ctx, SIPPRES_REPL_PUBLICATION, p->etag, NULL, ctx->pubs->record, len);
}

int sippres__pubs_resync(struct sippres_ctx *ctx)
{
	int n = 0;

	for (struct sippres__dnode *d = ctx->pubs->all.head; d; d = d->next) {
		struct sippres_publication *p = SIPPRES__CONTAINER_OF(d, struct sippres_publication, all_node);
		size_t len = record_build(ctx, p);

		if (!len)
			return SIPPRES_E_NOMEM;
		sippres__repl_record(ctx, SIPPRES_REPL_PUBLICATION, p->etag, NULL, ctx->pubs->record, len);
		n++;
	}
	return n;
}

struct precord {
	uint32_t event;
	uint64_t expires_at, seq;
	char strs[NSTR][SIPPRES_MAX_NAME + 1];
	const uint8_t *body;
	size_t body_len;
};

static int decode(const uint8_t *b, size_t len, struct precord *rec)
{
	size_t off = HEADER;

	if (len < HEADER + 4 + 4 || memcmp(b, "SPPB", 4) != 0 || b[4] != FORMAT || sippres__get16(b + 6) != 0 ||
	    sippres__crc32(b, len - 4) != sippres__get32(b + len - 4))
		return SIPPRES_E_PARSE;
	rec->event = b[5];
	if (!sippres__pub_event_name(rec->event)[0])
		return SIPPRES_E_PARSE;
	rec->expires_at = sippres__get64(b + 8);
	rec->seq = sippres__get64(b + 16);
	for (int i = 0; i < NSTR; i++) {
		size_t n;

		if (off + 2 > len - 4)
			return SIPPRES_E_PARSE;
		n = sippres__get16(b + off);
		off += 2;
		if (n == 0 || n > SIPPRES_MAX_NAME || n > len - 4 - off)
			return SIPPRES_E_PARSE;
		memcpy(rec->strs[i], b + off, n);
		rec->strs[i][n] = '\0';
		off += n;
		if (!sippres__name_ok(rec->strs[i]))
			return SIPPRES_E_PARSE;
	}
	if (strlen(rec->strs[2]) != SIPPRES__ETAG_LEN || off + 4 > len - 4)
		return SIPPRES_E_PARSE;
	rec->body_len = sippres__get32(b + off);
	off += 4;
	if (rec->body_len != len - 4 - off)
		return SIPPRES_E_PARSE;
	rec->body = b + off;
	return 0;
}

SIPPRES_EXPORT int sippres_publication_restore(struct sippres_ctx *ctx, const void *record, size_t len,
                                               uint64_t now_ms, struct sippres_publication **ret)
{
	struct sippres__pub_resource *r;
	struct sippres_publication *p;
	struct precord *rec;
	int e;

	if (!ctx || !record || !ret)
		return SIPPRES_E_INVAL;
	if (ctx->in_callback)
		return SIPPRES_E_REENTRANT;
	rec = sippres__malloc(ctx, sizeof(*rec));
	if (!rec)
		return SIPPRES_E_NOMEM;
	e = decode(record, len, rec);
	if (e == 0 && rec->expires_at <= now_ms)
		e = SIPPRES_E_NOTFOUND;
	r = e == 0 ? sippres__pub_resource_find(ctx, rec->strs[0]) : NULL;
	if (e == 0 && (!r || !(r->events & rec->event) || strcmp(r->endpoint, rec->strs[1]) != 0))
		e = SIPPRES_E_NOTFOUND;
	if (e == 0 && sippres__smap_find(&ctx->pubs->etags, rec->strs[2]))
		e = SIPPRES_E_EXISTS;
	p = e == 0 ? sippres__calloc(ctx, 1, sizeof(*p)) : NULL;
	if (e == 0 && !p)
		e = SIPPRES_E_NOMEM;
	if (e == 0) {
		p->res = r;
		p->event = rec->event;
		p->heap_idx = SIPPRES__NOT_IN_HEAP;
		e = sippres__pub_take_body(ctx, p, (const char *)rec->body, rec->body_len);
		if (e == 0)
			e = sippres__pub_link(ctx, p, rec->expires_at, rec->strs[2]);
		if (e < 0) {
			sippres__pub_destroy(ctx, p);
			e = e == SIPPRES_E_NOMEM ? e : SIPPRES_E_PARSE;
		}
	}
	if (e == 0) {
		p->seq = rec->seq;
		if (rec->seq > ctx->pubs->seq)
			ctx->pubs->seq = rec->seq;
		e = sippres__pub_apply(ctx, p, true);
		if (e == SIPPRES_E_NOMEM)
			e = 0; /* kept; its state comes with the next change */
		*ret = p;
	}
	sippres__free(ctx, rec);
	return e;
}

SIPPRES_EXPORT int sippres_publication_adopt(struct sippres_ctx *ctx, const void *record, size_t len,
                                             uint64_t now_ms, struct sippres_publication **ret)
{
	struct sippres_publication *p;
	int e = sippres_publication_restore(ctx, record, len, now_ms, &p);

	if (e < 0)
		return e;
	sippres__pub_persist(ctx, p); /* this node's record now */
	*ret = p;
	return 0;
}
