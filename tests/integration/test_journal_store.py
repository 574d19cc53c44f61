"""tests/integration/test_journal_store.py - the journal's store inside ucsd.

The real ucsd with userdb-file (users and groups written into its store
before the start), presence and journal.so; svcprobe drives ucs.journal
and the "journal.append" request, so no PBX takes part: the entries are
appended as the tracker would. Cases: the service end to end, migrations
from an older schema, a newer schema refused, the rights matrix of manual
10.4 through the service, update/remove, the offline journal, retention by
rule, retention of 100,000 rows while the loop keeps answering, kill -9
during a burst (integrity_check, nothing committed lost), malformed appends
and cancel, cancelled updates/take_offline while the writer is busy
(nothing lost, no empty journal.event), an entry marked private later (the
private mode applied), and the stop with queries and a retention run
pending (each done once with -ESHUTDOWN, later calls refused).
"""
import json
import os
import re
import signal
import sqlite3
import time

from harness import Probe, Ucsd, check, main

DAY = 86400000
NOW = int(time.time() * 1000)


def user(uid, **fields):
    doc = {"id": uid, "login": uid}
    doc.update(fields)
    return doc


USERS = [user(u) for u in ("alice", "bob", "carol", "dave", "erin")]
# sales: alice leads, bob is deputy; members bob, carol, dave; team: carol, erin
GROUPS = [
    {"id": "sales", "members": ["bob", "carol", "dave"], "leader": "alice", "deputy": "bob",
     "journal": {"leader": True}},
    {"id": "team", "members": ["carol", "erin"], "journal": {"group": True}},
]


def quiet_window():
    """A maintenance window that does not hold the current local hour, so
    no nightly run interferes with a case (tests may run at night)."""
    start = (time.localtime().tm_hour + 2) % 24
    return f"{start}-{start + 1}"


class Server:
    def __init__(self, journal=None, users=USERS, groups=GROUPS, settings=None):
        cfg = {"journal": json.loads(json.dumps(journal or {}))}
        cfg["journal"].setdefault("retention", {}).setdefault("window", quiet_window())
        self.u = Ucsd(plugins=["svcprobe"], config=cfg,
                      tree_plugins=["dialplan", "userdb-file", "presence", "journal"])
        store = os.path.join(self.u.state, "userdb")
        for kind, docs in (("users", users), ("groups", groups)):
            os.makedirs(os.path.join(store, kind), exist_ok=True)
            for d in docs:
                with open(os.path.join(store, kind, d["id"] + ".json"), "w") as f:
                    json.dump(d, f)
        with open(os.path.join(store, "settings.json"), "w") as f:
            json.dump(settings or {}, f)
        self.db = os.path.join(self.u.state, "journal.db")
        self.p = None

    def start(self, wait=True):
        after = len(self.u.lines)
        self.u.start(wait=wait)
        if wait:
            self.p = Probe(self.u, after=after)
        return self

    def append(self, **e):
        return json.loads(self.p.ok("journal.append " + json.dumps(e)))

    def query(self, **q):
        return json.loads(self.p.ok("journal.query " + json.dumps(q)))

    def ids(self, **q):
        return [r["id"] for r in self.query(**q)]

    def status(self):
        return json.loads(self.p.ok("journal.status"))

    def close(self):
        if self.p:
            self.p.close()
        self.u.close()


def db_rows(path, sql, args=()):
    c = sqlite3.connect(path)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def service():
    s = Server()
    try:
        s.start()
        s.u.index(r"info \[journal\] journal database .*/journal\.db \(schema version 4\), "
                  r"commits within 200 ms; unanswered: missed=all forwarded=none; private "
                  r"calls normal; (following calls|no line manager: serving queries only)$")
        s.u.index(r"info \[journal\] journal database .*journal\.db migrated to schema version 4$")
        row = s.append(id="c1-1", user="alice", direction="incoming", remote_number="+4989123",
                       remote_name="Müller", started_ms=NOW - 5000, ring_s=3, unanswered=True,
                       flags=["forwarded"], ended_by="forwarded")
        check(row["id"] == "c1-1" and row["remote_name"] == "Müller", f"append answer {row}")
        s.append(id="c1-2", user="alice", direction="outgoing", remote_number="+4930999",
                 started_ms=NOW - 1000, talk_s=42, project="Apollo")
        s.append(id="c1-3", user="bob", started_ms=NOW)
        # a query right after the append sees it (the op waits for the commit)
        rows = s.query(actor="alice", limit=10)
        check([r["id"] for r in rows] == ["c1-2", "c1-1"], f"own rows newest first: {rows}")
        check(rows[1]["flags"] == ["forwarded"] and rows[1]["ended_by"] == "forwarded" and
              rows[1]["unanswered"] is True and rows[1]["ring_s"] == 3, f"row: {rows[1]}")
        check(s.ids(actor="alice", missed=True) == ["c1-1"], "missed only")
        check(s.ids(actor="alice", text="apol") == ["c1-2"], "text in project, any case")
        check(s.ids(actor="alice", text="ller") == ["c1-1"], "text in the name")
        check(s.ids(actor="alice", since=NOW - 2000) == ["c1-2"], "since")
        check(s.ids(actor="alice", until=NOW - 2000) == ["c1-1"], "until")
        check(s.ids(actor="alice", limit=1) == ["c1-2"], "limit")
        check(s.ids(actor="", user="bob") == ["c1-3"], "the system reads any journal")
        for bad in ({"actor": "alice", "limit": 0}, {"actor": "alice", "limit": 10001},
                    {"actor": "alice", "since": 5, "until": 4}):
            got = s.p.cmd("journal.query " + json.dumps(bad))
            check(got.startswith("err EINVAL"), f"{bad}: {got}")
        check(s.p.cmd('journal.query {"actor":"alice","user":"nobody"}').startswith(
            "err ENOENT"), "unknown user")
        check(s.p.ok('journal.cancel {"actor":"alice"}') == "cancelled", "cancel")
        st = s.status()
        check(st["appended"] == 3 and st["committed"] == 3 and st["queued"] == 0 and
              st["schema_version"] == 4 and st["broken"] is False, f"status {st}")
        check(s.u.stop()[0] == 0, "clean exit")
        check(db_rows(s.db, "SELECT count(*) FROM entries") == [(3,)], "rows on disk")
        check(db_rows(s.db, "PRAGMA journal_mode") == [("wal",)], "WAL mode")
    finally:
        s.close()


V1 = """
CREATE TABLE schema_version(version INTEGER NOT NULL);
INSERT INTO schema_version VALUES(1);
CREATE TABLE entries(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, user TEXT NOT NULL,
 call TEXT NOT NULL DEFAULT '', line TEXT NOT NULL DEFAULT '',
 direction INTEGER NOT NULL DEFAULT 0, internal INTEGER NOT NULL DEFAULT 0,
 private INTEGER NOT NULL DEFAULT 0, answered INTEGER NOT NULL DEFAULT 0,
 unanswered INTEGER NOT NULL DEFAULT 0, ended_by INTEGER NOT NULL DEFAULT 0,
 flags INTEGER NOT NULL DEFAULT 0, started_ms INTEGER NOT NULL DEFAULT 0,
 alerting_ms INTEGER NOT NULL DEFAULT 0, connected_ms INTEGER NOT NULL DEFAULT 0,
 ended_ms INTEGER NOT NULL DEFAULT 0, ring_s INTEGER NOT NULL DEFAULT 0,
 talk_s INTEGER NOT NULL DEFAULT 0, own_number TEXT NOT NULL DEFAULT '',
 remote_number TEXT NOT NULL DEFAULT '', remote_display TEXT NOT NULL DEFAULT '',
 remote_name TEXT NOT NULL DEFAULT '', remote_user TEXT NOT NULL DEFAULT '',
 answered_user TEXT NOT NULL DEFAULT '', answered_number TEXT NOT NULL DEFAULT '',
 project TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
 read INTEGER NOT NULL DEFAULT 0, offline INTEGER NOT NULL DEFAULT 0);
CREATE INDEX entries_user_started ON entries(user, started_ms);
"""


def make_v1(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    c = sqlite3.connect(path)
    c.executescript(V1)
    c.executemany("INSERT INTO entries(id, user, remote_number, note, offline, started_ms) "
                  "VALUES(?, ?, ?, ?, ?, ?)", rows)
    c.commit()
    c.close()


def migrations():
    s = Server()
    try:
        make_v1(s.db, [("v1-a", "alice", "+4930111", "from version 1", 0, NOW - 10000),
                       ("v1-b", "alice", "+4930222", "", 1, NOW - 9000)])
        s.start()
        s.u.index(r"journal database .* migrated to schema version 2$")
        s.u.index(r"journal database .* migrated to schema version 4$")
        check(not s.u.has(r"migrated to schema version 1$"), "version 1 is not redone")
        rows = s.query(actor="alice")
        check([r["id"] for r in rows] == ["v1-b", "v1-a"], f"old rows served: {rows}")
        check(rows[1]["note"] == "from version 1" and rows[1]["diverted_from"] == "" and
              rows[1]["project_info"] == "", f"new columns with defaults: {rows[1]}")
        # v1-b was offline in version 1 and is still handed out once
        off = json.loads(s.p.ok("journal.offline alice"))
        check([r["id"] for r in off] == ["v1-b"], f"offline after migration: {off}")
        s.append(id="new-1", user="alice", diverted_from="+4989555", started_ms=NOW)
        check(s.query(actor="alice", limit=1)[0]["diverted_from"] == "+4989555", "new column")
        check(s.u.stop()[0] == 0, "clean exit")
        check(db_rows(s.db, "SELECT version FROM schema_version") == [(4,)], "version 4")
        check(db_rows(s.db, "SELECT count(*) FROM chat_messages") == [(0,)], "chat table")
        # a restart migrates nothing more
        n = len(s.u.lines)
        s.start()
        check(not any("migrated" in l for l in s.u.lines[n:] if l), "no migration twice")
        check(len(s.query(actor="alice")) == 3, "rows after the restart")
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


def newer_schema():
    s = Server()
    try:
        make_v1(s.db, [("x", "alice", "", "", 0, 1)])
        c = sqlite3.connect(s.db)
        c.execute("UPDATE schema_version SET version = 7")
        c.commit()
        c.close()
        before = open(s.db, "rb").read()
        # the journal is critical in the shipped defaults: ucsd does not start
        s.start(wait=False)
        check(s.u.wait_exit() == 1, "startup stops")
        s.u.index(r"error \[journal\] journal database .*journal\.db has schema version 7; "
                  r"this ucsd knows up to 4 and leaves it untouched$")
        s.u.index(r"critical plugin 'journal' failed to initialise")
        check(open(s.db, "rb").read() == before, "the file is untouched")
    finally:
        s.close()


def put(s, kind, doc):
    s.p.ok(f"ud.put {kind} " + json.dumps(doc))


def rights_matrix():
    s = Server()
    try:
        s.start()
        owners = ["alice", "bob", "carol", "dave", "erin"]
        for o in owners:
            s.append(id=f"{o}-1", user=o, started_ms=NOW - 2000, remote_number="+49891")
            s.append(id=f"{o}-p", user=o, started_ms=NOW - 1000, private=True,
                     remote_number="+49892")

        def sees(actor, owner):
            got = s.p.cmd("journal.query " + json.dumps({"actor": actor, "user": owner}))
            if got.startswith("err EPERM"):
                return None
            check(got.startswith("ok "), f"{actor} on {owner}: {got}")
            return sorted(r["id"] for r in json.loads(got[3:]))

        def matrix(expect):
            for actor in owners:
                for owner in owners:
                    if actor == owner:
                        want = [f"{owner}-1", f"{owner}-p"]
                    elif (actor, owner) in expect:
                        want = [f"{owner}-1"]  # never another user's private entry
                    else:
                        want = None
                    got = sees(actor, owner)
                    check(got == want, f"{actor} on {owner}'s journal: {got}, want {want}")

        # leader and deputy on the sales members; carol and erin in team
        base = {("alice", "bob"), ("alice", "carol"), ("alice", "dave"), ("bob", "carol"),
                ("bob", "dave"), ("carol", "erin"), ("erin", "carol")}
        matrix(base)
        # modify needs the group's "modify"; delete also the global switch
        got = s.p.cmd('journal.update {"actor":"alice","entry":"carol-1","note":"x"}')
        check(got.startswith("err EPERM"), f"leader without modify: {got}")
        put(s, "group", dict(GROUPS[0], journal={"leader": True, "modify": True}))
        row = json.loads(s.p.ok('journal.update {"actor":"alice","entry":"carol-1",'
                                '"note":"call back"}'))
        check(row["note"] == "call back" and row["user"] == "carol", f"modified: {row}")
        got = s.p.cmd('journal.update {"actor":"alice","entry":"carol-p","read":true}')
        check(got.startswith("err ENOENT"), f"another's private entry does not exist: {got}")
        got = s.p.cmd('journal.update {"actor":"alice","entry":"carol-1","private":true}')
        check(got.startswith("err EPERM"), f"only the owner marks private: {got}")
        got = s.p.cmd("journal.remove alice carol-1")
        check(got.startswith("err EPERM"), f"delete without the switch: {got}")
        got = s.p.cmd("journal.remove carol carol-1")
        check(got.startswith("err EPERM"), f"not even her own: {got}")
        got = s.p.cmd('journal.update {"actor":"erin","entry":"carol-1","read":true}')
        check(got.startswith("err EPERM"), f"team has no modify: {got}")
        put(s, "settings", {"journal_delete": True})
        check(json.loads(s.p.ok("journal.remove alice carol-1")) == {"id": "carol-1"},
              "leader with modify deletes with the switch")
        got = s.p.cmd("journal.remove erin carol-p")
        check(got.startswith("err ENOENT") or got.startswith("err EPERM"), f"erin: {got}")
        s.p.ok("journal.remove erin erin-1")
        s.append(id="carol-1", user="carol", started_ms=NOW - 2000, remote_number="+49891")
        s.append(id="erin-1", user="erin", started_ms=NOW - 2000, remote_number="+49891")
        # an inactive group gives nothing
        put(s, "group", dict(GROUPS[1], active=False))
        matrix(base - {("carol", "erin"), ("erin", "carol")})
        # everyone sees everyone, still not the private entries
        put(s, "settings", {"journal_all": True})
        matrix({(a, o) for a in owners for o in owners if a != o})
        got = s.p.cmd('journal.update {"actor":"dave","entry":"erin-1","note":"x"}')
        check(got.startswith("err EPERM"), f"seeing is not modifying: {got}")
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


def update_remove():
    s = Server()
    try:
        s.start()
        s.p.ok("sub journal.event")
        s.append(id="u-1", user="bob", started_ms=NOW, remote_number="+4989")
        row = json.loads(s.p.ok('journal.update {"actor":"bob","entry":"u-1","note":"Rückruf",'
                                '"read":true}'))
        check(row["note"] == "Rückruf" and row["read"] is True and row["private"] is False,
              f"updated {row}")
        row = json.loads(s.p.ok('journal.update {"actor":"bob","entry":"u-1","private":true}'))
        check(row["note"] == "Rückruf" and row["private"] is True, f"only private changed {row}")
        check(s.p.cmd('journal.update {"actor":"bob","entry":"nope","read":true}').startswith(
            "err ENOENT"), "unknown entry")
        check(s.p.cmd('journal.update {"actor":"bob","entry":"u-1"}').startswith("err EINVAL"),
              "nothing to set")
        check(s.p.cmd('journal.update {"actor":"mallory","entry":"u-1","read":true}')
              .startswith("err EPERM"), "unknown actor")
        check(s.p.cmd("journal.remove bob u-1").startswith("err EPERM"), "no delete switch")
        check(json.loads(s.p.ok("journal.remove - u-1")) == {"id": "u-1"}, "the system deletes")
        check(s.p.cmd("journal.remove - u-1").startswith("err ENOENT"), "gone")
        check(s.query(actor="bob") == [], "no rows")
        evs = [e.split(" ", 3) for e in s.p.events(settle=0.5)]
        ops = [(e[2], json.loads(e[3])["op"]) for e in evs]
        check(ops == [("user:bob", "created"), ("user:bob", "updated"), ("user:bob", "updated"),
                      ("user:bob", "deleted")], f"journal.event: {ops}")
        last = json.loads(evs[-1][3])
        check(last["entry"] == "u-1" and last["entry_json"] == {"id": "u-1"}, f"{last}")
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


def offline():
    s = Server()
    try:
        s.start()
        s.append(id="o-2", user="carol", started_ms=NOW - 1000, offline=True)
        s.append(id="o-1", user="carol", started_ms=NOW - 5000, offline=True)
        s.append(id="o-3", user="carol", started_ms=NOW)
        s.append(id="o-4", user="dave", started_ms=NOW, offline=True)
        rows = json.loads(s.p.ok("journal.offline carol"))
        check([r["id"] for r in rows] == ["o-1", "o-2"], f"oldest first: {rows}")
        check(all(r["offline"] is True for r in rows), "as they were kept")
        check(json.loads(s.p.ok("journal.offline carol")) == [], "handed out once")
        check([r["offline"] for r in s.query(actor="carol")] == [False, False, False],
              "delivered entries stay in the journal")
        check(s.p.cmd("journal.offline nobody").startswith("err ENOENT"), "unknown user")
        check(s.u.stop()[0] == 0, "clean exit")
        check(db_rows(s.db, "SELECT id FROM entries WHERE offline = 1") == [("o-4",)],
              "dave's entry is still waiting")
    finally:
        s.close()


def retention():
    s = Server(journal={"retention": {"internal_days": 30, "external_days": 90,
                                      "noted_days": 365, "chat_days": 7,
                                      "offline_days": 10}})
    try:
        s.start()
        for i, (age, internal, note, off) in enumerate([
                (40, True, "", False),    # internal, old: deleted
                (20, True, "", False),    # internal, young: kept
                (100, False, "", False),  # external, old: deleted
                (60, False, "", True),    # external, young, offline too old: leaves offline
                (100, True, "n", False),  # noted, younger than a year: kept
                (400, False, "n", False),  # noted, old: deleted
                (5, False, "", True)]):   # offline, young: stays offline
            s.append(id=f"r-{i}", user="alice", started_ms=NOW - age * DAY, internal=internal,
                     note=note, offline=off)
        res = json.loads(s.p.ok("journal.retention", timeout=30))
        check(res["calls_deleted"] == 3 and res["offline_deleted"] == 1 and
              res["chat_deleted"] == 0 and res["ms"] >= 0, f"result {res}")
        s.u.wait_for(r"info \[journal\] retention \(applied now\): 3 calls deleted, 1 offline "
                     r"entries expired, 0 chat messages deleted in \d+ ms$")
        check(sorted(s.ids(actor="alice")) == ["r-1", "r-3", "r-4", "r-6"], "kept rows")
        check([r["id"] for r in json.loads(s.p.ok("journal.offline alice"))] == ["r-6"],
              "only the young offline entry is delivered")
        res = json.loads(s.p.ok("journal.retention", timeout=30))
        check(res["calls_deleted"] == 0 and res["offline_deleted"] == 0, f"idempotent {res}")
        st = s.status()
        check(st["retention"]["runs"] == 2 and st["retention"]["running"] is False, f"{st}")
        check(s.u.stop()[0] == 0, "clean exit")
        # chat messages: the table exists for the chat plugin; its rule applies
        c = sqlite3.connect(s.db)
        c.executemany("INSERT INTO chat_messages(id, sender, recipient, sent_ms, text) "
                      "VALUES(?, 'a', 'b', ?, 'x')", [("m1", NOW - 8 * DAY), ("m2", NOW)])
        c.commit()
        c.close()
        s.start()
        res = json.loads(s.p.ok("journal.retention", timeout=30))
        check(res["chat_deleted"] == 1, f"chat {res}")
        check(s.u.stop()[0] == 0, "clean exit")
        check(db_rows(s.db, "SELECT id FROM chat_messages") == [("m2",)], "young chat kept")
    finally:
        s.close()


def retention_nonblocking():
    s = Server(journal={"retention": {"external_days": 1}})
    n = 100000
    try:
        s.start()
        check(s.p.ok(f"journal.burst {n} alice", timeout=300) == f"{n} 0", "burst")
        s.p.ok('journal.query {"actor":"alice","limit":1}', timeout=30)  # committed
        probe = Probe(s.u)
        s.p.sock.sendall(b"journal.retention\n")
        worst, pings = 0.0, 0
        got = None
        while got is None:
            worst = max(worst, float(probe.ok("journal.ping_ms")))
            pings += 1
            if pings == 3:
                again = probe.cmd("journal.retention")
                check(again.startswith("err EBUSY"), f"a second run while one runs: {again}")
            s.p.sock.setblocking(False)
            try:
                data = s.p.sock.recv(65536)
                s.p.buf += data
            except BlockingIOError:
                pass
            s.p.sock.setblocking(True)
            if b"\n" in s.p.buf:
                line, s.p.buf = s.p.buf.split(b"\n", 1)
                got = line.decode()
            time.sleep(0.01)
        check(got.startswith("ok "), f"retention: {got}")
        res = json.loads(got[3:])
        check(res["calls_deleted"] == n, f"all deleted: {res}")
        check(pings >= 3, f"the run took long enough to watch: {pings} pings, {res}")
        # the loop answered a 0 ms timer promptly throughout the run
        check(worst < 100, f"loop latency during retention: {worst} ms")
        check(s.ids(actor="alice", limit=5) == [], "no rows")
        probe.close()
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


def cancel_changes():
    """Updates and take_offline cancelled while the writer is busy (a burst
    being committed, so some ops are running when cancel comes): a
    cancelled take_offline hands nothing out and loses nothing (the entries
    are still offline afterwards), and every journal.event an update
    published names the entry with its row (a cancelled update may still
    be applied; it is then published as such, never as an empty event)."""
    s = Server()
    try:
        s.start()
        s.p.ok("sub journal.event")
        s.append(id="u-1", user="bob", started_ms=NOW)
        for i in range(5):
            s.append(id=f"off-{i}", user="carol", started_ms=NOW - 1000 + i, offline=True)
        busy = Probe(s.u)
        busy.sock.sendall(b"journal.burst 30000 alice\n")
        time.sleep(0.05)
        for _ in range(8):
            check(s.p.ok('journal.cancel {"op":"update","actor":"bob","entry":"u-1",'
                         '"note":"x","n":25}', timeout=30) == "cancelled", "update cancel")
            check(s.p.ok('journal.cancel {"op":"offline","user":"carol","n":25}',
                         timeout=30) == "cancelled", "offline cancel")
        got = busy._line(time.monotonic() + 120)
        check(got == "ok 30000 0", f"the burst: {got}")
        busy.close()
        rows = json.loads(s.p.ok("journal.offline carol", timeout=30))
        check([r["id"] for r in rows] == [f"off-{i}" for i in range(5)],
              f"nothing lost by the cancelled take_offline: {rows}")
        evs = [e.split(" ", 3) for e in s.p.events(settle=0.5)]
        for e in evs:
            ev = json.loads(e[3])
            if ev["op"] == "updated":
                check(e[2] == "user:bob" and ev["entry"] == "u-1" and ev["user"] == "bob"
                      and ev["entry_json"]["id"] == "u-1" and ev["entry_json"]["note"] == "x",
                      f"an update's event names its entry: {ev}")
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


def private_later():
    """An entry marked private later gets journal.private_calls applied to
    the stored row and to the journal.event, as a private call would."""
    s = Server(journal={"private_calls": "shortened"})
    try:
        s.start()
        s.p.ok("sub journal.event")
        s.append(id="p-1", user="bob", started_ms=NOW, remote_number="+498912345678",
                 remote_display="+49 89 12345678", remote_name="Dr. Who", remote_user="frank")
        row = json.loads(s.p.ok('journal.update {"actor":"bob","entry":"p-1","private":true}'))
        check(row["private"] is True and row["remote_number"] == "+498912345XXX" and
              row["remote_name"] == "" and row["remote_user"] == "", f"shortened: {row}")
        stored = db_rows(s.db, "SELECT remote_number, remote_display, remote_name FROM entries")
        check(stored == [("+498912345XXX", "+49 89 12345XXX", "")], f"stored: {stored}")
        evs = [json.loads(e.split(" ", 3)[3]) for e in s.p.events(settle=0.5)]
        upd = [e for e in evs if e["op"] == "updated"]
        check(len(upd) == 1 and upd[0]["entry_json"]["remote_number"] == "+498912345XXX",
              f"the event: {upd}")
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


def stop_pending():
    """ucsd stops while queries and a retention run are pending: every
    pending op's done runs once with -ESHUTDOWN (or 0 when it finished
    before the stop), a call after the stop is refused with -ESHUTDOWN, and
    nothing is touched after it is freed (the harness checks ASan's
    report)."""
    s = Server()
    try:
        s.start()
        check(s.p.ok("journal.burst 10000 alice", timeout=120) == "10000 0", "burst")
        s.p.ok('journal.query {"actor":"alice","limit":1}', timeout=30)  # committed
        check(s.p.ok("journal.pending 30 alice") == "31", "30 queries and a run pending")
        rc, _ = s.u.stop(timeout=30)
        check(rc == 0, f"clean exit: {rc}")
        i = s.u.index(r"journal\.pending: 31 ended: (\d+) ok, (\d+) shutdown, 0 other, "
                      r"(\d+) calls after stop refused, 0 accepted$")
        m = re.search(r"(\d+) ok, (\d+) shutdown, 0 other, (\d+) calls", s.u.lines[i])
        ok, down, refused = int(m.group(1)), int(m.group(2)), int(m.group(3))
        check(ok + down == 31 and down >= 1 and refused == down,
              f"every op ended once, some at the stop: {s.u.lines[i]}")
    finally:
        s.close()


def kill9_burst():
    s = Server()
    n = 400000
    try:
        s.start()
        watch = Probe(s.u)
        s.p.sock.sendall(f"journal.burst {n} dave k\n".encode())
        while True:
            st = watch.ok("journal.status")
            st = json.loads(st)
            if st["committed"] >= 30000:
                break
            check(st["appended"] < n, "the burst ended before the kill")
            time.sleep(0.02)
        # everything appended now must survive: the window is 200 ms
        appended = json.loads(watch.ok("journal.status"))["appended"]
        time.sleep(0.4)
        final = json.loads(watch.ok("journal.status"))
        check(final["appended"] < n, "still bursting at the kill")
        s.u.proc.send_signal(signal.SIGKILL)
        s.u.proc.wait()
        watch.close()
        s.p.close()
        s.p = None
        check(db_rows(s.db, "PRAGMA integrity_check") == [("ok",)], "integrity_check")
        count = db_rows(s.db, "SELECT count(*) FROM entries")[0][0]
        check(count >= appended, f"{count} rows on disk, {appended} appended 400 ms "
                                 "before the kill")
        check(count >= final["committed"], f"{count} on disk, {final['committed']} committed")
        ids = {r[0] for r in db_rows(s.db, "SELECT id FROM entries")}
        check(ids == {f"k{i}" for i in range(count)}, "the rows are a prefix of the burst")
        s.start()
        check(len(s.query(actor="dave", limit=10000)) == min(count, 10000), "served again")
        # a trickle (no batch fills up): the time bound alone commits it
        for i in range(5):
            s.append(id=f"late-{i}", user="erin", started_ms=NOW + i)
        time.sleep(0.4)
        s.u.proc.send_signal(signal.SIGKILL)
        s.u.proc.wait()
        s.p.close()
        s.p = None
        check(db_rows(s.db, "PRAGMA integrity_check") == [("ok",)], "integrity_check again")
        late = db_rows(s.db, "SELECT id FROM entries WHERE user = 'erin' ORDER BY id")
        check(late == [(f"late-{i}",) for i in range(5)], f"the trickle is on disk: {late}")
    finally:
        s.close()


def bad_append():
    s = Server()
    try:
        s.start()
        for bad, why in (('{"id":"x"}', "required"), ('{"id":"x","user":"a","colour":1}',
                                                     "colour: unknown member"),
                         ('{"id":"x","user":"a","direction":"sideways"}', "direction"),
                         ("[1,2", "not JSON"), ('{"id":"x","user":"a","ring_s":-1}', "ring_s")):
            got = s.p.cmd("journal.append " + bad)
            check(got.startswith("err -22 ") and why in got, f"{bad}: {got}")
        s.append(id="ok-1", user="alice", started_ms=NOW)
        got = s.p.cmd("journal.append " + json.dumps({"id": "ok-1", "user": "alice"}))
        check(got.startswith("ok"), f"a duplicate is queued: {got}")
        s.p.ok('journal.query {"actor":"alice"}')
        s.u.wait_for(r"error \[journal\] journal entry ok-1 of alice not written: UNIQUE "
                     r"constraint failed: entries\.id$")
        st = s.status()
        check(st["appended"] == 2 and st["committed"] == 1 and st["failed"] == 1, f"{st}")
        check(s.ids(actor="alice") == ["ok-1"], "one row")
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


def nightly():
    # a window holding the current hour: the first look after the start runs it
    h = time.localtime().tm_hour
    s = Server(journal={"retention": {"external_days": 1, "window": f"{h}-{h + 1}"}})
    try:
        s.start()
        s.append(id="old-1", user="alice", started_ms=NOW - 3 * DAY)
        s.append(id="new-1", user="alice", started_ms=NOW)
        s.u.wait_for(r"info \[journal\] retention \(nightly\): 1 calls deleted, 0 offline "
                     r"entries expired, 0 chat messages deleted in \d+ ms$", timeout=15)
        check(s.ids(actor="alice") == ["new-1"], "the old entry went")
        st = s.status()
        check(st["retention"]["runs"] == 1, f"one run {st}")
        night = db_rows(s.db, "SELECT value FROM meta WHERE key = 'retention.last_night'")
        check(len(night) == 1 and re.match(r"^\d{4}-\d\d-\d\d$", night[0][0]),
              f"the night is kept: {night}")
        check(s.u.stop()[0] == 0, "clean exit")
        # a restart within the same window: tonight's run happened, no second
        s.p.close()
        s.p = None
        s.start()
        s.append(id="old-2", user="alice", started_ms=NOW - 3 * DAY)
        time.sleep(7)  # the first look comes 5 s after the start
        check(s.status()["retention"]["runs"] == 0, "no run after the restart")
        check(sorted(s.ids(actor="alice")) == ["new-1", "old-2"], "old-2 stays tonight")
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


def config():
    s = Server(journal={"retention": {"window": "25-3"}})
    try:
        s.start(wait=False)
        check(s.u.wait_exit() == 1, "a bad window stops startup")
        s.u.index(r'error \[journal\] .*ucsd\.json:\d+:\d+: retention\.window "25-3" is not '
                  r'START-END in local hours \(0-24\)$')
    finally:
        s.close()
    s = Server(journal={"retention": {"window": "23-2", "internal_days": 5}})
    try:
        s.start()
        s.u.index(r"warning \[journal\] retention\.offline_days \(30\) should be shorter than "
                  r"the shortest journal period \(5 days\)$")
        st = s.status()
        check(st["retention"]["window"] == "23-2", f"window {st}")
        n = len(s.u.lines)
        s.u.write_config({"journal": {"database": os.path.join(s.u.dir, "other.db")}})
        s.u.signal(signal.SIGHUP)
        s.u.wait_for(r"error \[journal\] journal\.database cannot change while running "
                     r"\(.*other\.db\); restart ucsd$", after=n)
        s.u.wait_for(r"plugin 'journal' kept its previous settings", after=n)
        n = len(s.u.lines)
        s.u.write_config({"journal": {"retention": {"window": "2-5"}}})
        s.u.signal(signal.SIGHUP)
        s.u.wait_for(r"info \[journal\] journal configuration applied$", after=n)
        check(s.status()["retention"]["window"] == "2-5", "the new window")
        check(not os.path.exists(os.path.join(s.u.dir, "other.db")), "no second database")
        check(s.u.stop()[0] == 0, "clean exit")
    finally:
        s.close()


if __name__ == "__main__":
    main({"service": service, "migrations": migrations, "newer_schema": newer_schema,
          "rights_matrix": rights_matrix, "update_remove": update_remove, "offline": offline,
          "retention": retention, "retention_nonblocking": retention_nonblocking,
          "kill9_burst": kill9_burst, "stop_pending": stop_pending,
          "cancel_changes": cancel_changes, "private_later": private_later, "bad_append": bad_append, "config": config,
          "nightly": nightly})
