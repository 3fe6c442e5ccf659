#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that lib/ keeps its one-way layers (docs/architecture.md):

    core < state < bodies < lists < publish < subs < config < the context (lib/ctx.c)

A file in a layer may include headers and call functions of its own layer and
of lower ones only. Includes are '#include "FOLDER/FILE"' (another layer) or
'#include "FILE"' (its own folder); calls are uses of a sippres_ or sippres__
function, attributed to the layer whose .c file defines it (or whose header
defines it inline). Exits 1 listing every upward include or call.

usage: layers-check.py LIBDIR              check a tree
       layers-check.py --expect-fail DIR   the tree must have violations
"""
import os
import re
import sys

LAYERS = ["core", "state", "bodies", "lists", "publish", "subs", "config"]
TOP = len(LAYERS)  # lib/*.c: the context's construction

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')
# A definition: at the start of a line, a return type, the name, '(' and, at
# the end of the declarator, a '{' rather than a ';'.
DEFINITION = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(sippres_\w+)\s*\(([^;{]*?)\)\s*\{", re.M)
USE = re.compile(r"\b(sippres_\w+)\s*\(")


def layer_of(rel):
    parts = rel.split("/")
    if len(parts) == 1:
        return TOP
    return LAYERS.index(parts[0]) if parts[0] in LAYERS else None


def sources(libdir):
    for dirpath, _, files in os.walk(libdir):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                path = os.path.join(dirpath, f)
                yield os.path.relpath(path, libdir).replace(os.sep, "/"), path


def strip(text):
    return STRING.sub('""', COMMENT.sub(" ", text))


def check(libdir):
    files = {}
    for rel, path in sources(libdir):
        with open(path, encoding="utf-8") as fh:
            files[rel] = fh.read()
    problems = []
    defined = {}
    for rel, text in files.items():
        lay = layer_of(rel)
        if lay is None:
            problems.append(f"{rel}: not in a known layer folder ({', '.join(LAYERS)}) nor at the top")
            continue
        for m in DEFINITION.finditer(strip(text)):
            defined.setdefault(m.group(1), (lay, rel))
    for rel, text in files.items():
        lay = layer_of(rel)
        if lay is None:
            continue
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            target = inc if "/" in inc else (f"{folder}/{inc}" if folder else inc)
            tl = layer_of(target)
            if tl is not None and tl > lay:
                line = text.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: includes {inc} of a higher layer ({LAYERS[tl]})")
        body = strip(text)
        for m in USE.finditer(body):
            name = m.group(1)
            if name not in defined:
                continue
            tl, where = defined[name]
            if tl > lay:
                line = body.count("\n", 0, m.start()) + 1
                problems.append(f"{rel}:{line}: calls {name} of a higher layer ({where})")
    return problems, len(files), len(defined)


def main(argv):
    expect_fail = False
    if argv and argv[0] == "--expect-fail":
        expect_fail = True
        argv = argv[1:]
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    problems, nfiles, ndefs = check(argv[0])
    for p in problems:
        print(p)
    if expect_fail:
        if not problems:
            print(f"expected violations in {argv[0]}, found none")
            return 1
        print(f"found {len(problems)} violation(s), as expected")
        return 0
    if nfiles == 0 or ndefs == 0:
        print(f"nothing checked in {argv[0]}")
        return 1
    print(f"{nfiles} files, {ndefs} functions: {len(problems)} upward include(s) or call(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
