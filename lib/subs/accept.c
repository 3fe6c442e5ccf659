/* SPDX-License-Identifier: MIT */
/* Event packages and Accept negotiation. */
#include <stdlib.h>
#include <string.h>

#include "subs-private.h"

const char *sippres__accept_list(int event)
{
	return event == SIPPRES__EVENT_DIALOG
	               ? "application/dialog-info+xml, application/pidf+xml, application/xpidf+xml, "
	                 "application/cpim-pidf+xml"
	               : "application/pidf+xml, application/xpidf+xml, application/cpim-pidf+xml, "
	                 "application/dialog-info+xml";
}

static bool is_list_wrapper(const char *s, size_t n)
{
	return (n == 17 && sippres__memeq_nocase(s, "multipart/related", 17)) ||
	       (n == 20 && sippres__memeq_nocase(s, "application/rlmi+xml", 20));
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Parse a q-value ("1", "0.5", "0.123"); returns thousandths or -1. */
static int parse_q(const char *s, size_t n)
{
	int v = 0, digits = 0;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	v = (s[0] - '0') * 1000;
	if (n == 1)
		return v;
	if (s[1] != '.' || n > 5)
		return -1;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v += (s[i] - '0') * (digits == 0 ? 100 : digits == 1 ? 10 : 1);
		digits++;
	}
	return v > 1000 ? -1 : v;
}

const char *sippres__accept_choose(struct sippres_ctx *ctx, int event, bool asterisk, const char *const *accept,
                             size_t n)
{
	const char *best = NULL;
	int best_q = 0;
	size_t seen = 0;

	for (size_t i = 0; i < n; i++) {
		const char *p = accept[i];

		if (!p)
			continue;
		while (*p) {
			const char *start, *end, *semi, *elem_end;
			int q = 1000;
			const char *type;

			while (*p == ',' || blank(*p))
				p++;
			if (!*p)
				break;
			start = p;
			while (*p && *p != ',')
				p++;
			elem_end = p;
			while (elem_end > start && blank(elem_end[-1]))
				elem_end--;
			if (asterisk) {
				/* pjsip keeps the whole element: parameters make it unmatched;
				 * Asterisk looks at 32 values at most */
				if (++seen > 32)
					return best;
				if (is_list_wrapper(start, (size_t)(elem_end - start)))
					continue;
				type = sippres__content_type_intern(ctx, start, (size_t)(elem_end - start), true);
				if (type)
					return type;
				continue;
			}
			semi = memchr(start, ';', (size_t)(elem_end - start));
			end = semi ? semi : elem_end;
			while (end > start && blank(end[-1]))
				end--;
			for (const char *a = semi; a && a < elem_end;) {
				const char *pn, *pv, *pe;

				a++;
				while (a < elem_end && blank(*a))
					a++;
				pn = a;
				pe = memchr(a, ';', (size_t)(elem_end - a));
				if (!pe)
					pe = elem_end;
				pv = memchr(pn, '=', (size_t)(pe - pn));
				if (pv && pv - pn >= 1 && sippres__memeq_nocase(pn, "q", 1) &&
				    (pv - pn == 1 || blank(pn[1]))) {
					const char *ve = pe;
					pv++;
					while (pv < ve && blank(*pv))
						pv++;
					while (ve > pv && blank(ve[-1]))
						ve--;
					q = parse_q(pv, (size_t)(ve - pv));
					if (q < 0)
						q = 0; /* a broken q-value makes the range unusable */
				}
				a = pe;
			}
			if (q <= best_q || is_list_wrapper(start, (size_t)(end - start)))
				continue;
			if ((end - start == 3 && memcmp(start, "*/*", 3) == 0) ||
			    (end - start == 13 && sippres__memeq_nocase(start, "application/*", 13)))
				type = sippres__content_type_intern(ctx, sippres__event_default_type(event),
				                                     strlen(sippres__event_default_type(event)), true);
			else
				type = sippres__content_type_intern(ctx, start, (size_t)(end - start), false);
			if (type) {
				best = type;
				best_q = q;
			}
		}
	}
	return best;
}
