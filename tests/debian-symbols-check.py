#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Debian symbols file (debian/gen-symbols.py, made from the linker map at
package build time) agrees with lib/libsippresence.map and with the library.

1. Map -> symbols file: every global name of every node LIBSIPPRESENCE_X.Y is
   listed once as name@LIBSIPPRESENCE_X.Y with minimal version X.Y.0, every
   node is listed as NODE@NODE, nothing else is, and the header names
   libsippresence.so.0, libsippresence0 and libsippresence-dev.
2. Symbols file -> library: the exported versioned symbols of the built .so
   (objdump -T, version nodes included) are exactly the file's symbols.
3. With dpkg-gensymbols (dpkg-dev), the check dh_makeshlibs does when the
   package is built: `dpkg-gensymbols -c4` accepts the file for the library,
   and refuses a file made from a map that lacks one symbol.

Usage: debian-symbols-check.py --gen debian/gen-symbols.py --map MAP --lib LIBRARY
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from checkreport import Problems

problems = Problems()


def gen(args, mapfile):
    r = subprocess.run([sys.executable, args.gen, mapfile], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append('gen-symbols.py %s failed: %s' % (mapfile, r.stderr))
        return None
    return r.stdout


def map_nodes(path):
    """{node: [names]} read independently of gen-symbols.py."""
    nodes, node, scope = {}, None, None
    for line in open(path):
        line = line.split('#')[0].strip()
        m = re.match(r'^(LIBSIPPRESENCE_\d+\.\d+)\s*\{', line)
        if m:
            node, scope = m.group(1), None
            nodes[node] = []
        elif line.startswith('}'):
            node = None
        elif line in ('global:', 'local:'):
            scope = line
        elif node and scope == 'global:' and line.endswith(';'):
            nodes[node].append(line[:-1].strip())
    return nodes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--gen', required=True)
    ap.add_argument('--map', required=True)
    ap.add_argument('--lib', required=True)
    args = ap.parse_args()

    text = gen(args, args.map)
    if text is None:
        return report()
    lines = text.splitlines()
    if lines[:2] != ['libsippresence.so.0 libsippresence0 #MINVER#', '* Build-Depends-Package: libsippresence-dev']:
        problems.append('unexpected header: %r' % lines[:2])
    listed = {}
    for line in lines[2:]:
        m = re.match(r'^ (\S+)@(\S+) (\S+)$', line)
        if not m:
            problems.append('malformed line %r' % line)
            continue
        key = '%s@%s' % (m.group(1), m.group(2))
        if key in listed:
            problems.append('%s listed twice' % key)
        listed[key] = m.group(3)

    want = {}
    for node, names in map_nodes(args.map).items():
        major, minor = re.match(r'LIBSIPPRESENCE_(\d+)\.(\d+)', node).groups()
        for n in [node] + names:
            want['%s@%s' % (n, node)] = '%s.%s.0' % (major, minor)
    if not want:
        problems.append('no symbols read from %s' % args.map)
    for k in sorted(set(want) - set(listed)):
        problems.append('in the map, not in the symbols file: %s' % k)
    for k in sorted(set(listed) - set(want)):
        problems.append('in the symbols file, not in the map: %s' % k)
    for k in sorted(set(want) & set(listed)):
        if want[k] != listed[k]:
            problems.append('%s: minimal version %s, its node says %s' % (k, listed[k], want[k]))

    # objdump -T, as dpkg-gensymbols reads it: it also lists each version node
    # (from the version definitions, where ld 2.40 no longer puts a symbol).
    r = subprocess.run(['objdump', '-T', args.lib], capture_output=True, text=True)
    exported = set()
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1] == 'g' and '*UND*' not in f and f[-2].strip('()').startswith('LIBSIPPRESENCE_'):
            exported.add('%s@%s' % (f[-1], f[-2].strip('()')))
    if r.returncode != 0 or not exported:
        problems.append('objdump -T %s gave no versioned symbols' % args.lib)
    else:
        for k in sorted(exported - set(listed)):
            problems.append('exported by the library, not in the symbols file: %s' % k)
        for k in sorted(set(listed) - exported):
            problems.append('in the symbols file, not exported by the library: %s' % k)

    gensymbols = shutil.which('dpkg-gensymbols')
    if gensymbols:
        with tempfile.TemporaryDirectory() as tmp:
            pkg = os.path.join(tmp, 'pkg', 'usr', 'lib')
            os.makedirs(pkg)
            shutil.copy(args.lib, os.path.join(pkg, 'libsippresence.so.0'))

            def gensym(content):
                sym = os.path.join(tmp, 'symbols')
                open(sym, 'w').write(content)
                return subprocess.run([gensymbols, '-c4', '-plibsippresence0', '-v0.1.0',
                                       '-P' + os.path.join(tmp, 'pkg'), '-I' + sym, '-O/dev/null'],
                                      capture_output=True, text=True, cwd=tmp)
            r = gensym(text)
            if r.returncode != 0:
                problems.append('dpkg-gensymbols -c4 refuses the symbols file:\n%s%s' % (r.stdout, r.stderr))
            else:
                print('ok: dpkg-gensymbols -c4 accepts the symbols file')
            names = map_nodes(args.map)
            last = max(names.items(), key=lambda kv: len(kv[1]))[1][-1]
            short = os.path.join(tmp, 'short.map')
            open(short, 'w').write(re.sub(r'^\s*%s;\s*$\n' % re.escape(last), '', open(args.map).read(),
                                          flags=re.M))
            text2 = gen(args, short)
            if text2 is not None:
                if gensym(text2).returncode == 0:
                    problems.append('dpkg-gensymbols -c4 accepted a symbols file without %s' % last)
                else:
                    print('ok: dpkg-gensymbols -c4 refuses a symbols file made from a map without %s' % last)
    else:
        print('dpkg-gensymbols not found: step 3 left out')
    print('%d symbols in %d nodes' % (len(listed), len(map_nodes(args.map))))
    return report()


def report():
    return problems.report('debian-symbols-check', 'the symbols file, the map and the library agree')


if __name__ == '__main__':
    sys.exit(main())
