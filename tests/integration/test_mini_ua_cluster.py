#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Three sippres-mini-ua nodes sharing state and subscriptions through a real
redis-server (issue 14, docs/cluster.md), all on loopback, Redis on a port of
its own: a subscriber on node B sees a device change made on node A and a
PUBLISH made to node C; node A is killed with kill -9 and node B or C takes
its subscribers over within the lease, their next NOTIFY continuing CSeq and
version, each taken by exactly one node; redis-server stops and starts again
(empty) and no change made meanwhile is lost; 10,000 subscriptions over the
three nodes, a state change on each node, and every subscriber gets exactly
the NOTIFYs it should. Skipped (plan 1..0) when redis-server is not installed.

usage: test_mini_ua_cluster.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples [-k NAME]
Prints TAP. Every wait is bounded."""

import os
import re
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sipclient  # noqa: E402
import test_mini_ua as tmu  # noqa: E402
import test_mini_ua_publish as tmp  # noqa: E402
from redisserver import Redis, available  # noqa: E402
from sipclient import Client  # noqa: E402
from taprun import check  # noqa: E402

LEASE_MS = 1000

# the PUBLISH test's sections: phone5 publishes to 5000, watcher (context pubtest) subscribes to it
PJSIP, EXT, PIDF = tmp.PJSIP, tmp.EXT, tmp.PIDF % ('away', 'at lunch')


class Cluster:
    """redis-server and named mini UA nodes on one configuration."""

    def __init__(self, names=('a', 'b', 'c'), t1=None, lease=None, no_limits=False):
        self.redis = Redis()
        self.lease = lease or LEASE_MS
        # thousands of subscriptions from one address and endpoint: the per-source, per-endpoint and rate
        # limits (docs/security.md) off
        self.extra = (['--max-subscriptions', '0', '--max-subscriptions-per-endpoint', '0',
                       '--max-subscriptions-per-source', '0', '--rate-per-source', '0'] if no_limits else [])
        self.dir = tmu.make_conf(tmu.EXTRA_PJSIP + PJSIP, EXT)
        self.t1 = t1
        self.nodes = {}
        self.clients = []
        for n in names:
            self.start(n)

    def start(self, name):
        extra = ['--redis', self.redis.hostport, '--node-id', 'node-' + name, '--redis-lease', str(self.lease)]
        if self.t1:
            extra += ['--t1', str(self.t1)]
        extra += self.extra
        ua = tmu.UA(self.dir, extra=extra)
        self.nodes[name] = ua
        check(ua.wait_log('node node-%s replicating' % name, 10.0), 'node %s did not join:\n%s', name, ua.log())
        return ua

    def client(self, node, user='tester'):
        c = Client(self.nodes[node].addr, user=user)
        self.clients.append(c)
        return c

    def close(self):
        for c in self.clients:
            c.close()
        bad = []
        for name, ua in self.nodes.items():
            if ua.alive():
                rc = ua.quit()
                if rc != 0:
                    bad.append('node %s exited %r:\n%s' % (name, rc, ua.log()[-3000:]))
        self.redis.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        check(not bad, '%s', '\n'.join(bad))


def version(body):
    m = re.search(r'version="(\d+)"', body)
    return int(m.group(1)) if m else None


def test_change_crosses_nodes():
    cl = Cluster()
    try:
        c = cl.client('b')
        d, r = c.subscribe('1000', 'dialog', accept='application/dialog-info+xml')
        check(r.status == 200, 'SUBSCRIBE on B: %s', r.start)
        n = c.notify(d)
        check('<state>terminated</state>' in n.body or '<dialog ' not in n.body, 'initial: %s', n.body)
        # a device change on A
        cl.nodes['a'].ok('devstate change PJSIP/alice INUSE')
        n = c.notify(d, timeout=5.0)
        check('<state>confirmed</state>' in n.body, 'B did not NOTIFY A\'s change: %s', n.body)
        check(n.src[1] == cl.nodes['b'].addr[1], 'the NOTIFY came from %r, not B', n.src)
        # a PUBLISH to C
        p = cl.client('b', user='watcher')
        dp, r = p.subscribe('5000', 'presence', accept='application/pidf+xml')
        check(r.status == 200, 'SUBSCRIBE 5000 on B: %s', r.start)
        p.notify(dp)
        pub = cl.client('c', user='phone5')
        ruri = 'sip:5000@127.0.0.1:%d' % cl.nodes['c'].addr[1]
        call_id = 'pub-' + sipclient.token()
        pub.request('PUBLISH', ruri, [('From', '<sip:phone5@%s>;tag=%s' % (pub.hostport, sipclient.token(8))),
                                      ('To', '<%s>' % ruri), ('Call-ID', call_id), ('CSeq', '1 PUBLISH'),
                                      ('Max-Forwards', '70'), ('Event', 'presence'), ('Expires', '600'),
                                      ('Content-Type', 'application/pidf+xml')], PIDF)
        r = pub.response(call_id, (1, 'PUBLISH'))
        check(r.status == 200, 'PUBLISH to C: %s', r.start)
        n = p.notify(dp, timeout=5.0)
        check('at lunch' in n.body and 'away' in n.body, 'B did not NOTIFY C\'s publication: %s', n.body)
        return 'device change A->B and PUBLISH C->B'
    finally:
        cl.close()


def test_takeover_after_kill9():
    cl = Cluster()
    try:
        subs = []
        c = cl.client('a')
        for i in range(20):
            d, r = c.subscribe('1001', 'dialog', accept='application/dialog-info+xml')
            check(r.status == 200, 'SUBSCRIBE on A: %s', r.start)
            subs.append(d)
        first = {}
        for d in subs:
            first[d.call_id] = c.notify(d)
        cl.nodes['b'].ok('devstate change PJSIP/bob RINGING')
        last = {}
        for d in subs:
            n = c.notify(d, timeout=5.0)
            check('<state>early</state>' in n.body, 'A did not NOTIFY B\'s change: %s', n.body)
            last[d.call_id] = (n.cseq[0], version(n.body))
        c.drain(0.3)
        # A dies; B's RINGING was B's and stays
        t0 = time.monotonic()
        cl.nodes['a'].kill9()
        took = {}
        for d in subs:
            n = c.notify(d, timeout=LEASE_MS / 1000.0 * 4 + 5)
            took[d.call_id] = n
        elapsed = time.monotonic() - t0
        owners = set()
        for d in subs:
            n = took[d.call_id]
            cseq, ver = last[d.call_id]
            check(n.cseq[0] == cseq + 1, 'CSeq %d after %d', n.cseq[0], cseq)
            check(version(n.body) == ver + 1, 'version %r after %r', version(n.body), ver)
            check('<state>early</state>' in n.body, 'the adopted NOTIFY lost B\'s state: %s', n.body)
            check(n.get('call-id') == d.call_id and n.to_tag == d.local_tag and n.from_tag == d.remote_tag,
                  'not the same dialog: %s', n.raw)
            owners.add(n.src[1])
        check(owners <= {cl.nodes['b'].addr[1], cl.nodes['c'].addr[1]}, 'NOTIFYs from %r', owners)
        # exactly one node took each over: no second NOTIFY
        c.no_notify(subs[0], 1.0)
        dup = [m for m in c.queue if m.method == 'NOTIFY']
        check(not dup, 'more NOTIFYs after the takeover: %r', dup)
        # and the new owner goes on NOTIFYing
        cl.nodes['c'].ok('devstate change PJSIP/bob INUSE')
        for d in subs:
            n = c.notify(d, timeout=5.0)
            check(n.cseq[0] == last[d.call_id][0] + 2, 'CSeq after the takeover: %d', n.cseq[0])
            check('<state>confirmed</state>' in n.body, 'after the takeover: %s', n.body)
        c.no_notify(subs[-1], 0.5)
        return 'takeover of 20 subscribers by %s %.2f s after kill -9 (lease %d ms)' % (
            '+'.join(sorted('B' if p == cl.nodes['b'].addr[1] else 'C' for p in owners)), elapsed, LEASE_MS)
    finally:
        cl.close()


def test_redis_restart_loses_nothing():
    cl = Cluster(names=('a', 'b'))
    try:
        ca, cb = cl.client('a'), cl.client('b')
        da, r = ca.subscribe('1001', 'dialog', accept='application/dialog-info+xml')
        check(r.status == 200, 'SUBSCRIBE on A')
        db, r = cb.subscribe('1000', 'dialog', accept='application/dialog-info+xml')
        check(r.status == 200, 'SUBSCRIBE on B')
        ca.notify(da)
        cb.notify(db)
        cl.redis.stop()
        time.sleep(0.3)
        # changes while Redis is down: each node's own subscribers hear at once, the other node later
        cl.nodes['a'].ok('devstate change PJSIP/alice INUSE')
        cl.nodes['b'].ok('devstate change PJSIP/bob RINGING')
        ca.no_notify(da, 1.0)
        cb.no_notify(db, 0.1)
        cl.redis.start()
        n = cb.notify(db, timeout=10.0)
        check('<state>confirmed</state>' in n.body, 'A\'s change made while Redis was down: %s', n.body)
        n = ca.notify(da, timeout=10.0)
        check('<state>early</state>' in n.body, 'B\'s change made while Redis was down: %s', n.body)
        # the records are back in Redis too: B's subscriber survives B's death
        keys = cl.redis.command('HLEN', 'sippres:subs:node-b')
        check(keys == 1, 'B\'s record after the restart: %r', keys)
        return 'both changes made while Redis was down arrived after its restart'
    finally:
        cl.close()


# ---- 10,000 subscriptions -------------------------------------------------------------

HDR = {name: re.compile(rb'\r\n(?:%s)[ \t]*:[ \t]*([^\r\n]*)' % name, re.I)
       for name in (rb'Call-ID|i', rb'CSeq', rb'Via|v', rb'From|f', rb'To|t')}
STATE_RE = re.compile(rb'<state>(\w+)</state>')


class Bulk:
    """Many subscriptions from one socket, parsed just enough to count each
    dialog's NOTIFYs, their CSeqs and dialog states (sipclient is too slow)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        # SO_RCVBUFFORCE (33 on Linux; Python has no name for it) goes past rmem_max as root
        for opt in (getattr(socket, 'SO_RCVBUFFORCE', 33), socket.SO_RCVBUF):
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, opt, 32 << 20)
                break
            except OSError:
                continue
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        # call-id -> {'node': port, 'res': exten, 'ok': status, 'notifies': [(cseq, state, from port, time)]}
        self.dialogs = {}
        self.seen = set()
        self.notifies = 0

    def close(self):
        self.sock.close()

    def subscribe(self, addr, resource):
        call_id = '%s@bulk' % sipclient.token(14)
        ruri = 'sip:%s@127.0.0.1:%d' % (resource, addr[1])
        msg = ('SUBSCRIBE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n'
               'From: <sip:tester@127.0.0.1:%d>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 SUBSCRIBE\r\n'
               'Contact: <sip:tester@127.0.0.1:%d>\r\nMax-Forwards: 70\r\nEvent: dialog\r\n'
               'Accept: application/dialog-info+xml\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n'
               % (ruri, self.port, sipclient.token(12), self.port, sipclient.token(8), ruri, call_id, self.port))
        self.dialogs[call_id] = {'node': addr[1], 'res': resource, 'ok': None, 'notifies': []}
        self.sock.sendto(msg.encode(), addr)

    def _one(self, data, src):
        cid = HDR[rb'Call-ID|i'].search(data)
        cseq = HDR[rb'CSeq'].search(data)
        if not cid or not cseq:
            return
        d = self.dialogs.get(cid.group(1).strip().decode())
        if data.startswith(b'SIP/2.0 '):
            if d is not None:
                d['ok'] = int(data[8:11])
            return
        if not data.startswith(b'NOTIFY '):
            return
        lines = [b'SIP/2.0 200 OK']
        for name, label in ((rb'Via|v', b'Via'), (rb'From|f', b'From'), (rb'To|t', b'To')):
            for m in HDR[name].finditer(data):
                lines.append(label + b': ' + m.group(1))
        lines += [b'Call-ID: ' + cid.group(1), b'CSeq: ' + cseq.group(1), b'Content-Length: 0', b'', b'']
        self.sock.sendto(b'\r\n'.join(lines), src)
        n = int(cseq.group(1).split()[0])
        key = (cid.group(1), n)
        if key in self.seen or d is None:
            return  # a retransmission
        self.seen.add(key)
        st = STATE_RE.findall(data)
        d['notifies'].append((n, st[0].decode() if st else 'none', src[1], time.monotonic()))
        self.notifies += 1

    def pump(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        self.sock.setblocking(False)
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError('timed out waiting for %s' % what)
            try:
                data, src = self.sock.recvfrom(65535)
            except BlockingIOError:
                time.sleep(0.002)
                continue
            self._one(data, src)


def test_10000_subscriptions_three_nodes():
    total = int(os.environ.get('CLUSTER_SUBS', '10000'))
    # a long lease: a node busy with thousands of SUBSCRIBEs (under ASan or valgrind) must not be taken for dead
    cl = Cluster(t1=2000, lease=10000, no_limits=True)
    bulk = Bulk()
    try:
        names = ['a', 'b', 'c']
        resources = ['1000', '1001', '1002']
        mem0 = cl.redis.used_memory()
        t0 = time.monotonic()
        window = 300
        for i in range(total):
            bulk.subscribe(cl.nodes[names[i % 3]].addr, resources[(i // 3) % 3])
            if (i + 1) % window == 0:
                bulk.pump(lambda: bulk.notifies >= i + 1 - window // 2, 30, 'initial NOTIFYs (%d)' % i)
        bulk.pump(lambda: bulk.notifies >= total, 60, 'the initial NOTIFYs')
        setup = time.monotonic() - t0
        bad = [cid for cid, d in bulk.dialogs.items() if d['ok'] != 200]
        check(not bad, '%d SUBSCRIBEs not answered 200: %r', len(bad),
              sorted(set(bulk.dialogs[cid]['ok'] for cid in bad), key=str))
        deadline = time.monotonic() + 30
        while True:  # the last records reach Redis
            stored = sum(cl.redis.command('HLEN', 'sippres:subs:node-' + n) for n in names)
            if stored >= total or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check(stored == total, '%d subscription records in Redis, not %d', stored, total)
        per_sub = (cl.redis.used_memory() - mem0) / total
        # a state change on each node, each for one of the resources
        cl.nodes['a'].ok('devstate change PJSIP/alice INUSE')
        cl.nodes['b'].ok('devstate change PJSIP/bob RINGING')
        cl.nodes['c'].ok('devstate change PJSIP/carol INUSE')
        t1 = time.monotonic()
        bulk.pump(lambda: bulk.notifies >= 2 * total, 60, 'the NOTIFYs of the three changes')
        fanout = time.monotonic() - t1
        bulk.pump(lambda: False if time.monotonic() - t1 < fanout + 1.0 else True, 10, 'quiet')
        want = {'1000': 'confirmed', '1001': 'early', '1002': 'confirmed'}
        wrong = []
        for cid, d in bulk.dialogs.items():
            got = d['notifies']
            if (len(got) != 2 or got[1][0] != got[0][0] + 1 or got[1][1] != want[d['res']]
                    or any(port != d['node'] for _, _, port, _ in got)):
                wrong.append((d['node'], d['res'], got))
        check(not wrong, '%d subscribers did not get exactly their NOTIFYs, e.g. %r', len(wrong), wrong[:3])
        return ('%d subscriptions set up in %.1f s; 3 changes -> %d NOTIFYs in %.2f s; Redis %.0f bytes per '
                'subscription' % (total, setup, total, fanout, per_sub))
    finally:
        bulk.close()
        cl.close()


def test_unproven_subscription_not_stored():
    """A subscription whose Contact is not its source is held (--notify-contact match, docs/security.md)
    until the subscriber proves itself with a request in the dialog: until then its record is not in Redis
    (no node that takes it over may NOTIFY an address nobody vouched for)."""
    cl = Cluster(names=('a',))
    try:
        c = cl.client('a')
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind(('127.0.0.1', 0))
        ruri = 'sip:1000@127.0.0.1:%d' % cl.nodes['a'].addr[1]
        d = sipclient.Dialog('%s@127.0.0.1' % sipclient.token(12), sipclient.token(8),
                             'sip:tester@%s' % c.hostport, ruri, ruri, 1)
        d.event = 'dialog'
        c.request('SUBSCRIBE', ruri, [('From', '<%s>;tag=%s' % (d.local_uri, d.local_tag)), ('To', '<%s>' % ruri),
                                      ('Call-ID', d.call_id), ('CSeq', '1 SUBSCRIBE'),
                                      ('Contact', '<sip:tester@127.0.0.1:%d>' % other.getsockname()[1]),
                                      ('Max-Forwards', '70'), ('Event', 'dialog'),
                                      ('Accept', 'application/dialog-info+xml'), ('Expires', '600')])
        r = c.response(d.call_id, (1, 'SUBSCRIBE'))
        check(r.status == 200, 'SUBSCRIBE: %s', r.start)
        d.remote_tag = r.to_tag
        time.sleep(0.5)
        n = cl.redis.command('HLEN', 'sippres:subs:node-a')
        check(n == 0, 'the record of an unproven subscription is in Redis (%r)', n)
        r = c.resubscribe(d, 600)
        check(r.status == 200, 'refresh: %s', r.start)
        deadline = time.monotonic() + 5
        while cl.redis.command('HLEN', 'sippres:subs:node-a') != 1:
            check(time.monotonic() < deadline, 'the record did not reach Redis once proven')
            time.sleep(0.05)
        other.close()
        return 'stored only once proven'
    finally:
        cl.close()


def main():
    tmu.parse_args()
    if not available():
        print('1..0 # SKIP redis-server is not installed (Debian redis-server; tools/install-deps tests)')
        return 0
    import taprun
    return taprun.run([test_change_crosses_nodes, test_takeover_after_kill9, test_redis_restart_loses_nothing,
                       test_unproven_subscription_not_stored, test_10000_subscriptions_three_nodes], tmu.ARGS.k)


if __name__ == '__main__':
    sys.exit(main())
