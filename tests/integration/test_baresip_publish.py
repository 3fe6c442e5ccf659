#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interop: baresip (Debian baresip-core) PUBLISHes its own presence to the
mini UA (account parameter ;pubint, ctrl_tcp presence_online and
presence_offline), and a second baresip watches that contact through the mini
UA (;presence=p2p), next to our own stdlib watcher (sipclient.py) that reads
the PIDF bodies.

    baresip "1000" --PUBLISH--> relay (records both ways) --> mini UA
    baresip "bwatch" --SUBSCRIBE 1000--> mini UA    sipclient "pwatch" --SUBSCRIBE 1000--> mini UA

The mini UA has [1000] type=endpoint and [1000] type=inbound-publication
(baresip's From is its own AOR, so the endpoint is named after it) and the hint
1000 = Dialog/1000,Publish:1000. The relay between the publisher and the mini
UA keeps every PUBLISH and its answer byte for byte, so the test asserts what
the library answered to each of baresip's bodies (including its first,
<basic>unknown</basic>, which is not valid PIDF) and what baresip sent next.

What it shows (docs/publish.md, Interoperability): the library answers every
PUBLISH 200, the first one included (it counts as no presence, not_set), and
baresip refreshes each later PUBLISH with the entity-tag it got. baresip can
only publish <basic>open</basic> or <basic>closed</basic> with no RPID
activity. The standard profile's PIDF closes a hint whose presence is
unavailable and opens a presence-only hint whose presence is set and
reachable, so the baresip watcher follows the publisher: presence_offline
shows Offline on both hints (the one with an idle device too), presence_online
Online on both; with no publication the hint with the idle device is Online
and the presence-only hint Offline.

usage: test_baresip_publish.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples
Exit status 0 (pass), 1 (fail), 77 (skipped: no baresip). Every wait is bounded."""

import os
import re
import select
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import asterisk_cli  # noqa: E402
import sipclient  # noqa: E402
import test_baresip  # noqa: E402  (Baresip: ctrl_tcp commands and the contacts listing)
import test_mini_ua as notifier_tests  # noqa: E402
from taprun import check  # noqa: E402

PUBINT = 60   # baresip's PUBLISH Expires; the mini UA's default minimum is 60

EXTRA_PJSIP = """
; ---- added by test_baresip_publish.py ----
[1000]
type=endpoint
context=peers

[1000]
type=inbound-publication
endpoint=1000
event_presence=yes

[bwatch]
type=endpoint
context=peers

[pwatch]
type=endpoint
context=peers
"""
EXTRA_EXT = """
; ---- added by test_baresip_publish.py ----
[peers]
exten => 1000,hint,Dialog/1000,Publish:1000
exten => 1001,hint,,Publish:1000
"""


class Relay:
    """A UDP relay on loopback: what comes from the mini UA goes to the last other sender, the rest to the
    mini UA; every datagram is kept as (time, 'in' (to the mini UA) or 'out', Msg)."""

    def __init__(self, ua_addr):
        self.ua = ua_addr
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.peer = None
        self.log = []
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            r, _, _ = select.select([self.sock], [], [], 0.1)
            if not r:
                continue
            try:
                data, src = self.sock.recvfrom(65535)
            except OSError:
                return
            if src == self.ua:
                direction, dest = 'out', self.peer
            else:
                self.peer = src
                direction, dest = 'in', self.ua
            try:
                msg = sipclient.Msg(data, src)
            except ValueError:
                msg = None
            with self.lock:
                self.log.append((time.monotonic(), direction, msg, data))
            if dest:
                self.sock.sendto(data, dest)

    def exchanges(self):
        """[(PUBLISH, its final answer or None)] in the order sent (retransmissions counted once)."""
        with self.lock:
            log = list(self.log)
        out, seen = [], set()
        for _, direction, m, _ in log:
            if m is None or direction != 'in' or m.method != 'PUBLISH':
                continue
            key = (m.call_id, m.cseq)
            if key in seen:
                continue
            seen.add(key)
            answer = None
            for _, d2, r, _ in log:
                if d2 == 'out' and r is not None and r.status and r.status >= 200 and \
                        (r.call_id, r.cseq) == key:
                    answer = r
                    break
            out.append((m, answer))
        return out

    def wait_publishes(self, n, timeout=6.0):
        """The first n exchanges, once all n have their final answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ex = self.exchanges()
            if len(ex) >= n and all(a is not None for _, a in ex[:n]):
                return ex[:n]
            time.sleep(0.05)
        raise AssertionError('%d PUBLISH exchanges expected, the relay has %r' % (n, [
            (m.start, m.get('sip-if-match'), a.start if a else None) for m, a in self.exchanges()]))

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


class Baresip(test_baresip.Baresip):
    """baresip with one account (aor, its parameters) and the given contact lines."""

    # pylint: disable=super-init-not-called
    def __init__(self, exe, aor_user, aor_hostport, params, contacts=()):
        self.dir = tempfile.mkdtemp(prefix='miniua-baresip-')
        self.sip = test_baresip.free_port()
        self.ctrl = test_baresip.free_port(socket.SOCK_STREAM)
        self.cons = test_baresip.free_port()
        test_baresip.write_config(self.dir, self.sip, self.cons, self.ctrl)
        with open(os.path.join(self.dir, 'accounts'), 'w') as f:
            f.write('<sip:%s@%s;transport=udp>;%s\n' % (aor_user, aor_hostport, params))
        with open(os.path.join(self.dir, 'contacts'), 'w') as f:
            for line in contacts:
                f.write(line + '\n')
        self.log = open(os.path.join(self.dir, 'stdout.log'), 'w+')
        self.proc = test_baresip.subprocess.Popen([exe, '-f', self.dir], stdin=test_baresip.subprocess.DEVNULL,
                                                  stdout=self.log, stderr=test_baresip.subprocess.STDOUT)

    def wait_ctrl(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.command('contacts')
                return
            except (OSError, ValueError, KeyError, IndexError):
                time.sleep(0.05)
        raise AssertionError('baresip ctrl_tcp did not answer:\n%s' % self.output()[-2000:])


def hint_presence(ua):
    """The Presence: field of `core show hints` for 1000@peers."""
    rows = asterisk_cli.hints(ua)
    check('1000@peers' in rows, 'core show hints: %r', rows)
    return rows['1000@peers']['presence'] or None


def wait_hint_presence(ua, want, timeout=3.0):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = hint_presence(ua)
        if got == want:
            return
        time.sleep(0.05)
    raise AssertionError('hint 1000@peers presence %r, expected %r' % (got, want))


def basic(body):
    m = re.search(r'<basic>\s*(\w+)\s*</basic>', body)
    return m.group(1) if m else None


def run(exe):
    conf = notifier_tests.make_conf(EXTRA_PJSIP, EXTRA_EXT)
    ua = relay = pub = sub = pw = None
    try:
        ua = notifier_tests.UA(conf)
        relay = Relay(ua.addr)
        # our watcher, to read the bodies themselves
        pw = sipclient.Client(ua.addr, user='pwatch')
        pd, r = pw.subscribe('1000', 'presence', accept='application/pidf+xml', expires=600)
        check(r.status == 200, 'SUBSCRIBE 1000 as pwatch: %s', r.start)
        n = pw.notify(pd)
        check(basic(n.body) == 'open', 'before any PUBLISH: %s', n.body)
        pd1, r = pw.subscribe('1001', 'presence', accept='application/pidf+xml', expires=600)
        check(r.status == 200, 'SUBSCRIBE 1001 as pwatch: %s', r.start)
        n = pw.notify(pd1)
        check(basic(n.body) == 'closed', 'presence-only hint before any PUBLISH: %s', n.body)

        # the publisher: its AOR is the relay, so every PUBLISH and answer passes there
        pub = Baresip(exe, '1000', '127.0.0.1:%d' % relay.port, 'regint=0;pubint=%d;medianat=;answermode=manual'
                      % PUBINT)
        pub.wait_ctrl()
        (p1, a1), = relay.wait_publishes(1)
        # baresip starts Unknown: its first body says <basic>unknown</basic> (not in the PIDF schema)
        check(p1.get('event') == 'presence' and p1.get('content-type') == 'application/pidf+xml'
              and p1.get('expires') == str(PUBINT) and p1.get('sip-if-match') is None,
              'first PUBLISH headers: %s', p1.raw)
        check(basic(p1.body) == 'unknown', 'first PUBLISH body: %s', p1.body)
        # the library takes it (a <basic> neither open nor closed counts as absent): 200, an entity-tag
        check(a1.status == 200 and a1.get('sip-etag') and a1.get('expires') == str(PUBINT),
              'answer to baresip\'s first PUBLISH: %s', a1.raw)
        wait_hint_presence(ua, 'not_set')
        for line in a1.raw.decode('utf-8', 'replace').splitlines():
            print('# answer to <basic>unknown</basic>: ' + line, flush=True)

        # the watcher baresip, one second after its start it SUBSCRIBEs 1000 through the mini UA
        sub = Baresip(exe, 'bwatch', '127.0.0.1:%d' % ua.addr[1], 'regint=0;pubint=0;medianat=;answermode=manual',
                      ['"Pub" <sip:1000@127.0.0.1:%d>;presence=p2p' % ua.addr[1],
                       '"PubOnly" <sip:1001@127.0.0.1:%d>;presence=p2p' % ua.addr[1]])
        sub.expect({'Pub': 'Online', 'PubOnly': 'Offline'})
        steps = ['(subscribed) Online']

        def publish(command, n_total, want_basic, want_presence, want_watcher, note):
            """One presence change; both hints' PIDF then says want_basic, and baresip shows want_watcher."""
            pub.command(command)
            ex = relay.wait_publishes(n_total)
            (p, a), (prev_p, prev_a) = ex[-1], ex[-2]
            check(p.get('sip-if-match') == prev_a.get('sip-etag'),
                  '%s: SIP-If-Match %r, the last entity-tag was %r', command, p.get('sip-if-match'),
                  prev_a.get('sip-etag'))
            check(basic(p.body) == want_basic, '%s: body %s', command, p.body)
            check(a.status == 200 and a.get('sip-etag') and a.get('sip-etag') != prev_a.get('sip-etag'),
                  '%s: answer %s', command, a.raw)
            wait_hint_presence(ua, want_presence)
            m = pw.notify(pd)
            check(basic(m.body) == want_basic, '%s: hint 1000 (device idle): %s', command, m.body)
            check((note in m.body) if note else ('<dm:note>' not in m.body), '%s: %s expected: %s', command,
                  note or 'no person note', m.body)
            m = pw.notify(pd1)
            check(basic(m.body) == want_basic, '%s: hint 1001 (presence only): %s', command, m.body)
            sub.expect({'Pub': want_watcher, 'PubOnly': want_watcher})
            steps.append('%s: %s -> %s, baresip watcher %s' % (command, want_basic, want_presence, want_watcher))

        publish('presence_offline', 2, 'closed', 'unavailable', 'Offline', '<dm:note>Unavailable</dm:note>')
        publish('presence_online', 3, 'open', 'available', 'Online', None)
        publish('presence_offline', 4, 'closed', 'unavailable', 'Offline', '<dm:note>Unavailable</dm:note>')
        publish('presence_online', 5, 'open', 'available', 'Online', None)

        # on quit baresip removes its publication (Expires 0, no body): the presence is gone again
        pub.command('quit')
        try:
            pub.proc.wait(10)
        except test_baresip.subprocess.TimeoutExpired:
            raise AssertionError('the publisher did not leave:\n%s' % pub.output()[-2000:])
        ex = relay.wait_publishes(6)
        (p, a), (_, prev_a) = ex[-1], ex[-2]
        check(p.get('expires') == '0' and p.get('sip-if-match') == prev_a.get('sip-etag') and not p.body_bytes,
              'removal: %s', p.raw)
        check(a.status == 200, 'answer to the removal: %s', a.raw)
        wait_hint_presence(ua, 'not_set')
        sub.expect({'Pub': 'Online', 'PubOnly': 'Offline'})
        steps.append('quit: removed (Expires 0) -> not_set')
        check(ua.alive(), 'the mini UA died')
        for line in steps:
            print('# ' + line, flush=True)
        return 'baresip published %d times (all 200), the watchers followed' % len(relay.exchanges())
    finally:
        for b in (pub, sub):
            if b:
                b.close()
        if pw:
            pw.close()
        if relay:
            relay.close()
        if ua:
            ua.quit()
        test_baresip.shutil.rmtree(conf, ignore_errors=True)


def main():
    return notifier_tests.client_main('baresip', 'baresip-core', run)


if __name__ == '__main__':
    sys.exit(main())
