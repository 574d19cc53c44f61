"""tests/bench/ldap_sync.py BUILD_ROOT - directory sync of 10,000 LDAP users
(issue 4: target < 10 s).

A real slapd (tests/integration/slapd.py) gets 10,000 inetOrgPerson users
with four phone numbers each and 50 groups of 200 members, loaded with
slapadd. Then:
  - bench-ldap-sync (plugins/userdb-ldap/bench_sync.c) reads it with the
    plugin's sync engine: the read and the snapshot without a dialplan;
  - the real ucsd with dialplan + userdb-ldap starts against it: the time
    from ucsd's start to the log line that says the users are in the
    snapshot (read, mapped, validated, numbers normalised, swapped in);
  - a periodic sync with one changed user, and a restart from the cache.
Prints "bench NAME VALUE UNIT" lines.
"""
import os
import re
import subprocess
import sys
import time
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
os.environ["UCSD_BUILD_ROOT"] = BUILD

from harness import Ucsd  # noqa: E402
from slapd import Slapd  # noqa: E402

BASE = "dc=example,dc=com"
USERS = 10000
GROUPS = 50


def ldif():
    out = [f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
           f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n"]
    for i in range(USERS):
        out.append(f"dn: uid=u{i:05d},ou=people,{BASE}\nobjectClass: inetOrgPerson\n"
                   f"uid: u{i:05d}\ncn: User {i}\ngivenName: User\nsn: Number {i}\n"
                   f"mail: u{i:05d}@example.com\ntelephoneNumber: +49 8151 3685{i % 10000:04d}\n"
                   f"telephoneNumber: 08151 77{i % 10000:04d}\nmobile: 0171 10{i:05d}\n"
                   f"homePhone: 089 20{i:05d}\ntitle: Engineer\no: Example AG\nou: R&D\n"
                   f"l: Starnberg\npostalCode: 82319\n")
    for g in range(GROUPS):
        members = "".join(f"member: uid=u{(g * 200 + k) % USERS:05d},ou=people,{BASE}\n"
                          for k in range(200))
        out.append(f"dn: cn=g{g},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: g{g}\n"
                   + members)
    return "\n".join(out) + "\n"


def stamp(line):
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").timestamp()


def main():
    t0 = time.monotonic()
    with Slapd(ldif=ldif()) as d:
        print(f"# slapd with {USERS} users and {GROUPS} groups loaded in "
              f"{time.monotonic() - t0:.1f} s")
        # The peer in the same run: OpenLDAP's own client reading the same
        # entries (paged, all attributes, output discarded). ucsd's sync
        # reads, maps, normalises every number and builds a snapshot on top.
        t = time.monotonic()
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", d.url, "-D", d.admin_dn, "-w",
                            d.admin_password, "-b", BASE, "-E", "pr=1000/noprompt",
                            "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peer = time.monotonic() - t
        if r.returncode == 0:
            print(f"bench ldapsearch_10k_s {peer:.3f} s")
        tool = os.path.join(BUILD, "plugins", "userdb-ldap", "bench-ldap-sync")
        if os.path.exists(tool):
            r = subprocess.run([tool, d.url, d.admin_dn, d.admin_password, BASE, "3"],
                               capture_output=True, text=True)
            sys.stdout.write(r.stdout)
            if r.returncode:
                sys.stderr.write(r.stderr)
        ldap = {"url": d.url, "allow_plain": True, "starttls": False, "schema": "openldap",
                "bind_dn": d.admin_dn, "password": d.admin_password, "base": BASE,
                "max_objects": 100000, "page_size": 1000, "sync_interval": 2}
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
            i = u.wait_for(rf"info \[userdb-ldap\] read {USERS} users, {GROUPS} groups",
                           timeout=120)
            sync = stamp(u.lines[i]) - started
            print(f"bench ldap_sync_10k_s {sync:.3f} s")
            if r.returncode == 0:
                print(f"bench ldap_sync_vs_ldapsearch {sync / peer:.2f} x")
            m = re.search(r"in (\d+) ms", u.lines[i])
            print(f"# of which the directory read (worker): {int(m.group(1)) / 1000:.3f} s")
            n = len(u.lines)
            d.modify(f"dn: uid=u00042,ou=people,{BASE}\nchangetype: modify\n"
                     f"replace: title\ntitle: Boss\n")
            i = u.wait_for(r"info \[userdb-ldap\] sync: .*\(changed\) in (\d+) ms", after=n,
                           timeout=60)
            m = re.search(r"in (\d+) ms", u.lines[i])
            print(f"bench ldap_resync_10k_s {int(m.group(1)) / 1000:.3f} s")
            u.stop()
            d.stop()
            u.lines.clear()
            t = time.monotonic()
            u.start()
            print(f"bench ldap_cache_start_10k_s {time.monotonic() - t:.3f} s")
            u.stop()
        finally:
            u.close()


if __name__ == "__main__":
    main()
