#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The wire benchmark: the mini UA and Kamailio's presence server fed the same
workload by bench/loadgen.c (sippres-loadgen), in the same run, alternating
A B A B, each server started fresh for each run and stopped after it.

usage: bench/wire-bench.py --build BUILD [--rounds R] [-n N] [-m M] [-k K]
                           [--events presence,dialog] [--out DIR] [--servers mini,kamailio]
                           [--build-b BUILD_B --servers mini,mini-b]

Workload per run (see bench/loadgen.c): the M presentities PUBLISH once; N
subscribers x M presentities SUBSCRIBE (every NOTIFY answered); K PUBLISHes to
one presentity, one after another, each fanning out to N NOTIFYs; a burst in
which all M presentities PUBLISH at once (N x M NOTIFYs); everyone
unsubscribes. Loopback only, every phase bounded by --timeout.

Kamailio runs from Debian's packages (kamailio, kamailio-presence-modules)
with bench/kamailio-bench.cfg: presence kept in memory only, its fastest
setting. Without kamailio installed only the mini UA is measured.

Writes DIR/wire-runs.jsonl (one loadgen report per run), DIR/wire.csv (the
medians) and, with gnuplot, DIR/wire-rates.png and DIR/wire-cpu.png; prints a
table of medians with the spread (min-max) over the rounds.

An A/B of two mini UA builds in the same run: --build-b names the second
build (e.g. the base commit built from `git archive main`), --servers
mini,mini-b runs both alternately (mini-b listens on its own port)."""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MINI_PORT = 5170
KAM_PORT = 5180
MINI_B_PORT = 5175


def options_ping(port, timeout=10.0):
    """True once the server answers OPTIONS on 127.0.0.1:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    s.settimeout(0.2)
    lport = s.getsockname()[1]
    end = time.time() + timeout
    n = 0
    try:
        while time.time() < end:
            n += 1
            msg = ('OPTIONS sip:ping@127.0.0.1:%d SIP/2.0\r\n'
                   'Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKping%d;rport\r\n'
                   'Max-Forwards: 70\r\nFrom: <sip:ping@127.0.0.1>;tag=p%d\r\nTo: <sip:ping@127.0.0.1:%d>\r\n'
                   'Call-ID: ping%d@bench\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n'
                   % (port, lport, n, n, port, n, n))
            s.sendto(msg.encode(), ('127.0.0.1', port))
            try:
                data, _ = s.recvfrom(65535)
                if data.startswith(b'SIP/2.0 '):
                    return True
            except socket.timeout:
                pass
    finally:
        s.close()
    return False


class Mini:
    def __init__(self, build, m, workdir, name='mini-ua', port=MINI_PORT):
        self.name = name
        self.ua = os.path.join(build, 'examples', 'sippres-mini-ua')
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, 'extensions.conf'), 'w') as f:
            f.write('[default]\n')
            for p in range(m):
                f.write('exten => p%d,hint,Dialog/p%d,Publish:p%d\n' % (p, p, p))
        with open(os.path.join(self.dir, 'pjsip.conf'), 'w') as f:
            # the load generator is one address and one endpoint for all its subscribers, as a proxy in
            # front of the server would be: the mini UA's per-source, per-endpoint and rate limits (which
            # Kamailio's config has no counterpart of) are lifted, as docs/mini-ua.md shows for that case
            f.write('[global]\ntype=global\nmax_subscriptions=0\nmax_subscriptions_per_endpoint=0\n'
                    'max_subscriptions_per_source=0\nrate_per_source=0\n\n')
            f.write('[anonymous]\ntype=endpoint\ncontext=default\n\n[pub]\ntype=endpoint\ncontext=default\n\n')
            for p in range(m):
                f.write('[p%d]\ntype=inbound-publication\nendpoint=pub\nevent_presence=yes\nevent_dialog=yes\n\n' % p)
        self.proc = None
        self.port = port

    def start(self):
        self.log = open(os.path.join(self.dir, 'mini-ua.log'), 'w')
        self.proc = subprocess.Popen([self.ua, '--listen', '127.0.0.1:%d' % self.port,
                                      '--extensions', os.path.join(self.dir, 'extensions.conf'),
                                      '--pjsip', os.path.join(self.dir, 'pjsip.conf')],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.log)
        if not options_ping(self.port):
            self.stop()
            raise SystemExit('the mini UA did not answer OPTIONS')
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'quit\n')
                self.proc.stdin.flush()
                self.proc.wait(10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Kamailio:
    name = 'kamailio'

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, 'kamailio')
        self.proc = None
        self.port = KAM_PORT

    @staticmethod
    def available():
        return shutil.which('kamailio') is not None and os.path.exists(
            '/usr/lib/x86_64-linux-gnu/kamailio/modules/presence.so')

    @staticmethod
    def version():
        try:
            out = subprocess.run(['kamailio', '-v'], capture_output=True, text=True, timeout=10).stdout
            return out.splitlines()[0] if out else '?'
        except (OSError, subprocess.SubprocessError):
            return '?'

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        db = os.path.join(self.dir, 'dbtext')
        os.makedirs(db)
        for t in ('version', 'presentity', 'active_watchers', 'watchers', 'xcap'):
            shutil.copy(os.path.join('/usr/share/kamailio/dbtext/kamailio', t), db)
        self.log = open(os.path.join(self.dir, 'kamailio.log'), 'w')
        self.proc = subprocess.Popen(
            ['kamailio', '-DD', '-E', '-f', os.path.join(HERE, 'kamailio-bench.cfg'), '-Y', self.dir,
             '-w', self.dir, '-m', '1024', '-M', '32',
             '-A', 'DBURL="text://%s"' % db, '-A', 'LISTEN=udp:127.0.0.1:%d' % self.port,
             '-A', 'SRVADDR="sip:127.0.0.1:%d"' % self.port],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        if not options_ping(self.port, 20):
            self.stop()
            raise SystemExit('kamailio did not answer OPTIONS (see %s)' % self.log.name)
        return self.proc.pid

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


METRICS = [
    # (key in the table, phase, field, label)
    ('subscribe_rate', 'subscribe', 'rate', 'new subscriptions/s'),
    ('fanout_rate', 'fanout', 'rate', 'NOTIFYs/s, fan-out'),
    ('burst_rate', 'burst', 'rate', 'NOTIFYs/s, burst'),
    ('fanout_p50_ms', 'fanout', 'latency_p50_ms', 'PUBLISH to Nth NOTIFY p50 (ms)'),
    ('fanout_p99_ms', 'fanout', 'latency_p99_ms', 'PUBLISH to Nth NOTIFY p99 (ms)'),
    ('unsubscribe_rate', 'unsubscribe', 'rate', 'unsubscriptions/s'),
    ('cpu_us_per_notify_fanout', 'fanout', 'server_cpu_us_per_item', 'server CPU us per NOTIFY, fan-out'),
    ('cpu_us_per_notify_burst', 'burst', 'server_cpu_us_per_item', 'server CPU us per NOTIFY, burst'),
    ('cpu_us_per_subscription', 'subscribe', 'server_cpu_us_per_item', 'server CPU us per subscription'),
    ('burst_drops', 'burst', 'drops', 'datagrams dropped at the server, burst'),
    ('drops_total', None, 'drops', 'datagrams dropped at the server, all phases'),
    ('retransmits_total', None, 'retransmits', 'retransmissions (ours + duplicate NOTIFYs)'),
    ('loadgen_cpu_share', None, 'client_share', 'load generator CPU / wall, busiest phase'),
]
PHASES = ['initial_publish', 'subscribe', 'fanout', 'burst', 'unsubscribe']


def snapshot(build, snap):
    """The mini UA, its libraries and the load generator of build copied under snap (returned)."""
    loadgen = os.path.join(build, 'bench', 'sippres-loadgen')
    if not os.access(loadgen, os.X_OK):
        raise SystemExit('no %s: build first (meson compile -C %s)' % (loadgen, build))
    os.makedirs(os.path.join(snap, 'examples'))
    os.makedirs(os.path.join(snap, 'bench'))
    for f in os.listdir(build):
        if f.startswith('libsippresence.so') and not os.path.isdir(os.path.join(build, f)):
            shutil.copy2(os.path.join(build, f), snap, follow_symlinks=True)
    # the mini UA links libsippresence-redis when it is built (rpath $ORIGIN/../redis)
    redis_dir = os.path.join(build, 'redis')
    if os.path.isdir(redis_dir):
        os.makedirs(os.path.join(snap, 'redis'))
        for f in os.listdir(redis_dir):
            if f.startswith('libsippresence-redis.so') and not os.path.isdir(os.path.join(redis_dir, f)):
                shutil.copy2(os.path.join(redis_dir, f), os.path.join(snap, 'redis'), follow_symlinks=True)
    shutil.copy2(os.path.join(build, 'examples', 'sippres-mini-ua'), os.path.join(snap, 'examples'))
    shutil.copy2(loadgen, os.path.join(snap, 'bench'))
    return snap


def metric(run, phase, field):
    if phase:
        return run[phase].get(field)
    if field == 'drops':
        return sum(run[p]['drops'] for p in PHASES)
    if field == 'retransmits':
        return sum(run[p]['retransmits_sent'] + run[p]['duplicates_received'] for p in PHASES)
    if field == 'client_share':
        return max(run[p]['client_cpu_s'] / run[p]['seconds'] for p in PHASES if run[p]['seconds'] > 0)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', required=True)
    ap.add_argument('--build-b', help='a second mini UA build for --servers mini,mini-b')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('-n', type=int, default=1000)
    ap.add_argument('-m', type=int, default=10)
    ap.add_argument('-k', type=int, default=20)
    ap.add_argument('--events', default='presence,dialog')
    ap.add_argument('--servers', default='mini,kamailio')
    ap.add_argument('--sockets', type=int, default=8)
    ap.add_argument('--window', type=int, default=256)
    ap.add_argument('--timeout', type=float, default=60)
    ap.add_argument('--out', default='bench-out')
    args = ap.parse_args()

    loadgen = os.path.join(args.build, 'bench', 'sippres-loadgen')
    if not os.access(loadgen, os.X_OK):
        raise SystemExit('no %s: build first (meson compile -C %s)' % (loadgen, args.build))
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix='wire-bench-')
    # a copy of the binaries, so that a rebuild while this runs changes nothing
    snap = snapshot(args.build, os.path.join(work, 'bin'))
    loadgen = os.path.join(snap, 'bench', 'sippres-loadgen')
    args.build = snap
    snap_b = snapshot(args.build_b, os.path.join(work, 'bin-b')) if args.build_b else None
    servers = []
    for s in args.servers.split(','):
        if s == 'mini':
            servers.append(Mini(args.build, args.m, work))
        elif s == 'mini-b':
            if not snap_b:
                raise SystemExit('--servers mini-b needs --build-b')
            servers.append(Mini(snap_b, args.m, work, name='mini-b', port=MINI_B_PORT))
        elif s == 'kamailio':
            if Kamailio.available():
                servers.append(Kamailio(work))
            else:
                print('# kamailio (kamailio, kamailio-presence-modules) is not installed: mini UA only')
    events = args.events.split(',')
    runs = []
    jl = open(os.path.join(args.out, 'wire-runs.jsonl'), 'w')
    try:
        for r in range(args.rounds):
            for ev in events:
                for srv in servers:  # A B A B: the same order every round
                    pid = srv.start()
                    cmd = [loadgen, '--server', '127.0.0.1:%d' % srv.port, '--server-pid', str(pid),
                           '-n', str(args.n), '-m', str(args.m), '-k', str(args.k), '--event', ev,
                           '--sockets', str(args.sockets), '--window', str(args.window),
                           '--timeout', str(args.timeout), '--label', srv.name]
                    out = subprocess.run(cmd, capture_output=True, text=True,
                                         timeout=args.timeout * 6 + 60)
                    srv.stop()
                    if out.returncode != 0 or not out.stdout.strip():
                        raise SystemExit('loadgen failed: %s\n%s' % (' '.join(cmd), out.stderr))
                    run = json.loads(out.stdout)
                    run['round'] = r
                    runs.append(run)
                    jl.write(json.dumps(run) + '\n')
                    jl.flush()
                    print('# round %d %-8s %-8s subscribe %8.0f/s  fan-out %8.0f NOTIFY/s  burst %8.0f NOTIFY/s  '
                          'CPU/NOTIFY %6.1f us  drops %d  errors %d'
                          % (r + 1, ev, srv.name, run['subscribe']['rate'], run['fanout']['rate'],
                             run['burst']['rate'], run['burst']['server_cpu_us_per_item'],
                             metric(run, None, 'drops'),
                             sum(run[p]['errors'] for p in PHASES)), flush=True)
    finally:
        jl.close()
        for srv in servers:
            if srv.proc and srv.proc.poll() is None:
                srv.stop()
        shutil.rmtree(work, ignore_errors=True)

    # medians and spread
    names = [s.name for s in servers]
    rows = []
    with open(os.path.join(args.out, 'wire.csv'), 'w') as csv:
        csv.write('event,metric,' + ','.join('%s_median,%s_min,%s_max' % (n, n, n) for n in names) +
                  (',ratio' if len(names) == 2 else '') + '\n')
        for ev in events:
            print('\n%s, N=%d subscribers x M=%d presentities, K=%d, %d rounds (median [min-max])'
                  % (ev, args.n, args.m, args.k, args.rounds))
            print('%-45s' % 'metric' + ''.join('%32s' % n for n in names) + ('%10s' % 'ratio' if len(names) == 2 else ''))
            for key, phase, field, label in METRICS:
                cells, meds = [], []
                for n in names:
                    vals = [metric(x, phase, field) for x in runs if x['label'] == n and x['event'] == ev]
                    vals = [v for v in vals if v is not None]
                    if not vals:
                        cells.append(('', '', ''))
                        meds.append(None)
                        continue
                    med = statistics.median(vals)
                    meds.append(med)
                    cells.append((med, min(vals), max(vals)))
                ratio = ''
                if len(names) == 2 and meds[0] is not None and meds[1]:
                    ratio = meds[0] / meds[1]
                line = '%-45s' % label
                for c in cells:
                    line += '%32s' % ('%.4g [%.4g-%.4g]' % c if c[0] != '' else '-')
                if ratio != '':
                    line += '%10.3g' % ratio
                print(line)
                csv.write('%s,%s,' % (ev, key) + ','.join('%s,%s,%s' % c for c in cells) +
                          (',%s' % ratio if len(names) == 2 else '') + '\n')
                rows.append((ev, key, meds))
    plot(args.out, names, rows, events)


def plot(out, names, rows, events):
    if not shutil.which('gnuplot'):
        print('# gnuplot not installed: no plots (apt-get install gnuplot-nox)')
        return
    dat = os.path.join(out, 'wire-plot.dat')
    want = [('subscribe_rate', 'subscriptions/s'), ('fanout_rate', 'NOTIFY/s fan-out'),
            ('burst_rate', 'NOTIFY/s burst')]
    cpu = [('cpu_us_per_notify_fanout', 'us CPU/NOTIFY fan-out'), ('cpu_us_per_notify_burst', 'us CPU/NOTIFY burst'),
           ('cpu_us_per_subscription', 'us CPU/subscription')]
    for fname, sel, ylabel, logscale in (('wire-rates', want, 'per second (log scale)', True),
                                          ('wire-cpu', cpu, 'server CPU microseconds (log scale)', True)):
        with open(dat, 'w') as f:
            for ev in events:
                for key, label in sel:
                    meds = next((m for e, k, m in rows if e == ev and k == key), None)
                    if not meds:
                        continue
                    f.write('"%s %s" %s\n' % (ev, label, ' '.join('%g' % (v or 0) for v in meds)))
        script = ['set terminal pngcairo size 1000,520 noenhanced' if has_cairo() else 'set terminal png size 1000,520',
                  'set output "%s"' % os.path.join(out, fname + '.png'),
                  'set style data histograms', 'set style histogram clustered gap 1',
                  'set style fill solid 0.8 border -1', 'set xtics rotate by -25',
                  'set ylabel "%s"' % ylabel, 'set key top right', 'set grid ytics']
        if logscale:
            script.append('set logscale y')
        plots = ['"%s" using %d:xtic(1) title "%s"' % (dat, i + 2, n) for i, n in enumerate(names)]
        script.append('plot ' + ', '.join(plots))
        subprocess.run(['gnuplot'], input='\n'.join(script) + '\n', text=True, check=False)
    os.unlink(dat)
    print('# plots: %s/wire-rates.png %s/wire-cpu.png' % (out, out))


def has_cairo():
    try:
        out = subprocess.run(['gnuplot', '-e', 'set terminal'], capture_output=True, text=True).stderr
        return 'pngcairo' in out
    except OSError:
        return False


if __name__ == '__main__':
    main()
