#!/bin/sh
# tests/bench/run-presence.sh BUILD_ROOT - the presence fan-out (issue 4):
# 10,000 users with 200 watchers each, one change to all 200 filtered views
# handed to the bus, and the memory of the watch relations. Run once with
# the rights engine's default cache and once with a cache that holds every
# pair (4M slots; "rights_cache_slots" in the presence section).
set -eu
build=${1:-build}
bench=$build/plugins/presence/tests/bench-presence
if [ ! -x "$bench" ]; then
	echo "# bench-presence not built (ninja -C $build benchmarks)"
	exit 0
fi
"$bench"
echo "# with rights_cache_slots 4194304"
"$bench" 4194304 | sed -n 's/^bench presence_fanout_200\(_[a-z0-9]*\)\?_us /bench presence_fanout_200\1_bigcache_us /p'
