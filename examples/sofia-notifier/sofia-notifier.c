/* SPDX-License-Identifier: MIT */
/*
 * sippres-sofia-notifier: a presence and BLF notifier built on sofia-sip's
 * NUA (Debian libsofia-sip-ua-dev, LGPL, linked only). sofia-sip does the SIP:
 * UDP transport, parsing, transactions and retransmissions, dialogs, route
 * sets, Contact. libsippresence does the presence: it decides every answer to
 * a SUBSCRIBE, renders every NOTIFY and says when its timers are due.
 *
 *   sippres-sofia-notifier --listen 127.0.0.1:5080 --endpoint alice \
 *       --hint 1000=PJSIP/alice(Alice) [--hint EXTEN[@CONTEXT]=VALUE]...
 *
 * Control on standard input, one command a line; each reply is zero or more
 * lines, then "OK" or "ERR <reason>" (see README.md). Logs go to standard error.
 *
 * How the two fit (README.md has the why):
 *  - SUBSCRIBE: NUTAG_APPL_METHOD("SUBSCRIBE") and NUTAG_APPL_EVENT() make nua
 *    hand every SUBSCRIBE (initial and in-dialog) to nua_i_subscribe and wait
 *    for nua_respond(); the answer is the library's sippres_subscribe() /
 *    sippres_sub_refresh() decision.
 *  - NOTIFY: sent in the SUBSCRIBE's dialog with nua_method("NOTIFY") and the
 *    library's CSeq, Event, Subscription-State and body. nua_notify() is not
 *    used: its built-in notifier would also send NOTIFYs of its own.
 *  - NOTIFY outcome: nua_r_method's final status -> sippres_sub_notify_result().
 *  - Timers: one su_timer on the su_root, set from sippres_ctx_next_timeout()
 *    after every event; it calls sippres_ctx_handle_timeout().
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct app;
struct peer;
#define SU_ROOT_MAGIC_T struct app
#define SU_WAKEUP_ARG_T struct app
#define SU_TIMER_ARG_T struct app
#define NUA_MAGIC_T struct app
#define NUA_HMAGIC_T struct peer

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>

#include <libsippresence/libsippresence.h>

#include "ctl.h"
#include "cli-show.h"

#define MAX_ENDPOINTS 64
#define MAX_PENDING 32 /* NOTIFYs of one subscription awaiting a final response */

/* One SUBSCRIBE dialog: a nua handle and the library's subscription. */
struct peer {
	struct peer *next;
	struct app *app;
	nua_handle_t *nh;
	struct sippres_sub *sub; /* NULL once the library ended the subscription */
	uint32_t pending[MAX_PENDING];
	unsigned n_pending;
};

struct app {
	su_root_t *root;
	nua_t *nua;
	su_timer_t *timer;
	su_timer_t *quit_timer;
	struct sippres_ctx *ctx;
	struct peer *peers;
	char *endpoints[MAX_ENDPOINTS];
	unsigned n_endpoints;
	su_wait_t stdin_wait[1];
	int stdin_index; /* su_root registration, 0 when not registered */
	struct ctl_lines lines; /* standard input */
	int quitting;
	int verbose;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sofia-notifier: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Replies on standard output: zero or more lines, then OK or ERR. */
static void reply_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

/* Reply lines already formatted (each ending in a newline), e.g. a listing of examples/common/cli-show.h. */
static void reply_text(const char *text, size_t len)
{
	fwrite(text, 1, len, stdout);
	fflush(stdout);
}

/* ---- peers ------------------------------------------------------------- */

static struct peer *peer_new(struct app *app, nua_handle_t *nh)
{
	struct peer *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->app = app;
	p->nh = nh;
	p->next = app->peers;
	app->peers = p;
	nua_handle_bind(nh, p);
	return p;
}

/* Free the peers whose subscription ended and whose NOTIFYs were answered. */
static void peers_release(struct app *app)
{
	struct peer **pp = &app->peers;
	while (*pp) {
		struct peer *p = *pp;
		if (p->sub == NULL && p->n_pending == 0) {
			*pp = p->next;
			nua_handle_bind(p->nh, NULL);
			nua_handle_destroy(p->nh);
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

static void pending_push(struct peer *p, uint32_t cseq)
{
	if (p->n_pending == MAX_PENDING) /* the oldest one is long answered or lost */
		memmove(p->pending, p->pending + 1, sizeof(p->pending[0]) * --p->n_pending);
	p->pending[p->n_pending++] = cseq;
}

/* Take cseq out of the pending list (or the oldest when cseq is 0). */
static int pending_take(struct peer *p, uint32_t cseq, uint32_t *ret)
{
	for (unsigned i = 0; i < p->n_pending; i++) {
		if (cseq == 0 || p->pending[i] == cseq) {
			*ret = p->pending[i];
			memmove(p->pending + i, p->pending + i + 1, sizeof(p->pending[0]) * (p->n_pending - i - 1));
			p->n_pending--;
			return 1;
		}
	}
	return 0;
}

/* ---- library callbacks ------------------------------------------------- */

static void cb_log(void *user_data, int level, const char *msg)
{
	(void)user_data;
	logf_("lib[%d]: %s", level, msg);
}

/* The library's NOTIFY, sent in the subscription's dialog through nua. */
/* What both ways of sending it carry: the library's header values byte for byte, and its body. */
#define NOTIFY_TAGS                                                                         \
	SIPTAG_CSEQ_STR(cseq), SIPTAG_EVENT_STR(n->event),                                  \
	SIPTAG_SUBSCRIPTION_STATE_STR(n->subscription_state),                               \
	TAG_IF(n->require_eventlist, SIPTAG_REQUIRE_STR("eventlist")),                      \
	TAG_IF(n->content_type, SIPTAG_CONTENT_TYPE_STR(n->content_type)),                  \
	TAG_IF(n->content_type, SIPTAG_PAYLOAD(pl))
static int cb_notify(void *user_data, struct sippres_sub *sub, const struct sippres_notify *n)
{
	struct app *app = user_data;
	struct peer *p = sippres_sub_get_user_data(sub);
	char cseq[32];
	sip_payload_t pl[1];

	if (!p)
		return -1;
	snprintf(cseq, sizeof(cseq), "%u NOTIFY", (unsigned)n->cseq);
	sip_payload_init(pl);
	pl->pl_data = (char *)(uintptr_t)n->body; /* sofia copies it; never written */
	pl->pl_len = (usize_t)n->body_len;
	if (!n->terminated)
		/* An extension-method request in the dialog: nua adds nothing and
		 * keeps no notifier state of its own. */
		nua_method(p->nh, NUTAG_METHOD("NOTIFY"), NOTIFY_TAGS, TAG_END());
	else
		/* The final one goes through nua_notify() so that nua's notifier
		 * usage (created with the dialog) ends with it; nua keeps our
		 * terminated Subscription-State as it is. Without this, destroying
		 * the handle would make nua send a NOTIFY of its own. */
		nua_notify(p->nh, NOTIFY_TAGS, TAG_END());
	pending_push(p, n->cseq);
	if (app->verbose)
		logf_("NOTIFY cseq %u %s %s (%zu bytes)", (unsigned)n->cseq, n->event, n->subscription_state,
		      n->body_len);
	if (n->terminated)
		p->sub = NULL; /* the library frees it when we return */
	return 0;
}

/* The subscription ended (also silently: NOTIFY failures, endpoint removal). */
static void cb_forget(void *user_data, struct sippres_sub *sub)
{
	struct peer *p = sippres_sub_get_user_data(sub);
	(void)user_data;
	if (p)
		p->sub = NULL;
}

/* ---- timers ------------------------------------------------------------ */

static void pump(struct app *app);

static void on_timer(struct app *app, su_timer_t *t, struct app *arg)
{
	(void)t;
	(void)arg;
	pump(app);
}

/* Run what the library has due and arm the su_timer for the next deadline.
 * Called after every event the root delivers. */
static void pump(struct app *app)
{
	if (!app->ctx)
		return;
	for (int round = 0; round < 16; round++) {
		uint64_t now = now_ms(), deadline;
		int r = sippres_ctx_next_timeout(app->ctx, now, &deadline);
		if (r <= 0) {
			su_timer_reset(app->timer);
			break;
		}
		if (deadline > now) {
			uint64_t ms = deadline - now;
			su_timer_set_interval(app->timer, on_timer, app, (su_duration_t)(ms > 86400000u ? 86400000u : ms));
			break;
		}
		r = sippres_ctx_handle_timeout(app->ctx, now);
		if (r < 0)
			logf_("handle_timeout: %s", sippres_strerror(r));
		if (round == 15) /* still due: come back on the next loop turn */
			su_timer_set_interval(app->timer, on_timer, app, 1);
	}
	peers_release(app);
}

/* ---- SUBSCRIBE --------------------------------------------------------- */

static const char *endpoint_for(struct app *app, const char *user)
{
	const char *anonymous = NULL;
	for (unsigned i = 0; i < app->n_endpoints; i++) {
		if (user && strcmp(app->endpoints[i], user) == 0)
			return app->endpoints[i];
		if (strcmp(app->endpoints[i], "anonymous") == 0)
			anonymous = app->endpoints[i];
	}
	/* Unknown: hand the user name over anyway, the library answers 403. */
	return anonymous ? anonymous : (user ? user : "");
}

static void respond(struct app *app, nua_handle_t *nh, const struct sippres_subscribe_res *res)
{
	char expires[16], min_expires[16];
	snprintf(expires, sizeof(expires), "%u", (unsigned)res->expires);
	snprintf(min_expires, sizeof(min_expires), "%u", (unsigned)res->min_expires);
	nua_respond(nh, (int)res->status, res->reason, NUTAG_WITH_THIS(app->nua),
	            TAG_IF(res->status >= 200 && res->status < 300, SIPTAG_EXPIRES_STR(expires)),
	            TAG_IF(res->min_expires, SIPTAG_MIN_EXPIRES_STR(min_expires)),
	            TAG_IF(res->require_eventlist, SIPTAG_REQUIRE_STR("eventlist")),
	            TAG_IF(res->allow_events, SIPTAG_ALLOW_EVENTS_STR(res->allow_events)),
	            TAG_IF(res->accept, SIPTAG_ACCEPT_STR(res->accept)),
	            TAG_END());
}

static void on_initial_subscribe(struct app *app, nua_handle_t *nh, sip_t const *sip)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	const char *accept[32];
	size_t n_accept = 0;
	struct sippres_subscribe_req req = {.size = sizeof(req)};
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	struct sippres_sub *sub = NULL;
	url_t const *ruri = sip->sip_request->rq_url;
	int r;

	for (sip_accept_t const *ac = sip->sip_accept; ac && n_accept < 32; ac = ac->ac_next) {
		/* sofia splits comma lists; give each value back with its parameters */
		char *v = su_strdup(home, ac->ac_type ? ac->ac_type : "");
		for (msg_param_t const *prm = ac->ac_params; prm && *prm; prm++)
			v = su_sprintf(home, "%s;%s", v, *prm);
		accept[n_accept++] = v;
	}
	req.endpoint = endpoint_for(app, sip->sip_from->a_url->url_user);
	req.ruri_scheme = ruri->url_scheme ? ruri->url_scheme : "sip";
	req.ruri_user = ruri->url_user ? ruri->url_user : "";
	req.ruri_host = ruri->url_host;
	req.ruri_port = ruri->url_port ? (uint32_t)strtoul(ruri->url_port, NULL, 10) : 0;
	req.flags = sip_has_supported(sip->sip_supported, "eventlist") ? SIPPRES_SUBSCRIBE_EVENTLIST : 0;
	req.from_uri = url_as_string(home, sip->sip_from->a_url);
	req.from_tag = sip->sip_from->a_tag;
	req.call_id = sip->sip_call_id ? sip->sip_call_id->i_id : NULL;
	req.contact = sip->sip_contact ? url_as_string(home, sip->sip_contact->m_url) : NULL;
	req.event = sip->sip_event ? sip->sip_event->o_type : NULL;
	req.event_id = sip->sip_event ? sip->sip_event->o_id : NULL;
	req.accept = accept;
	req.n_accept = n_accept;
	req.expires = sip->sip_expires ? (int64_t)sip->sip_expires->ex_delta : -1;
	req.user_agent = sip->sip_user_agent ? sip->sip_user_agent->g_string : NULL;
	/* nua picks the To tag itself and does not tell before it answers, so
	 * the library makes its own (see README: local tags). */
	req.local_tag = NULL;

	r = sippres_subscribe(app->ctx, &req, now_ms(), &res, &sub);
	if (r < 0) {
		logf_("sippres_subscribe: %s", sippres_strerror(r));
		nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(app->nua), TAG_END());
		nua_handle_destroy(nh);
	} else if (sub) {
		struct peer *p = peer_new(app, nh);
		if (!p) {
			sippres_sub_terminate(app->ctx, sub, now_ms());
			nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(app->nua), TAG_END());
			nua_handle_destroy(nh);
		} else {
			p->sub = sub;
			sippres_sub_set_user_data(sub, p);
			respond(app, nh, &res); /* the queued NOTIFY goes out after it (pump) */
		}
	} else {
		respond(app, nh, &res);
		nua_handle_destroy(nh);
	}
	logf_("SUBSCRIBE %s from %s (%s): %u %s", req.ruri_user, req.endpoint, req.event ? req.event : "-",
	      (unsigned)(r < 0 ? 500 : res.status), r < 0 ? "Server Internal Error" : res.reason);
	su_home_deinit(home);
}

static void on_subscribe(struct app *app, int status, nua_handle_t *nh, struct peer *p, sip_t const *sip)
{
	if (!app->ctx && status < 200) { /* shutting down */
		nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(app->nua), TAG_END());
		if (!p)
			nua_handle_destroy(nh);
		return;
	}
	if (status >= 200) {
		/* nua answered by itself: an Event outside NUTAG_ALLOW_EVENTS (489) */
		logf_("SUBSCRIBE answered by nua: %d", status);
		if (!p)
			nua_handle_destroy(nh);
		return;
	}
	if (!sip) {
		nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(app->nua), TAG_END());
		return;
	}
	if (!p) {
		if (sip->sip_to && sip->sip_to->a_tag) { /* in-dialog, but not one of ours */
			nua_respond(nh, 481, "Subscription Does Not Exist", NUTAG_WITH_THIS(app->nua), TAG_END());
			nua_handle_destroy(nh);
			return;
		}
		on_initial_subscribe(app, nh, sip);
		return;
	}
	if (!p->sub) { /* ended; the dialog lingers until its last NOTIFY is answered */
		nua_respond(nh, 481, "Subscription Does Not Exist", NUTAG_WITH_THIS(app->nua), TAG_END());
		return;
	}
	struct sippres_subscribe_res res = {.size = sizeof(res)};
	int64_t expires = sip->sip_expires ? (int64_t)sip->sip_expires->ex_delta : -1;
	int r = sippres_sub_refresh(app->ctx, p->sub, expires, now_ms(), &res);
	if (r < 0) {
		logf_("sippres_sub_refresh: %s", sippres_strerror(r));
		nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(app->nua), TAG_END());
		return;
	}
	respond(app, nh, &res);
	logf_("re-SUBSCRIBE (Expires %lld): %u %s", (long long)expires, (unsigned)res.status, res.reason);
}

/* A final response to one of our NOTIFYs (408 after timer F, or a local error). */
static void on_notify_response(struct app *app, int status, struct peer *p, sip_t const *sip)
{
	uint32_t cseq;
	if (!p || status < 200)
		return;
	if (!pending_take(p, sip && sip->sip_cseq ? sip->sip_cseq->cs_seq : 0, &cseq) &&
	    !pending_take(p, 0, &cseq))
		return;
	if (app->verbose)
		logf_("NOTIFY cseq %u answered %d", (unsigned)cseq, status);
	if (p->sub) {
		int r = sippres_sub_notify_result(app->ctx, p->sub, cseq, status, now_ms());
		if (r < 0)
			logf_("sippres_sub_notify_result: %s", sippres_strerror(r));
		else if (r == 1)
			logf_("subscription ended after NOTIFY response %d", status);
	}
}

static void on_nua_event(nua_event_t event, int status, char const *phrase, nua_t *nua, struct app *app,
                         nua_handle_t *nh, struct peer *p, sip_t const *sip, tagi_t tags[])
{
	(void)nua;
	(void)tags;
	switch (event) {
	case nua_i_subscribe:
		on_subscribe(app, status, nh, p, sip);
		break;
	case nua_r_method:
	case nua_r_notify:
		on_notify_response(app, status, p, sip);
		break;
	case nua_r_shutdown:
		if (status >= 200)
			su_root_break(app->root);
		break;
	case nua_i_error:
		logf_("nua error %d %s", status, phrase ? phrase : "");
		break;
	default:
		if (app->verbose)
			logf_("nua event %s %d %s", nua_event_name(event), status, phrase ? phrase : "");
		if (!p && nh && nh != nua_default(app->nua) && sip && sip->sip_request) {
			/* a request on a handle nobody owns: answer it if nua did not */
			if (status < 200)
				nua_respond(nh, SIP_405_METHOD_NOT_ALLOWED, NUTAG_WITH_THIS(app->nua), TAG_END());
			nua_handle_destroy(nh);
		}
		break;
	}
	pump(app);
}

/* ---- control on standard input ----------------------------------------- */

static void begin_quit(struct app *app);

static int show_sub(void *user_data, struct sippres_sub *sub)
{
	struct app *app = user_data;
	struct sippres_sub_info info = {.size = sizeof(info)};
	uint64_t now = now_ms();
	if (sippres_sub_get_info(app->ctx, sub, &info) < 0)
		return 0;
	reply_line("%s %s %s %s %s expires=%llu", info.endpoint, info.resource, info.event, info.content_type,
	           info.call_id,
	           (unsigned long long)(info.expires_at_ms > now ? (info.expires_at_ms - now) / 1000 : 0));
	return 0;
}

/* Run one command (the mini UA's syntax, examples/common/ctl.h); returns NULL (OK) or the error text. */
static const char *command(struct app *app, const char *line, int *silent)
{
	static char err[256];
	struct cmd c;
	int r = 0;

	*silent = 0;
	if (cmd_parse(line, &c, err, sizeof(err)) < 0)
		return err;
	switch (c.kind) {
	case CMD_NONE:
		*silent = 1;
		break;
	case CMD_QUIT:
		begin_quit(app);
		break;
	case CMD_RELOAD:
		cmd_free(&c);
		return "no configuration files to reload here (hints and endpoints come from the command line)";
	case CMD_SHOW_HINTS: {
		struct sbuf out;

		sbuf_init(&out);
		r = cli_show_hints(app->ctx, &out);
		if (out.oom && r >= 0)
			r = SIPPRES_E_NOMEM;
		if (r >= 0 && out.len)
			reply_text(out.s, out.len);
		sbuf_free(&out);
		break;
	}
	case CMD_SHOW_SUBS:
	case CMD_LIST_SUBS: {
		struct sbuf out;

		sbuf_init(&out);
		err[0] = '\0';
		r = cli_show_subscriptions(app->ctx, &out, now_ms(), c.kind == CMD_LIST_SUBS, c.outbound, c.a, err,
		                           sizeof(err));
		if (out.oom && r >= 0)
			r = SIPPRES_E_NOMEM;
		if (r >= 0 && out.len)
			reply_text(out.s, out.len);
		sbuf_free(&out);
		if (r < 0 && err[0]) {
			cmd_free(&c);
			return err;
		}
		break;
	}
	case CMD_SUBS_DETAIL:
		r = sippres_sub_foreach(app->ctx, show_sub, app);
		break;
	case CMD_SHOW_PUBS:
		cmd_free(&c);
		return "no publications here (sippres-mini-ua serves PUBLISH)";
	default:
		r = cmd_apply(app->ctx, &c, err, sizeof(err));
		cmd_free(&c);
		return r < 0 ? err : NULL;
	}
	cmd_free(&c);
	return r < 0 ? sippres_strerror(r) : NULL;
}

static int on_stdin(struct app *app, su_wait_t *w, struct app *arg)
{
	char tmp[4096], *line;
	int eof = 0, r;
	(void)w;
	(void)arg;
	ssize_t n = read(STDIN_FILENO, tmp, sizeof(tmp));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) /* end of input: the last line, then like quit */
		eof = 1;
	else if (ctl_lines_add(&app->lines, tmp, (size_t)n) < 0)
		logf_("out of memory: control input dropped");
	while ((r = ctl_lines_next(&app->lines, eof, &line)) != 0) {
		int silent = 0;
		const char *err = r < 0 ? "line too long" : app->quitting ? "quitting" : command(app, line, &silent);
		if (err)
			reply_line("ERR %s", err);
		else if (!silent)
			reply_line("OK");
	}
	if (eof) {
		su_root_deregister(app->root, app->stdin_index);
		app->stdin_index = 0;
		begin_quit(app);
	}
	pump(app);
	return 0;
}

/* ---- start and stop ---------------------------------------------------- */

static void on_quit_timer(struct app *app, su_timer_t *t, struct app *arg)
{
	(void)t;
	(void)arg;
	/* Final NOTIFYs had their chance: drop what is left and shut nua down. */
	while (app->peers) {
		struct peer *p = app->peers;
		app->peers = p->next;
		nua_handle_bind(p->nh, NULL);
		nua_handle_destroy(p->nh);
		free(p);
	}
	sippres_ctx_free(app->ctx);
	app->ctx = NULL;
	su_timer_reset(app->timer);
	nua_shutdown(app->nua);
}

/* End every subscription with a final NOTIFY (terminated;reason=deactivated
 * in the standard profile), give the answers a moment, then shut down. */
static void begin_quit(struct app *app)
{
	if (app->quitting)
		return;
	app->quitting = 1;
	for (struct peer *p = app->peers; p; p = p->next)
		if (p->sub)
			sippres_sub_terminate(app->ctx, p->sub, now_ms());
	su_timer_set_interval(app->quit_timer, on_quit_timer, app, app->peers ? 2000 : 1);
}

static int add_endpoint(struct app *app, const char *spec)
{
	/* NAME[:option[,option]...]; options: asterisk, standard, context=X,
	 * subscribe_context=X, early_inuse_ringing, single_dialog, dummy_dialog,
	 * failure_limit=N, min_expiry=N, max_expiry=N, deny */
	char *copy = strdup(spec), *opts = strchr(copy, ':'), *o;
	struct sippres_endpoint ep = {.size = sizeof(ep)};
	int r;
	if (opts)
		*opts++ = '\0';
	while (opts && (o = strsep(&opts, ","))) {
		if (!strcmp(o, "asterisk"))
			ep.profile = SIPPRES_PROFILE_ASTERISK;
		else if (!strcmp(o, "standard"))
			ep.profile = SIPPRES_PROFILE_STANDARD;
		else if (!strncmp(o, "context=", 8))
			ep.context = o + 8;
		else if (!strncmp(o, "subscribe_context=", 18))
			ep.subscribe_context = o + 18;
		else if (!strcmp(o, "early_inuse_ringing"))
			ep.body_options |= SIPPRES_BODY_EARLY_INUSE_RINGING;
		else if (!strcmp(o, "single_dialog"))
			ep.body_options |= SIPPRES_BODY_SINGLE_DIALOG;
		else if (!strcmp(o, "dummy_dialog"))
			ep.body_options |= SIPPRES_BODY_DUMMY_DIALOG;
		else if (!strncmp(o, "failure_limit=", 14))
			ep.notify_failure_limit = (uint32_t)strtoul(o + 14, NULL, 10);
		else if (!strncmp(o, "min_expiry=", 11))
			ep.sub_min_expiry = (uint32_t)strtoul(o + 11, NULL, 10);
		else if (!strncmp(o, "max_expiry=", 11))
			ep.max_expiry = (uint32_t)strtoul(o + 11, NULL, 10);
		else if (!strcmp(o, "deny"))
			ep.flags |= SIPPRES_ENDPOINT_DENY_SUBSCRIBE;
		else {
			logf_("--endpoint %s: unknown option %s", spec, o);
			free(copy);
			return -1;
		}
	}
	r = sippres_endpoint_set(app->ctx, copy, &ep);
	if (r < 0 || app->n_endpoints == MAX_ENDPOINTS) {
		logf_("--endpoint %s: %s", spec, r < 0 ? sippres_strerror(r) : "too many endpoints");
		free(copy);
		return -1;
	}
	app->endpoints[app->n_endpoints++] = copy; /* NAME only: opts pointed into it */
	return 0;
}

static int add_hint(struct app *app, const char *spec)
{
	/* EXTEN[@CONTEXT]=VALUE */
	char *copy = strdup(spec), *eq = strchr(copy, '='), *at;
	struct sippres_diag diag = {.size = sizeof(diag)};
	int r = -1;
	if (eq) {
		*eq = '\0';
		at = strchr(copy, '@');
		if (at)
			*at++ = '\0';
		r = sippres_hint_set(app->ctx, at ? at : "default", copy, eq + 1, &diag);
	}
	if (r < 0)
		logf_("--hint %s: %s%s%s", spec, eq ? sippres_strerror(r) : "expected EXTEN[@CONTEXT]=VALUE",
		      eq && diag.message[0] ? ": " : "", eq ? diag.message : "");
	free(copy);
	return r < 0 ? -1 : 0;
}

static void usage(FILE *f)
{
	fputs("usage: sippres-sofia-notifier --listen HOST:PORT [--endpoint NAME[:OPTS]]... [--hint EXTEN[@CONTEXT]=VALUE]... [-v]\n"
	      "  endpoint options (comma separated): asterisk, standard, context=X, subscribe_context=X,\n"
	      "    early_inuse_ringing, single_dialog, dummy_dialog, failure_limit=N, min_expiry=N,\n"
	      "    max_expiry=N, deny\n",
	      f);
}

int main(int argc, char **argv)
{
	struct app app = {0};
	const char *listen = NULL;
	char url[300];
	struct sippres_callbacks cb = {
		.size = sizeof(cb), .log = cb_log, .notify = cb_notify, .forget = cb_forget,
	};
	struct sippres_config cfg = {.size = sizeof(cfg), .log_level = SIPPRES_LOG_WARNING};
	int r, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ctl_lines_init(&app.lines, 8191);
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-v"))
			cfg.log_level = SIPPRES_LOG_DEBUG, app.verbose = 1;
	r = sippres_ctx_new(&cfg, &cb, &app, &app.ctx);
	if (r < 0) {
		logf_("sippres_ctx_new: %s", sippres_strerror(r));
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			continue;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(argv[i], "--listen"))
			listen = argv[++i];
		else if (!strcmp(argv[i], "--endpoint")) {
			if (add_endpoint(&app, argv[++i]) < 0)
				return 2;
		} else if (!strcmp(argv[i], "--hint")) {
			if (add_hint(&app, argv[++i]) < 0)
				return 2;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!listen) {
		usage(stderr);
		return 2;
	}
	snprintf(url, sizeof(url), "sip:%s;transport=udp", listen);

	su_init();
	app.root = su_root_create(&app);
	if (!app.root) {
		logf_("su_root_create failed");
		return 1;
	}
	su_root_threading(app.root, 0); /* nua runs on this thread: one loop, no locks */
	app.nua = nua_create(app.root, on_nua_event, &app, NUTAG_URL(url),
	                     NUTAG_APPL_METHOD("SUBSCRIBE"),              /* we answer SUBSCRIBEs */
	                     SIPTAG_ALLOW_STR("OPTIONS, SUBSCRIBE, NOTIFY"), /* nua: 405 to others */
	                     NUTAG_ALLOW_EVENTS("presence, dialog"),      /* nua answers 489 to others */
	                     NUTAG_APPL_EVENT("presence, dialog"),        /* ... and refreshes too */
	                     SIPTAG_USER_AGENT_STR("sippres-sofia-notifier libsippresence"),
	                     TAG_END());
	if (!app.nua) {
		logf_("nua_create on %s failed (port in use?)", url);
		return 1;
	}
	app.timer = su_timer_create(su_root_task(app.root), 0);
	app.quit_timer = su_timer_create(su_root_task(app.root), 0);

	su_wait_init(app.stdin_wait);
	if (su_wait_create(app.stdin_wait, STDIN_FILENO, SU_WAIT_IN) == 0 &&
	    (r = su_root_register(app.root, app.stdin_wait, on_stdin, &app, 0)) > 0)
		app.stdin_index = r;
	else
		logf_("standard input cannot be watched (a regular file?): no control commands");

	reply_line("READY %s", url);
	su_root_run(app.root);

	if (app.stdin_index)
		su_root_deregister(app.root, app.stdin_index);
	su_timer_destroy(app.timer);
	su_timer_destroy(app.quit_timer);
	nua_destroy(app.nua);
	su_root_destroy(app.root);
	su_deinit();
	sippres_ctx_free(app.ctx);
	for (unsigned k = 0; k < app.n_endpoints; k++)
		free(app.endpoints[k]);
	ctl_lines_free(&app.lines);
	return 0;
}
