# SPDX-License-Identifier: MIT
"""A real redis-server (Debian redis-server) for the cluster tests and the
cluster benchmark: started on a loopback port of its own (never 6379), no
persistence, stopped and started again on the same port; and a minimal RESP
client for the few commands the tests ask (INFO, DBSIZE, PING)."""

import os
import shutil
import socket
import subprocess
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return free_port() if port == 6379 else port


def available():
    return shutil.which('redis-server') is not None


class Redis:
    def __init__(self, port=None):
        self.exe = shutil.which('redis-server')
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix='sippres-redis-')
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([self.exe, '--port', str(self.port), '--bind', '127.0.0.1', '--save', '',
                                      '--appendonly', 'no', '--dir', self.dir, '--daemonize', 'no'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.command('PING') == 'PONG':
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError('redis-server did not start on port %d' % self.port)
            time.sleep(0.02)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def hostport(self):
        return '127.0.0.1:%d' % self.port

    def command(self, *args):
        """One command; the reply as str, int or list (errors raise)."""
        with socket.create_connection(('127.0.0.1', self.port), timeout=5) as s:
            out = b'*%d\r\n' % len(args)
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out += b'$%d\r\n%s\r\n' % (len(a), a)
            s.sendall(out)
            f = s.makefile('rb')
            return self._reply(f)

    def _reply(self, f):
        line = f.readline()
        if not line:
            raise OSError('connection closed')
        kind, rest = line[:1], line[1:-2]
        if kind == b'+':
            return rest.decode()
        if kind == b'-':
            raise AssertionError('redis: ' + rest.decode())
        if kind == b':':
            return int(rest)
        if kind == b'$':
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:-2]
            return data.decode('utf-8', 'replace')
        if kind == b'*':
            n = int(rest)
            return None if n < 0 else [self._reply(f) for _ in range(n)]
        raise AssertionError('redis: bad reply %r' % line)

    def used_memory(self):
        info = self.command('INFO', 'memory')
        for line in info.splitlines():
            if line.startswith('used_memory:'):
                return int(line.split(':')[1])
        raise AssertionError('no used_memory in INFO')
