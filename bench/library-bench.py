#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The library benchmarks in one command: tables on standard output, CSV and
PNG plots (gnuplot) in --out.

usage: bench/library-bench.py --build BUILD [--out DIR] [--quick] [--callgrind]

  bodies      bench-bodies: each body type against libxml2's tree API and
              against memcpy of the same bytes (the floor), interleaved rounds
  fan-out     bench-subs: one change to N = 10 .. 100,000 subscribers
  scale       bench-subs: memory and creation time for 10^3 .. 10^6 subscriptions
  lists       bench-lists: full-state list NOTIFY for 10 .. 1,000 members
  --callgrind also instructions per body (ours, libxml2), per
              sippres_subscribe() and per 100-member list NOTIFY under valgrind:
              figures that do not depend on what else the machine runs

For each sweep it fits cost = a * work^b on the measured points (least
squares on the logarithms) and states the shape from b: b near 0 is
constant, near 1 linear; the fan-out's per-NOTIFY cost and the per-
subscription memory are expected to stay constant, a list NOTIFY to grow
linearly in its members."""

import argparse
import csv
import math
import os
import shutil
import subprocess
import sys


def run(cmd):
    print('$ ' + ' '.join(cmd), flush=True)
    out = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(out.stdout)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit('%s failed (%d)' % (cmd[0], out.returncode))
    return out.stdout


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def fit(points):
    """b and a of y = a * x^b (least squares on logs)"""
    pts = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len(pts) < 2:
        return None, None
    n = len(pts)
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None, None
    b = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx
    return b, math.exp(my - b * mx)


def shape(b):
    if b is None:
        return 'not enough points'
    if abs(b) < 0.15:
        return 'constant (exponent %.2f)' % b
    if abs(b - 1) < 0.15:
        return 'linear (exponent %.2f)' % b
    return 'grows as work^%.2f' % b


def collected(cmd):
    """instructions callgrind counted for cmd (valgrind options first)"""
    o = subprocess.run(['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null'] + cmd,
                       capture_output=True, text=True)
    return int([x for x in o.stderr.splitlines() if 'Collected' in x][0].split()[-1])


def gnuplot(script):
    subprocess.run(['gnuplot'], input=script, text=True, check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', required=True)
    ap.add_argument('--out', default='bench-out')
    ap.add_argument('--quick', action='store_true', help='smaller sweeps (up to 10^5 subscriptions)')
    ap.add_argument('--callgrind', action='store_true')
    args = ap.parse_args()
    b = os.path.join(args.build, 'bench')
    out = args.out
    os.makedirs(out, exist_ok=True)
    sizes = '1000,10000,100000' + ('' if args.quick else ',1000000')
    fans = '10,100,1000,10000' + ('' if args.quick else ',100000')
    members = ['10', '30', '100', '300'] + ([] if args.quick else ['1000'])

    run([os.path.join(b, 'bench-bodies'), '--csv', os.path.join(out, 'bodies.csv')] + (['0.05'] if args.quick else []))
    run([os.path.join(b, 'bench-subs'), '--sizes', sizes, '--fanout', fans,
         '--csv-create', os.path.join(out, 'scale.csv'), '--csv-fanout', os.path.join(out, 'fanout.csv')])
    run([os.path.join(b, 'bench-lists'), '--csv', os.path.join(out, 'lists.csv')] +
        (['--rounds', '300'] if args.quick else []) + members)

    if args.callgrind and shutil.which('valgrind'):
        with open(os.path.join(out, 'bodies-instructions.csv'), 'w') as f:
            f.write('body,ours_instructions,libxml2_instructions,ratio\n')
            print('\ninstructions per body (callgrind: N=6000 bodies minus N=1000, over 5000; one-time costs cancel)')
            for kind in ('PIDF+RPID', 'XPIDF', 'dialog-info'):
                ir = {}
                for how in ('ours', 'libxml2'):
                    vals = []
                    for n in (6000, 1000):
                        o = subprocess.run(['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
                                            os.path.join(b, 'bench-bodies'), '--count', str(n), kind, how],
                                           capture_output=True, text=True)
                        line = [x for x in o.stderr.splitlines() if 'Collected' in x]
                        vals.append(int(line[0].split()[-1]))
                    ir[how] = (vals[0] - vals[1]) / 5000
                print('%-12s ours %7.0f  libxml2 %7.0f  ratio %5.1fx' % (kind, ir['ours'], ir['libxml2'],
                                                                         ir['libxml2'] / ir['ours']))
                f.write('%s,%.0f,%.0f,%.2f\n' % (kind, ir['ours'], ir['libxml2'], ir['libxml2'] / ir['ours']))
        sub_ir = collected(['--toggle-collect=sippres_subscribe', os.path.join(b, 'bench-subs'),
                            '--sizes', '100000', '--fanout', '10']) / 200000
        notify_ir = (collected(['--toggle-collect=sippres_ctx_handle_timeout', os.path.join(b, 'bench-lists'),
                                '--rounds', '600', '100']) -
                     collected(['--toggle-collect=sippres_ctx_handle_timeout', os.path.join(b, 'bench-lists'),
                                '--rounds', '100', '100'])) / 1000
        print('sippres_subscribe() at 10^5 subscriptions: %.0f instructions each (bench-subs makes them twice)'
              % sub_ir)
        print('100-member full-state list NOTIFY: %.0f instructions (600 rounds minus 100, both profiles)'
              % notify_ir)
        with open(os.path.join(out, 'instructions.csv'), 'w') as f:
            f.write('what,instructions\nsubscribe_1e5,%.0f\nlist_notify_100,%.0f\n' % (sub_ir, notify_ir))

    # shapes
    print('\nhow each cost grows with its work (fit of cost = a * work^b):')
    lines = []
    fo = rows(os.path.join(out, 'fanout.csv'))
    for ev in ('presence', 'dialog'):
        pts = [(float(r['subscribers']), float(r['ns_per_notify'])) for r in fo if r['event'] == ev]
        bb, _ = fit(pts)
        lines.append('fan-out, %s: time per NOTIFY against N subscribers: %s; %.0f-%.0f ns per NOTIFY'
                     % (ev, shape(bb), min(p[1] for p in pts), max(p[1] for p in pts)))
    sc = rows(os.path.join(out, 'scale.csv'))
    pts = [(float(r['subscriptions']), float(r['bytes_per_sub'])) for r in sc]
    lines.append('memory per subscription against the count: %s' % shape(fit(pts)[0]))
    pts = [(float(r['subscriptions']), float(r['create_s'])) for r in sc]
    lines.append('creation time against the count: %s' % shape(fit(pts)[0]))
    ls = rows(os.path.join(out, 'lists.csv'))
    for prof in ('standard', 'asterisk'):
        pts = [(float(r['members']), float(r['notify_us'])) for r in ls if r['profile'] == prof]
        bb, aa = fit(pts)
        lines.append('list NOTIFY (%s) against members: %s; %.3f us per member at 100'
                     % (prof, shape(bb), aa * 100 ** bb / 100 if aa else float('nan')))
    for line in lines:
        print('  ' + line)
    with open(os.path.join(out, 'shapes.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')

    if not shutil.which('gnuplot'):
        print('# gnuplot not installed: CSV only (apt-get install gnuplot-nox)')
        return
    term = 'set terminal png size 900,500\nset datafile separator ","\nset grid\nset key top left\n'
    bo = rows(os.path.join(out, 'bodies.csv'))
    with open(os.path.join(out, 'bodies.dat'), 'w') as f:
        for r in bo:
            f.write('"%s" %s %s %s\n' % (r['body'], r['ours_ns'], r['libxml2_ns'], r['memcpy_ns']))
    gnuplot('set terminal png size 900,500\nset output "%s/bodies.png"\nset style data histograms\n'
            'set style histogram clustered gap 1\nset style fill solid 0.8 border -1\nset logscale y\n'
            'set ylabel "ns per body (log scale)"\nset grid ytics\nset title "one body: ours, libxml2 tree API, memcpy of the same bytes"\n'
            'plot "%s/bodies.dat" using 2:xtic(1) title "libsippresence", "" using 3 title "libxml2", "" using 4 title "memcpy"\n'
            % (out, out))
    os.unlink(os.path.join(out, 'bodies.dat'))
    gnuplot(term + 'set output "%s/fanout.png"\nset logscale xy\nset xlabel "subscribers on the hint"\n'
            'set ylabel "ns per NOTIFY"\nset title "fan-out: one change to N subscribers, no-op callback"\n'
            'plot "< grep ^presence %s/fanout.csv" using 2:4 with linespoints title "presence (PIDF)", '
            '"< grep ^dialog %s/fanout.csv" using 2:4 with linespoints title "dialog (dialog-info)"\n' % (out, out, out))
    gnuplot(term + 'set output "%s/scale.png"\nset logscale x\nset xlabel "subscriptions"\n'
            'set ylabel "bytes per subscription"\nset y2label "creation time (s)"\nset y2tics\nset logscale y2\n'
            'set title "memory and creation time"\n'
            'plot "%s/scale.csv" every ::1 using 1:5 with linespoints title "bytes per subscription", '
            '"" every ::1 using 1:3 axes x1y2 with linespoints title "creation time (s)", 256 title "256 bytes" dt 2\n'
            % (out, out))
    gnuplot(term + 'set output "%s/lists.png"\nset logscale xy\nset xlabel "members"\nset ylabel "microseconds"\n'
            'set title "full-state list NOTIFY against members"\n'
            'plot "< grep ^standard %s/lists.csv" using 2:3 with linespoints title "NOTIFY, standard", '
            '"< grep ^asterisk %s/lists.csv" using 2:3 with linespoints title "NOTIFY, asterisk", '
            '"< grep ^standard %s/lists.csv" using 2:6 with linespoints title "member bodies alone"\n'
            % (out, out, out, out))
    print('# plots: %s/{bodies,fanout,scale,lists}.png' % out)


if __name__ == '__main__':
    main()
