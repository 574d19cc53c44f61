"""tests/integration/test_client_api.py - the client protocol (client-api)
end to end.

The real ucsd with the real dialplan.so, userdb-file.so, auth.so,
presence.so, client-api.so and the line manager lines.so, plus two test
plugins: testdriver (a line driver playing a small PBX for the lines,
tests/plugins/testdriver.c, "simulate") and svcprobe (to change the user store while clients are connected). Clients
are python3-websockets (tests/integration/wsclient.py RpcClient).

Users are written as documents into the state directory before the start,
with argon2id hashes of low cost made by ucs-passwd. The dialplan is the
dialplan tests' (default location Starnberg: 121 is +4981513685121); every
user's business number binds her line by number.

Cases: logins (ok, wrong password, unknown login, lockout, inactive),
resume after a reconnect (and its expiry, and a second session replacing
the first), logout, nothing before login, me.get / me.update with and
without self-configuration (and the password change), presence
subscribe / events / set another user's, the rights matrix (two watchers at
each level, one by the target's grant and one by a group, asserted cell by
cell against docs/plugins/presence.md), lines and calls through the line manager
(extra lines with hidden numbers), the driver's refusal and a timeout,
requests refused before they reach the line manager, no line manager,
contact search, journal and chat not available, a deleted or deactivated
user's sessions closed with 4003, the per-user session limit, the status
counters.
"""
import json
import os
import re
import signal
import time

from harness import SOURCE, Probe, Ucsd, check, main, phc, wait_rpc_event
from wsclient import RpcClient, RpcError

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
CHEAP = {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1,
         "delay_base_ms": 0}

def num(ext):
    return f"+4981513685{ext}"


def user(uid, ext=None, password=None, **fields):
    """A user document: login = id, password "pw-<id>", business number
    08151 3685-<ext> (her line pbx/<ext>)."""
    doc = {"id": uid, "login": uid}
    if ext:
        doc["phones"] = {"business": f"08151 3685-{ext}"}
    doc.update(fields)
    doc["password_hash"] = phc(password or "pw-" + uid)
    return doc


def line(ext, **kw):
    d = {"id": f"pbx/{ext}", "internal": str(ext), "number": num(ext), "name": f"L{ext}"}
    d.update(kw)
    return d


def lines_config(lines):
    """The line manager (lines) with the testdriver playing the PBX for the
    given lines {"id", "internal", "number", "name", "caps"?, "refuse"?,
    "mute"?}: every line open, numbers and names as given, pickup at once."""
    groups = sorted({d["id"].split("/", 1)[0] for d in lines})
    td, lm = [], []
    for d in lines:
        group, device = d["id"].split("/", 1)
        device = d.get("internal") or device
        t = {"id": d["id"], "group": group, "device": device, "caps": d.get("caps", ["*"])}
        if d.get("refuse"):
            t.update(answer="refuse", refuse_reason=d["refuse"])
        elif d.get("mute"):
            t["answer"] = "mute"
        td.append(t)
        lm.append({"id": d["id"], "number": d.get("number", ""), "name": d.get("name", "")})
    return {"lines": {"groups": [{"name": g, "set_numbers_automatically": False,
                                  "always_pickup": True} for g in groups],
                      "lines": lm},
            "testdriver": {"simulate": True, "groups": [{"name": g} for g in groups],
                           "lines": td}}


class Server:
    """ucsd with the client protocol on a free port and the given store."""

    def __init__(self, users=(), groups=(), settings=None, lines=(), client=None, auth=None,
                 line_manager=True, log_level=None):
        config = {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                               "default_location": "Starnberg"},
                  "auth": dict(CHEAP, **(auth or {})),
                  "client-api": dict({"interfaces": [{"bind": "127.0.0.1", "port": 0,
                                                      "tls": "plain"}]}, **(client or {}))}
        if line_manager:
            config.update(lines_config(lines))
        if log_level:
            config["log"] = {"level": log_level}
        plugins = ["svcprobe"] + (["testdriver"] if line_manager else [])
        self.u = Ucsd(plugins=plugins, config=config,
                      tree_plugins=["dialplan", "userdb-file", "auth", "presence", "client-api"] +
                      (["lines"] if line_manager else []))
        store = os.path.join(self.u.state, "userdb")
        for kind, docs in (("users", users), ("groups", groups)):
            os.makedirs(os.path.join(store, kind), exist_ok=True)
            for d in docs:
                with open(os.path.join(store, kind, d["id"] + ".json"), "w") as f:
                    json.dump(d, f)
        if settings is not None:
            with open(os.path.join(store, "settings.json"), "w") as f:
                json.dump(settings, f)
        self.clients = []
        self.probe = None

    def start(self):
        self.u.start()
        i = self.u.wait_for(r"\[client-api\] client protocol on 127\.0\.0\.1 port \d+ \(plain\)")
        self.port = int(re.search(r"port (\d+)", self.u.lines[i]).group(1))
        return self

    def p(self):
        if not self.probe:
            self.probe = Probe(self.u)
        return self.probe

    def client(self, login=None, password=None):
        c = RpcClient(f"ws://127.0.0.1:{self.port}/ws")
        self.clients.append(c)
        if login:
            c.me = c.call("auth.login", {"login": login, "password": password or "pw-" + login})
        return c

    def drop(self, c):
        """Closes one client (the connection is lost)."""
        self.clients.remove(c)
        c.close()

    def close(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.clients = []
        if self.probe:
            self.probe.close()
        self.u.close()

    def stop(self):
        for c in self.clients:
            c.close()
        self.clients = []
        if self.probe:
            self.probe.close()
            self.probe = None
        rc, _ = self.u.stop()
        check(rc == 0, f"clean exit ({rc})")


def err(c, method, params=None, reason=None, code=None):
    """The error of a call that must fail (with that reason and code)."""
    e = c.call_error(method, params)
    got = (e.get("data") or {}).get("reason")
    if reason is not None:
        check(got == reason, f"{method} {params}: reason {got!r}, expected {reason!r}: {e}")
    if code is not None:
        check(e.get("code") == code, f"{method}: code {e.get('code')}, expected {code}")
    check(isinstance(e.get("message"), str) and e["message"], f"{method}: a message: {e}")
    return e


def presence_of(c, target, pred, timeout=5):
    return wait_rpc_event(c, "presence.event", lambda p: p["user"] == target and
                          "presence" in p and pred(p["presence"]), timeout)["presence"]


def quiet(c, method, secs=0.5):
    """Notifications `method` that arrive within secs."""
    time.sleep(secs)
    return c.notifications(method)


def lm_requests(s, last=None):
    """The requests the line manager received, as (op, line, actor). A reply can
    reach the client before ucsd's log line reaches the harness's reader:
    with last = (op, line, actor), waits for that request's line first."""
    if last:
        s.u.wait_for(r"\[lines\] call\.control %s line %s actor %s\b" %
                     tuple(map(re.escape, last)))
    return re.findall(r"\[lines\] call\.control (\S+) line (\S+) actor (\S*)", s.u.log())


def run(server, body):
    try:
        server.start()
        body(server)
        server.stop()
    finally:
        server.close()


# ---- logins -----------------------------------------------------------------

def login():
    def body(s):
        c = s.client()
        r = c.call("auth.login", {"login": "alice", "password": "pw-alice"})
        check(re.fullmatch(r"[A-Za-z0-9_-]{32}", r["session"]), f"token: {r['session']!r}")
        check(r["user"]["id"] == "alice" and r["user"]["login"] == "alice", f"user: {r}")
        check(r["user"]["display_name"] == "Alice Liddell", f"display name: {r}")
        check(r["user"]["identity"].startswith("alice@"), f"identity: {r}")
        check(r["server"]["version"] and "presence_domain" in r["server"] and
              r["server"]["name"], f"server: {r}")
        s.u.wait_for(r"info \[client-api\] alice logged in from 127\.0\.0\.1 \(session \d+\)")
        s.u.wait_for(r'audit: login accepted: login="alice" kind=user account=alice '
                     r'method=uc-password address=127\.0\.0\.1 via="client-api"')
        # a session logs in once
        err(c, "auth.login", {"login": "alice", "password": "pw-alice"}, "invalid_request")
        err(c, "auth.resume", {"session": r["session"]}, "invalid_request")
        check(c.call("me.get")["id"] == "alice", "me.get after login")
        # another client, another token
        d = s.client("alice")
        check(d.me["session"] != r["session"], "tokens differ per login")
        # the login is case-insensitive (the store's lookup), the token is not logged
        e = s.client("ALICE", "pw-alice")
        check(e.me["user"]["id"] == "alice", "login case")
        check(r["session"] not in s.u.log(), "the token is never logged")
        check("pw-alice" not in s.u.log(), "the password is never logged")
    run(Server(users=[user("alice", 121, first_name="Alice", last_name="Liddell")]), body)


def login_failures():
    def body(s):
        c = s.client()
        e = err(c, "auth.login", {"login": "alice", "password": "wrong"}, "auth_failed", -32002)
        e2 = err(c, "auth.login", {"login": "mallory", "password": "x"}, "auth_failed", -32002)
        check(e["message"] == e2["message"], "unknown login and wrong password look alike")
        err(c, "auth.login", {"login": "alice"}, "invalid_params", -32602)
        err(c, "auth.login", {"login": "", "password": "x"}, "invalid_params")
        err(c, "auth.login", {"login": "alice", "password": 5}, "invalid_params")
        err(c, "auth.login", {"login": "alice", "password": "x", "extra": 1}, "invalid_params")
        err(c, "auth.login", {"login": "a" * 300, "password": "x"}, "invalid_params")
        # the same session can still log in
        r = c.call("auth.login", {"login": "alice", "password": "pw-alice"})
        check(r["user"]["id"] == "alice", "login after failures")
    run(Server(users=[user("alice", 121)]), body)


def lockout():
    def body(s):
        c = s.client()
        for _ in range(2):
            err(c, "auth.login", {"login": "alice", "password": "wrong"}, "auth_failed")
        e = err(c, "auth.login", {"login": "alice", "password": "pw-alice"}, "locked_out",
                -32007)
        check(e["data"]["retry_after_ms"] > 0, f"retry_after_ms: {e}")
        # another user from the same address is not locked
        check(s.client("bob").me["user"]["id"] == "bob", "bob logs in")
    run(Server(users=[user("alice", 121), user("bob", 122)],
               auth={"max_failures_per_login": 2}), body)


def inactive():
    def body(s):
        c = s.client()
        err(c, "auth.login", {"login": "ina", "password": "pw-ina"}, "inactive", -32012)
        # the wrong password does not reveal that the account is inactive
        err(c, "auth.login", {"login": "ina", "password": "wrong"}, "auth_failed")
    run(Server(users=[user("ina", 121, active=False)]), body)


# ---- resume and logout ----------------------------------------------------------

def resume():
    def body(s):
        w = s.client("bob")
        w.call("presence.subscribe", {"users": ["alice"]})
        c = s.client("alice")
        token = c.me["session"]
        presence_of(w, "alice", lambda p: p["state"] == "available")
        s.drop(c)  # the connection is lost
        presence_of(w, "alice", lambda p: p["state"] == "offline")
        d = s.client()
        err(d, "me.get", None, "not_authenticated")
        r = d.call("auth.resume", {"session": token})
        check(r["user"]["id"] == "alice" and r["session"] == token, f"resume: {r}")
        check(d.call("me.get")["login"] == "alice", "me.get after resume")
        presence_of(w, "alice", lambda p: p["state"] == "available")
        s.u.wait_for(r"alice resumed a session from 127\.0\.0\.1")
        # a token that was never issued
        e = s.client()
        err(e, "auth.resume", {"session": "A" * 32}, "auth_failed")
        err(e, "auth.resume", {}, "invalid_params")
        # resuming a token that a session still holds replaces that session
        f = s.client()
        f.call("auth.resume", {"session": token})
        check(d.wait_closed() == (4003, "session replaced"), f"replaced: {d.closed}")
        check(f.call("me.get")["id"] == "alice", "the new session works")
    run(Server(users=[user("alice", 121), user("bob", 122)]), body)

    # expiry: resume_ttl_s after the connection ended
    def expiry(s):
        c = s.client("alice")
        token = c.me["session"]
        s.drop(c)
        time.sleep(2.2)
        err(s.client(), "auth.resume", {"session": token}, "auth_failed")
    run(Server(users=[user("alice", 121)], client={"resume_ttl_s": 1}), expiry)


def logout():
    def body(s):
        w = s.client("bob")
        w.call("presence.subscribe", {"users": ["alice"]})
        c = s.client("alice")
        presence_of(w, "alice", lambda p: p["state"] == "available")
        check(c.call("auth.logout") == {}, "logout answers")
        check(c.wait_closed() == (4002, "logged out"), f"close: {c.closed}")
        presence_of(w, "alice", lambda p: p["state"] == "offline")
        s.u.wait_for(r"info \[client-api\] alice logged out \(session \d+\)")
        # the token died with the logout
        err(s.client(), "auth.resume", {"session": c.me["session"]}, "auth_failed")
    run(Server(users=[user("alice", 121), user("bob", 122)]), body)


def before_login():
    def body(s):
        c = s.client()
        methods = {"auth.logout": None, "me.get": None, "me.update": {"first_name": "x"},
                   "me.idle": {"idle": True}, "lines.list": None, "lines.subscribe": {},
                   "lines.unsubscribe": {}, "call.make": {"number": "123"},
                   "call.answer": {"call": "x"}, "call.clear": {"call": "x"},
                   "call.hold": {"call": "x"}, "call.retrieve": {"call": "x"},
                   "call.consult": {"call": "x", "number": "1"},
                   "call.transfer": {"call": "x", "to": "1"},
                   "call.conference": {"call": "x", "with": "y"},
                   "call.deflect": {"call": "x", "to": "1"}, "call.pickup": {"user": "bob"},
                   "call.dtmf": {"call": "x", "digits": "1"},
                   "line.forward.set": {"line": "pbx/121", "mode": "busy", "to": "1"},
                   "line.forward.clear": {"line": "pbx/121"},
                   "line.dnd.set": {"line": "pbx/121", "on": True},
                   "presence.set": {"state": "busy"}, "presence.subscribe": {"users": ["bob"]},
                   "presence.unsubscribe": {"users": ["bob"]},
                   "contacts.search": {"text": "bo"}, "journal.query": {},
                   "journal.update": {"id": "1"}, "journal.delete": {"id": "1"},
                   "chat.send": {"to": "bob", "text": "hi"}, "chat.history": {"with": "bob"}}
        for m, p in methods.items():
            err(c, m, p, "not_authenticated", -32001)
        err(c, "no.such.method", None, "method_not_found", -32601)
        check(not lm_requests(s), "nothing reached the line manager")
        # and the session still logs in
        c.call("auth.login", {"login": "alice", "password": "pw-alice"})
        check(c.call("me.get")["id"] == "alice", "after all that")
    run(Server(users=[user("alice", 121), user("bob", 122)], lines=[line(121)]), body)


# ---- me ---------------------------------------------------------------------------

def me_get_update():
    def body(s):
        c = s.client("alice")
        me = c.call("me.get")
        check(me["numbers"]["business"] == {"entered": "08151 3685-121",
                                             "canonical": num(121),
                                             "display": "+49 (8151) 3685121"},
              f"business number: {me['numbers']}")
        check(set(me["numbers"]) == {"business", "business2", "private", "mobile", "pager",
                                     "voicemail"}, f"number slots: {me['numbers']}")
        check(me["numbers"]["mobile"] == {"entered": "", "canonical": "", "display": ""},
              "an empty number")
        check("configure_self" in me["services"], f"services: {me['services']}")
        check({"first_name", "password", "phone_mobile", "contact_image"} <=
              set(me["self_fields"]), f"self fields: {me['self_fields']}")
        check(me["groups"] == [] and me["phones"]["first"] == "", f"{me}")
        check(me["presence"]["state"] == "available", f"own presence: {me['presence']}")
        r = c.call("me.update", {"first_name": "Alicia", "contact": {"city": "Berlin"},
                                 "numbers": {"mobile": "0171 1234567"}})
        check(r["first_name"] == "Alicia" and r["contact"]["city"] == "Berlin", f"{r}")
        check(r["numbers"]["mobile"]["canonical"] == "+491711234567", f"{r['numbers']}")
        with open(os.path.join(s.u.state, "userdb", "users", "alice.json")) as f:
            doc = json.load(f)
        check(doc["first_name"] == "Alicia" and doc["phones"]["mobile"] == "0171 1234567" and
              doc["contact"]["city"] == "Berlin", f"stored: {doc}")
        # services: her own list, by name
        r = c.call("me.update", {"services": {"chat": True}})
        check("chat" in r["services"], f"services: {r['services']}")
        # the password: the old one is checked first
        err(c, "me.update", {"password": "new"}, "invalid_params")
        e = err(c, "me.update", {"password": "new", "old_password": "wrong"}, "auth_failed")
        check(e["data"]["field"] == "old_password", f"{e}")
        c.call("me.update", {"password": "new-secret", "old_password": "pw-alice"})
        s.u.wait_for(r"alice changed her password")
        err(s.client(), "auth.login", {"login": "alice", "password": "pw-alice"}, "auth_failed")
        other = s.client("alice", "new-secret")
        check(other.me["user"]["id"] == "alice", "new password")
        s.drop(other)
        # a picture
        png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
               "AAAABJRU5ErkJggg==")
        r = c.call("me.update", {"contact_image": png})
        check(r["images"]["contact_image"] is True, f"images: {r['images']}")
        err(c, "me.update", {"contact_image": "bm90IGFuIGltYWdl"}, "invalid_params")
        # me.idle makes her away (idle) for presence (her only session)
        c.call("me.idle", {"idle": True})
        time.sleep(0.3)
        p = c.call("me.get")["presence"]
        check((p["state"], p["reason"]) == ("away", "idle"), f"idle: {p}")
    run(Server(users=[user("alice", 121, services=["configure_self"])]), body)


def me_update_forbidden():
    def body(s):
        b = s.client("bob")
        check(b.call("me.get")["self_fields"] == [], "no self-configuration")
        e = err(b, "me.update", {"first_name": "Robert"}, "forbidden", -32003)
        check(e["data"]["field"] == "first_name", f"{e}")
        e = err(b, "me.update", {"password": "x", "old_password": "pw-bob"}, "forbidden")
        check(e["data"]["field"] == "password", f"{e}")
        a = s.client("alice")
        # never self-configurable, even with the service
        e = err(a, "me.update", {"contact": {"department": "R&D"}}, "forbidden")
        check(e["data"]["field"] == "contact.department", f"{e}")
        e = err(a, "me.update", {"numbers": {"pager": "123"}}, "forbidden")
        e = err(a, "me.update", {"colour": "red"}, "invalid_params")
        check(e["data"]["member"] == "colour", f"{e}")
        err(a, "me.update", {"first_name": 5}, "invalid_params")
        err(a, "me.update", {"services": {"no_such": True}}, "invalid_params")
        # one forbidden member refuses the whole request: nothing was written
        err(a, "me.update", {"first_name": "X", "numbers": {"fax": "1"}}, "forbidden")
        check(a.call("me.get")["first_name"] == "", "nothing written")
        # the store validates like an administrator's change
        err(a, "me.update", {"phones": {"other": [1]}}, "invalid_params")
    run(Server(users=[user("alice", 121, services=["configure_self"]), user("bob", 122)]),
        body)


# ---- presence -------------------------------------------------------------------------

def presence_subscribe():
    def body(s):
        b = s.client("bob")
        r = b.call("presence.subscribe", {"users": ["alice", "nobody", "carol"]})
        check([u["user"] for u in r["users"]] == ["alice", "carol"], f"users: {r}")
        check(r["not_found"] == ["nobody"], f"not found: {r}")
        al = r["users"][0]
        check(al["presence"]["state"] == "offline" and al["login"] == "alice", f"{al}")
        check(al["contact"]["display_name"] == "alice", f"contact: {al['contact']}")
        check(al["contact"]["numbers"]["business"]["canonical"] == num(121), f"{al}")
        # the answer is not repeated as an event
        check(not quiet(b, "presence.event", 0.4), "no event repeating the answer")
        a = s.client("alice")
        p = presence_of(b, "alice", lambda p: p["state"] == "available")
        check(p["reason"] == "none", f"{p}")
        a.call("me.idle", {"idle": True})
        presence_of(b, "alice", lambda p: (p["state"], p["reason"]) == ("away", "idle"))
        a.call("me.idle", {"idle": False})
        presence_of(b, "alice", lambda p: p["state"] == "available")
        r = a.call("presence.set", {"state": "busy", "note": "in a meeting"})
        check(r["presence"]["state"] == "busy", f"{r}")
        p = presence_of(b, "alice", lambda p: p["state"] == "busy")
        check(p["reason"] == "manual" and p["note"] == "in a meeting", f"{p}")
        # two sessions of bob: both get the event, each once
        b2 = s.client("bob")
        b2.call("presence.subscribe", {"users": ["alice"]})
        a.call("presence.set", {"state": "dnd"})
        presence_of(b, "alice", lambda p: p["state"] == "dnd")
        presence_of(b2, "alice", lambda p: p["state"] == "dnd")
        check(not [e for e in quiet(b2, "presence.event") if e["user"] == "alice"],
              "one event per change")
        # unsubscribed: nothing more
        b.call("presence.unsubscribe", {"users": ["alice"]})
        a.call("presence.set", {"state": "none"})
        presence_of(b2, "alice", lambda p: p["state"] == "available")
        check(not [e for e in quiet(b, "presence.event") if e["user"] == "alice"],
              "no event after unsubscribe")
        err(b, "presence.subscribe", {"users": "alice"}, "invalid_params")
        err(b, "presence.set", {"state": "sleepy"}, "invalid_params")
        err(b, "presence.set", {}, "invalid_params")
        err(b, "presence.set", {"state": "away", "user": "nobody"}, "not_found")
        # a user deleted while watched: one last event, then nothing
        s.p().ok("ud.remove user carol")
        ev = wait_rpc_event(b, "presence.event", lambda p: p["user"] == "carol")
        check(ev == {"user": "carol", "removed": True}, f"removed: {ev}")
    run(Server(users=[user("alice", 121), user("bob", 122), user("carol", 123)]), body)


def presence_set_other():
    def body(s):
        a = s.client("alice")
        carol = s.client("carol")
        r = carol.call("presence.set", {"user": "alice", "state": "away", "note": "by carol"})
        check(r["presence"]["state"] == "away", f"{r}")
        p = a.call("me.get")["presence"]
        check((p["state"], p["reason"], p["note"]) == ("away", "manual", "by carol"), f"{p}")
        b = s.client("bob")
        e = err(b, "presence.set", {"user": "alice", "state": "busy"}, "forbidden", -32003)
        check(e["data"]["user"] == "alice", f"{e}")
        err(b, "presence.set", {"user": "alice", "note": "x"}, "forbidden")
        check(a.call("me.get")["presence"]["state"] == "away", "unchanged")
        s.u.wait_for(r"bob may not set the presence or note of alice: refused")
    run(Server(users=[user("alice", 121), user("bob", 122), user("carol", 123)],
               groups=[{"id": "team", "members": ["alice", "carol"],
                        "member_rights": {"level": "team"}}]), body)


# ---- the rights matrix ------------------------------------------------------------------

LEVELS = ["blocked", "public", "business", "team", "personal"]
# the manual's tables (docs/plugins/presence.md, "What a watcher sees", and
# 21.1 "Contact data"): per level what the watcher sees of a target who is
# on the phone on her first line with an incoming call, forwarded
# unconditionally, with a note.
SEES = {
    # level: (state, reason, note, number, line state, caller, forwarding, fwd target)
    "blocked": ("unknown", "none", "", False, False, False, None, False),
    "public": ("busy", "none", "note-t", True, False, False, True, False),
    "business": ("busy", "on_phone", "note-t", True, True, True, True, True),
    "team": ("busy", "on_phone", "note-t", True, True, True, True, True),
    "personal": ("busy", "on_phone", "note-t", True, True, True, True, True),
}
CONTACT = {  # fields of the card per level (besides "numbers")
    "blocked": set(),
    "public": {"image", "display_name", "first_name", "last_name", "title", "company",
               "email", "sip_address"},
    "business": {"image", "display_name", "first_name", "last_name", "title", "company",
                 "department", "office", "address", "email", "sip_address", "website"},
}
CONTACT["team"] = CONTACT["business"]
CONTACT["personal"] = CONTACT["business"]
NUMBERS = {"blocked": set(), "public": {"business", "mobile"},
           "business": {"business", "mobile", "pager", "fax"}}
NUMBERS["team"] = NUMBERS["business"]
NUMBERS["personal"] = NUMBERS["business"] | {"private", "other"}
# what each level may do on the target (21.2: set presence Team+, pickup on the
# first line Team+, set forwarding on the first line Personal)
MAY = {"blocked": (False, False, False), "public": (False, False, False),
       "business": (False, False, False), "team": (True, True, False),
       "personal": (True, True, True)}


def rights_matrix():
    """Two watchers per level: w<level>g by the target's grant, w<level>m by a
    group's member rights. Targets tina (on the phone) and tom (for the
    actions). Global level blocked, so each watcher holds exactly her level."""
    contact = {"title": "Dr", "company": "ACME", "department": "R&D", "office": "B1",
               "city": "Munich", "website": "acme.example"}
    phones = {"business": "08151 3685-151", "mobile": "0171 5550151", "pager": "0151 999",
              "private": "089 5550151", "fax": "08151 3685-699"}
    watchers, groups, lines_cfg, ext = [], [], [line(151), line(152), line(159)], 160
    grants = []
    for lvl in LEVELS:
        for how in ("g", "m"):
            w = f"w{lvl}{how}"
            watchers.append(user(w, ext))
            lines_cfg.append(line(ext))
            ext += 1
            if how == "g":
                grants.append({"user": w, "level": lvl})
        groups.append({"id": f"grp{lvl}", "members": ["tina", "tom", f"w{lvl}m"],
                       "member_rights": {"level": lvl}})
    tina = user("tina", None, first_name="Tina", last_name="T", email="tina@acme.example",
                contact=contact, phones=phones, other_numbers=["+4930555151"],
                grants=grants)
    tom = user("tom", 152, grants=grants)
    zed = user("zed", 159)
    srv = Server(users=[tina, tom, zed] + watchers, groups=groups,
                 settings={"rights": {"level": "blocked"}}, lines=lines_cfg)

    def body(s):
        t = s.client("tina")
        z = s.client("zed")
        # tina: an incoming call from zed, answered; forwarded; a note
        t.call("lines.subscribe")
        call = z.call("call.make", {"number": "151"})["call"]
        wait_rpc_event(t, "call.event", lambda e: e["call"] == call and e["state"] == "alerting")
        t.call("call.answer", {"call": call})
        t.call("line.forward.set", {"line": "pbx/151", "mode": "immediate", "to": "0891234"})
        t.call("presence.set", {"note": "note-t"})
        time.sleep(0.3)
        watcher_client = {}
        for lvl in LEVELS:
            for how in ("g", "m"):
                w = f"w{lvl}{how}"
                c = watcher_client[w] = s.client(w)
                got = c.call("presence.subscribe", {"users": ["tina"]})["users"][0]
                p, card = got["presence"], got["contact"]
                st, reason, note, number, lstate, caller, fwd, fwdto = SEES[lvl]
                what = f"{w} ({lvl}) sees tina: {p}"
                check(p["state"] == st and p["reason"] == reason and p["note"] == note, what)
                lines = p["lines"]
                if not (number or lstate or fwd is not None):
                    check(lines == [], f"{what}: no line at all")
                else:
                    check(len(lines) == 1 and lines[0]["line"] == "pbx/151", what)
                    ln = lines[0]
                    check((ln["number"] is not None) == number, f"{what}: number")
                    if number:
                        check(ln["number"]["canonical"] == num(151) and
                              ln["number"]["display"], f"{what}: number forms")
                    check((ln["state"] == "connected") == lstate, f"{what}: line state")
                    check((ln["remote"] is not None) == caller, f"{what}: caller")
                    if caller:
                        check(ln["remote"]["canonical"] == num(159) and
                              ln["remote"]["display"], f"{what}: caller forms")
                    check(ln["forwarding"] == fwd, f"{what}: forwarding")
                    check((ln["fwd_target"] is not None) == fwdto, f"{what}: forward target")
                fields = set(card) - {"numbers"}
                check(fields == CONTACT[lvl], f"{w} ({lvl}) card fields {sorted(fields)}")
                check(set(card.get("numbers", {})) == NUMBERS[lvl],
                      f"{w} ({lvl}) card numbers {sorted(card.get('numbers', {}))}")
                if "private" in NUMBERS[lvl]:
                    check(card["numbers"]["private"]["canonical"] == "+49895550151", f"{card}")
        # what each may do on tom (first line pbx/152)
        zt = s.client("zed")
        for lvl in LEVELS:
            for how in ("g", "m"):
                w = f"w{lvl}{how}"
                c = watcher_client[w]
                may_set, may_pick, may_fwd = MAY[lvl]
                r = c.call_error("presence.set", {"user": "tom", "state": "away"}) \
                    if not may_set else c.call("presence.set", {"user": "tom", "state": "away"})
                check((r.get("data", {}).get("reason") == "forbidden") != may_set,
                      f"{w} ({lvl}) set presence of tom: {r}")
                # a ringing call for tom
                zcall = zt.call("call.make", {"number": "152"})["call"]
                time.sleep(0.1)
                if may_pick:
                    r = c.call("call.pickup", {"user": "tom"})
                    check(r["call"] == zcall, f"{w} picked up {r}")
                else:
                    err(c, "call.pickup", {"user": "tom"}, "forbidden")
                    err(c, "call.pickup", {"line": "pbx/152"}, "forbidden")
                zt.call("call.clear", {"call": zcall})
                if may_fwd:
                    c.call("line.forward.set", {"line": "pbx/152", "mode": "busy",
                                                "to": "0891234"})
                    c.call("line.forward.clear", {"line": "pbx/152", "mode": "busy"})
                else:
                    err(c, "line.forward.set", {"line": "pbx/152", "mode": "busy",
                                                "to": "0891234"}, "forbidden")
                    err(c, "line.dnd.set", {"line": "pbx/152", "on": True}, "forbidden")
        # the refused ones never reached the line manager (the last allowed
        # request is logged by then: requests are handled in order)
        last_w = f"w{LEVELS[-1]}m"
        reqs = lm_requests(s, last=("forward_clear", "pbx/152", last_w)
                           if MAY[LEVELS[-1]][2] else None)
        for lvl in LEVELS:
            for how in ("g", "m"):
                w = f"w{lvl}{how}"
                mine = [(op, ln) for op, ln, actor in reqs if actor == w]
                want = []
                if MAY[lvl][1]:
                    want.append(("pickup", f"pbx/{160 + LEVELS.index(lvl) * 2 + (how == 'm')}"))
                if MAY[lvl][2]:
                    want += [("forward_set", "pbx/152"), ("forward_clear", "pbx/152")]
                check(mine == want, f"{w} ({lvl}) requests at the line manager: {mine}, "
                      f"expected {want}")
    run(srv, body)


# ---- lines and calls ------------------------------------------------------------------

def lines_and_calls():
    dave_line = line(126)
    srv = Server(users=[user("alice", 121, extra_lines=[{"line": "126", "show_outgoing": True,
                                                         "show_incoming": False}]),
                        user("dave", 126), user("zed", 129)],
                 lines=[line(121), dave_line, line(129)])

    def body(s):
        a = s.client("alice")
        ls = a.call("lines.list")["lines"]
        check([(x["id"], x["access"], x["class"]) for x in ls] ==
              [("pbx/121", "own", "first"), ("pbx/126", "extra", "additional")], f"{ls}")
        own = ls[0]
        check(own["number"]["canonical"] == num(121) and own["number"]["display"], f"{own}")
        check("make_call" in own["caps"] and "hold" in own["caps"] and own["status"] == "open",
              f"{own}")
        check(own["forwarding"]["immediate"] == {"on": False, "to": None}, f"{own}")
        check(ls[1]["extra"] == {"show_outgoing": True, "show_incoming": False,
                                 "pickup": False}, f"{ls[1]}")
        snap = a.call("lines.subscribe")
        check([x["id"] for x in snap["lines"]] == ["pbx/121", "pbx/126"] and
              snap["calls"] == [], f"{snap}")
        d = s.client("dave")
        d.call("lines.subscribe")
        z = s.client("zed")
        z.call("lines.subscribe")
        # zed calls dave: dave sees zed's number, alice (extra line, incoming hidden) not
        call = z.call("call.make", {"number": "126"})["call"]
        ev = wait_rpc_event(d, "call.event", lambda e: e["call"] == call and
                            e["state"] == "alerting")
        check(ev["remote"]["canonical"] == num(129) and ev["direction"] == "incoming", f"{ev}")
        ev = wait_rpc_event(a, "call.event", lambda e: e["call"] == call and
                            e["state"] == "alerting")
        check(ev["remote"] is None and ev["line"] == "pbx/126", f"hidden: {ev}")
        # the snapshot of a new subscription hides it just the same
        snap = s.client("alice").call("lines.subscribe", {"lines": ["pbx/126"]})
        check(len(snap["calls"]) == 1 and snap["calls"][0]["remote"] is None, f"{snap}")
        d.call("call.answer", {"call": call})
        wait_rpc_event(z, "call.event", lambda e: e["call"] == call and
                       e["event"] == "established")
        # dave calls out: outgoing is shown on alice's extra line
        out = d.call("call.make", {"number": "+49891234567"})["call"]
        ev = wait_rpc_event(a, "call.event", lambda e: e["call"] == out)
        check(ev["remote"]["canonical"] == "+49891234567", f"shown: {ev}")
        # alice's own calls
        mine = a.call("call.make", {"number": "129"})["call"]
        ev = wait_rpc_event(a, "call.event", lambda e: e["call"] == mine and
                            e["line"] == "pbx/121" and e["event"] == "delivered")
        check(ev["remote"]["canonical"] == num(129) and ev["direction"] == "outgoing", f"{ev}")
        wait_rpc_event(z, "call.event", lambda e: e["call"] == mine and e["state"] == "alerting")
        z.call("call.answer", {"call": mine})
        wait_rpc_event(a, "call.event", lambda e: e["call"] == mine and
                       e["event"] == "established" and e["line"] == "pbx/121")
        check(a.call("call.hold", {"call": mine}) == {}, "hold")
        wait_rpc_event(a, "call.event", lambda e: e["call"] == mine and e["state"] == "held")
        a.call("call.retrieve", {"call": mine})
        a.call("call.dtmf", {"call": mine, "digits": "12#"})
        err(a, "call.dtmf", {"call": mine, "digits": "x"}, "invalid_params")
        a.call("call.transfer", {"call": mine, "to": "130"})
        err(a, "call.transfer", {"call": mine}, "invalid_params")
        err(a, "call.transfer", {"call": mine, "to": "1", "with": "x"}, "invalid_params")
        a.call("call.clear", {"call": mine})
        wait_rpc_event(z, "call.event",
                       lambda e: e["call"] == mine and e["event"] == "call_cleared")
        # the call is gone: not_found, and never sent
        err(a, "call.hold", {"call": mine}, "not_found")
        # zed's call on dave's line is not alice's to answer... but it is on her extra line
        err(a, "call.answer", {"call": "fc999"}, "not_found")
        err(a, "lines.subscribe", {"lines": ["pbx/129"]}, "forbidden")
        err(a, "lines.subscribe", {"lines": ["pbx/999"]}, "not_found")
        err(a, "call.make", {"number": "129", "line": "pbx/129"}, "forbidden")
        err(a, "call.make", {"number": ""}, "invalid_params")
        err(a, "call.make", {}, "invalid_params")
        # forwarding and do-not-disturb on her line: line.event
        a.call("line.forward.set", {"line": "pbx/121", "mode": "immediate", "to": "+49891234"})
        ev = wait_rpc_event(a, "line.event", lambda e: e["line"]["forwarding"]["immediate"]["on"])
        check(ev["line"]["forwarding"]["immediate"]["to"]["canonical"] == "+49891234", f"{ev}")
        a.call("line.forward.clear", {"line": "pbx/121"})
        wait_rpc_event(a, "line.event", lambda e: not e["line"]["forwarding"]["immediate"]["on"])
        a.call("line.dnd.set", {"line": "pbx/121", "on": True})
        wait_rpc_event(a, "line.event", lambda e: e["line"]["dnd"] is True)
        err(a, "line.forward.set", {"line": "pbx/121", "mode": "sometimes", "to": "1"},
            "invalid_params")
        # an extra line without "pickup": no forwarding on it
        err(a, "line.forward.set", {"line": "pbx/126", "mode": "busy", "to": "1"}, "forbidden")
        # unsubscribed: no more events of that line
        a.call("lines.unsubscribe", {"lines": ["pbx/126"]})
        a.notifications()
        z.call("call.make", {"number": "126"})
        check(not [e for e in quiet(a, "call.event") if e["line"] == "pbx/126"],
              "no events after unsubscribe")
        # presence follows the line: alice's own view
        check(a.call("me.get")["presence"]["state"] == "dnd", "line dnd makes her dnd")
    run(srv, body)


def driver_refused():
    srv = Server(users=[user("frank", 131), user("mia", 132)],
                 lines=[line(131, refuse="invalidCallID"), line(132, mute=True)],
                 client={"request_timeout_ms": 300})

    def body(s):
        f = s.client("frank")
        e = err(f, "call.make", {"number": "132"}, "driver_refused", -32011)
        check(e["data"]["driver_reason"] == "invalidCallID" and "invalidCallID" in e["message"],
              f"{e}")
        e = err(f, "line.dnd.set", {"line": "pbx/131", "on": True}, "driver_refused")
        s.u.wait_for(r"info \[client-api\] frank: make on line pbx/131 refused "
                     r"\(Remote I/O error: invalidCallID\)")
        m = s.client("mia")
        t0 = time.monotonic()
        err(m, "call.make", {"number": "131"}, "timeout", -32008)
        check(0.25 < time.monotonic() - t0 < 3, "answered after request_timeout_ms")
        check(("make", "pbx/132", "mia") in lm_requests(s, last=("make", "pbx/132", "mia")),
              "the request got there")
    run(srv, body)


def control_forbidden():
    srv = Server(users=[user("alice", 121), user("bob", 122), user("zed", 129)],
                 lines=[line(121), line(122, caps=["make_call", "answer"]), line(129)])

    def body(s):
        a = s.client("alice")
        b = s.client("bob")
        z = s.client("zed")
        call = z.call("call.make", {"number": "121"})["call"]
        # bob: alice's line and call are not his
        err(b, "call.make", {"number": "129", "line": "pbx/121"}, "forbidden")
        err(b, "call.answer", {"call": call}, "not_found")
        err(b, "call.clear", {"call": call}, "not_found")
        err(b, "line.forward.set", {"line": "pbx/121", "mode": "busy", "to": "1"}, "forbidden")
        err(b, "line.dnd.set", {"line": "pbx/121", "on": True}, "forbidden")
        err(b, "call.pickup", {"line": "pbx/121"}, "forbidden")
        err(b, "call.pickup", {"user": "alice"}, "forbidden")
        # capabilities bob's line lacks
        bc = b.call("call.make", {"number": "129"})["call"]
        e = err(b, "call.hold", {"call": bc}, "not_supported", -32015)
        check(e["data"]["capability"] == "hold", f"{e}")
        e = err(b, "line.forward.set", {"line": "pbx/122", "mode": "busy", "to": "1"},
                "not_supported", -32015)
        check(e["data"]["capability"] == "fwd_busy", f"{e}")
        err(b, "call.pickup", {"user": "alice"}, "forbidden")
        check([r for r in lm_requests(s, last=("make", "pbx/122", "bob")) if r[2] == "bob"] ==
              [("make", "pbx/122", "bob")],
              f"only bob's own call reached the line manager: {lm_requests(s)}")
        a.call("call.answer", {"call": call})
    run(srv, body)


def no_line_manager():
    def body(s):
        a = s.client("alice")
        for m, p in (("lines.list", None), ("lines.subscribe", {}),
                     ("call.make", {"number": "129"}), ("call.answer", {"call": "x"}),
                     ("line.dnd.set", {"line": "pbx/121", "on": True})):
            e = err(a, m, p, "not_available", -32010)
            check(e["message"] == "no line manager is running", f"{e}")
    run(Server(users=[user("alice", 121)], line_manager=False), body)


# ---- contacts, journal, chat ----------------------------------------------------------

def contacts_search():
    srv = Server(users=[user("alice", 121, first_name="Alice", last_name="Liddell",
                             contact={"company": "Wonderland"},
                             phones={"business": "08151 3685-121", "private": "089 555123"}),
                        user("bob", 122, grants=[]), user("alfred", 123)],
                 settings={"rights": {"level": "blocked"}})

    def body(s):
        b = s.client("bob")
        r = b.call("contacts.search", {"text": "ali"})
        check(r["source"] == "users" and [c["user"] for c in r["contacts"]] == ["alice"], f"{r}")
        c = r["contacts"][0]
        check(c["display_name"] == "Alice Liddell" and c["company"] == "Wonderland", f"{c}")
        # not filtered by the rights (bob is blocked on alice): private number shown
        check(c["numbers"]["private"]["canonical"] == "+4989555123", f"{c['numbers']}")
        r = b.call("contacts.search", {"text": "AL"})
        check(sorted(c["user"] for c in r["contacts"]) == ["alfred", "alice"], f"{r}")
        r = b.call("contacts.search", {"text": "al", "limit": 1})
        check(len(r["contacts"]) == 1, f"limit: {r}")
        r = b.call("contacts.search", {"number": "08151 3685121"})
        check(r["source"] == "users" and r["contacts"][0]["user"] == "alice", f"{r}")
        r = b.call("contacts.search", {"number": "+49 8151 3685121"})
        check(r["source"] == "cache" and r["contacts"][0]["user"] == "alice", f"cache: {r}")
        r = b.call("contacts.search", {"number": "089 555123"})
        check(r["contacts"][0]["user"] == "alice", f"private number: {r}")
        r = b.call("contacts.search", {"number": "0301234"})
        check(r == {"source": "none", "contacts": []}, f"{r}")
        err(b, "contacts.search", {"text": "a", "number": "1"}, "invalid_params")
        err(b, "contacts.search", {}, "invalid_params")
        err(b, "contacts.search", {"text": ""}, "invalid_params")
        err(b, "contacts.search", {"text": "a", "limit": 0}, "invalid_params")
        # a change of the store empties the cache
        s.p().ok("ud.put user " + json.dumps({"id": "alice", "login": "alice",
                                              "phones": {"business": "08151 3685-199"}}))
        time.sleep(0.2)
        r = b.call("contacts.search", {"number": "08151 3685121"})
        check(r["source"] == "none", f"after the change: {r}")
    run(srv, body)


def later_plugins():
    def body(s):
        a = s.client("alice")
        for m, p in (("journal.query", {"since": 0, "limit": 10, "missed": True}),
                     ("journal.update", {"id": "7", "note": "x", "read": True}),
                     ("journal.delete", {"id": "7"}),
                     ("chat.send", {"to": "bob", "text": "hi"}),
                     ("chat.history", {"with": "bob", "limit": 5})):
            e = err(a, m, p, "not_available", -32010)
            check(e["data"]["plugin"] == m.split(".")[0] and "not running" in e["message"],
                  f"{m}: {e}")
        err(a, "journal.query", {"limit": "x"}, "invalid_params")
        err(a, "journal.query", {"color": 1}, "invalid_params")
        err(a, "journal.update", {}, "invalid_params")
        err(a, "chat.send", {"to": "bob"}, "invalid_params")
        b = s.client("bob")  # chat is not one of bob's services
        e = err(b, "chat.send", {"to": "alice", "text": "hi"}, "forbidden")
        check(e["data"]["service"] == "chat", f"{e}")
        s.p().ok("ud.put settings " + json.dumps({"restrictions": {"chat_off": True}}))
        time.sleep(0.2)
        e = err(a, "chat.send", {"to": "bob", "text": "hi"}, "forbidden")
        check("switched off" in e["message"], f"{e}")
    run(Server(users=[user("alice", 121, services=["chat"]), user("bob", 122)]), body)


# ---- the store removes a user -------------------------------------------------------

def deleted_user():
    def body(s):
        a1 = s.client("alice")
        a2 = s.client("alice")
        b = s.client("bob")
        s.p().ok("ud.remove user alice")
        check(a1.wait_closed() == (4003, "account deleted"), f"{a1.closed}")
        check(a2.wait_closed() == (4003, "account deleted"), f"{a2.closed}")
        s.u.wait_for(r"info \[client-api\] session \d+ of alice closed: account deleted")
        err(s.client(), "auth.resume", {"session": a1.me["session"]}, "auth_failed")
        check(b.call("me.get")["id"] == "bob", "bob goes on")
        # switched off: the same
        s.p().ok("ud.put user " + json.dumps({"id": "bob", "login": "bob", "active": False}))
        check(b.wait_closed() == (4003, "account deactivated"), f"{b.closed}")
        err(s.client(), "auth.resume", {"session": b.me["session"]}, "auth_failed")
    run(Server(users=[user("alice", 121), user("bob", 122)]), body)


def session_limit():
    def body(s):
        s.client("alice")
        s.client("alice")
        e = err(s.client(), "auth.login", {"login": "alice", "password": "pw-alice"},
                "rate_limited")
        check(e["data"]["max_sessions_per_user"] == 2, f"{e}")
    run(Server(users=[user("alice", 121)], client={"max_sessions_per_user": 2}), body)


def reload():
    srv = Server(users=[user("alice", 121)], client={"max_sessions_per_user": 1})

    def body(s):
        a = s.client("alice")
        err(s.client(), "auth.login", {"login": "alice", "password": "pw-alice"},
            "rate_limited")
        cfg = json.load(open(s.u.config))
        cfg["client-api"]["max_sessions_per_user"] = 2
        s.u.write_config(cfg)
        mark = len(s.u.lines)
        s.u.signal(signal.SIGHUP)
        s.u.wait_for(r"\[client-api\] client protocol on 127\.0\.0\.1 port \d+ \(plain\)",
                     after=mark)
        s.client("alice")
        check(a.call("me.get")["id"] == "alice", "the session survived the reload")
        # an invalid section keeps the running settings
        cfg["client-api"]["interfaces"][0]["bind"] = "localhost"
        s.u.write_config(cfg)
        mark = len(s.u.lines)
        s.u.signal(signal.SIGHUP)
        s.u.wait_for(r"error \[client-api\] .*interfaces\[0\]\.bind", after=mark)
        check(a.call("me.get")["id"] == "alice", "still serving")
        err(s.client(), "auth.login", {"login": "alice", "password": "pw-alice"},
            "rate_limited")
    run(srv, body)


def shutdown():
    """ucsd stops with everything in flight: logged-in sessions with
    subscriptions, a call request the PBX never answers, a login."""
    srv = Server(users=[user("alice", 121), user("bob", 122)],
                 lines=[line(121, mute=True), line(122)])

    def body(s):
        a = s.client("alice")
        b = s.client("bob")
        b.call("presence.subscribe", {"users": ["alice"]})
        b.call("lines.subscribe")
        a.call("lines.subscribe")
        a.request("call.make", {"number": "122"})
        c = s.client()
        c.request("auth.login", {"login": "bob", "password": "pw-bob"})
        time.sleep(0.2)
        rc, secs = s.u.stop()
        check(rc == 0 and secs < 5, f"stopped: {rc} in {secs:.1f}s")
        for x in (a, b):
            wait_rpc_event(x, "server.event", lambda e: e.get("kind") == "shutdown")
            check(x.wait_closed()[0] == 1001, f"closed: {x.closed}")
    srv.start()
    try:
        body(srv)
    finally:
        srv.close()


def status():
    def body(s):
        s.client("alice")
        c = s.client()
        err(c, "auth.login", {"login": "alice", "password": "no"}, "auth_failed")
        plugins = json.loads(s.p().ok("srv.plugins"))
        st = [p for p in plugins if p["name"] == "client-api"][0]["status"]
        check(st["sessions"] == 2 and st["authenticated"] == 1 and st["users_online"] == 1,
              f"{st}")
        check(st["logins_ok"] == 1 and st["logins_failed"] == 1 and st["resume_tokens"] == 1,
              f"{st}")
        check(st["requests"] >= 2 and st["errors"] >= 1, f"{st}")
    run(Server(users=[user("alice", 121)]), body)


# ---- review fixes (issue #5, round 2) ------------------------------------------------

def _overflow(s, request):
    """A logged-in raw client that does not read, with a small max_queue:
    presence snapshots fill the queue while `request` (an asynchronous one)
    is pending, so its answer is the send that overflows the queue and
    closes the session (on_close frees the session's requests)."""
    from wsclient import RawClient
    c = RawClient(s.port, rcvbuf=4096)
    c.handshake()
    r = c.call("auth.login", {"login": "alice", "password": "pw-alice"})
    check("result" in r, f"login {r}")
    for k in range(40):
        c.send_json({"jsonrpc": "2.0", "id": 100 + k, "method": "presence.subscribe",
                     "params": {"users": [f"u{i:03d}" for i in range(300)]}})
        time.sleep(0.05)
        method, params = request
        c.send_json({"jsonrpc": "2.0", "id": 200 + k, "method": method, "params": params})
        time.sleep(0.35)
        if s.u.proc.poll() is not None or "overflow" in s.u.log():
            break
    time.sleep(1.0)
    log = s.u.log()
    check(s.u.proc.poll() is None, "ucsd survived: " + log[log.find("Sanitizer") - 200:][:3000])
    check("Sanitizer" not in log, log[log.find("Sanitizer") - 200:][:3000])
    check("overflow" in log or "4008" in log or "queue" in log, "the queue overflowed")
    b = s.client("bob")
    check(b.call("me.get")["id"] == "bob", "still serving")
    c.close()


def _crowd():
    return [user(f"u{i:03d}", None, display_name="X" * 200, first_name="F" * 100,
                 last_name="L" * 100) for i in range(300)]


def overflow_async_reply():
    """An asynchronous answer (me.update's old password check, a call
    request timing out) that overflows the queue touches nothing after the
    send (ASan would report the use after free)."""
    def body(s):
        _overflow(s, ("call.make", {"number": "122"}))
        # (wrong old passwords lock the login soon: locked_out is the same path)
        _overflow(s, ("me.update", {"password": "new", "old_password": "wrong"}))
    run(Server(users=[user("alice", 121, services=["configure_self"]), user("bob", 122)] +
               _crowd(), lines=[line(121, mute=True), line(122)],
               client={"limits": {"max_queue": 4096}, "request_timeout_ms": 300,
                       "max_sessions_per_user": 64},
               log_level="debug"), body)


def extra_line_shared_internal():
    """An extra line named by an internal number that two live lines carry
    names neither (presence's rule): no access to either."""
    lines = [line(121), {"id": "pbx-a/222", "internal": "222", "number": num(222), "name": "A"},
             {"id": "pbx-b/222", "internal": "222", "number": "+493012345222", "name": "B"}]
    users = [user("alice", 121, extra_lines=[{"line": "222", "show_incoming": True,
                                             "show_outgoing": True, "pickup": True}]),
             user("dave", 222)]

    def body(s):
        time.sleep(0.3)
        a = s.client("alice")
        ids = [(x["id"], x["access"]) for x in a.call("lines.list")["lines"]]
        check(ids == [("pbx/121", "own")], f"lines.list: {ids}")
        err(a, "lines.subscribe", {"lines": ["pbx-b/222"]}, "forbidden")
        err(a, "call.make", {"line": "pbx-b/222", "number": "121"}, "forbidden")
        err(a, "line.forward.set", {"line": "pbx-b/222", "mode": "immediate", "to": "0900"},
            "forbidden")
        check(not [r for r in lm_requests(s) if r[1] == "pbx-b/222"], "nothing reached the line manager")
    run(Server(users=users, lines=lines), body)


def recreated_user():
    """A user id deleted and created again is another account: the old
    sessions end (4003) and the old tokens do not resume."""
    def body(s):
        a = s.client("alice")
        b = s.client("alice")
        tokb = b.me["session"]
        s.drop(b)
        p = s.p()
        newdoc = {"id": "alice", "login": "alice", "display_name": "Another Alice"}
        p.sock.sendall(("ud.remove user alice\nud.put user " + json.dumps(newdoc) +
                        "\n").encode())
        check(a.wait_closed() == (4003, "account deleted"), f"{a.closed}")
        err(s.client(), "auth.resume", {"session": tokb}, "auth_failed")
    run(Server(users=[user("alice", 121)]), body)


def password_change_ends_others():
    """A password change ends the user's other sessions (4003) and tokens;
    her own session and its token go on. An administrator's change (the
    store's hash changes) ends them all."""
    def body(s):
        thief = s.client("alice")
        tok = thief.me["session"]
        idle = s.client("alice")
        idle_tok = idle.me["session"]
        s.drop(idle)
        owner = s.client("alice")
        owner.call("me.update", {"password": "brand-new", "old_password": "pw-alice"})
        check(thief.wait_closed() == (4003, "password changed"), f"{thief.closed}")
        err(s.client(), "auth.resume", {"session": tok}, "auth_failed")
        err(s.client(), "auth.resume", {"session": idle_tok}, "auth_failed")
        check(owner.call("me.get")["id"] == "alice", "her own session goes on")
        own_tok = owner.me["session"]
        s.drop(owner)
        again = s.client()
        check(again.call("auth.resume", {"session": own_tok})["user"]["id"] == "alice",
              "her own token resumes")
        # an administrator sets another password
        s.p().ok("ud.passwd alice " + phc("admin-set"))
        check(again.wait_closed() == (4003, "password changed"), f"{again.closed}")
        err(s.client(), "auth.resume", {"session": own_tok}, "auth_failed")
        check(s.client("alice", "admin-set").me["user"]["id"] == "alice", "new password")
    run(Server(users=[user("alice", 121, services=["configure_self"])]), body)


def token_cap():
    """Unheld resume tokens per user are capped (16): the oldest goes."""
    def body(s):
        toks = []
        for _ in range(20):
            c = s.client("alice")
            toks.append(c.me["session"])
            s.drop(c)
        time.sleep(0.3)
        st = [p for p in json.loads(s.p().ok("srv.plugins"))
              if p["name"] == "client-api"][0]["status"]
        check(st["resume_tokens"] == 16, f"{st}")
        err(s.client(), "auth.resume", {"session": toks[0]}, "auth_failed")
        check(s.client().call("auth.resume", {"session": toks[-1]})["user"]["id"] == "alice",
              "the newest resumes")
    run(Server(users=[user("alice", 121)]), body)


def extra_line_filtered():
    """A Line object of an extra line shows the number and forwarding only
    with the rights on its owner (blocked: null)."""
    def body(s):
        time.sleep(0.3)
        a = s.client("alice")
        d = s.client("dave")
        ln = [x for x in a.call("lines.subscribe", {"lines": ["pbx/126"]})["lines"]][0]
        check(ln["number"] is None and ln["forwarding"]["immediate"]["on"] is None, f"{ln}")
        d.call("lines.subscribe", {"lines": ["pbx/126"]})
        d.call("line.forward.set", {"line": "pbx/126", "mode": "immediate", "to": "0171 5555"})
        # the owner sees it, alice gets the event without number and target
        mine = wait_rpc_event(d, "line.event", lambda p: p["line"]["forwarding"]["immediate"]["on"])
        check(mine["line"]["forwarding"]["immediate"]["to"] is not None, f"{mine}")
        e = wait_rpc_event(a, "line.event")
        f = e["line"]["forwarding"]["immediate"]
        check(f["on"] is None and f["to"] is None and e["line"]["number"] is None, f"{e}")
        own = a.call("lines.list")["lines"]
        check([x for x in own if x["id"] == "pbx/121"][0]["number"] is not None, f"{own}")
    run(Server(users=[user("alice", 121, extra_lines=[{"line": "pbx/126"}]), user("dave", 126)],
               lines=[line(121), line(126)], settings={"rights": {"level": "blocked"}}), body)


def _png(w, h):
    import struct
    import zlib

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    raw = zlib.compress(b"".join(b"\0" + b"\0" * w for _ in range(h)), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def picture_limits():
    """Pictures are checked before anything is written: too many pixels is
    invalid_params (nothing changed); one picture update per user at a time
    and every few seconds."""
    import base64

    def body(s):
        a = s.client("alice")
        big = base64.b64encode(_png(3000, 3000)).decode()
        e = err(a, "me.update", {"first_name": "Changed", "contact_image": big}, "invalid_params")
        check(e["data"]["member"] == "contact_image", f"{e}")
        check(a.call("me.get")["first_name"] != "Changed", "all or nothing")
        small = base64.b64encode(_png(8, 8)).decode()
        check(a.call("me.update", {"contact_image": small})["images"]["contact_image"], "ok")
        e = err(a, "me.update", {"profile_picture": small}, "rate_limited")
        check(e["data"]["retry_after_ms"] > 0, f"{e}")
    run(Server(users=[user("alice", 121, services=["configure_self"])]), body)


def phones_of_others():
    """me.update may not name another user's line as her phone (an extra
    line of hers is fine)."""
    def body(s):
        time.sleep(0.3)
        a = s.client("alice")
        e = err(a, "me.update", {"phones": {"first": "pbx/122"}}, "forbidden")
        check(e["data"]["field"] == "phones.first", f"{e}")
        e = err(a, "me.update", {"phones": {"other": ["122"]}}, "forbidden")
        check(e["data"]["field"] == "phones.other", f"{e}")
        a.call("me.update", {"phones": {"second": "pbx/126"}})
    run(Server(users=[user("alice", 121, services=["configure_self"],
                           extra_lines=[{"line": "pbx/126"}]),
                      user("bob", 122), user("dave", 126)],
               lines=[line(121), line(122), line(126)]), body)


if __name__ == "__main__":
    main({f.__name__: f for f in (login, login_failures, lockout, inactive, resume, logout,
                                  before_login, me_get_update, me_update_forbidden,
                                  presence_subscribe, presence_set_other, rights_matrix,
                                  lines_and_calls, driver_refused, control_forbidden,
                                  no_line_manager, contacts_search, later_plugins,
                                  deleted_user, session_limit, reload, shutdown, status,
                                  overflow_async_reply, extra_line_shared_internal,
                                  recreated_user, password_change_ends_others, token_cap,
                                  extra_line_filtered, picture_limits, phones_of_others)})
