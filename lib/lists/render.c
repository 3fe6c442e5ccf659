/* SPDX-License-Identifier: MIT */
/* The NOTIFY bodies of a list subscription: multipart/related with an RLMI
 * document and one part per member (nested lists as nested multiparts), in
 * full or partial state, split over several NOTIFYs when too large. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists-private.h"

/* Asterisk's tokens are five lowercase letters; ours are longer alphanumerics. */
static int random_letters(struct sippres_ctx *ctx, char *out, size_t n)
{
	return sippres__random_string(ctx, out, n, SIPPRES__ALPHA_LOWER);
}

static int random_token(struct sippres_ctx *ctx, char *out, size_t n)
{
	return sippres__random_string(ctx, out, n, SIPPRES__ALPHA_ALNUM);
}

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

/* One part of a multipart body. */
struct sippres__rls_part {
	struct sippres__rls_node *node;
	char cid[80];
	char id[24];
	const char *ctype;
	char *ctype_owned; /* nested lists: their multipart Content-Type */
	size_t off, len;   /* the body inside the arena */
	bool has_body;
};


static void parts_free(struct sippres_ctx *ctx, struct sippres__rls_part *parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sippres__free(ctx, parts[i].ctype_owned);
	sippres__free(ctx, parts);
}

/* The body of a member: its own document, as a single subscription would get. */
static int render_leaf(struct sippres__rls_render *rc, struct sippres__rls_node *leaf, struct sippres__rls_part *p)
{
	struct sippres_exten_status st;
	struct sippres_body_input in = rc->in->base;
	struct sippres_body body = {.size = sizeof(body)};
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
	member_uri(leaf->rls, leaf->name, uri, sizeof(uri));
	/* member dialog-info versions follow the rules of a single subscription */
	bump = sippres__version_bumps(rc->asterisk, leaf->sent_any, rc->in->reason, leaf->removed);
	sippres__body_input_state(&in, &st);
	in.exten = leaf->name;
	in.local_uri = uri;
	in.version = bump ? leaf->version : leaf->version - 1;
	r = sippres_body_render(rc->ctx, rc->in->content_type, &in, &body);
	if (r < 0)
		return r;
	p->off = rc->arena.len;
	sippres__buf_add(&rc->arena, body.data, body.len);
	if (rc->arena.err)
		return rc->arena.err;
	p->len = body.len;
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
	sippres__xml_reset(&w, rc->asterisk ? SIPPRES__XML_ASTERISK : SIPPRES__XML_STANDARD);
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

		if (p && (at < lo || at >= hi))
			p = NULL;
		if (!p && !full)
			continue;
		sippres__xml_start_lit(&w, "resource");
		member_uri(node->rls, c->name, uri, sizeof(uri));
		sippres__xml_attr_str(&w, "uri", uri);
		sippres__xml_elem_text(&w, "name", 4, c->display, strlen(c->display));
		if (p) {
			sippres__xml_start_lit(&w, "instance");
			sippres__xml_attr_str(&w, "id", p->id);
			if (terminated)
				sippres__xml_attr_lit(&w, "state", "terminated");
			else
				sippres__xml_attr_lit(&w, "state", "active");
			if (terminated && !rc->asterisk)
				sippres__xml_attr_str(&w, "reason", c->removed ? "noresource" : rc->in->final_reason);
			if (p->has_body)
				sippres__xml_attr_str(&w, "cid", p->cid);
			sippres__xml_end(&w);
		}
		sippres__xml_end(&w);
	}
	sippres__xml_end(&w);
	r = w.err;
	if (!r)
		sippres__buf_add(out, w.buf, w.len);
	sippres__xml_release(&w);
	return r ? r : out->err;
}

/* Asterisk (pjproject's multipart printer): CRLF before each boundary,
 * Content-Length padded to 5 characters. Standard: RFC 2046 layout. */
static void add_part(struct sippres__rls_render *rc, struct sippres__buf *out, const char *boundary,
                     const char *cid, const char *ctype, const char *body, size_t len)
{
	char line[64];

	if (rc->asterisk) {
		sippres__buf_str(out, "\r\n--");
		sippres__buf_str(out, boundary);
		sippres__buf_str(out, "\r\nContent-ID: <");
		sippres__buf_str(out, cid);
		sippres__buf_str(out, ">\r\nContent-Type: ");
		sippres__buf_str(out, ctype);
		{
			/* pjproject pads the length to 5 characters */
			char digits[20];
			size_t k = sippres__dec(digits, len), n = 18;

			memcpy(line, "\r\nContent-Length: ", 18);
			for (size_t pad = k; pad < 5; pad++)
				line[n++] = ' ';
			memcpy(line + n, digits, k);
			n += k;
			memcpy(line + n, "\r\n\r\n", 4);
			sippres__buf_add(out, line, n + 4);
		}
		sippres__buf_add(out, body, len);
	} else {
		sippres__buf_str(out, "--");
		sippres__buf_str(out, boundary);
		sippres__buf_str(out, "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <");
		sippres__buf_str(out, cid);
		sippres__buf_str(out, ">\r\nContent-Type: ");
		sippres__buf_str(out, ctype);
		sippres__buf_str(out, "\r\n\r\n");
		sippres__buf_add(out, body, len);
		sippres__buf_str(out, "\r\n");
	}
}

static int make_cid(struct sippres__rls_render *rc, char *cid, size_t cap)
{
	char local[24];
	int r = rc->asterisk ? random_letters(rc->ctx, local, 5) : random_token(rc->ctx, local, 12);

	size_t ln, hn;

	if (r < 0)
		return r;
	ln = strlen(local);
	hn = strlen(rc->rls->host);
	if (ln + hn + 2 > cap)
		hn = cap - ln - 2;
	memcpy(cid, local, ln);
	cid[ln] = '@';
	memcpy(cid + ln + 1, rc->rls->host, hn);
	cid[ln + 1 + hn] = '\0';
	return 0;
}

static int assemble(struct sippres__rls_render *rc, struct sippres__rls_node *node, bool full,
                    const struct sippres__rls_part *parts, size_t np, size_t lo, size_t hi, struct sippres__buf *out,
                    char **ctype);

/* Parts for node's members that go into this NOTIFY (all in full state, the
 * changed ones otherwise). Renders member bodies and nested lists once. */
static int build_parts(struct sippres__rls_render *rc, struct sippres__rls_node *node, bool full,
                       struct sippres__rls_part **ret, size_t *nret)
{
	struct sippres_ctx *ctx = rc->ctx;
	struct sippres__rls_part *parts;
	size_t n = 0, np = 0;
	int r = 0;

	for (struct sippres__rls_node *c = node->children; c; c = c->next)
		n++;
	parts = sippres__calloc(ctx, n ? n : 1, sizeof(*parts));
	if (!parts)
		return SIPPRES_E_NOMEM;
	for (struct sippres__rls_node *c = node->children; c; c = c->next) {
		struct sippres__rls_part *p;

		if (!full && !sippres__rls_subtree_changed(c))
			continue;
		p = &parts[np++];
		p->node = c;
		r = rc->asterisk ? random_letters(ctx, p->id, 5) : random_token(ctx, p->id, 8);
		if (r < 0)
			break;
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
		if (p->has_body) {
			r = make_cid(rc, p->cid, sizeof(p->cid));
			if (r < 0)
				break;
		}
	}
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
	int r;

	r = render_rlmi(rc, node, full, parts, np, lo, hi, &rlmi);
	if (r >= 0)
		r = rc->asterisk ? random_letters(ctx, boundary, 5) : random_token(ctx, boundary, 20);
	if (r >= 0)
		r = make_cid(rc, root_cid, sizeof(root_cid));
	if (r < 0) {
		sippres__buf_free(&rlmi);
		return r;
	}
	if (rc->asterisk)
		snprintf(type, sizeof(type), "multipart/related;type=\"application/rlmi+xml\";boundary=%s", boundary);
	else
		snprintf(type, sizeof(type),
		         "multipart/related;type=\"application/rlmi+xml\";start=\"<%s>\";boundary=\"%s\"", root_cid,
		         boundary);
	add_part(rc, out, boundary, root_cid,
	         rc->asterisk ? "application/rlmi+xml" : "application/rlmi+xml;charset=\"UTF-8\"", rlmi.p, rlmi.len);
	sippres__buf_free(&rlmi);
	for (size_t i = lo; i < np && i < hi; i++) {
		if (parts[i].has_body)
			add_part(rc, out, boundary, parts[i].cid, parts[i].ctype, rc->arena.p + parts[i].off, parts[i].len);
	}
	sippres__buf_str(out, rc->asterisk ? "\r\n--" : "--");
	sippres__buf_str(out, boundary);
	sippres__buf_str(out, "--\r\n");
	if (out->err)
		return out->err;
	*ctype = sippres__strdup(ctx, type);
	return *ctype ? 0 : SIPPRES_E_NOMEM;
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
	if (!rr->full && !sippres__rls_has_changes(rls))
		return 0; /* partial state and nothing changed: no NOTIFY */
	r = build_parts(rr, rls->root, rr->full, &rr->parts, &rr->np);
	if (r < 0) {
		sippres__buf_free(&rr->arena);
		return r;
	}
	return 1;
}

int sippres__rls_render_next(struct sippres__rls_render *rr, struct sippres__rls_chunk *chunk)
{
	struct sippres__rls *rls = rr->rls;
	size_t hi = rr->np;
	int r;

	sippres__buf_free(&rr->out);
	sippres__free(rr->ctx, rr->ctype);
	rr->ctype = NULL;
	if (rr->lo >= rr->np && rr->lo > 0)
		return 0;
	/* the most members that fit, one at least */
	for (;;) {
		r = assemble(rr, rls->root, rr->full, rr->parts, rr->np, rr->lo, hi, &rr->out, &rr->ctype);
		if (r < 0 || rr->out.len <= rr->in->max_size || hi - rr->lo <= 1)
			break;
		sippres__buf_free(&rr->out);
		rr->out.err = 0;
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
	sippres__buf_free(&rr->arena);
	sippres__buf_free(&rr->out);
	sippres__free(rr->ctx, rr->ctype);
	rr->parts = NULL;
	rr->ctype = NULL;
	if (completed && !rr->in->final)
		sippres__rls_prune_removed(rr->ctx, rr->rls->root);
}
