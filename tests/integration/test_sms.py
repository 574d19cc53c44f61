"""tests/integration/test_sms.py - the sms plugin inside ucsd.

The real sms.so (with dialplan.so - the dialplan tests' locations, default
Starnberg, so "0170 1234567" is +491701234567 - and userdb-file.so for the
users' mobile numbers) sends through smsgw.py, a local HTTP/HTTPS gateway
that records every request. svcprobe drives the ucs.sms service (sms.send,
sms.cancel, sms.status). Cases: GET and POST (form and JSON with Basic
authentication) providers and the encoding of UTF-8 text in each; HTTPS
verified against the test CA, refused with an unknown CA and with a
certificate for another name (and accepted with verify false, warned);
a refusal (pattern mismatch) with the provider's answer; 500 then ok
(retried, delivered once), 500 for good (three tries); a slow gateway (one
try, timeout); a closed port (three tries, refused); the sender modes;
the operator's override file; a broken provider file at start (ucsd
refuses to start, file:line) and on SIGHUP (settings kept); garbage,
oversized and dropped answers (clear errors, ucsd keeps running); the
synchronous refusals; cancel (on the wire, queued, in the retry backoff,
while connecting); no password in any log line; status; a burst of SMS
through the four parallel connections; stopping ucsd with SMS under way
(each ends with -ESHUTDOWN, and send() from inside done is refused);
-EBUSY at 1000 waiting; a retry after a TLS handshake that never ends; a
SIGHUP while SMS are under way; answers that are not UTF-8.
"""
import json
import os
import re
import signal
import socket
import time

from harness import SOURCE, Failure, Probe, Ucsd, check, main
from smsgw import SilentListener, SmsGateway

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
SHIPPED = os.path.join(SOURCE, "plugins", "sms", "smsprovider.xml")
TEXT = "Grüße & Küsse: 100% sicher? a+b=c/d #1 \"quoted\" <tag>\nzweite Zeile 👍"
PASSWORD = "s3cr&t pw%"


def sms_config(providers_file=None, **sms):
    conf = {"provider": "gw", "user": "acct", "password": PASSWORD}
    if providers_file:
        conf["providers_file"] = providers_file
    conf.update(sms)
    return {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                         "default_location": "Starnberg"},
            "sms": conf}


def sms_ucsd(config, log_level=None):
    if log_level:
        config = dict(config, log={"level": log_level})
    return Ucsd(plugins=["svcprobe"], tree_plugins=["dialplan", "userdb-file", "sms"],
                config=config)


def send(p, to="0170 1234567", text=TEXT, user="", timeout=30):
    """sms.send; returns (None or the errno name, the reply, ms, sync)."""
    line = p.cmd("sms.send " + json.dumps({"user": user, "to": to, "text": text,
                                           "origin": "test"}), timeout=timeout)
    m = re.match(r"^(ok|err (\S+)) (\{.*\})$", line)
    if not m:
        raise Failure(f"sms.send: unexpected answer {line!r}")
    res = json.loads(m.group(3))
    return m.group(2), res["reply"], res["ms"], res["sync"]


def expect_ok(p, **kw):
    err, reply, ms, _ = send(p, **kw)
    check(err is None, f"SMS delivered (got {err}: {reply})")
    return reply, ms


def expect_err(p, name, **kw):
    err, reply, ms, sync = send(p, **kw)
    check(err == name, f"SMS fails with {name}, got {err}: {reply}")
    return reply, ms, sync


def status(p):
    return json.loads(p.ok("sms.status"))


def count_lines(u, pattern):
    rx = re.compile(pattern)
    with u.cond:
        return sum(1 for line in u.lines if line is not None and rx.search(line))


def send_async(p, to="0170 1234567", text="x", user=""):
    """sms.send without waiting for the answer (read it with answers())."""
    p.sock.sendall(("sms.send " + json.dumps({"user": user, "to": to, "text": text,
                                              "origin": "test"}) + "\n").encode())


def answers(p, n, timeout=30):
    """The next n answer lines (events and comments skipped)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        line = p._line(deadline)
        if not line.startswith("event ") and not line.startswith("# "):
            got.append(line)
    return got


def parse_answer(line):
    """(None or the errno name, the JSON object) of an sms.send answer."""
    m = re.match(r"^(ok|err (\S+)) (\{.*\})$", line)
    if not m:
        raise Failure(f"sms.send: unexpected answer {line!r}")
    return m.group(2), json.loads(m.group(3))


def run(config_fn, body, gw_kw=None, log_level=None):
    """Starts a gateway and ucsd (config_fn(gw, ucsd) -> config), runs
    body(u, p, gw), stops both whatever happens."""
    gw = SmsGateway(**(gw_kw or {})).start()
    u = None
    try:
        u = sms_ucsd({}, log_level)
        conf = config_fn(gw, u)
        if log_level:
            conf = dict(conf, log={"level": log_level})
        u.write_config(conf)
        u.start()
        p = Probe(u)
        try:
            body(u, p, gw)
        finally:
            p.close()
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        gw.close()


def gw_file(u, gw, **kw):
    return gw.provider_file(u.etc, **kw)


# ---- cases ----

def get_provider():
    def body(u, p, gw):
        u.index(r"info \[sms\] SMS via gw \(GET http\) from .*smsprovider\.xml, sender none")
        reply, _ = expect_ok(p)
        check(reply == "OK 4711", f"the provider's answer comes back: {reply!r}")
        r = gw.wait_requests(1)[0]
        check(r["method"] == "GET" and r["path"] == "/send", f"GET /send: {r}")
        pr = r["params"]
        check(pr["text"] == TEXT, f"the text arrives intact: {pr['text']!r}")
        check(pr["to"] == "+491701234567", f"recipient normalised: {pr['to']}")
        check(pr["user"] == "acct" and pr["password"] == PASSWORD, f"account: {pr}")
        check(pr["from"] == "" and pr["route"] == "", f"no sender, no gateway: {pr}")
        # percent-encoding of everything but unreserved characters
        q = r["query"]
        check("text=Gr%C3%BC%C3%9Fe%20%26%20K%C3%BCsse%3A%20100%25%20sicher%3F%20a%2Bb%3Dc%2Fd"
              "%20%231%20%22quoted%22%20%3Ctag%3E%0Azweite%20Zeile%20%F0%9F%91%8D" in q,
              f"URL encoding of the text: {q}")
        check("to=%2B491701234567" in q and "password=s3cr%26t%20pw%25" in q, q)
        check(r["headers"].get("connection") == "close" and
              r["headers"].get("host") == f"127.0.0.1:{gw.port}", f"headers: {r['headers']}")
        u.wait_for(r"info \[sms\] SMS 1: to \+491701234567 delivered via gw \(try 1, \d+ ms\): "
                   r"OK 4711$")
        st = status(p)
        check(st["sent"] == 1 and st["failed"] == 0 and st["provider"] == "gw", f"status {st}")
        # chunked answers are read as well
        gw.set_modes("chunked")
        expect_ok(p, to="+44 20 7946 0000")
        check(gw.wait_requests(2)[1]["params"]["to"] == "+442079460000", "UK number")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body)


def post_provider():
    def body(u, p, gw):
        expect_ok(p, to="0049 170 1234567")
        r = gw.wait_requests(1)[0]
        check(r["method"] == "POST" and r["path"] == "/api/sms", f"POST /api/sms: {r}")
        check(r["headers"]["content-type"] ==
              "application/x-www-form-urlencoded; charset=utf-8", r["headers"])
        check(r["params"]["text"] == TEXT and r["params"]["to"] == "491701234567",
              f"form fields: {r['params']}")
        # form encoding: space as '+', a literal '+' as %2B
        check("text=Gr%C3%BC%C3%9Fe+%26+K%C3%BCsse%3A+100%25+sicher%3F+a%2Bb%3Dc%2Fd+%231"
              in r["body"], f"form-encoded body: {r['body']}")
        check(int(r["headers"]["content-length"]) == len(r["raw_body"]), "Content-Length")

    run(lambda gw, u: sms_config(gw_file(u, gw, method="POST", recipient="digits")), body)

    def body_json(u, p, gw):
        expect_ok(p)
        r = gw.wait_requests(1)[0]
        check(r["headers"]["content-type"] == "application/json", r["headers"])
        check(r["params"].get("json") == {"to": "00491701234567", "text": TEXT,
                                          "from": ""}, f"JSON body: {r['body']}")
        import base64
        auth = base64.b64encode(f"acct:{PASSWORD}".encode()).decode()
        check(r["headers"].get("authorization") == "Basic " + auth, "Basic authentication")
        check(r["headers"].get("x-route") == "fast", f"header template: {r['headers']}")

    run(lambda gw, u: sms_config(
        gw_file(u, gw, method="POST", recipient="00", content_type="application/json",
                body='{"to": "%RECIPIENT%", "text": "%TEXT%", "from": "%SENDER%"}',
                status="201", success=r'"status"\s*:\s*"queued"', auth="basic",
                headers=[("X-Route", "%GATEWAY%")]), gateway="fast"),
        body_json, gw_kw={"mode": "json"})


def https_verified():
    def body(u, p, gw):
        u.index(r"SMS via gw \(GET https\)")
        reply, _ = expect_ok(p)
        check(gw.wait_requests(1)[0]["params"]["text"] == TEXT, "text over TLS")

    run(lambda gw, u: sms_config(gw_file(u, gw), ca=gw.ca_file), body, gw_kw={"tls": True})

    # a numeric host is checked against the certificate's IP address
    def body_ip(u, p, gw):
        expect_ok(p)
        check(gw.wait_requests(1)[0]["headers"]["host"] == f"127.0.0.1:{gw.port}", "Host")

    run(lambda gw, u: sms_config(gw_file(u, gw, url=f"https://127.0.0.1:{gw.port}/s?t=%TEXT%"),
                                 ca=gw.ca_file), body_ip, gw_kw={"tls": True})


def https_unknown_ca():
    def body(u, p, gw):
        reply, _, sync = expect_err(p, "EACCES")
        check(not sync and reply == "the certificate of localhost failed verification "
                                    "(the log says why)", reply)
        time.sleep(0.3)
        check(gw.count() == 0, "nothing was sent to a gateway that failed verification")
        check(gw.connections == 1, f"no retry after a verification failure: {gw.connections}")

    run(lambda gw, u: sms_config(gw_file(u, gw), ca=gw.other_ca()), body, gw_kw={"tls": True})
    # the system CAs alone do not know the test CA either
    run(lambda gw, u: sms_config(gw_file(u, gw)), body, gw_kw={"tls": True})


def https_wrong_name():
    def body(u, p, gw):
        reply, _, _ = expect_err(p, "EACCES")
        check(gw.count() == 0, "nothing sent")

    kw = {"tls": True, "names": ["DNS:gateway.example"]}
    run(lambda gw, u: sms_config(gw_file(u, gw), ca=gw.ca_file), body, gw_kw=kw)

    def body_noverify(u, p, gw):
        u.index(r"warning \[sms\] certificate verification is off \(sms\.verify false\)")
        expect_ok(p)

    run(lambda gw, u: sms_config(gw_file(u, gw), verify=False), body_noverify, gw_kw=kw)


def refused_pattern():
    def body(u, p, gw):
        reply, _, sync = expect_err(p, "EREMOTEIO")
        check(not sync and reply == "HTTP 200: ERROR 401 invalid credentials",
              f"the provider's answer: {reply!r}")
        time.sleep(0.3)
        check(gw.count() == 1, "a refusal is not retried")
        u.wait_for(r"warning \[sms\] SMS 1: to \+491701234567 failed after 1 try "
                   r"\(Remote I/O error\): HTTP 200: ERROR 401 invalid credentials")
        # a redirect is not followed
        gw.set_modes("redirect")
        reply, _, _ = expect_err(p, "EREMOTEIO")
        check("HTTP 302 Found (redirect to https://elsewhere.example/ not followed)" in reply,
              reply)
        check(gw.count() == 2, "nothing sent elsewhere")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body, gw_kw={"mode": "refuse"})


def retry_5xx():
    def body(u, p, gw):
        gw.set_modes("500", "ok")
        reply, ms = expect_ok(p)
        reqs = gw.wait_requests(2)
        check(gw.count() == 2, "two tries")
        check(reqs[1]["time"] - reqs[0]["time"] >= 0.9, "1 s backoff")
        check(reqs[0]["params"] == reqs[1]["params"], "the same request again")
        u.index(r"info \[sms\] SMS 1: try 1 to http://127\.0\.0\.1:\d+/send failed \(HTTP 500 "
                r"Internal Server Error: temporarily out of service\); trying again in 1000 ms")
        u.wait_for(r"SMS 1: to \+491701234567 delivered via gw \(try 2,")
        st = status(p)
        check(st["sent"] == 1 and st["retries"] == 1 and st["failed"] == 0, f"status {st}")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body)

    # 429 and 503 are temporary too; 501 and 505 are final at once
    def body_codes(u, p, gw):
        gw.set_modes("status:429", "status:503", "ok")
        expect_ok(p)
        check(gw.count() == 3, f"429, 503, then delivered: {gw.count()}")
        for code in (501, 505, 599):
            n = gw.count()
            gw.set_modes(f"status:{code}")
            reply, _, _ = expect_err(p, "EREMOTEIO")
            check(reply == f"HTTP {code}: status {code}", reply)
            time.sleep(1.2)
            check(gw.count() == n + 1, f"{code} is not retried")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body_codes)


def give_up_5xx():
    def body(u, p, gw):
        t0 = time.monotonic()
        reply, _, _ = expect_err(p, "EREMOTEIO")
        check(time.monotonic() - t0 >= 2.9, "backoff 1 s + 2 s")
        check(gw.count() == 3, f"three tries: {gw.count()}")
        check(reply.startswith("HTTP 500 Internal Server Error"), reply)
        st = status(p)
        check(st["failed"] == 1 and st["retries"] == 2 and "HTTP 500" in st["last_error"],
              f"status {st}")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body, gw_kw={"mode": "500"})


def slow_timeout():
    def body(u, p, gw):
        t0 = time.monotonic()
        reply, ms, _ = expect_err(p, "ETIMEDOUT")
        took = time.monotonic() - t0
        check(0.9 <= took < 2.5, f"timeout_s 1: {took:.2f} s")
        check("no complete answer from 127.0.0.1 within 1 s" in reply, reply)
        time.sleep(1.2)
        check(gw.count() == 1, "a request that went out is not sent again")
        # an answer that trickles in slower than the timeout
        gw.set_modes("dribble")
        expect_err(p, "ETIMEDOUT")
        check(p.cmd("ping").startswith("ok"), "ucsd keeps running")

    run(lambda gw, u: sms_config(gw_file(u, gw), timeout_s=1), body,
        gw_kw={"mode": "slow", "slow_s": 5})


def connect_refused():
    def body(u, p, gw):
        t0 = time.monotonic()
        reply, _, _ = expect_err(p, "ECONNREFUSED")
        check(time.monotonic() - t0 >= 2.9, "three tries with backoff")
        check("cannot connect to 127.0.0.1 port" in reply, reply)
        check(u.has(r"SMS 1: try 2 to .* failed \(cannot connect .*\); trying again in 2000 ms"),
              "second retry logged")

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nobody listens there now
    run(lambda gw, u: sms_config(gw_file(u, gw, url=f"http://127.0.0.1:{port}/x?t=%TEXT%")),
        body)


def sender_modes():
    def body(u, p, gw):
        p.ok("ud.put user " + json.dumps({"id": "alice", "login": "alice",
                                          "phones": {"mobile": "0171 7654321"}}))
        p.ok("ud.put user " + json.dumps({"id": "bob", "login": "bob"}))
        # none (the configuration the case starts with)
        expect_ok(p, user="alice")
        check(gw.wait_requests(1)[0]["params"]["from"] == "", "no sender")

        def reload(**sender):
            n = len(u.lines)
            u.write_config(sms_config(os.path.join(u.etc, "smsprovider.xml"), sender=sender))
            u.signal(signal.SIGHUP)
            u.wait_for(r"info \[sms\] SMS via gw", after=n)

        reload(mode="fixed", number="089 1234567")
        expect_ok(p, user="alice")
        check(gw.wait_requests(2)[1]["params"]["from"] == "0049891234567",
              "fixed number, normalised, in the provider's 00 form")
        reload(mode="fixed", number="ACME Ltd")
        expect_ok(p)
        check(gw.wait_requests(3)[2]["params"]["from"] == "ACME Ltd", "alphanumeric sender")
        reload(mode="mobile")
        u.index(r"SMS via gw .* sender mobile")
        expect_ok(p, user="alice")
        check(gw.wait_requests(4)[3]["params"]["from"] == "00491717654321", "alice's mobile")
        reply, _, sync = expect_err(p, "ENOENT", user="bob")
        check(sync, "refused at once")
        u.wait_for(r"info \[sms\] SMS from bob \(test\) to 0170 1234567 refused: user bob has "
                   r"no mobile number")
        expect_err(p, "ENOENT", user="nobody")
        check(gw.count() == 4, "nothing sent without a sender")
        # the server's own SMS (no user: notify, the admin's test) go out
        # without a sender when no number is configured, logged once
        expect_ok(p, user="")
        check(gw.wait_requests(5)[4]["params"]["from"] == "", "no sender for the server")
        expect_ok(p, user="")
        check(count_lines(u, r"info \[sms\] an SMS without a user has no mobile number to send "
                             r"from: such SMS go out without a sender \(logged once\)") == 1,
              "logged once")
        # ... and from sender.number when there is one
        reload(mode="mobile", number="089 1234567")
        expect_ok(p, user="")
        check(gw.wait_requests(7)[6]["params"]["from"] == "0049891234567",
              "the fixed number for the server's SMS")
        expect_ok(p, user="alice")
        check(gw.wait_requests(8)[7]["params"]["from"] == "00491717654321",
              "a user's SMS still from her mobile")
        u.wait_for(r"go out from sms\.sender\.number \+49891234567 \(logged once\)")
        # a fixed number the dialplan cannot place is refused at load
        n = len(u.lines)
        u.write_config(sms_config(os.path.join(u.etc, "smsprovider.xml"),
                                  sender={"mode": "fixed", "number": "+12"}))
        u.signal(signal.SIGHUP)
        u.wait_for(r"error \[sms\] .*ucsd\.json:\d+:\d+: sms\.sender\.number \"\+12\" is neither a "
                   r"phone number outside the PBX nor an alphanumeric name", after=n)
        u.wait_for(r"plugin 'sms' kept its previous settings", after=n)
        reload(mode="mobile")
        # a fixed sender that is too long for an alphanumeric one
        n = len(u.lines)
        u.write_config(sms_config(os.path.join(u.etc, "smsprovider.xml"),
                                  sender={"mode": "fixed", "number": "Much Too Long Ltd"}))
        u.signal(signal.SIGHUP)
        u.wait_for(r"error \[sms\] .*ucsd\.json:\d+:\d+: an alphanumeric sender has 1 to 11",
                   after=n)
        u.wait_for(r"plugin 'sms' kept its previous settings", after=n)
        expect_ok(p, user="alice")
        check(gw.wait_requests(9)[8]["params"]["from"] == "00491717654321", "still mobile")

    run(lambda gw, u: sms_config(gw_file(u, gw, sender="00")), body)


def operator_override():
    def body(u, p, gw):
        u.index(r"SMS via gw \(GET http\) from " + re.escape(os.path.join(u.etc,
                                                                          "smsprovider.xml")))
        expect_ok(p)

    def override(gw, u):
        gw_file(u, gw)  # CONFIG_DIR/smsprovider.xml, no providers_file key
        return sms_config(None)

    run(override, body)

    # the providers_file key wins over CONFIG_DIR/smsprovider.xml
    def keyed(gw, u):
        other = os.path.join(u.dir, "elsewhere")
        os.makedirs(other)
        with open(os.path.join(u.etc, "smsprovider.xml"), "w") as f:
            f.write(BROKEN)
        return sms_config(gw.provider_file(other))

    def body_keyed(u, p, gw):
        u.index(r"SMS via gw \(GET http\) from " + re.escape(os.path.join(u.dir, "elsewhere",
                                                                          "smsprovider.xml")))
        expect_ok(p)
        check(gw.count() == 1, "sent through the file the key names")

    run(keyed, body_keyed)

    # without it: the shipped file from the source tree; "" = SMS off
    u = sms_ucsd(sms_config(None, provider=""))
    try:
        u.start()
        u.index(r"info \[sms\] SMS off \(no provider configured\); 4 providers in " +
                re.escape(SHIPPED))
        p = Probe(u)
        reply, _, sync = expect_err(p, "ENOTCONN")
        check(sync, "refused at once")
        p.close()
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()
    # SMS off: a broken or missing provider file is logged, not fatal
    for broken in (True, False):
        u = sms_ucsd(sms_config(None, provider=""))
        try:
            path = os.path.join(u.etc, "smsprovider.xml")
            if broken:
                with open(path, "w") as f:
                    f.write(BROKEN)
            else:
                u.write_config(sms_config("/nonexistent/smsprovider.xml", provider=""))
                path = "/nonexistent/smsprovider.xml"
            u.start()
            u.index(r"warning \[sms\] SMS is off: " + re.escape(path) + r" is not usable "
                    r"\(above\); fix it before setting sms\.provider")
            u.index(r"info \[sms\] SMS off \(no provider configured\); 0 providers in " +
                    re.escape(path))
            p = Probe(u)
            expect_err(p, "ENOTCONN")
            p.close()
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()
    # a sender mode the provider's templates have no %SENDER% for: a warning
    def body_nosender(u, p, gw):
        u.index(r"warning \[sms\] sms\.sender\.mode is fixed, but provider gw \(" +
                re.escape(os.path.join(u.etc, "smsprovider.xml")) + r":3\) has no %SENDER% in "
                r"its templates: the recipient sees the provider's default sender")
        expect_ok(p)

    run(lambda gw, u: sms_config(gw_file(u, gw, url=gw.url("/s") + "?t=%TEXT%"),
                                 sender={"mode": "fixed", "number": "ACME"}), body_nosender)
    # a shipped provider by name
    u = sms_ucsd(sms_config(None, provider="generic-get"))
    try:
        u.start()
        u.index(r"SMS via generic-get \(GET https\) from " + re.escape(SHIPPED))
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


BAD_URL = """<?xml version="1.0"?>
<smsproviders>
  <provider name="gw">
    <url>http://127.0.0.1:70000/send?t=%TEXT%</url>
    <success>^OK</success>
  </provider>
</smsproviders>
"""

BROKEN = """<?xml version="1.0"?>
<smsproviders>
  <provider name="gw">
    <url>http://127.0.0.1:9/send?t=%TEXT%</url>
    <sucess>^OK</sucess>
  </provider>
</smsproviders>
"""


def broken_file_refuses_start():
    u = sms_ucsd(sms_config(None))
    try:
        path = os.path.join(u.etc, "smsprovider.xml")
        with open(path, "w") as f:
            f.write(BROKEN)
        u.start(wait=False)
        check(u.wait_exit() == 1, "a broken provider file stops startup")
        u.index(r"error \[sms\] " + re.escape(path) + r":5: unknown element <sucess> in "
                r"<provider>$")
        u.index(r"error \[sms\] " + re.escape(path) + r":3: provider gw has no <success> "
                r"pattern$")
        u.index(r"critical plugin 'sms' failed to initialise")
    finally:
        u.close()
    # a provider that the file does not have
    u = sms_ucsd(sms_config(SHIPPED, provider="nosuch"))
    try:
        u.start(wait=False)
        check(u.wait_exit() == 1, "an unknown provider stops startup")
        u.index(r"error \[sms\] .*ucsd\.json:\d+:\d+: sms\.provider \"nosuch\" is not in " +
                re.escape(SHIPPED) + r" \(it has: generic-get, generic-post-form, "
                r"generic-rest-json, generic-rest-apikey\)")
    finally:
        u.close()
    # a CA file that is not there
    u = sms_ucsd(sms_config(SHIPPED, provider="generic-get", ca="/nonexistent/ca.pem"))
    try:
        u.start(wait=False)
        check(u.wait_exit() == 1, "a missing CA file stops startup")
        u.index(r"error \[sms\] sms\.ca: cannot open /nonexistent/ca\.pem: No such file")
    finally:
        u.close()
    # a URL template that can never be a URL, with its line
    u = sms_ucsd(sms_config(None))
    try:
        path = os.path.join(u.etc, "smsprovider.xml")
        with open(path, "w") as f:
            f.write(BAD_URL)
        u.start(wait=False)
        check(u.wait_exit() == 1, "an unusable URL template stops startup")
        u.index(r"error \[sms\] " + re.escape(path) + r":4: <url> is not a usable URL: invalid "
                r"port in the URL$")
    finally:
        u.close()
    # a fixed sender the dialplan cannot place, with its position
    u = sms_ucsd(sms_config(SHIPPED, provider="generic-get",
                            sender={"mode": "fixed", "number": "+12"}))
    try:
        u.start(wait=False)
        check(u.wait_exit() == 1, "an invalid fixed sender stops startup")
        u.index(r"error \[sms\] .*ucsd\.json:\d+:\d+: sms\.sender\.number \"\+12\" is neither a "
                r"phone number outside the PBX nor an alphanumeric name")
    finally:
        u.close()
    # a gateway the provider does not list
    u = sms_ucsd(sms_config(SHIPPED, provider="generic-get", gateway="nosuch"))
    try:
        u.start(wait=False)
        check(u.wait_exit() == 1, "an unknown gateway stops startup")
        u.index(r"error \[sms\] .*ucsd\.json:\d+:\d+: sms\.gateway \"nosuch\" is not a gateway "
                r"of provider generic-get \(" + re.escape(SHIPPED) + r":\d+ has: direct, economy\)")
    finally:
        u.close()
    # ... and --check-config does not know the file (only the keys): a
    # wrong key is reported there
    u = sms_ucsd(sms_config(None, provder="x"))
    try:
        rc, _, err = u.run("--check-config")
        check(rc != 0 and "provder" in err, f"unknown key reported: {err}")
    finally:
        u.close()


def broken_file_on_reload():
    def body(u, p, gw):
        expect_ok(p)
        with open(os.path.join(u.etc, "smsprovider.xml"), "w") as f:
            f.write(BROKEN)
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"error \[sms\] .*smsprovider\.xml:5: unknown element <sucess>", after=n)
        u.wait_for(r"warning \[core\] plugin 'sms' kept its previous settings", after=n)
        expect_ok(p)
        check(gw.count() == 2, "the running provider still sends")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body)


def bad_answers():
    def body(u, p, gw):
        # the parser's limits end in EPROTO too (its -EMSGSIZE is internal);
        # the reply names the limit
        pre = "invalid answer from the gateway: "
        cases = [
            ("garbage", "EPROTO", [pre + "not an HTTP/1.x status line"]),
            ("oversized", "EPROTO", [pre + "the body is longer than 65536 bytes"]),
            ("bighead", "EPROTO", [pre + "more than 100 header fields",
                                   pre + "the response head is longer than 16384 bytes"]),
            ("drop", "ECONNRESET", ["the gateway closed the connection without an answer"]),
        ]
        for i, (mode, name, texts) in enumerate(cases):
            gw.set_modes(mode)
            err, reply, _, _ = send(p)
            check(err == name and reply in texts, f"{mode}: {err} {reply!r}")
            check(gw.count() == i + 1, f"{mode}: not retried ({gw.count()})")
        check(p.cmd("ping").startswith("ok"), "ucsd keeps running")
        expect_ok(p)
        st = status(p)
        check(st["failed"] == 4 and st["sent"] == 1, f"status {st}")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body)


def rejections():
    def body(u, p, gw):
        for kw, what in [({"text": ""}, "the text is empty"),
                         ({"text": "x" * 11}, "the text is longer than sms.max_text"),
                         ({"to": "111", "text": "hi"}, "not a phone number outside the PBX"),
                         ({"to": "abc", "text": "hi"}, "not a phone number outside the PBX"),
                         ({"to": "", "text": "hi"}, "not a phone number outside the PBX")]:
            reply, _, sync = expect_err(p, "EINVAL", **kw)
            check(sync, f"{kw}: refused at once")
            u.wait_for(r"info \[sms\] SMS from the server \(test\) to .* refused: " +
                       re.escape(what))
        # max_text counts characters, not bytes
        expect_ok(p, text="ü" * 10)
        st = status(p)
        check(st["rejected"] == 5 and st["sent"] == 1, f"status {st}")
        check(gw.count() == 1, "only the valid SMS was sent")

    run(lambda gw, u: sms_config(gw_file(u, gw), max_text=10), body)


def cancel():
    # on the wire: the gateway answers after 0.6 s, within the probe's
    # wait, so a job that was not cancelled would have called done
    def body(u, p, gw):
        line = p.ok("sms.cancel 300 1500 " + json.dumps({"to": "0170 1234567", "text": "x"}),
                    timeout=10)
        check(line == "done_calls=0 cancelled=1", f"cancelled, done never called: {line}")
        u.wait_for(r"info \[sms\] SMS 1: to \+491701234567 cancelled")
        r = gw.wait_requests(1)[0]
        check(r["client_closed"] and r["closed_after"] < 0.55,
              f"the gateway saw the connection closed before its answer: {r['client_closed']}")
        st = status(p)
        check(st["active"] == 0 and st["queued"] == 0 and st["sent"] == 0 and
              st["failed"] == 0, f"status {st}")
        gw.set_modes("ok")
        expect_ok(p)

    run(lambda gw, u: sms_config(gw_file(u, gw)), body, gw_kw={"mode": "slow", "slow_s": 0.6})

    # waiting in the queue behind four SMS on the wire
    def body_queued(u, p, gw):
        gw.set_modes(*["slow:1.2"] * 4)
        for i in range(4):
            send_async(p, text=f"busy{i}")
        gw.wait_requests(4)
        check(status(p)["active"] == 4, "four on the wire")
        p.sock.sendall(("sms.cancel 100 2500 " + json.dumps({"to": "0170 1234567",
                                                             "text": "queued"}) + "\n").encode())
        got = answers(p, 5, timeout=15)
        check(sum(1 for a in got if a.startswith("ok {")) == 4, f"the four delivered: {got}")
        check("ok done_calls=0 cancelled=1" in got, f"the queued one cancelled: {got}")
        time.sleep(0.3)
        check(gw.count() == 4 and all(r["params"]["text"] != "queued"
                                      for r in gw.wait_requests(4)),
              "the cancelled SMS never reached the gateway")
        st = status(p)
        check(st["sent"] == 4 and st["queued"] == 0 and st["active"] == 0, f"status {st}")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body_queued)

    # in the backoff after a 503: the next try would come after 1 s
    def body_backoff(u, p, gw):
        gw.set_modes("status:503")
        line = p.ok("sms.cancel 500 2000 " + json.dumps({"to": "0170 1234567", "text": "x"}),
                    timeout=10)
        check(line == "done_calls=0 cancelled=1", line)
        check(u.has(r"SMS 1: try 1 to .* failed \(HTTP 503"), "cancelled in the backoff")
        check(gw.count() == 1, f"no second try after cancel: {gw.count()}")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body_backoff)

    # while connecting: a TLS handshake that never ends (timeout 1 s, so
    # without cancel the listener would see the close at 1 s and a second
    # connection at 2 s)
    silent = SilentListener()
    try:
        def body_connecting(u, p, gw):
            line = p.ok("sms.cancel 300 2500 " + json.dumps({"to": "0170 1234567",
                                                             "text": "x"}), timeout=10)
            check(line == "done_calls=0 cancelled=1", line)
            conns = silent.snapshot()
            check(len(conns) == 1, f"one connection, no retry: {conns}")
            check(conns[0][1] is not None and conns[0][1] - conns[0][0] < 0.8,
                  f"closed by the cancel, not by the timeout: {conns}")

        run(lambda gw, u: sms_config(
            gw_file(u, gw, url=f"https://127.0.0.1:{silent.port}/s?t=%TEXT%"), timeout_s=1),
            body_connecting)
    finally:
        silent.close()


def connect_timeout():
    """A TLS handshake that never ends is a connect timeout: retried."""
    silent = SilentListener()
    try:
        def body(u, p, gw):
            t0 = time.monotonic()
            reply, _, sync = expect_err(p, "ETIMEDOUT", timeout=30)
            took = time.monotonic() - t0
            check(not sync and reply == "no connection to 127.0.0.1 within 1 s", reply)
            conns = silent.wait_connections(3)
            check(len(conns) == 3, f"three tries: {conns}")
            check(5.5 <= took < 9, f"1 s + 1 s + 1 s + 2 s + 1 s: {took:.2f} s")
            check(u.has(r"SMS 1: try 2 to https://127\.0\.0\.1:\d+/s failed \(no connection to "
                        r"127\.0\.0\.1 within 1 s\); trying again in 2000 ms"), "retry logged")
            st = status(p)
            check(st["retries"] == 2 and st["failed"] == 1, f"status {st}")

        run(lambda gw, u: sms_config(
            gw_file(u, gw, url=f"https://127.0.0.1:{silent.port}/s?t=%TEXT%"), timeout_s=1),
            body)
    finally:
        silent.close()


def stop_in_flight():
    """SIGTERM with four SMS on the wire and two waiting: each ends with
    done(-ESHUTDOWN) before the sms plugin is gone, and a send() from
    inside that done is refused with -ESHUTDOWN."""
    gw = SmsGateway(mode="slow", slow_s=30).start()
    u = sms_ucsd({})
    try:
        u.write_config(sms_config(gw_file(u, gw)))
        u.start()
        p = Probe(u)
        for i in range(6):
            send_async(p, text=f"n{i}")
        gw.wait_requests(4)
        st = status(p)
        check(st["active"] == 4 and st["queued"] == 2, f"status {st}")
        rc, took = u.stop()
        check(rc == 0, f"clean exit (also no leak under ASan): {rc}")
        got = answers(p, 6, timeout=5)
        for a in got:
            err, res = parse_answer(a)
            check(err == "ESHUTDOWN" and res.get("reply") == "the server stops" and
                  not res.get("sync"), f"done(-ESHUTDOWN): {a}")
            check(res.get("resend") == "ESHUTDOWN", f"send() refused while stopping: {a}")
        u.index(r"warning \[sms\] 6 SMS not sent: the server stops")
        check(count_lines(u, r"info \[sms\] SMS \d: to \+491701234567 not sent: the server "
                             r"stops") == 6, "each logged")
        p.close()
    finally:
        u.close()
        gw.close()


def queue_full():
    """1000 SMS accepted and not done: the next one is -EBUSY."""
    gw = SmsGateway(mode="slow", slow_s=60).start()
    u = sms_ucsd({})
    try:
        u.write_config(sms_config(gw_file(u, gw)))
        u.start()
        p = Probe(u)
        lines = ["sms.send " + json.dumps({"to": "+491701234567", "text": f"n{i}"})
                 for i in range(1000)]
        for k in range(0, 1000, 100):
            p.sock.sendall(("\n".join(lines[k:k + 100]) + "\n").encode())
        deadline = time.monotonic() + 30
        while status(p)["queued"] + status(p)["active"] < 1000:
            check(time.monotonic() < deadline, f"1000 accepted: {status(p)}")
            time.sleep(0.2)
        reply, _, sync = expect_err(p, "EBUSY", text="one too many")
        check(sync, "refused at once")
        u.wait_for(r"info \[sms\] SMS from the server \(test\) to 0170 1234567 refused: 1000 "
                   r"SMS are waiting already \(Device or resource busy\)")
        st = status(p)
        check(st["rejected"] == 1 and st["active"] == 4 and st["queued"] == 996, f"status {st}")
        rc, _ = u.stop(timeout=30)
        check(rc == 0, f"clean exit: {rc}")
        got = answers(p, 1000, timeout=10)
        check(all(parse_answer(a)[0] == "ESHUTDOWN" for a in got), "each ends with ESHUTDOWN")
        u.index(r"warning \[sms\] 1000 SMS not sent: the server stops")
        p.close()
    finally:
        u.close()
        gw.close()


def reload_in_flight():
    """SIGHUP while SMS are on the wire and waiting: they keep the request
    and the success pattern they were accepted with."""
    def body(u, p, gw):
        gw.set_modes(*["slow:1.5"] * 4)
        for i in range(5):
            send_async(p, text=f"n{i}")
        gw.wait_requests(4)
        check(status(p)["queued"] == 1, "one waiting")
        n = len(u.lines)
        gw.provider_file(u.etc, url=gw.url("/new") + "?text=%TEXT%", success="^NEVER")
        u.signal(signal.SIGHUP)
        u.wait_for(r"info \[sms\] SMS via gw", after=n)
        got = answers(p, 5, timeout=15)
        check(all(a.startswith("ok {") for a in got), f"all five delivered: {got}")
        reqs = gw.wait_requests(5)
        check([r["path"] for r in reqs] == ["/send"] * 5,
              f"the waiting one too went out as accepted: {[r['path'] for r in reqs]}")
        check(reqs[4]["params"]["text"] == "n4" and reqs[4]["params"]["user"] == "acct",
              f"with the old template: {reqs[4]['params']}")
        # a new SMS takes the new provider: its path, its pattern
        expect_err(p, "EREMOTEIO")
        check(gw.wait_requests(6)[5]["path"] == "/new", "new SMS through the new file")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body)


def latin1():
    """An answer in ISO-8859-1: reply, last_error and status stay UTF-8."""
    def body(u, p, gw):
        gw.set_modes("latin1")
        reply, _ = expect_ok(p)  # the probe decodes its lines as strict UTF-8
        check(reply == "OK Gr\ufffd\ufffde aus M\ufffdnchen", f"U+FFFD for each bad byte: {reply!r}")
        gw.set_modes("latin1_refuse")
        reply, _, _ = expect_err(p, "EREMOTEIO")
        check(reply == "HTTP 200: Fehler: ung\ufffdltige Nummer", repr(reply))
        raw = p.cmd("sms.status")
        check(raw.startswith("ok "), raw)
        st = json.loads(raw[3:])
        check(st["last_error"] == "SMS 2 to +491701234567: Remote I/O error: HTTP 200: "
                                  "Fehler: ung\ufffdltige Nummer", f"status {st}")
        u.wait_for(r"SMS 2: to \+491701234567 failed after 1 try \(Remote I/O error\): HTTP 200: "
                   "Fehler: ung\ufffdltige Nummer")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body)


def too_big():
    """A text within max_text whose request would pass 64 KiB: -EINVAL
    (the ABI's error), not -E2BIG; max_text itself stops at 5000."""
    def body(u, p, gw):
        reply, _, sync = expect_err(p, "EINVAL", text="\U0001F44D" * 5000)
        check(sync, "refused at once")
        u.wait_for(r"refused: the URL is too long once expanded \(Invalid argument\)")
        expect_ok(p, text="\U0001F44D" * 1000)
        check(gw.count() == 1, "only the one that fits was sent")

    run(lambda gw, u: sms_config(
        gw_file(u, gw, url=gw.url("/s") + "?a=%TEXT%&b=%TEXT%"), max_text=5000), body)
    u = sms_ucsd(sms_config(SHIPPED, provider="generic-get", max_text=5001))
    try:
        rc, _, err = u.run("--check-config")
        check(rc != 0 and "max_text" in err, f"max_text above 5000 refused: {err}")
    finally:
        u.close()


def no_password_in_log():
    def body(u, p, gw):
        gw.set_modes("ok", "refuse", "500", "ok", "garbage")
        expect_ok(p)
        expect_err(p, "EREMOTEIO")
        expect_ok(p, to="+4930123456")  # 500, then the default ok
        expect_err(p, "EPROTO")
        expect_err(p, "EINVAL", to="abc")
        log = u.log()
        for form in (PASSWORD, "s3cr%26t%20pw%25", "s3cr%26t+pw%25", "s3cr&t"):
            check(form not in log, f"the password ({form}) is not in the log")
        check("SMS 3: try 1 to http://127.0.0.1" in log, "URLs are logged without the query")

    # the password in the path and the query: also a debug log shows none of it
    run(lambda gw, u: sms_config(gw_file(u, gw, url=gw.url("/a/%PASSWORD%/send") +
                                          "?p=%PASSWORD%&t=%TEXT%")), body, log_level="debug")

    # a log line longer than 1 KiB with the password where it is cut
    def long_url(gw, u):
        head = f"try 1 to http://127.0.0.1:{gw.port}/"
        pad = "x" * (1010 - len(head))  # the line is cut 13 bytes into it
        return sms_config(gw_file(u, gw, url=gw.url("/" + pad + "/%PASSWORD%/send") + "?t=%TEXT%"))

    def body_long(u, p, gw):
        gw.set_modes("status:503", "ok")
        expect_ok(p)
        u.wait_for(r"SMS 1: try 1 to http://127\.0\.0\.1:\d+/xxx")
        log = u.log()
        for form in ("s3cr", "%26t", "t%20pw"):
            check(form not in log, f"no part of the password ({form}) in the log")

    run(long_url, body_long)

    # a gateway that echoes the request: the Basic authentication and the
    # XML-escaped password come back in its answer
    def echo_conf(gw, u):
        return sms_config(gw_file(u, gw, method="POST", content_type="application/xml",
                                  body="<sms><pw>%PASSWORD%</pw><t>%TEXT%</t></sms>",
                                  auth="basic", url=gw.url("/api")))

    def body_echo(u, p, gw):
        import base64
        gw.set_modes("echo")
        reply, _ = expect_ok(p, text="hi")
        r = gw.wait_requests(1)[0]
        b64 = base64.b64encode(f"acct:{PASSWORD}".encode()).decode()
        check(r["headers"]["authorization"] == "Basic " + b64 and
              "s3cr&amp;t pw%" in r["body"], f"the request held both forms: {r['raw']!r}")
        check(reply.startswith("OK POST /api HTTP/1.1") and "Authorization: Basic ***" in reply,
              f"base64(user:password) scrubbed from the reply: {reply!r}")
        check("<sms><pw>***</pw>" in reply, f"the XML-escaped password scrubbed: {reply!r}")
        for form in (b64, "s3cr&amp;t", "s3cr&t"):
            check(form not in reply and form not in u.log(), f"{form} neither in reply nor log")

    run(echo_conf, body_echo)


def status_case():
    def body(u, p, gw):
        st = status(p)
        check(st == {"enabled": True, "provider": "gw",
                     "providers_file": os.path.join(u.etc, "smsprovider.xml"),
                     "sender": "none", "verify": True, "sent": 0, "failed": 0, "rejected": 0,
                     "retries": 0, "queued": 0, "active": 0, "last_error": "",
                     "last_error_at": 0}, f"fresh status {st}")
        gw.set_modes("refuse")
        expect_err(p, "EREMOTEIO")
        expect_ok(p)
        st = status(p)
        check(st["sent"] == 1 and st["failed"] == 1 and
              st["last_error"] == "SMS 1 to +491701234567: Remote I/O error: HTTP 200: ERROR "
                                  "401 invalid credentials" and
              abs(st["last_error_at"] - time.time()) < 30, f"status {st}")

    run(lambda gw, u: sms_config(gw_file(u, gw)), body)


def burst():
    def body(u, p, gw):
        n = 40
        # all at once on the probe connection, answers in any order
        p.sock.sendall("".join("sms.send " + json.dumps({"to": f"+4917000000{i:02d}",
                                                         "text": f"n{i}"}) + "\n"
                               for i in range(n)).encode())
        answers = []
        deadline = time.monotonic() + 30
        while len(answers) < n:
            line = p._line(deadline)
            if not line.startswith("event ") and not line.startswith("# "):
                answers.append(line)
        check(all(a.startswith("ok ") for a in answers), f"all delivered: {answers[:3]}")
        reqs = gw.wait_requests(n)
        check(sorted(r["params"]["text"] for r in reqs) == sorted(f"n{i}" for i in range(n)),
              "each text once")
        check(gw.connections == n, "one connection per SMS")
        check(gw.max_parallel == 4, f"four SMS on the wire at once: {gw.max_parallel}")
        st = status(p)
        check(st["sent"] == n and st["active"] == 0 and st["queued"] == 0, f"status {st}")

    # each answer takes 0.2 s, so the queue fills
    run(lambda gw, u: sms_config(gw_file(u, gw)), body, gw_kw={"mode": "slow", "slow_s": 0.2})


if __name__ == "__main__":
    main({
        "get_provider": get_provider,
        "post_provider": post_provider,
        "https_verified": https_verified,
        "https_unknown_ca": https_unknown_ca,
        "https_wrong_name": https_wrong_name,
        "refused_pattern": refused_pattern,
        "retry_5xx": retry_5xx,
        "give_up_5xx": give_up_5xx,
        "slow_timeout": slow_timeout,
        "connect_refused": connect_refused,
        "sender_modes": sender_modes,
        "operator_override": operator_override,
        "broken_file_refuses_start": broken_file_refuses_start,
        "broken_file_on_reload": broken_file_on_reload,
        "bad_answers": bad_answers,
        "rejections": rejections,
        "cancel": cancel,
        "no_password_in_log": no_password_in_log,
        "status": status_case,
        "burst": burst,
        "connect_timeout": connect_timeout,
        "stop_in_flight": stop_in_flight,
        "queue_full": queue_full,
        "reload_in_flight": reload_in_flight,
        "latin1": latin1,
        "too_big": too_big,
    })
