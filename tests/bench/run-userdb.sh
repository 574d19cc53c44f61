#!/bin/sh
# tests/bench/run-userdb.sh BUILD_ROOT - the file-based user store (issue 4):
# loading 10,000 users and 200 groups from disk, building their snapshot
# (every number normalised through the dialplan), the rebuild after one
# change, lookups, one atomic write; how long a bulk change (a SIGHUP
# reload of 10,000 users, a userdb-ldap sync of 10,000 directory users)
# holds the loop thread, and a put that adds one member to a group of
# 20,000 (bench-userdb-loop); then the start of ucsd itself
# (dialplan + userdb-file) with that store and with an empty one.
# Prints "bench NAME VALUE UNIT" lines.
set -eu
build=${1:-build}
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/plugins/userdb-file/bench-userdb
if [ ! -x "$bin" ]; then
	echo "# bench-userdb not built (ninja -C $build benchmarks)"
	exit 0
fi
scratch=$(mktemp -d /tmp/bench-userdb-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
"$bin" "$scratch/store"
loop=$build/plugins/userdb-file/bench-userdb-loop
if [ -x "$loop" ]; then
	mkdir -p "$scratch/loop"
	"$loop" "$scratch/loop"
fi
[ -x "$build/plugins/userdb-file.so" ] || [ -f "$build/plugins/userdb-file.so" ] || exit 0
python3 - "$build" "$scratch/store" "$src" <<'PY'
import os, re, shutil, statistics, sys
build, store, src = sys.argv[1:4]
sys.argv = [sys.argv[0], build]
sys.path.insert(0, os.path.join(src, "tests", "integration"))
from harness import Ucsd

fixtures = os.path.join(src, "plugins", "dialplan", "tests", "fixtures")
config = {"dialplan": {"config_dir": fixtures, "data_dir": os.path.join(src, "config", "default"),
                       "default_location": "Starnberg"}}


def start_ms(with_store):
    """ucsd's own "started ... (N ms)" figure, median of 3 starts."""
    runs = []
    for _ in range(3):
        u = Ucsd(tree_plugins=["dialplan", "userdb-file"], config=config)
        try:
            if with_store:
                shutil.copytree(store, os.path.join(u.state, "userdb"))
            u.start(wait=False)
            i = u.wait_for(r"\[core\] ucsd \S+ started: \d+ plugins running \(([\d.]+) ms\)",
                           timeout=60)
            runs.append(float(re.search(r"\(([\d.]+) ms\)", u.lines[i]).group(1)))
            if with_store:
                u.index(r"loaded 10000 users, 200 groups")
            u.stop(timeout=30)
        finally:
            u.close()
    return statistics.median(runs)


empty, full = start_ms(False), start_ms(True)
print(f"bench ucsd_start_empty_userdb_ms {empty:.1f} ms")
print(f"bench ucsd_start_10k_userdb_ms {full:.1f} ms")
print(f"bench ucsd_start_10k_userdb_extra_ms {full - empty:.1f} ms")
PY
