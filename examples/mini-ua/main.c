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
#include "transport.h"

static volatile sig_atomic_t got_signal, got_hup;

/* Blocked outside ppoll(), so a signal is never lost between the loop's check and its wait. */
static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sippres-mini-ua --listen ADDR:PORT --extensions FILE --pjsip FILE [--state-dir DIR]\n"
	           "                      [--max-records N] [--control PATH] [--eid XX:XX:XX:XX:XX:XX] [--t1 MS]\n"
	           "                      [--max-subscriptions N] [--max-subscriptions-per-endpoint N]\n"
	           "                      [--max-subscriptions-per-source N] [--rate-per-source N]\n"
	           "                      [--max-response-cache N] [--notify-contact match|source|any]\n"
	           "                      [--redis HOST:PORT --node-id NAME [--redis-lease MS]] [-v|--verbose]...\n"
	           "       sippres-mini-ua -rx COMMAND [--control PATH]\n"
	           "  --listen ADDR:PORT   UDP address to serve: 127.0.0.1:5070, [::1]:5070, 0.0.0.0:5060 (port 0: any)\n"
	           "  --extensions FILE    Asterisk extensions.conf with the hints\n"
	           "  --pjsip FILE         Asterisk pjsip.conf with the endpoints\n"
	           "  --state-dir DIR      keep subscriptions (and device/presence states) across restarts\n"
	           "  --max-records N      with --state-dir: store at most N subscriptions (default %d; more are\n"
	           "                       served but not stored)\n"
	           "  --control PATH       also take the control commands on this Unix socket (then the end of\n"
	           "                       standard input does not stop the server)\n"
	           "  -rx COMMAND          send one command to a running server's --control socket, print the reply\n"
	           "                       (default PATH " CTL_DEFAULT_PATH "; exit 0 OK, 1 ERR, 2 no connection)\n"
	           "  --eid EID            entity id of the asterisk-devicestate states this server publishes (six\n"
	           "                       hex pairs, 02:00:00:00:00:01; default: a random one per start)\n"
	           "  --t1 MS              SIP timer T1 for NOTIFY and PUBLISH retransmission (default 500; for tests)\n"
	           "  --redis HOST:PORT    one node of a cluster sharing state and subscriptions through this Redis\n"
	           "                       (docs/cluster.md); needs --node-id\n"
	           "  --node-id NAME       this node's id in the cluster, unique: letters, digits, - . _ :\n"
	           "  --redis-lease MS     how long a silent node keeps its subscribers before another takes them\n"
	           "                       over (default 3000)\n",
	        STORE_MAX_RECORDS_DEFAULT);
	/* (two strings: one would pass the 4095 bytes C99 promises) */
	fprintf(f, "  --max-connections N  TCP and TLS connections at most (default %d; pjsip.conf type=transport)\n"
	           "  --max-connections-per-source N\n"
	           "                       connections from one address at most (default %d)\n"
	           "  --connection-idle-timeout S\n"
	           "                       close a connection idle this long (default %d s)\n"
	           "Limits (docs/security.md; 0 turns one off; also keys of pjsip.conf's type=global section,\n"
	           "max_subscriptions ... notify_contact, which these options override):\n"
	           "  --max-subscriptions N               subscriptions in all (default %d); past it: 503\n"
	           "  --max-subscriptions-per-endpoint N  per endpoint (default %d); past it: 503\n"
	           "  --max-subscriptions-per-source N    per source IP address (default %d); past it: 503\n"
	           "  --rate-per-source N                 requests a second from one IP address, bursts of 2N\n"
	           "                                      (default %d); more are dropped unanswered\n"
	           "  --max-response-cache N              answers kept for retransmitted requests (default %d)\n"
	           "  --notify-contact match|source|any   where NOTIFYs go (default match: the Contact when it is\n"
	           "                                      the SUBSCRIBE's source, else only once the subscriber has\n"
	           "                                      sent a request in the dialog; source: the SUBSCRIBE's\n"
	           "                                      source address; any: the Contact, on trusted networks)\n"
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
	           "  pjsip show publications\n"
	           "  dialplan reload | module reload | core reload   (also SIGHUP: extensions.conf and pjsip.conf again)\n"
	           "  quit                 (also SIGTERM, SIGINT)\n"
	           "The subscriber mode: sippres-mini-ua subscribe URI ... (sippres-mini-ua subscribe --help)\n",
	        STREAM_MAX_CONNS_DEFAULT, STREAM_MAX_PER_SOURCE_DEFAULT, STREAM_IDLE_DEFAULT_S,
	        LIMITS_MAX_SUBS, LIMITS_MAX_SUBS_PER_ENDPOINT, LIMITS_MAX_SUBS_PER_SOURCE, LIMITS_RATE_PER_SOURCE,
	        STX_MAX_DEFAULT);
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
	{
		int got = 0;
		socklen_t gl = sizeof(got);

		/* the kernel doubles what it grants; without root it is capped by net.core.rmem_max */
		if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got < size)
			ua_log(LOG_WARN, "receive buffer %d bytes, not %d (sysctl net.core.rmem_max): a NOTIFY burst may "
			       "lose answers", got / 2, size);
	}
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

/* Run the whole lines buffered (at eof also an unterminated last one) as one batch: their records are stored
 * together, then their NOTIFYs go out, then their replies. */
static void run_lines(struct ua *ua, struct ctl_lines *in, bool eof, struct sbuf *out)
{
	char *line;
	int r;

	while (!ua->quit && (r = ctl_lines_next(in, eof, &line)) != 0) {
		if (r < 0)
			sbuf_add(out, "ERR line too long\n", 18);
		else
			ua_command(ua, line, out);
	}
	ua_flush(ua);
	flush_replies(out);
}

/* At quit: the outbound publishes' removals (Expires: 0), and the loop over the socket and the timers until
 * they are answered or OUTPUB_QUIT_MS have passed. */
static void remove_publications(struct ua *ua, const sigset_t *waitmask)
{
	uint64_t deadline = ua_now_mono_ms() + OUTPUB_QUIT_MS, now;

	outpub_end_all(ua);
	while (ua->outpubs_ending && (now = ua_now_mono_ms()) < deadline) {
		struct pollfd p = {.fd = ua->fd, .events = POLLIN};
		int ms = ua_poll_timeout(ua);

		if (ms < 0 || (uint64_t)ms > deadline - now)
			ms = (int)(deadline - now);
		if (ppoll(&p, 1, &(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, waitmask) > 0 &&
		    (p.revents & POLLIN))
			ua_recv_all(ua, 256, on_datagram);
		ua_run_timers(ua);
	}
	if (ua->outpubs_ending)
		ua_log(LOG_WARN, "stopping: an outbound publication not removed within %d ms", OUTPUB_QUIT_MS);
}

/* A decimal number from 1 to max. */
static int parse_number(const char *arg, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (end == arg || *end || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Long options without a short letter (--redis, --node-id, --redis-lease: cluster.c). */
enum { OPT_REDIS = 256, OPT_NODE_ID, OPT_REDIS_LEASE };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"extensions", required_argument, NULL, 'e'},
		{"pjsip", required_argument, NULL, 'p'},  {"state-dir", required_argument, NULL, 's'},
		{"t1", required_argument, NULL, 't'},     {"verbose", no_argument, NULL, 'v'},
		{"control", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'},
		{"max-records", required_argument, NULL, 'm'}, {"eid", required_argument, NULL, 'E'},
		{"max-connections", required_argument, NULL, 1001},
		{"max-connections-per-source", required_argument, NULL, 1002},
		{"connection-idle-timeout", required_argument, NULL, 1003},
		{"max-subscriptions", required_argument, NULL, 'S'},
		{"max-subscriptions-per-endpoint", required_argument, NULL, 'P'},
		{"max-subscriptions-per-source", required_argument, NULL, 'Q'},
		{"rate-per-source", required_argument, NULL, 'R'},
		{"max-response-cache", required_argument, NULL, 'C'},
		{"notify-contact", required_argument, NULL, 'N'},
		{"redis", required_argument, NULL, OPT_REDIS}, {"node-id", required_argument, NULL, OPT_NODE_ID},
		{"redis-lease", required_argument, NULL, OPT_REDIS_LEASE},
		{NULL, 0, NULL, 0},
	};
	const char *listen = NULL, *extensions = NULL, *pjsip = NULL, *state_dir = NULL, *control = NULL, *eid = NULL;
	const char *redis = NULL, *node_id = NULL;
	unsigned long redis_lease = 0;
	struct ctl_server ctl = {.fd = -1};
	sigset_t block, waitmask;
	unsigned long t1 = 500, max_records = 0, max_cache = STX_MAX_DEFAULT, max_conns = STREAM_MAX_CONNS_DEFAULT,
	              max_per_source = STREAM_MAX_PER_SOURCE_DEFAULT, idle_s = STREAM_IDLE_DEFAULT_S;
	struct pollfd *pfd = NULL;
	size_t pfd_cap = 0;
	struct limits_conf lc;
	int notify_contact = UA_CONTACT_MATCH;
	unsigned opts_given = 0;
	struct sigaction sa;
	struct ctl_lines in;
	struct sbuf out;
	bool stdin_open = true;
	char reload_err[1280];
	struct ua ua;
	int o;

	if (argc > 1 && strcmp(argv[1], "subscribe") == 0)
		return subscriber_main(argc - 1, argv + 1);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-rx") == 0)
			return ctl_client_main(argc, argv);
	}
	limits_conf_defaults(&lc);
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		unsigned long *limit = NULL;
		const char *what = NULL;

		switch (o) {
		case 'S': limit = &lc.max_subs; what = "--max-subscriptions"; opts_given |= UA_OPT_MAX_SUBS; break;
		case 'P':
			limit = &lc.max_subs_per_endpoint;
			what = "--max-subscriptions-per-endpoint";
			opts_given |= UA_OPT_MAX_SUBS_EP;
			break;
		case 'Q':
			limit = &lc.max_subs_per_source;
			what = "--max-subscriptions-per-source";
			opts_given |= UA_OPT_MAX_SUBS_SRC;
			break;
		case 'R': limit = &lc.rate_per_source; what = "--rate-per-source"; opts_given |= UA_OPT_RATE; break;
		case 'C': limit = &max_cache; what = "--max-response-cache"; opts_given |= UA_OPT_CACHE; break;
		case 'N':
			opts_given |= UA_OPT_CONTACT;
			if (strcmp(optarg, "match") == 0) {
				notify_contact = UA_CONTACT_MATCH;
			} else if (strcmp(optarg, "source") == 0) {
				notify_contact = UA_CONTACT_SOURCE;
			} else if (strcmp(optarg, "any") == 0) {
				notify_contact = UA_CONTACT_ANY;
			} else {
				fprintf(stderr, "--notify-contact: match, source or any\n");
				return 2;
			}
			break;
		case 'l': listen = optarg; break;
		case 'e': extensions = optarg; break;
		case 'p': pjsip = optarg; break;
		case 's': state_dir = optarg; break;
		case 'c': control = optarg; break;
		case 'E': eid = optarg; break;
		case OPT_REDIS: redis = optarg; break;
		case OPT_NODE_ID: node_id = optarg; break;
		case OPT_REDIS_LEASE:
			if (parse_number(optarg, 3600000, &redis_lease) < 0 || redis_lease < 200) {
				fprintf(stderr, "--redis-lease: milliseconds from 200 to 3600000\n");
				return 2;
			}
			break;
		case 't':
			if (parse_number(optarg, 60000, &t1) < 0) {
				fprintf(stderr, "--t1: milliseconds from 1 to 60000\n");
				return 2;
			}
			break;
		case 'm':
			if (parse_number(optarg, 10000000, &max_records) < 0) {
				fprintf(stderr, "--max-records: a count from 1 to 10000000\n");
				return 2;
			}
			break;
		case 1001:
		case 1002:
		case 1003:
			if (parse_number(optarg, o == 1003 ? 86400 : 1000000,
			                 o == 1001 ? &max_conns : o == 1002 ? &max_per_source : &idle_s) < 0) {
				fprintf(stderr, "--%s: a number from 1 to %d\n", o == 1001 ? "max-connections"
				                : o == 1002 ? "max-connections-per-source" : "connection-idle-timeout",
				        o == 1003 ? 86400 : 1000000);
				return 2;
			}
			break;
		case 'v': ua_verbosity++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (limit && (strcmp(optarg, "0") == 0 ? (*limit = 0, 0) : parse_number(optarg, 100000000, limit)) < 0) {
			fprintf(stderr, "%s: a count from 0 (no limit) to 100000000\n", what);
			return 2;
		}
	}
	if (optind != argc || !listen || !extensions || !pjsip || !redis != !node_id) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);

	sipmsg_init();
	if (ua_init(&ua, (uint32_t)t1, state_dir != NULL) < 0 || ua_set_limits(&ua, &lc) < 0)
		return 1;
	ua.stx.max = max_cache;
	ua.notify_contact = notify_contact;
	ua.opts_given = opts_given;
	if (eid && sippres_ctx_set_eid(ua.ctx, eid) < 0) {
		fprintf(stderr, "--eid: six hex pairs joined by ':', such as 02:00:00:00:00:01\n");
		ua_fini(&ua);
		return 2;
	}
	if (open_socket(&ua, listen) < 0 || ua_config_load(&ua, extensions, pjsip) < 0 ||
	    (state_dir && store_open(&ua, state_dir, max_records) < 0) ||
	    store_load(&ua) < 0 || (control && ctl_server_open(&ctl, control) < 0) ||
	    streams_open(&ua, ua.transports,
	                 &(struct stream_limits){(unsigned)max_conns, (unsigned)max_per_source, (unsigned)idle_s}) < 0 ||
	    (redis && cluster_open(&ua, redis, node_id, redis_lease) < 0)) {
		ctl_server_close(&ctl);
		ua_fini(&ua);
		return 1;
	}
	ua_adopt_restored(&ua);
	/* every outbound publish: a refresh request and the current states, now that the stored ones are back */
	outpub_resync_all(&ua);
	ua_log(LOG_INFO, "listening on udp %s (libsippresence %s, eid %s)", ua.local_str, sippres_version_string(),
	       sippres_ctx_get_eid(ua.ctx));
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	ctl_lines_init(&in, 0);
	sbuf_init(&out);

	while (!ua.quit && !got_signal) {
		struct pollfd p[3 + CTL_MAX_CLIENTS + CLUSTER_MAX_FDS] = {
			{.fd = ua.fd, .events = POLLIN}, {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
		size_t nctl = ctl_server_pollfds(&ctl, p + 2), ncl, nst = 0, np;
		struct pollfd *sp;
		int n, ms, sms;

		if (got_hup) {
			got_hup = 0;
			ua_log(LOG_INFO, "SIGHUP: reloading %s and %s", ua.extensions_path, ua.pjsip_path);
			if (ua_reload(&ua, &out, reload_err, sizeof(reload_err)) == 0)
				ua_flush(&ua);
			out.len = 0; /* the summary went to the log */
		}
		ua_run_timers(&ua);
		streams_run_timers(&ua);
		ms = ua_poll_timeout(&ua);
		sms = streams_timeout(&ua);
		if (sms >= 0 && (ms < 0 || sms < ms))
			ms = sms;
		sp = streams_pollfds(&ua, &nst); /* after the timers, which may close connections */
		ncl = cluster_pollfds(&ua, p + 2 + nctl); /* --redis: the adapter's sockets */
		/* one array: the socket, standard input, the control clients, Redis, the stream transports */
		np = 2 + nctl + ncl + nst;
		if (np > pfd_cap) {
			struct pollfd *grown = realloc(pfd, np * sizeof(*pfd));

			if (!grown) {
				ua_log(LOG_ERR, "out of memory: stream connections not polled");
				np = 2 + nctl + ncl;
				nst = 0;
			} else {
				pfd = grown;
				pfd_cap = np;
			}
		}
		if (pfd) {
			memcpy(pfd, p, (2 + nctl + ncl) * sizeof(*p));
			if (nst)
				memcpy(pfd + 2 + nctl + ncl, sp, nst * sizeof(*sp));
		}
		n = ppoll(pfd ? pfd : p, np, ms < 0 ? NULL : &(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, &waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ua_log(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd)
			memcpy(p, pfd, (2 + nctl + ncl) * sizeof(*p));
		if (nst)
			streams_handle(&ua, pfd + 2 + nctl + ncl, nst);
		if (p[0].revents & POLLIN)
			ua_recv_all(&ua, 256, on_datagram); /* a batch, then timers and control get their turn */
		cluster_handle(&ua, p + 2 + nctl, ncl);
		if (stdin_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
			char tmp[4096];
			ssize_t r = read(STDIN_FILENO, tmp, sizeof(tmp));

			if (r > 0) {
				if (ctl_lines_add(&in, tmp, (size_t)r) < 0)
					ua_log(LOG_ERR, "out of memory: control input dropped");
				run_lines(&ua, &in, false, &out);
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* end of input: the last line, then stop as after quit; with --control the socket stays */
				run_lines(&ua, &in, true, &out);
				stdin_open = false;
				if (ctl.fd < 0)
					ua.quit = true;
				else
					ua_log(LOG_DEBUG, "end of standard input: commands on %s only", ctl.path);
			}
		}
		if (!ua.quit)
			ctl_server_handle(&ctl, &ua, p + 2, nctl);
	}
	if (got_signal)
		ua_log(LOG_INFO, "signal %d: stopping", (int)got_signal);
	remove_publications(&ua, &waitmask);
	ua_log(LOG_INFO, "stopping: %zu subscription(s)%s; %lu datagrams in, %lu out, %lu retransmissions, %lu dropped "
	       "(%lu over a source's rate), %lu SUBSCRIBEs over a limit, %lu NOTIFYs held, %lu cached answers evicted, "
	       "%lu read during send bursts, %lu NOTIFYs written when the window had room (%lu into a reused block)",
	       sippres_sub_count(ua.ctx), ua.state_dir ? " kept in the state directory" : "", ua.rx, ua.tx,
	       ua.retransmits, ua.dropped, ua.limits.rate_dropped, ua.refused, ua.held, ua.stx.evicted, ua.early_reads,
	       ua.ntx.pend_sent, ua.ntx.pool_reused);
	ctl_server_close(&ctl);
	ctl_lines_free(&in);
	sbuf_free(&out);
	free(pfd);
	ua_fini(&ua);
	return 0;
}
