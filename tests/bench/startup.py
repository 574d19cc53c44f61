#!/usr/bin/env python3
"""tests/bench/startup.py BUILD_ROOT - startup time and idle memory of ucsd.

Starts ucsd ROUNDS times with a plugin directory holding every plugin the
tree builds (builddir/plugins; the dialplan with the shipped data files and
the test locations, so a full model is loaded) plus the well-behaved test
plugins (alpha, beta, zeta, consumer), and reports:
  startup_ms   ucsd's own figure from process start to "all plugins started"
               (the "started: N plugins running (X ms)" log line), median
  exec_to_ready_ms   wall time from exec to that log line, median
  idle_rss_kb  VmRSS one second after startup, median
"""
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROUNDS = 15


def main() -> int:
    build = sys.argv[1]
    ucsd = os.path.join(build, "core", "ucsd")
    tmp = tempfile.mkdtemp(prefix="ucsd-bench-")
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(plugins)
    tree = glob.glob(os.path.join(build, "plugins", "*.so"))
    tests = [os.path.join(build, "tests", "plugins", n + ".so")
             for n in ("alpha", "beta", "zeta", "consumer")]
    for so in tree + tests:
        shutil.copy(so, plugins)
    cfg = os.path.join(tmp, "ucsd.json")
    source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    config = {}
    if os.path.exists(os.path.join(plugins, "dialplan.so")):
        # a real model: the shipped data files and the test locations
        config["dialplan"] = {
            "config_dir": os.path.join(source, "plugins", "dialplan", "tests", "fixtures"),
            "data_dir": os.path.join(source, "config", "default")}
    with open(cfg, "w") as f:
        json.dump(config, f)
    startup, wall, rss = [], [], []
    count = 0
    for _ in range(ROUNDS):
        t0 = time.monotonic()
        p = subprocess.Popen([ucsd, "-c", cfg, "--plugin-dir", plugins, "--state-dir",
                              os.path.join(tmp, "var")], stderr=subprocess.PIPE, text=True)
        for line in p.stderr:
            m = re.search(r"started: (\d+) plugins running \(([\d.]+) ms\)", line)
            if m:
                wall.append((time.monotonic() - t0) * 1000)
                startup.append(float(m.group(2)))
                count = int(m.group(1))
                break
        time.sleep(1)
        with open(f"/proc/{p.pid}/status") as f:
            rss.append(int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)))
        p.terminate()
        p.communicate(timeout=10)
    shutil.rmtree(tmp)
    print(f"bench startup_plugins {count} plugins ({len(tree)} from the tree)")
    print(f"bench startup_ms {statistics.median(startup):.2f} ms")
    print(f"bench exec_to_ready_ms {statistics.median(wall):.2f} ms")
    print(f"bench idle_rss_kb {statistics.median(rss):.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
