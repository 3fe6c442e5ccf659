#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What a 1,000-NOTIFY burst costs the mini UA's --state-dir in system calls,
counted by strace -c attached to the running UA for the burst only.

usage: bench/mini-ua-store-burst.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples

Two bursts, each in a fresh state directory:
  one-sub:   one dialog subscription, 1,000 device changes piped on stdin at once
  fan-out:   1,000 dialog subscriptions on one hint, one device change
Prints, per burst, the NOTIFYs received and the fsync, fdatasync, syncfs,
rename and openat calls made while it ran (needs strace; run as root or with ptrace allowed)."""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
import test_mini_ua as tmu  # noqa: E402
from sipclient import Client  # noqa: E402

CALLS = ('fsync', 'fdatasync', 'syncfs', 'rename', 'renameat', 'renameat2', 'openat', 'unlinkat')


def strace_attach(pid, out):
    p = subprocess.Popen(['strace', '-f', '-c', '-e', 'trace=' + ','.join(CALLS), '-o', out, '-p', str(pid)],
                         stderr=subprocess.PIPE)
    # strace prints "Process N attached" once it is tracing
    line = p.stderr.readline().decode()
    if 'attached' not in line:
        raise SystemExit('strace did not attach: ' + line)
    return p


def strace_counts(p, out):
    p.send_signal(signal.SIGINT)
    p.wait(30)
    counts = {}
    for line in open(out):
        f = line.split()
        if len(f) >= 5 and f[-1] in CALLS:
            counts[f[-1]] = int(f[3])
    return counts


def burst(kind, n):
    conf = tmu.make_conf()
    state = tempfile.mkdtemp(prefix='miniua-burst-')
    ua = tmu.UA(conf, state_dir=state)
    c = Client(ua.addr, user='tester')
    try:
        dialogs = []
        for _ in range(n if kind == 'fan-out' else 1):
            d, r = c.subscribe('1000', 'dialog', expires=600)
            assert r.status == 200, r.start
            c.notify(d)
            dialogs.append(d)
        out = tempfile.mktemp(prefix='strace-')
        tracer = strace_attach(ua.proc.pid, out)
        t0 = time.monotonic()
        if kind == 'fan-out':
            ua.ok('devstate change PJSIP/alice INUSE')
            want = n
        else:
            lines = ''.join('devstate change PJSIP/alice %s\n' % ('INUSE' if i % 2 == 0 else 'NOT_INUSE')
                            for i in range(n))
            ua.proc.stdin.write(lines.encode())
            ua.proc.stdin.flush()
            for _ in range(n):
                assert ua.out.get(timeout=60) == 'OK'
            want = n
        got = 0
        while got < want and c.wait(lambda m: m.method == 'NOTIFY', 10) is not None:
            got += 1
        elapsed = time.monotonic() - t0
        counts = strace_counts(tracer, out)
        os.unlink(out)
        return got, elapsed, counts
    finally:
        ua.quit()
        c.close()
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(conf, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--ua', required=True)
    p.add_argument('--examples', required=True)
    p.add_argument('-n', type=int, default=1000)
    tmu.ARGS = p.parse_args()
    tmu.ARGS.golden = ''
    if not shutil.which('strace'):
        print('strace not installed')
        return 77
    for kind in ('one-sub', 'fan-out'):
        got, elapsed, counts = burst(kind, tmu.ARGS.n)
        print('%-8s %d NOTIFYs in %.2fs under strace: %s' % (
            kind, got, elapsed, ', '.join('%s %d' % (k, counts.get(k, 0)) for k in CALLS if counts.get(k))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
