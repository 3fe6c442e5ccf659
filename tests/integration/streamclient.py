# SPDX-License-Identifier: MIT
"""sipclient.Client over one TCP or TLS connection (RFC 3261 18.3: messages framed by Content-Length),
standard library only (socket, ssl). Requests go out on the connection, responses and NOTIFYs come back on
it; NOTIFYs are answered on it too."""

import socket
import ssl
import time

from sipclient import Client, Msg


def split_messages(buf):
    """Complete messages at the start of buf: (list of bytes, rest)."""
    out = []
    while True:
        while buf.startswith(b'\r\n'):
            buf = buf[2:]
        end = buf.find(b'\r\n\r\n')
        if end < 0:
            return out, buf
        length = 0
        for line in buf[:end].split(b'\r\n')[1:]:
            name, _, value = line.partition(b':')
            if name.strip().lower() in (b'content-length', b'l'):
                length = int(value.strip())
        total = end + 4 + length
        if len(buf) < total:
            return out, buf
        out.append(buf[:total])
        buf = buf[total:]


class StreamClient(Client):
    """A Client whose messages go over one connection to the server. transport: 'tcp' or 'tls';
    for tls, ca (a PEM file) checks the server, cert/key give a client certificate."""

    def __init__(self, server, transport='tcp', user='alice', host='127.0.0.1', ca=None, cert=None, key=None,
                 server_name='localhost', answer_notify=200):
        Client.__init__(self, server, user=user, host=host, answer_notify=answer_notify)
        self.sock.close()  # the UDP socket of the base class: not used
        raw = socket.create_connection(server, timeout=5, source_address=(host, 0))
        if transport == 'tls':
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            if ca:
                ctx.load_verify_locations(ca)
            else:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if cert:
                ctx.load_cert_chain(cert, key)
            raw = ctx.wrap_socket(raw, server_hostname=server_name)
        self.sock = raw
        self.port = raw.getsockname()[1]
        self.via_transport = transport.upper()
        self.contact_params = ';transport=%s' % transport
        self.buf = b''
        self.closed = False

    def send_raw(self, data, dest=None):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _read(self, deadline):
        while True:
            msgs, self.buf = split_messages(self.buf)
            if msgs:
                data = msgs[0]
                self.buf = b''.join(msgs[1:]) + self.buf
                msg = Msg(data, None)
                self.log.append((time.monotonic(), msg))
                if msg.method == 'NOTIFY' and self.answer_notify:
                    self.respond(msg, self.answer_notify, 'OK' if self.answer_notify == 200 else 'Error')
                    key = (msg.call_id, msg.cseq[0])
                    if key in self.seen_notify:
                        continue
                    self.seen_notify.add(key)
                return msg
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                return None
            except (ConnectionError, ssl.SSLError, OSError):
                self.closed = True
                return None
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk
