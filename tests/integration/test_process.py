"""tests/integration/test_process.py - the ucsd process: start and stop,
--check-config, --version, SIGHUP accepted and refused, systemd readiness
notifications, the log directory, and configuration errors with positions.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time

from harness import UCSD, Ucsd, check, main


def start_stop():
    u = Ucsd(plugins=["alpha", "zeta", "consumer"])
    try:
        u.start()
        check(os.path.isdir(u.state), "state directory created")
        rc, secs = u.stop()
        check(rc == 0, f"exit status {rc}")
        check(secs < 2.0, f"SIGTERM shutdown took {secs:.2f}s")
        u.index(r"info \[core\] SIGTERM: stopping$")
        u.index(r"info \[core\] stopped \(")
    finally:
        u.close()


def sigint_stops():
    u = Ucsd(plugins=["alpha"])
    try:
        u.start()
        u.signal(signal.SIGINT)
        check(u.wait_exit() == 0, "exit 0 on SIGINT")
        u.index(r"SIGINT: stopping$")
    finally:
        u.close()


def version_and_help():
    r = subprocess.run([UCSD, "--version"], capture_output=True, text=True)
    check(r.returncode == 0 and re.fullmatch(r"ucsd \S+ \(plugin ABI 1\.2\)\n", r.stdout),
          r.stdout)
    r = subprocess.run([UCSD, "--help"], capture_output=True, text=True)
    check(r.returncode == 0 and "--check-config" in r.stdout, r.stdout)
    r = subprocess.run([UCSD, "--no-such-option"], capture_output=True, text=True)
    check(r.returncode == 2 and "usage: ucsd" in r.stderr, r.stderr)


def check_config_valid():
    u = Ucsd(plugins=["alpha"], config={"alpha": {"greeting": "hi"}})
    try:
        rc, out, err = u.run("--check-config")
        check(rc == 0, f"exit {rc}: {err}")
        check(out.strip() == "configuration valid", out)
        check(not os.path.exists(u.state), "--check-config creates no state")
    finally:
        u.close()


def check_config_invalid():
    text = ('{\n  "alpha": {\n    "greeting": 5,\n    "count": 11,\n    "nmae": "x"\n  },\n'
            '  "log": { "level": "verbose" }\n}\n')
    u = Ucsd(plugins=["alpha"], config=text)
    try:
        rc, out, err = u.run("--check-config")
        check(rc == 1, f"exit {rc}")
        check("configuration invalid" in out, out)
        f = u.config
        for rx in (rf"{re.escape(f)}:7:21: log\.level: .*verbose",
                   rf"{re.escape(f)}:3:17: alpha\.greeting: ",
                   rf"{re.escape(f)}:4:14: alpha\.count: ",
                   rf"{re.escape(f)}:5:\d+: alpha: unknown key \"nmae\""):
            check(re.search(rx, err), f"/{rx}/ in:\n{err}")
    finally:
        u.close()


def invalid_json_position():
    u = Ucsd(plugins=[], config='{\n  "server": {\n    "name": "x",,\n  }\n}\n')
    try:
        rc, out, err = u.run("--check-config")
        check(rc == 1, f"exit {rc}")
        check(re.search(rf"{re.escape(u.config)}:3:\d+: invalid JSON", err), err)
        rc, out, err = u.run()
        check(rc == 1, "ucsd refuses to start on invalid JSON")
    finally:
        u.close()


def unknown_section_warns():
    u = Ucsd(plugins=["alpha"], config={"notloaded": {"x": 1}})
    try:
        u.start()
        u.index(r"warning \[config\] .*ucsd\.json:\d+:\d+: section \"notloaded\" belongs to no "
                r"loaded plugin")
        u.stop()
    finally:
        u.close()


def conf_d_order():
    u = Ucsd(plugins=["alpha"], config={"alpha": {"greeting": "file"}},
             conf_d={"10-a.json": {"alpha": {"greeting": "ten"}},
                     "20-b.json": {"alpha": {"count": 3}},
                     "ignored.txt": {"alpha": {"greeting": "txt"}}})
    try:
        u.start()
        u.index(r"\[alpha\] greeting=ten count=3$")
        u.stop()
    finally:
        u.close()


def sighup_accepted():
    u = Ucsd(plugins=["alpha"], config={"alpha": {"greeting": "before"}})
    try:
        u.start()
        u.index(r"\[alpha\] greeting=before")
        u.write_config({"alpha": {"greeting": "after", "count": 2}})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"\[alpha\] greeting=after count=2$", after=n)
        u.wait_for(r"info \[core\] configuration reloaded$", after=n)
        check(u.alive(), "still running")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def sighup_refused():
    u = Ucsd(plugins=["alpha"], config={"alpha": {"greeting": "before"}})
    try:
        u.start()
        u.write_config('{ "alpha": { "greeting": "broken" ')
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"invalid JSON", after=n)
        u.wait_for(r"error \[core\] configuration reload refused; the running configuration "
                   r"stays$", after=n)
        check(not u.has(r"greeting=broken"), "broken config not applied")
        # a wrong type is refused the same way
        u.write_config({"alpha": {"count": "many"}})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"reload refused", after=n)
        # a plugin may refuse its new section; the server goes on
        u.write_config({"alpha": {"greeting": "refuse"}})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"warning \[core\] plugin 'alpha' kept its previous settings: Invalid "
                   r"argument$", after=n)
        # and a good one is still accepted afterwards
        u.write_config({"alpha": {"greeting": "fixed"}})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"\[alpha\] greeting=fixed", after=n)
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def systemd_notify():
    u = Ucsd(plugins=["alpha"])
    path = os.path.join(u.dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    try:
        env = os.environ.copy()
        env["NOTIFY_SOCKET"] = path
        u.start(env=env)
        check(sock.recv(256) == b"READY=1", "READY=1 after start")
        u.signal(signal.SIGHUP)
        check(sock.recv(256) == b"RELOADING=1", "RELOADING=1 on SIGHUP")
        check(sock.recv(256) == b"READY=1", "READY=1 after reload")
        u.stop()
        check(sock.recv(256) == b"STOPPING=1", "STOPPING=1 on SIGTERM")
    finally:
        sock.close()
        u.close()


def log_directory():
    u = Ucsd(plugins=["alpha"], config={"log": {"dir": "logs", "stderr": True}})
    try:
        u.start()
        u.stop()
        logdir = os.path.join(u.etc, "logs")  # relative to the config file
        files = os.listdir(logdir)
        check(len(files) == 1 and re.fullmatch(r"ucsd-\d{8}\.log", files[0]), str(files))
        with open(os.path.join(logdir, files[0])) as f:
            text = f.read()
        check(re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} info \[alpha\] start$", text,
                        re.M), text)
    finally:
        u.close()


def plugin_config_error_stops_startup():
    u = Ucsd(plugins=["alpha"], config='{\n  "alpha": { "colour": "red" }\n}\n')
    try:
        u.start(wait=False)
        check(u.wait_exit() == 1, "exit 1")
        u.index(rf"{re.escape(u.config)}:2:\d+: alpha: unknown key \"colour\"")
    finally:
        u.close()


def bare_core_runs():
    """The shipped defaults with an empty plugin directory: a server that
    starts, reports 0 plugins and stops cleanly (what `make run` shows before
    any plugin is installed)."""
    u = Ucsd(plugins=[])
    try:
        u.start()
        u.index(r"started: 0 plugins running")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def reload_without_reload_slot():
    """A plugin without reload() keeps reading the section it got at init:
    that configuration must outlive the SIGHUP that replaced it (under ASan
    a use-after-free here fails the test through the sanitizer check)."""
    u = Ucsd(plugins=["keeper", "alpha"], config={"keeper": {"greeting": "old"}})
    try:
        u.start()
        u.write_config({"keeper": {"greeting": "new"}, "alpha": {"greeting": "fresh"}})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"info \[core\] plugin 'keeper' has no reload: its new settings apply at "
                   r"restart$", after=n)
        u.wait_for(r"\[alpha\] greeting=fresh", after=n)
        u.wait_for(r"configuration reloaded$", after=n)
        # a second reload retires the first replacement, not keeper's original
        u.write_config({"keeper": {"greeting": "newer"}})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"configuration reloaded$", after=n)
        check(u.stop()[0] == 0, "clean exit")
        u.index(r"\[keeper\] stop kept=old$")
        u.index(r"\[alpha\] stop kept=hello$")  # alpha accepted, then lost its section again
    finally:
        u.close()


def sigterm_during_startup():
    """SIGTERM while plugins are still initialising is not forgotten."""
    u = Ucsd(plugins=["sleepy", "alpha"])
    try:
        u.start(wait=False)
        time.sleep(0.25)  # inside sleepy's 600 ms init
        u.signal(signal.SIGTERM)
        rc = u.wait_exit(timeout=10)
        check(rc == 0, f"exit status {rc}")
        u.index(r"SIGTERM: stopping$")
        u.index(r"\[alpha\] stop kept=hello$")
    finally:
        u.close()


def sighup_during_shutdown():
    """A SIGHUP while plugins stop (logrotate racing a stop) must not kill
    ucsd before they are stopped and finalised."""
    u = Ucsd(plugins=["slowstop", "alpha"])
    try:
        u.start()
        u.signal(signal.SIGTERM)
        u.wait_for(r"\[slowstop\] stop begins$")
        u.signal(signal.SIGHUP)
        rc = u.wait_exit(timeout=15)
        check(rc == 0, f"exit status {rc}")
        u.index(r"testplug slowstop: fini$")
        u.index(r"testplug alpha: fini$")
    finally:
        u.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (
        start_stop, sigint_stops, version_and_help, check_config_valid, check_config_invalid,
        invalid_json_position, unknown_section_warns, conf_d_order, sighup_accepted,
        sighup_refused, systemd_notify, log_directory, plugin_config_error_stops_startup,
        bare_core_runs, reload_without_reload_slot, sigterm_during_startup,
        sighup_during_shutdown)})
