#!/bin/sh
# tests/bench/run-auth.sh BUILD_ROOT - the auth plugin (issue 4): the time of
# one argon2id verification at the default costs (64 MiB, t=3, p=1) and
# others, logins per core and second, and the brute-force limiter's rate.
# Built by `ninja benchmarks`; prints "bench NAME VALUE UNIT" lines.
set -eu
build=${1:-build}
bench=$build/plugins/auth/bench-auth
if [ ! -x "$bench" ]; then
	echo "# bench-auth not built (the auth plugin is disabled or ninja benchmarks was not run)"
	exit 0
fi
"$bench"
