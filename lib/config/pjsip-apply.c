/* SPDX-License-Identifier: MIT */
/* The public pjsip.conf loader: checked endpoints and resource lists go
 * into the context. */
#include <string.h>

#include "pjsip-private.h"
#include "state/state-private.h"

static int apply_endpoint(void *user_data, const char *name, const struct sippres_endpoint *ep,
                          struct sippres_diag *diag)
{
	int r = sippres_endpoint_set(user_data, name, ep);

	(void)diag;
	return r < 0 ? r : 0;
}

static int apply_list(void *user_data, const struct sippres__conf_list *l, struct sippres_diag *diag)
{
	struct sippres_list list;
	int r;

	memset(&list, 0, sizeof(list));
	list.size = sizeof(list);
	list.name = l->name;
	list.event = l->event;
	list.items = l->items;
	list.n_items = l->n_items;
	list.full_state = l->full_state;
	list.batch_interval_ms = l->notification_batch_interval;
	list.resource_display_name = l->resource_display_name;
	r = sippres_list_set(user_data, &list);
	if (r == SIPPRES_E_TOOBIG)
		sippres__diag(diag, 0, 0, "too many list items or names too long");
	return r < 0 ? r : 0;
}

static int apply_outbound(void *user_data, const char *name, const struct sippres_outbound_publish *o,
                          struct sippres_diag *diag)
{
	int r = sippres_outbound_publish_set(user_data, name, o);

	if (r == SIPPRES_E_INVAL && o->device_state_filter)
		sippres__diag(diag, 0, 0, "@device_state_filter '%s' is not a POSIX extended regular expression",
		              o->device_state_filter);
	return r < 0 ? r : 0;
}

static int apply_inbound(void *user_data, const char *resource, const struct sippres_inbound_publication *p,
                         struct sippres_diag *diag)
{
	int r = sippres_inbound_publication_set(user_data, resource, p);

	/* the loader checked names and expiries: only the filter is left to refuse */
	if (r == SIPPRES_E_INVAL && p->device_state_filter)
		sippres__diag(diag, 0, 0, "device_state_filter '%s' is not a POSIX extended regular expression",
		              p->device_state_filter);
	return r < 0 ? r : 0;
}

/* extensions.conf wins: a hint the context has for exten with another value
 * stays (a second hint for one extension is an error in Asterisk's dialplan);
 * the same value, as the wizard's own hint of an earlier load, is left as it is. */
static int apply_hint(void *user_data, const char *context, const char *exten, const char *value,
                      struct sippres_diag *diag)
{
	const char *have = sippres__hint_own_value(user_data, context, exten);
	int r;

	if (have && strcmp(have, value) == 0)
		return 0;
	if (have) {
		sippres__diag(diag, 0, 0, "%s", have);
		return SIPPRES_E_EXISTS;
	}
	r = sippres_hint_set(user_data, context, exten, value, diag);
	return r < 0 ? r : 0;
}

static int apply_auth(void *user_data, const char *name, const struct sippres_auth *a, struct sippres_diag *diag)
{
	int r = sippres_auth_set(user_data, name, a);

	(void)diag;
	return r < 0 ? r : 0;
}

static int apply_identify(void *user_data, const char *name, const struct sippres_identify *id,
                          struct sippres_diag *diag)
{
	int r = sippres_identify_set(user_data, name, id);

	(void)diag;
	return r < 0 ? r : 0;
}

SIPPRES_EXPORT int sippres_config_load_pjsip(struct sippres_ctx *ctx, const char *file, const char *text, size_t len,
                                             const struct sippres_config_io *io)
{
	struct sippres__pjsip_sink sink = {.user_data = ctx, .endpoint = apply_endpoint,
	                                   .list = apply_list, .outbound = apply_outbound, .inbound = apply_inbound, .hint = apply_hint,
	                                   .auth = apply_auth, .identify = apply_identify};

	return sippres__config_pjsip(ctx, file, text, len, io, &sink);
}
