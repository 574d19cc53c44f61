"""tests/integration/harness.py - runs the real ucsd binary for a test.

Each test gets a fresh directory with its own plugin directory (copied from
the test plugins the build made), operator config, conf.d and state
directory. ucsd's stderr is collected line by line so a test can wait for
and assert exact log lines. Only the standard library: any python3 runs it.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from wsclient import WsError

BUILD = os.environ.get("UCSD_BUILD_ROOT") or sys.argv[1]
UCSD = os.path.join(BUILD, "core", "ucsd")
TEST_PLUGINS = os.path.join(BUILD, "tests", "plugins")
TREE_PLUGINS = os.path.join(BUILD, "plugins")
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UCS_PASSWD = os.path.join(BUILD, "plugins", "auth", "ucs-passwd")


class Failure(Exception):
    pass


SANITIZER_REPORT = re.compile(r"(Address|Leak|Thread|UndefinedBehavior)Sanitizer|runtime error: ")


def check_sanitizers(text, what="ucsd"):
    """A sanitizer report anywhere in ucsd's output fails the test, whatever
    the test itself asserted (ucsd's exit status is not checked everywhere)."""
    m = SANITIZER_REPORT.search(text or "")
    if m:
        start = max(0, m.start() - 200)
        raise Failure(f"{what} reported a sanitizer error:\n{text[start:start + 3000]}")


def ucsd_env(env=None):
    """The environment ucsd runs in. Under ASan, LeakSanitizer's exit scan of
    ucsd skips thread-local storage (use_tls=0): with gcc 12 and Debian 12's
    glibc 2.36 its tracer dies (signal 11) reading a stale dynamic-TLS entry
    of a dlopen'ed plugin. That only removes roots, so it can add leak
    reports, never hide one; the C unit tests keep the full scan."""
    env = dict(env or os.environ)
    opts = env.get("LSAN_OPTIONS", "")
    if "use_tls" not in opts:
        # what glibc keeps only in TLS (dlerror's message) is suppressed by name
        supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan.supp")
        env["LSAN_OPTIONS"] = ":".join(filter(None, [opts, "use_tls=0",
                                                     "suppressions=" + supp]))
    return env


def check(cond, what):
    if not cond:
        raise Failure(what)


class Ucsd:
    def __init__(self, plugins=(), config=None, conf_d=None, files=None, tree_plugins=()):
        self.dir = tempfile.mkdtemp(prefix="ucsd-test-")
        self.plugin_dir = os.path.join(self.dir, "plugins")
        self.etc = os.path.join(self.dir, "etc")
        self.state = os.path.join(self.dir, "var")
        os.makedirs(self.plugin_dir)
        os.makedirs(self.etc)
        for p in plugins:
            shutil.copy(os.path.join(TEST_PLUGINS, p + ".so"), self.plugin_dir)
        for p in tree_plugins:  # plugins of the tree (builddir/plugins)
            shutil.copy(os.path.join(TREE_PLUGINS, p + ".so"), self.plugin_dir)
        for name, data in (files or {}).items():
            with open(os.path.join(self.plugin_dir, name), "wb") as f:
                f.write(data)
        self.config = os.path.join(self.etc, "ucsd.json")
        self.write_config(config if config is not None else {})
        for name, content in (conf_d or {}).items():
            os.makedirs(os.path.join(self.etc, "conf.d"), exist_ok=True)
            self.write(os.path.join("conf.d", name), content)
        self.proc = None
        self.lines = []
        self.out = ""
        self.cond = threading.Condition()

    def write(self, name, content):
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        with open(os.path.join(self.etc, name), "w") as f:
            f.write(text)

    def write_config(self, content):
        self.write("ucsd.json", content)

    def args(self, *extra):
        return [UCSD, "-c", self.config, "--plugin-dir", self.plugin_dir,
                "--state-dir", self.state, *extra]

    def run(self, *extra, timeout=20):
        """Runs ucsd to completion (--check-config, --list-plugins)."""
        r = subprocess.run(self.args(*extra), capture_output=True, text=True,
                           timeout=timeout, env=ucsd_env())
        check_sanitizers(r.stderr)
        return r.returncode, r.stdout, r.stderr

    def start(self, env=None, wait=True):
        if self.alive():  # a second process would be orphaned by close()
            raise Failure("ucsd started twice")
        self.proc = subprocess.Popen(self.args(), stderr=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     env=ucsd_env(env))
        threading.Thread(target=self._read, daemon=True).start()
        if wait:
            self.wait_for(r"\[core\] ucsd \S+ started: \d+ plugins running")
        return self

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of output
            self.cond.notify_all()

    def log(self):
        with self.cond:
            return "\n".join(l for l in self.lines if l is not None)

    def wait_for(self, pattern, timeout=10, after=0):
        """Waits for a log line matching pattern (regex) at index >= after."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            i = after
            while True:
                while i < len(self.lines):
                    line = self.lines[i]
                    if line is None:
                        raise Failure(f"ucsd ended before logging /{pattern}/:\n{self.log()}")
                    if rx.search(line):
                        return i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure(f"no log line /{pattern}/ within {timeout}s:\n{self.log()}")
                self.cond.wait(left)

    def has(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            return any(l is not None and rx.search(l) for l in self.lines)

    def index(self, pattern):
        rx = re.compile(pattern)
        with self.cond:
            for i, l in enumerate(self.lines):
                if l is not None and rx.search(l):
                    return i
        raise Failure(f"no log line /{pattern}/:\n{self.log()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def _drain(self, timeout=10):
        """Waits until every line ucsd wrote has been collected."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.lines or self.lines[-1] is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Failure("ucsd's stderr did not end")
                self.cond.wait(left)
        check_sanitizers(self.log())

    def stop(self, timeout=10):
        """SIGTERM; returns (exit status, seconds it took)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        secs = time.monotonic() - t0
        self._drain()
        return rc, secs

    def wait_exit(self, timeout=10):
        rc = self.proc.wait(timeout=timeout)
        self._drain()
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Probe:
    """A connection to the svcprobe test plugin (tests/plugins/svcprobe.h):
    cmd() sends one command line and returns its "ok ..." / "err ..." line;
    event lines that arrive meanwhile are kept for events()/wait_event()."""

    def __init__(self, ucsd, timeout=10, after=0):
        import socket
        i = ucsd.wait_for(r"svcprobe listening on port \d+", timeout=timeout, after=after)
        port = int(re.search(r"svcprobe listening on port (\d+)", ucsd.lines[i]).group(1))
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.pending = []
        self.timeout = timeout

    def _line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("svcprobe: no answer in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise Failure("svcprobe: no answer in time") from None
            if not chunk:
                raise Failure("svcprobe: connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def cmd(self, line, timeout=None):
        self.sock.sendall(line.encode() + b"\n")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            got = self._line(deadline)
            if got.startswith("event "):
                self.pending.append(got)
            elif got.startswith("# "):
                continue
            else:
                return got

    def ok(self, line, timeout=None):
        """cmd() that must succeed; returns the text after "ok"."""
        got = self.cmd(line, timeout)
        if not got.startswith("ok"):
            raise Failure(f"svcprobe {line!r}: {got}")
        return got[3:]

    def wait_event(self, pattern, timeout=None):
        """The first kept or arriving event line matching the regex."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, ev in enumerate(self.pending):
                if rx.search(ev):
                    return self.pending.pop(i)
            got = self._line(deadline)
            if got.startswith("event "):
                self.pending.append(got)

    def events(self, settle=0.3):
        """Every event line that arrives within `settle` seconds of quiet."""
        deadline = time.monotonic() + settle
        try:
            while True:
                got = self._line(deadline)
                if got.startswith("event "):
                    self.pending.append(got)
                    deadline = time.monotonic() + settle
        except Failure:
            pass
        out, self.pending = self.pending, []
        return out

    def close(self):
        self.sock.close()


_hashes = {}


def phc(password):
    """An argon2id hash of password with test costs (ucs-passwd hash), for the
    password_hash of a test user."""
    if password not in _hashes:
        r = subprocess.run([UCS_PASSWD, "hash", "--memory", "1024", "--iterations", "1",
                            "--parallelism", "1"], input=password + "\n", capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.startswith("$argon2id$"), f"ucs-passwd: {r}")
        _hashes[password] = r.stdout.strip()
    return _hashes[password]


def wait_rpc_event(c, method, pred=lambda p: True, timeout=5, what="matching"):
    """The params of the first notification `method` that a wsclient.RpcClient
    got whose params satisfy pred (the ones before it are dropped); a Failure
    naming what was waited for when none comes within timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failure(f"no {method} {what} within {timeout}s; "
                          f"left: {c.notifications(method)}")
        try:
            p = c.wait_notification(method, timeout=left)
        except WsError as e:
            raise Failure(f"no {method} {what} within {timeout}s ({e})") from None
        if pred(p):
            return p


def main(cases):
    """python3 SCRIPT BUILD_ROOT CASE: runs one case, exit 0 when it passed."""
    name = sys.argv[2] if len(sys.argv) > 2 else None
    if name not in cases:
        print(f"usage: {sys.argv[0]} BUILD_ROOT CASE; cases: {', '.join(cases)}")
        sys.exit(2)
    try:
        cases[name]()
    except Failure as e:
        print(f"FAIL {name}: {e}")
        sys.exit(1)
    print(f"ok {name}")
