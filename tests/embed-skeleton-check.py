#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks examples/embed-skeleton.c against docs/getting-started.md and runs it.

1. Every ```c block of the guide is a verbatim piece of the C file (lines
   compared without trailing blanks, in order; a line that is only
   "/* ... */" in a block stands for lines left out).
2. The program exits 0 and prints the expected story, in order: the 200s and
   NOTIFYs with their bodies, the state changes, the refresh, the restart that
   continues CSeq and version, the 481 that ends a subscription, the
   unsubscribe, the 481 for a dead dialog, the records left at the end.

usage: embed-skeleton-check.py PROGRAM embed-skeleton.c getting-started.md
"""
import re
import subprocess
import sys


def blocks(md):
    out, cur = [], None
    for line in md.splitlines():
        if cur is None and line.strip() == '```c':
            cur = []
        elif cur is not None and line.strip() == '```':
            out.append(cur)
            cur = None
        elif cur is not None:
            cur.append(line.rstrip())
    return out


def find_seq(lines, seq, start):
    """Index where seq occurs contiguously in lines at or after start, or -1."""
    for i in range(start, len(lines) - len(seq) + 1):
        if lines[i:i + len(seq)] == seq:
            return i
    return -1


def check_snippets(c_path, md_path):
    src = [l.rstrip() for l in open(c_path, encoding='utf-8').read().splitlines()]
    bs = blocks(open(md_path, encoding='utf-8').read())
    if len(bs) < 8:
        return ['only %d C blocks in %s' % (len(bs), md_path)]
    errors = []
    for n, b in enumerate(bs, 1):
        chunks, cur = [], []
        for line in b:
            if line.strip() == '/* ... */':
                chunks.append(cur)
                cur = []
            else:
                cur.append(line)
        chunks.append(cur)
        pos = 0
        for chunk in chunks:
            if not chunk:
                continue
            i = find_seq(src, chunk, pos)
            if i < 0:
                errors.append('block %d of the guide (starting %r) is not in %s' % (n, b[0], c_path))
                break
            pos = i + len(chunk)
    return errors


EXPECTED = [
    # bob's BLF subscription: 200, then the first NOTIFY (dummy dialog, version 0)
    r'<< SIP/2\.0 200 OK\n   To: <sip:1000@pbx\.example\.com>;tag=\S+\n   Expires: 600',
    r'CSeq: 1 NOTIFY\n   Event: dialog\n   Subscription-State: active;expires=600',
    r'version="0" state="full"',
    r'<dialog id="1000">\n   \|     <state>terminated</state>',
    # alice's presence subscription
    r'Expires: 3600',
    r'Event: presence\n   Subscription-State: active;expires=3600\n   Content-Type: application/pidf\+xml',
    r'<note>Ready</note>',
    # ringing: early with the pickup data and the caller
    r'== a call from carol',
    r'CSeq: 2 NOTIFY',
    r'call-id="call-7@pbx" local-tag="callee-tag" remote-tag="caller-tag" direction="recipient"',
    r'<state>early</state>',
    r'<identity display="Carol">sip:carol@pbx\.example\.com</identity>',
    r'== alice answers',
    r'<state>confirmed</state>',
    # presence: DND reaches a plain PIDF subscriber as rpid:busy
    r'== bob sets do-not-disturb',
    r'<rpid:busy/>',
    r'<dm:note>In a meeting</dm:note>',
    # refresh: 200 then a full-state NOTIFY
    r'== five minutes later',
    r'<< SIP/2\.0 200 OK\n.*\n   Expires: 600',
    r'CSeq: 4 NOTIFY\n   Event: dialog\n   Subscription-State: active;expires=600',
    r'version="3"',
    # restart: records restored, CSeq and version continue
    r'   2 records stored',
    r'CSeq: 5 NOTIFY\n   Event: dialog\n   Subscription-State: active;expires=59\d',
    r'version="4"',
    r'CSeq: 3 NOTIFY\n   Event: presence',
    # 481 from the phone ends the subscription and deletes its record
    r'>> SIP/2\.0 481 \(NOTIFY CSeq 6\)',
    r'\(subscription blf-1000@192\.0\.2\.21 ended, record deleted\)',
    r'\(the library ended the subscription after a 481\)',
    # unsubscribe: 200 with Expires 0, final NOTIFY
    r'Expires: 0',
    r'CSeq: 4 NOTIFY\n   Event: presence\n   Subscription-State: terminated;reason=timeout',
    r'\(subscription pres-1001@192\.0\.2\.20 ended, record deleted\)',
    r'<< SIP/2\.0 481 Subscription Does Not Exist',
    r'== shutdown\n   0 records stored\n?$',
]


def check_output(program):
    p = subprocess.run([program], capture_output=True, text=True, timeout=30)
    errors = []
    if p.returncode != 0:
        errors.append('%s exited %d: %s' % (program, p.returncode, p.stderr[-2000:]))
    out, pos = p.stdout, 0
    for pat in EXPECTED:
        m = re.compile(pat).search(out, pos)
        if not m:
            errors.append('expected, after offset %d: %s' % (pos, pat))
            break
        pos = m.end()
    # nothing the library reports as a failure
    if 'libsippresence[' in p.stderr:
        errors.append('library log lines on stderr: %s' % p.stderr[-2000:])
    return errors


def main():
    program, c_path, md_path = sys.argv[1:4]
    errors = check_snippets(c_path, md_path) + check_output(program)
    for e in errors:
        print('FAIL:', e)
    if not errors:
        print('ok: guide blocks match the program; the program prints the expected story')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
