/* SPDX-License-Identifier: MIT */
/* --state-dir (store.c): subscription records and saved states on disk.
 *
 * Writes are batched: store_persist() and store_save_*() only remember the
 * latest bytes of each file (so a burst coalesces to one write per file), and
 * store_sync() makes the batch durable: each file written to a fresh temporary
 * name, fdatasync'ed, renamed over the old one, then one fsync per directory.
 * The UA calls store_sync() before it transmits anything a record describes
 * (ua_flush: the queued NOTIFYs; respond: the answer to a SUBSCRIBE).
 * docs/mini-ua.md, "State directory", has the whole promise. */
#ifndef MINI_UA_STORE_H
#define MINI_UA_STORE_H

#include <stddef.h>
#include <stdint.h>

struct ua;
struct sippres_sub;
struct sippres_publication;

#define STORE_MAX_RECORDS_DEFAULT 10000

/* Open (or create, mode 0700) dir and dir/state. Refuses a directory that is
 * a symbolic link, not owned by the running user, or writable by group or
 * others. max_records: the most subscription records kept (0: the default). */
int store_open(struct ua *ua, const char *dir, unsigned long max_records);
/* Write what is pending, log the counters and free everything. */
void store_close(struct ua *ua);
/* Make every pending write durable (no-op when nothing is pending). 0 or -1. */
int store_sync(struct ua *ua);
void store_persist(struct ua *ua, struct sippres_sub *sub, const void *record, size_t len);
void store_forget(struct ua *ua, const char *call_id, const char *local_tag);
void store_forget_sub(struct ua *ua, struct sippres_sub *sub);
/* Publications: one file each, TOKEN.pub (named when first stored; the entity-tag changes with every
 * refresh, the name does not), next to the subscriptions' .sub files; not counted by max_records. */
void store_persist_publication(struct ua *ua, struct sippres_publication *pub, const void *record, size_t len);
void store_forget_publication(struct ua *ua, struct sippres_publication *pub);
void store_save_device(struct ua *ua, const char *device, int state);
void store_save_presence(struct ua *ua, const char *provider, int state, const char *subtype, const char *message);
/* CRC-32 (IEEE), as the library's records end with (fuzz-state makes mutated records valid with it). */
uint32_t store_crc32(const unsigned char *p, size_t n);
/* Device and presence states, then publications, then subscriptions (which queue their NOTIFYs). */
int store_load(struct ua *ua);

#endif
