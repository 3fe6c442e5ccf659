/* SPDX-License-Identifier: MIT */
/* SIP messages through libosip2: parsing datagrams, extracting the facts of
 * a SUBSCRIBE, building responses and NOTIFY requests. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/osip_port.h>

#include "ua.h"

#if defined(__GNUC__)
__attribute__((format(printf, 4, 0)))
#endif
static void osip_trace_to_log(const char *fi, int li, osip_trace_level_t level, const char *chfr, va_list ap)
{
	char buf[512];

	(void)level;
	if (ua_verbosity < 2)
		return;
	vsnprintf(buf, sizeof(buf), chfr, ap);
	buf[strcspn(buf, "\r\n")] = '\0';
	ua_log(LOG_TRACE, "osip %s:%d: %s", fi, li, buf);
}

void sipmsg_init(void)
{
	parser_init();
	/* osip traces to stdout by default, which is our control channel */
	osip_trace_initialize_func(END_TRACE_LEVEL, osip_trace_to_log);
	for (int l = TRACE_LEVEL0; l < END_TRACE_LEVEL; l++)
		osip_trace_disable_level((osip_trace_level_t)l);
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Convert an osip-allocated string to a malloc'ed one (they are the same
 * allocator unless osip_malloc_func was changed; copy to be sure). */
static char *from_osip(char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	osip_free(s);
	return d;
}

static int parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static const char *param(osip_list_t *params, const char *name)
{
	osip_generic_param_t *p = NULL;
	char n[32];

	snprintf(n, sizeof(n), "%s", name); /* osip takes a char * */
	if (osip_generic_param_get_byname(params, n, &p) != 0 || !p)
		return NULL;
	return p->gvalue ? p->gvalue : "";
}

/* The body of a datagram as it arrived (osip's own body parsing splits
 * multipart bodies and rewrites them): after the first empty line, as long
 * as Content-Length says (the rest of the datagram without one). */
static void raw_body(const char *buf, size_t len, const char *content_length, struct sip_in *in)
{
	const char *crlf = memmem(buf, len, "\r\n\r\n", 4), *lf = memmem(buf, len, "\n\n", 2), *b;
	size_t avail;

	if (crlf && (!lf || crlf < lf))
		b = crlf + 4;
	else if (lf)
		b = lf + 2;
	else
		return;
	avail = len - (size_t)(b - buf);
	if (content_length) {
		uint32_t cl;

		if (parse_u32(content_length, &cl) == 0 && cl <= avail) {
			avail = cl;
		} else {
			in->body_short = true;
			return;
		}
	}
	if (avail > 0) {
		in->body = b;
		in->body_len = avail;
	}
}

/* The answer to one of our NOTIFYs, read by hand: most datagrams a busy
 * notifier receives are "200 OK" to its NOTIFYs, and libosip2 makes some
 * thirty allocations to parse one. Only the plain form is taken here: a
 * status line, headers each on one line in their long form, one Call-ID and
 * one CSeq (method NOTIFY), a top Via with a branch, From and To, no body.
 * Anything else returns false and goes through libosip2 as before. */
static bool hdr_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static bool fast_response(const char *buf, size_t len, struct sip_in *in)
{
	const char *p, *end = buf + len, *cid = NULL, *cseq = NULL, *br = NULL;
	size_t cidn = 0, cseqn = 0, brn = 0;
	unsigned headers = 0, vias = 0, lengths = 0;
	bool from = false, to = false, via = false, blank = false;
	int status;

	if (len < 16 || memcmp(buf, "SIP/2.0 ", 8) != 0 || buf[8] < '1' || buf[8] > '6' || buf[9] < '0' ||
	    buf[9] > '9' || buf[10] < '0' || buf[10] > '9' || buf[11] != ' ')
		return false;
	status = (buf[8] - '0') * 100 + (buf[9] - '0') * 10 + (buf[10] - '0');
	p = memchr(buf, '\n', len);
	while (p && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon, *v, *ve;

		if (!eol)
			return false;
		ve = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (ve == p) {
			blank = true;
			p = eol + 1;
			break;
		}
		if (*p == ' ' || *p == '\t')
			return false; /* a folded line */
		colon = memchr(p, ':', (size_t)(ve - p));
		if (!colon || ++headers > SIP_MAX_HEADERS)
			return false; /* the caps are sip_parse's to apply */
		v = colon + 1;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (hdr_is(p, (size_t)(colon - p), "Via")) {
			vias++;
			for (const char *q = v; q < ve; q++)
				vias += *q == ',';
			if (vias > SIP_MAX_VIA)
				return false;
			if (!via) {
				/* the top Via's branch */
				for (const char *q = v; q + 8 <= ve; q++) {
					if (*q == ';' && strncasecmp(q + 1, "branch=", 7) == 0) {
						br = q + 8;
						while (br + brn < ve && !strchr(";, \t", br[brn]))
							brn++;
						break;
					}
				}
			}
			via = true;
		} else if (hdr_is(p, (size_t)(colon - p), "Call-ID")) {
			if (cid)
				return false;
			cid = v;
			cidn = (size_t)(ve - v);
		} else if (hdr_is(p, (size_t)(colon - p), "CSeq")) {
			if (cseq)
				return false;
			cseq = v;
			cseqn = (size_t)(ve - v);
		} else if (hdr_is(p, (size_t)(colon - p), "From")) {
			from = true;
		} else if (hdr_is(p, (size_t)(colon - p), "To")) {
			to = true;
		} else if (hdr_is(p, (size_t)(colon - p), "Content-Length")) {
			if (++lengths > 1)
				return false;
		} else if ((size_t)(colon - p) == 1) {
			return false; /* a compact form: libosip2 knows them all */
		}
		p = eol;
	}
	if (!blank || (p && p < end) || !via || !br || brn == 0 || brn >= sizeof(in->branch_buf) || !from || !to ||
	    !cid || cidn == 0 || !cseq)
		return false;
	{
		/* CSeq: digits, white space, NOTIFY */
		size_t i = 0;
		uint64_t n = 0;

		while (i < cseqn && cseq[i] >= '0' && cseq[i] <= '9' && i < 10)
			n = n * 10 + (uint64_t)(cseq[i++] - '0');
		if (i == 0 || n > UINT32_MAX || i >= cseqn || (cseq[i] != ' ' && cseq[i] != '\t'))
			return false;
		while (i < cseqn && (cseq[i] == ' ' || cseq[i] == '\t'))
			i++;
		if (cseqn - i != 6 || memcmp(cseq + i, "NOTIFY", 6) != 0)
			return false;
		in->cseq = (uint32_t)n;
	}
	in->call_id = cidn < sizeof(in->call_id_buf) ? in->call_id_buf : malloc(cidn + 1);
	if (!in->call_id)
		return false;
	memcpy(in->call_id, cid, cidn);
	in->call_id[cidn] = '\0';
	memcpy(in->branch_buf, br, brn);
	in->branch_buf[brn] = '\0';
	in->branch = in->branch_buf;
	in->cseq_method = "NOTIFY";
	in->is_request = false;
	in->status = status;
	return true;
}

/* ---- header caps: counted on the raw bytes, before osip (whose parser appends each header by walking its
 * list: 12,000 headers cost it 0.14 s) ---- */

static bool hname_is(const char *p, size_t n, const char *name, const char *compact)
{
	return (n == strlen(name) && strncasecmp(p, name, n) == 0) ||
	       (compact && n == strlen(compact) && strncasecmp(p, compact, n) == 0);
}

/* Header lines of buf (folded lines belong to the one above) and the values of Via and Accept (comma lists
 * count each element). When one is over its cap, *keep gets the lines a response needs (the start line,
 * Via up to the cap, From, To, Call-ID, CSeq) and the reason. Returns 0, or -1 when out of memory. */
static int header_caps(const char *buf, size_t len, struct sbuf *keep, const char **over)
{
	const char *p = buf, *end = buf + len;
	unsigned total = 0, via = 0, accept = 0;
	int cur = 0; /* 1: Via, 2: Accept, 3: another kept header, 0: none */
	bool first = true;

	*over = NULL;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *le;
		size_t n;

		le = eol ? eol : end;
		n = (size_t)(le - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the end of the headers */
		if (first) {
			first = false;
			cur = 3;
		} else if (p[0] == ' ' || p[0] == '\t') {
			/* a folded line: its commas still separate values */
		} else {
			const char *colon = memchr(p, ':', n);
			size_t nl = colon ? (size_t)(colon - p) : n;

			while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
				nl--;
			total++;
			if (hname_is(p, nl, "via", "v"))
				cur = 1, via++;
			else if (hname_is(p, nl, "accept", NULL))
				cur = 2, accept++;
			else if (hname_is(p, nl, "from", "f") || hname_is(p, nl, "to", "t") ||
			         hname_is(p, nl, "call-id", "i") || hname_is(p, nl, "cseq", NULL))
				cur = 3;
			else
				cur = 0;
		}
		if (cur == 1 || cur == 2) {
			for (size_t i = 0; i < n; i++) {
				if (p[i] == ',')
					cur == 1 ? via++ : accept++;
			}
		}
		if (cur == 3 || (cur == 1 && via <= SIP_MAX_VIA)) {
			sbuf_add(keep, p, n);
			sbuf_add(keep, "\r\n", 2);
		}
		p = le + (eol ? 1 : 0);
	}
	if (total > SIP_MAX_HEADERS)
		*over = "Too Many Headers";
	else if (via > SIP_MAX_VIA)
		*over = "Too Many Via Headers";
	else if (accept > SIP_MAX_ACCEPT)
		*over = "Too Many Accept Values";
	sbuf_add(keep, "\r\n", 2);
	return keep->oom ? -1 : 0;
}

/* The header block of buf for osip: every line up to the empty one except Content-Length (kept in *cl, its
 * value; *ncl counts them), then the empty line and no body. osip never sees a body: the UA takes bodies as
 * they arrived (raw_body), and libosip2 5.3 leaks a part's Content-Type when a multipart part repeats it
 * (found by fuzz-mini-ua-notify). Returns 0 or -1 (out of memory). */
static int headers_only(const char *buf, size_t len, struct sbuf *out, char *cl, size_t cllen, int *ncl)
{
	const char *p = buf, *end = buf + len;
	bool skipping = false, first = true;

	*ncl = 0;
	cl[0] = '\0';
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *le = eol ? eol : end;
		size_t n = (size_t)(le - p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n == 0)
			break;
		if (!first && (p[0] == ' ' || p[0] == '\t')) {
			/* a folded line: part of the header above */
		} else {
			const char *colon = first ? NULL : memchr(p, ':', n);
			size_t nl = colon ? (size_t)(colon - p) : 0;

			while (nl > 0 && (p[nl - 1] == ' ' || p[nl - 1] == '\t'))
				nl--;
			skipping = colon && hname_is(p, nl, "content-length", "l");
			if (skipping && (*ncl)++ == 0) {
				const char *v = colon + 1, *ve = p + n;

				while (v < ve && (*v == ' ' || *v == '\t'))
					v++;
				while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				snprintf(cl, cllen, "%.*s", (int)(ve - v), v);
			}
		}
		first = false;
		if (!skipping) {
			sbuf_add(out, p, n);
			sbuf_add(out, "\r\n", 2);
		}
		p = le + (eol ? 1 : 0);
	}
	sbuf_add(out, "\r\n", 2);
	return out->oom ? -1 : 0;
}

int sip_parse_notifier(const char *buf, size_t len, struct sip_in *in, char *err, size_t errlen)
{
	memset(in, 0, sizeof(*in));
	if (len > 0 && !memchr(buf, '\0', len) && (fast_response(buf, len, in) || sip_parse_fast(buf, len, in)))
		return 0;
	return sip_parse(buf, len, in, err, errlen);
}

int sip_parse(const char *buf, size_t len, struct sip_in *in, char *err, size_t errlen)
{
	osip_message_t *m = NULL;
	osip_via_t *via = NULL;
	const char *over = NULL;
	struct sbuf keep;
	char *copy, cl[32];
	size_t clen;
	int ncl = 0;

	memset(in, 0, sizeof(*in));
	if (len == 0 || memchr(buf, '\0', len)) {
		snprintf(err, errlen, "empty or binary datagram");
		return -1;
	}
	sbuf_init(&keep);
	if (header_caps(buf, len, &keep, &over) < 0) {
		sbuf_free(&keep);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (over) {
		/* only what a response needs goes to osip */
		copy = keep.s;
		clen = keep.len;
		sbuf_init(&keep);
	} else {
		sbuf_free(&keep);
		sbuf_init(&keep);
		if (headers_only(buf, len, &keep, cl, sizeof(cl), &ncl) < 0) {
			sbuf_free(&keep);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (ncl > 1) {
			sbuf_free(&keep);
			snprintf(err, errlen, "%d Content-Length headers", ncl);
			return -1;
		}
		copy = keep.s;
		clen = keep.len;
	}
	if (osip_message_init(&m) != 0) {
		free(copy);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (osip_message_parse(m, copy, clen) != 0) {
		free(copy);
		osip_message_free(m);
		snprintf(err, errlen, "not a SIP message");
		return -1;
	}
	free(copy);
	in->msg = m;
	in->is_request = MSG_IS_REQUEST(m);
	if (in->is_request) {
		if (!m->sip_method || !m->req_uri || !m->req_uri->scheme) {
			snprintf(err, errlen, "request without method or Request-URI");
			goto bad;
		}
		in->method = m->sip_method;
	} else {
		in->status = m->status_code;
		if (in->status < 100 || in->status > 699) {
			snprintf(err, errlen, "status code %d out of range", in->status);
			goto bad;
		}
	}
	if (osip_message_get_via(m, 0, &via) < 0 || !via || !via->host) {
		snprintf(err, errlen, "no Via");
		goto bad;
	}
	in->branch = param(&via->via_params, "branch");
	if (!m->from || !m->from->url || !m->to || !m->to->url) {
		snprintf(err, errlen, "no From or To");
		goto bad;
	}
	if (!m->call_id || !m->call_id->number || osip_call_id_to_str(m->call_id, &in->call_id) != 0 || !in->call_id) {
		snprintf(err, errlen, "no Call-ID");
		goto bad;
	}
	in->call_id = from_osip(in->call_id);
	if (!in->call_id) {
		snprintf(err, errlen, "out of memory");
		goto bad;
	}
	if (!m->cseq || !m->cseq->method || parse_u32(m->cseq->number, &in->cseq) < 0) {
		snprintf(err, errlen, "no valid CSeq");
		goto bad;
	}
	in->cseq_method = m->cseq->method;
	in->from_tag = param(&m->from->gen_params, "tag");
	in->to_tag = param(&m->to->gen_params, "tag");
	if (in->to_tag && !in->to_tag[0])
		in->to_tag = NULL;
	if (over) {
		if (!in->is_request) {
			snprintf(err, errlen, "a response with %s", over);
			goto bad;
		}
		in->bad = over;
		in->bad_reason = over;
		return 0; /* no body: the request is refused */
	}
	if (in->is_request && strcmp(in->cseq_method, in->method) != 0)
		in->bad = "CSeq method does not match the request method";
	else if (in->is_request && (!in->from_tag || !in->from_tag[0]))
		in->bad = "From without tag";
	raw_body(buf, len, ncl ? cl : NULL, in);
	return 0;
bad:
	sip_in_free(in);
	return -1;
}

void sip_in_free(struct sip_in *in)
{
	if (in->msg)
		osip_message_free(in->msg);
	sip_fast_free(in->fast);
	if (in->call_id != in->call_id_buf)
		free(in->call_id);
	memset(in, 0, sizeof(*in));
}

static bool name_is(const char *hname, const char *name, const char *compact)
{
	return hname && (strcasecmp(hname, name) == 0 || (compact && strcasecmp(hname, compact) == 0));
}

const char *sip_ruri_user(const struct sip_in *in)
{
	if (in->fast)
		return sip_fast_ruri_user(in->fast);
	if (!in->msg || !in->msg->req_uri)
		return NULL;
	return in->msg->req_uri->username ? in->msg->req_uri->username : "";
}

/* The i-th header libosip2 keeps as a plain one (name, value ""), either way the request was read. */
static bool header_at(const struct sip_in *in, osip_list_iterator_t *it, size_t i, const char **name,
                      const char **value)
{
	osip_header_t *h;

	if (in->fast)
		return sip_fast_header_at(in->fast, i, name, value);
	h = i == 0 ? osip_list_get_first(&in->msg->headers, it) : osip_list_get_next(it);
	if (!h)
		return false;
	*name = h->hname;
	*value = h->hvalue;
	return true;
}

const char *sip_header(const struct sip_in *in, const char *name, const char *compact)
{
	osip_list_iterator_t it;

	if (in->fast)
		return sip_fast_header(in->fast, name, compact);
	for (osip_header_t *h = osip_list_get_first(&in->msg->headers, &it); h; h = osip_list_get_next(&it)) {
		if (name_is(h->hname, name, compact))
			return h->hvalue ? h->hvalue : "";
	}
	return NULL;
}

bool sip_header_has_token(const struct sip_in *in, const char *name, const char *compact, const char *token)
{
	osip_list_iterator_t it;
	size_t tl = strlen(token);
	const char *hname, *hvalue;

	for (size_t i = 0; header_at(in, &it, i, &hname, &hvalue); i++) {
		const char *s;

		if (!name_is(hname, name, compact) || !hvalue)
			continue;
		for (s = hvalue; *s;) {
			const char *e;

			while (*s == ' ' || *s == '\t' || *s == ',')
				s++;
			e = s;
			while (*e && *e != ',' && *e != ' ' && *e != '\t' && *e != ';')
				e++;
			if ((size_t)(e - s) == tl && strncasecmp(s, token, tl) == 0)
				return true;
			while (*e && *e != ',')
				e++;
			s = e;
		}
	}
	return false;
}

int64_t sip_expires(const struct sip_in *in)
{
	const char *v = sip_header(in, "expires", NULL);
	uint64_t n = 0;
	size_t i = 0;

	if (!v)
		return -1;
	while (v[i] == ' ' || v[i] == '\t')
		i++;
	if (v[i] < '0' || v[i] > '9')
		return -2;
	for (; v[i] >= '0' && v[i] <= '9'; i++) {
		if (n < UINT32_MAX)
			n = n * 10 + (uint64_t)(v[i] - '0');
	}
	while (v[i] == ' ' || v[i] == '\t')
		i++;
	if (v[i])
		return -2;
	return n > UINT32_MAX ? (int64_t)UINT32_MAX : (int64_t)n;
}

/* "presence;id=7" -> event "presence", id "7". */
char *mime_param(const char *value, const char *name)
{
	size_t nl = strlen(name);
	const char *s = value;
	bool quoted = false;

	/* skip the type/subtype: up to the first ';' outside quotes */
	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == ';' && !quoted)
			break;
	}
	while (*s == ';') {
		const char *nb, *ne;

		s++;
		while (*s == ' ' || *s == '\t')
			s++;
		nb = s;
		while (*s && *s != '=' && *s != ';' && *s != ' ' && *s != '\t')
			s++;
		ne = s;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '=') {
			const char *vb, *ve;

			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s == '"') {
				vb = ++s;
				while (*s && *s != '"') {
					if (*s == '\\' && s[1])
						s++;
					s++;
				}
				ve = s;
				if (*s == '"')
					s++;
			} else {
				vb = s;
				while (*s && *s != ';' && *s != ' ' && *s != '\t')
					s++;
				ve = s;
			}
			if ((size_t)(ne - nb) == nl && strncasecmp(nb, name, nl) == 0)
				return strndup(vb, (size_t)(ve - vb));
		}
		while (*s && *s != ';')
			s++;
	}
	return NULL;
}

static int parse_event(const char *v, struct sub_facts *f)
{
	const char *s = v, *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s;
	while (*e && *e != ';' && *e != ' ' && *e != '\t')
		e++;
	if (e == s)
		return 0; /* an empty Event header: as if none */
	f->event = strndup(s, (size_t)(e - s));
	if (!f->event)
		return -1;
	f->event_id = mime_param(e, "id"); /* the first one */
	if (f->event_id && !f->event_id[0]) {
		free(f->event_id);
		f->event_id = NULL;
	}
	return 0;
}

static int facts_headers(const struct sip_in *in, struct sub_facts *f);

int sip_subscribe_facts(const struct sip_in *in, struct sub_facts *f)
{
	osip_message_t *m = in->msg;
	osip_contact_t *c = NULL;
	int n;

	memset(f, 0, sizeof(*f));
	f->expires = -1;
	if (in->fast) {
		if (sip_fast_facts(in->fast, f) < 0)
			return -1;
		return facts_headers(in, f);
	}
	f->ruri_scheme = xstrdup(m->req_uri->scheme);
	f->ruri_user = xstrdup(m->req_uri->username ? m->req_uri->username : "");
	/* the host as a URI writes it: osip drops the brackets of an IPv6 reference */
	if (m->req_uri->host && strchr(m->req_uri->host, ':')) {
		size_t hl = strlen(m->req_uri->host) + 3;

		f->ruri_host = malloc(hl);
		if (f->ruri_host)
			snprintf(f->ruri_host, hl, "[%s]", m->req_uri->host);
	} else {
		f->ruri_host = xstrdup(m->req_uri->host ? m->req_uri->host : "");
	}
	if (!f->ruri_scheme || !f->ruri_user || !f->ruri_host)
		return -1;
	if (m->req_uri->port && m->req_uri->port[0]) {
		uint32_t p;

		if (parse_u32(m->req_uri->port, &p) < 0 || p > 65535)
			f->bad = "bad port in the Request-URI";
		else
			f->ruri_port = p;
	}
	if (osip_uri_to_str(m->from->url, &f->from_uri) != 0 || !f->from_uri)
		return -1;
	f->from_uri = from_osip(f->from_uri);
	if (!f->from_uri)
		return -1;
	if (m->from->url->username) {
		f->from_user = strdup(m->from->url->username);
		if (!f->from_user)
			return -1;
	}
	if (osip_message_get_contact(m, 0, &c) >= 0 && c) {
		if (!c->url) {
			f->bad = "unusable Contact";
		} else {
			if (osip_uri_to_str(c->url, &f->contact) != 0 || !f->contact)
				return -1;
			f->contact = from_osip(f->contact);
			if (!f->contact)
				return -1;
		}
	}
	n = osip_list_size(&m->accepts);
	if (n > 0) {
		f->accept = calloc((size_t)n, sizeof(*f->accept));
		if (!f->accept)
			return -1;
		osip_list_iterator_t it;

		for (osip_accept_t *a = osip_list_get_first(&m->accepts, &it); osip_list_iterator_has_elem(it);
		     a = osip_list_get_next(&it)) {
			char *s = NULL;

			if (!a || !a->type || !a->type[0]) {
				s = strdup("");
			} else {
				if (osip_accept_to_str(a, &s) != 0 || !s)
					return -1;
				s = from_osip(s);
			}
			if (!s)
				return -1;
			f->accept[f->n_accept++] = s;
		}
	}
	return facts_headers(in, f);
}

/* sip_subscribe_facts' fields from plain headers (Event, Expires, Supported, User-Agent) */
static int facts_headers(const struct sip_in *in, struct sub_facts *f)
{
	const char *ev = sip_header(in, "event", "o"), *ua;

	if (ev && parse_event(ev, f) < 0)
		return -1;
	f->expires = sip_expires(in);
	if (f->expires == -2) {
		f->bad = "malformed Expires";
		f->expires = -1;
	}
	f->eventlist = sip_header_has_token(in, "supported", "k", "eventlist");
	ua = sip_header(in, "user-agent", NULL);
	if (ua) {
		f->user_agent = strdup(ua);
		if (!f->user_agent)
			return -1;
	}
	return 0;
}

/* A header value without leading and trailing white space, malloc'ed (NULL: v is NULL, or out of memory with
 * *oom set). */
static char *trimmed(const char *v, bool *oom)
{
	size_t n;
	char *d;

	if (!v)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	d = strndup(v, n);
	if (!d)
		*oom = true;
	return d;
}

int sip_publish_facts(const struct sip_in *in, struct pub_facts *f)
{
	osip_message_t *m = in->msg;
	struct sub_facts ev = {0};
	const char *v;
	bool oom = false;

	memset(f, 0, sizeof(*f));
	f->expires = sip_expires(in);
	if (f->expires == -2) {
		f->bad = "malformed Expires";
		f->expires = -1;
	}
	f->ruri_user = strdup(m->req_uri->username ? m->req_uri->username : "");
	if (!f->ruri_user)
		return -1;
	if (m->from->url->username && !(f->from_user = strdup(m->from->url->username)))
		return -1;
	v = sip_header(in, "event", "o");
	if (v) {
		if (parse_event(v, &ev) < 0) {
			sub_facts_free(&ev);
			return -1;
		}
		f->event = ev.event; /* the package only: RFC 3903 has no id parameter */
		ev.event = NULL;
		sub_facts_free(&ev);
	}
	f->if_match = trimmed(sip_header(in, "sip-if-match", NULL), &oom);
	if (oom)
		return -1;
	if (f->if_match && !f->if_match[0]) {
		free(f->if_match);
		f->if_match = NULL;
		f->bad = "empty SIP-If-Match";
	}
	if (m->content_type && m->content_type->type) {
		size_t n = strlen(m->content_type->type) + 2 + (m->content_type->subtype ? strlen(m->content_type->subtype) : 0);

		f->content_type = malloc(n);
		if (!f->content_type)
			return -1;
		snprintf(f->content_type, n, "%s/%s", m->content_type->type,
		         m->content_type->subtype ? m->content_type->subtype : "");
	} else if (in->body) {
		f->bad = "a body without Content-Type";
	}
	if (in->body_short)
		f->bad = "Content-Length larger than the body";
	return 0;
}

void pub_facts_free(struct pub_facts *f)
{
	free(f->ruri_user);
	free(f->from_user);
	free(f->event);
	free(f->if_match);
	free(f->content_type);
	memset(f, 0, sizeof(*f));
}

void sub_facts_free(struct sub_facts *f)
{
	free(f->ruri_scheme);
	free(f->ruri_user);
	free(f->ruri_host);
	free(f->from_uri);
	free(f->from_user);
	free(f->contact);
	free(f->event);
	free(f->event_id);
	for (size_t i = 0; i < f->n_accept; i++)
		free(f->accept[i]);
	free(f->accept);
	free(f->user_agent);
	memset(f, 0, sizeof(*f));
}

const char *sip_reason(int status)
{
	switch (status) {
	case 100: return "Trying";
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 412: return "Conditional Request Failed";
	case 415: return "Unsupported Media Type";
	case 408: return "Request Timeout";
	case 416: return "Unsupported URI Scheme";
	case 420: return "Bad Extension";
	case 423: return "Interval Too Brief";
	case 481: return "Call/Transaction Does Not Exist";
	case 482: return "Loop Detected";
	case 483: return "Too Many Hops";
	case 489: return "Bad Event";
	case 500: return "Server Internal Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "Version Not Supported";
	case 603: return "Decline";
	default: return status < 300 ? "OK" : "Error";
	}
}

/* Add "Name: value\r\n" lines as headers. */
static int add_extra(osip_message_t *r, const char *extra)
{
	const char *s = extra;

	while (s && *s) {
		const char *eol = strstr(s, "\r\n"), *colon;
		char name[64], *value;
		size_t nl;
		int rc;

		if (!eol)
			eol = s + strlen(s);
		colon = memchr(s, ':', (size_t)(eol - s));
		if (!colon || (size_t)(colon - s) >= sizeof(name))
			return -1;
		nl = (size_t)(colon - s);
		memcpy(name, s, nl);
		name[nl] = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		value = strndup(colon, (size_t)(eol - colon));
		if (!value)
			return -1;
		rc = osip_message_set_header(r, name, value);
		free(value);
		if (rc != 0)
			return -1;
		s = *eol ? eol + 2 : eol;
	}
	return 0;
}

char *sip_message_to_malloc(osip_message_t *m, size_t *len)
{
	char *s = NULL, *out;
	size_t l = 0;

	if (osip_message_to_str(m, &s, &l) != 0 || !s)
		return NULL;
	out = malloc(l + 1);
	if (out) {
		memcpy(out, s, l);
		out[l] = '\0';
		*len = l;
	}
	osip_free(s);
	return out;
}

/* Append a body to a message built without one, byte for byte: osip's own
 * body handling parses a multipart body and writes it back differently (a
 * second delimiter line, its own part headers), which breaks list NOTIFYs.
 * msg ends with the empty line; its Content-Length line is replaced. */
static char *splice_body(char *msg, size_t *len, const char *body, size_t body_len)
{
	char *end = strstr(msg, "\r\n\r\n"), *cl = strcasestr(msg, "\r\nContent-Length:");
	struct sbuf b;

	sbuf_init(&b);
	if (end && cl && cl < end) {
		char *eol = strstr(cl + 2, "\r\n");

		sbuf_add(&b, msg, (size_t)(cl - msg));
		sbuf_add(&b, eol, (size_t)(end - eol));
	} else if (end) {
		sbuf_add(&b, msg, (size_t)(end - msg));
	}
	sbuf_printf(&b, "\r\nContent-Length: %zu\r\n\r\n", body_len);
	sbuf_add(&b, body, body_len);
	free(msg);
	if (!end || b.oom) {
		sbuf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.s;
}

char *sip_build_response(const struct sip_in *req, const struct ua_addr *src, int status, const char *reason,
                         const char *to_tag, const char *extra, size_t *len)
{
	osip_message_t *q = req->msg, *r = NULL;
	char *out = NULL;
	char tag[17];

	if (req->fast) {
		/* written directly; extra headers libosip2 would not write back as they are take its path */
		struct sip_in osip_req;
		const char *raw;
		size_t rawlen;
		char err[64];

		if (!req->to_tag && status != 100 && !to_tag) {
			ua_random_token(tag, 16);
			to_tag = tag;
		}
		out = sip_fast_response(req->fast, src, status, reason ? reason : sip_reason(status),
		                        !req->to_tag && status != 100 ? to_tag : NULL, extra, len);
		if (out)
			return out;
		raw = sip_fast_raw(req->fast, &rawlen);
		if (sip_parse(raw, rawlen, &osip_req, err, sizeof(err)) < 0)
			return NULL;
		out = sip_build_response(&osip_req, src, status, reason, to_tag, extra, len);
		sip_in_free(&osip_req);
		return out;
	}
	if (osip_message_init(&r) != 0)
		return NULL;
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	osip_message_set_reason_phrase(r, osip_strdup(reason ? reason : sip_reason(status)));
	osip_list_iterator_t it;
	bool top = true;

	for (osip_via_t *v = osip_list_get_first(&q->vias, &it); v; v = osip_list_get_next(&it)) {
		osip_via_t *c = NULL;

		if (osip_via_clone(v, &c) != 0)
			goto out;
		if (top && src) {
			osip_generic_param_t *rp = NULL;
			char host[64], port[8], rport[] = "rport";

			addr_host(src, host, sizeof(host));
			snprintf(port, sizeof(port), "%u", addr_port(src));
			/* RFC 3581 rport, RFC 3261 18.2.1 received */
			if (osip_via_param_get_byname(c, rport, &rp) == 0 && rp) {
				if (!rp->gvalue || !rp->gvalue[0]) {
					osip_free(rp->gvalue);
					rp->gvalue = osip_strdup(port);
				}
				osip_via_set_received(c, osip_strdup(host));
			} else if (!c->host || strcmp(c->host, host) != 0) {
				osip_via_set_received(c, osip_strdup(host));
			}
		}
		osip_list_add(&r->vias, c, -1);
		top = false;
	}
	if (osip_from_clone(q->from, &r->from) != 0 || osip_to_clone(q->to, &r->to) != 0 ||
	    osip_call_id_clone(q->call_id, &r->call_id) != 0 || osip_cseq_clone(q->cseq, &r->cseq) != 0)
		goto out;
	if (!req->to_tag && status != 100) {
		if (!to_tag) {
			ua_random_token(tag, 16);
			to_tag = tag;
		}
		osip_to_set_tag(r->to, osip_strdup(to_tag));
	}
	if (extra && add_extra(r, extra) < 0)
		goto out;
	out = sip_message_to_malloc(r, len);
out:
	osip_message_free(r);
	return out;
}

/* set(m, printf(fmt, ...)): false when out of memory or osip refuses the value */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static bool set_printf(osip_message_t *m, int (*set)(osip_message_t *, const char *), const char *fmt, ...)
{
	va_list ap;
	char *v;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (n < 0)
		return false;
	n = set(m, v);
	free(v);
	return n == 0;
}

osip_message_t *sip_request_start(const struct sip_request_head *h)
{
	osip_message_t *m = NULL;
	osip_uri_t *u = NULL;

	if (osip_message_init(&m) != 0)
		return NULL;
	osip_message_set_method(m, osip_strdup(h->method));
	osip_message_set_version(m, osip_strdup("SIP/2.0"));
	if (osip_uri_init(&u) != 0)
		goto fail;
	if (osip_uri_parse(u, h->ruri) != 0) {
		osip_uri_free(u);
		goto fail;
	}
	osip_message_set_uri(m, u);
	if (!set_printf(m, osip_message_set_via, "SIP/2.0/UDP %s;branch=%s;rport", h->via_sent_by, h->branch) ||
	    !set_printf(m, osip_message_set_from, "<%s>;tag=%s", h->from_uri, h->from_tag) ||
	    !(h->to_tag ? set_printf(m, osip_message_set_to, "<%s>;tag=%s", h->to_uri, h->to_tag)
	                : set_printf(m, osip_message_set_to, "<%s>", h->to_uri)) ||
	    osip_message_set_call_id(m, h->call_id) != 0 ||
	    !set_printf(m, osip_message_set_cseq, "%u %s", h->cseq, h->method) ||
	    !set_printf(m, osip_message_set_contact, "<%s>", h->contact) ||
	    osip_message_set_max_forwards(m, "70") != 0)
		goto fail;
	return m;
fail:
	osip_message_free(m);
	return NULL;
}

char *sip_send_response(int fd, const struct sip_in *req, const struct ua_addr *src, int status, const char *reason,
                        const char *to_tag, const char *extra, size_t *len, bool *sent)
{
	char *data = sip_build_response(req, src, status, reason, to_tag, extra, len);

	if (sent)
		*sent = false;
	if (!data) {
		ua_log(LOG_ERR, "cannot build a %d response", status);
		return NULL;
	}
	if (ua_sendto(fd, data, *len, src) == 0 && sent)
		*sent = true;
	return data;
}

/* The text of request m with Content-Type and body (none when content_type is NULL). Content-Type is a
 * plain header line, not osip_message_set_content_type(): osip's content-type parser writes the value back
 * its own way (`multipart/related; type=...; boundary=...`), and DESIGN.md 5.1 wants the library's bytes
 * on the wire. NULL: out of memory. */
static char *finish_request(osip_message_t *m, const char *content_type, const char *body, size_t body_len,
                            size_t *len)
{
	char *out;

	if (content_type && osip_message_set_header(m, "Content-Type", content_type) != 0)
		return NULL;
	out = sip_message_to_malloc(m, len);
	if (out && content_type && body_len > 0)
		out = splice_body(out, len, body, body_len);
	return out;
}

/* Can v go into a header as it is (no line break)? */
static bool line_safe(const char *v)
{
	return v && !strpbrk(v, "\r\n");
}

/* A plain sip:/sips: URI: no white space, controls, quotes or angle brackets. */
static bool uri_plain(const char *u)
{
	if (!u || !(strncasecmp(u, "sip:", 4) == 0 || strncasecmp(u, "sips:", 5) == 0))
		return false;
	for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == '"')
			return false;
	}
	return true;
}

#define PUTS(o, s) ((o) = stpcpy((o), (s)))

/* "name: v\r\n", nothing when v is NULL */
static char *put_header(char *o, const char *name, const char *v)
{
	if (!v)
		return o;
	o = stpcpy(o, name);
	o = stpcpy(o, ": ");
	o = stpcpy(o, v);
	return stpcpy(o, "\r\n");
}

/* The NOTIFY written directly, byte for byte what the libosip2 builder
 * writes for the same fields (test-mini-ua compares them): a fan-out builds
 * one per subscriber, and the libosip2 way costs some fifty allocations. */
size_t sip_notify_size(const struct notify_out *n)
{
	size_t body_len = n->content_type ? n->body_len : 0;

	return 256 + strlen(n->ruri) + strlen(n->via_sent_by) + strlen(n->branch) + strlen(n->from_uri) +
	       strlen(n->from_tag) + strlen(n->to_uri) + (n->to_tag ? strlen(n->to_tag) : 0) + strlen(n->call_id) +
	       strlen(n->contact) + strlen(n->event) + strlen(n->subscription_state) +
	       (n->allow_events ? strlen(n->allow_events) + 16 : 0) + (n->user_agent ? strlen(n->user_agent) + 16 : 0) +
	       (n->content_type ? strlen(n->content_type) + 16 : 0) + body_len;
}

size_t sip_notify_write(const struct notify_out *n, char *out)
{
	char cseq[24], cl[24], *o = out;
	size_t body_len = n->content_type ? n->body_len : 0;

	ua_utoa(cseq, n->cseq);
	ua_utoa(cl, body_len);
	PUTS(o, "NOTIFY ");
	PUTS(o, n->ruri);
	PUTS(o, " SIP/2.0\r\nVia: SIP/2.0/UDP ");
	PUTS(o, n->via_sent_by);
	PUTS(o, ";branch=");
	PUTS(o, n->branch);
	PUTS(o, ";rport\r\nFrom: <");
	PUTS(o, n->from_uri);
	PUTS(o, ">;tag=");
	PUTS(o, n->from_tag);
	PUTS(o, "\r\nTo: <");
	PUTS(o, n->to_uri);
	if (n->to_tag) {
		PUTS(o, ">;tag=");
		PUTS(o, n->to_tag);
	} else {
		PUTS(o, ">");
	}
	PUTS(o, "\r\nCall-ID: ");
	PUTS(o, n->call_id);
	PUTS(o, "\r\nCSeq: ");
	PUTS(o, cseq);
	PUTS(o, " NOTIFY\r\nContact: <");
	PUTS(o, n->contact);
	PUTS(o, ">\r\nMax-Forwards: 70\r\nEvent: ");
	PUTS(o, n->event);
	PUTS(o, "\r\nSubscription-State: ");
	PUTS(o, n->subscription_state);
	PUTS(o, "\r\n");
	o = put_header(o, "Allow-Events", n->allow_events);
	o = put_header(o, "Require", n->require_eventlist ? "eventlist" : NULL);
	o = put_header(o, "User-Agent", n->user_agent);
	o = put_header(o, "Content-Type", n->content_type);
	PUTS(o, "Content-Length: ");
	PUTS(o, cl);
	PUTS(o, "\r\n\r\n");
	if (body_len)
		memcpy(o, n->body, body_len);
	o += body_len;
	*o = '\0';
	return (size_t)(o - out);
}


static char *build_notify_direct(const struct notify_out *n, size_t head, size_t *len)
{
	char *block = malloc(head + sip_notify_size(n));

	if (!block)
		return NULL;
	*len = sip_notify_write(n, block + head);
	return block;
}

/* Fields plain enough to go straight to text; anything else through libosip2, which refuses what it cannot
 * parse. */
bool sip_notify_plain(const struct notify_out *n)
{
	return uri_plain(n->ruri) && uri_plain(n->from_uri) && uri_plain(n->to_uri) && uri_plain(n->contact) &&
	    line_safe(n->via_sent_by) && line_safe(n->branch) && line_safe(n->from_tag) &&
	    (!n->to_tag || line_safe(n->to_tag)) && line_safe(n->call_id) && line_safe(n->event) &&
	    line_safe(n->subscription_state) && (!n->allow_events || line_safe(n->allow_events)) &&
	    (!n->user_agent || line_safe(n->user_agent)) && (!n->content_type || line_safe(n->content_type)) &&
	    !strpbrk(n->from_tag, ";>, ") && (!n->to_tag || !strpbrk(n->to_tag, ";>, ")) && n->call_id[0] &&
	    !strpbrk(n->call_id, " \t") && !strpbrk(n->branch, ";, \t");
}

char *sip_build_notify(const struct notify_out *n, size_t *len)
{
	if (sip_notify_plain(n))
		return build_notify_direct(n, 0, len);
	return sip_build_notify_osip(n, len);
}

char *sip_build_notify_at(const struct notify_out *n, size_t head, size_t *len)
{
	return sip_notify_plain(n) ? build_notify_direct(n, head, len) : NULL;
}

char *sip_build_notify_osip(const struct notify_out *n, size_t *len)
{
	const struct sip_request_head h = {
		.method = "NOTIFY", .ruri = n->ruri, .via_sent_by = n->via_sent_by, .branch = n->branch,
		.from_uri = n->from_uri, .from_tag = n->from_tag, .to_uri = n->to_uri, .to_tag = n->to_tag,
		.call_id = n->call_id, .cseq = n->cseq, .contact = n->contact,
	};
	osip_message_t *m = sip_request_start(&h);
	char *out = NULL;

	if (!m)
		return NULL;
	if (osip_message_set_header(m, "Event", n->event) != 0 ||
	    osip_message_set_header(m, "Subscription-State", n->subscription_state) != 0)
		goto out;
	if (n->allow_events && osip_message_set_header(m, "Allow-Events", n->allow_events) != 0)
		goto out;
	if (n->require_eventlist && osip_message_set_header(m, "Require", "eventlist") != 0)
		goto out;
	if (n->user_agent && osip_message_set_header(m, "User-Agent", n->user_agent) != 0)
		goto out;
	out = finish_request(m, n->content_type, n->body, n->body_len, len);
out:
	osip_message_free(m);
	return out;
}

char *sip_build_publish(const struct publish_out *p, size_t *len)
{
	const struct sip_request_head h = {
		.method = "PUBLISH", .ruri = p->ruri, .via_sent_by = p->via_sent_by, .branch = p->branch,
		.from_uri = p->from_uri, .from_tag = p->from_tag, .to_uri = p->to_uri, .call_id = p->call_id,
		.cseq = p->cseq, .contact = p->contact,
	};
	osip_message_t *m = sip_request_start(&h);
	char *out = NULL, exp[16];

	if (!m)
		return NULL;
	snprintf(exp, sizeof(exp), "%u", p->expires);
	if (osip_message_set_header(m, "Event", p->event) != 0 || osip_message_set_header(m, "Expires", exp) != 0)
		goto out;
	if (p->if_match && osip_message_set_header(m, "SIP-If-Match", p->if_match) != 0)
		goto out;
	if (p->user_agent && osip_message_set_header(m, "User-Agent", p->user_agent) != 0)
		goto out;
	out = finish_request(m, p->content_type, p->body, p->body_len, len);
out:
	osip_message_free(m);
	return out;
}

void sip_user_escape(struct sbuf *b, const char *user)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)user; *p; p++) {
		unsigned char c = *p;
		bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c && strchr("-_.!~*'()&=+$,;?/", c));

		if (c == '%' && isxdigit(p[1]) && isxdigit(p[2]))
			ok = true; /* already escaped */
		if (ok) {
			sbuf_add(b, (const char *)p, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};

			sbuf_add(b, e, 3);
		}
	}
}

char *sip_uri_user(const char *uri)
{
	osip_uri_t *u = NULL;
	char *user = NULL;
	const char *s = uri;

	/* sip:user@..., the user of unreserved characters (libosip2 gives it as it is): no parse */
	if (strncmp(s, "sip:", 4) == 0 || strncmp(s, "sips:", 5) == 0) {
		const char *b = s + (s[3] == ':' ? 4 : 5), *e = b;

		while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') ||
		       (*e && strchr("-_.!~*'+", *e)))
			e++;
		if (*e == '@' && e > b && e[1] && !strpbrk(e + 1, "@<>\"% \t\r\n"))
			return strndup(b, (size_t)(e - b));
	}
	if (osip_uri_init(&u) != 0)
		return NULL;
	if (osip_uri_parse(u, uri) == 0 && u->username)
		user = strdup(u->username);
	osip_uri_free(u);
	return user;
}
