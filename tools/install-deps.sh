#!/bin/sh
# tools/install-deps.sh - installs what building and testing ucsd needs on
# Debian 12, and nothing when it is all there already (so `make check` on a
# prepared machine does not touch apt). Run as root, or with sudo available.
#
#   tools/install-deps.sh          build + test dependencies
#   tools/install-deps.sh fuzz     also clang and libFuzzer for `make fuzz`
#   tools/install-deps.sh bench    also libphonenumber (C++) for `make bench`
set -eu

# build: compiler, meson, the chosen libraries
pkgs="gcc g++ make meson ninja-build pkg-config libc6-dev
      libuv1-dev libjansson-dev libmbedtls-dev
      libxml2-dev libpcre2-dev
      libldap-dev libargon2-dev libgd-dev libhttp-parser-dev
      libsqlite3-dev libxslt1-dev"
# tests: python3 runs the integration harness, openssl makes certificates
# and is an independent TLS peer
pkgs="$pkgs python3 openssl ca-certificates"
# the dialplan oracle test: libphonenumber for Debian's python3
pkgs="$pkgs python3-phonenumbers"
# the user store and directory login are tested against a real slapd
pkgs="$pkgs slapd ldap-utils"
# the WebSocket protocols are tested with two independent clients:
# python3-websockets (Debian's interpreter) and node's `ws` (npm registry)
pkgs="$pkgs python3-websockets"
# mail is tested against a real SMTP server (aiosmtpd, with STARTTLS and
# AUTH); the journal's database is inspected with the sqlite3 shell
pkgs="$pkgs python3-aiosmtpd sqlite3"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
if [ "${1:-}" = fuzz ]; then
	pkgs="$pkgs clang libclang-rt-14-dev"
fi
if [ "${1:-}" = bench ]; then
	# tests/bench/bench_libphonenumber.cc: the dialplan's peer in the same run
	pkgs="$pkgs libphonenumber-dev"
fi

# node_modules of the node test client, pinned by its package-lock.json
node_deps() {
	here=$(dirname "$0")/../tests/integration/node
	[ -d "$here/node_modules/ws" ] && return 0
	echo "installing the node test client's packages (npm ci)"
	npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
}

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	node_deps
	exit 0
fi

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
node_deps
