#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the dpkg symbols file of libsippresence0 from lib/libsippresence.map
(or of libsippresence-redis0 from redis/libsippresence-redis.map: the map's
node names say which).

Each version node LIBSIPPRESENCE_X.Y of the map is the release X.Y.0 that
introduced its symbols, so every symbol of the node gets X.Y.0 as its minimal
version, and the node itself is listed as dpkg-gensymbols lists it
(LIBSIPPRESENCE_X.Y@LIBSIPPRESENCE_X.Y). debian/rules runs this before
dh_makeshlibs, which compares the result with the built library (-c4: any
difference fails the package build); tests/debian-symbols-check.py compares it
with the map and the library in every meson test run.

Usage: gen-symbols.py [MAP] > debian/libsippresence0.symbols
       gen-symbols.py redis/libsippresence-redis.map > debian/libsippresence-redis0.symbols
"""

import os
import re
import sys

# node prefix -> (soname, package, development package)
LIBS = {
    'LIBSIPPRESENCE': ('libsippresence.so.0', 'libsippresence0', 'libsippresence-dev'),
    'LIBSIPPRESENCE_REDIS': ('libsippresence-redis.so.0', 'libsippresence-redis0', 'libsippresence-redis-dev'),
}
NODE = re.compile(r'^(LIBSIPPRESENCE(?:_REDIS)?)_(\d+)\.(\d+)$')


def read_map(path):
    """[(node, [global names])] in file order; raises ValueError on a malformed map."""
    text = open(path).read()
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'#[^\n]*', ' ', text)
    nodes = []
    for m in re.finditer(r'([A-Za-z0-9_.]+)\s*\{(.*?)\}\s*([A-Za-z0-9_.]*)\s*;', text, re.S):
        name, body = m.group(1), m.group(2)
        if not NODE.match(name):
            raise ValueError('%s: node %s is not LIBSIPPRESENCE_<major>.<minor>' % (path, name))
        names, scope = [], None
        for tok in re.split(r'[;\s]+', body):
            if not tok:
                continue
            if tok in ('global:', 'local:'):
                scope = tok
            elif scope == 'global:':
                if not re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', tok):
                    raise ValueError('%s: %s: %r is not a plain symbol name' % (path, name, tok))
                names.append(tok)
        nodes.append((name, names))
    if not nodes:
        raise ValueError('%s: no version node found' % path)
    return nodes


def symbols(nodes):
    """The symbols file's lines, after its header: (symbol@node, minimal version)."""
    out = []
    for node, names in nodes:
        major, minor = NODE.match(node).groups()[1:]
        minver = '%s.%s.0' % (major, minor)
        out.append(('%s@%s' % (node, node), minver))
        out += [('%s@%s' % (n, node), minver) for n in names]
    return sorted(out)


def render(nodes):
    prefixes = set(NODE.match(n).group(1) for n, _ in nodes)
    if len(prefixes) != 1:
        raise ValueError('nodes of several libraries: %s' % ', '.join(sorted(prefixes)))
    soname, package, dev_package = LIBS[prefixes.pop()]
    lines = ['%s %s #MINVER#' % (soname, package), '* Build-Depends-Package: %s' % dev_package]
    lines += [' %s %s' % s for s in symbols(nodes)]
    return '\n'.join(lines) + '\n'


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', 'lib', 'libsippresence.map')
    try:
        sys.stdout.write(render(read_map(path)))
    except (OSError, ValueError) as e:
        print('gen-symbols: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
