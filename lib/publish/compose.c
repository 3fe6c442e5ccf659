/* SPDX-License-Identifier: MIT */
/* From publications to the state hints aggregate.
 *
 * Composition policy (RFC 3903 leaves it to the compositor):
 * - presence: one live publication wins and provider Publish:R takes its
 *   state, subtype and note. A publication that says the person can be
 *   reached (any state but unavailable) beats one that says unavailable (the
 *   softphone that went offline does not hide the desk phone that is
 *   open); among those, the one whose body changed last wins. When the
 *   winner is removed or expires, the next one by the same rule takes over;
 *   with none left the provider is NOT_SET (no state).
 * - dialog: the dialogs of every live publication of R together. Each one is
 *   a call on device Dialog/R; the device's state is the dialogs' states
 *   aggregated as a hint aggregates devices (NOT_INUSE without dialogs).
 * - asterisk-devicestate: each body is an event applied when it arrives; a
 *   publication that ends takes nothing back.
 * Local device changes go out to the outbound publishes (the device hook);
 * changes that came in as asterisk-devicestate do not, so two servers never
 * loop. */
#include <stdlib.h>
#include <string.h>

#include "publish-private.h"

#define PUB_OF(n) SIPPRES__CONTAINER_OF((n), struct sippres_publication, res_node)

int sippres__pub_parse_into(struct sippres_ctx *ctx, struct sippres_publication *p, const char *body, size_t len)
{
	struct sippres__pidf pidf;
	struct sippres__dialoginfo d;
	struct sippres__ast_event ev;
	int r;

	switch (p->event) {
	case SIPPRES_PUBLISH_PRESENCE:
		r = sippres__pidf_parse(ctx, body, len, &pidf);
		if (r < 0)
			return r;
		sippres__pidf_fini(ctx, &p->pidf);
		p->pidf = pidf;
		return 0;
	case SIPPRES_PUBLISH_DIALOG:
		r = sippres__dialoginfo_parse(ctx, body, len, &d);
		if (r < 0)
			return r;
		if (d.partial) {
			/* RFC 4235 4.1: a partial document changes the dialogs it names */
			r = sippres__dialoginfo_merge(ctx, &p->dinfo, &d);
			sippres__dialoginfo_fini(ctx, &d);
			return r;
		}
		sippres__dialoginfo_fini(ctx, &p->dinfo);
		p->dinfo = d;
		return 0;
	default:
		r = sippres__ast_event_parse(ctx, body, len, &ev);
		if (r < 0)
			return r;
		sippres__ast_event_fini(ctx, &ev);
		return 0;
	}
}

static bool reachable(const struct sippres_publication *p)
{
	return p->pidf.state != SIPPRES_PRESENCE_UNAVAILABLE && p->pidf.state != SIPPRES_PRESENCE_NOT_SET &&
	       p->pidf.state != SIPPRES_PRESENCE_INVALID;
}

static bool beats(const struct sippres_publication *p, const struct sippres_publication *win)
{
	if (reachable(p) != reachable(win))
		return reachable(p);
	return p->seq > win->seq;
}

static int compose_presence(struct sippres_ctx *ctx, struct sippres__pub_resource *r)
{
	const struct sippres_publication *win = NULL;

	for (struct sippres__dnode *n = r->pubs.head; n; n = n->next) {
		const struct sippres_publication *p = PUB_OF(n);

		if (p->event == SIPPRES_PUBLISH_PRESENCE && (!win || beats(p, win)))
			win = p;
	}
	if (!win)
		return sippres_presence_state_set(ctx, r->provider, SIPPRES_PRESENCE_NOT_SET, NULL, NULL);
	return sippres_presence_state_set(ctx, r->provider, (int)win->pidf.state, win->pidf.subtype,
	                                  win->pidf.message);
}

static bool listed(char *const *ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], id) == 0)
			return true;
	}
	return false;
}

static int seq_desc(const void *a, const void *b)
{
	const struct sippres_publication *x = *(const struct sippres_publication *const *)a;
	const struct sippres_publication *y = *(const struct sippres_publication *const *)b;

	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

/* The resource's dialog publications, latest body first (*ret NULL: none). */
static int dialog_pubs(struct sippres_ctx *ctx, struct sippres__pub_resource *r,
                       const struct sippres_publication ***ret, size_t *n)
{
	const struct sippres_publication **v;
	size_t k = 0;

	*ret = NULL;
	*n = 0;
	for (struct sippres__dnode *d = r->pubs.head; d; d = d->next)
		k += PUB_OF(d)->event == SIPPRES_PUBLISH_DIALOG;
	if (!k)
		return 0;
	v = sippres__reallocarray(ctx, NULL, k, sizeof(*v));
	if (!v)
		return SIPPRES_E_NOMEM;
	for (struct sippres__dnode *d = r->pubs.head; d; d = d->next) {
		if (PUB_OF(d)->event == SIPPRES_PUBLISH_DIALOG)
			v[(*n)++] = PUB_OF(d);
	}
	qsort(v, *n, sizeof(*v), seq_desc);
	*ret = v;
	return 0;
}

/* Set the calls of the dialogs on the resource's device, clear the calls of
 * dialogs that went, then the device's state (so its NOTIFYs carry the
 * calls). A call that several publications hold (a proxy that sent a second
 * initial PUBLISH for a dialog it had published) is what the publication
 * changed last says, terminated included. */
static int compose_dialog(struct sippres_ctx *ctx, struct sippres__pub_resource *r)
{
	const struct sippres_publication **pubs;
	struct sippres__devagg agg;
	char **ids = NULL;  /* every call seen, the latest publication's first */
	bool *set = NULL;   /* set[i]: ids[i] is a live call on the device */
	size_t npubs, nids = 0, cap = 0, kept = 0;
	int state, e;

	e = dialog_pubs(ctx, r, &pubs, &npubs);
	sippres__devagg_init(&agg);
	for (size_t k = 0; e >= 0 && k < npubs; k++) {
		const struct sippres_publication *p = pubs[k];

		for (size_t i = 0; i < p->dinfo.n_dialogs && e >= 0; i++) {
			const struct sippres__dialog *dl = &p->dinfo.dialogs[i];
			struct sippres_call call;

			sippres__dialog_to_call(dl, &call);
			if (listed(ids, nids, call.call_id))
				continue;
			if (nids == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				char **t = sippres__reallocarray(ctx, ids, ncap, sizeof(*t));
				bool *u = t ? sippres__reallocarray(ctx, set, ncap, sizeof(*u)) : NULL;

				if (t)
					ids = t;
				if (!u) {
					e = SIPPRES_E_NOMEM;
					break;
				}
				set = u;
				cap = ncap;
			}
			ids[nids] = sippres__strdup(ctx, call.call_id);
			if (!ids[nids]) {
				e = SIPPRES_E_NOMEM;
				break;
			}
			set[nids] = false;
			sippres__devagg_add(&agg, sippres__dialog_device_state(dl));
			if (call.state != SIPPRES_CALL_TERMINATED) {
				if (sippres_call_set(ctx, r->device, &call) < 0)
					sippres__log(ctx, SIPPRES_LOG_INFO, "%s: dialog %s is not usable as a call", r->name, dl->id);
				else
					set[nids] = true;
			}
			nids++;
		}
	}
	sippres__free(ctx, pubs);
	if (e < 0) {
		for (size_t i = 0; i < nids; i++)
			sippres__free(ctx, ids[i]);
		sippres__free(ctx, ids);
		sippres__free(ctx, set);
		return e;
	}
	for (size_t i = 0; i < r->ncalls; i++) {
		size_t j = 0;

		while (j < nids && strcmp(ids[j], r->calls[i]) != 0)
			j++;
		if (j == nids || !set[j])
			sippres_call_clear(ctx, r->device, r->calls[i]);
		sippres__free(ctx, r->calls[i]);
	}
	sippres__free(ctx, r->calls);
	/* the resource keeps the ids of the calls it set */
	for (size_t i = 0; i < nids; i++) {
		if (set[i])
			ids[kept++] = ids[i];
		else
			sippres__free(ctx, ids[i]);
	}
	sippres__free(ctx, set);
	if (!kept) {
		sippres__free(ctx, ids);
		ids = NULL;
	}
	r->calls = ids;
	r->ncalls = kept;
	/* no dialog gives INVALID in the aggregation: idle here */
	state = agg.state == SIPPRES_DEVICE_INVALID ? SIPPRES_DEVICE_NOT_INUSE : agg.state;
	return sippres__device_state_apply(ctx, r->device, state, SIPPRES__DEV_CALLS_CHANGED);
}

int sippres__pub_compose(struct sippres_ctx *ctx, struct sippres__pub_resource *r, uint32_t event)
{
	if (event == SIPPRES_PUBLISH_PRESENCE)
		return compose_presence(ctx, r);
	if (event == SIPPRES_PUBLISH_DIALOG)
		return compose_dialog(ctx, r);
	return 0;
}

int sippres__pub_devicestate_apply(struct sippres_ctx *ctx, struct sippres__pub_resource *r, const char *body,
                                   size_t len, bool restored)
{
	struct sippres__ast_event ev;
	struct sippres__outbound *o;
	int e = sippres__ast_event_parse(ctx, body, len, &ev);

	if (e < 0)
		return e;
	if (strcmp(ev.eid, ctx->pubs->eid) == 0) {
		sippres__log(ctx, SIPPRES_LOG_DEBUG, "%s: an event of our own entity id, ignored", r->name);
	} else if (ev.type == SIPPRES__AST_DEVICESTATE) {
		if (!sippres__filter_match(&r->filter, ev.device))
			sippres__log(ctx, SIPPRES_LOG_DEBUG, "%s: device %s is filtered out", r->name, ev.device);
		else if ((e = sippres__device_state_apply(ctx, ev.device, ev.state, SIPPRES__DEV_REMOTE)) == SIPPRES_E_INVAL)
			sippres__log(ctx, SIPPRES_LOG_INFO, "%s: device name %s is not usable", r->name, ev.device);
	} else if (ev.type == SIPPRES__AST_REFRESH && restored) {
		/* that request was answered before the restart; the peer asks again
		 * when it needs to (and our own resync sends it our states) */
	} else if (ev.type == SIPPRES__AST_REFRESH) {
		o = r->devicestate_publish ? sippres__pub_outbound_find(ctx, r->devicestate_publish) : NULL;
		if (o)
			e = sippres__pub_out_all(ctx, o);
		else
			sippres__log(ctx, SIPPRES_LOG_INFO, "%s: a refresh request with no devicestate_publish to answer by",
			             r->name);
	}
	sippres__ast_event_fini(ctx, &ev);
	return e == SIPPRES_E_NOMEM ? e : 0;
}

int sippres__pub_apply(struct sippres_ctx *ctx, struct sippres_publication *p, bool restored)
{
	if (p->event == SIPPRES_PUBLISH_DEVICESTATE)
		return sippres__pub_devicestate_apply(ctx, p->res, p->body, p->body_len, restored);
	return sippres__pub_compose(ctx, p->res, p->event);
}

void sippres__pub_device_hook(struct sippres_ctx *ctx, const char *device, int old_state, int state, bool remote)
{
	(void)old_state;
	if (!remote)
		sippres__pub_out_device(ctx, NULL, device, state);
}
