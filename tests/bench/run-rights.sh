#!/bin/sh
# tests/bench/run-rights.sh BUILD_ROOT - the rights engine (issue 4): rights
# checks per second with warm and cold caches on a 10,000-user store, the
# cache hit rates, the index load time and what the index and the cache cost
# in memory. One "bench NAME VALUE UNIT" line per figure.
# Build first: ninja -C BUILD_ROOT benchmarks (or the bench-rights target).
set -eu
build=${1:-build}
bench=$build/plugins/presence/tests/rights/bench-rights
if [ ! -x "$bench" ]; then
	echo "# bench-rights not built (ninja -C $build plugins/presence/tests/rights/bench-rights)"
	exit 0
fi
"$bench"
