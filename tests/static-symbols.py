#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""In a static archive of the library every global symbol is the library's:
public ones are sippres_NAME and listed in the version map, internal ones are
sippres__NAME. So a program that links libsippresence.a can never clash with
it on a name of its own. Exits 1 naming every other global symbol.

usage: static-symbols.py ARCHIVE MAP [NM]
"""
import re
import subprocess
import sys


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    archive, mapfile = argv[0], argv[1]
    nm = argv[2] if len(argv) == 3 else "nm"
    with open(mapfile, encoding="utf-8") as fh:
        public = set(re.findall(r"\b(sippres_[a-z0-9_]+)\s*;", fh.read()))
    out = subprocess.run([nm, "-g", "--defined-only", "-P", archive], check=True, capture_output=True,
                         text=True).stdout
    bad, internal, pub = [], set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or line.endswith(":"):
            continue  # an archive member's name
        name, kind = parts[0], parts[1]
        if kind in ("U", "w", "v"):
            continue
        if name.startswith("sippres__"):
            internal.add(name)
        elif name.startswith("sippres_") and name in public:
            pub.add(name)
        else:
            bad.append(f"{name} ({kind})")
    for b in sorted(set(bad)):
        print(f"not the library's prefix, or public but not in the map: {b}")
    missing = sorted(public - pub)
    for m in missing:
        print(f"in the map but not defined in the archive: {m}")
    print(f"{len(pub)} public and {len(internal)} internal symbols; {len(set(bad))} foreign, {len(missing)} missing")
    return 1 if bad or missing or not internal else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
