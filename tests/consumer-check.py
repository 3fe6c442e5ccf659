#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Install the build into a temporary DESTDIR and use it as an outside program would.

1. `meson install --destdir TMP --no-rebuild` of the build directory.
2. The installed tree: libsippresence.so.0 -> libsippresence.so.0.<minor>.<micro>
   with SONAME libsippresence.so.0, the libsippresence.so development link, the
   public headers (exactly those of include/libsippresence/ plus the generated
   sippres-version.h) under include/libsippresence/, libsippresence.pc with the
   project version, and nothing internal (no *-private.h, no static test copy).
3. Builds tests/consumer.c (and an example, if given) with only
   `pkg-config --cflags --libs libsippresence`, PKG_CONFIG_PATH and
   PKG_CONFIG_SYSROOT_DIR pointing into TMP, runs it with LD_LIBRARY_PATH into
   TMP, checks that the installed library is the one loaded and compares the
   output.

Usage: consumer-check.py --meson CMD --builddir DIR --srcdir DIR --version X.Y.Z
                         --cc CMD [--cflags FLAGS] [--example SRC]
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

from checkreport import Problems

problems = Problems()


def run(argv, env=None, what=None):
    r = subprocess.run(argv, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        problems.append('%s failed (exit %d):\n  %s\n%s%s' % (what or argv[0], r.returncode,
                        ' '.join(shlex.quote(a) for a in argv), r.stdout, r.stderr))
        return None
    return r.stdout


def find(root, name):
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f == name]


def check_tree(dest, srcdir, version):
    pcs = find(dest, 'libsippresence.pc')
    if len(pcs) != 1:
        problems.append('expected one installed libsippresence.pc, found %s' % (pcs or 'none'))
        return None
    pcdir = os.path.dirname(pcs[0])
    libdir = os.path.dirname(pcdir)
    major, minor, micro = version.split('.')[:3]
    so0 = os.path.join(libdir, 'libsippresence.so.0')
    real = 'libsippresence.so.0.%s.%s' % (minor, micro)
    if not os.path.islink(so0):
        problems.append('%s is not a symlink' % so0)
    elif os.readlink(so0) != real:
        problems.append('%s points to %s, expected %s' % (so0, os.readlink(so0), real))
    dev = os.path.join(libdir, 'libsippresence.so')
    if not os.path.islink(dev) or os.path.realpath(dev) != os.path.realpath(os.path.join(libdir, real)):
        problems.append('%s is not a symlink to %s' % (dev, real))
    if os.path.isfile(os.path.join(libdir, real)):
        out = run(['readelf', '-d', os.path.join(libdir, real)], what='readelf -d') or ''
        m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]+)\]', out)
        if not m or m.group(1) != 'libsippresence.so.0':
            problems.append('SONAME of %s is %s, expected libsippresence.so.0' % (real, m.group(1) if m else 'missing'))
    else:
        problems.append('%s is not installed in %s' % (real, libdir))

    prefix = os.path.dirname(libdir)
    while prefix != dest and not os.path.isdir(os.path.join(prefix, 'include')):
        prefix = os.path.dirname(prefix)
    incdir = os.path.join(prefix, 'include', 'libsippresence')
    want = set(f for f in os.listdir(os.path.join(srcdir, 'include', 'libsippresence')) if f.endswith('.h'))
    want.add('sippres-version.h')
    have = set(os.listdir(incdir)) if os.path.isdir(incdir) else set()
    if have != want:
        problems.append('installed headers in %s are %s, expected %s' % (incdir, sorted(have), sorted(want)))
    for d, _, files in os.walk(dest):
        for f in files:
            if f.endswith('-private.h') or 'internal' in f or f.endswith('.a'):
                problems.append('internal file installed: %s' % os.path.join(d, f))
    return pcdir, libdir


def build_and_run(args, dest, pcdir, libdir, src, tmp):
    env = dict(os.environ)
    env['PKG_CONFIG_PATH'] = pcdir
    env['PKG_CONFIG_SYSROOT_DIR'] = dest
    modversion = (run(['pkg-config', '--modversion', 'libsippresence'], env, 'pkg-config --modversion') or '').strip()
    if modversion != args.version:
        problems.append('pkg-config --modversion libsippresence says %r, expected %r' % (modversion, args.version))
    flags = run(['pkg-config', '--cflags', '--libs', 'libsippresence'], env, 'pkg-config --cflags --libs')
    if flags is None:
        return None
    flags = shlex.split(flags)
    if not any(f.startswith('-I' + dest) for f in flags) or not any(f.startswith('-L' + dest) for f in flags) \
            or '-lsippresence' not in flags:
        problems.append('pkg-config --cflags --libs gives %s: expected -I and -L into %s and -lsippresence'
                        % (' '.join(flags), dest))
    exe = os.path.join(tmp, os.path.splitext(os.path.basename(src))[0])
    argv = shlex.split(args.cc) + shlex.split(args.cflags) + ['-Wall', '-Wextra', '-Werror', src, '-o', exe] + flags
    if run(argv, what='building %s against the installed library' % os.path.basename(src)) is None:
        return None

    renv = dict(os.environ)
    renv['LD_LIBRARY_PATH'] = libdir
    trace = run([exe], dict(renv, LD_TRACE_LOADED_OBJECTS='1'), 'listing the libraries of %s' % exe) or ''
    m = re.search(r'libsippresence\.so\.0 => (\S+)', trace)
    if not m or not os.path.realpath(m.group(1)).startswith(os.path.realpath(dest) + os.sep):
        problems.append('%s does not load libsippresence.so.0 from %s:\n%s' % (exe, dest, trace))
    r = subprocess.run([exe], capture_output=True, text=True, env=renv)
    if r.returncode != 0:
        problems.append('%s exited with %d:\n%s%s' % (exe, r.returncode, r.stdout, r.stderr))
        return None
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--meson', required=True)
    ap.add_argument('--builddir', required=True)
    ap.add_argument('--srcdir', required=True)
    ap.add_argument('--version', required=True)
    ap.add_argument('--cc', required=True)
    ap.add_argument('--cflags', default='', help='extra compile and link flags, e.g. the build\'s -fsanitize=')
    ap.add_argument('--example', action='append', default=[])
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix='sippres-destdir-') as tmp:
        dest = os.path.join(tmp, 'root')
        if run(shlex.split(args.meson) + ['install', '-C', args.builddir, '--no-rebuild', '--destdir', dest],
               what='meson install --destdir') is None:
            return report()
        tree = check_tree(dest, args.srcdir, args.version)
        if tree is None:
            return report()
        pcdir, libdir = tree
        consumer = os.path.join(args.srcdir, 'tests', 'consumer.c')
        out = build_and_run(args, dest, pcdir, libdir, consumer, tmp)
        want = "consumer: libsippresence %s: 1000@default InUse 'Alice' 2 devices\n" % args.version
        if out is not None and out != want:
            problems.append('consumer printed %r, expected %r' % (out, want))
        elif out is not None:
            print('ok: tests/consumer.c built with pkg-config only and printed: ' + out.strip())
        for ex in args.example:
            out = build_and_run(args, dest, pcdir, libdir, ex, tmp)
            first = out.splitlines()[0] if out else ''
            if out is not None and first != 'libsippresence ' + args.version:
                problems.append('%s printed %r first, expected %r' % (ex, first, 'libsippresence ' + args.version))
            elif out is not None:
                print('ok: %s built with pkg-config only and ran' % os.path.relpath(ex, args.srcdir))
    return report()


def report():
    return problems.report('consumer-check', 'the DESTDIR install is complete and usable through pkg-config')


if __name__ == '__main__':
    sys.exit(main())
