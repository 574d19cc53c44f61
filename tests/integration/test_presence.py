"""tests/integration/test_presence.py - rights and presence inside ucsd.

The real presence.so on the real userdb-file.so and dialplan.so (the dialplan
tests' locations, default Starnberg: 08151 3685-111 is +4981513685111),
driven through svcprobe: users, groups and settings are written with
ud.put (or as files plus SIGHUP), inputs are published on the bus with the
in.* commands, views are read with get and by subscribing to
presence.view. Cases: the precedence end to end, what a Public, Business
and Team watcher see of the same presence, setting another user's presence,
rights changes (a grant, a group, files + SIGHUP) reaching the views at
once, coalescing under a storm of 500 line changes, line binding by number
and by first phone (with extra lines), a meeting that ends by itself,
presence switched off globally (one unknown view), and the ucs.rights
service. Regression cases of the review: a deleted user's relations and
inputs do not pass to a new user with her id; two groups changed in one
SIGHUP both reach the views; computer logons and profiles leave the rights
generation alone; a hidden change moves nothing a Public watcher sees (seq
included); an internal number on two PBXs names no line.
"""
import json
import os
import re
import signal
import threading
import time

from harness import SOURCE, Failure, Probe, Ucsd, check, main

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
ALICE_NO = "+4981513685111"


def presence_ucsd(presence=None, log_level=None):
    config = {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                           "default_location": "Starnberg"}}
    if log_level:
        config["log"] = {"level": log_level}
    if presence is not None:
        config["presence"] = presence
    return Ucsd(plugins=["svcprobe"], tree_plugins=["dialplan", "userdb-file", "presence"],
                config=config)


def events(p, settle=0.3):
    """Every event line within `settle` seconds of quiet."""
    try:
        return p.events(settle)
    except (TimeoutError, OSError):
        out, p.pending = p.pending, []
        return out


def put(p, kind, doc):
    p.ok(f"ud.put {kind} {json.dumps(doc)}")


def line(p, **fields):
    p.ok("in.line " + json.dumps(fields))


def view(p, watcher, target):
    return json.loads(p.ok(f"get {watcher} {target}"))


def state(p, watcher, target):
    v = view(p, watcher, target)["presence"]
    return v["state"], v["reason"]


def payload(ev):
    return json.loads(ev.split(" ", 3)[3])


def same(a, b):
    """Two presences alike, seq included: a view's seq moves only with what
    the watcher sees (it is 0 in every view but her own)."""
    return a == b


def batch(p, cmds):
    """Sends several commands in one write, so that ucsd handles them in one
    go (before any of their bus messages is delivered); their replies."""
    p.sock.sendall(("\n".join(cmds) + "\n").encode())
    out = []
    deadline = time.monotonic() + 10
    while len(out) < len(cmds):
        ln = p._line(deadline)
        if ln.startswith("event "):
            p.pending.append(ln)
        elif not ln.startswith("# "):
            out.append(ln)
    return out


def wait_view(p, watcher, target, pred=lambda v: True, timeout=5):
    """The first presence.view event for watcher of target that satisfies
    pred; the views of target before it are consumed, those of other
    targets stay for later."""
    rx = re.compile(rf"^event presence\.view watcher:{re.escape(watcher)} ")
    deadline = time.monotonic() + timeout
    while True:
        found = None
        for i, ev in enumerate(p.pending):
            if rx.search(ev) and payload(ev)["presence"]["user"] == target:
                found = payload(p.pending.pop(i))
                break
        if found is not None:
            if pred(found):
                return found
            continue
        try:
            ln = p._line(deadline)
        except Failure:
            raise Failure(f"no matching view of {target} for {watcher} in {timeout} s; "
                          f"got {p.pending}") from None
        if ln.startswith("event "):
            p.pending.append(ln)


def users(p, *docs):
    for d in docs:
        put(p, "user", d)


def standard_users(p):
    """alice (the target, business 111), bob (Public: the global level),
    carol (Team with alice), dave (Business by alice's grant)."""
    users(p, {"id": "alice", "login": "alice", "phones": {"business": "08151 3685-111"},
              "second_phone": "l2", "grants": [{"user": "dave", "level": "business"}]},
          {"id": "bob", "login": "bob"}, {"id": "carol", "login": "carol"},
          {"id": "dave", "login": "dave"})
    put(p, "group", {"id": "team", "members": ["alice", "carol"],
                     "member_rights": {"level": "team"}})


def precedence():
    u = presence_ucsd()
    try:
        u.start()
        u.index(r"info \[presence\] presence for 0 users \(user store generation \d+\), "
                r"coalescing 100 ms$")
        p = Probe(u)
        standard_users(p)
        p.ok("sub presence.changed user:alice")
        now = int(time.time())
        steps = [
            ("", ("offline", "none")),
            ("in.login alice s1 1 0", ("available", "none")),
            ("in.login alice s1 1 1", ("away", "idle")),
            ("in.login alice s2 1 0", ("available", "none")),
            ("in.line " + json.dumps({"line": "l1", "internal": "111", "canonical": ALICE_NO,
                                      "state": "idle", "forwarding": True,
                                      "fwd_target": "+4989111"}), ("away", "forwarded")),
            ("set alice alice busy", ("busy", "manual")),
            ("in.calendar " + json.dumps({"user": "alice", "kind": "meeting", "end": now + 3600,
                                          "subject": "Review"}), ("busy", "meeting")),
            ("in.calendar " + json.dumps({"user": "alice", "kind": "out_of_office"}),
             ("away", "out_of_office")),
            ("in.av alice 1 bob", ("busy", "av_call")),
            ("in.line " + json.dumps({"line": "l2", "internal": "112", "state": "ringing",
                                      "direction": "incoming", "remote": "+4989222"}),
             ("busy", "ringing")),
            ("in.line " + json.dumps({"line": "l1", "internal": "111", "canonical": ALICE_NO,
                                      "state": "connected", "direction": "outgoing",
                                      "remote": "+4989333"}), ("busy", "on_phone")),
            ("in.line " + json.dumps({"line": "l2", "internal": "112", "state": "idle",
                                      "dnd": True}), ("dnd", "line_dnd")),
            ("set alice alice dnd", ("dnd", "manual")),
            ("set alice alice 0", ("dnd", "line_dnd")),
            ("in.line " + json.dumps({"line": "l2", "internal": "112", "state": "gone"}),
             ("busy", "on_phone")),
            ("in.line " + json.dumps({"line": "l1", "internal": "111", "canonical": ALICE_NO,
                                      "state": "idle"}), ("busy", "av_call")),
            ("in.av alice 0", ("away", "out_of_office")),
            ("in.calendar " + json.dumps({"user": "alice", "kind": "free"}),
             ("available", "none")),
            ("set alice alice available", ("available", "manual")),
            ("in.login alice s1 0 0", ("available", "manual")),
            ("in.login alice s2 0 0", ("available", "manual")),
            ("set alice alice 0", ("offline", "none")),
        ]
        for cmd, want in steps:
            if cmd:
                p.ok(cmd)
            got = state(p, "alice", "alice")
            check(got == want, f"after {cmd!r}: {got}, expected {want}")
        # every change went out unfiltered as presence.changed, in order
        changed = [payload(e) for e in events(p) if e.startswith("event presence.changed")]
        check(len(changed) >= len(steps) - 3, f"{len(changed)} presence.changed events")
        check((changed[-1]["state"], changed[-1]["reason"]) == ("offline", "none"),
              f"last presence.changed: {changed[-1]}")
        seqs = [c["seq"] for c in changed]
        check(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"seq moves: {seqs}")
        # inputs for users the store does not know are dropped
        p.ok("in.login nobody s1 1 0")
        check(p.cmd("get alice nobody").startswith("err ENOENT"), "unknown target")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def filtering_per_watcher():
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        for w in ("bob", "carol", "dave"):
            p.ok(f"sub presence.view watcher:{w}")
            p.ok(f"watch {w} alice")
            wait_view(p, w, "alice", lambda v: v["presence"]["state"] == "offline")
        p.ok("in.login alice s1 1 0")
        line(p, line="l1", internal="111", canonical=ALICE_NO, state="connected",
             direction="incoming", remote="+498912345678", remote_name="Ford Prefect")
        p.ok("set alice alice - back at 3")
        now = int(time.time())
        p.ok("in.calendar " + json.dumps({"user": "alice", "kind": "meeting", "private": True,
                                          "end": now + 3600, "subject": "Dentist",
                                          "place": "Downtown"}))
        bob = view(p, "bob", "alice")["presence"]
        carol = view(p, "carol", "alice")["presence"]
        dave = view(p, "dave", "alice")["presence"]
        me = view(p, "alice", "alice")["presence"]
        # Public: "busy", and what the Public column allows
        check((bob["state"], bob["reason"]) == ("busy", "none"), f"bob: {bob}")
        check(bob["lines"][0]["state"] == "idle" and bob["lines"][0]["remote"] == "",
              f"bob sees no call: {bob['lines']}")
        check(bob["lines"][0]["number"] == ALICE_NO, "Public sees the line's number")
        check(bob["note"] == "back at 3", "Public sees the note")
        check(bob["calendar"] == "free" and bob["subject"] == "", "no appointment for Public")
        # Team: "on the phone with +49 89 ..."
        check((carol["state"], carol["reason"]) == ("busy", "on_phone"), f"carol: {carol}")
        check(carol["lines"][0]["remote"] == "+498912345678", f"carol: {carol['lines']}")
        check(carol["lines"][0]["remote_name"] == "Ford Prefect", "the caller's name")
        check(carol["subject"] == "Private" and carol["place"] == "", "Team: 'Private'")
        # Business: the first line's incoming numbers, private appointments as "Private"
        check(dave["reason"] == "on_phone" and dave["lines"][0]["remote"] == "+498912345678",
              f"dave: {dave}")
        check(dave["subject"] == "Private", "Business: 'Private'")
        # herself: everything
        check(me["subject"] == "Dentist" and me["place"] == "Downtown", f"alice: {me}")
        # the same through the fan-out: each watcher's last view equals get()
        time.sleep(0.25)
        evs = events(p)
        for w in ("bob", "carol", "dave"):
            last = [payload(e) for e in evs if e.startswith(f"event presence.view watcher:{w} ")]
            check(last, f"{w} got views")
            check(same(last[-1]["presence"], view(p, w, "alice")["presence"]),
                  f"{w}'s last view is the current one")
        # rights travel with the view
        check("see_line_state" not in view(p, "bob", "alice")["rights_names"], "bob's rights")
        check("line1.see_incoming" in view(p, "carol", "alice")["rights_names"], "carol's")
        # an outgoing call on the second line: Business may not see it, Team may
        line(p, line="l2", internal="112", state="connected", direction="outgoing",
             remote="+4940777")
        v2 = {w: [l for l in view(p, w, "alice")["presence"]["lines"] if l["line"] == "l2"][0]
              for w in ("carol", "dave")}
        check(v2["carol"]["remote"] == "+4940777", f"Team sees line 2 outgoing: {v2}")
        check(v2["dave"]["remote"] == "" and v2["dave"]["state"] == "connected",
              f"Business sees line 2 busy, not whom: {v2}")
        # nor who calls on it
        line(p, line="l2", internal="112", state="ringing", direction="incoming",
             remote="+4940888")
        v2 = {w: [l for l in view(p, w, "alice")["presence"]["lines"] if l["line"] == "l2"][0]
              for w in ("carol", "dave")}
        check(v2["carol"]["remote"] == "+4940888", f"Team sees line 2 incoming: {v2}")
        check(v2["dave"]["remote"] == "" and v2["dave"]["state"] == "ringing",
              f"Business sees line 2 ring, not who calls: {v2}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def set_needs_right():
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        check(p.cmd("set bob alice busy").startswith("err EPERM"), "Public may not set it")
        check(p.cmd("set bob alice - hello").startswith("err EPERM"), "nor the note")
        check(p.cmd("set dave alice busy").startswith("err EPERM"), "nor Business")
        u.wait_for(r"info \[presence\] bob may not set the presence or note of alice: refused")
        check(state(p, "alice", "alice") == ("offline", "none"), "nothing changed")
        p.ok("set carol alice busy in a meeting")
        v = view(p, "alice", "alice")["presence"]
        check((v["state"], v["reason"], v["manual"]) == ("busy", "manual", "busy"), f"{v}")
        check(v["note"] == "in a meeting", f"note: {v['note']}")
        p.ok('set carol alice - ""')
        check(view(p, "alice", "alice")["presence"]["note"] == "", "note cleared")
        p.ok("set bob bob away")
        check(state(p, "bob", "bob") == ("away", "manual"), "herself")
        check(p.cmd("set carol nobody busy").startswith("err ENOENT"), "unknown target")
        check(p.cmd("set carol alice 9").startswith("err EINVAL"), "no such state")
        # the right comes with a grant, at once
        put(p, "user", {"id": "alice", "login": "alice", "grants": [{"user": "bob",
                                                                      "level": "personal"}]})
        p.ok("set bob alice available")
        check(state(p, "alice", "alice") == ("available", "manual"), "bob set it")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def rights_change_propagates():
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        p.ok("sub rights.changed")
        p.ok("sub presence.view watcher:bob")
        p.ok("watch bob alice")
        line(p, line="l1", internal="111", canonical=ALICE_NO, state="connected",
             direction="incoming", remote="+4989555")
        wait_view(p, "bob", "alice", lambda v: v["presence"]["state"] == "busy")
        check(view(p, "bob", "alice")["presence"]["lines"][0]["remote"] == "", "hidden")
        gen = int(p.ok("generation"))
        # alice grants bob Team
        t0 = time.monotonic()
        put(p, "user", {"id": "alice", "login": "alice", "phones": {"business": "08151 3685-111"},
                        "grants": [{"user": "bob", "level": "team"}]})
        v = wait_view(p, "bob", "alice", lambda v: v["presence"]["reason"] == "on_phone")
        took = time.monotonic() - t0
        check(v["presence"]["lines"][0]["remote"] == "+4989555", f"bob's view: {v}")
        check(took < 1.0, f"the new view took {took:.3f} s")
        ev = p.wait_event(r"^event rights\.changed ")
        rc = payload(ev)
        check(rc["target"] == "alice" and rc["generation"] > gen, f"rights.changed: {rc}")
        check("set_presence" in p.ok("rights bob alice"), "the service agrees")
        # and taken back
        put(p, "user", {"id": "alice", "login": "alice", "phones": {"business": "08151 3685-111"}})
        v = wait_view(p, "bob", "alice", lambda v: v["presence"]["reason"] == "none")
        check(v["presence"]["lines"][0]["remote"] == "", f"hidden again: {v}")
        # files edited by an operator + SIGHUP: the same
        path = os.path.join(u.state, "userdb", "users", "alice.json")
        doc = json.load(open(path))
        doc["grants"] = [{"user": "bob", "level": "business"}]
        with open(path, "w") as f:
            json.dump(doc, f)
        u.signal(signal.SIGHUP)
        v = wait_view(p, "bob", "alice", lambda v: v["presence"]["reason"] == "on_phone")
        check(v["presence"]["lines"][0]["remote"] == "+4989555", f"after SIGHUP: {v}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def group_change_propagates():
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        p.ok("sub presence.view watcher:bob")
        p.ok("sub rights.changed")
        p.ok("watch bob alice")
        p.ok("in.av alice 1 carol")
        wait_view(p, "bob", "alice", lambda v: v["presence"]["av_busy"])
        check(view(p, "bob", "alice")["presence"]["av_with"] == "", "Public: AV grey only")
        put(p, "group", {"id": "team", "members": ["alice", "carol", "bob"],
                         "member_rights": {"level": "team"}})
        v = wait_view(p, "bob", "alice", lambda v: v["presence"]["av_with"] == "carol")
        check(v["presence"]["reason"] == "av_call", f"{v}")
        rc = payload(p.wait_event(r"^event rights\.changed "))
        check(rc["target"] == "", f"a group change touches any pair: {rc}")
        # a group of its own with bob as leader: leader rights on top
        now = int(time.time())
        p.ok("in.calendar " + json.dumps({"user": "alice", "kind": "meeting", "private": True,
                                          "end": now + 3600, "subject": "Dentist"}))
        check(view(p, "bob", "alice")["presence"]["subject"] == "Private", "Team: Private")
        put(p, "group", {"id": "boss", "members": ["alice"], "leader": "bob",
                         "leader_rights": {"level": "personal"}})
        wait_view(p, "bob", "alice", lambda v: v["presence"]["subject"] == "Dentist")
        # the group goes inactive: back to Team
        put(p, "group", {"id": "boss", "members": ["alice"], "leader": "bob", "active": False,
                         "leader_rights": {"level": "personal"}})
        wait_view(p, "bob", "alice", lambda v: v["presence"]["subject"] == "Private")
        # alice leaves team: carol, watching her, drops to Public
        p.ok("sub presence.view watcher:carol")
        p.ok("watch carol alice")
        wait_view(p, "carol", "alice", lambda v: v["presence"]["av_with"] == "carol")
        put(p, "group", {"id": "team", "members": ["carol", "bob"],
                         "member_rights": {"level": "team"}})
        wait_view(p, "carol", "alice", lambda v: v["presence"]["av_with"] == "")
        put(p, "group", {"id": "team", "members": ["alice", "carol", "bob"],
                         "member_rights": {"level": "team"}})
        wait_view(p, "carol", "alice", lambda v: v["presence"]["av_with"] == "carol")
        # bob leaves team: Public again
        put(p, "group", {"id": "team", "members": ["alice", "carol"],
                         "member_rights": {"level": "team"}})
        v = wait_view(p, "bob", "alice", lambda v: v["presence"]["av_with"] == "")
        # Public sees the AV state (grey) and so its reason, not with whom
        check(v["presence"]["reason"] == "av_call" and v["presence"]["subject"] == "", f"{v}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


class Recorder:
    """A second svcprobe connection whose events a thread reads and stamps
    on arrival, so the main connection's command traffic does not delay the
    time a view is seen."""

    def __init__(self, u, subs):
        self.p = Probe(u)
        for s in subs:
            self.p.ok(s)
        self.got = []
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            try:
                ln = self.p._line(time.monotonic() + 0.2)
            except (Failure, TimeoutError, OSError):
                continue
            with self.lock:
                self.got.append((time.monotonic(), ln))

    def take(self):
        with self.lock:
            out, self.got = self.got, []
        return out

    def close(self):
        self.stop = True
        self.thread.join()
        self.p.close()


VIEW_LOG = re.compile(r"^\S+ (\d\d):(\d\d):(\d\d)\.(\d{3}) debug \[presence\] view of "
                      r"(\S+) for (\S+): ")


def view_log(u, target, watcher):
    """When the server handed out each view of target for watcher (seconds,
    from its debug log lines)."""
    out = []
    for ln in u.log().splitlines():
        m = VIEW_LOG.match(ln)
        if m and m.group(5) == target and m.group(6) == watcher:
            h, mi, sec, ms = (int(x) for x in m.group(1, 2, 3, 4))
            out.append(h * 3600 + mi * 60 + sec + ms / 1000)
    return out


def coalescing_storm():
    u = presence_ucsd(log_level="debug")
    rec = None
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        p.ok("in.login alice s1 1 0")
        rec = Recorder(u, ["sub presence.view watcher:bob", "sub presence.view watcher:carol",
                           "sub presence.changed user:alice"])
        for w in ("bob", "carol"):
            p.ok(f"watch {w} alice")
        time.sleep(0.3)
        rec.take()
        # 500 line changes in ten bursts of 50, 20 ms apart
        t0 = time.monotonic()
        n = 0
        for burst in range(10):
            cmds = []
            for i in range(50):
                st = "ringing" if n % 7 == 0 else "connected"
                cmds.append("in.line " + json.dumps({
                    "line": "l1", "internal": "111", "canonical": ALICE_NO, "state": st,
                    "direction": "incoming", "remote": f"+49891{n:04d}"}))
                n += 1
            p.sock.sendall(("\n".join(cmds) + "\n").encode())
            for i in range(50):
                ln = p._line(time.monotonic() + 10)
                check(ln == "ok", f"in.line: {ln}")
            time.sleep(0.02)
        storm = time.monotonic() - t0
        time.sleep(0.5)
        received = rec.take()
        changed = [e for _, e in received if e.startswith("event presence.changed")]
        check(len(changed) >= 400, f"the storm changed alice {len(changed)} times")
        for w in ("bob", "carol"):
            views = [(t, payload(e)) for t, e in received
                     if e.startswith(f"event presence.view watcher:{w} ")]
            bound = int(storm / 0.1) + 2
            check(1 <= len(views) <= bound,
                  f"{w}: {len(views)} views in {storm:.2f} s (at most {bound})")
            # one view per 100 ms, as the server hands them to the bus (its
            # log says when; the receive times here jitter with the load)
            sent = view_log(u, "alice", w)[-len(views):]
            check(len(sent) == len(views), f"{w}: {len(sent)} logged, {len(views)} received")
            gaps = [round(b - a, 3) for a, b in zip(sent, sent[1:])]
            check(all(g >= 0.099 for g in gaps), f"{w}: gaps {gaps}")
            check(same(views[-1][1]["presence"], view(p, w, "alice")["presence"]),
                  f"{w}: the last state arrived")
        carol_last = view(p, "carol", "alice")["presence"]["lines"][0]
        check(carol_last["remote"] == "+498910499", f"carol's last view: {carol_last}")
        check(len([1 for _, e in received if "watcher:bob" in e]) == 1,
              "Public sees 'busy' once: the numbers change nothing for bob")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if rec:
            rec.close()
        u.close()


def binding_by_number():
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        users(p, {"id": "alice", "login": "alice",
                  "phones": {"business": "08151 3685-111", "business2": "08151 3685-112",
                             "mobile": "0171 1234567"},
                  "other_numbers": ["+4981513685113"]})
        line(p, line="pbx/111", internal="111", canonical=ALICE_NO, state="idle")
        line(p, line="pbx/112", internal="112", canonical="+4981513685112", state="idle")
        line(p, line="pbx/113", internal="113", canonical="+4981513685113", state="idle")
        line(p, line="gsm", internal="", canonical="+491711234567", state="idle")
        got = json.loads(p.ok("lines alice"))
        check(got == [{"line": "pbx/111", "class": "first"}, {"line": "pbx/112", "class": "second"},
                      {"line": "pbx/113", "class": "additional"}], f"lines: {got}")
        check(json.loads(p.ok("owners pbx/111")) == ["alice"], "owners")
        check(json.loads(p.ok("owners gsm")) == [], "a mobile number binds no line")
        line(p, line="pbx/112", internal="112", canonical="+4981513685112", state="ringing",
             direction="incoming", remote="+4930111")
        check(state(p, "alice", "alice") == ("busy", "ringing"), "her second line rings")
        # automatic binding switched off: numbers bind nothing
        put(p, "settings", {"auto_line_binding": False})
        check(json.loads(p.ok("lines alice")) == [], "unbound")
        check(state(p, "alice", "alice") == ("offline", "none"), "the line no longer counts")
        put(p, "settings", {"auto_line_binding": True})
        check(len(json.loads(p.ok("lines alice"))) == 3, "bound again")
        check(state(p, "alice", "alice") == ("busy", "ringing"), "and counts again")
        # a line that changes its number changes its owner
        users(p, {"id": "erin", "login": "erin", "phones": {"business": "08151 3685-114"}})
        line(p, line="pbx/112", internal="112", canonical="+4981513685114", state="ringing",
             direction="incoming", remote="+4930111")
        check(json.loads(p.ok("owners pbx/112")) == ["erin"], "renumbered")
        check(state(p, "erin", "erin") == ("busy", "ringing"), "erin's now")
        check(state(p, "alice", "alice") == ("offline", "none"), "not alice's")
        check(p.cmd("owners nope").startswith("err ENOENT"), "unknown line")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def binding_by_first_phone():
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        put(p, "settings", {"auto_line_binding": False})
        users(p, {"id": "bob", "login": "bob", "first_phone": "222", "second_phone": "l-b2",
                  "other_lines": ["223"]},
              {"id": "carol", "login": "carol",
               "extra_lines": [{"line": "222", "show_incoming": True}]})
        line(p, line="pbx/222", internal="222", state="idle")
        line(p, line="l-b2", internal="", state="idle")
        line(p, line="pbx/223", internal="223", state="idle")
        got = json.loads(p.ok("lines bob"))
        check(got == [{"line": "pbx/222", "class": "first"}, {"line": "l-b2", "class": "second"},
                      {"line": "pbx/223", "class": "additional"}], f"bob's lines: {got}")
        check(json.loads(p.ok("lines carol")) == [{"line": "pbx/222", "class": "additional"}],
              "the extra line is listed for carol")
        check(json.loads(p.ok("owners pbx/222")) == ["bob"], "but it is bob's")
        line(p, line="pbx/222", internal="222", state="ringing", direction="incoming",
             remote="+4989444")
        check(state(p, "bob", "bob") == ("busy", "ringing"), "bob's first phone rings")
        # carol is Public on bob, but the extra line shows her its calls
        c = view(p, "carol", "bob")["presence"]
        first = [l for l in c["lines"] if l["line"] == "pbx/222"][0]
        check(first["state"] == "ringing" and first["remote"] == "+4989444", f"carol: {c}")
        check(c["reason"] == "ringing", "and the reason")
        d = view(p, "bob", "bob")["presence"]
        check(len(d["lines"]) == 3, f"bob's presence carries his three lines: {d}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def calendar_expiry():
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        p.ok("in.login alice s1 1 0")
        p.ok("sub presence.changed user:alice")
        p.ok("sub presence.view watcher:carol")
        p.ok("watch carol alice")
        end = int(time.time()) + 2
        p.ok("in.calendar " + json.dumps({"user": "alice", "kind": "meeting", "end": end,
                                          "subject": "Standup"}))
        check(state(p, "carol", "alice") == ("busy", "meeting"), "in the meeting")
        check(view(p, "carol", "alice")["presence"]["calendar_end"] == end, "until end")
        ev = p.wait_event(r"^event presence\.changed user:alice .*\"state\":\"available\"",
                          timeout=5)
        lapsed = time.time()
        check(end <= lapsed < end + 1.5, f"lapsed at {lapsed:.2f}, end {end}")
        check(payload(ev)["calendar"] == "free", f"{ev}")
        wait_view(p, "carol", "alice", lambda v: v["presence"]["state"] == "available")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def presence_off():
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        p.ok("in.login alice s1 1 0")
        p.ok("sub presence.view watcher:carol")
        p.ok("watch carol alice")
        wait_view(p, "carol", "alice", lambda v: v["presence"]["state"] == "available")
        n = len(u.lines)
        put(p, "settings", {"restrictions": {"presence_off": True}})
        u.wait_for(r"info \[presence\] presence switched off globally", after=n)
        check(p.ok("restrictions") == "0x1", "the restriction")
        # every watcher is told once: the client stops showing the last state
        v = wait_view(p, "carol", "alice", timeout=2)
        check(v["presence"]["state"] == "unknown" and v["presence"]["lines"] == [] and
              v["presence"]["note"] == "", f"one unknown view: {v}")
        check(same(v["presence"], view(p, "carol", "alice")["presence"]), "get() agrees")
        check(state(p, "carol", "alice") == ("unknown", "none"), "nobody sees it")
        check(state(p, "alice", "alice") == ("unknown", "none"), "not even herself")
        check(p.cmd("set alice alice busy").startswith("err ENOTSUP"), "set is refused")
        line(p, line="l1", internal="111", canonical=ALICE_NO, state="ringing")
        time.sleep(0.3)
        evs = events(p)
        check(not [e for e in evs if e.startswith("event presence.view")],
              f"no more views while off: {evs}")
        put(p, "settings", {"restrictions": {"presence_off": False}})
        u.wait_for(r"info \[presence\] presence switched on again", after=n)
        v = wait_view(p, "carol", "alice", lambda v: v["presence"]["state"] == "busy")
        check(v["presence"]["reason"] == "ringing", f"the current state: {v}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def departed_user_starts_clean():
    """A user who leaves the store takes her watch relations (as watcher and
    as target) and her inputs with her: a user created later with the same
    id inherits nothing - also when she is deleted and created again before
    presence handled the deletion."""
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        alice_doc = {"id": "alice", "login": "alice"}
        p.ok("sub presence.view watcher:alice")
        p.ok("sub userdb.changed user:alice")

        def relate():
            p.ok("watch bob alice")
            p.ok("watch alice carol")
            p.ok("in.login alice s1 1 0")
            p.ok("set alice alice busy gone fishing")
            check(state(p, "bob", "alice") == ("busy", "manual"), "bob sees her")
            wait_view(p, "alice", "carol")

        relate()
        p.ok("ud.remove user alice")
        p.wait_event(r"^event userdb\.changed user:alice .*\"deleted\"")
        check(p.cmd("get bob alice").startswith("err ENOENT"), "no presence")
        check(p.cmd("unwatch bob alice").startswith("err ENOENT"), "bob's watch went with her")
        check(p.cmd("unwatch alice carol").startswith("err ENOENT"), "and hers")
        put(p, "user", alice_doc)
        p.wait_event(r"^event userdb\.changed user:alice .*\"created\"")
        v = view(p, "alice", "alice")["presence"]
        check((v["state"], v["reason"], v["note"]) == ("offline", "none", ""), f"clean: {v}")
        check(p.cmd("unwatch bob alice").startswith("err ENOENT"), "nobody watches the new one")
        events(p)
        p.ok("in.login carol s1 1 0")
        time.sleep(0.3)
        evs = [e for e in events(p) if e.startswith("event presence.view watcher:alice ")]
        check(not evs, f"the new alice watches nobody: {evs}")

        # deleted and created anew in one go: presence sees her present both
        # times, the deletion alone tells
        relate()
        got = batch(p, ["ud.remove user alice", "ud.put user " + json.dumps(alice_doc)])
        check(got == ["ok", "ok"], f"{got}")
        p.wait_event(r"^event userdb\.changed user:alice .*\"created\"")
        check(p.cmd("unwatch bob alice").startswith("err ENOENT"), "bob's watch went")
        check(p.cmd("unwatch alice carol").startswith("err ENOENT"), "and hers")
        v = view(p, "alice", "alice")["presence"]
        check((v["state"], v["note"]) == ("offline", ""), f"clean again: {v}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def bulk_group_change():
    """Two groups edited on disk and applied by one SIGHUP: the store
    publishes both changes with one generation, and each is compared with
    its group as it was, so bob loses what either group gave him."""
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        users(p, {"id": "alice", "login": "alice", "phones": {"business": "08151 3685-111"}},
              {"id": "bob", "login": "bob"},
              {"id": "erin", "login": "erin", "phones": {"business": "08151 3685-114"}})
        for g, member in (("g1", "alice"), ("g2", "erin")):
            put(p, "group", {"id": g, "members": [member, "bob"],
                             "member_rights": {"level": "team"}})
        p.ok("sub presence.view watcher:bob")
        p.ok("sub userdb.changed")
        for t, no, ln in (("alice", ALICE_NO, "l1"), ("erin", "+4981513685114", "l4")):
            p.ok(f"watch bob {t}")
            line(p, line=ln, internal=no[-3:], canonical=no, state="connected",
                 direction="incoming", remote="+4989555")
            wait_view(p, "bob", t, lambda v: [ln["remote"] for ln in v["presence"]["lines"]]
                      == ["+4989555"])
        time.sleep(0.15)
        events(p)
        for g, member in (("g1", "alice"), ("g2", "erin")):
            path = os.path.join(u.state, "userdb", "groups", f"{g}.json")
            doc = json.load(open(path))
            doc["members"] = [m for m in doc["members"] if m != member]
            with open(path, "w") as f:
                json.dump(doc, f)
        u.signal(signal.SIGHUP)
        gens = [payload(p.wait_event(rf"^event userdb\.changed group:{g} "))["generation"]
                for g in ("g1", "g2")]
        check(gens[0] == gens[1], f"one commit, one generation: {gens}")
        for t in ("alice", "erin"):
            v = wait_view(p, "bob", t, lambda v: v["presence"]["reason"] == "none", timeout=2)
            check(v["presence"]["lines"][0]["remote"] == "", f"bob's view of {t}: {v}")
        time.sleep(0.15)
        for t in ("alice", "erin"):
            got = view(p, "bob", t)["presence"]
            last = [payload(e)["presence"] for e in p.pending + events(p)
                    if e.startswith("event presence.view watcher:bob ")
                    and payload(e)["presence"]["user"] == t]
            check(not last or same(last[-1], got), f"{t}: the last view is get()'s")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def logon_keeps_rights():
    """Computer logons and profiles change no right: the rights generation
    stays, no rights.changed; a rights change after them moves it by one."""
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        put(p, "computer", {"id": "pc1"})
        p.ok("sub rights.changed")
        p.ok("sub userdb.changed")
        time.sleep(0.2)
        events(p)
        gen = int(p.ok("generation"))
        p.ok(f"ud.logon pc1 alice {int(time.time())}")
        p.wait_event(r"^event userdb\.changed computer:pc1 ")
        put(p, "profile", {"id": "sales"})
        p.wait_event(r"^event userdb\.changed profile:sales ")
        time.sleep(0.2)
        check(int(p.ok("generation")) == gen, f"generation {p.ok('generation')}, was {gen}")
        evs = [e for e in events(p) if e.startswith("event rights.changed")]
        check(not evs, f"no rights.changed: {evs}")
        # a logon and a grant in one go: the logon's message comes first and
        # already finds the grant's snapshot; the grant still arrives
        grant = {"id": "alice", "login": "alice", "phones": {"business": "08151 3685-111"},
                 "grants": [{"user": "bob", "level": "team"}]}
        got = batch(p, [f"ud.logon pc1 bob {int(time.time())}",
                        "ud.put user " + json.dumps(grant)])
        check(got == ["ok", "ok"], f"{got}")
        rc = payload(p.wait_event(r"^event rights\.changed "))
        check(rc == {"generation": gen + 1, "target": "alice"}, f"rights.changed: {rc}")
        check(int(p.ok("generation")) == gen + 1, "one step")
        check("set_presence" in p.ok("rights bob alice"), "the grant counts")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def hidden_change_invisible():
    """A change a Public watcher may not see (the remote party of a call)
    moves nothing she sees: no view, and get() answers the very same view,
    seq included. Team sees it; herself sees seq move."""
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        standard_users(p)
        p.ok("sub presence.view watcher:bob")
        p.ok("watch bob alice")
        line(p, line="l1", internal="111", canonical=ALICE_NO, state="connected",
             direction="incoming", remote="+4989111")
        wait_view(p, "bob", "alice", lambda v: v["presence"]["state"] == "busy")
        time.sleep(0.15)
        events(p)
        before, me = view(p, "bob", "alice"), view(p, "alice", "alice")
        line(p, line="l1", internal="111", canonical=ALICE_NO, state="connected",
             direction="incoming", remote="+4989222")
        after = view(p, "bob", "alice")
        check(after == before, f"Public: {before} -> {after}")
        check(view(p, "carol", "alice")["presence"]["lines"][0]["remote"] == "+4989222",
              "Team sees the new caller")
        check(view(p, "alice", "alice")["presence"]["seq"] > me["presence"]["seq"],
              "her own seq moves")
        time.sleep(0.3)
        evs = [e for e in events(p) if e.startswith("event presence.view")]
        check(not evs, f"no view for bob: {evs}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def shared_internal_number():
    """Two PBXs both have an extension 222: the internal number names no
    line then (a warning says so once), the line ids still do; when one goes,
    222 binds again."""
    u = presence_ucsd()
    try:
        u.start()
        p = Probe(u)
        put(p, "settings", {"auto_line_binding": False})
        users(p, {"id": "bob", "login": "bob", "first_phone": "222"},
              {"id": "carol", "login": "carol", "first_phone": "pbx-b/222"})
        line(p, line="pbx-a/222", internal="222", state="idle")
        check(json.loads(p.ok("lines bob")) == [{"line": "pbx-a/222", "class": "first"}],
              "one line with 222: bound by internal number")
        n = len(u.lines)
        line(p, line="pbx-b/222", internal="222", state="idle")
        check(json.loads(p.ok("lines bob")) == [], "222 names no line now")
        check(json.loads(p.ok("owners pbx-b/222")) == ["carol"], "the line id still binds")
        u.wait_for(r"warning \[presence\] internal number 222 is reported by several lines "
                   r"\(pbx-a/222, pbx-b/222\): they bind by line id only$", after=n)
        line(p, line="pbx-b/222", internal="222", state="ringing", direction="incoming")
        line(p, line="pbx-c/222", internal="222", state="idle")
        line(p, line="pbx-b/222", internal="222", state="gone")
        line(p, line="pbx-c/222", internal="222", state="gone")
        check(json.loads(p.ok("lines bob")) == [{"line": "pbx-a/222", "class": "first"}],
              "unique again: bound again")
        check(u.stop()[0] == 0, "clean exit")
        check(u.log().count("internal number 222 is reported") == 1, "warned once")
    finally:
        u.close()


def rights_service():
    u = presence_ucsd({"coalesce_ms": 50, "max_watches": 2})
    try:
        u.start()
        u.index(r"coalescing 50 ms$")
        p = Probe(u)
        standard_users(p)
        put(p, "settings", {"services": ["chat"], "rights": {"level": "public"}})
        put(p, "user", {"id": "eve", "login": "eve", "services": ["sms"]})
        bob = p.ok("rights bob alice")
        carol = p.ok("rights carol alice")
        check(bob.split()[0] == p.ok("level public").split()[0], f"bob is Public: {bob}")
        check(carol.split()[0] == p.ok("level team").split()[0], f"carol is Team: {carol}")
        me, personal = (int(p.ok(c).split()[0], 16) for c in ("rights alice alice",
                                                               "level personal"))
        check(me & personal == personal and me & 0x70000000 == 0x70000000,
              f"herself: everything ({me:#x})")
        check(p.ok("rights nobody alice").startswith("0x0 "), "unknown: nothing")
        check(p.ok("services eve") == '0x42 ["chat","sms"]', "services add up")
        check(int(p.ok("fields bob alice"), 16) != 0, "contact fields")
        check(int(p.ok("fields bob alice"), 16) & (1 << 11) == 0, "Public: no private phone")
        # an id longer than a ucs_id holds never enters the store
        long_id = "x" * 70
        got = p.cmd(f"ud.put user {json.dumps({'id': long_id, 'login': long_id})}")
        check(got.startswith("err EINVAL id:"), f"long id refused: {got}")
        check(p.cmd(f"get alice {long_id}").startswith("err ENOENT"), "no presence")
        ex = json.loads(p.ok("explain carol alice"))
        check("team" in ex["groups"], f"explain: {ex}")
        # max_watches
        p.ok("watch bob alice")
        p.ok("watch bob carol")
        check(p.cmd("watch bob dave").startswith("err ENOSPC"), "max_watches")
        u.wait_for(r"warning \[presence\] bob watches 2 users already \(max_watches\): dave "
                   r"refused")
        check(p.cmd("unwatch bob dave").startswith("err ENOENT"), "not watching")
        p.ok("unwatch bob carol")
        p.ok("watch bob dave")
        # a broken reload keeps running; a valid one applies
        conf = {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                             "default_location": "Starnberg"}}
        u.write_config(dict(conf, presence={"coalesce_ms": -1}))
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"error \[config\] .*presence\.coalesce_ms: -1 is out of range", after=n)
        # a new cache size builds a new engine: its generation goes on from
        # the old one's (consumers cache by it) and rights.changed says so
        gen = int(p.ok("generation"))
        check(gen > 1, f"generation {gen}")
        p.ok("sub rights.changed")
        events(p, 0.1)
        u.write_config(dict(conf, presence={"coalesce_ms": 70, "rights_cache_slots": 4096}))
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"info \[presence\] settings: coalescing 70 ms, at most 10000 watches per "
                   r"watcher \(0: no limit\), steps of 1000 us, 4096 rights cache slots", after=n)
        check(p.ok("rights carol alice").split()[0] == p.ok("level team").split()[0],
              "the new rights cache answers")
        got = int(p.ok("generation"))
        check(got > gen, f"the generation went from {gen} to {got}")
        try:  # (a reload of the user store on the same SIGHUP may announce its own)
            p.wait_event(rf'^event rights\.changed - {{"generation":{got},"target":""}}$',
                         timeout=2)
        except Failure:
            raise Failure(f"no rights.changed of generation {got}: {p.pending}") from None
        check(u.alive(), "still running")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (precedence, filtering_per_watcher, set_needs_right,
                                  rights_change_propagates, group_change_propagates,
                                  coalescing_storm, binding_by_number, binding_by_first_phone,
                                  calendar_expiry, presence_off, rights_service,
                                  departed_user_starts_clean, bulk_group_change,
                                  logon_keeps_rights, hidden_change_invisible,
                                  shared_internal_number)})
