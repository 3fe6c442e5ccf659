# SPDX-License-Identifier: MIT
"""A small SIP subscriber for the integration tests, written from RFC 3261 /
RFC 6665 with the Python standard library only (no libosip2, nothing of
libsippresence): builds requests as text, parses what comes back with
regular expressions, answers NOTIFYs, keeps dialogs."""

import random
import re
import socket
import string
import time

COMPACT = {
    'i': 'call-id', 'm': 'contact', 'e': 'content-encoding', 'l': 'content-length',
    'c': 'content-type', 'f': 'from', 's': 'subject', 'k': 'supported', 't': 'to',
    'v': 'via', 'o': 'event', 'u': 'allow-events',
}

START_RE = re.compile(r'^(?:SIP/2\.0 (\d{3}) (.*)|([A-Z]+) (\S+) SIP/2\.0)$')
HEADER_RE = re.compile(r'^([!-9;-~]+)[ \t]*:[ \t]*(.*)$')  # token chars, then ':'
TAG_RE = re.compile(r';\s*tag=([^;>\s]+)', re.I)
URI_RE = re.compile(r'<([^>]*)>')


def token(n=10):
    return ''.join(random.choice(string.ascii_lowercase + string.digits) for _ in range(n))


class Msg:
    """One parsed SIP message. Header names are lower case, compact forms expanded."""

    def __init__(self, data, src=None):
        self.raw = data
        self.src = src
        text = data.decode('utf-8', 'replace')
        head, sep, body = text.partition('\r\n\r\n')
        if not sep:
            raise ValueError('no end of headers')
        lines = head.split('\r\n')
        m = START_RE.match(lines[0])
        if not m:
            raise ValueError('bad start line: %r' % lines[0])
        self.status = int(m.group(1)) if m.group(1) else None
        self.reason = m.group(2)
        self.method = m.group(3)
        self.uri = m.group(4)
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (' ', '\t') and self.headers:  # folded line
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + ' ' + line.strip())
                continue
            h = HEADER_RE.match(line)
            if not h:
                raise ValueError('bad header line: %r' % line)
            name = h.group(1).lower()
            self.headers.append((COMPACT.get(name, name), h.group(2).strip()))
        length = self.get('content-length')
        raw_body = data.split(b'\r\n\r\n', 1)[1]
        if length is not None:
            if int(length) > len(raw_body):
                raise ValueError('truncated body')
            raw_body = raw_body[:int(length)]
        self.body_bytes = raw_body
        self.body = raw_body.decode('utf-8', 'replace')

    def get(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n == name]

    def count(self, name):
        return len(self.all(name))

    @property
    def call_id(self):
        return self.get('call-id')

    @property
    def cseq(self):
        n, m = self.get('cseq').split()
        return int(n), m

    @property
    def from_tag(self):
        t = TAG_RE.search(self.get('from') or '')
        return t.group(1) if t else None

    @property
    def to_tag(self):
        t = TAG_RE.search(self.get('to') or '')
        return t.group(1) if t else None

    @property
    def branch(self):
        v = self.get('via') or ''
        b = re.search(r';\s*branch=([^;\s,]+)', v)
        return b.group(1) if b else None

    def __repr__(self):
        return '<%s>' % self.start


def uri_of(header_value):
    """The URI in a From/To/Contact value: inside <> if any, else up to ';'."""
    m = URI_RE.search(header_value)
    return m.group(1) if m else header_value.split(';')[0].strip()


class Dialog:
    def __init__(self, call_id, local_tag, local_uri, remote_uri, ruri, cseq):
        self.call_id = call_id
        self.local_tag = local_tag     # our From tag
        self.remote_tag = None         # the notifier's To tag
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.ruri = ruri               # Request-URI for in-dialog requests (the notifier's Contact)
        self.cseq = cseq
        self.notify_cseqs = []


class Client:
    """A UDP SIP endpoint on loopback that sends SUBSCRIBEs and answers NOTIFYs."""

    def __init__(self, server, family=socket.AF_INET, user='alice', host=None, answer_notify=200):
        self.family = family
        self.host = host or ('127.0.0.1' if family == socket.AF_INET else '::1')
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((self.host, 0))
        self.port = self.sock.getsockname()[1]
        self.server = server           # (host, port)
        self.user = user
        self.answer_notify = answer_notify  # status to answer NOTIFYs with, None: stay silent
        self.queue = []                # received, not yet consumed
        self.seen_notify = set()       # (call-id, cseq) answered
        self.log = []
        self.via_transport = 'UDP'     # streamclient.StreamClient: TCP or TLS
        self.contact_params = ''       # streamclient.StreamClient: ;transport=tcp|tls

    @property
    def hostport(self):
        return ('[%s]' % self.host if ':' in self.host else self.host) + ':%d' % self.port

    def close(self):
        self.sock.close()

    # ---- sending -------------------------------------------------------------------
    def send_raw(self, data, dest=None):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendto(data, dest or self.server)

    def request(self, method, ruri, headers, body=b'', branch=None):
        """Send a request; headers is a list of (name, value); returns (text, branch)."""
        branch = branch or 'z9hG4bK' + token(16)
        lines = ['%s %s SIP/2.0' % (method, ruri),
                 'Via: SIP/2.0/%s %s;branch=%s;rport' % (self.via_transport, self.hostport, branch)]
        lines += ['%s: %s' % (n, v) for n, v in headers]
        lines.append('Content-Length: %d' % len(body))
        text = ('\r\n'.join(lines) + '\r\n\r\n').encode() + (body if isinstance(body, bytes) else body.encode())
        self.send_raw(text)
        return text, branch

    def respond(self, req, status, reason='OK', dest=None):
        lines = ['SIP/2.0 %d %s' % (status, reason)]
        for name in ('via', 'from', 'to', 'call-id', 'cseq'):
            for v in req.all(name):
                lines.append('%s: %s' % (name.title() if name != 'call-id' else 'Call-ID', v))
        lines.append('Content-Length: 0')
        self.send_raw('\r\n'.join(lines) + '\r\n\r\n', dest or req.src)

    # ---- receiving -----------------------------------------------------------------
    def _read(self, deadline):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            msg = Msg(data, src)
            self.log.append((time.monotonic(), msg))
            if msg.method == 'NOTIFY' and self.answer_notify:
                self.respond(msg, self.answer_notify, 'OK' if self.answer_notify == 200 else 'Error')
                key = (msg.call_id, msg.cseq[0])
                if key in self.seen_notify:
                    continue  # a retransmission we already answered
                self.seen_notify.add(key)
            return msg

    def wait(self, pred, timeout=3.0):
        """The first received message (queued or new) for which pred is true, else None."""
        for i, m in enumerate(self.queue):
            if pred(m):
                return self.queue.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m is None:
                return None
            if pred(m):
                return m
            self.queue.append(m)

    def expect(self, pred, what, timeout=3.0):
        m = self.wait(pred, timeout)
        if m is None:
            raise AssertionError('timed out waiting for %s (queued: %r)' % (what, self.queue))
        return m

    def response(self, call_id, cseq, timeout=3.0):
        return self.expect(lambda m: m.status and m.call_id == call_id and m.cseq == (cseq[0], cseq[1]),
                           'response to %s %d %s' % (call_id, cseq[0], cseq[1]), timeout)

    def notify(self, dialog, timeout=3.0):
        m = self.expect(lambda m: m.method == 'NOTIFY' and m.call_id == dialog.call_id,
                        'NOTIFY in %s' % dialog.call_id, timeout)
        dialog.notify_cseqs.append(m.cseq[0])
        return m

    def no_notify(self, dialog, timeout=0.5):
        m = self.wait(lambda m: m.method == 'NOTIFY' and m.call_id == dialog.call_id, timeout)
        if m is not None:
            raise AssertionError('unexpected NOTIFY: %s\n%s' % (m.start, m.raw.decode('utf-8', 'replace')))

    def drain(self, timeout=0.2):
        while self._read(time.monotonic() + timeout) is not None:
            pass
        self.queue = []

    # ---- subscriptions ----------------------------------------------------------------
    def subscribe_list(self, resource, event='dialog'):
        """An initial SUBSCRIBE that takes an RFC 4662 list (Supported: eventlist,
        multipart/related and RLMI accepted); returns (dialog, response)."""
        return self.subscribe(resource, event, accept=['application/dialog-info+xml' if event == 'dialog'
                                                       else 'application/pidf+xml', 'multipart/related',
                                                       'application/rlmi+xml'],
                              extra=[('Supported', 'eventlist')])

    def subscribe(self, resource, event='presence', accept=None, expires=600, user=None, ruri_host=None,
                  from_host=None, extra=(), event_id=None, user_agent=None):
        """Send an initial SUBSCRIBE; returns (dialog, response)."""
        user = user or self.user
        host = ruri_host or '%s:%d' % (('[%s]' % self.server[0]) if ':' in self.server[0] else self.server[0],
                                       self.server[1])
        ruri = 'sip:%s@%s' % (resource, host) if resource is not None else 'sip:%s' % host
        from_uri = 'sip:%s@%s' % (user, from_host or self.hostport)
        d = Dialog('%s@%s' % (token(12), self.host), token(8), from_uri, ruri, ruri, random.randint(1, 5000))
        d.event = None if event is None else event + (';id=%s' % event_id if event_id else '')
        headers = [('From', '<%s>;tag=%s' % (from_uri, d.local_tag)), ('To', '<%s>' % ruri),
                   ('Call-ID', d.call_id), ('CSeq', '%d SUBSCRIBE' % d.cseq),
                   ('Contact', '<sip:%s@%s%s>' % (user, self.hostport, self.contact_params)), ('Max-Forwards', '70')]
        if d.event is not None:
            headers.append(('Event', d.event))
        for a in ([accept] if isinstance(accept, str) else (accept or [])):
            headers.append(('Accept', a))
        if expires is not None:
            headers.append(('Expires', str(expires)))
        if user_agent:
            headers.append(('User-Agent', user_agent))
        headers += list(extra)
        d.last_request, d.last_branch = self.request('SUBSCRIBE', ruri, headers)
        r = self.response(d.call_id, (d.cseq, 'SUBSCRIBE'))
        if 200 <= r.status < 300:
            d.remote_tag = r.to_tag
            contact = r.get('contact')
            if contact:
                d.ruri = uri_of(contact)
        return d, r

    def resubscribe(self, d, expires, extra=()):
        """An in-dialog SUBSCRIBE (refresh, or Expires: 0); returns the response."""
        d.cseq += 1
        headers = [('From', '<%s>;tag=%s' % (d.local_uri, d.local_tag)),
                   ('To', '<%s>;tag=%s' % (d.remote_uri, d.remote_tag)),
                   ('Call-ID', d.call_id), ('CSeq', '%d SUBSCRIBE' % d.cseq),
                   ('Contact', '<sip:%s@%s%s>' % (self.user, self.hostport, self.contact_params)),
                   ('Max-Forwards', '70'), ('Event', d.event or 'presence')] + list(extra)
        if expires is not None:
            headers.append(('Expires', str(expires)))
        self.request('SUBSCRIBE', d.ruri, headers)
        return self.response(d.call_id, (d.cseq, 'SUBSCRIBE'))
