#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS - runs every libFuzzer target built in BUILD
# (configured with -Dfuzzing=true) for SECONDS each, starting from its seed
# corpus. New inputs go to a scratch corpus, crashes to BUILD/fuzz-artifacts/;
# add interesting new inputs to tests/fuzz/corpus/NAME/ by hand.
set -eu
build=$1
seconds=${2:-60}
src=$(dirname "$0")
mkdir -p "$build/fuzz-artifacts"
status=0
for bin in "$build"/tests/fuzz/fuzz-*; do
	case "$bin" in *fuzz-replay-*) continue ;; esac
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=${bin##*/fuzz-}
	scratch="$build/fuzz-corpus/$name"
	mkdir -p "$scratch"
	echo "== $name ($seconds s)"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$build/fuzz-artifacts/$name-" \
		"$scratch" "$src/corpus/$name" || status=1
done
exit $status
