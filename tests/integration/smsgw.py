"""tests/integration/smsgw.py - a local SMS provider gateway for the tests.

An HTTP or HTTPS server on 127.0.0.1 (port picked at run time) that
records every request it receives - method, path, query, headers, body,
and the parsed parameters (query string, or a form / JSON body) - and
answers each one per a mode:

  ok        200 "OK 4711"                      (matches the pattern ^OK)
  refuse    200 "ERROR 401 invalid credentials" (does not match)
  json      201 {"status": "queued", "id": 4711}
  chunked   200 "OK 4711" in chunked transfer coding
  500       500 "temporarily out of service"
  redirect  302 to https://elsewhere.example/ (must not be followed)
  slow      nothing for `slow_s` seconds (default 30), then 200 OK; a
            client that closes meanwhile is noticed (plain HTTP): the
            request gets "client_closed": True and no answer is sent
  slow:S    the same for S seconds
  status:N  N with the reason "Status N" and the body "status N"
  latin1    200 "OK Grüße aus München" in ISO-8859-1 (not UTF-8)
  latin1_refuse  200 "Fehler: ungültige Nummer" in ISO-8859-1
  echo      200 "OK " and the request as received (head and body)
  dribble   a valid answer one byte every `slow_s` / 10 seconds
  drop      reads the request, closes without a word
  garbage   "this is not HTTP" lines
  oversized 200 with a body of 1 MiB
  bighead   200 with 64 KiB of header fields

set_modes("500", "ok") queues modes for the next requests; afterwards the
default mode (the constructor's) answers. With tls=True a CA and a server
certificate (SAN: DNS:localhost, IP:127.0.0.1 unless `names` says
otherwise) are made with openssl at start; `ca_file` is the CA to give
ucsd (sms.ca), `other_ca()` makes an unrelated CA for the failure case.

Use from a test:

    gw = SmsGateway(tls=True).start()
    try:
        ... sms.providers_file = gw.provider_file(dir, "gw", method="GET") ...
        r = gw.wait_requests(1)[0]; r["params"]["text"] == "..."
    finally:
        gw.close()

SilentListener is a TCP listener that accepts and never says a word (a
gateway that hangs in the TCP or TLS handshake): it counts the
connections and when each was closed by the client.

or standalone: python3 smsgw.py [--tls] [--mode MODE] (prints the port and
every request as JSON lines, until Ctrl-C).
"""
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape

OK_BODY = b"OK 4711"
REFUSE_BODY = b"ERROR 401 invalid credentials"
LATIN1_BODY = "OK Grüße aus München".encode("latin-1")
LATIN1_REFUSE_BODY = "Fehler: ungültige Nummer".encode("latin-1")


class SilentListener:
    """Accepts TCP connections on 127.0.0.1 and never answers; records
    (accepted, closed) monotonic times per connection (closed None while
    open)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []  # [accepted, closed]
        self.cond = threading.Condition()
        self.closing = False
        self.open = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closing:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            rec = [time.monotonic(), None]
            with self.cond:
                self.conns.append(rec)
                self.open.append(c)
                self.cond.notify_all()
            threading.Thread(target=self._drain, args=(c, rec), daemon=True).start()

    def _drain(self, c, rec):
        try:
            c.settimeout(60)
            while c.recv(65536):
                pass  # a ClientHello, say: never answered
        except OSError:
            pass
        with self.cond:
            rec[1] = time.monotonic()
            self.cond.notify_all()

    def snapshot(self):
        with self.cond:
            return [list(r) for r in self.conns]

    def wait_connections(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.conns) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"silent listener: {len(self.conns)} connections, "
                                         f"not {n}")
                self.cond.wait(left)
            return [list(r) for r in self.conns]

    def close(self):
        self.closing = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.cond:
            conns = list(self.open)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass


def make_ca(directory, name="smsgw test CA"):
    """A self-signed CA (key, cert) in directory; returns (key, cert)."""
    key = os.path.join(directory, "ca.key")
    cert = os.path.join(directory, "ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", f"/CN={name}",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True, timeout=60)
    return key, cert


def make_server_cert(directory, ca_key, ca_cert, names):
    """A server certificate signed by the CA for the SAN entries in names
    (e.g. ["DNS:localhost", "IP:127.0.0.1"]); returns (key, cert)."""
    key = os.path.join(directory, "server.key")
    csr = os.path.join(directory, "server.csr")
    cert = os.path.join(directory, "server.pem")
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join(names) + "\n"
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
                    csr, "-subj", "/CN=smsgw"], check=True, capture_output=True, timeout=60)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
                    "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
                   check=True, capture_output=True, timeout=60)
    return key, cert


class SmsGateway:
    def __init__(self, tls=False, mode="ok", slow_s=30.0, names=None):
        self.tls = tls
        self.default_mode = mode
        self.slow_s = slow_s
        self.names = names or ["DNS:localhost", "IP:127.0.0.1"]
        self.modes = []
        self.requests = []
        self.connections = 0
        self.parallel = 0  # requests on the wire now (read, not yet answered)
        self.max_parallel = 0  # the most at once
        self.counted = set()  # the serving threads counted in parallel
        self.cond = threading.Condition()
        self.dir = tempfile.mkdtemp(prefix="smsgw-")
        self.ca_file = None
        self.ctx = None
        self.sock = None
        self.port = None
        self.closing = False
        self.threads = []
        self.open_conns = set()
        self.client_closed = 0  # slow answers the client did not wait for

    # ---- life ----

    def start(self):
        if self.tls:
            ca_key, self.ca_file = make_ca(self.dir)
            key, cert = make_server_cert(self.dir, ca_key, self.ca_file, self.names)
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(cert, key)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def close(self):
        self.closing = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.cond:
            conns = list(self.open_conns)
            self.cond.notify_all()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def other_ca(self):
        """The certificate file of a CA that signed nothing here."""
        d = os.path.join(self.dir, "other")
        os.makedirs(d, exist_ok=True)
        return make_ca(d, "unrelated CA")[1]

    # ---- what the test sets and reads ----

    def url(self, path="/send"):
        host = "localhost" if self.tls else "127.0.0.1"
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def set_modes(self, *modes):
        with self.cond:
            self.modes = list(modes)

    def wait_requests(self, n, timeout=10):
        """The first n requests, once they have come (Failure-like
        AssertionError otherwise)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"smsgw: {len(self.requests)} requests, not {n}, "
                                         f"within {timeout}s: {self.requests}")
                self.cond.wait(left)
            return list(self.requests[:n])

    def count(self):
        with self.cond:
            return len(self.requests)

    def provider_file(self, directory, name="gw", method="GET", success="^OK",
                      status=None, recipient="international", sender="international",
                      body=None, content_type=None, url=None, headers=(), auth=None,
                      extra_providers=""):
        """Writes DIRECTORY/smsprovider.xml with one provider `name` that
        talks to this gateway (GET: every value in the query; POST: a form
        body unless body/content_type say otherwise); returns the path."""
        if url is None:
            if method == "GET":
                url = self.url("/send") + ("?user=%USER%&password=%PASSWORD%&from=%SENDER%"
                                           "&to=%RECIPIENT%&text=%TEXT%&route=%GATEWAY%")
            else:
                url = self.url("/api/sms")
        if method == "POST" and body is None:
            body = ("user=%USER%&password=%PASSWORD%&from=%SENDER%&to=%RECIPIENT%"
                    "&text=%TEXT%&route=%GATEWAY%")
        parts = [f'  <provider name="{name}">',
                 "    <description>the test gateway</description>",
                 f"    <method>{method}</method>",
                 f"    <url>{escape(url)}</url>"]
        if auth:
            parts.append(f"    <auth>{auth}</auth>")
        for hname, hvalue in headers:
            parts.append(f'    <header name="{hname}">{escape(hvalue)}</header>')
        if body is not None:
            t = f' type="{escape(content_type)}"' if content_type else ""
            parts.append(f"    <body{t}>{escape(body)}</body>")
        parts.append(f'    <recipient format="{recipient}"/>')
        parts.append(f'    <sender format="{sender}"/>')
        st = f' status="{status}"' if status else ""
        parts.append(f"    <success{st}>{escape(success)}</success>")
        parts.append("  </provider>")
        path = os.path.join(directory, "smsprovider.xml")
        with open(path, "w") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<smsproviders>\n' +
                    "\n".join(parts) + "\n" + extra_providers + "</smsproviders>\n")
        return path

    # ---- the server ----

    def _accept(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.cond:
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()

    def _next_mode(self):
        with self.cond:
            return self.modes.pop(0) if self.modes else self.default_mode

    def _serve(self, raw):
        conn = raw
        with self.cond:
            self.open_conns.add(raw)
        counted = False
        try:
            raw.settimeout(60)
            if self.ctx:
                try:
                    conn = self.ctx.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError):
                    return  # the client refused our certificate
            req = self._read_request(conn)
            if req is None:
                return
            mode = self._next_mode()
            req["mode"] = mode
            # "on the wire": from a complete request until its answer goes
            # out. Counting open connections instead would race with this
            # thread's close after the client already has its answer and
            # opened the next one.
            with self.cond:
                self.requests.append(req)
                self.parallel += 1
                self.counted.add(threading.current_thread())
                counted = True
                self.max_parallel = max(self.max_parallel, self.parallel)
                self.cond.notify_all()
            self._answer(conn, mode, req, self._uncount)
        except OSError:
            pass
        finally:
            with self.cond:
                self.open_conns.discard(raw)
            if counted:
                self._uncount()
            try:
                conn.close()
            except OSError:
                pass

    def _read_request(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
            if len(data) > 1 << 20:
                return None
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("utf-8", "replace").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        path, _, query = target.partition("?")
        params = {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        ctype = headers.get("content-type", "")
        text = body.decode("utf-8", "replace")
        if ctype.startswith("application/x-www-form-urlencoded"):
            params.update({k: v[0] for k, v in
                           urllib.parse.parse_qs(text, keep_blank_values=True).items()})
        elif ctype.startswith("application/json") and body:
            try:
                params.update({"json": json.loads(text)})
            except ValueError:
                params.update({"json_error": text})
        return {"method": method, "target": target, "version": version, "path": path,
                "query": query, "headers": headers, "body": body.decode("utf-8", "replace"),
                "raw_body": body, "raw": head + b"\r\n\r\n" + body, "params": params,
                "time": time.monotonic(), "client_closed": False}

    def _sleep(self, secs, conn=None):
        """Waits secs; with a plain conn, False as soon as the client closed."""
        import select
        deadline = time.monotonic() + secs
        while not self.closing and time.monotonic() < deadline:
            if conn is not None and not isinstance(conn, ssl.SSLSocket):
                r, _, _ = select.select([conn], [], [], 0.05)
                if r:
                    try:
                        if not conn.recv(1, socket.MSG_PEEK):
                            return False
                    except OSError:
                        return False
            else:
                time.sleep(0.05)
        return True

    @staticmethod
    def _response(status, reason, body, ctype="text/plain", extra=""):
        return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n").encode() + body

    def _slow(self, conn, req, secs, before_answer):
        if not self._sleep(secs, conn):
            with self.cond:
                req["client_closed"] = True
                req["closed_after"] = time.monotonic() - req["time"]
                self.client_closed += 1
                self.cond.notify_all()
            return
        before_answer()
        conn.sendall(self._response(200, "OK", OK_BODY))

    def _uncount(self):
        """The request being answered is no longer on the wire (once)."""
        with self.cond:
            if threading.current_thread() in self.counted:
                self.counted.discard(threading.current_thread())
                self.parallel -= 1

    def _answer(self, conn, mode, req, before_answer):
        if mode.startswith("slow:"):
            return self._slow(conn, req, float(mode[5:]), before_answer)
        if mode != "slow":
            before_answer()
        if mode.startswith("status:"):
            n = int(mode[7:])
            conn.sendall(self._response(n, f"Status {n}", f"status {n}".encode()))
        elif mode == "latin1":
            conn.sendall(self._response(200, "OK", LATIN1_BODY, "text/plain; charset=iso-8859-1"))
        elif mode == "latin1_refuse":
            conn.sendall(self._response(200, "OK", LATIN1_REFUSE_BODY,
                                        "text/plain; charset=iso-8859-1"))
        elif mode == "echo":
            conn.sendall(self._response(200, "OK", b"OK " + req["raw"]))
        elif mode == "ok":
            conn.sendall(self._response(200, "OK", OK_BODY))
        elif mode == "refuse":
            conn.sendall(self._response(200, "OK", REFUSE_BODY))
        elif mode == "json":
            conn.sendall(self._response(201, "Created", b'{"status": "queued", "id": 4711}',
                                        "application/json"))
        elif mode == "chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n3\r\nOK \r\n4\r\n4711\r\n0\r\n\r\n")
        elif mode == "500":
            conn.sendall(self._response(500, "Internal Server Error",
                                        b"temporarily out of service"))
        elif mode == "redirect":
            conn.sendall(self._response(302, "Found", b"moved",
                                        extra="Location: https://elsewhere.example/\r\n"))
        elif mode == "slow":
            self._slow(conn, req, self.slow_s, before_answer)
        elif mode == "dribble":
            for b in self._response(200, "OK", OK_BODY):
                if self.closing:
                    return
                conn.sendall(bytes([b]))
                self._sleep(self.slow_s / 10)
        elif mode == "drop":
            return
        elif mode == "garbage":
            conn.sendall(b"this is not HTTP\r\nat all\r\n\r\n")
        elif mode == "oversized":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n")
            try:
                for _ in range(16):
                    conn.sendall(b"x" * 65536)
            except OSError:
                pass
        elif mode == "bighead":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            try:
                for i in range(2048):
                    conn.sendall(f"X-Filler-{i}: {'y' * 20}\r\n".encode())
                conn.sendall(b"\r\nOK")
            except OSError:
                pass
        else:
            raise ValueError(f"smsgw: unknown mode {mode}")


def main():
    import argparse
    ap = argparse.ArgumentParser(description="a recording SMS gateway for tests")
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--mode", default="ok")
    ap.add_argument("--slow", type=float, default=30.0)
    a = ap.parse_args()
    gw = SmsGateway(tls=a.tls, mode=a.mode, slow_s=a.slow).start()
    print(json.dumps({"port": gw.port, "url": gw.url(), "ca": gw.ca_file}), flush=True)
    seen = 0
    try:
        while True:
            reqs = gw.wait_requests(seen + 1, timeout=3600)
            r = dict(reqs[-1])
            r.pop("raw_body", None)
            print(json.dumps(r), flush=True)
            seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        gw.close()


if __name__ == "__main__":
    sys.exit(main())
