#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Compare the ABI of a built libsippresence.so with the baseline of the last
# release, abi/libsippresence-<major>.<minor>.abi (the newest such file), using
# libabigail (Debian package abigail-tools):
#   abidw   --headers-dir include/libsippresence --drop-private-types
#           --no-corpus-path --no-show-locs          (both sides dumped the same way)
#   abidiff --no-added-syms --suppressions abi/libsippresence.abignore base.abi head.abi
# XML is compared with XML: comparing an XML baseline with the ELF file misses
# breaks. Any non-zero abidiff status fails, because libabigail rates a member
# inserted in the middle of a struct only as "change" (4), not "incompatible" (8).
# A second, strict pass (see trim-appended.py) catches the changes that the
# suppression hides in libabigail 2.2.
#
# Usage:
#   abi/check-abi.sh [LIBRARY]            check (meson test runs this as abi-check)
#   abi/check-abi.sh --update [LIBRARY]   write abi/libsippresence-<major>.<minor>.abi
# LIBRARY is the built shared library, by default build/libsippresence.so. The
# build needs debug information (-g: buildtype debugoptimized, the default).
#
# When to run --update:
#   - Before a release is tagged, the baseline of the version in meson.build
#     may still change: after an intended public-header change, refresh it and
#     commit it with the change.
#   - When tagging release X.Y: build the tag, run --update, commit
#     abi/libsippresence-X.Y.abi. From then on that file is frozen; the next
#     cycle (meson.build at X.Y+1) is checked against it until X.Y+1 is released
#     and gets its own file.
#
# Exit status: 0 no ABI change, 1 a change or an error, 77 skipped (abidw or
# abidiff missing, or no debug information in LIBRARY).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
case "${1:-}" in
-h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
esac
lib=${1:-$top/build/libsippresence.so}
suppressions=$top/abi/libsippresence.abignore
headers=$top/include/libsippresence

for tool in abidw abidiff; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "check-abi: SKIP: $tool not found (Debian package abigail-tools)"
		exit 77
	fi
done
if [ ! -f "$lib" ]; then
	echo "check-abi: $lib does not exist; build first (meson setup build && ninja -C build)" >&2
	exit 1
fi
sections=$(LC_ALL=C readelf -S "$lib" 2>/dev/null || true)
case "$sections" in
*.debug_info*) ;;
*)
	echo "check-abi: SKIP: $lib has no debug information; configure with -Dbuildtype=debugoptimized"
	[ "$update" = 1 ] && exit 1
	exit 77 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
abidw --headers-dir "$headers" --drop-private-types --no-corpus-path --no-show-locs \
	--out-file "$tmp/head.abi" "$lib"

if [ "$update" = 1 ]; then
	version=$(sed -n "s/^ *version: *'\([0-9]*\)\.\([0-9]*\)\..*/\1.\2/p" "$top/meson.build" | head -n 1)
	if [ -z "$version" ]; then
		echo "check-abi: cannot read the project version from $top/meson.build" >&2
		exit 1
	fi
	out=$top/abi/libsippresence-$version.abi
	cp "$tmp/head.abi" "$out"
	echo "check-abi: wrote ${out#"$top"/} from $lib; commit it."
	exit 0
fi

baseline=$(ls "$top"/abi/libsippresence-*.abi 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$baseline" ]; then
	echo "check-abi: no baseline abi/libsippresence-<major>.<minor>.abi; create it with: abi/check-abi.sh --update $lib" >&2
	exit 1
fi

# Pass 1, the recipe: appending to the structs in the suppression file is allowed.
status=0
abidiff --no-added-syms --suppressions "$suppressions" "$baseline" "$tmp/head.abi" >"$tmp/report" 2>&1 || status=$?
# Pass 2, strict: libabigail 2.2 lets such a suppression hide every change in a
# listed struct that is not an insertion (a retyped or moved member, a change
# behind one of its pointers). So drop only genuinely appended members from the
# head dump (trim-appended.py) and compare again without suppressions.
if [ "$status" -eq 0 ]; then
	"${PYTHON:-python3}" "$top/abi/trim-appended.py" "$suppressions" "$baseline" "$tmp/head.abi" "$tmp/trimmed.abi"
	abidiff --no-added-syms "$baseline" "$tmp/trimmed.abi" >"$tmp/report" 2>&1 || status=$?
fi
if [ "$status" -eq 0 ]; then
	echo "check-abi: $lib has the ABI of ${baseline#"$top"/} (new symbols and appended members of size-prefixed structs allowed)"
	exit 0
fi

cat "$tmp/report"
what=""
[ $((status & 1)) -ne 0 ] && what="$what abidiff error;"
[ $((status & 2)) -ne 0 ] && what="$what usage error;"
[ $((status & 4)) -ne 0 ] && what="$what ABI change;"
[ $((status & 8)) -ne 0 ] && what="$what incompatible ABI change;"
cat <<EOF

check-abi: FAILED: abidiff exit status $status ($what ) comparing
  ${baseline#"$top"/} (baseline) with $lib (this build).
If the release this baseline belongs to is already tagged, this is an ABI break
for every program built against it: undo it. Members may only be appended to the
size-prefixed structs listed in abi/libsippresence.abignore; changed behaviour
gets a new symbol in a new map node (docs/ABI.md).
If that release is not tagged yet and the change is intended, refresh the
baseline from this build and commit it with the header change:
  abi/check-abi.sh --update $lib
EOF
exit 1
