/* SPDX-License-Identifier: MIT */
/* sippres-loadgen: a SIP presence load generator for the wire benchmark.
 *
 * N subscribers each subscribe to M presentities (N x M dialogs) for one
 * event package and answer every NOTIFY with 200; K PUBLISHes to one
 * presentity follow one after another (each fans out to N NOTIFYs); then all
 * M presentities PUBLISH at once (a burst of N x M NOTIFYs); then every
 * dialog unsubscribes. It prints one JSON object with, per phase, the count,
 * the time, the rate, the server's and its own CPU seconds (from /proc), the
 * datagrams the server's socket dropped, retransmissions both ways, and for
 * the fan-out the latency from a PUBLISH sent to its Nth NOTIFY received.
 *
 * Loopback only (it refuses any other server address), bounded: each phase
 * ends after --timeout seconds whatever happened. Written in C with batched
 * system calls (recvmmsg, sendmmsg) over many sockets so that it is not the
 * bottleneck: its own CPU is reported to show the headroom.
 *
 * usage: sippres-loadgen --server 127.0.0.1:PORT [--server-pid PID] [-n N] [-m M] [-k K]
 *                        [--event presence|dialog] [--sockets S] [--window W] [--timeout SEC]
 *                        [--label NAME] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXMSG 65536
#define T1 0.5

enum phase { PH_PUBLISH0, PH_SUBSCRIBE, PH_FANOUT, PH_BURST, PH_UNSUBSCRIBE, PH_COUNT };
static const char *const phase_names[PH_COUNT] = {"initial_publish", "subscribe", "fanout", "burst", "unsubscribe"};

struct sub {
	uint32_t cseq;       /* our CSeq for SUBSCRIBE */
	uint32_t last_notify; /* highest NOTIFY CSeq seen */
	uint32_t gen;        /* the publish generation its last new NOTIFY counted for */
	uint8_t got200, gotnotify, done, failed, retries, unsub, term;
	double sent_at, next_rtx;
	char totag[48];
};

struct pres {
	char etag[96];
	uint32_t k;        /* PUBLISHes sent */
	uint8_t pending;   /* waiting for the final response */
	uint8_t retries;
	double sent_at, next_rtx;
};

struct phase_stat {
	double t0, t1;
	long count, errors, extra;
	double srv_cpu0, srv_cpu1, cli_cpu0, cli_cpu1;
	long drops0, drops1;
	long rtx_out, dup_in;
	double *lat;
	long nlat;
};

static struct {
	struct sockaddr_in server;
	int server_pid;
	int n, m, k, nsock, window;
	double timeout;
	const char *event, *label;
	bool dialog;
	int *fds;
	uint16_t *ports;
	int pubfd;
	uint16_t pubport;
	int ep;
	struct sub *subs;
	struct pres *pres;
	char host[64];
	uint32_t run;
	enum phase phase;
	uint32_t gen;        /* the current publish generation */
	long gen_count;      /* new NOTIFYs counted for the current generation */
	long gen_want;
	struct phase_stat st[PH_COUNT];
	/* outgoing batch per socket */
	struct mmsghdr *out_msgs;
	struct iovec *out_iov;
	char (*out_buf)[1024];
	struct sockaddr_in *out_addr;
	int *out_n;
	long sent_total, recv_total;
} g;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of pid, and its parent's pid */
static double proc_cpu(int pid, int *ppid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	int pp = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &pp, &ut, &st) != 3)
		return -1;
	if (ppid)
		*ppid = pp;
	/* the scheduler's run time in nanoseconds when the kernel keeps it (stat's utime and stime count
	 * 10 ms ticks: 1 us per item for a 10,000-item phase) */
	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if (f) {
		unsigned long long ns;
		int ok = fscanf(f, "%llu", &ns) == 1;

		fclose(f);
		if (ok)
			return (double)ns / 1e9;
	}
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of the server and of its child processes (Kamailio forks
 * workers; the mini UA is one process). */
static double server_cpu(void)
{
	double total;
	DIR *d;
	struct dirent *e;

	if (g.server_pid <= 0)
		return 0;
	total = proc_cpu(g.server_pid, NULL);
	if (total < 0)
		return 0;
	d = opendir("/proc");
	if (!d)
		return total;
	while ((e = readdir(d)) != NULL) {
		int pid = atoi(e->d_name), pp = 0;
		double c;

		if (pid <= 0 || pid == g.server_pid)
			continue;
		c = proc_cpu(pid, &pp);
		if (c >= 0 && pp == g.server_pid)
			total += c;
	}
	closedir(d);
	return total;
}

/* The drops counter of the server's UDP socket in /proc/net/udp. */
static long server_drops(void)
{
	char line[512];
	long drops = 0;
	unsigned port = ntohs(g.server.sin_port);
	FILE *f = fopen("/proc/net/udp", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned lport = 0;
		char *colon = strchr(line, ':');
		if (!colon || !(colon = strchr(colon + 1, ':')))
			continue;
		if (sscanf(colon + 1, "%x", &lport) != 1 || lport != port)
			continue;
		{
			/* the last field is drops */
			char *last = strrchr(line, ' ');
			if (last)
				drops += atol(last + 1);
		}
	}
	fclose(f);
	return drops;
}

static void phase_begin(enum phase p)
{
	struct phase_stat *s = &g.st[p];

	g.phase = p;
	s->t0 = now();
	s->srv_cpu0 = server_cpu();
	s->cli_cpu0 = self_cpu();
	s->drops0 = server_drops();
}

static void phase_end(enum phase p)
{
	struct phase_stat *s = &g.st[p];

	s->t1 = now();
	s->srv_cpu1 = server_cpu();
	s->cli_cpu1 = self_cpu();
	s->drops1 = server_drops();
}

/* ---- sending --------------------------------------------------------------------- */

static void flush(int si)
{
	int fd = si < g.nsock ? g.fds[si] : g.pubfd;
	int n = g.out_n[si], off = 0;

	while (off < n) {
		int r = sendmmsg(fd, g.out_msgs + (size_t)si * BATCH + off, (unsigned)(n - off), 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) {
				/* the kernel's queue is full: wait a little, the server reads it */
				struct timespec ts = {0, 200000};
				nanosleep(&ts, NULL);
				continue;
			}
			perror("sendmmsg");
			break;
		}
		off += r;
	}
	g.sent_total += n;
	g.out_n[si] = 0;
}

/* A buffer to format one datagram into, sent on socket si to dst (the
 * server when NULL) with the next flush. */
static char *out_slot(int si, const struct sockaddr_in *dst)
{
	int k;

	if (g.out_n[si] == BATCH)
		flush(si);
	k = si * BATCH + g.out_n[si];
	g.out_addr[k] = dst ? *dst : g.server;
	return g.out_buf[k];
}

static void out_commit(int si, size_t len)
{
	int k = si * BATCH + g.out_n[si];

	g.out_iov[k].iov_base = g.out_buf[k];
	g.out_iov[k].iov_len = len;
	memset(&g.out_msgs[k].msg_hdr, 0, sizeof(g.out_msgs[k].msg_hdr));
	g.out_msgs[k].msg_hdr.msg_name = &g.out_addr[k];
	g.out_msgs[k].msg_hdr.msg_namelen = sizeof(g.out_addr[k]);
	g.out_msgs[k].msg_hdr.msg_iov = &g.out_iov[k];
	g.out_msgs[k].msg_hdr.msg_iovlen = 1;
	g.out_n[si]++;
}

static void flush_all(void)
{
	for (int si = 0; si <= g.nsock; si++) {
		if (g.out_n[si])
			flush(si);
	}
}

static void send_subscribe(long i, bool unsub)
{
	struct sub *s = &g.subs[i];
	int u = (int)(i / g.m), p = (int)(i % g.m), si = u % g.nsock;
	char *o = out_slot(si, NULL);
	int len;

	len = snprintf(o, 1024,
	               "SUBSCRIBE sip:p%d@%s SIP/2.0\r\n"
	               "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKs%ldx%u;rport\r\n"
	               "Max-Forwards: 70\r\n"
	               "From: <sip:u%d@127.0.0.1>;tag=f%ld\r\n"
	               "To: <sip:p%d@%s>%s%s\r\n"
	               "Call-ID: lg%ld-%u\r\n"
	               "CSeq: %u SUBSCRIBE\r\n"
	               "Contact: <sip:u%d@127.0.0.1:%u>\r\n"
	               "Event: %s\r\n"
	               "Accept: %s\r\n"
	               "Expires: %d\r\n"
	               "Content-Length: 0\r\n\r\n",
	               p, g.host, g.ports[si], i, s->cseq, u, i, p, g.host, s->totag[0] ? ";tag=" : "", s->totag, i,
	               g.run, s->cseq, u, g.ports[si], g.event,
	               g.dialog ? "application/dialog-info+xml" : "application/pidf+xml", unsub ? 0 : 600);
	out_commit(si, (size_t)len);
	s->sent_at = now();
	s->next_rtx = s->sent_at + T1 * (1 << s->retries);
}

static void send_publish(int p)
{
	struct pres *pr = &g.pres[p];
	char body[600], ifm[140] = "";
	char *o = out_slot(g.nsock, NULL);
	int blen, len;
	uint32_t k = pr->k;

	if (g.dialog)
		blen = snprintf(body, sizeof(body),
		                "<?xml version=\"1.0\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" "
		                "version=\"%u\" state=\"full\" entity=\"sip:p%d@%s\">\n"
		                "<dialog id=\"d%d-%u\" call-id=\"c%d-%u\" local-tag=\"l%u\" remote-tag=\"r%u\"%s>"
		                "<state>%s</state></dialog>\n</dialog-info>\n",
		                k, p, g.host, p, k, p, k, k, k, k % 2 ? " direction=\"recipient\"" : "",
		                k % 2 ? "early" : "confirmed");
	else
		blen = snprintf(body, sizeof(body),
		                "<?xml version=\"1.0\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
		                "entity=\"sip:p%d@%s\">\n<tuple id=\"t1\"><status><basic>open</basic></status></tuple>\n"
		                "<note>state %u</note>\n</presence>\n",
		                p, g.host, k);
	if (pr->etag[0])
		snprintf(ifm, sizeof(ifm), "SIP-If-Match: %s\r\n", pr->etag);
	len = snprintf(o, 1024,
	               "PUBLISH sip:p%d@%s SIP/2.0\r\n"
	               "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKp%dx%u;rport\r\n"
	               "Max-Forwards: 70\r\n"
	               "From: <sip:pub@127.0.0.1>;tag=pub%d\r\n"
	               "To: <sip:p%d@%s>\r\n"
	               "Call-ID: pub%d-%u-%u\r\n"
	               "CSeq: 1 PUBLISH\r\n"
	               "Event: %s\r\n"
	               "Expires: 3600\r\n"
	               "%s"
	               "Content-Type: %s\r\n"
	               "Content-Length: %d\r\n\r\n%s",
	               p, g.host, g.pubport, p, k, p, p, g.host, p, k, g.run, g.event, ifm,
	               g.dialog ? "application/dialog-info+xml" : "application/pidf+xml", blen, body);
	out_commit(g.nsock, (size_t)len);
	pr->pending = 1;
	pr->sent_at = now();
	pr->next_rtx = pr->sent_at + T1 * (1 << pr->retries);
}

static void publish_new(int p)
{
	g.pres[p].retries = 0;
	send_publish(p);
}

/* ---- receiving ------------------------------------------------------------------- */

/* The value of header name (long or compact form) in msg, or NULL; *vlen its length. */
static const char *header(const char *msg, size_t len, const char *name, char compact, size_t *vlen)
{
	const char *p = memchr(msg, '\n', len), *end = msg + len;
	size_t nl = strlen(name);

	while (p && p + 1 < end) {
		const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line)), *v;

		if (!eol)
			eol = end;
		if (line[0] == '\r' || line[0] == '\n')
			return NULL; /* the body */
		if (((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0 && (line[nl] == ':' || line[nl] == ' ')) ||
		    (compact && tolower((unsigned char)line[0]) == compact && (line[1] == ':' || line[1] == ' '))) {
			v = memchr(line, ':', (size_t)(eol - line));
			if (v) {
				v++;
				while (v < eol && (*v == ' ' || *v == '\t'))
					v++;
				*vlen = (size_t)(eol - v);
				while (*vlen && (v[*vlen - 1] == '\r' || v[*vlen - 1] == ' '))
					(*vlen)--;
				return v;
			}
		}
		p = eol;
	}
	return NULL;
}

static bool param(const char *v, size_t vl, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl < vl; i++) {
		if (v[i] == ';' && strncasecmp(v + i + 1, name, nl) == 0 && v[i + 1 + nl] == '=') {
			size_t s = i + 2 + nl, e = s;
			while (e < vl && v[e] != ';' && v[e] != '>' && v[e] != ' ' && v[e] != ',')
				e++;
			if (e - s >= cap)
				return false;
			memcpy(out, v + s, e - s);
			out[e - s] = '\0';
			return true;
		}
	}
	return false;
}

/* 200 OK to a request: its Via, From, To, Call-ID and CSeq copied */
static void answer(int si, const struct sockaddr_in *src, const char *msg, size_t len)
{
	char *o = out_slot(si, src);
	size_t n = 0;
	const char *p = memchr(msg, '\n', len), *end = msg + len;

	n += (size_t)snprintf(o, 1024, "SIP/2.0 200 OK\r\n");
	while (p && p + 1 < end) {
		const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
		char c;
		if (!eol || line[0] == '\r' || line[0] == '\n')
			break;
		c = (char)tolower((unsigned char)line[0]);
		if (strncasecmp(line, "via", 3) == 0 || strncasecmp(line, "from", 4) == 0 || strncasecmp(line, "to", 2) == 0 ||
		    strncasecmp(line, "call-id", 7) == 0 || strncasecmp(line, "cseq", 4) == 0 ||
		    ((c == 'v' || c == 'f' || c == 't' || c == 'i') && (line[1] == ':' || line[1] == ' '))) {
			size_t l = (size_t)(eol - line) + 1;
			if (n + l + 32 >= 1024)
				break;
			memcpy(o + n, line, l);
			n += l;
		}
		p = eol;
	}
	n += (size_t)snprintf(o + n, 1024 - n, "Content-Length: 0\r\n\r\n");
	out_commit(si, n);
}

/* lg<i>-<run> -> i */
static long sub_of(const char *cid, size_t cl)
{
	char tmp[32];
	long i;
	char *e;

	if (cl < 3 || cl >= sizeof(tmp) || cid[0] != 'l' || cid[1] != 'g')
		return -1;
	memcpy(tmp, cid + 2, cl - 2);
	tmp[cl - 2] = '\0';
	i = strtol(tmp, &e, 10);
	if (*e != '-' || strtoul(e + 1, NULL, 10) != g.run || i < 0 || i >= (long)g.n * g.m)
		return -1;
	return i;
}

static void count_new_notify(long i, const char *msg, size_t len)
{
	struct sub *s = &g.subs[i];
	size_t vl;
	const char *ss = header(msg, len, "subscription-state", 0, &vl);

	s->gotnotify = 1;
	if (s->unsub && ss && vl >= 10 && strncasecmp(ss, "terminated", 10) == 0)
		s->term = 1;
	if ((g.phase == PH_FANOUT && i % g.m == 0) || g.phase == PH_BURST) {
		if (s->gen != g.gen) {
			s->gen = g.gen;
			g.gen_count++;
		} else {
			g.st[g.phase].extra++;
		}
	}
}

static void on_message(int si, const struct sockaddr_in *src, char *msg, size_t len)
{
	size_t cl, csl;
	const char *cid = header(msg, len, "call-id", 'i', &cl), *cseq = header(msg, len, "cseq", 0, &csl);

	g.recv_total++;
	if (!cid || !cseq)
		return;
	if (len > 7 && memcmp(msg, "NOTIFY ", 7) == 0) {
		long i = sub_of(cid, cl);
		uint32_t n = (uint32_t)strtoul(cseq, NULL, 10);

		answer(si, src, msg, len);
		if (i < 0)
			return;
		if (!g.subs[i].totag[0]) {
			size_t fl;
			const char *from = header(msg, len, "from", 'f', &fl);
			if (from)
				param(from, fl, "tag", g.subs[i].totag, sizeof(g.subs[i].totag));
		}
		if (n <= g.subs[i].last_notify && g.subs[i].last_notify) {
			g.st[g.phase].dup_in++;
			return;
		}
		g.subs[i].last_notify = n;
		count_new_notify(i, msg, len);
		return;
	}
	if (len > 8 && memcmp(msg, "SIP/2.0 ", 8) == 0) {
		int code = atoi(msg + 8);
		if (code < 200)
			return;
		if (cl > 3 && memcmp(cid, "pub", 3) == 0) {
			int p = atoi(cid + 3);
			size_t el;
			const char *etag;
			if (p < 0 || p >= g.m || !g.pres[p].pending)
				return;
			g.pres[p].pending = 0;
			if (code >= 300) {
				g.st[g.phase].errors++;
				g.pres[p].etag[0] = '\0';
				return;
			}
			etag = header(msg, len, "sip-etag", 0, &el);
			if (etag && el < sizeof(g.pres[p].etag)) {
				memcpy(g.pres[p].etag, etag, el);
				g.pres[p].etag[el] = '\0';
			}
			if (g.phase == PH_PUBLISH0)
				g.st[g.phase].count++;
			return;
		}
		{
			long i = sub_of(cid, cl);
			struct sub *s;
			if (i < 0)
				return;
			s = &g.subs[i];
			if ((uint32_t)strtoul(cseq, NULL, 10) != s->cseq || s->got200 || s->failed)
				return;
			if (code >= 300) {
				s->failed = 1;
				s->done = 1;
				g.st[g.phase].errors++;
				return;
			}
			s->got200 = 1;
			if (!s->totag[0]) {
				size_t tl;
				const char *to = header(msg, len, "to", 't', &tl);
				if (to)
					param(to, tl, "tag", s->totag, sizeof(s->totag));
			}
		}
	}
}

static void poll_once(int timeout_ms)
{
	struct epoll_event ev[64];
	int n = epoll_wait(g.ep, ev, 64, timeout_ms);
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static struct sockaddr_in addr[BATCH];
	static char (*bufs)[MAXMSG];

	if (!bufs)
		bufs = malloc(sizeof(*bufs) * BATCH);
	for (int e = 0; e < n; e++) {
		int si = (int)ev[e].data.u32, fd = si < g.nsock ? g.fds[si] : g.pubfd;
		for (;;) {
			int r;
			for (int k = 0; k < BATCH; k++) {
				iov[k].iov_base = bufs[k];
				iov[k].iov_len = MAXMSG - 1;
				memset(&msgs[k].msg_hdr, 0, sizeof(msgs[k].msg_hdr));
				msgs[k].msg_hdr.msg_name = &addr[k];
				msgs[k].msg_hdr.msg_namelen = sizeof(addr[k]);
				msgs[k].msg_hdr.msg_iov = &iov[k];
				msgs[k].msg_hdr.msg_iovlen = 1;
			}
			r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
			if (r <= 0)
				break;
			for (int k = 0; k < r; k++) {
				bufs[k][msgs[k].msg_len] = '\0';
				on_message(si, &addr[k], bufs[k], msgs[k].msg_len);
			}
			flush_all();
			if (r < BATCH)
				break;
		}
	}
	flush_all();
}

/* ---- phases ---------------------------------------------------------------------- */

static bool timed_out(enum phase p)
{
	return now() - g.st[p].t0 > g.timeout;
}

static void run_publish0(void)
{
	phase_begin(PH_PUBLISH0);
	for (int p = 0; p < g.m; p++) {
		publish_new(p);
		g.pres[p].k++;
	}
	flush_all();
	while (g.st[PH_PUBLISH0].count + g.st[PH_PUBLISH0].errors < g.m && !timed_out(PH_PUBLISH0)) {
		double t = now();
		poll_once(10);
		for (int p = 0; p < g.m; p++) {
			if (g.pres[p].pending && t > g.pres[p].next_rtx && g.pres[p].retries < 6) {
				g.pres[p].retries++;
				g.pres[p].k--;
				send_publish(p);
				g.pres[p].k++;
				g.st[PH_PUBLISH0].rtx_out++;
			}
		}
		flush_all();
	}
	phase_end(PH_PUBLISH0);
}

/* SUBSCRIBE (or un-SUBSCRIBE) every dialog, at most window outstanding. */
static void run_subscribe(enum phase ph, bool unsub)
{
	long total = (long)g.n * g.m, next = 0, outstanding = 0, done = 0;
	struct phase_stat *st = &g.st[ph];

	phase_begin(ph);
	for (long i = 0; i < total; i++) {
		struct sub *s = &g.subs[i];
		s->done = 0;
		s->got200 = 0;
		s->retries = 0;
		s->unsub = unsub;
		if (unsub) {
			s->cseq++;
			s->gotnotify = 0;
			s->term = 0;
		}
	}
	while (done < total && !timed_out(ph)) {
		double t;
		while (next < total && outstanding < g.window) {
			if (g.subs[next].failed) {
				next++;
				continue;
			}
			send_subscribe(next++, unsub);
			outstanding++;
		}
		flush_all();
		poll_once(5);
		t = now();
		/* complete: 200 and a NOTIFY (a terminated one when unsubscribing) */
		outstanding = 0;
		done = 0;
		for (long i = 0; i < next; i++) {
			struct sub *s = &g.subs[i];
			if (!s->done && s->got200 && (unsub ? s->term : s->gotnotify))
				s->done = 1;
			if (s->done || s->failed) {
				done++;
				continue;
			}
			outstanding++;
			if (!s->got200 && t > s->next_rtx) {
				if (s->retries >= 6) {
					s->failed = 1;
					st->errors++;
					continue;
				}
				s->retries++;
				send_subscribe(i, unsub);
				st->rtx_out++;
			}
		}
	}
	st->count = 0;
	for (long i = 0; i < total; i++)
		st->count += g.subs[i].done && !g.subs[i].failed;
	phase_end(ph);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* K PUBLISHes to presentity 0, one after another: each waits for its N NOTIFYs */
static void run_fanout(void)
{
	struct phase_stat *st = &g.st[PH_FANOUT];

	phase_begin(PH_FANOUT);
	st->lat = calloc((size_t)g.k + 1, sizeof(double));
	for (int k = 0; k < g.k && !timed_out(PH_FANOUT); k++) {
		double t0;
		g.gen++;
		g.gen_count = 0;
		g.gen_want = g.n;
		publish_new(0);
		g.pres[0].k++;
		flush_all();
		t0 = now();
		while (g.gen_count < g.gen_want && !timed_out(PH_FANOUT)) {
			poll_once(5);
			if (g.pres[0].pending && now() > g.pres[0].next_rtx && g.pres[0].retries < 6) {
				g.pres[0].retries++;
				g.pres[0].k--;
				send_publish(0);
				g.pres[0].k++;
				st->rtx_out++;
				flush_all();
			}
		}
		if (g.gen_count == g.gen_want)
			st->lat[st->nlat++] = now() - t0;
		st->count += g.gen_count;
		/* the PUBLISH's own answer, for its entity-tag */
		while (g.pres[0].pending && !timed_out(PH_FANOUT))
			poll_once(5);
	}
	phase_end(PH_FANOUT);
}

/* every presentity PUBLISHes at once: N x M NOTIFYs */
static void run_burst(void)
{
	struct phase_stat *st = &g.st[PH_BURST];

	g.gen++;
	g.gen_count = 0;
	g.gen_want = (long)g.n * g.m;
	phase_begin(PH_BURST);
	for (int p = 0; p < g.m; p++) {
		publish_new(p);
		g.pres[p].k++;
	}
	flush_all();
	while (g.gen_count < g.gen_want && !timed_out(PH_BURST)) {
		double t;
		poll_once(5);
		t = now();
		for (int p = 0; p < g.m; p++) {
			if (g.pres[p].pending && t > g.pres[p].next_rtx && g.pres[p].retries < 6) {
				g.pres[p].retries++;
				g.pres[p].k--;
				send_publish(p);
				g.pres[p].k++;
				st->rtx_out++;
			}
		}
		flush_all();
	}
	st->count = g.gen_count;
	phase_end(PH_BURST);
	/* the PUBLISH answers that are still on their way */
	for (double t = now(); now() - t < 1.0;) {
		bool any = false;
		for (int p = 0; p < g.m; p++)
			any = any || g.pres[p].pending;
		if (!any)
			break;
		poll_once(5);
	}
}

/* ---- setup and report ------------------------------------------------------------ */

static int udp_socket(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), size = 8 << 20;

	if (fd < 0) {
		perror("socket");
		exit(2);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		perror("bind");
		exit(2);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void add_epoll(int fd, uint32_t si)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = si};

	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		perror("epoll_ctl");
		exit(2);
	}
}

static void report(void)
{
	printf("{\"label\": \"%s\", \"event\": \"%s\", \"n\": %d, \"m\": %d, \"k\": %d, \"sockets\": %d, "
	       "\"datagrams_sent\": %ld, \"datagrams_received\": %ld",
	       g.label, g.event, g.n, g.m, g.k, g.nsock, g.sent_total, g.recv_total);
	for (int p = 0; p < PH_COUNT; p++) {
		struct phase_stat *s = &g.st[p];
		double secs = s->t1 - s->t0, srv = s->srv_cpu1 - s->srv_cpu0, cli = s->cli_cpu1 - s->cli_cpu0;
		printf(", \"%s\": {\"start_monotonic\": %.4f, \"count\": %ld, \"seconds\": %.4f, \"rate\": %.1f, \"server_cpu_s\": %.3f, "
		       "\"client_cpu_s\": %.3f, \"server_cpu_us_per_item\": %.2f, \"drops\": %ld, \"retransmits_sent\": %ld, "
		       "\"duplicates_received\": %ld, \"extra\": %ld, \"errors\": %ld",
		       phase_names[p], s->t0, s->count, secs, secs > 0 ? (double)s->count / secs : 0.0, srv, cli,
		       s->count ? srv * 1e6 / (double)s->count : 0.0, s->drops1 - s->drops0, s->rtx_out, s->dup_in, s->extra,
		       s->errors);
		if (s->nlat) {
			qsort(s->lat, (size_t)s->nlat, sizeof(double), cmp_double);
			printf(", \"latency_p50_ms\": %.3f, \"latency_p99_ms\": %.3f, \"latency_max_ms\": %.3f",
			       s->lat[s->nlat / 2] * 1e3, s->lat[(s->nlat * 99) / 100 < s->nlat ? (s->nlat * 99) / 100 : s->nlat - 1] * 1e3,
			       s->lat[s->nlat - 1] * 1e3);
		}
		printf("}");
	}
	printf("}\n");
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: sippres-loadgen --server 127.0.0.1:PORT [--server-pid PID] [-n N] [-m M] [-k K]\n"
	                "                       [--event presence|dialog] [--sockets S] [--window W] [--timeout SEC]\n"
	                "                       [--label NAME]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *server = NULL;

	g.n = 1000;
	g.m = 10;
	g.k = 20;
	g.nsock = 8;
	g.window = 256;
	g.timeout = 60;
	g.event = "presence";
	g.label = "server";
	for (int i = 1; i < argc; i += 2) { /* every option takes a value */
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		if (!strcmp(a, "--server"))
			server = v;
		else if (!strcmp(a, "--server-pid"))
			g.server_pid = atoi(v);
		else if (!strcmp(a, "-n"))
			g.n = atoi(v);
		else if (!strcmp(a, "-m"))
			g.m = atoi(v);
		else if (!strcmp(a, "-k"))
			g.k = atoi(v);
		else if (!strcmp(a, "--event"))
			g.event = v;
		else if (!strcmp(a, "--sockets"))
			g.nsock = atoi(v);
		else if (!strcmp(a, "--window"))
			g.window = atoi(v);
		else if (!strcmp(a, "--timeout"))
			g.timeout = atof(v);
		else if (!strcmp(a, "--label"))
			g.label = v;
		else
			usage();
	}
	if (!server || g.n < 1 || g.m < 1 || g.k < 0 || g.nsock < 1 || g.nsock > 256 || g.window < 1 ||
	    (long)g.n * g.m > 2000000 || g.timeout <= 0 || g.timeout > 600)
		usage();
	g.dialog = strcmp(g.event, "dialog") == 0;
	if (!g.dialog && strcmp(g.event, "presence") != 0)
		usage();
	{
		char host[64];
		const char *colon = strrchr(server, ':');
		if (!colon || (size_t)(colon - server) >= sizeof(host))
			usage();
		memcpy(host, server, (size_t)(colon - server));
		host[colon - server] = '\0';
		g.server.sin_family = AF_INET;
		g.server.sin_port = htons((uint16_t)atoi(colon + 1));
		if (inet_pton(AF_INET, host, &g.server.sin_addr) != 1 || (ntohl(g.server.sin_addr.s_addr) >> 24) != 127) {
			fprintf(stderr, "sippres-loadgen: the server must be a 127.x.x.x address (loopback only)\n");
			return 2;
		}
		snprintf(g.host, sizeof(g.host), "%s", server);
	}
	g.run = (uint32_t)getpid();
	g.subs = calloc((size_t)g.n * g.m, sizeof(*g.subs));
	g.pres = calloc((size_t)g.m, sizeof(*g.pres));
	g.fds = calloc((size_t)g.nsock, sizeof(int));
	g.ports = calloc((size_t)g.nsock, sizeof(uint16_t));
	g.out_msgs = calloc((size_t)(g.nsock + 1) * BATCH, sizeof(*g.out_msgs));
	g.out_iov = calloc((size_t)(g.nsock + 1) * BATCH, sizeof(*g.out_iov));
	g.out_buf = calloc((size_t)(g.nsock + 1) * BATCH, sizeof(*g.out_buf));
	g.out_addr = calloc((size_t)(g.nsock + 1) * BATCH, sizeof(*g.out_addr));
	g.out_n = calloc((size_t)g.nsock + 1, sizeof(int));
	if (!g.subs || !g.pres || !g.fds || !g.ports || !g.out_msgs || !g.out_iov || !g.out_buf || !g.out_addr ||
	    !g.out_n)
		return 2;
	for (long i = 0; i < (long)g.n * g.m; i++)
		g.subs[i].cseq = 1;
	g.ep = epoll_create1(0);
	for (int si = 0; si < g.nsock; si++) {
		g.fds[si] = udp_socket(&g.ports[si]);
		add_epoll(g.fds[si], (uint32_t)si);
	}
	g.pubfd = udp_socket(&g.pubport);
	add_epoll(g.pubfd, (uint32_t)g.nsock);

	run_publish0();
	run_subscribe(PH_SUBSCRIBE, false);
	run_fanout();
	run_burst();
	run_subscribe(PH_UNSUBSCRIBE, true);
	report();
	return 0;
}
