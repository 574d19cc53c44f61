"""tests/integration/test_roaming.py - computer lines for roaming users
through the client protocol (client-api auth.login "computer").

The real ucsd with dialplan.so, userdb-file.so, auth.so, presence.so,
client-api.so and the line manager lines.so, plus the test plugins
testdriver (simulating the PBX for the kiosk's phone pbx/126, which no user
owns, and zed's line pbx/129) and svcprobe (reads and writes the user store:
"ud.computer", "ud.put"; sends call.control: "ln.call"). Clients are
python3-websockets (wsclient.py RpcClient).

A login naming a computer records the logon in the user store (last_user,
last_logon) and so gives the user the computer's phones in the line
manager; an unknown computer still logs in, without one; a resume records
nothing; malformed names are invalid_params and record nothing.

Through the client protocol the kiosk's phone is then the roaming user's:
lines.list shows it with access "computer", call.make on it reaches the
driver, another user is refused (forbidden, before the line manager is
asked); on an authorised-only computer she may not dial on it but answers
a call ringing there.
"""
import json
import os
import re
import time

from harness import SOURCE, Probe, Ucsd, check, main, phc, wait_rpc_event
from wsclient import RpcClient

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
CHEAP = {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1,
         "delay_base_ms": 0}
EPERM = 1
KIOSK = {"id": "kiosk-1", "first_phone": "126"}
KIOSK_NUMBER = "+49815136856126"
ZED_NUMBER = "+49815136856129"


def user(uid, ext):
    return {"id": uid, "login": uid, "phones": {"business": f"08151 36856-{ext}"},
            "password_hash": phc("pw-" + uid)}


class Server:
    def __init__(self):
        config = {
            "dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                         "default_location": "Starnberg"},
            "auth": CHEAP,
            "client-api": {"interfaces": [{"bind": "127.0.0.1", "port": 0, "tls": "plain"}]},
            "lines": {"request_timeout_ms": 600,
                      "groups": [{"name": "pbx", "set_numbers_automatically": False,
                                  "always_pickup": True}],
                      "lines": [{"id": "pbx/126", "number": KIOSK_NUMBER, "name": "Kiosk"},
                                {"id": "pbx/129", "number": ZED_NUMBER, "name": "Zed"}]},
            "testdriver": {"simulate": True, "groups": [{"name": "pbx", "caps": ["*"]}],
                           "lines": [{"id": "pbx/126", "group": "pbx", "device": "126"},
                                     {"id": "pbx/129", "group": "pbx", "device": "129"}]},
        }
        self.u = Ucsd(plugins=["svcprobe", "testdriver"], config=config,
                      tree_plugins=["dialplan", "userdb-file", "auth", "presence", "client-api",
                                    "lines"])
        store = os.path.join(self.u.state, "userdb")
        for kind, docs in (("users", [user("alice", 121), user("bob", 122), user("zed", 129)]),
                           ("computers", [KIOSK])):
            os.makedirs(os.path.join(store, kind), exist_ok=True)
            for d in docs:
                with open(os.path.join(store, kind, d["id"] + ".json"), "w") as f:
                    json.dump(d, f)
        with open(os.path.join(store, "settings.json"), "w") as f:
            json.dump({"rights": {"level": "blocked"}}, f)
        self.clients = []
        self.p = None

    def start(self):
        self.u.start()
        i = self.u.wait_for(r"\[client-api\] client protocol on 127\.0\.0\.1 port \d+ \(plain\)")
        self.port = int(re.search(r"port (\d+)", self.u.lines[i]).group(1))
        self.p = Probe(self.u)

    def client(self):
        c = RpcClient(f"ws://127.0.0.1:{self.port}/ws")
        self.clients.append(c)
        return c

    def kiosk(self):
        return json.loads(self.p.ok("ud.computer kiosk-1"))

    def put_kiosk(self, **fields):
        self.p.ok("ud.put computer " + json.dumps(dict(KIOSK, **fields)))

    def make(self, actor):
        return json.loads(self.p.ok("ln.call " + json.dumps(
            dict(op="make", actor=actor, line="pbx/126", number="0891234567")), timeout=15))

    def stop(self):
        for c in self.clients:
            c.close()
        self.clients = []
        self.p.close()
        self.p = None
        rc, _ = self.u.stop()
        check(rc == 0, f"clean exit ({rc})")

    def close(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        if self.p:
            self.p.close()
        self.u.close()


def computer_login():
    s = Server()
    try:
        s.start()
        check(s.kiosk()["last_user"] == "" and s.kiosk()["last_logon"] == 0, "never used")
        r = s.make("alice")
        check(r["status"] == -EPERM, f"the kiosk's phone is nobody's yet: {r}")

        # malformed computer params: refused before the password is checked,
        # nothing recorded
        c = s.client()
        for bad in (5, None, "", "k" * 64, "kiosk 1", "kiosk/1", "kiösk", ["kiosk-1"]):
            e = c.call_error("auth.login", {"login": "alice", "password": "pw-alice",
                                            "computer": bad})
            data = e.get("data") or {}
            check(data.get("reason") == "invalid_params" and data.get("member") == "computer",
                  f"computer {bad!r}: {e}")
        check(s.kiosk()["last_user"] == "", f"nothing recorded: {s.kiosk()}")
        # a wrong password with a computer records nothing either
        e = c.call_error("auth.login", {"login": "alice", "password": "wrong",
                                        "computer": "kiosk-1"})
        check((e.get("data") or {}).get("reason") == "auth_failed", f"wrong password: {e}")
        check(s.kiosk()["last_user"] == "", f"nothing recorded: {s.kiosk()}")

        # a good login on the same session, the name in another case
        mark = len(s.u.lines)
        # ucsd stamps the logon with its loop's cached clock, which may lag
        # this process's by a little: a second of slack across the boundary
        t0 = int(time.time()) - 1
        me = c.call("auth.login", {"login": "alice", "password": "pw-alice",
                                   "computer": "KIOSK-1"})
        check(me.get("computer") == "kiosk-1" and me["user"]["id"] == "alice",
              f"the answer names the computer: {me}")
        alice_token = me["session"]
        k = s.kiosk()
        check(k["last_user"] == "alice" and t0 <= k["last_logon"] <= int(time.time()) + 1,
              f"the logon is recorded: {k}")
        s.u.wait_for(r"\[client-api\] alice logged in from \S+ on computer kiosk-1 \(session",
                     after=mark)
        r = s.make("alice")
        check(r["status"] == 0, f"the roaming user dials on the kiosk's phone: {r}")
        r = s.make("bob")
        check(r["status"] == -EPERM, f"another user does not: {r}")

        # through the client protocol: the kiosk's phone is among her lines
        ls = c.call("lines.list")["lines"]
        check([(x["id"], x["access"], x["class"]) for x in ls] ==
              [("pbx/126", "computer", "first")], f"the kiosk's phone is listed: {ls}")
        check(ls[0]["number"]["canonical"] == KIOSK_NUMBER and
              ls[0]["forwarding"]["immediate"] == {"on": False, "to": None} and
              "extra" not in ls[0], f"she sees all of it: {ls[0]}")
        snap = c.call("lines.subscribe")
        check([x["id"] for x in snap["lines"]] == ["pbx/126"], f"subscribed: {snap}")
        mark = len(s.u.lines)
        call = c.call("call.make", {"number": "0891234567", "line": "pbx/126"})["call"]
        s.u.wait_for(r"request make line pbx/126 call \S* other \S* number \d*891234567 ",
                     after=mark)
        ev = wait_rpc_event(c, "call.event", lambda e: e["call"] == call and
                            e["line"] == "pbx/126" and e["direction"] == "outgoing")
        check(ev["remote"]["canonical"] == "+49891234567", f"her call, shown: {ev}")
        check(c.call("call.clear", {"call": call}) == {}, "she clears it")
        wait_rpc_event(c, "call.event", lambda e: e["call"] == call and
                       e["event"] == "call_cleared")
        # without a line of her own, a call without "line" goes from the kiosk
        call = c.call("call.make", {"number": "0891234567"})["call"]
        wait_rpc_event(c, "call.event", lambda e: e["call"] == call and
                       e["line"] == "pbx/126")
        c.call("call.clear", {"call": call})

        # an unknown computer: the login succeeds, without a computer
        b = s.client()
        mark = len(s.u.lines)
        me = b.call("auth.login", {"login": "bob", "password": "pw-bob", "computer": "nothere"})
        check("computer" not in me and me["user"]["id"] == "bob", f"no computer: {me}")
        s.u.wait_for(r"info \[client-api\] bob logged in from computer nothere: no such "
                     r"computer in the user store \(session \d+ has no computer\)", after=mark)
        check(s.kiosk()["last_user"] == "alice", f"unchanged: {s.kiosk()}")
        # bob is not logged on at the kiosk: not his line, refused before
        # the line manager is asked
        check("pbx/126" not in [x["id"] for x in b.call("lines.list")["lines"]],
              "not among bob's lines")
        mark = len(s.u.lines)
        for method, params in (("call.make", {"number": "0891234567", "line": "pbx/126"}),
                               ("lines.subscribe", {"lines": ["pbx/126"]})):
            e = b.call_error(method, params)
            check((e.get("data") or {}).get("reason") == "forbidden", f"bob {method}: {e}")

        # an authorised-only kiosk: she may not dial on its phone (nor may
        # the line manager let her), but she answers a call ringing there
        s.put_kiosk(authorised_only=True)
        check(s.kiosk()["last_user"] == "alice", f"the logon is kept: {s.kiosk()}")
        e = c.call_error("call.make", {"number": "0891234567", "line": "pbx/126"})
        check((e.get("data") or {}).get("reason") == "forbidden" and
              "only the owners" in e.get("message", ""), f"no dialling: {e}")
        r = s.make("alice")
        check(r["status"] == -EPERM, f"the line manager agrees: {r}")
        # only the probe's request (logged before its answer) reached the
        # line manager: the client protocol refused both on its own
        s.u.wait_for(r"\[lines\] call\.control make line pbx/126 actor alice\b", after=mark)
        asked = re.findall(r"\[lines\] call\.control make line pbx/126 actor (\S+)",
                           "\n".join(s.u.lines[mark:]))
        check(asked == ["alice"], f"refused before the line manager was asked: {asked}")
        check([x["access"] for x in c.call("lines.list")["lines"]] == ["computer"],
              "still her line")
        z = s.client()
        z.call("auth.login", {"login": "zed", "password": "pw-zed"})
        z.call("lines.subscribe")
        zc = z.call("call.make", {"number": "126"})["call"]
        ev = wait_rpc_event(c, "call.event", lambda e: e["call"] == zc and
                            e["line"] == "pbx/126" and e["state"] == "alerting")
        check(ev["remote"]["canonical"] == ZED_NUMBER, f"ringing at the kiosk: {ev}")
        check(c.call("call.answer", {"call": zc}) == {}, "she answers")
        wait_rpc_event(z, "call.event", lambda e: e["call"] == zc and
                       e["event"] == "established")
        c.call("call.clear", {"call": zc})
        wait_rpc_event(z, "call.event", lambda e: e["call"] == zc and
                       e["event"] == "call_cleared")
        s.put_kiosk(authorised_only=False)

        # bob logs on at the kiosk; alice's resume does not take it back
        b2 = s.client()
        me = b2.call("auth.login", {"login": "bob", "password": "pw-bob",
                                    "computer": "kiosk-1"})
        check(me.get("computer") == "kiosk-1", f"bob at the kiosk: {me}")
        check(s.kiosk()["last_user"] == "bob", f"bob recorded: {s.kiosk()}")
        a2 = s.client()
        me = a2.call("auth.resume", {"session": alice_token})
        check(me["user"]["id"] == "alice" and "computer" not in me, f"resumed: {me}")
        check(s.kiosk()["last_user"] == "bob", f"a resume records no logon: {s.kiosk()}")
        r = s.make("alice")
        check(r["status"] == -EPERM, f"the phone went with the logon: {r}")
        check(a2.call("lines.list")["lines"] == [], "no longer among her lines")
        e = a2.call_error("call.make", {"number": "0891234567", "line": "pbx/126"})
        check((e.get("data") or {}).get("reason") == "forbidden", f"nor hers to dial on: {e}")
        r = s.make("bob")
        check(r["status"] == 0, f"bob's to use now: {r}")
        s.stop()
    finally:
        s.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (computer_login,)})
