"""tests/integration/test_sdk.py - the SDK works for a vendor.

Installs ucsd into a temporary prefix (its own meson build, tests off),
checks what was installed (binary, SDK headers, ucs-plugin-1.pc with its
plugindir, default config, systemd unit), builds docs/sdk/example against
the installed SDK only (pkg-config), installs the example's echo.so into the
prefix's plugin directory, starts the installed ucsd and sees the example
start and answer on the bus: the probe test plugin calls its service, sends
an echo.request and receives echo.tick messages.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

from harness import BUILD, TEST_PLUGINS, Ucsd, check, main

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


def install_and_build_example():
    tmp = tempfile.mkdtemp(prefix="ucsd-sdk-")
    prefix = os.path.join(tmp, "prefix")
    try:
        build = os.path.join(tmp, "build")
        sh(["meson", "setup", build, SRC, f"--prefix={prefix}", "--libdir=lib",
            "-Dtests=false", "-Dsystemd_unit=enabled",
            f"-Dsystemd_unitdir={prefix}/lib/systemd/system", *build_options()])
        sh(["ninja", "-C", build])
        sh(["meson", "install", "-C", build, "--quiet"])

        # what a packager gets
        for rel in ("sbin/ucsd", "include/ucs-1/ucs/ucs.h", "include/ucs-1/ucs/bus.h",
                    "lib/pkgconfig/ucs-plugin-1.pc", "share/ucsd/ucsd.json",
                    "lib/systemd/system/ucsd.service"):
            check(os.path.exists(os.path.join(prefix, rel)), f"{rel} installed")
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
        plugindir = sh(["pkg-config", "--variable=plugindir", "ucs-plugin-1"], env=env).strip()
        check(plugindir == os.path.join(prefix, "lib", "ucs-1", "plugins"), plugindir)
        unit = open(os.path.join(prefix, "lib/systemd/system/ucsd.service")).read()
        for line in ("Type=notify", f"ExecStart={prefix}/sbin/ucsd --foreground",
                     "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict",
                     "StateDirectory=ucsd"):
            check(line in unit, f"'{line}' in ucsd.service")

        # a vendor's build: only the installed SDK, found through pkg-config
        example = os.path.join(tmp, "example")
        shutil.copytree(os.path.join(SRC, "docs", "sdk", "example"), example)
        sh(["meson", "setup", os.path.join(example, "build"), example, *build_options()],
           env=env)
        sh(["ninja", "-C", os.path.join(example, "build")], env=env)
        sh(["meson", "install", "-C", os.path.join(example, "build"), "--quiet"], env=env)
        check(os.path.exists(os.path.join(plugindir, "echo.so")), "echo.so installed")
        cflags = sh(["pkg-config", "--cflags", "ucs-plugin-1"], env=env)
        check(f"-I{prefix}/include/ucs-1" in cflags, cflags)

        # the installed ucsd finds it in its built-in plugin directory
        shutil.copy(os.path.join(TEST_PLUGINS, "probe.so"), plugindir)
        u = Ucsd(config={"echo": {"tick_seconds": 1, "prefix": "> "}})
        try:
            u.proc = None
            ucsd = os.path.join(prefix, "sbin", "ucsd")
            u.args = lambda *extra: [ucsd, "-c", u.config, "--state-dir", u.state, *extra]
            rc, out, err = u.run("--list-plugins")
            check(rc == 0 and "echo 1.0.0 (ABI 1.1, MIT)" in out and
                  f"  file: {plugindir}/echo.so" in out, out + err)
            u.start()
            u.index(r"\[echo\] echo ready \(prefix '> ', ticks every 1s\)$")
            u.index(r"\[probe\] service says 'SERVICE CALL'$")
            u.wait_for(r"\[probe\] echo replied '> HELLO SDK' \(status 0\)$")
            u.wait_for(r"\[probe\] tick \{\"count\":2\}$", timeout=5)
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main_case():
    try:
        install_and_build_example()
    except AssertionError as e:
        from harness import Failure
        raise Failure(str(e))


if __name__ == "__main__":
    main({"install_and_build_example": main_case})
