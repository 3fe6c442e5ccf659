/* SPDX-License-Identifier: MIT */
/* The NOTIFY bodies of a list subscription: multipart/related with an RLMI
 * document and one part per member (nested lists as nested multiparts), in
 * full or partial state, split over several NOTIFYs when too large. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists-private.h"

/* Asterisk's tokens are five lowercase letters; ours are longer
 * alphanumerics. Token lengths: a part's id, a Content-ID's local part. */
#define ID_LEN(rc) ((rc)->asterisk ? 5u : 8u)
#define CID_LEN(rc) ((rc)->asterisk ? 5u : 12u)
#define TOKEN_ALPHA(rc) ((rc)->asterisk ? sippres__alpha_lower : sippres__alpha_alnum)

/* scheme:name@host[:port] without printf: this runs twice per member per NOTIFY. */
static void member_uri(const struct sippres__rls *rls, const char *name, char *out, size_t cap)
{
	size_t n = 0;
	const char *pieces[3] = {rls->scheme, name, rls->host};
	const char sep[3] = {':', '@', '\0'};

	for (int i = 0; i < 3; i++) {
		size_t l = strlen(pieces[i]);

		if (n + l + 2 >= cap)
			break;
		memcpy(out + n, pieces[i], l);
		n += l;
		if (sep[i])
			out[n++] = sep[i];
	}
	if (rls->port && n + 12 < cap) {
		out[n++] = ':';
		n += sippres__dec(out + n, rls->port);
	}
	out[n] = '\0';
}

/* The member URI pieces every member shares, once per NOTIFY. */
static void uri_pieces(struct sippres__rls_render *rc)
{
	const struct sippres__rls *rls = rc->rls;
	size_t sl = strlen(rls->scheme);

	rc->host_len = strlen(rls->host);
	rc->pre_len = 0;
	if (sl + 2 > sizeof(rc->pre) || rc->host_len + 14 > sizeof(rc->suf))
		return;
	memcpy(rc->pre, rls->scheme, sl);
	rc->pre[sl] = ':';
	rc->pre_len = sl + 1;
	rc->suf[0] = '@';
	memcpy(rc->suf + 1, rls->host, rc->host_len);
	rc->suf_len = 1 + rc->host_len;
	if (rls->port) {
		rc->suf[rc->suf_len++] = ':';
		rc->suf_len += sippres__dec(rc->suf + rc->suf_len, rls->port);
	}
}

/* member_uri from the shared pieces; returns the length */
static size_t member_uri_fast(const struct sippres__rls_render *rc, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name), n;

	if (!rc->pre_len || rc->pre_len + nl + rc->suf_len + 16 >= cap) {
		member_uri(rc->rls, name, out, cap);
		return strlen(out);
	}
	memcpy(out, rc->pre, rc->pre_len);
	memcpy(out + rc->pre_len, name, nl);
	n = rc->pre_len + nl;
	memcpy(out + n, rc->suf, rc->suf_len);
	n += rc->suf_len;
	out[n] = '\0';
	return n;
}

/* One part of a multipart body. */
struct sippres__rls_part {
	struct sippres__rls_node *node;
	char cid[80];
	char id[24];
	uint8_t cid_len;   /* strlen(cid); id is ID_LEN long */
	const char *ctype;
	char *ctype_owned; /* nested lists: their multipart Content-Type */
	size_t off, len;   /* the body inside the arena */
	size_t uri_off, uri_len; /* leaves: the member URI inside the arena */
	bool has_body;
};


static void parts_free(struct sippres_ctx *ctx, struct sippres__rls_part *parts, size_t n)
{
	struct sippres__lists *l = ctx->lists;

	for (size_t i = 0; i < n; i++)
		sippres__free(ctx, parts[i].ctype_owned);
	if (parts && parts == l->keep_parts_lent)
		l->keep_parts_lent = NULL; /* back to the context */
	else
		sippres__free(ctx, parts);
}

/* The top level's parts array: the context's kept one when it is large
 * enough (and not lent out), else a new one. */
static struct sippres__rls_part *parts_get(struct sippres__rls_render *rc, size_t n, bool top)
{
	struct sippres__lists *l = rc->ctx->lists;

	if (n > SIZE_MAX / sizeof(struct sippres__rls_part))
		return NULL;
	if (top && !l->keep_parts_lent && n <= 4096) {
		if (l->keep_parts_n < n) {
			void *p = sippres__realloc(rc->ctx, l->keep_parts, n * sizeof(struct sippres__rls_part));
			if (!p)
				return NULL;
			l->keep_parts = p;
			l->keep_parts_n = n;
		}
		l->keep_parts_lent = l->keep_parts;
		return l->keep_parts;
	}
	return sippres__malloc(rc->ctx, n * sizeof(struct sippres__rls_part));
}

/* The body of a member: its own document, as a single subscription would get. */
static int render_leaf(struct sippres__rls_render *rc, struct sippres__rls_node *leaf, struct sippres__rls_part *p)
{
	struct sippres_exten_status st;
	struct sippres_body_input in = rc->in->base;
	char uri[4200];
	bool bump;
	int r;

	if (leaf->removed) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		st.exten = leaf->name;
		st.exten_state = SIPPRES_EXTEN_REMOVED;
		st.presence_subtype = st.presence_message = "";
	} else {
		sippres__hint_status(rc->ctx, leaf->hint, &st);
	}
	/* kept for the RLMI document */
	p->uri_len = member_uri_fast(rc, leaf->name, uri, sizeof(uri));
	p->uri_off = rc->arena.len;
	sippres__buf_add(&rc->arena, uri, p->uri_len);
	if (rc->arena.err)
		return rc->arena.err;
	/* member dialog-info versions follow the rules of a single subscription */
	bump = sippres__version_bumps(rc->asterisk, leaf->sent_any, rc->in->reason, leaf->removed);
	sippres__body_input_state(&in, &st);
	in.exten = leaf->name;
	in.local_uri = uri;
	in.version = bump ? leaf->version : leaf->version - 1;
	p->off = rc->arena.len;
	r = sippres__body_render_append(rc->ctx, rc->in->content_type, &in, &rc->arena, &p->len);
	if (r < 0)
		return r;
	p->ctype = rc->in->content_type;
	if (bump)
		leaf->version++;
	leaf->sent_any = true;
	p->has_body = true;
	return 0;
}

static bool part_at(const struct sippres__rls_part *parts, size_t np, size_t *pi, const struct sippres__rls_node *c)
{
	if (*pi < np && parts[*pi].node == c) {
		(*pi)++;
		return true;
	}
	return false;
}

static inline char *put_lit(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}
#define PUT_LIT(o, lit) put_lit((o), (lit), sizeof(lit) - 1)
/* every literal of one <resource>, with room to spare */
#define RESOURCE_FIXED                                                                                  \
	"\n  <resource uri=\"\">\n    <name></name>\n    <instance id=\"\" state=\"terminated\" reason=\"\"" \
	" cid=\"\"/>\n  </resource>0123456789012345678901234567890123456789"

/* The RLMI document of node. Parts in [lo, hi) get an instance; in full
 * state every member is named (those without an instance in this NOTIFY are
 * reported in the next one: RFC 4662 4.5). */
static int render_rlmi(struct sippres__rls_render *rc, struct sippres__rls_node *node, bool full,
                       const struct sippres__rls_part *parts, size_t np, size_t lo, size_t hi,
                       struct sippres__buf *out)
{
	struct sippres_xml w;
	char uri[4200];
	size_t pi = 0;
	int r;

	memset(&w, 0, sizeof(w));
	w.ctx = rc->ctx;
	if (out->p && !out->len && !out->err) {
		/* write in out's (kept) buffer */
		w.buf = out->p;
		w.cap = out->cap;
		out->p = NULL;
		out->cap = 0;
	}
	sippres__xml_reset(&w, rc->asterisk ? SIPPRES__XML_ASTERISK : SIPPRES__XML_STANDARD);
	if (np < SIZE_MAX / 1024)
		sippres__xml_reserve(&w, 512 + np * 256); /* most lists fit at once */
	sippres__xml_prolog(&w);
	sippres__xml_start_lit(&w, "list");
	sippres__xml_attr_lit(&w, "xmlns", "urn:ietf:params:xml:ns:rlmi");
	member_uri(node->rls, node->name, uri, sizeof(uri));
	sippres__xml_attr_str(&w, "uri", uri);
	sippres__xml_attr_u32(&w, "version", 7, node->version, false);
	if (full)
		sippres__xml_attr_lit(&w, "fullState", "true");
	else
		sippres__xml_attr_lit(&w, "fullState", "false");
	sippres__xml_elem_text(&w, "name", 4, node->name, strlen(node->name));
	for (struct sippres__rls_node *c = node->children; c; c = c->next) {
		size_t at = pi;
		const struct sippres__rls_part *p = part_at(parts, np, &pi, c) ? &parts[at] : NULL;
		bool terminated = rc->in->final || c->removed;
		const char *reason = NULL, *u;
		size_t ulen, dlen, rlen = 0, max;
		char *o;

		if (p && (at < lo || at >= hi))
			p = NULL;
		if (!p && !full)
			continue;
		/* one complete <resource> through a cursor */
		if (p && p->uri_len) {
			u = rc->arena.p + p->uri_off;
			ulen = p->uri_len;
		} else {
			ulen = member_uri_fast(rc, c->name, uri, sizeof(uri));
			u = uri;
		}
		dlen = strlen(c->display);
		if (p && terminated && !rc->asterisk) {
			reason = c->removed ? "noresource" : rc->in->final_reason;
			rlen = strlen(reason);
		}
		max = sizeof(RESOURCE_FIXED) + sizeof(p->id) + 6 * (ulen + dlen + rlen + sizeof(p->cid));
		o = sippres__xml_span(&w, max);
		if (!o)
			break;
		o = rc->asterisk ? PUT_LIT(o, "\n <resource uri=\"") : PUT_LIT(o, "\n  <resource uri=\"");
		o = sippres__put_attr(o, u, ulen);
		if (dlen) {
			o = rc->asterisk ? PUT_LIT(o, "\">\n  <name>") : PUT_LIT(o, "\">\n    <name>");
			o = sippres__put_text(o, c->display, dlen);
			o = PUT_LIT(o, "</name>");
		} else {
			o = rc->asterisk ? PUT_LIT(o, "\">\n  <name />") : PUT_LIT(o, "\">\n    <name/>");
		}
		if (p) {
			o = rc->asterisk ? PUT_LIT(o, "\n  <instance id=\"") : PUT_LIT(o, "\n    <instance id=\"");
			o = sippres__put_attr(o, p->id, ID_LEN(rc));
			o = terminated ? PUT_LIT(o, "\" state=\"terminated\"") : PUT_LIT(o, "\" state=\"active\"");
			if (reason) {
				o = PUT_LIT(o, " reason=\"");
				o = sippres__put_attr(o, reason, rlen);
				o = PUT_LIT(o, "\"");
			}
			if (p->has_body) {
				o = PUT_LIT(o, " cid=\"");
				o = sippres__put_attr(o, p->cid, p->cid_len);
				o = PUT_LIT(o, "\"");
			}
			o = rc->asterisk ? PUT_LIT(o, " />") : PUT_LIT(o, "/>");
		}
		o = rc->asterisk ? PUT_LIT(o, "\n </resource>") : PUT_LIT(o, "\n  </resource>");
		sippres__xml_commit(&w, o, false);
	}
	sippres__xml_end(&w);
	r = w.err;
	if (!r && !out->p) {
		/* the writer's buffer becomes the document's */
		out->p = w.buf;
		out->len = w.len;
		out->cap = w.cap;
		out->p[out->len] = '\0';
		return 0;
	}
	if (!r)
		sippres__buf_add(out, w.buf, w.len);
	sippres__xml_release(&w);
	return r ? r : out->err;
}

/* Asterisk (pjproject's multipart printer): CRLF before each boundary,
 * Content-Length padded to 5 characters. Standard: RFC 2046 layout. */
static void add_part(struct sippres__rls_render *rc, struct sippres__buf *out, const char *boundary, size_t blen,
                     const char *cid, size_t clen, const char *ctype, size_t tlen, const char *body, size_t len)
{
	char *o;

	if (len > SIZE_MAX / 4 - 160 - blen - clen - tlen) {
		if (!out->err)
			out->err = SIPPRES_E_TOOBIG;
		return;
	}
	o = sippres__buf_room(out, 160 + blen + clen + tlen + len);
	if (!o)
		return;
	if (rc->asterisk) {
		char digits[20];
		size_t k = sippres__dec(digits, len);

		o = PUT_LIT(o, "\r\n--");
		o = put_lit(o, boundary, blen);
		o = PUT_LIT(o, "\r\nContent-ID: <");
		o = put_lit(o, cid, clen);
		o = PUT_LIT(o, ">\r\nContent-Type: ");
		o = put_lit(o, ctype, tlen);
		o = PUT_LIT(o, "\r\nContent-Length: ");
		/* pjproject pads the length to 5 characters */
		for (size_t pad = k; pad < 5; pad++)
			*o++ = ' ';
		o = put_lit(o, digits, k);
		o = PUT_LIT(o, "\r\n\r\n");
		o = put_lit(o, body, len);
	} else {
		o = PUT_LIT(o, "--");
		o = put_lit(o, boundary, blen);
		o = PUT_LIT(o, "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <");
		o = put_lit(o, cid, clen);
		o = PUT_LIT(o, ">\r\nContent-Type: ");
		o = put_lit(o, ctype, tlen);
		o = PUT_LIT(o, "\r\n\r\n");
		o = put_lit(o, body, len);
		o = PUT_LIT(o, "\r\n");
	}
	sippres__buf_commit(out, o);
}

/* local@host (local: a token of CID_LEN); returns its length (< cap) */
static size_t cid_of(const struct sippres__rls_render *rc, const char *local, char *cid, size_t cap)
{
	size_t ln = CID_LEN(rc), hn = rc->host_len;

	if (ln + hn + 2 > cap)
		hn = cap - ln - 2;
	memcpy(cid, local, ln);
	cid[ln] = '@';
	memcpy(cid + ln + 1, rc->rls->host, hn);
	cid[ln + 1 + hn] = '\0';
	return ln + 1 + hn;
}

/* A flat node's parts get their ids and Content-IDs after the loop, from one
 * run of random bytes taken in the order drawing them one by one would have
 * (id, then Content-ID, part after part): a NOTIFY draws a few times, not
 * twice per member. Nested lists draw inside a member (their own parts,
 * boundary and Content-ID) and XPIDF bodies draw too: those keep drawing
 * one by one, in the same order as ever. */
static int tokens_after(struct sippres__rls_render *rc, struct sippres__rls_part *parts, size_t np)
{
	struct sippres__rnd_reader rd;
	size_t total = 0;
	int r = 0;

	for (size_t i = 0; i < np; i++)
		total += ID_LEN(rc) + (parts[i].has_body ? CID_LEN(rc) : 0);
	sippres__rnd_init(&rd, rc->ctx, total);
	for (size_t i = 0; i < np && r >= 0; i++) {
		char local[16];

		r = sippres__rnd_token(&rd, parts[i].id, ID_LEN(rc), TOKEN_ALPHA(rc));
		if (r >= 0 && parts[i].has_body) {
			r = sippres__rnd_token(&rd, local, CID_LEN(rc), TOKEN_ALPHA(rc));
			if (r >= 0)
				parts[i].cid_len = (uint8_t)cid_of(rc, local, parts[i].cid, sizeof(parts[i].cid));
		}
	}
	sippres__rnd_done(&rd);
	return r;
}

static int make_cid(struct sippres__rls_render *rc, char *cid, size_t cap, uint8_t *len)
{
	char local[16];
	int r = sippres__random_string(rc->ctx, local, CID_LEN(rc), TOKEN_ALPHA(rc));

	if (r < 0)
		return r;
	*len = (uint8_t)cid_of(rc, local, cid, cap);
	return 0;
}

static int assemble(struct sippres__rls_render *rc, struct sippres__rls_node *node, bool full,
                    const struct sippres__rls_part *parts, size_t np, size_t lo, size_t hi, struct sippres__buf *out,
                    char **ctype);

/* The RLMI buffer back to the context when it is the kept one (or freed). */
static void done_rlmi(struct sippres__rls_render *rc, struct sippres__buf *rlmi, bool top)
{
	struct sippres__lists *l = rc->ctx->lists;

	if (top && !l->keep_rlmi.p && rlmi->cap <= SIPPRES__RLS_KEEP_MAX && !rlmi->err) {
		rlmi->len = 0;
		l->keep_rlmi = *rlmi;
	} else {
		sippres__buf_free(rlmi);
	}
}

/* Parts for node's members that go into this NOTIFY (all in full state, the
 * changed ones otherwise). Renders member bodies and nested lists once. */
static int build_parts(struct sippres__rls_render *rc, struct sippres__rls_node *node, bool full,
                       struct sippres__rls_part **ret, size_t *nret)
{
	struct sippres_ctx *ctx = rc->ctx;
	struct sippres__rls_part *parts;
	size_t n = 0, np = 0;
	bool later = strcmp(rc->in->content_type, "application/xpidf+xml") != 0; /* tokens_after() */
	int r = 0;

	for (struct sippres__rls_node *c = node->children; c; c = c->next) {
		n++;
		later = later && !c->is_list;
	}
	parts = parts_get(rc, n ? n : 1, node == rc->rls->root);
	if (!parts)
		return SIPPRES_E_NOMEM;
	if (rc->arena.cap - rc->arena.len < n * 1024)
		sippres__buf_grow(&rc->arena, n * 1024); /* most member bodies fit; it grows if not */
	for (struct sippres__rls_node *c = node->children; c; c = c->next) {
		struct sippres__rls_part *p;

		if (!full && !sippres__rls_subtree_changed(c))
			continue;
		p = &parts[np++];
		p->node = c;
		p->cid[0] = '\0';
		p->cid_len = 0;
		p->ctype = NULL;
		p->ctype_owned = NULL;
		p->off = p->len = p->uri_off = p->uri_len = 0;
		p->has_body = false;
		if (!later) {
			r = sippres__random_string(ctx, p->id, ID_LEN(rc), TOKEN_ALPHA(rc));
			if (r < 0)
				break;
		}
		if (c->is_list) {
			struct sippres__rls_part *sub;
			size_t nsub;
			bool sub_full = full || c->full_state;

			struct sippres__buf nested = {.ctx = ctx};

			r = build_parts(rc, c, sub_full, &sub, &nsub);
			if (r < 0)
				break;
			r = assemble(rc, c, sub_full, sub, nsub, 0, SIZE_MAX, &nested, &p->ctype_owned);
			parts_free(ctx, sub, nsub);
			if (r >= 0) {
				p->ctype = p->ctype_owned;
				p->off = rc->arena.len;
				p->len = nested.len;
				sippres__buf_add(&rc->arena, nested.p, nested.len);
				r = rc->arena.err;
			}
			sippres__buf_free(&nested);
			if (r < 0)
				break;
			c->version++;
			p->has_body = true;
		} else if (c->removed && !rc->asterisk) {
			p->has_body = false; /* terminated;reason=noresource: nothing to show */
		} else {
			r = render_leaf(rc, c, p);
			if (r < 0)
				break;
		}
		if (p->has_body && !later) {
			r = make_cid(rc, p->cid, sizeof(p->cid), &p->cid_len);
			if (r < 0)
				break;
		}
	}
	if (r >= 0 && later)
		r = tokens_after(rc, parts, np);
	if (r < 0) {
		parts_free(ctx, parts, np);
		return r;
	}
	*ret = parts;
	*nret = np;
	return 0;
}

/* node's multipart body with the parts in [lo, hi); *ctype gets its
 * Content-Type (allocated). */
static int assemble(struct sippres__rls_render *rc, struct sippres__rls_node *node, bool full,
                    const struct sippres__rls_part *parts, size_t np, size_t lo, size_t hi, struct sippres__buf *out,
                    char **ctype)
{
	struct sippres_ctx *ctx = rc->ctx;
	struct sippres__buf rlmi = {.ctx = ctx};
	char boundary[24], root_cid[80], type[200];
	const char *last;
	uint8_t root_len;
	size_t blen;
	bool top = out == &rc->out && rc->kept;
	int r;

	if (top) {
		rlmi = ctx->lists->keep_rlmi; /* the kept one, emptied */
		rlmi.len = 0;
		rlmi.err = 0;
		ctx->lists->keep_rlmi.p = NULL;
		ctx->lists->keep_rlmi.cap = 0;
	}

	r = render_rlmi(rc, node, full, parts, np, lo, hi, &rlmi);
	if (r >= 0)
		r = sippres__random_string(ctx, boundary, rc->asterisk ? 5 : 20, TOKEN_ALPHA(rc));
	if (r >= 0)
		r = make_cid(rc, root_cid, sizeof(root_cid), &root_len);
	if (r < 0) {
		done_rlmi(rc, &rlmi, top);
		return r;
	}
	if (rc->asterisk)
		snprintf(type, sizeof(type), "multipart/related;type=\"application/rlmi+xml\";boundary=%s", boundary);
	else
		snprintf(type, sizeof(type),
		         "multipart/related;type=\"application/rlmi+xml\";start=\"<%s>\";boundary=\"%s\"", root_cid,
		         boundary);
	{
		/* the room for every part at once */
		size_t need = rlmi.len + 256;

		for (size_t i = lo; i < np && i < hi; i++)
			need += parts[i].len + 256;
		sippres__buf_grow(out, need);
	}
	blen = strlen(boundary);
	{
		const char *rt = rc->asterisk ? "application/rlmi+xml" : "application/rlmi+xml;charset=\"UTF-8\"";

		add_part(rc, out, boundary, blen, root_cid, root_len, rt, strlen(rt), rlmi.p, rlmi.len);
	}
	done_rlmi(rc, &rlmi, top);
	last = NULL;
	for (size_t i = lo, tlen = 0; i < np && i < hi; i++) {
		if (!parts[i].has_body)
			continue;
		if (parts[i].ctype != last) { /* the members' type, most often */
			last = parts[i].ctype;
			tlen = strlen(last);
		}
		add_part(rc, out, boundary, blen, parts[i].cid, parts[i].cid_len, parts[i].ctype, tlen,
		         rc->arena.p + parts[i].off, parts[i].len);
	}
	sippres__buf_str(out, rc->asterisk ? "\r\n--" : "--");
	sippres__buf_str(out, boundary);
	sippres__buf_str(out, "--\r\n");
	if (out->err)
		return out->err;
	*ctype = sippres__strdup(ctx, type);
	return *ctype ? 0 : SIPPRES_E_NOMEM;
}

/* out emptied for the next chunk, its room kept */
static void out_reset(struct sippres__rls_render *rr)
{
	rr->out.len = 0;
	rr->out.err = 0;
	if (rr->out.p)
		rr->out.p[0] = '\0';
}

static void keep_or_free(struct sippres__buf *keep, struct sippres__buf *b)
{
	if (b->cap > SIPPRES__RLS_KEEP_MAX || b->err)
		sippres__buf_free(b);
	b->len = 0;
	b->err = 0;
	*keep = *b;
}

/* The arena and out buffers go back to the context (or are freed). */
static void give_back(struct sippres__rls_render *rr)
{
	struct sippres__lists *l = rr->ctx->lists;

	if (rr->kept) {
		keep_or_free(&l->keep_arena, &rr->arena);
		keep_or_free(&l->keep_out, &rr->out);
		l->keep_busy = false;
		rr->kept = false;
	} else {
		sippres__buf_free(&rr->arena);
		sippres__buf_free(&rr->out);
	}
	rr->arena.p = rr->out.p = NULL;
	rr->arena.len = rr->arena.cap = rr->out.len = rr->out.cap = 0;
}

int sippres__rls_render_begin(struct sippres_ctx *ctx, struct sippres__rls *rls,
                              const struct sippres__rls_render_in *in, struct sippres__rls_render *rr)
{
	int r;

	memset(rr, 0, sizeof(*rr));
	rr->ctx = ctx;
	rr->rls = rls;
	rr->in = in;
	rr->asterisk = in->base.profile == SIPPRES_PROFILE_ASTERISK;
	rr->full = in->reason != SIPPRES_NOTIFY_CHANGE || in->final || rls->root->full_state;
	rr->arena.ctx = ctx;
	rr->out.ctx = ctx;
	uri_pieces(rr);
	if (!rr->full && !sippres__rls_has_changes(rls))
		return 0; /* partial state and nothing changed: no NOTIFY */
	if (!ctx->lists->keep_busy) {
		rr->arena = ctx->lists->keep_arena;
		rr->out = ctx->lists->keep_out;
		rr->arena.len = rr->out.len = 0;
		rr->arena.err = rr->out.err = 0;
		rr->kept = true;
		ctx->lists->keep_busy = true;
	}
	r = build_parts(rr, rls->root, rr->full, &rr->parts, &rr->np);
	if (r < 0) {
		give_back(rr);
		return r;
	}
	return 1;
}

int sippres__rls_render_next(struct sippres__rls_render *rr, struct sippres__rls_chunk *chunk)
{
	struct sippres__rls *rls = rr->rls;
	size_t hi = rr->np;
	int r;

	out_reset(rr);
	sippres__free(rr->ctx, rr->ctype);
	rr->ctype = NULL;
	if (rr->lo >= rr->np && rr->lo > 0)
		return 0;
	/* the most members that fit, one at least */
	for (;;) {
		r = assemble(rr, rls->root, rr->full, rr->parts, rr->np, rr->lo, hi, &rr->out, &rr->ctype);
		if (r < 0 || rr->out.len <= rr->in->max_size || hi - rr->lo <= 1)
			break;
		out_reset(rr);
		sippres__free(rr->ctx, rr->ctype);
		rr->ctype = NULL;
		hi = rr->lo + (hi - rr->lo) * 3 / 4;
	}
	if (r < 0)
		return r;
	if (rr->out.len > rr->in->max_size)
		sippres__log(rr->ctx, SIPPRES_LOG_WARNING, "list %s: one member alone exceeds %zu bytes", rls->root->name,
		             rr->in->max_size);
	rls->root->version++;
	for (size_t i = rr->lo; i < hi && i < rr->np; i++)
		sippres__rls_clear_changed(rr->parts[i].node);
	chunk->content_type = rr->ctype;
	chunk->body = rr->out.p;
	chunk->len = rr->out.len;
	chunk->last = hi >= rr->np;
	rr->lo = hi > rr->lo ? hi : rr->lo + 1;
	rr->full = false; /* the rest goes out as partial state */
	return 1;
}

void sippres__rls_render_end(struct sippres__rls_render *rr, bool completed)
{
	parts_free(rr->ctx, rr->parts, rr->np);
	give_back(rr);
	sippres__free(rr->ctx, rr->ctype);
	rr->parts = NULL;
	rr->ctype = NULL;
	if (completed && !rr->in->final)
		sippres__rls_prune_removed(rr->ctx, rr->rls->root);
}
