#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""sippres-mini-ua under hostile input (issue 11): header caps, limits on subscriptions and on what one source
may ask for, the reflection policy, the bounded response cache, in-dialog request checks (RFC 3261 12.2.2),
well-formed Contacts. docs/security.md says what each bad input gets.

usage: test_mini_ua_hostile.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples [-k NAME]
Prints TAP. Loopback only; every wait is bounded."""

import contextlib
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_mini_ua as tmu  # noqa: E402
from sipclient import Client, token, uri_of  # noqa: E402
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


# ---- subscription limits and the per-source rate -------------------------------------------------

def test_subscription_limits():
    """Past --max-subscriptions-per-endpoint, -per-source and --max-subscriptions: 503 with Retry-After, the
    limit in the reason phrase; an ended subscription frees its place."""
    with env('--max-subscriptions', '5', '--max-subscriptions-per-endpoint', '3',
             '--max-subscriptions-per-source', '4') as e:
        a = e.client('tester')
        ds = []
        for _ in range(3):
            d, r = a.subscribe('1000')
            check(r.status == 200, 'subscription %d: %s', len(ds) + 1, r.start)
            ds.append(d)
        _, r = a.subscribe('1000')
        check(r.status == 503 and 'Endpoint' in r.start and r.get('retry-after'), 'per endpoint: %s', r.start)
        _, r = a.subscribe('1000', user='tester-ast')
        check(r.status == 200, 'another endpoint: %s', r.start)
        _, r = a.subscribe('1001', user='tolerant')
        check(r.status == 503 and 'Source' in r.start, 'per source: %s', r.start)
        b = e.client('tolerant', host='127.0.0.2')
        _, r = b.subscribe('1000')
        check(r.status == 200, 'another source: %s', r.start)
        _, r = b.subscribe('1001')
        check(r.status == 503 and r.start.endswith('Too Many Subscriptions'), 'in all: %s', r.start)
        r = a.resubscribe(ds[0], 0)
        check(r.status == 200, 'unsubscribe: %s', r.start)
        a.drain(0.3)
        _, r = b.subscribe('1001')
        check(r.status == 200, 'after an unsubscribe: %s', r.start)


def test_limits_as_global_keys():
    """The limits as keys of pjsip.conf's [global] type=global section (the command line overrides them; a
    reload applies a changed one)."""
    glob = '\n[global]\nmax_subscriptions_per_endpoint = 2 ; a comment\ntype = global\nnotify_contact=match\n'
    d = tmu.make_conf(extra_pjsip=tmu.EXTRA_PJSIP + glob)
    try:
        for extra, want in (([], 2), (['--max-subscriptions-per-endpoint', '3'], 3)):
            ua = tmu.UA(d, extra=extra)
            a = Client(ua.addr, user='tester')
            try:
                codes = [a.subscribe('1000')[1].status for _ in range(want + 1)]
                check(codes == [200] * want + [503], '%r: %r', extra, codes)
                if not extra:
                    with open(os.path.join(d, 'pjsip.conf'), 'a') as f:
                        f.write('\n[global2]\ntype=global\nmax_subscriptions_per_endpoint=4\n')
                    ua.ok('module reload')
                    codes = [a.subscribe('1000')[1].status for _ in range(3)]
                    check(codes == [200, 200, 503], 'after the reload: %r', codes)
            finally:
                a.close()
                ua.quit()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_rate_per_source():
    """--rate-per-source 20: of 200 requests sent at once at most the burst (40) and what refilled meanwhile is
    answered, the rest is dropped unanswered; another source is still served."""
    with env('--rate-per-source', '20') as e:
        a = e.client('tester')
        ids = [token(10) for _ in range(200)]
        for cid in ids:
            a.send_raw('OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\nFrom: <sip:t@x>;tag=1\r\n'
                       'To: <sip:u@y>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
                       % (a.server[0], a.server[1], a.hostport, cid, cid))
        got = 0
        while a.wait(lambda m: m.status == 200, 0.5) is not None:
            got += 1
        check(40 <= got <= 80, '%d of 200 answered', got)
        b = e.client('tester', host='127.0.0.2')
        r = options(b)
        check(r is not None and r.status == 200, 'another source: %r', r and r.start)
        return '%d of 200 answered' % got


# ---- reflection ----------------------------------------------------------------------------------

def test_contact_elsewhere_waits_for_proof():
    """A SUBSCRIBE whose Contact names another address than its source: 200, but no NOTIFY reaches that
    address until the subscriber sends a request in the dialog (which needs the tag of our 200)."""
    with env() as e:
        a = e.client('tester')
        victim = e.client('tester')
        d, r = a.subscribe('1000')  # the Contact is a's own address: NOTIFYs flow at once
        check(r.status == 200, r.start)
        a.notify(d)
        # a SUBSCRIBE from a whose Contact names the victim
        ruri = 'sip:1000@%s:%d' % a.server
        call_id, tag = token(12), token(8)
        a.request('SUBSCRIBE', ruri, [('From', '<sip:tester@%s>;tag=%s' % (a.hostport, tag)), ('To', '<%s>' % ruri),
                                      ('Call-ID', call_id), ('CSeq', '7 SUBSCRIBE'),
                                      ('Contact', '<sip:tester@%s>' % victim.hostport), ('Event', 'presence'),
                                      ('Expires', '600')])
        r = a.response(call_id, (7, 'SUBSCRIBE'))
        check(r.status == 200, r.start)
        m = victim.wait(lambda m: m.method == 'NOTIFY', 0.8)
        check(m is None, 'a NOTIFY reached the third party: %s', m and m.start)
        e.ua.ok('devstate change PJSIP/alice INUSE')
        m = victim.wait(lambda m: m.method == 'NOTIFY' and m.call_id == call_id, 0.5)
        check(m is None, 'a state change reached the third party')
        # the subscriber proves it got the 200: a refresh in the dialog
        a.request('SUBSCRIBE', uri_contact(r), [('From', '<sip:tester@%s>;tag=%s' % (a.hostport, tag)),
                                               ('To', '<%s>;tag=%s' % (ruri, r.to_tag)), ('Call-ID', call_id),
                                               ('CSeq', '8 SUBSCRIBE'), ('Contact', '<sip:tester@%s>' % victim.hostport),
                                               ('Event', 'presence'), ('Expires', '600')])
        r2 = a.response(call_id, (8, 'SUBSCRIBE'))
        check(r2.status == 200, r2.start)
        m = victim.wait(lambda m: m.method == 'NOTIFY' and m.call_id == call_id, 3)
        check(m is not None, 'no NOTIFY after the proof')


def test_contact_host_name_not_resolved():
    """A Contact with a host name is never looked up in the event loop: its NOTIFYs go to the address the
    SUBSCRIBE came from."""
    with env() as e:
        a = e.client('tester')
        ruri = 'sip:1000@%s:%d' % a.server
        call_id = token(12)
        a.request('SUBSCRIBE', ruri, [('From', '<sip:tester@%s>;tag=%s' % (a.hostport, token(6))),
                                      ('To', '<%s>' % ruri), ('Call-ID', call_id), ('CSeq', '1 SUBSCRIBE'),
                                      ('Contact', '<sip:tester@phone.example.invalid:5999>'),
                                      ('Event', 'presence'), ('Expires', '600')])
        r = a.response(call_id, (1, 'SUBSCRIBE'))
        check(r.status == 200, r.start)
        n = a.wait(lambda m: m.method == 'NOTIFY' and m.call_id == call_id, 3)
        check(n is not None, 'no NOTIFY at the source')
        check('phone.example.invalid' in n.start, 'Request-URI: %s', n.start)


def uri_contact(r):
    return uri_of(r.get('contact'))


def test_silent_target_short_schedule():
    """A subscriber whose address never answered: its NOTIFY is sent twice (T1 apart), timer F ends it after
    3*T1 and the subscription ends; of ten more subscriptions from that silent address at most two NOTIFYs are
    in flight, the others are never sent. T1 is 100 ms: the full schedule would send at 0, 0.1, 0.3, 0.7,
    1.5 s ..., so a second of silence ends each count."""
    with env('--t1', '100') as e:
        silent = e.client('tester', answer_notify=None)
        d, r = silent.subscribe('1000')
        check(r.status == 200, r.start)
        n = 0
        while silent.wait(lambda m: m.method == 'NOTIFY', 1.0) is not None:
            n += 1
        check(n == 2, '%d NOTIFY transmissions to a silent address (want 2)', n)
        lines = e.ua.ok('sippres show subscriptions')
        check(not any(d.call_id in line for line in lines), 'the subscription lives on: %r', lines)
        other = e.client('tester', answer_notify=None)
        for _ in range(10):
            _, r = other.subscribe('1000')
            check(r.status == 200, r.start)
        n = 0
        while other.wait(lambda m: m.method == 'NOTIFY', 1.0) is not None:
            n += 1
        check(n <= 4, '%d NOTIFYs to a silent address (want at most 2 in flight, twice each)', n)
        return '%d NOTIFYs for 10 subscriptions' % n


# ---- in-dialog requests, Contacts, the response cache ---------------------------------------------

def test_in_dialog_from_tag_and_cseq():
    """RFC 3261 12.2.2: a refresh with another From tag gets 481; a replayed refresh or unsubscribe (its CSeq
    not above the last) gets 500; the subscription is untouched by both."""
    with env() as e:
        a = e.client('tester')
        d, r = a.subscribe('1000')
        check(r.status == 200, r.start)
        a.notify(d)
        r = a.resubscribe(d, 600)
        check(r.status == 200, 'refresh: %s', r.start)
        a.drain(0.3)
        good_tag = d.local_tag
        d.local_tag = 'forged'
        r = a.resubscribe(d, 0)
        check(r.status == 481, 'another From tag: %s', r.start)
        d.local_tag = good_tag
        d.cseq -= 2  # resubscribe adds one: the CSeq of the refresh above again
        r = a.resubscribe(d, 0)
        check(r.status == 500, 'replayed CSeq: %s', r.start)
        d.cseq -= 5
        r = a.resubscribe(d, 0)
        check(r.status == 500, 'lower CSeq: %s', r.start)
        lines = e.ua.ok('sippres show subscriptions')
        check(any(d.call_id in line for line in lines), 'the subscription ended: %r', lines)
        d.cseq += 10
        r = a.resubscribe(d, 0)
        check(r.status == 200, 'a real unsubscribe: %s', r.start)


def test_contact_never_malformed():
    """A Request-URI user with characters a SIP URI user may not hold (a pattern hint matches anything):
    the 200's Contact has them %-escaped and parses."""
    conf_ext = '\n[office]\nexten => _9.,hint,Custom:nine\n'
    d = tmu.make_conf(extra_ext=conf_ext)
    ua = tmu.UA(d)
    try:
        a = Client(ua.addr, user='tester')
        for user in ('9a"b', '9a<b>c', '9 x', '9%zz'):
            ruri = 'sip:%s@%s:%d' % (user, ua.addr[0], ua.addr[1])
            call_id = token(12)
            a.request('SUBSCRIBE', ruri, [('From', '<sip:tester@%s>;tag=%s' % (a.hostport, token(6))),
                                          ('To', '<%s>' % ruri), ('Call-ID', call_id), ('CSeq', '1 SUBSCRIBE'),
                                          ('Contact', '<sip:tester@%s>' % a.hostport), ('Event', 'presence')])
            r = a.wait(lambda m: m.status and m.call_id == call_id, 1.0)
            if r is None or r.status != 200:
                continue  # osip or the library refused the URI: nothing emitted
            c = r.get('contact')
            check(c and c.startswith('<sip:') and c.endswith('>') and c.count('<') == 1 and c.count('>') == 1
                  and ' ' not in c and '"' not in c, 'Contact for %r: %r', user, c)
        a.close()
    finally:
        ua.quit()
        shutil.rmtree(d, ignore_errors=True)


def test_response_cache_capped():
    """--max-response-cache 10: after 30 more requests the first one's retransmission is answered anew (a new
    To tag); the last one's from the cache (the same bytes)."""
    with env('--max-response-cache', '10') as e:
        a = e.client('tester')
        sent = []
        for i in range(31):
            cid = token(10)
            text = ('OPTIONS sip:%s:%d SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\r\nFrom: <sip:t@x>;tag=1\r\n'
                    'To: <sip:u@y>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n'
                    % (a.server[0], a.server[1], a.hostport, cid, cid))
            a.send_raw(text)
            r = a.expect(lambda m, c=cid: m.status and m.call_id == c, 'answer %d' % i)
            sent.append((cid, text, r.raw))
        for cid, text, first in (sent[0], sent[-1]):
            a.send_raw(text)
            r = a.expect(lambda m, c=cid: m.status and m.call_id == c, 'answer again')
            if cid == sent[0][0]:
                check(r.raw != first, 'the first answer is still cached')
            else:
                check(r.raw == first, 'the last answer is not the cached one')
        e.ua.quit()
        m = re.search(r'(\d+) cached answers evicted', e.ua.log())
        check(m and int(m.group(1)) >= 20, 'log: %s', e.ua.log()[-400:])


TESTS = [
    test_too_many_headers,
    test_too_many_via_and_accept,
    test_subscription_limits,
    test_limits_as_global_keys,
    test_rate_per_source,
    test_contact_elsewhere_waits_for_proof,
    test_silent_target_short_schedule,
    test_contact_host_name_not_resolved,
    test_in_dialog_from_tag_and_cseq,
    test_contact_never_malformed,
    test_response_cache_capped,
]


def main():
    return tmu.tap_main(TESTS)


if __name__ == '__main__':
    sys.exit(main())
