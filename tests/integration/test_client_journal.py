"""tests/integration/test_client_journal.py - the journal and SMS methods of
the client protocol (journal.query / update / delete, the journal.event
notifications, the offline journal at login, sms.send) end to end.

The real ucsd with dialplan, userdb-file, auth, presence, client-api and
the real journal plugin (its SQLite store under the test's state
directory), plus svcprobe, whose journal commands (tests/plugins/
svcprobe_journal.c) put entries into the journal through its
"journal.append" request, as the tracker would after a call - no PBX
needed. For sms.send the real sms plugin talks to tests/integration/
smsgw.py, a local HTTP gateway that records what it receives. Clients are
python3-websockets (wsclient.RpcClient).

Users are documents in the state directory (login = id, password
"pw-<id>"); groups and the settings give the journal rights
(docs/plugins/journal.md: leader/deputy with journal.leader, every member
with journal.group, journal.modify to change, journal_all to see
everyone's, journal_delete to delete).
"""
import json
import os
import re
import time

from harness import SOURCE, Failure, Probe, Ucsd, check, main, phc, wait_rpc_event
from wsclient import RpcClient, RpcError

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
CHEAP = {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1,
         "delay_base_ms": 0}
T0 = 1_790_000_000_000  # Unix ms of the first test entry (2026-09-21)


def user(uid, **fields):
    doc = {"id": uid, "login": uid}
    doc.update(fields)
    doc["password_hash"] = phc("pw-" + uid)
    return doc


class Server:
    """ucsd with the client protocol and the journal (and the sms plugin
    when sms is a config section for it)."""

    def __init__(self, users=(), groups=(), settings=None, journal=True, sms=None,
                 journal_config=None):
        config = {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                               "default_location": "Starnberg"},
                  "auth": CHEAP,
                  "client-api": {"interfaces": [{"bind": "127.0.0.1", "port": 0,
                                                 "tls": "plain"}]}}
        tree = ["dialplan", "userdb-file", "auth", "presence", "client-api"]
        if journal:
            tree.append("journal")
            if journal_config:
                config["journal"] = journal_config
        if sms is not None:
            tree.append("sms")
            config["sms"] = sms
        self.u = Ucsd(plugins=["svcprobe"], config=config, tree_plugins=tree)
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

    def client(self, login=None):
        c = RpcClient(f"ws://127.0.0.1:{self.port}/ws")
        self.clients.append(c)
        if login:
            c.me = c.call("auth.login", {"login": login, "password": "pw-" + login})
        return c

    def drop(self, c):
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
            self.probe = None
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


def run(server, body):
    try:
        server.start()
        body(server)
        server.stop()
    finally:
        server.close()


def err(c, method, params=None, reason=None):
    e = c.call_error(method, params)
    got = (e.get("data") or {}).get("reason")
    if reason is not None:
        check(got == reason, f"{method} {params}: reason {got!r}, expected {reason!r}: {e}")
    check(isinstance(e.get("message"), str) and e["message"], f"{method}: a message: {e}")
    return e


_seq = [0]


def entry(owner, **kw):
    """An entry as the journal's row format has it (docs/plugins/journal.md,
    "Entry format"): an incoming external call by default."""
    _seq[0] += 1
    n = _seq[0]
    e = {"id": f"t{n}", "user": owner, "call": f"c{n}", "line": "pbx/121",
         "direction": "incoming", "internal": False, "private": False,
         "answered": True, "unanswered": False, "started_ms": T0 + n * 60000,
         "alerting_ms": T0 + n * 60000, "connected_ms": T0 + n * 60000 + 5000,
         "ended_ms": T0 + n * 60000 + 65000, "ring_s": 5, "talk_s": 60,
         "own_number": "+4981513685121", "remote_number": f"+49891234{n:04d}",
         "remote_name": f"Caller {n}", "note": "", "read": False, "offline": False}
    e.update(kw)
    return e


def append(s, e):
    """The entry into the journal (svcprobe journal.append), committed."""
    s.p().ok("journal.append " + json.dumps(e))
    return e


def ids(rows):
    return [r["id"] for r in rows]


def query(c, **params):
    return c.call("journal.query", params)["entries"]


def wait_query(c, pred, what, timeout=5, **params):
    """The journal commits appended entries within its flush window
    (JR_FLUSH_MS): query until pred(rows) holds."""
    deadline = time.monotonic() + timeout
    while True:
        rows = query(c, **params)
        if pred(rows):
            return rows
        if time.monotonic() > deadline:
            raise Failure(f"{what}: {rows}")
        time.sleep(0.05)


def eventually(fn, what, timeout=5):
    """fn() until it returns something true (a change of the store reaches
    the journal's rights through the bus: a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        check(time.monotonic() < deadline, f"{what}: never")
        time.sleep(0.05)


def result_or_error(c, method, params):
    """The result, or {"error": the error object}."""
    try:
        return c.call(method, params)
    except RpcError as e:
        return {"error": e.error}


def no_notification(c, method, secs=0.5):
    time.sleep(secs)
    got = c.notifications(method)
    check(not got, f"no {method} expected: {got}")


# ---- journal.query ---------------------------------------------------------------

def query_own():
    def body(s):
        a = s.client("alice")
        e1 = append(s, entry("alice", answered=False, unanswered=True, connected_ms=0,
                             talk_s=0, remote_name="Hans Huber"))
        e2 = append(s, entry("alice", direction="outgoing", note="call back Monday"))
        e3 = append(s, entry("alice", remote_number="+4930555"))
        append(s, entry("bob"))
        rows = wait_query(a, lambda r: len(r) == 3, "alice's three entries")
        # newest first, only hers, the rows as the journal writes them
        check(ids(rows) == [e3["id"], e2["id"], e1["id"]], f"order: {ids(rows)}")
        check(all(r["user"] == "alice" for r in rows), rows)
        r1 = rows[2]
        check(r1["remote_name"] == "Hans Huber" and r1["unanswered"] is True and
              r1["direction"] == "incoming" and r1["remote_number"] == e1["remote_number"] and
              r1["started_ms"] == e1["started_ms"], f"row: {r1}")
        check(ids(query(a, missed=True)) == [e1["id"]], "missed only")
        check(ids(query(a, limit=1)) == [e3["id"]], "limit 1: the newest")
        check(ids(query(a, since=e2["started_ms"])) == [e3["id"], e2["id"]], "since")
        check(ids(query(a, since=e1["started_ms"], until=e2["started_ms"])) == [e1["id"]],
              "until: before it")
        check(ids(query(a, text="Huber")) == [e1["id"]], "text in the name")
        check(ids(query(a, text="call back")) == [e2["id"]], "text in the note")
        check(ids(query(a, text="4930555")) == [e3["id"]], "text in the number")
        check(query(a, text="nothing like this") == [], "text without a match")
        # her own journal named by login and by id is hers
        check(ids(query(a, user="alice")) == ids(rows), "user: herself")
        # another user's journal without any right
        e = err(a, "journal.query", {"user": "bob"}, "forbidden")
        check("rights" in e["message"], e)
        e = err(a, "journal.query", {"user": "nobody"}, "not_found")
        check(e["data"].get("member") == "user", e)
        b = s.client("bob")
        check(len(wait_query(b, lambda r: len(r) == 1, "bob's one")) == 1, "bob's own")
        # every request that reached the journal counts, answered or refused
        before = ca_status(s)["journal_requests"]
        query(a)
        query(b, limit=1)
        err(a, "journal.query", {"user": "bob"}, "forbidden")
        err(a, "journal.update", {"id": "no-such-entry", "read": True}, "not_found")
        err(a, "journal.query", {"limit": 0}, "invalid_params")  # refused before: not counted
        after = ca_status(s)["journal_requests"]
        check(after == before + 4, f"journal_requests {before} -> {after}")
    run(Server(users=[user("alice"), user("bob")]), body)


def ca_status(s):
    st = json.loads(s.p().ok("srv.plugins"))
    return [x for x in st if x["name"] == "client-api"][0]["status"]


def journal_status(s):
    return json.loads(s.p().ok("journal.status"))


def query_by_login():
    """A user whose login is not her id (the store's id is the login in lower
    case: login "Dave.Miller", id "dave.miller"): journal.query's user takes
    either, the rows carry the id; a login nobody has is not_found
    (data.member)."""
    groups = [{"id": "sales", "name": "Sales", "members": ["carol", "dave.miller"],
               "leader": "carol", "journal": {"leader": True}}]

    def body(s):
        e = append(s, entry("dave.miller"))
        carol = s.client("carol")
        rows = wait_query(carol, lambda r: len(r) == 1, "dave's entry by login",
                          user="Dave.Miller")
        check(ids(rows) == [e["id"]] and rows[0]["user"] == "dave.miller", f"by login: {rows}")
        check(ids(query(carol, user="dave.miller")) == [e["id"]], "by id")
        d = s.client()
        d.call("auth.login", {"login": "Dave.Miller", "password": "pw-dave.miller"})
        check(ids(query(d, user="Dave.Miller")) == [e["id"]], "herself by login")
        check(ids(query(d)) == [e["id"]], "her own")
        e2 = err(carol, "journal.query", {"user": "Dave.Smith"}, "not_found")
        check(e2["data"].get("member") == "user", e2)
    run(Server(users=[user("carol"), user("dave.miller", login="Dave.Miller")], groups=groups),
        body)


def rights_matrix():
    """A few cells of the journal's rights through the protocol: a leader
    journal (leader and deputy, not a plain member), a group journal (every
    member), journal_all (everyone), never another's private entry."""
    groups = [{"id": "sales", "name": "Sales", "members": ["alice", "bob", "carol", "dora"],
               "leader": "carol", "deputy": "dora", "journal": {"leader": True}},
              {"id": "ops", "name": "Ops", "members": ["erin", "fred"],
               "journal": {"group": True}}]

    def body(s):
        pub = append(s, entry("alice"))
        priv = append(s, entry("alice", private=True))
        append(s, entry("erin"))
        a = s.client("alice")
        wait_query(a, lambda r: len(r) == 2, "alice sees both of hers, the private one too")
        carol, dora, bob = s.client("carol"), s.client("dora"), s.client("bob")
        for who, c in (("leader", carol), ("deputy", dora)):
            rows = query(c, user="alice")
            check(ids(rows) == [pub["id"]], f"the {who} sees alice's, never the private: {rows}")
        err(bob, "journal.query", {"user": "alice"}, "forbidden")  # member, no group journal
        err(carol, "journal.query", {"user": "erin"}, "forbidden")  # not her group
        fred = s.client("fred")
        check(len(query(fred, user="erin")) == 1, "group journal: a member sees a member's")
        err(fred, "journal.query", {"user": "alice"}, "forbidden")
        # everyone sees everyone's once the settings say so (still not private ones)
        s.p().ok("ud.put settings " + json.dumps({"journal_all": True}))
        rows = eventually(lambda: result_or_error(bob, "journal.query", {"user": "alice"})
                          .get("entries"), "journal_all lets bob see alice's journal")
        check(ids(rows) == [pub["id"]], f"journal_all: alice's without the private: {rows}")
        check(priv["id"] not in ids(query(fred, user="alice")), "never the private one")
    run(Server(users=[user(u) for u in ("alice", "bob", "carol", "dora", "erin", "fred")],
               groups=groups), body)


# ---- journal.update / journal.delete --------------------------------------------------

def update_delete():
    groups = [{"id": "sales", "name": "Sales", "members": ["alice", "bob", "carol"],
               "leader": "carol", "journal": {"leader": True, "modify": True}}]

    def body(s):
        e1 = append(s, entry("alice", answered=False, unanswered=True))
        e2 = append(s, entry("alice"))
        a = s.client("alice")
        wait_query(a, lambda r: len(r) == 2, "alice's entries")
        r = a.call("journal.update", {"id": e1["id"], "note": "rang twice", "read": True})
        check(r["entry"]["id"] == e1["id"] and r["entry"]["note"] == "rang twice" and
              r["entry"]["read"] is True, f"updated: {r}")
        row = [x for x in query(a) if x["id"] == e1["id"]][0]
        check(row["note"] == "rang twice" and row["read"] is True, f"stored: {row}")
        # private: then her leader no longer sees it
        a.call("journal.update", {"id": e2["id"], "private": True})
        carol = s.client("carol")
        check(ids(query(carol, user="alice")) == [e1["id"]], "private hidden from the leader")
        # a member without modify rights, the leader with them
        bob = s.client("bob")
        # (bob may not even see it: for him it does not exist)
        err(bob, "journal.update", {"id": e1["id"], "note": "mine now"}, "not_found")
        r = carol.call("journal.update", {"id": e1["id"], "note": "leader's note"})
        check(r["entry"]["note"] == "leader's note", r)
        # a change of another user's entry is logged, never the note
        s.u.wait_for(r"info \[client-api\] carol updated journal entry " + e1["id"] +
                     " of alice$")
        err(a, "journal.update", {"id": "no-such-entry", "read": True}, "not_found")
        # deleting needs the settings' journal_delete, also for her own
        e = err(a, "journal.delete", {"id": e1["id"]}, "forbidden")
        check("delet" in e["message"], e)
        s.p().ok("ud.put settings " + json.dumps({"journal_delete": True}))
        r = eventually(lambda: result_or_error(a, "journal.delete", {"id": e1["id"]})
                       .get("id"), "journal_delete lets alice delete")
        check(r == e1["id"], r)
        check(ids(query(a)) == [e2["id"]], "deleted")
        err(a, "journal.delete", {"id": e1["id"]}, "not_found")
        err(bob, "journal.delete", {"id": e2["id"]}, "not_found")  # not his to see
        # the leader deletes one of hers: logged with its owner
        e3 = append(s, entry("alice"))
        wait_query(carol, lambda r: e3["id"] in ids(r), "e3 visible", user="alice")
        check(carol.call("journal.delete", {"id": e3["id"]})["id"] == e3["id"], "deleted")
        s.u.wait_for(r"info \[client-api\] carol deleted journal entry " + e3["id"] +
                     " of alice$")
        log = s.u.log()
        check("leader's note" not in log and "rang twice" not in log, "notes never logged")
        check(not re.search(r"alice (updated|deleted) journal entry", log),
              "her own changes are not logged")
    run(Server(users=[user(u) for u in ("alice", "bob", "carol")], groups=groups), body)


# ---- journal.event -------------------------------------------------------------------

def events():
    def body(s):
        a1, a2 = s.client("alice"), s.client("alice")
        b = s.client("bob")
        time.sleep(0.3)  # the journal learns of the sessions (presence.in.login)
        e = append(s, entry("alice", remote_name="Live Caller"))
        for c in (a1, a2):
            p = wait_rpc_event(c, "journal.event", lambda p: p["entry"]["id"] == e["id"])
            check(p["op"] == "created" and p["offline"] is False and
                  p["entry"]["remote_name"] == "Live Caller" and p["entry"]["user"] == "alice",
                  f"created: {p}")
        no_notification(b, "journal.event")
        a1.call("journal.update", {"id": e["id"], "note": "seen"})
        for c in (a1, a2):
            p = wait_rpc_event(c, "journal.event", lambda p: p["op"] == "updated")
            check(p["entry"]["id"] == e["id"] and p["entry"]["note"] == "seen", p)
        no_notification(b, "journal.event")
        s.p().ok("ud.put settings " + json.dumps({"journal_delete": True}))
        eventually(lambda: result_or_error(a2, "journal.delete", {"id": e["id"]}).get("id"),
                   "journal_delete lets alice delete")
        for c in (a1, a2):
            p = wait_rpc_event(c, "journal.event", lambda p: p["op"] == "deleted")
            check(p["entry"] == {"id": e["id"]}, f"deleted: {p}")
        # bob's own entry reaches bob only
        eb = append(s, entry("bob"))
        p = wait_rpc_event(b, "journal.event", lambda p: p["entry"]["id"] == eb["id"])
        check(p["op"] == "created", p)
        no_notification(a1, "journal.event")
        check(not a2.notifications("journal.event"), "nothing more for alice")
    run(Server(users=[user("alice"), user("bob")]), body)


def offline_delivery():
    """Entries kept while she had no session arrive once, at her next login,
    after the login's answer, each with "offline": true."""
    def body(s):
        e1 = append(s, entry("alice", offline=True, answered=False, unanswered=True))
        e2 = append(s, entry("alice", offline=True))
        append(s, entry("bob", offline=True))
        time.sleep(0.5)  # committed (the journal's flush window)
        a = s.client()
        a.me = a.call("auth.login", {"login": "alice", "password": "pw-alice"})
        got = [wait_rpc_event(a, "journal.event", lambda p: True) for _ in range(2)]
        check([p["entry"]["id"] for p in got] == [e1["id"], e2["id"]],
              f"oldest first: {got}")
        check(all(p["offline"] is True and p["op"] == "created" for p in got), got)
        no_notification(a, "journal.event")
        # once: another session and a later login get nothing more
        a2 = s.client("alice")
        no_notification(a2, "journal.event")
        s.drop(a)
        s.drop(a2)
        time.sleep(0.3)
        a3 = s.client("alice")
        no_notification(a3, "journal.event")
        # they are in her journal as any entry
        check({e1["id"], e2["id"]} <= set(ids(query(a3))), "still in the journal")
        # bob's was not delivered to alice; it comes at bob's login
        b = s.client("bob")
        p = wait_rpc_event(b, "journal.event", lambda p: True)
        check(p["offline"] is True and p["entry"]["user"] == "bob", p)
        st = json.loads(s.p().ok("srv.plugins"))
        ca = [x for x in st if x["name"] == "client-api"][0]["status"]
        check(ca["offline_delivered"] == 3, f"counted: {ca}")
    run(Server(users=[user("alice"), user("bob")]), body)


def offline_while_online():
    """An entry the journal kept as offline although she has a session here
    (it learnt of her login a moment late) reaches all her sessions, with
    "offline": true, and is delivered: her next login does not get it
    again."""
    def body(s):
        a1, a2 = s.client("alice"), s.client("alice")
        e = append(s, entry("alice", offline=True))
        for c in (a1, a2):
            p = wait_rpc_event(c, "journal.event", lambda p: p["entry"]["id"] == e["id"])
            check(p["offline"] is True and p["op"] == "created", p)
        no_notification(a1, "journal.event")
        a3 = s.client("alice")
        no_notification(a3, "journal.event")
        check(a3.me["user"]["id"] == "alice", "logged in")
    run(Server(users=[user("alice")]), body)


def offline_on_resume():
    """A resume is a login too: what came while the connection was gone."""
    def body(s):
        a = s.client("alice")
        token = a.me["session"]
        s.drop(a)
        time.sleep(0.3)
        e = append(s, entry("alice", offline=True))
        time.sleep(0.4)
        a2 = s.client()
        a2.call("auth.resume", {"session": token})
        p = wait_rpc_event(a2, "journal.event", lambda p: True)
        check(p["entry"]["id"] == e["id"] and p["offline"] is True, p)
    run(Server(users=[user("alice")]), body)


def offline_events(c):
    return [n["params"]["entry"]["id"] for n in c.notifications("journal.event")
            if n["params"]["offline"]]


def wait_offline(c, n, timeout=15):
    """The ids of the offline journal.events c gets until there are n (or
    the time is up)."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        got += offline_events(c)
        if len(got) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def offline_relogin():
    """Log in, hang up at once, log in again: every offline entry arrives
    once - to the first session if it was still there, else at the second
    login (a fetch cancelled with her last session leaves them offline)."""
    n = 2000

    def body(s):
        want = [append(s, entry("alice", offline=True))["id"] for _ in range(n)]
        time.sleep(0.5)  # committed
        c = s.client("alice")
        s.drop(c)
        first = offline_events(c)
        time.sleep(0.5)
        a = s.client("alice")
        second = wait_offline(a, n - len(first))
        got = first + second
        check(sorted(got) == sorted(want),
              f"each once: {len(first)} + {len(second)} of {n}, "
              f"{len(set(got))} distinct, {len(set(want) - set(got))} missing")
        no_notification(a, "journal.event", 0.3)
        check(json.loads(s.p().ok("journal.offline alice")) == [], "none left offline")
        check(ca_status(s)["offline_delivered"] >= len(second), ca_status(s))
    run(Server(users=[user("alice")]), body)


def offline_other_session():
    """Two sessions log in at once and the first hangs up at once: the fetch
    is hers, not the first session's, so the second gets every entry."""
    n = 2000

    def body(s):
        want = [append(s, entry("alice", offline=True))["id"] for _ in range(n)]
        time.sleep(0.5)  # committed
        c, b = s.client(), s.client()
        i1 = c.request("auth.login", {"login": "alice", "password": "pw-alice"})
        i2 = b.request("auth.login", {"login": "alice", "password": "pw-alice"})
        check("result" in c.reply(i1), "the first logged in")
        s.drop(c)
        check("result" in b.reply(i2), "the second logged in")
        got = wait_offline(b, n)
        check(sorted(got) == sorted(want),
              f"all to the second session, once: {len(got)} of {n}, {len(set(got))} distinct")
        check(ca_status(s)["offline_delivered"] == n, f"counted: {ca_status(s)}")
        check(json.loads(s.p().ok("journal.offline alice")) == [], "none left offline")
    run(Server(users=[user("alice")]), body)


# ---- params --------------------------------------------------------------------------

def bad_params():
    def body(s):
        a = s.client("alice")
        bad = [("journal.query", {"limit": 0}, "limit"),
               ("journal.query", {"limit": 10001}, "limit"),
               ("journal.query", {"limit": "10"}, "limit"),
               ("journal.query", {"since": -1}, "since"),
               ("journal.query", {"since": 10, "until": 5}, "until"),
               ("journal.query", {"missed": 1}, "missed"),
               ("journal.query", {"text": "x" * 128}, "text"),
               ("journal.query", {"user": 7}, "user"),
               ("journal.query", {"colour": "red"}, "colour"),
               ("journal.update", {"note": "x"}, "id"),
               ("journal.update", {"id": "t1"}, None),
               ("journal.update", {"id": "t1", "note": "x" * 1025}, "note"),
               ("journal.update", {"id": "t1", "read": "yes"}, "read"),
               ("journal.update", {"id": "has blank", "read": True}, "id"),
               ("journal.update", {"id": "", "read": True}, "id"),
               ("journal.delete", {}, "id"),
               ("journal.delete", {"id": 5}, "id"),
               ("journal.delete", {"id": "x" * 64}, "id"),
               ("sms.send", {"to": "0170 1234567"}, "text"),
               ("sms.send", {"text": "hi"}, "to"),
               ("sms.send", {"to": "call me", "text": "hi"}, "to"),
               ("sms.send", {"to": "0170", "text": ""}, "text"),
               ("sms.send", {"to": "0170", "text": "x" * 1601}, "text"),
               ("sms.send", {"to": "0170", "text": "hi", "from": "x"}, "from")]
        for m, p, member in bad:
            e = err(a, m, p, "invalid_params")
            check((e.get("data") or {}).get("member") == member, f"{m} {p}: member: {e}")
        for m in ("journal.query", "journal.update", "journal.delete", "sms.send"):
            err(a, m, [1], "invalid_params")
        # 127 bytes of text is fine, and a note of 1024 reaches the journal
        check(query(a, text="x" * 127) == [], "127 bytes of text")
        err(a, "journal.update", {"id": "t-none", "note": "n" * 1024}, "not_found")
    run(Server(users=[user("alice")]), body)


def no_journal():
    def body(s):
        a = s.client("alice")
        for m, p in (("journal.query", {}), ("journal.update", {"id": "x", "read": True}),
                     ("journal.delete", {"id": "x"})):
            e = err(a, m, p, "not_available")
            check(e["data"]["plugin"] == "journal" and
                  e["message"] == "the journal plugin is not running", e)
        # checked before the plugin: bad params stay invalid_params
        err(a, "journal.query", {"limit": 0}, "invalid_params")
    run(Server(users=[user("alice")], journal=False), body)


def closed_while_waiting():
    """Requests in flight when the session goes are cancelled: the journal
    never calls back into a freed session (ASan), the server runs on."""
    def body(s):
        for i in range(30):
            append(s, entry("alice"))
        a = s.client("alice")
        wait_query(a, lambda r: len(r) == 30, "thirty")
        for _ in range(10):
            c = s.client("alice")
            for k in range(20):
                c.request("journal.query", {"limit": 10000})
            s.drop(c)
        b = s.client("alice")
        check(len(query(b)) == 30, "still answering")
        # the cancelled ops are gone from the journal too (nothing leaks there)
        eventually(lambda: journal_status(s)["ops_running"] == 0,
                   f"the journal's ops end: {journal_status(s)}")
    run(Server(users=[user("alice")]), body)


# ---- sms.send ------------------------------------------------------------------------

def sms_config(gw):
    """The sms plugin's section for the test gateway (one provider "gw",
    its file in the gateway's directory)."""
    return {"provider": "gw", "user": "ucsd", "password": "gw-secret",
            "providers_file": gw.provider_file(gw.dir, "gw", method="GET")}


def sms_send():
    from smsgw import SmsGateway

    gw = SmsGateway().start()
    try:
        srv = Server(users=[user("alice", services=["sms"]), user("bob")], journal=False,
                     sms=sms_config(gw))

        def body(s):
            a = s.client("alice")
            r = a.call("sms.send", {"to": "+49 170 1234567", "text": "Call me back"},
                       timeout=30)
            check(r == {}, f"sent: {r}")
            got = gw.wait_requests(1)[0]
            check(got["params"]["text"] == "Call me back" and
                  "1701234567" in got["params"]["to"], f"what the gateway got: {got}")
            b = s.client("bob")
            e = err(b, "sms.send", {"to": "0170 1234567", "text": "hi"}, "forbidden")
            check(e["data"]["service"] == "sms", e)
            time.sleep(0.3)
            check(gw.count() == 1, "bob's request never left")
            # the provider says no: its answer comes back
            gw.set_modes("refuse")
            e = err(a, "sms.send", {"to": "+49 170 1234567", "text": "again"},
                    "driver_refused")
            check("invalid credentials" in e["data"]["driver_reason"], e)
            s.u.wait_for(r"info \[client-api\] alice sent an SMS to \+49 170 1234567$")
            s.u.wait_for(r"info \[client-api\] alice could not send an SMS to "
                         r"\+49 170 1234567: ")
            check("Call me back" not in s.u.log() and "again" not in s.u.log(),
                  "the text is never logged by client-api")
            st = json.loads(s.p().ok("srv.plugins"))
            ca = [x for x in st if x["name"] == "client-api"][0]["status"]
            check(ca["sms_sent"] == 1 and ca["sms_failed"] == 1, f"counted: {ca}")
        run(srv, body)
    finally:
        gw.close()


def sms_cancelled():
    """A session that closes while its SMS waits for a slow provider cancels
    the send: the sms plugin never calls back into it (ASan), the next send
    goes through."""
    from smsgw import SmsGateway

    gw = SmsGateway(slow_s=3).start()
    try:
        def body(s):
            gw.set_modes("slow")
            c = s.client("alice")
            c.request("sms.send", {"to": "+49 170 1234567", "text": "slow one"})
            gw.wait_requests(1)
            s.drop(c)
            time.sleep(0.3)
            a = s.client("alice")
            check(a.call("sms.send", {"to": "+49 170 7654321", "text": "next"},
                         timeout=30) == {}, "the next one")
            check(gw.wait_requests(2)[1]["params"]["text"] == "next", "sent")
            st = json.loads(s.p().ok("srv.plugins"))
            ca = [x for x in st if x["name"] == "client-api"][0]["status"]
            check(ca["sms_sent"] == 1 and ca["sms_failed"] == 0, f"the cancelled one "
                  f"counts neither way: {ca}")
        run(Server(users=[user("alice", services=["sms"])], journal=False, sms=sms_config(gw)),
            body)
    finally:
        gw.close()


def sms_not_available():
    def body(s):
        a = s.client("alice")
        e = err(a, "sms.send", {"to": "0170", "text": "hi"}, "not_available")
        check(e["data"]["plugin"] == "sms", e)
        b = s.client("bob")
        err(b, "sms.send", {"to": "0170", "text": "hi"}, "forbidden")
    run(Server(users=[user("alice", services=["sms"]), user("bob")], journal=False), body)


if __name__ == "__main__":
    main({f.__name__: f for f in (query_own, query_by_login, rights_matrix, update_delete,
                                  events, offline_delivery, offline_while_online,
                                  offline_on_resume, offline_relogin, offline_other_session,
                                  bad_params,
                                  no_journal, closed_while_waiting, sms_send,
                                  sms_cancelled, sms_not_available)})
