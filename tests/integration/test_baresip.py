#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interop: baresip (Debian baresip-core), a real SIP client that nobody here
wrote, watches three contacts (`;presence=p2p`) on the mini UA over loopback;
the test changes device and presence states through the mini UA's control
channel and asserts what baresip reports for each contact through its
ctrl_tcp interface (Online, Busy, Offline, Unknown). The recipe (its config,
ports and commands) is in the Baresip class below.

baresip 1.0.0 reads PIDF with regular expressions: <basic>open</basic> is
Online, <rpid:away/> is Offline (it wins), <rpid:busy/> or
<rpid:on-the-phone/> is Busy, anything else closed; an ended subscription is
Unknown. It subscribes one second after start and, on quit, un-SUBSCRIBEs and
leaves after the final NOTIFY.

usage: test_baresip.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples
Exit status 0 (pass), 1 (fail), 77 (skipped: no baresip). Every wait is bounded."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from taprun import check

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mini_ua as notifier_tests  # noqa: E402  (the mini UA as a child process: Env, UA)

CONTACTS = (('Alice', '1000'), ('Bob', '1001'), ('Carol', '1002'))


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_config(folder, sip, cons, ctrl):
    """A headless baresip on loopback: SIP on port sip, its console on cons
    (UDP), ctrl_tcp on ctrl; presence, contacts and the menu loaded."""
    with open(os.path.join(folder, 'config'), 'w') as f:
        f.write('poll_method epoll\nsip_listen 127.0.0.1:%d\nnet_interface 127.0.0.1\n'
                'dns_server 127.0.0.1:53\n'
                'audio_player aufile,/dev/null\naudio_source aufile,/dev/null\naudio_alert aufile,/dev/null\n'
                'module_path /usr/lib/baresip/modules\nmodule cons.so\nmodule g711.so\nmodule_tmp uuid.so\n'
                'module_tmp account.so\nmodule_app contact.so\nmodule_app menu.so\nmodule_app presence.so\n'
                'module_app ctrl_tcp.so\ncons_listen 127.0.0.1:%d\nctrl_tcp_listen 127.0.0.1:%d\n'
                % (sip, cons, ctrl))


class Baresip:
    """baresip with a config directory of its own, controlled through ctrl_tcp."""

    def __init__(self, exe, ua_port):
        self.dir = tempfile.mkdtemp(prefix='miniua-baresip-')
        self.sip, self.ctrl, self.cons = free_port(), free_port(socket.SOCK_STREAM), free_port()
        write_config(self.dir, self.sip, self.cons, self.ctrl)
        # From user alice: the mini UA's endpoint [alice] (standard profile)
        with open(os.path.join(self.dir, 'accounts'), 'w') as f:
            f.write('<sip:alice@127.0.0.1:%d;transport=udp>;regint=0;pubint=0;medianat=;answermode=manual\n'
                    % self.sip)
        with open(os.path.join(self.dir, 'contacts'), 'w') as f:
            for name, exten in CONTACTS:
                f.write('"%s" <sip:%s@127.0.0.1:%d>;presence=p2p\n' % (name, exten, ua_port))
        self.log = open(os.path.join(self.dir, 'stdout.log'), 'w+')
        self.proc = subprocess.Popen([exe, '-f', self.dir], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def command(self, command):
        s = socket.create_connection(('127.0.0.1', self.ctrl), timeout=2)
        try:
            c = json.dumps({'command': command, 'token': 't'})
            s.sendall(('%d:%s,' % (len(c), c)).encode())
            if command == 'quit':
                return None
            data = b''
            deadline = time.monotonic() + 2
            while not data.endswith(b',') and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return json.loads(data.split(b':', 1)[1][:-1].decode())['data']
        finally:
            s.close()

    def statuses(self):
        """{contact name: status word} from the `contacts` listing."""
        txt = re.sub(r'\x1b\[[0-9;]*m', '', self.command('contacts'))
        return {m.group(2): m.group(1) for m in re.finditer(r'>\s*(\w+)\s+(\w+) <sip:', txt)}

    def expect(self, want, timeout=5.0):
        """Wait until every contact in want shows its status."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = self.statuses()
                if all(seen.get(k) == v for k, v in want.items()):
                    return seen
            except (OSError, ValueError, KeyError, IndexError):
                pass
            time.sleep(0.05)
        raise AssertionError('baresip shows %r, expected %r' % (seen, want))

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)



def run(exe):
    env = notifier_tests.Env()
    bs = Baresip(exe, env.ua.addr[1])
    steps = 0
    try:
        def step(command, want):
            nonlocal steps
            if command:
                env.ua.ok(command)
            bs.expect(want)
            steps += 1
            print('# %-62s -> %s' % (command or '(subscribed)', ', '.join('%s %s' % kv for kv in want.items())),
                  flush=True)

        step(None, {'Alice': 'Online', 'Bob': 'Online', 'Carol': 'Online'})  # 1 s after its start
        lines = env.ua.ok('sippres show subscriptions')
        check(sorted(l.split()[1] for l in lines) == ['1000@office', '1001@office', '1002@office']
              and all(l.startswith('alice ') and 'event=presence type=application/pidf+xml' in l for l in lines),
              'subscriptions: %r', lines)
        # device states (Bob's hint is PJSIP/bob)
        step('devstate change PJSIP/bob INUSE', {'Bob': 'Busy', 'Alice': 'Online'})
        step('devstate change PJSIP/bob NOT_INUSE', {'Bob': 'Online'})
        step('devstate change PJSIP/bob RINGING', {'Bob': 'Busy'})
        step('devstate change PJSIP/bob ONHOLD', {'Bob': 'Busy'})
        step('devstate change PJSIP/bob UNAVAILABLE', {'Bob': 'Offline'})
        step('devstate change PJSIP/bob NOT_INUSE', {'Bob': 'Online'})
        # Carol's hint is PJSIP/carol&PJSIP/carol-soft: either device in use makes her busy
        step('devstate change PJSIP/carol-soft INUSE', {'Carol': 'Busy'})
        step('devstate change PJSIP/carol-soft NOT_INUSE', {'Carol': 'Online'})
        # presence states (Alice's hint has CustomPresence:alice), RPID in the PIDF
        step('presencestate change CustomPresence:alice away,lunch,Out to lunch', {'Alice': 'Offline'})
        step('presencestate change CustomPresence:alice dnd,,In a meeting', {'Alice': 'Busy'})
        step('presencestate change CustomPresence:alice xa', {'Alice': 'Offline'})
        step('presencestate change CustomPresence:alice available', {'Alice': 'Online'})
        # away wins over a call in baresip's reading (<rpid:away/> before <rpid:on-the-phone/>)
        step('devstate change PJSIP/alice INUSE', {'Alice': 'Busy'})
        step('presencestate change CustomPresence:alice away', {'Alice': 'Offline'})
        step('presencestate change CustomPresence:alice not_set', {'Alice': 'Busy'})
        step('devstate change PJSIP/alice NOT_INUSE', {'Alice': 'Online', 'Bob': 'Online', 'Carol': 'Online'})
        # the hint goes away: terminated;reason=noresource, baresip forgets the status (Unknown)
        step('dialplan remove extension 1002@office hint', {'Carol': 'Unknown', 'Alice': 'Online', 'Bob': 'Online'})
        lines = env.ua.ok('sippres show subscriptions')
        check(sorted(l.split()[1] for l in lines) == ['1000@office', '1001@office'], 'after removal: %r', lines)
        # baresip's own log of every change, contact by contact: nothing in between
        out = re.sub(r'\x1b\[[0-9;]*m', '', bs.output())
        changes = {}
        for m in re.finditer(r'<sip:(\d+)@[^>]*> changed status from (\w+) to (\w+)', out):
            changes.setdefault(m.group(1), []).append('%s>%s' % (m.group(2), m.group(3)))
        want = {
            '1000': ['Online>Offline', 'Offline>Busy', 'Busy>Offline', 'Offline>Online', 'Online>Busy',
                     'Busy>Offline', 'Offline>Busy', 'Busy>Online'],
            '1001': ['Online>Busy', 'Busy>Online', 'Online>Busy', 'Busy>Offline', 'Offline>Online'],
            '1002': ['Online>Busy', 'Busy>Online', 'Online>Unknown'],
        }
        check(changes == want, 'baresip logged %r,\nexpected %r', changes, want)
        # quit: baresip un-SUBSCRIBEs the other two and leaves after their final NOTIFYs
        t0 = time.monotonic()
        bs.command('quit')
        try:
            rc = bs.proc.wait(15)
        except subprocess.TimeoutExpired:
            raise AssertionError('baresip did not leave within 15 s (no final NOTIFY?):\n%s' % bs.output()[-2000:])
        check(rc == 0, 'baresip exit status %r', rc)
        check(time.monotonic() - t0 < 5, 'baresip needed %.1f s to leave', time.monotonic() - t0)
        check(env.ua.ok('sippres show subscriptions') == [], 'subscriptions outlived the un-SUBSCRIBEs')
        check(env.ua.alive(), 'the mini UA died')
    finally:
        bs.close()
        env.close()
    return steps


def main():
    return notifier_tests.client_main(
        'baresip', 'baresip-core', lambda exe: 'baresip showed %d expected statuses, then un-SUBSCRIBEd' % run(exe))


if __name__ == '__main__':
    sys.exit(main())
