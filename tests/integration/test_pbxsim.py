"""tests/integration/test_pbxsim.py - tools/pbxsim as a CSTA client sees it.

Each case starts the real pbxsim binary on free ports and talks to it like
a CTI server would: CSTA XML (ECMA-323) over TCP with the 8-byte framing
(4-byte big-endian length of the whole frame + 4-char invoke id), and the
control port's line protocol. Only the standard library.

    python3 tests/integration/test_pbxsim.py BUILD_ROOT CASE
"""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BUILD, Failure, check, check_sanitizers, main  # noqa: E402

PBXSIM = os.path.join(BUILD, "tools", "pbxsim", "pbxsim")
NS3 = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
NS4 = "http://www.ecma-international.org/standards/ecma-323/csta/ed4"
NS5 = "http://www.ecma-international.org/standards/ecma-323/csta/ed5"


def local(tag):
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def ns_of(el):
    return el.tag[1:].split("}", 1)[0] if el.tag.startswith("{") else ""


def child(el, name):
    for c in el:
        if local(c.tag) == name:
            return c
    return None


def get(el, path):
    """Text at a '/'-separated path of local names ('' when absent)."""
    for part in path.split("/"):
        el = child(el, part) if el is not None else None
    if el is None:
        return None
    return "".join(el.itertext()).strip()


def conn_xml(name, callid, dev):
    return f"<{name}><callID>{callid}</callID><deviceID>{dev}</deviceID></{name}>"


class Pbxsim:
    def __init__(self, *args, extensions="100-109", control=True):
        cmd = [PBXSIM, "--port", "0", "--extensions", extensions]
        if control:
            cmd += ["--control", "0"]
        cmd += list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.err = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read_err, daemon=True)
        self.reader.start()
        line = self.proc.stdout.readline().strip()
        parts = dict(p.split("=") for p in line.split()[2:]) if line.startswith(
            "pbxsim ready ") else None
        if not parts:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"no ready line from pbxsim, got {line!r}: {self.stderr()}")
        self.csta_port = int(parts["csta"])
        self.control_port = int(parts["control"])
        self._ctl = None

    def _read_err(self):
        for line in self.proc.stderr:
            with self.lock:
                self.err.append(line)

    def stderr(self):
        with self.lock:
            return "".join(self.err)

    def wait_log(self, text, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.stderr():
                return
            time.sleep(0.05)
        raise Failure(f"pbxsim did not log {text!r}:\n{self.stderr()[-3000:]}")

    def client(self):
        return Client(self.csta_port)

    def ctl(self, line):
        if self._ctl is None:
            self._ctl = Control(self.control_port)
        return self._ctl.cmd(line)

    def ok(self, line):
        r = self.ctl(line)
        check(r.startswith("ok"), f"control {line!r} answered {r!r}")
        return r[2:].strip()

    def stop(self):
        if self._ctl:
            self._ctl.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("pbxsim did not stop on SIGTERM")
        self.reader.join(timeout=5)
        check_sanitizers(self.stderr(), "pbxsim")
        check(rc == 0, f"pbxsim exited with {rc}:\n{self.stderr()[-2000:]}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


class Control:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rw", newline="\n")

    def cmd(self, line):
        self.f.write(line + "\n")
        self.f.flush()
        reply = self.f.readline()
        check(reply.endswith("\n"), f"control {line!r}: no reply line")
        return reply.strip()

    def close(self):
        self.f.close()
        self.sock.close()


class Client:
    """A CSTA client: requests with their own invoke ids, events queued."""

    def __init__(self, port, ns=NS3):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.invoke = 0
        self.ns = ns
        self.events = []
        self.others = []  # unsolicited requests of pbxsim (SystemStatus)

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def frame(self, invoke, xml):
        b = xml.encode() if isinstance(xml, str) else xml
        return struct.pack(">I", len(b) + 8) + invoke.encode() + b

    def send(self, name, body="", ns=None):
        self.invoke = self.invoke % 9998 + 1
        inv = f"{self.invoke:04d}"
        self.send_raw(self.frame(inv, f'<?xml version="1.0" encoding="UTF-8"?>'
                                      f'<{name} xmlns="{ns or self.ns}">{body}</{name}>'))
        return inv

    def read_frame(self, timeout):
        """(invoke, root element) or None on timeout; raises EOFError on close."""
        deadline = time.time() + timeout
        while True:
            if len(self.buf) >= 8:
                n = struct.unpack(">I", self.buf[:4])[0]
                check(8 <= n <= 1 << 20, f"bad frame length {n}")
                if len(self.buf) >= n:
                    inv = self.buf[4:8].decode()
                    doc = self.buf[8:n]
                    self.buf = self.buf[n:]
                    return inv, ET.fromstring(doc)
            left = deadline - time.time()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return None
            except ConnectionResetError:
                raise EOFError()
            if not d:
                raise EOFError()
            self.buf += d

    def _dispatch(self, inv, el):
        if inv == "9999":
            self.events.append(el)
        else:
            self.others.append((inv, el))

    def request(self, name, body="", timeout=5, ns=None):
        """The response document (positive or CSTAErrorCode) to a request."""
        inv = self.send(name, body, ns)
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.read_frame(deadline - time.time())
            if r is None:
                break
            if r[0] == inv and local(r[1].tag) != "SystemStatus":
                return r[1]
            self._dispatch(*r)
        raise Failure(f"no response to {name} (invoke {inv})")

    def ok(self, name, body="", expect=None):
        r = self.request(name, body)
        want = expect or name + "Response"
        check(local(r.tag) == want,
              f"{name}: expected {want}, got {local(r.tag)}: {ET.tostring(r).decode()}")
        return r

    def error(self, name, body, category, value):
        r = self.request(name, body)
        check(local(r.tag) == "CSTAErrorCode",
              f"{name}: expected CSTAErrorCode, got {ET.tostring(r).decode()}")
        check(get(r, category) == value,
              f"{name}: expected {category} {value}, got {ET.tostring(r).decode()}")

    def monitor(self, dev):
        r = self.ok("MonitorStart", f"<monitorObject><deviceObject>{dev}</deviceObject>"
                                    "</monitorObject>")
        ref = get(r, "monitorCrossRefID")
        check(ref, "MonitorStartResponse without monitorCrossRefID")
        return ref

    def pump(self, timeout):
        deadline = time.time() + timeout
        while True:
            r = self.read_frame(max(0, deadline - time.time()))
            if r is None:
                return
            self._dispatch(*r)

    def event(self, etype, timeout=5, **want):
        """The first queued (or coming) event of this type whose fields match
        want (path with '__' for '/': value); it is consumed, events of other
        monitors or types before it stay queued."""
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if local(e.tag) != etype:
                    continue
                if all(get(e, k.replace("__", "/")) == v for k, v in want.items()):
                    del self.events[i]
                    return e
            left = deadline - time.time()
            if left <= 0:
                seen = [local(e.tag) + ":" + ET.tostring(e).decode()[:300] for e in self.events]
                raise Failure(f"no {etype} {want}; queued: {seen}")
            r = self.read_frame(left)
            if r is not None:
                self._dispatch(*r)

    def no_event(self, settle=0.4):
        self.pump(settle)
        check(not self.events,
              f"unexpected events: {[ET.tostring(e).decode()[:300] for e in self.events]}")

    def types(self, settle=0.3):
        self.pump(settle)
        t = [local(e.tag) for e in self.events]
        return t

    def closed(self, timeout=10):
        """True when pbxsim closes the link within timeout."""
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                r = self.read_frame(deadline - time.time())
                if r is not None:
                    self._dispatch(*r)
        except EOFError:
            return True
        return False


# the field that names the connection or device an event is about
_SUBJECT = {"ServiceInitiatedEvent": "initiatedConnection/deviceID",
            "OriginatedEvent": "originatedConnection/deviceID",
            "DeliveredEvent": "connection/deviceID",
            "EstablishedEvent": "establishedConnection/deviceID",
            "HeldEvent": "heldConnection/deviceID",
            "RetrievedEvent": "retrievedConnection/deviceID",
            "ConnectionClearedEvent": "droppedConnection/deviceID",
            "DivertedEvent": "connection/deviceID",
            "FailedEvent": "failedConnection/deviceID",
            "TransferedEvent": "transferringDevice/deviceIdentifier",
            "ConferencedEvent": "conferencingDevice/deviceIdentifier",
            "CallClearedEvent": "clearedCall/callID"}


def sequence(c, settle=0.5):
    """Every event that arrives within settle (and those queued), in order,
    as 'Type(subject)@monitor:localConnectionInfo'; the queue is emptied."""
    c.pump(settle)
    out = []
    for e in c.events:
        t = local(e.tag)
        out.append(f"{t}({get(e, _SUBJECT.get(t, '-')) or ''})@{get(e, 'monitorCrossRefID')}:"
                   f"{get(e, 'localConnectionInfo') or ''}")
    c.events.clear()
    return out


def drain(c, settle=0.3):
    """Forgets every event that came or comes within settle."""
    c.pump(settle)
    c.events.clear()


def check_sequence(c, want, what, settle=0.5):
    got = sequence(c, settle)
    check(got == want, f"{what}: got {got}, want {want}")


def make_call(c, frm, to):
    r = c.ok("MakeCall", f"<callingDevice>{frm}</callingDevice>"
                         f"<calledDirectoryNumber>{to}</calledDirectoryNumber>")
    callid = get(r, "callingDevice/callID")
    check(callid and get(r, "callingDevice/deviceID") == frm, "MakeCallResponse connection")
    return callid


# ---- cases ----

def case_framing():
    with Pbxsim() as p:
        c = p.client()
        # two documents in one write, answered in order with their invoke ids
        d1 = c.frame("0042", f'<SystemStatus xmlns="{NS3}"><systemStatus>normal</systemStatus>'
                             '</SystemStatus>')
        d2 = c.frame("0043", f'<RequestSystemStatus xmlns="{NS3}"/>')
        c.send_raw(d1 + d2)
        inv, r = c.read_frame(5)
        check(inv == "0042" and local(r.tag) == "SystemStatusResponse", f"first: {inv}")
        check(ns_of(r) == NS3, f"default namespace is ed3, got {ns_of(r)}")
        inv, r = c.read_frame(5)
        check(inv == "0043" and local(r.tag) == "RequestSystemStatusResponse", f"second: {inv}")
        check(get(r, "systemStatus") == "normal", "systemStatus normal")
        # one document byte by byte
        d3 = c.frame("0044", f'<MonitorStart xmlns="{NS5}"><monitorObject><deviceObject>100'
                             '</deviceObject></monitorObject></MonitorStart>')
        for i in range(len(d3)):
            c.send_raw(d3[i:i + 1])
        inv, r = c.read_frame(5)
        check(inv == "0044" and local(r.tag) == "MonitorStartResponse",
              "ed5 request answered (byte-wise)")
        # ed4 namespace and no namespace at all are read too
        c.ok("SnapshotDevice", "<snapshotObject>100</snapshotObject>", None)
        c.request("SnapshotDevice", "<snapshotObject>100</snapshotObject>", ns=NS4)
        c.close()
    with Pbxsim("--edition", "5") as p:
        c = p.client()
        r = c.request("SystemStatus", "<systemStatus>normal</systemStatus>")
        check(ns_of(r) == NS5, f"--edition 5 answers in ed5, got {ns_of(r)}")
        c.close()


def case_session():
    with Pbxsim("--require-session", "--user", "cti", "--password", "s3cret") as p:
        c = p.client()
        c.error("MonitorStart", "<monitorObject><deviceObject>100</deviceObject></monitorObject>",
                "security", "securityInfoViolated")
        c.ok("SystemStatus", "<systemStatus>normal</systemStatus>")
        app = ("<applicationInfo><applicationID>ucsd</applicationID><applicationSpecificInfo>"
               "<userName>{}</userName><password>{}</password></applicationSpecificInfo>"
               "</applicationInfo><requestedProtocolVersions><protocolVersion>" + NS3 +
               "</protocolVersion></requestedProtocolVersions>"
               "<requestedSessionDuration>60</requestedSessionDuration>")
        r = c.request("StartApplicationSession", app.format("cti", "wrong"))
        check(local(r.tag) == "StartApplicationSessionNegResponse", "wrong password refused")
        r = c.request("StartApplicationSession", app.format("cti", "s3cret"))
        check(local(r.tag) == "StartApplicationSessionPosResponse", "session accepted")
        sid = get(r, "sessionID")
        check(sid, "sessionID")
        check(get(r, "actualSessionDuration") == "60", "actualSessionDuration")
        c.monitor("100")
        r = c.request("ResetApplicationSessionTimer",
                      f"<sessionID>{sid}</sessionID><requestedSessionDuration>60"
                      "</requestedSessionDuration>")
        check(local(r.tag) == "ResetApplicationSessionTimerPosResponse", "timer reset")
        r = c.request("ResetApplicationSessionTimer", "<sessionID>nope</sessionID>")
        check(local(r.tag) == "ResetApplicationSessionTimerNegResponse", "wrong session id")
        # the session belongs to the link: a new link starts without one
        c2 = p.client()
        c2.error("MakeCall", "<callingDevice>100</callingDevice><calledDirectoryNumber>101"
                             "</calledDirectoryNumber>", "security", "securityInfoViolated")
        c.close()
        c2.close()
    # a session that is not renewed in time ends its link
    with Pbxsim("--require-session") as p:
        c = p.client()
        r = c.request("StartApplicationSession", "<applicationInfo><applicationID>t"
                      "</applicationID></applicationInfo><requestedSessionDuration>2"
                      "</requestedSessionDuration>")
        sid = get(r, "sessionID")
        check(get(r, "actualSessionDuration") == "2", "short session")
        t0 = time.time()
        for _ in range(3):
            c.pump(1.0)
            r = c.request("ResetApplicationSessionTimer", f"<sessionID>{sid}</sessionID>"
                          "<requestedSessionDuration>2</requestedSessionDuration>")
            check(local(r.tag) == "ResetApplicationSessionTimerPosResponse", "renewed")
        check(time.time() - t0 >= 2.5, "renewals kept the session beyond its duration")
        check(c.closed(5), "an expired session ends the link")
        p.wait_log("application session expired")
    # without --require-session no session is needed
    with Pbxsim() as p:
        c = p.client()
        c.monitor("100")
        c.close()


def case_monitor_start_stop():
    with Pbxsim() as p:
        c = p.client()
        ref = c.monitor("100")
        ref2 = c.monitor("101")
        check(ref != ref2, "distinct monitorCrossRefIDs")
        check(p.ok("monitors") == "2", "two monitors")
        c.error("MonitorStart", "<monitorObject><deviceObject>999</deviceObject></monitorObject>",
                "operation", "invalidDeviceID")
        c.error("MonitorStart", "<monitorObject><deviceObject>+4989123</deviceObject>"
                "</monitorObject>", "operation", "invalidDeviceID")
        c.ok("MonitorStop", f"<monitorCrossRefID>{ref}</monitorCrossRefID>")
        c.error("MonitorStop", f"<monitorCrossRefID>{ref}</monitorCrossRefID>",
                "operation", "invalidMonitorCrossRefID")
        check(p.ok("monitors") == "1", "one monitor left")
        p.ok("call +4930111 100")
        p.ok("call +4930222 101")
        e = c.event("DeliveredEvent")
        check(get(e, "monitorCrossRefID") == ref2, "only 101's monitor reports")
        check(get(e, "alertingDevice/deviceIdentifier") == "101", "101 rings")
        c.no_event()
        c.close()
        # closing the link ends its monitors
        deadline = time.time() + 5
        while p.ok("monitors") != "0" and time.time() < deadline:
            time.sleep(0.05)
        check(p.ok("monitors") == "0", "monitors end with the link")


def case_monitor_limit():
    with Pbxsim("--monitor-limit", "2") as p:
        c = p.client()
        c.monitor("100")
        c.monitor("101")
        c.error("MonitorStart", "<monitorObject><deviceObject>102</deviceObject></monitorObject>",
                "systemResourceAvailability", "overallMonitorLimitExceeded")
        p.ok("fault monitor-limit 3")
        c.monitor("102")
        c.error("MonitorStart", "<monitorObject><deviceObject>103</deviceObject></monitorObject>",
                "systemResourceAvailability", "overallMonitorLimitExceeded")
        # 0 is a limit too (every MonitorStart refused); "off" removes the limit
        p.ok("fault monitor-limit 0")
        c.error("MonitorStart", "<monitorObject><deviceObject>103</deviceObject></monitorObject>",
                "systemResourceAvailability", "overallMonitorLimitExceeded")
        check(p.ok("monitors") == "3", "the monitors started before stay")
        p.ok("fault monitor-limit off")
        c.monitor("103")
        c.monitor("104")
        check(p.ctl("fault monitor-limit none").startswith("error usage"), "bad limit")
        c.close()
    with Pbxsim("--monitor-limit", "0") as p:
        c = p.client()
        c.error("MonitorStart", "<monitorObject><deviceObject>100</deviceObject></monitorObject>",
                "systemResourceAvailability", "overallMonitorLimitExceeded")
        c.close()


def case_make_call():
    with Pbxsim() as p:
        c = p.client()
        m100 = c.monitor("100")
        m101 = c.monitor("101")
        inv = c.send("MakeCall", "<callingDevice>100</callingDevice>"
                                 "<calledDirectoryNumber>101</calledDirectoryNumber>")
        # the response comes before the call's events
        first = c.read_frame(5)
        check(first and first[0] == inv and local(first[1].tag) == "MakeCallResponse",
              f"MakeCallResponse first, got {first and ET.tostring(first[1]).decode()}")
        callid = get(first[1], "callingDevice/callID")
        c.pump(0.5)
        e = c.events[2]
        check(get(e, "connection/callID") == callid and get(e, "connection/deviceID") == "101",
              "Delivered connection is 101's")
        check(get(e, "callingDevice/deviceIdentifier") == "100", "callingDevice")
        check(get(e, "calledDevice/deviceIdentifier") == "101", "calledDevice")
        check_sequence(c, [f"ServiceInitiatedEvent(100)@{m100}:initiated",
                           f"OriginatedEvent(100)@{m100}:connected",
                           f"DeliveredEvent(101)@{m100}:connected",
                           f"DeliveredEvent(101)@{m101}:alerting"], "MakeCall")
        check(p.ok("state 101") == f"101 dnd=off fwd_immediate=- fwd_busy=- fwd_noanswer=- "
              f"calls={callid}:alerting", "state 101 alerting")
        c.ok("AnswerCall", conn_xml("callToBeAnswered", callid, "101"))
        e = c.event("EstablishedEvent", monitorCrossRefID=m100)
        check(get(e, "answeringDevice/deviceIdentifier") == "101", "answeringDevice")
        check(get(e, "callingDevice/deviceIdentifier") == "100", "Established callingDevice")
        check(get(e, "localConnectionInfo") == "connected", "100 connected")
        check_sequence(c, [f"EstablishedEvent(101)@{m101}:connected"], "AnswerCall")
        # a second MakeCall from a talking phone is refused (that is a
        # ConsultationCall); nothing happens
        c.error("MakeCall", "<callingDevice>100</callingDevice><calledDirectoryNumber>102"
                "</calledDirectoryNumber>", "stateIncompatibility", "connectedCallExists")
        check(p.ctl("call 101 102") == "error connected call exists", "control call refused")
        check(p.ok("state 100").endswith(f"calls={callid}:connected"), "still one call at 100")
        c.no_event()
        # one side clears: its connection, the other's, then the call
        c.ok("ClearConnection", conn_xml("connectionToBeCleared", callid, "100"))
        check_sequence(c, [f"ConnectionClearedEvent(100)@{m100}:null",
                           f"ConnectionClearedEvent(100)@{m101}:connected",
                           f"ConnectionClearedEvent(101)@{m100}:null",
                           f"ConnectionClearedEvent(101)@{m101}:null",
                           f"CallClearedEvent({callid})@{m100}:",
                           f"CallClearedEvent({callid})@{m101}:"], "ClearConnection")
        check(p.ok("state 100").endswith("calls="), "no call left at 100")
        # external destination: reported as dialled; it answers from the control port
        callid = make_call(c, "100", "0891234567")
        e = c.event("DeliveredEvent", monitorCrossRefID=m100)
        check(get(e, "alertingDevice/deviceIdentifier") == "0891234567", "external alerting")
        p.ok("answer 0891234567")
        c.event("EstablishedEvent", monitorCrossRefID=m100)
        drain(c)
        p.ok("hangup 0891234567")
        check_sequence(c, [f"ConnectionClearedEvent(0891234567)@{m100}:connected",
                           f"ConnectionClearedEvent(100)@{m100}:null",
                           f"CallClearedEvent({callid})@{m100}:"], "the far end hangs up")
        # errors
        c.error("MakeCall", "<callingDevice>999</callingDevice><calledDirectoryNumber>101"
                "</calledDirectoryNumber>", "operation", "invalidCallingDeviceID")
        c.error("MakeCall", "<callingDevice>100</callingDevice>", "operation", "valueOutOfRange")
        c.close()


def case_incoming_external():
    with Pbxsim() as p:
        c = p.client()
        m = c.monitor("105")
        for caller in ["+4989123456", "0891234567"]:
            callid = p.ok(f"call {caller} 105")
            e = c.event("DeliveredEvent", monitorCrossRefID=m)
            check(get(e, "connection/callID") == callid, "Delivered callID")
            check(get(e, "callingDevice/deviceIdentifier") == caller,
                  f"caller reported as given: {get(e, 'callingDevice/deviceIdentifier')}")
            check(get(e, "localConnectionInfo") == "alerting", "alerting")
            check(c.types() == [], "only Delivered for an incoming call")
            p.ok(f"hangup {caller}")
            e = c.event("ConnectionClearedEvent", monitorCrossRefID=m)
            check(get(e, "droppedConnection/deviceID") == caller, "caller dropped")
            check(get(e, "releasingDevice/deviceIdentifier") == caller, "releasingDevice")
            check(get(e, "localConnectionInfo") == "alerting", "105 still alerting")
            e = c.event("ConnectionClearedEvent", monitorCrossRefID=m)
            check(get(e, "droppedConnection/deviceID") == "105", "then 105's connection")
            check(get(e, "localConnectionInfo") == "null", "105 null")
            c.event("CallClearedEvent", clearedCall__callID=callid)
            c.no_event()
        check(p.ctl("call +4989 +4930").startswith("error"), "two outside parties refused")
        check(p.ctl("answer 105").startswith("error"), "nothing rings")
        check(p.ctl("bogus").startswith("error"), "unknown command")
        c.close()


def case_answer_hold_retrieve():
    with Pbxsim() as p:
        c = p.client()
        m = c.monitor("100")
        callid = p.ok("call +4989123456 100")
        c.event("DeliveredEvent")
        c.error("HoldCall", conn_xml("callToBeHeld", callid, "100"),
                "stateIncompatibility", "invalidConnectionState")
        c.error("AnswerCall", conn_xml("callToBeAnswered", "98765", "100"),
                "operation", "invalidCallID")
        c.error("AnswerCall", conn_xml("callToBeAnswered", callid, "101"),
                "operation", "invalidConnectionID")
        c.ok("AnswerCall", conn_xml("callToBeAnswered", callid, "100"))
        c.event("EstablishedEvent", monitorCrossRefID=m, localConnectionInfo="connected")
        c.ok("HoldCall", conn_xml("callToBeHeld", callid, "100"))
        e = c.event("HeldEvent", localConnectionInfo="hold")
        check(get(e, "heldConnection/callID") == callid, "held connection")
        check(get(e, "holdingDevice/deviceIdentifier") == "100", "holdingDevice")
        check(f"calls={callid}:hold" in p.ok("state 100"), "state hold")
        c.error("HoldCall", conn_xml("callToBeHeld", callid, "100"),
                "stateIncompatibility", "invalidConnectionState")
        c.ok("RetrieveCall", conn_xml("callToBeRetrieved", callid, "100"))
        c.event("RetrievedEvent", localConnectionInfo="connected")
        # the same from the control port ("on the phone")
        p.ok("hold 100")
        c.event("HeldEvent")
        p.ok("retrieve 100")
        c.event("RetrievedEvent")
        c.ok("GenerateDigits", conn_xml("connectionToSendDigits", callid, "100") +
             "<charactersToSend>123#</charactersToSend>")
        # the oldest call comes first: a second call rings while the first
        # is held; the snapshot and "state" list the held one first
        p.ok("hold 100")
        c.event("HeldEvent")
        second = p.ok("call +4930222 100")
        c.event("DeliveredEvent", connection__callID=second)
        r = c.ok("SnapshotDevice", "<snapshotObject>100</snapshotObject>")
        got = [(get(i, "connectionIdentifier/callID"),
                get(i, "localCallState/compoundCallState/localConnectionState"))
               for i in r.findall(".//{%s}snapshotDeviceResponseInfo" % NS3)]
        check(got == [(callid, "hold"), (second, "alerting")], f"snapshot oldest first: {got}")
        check(p.ok("state 100").endswith(f"calls={callid}:hold,{second}:alerting"),
              "state oldest first")
        p.ok("hangup +4930222")
        c.events.clear()
        p.ok("retrieve 100")
        c.event("RetrievedEvent")
        c.ok("ClearCall", conn_xml("callToBeCleared", callid, "100"))
        c.event("CallClearedEvent", clearedCall__callID=callid)
        c.error("ClearCall", conn_xml("callToBeCleared", callid, "100"),
                "operation", "invalidCallID")
        # "answer" takes the oldest ringing call of a party that rings twice
        m101 = c.monitor("101")
        older = p.ok("call 100 0891234567")
        newer = p.ok("call 101 0891234567")
        drain(c)
        p.ok("answer 0891234567")
        check_sequence(c, [f"EstablishedEvent(0891234567)@{m}:connected"],
                       "the older call is answered")
        c.events.clear()
        p.ok("answer 0891234567")
        check_sequence(c, [f"EstablishedEvent(0891234567)@{m101}:connected"],
                       "then the newer one")
        check(older != newer, "two calls")
        c.close()


def case_consult_transfer():
    with Pbxsim() as p:
        c = p.client()
        m100 = c.monitor("100")
        m101 = c.monitor("101")
        c1 = p.ok("call +4989123456 100")
        c.event("DeliveredEvent", monitorCrossRefID=m100)
        p.ok("answer 100")
        c.event("EstablishedEvent", monitorCrossRefID=m100)
        r = c.ok("ConsultationCall", conn_xml("existingCall", c1, "100") +
                 "<consultedDevice>101</consultedDevice>")
        c2 = get(r, "initiatedCall/callID")
        check(c2 and c2 != c1 and get(r, "initiatedCall/deviceID") == "100", "consultation call")
        c.event("HeldEvent", monitorCrossRefID=m100, heldConnection__callID=c1)
        c.event("ServiceInitiatedEvent", monitorCrossRefID=m100, initiatedConnection__callID=c2)
        c.event("OriginatedEvent", monitorCrossRefID=m100, originatedConnection__callID=c2)
        c.event("DeliveredEvent", monitorCrossRefID=m101, connection__callID=c2)
        p.ok("answer 101")
        c.event("EstablishedEvent", monitorCrossRefID=m101, establishedConnection__callID=c2)
        # transfer needs the held call held and the active one connected
        c.error("TransferCall", conn_xml("heldCall", c2, "100") + conn_xml("activeCall", c1, "100"),
                "stateIncompatibility", "invalidConnectionState")
        drain(c)
        r = c.ok("TransferCall", conn_xml("heldCall", c1, "100") +
                 conn_xml("activeCall", c2, "100"))
        for mon, lci in ((m100, "null"), (m101, "connected")):
            e = c.event("TransferedEvent", monitorCrossRefID=mon)
            check(get(e, "primaryOldCall/callID") == c1, "primaryOldCall")
            check(get(e, "secondaryOldCall/callID") == c2, "secondaryOldCall")
            check(get(e, "transferringDevice/deviceIdentifier") == "100", "transferringDevice")
            check(get(e, "transferredToDevice/deviceIdentifier") == "101", "transferredToDevice")
            check(get(e, "localConnectionInfo") == lci, f"lci {lci}")
            entries = child(e, "transferredConnections")
            devs = sorted(get(x, "newConnection/deviceID") for x in entries)
            check(devs == ["+4989123456", "101"], f"transferredConnections {devs}")
            for x in entries:
                check(get(x, "newConnection/callID") == c2, "new connections in the result call")
        c.no_event()
        check(p.ok("state 100").endswith("calls="), "100 left both calls")
        check(p.ok("state 101").endswith(f"calls={c2}:connected"), "101 talks in call 2")
        p.ok("hangup +4989123456")
        check_sequence(c, [f"ConnectionClearedEvent(+4989123456)@{m101}:connected",
                           f"ConnectionClearedEvent(101)@{m101}:null",
                           f"CallClearedEvent({c2})@{m101}:"], "the transferred caller leaves")
        # transfer while the consulted party still rings: when it answers,
        # its far end (callingDevice) is the party it was transferred to
        m102 = c.monitor("102")
        c4 = p.ok("call +4930777 100")
        p.ok("answer 100")
        r = c.ok("ConsultationCall", conn_xml("existingCall", c4, "100") +
                 "<consultedDevice>102</consultedDevice>")
        c5 = get(r, "initiatedCall/callID")
        drain(c)
        r = c.ok("TransferCall", conn_xml("heldCall", c4, "100") +
                 conn_xml("activeCall", c5, "100"))
        check(get(r, "transferredCall/callID") == c5, "the result is the consultation call")
        check_sequence(c, [f"TransferedEvent(100)@{m102}:alerting",
                           f"TransferedEvent(100)@{m100}:null"], "Transfered")
        p.ok("answer 102")
        e = c.event("EstablishedEvent", monitorCrossRefID=m102)
        check(get(e, "establishedConnection/callID") == c5, "answered in the result call")
        check(get(e, "callingDevice/deviceIdentifier") == "+4930777",
              f"callingDevice after the transfer: {get(e, 'callingDevice/deviceIdentifier')}")
        check(get(e, "calledDevice/deviceIdentifier") == "102", "calledDevice")
        c.no_event()
        p.ok("hangup 102")
        check_sequence(c, [f"ConnectionClearedEvent(102)@{m102}:null",
                           f"ConnectionClearedEvent(+4930777)@{m102}:null",
                           f"CallClearedEvent({c5})@{m102}:"], "102 hangs up")
        # a transfer that would put one party twice into the result call is refused
        c6 = make_call(c, "100", "0891234567")
        p.ok("answer 0891234567")
        r = c.ok("ConsultationCall", conn_xml("existingCall", c6, "100") +
                 "<consultedDevice>0891234567</consultedDevice>")
        c7 = get(r, "initiatedCall/callID")
        p.ok("answer 0891234567")
        drain(c)
        c.error("TransferCall", conn_xml("heldCall", c6, "100") + conn_xml("activeCall", c7, "100"),
                "operation", "notDifferentDevices")
        c.error("ConferenceCall", conn_xml("heldCall", c6, "100") +
                conn_xml("activeCall", c7, "100"), "operation", "notDifferentDevices")
        c.no_event()
        check(p.ok("state 100").endswith(f"calls={c6}:hold,{c7}:connected"), "nothing changed")
        c.ok("ClearCall", conn_xml("callToBeCleared", c7, "100"))
        c.ok("ClearCall", conn_xml("callToBeCleared", c6, "100"))
        drain(c)
        # single step transfer
        c3 = p.ok("call +4930555 100")
        p.ok("answer 100")
        drain(c)
        r = c.ok("SingleStepTransferCall", conn_xml("activeCall", c3, "100") +
                 "<transferredTo>101</transferredTo>")
        check(get(r, "transferredCall/deviceID") == "101", "transferredCall")
        c.pump(0.5)
        e = [x for x in c.events if local(x.tag) == "DeliveredEvent"][0]
        check(get(e, "lastRedirectionDevice/deviceIdentifier") == "100", "redirected by 100")
        check(get(e, "callingDevice/deviceIdentifier") == "+4930555", "caller kept")
        check_sequence(c, [f"TransferedEvent(100)@{m100}:null",
                           f"DeliveredEvent(101)@{m101}:alerting"], "SingleStepTransferCall")
        p.ok("hangup +4930555")
        # single step transfer by the caller: the party left behind calls now
        c8 = make_call(c, "100", "102")
        p.ok("answer 102")
        drain(c)
        c.ok("SingleStepTransferCall", conn_xml("activeCall", c8, "100") +
             "<transferredTo>101</transferredTo>")
        e = c.event("DeliveredEvent", monitorCrossRefID=m101)
        check(get(e, "callingDevice/deviceIdentifier") == "102",
              f"callingDevice after SST by the caller: {get(e, 'callingDevice/deviceIdentifier')}")
        c.close()


def case_conference():
    with Pbxsim() as p:
        c = p.client()
        m100 = c.monitor("100")
        m102 = c.monitor("102")
        c1 = p.ok("call +4989123456 100")
        p.ok("answer 100")
        r = c.ok("ConsultationCall", conn_xml("existingCall", c1, "100") +
                 "<consultedDevice>102</consultedDevice>")
        c2 = get(r, "initiatedCall/callID")
        p.ok("answer 102")
        c.event("EstablishedEvent", monitorCrossRefID=m102)
        # alternate and reconnect-free path: alternate twice
        c.ok("AlternateCall", conn_xml("heldCall", c1, "100") + conn_xml("activeCall", c2, "100"))
        c.event("HeldEvent", heldConnection__callID=c2, monitorCrossRefID=m100)
        c.event("RetrievedEvent", retrievedConnection__callID=c1, monitorCrossRefID=m100)
        c.ok("AlternateCall", conn_xml("heldCall", c2, "100") + conn_xml("activeCall", c1, "100"))
        c.event("RetrievedEvent", retrievedConnection__callID=c2, monitorCrossRefID=m100)
        drain(c)
        r = c.ok("ConferenceCall", conn_xml("heldCall", c1, "100") +
                 conn_xml("activeCall", c2, "100"))
        check(get(r, "conferenceCall/callID") == c1, "conference call is the held call")
        c.pump(0.5)
        check([local(e.tag) + "@" + get(e, "monitorCrossRefID") for e in c.events] ==
              [f"ConferencedEvent@{m100}", f"ConferencedEvent@{m102}"],
              f"only Conferenced: {[local(e.tag) for e in c.events]}")
        for mon in (m100, m102):
            e = c.event("ConferencedEvent", monitorCrossRefID=mon)
            check(get(e, "primaryOldCall/callID") == c1, "primaryOldCall")
            check(get(e, "secondaryOldCall/callID") == c2, "secondaryOldCall")
            check(get(e, "conferencingDevice/deviceIdentifier") == "100", "conferencingDevice")
            check(get(e, "addedParty/deviceIdentifier") == "102", "addedParty")
            check(get(e, "localConnectionInfo") == "connected", "connected")
            devs = sorted(get(x, "newConnection/deviceID")
                          for x in child(e, "conferenceConnections"))
            check(devs == ["+4989123456", "100", "102"], f"conference connections {devs}")
        check(p.ok("state 102").endswith(f"calls={c1}:connected"), "102 in the conference")
        # one party leaves: the other two stay connected
        c.no_event()
        p.ok("hangup 102")
        check_sequence(c, [f"ConnectionClearedEvent(102)@{m100}:connected",
                           f"ConnectionClearedEvent(102)@{m102}:null"],
                       "a party leaves the conference")
        check(p.ok("state 100").endswith(f"calls={c1}:connected"), "100 still talks")
        # reconnect: consult, then drop the consultation and return
        r = c.ok("ConsultationCall", conn_xml("existingCall", c1, "100") +
                 "<consultedDevice>103</consultedDevice>")
        c3 = get(r, "initiatedCall/callID")
        c.events.clear()
        drain(c)
        c.ok("ReconnectCall", conn_xml("heldCall", c1, "100") + conn_xml("activeCall", c3, "100"))
        check_sequence(c, [f"ConnectionClearedEvent(100)@{m100}:null",
                           f"ConnectionClearedEvent(103)@{m100}:null",
                           f"CallClearedEvent({c3})@{m100}:",
                           f"RetrievedEvent(100)@{m100}:connected"], "ReconnectCall")
        c.close()
    # a ringing party that joins a conference keeps its no-answer forwarding
    with Pbxsim("--noanswer-s", "1") as p:
        c = p.client()
        m100 = c.monitor("100")
        m102 = c.monitor("102")
        m105 = c.monitor("105")
        p.ok("forward 102 noanswer 105")
        c1 = p.ok("call +4989123456 100")
        p.ok("answer 100")
        r = c.ok("ConsultationCall", conn_xml("existingCall", c1, "100") +
                 "<consultedDevice>102</consultedDevice>")
        c2 = get(r, "initiatedCall/callID")
        c.ok("ConferenceCall", conn_xml("heldCall", c1, "100") + conn_xml("activeCall", c2, "100"))
        check(p.ok("state 102").endswith(f"calls={c1}:alerting"), "102 rings in the conference")
        e = c.event("DivertedEvent", monitorCrossRefID=m102, timeout=4)
        check(get(e, "connection/callID") == c1 and get(e, "cause") == "callForwardNoAnswer",
              "diverted on no answer in the conference call")
        e = c.event("DeliveredEvent", monitorCrossRefID=m105)
        check(get(e, "connection/callID") == c1, "105 rings in the conference call")
        c.close()


def case_deflect():
    with Pbxsim() as p:
        c = p.client()
        m100 = c.monitor("100")
        m102 = c.monitor("102")
        callid = p.ok("call +4989123456 100")
        c.event("DeliveredEvent", monitorCrossRefID=m100)
        c.ok("DeflectCall", conn_xml("callToBeDiverted", callid, "100") +
             "<newDestination>102</newDestination>")
        e = c.event("DivertedEvent", monitorCrossRefID=m100)
        check(get(e, "divertingDevice/deviceIdentifier") == "100", "divertingDevice")
        check(get(e, "newDestination/deviceIdentifier") == "102", "newDestination")
        check(get(e, "localConnectionInfo") == "null", "gone from 100")
        e = c.event("DeliveredEvent", monitorCrossRefID=m102)
        check(get(e, "lastRedirectionDevice/deviceIdentifier") == "100", "lastRedirectionDevice")
        check(get(e, "callingDevice/deviceIdentifier") == "+4989123456", "caller")
        check(p.ok("state 100").endswith("calls="), "call left 100")
        # deflecting a connected call is a state error; to an external number works
        p.ok("answer 102")
        c.error("DeflectCall", conn_xml("callToBeDiverted", callid, "102") +
                "<newDestination>103</newDestination>",
                "stateIncompatibility", "invalidConnectionState")
        c2 = p.ok("call +4930111 100")
        c.ok("DeflectCall", conn_xml("callToBeDiverted", c2, "100") +
             "<newDestination>017012345</newDestination>")
        e = c.event("DivertedEvent", monitorCrossRefID=m100, connection__callID=c2)
        check(get(e, "newDestination/deviceIdentifier") == "017012345", "to outside")
        c.close()


def case_pickup():
    with Pbxsim() as p:
        c = p.client()
        m100 = c.monitor("100")
        m103 = c.monitor("103")
        callid = p.ok("call +4989123456 100")
        c.event("DeliveredEvent", monitorCrossRefID=m100)
        r = c.ok("DirectedPickupCall", conn_xml("callToBePickedUp", callid, "100") +
                 "<requestingDevice>103</requestingDevice>")
        check(get(r, "pickedCall/deviceID") == "103", "pickedCall")
        e = c.event("DivertedEvent", monitorCrossRefID=m100)
        check(get(e, "newDestination/deviceIdentifier") == "103", "diverted to 103")
        check(get(e, "cause") == "callPickup", "cause callPickup")
        e = c.event("EstablishedEvent", monitorCrossRefID=m103)
        check(get(e, "answeringDevice/deviceIdentifier") == "103", "103 answered")
        check(get(e, "lastRedirectionDevice/deviceIdentifier") == "100", "picked from 100")
        check(p.ok("state 103").endswith(f"calls={callid}:connected"), "103 connected")
        c.error("DirectedPickupCall", conn_xml("callToBePickedUp", callid, "103") +
                "<requestingDevice>104</requestingDevice>",
                "stateIncompatibility", "invalidConnectionState")
        # group pickup: the longest ringing call of the group
        c2 = p.ok("call +4930111 100")
        p.ok("call +4930222 101")
        r = c.ok("GroupPickupCall", "<newDestination>104</newDestination>")
        check(get(r, "pickedCall/callID") == c2, "oldest ringing call picked")
        c.event("DivertedEvent", monitorCrossRefID=m100, connection__callID=c2)
        c.ok("GroupPickupCall", "<newDestination>105</newDestination>")
        c.error("GroupPickupCall", "<newDestination>106</newDestination>",
                "stateIncompatibility", "invalidObjectState")
        # a call ringing at an outside number is not this PBX's to pick up
        m106 = c.monitor("106")
        out = make_call(c, "106", "0891234567")
        drain(c)
        c.error("DirectedPickupCall", conn_xml("callToBePickedUp", out, "0891234567") +
                "<requestingDevice>107</requestingDevice>", "operation", "invalidDeviceID")
        c.no_event()
        check(p.ok("state 107").endswith("calls="), "107 got nothing")
        check(p.ok("state 106").endswith(f"calls={out}:connected"), f"{m106}: 106 still calls")
        c.close()
    # --pickup-group: a group pickup stays within the requester's group
    with Pbxsim("--pickup-group", "100-104", "--pickup-group", "105-109") as p:
        c = p.client()
        old_call = p.ok("call +4930111 100")
        new_call = p.ok("call +4930222 106")
        r = c.ok("GroupPickupCall", "<newDestination>107</newDestination>")
        check(get(r, "pickedCall/callID") == new_call, "picked in its own group")
        c.error("GroupPickupCall", "<newDestination>108</newDestination>",
                "stateIncompatibility", "invalidObjectState")
        r = c.ok("GroupPickupCall", "<newDestination>101</newDestination>")
        check(get(r, "pickedCall/callID") == old_call, "the other group's call")
        c.close()


def case_forwarding_csta():
    with Pbxsim("--noanswer-s", "1") as p:
        c = p.client()
        m100 = c.monitor("100")
        m105 = c.monitor("105")
        c.ok("SetForwarding", "<device>100</device><forwardingType>forwardImmediate"
             "</forwardingType><activateForward>true</activateForward><forwardDN>105</forwardDN>")
        e = c.event("ForwardingEvent", monitorCrossRefID=m100)
        check(get(e, "device/deviceIdentifier") == "100", "device")
        check(get(e, "forwardingType") == "forwardImmediate", "forwardingType")
        check(get(e, "forwardStatus") == "true", "forwardStatus")
        check(get(e, "forwardTo") == "105", "forwardTo")
        r = c.ok("GetForwarding", "<device>100</device>")
        items = {get(i, "forwardingType"): (get(i, "forwardStatus"), get(i, "forwardDN"))
                 for i in child(r, "forwardingList")}
        check(items.get("forwardImmediate") == ("true", "105"), f"GetForwarding {items}")
        check(items.get("forwardBusy") == ("false", None), f"GetForwarding {items}")
        callid = p.ok("call +4989123456 100")
        e = c.event("DivertedEvent", monitorCrossRefID=m100)
        check(get(e, "newDestination/deviceIdentifier") == "105", "forwarded to 105")
        e = c.event("DeliveredEvent", monitorCrossRefID=m105)
        check(get(e, "lastRedirectionDevice/deviceIdentifier") == "100", "redirected by 100")
        check(get(e, "connection/callID") == callid, "same call")
        check(get(e, "calledDevice/deviceIdentifier") == "100", "called 100")
        p.ok("hangup +4989123456")
        c.event("CallClearedEvent", monitorCrossRefID=m105)
        c.ok("SetForwarding", "<device>100</device><forwardingType>forwardImmediate"
             "</forwardingType><activateForward>false</activateForward>")
        c.event("ForwardingEvent", monitorCrossRefID=m100, forwardStatus="false")
        # busy forwarding
        c.ok("SetForwarding", "<device>100</device><forwardingType>forwardBusy</forwardingType>"
             "<activateForward>true</activateForward><forwardDN>105</forwardDN>")
        c.event("ForwardingEvent", forwardingType="forwardBusy")
        p.ok("call +4930111 100")
        p.ok("answer 100")
        p.ok("call +4930222 100")
        e = c.event("DeliveredEvent", monitorCrossRefID=m105)
        check(get(e, "callingDevice/deviceIdentifier") == "+4930222", "busy forwarding")
        p.ok("hangup +4930222")
        p.ok("hangup +4930111")
        # no-answer forwarding after --noanswer-s
        c.ok("SetForwarding", "<device>100</device><forwardingType>forwardNoAns</forwardingType>"
             "<activateForward>true</activateForward><forwardDN>105</forwardDN>")
        c.events.clear()
        t0 = time.time()
        p.ok("call +4930333 100")
        c.event("DeliveredEvent", monitorCrossRefID=m100)
        e = c.event("DivertedEvent", monitorCrossRefID=m100, timeout=5)
        check(time.time() - t0 >= 0.8, "diverted only after the no-answer time")
        check(get(e, "cause") == "callForwardNoAnswer", "cause")
        c.event("DeliveredEvent", monitorCrossRefID=m105)
        c.error("SetForwarding", "<device>999</device><forwardingType>forwardBusy</forwardingType>"
                "<activateForward>true</activateForward><forwardDN>105</forwardDN>",
                "operation", "invalidDeviceID")
        c.close()


def case_forwarding_loop():
    """Forwarding loops end: a call is forwarded at most 8 times, then rings."""
    with Pbxsim("--noanswer-s", "0") as p:
        c = p.client()
        mons = {c.monitor(d): d for d in ("100", "101", "102", "103")}
        p.ok("forward 100 immediate 101")
        p.ok("forward 101 immediate 100")
        p.ok("forward 102 noanswer 103")
        p.ok("forward 103 noanswer 102")
        c1 = p.ok("call +4989123 100")
        c2 = p.ok("call +4930123 102")
        c.pump(1.0)
        for callid in (c1, c2):
            diverted = [e for e in c.events if local(e.tag) == "DivertedEvent" and
                        get(e, "connection/callID") == callid]
            # each diversion reaches the diverting device's monitor once
            check(len(diverted) == 8, f"call {callid}: {len(diverted)} diversions, want 8")
            check(all(mons[get(e, "monitorCrossRefID")] ==
                      get(e, "divertingDevice/deviceIdentifier") for e in diverted),
                  f"call {callid}: diversions at the diverting devices")
        # 8 diversions in a loop of two end where they started
        check(p.ok("state 100").endswith(f"calls={c1}:alerting"), "call 1 rings at 100")
        check(p.ok("state 102").endswith(f"calls={c2}:alerting"), "call 2 rings at 102")
        check(p.ok("stats").startswith("sent="), "pbxsim still answers")
        c.close()


def case_forwarding_control():
    with Pbxsim() as p:
        c = p.client()
        m = c.monitor("101")
        p.ok("forward 101 immediate +4989777")
        e = c.event("ForwardingEvent", monitorCrossRefID=m)
        check(get(e, "forwardTo") == "+4989777" and get(e, "forwardStatus") == "true", "on")
        check("fwd_immediate=+4989777" in p.ok("state 101"), "state shows forwarding")
        r = c.ok("GetForwarding", "<device>101</device>")
        check("+4989777" in ET.tostring(r).decode(), "visible over CSTA")
        p.ok("forward 101 noanswer 102")
        c.event("ForwardingEvent", forwardingType="forwardNoAns")
        p.ok("forward 101 immediate off")
        e = c.event("ForwardingEvent", forwardingType="forwardImmediate")
        check(get(e, "forwardStatus") == "false", "off")
        check("fwd_immediate=- fwd_busy=- fwd_noanswer=102" in p.ok("state 101"), "state")
        check(p.ctl("forward 101 sideways 102").startswith("error"), "bad type")
        check(p.ctl("forward 999 busy 102").startswith("error"), "bad extension")
        c.close()


def case_dnd():
    with Pbxsim() as p:
        c = p.client()
        m = c.monitor("100")
        c.ok("SetDoNotDisturb", "<device>100</device><doNotDisturbOn>true</doNotDisturbOn>")
        e = c.event("DoNotDisturbEvent", monitorCrossRefID=m)
        check(get(e, "doNotDisturbOn") == "true", "dnd on event")
        r = c.ok("GetDoNotDisturb", "<device>100</device>")
        check(get(r, "doNotDisturbOn") == "true", "GetDoNotDisturb")
        check("dnd=on" in p.ok("state 100"), "state dnd=on")
        # a call to a DND extension fails for the caller
        m101 = c.monitor("101")
        make_call(c, "101", "100")
        e = c.event("FailedEvent", monitorCrossRefID=m101)
        check(get(e, "cause") == "doNotDisturb", "cause doNotDisturb")
        check(get(e, "localConnectionInfo") == "fail", "caller's connection fails")
        check(get(e, "failingDevice/deviceIdentifier") == "100", "failingDevice")
        p.ok("hangup 101")
        c.event("CallClearedEvent", monitorCrossRefID=m101)
        p.ok("dnd 100 off")
        e = c.event("DoNotDisturbEvent", monitorCrossRefID=m)
        check(get(e, "doNotDisturbOn") == "false", "dnd off from the control port")
        c.close()


def case_busy_and_invalid():
    with Pbxsim() as p:
        c = p.client()
        m100 = c.monitor("100")
        p.ok("call +4930111 101")
        p.ok("answer 101")
        callid = make_call(c, "100", "101")
        e = c.event("FailedEvent", monitorCrossRefID=m100)
        check(get(e, "cause") == "busy", "busy")
        check(get(e, "failedConnection/callID") == callid, "failed connection")
        c.ok("ClearConnection", conn_xml("connectionToBeCleared", callid, "100"))
        c.event("CallClearedEvent", monitorCrossRefID=m100)
        make_call(c, "100", "12ab")
        e = c.event("FailedEvent", monitorCrossRefID=m100)
        check(get(e, "cause") == "destNotObtainable", "invalid number")
        p.ok("hangup 100")
        # an outside caller to a busy extension gives up at once
        m101 = c.monitor("101")
        cid = p.ok("call +4930999 101")
        c.pump(0.5)
        check(not any(get(e, "connection/callID") == cid for e in c.events
                      if get(e, "monitorCrossRefID") == m101), "busy 101 does not ring")
        check(not p.ok("state 101").count(cid + ":"), "failed outside call is gone")
        c.close()


def case_snapshot_after_reconnect():
    with Pbxsim() as p:
        c = p.client()
        c.monitor("100")
        callid = p.ok("call +4989123456 100")
        p.ok("answer 100")
        held = p.ok("call +4930111 101")
        c.close()
        time.sleep(0.2)
        c = p.client()
        r = c.ok("SnapshotDevice", "<snapshotObject>100</snapshotObject>")
        infos = r.findall(".//{%s}snapshotDeviceResponseInfo" % NS3)
        check(len(infos) == 1, f"one call at 100: {ET.tostring(r).decode()}")
        check(get(infos[0], "connectionIdentifier/callID") == callid, "the running call")
        check(get(infos[0], "localCallState/compoundCallState/localConnectionState") ==
              "connected", "connected")
        r = c.ok("SnapshotDevice", "<snapshotObject>102</snapshotObject>")
        check(not r.findall(".//{%s}snapshotDeviceResponseInfo" % NS3), "nothing at 102")
        r = c.ok("SnapshotDevice", "<snapshotObject>101</snapshotObject>")
        check(get(r.find(".//{%s}snapshotDeviceResponseInfo" % NS3),
                  "connectionIdentifier/callID") == held, "101 rings")
        c.error("SnapshotDevice", "<snapshotObject>999</snapshotObject>",
                "operation", "invalidDeviceID")
        c.close()


def case_fault_drop():
    with Pbxsim() as p:
        a, b = p.client(), p.client()
        a.monitor("100")
        b.monitor("101")
        p.ok("fault drop")
        check(a.closed(5) and b.closed(5), "every link closed")
        check(p.ok("monitors") == "0", "monitors gone")
        c = p.client()
        c.monitor("100")
        p.wait_log("fault drop")
        c.close()


def case_fault_stall():
    with Pbxsim() as p:
        c = p.client()
        m = c.monitor("100")
        p.ok("fault stall 1200")
        t0 = time.time()
        p.ok("call +4930111 100")
        inv = c.send("SystemStatus", "<systemStatus>normal</systemStatus>")
        c.pump(0.8)
        check(not c.events and not c.others, "nothing arrives during the stall")
        e = c.event("DeliveredEvent", monitorCrossRefID=m, timeout=5)
        check(time.time() - t0 >= 1.0, "the event comes after the stall")
        r = c.read_frame(5)
        check(r and r[0] == inv and local(r[1].tag) == "SystemStatusResponse",
              "the request is answered after the stall")
        check(e is not None, "event")
        c.close()


def case_fault_outofservice():
    with Pbxsim() as p:
        c, other = p.client(), p.client()
        m = c.monitor("100")
        m2 = c.monitor("100")
        o = other.monitor("101")
        check(p.ok("fault outofservice 100 on") == "2", "two monitors told")
        for ref in (m, m2):
            e = c.event("OutOfServiceEvent", monitorCrossRefID=ref)
            check(get(e, "device/deviceIdentifier") == "100", "the device in the event")
        other.no_event()
        check(p.ok("fault outofservice 100 off") == "2", "two monitors told again")
        for ref in (m, m2):
            c.event("BackInServiceEvent", monitorCrossRefID=ref, device__deviceIdentifier="100")
        check(p.ok("fault outofservice 109 on") == "0", "an unmonitored device: nobody told")
        check(p.ctl("fault outofservice 555 on") == "error unknown extension", "unknown ext")
        check(p.ctl("fault outofservice 100 maybe").startswith("error usage"), "bad word")
        # the monitor keeps going after the fault
        p.ok("call +4930111 101")
        other.event("DeliveredEvent", monitorCrossRefID=o)
        p.wait_log("control: fault outofservice 100 off")
        c.close()
        other.close()


def case_fault_systemstatus():
    with Pbxsim() as p:
        a, b = p.client(), p.client()
        a.monitor("100")
        b.ok("SystemStatus", "<systemStatus>normal</systemStatus>")  # b's link is up
        for status in ("initializing", "messagesLost", "normal"):
            check(p.ok(f"fault systemstatus {status}") == "2", "sent to both links")
            for c in (a, b):
                r = c.read_frame(5)
                check(r is not None and r[0] != "9999" and local(r[1].tag) == "SystemStatus",
                      f"a SystemStatus request, got {r}")
                check(get(r[1], "systemStatus") == status, f"status {status}")
                c.send_raw(c.frame(r[0], f'<?xml version="1.0"?><SystemStatusResponse '
                                         f'xmlns="{NS3}"/>'))
        check(p.ctl("fault systemstatus sleepy") == "error unknown system status", "bad status")
        a.ok("SystemStatus", "<systemStatus>normal</systemStatus>")  # links go on
        a.close()
        b.close()


def case_fault_monitor_ended():
    with Pbxsim() as p:
        c = p.client()
        m = c.monitor("100")
        keep = c.monitor("101")
        check(p.ok("monitors") == "2", "two monitors")
        check(p.ok("fault monitor-ended 100") == "1", "one monitor ended")
        e = c.event("MonitorEndedEvent", monitorCrossRefID=m)
        check(get(e, "cause") == "resourcesNotAvailable", "cause")
        check(p.ok("monitors") == "1", "the monitor is gone")
        c.error("MonitorStop", f"<monitorCrossRefID>{m}</monitorCrossRefID>", "operation",
                "invalidMonitorCrossRefID")
        p.ok("call +4930111 100")
        p.ok("call +4930112 101")
        c.event("DeliveredEvent", monitorCrossRefID=keep)
        c.no_event()
        m3 = c.monitor("100")  # a new monitor works
        p.ok("hangup +4930111")
        c.event("ConnectionClearedEvent", monitorCrossRefID=m3)
        check(p.ok("fault monitor-ended 109") == "0", "no monitor: nothing sent")
        check(p.ctl("fault monitor-ended 5") == "error unknown extension", "unknown ext")
        c.close()


def case_fault_error():
    with Pbxsim() as p:
        c = p.client()
        c.monitor("100")
        snap = "<snapshotObject>100</snapshotObject>"
        p.ok("fault error SnapshotDevice resourceBusy 2")
        c.error("SnapshotDevice", snap, "systemResourceAvailability", "resourceBusy")
        c.error("SnapshotDevice", snap, "systemResourceAvailability", "resourceBusy")
        c.ok("SnapshotDevice", snap)
        p.ok("fault error MakeCall invalidObjectState")
        mk = "<callingDevice>100</callingDevice><calledDirectoryNumber>101</calledDirectoryNumber>"
        c.error("MakeCall", mk, "stateIncompatibility", "invalidObjectState")
        check("calls=" == p.ok("state 100").split()[-1], "the refused MakeCall made no call")
        c.ok("MakeCall", mk)
        p.ok("fault error SnapshotDevice generic")
        c.error("SnapshotDevice", snap, "operation", "generic")
        c.ok("SnapshotDevice", snap)
        check(p.ctl("fault error Frobnicate generic").startswith("error unknown service"),
              "unknown service")
        check(p.ctl("fault error MakeCall noSuchError").startswith("error unknown service"),
              "unknown value")
        check(p.ctl("fault error MakeCall generic 0").startswith("error usage"), "N 0")
        p.wait_log("SnapshotDevice answered with the armed error generic (0 left)")
        c.close()


def case_fault_lose():
    with Pbxsim() as p:
        c = p.client()
        m = c.monitor("100")
        p.ok("fault lose 800")
        p.ok("call +4930111 100")
        c.no_event(0.5)
        stats = dict(kv.split("=") for kv in p.ok("stats").split())
        check(stats["lost"] == "1", f"one event lost: {stats}")
        check(p.ok("state 100").endswith(":alerting"), "the call goes on at the PBX")
        time.sleep(0.5)
        p.ok("answer 100")
        c.event("EstablishedEvent", monitorCrossRefID=m)
        p.ok("fault lose 5000")
        p.ok("fault lose 0")  # 0 ends it at once
        p.ok("hangup +4930111")
        c.event("ConnectionClearedEvent", monitorCrossRefID=m)
        c.close()


def case_fault_scenario():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.json")
        with open(path, "w") as f:
            json.dump({"steps": [{"at_ms": 0, "do": "fault outofservice 100 on"},
                                 {"at_ms": 100, "do": "fault systemstatus messagesLost"},
                                 {"at_ms": 200, "do": "fault monitor-ended 100"}]}, f)
        with Pbxsim("--scenario", path) as p:
            c = p.client()
            m = c.monitor("100")
            c.event("OutOfServiceEvent", monitorCrossRefID=m)
            deadline = time.time() + 5
            got = None
            while time.time() < deadline and got is None:
                r = c.read_frame(1)
                if r and r[0] != "9999" and local(r[1].tag) == "SystemStatus":
                    got = get(r[1], "systemStatus")
                elif r:
                    c._dispatch(*r)
            check(got == "messagesLost", f"scenario SystemStatus, got {got}")
            c.event("MonitorEndedEvent", monitorCrossRefID=m)
            c.close()


def case_fault_garbage():
    with Pbxsim() as p:
        c = p.client()
        c.monitor("100")
        p.ok("fault garbage")
        n = struct.unpack(">I", c.sock.recv(4, socket.MSG_WAITALL))[0]
        data = b""
        while len(data) < n - 4:
            data += c.sock.recv(n - 4 - len(data))
        check(data[:4] == b"9999", "garbage frame as an event")
        try:
            ET.fromstring(data[4:])
            raise Failure("the garbage frame parsed as XML")
        except ET.ParseError:
            pass
        # the link goes on
        c.ok("SystemStatus", "<systemStatus>normal</systemStatus>")
        c.close()


def case_fault_oversize():
    with Pbxsim() as p:
        c = p.client()
        c.monitor("100")
        p.ok("fault oversize")
        hdr = c.sock.recv(8, socket.MSG_WAITALL)
        n = struct.unpack(">I", hdr[:4])[0]
        check(n > 1 << 20, f"announced length {n} > 1 MiB")
        check(hdr[4:8] == b"9999", "invoke id")
        c.close()
        # pbxsim itself goes on
        c = p.client()
        c.monitor("101")
        c.close()


def case_malformed_input():
    with Pbxsim() as p:
        c = p.client()
        c.send_raw(c.frame("0007", "<MonitorStart><monitorObject>"))
        inv, r = c.read_frame(5)
        check(inv == "0007" and local(r.tag) == "CSTAErrorCode", "error for malformed XML")
        c.send_raw(c.frame("0008", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "100">]>'
                                   f'<MonitorStart xmlns="{NS3}"><monitorObject><deviceObject>'
                                   '&a;</deviceObject></monitorObject></MonitorStart>'))
        inv, r = c.read_frame(5)
        check(inv == "0008" and local(r.tag) == "CSTAErrorCode", "a DTD is refused")
        c.error("FrobnicateCall", "", "operation", "serviceNotSupported")
        c.error("AnswerCall", "<callToBeAnswered><callID>1</callID></callToBeAnswered>",
                "operation", "valueOutOfRange")
        c.monitor("100")  # the link still works
        # an oversized frame ends the link, a new one is served
        c.send_raw(struct.pack(">I", (1 << 20) + 100) + b"0009<x>")
        check(c.closed(5), "oversized frame closes the link")
        c = p.client()
        c.send_raw(struct.pack(">I", 3) + b"0009")
        check(c.closed(5), "a length below the header closes the link")
        # slow input: a frame that never completes ends its link, others go on
        slow = p.client()
        other = p.client()
        slow.send_raw(c.frame("0010", f'<SystemStatus xmlns="{NS3}"/>')[:10])
        t0 = time.time()
        other.monitor("101")
        check(slow.closed(10), "incomplete frame closes the link")
        check(time.time() - t0 >= 3, "after a grace time")
        other.ok("SystemStatus", "<systemStatus>normal</systemStatus>")
        p.wait_log("slow input")
        other.close()


def case_keepalive():
    with Pbxsim("--keepalive-s", "1") as p:
        c = p.client()
        c.monitor("100")
        # answer pbxsim's SystemStatus for a while: the link stays
        t_end = time.time() + 3.5
        answered = 0
        invokes = []
        while time.time() < t_end:
            r = c.read_frame(0.2)
            if r and local(r[1].tag) == "SystemStatus":
                check(r[0] != "9999", "keep-alive is a request with its own invoke id")
                c.send_raw(c.frame(r[0], f'<SystemStatusResponse xmlns="{NS3}"/>'))
                answered += 1
                invokes.append(r[0])
        # one a second (checked every 250 ms): 2 to 4 in 3.5 s, each with a new invoke id
        check(2 <= answered <= 4, f"pbxsim sent {answered} SystemStatus in 3.5 s at 1 s")
        check(len(set(invokes)) == answered, f"invoke ids {invokes}")
        c.ok("SystemStatus", "<systemStatus>normal</systemStatus>")
        # stop answering: the link is dropped after the next one stays unanswered
        t0 = time.time()
        check(c.closed(6), "unanswered keep-alive drops the link")
        t = time.time() - t0
        check(0.7 <= t <= 4.0, f"dropped {t:.2f} s after the last answer")
        check(any(local(el.tag) == "SystemStatus" for _, el in c.others),
              "the unanswered SystemStatus came")
        p.wait_log("keep-alive SystemStatus not answered")


def case_scenario():
    d = tempfile.mkdtemp(prefix="pbxsim-test-")
    path = os.path.join(d, "s.json")
    with open(path, "w") as f:
        json.dump({"extensions": ["120-121"], "steps": [
            {"at_ms": 0, "do": "call +4989123456 120"},
            {"at_ms": 600, "do": "hangup +4989123456"},
            {"at_ms": 600, "do": "wait 400"},
            {"at_ms": 600, "do": "dnd 121 on"},
        ]}, f)
    try:
        with Pbxsim("--scenario", path, extensions="100") as p:
            c = p.client()
            time.sleep(0.5)
            check(p.ok("state 120").endswith("calls="), "nothing before the first monitor")
            m = c.monitor("120")
            m121 = c.monitor("121")
            t0 = time.time()
            e = c.event("DeliveredEvent", monitorCrossRefID=m)
            check(get(e, "callingDevice/deviceIdentifier") == "+4989123456", "scripted caller")
            c.event("CallClearedEvent", monitorCrossRefID=m, timeout=5)
            t1 = time.time() - t0
            check(0.45 <= t1 <= 3, f"hangup after about 600 ms, was {t1:.2f}")
            c.event("DoNotDisturbEvent", monitorCrossRefID=m121, timeout=5)
            t2 = time.time() - t0
            check(t2 >= 0.9, f"wait 400 delays later steps, was {t2:.2f}")
            p.wait_log("scenario: done")
            c.close()
        # immediately + invalid files
        with open(path, "w") as f:
            json.dump({"start": "immediately", "steps": [{"at_ms": 0, "do": "dnd 100 on"}]}, f)
        with Pbxsim("--scenario", path, extensions="100") as p:
            deadline = time.time() + 5
            while "dnd=on" not in p.ok("state 100") and time.time() < deadline:
                time.sleep(0.05)
            check("dnd=on" in p.ok("state 100"), "start immediately")
        for bad in ['{"steps": [{"at_ms": -1, "do": "x"}]}', '{"steps": 3}', '[',
                    '{"stepz": []}', '{"extensions": ["a-b"]}']:
            with open(path, "w") as f:
                f.write(bad)
            r = subprocess.run([PBXSIM, "--port", "0", "--extensions", "100", "--scenario", path],
                               capture_output=True, text=True, timeout=10)
            check(r.returncode == 2 and "scenario" in r.stderr,
                  f"bad scenario {bad!r} refused: {r.returncode} {r.stderr}")
            check_sanitizers(r.stderr, "pbxsim")
    finally:
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)


def case_load():
    with Pbxsim("--load", "400", "--load-ring-ms", "100", "--load-hold-ms", "100",
                "--load-internal-pct", "30", "--load-duration-s", "1.5",
                extensions="100-139") as p:
        c = p.client()
        for n in range(100, 140):
            c.monitor(str(n))
        c.pump(2.5)
        types = {}
        for e in c.events:
            types[local(e.tag)] = types.get(local(e.tag), 0) + 1
        check(types.get("DeliveredEvent", 0) >= 50, f"load events {types}")
        check(types.get("EstablishedEvent", 0) >= 50, f"load answered {types}")
        check(types.get("CallClearedEvent", 0) >= 50, f"load cleared {types}")
        check(types.get("ServiceInitiatedEvent", 0) >= 5, f"internal calls {types}")
        stats = dict(kv.split("=") for kv in p.ok("stats").split())
        check(int(stats["calls"]) >= 100, f"stats {stats}")
        check(int(stats["events"]) >= sum(types.values()), f"stats {stats} vs {types}")
        c.pump(1.0)
        for n in range(100, 140):
            check(p.ok(f"state {n}").endswith("calls="), f"load calls end ({n})")
        p.wait_log("load: generation ends")
        c.close()


def case_slow_reader():
    """A client that stops reading is dropped once 64 MiB wait for it; pbxsim
    (and the load) go on and a new client is served."""
    with Pbxsim("--load", "4000", "--load-ring-ms", "100", "--load-hold-ms", "100",
                extensions="10000-11999") as p:
        c = p.client()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # 2000 MonitorStart requests in one write, then nothing is read
        c.send_raw(b"".join(
            c.frame(f"{i % 9998 + 1:04d}",
                    f'<MonitorStart xmlns="{NS3}"><monitorObject><deviceObject>{dev}'
                    '</deviceObject></monitorObject></MonitorStart>')
            for i, dev in enumerate(range(10000, 12000))))
        p.wait_log("closed: output not read by the client", timeout=45)
        check(p.ok("monitors") == "0", "the slow client's monitors are gone")
        c.close()
        c = p.client()
        c.monitor("10000")
        c.close()


def case_control_limits():
    """A control line longer than the limit is refused as a whole, never cut
    and run, and the connection goes on."""
    with Pbxsim() as p:
        # 4096 bytes of command are fine (trailing blanks included)
        r = p.ctl("state 100" + " " * (4096 - 9))
        check(r.startswith("ok 100 "), f"4096 bytes: {r[:80]!r}")
        # a longer line whose first 4096 bytes are a valid command does nothing
        r = p.ctl("call +4930111 100" + " " * 5000)
        check(r == "error line too long", f"long line: {r[:80]!r}")
        check(p.ok("state 100").endswith("calls="), "the cut command did not run")
        check(p.ok("stats").split()[3] == "calls=0", "no call made")
        # a long line in pieces, in one write with the next command
        ctl = p._ctl
        ctl.f.write("hangup " + "1" * 20000 + "\nmonitors\n")
        ctl.f.flush()
        check(ctl.f.readline().strip() == "error line too long", "pieces: refused once")
        check(ctl.f.readline().strip() == "ok 0", "the next command runs")
        check("1111111111" not in p.stderr(), "the long line is not logged")
        p.wait_log("control: a line longer than 4096 bytes refused")


def case_load_sizing():
    """The load mode picks an idle extension whenever there is one, and
    counts attempts that find none (stats skipped=N)."""
    # 40 extensions, about 36 calls ringing 5 s: every attempt finds one
    with Pbxsim("--load", "36", "--load-ring-ms", "5000", "--load-duration-s", "1",
                extensions="100-139") as p:
        p.wait_log("load: generation ends")
        stats = dict(kv.split("=") for kv in p.ok("stats").split())
        check(30 <= int(stats["calls"]) <= 39 and stats["skipped"] == "0",
              f"every attempt placed: {stats}")
        busy = sum(1 for n in range(100, 140) if not p.ok(f"state {n}").endswith("calls="))
        check(busy == int(stats["calls"]), f"{busy} extensions ring for {stats['calls']} calls")
    # 5 extensions at 100 calls/s for 0.5 s: 5 placed, the rest skipped
    with Pbxsim("--load", "100", "--load-ring-ms", "5000", "--load-duration-s", "0.5",
                extensions="100-104") as p:
        p.wait_log("load: generation ends")
        stats = dict(kv.split("=") for kv in p.ok("stats").split())
        check(stats["calls"] == "5" and 35 <= int(stats["skipped"]) <= 60,
              f"saturated: {stats}")
        p.wait_log(f"({stats['skipped']} skipped: no idle extension)")


def case_command_line():
    r = subprocess.run([PBXSIM, "--extensions", "100"], capture_output=True, text=True,
                       timeout=10)
    check(r.returncode == 2 and "--port" in r.stderr, "--port required")
    r = subprocess.run([PBXSIM, "--port", "0"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and "extensions" in r.stderr, "extensions required")
    r = subprocess.run([PBXSIM, "--port", "0", "--extensions", "199-100"], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 2, "bad range")
    r = subprocess.run([PBXSIM, "--port", "0", "--extensions", "100-109", "--pickup-group",
                        "100-120"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and "--pickup-group" in r.stderr, "pickup group of unknown devices")
    r = subprocess.run([PBXSIM, "--help"], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and "--extensions" in r.stdout, "--help")
    d = tempfile.mkdtemp(prefix="pbxsim-test-")
    path = os.path.join(d, "ext.json")
    with open(path, "w") as f:
        json.dump({"extensions": ["200-201", "0300"]}, f)
    try:
        with Pbxsim("--extensions-file", path, "-v", extensions="100") as p:
            c = p.client()
            for dev in ("100", "200", "201", "0300"):
                c.monitor(dev)
            c.error("MonitorStart", "<monitorObject><deviceObject>202</deviceObject>"
                    "</monitorObject>", "operation", "invalidDeviceID")
            p.wait_log("< 0001 ")
            p.wait_log("> 0001 ")
            check("<MonitorStartResponse" in p.stderr(), "-v logs documents")
            # one line per document, whatever line breaks it has, and no password
            inv = c.send("StartApplicationSession",
                         "\n<applicationInfo>\r\n<applicationID>t</applicationID>\n"
                         "<applicationSpecificInfo><userName>cti</userName>\n"
                         "<password>s3cret\nmore</password><ns:passWord xmlns:ns=\"x\">"
                         "other</ns:passWord></applicationSpecificInfo></applicationInfo>\n")
            p.wait_log(f"< {inv} ")
            line = [x for x in p.stderr().splitlines() if x.startswith(f"< {inv} ")][0]
            check(line.endswith("</StartApplicationSession>"), f"one line: {line!r}")
            check("<password>***</password>" in line and
                  "<ns:passWord xmlns:ns=\"x\">***</ns:passWord>" in line,
                  f"passwords masked: {line!r}")
            check("s3cret" not in p.stderr() and "more" not in p.stderr() and
                  "other" not in p.stderr(), "no password in the log")
            check("<userName>cti</userName>" in line, "the rest is logged")
            c.close()
        # SIGINT stops cleanly too; so does quit
        p = Pbxsim()
        p.proc.send_signal(signal.SIGINT)
        check(p.proc.wait(timeout=10) == 0, "SIGINT exit 0")
        p.reader.join(timeout=5)
        check_sanitizers(p.stderr(), "pbxsim")
        p = Pbxsim()
        check(p.ctl("quit") == "ok", "quit")
        check(p.proc.wait(timeout=10) == 0, "quit exit 0")
        p.reader.join(timeout=5)
        check_sanitizers(p.stderr(), "pbxsim")
        p._ctl.close()
    finally:
        os.unlink(path)
        os.rmdir(d)


# ---- hunt groups, withheld callers, pickup and deflect at the phone -------------------

_CALL = {t: (path.split("/")[0] + "/callID") for t, path in _SUBJECT.items()
         if path.endswith("/deviceID")}
_CALL["CallClearedEvent"] = "clearedCall/callID"


def detail(c, settle=0.5):
    """Like sequence(), with each event's cause: 'Type(subject)@monitor:lci/cause';
    and the set of callIDs the events named."""
    c.pump(settle)
    out, calls = [], set()
    for e in c.events:
        t = local(e.tag)
        out.append(f"{t}({get(e, _SUBJECT.get(t, '-')) or ''})@{get(e, 'monitorCrossRefID')}:"
                   f"{get(e, 'localConnectionInfo') or ''}/{get(e, 'cause') or ''}")
        if t in _CALL:
            calls.add(get(e, _CALL[t]))
    c.events.clear()
    return out, calls


def check_detail(c, want, what, callid, settle=0.5):
    got, calls = detail(c, settle)
    check(got == want, f"{what}:\n got  {got}\n want {want}")
    check(calls == {callid}, f"{what}: one callID throughout ({callid}), saw {calls}")


def case_hunt_parallel():
    with Pbxsim("--hunt-group", "200=parallel:101,102,103", extensions="100-109") as p:
        c = p.client()
        m = {x: c.monitor(str(x)) for x in (101, 102, 103)}
        callid = p.ok("call +4989123456 200")
        check_detail(c, [
            f"DeliveredEvent(101)@{m[101]}:alerting/distributed",
            f"DeliveredEvent(102)@{m[101]}:alerting/distributed",
            f"DeliveredEvent(102)@{m[102]}:alerting/distributed",
            f"DeliveredEvent(103)@{m[101]}:alerting/distributed",
            f"DeliveredEvent(103)@{m[102]}:alerting/distributed",
            f"DeliveredEvent(103)@{m[103]}:alerting/distributed"], "all members ring", callid)
        # 102 answers: the others stop ringing, in member order
        p.ok("answer 102")
        check_detail(c, [
            f"EstablishedEvent(102)@{m[101]}:alerting/newCall",
            f"EstablishedEvent(102)@{m[102]}:connected/newCall",
            f"EstablishedEvent(102)@{m[103]}:alerting/newCall",
            f"ConnectionClearedEvent(101)@{m[101]}:null/normalClearing",
            f"ConnectionClearedEvent(101)@{m[102]}:connected/normalClearing",
            f"ConnectionClearedEvent(101)@{m[103]}:alerting/normalClearing",
            f"ConnectionClearedEvent(103)@{m[102]}:connected/normalClearing",
            f"ConnectionClearedEvent(103)@{m[103]}:null/normalClearing"], "102 answered", callid)
        check(p.ok("state 101").endswith("calls=") and p.ok("state 103").endswith("calls=") and
              p.ok("state 102").endswith(f"calls={callid}:connected"), "only 102 has it")
        # a busy member is skipped: the next call rings 101 and 103 only, and
        # names the pilot as the called device
        c2 = p.ok("call +4930111 200")
        d = c.event("DeliveredEvent", monitorCrossRefID=m[101], connection__deviceID="103")
        check(get(d, "calledDevice/deviceIdentifier") == "200" and
              get(d, "callingDevice/deviceIdentifier") == "+4930111" and
              get(d, "alertingDevice/deviceIdentifier") == "103" and
              get(d, "lastRedirectionDevice") == "", f"pilot and caller: {ET.tostring(d)}")
        got, calls = detail(c)
        check(got == [f"DeliveredEvent(101)@{m[101]}:alerting/distributed",
                      f"DeliveredEvent(103)@{m[103]}:alerting/distributed"] and calls == {c2},
              f"102 is busy: {got}")
        # the caller gives up while they ring: everything ends
        p.ok("hangup +4930111")
        check_detail(c, [
            f"ConnectionClearedEvent(+4930111)@{m[101]}:alerting/normalClearing",
            f"ConnectionClearedEvent(+4930111)@{m[103]}:alerting/normalClearing",
            f"ConnectionClearedEvent(101)@{m[101]}:null/normalClearing",
            f"ConnectionClearedEvent(101)@{m[103]}:alerting/normalClearing",
            f"ConnectionClearedEvent(103)@{m[101]}:null/normalClearing",
            f"ConnectionClearedEvent(103)@{m[103]}:null/normalClearing",
            f"CallClearedEvent({c2})@{m[101]}:/normalClearing",
            f"CallClearedEvent({c2})@{m[103]}:/normalClearing"], "the caller gave up", c2)
        # a member that is ringing is busy for another call too
        c3 = p.ok("call +4930222 200")
        drain(c)
        c4 = p.ok("call +4930333 200")
        c.no_event()  # 101 and 103 ring for c3; nobody for c4 (it failed)
        check(p.ok("state 101").endswith(f"calls={c3}:alerting"), f"{c4}: 101 rings once")
        p.ok("hangup +4930222")
        p.ok("hangup 102")
        drain(c)
        # do-not-disturb members are skipped; nobody left: busy
        p.ok("dnd 101 on")
        p.ok("dnd 103 on")
        drain(c)
        cid = p.ok("call +4989123456 200")
        check_detail(c, [f"DeliveredEvent(102)@{m[102]}:alerting/distributed"],
                     "only 102 available", cid)
        p.ok("dnd 102 on")
        drain(c)
        m100 = c.monitor("100")
        cid = p.ok("call 100 200")
        got, calls = detail(c)
        check(got[-1] == f"FailedEvent(100)@{m100}:fail/busy" and calls == {cid},
              f"nobody to ring: {got}")
        c.close()


def case_hunt_sequential():
    with Pbxsim("--hunt-group", "200=sequential:101,102,103:1", extensions="100-109") as p:
        c = p.client()
        m = {x: c.monitor(str(x)) for x in (101, 102, 103)}
        t0 = time.time()
        callid = p.ok("call +4989123456 200")
        # collect the whole hunt: 101 rings 1 s, 102 rings 1 s, 103 rings on
        deadline = time.time() + 3.5
        while time.time() < deadline:
            c.pump(0.1)
        got, calls = detail(c, 0.2)
        want = [f"DeliveredEvent(101)@{m[101]}:alerting/distributed",
                f"DivertedEvent(101)@{m[101]}:null/distributed",
                f"DeliveredEvent(102)@{m[102]}:alerting/distributed",
                f"DivertedEvent(102)@{m[102]}:null/distributed",
                f"DeliveredEvent(103)@{m[103]}:alerting/distributed"]
        check(got == want, f"one member after the other:\n got  {got}\n want {want}")
        check(calls == {callid}, f"one callID: {calls}")
        check(time.time() - t0 >= 2, "RING_S each")
        check(p.ok("state 103").endswith(f"calls={callid}:alerting") and
              p.ok("state 101").endswith("calls="), "the last member rings on")
        p.ok("answer 103")
        check_detail(c, [f"EstablishedEvent(103)@{m[103]}:connected/newCall"], "103", callid)
        p.ok("hangup 103")
        drain(c)
        # the Diverted and Delivered name the members and the pilot
        p.ok("dnd 101 on")
        drain(c)
        callid = p.ok("call +4930111 200")
        d = c.event("DeliveredEvent", monitorCrossRefID=m[102])
        check(get(d, "calledDevice/deviceIdentifier") == "200", "called the pilot")
        v = c.event("DivertedEvent", timeout=3, monitorCrossRefID=m[102])
        check(get(v, "divertingDevice/deviceIdentifier") == "102" and
              get(v, "newDestination/deviceIdentifier") == "103", "102 -> 103")
        d = c.event("DeliveredEvent", monitorCrossRefID=m[103])
        check(get(d, "lastRedirectionDevice/deviceIdentifier") == "102" and
              get(d, "callingDevice/deviceIdentifier") == "+4930111", "from 102")
        # answered in time: no more diversion
        p.ok("answer 103")
        c.pump(1.5)
        check(not any(local(e.tag) == "DivertedEvent" for e in c.events), "answered: stays")
        c.close()


def case_hunt_cyclic():
    with Pbxsim("--hunt-group", "300=cyclic:104,105:1", extensions="100-109") as p:
        c = p.client()
        m = {x: c.monitor(str(x)) for x in (104, 105)}
        firsts = []
        for caller in ("+4930111", "+4930222", "+4930333"):
            cid = p.ok(f"call {caller} 300")
            d = c.event("DeliveredEvent", connection__callID=cid)
            firsts.append(get(d, "alertingDevice/deviceIdentifier"))
            p.ok(f"hangup {caller}")
            drain(c)
        check(firsts == ["104", "105", "104"], f"each call starts at the next member: {firsts}")
        # and wraps around: 105 first, then 104
        p.ok("call +4930111 300")  # starts at 105 (the 4th call)
        got, _ = detail(c, 1.6)
        check(got == [f"DeliveredEvent(105)@{m[105]}:alerting/distributed",
                      f"DivertedEvent(105)@{m[105]}:null/distributed",
                      f"DeliveredEvent(104)@{m[104]}:alerting/distributed"], f"wrap: {got}")
        c.close()


def case_hunt_command_line():
    for bad, why in (("200", "expected"), ("200=random:101", "mode"),
                     ("101=parallel:102", "no extension"), ("200=parallel:150", "member"),
                     ("200=parallel:101,101", "twice"), ("200=sequential:101:0", "RING_S"),
                     ("200=parallel:", "no members")):
        r = subprocess.run([PBXSIM, "--port", "0", "--extensions", "100-109", "--hunt-group", bad],
                           capture_output=True, text=True, timeout=10)
        check(r.returncode == 2 and "--hunt-group" in r.stderr and why in r.stderr,
              f"{bad!r} refused: {r.returncode} {r.stderr!r}")
    r = subprocess.run([PBXSIM, "--port", "0", "--extensions", "100-109", "--hunt-group",
                        "200=parallel:101", "--hunt-group", "200=cyclic:102"],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode == 2 and "another hunt group" in r.stderr, f"same pilot: {r.stderr!r}")
    # an extension cannot dial... a pilot is dialled like any number; an outside
    # party can call it (like an extension)
    with Pbxsim("--hunt-group", "200=parallel:101", extensions="100-109") as p:
        check(p.ctl("call +4930 201").startswith("error invalid destination"), "not a pilot")
        check(p.ok("call +4930 200").isdigit(), "the pilot")
        check(re.search(r"calls=\d+:alerting$", p.ok("state 101")), "101 rings")


def case_anonymous():
    d = tempfile.mkdtemp(prefix="pbxsim-test-")
    path = os.path.join(d, "s.json")
    with open(path, "w") as f:
        json.dump({"steps": [{"at_ms": 0, "do": "call anonymous 102"}]}, f)
    try:
        with Pbxsim("--scenario", path, "-v", extensions="100-109") as p:
            c = p.client()
            m102 = c.monitor("102")  # the scenario starts with the first monitor
            m101 = c.monitor("101")
            # the scenario's withheld caller
            e = c.event("DeliveredEvent", monitorCrossRefID=m102)
            calling = child(e, "callingDevice")
            check(calling is not None and [local(x.tag) for x in calling] == ["restricted"],
                  f"callingDevice restricted: {ET.tostring(e).decode()}")
            p.ok("hangup 102")
            drain(c)
            # from the control port; the caller is "anonymous" there
            callid = p.ok("call anonymous 101")
            e = c.event("DeliveredEvent", monitorCrossRefID=m101)
            check([local(x.tag) for x in child(e, "callingDevice")] == ["restricted"],
                  "restricted again")
            check(p.ok("state 101").endswith(f"calls={callid}:alerting"), "101 rings")
            p.ok("answer 101")
            e = c.event("EstablishedEvent", monitorCrossRefID=m101)
            check([local(x.tag) for x in child(e, "callingDevice")] == ["restricted"],
                  "Established: restricted")
            p.ok("hangup anonymous")
            # (its connection has a device id of its own, as a dynamic one would)
            check_detail(c, [f"ConnectionClearedEvent(anonymous)@{m101}:connected/normalClearing",
                             f"ConnectionClearedEvent(101)@{m101}:null/normalClearing",
                             f"CallClearedEvent({callid})@{m101}:/normalClearing"],
                         "the caller hangs up", callid)
            # no event names it as a device: every device field says restricted
            sent = [x for x in p.stderr().splitlines() if x.startswith("> ") and "Event" in x]
            check(len(sent) >= 6 and not any(
                "<deviceIdentifier>anonymous</deviceIdentifier>" in x for x in sent) and
                sum("<releasingDevice><restricted/></releasingDevice>" in x for x in sent) >= 1,
                f"no device identifier 'anonymous' in {len(sent)} events")
            # an anonymous caller reaches extensions and pilots only
            check(p.ctl("call anonymous 0891234").startswith("error invalid destination"),
                  "not outside")
            c.close()
    finally:
        os.unlink(path)
        os.rmdir(d)


def case_pickup_control():
    with Pbxsim("--pickup-group", "100-104", extensions="100-109") as p:
        c = p.client()
        m100, m103 = c.monitor("100"), c.monitor("103")
        callid = p.ok("call +4989123456 100")
        drain(c)
        check(p.ok("pickup 103 100") == callid, "picks 100's call")
        check_detail(c, [f"DivertedEvent(100)@{m100}:null/callPickup",
                         f"EstablishedEvent(103)@{m103}:connected/callPickup"],
                     "pickup at the phone", callid)
        check(p.ok("state 103").endswith(f"calls={callid}:connected"), "103 talks")
        # the group's longest ringing call, without a target
        c2 = p.ok("call +4930111 101")
        p.ok("call +4930222 102")
        drain(c)
        check(p.ok("pickup 104") == c2, "group pickup: the oldest")
        check(p.ok("state 101").endswith("calls="), "gone from 101")
        for bad, want in (("pickup 105", "error no call"), ("pickup 999 102", "error unknown"),
                          ("pickup 104 999", "error unknown"),
                          ("pickup 104 101", "error no ringing call"),
                          ("pickup", "error unknown command")):
            check(p.ctl(bad).startswith(want), f"{bad}: {p.ctl(bad)}")
        c.close()


def case_deflect_control():
    with Pbxsim(extensions="100-109") as p:
        c = p.client()
        m100, m102 = c.monitor("100"), c.monitor("102")
        callid = p.ok("call +4989123456 100")
        drain(c)
        p.ok("deflect 100 102")
        got, calls = detail(c)
        check(got == [f"DivertedEvent(100)@{m100}:null/redirected",
                      f"DeliveredEvent(102)@{m102}:alerting/redirected"] and calls == {callid},
              f"deflected at the phone: {got}")
        c2 = p.ok("call +4930111 100")
        drain(c)
        p.ok("deflect 100 0891234567")
        e = c.event("DivertedEvent", monitorCrossRefID=m100, connection__callID=c2)
        check(get(e, "newDestination/deviceIdentifier") == "0891234567", "to outside")
        for bad, want in (("deflect 100 102", "error no ringing call"),
                          ("deflect 999 102", "error unknown extension"),
                          ("deflect 102 102", "error invalid destination"),
                          ("deflect 102", "error unknown command")):
            check(p.ctl(bad).startswith(want), f"{bad}: {p.ctl(bad)}")
        c.close()


def case_deflect_member():
    """A deflection to a phone already in the call (a hunt member ringing in
    parallel, the caller) or to a pilot whose members all ring is refused
    before anything moves; a deflection to a pilot rings its member with the
    cause it came with; nobody calls or deflects to 'anonymous'."""
    with Pbxsim("--hunt-group", "200=parallel:101,102,103",
                "--hunt-group", "300=sequential:104,105", extensions="100-109") as p:
        c = p.client()
        m = {x: c.monitor(str(x)) for x in (100, 101, 102, 103, 104)}
        cid = p.ok("call +4989123456 200")
        drain(c)
        for to in ("102", "+4989123456", "200", "anonymous"):
            check(p.ctl(f"deflect 101 {to}").startswith("error invalid destination"),
                  f"deflect 101 {to}: {p.ctl(f'deflect 101 {to}')}")
        c.error("DeflectCall", conn_xml("callToBeDiverted", cid, "101") +
                "<newDestination>103</newDestination>", "operation", "invalidDestination")
        c.no_event()
        for x in (101, 102, 103):
            check(p.ok(f"state {x}").endswith(f"calls={cid}:alerting"), f"{x} still rings")
        p.ok("hangup +4989123456")
        drain(c)
        # to a pilot: its first member rings with the deflection's cause
        c2 = p.ok("call +4930111 100")
        drain(c)
        p.ok("deflect 100 300")
        check_detail(c, [f"DivertedEvent(100)@{m[100]}:null/redirected",
                         f"DeliveredEvent(104)@{m[104]}:alerting/redirected"],
                     "deflected to a pilot", c2)
        check(p.ctl("call 100 anonymous").startswith("error invalid destination"),
              "a call to anonymous")
        c.close()


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    main(CASES)
