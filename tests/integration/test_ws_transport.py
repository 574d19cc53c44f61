"""tests/integration/test_ws_transport.py - the WebSocket JSON-RPC transport
(plugins/wsrpc) inside the real ucsd, through the wsprobe test plugin
(tests/plugins/wsprobe.c), against two independent client implementations
(python3-websockets and node `ws`) and a raw socket for bad input.

Every case starts its own ucsd with wsprobe listening on ports the kernel
picks (port 0; wsprobe logs them). After each bad-input case the server must
still serve a fresh client. TLS cases make a throw-away certificate with
openssl at run time. The node cases run `npm ci` in tests/integration/node
once when node_modules is missing.
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

from harness import SOURCE, Failure, Ucsd, check, main
from wsclient import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawClient,
                      RpcClient, WsError, frame, tls_context, upgrade_request)

NODE_DIR = os.path.join(SOURCE, "tests", "integration", "node")
LOOP = "127.0.0.1"


# --- the server ---------------------------------------------------------------

class Probe:
    """ucsd with wsprobe; .ports[i] is interface i's port."""

    def __init__(self, interfaces=None, limits=None, origins=None, start=True):
        section = {"interfaces": interfaces or [{"bind": LOOP, "port": 0}]}
        if limits:
            section["limits"] = limits
        if origins is not None:
            section["origins"] = origins
        self.u = Ucsd(plugins=["wsprobe"], config={"wsprobe": section})
        self.ports = {}
        if start:
            self.start(len(section["interfaces"]))

    def start(self, n, env=None):
        self.u.start(env=env)
        deadline = time.monotonic() + 10
        rx = re.compile(r"wsprobe listening on port (\d+) \(interface (\d+)\)")
        while len(self.ports) < n and time.monotonic() < deadline:
            for line in self.u.log().splitlines():
                m = rx.search(line)
                if m:
                    self.ports[int(m.group(2))] = int(m.group(1))
            time.sleep(0.02)
        check(len(self.ports) == n, f"{n} interfaces open:\n{self.u.log()}")
        self.port = self.ports[0]

    def url(self, i=0, scheme="ws"):
        return f"{scheme}://{'localhost' if scheme == 'wss' else LOOP}:{self.ports[i]}/ws"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            if self.u.alive():
                rc, _ = self.u.stop()
                if exc[0] is None:
                    check(rc == 0, f"ucsd exit status {rc}:\n{self.u.log()}")
        finally:
            self.u.close()


def serves(port, ssl=None, host=LOOP):
    """A fresh client gets an answer: the server survived what came before."""
    scheme = "wss" if ssl else "ws"
    r = RpcClient(f"{scheme}://{'localhost' if ssl else host}:{port}/ws", ssl=ssl)
    try:
        got = r.call("echo", {"alive": True})
        check(got == {"alive": True}, f"a fresh client is served: {got}")
    finally:
        r.close()


def stats(port):
    r = RpcClient(f"ws://{LOOP}:{port}/ws")
    try:
        r.call("auth")
        return r.call("stats")
    finally:
        r.close()


def make_cert(d):
    """A self-signed certificate for localhost/127.0.0.1: (cert, key)."""
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def expect_http(data, status, port):
    """Sends raw bytes; the answer must be `status` and the connection must
    close; returns the headers."""
    c = RawClient(port)
    try:
        c.send(data)
        got, headers, body = c.recv_http()
        check(got == status, f"{data[:40]!r}... answered {got}, not {status}: {body!r}")
        check(headers.get("connection", "").lower() == "close", f"Connection: close: {headers}")
        check(c.wait_eof(3), "the server closes after an error answer")
        return headers
    finally:
        c.close()


def expect_close(c, code, what):
    got, reason = c.recv_close()
    check(got == code, f"{what}: close code {got} ({reason!r}), expected {code}")
    check(c.wait_eof(3), f"{what}: the connection ends after the close frame")
    return reason


# --- conformance: python3-websockets -------------------------------------------

def plain_roundtrip():
    with Probe() as p:
        r = RpcClient(p.url())
        try:
            check(r.call("echo", {"a": [1, 2, {"b": None}]}) == {"a": [1, 2, {"b": None}]},
                  "echo object")
            check(r.call("echo", ["é", "😀", "\t"]) == ["é", "😀", "\t"],
                  "echo array with non-ASCII text")
            check(r.call("echo") is None, "echo without params")
            who = r.call("whoami")
            check(who["tls"] is False and who["peer"] == LOOP, f"whoami: {who}")
            check(who["user_agent"].startswith("Python/") and "websockets" in who["user_agent"],
                  f"user agent kept: {who}")
            # a notification gets no reply: the next reply is the call's
            r.notify("echo", [1])
            check(r.call("echo", [2]) == [2], "reply after a notification")
            # string, null and fractional ids come back as sent
            for rid in ("id-x", None, 2.5):
                got = r.reply(r.request("echo", [rid], id=rid))
                check(got["id"] == rid and got["result"] == [rid], f"id {rid!r}: {got}")
            # a big message, in one frame (within the default max_frame 1 MiB;
            # over max_message_unauthenticated: after auth)
            r.call("auth")
            big = "x" * (900 << 10)
            check(r.call("echo", [big]) == [big], "900 KiB round trip")
            # one message in several frames
            r.send_fragments(['{"jsonrpc":"2.0",', '"id":"frag","method":"echo",',
                              '"params":["fr', 'agmented é"]}'])
            got = r.reply("frag")
            check(got["result"] == ["fragmented é"], f"fragmented message: {got}")
            # ping -> pong
            check(r.ping(b"abc") < 2, "pong")
            # the server closes on request with the code and reason asked for
            check(r.call("auth")["session"] >= 1, "auth")
            check(r.call("close", {"code": 4321, "reason": "asked to"}) is True, "close reply")
            code, reason = r.wait_closed()
            check((code, reason) == (4321, "asked to"), f"server close: {code} {reason}")
        finally:
            r.close()
        p.u.wait_for(r"wsprobe session \d+ closed: 4321 asked to")
        # the client closes: the server answers and reports 1000
        r = RpcClient(p.url())
        r.call("echo")
        r.close(1000, "bye")
        p.u.wait_for(r"wsprobe session \d+ closed: 1000 bye")
        serves(p.port)


def close_handshake():
    with Probe() as p:
        # the client starts it: the server echoes the code and closes TCP
        c = RawClient(p.port)
        c.handshake()
        c.send_frame(OP_CLOSE, b"\x03\xe8" + "done é".encode())
        reason = expect_close(c, 1000, "client-initiated close")
        check(reason == "", f"the echo carries the code only: {reason!r}")
        p.u.wait_for(r"wsprobe session \d+ closed: 1000 done é")
        # an empty close frame is answered with an empty one (code 1005 inside)
        c = RawClient(p.port)
        c.handshake()
        c.send_frame(OP_CLOSE, b"")
        expect_close(c, 1005, "empty close")
        # the server starts it: it waits for our answer, then closes
        c = RawClient(p.port)
        c.handshake()
        c.call("auth")
        c.send_json({"jsonrpc": "2.0", "id": 2, "method": "close",
                     "params": {"code": 4003, "reason": "replaced"}})
        check(c.recv_json()["result"] is True, "close reply")
        code, reason = c.recv_close()
        check((code, reason) == (4003, "replaced"), f"server close frame {code} {reason}")
        # messages after its close frame are ignored; our close answer ends it
        c.send_frame(OP_TEXT, b'{"jsonrpc":"2.0","id":3,"method":"echo"}')
        c.send_frame(OP_CLOSE, b"\x0f\xa3")
        check(c.wait_eof(3), "closed after the close answer")
        check(c.buf == b"", f"nothing answered after the close: {c.buf!r}")
        # a close frame with an invalid code is a protocol error
        c = RawClient(p.port)
        c.handshake()
        c.send_frame(OP_CLOSE, b"\x03\xed")  # 1005 may not be sent
        expect_close(c, 1002, "close with code 1005")
        serves(p.port)


def tls_required():
    d = tempfile.mkdtemp(prefix="ws-tls-")
    cert, key = make_cert(d)
    with Probe([{"bind": LOOP, "port": 0, "tls": "tls-required", "cert": cert,
                 "key": key}]) as p:
        ctx = tls_context(cert)
        r = RpcClient(p.url(scheme="wss"), ssl=ctx)
        try:
            who = r.call("whoami")
            check(who["tls"] is True, f"TLS session: {who}")
            r.call("auth")
            check(r.call("stats")["tls_sessions"] == 1, "one TLS session counted")
            check(r.call("echo", ["é" * 40000]) == ["é" * 40000], "80 KB over TLS")
        finally:
            r.close()
        # plain HTTP on a tls-required port: no answer, the connection ends
        c = RawClient(p.port)
        c.send(upgrade_request())
        check(c.wait_eof(5), "plain connection refused on tls-required")
        check(c.buf == b"", "nothing answered in plain text")
        p.u.wait_for(r"refused plain connection from 127\.0\.0\.1:\d+ \(tls-required\)")
        # a raw TLS client speaking bad frames gets the same close codes
        c = RawClient(p.port, ssl=ctx)
        c.handshake()
        c.send_frame(OP_TEXT, b"\xff")
        expect_close(c, 1007, "invalid UTF-8 over TLS")
        serves(p.port, ssl=ctx)


def tls_optional():
    d = tempfile.mkdtemp(prefix="ws-tls-")
    cert, key = make_cert(d)
    with Probe([{"bind": LOOP, "port": 0, "tls": "tls-optional", "cert": cert,
                 "key": key}]) as p:
        ctx = tls_context(cert)
        plain = RpcClient(p.url())
        secure = RpcClient(p.url(scheme="wss"), ssl=ctx)
        try:
            check(plain.call("whoami")["tls"] is False, "plain on the tls-optional port")
            check(secure.call("whoami")["tls"] is True, "TLS on the same port")
            check(plain.call("echo", [1]) == [1] and secure.call("echo", [2]) == [2],
                  "both served at once")
        finally:
            plain.close()
            secure.close()
        serves(p.port)
        serves(p.port, ssl=ctx)


def several_interfaces():
    with Probe([{"bind": LOOP, "port": 0}, {"bind": "::1", "port": 0}]) as p:
        check(p.ports[0] != p.ports[1], "two ports")
        serves(p.ports[0])
        serves(p.ports[1], host="[::1]")
        r = RpcClient(f"ws://[::1]:{p.ports[1]}/ws")
        try:
            check(r.call("whoami")["peer"] == "::1", "IPv6 peer name")
        finally:
            r.close()


# --- conformance: node ws -------------------------------------------------------

def node_modules():
    """npm ci in tests/integration/node when node_modules is missing (once:
    the node cases may run in parallel)."""
    import fcntl

    with open(os.path.join(tempfile.gettempdir(), "ucsd-test-npm-ci.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "ws")):
            print("# npm ci in tests/integration/node (node_modules missing)")
            subprocess.run(["npm", "ci", "--prefix", NODE_DIR, "--no-audit", "--no-fund"],
                           check=True, capture_output=True, timeout=300)


def node_client(url, steps, *extra):
    node_modules()
    r = subprocess.run(["node", os.path.join(NODE_DIR, "wsclient.js"), url, *extra,
                        json.dumps(steps)], capture_output=True, text=True, timeout=30)
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    check(r.returncode == 0, f"node client failed ({r.returncode}): {r.stdout}{r.stderr}")
    return lines


NODE_STEPS = [
    {"op": "call", "method": "echo", "params": {"node": ["é", 1]}},
    {"op": "fragments", "id": "nf",
     "parts": ['{"jsonrpc":"2.0","id":"nf",', '"method":"echo",', '"params":[3]}']},
    {"op": "ping", "data": "node-ping"},
    {"op": "call", "method": "whoami"},
    {"op": "call", "method": "nope"},
    {"op": "close", "code": 1000, "reason": "node done"},
]


def check_node(lines, tls):
    check(lines[0] == {"op": "open", "tls": tls}, f"open: {lines[0]}")
    check(lines[1]["reply"]["result"] == {"node": ["é", 1]}, f"echo: {lines[1]}")
    check(lines[2]["reply"]["result"] == [3], f"fragmented: {lines[2]}")
    check(lines[3] == {"op": "pong", "data": "node-ping"}, f"pong: {lines[3]}")
    who = lines[4]["reply"]["result"]
    check(who["tls"] is tls and who["user_agent"] == "", f"whoami: {who}")
    check(lines[5]["reply"]["error"]["data"]["reason"] == "method_not_found", f"{lines[5]}")
    check(lines[6]["op"] == "closed" and lines[6]["code"] == 1000, f"close: {lines[6]}")


def node_plain():
    with Probe() as p:
        check_node(node_client(p.url(), NODE_STEPS), False)
        p.u.wait_for(r"wsprobe session \d+ closed: 1000 node done")
        serves(p.port)


def node_tls():
    d = tempfile.mkdtemp(prefix="ws-tls-")
    cert, key = make_cert(d)
    with Probe([{"bind": LOOP, "port": 0, "tls": "tls-required", "cert": cert,
                 "key": key}]) as p:
        check_node(node_client(p.url(scheme="wss"), NODE_STEPS, "--ca", cert), True)
        # and with verification switched off explicitly, on the same server
        lines = node_client(p.url(scheme="wss"), [{"op": "call", "method": "echo",
                                                   "params": [1]}], "--insecure")
        check(lines[1]["reply"]["result"] == [1], f"insecure: {lines}")


# --- bad input: HTTP -------------------------------------------------------------

def non_http():
    with Probe() as p:
        expect_http(b"\x00\x01garbage\xff\r\n\r\n", 400, p.port)
        expect_http(b"SSH-2.0-OpenSSH_9.2\r\n", 400, p.port)
        # a TLS ClientHello on a plain port is just bytes that are not HTTP
        expect_http(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40, 400, p.port)
        check(stats(p.port)["rejected"] == 3, "three rejected upgrades counted")
        serves(p.port)


def http_without_upgrade():
    with Probe() as p:
        h = expect_http(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", 426, p.port)
        check(h.get("sec-websocket-version") == "13", f"426 names the version: {h}")
        expect_http(upgrade_request(extra={"Sec-WebSocket-Version": "8"}), 426, p.port)
        expect_http(upgrade_request(path="/"), 404, p.port)
        expect_http(upgrade_request(path="/api"), 404, p.port)
        expect_http(upgrade_request(method="POST"), 405, p.port)
        expect_http(upgrade_request(extra={"Sec-WebSocket-Key": "tooshort"}), 400, p.port)
        expect_http(upgrade_request(omit=("Host",)), 400, p.port)
        expect_http(b"GET /ws HTTP/1.1\r\nX-Pad: " + b"a" * 9000 + b"\r\n\r\n", 431, p.port)
        # a query string is fine, and frames right behind the request count
        c = RawClient(p.port)
        c.send(upgrade_request(path="/ws?v=1") +
               frame(OP_TEXT, '{"jsonrpc":"2.0","id":1,"method":"echo","params":[9]}'))
        status, _, _ = c.recv_http()
        check(status == 101, f"upgrade with a query: {status}")
        check(c.recv_json()["result"] == [9], "the frame sent with the request is read")
        c.close()
        serves(p.port)


def slowloris():
    with Probe(limits={"handshake_timeout_ms": 1000}) as p:
        slow = RawClient(p.port)
        t0 = time.monotonic()
        req = upgrade_request()
        slow.send(req[:20])
        # meanwhile a second client is served normally
        r = RpcClient(p.url())
        try:
            for i in range(5):
                check(r.call("echo", [i]) == [i], "served while another handshake hangs")
                slow.send(req[20 + i:21 + i])  # dribble, never finish
                time.sleep(0.1)
            status, _, body = slow.recv_http(timeout=5)
            took = time.monotonic() - t0
            check(status == 408, f"a handshake past its deadline gets 408: {status} {body!r}")
            check(0.8 <= took <= 3, f"closed after the handshake timeout, not {took:.2f}s")
            check(slow.wait_eof(3), "and the connection ends")
            check(r.call("echo", ["still"]) == ["still"], "the other session is untouched")
            # an upgraded session is not subject to the handshake timeout
            time.sleep(0.5)
            check(r.call("echo", ["later"]) == ["later"], "open sessions stay")
        finally:
            r.close()
        check(stats(p.port)["closed_by_limit"] >= 1, "counted as closed by a limit")
        serves(p.port)


def max_sessions():
    with Probe(limits={"max_sessions": 2}) as p:
        a, b = RpcClient(p.url()), RpcClient(p.url())
        try:
            a.call("echo")
            b.call("echo")
            expect_http(upgrade_request(), 503, p.port)
        finally:
            a.close()
        time.sleep(0.2)
        try:
            serves(p.port)  # a place is free again
        finally:
            b.close()


def origins():
    with Probe(origins=["https://good.example"]) as p:
        expect_http(upgrade_request(extra={"Origin": "https://evil.example"}), 403, p.port)
        c = RawClient(p.port)
        c.handshake(extra={"Origin": "https://good.example"})
        c.close()
        c = RawClient(p.port)
        c.handshake()  # no Origin: not a browser, allowed
        c.close()
        serves(p.port)


# --- bad input: frames ------------------------------------------------------------

def oversized_frame():
    with Probe(limits={"max_frame": 1024, "max_message": 4096}) as p:
        c = RawClient(p.port)
        c.handshake()
        # the header alone gives it away: no payload needs to follow
        c.send(frame(OP_TEXT, b"", length=2000)[:8])
        reason = expect_close(c, 1009, "frame over max_frame")
        check("too big" in reason, f"reason says why: {reason!r}")
        # a message over max_message in frames each within max_frame
        c = RawClient(p.port)
        c.handshake()
        for i in range(4):
            c.send_frame(OP_TEXT if i == 0 else OP_CONT, b"a" * 1024, fin=False)
        c.send_frame(OP_CONT, b"a", fin=True)
        expect_close(c, 1009, "message over max_message")
        # python3-websockets sees the same code
        r = RpcClient(p.url())
        try:
            r.send_text("x" * 3000)
            code, _ = r.wait_closed()
            check(code == 1009, f"websockets client: close {code}")
        finally:
            r.close()
        check(stats(p.port)["closed_by_limit"] == 3, "three closes by a limit counted")
        serves(p.port)


def invalid_utf8():
    with Probe() as p:
        c = RawClient(p.port)
        c.handshake()
        c.send_frame(OP_TEXT, b'{"jsonrpc":"2.0","method":"echo","params":["\xed\xa0\x80"]}')
        expect_close(c, 1007, "a surrogate in a text message")
        # caught in the first fragment, before the message ends
        c = RawClient(p.port)
        c.handshake()
        c.send_frame(OP_TEXT, b'{"x":"\xc0\xaf', fin=False)
        expect_close(c, 1007, "an overlong form in the first fragment")
        # a text that ends inside a character
        c = RawClient(p.port)
        c.handshake()
        c.send_frame(OP_TEXT, b'"abc', fin=False)
        c.send_frame(OP_CONT, b"\xe2\x82", fin=True)
        expect_close(c, 1007, "a character cut at the end")
        serves(p.port)


def protocol_errors():
    with Probe() as p:
        cases = [
            ("unmasked client frame", frame(OP_TEXT, b"{}", mask=False)),
            ("reserved bit", frame(OP_TEXT, b"{}", rsv=4)),
            ("unknown opcode", frame(0x3, b"x")),
            ("fragmented ping", frame(OP_PING, b"x", fin=False)),
            ("long ping", frame(OP_PING, b"x" * 126)),
            ("continuation without a start", frame(OP_CONT, b"x")),
            ("new message inside a fragmented one",
             frame(OP_TEXT, b"[", fin=False) + frame(OP_TEXT, b"]")),
            ("length not minimal", b"\x81\xfe\x00\x05abcdhello"),
        ]
        for what, data in cases:
            c = RawClient(p.port)
            c.handshake()
            c.send(data)
            expect_close(c, 1002, what)
        serves(p.port)


def binary_message():
    with Probe() as p:
        c = RawClient(p.port)
        c.handshake()
        c.send_frame(OP_BINARY, b"\x00\x01")
        reason = expect_close(c, 1003, "binary message")
        check("binary" in reason, f"reason: {reason!r}")
        r = RpcClient(p.url())
        try:
            r._run(r.ws.send(b"\x00\x01"))
            check(r.wait_closed()[0] == 1003, "websockets client: 1003")
        finally:
            r.close()
        serves(p.port)


def ping_pong():
    with Probe(limits={"ping_interval_ms": 300, "ping_timeout_ms": 400,
                       "auth_timeout_ms": 60000}) as p:
        # the server answers our ping with the same payload, between fragments
        c = RawClient(p.port)
        c.handshake()
        c.send_frame(OP_TEXT, b'{"jsonrpc":"2.0","id":1,', fin=False)
        c.send_frame(OP_PING, b"between")
        c.send_frame(OP_CONT, b'"method":"echo","params":["ok"]}')
        op, payload = c.recv_message(skip_pings=True)
        check((op, payload) == (OP_PONG, b"between"), f"pong first: {op} {payload!r}")
        check(c.recv_json()["result"] == ["ok"], "then the reply")
        # a silent session is pinged; one that does not answer is closed
        t0 = time.monotonic()
        op, payload = c.recv_message(timeout=3, skip_pings=False)
        check(op == OP_PING and len(payload) == 8, f"server ping: {op} {payload!r}")
        code, reason = c.recv_close(timeout=3)
        took = time.monotonic() - t0
        check(code == 1008 and "ping" in reason, f"no pong: close {code} {reason!r}")
        check(took < 2.5, f"closed {took:.2f}s after going silent")
        # one that answers (websockets does) stays
        r = RpcClient(p.url())
        try:
            time.sleep(1.5)
            check(r.call("echo", [1]) == [1], "a session that answers pings stays")
        finally:
            r.close()
        serves(p.port)


# --- bad input: JSON-RPC ------------------------------------------------------------

def invalid_json():
    with Probe() as p:
        r = RpcClient(p.url())
        try:
            r.send_text('{"jsonrpc":"2.0","id":1,"method":')
            got = r.reply(None)
            err = got["error"]
            check(err["code"] == -32700 and err["data"]["reason"] == "parse_error",
                  f"parse error: {got}")
            check(got["id"] is None, "with id null")
            r.send_text('{"jsonrpc":"2.0","id":1,"id":2,"method":"echo"}')
            check(r.reply(None)["error"]["code"] == -32700, "duplicate keys: parse error")
            for text, what in (('{"jsonrpc":"1.0","id":5,"method":"echo"}', "version"),
                               ('{"jsonrpc":"2.0","id":5,"method":7}', "method type"),
                               ('{"jsonrpc":"2.0","id":5,"method":"e","params":1}', "params"),
                               ('{"jsonrpc":"2.0","id":5,"method":"e","x":1}', "member")):
                r.send_text(text)
                got = r.reply(5)
                check(got["error"]["code"] == -32600 and
                      got["error"]["data"]["reason"] == "invalid_request", f"{what}: {got}")
            r.send_text("42")
            check(r.reply(None)["error"]["data"]["reason"] == "invalid_request", "a scalar")
            check(r.call("echo", ["after"]) == ["after"], "the session goes on")
        finally:
            r.close()
        serves(p.port)


def unknown_method_and_auth():
    with Probe() as p:
        r = RpcClient(p.url())
        try:
            err = r.call_error("no.such.method", {})
            check(err["code"] == -32601 and err["data"]["reason"] == "method_not_found",
                  f"unknown method: {err}")
            err = r.call_error("flood", {"count": 1, "size": 1})
            check(err["code"] == -32001 and err["data"]["reason"] == "not_authenticated",
                  f"before auth: {err}")
            check(r.call("auth")["session"] >= 1, "auth")
            err = r.call_error("flood", {"count": "x", "size": 1})
            check(err["data"] == {"reason": "invalid_params", "member": "count"},
                  f"invalid params name the member: {err}")
            check(r.call("flood", {"count": 2, "size": 3}) == {"sent": 2, "error": 0},
                  "after auth")
            check(len(r.notifications("probe.flood")) == 2, "two notifications")
        finally:
            r.close()
        serves(p.port)


def batches():
    with Probe(limits={"max_batch": 6}) as p:
        r = RpcClient(p.url())
        try:
            r.call("auth")
            r.send_text(json.dumps([
                {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": ["a"]},
                {"jsonrpc": "2.0", "id": 2, "method": "slow", "params": {"ms": 200}},
                {"jsonrpc": "2.0", "method": "echo", "params": ["notification"]},
                7,
                {"jsonrpc": "2.0", "id": "u", "method": "unknown"},
                {"jsonrpc": "2.0", "id": None, "method": "echo", "params": ["null id"]},
            ]))
            got = r.wait_batch()
            check([m.get("id") for m in got] == [1, 2, None, "u", None],
                  f"one reply per call in order, notification left out: {got}")
            check(got[0]["result"] == ["a"], f"{got[0]}")
            check(got[1]["result"] == {"slept": 200}, f"the asynchronous reply waits: {got[1]}")
            check(got[2]["error"]["data"]["reason"] == "invalid_request", f"{got[2]}")
            check(got[3]["error"]["data"]["reason"] == "method_not_found", f"{got[3]}")
            check(got[4]["result"] == ["null id"], f"{got[4]}")
            # empty, too large, only notifications
            r.send_text("[]")
            got = r.reply(None)
            check(got["error"]["data"]["reason"] == "invalid_request", f"empty batch: {got}")
            r.send_text(json.dumps([{"jsonrpc": "2.0", "id": i, "method": "echo"}
                                    for i in range(7)]))
            got = r.reply(None)
            check(got["error"]["data"]["reason"] == "too_large", f"7 > max_batch 6: {got}")
            r.send_text(json.dumps([{"jsonrpc": "2.0", "method": "echo"}] * 3))
            check(r.call("echo", ["next"]) == ["next"], "no reply to a batch of notifications")
            time.sleep(0.2)
            check(not r.batches, f"nothing else arrived: {r.batches}")
            # a session that closes while a batch waits: no crash, no reply
            r.send_text(json.dumps([
                {"jsonrpc": "2.0", "id": 10, "method": "slow", "params": {"ms": 300}},
                {"jsonrpc": "2.0", "id": 11, "method": "echo"}]))
        finally:
            r.close()
        time.sleep(0.5)
        serves(p.port)


# --- limits and deadlines ------------------------------------------------------------

def auth_deadline():
    with Probe(limits={"auth_timeout_ms": 800}) as p:
        late, good = RpcClient(p.url()), RpcClient(p.url())
        try:
            t0 = time.monotonic()
            good.call("auth")
            ev = late.wait_notification("server.event", timeout=5)
            check(ev["kind"] == "closing" and ev["reason"] == "auth_deadline" and
                  ev["code"] == 4001, f"a last server.event: {ev}")
            code, reason = late.wait_closed()
            took = time.monotonic() - t0
            check(code == 4001, f"close 4001: {code} {reason}")
            check(0.6 <= took <= 3, f"after the deadline: {took:.2f}s")
            time.sleep(0.5)
            check(good.call("echo", [1]) == [1], "an authenticated session stays")
        finally:
            late.close()
            good.close()
        p.u.wait_for(r"wsprobe session \d+ closed: 4001 no login within 800 ms")
        serves(p.port)


def queue_overflow():
    with Probe(limits={"max_queue": 65536}) as p:
        c = RawClient(p.port, rcvbuf=4096)
        c.handshake()
        c.call("auth")
        # 40 MB of notifications for a reader that does not read
        c.send_json({"jsonrpc": "2.0", "id": 2, "method": "flood",
                     "params": {"count": 10000, "size": 4000}})
        time.sleep(1)
        code, reason = c.recv_close(timeout=20)
        check(code == 4008, f"close 4008: {code} {reason!r}")
        floods = [m for m in c.before_close if m.get("method") == "probe.flood"]
        events = [m for m in c.before_close if m.get("method") == "server.event"]
        check(floods and len(floods) < 10000, f"some notifications, not all: {len(floods)}")
        check(floods == sorted(floods, key=lambda m: m["params"]["seq"]), "in order")
        check(len(events) == 1 and events[0]["params"]["kind"] == "resync" and
              events[0]["params"]["reason"] == "queue_overflow" and
              events[0]["params"]["code"] == 4008, f"the resync event: {events}")
        check(c.before_close[-1] == events[0], "the event is the last message")
        c.close()
        p.u.wait_for(r"wsprobe session \d+ closed: 4008 outbound queue overflow")
        check(stats(p.port)["closed_by_limit"] == 1, "counted")
        # a large reply to a client that reads is not an overflow
        r = RpcClient(p.url())
        try:
            r.call("auth")
            big = "y" * 200000
            check(r.call("echo", [big]) == [big], "a reply larger than max_queue")
        finally:
            r.close()
        serves(p.port)


def rate_limit():
    with Probe(limits={"rate_per_s": 5, "rate_burst": 5}) as p:
        c = RawClient(p.port)
        c.handshake()
        for i in range(10):
            c.send_json({"jsonrpc": "2.0", "id": i, "method": "echo", "params": [i]})
        replies = [c.recv_json() for _ in range(10)]
        ok = [m for m in replies if "result" in m]
        limited = [m for m in replies if "error" in m]
        check(5 <= len(ok) <= 6, f"the burst passes: {len(ok)} of 10")
        check(limited and all(m["error"]["code"] == -32009 and
                              m["error"]["data"]["reason"] == "rate_limited"
                              for m in limited), f"the rest is rate_limited: {limited}")
        # going on at full speed closes the session
        for i in range(30):
            c.send_json({"jsonrpc": "2.0", "id": 100 + i, "method": "echo"})
        code, reason = c.recv_close(timeout=5)
        check(code == 4009, f"close 4009: {code} {reason!r}")
        events = [m for m in c.before_close if m.get("method") == "server.event"]
        check(events and events[-1]["params"]["reason"] == "rate_limited",
              f"a last server.event: {events}")
        c.close()
        # a client within its rate is never limited
        r = RpcClient(p.url())
        try:
            for i in range(8):
                check(r.call("echo", [i]) == [i], "within the rate")
                time.sleep(0.25)
        finally:
            r.close()
        serves(p.port)


def shutdown():
    p = Probe()
    try:
        r = RpcClient(p.url())
        r.call("auth")
        raw = RawClient(p.port)
        raw.handshake()
        p.u.signal(signal.SIGTERM)
        ev = r.wait_notification("server.event", timeout=5)
        check(ev["kind"] == "shutdown", f"shutdown event: {ev}")
        code, _ = r.wait_closed()
        check(code == 1001, f"close 1001: {code}")
        code, _ = raw.recv_close()
        check(code == 1001, f"raw client: close {code}")
        check(raw.before_close and raw.before_close[-1]["params"]["kind"] == "shutdown",
              f"unauthenticated sessions are told too: {raw.before_close}")
        r.close()
        raw.close()
        check(p.u.wait_exit() == 0, "clean exit")
        check(p.u.has(r"wsprobe session 1 closed: 1001 server shutting down"), "on_close ran")
    finally:
        p.u.close()


# --- configuration ----------------------------------------------------------------

def port_used_twice():
    p = Probe([{"bind": LOOP, "port": 17222}, {"bind": "::1", "port": 17222}], start=False)
    try:
        p.u.start(wait=False)
        p.u.wait_for(r"ucsd\.json:\d+:\d+: interfaces\[1\]\.port 17222 is also the port of "
                     r"interfaces\[0\] \(.*ucsd\.json:\d+:\d+\)")
    finally:
        p.u.close()


def port_in_use():
    blocker = socket.socket()
    blocker.bind((LOOP, 0))
    blocker.listen(1)
    busy = blocker.getsockname()[1]
    try:
        with Probe([{"bind": LOOP, "port": busy}, {"bind": LOOP, "port": 0}],
                   start=False) as p:
            p.u.start()
            p.u.wait_for(rf"error \[wsprobe\] wsprobe: port {busy} \(127\.0\.0\.1\) is "
                         r"already in use")
            m = re.search(r"wsprobe listening on port (\d+) \(interface 1\)", p.u.log())
            check(m, f"the other interface opened:\n{p.u.log()}")
            check(f"listening on port {busy}" not in p.u.log(), "not the busy one")
            serves(int(m.group(1)))
    finally:
        blocker.close()


def tls_needs_cert():
    p = Probe([{"bind": LOOP, "port": 0, "tls": "tls-required"}], start=False)
    try:
        p.u.start(wait=False)
        p.u.wait_for(r"ucsd\.json:\d+:\d+: interfaces\[0\]: tls \"tls-required\" needs "
                     r"\"cert\" and \"key\"")
    finally:
        p.u.close()


def reload_interfaces():
    with Probe() as p:
        r = RpcClient(p.url())
        try:
            r.call("auth")
            section = {"interfaces": [{"bind": LOOP, "port": p.port},
                                      {"bind": LOOP, "port": 0}],
                       "limits": {"max_frame": 2048}}
            p.u.write_config({"wsprobe": section})
            mark = len(p.u.lines)
            p.u.signal(signal.SIGHUP)
            i = p.u.wait_for(r"wsprobe listening on port (\d+) \(interface 1\)", after=mark)
            port2 = int(re.search(r"port (\d+) \(interface 1\)", p.u.lines[i]).group(1))
            check(r.call("echo", [1]) == [1], "a session on the kept interface stays")
            serves(port2)
            # the new limit holds for the next frame of the open session
            r.send_text(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo",
                                    "params": ["z" * 3000]}))
            check(r.wait_closed()[0] == 1009, "new max_frame applies at once")
        finally:
            r.close()
        # removing the first interface closes its sessions
        r = RpcClient(p.url())
        try:
            r.call("echo")
            p.u.write_config({"wsprobe": {"interfaces": [{"bind": LOOP, "port": port2}]}})
            p.u.signal(signal.SIGHUP)
            code, _ = r.wait_closed()
            check(code == 1001, f"sessions of a removed interface get 1001: {code}")
        finally:
            r.close()
        serves(port2)
        try:
            RawClient(p.port, timeout=1).handshake()
            raise Failure(f"the removed interface still answers:\n{p.u.log()}")
        except (OSError, WsError):
            pass


# --- review regressions (issue #5, fixer FW) -------------------------------------

def fanout_overflow():
    """A plugin fanning out to every session from its own list (no session
    references) while one reader stalls: the send that overflows the
    stalled session's queue closes it inside the send (on_close frees the
    plugin's entry) - the send must not touch the session after its last
    reference went (ASan), and the walk goes on."""
    with Probe(limits={"max_queue": 65536, "rate_per_s": 100000, "rate_burst": 100000}) as p:
        g = RpcClient(p.url())
        try:
            g.call("auth")
            pad = "p" * 16000
            for n, text in enumerate((False, True), 1):  # wsrpc_notify, wsrpc_send_text
                v = RawClient(p.port, rcvbuf=4096)
                v.handshake()
                check(v.call("auth")["result"]["session"] >= 1, "victim authenticated")
                for i in range(2000):
                    got = g.call("fanout", {"params": {"i": i, "pad": pad}, "text": text})
                    if len(re.findall(r"closed: 4008", p.u.log())) >= n:
                        break
                check(len(re.findall(r"closed: 4008 outbound queue overflow",
                                     p.u.log())) == n, f"the stalled session went:\n{p.u.log()}")
                check(got["count"] >= 1, f"the generator is still served: {got}")
                v.close()
            # the walk went on and the server is fine
            check(g.call("fanout", {"params": 1})["count"] == 1, "only the generator is left")
        finally:
            g.close()
        serves(p.port)


def reload_max_message():
    """A reload that lowers max_message below what a fragmented message in
    progress holds: its next fragment closes with 1009."""
    with Probe() as p:
        c = RawClient(p.port)
        c.handshake()
        c.call("auth")
        c.send_frame(OP_TEXT, b"[" + b" " * 99999, fin=False)
        section = {"interfaces": [{"bind": LOOP, "port": p.port}],
                   "limits": {"max_message": 65536}}
        p.u.write_config({"wsprobe": section})
        mark = len(p.u.lines)
        p.u.signal(signal.SIGHUP)
        p.u.wait_for(r"wsprobe listening on port", after=mark)
        c.send_frame(OP_CONT, b" " * 1000, fin=False)
        expect_close(c, 1009, "a fragment after max_message shrank below the message")
        serves(p.port)


def rate_invalid():
    """Invalid messages are charged to the rate limit like valid ones: parse
    errors, invalid requests, batch members and too-large batches; a
    session sending junk far over its rate is closed with 4009."""
    junk = [
        ("invalid request", b'{"jsonrpc":"2.0","id":1}', 60),
        ("parse error", b"{", 60),
        ("batch of invalid members", json.dumps([{"id": i} for i in range(50)]).encode(), 3),
        ("too large batch", json.dumps([{"id": i} for i in range(60)]).encode(), 3),
    ]
    with Probe(limits={"rate_per_s": 1, "rate_burst": 2}) as p:
        for what, msg, n in junk:
            c = RawClient(p.port)
            c.handshake()
            for _ in range(n):
                try:
                    c.send_frame(OP_TEXT, msg)
                except OSError:
                    break
            code, reason = c.recv_close(timeout=5)
            check(code == 4009, f"{what}: close 4009, not {code} {reason!r}")
            answers = c.before_close
            check(len(answers) < n or n < 10, f"{what}: not every message answered: "
                  f"{len(answers)}")
            limited = [m for m in answers if isinstance(m, dict) and "error" in m and
                       m["error"]["data"]["reason"] == "rate_limited"]
            if n > 10:
                check(limited, f"{what}: over the rate: rate_limited answers: {answers[:5]}")
            c.close()
        # a batch member over the rate is answered rate_limited, in its batch
        c = RawClient(p.port)
        c.handshake()
        c.send_json([{"jsonrpc": "2.0", "id": i, "method": "echo", "params": [i]}
                     for i in range(3)] + [{"id": 9}])
        got = c.recv_json()
        check([m.get("id") for m in got] == [0, 1, 2, 9], f"one answer per member: {got}")
        check("result" in got[0] and "result" in got[1], f"the burst passes: {got}")
        check(all(m["error"]["data"]["reason"] == "rate_limited" for m in got[2:]),
              f"the rest, the invalid one too, is rate_limited: {got}")
        c.close()
        serves(p.port)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def batch_memory():
    """A batch waiting for one slow call keeps the ids of its calls, not the
    parsed message: 40 batches of 1 MB with a slow call each cost little."""
    p = Probe(start=False)
    try:
        env = os.environ.copy()
        # freed memory goes back at once under ASan too
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                      "quarantine_size_mb=0"]))
        p.start(1, env=env)
        c = RawClient(p.port)
        c.handshake()
        c.call("auth")
        pad = "x" * 1000000
        c.send_json([{"jsonrpc": "2.0", "id": -1, "method": "slow", "params": {"ms": 30000}},
                     {"jsonrpc": "2.0", "method": "echo", "params": {"pad": pad}}])
        check(c.call("echo", [1], id="w")["result"] == [1], "warmed up")
        before = rss_kb(p.u.proc.pid)
        for i in range(40):
            c.send_json([{"jsonrpc": "2.0", "id": i, "method": "slow", "params": {"ms": 30000}},
                         {"jsonrpc": "2.0", "method": "echo", "params": {"pad": pad}}])
        check(c.call("echo", [2], id="x")["result"] == [2], "all read")
        grown = rss_kb(p.u.proc.pid) - before
        check(grown < 16000, f"40 pending batches of 1 MB grew RSS by {grown} kB")
        c.close()
        p.u.stop()
    finally:
        p.u.close()


def batch_limits():
    """At most 64 batch calls of a session await a reply; replies held for
    an incomplete batch count against max_queue."""
    with Probe(limits={"rate_per_s": 1000, "rate_burst": 1000, "max_frame": 4194304}) as p:
        c = RawClient(p.port)
        c.handshake()
        c.call("auth")
        for i in range(64):
            c.send_json([{"jsonrpc": "2.0", "id": i, "method": "slow", "params": {"ms": 20000}}])
        c.send_json([{"jsonrpc": "2.0", "id": "over", "method": "slow", "params": {"ms": 1}}])
        got = c.recv_json(timeout=5)
        check(isinstance(got, list) and got[0]["id"] == "over" and
              got[0]["error"]["data"]["reason"] == "rate_limited",
              f"the 65th waiting call is refused at once: {got}")
        check(c.call("echo", [1], id="single")["result"] == [1], "single calls go on")
        c.close()
        # one batch's own replies may pass max_queue: they are one message
        c = RawClient(p.port)
        c.handshake()
        c.call("auth")
        pad = "o" * 300000
        c.send_json([{"jsonrpc": "2.0", "id": i, "method": "echo", "params": [pad]}
                     for i in range(5)])
        got = c.recv_json(timeout=10)
        check([m["result"] for m in got] == [[pad]] * 5, "a 1.5 MB batch answer")
        c.close()
        # held replies: 300 kB each, with max_queue 1 MiB: the session goes
        c = RawClient(p.port)
        c.handshake()
        c.call("auth")
        pad = "h" * 300000
        for i in range(8):
            try:
                c.send_json([{"jsonrpc": "2.0", "id": i, "method": "slow",
                              "params": {"ms": 20000}},
                             {"jsonrpc": "2.0", "id": "e%d" % i, "method": "echo",
                              "params": [pad]}])
            except OSError:
                break  # closed meanwhile
        code, reason = c.recv_close(timeout=10)
        check(code == 4008, f"held batch replies overflow the queue: {code} {reason!r}")
        events = [m for m in c.before_close if isinstance(m, dict) and
                  m.get("method") == "server.event"]
        check(events and events[-1]["params"]["reason"] == "queue_overflow", f"{events}")
        c.close()
        serves(p.port)


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dribble(c, data, chunk=8):
    """Sends data a few bytes at a time, pausing so that the server reads
    each piece on its own."""
    for i in range(0, len(data), chunk):
        c.send(data[i:i + chunk])
        time.sleep(0.0001)


def slow_upgrade_cpu():
    """An upgrade request dribbled in a few bytes at a time is parsed once
    it is complete, not again on every read (which cost time quadratic in
    its size): the server's CPU time for it is about what the same bytes
    cost when they are the payload of a WebSocket frame."""
    with Probe(limits={"max_header": 65536}) as p:
        pid = p.u.proc.pid
        req = upgrade_request(extra={"X-Pad": "a" * 60000})
        c = RawClient(p.port)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = proc_cpu_s(pid)
        dribble(c, req[:-4])
        time.sleep(0.2)
        cpu_http = proc_cpu_s(pid) - t0
        c.send(req[-4:])
        status, _, _ = c.recv_http()
        check(status == 101, f"the dribbled upgrade succeeds: {status}")
        # the same number of reads of a frame's payload, as a yardstick
        msg = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo",
                          "params": ["b" * (len(req) - 100)]}).encode()
        data = frame(OP_TEXT, msg)
        t0 = proc_cpu_s(pid)
        dribble(c, data[:-4])
        time.sleep(0.2)
        cpu_ws = proc_cpu_s(pid) - t0
        c.send(data[-4:])
        check(c.recv_json()["result"] == ["b" * (len(req) - 100)], "the dribbled message")
        c.close()
        check(cpu_http < 3 * cpu_ws + 0.05,
              f"{len(req)} bytes of upgrade request in pieces: {cpu_http:.2f}s of server CPU, "
              f"{cpu_ws:.2f}s for as many bytes of a frame")
        # a header block may end with bare LF lines as well
        expect_http(b"GET /ws HTTP/1.1\nHost: x\n\n", 426, p.port)
        serves(p.port)


def max_sessions_handshaking():
    """Connections still in the HTTP upgrade count toward max_sessions."""
    with Probe(limits={"max_sessions": 2}) as p:
        a, b = RawClient(p.port), RawClient(p.port)
        try:
            a.send(b"GET /ws HTTP/1.1\r\n")
            b.send(b"GET /ws HTTP/1.1\r\n")
            time.sleep(0.2)
            expect_http(upgrade_request(), 503, p.port)
            a.close()
            time.sleep(0.2)
            c = RawClient(p.port)
            c.handshake()  # a place is free again
            c.close()
        finally:
            a.close()
            b.close()
        time.sleep(0.2)
        serves(p.port)


def unauthenticated_message_limit():
    """Before authentication a message may have max_message_unauthenticated
    bytes (default 64 KiB); after it, max_message."""
    with Probe() as p:
        c = RawClient(p.port)
        c.handshake()
        # refused on the first fragment's header already
        c.send(frame(OP_TEXT, b"", length=70000, fin=False)[:14])
        expect_close(c, 1009, "70000 bytes before auth")
        c = RawClient(p.port)
        c.handshake()
        for i in range(3):  # 3 x 30000 in fragments, each fine alone
            c.send_frame(OP_TEXT if i == 0 else OP_CONT, b" " * 30000, fin=False)
        expect_close(c, 1009, "fragments adding up over the limit before auth")
        r = RpcClient(p.url())
        try:
            r.call("auth")
            big = "u" * 70000
            check(r.call("echo", [big]) == [big], "70000 bytes after auth")
        finally:
            r.close()
        check(stats(p.port)["closed_by_limit"] == 2, "counted as closed by a limit")
        serves(p.port)
    with Probe(limits={"max_message_unauthenticated": 1000}) as p:
        c = RawClient(p.port)
        c.handshake()
        c.send_json({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": ["v" * 1000]})
        expect_close(c, 1009, "over a configured limit")
        c = RawClient(p.port)
        c.handshake()
        check(c.call("echo", ["v" * 900])["result"] == ["v" * 900], "within it")
        c.close()


if __name__ == "__main__":
    main({f.__name__: f for f in [
        plain_roundtrip, close_handshake, tls_required, tls_optional, several_interfaces,
        node_plain, node_tls, non_http, http_without_upgrade, slowloris, max_sessions, origins,
        oversized_frame, invalid_utf8, protocol_errors, binary_message, ping_pong,
        invalid_json, unknown_method_and_auth, batches, auth_deadline, queue_overflow,
        rate_limit, shutdown, port_used_twice, port_in_use, tls_needs_cert, reload_interfaces,
        fanout_overflow, rate_invalid, batch_memory, batch_limits, slow_upgrade_cpu,
        max_sessions_handshaking, unauthenticated_message_limit, reload_max_message,
    ]})
