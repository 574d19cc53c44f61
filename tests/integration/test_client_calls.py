"""tests/integration/test_client_calls.py - the client protocol's call.alternate,
call.reconnect and line.remote_office (client-api) end to end.

The real ucsd with dialplan.so, userdb-file.so, auth.so, presence.so,
client-api.so and the line manager lines.so, plus the test plugin
testdriver simulating the PBX (tests/plugins/testdriver.c). Clients are
python3-websockets (wsclient.py RpcClient).

Lines: alice's pbx/121 and bob's pbx/122 in group "pbx" (every capability:
remote office emulated by the line manager, lm_remote.c), dave's nat/124 in
group "nat" (the driver's native remote office), carol's nro/123 in group
"nro" whose capabilities lack fwd_immediate (no remote office at all); carol
has bob's line as an extra line with "pickup" (she may forward it, but remote
office is for own lines only).

What reached the line manager is read from its audit line (lm_control.c
"call.control OP line L actor A"), what reached the driver from the
testdriver's "request OP line L call C other O number N ..." line, the
emulation from lm_remote.c's "line L: remote office on to N" / "off".
"""
import json
import os
import re

from harness import SOURCE, Ucsd, check, main, phc
from wsclient import RpcClient

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
CHEAP = {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1,
         "delay_base_ms": 0}
# every capability but forwarding immediately: no remote office (emulation
# needs fwd_immediate, make_call and transfer; the group is not native)
NO_RO_CAPS = ["make_call", "answer", "clear_connection", "clear_call", "hold", "retrieve",
              "consult", "transfer", "conference", "alternate", "reconnect", "dtmf",
              "fwd_busy", "fwd_noanswer", "dnd"]


def user(uid, ext, **fields):
    return dict({"id": uid, "login": uid, "phones": {"business": f"08151 3685-{ext}"},
                 "password_hash": phc("pw-" + uid)}, **fields)


def rpc_reason(e):
    return (e.get("data") or {}).get("reason")


class Server:
    def __init__(self):
        lines = [("pbx/121", "pbx"), ("pbx/122", "pbx"), ("nro/123", "nro"), ("nat/124", "nat")]
        config = {
            "dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                         "default_location": "Starnberg"},
            "auth": CHEAP,
            "client-api": {"interfaces": [{"bind": "127.0.0.1", "port": 0, "tls": "plain"}]},
            "lines": {"request_timeout_ms": 600,
                      "groups": [{"name": g, "set_numbers_automatically": False,
                                  "always_pickup": True} for g in ("pbx", "nro", "nat")],
                      "lines": [{"id": i, "number": "+4981513685" + i.split("/")[1],
                                 "name": "L" + i.split("/")[1]} for i, _ in lines]},
            "testdriver": {"simulate": True,
                           "groups": [{"name": "pbx", "caps": ["*"]},
                                      {"name": "nro", "caps": NO_RO_CAPS},
                                      {"name": "nat", "caps": ["*"],
                                       "native_remote_office": True}],
                           "lines": [{"id": i, "group": g, "device": i.split("/")[1]}
                                     for i, g in lines]},
        }
        self.u = Ucsd(plugins=["testdriver"], config=config,
                      tree_plugins=["dialplan", "userdb-file", "auth", "presence", "client-api",
                                    "lines"])
        store = os.path.join(self.u.state, "userdb")
        os.makedirs(os.path.join(store, "users"), exist_ok=True)
        for d in (user("alice", 121), user("bob", 122),
                  user("carol", 123, extra_lines=[{"line": "pbx/122", "pickup": True}]),
                  user("dave", 124)):
            with open(os.path.join(store, "users", d["id"] + ".json"), "w") as f:
                json.dump(d, f)
        with open(os.path.join(store, "settings.json"), "w") as f:
            json.dump({"rights": {"level": "blocked"}}, f)
        self.clients = []

    def start(self):
        self.u.start()
        i = self.u.wait_for(r"\[client-api\] client protocol on 127\.0\.0\.1 port \d+ \(plain\)")
        self.port = int(re.search(r"port (\d+)", self.u.lines[i]).group(1))

    def client(self, login):
        c = RpcClient(f"ws://127.0.0.1:{self.port}/ws")
        self.clients.append(c)
        c.call("auth.login", {"login": login, "password": "pw-" + login})
        return c

    def since(self, mark):
        return "\n".join(self.u.lines[mark:])

    def stop(self):
        for c in self.clients:
            c.close()
        self.clients = []
        rc, _ = self.u.stop()
        check(rc == 0, f"clean exit ({rc})")

    def close(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.u.close()


def expect_error(c, method, params, reason, member=None):
    e = c.call_error(method, params)
    check(rpc_reason(e) == reason, f"{method} {params}: {reason} expected: {e}")
    if member:
        check((e.get("data") or {}).get("member") == member,
              f"{method} {params}: data.member {member}: {e}")
    return e


def pbx_id(call):
    """The driver's id of a line manager call id ("td/tdc3" -> "tdc3")."""
    check(call.startswith("td/"), f"a call of the testdriver: {call}")
    return call[3:]


def alternate_reconnect():
    s = Server()
    try:
        s.start()
        a = s.client("alice")
        b = s.client("bob")
        # two calls on alice's line: c1 on hold, c2 the consultation
        c1 = a.call("call.make", {"number": "0891234567"})["call"]
        check(a.call("call.hold", {"call": c1}) == {}, "c1 held")
        c2 = a.call("call.consult", {"call": c1, "number": "0897654321"})["call"]
        check(c1 != c2, f"two calls: {c1} {c2}")
        bc = b.call("call.make", {"number": "0891111111"})["call"]
        # the set-up's log lines are in before counting starts
        s.u.wait_for(r"\[testdriver\] request make line pbx/122 ")

        for method, op in (("call.alternate", "alternate"), ("call.reconnect", "reconnect")):
            # invalid params: refused before the line manager is asked
            mark = len(s.u.lines)
            expect_error(a, method, {"call": c2}, "invalid_params", "with")
            expect_error(a, method, {"with": c1}, "invalid_params", "call")
            expect_error(a, method, {"call": c2, "with": 5}, "invalid_params", "with")
            expect_error(a, method, {"call": 7, "with": c1}, "invalid_params", "call")
            expect_error(a, method, {"call": c2, "with": [c1]}, "invalid_params", "with")
            expect_error(a, method, {"call": c2, "with": c1, "to": "1"}, "invalid_params",
                         "to")
            # another user's calls: not on his lines (as every call.* method)
            e = expect_error(b, method, {"call": c2, "with": c1}, "not_found")
            check(e["data"].get("call") == c2, f"names the call: {e}")
            e = expect_error(b, method, {"call": bc, "with": c1}, "not_found")
            check(e["data"].get("call") == c1, f"names the other call: {e}")
            e = expect_error(a, method, {"call": c2, "with": bc}, "not_found")
            check(e["data"].get("call") == bc, f"bob's call is not hers: {e}")

            # hers: call = the active call, other_call = the held one
            check(a.call(method, {"call": c2, "with": c1}) == {}, f"{method} answers {{}}")
            s.u.wait_for(rf"\[lines\] call\.control {op} line pbx/121 actor alice\b", after=mark)
            s.u.wait_for(rf"\[testdriver\] request {op} line pbx/121 call {pbx_id(c2)} "
                         rf"other {pbx_id(c1)} ", after=mark)
            asked = re.findall(r"\[lines\] call\.control (\S+) line (\S+) actor (\S+)",
                               s.since(mark))
            check(asked == [(op, "pbx/121", "alice")],
                  f"only her good request reached the line manager: {asked}")
            driven = re.findall(r"\[testdriver\] request (\S+) line (\S+) call (\S+) other (\S+)",
                                s.since(mark))
            check(driven == [(op, "pbx/121", pbx_id(c2), pbx_id(c1))],
                  f"the driver got one {op} with the right calls: {driven}")
        s.stop()
    finally:
        s.close()


def remote_office():
    s = Server()
    try:
        s.start()
        a = s.client("alice")
        b = s.client("bob")
        c = s.client("carol")
        d = s.client("dave")
        lines = {x["id"]: x for x in a.call("lines.list")["lines"]}
        check("remote_office" in lines["pbx/121"]["caps"], f"offered (emulated): {lines}")
        lines = {x["id"]: x for x in c.call("lines.list")["lines"]}
        check("remote_office" not in lines["nro/123"]["caps"], f"not offered: {lines}")

        mark = len(s.u.lines)
        # invalid params
        m = "line.remote_office"
        expect_error(a, m, {}, "invalid_params", "on")
        expect_error(a, m, {"on": True}, "invalid_params", "number")
        expect_error(a, m, {"on": True, "number": ""}, "invalid_params", "number")
        expect_error(a, m, {"on": True, "number": 1711234567}, "invalid_params", "number")
        expect_error(a, m, {"on": "yes", "number": "01711234567"}, "invalid_params", "on")
        expect_error(a, m, {"on": True, "number": "01711234567", "line": 121},
                     "invalid_params", "line")
        expect_error(a, m, {"on": True, "number": "01711234567", "mobile": "x"},
                     "invalid_params", "mobile")
        # another user's line: forbidden; no such line: not_found
        e = expect_error(b, m, {"line": "pbx/121", "on": True, "number": "01711234567"},
                         "forbidden")
        check(e["data"].get("line") == "pbx/121", f"names the line: {e}")
        e = expect_error(a, m, {"line": "pbx/999", "on": True, "number": "01711234567"},
                         "not_found")
        # a line without the capability: not_supported
        e = expect_error(c, m, {"on": True, "number": "01711234567"}, "not_supported")
        check(e["data"].get("capability") == "remote_office" and
              e["data"].get("line") == "nro/123", f"names the capability: {e}")
        e = expect_error(c, m, {"line": "nro/123", "on": False}, "not_supported")
        # an extra line is not her own: forbidden, though she may forward it
        e = expect_error(c, m, {"line": "pbx/122", "on": True, "number": "01711234567"},
                         "forbidden")
        check(e["data"].get("line") == "pbx/122", f"names the line: {e}")

        # emulated, her first own line by default: forwarding immediately
        check(a.call(m, {"on": True, "number": "01711234567"}) == {}, "on: {}")
        s.u.wait_for(r"\[lines\] line pbx/121: remote office on to \S*1711234567\b", after=mark)
        asked = re.findall(r"\[lines\] call\.control (\S+) line (\S+) actor (\S+)",
                           s.since(mark))
        check(asked == [("remote_office", "pbx/121", "alice")],
              f"only her good request reached the line manager: {asked}")
        driven = re.findall(r"\[testdriver\] request (\S+) line (\S+) call \S+ other \S+ "
                            r"number (\S+)", s.since(mark))
        check(len(driven) == 1 and driven[0][:2] == ("forward_set", "pbx/121") and
              driven[0][2].endswith("1711234567"), f"emulated as forwarding: {driven}")
        fwd = [x for x in a.call("lines.list")["lines"] if x["id"] == "pbx/121"][0]["forwarding"]
        check(fwd["immediate"]["on"] is True, f"the line forwards: {fwd}")
        # off (a number is allowed and ignored)
        mark = len(s.u.lines)
        check(a.call(m, {"line": "pbx/121", "on": False}) == {}, "off: {}")
        s.u.wait_for(r"\[lines\] line pbx/121: remote office off", after=mark)
        driven = re.findall(r"\[testdriver\] request (\S+) line (\S+) ", s.since(mark))
        check(driven == [("forward_clear", "pbx/121")], f"forwarding cleared: {driven}")

        # native: the request goes to the driver as it is
        mark = len(s.u.lines)
        check(d.call(m, {"on": True, "number": "01711234567"}) == {}, "native on: {}")
        s.u.wait_for(r"\[testdriver\] request remote_office line nat/124 call - other - "
                     r"number \S*1711234567 ", after=mark)
        check(a.call(m, {"on": False}) == {}, "alice off again")
        s.u.wait_for(r"\[lines\] line pbx/121: remote office off", after=mark)
        text = s.since(mark)
        check("line nat/124: remote office" not in text, f"not emulated: {text}")
        check(re.findall(r"\[lines\] call\.control \S+ line \S+ actor (\S+)", text) ==
              ["dave", "alice"], f"nothing of bob or carol: {text}")
        s.stop()
    finally:
        s.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (alternate_reconnect, remote_office)})
