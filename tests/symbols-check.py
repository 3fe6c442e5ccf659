#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that the public headers, the linker map and the built library agree.

Three sets of function names must be equal:
  1. every function declared with SIPPRES_EXPORT in the public headers,
  2. every name in a global: section of lib/libsippresence.map,
  3. every defined dynamic symbol of the built library (nm -D --defined-only).

Also checked:
  - every sippres_* function prototype in a public header carries SIPPRES_EXPORT;
  - map nodes are named LIBSIPPRESENCE_<major>.<minor>, appear in ascending
    order, each inherits from the one before, none is newer than the project
    version, and the first ends with `local: *;`;
  - names are alphabetical and unique within a node, and no name is in two nodes;
  - each exported symbol of the library carries the version node the map gives it.

Usage: symbols-check.py --headers DIR --map FILE --lib FILE [--version X.Y.Z] [--nm NM]
                        [--export MACRO] [--node PREFIX]
(--export SIPPRES_REDIS_EXPORT --node LIBSIPPRESENCE_REDIS check libsippresence-redis the same way.)
Exit status: 0 all agree, 1 a mismatch (each difference is listed), 2 usage/tool error.
"""

import argparse
import os
import re
import subprocess
import sys

NODE_RE = re.compile(r'^LIBSIPPRESENCE_(\d+)\.(\d+)$')
EXPORT = 'SIPPRES_EXPORT'  # --export
NAME_RE = re.compile(r'^sippres_[a-z0-9_]+$')


def strip_c(text):
    """Remove comments, the C++ guard blocks and preprocessor lines."""
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'#\s*ifdef\s+__cplusplus.*?#\s*endif', ' ', text, flags=re.S)
    text = re.sub(r'\\\n', ' ', text)
    return '\n'.join(l for l in text.split('\n') if not l.lstrip().startswith('#'))


def top_level_statements(text):
    """Statements at brace depth 0 (struct and enum bodies dropped)."""
    out, cur, depth = [], [], 0
    for ch in text:
        if ch == '{':
            depth += 1
        elif ch == '}':
            depth -= 1
        elif depth == 0:
            if ch == ';':
                out.append(' '.join(''.join(cur).split()))
                cur = []
            else:
                cur.append(ch)
    return out


def header_exports(headers_dir, problems):
    exported = {}
    for fn in sorted(os.listdir(headers_dir)):
        if not fn.endswith('.h'):
            continue
        path = os.path.join(headers_dir, fn)
        with open(path, encoding='utf-8') as f:
            text = strip_c(f.read())
        for st in top_level_statements(text):
            if '(' not in st:
                continue
            decl = re.sub(r'SIPPRES_DEPRECATED_FOR\s*\([^)]*\)', ' ', st)
            decl = re.sub(r'__attribute__\s*\(\(.*?\)\)', ' ', decl)
            m = re.search(r'([A-Za-z_]\w*)\s*\(', decl)
            if not m:
                continue
            name = m.group(1)
            has_export = re.search(r'\b%s\b' % EXPORT, decl) is not None
            if has_export and not NAME_RE.match(name):
                problems.append('%s: cannot read the function name of an SIPPRES_EXPORT declaration: %s'
                                % (fn, st))
            elif name.startswith('sippres_') and not has_export:
                problems.append('%s: %s is declared without SIPPRES_EXPORT (it would not be exported)'
                                % (fn, name))
            elif has_export:
                if name in exported:
                    problems.append('%s: %s is declared twice (also in %s)' % (fn, name, exported[name]))
                exported[name] = fn
    return set(exported)


def map_nodes(map_path, version, problems):
    with open(map_path, encoding='utf-8') as f:
        text = f.read()
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'#[^\n]*', ' ', text)
    node_re = re.compile(r'([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*([A-Za-z_][\w.]*)?\s*;', re.S)
    nodes, pos = [], 0
    for m in node_re.finditer(text):
        if text[pos:m.start()].strip():
            problems.append('map: cannot parse %r' % text[pos:m.start()].strip()[:60])
        pos = m.end()
        nodes.append((m.group(1), m.group(2), m.group(3)))
    if text[pos:].strip():
        problems.append('map: cannot parse %r' % text[pos:].strip()[:60])
    if not nodes:
        problems.append('map: no version node found in %s' % map_path)

    proj = None
    if version:
        mv = re.match(r'^(\d+)\.(\d+)', version)
        proj = (int(mv.group(1)), int(mv.group(2))) if mv else None

    symbols = {}  # name -> node
    prev = None
    for i, (node, body, parent) in enumerate(nodes):
        m = NODE_RE.match(node)
        if not m:
            problems.append('map: node %s is not named LIBSIPPRESENCE_<major>.<minor>' % node)
            ver = None
        else:
            ver = (int(m.group(1)), int(m.group(2)))
            if prev and prev[1] is not None and ver <= prev[1]:
                problems.append('map: node %s is not newer than the node before it (%s)' % (node, prev[0]))
            if proj and ver > proj:
                problems.append('map: node %s is newer than the project version %s' % (node, version))
        if i == 0 and parent:
            problems.append('map: the first node %s must not inherit from %s' % (node, parent))
        if i > 0 and parent != nodes[i - 1][0]:
            problems.append('map: node %s must inherit from the node before it: "} %s;"'
                            % (node, nodes[i - 1][0]))
        prev = (node, ver)

        section, names = 'global', []
        for tok in re.findall(r'[^\s;]+:|[^\s;]+', body):
            if tok in ('global:', 'local:'):
                section = tok[:-1]
            elif tok.endswith(':'):
                problems.append('map: node %s: unknown section %s' % (node, tok))
            elif section == 'local':
                if tok != '*':
                    problems.append('map: node %s: local: must be "*", not %s' % (node, tok))
                elif i != 0:
                    problems.append('map: node %s: only the first node has "local: *;"' % node)
            else:
                names.append(tok)
        if i == 0 and 'local' not in re.findall(r'\b(local):', body):
            problems.append('map: the first node %s lacks "local: *;" (everything else would be exported)' % node)
        if names != sorted(names):
            for a, b in zip(names, names[1:]):
                if a > b:
                    problems.append('map: node %s is not alphabetical: %s comes before %s' % (node, a, b))
        for name in names:
            if not NAME_RE.match(name):
                problems.append('map: node %s: %s is not a plain sippres_* name' % (node, name))
            if name in symbols:
                problems.append('map: %s is listed in %s and again in %s' % (name, symbols[name], node))
            else:
                symbols[name] = node
    return symbols


def library_symbols(nm, lib, problems):
    try:
        out = subprocess.run([nm, '-D', '--defined-only', '--with-symbol-versions', lib],
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print('symbols-check: cannot run %s on %s: %s' % (nm, lib, e), file=sys.stderr)
        sys.exit(2)
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[-2], parts[-1]
        if kind == 'A':  # the version node names themselves
            continue
        version = None
        if '@' in name:
            name, _, version = name.partition('@')
            version = version.lstrip('@')
        syms[name] = version
    return syms


def report(title, names):
    return ['%s:\n%s' % (title, '\n'.join('    ' + n for n in sorted(names)))] if names else []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--headers', required=True, help='folder with the public headers')
    ap.add_argument('--map', required=True, help='the linker version script')
    ap.add_argument('--lib', required=True, help='the built shared library')
    ap.add_argument('--version', default='', help='project version; no node may be newer')
    ap.add_argument('--nm', default=os.environ.get('NM', 'nm'))
    ap.add_argument('--export', default='SIPPRES_EXPORT', help='the export macro of the headers')
    ap.add_argument('--node', default='LIBSIPPRESENCE', help='the prefix of the map\'s version nodes')
    a = ap.parse_args()
    global EXPORT, NODE_RE
    EXPORT = a.export
    NODE_RE = re.compile(r'^%s_(\d+)\.(\d+)$' % re.escape(a.node))

    problems = []
    hdr = header_exports(a.headers, problems)
    mapped = map_nodes(a.map, a.version, problems)
    lib = library_symbols(a.nm, a.lib, problems)
    mp, lb = set(mapped), set(lib)

    problems += report('declared SIPPRES_EXPORT in the headers but missing from %s' % a.map, hdr - mp)
    problems += report('listed in %s but not declared SIPPRES_EXPORT in the headers' % a.map, mp - hdr)
    problems += report('declared SIPPRES_EXPORT in the headers but not exported by %s' % a.lib, hdr - lb)
    problems += report('exported by %s but not declared SIPPRES_EXPORT in the headers' % a.lib, lb - hdr)
    problems += report('listed in the map but not exported by %s (missing definition or SIPPRES_EXPORT?)'
                       % a.lib, mp - lb)
    problems += report('exported by %s but not listed in the map' % a.lib, lb - mp)
    for name in sorted(mp & lb):
        if lib[name] != mapped[name]:
            problems.append('%s is exported with version %s, the map says %s'
                            % (name, lib[name] or '(none)', mapped[name]))

    if problems:
        print('symbols-check: FAILED, headers, map and library disagree:')
        for p in problems:
            print('- ' + p)
        return 1
    print('symbols-check: %d symbols agree in the headers, %s and %s'
          % (len(hdr), os.path.basename(a.map), os.path.basename(a.lib)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
