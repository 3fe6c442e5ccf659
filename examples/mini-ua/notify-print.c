/* SPDX-License-Identifier: MIT */
/* Printing a received NOTIFY body readably for `sippres-mini-ua subscribe`:
 * a plain body as it is, a multipart body (RFC 2046, as RFC 4662 lists send
 * it) part by part, nested multiparts included. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "subscriber.h"
#include "ua.h"

/* After "--boundary": "--" (the close delimiter), or spaces and the end of the line. */
static bool delimiter_ends(const char *q, const char *end)
{
	if (end - q >= 2 && q[0] == '-' && q[1] == '-')
		return true;
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	return q == end || *q == '\r' || *q == '\n';
}

/* The first delimiter line "--boundary" (RFC 2046 5.1.1: at the start of
 * the body or of a line, then "--" or the end of the line) from s on. */
static const char *find_delimiter(const char *s, const char *start, const char *end, const char *b, size_t bl)
{
	for (const char *p = s; p + 2 + bl <= end; p++) {
		if (p[0] == '-' && p[1] == '-' && (p == start || p[-1] == '\n') && memcmp(p + 2, b, bl) == 0 &&
		    delimiter_ends(p + 2 + bl, end))
			return p;
	}
	return NULL;
}

static void split_part(const char *s, const char *e, struct mp_part *part)
{
	const char *p;

	part->headers = s;
	part->headers_len = 0;
	/* no headers: the part starts with its empty line */
	if (e - s >= 2 && s[0] == '\r' && s[1] == '\n') {
		part->body = s + 2;
		part->body_len = (size_t)(e - s - 2);
		return;
	}
	if (e - s >= 1 && s[0] == '\n') {
		part->body = s + 1;
		part->body_len = (size_t)(e - s - 1);
		return;
	}
	for (p = s; p < e; p++) {
		if (e - p >= 4 && memcmp(p, "\r\n\r\n", 4) == 0) {
			part->headers_len = (size_t)(p - s);
			part->body = p + 4;
			part->body_len = (size_t)(e - p - 4);
			return;
		}
		if (e - p >= 2 && memcmp(p, "\n\n", 2) == 0) {
			part->headers_len = (size_t)(p - s);
			part->body = p + 2;
			part->body_len = (size_t)(e - p - 2);
			return;
		}
	}
	/* headers only */
	part->headers_len = (size_t)(e - s);
	part->body = e;
	part->body_len = 0;
}

int multipart_split(const char *body, size_t len, const char *boundary, struct mp_part *parts, size_t max)
{
	const char *end = body + len, *p;
	size_t bl = strlen(boundary);
	int n = 0;

	if (bl == 0 || bl > 200)
		return -1;
	p = find_delimiter(body, body, end, boundary, bl);
	if (!p)
		return -1;
	for (;;) {
		const char *q = p + 2 + bl, *next, *part_end;

		if (end - q >= 2 && q[0] == '-' && q[1] == '-')
			break; /* close delimiter */
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < end && *q == '\r')
			q++;
		if (q < end && *q == '\n')
			q++;
		next = find_delimiter(q, body, end, boundary, bl);
		part_end = next ? next : end;
		/* the line break before a delimiter belongs to the delimiter */
		if (next && part_end > q && part_end[-1] == '\n')
			part_end--;
		if (next && part_end > q && part_end[-1] == '\r')
			part_end--;
		if ((size_t)n < max)
			split_part(q, part_end, &parts[n]);
		n++;
		if (!next || n >= 100000)
			break;
		p = next;
	}
	return n;
}

char *mime_header(const struct mp_part *part, const char *name)
{
	const char *s = part->headers, *end = part->headers + part->headers_len;
	size_t nl = strlen(name);

	while (s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s)), *v, *ve;

		if (!eol)
			eol = end;
		if ((size_t)(eol - s) > nl && strncasecmp(s, name, nl) == 0) {
			v = s + nl;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			if (v < eol && *v == ':') {
				v++;
				while (v < eol && (*v == ' ' || *v == '\t'))
					v++;
				ve = eol;
				while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
					ve--;
				return strndup(v, (size_t)(ve - v));
			}
		}
		s = eol + 1;
	}
	return NULL;
}

static void print_text(FILE *out, const char *body, size_t len)
{
	if (len == 0) {
		fputs("(empty body)\n", out);
		return;
	}
	fwrite(body, 1, len, out);
	if (body[len - 1] != '\n')
		fputc('\n', out);
}

#define MAX_PARTS 256
#define MAX_DEPTH 8

static void print_body_at(FILE *out, const char *ctype, const char *body, size_t len, const char *label, int depth)
{
	struct mp_part *parts;
	char *boundary;
	int n;

	if (!ctype || strncasecmp(ctype, "multipart/", 10) != 0 || depth >= MAX_DEPTH) {
		print_text(out, body, len);
		return;
	}
	boundary = mime_param(ctype, "boundary");
	parts = calloc(MAX_PARTS, sizeof(*parts));
	n = boundary && parts ? multipart_split(body, len, boundary, parts, MAX_PARTS) : -1;
	free(boundary);
	if (n < 0) {
		fputs("(multipart body without its boundary; as received:)\n", out);
		print_text(out, body, len);
		free(parts);
		return;
	}
	for (int i = 0; i < n && i < MAX_PARTS; i++) {
		char *type = mime_header(&parts[i], "Content-Type");
		char *cid = mime_header(&parts[i], "Content-ID");
		char sub[64];

		fprintf(out, "--- part %s%d of %d: Content-Type: %s%s%s\n", label, i + 1, n, type ? type : "(none)",
		        cid ? ", Content-ID: " : "", cid ? cid : "");
		snprintf(sub, sizeof(sub), "%s%d.", label, i + 1);
		print_body_at(out, type, parts[i].body, parts[i].body_len, sub, depth + 1);
		free(type);
		free(cid);
	}
	if (n > MAX_PARTS)
		fprintf(out, "--- (%d more parts not shown)\n", n - MAX_PARTS);
	free(parts);
}

void notify_print_body(FILE *out, const char *ctype, const char *body, size_t len)
{
	print_body_at(out, ctype, body, len, "", 0);
}
