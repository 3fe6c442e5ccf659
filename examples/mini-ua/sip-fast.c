/* SPDX-License-Identifier: MIT */
/* A plain SUBSCRIBE (initial, refresh or unsubscribe) read without libosip2,
 * and the responses to it written directly: a subscription costs libosip2
 * some fifty allocations to parse its SUBSCRIBE and as many to build the 200.
 * Only a form whose every field libosip2 would write back byte for byte is
 * taken here (canonical request line and URIs, the headers below, each on
 * one line in its long form, no body); anything less plain returns false and
 * goes through libosip2 as before, with uanet's header caps and checks.
 * sip_fast_compare() checks both ways agree (test-mini-ua, fuzz-mini-ua-sip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ua.h"

/* Far under uanet's caps (SIP_MAX_HEADERS, SIP_MAX_VIA, SIP_MAX_ACCEPT): over them libosip2's path applies
 * the caps. */
#define FAST_MAX_GENERIC 16
#define FAST_MAX_VIA 8
#define FAST_MAX_ACCEPT 8

struct sip_fast {
	const char *raw;             /* the datagram (valid while it is handled) */
	size_t raw_len;
	const char *ruri_scheme, *ruri_user, *ruri_host, *ruri_port; /* user "" and port NULL: none */
	const char *via[FAST_MAX_VIA]; /* each Via value as received */
	size_t n_via;
	const char *via_host, *via_port; /* the top Via's sent-by (port NULL: none) */
	long via_rport_end;          /* offset in via[0] after a valueless ";rport", -1: none or valued */
	bool via_rport;
	const char *from, *to, *call_id_v, *cseq_v; /* the values as received */
	const char *from_uri, *from_user, *contact_uri; /* from_user, contact_uri NULL: none */
	const char *accept[FAST_MAX_ACCEPT];
	size_t n_accept;
	const char *gname[FAST_MAX_GENERIC], *gvalue[FAST_MAX_GENERIC]; /* what libosip2 keeps as plain headers */
	size_t n_generic;
	size_t used, cap;
	char text[];                 /* the strings above */
};

/* a NUL-terminated copy in f->text; NULL: no room (never: cap is twice the datagram) */
static const char *keep(struct sip_fast *f, const char *s, size_t n)
{
	char *d;

	if (f->used + n + 1 > f->cap)
		return NULL;
	d = f->text + f->used;
	memcpy(d, s, n);
	d[n] = '\0';
	f->used += n + 1;
	return d;
}

static inline bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* characters libosip2 writes back as they are in each place */
static inline bool tok_char(char c)
{
	return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '!' || c == '~' || c == '*' || c == '\'';
}

static bool user_char(char c)
{
	return tok_char(c) || c == '+';
}

static bool lower_tok(const char *s, const char *e)
{
	if (s == e)
		return false;
	for (; s < e; s++) {
		if (!tok_char(*s) || (*s >= 'A' && *s <= 'Z'))
			return false;
	}
	return true;
}

static bool all_tok(const char *s, const char *e)
{
	if (s == e)
		return false;
	for (; s < e; s++) {
		if (!tok_char(*s))
			return false;
	}
	return true;
}

/* host [":" port] with a host name or IPv4 address (no IPv6 reference) and port 1-65535; *pe after it */
static bool host_port(const char *s, const char *e, const char **he, const char **pb, const char **pe)
{
	const char *p = s;
	unsigned long port = 0;

	while (p < e && (is_alnum(*p) || *p == '.' || *p == '-'))
		p++;
	if (p == s || !is_alnum(*s))
		return false;
	*he = p;
	*pb = NULL;
	*pe = p;
	if (p < e && *p == ':') {
		const char *d = ++p;

		while (p < e && *p >= '0' && *p <= '9' && p - d < 5)
			port = port * 10 + (unsigned long)(*p++ - '0');
		if (p == d || *d == '0' || port > 65535 || (p < e && *p >= '0' && *p <= '9'))
			return false;
		*pb = d;
		*pe = p;
	}
	return true;
}

/* ;name[=value] parameters up to e: lowercase names, token values, each name once. For name "tag" its value
 * (*tag, *tagn); rport: whether a valueless one is there. */
static bool params(const char *s, const char *e, const char **tag, size_t *tagn, const char **branch, size_t *brn,
                   long *rport_end, bool *rport, const char *base)
{
	const char *names[16];
	size_t lens[16], n = 0;

	while (s < e) {
		const char *nb, *ne, *vb = NULL, *ve = NULL;

		if (*s != ';' || n == 16)
			return false;
		nb = ++s;
		while (s < e && *s != '=' && *s != ';')
			s++;
		ne = s;
		if (!lower_tok(nb, ne))
			return false;
		if (s < e && *s == '=') {
			vb = ++s;
			while (s < e && *s != ';')
				s++;
			ve = s;
			if (!all_tok(vb, ve))
				return false;
		}
		for (size_t i = 0; i < n; i++) {
			if (lens[i] == (size_t)(ne - nb) && memcmp(names[i], nb, lens[i]) == 0)
				return false;
		}
		names[n] = nb;
		lens[n++] = (size_t)(ne - nb);
#define PARAM_IS(w) ((size_t)(ne - nb) == sizeof(w) - 1 && memcmp(nb, w, sizeof(w) - 1) == 0)
		if (PARAM_IS("received") || PARAM_IS("maddr"))
			return false; /* a response would change or depend on them: libosip2's path */
		if (tag && PARAM_IS("tag")) {
			if (!vb)
				return false;
			*tag = vb;
			*tagn = (size_t)(ve - vb);
		}
		if (branch && PARAM_IS("branch")) {
			if (!vb)
				return false;
			*branch = vb;
			*brn = (size_t)(ve - vb);
		}
		if (rport && PARAM_IS("rport")) {
			*rport = true;
			*rport_end = vb ? -1 : (long)(ne - base);
		}
#undef PARAM_IS
	}
	return true;
}

struct uri_parts {
	const char *scheme, *user, *host, *port; /* begin of each; user NULL: none; port NULL: none */
	size_t scheme_n, user_n, host_n, port_n;
};

/* sip:/sips: [user@] host [:port] *(;param), nothing else */
static bool uri_parse(const char *s, const char *e, struct uri_parts *u)
{
	const char *p = s, *at, *he, *pb, *pe;

	memset(u, 0, sizeof(*u));
	if (e - s > 4 && memcmp(s, "sip:", 4) == 0)
		p = s + 4;
	else if (e - s > 5 && memcmp(s, "sips:", 5) == 0)
		p = s + 5;
	else
		return false;
	u->scheme = s;
	u->scheme_n = (size_t)(p - s - 1);
	at = memchr(p, '@', (size_t)(e - p));
	if (at) {
		if (at == p)
			return false;
		for (const char *q = p; q < at; q++) {
			if (!user_char(*q))
				return false;
		}
		u->user = p;
		u->user_n = (size_t)(at - p);
		p = at + 1;
	}
	/* a one-character host takes libosip2's path: it refuses one in <sip:h> (fuzz-mini-ua-sip) */
	if (!host_port(p, e, &he, &pb, &pe) || he - p < 2)
		return false;
	u->host = p;
	u->host_n = (size_t)(he - p);
	if (pb) {
		u->port = pb;
		u->port_n = (size_t)(pe - pb);
	}
	return params(pe, e, NULL, NULL, NULL, NULL, NULL, NULL, pe);
}

/* ["display" SP] <uri> *(;param): the From, To and Contact forms libosip2 writes back as they are */
static bool nameaddr(const char *s, const char *e, struct uri_parts *u, const char **ub, const char **ue,
                     const char **tag, size_t *tagn)
{
	const char *lt, *gt;

	if (s < e && *s == '"') {
		const char *q = s + 1;

		while (q < e && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x7f)
			q++;
		if (q >= e || *q != '"' || q == s + 1 || q + 2 >= e || q[1] != ' ' || q[2] != '<')
			return false;
		s = q + 2;
	}
	lt = s;
	if (lt >= e || *lt != '<')
		return false;
	gt = memchr(lt, '>', (size_t)(e - lt));
	if (!gt || !uri_parse(lt + 1, gt, u))
		return false;
	*ub = lt + 1;
	*ue = gt;
	if (tag)
		*tag = NULL;
	return params(gt + 1, e, tag, tagn, NULL, NULL, NULL, NULL, gt + 1);
}

/* the header name p (n bytes) is the literal want, in any case */
#define name_eq(p, n, want) ((n) == sizeof(want) - 1 && strncasecmp((p), (want), (n)) == 0)

/* Header names libosip2 keeps as plain headers (sip_header finds them) and that a SUBSCRIBE may carry here.
 * Any other header (Route, Authorization, Allow, Content-Type, ...) takes libosip2's path. */
static bool generic_name(const char *p, size_t n)
{
	return name_eq(p, n, "Max-Forwards") || name_eq(p, n, "Event") || name_eq(p, n, "Expires") ||
	       name_eq(p, n, "User-Agent") || name_eq(p, n, "Supported") || name_eq(p, n, "Allow-Events") ||
	       name_eq(p, n, "Date");
}

void sip_fast_free(struct sip_fast *f)
{
	free(f);
}

bool sip_parse_fast(const char *buf, size_t len, struct sip_in *in)
{
	const char *p, *end = buf + len, *le, *rb, *re;
	const char *from_tag = NULL, *to_tag = NULL, *branch = NULL, *cid = NULL, *cseq = NULL;
	size_t ftn = 0, ttn = 0, brn = 0, cidn = 0, cseqn = 0;
	bool have_cl = false, have_contact = false;
	struct uri_parts ru, fu, tu, cu;
	const char *fub = NULL, *fue = NULL, *cub = NULL, *cue = NULL, *tub, *tue;
	struct sip_fast *f;
	uint64_t n = 0;

	if (len < 64 || len > 8192 || memcmp(buf, "SUBSCRIBE ", 10) != 0)
		return false;
	f = malloc(sizeof(*f) + 2 * len + 64);
	if (!f)
		return false;
	memset(f, 0, sizeof(*f));
	f->cap = 2 * len + 64;
	f->raw = buf;
	f->raw_len = len;
	f->via_rport_end = -1;
	/* the request line */
	le = memchr(buf, '\n', len);
	if (!le || le[-1] != '\r')
		goto no;
	rb = buf + 10;
	re = le - 1;
	if (re - rb < 9 || memcmp(re - 8, " SIP/2.0", 8) != 0)
		goto no;
	re -= 8;
	if (!uri_parse(rb, re, &ru))
		goto no;
	f->ruri_scheme = keep(f, ru.scheme, ru.scheme_n);
	f->ruri_user = keep(f, ru.user ? ru.user : "", ru.user_n);
	f->ruri_host = keep(f, ru.host, ru.host_n);
	f->ruri_port = ru.port ? keep(f, ru.port, ru.port_n) : NULL;
	/* the headers, each on one line ending in CRLF, up to the empty line that ends the datagram */
	for (p = le + 1;; p = le + 1) {
		const char *colon, *v, *ve, *nb = p;
		size_t nn;

		if (p >= end)
			goto no;
		le = memchr(p, '\n', (size_t)(end - p));
		if (!le || le == p || le[-1] != '\r')
			goto no;
		ve = le - 1;
		if (ve == p) {
			if (le + 1 != end)
				goto no; /* a body */
			break;
		}
		colon = memchr(p, ':', (size_t)(ve - p));
		if (!colon || colon == p)
			goto no;
		nn = (size_t)(colon - p);
		for (const char *q = p; q < colon; q++) {
			if (!tok_char(*q))
				goto no; /* white space before the colon, a folded line */
		}
		v = colon + 1;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (v == ve)
			goto no;
		for (const char *q = v; q < ve; q++) {
			if ((unsigned char)*q < 0x20 && *q != '\t')
				goto no;
		}
		if (name_eq(nb, nn, "Via")) {
			const char *he, *pb, *pe, *s = v + 8;
			bool top = f->n_via == 0;

			if (f->n_via == FAST_MAX_VIA || ve - v < 13 || memcmp(v, "SIP/2.0/", 8) != 0)
				goto no;
			if (memcmp(s, "UDP ", 4) != 0 && memcmp(s, "TCP ", 4) != 0 && memcmp(s, "TLS ", 4) != 0)
				goto no;
			s += 4;
			if (!host_port(s, ve, &he, &pb, &pe))
				goto no;
			if (!params(pe, ve, NULL, NULL, top ? &branch : NULL, &brn, &f->via_rport_end,
			            top ? &f->via_rport : NULL, v))
				goto no;
			if (top) {
				f->via_host = keep(f, s, (size_t)(he - s));
				f->via_port = pb ? keep(f, pb, (size_t)(pe - pb)) : NULL;
			}
			f->via[f->n_via++] = keep(f, v, (size_t)(ve - v));
		} else if (name_eq(nb, nn, "From")) {
			if (f->from || !nameaddr(v, ve, &fu, &fub, &fue, &from_tag, &ftn) || !from_tag)
				goto no;
			f->from = keep(f, v, (size_t)(ve - v));
		} else if (name_eq(nb, nn, "To")) {
			if (f->to || !nameaddr(v, ve, &tu, &tub, &tue, &to_tag, &ttn))
				goto no;
			f->to = keep(f, v, (size_t)(ve - v));
		} else if (name_eq(nb, nn, "Call-ID")) {
			const char *at = NULL;

			if (cid)
				goto no;
			for (const char *q = v; q < ve; q++) {
				if (*q == '@') {
					if (at || q == v || q + 1 == ve)
						goto no;
					at = q;
				} else if (!tok_char(*q) && !strchr("%+:/", *q)) {
					goto no;
				}
			}
			cid = v;
			cidn = (size_t)(ve - v);
		} else if (name_eq(nb, nn, "CSeq")) {
			const char *q = v;

			if (cseq)
				goto no;
			while (q < ve && *q >= '0' && *q <= '9' && q - v < 10)
				n = n * 10 + (uint64_t)(*q++ - '0');
			if (q == v || n > UINT32_MAX || ve - q != 10 || memcmp(q, " SUBSCRIBE", 10) != 0)
				goto no;
			cseq = v;
			cseqn = (size_t)(ve - v);
		} else if (name_eq(nb, nn, "Contact")) {
			const char *t;
			size_t tn;

			if (have_contact || !nameaddr(v, ve, &cu, &cub, &cue, &t, &tn) || *v == '"')
				goto no;
			have_contact = true;
		} else if (name_eq(nb, nn, "Accept")) {
			const char *s = v;

			for (;;) {
				const char *eb = s, *sl = NULL;

				while (s < ve && *s != ',') {
					if (*s == '/' && !sl)
						sl = s;
					else if (!tok_char(*s) && *s != '+')
						goto no;
					s++;
				}
				if (!sl || sl == eb || sl + 1 == s || f->n_accept == FAST_MAX_ACCEPT)
					goto no;
				f->accept[f->n_accept++] = keep(f, eb, (size_t)(s - eb));
				if (s == ve)
					break;
				s++; /* the comma */
				while (s < ve && *s == ' ')
					s++;
			}
		} else if (name_eq(nb, nn, "Content-Length")) {
			if (have_cl || ve - v != 1 || *v != '0')
				goto no;
			have_cl = true;
		} else if (generic_name(nb, nn)) {
			/* libosip2 keeps each value of a comma list of these as a header of its own */
			bool split = name_eq(nb, nn, "Supported") || name_eq(nb, nn, "Allow-Events");
			const char *s = v;

			if (split && (memchr(v, '"', (size_t)(ve - v)) || memchr(v, '<', (size_t)(ve - v))))
				goto no;
			for (;;) {
				const char *c = split ? memchr(s, ',', (size_t)(ve - s)) : NULL, *e = c ? c : ve;

				while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
					e--;
				if (e == s || f->n_generic == FAST_MAX_GENERIC)
					goto no;
				f->gname[f->n_generic] = keep(f, nb, nn);
				f->gvalue[f->n_generic++] = keep(f, s, (size_t)(e - s));
				if (!c)
					break;
				s = c + 1;
				while (s < ve && (*s == ' ' || *s == '\t'))
					s++;
			}
		} else {
			goto no;
		}
	}
	if (!f->n_via || !branch || !f->from || !f->to || !cid || !cseq)
		goto no;
	f->call_id_v = keep(f, cid, cidn);
	f->cseq_v = keep(f, cseq, cseqn);
	f->from_uri = keep(f, fub, (size_t)(fue - fub));
	f->from_user = fu.user ? keep(f, fu.user, fu.user_n) : NULL;
	f->contact_uri = have_contact ? keep(f, cub, (size_t)(cue - cub)) : NULL;
	memset(in, 0, sizeof(*in));
	in->call_id = cidn < sizeof(in->call_id_buf) ? in->call_id_buf : malloc(cidn + 1);
	if (!in->call_id)
		goto no;
	memcpy(in->call_id, cid, cidn);
	in->call_id[cidn] = '\0';
	in->fast = f;
	in->is_request = true;
	in->method = "SUBSCRIBE";
	in->cseq_method = "SUBSCRIBE";
	in->cseq = (uint32_t)n;
	in->branch = keep(f, branch, brn);
	in->from_tag = keep(f, from_tag, ftn);
	in->to_tag = to_tag && ttn ? keep(f, to_tag, ttn) : NULL;
	if (!in->branch || !in->from_tag || (to_tag && ttn && !in->to_tag)) {
		if (in->call_id != in->call_id_buf)
			free(in->call_id);
		memset(in, 0, sizeof(*in));
		goto no;
	}
	return true;
no:
	free(f);
	return false;
}

const char *sip_fast_header(const struct sip_fast *f, const char *name, const char *compact)
{
	for (size_t i = 0; i < f->n_generic; i++) {
		if (strcasecmp(f->gname[i], name) == 0 || (compact && strcasecmp(f->gname[i], compact) == 0))
			return f->gvalue[i];
	}
	return NULL;
}

/* The i-th generic header (name and value), false past the last. */
bool sip_fast_header_at(const struct sip_fast *f, size_t i, const char **name, const char **value)
{
	if (i >= f->n_generic)
		return false;
	*name = f->gname[i];
	*value = f->gvalue[i];
	return true;
}

void sip_fast_via(const struct sip_fast *f, const char **host, const char **port)
{
	*host = f->via_host;
	*port = f->via_port;
}

const char *sip_fast_ruri_user(const struct sip_fast *f)
{
	return f->ruri_user;
}

int sip_fast_facts(const struct sip_fast *f, struct sub_facts *sf)
{
	sf->ruri_scheme = strdup(f->ruri_scheme);
	sf->ruri_user = strdup(f->ruri_user);
	sf->ruri_host = strdup(f->ruri_host);
	sf->ruri_port = f->ruri_port ? (unsigned)strtoul(f->ruri_port, NULL, 10) : 0;
	sf->from_uri = strdup(f->from_uri);
	sf->from_user = f->from_user ? strdup(f->from_user) : NULL;
	sf->contact = f->contact_uri ? strdup(f->contact_uri) : NULL;
	if (!sf->ruri_scheme || !sf->ruri_user || !sf->ruri_host || !sf->from_uri || (f->from_user && !sf->from_user) ||
	    (f->contact_uri && !sf->contact))
		return -1;
	if (f->n_accept) {
		sf->accept = calloc(f->n_accept, sizeof(*sf->accept));
		if (!sf->accept)
			return -1;
		for (size_t i = 0; i < f->n_accept; i++) {
			sf->accept[i] = strdup(f->accept[i]);
			if (!sf->accept[i])
				return -1;
			sf->n_accept++;
		}
	}
	return 0;
}

/* "Name: value" lines the way add_extra() hands them to libosip2, which writes them back as they are: a name
 * of token characters, one space, a value without white space at either end. */
static bool extra_plain(const char *extra)
{
	const char *s = extra;

	while (s && *s) {
		const char *eol = strstr(s, "\r\n"), *colon;

		if (!eol)
			return false;
		colon = memchr(s, ':', (size_t)(eol - s));
		if (!colon || colon == s || colon - s >= 64 || colon + 2 >= eol || colon[1] != ' ' || colon[2] == ' ' ||
		    colon[2] == '\t' || eol[-1] == ' ' || eol[-1] == '\t')
			return false;
		for (const char *q = s; q < colon; q++) {
			if (!tok_char(*q))
				return false;
		}
		for (const char *q = colon + 2; q < eol; q++) {
			if ((unsigned char)*q < 0x20)
				return false;
		}
		s = eol + 2;
	}
	return true;
}

char *sip_fast_response(const struct sip_fast *f, const struct ua_addr *src, int status, const char *reason,
                        const char *add_to_tag, const char *extra, size_t *len)
{
	char port[24], src_host[64] = "", *out, *o;
	const char *v0 = f->via[0];
	size_t need;
	bool received = false, rport = false;

	if (!extra_plain(extra))
		return NULL;
	if (src) {
		/* RFC 3581 rport, RFC 3261 18.2.1 received, as sip_build_response writes them */
		addr_host(src, src_host, sizeof(src_host));
		ua_utoa(port, addr_port(src));
		received = f->via_rport || strcmp(f->via_host, src_host) != 0;
		rport = f->via_rport_end >= 0;
	}
	need = 128 + strlen(reason) + strlen(src_host) + strlen(f->from) + strlen(f->to) + strlen(f->call_id_v) +
	       strlen(f->cseq_v) + (add_to_tag ? strlen(add_to_tag) : 0) + (extra ? strlen(extra) : 0);
	for (size_t i = 0; i < f->n_via; i++)
		need += strlen(f->via[i]) + 8;
	out = o = malloc(need);
	if (!out)
		return NULL;
	o = stpcpy(o, "SIP/2.0 ");
	o += ua_utoa(o, (uint64_t)(status > 0 ? status : 0));
	*o++ = ' ';
	o = stpcpy(o, reason);
	o = stpcpy(o, "\r\nVia: ");
	if (rport) {
		memcpy(o, v0, (size_t)f->via_rport_end);
		o += f->via_rport_end;
		*o++ = '=';
		o = stpcpy(o, port);
		o = stpcpy(o, v0 + f->via_rport_end);
	} else {
		o = stpcpy(o, v0);
	}
	if (received) {
		o = stpcpy(o, ";received=");
		o = stpcpy(o, src_host);
	}
	for (size_t i = 1; i < f->n_via; i++) {
		o = stpcpy(o, "\r\nVia: ");
		o = stpcpy(o, f->via[i]);
	}
	o = stpcpy(o, "\r\nFrom: ");
	o = stpcpy(o, f->from);
	o = stpcpy(o, "\r\nTo: ");
	o = stpcpy(o, f->to);
	if (add_to_tag) {
		o = stpcpy(o, ";tag=");
		o = stpcpy(o, add_to_tag);
	}
	o = stpcpy(o, "\r\nCall-ID: ");
	o = stpcpy(o, f->call_id_v);
	o = stpcpy(o, "\r\nCSeq: ");
	o = stpcpy(o, f->cseq_v);
	o = stpcpy(o, "\r\n");
	if (extra)
		o = stpcpy(o, extra);
	o = stpcpy(o, "Content-Length: 0\r\n\r\n");
	*len = (size_t)(o - out);
	return out;
}

const char *sip_fast_raw(const struct sip_fast *f, size_t *len)
{
	*len = f->raw_len;
	return f->raw;
}

/* ---- both ways on one datagram (test-mini-ua, fuzz-mini-ua-sip) ---- */

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

#define DIFF(...)                                      \
	do {                                               \
		snprintf(why, whylen, __VA_ARGS__);            \
		goto out;                                      \
	} while (0)

int sip_fast_compare(const char *buf, size_t len, const struct ua_addr *src, char *why, size_t whylen)
{
	static const char *const names[] = {"max-forwards", "event", "expires", "user-agent", "supported",
	                                    "allow-events", "date", "require", "allow", "accept", "contact",
	                                    "content-type", "route", "authorization", "via", "from", "to"};
	static const struct {
		int status;
		const char *reason, *to_tag, *extra;
	} resp[] = {
		{200, NULL, "t0a", "Expires: 600\r\nContact: <sip:p1@127.0.0.1:5070>\r\n"},
		{202, "Accepted", "t0b", "Expires: 0\r\nContact: <sip:127.0.0.1:5070;transport=tcp>\r\n"},
		{100, NULL, NULL, NULL},
		{400, "Missing Contact", "t1", NULL},
		{481, NULL, "t2", NULL},
		{489, NULL, "t3", "Allow-Events: presence, dialog, message-summary\r\n"},
		{423, NULL, "t4", "Min-Expires: 60\r\n"},
		{503, "Too Many Subscriptions From Source", "t5", "Retry-After: 5\r\n"},
		{500, "CSeq Out of Order", "t6", "Retry-After: 1\r\n"},
		{401, NULL, "t7", "WWW-Authenticate: Digest realm=\"asterisk\", nonce=\"1/abc\", opaque=\"o\", "
		                  "algorithm=MD5, qop=\"auth\"\r\n"},
		{200, NULL, "t8", "Expires: 60\r\nContact: <sip:a@b>\r\nRequire: eventlist\r\nAccept: application/pidf+xml\r\n"},
		{405, NULL, "t9", "Allow:  SUBSCRIBE \r\n"}, /* not plain: libosip2's path from the fast request */
	};
	struct sip_in a, b;
	struct sub_facts fa, fb;
	char err[128], *ka = NULL, *kb = NULL;
	int rc = -1;

	memset(&fa, 0, sizeof(fa));
	memset(&fb, 0, sizeof(fb));
	memset(&b, 0, sizeof(b));
	if (!sip_parse_fast(buf, len, &a))
		return 0;
	if (sip_parse(buf, len, &b, err, sizeof(err)) < 0)
		DIFF("libosip2 refuses what the fast path takes: %s", err);
	if (!b.is_request || !same(a.method, b.method) || !same(a.call_id, b.call_id) ||
	    !same(a.from_tag, b.from_tag) || !same(a.to_tag, b.to_tag) || a.cseq != b.cseq ||
	    !same(a.cseq_method, b.cseq_method) || !same(a.branch, b.branch) || b.bad || b.body || b.body_short)
		DIFF("fields differ (call_id %s/%s, from tag %s/%s, to tag %s/%s, branch %s/%s, bad %s)", a.call_id,
		     b.call_id, a.from_tag ? a.from_tag : "-", b.from_tag ? b.from_tag : "-", a.to_tag ? a.to_tag : "-",
		     b.to_tag ? b.to_tag : "-", a.branch ? a.branch : "-", b.branch ? b.branch : "-", b.bad ? b.bad : "-");
	if (!same(sip_ruri_user(&a), sip_ruri_user(&b)))
		DIFF("Request-URI user %s / %s", sip_ruri_user(&a), sip_ruri_user(&b));
	ka = stx_key(&a);
	kb = stx_key(&b);
	if (!ka || !kb || strcmp(ka, kb) != 0)
		DIFF("transaction key %s / %s", ka ? ka : "-", kb ? kb : "-");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!same(sip_header(&a, names[i], NULL), sip_header(&b, names[i], NULL)))
			DIFF("header %s: %s / %s", names[i], sip_header(&a, names[i], NULL) ? sip_header(&a, names[i], NULL) : "-",
			     sip_header(&b, names[i], NULL) ? sip_header(&b, names[i], NULL) : "-");
	}
	if (sip_expires(&a) != sip_expires(&b))
		DIFF("Expires");
	if (sip_subscribe_facts(&a, &fa) < 0 || sip_subscribe_facts(&b, &fb) < 0)
		DIFF("out of memory");
	if (!same(fa.ruri_scheme, fb.ruri_scheme) || !same(fa.ruri_user, fb.ruri_user) ||
	    !same(fa.ruri_host, fb.ruri_host) || fa.ruri_port != fb.ruri_port || !same(fa.from_uri, fb.from_uri) ||
	    !same(fa.from_user, fb.from_user) || !same(fa.contact, fb.contact) || !same(fa.event, fb.event) ||
	    !same(fa.event_id, fb.event_id) || fa.n_accept != fb.n_accept || fa.expires != fb.expires ||
	    fa.eventlist != fb.eventlist || !same(fa.user_agent, fb.user_agent) || !same(fa.bad, fb.bad))
		DIFF("facts differ (Request-URI %s:%s@%s:%u / %s:%s@%s:%u, From %s / %s, Contact %s / %s, bad %s / %s)",
		     fa.ruri_scheme, fa.ruri_user, fa.ruri_host, fa.ruri_port, fb.ruri_scheme, fb.ruri_user, fb.ruri_host,
		     fb.ruri_port, fa.from_uri, fb.from_uri, fa.contact ? fa.contact : "-", fb.contact ? fb.contact : "-",
		     fa.bad ? fa.bad : "-", fb.bad ? fb.bad : "-");
	for (size_t i = 0; i < fa.n_accept; i++) {
		if (!same(fa.accept[i], fb.accept[i]))
			DIFF("Accept %zu: %s / %s", i, fa.accept[i], fb.accept[i]);
	}
	for (size_t i = 0; i < sizeof(resp) / sizeof(resp[0]) * 2; i++) {
		const struct ua_addr *s = i % 2 ? NULL : src;
		size_t la = 0, lb = 0, j = i / 2;
		char *ra = sip_build_response(&a, s, resp[j].status, resp[j].reason, resp[j].to_tag, resp[j].extra, &la);
		char *rb = sip_build_response(&b, s, resp[j].status, resp[j].reason, resp[j].to_tag, resp[j].extra, &lb);
		bool eq = ra && rb && la == lb && memcmp(ra, rb, la) == 0;

		if (!eq)
			snprintf(why, whylen, "response %d differs:\n%.*s\n-- libosip2:\n%.*s", resp[j].status,
			         ra ? (int)la : 0, ra ? ra : "", rb ? (int)lb : 0, rb ? rb : "");
		free(ra);
		free(rb);
		if (!eq)
			goto out;
	}
	rc = 1;
out:
	free(ka);
	free(kb);
	sub_facts_free(&fa);
	sub_facts_free(&fb);
	sip_in_free(&a);
	sip_in_free(&b);
	return rc;
}
