#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interop: baresip (Debian baresip-core), a client nobody here wrote, authenticates to the mini UA with
digest: its account has auth_user/auth_pass and watches a contact on an endpoint with auth= (docs/security.md).
With the right password it is challenged (401), answers, subscribes and shows the contact Online, then Busy
after a device change; with a wrong one the mini UA answers 403 and no subscription exists. Then the same
over TLS (a CA and server certificate made here with openssl): challenged, subscribed, NOTIFYs on its TLS
connection. (baresip 1.0.0 does not check the server certificate: a CA that did not sign it is accepted
too; docs/security.md says so.)

usage: test_baresip_auth.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples
Exit status 0 (pass), 1 (fail), 77 (skipped: no baresip). Every wait is bounded."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_baresip as tb  # noqa: E402  (baresip's headless config and ctrl_tcp)
import test_mini_ua as tmu  # noqa: E402
from taprun import check  # noqa: E402

EXTENSIONS = '[default]\nexten => 1000,hint,PJSIP/alice\n'
PJSIP = """\
[alice]
type=endpoint
auth=alice-auth

[alice-auth]
type=auth
auth_type=userpass
username=alice
password=wonderland
realm=presence.test
; baresip 1.0.0 (libre) gives up at a challenge whose first WWW-Authenticate is SHA-256 (it reports the 401
; and retries in 30 s) instead of taking the MD5 one below it (RFC 8760 3): offer it MD5 only
supported_algorithms_uas=MD5
"""


class AuthBaresip(tb.Baresip):
    """tb.Baresip with an account that has credentials (and, for TLS, a transport and a CA)."""

    def __init__(self, exe, ua_port, password, transport='udp', ca=None):
        self.dir = tempfile.mkdtemp(prefix='miniua-baresip-auth-')
        self.sip, self.ctrl, self.cons = tb.free_port(), tb.free_port(tb.socket.SOCK_STREAM), tb.free_port()
        tb.write_config(self.dir, self.sip, self.cons, self.ctrl)
        with open(os.path.join(self.dir, 'config'), 'a') as f:
            if transport != 'udp':
                f.write('sip_transports %s\n' % transport)
            if ca:
                f.write('sip_cafile %s\n' % ca)
        with open(os.path.join(self.dir, 'accounts'), 'w') as f:
            f.write('<sip:alice@127.0.0.1:%d;transport=%s>;auth_user=alice;auth_pass=%s;regint=0;pubint=0;'
                    'medianat=;answermode=manual\n' % (self.sip, transport, password))
        with open(os.path.join(self.dir, 'contacts'), 'w') as f:
            f.write('"Alice" <sip:1000@127.0.0.1:%d;transport=%s>;presence=p2p\n' % (ua_port, transport))
        self.log = open(os.path.join(self.dir, 'stdout.log'), 'w+')
        self.proc = subprocess.Popen([exe, '-f', self.dir], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)


class Conf:
    def __init__(self, pjsip=PJSIP):
        import test_mini_ua_auth as tma
        self.dir = tempfile.mkdtemp(prefix='miniua-baresip-auth-conf-')
        tma.write_conf(self.dir, EXTENSIONS, pjsip)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def run(exe):
    conf = Conf()
    ua = tmu.UA(conf.dir, extra=['-vv'])
    notes = []
    try:
        bs = AuthBaresip(exe, ua.addr[1], 'wonderland')
        try:
            bs.expect({'Alice': 'Online'}, timeout=20)
            lines = ua.ok('sippres show subscriptions')
            check(len(lines) == 1 and lines[0].startswith('alice 1000@default'), 'subscriptions: %r', lines)
            ua.ok('devstate change PJSIP/alice INUSE')
            bs.expect({'Alice': 'Busy'})
            # the UA's stderr is read by a thread: wait for the line rather than read what is there
            check(ua.wait_log('SIP/2.0 401 Unauthorized', timeout=5.0), 'no 401 in the mini UA log:\n%s',
                  ua.log()[-3000:])
            log = ua.log()
            m = re.search(r'Authorization: Digest [^\n]*algorithm=([A-Za-z0-9-]+)', log)
            alg = m.group(1) if m else 'MD5 (no algorithm parameter)'
            notes.append('right password: challenged, answered with %s, Online then Busy' % alg)
            bs.command('quit')
            try:
                bs.proc.wait(15)
            except subprocess.TimeoutExpired:
                raise AssertionError('baresip did not leave within 15 s')
        finally:
            bs.close()
        check(ua.ok('sippres show subscriptions') == [], 'subscription left after the un-SUBSCRIBE')
        # a wrong password: 403, no subscription, the contact never Online
        n_err = len(ua.err)
        bs = AuthBaresip(exe, ua.addr[1], 'looking-glass')
        try:
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline and not re.search(r'SIP/2\.0 403 ', ''.join(ua.err[n_err:])):
                time.sleep(0.1)
            check(re.search(r'SIP/2\.0 403 ', ''.join(ua.err[n_err:])), 'no 403 for the wrong password')
            time.sleep(0.5)
            check(ua.ok('sippres show subscriptions') == [], 'a wrong password subscribed')
            check(bs.statuses().get('Alice') != 'Online', 'Online with a wrong password')
            notes.append('wrong password: 403, no subscription')
        finally:
            bs.close()
        check(ua.alive(), 'the mini UA died')
    finally:
        ua.quit()
        conf.close()
    notes.append(run_tls(exe))
    return '; '.join(notes)


def run_tls(exe):
    """baresip subscribes over TLS (its package links OpenSSL through libre) with digest, to a TLS
    transport whose certificate a CA made here signed."""
    if not shutil.which('openssl'):
        return 'TLS left out: no openssl (Debian package openssl)'
    import test_mini_ua_tcp as tt
    pk = tt.Pki()
    pki = pk.__enter__()
    conf = Conf(PJSIP + '\n[tls]\ntype=transport\nprotocol=tls\nbind=127.0.0.1:0\ncert_file=%s\npriv_key_file=%s\n'
                % (pki['server.pem'], pki['server.key']))
    ua = tmu.UA(conf.dir, extra=['-vv'])
    bs = None
    try:
        port = [int(m.group(1)) for line in ua.err for m in [re.search(r'listening on tls \S+:(\d+)', line)] if m][0]
        bs = AuthBaresip(exe, port, 'wonderland', transport='tls', ca=pki['ca.pem'])
        bs.expect({'Alice': 'Online'}, timeout=20)
        ua.ok('devstate change PJSIP/alice INUSE')
        bs.expect({'Alice': 'Busy'})
        log = ''.join(ua.err)
        check(re.search(r'send \d+ bytes over tls to [^\n]*\nNOTIFY ', log), 'no NOTIFY over TLS in the log')
        check(re.search(r'SIP/2\.0 401 Unauthorized', log), 'not challenged over TLS')
        return 'TLS: challenged, subscribed, NOTIFYs over TLS, Online then Busy'
    finally:
        if bs:
            bs.close()
        ua.quit()
        conf.close()
        pk.__exit__()


def main():
    return tmu.client_main('baresip', 'baresip-core', run)


if __name__ == '__main__':
    sys.exit(main())
