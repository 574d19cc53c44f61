"""tests/integration/test_admin_mail.py - the administration protocol's
actions on the services of issue 7, and ucsctl's commands for them:
mail.test (a real SMTP server: tests/integration/smtpd.py, aiosmtpd),
sms.test (a local HTTP gateway: tests/integration/smsgw.py),
journal.retention.apply (the real journal plugin with its SQLite store),
the status monitor's "journal", "mail" and "sms" members, and the audit
line of each action, done, refused or cancelled.

The server is test_admin_api.py's (dialplan, userdb-file, auth, presence,
admin-api, on a port picked at run time) plus the plugins a case needs;
ucsctl runs as a subprocess with the first start's administrator password.
"""
import json
import os
import re
import subprocess
import time

from harness import BUILD, Probe, check, main
from test_admin_api import Admin, expect_error, reason
from wsclient import WsError

UCSCTL = os.environ.get("UCSCTL_BIN") or os.path.join(BUILD, "tools", "ucsctl", "ucsctl")
DAY_MS = 86400 * 1000
AUDIT = r"\[admin-api\] audit: admin 'admin' from 127\.0\.0\.1: "


def server(extra=(), sections=None, probe=False):
    """Admin with the extra tree plugins and config sections, started, the
    first start's account ready; (Admin, logged-in client)."""
    a = Admin(extra_tree=list(extra), probe=probe)
    a.config.update(sections or {})
    a.u.write_config(a.config)
    try:
        a.start()
        a.wait_admin()
        return a, a.login()
    except Exception:
        a.close()
        raise


def mail_section(port, admin_to="admin@example.org", **smtp):
    s = {"host": "127.0.0.1", "port": port, "tls": "none"}
    s.update(smtp)
    return {"mail": {"smtp": s, "from": "ucsd@example.org", "admin_to": admin_to}}


def ucsctl(a, *args, timeout=60):
    """ucsctl -s 127.0.0.1:PORT ARGS as the first start's administrator:
    (exit status, stdout, stderr)."""
    env = dict(os.environ, UCSCTL_PASSWORD=a.admin_password())
    r = subprocess.run([UCSCTL, "-s", f"127.0.0.1:{a.port}", *args], input="",
                       capture_output=True, text=True, env=env, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


# ---- mail.test ---------------------------------------------------------------------

def mail_test_ok():
    from smtpd import SmtpServer

    with SmtpServer() as smtp:
        a, r = server(["mail"], mail_section(smtp.port))
        try:
            res = r.call("mail.test", {"to": "ops@example.org"}, timeout=30)
            check(res["ok"] is True and res["to"] == "ops@example.org" and res["reply"],
                  f"ok: {res}")
            m = smtp.wait_messages(1)[0]
            check(m.rcpt_tos == ["ops@example.org"], f"envelope: {m.rcpt_tos}")
            a.u.wait_for(AUDIT + r"mail\.test ops@example\.org$")
            # without to: the administrator addresses
            res = r.call("mail.test", timeout=30)
            check(res["ok"] is True and res["to"] == "admin@example.org", f"admin_to: {res}")
            m = smtp.wait_messages(2)[1]
            check(m.rcpt_tos == ["admin@example.org"], f"to the admin: {m.rcpt_tos}")
            a.u.wait_for(AUDIT + r"mail\.test$")
            # two recipients, the manual's ';'
            res = r.call("mail.test", {"to": "a@example.org; B <b@example.org>"}, timeout=30)
            check(res["ok"] is True, res)
            m = smtp.wait_messages(3)[2]
            check(sorted(m.rcpt_tos) == ["a@example.org", "b@example.org"], m.rcpt_tos)
            st = r.call("status.get")
            me = [p for p in st["plugins"] if p["name"] == "admin-api"][0]["status"]
            check(me["writes"] == 3 and me["write_errors"] == 0, f"counted: {me}")
        finally:
            a.close()


def mail_test_failures():
    from smtpd import SmtpServer

    with SmtpServer() as smtp:
        a, r = server(["mail"], mail_section(smtp.port))
        try:
            # the server refuses the recipient: the test ran, not delivered
            smtp.fail("RCPT", 550, "5.1.1 no such mailbox here")
            res = r.call("mail.test", {"to": "nobody@example.org"}, timeout=30)
            check(res["ok"] is False and "550" in res["reply"] and
                  "no such mailbox" in res["reply"], f"refused: {res}")
            a.u.wait_for(r"warning " + AUDIT +
                         r"mail\.test nobody@example\.org: failed \(not delivered\)$")
            smtp.clear()
            # the server is down: said so
            smtp.stop()
            res = r.call("mail.test", {"to": "ops@example.org"}, timeout=60)
            check(res["ok"] is False and re.search(r"refused|connect", res["reply"], re.I),
                  f"down: {res}")
            smtp.start()
            check(smtp.count() == 0, "nothing arrived")
            # params refused before anything is sent, audited too
            for p in ({"to": 5}, {"to": "x" * 1025}, {"cc": "a@b"}, {"to": "not an address"}):
                e = expect_error(r, "mail.test", p, "invalid_params")
                check(e["data"].get("member") in ("to", "cc"), f"{p}: {e}")
            a.u.wait_for(r"warning " + AUDIT + r"mail\.test: failed \(invalid_params\)$")
        finally:
            a.close()


def mail_test_no_recipient():
    from smtpd import SmtpServer

    with SmtpServer() as smtp:
        a, r = server(["mail"], mail_section(smtp.port, admin_to=""))
        try:
            e = expect_error(r, "mail.test", {}, "invalid_params")
            check(e["data"]["member"] == "to" and "admin_to" in e["message"], e)
        finally:
            a.close()


def mail_test_cancelled():
    """The administrator hangs up while the SMTP server is slow: the test is
    cancelled (the mail plugin never calls back), audited, the server runs on."""
    from smtpd import SmtpServer

    with SmtpServer() as smtp:
        a, r = server(["mail"], mail_section(smtp.port))
        try:
            smtp.slow("DATA", 3, count=1)
            r2 = a.login()
            r2.request("mail.test", {"to": "ops@example.org"})
            time.sleep(0.5)
            a.clients.remove(r2)
            r2.close()
            a.u.wait_for(r"warning " + AUDIT + r"mail\.test ops@example\.org: failed "
                         r"\(cancelled: the session closed\)$")
            res = r.call("mail.test", {"to": "later@example.org"}, timeout=30)
            check(res["ok"] is True, f"still working: {res}")
        finally:
            a.close()


def not_running():
    """Without the mail, sms and journal plugins: not_available naming the
    plugin, each refusal audited."""
    a, r = server()
    try:
        for m, p, plugin in (("mail.test", {"to": "ops@example.org"}, "mail"),
                             ("sms.test", {"to": "+49 170 1234567"}, "sms"),
                             ("journal.retention.apply", {}, "journal")):
            e = expect_error(r, m, p, "not_available")
            check(e["data"]["plugin"] == plugin and
                  e["message"] == f"the {plugin} plugin is not running", e)
            a.u.wait_for(r"warning " + AUDIT + re.escape(m) + r".*: failed \(not_available\)$")
        s = r.call("status.get")
        check(s["journal"] is None and s["mail"] is None and s["sms"] is None, s)
        # params first
        expect_error(r, "sms.test", {}, "invalid_params")
        expect_error(r, "sms.test", {"to": "call me"}, "invalid_params")
        expect_error(r, "journal.retention.apply", {"now": True}, "invalid_params")
    finally:
        a.close()


# ---- sms.test ----------------------------------------------------------------------

def sms_section(gw):
    return {"sms": {"provider": "gw", "user": "ucsd", "password": "gw-secret",
                    "providers_file": gw.provider_file(gw.dir, "gw", method="GET")}}


def sms_test():
    from smsgw import SmsGateway

    gw = SmsGateway().start()
    try:
        a, r = server(["sms"], sms_section(gw))
        try:
            res = r.call("sms.test", {"to": "+49 170 1234567"}, timeout=30)
            check(res["ok"] is True and res["to"] == "+49 170 1234567" and
                  "OK 4711" in res["reply"], f"sent: {res}")
            got = gw.wait_requests(1)[0]
            check(got["params"]["text"] == "ucsd: test SMS" and
                  "1701234567" in got["params"]["to"], f"the gateway got: {got}")
            a.u.wait_for(r"info " + AUDIT + r"sms\.test \+49 170 1234567$")
            res = r.call("sms.test", {"to": "0170 1234567", "text": "Hallo Welt"}, timeout=30)
            check(res["ok"] is True and gw.wait_requests(2)[1]["params"]["text"] == "Hallo Welt",
                  f"own text: {res}")
            # the provider refuses: not sent, its answer in reply, audited
            gw.set_modes("refuse")
            res = r.call("sms.test", {"to": "+49 170 1234567"}, timeout=30)
            check(res["ok"] is False and "invalid credentials" in res["reply"], f"{res}")
            a.u.wait_for(r"warning " + AUDIT +
                         r"sms\.test \+49 170 1234567: failed \(not sent\)$")
            s = r.call("status.get")
            check(isinstance(s["sms"], dict), f"status: {s['sms']}")
            for p in ({}, {"to": "+49 170", "text": ""}, {"to": "+49 170", "text": 5},
                      {"to": "x" * 65}):
                expect_error(r, "sms.test", p, "invalid_params")
        finally:
            a.close()
    finally:
        gw.close()


def ucsctl_sms():
    from smsgw import SmsGateway

    gw = SmsGateway().start()
    try:
        a, r = server(["sms"], sms_section(gw))
        try:
            rc, out, errs = ucsctl(a, "sms", "test", "+49 170 1234567", "from ucsctl")
            check(rc == 0 and re.search(r"^OK\s+TO\s+REPLY", out, re.M) and
                  re.search(r"^yes\s+\+49 170 1234567\s+OK 4711", out, re.M),
                  f"table: {rc} {out!r} {errs!r}")
            check(gw.wait_requests(1)[0]["params"]["text"] == "from ucsctl", "the text")
            gw.set_modes("refuse")
            rc, out, errs = ucsctl(a, "--json", "sms", "test", "+49 170 1234567")
            check(rc == 4 and json.loads(out)["ok"] is False and "did not get through" in errs,
                  f"refused: {rc} {out!r} {errs!r}")
            rc, out, errs = ucsctl(a, "sms", "test")
            check(rc == 1 and "missing TO" in errs, errs)
            n = gw.count()
            rc, out, errs = ucsctl(a, "sms", "test", b"+49\xff170")
            check(rc == 1 and "TO is not UTF-8" in errs, f"TO: {rc} {errs!r}")
            rc, out, errs = ucsctl(a, "sms", "test", "+49 170 1234567", b"caf\xe9")
            check(rc == 1 and "TEXT is not UTF-8" in errs, f"TEXT: {rc} {errs!r}")
            time.sleep(0.3)
            check(gw.count() == n, "nothing sent")
        finally:
            a.close()
    finally:
        gw.close()


def not_configured():
    """The plugins run, but no SMTP server and no SMS provider are configured:
    not_available saying which setting is missing; nothing is sent."""
    a, r = server(["mail", "sms"], {"mail": {"admin_to": "admin@example.org"}})
    try:
        e = expect_error(r, "mail.test", {"to": "ops@example.org"}, "not_available")
        check(e["data"]["plugin"] == "mail" and "mail.smtp.host" in e["message"], e)
        e = expect_error(r, "sms.test", {"to": "+49 170 1234567"}, "not_available")
        check(e["data"]["plugin"] == "sms" and "sms.provider" in e["message"], e)
        a.u.wait_for(r"warning " + AUDIT + r"mail\.test ops@example\.org: failed "
                     r"\(not_available\)$")
        a.u.wait_for(r"warning " + AUDIT + r"sms\.test \+49 170 1234567: failed "
                     r"\(not_available\)$")
        s = r.call("status.get")
        check(isinstance(s["mail"], dict) and isinstance(s["sms"], dict), f"running: {s}")
    finally:
        a.close()


# ---- journal.retention.apply ----------------------------------------------------------

def retention_apply():
    now = int(time.time() * 1000)
    entries = [
        # external, no note, 40 days old: older than external_days (30)
        {"id": "old-ext", "user": "alice", "started_ms": now - 40 * DAY_MS, "internal": False},
        # internal, no note, 40 days old: internal_days is 0 (kept)
        {"id": "old-int", "user": "alice", "started_ms": now - 40 * DAY_MS, "internal": True},
        # external with a note: noted_days 0 (kept)
        {"id": "old-noted", "user": "alice", "started_ms": now - 40 * DAY_MS,
         "internal": False, "note": "keep me"},
        # external, recent
        {"id": "new-ext", "user": "alice", "started_ms": now - DAY_MS, "internal": False},
    ]
    a, r = server(["journal"], {"journal": {"retention": {"external_days": 30}}}, probe=True)
    try:
        p = Probe(a.u)
        for e in entries:
            e.setdefault("ended_ms", e["started_ms"] + 60000)
            p.ok("journal.append " + json.dumps(e))
        time.sleep(0.5)  # committed
        res = r.call("journal.retention.apply", timeout=30)
        check(res["calls_deleted"] == 1 and res["offline_deleted"] == 0 and
              res["chat_deleted"] == 0 and isinstance(res["ms"], int), f"counts: {res}")
        a.u.wait_for(r"info " + AUDIT + r"journal\.retention\.apply$")
        res = r.call("journal.retention.apply", timeout=30)
        check(res["calls_deleted"] == 0, f"nothing left to delete: {res}")
        # a run whose session closes goes on to its end (the journal gives no
        # handle to cancel it) and answers nobody: audited, nothing touched (ASan)
        r3 = a.login()
        r3.request("journal.retention.apply")
        a.clients.remove(r3)
        r3.close()
        deadline = time.monotonic() + 10
        while len(re.findall(r"info " + AUDIT + r"journal\.retention\.apply$", a.u.log(),
                             re.M)) < 3:
            check(time.monotonic() < deadline, "the third run audited")
            time.sleep(0.05)
        s = r.call("status.get")
        check(isinstance(s["journal"], dict) and s["mail"] is None and s["sms"] is None, s)
        # ucsctl: a table, and --json
        rc, out, errs = ucsctl(a, "journal", "apply-retention")
        check(rc == 0 and re.search(r"CALLS DELETED\s+OFFLINE DELETED\s+CHAT DELETED\s+MS",
                                    out) and re.search(r"^0\s+0\s+0\s+\d+\s*$", out, re.M),
              f"ucsctl table: {rc} {out!r} {errs!r}")
        rc, out, errs = ucsctl(a, "--json", "journal", "apply-retention")
        check(rc == 0 and json.loads(out)["calls_deleted"] == 0, f"--json: {out!r} {errs!r}")
        rc, out, errs = ucsctl(a, "journal", "apply-now")
        check(rc == 1 and "unknown subcommand" in errs, f"usage: {rc} {errs!r}")
    finally:
        a.close()


def retention_busy():
    """A second run while one is going is refused with conflict (and
    audited); the first one's counts are all the entries it deleted."""
    a, r = server(["journal"], {"journal": {"retention": {"external_days": 30}}}, probe=True)
    try:
        p = Probe(a.u)
        # 20,000 entries of November 2023: all older than 30 days
        check(p.ok("journal.burst 20000 alice", timeout=120).split()[:2] == ["20000", "0"],
              "burst written")
        r2 = a.login()
        i1 = r.request("journal.retention.apply")
        i2 = r2.request("journal.retention.apply")
        answers = [r.reply(i1, timeout=60), r2.reply(i2, timeout=60)]
        done = [x["result"] for x in answers if "result" in x]
        refused = [x["error"] for x in answers if "error" in x]
        check(len(done) == 1 and len(refused) == 1, f"one ran, one refused: {answers}")
        check(done[0]["calls_deleted"] == 20000, f"the run deleted the burst: {done[0]}")
        check(reason(refused[0]) == "conflict" and "going on already" in refused[0]["message"],
              f"refused: {refused[0]}")
        a.u.wait_for(r"warning " + AUDIT + r"journal\.retention\.apply: failed \(conflict\)$")
        a.u.wait_for(r"info " + AUDIT + r"journal\.retention\.apply$")
        # ucsctl while a run goes on: exit 4 and the reason. The run is kept
        # going long enough by its size (ucsctl logs in meanwhile).
        check(p.ok("journal.burst 200000 alice", timeout=300).split()[:2] == ["200000", "0"],
              "second burst written")
        i1 = r.request("journal.retention.apply")
        rc, out, errs = ucsctl(a, "journal", "apply-retention")
        done = r.reply(i1, timeout=120)
        check("result" in done and done["result"]["calls_deleted"] == 200000,
              f"the run: {done}")
        check(rc == 4 and "conflict" in errs and out == "",
              f"ucsctl during a run: {rc} {out!r} {errs!r} (run took {done['result']['ms']} ms)")
    finally:
        a.close()


def stop_while_pending():
    """ucsd stops while a test mail waits for a slow SMTP server: the mail
    plugin ends the test (-ESHUTDOWN: not_available) or admin-api cancels it
    (the session closes); either way the administrator is answered or her
    session closes cleanly, and ucsd exits 0 (no crash, no leak under ASan)."""
    from smtpd import SmtpServer

    with SmtpServer() as smtp:
        a, r = server(["mail"], mail_section(smtp.port))
        try:
            smtp.slow("DATA", 5, count=1)
            i = r.request("mail.test", {"to": "ops@example.org"})
            time.sleep(0.7)
            check(not re.search(r"audit: .*mail\.test", a.u.log()), "the test is pending")
            rc, secs = a.u.stop(timeout=20)
            check(rc == 0, f"clean exit: {rc}\n{a.u.log()[-3000:]}")
            try:
                msg = r.reply(i, timeout=5)
                check("error" in msg and reason(msg["error"]) == "not_available" and
                      msg["error"]["data"]["plugin"] == "mail", f"answered: {msg}")
            except WsError as e:
                # closed by the server's stop before any answer: fine
                check("connection closed" in str(e), f"no answer and not closed: {e}")
            check(re.search(r"mail\.test ops@example\.org: failed \((not_available|"
                            r"cancelled: the server is stopping)\)$", a.u.log(), re.M),
                  f"audited: {a.u.log()[-2000:]}")
        finally:
            a.close()


# ---- status ----------------------------------------------------------------------------

def status_members():
    from smtpd import SmtpServer

    with SmtpServer() as smtp:
        a, r = server(["mail", "journal"], mail_section(smtp.port))
        try:
            r.call("mail.test", {"to": "ops@example.org"}, timeout=30)
            s = r.call("status.get")
            check(isinstance(s["mail"], dict) and isinstance(s["journal"], dict) and
                  s["sms"] is None, f"members: {s}")
            # the services' own words, not a copy of the plugin list's status
            rc, out, errs = ucsctl(a, "status")
            check(rc == 0 and re.search(r"^mail:", out, re.M) and
                  re.search(r"^journal:", out, re.M), f"ucsctl status: {out}")
        finally:
            a.close()


# ---- ucsctl ----------------------------------------------------------------------------

def ucsctl_mail():
    from smtpd import SmtpServer

    with SmtpServer() as smtp:
        a, r = server(["mail"], mail_section(smtp.port))
        try:
            rc, out, errs = ucsctl(a, "mail", "test", "ops@example.org")
            check(rc == 0 and re.search(r"^OK\s+TO\s+REPLY", out, re.M) and
                  re.search(r"^yes\s+ops@example\.org\s+\S", out, re.M),
                  f"table: {rc} {out!r} {errs!r}")
            check(smtp.wait_messages(1)[0].rcpt_tos == ["ops@example.org"], "sent")
            rc, out, errs = ucsctl(a, "mail", "test", "--json")
            doc = json.loads(out)
            check(rc == 0 and doc["ok"] is True and doc["to"] == "admin@example.org", out)
            smtp.fail("RCPT", 550, "5.1.1 unknown user")
            rc, out, errs = ucsctl(a, "mail", "test", "bad@example.org")
            check(rc == 4 and re.search(r"^no\s+bad@example\.org", out, re.M) and
                  "did not get through" in errs and "550" in errs,
                  f"not delivered: {rc} {out!r} {errs!r}")
            rc, out, errs = ucsctl(a, "mail", "test", "--json", "bad@example.org")
            check(rc == 4 and json.loads(out)["ok"] is False, f"--json: {rc} {out!r}")
            rc, out, errs = ucsctl(a, "mail", "test", "a@b", "c@d")
            check(rc == 1 and "too many arguments" in errs, errs)
            rc, out, errs = ucsctl(a, "mail")
            check(rc == 1 and "missing subcommand" in errs, errs)
            rc, out, errs = ucsctl(a, "mail", "test", "not an address")
            check(rc == 4 and "invalid_params" in errs, f"refused: {rc} {errs!r}")
            rc, out, errs = ucsctl(a, "mail", "--help")
            check(rc == 0 and out.startswith("usage: ucsctl mail test [TO]"), out)
            # a TO that is not UTF-8 is a usage error: never a test to the admins
            n = smtp.count()
            rc, out, errs = ucsctl(a, "mail", "test", b"ops\xff@example.org")
            check(rc == 1 and "TO is not UTF-8" in errs, f"not UTF-8: {rc} {errs!r}")
            time.sleep(0.3)
            check(smtp.count() == n, "nothing sent")
        finally:
            a.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (mail_test_ok, mail_test_failures, mail_test_no_recipient,
                                  mail_test_cancelled, stop_while_pending, not_running,
                                  not_configured,
                                  retention_apply, retention_busy, status_members, ucsctl_mail,
                                  sms_test, ucsctl_sms)})
