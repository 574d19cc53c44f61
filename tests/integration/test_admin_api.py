"""tests/integration/test_admin_api.py - the administration protocol.

The real ucsd with dialplan (the test locations, default Starnberg),
userdb-file, auth, presence and admin-api, spoken to over WebSocket with
python3-websockets (tests/integration/wsclient.py, RpcClient): the first
start's random administrator password, configured accounts, login failures
and the lockout, requests before login, every CRUD kind with the issue's
param names and the rights they really grant (rights.explain), the errors
with their reasons and paths, the global restrictions, the status monitor,
the event log (query and subscription), config validate/apply, the restart
(exec: same pid), export and import into a fresh server, the audit trail
(log lines and admin.audit bus messages through svcprobe), the dialplan
checker and the locations.

admin-api listens on a port the kernel picks (port 0) and logs it.
"""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time

from harness import BUILD, SOURCE, Failure, Probe, Ucsd, check, main
from wsclient import RawClient, RpcClient, RpcError

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
UCS_PASSWD = os.path.join(BUILD, "plugins", "auth", "ucs-passwd")
TREE = ["dialplan", "userdb-file", "auth", "presence", "admin-api"]
# cheap hashes (about 1 ms) and no delays between failures
AUTH = {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1,
        "delay_base_ms": 0}
PORT_LINE = r"info \[admin-api\] administration on 127\.0\.0\.1 port (\d+) \(plain\), interface 0"


def hash_password(password):
    r = subprocess.run([UCS_PASSWD, "hash", "--memory", "1024", "--iterations", "1"],
                       input=password + "\n", capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"ucs-passwd hash: {r.stderr}")
    return r.stdout.strip()


class Admin:
    """ucsd with the admin interface; .port after start()."""

    def __init__(self, admin=None, auth=None, probe=False, locations_dir=None, clients=False,
                 extra_tree=(), disable=()):
        section = {"interfaces": [{"bind": "127.0.0.1", "port": 0}]}
        section.update(admin or {})
        auth_section = dict(AUTH)
        auth_section.update(auth or {})
        self.config = {"dialplan": {"config_dir": locations_dir or FIXTURES, "data_dir": DATA,
                                    "default_location": "Starnberg"},
                       "auth": auth_section, "admin-api": section}
        if clients:
            self.config["client-api"] = {"interfaces": [{"bind": "127.0.0.1", "port": 0}]}
            extra_tree = list(extra_tree) + ["client-api"]
        if disable:
            self.config["plugins"] = {"disabled": list(disable)}
        self.u = Ucsd(plugins=["svcprobe"] if probe else [],
                      tree_plugins=[p for p in TREE if p not in disable] + list(extra_tree),
                      config=self.config)
        self.port = None
        self.clients = []

    def start(self, after=0):
        self.u.start()
        self.wait_port(after)
        return self

    def wait_port(self, after=0):
        i = self.u.wait_for(PORT_LINE, after=after)
        self.port = int(re.search(PORT_LINE, self.u.lines[i]).group(1))
        return self.port

    def restart(self):
        """Stops and starts again with a fresh log."""
        self.close_clients()
        rc, _ = self.u.stop()
        check(rc == 0, f"clean exit: {rc}\n{self.u.log()}")
        with self.u.cond:
            self.u.lines = []
        return self.start()

    def client(self):
        r = RpcClient(f"ws://127.0.0.1:{self.port}/ws")
        self.clients.append(r)
        return r

    def password_file(self):
        return os.path.join(self.u.state, "admin-password")

    def admin_password(self):
        with open(self.password_file()) as f:
            return f.read().strip()

    def login(self, login="admin", password=None):
        r = self.client()
        res = r.call("admin.login", {"login": login,
                                     "password": password or self.admin_password()})
        check(res["login"] == login.lower(), f"logged in: {res}")
        return r

    def wait_admin(self):
        """The first start's account is created on the pool: wait for it."""
        self.u.wait_for(r"warning \[admin-api\] no administrator account configured: created "
                        r"'admin'")

    def close_clients(self):
        for r in self.clients:
            r.close()
        self.clients = []

    def close(self):
        """A test that got here without an exception stops ucsd cleanly, so
        the sanitizers' leak check runs and the exit status counts."""
        failing = sys.exc_info()[0] is not None
        try:
            self.close_clients()
            if not failing and self.u.alive():
                rc, _ = self.u.stop()
                check(rc == 0, f"clean exit: {rc}\n{self.u.log()[-3000:]}")
        finally:
            self.u.close()


def reason(err):
    return (err.get("data") or {}).get("reason")


def expect_error(r, method, params, want, what=None):
    err = r.call_error(method, params)
    check(reason(err) == want, f"{what or method}: expected {want}, got {err}")
    return err


def logged_in(**kw):
    a = Admin(**kw).start()
    a.wait_admin()
    return a, a.login()


# ---- accounts ----

def first_start_password():
    a = Admin()
    try:
        a.start()
        a.wait_admin()
        path = a.password_file()
        st = os.stat(path)
        check(stat.S_IMODE(st.st_mode) == 0o600, f"mode {oct(st.st_mode)}")
        pw = a.admin_password()
        check(re.fullmatch(r"[A-Za-z0-9_-]{32}", pw) is not None, f"32 base64url characters: {pw}")
        check(pw not in a.u.log(), "the password is not in the log")
        a.u.wait_for(rf"warning \[admin-api\] no administrator account configured: created 'admin' "
                  rf"with a random password in {re.escape(path)}$")
        r = a.login("admin", pw)
        # a second start keeps the file and the account
        with open(path) as f:
            before = (f.read(), os.stat(path).st_ino, os.stat(path).st_mtime_ns)
        a.restart()
        r = a.login("admin", pw)
        with open(path) as f:
            after = (f.read(), os.stat(path).st_ino, os.stat(path).st_mtime_ns)
        check(before == after, "the second start did not touch admin-password")
        check(not a.u.has("no administrator account configured"), "nothing created again")
        # the account gone, the file kept: the account comes back with the file's password
        a.close_clients()
        a.u.stop()
        os.unlink(os.path.join(a.u.state, "auth", "admins.json"))
        with a.u.cond:
            a.u.lines = []
        a.start()
        a.u.wait_for(rf"warning \[admin-api\] no administrator account configured: created "
                     rf"'admin' with the password kept in {re.escape(path)}$")
        a.login("admin", pw)
        check(pw not in a.u.log(), "the password is not in the log")
        check(a.u.stop()[0] == 0, "clean exit")
    finally:
        a.close()


def configured_accounts():
    a = Admin(admin={"accounts": [{"login": "Root", "password_hash": hash_password("cfg-secret-1")},
                                  {"login": "ops", "password_hash": hash_password("ops-secret-1")}]})
    try:
        a.start()
        a.u.wait_for(r"info \[auth\] 2 administrator accounts from the configuration$")
        check(not os.path.exists(a.password_file()), "no random account next to configured ones")
        r = a.login("root", "cfg-secret-1")
        a.login("ROOT", "cfg-secret-1")
        a.login("ops", "ops-secret-1")
        expect_error(a.client(), "admin.login", {"login": "root", "password": "ops-secret-1"},
                     "auth_failed")
        err = expect_error(r, "admin.passwd", {"password": "a-new-password", "old_password":
                                               "cfg-secret-1"}, "read_only")
        check("admin-api.accounts" in err["message"], err)
        a.login("root", "cfg-secret-1")  # unchanged
        check(a.u.stop()[0] == 0, "clean exit")
    finally:
        a.close()
    # a malformed hash is a configuration error naming the entry and its place
    a = Admin(admin={"accounts": [{"login": "root", "password_hash": "not-a-hash"}]})
    try:
        a.u.start(wait=False)
        a.u.wait_for(r"error \[admin-api\] \S+ucsd\.json:\d+:\d+: admin-api\.accounts\[0\] "
                     r"\(root\): password_hash is not an argon2id PHC string")
        check(not a.u.has(r"administration on 127\.0\.0\.1"), "no admin interface opened")
        # a critical plugin that cannot start stops ucsd with a failure status
        check(a.u.wait_exit() != 0, "startup failed")
    finally:
        a.close()


def revoked_sessions():
    """An account removed from admin-api.accounts (config.apply) loses its
    open sessions (4003); admin.passwd closes the account's other sessions
    and removes the first start's password file."""
    a = Admin(admin={"accounts": [
        {"login": "root", "password_hash": hash_password("cfg-secret-1")},
        {"login": "ops", "password_hash": hash_password("ops-secret-1")}]})
    try:
        a.start()
        root = a.login("root", "cfg-secret-1")
        ops = a.login("ops", "ops-secret-1")
        cur = root.call("config.get")
        op = json.load(open(cur["file"]))
        op["admin-api"]["accounts"] = [x for x in op["admin-api"]["accounts"]
                                       if x["login"] == "root"]
        check(root.call("config.apply", {"config": op})["applied"], "applied")
        code, why = ops.wait_closed(timeout=5)
        check(code == 4003 and "removed" in why, (code, why))
        # the close can reach the client before the log line reaches the harness
        a.u.wait_for(r"info \[admin-api\] session of 'ops' from 127\.0\.0\.1 closed: the "
                     r"account was removed from the configuration$")
        check([x["login"] for x in root.call("status.get")["admin_sessions"]] == ["root"],
              "root stays")
        expect_error(a.client(), "admin.login", {"login": "ops", "password": "ops-secret-1"},
                     "auth_failed")
    finally:
        a.close()
    a, r = logged_in()
    try:
        pw = a.admin_password()
        other = a.login(password=pw)
        check(r.call("admin.passwd", {"password": "a-brand-new-pw", "old_password": pw}) ==
              {"changed": True}, "changed")
        code, why = other.wait_closed(timeout=5)
        check(code == 4003 and "password was changed" in why, (code, why))
        check(r.call("status.get")["admin_sessions"], "the changing session stays")
        check(not os.path.exists(a.password_file()), "the dead password's file is gone")
        a.u.wait_for(r"info \[admin-api\] removed \S+admin-password: the password of 'admin' "
                  r"was changed$")
        a.login(password="a-brand-new-pw")
    finally:
        a.close()


def password_file_mode():
    """The first start's file is used only when private and ucsd's own;
    configured accounts next to a left-over file get a warning."""
    a = Admin()
    try:
        a.start()
        a.wait_admin()
        path = a.password_file()
        pw = a.admin_password()
        a.close_clients()
        a.u.stop()
        os.unlink(os.path.join(a.u.state, "auth", "admins.json"))
        os.chmod(path, 0o644)
        with a.u.cond:
            a.u.lines = []
        a.start()
        a.u.wait_for(r"error \[admin-api\] no administrator account configured, and none "
                     r"could be created: \S+admin-password is mode 0644, owner uid \d+: not "
                     r"used, its password may be known")
        expect_error(a.client(), "admin.login", {"login": "admin", "password": pw},
                     "auth_failed", "no account from a readable file")
    finally:
        a.close()
    a = Admin()
    try:
        a.start()
        a.wait_admin()
        a.close_clients()
        a.u.stop()
        a.config["admin-api"]["accounts"] = [{"login": "root",
                                              "password_hash": hash_password("cfg-secret-1")}]
        a.u.write_config(a.config)
        with a.u.cond:
            a.u.lines = []
        a.start()
        a.u.wait_for(r"warning \[admin-api\] admin-api\.accounts is configured, but "
                     r"\S+admin-password still holds the first start's password")
    finally:
        a.close()


def params_refused():
    """Empty passwords, the path of invalid params, one validator for the
    configured accounts (config.validate refuses what a start refuses)."""
    a, r = logged_in()
    try:
        err = expect_error(a.client(), "admin.login", {"login": "admin", "password": ""},
                           "invalid_params")
        check(err["data"].get("path") == "password", err)
        pw = a.admin_password()
        err = expect_error(r, "admin.passwd", {"password": "a-brand-new-pw", "old_password": ""},
                           "invalid_params")
        check(err["data"].get("path") == "old_password", err)
        err = expect_error(r, "admin.passwd", {"password": "short", "old_password": pw},
                           "invalid_params")
        check(err["data"].get("path") == "password", err)
        err = expect_error(r, "events.query", {"level": "loud"}, "invalid_params")
        check(err["data"].get("path") == "level", err)
        err = expect_error(r, "events.query", {"since": "yesterday"}, "invalid_params")
        check(err["data"].get("path") == "since", err)
        cur = r.call("config.get")
        op = json.load(open(cur["file"]))
        h = hash_password("cfg-secret-1")
        long_hash = h.rsplit("$", 1)[0] + "$" + "A" * 300  # the right shape, too long
        op["admin-api"]["accounts"] = [{"login": "root", "password_hash": long_hash}]
        err = expect_error(r, "config.validate", {"config": op}, "invalid_params")
        check("password_hash is not an argon2id PHC string" in err["message"], err)
        op["admin-api"]["accounts"] = [{"login": "root", "password_hash": h},
                                       {"login": "ROOT", "password_hash": h}]
        err = expect_error(r, "config.validate", {"config": op}, "invalid_params")
        check("appears twice" in err["message"], err)
        # every list pages like users.list
        for g in ("ga", "gb", "gc"):
            r.call("groups.create", {"name": g})
        page = r.call("groups.list", {"offset": 1, "limit": 1})
        check([x["name"] for x in page["groups"]] == ["gb"] and page["total"] == 3 and
              page["offset"] == 1, page)
        expect_error(r, "profiles.list", {"limit": 1001}, "invalid_params")
        check(r.call("computers.list", {"limit": 5}) == {"computers": [], "total": 0,
                                                         "offset": 0}, "computers")
    finally:
        a.close()


def refused_writes_audited():
    """Every write is audited, refused ones too (a warning with the reason),
    and config.apply after its result."""
    a, r = logged_in()
    try:
        cases = [("users.create", {"login": "zed", "numbers": {"fax": "1"}}, "invalid_params"),
                 ("users.update", {"login": "nosuch", "groups": ["nogroup"]}, None),
                 ("groups.create", {"name": "g1", "members": ["ghost"]}, "invalid_params"),
                 ("settings.set", {"restrictions": {"presence": True}}, "invalid_params"),
                 ("admin.passwd", {"password": "short", "old_password": "x"}, "invalid_params"),
                 ("locations.create", {"location": {"nope": 1}}, None),
                 ("users.create", {"login": "ok1", "rights": [{"user": "ghost",
                                                               "level": "team"}]}, None),
                 ("users.delete", {"login": 5}, "invalid_params"),
                 ("config.apply", {"config": 5}, "invalid_params")]
        for m, p, want in cases:
            err = r.call_error(m, p)
            got = reason(err)
            check(want is None or got == want, f"{m}: {err}")
            a.u.wait_for(r"warning \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: " +
                         re.escape(m) + r"( \S+)?: failed \(" + re.escape(got) + r"\)$")
        c = a.client()
        expect_error(c, "users.delete", {"login": "x"}, "not_authenticated")
        a.u.wait_for(r"warning \[admin-api\] audit: admin '-' from 127\.0\.0\.1: "
                     r"users\.delete x: failed \(not_authenticated\)$")
        n = len(a.u.lines)
        op = json.load(open(r.call("config.get")["file"]))
        r.call("config.apply", {"config": op})
        # the reply can come before the harness has read the audit line
        i = a.u.wait_for(r"audit: admin 'admin' from 127\.0\.0\.1: config\.apply ", after=n)
        lines = [l for l in a.u.lines[n:] if l and "audit:" in l and "config.apply" in l]
        check(len(lines) == 1 and "failed" not in lines[0], lines)
        j = a.u.wait_for(r"info \[core\] \S+ucsd\.json rewritten by the administration",
                         after=n)
        check(j < i, "audited after the apply's result: " + "\n".join(a.u.lines[n:]))
    finally:
        a.close()


def login_failures():
    a, r = logged_in(auth={"max_failures_per_login": 3})
    try:
        pw = a.admin_password()
        c = a.client()
        for what in ["wrong-one", "wrong-two"]:
            err = expect_error(c, "admin.login", {"login": "admin", "password": what},
                               "auth_failed")
            check(err["code"] == -32002, err)
        expect_error(c, "admin.login", {"login": "nobody", "password": "x"}, "auth_failed",
                     "unknown login")
        expect_error(c, "users.list", None, "not_authenticated", "still not logged in")
        expect_error(c, "admin.login", {"login": "admin", "password": "wrong-three"},
                     "auth_failed")
        # locked: even the right password fails now
        err = expect_error(c, "admin.login", {"login": "admin", "password": pw}, "locked_out")
        check(err["data"]["retry_after_ms"] > 0, err)
        a.u.wait_for(r"warning \[auth\] audit: lockout: login=\"admin\" kind=admin")
        a.u.wait_for(r"warning \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: "
                     r"admin\.login: failed \(locked_out\)$")
        a.u.wait_for(r"warning \[admin-api\] audit: admin 'nobody' from 127\.0\.0\.1: "
                  r"admin\.login: failed \(auth_failed\)$")
        # the session logged in before stays; a second login on it is refused
        expect_error(r, "admin.login", {"login": "admin", "password": pw}, "conflict")
        check(pw not in a.u.log() and "wrong-one" not in a.u.log(), "no password in the log")
    finally:
        a.close()


def not_authenticated():
    a = Admin().start()
    try:
        a.wait_admin()
        r = a.client()
        for method in ["status.get", "users.list", "users.create", "users.get", "groups.create",
                       "settings.set", "events.query", "events.subscribe", "config.get",
                       "config.apply", "server.restart", "export", "import", "dialplan.check",
                       "plugins.list", "admin.passwd", "locations.list", "rights.explain"]:
            expect_error(r, method, {"login": "x"} if method.startswith("users") else None,
                         "not_authenticated", method)
        expect_error(r, "admin.login", {"login": "admin"}, "invalid_params", "no password")
        expect_error(r, "admin.login", {"login": "admin", "password": 5}, "invalid_params")
        expect_error(r, "admin.login", {"login": "admin", "password": "x", "x": 1},
                     "invalid_params", "an unknown member")
        # refused, and audited as refused: nothing was done
        check(not a.u.has(r"info \[admin-api\] audit: .*users\.create"), "nothing done")
        a.u.wait_for(r"warning \[admin-api\] audit: admin '-' from 127\.0\.0\.1: users\.create x: "
                  r"failed \(not_authenticated\)$")
        # after the login the same methods answer
        r.call("admin.login", {"login": "admin", "password": a.admin_password()})
        check("server" in r.call("status.get"), "status after login")
    finally:
        a.close()


# ---- users, groups, computers, profiles, settings ----

def effective(r, watcher, target):
    return set(r.call("rights.explain", {"watcher": watcher, "target": target})["effective"])


def users_crud():
    a, r = logged_in()
    try:
        for login in ["bob", "carol", "dave"]:
            r.call("users.create", {"login": login})
        g = r.call("groups.create", {"name": "Sales", "members": ["carol"], "level": "public"})
        check(g["id"] == "sales" and g["members"] == ["carol"], g)
        alice = r.call("users.create", {
            "login": "alice", "password": "alice-password-1", "display_name": "Alice Smith",
            "first_name": "Alice", "last_name": "Smith", "email": "alice@example.com",
            "active": True,
            "numbers": {"business": "08151 3685-620", "business2": "621", "private": "",
                        "mobile": "0171 1234567", "pager": "", "voicemail": "299"},
            "phones": {"first": "620", "second": "621"},
            "services": {"chat": True, "softphone_audio": True, "sms": False},
            "rights": [{"user": "bob", "level": "public", "extra": ["set_presence"]},
                       {"group": "Sales", "level": "business"}],
            "groups": ["Sales"]})
        check(alice["login"] == "alice" and alice["has_password"] is True, alice)
        got = r.call("users.get", {"login": "ALICE"})
        check(got == alice, f"users.get equals the create's answer:\n{got}\n{alice}")
        n = got["numbers"]
        check(n["business"]["entered"] == "08151 3685-620", n)
        check(n["business"]["canonical"] == "+4981513685620", n)
        check(n["business"]["display"] not in ("", "+4981513685620") and
              "8151" in n["business"]["display"], n)
        check(n["mobile"]["canonical"] == "+491711234567", n)
        check(n["voicemail"]["entered"] == "299", n)
        check(got["phones"] == {"first": "620", "second": "621"}, got)
        check(got["services"]["chat"] and got["services"]["softphone_audio"] and
              not got["services"]["sms"], got)
        check(sorted(got["rights"], key=lambda x: x["user"]) ==
              [{"user": "bob", "level": "public", "extra": ["set_presence"]},
               {"user": "carol", "level": "business", "extra": []}], got["rights"])
        check(got["groups"] == ["Sales"], got)
        check(sorted(r.call("groups.get", {"name": "sales"})["members"]) == ["alice", "carol"],
              "membership is on the group")
        # the rights really apply: what the rights engine says bob and carol hold on alice
        # (dave holds only the global public level)
        bob_on_alice = effective(r, "bob", "alice")
        carol_on_alice = effective(r, "carol", "alice")
        dave_on_alice = effective(r, "dave", "alice")
        check("set_presence" in bob_on_alice and "set_presence" not in dave_on_alice,
              f"bob's extra right: {bob_on_alice} vs {dave_on_alice}")
        check("contact_business" in carol_on_alice and "contact_business" not in dave_on_alice
              and carol_on_alice > dave_on_alice,
              f"carol's business level through Sales: {carol_on_alice} vs {dave_on_alice}")
        check("contact_business" not in effective(r, "dave", "carol"), "only alice granted")
        # an update changes what it names, and membership follows `groups`
        upd = r.call("users.update", {"login": "alice", "numbers": {"mobile": None},
                                      "services": {"chat": False}, "groups": []})
        check(upd["numbers"]["mobile"] == {"entered": "", "canonical": "", "display": ""}, upd)
        check(upd["numbers"]["business"]["canonical"] == "+4981513685620", upd)
        check(not upd["services"]["chat"] and upd["services"]["softphone_audio"], upd)
        check(upd["groups"] == [] and upd["display_name"] == "Alice Smith", upd)
        check(r.call("groups.get", {"name": "Sales"})["members"] == ["carol"], "left the group")
        upd = r.call("users.update", {"login": "alice", "rights": []})
        check(upd["rights"] == [], upd)
        check("set_presence" not in effective(r, "bob", "alice"), "the grant is gone")
        # list and delete
        lst = r.call("users.list")
        check(lst["total"] == 4 and [u["login"] for u in lst["users"]] ==
              ["alice", "bob", "carol", "dave"], lst)
        check(lst["users"][0]["numbers"]["business"]["canonical"] == "+4981513685620", lst)
        lst = r.call("users.list", {"text": "SMI", "limit": 10})
        check(lst["total"] == 1 and lst["users"][0]["login"] == "alice", lst)
        lst = r.call("users.list", {"offset": 1, "limit": 2})
        check(lst["total"] == 4 and [u["login"] for u in lst["users"]] == ["bob", "carol"], lst)
        check(r.call("users.delete", {"login": "bob"}) == {"deleted": True}, "deleted")
        expect_error(r, "users.get", {"login": "bob"}, "not_found")
        a.u.wait_for(r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: "
                     r"users\.delete bob$")
        check("alice-password-1" not in a.u.log(), "no password in the log")
    finally:
        a.close()


def groups_crud():
    a, r = logged_in()
    try:
        for login in ["anna", "ben", "cleo"]:
            r.call("users.create", {"login": login})
        g = r.call("groups.create", {"name": "Support Team", "members": ["anna", "ben"],
                                     "leader": "cleo", "deputy": "anna", "level": "team"})
        check(g["id"] == "support-team" and g["name"] == "Support Team", g)
        check(g["members"] == ["anna", "ben"] and g["leader"] == "cleo" and
              g["deputy"] == "anna" and g["level"] == "team", g)
        check("see_note" in effective(r, "anna", "ben"), "team level among members")
        expect_error(r, "groups.create", {"name": "support team"}, "conflict", "same name")
        err = expect_error(r, "groups.create", {"name": "X", "members": ["nobody"]},
                           "invalid_params")
        check(err["data"]["path"] == "members[0]" and "nobody" in err["message"], err)
        g = r.call("groups.update", {"name": "support-team", "new_name": "Support",
                                     "members": ["ben", "cleo"], "level": "blocked",
                                     "leader_level": "personal"})
        check(g["name"] == "Support" and g["members"] == ["ben", "cleo"] and
              g["leader_level"] == "personal", g)
        check(r.call("users.get", {"login": "anna"})["groups"] == [], "anna left")
        check(r.call("users.get", {"login": "cleo"})["groups"] == ["Support"], "cleo joined")
        lst = r.call("groups.list")
        check(lst["total"] == 1 and lst["groups"][0]["name"] == "Support", lst)
        check(r.call("groups.get", {"name": "SUPPORT"})["id"] == "support-team", "by name")
        check(r.call("groups.delete", {"name": "Support"}) == {"deleted": True}, "deleted")
        expect_error(r, "groups.get", {"name": "Support"}, "not_found")
        expect_error(r, "groups.delete", {"name": "Support"}, "not_found")
        check(r.call("users.get", {"login": "cleo"})["groups"] == [], "membership went with it")
    finally:
        a.close()


def computers_profiles_crud():
    a, r = logged_in()
    try:
        c = r.call("computers.create", {"name": "PC-17", "lines": ["111", "112"],
                                        "first_phone": "111", "authorised_only": True})
        check(c["id"] == "pc-17" and c["lines"] == ["111", "112"] and
              c["authorised_only"] is True, c)
        c = r.call("computers.update", {"name": "pc-17", "lines": ["*"], "second_phone": "112"})
        check(c["lines"] == ["*"] and c["second_phone"] == "112" and c["first_phone"] == "111", c)
        err = expect_error(r, "computers.update", {"name": "pc-17", "lines": ["*", "111"]},
                           "invalid_params", "the store's rule")
        check(err["data"]["path"].startswith("lines"), err)
        check(r.call("computers.list")["total"] == 1, "one computer")
        expect_error(r, "computers.create", {"name": "pc-17"}, "conflict")
        check(r.call("computers.delete", {"name": "PC-17"}) == {"deleted": True}, "deleted")
        expect_error(r, "computers.get", {"name": "pc-17"}, "not_found")

        p = r.call("profiles.create", {"name": "Night Shift", "description": "after 6",
                                       "settings": {"ring": "quiet"}})
        check(p["id"] == "night-shift" and p["settings"] == {"ring": "quiet"}, p)
        p = r.call("profiles.update", {"name": "night shift", "description": "after 7"})
        check(p["description"] == "after 7" and p["settings"] == {"ring": "quiet"}, p)
        names = sorted(x["id"] for x in r.call("profiles.list")["profiles"])
        check(names == ["default", "night-shift"], names)
        expect_error(r, "profiles.delete", {"name": "default"}, "forbidden")
        check(r.call("profiles.delete", {"name": "Night Shift"}) == {"deleted": True}, "gone")
        expect_error(r, "profiles.get", {"name": "night-shift"}, "not_found")
    finally:
        a.close()


def settings_restrictions():
    a, r = logged_in()
    try:
        r.call("users.create", {"login": "bob"})
        r.call("users.create", {"login": "alice", "rights": [
            {"user": "bob", "level": "personal"}]})
        before = r.call("settings.get")
        check(before["global_level"] == "public" and before["restrictions"] ==
              {"presence_off": False, "no_user_rights": False, "chat_off": False,
               "chat_no_history": False}, before)
        check("set_presence" in effective(r, "bob", "alice"), "the personal grant counts")
        s = r.call("settings.set", {"global_level": "business",
                                    "restrictions": {"no_user_rights": True, "chat_off": True},
                                    "services": {"chat": True}})
        check(s["global_level"] == "business" and s["restrictions"]["no_user_rights"] and
              s["restrictions"]["chat_off"] and not s["restrictions"]["presence_off"] and
              s["services"]["chat"], s)
        check(r.call("settings.get") == s, "settings.get shows what was set")
        # users may not assign rights any more: alice's grant to bob is ignored
        ex = r.call("rights.explain", {"watcher": "bob", "target": "alice"})
        check("set_presence" not in ex["effective"], f"the grant no longer counts: {ex}")
        s = r.call("settings.set", {"restrictions": {"no_user_rights": False}})
        check(not s["restrictions"]["no_user_rights"] and s["restrictions"]["chat_off"], s)
        check("set_presence" in effective(r, "bob", "alice"), "back again")
        err = expect_error(r, "settings.set", {"restrictions": {"presence": True}},
                           "invalid_params")
        check(err["data"]["path"] == "restrictions.presence", err)
        a.u.wait_for(r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: "
                     r"settings\.set$")
    finally:
        a.close()


def errors():
    a, r = logged_in()
    try:
        r.call("users.create", {"login": "alice"})
        expect_error(r, "users.get", {"login": "nobody"}, "not_found")
        expect_error(r, "users.update", {"login": "nobody", "email": "x"}, "not_found")
        expect_error(r, "users.delete", {"login": "nobody"}, "not_found")
        expect_error(r, "users.create", {"login": "ALICE"}, "conflict")
        for params, path in [
                ({"login": "x", "numbers": {"fax": "1"}}, "numbers.fax"),
                ({"login": "x", "numbers": {"mobile": 5}}, "numbers.mobile"),
                ({"login": "x", "services": {"telepathy": True}}, "services.telepathy"),
                ({"login": "x", "rights": [{"user": "nobody", "level": "team"}]},
                 "rights[0].user"),
                ({"login": "x", "rights": [{"user": "alice", "level": "boss"}]},
                 "rights[0].level"),
                ({"login": "x", "groups": ["nope"]}, "groups[0]"),
                ({"login": "x", "first_name": "y" * 1025}, "first_name"),
                ({"login": "x y"}, "login"),
                ({"login": "x", "password": "short"}, "password")]:
            err = expect_error(r, "users.create", params, "invalid_params", str(params)[:60])
            check(err["data"]["path"] == path and err["message"].startswith(path), err)
            check(err["code"] == -32602, err)
        # nothing of the refused ones was written
        check(r.call("users.list")["total"] == 1, "only alice")
        # the store's own rules, in the protocol's words
        err = expect_error(r, "users.update", {"login": "alice", "profile": "Not An Id"},
                           "invalid_params", "a profile id the store refuses")
        check(err["data"]["path"] == "profile" and err["message"].startswith("profile: "), err)
        expect_error(r, "no.such.method", None, "method_not_found")
        expect_error(r, "users.get", {"login": "alice", "x": 1}, "invalid_params")
        expect_error(r, "users.get", ["alice"], "invalid_params", "params as an array")
    finally:
        a.close()


# ---- server ----

def status_shape():
    a, r = logged_in()
    try:
        s = r.call("status.get")
        check(set(s) == {"server", "admin_sessions", "clients", "lines", "calls", "journal",
                         "mail", "sms", "plugins"}, s)
        # no journal, mail or sms plugin in this server: null
        check(s["journal"] is None and s["mail"] is None and s["sms"] is None, s)
        srv = s["server"]
        check(srv["pid"] == a.u.proc.pid and srv["name"] and srv["version"] and
              re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", srv["started"]) and
              0 <= srv["uptime_s"] < 120, srv)
        admins = s["admin_sessions"]
        check(len(admins) == 1 and admins[0]["login"] == "admin" and
              admins[0]["address"] == "127.0.0.1" and admins[0]["tls"] is False, admins)
        r2 = a.login()
        check(len(r2.call("status.get")["admin_sessions"]) == 2, "two administrators")
        # no client protocol and no line manager in this server: said, not zero
        check(s["clients"] == {"available": False}, s["clients"])
        check(s["lines"] == {"available": False} and s["calls"] == {"available": False}, s)
        names = {p["name"]: p for p in s["plugins"]}
        check(set(TREE) <= set(names), names.keys())
        me = names["admin-api"]
        check(me["state"] == "running" and me["status"]["sessions"] >= 1 and
              me["status"]["admins"] >= 1 and me["status"]["logins_ok"] >= 1, me)
        check(all(p["state"] == "running" for p in names.values()), names)
        check(r.call("plugins.list")["plugins"][0]["name"] == s["plugins"][0]["name"],
              "plugins.list")
    finally:
        a.close()
    # with the client protocol: its logged-in sessions and users
    a, r = logged_in(clients=True)
    try:
        r.call("users.create", {"login": "alice", "password": "alice-password-1"})
        i = a.u.wait_for(r"info \[client-api\] client protocol on 127\.0\.0\.1 port (\d+)")
        cport = int(re.search(r"port (\d+)", a.u.lines[i]).group(1))
        c1 = RpcClient(f"ws://127.0.0.1:{cport}/ws")
        c2 = RpcClient(f"ws://127.0.0.1:{cport}/ws")
        c3 = RpcClient(f"ws://127.0.0.1:{cport}/ws")  # connected, not logged in
        a.clients += [c1, c2, c3]
        for c in (c1, c2):
            c.call("auth.login", {"login": "alice", "password": "alice-password-1"})
        cl = r.call("status.get")["clients"]
        check(cl["available"] is True and cl["sessions"] == 2 and cl["connections"] == 3 and
              cl["users"] == 1 and cl["per_plugin"]["client-api"]["logins_ok"] == 2, cl)
    finally:
        a.close()


def events():
    a, r = logged_in()
    try:
        q = r.call("events.query", {"level": "warning"})
        evs = q["events"]
        check(evs and all(e["level"] in ("error", "warning") for e in evs), evs)
        check(any("created 'admin'" in e["text"] and e["plugin"] == "admin-api" for e in evs),
              evs)
        q = r.call("events.query", {"plugin": "admin-api", "text": "CREATED 'ADMIN'"})
        check(len(q["events"]) == 1, q)
        mark = q["events"][0]
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", mark["time"]), mark)
        later = r.call("events.query", {"since": mark["seq"]})["events"]
        check(later and all(e["seq"] > mark["seq"] for e in later), later)
        one = r.call("events.query", {"limit": 1})
        check(len(one["events"]) == 1 and one["more"] is True, one)
        first = r.call("events.query", {"since": 0, "limit": 2})
        check([e["seq"] for e in first["events"]] == [1, 2] and first["more"], first)
        future = r.call("events.query", {"since": "2999-01-01T00:00:00Z"})
        check(future["events"] == [] and future["more"] is False, future)
        past = r.call("events.query", {"since": "2000-01-01T00:00:00+02:00", "limit": 1000})
        check(len(past["events"]) == past["last_seq"] - past["events"][0]["seq"] + 1, "all")
        expect_error(r, "events.query", {"level": "loud"}, "invalid_params")
        expect_error(r, "events.query", {"since": "yesterday"}, "invalid_params")
        expect_error(r, "events.query", {"limit": 1001}, "invalid_params")
        # a subscription at warning: an info line (a successful write) does not come,
        # a warning (a refused write) does
        w = a.login()
        check(w.call("events.subscribe", {"level": "warning"})["subscribed"], "subscribed")
        r.call("users.create", {"login": "eve"})
        expect_error(r, "users.create", {"login": "eve"}, "conflict")
        ev = w.wait_notification("events.event", timeout=5)
        check(ev["level"] == "warning" and ev["plugin"] == "admin-api" and
              "users.create eve: failed (conflict)" in ev["text"], ev)
        check(ev["seq"] > mark["seq"], ev)
        # by plugin
        w.call("events.subscribe", {"level": "info", "plugin": "auth"})
        r.call("users.create", {"login": "fay"})  # admin-api: filtered out
        a.login()  # auth: "login accepted"
        ev = w.wait_notification("events.event", timeout=5)
        check(ev["plugin"] == "auth" and "login accepted" in ev["text"], ev)
        check(all(n["params"]["plugin"] == "auth" for n in w.notifications("events.event")),
              "only auth")
        check(w.call("events.unsubscribe") == {"unsubscribed": True}, "unsubscribed")
        a.login()
        time.sleep(0.3)
        check(w.notifications("events.event") == [], "nothing after unsubscribe")
        check(not a.u.has(r"\[admin-api\].*(forward|events\.event)"),
              "no log line per forwarded event")
    finally:
        a.close()


def events_slow_subscriber():
    """Subscribers that stop reading are closed by the queue limit while an
    event is being sent to every subscriber; the others go on (finding: the
    fan-out read the list through a freed session; ASan saw it)."""
    a = Admin(admin={"limits": {"max_queue": 65536, "rate_per_s": 100000,
                                "rate_burst": 100000, "max_batch": 100}})
    silent = []
    try:
        a.start()
        a.wait_admin()
        pw = a.admin_password()
        for _ in range(3):
            c = RawClient(a.port, rcvbuf=4096, timeout=10)
            c.handshake()
            c.send_json({"jsonrpc": "2.0", "id": 1, "method": "admin.login",
                         "params": {"login": "admin", "password": pw}})
            check("result" in c.recv_json(), "silent subscriber logged in")
            c.call("events.subscribe", {"level": "debug"}, id=2)
            silent.append(c)
        r = a.login(password=pw)
        listener = a.login(password=pw)
        check(len(r.call("status.get")["admin_sessions"]) == 5, "five sessions")
        # each refused write is an audit warning, i.e. a server event for all
        # subscribers: batches of them fill the silent ones' queues
        for i in range(2000):
            r.batch([("users.delete", {"login": f"nobody{i}-{k}-" + "x" * 100})
                     for k in range(50)], timeout=60)
            if i % 10 == 9 and len(r.call("status.get")["admin_sessions"]) == 2:
                break
        check(len(r.call("status.get")["admin_sessions"]) == 2,
              "the silent subscribers were closed by the queue limit")
        check(a.u.alive(), "ucsd still runs")
        check(listener.call("events.subscribe", {"level": "warning"})["subscribed"], "subscribed")
        expect_error(r, "users.delete", {"login": "after"}, "not_found")
        ev = listener.wait_notification("events.event", timeout=5)
        check("users.delete after" in ev["text"], ev)
    finally:
        for c in silent:
            c.close()
        a.close()


def config_validate_apply():
    a, r = logged_in()
    try:
        cur = r.call("config.get")
        check(cur["file"] == a.u.config and cur["config"]["admin-api"]["interfaces"][0]["port"]
              == 0, cur)
        # a syntax error in the text names line and column
        err = expect_error(r, "config.validate", {"config": '{\n  "auth": {\n    "x": \n}'},
                           "invalid_params")
        check(any(re.search(r":\d+:\d+: ", e) for e in err["data"]["errors"]), err)
        # an unknown key of a plugin's section
        bad = json.loads(json.dumps(a.config))
        bad["admin-api"]["bogus"] = 1
        err = expect_error(r, "config.validate", {"config": bad}, "invalid_params")
        check(any(re.search(r":\d+:\d+: .*bogus", e) for e in err["data"]["errors"]), err)
        # our own check of the accounts
        bad = json.loads(json.dumps(a.config))
        bad["admin-api"]["accounts"] = [{"login": "x", "password_hash": "plain"}]
        err = expect_error(r, "config.validate", {"config": bad}, "invalid_params")
        check("admin-api.accounts[0] (x)" in err["message"], err)
        check(r.call("config.validate", {"config": a.config}) == {"valid": True}, "valid")
        check(not os.path.exists(a.u.config + ".bak"), "validate writes nothing")
        # apply: a configured account, usable at once
        new = json.loads(json.dumps(a.config))
        new["admin-api"]["accounts"] = [{"login": "ops", "password_hash":
                                         hash_password("ops-password-1")}]
        n = len(a.u.lines)
        res = r.call("config.apply", {"config": new})
        check(res == {"applied": True, "file": a.u.config}, res)
        a.u.wait_for(r"info \[auth\] 1 administrator account from the configuration$", after=n)
        a.login("ops", "ops-password-1")
        with open(a.u.config) as f:
            check(json.load(f)["admin-api"]["accounts"][0]["login"] == "ops", "written")
        check(os.path.exists(a.u.config + ".bak"), "the old file kept")
        a.u.wait_for(r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: config\.apply ")
        # a refused apply changes nothing
        err = expect_error(r, "config.apply", {"config": bad}, "invalid_params")
        a.login("ops", "ops-password-1")
        # the effective configuration hides the hashes
        shown = r.call("config.get")["config"]["admin-api"]["accounts"][0]["password_hash"]
        check(shown == "********", shown)
    finally:
        a.close()


def restart():
    a, r = logged_in()
    try:
        pid = a.u.proc.pid
        n = len(a.u.lines)
        check(r.call("server.restart") == {"restarting": True}, "answered first")
        a.u.wait_for(r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: "
                     r"server\.restart$", after=n)
        r.wait_closed(timeout=20)
        a.u.wait_for(r"\[core\] ucsd \S+ started: \d+ plugins running", after=n, timeout=30)
        a.wait_port(after=n)
        check(a.u.alive() and a.u.proc.pid == pid, "the same process (exec)")
        exe = os.path.realpath(f"/proc/{pid}/exe")
        check(os.path.basename(exe) == "ucsd", f"still ucsd: {exe}")
        r2 = a.login()
        check(r2.call("status.get")["server"]["pid"] == pid, "same pid after the restart")
        check(a.u.stop()[0] == 0, "clean exit after the restart")
    finally:
        a.close()


def fill(r):
    r.call("users.create", {"login": "bob", "password": "bob-password-1"})
    r.call("groups.create", {"name": "Sales", "members": ["bob"], "level": "team"})
    r.call("users.create", {"login": "alice", "password": "alice-password-1",
                            "numbers": {"business": "08151 3685-620"},
                            "rights": [{"user": "bob", "level": "personal"}],
                            "groups": ["Sales"], "services": {"chat": True}})
    r.call("computers.create", {"name": "pc-1", "lines": ["620"]})
    r.call("profiles.create", {"name": "Night"})
    r.call("settings.set", {"global_level": "business"})


def export_import():
    a, r = logged_in()
    b = None
    try:
        fill(r)
        arch = r.call("export")["archive"]
        check(arch["format"] == "ucsd-export" and arch["version"] == 1 and
              arch["store"] == "file", {k: arch[k] for k in ("format", "version", "store")})
        check(sorted(u["id"] for u in arch["users"]) == ["alice", "bob"], arch["users"])
        check(all(u["password_hash"].startswith("$argon2id$") for u in arch["users"]),
              "hashes exported")
        check(arch["config"]["admin-api"]["interfaces"][0]["port"] == 0, arch["config"])
        check(arch["settings"]["rights"]["level"] == "business", arch["settings"])
        a.u.wait_for(r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: export$")
        want = {x: r.call("users.get", {"login": x}) for x in ("alice", "bob")}

        b = Admin().start()
        b.wait_admin()
        s = b.login()
        # invalid archives write nothing
        err = expect_error(s, "import", {"archive": dict(arch, format="zip")}, "invalid_params")
        check("archive.format" in err["message"], err)
        broken = json.loads(json.dumps(arch))
        broken["users"][1]["phones"]["mobile"] = 5
        err = expect_error(s, "import", {"archive": broken}, "invalid_params")
        check(re.search(r"archive\.users\[1\] \(\w+\): phones\.mobile", err["message"]), err)
        check(s.call("users.list")["total"] == 0, "nothing written")
        res = s.call("import", {"archive": arch})["imported"]
        check(res == {"users": 2, "groups": 1, "computers": 1, "profiles": 2, "settings": 1,
                      "removed": 0, "passwords": 2, "config": False}, res)
        for x in ("alice", "bob"):
            got = s.call("users.get", {"login": x})
            check(got == want[x], f"{x} reproduced:\n{got}\n{want[x]}")
        check(s.call("settings.get")["global_level"] == "business", "settings")
        check(s.call("computers.get", {"name": "pc-1"})["lines"] == ["620"], "computer")
        check("set_presence" in effective(s, "bob", "alice"), "rights work in the new server")
        # a second import is a conflict unless replace
        err = expect_error(s, "import", {"archive": arch}, "conflict")
        check("users:alice" in err["data"]["existing"] or "profiles:night" in
              err["data"]["existing"], err)
        s.call("users.create", {"login": "extra"})
        res = s.call("import", {"archive": arch, "replace": True})["imported"]
        check(res["removed"] == 1 and res["users"] == 2, res)
        check([u["login"] for u in s.call("users.list")["users"]] == ["alice", "bob"], "replaced")
        b.u.wait_for(r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: import$")
    finally:
        a.close()
        if b:
            b.close()


def import_all_or_nothing():
    """An import applies completely or changes nothing: a write the store
    refuses half way (here the groups' directory is a file) puts back what
    was there and removes what was new, with and without replace; a `dn`
    of a directory-backed archive is dropped (the target is a file store)."""
    a, r = logged_in()
    try:
        fill(r)
        arch = r.call("export")["archive"]
        before = {x: r.call("users.get", {"login": x}) for x in ("alice", "bob")}
        groups_before = r.call("groups.list")
        # an archive from a directory-backed server: users with a DN
        ldap = json.loads(json.dumps(arch))
        for u in ldap["users"]:
            u["dn"] = f"cn={u['id']},dc=example,dc=com"
        ldap["users"].append(dict(ldap["users"][0], id="dave", login="dave",
                                  dn="cn=dave,dc=example,dc=com"))
        ldap["users"][-1].pop("password_hash", None)
        ldap["store"] = "ldap"
        # make every group write fail: the users go first and must come back
        gdir = None
        for root, dirs, _ in os.walk(a.u.state):
            if "groups" in dirs and "users" in dirs:
                gdir = os.path.join(root, "groups")
        check(gdir, "the store's groups directory")
        shutil.rmtree(gdir)
        open(gdir, "w").close()
        changed = json.loads(json.dumps(ldap))
        for u in changed["users"]:
            u["display_name"] = "Changed " + u["id"]
        # a group the store has not got: its write cannot be skipped as unchanged
        changed["groups"].append(dict(changed["groups"][0], id="newgroup", name="newgroup",
                                      members=["alice"]))
        for replace in (True, False):
            arch2 = json.loads(json.dumps(changed))
            if not replace:  # only new objects, and a group
                arch2["users"] = [dict(changed["users"][-1], id="erin", login="erin")]
                arch2["groups"] = [dict(arch2["groups"][-1], members=["erin"])]
                arch2["computers"] = []
                arch2["profiles"] = []
            err = r.call_error("import", {"archive": arch2, "replace": replace})
            check(err["data"].get("rolled_back") is True and
                  err["data"]["failed"].startswith("groups:"), err)
            check("nothing was changed" in err["message"], err)
            users = sorted(u["login"] for u in r.call("users.list")["users"])
            check(users == ["alice", "bob"], f"replace={replace}: users back: {users}")
            for x in ("alice", "bob"):
                got = r.call("users.get", {"login": x})
                check(got == before[x], f"{x} restored:\n{got}\n{before[x]}")
            check(r.call("groups.list") == groups_before, "groups unchanged")
        os.remove(gdir)
        os.mkdir(gdir, 0o700)
        # the same archive applies once the store can write: the DNs are dropped
        res = r.call("import", {"archive": ldap, "replace": True})["imported"]
        check(res["users"] == 3, res)
        check(r.call("users.get", {"login": "dave"})["login"] == "dave", "dave imported")
        check(all(not u.get("dn") for u in r.call("export")["archive"]["users"]), "no DN kept")
    finally:
        a.close()


def large_archive():
    """An import and an export larger than a client session may carry
    (admin-api's own message and queue limits), written in slices while the
    server keeps answering."""
    a, r = logged_in()
    try:
        pad = "x" * 1000
        arch = r.call("export")["archive"]
        arch["users"] = [{"id": f"u{i:04d}", "login": f"u{i:04d}", "display_name": pad,
                          "phones": {"business": f"08151 3685-{i % 1000:03d}"}}
                         for i in range(1200)]
        text = json.dumps({"jsonrpc": "2.0", "id": 99, "method": "import",
                           "params": {"archive": arch, "replace": True}})
        check(len(text) > 1 << 20, f"more than a client's 1 MiB: {len(text)}")
        other = a.login()
        r.send_text(text)
        # the loop is not held: another session is answered meanwhile
        time.sleep(0.2)
        t0 = time.monotonic()
        other.call("status.get")
        check(time.monotonic() - t0 < 1.0, "answered during the import")
        with r.cond:
            check("99" not in r.waiting, "the import was still running (the check means it)")
        res = r.reply(99, timeout=120)
        check(res.get("result", {}).get("imported", {}).get("users") == 1200, res)
        out = r.call("export", timeout=60)["archive"]
        check(len(json.dumps(out)) > 1 << 20 and len(out["users"]) == 1200, "a big export")
        check(out["users"][7]["phones"]["business"] == "08151 3685-007", out["users"][7])
        check(r.call("users.get", {"login": "u0007"})["numbers"]["business"]["canonical"] ==
              "+4981513685007", "normalised after the import")
    finally:
        a.close()


def ldap_store_refuses():
    """With the directory as the user store (userdb-ldap, here without a
    reachable directory: an empty snapshot of store "ldap"), users come
    from the directory: import and users.create are refused clearly, the
    local settings stay editable."""
    a = Admin(extra_tree=["userdb-ldap"], disable=["userdb-file"])
    a.config["userdb-ldap"] = {"url": "ldap://127.0.0.1:9", "starttls": False,
                               "allow_plain": True, "users": {"base": "dc=example,dc=com"}}
    a.u.write_config(a.config)
    try:
        a.start()
        a.wait_admin()
        r = a.login()
        arch = {"format": "ucsd-export", "version": 1, "users": [{"id": "x", "login": "x"}]}
        err = expect_error(r, "import", {"archive": arch}, "read_only")
        check(err["message"] == "the user store is a directory (LDAP): import users there", err)
        err = expect_error(r, "users.create", {"login": "x"}, "read_only")
        check(err["data"]["field"] == "id" and "directory" in err["message"], err)
        check(r.call("settings.set", {"global_level": "team"})["global_level"] == "team",
              "local settings")
        a.u.wait_for(r"warning \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: import: "
                  r"failed \(read_only\)$")
    finally:
        a.close()


def audit():
    a = Admin(probe=True).start()
    try:
        a.wait_admin()
        p = Probe(a.u)
        p.ok("sub admin.audit")
        r = a.login()
        ev = p.wait_event(r"^event admin\.audit - ")
        doc = json.loads(ev.split(" ", 3)[3])
        check(doc["login"] == "admin" and doc["action"] == "admin.login" and doc["ok"] is True
              and doc["address"] == "127.0.0.1", doc)
        r.call("users.create", {"login": "alice", "password": "alice-password-1"})
        doc = json.loads(p.wait_event(r"users\.create").split(" ", 3)[3])
        check(doc["object"] == "alice" and doc["ok"] is True and doc["result"] == "", doc)
        expect_error(r, "users.create", {"login": "alice"}, "conflict")
        doc = json.loads(p.wait_event(r"users\.create").split(" ", 3)[3])
        check(doc["ok"] is False and doc["result"] == "conflict", doc)
        bad = a.client()
        bad.call_error("admin.login", {"login": "mallory\n[core] forged", "password": "x"})
        doc = json.loads(p.wait_event(r"admin\.login.*\"ok\":false").split(" ", 3)[3])
        check(doc["login"].startswith("mallory\\x0a"), doc)
        a.u.wait_for(r"warning \[admin-api\] audit: admin 'mallory\\x0a\[core\] forged' from "
                     r"127\.0\.0\.1: admin\.login: failed \(auth_failed\)$")
        for line in [r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: admin\.login$",
                     r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: "
                     r"users\.create alice$",
                     r"warning \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: "
                     r"users\.create alice: failed \(conflict\)$"]:
            a.u.wait_for(line)
        check("alice-password-1" not in a.u.log() and a.admin_password() not in a.u.log(),
              "no secret in the log")
    finally:
        a.close()


def dialplan_locations():
    a = Admin()
    d = os.path.join(a.u.dir, "dialplan")
    shutil.copytree(FIXTURES, d)
    a.config["dialplan"]["config_dir"] = d
    a.u.write_config(a.config)
    try:
        a.start()
        a.wait_admin()
        r = a.login()
        res = r.call("dialplan.check", {"number": "0089123456", "mode": "format",
                                        "kind": "caller"})
        check(res["result"]["canonical"] == "+4989123456", res)
        check(res["trace"] and all(set(t) == {"step", "rule", "value"} for t in res["trace"]),
              res["trace"])
        steps = {t["step"]: t for t in res["trace"]}
        check(steps["canonical"]["value"] == "+4989123456" and
              steps["access-code"]["rule"] == "external access code removed", res["trace"])
        res = r.call("dialplan.check", {"number": "089123456", "location": "Zurich"})
        check(res["result"]["dial"] == "0089123456", res)
        expect_error(r, "dialplan.check", {"number": "1", "location": "Atlantis"}, "not_found")
        expect_error(r, "dialplan.check", {"number": "1", "mode": "guess"}, "invalid_params")
        locs = r.call("locations.list")["locations"]
        names = [x["name"] for x in locs]
        check("Starnberg" in names and "Zurich" in names, names)
        zurich = r.call("locations.get", {"name": "zurich"})
        check(zurich["name"] == "Zurich", zurich)
        copy = dict(zurich, name="Zurich2")
        copy.pop("default", None)
        made = r.call("locations.create", {"location": copy})
        check(made["name"] == "Zurich2", made)
        expect_error(r, "locations.create", {"location": copy}, "conflict")
        check("Zurich2" in open(os.path.join(d, "locations.xml")).read(), "written to the file")
        expect_error(r, "locations.update", {"location": dict(copy, name="Nowhere")},
                     "not_found")
        check(r.call("locations.delete", {"name": "Zurich2"}) == {"deleted": True}, "deleted")
        expect_error(r, "locations.delete", {"name": "Zurich2"}, "not_found")
        a.u.wait_for(r"info \[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: "
                  r"locations\.create Zurich2$")
    finally:
        a.close()


if __name__ == "__main__":
    main({f.__name__: f for f in [
        first_start_password, configured_accounts, login_failures, not_authenticated, users_crud,
        groups_crud, computers_profiles_crud, settings_restrictions, errors, status_shape,
        events, config_validate_apply, restart, export_import, large_archive, ldap_store_refuses,
        audit, dialplan_locations, events_slow_subscriber, import_all_or_nothing,
        revoked_sessions, password_file_mode, params_refused, refused_writes_audited]})
