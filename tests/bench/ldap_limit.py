"""tests/bench/ldap_limit.py BUILD_ROOT - what a sync of a directory with
pictures costs: memory over the object limit, and time when every picture
is new.

A real slapd (tests/integration/slapd.py) gets USERS inetOrgPerson users,
each with a jpegPhoto of about 64 KB (a PNG of noise: it does not
compress). Then the real ucsd with dialplan + userdb-ldap starts against
it twice:
  - max_objects 100: the peak resident memory of ucsd (VmHWM) once the
    first read is in the snapshot. A sync maps every entry before the limit
    applies; what it keeps of an entry must not include the image data, or
    the peak grows with the directory instead of with max_objects;
  - max_objects above USERS: the time from the start to the first read in
    the snapshot, every picture read, scaled to 96x96 and written.
Prints "bench NAME VALUE UNIT" lines.
"""
import os
import random
import struct
import sys
import time
import zlib
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
os.environ["UCSD_BUILD_ROOT"] = BUILD

from harness import Ucsd  # noqa: E402
from slapd import Slapd  # noqa: E402

BASE = "dc=example,dc=com"
USERS = int(os.environ.get("LDAP_LIMIT_USERS", "1500"))


def noise_png(w, h, seed):
    rnd = random.Random(seed)
    raw = b"".join(b"\x00" + rnd.randbytes(3 * w) for _ in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def ldif():
    import base64
    pic = base64.encodebytes(noise_png(150, 140, 1)).decode().replace("\n", "\n ")
    out = [f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n"]
    for i in range(USERS):
        out.append(f"dn: uid=u{i:05d},ou=people,{BASE}\nobjectClass: inetOrgPerson\n"
                   f"uid: u{i:05d}\ncn: User {i}\nsn: Number {i}\n"
                   f"telephoneNumber: +49 8151 3685{i % 10000:04d}\n"
                   f"jpegPhoto:: {pic.rstrip()}\n")
    return "\n".join(out) + "\n"


def stamp(line):
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()


def hwm_mb(u):
    with open(f"/proc/{u.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1.0


def run(d, max_objects):
    ldap = {"url": d.url, "allow_plain": True, "starttls": False, "schema": "openldap",
            "bind_dn": d.admin_dn, "password": d.admin_password, "base": BASE,
            "max_objects": max_objects, "page_size": 500, "sync_interval": 3600}
    config = {"plugins": {"disabled": ["userdb-file"]},
              "dialplan": {"config_dir": os.path.join(SOURCE, "plugins", "dialplan",
                                                      "tests", "fixtures"),
                           "data_dir": os.path.join(SOURCE, "config", "default"),
                           "default_location": "Starnberg"},
              "userdb-ldap": ldap}
    u = Ucsd(tree_plugins=["dialplan", "userdb-ldap"], config=config)
    try:
        u.start()
        started = stamp(u.lines[u.index(r"\[core\] ucsd \S+ started")])
        kept = min(USERS, max_objects)
        i = u.wait_for(rf"info \[userdb-ldap\] read {kept} users", timeout=300)
        took = stamp(u.lines[i]) - started
        peak = hwm_mb(u)
        u.stop()
        return took, peak
    finally:
        u.close()


def main():
    t0 = time.monotonic()
    with Slapd(ldif=ldif()) as d:
        print(f"# slapd with {USERS} users with a 64 KB picture each, loaded in "
              f"{time.monotonic() - t0:.1f} s")
        _, peak = run(d, 100)
        print(f"bench ldap_limit_{USERS}_pictures_peak_rss_mb {peak:.1f} MB")
        took, peak = run(d, USERS + 1000)
        print(f"bench ldap_sync_{USERS}_pictures_s {took:.3f} s")
        print(f"# the same with every picture kept: peak resident memory {peak:.1f} MB")


if __name__ == "__main__":
    main()
