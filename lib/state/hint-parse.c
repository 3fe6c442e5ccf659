/* SPDX-License-Identifier: MIT */
/* Hint value parser: DEVICES[,PROVIDERS][(Display Name)]. */
#include <string.h>

#include "state-private.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_tech_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
	       c == '.';
}

bool sippres__device_name_ok(const char *s, size_t len, size_t *bad_offset)
{
	size_t sep = len;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '/' || s[i] == ':') {
			sep = i;
			break;
		}
		if (!is_tech_char(s[i])) {
			*bad_offset = i;
			return false;
		}
	}
	if (sep == 0 || sep + 1 >= len || len > SIPPRES_MAX_NAME) {
		*bad_offset = sep == len ? 0 : sep;
		return false;
	}
	for (size_t i = sep + 1; i < len; i++) {
		char c = s[i];

		if (is_blank(c) || c == '&' || c == ',' || c == '(' || c == ')' || (unsigned char)c < 0x20 || c == 0x7f) {
			*bad_offset = i;
			return false;
		}
	}
	return sippres__text_ok(s, len, bad_offset);
}

void sippres__hint_parsed_fini(struct sippres_ctx *ctx, struct sippres__hint_parsed *p)
{
	sippres__free(ctx, p->devices);
	sippres__free(ctx, p->providers);
	memset(p, 0, sizeof(*p));
}

/* Split [off, off+len) of value at '&' into trimmed, non-empty, validated names. */
static int split_names(struct sippres_ctx *ctx, const char *value, size_t off, size_t len, const char *what,
                       struct sippres__span **out, size_t *nout, struct sippres_diag *diag)
{
	size_t count = 1, n = 0;
	struct sippres__span *spans;

	for (size_t i = off; i < off + len; i++)
		count += value[i] == '&';
	spans = sippres__calloc(ctx, count, sizeof(*spans));
	if (!spans)
		return SIPPRES_E_NOMEM;
	for (size_t i = off; i <= off + len;) {
		size_t start = i, end, bad;

		while (i < off + len && value[i] != '&')
			i++;
		end = i;
		i++; /* skip '&' (or step past the end) */
		while (start < end && is_blank(value[start]))
			start++;
		while (end > start && is_blank(value[end - 1]))
			end--;
		if (start == end)
			continue; /* empty names are skipped, as Asterisk does */
		if (!sippres__device_name_ok(value + start, end - start, &bad)) {
			if (end - start > SIPPRES_MAX_NAME)
				sippres__diag(diag, 0, (uint32_t)(start + 1), "%s name longer than %d bytes", what,
				        SIPPRES_MAX_NAME);
			else
				sippres__diag(diag, 0, (uint32_t)(start + bad + 1),
				        "invalid %s name '%.*s': expected Tech/resource or Provider:resource", what,
				        (int)(end - start > 80 ? 80 : end - start), value + start);
			sippres__free(ctx, spans);
			return SIPPRES_E_PARSE;
		}
		spans[n].off = start;
		spans[n].len = end - start;
		n++;
	}
	*out = spans;
	*nout = n;
	return 0;
}

int sippres__hint_parse(struct sippres_ctx *ctx, const char *value, size_t len, struct sippres__hint_parsed *out,
                  struct sippres_diag *diag)
{
	struct sippres__hint_parsed p;
	size_t bad, main_len = len, comma;
	const char *paren;
	int r;

	memset(&p, 0, sizeof(p));
	memset(out, 0, sizeof(*out));
	if (len > SIPPRES_MAX_TEXT) {
		sippres__diag(diag, 0, 0, "hint longer than %d bytes", SIPPRES_MAX_TEXT);
		return SIPPRES_E_TOOBIG;
	}
	if (!sippres__text_ok(value, len, &bad)) {
		sippres__diag(diag, 0, (uint32_t)(bad + 1), "control character or invalid UTF-8 in hint");
		return SIPPRES_E_PARSE;
	}
	paren = memchr(value, '(', len);
	if (paren) {
		size_t open = (size_t)(paren - value), close = len;

		while (close > open + 1 && is_blank(value[close - 1]))
			close--;
		if (value[close - 1] != ')' || close - 1 == open) {
			sippres__diag(diag, 0, (uint32_t)(open + 1), "display name '(' is not closed by ')' at the end");
			return SIPPRES_E_PARSE;
		}
		p.display.off = open + 1;
		p.display.len = close - 1 - (open + 1);
		main_len = open;
	}
	comma = main_len;
	for (size_t i = 0; i < main_len; i++) {
		if (value[i] == ',') {
			comma = i;
			break;
		}
	}
	if (comma < main_len) {
		const char *second = memchr(value + comma + 1, ',', main_len - comma - 1);

		if (second) {
			sippres__diag(diag, 0, (uint32_t)(second - value + 1),
			        "a second ',' in hint: expected DEVICES[,PRESENCE][(Display Name)]");
			return SIPPRES_E_PARSE;
		}
	}
	r = split_names(ctx, value, 0, comma, "device", &p.devices, &p.ndevices, diag);
	if (r < 0)
		return r;
	if (comma < main_len) {
		r = split_names(ctx, value, comma + 1, main_len - comma - 1, "presence provider", &p.providers,
		                &p.nproviders, diag);
		if (r < 0) {
			sippres__hint_parsed_fini(ctx, &p);
			return r;
		}
	}
	if (p.ndevices == 0 && p.nproviders == 0) {
		sippres__diag(diag, 0, 1, "hint names no device and no presence provider");
		sippres__hint_parsed_fini(ctx, &p);
		return SIPPRES_E_PARSE;
	}
	*out = p;
	return 0;
}
