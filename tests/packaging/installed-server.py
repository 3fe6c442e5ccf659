#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run the installed sippres-mini-ua once, as the packaging stage does.

Starts BINARY (default /usr/bin/sippres-mini-ua) on a free loopback port with
the installed configuration (/etc/sippres-mini-ua) and a temporary state
directory, then with tests/integration/sipclient.py (standard library only):
  - OPTIONS gets 200 with Allow-Events: presence, dialog;
  - Alice SUBSCRIBEs to Bob's lamp (1001, dialog): 200, then a NOTIFY with
    Subscription-State active and a dialog-info body;
  - `devstate change PJSIP/bob RINGING` on standard input answers OK and brings
    a NOTIFY whose body has <state>early</state>;
  - SIGTERM stops it with exit status 0 within 5 s, and the subscription stays
    stored in the state directory (one .sub file).
Prints one line per check; exits 0 when all pass, 1 otherwise.

Usage: installed-server.py [BINARY] [CONFDIR]
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import sipclient  # noqa: E402

failures = []


def check(cond, what):
    print('%s: %s' % ('ok' if cond else 'FAIL', what))
    if not cond:
        failures.append(what)
    return cond


def start(binary, confdir, state_dir):
    argv = [binary, '--listen', '127.0.0.1:0', '--extensions', os.path.join(confdir, 'extensions.conf'),
            '--pjsip', os.path.join(confdir, 'pjsip.conf'), '--state-dir', state_dir]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, bufsize=1)
    found = {}
    ready = threading.Event()
    log = []

    def read_err():
        for line in proc.stderr:
            log.append(line)
            m = re.search(r'listening on udp 127\.0\.0\.1:(\d+)', line)
            if m:
                found['port'] = int(m.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read_err, daemon=True).start()
    ready.wait(10)
    return proc, found.get('port'), log


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else '/usr/bin/sippres-mini-ua'
    confdir = sys.argv[2] if len(sys.argv) > 2 else '/etc/sippres-mini-ua'
    with tempfile.TemporaryDirectory(prefix='sippres-installed-') as state_dir:
        proc, port, log = start(binary, confdir, state_dir)
        if not check(port is not None, '%s started with %s/*.conf' % (binary, confdir)):
            proc.kill()
            print(''.join(log))
            return 1
        client = sipclient.Client(('127.0.0.1', port), user='alice')
        try:
            call_id = '%s@127.0.0.1' % sipclient.token(12)
            client.request('OPTIONS', 'sip:127.0.0.1:%d' % port, [
                ('From', '<sip:alice@%s>;tag=%s' % (client.hostport, sipclient.token(8))),
                ('To', '<sip:127.0.0.1:%d>' % port), ('Call-ID', call_id), ('CSeq', '1 OPTIONS'),
                ('Max-Forwards', '70')])
            r = client.response(call_id, (1, 'OPTIONS'))
            check(r.status == 200 and 'dialog' in (r.get('allow-events') or ''),
                  'OPTIONS: %s, Allow-Events: %s' % (r.start, r.get('allow-events')))

            d, r = client.subscribe('1001', event='dialog', accept='application/dialog-info+xml')
            check(r.status == 200, 'SUBSCRIBE to 1001 (dialog) as alice: %s' % r.start)
            n = client.notify(d)
            check((n.get('subscription-state') or '').startswith('active') and '<dialog-info' in n.body,
                  'first NOTIFY: %s, %s' % (n.get('subscription-state'), n.get('content-type')))

            proc.stdin.write('devstate change PJSIP/bob RINGING\n')
            proc.stdin.flush()
            reply = proc.stdout.readline().strip()
            check(reply == 'OK', 'devstate change PJSIP/bob RINGING: %r' % reply)
            n = client.notify(d)
            check('<state>early</state>' in n.body, 'NOTIFY after RINGING has <state>early</state>')

            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = 'still running after 5 s'
            check(rc == 0, 'SIGTERM: exit status %s' % rc)
            subs = [f for f in os.listdir(state_dir) if f.endswith('.sub')]
            check(len(subs) == 1, 'the subscription stays stored: %s' % subs)
        except AssertionError as e:
            check(False, str(e))
            proc.kill()
        finally:
            client.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    if failures:
        print('installed-server: FAILED (%d); the server logged:\n%s' % (len(failures), ''.join(log)))
        return 1
    print('installed-server: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
