#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Public-header hygiene checks, run by meson test.

header-check.py c        --cc 'CMD' -I DIR...   each public header compiles alone as
                                                -std=c99 -pedantic -Werror -Wall -Wextra
header-check.py c++      --cxx 'CMD' -I DIR...  the same as -std=c++11; the object refers to
                                                the library by unmangled C names (extern "C")
                                                (exit 77 when there is no C++ compiler)
header-check.py coverage --headers DIR --layout-test FILE [--abignore FILE] [--cc 'CMD' -I DIR...]
                                                every struct member, enum constant and numeric
                                                SIPPRES_* macro of the public headers appears,
                                                in order, in the frozen-layout test; with --cc,
                                                a failure also prints the lines to add, with
                                                the values of the current header; with
                                                --abignore, the structs it lets grow must be
                                                exactly those that start with size_t size
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile

HEADERS = ['libsippresence.h', 'sippres-version.h']

C_FLAGS = ['-std=c99', '-pedantic', '-Werror', '-Wall', '-Wextra', '-Wundef', '-Wshadow',
           '-Wstrict-prototypes', '-Wmissing-prototypes', '-Wredundant-decls', '-Wcast-qual']
CXX_FLAGS = ['-std=c++11', '-pedantic', '-Werror', '-Wall', '-Wextra', '-Wundef', '-Wshadow',
             '-Wold-style-cast', '-Wzero-as-null-pointer-constant']

# Refers to something from each part of the header so that an unusable
# declaration shows up, and calls two functions so the object has undefined
# references whose names show the linkage.
USE = r'''
#include <libsippresence/%s>
#include <libsippresence/sippres-version.h>
int sippres_header_check(void);
int sippres_header_check(void)
{
#ifdef LIBSIPPRESENCE_H
	struct sippres_diag diag;
	struct sippres_exten_status st;
	const char *(*fn)(int) = sippres_strerror;
	int r = SIPPRES_E_INVAL + SIPPRES_DEVICE_ONHOLD + SIPPRES_CALL_NAME_RESTRICTED;
	r += sizeof diag > sizeof st;
	r += fn(SIPPRES_OK)[0] + sippres_version_string()[0];
	return r;
#else
	return SIPPRES_CHECK_VERSION(0, 0, 0) + SIPPRES_VERSION_MAJOR;
#endif
}
'''


def compile_one(cmd, lang, flags, includes, header, tmp):
    src = os.path.join(tmp, 'use-%s.%s' % (header.replace('.', '-'), 'c' if lang == 'c' else 'cpp'))
    obj = src + '.o'
    with open(src, 'w') as f:
        f.write(USE % header)
    argv = cmd + flags + ['-I' + d for d in includes] + ['-c', src, '-o', obj]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        print('FAILED: <libsippresence/%s> does not compile as %s:\n  %s\n%s%s'
              % (header, lang, ' '.join(shlex.quote(a) for a in argv), r.stdout, r.stderr))
        return None
    print('ok: <libsippresence/%s> compiles as %s (%s)' % (header, lang, ' '.join(flags)))
    return obj


def check_compile(args, lang):
    cmd = shlex.split(args.cxx if lang == 'c++' else args.cc)
    if not cmd:
        print('SKIP: no %s compiler configured (install g++; .ci/run does)' % lang)
        return 77
    flags = CXX_FLAGS if lang == 'c++' else C_FLAGS
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for h in HEADERS:
            obj = compile_one(cmd, lang, flags, args.include, h, tmp)
            if obj is None:
                failed += 1
                continue
            if h != 'libsippresence.h':
                continue
            out = subprocess.run([args.nm, '-u', obj], capture_output=True, text=True, check=True).stdout
            undef = set(line.split()[-1] for line in out.splitlines() if line.strip())
            for name in ('sippres_strerror', 'sippres_version_string'):
                if name not in undef:
                    print('FAILED: the %s object does not refer to %s by its C name (extern "C" missing?);'
                          ' undefined symbols: %s' % (lang, name, ' '.join(sorted(undef))))
                    failed += 1
    return 1 if failed else 0


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    return re.sub(r'//[^\n]*', ' ', text)


def header_items(headers_dir):
    """(structs {name: [members]}, constants [names], size-prefixed struct names) of the public headers."""
    structs, constants, sized = {}, [], set()
    for fn in HEADERS:
        path = os.path.join(headers_dir, fn)
        if not os.path.exists(path):
            continue
        with open(path, encoding='utf-8') as f:
            text = strip_comments(f.read())
        for m in re.finditer(r'\bstruct\s+(sippres_\w+)\s*\{(.*?)\}\s*;', text, re.S):
            members = []
            for decl in m.group(2).split(';'):
                decl = ' '.join(decl.split())
                if not decl:
                    continue
                if not members and decl == 'size_t size':
                    sized.add(m.group(1))
                mm = re.search(r'\(\s*\*\s*(\w+)\s*\)', decl) or re.search(r'(\w+)\s*(\[[^\]]*\]\s*)*$', decl)
                members.append(mm.group(1))
            structs[m.group(1)] = members
        for m in re.finditer(r'\benum\s+\w*\s*\{(.*?)\}', text, re.S):
            constants += re.findall(r'\b(SIPPRES_\w+)\s*(?:=|,|$)', m.group(1))
        if fn == 'libsippresence.h':  # the version header's numbers change every release
            for m in re.finditer(r'^\s*#\s*define\s+(SIPPRES_\w+)\s+\(?\s*-?\s*(0x[0-9a-fA-F]+|\d+)[uUlL]*\s*\)?\s*$',
                                 text, re.M):
                constants.append(m.group(1))
    return structs, constants, sized


def check_coverage(args):
    structs, constants, sized = header_items(args.headers)
    with open(args.layout_test, encoding='utf-8') as f:
        test = strip_comments(f.read())
    problems = []
    for name, members in structs.items():
        listed = re.findall(r'\bMEMBER\s*\(\s*%s\s*,\s*(\w+)\s*,' % re.escape(name), test)
        if not re.search(r'\bCHECK_STRUCT\s*\(\s*%s\s*,' % re.escape(name), test):
            problems.append('struct %s has no CHECK_STRUCT in %s' % (name, args.layout_test))
        if listed != members:
            problems.append('struct %s: the header has members (%s), the layout test lists (%s)'
                            % (name, ', '.join(members), ', '.join(listed)))
    listed_constants = set(re.findall(r'\bCONSTANT\s*\(\s*(SIPPRES_\w+)\s*,', test))
    for c in constants:
        if c not in listed_constants:
            problems.append('%s has no CONSTANT line in %s' % (c, args.layout_test))
    if args.abignore:
        # The structs that may grow at the end (the abi-check suppression) are
        # exactly those that start with size_t size.
        with open(args.abignore, encoding='utf-8') as f:
            regexps = [re.compile(m) for m in re.findall(r'^\s*name_regexp\s*=\s*(\S+)\s*$', f.read(), re.M)]
        growable = set(n for n in structs if any(r.search(n) for r in regexps))
        for n in sorted(sized - growable):
            problems.append('struct %s starts with size_t size but %s does not let it grow: add it to '
                            'name_regexp' % (n, args.abignore))
        for n in sorted(growable - sized):
            problems.append('struct %s does not start with size_t size but %s lets it grow: remove it from '
                            'name_regexp' % (n, args.abignore))
    if problems:
        print('FAILED: the frozen ABI records do not match the public header (the layout test takes '
              'new members and constants with their current values, appending only):')
        for p in problems:
            print('- ' + p)
        if args.cc:
            changed = [n for n, m in structs.items()
                       if re.findall(r'\bMEMBER\s*\(\s*%s\s*,\s*(\w+)\s*,' % re.escape(n), test) != m]
            missing = [c for c in constants if c not in listed_constants]
            if changed or missing:
                print_layout_lines(args, structs, changed, missing)
        return 1
    print('ok: %d structs (%d members) and %d constants of the public header are frozen in %s'
          % (len(structs), sum(len(m) for m in structs.values()), len(constants),
             os.path.basename(args.layout_test)))
    return 0


def print_layout_lines(args, structs, names, constants):
    """Print MEMBER/CONSTANT lines with the values of the current header."""
    prog = ['#include <stdio.h>', '#include <stddef.h>', '#include <libsippresence/libsippresence.h>',
            'int main(void)', '{']
    for name in names:
        short = name[len('sippres_'):]
        prog.append(r'printf("\nstatic void test_%s(void **state)\n{\n\tstatic const struct member m[] = {\n");'
                    % short)
        for m in structs[name]:
            prog.append(r'printf("\t\tMEMBER(%s, %s, %%zu, %%zu),\n", offsetof(struct %s, %s), '
                        r'sizeof(((struct %s *)0)->%s));' % (name, m, name, m, name, m))
        prog.append(r'printf("\t};\n\t(void)state;\n\tCHECK_STRUCT(%s, %%zu, m);\n}\n", sizeof(struct %s));'
                    % (name, name))
    if constants:
        prog.append(r'printf("\n");')
    for c in constants:
        prog.append(r'printf("\t\tCONSTANT(%s, %%lld),\n", (long long)(%s));' % (c, c))
    prog += ['return 0;', '}']
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, 'layout.c'), os.path.join(tmp, 'layout')
        with open(src, 'w') as f:
            f.write('\n'.join(prog) + '\n')
        r = subprocess.run(shlex.split(args.cc) + ['-I' + d for d in args.include] + [src, '-o', exe],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print('(could not compute the current values: %s)' % r.stderr.strip())
            return
        out = subprocess.run([exe], capture_output=True, text=True).stdout
    print('\nThe current header has these values. Check that the existing lines of the test still hold '
          '(only appends are allowed), then add what is new (and a cmocka_unit_test() entry for each new '
          'test function):' + out)


def main():
    ap = argparse.ArgumentParser(description='public header checks')
    ap.add_argument('mode', choices=['c', 'c++', 'coverage'])
    ap.add_argument('--cc', default='')
    ap.add_argument('--cxx', default='')
    ap.add_argument('--nm', default=os.environ.get('NM', 'nm'))
    ap.add_argument('-I', dest='include', action='append', default=[])
    ap.add_argument('--headers', help='folder with the public headers (coverage)')
    ap.add_argument('--layout-test', help='tests/test-abi-layout.c (coverage)')
    ap.add_argument('--abignore', help='abi/libsippresence.abignore (coverage): its growable structs must be '
                    'exactly those starting with size_t size')
    args = ap.parse_args()
    if args.mode == 'coverage':
        return check_coverage(args)
    return check_compile(args, args.mode)


if __name__ == '__main__':
    sys.exit(main())
