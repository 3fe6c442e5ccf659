#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Compare the benchmarks of two builds in one run, alternating A B A B so that
# both see the same machine: bench/ab-compare.sh BUILD_A BUILD_B [ROUNDS]
# (ROUNDS defaults to 2). Each build dir needs bench/bench-{subs,bodies,lists}
# built (ninja -C DIR bench/bench-subs bench/bench-bodies bench/bench-lists).
# Use it to show that a change that should not move the figures does not:
# build the commit before the change in one dir and the change in another.
set -euo pipefail
a=${1:?usage: $0 BUILD_A BUILD_B [ROUNDS]}
b=${2:?usage: $0 BUILD_A BUILD_B [ROUNDS]}
rounds=${3:-2}
for bench in bench-subs bench-bodies bench-lists; do
	for dir in "$a" "$b"; do
		[ -x "$dir/bench/$bench" ] || { echo "missing: $dir/bench/$bench" >&2; exit 1; }
	done
	for r in $(seq 1 "$rounds"); do
		for side in A B; do
			dir=$a
			[ "$side" = B ] && dir=$b
			echo "=== $bench, round $r, $side ($dir)"
			"$dir/bench/$bench"
		done
	done
done
