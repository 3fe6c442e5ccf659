#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The mini UA's outbound publish client (type=outbound-publish, issue 10)
against a scripted peer: a UDP socket of this script that receives the
PUBLISHes and answers each as the test says (or not at all). 423 and
Min-Expires, timers E and F then the backoff and nothing lost, the refresh
before expiry with the last SIP-ETag, 412 on a refresh, a burst with one
PUBLISH outstanding, the device filter, --eid, and the removal (Expires: 0)
at quit, SIGTERM and on a reload.

usage: test_mini_ua_outpub.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples [-k NAME]
Prints TAP. Every wait is bounded. MINIUA_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full
--errors-for-leak-kinds=definite" runs the UA under valgrind: every test then also asserts exit status 0."""

import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sipclient  # noqa: E402
import test_mini_ua as tmu  # noqa: E402
from sipclient import Msg  # noqa: E402
from taprun import check  # noqa: E402

# seconds more for a UA under a MINIUA_WRAPPER (valgrind) to exit; its timers also start before the first
# send by up to some 30 ms (the time valgrind takes to translate the code between the two)
SLACK = 3.0 if os.environ.get('MINIUA_WRAPPER') else 0.0
T1 = 50  # --t1 for the tests that wait for timer F (64 T1 = 3.2 s); the others keep the default 500

OUTPUB = """
; ---- added by test_mini_ua_outpub.py ----
[%(name)s]
type=outbound-publish
server_uri=sip:devstate@127.0.0.1:%(port)d
event=asterisk-devicestate
expiration=%(expiration)d
@device_state_filter=^PJSIP/
"""

# the devices of the examples' hints that the filter lets through (they are published by the resync at start)
START_DEVICES = ['PJSIP/alice', 'PJSIP/bob', 'PJSIP/carol', 'PJSIP/carol-soft', 'PJSIP/lobby']


class Peer:
    """A PUBLISH server on loopback run by a thread. policy(msg) -> None (no answer) or (status, headers) or
    (status, headers, delay_s); SIP-ETag and To tag added for a 2xx unless headers has its own. The log:
    (monotonic time, 'rx', Msg) and (time, 'tx', status, branch)."""

    def __init__(self, policy=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.policy = policy or (lambda m: (200, []))
        self.log = []
        self.lock = threading.Lock()
        self.later = []  # (time, data, dest)
        self.answered = {}  # branch -> response bytes, for retransmissions
        self.etags = {}  # branch -> the SIP-ETag of its 2xx
        self.n_etag = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()

    def _run(self):
        while not self.stop:
            now = time.monotonic()
            with self.lock:
                due = [x for x in self.later if x[0] <= now]
                self.later = [x for x in self.later if x[0] > now]
                wait = min([x[0] for x in self.later], default=now + 0.05) - now
            for _, data, dest, status, branch in due:
                self._send(data, dest, status, branch)
            r, _, _ = select.select([self.sock], [], [], max(0.0, min(wait, 0.05)))
            if not r:
                continue
            data, src = self.sock.recvfrom(65535)
            try:
                msg = Msg(data, src)
            except ValueError:
                continue
            with self.lock:
                self.log.append((time.monotonic(), 'rx', msg))
            if msg.method != 'PUBLISH':
                continue
            if msg.branch in self.answered:
                if self.answered[msg.branch] is not None:
                    self.sock.sendto(self.answered[msg.branch], src)
                continue
            ans = self.policy(msg)
            if ans is None:
                continue  # silent: later retransmissions of this branch get the policy's view again
            status, headers = ans[0], list(ans[1])
            delay = ans[2] if len(ans) > 2 else 0
            if status // 100 == 2 and not any(n.lower() == 'sip-etag' for n, _ in headers):
                self.n_etag += 1
                headers.append(('SIP-ETag', 'etag%d' % self.n_etag))
                self.etags[msg.branch] = 'etag%d' % self.n_etag
            if status // 100 == 2 and not any(n.lower() == 'expires' for n, _ in headers):
                headers.append(('Expires', msg.get('expires') or '3600'))
            resp = self.response(msg, status, headers)
            self.answered[msg.branch] = resp
            if delay:
                with self.lock:
                    self.later.append((time.monotonic() + delay, resp, src, status, msg.branch))
            else:
                self._send(resp, src, status, msg.branch)

    def _send(self, data, dest, status, branch):
        with self.lock:
            self.log.append((time.monotonic(), 'tx', status, branch))
        self.sock.sendto(data, dest)

    @staticmethod
    def response(req, status, headers):
        lines = ['SIP/2.0 %d %s' % (status, 'OK' if status == 200 else 'Whatever')]
        lines += ['Via: %s' % v for v in req.all('via')]
        lines.append('From: %s' % req.get('from'))
        to = req.get('to')
        lines.append('To: %s' % (to if ';tag=' in to else to + ';tag=peer1'))
        lines.append('Call-ID: %s' % req.call_id)
        lines.append('CSeq: %s' % req.get('cseq'))
        lines += ['%s: %s' % h for h in headers]
        lines.append('Content-Length: 0')
        return ('\r\n'.join(lines) + '\r\n\r\n').encode()

    # ---- what it received -------------------------------------------------------------------------
    def received(self):
        """Every PUBLISH datagram received (retransmissions included), oldest first: [(time, Msg)]."""
        with self.lock:
            return [(e[0], e[2]) for e in self.log if e[1] == 'rx' and e[2].method == 'PUBLISH']

    def requests(self):
        """The PUBLISH transactions (first datagram of each branch), oldest first: [(time, Msg)]."""
        seen, out = set(), []
        for t, m in self.received():
            if m.branch not in seen:
                seen.add(m.branch)
                out.append((t, m))
        return out

    def wait(self, pred, timeout, what):
        """The first PUBLISH transaction (new or earlier) for which pred(msg) holds."""
        deadline = time.monotonic() + timeout
        while True:
            for _, m in self.requests():
                if pred(m):
                    return m
            if time.monotonic() > deadline:
                raise AssertionError('the peer got no %s within %.1f s; it got:\n%s' % (
                    what, timeout, '\n'.join(describe(m) for _, m in self.requests())))
            time.sleep(0.02)

    def states(self):
        """device -> the state of the last body about it that the peer answered with 2xx."""
        ok = set()
        with self.lock:
            for e in self.log:
                if e[1] == 'tx' and e[2] // 100 == 2:
                    ok.add(e[3])
        out = {}
        for _, m in self.requests():
            b = body_json(m)
            if m.branch in ok and b and b.get('type') == 'devicestate':
                out[b['device']] = b['state']
        return out

    def max_outstanding(self):
        """The most PUBLISH transactions that were at one moment received and not yet answered finally."""
        open_, most = set(), 0
        with self.lock:
            log = list(self.log)
        for e in log:
            if e[1] == 'rx' and e[2].method == 'PUBLISH':
                open_.add(e[2].branch)
                most = max(most, len(open_))
            elif e[1] == 'tx' and e[2] >= 200:
                open_.discard(e[3])
        return most


def body_json(m):
    if not m.body:
        return None
    b = json.loads(m.body)
    return {'type': b.get('type'), 'eid': b.get('eid'), **(b.get('devicestate') or {}), **(b.get('data') or {})} \
        if 'data' in b or 'devicestate' in b else b


def describe(m):
    return '%s If-Match=%s Expires=%s %s' % (m.branch, m.get('sip-if-match'), m.get('expires'), m.body)


def device_of(m):
    b = body_json(m)
    return b.get('device') if b else None


class Env:
    """A mini UA with outbound publishes to peers of this script."""

    def __init__(self, peers, expiration=3600, t1=None, extra=()):
        self.peers = peers
        text = ''.join(OUTPUB % {'name': n, 'port': p.port, 'expiration': expiration} for n, p in peers.items())
        self.dir = tmu.make_conf(tmu.EXTRA_PJSIP + text)
        args = list(extra) + (['--t1', str(t1)] if t1 else [])
        self.ua = tmu.UA(self.dir, extra=args)

    def close(self):
        """Stop the UA (if still running) and the peers; check the exit status (valgrind's too)."""
        try:
            if self.ua.alive():
                rc = self.ua.quit()
                check(rc == 0, 'exit status %r after quit:\n%s', rc, self.ua.log()[-3000:])
            else:
                check(self.ua.proc.returncode == 0, 'exit status %r:\n%s', self.ua.proc.returncode,
                      self.ua.log()[-3000:])
        finally:
            for p in self.peers.values():
                p.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def run(body, policy=None, **kw):
    peer = Peer(policy)
    env = None
    try:
        env = Env({'to-peer': peer}, **kw)
        return body(env, peer)
    finally:
        if env:
            env.close()
        else:
            peer.close()


def wait_states(peer, want, timeout):
    deadline = time.monotonic() + timeout
    while True:
        got = peer.states()
        if all(got.get(d) == s for d, s in want.items()):
            return got
        if time.monotonic() > deadline:
            raise AssertionError('peer has %r, want %r; it got:\n%s' % (got, want, '\n'.join(
                describe(m) for _, m in peer.requests())))
        time.sleep(0.02)


# ---------------------------------------------------------------------------------------------------

def test_423_min_expires():
    """423 with Min-Expires 7200: the same PUBLISH again with Expires: 7200, and from then on."""
    def policy(m):
        if int(m.get('expires')) < 7200:
            return 423, [('Min-Expires', '7200')]
        return 200, []

    def body(env, peer):
        first = peer.wait(lambda m: True, 3, 'PUBLISH')
        check(first.get('expires') == '3600' and first.get('sip-if-match') is None, 'first: %s', describe(first))
        again = peer.wait(lambda m: m.get('expires') == '7200', 3, 'PUBLISH with Expires: 7200')
        check(again.body == first.body and again.get('sip-if-match') is None,
              'after the 423 the same initial PUBLISH: %s vs %s', describe(again), describe(first))
        env.ua.ok('devstate change PJSIP/alice INUSE')
        m = peer.wait(lambda m: device_of(m) == 'PJSIP/alice' and body_json(m)['state'] == 'INUSE', 3,
                      'PJSIP/alice INUSE')
        check(m.get('expires') == '7200' and m.get('sip-if-match'), 'a later PUBLISH: %s', describe(m))
        reqs = peer.requests()
        n423 = sum(1 for _, r in reqs if r.get('expires') == '3600')
        check(n423 == 1, '%d PUBLISHes with Expires 3600 (one 423 is enough)', n423)
        return '%d PUBLISHes' % len(reqs)
    return run(body, policy)


def test_no_answer_timers_then_backoff():
    """A peer that answers nothing: timer E from T1 doubling until timer F (64 T1), a new transaction after
    8 T1, the next after 16 T1; the peer back, the latest state of every device arrives."""
    silent = []

    def policy(m):
        if m.branch in silent or len(silent) < 2:
            if m.branch not in silent:
                silent.append(m.branch)
            return None
        return 200, []

    def body(env, peer):
        t1 = T1 / 1000.0
        first = peer.wait(lambda m: True, 3, 'the first PUBLISH')
        for dev, st in (('alice', 'INUSE'), ('bob', 'RINGING'), ('alice', 'BUSY'), ('lobby', 'ONHOLD')):
            env.ua.ok('devstate change PJSIP/%s %s' % (dev, st))
        peer.wait(lambda m: m.branch not in silent, 12, 'PUBLISH after two silent transactions')
        got = wait_states(peer, {'PJSIP/alice': 'BUSY', 'PJSIP/bob': 'RINGING', 'PJSIP/lobby': 'ONHOLD'}, 5)
        rx = peer.received()
        starts = []
        for n, br in enumerate(silent):
            times = [t for t, m in rx if m.branch == br]
            starts.append(times[0])
            gaps = [b - a for a, b in zip(times, times[1:])]
            # sends at 0, T1, 3 T1, 7 T1, 15 T1, 31 T1, 63 T1 (T2 = 4 s is not reached), then F at 64 T1
            check(len(times) == 7, 'transaction %d: %d datagrams, want 7 (gaps %r)', n, len(times), gaps)
            for k, g in enumerate(gaps):
                want = t1 * 2 ** k
                check(0.8 * want - SLACK / 60 <= g <= 1.5 * want + 0.15, 'transaction %d: gap %d is %.3f s, want %.3f (%r)',
                      n, k, g, want, gaps)
            msgs = [m for t, m in rx if m.branch == br]
            check(all(m.raw == msgs[0].raw for m in msgs), 'transaction %d: retransmissions differ', n)
        tx = [m for _, m in peer.requests()]
        check(tx[0].branch == silent[0] and tx[1].branch == silent[1] and tx[1].body == tx[0].body == first.body,
              'the failed body is what is tried again: %s / %s', describe(tx[0]), describe(tx[1]))
        # the second transaction after F (64 T1) and 8 T1; the third after F and 16 T1
        d1, d2 = starts[1] - starts[0], tx and [t for t, m in peer.requests()][2] - starts[1]
        check(72 * t1 - 0.05 - SLACK / 60 <= d1 <= 72 * t1 + 0.6, 'second transaction %.2f s after the first, want %.2f', d1,
              72 * t1)
        check(80 * t1 - 0.05 - SLACK / 60 <= d2 <= 80 * t1 + 0.6, 'third transaction %.2f s after the second, want %.2f', d2,
              80 * t1)
        return 'retries after %.2f s and %.2f s; peer ends with %r' % (d1, d2, got)
    return run(body, policy, t1=T1)


def test_refresh_before_expiry():
    """Expires: 4 granted: a body-less PUBLISH with SIP-If-Match of the last SIP-ETag before 4 s run out."""
    def policy(m):
        return 200, [('Expires', '4')]

    def body(env, peer):
        peer.wait(lambda m: True, 3, 'the first PUBLISH')
        env.ua.ok('devstate change PJSIP/alice INUSE')
        mod = peer.wait(lambda m: device_of(m) == 'PJSIP/alice', 3, 'PJSIP/alice')
        check(mod.get('sip-if-match') == 'etag1', 'modify: %s', describe(mod))
        refreshes = []
        for n in range(2):
            r = peer.wait(lambda m: not m.body and m.branch not in [x.branch for x in refreshes], 5,
                          'refresh %d' % n)
            refreshes.append(r)
        times = {m.branch: t for t, m in peer.requests()}
        answered = {e[3]: e[0] for e in peer.log if e[1] == 'tx'}
        prev = mod
        for n, r in enumerate(refreshes):
            last_etag = 'etag%d' % (2 + n)
            after = times[r.branch] - answered[prev.branch]
            check(r.get('sip-if-match') == last_etag and r.get('expires') == '3600' and
                  r.get('content-type') is None and r.get('content-length') == '0',
                  'refresh %d: %s (want SIP-If-Match %s, Expires 3600, no body)', n, describe(r), last_etag)
            check(1.0 <= after < 4.0, 'refresh %d %.2f s after the 200 with Expires 4', n, after)
            prev = r
        return 'refreshes %.2f s after each 200' % after
    return run(body, policy)


def test_412_on_refresh():
    """412 to a refresh: a new initial PUBLISH (no SIP-If-Match) with the last state, then refreshes go on."""
    failed = []

    def policy(m):
        if not m.body and m.get('sip-if-match') and not failed:
            failed.append(m.branch)
            return 412, []
        return 200, [('Expires', '4')]

    def body(env, peer):
        peer.wait(lambda m: True, 3, 'the first PUBLISH')
        env.ua.ok('devstate change PJSIP/bob ONHOLD')
        env.ua.ok('devstate change PJSIP/alice INUSE')
        peer.wait(lambda m: device_of(m) == 'PJSIP/alice', 3, 'PJSIP/alice')
        refresh = peer.wait(lambda m: not m.body, 5, 'a refresh')
        check(failed == [refresh.branch], 'the 412 went to %r, not the refresh %s', failed, refresh.branch)
        order = lambda m: [x.branch for _, x in peer.requests()].index(m.branch)  # noqa: E731
        again = peer.wait(lambda m: order(m) > order(refresh), 3, 'the PUBLISH after the 412')
        b = body_json(again)
        check(again.get('sip-if-match') is None and b and b.get('device') == 'PJSIP/alice' and
              b.get('state') == 'INUSE', 'after 412: %s (want an initial PUBLISH of PJSIP/alice INUSE)',
              describe(again))
        wait_until(lambda: again.branch in peer.etags, 3, 'the 200 to the new initial PUBLISH')
        nxt = peer.wait(lambda m: not m.body and m.branch != refresh.branch, 5, 'the refresh after the 412')
        check(nxt.get('sip-if-match') == peer.etags[again.branch], 'refresh after 412: %s, want SIP-If-Match %s',
              describe(nxt), peer.etags[again.branch])
        return 'new initial: %s' % again.body
    return run(body, policy)


def test_burst_one_outstanding():
    """20 device changes in one batch while a PUBLISH is in flight: one PUBLISH outstanding at any moment, one
    PUBLISH per device after the one in flight, and the peer ends with each device's last state."""
    def policy(m):
        return 200, [], 0.2

    def body(env, peer):
        peer.wait(lambda m: True, 3, 'the first PUBLISH')
        wait_until(lambda: any(e[1] == 'tx' for e in list(peer.log)), 3, 'the first answer')
        n0 = len(peer.requests())
        devices = START_DEVICES
        states = ['RINGING', 'INUSE', 'ONHOLD', 'BUSY']
        lines, want = [], {}
        for st in states:
            for d in devices:
                lines.append('devstate change %s %s' % (d, st))
                want[d] = st
        check(len(lines) == 20, '%d changes', len(lines))
        env.ua.proc.stdin.write(('\n'.join(lines) + '\n').encode())
        env.ua.proc.stdin.flush()
        for n in range(20):
            r = env.ua.out.get(timeout=5)
            check(r == 'OK', 'reply %d: %r', n, r)
        got = wait_states(peer, want, 8)
        reqs = [m for _, m in peer.requests()[n0:]]
        check(peer.max_outstanding() == 1, '%d PUBLISHes outstanding at one moment', peer.max_outstanding())
        # the first change goes at once, the other 19 wait and coalesce into one per device
        check(len(reqs) == 1 + len(devices), '%d PUBLISHes for the burst, want %d:\n%s', len(reqs),
              1 + len(devices), '\n'.join(describe(m) for m in reqs))
        check(all(m.get('sip-if-match') for m in reqs), 'a burst PUBLISH without SIP-If-Match')
        return '%d PUBLISHes, peer ends with %r' % (len(reqs), got)
    return run(body, policy)


def test_filter():
    """@device_state_filter=^PJSIP/: other devices never go out."""
    def body(env, peer):
        peer.wait(lambda m: True, 3, 'the first PUBLISH')
        for d in ('Custom:park701', 'SIP/old', 'IAX2/trunk', 'Local/1000@office', 'PJSIP/lobby'):
            env.ua.ok('devstate change %s INUSE' % d)
        peer.wait(lambda m: device_of(m) == 'PJSIP/lobby', 3, 'PJSIP/lobby')
        time.sleep(0.3)
        devs = [device_of(m) for _, m in peer.requests() if device_of(m)]
        check(devs == ['PJSIP/lobby'], 'devices published: %r', devs)
        return 'published %r only' % devs
    return run(body)


def test_eid():
    """--eid: every body carries it; an invalid one is refused at start (exit 2, a clear error), nothing sent."""
    eid = '02:00:00:00:00:42'

    def body(env, peer):
        peer.wait(lambda m: True, 3, 'the first PUBLISH')
        env.ua.ok('devstate change PJSIP/alice INUSE')
        peer.wait(lambda m: device_of(m) == 'PJSIP/alice', 3, 'PJSIP/alice')
        eids = [body_json(m).get('eid') for _, m in peer.requests() if m.body]
        check(len(eids) == 2 and set(eids) == {eid}, 'eids in the bodies: %r', eids)
    run(body, extra=['--eid', eid])
    peer = Peer()
    d = tmu.make_conf(tmu.EXTRA_PJSIP + OUTPUB % {'name': 'to-peer', 'port': peer.port, 'expiration': 60})
    try:
        for bad in ('zz:00:00:00:00:01', '02:00:00:00:00', '02-00-00-00-00-01', ''):
            argv = os.environ.get('MINIUA_WRAPPER', '').split() + [
                tmu.ARGS.ua, '--listen', '127.0.0.1:0', '--extensions', os.path.join(d, 'extensions.conf'),
                '--pjsip', os.path.join(d, 'pjsip.conf'), '--eid', bad]
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
            check(p.returncode == 2 and re.search(r'--eid: six hex pairs', p.stderr),
                  '--eid %r: exit %d, %r', bad, p.returncode, p.stderr)
        time.sleep(0.2)
        check(not peer.received(), 'a UA with a bad --eid published: %r', peer.received())
    finally:
        peer.close()
        shutil.rmtree(d, ignore_errors=True)
    return 'refused: 4 malformed --eid'


def removal_of(peer, etag):
    """The removal PUBLISH transactions the peer got: Expires: 0, no body; each checked to carry etag."""
    rem = [m for _, m in peer.requests() if m.get('expires') == '0']
    for m in rem:
        check(m.get('sip-if-match') == etag and not m.body and m.get('content-type') is None,
              'removal %s, want SIP-If-Match %s and no body', describe(m), etag)
    return rem


def stop(env, how):
    """quit or SIGTERM; returns the seconds until the UA exited (exit status 0 checked)."""
    t0 = time.monotonic()
    if how == 'quit':
        env.ua.proc.stdin.write(b'quit\n')
        env.ua.proc.stdin.flush()
    else:
        env.ua.proc.send_signal(signal.SIGTERM)
    rc = env.ua.proc.wait(10)
    took = time.monotonic() - t0
    check(rc == 0, 'exit status %r after %s:\n%s', rc, how, env.ua.log()[-3000:])
    return took


def test_removal_at_quit_and_sigterm():
    """quit, and SIGTERM with a PUBLISH in flight: a PUBLISH with Expires: 0 and SIP-If-Match of the live
    publication (the etag of the answer to the one in flight), answered before the UA exits."""
    notes = []
    for how in ('quit', 'SIGTERM'):
        def policy(m):
            return (200, [], 0.3) if device_of(m) == 'PJSIP/bob' else (200, [])

        def body(env, peer):
            peer.wait(lambda m: True, 3, 'the first PUBLISH')
            env.ua.ok('devstate change PJSIP/alice INUSE')
            wait_states(peer, {'PJSIP/alice': 'INUSE'}, 3)
            # bob's PUBLISH is answered 0.3 s late: the UA stops with it in flight
            env.ua.ok('devstate change PJSIP/bob INUSE')
            bob = peer.wait(lambda m: device_of(m) == 'PJSIP/bob', 3, 'PJSIP/bob')
            took = stop(env, how)
            check(bob.branch in peer.etags, 'the PUBLISH in flight was not answered')
            rem = removal_of(peer, peer.etags[bob.branch])
            check(len(rem) == 1, '%s: %d removals:\n%s', how, len(rem), '\n'.join(describe(m) for _, m in
                                                                                     peer.requests()))
            check(rem[0].call_id == bob.call_id and rem[0].cseq[0] == bob.cseq[0] + 1,
                  'removal Call-ID/CSeq %s %r after %s %r', rem[0].call_id, rem[0].cseq, bob.call_id, bob.cseq)
            check(took < 1.0 + SLACK, '%s took %.2f s', how, took)
            check(env.ua.wait_log('removal at sip:devstate@127.0.0.1:%d: 200' % peer.port),
                  'no removal answer in the log')
            notes.append('%s: removed, exit after %.2f s' % (how, took))
        run(body, policy)
    return '; '.join(notes)


def test_removal_bounded_when_peer_is_gone():
    """A peer that answers everything but the removal: the UA still exits within about 1 s."""
    def policy(m):
        return None if m.get('expires') == '0' else (200, [])

    notes = []
    for how in ('quit', 'SIGTERM'):
        def body(env, peer):
            peer.wait(lambda m: True, 3, 'the first PUBLISH')
            wait_until(lambda: peer.etags, 3, 'the first answer')
            took = stop(env, how)
            rem = [t for t, m in peer.received() if m.get('expires') == '0']
            check(rem, 'no removal sent')
            check(0.9 <= took < 1.3 + SLACK, '%s with an unanswered removal took %.2f s (want about 1 s)', how,
                  took)
            check(len(rem) >= 2 or SLACK, 'the removal was not retransmitted (%d datagrams in %.2f s)', len(rem),
                  took)
            check(env.ua.wait_log('not removed within 1000 ms'), 'no warning in the log')
            notes.append('%s: exit after %.2f s, %d removal datagrams' % (how, took, len(rem)))
        run(body, policy)
    return '; '.join(notes)


def test_removal_on_reload():
    """A reload that drops one of two outbound publishes: that publication is removed (Expires: 0 and its
    SIP-ETag), the other one is untouched and goes on publishing."""
    p1, p2 = Peer(), Peer()
    env = None
    try:
        env = Env({'to-p1': p1, 'to-p2': p2})
        env.ua.ok('devstate change PJSIP/alice INUSE')
        for p in (p1, p2):
            wait_states(p, {'PJSIP/alice': 'INUSE'}, 3)
        n1 = len(p1.requests())
        last2 = p2.requests()[-1][1]
        path = os.path.join(env.dir, 'pjsip.conf')
        with open(path) as f:
            text = f.read()
        block = OUTPUB % {'name': 'to-p2', 'port': p2.port, 'expiration': 3600}
        check(block in text, 'to-p2 not in pjsip.conf')
        with open(path, 'w') as f:
            f.write(text.replace(block, ''))
        lines = env.ua.ok('core reload')
        check(any('outbound publish' in l for l in lines), 'reload reply %r', lines)
        rem = p2.wait(lambda m: m.get('expires') == '0', 3, 'the removal')
        removal_of(p2, p2.etags[last2.branch])
        check(rem.call_id == last2.call_id, 'removal in another call: %s vs %s', rem.call_id, last2.call_id)
        env.ua.ok('devstate change PJSIP/bob BUSY')
        wait_states(p1, {'PJSIP/bob': 'BUSY'}, 3)
        time.sleep(0.2)
        check(len(p1.requests()) == n1 + 1 and not removal_of(p1, None), 'to-p1 after the reload:\n%s',
              '\n'.join(describe(m) for _, m in p1.requests()[n1:]))
        check(not [m for _, m in p2.requests() if device_of(m) == 'PJSIP/bob'], 'to-p2 still published')
        took = stop(env, 'quit')
        check(len(removal_of(p1, p1.etags[p1.requests()[-2][1].branch])) == 1, 'to-p1 not removed at quit')
        check(len(removal_of(p2, p2.etags[last2.branch])) == 1, 'to-p2 removed twice')
        return 'to-p2 removed on reload, to-p1 at quit (%.2f s)' % took
    finally:
        if env:
            env.close()
        else:
            p1.close()
            p2.close()


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError('no %s within %.1f s' % (what, timeout))
        time.sleep(0.02)


if __name__ == '__main__':
    sys.exit(tmu.tap_main([test_423_min_expires, test_no_answer_timers_then_backoff, test_refresh_before_expiry,
                           test_412_on_refresh, test_burst_one_outstanding, test_filter, test_eid,
                           test_removal_at_quit_and_sigterm, test_removal_bounded_when_peer_is_gone,
                           test_removal_on_reload]))
