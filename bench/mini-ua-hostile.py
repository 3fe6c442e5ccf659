#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The mini UA under hostile input, on loopback (issue 11): the four numbers of docs/security.md.

usage: bench/mini-ua-hostile.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples
                                [--only reflect,flood,headers,burst] [--flood-count 90000] [--ua-arg ARG]...

  reflect  20 SUBSCRIBEs whose Contact names a silent third-party port (one resource, and a 4-member list),
           and 20 whose source is that silent port itself (as a spoofed source would be): the NOTIFYs and
           bytes that reached each silent port within 40 s, against the bytes the attacker sent
  flood    --flood-count SUBSCRIBEs with distinct Call-IDs from one socket (which answers its NOTIFYs):
           the answers by status, the live subscriptions and the UA's resident memory afterwards
  headers  one 60 KB OPTIONS with 12,000 headers: its answer and how long the UA took (the round trip of an
           OPTIONS sent right behind it)
  burst    --burst-subs subscriptions on one hint (10 sockets), then enough device changes piped at once on
           standard input for 10,000 NOTIFYs: the NOTIFYs that arrive and the datagrams the server's socket
           dropped (/proc/net/udp) while their 200s came back
Each scenario runs its own UA. Loopback only; every loop is bounded in count and time."""

import argparse
import os
import random
import shutil
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
import test_mini_ua as tmu  # noqa: E402
from sipclient import Msg, token  # noqa: E402
from test_mini_ua_load import answer, rss_kb, udp_drops  # noqa: E402


def subscribe_text(server, src_hostport, contact_hostport, resource, event='presence', user='alice', lst=False,
                   call_id=None, cseq=1, extra=''):
    ruri = 'sip:%s@%s:%d' % (resource, server[0], server[1])
    call_id = call_id or token(16) + '@bench'
    lines = ['SUBSCRIBE %s SIP/2.0' % ruri,
             'Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport' % (src_hostport, token(16)),
             'From: <sip:%s@%s>;tag=%s' % (user, src_hostport, token(8)),
             'To: <%s>' % ruri, 'Call-ID: %s' % call_id, 'CSeq: %d SUBSCRIBE' % cseq,
             'Contact: <sip:%s@%s>' % (user, contact_hostport), 'Max-Forwards: 70', 'Event: %s' % event,
             'Expires: 600']
    if lst:
        lines += ['Supported: eventlist', 'Accept: application/pidf+xml, multipart/related, application/rlmi+xml']
    text = '\r\n'.join(lines) + '\r\n' + extra + 'Content-Length: 0\r\n\r\n'
    return text.encode()


def udp(host='127.0.0.1'):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((host, 0))
    return s


def hp(s):
    return '%s:%d' % s.getsockname()


def collect(socks, seconds, answer_notify=()):
    """Read every socket for seconds; per socket [NOTIFYs, NOTIFY bytes, other datagrams, other bytes]."""
    stats = {s: [0, 0, 0, 0] for s in socks}
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
            if data.startswith(b'NOTIFY '):
                stats[s][0] += 1
                stats[s][1] += len(data)
                if s in answer_notify:
                    answer(s, Msg(data, src))
            else:
                stats[s][2] += 1
                stats[s][3] += len(data)
        if not busy:
            time.sleep(0.002)
    return stats


def start(args, conf, extra=()):
    return tmu.UA(conf, extra=list(args.ua_arg) + list(extra))


def reflect(args, conf):
    ua = start(args, conf)
    try:
        attacker = udp()
        victims = {name: udp() for name in ('contact-1', 'contact-list', 'source-1', 'source-list')}
        sent = {name: 0 for name in victims}
        for i in range(20):
            for name, v in victims.items():
                lst = name.endswith('list')
                res = 'office-presence' if lst else '1000'
                if name.startswith('contact'):
                    data = subscribe_text(ua.addr, hp(attacker), hp(v), res, lst=lst)
                    attacker.sendto(data, ua.addr)
                else:  # the source is the victim: what a spoofed source address gets
                    data = subscribe_text(ua.addr, hp(v), hp(v), res, lst=lst)
                    v.sendto(data, ua.addr)
                sent[name] += len(data)
        stats = collect(list(victims.values()) + [attacker], 40)
        print('reflect: 20 SUBSCRIBEs each, silent target, 40 s')
        for name, v in victims.items():
            n, nb, o, ob = stats[v]
            print('  %-13s NOTIFYs %4d (%7d bytes), other %3d (%6d bytes); attacker sent %6d bytes: x%.1f' %
                  (name, n, nb, o, ob, sent[name], (nb + ob) / sent[name]))
    finally:
        ua.quit()


def flood(args, conf):
    ua = start(args, conf)
    try:
        base = rss_kb(ua.proc.pid)
        s = udp()
        s.setblocking(False)
        statuses = {}
        sent = answered = 0
        window = 200
        t0 = last_progress = time.monotonic()
        deadline = t0 + 600
        while (answered < args.flood_count) and time.monotonic() < deadline:
            while sent < args.flood_count and sent - answered < window:
                s.sendto(subscribe_text(ua.addr, hp(s), hp(s), '1000', call_id='f%d-%s' % (sent, token(6))),
                         ua.addr)
                sent += 1
            got = False
            try:
                data, src = s.recvfrom(65535)
                got = True
            except BlockingIOError:
                time.sleep(0.0005)
            if not got:
                if time.monotonic() - last_progress > 2:  # lost answers: go on
                    answered = sent
                continue
            m = Msg(data, src)
            if m.method == 'NOTIFY':
                answer(s, m)
            elif m.status and m.cseq[1] == 'SUBSCRIBE':
                statuses[m.status] = statuses.get(m.status, 0) + 1
                answered += 1
            last_progress = time.monotonic()
        elapsed = time.monotonic() - t0
        collect([s], 2, answer_notify=(s,))
        lines, _ = ua.cmd('sippres show subscriptions', timeout=60)
        live = sum(1 for line in lines if ' call-id=' in line)
        print('flood: %d SUBSCRIBEs from one socket in %.1f s: answers %s; live subscriptions %d; RSS %d -> %d kB'
              % (sent, elapsed, dict(sorted(statuses.items())), live, base, rss_kb(ua.proc.pid)))
    finally:
        ua.quit()


def headers(args, conf):
    ua = start(args, conf)
    try:
        s = udp()
        times = []
        first = None
        for _ in range(3):
            body = 'a:b\r\n' * 12000
            big = ('OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\nFrom: <sip:a@x>;tag=1\r\n'
                   'To: <sip:b@y>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n%sContent-Length: 0\r\n\r\n'
                   % (ua.addr[0], ua.addr[1], hp(s), token(12), token(12), body)).encode()
            probe_id = token(12)
            probe = ('OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\nFrom: <sip:a@x>;tag=1\r\n'
                     'To: <sip:b@y>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
                     % (ua.addr[0], ua.addr[1], hp(s), token(12), probe_id)).encode()
            s.settimeout(10)
            t0 = time.monotonic()
            s.sendto(big, ua.addr)
            s.sendto(probe, ua.addr)
            while True:
                data, src = s.recvfrom(65535)
                m = Msg(data, src)
                if m.call_id == probe_id:
                    times.append(time.monotonic() - t0)
                    break
                if first is None:
                    first = '%s (%d bytes)' % (m.start, len(data))
        print('headers: a %d-byte OPTIONS with 12,000 headers: answer %s; the next request waited %.3f s (median of 3)'
              % (len(big), first or 'none', statistics.median(times)))
    finally:
        ua.quit()


def burst(args, conf):
    ua = start(args, conf)
    try:
        socks = [udp() for _ in range(10)]
        for s in socks:
            s.setblocking(False)
        for k in range(args.burst_subs):
            s = socks[k % 10]
            s.sendto(subscribe_text(ua.addr, hp(s), hp(s), '1000', event='dialog'), ua.addr)
            if k % 100 == 99:
                collect(socks, 0.05, answer_notify=socks)
        collect(socks, 3, answer_notify=socks)
        live = sum(1 for line in ua.cmd('sippres show subscriptions', timeout=60)[0] if ' call-id=' in line)
        changes = 10000 // max(1, live)
        drops0 = udp_drops(ua.addr[1])
        lines = ''.join('devstate change PJSIP/alice %s\n' % ('INUSE' if i % 2 == 0 else 'NOT_INUSE')
                        for i in range(changes))
        ua.proc.stdin.write(lines.encode())
        ua.proc.stdin.flush()
        stats = collect(socks, 8, answer_notify=socks)
        got = sum(v[0] for v in stats.values())
        drops1 = udp_drops(ua.addr[1])
        print('burst: %d subscriptions, %d device changes piped at once (%d NOTIFYs): %d NOTIFYs arrived in 8 s '
              '(retransmissions included); server socket drops %d -> %d' % (live, changes, live * changes, got,
                                                                           drops0, drops1))
    finally:
        ua.quit()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ua', required=True)
    ap.add_argument('--examples', required=True)
    ap.add_argument('--only', default='reflect,flood,headers,burst')
    ap.add_argument('--flood-count', type=int, default=90000)
    ap.add_argument('--burst-subs', type=int, default=1000)
    ap.add_argument('--ua-arg', action='append', default=[])
    args = ap.parse_args()
    tmu.ARGS = argparse.Namespace(ua=args.ua, examples=args.examples)
    random.seed()
    conf = tmu.make_conf()
    try:
        for name in args.only.split(','):
            {'reflect': reflect, 'flood': flood, 'headers': headers, 'burst': burst}[name](args, conf)
    finally:
        shutil.rmtree(conf, ignore_errors=True)


if __name__ == '__main__':
    main()
