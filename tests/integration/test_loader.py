"""tests/integration/test_loader.py - the plugin loader, through the real ucsd.

Each case builds a plugin directory from the test plugins (tests/plugins),
starts ucsd on it and asserts the exact log lines the operator would see.
"""
import os
import signal

from harness import TEST_PLUGINS, Ucsd, check, main

ABI = "1.2"


def ucsd_case(plugins, config=None, files=None):
    return Ucsd(plugins=plugins, config=config, files=files)


def wrong_major():
    u = ucsd_case(["alpha", "wrongmajor"])
    try:
        u.start()
        u.index(rf"error \[core\] refused {u.plugin_dir}/wrongmajor\.so: built for plugin "
                rf"ABI 2\.0, this ucsd offers {ABI} \(the major version must match\)$")
        u.index(r"\[alpha\] start$")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def older_minor():
    """A plugin built against ABI 1.0 (a shorter descriptor, without the
    status slot) loads and runs in a 1.1 host."""
    u = ucsd_case(["olderminor"])
    try:
        u.start()
        u.index(r"\[olderminor\] start$")
        check(not u.has(r"refused"), "nothing refused")
        u.stop()
    finally:
        u.close()


def newer_minor():
    u = ucsd_case(["alpha", "newerminor"])
    try:
        u.start()
        u.index(rf"refused {u.plugin_dir}/newerminor\.so: built for plugin ABI 1\.3, this "
                rf"ucsd offers {ABI} \(it needs a newer ucsd\)$")
        check(u.has(r"\[alpha\] start$"), "alpha runs")
        u.stop()
    finally:
        u.close()


def garbage():
    with open(os.path.join(TEST_PLUGINS, "alpha.so"), "rb") as f:
        alpha = f.read()
    files = {"garbage.so": b"this is not an ELF file\n" * 10,
             "truncated.so": alpha[: len(alpha) // 3],
             "empty.so": b""}
    u = ucsd_case(["alpha", "nosym"], files=files)
    try:
        u.start()
        for name in ("garbage", "truncated", "empty"):
            u.index(rf"refused {u.plugin_dir}/{name}\.so: cannot load: ")
        u.index(rf"refused {u.plugin_dir}/nosym\.so: no ucs_plugin_descriptor symbol: not a "
                r"ucsd plugin$")
        check(u.has(r"\[alpha\] start$"), "alpha runs")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def missing_dependency():
    u = ucsd_case(["alpha", "orphan"])
    try:
        u.start()
        u.index(r"refused .*/orphan\.so: plugin 'orphan' cannot run: it requires "
                r"'test\.missing', which no loaded plugin provides$")
        check(not u.has(r"\[orphan\] init"), "orphan never initialised")
        u.stop()
    finally:
        u.close()


def cycle():
    u = ucsd_case(["alpha", "cyca", "cycb"])
    try:
        u.start()
        u.index(r"error \[core\] plugins cannot run: dependency cycle cyca -> cycb -> cyca$")
        u.index(r"refused .*/cyca\.so: part of, or depending on, the dependency cycle "
                r"cyca -> cycb -> cyca$")
        u.index(r"refused .*/cycb\.so: part of, or depending on, the dependency cycle")
        u.index(r"started: 1 plugins running")
        u.stop()
    finally:
        u.close()


def two_providers():
    """Two plugins providing one capability: the later one is refused with a
    line naming both; the other one and its consumer run."""
    u = ucsd_case(["alpha", "beta", "twin"])
    try:
        u.start()
        u.index(r"refused .*/twin\.so: plugin 'twin' provides 'test\.alpha' like plugin "
                r"'alpha': only one may run; name one of them in plugins\.disabled$")
        u.index(r"started: 2 plugins running")
        rc, _ = u.stop()
        check(rc == 0, f"exit status {rc}")
    finally:
        u.close()


def init_fails():
    u = ucsd_case(["alpha", "initfail"])
    try:
        u.start()
        u.index(r"\[initfail\] holding a timer, a subscription and a listener; failing$")
        u.index(r"error \[core\] plugin 'initfail' failed to initialise: Input/output error$")
        u.index(r"info \[core\] plugin 'initfail': released 3 resources it held; the server "
                r"runs on without it$")
        u.index(r"started: 1 plugins running")
        check(not u.has(r"testplug initfail: fini"), "no fini after a failed init")
        rc, secs = u.stop()
        check(rc == 0, f"exit status {rc}")
        u.index(r"\[alpha\] stop kept=hello$")
    finally:
        u.close()


def optional_fails():
    u = ucsd_case(["alpha", "initfail"], config={"plugins": {"optional": ["initfail"]}})
    try:
        u.start()
        u.index(r"warning \[core\] plugin 'initfail' failed to initialise: Input/output error$")
        u.stop()
    finally:
        u.close()


def critical_fails():
    u = ucsd_case(["alpha", "initfail"], config={"plugins": {"critical": ["initfail"]}})
    try:
        u.start(wait=False)
        rc = u.wait_exit()
        check(rc == 1, f"exit status {rc}, expected 1")
        u.index(r"error \[core\] critical plugin 'initfail' failed to initialise: "
                r"Input/output error; stopping$")
        u.index(r"error \[core\] startup failed$")
        # alpha had been initialised: it is finalised, never started
        u.index(r"testplug alpha: fini$")
        check(not u.has(r"\[alpha\] start$"), "alpha never started")
    finally:
        u.close()


def start_fails_with_dependent():
    u = ucsd_case(["alpha", "startfail", "dep"])
    try:
        u.start()
        u.index(r"error \[core\] plugin 'startfail' failed to start: Address already in use$")
        u.index(r"error \[core\] plugin 'dep' stopped: it depends on failed plugin 'startfail'$")
        # dependents are unwound before the plugin they depend on
        check(u.index(r"testplug dep: fini") < u.index(r"testplug startfail: fini"),
              "dep finalised before startfail")
        u.index(r"started: 1 plugins running")
        u.stop()
    finally:
        u.close()


def order_and_bus():
    u = ucsd_case(["consumer", "zeta"])
    try:
        u.start()
        # zeta provides what consumer requires: it comes first although its
        # file sorts later, and consumer can use its service in init
        check(u.index(r"\[zeta\] init$") < u.index(r"\[consumer\] init$"), "init order")
        u.index(r"\[consumer\] service test\.zeta answers 42$")
        u.wait_for(r"\[consumer\] reply from zeta\.ping: status 0, pong$")
        u.stop()
        check(u.index(r"\[consumer\] stop kept=") < u.index(r"\[zeta\] stop kept="), "stop order")
        check(u.index(r"testplug consumer: fini") < u.index(r"testplug zeta: fini"),
              "fini order")
    finally:
        u.close()


def name_mismatch():
    u = ucsd_case(["alpha"])
    try:
        os.rename(os.path.join(u.plugin_dir, "alpha.so"), os.path.join(u.plugin_dir, "other.so"))
        u.start()
        u.index(r"refused .*/other\.so: it calls itself 'alpha'; a plugin's file must be named "
                r"NAME\.so$")
        u.stop()
    finally:
        u.close()


def enabled_disabled():
    u = ucsd_case(["alpha", "zeta", "beta"],
                  config={"plugins": {"enabled": ["alpha", "zeta", "ghost"],
                                      "disabled": ["zeta"]}})
    try:
        u.start()
        u.index(r"info \[core\] skipping .*/zeta\.so: listed in plugins\.disabled$")
        u.index(r"warning \[core\] plugins\.enabled names 'ghost', but .*/ghost\.so did not "
                r"load$")
        u.index(r"started: 1 plugins running")
        check(not u.has(r"\[beta\]"), "beta not enabled")
        u.stop()
    finally:
        u.close()


def list_plugins():
    u = ucsd_case(["alpha", "beta", "wrongmajor"], files={"junk.so": b"junk"})
    try:
        rc, out, err = u.run("--list-plugins")
        check(rc == 0, f"exit status {rc}: {err}")
        lines = out.splitlines()
        check(f"plugin directory: {u.plugin_dir}" in lines, out)
        check("alpha 0.0.1 (ABI 1.2, MIT)" in lines, out)
        check("  provides: test.alpha" in lines, out)
        check("  requires: test.alpha" in lines, out)
        check(f"  file: {u.plugin_dir}/beta.so" in lines, out)
        check(any(l.startswith(f"refused {u.plugin_dir}/wrongmajor.so: built for plugin ABI 2.0")
                  for l in lines), out)
        check(any(l.startswith(f"refused {u.plugin_dir}/junk.so: cannot load") for l in lines), out)
        # beta comes after alpha: listed in start order
        check(lines.index("alpha 0.0.1 (ABI 1.2, MIT)") < lines.index("beta 0.0.1 (ABI 1.2, MIT)"),
              out)
    finally:
        u.close()


def revoke_on_stop():
    """What a plugin leaves open is released when it stops (ledger)."""
    u = ucsd_case(["alpha"], config={"log": {"level": "debug"}})
    try:
        u.start()
        u.stop()
        # alpha keeps a subscription, a service, two bus types and a request
        # server without releasing them itself
        u.index(r"debug \[core\] plugin 'alpha': released 5 resources$")
    finally:
        u.close()


def zombie_job():
    """A plugin whose pool job outlives the bounded wait is left loaded and
    never finalised (its job still runs its code), and the server runs on."""
    u = ucsd_case(["slowjob", "alpha"])
    try:
        u.start(wait=False)
        u.wait_for(r"error \[core\] plugin 'slowjob': 1 thread-pool jobs still running after "
                   r"5000 ms; it stays loaded and is never finalised", timeout=15)
        u.wait_for(r"started: 1 plugins running", timeout=5)
        check(not u.has(r"testplug slowjob: fini"), "slowjob never finalised")
        # at shutdown the job still runs its code: no teardown under it and
        # no waiting for it, but an exit status that says something was wrong
        rc, secs = u.stop(timeout=15)
        check(rc == 1 and secs < 3, f"exit status {rc} after {secs:.1f}s")
        u.index(r"error \[core\] a plugin's thread-pool job is still running: exiting without "
                r"waiting for it$")
    finally:
        u.close()


def nodelete_refused():
    """A refused object that dlclose cannot unload must not be handed out
    again as the next file (the /proc/self/fd/N name it was loaded under)."""
    u = ucsd_case(["aanodelete", "alpha"])
    try:
        u.start()
        u.index(r"refused .*/aanodelete\.so: no ucs_plugin_descriptor symbol")
        u.index(r"\[alpha\] start$")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (
        wrong_major, older_minor, newer_minor, garbage, missing_dependency, cycle, two_providers, init_fails,
        optional_fails, critical_fails, start_fails_with_dependent, order_and_bus,
        name_mismatch, enabled_disabled, list_plugins, revoke_on_stop, zombie_job,
        nodelete_refused)})
