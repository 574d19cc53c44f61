"""tests/integration/test_notify.py - missed-call notifications end to end
(issue 7): the CSTA PBX simulator (tools/pbxsim) plays the PBX; the real
ucsd runs the dialplan, userdb-file, presence, the line manager, the CSTA
driver, the journal, notify and mail; tests/integration/smtpd.py (aiosmtpd)
is the SMTP server and records every message. svcprobe renders documents
(notify.render), shows notify's counters (notify.status) and publishes
logins (in.login).

Users (bound to their lines by first_phone; location Starnberg, so line
pbx/121 is +49 8151 36856-121), all with the service missed_calls_mail and
an address unless said otherwise:
  alice pbx/121, bob pbx/122 (company ACME: a caller with contact data),
  carl pbx/123, dave pbx/124 (no missed_calls_mail), erin pbx/125 (no
  e-mail address), gina pbx/126 and pbx/127 (two phones), hank pbx/128
  (missed_calls_sms and a mobile number; no sms plugin runs), frank no
  line: a mobile number, so calls from it carry his name.
The hunt group 130 rings gina's two phones and alice's at once.

Cases (each starts its own pbxsim, smtpd and ucsd):
  render            notify.render with the shipped template on the shipped
                    samples: HTML with the caller, the tel: links; the
                    operator's CONFIG_DIR/templates/unanswered.xslt and
                    CONFIG_DIR/languages/ replace the shipped ones
  hostile_template  an operator template reading file:///etc/passwd renders
                    nothing (the error says refused); one with xsl:include
                    stops ucsd at start with the reason
  unanswered        frank calls alice, nobody answers: one mail to alice with
                    subject, text and HTML (caller, number link, line), the
                    vCard of frank, From the configured sender; the debug
                    dump of the document lands in STATE_DIR/logs
  parallel          the hunt group rings gina twice and alice once: exactly
                    one mail each
  distribution      a sequential hunt group rings alice, then bob: with
                    recipients last only bob is mailed
  rules             forwarding on no answer alice -> bob: recipients first,
                    last, none, all (reloaded with SIGHUP between calls)
  answered          alice -> bob -> carl, carl answers: no mail; with
                    even_if_answered alice and bob get a "redirected" mail
                    naming carl
  exceptions        internal, hidden, no_contact: each suppresses (counted by
                    reason) and the same call without it is mailed; a known
                    caller passes no_contact
  exclusions        exclude (as entered and canonical), min_ring_s: the same
  repeated          repeated_same_day: the second call of a caller is not
                    mailed; repeated_not_logged_in: not until she logged in,
                    every time while a session of hers is open; an idle
                    session does not count
  services          dave (no service), erin (no address): no mail; hank
                    (SMS service, no sms plugin): logged once, no mail
  sender_vcard      caller_as_sender: bob calls alice, the mail comes from
                    bob's address; link_prefix callto: in the HTML
  sms_absent        hank twice: "no ucs.sms" is logged once
  sms               with the sms plugin and tests/integration/smsgw.py: hank's
                    missed call is an SMS to his mobile with the language's
                    text
  state_persists    the repeated-call memory survives a restart
                    (STATE_DIR/notify.json)
  not_told          a failed rendering, or no mail plugin, does not count as
                    told: the caller's next call is mailed (repeated_same_day)
  shutdown          ucsd stops while mails wait: each is handed to ucs.mail or
                    counted as dropped at shutdown
  state_files       a broken notify.json is kept as notify.json.bad and
                    logged, a leftover notify.json.N.tmp is removed, an
                    exclusion the dialplan cannot read is warned about
  bad_config        an invalid link_prefix and an unknown language stop
                    ucsd at start with the key's position
  bad_reload        a SIGHUP with an invalid prefix or a broken language file
                    keeps the running settings; a good one is taken
The journal_and_mail_* cases check the journal's rows (STATE_DIR/journal.db,
read only) and the mails of the same call:
  journal_and_mail_parallel    a parallel hunt group (alice, bob, carl),
                    nobody answers: journal missed all marks every row
                    unanswered, recipients all mails each once; then bob
                    answers: rows answered by bob, no mail
  journal_and_mail_pickup      bob picks alice's ringing call up at his phone:
                    her row answered by bob and not unanswered (forwarded
                    none), his with the pickup flag; no mail (a pickup is an
                    answer); with even_if_answered one to alice naming bob
  journal_and_mail_sequential  a sequential hunt group, alice then bob, bob
                    answers: forwarded all marks alice (answered by bob); no
                    mail, with even_if_answered one to alice
"""
import email.policy
import json
import os
import re
import signal
import sqlite3
import time

from harness import BUILD, SOURCE, Failure, Probe, Ucsd, check, main
from smsgw import SmsGateway
from smtpd import SmtpServer
from test_cti import Pbx

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
NOTIFY_SRC = os.path.join(SOURCE, "plugins", "notify")
EXTENSIONS = "120-129"
CALLER = "*700891234567"  # an outside caller nobody knows
CALLER_CANONICAL = "+49891234567"
CALLER2 = "*700897654321"
FRANK_MOBILE = "+491715550123"
FRANK_RAW = "*7001715550123"  # his mobile as the PBX reports it
FRANK_CANONICAL = FRANK_MOBILE
PILOT = "130"
MAIL = ["missed_calls_mail"]


def user(uid, ext=None, services=MAIL, email=True, **fields):
    doc = {"id": uid, "login": uid, "first_name": uid.capitalize(), "last_name": "Test",
           "services": services}
    if email:
        doc["email"] = f"{uid}@example.com"
    if ext:
        doc["first_phone"] = f"pbx/{ext}"
    doc.update(fields)
    return doc


USERS = [user("alice", 121), user("bob", 122, contact={"company": "ACME"}),
         user("carl", 123), user("dave", 124, services=[]), user("erin", 125, email=False),
         user("gina", 126, other_lines=["pbx/127"]),
         user("hank", 128, services=["missed_calls_sms"], phones={"mobile": "+491705550128"}),
         user("frank", phones={"mobile": FRANK_MOBILE}, contact={"company": "Frank & Co"})]
LINES = {"lines": [{"id": f"pbx/{n}", "journal": True} for n in range(120, 130)]}


def notify_conf(**kw):
    conf = {"recipients": "all"}
    conf.update(kw)
    return conf


class Stand:
    """pbxsim, smtpd and ucsd (journal, notify, mail) linked together; p is
    svcprobe."""

    def __init__(self, notify=None, log_level="info", files=None, pbx_extra=(), sms=False,
                 mail=True, journal=None):
        self.pbx = None
        self.smtp = None
        self.gw = None
        self.u = None
        self.p = None
        self.notify = notify or notify_conf()
        try:
            self.pbx = Pbx(extensions=EXTENSIONS,
                           extra=("--noanswer-s", "1",
                                  "--hunt-group", f"{PILOT}=parallel:126,127,121", *pbx_extra))
            self.smtp = SmtpServer()
            link = {"name": "pbx", "host": "127.0.0.1", "port": self.pbx.csta,
                    "location": "Starnberg", "devices": [EXTENSIONS], "keepalive_s": 30}
            self.config = {
                "log": {"level": log_level},
                "dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                             "default_location": "Starnberg"},
                "line-csta": {"links": [link], "reconnect_min_ms": 200,
                              "reconnect_max_ms": 1000},
                "lines": LINES,
                "journal": journal or {"unanswered": {"missed": "all", "forwarded": "all"}},
                "mail": {"smtp": {"host": "127.0.0.1", "port": self.smtp.port, "tls": "none"},
                         "from": "ucsd@example.com", "retry": {"min_s": 1, "max_s": 2}},
                "notify": self.notify}
            self.u = Ucsd(plugins=["svcprobe"],
                          tree_plugins=["dialplan", "userdb-file", "presence", "lines",
                                        "line-csta", "journal"] + (["mail"] if mail else []) +
                          ["notify"] + (["sms"] if sms else []),
                          config=self.config)
            if sms:  # the sms plugin and a gateway that records what it gets
                self.gw = SmsGateway().start()
                self.config["sms"] = {"provider": "gw", "user": "acct", "password": "pw",
                                      "providers_file": self.gw.provider_file(self.u.etc)}
                self.u.write_config(self.config)
            for name, text in (files or {}).items():
                path = os.path.join(self.u.etc, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
            users = os.path.join(self.u.state, "userdb", "users")
            os.makedirs(users)
            for d in USERS:
                with open(os.path.join(users, d["id"] + ".json"), "w") as f:
                    json.dump(d, f)
        except BaseException:
            self.close()
            raise

    def start(self):
        n = len(self.u.lines)  # a restart: the first run's lines are still there
        self.u.start()
        self.p = Probe(self.u, after=n)
        deadline = time.monotonic() + 10
        while self.pbx.ok("monitors") != "10":
            if time.monotonic() > deadline:
                raise Failure(f"pbxsim monitors: {self.pbx.ok('monitors')}\n{self.u.log()}")
            time.sleep(0.05)
        for n in range(120, 130):
            while json.loads(self.p.ok(f"ln.line pbx/{n}"))["status_name"] != "open":
                if time.monotonic() > deadline:
                    raise Failure(f"pbx/{n} does not open\n{self.u.log()}")
                time.sleep(0.05)
        self.p.ok("sub journal.call")
        return self

    def reconfigure(self, **notify):
        """SIGHUP with a new notify section; waits until notify took it."""
        self.notify = notify_conf(**notify)
        self.config["notify"] = self.notify
        self.u.write_config(self.config)
        n = len(self.u.lines)
        self.u.signal(signal.SIGHUP)
        self.u.wait_for(r"\[notify\] .*recipients ", after=n)

    def ringing(self, ext, timeout=5):
        return self.pbx.wait_state(ext, lambda st: "alerting" in st["calls"].values(),
                                   f"{ext} rings", timeout)

    def call_done(self, timeout=15):
        ev = self.p.wait_event(r"^event journal\.call ", timeout=timeout)
        return json.loads(ev.split(" ", 3)[3])

    def missed(self, caller, ext, ring=0.3):
        """caller calls ext; it rings, nobody answers, the caller hangs up."""
        self.pbx.ok(f"call {caller} {ext}")
        self.ringing(ext)
        time.sleep(ring)
        self.pbx.ok(f"hangup {caller}")
        return self.call_done()

    def status(self):
        return json.loads(self.p.ok("notify.status"))

    def rows(self, call, n, timeout=5):
        """The journal's stored rows of a call (STATE_DIR/journal.db, read
        only), by user, once there are n of them (committed within 200 ms)."""
        db = os.path.join(self.u.state, "journal.db")
        deadline = time.monotonic() + timeout
        got = []
        while True:
            if os.path.exists(db):
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                try:
                    con.row_factory = sqlite3.Row
                    got = [dict(r) for r in con.execute(
                        "SELECT * FROM entries WHERE call = ? ORDER BY seq", (call,))]
                finally:
                    con.close()
            if len(got) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        check(len(got) == n, f"call {call}: {n} journal rows expected, got {got}")
        out = {}
        for row in got:
            check(row["user"] not in out, f"one row per user and call: {got}")
            out[row["user"]] = row
        return out

    def mails(self, n, timeout=10):
        """Exactly n messages arrive (and no more within a short while)."""
        try:
            msgs = self.smtp.wait_messages(n, timeout=timeout)
        except TimeoutError:
            raise Failure(f"{n} mails expected, got {self.smtp.count()}: "
                          f"{[m.rcpt_tos for m in self.smtp.messages]}") from None
        time.sleep(0.5)
        check(self.smtp.count() == n,
              f"exactly {n} mails, got {[m.rcpt_tos for m in self.smtp.messages]}")
        return msgs

    def no_mail(self, what, wait=1.0):
        time.sleep(wait)
        check(self.smtp.count() == 0,
              f"{what}: no mail expected, got {[m.rcpt_tos for m in self.smtp.messages]}")

    def stop(self):
        if self.p:
            self.p.close()
            self.p = None
        rc, _ = self.u.stop()
        check(rc == 0, f"ucsd exits 0 ({rc})")
        self.pbx.close()

    def close(self):
        if self.p:
            self.p.close()
        if self.u:
            self.u.close()
        if self.pbx:
            self.pbx.close(check_exit=False)
        if self.smtp:
            self.smtp.close()
        if self.gw:
            self.gw.close()


def run(body, **kw):
    s = Stand(**kw)
    try:
        s.start()
        try:
            body(s)
        except Failure as e:
            raise Failure(f"{e}\n--- ucsd ---\n{s.u.log()[-8000:]}\n--- pbxsim ---\n"
                          f"{s.pbx.log(30)}") from None
        s.stop()
    finally:
        s.close()


def parts(m):
    """(text, html, [(content type, filename, payload)]) of a message."""
    msg = m.msg
    text = html = None
    atts = []
    for part in msg.walk():
        ct = part.get_content_type()
        if part.get_content_disposition() == "attachment":
            atts.append((ct, part.get_filename(), part.get_content()))
        elif ct == "text/plain" and text is None:
            text = part.get_content()
        elif ct == "text/html" and html is None:
            html = part.get_content()
    return text, html, atts


def to_of(m):
    return sorted(a.lower() for a in m.rcpt_tos)


def recipients(msgs):
    return sorted(a for m in msgs for a in to_of(m))


# ---- cases ------------------------------------------------------------------------------

def render():
    sample_u = os.path.join(NOTIFY_SRC, "templates", "default", "sample_unanswered.xml")
    sample_r = os.path.join(NOTIFY_SRC, "templates", "default", "sample_redirected.xml")

    def body(s):
        got = json.loads(s.p.ok(f"notify.render {sample_u}"))
        html = got["html"]
        check("Missed call" in html and "Bob Builder" in html, f"caller: {html}")
        check('<a href="tel:+4989123456">+49 89 123456</a>' in html, f"link: {html}")
        check(html.lstrip().startswith("<!DOCTYPE") and "</html>" in html, f"html: {html}")
        got = json.loads(s.p.ok(f"notify.render {sample_r}"))
        check("Carol Clerk" in got["html"] and "Answered by" in got["html"], f"{got}")
        err = s.p.cmd("notify.render /nonexistent.xml")
        check(err.startswith("err "), f"a missing file: {err}")
    run(body)

    # the operator's template and language replace the shipped ones
    mine = ('<?xml version="1.0"?>\n<xsl:stylesheet version="1.0" '
            'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:output method="html"/>'
            '<xsl:template match="/"><p>OPERATOR <xsl:value-of select="/notification/caller/'
            'display"/> <xsl:value-of select="//string[@name=\'greeting\']"/></p>'
            '</xsl:template></xsl:stylesheet>\n')
    lang = ('<language code="xx" name="Test"><string name="greeting">Hallo %SERVER%</string>'
            '<string name="subject_unanswered">XX %CALLER%</string></language>')

    def body2(s):
        got = json.loads(s.p.ok(f"notify.render {sample_u}"))
        check(got["html"].strip() == "<p>OPERATOR Bob Builder</p>", f"operator's: {got}")
        check(s.u.has(r"\[notify\] .*template " + re.escape(s.u.etc) +
                      r"/templates/unanswered\.xslt, language xx"), "logged")
        # a real call: the language's subject, its strings in the document
        s.missed(CALLER, 121)
        m = s.mails(1)[0]
        check(m.msg["subject"] == "XX +49 (89) 1234567", f"subject: {m.msg['subject']}")
        _, html, _ = parts(m)
        check("OPERATOR +49 (89) 1234567Hallo ucsd" in html, f"html: {html}")
    run(body2, notify=notify_conf(language="xx"),
        files={"templates/unanswered.xslt": mine, "languages/xx.xml": lang})


def hostile_template():
    reader = ('<?xml version="1.0"?>\n<xsl:stylesheet version="1.0" '
              'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/">'
              '<pre><xsl:copy-of select="document(\'file:///etc/passwd\')"/></pre>'
              '</xsl:template></xsl:stylesheet>\n')
    sample_u = os.path.join(NOTIFY_SRC, "templates", "default", "sample_unanswered.xml")

    def body(s):
        got = s.p.cmd(f"notify.render {sample_u}")
        check(got.startswith("err EINVAL ") and "refused" in got and "root:" not in got,
              f"document() of a file: {got}")
        # a call: no mail, an error naming the template, the server runs on
        s.missed(CALLER, 121)
        s.u.wait_for(r"\[notify\] .*no missed-call mail to alice: the template "
                     r"\S*/templates/unanswered\.xslt failed: .*refused")
        s.no_mail("a template that failed", wait=0.5)
        check(s.status()["render_errors"] == 1, f"{s.status()}")
    run(body, files={"templates/unanswered.xslt": reader})

    include = ('<?xml version="1.0"?>\n<xsl:stylesheet version="1.0" '
               'xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
               '<xsl:include href="/etc/passwd"/></xsl:stylesheet>\n')
    u = Ucsd(plugins=[], tree_plugins=["dialplan", "userdb-file", "presence", "notify"],
             config={})
    try:
        path = os.path.join(u.etc, "templates", "unanswered.xslt")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write(include)
        u.start(wait=False)
        rc = u.wait_exit(timeout=20)
        check(rc != 0, f"ucsd refuses to start: {rc}")
        check(u.has(r"\[notify\] template .*unanswered\.xslt: line \d+: xsl:include is not "
                    r"allowed"), f"the reason is logged:\n{u.log()}")
    finally:
        u.close()


def unanswered():
    def body(s):
        c = s.missed(FRANK_RAW, 121, ring=1.2)
        check(c["remote_user"] == "frank", f"frank is known: {c}")
        m = s.mails(1)[0]
        check(to_of(m) == ["alice@example.com"], f"to alice: {m.rcpt_tos}")
        check(m.msg["subject"] == "Missed call from Frank Test", f"{m.msg['subject']}")
        check("ucsd@example.com" in m.msg["from"], f"the configured sender: {m.msg['from']}")
        text, html, atts = parts(m)
        check("Frank Test" in text and "121" in text, f"text: {text}")
        check("Frank Test" in html and "Frank &amp; Co" in html, f"caller in html: {html}")
        check(f'href="tel:{FRANK_CANONICAL}"' in html, f"tel: link: {html}")
        check("Call back" in html and "121" in html, f"{html}")
        check(len(atts) == 1 and atts[0][0] == "text/vcard", f"a vCard: {atts}")
        vc = atts[0][2] if isinstance(atts[0][2], str) else atts[0][2].decode()
        check("FN:Frank Test" in vc and "ORG:Frank & Co" in vc and FRANK_MOBILE in vc,
              f"vcard: {vc}")
        # the document for template authors, at debug level
        logs = os.path.join(s.u.state, "logs")
        dumps = [f for f in os.listdir(logs) if f.startswith("notify-")] \
            if os.path.isdir(logs) else []
        check(len(dumps) == 1 and dumps[0].endswith("-alice.xml"), f"one dump: {dumps}")
        with open(os.path.join(logs, dumps[0])) as f:
            doc = f.read()
        check("<notification " in doc and f'canonical="{FRANK_CANONICAL}"' in doc, doc)
        # and the rendering of that dump is the mail's HTML
        got = json.loads(s.p.ok("notify.render " + os.path.join(logs, dumps[0])))
        check("Frank Test" in got["html"] and f'href="tel:{FRANK_CANONICAL}"' in got["html"],
              f"the dump renders: {got}")
        st = s.status()
        check(st["mails"] == 1 and st["calls"] == 1, f"{st}")
    run(body, notify=notify_conf(vcard=True), log_level="debug")


def parallel():
    def body(s):
        s.pbx.ok(f"call {CALLER} {PILOT}")
        for ext in (126, 127, 121):
            s.ringing(ext)
        time.sleep(0.5)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        users = sorted(p["user"] for p in c["parts"])
        check(users == ["alice", "gina"], f"gina (two phones) and alice rang: {c}")
        msgs = s.mails(2)
        check(recipients(msgs) == ["alice@example.com", "gina@example.com"],
              f"one mail per person: {recipients(msgs)}")
        # a journal that lists a person once per line (a distribution that
        # came back to her): still one mail each
        s.smtp.reset()
        now = int(time.time() * 1000)
        part = {"rang": 1, "alerting_ms": now - 9000, "ended_ms": now - 1000}
        s.p.ok("notify.call " + json.dumps({
            "call": "synthetic-1", "remote": CALLER2[4:], "remote_display": CALLER2[4:],
            "contact_found": 0, "started_ms": now - 10000, "ended_ms": now,
            "parts": [dict(part, user="gina", line="pbx/126"),
                      dict(part, user="carl", line="pbx/123"),
                      dict(part, user="gina", line="pbx/127"),
                      dict(part, user="gina", line="pbx/126")]}))
        msgs = s.mails(2)
        check(recipients(msgs) == ["carl@example.com", "gina@example.com"],
              f"one mail per person: {recipients(msgs)}")
    run(body)


def distribution():
    def body(s):
        s.pbx.ok(f"call {CALLER} 131")
        s.ringing(121)
        s.ringing(122, timeout=5)  # after alice's 1 s
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check([p["user"] for p in c["parts"]] == ["alice", "bob"], f"ringing order {c}")
        msgs = s.mails(1)
        check(recipients(msgs) == ["bob@example.com"], f"the last: {recipients(msgs)}")
    run(body, notify=notify_conf(recipients="last"),
        pbx_extra=("--hunt-group", "131=sequential:121,122:1"))


def rules():
    def call(s):
        s.smtp.reset()
        s.pbx.ok("forward 121 noanswer 122")
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.ringing(122, timeout=5)
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check([p["user"] for p in c["parts"]] == ["alice", "bob"], f"ringing order {c}")

    def body(s):
        for rule, want in (("first", ["alice"]), ("last", ["bob"]), ("none", []),
                           ("all", ["alice", "bob"])):
            s.reconfigure(recipients=rule)
            call(s)
            if want:
                msgs = s.mails(len(want))
                check(recipients(msgs) == [f"{u}@example.com" for u in want],
                      f"recipients={rule}: {recipients(msgs)}")
            else:
                s.no_mail("recipients=none")
    run(body)


def answered():
    def call(s):
        s.smtp.reset()
        s.pbx.ok("forward 121 noanswer 122")
        s.pbx.ok("forward 122 noanswer 123")
        s.pbx.ok(f"call {CALLER} 121")
        s.ringing(121)
        s.ringing(122)
        s.ringing(123)
        s.pbx.ok("answer 123")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(c["answered"] == 1 and c["answered_user"] == "carl", f"{c}")

    def body(s):
        call(s)
        s.no_mail("answered by carl")
        check(s.status()["suppressed"]["answered"] == 2, f"{s.status()}")
        s.reconfigure(even_if_answered=True)
        call(s)
        msgs = s.mails(2)
        check(recipients(msgs) == ["alice@example.com", "bob@example.com"],
              f"the two who did not answer: {recipients(msgs)}")
        for m in msgs:
            check(m.msg["subject"] == "Call from +49 (89) 1234567 answered by Carl Test",
                  f"{m.msg['subject']}")
            _, html, _ = parts(m)
            check("Answered by" in html and "Carl Test" in html, f"{html}")
    run(body)


# ---- journal rows and mails of the same call (issue 7) ------------------------------------

CALLF_PICKUP = 1 << 1  # journal entries.flags (plugins/journal, abi/ucs/lines.h)
END_PICKED_UP = 2  # entries.ended_by
HUNT_PAR = "132"  # alice, bob, carl at once
HUNT_SEQ = "133"  # alice, then bob (1 s each)
HUNTS = ("--hunt-group", f"{HUNT_PAR}=parallel:121,122,123",
         "--hunt-group", f"{HUNT_SEQ}=sequential:121,122:1")


def journal_conf(missed="all", forwarded="all"):
    return {"unanswered": {"missed": missed, "forwarded": forwarded}}


def journal_and_mail_parallel():
    """A parallel hunt group rings alice, bob and carl: nobody answers -
    every row unanswered (missed all) and one mail each (recipients all);
    then bob answers - rows answered by bob, no mail."""
    def body(s):
        s.pbx.ok(f"call {CALLER} {HUNT_PAR}")
        for ext in (121, 122, 123):
            s.ringing(ext)
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER}")
        c = s.call_done()
        check(c["answered"] == 0, f"nobody answered: {c}")
        rows = s.rows(c["call"], 3)
        check(sorted(rows) == ["alice", "bob", "carl"], f"{rows}")
        for u, r in rows.items():
            check(r["unanswered"] == 1 and r["answered"] == 0 and r["answered_user"] == "",
                  f"missed=all: {u}: {r}")
        msgs = s.mails(3)
        check(recipients(msgs) == ["alice@example.com", "bob@example.com",
                                   "carl@example.com"], f"one mail each: {recipients(msgs)}")
        for m in msgs:
            check(m.msg["subject"] == "Missed call from +49 (89) 1234567", m.msg["subject"])

        s.smtp.reset()
        s.pbx.ok(f"call {CALLER2} {HUNT_PAR}")
        for ext in (121, 122, 123):
            s.ringing(ext)
        s.pbx.ok("answer 122")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {CALLER2}")
        c = s.call_done()
        check(c["answered"] == 1 and c["answered_user"] == "bob", f"{c}")
        rows = s.rows(c["call"], 3)
        check(rows["bob"]["answered"] == 1 and rows["bob"]["unanswered"] == 0,
              f"bob: {rows['bob']}")
        for u in ("alice", "carl"):
            check(rows[u]["answered_user"] == "bob", f"answered by bob: {u}: {rows[u]}")
        s.no_mail("bob answered (even_if_answered false)")
        check(s.status()["suppressed"]["answered"] == 2, f"alice and carl: {s.status()}")
    run(body, journal=journal_conf("all", "none"), pbx_extra=HUNTS)


def journal_and_mail_pickup():
    """bob picks alice's ringing call up at his phone (pbxsim pickup 122
    121): answered elsewhere for alice (not unanswered: the missed rule does
    not apply, forwarded none), bob's row with the pickup flag; no missed-call
    mail (a pickup is an answer); with even_if_answered alice's mail names
    bob."""
    def call(s, caller):
        s.smtp.reset()
        s.pbx.ok(f"call {caller} 121")
        s.ringing(121)
        s.pbx.ok("pickup 122 121")
        s.pbx.wait_state(122, lambda st: "connected" in st["calls"].values(), "bob talks")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {caller}")
        c = s.call_done()
        check(c["answered"] == 1 and c["answered_user"] == "bob", f"{c}")
        rows = s.rows(c["call"], 2)
        a, b = rows["alice"], rows["bob"]
        check(a["answered_user"] == "bob" and a["unanswered"] == 0
              and a["ended_by"] == END_PICKED_UP, f"alice: {a}")
        check(b["answered"] == 1 and b["unanswered"] == 0 and b["flags"] & CALLF_PICKUP,
              f"bob picked it up: {b}")

    def body(s):
        call(s, CALLER)
        s.no_mail("picked up by bob")
        check(s.status()["suppressed"]["answered"] == 1, f"{s.status()}")
        s.reconfigure(even_if_answered=True)
        call(s, CALLER2)
        msgs = s.mails(1)
        check(recipients(msgs) == ["alice@example.com"], f"only alice: {recipients(msgs)}")
        m = msgs[0]
        check(m.msg["subject"] == "Call from +49 (89) 7654321 answered by Bob Test",
              f"{m.msg['subject']}")
        text, html, _ = parts(m)
        check("Answered by" in html and "Bob Test" in html, f"html: {html}")
        check("Bob Test" in text, f"text: {text}")
    run(body, journal=journal_conf("all", "none"))


def journal_and_mail_sequential():
    """A sequential hunt group rings alice, then bob, who answers: alice's
    row per forwarded=all (unanswered, answered by bob), bob's answered; the
    mail per recipients all: none, then with even_if_answered one to alice."""
    def call(s, caller):
        s.smtp.reset()
        s.pbx.ok(f"call {caller} {HUNT_SEQ}")
        s.ringing(121)
        s.ringing(122)
        s.pbx.ok("answer 122")
        time.sleep(0.3)
        s.pbx.ok(f"hangup {caller}")
        c = s.call_done()
        check([p["user"] for p in c["parts"]] == ["alice", "bob"], f"ringing order {c}")
        check(c["answered"] == 1 and c["answered_user"] == "bob", f"{c}")
        rows = s.rows(c["call"], 2)
        a, b = rows["alice"], rows["bob"]
        check(a["unanswered"] == 1 and a["answered_user"] == "bob", f"forwarded=all: {a}")
        check(b["answered"] == 1 and b["unanswered"] == 0, f"bob: {b}")

    def body(s):
        call(s, CALLER)
        s.no_mail("bob answered (even_if_answered false)")
        check(s.status()["suppressed"]["answered"] == 1, f"{s.status()}")
        s.reconfigure(even_if_answered=True)
        call(s, CALLER2)
        msgs = s.mails(1)
        check(recipients(msgs) == ["alice@example.com"], f"alice only: {recipients(msgs)}")
        check(msgs[0].msg["subject"] == "Call from +49 (89) 7654321 answered by Bob Test",
              f"{msgs[0].msg['subject']}")
    run(body, journal=journal_conf("all", "all"), pbx_extra=HUNTS)


def _exceptions(cases):
    def body(s):
        # each exception: on -> suppressed (counted), off -> the same call is mailed
        for reason, ex, make in cases(s):
            before = s.status()["suppressed"][reason]
            s.reconfigure(exceptions=ex)
            s.smtp.reset()
            make()
            after = s.status()["suppressed"][reason]
            check(after == before + 1, f"{reason}: counted ({before} -> {after})")
            s.no_mail(reason, wait=0.5)
            s.reconfigure(exceptions={})
            make()
            msgs = s.mails(1)
            check(to_of(msgs[0]) == ["alice@example.com"], f"{reason} off: {msgs[0].rcpt_tos}")
    return body


def exceptions():
    def cases(s):
        return [("internal", {"internal": True}, lambda: s.missed("122", 121)),
                ("hidden", {"hidden": True}, lambda: s.missed("anonymous", 121)),
                ("no_contact", {"no_contact": True}, lambda: s.missed(CALLER, 121))]
    body = _exceptions(cases)

    def more(s):
        body(s)
        # a known caller is no "no contact"
        s.reconfigure(exceptions={"no_contact": True})
        s.smtp.reset()
        s.missed(FRANK_RAW, 121)
        s.mails(1)
    run(more)


def exclusions():
    def cases(s):
        return [("excluded", {"exclude": ["089 1234567"]}, lambda: s.missed(CALLER, 121)),
                ("excluded", {"exclude": [CALLER_CANONICAL]}, lambda: s.missed(CALLER, 121)),
                ("short_ring", {"min_ring_s": 2}, lambda: s.missed(CALLER, 121, ring=0.2))]
    run(_exceptions(cases))


def repeated():
    def body(s):
        s.missed(CALLER, 121)
        s.mails(1)
        s.smtp.reset()
        s.missed(CALLER, 121)
        s.no_mail("the same caller the same day")
        check(s.status()["suppressed"]["repeated_same_day"] == 1, f"{s.status()}")
        s.missed(CALLER2, 121)  # another caller is told
        s.mails(1)

        s.reconfigure(exceptions={"repeated_not_logged_in": True})
        s.smtp.reset()
        s.missed(CALLER, 121)
        s.no_mail("not logged in since")
        check(s.status()["suppressed"]["repeated_not_logged_in"] == 1, f"{s.status()}")
        s.p.ok("in.login alice s1 1 0")
        s.missed(CALLER, 121)
        s.mails(1)
        # while her session is open she is told every time; after she left,
        # not again until she comes back
        s.smtp.reset()
        s.missed(CALLER, 121)
        s.mails(1)
        s.p.ok("in.login alice s1 0 0")
        s.smtp.reset()
        s.missed(CALLER, 121)
        s.no_mail("she left after the last message")
        check(s.status()["suppressed"]["repeated_not_logged_in"] == 2, f"{s.status()}")
        # an idle session (nobody at the client) is not a login
        s.p.ok("in.login alice s2 1 1")
        s.missed(CALLER, 121)
        s.no_mail("her only session is idle")
        check(s.status()["suppressed"]["repeated_not_logged_in"] == 3, f"{s.status()}")
        # ... until it shows activity
        s.p.ok("in.login alice s2 1 0")
        s.missed(CALLER, 121)
        s.mails(1)
    run(body, notify=notify_conf(exceptions={"repeated_same_day": True}))


def services():
    def body(s):
        for ext in (124, 125):
            s.missed(CALLER, ext)
        s.missed(CALLER2, 128)
        s.no_mail("dave, erin, hank")
        st = s.status()
        check(st["suppressed"]["no_service"] == 1 and st["suppressed"]["no_address"] == 1,
              f"dave has no service, erin no address: {st}")
        check(st["sms_errors"] == 1, f"hank's SMS could not go: {st}")
        check(s.u.has(r"\[notify\] .*no ucs\.sms"), "logged")
        s.missed(CALLER, 121)
        s.mails(1)
    run(body)


def sender_vcard():
    def body(s):
        c = s.missed("122", 121)
        check(c["internal"] == 1 and c["remote_user"] == "bob", f"{c}")
        m = s.mails(1)[0]
        check("bob@example.com" in m.msg["from"] and "Bob Test" in m.msg["from"],
              f"from the caller: {m.msg['from']}")
        _, html, atts = parts(m)
        check('href="callto:+49815136856122"' in html, f"callto: links: {html}")
        check("tel:" not in html, f"no tel: {html}")
        check(len(atts) == 1 and "ORG:ACME" in str(atts[0][2]), f"bob's vcard {atts}")
        # an outside caller nobody knows: the configured sender and no vCard
        s.smtp.reset()
        s.missed(CALLER, 121)
        m = s.mails(1)[0]
        check("ucsd@example.com" in m.msg["from"], f"{m.msg['from']}")
        check(parts(m)[2] == [], "no contact, no vCard")
    run(body, notify=notify_conf(caller_as_sender=True, vcard=True, link_prefix="callto:"))


def sms_absent():
    def body(s):
        s.missed(CALLER, 128)
        s.missed(CALLER2, 128)
        time.sleep(0.5)
        check(len(re.findall(r"no ucs\.sms", s.u.log())) == 1, "logged once")
        check(s.status()["sms_errors"] == 2, f"{s.status()}")
        check(s.smtp.count() == 0, "hank has no mail service")
    run(body)


def sms():
    def body(s):
        s.missed(CALLER, 128)
        r = s.gw.wait_requests(1)[0]
        text = r["params"]["text"]
        check(r["params"]["to"].endswith("491705550128"), f"to hank's mobile: {r}")
        check(text.startswith("Missed call from +49 (89) 1234567 "), f"the text: {text}")
        deadline = time.monotonic() + 10
        while s.status()["sms"] != 1:
            check(time.monotonic() < deadline, f"sms counted: {s.status()}")
            time.sleep(0.1)
        check(s.u.has(r"\[notify\] missed-call SMS to hank sent"), "logged")
        check(s.smtp.count() == 0, "hank has no mail service")
        # the same caller again is a new SMS (no exception configured)
        s.missed(CALLER, 128)
        check(len(s.gw.wait_requests(2)) == 2, "a second SMS")
    run(body, sms=True)


def state_persists():
    s = Stand(notify=notify_conf(exceptions={"repeated_same_day": True}))
    try:
        s.start()
        s.missed(CALLER, 121)
        s.mails(1)
        s.stop()
        path = os.path.join(s.u.state, "notify.json")
        with open(path) as f:
            st = json.load(f)
        check(any(e["user"] == "alice" and e["caller"] == CALLER_CANONICAL
                  for e in st["notified"]), f"remembered: {st}")
        s.smtp.reset()
        s.pbx = Pbx(extensions=EXTENSIONS, extra=("--noanswer-s", "1"))
        s.config["line-csta"]["links"][0]["port"] = s.pbx.csta
        s.u.write_config(s.config)
        s.start()
        check(s.u.has(r"\[notify\] repeated-call memory: 1 callers from "), "loaded")
        s.missed(CALLER, 121)
        s.no_mail("remembered across the restart")
        s.stop()
    finally:
        s.close()


FAILING = ('<?xml version="1.0"?>\n<xsl:stylesheet version="1.0" '
           'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:template match="/">'
           '<xsl:message terminate="yes">no mail today</xsl:message>'
           '</xsl:template></xsl:stylesheet>\n')


def not_told():
    """A mail that never went does not count as told: with repeated_same_day
    the caller's next call is still mailed after a failed rendering, and
    after calls while ucs.mail was absent."""
    def body(s):
        s.missed(CALLER, 121)
        s.u.wait_for(r"\[notify\] .*no missed-call mail to alice: the template "
                     r"\S*/templates/unanswered\.xslt failed: .*no mail today")
        check(s.status()["render_errors"] == 1, f"{s.status()}")
        # the operator fixes the template
        os.remove(os.path.join(s.u.etc, "templates", "unanswered.xslt"))
        s.reconfigure(exceptions={"repeated_same_day": True})
        s.missed(CALLER, 121)
        s.mails(1)
        check(s.status()["suppressed"]["repeated_same_day"] == 0, f"{s.status()}")
        # now she was told: the next call is suppressed
        s.smtp.reset()
        s.missed(CALLER, 121)
        s.no_mail("told once today")
        check(s.status()["suppressed"]["repeated_same_day"] == 1, f"{s.status()}")
    run(body, notify=notify_conf(exceptions={"repeated_same_day": True}),
        files={"templates/unanswered.xslt": FAILING})

    def no_mail_plugin(s):
        s.missed(CALLER, 121)
        s.missed(CALLER, 121)
        deadline = time.monotonic() + 10
        while s.status()["mail_errors"] < 2:
            check(time.monotonic() < deadline, f"two mails could not go: {s.status()}")
            time.sleep(0.1)
        st = s.status()
        check(st["suppressed"]["repeated_same_day"] == 0 and st["mails"] == 0,
              f"not told, so not suppressed: {st}")
        check(s.u.has(r"\[notify\] no ucs\.mail"), "logged")
    run(no_mail_plugin, notify=notify_conf(exceptions={"repeated_same_day": True}), mail=False)


def shutdown():
    """ucsd stops while mails wait: each is either handed to ucs.mail or
    counted in "N missed-call mails dropped at shutdown" - none vanishes."""
    n = 300
    smtp = SmtpServer()
    u = Ucsd(plugins=["svcprobe"],
             tree_plugins=["dialplan", "userdb-file", "presence", "notify", "mail"],
             config={"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                                  "default_location": "Starnberg"},
                     "mail": {"smtp": {"host": "127.0.0.1", "port": smtp.port, "tls": "none"},
                              "from": "ucsd@example.com"},
                     "notify": {}})
    try:
        users = os.path.join(u.state, "userdb", "users")
        os.makedirs(users)
        with open(os.path.join(users, "alice.json"), "w") as f:
            json.dump(user("alice"), f)
        u.start()
        p = Probe(u, timeout=60)
        now = int(time.time() * 1000)
        lines = []
        for i in range(n):
            number = f"+4989{2000000 + i}"
            lines.append("notify.call " + json.dumps({
                "call": f"sd-{i}", "remote": number, "remote_display": number,
                "contact_found": 1, "started_ms": now, "ended_ms": now + 15000,
                "parts": [{"user": "alice", "line": "pbx/121", "rang": 1,
                           "alerting_ms": now + 1000, "ended_ms": now + 15000}]}))
        p.sock.sendall(("\n".join(lines) + "\n").encode())
        for _ in lines:
            got = p._line(time.monotonic() + 30)
            check(got.startswith("ok"), f"notify.call: {got}")
        p.close()
        rc, _ = u.stop()
        check(rc == 0, f"clean exit ({rc})")
        log = u.log()
        queued = len(re.findall(r"\[notify\] call sd-\d+: missed-call mail to alice .*queued as",
                                log))
        m = re.search(r"\[notify\] (\d+) missed-call mails dropped at shutdown", log)
        dropped = int(m.group(1)) if m else 0
        print(f"# {queued} queued, {dropped} dropped at shutdown")
        check(queued + dropped == n, f"{queued} queued + {dropped} dropped != {n}")
    finally:
        u.close()
        smtp.close()


def state_files():
    """An unusable notify.json is kept as notify.json.bad (and said so), a
    leftover temp file of an interrupted save is removed, and an exclusion
    the dialplan cannot read is warned about."""
    u = Ucsd(plugins=[], tree_plugins=["dialplan", "userdb-file", "presence", "notify"],
             config={"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                                  "default_location": "Starnberg"},
                     "notify": {"exceptions": {"exclude": ["0891234567", "no number"]}}})
    try:
        os.makedirs(u.state, exist_ok=True)
        path = os.path.join(u.state, "notify.json")
        with open(path, "w") as f:
            f.write('{"version": 1, "notified": [')
        with open(path + ".17.tmp", "w") as f:
            f.write("half")
        u.start()
        check(u.has(r"\[notify\] .*notify\.json: .*starting without the repeated-call "
                    r"memory"), f"the broken file is named:\n{u.log()}")
        check(u.has(r"\[notify\] kept the unusable state file as \S*notify\.json\.bad"),
              f"kept:\n{u.log()}")
        with open(path + ".bad") as f:
            check(f.read() == '{"version": 1, "notified": [', "the .bad copy is the file")
        check(not os.path.exists(path + ".17.tmp"), "the leftover is gone")
        check(u.has(r"\[notify\] removed \S*notify\.json\.17\.tmp"), f"{u.log()}")
        check(u.has(r'\[notify\] .*exclude\[1\] "no number" cannot be normalised'),
              f"warned:\n{u.log()}")
        check(not u.has(r'exclude\[0\] .* cannot be normalised'), f"{u.log()}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def bad_config():
    for conf, pattern in (({"link_prefix": "verylongprefix:"}, r"link_prefix .* is invalid"),
                          ({"link_prefix": "tel"}, r"link_prefix .* is invalid"),
                          ({"language": "zz"}, r"no language file for \"zz\"")):
        u = Ucsd(plugins=[], tree_plugins=["dialplan", "userdb-file", "presence", "notify"],
                 config={"notify": conf})
        try:
            u.start(wait=False)
            rc = u.wait_exit(timeout=20)
            check(rc != 0, f"{conf}: ucsd refuses to start ({rc})")
            check(u.has(r"\[notify\] .*ucsd\.json:\d+:\d+: " + pattern), f"{conf}:\n{u.log()}")
        finally:
            u.close()


def bad_reload():
    """A SIGHUP with an invalid notify section keeps the running settings."""
    sample = os.path.join(NOTIFY_SRC, "templates", "default", "sample_unanswered.xml")
    conf = {"notify": {"link_prefix": "callto:"}}
    u = Ucsd(plugins=["svcprobe"], tree_plugins=["dialplan", "userdb-file", "presence", "notify"],
             config=conf)
    try:
        u.start()
        p = Probe(u)
        check("Bob Builder" in json.loads(p.ok(f"notify.render {sample}"))["html"], "renders")
        n = len(u.lines)
        u.write_config({"notify": {"link_prefix": "this is no prefix:", "language": "de"}})
        u.signal(signal.SIGHUP)
        u.wait_for(r"\[notify\] reload refused: keeping the previous notify settings", after=n)
        check(not u.has(r"\[notify\] recipients .*language de"), "German was not taken")
        # the language file is part of the settings: a broken one is refused too
        os.makedirs(os.path.join(u.etc, "languages"))
        with open(os.path.join(u.etc, "languages", "xx.xml"), "w") as f:
            f.write('<language code="xx"><string name="a">1</string><string name="a">2'
                    '</string></language>')
        n = len(u.lines)
        u.write_config({"notify": {"language": "xx"}})
        u.signal(signal.SIGHUP)
        u.wait_for(r"\[notify\] language file .*xx\.xml: line 1: string \"a\" is defined "
                   r"twice", after=n)
        u.wait_for(r"\[notify\] reload refused", after=n)
        n = len(u.lines)
        u.write_config({"notify": {"language": "de"}})
        u.signal(signal.SIGHUP)
        u.wait_for(r"\[notify\] recipients all, .*language de", after=n)
        p.close()
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


if __name__ == "__main__":
    main({"render": render, "hostile_template": hostile_template, "unanswered": unanswered,
          "parallel": parallel, "distribution": distribution, "rules": rules, "answered": answered,
          "exceptions": exceptions, "exclusions": exclusions, "repeated": repeated, "services": services,
          "sender_vcard": sender_vcard, "sms_absent": sms_absent, "sms": sms,
          "state_persists": state_persists, "not_told": not_told, "state_files": state_files,
          "shutdown": shutdown,
          "journal_and_mail_parallel": journal_and_mail_parallel,
          "journal_and_mail_pickup": journal_and_mail_pickup,
          "journal_and_mail_sequential": journal_and_mail_sequential,
          "bad_config": bad_config,
          "bad_reload": bad_reload})
