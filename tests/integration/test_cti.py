"""tests/integration/test_cti.py - CTI end to end (issue 6): the CSTA PBX
simulator (tools/pbxsim) <-> the real ucsd (dialplan, userdb-file, auth,
presence, lines, line-csta, client-api) <-> WebSocket clients
(wsclient.RpcClient).

pbxsim is started on free ports (--port 0 --control 0) with extensions
120-129 and logs every CSTA document (-v); its control port acts at the PBX
side (a caller from outside, a phone answering, forwarding set at the
phone, fault injection) and shows the PBX's own view (`state EXT`). ucsd
gets one CSTA link "pbx" to it in location Starnberg of the dialplan test
fixtures (DDI 08151 36856-xxx, access code 0, the incoming rule that strips
a "*7" in front of reported numbers), so line pbx/121 is +49 8151 36856-121.

Users (argon2id hashes of test cost, written into the store before the
start), each bound to her line by first_phone:
  alice pbx/121; bob pbx/122 (alice grants him team level: he may pick up
  her calls); carl pbx/123 (global level public: no pickup on anyone);
  dave pbx/124.

Cases:
  incoming_call        an external call rings alice with the caller's
                       canonical and display number (location rules
                       applied); she answers, holds, retrieves, consults
                       bob, transfers to him; the PBX agrees at each step
  conference_and_clear alice calls out, consults bob, conferences, clears
                       the whole call from the client
  forwarding_dnd       forwarding and do-not-disturb set from the client are
                       on the PBX; set at the PBX they reach the client
  pickup               carl may not pick up alice's ringing call (refused
                       before it reaches the PBX), bob may: redirected to his
                       phone, which rings and he answers (the default)
  pickup_direct        the same with the group option always_pickup: a
                       directed pickup, connected at once
  reconnect_resync     `fault drop` with a known outage (reconnect after
                       1.5-2 s): both calls are held while the lines are
                       not_available; after the reopen the answered call
                       was never ended (no state null) and the call that
                       ended during the outage ends once, after its line's
                       'open'
  bad_input            `fault garbage`: the document is dropped and the
                       link stays; `fault oversize`: the frame error drops
                       the link, which comes back (not_available, open)
  call_info_hunt       (svcprobe reads call.state) hunt groups: parallel
                       ringing answered by 122 - 121 and 123 end `cleared`
                       naming pbx/122 -, nobody answering, sequential
                       distribution (`forwarded` to the next member)
  call_info_phone      at the phones: pickup (`picked_up`, the picker's
                       `pickup` flag), deflection (`deflected`), forwarding
                       on no answer (`forwarded`), a withheld caller (`hidden`)
  call_info_ucsd       a pickup through ucsd ends `picked_up` although the PBX
                       calls the redirection "redirected"; a user's deflection
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from harness import (BUILD, SOURCE, Failure, Probe, Ucsd, check, check_sanitizers, main, phc,
                     wait_rpc_event)
from wsclient import RpcClient

PBXSIM = os.path.join(BUILD, "tools", "pbxsim", "pbxsim")
UCS_DIALPLAN = os.path.join(BUILD, "tools", "ucs-dialplan", "ucs-dialplan")
FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
CHEAP = {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1,
         "delay_base_ms": 0}
EXTENSIONS = "120-129"
# how the PBX reports the outside caller: the network's "*7" cross-network
# identifier, the outside-line prefix 0, then the national number
CALLER = "*700891234567"
CALLER_CANONICAL = "+49891234567"
CALLER_DISPLAY = "+49 (89) 1234567"


def dialplan(kind, number):
    """What the dialplan tool (the dialplan plugin's own code) makes of a
    number in location Starnberg: (canonical, display, dial result)."""
    r = subprocess.run([UCS_DIALPLAN, "-c", FIXTURES, "--data-dir", DATA, "-l", "Starnberg",
                        "--json", kind, number], capture_output=True, text=True, timeout=20)
    check(r.returncode == 0, f"ucs-dialplan {kind} {number}: {r.stderr}")
    d = json.loads(r.stdout)
    return d["canonical"], d["display"], d["result"]


def line_number(ext):
    return dialplan("caller", str(ext))[0]


# ---- the PBX ----------------------------------------------------------------------------

class Pbx:
    """pbxsim on free ports; cmd()/ok() on its control port."""

    def __init__(self, extensions=EXTENSIONS, extra=()):
        check(os.path.exists(PBXSIM), f"{PBXSIM} is built")
        self.proc = subprocess.Popen([PBXSIM, "--port", "0", "--control", "0",
                                      "--extensions", extensions, "-v", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err = []
        self.err_reader = threading.Thread(target=self._drain_err, daemon=True)
        self.err_reader.start()
        ready = []
        t = threading.Thread(target=lambda: ready.append(self.proc.stdout.readline()),
                             daemon=True)
        t.start()
        t.join(10)
        m = re.fullmatch(r"pbxsim ready csta=(\d+) control=(\d+)\n", ready[0] if ready else "")
        if not m:
            self.close(check_exit=False)
            raise Failure(f"pbxsim did not get ready: {ready!r}\n{self.log()}")
        self.csta, self.control = int(m.group(1)), int(m.group(2))
        self.sock = None
        self.buf = b""
        try:
            self.sock = socket.create_connection(("127.0.0.1", self.control), timeout=10)
        except OSError as e:
            self.close(check_exit=False)
            raise Failure(f"pbxsim's control port {self.control}: {e}\n{self.log()}") from None

    def _drain_err(self):
        for line in self.proc.stderr:
            self.err.append(line.rstrip("\n"))

    def log(self, tail=80):
        return "\n".join(self.err[-tail:])

    def cmd(self, line):
        self.sock.sendall(line.encode() + b"\n")
        deadline = time.monotonic() + 10
        while b"\n" not in self.buf:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except (TimeoutError, socket.timeout):
                raise Failure(f"pbxsim: no answer to {line!r}") from None
            if not chunk:
                raise Failure(f"pbxsim: control closed after {line!r}\n{self.log()}")
            self.buf += chunk
        got, self.buf = self.buf.split(b"\n", 1)
        return got.decode()

    def ok(self, line):
        got = self.cmd(line)
        if not (got == "ok" or got.startswith("ok ")):
            raise Failure(f"pbxsim {line!r}: {got}")
        return got[3:]

    def state(self, ext):
        """`state EXT` as a dict; calls as {callid: state}."""
        words = self.ok(f"state {ext}").split()
        check(words and words[0] == str(ext), f"state {ext}: {words}")
        d = dict(w.split("=", 1) for w in words[1:])
        calls = d.get("calls", "")
        d["calls"] = dict(c.split(":", 1) for c in calls.split(",") if c and c != "-")
        return d

    def wait_state(self, ext, pred, what, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            st = self.state(ext)
            if pred(st):
                return st
            if time.monotonic() > deadline:
                raise Failure(f"pbxsim {ext}: {what}; state {st}\n{self.log()}")
            time.sleep(0.05)

    def close(self, check_exit=True):
        try:
            if getattr(self, "sock", None):
                self.sock.close()
        finally:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
                    rc = None
                if check_exit:
                    check(rc == 0, f"pbxsim exits 0 on SIGTERM ({rc})")
            self.err_reader.join(5)  # every line pbxsim wrote, for the sanitizer check
            if check_exit:
                check_sanitizers("\n".join(self.err), "pbxsim")


# ---- ucsd --------------------------------------------------------------------------------

def user(uid, ext, **fields):
    doc = {"id": uid, "login": uid, "first_phone": f"pbx/{ext}"}
    doc.update(fields)
    doc["password_hash"] = phc("pw-" + uid)
    return doc


USERS = [user("alice", 121, grants=[{"user": "bob", "level": "team"}]),
         user("bob", 122), user("carl", 123), user("dave", 124)]


class Cti:
    """pbxsim, and ucsd linked to it, with the users above."""

    def __init__(self, link=None, csta=None, pbx_extra=(), lines=None, probe=False):
        self.pbx = Pbx(extra=pbx_extra)
        self.clients = []
        self.u = None
        self.p = None
        self.probe = probe
        try:
            link_cfg = dict({"name": "pbx", "host": "127.0.0.1", "port": self.pbx.csta,
                             "location": "Starnberg", "devices": [EXTENSIONS],
                             "keepalive_s": 30}, **(link or {}))
            config = {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                                   "default_location": "Starnberg"},
                      "auth": CHEAP,
                      "client-api": {"interfaces": [{"bind": "127.0.0.1", "port": 0,
                                                     "tls": "plain"}]},
                      "line-csta": dict({"links": [link_cfg], "reconnect_min_ms": 200,
                                         "reconnect_max_ms": 1000}, **(csta or {}))}
            if lines:
                config["lines"] = lines
            self.u = Ucsd(plugins=["svcprobe"] if probe else [], config=config,
                          tree_plugins=["dialplan", "userdb-file", "auth", "presence", "lines",
                                        "line-csta", "client-api"])
            users = os.path.join(self.u.state, "userdb", "users")
            os.makedirs(users)
            for d in USERS:
                with open(os.path.join(users, d["id"] + ".json"), "w") as f:
                    json.dump(d, f)
        except BaseException:
            self.close()
            raise

    def start(self):
        self.u.start()
        i = self.u.wait_for(r"\[client-api\] client protocol on 127\.0\.0\.1 port \d+")
        self.port = int(re.search(r"port (\d+)", self.u.lines[i]).group(1))
        # every extension monitored at the PBX
        deadline = time.monotonic() + 10
        while self.pbx.ok("monitors") != "10":
            if time.monotonic() > deadline:
                raise Failure(f"pbxsim monitors: {self.pbx.ok('monitors')}\n"
                              f"{self.u.log()}\n{self.pbx.log()}")
            time.sleep(0.05)
        # and every user's line open as her client sees it (the monitor count
        # says nothing of the line manager's state)
        for d in USERS:
            c = RpcClient(f"ws://127.0.0.1:{self.port}/ws")
            try:
                c.call("auth.login", {"login": d["login"], "password": "pw-" + d["login"]})
                while True:
                    ls = c.call("lines.list")["lines"]
                    if [x["status"] for x in ls] == ["open"]:
                        break
                    if time.monotonic() > deadline:
                        raise Failure(f"{d['login']}'s line is not open: {ls}\n{self.u.log()}")
                    time.sleep(0.05)
            finally:
                c.close()
        if self.probe:
            self.p = Probe(self.u)
        return self

    def client(self, login):
        c = RpcClient(f"ws://127.0.0.1:{self.port}/ws")
        self.clients.append(c)
        c.call("auth.login", {"login": login, "password": "pw-" + login})
        return c

    def stop(self):
        for c in self.clients:
            c.close()
        self.clients = []
        if self.p:
            self.p.close()
            self.p = None
        rc, _ = self.u.stop()
        check(rc == 0, f"ucsd exits 0 ({rc})")
        self.pbx.close()

    def close(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.clients = []
        if self.p:
            self.p.close()
            self.p = None
        if self.u:
            self.u.close()
        self.pbx.close(check_exit=False)


def run(body, **kw):
    s = Cti(**kw)
    try:
        s.start()
        try:
            body(s)
        except Failure as e:
            raise Failure(f"{e}\n--- pbxsim (last lines) ---\n{s.pbx.log()}") from None
        s.stop()
    finally:
        s.close()


def err(c, method, params, reason):
    e = c.call_error(method, params)
    got = (e.get("data") or {}).get("reason")
    check(got == reason, f"{method} {params}: reason {got!r}, expected {reason!r}: {e}")
    return e


def call_ev(c, line, pred, what, timeout=5):
    return wait_rpc_event(c, "call.event", lambda e: e["line"] == line and pred(e), timeout, what)


def line_ev(c, line, pred, what, timeout=5):
    return wait_rpc_event(c, "line.event",
                          lambda e: e["line"]["id"] == line and pred(e["line"]), timeout,
                          what)["line"]


def seen(c, pred, what, timeout=5):
    """Waits until a kept notification satisfies pred; leaves it kept, so
    that the order of everything can be checked afterwards."""
    deadline = time.monotonic() + timeout
    with c.cond:
        while True:
            for n in c.notes:
                if pred(n):
                    return n
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"no {what} within {timeout}s; kept: "
                              f"{[n.get('params') for n in c.notes]}")
            c.cond.wait(left)


def is_line(n, line, status):
    p = n.get("params") or {}
    return (n["method"] == "line.event" and p["line"]["id"] == line and
            p["line"]["status"] == status)


def is_call(n, call, state):
    p = n.get("params") or {}
    return n["method"] == "call.event" and p["call"] == call and p["state"] == state


def ring_alice(s, a):
    """An outside caller rings alice; her call.event (alerting)."""
    s.pbx.ok(f"call {CALLER} 121")
    ev = call_ev(a, "pbx/121", lambda e: e["state"] == "alerting", "alerting at 121")
    return ev


# ---- cases -------------------------------------------------------------------------------

def incoming_call():
    def body(s):
        a, b = s.client("alice"), s.client("bob")
        ls = a.call("lines.list")["lines"]
        check([x["id"] for x in ls] == ["pbx/121"], f"alice's lines: {ls}")
        own = ls[0]
        check(own["status"] == "open" and own["internal"] == "121" and own["group"] == "pbx",
              f"{own}")
        check(own["number"]["canonical"] == line_number(121) == "+49815136856121", f"{own}")
        for cap in ("make_call", "answer", "hold", "retrieve", "consult", "transfer",
                    "conference", "pickup", "fwd_immediate", "dnd"):
            check(cap in own["caps"], f"{cap} in the caps of pbx/121: {own['caps']}")
        snap = a.call("lines.subscribe")
        check(snap["calls"] == [], f"no calls yet: {snap}")
        b.call("lines.subscribe")

        # an outside call rings: canonical and display number by the location's rules
        ev = ring_alice(s, a)
        check(ev["direction"] == "incoming" and ev["internal"] is False, f"{ev}")
        check(ev["remote"]["canonical"] == CALLER_CANONICAL and
              ev["remote"]["display"] == CALLER_DISPLAY, f"caller: {ev['remote']}")
        check(dialplan("caller", CALLER)[:2] == (CALLER_CANONICAL, CALLER_DISPLAY),
              "the dialplan agrees")
        call = ev["call"]
        pbx_call = next(iter(s.pbx.state(121)["calls"]))
        check(s.pbx.state(121)["calls"] == {pbx_call: "alerting"}, "ringing at the PBX")

        a.call("call.answer", {"call": call})
        call_ev(a, "pbx/121", lambda e: e["call"] == call and e["event"] == "established" and
                e["state"] == "connected", "established")
        s.pbx.wait_state(121, lambda st: st["calls"].get(pbx_call) == "connected",
                         "answered at the PBX")

        a.call("call.hold", {"call": call})
        call_ev(a, "pbx/121", lambda e: e["call"] == call and e["state"] == "held", "held")
        s.pbx.wait_state(121, lambda st: st["calls"].get(pbx_call) == "hold", "held at the PBX")
        a.call("call.retrieve", {"call": call})
        call_ev(a, "pbx/121", lambda e: e["call"] == call and e["event"] == "retrieved" and
                e["state"] == "connected", "retrieved")
        s.pbx.wait_state(121, lambda st: st["calls"] == {pbx_call: "connected"},
                         "retrieved at the PBX")

        # consult bob: the consultation call rings him with alice's number
        consult = a.call("call.consult", {"call": call, "number": "122"})["call"]
        check(consult != call, "a new call")
        call_ev(a, "pbx/121", lambda e: e["call"] == call and e["state"] == "held",
                "held by the consultation")
        ev = call_ev(b, "pbx/122", lambda e: e["state"] == "alerting", "consultation rings bob")
        check(ev["remote"]["canonical"] == line_number(121) and ev["internal"] is True and
              ev["direction"] == "incoming", f"bob sees alice: {ev}")
        b.call("call.answer", {"call": ev["call"]})
        call_ev(a, "pbx/121", lambda e: e["call"] == consult and e["event"] == "established",
                "bob answered the consultation")
        st = s.pbx.state(121)
        check(sorted(st["calls"].values()) == ["connected", "hold"], f"PBX: {st}")

        # transfer: bob now talks to the outside caller, alice has no call
        r = a.call("call.transfer", {"call": call, "with": consult})
        # docs/protocol/client.md: {} (only make, consult and pickup name a call)
        check(r == {}, f"transfer answers {{}}: {r}")
        ev = call_ev(b, "pbx/122", lambda e: e["event"] == "transferred", "transferred at bob")
        check(ev["state"] == "connected" and ev["remote"]["canonical"] == CALLER_CANONICAL,
              f"bob's party after the transfer: {ev}")
        call_ev(a, "pbx/121", lambda e: e["state"] == "null" and e["call"] in (call, consult),
                "alice's calls end")
        s.pbx.wait_state(121, lambda st: not st["calls"], "no call at 121")
        st = s.pbx.wait_state(122, lambda st: list(st["calls"].values()) == ["connected"],
                              "bob connected")
        snap = a.call("lines.subscribe", {"lines": ["pbx/121"]})
        check(snap["calls"] == [], f"alice has no calls left: {snap}")
        # the outside caller hangs up at the PBX: bob's call clears
        s.pbx.ok(f"hangup {CALLER}")
        call_ev(b, "pbx/122", lambda e: e["state"] == "null", "bob's call ends")
        s.pbx.wait_state(122, lambda st: not st["calls"], "no call at 122")
    run(body)


def conference_and_clear():
    def body(s):
        a, b = s.client("alice"), s.client("bob")
        a.call("lines.subscribe")
        b.call("lines.subscribe")
        # alice calls out: the PBX gets the dial string of the location
        call = a.call("call.make", {"number": "089 1234567"})["call"]
        dial = dialplan("dial", "089 1234567")[2]
        check(dial == "00891234567", f"dial string {dial}")
        ev = call_ev(a, "pbx/121", lambda e: e["call"] == call and e["event"] == "delivered",
                     "delivered")
        check(ev["direction"] == "outgoing" and ev["remote"]["canonical"] == CALLER_CANONICAL,
              f"{ev}")
        s.pbx.ok(f"answer {dial}")
        call_ev(a, "pbx/121", lambda e: e["call"] == call and e["event"] == "established",
                "the outside party answered")
        consult = a.call("call.consult", {"call": call, "number": "122"})["call"]
        ev = call_ev(b, "pbx/122", lambda e: e["state"] == "alerting", "bob rings")
        b.call("call.answer", {"call": ev["call"]})
        call_ev(a, "pbx/121", lambda e: e["call"] == consult and e["state"] == "connected",
                "consultation connected")
        r = a.call("call.conference", {"call": call, "with": consult})
        check(r == {}, f"conference answers {{}}: {r}")  # see the transfer
        # one call lives on (the manager may first end the one merged into it)
        ev = call_ev(a, "pbx/121", lambda e: e["event"] == "conferenced" and
                     e["state"] == "connected", "conferenced")
        conf = ev["call"]
        check(conf in (call, consult), f"the conference is one of the two calls: {ev}")
        ev = call_ev(b, "pbx/122", lambda e: e["event"] == "conferenced" and
                     e["state"] == "connected", "bob conferenced")
        bconf = ev["call"]
        snap = a.call("lines.subscribe", {"lines": ["pbx/121"]})
        check([(x["call"], x["state"]) for x in snap["calls"]] == [(conf, "connected")],
              f"alice has one call, the conference: {snap['calls']}")
        pbx = s.pbx.state(121)["calls"]
        check(list(pbx.values()) == ["connected"], f"one conference call at the PBX: {pbx}")
        check(list(s.pbx.state(122)["calls"].values()) == ["connected"], "bob in it")
        # alice clears the whole call: everybody's connection ends
        a.call("call.clear", {"call": conf, "all": True})
        call_ev(a, "pbx/121", lambda e: e["call"] == conf and e["state"] == "null",
                "alice's conference ends")
        call_ev(b, "pbx/122", lambda e: e["call"] == bconf and e["state"] == "null",
                "bob's conference ends")
        for ext in (121, 122):
            s.pbx.wait_state(ext, lambda st: not st["calls"], f"no call at {ext}")
        err(a, "call.hold", {"call": conf}, "not_found")
    run(body)


def forwarding_dnd():
    def body(s):
        a = s.client("alice")
        a.call("lines.subscribe")
        # from the client to the PBX: the target is dialled by the location's rules
        a.call("line.forward.set", {"line": "pbx/121", "mode": "immediate", "to": "089 1234567"})
        ln = line_ev(a, "pbx/121", lambda l: l["forwarding"]["immediate"]["on"], "fwd on")
        check(ln["forwarding"]["immediate"]["to"]["canonical"] == CALLER_CANONICAL, f"{ln}")
        s.pbx.wait_state(121, lambda st: st["fwd_immediate"] == "00891234567",
                         "forwarding set at the PBX")
        a.call("line.dnd.set", {"line": "pbx/121", "on": True})
        line_ev(a, "pbx/121", lambda l: l["dnd"] is True, "dnd on")
        s.pbx.wait_state(121, lambda st: st["dnd"] == "on", "dnd at the PBX")
        a.call("line.forward.clear", {"line": "pbx/121", "mode": "immediate"})
        line_ev(a, "pbx/121", lambda l: not l["forwarding"]["immediate"]["on"], "fwd off")
        s.pbx.wait_state(121, lambda st: st["fwd_immediate"] == "-", "forwarding cleared")
        # from the PBX (set at the phone) to the client
        s.pbx.ok("forward 121 busy 122")
        ln = line_ev(a, "pbx/121", lambda l: l["forwarding"]["busy"]["on"], "busy fwd from PBX")
        check(ln["forwarding"]["busy"]["to"]["canonical"] == line_number(122), f"{ln}")
        s.pbx.ok("dnd 121 off")
        line_ev(a, "pbx/121", lambda l: l["dnd"] is False, "dnd off from the PBX")
        s.pbx.ok("dnd 121 on")
        line_ev(a, "pbx/121", lambda l: l["dnd"] is True, "dnd on from the PBX")
        s.pbx.ok("dnd 121 off")
        line_ev(a, "pbx/121", lambda l: l["dnd"] is False, "dnd off again from the PBX")
        s.pbx.ok("forward 121 busy off")
        line_ev(a, "pbx/121", lambda l: not l["forwarding"]["busy"]["on"], "busy fwd off")
        s.pbx.ok("forward 121 immediate 125")
        ln = line_ev(a, "pbx/121", lambda l: l["forwarding"]["immediate"]["on"],
                     "immediate fwd from the PBX")
        check(ln["forwarding"]["immediate"]["to"]["canonical"] == line_number(125), f"{ln}")
        s.pbx.ok("forward 121 noanswer 126")
        ln = line_ev(a, "pbx/121", lambda l: l["forwarding"]["noanswer"]["on"],
                     "no-answer fwd from the PBX")
        check(ln["forwarding"]["noanswer"]["to"]["canonical"] == line_number(126) and
              ln["forwarding"]["immediate"]["on"], f"{ln}")
        ln = s.client("alice").call("lines.list")["lines"][0]
        check(ln["forwarding"]["immediate"]["on"] and ln["forwarding"]["noanswer"]["on"] and
              ln["forwarding"]["immediate"]["to"]["canonical"] == line_number(125) and
              ln["forwarding"]["noanswer"]["to"]["canonical"] == line_number(126),
              f"a fresh session sees the PBX's forwarding: {ln}")
        s.pbx.ok("forward 121 immediate off")
        s.pbx.ok("forward 121 noanswer off")
        line_ev(a, "pbx/121", lambda l: not l["forwarding"]["immediate"]["on"] and
                not l["forwarding"]["noanswer"]["on"], "both fwd off from the PBX")
        # a fresh session sees the PBX's present state
        ln = s.client("alice").call("lines.list")["lines"][0]
        check(ln["dnd"] is False and not ln["forwarding"]["busy"]["on"] and
              not ln["forwarding"]["immediate"]["on"], f"{ln}")
        # not her line: refused before the PBX hears of it
        err(a, "line.dnd.set", {"line": "pbx/122", "on": True}, "forbidden")
        check(s.pbx.state(122)["dnd"] == "off", "bob's dnd untouched")
    run(body)


def _pickup(direct):
    """carl may not pick up alice's ringing call, bob may. By default the
    line manager redirects the call to the picking line (the manual's
    "pick up" by redirection: bob's phone rings, he answers); with the group
    option always_pickup it asks the PBX for a directed pickup (connected at
    once)."""
    def body(s):
        a, b, c = s.client("alice"), s.client("bob"), s.client("carl")
        for x in (a, b, c):
            x.call("lines.subscribe")
        ring_alice(s, a)
        pbx_call = next(iter(s.pbx.state(121)["calls"]))
        sent = s.pbx.ok("stats")
        # carl has no pickup right on alice
        err(c, "call.pickup", {"user": "alice"}, "forbidden")
        err(c, "call.pickup", {"line": "pbx/121"}, "forbidden")
        check(s.pbx.ok("stats").split()[1] == sent.split()[1],
              f"nothing reached the PBX: {sent} -> {s.pbx.ok('stats')}")
        check(s.pbx.state(121)["calls"] == {pbx_call: "alerting"}, "still ringing at alice")
        # bob has it (alice grants him team level)
        got = b.call("call.pickup", {"user": "alice"})["call"]
        ev = call_ev(b, "pbx/122", lambda e: e["call"] == got and
                     e["state"] in ("alerting", "connected"), "the call at bob")
        check(ev["remote"]["canonical"] == CALLER_CANONICAL, f"{ev}")
        if direct:
            check(ev["state"] == "connected", f"a directed pickup connects: {ev}")
        else:
            check(ev["state"] == "alerting", f"a redirected call rings: {ev}")
            b.call("call.answer", {"call": got})
            call_ev(b, "pbx/122", lambda e: e["call"] == got and e["state"] == "connected",
                    "bob answered")
        ev = call_ev(a, "pbx/121", lambda e: e["state"] == "null", "gone from alice")
        check(ev["event"] in ("diverted", "connection_cleared", "call_cleared"), f"{ev}")
        s.pbx.wait_state(121, lambda st: not st["calls"], "no call at 121")
        s.pbx.wait_state(122, lambda st: list(st["calls"].values()) == ["connected"],
                         "picked up at 122")
        # nothing rings any more: a second pickup finds nothing
        err(b, "call.pickup", {"user": "alice"}, "not_found")
        b.call("call.clear", {"call": got})
        s.pbx.wait_state(122, lambda st: not st["calls"], "cleared")
    lines = {"groups": [{"name": "pbx", "always_pickup": True}]} if direct else None
    run(body, lines=lines)


def pickup():
    _pickup(direct=False)


def pickup_direct():
    _pickup(direct=True)


def reconnect_resync():
    """A known outage: line-csta reconnects only after 1.5-2 s. Call ids are
    "<driver>/<PBX id>", so a call ended and created again would carry the
    same id: what proves that alice's call was kept is that it never got a
    state "null" call.event, and that the manager held both calls all
    through the outage. Bob's call ended at the PBX while the link was down:
    the snapshot after the reopen ends it, once, after his line is open."""
    def body(s):
        a, b = s.client("alice"), s.client("bob")
        a.call("lines.subscribe")
        b.call("lines.subscribe")
        call = ring_alice(s, a)["call"]
        a.call("call.answer", {"call": call})
        call_ev(a, "pbx/121", lambda e: e["call"] == call and e["state"] == "connected",
                "connected")
        # a second outside caller rings bob; it gives up during the outage
        s.pbx.ok("call +4930555000 122")
        bcall = call_ev(b, "pbx/122", lambda e: e["state"] == "alerting", "bob rings")["call"]
        pbx_alice = s.pbx.state(121)["calls"]
        check(list(pbx_alice.values()) == ["connected"], f"alice's call at the PBX: {pbx_alice}")
        # from here on every notification is kept, in the order it arrived
        a.notifications()
        b.notifications()
        mark = len(s.u.lines)
        s.pbx.ok("fault drop")
        s.pbx.ok("hangup +4930555000")
        seen(a, lambda n: is_line(n, "pbx/121", "not_available"), "alice's line not available")
        seen(b, lambda n: is_line(n, "pbx/122", "not_available"), "bob's line not available")

        # during the outage: the manager still holds both calls
        sa = a.call("lines.subscribe", {"lines": ["pbx/121"]})
        sb = b.call("lines.subscribe", {"lines": ["pbx/122"]})
        check(sa["lines"][0]["status"] == "not_available" and
              sb["lines"][0]["status"] == "not_available",
              f"still in the outage: {sa['lines']} {sb['lines']}")
        check([(x["call"], x["state"]) for x in sa["calls"]] == [(call, "connected")],
              f"alice's call is held through the outage: {sa['calls']}")
        check([(x["call"], x["state"]) for x in sb["calls"]] == [(bcall, "alerting")],
              f"bob's call is held through the outage: {sb['calls']}")
        # while at the PBX alice's call goes on and bob's has ended
        check(s.pbx.state(121)["calls"] == pbx_alice and not s.pbx.state(122)["calls"],
              f"the PBX: {s.pbx.state(121)} {s.pbx.state(122)}")

        # the reopen, and bob's call ends by the snapshot
        seen(a, lambda n: is_line(n, "pbx/121", "open"), "alice's line open again", timeout=10)
        seen(b, lambda n: is_line(n, "pbx/122", "open"), "bob's line open again", timeout=10)
        seen(b, lambda n: is_call(n, bcall, "null"), "bob's missed call ends", timeout=10)
        time.sleep(0.5)  # anything that would follow
        na, nb = a.notifications(), b.notifications()
        check(not [n for n in na if is_call(n, call, "null")],
              f"alice's call was never ended: {[n['params'] for n in na]}")
        opened = next(i for i, n in enumerate(nb) if is_line(n, "pbx/122", "open"))
        ended = [i for i, n in enumerate(nb) if is_call(n, bcall, "null")]
        check(len(ended) == 1, f"bob's call ended exactly once: {[n['params'] for n in nb]}")
        check(ended[0] > opened, f"bob's call ended after his line was open (by the snapshot), "
              f"not before: {[n['params'] for n in nb]}")

        # alice's call survived: same id, still connected, and controllable
        snap = a.call("lines.subscribe", {"lines": ["pbx/121"]})
        check([(x["call"], x["state"]) for x in snap["calls"]] == [(call, "connected")],
              f"alice's call after the resync: {snap['calls']}")
        check(snap["lines"][0]["status"] == "open", f"{snap['lines']}")
        a.call("call.hold", {"call": call})
        call_ev(a, "pbx/121", lambda e: e["call"] == call and e["state"] == "held",
                "held after the resync")
        s.pbx.wait_state(121, lambda st: st["calls"] == {k: "hold" for k in pbx_alice},
                         "held at the PBX")
        a.call("call.clear", {"call": call})
        call_ev(a, "pbx/121", lambda e: e["call"] == call and e["state"] == "null", "cleared")
        s.pbx.wait_state(121, lambda st: not st["calls"], "no call at 121")
        check(s.pbx.ok("monitors") == "10", "every extension monitored again")
        # line-csta said that it lost the link and connected again
        s.u.wait_for(r"warning \[line-csta\] link pbx: connection lost \(", after=mark)
        s.u.wait_for(r"info \[line-csta\] link pbx: connected to 127\.0\.0\.1:", after=mark)
    run(body, csta={"reconnect_min_ms": 1500, "reconnect_max_ms": 2000})


def bad_input():
    """docs/plugins/line-csta.md: a malformed document is dropped and the
    link stays; a frame larger than max_frame_bytes puts the stream out of
    step: the link is dropped and connected again."""
    def body(s):
        a = s.client("alice")
        a.call("lines.subscribe")

        a.notifications()
        mark = len(s.u.lines)
        s.pbx.ok("fault garbage")
        s.u.wait_for(r"warning \[line-csta\] link pbx: malformed document dropped "
                     r"\(not well-formed XML, \d+ bytes, invoke id ", after=mark)
        # the link carries on: a call rings and clears over it
        ev = ring_alice(s, a)
        a.call("call.clear", {"call": ev["call"]})
        call_ev(a, "pbx/121", lambda e: e["call"] == ev["call"] and e["state"] == "null",
                "cleared after the garbage")
        s.pbx.wait_state(121, lambda st: not st["calls"], "no call at 121")
        check(not a.notifications("line.event"), "the line's status did not change")
        check(not [l for l in s.u.lines[mark:] if l and "connection lost" in l],
              "the link was not dropped for a malformed document")

        mark = len(s.u.lines)
        s.pbx.ok("fault oversize")
        s.u.wait_for(r"warning \[line-csta\] link pbx: frame error: a frame larger than "
                     r"max_frame_bytes; dropping the link", after=mark)
        s.u.wait_for(r"warning \[line-csta\] link pbx: connection lost \(frame error: ",
                     after=mark)
        line_ev(a, "pbx/121", lambda l: l["status"] == "not_available", "not available")
        line_ev(a, "pbx/121", lambda l: l["status"] == "open", "open again", timeout=10)
        check(s.u.alive(), "ucsd alive")
        ev = ring_alice(s, a)
        a.call("call.clear", {"call": ev["call"]})
        call_ev(a, "pbx/121", lambda e: e["call"] == ev["call"] and e["state"] == "null",
                "cleared after the oversize frame")
        s.pbx.wait_state(121, lambda st: not st["calls"], "no call at 121")
    run(body)


# ---- what call.state says for the journal (ABI 1.2), end to end ---------------------------

def states(s, settle=0.5):
    """The call.state payloads svcprobe received, in order."""
    return [json.loads(e.split(" ", 3)[3]) for e in s.p.events(settle)
            if e.startswith("event call.state ")]


def state_until(s, pred, what, timeout=5):
    """Collects call.state payloads until one satisfies pred; all of them."""
    got, deadline = [], time.monotonic() + timeout
    while True:
        got += states(s, 0.2)
        if any(pred(e) for e in got):
            return got
        if time.monotonic() > deadline:
            raise Failure(f"no call.state {what}: {got}")


def end_of(evs, line):
    ends = [e for e in evs if e["line"] == line and e["state"] == 0]
    check(len(ends) == 1, f"one end on {line}: {ends}")
    return ends[0]


def part(e, ended_by, flags, answered_line="", answered_by=""):
    check(e["ended_by_name"] == ended_by and e["flag_names"] == flags and
          e["answered_line"] == answered_line and e["answered_by"] == answered_by and
          e["ended_ms"] > 0,
          f"{e['line']}: want {ended_by} {flags} {answered_line!r} {answered_by!r}: {e}")


def subscribe(s, *exts):
    for x in exts:
        s.p.ok(f"sub call.state line:pbx/{x}")


def call_info_hunt():
    """Hunt groups at the PBX: parallel ringing answered by one member (the
    others learn who), nobody answering, sequential distribution (each
    member's part forwarded to the next)."""
    def body(s):
        subscribe(s, 121, 122, 123)
        s.pbx.ok(f"call {CALLER} 200")
        state_until(s, lambda e: e["line"] == "pbx/123" and e["state_name"] == "alerting",
                    "123 rings")
        s.pbx.ok("answer 122")
        evs = state_until(s, lambda e: e["line"] == "pbx/123" and e["state"] == 0, "123 ends")
        evs += states(s)
        for x in (121, 123):
            e = end_of(evs, f"pbx/{x}")
            part(e, "cleared", [], "pbx/122", line_number(122))
            check(e["alerting_ms"] > 0 and e["remote"] == CALLER_CANONICAL, f"{e}")
        ans = [e for e in evs if e["line"] == "pbx/122"][-1]
        check(ans["flag_names"] == ["answered"] and ans["remote"] == CALLER_CANONICAL and
              ans["direction"] == 1, f"122 answered: {ans}")
        calls = {e["call"] for e in evs}
        check(len(calls) == 1, f"one call for every member: {calls}")
        s.pbx.ok("hangup 122")
        part(end_of(state_until(s, lambda e: e["state"] == 0, "122 ends"), "pbx/122"),
             "cleared", ["answered"])
        # nobody answers: the caller gives up
        s.pbx.ok(f"call {CALLER} 200")
        state_until(s, lambda e: e["line"] == "pbx/123" and e["state_name"] == "alerting",
                    "123 rings")
        s.pbx.ok(f"hangup {CALLER}")
        evs = state_until(s, lambda e: e["line"] == "pbx/123" and e["state"] == 0, "ends")
        evs += states(s)
        for x in (121, 122, 123):
            part(end_of(evs, f"pbx/{x}"), "cleared", [])
        # sequential: 124 rings 1 s, then 123 (diverted, distributed)
        subscribe(s, 124)
        s.pbx.ok(f"call {CALLER} 300")
        evs = state_until(s, lambda e: e["line"] == "pbx/123" and e["state_name"] == "alerting",
                          "123 rings after 124", timeout=5)
        part(end_of(evs, "pbx/124"), "forwarded", [], "pbx/123", line_number(123))
        e = [x for x in evs if x["line"] == "pbx/123"][-1]
        check(e["flag_names"] == ["forwarded"] and e["diverted_from"] == line_number(124) and
              e["remote"] == CALLER_CANONICAL, f"123 got it from 124: {e}")
        s.pbx.ok("answer 123")
        s.pbx.ok("hangup 123")
        part(end_of(state_until(s, lambda e: e["line"] == "pbx/123" and e["state"] == 0,
                                "123 ends"), "pbx/123"), "cleared", ["forwarded", "answered"])

    run(body, probe=True, pbx_extra=("--hunt-group", "200=parallel:121,122,123",
                                     "--hunt-group", "300=sequential:124,123:1"))


def call_info_phone():
    """At the phones: a pickup (cause callPickup), a deflection, forwarding on
    no answer, and a caller who withholds her number."""
    def body(s):
        subscribe(s, 121, 122, 123, 124)
        s.pbx.ok(f"call {CALLER} 121")
        state_until(s, lambda e: e["line"] == "pbx/121", "121 rings")
        s.pbx.ok("pickup 122 121")
        evs = state_until(s, lambda e: e["line"] == "pbx/122", "the pickup at 122")
        evs += states(s)
        part(end_of(evs, "pbx/121"), "picked_up", [], "pbx/122", line_number(122))
        e = [x for x in evs if x["line"] == "pbx/122"][-1]
        check(e["flag_names"] == ["pickup", "answered"] and e["direction"] == 1 and
              e["remote"] == CALLER_CANONICAL and e["state_name"] == "connected",
              f"122 picked it up: {e}")
        s.pbx.ok("hangup 122")
        states(s)
        # deflected at the phone
        s.pbx.ok(f"call {CALLER} 121")
        state_until(s, lambda e: e["line"] == "pbx/121", "121 rings")
        s.pbx.ok("deflect 121 123")
        evs = state_until(s, lambda e: e["line"] == "pbx/123", "123 rings")
        part(end_of(evs, "pbx/121"), "deflected", [], "pbx/123", line_number(123))
        e = [x for x in evs if x["line"] == "pbx/123"][-1]
        check(e["flag_names"] == ["forwarded"] and e["diverted_from"] == line_number(121),
              f"arrived deflected: {e}")
        s.pbx.ok(f"hangup {CALLER}")
        states(s)
        # forwarding on no answer (after 1 s) to 124
        s.pbx.ok("forward 121 noanswer 124")
        s.pbx.ok(f"call {CALLER} 121")
        evs = state_until(s, lambda e: e["line"] == "pbx/124", "124 rings", timeout=5)
        part(end_of(evs, "pbx/121"), "forwarded", [], "pbx/124", line_number(124))
        check([x for x in evs if x["line"] == "pbx/124"][-1]["flag_names"] == ["forwarded"],
              f"{evs}")
        s.pbx.ok(f"hangup {CALLER}")
        s.pbx.ok("forward 121 noanswer off")
        states(s)
        # a withheld caller
        s.pbx.ok("call anonymous 123")
        evs = state_until(s, lambda e: e["line"] == "pbx/123", "123 rings")
        e = evs[-1]
        check(e["flag_names"] == ["hidden"] and e["remote"] == "" and e["direction"] == 1,
              f"hidden: {e}")
        s.pbx.ok("answer 123")
        s.pbx.ok("hangup anonymous")
        part(end_of(state_until(s, lambda e: e["state"] == 0, "123 ends"), "pbx/123"),
             "cleared", ["answered", "hidden"])

    run(body, probe=True, pbx_extra=("--noanswer-s", "1"))


def call_info_ucsd():
    """Through ucsd: bob picks up alice's call (redirected to his phone - the
    PBX says "redirected", ucsd knows it is a pickup), alice deflects a call."""
    def body(s):
        subscribe(s, 121, 122, 124)
        s.pbx.ok(f"call {CALLER} 121")
        state_until(s, lambda e: e["line"] == "pbx/121", "121 rings")
        r = json.loads(s.p.ok("ln.call " + json.dumps(
            {"op": "pickup", "actor": "bob", "line": "pbx/122", "target_line": "pbx/121"}),
            timeout=15))
        check(r["status"] == 0, f"pickup: {r}")
        evs = state_until(s, lambda e: e["line"] == "pbx/122", "122 rings")
        part(end_of(evs, "pbx/121"), "picked_up", [], "pbx/122", line_number(122))
        s.pbx.ok("answer 122")
        evs = state_until(s, lambda e: e["line"] == "pbx/122" and e["state_name"] == "connected",
                          "122 answers")
        check(evs[-1]["flag_names"] == ["pickup", "answered"], f"{evs[-1]}")
        s.pbx.ok("hangup 122")
        states(s)
        s.pbx.ok(f"call {CALLER} 121")
        evs = state_until(s, lambda e: e["line"] == "pbx/121", "121 rings")
        r = json.loads(s.p.ok("ln.call " + json.dumps(
            {"op": "deflect", "actor": "alice", "line": "pbx/121", "call": evs[-1]["call"],
             "number": "124"}), timeout=15))
        check(r["status"] == 0, f"deflect: {r}")
        evs = state_until(s, lambda e: e["line"] == "pbx/124", "124 rings")
        part(end_of(evs, "pbx/121"), "deflected", [], "pbx/124", line_number(124))

    run(body, probe=True)


def call_info_forward_immediate():
    """A call forwarded away at once (forwarding immediate: the line never
    rings) still gives the forwarding line one call.state - the journal shows
    its user who took the call."""
    def body(s):
        subscribe(s, 121, 123)
        s.pbx.ok("forward 121 immediate 123")
        s.pbx.ok(f"call {CALLER} 121")
        evs = state_until(s, lambda e: e["line"] == "pbx/123", "123 rings")
        evs += states(s)
        mine = [e for e in evs if e["line"] == "pbx/121"]
        check(len(mine) == 1, f"one call.state on 121: {mine}")
        e = mine[0]
        part(e, "forwarded", [], "pbx/123", line_number(123))
        check(e["event_name"] == "diverted" and e["state"] == 0 and e["direction"] == 1 and
              e["remote"] == CALLER_CANONICAL and e["alerting_ms"] == 0 and
              e["started_ms"] > 0 and e["ended_ms"] >= e["started_ms"], f"forwarded away: {e}")
        got = [x for x in evs if x["line"] == "pbx/123"][-1]
        check(got["call"] == e["call"] and got["flag_names"] == ["forwarded"] and
              got["diverted_from"] == line_number(121), f"123 got it from 121: {got}")
        s.pbx.ok(f"hangup {CALLER}")
        states(s)

    run(body, probe=True)


def call_info_no_lci():
    """A PBX that leaves localConnectionInfo out: one member's answer (an
    Established at another device) does not connect the members still
    ringing; they end cleared, answered by the member that took the call."""
    def body(s):
        subscribe(s, 121, 122, 123)
        s.pbx.ok(f"call {CALLER} 200")
        evs = state_until(s, lambda e: e["line"] == "pbx/123" and e["state_name"] == "alerting",
                          "123 rings")
        s.pbx.ok("answer 122")
        evs += state_until(s, lambda e: e["line"] == "pbx/123" and e["state"] == 0, "123 ends")
        evs += states(s)
        for x in (121, 123):
            mine = [e for e in evs if e["line"] == f"pbx/{x}"]
            check(all(e["state_name"] in ("alerting", "null") for e in mine),
                  f"{x} never connected: {[(e['event_name'], e['state_name']) for e in mine]}")
            part(end_of(evs, f"pbx/{x}"), "cleared", [], "pbx/122", line_number(122))
        ans = [e for e in evs if e["line"] == "pbx/122"][-1]
        check(ans["state_name"] == "connected" and ans["flag_names"] == ["answered"], f"{ans}")
        s.pbx.ok("hangup 122")
        states(s)

    run(body, probe=True, pbx_extra=("--hunt-group", "200=parallel:121,122,123",
                                     "--no-local-connection-info"))


if __name__ == "__main__":
    main({f.__name__: f for f in (incoming_call, conference_and_clear, forwarding_dnd, pickup,
                                  pickup_direct, reconnect_resync, bad_input,
                                  call_info_hunt, call_info_phone, call_info_ucsd,
                                  call_info_forward_immediate, call_info_no_lci)})
