/* SPDX-License-Identifier: MIT */
/* --state-dir: one file per subscription (the library's record, replaced
 * atomically: write a temporary file, then rename), plus the device and
 * presence states set through the control channel, as Asterisk keeps
 * Custom: device states and CustomPresence: in its database. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

static int mkdir_p(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

int store_open(struct ua *ua, const char *dir)
{
	char path[4096];

	if (mkdir_p(dir) < 0) {
		ua_log(LOG_ERR, "cannot create state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	if (mkdir_p(path) < 0) {
		ua_log(LOG_ERR, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	ua->state_dir = strdup(dir);
	return ua->state_dir ? 0 : -1;
}

/* The record file of a dialog: the local tag (made of safe characters by the
 * library, escaped anyway) and a hash of the Call-ID. */
static void record_path(const struct ua *ua, const char *call_id, const char *local_tag, char *out, size_t len)
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
	snprintf(out, len, "%s/%s-%016llx.sub", ua->state_dir, tag,
	         (unsigned long long)ua_fnv64(call_id, strlen(call_id)));
}

static int write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	const unsigned char *p = data;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			unlink(tmp);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

void store_persist(struct ua *ua, struct sippres_sub *sub, const void *record, size_t len)
{
	struct sippres_sub_info info = {.size = sizeof(info)};
	char path[4096];

	if (!ua->state_dir)
		return;
	if (sippres_sub_get_info(ua->ctx, sub, &info) < 0) {
		ua_log(LOG_ERR, "persist: cannot identify the subscription; record not written");
		return;
	}
	record_path(ua, info.call_id, info.local_tag, path, sizeof(path));
	if (write_atomic(path, record, len) < 0)
		ua_log(LOG_ERR, "cannot write %s: %s", path, strerror(errno));
	else
		ua_log(LOG_DEBUG, "stored %s (%zu bytes)", path, len);
}

void store_forget(struct ua *ua, const char *call_id, const char *local_tag)
{
	char path[4096];

	if (!ua->state_dir)
		return;
	record_path(ua, call_id, local_tag, path, sizeof(path));
	if (unlink(path) == 0)
		ua_log(LOG_DEBUG, "removed %s", path);
	else if (errno != ENOENT)
		ua_log(LOG_ERR, "cannot remove %s: %s", path, strerror(errno));
}

void store_forget_sub(struct ua *ua, struct sippres_sub *sub)
{
	struct sippres_sub_info info = {.size = sizeof(info)};

	if (!ua->state_dir)
		return;
	if (sippres_sub_get_info(ua->ctx, sub, &info) < 0) {
		ua_log(LOG_ERR, "forget: cannot identify the subscription");
		return;
	}
	store_forget(ua, info.call_id, info.local_tag);
}

/* State files: name is hex-encoded so any device name makes a file name. */
static void state_path(const struct ua *ua, const char *kind, const char *name, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "%s/state/%s-", ua->state_dir, kind);

	for (const unsigned char *p = (const unsigned char *)name; *p && o + 3 < len; p++)
		o += (size_t)snprintf(out + o, len - o, "%02x", *p);
}

void store_save_device(struct ua *ua, const char *device, int state)
{
	char path[4096];
	struct sbuf b;

	if (!ua->state_dir)
		return;
	state_path(ua, "device", device, path, sizeof(path));
	sbuf_init(&b);
	sbuf_printf(&b, "%s\n%s\n", device, sippres_device_state_name(state));
	if (b.oom || write_atomic(path, b.s, b.len) < 0)
		ua_log(LOG_ERR, "cannot write %s", path);
	sbuf_free(&b);
}

void store_save_presence(struct ua *ua, const char *provider, int state, const char *subtype, const char *message)
{
	char path[4096];
	struct sbuf b;

	if (!ua->state_dir)
		return;
	state_path(ua, "presence", provider, path, sizeof(path));
	sbuf_init(&b);
	sbuf_printf(&b, "%s\n%s\n%s\n%s\n", provider, sippres_presence_state_name(state), subtype ? subtype : "",
	            message ? message : "");
	if (b.oom || write_atomic(path, b.s, b.len) < 0)
		ua_log(LOG_ERR, "cannot write %s", path);
	sbuf_free(&b);
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

static void load_state_file(struct ua *ua, const char *name, const char *path)
{
	size_t len;
	char *buf = ua_read_file(path, &len), *l[4] = {0};
	size_t n;
	int r = -1, st;

	if (!buf)
		return;
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
		ua_log(LOG_WARN, "ignoring state file %s", path);
	else
		ua_log(LOG_DEBUG, "restored %s", l[0]);
	free(buf);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_subscriptions(struct ua *ua)
{
	DIR *d = opendir(ua->state_dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int restored = 0, dropped = 0;

	if (!d) {
		ua_log(LOG_ERR, "cannot read %s: %s", ua->state_dir, strerror(errno));
		return -1;
	}
	/* list first: restoring renames files in this directory */
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);

		if (nl > 4 && strcmp(e->d_name + nl - 4, ".tmp") == 0) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", ua->state_dir, e->d_name);
			unlink(path); /* a write that a crash interrupted; the previous record is intact */
			continue;
		}
		if (nl <= 4 || strcmp(e->d_name + nl - 4, ".sub") != 0)
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
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096], canon[4096];
		struct sippres_sub *sub = NULL;
		size_t len;
		char *rec;
		int r;

		snprintf(path, sizeof(path), "%s/%s", ua->state_dir, names[i]);
		rec = ua_read_file(path, &len);
		if (!rec) {
			ua_log(LOG_ERR, "cannot read %s", path);
			continue;
		}
		r = sippres_sub_restore(ua->ctx, rec, len, ua_now_wall_ms(), &sub);
		free(rec);
		if (r < 0) {
			ua_log(r == SIPPRES_E_NOTFOUND ? LOG_INFO : LOG_WARN, "dropping stored subscription %s: %s", names[i],
			       r == SIPPRES_E_NOTFOUND ? "expired, or its endpoint or hint is gone" : sippres_strerror(r));
			/* keep it on NOMEM (try again next start) and EXISTS (another file holds the live one) */
			if (r != SIPPRES_E_NOMEM && r != SIPPRES_E_EXISTS)
				unlink(path);
			dropped++;
			continue;
		}
		restored++;
		{
			struct sippres_sub_info info = {.size = sizeof(info)};

			if (sippres_sub_get_info(ua->ctx, sub, &info) == 0) {
				record_path(ua, info.call_id, info.local_tag, canon, sizeof(canon));
				if (strcmp(canon, path) != 0 && rename(path, canon) < 0)
					ua_log(LOG_WARN, "cannot rename %s: %s", path, strerror(errno));
			}
		}
	}
	ua_flush(ua);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	ua_log(LOG_INFO, "restored %d subscription(s) from %s, dropped %d", restored, ua->state_dir, dropped);
	return 0;
}

int store_load(struct ua *ua)
{
	char path[4096];
	DIR *d;
	struct dirent *e;

	if (!ua->state_dir)
		return 0;
	snprintf(path, sizeof(path), "%s/state", ua->state_dir);
	d = opendir(path);
	if (d) {
		while ((e = readdir(d)) != NULL) {
			char file[4400];

			if (e->d_name[0] == '.')
				continue;
			snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
			if (strlen(e->d_name) > 4 && strcmp(e->d_name + strlen(e->d_name) - 4, ".tmp") == 0) {
				unlink(file);
				continue;
			}
			load_state_file(ua, e->d_name, file);
		}
		closedir(d);
	}
	return load_subscriptions(ua);
}
