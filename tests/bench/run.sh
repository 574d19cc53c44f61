#!/bin/sh
# tests/bench/run.sh BUILD_ROOT - runs every benchmark; one "bench NAME VALUE UNIT"
# line per figure. Record the figures in docs/PERFORMANCE.md with this command.
set -eu
build=${1:-build}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$build/tests/bench/bench-bus"
python3 "$(dirname "$0")/startup.py" "$build"

# The dialplan (issue 3) and libphonenumber on the same corpus: Debian's
# python3-phonenumbers makes the corpus, bench-dialplan writes its canonical
# numbers for bench-libphonenumber to compare and takes the ratio of.
bench=$build/tests/bench
if [ -x "$bench/bench-dialplan" ]; then
	/usr/bin/python3 "$(dirname "$0")/dialplan_corpus.py" "$(dirname "$0")/../.." \
		>"$bench/dialplan-corpus.txt"
	"$bench/bench-dialplan" "$bench/dialplan-corpus.txt" "$bench/dialplan-canonical.txt" |
		tee "$bench/dialplan.out"
	if [ -x "$bench/bench-libphonenumber" ]; then
		rate=$(awk '$2 == "dialplan_format" { print $3 }' "$bench/dialplan.out")
		"$bench/bench-libphonenumber" "$bench/dialplan-corpus.txt" \
			"$bench/dialplan-canonical.txt" "$rate"
	else
		echo "# bench-libphonenumber not built (sh tools/install-deps.sh bench)"
	fi
fi

# Each plugin area adds its own script: tests/bench/run-AREA.sh BUILD_ROOT.
for script in "$(dirname "$0")"/run-*.sh; do
	[ -e "$script" ] || continue
	sh "$script" "$build"
done
