"""tests/integration/test_mail.py - the mail plugin inside ucsd, against a
real SMTP server (aiosmtpd, tests/integration/smtpd.py) and, for broken
servers, a fake one written here.

ucsd runs the tree's mail.so and the svcprobe test plugin, which puts the
ucs.mail service on a line protocol (tests/plugins/svcprobe_mail.c):
mail.submit, mail.burst, mail.test, mail.status, mail.log. Every case starts
its own servers on ports picked at run time and stops them also on failure.
"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from harness import Failure, Probe, Ucsd, check, main
from smtpd import SmtpServer

PASSWORD = "s3cret-Pa55"


def mail_config(port, **kw):
    smtp = {"host": "127.0.0.1", "port": port, "tls": "none"}
    smtp.update(kw.pop("smtp", {}))
    cfg = {"smtp": smtp, "from": "ucsd@example.com", "retry": {"min_s": 1, "max_s": 2},
           "timeout_s": 5}
    cfg.update(kw)
    return cfg


class Env:
    """ucsd with mail + svcprobe, and the servers a case started."""

    def __init__(self, mail, servers=()):
        self.servers = list(servers)
        self.u = Ucsd(plugins=["svcprobe"], tree_plugins=["mail"],
                      config={"svcprobe": {"port": 0}, "mail": mail})
        self.p = None
        self.base = 0  # log lines of this process start here

    def wait_for(self, pattern, timeout=10):
        return self.u.wait_for(pattern, timeout=timeout, after=self.base)

    def start(self):
        self.u.start()
        self.p = Probe(self.u)
        return self

    def restart(self, kill=False):
        if self.p:
            self.p.close()
            self.p = None
        if kill:
            self.u.proc.kill()
            self.u.proc.wait()
            self.u._drain()
        else:
            rc, _ = self.u.stop()
            check(rc == 0, f"ucsd exit status {rc}")
        with self.u.cond:
            self.u.lines.append("--- restart ---")
            self.base = len(self.u.lines)
        self.u.proc = None
        self.u.start(wait=False)
        self.wait_for(r"\[core\] ucsd \S+ started")
        self.p = Probe(self.u, after=self.base)

    def status(self):
        return json.loads(self.p.ok("mail.status"))

    def wait_status(self, pred, timeout=15, what="status"):
        deadline = time.monotonic() + timeout
        while True:
            st = self.status()
            if pred(st):
                return st
            if time.monotonic() > deadline:
                raise Failure(f"{what} not reached within {timeout}s: {st}")
            time.sleep(0.1)

    def submit(self, **m):
        return self.p.cmd("mail.submit " + json.dumps(m))

    def outbox(self, sub=""):
        d = os.path.join(self.u.state, "mail", "outbox", sub)
        return sorted(f for f in os.listdir(d) if os.path.isfile(os.path.join(d, f)))

    def close(self):
        if self.p:
            self.p.close()
        self.u.close()
        for s in self.servers:
            s.close()


def run(case_fn, mail, servers):
    env = Env(mail, servers)
    try:
        env.start()
        case_fn(env)
        rc, _ = env.u.stop()
        check(rc == 0, f"ucsd exit status {rc}")
        check(PASSWORD not in env.u.log(), "the SMTP password appears in the log")
    finally:
        env.close()


def find_part(msg, ctype):
    for part in msg.walk():
        if part.get_content_type() == ctype:
            return part
    raise Failure(f"no {ctype} part in:\n{msg.as_string()[:2000]}")


# ---- cases ----

def deliver():
    s = SmtpServer()

    def case(env):
        vcard = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:J\xc3\xbcrgen\r\nEND:VCARD\r\n\x00\xff"
        got = env.submit(to="alice@example.com; Bob Builder <bob@example.org>",
                         subject="Verpasster Anruf von Jürgen", from_name="Zentrale Nord",
                         reply_to="noreply@example.com",
                         text="Hallo Alice,\n.ein Punkt am Zeilenanfang\nGrüße",
                         html="<p>Hallo <b>Alice</b> &ndash; Grüße</p>",
                         attachments=[{"filename": "Jürgen Müller.vcf",
                                       "content_type": "text/vcard",
                                       "data_b64": base64.b64encode(vcard).decode()}],
                         origin="notify")
        check(got.startswith("ok id=<"), got)
        msg_id = got[len("ok id="):]
        m = s.wait_messages(1)[0]
        check(m.mail_from == "ucsd@example.com", f"envelope sender {m.mail_from}")
        check(m.rcpt_tos == ["alice@example.com", "bob@example.org"], f"rcpts {m.rcpt_tos}")
        check("BODY=8BITMIME" in m.mail_options, f"8BITMIME used: {m.mail_options}")
        e = m.msg
        check(e["Message-ID"] == msg_id, f"Message-ID {e['Message-ID']} vs {msg_id}")
        check(e["Subject"] == "Verpasster Anruf von Jürgen", f"Subject {e['Subject']!r}")
        check(e["From"] == "Zentrale Nord <ucsd@example.com>", f"From {e['From']!r}")
        check(e["To"] == "alice@example.com, Bob Builder <bob@example.org>", f"To {e['To']!r}")
        check(e["Reply-To"] == "noreply@example.com", f"Reply-To {e['Reply-To']!r}")
        check(e["MIME-Version"] == "1.0", "MIME-Version")
        check(e["Date"] and e["Date"].datetime is not None, f"Date {e['Date']!r}")
        check(e.get_content_type() == "multipart/mixed", e.get_content_type())
        alt = find_part(e, "multipart/alternative")
        check([p.get_content_type() for p in alt.iter_parts()] == ["text/plain", "text/html"],
              "text before html")
        text = find_part(e, "text/plain").get_content()
        check(text.replace("\r\n", "\n") == "Hallo Alice,\n.ein Punkt am Zeilenanfang\nGrüße\n",
              f"text {text!r}")
        html = find_part(e, "text/html").get_content()
        check("<p>Hallo <b>Alice</b> &ndash; Grüße</p>" in html, f"html {html!r}")
        att = find_part(e, "text/vcard")
        check(att.get_filename() == "Jürgen Müller.vcf", f"filename {att.get_filename()!r}")
        check(att.get_content_disposition() == "attachment", "disposition")
        check(att.get_payload(decode=True) == vcard, "attachment bytes")
        st = env.wait_status(lambda st: st["delivered"] == 1 and st["queued"] == 0)
        check(st["submitted"] == 1 and st["failed"] == 0, f"status {st}")
        check(env.outbox() == [], f"outbox after delivery: {env.outbox()}")
        # several messages over the kept connection, in order
        for i in range(5):
            check(env.submit(to="carol@example.com", subject=f"n{i}", text="x").startswith("ok"),
                  "submit")
        msgs = s.wait_messages(6)
        check([m.msg["Subject"] for m in msgs[1:]] == [f"n{i}" for i in range(5)],
              "order of delivery")
        check(s.connections <= 2, f"six messages over at most `connections` sessions, kept "
              f"open: {s.connections}")
        # refused at once: nothing accepted
        for bad, what in ((dict(to="", subject="x", text="y"), "EINVAL"),
                          (dict(to="not an address", subject="x", text="y"), "EINVAL"),
                          (dict(to="a@example.com", subject="x"), "EINVAL"),
                          (dict(to="a@example.com", subject="x", text="y" * 200000), "EMSGSIZE")):
            got = env.submit(**bad)
            check(got.startswith("err " + what), f"{bad.get('to')!r}: {got}")
        check(env.status()["submitted"] == 6, "refused messages are not counted as submitted")
        # the caller as sender (notify's caller_as_sender): the header From is the
        # caller, the envelope stays the configured sender (bounces, SPF)
        got = env.p.cmd("mail.submit " + json.dumps({"to": "a@example.com", "subject": "c",
                                                     "text": "y", "from": "not an address"}))
        check(got.startswith("err EINVAL"), got)
        check(env.p.cmd("mail.submit " + json.dumps(
            {"to": "a@example.com", "subject": "caller", "text": "y",
             "from": "caller@customer.example", "from_name": "Carl Caller"})).startswith("ok"),
            "submit with a sender")
        m = s.wait_messages(7)[6]
        check(m.mail_from == "ucsd@example.com", f"envelope sender {m.mail_from}")
        check(m.msg["From"] == "Carl Caller <caller@customer.example>", f"From {m.msg['From']}")

    run(case, mail_config(s.port, max_message_kb=512), [s])


def utf8_fallback():
    s = SmtpServer(smtputf8=False, eightbit=False)

    def case(env):
        check(env.submit(to="a@example.com", subject="Grüße aus Köln",
                         text="Grüße\n" + "ä" * 100,
                         html="<p>Grüße</p>").startswith("ok"), "submit")
        m = s.wait_messages(1)[0]
        check("BODY=8BITMIME" not in m.mail_options, f"no 8BITMIME: {m.mail_options}")
        check(all(b < 0x80 for b in m.data), "the message is 7-bit")
        check(b"Subject: =?UTF-8?B?" in m.data, "subject as an encoded word")
        check(b"Content-Transfer-Encoding: quoted-printable" in m.data, "quoted-printable")
        check(max(len(l) for l in m.data.split(b"\r\n")) <= 76, "QP lines <= 76")
        check(m.msg["Subject"] == "Grüße aus Köln", m.msg["Subject"])
        check(find_part(m.msg, "text/plain").get_content().replace("\r\n", "\n").startswith(
            "Grüße\n" + "ä" * 100),
              "decoded text")
        # a non-ASCII address needs SMTPUTF8: a clear permanent error
        check(env.submit(to="jürgen@bücher.example", subject="x", text="y").startswith("ok"),
              "submit (utf8 on)")
        st = env.wait_status(lambda st: st["failed"] == 1)
        check("not ASCII and the server does not offer SMTPUTF8" in st["last_error"], str(st))
        env.wait_for(r"error \[mail\] message .* failed permanently: an address is not ASCII "
                       r"and the server does not offer SMTPUTF8")
        check(len(env.outbox("failed")) == 1, "kept in failed/")
        # the same for a non-ASCII address in From or Reply-To only: it cannot
        # be written in 7 bits either, and is never sent raw
        check(env.submit(to="a@example.com", reply_to="jürgen@bücher.example", subject="r",
                         text="y").startswith("ok"), "submit reply_to")
        st = env.wait_status(lambda st: st["failed"] == 2)
        check("not ASCII and the server does not offer SMTPUTF8" in st["last_error"], str(st))
        time.sleep(0.3)
        check(s.count() == 1 and all(all(b < 0x80 for b in m.data) for m in s.messages),
              "nothing raw sent")

    run(case, mail_config(s.port), [s])
    # the same address with SMTPUTF8 offered goes raw
    s2 = SmtpServer()

    def case2(env):
        check(env.submit(to="Jürgen <jürgen@bücher.example>", subject="Grüße",
                         text="ä").startswith("ok"), "submit")
        m = s2.wait_messages(1)[0]
        check("SMTPUTF8" in m.mail_options, f"SMTPUTF8: {m.mail_options}")
        check(m.rcpt_tos == ["jürgen@bücher.example"], f"{m.rcpt_tos}")
        check("Subject: Grüße".encode() in m.data, "raw UTF-8 subject with SMTPUTF8")

    run(case2, mail_config(s2.port), [s2])
    # utf8 off: 7-bit even when the server offers more; non-ASCII addresses refused at once
    s3 = SmtpServer()

    def case3(env):
        got = env.submit(to="jürgen@bücher.example", subject="x", text="y")
        check(got.startswith("err EINVAL"), got)
        check(env.submit(to="a@example.com", subject="Grüße", text="ä").startswith("ok"), "ok")
        m = s3.wait_messages(1)[0]
        check(all(b < 0x80 for b in m.data) and "BODY=8BITMIME" not in m.mail_options,
              "utf8 false: 7-bit")

    run(case3, mail_config(s3.port, utf8=False), [s3])
    # a server that refuses EHLO gets HELO and plain 7-bit mail
    s4 = SmtpServer()
    s4.fail("EHLO", 502, "5.5.1 EHLO not implemented")

    def case4(env):
        check(env.submit(to="a@example.com", subject="Grüße", text="ä").startswith("ok"), "ok")
        m = s4.wait_messages(1)[0]
        check(any(c.startswith("HELO ") for c in s4.commands), f"HELO: {s4.commands}")
        check(all(b < 0x80 for b in m.data) and m.msg["Subject"] == "Grüße", "7-bit")

    run(case4, mail_config(s4.port), [s4])


def _tls_auth(mech):
    s = SmtpServer(tls="starttls", auth=("mailer", PASSWORD), auth_mechanisms=(mech,),
                   auth_required=True)

    def case(env):
        check(env.submit(to="a@example.com", subject="tls", text="x").startswith("ok"), "submit")
        m = s.wait_messages(1)[0]
        check(m.tls, "delivered over TLS")
        check(m.auth_mechanism == mech and m.auth_user == "mailer",
              f"AUTH {m.auth_mechanism} as {m.auth_user}")
        check(s.commands[:3] == ["EHLO " + s.commands[0][5:], "STARTTLS", s.commands[0]],
              f"EHLO, STARTTLS, EHLO again: {s.commands[:4]}")
        env.wait_status(lambda st: st["delivered"] == 1)

    run(case, mail_config(s.port, smtp={"tls": "starttls", "ca": s.ca_file, "user": "mailer",
                                        "password": PASSWORD}), [s])


def starttls_auth_plain():
    _tls_auth("PLAIN")


def starttls_auth_login():
    _tls_auth("LOGIN")
    # a wrong password: the message stays queued, the reason is in status
    s = SmtpServer(tls="starttls", auth=("mailer", "other"), auth_required=True)

    def case(env):
        check(env.submit(to="a@example.com", subject="x", text="y").startswith("ok"), "submit")
        st = env.wait_status(lambda st: "authentication as mailer failed: 535" in st["last_error"])
        check(st["queued"] == 1 and st["failed"] == 0 and s.count() == 0, f"kept: {st}")
        check(len(env.outbox()) == 1, "still in the outbox")

    run(case, mail_config(s.port, smtp={"tls": "starttls", "ca": s.ca_file, "user": "mailer",
                                        "password": PASSWORD}), [s])


def implicit_tls():
    s = SmtpServer(tls="implicit", auth=("mailer", PASSWORD))

    def case(env):
        check(env.submit(to="a@example.com", subject="465", text="x").startswith("ok"), "submit")
        m = s.wait_messages(1)[0]
        check(m.tls and m.auth_mechanism == "PLAIN", f"tls={m.tls} auth={m.auth_mechanism}")
        check("STARTTLS" not in s.commands, "no STARTTLS on implicit TLS")

    run(case, mail_config(s.port, smtp={"tls": "implicit", "ca": s.ca_file, "user": "mailer",
                                        "password": PASSWORD}), [s])


def force_tls_fails():
    s = SmtpServer()  # no STARTTLS

    def case(env):
        check(env.submit(to="a@example.com", subject="secret", text="x").startswith("ok"), "ok")
        env.wait_for(r"warning \[mail\] mail server 127\.0\.0\.1:\d+: 127\.0\.0\.1 does not "
                       r"offer STARTTLS and tls is \"required\": not sending in clear")
        time.sleep(2.5)  # a retry or two
        st = env.status()
        check(s.count() == 0 and not any(c.startswith("MAIL") for c in s.commands),
              f"nothing sent in clear: {s.commands}")
        check(st["queued"] == 1 and st["failed"] == 0, f"kept: {st}")
        check(len(env.outbox()) == 1, "in the outbox")
        # the operator relaxes it: SIGHUP delivers the kept message
        env.u.write_config({"svcprobe": {"port": 0}, "mail": mail_config(s.port)})
        env.u.signal(signal.SIGHUP)
        m = s.wait_messages(1, timeout=10)[0]
        check(m.msg["Subject"] == "secret", "the kept message")

    run(case, mail_config(s.port, smtp={"tls": "required"}), [s])


def verify_fails():
    s = SmtpServer(tls="starttls")

    def case(env):
        check(env.submit(to="a@example.com", subject="v", text="x").startswith("ok"), "ok")
        env.wait_for(r"warning \[mail\] mail server .*: certificate verification failed")
        check(s.count() == 0 and env.status()["queued"] == 1, "kept")
        env.u.write_config({"svcprobe": {"port": 0},
                            "mail": mail_config(s.port, smtp={"tls": "required",
                                                              "ca": s.ca_file})})
        env.u.signal(signal.SIGHUP)
        m = s.wait_messages(1, timeout=10)[0]
        check(m.tls, "over TLS once the CA is configured")

    # the system bundle does not know the test CA
    run(case, mail_config(s.port, smtp={"tls": "starttls"}), [s])
    # verify false accepts it (explicit opt-out)
    s2 = SmtpServer(tls="starttls", names=("other.example",), ips=())

    def case2(env):
        check(env.submit(to="a@example.com", subject="v", text="x").startswith("ok"), "ok")
        check(s2.wait_messages(1)[0].tls, "TLS without verification")

    run(case2, mail_config(s2.port, smtp={"tls": "required", "verify": False}), [s2])
    # the right CA but a certificate for another name: refused
    s3 = SmtpServer(tls="starttls", names=("other.example",), ips=())

    def case3(env):
        got = env.p.cmd("mail.test a@example.com", timeout=15)
        check(got.startswith("err EACCES reply=certificate verification failed") and
              "CN" in got, got)
        check(s3.count() == 0, "nothing sent")

    run(case3, mail_config(s3.port, smtp={"tls": "required", "ca": s3.ca_file}), [s3])


def server_down():
    s = SmtpServer()
    s.stop()

    def case(env):
        for i in range(3):
            check(env.submit(to="a@example.com", subject=f"d{i}", text="x").startswith("ok"), "ok")
        env.wait_for(r"warning \[mail\] mail server 127\.0\.0\.1:\d+: cannot connect to "
                       r"127\.0\.0\.1:\d+: .*; next attempt in \d+ s")
        st = env.status()
        check(st["queued"] == 3 and st["server_failures"] >= 1, f"{st}")
        s.start()
        msgs = s.wait_messages(3, timeout=10)
        check(sorted(m.msg["Subject"] for m in msgs) == ["d0", "d1", "d2"], "all delivered")
        env.wait_status(lambda st: st["queued"] == 0 and st["delivered"] == 3)
        check(env.outbox() == [], "outbox empty")

    run(case, mail_config(s.port), [s])


def slow_and_4xx():
    s = SmtpServer()

    def case(env):
        s.slow("DATA", 3, count=1)  # longer than timeout_s
        check(env.submit(to="a@example.com", subject="slow", text="x").startswith("ok"), "ok")
        env.wait_for(r"did not answer within 1 s during (end of )?DATA")
        m = s.wait_messages(1, timeout=10)
        check(m[0].msg["Subject"] == "slow", "delivered on retry")
        s.reset()
        s.drop("DATA", count=1)  # the server goes away in the middle
        check(env.submit(to="a@example.com", subject="dropped", text="x").startswith("ok"), "ok")
        env.wait_for(r"warning \[mail\] message \S+ not delivered \(attempt 1\): 127\.0\.0\.1 "
                     r"closed the connection during end of DATA")
        check(s.wait_messages(1, timeout=10)[0].msg["Subject"] == "dropped", "delivered later")
        s.reset()
        s.fail("MAIL", 451, "4.3.0 busy", count=1)
        s.fail("RCPT", 452, "4.2.2 mailbox full", count=1, match="b@")
        check(env.submit(to="a@example.com; b@example.com", subject="4xx",
                         text="x").startswith("ok"), "ok")
        env.wait_for(r"warning \[mail\] message \S+ not delivered \(attempt 1\): 451 4\.3\.0 busy")
        # the second attempt reaches a@ only; b@ follows alone
        msgs = s.wait_messages(2, timeout=15)
        check([m.rcpt_tos for m in msgs] == [["a@example.com", "b@example.com"][:1],
                                             ["b@example.com"]],
              f"per-recipient retry: {[m.rcpt_tos for m in msgs]}")
        st = env.wait_status(lambda st: st["queued"] == 0)
        check(st["failed"] == 0 and st["temporary_failures"] >= 3, f"{st}")
        check(s.count() == 2, "no duplicate for a@")

    run(case, mail_config(s.port, timeout_s=1), [s])


def permanent_5xx():
    s = SmtpServer()

    def case(env):
        s.fail("DATA", 554, "5.7.1 spam", count=1)
        got = env.submit(to="a@example.com", subject="spam", text="x", origin="notify")
        check(got.startswith("ok"), got)
        env.wait_for(r"error \[mail\] message \S+ \(notify\) failed permanently: 554 5\.7\.1 spam")
        st = env.wait_status(lambda st: st["failed"] == 1)
        check(st["failed_kept"] == 1 and st["queued"] == 0 and "554" in st["last_error"], f"{st}")
        failed = env.outbox("failed")
        check(len(failed) == 1 and env.outbox() == [], f"failed/: {failed}")
        data = open(os.path.join(env.u.state, "mail", "outbox", "failed", failed[0]), "rb").read()
        check(b"last_error" in data and b"554 5.7.1 spam" in data, "reason kept in the file")
        # one recipient refused: the other gets it, the refusal is counted
        s.fail("RCPT", 550, "5.1.1 no such user", match="ghost@")
        check(env.submit(to="ghost@example.com; real@example.com", subject="half",
                         text="x").startswith("ok"), "ok")
        m = s.wait_messages(1)[0]
        check(m.rcpt_tos == ["real@example.com"], f"{m.rcpt_tos}")
        st = env.wait_status(lambda st: st["recipients_refused"] == 1 and st["queued"] == 0)
        check(st["delivered"] == 1 and st["failed"] == 1, f"{st}")
        env.wait_for(r"error \[mail\] message \S+: recipient ghost@example\.com refused: "
                       r"550 5\.1\.1 no such user")

    run(case, mail_config(s.port), [s])
    # a failed message survives a restart in failed/, counted again
    s2 = SmtpServer()
    s2.fail("MAIL", 550, "5.7.1 sender refused")

    def case2(env):
        check(env.submit(to="a@example.com", subject="x", text="y").startswith("ok"), "ok")
        env.wait_status(lambda st: st["failed"] == 1)
        env.restart()
        st = env.wait_status(lambda st: st["scanned"])
        check(st["failed_kept"] == 1 and st["queued"] == 0, f"{st}")

    run(case2, mail_config(s2.port), [s2])


def give_up():
    """A message older than retry.give_up_h fails at its next temporary failure."""
    s = SmtpServer()
    s.fail("MAIL", 451, "4.3.0 still busy")

    def record(created):
        fields = [("id", f"{created}.1.1.0@example.com"), ("created", str(created)),
                  ("origin", "notify"), ("env_from", "ucsd@example.com"),
                  ("rcpt", "a@example.com"), ("to", "a@example.com"), ("subject", "old"),
                  ("text", "x")]
        out = b"UCSMAIL 1\n"
        for k, v in fields:
            out += f"{k} {len(v.encode())}\n".encode() + v.encode() + b"\n"
        return out + b"end 0\n\n"

    env = Env(mail_config(s.port, retry={"min_s": 1, "max_s": 1, "give_up_h": 1}), [s])
    try:
        outbox = os.path.join(env.u.state, "mail", "outbox")
        os.makedirs(outbox)
        now = int(time.time() * 1000)
        old, young = now - 2 * 3600 * 1000, now - 60 * 1000
        for c in (old, young):
            with open(os.path.join(outbox, f"{c:015d}-1-1.msg"), "wb") as f:
                f.write(record(c))
        env.start()
        env.wait_for(r"error \[mail\] message \S+ \(notify\) failed permanently: gave up after "
                     r"1 h: 451 4\.3\.0 still busy")
        st = env.wait_status(lambda st: st["failed"] == 1)
        check(st["queued"] == 1 and st["recovered"] == 2, f"the young one stays: {st}")
        check(env.outbox("failed") == [f"{old:015d}-1-1.msg"], f"{env.outbox('failed')}")
        s.clear()
        m = s.wait_messages(1, timeout=10)[0]
        check(m.msg["Subject"] == "old" and m.msg["Message-ID"] == f"<{young}.1.1.0@example.com>",
              "the young one delivered")
        rc, _ = env.u.stop()
        check(rc == 0, "exit")
    finally:
        env.close()


def restart_keeps():
    s = SmtpServer()
    s.stop()

    def case(env):
        for i in range(5):
            check(env.submit(to="a@example.com", subject=f"r{i}", text="x").startswith("ok"), "ok")
        check(len(env.outbox()) == 5, "5 files")
        env.restart()
        env.wait_for(r"info \[mail\] outbox .*: 5 queued messages recovered in \d+ ms")
        s.start()
        msgs = s.wait_messages(5, timeout=15)
        check(sorted(m.msg["Subject"] for m in msgs) == [f"r{i}" for i in range(5)], "all five")
        st = env.wait_status(lambda st: st["queued"] == 0)
        check(st["recovered"] == 5 and st["delivered"] == 5, f"{st}")
        time.sleep(0.5)
        check(s.count() == 5, "no duplicates")

    run(case, mail_config(s.port), [s])


def kill9_burst():
    s = SmtpServer()
    s.stop()

    def case(env):
        n = 20000
        env.p.sock.sendall(f"mail.burst {n}\n".encode())
        # kill once the burst is under way (not after a fixed sleep: a slow
        # or sanitized build may not have begun, a fast one may be done)
        d = os.path.join(env.u.state, "mail", "outbox")
        deadline = time.monotonic() + 20
        while len(os.listdir(d)) < 200 + 2 and time.monotonic() < deadline:
            time.sleep(0.005)
        env.restart(kill=True)
        files = env.outbox()
        check(env.outbox("tmp") == [] and os.listdir(os.path.join(env.u.state, "mail", "outbox",
                                                                   "tmp")) == [],
              "unfinished writes removed at the start")
        env.wait_for(r"info \[mail\] outbox .*: \d+ queued messages recovered", timeout=20)
        st = env.status()
        k = st["recovered"]
        check(0 < k < n, f"the kill came during the burst: {k} of {n} ({files[:3]})")
        s.start()
        msgs = s.wait_messages(k, timeout=60)
        time.sleep(0.5)
        subjects = sorted(int(m.msg["Subject"].split()[1]) for m in s.messages)
        # every submit that returned had written its file: a prefix, no gaps, no duplicates
        check(subjects == list(range(k)), f"delivered {len(subjects)}: not 0..{k - 1}")
        env.wait_status(lambda st: st["queued"] == 0, timeout=30)
        check(env.outbox() == [], "outbox empty")
        del msgs

    run(case, mail_config(s.port, connections=4), [s])


def test_mail():
    s = SmtpServer()

    def case(env):
        got = env.p.cmd("mail.test", timeout=15)
        check(got.startswith("ok status=0 reply=250"), got)
        m = s.wait_messages(1)[0]
        check(m.rcpt_tos == ["admin@example.com", "ops@example.com"], f"admin_to: {m.rcpt_tos}")
        check(m.msg["Subject"] == "ucsd test message", m.msg["Subject"])
        check(env.outbox() == [], "a test message does not go through the outbox")
        got = env.p.cmd("mail.test other@example.com", timeout=15)
        check(got.startswith("ok"), got)
        check(s.wait_messages(2)[1].rcpt_tos == ["other@example.com"], "explicit recipient")
        s.fail("RCPT", 550, "5.1.1 unknown user", count=1)
        got = env.p.cmd("mail.test nobody@example.com", timeout=15)
        check(got.startswith("err EREMOTEIO reply=no recipient accepted: 550 5.1.1 unknown user"),
              got)
        s.fail("MAIL", 451, "4.3.0 later", count=1)
        got = env.p.cmd("mail.test x@example.com", timeout=15)
        check(got.startswith("err EAGAIN reply=451 4.3.0 later"), got)
        check(env.p.ok("mail.cancel_test") == "", "cancel")
        time.sleep(0.5)
        check(env.p.ok("mail.admin_to") == "admin@example.com; ops@example.com", "admin_to()")
        s.stop()
        got = env.p.cmd("mail.test", timeout=15)
        check(got.startswith("err ECONNREFUSED reply=cannot connect to 127.0.0.1:"), got)

    run(case, mail_config(s.port, admin_to="admin@example.com; ops@example.com"), [s])


def admin_errors():
    s = SmtpServer()

    def case(env):
        for i in range(3):
            env.p.ok(f"mail.log error disk {i} is on fire")
        env.p.ok("mail.log warning only a warning")
        m = s.wait_messages(1, timeout=10)[0]
        check(m.rcpt_tos == ["admin@example.com"], f"{m.rcpt_tos}")
        check(re.match(r"ucsd on \S+: 3 errors$", m.msg["Subject"]), m.msg["Subject"])
        body = m.msg.get_content()
        for i in range(3):
            check(f"[svcprobe] disk {i} is on fire" in body, body)
        check("only a warning" not in body, "warnings are not mailed")
        # batched: a second batch is the second mail
        env.p.ok("mail.log error second batch")
        m2 = s.wait_messages(2, timeout=10)[1]
        check("second batch" in m2.msg.get_content(), "second mail")
        # the limit (2 per hour): the third batch is dropped and counted
        env.p.ok("mail.log error third batch")
        st = env.wait_status(lambda st: st["admin_errors"]["dropped"] == 1, timeout=10)
        check(st["admin_errors"]["sent"] == 2, f"{st}")
        env.wait_for(r"warning \[mail\] 1 errors not mailed to the administrator: limit of 2 "
                       r"mails per hour reached")
        # the mail plugin's own errors are never mailed (no loop)
        s.fail("DATA", 554, "5.0.0 no", count=1)
        check(env.submit(to="x@example.com", subject="x", text="y").startswith("ok"), "ok")
        env.wait_for(r"error \[mail\] message .* failed permanently")
        time.sleep(1.5)
        check(env.status()["admin_errors"]["pending"] == 0, "own errors not collected")
        check(s.count() == 2, f"no further mail: {s.count()}")

    run(case, mail_config(s.port, admin_to="admin@example.com",
                          admin_errors={"batch_s": 1, "max_per_hour": 2}), [s])


class FakeSmtp:
    """A misbehaving server: script(conn) runs per connection in a thread."""

    def __init__(self, script):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.script = script
        self.conns = []
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        try:
            self.script(c)
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def _read_line(c):
    buf = b""
    while not buf.endswith(b"\n"):
        ch = c.recv(1)
        if not ch:
            raise OSError("closed")
        buf += ch
    return buf


def bad_replies():
    def garbage(c):
        c.sendall(b"hello there\r\n")
        time.sleep(2)

    def oversized(c):
        c.sendall(b"220-" + b"x" * 5000 + b"\r\n")
        time.sleep(2)

    def silent(c):
        time.sleep(4)

    def code_change(c):
        c.sendall(b"220 hi\r\n")
        _read_line(c)
        c.sendall(b"250-ok\r\n251 changed\r\n")
        time.sleep(2)

    def injection(c):
        c.sendall(b"220 hi\r\n")
        _read_line(c)
        c.sendall(b"250-x\r\n250 STARTTLS\r\n")
        _read_line(c)
        c.sendall(b"220 go ahead\r\n250 injected\r\n")
        time.sleep(2)

    def endless(c):
        c.sendall(b"220 hi\r\n")
        _read_line(c)
        for i in range(200):
            c.sendall(b"250-line %d\r\n" % i)
        time.sleep(2)

    cases = [(garbage, "EPROTO", 'malformed SMTP reply line "hello there" (during greeting)', {}),
             (oversized, "EMSGSIZE", "SMTP reply line longer than 1000 bytes", {}),
             (silent, "ETIMEDOUT", "did not answer within 1 s during greeting", {}),
             (code_change, "EPROTO", "changes the code of a multi-line reply", {}),
             (injection, "EPROTO", "data after the STARTTLS reply", {"tls": "starttls"}),
             (endless, "EMSGSIZE", "SMTP reply of too many lines", {})]
    for script, ename, text, smtp in cases:
        f = FakeSmtp(script)

        def case(env):
            got = env.p.cmd("mail.test a@example.com", timeout=15)
            check(got.startswith(f"err {ename} reply=") and text in got,
                  f"{script.__name__}: {got}")
            # the outbox keeps a message through the same failure
            check(env.submit(to="a@example.com", subject="x", text="y").startswith("ok"), "ok")
            st = env.wait_status(lambda st: st["server_failures"] >= 1, timeout=10)
            check(text in st["last_error"] and st["queued"] == 1, f"{st}")
            check(env.u.alive(), "ucsd keeps running")

        run(case, mail_config(f.port, timeout_s=1, smtp=smtp), [f])


def no_server():
    def case(env):
        got = env.submit(to="a@example.com", subject="x", text="y")
        check(got.startswith("err ENOTCONN"), got)
        got = env.p.cmd("mail.test a@example.com")
        check(got.startswith("err ENOTCONN"), got)
        st = env.status()
        check(st["configured"] is False and st["queued"] == 0, f"{st}")
        env.u.index(r"info \[mail\] no SMTP server configured \(mail\.smtp\.host\): e-mail is off")

    run(case, {}, [])


def stop_promise():
    """At stop a pending test() ends with done(-ESHUTDOWN) and later calls
    fail with -ESHUTDOWN (abi/ucs/service.h); ucsd does not wait for the
    server's timeout."""
    connected = threading.Event()

    def stalls(c):
        c.sendall(b"220 hi\r\n")
        _read_line(c)
        connected.set()
        time.sleep(20)  # never answers EHLO

    f = FakeSmtp(stalls)
    env = Env(mail_config(f.port, timeout_s=60), [f])
    try:
        env.start()
        env.p.sock.sendall(b"mail.test a@example.com\n")
        check(connected.wait(10), "the test session reached EHLO")
        time.sleep(0.2)
        t0 = time.monotonic()
        rc, _ = env.u.stop()
        check(rc == 0, f"ucsd exit status {rc}")
        check(time.monotonic() - t0 < 10, "the stop did not wait for the server")
        env.u.index(r"warning \[mail\] test message to a@example.com: failed: the server stops")
        env.u.index(r"info \[svcprobe\] mail.test done: ESHUTDOWN the server stops")
        env.u.index(r"info \[svcprobe\] mail.test after stop: submit ESHUTDOWN, test ESHUTDOWN")
    finally:
        env.close()


def admin_at_stop():
    """Error events still waiting for their batch at stop go to the outbox
    as one mail, delivered after the restart."""
    s = SmtpServer()

    def case(env):
        env.p.ok("mail.log error first failure")
        env.p.ok("mail.log error second failure")
        st = env.wait_status(lambda st: st["admin_errors"]["pending"] == 2, timeout=5)
        check(s.count() == 0, "nothing mailed before the batch is due")
        s.stop()
        env.restart()
        s.start()
        m = s.wait_messages(1, timeout=15)[0]
        check(m.rcpt_tos == ["admin@example.com"], f"{m.rcpt_tos}")
        check(re.match(r"ucsd on \S+: 2 errors$", m.msg["Subject"]), m.msg["Subject"])
        body = m.msg.get_content()
        check("[svcprobe] first failure" in body and "[svcprobe] second failure" in body, body)
        st = env.wait_status(lambda st: st["queued"] == 0, timeout=10)
        check(st["recovered"] == 1, f"{st}")
        time.sleep(0.5)
        check(s.count() == 1, f"one mail: {s.count()}")

    run(case, mail_config(s.port, admin_to="admin@example.com",
                          admin_errors={"batch_s": 3600}), [s])


def sync_batched():
    """submit() does not fsync on the loop: the sync thread makes every
    stored file durable in batches, within UCS_MAIL_SYNC_MS."""
    s = SmtpServer()
    s.stop()

    def case(env):
        n = 2000
        got = env.p.ok(f"mail.burst {n}", timeout=120)
        check(got.startswith(f"n={n} "), got)
        st = env.wait_status(lambda st: st["sync"]["files"] >= n and st["sync"]["queued"] == 0,
                             timeout=10, what="all files synced")
        sy = st["sync"]
        check(sy["files"] == n and sy["errors"] == 0, f"{sy}")
        check(sy["batches"] < n / 10, f"batched: {sy}")
        # 100 ms is the contract; a loaded test machine gets some slack
        check(sy["max_ms"] <= 250, f"synced late: {sy}")
        check(len(env.outbox()) == n, "all stored")
        t0 = time.monotonic()
        check(env.submit(to="a@example.com", subject="one", text="x").startswith("ok"), "ok")
        env.wait_status(lambda st: st["sync"]["files"] == n + 1, timeout=2,
                        what="a lone submit synced")
        check(time.monotonic() - t0 < 1.5, "a lone submit is synced at once")
        # from outside: the loop thread (ucsd's main thread) never waits for
        # the disk, another thread syncs (strace, Debian's strace package)
        out = os.path.join(env.u.dir, "strace.out")
        tr = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,syncfs",
                               "-o", out, "-p", str(env.u.proc.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)  # attached to every thread
            got = env.p.ok("mail.burst 300", timeout=60)
            env.wait_status(lambda st: st["sync"]["files"] >= n + 301, timeout=5,
                            what="the traced burst synced")
            time.sleep(0.2)
        finally:
            tr.send_signal(signal.SIGINT)
            tr.wait(timeout=10)
        calls = [l.split(None, 1) for l in open(out).read().splitlines() if "(" in l]
        main_tid = str(env.u.proc.pid)
        on_loop = [c for c in calls if c[0] == main_tid]
        synced = [c for c in calls if c[0] != main_tid and c[1].startswith("syncfs(")]
        check(not on_loop, f"the loop thread synced: {on_loop[:3]}")
        check(0 < len(synced) < 300, f"batched syncfs by another thread: {len(synced)} {calls[:3]}")

    run(case, mail_config(s.port), [s])


def no_auth_in_clear():
    """tls "starttls" with a user: a server that offers no STARTTLS, or
    refuses it (what a man in the middle makes of it), never gets the
    password; tls "none" is the operator's explicit consent."""
    s = SmtpServer(auth=("mailer", PASSWORD), auth_require_tls=False)

    def case(env):
        check(env.submit(to="a@example.com", subject="kept", text="x").startswith("ok"), "ok")
        env.wait_for(r"warning \[mail\] mail server 127\.0\.0\.1:\d+: 127\.0\.0\.1 offers no "
                     r"STARTTLS \(or refused it\): not sending the password in clear")
        time.sleep(1.5)
        check(not any(c.startswith(("AUTH", "MAIL")) for c in s.commands),
              f"no AUTH, no MAIL: {s.commands}")
        st = env.status()
        check(st["queued"] == 1 and st["failed"] == 0, f"kept: {st}")
        # the operator consents: tls "none"
        env.u.write_config({"svcprobe": {"port": 0}, "mail": mail_config(
            s.port, smtp={"tls": "none", "user": "mailer", "password": PASSWORD})})
        env.u.signal(signal.SIGHUP)
        m = s.wait_messages(1, timeout=10)[0]
        check(m.msg["Subject"] == "kept" and m.auth_mechanism == "PLAIN", "sent after consent")
        env.wait_for(r"warning \[mail\] authenticating to 127\.0\.0\.1 without TLS")

    run(case, mail_config(s.port, smtp={"tls": "starttls", "user": "mailer",
                                        "password": PASSWORD}), [s])

    # STARTTLS offered, then refused
    seen = []

    def refuses(c):
        c.sendall(b"220 hi\r\n")
        seen.append(_read_line(c))
        c.sendall(b"250-x\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n")
        seen.append(_read_line(c))
        c.sendall(b"454 4.7.0 TLS not available\r\n")
        c.settimeout(3)
        try:
            seen.append(_read_line(c))
        except (OSError, socket.timeout):
            pass

    f = FakeSmtp(refuses)

    def case2(env):
        got = env.p.cmd("mail.test a@example.com", timeout=15)
        check(got.startswith("err EPROTONOSUPPORT reply=") and "not sending the password" in got,
              got)
        time.sleep(0.3)
        check(not any(l.startswith(b"AUTH") for l in seen), f"no AUTH: {seen}")

    run(case2, mail_config(f.port, smtp={"tls": "starttls", "user": "mailer",
                                         "password": PASSWORD}), [f])


def failed_dir_broken():
    """A permanent failure whose copy cannot go to failed/ keeps the
    message in the outbox instead of deleting it."""
    s = SmtpServer()

    def case(env):
        failed = os.path.join(env.u.state, "mail", "outbox", "failed")
        os.rmdir(failed)
        with open(failed, "w") as f:
            f.write("not a directory")
        s.fail("DATA", 554, "5.7.1 no", count=1)
        check(env.submit(to="a@example.com", subject="keep me", text="x").startswith("ok"), "ok")
        env.wait_for(r"error \[mail\] cannot keep \S+\.msg in \S+/failed: Not a directory")
        msgs = [f for f in env.outbox() if f.endswith(".msg")]
        check(len(msgs) == 1, f"still in the outbox: {env.outbox()}")
        os.unlink(failed)
        os.mkdir(failed, 0o700)
        env.restart()
        m = s.wait_messages(1, timeout=15)[0]
        check(m.msg["Subject"] == "keep me", "delivered after the restart")

    run(case, mail_config(s.port), [s])


def decided_then_lost():
    """A transaction the server refused (550 to every RCPT, 554 to MAIL)
    stays refused when the connection dies during the RSET that follows:
    failed at once, not retried for give_up_h."""
    def refuse_then_close(code_at):
        def script(c):
            c.sendall(b"220 hi\r\n")
            _read_line(c)  # EHLO
            c.sendall(b"250 ok\r\n")
            line = _read_line(c)  # MAIL
            if code_at == "MAIL":
                c.sendall(b"554 5.7.1 go away\r\n")
            else:
                c.sendall(b"250 ok\r\n")
                _read_line(c)  # RCPT
                c.sendall(b"550 5.1.1 no such user\r\n")
            line = _read_line(c)
            if line.startswith(b"RSET"):
                c.close()
        return script

    for code_at, reply in (("RCPT", "550 5.1.1 no such user"), ("MAIL", "554 5.7.1 go away")):
        f = FakeSmtp(refuse_then_close(code_at))

        def case(env):
            check(env.submit(to="a@example.com", subject="x", text="y").startswith("ok"), "ok")
            st = env.wait_status(lambda st: st["failed"] == 1, timeout=10,
                                 what="failed at once")
            check(st["temporary_failures"] == 0 and st["queued"] == 0, f"{st}")
            check(reply in st["last_error"], f"{st}")
            check(len(env.outbox("failed")) == 1, "kept in failed/")
            got = env.p.cmd("mail.test b@example.com", timeout=15)
            check(got.startswith("err EREMOTEIO reply=") and reply in got, got)

        run(case, mail_config(f.port), [f])


def no_pipelining():
    """Two replies in one read: the second would be taken as the answer to a
    command not sent yet; the session ends instead."""
    def two_replies(c):
        c.sendall(b"220 hi\r\n")
        _read_line(c)
        c.sendall(b"250-x\r\n250 STARTTLS\r\n220 go ahead\r\n")
        time.sleep(2)

    def extra_after_mail(c):
        c.sendall(b"220 hi\r\n")
        _read_line(c)
        c.sendall(b"250 ok\r\n")
        _read_line(c)
        c.sendall(b"250 ok\r\n250 also ok\r\n")
        time.sleep(2)

    for script, smtp, during in ((two_replies, {"tls": "starttls"}, "EHLO"),
                                 (extra_after_mail, {}, "MAIL FROM")):
        f = FakeSmtp(script)

        def case(env):
            got = env.p.cmd("mail.test a@example.com", timeout=15)
            check(got.startswith("err EPROTO reply=") and
                  f"data after the reply to {during}" in got, f"{script.__name__}: {got}")

        run(case, mail_config(f.port, smtp=smtp), [f])

    # the end of DATA answered together with a farewell: the 250 stands (a
    # retry would deliver the message twice), only the session ends
    sessions = []

    def accept_then_bye(c):
        sessions.append(1)
        c.sendall(b"220 hi\r\n")
        for reply in (b"250 ok\r\n", b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"):
            _read_line(c)
            c.sendall(reply)
        while _read_line(c) != b".\r\n":
            pass
        c.sendall(b"250 2.0.0 queued\r\n421 4.3.2 bye\r\n")
        time.sleep(1)

    f = FakeSmtp(accept_then_bye)

    def case3(env):
        check(env.submit(to="a@example.com", subject="x", text="y").startswith("ok"), "ok")
        st = env.wait_status(lambda st: st["delivered"] == 1 and st["queued"] == 0, timeout=10)
        time.sleep(1.5)
        st = env.status()
        check(st["temporary_failures"] == 0 and len(sessions) == 1, f"no retry: {st}")

    run(case3, mail_config(f.port), [f])


def incomplete_file():
    """A file a power loss left empty or cut short is not a refusal: it is
    counted apart (status incomplete), logged as a warning, kept in failed/."""
    s = SmtpServer()

    def case(env):
        check(env.submit(to="a@example.com", subject="whole", text="x").startswith("ok"), "ok")
        s.wait_messages(1, timeout=10)
        env.u.stop()
        d = os.path.join(env.u.state, "mail", "outbox")
        open(os.path.join(d, "000000000000001-1-1.msg"), "wb").close()
        with open(os.path.join(d, "000000000000002-1-1.msg"), "wb") as f:
            f.write(b"UCSMAIL 1\nid 7\n1.2.3@x\ncreated 13\n17000")
        env.restart()
        st = env.wait_status(lambda st: st["incomplete"] == 2, timeout=10)
        check(st["failed"] == 0 and st["queued"] == 0, f"not counted as refusals: {st}")
        check(env.outbox("failed") == ["000000000000001-1-1.msg", "000000000000002-1-1.msg"],
              f"kept: {env.outbox('failed')}")
        env.wait_for(r"warning \[mail\] message file 000000000000001-1-1\.msg is incomplete")
        check(s.count() == 1, "nothing sent of them")

    run(case, mail_config(s.port), [s])


if __name__ == "__main__":
    main({f.__name__: f for f in (deliver, utf8_fallback, starttls_auth_plain, starttls_auth_login,
                                  implicit_tls, force_tls_fails, verify_fails, server_down,
                                  slow_and_4xx, permanent_5xx, give_up, restart_keeps,
                                  kill9_burst,
                                  test_mail, admin_errors, bad_replies, no_server,
                                  stop_promise, admin_at_stop, sync_batched,
                                  no_auth_in_clear, failed_dir_broken, decided_then_lost,
                                  no_pipelining, incomplete_file)})
