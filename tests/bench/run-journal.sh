#!/bin/sh
# tests/bench/run-journal.sh BUILD_ROOT - the journal store (issue 7):
# entries committed per second through jr_db_append's path (target
# >= 50,000/s) and a user's last 100 entries from a 10,000,000-row journal
# (target < 5 ms; p50/p99/max, one query per millisecond and back to back,
# wall clock and the thread's CPU time, and the time to build the data set).
# Knobs (environment): BENCH_JOURNAL_WRITES (1000000), BENCH_JOURNAL_ROWS
# (10000000), BENCH_JOURNAL_QUERIES (5000), BENCH_JOURNAL_DIR (a temporary
# directory under /tmp; the 10M-row file takes about 2.5 GB),
# BENCH_JOURNAL_KEEP (keep and reuse the data set). Builds nothing (`ninja
# -C BUILD benchmarks` does); prints "bench NAME VALUE UNIT" lines; exit
# status 1 when an entry went missing or a query came back short.
set -eu
build=$(cd "${1:-build}" && pwd)
bench=$build/plugins/journal/bench-journal
if [ ! -x "$bench" ]; then
	echo "run-journal.sh: $bench missing: ninja -C $build benchmarks" >&2
	exit 1
fi
dir=${BENCH_JOURNAL_DIR:-}
made=
if [ -z "$dir" ]; then
	dir=$(mktemp -d /tmp/bench-journal-XXXXXX)
	made=$dir
fi
cleanup() {
	if [ -n "$made" ]; then
		rm -rf "$made"
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM
"$bench" "$dir" "${BENCH_JOURNAL_WRITES:-1000000}" "${BENCH_JOURNAL_ROWS:-10000000}" \
	"${BENCH_JOURNAL_QUERIES:-5000}"
