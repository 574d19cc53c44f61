#!/bin/sh
# tests/bench/run-ldap.sh BUILD_ROOT - userdb-ldap: directory sync of 10,000
# users from a real slapd (issue 4, target < 10 s). Needs `ninja benchmarks`
# (bench-ldap-sync) and Debian's slapd; prints "bench NAME VALUE UNIT".
set -eu
build=${1:-build}
if [ ! -x /usr/sbin/slapd ] || [ ! -e "$build/plugins/userdb-ldap.so" ]; then
	echo "# userdb-ldap benchmark skipped: no slapd or no userdb-ldap.so"
	exit 0
fi
python3 "$(dirname "$0")/ldap_sync.py" "$build"
