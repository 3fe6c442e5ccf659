/* SPDX-License-Identifier: MIT */
/* A byte stream cut into control lines (ctl.h). */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void ctl_lines_init(struct ctl_lines *l, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->max = max;
}

void ctl_lines_free(struct ctl_lines *l)
{
	free(l->buf);
	ctl_lines_init(l, l->max);
}

size_t ctl_lines_pending(const struct ctl_lines *l)
{
	return l->len - l->start;
}

int ctl_lines_add(struct ctl_lines *l, const char *data, size_t n)
{
	if (l->start > 0) {
		memmove(l->buf, l->buf + l->start, l->len - l->start);
		l->len -= l->start;
		l->start = 0;
	}
	if (l->len + n + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 1024;
		char *b;

		while (cap < l->len + n + 1)
			cap *= 2;
		b = realloc(l->buf, cap);
		if (!b)
			return -1;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, data, n);
	l->len += n;
	return 0;
}

int ctl_lines_next(struct ctl_lines *l, bool eof, char **line)
{
	if (!l->buf)
		return 0; /* nothing was ever added */
	for (;;) {
		char *s = l->buf + l->start, *nl;
		size_t avail = l->len - l->start, n;

		nl = avail ? memchr(s, '\n', avail) : NULL;
		if (l->skipping) {
			if (!nl) {
				l->start = l->len;
				return 0;
			}
			l->start += (size_t)(nl - s) + 1;
			l->skipping = false;
			continue;
		}
		if (!nl) {
			if (l->max && avail > l->max) { /* too long already: drop it up to its newline */
				l->start = l->len;
				l->skipping = !eof;
				return -1;
			}
			if (!eof || avail == 0)
				return 0;
			n = avail;
			l->start = l->len;
		} else {
			n = (size_t)(nl - s);
			l->start += n + 1;
		}
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (l->max && n > l->max)
			return -1;
		s[n] = '\0';
		*line = s;
		return 1;
	}
}
