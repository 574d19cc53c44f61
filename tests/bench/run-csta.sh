#!/bin/sh
# tests/bench/run-csta.sh BUILD_ROOT - the CSTA driver's codec (plugins/line-csta):
# documents decoded per second through the frame reader, and requests encoded.
set -eu
build=${1:-build}
[ -x "$build/plugins/line-csta/tests/bench-csta" ] || ninja -C "$build" plugins/line-csta/tests/bench-csta >/dev/null
"$build/plugins/line-csta/tests/bench-csta"
