#!/usr/bin/env python3
"""tests/bench/bench_mail.py BUILD_ROOT - the mail plugin's share of the
missed-call mail path (issue 7), against the real SMTP server of the tests
(tests/integration/smtpd.py, aiosmtpd) run in its own process.

ucsd runs mail.so and the svcprobe test plugin; `mail.burst N` submits N
small messages (one text part) through ucs.mail submit() in one loop turn.

  mail_submit_durable    submits per second: each one rendered into a record
                         and stored before it returns (temp file, rename: safe
                         against a crash or kill of ucsd); the fsync against a
                         power loss runs on the plugin's sync thread in
                         batches (abi/ucs/mail.h: within UCS_MAIL_SYNC_MS)
  mail_sync_max          ms, the longest time from a submit to the end of its
                         fsync batch during that burst (status sync.max_ms)
  mail_sync_batches      fsync batches the burst took (status sync.batches)
  mail_delivered         messages delivered per second to the SMTP server,
                         from the end of the burst until status says all N
                         were delivered (read back, rendered, sent, unlinked;
                         `connections` sessions)
  mail_outbox_recovery   ms from ucsd's start of the outbox scan until all
                         RECOVER queued messages are in the queue again
                         (status recovery_ms), after a restart
  mail_startup_queued    ms from exec to ucsd's "started" line with RECOVER
                         queued messages (the scan must not delay startup)
  mail_delivered_recovered  delivered per second of the recovered messages

Knobs (environment): BENCH_MAIL_N (5000), BENCH_MAIL_RECOVER (10000),
BENCH_MAIL_CONNECTIONS (4).
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import Probe, Ucsd  # noqa: E402

N = int(os.environ.get("BENCH_MAIL_N", "5000"))
RECOVER = int(os.environ.get("BENCH_MAIL_RECOVER", "10000"))
CONNECTIONS = int(os.environ.get("BENCH_MAIL_CONNECTIONS", "4"))
SMTPD = os.path.join(HERE, "..", "integration", "smtpd.py")


def smtp_server():
    p = subprocess.Popen(["/usr/bin/python3", SMTPD], stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline().split()[1])
    return p, port


def stop_server(p):
    p.send_signal(signal.SIGTERM)
    out = p.communicate(timeout=30)[0]
    return int(out.split()[-1])


def status(probe):
    return json.loads(probe.ok("mail.status", timeout=60))


def wait_delivered(probe, n, timeout=600):
    deadline = time.monotonic() + timeout
    while True:
        st = status(probe)
        if st["delivered"] >= n:
            return time.monotonic(), st
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_mail: only {st['delivered']} of {n} delivered: {st}")
        time.sleep(0.02)


def ucsd(port):
    return Ucsd(plugins=["svcprobe"], tree_plugins=["mail"],
                config={"svcprobe": {"port": 0},
                        "mail": {"smtp": {"host": "127.0.0.1", "port": port, "tls": "none"},
                                 "from": "bench@example.com", "connections": CONNECTIONS,
                                 "retry": {"min_s": 1, "max_s": 1}}})


def main():
    server, port = smtp_server()
    u = ucsd(port)
    u2 = u3 = None
    try:
        u.start()
        p = Probe(u, timeout=120)
        got = p.ok(f"mail.burst {N}", timeout=600)
        t_end = time.monotonic()
        ms = int(got.split("ms=")[1])
        print(f"bench mail_submit_durable {N * 1000 / max(ms, 1):.0f} /s")
        deadline = time.monotonic() + 10
        while True:
            sy = status(p)["sync"]
            if sy["files"] >= N and sy["queued"] == 0:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"bench_mail: not synced: {sy}")
            time.sleep(0.01)
        print(f"bench mail_sync_max {sy['max_ms']} ms")
        print(f"bench mail_sync_batches {sy['batches']} batches")
        t_done, st = wait_delivered(p, N)
        print(f"bench mail_delivered {N / (t_done - t_end):.0f} /s")
        p.close()
        u.stop()
        received = stop_server(server)
        if received != N:
            raise SystemExit(f"bench_mail: the server received {received}, not {N}")

        # recovery: RECOVER messages queued while the server is down
        server = None
        u2 = ucsd(port)
        u2.state = u.state  # the same state directory
        u2.start()
        p = Probe(u2, timeout=120)
        got = p.cmd(f"mail.burst {RECOVER}", timeout=900)
        if not got.startswith("ok"):
            raise SystemExit(f"bench_mail: burst: {got}\n{u2.log()[-3000:]}")
        p.close()
        u2.stop()
        server, port2 = smtp_server()
        u3 = ucsd(port2)
        u3.state = u.state
        t0 = time.monotonic()
        u3.start()
        t_started = time.monotonic()
        p = Probe(u3, timeout=120)
        u3.wait_for(r"info \[mail\] outbox .* queued messages recovered", timeout=120)
        st = status(p)
        if st["recovered"] != RECOVER:
            raise SystemExit(f"bench_mail: recovered {st['recovered']} of {RECOVER}")
        print(f"bench mail_startup_queued {1000 * (t_started - t0):.0f} ms")
        print(f"bench mail_outbox_recovery {st['recovery_ms']} ms")
        t1 = time.monotonic()
        t_done, st = wait_delivered(p, RECOVER)
        print(f"bench mail_delivered_recovered {RECOVER / (t_done - t1):.0f} /s")
        p.close()
        u3.stop()
    finally:
        if server and server.poll() is None:
            server.kill()
        for x in (u3, u2, u):
            if x:
                x.close()


if __name__ == "__main__":
    main()
