"""tests/integration/test_lines.py - the line manager (plugins/lines) in ucsd.

The real ucsd with the real dialplan.so (the dialplan tests' locations,
default Starnberg: 121 is +4981513685121), userdb-file.so, presence.so and
lines.so, plus two test plugins: testdriver (a scriptable line driver that
registers through ucs.linemgr like a PBX driver, tests/plugins/testdriver.c)
and svcprobe ("td ..." plays the PBX, "ln.call" sends call.control, "ln.*"
reads ucs.lines and lines.admin; tests/plugins/svcprobe_lines.c).

Users: alice 121, bob 122, carol 123 (bob grants her line1.pickup), dave
124 (bob grants him line1.set_forwarding); their business numbers bind the
lines. Statuses in replies are negative errno values.
"""
import json
import os
import re
import signal
import time

from harness import SOURCE, Failure, Probe, Ucsd, check, main

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")

EPERM, ENOENT, EINVAL, ENETDOWN, ENOTSUP, ETIMEDOUT, EREMOTEIO = 1, 2, 22, 100, 95, 110, 121
WITHDRAWN = re.compile(r"after its type was withdrawn")


def num(ext):
    return f"+49815136856{ext}"


def user(uid, ext, **fields):
    doc = {"id": uid, "login": uid, "phones": {"business": f"08151 36856-{ext}"}}
    doc.update(fields)
    return doc


USERS = [user("alice", 121), user("carol", 123), user("dave", 124),
         user("bob", 122, grants=[{"user": "carol", "level": "blocked", "extra": ["line1.pickup"]},
                                  {"user": "dave", "level": "blocked",
                                   "extra": ["line1.set_forwarding"]}])]


def td_line(ext, **kw):
    d = {"id": f"pbx/{ext}", "group": "pbx", "device": str(ext)}
    d.update(kw)
    return d


def config(lines=None, td_lines=None, td_groups=None):
    return {
        "dialplan": {"config_dir": FIXTURES, "data_dir": DATA, "default_location": "Starnberg"},
        "lines": dict({"request_timeout_ms": 600}, **(lines or {})),
        "testdriver": {"groups": td_groups or [{"name": "pbx", "caps": ["*"]}],
                       "lines": td_lines if td_lines is not None else
                       [td_line(e) for e in (121, 122, 123, 124)]},
    }


class Server:
    def __init__(self, lines=None, td_lines=None, td_groups=None, users=USERS, extra=None,
                 extra_tree=(), computers=(), simulate=False):
        self.cfg = config(lines, td_lines, td_groups)
        self.cfg.update(extra or {})
        if simulate:
            self.cfg["testdriver"]["simulate"] = True
        self.u = Ucsd(plugins=["svcprobe", "testdriver"], config=self.cfg,
                      tree_plugins=["dialplan", "userdb-file", "presence", "lines"] +
                      list(extra_tree))
        store = os.path.join(self.u.state, "userdb")
        os.makedirs(os.path.join(store, "users"), exist_ok=True)
        for d in users:
            with open(os.path.join(store, "users", d["id"] + ".json"), "w") as f:
                json.dump(d, f)
        if computers:
            os.makedirs(os.path.join(store, "computers"), exist_ok=True)
        for d in computers:
            with open(os.path.join(store, "computers", d["id"] + ".json"), "w") as f:
                json.dump(d, f)
        with open(os.path.join(store, "settings.json"), "w") as f:
            json.dump({"rights": {"level": "blocked"}}, f)
        self.p = None

    def start(self):
        self.u.start()
        self.p = Probe(self.u)
        return self

    def td(self, cmd):
        return self.p.ok("td " + cmd)

    def requests(self):
        return json.loads(self.td("requests"))

    def call(self, **q):
        return json.loads(self.p.ok("ln.call " + json.dumps(q), timeout=15))

    def line(self, lid):
        return json.loads(self.p.ok("ln.line " + lid))

    def calls(self, lid):
        return json.loads(self.p.ok("ln.calls " + lid))

    def admin(self, cmd):
        got = self.p.ok("ln.admin " + cmd)
        status, text = got.split(" ", 1)
        return int(status), json.loads(text)

    def event(self, pattern, timeout=5):
        line = self.p.wait_event(pattern, timeout)
        return json.loads(line.split(" ", 3)[3])

    def stop(self):
        if self.p:
            self.p.close()
            self.p = None
        rc, _ = self.u.stop()
        check(rc == 0, f"clean exit ({rc})")
        # presence stops before the driver removes its lines: the line manager
        # must not publish into the types presence took with it
        bad = [x for x in self.u.lines if x and WITHDRAWN.search(x)]
        check(not bad, f"publishing into a withdrawn type at stop: {bad[:3]} ({len(bad)})")

    def close(self):
        if self.p:
            self.p.close()
        self.u.close()


def run(srv, body):
    try:
        srv.start()
        body(srv)
        srv.stop()
    finally:
        srv.close()


def ring(s, line, call, caller, dev):
    s.td(f"event {line} delivered alerting {call} calling={caller} called={dev}")


# ---- configuration ----------------------------------------------------------------


def config_errors():
    # a duplicate internal number names both lines; the server runs on without lines
    cfg = config({"lines": [{"id": "pbx/121", "internal": "121"},
                            {"id": "pbx/122", "internal": "121"}]})
    u = Ucsd(plugins=["svcprobe", "testdriver"], config=cfg, tree_plugins=["dialplan", "lines"])
    try:
        u.start(wait=False)
        u.wait_for(r"error \[lines\] .*ucsd\.json:\d+:\d+: lines: internal: internal number 121 "
                   r"of line pbx/122 is also line pbx/121's")
        u.stop()
    finally:
        u.close()
    # unknown keys, a wrong capability name, a broken pickup code, garbage
    for bad, rx in (({"groups": [{"name": "pbx", "colour": "red"}]}, r"colour"),
                    ({"groups": [{"name": "pbx", "cti_off": ["teleport"]}]},
                     r"cti_off: unknown capability \"teleport\""),
                    ({"groups": [{"name": "pbx", "pickup_code": "*8"}]},
                     r"pickup_code: \"\*8\" is no pickup code"),
                    ({"lines": [{"id": "pbx/1", "internal": "12 3"}]},
                     r"internal: \"12 3\" is no internal number"),
                    ({"lines": [{"id": "pbx/1", "redirect": [{"to": "", "ring_s": 5}]}]},
                     r"a redirection target needs a number"),
                    ({"error_handling": {"on_reinit": "panic"}}, r"on_reinit"),
                    ({"request_timeout_ms": "soon"}, r"request_timeout_ms"),
                    ({"groups": "all of them"}, r"groups")):
        u = Ucsd(plugins=["svcprobe", "testdriver"], config=config(bad),
                 tree_plugins=["dialplan", "lines"])
        try:
            u.start(wait=False)
            u.wait_for(rx)
            u.stop()
        finally:
            u.close()


def line_status():
    def body(s):
        s.p.ok("sub line.status")
        li = s.line("pbx/121")
        check(li["status_name"] == "open" and li["number"] == num(121) and
              li["internal"] == "121" and li["group"] == "pbx" and
              li["location"] == "Starnberg" and li["name"] == "121", f"line: {li}")
        check(li["caps"] == (1 << 22) - 1, f"every capability: {li['caps']}")
        check(li["journal"] == 0, f"journal off by default: {li}")
        # one log line per driver for the lines that opened, none per line
        s.u.wait_for(r"info \[lines\] td: 4 lines open")
        check(not any(re.search(r"info \[lines\] line pbx/\d+ open", x) for x in s.u.lines),
              "no info line per line")
        # a status the driver reports again unchanged is not published again
        s.td("status pbx/121 open")
        check(s.p.events(0.3) == [], "an unchanged status is not republished")
        f = s.line("pbx/125")
        check(f["status_name"] == "failed" and f["reason"] == "overallMonitorLimitExceeded",
              f"failed line: {f}")
        check(json.loads(s.p.ok("ln.by_number " + num(122)))["id"] == "pbx/122", "by number")
        check(json.loads(s.p.ok("ln.by_number 123"))["id"] == "pbx/123", "by internal number")
        check(s.p.cmd("ln.line pbx/999").startswith("err ENOENT"), "unknown line")
        check(sorted(json.loads(s.p.ok("ln.list"))) ==
              ["pbx/121", "pbx/122", "pbx/123", "pbx/124", "pbx/125"], "list")
        # the PBX's forwarding and do-not-disturb are published, formatted
        s.td("fwd pbx/121 immediate on 00891234567")
        ev = s.event(r"^event line\.status line:pbx/121 .*\"fwd\":\[1")
        check(ev["fwd_to"][0] == "+49891234567", f"forwarding target: {ev}")
        s.td("dnd pbx/121 on")
        s.event(r"^event line\.status line:pbx/121 .*\"dnd\":1")
        # a line the driver adds later, and one it removes
        s.td("add pbx/126 pbx 126")
        ev = s.event(r"^event line\.status line:pbx/126 ")
        check(ev["status_name"] == "not_initialised", f"new line: {ev}")
        s.td("remove pbx/126")
        ev = s.event(r"^event line\.status line:pbx/126 .*removed")
        check(s.p.cmd("ln.line pbx/126").startswith("err ENOENT"), "removed line")
        s.u.wait_for(r"warning \[lines\] line pbx/125 could not be opened: "
                     r"overallMonitorLimitExceeded")

    lines = [td_line(e) for e in (121, 122, 123, 124)]
    lines.append(td_line(125, open="fail", reason="overallMonitorLimitExceeded"))
    run(Server(td_lines=lines), body)


def incoming_call():
    def body(s):
        s.p.ok("sub call.state line:pbx/121")
        ring(s, "pbx/121", "c1", "00891234567", "121")
        ev = s.event(r"^event call\.state line:pbx/121 ")
        check(ev["call"] == "td/c1" and ev["line"] == "pbx/121" and ev["event_name"] ==
              "delivered" and ev["state_name"] == "alerting" and ev["direction"] == 1,
              f"delivered: {ev}")
        check(ev["remote"] == "+49891234567" and ev["remote_display"] == "+49 (89) 1234567",
              f"numbers through the dialplan: {ev}")
        check(ev["internal"] == 0 and ev["connected_ms"] == 0, f"external, ringing: {ev}")
        s.td("event pbx/121 established connected c1 calling=00891234567 called=121 "
             "connected=121")
        ev = s.event(r"^event call\.state line:pbx/121 ")
        check(ev["state_name"] == "connected" and ev["connected_ms"] > 0 and
              ev["remote"] == "+49891234567", f"established: {ev}")
        check([c["call"] for c in s.calls("pbx/121")] == ["td/c1"], "calls()")
        s.td("event pbx/121 connection_cleared null c1 cause=normalClearing")
        ev = s.event(r"^event call\.state line:pbx/121 ")
        check(ev["state"] == 0 and ev["cause"] == "normalClearing", f"cleared: {ev}")
        check(s.calls("pbx/121") == [], "no calls left")
        # an internal call: the other line's name, internal; outgoing from the caller
        s.td("event pbx/121 originated initiated c2 calling=121 called=122")
        ev = s.event(r"^event call\.state line:pbx/121 ")
        check(ev["direction"] == 2 and ev["remote"] == num(122) and ev["internal"] == 1 and
              ev["remote_name"] == "122", f"internal outgoing: {ev}")
        # an outgoing call as a CSTA PBX reports it: the caller's connection is
        # "connected" from originated on; connected_ms waits for established
        s.td("event pbx/121 service_initiated initiated c5 calling=121")
        s.td("event pbx/121 originated connected c5 calling=121 called=00301234")
        s.td("event pbx/121 delivered connected c5 calling=121 called=00301234 "
             "connected=00301234")
        evs = [json.loads(e.split(" ", 3)[3]) for e in s.p.events(0.5)]
        c5 = [e for e in evs if e["call"] == "td/c5"]
        check(len(c5) == 3 and all(e["connected_ms"] == 0 for e in c5),
              f"dialling is not connected: {c5}")
        s.td("event pbx/121 established connected c5 calling=121 called=00301234 "
             "connected=00301234")
        ev = s.event(r"^event call\.state line:pbx/121 .*td/c5")
        check(ev["connected_ms"] > 0, f"answered: {ev}")
        s.td("event pbx/121 connection_cleared null c5")
        s.event(r"^event call\.state line:pbx/121 .*td/c5")
        # a forwarded call names who forwarded it
        s.td("event pbx/121 delivered alerting c3 calling=00301234 called=124 redirecting=124")
        ev = s.event(r"^event call\.state line:pbx/121 .*td/c3")
        check(ev["diverted_from"] == num(124) and ev["remote"] == "+49301234", f"forwarded: {ev}")
        # a call made with a project carries it
        r = s.call(op="make", actor="alice", line="pbx/121", number="0301234", project="Account")
        pbx = r["call"].split("/", 1)[1]
        s.td(f"event pbx/121 originated initiated {pbx} calling=121 called=00301234")
        ev = s.event(r"^event call\.state line:pbx/121 .*" + re.escape(r["call"]))
        check(ev["project"] == "Account" and ev["remote"] == "+49301234", f"project: {ev}")
        # events of lines the driver does not have, and of unknown calls, are dropped
        s.td("event pbx/121 connection_cleared null nosuchcall")
        check(s.p.events(0.3) == [], "no message for the end of an unknown call")

    run(Server(), body)


# ---- call control ---------------------------------------------------------------------


def rights_matrix():
    def body(s):
        ring(s, "pbx/122", "b1", "00891234567", "122")
        s.requests()
        r = s.call(op="make", actor="alice", line="pbx/121", number="0891234567")
        check(r["status"] == 0 and r["call"].startswith("td/tdc"), f"own line: {r}")
        rq = s.requests()
        check(len(rq) == 1 and rq[0]["op"] == "make" and rq[0]["line"] == "pbx/121" and
              rq[0]["number"] == "00891234567", f"dialled through the dialplan: {rq}")
        for q, what in (
                (dict(op="make", actor="alice", line="pbx/122", number="0891234567"),
                 "make on bob's line"),
                (dict(op="answer", actor="alice", line="pbx/122", call="td/b1"),
                 "answer on bob's line"),
                (dict(op="pickup", actor="alice", line="pbx/121", target_line="pbx/122"),
                 "pickup without the right"),
                (dict(op="forward_set", actor="alice", line="pbx/122", mode="immediate",
                      number="121"), "forwarding without the right"),
                (dict(op="forward_set", actor="carol", line="pbx/122", mode="immediate",
                      number="121"), "the pickup right is not the forwarding right"),
                (dict(op="pickup", actor="dave", line="pbx/124", target_line="pbx/122"),
                 "the forwarding right is not the pickup right"),
                (dict(op="dnd_set", actor="alice", line="pbx/122", on=1), "dnd on bob's line"),
                (dict(op="remote_office", actor="dave", line="pbx/122", on=1, number="0171"),
                 "remote office on bob's line"),
                (dict(op="make", actor="nobody", line="pbx/121", number="0891234567"),
                 "an unknown user")):
            r = s.call(**q)
            check(r["status"] == -EPERM and r["reason"], f"{what}: {r}")
        check(s.requests() == [], "refused requests never reach the driver")
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        check(r["status"] == 0 and r["call"] == "td/b1", f"pickup with the right: {r}")
        r = s.call(op="forward_set", actor="dave", line="pbx/122", mode="busy", number="124")
        check(r["status"] == 0, f"forwarding with the right: {r}")
        r = s.call(op="dnd_set", actor="dave", line="pbx/122", on=1)
        check(r["status"] == 0, f"dnd with the forwarding right: {r}")
        r = s.call(op="answer", actor="bob", line="pbx/122", call="td/b1")
        check(r["status"] == 0, f"answer on her own line: {r}")
        r = s.call(op="hold", actor="", line="pbx/122", call="td/b1")
        check(r["status"] == 0, f"the system may: {r}")
        ops = [(q["op"], q["line"]) for q in s.requests()]
        check(ops == [("deflect", "pbx/122"), ("forward_set", "pbx/122"), ("dnd_set", "pbx/122"),
                      ("answer", "pbx/122"), ("hold", "pbx/122")], f"what reached the PBX: {ops}")
        # no such line or call
        check(s.call(op="make", actor="", line="pbx/999", number="1")["status"] == -ENOENT,
              "no line")
        check(s.call(op="hold", actor="bob", line="pbx/122", call="td/zz")["status"] == -ENOENT,
              "no call")
        check(s.call(op="make", actor="alice", line="pbx/121", number="")["status"] == -EINVAL,
              "no number")

    run(Server(), body)


def pickup():
    def body(s):
        ring(s, "pbx/122", "b1", "00891234567", "122")
        s.requests()
        # default: the call is redirected to the picking line first
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        rq = s.requests()
        check(r["status"] == 0 and [(q["op"], q["line"], q["call"], q["number"]) for q in rq] ==
              [("deflect", "pbx/122", "b1", "123")], f"redirect first: {r} {rq}")
        # the redirect fails: picked up directly
        s.td("answer pbx/122 refuse invalidCallID")
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        rq = s.requests()
        check(r["status"] == 0 and [(q["op"], q["line"]) for q in rq] ==
              [("deflect", "pbx/122"), ("pickup", "pbx/123")] and rq[1]["target"] == "122" and
              rq[1]["call"] == "b1", f"then pickup: {r} {rq}")
        # a user's calls: target_user
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_user="bob")
        check(r["status"] == 0, f"by user: {r}")
        s.requests()
        check(s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/121")["status"]
              == -EPERM, "alice's calls")
        check(s.call(op="pickup", actor="alice", line="pbx/121", target_line="pbx/121")["status"]
              == -ENOENT, "nothing rings")

    run(Server(), body)

    def always(s):
        ring(s, "pbx/122", "b1", "00891234567", "122")
        s.requests()
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        rq = s.requests()
        check(r["status"] == 0 and [q["op"] for q in rq] == ["pickup"], f"always pickup: {rq}")

    run(Server(lines={"groups": [{"name": "pbx", "always_pickup": True}]}), always)

    def code(s):
        check(s.line("pbx/123")["caps"] & (1 << 12), "pickup offered through the code")
        ring(s, "pbx/122", "b1", "00891234567", "122")
        s.requests()
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        rq = s.requests()
        check(r["status"] == 0 and [(q["op"], q["number"]) for q in rq] == [("make", "*8122")],
              f"the pickup code is dialled: {rq}")

    caps = ["make_call", "answer", "clear_connection", "hold"]
    run(Server(lines={"groups": [{"name": "pbx", "pickup_code": "*8<NUMBER>"}]},
               td_groups=[{"name": "pbx", "caps": caps}]), code)

    def code_fallback(s):
        # the PBX refuses the direct pickup: the feature code is dialled, once
        s.td("answer pbx/123 refuse_pickup invalidCallID")
        ring(s, "pbx/122", "b1", "00891234567", "122")
        s.requests()
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        rq = s.requests()
        check(r["status"] == 0 and
              [(q["op"], q["line"], q["number"]) for q in rq] ==
              [("pickup", "pbx/123", ""), ("make", "pbx/123", "*8122")],
              f"direct pickup refused, then the code: {r} {rq}")
        s.u.wait_for(r"pickup of b1 on pbx/122: direct pickup failed \(invalidCallID\), "
                     r"dialling the pickup code")
        # the code refused as well: the PBX's words, no third try
        s.td("answer pbx/123 refuse busy")
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        rq = s.requests()
        check(r["status"] == -EREMOTEIO and [q["op"] for q in rq] == ["pickup", "make"],
              f"both refused: {r} {rq}")

    run(Server(lines={"groups": [{"name": "pbx", "always_pickup": True,
                                  "pickup_code": "*8<NUMBER>"}]}), code_fallback)

    def group(s):
        # neither target_line nor target_user: a group pickup on the picking line
        # (no target device, no call: the PBX picks what rings in the group)
        s.requests()
        r = s.call(op="pickup", actor="carol", line="pbx/123")
        rq = s.requests()
        check(r["status"] == 0 and re.fullmatch(r"td/tdc\d+", r["call"]) and
              [(q["op"], q["line"], q["target"], q["call"]) for q in rq] ==
              [("pickup", "pbx/123", "", "")], f"group pickup: {r} {rq}")
        check(s.call(op="pickup", actor="carol", line="pbx/122")["status"] == -EPERM,
              "a group pickup on another's line")
        # a line without group pickup (directed pickup only) refuses it
        r = s.call(op="pickup", actor="alice", line="pbx/121")
        check(r["status"] == -ENOTSUP and "group_pickup" in r["reason"] and s.requests() == [],
              f"no group pickup: {r}")

    lines = [td_line(e) for e in (122, 123, 124)] + [
        td_line(121, caps=["make_call", "answer", "pickup", "deflect"])]
    run(Server(td_lines=lines), group)


def capabilities():
    def body(s):
        ring(s, "pbx/121", "a1", "00891234567", "121")
        li = s.line("pbx/121")
        check(not li["caps"] & (1 << 4) and li["caps"] & (1 << 1), f"hold switched off: {li}")
        s.requests()
        r = s.call(op="hold", actor="alice", line="pbx/121", call="td/a1")
        check(r["status"] == -ENOTSUP and "hold" in r["reason"], f"cti_off: {r}")
        r = s.call(op="make", actor="dave", line="pbx/124", number="121")
        check(r["status"] == -ENOTSUP, f"a line without make_call: {r}")
        r = s.call(op="remote_office", actor="dave", line="pbx/124", on=1, number="0171")
        check(r["status"] == -ENOTSUP, f"no remote office without forwarding/transfer: {r}")
        check(s.requests() == [], "nothing reached the driver")
        r = s.call(op="answer", actor="alice", line="pbx/121", call="td/a1")
        check(r["status"] == 0, f"what is left works: {r}")

    lines = [td_line(e) for e in (121, 122, 123)] + [td_line(124, caps=["answer"])]
    run(Server(lines={"groups": [{"name": "pbx", "cti_off": ["hold"]}]}, td_lines=lines), body)


def driver_answers():
    def body(s):
        ring(s, "pbx/121", "a1", "00891234567", "121")
        s.td("answer pbx/121 refuse invalidCallID")
        r = s.call(op="answer", actor="alice", line="pbx/121", call="td/a1")
        check(r["status"] == -EREMOTEIO and r["reason"] == "invalidCallID", f"refused: {r}")
        s.td("answer pbx/121 reject")
        r = s.call(op="answer", actor="alice", line="pbx/121", call="td/a1")
        check(r["status"] == -ENOTSUP, f"refused at once: {r}")
        s.td("answer pbx/121 mute")
        t0 = time.monotonic()
        r = s.call(op="answer", actor="alice", line="pbx/121", call="td/a1")
        dt = time.monotonic() - t0
        check(r["status"] == -ETIMEDOUT and 0.5 <= dt < 3, f"timed out ({dt:.2f}s): {r}")
        s.u.wait_for(r"warning \[lines\] request answer on line pbx/121: no answer from "
                     r"driver td in time")
        s.td("answer pbx/121 hold")
        s.requests()
        s.p.sock.sendall(b'ln.call {"op":"make","actor":"alice","line":"pbx/121",'
                         b'"number":"0891234567"}\n')
        s.u.wait_for(r"\[testdriver\] request make line pbx/121 .*token (\d+)")
        token = s.requests()[0]["token"]
        s.td(f"done {token} ok call=x77")
        got = s.p._line(time.monotonic() + 5)
        r = json.loads(got[3:])
        check(r["status"] == 0 and r["call"] == "td/x77", f"answered later: {r}")
        def counters():
            plugins = json.loads(s.p.ok("srv.plugins"))
            st = next(p for p in plugins if p["name"] == "lines")["status"]
            return st["requests_failed"], st["requests"], st["requests_in_flight"]

        before = counters()
        _, li = s.admin("get pbx/121")
        s.td(f"done {token} EREMOTEIO late")  # a second answer is ignored
        s.td("done 99999 ok")  # and an unknown token
        check(counters() == before, f"nothing counted: {before} {counters()}")
        _, li2 = s.admin("get pbx/121")
        check(li2["last_error"] == li["last_error"] and "late" not in li2["last_error"],
              f"no error recorded: {li2}")
        check(s.p.events(0.3) == [], "no second reply")
        st = json.loads(s.p.ok("ln.calls pbx/121"))
        check(len(st) == 1, "the call is still there")

    run(Server(), body)


def not_available():
    def body(s):
        s.p.ok("sub line.status line:pbx/121")
        ring(s, "pbx/121", "a1", "00891234567", "121")
        s.td("status pbx/121 not_available link down")
        ev = s.event(r"^event line\.status line:pbx/121 ")
        check(ev["status_name"] == "not_available" and ev["reason"] == "link down", f"{ev}")
        check(len(s.calls("pbx/121")) == 1, "the call is kept")
        s.requests()
        r = s.call(op="answer", actor="alice", line="pbx/121", call="td/a1")
        check(r["status"] == -ENETDOWN, f"not available: {r}")
        check(s.requests() == [], "nothing sent")

    run(Server(), body)


def resync():
    def body(s):
        ring(s, "pbx/121", "c1", "00891234567", "121")
        s.td("event pbx/121 established connected c1 calling=00891234567 called=121")
        ring(s, "pbx/121", "c2", "00301111", "121")
        s.td("status pbx/121 not_available")
        s.td("status pbx/121 open")
        s.p.ok("sub call.state line:pbx/121")
        s.td("event pbx/121 snapshot connected c1 calling=00891234567 called=121")
        s.td("event pbx/121 snapshot alerting c3 calling=00302222 called=121")
        s.td("synced pbx/121")
        evs = [json.loads(e.split(" ", 3)[3]) for e in s.p.events(0.5)]
        got = [(e["call"], e["event_name"], e["state_name"]) for e in evs]
        check(got == [("td/c3", "snapshot", "alerting"), ("td/c2", "call_cleared", "null")],
              f"c1 kept without a duplicate, c3 new, c2 ended: {got}")
        check(sorted(c["call"] for c in s.calls("pbx/121")) == ["td/c1", "td/c3"], "calls")
        s.u.wait_for(r"info \[lines\] td: 1 line synchronised: 2 calls kept, 1 ended")
        # a snapshot of a line that stayed open (the PBX lost messages): c3 ended unseen
        s.td("resync pbx/121")
        s.td("event pbx/121 snapshot connected c1 calling=00891234567 called=121")
        s.td("synced pbx/121")
        evs = [json.loads(e.split(" ", 3)[3]) for e in s.p.events(0.5)]
        got = [(e["call"], e["event_name"], e["state_name"]) for e in evs]
        check(got == [("td/c3", "call_cleared", "null")], f"resync of an open line: {got}")
        # without resync, a line_synced ends nothing that an event named since OPEN
        s.td("synced pbx/121")
        check(s.p.events(0.3) == [] and len(s.calls("pbx/121")) == 1, "nothing more ends")

    run(Server(), body)


def transfer_keeps_id():
    def body(s):
        s.p.ok("sub call.state line:pbx/121")
        ring(s, "pbx/121", "c1", "00891234567", "121")
        s.td("event pbx/121 established connected c1 calling=00891234567 called=121")
        s.td("event pbx/121 transferred connected c9 old=c1 connected=00301234")
        s.td("event pbx/121 connection_cleared null c9")
        evs = [json.loads(e.split(" ", 3)[3]) for e in s.p.events(0.5)]
        check([e["call"] for e in evs] == ["td/c1"] * 4, f"one call id: {evs}")
        check(evs[2]["remote"] == "+49301234" and evs[2]["event_name"] == "transferred",
              f"the new party: {evs[2]}")
        # a consultation transfer: the transferred-to line learns its new party from
        # what the transferring line left behind (the PBX's event names only 122)
        s.p.ok("sub call.state line:pbx/122")
        ring(s, "pbx/121", "t1", "00891234567", "121")
        s.td("event pbx/121 established connected t1 calling=00891234567 called=121")
        s.td("event pbx/121 originated initiated t2 calling=121 called=122")
        s.td("event pbx/122 delivered alerting t2 calling=121 called=122")
        s.td("event pbx/122 established connected t2 calling=121 called=122")
        s.p.events(0.3)
        s.td("event pbx/121 transferred null t1 old=t2 connected=122")
        s.td("event pbx/122 transferred connected t1 old=t2 connected=122")
        evs = [json.loads(e.split(" ", 3)[3]) for e in s.p.events(0.5)]
        at122 = [e for e in evs if e["line"] == "pbx/122"]
        check(len(at122) == 1 and at122[0]["call"] == "td/t2" and
              at122[0]["remote"] == "+49891234567", f"122 talks to the caller: {at122}")
        check(sorted((e["call"], e["state"]) for e in evs if e["line"] == "pbx/121") ==
              [("td/t1", 0), ("td/t2", 0)], f"121 has no call left: {evs}")
        s.td("event pbx/122 connection_cleared null t1")
        s.p.events(0.3)
        s.p.ok("unsub call.state line:pbx/122")
        # conference: the consultation merges into the held call
        ring(s, "pbx/121", "k1", "00891", "121")
        s.td("event pbx/121 originated initiated k2 calling=121 called=122")
        s.td("event pbx/121 conferenced connected k1 old=k2")
        evs = [(json.loads(e.split(" ", 3)[3])["call"], json.loads(e.split(" ", 3)[3])["state"])
               for e in s.p.events(0.5)]
        check(evs[-2:] == [("td/k2", 0), ("td/k1", 3)], f"conference: {evs}")

    run(Server(), body)


def redirection():
    def body(s):
        s.requests()
        ring(s, "pbx/121", "r1", "00891234567", "121")
        s.u.wait_for(r"\[testdriver\] request deflect line pbx/121 call r1 other - number 122 ",
                     timeout=5)
        # the PBX moves it; 122's own list does not apply, 121's goes on
        s.td("event pbx/121 diverted null r1 calling=00891234567 called=121 connected=122")
        s.td("event pbx/122 delivered alerting r1 calling=00891234567 called=121 "
             "redirecting=121")
        s.u.wait_for(r"\[testdriver\] request deflect line pbx/122 call r1 other - "
                     r"number 00301234 ", timeout=5)
        s.u.wait_for(r"info \[lines\] call r1 redirected from pbx/122 to 0301234 "
                     r"\(not monitored: redirection ends\)")
        time.sleep(1.5)
        rq = [(q["op"], q["line"], q["number"]) for q in s.requests()]
        check(rq == [("deflect", "pbx/121", "122"), ("deflect", "pbx/122", "00301234")],
              f"two steps, then the chain ends at the unmonitored target: {rq}")
        # a call that reached the line by forwarding is not redirected
        s.td("event pbx/121 delivered alerting r2 calling=00891234567 called=124 "
             "redirecting=124")
        # an answered call is not redirected
        ring(s, "pbx/121", "r3", "00891234567", "121")
        s.td("event pbx/121 established connected r3 calling=00891234567 called=121")
        time.sleep(1.6)
        check(s.requests() == [], "no redirection of forwarded or answered calls")

    lines = {"lines": [{"id": "pbx/121", "redirect": [{"to": "122", "ring_s": 1},
                                                        {"to": "0301234", "ring_s": 1},
                                                        {"to": "123", "ring_s": 1}]},
                       {"id": "pbx/122", "redirect": [{"to": "124", "ring_s": 1}]}]}
    run(Server(lines=lines), body)


def remote_office():
    def body(s):
        s.requests()
        r = s.call(op="remote_office", actor="alice", line="pbx/121", on=1,
                   number="01715550121")
        rq = s.requests()
        check(r["status"] == 0 and [(q["op"], q["mode"], q["number"]) for q in rq] ==
              [("forward_set", 0, "001715550121")], f"emulated: forwarding: {r} {rq}")
        st, li = s.admin("get pbx/121")
        check(li["remote_office"] == "001715550121", f"remote office on: {li}")
        r = s.call(op="make", actor="alice", line="pbx/121", number="0891234567")
        rq = s.requests()
        check(r["status"] == 0 and [(q["op"], q["number"]) for q in rq] ==
              [("make", "001715550121")], f"the business line calls the remote number: {rq}")
        pbx = r["call"].split("/", 1)[1]
        # the PBX's sequence for the caller: connected long before the mobile answers
        s.td(f"event pbx/121 service_initiated initiated {pbx} calling=121")
        s.td(f"event pbx/121 originated connected {pbx} calling=121 called=001715550121")
        s.td(f"event pbx/121 delivered connected {pbx} calling=121 called=001715550121 "
             f"connected=001715550121")
        time.sleep(0.3)
        check(s.requests() == [], "no transfer while the mobile rings")
        pres = json.loads(s.p.ok("get alice alice"))
        pres = pres.get("presence", pres)
        check(pres["lines"][0].get("state") in ("dialing", 3), f"dialling, not connected: {pres}")
        s.td(f"event pbx/121 established connected {pbx} calling=121 called=001715550121 "
             f"connected=001715550121")
        s.u.wait_for(r"info \[lines\] line pbx/121: remote office call transferred to "
                     r"00891234567")
        rq = s.requests()
        check([(q["op"], q["call"], q["number"]) for q in rq] ==
              [("transfer", pbx, "00891234567")], f"then transferred: {rq}")
        r = s.call(op="remote_office", actor="alice", line="pbx/121", on=0)
        rq = s.requests()
        check(r["status"] == 0 and [q["op"] for q in rq] == ["forward_clear"], f"off: {rq}")
        # native remote office: the driver gets the request itself
        r = s.call(op="remote_office", actor="bob", line="pbx/122", on=1, number="0171555")
        rq = s.requests()
        check(r["status"] == 0 and [(q["op"], q["on"]) for q in rq] == [("remote_office", 1)],
              f"native: {rq}")
        # switched off for a group
        r = s.call(op="remote_office", actor="carol", line="pbx/123", on=1, number="0171555")
        check(r["status"] == -ENOTSUP, f"group switched off: {r}")

    groups = [{"name": "pbx", "caps": ["*"]},
              {"name": "nat", "caps": ["*"], "native_remote_office": True},
              {"name": "off", "caps": ["*"]}]
    lines = [td_line(121), dict(td_line(122), group="nat"), dict(td_line(123), group="off"),
             td_line(124)]
    run(Server(lines={"groups": [{"name": "off", "remote_office": False}]}, td_lines=lines,
               td_groups=groups), body)


# ---- error handling, administration ----------------------------------------------------


def retry():
    def body(s):
        s.p.ok("sub line.status line:pbx/125")
        check(s.line("pbx/125")["status_name"] == "failed", "failed at first")
        s.u.wait_for(r"info \[testdriver\] open pbx/125", timeout=4)
        check(s.line("pbx/125")["status_name"] == "failed", "still failing")
        s.td("open pbx/125 ok")
        ev = s.event(r"^event line\.status line:pbx/125 .*\"status_name\":\"open\"", timeout=4)
        check(ev["reason"] == "", f"opened by a retry: {ev}")
        st, li = s.admin("get pbx/125")
        check(li["last_error"] == "failed: licence", f"the last error stays: {li}")
        # open_delay_ms between opens: reinit reopens every line, 300 ms apart
        s.td("opens")
        t0 = time.monotonic()
        s.td("reinit PBX restarted")
        s.td("reinit PBX restarted")  # twice: each line is still queued once
        s.u.wait_for(r"warning \[lines\] driver td re-initialised \(PBX restarted\): "
                     r"reopening its lines")
        deadline = time.monotonic() + 5
        opens = []
        while len(opens) < 3 and time.monotonic() < deadline:
            opens += json.loads(s.td("opens"))
            time.sleep(0.05)
        dt = time.monotonic() - t0
        time.sleep(1.0)
        opens += json.loads(s.td("opens"))
        # a line still queued is not queued again (pbx/125 went out before the
        # second reinit and is queued again by it)
        check(opens.count("pbx/121") == 1 and opens.count("pbx/122") == 1 and
              opens.count("pbx/125") in (1, 2) and len(opens) <= 4 and dt >= 0.55,
              f"reopened once each with the delay ({dt:.2f}s): {opens}")

    lines = [td_line(121), td_line(122), td_line(125, open="fail", reason="licence")]
    run(Server(lines={"error_handling": {"retry_s": 1, "open_delay_ms": 300}}, td_lines=lines),
        body)

    def wait(s):
        s.td("opens")
        s.td("reinit again")
        s.u.wait_for(r"warning \[lines\] driver td re-initialised \(again\): waiting for its lines")
        time.sleep(0.5)
        check(s.td("opens") == "[]", "nothing reopened")
        time.sleep(1.2)
        check(s.td("opens") == "[]", "no retries with retry_s 0")

    run(Server(lines={"error_handling": {"on_reinit": "wait", "retry_s": 0}},
               td_lines=[td_line(121), td_line(125, open="fail", reason="licence")]), wait)


def admin():
    def body(s):
        ring(s, "pbx/121", "a1", "00891234567", "121")
        st, d = s.admin("list")
        check(st == 0 and sorted(l["id"] for l in d["lines"]) ==
              ["pbx/121", "pbx/122", "pbx/125"], f"list: {d}")
        l121 = next(l for l in d["lines"] if l["id"] == "pbx/121")
        check(l121["status"] == "open" and l121["calls"] == 1 and "make_call" in l121["caps"] and
              l121["driver"] == "td" and l121["number"] == num(121), f"a line: {l121}")
        st, d = s.admin("get pbx/125")
        check(st == 0 and d["status"] == "failed" and d["last_error"] ==
              "failed: overallMonitorLimitExceeded" and d["calls"] == [], f"get: {d}")
        st, d = s.admin("get pbx/121")
        check([c["call"] for c in d["calls"]] == ["td/a1"], f"calls: {d}")
        st, d = s.admin("get pbx/999")
        check(st == -ENOENT, f"unknown: {st} {d}")
        st, d = s.admin("frobnicate")
        check(st == -EINVAL, f"unknown command: {st}")
        s.td("opens")
        s.td("open pbx/125 ok")
        st, d = s.admin("retry pbx/125")
        check(st == 0 and d == {"id": "pbx/125", "queued": True}, f"retry: {d}")
        s.u.wait_for(r"info \[lines\] td: 1 line open")
        check(json.loads(s.td("opens")) == ["pbx/125"], "opened again")
        # a failed request is a line's last error
        s.td("answer pbx/121 refuse invalidCallID")
        s.call(op="hold", actor="alice", line="pbx/121", call="td/a1")
        st, d = s.admin("get pbx/121")
        check(d["last_error"] == "hold: Remote I/O error: invalidCallID", f"last error: {d}")
        # status counters for status.get
        plugins = json.loads(s.p.ok("srv.plugins"))
        st = next(p for p in plugins if p["name"] == "lines")["status"]
        check(st["lines"] == 3 and st["by_status"]["open"] == 3 and st["calls"] == 1 and
              st["requests_failed"] == 1 and st["drivers"] == ["td"] and
              st["last_errors"][0]["line"] == "pbx/121", f"status: {st}")

    lines = [td_line(121), td_line(122),
             td_line(125, open="fail", reason="overallMonitorLimitExceeded")]
    run(Server(lines={"error_handling": {"retry_s": 0}}, td_lines=lines), body)


def admin_api():
    """lines.list / lines.get / lines.retry through the administration protocol."""
    from wsclient import RpcClient

    def body(s):
        i = s.u.wait_for(r"info \[admin-api\] administration on 127\.0\.0\.1 port (\d+)")
        port = int(re.search(r"port (\d+)", s.u.lines[i]).group(1))
        s.u.wait_for(r"warning \[admin-api\] no administrator account configured")
        with open(os.path.join(s.u.state, "admin-password")) as f:
            password = f.read().strip()
        r = RpcClient(f"ws://127.0.0.1:{port}/ws")
        try:
            r.call("admin.login", {"login": "admin", "password": password})
            got = r.call("lines.list", {})
            byid = {l["id"]: l for l in got["lines"]}
            check(sorted(byid) == ["pbx/121", "pbx/125"], f"lines.list: {got}")
            check(byid["pbx/121"]["status"] == "open" and "answer" in byid["pbx/121"]["caps"] and
                  byid["pbx/125"]["status"] == "failed" and
                  byid["pbx/125"]["last_error"] == "failed: licence", f"lines: {byid}")
            got = r.call("lines.get", {"id": "pbx/125"})
            check(got["reason"] == "licence" and got["calls"] == [], f"lines.get: {got}")
            e = r.call_error("lines.get", {"id": "pbx/999"})
            check((e.get("data") or {}).get("reason") == "not_found", f"unknown line: {e}")
            e = r.call_error("lines.get", {})
            check((e.get("data") or {}).get("reason") == "invalid_params", f"no id: {e}")
            # a retry is a write: also a refused one is audited
            e = r.call_error("lines.retry", {})
            check((e.get("data") or {}).get("reason") == "invalid_params", f"no id: {e}")
            s.u.wait_for(r"audit: admin 'admin' from \S+: lines\.retry.*failed "
                         r"\(invalid_params\)")
            s.td("open pbx/125 ok")
            got = r.call("lines.retry", {"id": "pbx/125"})
            check(got == {"id": "pbx/125", "queued": True}, f"lines.retry: {got}")
            s.u.wait_for(r"info \[lines\] td: 1 line open")
            check(r.call("lines.get", {"id": "pbx/125"})["status"] == "open", "open now")
            s.u.wait_for(r"\[admin-api\] .*lines\.retry.*pbx/125")
        finally:
            r.close()

    extra = {"auth": {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1,
                      "delay_base_ms": 0},
             "admin-api": {"interfaces": [{"bind": "127.0.0.1", "port": 0}]}}
    run(Server(td_lines=[td_line(121), td_line(125, open="fail", reason="licence")],
               lines={"error_handling": {"retry_s": 0}}, extra=extra,
               extra_tree=["auth", "admin-api"]), body)


def presence_binding():
    def body(s):
        check(json.loads(s.p.ok("owners pbx/121")) == ["alice"], "bound by business number")
        ring(s, "pbx/121", "a1", "00891234567", "121")
        deadline = time.monotonic() + 5
        while True:
            v = json.loads(s.p.ok("get alice alice"))
            pres = v.get("presence", v)
            if pres.get("lines") and pres["lines"][0].get("state") in ("ringing", 2):
                break
            if time.monotonic() > deadline:
                raise Failure(f"alice's line never rang in her presence: {v}")
            time.sleep(0.1)
        s.td("event pbx/121 connection_cleared null a1")
        deadline = time.monotonic() + 5
        while True:
            v = json.loads(s.p.ok("get alice alice"))
            pres = v.get("presence", v)
            if pres["lines"][0].get("state") in ("idle", 1):
                break
            if time.monotonic() > deadline:
                raise Failure(f"alice's line never idle again: {v}")
            time.sleep(0.1)

    run(Server(), body)


def private_presence():
    """A private line's calls (and private calls) keep the other party out of
    presence: the state shows, the remote number and name do not."""
    def pres_line(s, uid, want):
        deadline = time.monotonic() + 5
        while True:
            v = json.loads(s.p.ok(f"get {uid} {uid}"))
            pres = v.get("presence", v)
            if pres.get("lines") and pres["lines"][0].get("state") in want:
                return pres["lines"][0]
            if time.monotonic() > deadline:
                raise Failure(f"{uid}'s line never reached {want}: {v}")
            time.sleep(0.1)

    def body(s):
        # the ordinary line shows its caller (the check below can see a number)
        ring(s, "pbx/122", "b1", "00891234567", "122")
        li = pres_line(s, "bob", ("ringing", 2))
        check(li.get("remote") == "+49891234567", f"an ordinary line's caller: {li}")
        # the private line's caller stays out
        ring(s, "pbx/121", "a1", "00891234567", "121")
        li = pres_line(s, "alice", ("ringing", 2))
        check(not li.get("remote") and not li.get("remote_name"),
              f"a private line's caller in presence: {li}")

    run(Server(lines={"lines": [{"id": "pbx/121", "private": True}, {"id": "pbx/122"},
                                {"id": "pbx/123"}, {"id": "pbx/124"}]}), body)


def line_use_false():
    """A line's own "use": false is honoured although its group uses all lines, and
    interest (dave's business number, open_automatically) does not open it."""
    def body(s):
        time.sleep(0.5)  # the user scan (interest) runs right after start
        check(sorted(json.loads(s.p.ok("ln.list"))) == ["pbx/121", "pbx/122", "pbx/123"],
              f"pbx/124 switched off: {s.p.ok('ln.list')}")
        check("pbx/124" not in json.loads(s.td("opens")), "pbx/124 never opened")
        check(not [x for x in s.u.lines if x and "pbx/124 opened on interest" in x],
              "not opened on interest")
        r = s.call(op="make", actor="dave", line="pbx/124", number="121")
        check(r["status"] == -ENOENT, f"no control of an unused line: {r}")

    run(Server(lines={"groups": [{"name": "pbx", "use_all_lines": True,
                                  "open_automatically": True}],
                      "lines": [{"id": "pbx/124", "use": False}]}), body)


def bad_driver_input():
    def body(s):
        s.td("garbage pbx/121")
        s.u.wait_for(r"warning \[lines\] driver td: 1 malformed call event dropped")
        s.td("event pbx/121 delivered alerting c1 calling=00891234567 called=121")
        check(len(s.calls("pbx/121")) == 1, "still working")
        check(s.p.cmd("td add pbx/121 pbx 121").startswith("err EEXIST"), "a line twice")
        check(s.p.cmd("td add pbx/777 nogroup 777").startswith("err ENOENT"), "unknown group")
        # the driver goes away: its lines are removed, requests end - a pickup
        # whose redirect is under way does not fall back to a direct pickup
        s.td("answer pbx/121 hold")
        s.requests()
        s.p.sock.sendall(b'ln.call {"op":"pickup","actor":"","line":"pbx/122",'
                         b'"target_line":"pbx/121"}\n')
        s.u.wait_for(r"\[testdriver\] request deflect line pbx/121")
        s.p.sub = s.p.ok("sub line.status")
        s.td("remove_driver")
        got = s.p._line(time.monotonic() + 5)
        while got.startswith("event "):
            got = s.p._line(time.monotonic() + 5)
        r = json.loads(got[3:])
        check(r["status"] == -ENETDOWN, f"the request ends with the driver: {r}")
        check(json.loads(s.p.ok("ln.list")) == [], "no lines")
        check([q["op"] for q in s.requests()] == ["deflect"],
              "nothing reached the removed driver")
        check(not any("request pickup" in x for x in s.u.lines if x), "no direct pickup")

    run(Server(), body)


def reload():
    def body(s):
        check(s.line("pbx/121")["caps"] & (1 << 4), "hold at first")
        s.p.ok("sub line.status line:pbx/121")
        cfg = dict(s.cfg)
        check(s.line("pbx/121")["journal"] == 0 and s.line("pbx/122")["journal"] == 0,
              "no journal at first")
        cfg["lines"] = dict(cfg["lines"], groups=[{"name": "pbx", "cti_off": ["hold"]}],
                            lines=[{"id": "pbx/121", "name": "Empfang", "private": True,
                                    "journal": True}])
        s.u.write_config(cfg)
        s.u.signal(signal.SIGHUP)
        ev = s.event(r"^event line\.status line:pbx/121 ")
        check(not ev["caps"] & (1 << 4) and ev["name"] == "Empfang" and ev["private"] == 1 and
              ev["journal"] == 1, f"applied: {ev}")
        check(s.line("pbx/122")["journal"] == 0, "only the line's journal")
        cfg["lines"] = dict(cfg["lines"], groups=[{"name": "pbx", "journal_all": True}], lines=[])
        s.u.write_config(cfg)
        n = len(s.u.lines)
        s.u.signal(signal.SIGHUP)
        s.u.wait_for(r"info \[lines\] configuration applied to 4 lines", after=n)
        check(s.line("pbx/122")["journal"] == 1, "journal_all of the group")
        # a line that is not used any more is removed, and its driver closes it
        cfg["lines"] = dict(cfg["lines"], groups=[{"name": "pbx", "use_all_lines": False}],
                            lines=[{"id": "pbx/121"}, {"id": "pbx/122", "use": False}])
        s.u.write_config(cfg)
        s.td("closes")
        s.u.signal(signal.SIGHUP)
        s.u.wait_for(r"\[testdriver\] close pbx/124")
        check(sorted(json.loads(s.p.ok("ln.list"))) == ["pbx/121"], "only pbx/121 used")
        check(sorted(json.loads(s.td("closes"))) == ["pbx/122", "pbx/123", "pbx/124"],
              "the others closed")
        # a broken configuration keeps the running one
        bad = dict(cfg)
        bad["lines"] = dict(cfg["lines"], lines=[{"id": "a", "internal": "1"},
                                                 {"id": "b", "internal": "1"}])
        s.u.write_config(bad)
        s.u.signal(signal.SIGHUP)
        s.u.wait_for(r"error \[lines\] the new configuration is refused; the running one stays")
        check(sorted(json.loads(s.p.ok("ln.list"))) == ["pbx/121"], "unchanged")

    run(Server(), body)


# ---- lines on interest, several PBXs, ids --------------------------------------------


def interest():
    """Open on interest (an unused line a user names) and create on interest (a group
    without lines whose driver adds lines on demand): only extensions of the group's
    PBX are asked for, as the PBX's extension."""
    def body(s):
        s.u.wait_for(r"info \[lines\] line pbx/124 opened on interest")
        check("pbx/124" in json.loads(s.p.ok("ln.list")), "dave's line is used now")
        s.u.wait_for(r"info \[testdriver\] wanted auto 125")
        time.sleep(0.3)
        wanted = json.loads(s.td("wanted"))
        check(wanted == ["auto/125"], f"only the extension, only internal numbers: {wanted}")
        li = s.line("auto/125")
        check(li["status_name"] == "open" and li["number"] == num(125), f"created line: {li}")
        check(json.loads(s.p.ok("owners auto/125")) == ["erin"], "bound to erin")
        # a computer's first and second phone and a user's extra line are interest too
        for lid in ("pbx/126", "pbx/127", "pbx/128"):
            s.u.wait_for(rf"info \[lines\] line {lid} opened on interest")
        used = json.loads(s.p.ok("ln.list"))
        check(all(x in used for x in ("pbx/126", "pbx/127", "pbx/128")) and
              "pbx/129" not in used, f"computer phones and extra lines used: {used}")

    users = USERS + [user("erin", 125),
                     user("frank", 999, phones={"business": "089 1234567"},
                          extra_lines=[{"line": "128"}])]
    computers = [{"id": "desk", "first_phone": "126", "second_phone": "127"}]
    groups = [{"name": "pbx", "caps": ["*"]},
              {"name": "auto", "caps": ["*"], "create_on_interest": True}]
    cfg = {"groups": [{"name": "pbx", "use_all_lines": False, "open_automatically": True},
                      {"name": "auto", "create_automatically": True}],
           "lines": [{"id": "pbx/121"}, {"id": "pbx/122"}, {"id": "pbx/123"}]}
    td_lines = [td_line(e) for e in (121, 122, 123, 124, 126, 127, 128, 129)]
    run(Server(lines=cfg, td_groups=groups, users=users, computers=computers,
               td_lines=td_lines), body)


def two_pbxs():
    """Two PBXs with the same extensions: a device id is resolved on its own PBX."""
    def body(s):
        s.p.ok("sub call.state line:pbx2/122")
        s.td("event pbx2/122 delivered alerting x1 calling=121 called=122")
        ev = s.event(r"^event call\.state line:pbx2/122 ")
        check(ev["remote_name"] == "Zed" and ev["internal"] == 1,
              f"the caller is 121 of the same PBX: {ev}")
        s.p.ok("sub call.state line:pbx/122")
        s.td("event pbx/122 delivered alerting x1 calling=121 called=122")
        ev = s.event(r"^event call\.state line:pbx/122 ")
        check(ev["remote_name"] == "Alice", f"and on the other PBX its own 121: {ev}")

    groups = [{"name": "pbx", "caps": ["*"]}, {"name": "pbx2", "caps": ["*"]}]
    lines = [td_line(e) for e in (121, 122)] + [
        {"id": "pbx2/121", "group": "pbx2", "device": "121"},
        {"id": "pbx2/122", "group": "pbx2", "device": "122"}]
    cfg = {"lines": [{"id": "pbx/121", "name": "Alice"}, {"id": "pbx2/121", "name": "Zed"}]}
    run(Server(lines=cfg, td_lines=lines, td_groups=groups), body)


def long_call_ids():
    """PBX call ids of up to 63 bytes: published ids are never cut into one another."""
    def body(s):
        a, b = "A" * 58 + "1", "A" * 58 + "2"
        ring(s, "pbx/121", a, "00891234567", "121")
        ring(s, "pbx/121", b, "00301234", "121")
        ids = sorted(c["call"] for c in s.calls("pbx/121"))
        check(len(set(ids)) == 2 and all(len(i) < 64 and i.startswith("td/") for i in ids),
              f"two distinct ids: {ids}")
        short = "c" * 20
        ring(s, "pbx/121", short, "00891234567", "121")
        check(f"td/{short}" in [c["call"] for c in s.calls("pbx/121")], "a short id in full")
        # the published id names the call in requests
        r = s.call(op="answer", actor="alice", line="pbx/121",
                   call=next(i for i in ids if i not in (f"td/{short}",)))
        check(r["status"] == 0, f"control by the long id: {r}")

    run(Server(), body)


# ---- rights on dialling and extra lines -------------------------------------------


def authorised_dial():
    """Extra lines: control, and dialling unless an authorised-only computer lists
    the line; pickup/forwarding with the extra line's pickup flag."""
    def body(s):
        ring(s, "pbx/123", "k1", "00891234567", "123")
        r = s.call(op="make", actor="erin", line="pbx/124", number="0891234567")
        check(r["status"] == 0, f"dialling on an extra line: {r}")
        r = s.call(op="make", actor="erin", line="pbx/123", number="0891234567")
        check(r["status"] == -EPERM and "only the owners" in r["reason"],
              f"not on an authorised-only computer's line: {r}")
        r = s.call(op="make", actor="carol", line="pbx/123", number="0891234567")
        check(r["status"] == 0, f"its owner dials: {r}")
        r = s.call(op="answer", actor="erin", line="pbx/123", call="td/k1")
        check(r["status"] == 0, f"an extra line is controlled: {r}")
        r = s.call(op="forward_set", actor="erin", line="pbx/123", mode="busy", number="125")
        check(r["status"] == -EPERM, f"no forwarding without the pickup flag: {r}")
        r = s.call(op="forward_set", actor="erin", line="pbx/124", mode="busy", number="125")
        check(r["status"] == 0, f"forwarding with the pickup flag: {r}")
        r = s.call(op="make", actor="erin", line="pbx/122", number="0891234567")
        check(r["status"] == -EPERM, f"not her line at all: {r}")

    users = USERS + [user("erin", 125, extra_lines=[{"line": "123"},
                                                    {"line": "124", "pickup": True}])]
    computers = [{"id": "desk", "lines": ["123"], "authorised_only": True}]
    run(Server(users=users, computers=computers), body)


def roaming_lines():
    """Computer lines for roaming users: the first and second phone of a computer are
    controlled and dialled by whoever logged on to it last (ucs.userdb computer_logon),
    not by others; on an authorised-only computer she controls but only owners dial."""
    def body(s):
        def kiosk():
            return json.loads(s.p.ok("ud.computer kiosk"))

        def make(actor, line):
            return s.call(op="make", actor=actor, line=line, number="0891234567")

        r = make("erin", "pbx/126")
        check(r["status"] == -EPERM, f"no logon yet: not her phone: {r}")
        s.p.ok(f"ud.logon kiosk erin {int(time.time())}")
        check(kiosk()["last_user"] == "erin", f"erin logged on: {kiosk()}")
        s.requests()
        r = make("erin", "pbx/126")
        check(r["status"] == 0, f"the roaming user dials on the first phone: {r}")
        r = make("erin", "pbx/124")
        check(r["status"] == 0, f"and on the second phone (dave's): {r}")
        r = make("alice", "pbx/126")
        check(r["status"] == -EPERM, f"another user may not: {r}")
        r = make("erin", "pbx/123")
        check(r["status"] == -EPERM, f"a line of no computer of hers: {r}")
        ops = [(q["op"], q["line"]) for q in s.requests()]
        check(ops == [("make", "pbx/126"), ("make", "pbx/124")], f"reached the PBX: {ops}")
        # the next logon moves the phones to the next user
        s.p.ok(f"ud.logon kiosk alice {int(time.time())}")
        r = make("erin", "pbx/126")
        check(r["status"] == -EPERM, f"no longer erin's after alice logged on: {r}")
        r = make("alice", "pbx/126")
        check(r["status"] == 0, f"alice's now: {r}")
        # "only authorised users may dial": the logon is kept, dialling is not
        s.p.ok('ud.put computer ' + json.dumps({"id": "kiosk", "first_phone": "126",
                                                 "second_phone": "124",
                                                 "authorised_only": True}))
        k = kiosk()
        check(k["authorised_only"] and k["last_user"] == "alice", f"authorised-only: {k}")
        s.requests()
        r = make("alice", "pbx/126")
        check(r["status"] == -EPERM and "only the owners" in r["reason"],
              f"the roaming user may not dial on an authorised-only computer: {r}")
        r = s.call(op="consult", actor="alice", line="pbx/124", call="td/x", number="121")
        check(r["status"] == -EPERM, f"nor consult: {r}")
        r = make("dave", "pbx/124")
        check(r["status"] == 0, f"the line's owner dials: {r}")
        ring(s, "pbx/126", "r1", "00891234567", "126")
        r = s.call(op="answer", actor="alice", line="pbx/126", call="td/r1")
        check(r["status"] == 0, f"the roaming user answers: {r}")
        r = s.call(op="hold", actor="alice", line="pbx/126", call="td/r1")
        check(r["status"] == 0, f"and holds: {r}")
        r = s.call(op="hold", actor="erin", line="pbx/126", call="td/r1")
        check(r["status"] == -EPERM, f"not the previous user: {r}")
        ops = [(q["op"], q["line"]) for q in s.requests()]
        check(ops == [("make", "pbx/124"), ("answer", "pbx/126"), ("hold", "pbx/126")],
              f"reached the PBX: {ops}")

    users = USERS + [user("erin", 125)]
    computers = [{"id": "kiosk", "first_phone": "126", "second_phone": "124"}]
    run(Server(users=users, computers=computers,
               td_lines=[td_line(e) for e in (121, 122, 123, 124, 126)]), body)


def simulate_mode():
    """The testdriver's simulate mode: request_done() from inside request(), events
    in the order of a CSTA PBX, the second leg rings, answering connects both."""
    def body(s):
        s.p.ok("sub call.state")
        r = s.call(op="make", actor="alice", line="pbx/121", number="122")
        check(r["status"] == 0 and r["call"].startswith("td/tdc"), f"made: {r}")
        evs = [json.loads(e.split(" ", 3)[3]) for e in s.p.events(0.5)]
        mine = [(e["line"], e["event_name"], e["state_name"], e["connected_ms"]) for e in evs]
        check(mine == [("pbx/121", "service_initiated", "initiated", 0),
                       ("pbx/121", "originated", "connected", 0),
                       ("pbx/122", "delivered", "alerting", 0),
                       ("pbx/121", "delivered", "connected", 0)], f"events: {mine}")
        r = s.call(op="answer", actor="bob", line="pbx/122", call=r["call"])
        check(r["status"] == 0, f"answered: {r}")
        evs = [json.loads(e.split(" ", 3)[3]) for e in s.p.events(0.5)]
        got = sorted((e["line"], e["event_name"], e["connected_ms"] > 0) for e in evs)
        check(got == [("pbx/121", "established", True), ("pbx/122", "established", True)],
              f"both connected: {got}")
        check(evs[0]["remote"] in (num(121), num(122)), f"parties: {evs}")
        r = s.call(op="answer", actor="bob", line="pbx/122", call=evs[0]["call"])
        check(r["status"] == -EREMOTEIO and r["reason"] == "invalidCallID",
              f"a call that does not ring: {r}")

    run(Server(simulate=True), body)


def dial_results():
    """What the dialplan says of a dialled number goes with the call: a private
    project marks it private, postdial digits go out as DTMF once answered."""
    def body(s):
        s.p.ok("sub call.state line:pbx/121")
        s.requests()
        r = s.call(op="make", actor="alice", line="pbx/121", number="0891234567",
                   project="Personal")
        rq = s.requests()
        check(r["status"] == 0 and rq[0]["number"] == "80891234567", f"private code: {rq}")
        pbx = r["call"].split("/", 1)[1]
        s.td(f"event pbx/121 originated connected {pbx} calling=121 called=80891234567")
        ev = s.event(r"^event call\.state line:pbx/121 .*" + re.escape(r["call"]))
        check(ev["private"] == 1 and ev["project"] == "Personal", f"a private call: {ev}")
        s.td(f"event pbx/121 connection_cleared null {pbx}")
        r = s.call(op="make", actor="alice", line="pbx/121", number="004989123456789012345")
        rq = s.requests()
        check(rq[0]["number"] == "00891234567890123", f"the dialled part: {rq}")
        pbx = r["call"].split("/", 1)[1]
        s.td(f"event pbx/121 originated connected {pbx} calling=121 called=00891234567890123")
        s.td(f"event pbx/121 delivered connected {pbx} calling=121 called=00891234567890123")
        time.sleep(0.3)
        check(s.requests() == [], "no digits before the answer")
        s.td(f"event pbx/121 established connected {pbx} calling=121 "
             f"called=00891234567890123 connected=00891234567890123")
        s.u.wait_for(r"\[testdriver\] request dtmf line pbx/121")
        rq = s.requests()
        check([(q["op"], q["call"], q["digits"]) for q in rq] == [("dtmf", pbx, "45")],
              f"postdial digits once answered: {rq}")

    run(Server(), body)


def redirect_unwatched():
    """A redirection to a line that is not open ends the chain, and says so."""
    def body(s):
        s.td("status pbx/122 failed licence")
        ring(s, "pbx/121", "u1", "00891234567", "121")
        s.u.wait_for(r"info \[lines\] call u1 redirected from pbx/121 to 122 "
                     r"\(not monitored: redirection ends\)", timeout=5)

    lines = {"lines": [{"id": "pbx/121", "redirect": [{"to": "122", "ring_s": 1},
                                                        {"to": "123", "ring_s": 1}]}]}
    run(Server(lines=lines), body)


def pickup_named_call():
    """A pickup that names the call takes that one, not just any ringing call."""
    def body(s):
        ring(s, "pbx/122", "p1", "00891234567", "122")
        ring(s, "pbx/122", "p2", "00301234", "122")
        s.requests()
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122",
                   call="td/p1")
        rq = s.requests()
        check(r["status"] == 0 and r["call"] == "td/p1" and
              [(q["op"], q["call"]) for q in rq] == [("deflect", "p1")], f"p1: {r} {rq}")
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122",
                   call="td/zz")
        check(r["status"] == -ENOENT, f"no such call: {r}")

    run(Server(), body)


def clean_stop():
    """A clean stop with lines, calls and presence: presence owns
    "presence.in.line" and stops before the driver removes its lines (they do
    not depend on each other; the loader stops in reverse start order), so
    the line manager's last words for each line must not go into that
    withdrawn type: no "publishing ... after its type was withdrawn"."""
    lines = [td_line(e) for e in range(121, 141)]

    def body(s):
        ring(s, "pbx/121", "a1", "00891234567", "121")
        s.td("event pbx/122 established connected b1 calling=122 called=00301234 "
             "connected=00301234")
        s.td("event pbx/123 held held c1 calling=00891 called=123")
        check(len(s.calls("pbx/121")) == 1 and len(s.calls("pbx/123")) == 1, "calls are up")
        # presence runs and hears the line manager (the type is live until it stops)
        check(json.loads(s.p.ok("owners pbx/121")) == ["alice"], "presence is bound")
        s.p.close()
        s.p = None
        rc, _ = s.u.stop()
        check(rc == 0, f"clean exit ({rc})")
        log = s.u.log()
        # the lines went at stop (after presence: with the type pointer kept
        # from start, this case logged 2 warnings per line, 40 here)
        gone = s.u.index(r"info \[lines\] driver td removed")
        check(gone > s.u.index(r"\[core\] SIGTERM: stopping"),
              "the driver removed its lines at stop")
        bad = [x for x in s.u.lines if x and WITHDRAWN.search(x)]
        check(not bad, f"no publishing into withdrawn types: {bad[:3]} ({len(bad)} lines)")
        check(not re.search(r"(warning|error) \[lines\]", log.split("stopping", 1)[-1]),
              f"the line manager stops quietly:\n{log[-3000:]}")

    srv = Server(td_lines=lines)
    try:
        srv.start()
        body(srv)
    finally:
        srv.close()


def control_results():
    """call.control's result names a call only for the requests that create
    one (make, consult, pickup), by its published id "<driver>/<pbx id>";
    whatever id a driver hands back for another operation stays out."""
    def body(s):
        ring(s, "pbx/121", "a1", "00891234567", "121")
        s.td("event pbx/121 established connected a1 calling=00891234567 called=121 "
             "connected=121")
        r = s.call(op="consult", actor="alice", line="pbx/121", call="td/a1", number="122")
        check(r["status"] == 0 and re.fullmatch(r"td/tdc\d+", r["call"]),
              f"consult names the consultation call: {r}")
        # the driver answers later and hands back a call id with each answer
        s.td("answer pbx/121 hold")

        def later(q, pbx_call):
            s.requests()
            mark = len(s.u.lines)
            s.p.sock.sendall(("ln.call " + json.dumps(q) + "\n").encode())
            s.u.wait_for(r"\[testdriver\] request %s line pbx/121 .*token (\d+)" % q["op"],
                         after=mark)
            rq = s.requests()
            check(len(rq) == 1 and rq[0]["op"] == q["op"], f"one request: {rq}")
            token = rq[0]["token"]
            s.td(f"done {token} ok call={pbx_call}")
            got = s.p._line(time.monotonic() + 5)
            check(got.startswith("ok "), f"reply: {got}")
            return json.loads(got[3:])

        r = later(dict(op="transfer", actor="alice", line="pbx/121", call="td/a1",
                       number="123"), "a1")
        check(r["status"] == 0 and r["call"] == "", f"a transfer creates no call: {r}")
        r = later(dict(op="hold", actor="alice", line="pbx/121", call="td/a1"), "a1")
        check(r["status"] == 0 and r["call"] == "", f"hold creates no call: {r}")
        r = later(dict(op="make", actor="alice", line="pbx/121", number="0891234567"), "m5")
        check(r["status"] == 0 and r["call"] == "td/m5", f"make: the published id: {r}")
        # the made call's first event came before the answer: named as published
        s.td("event pbx/121 originated initiated m6 calling=121 called=00891234567")
        r = later(dict(op="make", actor="alice", line="pbx/121", number="0891234567"), "m6")
        check(r["status"] == 0 and r["call"] == "td/m6" and
              [c["call"] for c in s.calls("pbx/121") if c["call"] == "td/m6"] == ["td/m6"],
              f"make after its event: {r}")
        s.td("answer pbx/121 ok")
        # a pickup (directly: group "always pickup") names the picked call
        ring(s, "pbx/122", "p1", "00891234567", "122")
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        check(r["status"] == 0 and re.fullmatch(r"td/\S+", r["call"]), f"pickup: {r}")

    run(Server(lines={"groups": [{"name": "pbx", "always_pickup": True}]}), body)


# ---- what call.state says of a line's part (ABI 1.2) -------------------------------------


def evs_of(s, settle=0.4):
    """The call.state payloads that arrived, in order."""
    return [json.loads(e.split(" ", 3)[3]) for e in s.p.events(settle)
            if e.startswith("event call.state ")]


def last(evs, line, call):
    got = [e for e in evs if e["line"] == line and e["call"] == call]
    check(got, f"an event of {call} on {line}: {evs}")
    return got[-1]


def part_end(e, ended_by, flags, answered_line="", answered_by=""):
    """The end of a line's part: the reason, the flags, who took it."""
    check(e["state"] == 0 and e["ended_by_name"] == ended_by and e["ended_ms"] > 0,
          f"{e['line']} ends {ended_by}: {e}")
    check(e["flag_names"] == flags, f"{e['line']} flags {flags}: {e['flag_names']} {e}")
    check(e["answered_line"] == answered_line and e["answered_by"] == answered_by,
          f"{e['line']} taken by {answered_line!r} {answered_by!r}: {e}")


def call_info_answer():
    """An incoming call answered and hung up, an outgoing one, a failed one, a
    withheld caller, a project's J data, and calls() carrying the fields."""
    def body(s):
        s.p.ok("sub call.state line:pbx/121")
        t0 = 1700000000000
        s.td(f"event pbx/121 delivered alerting c1 calling=00891234567 called=121 time={t0}")
        e = last(evs_of(s), "pbx/121", "td/c1")
        check(e["alerting_ms"] == t0 and e["started_ms"] == t0 and e["ended_ms"] == 0 and
              e["ended_by_name"] == "none" and e["flags"] == 0 and e["answered_line"] == "",
              f"ringing: {e}")
        c = s.calls("pbx/121")
        check(len(c) == 1 and c[0]["alerting_ms"] == t0 and c[0]["event_name"] == "snapshot",
              f"calls() carries the fields: {c}")
        s.td(f"event pbx/121 established connected c1 calling=00891234567 called=121 "
             f"connected=121 time={t0 + 4000}")
        e = last(evs_of(s), "pbx/121", "td/c1")
        check(e["connected_ms"] == t0 + 4000 and e["flag_names"] == ["answered"] and
              e["flags"] == 16 and e["alerting_ms"] == t0, f"answered: {e}")
        s.td(f"event pbx/121 connection_cleared null c1 cause=normalClearing time={t0 + 9000}")
        e = last(evs_of(s), "pbx/121", "td/c1")
        part_end(e, "cleared", ["answered"])
        check(e["ended_ms"] == t0 + 9000 and e["ended_by"] == 1, f"end time: {e}")
        # a missed call: rang, the caller gave up
        ring(s, "pbx/121", "c2", "00891234567", "121")
        s.td("event pbx/121 connection_cleared null c2")
        e = last(evs_of(s), "pbx/121", "td/c2")
        part_end(e, "cleared", [])
        check(e["alerting_ms"] > 0 and e["ended_ms"] >= e["alerting_ms"], f"missed: {e}")
        # outgoing: the caller's line never rings, answered at ESTABLISHED
        s.td("event pbx/121 service_initiated initiated c3 calling=121")
        s.td("event pbx/121 originated connected c3 calling=121 called=00301234")
        s.td("event pbx/121 delivered connected c3 calling=121 called=00301234 "
             "connected=00301234")
        e = last(evs_of(s), "pbx/121", "td/c3")
        check(e["alerting_ms"] == 0 and e["flags"] == 0, f"dialling: {e}")
        s.td("event pbx/121 established connected c3 calling=121 called=00301234 "
             "connected=00301234")
        s.td("event pbx/121 connection_cleared null c3")
        e = last(evs_of(s), "pbx/121", "td/c3")
        part_end(e, "cleared", ["answered"])
        check(e["alerting_ms"] == 0 and e["direction"] == 2, f"outgoing: {e}")
        # failed: busy
        s.td("event pbx/121 originated connected c4 calling=121 called=122")
        s.td("event pbx/121 failed failed c4 calling=121 called=122 cause=busy")
        s.td("event pbx/121 connection_cleared null c4")
        part_end(last(evs_of(s), "pbx/121", "td/c4"), "failed", [])
        # a withheld caller: no number, flagged hidden; a caller that is merely not
        # named is not
        s.td("event pbx/121 delivered alerting c5 called=121 hidden=1")
        e = last(evs_of(s), "pbx/121", "td/c5")
        check(e["flag_names"] == ["hidden"] and e["remote"] == "", f"hidden: {e}")
        s.td("event pbx/121 connection_cleared null c5")
        part_end(last(evs_of(s), "pbx/121", "td/c5"), "cleared", ["hidden"])
        s.td("event pbx/121 delivered alerting c6 called=121")
        e = last(evs_of(s), "pbx/121", "td/c6")
        check(e["flags"] == 0, f"not named is not hidden: {e}")
        s.td("event pbx/121 connection_cleared null c6")
        # a driver built against ABI 1.1 sends the shorter event: taken, its
        # (absent) flags read as zero
        s.td("event pbx/121 delivered alerting c9 called=121 hidden=1 abi=1.1")
        e = last(evs_of(s), "pbx/121", "td/c9")
        check(e["flags"] == 0 and e["alerting_ms"] > 0, f"a 1.1 event: {e}")
        s.td("event pbx/121 connection_cleared null c9 abi=1.1")
        part_end(last(evs_of(s), "pbx/121", "td/c9"), "cleared", [])
        # an outgoing call whose own number is withheld is not "hidden" (that is
        # the other party's)
        s.td("event pbx/121 originated connected c7 called=00301234 hidden=1")
        s.td("event pbx/121 connection_cleared null c7")
        part_end(last(evs_of(s), "pbx/121", "td/c7"), "cleared", [])
        # a call made with a project carries the project's J data (Account: 12345)
        r = s.call(op="make", actor="alice", line="pbx/121", number="0301234", project="Account")
        pbx = r["call"].split("/", 1)[1]
        s.td(f"event pbx/121 originated initiated {pbx} calling=121 called=00301234")
        e = last(evs_of(s), "pbx/121", r["call"])
        check(e["project"] == "Account" and e["project_info"] == "12345", f"J data: {e}")
        check([c["project_info"] for c in s.calls("pbx/121") if c["call"] == r["call"]] ==
              ["12345"], "J data in calls()")
        s.td(f"event pbx/121 connection_cleared null {pbx}")
        e = last(evs_of(s), "pbx/121", r["call"])
        check(e["project_info"] == "12345", f"J data at the end: {e}")
        # a call that ended while the line was not watched: the reason is not known
        ring(s, "pbx/121", "c8", "00891234567", "121")
        s.td("status pbx/121 not_available")
        s.td("status pbx/121 open")
        s.td("synced pbx/121")
        part_end(last(evs_of(s), "pbx/121", "td/c8"), "none", [])

    run(Server(), body)


def call_info_pickup():
    """A ringing line's call picked up at another phone (CSTA cause callPickup),
    picked up through ucsd, and picked up by an unmonitored phone."""
    def body(s):
        s.p.ok("sub call.state line:pbx/122")
        s.p.ok("sub call.state line:pbx/123")
        # at the phone: the PBX diverts 122's ringing call to 123, which answers
        ring(s, "pbx/122", "p1", "00891234567", "122")
        s.td("event pbx/122 diverted null p1 calling=00891234567 called=122 connected=123 "
             "redirecting=122 cause=callPickup")
        s.td("event pbx/123 established connected p1 calling=00891234567 called=122 "
             "connected=123 redirecting=122 cause=callPickup")
        evs = evs_of(s)
        part_end(last(evs, "pbx/122", "td/p1"), "picked_up", [], "pbx/123", num(123))
        e = last(evs, "pbx/123", "td/p1")
        check(e["flag_names"] == ["pickup", "answered"] and e["direction"] == 1 and
              e["remote"] == "+49891234567" and e["alerting_ms"] == 0 and e["ended_ms"] == 0,
              f"the picking line: {e}")
        s.td("event pbx/123 connection_cleared null p1")
        part_end(last(evs_of(s), "pbx/123", "td/p1"), "cleared", ["pickup", "answered"])
        # through ucsd: redirected to the picking line (the PBX calls that a
        # deflection), still a pickup for both lines
        ring(s, "pbx/122", "p2", "00891234567", "122")
        evs_of(s)
        s.requests()
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        check(r["status"] == 0 and [q["op"] for q in s.requests()] == ["deflect"], f"{r}")
        s.td("event pbx/122 diverted null p2 calling=00891234567 called=122 connected=123 "
             "redirecting=122 cause=redirected")
        s.td("event pbx/123 delivered alerting p2 calling=00891234567 called=122 "
             "redirecting=122 cause=redirected")
        s.td("event pbx/123 established connected p2 calling=00891234567 called=122 "
             "connected=123 redirecting=122")
        evs = evs_of(s)
        part_end(last(evs, "pbx/122", "td/p2"), "picked_up", [], "pbx/123", num(123))
        e = last(evs, "pbx/123", "td/p2")
        check(e["flag_names"] == ["pickup", "answered"] and e["diverted_from"] == num(122),
              f"picked through ucsd: {e}")
        s.td("event pbx/123 connection_cleared null p2")
        # directly (the redirect refused): the mark stays with the direct pickup
        s.td("answer pbx/122 refuse invalidCallID")
        ring(s, "pbx/122", "p3", "00891234567", "122")
        evs_of(s)
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        check(r["status"] == 0 and [q["op"] for q in s.requests()] == ["deflect", "pickup"],
              f"{r}")
        s.td("event pbx/122 diverted null p3 calling=00891234567 called=122 connected=123 "
             "redirecting=122")
        part_end(last(evs_of(s), "pbx/122", "td/p3"), "picked_up", [], "pbx/123", num(123))
        s.td("answer pbx/122 ok")
        # a phone the server does not watch picks it up: its number only
        ring(s, "pbx/122", "p4", "00891234567", "122")
        s.td("event pbx/122 diverted null p4 calling=00891234567 called=122 connected=129 "
             "redirecting=122 cause=callPickup")
        part_end(last(evs_of(s), "pbx/122", "td/p4"), "picked_up", [], "", num(129))
        # some PBXs just clear the picked connection, with the cause
        ring(s, "pbx/122", "p5", "00891234567", "122")
        s.td("event pbx/122 connection_cleared null p5 cause=callPickup")
        part_end(last(evs_of(s), "pbx/122", "td/p5"), "picked_up", [])

    run(Server(), body)

    def reversed_direction(s):
        # a PBX that reports the picking phone's pickup as a call it makes
        s.p.ok("sub call.state line:pbx/123")
        s.td("event pbx/123 service_initiated initiated q1 calling=123 cause=callPickup")
        s.td("event pbx/123 established connected q1 calling=123 called=122 "
             "connected=00891234567 cause=callPickup")
        evs = evs_of(s)
        want = 1 if s.reverse else 2
        check(all(e["direction"] == want for e in evs) and
              last(evs, "pbx/123", "td/q1")["flag_names"] == ["pickup", "answered"],
              f"direction {want} with reverse_pickup_direction={s.reverse}: {evs}")
        # an ordinary outgoing call stays outgoing
        s.td("event pbx/123 originated connected q2 calling=123 called=00301234")
        check(last(evs_of(s), "pbx/123", "td/q2")["direction"] == 2, "not a pickup")

    for rev in (True, False):
        srv = Server(lines={"groups": [{"name": "pbx", "reverse_pickup_direction": rev}]})
        srv.reverse = rev
        run(srv, reversed_direction)


def call_info_deflect():
    """A user's deflection through ucsd, one at the phone, server-side
    redirection and the PBX's forwarding, seen from both lines."""
    def body(s):
        for ext in (121, 122, 124):
            s.p.ok(f"sub call.state line:pbx/{ext}")
        # alice deflects to an outside number: her part ends deflected
        ring(s, "pbx/121", "d1", "00891234567", "121")
        evs_of(s)
        r = s.call(op="deflect", actor="alice", line="pbx/121", call="td/d1", number="0301234")
        check(r["status"] == 0, f"deflect: {r}")
        s.td("event pbx/121 diverted null d1 calling=00891234567 called=121 connected=00301234 "
             "redirecting=121 cause=redirected")
        part_end(last(evs_of(s), "pbx/121", "td/d1"), "deflected", [], "", "+49301234")
        # ... to bob's line: his part arrives forwarded
        ring(s, "pbx/121", "d2", "00891234567", "121")
        r = s.call(op="deflect", actor="alice", line="pbx/121", call="td/d2", number="122")
        s.td("event pbx/121 diverted null d2 calling=00891234567 called=121 connected=122 "
             "redirecting=121 cause=redirected")
        s.td("event pbx/122 delivered alerting d2 calling=00891234567 called=121 "
             "redirecting=121 cause=redirected")
        evs = evs_of(s)
        part_end(last(evs, "pbx/121", "td/d2"), "deflected", [], "pbx/122", num(122))
        e = last(evs, "pbx/122", "td/d2")
        check(e["flag_names"] == ["forwarded"] and e["diverted_from"] == num(121) and
              e["alerting_ms"] > 0, f"arrived deflected: {e}")
        s.td("event pbx/122 connection_cleared null d2")
        # the PBX refuses a deflection; the PBX's no-answer forwarding then
        # moves the call: forwarded, not deflected
        s.td("answer pbx/121 refuse invalidDestination")
        ring(s, "pbx/121", "d3", "00891234567", "121")
        r = s.call(op="deflect", actor="alice", line="pbx/121", call="td/d3", number="0301234")
        check(r["status"] == -EREMOTEIO, f"refused: {r}")
        s.td("answer pbx/121 ok")
        s.td("event pbx/121 diverted null d3 calling=00891234567 called=121 connected=124 "
             "redirecting=121 cause=callForwardNoAnswer")
        s.td("event pbx/124 delivered alerting d3 calling=00891234567 called=121 "
             "redirecting=121 cause=callForwardNoAnswer")
        evs = evs_of(s)
        part_end(last(evs, "pbx/121", "td/d3"), "forwarded", [], "pbx/124", num(124))
        check(last(evs, "pbx/124", "td/d3")["flag_names"] == ["forwarded"], f"{evs}")
        s.td("event pbx/124 established connected d3 calling=00891234567 called=121 "
             "connected=124 redirecting=121")
        s.td("event pbx/124 connection_cleared null d3")
        part_end(last(evs_of(s), "pbx/124", "td/d3"), "cleared", ["forwarded", "answered"])
        # deflected at the phone (no request of ucsd): the PBX's cause says so
        ring(s, "pbx/121", "d4", "00891234567", "121")
        s.td("event pbx/121 diverted null d4 calling=00891234567 called=121 connected=00301234 "
             "redirecting=121 cause=redirected")
        part_end(last(evs_of(s), "pbx/121", "td/d4"), "deflected", [], "", "+49301234")
        # distribution in a hunt group: forwarded
        ring(s, "pbx/121", "d5", "00891234567", "200")
        s.td("event pbx/121 diverted null d5 calling=00891234567 called=200 connected=122 "
             "redirecting=121 cause=distributed")
        part_end(last(evs_of(s), "pbx/121", "td/d5"), "forwarded", [], "pbx/122", num(122))

    run(Server(), body)

    def redirected(s):
        s.p.ok("sub call.state line:pbx/121")
        s.p.ok("sub call.state line:pbx/122")
        ring(s, "pbx/121", "r1", "00891234567", "121")
        s.u.wait_for(r"\[testdriver\] request deflect line pbx/121 call r1 other - number 122 ",
                     timeout=5)
        s.td("event pbx/121 diverted null r1 calling=00891234567 called=121 connected=122 "
             "redirecting=121 cause=redirected")
        s.td("event pbx/122 delivered alerting r1 calling=00891234567 called=121 "
             "redirecting=121")
        evs = evs_of(s)
        part_end(last(evs, "pbx/121", "td/r1"), "redirected", [], "pbx/122", num(122))
        check(last(evs, "pbx/122", "td/r1")["flag_names"] == ["forwarded"], f"{evs}")

    run(Server(lines={"lines": [{"id": "pbx/121", "redirect": [{"to": "122", "ring_s": 1}]}]}),
        redirected)


def call_info_group():
    """Parallel ringing: the lines that rang and did not answer learn who did;
    nobody answering leaves it empty. Transfer and conference."""
    def body(s):
        for ext in (121, 122, 123):
            s.p.ok(f"sub call.state line:pbx/{ext}")
        for ext in (121, 122, 123):
            ring(s, f"pbx/{ext}", "g1", "00891234567", "200")
        s.td("event pbx/122 established connected g1 calling=00891234567 called=200 "
             "connected=122")
        # the PBX tells the lines still ringing that 122 answered: their party
        # stays the caller
        s.td("event pbx/121 established alerting g1 calling=00891234567 called=200 "
             "connected=122")
        e = last(evs_of(s), "pbx/121", "td/g1")
        check(e["remote"] == "+49891234567" and e["state_name"] == "alerting", f"{e}")
        s.td("event pbx/121 connection_cleared null g1")
        s.td("event pbx/123 connection_cleared null g1")
        evs = evs_of(s)
        part_end(last(evs, "pbx/121", "td/g1"), "cleared", [], "pbx/122", num(122))
        part_end(last(evs, "pbx/123", "td/g1"), "cleared", [], "pbx/122", num(122))
        s.td("event pbx/122 connection_cleared null g1")
        part_end(last(evs_of(s), "pbx/122", "td/g1"), "cleared", ["answered"])
        # nobody answers
        for ext in (121, 122):
            ring(s, f"pbx/{ext}", "g2", "00891234567", "200")
        for ext in (121, 122):
            s.td(f"event pbx/{ext} connection_cleared null g2")
        evs = evs_of(s)
        for ext in (121, 122):
            part_end(last(evs, f"pbx/{ext}", "td/g2"), "cleared", [])
        # a consultation transfer: 121 leaves transferred (to 122); 122 stays,
        # transferred
        ring(s, "pbx/121", "t1", "00891234567", "121")
        s.td("event pbx/121 established connected t1 calling=00891234567 called=121")
        s.td("event pbx/121 originated initiated t2 calling=121 called=122")
        s.td("event pbx/122 delivered alerting t2 calling=121 called=122")
        s.td("event pbx/122 established connected t2 calling=121 called=122")
        s.td("event pbx/121 established connected t2 calling=121 called=122 connected=122")
        evs_of(s)
        s.td("event pbx/121 transferred null t1 old=t2 connected=122 cause=transfer")
        s.td("event pbx/122 transferred connected t1 old=t2 connected=122 cause=transfer")
        evs = evs_of(s)
        part_end(last(evs, "pbx/121", "td/t1"), "transferred", ["answered"], "pbx/122",
                 num(122))
        part_end(last(evs, "pbx/121", "td/t2"), "transferred", ["answered"], "pbx/122",
                 num(122))
        e = last(evs, "pbx/122", "td/t2")
        check(e["flag_names"] == ["transferred", "answered"] and e["state"] == 3,
              f"transferred to 122: {e}")
        s.td("event pbx/122 connection_cleared null t1")
        part_end(last(evs_of(s), "pbx/122", "td/t2"), "cleared", ["transferred", "answered"])
        # a single-step transfer: the call reaches 123 by a transfer, not forwarded
        ring(s, "pbx/121", "s1", "00891234567", "121")
        s.td("event pbx/121 established connected s1 calling=00891234567 called=121")
        s.td("event pbx/121 transferred null s1 connected=123 cause=singleStepTransfer")
        s.td("event pbx/123 delivered alerting s1 calling=00891234567 called=123 "
             "redirecting=121 cause=singleStepTransfer")
        evs = evs_of(s)
        part_end(last(evs, "pbx/121", "td/s1"), "transferred", ["answered"], "pbx/123",
                 num(123))
        check(last(evs, "pbx/123", "td/s1")["flag_names"] == ["transferred"], f"{evs}")
        s.td("event pbx/123 connection_cleared null s1")
        # a conference: every line in it is flagged; the merged call ends
        ring(s, "pbx/121", "k1", "00891", "121")
        s.td("event pbx/121 established connected k1 calling=00891 called=121")
        s.td("event pbx/121 originated initiated k2 calling=121 called=122")
        s.td("event pbx/122 delivered alerting k2 calling=121 called=122")
        s.td("event pbx/122 established connected k2 calling=121 called=122")
        s.td("event pbx/121 established connected k2 calling=121 called=122 connected=122")
        evs_of(s)
        s.td("event pbx/121 conferenced connected k1 old=k2 connected=122")
        s.td("event pbx/122 conferenced connected k1 old=k2 connected=121")
        evs = evs_of(s)
        part_end(last(evs, "pbx/121", "td/k2"), "cleared", ["conference", "answered"])
        check(last(evs, "pbx/121", "td/k1")["flag_names"] == ["conference", "answered"] and
              last(evs, "pbx/122", "td/k2")["flag_names"] == ["conference", "answered"],
              f"conference: {evs}")
        s.td("event pbx/121 connection_cleared null k1")
        part_end(last(evs_of(s), "pbx/121", "td/k1"), "cleared", ["conference", "answered"])

    run(Server(), body)


def call_info_parallel_moves():
    """Parallel ringing: another member's pickup (a Diverted event every
    member's monitor sees) leaves the still-ringing member as it was; a
    transfer made while the target rang is not 'answered elsewhere'."""
    def body(s):
        for ext in (121, 122, 123):
            s.p.ok(f"sub call.state line:pbx/{ext}")
        for ext in (121, 122):
            ring(s, f"pbx/{ext}", "g1", "00891234567", "200")
        evs_of(s)
        # 123 picks up 121's ringing call at the phone; 122 still rings
        s.td("event pbx/121 diverted null g1 calling=00891234567 called=200 connected=123 "
             "redirecting=121 cause=callPickup")
        s.td("event pbx/122 diverted alerting g1 calling=00891234567 called=200 connected=123 "
             "redirecting=121 cause=callPickup")
        s.td("event pbx/123 established connected g1 calling=00891234567 called=200 "
             "connected=123 redirecting=121 cause=callPickup")
        s.td("event pbx/122 established alerting g1 calling=00891234567 called=200 "
             "connected=123 redirecting=121 cause=callPickup")
        evs = evs_of(s)
        for e in [e for e in evs if e["line"] == "pbx/122"]:
            check(e["state_name"] == "alerting" and e["remote"] == "+49891234567" and
                  e["flag_names"] == [] and e["diverted_from"] == "",
                  f"122 still rings, not forwarded: {e}")
        s.td("event pbx/122 connection_cleared null g1 cause=normalClearing")
        part_end(last(evs_of(s), "pbx/122", "td/g1"), "cleared", [], "pbx/123", num(123))
        s.td("event pbx/123 connection_cleared null g1")
        evs_of(s)
        # 121 talks to 123, consults 122 and transfers while 122 rings: 122's
        # party becomes 123, and 123 (answered, the same PBX call) did not
        # take 122's call
        s.td("event pbx/121 originated connected x1 calling=121 called=123")
        s.td("event pbx/123 delivered alerting x1 calling=121 called=123")
        s.td("event pbx/123 established connected x1 calling=121 called=123 connected=123")
        s.td("event pbx/121 established connected x1 calling=121 called=123 connected=123")
        s.td("event pbx/121 originated connected x2 calling=121 called=122")
        s.td("event pbx/122 delivered alerting x2 calling=121 called=122")
        s.td("event pbx/121 transferred null x2 old=x1 connected=122 cause=transfer")
        s.td("event pbx/123 transferred connected x2 old=x1 connected=122 cause=transfer")
        s.td("event pbx/122 transferred alerting x2 old=x1 connected=123 cause=transfer")
        s.td("event pbx/122 connection_cleared null x2")
        s.td("event pbx/123 connection_cleared null x2")
        evs = evs_of(s)
        part_end(last(evs, "pbx/122", "td/x2"), "cleared", ["transferred"])

    run(Server(), body)


def call_info_deflect_causes():
    """ucsd's deflection ends the line's part deflected whatever cause the
    PBX's Diverted gives (or none), towards the requested number; a PBX
    diversion elsewhere with its own cause stays forwarded."""
    def body(s):
        for ext in (121, 124):
            s.p.ok(f"sub call.state line:pbx/{ext}")
        cases = [("e1", "connected=00301234 cause=callForwardImmediate"),
                 ("e2", "connected=00301234"), ("e3", "")]
        for call, extra in cases:
            ring(s, "pbx/121", call, "00891234567", "121")
            evs_of(s)
            r = s.call(op="deflect", actor="alice", line="pbx/121", call=f"td/{call}",
                       number="0301234")
            check(r["status"] == 0, f"deflect: {r}")
            s.td(f"event pbx/121 diverted null {call} calling=00891234567 called=121 "
                 f"redirecting=121 {extra}")
            part_end(last(evs_of(s), "pbx/121", f"td/{call}"), "deflected", [], "",
                     "+49301234")
        # the PBX's own no-answer forwarding to another phone while ucsd's
        # deflection is under way: the PBX's reason and destination
        ring(s, "pbx/121", "e4", "00891234567", "121")
        evs_of(s)
        r = s.call(op="deflect", actor="alice", line="pbx/121", call="td/e4",
                   number="0301234")
        check(r["status"] == 0, f"deflect: {r}")
        s.td("event pbx/121 diverted null e4 calling=00891234567 called=121 connected=124 "
             "redirecting=121 cause=callForwardNoAnswer")
        part_end(last(evs_of(s), "pbx/121", "td/e4"), "forwarded", [], "pbx/124", num(124))

    run(Server(lines={"request_timeout_ms": 3000}), body)


def call_info_forwarded_away():
    """A call forwarded away before it rang (its first event on the line is a
    Diverted ending it) gives the line one call.state: the manual counts it as
    answered by the forwarding destination."""
    def body(s):
        for ext in (121, 122, 123):
            s.p.ok(f"sub call.state line:pbx/{ext}")
        s.td("event pbx/121 diverted null f1 calling=00891234567 called=121 connected=122 "
             "redirecting=121 cause=callForwardImmediate")
        s.td("event pbx/122 delivered alerting f1 calling=00891234567 called=121 "
             "redirecting=121 cause=callForwardImmediate")
        # the Diverted event a third monitored line sees is not its call
        s.td("event pbx/123 diverted null f1 calling=00891234567 called=121 connected=122 "
             "redirecting=121 cause=callForwardImmediate")
        evs = evs_of(s)
        mine = [e for e in evs if e["line"] == "pbx/121"]
        check(len(mine) == 1, f"one call.state for the forwarding line: {mine}")
        e = mine[0]
        part_end(e, "forwarded", [], "pbx/122", num(122))
        check(e["event_name"] == "diverted" and e["direction"] == 1 and
              e["remote"] == "+49891234567" and e["alerting_ms"] == 0 and
              e["started_ms"] > 0 and e["ended_ms"] >= e["started_ms"] and
              e["call"] == "td/f1", f"forwarded away: {e}")
        check(not [e for e in evs if e["line"] == "pbx/123"], f"123 saw nothing: {evs}")
        check(s.calls("pbx/121") == [], "nothing left on the forwarding line")
        check(last(evs, "pbx/122", "td/f1")["flag_names"] == ["forwarded"], f"{evs}")
        # to an outside number, from a withheld caller
        s.td("event pbx/121 diverted null f2 called=121 connected=00301234 redirecting=121 "
             "cause=callForwardImmediate hidden=1")
        e = last(evs_of(s), "pbx/121", "td/f2")
        part_end(e, "forwarded", ["hidden"], "", "+49301234")

    run(Server(), body)


def pickup_failed_mark():
    """A pickup that failed leaves no mark: the picking line's next call is
    not taken for its result (directed, by the feature code, group)."""
    def body(s):
        s.p.ok("sub call.state line:pbx/123")
        ring(s, "pbx/122", "b1", "00891234567", "122")
        s.td("answer pbx/122 refuse invalidCallID")
        s.td("answer pbx/123 refuse invalidCallID")
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        check(r["status"] == -EREMOTEIO, f"refused: {r}")
        ring(s, "pbx/123", "n1", "00891234567", "123")
        check(last(evs_of(s), "pbx/123", "td/n1")["flag_names"] == [], "not a pickup")
        s.td("event pbx/123 connection_cleared null n1")
        # a group pickup refused
        r = s.call(op="pickup", actor="carol", line="pbx/123")
        check(r["status"] == -EREMOTEIO, f"group pickup refused: {r}")
        ring(s, "pbx/123", "n2", "00891234567", "123")
        check(last(evs_of(s), "pbx/123", "td/n2")["flag_names"] == [], "not a group pickup")
        s.td("event pbx/123 connection_cleared null n2")

    run(Server(lines={"request_timeout_ms": 5000}), body)

    def code(s):
        s.p.ok("sub call.state line:pbx/123")
        ring(s, "pbx/122", "b1", "00891234567", "122")
        s.td("answer pbx/123 refuse busy")
        r = s.call(op="pickup", actor="carol", line="pbx/123", target_line="pbx/122")
        check(r["status"] == -EREMOTEIO and [q["op"] for q in s.requests()] ==
              ["pickup", "make"], f"direct and code refused: {r}")
        ring(s, "pbx/123", "n3", "00891234567", "123")
        check(last(evs_of(s), "pbx/123", "td/n3")["flag_names"] == [], "not a code pickup")

    run(Server(lines={"request_timeout_ms": 5000,
                      "groups": [{"name": "pbx", "always_pickup": True,
                                  "pickup_code": "*8<NUMBER>"}]}), code)


if __name__ == "__main__":
    main({f.__name__: f for f in (
        config_errors, line_status, incoming_call, rights_matrix, pickup, capabilities,
        driver_answers, not_available, resync, transfer_keeps_id, redirection, remote_office,
        retry, admin, admin_api, presence_binding, private_presence, line_use_false,
        bad_driver_input, reload, interest,
        two_pbxs, long_call_ids, authorised_dial, roaming_lines, simulate_mode, dial_results,
        redirect_unwatched, pickup_named_call, clean_stop, control_results, call_info_answer,
        call_info_pickup, call_info_deflect, call_info_group, call_info_parallel_moves,
        call_info_deflect_causes, call_info_forwarded_away, pickup_failed_mark)})
