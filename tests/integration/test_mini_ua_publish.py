#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""PUBLISH and sippres-mini-ua on loopback (issue 10): every answer of the
PUBLISH server over the wire, refresh/modify/remove, published state reaching
SUBSCRIBE watchers, publications across kill -9 with --state-dir, header values
byte for byte, and two mini UAs exchanging device states with
asterisk-devicestate both ways.

usage: test_mini_ua_publish.py --ua BUILD/examples/sippres-mini-ua --examples SRC/examples [-k NAME]
Prints TAP. Every wait is bounded."""

import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import asterisk_cli  # noqa: E402
import sipclient  # noqa: E402
import test_mini_ua as tmu  # noqa: E402
from sipclient import Client  # noqa: E402
from taprun import check  # noqa: E402

PJSIP = """
; ---- added by test_mini_ua_publish.py ----
[watcher]
type=endpoint
context=pubtest

[watcher-ast]
type=endpoint
context=office
presence_profile=asterisk

[phone5]
type=endpoint
context=pubtest

[5000]
type=inbound-publication
endpoint=phone5
event_presence=yes
event_dialog=yes
min_expiry=60
max_expiry=600
"""

EXT = """
[pubtest]
exten => 5000,hint,PJSIP/p5000&Dialog/5000,Publish:5000
"""

PIDF = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" '
        'xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:5000@127.0.0.1">'
        '<tuple id="t1"><status><basic>open</basic></status></tuple>'
        '<dm:person id="p1"><rpid:activities><rpid:%s/></rpid:activities><dm:note>%s</dm:note></dm:person>'
        '</presence>')

DIALOG = ('<?xml version="1.0" encoding="UTF-8"?>\n'
          '<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="%d" state="full" '
          'entity="sip:5000@127.0.0.1">'
          '<dialog id="d1" call-id="call-77" local-tag="lt1" remote-tag="rt1" direction="recipient">'
          '<state>%s</state>'
          '<remote><identity display="Carl Caller">sip:carl@example.com</identity></remote>'
          '<local><identity>sip:5000@127.0.0.1</identity></local>'
          '</dialog></dialog-info>')


def raw_headers(msg):
    """The header lines exactly as they came over the wire: [(name, value)], value without the ': '."""
    head = msg.raw.split(b'\r\n\r\n', 1)[0].decode('utf-8', 'replace').split('\r\n')[1:]
    out = []
    for line in head:
        name, _, value = line.partition(':')
        out.append((name, value[1:] if value.startswith(' ') else value))
    return out


def raw_header(msg, name):
    for n, v in raw_headers(msg):
        if n.lower() == name.lower():
            return v
    return None


class Pub:
    """A UA with the publication sections, and a client that PUBLISHes as some user."""

    def __init__(self, state_dir=None, extra=()):
        self.dir = tmu.make_conf(tmu.EXTRA_PJSIP + PJSIP, EXT)
        self.state_dir = state_dir
        self.extra = list(extra)
        self.ua = tmu.UA(self.dir, state_dir=state_dir, extra=self.extra)
        self.clients = []

    def restart(self):
        port = self.ua.addr[1]
        self.ua = tmu.UA(self.dir, listen='127.0.0.1:%d' % port, state_dir=self.state_dir, extra=self.extra)
        for c in self.clients:
            c.server = self.ua.addr

    def client(self, user='phone5'):
        c = Client(self.ua.addr, user=user)
        self.clients.append(c)
        return c

    def publish(self, c, resource='5000', event='presence', body=b'', ctype=None, expires=None, if_match=None,
                user=None, extra=(), call_id=None, branch=None):
        """Send a PUBLISH; returns (response, request bytes, branch)."""
        user = user or c.user
        call_id = call_id or 'pub-' + sipclient.token()
        ruri = 'sip:%s@127.0.0.1:%d' % (resource, self.ua.addr[1])
        h = [('From', '<sip:%s@%s>;tag=%s' % (user, c.hostport, sipclient.token(8))), ('To', '<%s>' % ruri),
             ('Call-ID', call_id), ('CSeq', '1 PUBLISH'), ('Max-Forwards', '70')]
        if event:
            h.append(('Event', event))
        if expires is not None:
            h.append(('Expires', str(expires)))
        if if_match:
            h.append(('SIP-If-Match', if_match))
        if ctype:
            h.append(('Content-Type', ctype))
        h += list(extra)
        text, branch = c.request('PUBLISH', ruri, h, body, branch=branch)
        return c.response(call_id, (1, 'PUBLISH')), text, branch

    def close(self):
        for c in self.clients:
            c.close()
        rc = self.ua.quit()
        shutil.rmtree(self.dir, ignore_errors=True)
        # 0 after quit; under MINIUA_WRAPPER=valgrind... also its verdict (--error-exitcode)
        check(rc == 0, 'exit status %r after quit:\n%s', rc, self.ua.log()[-3000:])


def show_pubs(ua):
    """pjsip show publications: {etag: (resource, event, endpoint, seconds left)}."""
    out = {}
    for line in ua.ok('pjsip show publications'):
        m = re.fullmatch(r'(\S+) event=(\S+) endpoint=(\S+) etag=(\S+) expires=(\d+) type=(\S+) body=(\d+)', line)
        check(m, 'pjsip show publications line %r', line)
        out[m.group(4)] = (m.group(1), m.group(2), m.group(3), int(m.group(5)))
    return out


def hint_state(ua, exten):
    """'State:<state> Presence:<presence>' of exten@context in `core show hints`."""
    rows = asterisk_cli.hints(ua)
    if exten not in rows:
        raise AssertionError('no hint %s in %r' % (exten, rows))
    return 'State:%(state)s Presence:%(presence)s' % rows[exten]


# ---------------------------------------------------------------------------------------------------

def test_publish_answers():
    env = Pub()
    try:
        c = env.client('phone5')
        body = PIDF % ('away', 'Gone fishing')
        r, _, _ = env.publish(c, body=body, ctype='application/pidf+xml', expires=3600)
        check(r.status == 200, 'initial: %s', r.start)
        etag = raw_header(r, 'SIP-ETag')
        check(etag and re.fullmatch(r'[!-~]+', etag), 'SIP-ETag %r', etag)
        check(raw_header(r, 'Expires') == '600', 'Expires %r (max_expiry 600)', raw_header(r, 'Expires'))
        pubs = show_pubs(env.ua)
        # byte for byte: the SIP-ETag on the wire is the library's entity-tag
        check(list(pubs) == [etag] and pubs[etag][:3] == ('5000', 'presence', 'phone5') and
              590 <= pubs[etag][3] <= 600, 'publications %r, SIP-ETag %r', pubs, etag)
        # 423 with Min-Expires
        r, _, _ = env.publish(c, body=body, ctype='application/pidf+xml', expires=10)
        check(r.status == 423 and raw_header(r, 'Min-Expires') == '60', '423: %s', r.raw)
        # 489 with Allow-Events
        r, _, _ = env.publish(c, event='frobnication', body=body, ctype='application/pidf+xml')
        ae = raw_header(r, 'Allow-Events')
        check(r.status == 489 and ae and 'presence' in ae and 'dialog' in ae, '489: %s', r.raw)
        # 415 with Accept
        r, _, _ = env.publish(c, body='hello', ctype='text/plain')
        check(r.status == 415 and raw_header(r, 'Accept') == 'application/pidf+xml', '415: %s', r.raw)
        # parameters of Content-Type are not part of the type
        r, _, _ = env.publish(c, body=body, ctype='application/pidf+xml;charset=UTF-8', expires=120)
        check(r.status == 200, 'Content-Type with a parameter: %s', r.start)
        # 400: a body that does not parse, an initial PUBLISH without a body, a malformed Expires
        r, _, _ = env.publish(c, body='<presence', ctype='application/pidf+xml')
        check(r.status == 400, 'bad body: %s', r.start)
        r, _, _ = env.publish(c)
        check(r.status == 400, 'initial without body: %s', r.start)
        r, _, _ = env.publish(c, body=body, ctype='application/pidf+xml', extra=[('Expires', 'soon')])
        check(r.status == 400, 'malformed Expires: %s', r.start)
        # 404: no inbound publication for the resource
        r, _, _ = env.publish(c, resource='6000', body=body, ctype='application/pidf+xml')
        check(r.status == 404, 'unknown resource: %s', r.start)
        # 403: an endpoint that is not the one named; a user that is no endpoint
        r, _, _ = env.publish(c, user='watcher', body=body, ctype='application/pidf+xml')
        check(r.status == 403, 'other endpoint: %s', r.start)
        r, _, _ = env.publish(c, user='mallory', body=body, ctype='application/pidf+xml')
        check(r.status == 403, 'no endpoint: %s', r.start)
        # 412: an entity-tag nobody issued
        r, _, _ = env.publish(c, if_match='no-such-etag', expires=120)
        check(r.status == 412, '412: %s', r.start)
        # refresh, modify, remove
        r, _, _ = env.publish(c, if_match=etag, expires=300)
        etag2 = raw_header(r, 'SIP-ETag')
        check(r.status == 200 and etag2 and etag2 != etag and raw_header(r, 'Expires') == '300', 'refresh: %s',
              r.raw)
        r, _, _ = env.publish(c, if_match=etag, expires=300)
        check(r.status == 412, 'the old entity-tag after a refresh: %s', r.start)
        r, _, _ = env.publish(c, if_match=etag2, body=PIDF % ('busy', 'Busy'), ctype='application/pidf+xml')
        etag3 = raw_header(r, 'SIP-ETag')
        check(r.status == 200 and etag3 not in (None, etag2), 'modify: %s', r.raw)
        check(etag3 in show_pubs(env.ua), 'modified publication %r not listed', etag3)
        r, _, _ = env.publish(c, if_match=etag3, expires=0)
        check(r.status == 200 and raw_header(r, 'SIP-ETag') is None and raw_header(r, 'Expires') == '0',
              'remove: %s', r.raw)
        check(etag3 not in show_pubs(env.ua), 'removed publication still listed')
        # a retransmitted PUBLISH gets the same answer, not a second publication
        n0 = len(show_pubs(env.ua))
        r1, text, branch = env.publish(c, body=body, ctype='application/pidf+xml', expires=120)
        c.send_raw(text)
        r2 = c.expect(lambda m: m.status and m.call_id == r1.call_id, 'the answer to the retransmission')
        check(r1.raw == r2.raw, 'retransmission answered differently:\n%s\n%s', r1.raw, r2.raw)
        check(len(show_pubs(env.ua)) == n0 + 1, 'a retransmission made a second publication')
        # PUBLISH in Allow
        cid = 'opt-' + sipclient.token()
        c.request('OPTIONS', 'sip:127.0.0.1:%d' % env.ua.addr[1],
                  [('From', '<sip:phone5@%s>;tag=x1' % c.hostport), ('To', '<sip:127.0.0.1>'), ('Call-ID', cid),
                   ('CSeq', '1 OPTIONS')])
        r = c.response(cid, (1, 'OPTIONS'))
        check('PUBLISH' in (r.get('allow') or ''), 'Allow %r', r.get('allow'))
    finally:
        env.close()


def test_published_state_reaches_watchers():
    env = Pub()
    try:
        pub = env.client('phone5')
        w = env.client('watcher')
        dp, r = w.subscribe('5000', 'presence', accept='application/pidf+xml')
        check(r.status == 200, 'presence SUBSCRIBE: %s', r.start)
        n = w.notify(dp)
        dd, r = w.subscribe('5000', 'dialog', accept='application/dialog-info+xml')
        check(r.status == 200, 'dialog SUBSCRIBE: %s', r.start)
        n = w.notify(dd)
        check('<state>terminated</state>' in n.body or '<dialog ' not in n.body, 'idle dialog body: %s', n.body)
        # presence via Publish:5000
        r, _, _ = env.publish(pub, body=PIDF % ('away', 'Gone fishing'), ctype='application/pidf+xml', expires=120)
        check(r.status == 200, '%s', r.start)
        n = w.notify(dp)
        check('Gone fishing' in n.body and 'away' in n.body, 'presence NOTIFY after PUBLISH: %s', n.body)
        check('Presence:away' in hint_state(env.ua, '5000@pubtest'), '%s', hint_state(env.ua, '5000@pubtest'))
        # dialog via Dialog/5000, with the caller's identity
        r, _, _ = env.publish(pub, event='dialog', body=DIALOG % (1, 'confirmed'),
                              ctype='application/dialog-info+xml', expires=120)
        check(r.status == 200, '%s', r.start)
        etag = raw_header(r, 'SIP-ETag')
        n = w.notify(dd)
        check('<state>confirmed</state>' in n.body and 'sip:carl@example.com' in n.body and 'Carl Caller' in n.body,
              'dialog NOTIFY after PUBLISH: %s', n.body)
        check('State:InUse' in hint_state(env.ua, '5000@pubtest'), '%s', hint_state(env.ua, '5000@pubtest'))
        # removing the dialog publication: idle again
        r, _, _ = env.publish(pub, event='dialog', if_match=etag, expires=0)
        check(r.status == 200, 'remove: %s', r.start)
        n = w.notify(dd)
        check('<state>confirmed</state>' not in n.body, 'dialog NOTIFY after removal: %s', n.body)
    finally:
        env.close()


def test_headers_byte_exact():
    """DESIGN.md 5.1: the library's header values on the wire as it gave them (osip must not re-format)."""
    env = Pub()
    try:
        c = env.client('watcher-ast')
        d, r = c.subscribe_list('office-blf')
        check(r.status == 200 and raw_header(r, 'Require') == 'eventlist', 'list SUBSCRIBE: %s', r.raw)
        n = c.notify(d)
        ct = raw_header(n, 'Content-Type')
        m = re.fullmatch(r'multipart/related;type="application/rlmi\+xml";boundary=(\S+)', ct or '')
        check(m, 'list NOTIFY Content-Type on the wire %r (the asterisk profile writes it without spaces)', ct)
        check(('--' + m.group(1) + '\r\n').encode() in n.body_bytes, 'boundary %r not in the body', m.group(1))
        check(raw_header(n, 'Require') == 'eventlist', 'Require %r', raw_header(n, 'Require'))
        check(raw_header(n, 'Event') == 'dialog', 'Event %r', raw_header(n, 'Event'))
        check(re.fullmatch(r'active;expires=\d+', raw_header(n, 'Subscription-State') or ''), 'Subscription-State %r',
              raw_header(n, 'Subscription-State'))
        # a PUBLISH answer: SIP-ETag is exactly the library's entity-tag, Allow-Events exactly its list
        p = env.client('phone5')
        r, _, _ = env.publish(p, body=PIDF % ('away', 'x'), ctype='application/pidf+xml', expires=120)
        check(r.status == 200 and list(show_pubs(env.ua)) == [raw_header(r, 'SIP-ETag')], 'SIP-ETag %r vs %r',
              raw_header(r, 'SIP-ETag'), show_pubs(env.ua))
        r, _, _ = env.publish(p, event='nope', body='x', ctype='text/plain')
        check(raw_header(r, 'Allow-Events') == 'presence, dialog, asterisk-devicestate',
              'Allow-Events %r', raw_header(r, 'Allow-Events'))
    finally:
        env.close()


def test_publication_survives_kill9():
    state = tempfile.mkdtemp(prefix='miniua-pub-state-')
    env = Pub(state_dir=state)
    try:
        p = env.client('phone5')
        r, _, _ = env.publish(p, body=PIDF % ('away', 'Lunch'), ctype='application/pidf+xml', expires=300)
        check(r.status == 200, '%s', r.start)
        etag = raw_header(r, 'SIP-ETag')
        files = [f for f in os.listdir(state) if f.endswith('.pub')]
        check(len(files) == 1, 'state directory after a PUBLISH: %r', os.listdir(state))
        env.ua.kill9()
        env.restart()
        pubs = show_pubs(env.ua)
        check(etag in pubs and pubs[etag][:3] == ('5000', 'presence', 'phone5'), 'after kill -9: %r', pubs)
        check('Presence:away' in hint_state(env.ua, '5000@pubtest'), 'state after the restart: %s',
              hint_state(env.ua, '5000@pubtest'))
        r, _, _ = env.publish(p, if_match=etag, expires=300)
        check(r.status == 200, 'refresh with the stored SIP-ETag: %s', r.start)
        etag2 = raw_header(r, 'SIP-ETag')
        check(os.listdir(state).count(files[0]) == 1, 'the record file was renamed: %r', os.listdir(state))
        r, _, _ = env.publish(p, if_match=etag2, expires=0)
        check(r.status == 200 and not [f for f in os.listdir(state) if f.endswith('.pub')],
              'removed publication still stored: %r', os.listdir(state))
    finally:
        env.close()
        shutil.rmtree(state, ignore_errors=True)


# ---- two mini UAs --------------------------------------------------------------------------------

PEER = """
; ---- added by test_mini_ua_publish.py: peer %(me)s ----
[peer-%(other)s]
type=endpoint
context=pubtest

[devstate]
type=inbound-publication
endpoint=peer-%(other)s
event_asterisk-devicestate=from-%(other)s

[from-%(other)s]
type=asterisk-publication
device_state=yes
device_state_filter=^PJSIP/
devicestate_publish=to-%(other)s

[to-%(other)s]
type=outbound-publish
server_uri=sip:devstate@127.0.0.1:%(other_port)d
from_uri=sip:peer-%(me)s@127.0.0.1:%(my_port)d
event=asterisk-devicestate
expiration=120
@device_state_filter=^PJSIP/
"""

PEER_EXT = """
[pubtest]
exten => 7000,hint,PJSIP/alice
exten => 7001,hint,PJSIP/bob
"""


def free_ports(n):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(('127.0.0.1', 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_hint(ua, exten, want, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        line = hint_state(ua, exten)
        if want in line:
            return line
        if time.monotonic() > deadline:
            raise AssertionError('%s: %r, waited for %s' % (exten, line, want))
        time.sleep(0.05)


class Relay:
    """A UDP relay from A to B that logs what A sends: A's outbound publish goes to it, it forwards every
    datagram from A to B and every other one (B's answers) to A."""

    def __init__(self, a_port, b_port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.port = self.sock.getsockname()[1]
        self.a, self.b = ('127.0.0.1', a_port), ('127.0.0.1', b_port)
        self.from_a = []  # Msg, in order
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.05)
        while not self.stop:
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            if src == self.a:
                try:
                    self.from_a.append(sipclient.Msg(data, src))
                except ValueError:
                    pass
                self.sock.sendto(data, self.b)
            else:
                self.sock.sendto(data, self.a)

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def test_two_uas_exchange_devicestate():
    # T1 50 ms makes timer F 3.2 s: a UA under valgrind on a loaded machine can take longer than that to answer
    # its first PUBLISH (valgrind translates the whole path first); A then starts a new publication and B, which
    # handled the first one late, holds two (RFC 3903 lets the stale one expire). Under a wrapper, T1 is 250 ms.
    t1 = '250' if os.environ.get('MINIUA_WRAPPER') else '50'
    pa, pb = free_ports(2)
    relay = Relay(pa, pb)
    dirs = {}
    # A publishes to B through the relay (its traffic is checked), B to A directly
    for me, other, mine, theirs in (('a', 'b', pa, relay.port), ('b', 'a', pb, pa)):
        dirs[me] = tmu.make_conf(PEER % {'me': me, 'other': other, 'my_port': mine, 'other_port': theirs}, PEER_EXT)
    ua_a = ua_b = None
    try:
        ua_a = tmu.UA(dirs['a'], listen='127.0.0.1:%d' % pa, extra=['--t1', t1, '--eid', '02:00:00:00:00:0a'])
        ua_b = tmu.UA(dirs['b'], listen='127.0.0.1:%d' % pb, extra=['--t1', t1, '--eid', '02:00:00:00:00:0b'])
        ua_a.ok('devstate change PJSIP/alice INUSE')
        line = wait_hint(ua_b, '7000@pubtest', 'State:InUse')
        ua_b.ok('devstate change PJSIP/bob RINGING')
        wait_hint(ua_a, '7001@pubtest', 'State:Ringing')
        if os.environ.get('PUBTEST_DUMP'):
            print(ua_a.log())
        # each side holds one publication of the other (its outbound publish)
        pubs_b = show_pubs(ua_b)
        check([v[:3] for v in pubs_b.values()] == [('devstate', 'asterisk-devicestate', 'peer-a')],
              'B publications %r\nA:\n%s\nB:\n%s', pubs_b, ua_a.log()[-4000:], ua_b.log()[-4000:])
        # a burst: the last state of every device arrives
        for st in ('RINGING', 'ONHOLD', 'NOT_INUSE', 'BUSY'):
            ua_a.ok('devstate change PJSIP/alice %s' % st)
        wait_hint(ua_b, '7000@pubtest', 'State:Busy')
        time.sleep(0.3)
        # no loop: what A received from B never goes back to B, and the other way round
        log_a, log_b = ua_a.log(), ua_b.log()
        check(not re.search(r'PUBLISH to-b .*PJSIP/bob', log_a), 'A published B\'s device back:\n%s', log_a)
        check(not re.search(r'PUBLISH to-a .*PJSIP/alice', log_b), 'B published A\'s device back:\n%s', log_b)
        check('eid":"02:00:00:00:00:0a' in log_a and 'eid":"02:00:00:00:00:0b' in log_b, '--eid not in the bodies')
        # B dies and comes back without a state directory: its refresh request makes A publish again
        ua_b.kill9()
        n_before = len(relay.from_a)
        ua_b = tmu.UA(dirs['b'], listen='127.0.0.1:%d' % pb, extra=['--t1', t1, '--eid', '02:00:00:00:00:0b'])
        wait_hint(ua_b, '7000@pubtest', 'State:Busy', timeout=5.0)
        ua_a.ok('devstate change PJSIP/alice NOT_INUSE')
        wait_hint(ua_b, '7000@pubtest', 'State:Idle', timeout=5.0)
        check(re.search(r'outbound publish to-b: 412 from', ua_a.log()), 'A did not see the 412 of the new B')
        # on the wire after the restart: A answered B's refresh request with its own devices only, never with
        # PJSIP/bob, whose state came from B
        after = [m for m in relay.from_a[n_before:] if m.method == 'PUBLISH' and m.body]
        check(any('PJSIP/alice' in m.body for m in after), 'A sent no state of its own device after the restart')
        back = [m.body for m in after if 'PJSIP/bob' in m.body]
        check(not back, 'A sent B\'s device back to B after the restart: %r', back)
        line = '%s; after it A sent %d bodies, none of B\'s devices' % (line, len(after))
        for u in (ua_a, ua_b):
            rc = u.quit()
            check(rc == 0, 'exit status %r after quit:\n%s', rc, u.log()[-3000:])
        if os.environ.get('PUBTEST_DUMP'):
            print(ua_a.log())
        return 'B caught up after its restart: %s' % line
    finally:
        for u in (ua_a, ua_b):
            if u:
                u.quit()
        relay.close()
        for d in dirs.values():
            shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(tmu.tap_main([test_publish_answers, test_published_state_reaches_watchers, test_headers_byte_exact,
                           test_publication_survives_kill9, test_two_uas_exchange_devicestate]))
