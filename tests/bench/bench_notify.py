#!/usr/bin/env python3
"""tests/bench/bench_notify.py BUILD_ROOT - missed-call mails end to end
(issue 7): finished calls in, notification mails delivered to the real SMTP
server of the tests (tests/integration/smtpd.py, aiosmtpd, its own process).

ucsd runs dialplan, userdb-file, presence, notify, mail and svcprobe; the
journal is replaced by svcprobe's `notify.call` (a synthetic "journal.call"
of one missed call that rang one user, a new outside caller each time), so
the figure is notify's share - decide, build the document, render it with
the shipped template in the thread pool, submit to ucs.mail (durable
outbox) - plus the mail plugin's delivery.

  notify_e2e_decided     journal.call messages handled per second (svcprobe
                         publishes them as fast as its socket delivers)
  notify_e2e_submitted   notification mails per second accepted by ucs.mail
                         (durable in its outbox): from the first journal.call
                         until notify's status counts N mails
  notify_e2e_delivered   notification mails delivered per second to the SMTP
                         server: from the first journal.call until mail's
                         status says all N were delivered

Knobs (environment): BENCH_NOTIFY_N (2000), BENCH_NOTIFY_CONNECTIONS (4).
"""
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from harness import SOURCE, Probe, Ucsd  # noqa: E402

N = int(os.environ.get("BENCH_NOTIFY_N", "2000"))
CONNECTIONS = int(os.environ.get("BENCH_NOTIFY_CONNECTIONS", "4"))
SMTPD = os.path.join(HERE, "..", "integration", "smtpd.py")
FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")


def main():
    server = subprocess.Popen(["/usr/bin/python3", SMTPD], stdout=subprocess.PIPE, text=True)
    out = ""
    try:  # the SMTP server stops also when ucsd does not start
        port = int(server.stdout.readline().split()[1])
        u = Ucsd(plugins=["svcprobe"],
                 tree_plugins=["dialplan", "userdb-file", "presence", "notify", "mail"],
                 config={"log": {"level": "info"},
                         "dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                                      "default_location": "Starnberg"},
                         "mail": {"smtp": {"host": "127.0.0.1", "port": port, "tls": "none"},
                                  "from": "bench@example.com", "connections": CONNECTIONS},
                         "notify": {"vcard": True}})
        try:
            users = os.path.join(u.state, "userdb", "users")
            os.makedirs(users)
            with open(os.path.join(users, "alice.json"), "w") as f:
                json.dump({"id": "alice", "login": "alice", "first_name": "Alice",
                           "email": "alice@example.com", "services": ["missed_calls_mail"]}, f)
            u.start()
            p = Probe(u, timeout=120)
            now = int(time.time() * 1000)
            t0 = time.monotonic()
            # pipelined in chunks: the probe's round trips are not what is measured
            for start in range(0, N, 100):
                batch = []
                for i in range(start, min(N, start + 100)):
                    number = f"+4989{1000000 + i}"
                    batch.append("notify.call " + json.dumps({
                        "call": f"bench-{i}", "remote": number, "remote_display": number,
                        "remote_name": f"Caller {i}", "contact_found": 1,
                        "started_ms": now, "ended_ms": now + 15000,
                        "parts": [{"user": "alice", "line": "pbx/121", "rang": 1,
                                   "alerting_ms": now + 1000, "ended_ms": now + 15000}]}))
                p.sock.sendall(("\n".join(batch) + "\n").encode())
                for _ in batch:
                    got = p._line(time.monotonic() + 60)
                    if not got.startswith("ok"):
                        raise SystemExit(f"bench_notify: notify.call: {got}")
            t_sent = time.monotonic()
            print(f"bench notify_e2e_decided {N / (t_sent - t0):.0f} /s")
            deadline = time.monotonic() + 600
            while json.loads(p.ok("notify.status", timeout=60))["mails"] < N:
                if time.monotonic() > deadline:
                    raise SystemExit("bench_notify: notify did not submit every mail")
                time.sleep(0.01)
            t_sub = time.monotonic()
            print(f"bench notify_e2e_submitted {N / (t_sub - t0):.0f} /s")
            while True:
                st = json.loads(p.ok("mail.status", timeout=60))
                if os.environ.get("BENCH_NOTIFY_TRACE"):
                    print(f"# {time.monotonic() - t0:.2f}s notify {p.ok('notify.status')} "
                          f"mail {json.dumps(st)}", flush=True)
                if st["delivered"] >= N:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"bench_notify: only {st['delivered']} of {N} delivered")
                time.sleep(0.02)
            t_done = time.monotonic()
            nst = json.loads(p.ok("notify.status"))
            if nst["mails"] != N or nst["render_errors"]:
                raise SystemExit(f"bench_notify: notify status {nst}")
            print(f"bench notify_e2e_delivered {N / (t_done - t0):.0f} /s")
            p.close()
            u.stop()
        finally:
            u.close()
    finally:
        server.send_signal(signal.SIGTERM)
        out = server.communicate(timeout=30)[0]
    received = int(out.split()[-1])
    if received != N:
        raise SystemExit(f"bench_notify: the server received {received}, not {N}")


if __name__ == "__main__":
    main()
