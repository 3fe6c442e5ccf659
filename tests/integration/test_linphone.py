#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interop: linphone's console client (Debian linphone-cli, `linphonec`
5.1), a real SIP client that nobody here wrote, watches four friends on the
mini UA over loopback. The test changes device and presence states through
the mini UA's control channel and asserts what linphonec prints for each
friend: one line `Friend "<name>" <sip:...> is <status>` per NOTIFY it
reads.

How linphonec is made hermetic and what it does (found by running it with
`-d 6`; docs/mini-ua.md, "Real SIP clients"):
- its own HOME (and XDG dirs) in a temporary folder, and a config file of its
  own (`-c`): UDP on a random port bound to 127.0.0.1 (`sip_port=-1`,
  `bind_address`, `use_ipv6=0`), no TCP or TLS (`sip_tcp_port=0`,
  `sip_tls_port=0`), identity `sip:alice@127.0.0.1` or `sip:bob@127.0.0.1`
  (`contact`), so its SUBSCRIBEs come from the mini UA's endpoint [alice]
  (standard profile) or [bob] (presence_profile=asterisk): the scenario runs
  once as each. No proxy, no REGISTER.
- linphonec keeps friends in a SQLite database under
  ~/.local/share/linphone; when that folder is missing it cannot open the
  database, has no friend list, and sends no SUBSCRIBE at all.
- `friend add <name> <sip-uri>` on its standard input SUBSCRIBEs at once
  (Event: presence, Expires: 600, no Accept header: PIDF). It reads
  <basic> and the RPID activities of the PIDF: on-the-phone is "On the
  phone", busy is Busy, away is Away, and an activity wins over <basic> (a
  closed tuple with busy is Busy); with no activity open is Online and
  closed Offline. With several activities it takes one (the last one in the
  document, as seen here), so away with a subtype (<rpid:other>) shows Moved
  and away during a call shows Away. It prints a line for every NOTIFY, even
  when the status is the same. `friend list` shows names and addresses only.
- With the Asterisk profile the PIDF carries no presence state (as
  Asterisk's own does not), so away, xa and dnd still show Online or, during
  a call, "On the phone".
- A final NOTIFY (terminated;reason=noresource) is printed like any other,
  with the status of its body; linphonec then drops the subscription and,
  from about 2 s after its start on, does not subscribe again on its own
  (only `friend add` does). A subscription that ends earlier than that is
  SUBSCRIBEd once more at its next one-second tick (then 404, and nothing
  more), so the test removes the hint only when linphonec has run 3 s.
- `quit` un-SUBSCRIBEs (Expires: 0) and leaves without waiting for the final
  NOTIFY.

usage: test_linphone.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples
LINPHONE_KEEP=1 keeps linphonec's folder (config, debug.log with every SIP message).
Exit status 0 (pass), 1 (fail), 77 (skipped: no linphonec). Every wait is bounded."""

import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from taprun import check  # noqa: E402
import test_mini_ua as notifier_tests  # noqa: E402  (the mini UA as a child process: Env, UA)

# name in linphonec -> extension on the mini UA (examples/extensions.conf)
FRIENDS = (('alice', '1000'), ('bob', '1001'), ('carol', '1002'), ('reception', '3000'))
LINE = re.compile(r'Friend "([^"]*)" <sip:([^@>]+)@[^>]*> is (.+?)\s*$')


class Linphonec:
    """linphonec with a HOME and config file of its own, driven through its standard input."""

    def __init__(self, exe, user):
        self.dir = tempfile.mkdtemp(prefix='miniua-linphone-')
        home = self.dir
        # without this folder linphonec has no friends database and subscribes to nobody
        os.makedirs(os.path.join(home, '.local', 'share', 'linphone'))
        self.rc = os.path.join(home, 'linphonerc')
        with open(self.rc, 'w') as f:
            f.write('[sip]\n'
                    'sip_port=-1\n'          # UDP, a random port
                    'sip_tcp_port=0\n'       # 0: no TCP, no TLS (-1 would be a random port)
                    'sip_tls_port=0\n'
                    'bind_address=127.0.0.1\n'
                    'use_ipv6=0\n'
                    'guess_hostname=0\n'
                    'contact="%s" <sip:%s@127.0.0.1>\n' % (user.title(), user))
        self.debug_log = os.path.join(home, 'debug.log')
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, '.config'),
                   XDG_DATA_HOME=os.path.join(home, '.local', 'share'), LANG='C', LC_ALL='C')
        env.pop('DISPLAY', None)
        self.proc = subprocess.Popen([exe, '-c', self.rc, '-d', '6', '-l', self.debug_log],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     cwd=home, env=env)
        self.t0 = time.monotonic()
        self.lines = queue.Queue()
        self.transcript = []
        self.events = []          # (name, exten, status), in the order linphonec printed them
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            self.transcript.append(line)
            m = LINE.search(line)
            if m:
                self.lines.put(m.groups())
        self.lines.put(None)

    def send(self, line):
        self.proc.stdin.write((line + '\n').encode())
        self.proc.stdin.flush()

    def expect(self, want, timeout=5.0):
        """Wait for one new status line for each friend in want; each must show its status.
        A line for a friend not in want fails."""
        got = {}
        deadline = time.monotonic() + timeout
        while set(got) != set(want):
            try:
                ev = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError('linphonec printed %r, expected a line for each of %r; output:\n%s'
                                     % (got, want, '\n'.join(self.transcript[-20:])))
            if ev is None:
                raise AssertionError('linphonec ended; output:\n%s' % '\n'.join(self.transcript[-20:]))
            self.events.append(ev)
            name, _, status = ev
            check(name in want and name not in got, 'unexpected line for %s: %r (waiting for %r)', name, ev, want)
            got[name] = status
        check(got == want, 'linphonec shows %r, expected %r', got, want)
        return got

    def quiet(self, seconds):
        """Nothing printed for a while."""
        try:
            ev = self.lines.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError('linphonec printed %r, expected nothing' % (ev,))

    def debug(self):
        try:
            with open(self.debug_log, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if os.environ.get('LINPHONE_KEEP'):
            print('# kept %s' % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def subscriptions(env):
    """{resource: line} of the mini UA's inbound subscriptions."""
    return {l.split()[1]: l for l in env.ua.ok('sippres show subscriptions')}


def wait_subscriptions(env, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        subs = subscriptions(env)
        if sorted(subs) == sorted(want) or time.monotonic() > deadline:
            return subs
        time.sleep(0.05)


def run(exe, user):
    """The whole scenario, linphonec being the mini UA's endpoint `user`: alice has the standard
    profile (RFC PIDF with RPID), bob presence_profile=asterisk (Asterisk's PIDF, byte for byte,
    which carries no presence state: that goes in the Digium supplement, which PIDF-only
    watchers are not sent)."""
    std = user == 'alice'

    def pick(standard, asterisk):
        return standard if std else asterisk

    print('# as endpoint %s (%s profile)' % (user, pick('standard', 'asterisk')), flush=True)
    env = notifier_tests.Env()
    lp = Linphonec(exe, user)
    port = env.ua.addr[1]
    steps = 0
    try:
        def step(command, want):
            nonlocal steps
            if command:
                env.ua.ok(command)
            lp.expect(want)
            steps += 1
            print('# %-62s -> %s' % (command or '(subscribed)', ', '.join('%s %s' % kv for kv in want.items())),
                  flush=True)

        # one friend after the other, so that the lines come in a known order
        for name, exten in FRIENDS:
            lp.send('friend add %s sip:%s@127.0.0.1:%d' % (name, exten, port))
            # the presence-only hint has no device: UNAVAILABLE, PIDF closed
            step(None, {name: 'Offline' if exten == '3000' else 'Online'})
        subs = wait_subscriptions(env, ['1000@office', '1001@office', '1002@office', '3000@office'])
        check(sorted(subs) == ['1000@office', '1001@office', '1002@office', '3000@office']
              and all(l.startswith(user + ' ') and 'event=presence type=application/pidf+xml' in l
                      for l in subs.values()), 'subscriptions: %r', subs)
        sub = lp.debug()
        m = re.search(r'SUBSCRIBE sip:1000@127\.0\.0\.1:%d SIP/2\.0\r?\n(.*?)\r?\n\r?\n' % port, sub, re.S)
        check(m, 'no SUBSCRIBE to 1000 in the debug log')
        headers = m.group(1)
        check(re.search(r'^Event: presence$', headers, re.M) and re.search(r'^Expires: 600$', headers, re.M)
              and not re.search(r'^Accept:', headers, re.M | re.I)
              and re.search(r'^User-Agent: Linphonec/', headers, re.M), 'SUBSCRIBE headers:\n%s', headers)

        # device states (Bob's hint is PJSIP/bob)
        step('devstate change PJSIP/bob INUSE', {'bob': 'On the phone'})
        step('devstate change PJSIP/bob NOT_INUSE', {'bob': 'Online'})
        step('devstate change PJSIP/bob RINGING', {'bob': 'On the phone'})
        step('devstate change PJSIP/bob ONHOLD', {'bob': 'On the phone'})
        step('devstate change PJSIP/bob BUSY', {'bob': 'On the phone'})
        step('devstate change PJSIP/bob UNAVAILABLE', {'bob': 'Offline'})
        step('devstate change PJSIP/bob NOT_INUSE', {'bob': 'Online'})
        # Carol's hint is PJSIP/carol&PJSIP/carol-soft: either device in use makes her busy
        step('devstate change PJSIP/carol-soft RINGING', {'carol': 'On the phone'})
        step('devstate change PJSIP/carol-soft NOT_INUSE', {'carol': 'Online'})
        # one device unavailable, the other idle: still idle, no NOTIFY (the next step would see it)
        env.ua.ok('devstate change PJSIP/carol UNAVAILABLE')
        step('devstate change PJSIP/carol-soft INUSE', {'carol': 'On the phone'})
        step('devstate change PJSIP/carol-soft NOT_INUSE', {'carol': 'Online'})
        env.ua.ok('devstate change PJSIP/carol NOT_INUSE')
        # presence states (Alice's hint has CustomPresence:alice): RPID in the standard PIDF; the
        # Asterisk profile's PIDF does not change (linphonec still gets a NOTIFY for each)
        step('presencestate change CustomPresence:alice away', {'alice': pick('Away', 'Online')})
        step('presencestate change CustomPresence:alice xa', {'alice': pick('Away', 'Online')})
        step('presencestate change CustomPresence:alice dnd,,In a meeting', {'alice': pick('Busy', 'Online')})
        step('presencestate change CustomPresence:alice available', {'alice': 'Online'})
        # away with a subtype: <rpid:away/><rpid:other>lunch</rpid:other>; linphone reads the other one
        step('presencestate change CustomPresence:alice away,lunch,Out to lunch', {'alice': pick('Moved', 'Online')})
        step('presencestate change CustomPresence:alice chat', {'alice': 'Online'})
        # a call and a presence at once: <rpid:on-the-phone/><rpid:away/>, linphone shows Away
        step('devstate change PJSIP/alice INUSE', {'alice': 'On the phone'})
        step('presencestate change CustomPresence:alice away', {'alice': pick('Away', 'On the phone')})
        step('presencestate change CustomPresence:alice not_set', {'alice': 'On the phone'})
        step('devstate change PJSIP/alice NOT_INUSE', {'alice': 'Online'})
        # a presence-only hint (no device: unavailable) is closed in the asterisk profile whatever its
        # presence; the standard profile's <basic> follows the presence state once there is one: open
        # for dnd (shown Busy, the RPID activity) and available
        step('presencestate change CustomPresence:reception dnd', {'reception': pick('Busy', 'Offline')})
        step('presencestate change CustomPresence:reception available', {'reception': pick('Online', 'Offline')})
        # the hint goes away: the final NOTIFY (terminated;reason=noresource) carries the default
        # body, as Asterisk's does (open, Ready), so linphonec shows her Online although she was on
        # the phone; then it has no subscription to Carol and shows nothing more for her
        step('devstate change PJSIP/carol INUSE', {'carol': 'On the phone'})
        time.sleep(max(0.0, lp.t0 + 3.0 - time.monotonic()))   # past its start-up re-SUBSCRIBE
        step('dialplan remove extension 1002@office hint', {'carol': 'Online'})
        check('Outgoing subscription terminated by remote ["carol"' in lp.debug(),
              'linphonec did not log the end of the subscription to carol')
        subs = wait_subscriptions(env, ['1000@office', '1001@office', '3000@office'])
        check(sorted(subs) == ['1000@office', '1001@office', '3000@office'], 'after removal: %r', subs)
        env.ua.ok('dialplan add extension 1002,hint,PJSIP/carol&PJSIP/carol-soft into office')
        env.ua.ok('devstate change PJSIP/carol NOT_INUSE')
        lp.quiet(2.0)     # and no new SUBSCRIBE: it does not come back by itself
        check(sorted(subscriptions(env)) == ['1000@office', '1001@office', '3000@office'],
              'linphonec subscribed again: %r', subscriptions(env))
        # the others still work
        step('devstate change PJSIP/bob RINGING', {'bob': 'On the phone'})
        step('devstate change PJSIP/bob NOT_INUSE', {'bob': 'Online'})
        # a new friend on the same address subscribes again, to the hint that is back
        lp.send('friend add carol2 sip:1002@127.0.0.1:%d' % port)
        step(None, {'carol2': 'Online'})
        step('devstate change PJSIP/carol-soft RINGING', {'carol2': 'On the phone'})
        subs = wait_subscriptions(env, ['1000@office', '1001@office', '1002@office', '3000@office'])
        check(sorted(subs) == ['1000@office', '1001@office', '1002@office', '3000@office'], 'subscriptions: %r', subs)

        # linphonec's whole account, friend by friend: one line per NOTIFY, nothing in between
        seen = {}
        for name, _, status in lp.events:
            seen.setdefault(name, []).append(status)
        want = {
            'alice': pick(['Online', 'Away', 'Away', 'Busy', 'Online', 'Moved', 'Online', 'On the phone', 'Away',
                           'On the phone', 'Online'],
                          ['Online', 'Online', 'Online', 'Online', 'Online', 'Online', 'Online', 'On the phone',
                           'On the phone', 'On the phone', 'Online']),
            'bob': ['Online', 'On the phone', 'Online', 'On the phone', 'On the phone', 'On the phone', 'Offline',
                    'Online', 'On the phone', 'Online'],
            'carol': ['Online', 'On the phone', 'Online', 'On the phone', 'Online', 'On the phone', 'Online'],
            'reception': pick(['Offline', 'Busy', 'Online'], ['Offline', 'Offline', 'Offline']),
            'carol2': ['Online', 'On the phone'],
        }
        check(seen == want, 'linphonec printed %r,\nexpected %r', seen, want)
        uris = dict(FRIENDS, carol2='1002')
        check(all(ex == uris[n] for n, ex, _ in lp.events), 'lines name other URIs: %r', lp.events)

        # quit: linphonec un-SUBSCRIBEs all four and leaves
        t0 = time.monotonic()
        lp.send('quit')
        try:
            rc = lp.proc.wait(15)
        except subprocess.TimeoutExpired:
            raise AssertionError('linphonec did not leave within 15 s:\n%s' % '\n'.join(lp.transcript[-20:]))
        check(rc == 0, 'linphonec exit status %r', rc)
        check(time.monotonic() - t0 < 5, 'linphonec needed %.1f s to leave', time.monotonic() - t0)
        subs = wait_subscriptions(env, [])
        check(subs == {}, 'subscriptions outlived the un-SUBSCRIBEs: %r', subs)
        check(env.ua.alive(), 'the mini UA died')
    finally:
        lp.close()
        env.close()
    return steps


def main():
    return notifier_tests.client_main(
        'linphonec', 'linphone-cli',
        lambda exe: 'linphonec showed %d expected statuses in two runs (standard and Asterisk profile), '
                    'then un-SUBSCRIBEd' % (run(exe, 'alice') + run(exe, 'bob')))


if __name__ == '__main__':
    sys.exit(main())
