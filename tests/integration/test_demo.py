#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The demo (./run-demo runs examples/demo/demo.py): it runs its timeline to
the end within a minute and exits 0, and what it prints shows each step's
NOTIFYs; and it fails, with a message and a non-zero status, when an
expected NOTIFY does not come or the notifier refuses a command.

usage: test_demo.py --ua BUILD/examples/sippres-mini-ua --demo SRC/examples/demo/demo.py
Prints TAP. Every wait is bounded."""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from taprun import check
import taprun

ARGS = None



def run_demo(*extra, timeout=90):
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, ARGS.demo, '--ua', ARGS.ua, '--color', 'never'] + list(extra),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), time.monotonic() - t0


def test_demo_runs_its_timeline():
    rc, out, took = run_demo()
    check(rc == 0, 'exit status %d:\n%s', rc, out[-3000:])
    check(took < 60, 'the demo took %.1f s', took)
    check(re.search(r'demo finished in [\d.]+ s: \d+ NOTIFYs to 2 subscribers, each one expected arrived', out),
          'no closing line:\n%s', out[-2000:])
    notifies = re.findall(r'^\[ *[\d.]+s\] (blf|panel) +NOTIFY (\d+) (.*)$', out, re.M)
    by = {'blf': [], 'panel': []}
    for who, n, summary in notifies:
        by[who].append((int(n), summary))
    for who in by:
        check([n for n, _ in by[who]] == list(range(1, len(by[who]) + 1)), '%s NOTIFYs out of order: %r', who,
              by[who])
    blf = [s for _, s in by['blf']]
    panel = [s for _, s in by['panel']]
    # the lamp: idle, ringing with the caller, in the call, on hold, idle, the softphone rings, idle, final
    for want in (r'idle  \[active;expires=', r'ringing \(early\), call from "Carol Clark" <sip:1002@127\.0\.0\.1>',
                 r'in a call \(confirmed\), call from "Carol Clark"', r'on hold \(confirmed\)',
                 r'idle  \[terminated;reason=timeout\]'):
        check([s for s in blf if re.search(want, s)], 'blf: no /%s/ in %r', want, blf)
    check(len(blf) >= 8, 'blf got %d NOTIFYs', len(blf))
    check(panel[0].startswith('list office-presence v0, full state, 4 member(s)'), 'panel first: %r', panel[0])
    check(panel[-1].startswith('list office-presence') and 'full state' in panel[-1]
          and panel[-1].endswith('[terminated;reason=timeout]'), 'panel last: %r', panel[-1])
    for want in (r'- Bob Brown: pidf 1001: open "Ringing" \[on-the-phone\]',
                 r'- Alice Adams: pidf 1000: open "Ready" \[away, other: lunch\], message "Out to lunch"',
                 r'- Reception: pidf 3000: open "Ready" \[busy\], message "Back at 2 pm"',
                 r'- Bob Brown \(terminated\): pidf 1001'):
        check(re.search(want, out), 'panel: no /%s/ in the output', want)
    # bodies are printed under their summaries
    check('<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info"' in out and '<basic>open</basic>' in out,
          'no bodies printed')
    # the hint change shows in core show hints
    # (Asterisk's columns: the hint text cut at 20 characters, its display name not part of it)
    check(re.search(r'1001@office {9}: PJSIP/bob&PJSIP/bob-  State:Idle {12}Presence:not_set {9}Watchers  1', out),
          'core show hints')
    check(re.search(r'- 8 hints registered', out), 'core show hints: footer')
    check('demo FAILED' not in out, 'a failure line')
    return '%d + %d NOTIFYs in %.1f s' % (len(blf), len(panel), took)


def timeline(text):
    f = tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False)
    f.write(text)
    f.close()
    return f.name


def test_demo_fails_when_a_notify_does_not_come():
    path = timeline('watch blf 1001 --event dialog --from sip:alice@127.0.0.1\n'
                    'devstate change PJSIP/carol INUSE\n'   # not Bob's: no NOTIFY for blf
                    'expect blf <state>confirmed</state>\n'
                    'say never reached\n')
    try:
        t0 = time.monotonic()
        rc, out, took = run_demo('--timeline', path, timeout=30)
        check(rc == 1, 'exit status %d:\n%s', rc, out)
        check(re.search(r'demo FAILED: blf: no NOTIFY matching /<state>confirmed</state>/ \(\S+:3\) within 5 s', out),
              'message:\n%s', out)
        check('never reached' not in out, 'went on after the failure')
        check(took < 15, 'took %.1f s', took)
    finally:
        os.unlink(path)


def test_demo_fails_on_a_refused_command():
    path = timeline('devstate change PJSIP/bob SLEEPY\nsay never reached\n')
    try:
        rc, out, _ = run_demo('--timeline', path, timeout=30)
        check(rc == 1 and re.search(r"demo FAILED: the notifier refused 'devstate change PJSIP/bob SLEEPY': ERR", out),
              'exit status %d:\n%s', rc, out)
        check('never reached' not in out, 'went on after the failure')
    finally:
        os.unlink(path)


TESTS = [test_demo_runs_its_timeline, test_demo_fails_when_a_notify_does_not_come, test_demo_fails_on_a_refused_command]


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument('--ua', required=True)
    p.add_argument('--demo', required=True)
    p.add_argument('-k', default='')
    ARGS = p.parse_args()
    return taprun.run(TESTS, ARGS.k)


if __name__ == '__main__':
    sys.exit(main())
