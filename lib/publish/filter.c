/* SPDX-License-Identifier: MIT */
/* device_state_filter / mailbox_state_filter of an asterisk-publication:
 * POSIX extended regular expressions, case-insensitive, matched anywhere in
 * the name (regexec without anchors), as Asterisk applies them. regcomp and
 * regexec are libc and do no I/O; their memory comes from libc's malloc. */
#include <string.h>

#include "publish/publish-private.h"

int sippres__filter_compile(struct sippres_ctx *ctx, struct sippres__filter *f, const char *pattern)
{
	int rc;

	memset(f, 0, sizeof(*f));
	if (!pattern || !*pattern)
		return 0;
	if (strlen(pattern) > SIPPRES_MAX_TEXT)
		return SIPPRES_E_TOOBIG;
	rc = regcomp(&f->re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc != 0) {
		char msg[160];

		if (rc == REG_ESPACE)
			return SIPPRES_E_NOMEM;
		regerror(rc, NULL, msg, sizeof(msg));
		sippres__log(ctx, SIPPRES_LOG_DEBUG, "publish: filter '%.64s': %s", pattern, msg);
		return SIPPRES_E_PARSE;
	}
	f->set = true;
	return 0;
}

bool sippres__filter_match(const struct sippres__filter *f, const char *s)
{
	if (!f->set)
		return true;
	return s && regexec(&f->re, s, 0, NULL, 0) == 0;
}

void sippres__filter_fini(struct sippres__filter *f)
{
	if (f->set)
		regfree(&f->re);
	memset(f, 0, sizeof(*f));
}
