/* SPDX-License-Identifier: MIT */
/* sippres-mini-ua: command line, configuration files, the UDP socket and
 * the poll() loop over the socket and standard input. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "subscriber.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sippres-mini-ua --listen ADDR:PORT --extensions FILE --pjsip FILE [--state-dir DIR]\n"
	           "                      [--t1 MS] [-v|--verbose]...\n"
	           "  --listen ADDR:PORT   UDP address to serve: 127.0.0.1:5070, [::1]:5070, 0.0.0.0:5060 (port 0: any)\n"
	           "  --extensions FILE    Asterisk extensions.conf with the hints\n"
	           "  --pjsip FILE         Asterisk pjsip.conf with the endpoints\n"
	           "  --state-dir DIR      keep subscriptions (and device/presence states) across restarts\n"
	           "  --t1 MS              SIP timer T1 for NOTIFY retransmission (default 500; for tests)\n"
	           "  -v, --verbose        more logs on standard error (twice: every SIP message)\n"
	           "Control commands, one per line on standard input; each reply ends with OK or ERR <reason>:\n"
	           "  devstate change <device> <STATE>\n"
	           "  presencestate change <provider> <STATE>[,<subtype>[,<message>]]\n"
	           "  dialplan add extension <exten>,hint,<value> into <context> [replace]\n"
	           "  dialplan remove extension <exten>@<context> hint\n"
	           "  call set <device> <call-id> <early|confirmed|held|terminated> [direction=recipient|initiator]\n"
	           "      [remote=<uri>] [remote_display=<text>] [local=<uri>] [local_display=<text>]\n"
	           "      [local_tag=<t>] [remote_tag=<t>]\n"
	           "  call clear <device> <call-id>\n"
	           "  core show hints\n"
	           "  pjsip show subscriptions inbound\n"
	           "  quit\n"
	           "The subscriber mode: sippres-mini-ua subscribe URI ... (sippres-mini-ua subscribe --help)\n");
}

/* ---- configuration -------------------------------------------------------------------- */

struct conf_io {
	struct ua *ua;
	char dir[4096];   /* directory of the top file: relative includes start there, as in /etc/asterisk */
	int endpoints, hints;
};

static int conf_include(void *user_data, const char *name, const char **text, size_t *len)
{
	struct conf_io *c = user_data;
	char path[8192];
	char *t;

	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", c->dir, name);
	t = ua_read_file(path, len);
	if (!t)
		return errno == ENOENT ? SIPPRES_E_NOTFOUND : SIPPRES_E_INVAL;
	*text = t;
	return 0;
}

static void conf_release(void *user_data, const char *text, size_t len)
{
	void *p;

	(void)user_data;
	(void)len;
	memcpy(&p, &text, sizeof(p)); /* our own buffer from conf_include */
	free(p);
}

static void conf_problem(void *user_data, const char *file, const struct sippres_diag *d)
{
	(void)user_data;
	if (d->column)
		ua_log(LOG_WARN, "%s:%u:%u: %s", file, d->line, d->column, d->message);
	else
		ua_log(LOG_WARN, "%s:%u: %s", file, d->line, d->message);
}

static void conf_loaded(void *user_data, const char *type, const char *name)
{
	struct conf_io *c = user_data;

	if (strcmp(type, "endpoint") == 0) {
		c->endpoints++;
		if (strset_add(&c->ua->endpoints, name) < 0)
			ua_log(LOG_ERR, "out of memory: endpoint %s is not known", name);
	} else if (strcmp(type, "hint") == 0) {
		c->hints++;
	}
	ua_log(LOG_DEBUG, "loaded %s %s", type, name);
}

static int load_config(struct ua *ua, const char *path, bool pjsip)
{
	struct conf_io c = {.ua = ua};
	struct sippres_config_io io = {
		.size = sizeof(io),
		.user_data = &c,
		.include = conf_include,
		.release = conf_release,
		.problem = conf_problem,
		.loaded = conf_loaded,
	};
	char *copy = strdup(path), *text;
	size_t len = 0;
	int r;

	if (!copy)
		return -1;
	snprintf(c.dir, sizeof(c.dir), "%s", dirname(copy));
	free(copy);
	text = ua_read_file(path, &len);
	if (!text) {
		ua_log(LOG_ERR, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	r = pjsip ? sippres_config_load_pjsip(ua->ctx, path, text, len, &io)
	          : sippres_config_load_extensions(ua->ctx, path, text, len, &io);
	free(text);
	if (r < 0) {
		ua_log(LOG_ERR, "loading %s: %s", path, sippres_strerror(r));
		return -1;
	}
	if (pjsip)
		ua_log(LOG_INFO, "%s: %d endpoint(s), %d problem(s)", path, c.endpoints, r);
	else
		ua_log(LOG_INFO, "%s: %d hint(s), %d problem(s)", path, c.hints, r);
	return 0;
}

/* ---- socket --------------------------------------------------------------------------- */

static int open_socket(struct ua *ua, const char *listen)
{
	int fd, one = 1, size = 4 << 20;

	if (addr_parse_listen(listen, &ua->local) < 0) {
		ua_log(LOG_ERR, "--listen %s: expected IPv4:PORT or [IPv6]:PORT", listen);
		return -1;
	}
	fd = socket(ua->local.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ua_log(LOG_ERR, "socket: %s", strerror(errno));
		return -1;
	}
	if (ua->local.ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* room for bursts of NOTIFY responses (root may go past rmem_max) */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, (const struct sockaddr *)&ua->local.ss, ua->local.len) < 0) {
		ua_log(LOG_ERR, "bind %s: %s", listen, strerror(errno));
		close(fd);
		return -1;
	}
	ua->local.len = sizeof(ua->local.ss);
	getsockname(fd, (struct sockaddr *)&ua->local.ss, &ua->local.len);
	addr_format(&ua->local, ua->local_str, sizeof(ua->local_str));
	ua->fd = fd;
	return 0;
}

/* ---- the loop ---------------------------------------------------------------------------- */

static bool on_datagram(void *arg, const char *buf, size_t len, const struct ua_addr *src)
{
	ua_on_datagram(arg, buf, len, src);
	return true;
}

static void flush_replies(struct sbuf *out)
{
	size_t off = 0;

	while (off < out->len) {
		ssize_t w = write(STDOUT_FILENO, out->s + off, out->len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = {.fd = STDOUT_FILENO, .events = POLLOUT};

				poll(&p, 1, 1000);
				continue;
			}
			break; /* nobody reads the replies any more */
		}
		off += (size_t)w;
	}
	out->len = 0;
	if (out->s)
		out->s[0] = '\0';
}

/* Run the whole lines buffered (at eof also an unterminated last one), each reply written at once. */
static void run_lines(struct ua *ua, struct ctl_lines *in, bool eof, struct sbuf *out)
{
	char *line;
	int r;

	while (!ua->quit && (r = ctl_lines_next(in, eof, &line)) != 0) {
		if (r < 0)
			sbuf_add(out, "ERR line too long\n", 18);
		else
			ua_command(ua, line, out);
		flush_replies(out);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"extensions", required_argument, NULL, 'e'},
		{"pjsip", required_argument, NULL, 'p'},  {"state-dir", required_argument, NULL, 's'},
		{"t1", required_argument, NULL, 't'},     {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *listen = NULL, *extensions = NULL, *pjsip = NULL, *state_dir = NULL;
	unsigned long t1 = 500;
	struct sigaction sa;
	struct ctl_lines in;
	struct sbuf out;
	bool stdin_open = true;
	struct ua ua;
	int o;

	if (argc > 1 && strcmp(argv[1], "subscribe") == 0)
		return subscriber_main(argc - 1, argv + 1);
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (o) {
		case 'l': listen = optarg; break;
		case 'e': extensions = optarg; break;
		case 'p': pjsip = optarg; break;
		case 's': state_dir = optarg; break;
		case 't': {
			char *end;

			t1 = strtoul(optarg, &end, 10);
			if (*end || t1 < 1 || t1 > 60000) {
				fprintf(stderr, "--t1: milliseconds from 1 to 60000\n");
				return 2;
			}
			break;
		}
		case 'v': ua_verbosity++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !listen || !extensions || !pjsip) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	sipmsg_init();
	if (ua_init(&ua, (uint32_t)t1, state_dir != NULL) < 0)
		return 1;
	if (open_socket(&ua, listen) < 0 || load_config(&ua, pjsip, true) < 0 ||
	    load_config(&ua, extensions, false) < 0 || (state_dir && store_open(&ua, state_dir) < 0) ||
	    store_load(&ua) < 0) {
		ua_fini(&ua);
		return 1;
	}
	ua_log(LOG_INFO, "listening on udp %s (libsippresence %s)", ua.local_str, sippres_version_string());
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	ctl_lines_init(&in, 0);
	sbuf_init(&out);

	while (!ua.quit && !got_signal) {
		struct pollfd p[2] = {{.fd = ua.fd, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
		int n;

		ua_run_timers(&ua);
		n = poll(p, stdin_open ? 2 : 1, ua_poll_timeout(&ua));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ua_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents & POLLIN)
			ua_recv_batch(ua.fd, 256, on_datagram, &ua); /* a batch, then timers and stdin get their turn */
		if (stdin_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			char tmp[4096];
			ssize_t r = read(STDIN_FILENO, tmp, sizeof(tmp));

			if (r > 0) {
				if (ctl_lines_add(&in, tmp, (size_t)r) < 0)
					ua_log(LOG_ERR, "out of memory: control input dropped");
				run_lines(&ua, &in, false, &out);
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* end of input: the last line, then stop as after quit */
				run_lines(&ua, &in, true, &out);
				stdin_open = false;
				ua.quit = true;
			}
		}
	}
	if (got_signal)
		ua_log(LOG_INFO, "signal %d: stopping", (int)got_signal);
	ua_log(LOG_INFO, "stopping: %zu subscription(s)%s; %lu datagrams in, %lu out, %lu retransmissions, %lu dropped",
	       sippres_sub_count(ua.ctx), ua.state_dir ? " kept in the state directory" : "", ua.rx, ua.tx,
	       ua.retransmits, ua.dropped);
	ctl_lines_free(&in);
	sbuf_free(&out);
	ua_fini(&ua);
	return 0;
}
