#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interop: Kamailio 5.6 (Debian kamailio + kamailio-presence-modules) routes a
call between two SIPp instances (Debian sip-tester) and PUBLISHes the callee's
dialog state (pua_dialoginfo: Event dialog, application/dialog-info+xml) to the
mini UA; dialog-info subscribers of the mini UA (tests/integration/sipclient.py)
watch the callee's hint and must see the call ring (early, with the caller's
identity and the call's Call-ID), be answered (confirmed) and end: the standard
profile then drops the call from its full-state document, the asterisk profile
(presence_profile=asterisk) shows its one dialog terminated. A third watches
the caller's hint (2000, also published by Kamailio, direction initiator).

    caller (SIPp, 2000)  --INVITE-->  Kamailio  --INVITE-->  callee (SIPp, 1000)
                                         |
                                         | PUBLISH sip:1000@127.0.0.1, Event: dialog
                                         v
    watcher (sipclient) --SUBSCRIBE-->  mini UA: [1000] type=inbound-publication,
                                         hint 1000 = Dialog/1000,Publish:1000

The Kamailio config is kamailio-dialoginfo.cfg, the SIPp scenarios
sipp-call-uac.xml and sipp-call-uas.xml (all next to this script). Everything
runs on loopback on free ports, started and stopped here; each wait is bounded.

usage: test_kamailio_dialog.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples
Exit status 0 (pass), 1 (fail), 77 (skipped: kamailio, its presence modules or
sipp not installed)."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import asterisk_cli  # noqa: E402
import sipclient  # noqa: E402
import test_mini_ua as notifier_tests  # noqa: E402  (the mini UA as a child process)
from taprun import check  # noqa: E402

KAM_MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules'
KAM_DBTEXT = '/usr/share/kamailio/dbtext/kamailio'
RING_MS = 1200   # the callee rings this long before it answers
TALK_MS = 1200   # the caller hangs up after this long

# The mini UA's side (added to examples/pjsip.conf and extensions.conf):
# Kamailio's PUBLISHes come with From user "kamailio" (the config rewrites
# pua's From, which is the published entity). Kamailio 5.6 PUBLISHes
# Expires 43201 while a call lives and Expires 11 for its terminated state;
# 11 is below the default minimum of 60 (423), so min_expiry=5.
EXTRA_PJSIP = """
; ---- added by test_kamailio_dialog.py ----
[kamailio]
type=endpoint
context=peers

[1000]
type=inbound-publication
endpoint=kamailio
event_dialog=yes
event_presence=yes
min_expiry=5

[2000]
type=inbound-publication
endpoint=kamailio
event_dialog=yes
min_expiry=5

[watcher]
type=endpoint
context=peers

[watcher-ast]
type=endpoint
context=peers
presence_profile=asterisk
"""
EXTRA_EXT = """
; ---- added by test_kamailio_dialog.py ----
[peers]
exten => 1000,hint,Dialog/1000,Publish:1000
exten => 2000,hint,Dialog/2000
"""


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def missing_peer():
    """Why this test cannot run here (a package is missing), else None."""
    for exe, pkg in (('kamailio', 'kamailio'), ('sipp', 'sip-tester')):
        if not shutil.which(exe):
            return '%s is not installed (Debian package %s)' % (exe, pkg)
    for mod in ('dialog', 'pua', 'pua_dialoginfo', 'uac', 'db_text', 'tm'):
        if not os.path.exists(os.path.join(KAM_MODULES, mod + '.so')):
            return 'Kamailio module %s.so is missing (Debian package kamailio-presence-modules)' % mod
    if not os.path.exists(os.path.join(KAM_DBTEXT, 'pua')):
        return 'the db_text schema of pua is missing (%s)' % KAM_DBTEXT
    return None


class Kamailio:
    """kamailio -DD (no daemon) with kamailio-dialoginfo.cfg, its own port, runtime and db_text folders."""

    def __init__(self, ua_addr, callee_port):
        self.dir = tempfile.mkdtemp(prefix='miniua-kamailio-')
        self.port = free_port()
        db = os.path.join(self.dir, 'db')
        os.mkdir(db)
        for table in ('version', 'pua'):
            shutil.copy(os.path.join(KAM_DBTEXT, table), db)
        self.logf = open(os.path.join(self.dir, 'kamailio.log'), 'w+')
        argv = ['kamailio', '-DD', '-E', '-f', os.path.join(HERE, 'kamailio-dialoginfo.cfg'),
                '-Y', self.dir, '-w', self.dir, '-m', '64', '-M', '8',
                '-A', 'KAM_LISTEN=udp:127.0.0.1:%d' % self.port,
                '-A', 'KAM_SELF="sip:127.0.0.1:%d"' % self.port,
                '-A', 'DBURL="text://%s"' % db,
                '-A', 'PRESENCE_SERVER="sip:%s:%d"' % ua_addr,
                '-A', 'CALLEE="sip:127.0.0.1:%d"' % callee_port]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.logf, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout=8.0):
        """Until it answers an OPTIONS (about 0.1 s after start)."""
        c = sipclient.Client(('127.0.0.1', self.port), user='probe')
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError('kamailio exited with %s:\n%s' % (self.proc.returncode, self.log()[-3000:]))
                call_id = sipclient.token(12)
                c.request('OPTIONS', 'sip:127.0.0.1:%d' % self.port, [
                    ('From', '<sip:probe@%s>;tag=%s' % (c.hostport, sipclient.token(6))),
                    ('To', '<sip:127.0.0.1:%d>' % self.port), ('Call-ID', call_id), ('CSeq', '1 OPTIONS'),
                    ('Max-Forwards', '70')])
                r = c.wait(lambda m: m.status and m.call_id == call_id, 0.3)
                if r is not None:
                    check(r.status == 200, 'kamailio answered OPTIONS with %s', r.start)
                    return
            raise AssertionError('kamailio did not answer OPTIONS within %.0f s:\n%s' % (timeout, self.log()[-3000:]))
        finally:
            c.close()

    def log(self):
        self.logf.flush()
        self.logf.seek(0)
        return self.logf.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # the main process stops its children
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sipp:
    """One SIPp run of a scenario of this folder, for one call (-m 1), in a folder of its own."""

    def __init__(self, scenario, port, pause_ms, remote=None, service=None):
        self.dir = tempfile.mkdtemp(prefix='miniua-sipp-')
        self.port = port
        argv = ['sipp'] + ([remote] if remote else []) + [
            '-sf', os.path.join(HERE, scenario), '-i', '127.0.0.1', '-p', str(port), '-mp', str(free_port()),
            '-m', '1', '-d', str(pause_ms), '-nostdin', '-timeout', '20s', '-trace_err', '-trace_msg']
        if service:
            argv += ['-s', service]
        self.out = open(os.path.join(self.dir, 'stdout.log'), 'w+')
        self.proc = subprocess.Popen(argv, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def messages(self):
        """Its message trace (-trace_msg) and error log, for a failure's report."""
        text = []
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), errors='replace') as f:
                text.append('--- %s\n%s' % (name, f.read()[-4000:]))
        return '\n'.join(text)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def dialogs(body):
    """The <dialog> elements of a dialog-info body: [(attributes, state, remote identity, its display)]."""
    out = []
    for m in re.finditer(r'<dialog\s([^>]*)>(.*?)</dialog>', body, re.S):
        attrs = dict(re.findall(r'([\w:-]+)="([^"]*)"', m.group(1)))
        inner = m.group(2)
        state = re.search(r'<state[^>]*>\s*([^<\s]+)\s*</state>', inner)
        remote = re.search(r'<remote>(.*?)</remote>', inner, re.S)
        ident = re.search(r'<identity([^>]*)>\s*([^<\s]+)\s*</identity>', remote.group(1)) if remote else None
        display = re.search(r'display="([^"]*)"', ident.group(1)) if ident else None
        out.append((attrs, state.group(1) if state else None, ident.group(2) if ident else None,
                    display.group(1) if display else None))
    return out


def collect(watcher, d, timeout):
    """[(state of its one dialog, lower case, or None: no dialog, NOTIFY)] of the NOTIFYs in dialog d
    until the call is over (a terminated dialog or none after a confirmed one) or timeout."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = watcher.wait(lambda m: m.method == 'NOTIFY' and m.call_id == d.call_id,
                         max(0.05, deadline - time.monotonic()))
        if m is None:
            break
        check((m.get('subscription-state') or '').startswith('active'), 'Subscription-State %r',
              m.get('subscription-state'))
        ds = dialogs(m.body)
        check(len(ds) <= 1, 'one call, several dialogs: %s', m.body)
        seen.append((ds[0][1].lower() if ds else None, m))
        if (not ds or ds[0][1].lower() == 'terminated') and any(s == 'confirmed' for s, _ in seen):
            break
    return seen


def run():
    conf = notifier_tests.make_conf(EXTRA_PJSIP, EXTRA_EXT)
    ua = kam = uas = uac = watcher = None
    try:
        ua = notifier_tests.UA(conf)
        watcher = sipclient.Client(ua.addr, user='watcher')
        subs = {}
        for res, user in (('1000', 'watcher'), ('2000', 'watcher'), ('1000', 'watcher-ast')):
            d, r = watcher.subscribe(res, 'dialog', accept='application/dialog-info+xml', expires=600, user=user)
            check(r.status == 200, 'SUBSCRIBE to %s (dialog): %s', res, r.start)
            n = watcher.notify(d)
            check(n.get('content-type') == 'application/dialog-info+xml', 'Content-Type %r', n.get('content-type'))
            check('entity="sip:%s@' % res in n.body, 'entity: %s', n.body)
            if user == 'watcher':
                check(dialogs(n.body) == [], 'before the call, a dialog: %s', n.body)
            subs[res if user == 'watcher' else user] = d
        d = subs['1000']

        callee_port = free_port()
        kam = Kamailio(ua.addr, callee_port)
        uas = Sipp('sipp-call-uas.xml', callee_port, RING_MS)
        time.sleep(0.2)  # the callee's socket is open before the INVITE comes
        uac = Sipp('sipp-call-uac.xml', free_port(), TALK_MS, remote='127.0.0.1:%d' % kam.port, service='1000')

        # every NOTIFY until the call is over: early (ringing), confirmed (answered), terminated (BYE)
        seen = collect(watcher, d, (RING_MS + TALK_MS) / 1000.0 + 8)
        states = [s for s, _ in seen]
        collapsed = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
        check(collapsed == ['early', 'confirmed', None],
              'dialog states seen by the watcher of 1000: %r (expected early, confirmed, no dialog); bodies:\n%s\n'
              'kamailio:\n%s\nmini UA:\n%s', states, '\n'.join(m.body for _, m in seen), kam.log()[-3000:],
              ua.log()[-3000:])
        early = next(m for s, m in seen if s == 'early')
        attrs, _, remote, _display = dialogs(early.body)[0]
        check(remote == 'sip:2000@127.0.0.1', 'early: the remote identity is %r, not the caller: %s', remote,
              early.body)
        check(attrs.get('direction') == 'recipient', 'early: direction %r: %s', attrs.get('direction'), early.body)
        call_id = attrs.get('call-id')
        check(call_id and re.fullmatch(r'\d+-\d+@127\.0\.0\.1', call_id), 'early: call-id %r (SIPp makes '
              'N-PID@127.0.0.1): %s', call_id, early.body)
        for s, m in seen:
            if s in ('confirmed', 'terminated'):
                a, _, rem, _ = dialogs(m.body)[0]
                check(a.get('call-id') == call_id, '%s: call-id %r, the early one was %r', s, a.get('call-id'),
                      call_id)
                if s == 'confirmed':
                    check(rem == 'sip:2000@127.0.0.1', 'confirmed: the remote identity %r: %s', rem, m.body)
        versions = [int(re.search(r'\bversion="(\d+)"', m.body).group(1)) for _, m in seen]
        check(versions == sorted(versions) and len(set(versions)) == len(versions),
              'dialog-info versions %r do not count up', versions)

        # the caller's side: Kamailio publishes 2000 as the initiator (Trying), 1000 its remote party. The
        # library has the call from the start (early: an outgoing call is INUSE at once), and drops it at the
        # end. Its confirmed changes no device state (INUSE both), but a standard-profile dialog-info
        # watcher is told of it all the same (RFC 4235: every dialog change).
        caller = collect(watcher, subs['2000'], 2.0)
        cstates = [s for s, _ in caller]
        ccollapsed = [s for i, s in enumerate(cstates) if i == 0 or s != cstates[i - 1]]
        check(ccollapsed == ['early', 'confirmed', None],
              'dialog states seen by the watcher of 2000: %r:\n%s', cstates, '\n'.join(m.body for _, m in caller))
        for s, m in caller[:-1]:
            a, _, rem, _ = dialogs(m.body)[0]
            check(a.get('direction') == 'initiator' and a.get('call-id') == call_id and rem == 'sip:1000@127.0.0.1',
                  'the caller\'s dialog (%s): %s', s, m.body)

        # the asterisk profile (presence_profile=asterisk) always has one <dialog id="1000">: early with the
        # caller, confirmed, then terminated (its idle state), as Asterisk's phones expect
        ast = collect(watcher, subs['watcher-ast'], 2.0)
        astates = [s for s, _ in ast]
        acollapsed = [s for i, s in enumerate(astates) if i == 0 or s != astates[i - 1]]
        check(acollapsed == ['early', 'confirmed', 'terminated'], 'the asterisk-profile watcher of 1000 saw %r:\n%s',
              astates, '\n'.join(m.body for _, m in ast))
        a, _, rem, _ = dialogs(ast[0][1].body)[0]
        check(a.get('id') == '1000' and a.get('direction') == 'recipient' and rem == 'sip:2000@127.0.0.1',
              'asterisk profile, early: %s', ast[0][1].body)

        # both SIPp ends completed their scenario (exit status 0: the call succeeded)
        for name, p in (('caller', uac), ('callee', uas)):
            rc = p.wait(8)
            check(rc == 0, 'SIPp %s exit status %r:\n%s', name, rc, p.messages())
        # both hints are idle again, the devices not in use: the caller's too, although its Trying and early
        # raced (the callee rings at once) and made two publications of the one dialog
        rows = asterisk_cli.hints(ua)
        for exten in ('1000', '2000'):
            hint = rows.get(exten + '@peers')
            check(hint and hint['state'] == 'Idle', 'core show hints after the call (%s): %r', exten, rows)
        pubs2000 = len([l for l in ua.ok('pjsip show publications') if l.startswith('2000 event=dialog ')])
        # Kamailio got a 2xx for every PUBLISH: pua logs an error for any other answer
        errors = [l for l in kam.log().splitlines() if 'ERROR' in l or 'CRITICAL' in l]
        check(not errors, 'kamailio logged errors:\n%s', '\n'.join(errors[-20:]))
        check(ua.alive(), 'the mini UA died')
        for d in subs.values():
            r = watcher.resubscribe(d, 0)
            check(r.status == 200, 'un-SUBSCRIBE: %s', r.start)
        names = lambda states: ' -> '.join(s or '(no dialog)' for s in states)  # noqa: E731
        return ('call %s: the watcher of 1000 saw %s, its asterisk-profile watcher %s, the watcher of 2000 %s; '
                'publications of 2000: %d' % (call_id, names(collapsed), names(acollapsed), names(cstates), pubs2000))
    finally:
        for p in (uac, uas):
            if p:
                p.close()
        if kam:
            kam.close()
        if watcher:
            watcher.close()
        if ua:
            ua.quit()
        shutil.rmtree(conf, ignore_errors=True)


def main():
    notifier_tests.parse_args()
    why = missing_peer()
    if why:
        print('skipped: %s; tools/install-deps tests installs it' % why)
        return 77
    return notifier_tests.verdict(run)


if __name__ == '__main__':
    sys.exit(main())
