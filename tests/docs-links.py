#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every relative link in docs/*.md and examples/**/README.md points at a file
that exists, and a #fragment at a heading of that Markdown file.

usage: docs-links.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')


def anchors(path):
    out = set()
    in_code = False
    for line in open(path, encoding='utf-8'):
        if line.startswith('```'):
            in_code = not in_code
        if in_code or not line.startswith('#'):
            continue
        text = line.lstrip('#').strip().lower()
        text = re.sub(r'[^\w\- ]', '', text)  # GitHub-style slug
        out.add(text.replace(' ', '-'))
    return out


def main():
    root = sys.argv[1]
    pages = glob.glob(os.path.join(root, 'docs', '*.md')) + \
        glob.glob(os.path.join(root, 'examples', '**', 'README.md'), recursive=True)
    errors, n = [], 0
    for page in sorted(pages):
        text = open(page, encoding='utf-8').read()
        text = re.sub(r'```.*?```', '', text, flags=re.S)  # links in code are not links
        text = re.sub(r'`[^`\n]*`', '', text)
        for target in LINK.findall(text):
            if re.match(r'^[a-z]+:', target):  # http:, https:, mailto:
                continue
            n += 1
            path, _, frag = target.partition('#')
            dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            rel = os.path.relpath(page, root)
            if not os.path.exists(dest):
                errors.append('%s: %s does not exist' % (rel, target))
            elif frag and dest.endswith('.md') and frag not in anchors(dest):
                errors.append('%s: no heading #%s in %s' % (rel, frag, os.path.relpath(dest, root)))
    for e in errors:
        print('FAIL:', e)
    print('%d links checked in %d pages, %d broken' % (n, len(pages), len(errors)))
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
