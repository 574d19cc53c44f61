"""tests/integration/smtpd.py - a real SMTP server (aiosmtpd) for the tests.

Every test of issue 7 that needs a mail server uses this one: the mail
plugin's (test_mail.py), notify's and the protocols'. It runs Debian's
aiosmtpd (python3-aiosmtpd; it imports only under /usr/bin/python3, which is
the interpreter the integration tests run with) on its own asyncio loop in a
background thread, on 127.0.0.1 and a port picked at run time, and records
every message it accepts.

    from smtpd import SmtpServer
    with SmtpServer(tls="starttls", auth=("mailer", "secret")) as s:
        s.port, s.ca_file            # for ucsd's mail.smtp.port / mail.smtp.ca
        msgs = s.wait_messages(2, timeout=10)
        m = msgs[0]
        m.mail_from, m.rcpt_tos      # the envelope (lists of str)
        m.data                       # the raw message (bytes, dot-unstuffed)
        m.msg                        # email.message.EmailMessage (policy.default)
        m.mail_options, m.tls, m.auth_mechanism, m.auth_user

Constructor (keywords only):
    tls       None (plain, no STARTTLS offered), "starttls" (offers STARTTLS
              with a certificate made at run time by openssl; ca_file is its
              CA for ucsd's `ca`), "implicit" (TLS from the first byte, as on
              port 465; same certificate).
    auth      None, or (user, password): AUTH PLAIN and LOGIN are offered
              (only after STARTTLS unless auth_require_tls=False) and
              checked against it; the mechanism used is recorded.
    auth_mechanisms   the AUTH mechanisms offered (default ("PLAIN", "LOGIN")).
    auth_required     refuse MAIL before a successful AUTH (530).
    auth_require_tls  offer AUTH only on a TLS connection (default True).
    smtputf8  offer SMTPUTF8 (default True); eightbit offers 8BITMIME
              (default True: aiosmtpd offers it unless it decodes data).
    record_dir  also write every message as NNNNN.eml + NNNNN.json
              (envelope) into this directory.
    names/ips the certificate's subjectAltNames (default localhost,
              127.0.0.1); a test that wants a certificate for another name
              passes names=("other.example",).
    port      a fixed port (default 0: picked at run time; restart keeps it).

Fault modes, changeable at any time (they apply to commands that arrive
after the call; count=None means "until cleared"):
    s.fail(stage, code, text=None, count=None, match=None)
              stage "MAIL", "RCPT" or "DATA": answer `code text` instead of
              accepting (4xx temporary, 5xx permanent). match (RCPT only)
              limits it to recipients containing that text.
    s.slow(stage, seconds, count=None)
              stage "greeting", "EHLO", "MAIL", "RCPT" or "DATA": wait that
              long before answering.
    s.drop(stage, count=None)
              stage "greeting", "MAIL", "RCPT" or "DATA": close the
              connection instead of answering.
    s.clear() removes every fault.
    s.stop() / s.start(): the server goes away (connections refused) and
              comes back on the same port, keeping what it recorded.

Inspection: s.messages (list, thread-safe append), s.count(),
s.wait_messages(n, timeout) (the first n, raises TimeoutError),
s.connections (number accepted), s.commands (every command line seen, AUTH
arguments masked), s.reset() forgets messages and commands.

Standalone (for a benchmark or by hand), under /usr/bin/python3:
    python3 smtpd.py [--tls starttls|implicit] [--auth USER:PASS] [--dir DIR]
prints "port N" (and "ca FILE" with TLS) on stdout, then serves until
SIGTERM/SIGINT, printing "received N" at the end.
"""
import asyncio
import email
import email.policy
import json
import logging
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

__all__ = ["SmtpServer", "Message", "make_certs"]

# aiosmtpd 1.4 logs a warning on every AUTH (it sets its own deprecated
# alias), info lines per command and tracebacks of the failures the tests
# provoke on purpose: keep the test output readable.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)


def make_certs(directory, names=("localhost",), ips=("127.0.0.1",)):
    """A throw-away CA and a server certificate it signed (EC P-256, two
    days); returns (ca_file, cert_file, key_file)."""
    paths = {n: os.path.join(directory, n) for n in
             ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "ext.cnf")}
    alt = [f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips]
    with open(paths["ext.cnf"], "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        f.write("subjectAltName=" + ",".join(alt) + "\n")

    def openssl(*args):
        subprocess.run(("openssl",) + args, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", paths["ca.key"], "-out", paths["ca.pem"],
            "-days", "2", "-subj", "/CN=ucsd smtpd test CA")
    openssl("req", *ec, "-keyout", paths["server.key"], "-out", paths["server.csr"],
            "-subj", f"/CN={names[0] if names else ips[0]}")
    openssl("x509", "-req", "-in", paths["server.csr"], "-CA", paths["ca.pem"],
            "-CAkey", paths["ca.key"], "-CAcreateserial", "-days", "2",
            "-out", paths["server.pem"], "-extfile", paths["ext.cnf"])
    return paths["ca.pem"], paths["server.pem"], paths["server.key"]


class Message:
    """One accepted message: the envelope, the raw data, how it came."""

    def __init__(self, mail_from, rcpt_tos, data, mail_options, rcpt_options, tls,
                 auth_mechanism, auth_user, peer):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.data = data
        self.mail_options = list(mail_options)
        self.rcpt_options = list(rcpt_options)
        self.tls = tls
        self.auth_mechanism = auth_mechanism
        self.auth_user = auth_user
        self.peer = peer
        self._msg = None

    @property
    def msg(self):
        if self._msg is None:
            self._msg = email.message_from_bytes(self.data, policy=email.policy.default)
        return self._msg

    def __repr__(self):
        return f"<Message from={self.mail_from!r} to={self.rcpt_tos!r} {len(self.data)} bytes>"


class _Fault:
    def __init__(self, kind, stage, count, code=None, text=None, match=None, seconds=0.0):
        self.kind, self.stage, self.count = kind, stage, count
        self.code, self.text, self.match, self.seconds = code, text, match, seconds


class _Handler:
    """aiosmtpd's handler hooks: faults first, then recording."""

    def __init__(self, owner):
        self.owner = owner

    async def _faults(self, server, stage, address=None):
        for f in self.owner._take_faults(stage, address):
            if f.kind == "slow":
                await asyncio.sleep(f.seconds)
            elif f.kind == "drop":
                server.transport.abort()
                return "421 4.3.0 dropped"
            elif f.kind == "fail":
                return f"{f.code} {f.text or ('try again later' if f.code < 500 else 'rejected')}"
        return None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        status = await self._faults(server, "EHLO")
        if status:
            return [status]
        session.host_name = hostname
        if not self.owner.eightbit:
            responses = [r for r in responses if "8BITMIME" not in r]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.owner.auth_required and not session.authenticated:
            return "530 5.7.0 Authentication required"
        status = await self._faults(server, "MAIL")
        if status:
            return status
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        status = await self._faults(server, "RCPT", address)
        if status:
            return status
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        status = await self._faults(server, "DATA")
        if status:
            return status
        auth = session.auth_data
        m = Message(envelope.mail_from, envelope.rcpt_tos, bytes(envelope.original_content or
                                                                 envelope.content),
                    envelope.mail_options, envelope.rcpt_options, session.ssl is not None,
                    getattr(session, "ucs_auth_mechanism", None),
                    auth.login.decode() if isinstance(auth, LoginPassword) else None,
                    session.peer)
        self.owner._record(m)
        return "250 2.0.0 Ok: queued"


class _SMTP(SMTP):
    """aiosmtpd's SMTP with the greeting faults, the command log and the
    implicit-TLS session flag."""

    def __init__(self, owner, *args, **kwargs):
        self.owner = owner
        super().__init__(*args, **kwargs)

    def connection_made(self, transport):
        if self._original_transport is None:  # not the STARTTLS upgrade
            self.owner._connected()
        super().connection_made(transport)
        if self.owner.tls == "implicit" and self.session is not None:
            self.session.ssl = transport.get_extra_info("ssl_object") or True

    async def _handle_client(self):
        for f in self.owner._take_faults("greeting"):
            if f.kind == "slow":
                await asyncio.sleep(f.seconds)
            elif f.kind == "drop":
                self.transport.abort()
                return
        await super()._handle_client()

    async def smtp_AUTH(self, arg):
        self.owner._command("AUTH " + (arg.split()[0] if arg else ""))
        mech = arg.split()[0].upper() if arg else None
        self.session.ucs_auth_mechanism = mech
        return await super().smtp_AUTH(arg)

    async def smtp_EHLO(self, hostname):
        self.owner._command("EHLO " + hostname)
        return await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname):
        self.owner._command("HELO " + hostname)
        return await super().smtp_HELO(hostname)

    async def smtp_STARTTLS(self, arg):
        self.owner._command("STARTTLS")
        return await super().smtp_STARTTLS(arg)

    async def smtp_MAIL(self, arg):
        self.owner._command("MAIL " + arg)
        return await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        self.owner._command("RCPT " + arg)
        return await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg):
        self.owner._command("DATA")
        return await super().smtp_DATA(arg)

    async def smtp_RSET(self, arg):
        self.owner._command("RSET")
        return await super().smtp_RSET(arg)

    async def smtp_QUIT(self, arg):
        self.owner._command("QUIT")
        return await super().smtp_QUIT(arg)


class SmtpServer:
    def __init__(self, *, tls=None, auth=None, auth_mechanisms=("PLAIN", "LOGIN"),
                 auth_required=False, auth_require_tls=True,
                 smtputf8=True, eightbit=True, record_dir=None, names=("localhost",),
                 ips=("127.0.0.1",), port=0, data_size_limit=0):
        if tls not in (None, "none", "starttls", "implicit"):
            raise ValueError(f"tls: {tls!r}")
        self.tls = None if tls == "none" else tls
        self.auth = auth
        self.auth_mechanisms = tuple(m.upper() for m in auth_mechanisms)
        self.auth_required = auth_required
        self.auth_require_tls = auth_require_tls
        self.smtputf8 = smtputf8
        self.eightbit = eightbit
        self.record_dir = record_dir
        self.data_size_limit = data_size_limit
        self.messages = []
        self.commands = []
        self.connections = 0
        self._faults = []
        self._lock = threading.Condition()
        self._dir = tempfile.mkdtemp(prefix="smtpd-")
        self.ca_file = self.cert_file = self.key_file = None
        self._ssl = None
        if self.tls:
            self.ca_file, self.cert_file, self.key_file = make_certs(self._dir, names, ips)
            self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ssl.load_cert_chain(self.cert_file, self.key_file)
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._loop_exception)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="smtpd")
        self._thread.start()
        self._server = None
        self.port = port
        self.start()

    @staticmethod
    def _loop_exception(loop, context):
        # clients that vanish mid-TLS (the tests make ucsd do that on
        # purpose) are not the server's problem
        if isinstance(context.get("exception"), (ConnectionError, ssl.SSLError)):
            return
        loop.default_exception_handler(context)

    # ---- lifetime ----
    def _factory(self):
        kwargs = dict(hostname="smtpd.test", enable_SMTPUTF8=self.smtputf8,
                      decode_data=False, loop=self._loop, timeout=60,
                      data_size_limit=self.data_size_limit or None,
                      auth_require_tls=self.auth_require_tls and self.tls == "starttls")
        if self.tls == "starttls":
            kwargs["tls_context"] = self._ssl
        if self.auth:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN")
                                                if m not in self.auth_mechanisms]
        else:
            kwargs["auth_exclude_mechanism"] = ["PLAIN", "LOGIN"]
        return _SMTP(self, _Handler(self), **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login.decode() == self.auth[0] and
              auth_data.password.decode() == self.auth[1])
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self):
        """(Re)opens the listening socket on self.port (0 at first: any)."""
        async def open_server():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(128)
            return await self._loop.create_server(
                self._factory, sock=sock, ssl=self._ssl if self.tls == "implicit" else None)

        if self._server is not None:
            return self
        self._server = asyncio.run_coroutine_threadsafe(open_server(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        """Closes the listener and every open connection (the server is
        "down" until start())."""
        async def close_server(srv):
            srv.close()
            for t in asyncio.all_tasks(self._loop):
                if t is not asyncio.current_task():
                    t.cancel()
            await asyncio.sleep(0)

        if self._server is None:
            return
        srv, self._server = self._server, None
        asyncio.run_coroutine_threadsafe(close_server(srv), self._loop).result(10)
        # aiosmtpd's protocol objects close their transports when their
        # handler task ends; give the loop a moment to do it.
        time.sleep(0.05)

    def close(self):
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- faults ----
    def fail(self, stage, code, text=None, count=None, match=None):
        if stage not in ("EHLO", "MAIL", "RCPT", "DATA"):
            raise ValueError(stage)
        with self._lock:
            self._faults.append(_Fault("fail", stage, count, code=code, text=text, match=match))

    def slow(self, stage, seconds, count=None):
        if stage not in ("greeting", "EHLO", "MAIL", "RCPT", "DATA"):
            raise ValueError(stage)
        with self._lock:
            self._faults.append(_Fault("slow", stage, count, seconds=seconds))

    def drop(self, stage, count=None):
        if stage not in ("greeting", "EHLO", "MAIL", "RCPT", "DATA"):
            raise ValueError(stage)
        with self._lock:
            self._faults.append(_Fault("drop", stage, count))

    def clear(self):
        with self._lock:
            self._faults = []

    def _take_faults(self, stage, address=None):
        out = []
        with self._lock:
            for f in self._faults:
                if f.stage != stage or (f.match and (address is None or f.match not in address)):
                    continue
                if f.count is not None:
                    if f.count <= 0:
                        continue
                    f.count -= 1
                out.append(f)
        # a slow fault runs before a fail/drop of the same stage
        out.sort(key=lambda f: 0 if f.kind == "slow" else 1)
        return out

    # ---- recording ----
    def _connected(self):
        with self._lock:
            self.connections += 1

    def _command(self, line):
        with self._lock:
            self.commands.append(line)

    def _record(self, m):
        with self._lock:
            self.messages.append(m)
            n = len(self.messages)
            self._lock.notify_all()
        if self.record_dir:
            os.makedirs(self.record_dir, exist_ok=True)
            base = os.path.join(self.record_dir, f"{n:05d}")
            with open(base + ".eml", "wb") as f:
                f.write(m.data)
            with open(base + ".json", "w") as f:
                json.dump({"mail_from": m.mail_from, "rcpt_tos": m.rcpt_tos,
                           "mail_options": m.mail_options, "tls": m.tls,
                           "auth_mechanism": m.auth_mechanism}, f)

    def count(self):
        with self._lock:
            return len(self.messages)

    def wait_messages(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.messages)} of {n} messages within {timeout}s")
                self._lock.wait(left)
            return list(self.messages[:n])

    def reset(self):
        with self._lock:
            self.messages = []
            self.commands = []
            self.connections = 0


def _main(argv):
    import argparse
    ap = argparse.ArgumentParser(description="a recording SMTP server (aiosmtpd)")
    ap.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    ap.add_argument("--auth", help="USER:PASS")
    ap.add_argument("--dir", help="record messages into DIR")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args(argv)
    auth = tuple(a.auth.split(":", 1)) if a.auth else None
    s = SmtpServer(tls=a.tls, auth=auth, record_dir=a.dir, port=a.port,
                   auth_require_tls=a.tls != "none")
    print(f"port {s.port}", flush=True)
    if s.ca_file:
        print(f"ca {s.ca_file}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    print(f"received {s.count()}", flush=True)
    s.close()


if __name__ == "__main__":
    _main(sys.argv[1:])
