#!/usr/bin/env python3
"""tests/integration/test_server.py - host->server (abi/ucs/server.h) and
the host's listener errors, driven through svcprobe: server events kept and
published on the bus, the plugin list with each plugin's counters, the
configuration shown without secrets, checked and applied, restart by exec,
and a port conflict that names who holds the port."""
import json
import os
import signal
import re
import socket
import time

from harness import Failure, Probe, Ucsd, check, main


def server(extra_config=None, plugins=("svcprobe",)):
    cfg = {"svcprobe": {"port": 0}}
    cfg.update(extra_config or {})
    u = Ucsd(plugins=list(plugins), config=cfg)
    u.start()
    return u, Probe(u)


def events_replay_and_publish():
    u, p = server()
    try:
        first = p.ok("srv.events 0")
        m = re.match(r"n=(\d+) first=(\d+) last=(\d+)", first)
        check(m and int(m.group(1)) > 0 and int(m.group(2)) >= 1, first)
        last = int(m.group(3))
        p.ok("sub server.event")
        # a line logged now (an error: a port that is taken) arrives on the bus...
        held = p.ok("srv.listen 0")
        port = int(held.split("=")[1])
        got = p.cmd(f"srv.listen {port}")
        check(got.startswith("err EADDRINUSE"), got)
        ev = p.wait_event(r"event server\.event .*in use by")
        body = json.loads(ev.split(" ", 3)[3])
        check(body["level"] == "error" and body["tag"] == "svcprobe" and body["seq"] > last,
              ev)
        # ... and is kept, after the old ones, with the same sequence number
        found = p.ok(f"srv.find {last} in use by")
        check(f"seq={body['seq']} level=0 tag=svcprobe" in found, found)
        newer = p.ok(f"srv.events {body['seq']}")
        check(re.match(r"n=\d+", newer) and f"first={body['seq']}" not in newer, newer)
        started = int(p.ok("srv.started").split("=")[1])
        check(abs(started / 1000 - time.time()) < 60, f"started {started}")
        u.stop()
    finally:
        u.close()


def port_conflict_names_owner():
    u, p = server()
    outside = socket.socket()
    try:
        port = int(p.ok("srv.listen 0").split("=")[1])
        got = p.cmd(f"srv.listen {port}")
        check(got.startswith("err EADDRINUSE"), got)
        u.wait_for(rf"\[svcprobe\] probe-listener: cannot listen on 127\.0\.0\.1 port {port}: "
                   r"the port is in use by probe-listener of plugin 'svcprobe'$")
        # a port another process holds names that process
        outside.bind(("127.0.0.1", 0))
        outside.listen(1)
        oport = outside.getsockname()[1]
        got = p.cmd(f"srv.listen {oport}")
        check(got.startswith("err EADDRINUSE"), got)
        u.wait_for(rf"port {oport}: the port is in use by another process$")
        # found on the thread pool, then logged
        u.wait_for(rf"probe-listener: port {oport} is held by process {os.getpid()} "
                   r"\(python3[^)]*\)$")
        check(u.alive(), "ucsd keeps running")
        u.stop()
    finally:
        outside.close()
        u.close()


def plugins_with_counters():
    u, p = server(plugins=("svcprobe", "olderminor"))
    try:
        plugins = json.loads(p.ok("srv.plugins"))
        by_name = {x.get("name"): x for x in plugins}
        sp = by_name["svcprobe"]
        check(sp["state"] == "running" and sp["status"] == {"clients": 1}, sp)
        check(sp["file"].endswith("/svcprobe.so") and sp["license"] == "test", sp)
        old = by_name["olderminor"]
        check(old["state"] == "running" and "status" not in old, old)
        u.stop()
    finally:
        u.close()


def config_without_secrets():
    u, p = server({"zz-secrets": {"password": "hunter2", "nested": [{"bind_password": "s3"}],
                                  "token": "t0k", "password_hint": "kept"}})
    try:
        cfg = json.loads(p.ok("srv.config"))
        sec = cfg["zz-secrets"]
        check(sec["password"] == "********" and sec["token"] == "********" and
              sec["nested"][0]["bind_password"] == "********" and
              sec["password_hint"] == "kept", sec)
        check(cfg["svcprobe"]["port"] == 0 and "log" in cfg, "effective configuration")
        check("hunter2" not in p.ok("srv.config"), "no secret anywhere")
        u.stop()
    finally:
        u.close()


def check_and_apply():
    u, p = server()
    try:
        path = p.ok("srv.file")
        check(path == u.config, path)
        before = open(u.config).read()
        bad = '{"svcprobe": {"port": "x"}, "log": {"level": "loud"}}'
        got = p.cmd("srv.check " + bad)
        check(got.startswith("err EINVAL ") and f"{u.config}:1:" in got and "loud" in got, got)
        check(open(u.config).read() == before, "check writes nothing")
        got = p.cmd("srv.apply " + bad)
        check(got.startswith("err EINVAL"), got)
        check(open(u.config).read() == before and not os.path.exists(u.config + ".bak"),
              "a refused apply writes nothing")
        check(p.ok('srv.check {"svcprobe": {"port": 0}}') == "", "valid candidate")
        good = '{"svcprobe": {"port": 0}, "log": {"level": "debug"}}'
        n = len(u.lines)
        p.ok("srv.apply " + good)
        u.wait_for(r"\[core\] configuration reloaded$", after=n)
        check(open(u.config).read() == good, "the operator file was written")
        check(open(u.config + ".bak").read() == before, "the previous file is kept")
        check(json.loads(p.ok("srv.config"))["log"]["level"] == "debug", "in effect")
        u.stop()
    finally:
        u.close()


def restart_execs_again():
    """The same pid runs again; to systemd the restart is a reload
    (RELOADING=1, READY=1), never STOPPING=1, after which systemd would wait
    for the process to end and kill the new one."""
    u = Ucsd(plugins=["svcprobe"], config={"svcprobe": {"port": 0}})
    path = os.path.join(u.dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    env = os.environ.copy()
    env["NOTIFY_SOCKET"] = path
    u.start(env=env)
    p = Probe(u)
    try:
        check(sock.recv(256) == b"READY=1", "READY=1 after start")
        pid = u.proc.pid
        n = len(u.lines)
        p.ok("srv.restart")
        r = u.wait_for(r"\[core\] restarting$", after=n)
        u.wait_for(r"\[core\] ucsd \S+ started: \d+ plugins running", after=r)
        check(u.proc.pid == pid and u.alive(), "the same process runs again")
        p2 = Probe(u, after=r)
        check(p2.ok("srv.file") == u.config, "the new process answers")
        got = [sock.recv(256), sock.recv(256)]
        check(got == [b"RELOADING=1", b"READY=1"], f"notifications {got}")
        u.stop()
        check(sock.recv(256) == b"STOPPING=1", "a real stop is a stop")
    finally:
        sock.close()
        u.close()


def restart_cancelled_by_sigterm():
    """An operator's stop wins over the administration's restart."""
    u, p = server()
    try:
        n = len(u.lines)
        p.ok("srv.restart")
        got = p.cmd("srv.restart")
        check(got.startswith("err EBUSY"), f"one restart at a time: {got}")
        u.signal(signal.SIGTERM)
        check(u.wait_exit() == 0, "exits")
        u.wait_for(r"SIGTERM: the restart is cancelled$", after=n)
        check(not u.has(r"\[core\] restarting$"), "no exec")
    finally:
        u.close()


def apply_keeps_mode_and_link():
    """The operator file may hold password hashes: a 0600 file stays 0600,
    and a symbolic link stays a link to the file that is replaced."""
    u = Ucsd(plugins=["svcprobe"], config={"svcprobe": {"port": 0}})
    real = os.path.join(u.dir, "real.json")
    os.rename(u.config, real)
    os.symlink(real, u.config)
    os.chmod(real, 0o600)
    u.start()
    p = Probe(u)
    try:
        n = len(u.lines)
        p.ok('srv.apply {"svcprobe": {"port": 0}, "log": {"level": "debug"}}')
        u.wait_for(r"\[core\] configuration reloaded$", after=n)
        check(os.path.islink(u.config) and os.readlink(u.config) == real, "still a link")
        check(os.stat(real).st_mode & 0o777 == 0o600, oct(os.stat(real).st_mode))
        check("debug" in open(real).read(), "the target was written")
        check(os.path.exists(real + ".bak"), "the backup is next to the target")
        u.stop()
    finally:
        u.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (
        events_replay_and_publish, port_conflict_names_owner, plugins_with_counters,
        config_without_secrets, check_and_apply, restart_execs_again,
        restart_cancelled_by_sigterm, apply_keeps_mode_and_link)})
