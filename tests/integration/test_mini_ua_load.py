#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Load and soak of sippres-mini-ua on loopback (issue 11), bounded in count and time.

usage: test_mini_ua_load.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples [--duration 60]
  --duration 60 is the CI version (meson test mini-ua-load, suite 'soak'); --duration 3600 is the one-hour
  soak (bench/mini-ua-soak.sh), not run in CI.

Three parts, TAP:
  flood  rounds for --duration seconds: from 127.0.0.1, valid SUBSCRIBEs (distinct Call-IDs, up to the
         limits, NOTIFYs answered), malformed datagrams, oversized headers, PUBLISHes; meanwhile 20
         legitimate subscribers on 127.0.0.2 must get a NOTIFY for every state change and an OPTIONS must be
         answered; each round ends with every flood subscription unsubscribed, the count back to the 20, and
         the UA's resident memory measured (T1 is 100 ms, so the answers cached for retransmissions, 64*T1,
         are gone within a round). From the second round on the memory must not grow by more than
         10 % + 2 MB.
  burst  on a UA of its own (T1 500 ms): 1,000 subscriptions (10 sockets on 127.0.0.3), 10 device changes
         piped at once: 10,000 NOTIFYs, and not one datagram dropped on the server's socket (/proc/net/udp);
         more than the window (1,024 unanswered) wait for room: each dialog's NOTIFYs arrive in CSeq order
         and its last one has the last state, and 100 dialogs that unsubscribe while theirs wait end with
         their terminated NOTIFY, last.
  end    the UA stops cleanly (exit 0)."""

import argparse
import os
import random
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taprun  # noqa: E402
import test_mini_ua as tmu  # noqa: E402
from sipclient import Client, Msg, token  # noqa: E402
from taprun import check  # noqa: E402

DURATION = 60
STATE = {}


def rss_kb(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def udp_drops(port):
    with open('/proc/net/udp') as f:
        next(f)
        for line in f:
            fields = line.split()
            if int(fields[1].split(':')[1], 16) == port:
                return int(fields[-1])
    return None


def live(ua):
    return sum(1 for line in ua.ok('sippres show subscriptions') if ' call-id=' in line)


def answer(sock, m):
    lines = ['SIP/2.0 200 OK']
    for name in ('via', 'from', 'to', 'call-id', 'cseq'):
        for v in m.all(name):
            lines.append('%s: %s' % ('Call-ID' if name == 'call-id' else name.title(), v))
    lines.append('Content-Length: 0')
    sock.sendto(('\r\n'.join(lines) + '\r\n\r\n').encode(), m.src)


def pump(socks, seconds, on_msg=None, on_notify=None):
    """Read the sockets for seconds, answering every NOTIFY (and handing it to on_notify(msg)); on_msg(sock,
    msg) sees the rest."""
    end = time.monotonic() + seconds
    for s in socks:
        s.setblocking(False)
    while time.monotonic() < end:
        busy = False
        for s in socks:
            try:
                data, src = s.recvfrom(65535)
            except BlockingIOError:
                continue
            busy = True
            m = Msg(data, src)
            if m.method == 'NOTIFY':
                answer(s, m)
                if on_notify:
                    on_notify(m)
            elif on_msg:
                on_msg(s, m)
        if not busy:
            time.sleep(0.001)


def request(sock, server, method, ruri_user, call_id, cseq, from_tag, to_tag=None, extra=(), body=b'',
            user='tester-ast'):
    hostport = '%s:%d' % sock.getsockname()
    ruri = 'sip:%s@%s:%d' % (ruri_user, server[0], server[1])
    lines = ['%s %s SIP/2.0' % (method, ruri),
             'Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport' % (hostport, token(14)),
             'From: <sip:%s@%s>;tag=%s' % (user, hostport, from_tag),
             'To: <%s>%s' % (ruri, ';tag=' + to_tag if to_tag else ''), 'Call-ID: ' + call_id,
             'CSeq: %d %s' % (cseq, method), 'Contact: <sip:%s@%s>' % (user, hostport), 'Max-Forwards: 70']
    lines += list(extra)
    lines.append('Content-Length: %d' % len(body))
    sock.sendto(('\r\n'.join(lines) + '\r\n\r\n').encode() + body, server)


def malformed(server, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    hp = '%s:%d' % s.getsockname()
    junk = [b'\x00\x01garbage', b'SUBSCRIBE', b'SUBSCRIBE sip:1000@x SIP/2.0\r\nVia: x\r\n\r\n',
            ('SUBSCRIBE sip:1000@%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n'
             'To: <sip:c@d>\r\nCall-ID: q\r\nCSeq: 1 NOTIFY\r\n\r\n' % (server[0], server[1], hp)).encode(),
            ('OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKy\r\nFrom: <sip:a@b>;tag=1\r\n'
             'To: <sip:c@d>\r\nCall-ID: r\r\nCSeq: 1 OPTIONS\r\n%s\r\n' % (server[0], server[1], hp, 'a:b\r\n' * 400)
             ).encode()]
    for i in range(n):
        s.sendto(random.choice(junk) if i % 5 else bytes(random.getrandbits(8) for _ in range(200)), server)
    s.close()


class Legit:
    """20 subscribers on 127.0.0.2 watching 1000 (PJSIP/alice)."""

    def __init__(self, ua):
        self.c = Client(ua.addr, user='tester', host='127.0.0.2')
        self.dialogs = []
        for _ in range(20):
            d, r = self.c.subscribe('1000', 'dialog', expires=3600)
            check(r.status == 200, 'legitimate SUBSCRIBE: %s', r.start)
            self.c.notify(d)
            self.dialogs.append(d)

    def each_notified(self, ua, state):
        ua.ok('devstate change PJSIP/alice %s' % state)
        want = {d.call_id for d in self.dialogs}
        deadline = time.monotonic() + 10
        while want and time.monotonic() < deadline:
            m = self.c.wait(lambda m: m.method == 'NOTIFY', max(0.01, deadline - time.monotonic()))
            if m is not None:
                want.discard(m.call_id)
        check(not want, '%d legitimate subscriptions got no NOTIFY for %s', len(want), state)


def flood_round(ua, socks, legit, k):
    """One round: the flood, the legitimate traffic in between, then every flood subscription ends."""
    dialogs = []
    answers = {}

    def on_msg(s, m):
        if m.status and m.cseq[1] in ('SUBSCRIBE', 'PUBLISH'):
            answers[m.status] = answers.get(m.status, 0) + 1
            if m.status == 200 and m.cseq[1] == 'SUBSCRIBE' and m.cseq[0] == 1:
                dialogs.append((s, m.call_id, m.from_tag, m.to_tag))

    for i in range(1200):
        s = socks[i % len(socks)]
        request(s, ua.addr, 'SUBSCRIBE', '1000' if i % 3 else '1001', 'f%d-%d-%s' % (k, i, token(6)), 1, token(6),
                extra=['Event: %s' % ('dialog' if i % 2 else 'presence'), 'Expires: 600'])
        if i % 4 == 0:
            request(s, ua.addr, 'PUBLISH', '1000', token(10), 1, token(6),
                    extra=['Event: presence', 'Expires: 60', 'Content-Type: application/pidf+xml'],
                    body=b'<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:x@y"/>')
        if i % 100 == 99:
            malformed(ua.addr, 20)
            pump(socks, 0.05, on_msg)
    pump(socks, 1.0, on_msg)
    r = legit.c.wait(lambda m: False, 0.01)  # noqa: F841 (drain nothing; keep the socket read)
    opt_id = token(10)
    legit.c.send_raw('OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\nFrom: <sip:t@x>;tag=1\r\n'
                     'To: <sip:u@y>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
                     % (ua.addr[0], ua.addr[1], legit.c.hostport, opt_id, opt_id))
    check(legit.c.wait(lambda m: m.status == 200 and m.call_id == opt_id, 5) is not None,
          'an OPTIONS went unanswered during the flood')
    legit.each_notified(ua, 'NOT_INUSE' if k % 2 else 'INUSE')
    # everyone of the flood unsubscribes, within the source's rate (the flood went over it: the bucket refills
    # in 2 s), each unsubscribe until it is answered
    pump(socks, 2.0, on_msg)
    left = {call_id: (s, from_tag, to_tag) for s, call_id, from_tag, to_tag in dialogs}

    def on_unsub(s, m):
        if m.status and m.cseq == (2, 'SUBSCRIBE'):
            left.pop(m.call_id, None)
    for attempt in range(5):
        for i, (call_id, (s, from_tag, to_tag)) in enumerate(list(left.items())):
            request(s, ua.addr, 'SUBSCRIBE', '1000', call_id, 2, from_tag, to_tag,
                    extra=['Event: presence', 'Expires: 0'])
            if i % 200 == 199:
                pump(socks, 0.5, on_unsub)
        pump(socks, 1.0, on_unsub)
        if not left:
            break
    check(not left, '%d unsubscribes never answered', len(left))
    pump(socks, 0.5)
    n = live(ua)
    check(n == len(legit.dialogs), '%d subscriptions live after the flood unsubscribed (want %d)', n,
          len(legit.dialogs))
    return len(dialogs), answers


def test_flood():
    conf = tmu.make_conf()
    # T1 100 ms: the answers kept for retransmissions (64*T1) live 6.4 s, less than a round, so the memory
    # measured at the end of each round from the second on holds no round's cache but its own
    ua = tmu.UA(conf, extra=['--t1', '100'])
    STATE['ua'], STATE['conf'] = ua, conf
    socks = []
    for _ in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(('127.0.0.1', 0))
        socks.append(s)
    legit = Legit(ua)
    STATE['legit'] = legit
    t_end = time.monotonic() + DURATION * 0.7
    rss = []
    rounds = 0
    while rounds < 3 or time.monotonic() < t_end:
        made, answers = flood_round(ua, socks, legit, rounds)
        rss.append(rss_kb(ua.proc.pid))
        rounds += 1
        check(ua.alive(), 'the UA died')
    for s in socks:
        s.close()
    base = rss[1]  # the first round warms the allocator up
    check(max(rss[1:]) <= base * 1.10 + 2048, 'memory grew over the rounds: %r kB', rss)
    return '%d rounds, %d flood subscriptions a round, last answers %s, RSS %r kB' % (rounds, made,
                                                                                      dict(sorted(answers.items())),
                                                                                      rss)


def test_burst():
    """On a UA of its own with the default T1 (500 ms), as in production."""
    if 'conf' not in STATE:
        STATE['conf'] = tmu.make_conf()
    ua = tmu.UA(STATE['conf'])
    try:
        note = burst(ua)
    finally:
        rc = ua.quit()
    # under MINIUA_WRAPPER=valgrind (meson test --setup=valgrindua), 99: a memory error or a leak
    check(rc == 0, 'the burst UA exited with %r', rc)
    return note


def burst(ua):
    socks = []
    for _ in range(10):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(('127.0.0.3', 0))
        socks.append(s)
    oks = [0]
    dialogs = {}  # call-id -> (socket, our tag, its tag)
    tags = {}

    def on_msg(s, m):
        if m.status == 200 and m.cseq[1] == 'SUBSCRIBE':
            oks[0] += 1
            dialogs[m.call_id] = (s, tags[m.call_id], m.to_tag)
    for i in range(1000):
        cid, tag = 'b%d-%s' % (i, token(6)), token(6)
        tags[cid] = tag
        request(socks[i % 10], ua.addr, 'SUBSCRIBE', '1001', cid, 1, tag,
                extra=['Event: dialog', 'Expires: 600'], user='tolerant')
        if i % 100 == 99:
            pump(socks, 0.05, on_msg)
    pump(socks, 2, on_msg)
    check(oks[0] == 1000, '%d of 1000 burst subscriptions answered 200', oks[0])
    drops0 = udp_drops(ua.addr[1])
    # the last change is NOT_INUSE: a dialog's last NOTIFY has no confirmed dialog
    lines = ''.join('devstate change PJSIP/bob %s\n' % ('INUSE' if i % 2 == 0 else 'NOT_INUSE') for i in range(10))
    got = [0]
    seen = {}  # call-id -> [(cseq, subscription-state, body)] in the order received
    ua.proc.stdin.write(lines.encode())
    ua.proc.stdin.flush()

    def note(m):
        got[0] += 1
        seen.setdefault(m.call_id, []).append((m.cseq[0], m.get('subscription-state') or '', m.body))
    # 100 dialogs end while their NOTIFYs wait for room
    pump(socks, 0.02, on_notify=note)
    ending = sorted(dialogs)[:100]
    for cid in ending:
        s, tag, to_tag = dialogs[cid]
        request(s, ua.addr, 'SUBSCRIBE', '1001', cid, 2, tag, to_tag=to_tag,
                extra=['Event: dialog', 'Expires: 0'], user='tolerant')
    pump(socks, 10, on_notify=note)
    drops1 = udp_drops(ua.addr[1])
    for _ in range(10):
        ua.out.get(timeout=10)  # the OKs of the ten commands
    for s in socks:
        s.close()
    check(got[0] >= 10000, '%d NOTIFYs of 10,000', got[0])
    check(drops1 == drops0, 'the server socket dropped %d datagrams during the burst', drops1 - drops0)
    check(len(seen) == 1000, '%d of 1000 dialogs got NOTIFYs', len(seen))
    confirmed = 0
    for cid, ns in seen.items():
        cseqs = [c for c, _, _ in ns]
        check(all(a <= b for a, b in zip(cseqs, cseqs[1:])), '%s: NOTIFY CSeqs out of order: %s', cid, cseqs)
        last = max(ns, key=lambda n: n[0])
        confirmed += sum(1 for _, _, b in ns if '<state>confirmed</state>' in b)
        if cid in ending:
            check(last[1].startswith('terminated'), '%s: its last NOTIFY (cseq %d) is %r, not terminated', cid,
                  last[0], last[1])
        else:
            check(last[1].startswith('active'), '%s: its last NOTIFY is %r', cid, last[1])
            check('<state>confirmed</state>' not in last[2], '%s: its last NOTIFY (cseq %d) is not the last state',
                  cid, last[0])
    check(confirmed >= 900, 'only %d NOTIFYs showed the INUSE state', confirmed)
    return ('%d NOTIFYs (retransmissions included), CSeqs in order, last states right, %d dialogs ended while '
            'waiting; server socket drops %d -> %d' % (got[0], len(ending), drops0, drops1))


def test_end():
    ua = STATE.get('ua')
    check(ua is not None, 'no UA')
    if STATE.get('legit'):
        STATE['legit'].c.close()
    rc = ua.quit()
    shutil.rmtree(STATE['conf'], ignore_errors=True)
    check(rc == 0, 'exit status %r', rc)


def main():
    global DURATION
    p = argparse.ArgumentParser()
    p.add_argument('--ua', required=True)
    p.add_argument('--examples', required=True)
    p.add_argument('--duration', type=int, default=60)
    p.add_argument('-k', default='')
    args = p.parse_args()
    DURATION = args.duration
    tmu.ARGS = argparse.Namespace(ua=args.ua, examples=args.examples, golden='', k=args.k)
    try:
        return taprun.run([test_flood, test_burst, test_end], args.k)
    finally:
        if STATE.get('ua') and STATE['ua'].alive():
            STATE['ua'].kill9()


if __name__ == '__main__':
    sys.exit(main())
