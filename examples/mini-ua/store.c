/* SPDX-License-Identifier: MIT */
/* --state-dir: one file per subscription (the library's record), plus the
 * device and presence states set through the control channel, as Asterisk
 * keeps Custom: device states and CustomPresence: in its database.
 *
 * Every write goes through a batch (store.h): the latest bytes of each file
 * wait in a table until store_sync(), which writes each to a new temporary
 * file (O_EXCL|O_NOFOLLOW), makes it durable (fdatasync each; one syncfs of
 * the filesystem instead for a batch of more than STORE_SYNCFS_MIN files),
 * renames it over the old file and then fsyncs the directory once. All file access is relative to directory
 * descriptors opened once and checked (owner, mode, not a symlink). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

/* Test hook (docs/mini-ua.md): the process _exits with this status after the
 * Nth temporary file is written, before it is renamed. */
#define STORE_CRASH_ENV "SIPPRES_MINI_UA_CRASH_AFTER_WRITE"
#define STORE_CRASH_STATUS 86
/* docs/subscriptions.md, "Persistence": only to say why a record is refused */
#define RECORD_MAGIC "SPRC"
#define PUB_RECORD_MAGIC "SPPB" /* the library's publication records (lib/publish/precord.c) */
#define PUB_BUCKETS 1024
#define RECORD_FORMAT 1
#define RECORD_HEADER 24
#define STORE_FILE_MAX (1u << 20)
/* A batch of more files than this is flushed with one syncfs() (which writes
 * back everything dirty on that filesystem) instead of one fdatasync() each:
 * a NOTIFY fan-out to many subscriptions costs two calls, not one per NOTIFY. */
#define STORE_SYNCFS_MIN 8

enum { DIR_SUBS, DIR_STATE };

/* A file of the store: on disk, or pending (dirty), or both. */
struct rec {
	struct rec *next;    /* hash chain */
	size_t dirty;        /* 1 + index in store.dirty; 0: nothing pending */
	unsigned char *data; /* the pending contents */
	size_t len;
	int dir;             /* DIR_SUBS or DIR_STATE */
	char name[];
};

/* Which file holds a publication's record: its name is made once (the entity-tag changes with every refresh). */
struct pubfile {
	struct pubfile *next;
	const struct sippres_publication *pub;
	char name[40];          /* TOKEN.pub */
};

struct store {
	int fd[2];              /* DIR and DIR/state */
	struct pubfile *pubs[PUB_BUCKETS];
	const char *restoring;  /* the .pub file being restored (a persist during the restore keeps its name) */
	dev_t dev[2];
	bool dir_changed[2];    /* an unlink or rename to make durable */
	struct rec **buckets;
	size_t nbuckets, count;
	size_t nsubs;           /* records of subscriptions (the limit counts these) */
	unsigned long max_records;
	struct rec **dirty;
	size_t ndirty, dirty_cap;
	bool loading, over_limit;
	unsigned long crash_at; /* test hook: 0 off */
	unsigned long seq;      /* temporary file names */
	unsigned long changes;  /* since the last batch */
	/* counters, logged at the end (and per batch at debug level) */
	unsigned long persists, writes, fsyncs, syncfs, dir_fsyncs, batches, unstored, errors;
};

/* ---- the table --------------------------------------------------------------------------- */

static size_t bucket_of(const struct store *st, int dir, const char *name)
{
	return (size_t)((ua_fnv64(name, strlen(name)) ^ (uint64_t)dir) & (st->nbuckets - 1));
}

static struct rec *rec_find(const struct store *st, int dir, const char *name)
{
	for (struct rec *r = st->buckets[bucket_of(st, dir, name)]; r; r = r->next) {
		if (r->dir == dir && strcmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

static int grow(struct store *st)
{
	size_t n = st->nbuckets * 2;
	struct rec **b = calloc(n, sizeof(*b));

	if (!b)
		return -1;
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct rec *r = st->buckets[i], *next;

		for (; r; r = next) {
			size_t k = (size_t)((ua_fnv64(r->name, strlen(r->name)) ^ (uint64_t)r->dir) & (n - 1));

			next = r->next;
			r->next = b[k];
			b[k] = r;
		}
	}
	free(st->buckets);
	st->buckets = b;
	st->nbuckets = n;
	return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcmp(s + n - k, suffix) == 0;
}

/* A subscription's record (the --max-records limit counts these, not publications). */
static bool is_sub_file(int dir, const char *name)
{
	return dir == DIR_SUBS && has_suffix(name, ".sub");
}

static struct rec *rec_add(struct store *st, int dir, const char *name)
{
	size_t nl = strlen(name), k;
	struct rec *r;

	if (st->count >= st->nbuckets && grow(st) < 0)
		return NULL;
	r = calloc(1, sizeof(*r) + nl + 1);
	if (!r)
		return NULL;
	memcpy(r->name, name, nl + 1);
	r->dir = dir;
	k = bucket_of(st, dir, name);
	r->next = st->buckets[k];
	st->buckets[k] = r;
	st->count++;
	if (is_sub_file(dir, name))
		st->nsubs++;
	return r;
}

static void rec_remove(struct store *st, struct rec *r)
{
	struct rec **pp = &st->buckets[bucket_of(st, r->dir, r->name)];

	while (*pp != r)
		pp = &(*pp)->next;
	*pp = r->next;
	if (r->dirty)
		st->dirty[r->dirty - 1] = NULL;
	st->count--;
	if (is_sub_file(r->dir, r->name))
		st->nsubs--;
	free(r->data);
	free(r);
}

/* Remember data as the next contents of r (the previous pending bytes go). */
static int rec_set(struct store *st, struct rec *r, const void *data, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);

	if (!copy)
		return -1;
	memcpy(copy, data, len);
	if (!r->dirty) {
		if (st->ndirty == st->dirty_cap) {
			size_t cap = st->dirty_cap ? st->dirty_cap * 2 : 64;
			struct rec **d = realloc(st->dirty, cap * sizeof(*d));

			if (!d) {
				free(copy);
				return -1;
			}
			st->dirty = d;
			st->dirty_cap = cap;
		}
		st->dirty[st->ndirty++] = r;
		r->dirty = st->ndirty;
	}
	free(r->data);
	r->data = copy;
	r->len = len;
	st->changes++;
	return 0;
}

/* ---- opening the directory --------------------------------------------------------------- */

/* dir (relative to at, or a path when at is AT_FDCWD), created when missing,
 * opened without following a symlink and checked: a directory of ours that
 * only we can write to. Returns the descriptor or -1 (logged). */
static int open_checked_dir(int at, const char *dir, const char *shown, dev_t *dev)
{
	struct stat before, after;
	int fd;

	if (fstatat(at, dir, &before, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT || mkdirat(at, dir, 0700) < 0 ||
		    fstatat(at, dir, &before, AT_SYMLINK_NOFOLLOW) < 0) {
			ua_log(LOG_ERR, "cannot create state directory %s: %s", shown, strerror(errno));
			return -1;
		}
	}
	if (S_ISLNK(before.st_mode)) {
		ua_log(LOG_ERR, "refusing state directory %s: it is a symbolic link", shown);
		return -1;
	}
	if (!S_ISDIR(before.st_mode)) {
		ua_log(LOG_ERR, "refusing state directory %s: not a directory", shown);
		return -1;
	}
	if (before.st_uid != geteuid()) {
		ua_log(LOG_ERR, "refusing state directory %s: owned by uid %lu, not by the running user (uid %lu)", shown,
		       (unsigned long)before.st_uid, (unsigned long)geteuid());
		return -1;
	}
	if (before.st_mode & (S_IWGRP | S_IWOTH)) {
		ua_log(LOG_ERR, "refusing state directory %s: writable by %s (mode %04o; chmod go-w)", shown,
		       (before.st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(before.st_mode & 07777));
		return -1;
	}
	fd = openat(at, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &after) < 0 || after.st_dev != before.st_dev || after.st_ino != before.st_ino) {
		ua_log(LOG_ERR, "cannot open state directory %s: %s", shown, fd < 0 ? strerror(errno) : "it was replaced");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*dev = after.st_dev;
	return fd;
}

int store_open(struct ua *ua, const char *dir, unsigned long max_records)
{
	struct store *st = calloc(1, sizeof(*st));
	char shown[4200];
	const char *hook = getenv(STORE_CRASH_ENV);

	if (!st)
		return -1;
	st->fd[DIR_SUBS] = st->fd[DIR_STATE] = -1;
	st->max_records = max_records ? max_records : STORE_MAX_RECORDS_DEFAULT;
	st->nbuckets = 64;
	st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
	ua->store = st;
	ua->state_dir = strdup(dir);
	if (!st->buckets || !ua->state_dir)
		return -1;
	st->fd[DIR_SUBS] = open_checked_dir(AT_FDCWD, dir, dir, &st->dev[DIR_SUBS]);
	if (st->fd[DIR_SUBS] < 0)
		return -1;
	/* one UA per directory: another would delete this one's temporary files
	 * at its start and restore (and then NOTIFY) the same subscriptions */
	if (flock(st->fd[DIR_SUBS], LOCK_EX | LOCK_NB) < 0) {
		ua_log(LOG_ERR, "refusing state directory %s: %s", dir,
		       errno == EWOULDBLOCK ? "another sippres-mini-ua is using it" : strerror(errno));
		return -1;
	}
	snprintf(shown, sizeof(shown), "%s/state", dir);
	st->fd[DIR_STATE] = open_checked_dir(st->fd[DIR_SUBS], "state", shown, &st->dev[DIR_STATE]);
	if (st->fd[DIR_STATE] < 0)
		return -1;
	if (hook && *hook) {
		st->crash_at = strtoul(hook, NULL, 10);
		ua_log(LOG_WARN, "test hook %s=%lu: exiting after that write, before its rename", STORE_CRASH_ENV,
		       st->crash_at);
	}
	return 0;
}

/* ---- writing ----------------------------------------------------------------------------- */

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* r's pending bytes in a new file tmp; on disk when sync (else the caller syncfs'es). */
static int write_temp(struct store *st, const struct rec *r, char *tmp, size_t tmplen, bool sync)
{
	int dfd = st->fd[r->dir], fd = -1, err;

	for (int tries = 0; fd < 0 && tries < 8; tries++) {
		snprintf(tmp, tmplen, "%s.%ld-%lx.tmp", r->name, (long)getpid(), ++st->seq);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	if (write_all(fd, r->data, r->len) < 0 || (sync && fdatasync(fd) < 0)) {
		err = errno;
		close(fd);
		unlinkat(dfd, tmp, 0);
		errno = err;
		return -1;
	}
	if (sync)
		st->fsyncs++;
	if (close(fd) < 0) {
		err = errno;
		unlinkat(dfd, tmp, 0);
		errno = err;
		return -1;
	}
	st->writes++;
	if (st->crash_at && st->writes == st->crash_at) {
		ua_log(LOG_WARN, "test hook: exiting after write %lu (%s), before its rename", st->writes, tmp);
		_exit(STORE_CRASH_STATUS);
	}
	return 0;
}

/* The temporary files of a large batch, all on disk at once. */
static int sync_filesystems(struct store *st)
{
	if (syncfs(st->fd[DIR_SUBS]) < 0)
		return -1;
	st->syncfs++;
	if (st->dev[DIR_STATE] != st->dev[DIR_SUBS]) {
		if (syncfs(st->fd[DIR_STATE]) < 0)
			return -1;
		st->syncfs++;
	}
	return 0;
}

int store_sync(struct ua *ua)
{
	struct store *st = ua->store;
	char (*tmp)[300];
	size_t n, live = 0, kept = 0, written = 0;
	unsigned long fsyncs0;
	bool one_by_one;
	int rc = 0;

	if (!st || (!st->ndirty && !st->dir_changed[DIR_SUBS] && !st->dir_changed[DIR_STATE]))
		return 0;
	n = st->ndirty;
	fsyncs0 = st->fsyncs + st->syncfs + st->dir_fsyncs;
	for (size_t i = 0; i < n; i++)
		live += st->dirty[i] != NULL;
	one_by_one = live <= STORE_SYNCFS_MIN;
	tmp = calloc(n ? n : 1, sizeof(*tmp));
	if (!tmp) {
		ua_log(LOG_ERR, "out of memory: %zu pending state file(s) not written", n);
		return -1;
	}
	/* every file under a temporary name first: a crash in this loop leaves
	 * all the old files of the batch as they were */
	for (size_t i = 0; i < n; i++) {
		struct rec *r = st->dirty[i];

		if (r && write_temp(st, r, tmp[i], sizeof(tmp[i]), one_by_one) < 0) {
			ua_log(LOG_ERR, "cannot write %s/%s%s: %s; the previous version stays", ua->state_dir,
			       r->dir == DIR_STATE ? "state/" : "", r->name, strerror(errno));
			st->errors++;
			tmp[i][0] = '\0';
			rc = -1;
		}
	}
	if (!one_by_one && sync_filesystems(st) < 0) {
		ua_log(LOG_ERR, "syncfs of the state directory: %s; the previous versions stay", strerror(errno));
		st->errors++;
		rc = -1;
		for (size_t i = 0; i < n; i++) {
			if (st->dirty[i] && tmp[i][0]) {
				unlinkat(st->fd[st->dirty[i]->dir], tmp[i], 0);
				tmp[i][0] = '\0';
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct rec *r = st->dirty[i];

		if (!r)
			continue;
		if (tmp[i][0] && renameat(st->fd[r->dir], tmp[i], st->fd[r->dir], r->name) < 0) {
			ua_log(LOG_ERR, "cannot rename %s: %s", tmp[i], strerror(errno));
			unlinkat(st->fd[r->dir], tmp[i], 0);
			st->errors++;
			tmp[i][0] = '\0';
			rc = -1;
		}
		if (!tmp[i][0]) {
			/* kept pending: the next batch tries again */
			st->dirty[kept++] = r;
			r->dirty = kept;
			continue;
		}
		st->dir_changed[r->dir] = true;
		free(r->data);
		r->data = NULL;
		r->dirty = 0;
		written++;
		ua_log(LOG_TRACE, "stored %s%s (%zu bytes)", r->dir == DIR_STATE ? "state/" : "", r->name, r->len);
	}
	st->ndirty = kept;
	free(tmp);
	for (int d = DIR_SUBS; d <= DIR_STATE; d++) {
		if (!st->dir_changed[d])
			continue;
		if (fsync(st->fd[d]) < 0) {
			ua_log(LOG_ERR, "fsync of the state directory: %s", strerror(errno));
			st->errors++;
			rc = -1;
			continue;
		}
		st->dir_changed[d] = false;
		st->dir_fsyncs++;
	}
	st->batches++;
	ua_log(LOG_DEBUG, "store: batch %lu: %zu file(s) written for %lu change(s), %lu fsync(s)%s", st->batches, written,
	       st->changes, st->fsyncs + st->syncfs + st->dir_fsyncs - fsyncs0, one_by_one ? "" : " (syncfs)");
	st->changes = 0;
	return rc;
}

void store_close(struct ua *ua)
{
	struct store *st = ua->store;

	if (!st)
		return;
	if (st->fd[DIR_STATE] >= 0) {
		store_sync(ua);
		ua_log(LOG_INFO,
		       "store: %lu record(s) handed over, %lu file write(s) in %lu batch(es), %lu file fsync(s), "
		       "%lu syncfs, %lu directory fsync(s), %lu not stored (limit %lu), %lu error(s)",
		       st->persists, st->writes, st->batches, st->fsyncs, st->syncfs, st->dir_fsyncs, st->unstored,
		       st->max_records, st->errors);
	}
	for (size_t i = 0; st->buckets && i < st->nbuckets; i++) {
		struct rec *r = st->buckets[i], *next;

		for (; r; r = next) {
			next = r->next;
			free(r->data);
			free(r);
		}
	}
	free(st->buckets);
	free(st->dirty);
	for (size_t i = 0; i < PUB_BUCKETS; i++) {
		for (struct pubfile *f = st->pubs[i], *next; f; f = next) {
			next = f->next;
			free(f);
		}
	}
	for (int d = DIR_SUBS; d <= DIR_STATE; d++) {
		if (st->fd[d] >= 0)
			close(st->fd[d]);
	}
	free(st);
	ua->store = NULL;
}

/* ---- subscriptions ------------------------------------------------------------------------- */

/* The record file of a dialog: the local tag (made of safe characters by the
 * library, escaped anyway) and a hash of the Call-ID. */
static void record_name(const char *call_id, const char *local_tag, char *out, size_t len)
{
	char tag[100];
	size_t o = 0;

	for (const char *p = local_tag; *p && o + 4 < sizeof(tag); p++) {
		unsigned char c = (unsigned char)*p;

		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_')
			tag[o++] = (char)c;
		else
			o += (size_t)snprintf(tag + o, sizeof(tag) - o, "%%%02X", c);
	}
	tag[o] = '\0';
	snprintf(out, len, "%s-%016llx.sub", tag, (unsigned long long)ua_fnv64(call_id, strlen(call_id)));
}

static bool sub_name(struct ua *ua, struct sippres_sub *sub, char *out, size_t len)
{
	struct sippres_sub_info info = {.size = sizeof(info)};

	if (sippres_sub_get_info(ua->ctx, sub, &info) < 0)
		return false;
	record_name(info.call_id, info.local_tag, out, len);
	return true;
}

void store_persist(struct ua *ua, struct sippres_sub *sub, const void *record, size_t len)
{
	struct store *st = ua->store;
	char name[200];
	struct rec *r;

	if (!st)
		return;
	st->persists++;
	if (!sub_name(ua, sub, name, sizeof(name))) {
		ua_log(LOG_ERR, "persist: cannot identify the subscription; record not written");
		return;
	}
	r = rec_find(st, DIR_SUBS, name);
	if (!r) {
		if (st->nsubs >= st->max_records && !st->loading) {
			/* served, not stored: a restart forgets it (its next refresh gets 481) */
			st->unstored++;
			ua_log(st->over_limit ? LOG_DEBUG : LOG_WARN,
			       "store: %zu subscription records, the limit (--max-records %lu): %s is served but not "
			       "stored", st->nsubs, st->max_records, name);
			st->over_limit = true;
			return;
		}
		r = rec_add(st, DIR_SUBS, name);
	}
	if (!r || rec_set(st, r, record, len) < 0) {
		ua_log(LOG_ERR, "out of memory: record %s not written", name);
		st->errors++;
	}
}

void store_forget(struct ua *ua, const char *call_id, const char *local_tag)
{
	struct store *st = ua->store;
	char name[200];
	struct rec *r;

	if (!st)
		return;
	record_name(call_id, local_tag, name, sizeof(name));
	r = rec_find(st, DIR_SUBS, name);
	if (r) {
		rec_remove(st, r);
		if (st->nsubs < st->max_records)
			st->over_limit = false;
	}
	if (unlinkat(st->fd[DIR_SUBS], name, 0) == 0) {
		st->dir_changed[DIR_SUBS] = true;
		ua_log(LOG_DEBUG, "removed %s", name);
	} else if (errno != ENOENT) {
		ua_log(LOG_ERR, "cannot remove %s: %s", name, strerror(errno));
	}
}

void store_forget_sub(struct ua *ua, struct sippres_sub *sub)
{
	struct sippres_sub_info info = {.size = sizeof(info)};

	if (!ua->store)
		return;
	if (sippres_sub_get_info(ua->ctx, sub, &info) < 0) {
		ua_log(LOG_ERR, "forget: cannot identify the subscription");
		return;
	}
	store_forget(ua, info.call_id, info.local_tag);
}

/* ---- publications ------------------------------------------------------------------------------ */

static size_t pub_bucket(const struct sippres_publication *pub)
{
	return (size_t)(ua_fnv64(&pub, sizeof(pub)) & (PUB_BUCKETS - 1));
}

static struct pubfile **pubfile_find(struct store *st, const struct sippres_publication *pub)
{
	struct pubfile **pp = &st->pubs[pub_bucket(pub)];

	while (*pp && (*pp)->pub != pub)
		pp = &(*pp)->next;
	return pp;
}

static struct pubfile *pubfile_add(struct store *st, const struct sippres_publication *pub, const char *name)
{
	struct pubfile *f = calloc(1, sizeof(*f));
	size_t b = pub_bucket(pub);

	if (!f)
		return NULL;
	f->pub = pub;
	if (name) {
		snprintf(f->name, sizeof(f->name), "%s", name);
	} else {
		ua_random_token(f->name, 24);
		memcpy(f->name + 24, ".pub", 5);
	}
	f->next = st->pubs[b];
	st->pubs[b] = f;
	return f;
}

void store_persist_publication(struct ua *ua, struct sippres_publication *pub, const void *record, size_t len)
{
	struct store *st = ua->store;
	struct pubfile *f;
	struct rec *r;

	if (!st)
		return;
	st->persists++;
	f = *pubfile_find(st, pub);
	if (!f)
		f = pubfile_add(st, pub, st->restoring);
	r = f ? rec_find(st, DIR_SUBS, f->name) : NULL;
	if (f && !r)
		r = rec_add(st, DIR_SUBS, f->name);
	if (!r || rec_set(st, r, record, len) < 0) {
		ua_log(LOG_ERR, "out of memory: a publication record not written");
		st->errors++;
	}
}

void store_forget_publication(struct ua *ua, struct sippres_publication *pub)
{
	struct store *st = ua->store;
	struct pubfile **pp, *f;
	struct rec *r;

	if (!st)
		return;
	pp = pubfile_find(st, pub);
	f = *pp;
	if (!f)
		return; /* never stored */
	*pp = f->next;
	r = rec_find(st, DIR_SUBS, f->name);
	if (r)
		rec_remove(st, r);
	if (unlinkat(st->fd[DIR_SUBS], f->name, 0) == 0) {
		st->dir_changed[DIR_SUBS] = true;
		ua_log(LOG_DEBUG, "removed %s", f->name);
	} else if (errno != ENOENT) {
		ua_log(LOG_ERR, "cannot remove %s: %s", f->name, strerror(errno));
	}
	free(f);
}

/* ---- device and presence states -------------------------------------------------------------- */

/* State files: name is hex-encoded so any device name makes a file name. */
static void state_name(const char *kind, const char *name, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "%s-", kind);

	for (const unsigned char *p = (const unsigned char *)name; *p && o + 3 < len; p++)
		o += (size_t)snprintf(out + o, len - o, "%02x", *p);
}

static void save_state(struct ua *ua, const char *kind, const char *what, struct sbuf *b)
{
	struct store *st = ua->store;
	char name[256];
	struct rec *r;

	state_name(kind, what, name, sizeof(name));
	r = rec_find(st, DIR_STATE, name);
	if (!r)
		r = rec_add(st, DIR_STATE, name);
	if (b->oom || !r || rec_set(st, r, b->s, b->len) < 0) {
		ua_log(LOG_ERR, "out of memory: state/%s not written", name);
		st->errors++;
	}
	sbuf_free(b);
}

void store_save_device(struct ua *ua, const char *device, int state)
{
	struct sbuf b;

	if (!ua->store)
		return;
	sbuf_init(&b);
	sbuf_printf(&b, "%s\n%s\n", device, sippres_device_state_name(state));
	save_state(ua, "device", device, &b);
}

void store_save_presence(struct ua *ua, const char *provider, int state, const char *subtype, const char *message)
{
	struct sbuf b;

	if (!ua->store)
		return;
	sbuf_init(&b);
	sbuf_printf(&b, "%s\n%s\n%s\n%s\n", provider, sippres_presence_state_name(state), subtype ? subtype : "",
	            message ? message : "");
	save_state(ua, "presence", provider, &b);
}

/* ---- loading ---------------------------------------------------------------------------------- */

/* A regular file in dfd, NUL-terminated (not counted in *len); NULL with errno. */
static char *read_at(int dfd, const char *name, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK), err = 0;
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0)
		err = errno;
	else if (!S_ISREG(sb.st_mode))
		err = EINVAL;
	else if ((unsigned long long)sb.st_size > STORE_FILE_MAX)
		err = EFBIG;
	else if (!(buf = malloc((size_t)sb.st_size + 1)))
		err = ENOMEM;
	while (!err && got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : EIO;
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[got] = '\0';
	*len = got;
	return buf;
}

uint32_t store_crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
	}
	return ~c;
}

/* Why the library refused a record (SIPPRES_E_PARSE covers them all). */
static void corrupt_reason(const unsigned char *p, size_t len, const char *magic, char *out, size_t outlen)
{
	if (len == 0)
		snprintf(out, outlen, "empty file");
	else if (len < RECORD_HEADER + 4)
		snprintf(out, outlen, "truncated: %zu bytes", len);
	else if (memcmp(p, magic, 4) != 0)
		snprintf(out, outlen, "not a %s record", strcmp(magic, RECORD_MAGIC) == 0 ? "subscription" : "publication");
	else if (p[4] != RECORD_FORMAT)
		snprintf(out, outlen, "record format %u, this build reads %u", p[4], RECORD_FORMAT);
	else if (store_crc32(p, len - 4) !=
	         ((uint32_t)p[len - 4] | (uint32_t)p[len - 3] << 8 | (uint32_t)p[len - 2] << 16 |
	          (uint32_t)p[len - 1] << 24))
		snprintf(out, outlen, "checksum mismatch: damaged or truncated");
	else
		snprintf(out, outlen, "invalid contents");
}

/* Keep a file the UA cannot use as NAME.bad, for a person to look at. */
static void quarantine(struct ua *ua, int d, const char *name, const char *what, const char *why)
{
	struct store *st = ua->store;
	char bad[300];

	snprintf(bad, sizeof(bad), "%s.bad", name);
	if (renameat(st->fd[d], name, st->fd[d], bad) < 0) {
		ua_log(LOG_ERR, "%s %s%s (%s) cannot be renamed to .bad: %s", what, d == DIR_STATE ? "state/" : "",
		       name, why, strerror(errno));
		return;
	}
	st->dir_changed[d] = true;
	ua_log(LOG_WARN, "%s %s/%s%s is unusable (%s): kept as %s, not restored", what, ua->state_dir,
	       d == DIR_STATE ? "state/" : "", name, why, bad);
}

/* Split buf into at most n lines (newlines replaced by NULs). */
static size_t lines(char *buf, char **out, size_t n)
{
	size_t k = 0;

	while (k < n && *buf) {
		char *nl = strchr(buf, '\n');

		out[k++] = buf;
		if (!nl)
			break;
		*nl = '\0';
		buf = nl + 1;
	}
	return k;
}

static void load_state_file(struct ua *ua, const char *name)
{
	size_t len = 0;
	char *buf = read_at(ua->store->fd[DIR_STATE], name, &len), *l[4] = {0};
	size_t n;
	int r = -1, st;

	if (!buf) {
		char why[80];

		snprintf(why, sizeof(why), "%s", strerror(errno));
		quarantine(ua, DIR_STATE, name, "state file", why);
		return;
	}
	n = lines(buf, l, 4);
	if (strncmp(name, "device-", 7) == 0 && n >= 2) {
		st = sippres_device_state_from_string(l[1], strlen(l[1]));
		if (st >= 0)
			r = sippres_device_state_set(ua->ctx, l[0], st);
	} else if (strncmp(name, "presence-", 9) == 0 && n >= 2) {
		st = sippres_presence_state_from_string(l[1], strlen(l[1]));
		if (st >= 0)
			r = sippres_presence_state_set(ua->ctx, l[0], st, n > 2 ? l[2] : NULL, n > 3 ? l[3] : NULL);
	}
	if (r < 0)
		quarantine(ua, DIR_STATE, name, "state file", "not a device or presence state");
	else
		ua_log(LOG_DEBUG, "restored %s", l[0]);
	free(buf);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in directory d ending in suffix. Leftover temporary files
 * (a write that a crash interrupted: the previous file is intact) are deleted,
 * never restored. Returns the count or -1. */
static long list_dir(struct ua *ua, int d, const char *suffix, char ***out)
{
	struct store *st = ua->store;
	int fd = dup(st->fd[d]);
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!dir) {
		ua_log(LOG_ERR, "cannot read %s%s: %s", ua->state_dir, d == DIR_STATE ? "/state" : "", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	rewinddir(dir);
	while ((e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		if (has_suffix(e->d_name, ".tmp")) {
			if (unlinkat(st->fd[d], e->d_name, 0) == 0) {
				st->dir_changed[d] = true;
				ua_log(LOG_INFO, "removed %s, left by an interrupted write", e->d_name);
			}
			continue;
		}
		if (suffix ? !has_suffix(e->d_name, suffix) : (has_suffix(e->d_name, ".bad") || e->d_name[0] == '.'))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap ? cap * 2 : 64) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
			cap = cap ? cap * 2 : 64;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(dir);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	*out = names;
	return (long)n;
}

static void free_names(char **names, long n)
{
	for (long i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

enum { KIND_SUB, KIND_PUB };

static const struct {
	const char *what, *magic, *gone;
} kinds[] = {
	[KIND_SUB] = {"stored subscription", RECORD_MAGIC, "expired, or its endpoint or hint is gone"},
	[KIND_PUB] = {"stored publication", PUB_RECORD_MAGIC,
	              "expired, or its resource or event is no longer configured"},
};

/* One record file through the library's restore: 1 with *obj set when restored; else 0, the file deleted
 * (expired or gone), kept (try again at the next start) or quarantined (corrupt). */
static int restore_file(struct ua *ua, const char *name, int kind, void **obj)
{
	struct store *st = ua->store;
	char why[128];
	size_t len = 0;
	char *rec = read_at(st->fd[DIR_SUBS], name, &len);
	int r;

	if (!rec) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		if (errno == ENOMEM)
			ua_log(LOG_ERR, "cannot read %s: %s", name, why);
		else
			quarantine(ua, DIR_SUBS, name, kinds[kind].what, why);
		return 0;
	}
	if (kind == KIND_SUB) {
		r = sippres_sub_restore(ua->ctx, rec, len, ua_now_wall_ms(), (struct sippres_sub **)obj);
	} else {
		st->restoring = name; /* a persist during the restore keeps this file */
		r = sippres_publication_restore(ua->ctx, rec, len, ua_now_wall_ms(), (struct sippres_publication **)obj);
		st->restoring = NULL;
	}
	if (r == SIPPRES_E_PARSE)
		corrupt_reason((const unsigned char *)rec, len, kinds[kind].magic, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "%s", sippres_strerror(r));
	free(rec);
	if (r == SIPPRES_E_NOTFOUND) {
		ua_log(LOG_INFO, "dropping %s %s: %s", kinds[kind].what, name, kinds[kind].gone);
		if (unlinkat(st->fd[DIR_SUBS], name, 0) == 0)
			st->dir_changed[DIR_SUBS] = true;
		return 0;
	}
	if (r == SIPPRES_E_NOMEM || r == SIPPRES_E_EXISTS) {
		/* NOMEM: try again next start; EXISTS: another file holds the live one */
		ua_log(LOG_WARN, "not restoring %s %s: %s", kinds[kind].what, name, why);
		return 0;
	}
	if (r < 0) {
		quarantine(ua, DIR_SUBS, name, kinds[kind].what, why);
		return 0;
	}
	return 1;
}

/* A subscription's record file: restored under its canonical name. Returns 1 when restored. */
static int load_record(struct ua *ua, const char *name)
{
	struct store *st = ua->store;
	void *sub = NULL;
	char canon[200];

	if (!restore_file(ua, name, KIND_SUB, &sub))
		return 0;
	if (sub_name(ua, sub, canon, sizeof(canon))) {
		if (strcmp(canon, name) != 0) {
			if (renameat(st->fd[DIR_SUBS], name, st->fd[DIR_SUBS], canon) < 0)
				ua_log(LOG_WARN, "cannot rename %s: %s", name, strerror(errno));
			else
				st->dir_changed[DIR_SUBS] = true;
		}
		if (!rec_find(st, DIR_SUBS, canon) && !rec_add(st, DIR_SUBS, canon))
			ua_log(LOG_ERR, "out of memory: %s is not counted", canon);
	}
	return 1;
}

/* A .pub file: restored, its name kept for the publication. Returns 1 when restored. */
static int load_publication(struct ua *ua, const char *name)
{
	struct store *st = ua->store;
	void *pub = NULL;

	if (!restore_file(ua, name, KIND_PUB, &pub))
		return 0;
	if ((!*pubfile_find(st, pub) && !pubfile_add(st, pub, name)) ||
	    (!rec_find(st, DIR_SUBS, name) && !rec_add(st, DIR_SUBS, name)))
		ua_log(LOG_ERR, "out of memory: %s will not follow its publication", name);
	return 1;
}

/* Every file NAME*suffix through load; counts what it restored and dropped. -1: the directory cannot be read. */
static int load_files(struct ua *ua, const char *suffix, int (*load)(struct ua *, const char *), int *restored,
                      int *dropped)
{
	char **names = NULL;
	long n = list_dir(ua, DIR_SUBS, suffix, &names);

	if (n < 0)
		return -1;
	for (long i = 0; i < n; i++) {
		if (load(ua, names[i]))
			(*restored)++;
		else
			(*dropped)++;
	}
	free_names(names, n);
	return 0;
}

int store_load(struct ua *ua)
{
	struct store *st = ua->store;
	char **names = NULL;
	long n;
	int restored = 0, dropped = 0, pub_restored = 0, pub_dropped = 0;

	if (!st)
		return 0;
	st->loading = true;
	n = list_dir(ua, DIR_STATE, NULL, &names);
	for (long i = 0; i < n; i++)
		load_state_file(ua, names[i]);
	free_names(names, n);
	names = NULL;
	/* publications first: their state is in the full-state NOTIFYs of the restored subscriptions */
	if (load_files(ua, ".pub", load_publication, &pub_restored, &pub_dropped) < 0 ||
	    load_files(ua, ".sub", load_record, &restored, &dropped) < 0) {
		st->loading = false;
		return -1;
	}
	if (pub_restored || pub_dropped)
		ua_log(LOG_INFO, "restored %d publication(s) from %s, dropped %d", pub_restored, ua->state_dir, pub_dropped);
	ua_flush(ua);
	st->loading = false;
	ua_log(LOG_INFO, "restored %d subscription(s) from %s, dropped %d", restored, ua->state_dir, dropped);
	return 0;
}
