#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of `sippres-mini-ua subscribe` (the subscriber mode) on
loopback: against the notifier mode of the same binary (both sides real), and
against scripted peers written here with the standard library (a notifier
that misbehaves on purpose, a peer that never answers). The checks read what
the subscriber prints on standard output.

usage: test_subscriber.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples --golden SRC/tests/golden [-k NAME]
Prints TAP. Every wait is bounded. MINIUA_WRAPPER="valgrind -q --error-exitcode=99"
runs both modes under a tool."""

import argparse
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sipclient  # noqa: E402
from taprun import check  # noqa: E402
import taprun  # noqa: E402
import test_mini_ua as notifier_tests  # noqa: E402  (the notifier as a child process: UA, make_conf)
from sipclient import Msg  # noqa: E402

ARGS = None



class Notify:
    """One printed NOTIFY: its "=== NOTIFY n from ..." line, first line, headers, body lines."""

    def __init__(self, title):
        self.title = title
        self.start = None
        self.headers = {}
        self.body_lines = []
        self.in_body = False

    @property
    def body(self):
        return '\n'.join(self.body_lines)

    def get(self, name):
        return self.headers.get(name.lower())

    def parts(self):
        """[(label, content-type line, text)] of a printed multipart body."""
        out = []
        for line in self.body_lines:
            m = re.match(r'--- part (\S+) of (\d+): Content-Type: (.*)$', line)
            if m:
                out.append([m.group(1), m.group(3), []])
            elif out:
                out[-1][2].append(line)
        return [(label, ct, '\n'.join(text)) for label, ct, text in out]

    def __repr__(self):
        return '<%s | %s | %r>' % (self.title, self.start, self.headers)


class Sub:
    """`sippres-mini-ua subscribe URI ...` as a child process; its output as a queue of items:
    ('event', text) for each "=== " line, ('notify', Notify) for each printed NOTIFY."""

    def __init__(self, uri, *args):
        argv = os.environ.get('MINIUA_WRAPPER', '').split() + [ARGS.ua, 'subscribe', uri] + list(args)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.items = queue.Queue()
        self.out = []
        self.err = []
        self.t0 = time.monotonic()
        self.readers = [threading.Thread(target=self._read_out, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.readers:
            t.start()

    def _read_out(self):
        cur = None
        for raw in self.proc.stdout:
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            self.out.append(line)
            if cur is None:
                if line.startswith('=== NOTIFY '):
                    cur = Notify(line)
                elif line.startswith('=== '):
                    self.items.put(('event', line[4:], time.monotonic()))
                else:
                    self.items.put(('stray', line, time.monotonic()))
                continue
            if line.startswith('=== end of NOTIFY'):
                self.items.put(('notify', cur, time.monotonic()))
                cur = None
            elif cur.start is None:
                cur.start = line
            elif not cur.in_body:
                if line == '':
                    cur.in_body = True
                else:
                    name, _, value = line.partition(': ')
                    cur.headers[name.lower()] = value
            else:
                cur.body_lines.append(line)
        self.items.put(None)

    def _read_err(self):
        for raw in self.proc.stderr:
            self.err.append(raw.decode('utf-8', 'replace'))

    def next(self, timeout=5.0):
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError('the subscriber printed nothing more within %.1fs; so far:\n%s\nstderr:\n%s'
                                 % (timeout, '\n'.join(self.out[-40:]), ''.join(self.err[-20:])))
        if item is None:
            self.items.put(None)
            raise AssertionError('the subscriber ended (status %r); output:\n%s\nstderr:\n%s'
                                 % (self.proc.poll(), '\n'.join(self.out[-40:]), ''.join(self.err[-20:])))
        check(item[0] != 'stray', 'a line outside any NOTIFY: %r', item[1])
        return item

    def event(self, pattern, timeout=5.0):
        kind, what, _ = self.next(timeout)
        check(kind == 'event' and re.search(pattern, what), 'expected an event line /%s/, got %s %r',
              pattern, kind, what)
        return what

    def notify(self, timeout=5.0):
        kind, what, _ = self.next(timeout)
        check(kind == 'notify', 'expected a NOTIFY, got %s %r', kind, what)
        return what

    def wait(self, timeout=10.0):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError('the subscriber did not exit within %.1fs:\n%s' % (timeout, '\n'.join(self.out)))
        # the process is gone, but its last output may still be on its way to out and err: read it all
        for t in self.readers:
            t.join(5)
        return rc

    def finished(self, rc=0, timeout=10.0):
        got = self.wait(timeout)
        check(got == rc, 'exit status %r, expected %r; stderr:\n%s', got, rc, ''.join(self.err))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stderr(self):
        return ''.join(self.err)


def check_notify(n, number, event, state, ctype, cseq=None):
    check(n.title.startswith('=== NOTIFY %d from 127.0.0.1:' % number) or
          n.title.startswith('=== NOTIFY %d from [::1]:' % number), 'title %r', n.title)
    check(re.fullmatch(r'NOTIFY sip:\S+ SIP/2\.0', n.start or ''), 'first line %r', n.start)
    check(n.get('event') == event, 'Event %r, expected %r', n.get('event'), event)
    check(re.fullmatch(state, n.get('subscription-state') or ''), 'Subscription-State %r, expected /%s/',
          n.get('subscription-state'), state)
    if ctype:
        check((n.get('content-type') or '').startswith(ctype), 'Content-Type %r, expected %r',
              n.get('content-type'), ctype)
    check(re.fullmatch(r'\d+ NOTIFY', n.get('cseq') or ''), 'CSeq %r', n.get('cseq'))
    if cseq is not None:
        check(n.get('cseq') == '%d NOTIFY' % cseq, 'CSeq %r, expected %d', n.get('cseq'), cseq)
    return n


class Notifier:
    """The notifier mode on the examples config plus the test endpoints of test_mini_ua."""

    def __init__(self, family=socket.AF_INET):
        self.dir = notifier_tests.make_conf()
        self.ua = notifier_tests.UA(self.dir, listen='127.0.0.1:0' if family == socket.AF_INET else '[::1]:0')
        host = self.ua.addr[0]
        self.hostport = ('[%s]' % host if ':' in host else host) + ':%d' % self.ua.addr[1]

    def uri(self, user):
        return 'sip:%s@%s' % (user, self.hostport)

    def subs(self):
        return self.ua.ok('sippres show subscriptions')

    def close(self):
        self.ua.quit()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- against the notifier mode ------------------------------------------------------------

def test_dialog_blf_change_and_sigint():
    nt = Notifier()
    sub = None
    try:
        sub = Sub(nt.uri('1000'), '--event', 'dialog', '--accept', 'application/dialog-info+xml',
                  '--from', 'sip:alice@127.0.0.1')
        sub.event(r'^SUBSCRIBE sip:1000@127\.0\.0\.1:\d+ Event: dialog, Expires: 600, from 127\.0\.0\.1:\d+$')
        sub.event(r'^200 OK: subscribed, Expires: 600$')
        n = check_notify(sub.notify(), 1, 'dialog', r'active;expires=(59\d|600)', 'application/dialog-info+xml', 1)
        check(n.start.startswith('NOTIFY sip:alice@127.0.0.1:'), 'Contact user: %r', n.start)
        check('version="0"' in n.body and 'state="full"' in n.body and '<dialog ' not in n.body, 'idle: %s', n.body)
        lines = nt.subs()
        check(len(lines) == 1 and lines[0].startswith('alice 1000@office event=dialog'), 'subscriptions %r', lines)
        nt.ua.ok('call set PJSIP/alice c1@pbx early direction=recipient remote=sip:1001@pbx '
                 'remote_display="Bob Brown"')
        nt.ua.ok('devstate change PJSIP/alice RINGING')
        n = check_notify(sub.notify(), 2, 'dialog', r'active;expires=\d+', 'application/dialog-info+xml', 2)
        check('version="1"' in n.body and '<state>early</state>' in n.body and 'display="Bob Brown"' in n.body,
              'ringing: %s', n.body)
        sub.proc.send_signal(signal.SIGINT)
        sub.event(r'^unsubscribing \(signal\): SUBSCRIBE with Expires: 0$')
        sub.event(r'^200 OK: unsubscribed, waiting for the final NOTIFY$')
        n = check_notify(sub.notify(), 3, 'dialog', r'terminated;reason=timeout', 'application/dialog-info+xml', 3)
        check('version="2"' in n.body and '<state>early</state>' in n.body, 'final NOTIFY keeps the state: %s',
              n.body)
        sub.event(r'^subscription terminated \(reason=timeout\)$')
        sub.finished(0)
        check(nt.subs() == [], 'the notifier still lists it')
    finally:
        if sub:
            sub.kill()
        nt.close()


def test_presence_count():
    nt = Notifier()
    sub = None
    try:
        sub = Sub(nt.uri('1001'), '--accept', 'application/pidf+xml', '--from', 'sip:alice@127.0.0.1',
                  '--count', '2')
        sub.event(r'^SUBSCRIBE .* Event: presence, Expires: 600')
        sub.event(r'^200 OK: subscribed, Expires: 600$')
        n = check_notify(sub.notify(), 1, 'presence', r'active;expires=(59\d|600)', 'application/pidf+xml')
        c1 = int(n.get('cseq').split()[0])
        check('<basic>open</basic>' in n.body and '<note>Ready</note>' in n.body, 'idle: %s', n.body)
        nt.ua.ok('devstate change PJSIP/bob INUSE')
        n = check_notify(sub.notify(), 2, 'presence', r'active;expires=\d+', 'application/pidf+xml', c1 + 1)
        check('<note>On the phone</note>' in n.body and '<rpid:on-the-phone/>' in n.body, 'inuse: %s', n.body)
        sub.event(r'^unsubscribing \(after --count NOTIFYs\)')
        sub.event(r'^200 OK: unsubscribed')
        check_notify(sub.notify(), 3, 'presence', r'terminated;reason=timeout', 'application/pidf+xml', c1 + 2)
        sub.event(r'^subscription terminated \(reason=timeout\)$')
        sub.finished(0)
        check(nt.subs() == [], 'the notifier still lists it')
    finally:
        if sub:
            sub.kill()
        nt.close()


def test_list_eventlist_parts():
    nt = Notifier()
    sub = None
    try:
        sub = Sub(nt.uri('office-blf'), '--event', 'dialog', '--accept', 'application/dialog-info+xml',
                  '--eventlist', '--from', 'sip:carol@127.0.0.1', '--duration', '2.5')
        sub.event(r'^SUBSCRIBE sip:office-blf@')
        sub.event(r'^200 OK: subscribed, Expires: 600$')
        n = check_notify(sub.notify(), 1, 'dialog', r'active;expires=(59\d|600)', 'multipart/related')
        check(n.get('require') == 'eventlist', 'Require %r', n.get('require'))
        parts = n.parts()
        check([p[0] for p in parts] == ['1', '2', '3', '4'], 'parts %r', [p[:2] for p in parts])
        check(parts[0][1].startswith('application/rlmi+xml') and 'fullState="true"' in parts[0][2]
              and '<name>Alice Adams</name>' in parts[0][2], 'RLMI part: %r', parts[0])
        for (label, ct, text), user in zip(parts[1:], ('1000', '1001', '1002')):
            check(ct.startswith('application/dialog-info+xml, Content-ID: <'), 'part %s type %r', label, ct)
            check(text.startswith('<?xml') and 'entity="sip:%s@' % user in text, 'part %s: %s', label, text)
        nt.ua.ok('devstate change PJSIP/bob RINGING')
        n = check_notify(sub.notify(), 2, 'dialog', r'active;expires=\d+', 'multipart/related')
        parts = n.parts()
        check([p[0] for p in parts] == ['1', '2'], 'partial NOTIFY parts %r', [p[:2] for p in parts])
        check('fullState="false"' in parts[0][2] and 'entity="sip:1001@' in parts[1][2]
              and '<state>early</state>' in parts[1][2], 'partial: %s', n.body)
        sub.event(r'^unsubscribing \(end of --duration\)', 4)
        sub.event(r'^200 OK: unsubscribed')
        n = check_notify(sub.notify(), 3, 'dialog', r'terminated;reason=timeout', 'multipart/related')
        parts = n.parts()
        check(len(parts) == 4 and parts[0][2].count('state="terminated"') == 3, 'final list NOTIFY: %s', n.body)
        sub.event(r'^subscription terminated')
        sub.finished(0)
    finally:
        if sub:
            sub.kill()
        nt.close()


def test_refresh_at_half_expiry():
    nt = Notifier()
    sub = None
    try:
        t0 = time.monotonic()
        sub = Sub(nt.uri('1002'), '--from', 'sip:tester@127.0.0.1', '--expires', '2', '--duration', '2.8')
        sub.event(r'^SUBSCRIBE ')
        sub.event(r'^200 OK: subscribed, Expires: 2$')
        check_notify(sub.notify(), 1, 'presence', r'active;expires=[12]', 'application/pidf+xml')
        call_ids = {l.split('call-id=')[1].split()[0] for l in nt.subs()}
        refreshes = []
        for _ in range(2):
            sub.event(r'^refreshing: SUBSCRIBE with Expires: 2$', 3)
            refreshes.append(time.monotonic() - t0)
            sub.event(r'^200 OK: refreshed, Expires: 2$')
            check_notify(sub.notify(), len(refreshes) + 1, 'presence', r'active;expires=[12]', None)
            later = {l.split('call-id=')[1].split()[0] for l in nt.subs()}
            check(later == call_ids and len(later) == 1, 'one subscription, the same dialog: %r %r', call_ids, later)
        check(0.7 <= refreshes[0] <= 1.8 and 0.7 <= refreshes[1] - refreshes[0] <= 1.5,
              'refreshed at %r s (granted 2 s)', refreshes)
        sub.event(r'^unsubscribing \(end of --duration\)', 3)
        sub.event(r'^200 OK: unsubscribed')
        check_notify(sub.notify(), 4, 'presence', r'terminated;reason=timeout', None)
        sub.event(r'^subscription terminated')
        sub.finished(0)
    finally:
        if sub:
            sub.kill()
        nt.close()


def test_423_then_min_expires():
    nt = Notifier()
    sub = None
    try:
        sub = Sub(nt.uri('1001'), '--from', 'sip:alice@127.0.0.1', '--expires', '30', '--count', '1')
        sub.event(r'^SUBSCRIBE .* Expires: 30,')
        sub.event(r'^423 Interval Too Brief, Min-Expires: 60: subscribing again with Expires: 60$')
        sub.event(r'^200 OK: subscribed, Expires: 60$')
        check_notify(sub.notify(), 1, 'presence', r'active;expires=(5\d|60)', 'application/pidf+xml')
        sub.event(r'^unsubscribing \(after 1 NOTIFY\)')
        sub.event(r'^200 OK: unsubscribed')
        check_notify(sub.notify(), 2, 'presence', r'terminated;reason=timeout', None)
        sub.event(r'^subscription terminated')
        sub.finished(0)
    finally:
        if sub:
            sub.kill()
        nt.close()


def test_fetch_with_expires_0():
    nt = Notifier()
    sub = None
    try:
        nt.ua.ok('presencestate change CustomPresence:alice away,lunch,Out to lunch')
        sub = Sub(nt.uri('1000'), '--from', 'sip:tester@127.0.0.1', '--expires', '0')
        sub.event(r'^SUBSCRIBE .* Expires: 0,')
        sub.event(r'^200 OK: subscribed, Expires: 0$')
        n = check_notify(sub.notify(), 1, 'presence', r'terminated;reason=timeout', 'application/pidf+xml')
        check('<rpid:away/>' in n.body and 'Out to lunch' in n.body, 'fetched state: %s', n.body)
        sub.event(r'^subscription terminated')
        sub.finished(0)
        check(nt.subs() == [], 'a fetch left a subscription')
    finally:
        if sub:
            sub.kill()
        nt.close()


def test_error_responses():
    nt = Notifier()
    try:
        cases = [
            ((nt.uri('9999'), '--from', 'sip:alice@127.0.0.1'), r'^404 Not Found: the SUBSCRIBE failed$', None),
            ((nt.uri('1000'),), r'^403 Forbidden: the SUBSCRIBE failed$', None),  # From user "subscriber"
            ((nt.uri('1000'), '--from', 'sip:lobby@127.0.0.1'), r'^603 Decline: the SUBSCRIBE failed$', None),
            ((nt.uri('1000'), '--from', 'sip:alice@127.0.0.1', '--event', 'message-summary'),
             r'^489 Bad Event: the SUBSCRIBE failed$', r'^    Allow-Events: presence, dialog$'),
            ((nt.uri('1000'), '--from', 'sip:alice@127.0.0.1', '--accept', 'text/plain'),
             r'^406 Not Acceptable: the SUBSCRIBE failed$', r'^    Accept: '),
        ]
        for args, status, header in cases:
            sub = Sub(*args)
            try:
                sub.event(r'^SUBSCRIBE ')
                sub.event(status)
                sub.finished(1)
                if header:
                    check([l for l in sub.out if re.search(header, l)], '%s: no %s in %r', status, header, sub.out)
                if status.startswith('^403'):
                    check('--from sip:ENDPOINT@HOST' in sub.stderr(), 'no hint for 403: %s', sub.stderr())
            finally:
                sub.kill()
        check(nt.subs() == [], 'a failed SUBSCRIBE left a subscription')
        # bad command lines: 2, and nothing sent
        for args in ((), ('tel:+1555',), (nt.uri('1000'), '--expires', '-1'), (nt.uri('1000'), '--count', '0'),
                     (nt.uri('1000'), '--duration', 'x'), (nt.uri('1000'), nt.uri('1001')),
                     (nt.uri('1000'), '--listen', '[::1]:0'), (nt.uri('1000'), '--bogus')):
            sub = Sub(*args) if args else Sub('--t1', '50')
            try:
                sub.finished(2, 5)
            finally:
                sub.kill()
    finally:
        nt.close()


def test_ipv6():
    nt = Notifier(family=socket.AF_INET6)
    sub = None
    try:
        sub = Sub(nt.uri('1001'), '--from', 'sip:alice@[::1]', '--count', '1')
        sub.event(r'^SUBSCRIBE sip:1001@\[::1\]:\d+ Event: presence, Expires: 600, from \[::1\]:\d+$')
        sub.event(r'^200 OK: subscribed')
        n = check_notify(sub.notify(), 1, 'presence', r'active;expires=\d+', 'application/pidf+xml')
        check(n.start.startswith('NOTIFY sip:alice@[::1]:'), 'IPv6 Contact: %r', n.start)
        sub.event(r'^unsubscribing')
        sub.event(r'^200 OK: unsubscribed')
        check_notify(sub.notify(), 2, 'presence', r'terminated;reason=timeout', None)
        sub.event(r'^subscription terminated')
        sub.finished(0)
    finally:
        if sub:
            sub.kill()
        nt.close()


# ---- against scripted peers -------------------------------------------------------------------

class Peer:
    """A UDP socket on loopback playing the notifier by hand."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]

    def recv(self, timeout=3.0):
        self.sock.settimeout(timeout)
        try:
            data, src = self.sock.recvfrom(65535)
        except socket.timeout:
            return None
        return Msg(data, src)

    def expect(self, pred, what, timeout=3.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            m = self.recv(left) if left > 0 else None
            if m is None:
                raise AssertionError('no %s within %.1fs' % (what, timeout))
            if pred(m):
                return m

    def send(self, text, dest, body=b''):
        if isinstance(body, str):
            body = body.encode()
        data = text.replace('\n', '\r\n').encode() + b'Content-Length: %d\r\n\r\n' % len(body) + body
        self.sock.sendto(data, dest)

    def close(self):
        self.sock.close()


def test_timer_f_and_provisional():
    # nobody answers: timers E (T1 = 50 ms, doubling) then F at 64*T1 = 3.2 s
    peer = Peer()
    sub = None
    try:
        t0 = time.monotonic()
        sub = Sub('sip:1000@127.0.0.1:%d' % peer.port, '--t1', '50')
        got = []
        while time.monotonic() - t0 < 4.5:
            m = peer.recv(0.2)
            if m is not None:
                got.append((time.monotonic() - t0, m))
        sub.event(r'^SUBSCRIBE ')
        sub.event(r'^no answer to the SUBSCRIBE \(CSeq 1\) within 3200 ms \(timer F\)$')
        sub.finished(1)
        check(all(m.method == 'SUBSCRIBE' for _, m in got), 'not all SUBSCRIBEs: %r', got)
        check(len({m.branch for _, m in got}) == 1 and len({m.cseq for _, m in got}) == 1,
              'retransmissions changed branch or CSeq: %r', [(m.branch, m.cseq) for _, m in got])
        check(6 <= len(got) <= 8, '%d transmissions in 3.2 s with T1 = 50 ms', len(got))
        gaps = [b[0] - a[0] for a, b in zip(got, got[1:])]
        # the intervals from 200 ms on (50 and 100 ms ones are within a loaded machine's scheduling jitter)
        check(len(gaps) >= 5 and all(g2 > g1 * 1.4 for g1, g2 in zip(gaps[2:], gaps[3:])),
              'intervals do not double: %r', gaps)
        s = got[0][1]
        check(s.get('event') == 'presence' and s.get('expires') == '600' and s.get('max-forwards') == '70'
              and s.branch.startswith('z9hG4bK') and s.from_tag and s.to_tag is None
              and s.get('contact').startswith('<sip:subscriber@127.0.0.1:'), 'SUBSCRIBE: %s', s.raw)
        # a 100 Trying stops the fast retransmissions (every T2 = 4 s from then on): one SUBSCRIBE, then F
        t0 = time.monotonic()
        sub = Sub('sip:1000@127.0.0.1:%d' % peer.port, '--t1', '50')
        first = peer.expect(lambda m: m.method == 'SUBSCRIBE', 'SUBSCRIBE')
        peer.send('SIP/2.0 100 Trying\n%s' % ''.join('%s: %s\n' % (n.title(), first.get(n)) for n in
                                                     ('via', 'from', 'to', 'call-id', 'cseq')), first.src)
        again = []
        while time.monotonic() - t0 < 3.8:
            m = peer.recv(0.2)
            if m is not None:
                again.append(m)
        sub.event(r'^SUBSCRIBE ')
        sub.event(r'timer F')
        sub.finished(1)
        check(len(again) <= 1, 'retransmitted after 100 Trying: %d', len(again))
    finally:
        if sub:
            sub.kill()
        peer.close()


def test_scripted_notifier():
    """A hand-written notifier: NOTIFY before the 200, a retransmitted NOTIFY, out-of-order CSeq,
    wrong Event, foreign dialogs, OPTIONS/INFO, a nested multipart body, and the notifier's own end."""
    peer = Peer()
    sub = None
    golden = ARGS.golden
    try:
        sub = Sub('sip:list@127.0.0.1:%d' % peer.port, '--event', 'presence', '--eventlist', '--accept',
                  'application/pidf+xml', '--from', 'sip:carol@127.0.0.1', '--expires', '60')
        s = peer.expect(lambda m: m.method == 'SUBSCRIBE', 'SUBSCRIBE')
        check(s.all('accept') == ['application/pidf+xml', 'multipart/related', 'application/rlmi+xml']
              and s.get('supported') == 'eventlist' and s.get('expires') == '60', 'list SUBSCRIBE: %s', s.raw)
        check(s.get('from').startswith('<sip:carol@127.0.0.1>;tag='), 'From %r', s.get('from'))
        dest = s.src
        contact = re.search(r'<([^>]+)>', s.get('contact')).group(1)
        dialog = dict(callid=s.call_id, ftag=s.from_tag, me='sip:list@127.0.0.1:%d' % peer.port)

        def notify(cseq, state='active;expires=60', event='presence', body='', ctype='application/pidf+xml',
                   branch=None, callid=None, ftag='nt1'):
            branch = branch or 'z9hG4bK' + sipclient.token(10)
            peer.send('NOTIFY %s SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\nFrom: <%s>;tag=%s\n'
                      'To: <sip:carol@127.0.0.1>;tag=%s\nCall-ID: %s\nCSeq: %d NOTIFY\nMax-Forwards: 70\n'
                      'Contact: <%s>\nEvent: %s\nSubscription-State: %s\n%s'
                      % (contact, peer.port, branch, dialog['me'], ftag, dialog['ftag'], callid or dialog['callid'],
                         cseq, dialog['me'], event, state, 'Content-Type: %s\n' % ctype if body else ''),
                      dest, body)
            return branch

        def answer(cseq, what):
            m = peer.expect(lambda m: m.status and m.cseq == (cseq, 'NOTIFY'), 'answer to %s' % what)
            return m

        # a NOTIFY before the 200 creates the dialog (RFC 6665 4.1.2.4)
        b1 = notify(1, body='<?xml version="1.0"?><presence entity="x"><note>first</note></presence>')
        r = answer(1, 'NOTIFY before the 200')
        check(r.status == 200 and r.to_tag == dialog['ftag'] and r.from_tag == 'nt1', 'answer: %s', r.raw)
        peer.send('SIP/2.0 200 OK\n%sExpires: 60\nContact: <%s>\nRequire: eventlist\n'
                  % (''.join('%s: %s\n' % (n.title(), s.get(n)) for n in ('via', 'from', 'call-id', 'cseq'))
                     + 'To: %s;tag=nt1\n' % s.get('to'), dialog['me']), dest)
        # the same NOTIFY again (same branch): the same answer, printed once
        notify(1, body='<?xml version="1.0"?><presence entity="x"><note>first</note></presence>', branch=b1)
        r = answer(1, 'retransmitted NOTIFY')
        check(r.status == 200, 'retransmission: %s', r.start)
        # the same CSeq with a new branch: out of order
        notify(1, body='<x/>')
        check(answer(1, 'old CSeq').status == 500, 'old CSeq not refused')
        # not our event package
        notify(2, event='dialog', body='<x/>')
        check(answer(2, 'wrong Event').status == 489, 'wrong Event not refused')
        # other dialogs: 481
        notify(3, callid='someone-else', body='<x/>')
        check(answer(3, 'unknown Call-ID').status == 481, 'foreign Call-ID accepted')
        notify(3, ftag='other-tag', body='<x/>')
        check(answer(3, 'other From tag').status == 481, 'foreign From tag accepted')
        # OPTIONS and INFO
        for method, want in (('OPTIONS', 200), ('INFO', 405)):
            peer.send('%s %s SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\nFrom: <%s>;tag=o1\n'
                      'To: <%s>\nCall-ID: o-%s\nCSeq: 1 %s\nMax-Forwards: 70\n'
                      % (method, contact, peer.port, sipclient.token(8), dialog['me'], contact, method, method), dest)
            m = peer.expect(lambda m: m.status and m.cseq == (1, method), 'answer to %s' % method)
            check(m.status == want, '%s: %s', method, m.start)
        # a nested list body, part by part
        with open(os.path.join(golden, 'standard', 'list5-initial-nested.multipart'), 'rb') as f:
            mp = f.read()
        with open(os.path.join(golden, 'standard', 'list5-initial-nested.content-type')) as f:
            mpct = f.read().strip()
        notify(4, body=mp, ctype=mpct)
        check(answer(4, 'list NOTIFY').status == 200, 'list NOTIFY refused')
        # the notifier shortens the subscription to 2 s: a refresh within about a second, in the dialog,
        # to the Contact of the 200
        t0 = time.monotonic()
        notify(5, state='active;expires=2', body='<?xml version="1.0"?><presence entity="x"/>')
        check(answer(5, 'shortening NOTIFY').status == 200, 'shortening NOTIFY refused')
        rs = peer.expect(lambda m: m.method == 'SUBSCRIBE', 'refresh', 3)
        check(time.monotonic() - t0 <= 2.0, 'refreshed after %.2fs', time.monotonic() - t0)
        check(rs.uri == dialog['me'] and rs.to_tag == 'nt1' and rs.from_tag == dialog['ftag']
              and rs.call_id == dialog['callid'] and rs.cseq == (s.cseq[0] + 1, 'SUBSCRIBE')
              and rs.get('expires') == '60' and rs.branch != s.branch, 'refresh: %s', rs.raw)
        peer.send('SIP/2.0 200 OK\n%sExpires: 60\n' % ''.join('%s: %s\n' % (n.title(), rs.get(n)) for n in
                                                            ('via', 'from', 'to', 'call-id', 'cseq')), dest)
        # the notifier ends it
        notify(6, state='terminated;reason=noresource', body='')
        check(answer(6, 'terminated NOTIFY').status == 200, 'final NOTIFY refused')
        sub.finished(0)
        # what it printed: each NOTIFY once, in order
        sub.event(r'^SUBSCRIBE sip:list@')
        n = check_notify(sub.notify(), 1, 'presence', r'active;expires=60', 'application/pidf+xml', 1)
        check('<note>first</note>' in n.body, 'first body %r', n.body)
        sub.event(r'^200 OK: subscribed, Expires: 60$')
        n = check_notify(sub.notify(), 2, 'presence', r'active;expires=60', 'multipart/related', 4)
        labels = [p[0] for p in n.parts()]
        check(labels[:3] == ['1', '2', '3'] and '3.1' in labels and '3.2' in labels, 'nested parts %r', labels)
        check_notify(sub.notify(), 3, 'presence', r'active;expires=2', 'application/pidf+xml', 5)
        sub.event(r'^refreshing: SUBSCRIBE with Expires: 60$')
        sub.event(r'^200 OK: refreshed, Expires: 60$')
        n = check_notify(sub.notify(), 4, 'presence', r'terminated;reason=noresource', None, 6)
        check(n.body == '(empty body)', 'empty body printed as %r', n.body)
        sub.event(r'^subscription terminated \(reason=noresource\)$')
        # the notifier ended it: no un-SUBSCRIBE
        m = peer.recv(0.3)
        check(m is None, 'sent after the end: %s', m and m.start)
    finally:
        if sub:
            sub.kill()
        peer.close()



TESTS = [
    test_dialog_blf_change_and_sigint,
    test_presence_count,
    test_list_eventlist_parts,
    test_refresh_at_half_expiry,
    test_423_then_min_expires,
    test_fetch_with_expires_0,
    test_error_responses,
    test_ipv6,
    test_timer_f_and_provisional,
    test_scripted_notifier,
]


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument('--ua', required=True)
    p.add_argument('--examples', required=True)
    p.add_argument('--golden', required=True)
    p.add_argument('-k', default='')
    ARGS = p.parse_args()
    notifier_tests.ARGS = ARGS
    return taprun.run(TESTS, ARGS.k)


if __name__ == '__main__':
    sys.exit(main())
