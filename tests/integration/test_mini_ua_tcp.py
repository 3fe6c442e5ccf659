#!/usr/bin/env python3
"""SIP over TCP and TLS in the mini UA (docs/security.md "Transports"): pjsip.conf type=transport
sections, subscriptions whose responses and NOTIFYs come back on their connection, a Contact with
transport=tcp, digest over a connection, TLS with a CA, server and client certificates the test makes with
openssl, and hostile stream input (a slowloris, an endless header, a Content-Length bigger than what
follows, no Content-Length, a thousand connections from one address) each closed at its limit while a
legitimate subscriber keeps being served.

usage: test_mini_ua_tcp.py --ua build/examples/sippres-mini-ua --examples examples
"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import digest  # noqa: E402
import test_mini_ua as tmu  # noqa: E402
import test_mini_ua_auth as tma  # noqa: E402
from sipclient import Client, Msg  # noqa: E402
from streamclient import StreamClient, split_messages  # noqa: E402
from taprun import Skip, check  # noqa: E402

EXTENSIONS = """\
[default]
exten => 1000,hint,PJSIP/alice
exten => 2000,hint,PJSIP/bob
"""

PJSIP = """\
[alice]
type=endpoint

[bob]
type=endpoint
auth=bob-auth

[bob-auth]
type=auth
username=bob
password=builder

[transport-tcp]
type=transport
protocol=tcp
bind=127.0.0.1:0
"""


class Env(tma.Env):
    """test_mini_ua_auth.Env with the stream listeners the UA logged, by transport section name."""

    def __init__(self, pjsip=PJSIP, extra=(), extensions=EXTENSIONS):
        tma.Env.__init__(self, pjsip, extensions, extra)
        self.stream = {}
        for line in self.ua.err:
            m = re.search(r'listening on (tcp|tls) (\S+):(\d+) \(transport (\S+)\)', line)
            if m:
                self.stream[m.group(4)] = (m.group(2).strip('[]'), int(m.group(3)))

    def tcp(self, user='alice', transport='transport-tcp', **kw):
        c = StreamClient(self.stream[transport], transport='tls' if 'tls' in transport else 'tcp', user=user, **kw)
        self.clients.append(c)
        return c

    def udp(self, user='alice', **kw):
        c = Client(self.ua.addr, user=user, **kw)
        self.clients.append(c)
        return c


def served(env, c, resource='1000'):
    """c subscribes, gets its NOTIFY, sees a change, and unsubscribes: all on its transport."""
    d, r = c.subscribe(resource)
    check(r.status == 200, 'SUBSCRIBE: %s', r.start)
    n = c.notify(d)
    check(n.get('subscription-state').startswith('active'), 'first NOTIFY %s', n.get('subscription-state'))
    env.ua.ok('devstate change PJSIP/alice INUSE')
    n = c.notify(d)
    check('on-the-phone' in n.body or 'busy' in n.body.lower() or 'closed' in n.body, 'state change: %s', n.body)
    env.ua.ok('devstate change PJSIP/alice NOT_INUSE')
    c.notify(d)
    r = c.resubscribe(d, 0)
    check(r.status == 200, 'un-SUBSCRIBE: %s', r.start)
    c.notify(d)
    return d, n


def test_tcp_subscription():
    with Env() as env:
        c = env.tcp()
        d, r = c.subscribe('1000')
        check(r.status == 200, 'SUBSCRIBE over TCP: %s', r.start)
        check(';transport=tcp' in r.get('contact'), "the 200's Contact: %s", r.get('contact'))
        n = c.notify(d)
        check(n.get('via').startswith('SIP/2.0/TCP '), 'NOTIFY Via: %s', n.get('via'))
        check(';transport=tcp' in n.get('contact'), 'NOTIFY Contact: %s', n.get('contact'))
        env.ua.ok('devstate change PJSIP/alice INUSE')
        n = c.notify(d)
        check('<basic>open</basic>' in n.body or 'on-the-phone' in n.body, 'change: %s', n.body)
        r = c.resubscribe(d, 600)
        check(r.status == 200, 'refresh over TCP: %s', r.start)
        c.notify(d)
        r = c.resubscribe(d, 0)
        check(r.status == 200, 'un-SUBSCRIBE: %s', r.start)
        n = c.notify(d)
        check(n.get('subscription-state').startswith('terminated'), 'final: %s', n.get('subscription-state'))
        check(env.subscriptions() == [], 'left: %r', env.subscriptions())


def test_tcp_digest():
    with Env() as env:
        c = env.tcp(user='bob')
        a = tmu_attempt(c, '2000')
        r = a.send()
        check(r.status == 401, 'challenge over TCP: %s', r.start)
        ch = [digest.parse_challenge(v) for v in r.all('www-authenticate')][0]
        r = a.send(digest.authorization(ch, 'bob', 'builder', 'SUBSCRIBE', a.ruri, alg=ch['algorithm']))
        check(r.status == 200, 'credentials over TCP: %s', r.start)
        n = c.notify(a.d)
        check(n.get('via').startswith('SIP/2.0/TCP'), 'NOTIFY over TCP')


def tmu_attempt(c, resource):
    return tma.Attempt(c, resource)


def test_contact_transport_tcp():
    """A SUBSCRIBE over UDP whose Contact says transport=tcp: its NOTIFYs come over a TCP connection the
    server opens to the Contact. (--notify-contact any: under the default policy a Contact that is not the
    source waits for a request in the dialog first, test_mini_ua_hostile's matter.)"""
    with Env(extra=['--notify-contact', 'any']) as env:
        lsock = socket.socket()
        lsock.bind(('127.0.0.1', 0))
        lsock.listen(4)
        lsock.settimeout(5)
        c = env.udp()
        port = lsock.getsockname()[1]
        c.contact_params = ''
        d, r = c.subscribe('1000', extra=[])
        # the same again with a TCP Contact
        c2 = env.udp()
        c2.hostport_override = None
        headers_contact = '<sip:alice@127.0.0.1:%d;transport=tcp>' % port
        import sipclient
        d2 = sipclient.Dialog('%s@x' % sipclient.token(10), sipclient.token(6), 'sip:alice@%s' % c2.hostport,
                              'sip:1000@%s:%d' % env.ua.addr, 'sip:1000@%s:%d' % env.ua.addr, 1)
        c2.request('SUBSCRIBE', d2.ruri, [('From', '<%s>;tag=%s' % (d2.local_uri, d2.local_tag)),
                                          ('To', '<%s>' % d2.remote_uri), ('Call-ID', d2.call_id),
                                          ('CSeq', '1 SUBSCRIBE'), ('Contact', headers_contact),
                                          ('Max-Forwards', '70'), ('Event', 'presence'), ('Expires', '600')])
        r = c2.response(d2.call_id, (1, 'SUBSCRIBE'))
        check(r.status == 200, 'SUBSCRIBE: %s', r.start)
        conn, _ = lsock.accept()
        conn.settimeout(5)
        buf = b''
        deadline = time.monotonic() + 5
        msgs = []
        while not msgs and time.monotonic() < deadline:
            buf += conn.recv(65536)
            msgs, buf = split_messages(buf)
        check(msgs, 'no NOTIFY over the TCP connection')
        n = Msg(msgs[0])
        check(n.method == 'NOTIFY' and n.call_id == d2.call_id, 'got %s', n.start)
        check(n.get('via').startswith('SIP/2.0/TCP'), 'Via %s', n.get('via'))
        conn.close()
        lsock.close()
        c.notify(d)  # the UDP one still over UDP


def test_large_list_notify_over_tcp():
    """A list NOTIFY far bigger than a datagram should carry (RFC 3261 18.1.1: 1300 bytes) arrives whole,
    in one message, on the subscriber's TCP connection."""
    members = ['%d' % (3000 + i) for i in range(40)]
    ext = EXTENSIONS + ''.join('exten => %s,hint,PJSIP/m%s\n' % (m, m) for m in members)
    pjsip = PJSIP + '[big]\ntype=resource_list\nevent=presence\nlist_item=%s\n' % ','.join(members)
    with Env(pjsip, extensions=ext) as env:
        c = env.tcp()
        d, r = c.subscribe('big', accept=['application/pidf+xml', 'multipart/related', 'application/rlmi+xml'],
                           extra=[('Supported', 'eventlist')])
        check(r.status == 200 and r.get('require') == 'eventlist', 'list SUBSCRIBE: %s', r.start)
        n = c.notify(d)
        size = len(n.raw)
        check(size > 8000 and n.get('content-type').startswith('multipart/related'), 'NOTIFY of %d bytes', size)
        check(n.body.count('Content-ID') == 41, 'all members in one NOTIFY: %d parts', n.body.count('Content-ID'))
        return 'one NOTIFY of %d bytes over TCP' % size


# ---- TLS --------------------------------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, capture_output=True, timeout=30)


def make_pki(folder):
    """A CA, a server certificate for localhost/127.0.0.1, a client certificate, and a client
    certificate from another CA; all made here with openssl."""
    for ca in ('ca', 'rogue'):
        openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca + '.key', '-out', ca + '.pem',
                '-days', '2', '-subj', '/CN=%s test CA' % ca, cwd=folder)
    with open(os.path.join(folder, 'san.ext'), 'w') as f:
        f.write('subjectAltName=DNS:localhost,IP:127.0.0.1\n')
    for name, ca, ext in (('server', 'ca', True), ('client', 'ca', False), ('intruder', 'rogue', False)):
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out', name + '.csr',
                '-subj', '/CN=%s' % ('localhost' if name == 'server' else name), cwd=folder)
        args = ['x509', '-req', '-in', name + '.csr', '-CA', ca + '.pem', '-CAkey', ca + '.key',
                '-CAcreateserial', '-out', name + '.pem', '-days', '2']
        if ext:
            args += ['-extfile', 'san.ext']
        openssl(*args, cwd=folder)
    return {n: os.path.join(folder, n) for n in os.listdir(folder)}


def tls_pjsip(pki):
    return PJSIP + """
[transport-tls]
type=transport
protocol=tls
bind=127.0.0.1:0
cert_file=%s
priv_key_file=%s
method=tlsv1_2

[transport-tls-mutual]
type=transport
protocol=tls
bind=127.0.0.1:0
cert_file=%s
priv_key_file=%s
ca_list_file=%s
verify_client=yes
require_client_cert=yes
""" % (pki['server.pem'], pki['server.key'], pki['server.pem'], pki['server.key'], pki['ca.pem'])


_PKI = {}


class Pki:
    """The test's CA and certificates, made once per run (RSA key generation takes a second each)."""

    def __enter__(self):
        if not shutil.which('openssl'):
            raise Skip('openssl is not installed (Debian package openssl)')
        if not _PKI:
            d = tempfile.mkdtemp(prefix='miniua-pki-')
            _PKI.update(make_pki(d))
            _PKI['dir'] = d
            import atexit
            atexit.register(shutil.rmtree, d, True)
        return _PKI

    def __exit__(self, *exc):
        pass


def test_tls_subscription():
    with Pki() as pki, Env(tls_pjsip(pki)) as env:
        c = env.tcp(transport='transport-tls', ca=pki['ca.pem'])
        check(c.sock.version() in ('TLSv1.2', 'TLSv1.3'), 'TLS version %s', c.sock.version())
        d, r = c.subscribe('1000')
        check(r.status == 200 and ';transport=tls' in r.get('contact'), 'SUBSCRIBE over TLS: %s %s', r.start,
              r.get('contact'))
        n = c.notify(d)
        check(n.get('via').startswith('SIP/2.0/TLS'), 'NOTIFY Via %s', n.get('via'))
        env.ua.ok('devstate change PJSIP/alice INUSE')
        c.notify(d)
        r = c.resubscribe(d, 0)
        check(r.status == 200, 'un-SUBSCRIBE over TLS: %s', r.start)
        c.notify(d)
        # the server's certificate is checked by the client: a CA that did not sign it fails
        try:
            env.tcp(transport='transport-tls', ca=pki['rogue.pem'])
            raise AssertionError('a server certificate from another CA was accepted')
        except ssl.SSLError:
            pass


def test_tls_client_certificates():
    with Pki() as pki, Env(tls_pjsip(pki)) as env:
        # a good client certificate: served
        c = env.tcp(transport='transport-tls-mutual', ca=pki['ca.pem'], cert=pki['client.pem'],
                    key=pki['client.key'])
        d, r = c.subscribe('1000')
        check(r.status == 200, 'with a client certificate: %s', r.start)
        c.notify(d)
        # none, or one from another CA: the handshake fails, nothing is subscribed
        for cert in (None, 'intruder'):
            try:
                x = env.tcp(transport='transport-tls-mutual', ca=pki['ca.pem'],
                            cert=pki[cert + '.pem'] if cert else None, key=pki[cert + '.key'] if cert else None)
                # TLS 1.3 reports the refusal at the first read
                d2, r2 = x.subscribe('1000')
                raise AssertionError('client certificate %s accepted: %s' % (cert, r2.start))
            except (ssl.SSLError, ConnectionError, AssertionError) as e:
                if isinstance(e, AssertionError) and 'accepted' in str(e):
                    raise
        check(len([s for s in env.subscriptions() if s.startswith('alice 1000')]) == 1, 'subscriptions: %r',
              env.subscriptions())
        time.sleep(0.2)
        fails = re.findall(r'TLS handshake failed: ([^\n]*)', ''.join(env.ua.err))
        check(len(fails) >= 2, 'the UA logged %r', fails)
        return '; '.join(sorted(set(fails)))


# ---- both ends: the subscriber mode over TCP and TLS ------------------------------------------------

def subscriber(env, transport, *args):
    import test_subscriber as ts
    ts.ARGS = tmu.ARGS
    host, port = env.stream['transport-' + transport]
    return ts.Sub('sip:1000@%s:%d' % (host, port), '--transport', transport, '--from', 'sip:alice@127.0.0.1',
                  '--count', '2', *args)


def both_ends(env, sub, transport):
    try:
        sub.event(r'^SUBSCRIBE ')
        sub.event(r'^200 OK: subscribed')
        n = sub.notify()
        # printed with where it came from: the notifier's TCP or TLS listener, not its UDP socket
        check(n.title.startswith('=== NOTIFY 1 from %s:%d ' % env.stream['transport-' + transport]), '%s', n.title)
        env.ua.ok('devstate change PJSIP/alice INUSE')
        n = sub.notify()
        check('on-the-phone' in n.body, 'change: %s', n.body)
        sub.event(r'^unsubscribing')
        sub.event(r'^200 OK: unsubscribed')
        sub.notify()
        sub.event(r'^subscription terminated')
        sub.finished(0)
        check(env.subscriptions() == [], 'left: %r', env.subscriptions())
        return ''.join(sub.err)
    finally:
        sub.kill()


def test_subscriber_mode_tcp():
    with Env() as env:
        err = both_ends(env, subscriber(env, 'tcp'), 'tcp')
        check('subscribing from tcp 127.0.0.1:' in err, 'log: %s', err)


def test_subscriber_mode_tls():
    with Pki() as pki, Env(tls_pjsip(pki)) as env:
        both_ends(env, subscriber(env, 'tls', '--ca', pki['ca.pem']), 'tls')
        # a CA that did not sign the server's certificate: the subscriber refuses to go on
        sub = subscriber(env, 'tls', '--ca', pki['rogue.pem'])
        sub.finished(1)
        check('certificate verify failed' in ''.join(sub.err), 'stderr: %s', ''.join(sub.err))


# ---- hostile input ----------------------------------------------------------------------------------

def closed_within(sock, seconds):
    """True when the server closes sock within seconds (reading whatever it sends)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65536)
            if not data:
                return True
        except socket.timeout:
            continue
        except (ConnectionError, OSError):
            return True
    return False


def test_hostile_stream_input():
    """Each attack gets its limit while a subscriber on the same server is served throughout."""
    with Env(extra=['--max-connections-per-source', '64']) as env:
        addr = env.stream['transport-tcp']
        hostile = '127.0.0.5'

        def conn(src=hostile):
            s = socket.create_connection(addr, timeout=5, source_address=(src, 0))
            return s

        head = ('SUBSCRIBE sip:1000@%s:%d SIP/2.0\r\nVia: SIP/2.0/TCP %s:5;branch=z9hG4bKx\r\n' % (addr[0], addr[1], hostile))
        # an endless header: closed once 65536 bytes hold no end of headers
        endless = conn()
        endless.sendall(head.encode() + b'X-Filler: ' + b'a' * 70000)
        check(closed_within(endless, 3), 'an endless header was not closed')
        # no Content-Length: closed at once (RFC 3261 18.3)
        nolen = conn()
        nolen.sendall((head + 'From: <sip:a@b>;tag=1\r\nTo: <sip:1000@b>\r\nCall-ID: x\r\nCSeq: 1 SUBSCRIBE\r\n\r\n').encode())
        check(closed_within(nolen, 3), 'a message without Content-Length was not closed')
        # a slowloris (a header line every second) and a Content-Length bigger than what follows:
        # each closed about 10 s after its message began
        slow = conn()
        short = conn()
        short.sendall((head + 'Content-Length: 5000\r\n\r\n' + 'x' * 10).encode())
        silent = conn()  # connects and sends nothing
        t0 = time.monotonic()
        stop = threading.Event()

        def drip():
            slow.sendall(head.encode())
            while not stop.is_set():
                try:
                    slow.sendall(b'X-Slow: 1\r\n')
                except OSError:
                    return
                time.sleep(1)
        threading.Thread(target=drip, daemon=True).start()
        # a thousand connections from one address: at most 64 are kept (--max-connections-per-source)
        flood, refused = [], 0
        for _ in range(1000):
            try:
                flood.append(conn())
            except OSError:
                refused += 1
        time.sleep(1.0)
        kept = 0
        for s in flood:
            s.setblocking(False)
            try:
                kept += s.recv(1) != b''
            except BlockingIOError:
                kept += 1  # still open
            except OSError:
                pass
        # meanwhile a legitimate subscriber, over TCP from its own address and over UDP, is served
        served(env, env.tcp(host='127.0.0.1'))
        served(env, env.udp())
        check(kept <= 64 + 4, '%d of the flood kept open (limit 64 per source, 4 attack connections)', kept)
        for s in flood:
            s.close()
        check(closed_within(short, 14 - (time.monotonic() - t0)), 'a short body was not closed within 14 s')
        check(closed_within(slow, 14 - (time.monotonic() - t0)), 'a slowloris was not closed within 14 s')
        check(closed_within(silent, 1), 'a silent connection was not closed')
        elapsed = time.monotonic() - t0
        stop.set()
        check(elapsed >= 9, 'closed after %.1f s: before the 10 s a message gets', elapsed)
        served(env, env.tcp(host='127.0.0.1'))
        check(env.ua.alive(), 'the mini UA died')
        return 'flood: %d kept of 1000 (%d refused at connect); slow ones closed after %.1f s' % (kept, refused,
                                                                                                  elapsed)


def test_total_connection_limit():
    with Env(extra=['--max-connections', '20', '--max-connections-per-source', '20']) as env:
        addr = env.stream['transport-tcp']
        socks = [socket.create_connection(addr, timeout=5, source_address=('127.0.0.%d' % (10 + i % 5), 0))
                 for i in range(40)]
        time.sleep(0.5)
        live = 0
        for s in socks:
            s.setblocking(False)
            try:
                live += s.recv(1) != b''
            except BlockingIOError:
                live += 1
            except OSError:
                pass
            s.close()
        check(live <= 20, '%d connections kept, limit 20', live)
        time.sleep(0.3)
        served(env, env.tcp())  # the closed ones made room
        return '%d of 40 kept (limit 20)' % live


TESTS = [test_tcp_subscription, test_tcp_digest, test_contact_transport_tcp, test_large_list_notify_over_tcp,
         test_tls_subscription,
         test_tls_client_certificates, test_subscriber_mode_tcp, test_subscriber_mode_tls,
         test_hostile_stream_input, test_total_connection_limit]

if __name__ == '__main__':
    sys.exit(tmu.tap_main(TESTS))
