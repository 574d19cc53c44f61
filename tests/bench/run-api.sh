#!/bin/sh
# tests/bench/run-api.sh BUILD_ROOT - the client protocol (issue 5): 20,000
# authenticated client-api sessions from our own load generator
# (bench-sessions) on loopback, once plain and once over TLS, against the
# real ucsd with dialplan, userdb-file, auth, presence, client-api and the
# bench-only evsource plugin. Figures: memory per idle session (ucsd's
# VmRSS before and after, split into the open WebSocket, the login and the
# watches), the login rate, and the latency of presence.event from the
# publication of a change (evsource calls presence set() with the monotonic
# time in the note) to its receipt by a watcher at 5,000 events/s.
#
# The users: N documents written straight into the store before the start,
# u00000 .. u(N-1), all with the same password and one PHC hash made by
# ucs-passwd at the benchmark's argon2id cost (hash_memory_kib,
# hash_iterations, hash_parallelism set to the same cost, so no login
# re-hashes); the global level is team, so a watcher sees notes. Session i
# logs in as user i and watches user i+1 (BENCH_API_WATCH users), so each
# change reaches BENCH_API_WATCH watchers. With N users and R changes/s each
# user changes every N/R s (4 s at 20,000 and 5,000/s): presence's
# coalescing window (100 ms) never holds a view back.
#
# Knobs (environment): BENCH_API_SESSIONS (20000), BENCH_API_RATE (5000),
# BENCH_API_EVENTS_S (20), BENCH_API_WATCH (1), BENCH_API_WINDOW (200),
# BENCH_API_IDLE_S (5), BENCH_API_HASH_MEMORY_KIB (64), BENCH_API_HASH_ITERATIONS (1),
# BENCH_API_MODES ("plain tls"), BENCH_API_CERT (rsa: RSA 2048; ec: ECDSA P-256).
# Builds nothing (`ninja -C BUILD benchmarks` does); prints "bench NAME VALUE
# UNIT" lines; leaves no process or file behind, also when it fails. Takes
# about four minutes on two cores, most of it the 20,000 TLS handshakes
# (mbedtls 2.28: about 4.6 ms of ucsd's CPU and 2.5 ms of the generator's
# each). Exit status 1 when a session failed or an event went missing.
set -eu
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
gen=$build/tests/bench/bench-sessions
evs=$build/tests/bench/evsource.so
ucsd=$build/core/ucsd
passwd=$build/plugins/auth/ucs-passwd
for f in "$gen" "$evs" "$ucsd" "$passwd" "$build/plugins/client-api.so" \
	"$build/plugins/auth.so" "$build/plugins/presence.so" "$build/plugins/userdb-file.so" \
	"$build/plugins/dialplan.so"; do
	if [ ! -e "$f" ]; then
		echo "# run-api: $f not built (ninja -C $build benchmarks; client-api, auth, presence, userdb-file, dialplan enabled)"
		exit 0
	fi
done

n=${BENCH_API_SESSIONS:-20000}
rate=${BENCH_API_RATE:-5000}
events_s=${BENCH_API_EVENTS_S:-20}
watch=${BENCH_API_WATCH:-1}
window=${BENCH_API_WINDOW:-200}
idle_s=${BENCH_API_IDLE_S:-5}
hash_m=${BENCH_API_HASH_MEMORY_KIB:-64}
hash_t=${BENCH_API_HASH_ITERATIONS:-1}
modes=${BENCH_API_MODES:-plain tls}
cert_kind=${BENCH_API_CERT:-rsa}
password=bench-password

# One descriptor per session on each side, and some for ucsd itself. Root
# with CAP_SYS_RESOURCE may raise the hard limit; anyone may raise the soft
# one up to it. Where the hard limit stays below N plus ucsd's own
# descriptors (a container without CAP_SYS_RESOURCE), the run takes as many
# sessions as fit and says so.
want=$((n + 1024))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want" ]; then
	ulimit -Hn 200000 2>/dev/null || true
fi
ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
limit=$(ulimit -n)
[ "$limit" = unlimited ] && limit=$want

scratch=$(mktemp -d /tmp/bench-api-XXXXXX)
pid=
gpid=
cleanup() {
	if [ -n "$gpid" ] && kill -0 "$gpid" 2>/dev/null; then
		kill -TERM "$gpid" 2>/dev/null || true
		wait "$gpid" 2>/dev/null || true
	fi
	gpid=
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	pid=
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# The store: N users with one hash (the same password for all; argon2id
# at the benchmark's cost), global level team.
hash=$(printf '%s\n' "$password" | "$passwd" hash --memory "$hash_m" --iterations "$hash_t" \
	--parallelism 1)
python3 - "$scratch/store" "$n" "$hash" <<'PY'
import json, os, sys
store, n, phc = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(os.path.join(store, "users"), mode=0o700)
for i in range(n):
    uid = "u%05d" % i
    with open(os.path.join(store, "users", uid + ".json"), "w") as f:
        json.dump({"id": uid, "login": uid, "first_name": "Bench", "last_name": str(i),
                   "password_hash": phc}, f)
with open(os.path.join(store, "settings.json"), "w") as f:
    json.dump({"rights": {"level": "team", "extra": []}}, f)
PY

# A throw-away certificate for the TLS run: ECDSA P-256 (BENCH_API_CERT=ec)
# or RSA 2048 (rsa).
case $cert_kind in
ec) keyopts="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1" ;;
rsa) keyopts="-newkey rsa:2048" ;;
*) echo "# run-api: BENCH_API_CERT is ec or rsa"; exit 1 ;;
esac
# shellcheck disable=SC2086 # keyopts is a list of options
openssl req -x509 $keyopts -nodes -keyout "$scratch/key.pem" -out "$scratch/cert.pem" \
	-days 2 -subj /CN=localhost 2>/dev/null

# The machine may be shared (builds, fuzzers): ucsd and the generator run
# at nice -20 when allowed (CAP_SYS_NICE), so that what is measured is
# their own work and not the scheduler's share for them.
prio=
if nice -n -20 true 2>/dev/null; then
	prio="nice -n -20"
fi

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "# run-api: $(uname -m) $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg) at the start, ucsd and the generator at ${prio:-the default priority}"
echo "# run-api: $n sessions, argon2id m=$hash_m KiB t=$hash_t p=1 (one hash for every user), $rate changes/s for $events_s s, $watch watcher(s) per user, $cert_kind certificate"
status=0
for mode in $modes; do
	dir=$scratch/$mode
	mkdir -p "$dir/plugins" "$dir/etc" "$dir/var"
	cp -a "$scratch/store" "$dir/var/userdb"
	for p in dialplan userdb-file auth presence client-api; do
		cp "$build/plugins/$p.so" "$dir/plugins/"
	done
	cp "$evs" "$dir/plugins/"
	port=$(free_port)
	case $mode in
	plain) iface="{\"bind\": \"127.0.0.1\", \"port\": $port, \"tls\": \"plain\"}"; tls= ;;
	tls) iface="{\"bind\": \"127.0.0.1\", \"port\": $port, \"tls\": \"tls-required\", \"cert\": \"$scratch/cert.pem\", \"key\": \"$scratch/key.pem\"}"; tls=--tls ;;
	*) echo "# run-api: unknown mode $mode"; exit 1 ;;
	esac
	cat >"$dir/etc/ucsd.json" <<EOF
{
  "dialplan": {"config_dir": "$src/plugins/dialplan/tests/fixtures",
               "data_dir": "$src/config/default", "default_location": "Starnberg"},
  "auth": {"hash_memory_kib": $hash_m, "hash_iterations": $hash_t, "hash_parallelism": 1,
           "max_concurrent_hashes": 2, "max_queued": $((window * 2 + 256))},
  "client-api": {"interfaces": [$iface],
                 "limits": {"max_sessions": $((n + 1000)), "auth_timeout_ms": 600000,
                            "handshake_timeout_ms": 600000}},
  "evsource": {"users": $n, "user_prefix": "u", "user_digits": 5,
               "control": "$dir/control", "result": "$dir/result"}
}
EOF
	$prio "$ucsd" -c "$dir/etc/ucsd.json" --plugin-dir "$dir/plugins" --state-dir "$dir/var" \
		>"$dir/ucsd.out" 2>"$dir/ucsd.log" &
	pid=$!
	i=0
	while ! grep -q '\[core\] ucsd .* started: ' "$dir/ucsd.log" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 1200 ]; then
			echo "# run-api: ucsd did not start ($mode):"
			tail -n 30 "$dir/ucsd.log" | sed 's/^/#   /'
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1 # let the start settle before the first RSS reading
	# ucsd's own descriptors (log, loop, pool, listener) and a margin
	sessions=$n
	fds=$(ls "/proc/$pid/fd" | wc -l)
	if [ $((n + fds + 32)) -gt "$limit" ]; then
		sessions=$((limit - fds - 32))
		echo "# run-api: the descriptor limit is $limit (ulimit -Hn $(ulimit -Hn); raising it needs CAP_SYS_RESOURCE) and ucsd holds $fds: $sessions sessions instead of $n"
	fi
	sources=127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5
	# in the background, so that a signal to this script is handled at once
	# (the shell runs traps only between commands; `wait` is interruptible)
	$prio "$gen" --port "$port" $tls --sessions "$sessions" --window "$window" \
		--watch "$watch" --password "$password" --source "$sources" --pid "$pid" \
		--idle "$idle_s" --rate "$rate" --events "$events_s" --control "$dir/control" \
		--result "$dir/result" --name "$mode" --timeout 1800 &
	gpid=$!
	grc=0
	wait "$gpid" || grc=$?
	gpid=
	if [ $grc -ne 0 ]; then
		status=1
		echo "# run-api: $mode run incomplete; ucsd's warnings and errors:"
		grep -E '^[^ ]* *(warning|error)' "$dir/ucsd.log" | grep -v 'audit: login accepted' |
			sort | uniq -c | sort -rn | head -n 15 | sed 's/^/#   /'
	fi
	grep -h '\[evsource\] published' "$dir/ucsd.log" | sed 's/^/# ucsd: /' || true
	kill -TERM "$pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "# run-api: ucsd did not stop within 60 s ($mode)"
		status=1
	fi
	wait "$pid" 2>/dev/null || true
	pid=
	rm -rf "$dir"
done
exit $status
