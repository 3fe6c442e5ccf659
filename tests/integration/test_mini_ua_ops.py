#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Operations of sippres-mini-ua on loopback (issue 15): the --control socket (two clients at once, an
over-long line), `-rx` and its exit codes, SIGTERM then a restart with --state-dir, SIGHUP and the reload
commands (an unchanged hint keeps its subscription, a removed one ends it, a broken file is refused whole).
The UA, its config and the SIP client are test_mini_ua.py's.

usage: test_mini_ua_ops.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples [-k NAME]
Prints TAP. Every wait is bounded."""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asterisk_cli  # noqa: E402
import taprun  # noqa: E402
import test_mini_ua as tm  # noqa: E402
from sipclient import Client  # noqa: E402
from taprun import check  # noqa: E402


class Ctl:
    """One connection to the control socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(path)
        self.buf = b''

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        deadline = time.monotonic() + 5
        while b'\n' not in self.buf:
            check(time.monotonic() < deadline, 'no reply line on the control socket within 5 s')
            got = self.sock.recv(65536)
            check(got, 'the control socket closed (buffered %r)' % self.buf)
            self.buf += got
        line, self.buf = self.buf.split(b'\n', 1)
        return line.decode()

    def reply(self):
        """(lines before the status line, status line)"""
        lines = []
        while True:
            line = self.line()
            if line == 'OK' or line.startswith('ERR'):
                return lines, line
            lines.append(line)

    def cmd(self, text):
        self.send(text.encode() + b'\n')
        return self.reply()

    def close(self):
        self.sock.close()


def rx(path, command, timeout=10):
    """sippres-mini-ua -rx: (exit status, stdout lines, stderr text)."""
    p = subprocess.run([tm.ARGS.ua, '-rx', command, '--control', path], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout.splitlines(), p.stderr


def subscribed(c, resource, event, **kw):
    """A subscription that got its 200 and its first NOTIFY: the dialog."""
    d, r = c.subscribe(resource, event, **kw)
    check(r.status == 200, 'SUBSCRIBE %s: %s', resource, r.start)
    c.notify(d)
    return d


class OpsEnv:
    """A UA with --control in a temporary directory (config files there too, so that tests may edit them)."""

    def __init__(self, state_dir=None, port=None):
        self.tmp = tempfile.mkdtemp(prefix='miniua-ops-')
        self.conf = tm.make_conf()
        self.path = os.path.join(self.tmp, 'control')
        self.state_dir = state_dir
        self.start(port)

    def start(self, port=None):
        self.ua = tm.UA(self.conf, listen='127.0.0.1:%d' % (port or 0), state_dir=self.state_dir,
                        extra=('--control', self.path))
        return self.ua

    def edit(self, name, fn):
        p = os.path.join(self.conf, name)
        with open(p) as f:
            text = f.read()
        with open(p, 'w') as f:
            f.write(fn(text))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.ua.alive():
            self.ua.proc.kill()
            self.ua.proc.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.conf, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------

def test_control_socket_two_clients():
    # a stale socket file (its process died) is replaced
    tmp = tempfile.mkdtemp(prefix='miniua-stale-')
    stale = os.path.join(tmp, 'control')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    conf = tm.make_conf()
    ua = tm.UA(conf, extra=('--control', stale))
    try:
        env_path = stale
        mode = os.stat(env_path).st_mode
        check(stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660, 'socket mode %o', mode)
        c = Client(ua.addr, user='tester')
        d = subscribed(c, '1001', 'dialog')
        a, b = Ctl(env_path), Ctl(env_path)
        # a's line arrives in pieces; b is served meanwhile
        a.send(b'devstate change PJSIP/bob ')
        lines, st = b.cmd('core show hints')
        check(st == 'OK' and asterisk_cli.hint_rows(lines)['1001@office']['state'] == 'Idle', 'b: %r %r', lines, st)
        a.send(b'RINGING\n')
        check(a.reply() == ([], 'OK'), 'a: devstate')
        n = c.notify(d)
        check('<state>early</state>' in n.body, 'the NOTIFY of a socket command: %s', n.body)
        # an over-long line gets one ERR and the connection goes on
        a.send(b'devstate change PJSIP/bob ' + b'X' * 6000 + b'\n')
        lines, st = a.reply()
        check(st.startswith('ERR line too long') and lines == [], 'long line: %r %r', lines, st)
        check(a.cmd('devstate change PJSIP/bob NOT_INUSE') == ([], 'OK'), 'after the long line')
        c.notify(d)
        lines, st = b.cmd('bogus')
        check(st == 'ERR unknown command', 'b: %r', st)
        # one client sends two commands at once: two replies in order
        a.send(b'devstate change PJSIP/bob INUSE\nsippres show subscriptions\n')
        check(a.reply() == ([], 'OK'), 'first of two')
        lines, st = a.reply()
        check(st == 'OK' and len(lines) == 1 and d.call_id in lines[0], 'second of two: %r', lines)
        c.notify(d)
        b.close()
        # the end of standard input does not stop a server with --control
        ua.proc.stdin.close()
        time.sleep(0.3)
        check(ua.alive(), 'stopped at the end of standard input')
        check(a.cmd('core show hints')[1] == 'OK', 'after stdin closed')
        # quit over the socket: OK, exit 0, the socket file removed
        check(a.cmd('quit') == ([], 'OK'), 'quit')
        check(ua.proc.wait(10) == 0, 'exit status %r', ua.proc.returncode)
        check(not os.path.exists(env_path), 'socket file left behind')
        a.close()
        c.close()
    finally:
        if ua.alive():
            ua.kill9()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(conf, ignore_errors=True)


def test_rx_output_and_exit_codes():
    with OpsEnv() as env:
        rc, out, err = rx(env.path, 'core show hints')
        check(rc == 0 and out and 'OK' not in out, '%d %r %r', rc, out, err)
        check(list(asterisk_cli.hint_rows(out))[0] == '1000@office', 'the listing: %r', out)
        rc, out, err = rx(env.path, 'devstate change PJSIP/alice SLEEPY')
        check(rc == 1 and out == [] and err.strip() == "unknown device state 'SLEEPY'", '%d %r %r', rc, out, err)
        rc, out, err = rx(env.path, 'devstate change PJSIP/alice INUSE')
        check(rc == 0 and out == [] and err == '', '%d %r %r', rc, out, err)
        rows = asterisk_cli.hints(env.ua)
        check(rows['1000@office']['state'] == 'InUse', 'state set by -rx: %r', rows)
        rc, out, err = rx(os.path.join(env.tmp, 'nothing-here'), 'core show hints')
        check(rc == 2 and 'cannot connect' in err, '%d %r', rc, err)
        p = subprocess.run([tm.ARGS.ua, '-rx'], capture_output=True, text=True, timeout=10)
        check(p.returncode == 2 and 'usage' in p.stderr, 'no command: %d %r', p.returncode, p.stderr)


def test_sigterm_then_restart_restores():
    state = tempfile.mkdtemp(prefix='miniua-state-')
    env = OpsEnv(state_dir=state)
    try:
        port = env.ua.addr[1]
        c = Client(env.ua.addr, user='tester')
        d = subscribed(c, '1000', 'dialog', expires=600)
        env.ua.ok('devstate change PJSIP/alice INUSE')
        last = c.notify(d).cseq[0]
        env.ua.proc.send_signal(signal.SIGTERM)
        check(env.ua.proc.wait(10) == 0, 'exit status after SIGTERM %r', env.ua.proc.returncode)
        check(not os.path.exists(env.path), 'socket file left behind')
        check(c.wait(lambda m: m.method == 'NOTIFY', 0.3) is None, 'SIGTERM sent a NOTIFY (quit sends none)')
        check([f for f in os.listdir(state) if f.endswith('.sub')], 'no records kept in %s', state)
        env.start(port)
        n = c.expect(lambda m: m.method == 'NOTIFY' and m.call_id == d.call_id, 'NOTIFY after the restart', 5)
        check(n.cseq[0] == last + 1, 'CSeq %d after %d', n.cseq[0], last)
        check('<state>confirmed</state>' in n.body, 'the device state came back: %s', n.body)
        rc, out, err = rx(env.path, 'sippres show subscriptions')
        check(rc == 0 and len(out) == 1 and d.call_id in out[0], '%d %r %r', rc, out, err)
        env.ua.proc.send_signal(signal.SIGINT)
        check(env.ua.proc.wait(10) == 0, 'exit status after SIGINT %r', env.ua.proc.returncode)
        c.close()
    finally:
        env.close()
        shutil.rmtree(state, ignore_errors=True)


def test_sighup_reload():
    with OpsEnv() as env:
        ua = env.ua
        c = Client(ua.addr, user='tester')
        keep = subscribed(c, '1000', 'dialog')
        gone = subscribed(c, '1001', 'presence')
        changed = subscribed(c, '1003', 'dialog')
        # 1001 deleted, 1003 gets a second device, 5000 is new; 1000 stays as it is
        env.edit('extensions.conf', lambda t: re.sub(r'(?m)^exten => 1001,hint,.*\n', '', t)
                 .replace('exten => 1003,hint,PJSIP/lobby', 'exten => 1003,hint,PJSIP/lobby&Custom:lobby2')
                 + '\n[office](+)\nexten => 5000,hint,Custom:door(Front door)\n')
        check('1003,hint,PJSIP/lobby&Custom:lobby2' in open(os.path.join(env.conf, 'extensions.conf')).read(),
              'the test did not change 1003')
        ua.proc.send_signal(signal.SIGHUP)
        n = c.notify(gone)
        check(n.get('subscription-state') == 'terminated;reason=noresource', 'removed hint: %r',
              n.get('subscription-state'))
        c.no_notify(keep, 0.5)
        c.no_notify(changed, 0.1)  # same state after the change: nothing to tell
        rows = asterisk_cli.hints(ua)
        check('1001@office' not in rows, '1001 still there: %r', rows)
        check(rows.get('5000@office', {}).get('app') == 'Custom:door', '5000 missing: %r', rows)
        check(rows.get('1003@office', {}).get('app') == 'PJSIP/lobby&Custom:l', '1003: %r', rows)
        check(ua.alive(), 'SIGHUP stopped the UA')
        # the kept subscription goes on in the same dialog, with the next CSeq
        before = keep.notify_cseqs[-1]
        ua.ok('devstate change PJSIP/alice RINGING')
        n = c.notify(keep)
        check(n.cseq[0] == before + 1 and n.to_tag == keep.local_tag and n.from_tag == keep.remote_tag,
              'kept dialog: CSeq %d after %d', n.cseq[0], before)
        check('<state>early</state>' in n.body, '%s', n.body)
        # the changed hint follows its new device
        ua.ok('devstate change Custom:lobby2 INUSE')
        n = c.notify(changed)
        check('<state>confirmed</state>' in n.body, 'changed hint: %s', n.body)
        check('reloaded' in ua.log() and 'SIGHUP' in ua.log(), 'log: %s', ua.log()[-400:])
        c.close()


def test_reload_endpoints():
    with OpsEnv() as env:
        ua = env.ua
        c = Client(ua.addr, user='tolerant')
        t = Client(ua.addr, user='tester-ast')
        dropped = subscribed(c, '1000', 'presence')
        d, r = t.subscribe('1000', 'presence')
        check(r.status == 200, '%s', r.start)
        kept, body = d, t.notify(d).body
        check(' />' in body and '\n <tuple' in body, 'not the asterisk profile\'s layout: %s', body)
        # [tolerant] goes, [tester-ast] changes its profile, [late] is new
        env.edit('pjsip.conf', lambda s: s.replace('[tolerant]\ntype=endpoint\ncontext=office\nnotify_failure_limit=5\n',
                                                   '[late]\ntype=endpoint\ncontext=office\n')
                 .replace('[tester-ast]\ntype=endpoint\ncontext=office\npresence_profile=asterisk\n',
                          '[tester-ast]\ntype=endpoint\ncontext=office\npresence_profile=standard\n'))
        rc, out, err = rx(env.path, 'module reload')
        check(rc == 0 and out and 'endpoint(s), 1 removed' in out[0], '%d %r %r', rc, out, err)
        n = c.notify(dropped)
        check(n.get('subscription-state') == 'terminated;reason=deactivated', 'removed endpoint: %r',
              n.get('subscription-state'))
        t.no_notify(kept, 0.3)
        d, r = c.subscribe('1000', 'presence')
        check(r.status == 403, 'a removed endpoint subscribes: %s', r.start)
        late = Client(ua.addr, user='late')
        subscribed(late, '1001', 'presence')
        # the changed endpoint's subscription goes on in its dialog, now with the standard profile's body
        ua.ok('devstate change PJSIP/alice INUSE')
        n = t.notify(kept)
        check(n.cseq[0] == kept.notify_cseqs[-2] + 1, 'CSeq %d', n.cseq[0])
        check(' />' not in n.body and '\n  <tuple' in n.body, 'still the asterisk layout after the reload: %s', n.body)
        # a pjsip.conf wizard: its endpoint and hint come with a reload, the hint survives the next one
        # and goes with the section
        wizard = '[wiz]\ntype=wizard\nendpoint/context=office\nhas_hint=yes\nhint_exten=7000\ntransport=udp\n'
        env.edit('pjsip.conf', lambda s: s + '\n' + wizard)
        rc, out, err = rx(env.path, 'module reload')
        check(rc == 0 and out and 'reloaded' in out[0], '%d %r %r', rc, out, err)
        rows = asterisk_cli.hints(ua)
        check(rows.get('7000@office', {}).get('app') == 'PJSIP/wiz', 'wizard hint: %r', rows)
        w = Client(ua.addr, user='wiz')
        wsub = subscribed(w, '7000', 'presence')
        rc, out, err = rx(env.path, 'core reload')
        check(rc == 0 and out and 'hints 0 added, 0 changed, 0 removed' in out[0], '%d %r %r', rc, out, err)
        w.no_notify(wsub, 0.3)
        env.edit('pjsip.conf', lambda s: s.replace(wizard, ''))
        rc, out, err = rx(env.path, 'module reload')
        check(rc == 0 and out and '1 removed' in out[0], '%d %r %r', rc, out, err)
        n = w.notify(wsub)
        check((n.get('subscription-state') or '').startswith('terminated'), 'wizard gone: %r',
              n.get('subscription-state'))
        check('7000@office' not in asterisk_cli.hints(ua), 'the wizard hint stayed')
        for x in (c, t, late, w):
            x.close()


def test_reload_keeps_autohints():
    """A context with autohints = yes: the hints its devices made stay through a reload that keeps it (their
    subscriptions see nothing), and go with a reload that drops it."""
    with OpsEnv() as env:
        ua = env.ua
        env.edit('extensions.conf', lambda t: t + '\n[auto]\nautohints = yes\n')
        env.edit('pjsip.conf', lambda t: t + '\n[autoer]\ntype=endpoint\ncontext=auto\n')
        rc, out, err = rx(env.path, 'core reload')
        check(rc == 0 and out and 'reloaded' in out[0], '%d %r %r', rc, out, err)
        ua.ok('devstate change PJSIP/zed INUSE')
        rows = asterisk_cli.hints(ua)
        check(rows.get('zed@auto', {}).get('app') == 'PJSIP/zed', 'no autohint: %r', rows)
        c = Client(ua.addr, user='autoer')
        d = subscribed(c, 'zed', 'dialog')
        rc, out, err = rx(env.path, 'dialplan reload')
        check(rc == 0 and out and ', 0 removed;' in out[0], '%d %r %r', rc, out, err)
        c.no_notify(d, 0.3)
        check('zed@auto' in asterisk_cli.hints(ua), 'the autohint went with the reload')
        ua.ok('devstate change PJSIP/zed NOT_INUSE')
        n = c.notify(d)
        check('<dialog ' not in n.body and n.get('subscription-state').startswith('active'), 'after: %s', n.body)
        # autohints still on after the reload: a new device gets its hint
        ua.ok('devstate change PJSIP/yan RINGING')
        check('yan@auto' in asterisk_cli.hints(ua), 'autohints off after the reload')
        # dropped: the hints they made go, and their subscriptions end; no new ones
        env.edit('extensions.conf', lambda t: t.replace('autohints = yes', 'autohints = no'))
        rc, out, err = rx(env.path, 'dialplan reload')
        check(rc == 0 and out and ', 2 removed;' in out[0], '%d %r %r', rc, out, err)
        n = c.notify(d)
        check(n.get('subscription-state') == 'terminated;reason=noresource', 'autohint gone: %r',
              n.get('subscription-state'))
        ua.ok('devstate change PJSIP/xia INUSE')
        rows = asterisk_cli.hints(ua)
        check(not [k for k in rows if k.endswith('@auto')], 'autohints left: %r', rows)
        c.close()


def test_reload_refuses_broken_file():
    with OpsEnv() as env:
        ua = env.ua
        c = Client(ua.addr, user='tester')
        d = subscribed(c, '1001', 'dialog')
        good = open(os.path.join(env.conf, 'extensions.conf')).read()
        lineno = good.count('\n') + 3
        env.edit('extensions.conf', lambda t: t + '\n[office](+)\nexten => 1001,hint,PJSIP/bob,,(Bob)\n')
        for command in ('dialplan reload', 'module reload', 'core reload'):
            rc, out, err = rx(env.path, command)
            check(rc == 1 and out == [], '%s: %d %r %r', command, rc, out, err)
            check(re.search(r'extensions\.conf:%d(:\d+)?: ' % lineno, err) and 'refused' in err,
                  '%s: the bad line %d not named: %r', command, lineno, err)
        lines, st = ua.cmd('dialplan reload')
        check(st.startswith('ERR reload refused') and 'extensions.conf:%d' % lineno in st, '%r', st)
        ua.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        check(re.search(r'warning: reload refused.*extensions\.conf:%d' % lineno, ua.log()), 'SIGHUP: not logged')
        c.no_notify(d, 0.3)
        # the old hints still work
        ua.ok('devstate change PJSIP/bob BUSY')
        n = c.notify(d)
        check('<state>confirmed</state>' in n.body, 'old hint after a refused reload: %s', n.body)
        rows = asterisk_cli.hints(ua)
        check(rows['1001@office'] == {'app': 'PJSIP/bob', 'state': 'Busy', 'presence': 'not_set', 'watchers': 1},
              '%r', rows)
        # fixed again: the reload goes through, nothing changes for the subscriber
        env.edit('extensions.conf', lambda t: good)
        rc, out, err = rx(env.path, 'module reload')
        check(rc == 0 and len(out) == 1 and out[0].startswith('reloaded: hints 0 added, 0 changed, 0 removed'),
              '%d %r %r', rc, out, err)
        c.no_notify(d, 0.3)
        # a bad value in pjsip.conf: refused too, and the endpoint it would have changed keeps its options
        lineno = open(os.path.join(env.conf, 'pjsip.conf')).read().count('\n') + 4
        env.edit('pjsip.conf', lambda s: s + '\n[tester](+)\nallow_subscribe=no\nsub_min_expiry=soon\n')
        rc, out, err = rx(env.path, 'core reload')
        check(rc == 1 and re.search(r'pjsip\.conf:%d(:\d+)?: ' % lineno, err), 'pjsip.conf: %d %r', rc, err)
        d2 = subscribed(c, '1000', 'presence')  # tester may still subscribe
        check(d2.remote_tag, 'no dialog')
        c.close()


TESTS = [
    test_control_socket_two_clients,
    test_rx_output_and_exit_codes,
    test_sigterm_then_restart_restores,
    test_sighup_reload,
    test_reload_endpoints,
    test_reload_keeps_autohints,
    test_reload_refuses_broken_file,
]


def main():
    return tm.tap_main(TESTS)


if __name__ == '__main__':
    sys.exit(main())
