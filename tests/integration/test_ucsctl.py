"""tests/integration/test_ucsctl.py - the ucsctl command-line tool.

ucsctl runs as a subprocess, exactly as an administrator or a script runs
it. Without a server: usage errors (exit 1, and no connection is even
attempted), --help/--version, hash-password (the hash verifies with the
auth plugin's ucs-passwd), connection failures (exit 2), and the transport
against a WebSocket server written here on a raw socket, which sends what a
library would not let us send on cue: pings between fragments of a
fragmented answer, a close frame with a code, a bad frame. With the real
ucsd (dialplan, userdb-file, auth, presence, admin-api on a port picked at
run time): the first start's admin password, status and plugins, users,
groups and computers round trips, dialplan check, config validate / apply
with FILE:LINE:COL, the event log and -f, export into a second fresh server
and import there, restart, wrong passwords (exit 3), refusals (exit 4) and
TLS with a test CA made by openssl at run time (verified with --ca, refused
without it: exit 2).

UCSCTL_BIN runs another build's ucsctl (an ASan build against a plain
server, say) with this build's ucsd.
"""
import base64
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import stat
import struct
import subprocess
import tempfile
import threading
import time

from harness import BUILD, SOURCE, Failure, Ucsd, check, main

# UCSCTL_BIN: another build's ucsctl (an ASan one against a plain server)
UCSCTL = os.environ.get("UCSCTL_BIN") or os.path.join(BUILD, "tools", "ucsctl", "ucsctl")
UCS_PASSWD = os.path.join(BUILD, "plugins", "auth", "ucs-passwd")
MAN = os.path.join(SOURCE, "tools", "ucsctl", "ucsctl.1")
DATA = os.path.join(SOURCE, "config", "default")
CHEAP = {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1}
COMMANDS = ["status", "events", "plugins", "users", "groups", "computers", "dialplan",
            "config", "export", "import", "restart", "passwd", "hash-password"]
PHC = re.compile(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


def run(*args, password=None, stdin=None, env=None, timeout=60):
    """ucsctl ARGS: (exit status, stdout, stderr). password: UCSCTL_PASSWORD."""
    e = dict(os.environ)
    e.pop("UCSCTL_PASSWORD", None)
    if password is not None:
        e["UCSCTL_PASSWORD"] = password
    e.update(env or {})
    r = subprocess.run([UCSCTL, *args], input=stdin if stdin is not None else "",
                       capture_output=True, text=True, env=e, timeout=timeout)
    for text in (r.stdout, r.stderr):
        if re.search(r"(Address|Leak|UndefinedBehavior)Sanitizer|runtime error: ", text):
            raise Failure(f"ucsctl {args}: sanitizer report:\n{text}")
    return r.returncode, r.stdout, r.stderr


def expect(want, got, what):
    rc, out, err = got
    check(rc == want, f"{what}: exit {rc}, expected {want}\nstdout: {out}\nstderr: {err}")
    return out, err


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- without a server ----

def usage_errors():
    # a listener that must never see a connection: a usage error is found
    # before anything goes on the network
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    srv = f"127.0.0.1:{lst.getsockname()[1]}"
    try:
        cases = [
            ([], "usage: ucsctl"),
            (["frobnicate"], "unknown command frobnicate"),
            (["--frob", "status"], "unknown option --frob"),
            (["-s"], "needs a value"),
            (["-s", "127.0.0.1:99999", "status"], "bad port"),
            (["-s", "127.0.0.1:x", "status"], "bad port"),
            (["--timeout", "0", "status"], "--timeout"),
            (["-s", srv, "status", "extra"], "too many arguments"),
            (["-s", srv, "users"], "missing subcommand"),
            (["-s", srv, "users", "frob"], "unknown subcommand frob"),
            (["-s", srv, "users", "add"], "missing LOGIN"),
            (["-s", srv, "users", "add", "a", "b"], "too many arguments"),
            (["-s", srv, "users", "add", "bob", "--service", "teleport"], "unknown service"),
            (["-s", srv, "users", "add", "bob", "--service", "chat=maybe"], "NAME=on"),
            (["-s", srv, "users", "add", "bob", "--grant", "alice=boss"], "unknown level"),
            (["-s", srv, "users", "add", "bob", "--grant", "alice=team:fly"], "unknown right"),
            (["-s", srv, "users", "add", "bob", "--email"], "needs a value"),
            (["-s", srv, "users", "set", "bob"], "nothing to change"),
            (["-s", srv, "users", "show", "bob", "--email", "x"], "unknown option --email"),
            (["-s", srv, "groups", "add", "g", "--level", "boss"], "unknown level"),
            (["-s", srv, "groups", "add", "g", "--add-member", "x"], "change an existing"),
            (["-s", srv, "computers", "add", "pc", "--line", "*"], "--all-lines"),
            (["-s", srv, "events", "--level", "loud"], "--level takes"),
            (["-s", srv, "events", "--limit", "-3"], "--limit takes"),
            (["-s", srv, "dialplan"], "missing subcommand"),
            (["-s", srv, "dialplan", "check"], "missing NUMBER"),
            (["-s", srv, "config", "validate"], "missing FILE"),
            (["-s", srv, "config", "frob"], "unknown subcommand"),
            (["-s", srv, "import", "f", "--replace", "--frob"], "unknown option --frob"),
            (["-s", srv, "export"], "missing FILE"),
            (["hash-password", "--memory", "abc"], "--memory takes"),
        ]
        for args, text in cases:
            out, err = expect(1, run(*args, password="pw"), f"ucsctl {args}")
            check(text in err, f"ucsctl {args}: expected {text!r} on stderr, got {err!r}")
        # no password at all (none in the environment, standard input empty)
        out, err = expect(1, run("-s", srv, "status"), "no password")
        check("no password" in err, f"no password: {err!r}")
        r, _, _ = select.select([lst], [], [], 0.2)
        check(not r, "a usage error connected to the server")
    finally:
        lst.close()


def help_and_version():
    out, _ = expect(0, run("--help"), "--help")
    for c in COMMANDS:
        check(re.search(rf"^  {re.escape(c)} ", out, re.M), f"--help does not list {c}")
    for code in range(6):
        check(re.search(rf"^  {code}  \S", out, re.M), f"--help does not explain exit {code}")
    for c in COMMANDS:
        out, _ = expect(0, run(c, "--help"), f"{c} --help")
        check(out.startswith(f"usage: ucsctl {c}"), f"{c} --help: {out[:80]!r}")
        out2, _ = expect(0, run("help", c), f"help {c}")
        check(out2 == out, f"help {c} differs from {c} --help")
    out, _ = expect(0, run("users", "add", "--help"), "users add --help")
    check("--password-stdin" in out and "--grant" in out, "users --help lacks options")
    out, _ = expect(0, run("--version"), "--version")
    check(re.fullmatch(r"ucsctl \d+\.\d+\.\d+\n", out), f"--version: {out!r}")
    # the manual page: every command and every exit status
    with open(MAN) as f:
        man = f.read()
    for c in COMMANDS:
        check(re.search(rf"^\.(TP|B|BI|TQ)\b.*\b{re.escape(c.replace('-', chr(92) + '-'))}",
                        man, re.M) or c.replace("-", "\\-") in man, f"ucsctl.1 lacks {c}")
    ex = man.split(".SH EXIT STATUS", 1)
    check(len(ex) == 2, "ucsctl.1 has no EXIT STATUS")
    for code in range(6):
        check(f".B {code}\n" in ex[1], f"ucsctl.1 does not explain exit {code}")
    if shutil.which("man"):
        r = subprocess.run(["man", "--warnings", "-l", MAN], capture_output=True, text=True,
                           env=dict(os.environ, MANWIDTH="80", MAN_KEEP_STDERR="1"),
                           timeout=30)
        check(r.returncode == 0 and "EXIT STATUS" in r.stdout,
              f"man -l ucsctl.1 failed: {r.stderr}")
        check(not r.stderr.strip(), f"man -l ucsctl.1 warns: {r.stderr}")


def verify(phc, password):
    r = subprocess.run([UCS_PASSWD, "verify", phc], input=password + "\n",
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout.strip()


def hash_password():
    out, _ = expect(0, run("hash-password", stdin="correct horse\n"), "hash-password")
    phc = out.strip()
    m = PHC.match(phc)
    check(m, f"hash-password printed {out!r}")
    check(m.groups() == ("65536", "3", "1"), f"not the auth plugin's default costs: {phc}")
    check(verify(phc, "correct horse") == (0, "match"), "the hash does not verify")
    check(verify(phc, "correct horsE") == (1, "no match"), "a wrong password verifies")
    # a fresh salt every time
    out2, _ = expect(0, run("hash-password", stdin="correct horse\n"), "hash-password 2")
    check(out2.strip() != phc, "two hashes of one password are equal")
    # costs, --json, only the first line of standard input
    out, _ = expect(0, run("hash-password", "--memory", "1024", "--iterations", "1",
                           "--json", stdin="pw with spaces \nsecond line\n"), "costs")
    doc = json.loads(out)
    m = PHC.match(doc["password_hash"])
    check(m and m.groups() == ("1024", "1", "1"), f"costs not used: {doc}")
    check(verify(doc["password_hash"], "pw with spaces ") == (0, "match"),
          "the first line (with its spaces) is not the password")
    out, err = expect(1, run("hash-password", stdin=""), "no password")
    check("no password" in err, err)
    out, err = expect(1, run("hash-password", stdin="\n"), "empty password")
    check("empty" in err, err)
    out, err = expect(1, run("hash-password", "--memory", "4", "--parallelism", "1",
                             stdin="x\n"), "too little memory")
    check("invalid costs" in err, err)
    # a configured administrator account with the hash logs in (needs the
    # real server; see first_start_password / wrong_password)


def no_server():
    port = free_port()  # nothing listens there
    t0 = time.monotonic()
    out, err = expect(2, run("-s", f"127.0.0.1:{port}", "status", password="x"), "refused")
    check("cannot connect" in err and "refused" in err, f"refused: {err!r}")
    out, err = expect(2, run("-s", "no-such-host.invalid", "--insecure-plain", "status",
                             password="x"), "unresolvable")
    check("cannot resolve" in err, f"unresolvable: {err!r}")
    # a port that accepts and then says nothing: the timeout ends it
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    try:
        t0 = time.monotonic()
        out, err = expect(2, run("-s", f"127.0.0.1:{lst.getsockname()[1]}", "--timeout",
                                 "1", "status", password="x"), "silent server")
        check(time.monotonic() - t0 < 5, "the timeout was not kept")
        check("in time" in err, f"silent server: {err!r}")
    finally:
        lst.close()
    # something that is not WebSocket (an HTTP server answering 404)
    srv = RawServer(script=lambda c: c.sendall(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        handshake=False)
    try:
        out, err = expect(2, run("-s", f"127.0.0.1:{srv.port}", "status", password="x"),
                          "HTTP 404")
        check("HTTP 404" in err, f"HTTP 404: {err!r}")
    finally:
        srv.close()


# ---- a WebSocket server on a raw socket (transport) ----

class Conn:
    """One accepted connection of RawServer, server side of RFC 6455."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.masks = []
        self.frames = []  # (fin, opcode, payload) as received

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure("the client closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_request(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure("no upgrade request")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return head.decode()

    def accept(self):
        head = self.read_request()
        check(head.startswith("GET /ws HTTP/1.1\r\n"), f"request line: {head[:40]!r}")
        key = re.search(r"(?im)^sec-websocket-key:\s*(\S+)", head).group(1)
        acc = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Accept: {acc}\r\n\r\n")
                          .encode())
        return head

    def read_frame(self):
        b0, b1 = self._need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._need(8))[0]
        check(b1 & 0x80, "a client frame without a mask")
        mask = self._need(4)
        self.masks.append(mask)
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(self._need(n)))
        self.frames.append((b0 >> 7, b0 & 0xF, data))
        return b0 >> 7, b0 & 0xF, data

    def read_json(self):
        """The next text message (answering nothing on the way)."""
        while True:
            fin, op, data = self.read_frame()
            if op == 0x1:
                check(fin, "ucsctl fragmented a small message")
                return json.loads(data)
            if op == 0x8:
                raise Failure(f"client closed: {data!r}")

    def send(self, op, data, fin=True):
        n = len(data)
        head = bytes([(0x80 if fin else 0) | op])
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + struct.pack(">H", n)
        else:
            head += bytes([127]) + struct.pack(">Q", n)
        self.sock.sendall(head + data)

    def send_json(self, obj):
        self.send(0x1, json.dumps(obj).encode())


class RawServer:
    """Accepts one connection on a thread and runs script(conn) on it."""

    def __init__(self, script, handshake=True, tls=None, tls_fails=False):
        self.lst = socket.socket()
        self.lst.bind(("127.0.0.1", 0))
        self.lst.listen(4)
        self.port = self.lst.getsockname()[1]
        self.error = None
        self.tls_error = None
        self.conn = None
        self.done = threading.Event()

        def serve():
            try:
                s, _ = self.lst.accept()
                s.settimeout(10)
                if tls:
                    try:
                        s = tls.wrap_socket(s, server_side=True)
                    except (ssl.SSLError, OSError) as e:
                        if not tls_fails:
                            raise
                        self.tls_error = e
                        s.close()
                        return
                    if tls_fails:
                        raise Failure("the TLS handshake succeeded")
                self.conn = Conn(s)
                if handshake:
                    self.conn.accept()
                    script(self.conn)
                else:
                    script(s)
                time.sleep(0.2)
                s.close()
            except Exception as e:  # reported by close()
                self.error = e
            finally:
                self.done.set()

        threading.Thread(target=serve, daemon=True).start()

    def close(self):
        self.done.wait(20)
        self.lst.close()
        if self.error:
            raise Failure(f"raw server: {self.error!r}")


def login_answer(c, expect_password="pw"):
    req = c.read_json()
    check(req.get("method") == "admin.login", f"first request: {req}")
    check(req["params"] == {"login": "admin", "password": expect_password},
          f"login params: {req['params']}")
    check(req.get("jsonrpc") == "2.0" and "id" in req, f"not JSON-RPC 2.0: {req}")
    c.send_json({"jsonrpc": "2.0", "id": req["id"], "result": {"login": "admin"}})


def transport():
    status = {"server": "ucsd", "sessions": {"admin": 1, "clients": 0},
              "plugins": [{"name": "dialplan", "state": "running"},
                          {"name": "auth", "state": "running"}]}

    # 1: a ping before the answer, the answer in three fragments with a ping
    # and a notification between them, then a normal close
    def script(c):
        login_answer(c)
        req = c.read_json()
        check(req["method"] == "status.get", f"second request: {req}")
        c.send(0x9, b"ping-1")
        fin, op, data = c.read_frame()
        check((fin, op, data) == (1, 0xA, b"ping-1"), f"pong: {(fin, op, data)}")
        c.send_json({"jsonrpc": "2.0", "method": "server.event", "params": {"kind": "x"}})
        text = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": status}).encode()
        c.send(0x1, text[:10], fin=False)
        c.send(0x9, b"ping-2")
        c.send(0x0, text[10:30], fin=False)
        c.send(0x0, text[30:], fin=True)
        fin, op, data = c.read_frame()
        check((op, data) == (0xA, b"ping-2"), f"second pong: {(op, data)}")
        fin, op, data = c.read_frame()
        check(op == 0x8 and struct.unpack(">H", data[:2])[0] == 1000,
              f"ucsctl did not close with 1000: {(op, data)}")
        c.send(0x8, struct.pack(">H", 1000))

    srv = RawServer(script)
    try:
        out, err = expect(0, run("-s", f"127.0.0.1:{srv.port}", "--json", "status",
                                 password="pw"), "fragmented status")
        check(json.loads(out) == status, f"status over fragments: {out}")
    finally:
        srv.close()
    masks = srv.conn.masks
    check(len(masks) >= 4 and len(set(masks)) == len(masks), f"masks repeat: {masks}")

    # 2: the server closes with a code and a reason instead of answering
    def closer(c):
        login_answer(c)
        c.read_json()
        c.send(0x8, struct.pack(">H", 4010) + b"server shutting down")
        fin, op, data = c.read_frame()
        check(op == 0x8 and struct.unpack(">H", data[:2])[0] == 4010,
              f"close not echoed: {(op, data)}")

    srv = RawServer(closer)
    try:
        out, err = expect(2, run("-s", f"127.0.0.1:{srv.port}", "plugins", password="pw"),
                          "closed by the server")
        check("4010" in err and "server shutting down" in err, f"close reason: {err!r}")
    finally:
        srv.close()

    # 3: a frame that breaks the protocol (reserved bits): ucsctl closes 1002
    def broken(c):
        login_answer(c)
        c.read_json()
        c.sock.sendall(bytes([0x80 | 0x40 | 0x1, 2]) + b"{}")
        fin, op, data = c.read_frame()
        check(op == 0x8 and struct.unpack(">H", data[:2])[0] == 1002,
              f"no 1002 close: {(op, data)}")

    srv = RawServer(broken)
    try:
        out, err = expect(2, run("-s", f"127.0.0.1:{srv.port}", "plugins", password="pw"),
                          "protocol violation")
        check("1002" in err, f"violation: {err!r}")
    finally:
        srv.close()

    # 4: an error answer: exit 4 with the reason and message; login refused: 3
    def refuses(c):
        login_answer(c)
        req = c.read_json()
        c.send_json({"jsonrpc": "2.0", "id": req["id"], "error": {
            "code": -32004, "message": "no user \"zed\"", "data": {"reason": "not_found"}}})

    srv = RawServer(refuses)
    try:
        out, err = expect(4, run("-s", f"127.0.0.1:{srv.port}", "users", "show", "zed",
                                 password="pw"), "refused")
        check("not_found" in err and 'no user "zed"' in err, f"refusal: {err!r}")
    finally:
        srv.close()

    def locked(c):
        req = c.read_json()
        c.send_json({"jsonrpc": "2.0", "id": req["id"], "error": {
            "code": -32007, "message": "too many failures",
            "data": {"reason": "locked_out", "retry_after_ms": 30000}}})

    srv = RawServer(locked)
    try:
        out, err = expect(3, run("-s", f"127.0.0.1:{srv.port}", "status", password="pw"),
                          "locked out")
        check("locked_out" in err and "retry in 30 s" in err, f"locked out: {err!r}")
    finally:
        srv.close()

    # 5: the password from the first line of standard input; the user's new
    # password from the second
    def passwd(c):
        login_answer(c, expect_password="admin pw")
        req = c.read_json()
        check(req["method"] == "users.update" and
              req["params"] == {"login": "bob", "password": "bobs new pw"},
              f"users passwd sent {req}")
        c.send_json({"jsonrpc": "2.0", "id": req["id"], "result": {"login": "bob"}})

    srv = RawServer(passwd)
    try:
        out, err = expect(0, run("-s", f"127.0.0.1:{srv.port}", "users", "passwd", "bob",
                                 stdin="admin pw\nbobs new pw\n"), "users passwd")
        check("bob" in out, out)
    finally:
        srv.close()


def make_certs(d):
    """A test CA and two server certificates signed by it (P-256): good.pem
    names localhost and 127.0.0.1, wrong.pem only other.example."""
    def ossl(*args):
        r = subprocess.run(["openssl", *args], capture_output=True, text=True, cwd=d,
                           timeout=60)
        if r.returncode:
            raise Failure(f"openssl {args}: {r.stderr}")

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ossl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=ucsctl test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, san in (("good", "DNS:localhost,IP:127.0.0.1,IP:::1"),
                      ("wrong", "DNS:other.example")):
        ossl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/CN={name}")
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        ossl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
             "-extfile", f"{name}.ext")
    return {n: os.path.join(d, n) for n in ("ca.pem", "good.pem", "good.key", "wrong.pem",
                                             "wrong.key")}


def server_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def tls_transport():
    d = tempfile.mkdtemp(prefix="ucsctl-tls-")
    try:
        certs = make_certs(d)
        good = server_ctx(certs["good.pem"], certs["good.key"])
        wrong = server_ctx(certs["wrong.pem"], certs["wrong.key"])

        def plugins(c):
            login_answer(c)
            req = c.read_json()
            c.send_json({"jsonrpc": "2.0", "id": req["id"],
                         "result": [{"name": "auth", "state": "running"}]})

        # verified: by address (iPAddress SAN) and by name (DNS SAN)
        for host in ("127.0.0.1", "localhost"):
            srv = RawServer(plugins, tls=good)
            try:
                out, err = expect(0, run("-s", f"{host}:{srv.port}", "--ca", certs["ca.pem"],
                                         "plugins", password="pw"), f"TLS to {host}")
                check(re.search(r"^auth\s+running$", out, re.M), f"TLS plugins: {out!r}")
            finally:
                srv.close()
        # not trusted without the CA (the system bundle does not have it)
        srv = RawServer(plugins, tls=good, tls_fails=True)
        try:
            out, err = expect(2, run("-s", f"127.0.0.1:{srv.port}", "--tls", "plugins",
                                     password="pw"), "TLS without --ca")
            check("not trusted" in err, f"TLS without --ca: {err!r}")
        finally:
            srv.close()
        # the right CA, the wrong name
        srv = RawServer(plugins, tls=wrong, tls_fails=True)
        try:
            out, err = expect(2, run("-s", f"127.0.0.1:{srv.port}", "--ca", certs["ca.pem"],
                                     "plugins", password="pw"), "TLS, wrong name")
            check("not for 127.0.0.1" in err, f"TLS wrong name: {err!r}")
        finally:
            srv.close()
        # --insecure: no verification, said explicitly
        srv = RawServer(plugins, tls=wrong)
        try:
            expect(0, run("-s", f"127.0.0.1:{srv.port}", "--insecure", "plugins",
                          password="pw"), "TLS --insecure")
        finally:
            srv.close()
        # a CA file that does not exist
        srv = RawServer(plugins, tls=good, tls_fails=True)
        try:
            out, err = expect(2, run("-s", f"127.0.0.1:{srv.port}", "--ca",
                                     os.path.join(d, "nope.pem"), "plugins", password="pw"),
                              "missing CA file")
            check("cannot load the CA certificates" in err, f"missing CA file: {err!r}")
        finally:
            srv.close()
        # plain to a TLS port, TLS to a plain port
        srv = RawServer(plugins, tls=good, tls_fails=True)
        try:
            out, err = expect(2, run("-s", f"127.0.0.1:{srv.port}", "--timeout", "3",
                                     "plugins", password="pw"), "plain to TLS")
            check("try --tls" in err, f"plain to TLS: {err!r}")
        finally:
            srv.close()
        def http_400(sock):
            sock.recv(4096)  # the ClientHello, which is no HTTP
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")

        srv = RawServer(http_400, handshake=False)
        try:
            out, err = expect(2, run("-s", f"127.0.0.1:{srv.port}", "--ca", certs["ca.pem"],
                                     "--timeout", "3", "plugins", password="pw"),
                              "TLS to plain")
            check("TLS" in err, f"TLS to plain: {err!r}")
        finally:
            srv.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---- with the real ucsd ----

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
PLUGINS = ["dialplan", "userdb-file", "auth", "presence", "admin-api"]
ADMIN_PW = "admin password 1"


class Server:
    """ucsd with the admin interface on a port picked now, and ucsctl
    pointed at it. accounts: admin-api.accounts (None: the first start
    creates 'admin' with a random password)."""

    def __init__(self, accounts=None, iface=None, extra=None):
        self.port = free_port()
        section = {"interfaces": [dict({"bind": "127.0.0.1", "port": self.port,
                                        "tls": "plain"}, **(iface or {}))]}
        if accounts is not None:
            section["accounts"] = accounts
        config = {"dialplan": {"config_dir": FIXTURES, "data_dir": DATA,
                               "default_location": "Starnberg"},
                  "auth": dict(CHEAP), "admin-api": section}
        config.update(extra or {})
        self.u = Ucsd(tree_plugins=PLUGINS, config=config)
        self.password = ADMIN_PW if accounts else None

    def start(self):
        """Starts ucsd; a start that fails leaves nothing running."""
        try:
            self.u.start()
            if self.password is None:
                i = self.u.wait_for(r"created 'admin' with a random password in (\S+)")
                path = re.search(r"random password in (\S+)", self.u.lines[i]).group(1)
                with open(path) as f:
                    self.password = f.read().strip()
                self.password_file = path
        except BaseException:
            self.u.close()
            raise
        return self

    def ctl(self, *args, password=None, **kw):
        return run("-s", f"127.0.0.1:{self.port}", *args,
                   password=self.password if password is None else password, **kw)

    def ok(self, *args, **kw):
        out, err = expect(0, self.ctl(*args, **kw), f"ucsctl {' '.join(args)}")
        return out

    def json(self, *args, **kw):
        return json.loads(self.ok("--json", *args, **kw))

    def close(self):
        try:
            if self.u.alive():
                rc, _ = self.u.stop()
                check(rc == 0, f"ucsd exit status {rc}")
        finally:
            self.u.close()


def cheap_hash(password):
    out, _ = expect(0, run("hash-password", "--memory", "1024", "--iterations", "1",
                           stdin=password + "\n"), "hash-password")
    return out.strip()


def configured():
    return Server(accounts=[{"login": "admin", "password_hash": cheap_hash(ADMIN_PW)}])


def first_start_password():
    srv = Server().start()
    try:
        st = os.stat(srv.password_file)
        check(stat.S_IMODE(st.st_mode) == 0o600, f"admin-password mode {oct(st.st_mode)}")
        check(len(srv.password) >= 16, f"a short random password: {srv.password!r}")
        out = srv.ok("status")
        check(out.strip(), "status printed nothing")
        # the same password from the first line of standard input
        e = dict(os.environ)
        e.pop("UCSCTL_PASSWORD", None)
        r = subprocess.run([UCSCTL, "-s", f"127.0.0.1:{srv.port}", "--json", "plugins"],
                           input=srv.password + "\n", capture_output=True, text=True,
                           env=e, timeout=60)
        check(r.returncode == 0, f"password on stdin: {r.returncode} {r.stderr}")
        json.loads(r.stdout)
        # the administrator changes her own password; the old one stops working
        out = srv.ok("passwd", stdin="a new admin password\n")
        out, err = expect(3, srv.ctl("status"), "old password after passwd")
        srv.password = "a new admin password"
        srv.ok("status")
    finally:
        srv.close()


def status_and_plugins():
    srv = configured().start()
    try:
        st = srv.json("status")
        check(isinstance(st, dict) and st, f"status --json: {st!r}")
        names = {p["name"]: p for p in st["plugins"]}
        for p in PLUGINS:
            check(p in names and names[p]["state"] == "running", f"status: {p}: {names}")
        sessions = st["admin_sessions"]
        check(any(x["login"] == "admin" for x in sessions), f"own session: {sessions}")
        text = srv.ok("status")
        check(re.search(r"^plugins:$", text, re.M), f"status text:\n{text}")
        check(re.search(r"^  NAME\s+VERSION\s+STATE", text, re.M), f"plugin table:\n{text}")
        pl = srv.json("plugins")
        rows = pl["plugins"]
        check({r["name"] for r in rows} >= set(PLUGINS), f"plugins --json: {rows}")
        text = srv.ok("plugins")
        lines = text.splitlines()
        check(re.match(r"NAME\s+VERSION\s+STATE", lines[0]), f"plugins header: {lines[0]!r}")
        # aligned: every row's STATE starts where the header's does
        col = lines[0].index("STATE")
        for line in lines[1:]:
            name = line.split()[0]
            check(line[col:].startswith(names[name]["state"]), f"misaligned: {line!r}")
        check(len(lines) == len(rows) + 1, f"plugins rows: {text}")
    finally:
        srv.close()


def users_round_trip():
    srv = configured().start()
    try:
        srv.ok("groups", "add", "sales")
        out = srv.ok("users", "add", "alice", "--display-name", "Alice Smith",
                     "--first-name", "Alice", "--last-name", "Smith",
                     "--email", "alice@example.com", "--business", "0891234567",
                     "--mobile", "01701234567", "--first-phone", "201",
                     "--service", "chat", "--service", "sms=off", "--group", "sales",
                     "--password-stdin", stdin="alice password\n")
        check("alice created" in out, out)
        u = srv.json("users", "show", "alice")
        check(u["login"] == "alice" and u["display_name"] == "Alice Smith", f"show: {u}")
        check(u["email"] == "alice@example.com" and u["active"] is True, f"show: {u}")
        biz = u["numbers"]["business"]
        check(biz["canonical"] == "+49891234567" and biz["display"], f"business: {biz}")
        check(u["phones"]["first"] == "201", f"phones: {u['phones']}")
        check(u["services"]["chat"] is True and u["services"]["sms"] is False,
              f"services: {u['services']}")
        check(u["groups"] == ["sales"], f"groups: {u['groups']}")
        check(u["has_password"] is True, "--password-stdin set no password")
        # human form: key: value lines
        text = srv.ok("users", "show", "alice")
        check(re.search(r"^login:\s+alice$", text, re.M), f"show text:\n{text}")
        # set changes only what it names
        srv.ok("users", "set", "alice", "--email", "a.smith@example.com", "--inactive",
               "--no-groups")
        u2 = srv.json("users", "show", "alice")
        check(u2["email"] == "a.smith@example.com" and u2["active"] is False, f"set: {u2}")
        check(u2["display_name"] == "Alice Smith" and u2["numbers"]["business"] == biz,
              f"set changed more: {u2}")
        check(u2["groups"] == [], f"--no-groups: {u2['groups']}")
        srv.ok("users", "add", "bob", "--grant", "alice=team:see_presence")
        b = srv.json("users", "show", "bob")
        check(b["rights"] == [{"user": "alice", "level": "team", "extra": ["see_presence"]}],
              f"--grant: {b['rights']}")
        # list: a table with the logins, --json with both
        text = srv.ok("users", "list")
        check(re.search(r"^LOGIN\s+NAME", text), f"users list:\n{text}")
        check(re.search(r"^alice\s+Alice Smith", text, re.M), f"users list:\n{text}")
        lst = srv.json("users", "list")
        check(sorted(x["login"] for x in lst["users"]) == ["alice", "bob"], f"list: {lst}")
        check(lst["total"] == 2, f"total: {lst}")
        lst = srv.json("users", "list", "--text", "ali")
        check([x["login"] for x in lst["users"]] == ["alice"], f"list --text: {lst}")
        # passwd: the next line of standard input (admin's from the environment)
        srv.ok("users", "passwd", "bob", stdin="bobs password 1\n")
        check(srv.json("users", "show", "bob")["has_password"] is True, "passwd")
        # a password under the server's minimum is refused
        out, err = expect(4, srv.ctl("users", "passwd", "bob", stdin="short\n"), "short pw")
        check("invalid_params" in err and "password" in err, err)
        # delete; then it is gone
        out = srv.ok("users", "del", "alice")
        check("alice deleted" in out, out)
        out, err = expect(4, srv.ctl("users", "show", "alice"), "show deleted")
        check("not_found" in err, err)
    finally:
        srv.close()


def groups():
    srv = configured().start()
    try:
        for login in ("ann", "ben", "cid"):
            srv.ok("users", "add", login)
        srv.ok("groups", "add", "Support", "--member", "ann", "--member", "ben",
               "--leader", "cid", "--level", "team", "--extra", "see_presence")
        g = srv.json("groups", "show", "Support")
        check(g["members"] == ["ann", "ben"] and g["leader"] == "cid", f"group: {g}")
        check(g["level"] == "team" and g["extra"] == ["see_presence"], f"group level: {g}")
        srv.ok("groups", "set", "Support", "--add-member", "cid", "--remove-member", "ann",
               "--deputy", "ben")
        g = srv.json("groups", "show", "Support")
        check(g["members"] == ["ben", "cid"] and g["deputy"] == "ben", f"edited: {g}")
        check(srv.json("users", "show", "cid")["groups"] == ["support"] or
              srv.json("users", "show", "cid")["groups"] == ["Support"],
              "membership not seen from the user")
        text = srv.ok("groups", "list")
        check(re.search(r"^NAME\s+MEMBERS", text), f"groups list:\n{text}")
        check(re.search(r"^Support\s+ben, cid\s", text, re.M), f"groups list:\n{text}")
        out, err = expect(4, srv.ctl("groups", "add", "Support"), "duplicate group")
        check("conflict" in err, err)
        out, err = expect(4, srv.ctl("groups", "add", "Other", "--member", "nobody"),
                          "unknown member")
        check("invalid_params" in err and "nobody" in err, err)
        srv.ok("groups", "del", "Support")
        expect(4, srv.ctl("groups", "show", "Support"), "deleted group")
    finally:
        srv.close()


def computers():
    srv = configured().start()
    try:
        srv.ok("computers", "add", "PC-17", "--first-phone", "201", "--line", "201",
               "--line", "202", "--authorised-only")
        c = srv.json("computers", "show", "PC-17")
        check(c["first_phone"] == "201" and c["lines"] == ["201", "202"] and
              c["authorised_only"] is True, f"computer: {c}")
        srv.ok("computers", "set", "PC-17", "--all-lines", "--any-user")
        c = srv.json("computers", "show", "PC-17")
        check(c["lines"] == ["*"] and c["authorised_only"] is False, f"set: {c}")
        text = srv.ok("computers", "list")
        check(re.search(r"^PC-17\s+201\s", text, re.M), f"computers list:\n{text}")
        srv.ok("computers", "del", "PC-17")
        out, err = expect(4, srv.ctl("computers", "show", "PC-17"), "deleted computer")
        check("not_found" in err, err)
    finally:
        srv.close()


def dialplan_check():
    srv = configured().start()
    try:
        # a caller's number: the access code goes, Starnberg's country comes
        r = srv.json("dialplan", "check", "0089123456", "--format", "--kind", "caller")
        check(r["result"]["canonical"] == "+4989123456" and
              r["result"]["display"] == "+49 (89) 123456", f"format: {r}")
        check(r["trace"], f"no trace: {r}")
        r = srv.json("dialplan", "check", "089123456", "--location", "Zurich")
        check(r["result"]["dial"] == "0089123456", f"dial at Zurich: {r}")
        text = srv.ok("dialplan", "check", "089123456", "--location", "Zurich")
        check(re.search(r"^dial:\s+0089123456$", text, re.M), f"dial text:\n{text}")
        check(re.search(r"^STEP\s+RULE\s+VALUE$", text, re.M), f"trace table:\n{text}")
        out, err = expect(4, srv.ctl("dialplan", "check", "123", "--location", "Atlantis"),
                          "unknown location")
        check("not_found" in err, err)
    finally:
        srv.close()


def config_validate():
    srv = configured().start()
    try:
        d = srv.u.dir
        good = os.path.join(d, "good.json")
        with open(srv.u.config) as f:
            cfg = json.load(f)
        with open(good, "w") as f:
            json.dump(cfg, f, indent=2)
        out = srv.ok("config", "validate", good)
        check("valid" in out, out)
        # a syntax error on line 3, column 5
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            f.write('{\n  "log": {},\n    ]\n}\n')
        out, err = expect(4, srv.ctl("config", "validate", bad), "broken JSON")
        check(re.search(rf"^{re.escape(bad)}:3:\d+: ", err, re.M), f"no FILE:LINE:COL: {err!r}")
        # an unknown key, with its position
        cfg2 = json.loads(json.dumps(cfg))
        cfg2["admin-api"]["frobnicate"] = 1
        unknown = os.path.join(d, "unknown.json")
        with open(unknown, "w") as f:
            json.dump(cfg2, f, indent=2)
        out, err = expect(4, srv.ctl("config", "validate", unknown), "unknown key")
        check(re.search(rf"^{re.escape(unknown)}:\d+:\d+: .*frobnicate", err, re.M),
              f"unknown key: {err!r}")
        # a file that cannot be read: local I/O error
        out, err = expect(5, srv.ctl("config", "validate", os.path.join(d, "nope.json")),
                          "missing file")
        check("cannot read" in err, err)
        # config get: the configuration in effect, secrets hidden
        got = json.loads(srv.ok("config", "get"))
        cfgtext = json.dumps(got)
        check("admin-api" in cfgtext and "$argon2id$" not in cfgtext, f"config get: {got}")
        check("min_password_length" not in got["config"]["admin-api"], f"config get: {got}")
        # apply: a broken file changes nothing; a valid one becomes the configuration
        with open(srv.u.config) as f:
            before = f.read()
        out, err = expect(4, srv.ctl("config", "apply", bad), "apply broken JSON")
        check(re.search(rf"^{re.escape(bad)}:3:\d+: ", err, re.M), f"apply broken: {err!r}")
        with open(srv.u.config) as f:
            check(f.read() == before, "a refused apply changed the operator file")
        cfg["admin-api"]["min_password_length"] = 12
        with open(good, "w") as f:
            json.dump(cfg, f, indent=2)
        n = len(srv.u.lines)
        out = srv.ok("config", "apply", good)
        check("applied" in out, out)
        srv.u.wait_for(r"reload", after=n)
        with open(srv.u.config) as f:
            check(json.load(f)["admin-api"]["min_password_length"] == 12, "file not written")
        deadline = time.monotonic() + 10
        while True:
            got = json.loads(srv.ok("config", "get"))
            if got["config"]["admin-api"].get("min_password_length") == 12:
                break
            check(time.monotonic() < deadline, f"apply not in effect: {got}")
            time.sleep(0.2)
        # and the server enforces it: 11 characters are too short now
        srv.ok("users", "add", "pat")
        out, err = expect(4, srv.ctl("users", "passwd", "pat", stdin="elevenchars\n"),
                          "password under the applied minimum")
        check("at least 12" in err, err)
    finally:
        srv.close()


def events():
    srv = configured().start()
    try:
        text = srv.ok("events", "--limit", "5")
        lines = text.splitlines()
        check(0 < len(lines) <= 5, f"events --limit 5:\n{text}")
        for line in lines:
            check(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (error|warning|info|debug)\s+"
                           r"\[[^]]+\] ", line), f"event line: {line!r}")
        ev = srv.json("events", "--plugin", "admin-api")
        check(ev["events"] and all(e["plugin"] == "admin-api" for e in ev["events"]),
              f"--plugin: {ev}")
        # -f: new events as they happen, ^C ends it with 0
        e = dict(os.environ, UCSCTL_PASSWORD=srv.password)
        f = subprocess.Popen([UCSCTL, "-s", f"127.0.0.1:{srv.port}", "--json", "events", "-f",
                              "--limit", "1", "--text", "zebra"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=e)
        try:
            time.sleep(1.0)  # subscribed
            srv.ok("users", "add", "zebra")  # an audited action: an event naming zebra
            got = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not got:
                r, _, _ = select.select([f.stdout], [], [], 0.5)
                if r:
                    line = f.stdout.readline()
                    if line:
                        got.append(json.loads(line))
            check(got and "zebra" in got[0]["text"].lower(), f"-f saw nothing: {got}")
            f.send_signal(signal.SIGINT)
            rc = f.wait(10)
            check(rc == 0, f"events -f after ^C: exit {rc} {f.stderr.read()}")
        finally:
            if f.poll() is None:
                f.kill()
                f.wait()
    finally:
        srv.close()


def export_import():
    a = configured().start()
    b = None
    d = tempfile.mkdtemp(prefix="ucsctl-export-")
    try:
        a.ok("users", "add", "alice", "--display-name", "Alice", "--business", "201")
        a.ok("users", "add", "bob")
        a.ok("groups", "add", "sales", "--member", "alice", "--member", "bob")
        a.ok("computers", "add", "pc1", "--line", "201")
        path = os.path.join(d, "archive.json")
        out = a.ok("export", path)
        check(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "export file not 0600")
        with open(path) as f:
            archive = json.load(f)
        check(isinstance(archive, dict), f"archive: {str(archive)[:200]}")
        # a second, fresh server
        b = configured().start()
        check(b.json("users", "list")["users"] == [], "the second server is not fresh")
        b.ok("import", path)
        users = {x["login"]: x for x in b.json("users", "list")["users"]}
        check(set(users) == {"alice", "bob"}, f"imported users: {set(users)}")
        check(users["alice"]["display_name"] == "Alice", f"alice: {users['alice']}")
        g = b.json("groups", "show", "sales")
        check(g["members"] == ["alice", "bob"], f"imported group: {g}")
        check(b.json("computers", "show", "pc1")["lines"] == ["201"], "imported computer")
        # not JSON: a local error, with the position
        broken = os.path.join(d, "broken.json")
        with open(broken, "w") as f:
            f.write('{"users": [\n')
        out, err = expect(5, b.ctl("import", broken), "broken archive")
        check(re.search(rf"^{re.escape(broken)}:\d+:\d+: ", err, re.M), err)
        # a file that cannot be written
        out, err = expect(5, a.ctl("export", os.path.join(d, "no", "such", "dir.json")),
                          "unwritable export")
        check("cannot write" in err, err)
    finally:
        shutil.rmtree(d, ignore_errors=True)
        try:
            a.close()
        finally:
            if b:
                b.close()


def wrong_password():
    srv = configured().start()
    try:
        out, err = expect(3, srv.ctl("status", password="not the password"), "wrong password")
        check("auth_failed" in err, err)
        out, err = expect(3, srv.ctl("-u", "nobody", "status"), "unknown administrator")
        check("auth_failed" in err, err)
        srv.ok("status")
    finally:
        srv.close()


def password_rules():
    """An empty password is no password (exit 1, nothing sent); a password
    goes in clear only to this machine unless --insecure-plain; groups
    list pages through more groups than one answer holds."""
    srv = configured().start()
    try:
        out, err = expect(1, srv.ctl("status", password="", stdin=""), "empty UCSCTL_PASSWORD")
        check("no password" in err and "empty" in err, err)
        out, err = expect(1, run("-s", f"127.0.0.1:{srv.port}", "status", stdin="\n"),
                          "empty first line")
        check("no password" in err, err)
        check(not srv.u.has(r"admin\.login"), "nothing reached the server")
        # 192.0.2.1 (TEST-NET-1) is not this machine: refused before connecting
        out, err = expect(1, run("-s", "192.0.2.1:7221", "status", password=ADMIN_PW),
                          "plain to another host")
        check("--tls" in err and "--insecure-plain" in err, err)
        # with --insecure-plain it tries (and finds nobody within a second)
        out, err = expect(2, run("-s", "192.0.2.1:7221", "--insecure-plain", "--timeout", "1",
                                 "status", password=ADMIN_PW), "plain when asked for")
        srv.ok("-s", f"localhost:{srv.port}", "status")
        for i in range(120):  # a groups.list page holds 100 unless asked for more
            srv.ok("groups", "add", f"g{i:03d}")
        rows = srv.json("groups", "list")
        check(len(rows["groups"]) == 120 and rows["total"] == 120, rows.get("total"))
    finally:
        srv.close()


def server_refusals():
    srv = configured().start()
    try:
        srv.ok("users", "add", "carol")
        out, err = expect(4, srv.ctl("users", "add", "carol"), "duplicate user")
        check("conflict" in err, err)
        out, err = expect(4, srv.ctl("users", "set", "dave", "--email", "x"), "no such user")
        check("not_found" in err, err)
        out, err = expect(4, srv.ctl("users", "add", "erin", "--group", "nogroup"),
                          "unknown group")
        check("invalid_params" in err and "nogroup" in err, err)
        # the configured account's password belongs to the configuration
        out, err = expect(4, srv.ctl("passwd", stdin="another password 1\n"),
                          "passwd of a configured account")
        check("read_only" in err, err)
    finally:
        srv.close()


def tls():
    d = tempfile.mkdtemp(prefix="ucsctl-tls-")
    srv = None
    try:
        certs = make_certs(d)
        srv = Server(accounts=[{"login": "admin", "password_hash": cheap_hash(ADMIN_PW)}],
                     iface={"tls": "tls-required", "cert": certs["good.pem"],
                            "key": certs["good.key"]}).start()
        out = srv.ok("--ca", certs["ca.pem"], "--json", "status")
        json.loads(out)
        out = srv.ok("--tls", "--ca", certs["ca.pem"], "users", "list")
        out, err = expect(2, srv.ctl("--tls", "status"), "TLS without the CA")
        check("not trusted" in err, err)
        out, err = expect(2, srv.ctl("status"), "plain to tls-required")
        check("TLS" in err or "--tls" in err, err)
        srv.ok("--insecure", "status")
    finally:
        if srv:
            srv.close()
        shutil.rmtree(d, ignore_errors=True)


def restart():
    srv = configured().start()
    try:
        before = srv.json("status")["server"]
        time.sleep(0.01)
        n = len(srv.u.lines)
        out = srv.ok("restart")
        check("restarting" in out, out)
        srv.u.wait_for(r"\[core\] ucsd \S+ started: \d+ plugins running", after=n, timeout=30)
        # the same server, reachable again (the listener may take a moment)
        deadline = time.monotonic() + 10
        while True:
            rc, out, err = srv.ctl("--json", "status")
            if rc == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        check(rc == 0, f"status after the restart: {rc} {err}")
        after = json.loads(out)["server"]
        check(after["pid"] == before["pid"] and after["started"] != before["started"],
              f"not a new start of the same process: {before} -> {after}")
    finally:
        srv.close()


if __name__ == "__main__":
    main({
        "usage_errors": usage_errors,
        "help_and_version": help_and_version,
        "hash_password": hash_password,
        "no_server": no_server,
        "transport": transport,
        "tls_transport": tls_transport,
        "first_start_password": first_start_password,
        "status_and_plugins": status_and_plugins,
        "users_round_trip": users_round_trip,
        "groups": groups,
        "computers": computers,
        "dialplan_check": dialplan_check,
        "config_validate": config_validate,
        "events": events,
        "export_import": export_import,
        "wrong_password": wrong_password,
        "server_refusals": server_refusals,
        "password_rules": password_rules,
        "tls": tls,
        "restart": restart,
    })
