#!/bin/sh
# tests/bench/run-cti.sh BUILD_ROOT - CTI under load (issue 6): the CSTA PBX
# simulator's load mode (tools/pbxsim --load) into the real ucsd (dialplan,
# userdb-file, auth, presence, lines, line-csta, client-api, and the
# bench-only loopstall plugin) with 5,000 monitored extensions on one CSTA
# link, and 1,000 client-api sessions (tests/bench/bench_cti.c) each
# subscribed to the lines of its user.
#
# The users: u0000 .. u0999, one argon2id hash of bench cost for all; user i
# has the lines pbx/(10000+i) (first_phone) and pbx/(11000+i), pbx/(12000+i),
# pbx/(13000+i), pbx/(14000+i) (other_lines), so every monitored extension
# has exactly one watching session and every call event of the PBX reaches
# a client. The dialplan location "Bench" (written into the scratch
# directory: DDI +49 89 1234-xxxxx, extensions 10000-14999) formats every
# number.
#
# Order: ucsd starts first (its CSTA link retries until the PBX listens),
# the sessions log in and subscribe, then pbxsim starts with --load; once
# every extension is monitored and synchronised (no more requests from ucsd)
# and the load has run for the warm-up, the measurement window opens
# (pbxsim `stats` read, the generator signalled) and closes
# BENCH_CTI_WINDOW_S later the same way.
#
# What is counted where. pbxsim sends one CSTA event document per monitor
# (an internal call's event goes to both extensions' monitors); line-csta
# reports it for that one line; lines publishes one call.state for it; and
# exactly one session watches each line (fan-out 1). pbxsim's own counter
# is what it QUEUED on the link, not what ucsd read: it is the offered
# load. What ucsd processed is the line manager's own counter of the call
# events line-csta handed it ("events" in the lines plugin's status, read
# through admin-api's status.get at both ends of the window). The sessions
# receive fewer call.event notifications than that by design: the manager
# publishes nothing for an event that changes nothing (the CallCleared after
# the line's own ConnectionCleared, a snapshot of an unchanged call).
#
# Figures ("bench NAME VALUE UNIT"):
#   cti_monitor_5000_s         pbxsim's start to 5,000 monitors (ucsd's link
#                              connects at its next retry, within 0.5 s)
#   cti_sync_5000_s            ... to the last request of the start (snapshot,
#                              forwarding, do-not-disturb of every device), under
#                              load: when pbxsim's received counter last grew
#                              (polled every 0.2 s; settled after 2 s unchanged)
#   cti_events_processed_s     call events line-csta decoded and the line
#                              manager took per second in the window (lines'
#                              status counter; "nan" without admin-api)
#   cti_pbx_events_offered_s   CSTA event documents pbxsim queued per second in
#                              the window (the offered load; "# " line: processed
#                              in % of offered: below 100 % means a backlog)
#   cti_pbx_call_attempts_s    calls pbxsim's load started per second
#   cti_client_call_events_s   call.event notifications the sessions received
#                              per second in the window: formatted and delivered
#                              (and its worst / best second)
#   cti_loop_worst_stall_ms    the longest time ucsd's loop was held, from the
#                              loopstall plugin's 5 ms timer, over the window;
#                              CAVEAT: a gap is not necessarily ucsd's doing.
#                              The "# " line beside it splits the worst gap:
#                              time the loop thread was on a CPU (ucsd's own
#                              work holding the loop), time it was runnable but
#                              waited for a CPU (scheduling delay: the cores are
#                              shared with pbxsim, the generator and anything
#                              else on the machine), and its involuntary
#                              switches; the rest it slept (in epoll, or
#                              blocked in a system call)
#   cti_ucsd_cpu_pct           ucsd's CPU (all threads) over the window, in % of
#                              one core (pbxsim's and the generator's as "# " lines)
#   cti_ucsd_rss_kb / cti_ucsd_rss_peak_kb   VmRSS at the window's end, VmHWM
#
# The run fails (exit 1) when line-csta logged a lost link
# ("[line-csta] link pbx: connection lost") from the start of the load to
# the window's end, when pbxsim has fewer monitors than extensions at the
# end, or when a session was lost.
#
# Knobs (environment): BENCH_CTI_EXTENSIONS (5000), BENCH_CTI_SESSIONS (1000),
# BENCH_CTI_RATE (5000 calls/s), BENCH_CTI_HOLD_MS (200), BENCH_CTI_RING_MS
# (100), BENCH_CTI_INTERNAL_PCT (50), BENCH_CTI_WARMUP_S (5), BENCH_CTI_WINDOW_S
# (20), BENCH_CTI_KEEP (set: keep the scratch directory with the logs). Builds nothing (`ninja -C BUILD benchmarks` does); leaves no process or
# file behind, also when it fails. Exit status 1 when a part failed.
set -eu
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
gen=$build/tests/bench/bench-cti
stall=$build/tests/bench/loopstall.so
pbxsim=$build/tools/pbxsim/pbxsim
ucsd=$build/core/ucsd
passwd=$build/plugins/auth/ucs-passwd
plugins="dialplan userdb-file auth presence lines line-csta client-api"
# admin-api, when built, shows the line manager's counters (status.get)
if [ -e "$build/plugins/admin-api.so" ]; then
	plugins="$plugins admin-api"
fi
for f in "$gen" "$stall" "$pbxsim" "$ucsd" "$passwd"; do
	if [ ! -e "$f" ]; then
		echo "# run-cti: $f not built (ninja -C $build benchmarks)"
		exit 0
	fi
done
for p in $plugins; do
	if [ ! -e "$build/plugins/$p.so" ]; then
		echo "# run-cti: plugin $p not built"
		exit 0
	fi
done

n_ext=${BENCH_CTI_EXTENSIONS:-5000}
n=${BENCH_CTI_SESSIONS:-1000}
rate=${BENCH_CTI_RATE:-5000}
hold_ms=${BENCH_CTI_HOLD_MS:-200}
ring_ms=${BENCH_CTI_RING_MS:-100}
internal_pct=${BENCH_CTI_INTERNAL_PCT:-50}
warmup_s=${BENCH_CTI_WARMUP_S:-5}
window_s=${BENCH_CTI_WINDOW_S:-20}
password=bench-password
first_ext=10000
last_ext=$((first_ext + n_ext - 1))
per_user=$(((n_ext + n - 1) / n))

want=$((n + 1024))
ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

scratch=$(mktemp -d /tmp/bench-cti-XXXXXX)
pid=
gpid=
ppid_=
stop_pid() { # PID SECONDS: TERM, wait, KILL
	if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null || true
		i=0
		while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
	fi
}
cleanup() {
	stop_pid "$gpid" 10
	stop_pid "$ppid_" 10
	stop_pid "$pid" 30
	gpid=
	ppid_=
	pid=
	if [ -n "${BENCH_CTI_KEEP:-}" ]; then
		echo "# run-cti: kept $scratch"
	else
		rm -rf "$scratch"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# One command on pbxsim's control port; prints the reply line.
pbxctl() {
	python3 - "$cport" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while b"\n" not in buf:
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
print(buf.split(b"\n")[0].decode())
PY
}
# The line manager's and line-csta's counters through admin-api's status.get:
# "events=N documents_in=N" (empty without admin-api).
adminstat() {
	[ -n "$aport" ] || return 0
	python3 - "$aport" "$password" "$src/tests/integration" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[3])
from wsclient import RawClient
c = RawClient(int(sys.argv[1]), timeout=10)
c.handshake("/ws")
r = c.call("admin.login", {"login": "bench", "password": sys.argv[2]}, id=1)
assert "result" in r, r
r = c.call("status.get", {}, id=2)
plugins = {p["name"]: p.get("status") or {} for p in r["result"]["plugins"] or []}
docs = sum(l.get("documents_in", 0) for l in plugins.get("line-csta", {}).get("links", []))
print("events=%d documents_in=%d at=%.3f" % (plugins["lines"]["events"], docs, time.time()))
c.close()
PY
}
field() { # NAME "ok a=1 b=2": the value of NAME
	echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}
cpu_s() { # utime + stime of PID in clock ticks
	sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}
wait_line() { # FILE REGEX SECONDS PID-that-must-live WHAT
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		if ! kill -0 "$4" 2>/dev/null || [ $i -ge $(($3 * 10)) ]; then
			echo "# run-cti: $5 did not happen"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

mkdir -p "$scratch/plugins" "$scratch/etc" "$scratch/var" "$scratch/loc"
for p in $plugins; do
	cp "$build/plugins/$p.so" "$scratch/plugins/"
done
cp "$stall" "$scratch/plugins/"

hash=$(printf '%s\n' "$password" | "$passwd" hash --memory 64 --iterations 1 --parallelism 1)
python3 - "$scratch/var/userdb" "$n" "$hash" "$first_ext" "$n_ext" "$per_user" <<'PY'
import json, os, sys
store, n, phc, first, n_ext, per_user = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
    int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
os.makedirs(os.path.join(store, "users"), mode=0o700)
for i in range(n):
    uid = "u%04d" % i
    exts = [first + i + k * n for k in range(per_user) if i + k * n < n_ext]
    doc = {"id": uid, "login": uid, "password_hash": phc,
           "first_phone": "pbx/%d" % exts[0], "other_lines": ["pbx/%d" % e for e in exts[1:]]}
    with open(os.path.join(store, "users", uid + ".json"), "w") as f:
        json.dump(doc, f)
PY
cat >"$scratch/loc/locations.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<locations>
  <location name="Bench">
    <country>49</country>
    <areaCode>089</areaCode>
    <pbx enabled="true" lineType="ddi">
      <baseNumber>1234</baseNumber>
      <extensions from="$first_ext" to="$last_ext"/>
      <internalLength min="${#first_ext}" max="${#first_ext}"/>
      <access local="0" national="0" international="0" private="8" forward="0"/>
      <strip incoming="0" outgoing="0" forwarded="0" connectedIncoming="0"
             connectedOutgoing="0" ignoreConnectedId="false"/>
    </pbx>
  </location>
</locations>
EOF

csta_port=$(free_port)
port=$(free_port)
aport=
admin_cfg=
case " $plugins " in
*" admin-api "*)
	aport=$(free_port)
	admin_cfg="\"admin-api\": {\"interfaces\": [{\"bind\": \"127.0.0.1\", \"port\": $aport, \"tls\": \"plain\"}],
                \"accounts\": [{\"login\": \"bench\", \"password_hash\": \"$hash\"}], \"create_admin\": false},"
	;;
esac
cat >"$scratch/etc/ucsd.json" <<EOF
{
  "dialplan": {"config_dir": "$scratch/loc", "data_dir": "$src/config/default",
               "default_location": "Bench"},
  "auth": {"hash_memory_kib": 64, "hash_iterations": 1, "hash_parallelism": 1},
  "client-api": {"interfaces": [{"bind": "127.0.0.1", "port": $port, "tls": "plain"}],
                 "limits": {"max_sessions": $((n + 100)), "auth_timeout_ms": 600000}},
  "line-csta": {"links": [{"name": "pbx", "host": "127.0.0.1", "port": $csta_port,
                           "location": "Bench", "devices": ["$first_ext-$last_ext"]}],
                "reconnect_min_ms": 200, "reconnect_max_ms": 500},
  $admin_cfg
  "loopstall": {"tick_ms": 5, "report_s": 1}
}
EOF

prio=
if nice -n -20 true 2>/dev/null; then
	prio="nice -n -20"
fi
echo "# run-cti: $(uname -m) $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg) at the start, at ${prio:-the default priority}"
echo "# run-cti: $n_ext extensions, $n sessions ($per_user lines each), load $rate calls/s (ring $ring_ms ms, hold $hold_ms ms, $internal_pct% internal), warm-up $warmup_s s, window $window_s s"

$prio "$ucsd" -c "$scratch/etc/ucsd.json" --plugin-dir "$scratch/plugins" \
	--state-dir "$scratch/var" >"$scratch/ucsd.out" 2>"$scratch/ucsd.log" &
pid=$!
if ! wait_line "$scratch/ucsd.log" '\[core\] ucsd .* started: ' 120 "$pid" "ucsd's start"; then
	tail -n 30 "$scratch/ucsd.log" | sed 's/^/#   /'
	exit 1
fi

# the sessions: log in, subscribe, then wait for events
$prio "$gen" --port "$port" --sessions "$n" --window 100 --password "$password" \
	--prefix u --digits 4 --timeout 600 >"$scratch/gen.out" &
gpid=$!
if ! wait_line "$scratch/gen.out" '^ready$' 600 "$gpid" "the sessions' setup"; then
	sed 's/^/#   /' "$scratch/gen.out"
	exit 1
fi
grep '^# ' "$scratch/gen.out" || true

# the PBX with its load; ucsd's link connects at its next retry
ll=$(wc -l <"$scratch/ucsd.log")
t0=$(date +%s.%N)
$prio "$pbxsim" --port "$csta_port" --control 0 --extensions "$first_ext-$last_ext" \
	--load "$rate" --load-duration-s 3600 --load-hold-ms "$hold_ms" \
	--load-ring-ms "$ring_ms" --load-internal-pct "$internal_pct" \
	>"$scratch/pbx.out" 2>"$scratch/pbx.log" &
ppid_=$!
if ! wait_line "$scratch/pbx.out" '^pbxsim ready ' 10 "$ppid_" "pbxsim's start"; then
	tail -n 20 "$scratch/pbx.log" | sed 's/^/#   /'
	exit 1
fi
cport=$(sed -n 's/^pbxsim ready csta=[0-9]* control=\([0-9]*\)$/\1/p' "$scratch/pbx.out")
i=0
while [ "$(pbxctl monitors)" != "ok $n_ext" ]; do
	if [ $i -ge 1200 ]; then
		echo "# run-cti: only $(pbxctl monitors) monitors after 120 s"
		exit 1
	fi
	sleep 0.1
	i=$((i + 1))
done
t1=$(date +%s.%N)
echo "bench cti_monitor_${n_ext}_s $(echo "$t1 - $t0" | bc -l | awk '{printf "%.2f", $1}') s"
# After the monitors, line-csta asks for each device's calls, forwarding and
# do-not-disturb: the start is over when nothing more arrives at the PBX for
# two seconds (the load itself sends no requests); its end is the time the
# received counter was last seen to grow.
last=-1
same=0
i=0
t2=$t1
while [ $same -lt 10 ]; do
	got=$(field received "$(pbxctl stats)")
	now=$(date +%s.%N)
	if [ "$got" = "$last" ]; then
		same=$((same + 1))
	else
		same=0
		t2=$now
	fi
	last=$got
	if [ $i -ge 600 ]; then
		echo "# run-cti: the requests of the start did not settle within 120 s"
		exit 1
	fi
	sleep 0.2
	i=$((i + 1))
done
echo "bench cti_sync_${n_ext}_s $(echo "$t2 - $t0" | bc -l | awk '{printf "%.2f", $1}') s"
echo "# run-cti: $last CSTA requests from ucsd by then"

sleep "$warmup_s"
s0=$(pbxctl stats)
ts0=$(date +%s.%N)
a0=$(adminstat)
c0=$(cpu_s "$pid")
p0=$(cpu_s "$ppid_")
g0=$(cpu_s "$gpid")
l0=$(wc -l <"$scratch/ucsd.log")
w0=$(date +%s.%N)
kill -USR1 "$gpid"
sleep "$window_s"
s1=$(pbxctl stats)
ts1=$(date +%s.%N)
a1=$(adminstat)
c1=$(cpu_s "$pid")
p1=$(cpu_s "$ppid_")
g1=$(cpu_s "$gpid")
w1=$(date +%s.%N)
kill -USR2 "$gpid"
l1=$(wc -l <"$scratch/ucsd.log")
mons=$(pbxctl monitors)
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
echo "# run-cti: pbxsim stats at the window's start: $s0"
echo "# run-cti: pbxsim stats at the window's end:   $s1"
secs=$(echo "$w1 - $w0" | bc -l)
ev=$(($(field events "$s1") - $(field events "$s0")))
calls=$(($(field calls "$s1") - $(field calls "$s0")))
# each counter over the time between its own two readings
offered=$(echo "$ev / ($ts1 - $ts0)" | bc -l | awk '{printf "%.0f", $1}')
calls_s=$(echo "$calls / ($ts1 - $ts0)" | bc -l | awk '{printf "%.0f", $1}')
worst=$(sed -n "$((l0 + 1)),${l1}p" "$scratch/ucsd.log" |
	sed -n 's/.*\[loopstall\] period worst \([0-9.]*\) ms.*/\1/p' | sort -g | tail -n 1)
worst_line=$(sed -n "$((l0 + 1)),${l1}p" "$scratch/ucsd.log" |
	sed -n 's/.*\[loopstall\] period worst \([0-9.]*\) ms (\(.*\)),.*/\1 \2/p' |
	sort -g | tail -n 1 | cut -d' ' -f2-)
stalls=$(sed -n "$((l0 + 1)),${l1}p" "$scratch/ucsd.log" |
	sed -n 's/.*\[loopstall\] period worst \([0-9.]*\) ms.*/\1/p' | awk '{printf "%.0f ", $1}')
tck=$(getconf CLK_TCK)
ucpu=$(echo "($c1 - $c0) / $tck / $secs * 100" | bc -l | awk '{printf "%.0f", $1}')
pcpu=$(echo "($p1 - $p0) / $tck / $secs * 100" | bc -l | awk '{printf "%.0f", $1}')
gcpu=$(echo "($g1 - $g0) / $tck / $secs * 100" | bc -l | awk '{printf "%.0f", $1}')

status=0
kill -TERM "$gpid"
wait "$gpid" || status=1
gpid=
processed=
if [ -n "$a0" ] && [ -n "$a1" ]; then
	echo "# run-cti: ucsd's counters at the window's start: $a0"
	echo "# run-cti: ucsd's counters at the window's end:   $a1"
	processed=$(echo "($(field events "$a1") - $(field events "$a0")) / ($(field at "$a1") - $(field at "$a0"))" |
		bc -l | awk '{printf "%.0f", $1}')
fi
echo "# run-cti: fan-out: one session per line; pbxsim sends one event document per monitor"
echo "#   (an internal call's event goes to both monitors), line-csta hands each to the line"
echo "#   manager for its one line, the line's one session gets a call.event when it changed"
echo "bench cti_events_processed_s ${processed:-nan} events/s"
echo "bench cti_pbx_events_offered_s $offered events/s"
if [ -n "$processed" ] && [ "$offered" -gt 0 ]; then
	echo "# run-cti: processed $(echo "$processed * 100 / $offered" | bc -l | awk '{printf "%.1f", $1}') % of offered"
fi
echo "bench cti_pbx_call_attempts_s $calls_s calls/s"
echo "# run-cti: the loop's worst stall of each second in the window (ms): $stalls"
echo "bench cti_loop_worst_stall_ms ${worst:-nan} ms"
echo "# run-cti: the worst gap: ${worst_line:-?}"
echo "#   (caveat: only the on-CPU part is ucsd's work holding the loop; waiting for a CPU is"
echo "#   scheduling delay on shared cores; the rest the loop thread slept or was blocked)"
echo "bench cti_ucsd_cpu_pct $ucpu %"
echo "# run-cti: CPU over the window: pbxsim $pcpu %, the sessions' generator $gcpu % (of one core each; $(nproc) cores shared by all three)"
echo "bench cti_ucsd_rss_kb $rss kB"
echo "bench cti_ucsd_rss_peak_kb $hwm kB"
grep -v '^ready$' "$scratch/gen.out" | grep -v '^# bench-cti: .* sessions ready' || true
# a lost link or a lost monitor makes the figures meaningless
drops=$(sed -n "$((ll + 1)),${l1}p" "$scratch/ucsd.log" | grep -c '\[line-csta\] link [^ ]*: connection lost' || true)
if [ "$drops" -gt 0 ]; then
	echo "# run-cti: FAILED: line-csta lost its link $drops time(s) during the load:"
	sed -n "$((ll + 1)),${l1}p" "$scratch/ucsd.log" | grep '\[line-csta\] link [^ ]*: connection lost' |
		head -n 3 | sed 's/^/#   /'
	status=1
fi
if [ "$mons" != "ok $n_ext" ]; then
	echo "# run-cti: FAILED: pbxsim has $mons monitors at the window's end, not $n_ext"
	status=1
fi
# what went wrong inside ucsd, if anything
grep -E ' (warning|error) \[' "$scratch/ucsd.log" | sed 's/[0-9]\+/N/g' | sort | uniq -c |
	sort -rn | head -n 10 | sed 's/^/# ucsd: /' || true
stop_pid "$ppid_" 10
ppid_=
stop_pid "$pid" 30
pid=
grep '\[loopstall\] worst stall' "$scratch/ucsd.log" | sed 's/^/# ucsd: /' || true
exit $status
