"""tests/integration/test_csta_faults.py - PBX-side situations, as a vendor tests them.

tools/pbxsim plays the PBX and sets off what a real PBX does when things go
wrong (its control port's "fault outofservice|systemstatus|monitor-ended|
error|lose"); ucsd runs the real line manager (lines), the CSTA driver
(line-csta) and the dialplan, and svcprobe shows what consumers see
("line.status", "call.state", the ucs.lines service). Each case starts its
own pbxsim and ucsd and stops both, also when it fails.

    python3 tests/integration/test_csta_faults.py BUILD_ROOT CASE

The PBX, ucsd start-up and event helpers are test_line_csta.py's.
"""
import json
import time

from harness import check, main
from test_line_csta import all_open, event
from test_line_csta import run as run_line_csta

LINES = range(100, 106)


def run(body):
    """A case with every line of pbx1 open first."""
    def opened(pbx, u, p):
        all_open(u)
        body(pbx, u, p)
    run_line_csta(opened)


def status(p, line):
    return json.loads(p.ok(f"ln.line {line}"))["status_name"]


def calls(p, line):
    return [c["call"] for c in json.loads(p.ok(f"ln.calls {line}"))]


def established(pbx, p, frm, to):
    """A call FROM -> TO answered; its call id on TO's line."""
    pbx.cmd(f"call {frm} {to}")
    ev = event(p, "call.state", f"pbx1/{to}", '"event_name":"delivered"')
    pbx.cmd(f"answer {to}")
    event(p, "call.state", f"pbx1/{to}", '"event_name":"established"')
    return ev["call"]


# ---- cases ----

def out_of_service():
    def body(pbx, u, p):
        p.events()  # the opens at start are not what this case waits for
        mark = len(u.lines)
        check(pbx.cmd("fault outofservice 101 on") == "1", "one monitor told")
        event(p, "line.status", "pbx1/101", '"status_name":"out_of_service"')
        u.wait_for(r"\[lines\] line pbx1/101 is out of service", after=mark)
        check(status(p, "pbx1/101") == "out_of_service", "ucs.lines shows it")
        check(status(p, "pbx1/100") == "open", "the other lines stay open")
        pbx.cmd("fault outofservice 101 off")
        event(p, "line.status", "pbx1/101", '"status_name":"open"')
        check(status(p, "pbx1/101") == "open", "open again")
        # and it works: a call reaches the line
        pbx.cmd("call +4930111 101")
        event(p, "call.state", "pbx1/101", '"event_name":"delivered"')
    run(body)


def systemstatus_initializing():
    def body(pbx, u, p):
        a = established(pbx, p, 100, 101)
        mark = len(u.lines)
        check(pbx.cmd("fault systemstatus initializing") == "1", "sent on the one link")
        u.wait_for(r"\[line-csta\] link pbx1: the PBX reports system status initializing$",
                   after=mark)
        u.wait_for(r"\[lines\] driver \S+ re-initialised \(.*\): reopening its lines$",
                   after=mark)
        u.wait_for(r"\[line-csta\] line pbx1/101: open again: restarting its monitor$",
                   after=mark)
        u.wait_for(r"\[lines\] \S+: \d+ lines synchronised: \d+ calls kept", after=mark)
        pbx.wait_monitors(6)
        for n in LINES:
            check(status(p, f"pbx1/{n}") == "open", f"pbx1/{n} open after the re-init")
        check(calls(p, "pbx1/101") == [a], "the call goes on with its id")
        pbx.cmd("hangup 100")
        e = event(p, "call.state", "pbx1/101", '"state_name":"null"')
        check(e["call"] == a, "the kept call ends normally")
    run(body)


def messages_lost():
    def body(pbx, u, p):
        a = established(pbx, p, 100, 101)
        b = established(pbx, p, 102, 103)
        # the PBX loses the events of B's end ...
        pbx.cmd("fault lose 60000")
        pbx.cmd("hangup 102")
        time.sleep(0.5)
        check(calls(p, "pbx1/103") == [b], "ucsd did not see B end (the events were lost)")
        pbx.cmd("fault lose 0")
        # ... and says so
        mark = len(u.lines)
        pbx.cmd("fault systemstatus messagesLost")
        u.wait_for(r"\[line-csta\] link pbx1: the PBX reports system status messagesLost$",
                   after=mark)
        eb = event(p, "call.state", "pbx1/103", '"state_name":"null"')
        check(eb["call"] == b, f"B ended by the resync: {eb}")
        u.wait_for(r"\[lines\] \S+: \d+ lines synchronised: \d+ calls kept, [1-9]\d* ended",
                   after=mark)
        check(calls(p, "pbx1/101") == [a], "A kept with its id")
        check(calls(p, "pbx1/102") == [], "B gone on the caller's line too")
        for n in LINES:
            check(status(p, f"pbx1/{n}") == "open", f"pbx1/{n} stays open")
    run(body)


def monitor_ended():
    def body(pbx, u, p):
        mark = len(u.lines)
        check(pbx.cmd("fault monitor-ended 102") == "1", "one monitor ended")
        u.wait_for(r"\[line-csta\] line pbx1/102: the PBX ended the monitor "
                   r"\(resourcesNotAvailable\)$", after=mark)
        pbx.wait_monitors(6)
        check(status(p, "pbx1/102") == "open", "open again")
        pbx.cmd("call +4930111 102")
        event(p, "call.state", "pbx1/102", '"event_name":"delivered"')
    run(body)


def snapshot_error():
    def body(pbx, u, p):
        a = established(pbx, p, 100, 101)
        pbx.cmd("fault error SnapshotDevice resourceBusy 2")
        mark = len(u.lines)
        pbx.cmd("fault systemstatus messagesLost")  # every open line is snapshot again
        u.wait_for(r"\[line-csta\] link pbx1: SnapshotDevice of \d+ failed \(resourceBusy\); "
                   r"retrying in \d+ ms$", after=mark)
        retry = u.wait_for(r"SnapshotDevice of \d+ failed \(resourceBusy\); retrying",
                           after=mark)
        retry = u.wait_for(r"SnapshotDevice of \d+ failed \(resourceBusy\); retrying",
                           after=retry + 1)
        # the retries (1 s later) succeed and the lines synchronise
        u.wait_for(r"\[lines\] \S+: \d+ lines synchronised: \d+ calls kept, 0 ended",
                   after=retry, timeout=15)
        check(not u.has(r"no snapshot after 4 attempts"), "no line gave up")
        check(calls(p, "pbx1/101") == [a] and calls(p, "pbx1/100") == [a],
              "the call is kept on both lines")
        pbx.cmd("hangup 101")
        e = event(p, "call.state", "pbx1/100", '"state_name":"null"')
        check(e["call"] == a, "and ends normally")
    run(body)


main({"out_of_service": out_of_service, "systemstatus_initializing": systemstatus_initializing,
      "messages_lost": messages_lost, "monitor_ended": monitor_ended,
      "snapshot_error": snapshot_error})
