#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Remove members appended to size-prefixed structs from an abidw dump.

Usage: trim-appended.py SUPPRESSIONS BASELINE.abi HEAD.abi OUT.abi

Why: libabigail 2.2 evaluates `has_data_member_inserted_at = end` only over the
*inserted* members of a struct. A struct diff with no insertion at all (a
member retyped, resized or moved, or a change in a struct reached through one of
its pointers) therefore matches the suppression and is hidden. check-abi.sh
runs this second, strict comparison to close that hole: for every struct named
by the suppression file's name_regexp, when HEAD's members start with exactly
BASELINE's members (same names and offsets), the extra trailing members are
dropped and the size is set back to BASELINE's. Everything else is left alone,
so abidiff without suppressions then reports any change other than an append.
Prints one line per trimmed struct.
"""

import re
import sys
import xml.etree.ElementTree as ET


def appendable_regexps(path):
    regexps = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            m = re.match(r'\s*name_regexp\s*=\s*(\S+)\s*$', line)
            if m:
                regexps.append(re.compile(m.group(1)))
    if not regexps:
        sys.exit('trim-appended: no name_regexp in %s' % path)
    return regexps


def members(cls):
    out = []
    for dm in cls.findall('data-member'):
        var = dm.find('var-decl')
        out.append((dm, var.get('name') if var is not None else None, dm.get('layout-offset-in-bits')))
    return out


def definitions(root):
    """name -> list of class-decl elements that have members (not declarations)."""
    defs = {}
    for cls in root.iter('class-decl'):
        if cls.get('is-declaration-only') == 'yes' or cls.find('data-member') is None:
            continue
        defs.setdefault(cls.get('name'), []).append(cls)
    return defs


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    regexps = appendable_regexps(sys.argv[1])
    base = definitions(ET.parse(sys.argv[2]).getroot())
    head_tree = ET.parse(sys.argv[3])
    head = definitions(head_tree.getroot())

    for name, classes in head.items():
        if not any(r.search(name) for r in regexps) or name not in base:
            continue
        base_cls = base[name][0]
        want = [(n, off) for _, n, off in members(base_cls)]
        if not want or want[0] != ('size', '0'):
            print('trim-appended: %s matches the suppression but does not start with size; not trimmed' % name)
            continue
        for cls in classes:
            have = members(cls)
            if len(have) <= len(want) or [(n, off) for _, n, off in have[:len(want)]] != want:
                continue
            for dm, n, _ in have[len(want):]:
                cls.remove(dm)
            print('trim-appended: %s: ignoring %d appended member(s): %s'
                  % (name, len(have) - len(want), ', '.join(n or '?' for _, n, _ in have[len(want):])))
            cls.set('size-in-bits', base_cls.get('size-in-bits'))
    head_tree.write(sys.argv[4], encoding='unicode')


if __name__ == '__main__':
    main()
