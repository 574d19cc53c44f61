"""tests/integration/test_journal.py - the journal's call tracker end to end
(issue 7): the CSTA PBX simulator (tools/pbxsim) plays the PBX; the real
ucsd runs the dialplan, userdb-file, presence, the line manager, the CSTA
driver and the journal; svcprobe shows "journal.call" and "journal.event";
the stored rows are read with the sqlite3 shell from the journal's database
(STATE_DIR/journal.db, WAL: a reader sees what the writer committed, which
is at the latest JR_FLUSH_MS after the call ended).

Users (bound to their lines by first_phone; location Starnberg, so line
pbx/121 is +49 8151 36856-121):
  alice pbx/121, bob pbx/122, carl pbx/123;
  dave pbx/124 (his line has no journal); erin pbx/125 (a private line);
  frank has no line, only a mobile number (a contact: calls from it carry
  his name). Line pbx/128 has journal on but no owner.

Cases (each starts its own pbxsim and ucsd):
  missed_RULE       nobody answers a call that rang alice, then (PBX
                    forwarding on no answer) bob: journal.unanswered.missed
                    RULE none / first / last / all marks nobody / alice / bob
                    / both
  forwarded_RULE    alice -> bob -> carl (forwarding on no answer), carl
                    answers: journal.unanswered.forwarded RULE none / first /
                    last / all among alice and bob; answered_user carl in every
                    row
  pbx_forwarding    immediate forwarding alice -> bob, bob answers: bob's
                    entry says forwarded from alice, answered, no mark; alice's
                    line reports only the diversion (her phone never rang),
                    which counts as answered for her (manual 10.5: forwarding
                    by the user): her entry, answered, answered_user bob
  deflect           alice deflects her ringing call from ucsd to frank's
                    mobile: answered for her (no mark with missed and
                    forwarded = all), answered_number the mobile, answered_user
                    frank (whose number it is)
  pickup            bob picks alice's ringing call up (directed pickup from
                    ucsd): the call is answered, by bob; alice rang and did not
                    answer (marked with forwarded=all, not with none)
  redirect          the server's redirection (alice's line: to 122 after 1 s)
                    moves her ringing call to bob, who does not answer: her
                    part ended "redirected", answered for her, the call counts
                    as answered (manual 10.5), so forwarded=all marks bob
  hunt_parallel     a hunt group (pbxsim --hunt-group) rings alice, bob, carl
                    at once: nobody answers (missed=first: alice), then bob
                    answers (forwarded=last: carl)
  hunt_sequential   the group rings alice, bob, carl one after the other:
                    nobody answers (missed=last: carl); then bob answers
                    (forwarded=all: alice; carl never rang)
  pickup_phone      bob picks alice's ringing call up at his phone
                    (pbxsim `pickup 122 121`): answered by bob, alice marked
  deflect_phone     alice sends her ringing call on to bob at her phone
                    (`deflect 121 122`): the line manager reports it as her
                    deflection, which counts as answered for her
  hidden_number     `call anonymous 121`: hidden in journal.call, no number
                    stored, the HIDDEN flag, a missed call
  short_ring        the caller hangs up after half a second: a missed call
                    with a ring time under 2 s (notify's min_ring_s reads it)
  repeated_caller   the same caller twice: two calls, two entries, both missed
  transfer          alice answers an outside call, consults bob, transfers:
                    the first call answered by alice, ended "transferred"; the
                    consultation call's entries (alice outgoing, bob incoming
                    with the outside caller as his remote)
  internal_call     alice calls bob, he does not answer: alice outgoing (no
                    mark), bob missed; both internal, each the other's remote
                    user with her display name
  outgoing_call     alice calls outside, answered there: answered, talk time,
                    answered_number the called number, no mark
  contact_name      frank calls alice from his mobile: remote_name his display
                    name, remote_user frank, contact_found in journal.call
  journal_off       a call to dave (no journal) and one to pbx/128 (no owner)
                    write nothing; the next call to alice is journaled
  private_MODE      calls to erin's private line under journal.private_calls
                    MODE normal / shortened / hidden: the stored number, name
                    and contact, and journal.call's remote, as the mode says
  offline           alice has a client session, bob had one that ended: her
                    entry is online, his offline (rows and journal.event)
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from harness import BUILD, SOURCE, Failure, Probe, Ucsd, check, check_sanitizers, main

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
EXTENSIONS = "120-129"
CALLER = "*700891234567"  # how the PBX reports the outside caller
CALLER_CANONICAL = "+49891234567"
FRANK_MOBILE = "+491715550123"
FRANK_RAW = "*7001715550123"  # his mobile as the PBX reports it
OUTSIDE = "0891112222"  # what alice dials (access code 0 first)

# enum ucs_call_end, enum ucs_call_direction, UCS_CALLF_*
END_PICKED_UP, END_DEFLECTED, END_REDIRECTED = 2, 3, 4
END_FORWARDED, END_TRANSFERRED = 5, 6
INCOMING, OUTGOING = 1, 2
CALLF_PICKUP, CALLF_HIDDEN = 1 << 1, 1 << 5
PILOT = "200"  # the hunt group's number


PBXSIM = os.path.join(BUILD, "tools", "pbxsim", "pbxsim")
UCS_DIALPLAN = os.path.join(BUILD, "tools", "ucs-dialplan", "ucs-dialplan")


def dialplan(kind, number):
    """What the dialplan makes of a number in location Starnberg (canonical,
    display, dial result): the dialplan plugin's own code, as a tool."""
    r = subprocess.run([UCS_DIALPLAN, "-c", FIXTURES, "--data-dir", DATA, "-l", "Starnberg",
                        "--json", kind, number], capture_output=True, text=True, timeout=20)
    check(r.returncode == 0, f"ucs-dialplan {kind} {number}: {r.stderr}")
    d = json.loads(r.stdout)
    return d["canonical"], d["display"], d["result"]


class Pbx:
    """pbxsim on free ports (-v: every CSTA document in its log); ok() runs a
    control command that must succeed, state() reads `state EXT`."""

    def __init__(self, extra=()):
        check(os.path.exists(PBXSIM), f"{PBXSIM} is built")
        self.proc = subprocess.Popen([PBXSIM, "--port", "0", "--control", "0", "--extensions",
                                      EXTENSIONS, "-v", *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.err = []
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        self.sock = None
        line = self.proc.stdout.readline()
        m = re.fullmatch(r"pbxsim ready csta=(\d+) control=(\d+)\n", line)
        if not m:
            self.close(check_exit=False)
            raise Failure(f"pbxsim did not start: {line!r}\n{self.log()}")
        self.csta, self.control = int(m.group(1)), int(m.group(2))
        self.sock = socket.create_connection(("127.0.0.1", self.control), timeout=10)
        self.f = self.sock.makefile("rw")

    def _drain(self):
        for line in self.proc.stderr:
            self.err.append(line.rstrip("\n"))

    def log(self, tail=80):
        return "\n".join(self.err[-tail:])

    def ok(self, line):
        self.f.write(line + "\n")
        self.f.flush()
        got = self.f.readline().rstrip("\n")
        if not (got == "ok" or got.startswith("ok ")):
            raise Failure(f"pbxsim {line!r}: {got!r}")
        return got[3:]

    def state(self, ext):
        words = self.ok(f"state {ext}").split()
        d = dict(w.split("=", 1) for w in words[1:])
        d["calls"] = dict(c.split(":", 1) for c in d.get("calls", "").split(",")
                          if c and c != "-")
        return d

    def wait_state(self, ext, pred, what, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            st = self.state(ext)
            if pred(st):
                return st
            if time.monotonic() > deadline:
                raise Failure(f"pbxsim {ext}: {what}; state {st}")
            time.sleep(0.05)

    def close(self, check_exit=True):
        if self.sock:
            self.sock.close()
            self.sock = None
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
        self.reader.join(5)
        if check_exit:
            check_sanitizers("\n".join(self.err), "pbxsim")


def user(uid, ext=None, **fields):
    doc = {"id": uid, "login": uid, "first_name": uid.capitalize(), "last_name": "Test"}
    if ext:
        doc["first_phone"] = f"pbx/{ext}"
    doc.update(fields)
    return doc


USERS = [user("alice", 121), user("bob", 122), user("carl", 123), user("dave", 124),
         user("erin", 125),
         user("frank", phones={"mobile": FRANK_MOBILE})]
LINES = {"lines": [{"id": f"pbx/{n}", "journal": n != 124, "private": n == 125}
                   for n in range(120, 130)]}


class Stand:
    """pbxsim and ucsd (with the journal) linked to it; p is svcprobe,
    subscribed to journal.call and journal.event."""

    def __init__(self, journal=None, lines=None, pbx_extra=("--noanswer-s", "1")):
        self.pbx = Pbx(extra=pbx_extra)
        self.u = None
        self.p = None
        try:
            link = {"name": "pbx", "host": "127.0.0.1", "port": self.pbx.csta,
                    "location": "Starnberg", "devices": [EXTENSIONS], "keepalive_s": 30}
            config = {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                                   "default_location": "Starnberg"},
                      "line-csta": {"links": [link], "reconnect_min_ms": 200,
                                    "reconnect_max_ms": 1000},
                      "lines": lines or LINES,
                      "journal": journal or {}}
            self.u = Ucsd(plugins=["svcprobe"],
                          tree_plugins=["dialplan", "userdb-file", "presence", "lines",
                                        "line-csta", "journal"], config=config)
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
        self.p = Probe(self.u)
        deadline = time.monotonic() + 10
        while self.pbx.ok("monitors") != "10":
            if time.monotonic() > deadline:
                raise Failure(f"pbxsim monitors: {self.pbx.ok('monitors')}\n{self.u.log()}")
            time.sleep(0.05)
        for n in range(120, 130):
            while json.loads(self.p.ok(f"ln.line pbx/{n}"))["status_name"] != "open":
                if time.monotonic() > deadline:
                    raise Failure(f"pbx/{n} does not open\n{self.u.log()}")
                time.sleep(0.05)
        self.p.ok("sub journal.call")
        self.p.ok("sub journal.event")
        return self

    def ringing(self, ext, timeout=5):
        """Waits until ext's phone rings at the PBX."""
        return self.pbx.wait_state(ext, lambda st: "alerting" in st["calls"].values(),
                                   f"{ext} rings", timeout)

    def call_done(self, timeout=45):
        """The next journal.call as a dict (the grace of 2 s is in it, or of
        30 s when the line that ended last moved the call on: forwarded,
        deflected, transferred - JR_MOVED_GRACE_MS)."""
        ev = self.p.wait_event(r"^event journal\.call ", timeout=timeout)
        return json.loads(ev.split(" ", 3)[3])

    def no_call(self, settle=3.5):
        """No journal.call within settle seconds (more than the grace)."""
        evs = [e for e in self.p.events(settle=settle) if e.startswith("event journal.call ")]
        check(not evs, f"no journal.call expected, got {evs}")

    def journal_events(self):
        evs = []
        for e in self.p.events(settle=0.5):
            if e.startswith("event journal.event "):
                _, _, key, js = e.split(" ", 3)
                evs.append((key, json.loads(js)))
        return evs

    def rows(self, call, n, timeout=5):
        """The stored rows of a call (by user), once there are n of them."""
        db = os.path.join(self.u.state, "journal.db")
        deadline = time.monotonic() + timeout
        while True:
            got = []
            if os.path.exists(db):
                r = subprocess.run(["sqlite3", "-json", "file:" + db + "?mode=ro",
                                    "SELECT * FROM entries WHERE call = '%s' ORDER BY seq"
                                    % call.replace("'", "''")],
                                   capture_output=True, text=True, timeout=10)
                if r.returncode == 0 and r.stdout.strip():
                    got = json.loads(r.stdout)
            if len(got) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        check(len(got) == n, f"call {call}: {n} rows expected, got {got}")
        out = {}
        for row in got:
            check(row["user"] not in out, f"one row per user and call: {got}")
            out[row["user"]] = row
        return out

    def all_rows(self):
        db = os.path.join(self.u.state, "journal.db")
        r = subprocess.run(["sqlite3", "-json", "file:" + db + "?mode=ro",
                            "SELECT * FROM entries ORDER BY seq"],
                           capture_output=True, text=True, timeout=10)
        check(r.returncode == 0, f"sqlite3: {r.stderr}")
        return json.loads(r.stdout) if r.stdout.strip() else []

    def stop(self):
        if self.p:
            self.p.close()
            self.p = None
        rc, _ = self.u.stop()
        check(rc == 0, f"ucsd exits 0 ({rc})")
        self.pbx.close()

    def close(self):
        if self.p:
            self.p.close()
        if self.u:
            self.u.close()
        self.pbx.close(check_exit=False)


def run(body, **kw):
    s = Stand(**kw)
    try:
        s.start()
        try:
            body(s)
        except Failure as e:
            raise Failure(f"{e}\n--- ucsd ---\n{s.u.log()[-6000:]}\n--- pbxsim ---\n"
                          f"{s.pbx.log(30)}") from None
        s.stop()
    finally:
        s.close()


def parts_of(c):
    return [p["user"] for p in c["parts"]]


def marked(rows):
    return sorted(u for u, r in rows.items() if r["unanswered"])


def unanswered(journal_missed="all", journal_forwarded="none", **more):
    j = {"unanswered": {"missed": journal_missed, "forwarded": journal_forwarded}}
    j.update(more)
    return j


# ---- cases ------------------------------------------------------------------------------

RULES = {"none": [], "first": ["alice"], "last": ["bob"], "all": ["alice", "bob"]}


def missed(rule):
    """journal.unanswered.missed = rule; forwarded = all (not used: nobody
    answers)."""
    want = RULES[rule]

    def body(s):
        s.pbx.ok("forward 121 noanswer 122")
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.ringing(122, timeout=5)  # after --noanswer-s 1
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(parts_of(c) == ["alice", "bob"], f"ringing order: {c}")
        check(c["answered"] == 0 and c["remote"] == CALLER_CANONICAL, f"{c}")
        check(all(p["rang"] for p in c["parts"]), f"both rang: {c}")
        check(c["parts"][0]["alerting_ms"] < c["parts"][1]["alerting_ms"], f"{c}")
        check(c["parts"][0]["ended_by"] == END_FORWARDED, f"alice's part moved on: {c}")
        rows = s.rows(c["call"], 2)
        check(marked(rows) == want, f"missed={rule}: marked {marked(rows)}, want {want}")
        check([p["user"] for p in c["parts"] if p["unanswered"]] == want,
              f"journal.call says the same: {c}")
        for u, r in rows.items():
            check(r["direction"] == INCOMING and r["answered"] == 0, f"{u}: {r}")
            check(r["remote_number"] == CALLER_CANONICAL, f"{u}: {r}")
            check(r["answered_user"] == "" and r["answered_number"] == "", f"{u}: {r}")
            check(r["alerting_ms"] > 0, f"{u} rang: {r}")
        check(rows["alice"]["ring_s"] >= 1, f"alice rang for the no-answer time: {rows}")
        check(rows["bob"]["diverted_from"].endswith("121"), f"bob's came from 121: {rows}")
        check(rows["alice"]["id"] == c["parts"][0]["entry"], f"entry ids: {rows} {c}")
    run(body, journal=unanswered(rule, "all"))


def forwarded(rule):
    """journal.unanswered.forwarded = rule; missed = all (not used: carl
    answers)."""
    want = RULES[rule]

    def body(s):
        s.pbx.ok("forward 121 noanswer 122")
        s.pbx.ok("forward 122 noanswer 123")
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.ringing(122)
        s.ringing(123)
        s.pbx.ok("answer 123")
        time.sleep(0.5)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(parts_of(c) == ["alice", "bob", "carl"], f"ringing order: {c}")
        check(c["answered"] == 1 and c["answered_user"] == "carl", f"{c}")
        rows = s.rows(c["call"], 3)
        check(marked(rows) == want, f"forwarded={rule}: marked {marked(rows)}, want {want}")
        check(rows["carl"]["answered"] == 1 and rows["carl"]["unanswered"] == 0, f"{rows}")
        check(rows["carl"]["connected_ms"] > 0, f"{rows}")
        for u, r in rows.items():
            check(r["answered_user"] == "carl", f"{u}: answered by carl: {r}")
            check(r["answered_number"].endswith("123"), f"{u}: {r}")
    run(body, journal=unanswered("all", rule))


def pbx_forwarding():
    def body(s):
        s.pbx.ok("forward 121 immediate 122")
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(122)
        s.pbx.ok("answer 122")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        # the line manager reports one event for a line that forwards before
        # it rings (the PBX's Diverted is its first and last event: state
        # null, ended_by forwarded, never alerting): alice forwarded it
        # herself, which counts as answered for her; her entry says bob took
        # it. Bob's entry is marked as reached by forwarding from alice.
        check(parts_of(c) == ["alice", "bob"], f"{c}")
        check(c["answered"] and c["answered_user"] == "bob", f"{c}")
        rows = s.rows(c["call"], 2)
        a = rows["alice"]
        check(a["answered"] == 1 and a["unanswered"] == 0 and a["answered_user"] == "bob"
              and a["ended_by"] == 5 and a["alerting_ms"] == 0, f"{a}")  # UCS_END_FORWARDED
        b = rows["bob"]
        check(b["answered"] == 1 and b["unanswered"] == 0 and b["answered_user"] == "bob", f"{b}")
        check(b["flags"] & 1 and b["diverted_from"].endswith("121"),
              f"bob's came by forwarding from alice: {b}")
    run(body, journal=unanswered("all", "all"))


def deflect():
    def body(s):
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        calls = json.loads(s.p.ok("ln.calls pbx/121"))
        check(len(calls) == 1, f"one call at alice's: {calls}")
        r = json.loads(s.p.ok("ln.call " + json.dumps({
            "op": "deflect", "line": "pbx/121", "call": calls[0]["call"],
            "number": FRANK_MOBILE}), timeout=15))
        check(r["status"] == 0, f"deflect: {r}")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        rows = s.rows(c["call"], 1)
        a = rows["alice"]
        check(a["ended_by"] == END_DEFLECTED, f"her part ended deflected: {a}")
        check(a["answered"] == 1 and a["unanswered"] == 0, f"answered for her: {a}")
        check(a["answered_number"] == FRANK_MOBILE, f"deflected to the mobile: {a}")
        check(a["answered_user"] == "frank", f"whose mobile it is: {a}")
        check(c["answered"] == 1, f"{c}")
    run(body, journal=unanswered("all", "all"))


def pickup():
    for rule, want in (("all", ["alice"]), ("none", [])):
        def body(s):
            s.pbx.ok(f"call {CALLER} 121")
            s.ringing(121)
            r = json.loads(s.p.ok("ln.call " + json.dumps({
                "op": "pickup", "line": "pbx/122", "target_line": "pbx/121"}), timeout=15))
            check(r["status"] == 0, f"pickup: {r}")
            s.pbx.wait_state(122, lambda st: "connected" in st["calls"].values(),
                             "bob talks")
            time.sleep(0.3)
            s.pbx.ok(f"hangup {CALLER}")
            c = s.call_done()
            check(c["answered"] == 1 and c["answered_user"] == "bob", f"{c}")
            rows = s.rows(c["call"], 2)
            check(rows["alice"]["ended_by"] == END_PICKED_UP, f"{rows['alice']}")
            check(rows["bob"]["answered"] == 1 and rows["bob"]["flags"] & CALLF_PICKUP,
                  f"bob picked it up: {rows['bob']}")
            check(marked(rows) == want, f"forwarded={rule}: {marked(rows)}")
            check(rows["alice"]["answered_user"] == "bob", f"{rows['alice']}")
        run(body, journal=unanswered("all", rule),
            lines=dict(LINES, groups=[{"name": "pbx", "always_pickup": True}]))


def redirect():
    def body(s):
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.ringing(122, timeout=5)  # the server's redirection after 1 s
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(parts_of(c) == ["alice", "bob"], f"{c}")
        rows = s.rows(c["call"], 2)
        a = rows["alice"]
        check(a["ended_by"] == END_REDIRECTED and a["answered"] == 1, f"{a}")
        check(a["answered_number"].endswith("122"), f"redirected to bob's: {a}")
        check(c["answered"] == 1, f"ucsd's forwarding counts as answered: {c}")
        check(marked(rows) == ["bob"], f"forwarded=all among who rang and did not "
                                       f"answer: {marked(rows)}")
    lines = dict(LINES, lines=[dict(d, redirect=[{"to": "122", "ring_s": 1}])
                               if d["id"] == "pbx/121" else d for d in LINES["lines"]])
    run(body, journal=unanswered("all", "all"), lines=lines)


def hunt_parallel():
    def body(s):
        # nobody answers: the missed rule (first) among all who rang
        s.pbx.ok(f"call {CALLER} {PILOT}")
        for ext in (121, 122, 123):
            s.ringing(ext)
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(parts_of(c) == ["alice", "bob", "carl"], f"member order: {c}")
        check(all(p["rang"] for p in c["parts"]) and not c["answered"], f"{c}")
        rows = s.rows(c["call"], 3)
        check(marked(rows) == ["alice"], f"missed=first: {marked(rows)}")
        # bob answers: the forwarded rule (last) among alice and carl
        s.pbx.ok(f"call {CALLER} {PILOT}")
        for ext in (121, 122, 123):
            s.ringing(ext)
        s.pbx.ok("answer 122")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(c["answered"] == 1 and c["answered_user"] == "bob", f"{c}")
        rows = s.rows(c["call"], 3)
        check(marked(rows) == ["carl"], f"forwarded=last: {marked(rows)}")
        check(all(r["answered_user"] == "bob" for r in rows.values()), f"{rows}")
    run(body, journal=unanswered("first", "last"),
        pbx_extra=("--hunt-group", f"{PILOT}=parallel:121,122,123"))


def hunt_sequential():
    def body(s):
        # alice, then bob, then carl ring (1 s each); nobody answers
        s.pbx.ok(f"call {CALLER} {PILOT}")
        s.ringing(121)
        s.ringing(122, timeout=5)
        s.ringing(123, timeout=5)
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(parts_of(c) == ["alice", "bob", "carl"], f"ringing order: {c}")
        rows = s.rows(c["call"], 3)
        check(marked(rows) == ["carl"], f"missed=last: {marked(rows)}")
        check(rows["alice"]["ended_by"] == END_FORWARDED, f"distributed on: {rows['alice']}")
        # bob answers when it comes to him: alice rang before, carl never
        s.pbx.ok(f"call {CALLER} {PILOT}")
        s.ringing(121)
        s.ringing(122, timeout=5)
        s.pbx.ok("answer 122")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(parts_of(c) == ["alice", "bob"], f"{c}")
        rows = s.rows(c["call"], 2)
        check(marked(rows) == ["alice"], f"forwarded=all: {marked(rows)}")
        check(rows["alice"]["answered_user"] == "bob", f"{rows}")
    run(body, journal=unanswered("last", "all"),
        pbx_extra=("--hunt-group", f"{PILOT}=sequential:121,122,123:1"))


def pickup_phone():
    def body(s):
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.pbx.ok("pickup 122 121")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(c["answered"] == 1 and c["answered_user"] == "bob", f"{c}")
        rows = s.rows(c["call"], 2)
        check(rows["alice"]["ended_by"] == END_PICKED_UP, f"{rows['alice']}")
        check(rows["bob"]["answered"] == 1 and rows["bob"]["flags"] & CALLF_PICKUP,
              f"{rows['bob']}")
        check(marked(rows) == ["alice"], f"forwarded=all: {marked(rows)}")
    run(body, journal=unanswered("all", "all"))


def deflect_phone():
    def body(s):
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.pbx.ok("deflect 121 122")
        s.ringing(122)
        s.pbx.ok("answer 122")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        rows = s.rows(c["call"], 2)
        a = rows["alice"]
        check(a["ended_by"] == END_DEFLECTED and a["answered"] == 1, f"{a}")
        check(marked(rows) == [], f"her own deflection counts as answered: {rows}")
        check(a["answered_user"] == "bob", f"{a}")
    run(body, journal=unanswered("all", "all"))


def hidden_number():
    def body(s):
        s.pbx.ok("call anonymous 121")
        s.ringing(121)
        s.pbx.ok("hangup anonymous")
        c = s.call_done()
        check(c["hidden"] == 1 and c["remote"] == "" and c["contact_found"] == 0, f"{c}")
        a = s.rows(c["call"], 1)["alice"]
        check(a["remote_number"] == "" and a["flags"] & CALLF_HIDDEN, f"{a}")
        check(a["unanswered"] == 1, f"{a}")
    run(body)


def short_ring():
    def body(s):
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        time.sleep(0.5)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        p = c["parts"][0]
        check(p["rang"] and p["unanswered"], f"a missed call: {c}")
        check(0 < p["ended_ms"] - p["alerting_ms"] < 2000, f"rang under 2 s: {p}")
        rows = s.rows(c["call"], 1)
        check(rows["alice"]["ring_s"] <= 1 and rows["alice"]["unanswered"] == 1,
              f"{rows['alice']}")
    run(body)


def repeated_caller():
    def body(s):
        ids = []
        for _ in range(2):
            s.pbx.ok(f"call {CALLER} 121")
            s.ringing(121)
            s.pbx.ok(f"hangup {CALLER}")
            c = s.call_done()
            ids.append(c["call"])
            rows = s.rows(c["call"], 1)
            check(rows["alice"]["unanswered"] == 1, f"{rows}")
            check(rows["alice"]["remote_number"] == CALLER_CANONICAL, f"{rows}")
        check(ids[0] != ids[1], f"two calls: {ids}")
        mine = [r for r in s.all_rows() if r["user"] == "alice"]
        check(len(mine) == 2 and mine[0]["id"] != mine[1]["id"], f"two entries: {mine}")
    run(body)


def transfer():
    def body(s):
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.pbx.ok("answer 121")
        first = json.loads(s.p.ok("ln.calls pbx/121"))[0]["call"]
        r = json.loads(s.p.ok("ln.call " + json.dumps({
            "op": "consult", "line": "pbx/121", "call": first, "number": "122"}), timeout=15))
        check(r["status"] == 0 and r["call"], f"consult: {r}")
        consult = r["call"]
        s.ringing(122)
        s.pbx.ok("answer 122")
        time.sleep(0.3)
        r = json.loads(s.p.ok("ln.call " + json.dumps({
            "op": "transfer", "line": "pbx/121", "call": first, "other_call": consult}),
            timeout=15))
        check(r["status"] == 0, f"transfer: {r}")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        calls = {}
        for _ in range(2):
            c = s.call_done()
            calls[c["call"]] = c
        check(set(calls) == {first, consult}, f"two calls journaled: {list(calls)}")
        r1 = s.rows(first, 1)
        a = r1["alice"]
        check(a["answered"] == 1 and a["ended_by"] == END_TRANSFERRED, f"{a}")
        check(a["remote_number"] == CALLER_CANONICAL and a["unanswered"] == 0, f"{a}")
        r2 = s.rows(consult, 2)
        check(r2["alice"]["direction"] == OUTGOING, f"{r2['alice']}")
        check(r2["bob"]["direction"] == INCOMING and r2["bob"]["answered"] == 1, f"{r2['bob']}")
        check(r2["bob"]["remote_number"] == CALLER_CANONICAL,
              f"bob talked to the caller at the end: {r2['bob']}")
        check(marked(r2) == [], f"{r2}")
    run(body, journal=unanswered("all", "all"))


def internal_call():
    def body(s):
        s.pbx.ok("call 121 122")
        s.ringing(122)
        time.sleep(0.3)
        s.pbx.ok("hangup 121")
        c = s.call_done()
        check(c["internal"] == 1 and c["answered"] == 0, f"{c}")
        rows = s.rows(c["call"], 2)
        a, b = rows["alice"], rows["bob"]
        check(a["direction"] == OUTGOING and a["unanswered"] == 0, f"{a}")
        check(b["direction"] == INCOMING and b["unanswered"] == 1, f"{b}")
        check(a["internal"] == 1 and b["internal"] == 1, f"{rows}")
        check(a["remote_user"] == "bob" and a["remote_name"] == "Bob Test", f"{a}")
        check(b["remote_user"] == "alice" and b["remote_name"] == "Alice Test", f"{b}")
        check(c["remote_user"] == "alice" and c["contact_found"] == 1, f"{c}")
    run(body)


def outgoing_call():
    def body(s):
        s.pbx.ok(f"call 121 {OUTSIDE}")
        s.pbx.wait_state(121, lambda st: st["calls"], "alice dials")
        time.sleep(0.3)
        s.pbx.ok(f"answer {OUTSIDE}")
        time.sleep(1.2)
        s.pbx.ok("hangup 121")
        c = s.call_done()
        check(c["answered"] == 1 and c["internal"] == 0, f"{c}")
        rows = s.rows(c["call"], 1)
        a = rows["alice"]
        check(a["direction"] == OUTGOING and a["answered"] == 1 and a["unanswered"] == 0, f"{a}")
        check(a["talk_s"] >= 1 and a["ring_s"] == 0, f"{a}")
        want = dialplan("called", OUTSIDE)[0]
        check(a["remote_number"] == want and a["answered_number"] == want, f"{want}: {a}")
    run(body, journal=unanswered("all", "all"))


def contact_name():
    def body(s):
        s.pbx.ok(f"call {FRANK_RAW} 121")
        s.ringing(121)
        s.pbx.ok(f"hangup {FRANK_RAW}")
        c = s.call_done()
        check(c["remote"] == FRANK_MOBILE, f"the PBX's number normalised: {c}")
        check(c["contact_found"] == 1 and c["remote_user"] == "frank", f"{c}")
        check(c["remote_name"] == "Frank Test", f"{c}")
        a = s.rows(c["call"], 1)["alice"]
        check(a["remote_user"] == "frank" and a["remote_name"] == "Frank Test", f"{a}")
        # an unknown caller: no contact
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(c["contact_found"] == 0 and c["remote_user"] == "", f"{c}")
    run(body)


def journal_off():
    def body(s):
        for ext in (124, 128):
            s.pbx.ok(f"call {CALLER} {ext}")
            s.ringing(ext)
            s.pbx.ok(f"hangup {CALLER}")
        s.no_call()
        check(s.all_rows() == [], "nothing stored")
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(parts_of(c) == ["alice"], f"{c}")
        s.rows(c["call"], 1)
        check([r["user"] for r in s.all_rows()] == ["alice"], f"{s.all_rows()}")
    run(body)


PRIVATE = {"normal": (CALLER_CANONICAL, "+49 (89) 1234567"),
           "shortened": ("+49891234XXX", "+49 (89) 1234XXX"),
           "hidden": ("", "")}


def private(mode):
    """Calls to erin's private line under journal.private_calls = mode."""
    number, display = PRIVATE[mode]

    def body(s):
        s.pbx.ok(f"call {CALLER} 125")
        s.ringing(125)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(c["remote"] == number, f"{mode}: journal.call remote {c}")
        check(c["parts"][0]["private"] == 1, f"{c}")
        e = s.rows(c["call"], 1)["erin"]
        check(e["private"] == 1, f"{e}")
        check(e["remote_number"] == number and e["remote_display"] == display,
              f"{mode}: {e}")
        # frank's mobile: a contact, whose name only the normal mode keeps
        s.pbx.ok(f"call {FRANK_RAW} 125")
        s.ringing(125)
        s.pbx.ok(f"hangup {FRANK_RAW}")
        c = s.call_done()
        e = s.rows(c["call"], 1)["erin"]
        name, who = ("Frank Test", "frank") if mode == "normal" else ("", "")
        check(e["remote_name"] == name and e["remote_user"] == who, f"{mode}: {e}")
        check(c["remote_name"] == name and c["remote_user"] == who, f"{mode}: {c}")
    run(body, journal=unanswered(private_calls=mode))


def offline():
    def body(s):
        s.p.ok("in.login alice s1 1 0")
        s.p.ok("in.login bob s2 1 0")
        s.p.ok("in.login bob s2 0 0")
        s.pbx.ok("forward 121 noanswer 122")
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(122)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        rows = s.rows(c["call"], 2)
        check(rows["alice"]["offline"] == 0, f"alice has a session: {rows['alice']}")
        check(rows["bob"]["offline"] == 1, f"bob has none: {rows['bob']}")
        evs = s.journal_events()
        got = {key: ev for key, ev in evs}
        check(set(got) == {"user:alice", "user:bob"}, f"one journal.event each: {evs}")
        check(not got["user:alice"]["offline"] and got["user:bob"]["offline"], f"{evs}")
    run(body)


if __name__ == "__main__":
    cases = {f.__name__: f for f in (pbx_forwarding, deflect, pickup, redirect, hunt_parallel,
                                     hunt_sequential, pickup_phone, deflect_phone, hidden_number,
                                     short_ring, repeated_caller, transfer, internal_call,
                                     outgoing_call, contact_name, journal_off, offline)}
    for r in RULES:
        cases["missed_" + r] = lambda r=r: missed(r)
        cases["forwarded_" + r] = lambda r=r: forwarded(r)
    for m in PRIVATE:
        cases["private_" + m] = lambda m=m: private(m)
    main(cases)
