/* SPDX-License-Identifier: MIT */
/* The running notifier: one context, one UDP socket, transactions, storage. */
#ifndef MINI_UA_CORE_H
#define MINI_UA_CORE_H

#include <libsippresence/libsippresence.h>

#include "store.h"
#include "ua.h"

struct strset {
	char **slots;
	size_t cap, count;
};
int strset_add(struct strset *s, const char *v);
bool strset_has(const struct strset *s, const char *v);
void strset_free(struct strset *s);

struct ua {
	struct sippres_ctx *ctx;
	int fd;
	struct ua_addr local;      /* bound address (real port) */
	char local_str[80];        /* host:port, [v6]:port */
	struct ntx_table ntx;
	struct stx_table stx;
	struct strset endpoints;   /* endpoint names from pjsip.conf */
	char *state_dir;           /* NULL: no persistence */
	struct store *store;       /* store.c, with state_dir */
	/* NOTIFYs built in the notify callback, sent when the library call that
	 * made them returns: the library persists the subscription's next CSeq
	 * after the callback, and a crash in between must not let a restart
	 * reuse a CSeq that went out */
	struct ntx **outq;
	size_t outq_len, outq_cap;
	bool quit;
	/* statistics for logs */
	unsigned long rx, tx, retransmits, dropped;
};

/* core.c */
int ua_init(struct ua *ua, uint32_t t1, bool persist);
void ua_fini(struct ua *ua);
void ua_on_datagram(struct ua *ua, const char *buf, size_t len, const struct ua_addr *src);
/* Run due timers (library, retransmissions, response cache). */
void ua_run_timers(struct ua *ua);
/* Milliseconds until the next timer (-1: none). */
int ua_poll_timeout(struct ua *ua);
/* One control line; writes the reply to out (ends with "OK\n" or "ERR ...\n"). */
void ua_command(struct ua *ua, const char *line, struct sbuf *out);
void ua_send(struct ua *ua, const char *data, size_t len, const struct ua_addr *dst);
/* Send the NOTIFYs the library produced during the last call(s). */
void ua_flush(struct ua *ua);

#endif
