#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The version in meson.build is the release that NEWS.md, debian/changelog,
the linker map and the ABI baseline describe.

- NEWS.md's first entry is `## <version> (YYYY-MM-DD)`.
- debian/changelog's first entry is `libsippresence (<version>)`, and its
  date is the NEWS.md date.
- The newest node of lib/libsippresence.map is LIBSIPPRESENCE_<major>.<minor>.
- abi/libsippresence-<major>.<minor>.abi exists and is the newest baseline, so
  abi-check compares with this release's own ABI, not an older or newer one.

Between releases NEWS.md's first entry is `## <version> (unreleased)`: then
debian/changelog's first entry is `<version>` with the distribution
UNRELEASED (so that the symbols' minimum versions, <version> for the new
node, are met by the development packages themselves), the newest
map node is the one this version opens, and the newest ABI baseline is an
older release's, the one abi-check holds the development tree to.

Usage: release-check.py SOURCE_ROOT VERSION
"""

import email.utils
import glob
import os
import re
import sys

from checkreport import Problems

problems = Problems()


def main():
    root, version = sys.argv[1], sys.argv[2]
    major, minor = version.split('.')[:2]

    news = open(os.path.join(root, 'NEWS.md')).read()
    m = re.search(r'^## (\S+) \((\d{4}-\d\d-\d\d|unreleased)\)$', news, re.M)
    if not m or m.group(1) != version:
        problems.append('NEWS.md: first entry is %r, expected "## %s (YYYY-MM-DD|unreleased)"'
                        % (m and m.group(0), version))
    dev = bool(m) and m.group(2) == 'unreleased'
    news_date = m.group(2) if m and not dev else None

    changelog = open(os.path.join(root, 'debian', 'changelog')).read()
    c = re.match(r'^libsippresence \(([^)]+)\) (\S+);', changelog)
    if not c or c.group(1) != version:
        problems.append('debian/changelog: first entry is %r, expected %s' % (c and c.group(1), version))
    elif dev != (c.group(2) == 'UNRELEASED'):
        problems.append('debian/changelog: distribution %s, but NEWS.md says %s' % (c.group(2), 'unreleased' if dev
                        else 'released'))
    d = re.search(r'^ -- .+?>  (.+)$', changelog, re.M)
    if d and news_date and not dev:
        when = email.utils.parsedate_to_datetime(d.group(1)).date().isoformat()
        if when != news_date:
            problems.append('debian/changelog is dated %s, NEWS.md %s' % (when, news_date))

    nodes = re.findall(r'^LIBSIPPRESENCE_(\d+)\.(\d+)\s*\{', open(os.path.join(root, 'lib', 'libsippresence.map')).read(),
                       re.M)
    newest = max(nodes, key=lambda n: (int(n[0]), int(n[1]))) if nodes else None
    if newest != (major, minor):
        problems.append('newest map node is %s, expected LIBSIPPRESENCE_%s.%s' % (newest, major, minor))

    baselines = []
    for f in glob.glob(os.path.join(root, 'abi', 'libsippresence-*.abi')):
        b = re.search(r'libsippresence-(\d+)\.(\d+)\.abi$', f)
        if b:
            baselines.append((int(b.group(1)), int(b.group(2))))
    if dev:
        if not baselines or max(baselines) >= (int(major), int(minor)):
            problems.append('%s is unreleased: the newest baseline must be an older release\'s, not %s'
                            % (version, max(baselines) if baselines else None))
    elif (int(major), int(minor)) not in baselines:
        problems.append('abi/libsippresence-%s.%s.abi is missing' % (major, minor))
    elif max(baselines) != (int(major), int(minor)):
        problems.append('abi/ has a baseline newer than %s: %s.%s' % (version, *max(baselines)))

    return problems.report('release-check', '%s in meson.build, NEWS.md, debian/changelog, the map and abi/'
                           % version)


if __name__ == '__main__':
    sys.exit(main())
