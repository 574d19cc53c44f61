"""tests/integration/wsclient.py - WebSocket clients for the integration tests.

Two clients, for two purposes:

RawClient: a plain socket (optionally TLS) that sends exactly the bytes a
test wants - a valid or broken HTTP upgrade, frames with any flags, masks,
lengths and payloads - and reads back the HTTP answer and frames as they
are. For bad-input tests and anything a real WebSocket library would refuse
to send.

    c = RawClient(port)                  # or RawClient(port, ssl=ctx)
    c.handshake()                        # GET /ws ... -> 101, raises otherwise
    c.send_frame(OP_TEXT, b'{"jsonrpc":"2.0","id":1,"method":"echo"}')
    c.recv_json()                        # the next text message, decoded
    c.send_frame(OP_TEXT, b"\\xff", mask=True)
    c.recv_close()                       # -> (1007, "invalid UTF-8 ...")
    c.wait_eof()                         # the server closed the TCP connection

RpcClient: JSON-RPC 2.0 over python3-websockets (asyncio, run on a
background thread so that tests stay synchronous; websockets 10.4 has no
sync client). For conformance tests and for every plugin test that needs a
logged-in client.

    r = RpcClient(f"ws://127.0.0.1:{port}/ws")     # ssl=ctx for wss://
    r.call("echo", {"a": 1})             # -> result; raises RpcError on error
    r.call_error("nope")                 # -> the error object (dict)
    r.notify("method", params)           # a notification (no reply)
    r.batch([("echo", [1]), ("x", None, False)])   # -> the reply array
    r.wait_notification("server.event", timeout=5) # -> params
    r.wait_closed(timeout=5)             # -> (code, reason) the server sent
    r.close()

Only the standard library and python3-websockets (Debian's python3).
"""
import asyncio
import itertools
import json
import os
import socket
import ssl as ssl_mod
import struct
import threading
import time

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample key
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


class WsError(Exception):
    pass


class RpcError(Exception):
    """A JSON-RPC error reply; .error is the error object."""

    def __init__(self, error):
        super().__init__(f"{error.get('code')} {error.get('message')} "
                         f"({(error.get('data') or {}).get('reason')})")
        self.error = error


def upgrade_request(host="127.0.0.1", path="/ws", method="GET", extra=None, omit=()):
    """The bytes of an upgrade request; extra: more header lines (dict),
    omit: header names to leave out."""
    headers = {"Host": host, "Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13"}
    for name in omit:
        headers.pop(name, None)
    headers.update(extra or {})
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None, key=None):
    """One frame. length: the length field to claim (default: the payload's);
    key: the 4-byte mask (random by default)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask:
        key = key or os.urandom(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


class RawClient:
    def __init__(self, port, host="127.0.0.1", ssl=None, timeout=5, rcvbuf=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if ssl is not None:
            self.sock = ssl.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.timeout = timeout
        self.eof = False

    # --- bytes ---------------------------------------------------------------
    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Reads more; False at EOF (or a reset)."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise WsError("timed out waiting for the server")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            raise WsError("timed out waiting for the server") from None
        except (ConnectionResetError, BrokenPipeError, ssl_mod.SSLError):
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _take(self, n, deadline):
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise WsError(f"connection closed ({len(self.buf)} of {n} bytes)")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def wait_eof(self, timeout=None):
        """True when the server closes the connection within timeout (data
        received meanwhile is dropped)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            while self._fill(deadline):
                self.buf = b""
        except WsError:
            return False
        return True

    # --- HTTP ----------------------------------------------------------------
    def recv_http(self, timeout=None):
        """(status, {lowercase header: value}, body-so-far) of an answer."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                raise WsError(f"connection closed before an HTTP answer: {self.buf!r}")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        body = b""
        if status != 101:
            n = int(headers.get("content-length", "0"))
            body = self._take(n, deadline)
        return status, headers, body

    def handshake(self, path="/ws", extra=None):
        self.send(upgrade_request(path=path, extra=extra))
        status, headers, _ = self.recv_http()
        if status != 101:
            raise WsError(f"upgrade answered {status}")
        if headers.get("sec-websocket-accept") != ACCEPT:
            raise WsError(f"wrong Sec-WebSocket-Accept: {headers}")
        return headers

    # --- frames --------------------------------------------------------------
    def send_frame(self, opcode, payload=b"", **kw):
        self.send(frame(opcode, payload, **kw))

    def send_json(self, obj):
        self.send_frame(OP_TEXT, json.dumps(obj))

    def recv_frame(self, timeout=None):
        """(fin, opcode, payload) of the next frame; a server frame must not
        be masked and must not use reserved bits."""
        deadline = time.monotonic() + (timeout or self.timeout)
        b0, b1 = self._take(2, deadline)
        if b1 & 0x80:
            raise WsError("the server masked a frame")
        if b0 & 0x70:
            raise WsError("the server set reserved bits")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._take(2, deadline))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._take(8, deadline))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._take(n, deadline)

    def recv_message(self, timeout=None, skip_pings=True):
        """(opcode, payload) of the next whole message or control frame."""
        deadline = time.monotonic() + (timeout or self.timeout)
        parts, op = [], None
        while True:
            fin, opcode, payload = self.recv_frame(max(0.001, deadline - time.monotonic()))
            if opcode >= 0x8:
                if opcode == OP_PING and skip_pings:
                    continue
                return opcode, payload
            if opcode != OP_CONT:
                op = opcode
            parts.append(payload)
            if fin:
                return op, b"".join(parts)

    def recv_json(self, timeout=None):
        """The next text message, decoded (control frames other than ping:
        an error)."""
        op, payload = self.recv_message(timeout)
        if op != OP_TEXT:
            raise WsError(f"expected a text message, got opcode {op}: {payload!r}")
        return json.loads(payload)

    def recv_close(self, timeout=None):
        """Reads until a close frame: (code, reason), the messages before it
        are in self.before_close. (None, None) when the connection ends
        without one."""
        deadline = time.monotonic() + (timeout or self.timeout)
        self.before_close = []
        while True:
            try:
                op, payload = self.recv_message(max(0.001, deadline - time.monotonic()))
            except WsError:
                if self.eof:
                    return None, None
                raise
            if op == OP_CLOSE:
                if len(payload) < 2:
                    return 1005, ""
                return struct.unpack("!H", payload[:2])[0], payload[2:].decode()
            if op == OP_TEXT:
                self.before_close.append(json.loads(payload))

    def call(self, method, params=None, id=1):
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_json(msg)
        return self.recv_json()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RpcClient:
    """JSON-RPC over python3-websockets on a background event loop."""

    def __init__(self, url, ssl=None, timeout=10, **kw):
        import websockets  # Debian's python3-websockets

        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.ids = itertools.count(1)
        self.waiting = {}
        self.batches = []
        self.notes = []
        self.cond = threading.Condition()
        self.closed = None
        kw.setdefault("ping_interval", None)
        kw.setdefault("max_size", 64 << 20)
        kw.setdefault("open_timeout", timeout)

        async def connect():
            return await websockets.connect(url, ssl=ssl, **kw)

        self.ws = self._run(connect())
        self.reader = asyncio.run_coroutine_threadsafe(self._read(), self.loop)

    def _run(self, coro, timeout=None):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(
            timeout or self.timeout)

    async def _read(self):
        import websockets

        try:
            async for text in self.ws:
                msg = json.loads(text)
                with self.cond:
                    if isinstance(msg, list):
                        self.batches.append(msg)
                    elif "method" in msg:
                        self.notes.append(msg)
                    else:
                        self.waiting[json.dumps(msg.get("id"))] = msg
                    self.cond.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            with self.cond:
                self.closed = (self.ws.close_code, self.ws.close_reason)
                self.cond.notify_all()

    def _wait(self, pred, timeout, what):
        deadline = time.monotonic() + (timeout or self.timeout)
        with self.cond:
            while True:
                got = pred()
                if got is not None:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WsError(f"timed out waiting for {what}")
                if self.closed is not None and what != "close":
                    raise WsError(f"connection closed {self.closed} waiting for {what}")
                self.cond.wait(left)

    def send_text(self, text):
        """Sends one text message as is."""
        self._run(self.ws.send(text))

    def send_fragments(self, parts):
        """Sends one text message in len(parts) frames."""
        self._run(self.ws.send(list(parts)))

    def request(self, method, params=None, id=...):
        """Sends a request (id: a fresh number unless given; None is a
        request with id null); returns its id (see reply())."""
        id = next(self.ids) if id is ... else id
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send_text(json.dumps(msg))
        return id

    def reply(self, id, timeout=None):
        """The whole response object for id."""
        key = json.dumps(id)
        return self._wait(lambda: self.waiting.pop(key, None), timeout, f"reply {id}")

    def call(self, method, params=None, timeout=None):
        msg = self.reply(self.request(method, params), timeout)
        if "error" in msg:
            raise RpcError(msg["error"])
        return msg["result"]

    def call_error(self, method, params=None, timeout=None):
        msg = self.reply(self.request(method, params), timeout)
        if "error" not in msg:
            raise WsError(f"{method} succeeded: {msg}")
        return msg["error"]

    def notify(self, method, params=None):
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send_text(json.dumps(msg))

    def batch(self, calls, timeout=None):
        """calls: (method, params) requests or (method, params, False)
        notifications; returns the reply array (None when none is due)."""
        msgs = []
        for c in calls:
            m = {"jsonrpc": "2.0", "method": c[0]}
            if c[1] is not None:
                m["params"] = c[1]
            if len(c) < 3 or c[2]:
                m["id"] = next(self.ids)
            msgs.append(m)
        self.send_text(json.dumps(msgs))
        return self._wait(lambda: self.batches.pop(0) if self.batches else None, timeout,
                          "a batch reply")

    def wait_batch(self, timeout=None):
        return self._wait(lambda: self.batches.pop(0) if self.batches else None, timeout,
                          "a batch reply")

    def wait_notification(self, method, timeout=None):
        """The params of the first (kept or arriving) notification `method`."""
        def find():
            for i, n in enumerate(self.notes):
                if n["method"] == method:
                    return self.notes.pop(i).get("params", {})
            return None
        return self._wait(find, timeout, f"notification {method}")

    def notifications(self, method=None):
        with self.cond:
            out = [n for n in self.notes if method is None or n["method"] == method]
            self.notes = [n for n in self.notes if not (method is None or n["method"] == method)]
            return out

    def wait_closed(self, timeout=None):
        """(code, reason) of the close frame the server sent."""
        return self._wait(lambda: self.closed, timeout, "close")

    def ping(self, data=b"probe"):
        """Sends a ping; returns the seconds until the pong."""
        async def go():
            t0 = time.monotonic()
            waiter = await self.ws.ping(data)
            await waiter
            return time.monotonic() - t0
        return self._run(go())

    def close(self, code=1000, reason=""):
        try:
            self._run(self.ws.close(code, reason), timeout=5)
        except Exception:
            pass
        try:
            self.reader.result(5)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def tls_context(ca_file=None):
    """A client context that trusts ca_file (or nothing is verified)."""
    ctx = ssl_mod.SSLContext(ssl_mod.PROTOCOL_TLS_CLIENT)
    if ca_file:
        ctx.load_verify_locations(ca_file)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl_mod.CERT_NONE
    return ctx
