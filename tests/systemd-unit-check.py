#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check the generated sippres-mini-ua.service (data/sippres-mini-ua.service.in).

1. The directives docs/install.md and sippres-mini-ua(1) promise: state under
   /var/lib (StateDirectory=), the control socket's runtime directory, logs to
   the journal, SIGTERM to stop, SIGHUP to reload, no root (DynamicUser=, no
   capabilities), and ExecStart passing the listen address, both config files,
   the state directory and the control socket.
2. With systemd-analyze (package systemd): `systemd-analyze verify` knows every
   directive (a copy whose ExecStart names the built binary, since the installed
   path may not exist yet), and `systemd-analyze security --offline=yes` rates
   the exposure at most 2.0 ("OK").
Without systemd-analyze (an empty argument) step 2 is left out and said so.

Usage: systemd-unit-check.py UNIT SYSTEMD_ANALYZE|'' BUILT_BINARY
"""

import os
import re
import subprocess
import sys
import tempfile

from checkreport import Problems

problems = Problems()


def parse(text):
    """[(section, key, value)] with continuation lines joined."""
    out, section, pending = [], None, ''
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ''
        if line.endswith('\\'):
            pending = line[:-1] + ' '
            continue
        if not line or line[0] in '#;':
            continue
        if line.startswith('['):
            section = line.strip('[]')
            continue
        k, _, v = line.partition('=')
        out.append((section, k.strip(), v.strip()))
    return out


def main():
    unit, analyze, binary = sys.argv[1:4]
    text = open(unit).read()
    d = parse(text)
    svc = {}
    for sec, k, v in d:
        if sec == 'Service':
            svc.setdefault(k, []).append(v)

    def want(key, value):
        if value not in svc.get(key, []):
            problems.append('[Service] %s=%s missing (has %s)' % (key, value, svc.get(key)))

    want('StateDirectory', 'sippres-mini-ua')
    want('RuntimeDirectory', 'sippres-mini-ua')
    want('KillSignal', 'SIGTERM')
    want('ExecReload', '/bin/kill -HUP $MAINPID')
    want('StandardError', 'journal')
    want('DynamicUser', 'yes')
    want('CapabilityBoundingSet', '')
    want('NoNewPrivileges', 'yes')
    want('ProtectSystem', 'strict')
    exec_start = (svc.get('ExecStart') or [''])[0].split()
    for opt, val in [('--listen', '${LISTEN}'), ('--state-dir', '/var/lib/sippres-mini-ua'),
                     ('--control', '/run/sippres-mini-ua/control')]:
        if opt not in exec_start or exec_start[exec_start.index(opt) + 1] != val:
            problems.append('ExecStart does not pass %s %s: %s' % (opt, val, ' '.join(exec_start)))
    for opt, name in [('--extensions', 'extensions.conf'), ('--pjsip', 'pjsip.conf')]:
        if opt not in exec_start or not exec_start[exec_start.index(opt) + 1].endswith('/sippres-mini-ua/' + name):
            problems.append('ExecStart does not pass %s .../sippres-mini-ua/%s' % (opt, name))
    if not exec_start or not exec_start[0].endswith('/sippres-mini-ua') or not os.path.isabs(exec_start[0]):
        problems.append('ExecStart does not start with an absolute path to sippres-mini-ua')
    if re.findall(r'@\w+@', text):
        problems.append('an unsubstituted @variable@ is left: %s' % re.findall(r'@\w+@', text))

    if not analyze:
        print('systemd-analyze not found: verify and security left out')
    else:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, 'sippres-mini-ua.service')
            with open(copy, 'w') as f:
                f.write(text.replace(exec_start[0], os.path.abspath(binary)))
            r = subprocess.run([analyze, 'verify', '--man=no', copy], capture_output=True, text=True)
            if r.returncode != 0 or r.stderr.strip():
                problems.append('systemd-analyze verify (exit %d):\n%s%s' % (r.returncode, r.stdout, r.stderr))
            r = subprocess.run([analyze, 'security', '--offline=yes', '--threshold=20', copy],
                               capture_output=True, text=True)
            m = re.search(r'Overall exposure level for \S+: ([0-9.]+)', r.stdout)
            if r.returncode != 0 or not m:
                problems.append('systemd-analyze security: exposure above 2.0 (exit %d):\n%s%s'
                                % (r.returncode, r.stdout[-3000:], r.stderr))
            else:
                print('ok: systemd-analyze security: exposure %s' % m.group(1))
    return problems.report('systemd-unit-check', 'ok')


if __name__ == '__main__':
    sys.exit(main())
