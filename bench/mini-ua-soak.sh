#!/bin/sh
# SPDX-License-Identifier: MIT
# The one-hour soak of sippres-mini-ua on loopback (issue 11; not in CI, which runs the 60-second version as
# `meson test mini-ua-load`): floods of valid and malformed SUBSCRIBEs and PUBLISHes from one source while
# 20 legitimate subscribers must get every NOTIFY, rounds until the hour is over, memory checked across the
# rounds, then a 10,000-NOTIFY burst with no datagram dropped on the server's socket.
# usage: bench/mini-ua-soak.sh [BUILD_DIR] [SECONDS]   (defaults: build, 3600)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
exec python3 "$top/tests/integration/test_mini_ua_load.py" --ua "$build/examples/sippres-mini-ua" \
	--examples "$top/examples" --duration "${2:-3600}"
