#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What clustering costs (docs/performance.md, "Cluster"): mini UA nodes and
a real redis-server on loopback, measured in one run.

usage: bench/cluster.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples
                        [--changes N] [--subs N] [--leases MS,MS] [--memory N,N]

latency   node A and node B, a dialog subscriber on each to the same
          extension; N device changes sent to A one at a time: from writing
          the command to A to the NOTIFY from A (the baseline: one node) and
          to the NOTIFY from B (the change crossed Redis). p50 and p99 of
          both, and what crossing adds.
takeover  three nodes, --subs subscribers on A; kill -9 of A: the time to the
          first and to the last subscriber's NOTIFY from its new node, for
          each lease.
memory    Redis's used_memory per subscription record (INFO memory before
          and after N subscriptions spread over three nodes).
Prints a table; no verdict (no timed assertion)."""

import argparse
import os
import select
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'integration'))
import test_mini_ua as tmu  # noqa: E402
import test_mini_ua_cluster as tmc  # noqa: E402
from redisserver import available  # noqa: E402
from sipclient import Client  # noqa: E402


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def bench_latency(n):
    cl = tmc.Cluster(names=('a', 'b'), t1=2000, lease=3000)
    try:
        ca, cb = cl.client('a'), cl.client('b')
        da, _ = ca.subscribe('1000', 'dialog', accept='application/dialog-info+xml')
        db, _ = cb.subscribe('1000', 'dialog', accept='application/dialog-info+xml')
        ca.notify(da)
        cb.notify(db)
        local, cross = [], []
        states = ('INUSE', 'NOT_INUSE')
        stdin = cl.nodes['a'].proc.stdin
        for i in range(n):
            line = ('devstate change PJSIP/alice %s\n' % states[i % 2]).encode()
            t0 = time.monotonic()
            stdin.write(line)
            stdin.flush()
            got = {}
            deadline = t0 + 5
            while len(got) < 2 and time.monotonic() < deadline:
                r, _, _ = select.select([ca.sock, cb.sock], [], [], max(0, deadline - time.monotonic()))
                now = time.monotonic()
                for s in r:
                    c = ca if s is ca.sock else cb
                    m = c._read(now + 0.001)
                    if m is not None and m.method == 'NOTIFY' and s not in got:
                        got[s] = now - t0
            if len(got) < 2:
                raise SystemExit('change %d: a NOTIFY did not come' % i)
            local.append(got[ca.sock] * 1000)
            cross.append(got[cb.sock] * 1000)
        added = [c - l for c, l in zip(cross, local)]
        return local, cross, added
    finally:
        cl.close()


def bench_takeover(lease, subs):
    cl = tmc.Cluster(t1=2000, lease=lease, no_limits=True)
    bulk = tmc.Bulk()
    try:
        a = cl.nodes['a'].addr
        for i in range(subs):
            bulk.subscribe(a, ('1000', '1001', '1002')[i % 3])
            if (i + 1) % 300 == 0:
                bulk.pump(lambda: bulk.notifies >= i + 1 - 150, 30, 'initial NOTIFYs')
        bulk.pump(lambda: bulk.notifies >= subs, 60, 'initial NOTIFYs')
        time.sleep(0.3)
        t0 = time.monotonic()
        cl.nodes['a'].kill9()
        bulk.pump(lambda: bulk.notifies >= 2 * subs, 60 + 4 * lease / 1000.0, 'the adopted NOTIFYs')
        times = [d['notifies'][1][3] - t0 for d in bulk.dialogs.values()]
        return min(times), max(times)
    finally:
        bulk.close()
        cl.close()


def bench_memory(total):
    cl = tmc.Cluster(t1=2000, lease=10000, no_limits=True)
    bulk = tmc.Bulk()
    try:
        mem0 = cl.redis.used_memory()
        names = ['a', 'b', 'c']
        for i in range(total):
            bulk.subscribe(cl.nodes[names[i % 3]].addr, ('1000', '1001', '1002')[(i // 3) % 3])
            if (i + 1) % 300 == 0:
                bulk.pump(lambda: bulk.notifies >= i + 1 - 150, 30, 'initial NOTIFYs')
        bulk.pump(lambda: bulk.notifies >= total, 60, 'initial NOTIFYs')
        time.sleep(1.0)
        mem1 = cl.redis.used_memory()
        rec = cl.redis.command('HSTRLEN', 'sippres:subs:node-a', next(
            k for k in cl.redis.command('HKEYS', 'sippres:subs:node-a')))
        return (mem1 - mem0) / total, rec
    finally:
        bulk.close()
        cl.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--ua', required=True)
    p.add_argument('--examples', required=True)
    p.add_argument('--changes', type=int, default=500)
    p.add_argument('--subs', type=int, default=1000)
    p.add_argument('--leases', default='1000,3000')
    p.add_argument('--memory', default='10000,30000')
    a = p.parse_args()
    tmu.ARGS = argparse.Namespace(ua=a.ua, examples=a.examples, golden='', k='')
    if not available():
        print('redis-server is not installed (Debian redis-server)')
        return 77
    local, cross, added = bench_latency(a.changes)
    print('latency over %d device changes, ms (command to A -> NOTIFY)' % a.changes)
    print('  %-28s p50 %6.2f  p99 %6.2f' % ('NOTIFY from A (one node)', pct(local, 50), pct(local, 99)))
    print('  %-28s p50 %6.2f  p99 %6.2f' % ('NOTIFY from B (via Redis)', pct(cross, 50), pct(cross, 99)))
    print('  %-28s p50 %6.2f  p99 %6.2f  (mean %.2f)' % ('added by crossing', pct(added, 50), pct(added, 99),
                                                           statistics.mean(added)))
    for lease in (int(x) for x in a.leases.split(',')):
        first, last = bench_takeover(lease, a.subs)
        print('takeover, lease %5d ms, %d subscribers: first NOTIFY %.2f s, last %.2f s after kill -9'
              % (lease, a.subs, first, last))
    for total in (int(x) for x in a.memory.split(',')):
        per, rec = bench_memory(total)
        print('Redis memory, %6d subscriptions: %.0f bytes per subscription (records of %d bytes)'
              % (total, per, rec))
    return 0


if __name__ == '__main__':
    sys.exit(main())
