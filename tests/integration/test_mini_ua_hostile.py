#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sippres-mini-ua under hostile input (issue 11): header caps, limits on subscriptions and on what one source
may ask for, the reflection policy, the bounded response cache, in-dialog request checks (RFC 3261 12.2.2),
well-formed Contacts. docs/security.md says what each bad input gets.

usage: test_mini_ua_hostile.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples [-k NAME]
Prints TAP. Loopback only; every wait is bounded."""

import contextlib
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mini_ua as tmu  # noqa: E402
from sipclient import Client, Msg, token  # noqa: E402
from taprun import check  # noqa: E402


@contextlib.contextmanager
def env(*extra, **kw):
    e = tmu.Env(extra=list(extra), **kw)
    try:
        yield e
    finally:
        e.close()


def options(c, extra_lines='', call_id=None):
    """An OPTIONS from client c with more header lines; returns its response (or None)."""
    call_id = call_id or token(12)
    text = ('OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n'
            'From: <sip:tester@%s>;tag=%s\r\nTo: <sip:x@%s:%d>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n%s'
            'Content-Length: 0\r\n\r\n' % (c.server[0], c.server[1], c.hostport, token(12), c.hostport, token(6),
                                           c.server[0], c.server[1], call_id, extra_lines))
    c.send_raw(text)
    return c.wait(lambda m: m.status and m.call_id == call_id, 5)


# ---- header caps --------------------------------------------------------------------------------

def test_too_many_headers():
    """12,000 headers in one 60 KB datagram: 400 Too Many Headers, from the first 256 lines only."""
    with env() as e:
        c = e.client('tester')
        r = options(c, 'a:b\r\n' * 12000)
        check(r is not None and r.status == 400 and 'Too Many Headers' in r.start, 'got %r', r and r.start)
        r = options(c, 'a:b\r\n' * 200)
        check(r is not None and r.status == 200, 'under the cap: %r', r and r.start)
        check(e.ua.alive(), 'the UA died')


def test_too_many_via_and_accept():
    """More than 32 Via values (lines or comma lists) or Accept values: 400 naming the cap."""
    with env() as e:
        c = e.client('tester')
        vias = ''.join('Via: SIP/2.0/UDP 127.0.0.9:%d;branch=z9hG4bK%d\r\n' % (5000 + i, i) for i in range(40))
        r = options(c, vias)
        check(r is not None and r.status == 400 and 'Too Many Via' in r.start, 'Via: %r', r and r.start)
        r = options(c, 'Accept: ' + ', '.join('text/x%d' % i for i in range(40)) + '\r\n')
        check(r is not None and r.status == 400 and 'Too Many Accept' in r.start, 'Accept: %r', r and r.start)
        r = options(c, 'Accept: application/pidf+xml\r\n' * 3)
        check(r is not None and r.status == 200, 'three Accept headers: %r', r and r.start)


TESTS = [
    test_too_many_headers,
    test_too_many_via_and_accept,
]


def main():
    return tmu.tap_main(TESTS)


if __name__ == '__main__':
    sys.exit(main())
