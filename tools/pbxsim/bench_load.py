#!/usr/bin/python3
"""tools/pbxsim/bench_load.py - how many call attempts per second pbxsim's
load mode sustains while a CSTA client monitors every extension and reads
every event.

    bench_load.py PBXSIM [RATE] [EXTENSIONS] [SECONDS]

Starts PBXSIM --load RATE over extensions 10000..10000+EXTENSIONS-1,
monitors them all (pipelined MonitorStart), reads frames for SECONDS (only
the 8-byte headers are decoded) and prints
    bench pbxsim_call_attempts_per_s VALUE calls/s
    bench pbxsim_events_per_s VALUE events/s
from pbxsim's own "stats" counters over the measured interval.
"""
import socket
import struct
import subprocess
import sys
import time

NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"


def main():
    exe = sys.argv[1]
    rate = sys.argv[2] if len(sys.argv) > 2 else "5000"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    secs = float(sys.argv[4]) if len(sys.argv) > 4 else 10
    first, last = 10000, 10000 + n - 1
    proc = subprocess.Popen([exe, "--port", "0", "--control", "0", "--extensions",
                             f"{first}-{last}", "--load", rate, "--load-ring-ms", "200",
                             "--load-hold-ms", "300", "--load-internal-pct", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().split()
        ports = dict(p.split("=") for p in line[2:])
        s = socket.create_connection(("127.0.0.1", int(ports["csta"])))
        ctl = socket.create_connection(("127.0.0.1", int(ports["control"]))).makefile("rw")
        reqs = []
        for i, dev in enumerate(range(first, last + 1)):
            x = (f'<MonitorStart xmlns="{NS}"><monitorObject><deviceObject>{dev}'
                 '</deviceObject></monitorObject></MonitorStart>').encode()
            reqs.append(struct.pack(">I", len(x) + 8) + f"{i % 9998 + 1:04d}".encode() + x)
        s.sendall(b"".join(reqs))

        def stats():
            ctl.write("stats\n")
            ctl.flush()
            return {k: int(v) for k, v in (kv.split("=") for kv in ctl.readline().split()[1:])}

        buf = bytearray()
        frames = 0
        t_end = time.time() + 2  # warm-up: monitors answered, load running
        measuring = False
        s0 = None
        t0 = 0.0
        while True:
            now = time.time()
            if now >= t_end:
                if measuring:
                    break
                measuring = True
                s0, t0, frames = stats(), time.time(), 0
                t_end = t0 + secs
            d = s.recv(1 << 20)
            if not d:
                break
            buf += d
            off = 0
            while len(buf) - off >= 8:
                ln = struct.unpack_from(">I", buf, off)[0]
                if len(buf) - off < ln:
                    break
                off += ln
                frames += 1
            del buf[:off]
        s1, t1 = stats(), time.time()
        dt = t1 - t0
        print(f"bench pbxsim_call_attempts_per_s {(s1['calls'] - s0['calls']) / dt:.0f} calls/s")
        print(f"bench pbxsim_events_per_s {(s1['events'] - s0['events']) / dt:.0f} events/s")
        print(f"bench pbxsim_client_frames_per_s {frames / dt:.0f} frames/s")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
