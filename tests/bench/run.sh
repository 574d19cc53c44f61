#!/bin/sh
# tests/bench/run.sh BUILD_ROOT - runs every benchmark; one "bench NAME VALUE UNIT"
# line per figure. Record the figures in docs/PERFORMANCE.md with this command.
set -eu
build=${1:-build}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) cores, $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
"$build/tests/bench/bench-bus"
python3 "$(dirname "$0")/startup.py" "$build"
