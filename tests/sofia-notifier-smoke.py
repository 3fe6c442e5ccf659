#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Smoke test for examples/sofia-notifier (sofia-sip NUA + libsippresence).

Starts sippres-sofia-notifier on 127.0.0.1 with a free UDP port and talks to it
with a small SIP client written here on the Python standard library (no SIP
library, no code of the project): SUBSCRIBE, the 200 and the NOTIFYs (headers
and PIDF / dialog-info bodies), device state changes through the notifier's
standard input, refresh, a NOTIFY answered 481, unsubscribe, the library's
decisions passed through (403, 404, 406, 489, fetch), OPTIONS and INVITE, and
the final NOTIFYs on quit. Loopback only; every wait is bounded.

usage: sofia-notifier-smoke.py PATH-TO-sippres-sofia-notifier
Exit status: 0 pass, 1 fail, 77 skipped (the example was not built).
"""
import os
import random
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

PIDF = '{urn:ietf:params:xml:ns:pidf}'
RPID = '{urn:ietf:params:xml:ns:pidf:rpid}'
DINFO = '{urn:ietf:params:xml:ns:dialog-info}'
COMPACT = {'i': 'call-id', 'f': 'from', 't': 'to', 'v': 'via', 'm': 'contact', 'l': 'content-length',
           'c': 'content-type', 'o': 'event', 'k': 'supported', 'u': 'allow-events'}

checks = 0


class Fail(Exception):
    pass


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise Fail(what)


class Msg:
    def __init__(self, data):
        text = data.decode('utf-8', 'replace')
        head, _, body = text.partition('\r\n\r\n')
        lines = head.split('\r\n')
        self.first = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (' ', '\t') and self.headers:  # folded line
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + ' ' + line.strip())
                continue
            name, _, value = line.partition(':')
            name = name.strip().lower()
            self.headers.append((COMPACT.get(name, name), value.strip()))
        self.body = body.encode('utf-8')
        self.raw = data
        self.is_request = not self.first.startswith('SIP/2.0 ')
        if self.is_request:
            self.method = self.first.split(' ', 1)[0]
        else:
            self.status = int(self.first.split(' ')[1])

    def get(self, name, default=None):
        for n, v in self.headers:
            if n == name:
                return v
        return default

    def all(self, name):
        return [v for n, v in self.headers if n == name]

    def tag(self, name):
        m = re.search(r';\s*tag=([^;>\s]+)', self.get(name, ''))
        return m.group(1) if m else None

    def cseq(self):
        num, method = self.get('cseq').split()
        return int(num), method


class Dialog:
    def __init__(self, ua, user, resource, event, accept):
        self.ua = ua
        self.user = user
        self.resource = resource
        self.event = event
        self.accept = accept
        self.call_id = '%x@127.0.0.1' % random.getrandbits(64)
        self.from_tag = '%x' % random.getrandbits(40)
        self.to_tag = None
        self.cseq = random.randint(1, 1000)
        self.notifies = []
        self.notify_answer = 200
        self.last_notify_cseq = 0
        self.answered = 200


class UA:
    """A tiny UDP SIP subscriber: sends SUBSCRIBEs, answers NOTIFYs."""

    def __init__(self, server_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.server = ('127.0.0.1', server_port)
        self.dialogs = {}
        self.responses = {}  # branch -> final response
        self.stray = []

    def subscribe(self, d, expires, extra=None, timeout=5.0):
        d.cseq += 1
        branch = 'z9hG4bK%x' % random.getrandbits(48)
        lines = [
            'SUBSCRIBE sip:%s@127.0.0.1:%d SIP/2.0' % (d.resource, self.server[1]),
            'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport' % (self.port, branch),
            'Max-Forwards: 70',
            'From: <sip:%s@127.0.0.1>;tag=%s' % (d.user, d.from_tag),
            'To: <sip:%s@127.0.0.1:%d>%s' % (d.resource, self.server[1], ';tag=' + d.to_tag if d.to_tag else ''),
            'Call-ID: %s' % d.call_id,
            'CSeq: %d SUBSCRIBE' % d.cseq,
            'Contact: <sip:%s@127.0.0.1:%d>' % (d.user, self.port),
            'Event: %s' % d.event,
            'User-Agent: sofia-notifier-smoke',
        ]
        if d.accept:
            lines.append('Accept: %s' % d.accept)
        if expires is not None:
            lines.append('Expires: %d' % expires)
        lines += extra or []
        lines += ['Content-Length: 0', '', '']
        self.dialogs[d.call_id] = d
        data = '\r\n'.join(lines).encode()
        self.sock.sendto(data, self.server)
        deadline = time.monotonic() + timeout
        resend = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if branch in self.responses:
                r = self.responses.pop(branch)
                if r.status == 200 and not d.to_tag:
                    d.to_tag = r.tag('to')
                return r
            self.pump(min(resend, deadline) - time.monotonic())
            if time.monotonic() >= resend and branch not in self.responses:  # timer E, UDP
                self.sock.sendto(data, self.server)
                resend = time.monotonic() + 1.0
        raise Fail('no final response to SUBSCRIBE %s %s' % (d.resource, d.event))

    def request(self, method, timeout=5.0):
        """An out-of-dialog request without body; returns the final response."""
        branch = 'z9hG4bK%x' % random.getrandbits(48)
        data = '\r\n'.join([
            '%s sip:1000@127.0.0.1:%d SIP/2.0' % (method, self.server[1]),
            'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport' % (self.port, branch),
            'Max-Forwards: 70', 'From: <sip:alice@127.0.0.1>;tag=%x' % random.getrandbits(32),
            'To: <sip:1000@127.0.0.1:%d>' % self.server[1], 'Call-ID: %x@127.0.0.1' % random.getrandbits(64),
            'CSeq: 1 %s' % method, 'Contact: <sip:alice@127.0.0.1:%d>' % self.port,
            'Content-Length: 0', '', '']).encode()
        self.sock.sendto(data, self.server)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if branch in self.responses:
                return self.responses.pop(branch)
            self.pump(deadline - time.monotonic())
        raise Fail('no final response to %s' % method)

    def pump(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data, addr = self.sock.recvfrom(65535)
        except socket.timeout:
            return
        m = Msg(data)
        if not m.is_request:
            branch = re.search(r'branch=([^;\s]+)', m.get('via', ''))
            if branch and m.status >= 200:
                self.responses[branch.group(1)] = m
            return
        if m.method != 'NOTIFY':
            self.answer(m, addr, 405)
            return
        d = self.dialogs.get(m.get('call-id'))
        if not d or m.tag('to') != d.from_tag:
            self.stray.append(m)
            self.answer(m, addr, 481)
            return
        num, _ = m.cseq()
        if num > d.last_notify_cseq:  # not a retransmission
            d.last_notify_cseq = num
            d.notifies.append(m)
            d.answered = d.notify_answer
        self.answer(m, addr, d.answered)

    def answer(self, m, addr, status):
        reason = {200: 'OK', 481: 'Subscription Does Not Exist', 405: 'Method Not Allowed'}[status]
        lines = ['SIP/2.0 %d %s' % (status, reason)]
        lines += ['Via: ' + v for v in m.all('via')]
        lines += ['From: ' + m.get('from'), 'To: ' + m.get('to'), 'Call-ID: ' + m.get('call-id'),
                  'CSeq: ' + m.get('cseq'), 'Content-Length: 0', '', '']
        self.sock.sendto('\r\n'.join(lines).encode(), addr)

    def wait_notify(self, d, count, timeout=5.0):
        """Wait until d has received count NOTIFYs in all; return the last."""
        deadline = time.monotonic() + timeout
        while len(d.notifies) < count and time.monotonic() < deadline:
            self.pump(deadline - time.monotonic())
        check(len(d.notifies) >= count, 'NOTIFY #%d for %s/%s within %.0fs' % (count, d.resource, d.event, timeout))
        return d.notifies[count - 1]

    def quiet(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump(deadline - time.monotonic())


class Notifier:
    def __init__(self, binary, args):
        self.binary = binary
        self.args = args
        self.proc = None
        self.port = None
        self.lines = []
        self.cond = threading.Condition()
        self.stderr = []

    def start(self):
        for attempt in range(5):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
            s.close()
            self.proc = subprocess.Popen([self.binary, '--listen', '127.0.0.1:%d' % port] + self.args,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True, bufsize=1)
            threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True).start()
            threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True).start()
            line = self.next_line(10)
            if line and line.startswith('READY '):
                self.port = port
                return
            self.proc.kill()
            self.proc.wait(5)
        raise Fail('the notifier did not start: %s' % ''.join(self.stderr[-20:]))

    def _read(self, f, is_stdout):
        for line in f:
            if is_stdout:
                with self.cond:
                    self.lines.append(line.rstrip('\n'))
                    self.cond.notify_all()
            else:
                self.stderr.append(line)

    def next_line(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.lines:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.lines):
                    return None
                self.cond.wait(min(left, 0.2))
            return self.lines.pop(0)

    def command(self, text, ua=None, timeout=5.0):
        """Send one control command; return (reply lines, final OK/ERR line)."""
        self.proc.stdin.write(text + '\n')
        self.proc.stdin.flush()
        out = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ua:  # keep answering NOTIFYs while waiting
                ua.pump(0.02)
            line = self.next_line(0.05 if ua else deadline - time.monotonic())
            if line is None:
                continue
            if line == 'OK' or line.startswith('ERR'):
                return out, line
            out.append(line)
        raise Fail('no reply to %r' % text)


def pidf(m):
    check(m.get('content-type', '').startswith('application/pidf+xml'), 'PIDF Content-Type: %s' % m.get('content-type'))
    root = ET.fromstring(m.body)
    check(root.tag == PIDF + 'presence', 'PIDF root element')
    return root


def dialog_info(m):
    check(m.get('content-type', '').startswith('application/dialog-info+xml'),
          'dialog-info Content-Type: %s' % m.get('content-type'))
    root = ET.fromstring(m.body)
    check(root.tag == DINFO + 'dialog-info', 'dialog-info root element')
    return root


def expires_param(m):
    mm = re.search(r'expires=(\d+)', m.get('subscription-state', ''))
    return int(mm.group(1)) if mm else None


def check_notify_headers(ua, d, m, sub_state_prefix):
    check(m.first.startswith('NOTIFY sip:%s@127.0.0.1:%d' % (d.user, ua.port)),
          'NOTIFY Request-URI is the subscriber Contact: %s' % m.first)
    check(m.get('call-id') == d.call_id, 'NOTIFY Call-ID')
    check(m.tag('from') == d.to_tag, 'NOTIFY From tag = To tag of the 200 (%s / %s)' % (m.tag('from'), d.to_tag))
    check(m.tag('to') == d.from_tag, 'NOTIFY To tag = SUBSCRIBE From tag')
    check(m.cseq()[1] == 'NOTIFY', 'NOTIFY CSeq method')
    check(m.get('event') == d.event, 'NOTIFY Event %r echoes %r' % (m.get('event'), d.event))
    check(m.get('subscription-state', '').startswith(sub_state_prefix),
          'Subscription-State %r starts with %r' % (m.get('subscription-state'), sub_state_prefix))
    check(int(m.get('content-length', '-1')) == len(m.body), 'NOTIFY Content-Length matches the body')


def note_of(root):
    notes = [n.text for n in root.iter(PIDF + 'note')]
    return notes[0] if notes else None


def run(binary):
    n = Notifier(binary, ['--endpoint', 'alice', '--endpoint', 'bob:asterisk',
                          '--hint', '1000=PJSIP/alice(Alice)', '--hint', '1001=PJSIP/carol'])
    n.start()
    ua = UA(n.port)
    try:
        scenario(n, ua)
        print('ok: %d checks' % checks)
    finally:
        if n.proc.poll() is None:
            n.proc.kill()
        n.proc.wait(5)
        if os.environ.get('VERBOSE'):
            sys.stderr.write(''.join(n.stderr))


def scenario(n, ua):
    # -- 1. presence subscription: the 200 and the first NOTIFY ------------------
    a = Dialog(ua, 'alice', '1000', 'presence', 'application/pidf+xml')
    r = ua.subscribe(a, 600)
    check(r.status == 200, 'SUBSCRIBE presence: 200 (got %s)' % r.first)
    check(r.get('expires') == '600', 'Expires: 600 in the 200 (got %s)' % r.get('expires'))
    check(a.to_tag, 'the 200 has a To tag')
    check(r.get('contact') is not None, 'the 200 has a Contact')
    m = ua.wait_notify(a, 1)
    check_notify_headers(ua, a, m, 'active;expires=')
    check(590 <= expires_param(m) <= 600, 'first NOTIFY expires=%s' % expires_param(m))
    root = pidf(m)
    check('1000@' in root.get('entity', ''), 'PIDF entity names the resource: %s' % root.get('entity'))
    check([b.text for b in root.iter(PIDF + 'basic')] == ['open'], 'PIDF basic open')
    check(note_of(root) == 'Ready', 'PIDF note Ready (got %s)' % note_of(root))
    a_cseq = m.cseq()[0]

    # -- 2. dialog subscription with an Event id -----------------------------------
    b = Dialog(ua, 'alice', '1000', 'dialog;id=blf7', 'application/dialog-info+xml')
    r = ua.subscribe(b, 600)
    check(r.status == 200, 'SUBSCRIBE dialog: 200 (got %s)' % r.first)
    m = ua.wait_notify(b, 1)
    check_notify_headers(ua, b, m, 'active;expires=')
    root = dialog_info(m)
    check(root.get('version') == '0' and root.get('state') == 'full', 'dialog-info version 0, full')
    check('1000@' in root.get('entity', ''), 'dialog-info entity')
    check(len(root.findall(DINFO + 'dialog')) == 0, 'idle: no <dialog> in the standard profile')

    # -- 3. a device state change through stdin -> NOTIFYs on both -------------------
    out, res = n.command('devstate change PJSIP/alice INUSE', ua)
    check(res == 'OK', 'devstate change: %s' % res)
    m = ua.wait_notify(a, 2)
    check_notify_headers(ua, a, m, 'active;expires=')
    check(m.cseq()[0] > a_cseq, 'NOTIFY CSeq grows')
    root = pidf(m)
    check(note_of(root) == 'On the phone', 'PIDF after INUSE: On the phone (got %s)' % note_of(root))
    check(any(True for _ in root.iter(RPID + 'on-the-phone')), 'rpid:on-the-phone')
    m = ua.wait_notify(b, 2)
    root = dialog_info(m)
    check(root.get('version') == '1', 'dialog-info version 1 (got %s)' % root.get('version'))
    states = [s.text for s in root.iter(DINFO + 'state')]
    check(states == ['confirmed'], 'dialog-info state confirmed (got %s)' % states)

    # -- 4. refresh: one 200, exactly one NOTIFY (nua sends none of its own) -----------
    r = ua.subscribe(a, 300)
    check(r.status == 200 and r.get('expires') == '300', 'refresh: 200 with Expires 300 (%s, %s)' %
          (r.first, r.get('expires')))
    m = ua.wait_notify(a, 3)
    check_notify_headers(ua, a, m, 'active;expires=')
    check(290 <= expires_param(m) <= 300, 'refresh NOTIFY expires=%s' % expires_param(m))
    check(note_of(pidf(m)) == 'On the phone', 'refresh NOTIFY has the full state')
    ua.quiet(0.7)
    check(len(a.notifies) == 3, 'exactly one NOTIFY after the refresh (got %d)' % (len(a.notifies) - 2))

    # -- 5. a NOTIFY answered 481 ends the subscription: nothing more is sent ---------
    b.notify_answer = 481
    out, res = n.command('devstate change PJSIP/alice RINGING', ua)
    check(res == 'OK', 'devstate RINGING: %s' % res)
    m = ua.wait_notify(a, 4)
    check(note_of(pidf(m)) == 'Ringing', 'PIDF Ringing')
    m = ua.wait_notify(b, 3)
    check([s.text for s in dialog_info(m).iter(DINFO + 'state')] == ['early'], 'dialog-info early')
    ua.quiet(0.5)  # let the 481 reach the notifier before the next change
    out, res = n.command('devstate change PJSIP/alice NOT_INUSE', ua)
    m = ua.wait_notify(a, 5)
    check(note_of(pidf(m)) == 'Ready', 'PIDF Ready again')
    ua.quiet(1.0)
    # The library ended the subscription without a final NOTIFY and sends
    # nothing more for it. nua, though, ends every notifier usage it created
    # with a NOTIFY of its own when the example destroys the handle (README:
    # "The one NOTIFY nua sends by itself"): at most that one may arrive,
    # terminated and without a body.
    extra = b.notifies[3:]
    check(len(extra) <= 1, 'at most one NOTIFY after the 481: %s' % [x.get('subscription-state') for x in extra])
    for x in extra:
        check(x.get('subscription-state', '').startswith('terminated') and not x.body,
              'the NOTIFY after the 481 is nua\'s terminated one without body: %s' % x.get('subscription-state'))
    r = ua.subscribe(b, 600)
    check(r.status == 481, 'refresh of the ended subscription: 481 (got %s)' % r.first)

    # -- 6. show subscriptions, then unsubscribe: final NOTIFY ------------------------
    out, res = n.command('sippres show subscriptions', ua)
    check(res == 'OK' and len(out) == 1 and a.call_id in out[0], 'one subscription listed: %s' % out)
    r = ua.subscribe(a, 0)
    check(r.status == 200, 'unsubscribe: 200 (got %s)' % r.first)
    m = ua.wait_notify(a, 6)
    check_notify_headers(ua, a, m, 'terminated')
    check(m.get('subscription-state') == 'terminated;reason=timeout',
          'unsubscribe NOTIFY: terminated;reason=timeout (got %s)' % m.get('subscription-state'))
    check(note_of(pidf(m)) == 'Ready', 'the final NOTIFY carries the state')
    out, res = n.command('devstate change PJSIP/alice BUSY', ua)
    ua.quiet(0.7)
    check(len(a.notifies) == 6, 'nothing after the final NOTIFY (got %d more)' % (len(a.notifies) - 6))
    r = ua.subscribe(a, 600)
    check(r.status == 481, 'refresh after unsubscribe: 481 (got %s)' % r.first)
    check(not ua.stray, 'no NOTIFY outside our dialogs: %s' % [s.first for s in ua.stray])

    # -- 7. the library's decisions pass through ---------------------------------------
    r = ua.subscribe(Dialog(ua, 'mallory', '1000', 'presence', None), 600)
    check(r.status == 403, 'unknown endpoint: 403 (got %s)' % r.first)
    r = ua.subscribe(Dialog(ua, 'alice', '9999', 'presence', None), 600)
    check(r.status == 404, 'no hint: 404 (got %s)' % r.first)
    r = ua.subscribe(Dialog(ua, 'alice', '1000', 'presence', 'text/plain'), 600)
    check(r.status == 406 and 'application/pidf+xml' in r.get('accept', ''),
          'unusable Accept, standard profile: 406 with Accept (got %s, Accept %s)' % (r.first, r.get('accept')))
    r = ua.subscribe(Dialog(ua, 'bob', '1000', 'presence', 'text/plain'), 600)
    check(r.status == 489, 'unusable Accept, asterisk profile: 489 (got %s)' % r.first)
    r = ua.subscribe(Dialog(ua, 'alice', '1000', 'message-summary', None), 600)
    check(r.status == 489, 'unknown Event package: 489 (got %s)' % r.first)
    r = ua.request('OPTIONS')
    check(r.status == 200 and 'SUBSCRIBE' in r.get('allow', ''), 'OPTIONS: 200 with Allow (got %s)' % r.first)
    r = ua.request('INVITE')
    check(r.status == 405, 'INVITE: 405, this is a notifier only (got %s)' % r.first)
    f = Dialog(ua, 'alice', '1001', 'presence', None)
    r = ua.subscribe(f, 0)
    check(r.status == 200, 'fetch (initial Expires: 0): 200 (got %s)' % r.first)
    m = ua.wait_notify(f, 1)
    check(m.get('subscription-state') == 'terminated;reason=timeout', 'fetch NOTIFY terminated;reason=timeout')
    check(note_of(pidf(m)) == 'Ready', 'fetch NOTIFY carries the state')

    # -- 8. asterisk profile body, then quit ends live subscriptions -------------------
    c = Dialog(ua, 'bob', '1001', 'presence', None)
    r = ua.subscribe(c, None)  # no Expires: the default (3600)
    check(r.status == 200 and r.get('expires') == '3600', 'default expiry 3600 (got %s)' % r.get('expires'))
    m = ua.wait_notify(c, 1)
    check(m.body.index(b'<note>') < m.body.index(b'<tuple'), 'asterisk profile: note before tuple')
    check(m.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<presence'), 'asterisk prolog')
    out, res = n.command('quit', ua)
    check(res == 'OK', 'quit: %s' % res)
    m = ua.wait_notify(c, 2)
    check(m.get('subscription-state') == 'terminated', 'quit: asterisk-profile final NOTIFY "terminated" (got %s)'
          % m.get('subscription-state'))
    deadline = time.monotonic() + 10
    while n.proc.poll() is None and time.monotonic() < deadline:
        ua.pump(0.1)
    check(n.proc.poll() == 0, 'the notifier exits 0 after quit (status %s)' % n.proc.poll())
    check(not ua.stray, 'no NOTIFY outside our dialogs: %s' % [s.first for s in ua.stray])


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ''
    if not binary or not os.path.exists(binary):
        print('sippres-sofia-notifier was not built (no sofia-sip-ua): skipped')
        return 77
    try:
        run(binary)
    except (Fail, ET.ParseError, ValueError, AttributeError) as e:
        print('FAIL after %d checks: %s' % (checks, e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
