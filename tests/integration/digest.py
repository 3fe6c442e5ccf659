# SPDX-License-Identifier: MIT
"""Digest authentication for the test clients (RFC 7616, RFC 8760 as RFC 3261 22 uses them), written
from the RFCs with hashlib: parse a WWW-Authenticate challenge, compute a qop=auth response, build the
Authorization value. Nothing of the mini UA's code."""

import hashlib
import os
import re

PARAM_RE = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?')
HASHES = {'MD5': hashlib.md5, 'SHA-256': hashlib.sha256}


def parse_challenge(value):
    """'Digest realm="x", nonce="y", ...' -> dict (lower-case keys, quotes removed, 'scheme' too)."""
    scheme, _, rest = value.strip().partition(' ')
    out = {'scheme': scheme}
    for m in PARAM_RE.finditer(rest):
        v = m.group(2)
        if v.startswith('"'):
            v = v[1:-1]
        out[m.group(1).lower()] = v
    return out


def h(alg, text):
    return HASHES[alg](text.encode()).hexdigest()


def response(alg, ha1, nonce, method, uri, nc=None, cnonce=None, qop='auth'):
    ha2 = h(alg, '%s:%s' % (method, uri))
    if qop:
        return h(alg, '%s:%s:%08x:%s:%s:%s' % (ha1, nonce, nc, cnonce, qop, ha2))
    return h(alg, '%s:%s:%s' % (ha1, nonce, ha2))


def authorization(ch, user, password, method, uri, nc=1, cnonce=None, alg=None, realm=None, ha1=None,
                  qop='auth', username=None):
    """The Authorization value answering challenge ch (a parse_challenge dict). realm/username override what
    is sent (not what is hashed with, unless ha1 is given); ha1 replaces the password's."""
    alg = alg or ch.get('algorithm', 'MD5')
    realm_sent = realm if realm is not None else ch['realm']
    cnonce = cnonce or os.urandom(8).hex()
    ha1 = ha1 or h(alg, '%s:%s:%s' % (user, ch['realm'], password))
    r = response(alg, ha1, ch['nonce'], method, uri, nc, cnonce, qop)
    v = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s' % (
        username or user, realm_sent, ch['nonce'], uri, r, alg)
    if qop:
        v += ', qop=%s, nc=%08x, cnonce="%s"' % (qop, nc, cnonce)
    return v
