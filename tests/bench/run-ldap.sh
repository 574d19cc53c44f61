#!/bin/sh
# tests/bench/run-ldap.sh BUILD_ROOT - userdb-ldap: directory sync of 10,000
# users from a real slapd (issue 4, target < 10 s), and a directory of users
# with pictures: ucsd's peak memory over max_objects and the first sync's
# time when every picture is new (ldap_limit.py). Needs `ninja benchmarks`
# (bench-ldap-sync) and Debian's slapd; prints "bench NAME VALUE UNIT".
set -eu
build=${1:-build}
if [ ! -x /usr/sbin/slapd ] || [ ! -e "$build/plugins/userdb-ldap.so" ]; then
	echo "# userdb-ldap benchmark skipped: no slapd or no userdb-ldap.so"
	exit 0
fi
python3 "$(dirname "$0")/ldap_sync.py" "$build"
python3 "$(dirname "$0")/ldap_limit.py" "$build"
