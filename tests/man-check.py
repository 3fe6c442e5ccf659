#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Keep sippres-mini-ua(1) in step with the program and with docs/mini-ua.md.

1. Every option in `sippres-mini-ua --help` and `sippres-mini-ua subscribe
   --help` is documented in docs/man/sippres-mini-ua.1.scd as *--option*.
2. Every control command that --help lists has its entry (*devstate change*).
3. Every pjsip.conf endpoint key in docs/mini-ua.md's key table is in the page.
4. The roff that scdoc made (when given) is a man page that groff renders
   without a warning (-ww; left out when groff is missing).
With --api MAP, for libsippresence(3) instead: every sippres_*() function the
page names is in the linker map, and the page renders as in 4.

Usage: man-check.py BINARY PAGE.scd [PAGE.roff]
       man-check.py --api MAP PAGE.scd [PAGE.roff]
"""

import os
import re
import shutil
import subprocess
import sys

from checkreport import Problems

problems = Problems()


def help_text(argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        problems.append('%s exited %d' % (' '.join(argv), r.returncode))
    return r.stdout + r.stderr


def check_roff(roff):
    text = open(roff).read()
    if not text.startswith('.\\"') and '.TH' not in text[:2000]:
        problems.append('%s does not look like roff' % roff)
    groff = shutil.which('groff')
    if groff:
        r = subprocess.run([groff, '-k', '-man', '-Tutf8', '-ww', '-z', roff], capture_output=True, text=True)
        if r.returncode != 0 or r.stderr.strip():
            problems.append('groff -ww: exit %d\n%s' % (r.returncode, r.stderr))
    else:
        print('groff not found: rendering left out')


def check_api(mapfile, scd, roff):
    exported = set(re.findall(r'^\s*(sippres_\w+);', open(mapfile).read(), re.M))
    named = set(re.findall(r'(sippres_\w+)\*?\(', open(scd).read().replace('\\_', '_')))
    for f in sorted(named - exported):
        problems.append('%s names %s(), which lib/libsippresence.map does not export' % (os.path.basename(scd), f))
    if len(named) < 10:
        problems.append('found only %d functions in %s' % (len(named), scd))
    if roff:
        check_roff(roff)
    print('checked %d functions against the map' % len(named))
    return problems.report('man-check', 'ok')


def main():
    if sys.argv[1] == '--api':
        return check_api(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else '')
    binary, scd = sys.argv[1], sys.argv[2]
    roff = sys.argv[3] if len(sys.argv) > 3 else ''
    page = open(scd).read()
    plain = page.replace('\\_', '_')

    main_help = help_text([binary, '--help'])
    sub_help = help_text([binary, 'subscribe', '--help'])
    options = set(re.findall(r'(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z]{1,2})\b', main_help + sub_help))
    for opt in sorted(options):
        if '*%s*' % opt not in plain:
            problems.append('option %s (from --help) is not in %s' % (opt, os.path.basename(scd)))

    commands = main_help.split('Control commands', 1)[-1]
    ncmd = 0
    for line in commands.splitlines()[1:]:
        # a command: lower-case words, then its arguments (<x>, [x]), a comma, a
        # "(" note or the end of the line; other help prose is not one
        m = re.match(r'  ([a-z]+(?: [a-z]+)*)(?= <| \[| \(|,|$)', line)
        if m:
            ncmd += 1
            if '*%s' % m.group(1) not in plain:
                problems.append('control command "%s" (from --help) is not in the page' % m.group(1))
    if ncmd < 5:
        problems.append('found only %d control commands in --help' % ncmd)

    md = os.path.join(os.path.dirname(os.path.abspath(scd)), '..', 'mini-ua.md')
    keys = re.findall(r'^\| `([a-z_]+)` \|', open(md).read(), re.M)
    if len(keys) < 10:
        problems.append('found only %d keys in docs/mini-ua.md\'s endpoint table' % len(keys))
    for k in keys:
        if '*%s*' % k not in plain:
            problems.append('pjsip.conf key %s (docs/mini-ua.md) is not in the page' % k)

    if roff:
        check_roff(roff)
    print('checked %d options, %d control commands and %d config keys' % (len(options), ncmd, len(keys)))
    return problems.report('man-check', 'ok')


if __name__ == '__main__':
    sys.exit(main())
