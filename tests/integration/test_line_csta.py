"""tests/integration/test_line_csta.py - the CSTA line driver inside ucsd.

tools/pbxsim plays the PBX (its control port drives calls and faults);
ucsd runs the real line manager (lines), the real driver (line-csta) and
the dialplan, and svcprobe shows what consumers see: "line.status" and
"call.state" on the bus, the ucs.lines service, "call.control" requests,
and the plugins' status counters. Every case starts its own pbxsim and
ucsd and stops both, also when it fails. test_csta_faults.py imports the
helpers (Pbx, start, run, event, all_open).
"""
import datetime
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from harness import BUILD, SOURCE, Failure, Probe, Ucsd, check, main

PBXSIM = os.path.join(BUILD, "tools", "pbxsim", "pbxsim")
DIALPLAN = {"config_dir": os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures"),
            "data_dir": os.path.join(SOURCE, "config", "default"),
            "default_location": "Starnberg"}


class Pbx:
    """pbxsim on ephemeral ports, with a line-oriented control connection."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [PBXSIM, "--port", "0", "--control", "0", "--extensions", "100-105"] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"pbxsim ready csta=(\d+) control=(\d+)", line)
        if not m:
            self.close()
            raise Failure(f"pbxsim did not start: {line!r}")
        self.port, self.control = int(m.group(1)), int(m.group(2))
        self.sock = socket.create_connection(("127.0.0.1", self.control), timeout=10)
        self.f = self.sock.makefile("rw")

    def cmd(self, line):
        self.f.write(line + "\n")
        self.f.flush()
        got = self.f.readline().strip()
        if not got.startswith("ok"):
            raise Failure(f"pbxsim {line!r}: {got!r}")
        return got[3:]

    def wait_monitors(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.cmd("monitors") == str(n):
                return
            time.sleep(0.05)
        raise Failure(f"pbxsim has {self.cmd('monitors')} monitors, not {n}")

    def close(self):
        try:
            self.sock.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(pbx, link=None, lines=None, extra=None, **settings):
    cfg = {"name": "pbx1", "host": "127.0.0.1", "port": pbx.port, "devices": ["100-105"],
           "keepalive_s": 5}
    cfg.update(link or {})
    section = {"links": [cfg], "request_timeout_ms": 2000, "reconnect_min_ms": 300,
               "reconnect_max_ms": 2000}
    section.update(settings)
    config = {"dialplan": DIALPLAN, "line-csta": section}
    if lines is not None:
        config["lines"] = lines
    config.update(extra or {})
    u = Ucsd(plugins=["svcprobe"] + (["testdriver"] if "testdriver" in config else []),
             tree_plugins=["dialplan", "lines", "line-csta"], config=config)
    u.start()
    p = Probe(u)
    p.ok("sub line.status")
    p.ok("sub call.state")
    return u, p


def event(p, typ, line, pattern=".", timeout=10):
    """The JSON of the next `typ` event for `line` whose text matches."""
    ev = p.wait_event(rf"^event {re.escape(typ)} line:{re.escape(line)} .*{pattern}",
                      timeout=timeout)
    return json.loads(ev.split(" ", 3)[3])


def run(body, *pbx_args, link=None, lines=None, extra=None, **settings):
    pbx = Pbx(*pbx_args)
    u = p = None
    try:
        u, p = start(pbx, link, lines, extra, **settings)
        body(pbx, u, p)
        check(u.alive(), "ucsd still runs")
        code, _ = u.stop()
        check(code == 0, f"clean exit (got {code})")
    finally:
        if p:
            p.close()
        if u:
            u.close()
        pbx.close()


def all_open(u, after=0):
    return u.wait_for(r"\[line-csta\] link pbx1: 6 of 6 devices monitored$", after=after)


def call_control(p, **q):
    return json.loads(p.ok("ln.call " + json.dumps(q), timeout=15))


# ---- cases ----

def open_():
    def body(pbx, u, p):
        all_open(u)
        for n in range(100, 106):
            info = json.loads(p.ok(f"ln.line pbx1/{n}"))
            check(info["status_name"] == "open", f"pbx1/{n} open: {info}")
            check(info["internal"] == str(n), f"internal number of pbx1/{n}: {info}")
            check(info["group"] == "pbx1", "group named after the link")
        check(pbx.cmd("monitors") == "6", "six monitors at the PBX")
        u.index(r"info \[line-csta\] link pbx1: connecting to 127\.0\.0\.1:\d+$")
        u.index(r"info \[line-csta\] link pbx1: connected to 127\.0\.0\.1:\d+, "
                r"monitoring 6 devices$")
        plugins = p.ok("srv.plugins")
        check('"connected":true' in plugins and '"monitors":6' in plugins,
              f"status counters: {plugins[:2000]}")
    run(body)


def two_drivers():
    """A second driver (a vendor's, here the test driver) runs next to
    line-csta: both register with the line manager and serve their own
    groups and lines."""
    td = {"testdriver": {"groups": [{"name": "vendor", "caps": ["*"]}],
                         "lines": [{"id": "vendor/300", "group": "vendor", "device": "300"}]}}

    def body(pbx, u, p):
        all_open(u)
        u.wait_for(r"info \[lines\] driver line-csta registered$")
        u.wait_for(r"info \[lines\] driver \S+ registered$")
        check(len(re.findall(r"\[lines\] driver \S+ registered", u.log())) == 2,
              "both drivers registered")
        info = json.loads(p.ok("ln.line vendor/300"))
        check(info["group"] == "vendor", f"the other driver's line: {info}")
        check(not re.search(r"refused|more than one|already provided", u.log()),
              "the loader refused nothing")
    run(body, extra=td)


def incoming():
    def body(pbx, u, p):
        all_open(u)
        pbx.cmd("call +4989123456 101")
        ev = event(p, "call.state", "pbx1/101", '"event_name":"delivered"')
        check(ev["state_name"] == "alerting", f"ringing: {ev}")
        check(ev["remote"] == "+4989123456", f"caller's number as the PBX gave it: {ev}")
        check(ev["direction"] == 1, "incoming")
        pbx.cmd("answer 101")
        ev2 = event(p, "call.state", "pbx1/101", '"event_name":"established"')
        check(ev2["call"] == ev["call"] and ev2["state_name"] == "connected", f"{ev2}")
        pbx.cmd("hangup +4989123456")
        ev3 = event(p, "call.state", "pbx1/101", '"state_name":"null"')
        check(ev3["call"] == ev["call"], "the same call ends")
        check(json.loads(p.ok("ln.calls pbx1/101")) == [], "no call left")
    run(body)


def requests():
    def body(pbx, u, p):
        all_open(u)
        # make call 100 -> 102, answered by request at 102
        r = call_control(p, op="make", line="pbx1/100", number="102")
        check(r["status"] == 0 and r["call"], f"make call: {r}")
        ev = event(p, "call.state", "pbx1/102", '"event_name":"delivered"')
        r = call_control(p, op="answer", line="pbx1/102", call=ev["call"])
        check(r["status"] == 0, f"answer: {r}")
        event(p, "call.state", "pbx1/100", '"event_name":"established"')
        check(re.search(r"calls=\S+:connected", pbx.cmd("state 102")), "connected at the PBX")
        # hold and retrieve
        r = call_control(p, op="hold", line="pbx1/100", call=ev["call"])
        check(r["status"] == 0, f"hold: {r}")
        event(p, "call.state", "pbx1/100", '"state_name":"held"')
        r = call_control(p, op="retrieve", line="pbx1/100", call=ev["call"])
        check(r["status"] == 0, f"retrieve: {r}")
        event(p, "call.state", "pbx1/100", '"event_name":"retrieved"')
        # consult 103 and transfer: 102 and 103 talk, 100 is out
        r = call_control(p, op="consult", line="pbx1/100", call=ev["call"], number="103")
        check(r["status"] == 0 and r["call"], f"consult: {r}")
        consult = r["call"]
        e103 = event(p, "call.state", "pbx1/103", '"event_name":"delivered"')
        check(call_control(p, op="answer", line="pbx1/103", call=e103["call"])["status"] == 0,
              "103 answers")
        event(p, "call.state", "pbx1/100", '"event_name":"established"')
        r = call_control(p, op="transfer", line="pbx1/100", call=ev["call"], other_call=consult)
        check(r["status"] == 0, f"transfer: {r}")
        event(p, "call.state", "pbx1/103", '"event_name":"transferred"')
        check(json.loads(p.ok("ln.calls pbx1/100")) == [], "100 left both calls")
        check(re.search(r"calls=\S+:connected", pbx.cmd("state 103")), "103 talks")
        # a refusal of the PBX comes back with its words
        r = call_control(p, op="hold", line="pbx1/104", call="no-such-call")
        check(r["status"] != 0, f"hold of an unknown call refused: {r}")
        # forwarding and DND, set here, visible at the PBX and back on the line
        r = call_control(p, op="forward_set", line="pbx1/105", mode="immediate",
                         number="103")
        check(r["status"] == 0, f"forwarding: {r}")
        st = pbx.cmd("state 105")
        check("fwd_immediate=103" in st, f"forwarding at the PBX: {st}")
        ev = event(p, "line.status", "pbx1/105", '"fwd":\\[1,')
        check(ev["fwd_to"][0], f"forwarding target shown: {ev}")
        r = call_control(p, op="dnd_set", line="pbx1/104", on=1)
        check(r["status"] == 0, f"dnd: {r}")
        check("dnd=on" in pbx.cmd("state 104"), "DND at the PBX")
        event(p, "line.status", "pbx1/104", '"dnd":1')
    run(body)


def monitor_limit():
    def body(pbx, u, p):
        u.wait_for(r"\[line-csta\] link pbx1: 3 of 6 devices monitored$")
        failed = []
        for n in range(100, 106):
            info = json.loads(p.ok(f"ln.line pbx1/{n}"))
            if info["status_name"] == "failed":
                failed.append(n)
                check(info["reason"] == "overallMonitorLimitExceeded", f"reason: {info}")
        check(len(failed) == 3, f"three lines failed: {failed}")
        u.index(r"warning \[line-csta\] line pbx1/\d+: MonitorStart refused "
                r"\(overallMonitorLimitExceeded\)$")
    run(body, "--monitor-limit", "3")


def login_retry():
    """A refused login: the lines are FAILED "login error", and the line
    manager's retries (every second here) leave them so - they do not turn
    into NOT_AVAILABLE "communication error" while the link is down."""
    def body(pbx, u, p):
        u.wait_for(r"error \[line-csta\] link pbx1: StartApplicationSession failed")
        # (polled: the first refusal may come before the probe subscribed)
        deadline = time.monotonic() + 10
        for n in range(100, 106):
            while json.loads(p.ok(f"ln.line pbx1/{n}"))["status_name"] != "failed":
                check(time.monotonic() < deadline, f"pbx1/{n} failed after the login")
                time.sleep(0.05)
        mark = len(u.lines)
        p.events()
        # two rounds of retries of every line, with logins failing meanwhile
        for _ in range(2):
            for n in range(100, 106):
                u.wait_for(rf"\[lines\] opening line pbx1/{n}$", after=mark)
            mark = len(u.lines)
        u.wait_for(r"\[line-csta\] link pbx1: StartApplicationSession failed", after=mark)
        changed = [e for e in p.events() if e.startswith("event line.status") and
                   '"status_name":"failed"' not in e]
        check(not changed, f"the lines stay failed: {changed[:3]}")
        for n in range(100, 106):
            info = json.loads(p.ok(f"ln.line pbx1/{n}"))
            check(info["status_name"] == "failed" and info["reason"] == "login error",
                  f"pbx1/{n} after the retries: {info}")
        check(pbx.cmd("monitors") == "0", "no monitors without a session")
    run(body, "--require-session", "--user", "cti", "--password", "right",
        link={"user": "cti", "password": "wrong"},
        lines={"error_handling": {"retry_s": 1}})


def drop_resync():
    def body(pbx, u, p):
        all_open(u)
        # A continues across the outage, B ends during it
        pbx.cmd("call 100 101")
        a = event(p, "call.state", "pbx1/101", '"event_name":"delivered"')
        pbx.cmd("answer 101")
        event(p, "call.state", "pbx1/101", '"event_name":"established"')
        pbx.cmd("call 102 103")
        b = event(p, "call.state", "pbx1/103", '"event_name":"delivered"')
        pbx.cmd("answer 103")
        event(p, "call.state", "pbx1/103", '"event_name":"established"')
        mark = len(u.lines)
        pbx.cmd("fault drop")
        for n in range(100, 106):
            event(p, "line.status", f"pbx1/{n}", '"status_name":"not_available"')
        pbx.cmd("hangup 102")
        # forwarding changed during the outage: read back after the reopen
        pbx.cmd("forward 104 immediate 105")
        u.wait_for(r"\[line-csta\] link pbx1: connection lost \(closed by the PBX\); "
                   r"6 lines not available, reconnecting in \d+ ms$", after=mark)
        all_open(u, after=mark)
        # B ended by the resync, A kept with its call id
        eb = event(p, "call.state", "pbx1/103", '"state_name":"null"')
        check(eb["call"] == b["call"], f"B ended by the snapshot: {eb}")
        calls = json.loads(p.ok("ln.calls pbx1/101"))
        check(len(calls) == 1 and calls[0]["call"] == a["call"], f"A kept: {calls}")
        for n in range(100, 106):
            check(json.loads(p.ok(f"ln.line pbx1/{n}"))["status_name"] == "open", "reopened")
        ev = event(p, "line.status", "pbx1/104", '"fwd":\\[1,')
        check(ev["fwd_to"][0], f"forwarding set during the outage shown: {ev}")
        p.events()
        pbx.cmd("hangup 100")
        ea = event(p, "call.state", "pbx1/101", '"state_name":"null"')
        check(ea["call"] == a["call"], "A ends")
        time.sleep(0.5)
        late = [e for e in p.events() if f'"call":"{a["call"]}"' in e and
                "line:pbx1/101" in e and '"state_name":"null"' in e]
        check(not late, f"A ends once on 101: {late}")
    run(body)


def garbage():
    def body(pbx, u, p):
        all_open(u)
        mark = len(u.lines)
        pbx.cmd("fault garbage")
        u.wait_for(r"warning \[line-csta\] link pbx1: malformed document dropped "
                   r"\(not well-formed XML, \d+ bytes", after=mark)
        time.sleep(0.3)
        check(not any("connection lost" in l for l in u.lines[mark:]), "the link stays")
        pbx.cmd("call +4989123456 102")
        event(p, "call.state", "pbx1/102", '"event_name":"delivered"')
    run(body)


def oversize():
    def body(pbx, u, p):
        all_open(u)
        mark = len(u.lines)
        pbx.cmd("fault oversize")
        u.wait_for(r"warning \[line-csta\] link pbx1: frame error: a frame larger than "
                   r"max_frame_bytes; dropping the link$", after=mark)
        event(p, "line.status", "pbx1/100", '"status_name":"not_available"')
        all_open(u, after=mark)
        event(p, "line.status", "pbx1/100", '"status_name":"open"')
        pbx.cmd("call +4989123456 102")
        event(p, "call.state", "pbx1/102", '"event_name":"delivered"')
    run(body)


def stall():
    def body(pbx, u, p):
        all_open(u)
        mark = len(u.lines)
        pbx.cmd("fault stall 3000")
        u.wait_for(r"warning \[line-csta\] link pbx1: connection lost \(keep-alive not "
                   r"answered within 1000 ms\)", after=mark, timeout=10)
        event(p, "line.status", "pbx1/100", '"status_name":"not_available"')
        all_open(u, after=mark)
        pbx.cmd("call +4989123456 102")
        event(p, "call.state", "pbx1/102", '"event_name":"delivered"')
    run(body, link={"keepalive_s": 1}, request_timeout_ms=1000)


class TlsProxy:
    """A TLS front for pbxsim (which speaks plain TCP): certificates from the
    net tests' PKI script (a CA and a server certificate for 127.0.0.1)."""

    def __init__(self, target_port):
        self.dir = tempfile.mkdtemp(prefix="csta-tls-")
        subprocess.run(["sh", os.path.join(SOURCE, "tests", "unit", "net", "gen-certs.sh"),
                        self.dir], check=True)
        self.ca = os.path.join(self.dir, "ca.crt")
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(self.dir, "server.crt"),
                                 os.path.join(self.dir, "server.key"))
        self.target = target_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.handshakes = 0
        self.failures = 0
        self.open = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            tls = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            self.failures += 1
            raw.close()
            return
        self.handshakes += 1
        plain = socket.create_connection(("127.0.0.1", self.target))
        self.open += [tls, plain]

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass
        threading.Thread(target=pump, args=(plain, tls), daemon=True).start()
        pump(tls, plain)

    def close(self):
        self.sock.close()
        for s in self.open:
            try:
                s.close()
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


def tls():
    pbx = Pbx()
    proxy = TlsProxy(pbx.port)
    u = p = None
    try:
        # verified against the test CA: lines open, events flow
        u, p = start(pbx, {"port": proxy.port, "tls": True, "ca_file": proxy.ca})
        all_open(u)
        u.index(r"info \[line-csta\] link pbx1: connected to 127\.0\.0\.1:\d+ \(TLS\), "
                r"monitoring 6 devices$")
        check(proxy.handshakes == 1, "one TLS connection")
        pbx.cmd("call +4989123456 101")
        ev = event(p, "call.state", "pbx1/101", '"event_name":"delivered"')
        check(ev["remote"] == "+4989123456", f"event over TLS: {ev}")
        check(u.stop()[0] == 0, "clean exit")
        p.close()
        u.close()
        p = None
        # without the CA the PBX's certificate is refused: the lines stay unavailable
        u, p = start(pbx, {"port": proxy.port, "tls": True})
        u.wait_for(r"warning \[line-csta\] link pbx1: connect to 127\.0\.0\.1:\d+ failed "
                   r"\([^)]*\); retrying in \d+ ms$")
        info = json.loads(p.ok("ln.line pbx1/100"))
        check(info["status_name"] == "not_available", f"not available: {info}")
        check(proxy.handshakes == 1, "no TLS session without a trusted certificate")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if p:
            p.close()
        if u:
            u.close()
        proxy.close()
        pbx.close()


def monitor_delay():
    """monitor_delay_ms: the six MonitorStarts of a connect, and again of a
    reconnect, go at least 300 ms apart (the log's clock: five gaps)."""
    def stamp(u, i):
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) ", u.lines[i])
        check(m is not None, f"a time stamp in {u.lines[i]!r}")
        return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")

    def paced(u, after):
        up = u.wait_for(r"\[line-csta\] link pbx1: connected to ", after=after)
        done = u.wait_for(r"\[line-csta\] link pbx1: 6 of 6 devices monitored$", after=up)
        took = (stamp(u, done) - stamp(u, up)).total_seconds()
        check(took >= 1.5, f"six MonitorStarts 300 ms apart took {took:.3f} s")
        check(took < 6, f"six MonitorStarts 300 ms apart took {took:.3f} s")
        return done

    def body(pbx, u, p):
        done = paced(u, 0)
        pbx.cmd("fault drop")
        u.wait_for(r"\[line-csta\] link pbx1: connection lost", after=done)
        paced(u, done)
    run(body, link={"monitor_delay_ms": 300})


def no_local_info():
    """A PBX that leaves localConnectionInfo out: the driver works the states
    out from the devices; members of a parallel hunt group that still ring
    stay alerting when another member answers (not connected)."""
    def body(pbx, u, p):
        all_open(u)
        pbx.cmd("call +4989123456 200")
        event(p, "call.state", "pbx1/103", '"state_name":"alerting"')
        p.events(0.3)
        pbx.cmd("answer 102")
        seen, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline:
            seen += [json.loads(e.split(" ", 3)[3]) for e in p.events(0.5)
                     if e.startswith("event call.state ")]
            ends = {x: [e for e in seen if e["line"] == f"pbx1/{x}" and e["state"] == 0]
                    for x in (101, 103)}
            if all(ends.values()):
                break
        check(all(ends.values()), f"101 and 103 end: {seen}")
        ends = {x: v[-1] for x, v in ends.items()}
        for x, e in ends.items():
            check(e["ended_by_name"] == "cleared" and e["answered_line"] == "pbx1/102",
                  f"{x} ends answered elsewhere: {e}")
        bad = [(e["line"], e["event_name"], e["state_name"]) for e in seen
               if e["line"] in ("pbx1/101", "pbx1/103") and e["state_name"] == "connected"]
        check(not bad, f"a ringing member connected: {bad}")
        pbx.cmd("hangup 102")
    run(body, "--hunt-group", "200=parallel:101,102,103", "--no-local-connection-info")


if __name__ == "__main__":
    main({"open": open_, "two_drivers": two_drivers, "tls": tls, "incoming": incoming,
          "requests": requests, "monitor_limit": monitor_limit, "login_retry": login_retry,
          "drop_resync": drop_resync, "garbage": garbage, "oversize": oversize, "stall": stall,
          "monitor_delay": monitor_delay, "no_local_info": no_local_info})
