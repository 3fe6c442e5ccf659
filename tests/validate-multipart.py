#!/usr/bin/env python3
"""Validate multipart/related NOTIFY bodies (RFC 4662) part by part, nested
multiparts included, with the shared validate-body.

usage: validate-multipart.py SCHEMAS_DIR FILE|DIR...   (a DIR means its *.multipart files)
Exit 77 (skip) when SCHEMAS_DIR has no validate-body or xmllint is missing."""
import os, re, shutil, subprocess, sys, tempfile


def parts(data):
    m = re.match(rb"\s*--([^\r\n]+)\r?\n", data)
    if not m:
        return None
    boundary = m.group(1).strip()
    out = []
    for chunk in re.split(rb"\r?\n?--" + re.escape(boundary), data)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.lstrip(b"\r\n")
        head, sep, body = chunk.partition(b"\r\n\r\n")
        out.append((head.decode("utf-8", "replace"), body))
    return out


def leaves(name, data, acc):
    ps = parts(data)
    if ps is None:
        acc.append((name, data))
        return
    if not ps:
        raise SystemExit(f"FAIL {name}: empty multipart")
    for i, (head, body) in enumerate(ps):
        if re.search(r"(?im)^content-type:\s*multipart/related", head):
            leaves(f"{name}[{i}]", body, acc)
        else:
            acc.append((f"{name}[{i}]", body))


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    vb = os.path.join(argv[0], "validate-body")
    if not argv[0] or not os.path.exists(vb) or not shutil.which("xmllint"):
        print("schemas folder or xmllint missing: skipped")
        return 77
    failed = passed = 0
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for a in argv[1:]:
            if os.path.isdir(a):
                paths += sorted(os.path.join(a, n) for n in os.listdir(a) if n.endswith(".multipart"))
            else:
                paths.append(a)
        if not paths:
            print("no multipart bodies given")
            return 1
        for path in paths:
            docs = []
            leaves(os.path.basename(path), open(path, "rb").read(), docs)
            for name, body in docs:
                f = os.path.join(tmp, re.sub(r"[^A-Za-z0-9.-]", "_", name) + ".xml")
                with open(f, "wb") as fp:
                    fp.write(body)
                r = subprocess.run([sys.executable, vb, f], capture_output=True, text=True)
                ok = r.returncode == 0
                print(("ok   " if ok else "FAIL ") + name + ("" if ok else "\n" + r.stdout))
                passed += ok
                failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
