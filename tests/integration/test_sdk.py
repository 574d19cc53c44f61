"""tests/integration/test_sdk.py - the SDK works for a vendor.

Installs ucsd into a temporary prefix (its own meson build, tests off),
checks what was installed (binary, SDK headers, ucs-plugin-1.pc with its
plugindir, default config, systemd unit), builds docs/sdk/example against
the installed SDK only (pkg-config), installs the example's echo.so into the
prefix's plugin directory, starts the installed ucsd and sees the example
start and answer on the bus: the probe test plugin calls its service, sends
an echo.request and receives echo.tick messages.

The second case does the same with docs/sdk/example-line (a line driver of
a loopback PBX, docs/sdk/line-driver.md): built against the installed SDK,
loaded by the installed ucsd beside the installed line manager, client
protocol, auth, presence, user store and dialplan, and driven from two
WebSocket clients: a call from one line to the other rings, is answered,
held, retrieved and cleared; do-not-disturb and forwarding come back as
line events; a refusal of the loopback PBX reaches the client with its
words; a capability the driver lacks is refused before it is sent.
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import BUILD, TEST_PLUGINS, Ucsd, check, main
from harness import wait_rpc_event as _event

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sh(cmd, env=None, cwd=None):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def build_options():
    """The sanitizer options of the build under test, so the temporary install
    (and the example) match the test plugins it loads, and run under ASan in
    `make check-asan` too."""
    import json
    with open(os.path.join(BUILD, "meson-info", "intro-buildoptions.json")) as f:
        opts = {o["name"]: o["value"] for o in json.load(f)}
    out = []
    if opts.get("b_sanitize", "none") != "none":
        out += [f"-Db_sanitize={opts['b_sanitize']}", "-Db_lundef=false"]
    return out


@contextlib.contextmanager
def installed_sdk():
    """ucsd installed into a temporary prefix; yields (tmp, prefix, plugindir,
    env) with env's PKG_CONFIG_PATH finding the installed ucs-plugin-1.pc."""
    tmp = tempfile.mkdtemp(prefix="ucsd-sdk-")
    prefix = os.path.join(tmp, "prefix")
    try:
        build = os.path.join(tmp, "build")
        sh(["meson", "setup", build, SRC, f"--prefix={prefix}", "--libdir=lib",
            "-Dtests=false", "-Dsystemd_unit=enabled",
            f"-Dsystemd_unitdir={prefix}/lib/systemd/system", *build_options()])
        sh(["ninja", "-C", build])
        sh(["meson", "install", "-C", build, "--quiet"])
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
        plugindir = sh(["pkg-config", "--variable=plugindir", "ucs-plugin-1"], env=env).strip()
        yield tmp, prefix, plugindir, env
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def vendor_build(tmp, name, env):
    """A vendor's build of docs/sdk/NAME: only the installed SDK, found
    through pkg-config, installed into its plugindir."""
    src = os.path.join(tmp, name)
    shutil.copytree(os.path.join(SRC, "docs", "sdk", name), src)
    sh(["meson", "setup", os.path.join(src, "build"), src, *build_options()], env=env)
    sh(["ninja", "-C", os.path.join(src, "build")], env=env)
    sh(["meson", "install", "-C", os.path.join(src, "build"), "--quiet"], env=env)


def installed_ucsd(u, prefix):
    """Points a harness.Ucsd at the installed binary and its built-in plugin
    directory."""
    u.proc = None
    ucsd = os.path.join(prefix, "sbin", "ucsd")
    u.args = lambda *extra: [ucsd, "-c", u.config, "--state-dir", u.state, *extra]


def install_and_build_example():
    with installed_sdk() as (tmp, prefix, plugindir, env):
        # what a packager gets
        for rel in ("sbin/ucsd", "include/ucs-1/ucs/ucs.h", "include/ucs-1/ucs/bus.h",
                    "lib/pkgconfig/ucs-plugin-1.pc", "share/ucsd/ucsd.json",
                    "lib/systemd/system/ucsd.service"):
            check(os.path.exists(os.path.join(prefix, rel)), f"{rel} installed")
        check(plugindir == os.path.join(prefix, "lib", "ucs-1", "plugins"), plugindir)
        unit = open(os.path.join(prefix, "lib/systemd/system/ucsd.service")).read()
        for line in ("Type=notify", f"ExecStart={prefix}/sbin/ucsd --foreground",
                     "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict",
                     "StateDirectory=ucsd"):
            check(line in unit, f"'{line}' in ucsd.service")

        # a vendor's build: only the installed SDK, found through pkg-config
        vendor_build(tmp, "example", env)
        check(os.path.exists(os.path.join(plugindir, "echo.so")), "echo.so installed")
        cflags = sh(["pkg-config", "--cflags", "ucs-plugin-1"], env=env)
        check(f"-I{prefix}/include/ucs-1" in cflags, cflags)

        # the installed ucsd finds it in its built-in plugin directory
        shutil.copy(os.path.join(TEST_PLUGINS, "probe.so"), plugindir)
        u = Ucsd(config={"echo": {"tick_seconds": 1, "prefix": "> "}})
        try:
            installed_ucsd(u, prefix)
            rc, out, err = u.run("--list-plugins")
            check(rc == 0 and "echo 1.0.0 (ABI 1.2, MIT)" in out and
                  f"  file: {plugindir}/echo.so" in out, out + err)
            u.start()
            u.index(r"\[echo\] echo ready \(prefix '> ', ticks every 1s\)$")
            u.index(r"\[probe\] service says 'SERVICE CALL'$")
            u.wait_for(r"\[probe\] echo replied '> HELLO SDK' \(status 0\)$")
            u.wait_for(r"\[probe\] tick \{\"count\":2\}$", timeout=5)
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


# ---- the example line driver (docs/sdk/example-line) ----------------------------------

def _phc(password):
    passwd = os.path.join(BUILD, "plugins", "auth", "ucs-passwd")
    r = subprocess.run([passwd, "hash", "--memory", "1024", "--iterations", "1",
                        "--parallelism", "1"], input=password + "\n", capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.startswith("$argon2id$"), f"ucs-passwd: {r}")
    return r.stdout.strip()


def _rpc_error(c, method, params):
    e = c.call_error(method, params)
    return (e.get("data") or {}).get("reason"), e


def install_and_build_example_line():
    from wsclient import RpcClient
    needed = ("lines", "client-api", "auth", "presence", "userdb-file", "dialplan")
    missing = [p for p in needed
               if not os.path.exists(os.path.join(BUILD, "plugins", p + ".so"))]
    check(not missing, f"the tree builds {', '.join(missing)} (needed by this case)")
    with installed_sdk() as (tmp, prefix, plugindir, env):
        vendor_build(tmp, "example-line", env)
        check(os.path.exists(os.path.join(plugindir, "example-line.so")),
              "example-line.so installed")
        fixtures = os.path.join(SRC, "plugins", "dialplan", "tests", "fixtures")
        u = Ucsd(config={
            "example-line": {"devices": ["121", "122"]},
            "dialplan": {"config_dir": fixtures, "data_dir": os.path.join(SRC, "config", "default"),
                         "default_location": "Starnberg"},
            "auth": {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1,
                     "delay_base_ms": 0},
            "client-api": {"interfaces": [{"bind": "127.0.0.1", "port": 0, "tls": "plain"}]}})
        clients = []
        try:
            installed_ucsd(u, prefix)
            rc, out, err = u.run("--list-plugins")
            check(rc == 0 and "example-line 1.0.0 (ABI 1.2, MIT)" in out and
                  f"  file: {plugindir}/example-line.so" in out, out + err)
            users = os.path.join(u.state, "userdb", "users")
            os.makedirs(users)
            for uid, ext in (("alice", 121), ("bob", 122)):
                with open(os.path.join(users, uid + ".json"), "w") as f:
                    json.dump({"id": uid, "login": uid, "first_phone": f"loop/{ext}",
                               "password_hash": _phc("pw-" + uid)}, f)
            u.start()
            u.wait_for(r"\[example-line\] loopback PBX with 2 lines in group loop$")
            i = u.wait_for(r"\[client-api\] client protocol on 127\.0\.0\.1 port \d+")
            port = int(re.search(r"port (\d+)", u.lines[i]).group(1))

            def client(login):
                c = RpcClient(f"ws://127.0.0.1:{port}/ws")
                clients.append(c)
                c.call("auth.login", {"login": login, "password": "pw-" + login})
                return c
            a, b = client("alice"), client("bob")
            ls = a.call("lines.list")["lines"]
            check([x["id"] for x in ls] == ["loop/121"], f"alice's lines: {ls}")
            check(ls[0]["status"] == "open" and ls[0]["internal"] == "121" and
                  ls[0]["group"] == "loop", f"{ls[0]}")
            check("make_call" in ls[0]["caps"] and "hold" in ls[0]["caps"] and
                  "consult" not in ls[0]["caps"], f"the driver's caps: {ls[0]['caps']}")
            a.call("lines.subscribe")
            b.call("lines.subscribe")
            # alice calls bob: his line rings with her number, hers is delivered
            call = a.call("call.make", {"number": "122"})["call"]
            ev = _event(b, "call.event", lambda e: e["state"] == "alerting")
            check(ev["line"] == "loop/122" and ev["direction"] == "incoming" and
                  ev["remote"]["canonical"].endswith("121"), f"bob rings: {ev}")
            bcall = ev["call"]
            ev = _event(a, "call.event", lambda e: e["call"] == call and
                        e["event"] == "delivered")
            check(ev["direction"] == "outgoing" and ev["remote"]["canonical"].endswith("122"),
                  f"alice's delivered: {ev}")
            b.call("call.answer", {"call": bcall})
            _event(a, "call.event", lambda e: e["call"] == call and e["event"] == "established"
                   and e["state"] == "connected")
            a.call("call.hold", {"call": call})
            _event(a, "call.event", lambda e: e["call"] == call and e["state"] == "held")
            _event(b, "call.event", lambda e: e["call"] == bcall and e["event"] == "held")
            a.call("call.retrieve", {"call": call})
            _event(a, "call.event", lambda e: e["call"] == call and e["event"] == "retrieved")
            a.call("call.dtmf", {"call": call, "digits": "12#"})
            # a capability the driver does not offer never reaches it
            reason, e = _rpc_error(a, "call.consult", {"call": call, "number": "122"})
            check(reason == "not_supported", f"consult: {e}")
            b.call("call.clear", {"call": bcall})
            ev = _event(a, "call.event", lambda e: e["call"] == call and
                        e["event"] == "call_cleared")
            check(ev["state"] == "null", f"{ev}")
            reason, e = _rpc_error(a, "call.hold", {"call": call})
            check(reason == "not_found", f"the call is gone: {e}")
            # the loopback PBX refuses a number it does not know, in its words
            reason, e = _rpc_error(a, "call.make", {"number": "999"})
            check(reason == "driver_refused" and
                  e["data"]["driver_reason"] == "invalidCalledDevice", f"{e}")
            u.wait_for(r"warning \[example-line\] request 1 on line loop/121 refused: "
                       r"invalidCalledDevice$")
            # line features come back as line events
            a.call("line.dnd.set", {"line": "loop/121", "on": True})
            _event(a, "line.event", lambda e: e["line"]["dnd"] is True)
            a.call("line.forward.set", {"line": "loop/121", "mode": "busy", "to": "122"})
            ev = _event(a, "line.event", lambda e: e["line"]["forwarding"]["busy"]["on"])
            check(ev["line"]["forwarding"]["busy"]["to"]["canonical"].endswith("122"), f"{ev}")
            u.index(r"info \[example-line\] call 1: 121 calls 122$")
            for c in clients:
                c.close()
            clients = []
            check(u.stop()[0] == 0, "clean exit")
        finally:
            for c in clients:
                c.close()
            u.close()


def failure(case):
    """The case, with sh()'s AssertionError reported as the harness's Failure."""
    def run():
        try:
            case()
        except AssertionError as e:
            from harness import Failure
            raise Failure(str(e))
    return run


if __name__ == "__main__":
    main({"install_and_build_example": failure(install_and_build_example),
          "install_and_build_example_line": failure(install_and_build_example_line)})
