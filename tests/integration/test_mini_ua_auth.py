#!/usr/bin/env python3
"""Digest authentication in the mini UA (docs/security.md): pjsip.conf auth sections and an endpoint's
auth=, type=identify, over UDP with the standard-library client and tests/integration/digest.py (written
from RFC 7616/8760, not from the UA's code). Each case checks the wire (401 and its WWW-Authenticate
headers, 403, 200 and the NOTIFY) and that no subscription exists when none should
(`sippres show subscriptions`).

usage: test_mini_ua_auth.py --ua build/examples/sippres-mini-ua --examples examples
"""
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digest  # noqa: E402
import test_mini_ua as tmu  # noqa: E402
from sipclient import Client, Dialog, token, uri_of  # noqa: E402
from taprun import check  # noqa: E402

EXTENSIONS = """\
[default]
exten => 1000,hint,PJSIP/alice
exten => 2000,hint,PJSIP/bob
"""

PJSIP = """\
[alice]
type=endpoint
auth=alice-auth

[alice-auth]
type=auth
auth_type=userpass
username=alice
password=wonderland

[bob]
type=endpoint
auth=bob-md5

[bob-md5]
type=auth
auth_type=md5
username=bob
realm=pbx.example
; md5("bob:pbx.example:builder")
md5_cred=%s

[carol]
type=endpoint
auth=carol-auth

[carol-auth]
type=auth
username=carol
password=short-lived
nonce_lifetime=1

[open]
type=endpoint

[anonymous]
type=endpoint

[desk]
type=endpoint
auth=alice-auth

[desk-by-address]
type=identify
endpoint=desk
match=127.0.0.2
""" % digest.h('MD5', 'bob:pbx.example:builder')


def write_conf(folder, extensions, pjsip):
    for name, text in (('extensions.conf', extensions), ('pjsip.conf', pjsip)):
        with open(os.path.join(folder, name), 'w') as f:
            f.write(text)


class Env:
    """A mini UA on a configuration of the test's own, its clients, its one-line subscription listing;
    at the end its exit status is checked (99 under valgrind: a memory error or a leak)."""

    def __init__(self, pjsip=PJSIP, extensions=EXTENSIONS, extra=()):
        self.dir = tempfile.mkdtemp(prefix='miniua-auth-')
        write_conf(self.dir, extensions, pjsip)
        self.ua = tmu.UA(self.dir, extra=list(extra))
        self.clients = []

    def client(self, user, host=None):
        c = Client(self.ua.addr, user=user, host=host)
        self.clients.append(c)
        return c

    def subscriptions(self):
        return self.ua.ok('sippres show subscriptions')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for c in self.clients:
            c.close()
        rc = self.ua.quit()
        shutil.rmtree(self.dir, ignore_errors=True)
        if exc[0] is None:  # under MINIUA_WRAPPER=valgrind, 99 is a memory error or a leak
            check(rc == 0, 'the mini UA exited %r:\n%s', rc, ''.join(self.ua.err[-30:]))


class Attempt:
    """An initial SUBSCRIBE that may be sent again with credentials (same Call-ID and From tag, next CSeq)."""

    def __init__(self, c, resource, user=None, method='SUBSCRIBE'):
        self.c = c
        self.user = user or c.user
        self.method = method
        self.ruri = 'sip:%s@%s:%d' % (resource, c.server[0], c.server[1])
        self.d = Dialog('%s@%s' % (token(12), c.host), token(8), 'sip:%s@%s' % (self.user, c.hostport),
                        self.ruri, self.ruri, random.randint(1, 5000))
        self.d.event = 'presence'

    def send(self, authorization=None, cseq=None, extra=()):
        d = self.d
        d.cseq = cseq if cseq is not None else d.cseq + 1
        headers = [('From', '<%s>;tag=%s' % (d.local_uri, d.local_tag)), ('To', '<%s>' % d.remote_uri),
                   ('Call-ID', d.call_id), ('CSeq', '%d %s' % (d.cseq, self.method)),
                   ('Contact', '<sip:%s@%s>' % (self.user, self.c.hostport)), ('Max-Forwards', '70'),
                   ('Event', 'presence'), ('Expires', '600')] + list(extra)
        if authorization:
            headers.append(('Authorization', authorization))
        self.c.request(self.method, self.ruri, headers)
        r = self.c.response(d.call_id, (d.cseq, self.method))
        if 200 <= r.status < 300 and self.method == 'SUBSCRIBE':
            d.remote_tag = r.to_tag
            d.ruri = uri_of(r.get('contact'))
        return r


def challenges(r):
    """The WWW-Authenticate challenges of a 401, parsed, in order."""
    check(r.status == 401, 'expected 401, got %s', r.start)
    return [digest.parse_challenge(v) for v in r.all('www-authenticate')]


def by_alg(chs, alg):
    for ch in chs:
        if ch.get('algorithm', 'MD5').upper() == alg:
            return ch
    raise AssertionError('no %s challenge in %r' % (alg, chs))


def no_subscription(env, who):
    subs = env.subscriptions()
    check(not any(line.startswith(who + ' ') for line in subs), 'a subscription for %s exists: %r', who, subs)


def test_challenge_both_algorithms():
    with Env() as env:
        c = env.client('alice')
        r = Attempt(c, '1000').send()
        chs = challenges(r)
        check([ch.get('algorithm') for ch in chs] == ['SHA-256', 'MD5'], 'RFC 8760 order: %r', chs)
        for ch in chs:
            check(ch['scheme'] == 'Digest' and ch['realm'] == 'asterisk', 'realm: %r', ch)
            check(ch['qop'] == 'auth' and 'stale' not in ch, 'qop/stale: %r', ch)
        check(chs[0]['nonce'] == chs[1]['nonce'], 'one nonce per realm')
        check(r.to_tag, '401 without a To tag')
        no_subscription(env, 'alice')


def authorized_subscribe(c, resource, password, alg, user=None):
    a = Attempt(c, resource, user=user)
    ch = by_alg(challenges(a.send()), alg)
    r = a.send(digest.authorization(ch, a.user, password, 'SUBSCRIBE', a.ruri, alg=alg))
    return a, ch, r


def test_success_each_algorithm():
    with Env() as env:
        for alg in ('SHA-256', 'MD5'):
            c = env.client('alice')
            a, _, r = authorized_subscribe(c, '1000', 'wonderland', alg)
            check(r.status == 200, '%s: %s', alg, r.start)
            n = c.notify(a.d)
            check(n.get('subscription-state').startswith('active'), 'NOTIFY: %s', n.get('subscription-state'))
        subs = env.subscriptions()
        check(sum(1 for s in subs if s.startswith('alice 1000@default')) == 2, 'two subscriptions: %r', subs)


def test_md5_cred():
    with Env() as env:
        c = env.client('bob')
        a = Attempt(c, '2000')
        chs = challenges(a.send())
        check([ch.get('algorithm') for ch in chs] == ['MD5'], 'md5_cred offers MD5 only: %r', chs)
        check(chs[0]['realm'] == 'pbx.example', 'realm: %r', chs[0])
        r = a.send(digest.authorization(chs[0], 'bob', 'builder', 'SUBSCRIBE', a.ruri))
        check(r.status == 200, 'md5_cred: %s', r.start)
        c.notify(a.d)
        # a SHA-256 answer to the MD5-only challenge is refused
        a2 = Attempt(c, '2000')
        ch = challenges(a2.send())[0]
        r = a2.send(digest.authorization(dict(ch, algorithm='SHA-256'), 'bob', 'builder', 'SUBSCRIBE', a2.ruri,
                                         alg='SHA-256'))
        check(r.status == 403, 'SHA-256 against an md5_cred: %s', r.start)


def test_wrong_password():
    with Env() as env:
        c = env.client('alice')
        a, _, r = authorized_subscribe(c, '1000', 'looking-glass', 'SHA-256')
        check(r.status == 403, 'wrong password: %s', r.start)
        check(not r.all('www-authenticate'), '403 with a challenge')
        c.no_notify(a.d)
        no_subscription(env, 'alice')


def test_wrong_realm():
    with Env() as env:
        c = env.client('alice')
        a = Attempt(c, '1000')
        ch = by_alg(challenges(a.send()), 'MD5')
        r = a.send(digest.authorization(ch, 'alice', 'wonderland', 'SUBSCRIBE', a.ruri, realm='elsewhere'))
        chs = challenges(r)  # credentials for a realm we do not have: challenged again
        check(chs[0]['realm'] == 'asterisk', 'realm %r', chs)
        no_subscription(env, 'alice')


def test_stale_nonce():
    with Env() as env:
        c = env.client('carol')
        a = Attempt(c, '1000')
        ch = by_alg(challenges(a.send()), 'SHA-256')
        time.sleep(2.2)  # carol's nonce_lifetime is 1 s
        r = a.send(digest.authorization(ch, 'carol', 'short-lived', 'SUBSCRIBE', a.ruri, alg='SHA-256'))
        chs = challenges(r)
        check(all(x.get('stale') == 'true' for x in chs), 'stale=true: %r', chs)
        no_subscription(env, 'carol')
        ch = by_alg(chs, 'SHA-256')
        r = a.send(digest.authorization(ch, 'carol', 'short-lived', 'SUBSCRIBE', a.ruri, alg='SHA-256'))
        check(r.status == 200, 'with the fresh nonce: %s', r.start)


def test_replayed_nonce():
    with Env() as env:
        c = env.client('alice')
        a = Attempt(c, '1000')
        ch = by_alg(challenges(a.send()), 'SHA-256')
        sent = digest.authorization(ch, 'alice', 'wonderland', 'SUBSCRIBE', a.ruri, alg='SHA-256', nc=1)
        r = a.send(sent)
        check(r.status == 200, 'first use: %s', r.start)
        c.notify(a.d)
        # the very Authorization of an accepted request, in a new request: stale, no subscription
        a2 = Attempt(c, '1000')
        chs = challenges(a2.send(sent))
        check(all(x.get('stale') == 'true' for x in chs), 'a replay is stale: %r', chs)
        check(sum(1 for s in env.subscriptions() if s.startswith('alice ')) == 1, 'the replay subscribed')
        # the next nonce count with its right response is no replay
        a3 = Attempt(c, '1000')
        r = a3.send(digest.authorization(ch, 'alice', 'wonderland', 'SUBSCRIBE', a3.ruri, alg='SHA-256', nc=2))
        check(r.status == 200, 'nc 2: %s', r.start)
        c.notify(a3.d)
        # and nc 2 again is a replay too
        a4 = Attempt(c, '1000')
        r = a4.send(digest.authorization(ch, 'alice', 'wonderland', 'SUBSCRIBE', a4.ruri, alg='SHA-256', nc=2))
        check(r.status == 401, 'nc 2 again: %s', r.start)
        check(sum(1 for s in env.subscriptions() if s.startswith('alice ')) == 2, 'two subscriptions')


def test_nonce_bound_to_address():
    with Env() as env:
        c = env.client('alice')
        other = env.client('alice', host='127.0.0.3')
        a = Attempt(c, '1000')
        ch = by_alg(challenges(a.send()), 'MD5')
        b = Attempt(other, '1000')
        r = b.send(digest.authorization(ch, 'alice', 'wonderland', 'SUBSCRIBE', b.ruri))
        check(challenges(r)[0].get('stale') == 'true', 'a nonce used from another address is stale')
        no_subscription(env, 'alice')


def test_claiming_another_endpoint():
    """[anonymous] exists, yet a From naming a protected endpoint is challenged, and the credentials of
    another endpoint do not open it."""
    with Env() as env:
        c = env.client('alice')
        a = Attempt(c, '1000')
        challenges(a.send())  # not let in as anonymous
        # bob's own (right) credentials, for alice
        a = Attempt(c, '1000', user='alice')
        ch = by_alg(challenges(a.send()), 'MD5')
        r = a.send(digest.authorization(ch, 'bob', 'builder', 'SUBSCRIBE', a.ruri))
        check(r.status == 403, "bob's credentials for alice: %s", r.start)
        no_subscription(env, 'alice')
        # an unknown name is anonymous; an endpoint without auth= stays open
        for user, ep in (('mallory', 'anonymous'), ('open', 'open')):
            m = env.client(user)
            d, r = m.subscribe('1000')
            check(r.status == 200, '%s: %s', user, r.start)
            m.notify(d)
            check(any(line.startswith(ep + ' 1000@default') for line in env.subscriptions()), '%s as %s', user, ep)


def test_identify_by_address():
    """127.0.0.2 is [desk] whatever the From says, and desk has auth= (alice's credentials)."""
    with Env() as env:
        c = env.client('open', host='127.0.0.2')
        a = Attempt(c, '1000')
        ch = by_alg(challenges(a.send()), 'SHA-256')  # From 'open', but the address is desk's
        r = a.send(digest.authorization(ch, 'alice', 'wonderland', 'SUBSCRIBE', a.ruri, alg='SHA-256'))
        check(r.status == 200, 'desk: %s', r.start)
        c.notify(a.d)
        check(any(line.startswith('desk 1000@default') for line in env.subscriptions()), 'as desk')


def test_in_dialog_refresh_challenged():
    with Env() as env:
        c = env.client('alice')
        a, ch, r = authorized_subscribe(c, '1000', 'wonderland', 'SHA-256')
        check(r.status == 200, 'initial: %s', r.start)
        c.notify(a.d)
        r = c.resubscribe(a.d, 300)
        chs = challenges(r)  # Asterisk authenticates in-dialog requests too
        ch = by_alg(chs, 'SHA-256')
        a.d.cseq += 0
        r = c.resubscribe(a.d, 300, extra=[('Authorization', digest.authorization(
            ch, 'alice', 'wonderland', 'SUBSCRIBE', a.d.ruri, alg='SHA-256'))])
        check(r.status == 200, 'refresh with credentials: %s', r.start)
        n = c.notify(a.d)
        check('expires=' in n.get('subscription-state'), 'refresh NOTIFY: %s', n.get('subscription-state'))
        # the nonce of the refresh again with the next nonce count (a client reusing its challenge)
        r = c.resubscribe(a.d, 0, extra=[('Authorization', digest.authorization(
            ch, 'alice', 'wonderland', 'SUBSCRIBE', a.d.ruri, alg='SHA-256', nc=2))])
        check(r.status == 200, 'unsubscribe with nc 2: %s', r.start)
        n = c.notify(a.d)
        check(n.get('subscription-state').startswith('terminated'), 'final NOTIFY')
        no_subscription(env, 'alice')


def test_publish_challenged():
    pjsip = PJSIP + '\n[1000]\ntype=inbound-publication\nendpoint=alice\nevent_presence=yes\n'
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" '
            'entity="sip:1000@x"><tuple id="t"><status><basic>open</basic></status></tuple></presence>')
    with Env(pjsip) as env:
        c = env.client('alice')
        a = Attempt(c, '1000', method='PUBLISH')
        extra = [('Content-Type', 'application/pidf+xml')]

        def send(auth=None):
            d = a.d
            d.cseq += 1
            headers = [('From', '<%s>;tag=%s' % (d.local_uri, d.local_tag)), ('To', '<%s>' % a.ruri),
                       ('Call-ID', d.call_id), ('CSeq', '%d PUBLISH' % d.cseq), ('Max-Forwards', '70'),
                       ('Event', 'presence'), ('Expires', '600')] + extra
            if auth:
                headers.append(('Authorization', auth))
            c.request('PUBLISH', a.ruri, headers, body)
            return c.response(d.call_id, (d.cseq, 'PUBLISH'))

        ch = by_alg(challenges(send()), 'SHA-256')
        check(env.ua.ok('pjsip show publications') == [], 'published without credentials')
        r = send(digest.authorization(ch, 'alice', 'wonderland', 'PUBLISH', a.ruri, alg='SHA-256'))
        check(r.status == 200 and r.get('sip-etag'), 'PUBLISH with credentials: %s', r.start)
        check(len(env.ua.ok('pjsip show publications')) == 1, 'one publication')


def test_garbage_authorization():
    """Authorization headers that are not digests, or half of one, get a challenge or 403, never a
    subscription and never a crash."""
    with Env() as env:
        c = env.client('alice')
        a = Attempt(c, '1000')
        ch = by_alg(challenges(a.send()), 'MD5')
        good = digest.authorization(ch, 'alice', 'wonderland', 'SUBSCRIBE', a.ruri)
        for bad in ('Basic YWxpY2U6d29uZGVybGFuZA==', 'Digest username="alice"',
                    good.replace('algorithm=MD5', 'algorithm=MD5-sess'),
                    good.replace('qop=auth', 'qop=auth-int'), good.replace(', nc=00000001', ''),
                    good.replace('nc=00000001', 'nc=00000000'),
                    good.replace('realm="asterisk"', 'realm="asterisk\\"x"'),
                    'Digest ' + 'x' * 3000 + '="y"'):
            r = a.send(bad)
            check(r.status in (400, 401, 403), '%r: %s', bad[:60], r.start)
        no_subscription(env, 'alice')
        check(env.ua.alive(), 'the UA died')
        r = a.send(good)  # the challenge's nonce was never used with success: still good
        check(r.status == 200, 'the good one after the garbage: %s', r.start)


def test_reload():
    """A password changed in pjsip.conf applies at `module reload`; an auth section removed while an
    endpoint names it refuses the reload; identify and auth sections removed go away."""
    with Env() as env:
        c = env.client('alice')
        path = os.path.join(env.dir, 'pjsip.conf')
        with open(path, 'w') as f:
            f.write(PJSIP.replace('password=wonderland', 'password=through-the-glass'))
        env.ua.ok('module reload')
        a, _, r = authorized_subscribe(c, '1000', 'wonderland', 'MD5')
        check(r.status == 403, 'the old password after the reload: %s', r.start)
        a, _, r = authorized_subscribe(c, '1000', 'through-the-glass', 'MD5')
        check(r.status == 200, 'the new password: %s', r.start)
        c.notify(a.d)
        # the auth section gone while alice still names it: refused, alice still protected
        with open(path, 'w') as f:
            f.write(PJSIP.replace('[alice-auth]\ntype=auth', '[alice-auth]\ntype=aor'))
        _, status = env.ua.cmd('module reload')
        check(status.startswith('ERR') and 'alice-auth' in status, 'reload: %s', status)
        challenges(Attempt(c, '1000').send())
        # desk's identify section gone: 127.0.0.2 is whoever its From says again
        with open(path, 'w') as f:
            f.write(PJSIP.split('[desk-by-address]')[0])
        env.ua.ok('module reload')
        o = env.client('open', host='127.0.0.2')
        d, r = o.subscribe('1000')
        check(r.status == 200, 'identify removed: %s', r.start)


TESTS = [test_challenge_both_algorithms, test_success_each_algorithm, test_md5_cred, test_wrong_password,
         test_wrong_realm, test_stale_nonce, test_replayed_nonce, test_nonce_bound_to_address,
         test_claiming_another_endpoint, test_identify_by_address, test_in_dialog_refresh_challenged,
         test_publish_challenged, test_garbage_authorization, test_reload]

if __name__ == '__main__':
    sys.exit(tmu.tap_main(TESTS))
