/* SPDX-License-Identifier: MIT */
/* pjsip.conf loader internals: the checked objects and where they go. */
#ifndef SIPPRES_PJSIP_PRIVATE_H
#define SIPPRES_PJSIP_PRIVATE_H

#include "config-private.h"

/* A checked `type=resource_list` section; views valid during the sink call. */
struct sippres__conf_list {
	const char *name;
	const char *event;
	const char **items;          /* whitespace-stripped, no empties, no duplicates */
	size_t n_items;
	bool full_state;
	bool resource_display_name;
	uint32_t notification_batch_interval; /* ms */
	const char *file;
	uint32_t line;
};

/* Where checked objects go. A sink returning < 0 makes a problem at the
 * section (message from diag, else sippres_strerror); NOMEM, REENTRANT and
 * CALLBACK abort the load. */
struct sippres__pjsip_sink {
	void *user_data;
	int (*endpoint)(void *user_data, const char *name, const struct sippres_endpoint *ep, struct sippres_diag *diag);
	int (*list)(void *user_data, const struct sippres__conf_list *list, struct sippres_diag *diag);
	int (*outbound)(void *user_data, const char *name, const struct sippres_outbound_publish *o,
	                struct sippres_diag *diag);
	int (*inbound)(void *user_data, const char *resource, const struct sippres_inbound_publication *p,
	               struct sippres_diag *diag);
	/* A wizard's hint: 0 set (or already so), SIPPRES_E_EXISTS when the
	 * context has another hint for exten (its value in diag->message, not a
	 * problem of the sink's own), else as above. */
	int (*hint)(void *user_data, const char *context, const char *exten, const char *value,
	            struct sippres_diag *diag);
	int (*auth)(void *user_data, const char *name, const struct sippres_auth *a, struct sippres_diag *diag);
	int (*identify)(void *user_data, const char *name, const struct sippres_identify *id,
	                struct sippres_diag *diag);
};

int sippres__config_pjsip(struct sippres_ctx *ctx, const char *file, const char *text, size_t len,
                    const struct sippres_config_io *io, const struct sippres__pjsip_sink *sink);

/* A sink that refused a section (r < 0) as a problem at the section, "what
 * 'name': reason"; NOMEM, REENTRANT and CALLBACK are returned as they are. */
int sippres__pjsip_sink_problem(struct sippres__conf_doc *doc, const struct sippres__conf_cat *cat, int r,
                                const struct sippres_diag *diag, const char *what);

/* pjsip-publish.c: the outbound-publish, asterisk-publication and
 * inbound-publication sections of a read document, in that order. */
int sippres__conf_pjsip_publications(struct sippres__conf_doc *doc, const struct sippres__pjsip_sink *sink);

/* pjsip-auth.c: the auth, identify and transport sections of a read
 * document, and the check of the endpoints' auth= names. */
int sippres__conf_pjsip_auth(struct sippres__conf_doc *doc, const struct sippres__pjsip_sink *sink);

#endif
