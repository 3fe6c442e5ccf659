/* SPDX-License-Identifier: MIT */
/* The control socket (--control PATH) and its client (-rx COMMAND): the commands of standard input over
 * a Unix stream socket, for a service that has no standard input. docs/mini-ua.md, "Operation". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core.h"

struct ctl_client {
	int fd;
	struct ctl_lines in;
	struct sbuf out;     /* replies not yet written, from out_off */
	size_t out_off;
	bool eof;            /* the client has sent everything: close once the replies are out */
	bool dead;
};

/* Pause reading a client while this much of its replies waits. */
#define CTL_OUT_PAUSE (64u * 1024u)

static int unix_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -1;
	memcpy(a->sun_path, path, strlen(path));
	return 0;
}

int ctl_server_open(struct ctl_server *s, const char *path)
{
	struct sockaddr_un a;
	struct stat st;
	mode_t old;
	int fd, r;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (unix_addr(path, &a) < 0) {
		ua_log(LOG_ERR, "--control %s: path too long", path);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			ua_log(LOG_ERR, "--control %s: exists and is not a socket", path);
			return -1;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (const struct sockaddr *)&a, sizeof(a)) == 0) {
			close(fd);
			ua_log(LOG_ERR, "--control %s: another process serves it", path);
			return -1;
		}
		if (fd >= 0)
			close(fd);
		unlink(path); /* stale: left by a process that died */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ua_log(LOG_ERR, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117); /* the file is created 0660 */
	r = bind(fd, (const struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || chmod(path, 0660) < 0 || listen(fd, CTL_MAX_CLIENTS) < 0) {
		ua_log(LOG_ERR, "--control %s: %s", path, strerror(errno));
		close(fd);
		if (r == 0)
			unlink(path);
		return -1;
	}
	s->path = strdup(path);
	if (!s->path) {
		close(fd);
		unlink(path);
		return -1;
	}
	s->fd = fd;
	ua_log(LOG_INFO, "control socket %s", path);
	return 0;
}

static void client_free(struct ctl_client *c)
{
	close(c->fd);
	ctl_lines_free(&c->in);
	sbuf_free(&c->out);
	free(c);
}

static void client_write(struct ctl_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.s + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = true; /* the client went away */
			return;
		}
		c->out_off += (size_t)w;
	}
	c->out.len = c->out_off = 0;
}

void ctl_server_close(struct ctl_server *s)
{
	for (size_t i = 0; i < s->n_clients; i++) {
		struct ctl_client *c = s->clients[i];

		/* a second at most for the last replies (the OK of `quit`) */
		for (int k = 0; k < 10 && !c->dead && c->out_off < c->out.len; k++) {
			struct pollfd p = {.fd = c->fd, .events = POLLOUT};

			if (poll(&p, 1, 100) > 0)
				client_write(c);
		}
		client_free(c);
	}
	s->n_clients = 0;
	if (s->fd >= 0) {
		close(s->fd);
		unlink(s->path);
	}
	free(s->path);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

size_t ctl_server_pollfds(const struct ctl_server *s, struct pollfd *p)
{
	size_t n = 0;

	if (s->fd < 0)
		return 0;
	p[n++] = (struct pollfd){.fd = s->fd, .events = s->n_clients < CTL_MAX_CLIENTS ? POLLIN : 0};
	for (size_t i = 0; i < s->n_clients; i++) {
		const struct ctl_client *c = s->clients[i];
		short ev = 0;

		if (!c->eof && c->out.len - c->out_off < CTL_OUT_PAUSE)
			ev |= POLLIN;
		if (c->out_off < c->out.len)
			ev |= POLLOUT;
		p[n++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	return n;
}

static void client_accept(struct ctl_server *s)
{
	while (s->n_clients < CTL_MAX_CLIENTS) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_client *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		ctl_lines_init(&c->in, CTL_MAX_LINE);
		sbuf_init(&c->out);
		s->clients[s->n_clients++] = c;
		ua_log(LOG_DEBUG, "control client %d connected (%zu now)", fd, s->n_clients);
	}
}

/* Read what is there, run the whole lines while the replies fit. */
static void client_read(struct ctl_client *c, struct ua *ua, bool readable)
{
	char buf[4096], *line;
	int r;

	if (readable && !c->eof) {
		ssize_t got = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (got == 0)
			c->eof = true;
		else if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			c->dead = true;
		else if (got > 0 && ctl_lines_add(&c->in, buf, (size_t)got) < 0)
			c->dead = true;
	}
	while (!c->dead && !ua->quit && c->out.len - c->out_off < CTL_OUT_PAUSE &&
	       (r = ctl_lines_next(&c->in, c->eof, &line)) != 0) {
		if (r < 0)
			sbuf_printf(&c->out, "ERR line too long (at most %u bytes)\n", CTL_MAX_LINE);
		else
			ua_command(ua, line, &c->out);
	}
	ua_flush(ua); /* the lines read at once are one batch: records, then NOTIFYs, then the replies */
	if (c->out.oom || c->out.len - c->out_off > CTL_MAX_OUT) {
		ua_log(LOG_WARN, "control client %d: its replies are not read, dropped", c->fd);
		c->dead = true;
	}
}

void ctl_server_handle(struct ctl_server *s, struct ua *ua, const struct pollfd *p, size_t n)
{
	size_t k = 1;

	if (n == 0)
		return;
	for (size_t i = 0; i < s->n_clients && k < n; i++, k++) {
		struct ctl_client *c = s->clients[i];

		if (p[k].revents & (POLLERR | POLLNVAL))
			c->dead = true;
		client_read(c, ua, (p[k].revents & (POLLIN | POLLHUP)) != 0);
		if (!c->dead)
			client_write(c);
	}
	/* drop the finished ones: gone, or all sent and answered */
	for (size_t i = 0; i < s->n_clients;) {
		struct ctl_client *c = s->clients[i];

		if (c->dead || (c->eof && ctl_lines_pending(&c->in) == 0 && c->out_off >= c->out.len)) {
			ua_log(LOG_DEBUG, "control client %d done", c->fd);
			client_free(c);
			s->clients[i] = s->clients[--s->n_clients];
		} else {
			i++;
		}
	}
	if (p[0].revents & POLLIN)
		client_accept(s);
}

/* ---- -rx ------------------------------------------------------------------------------- */

static int rx_usage(void)
{
	fprintf(stderr, "usage: sippres-mini-ua -rx COMMAND [--control PATH]   (default PATH %s)\n", CTL_DEFAULT_PATH);
	return 2;
}

int ctl_client_main(int argc, char **argv)
{
	const char *command = NULL, *path = CTL_DEFAULT_PATH;
	struct sockaddr_un a;
	struct ctl_lines in;
	struct sbuf req;
	int fd, rc = -1;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-rx") == 0 && i + 1 < argc && !command)
			command = argv[++i];
		else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--control=", 10) == 0)
			path = argv[i] + 10;
		else
			return rx_usage();
	}
	if (!command || strchr(command, '\n'))
		return rx_usage();
	if (unix_addr(path, &a) < 0) {
		fprintf(stderr, "sippres-mini-ua: %s: path too long\n", path);
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "sippres-mini-ua: cannot connect to %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 2;
	}
	sbuf_init(&req);
	sbuf_printf(&req, "%s\n", command);
	for (size_t off = 0; off < req.len;) {
		ssize_t w = send(fd, req.s + off, req.len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			fprintf(stderr, "sippres-mini-ua: %s: %s\n", path, strerror(errno));
			sbuf_free(&req);
			close(fd);
			return 1;
		}
		off += (size_t)w;
	}
	sbuf_free(&req);
	shutdown(fd, SHUT_WR); /* one command: the server answers it and closes */
	ctl_lines_init(&in, 0);
	while (rc < 0) {
		char buf[4096], *line;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t got;
		int r;

		while (rc < 0 && (r = ctl_lines_next(&in, false, &line)) > 0) {
			if (strcmp(line, "OK") == 0) {
				rc = 0;
			} else if (strncmp(line, "ERR", 3) == 0 && (line[3] == ' ' || line[3] == '\0')) {
				fprintf(stderr, "%s\n", line[3] ? line + 4 : "error");
				rc = 1;
			} else {
				printf("%s\n", line);
			}
		}
		if (rc >= 0)
			break;
		if (poll(&p, 1, 60000) <= 0) {
			fprintf(stderr, "sippres-mini-ua: no reply from %s within 60 s\n", path);
			rc = 1;
			break;
		}
		got = recv(fd, buf, sizeof(buf), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			fprintf(stderr, "sippres-mini-ua: %s closed the connection without a reply\n", path);
			rc = 1;
		} else if (ctl_lines_add(&in, buf, (size_t)got) < 0) {
			rc = 1;
		}
	}
	ctl_lines_free(&in);
	close(fd);
	fflush(stdout);
	return rc;
}
