"""tests/integration/test_userdb_file.py - the file-based user store inside ucsd.

The real userdb-file.so with the real dialplan.so (the dialplan tests'
locations, default Starnberg: +49 8151 36856-xxx), driven through the
ucs.userdb service by the svcprobe test plugin: document round trips and
their events, invalid documents refused with nothing lost, corrupt files
moved aside at load, SIGHUP re-reading edited files, pictures scaled, the
password hash kept out of the documents, atomic writes under a kill -9
loop, a removal that takes the user's grants and roles with her, and
documents too large to load again refused.
"""
import glob
import json
import os
import random
import re
import signal
import struct
import threading
import time
import zlib

from harness import SOURCE, Failure, Probe, Ucsd, check, main

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")


def userdb_ucsd(extra=None):
    config = {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                           "default_location": "Starnberg"}}
    config.update(extra or {})
    return Ucsd(plugins=["svcprobe"], tree_plugins=["dialplan", "userdb-file"], config=config)


def store(u, *parts):
    return os.path.join(u.state, "userdb", *parts)


def restart(u):
    """Starts ucsd again in the same directories, with a fresh log."""
    with u.cond:
        u.lines = []
    u.start()


def events(p, settle=0.3):
    """Probe.events(), also when the quiet period ends inside a read."""
    try:
        return p.events(settle)
    except (TimeoutError, OSError):
        out, p.pending = p.pending, []
        return out


def ok_json(p, line):
    return json.loads(p.ok(line))


def put(p, kind, doc):
    return p.cmd(f"ud.put {kind} {json.dumps(doc)}")


def write_doc(path, doc):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))


def png(width, height):
    """A width x height RGB PNG: left half red, right half blue (stdlib only)."""
    row = b"\x00" + b"\xff\x00\x00" * (width // 2) + b"\x00\x00\xff" * (width - width // 2)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is a PNG")
    return struct.unpack(">II", head[16:24])


def round_trip():
    u = userdb_ucsd()
    try:
        u.start()
        u.index(r"info \[userdb-file\] loaded 0 users, 0 groups, 0 computers, 1 profiles from "
                r".*/userdb \(0 corrupt files moved aside, 0 interrupted writes cleaned up\)$")
        p = Probe(u)
        p.ok("sub userdb.changed")
        snap = ok_json(p, "ud.snap")
        check(snap["store"] == "file" and snap["users"] == 0 and snap["profiles"] == 1,
              f"empty store: {snap}")
        gen = snap["generation"]

        check(put(p, "user", {"id": "alice", "login": "Alice", "first_name": "Alice",
                              "last_name": "Smith",
                              "phones": {"business": "08151 3685-620",
                                         "mobile": "0171 1234567", "private": "n/a"},
                              "services": ["chat", "softphone_audio"],
                              "grants": [{"user": "bob", "level": "team"}]}) == "ok",
              "alice stored")
        ev = p.wait_event(r"^event userdb\.changed user:alice ")
        check('"op":"created"' in ev and '"kind":"user"' in ev, ev)
        check(put(p, "user", {"id": "bob", "login": "bob"}) == "ok", "bob stored")
        check(put(p, "group", {"id": "sales", "name": "Sales", "members": ["bob", "alice", "eve"],
                               "leader": "alice", "member_rights": {"level": "team"}}) == "ok",
              "group stored")
        p.wait_event(r"^event userdb\.changed group:sales .*\"op\":\"created\"")
        check(ok_json(p, "ud.snap")["generation"] > gen, "the generation moved")

        # the read form: defaults filled in, derived fields present
        doc = ok_json(p, "ud.get user alice")
        check(doc["identity"] == "alice@localhost", doc)
        check(doc["display_name"] == "Alice Smith", doc)
        check(doc["groups"] == ["sales"], doc)
        check(doc["has_password"] is False and doc["contact_image"] is False, doc)
        check(doc["active"] is True and doc["contact"]["city"] == "", doc)
        check(doc["services"] == ["chat", "softphone_audio"], doc)
        check(doc["grants"] == [{"user": "bob", "level": "team", "extra": []}], doc)
        # the snapshot: canonical numbers, memberships, flags
        user = ok_json(p, "ud.user alice")
        check(user["phones"]["business"] == {"entered": "08151 3685-620",
                                             "canonical": "+4981513685620"}, user)
        check(user["phones"]["mobile"]["canonical"] == "+491711234567", user)
        check(user["phones"]["private"] == {"entered": "n/a", "canonical": ""}, user)
        u.wait_for(r"warning \[userdb-file\] user alice: private number \"n/a\" cannot be "
                   r"normalised \(.*\); kept without a canonical form$")
        check(user["groups"] == ["sales"], user)
        check(user["flags"] == ["active", "bind_business", "bind_business2"], user)
        check(user["services"] == (1 << 1) | (1 << 2), user)
        check(user["grants"] == [{"user": "bob", "rights": {"level": 3, "extra": 0}}], user)
        check(ok_json(p, "ud.login ALICE")["id"] == "alice", "logins are case-insensitive")
        check(p.cmd("ud.login alicia").startswith("err ENOENT"), "unknown login")
        group = ok_json(p, "ud.group sales")
        check(group["members"] == ["bob", "alice", "eve"] and group["leader"] == "alice", group)
        check(group["member_rights"] == {"level": 3, "extra": 0}, group)
        check(ok_json(p, "ud.user bob")["groups"] == ["sales"], "bob's groups")

        # what is on disk is the stored form, one file per object
        with open(store(u, "users", "alice.json")) as f:
            on_disk = json.load(f)
        check(on_disk["identity"] == "" and on_disk["display_name"] == "", on_disk)
        check("groups" not in on_disk and "has_password" not in on_disk, on_disk)
        check(oct(os.stat(store(u, "users", "alice.json")).st_mode & 0o777) == "0o600",
              "documents are private")

        # the read form written back changes nothing: no write, no event
        events(p)
        mtime = os.stat(store(u, "users", "alice.json")).st_mtime_ns
        check(p.cmd("ud.put user " + json.dumps(doc)) == "ok", "read form written back")
        check(os.stat(store(u, "users", "alice.json")).st_mtime_ns == mtime, "no rewrite")
        check(events(p) == [], "no event for an unchanged document")
        # an update
        doc["contact"]["city"] = "Starnberg"
        check(p.cmd("ud.put user " + json.dumps(doc)) == "ok", "update")
        check('"op":"updated"' in p.wait_event(r"^event userdb\.changed user:alice "), "updated")
        check(ok_json(p, "ud.user alice")["contact"]["city"] == "Starnberg", "city")

        # computers, profiles, settings
        check(put(p, "computer", {"id": "pc1", "name": "PC1", "lines": ["*"],
                                  "last_logon": 5}) == "ok", "computer")
        check(ok_json(p, "ud.computer pc1")["last_logon"] == 0, "last_logon is the store's")
        p.ok("ud.logon pc1 alice 1700000000")
        comp = ok_json(p, "ud.get computer pc1")
        check(comp["last_logon"] == 1700000000 and comp["last_user"] == "alice", comp)
        check(comp["name"] == "PC1" and comp["lines"] == ["*"], comp)
        check(p.cmd("ud.logon pc9 alice 1").startswith("err ENOENT"), "unknown computer")
        check(put(p, "profile", {"id": "sales", "settings": {"theme": "dark"}}) == "ok",
              "profile")
        check(ok_json(p, "ud.profile sales")["settings"] == {"theme": "dark"}, "profile")
        check(ok_json(p, "ud.get profile default")["name"] == "default", "default profile")
        check(put(p, "settings", {"services": ["chat"], "restrictions": {"chat_off": True},
                                  "rights": {"level": "business"}}) == "ok", "settings")
        p.wait_event(r"^event userdb\.changed settings: ")
        settings = ok_json(p, "ud.settings")
        check(settings["services"] == 2 and settings["restrictions"] == 4, settings)
        check(settings["rights"]["level"] == 2 and settings["flags"] == 8, settings)
        check(ok_json(p, "ud.get settings")["restrictions"]["chat_off"] is True, "settings doc")

        # removal
        check(p.cmd("ud.remove user bob") == "ok", "bob removed")
        check('"op":"deleted"' in p.wait_event(r"^event userdb\.changed user:bob "), "deleted")
        check(not os.path.exists(store(u, "users", "bob.json")), "bob's file is gone")
        check(p.cmd("ud.get user bob").startswith("err ENOENT"), "bob is gone")
        check(p.cmd("ud.remove user bob").startswith("err ENOENT"), "twice")
        check(ok_json(p, "ud.group sales")["members"] == ["alice", "eve"],
              "bob left his group with his removal; eve, no user yet, stays")
        check(p.cmd("ud.remove profile default").startswith("err EPERM"), "default stays")
        check(p.cmd("ud.remove settings x").startswith("err EINVAL"), "settings stay")
        check(ok_json(p, "ud.list user") == ["alice"], "one user left")

        # everything survives a restart
        rc, _ = u.stop()
        check(rc == 0, "clean exit")
        restart(u)
        u.wait_for(r"loaded 1 users, 1 groups, 1 computers, 2 profiles from")
        p = Probe(u)
        check(ok_json(p, "ud.user alice")["contact"]["city"] == "Starnberg", "after restart")
        check(ok_json(p, "ud.computer pc1")["last_user"] == "alice", "logon kept")
        check(ok_json(p, "ud.settings")["restrictions"] == 4, "settings kept")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def invalid_documents():
    u = userdb_ucsd()
    try:
        u.start()
        p = Probe(u)
        check(put(p, "user", {"id": "alice", "login": "alice", "email": "a@x.org"}) == "ok",
              "alice")
        with open(store(u, "users", "alice.json")) as f:
            before = f.read()
        p.ok("sub userdb.changed")
        cases = [
            ("user", '{"id":"alice","login":"alice","colour":"red"}',
             "err EINVAL colour: unknown key"),
            ("user", '{"id":"alice","login":"alice","phones":{"work":"1"}}',
             "err EINVAL phones.work: unknown key"),
            ("user", '{"id":"alice","login":"alice","phones":{"mobile":17}}',
             "err EINVAL phones.mobile: expected a string, got an integer"),
            ("user", '{"id":"alice","login":"bob"}',
             'err EINVAL id: must be the login in lower case ("bob")'),
            ("user", '{"id":"Alice","login":"Alice"}',
             'err EINVAL id: "Alice" is no valid id (1-63 characters of a-z 0-9 . _ @ -)'),
            ("user", '{"login":"alice"}', "err EINVAL id: required"),
            ("user", '{"id":"alice","login":"alice","services":["fly"]}',
             'err EINVAL services[0]: unknown service "fly"'),
            ("user", '{"id":"alice","login":"alice","grants":[{"user":"bob","level":"boss"}]}',
             'err EINVAL grants[0].level: "boss" is not one of blocked, public, business, '
             'team, personal'),
            ("user", '{"id":"alice","login":"alice","password_hash":"$x"}',
             "err EINVAL password_hash: not part of the document (set through the store)"),
            ("user", '{"id":"alice","login":"alice","has_password":true}',
             "err EINVAL has_password: is false in the store (passwords are set through "
             "set_password_hash)"),
            ("user", '{"id":"alice","login":"alice","contact_image":true}',
             "err EINVAL contact_image: is false in the store (pictures are set through "
             "set_picture)"),
            ("user", '{"id":"alice","login":"alice","groups":["sales"]}',
             "err EINVAL groups: differs from the store (membership is kept on the groups' "
             "member lists)"),
            ("user", '{"id":"alice","login":"alice","dn":"cn=alice"}',
             "err EINVAL dn: only directory objects have a DN"),
            ("user", '{"id":"alice","login":"alice"', "err EINVAL document: invalid JSON at line 1"),
            ("user", '[1,2]', "err EINVAL document: expected a JSON object"),
            ("group", '{"id":"g","members":["a","a"]}',
             'err EINVAL members[1]: "a" is listed twice'),
            ("group", '{"id":"g","call_group":"loud"}',
             'err EINVAL call_group: "loud" is not one of off, sip, voice'),
            ("computer", '{"id":"pc","lines":["*","110"]}',
             'err EINVAL lines[0]: "*" (every line) must be the only entry'),
            ("profile", '{"id":"p","settings":"dark"}',
             "err EINVAL settings: expected an object, got a string"),
            ("settings", '{"rights":{"level":"team","extra":["fly"]}}',
             'err EINVAL rights.extra[0]: unknown right "fly"'),
            ("settings", '{"id":"x"}', "err EINVAL id: unknown key"),
        ]
        for kind, text, want in cases:
            got = p.cmd(f"ud.put {kind} {text}")
            check(got.startswith(want), f"{kind} {text}: got {got!r}, want {want!r}")
        check(p.cmd("ud.put gadget {}").startswith("err EINVAL usage"), "unknown kind")
        check(p.cmd("ud.get user ../../etc/passwd").startswith("err ENOENT"), "no traversal")
        # nothing changed, nothing was announced, the server runs on
        check(events(p) == [], "no events for refused documents")
        with open(store(u, "users", "alice.json")) as f:
            check(f.read() == before, "alice's file is untouched")
        check(ok_json(p, "ud.get user alice")["email"] == "a@x.org", "alice unchanged")
        check(ok_json(p, "ud.snap")["users"] == 1, "nothing added")
        check(sorted(os.listdir(store(u, "users"))) == ["alice.json"], "no stray files")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def corrupt_files_moved_aside():
    u = userdb_ucsd()
    try:
        write_doc(store(u, "users", "alice.json"), {"id": "alice", "login": "alice"})
        write_doc(store(u, "users", "bob.json"), {"id": "bob", "login": "bob"})
        write_doc(store(u, "users", "torn.json"), '{"id": "torn", "login": "to')
        write_doc(store(u, "users", "wrong.json"), {"id": "wrong", "login": "wrong", "x": 1})
        write_doc(store(u, "groups", "g.json"), {"id": "g", "members": ["alice"]})
        write_doc(store(u, "users", ".alice.json.tmp-77-1"), '{"id": "alice", "lo')
        write_doc(store(u, "settings.json"), {"services": ["chat"]})
        u.start()
        u.index(r"error \[userdb-file\] .*/users/torn\.json: invalid user document: document: "
                r"invalid JSON at line 1 column \d+: .*; moved aside to "
                r".*/users/torn\.json\.corrupt-\d+$")
        u.index(r"error \[userdb-file\] .*/users/wrong\.json: invalid user document: x: "
                r"unknown key; moved aside to .*/users/wrong\.json\.corrupt-\d+$")
        u.index(r"warning \[userdb-file\] removed .*/users/\.alice\.json\.tmp-77-1 \(left by an "
                r"interrupted write\)$")
        u.index(r"info \[userdb-file\] loaded 2 users, 1 groups, 0 computers, 1 profiles from "
                r".* \(2 corrupt files moved aside, 1 interrupted writes cleaned up\)$")
        p = Probe(u)
        check(ok_json(p, "ud.list user") == ["alice", "bob"], "the valid users loaded")
        check(ok_json(p, "ud.user alice")["groups"] == ["g"], "groups loaded")
        check(ok_json(p, "ud.settings")["services"] == 2, "settings loaded")
        status = ok_json(p, "ud.status")
        check("2 corrupt document files moved aside" in status["message"], status)
        files = sorted(os.listdir(store(u, "users")))
        check(files[:2] == ["alice.json", "bob.json"], files)
        check(len([f for f in files if re.match(r"torn\.json\.corrupt-\d+$", f)]) == 1, files)
        check(len([f for f in files if re.match(r"wrong\.json\.corrupt-\d+$", f)]) == 1, files)
        check(not any(".tmp-" in f for f in files), files)
        with open(glob.glob(store(u, "users", "torn.json.corrupt-*"))[0]) as f:
            check(f.read() == '{"id": "torn", "login": "to', "the corrupt file is kept as it was")
        # a corrupt file does not block a new object of that id
        check(put(p, "user", {"id": "torn", "login": "torn"}) == "ok", "torn re-created")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def sighup_reload():
    u = userdb_ucsd()
    try:
        for name in ("alice", "bob", "dave"):
            write_doc(store(u, "users", name + ".json"), {"id": name, "login": name})
        u.start()
        p = Probe(u)
        p.ok("sub userdb.changed")
        gen = ok_json(p, "ud.snap")["generation"]
        # an operator edits the files
        write_doc(store(u, "users", "alice.json"),
                  {"id": "alice", "login": "alice", "phones": {"business": "220"}})
        write_doc(store(u, "users", "carol.json"), {"id": "carol", "login": "carol"})
        os.unlink(store(u, "users", "bob.json"))
        write_doc(store(u, "users", "dave.json"), '{"id": "dave", ')
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"info \[userdb-file\] reloaded 2 users, 0 groups, 0 computers, 1 profiles "
                   r"from .* \(1 corrupt files moved aside, 0 interrupted writes cleaned up\)$",
                   after=n)
        u.index(r"error \[userdb-file\] .*/users/dave\.json: invalid user document")
        got = {}
        for _ in range(4):
            ev = p.wait_event(r"^event userdb\.changed ")
            key = ev.split()[2]
            got[key] = json.loads(ev.split(" ", 3)[3])["op"]
        check(got == {"user:alice": "updated", "user:bob": "deleted", "user:carol": "created",
                      "user:dave": "deleted"}, got)
        check(ok_json(p, "ud.list user") == ["alice", "carol"], "the store follows the files")
        check(ok_json(p, "ud.user alice")["phones"]["business"]["canonical"] ==
              "+49815136856220", "edited number normalised")
        check(ok_json(p, "ud.snap")["generation"] > gen, "generation moved")
        # a second SIGHUP with nothing changed publishes nothing
        events(p)
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"reloaded 2 users", after=n)
        check(events(p) == [], "no events without changes")
        # many changes at once: one "reloaded" event
        for i in range(300):
            write_doc(store(u, "users", f"u{i}.json"), {"id": f"u{i}", "login": f"u{i}"})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"reloaded 302 users", after=n)
        ev = p.wait_event(r"^event userdb\.changed ")
        check(re.match(r'event userdb\.changed - \{"kind":null,"op":"reloaded",', ev), ev)
        check(ok_json(p, "ud.snap")["users"] == 302, "302 users")
        check(events(p) == [], "only the one event")
        # bind_business off: applied with the re-read, every user rebuilt
        flags = ok_json(p, "ud.user alice")["flags"]
        check("bind_business" in flags and "bind_business2" in flags, str(flags))
        u.write_config({"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                                     "default_location": "Starnberg"},
                        "userdb-file": {"bind_business": False}})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"reloaded 302 users", after=n)
        ev = p.wait_event(r"^event userdb\.changed ")
        check(re.match(r'event userdb\.changed - \{"kind":null,"op":"reloaded",', ev), ev)
        for who in ("alice", "u7"):
            flags = ok_json(p, f"ud.user {who}")["flags"]
            check("bind_business" not in flags and "bind_business2" in flags,
                  f"{who}: {flags}")
        check(not u.has(r"take effect after a restart"), "no restart needed")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def pictures():
    u = userdb_ucsd()
    try:
        u.start()
        p = Probe(u)
        check(put(p, "user", {"id": "alice", "login": "alice"}) == "ok", "alice")
        img = os.path.join(u.dir, "in.png")
        with open(img, "wb") as f:
            f.write(png(300, 150))
        bad = os.path.join(u.dir, "bad.png")
        with open(bad, "wb") as f:
            f.write(b"this is not an image at all")
        p.ok("sub userdb.changed")
        p.ok(f"ud.picture alice 0 {img}")
        p.wait_event(r"^event userdb\.changed user:alice ")
        p.ok(f"ud.picture alice 1 {img}")
        user = ok_json(p, "ud.user alice")
        contact, profile = user["contact_image"], user["profile_picture"]
        check(contact == store(u, "pictures", "alice.contact.png"), contact)
        check(profile == store(u, "pictures", "alice.profile.png"), profile)
        check(png_size(contact) == (96, 96), f"contact image {png_size(contact)}")
        check(png_size(profile) == (400, 200), f"profile picture {png_size(profile)}")
        doc = ok_json(p, "ud.get user alice")
        check(doc["contact_image"] is True and doc["profile_picture"] is True, doc)
        check(p.cmd("ud.put user " + json.dumps(doc)) == "ok", "read form written back")
        check(p.cmd(f"ud.picture alice 0 {bad}").startswith("err EINVAL"), "no image")
        check(png_size(contact) == (96, 96), "the old picture stays")
        check(p.cmd(f"ud.picture nobody 0 {img}").startswith("err ENOENT"), "unknown user")
        check(p.cmd(f"ud.picture alice 2 {img}").startswith("err EINVAL"), "which")
        p.ok("ud.picture alice 0 -")
        check(not os.path.exists(contact), "removed")
        check(ok_json(p, "ud.user alice")["contact_image"] == "", "no contact image")
        check(ok_json(p, "ud.get user alice")["contact_image"] is False, "flag cleared")
        # pictures go with their user
        check(p.cmd("ud.remove user alice") == "ok", "removed")
        check(not os.path.exists(profile), "the profile picture went with her")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def passwords():
    u = userdb_ucsd()
    try:
        u.start()
        p = Probe(u)
        check(put(p, "user", {"id": "alice", "login": "alice"}) == "ok", "alice")
        phc = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
        check(p.cmd("ud.hash alice").startswith("err ENOENT"), "no password yet")
        p.ok(f"ud.passwd alice {phc}")
        check(p.ok("ud.hash alice") == phc, "the hash")
        doc = p.ok("ud.get user alice")
        check(phc not in doc and "c2FsdHNhbHQ" not in doc, "never in the document")
        check(json.loads(doc)["has_password"] is True, doc)
        check("has_password" in ok_json(p, "ud.user alice")["flags"], "flag")
        check(p.cmd("ud.put user " + doc) == "ok", "read form written back")
        check(p.ok("ud.hash alice") == phc, "the hash survives a put")
        check(p.cmd('ud.put user {"id":"alice","login":"alice","has_password":false}')
              .startswith("err EINVAL has_password"), "cannot clear it through a put")
        check(p.cmd("ud.passwd alice plain-text").startswith("err EINVAL"), "PHC only")
        check(p.cmd(f"ud.passwd nobody {phc}").startswith("err ENOENT"), "unknown user")
        with open(store(u, "users", "alice.json")) as f:
            check(json.load(f)["password_hash"] == phc, "stored with the user")
        check(phc not in u.log(), "never logged")
        u.stop()
        restart(u)
        p = Probe(u)
        check(p.ok("ud.hash alice") == phc, "after a restart")
        p.ok("ud.passwd alice -")
        check(p.cmd("ud.hash alice").startswith("err ENOENT"), "cleared")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def removal_drops_references():
    """A removed user takes her grants and group roles with her: a new user
    created with the same id (the login, so reuse is likely) has none."""
    u = userdb_ucsd()
    try:
        u.start()
        p = Probe(u)
        for doc in ({"id": "alice", "login": "alice"},
                    {"id": "bob", "login": "bob",
                     "grants": [{"user": "alice", "level": "personal",
                                 "extra": ["set_presence"]}]},
                    {"id": "carol", "login": "carol",
                     "grants": [{"user": "alice", "level": "team"}, {"user": "bob"}]}):
            check(put(p, "user", doc) == "ok", f"user {doc['id']}")
        check(put(p, "group", {"id": "sales", "members": ["alice", "bob"], "leader": "alice",
                               "deputy": "alice", "leader_rights": {"level": "personal"}})
              == "ok", "sales")
        check(put(p, "group", {"id": "wall", "monitor_groups": ["sales"],
                               "favourite_groups": ["sales"]}) == "ok", "wall")
        check(ok_json(p, "ud.user alice")["groups"] == ["sales"], "alice is in sales")
        p.ok("sub userdb.changed")
        gen = ok_json(p, "ud.snap")["generation"]
        check(p.cmd("ud.remove user alice") == "ok", "alice removed")
        got = {}
        for _ in range(4):
            ev = p.wait_event(r"^event userdb\.changed ")
            got[ev.split()[2]] = json.loads(ev.split(" ", 3)[3])
        check({k: v["op"] for k, v in got.items()} ==
              {"user:alice": "deleted", "user:bob": "updated", "user:carol": "updated",
               "group:sales": "updated"}, got)
        check(len({v["generation"] for v in got.values()}) == 1, f"one snapshot swap: {got}")
        check(ok_json(p, "ud.snap")["generation"] == gen + 1, "one generation")
        check(events(p) == [], "nothing else")
        check(ok_json(p, "ud.user bob")["grants"] == [], "bob's grant went")
        check(ok_json(p, "ud.user carol")["grants"] ==
              [{"user": "bob", "rights": {"level": 0, "extra": 0}}], "carol's other grant stays")
        sales = ok_json(p, "ud.group sales")
        check(sales["members"] == ["bob"] and sales["leader"] == "" and sales["deputy"] == "",
              sales)
        for name in ("bob", "carol"):
            with open(store(u, "users", name + ".json")) as f:
                check("alice" not in f.read(), f"{name}.json names her no more")
        with open(store(u, "groups", "sales.json")) as f:
            check("alice" not in f.read(), "sales.json names her no more")

        # a new alice: nothing of the old one's, also after a restart
        check(put(p, "user", {"id": "alice", "login": "Alice"}) == "ok", "a new alice")

        def nothing_for_alice(p):
            check(ok_json(p, "ud.user alice")["groups"] == [], "no group")
            for name in ("bob", "carol"):
                check(all(g["user"] != "alice" for g in ok_json(p, f"ud.user {name}")["grants"]),
                      f"{name} grants her nothing")
            sales = ok_json(p, "ud.group sales")
            check("alice" not in sales["members"] and "alice" not in
                  (sales["leader"], sales["deputy"]), sales)
        nothing_for_alice(p)
        check(u.stop()[0] == 0, "clean exit")
        restart(u)
        p = Probe(u)
        nothing_for_alice(p)

        # a group: out of the monitor and favourites lists
        check(p.cmd("ud.remove group sales") == "ok", "sales removed")
        wall = ok_json(p, "ud.group wall")
        check(wall["monitor_groups"] == [] and wall["favourite_groups"] == [], wall)
        check(put(p, "group", {"id": "sales"}) == "ok", "a new sales")
        check(ok_json(p, "ud.group wall")["monitor_groups"] == [], "not in wall's monitor")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def euro_user(uid, lists):
    """A user document of 1 MiB of euro signs per list (3 bytes each in UTF-8,
    6 as the \\u20ac escape the store writes)."""
    doc = {"id": uid, "login": uid}
    for key in ("other_numbers", "other_lines")[:lists]:
        doc[key] = ["\u20ac" * 341] * 1024
    return json.dumps(doc, ensure_ascii=False).encode()


def oversized_document():
    """A document the service accepts must load again: one that is within
    the limit as the client sends it but over it as stored is refused,
    instead of being written and then moved aside (deleting the user) by the
    next SIGHUP."""
    u = userdb_ucsd()
    try:
        u.start()
        p = Probe(u)
        check(put(p, "user", {"id": "alice", "login": "alice", "email": "a@x"}) == "ok", "alice")
        with open(store(u, "users", "alice.json"), "rb") as f:
            before = f.read()
        big = os.path.join(u.dir, "big.json")
        text = euro_user("alice", 2)
        check(2 * 1024 * 1024 < len(text) < 4 * 1024 * 1024, f"{len(text)} bytes")
        with open(big, "wb") as f:
            f.write(text)
        p.ok("sub userdb.changed")
        got = p.cmd(f"ud.putfile user {big}")
        check(re.match(r"err EINVAL document: \d+ bytes as stored \(indented, non-ASCII "
                       r"characters as \\u escapes\), more than the limit of 4194304 bytes; "
                       r"nothing changed$", got), got)
        with open(store(u, "users", "alice.json"), "rb") as f:
            check(f.read() == before, "alice's file is untouched")
        with open(big, "wb") as f:
            f.write(euro_user("bob", 2))
        check(p.cmd(f"ud.putfile user {big}").startswith("err EINVAL document: "), "bob refused")
        check(not os.path.exists(store(u, "users", "bob.json")), "no file for bob")
        # half as much fits, and is what a reload finds again
        with open(big, "wb") as f:
            f.write(euro_user("carol", 1))
        check(p.cmd(f"ud.putfile user {big}") == "ok", "carol fits")
        check(os.path.getsize(store(u, "users", "carol.json")) <= 4 * 1024 * 1024, "as stored")
        ev = p.wait_event(r"^event userdb\.changed ")
        check("user:carol" in ev, ev)
        check(events(p) == [], "no event for the refused documents")
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"info \[userdb-file\] reloaded 2 users, 0 groups, 0 computers, 1 profiles "
                   r"from .* \(0 corrupt files moved aside, 0 interrupted writes cleaned up\)$",
                   after=n)
        check(events(p) == [], "the reload changed nothing")
        check(ok_json(p, "ud.list user") == ["alice", "carol"], "both still there")
        check(ok_json(p, "ud.get user alice")["email"] == "a@x", "alice as she was")
        check(len(ok_json(p, "ud.user carol")["other_numbers"]) == 1024, "carol's numbers")
        check(not glob.glob(store(u, "users", "*.corrupt-*")), "nothing moved aside")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


class Writer(threading.Thread):
    """Writes version after version of OBJECTS users through svcprobe and
    records each version ucsd acknowledged, until the connection dies."""

    def __init__(self, probe, start_version, objects):
        super().__init__(daemon=True)
        self.p = probe
        self.v = start_version
        self.objects = objects
        self.acked = {}

    def run(self):
        try:
            while True:
                for i in range(self.objects):
                    doc = {"id": f"u{i}", "login": f"u{i}", "first_name": str(self.v),
                           "other_lines": [f"line{k}" for k in range(20)]}
                    if put(self.p, "user", doc) != "ok":
                        return
                    self.acked[f"u{i}"] = self.v
                self.v += 1
        except (Failure, OSError):
            return


def kill9_loop():
    """kill -9 while a client writes: no corrupt or lost object, ever."""
    u = userdb_ucsd()
    objects, acked, version = 6, {}, 1
    try:
        for rnd in range(20):
            restart(u)
            loaded = u.lines[u.index(r"\[userdb-file\] loaded")]
            check("(0 corrupt files moved aside" in loaded, f"round {rnd}: {loaded}")
            p = Probe(u)
            # everything acknowledged before the last kill is there, at least as new
            for oid, v in acked.items():
                got = int(ok_json(p, f"ud.get user {oid}")["first_name"])
                check(got >= v, f"round {rnd}: {oid} has version {got}, {v} was acknowledged")
            w = Writer(p, version, objects)
            w.start()
            time.sleep(random.uniform(0.05, 0.3))
            u.proc.kill()  # SIGKILL
            u.proc.wait()
            u._drain()  # the whole log of this round (and no sanitizer report)
            w.join(5)
            p.close()
            for oid, v in w.acked.items():
                acked[oid] = max(acked.get(oid, 0), v)
            version = w.v + 1
            check(not glob.glob(store(u, "users", "*.corrupt-*")), "no corrupt file")
        check(len(acked) == objects and min(acked.values()) > 1, f"writes happened: {acked}")
        restart(u)
        p = Probe(u)
        for oid, v in acked.items():
            got = int(ok_json(p, f"ud.get user {oid}")["first_name"])
            check(got >= v, f"{oid} has version {got}, {v} was acknowledged")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (round_trip, invalid_documents, corrupt_files_moved_aside,
                                  sighup_reload, pictures, passwords, kill9_loop,
                                  removal_drops_references, oversized_document)})
