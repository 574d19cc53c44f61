"""tests/integration/test_dialplan.py - the dialplan plugin inside ucsd.

The real dialplan.so with the test locations (plugins/dialplan/tests/
fixtures), used through the ucs.dialplan service by the dpprobe test plugin:
a valid model serves; a broken locations.xml stops startup (dialplan is
critical in the shipped defaults); a broken file on SIGHUP keeps the running
model; no locations.xml is a warning and calls answer "not found".
"""
import os
import shutil
import signal

from harness import SOURCE, Ucsd, check, main

FIXTURES = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")


def dialplan_ucsd(config_dir):
    return Ucsd(plugins=["dpprobe"], tree_plugins=["dialplan"],
                config={"dialplan": {"config_dir": config_dir, "data_dir": DATA,
                                     "default_location": "Starnberg"}})


def copy_fixtures(u):
    d = os.path.join(u.dir, "dialplan")
    shutil.copytree(FIXTURES, d)
    return d


def break_regex(d):
    path = os.path.join(d, "locations.xml")
    text = open(path).read().replace('search="^11[02]$"', 'search="^11[02$"', 1)
    open(path, "w").write(text)
    return text.splitlines().index(next(l for l in text.splitlines() if "^11[02$" in l)) + 1


def service():
    u = dialplan_ucsd(FIXTURES)
    try:
        u.start()
        u.index(r"info \[dialplan\] 6 locations loaded from .*locations\.xml \(default: "
                r"Starnberg\), \d+ countries, \d+ area codes$")
        u.index(r"\[dpprobe\] default location Starnberg$")
        u.index(r"\[dpprobe\] format 0089123456 -> \+4989123456 \(\+49 \(89\) 123456\)$")
        # in Zurich, 089 123456 is a Swiss national number
        u.index(r"\[dpprobe\] dial 089123456 at Zurich -> 0089123456$")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def broken_locations_refuse_start():
    u = dialplan_ucsd("")
    try:
        d = copy_fixtures(u)
        line = break_regex(d)
        u.write_config({"dialplan": {"config_dir": d, "data_dir": DATA}})
        u.start(wait=False)
        check(u.wait_exit() == 1, "a broken location stops startup")
        u.index(rf"error \[dialplan\] .*locations\.xml:{line}: .*external.*")
        u.index(r"critical plugin 'dialplan' failed to initialise")
    finally:
        u.close()


def reload_keeps_model():
    u = dialplan_ucsd("")
    try:
        d = copy_fixtures(u)
        u.write_config({"dialplan": {"config_dir": d, "data_dir": DATA}})
        u.start()
        break_regex(d)
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"warning \[core\] plugin 'dialplan' kept its previous settings", after=n)
        # the probe reloads after the dialplan: the old model still answers
        u.wait_for(r"\[dpprobe\] format 0089123456 -> \+4989123456", after=n)
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def reload_missing_file():
    """locations.xml gone at SIGHUP: an error, and the running model stays."""
    u = dialplan_ucsd("")
    try:
        d = copy_fixtures(u)
        u.write_config({"dialplan": {"config_dir": d, "data_dir": DATA}})
        u.start()
        os.rename(os.path.join(d, "locations.xml"), os.path.join(d, "moved.xml"))
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"error \[dialplan\] .*locations\.xml is gone: keeping the locations "
                   r"loaded before$", after=n)
        u.wait_for(r"\[dpprobe\] format 0089123456 -> \+4989123456", after=n)
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def no_locations():
    u = dialplan_ucsd("")
    try:
        empty = os.path.join(u.dir, "empty")
        os.makedirs(empty)
        u.write_config({"dialplan": {"config_dir": empty, "data_dir": DATA}})
        u.start()
        u.index(r"warning \[dialplan\] no .*/empty/locations\.xml: numbers cannot be formatted or "
                r"dialled until locations are configured$")
        u.index(r"\[dpprobe\] format failed: No such file or directory$")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (service, broken_locations_refuse_start, reload_keeps_model,
                                  reload_missing_file, no_locations)})
