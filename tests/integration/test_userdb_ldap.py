"""tests/integration/test_userdb_ldap.py - the userdb-ldap plugin inside ucsd
against a real slapd (tests/integration/slapd.py) on loopback.

ucsd runs with the tree plugins dialplan (the test locations, so phone
numbers get their canonical form) and userdb-ldap (userdb-file disabled),
and the svcprobe test plugin, whose ud.* commands drive the ucs.userdb
service. Each case starts its own slapd with an LDIF of users, groups and
computers: OpenLDAP inetOrgPerson over plain LDAP, ldaps:// and StartTLS
(with CA verification, and a wrong CA that must be refused), an Active
Directory-like directory (Debian's msuser.schema: sAMAccountName,
objectGUID, memberOf, ...), several base DNs, filters, a switched-off
attribute, the object limit, periodic sync with change events, an outage
and the recovery, local settings that survive a sync and a restart,
read-only directory fields and the write-back of a phone number.
"""
import base64
import json
import os
import re
import shutil
import struct
import time
import uuid
import zlib

from harness import SOURCE, Failure, Probe, Ucsd, check, main
from slapd import Slapd, make_certs

DIALPLAN = os.path.join(SOURCE, "plugins", "dialplan", "tests", "fixtures")
DATA = os.path.join(SOURCE, "config", "default")
BASE = "dc=example,dc=com"


def png(w, h, rgb=(200, 30, 30)):
    """A valid PNG of one colour (the contact image of a directory user)."""
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def b64(data):
    return base64.b64encode(data).decode()


OUS = f"""dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=staff,{BASE}
objectClass: organizationalUnit
ou: staff

dn: ou=other,{BASE}
objectClass: organizationalUnit
ou: other

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: ou=computers,{BASE}
objectClass: organizationalUnit
ou: computers

"""


def person(uid, ou="people", given=None, sn=None, extra=""):
    given = given or uid.capitalize()
    sn = sn or "Tester"
    return (f"dn: uid={uid},ou={ou},{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {given} {sn}\ngivenName: {given}\nsn: {sn}\nmail: {uid}@example.com\n"
            + (extra.rstrip("\n") + "\n" if extra else "") + "\n")


ALICE = person("alice", given="Alice", sn="Archer", extra=(
    "displayName: Alice A. Archer\n"
    "telephoneNumber: +49 8151 36856-20\n"
    "telephoneNumber: 08151 3685621\n"
    "homePhone: 089 123456\n"
    "mobile: 0171 1234567\n"
    "pager: 0151 7654321\n"
    "facsimileTelephoneNumber: 08151 3685699\n"
    "title: Head of Sales\n"
    "o: Example AG\n"
    "ou: Sales\n"
    "roomNumber: R 1.23\n"
    "street: Hauptstrasse 1\n"
    "postalCode: 82319\n"
    "l: Starnberg\n"
    "st: Bayern\n"
    "objectClass: extensibleObject\n"  # inetOrgPerson has no c (country)
    "c: DE\n"
    "labeledURI: https://example.com/alice Alice's page\n"
    f"jpegPhoto:: {b64(png(120, 80))}"))

INETORG = OUS + ALICE + person("bob", extra="telephoneNumber: 08151 3685622") + \
    person("carol", ou="staff", extra="telephoneNumber: 08151 3685623") + \
    person("dave", ou="other") + \
    person("eve", extra="employeeType: disabled") + f"""dn: cn=sales,ou=groups,{BASE}
objectClass: groupOfNames
cn: sales
member: uid=alice,ou=people,{BASE}
member: UID=Bob, OU=People, DC=example, DC=com
member: uid=dave,ou=other,{BASE}

dn: cn=staff,ou=groups,{BASE}
objectClass: groupOfUniqueNames
cn: staff
uniqueMember: uid=carol,ou=staff,{BASE}
uniqueMember: uid=alice,ou=people,{BASE}#'0101'B

dn: cn=pc01,ou=computers,{BASE}
objectClass: device
cn: pc01

dn: cn=PC-02,ou=computers,{BASE}
objectClass: device
cn: PC-02

"""

OPENLDAP_USERS = {"base": f"ou=people,{BASE};ou=staff,{BASE}",
                  "filter": "(&(objectClass=inetOrgPerson)(!(employeeType=disabled)))"}


def ldap_config(d, **over):
    conf = {"url": d.url, "allow_plain": True, "starttls": False, "schema": "openldap",
            "bind_dn": d.admin_dn, "password": d.admin_password, "base": BASE,
            "network_timeout": 2, "search_timeout": 2, "sync_interval": 3600, "retry_max": 1,
            "users": dict(OPENLDAP_USERS)}
    conf.update(over)
    return conf


def ldap_ucsd(ldap, u=None):
    config = {"plugins": {"disabled": ["userdb-file"]},
              "dialplan": {"config_dir": DIALPLAN, "data_dir": DATA,
                           "default_location": "Starnberg"},
              "userdb-ldap": ldap}
    if u:
        u.write_config(config)
        return u
    return Ucsd(plugins=["svcprobe"], tree_plugins=["dialplan", "userdb-ldap"], config=config)


def wait_synced(u, after=0, timeout=10):
    return u.wait_for(r"info \[userdb-ldap\] (read|directory available again:|sync:) \d+ users",
                      timeout=timeout, after=after)


def ok_json(p, line):
    return json.loads(p.ok(line))


def entry_uuid(d, dn):
    out = d.search(dn, "(objectClass=*)", "entryUUID")
    m = re.search(r"entryUUID: (\S+)", out)
    check(m is not None, f"no entryUUID for {dn}: {out}")
    return m.group(1)


def events(p, settle=0.3):
    """Probe.events, also when nothing arrives (the socket then times out)."""
    try:
        return p.events(settle)
    except TimeoutError:
        out, p.pending = p.pending, []
        return out


def wait_event(p, pattern, timeout=10):
    try:
        return p.wait_event(pattern, timeout=timeout)
    except (TimeoutError, Failure):
        raise Failure(f"no event /{pattern}/ within {timeout}s; got {p.pending}") from None


def user_by_login(p, login):
    return ok_json(p, f"ud.login {login}")


# ---- cases ----

def inetorgperson_plain():
    """Users, groups and computers over plain LDAP (allow_plain): the
    mapping, two base DNs, the filter, DN spellings, uniqueMember."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d))
        try:
            u.start()
            wait_synced(u)
            u.index(r"warning \[userdb-ldap\] allow_plain: the connection to ldap://")
            p = Probe(u)
            snap = ok_json(p, "ud.snap")
            check(snap["store"] == "ldap" and snap["write_back"] == 0, f"snapshot: {snap}")
            check((snap["users"], snap["groups"], snap["computers"]) == (3, 2, 2),
                  f"alice, bob, carol; 2 groups; 2 computers: {snap}")
            a = user_by_login(p, "alice")
            aid = entry_uuid(d, f"uid=alice,ou=people,{BASE}")
            check(a["id"] == aid, f"the id is the entryUUID: {a['id']} vs {aid}")
            check(a["dn"] == f"uid=alice,ou=people,{BASE}", a["dn"])
            check((a["first_name"], a["last_name"], a["display_name"], a["email"]) ==
                  ("Alice", "Archer", "Alice A. Archer", "alice@example.com"), str(a))
            check("directory" in a["flags"] and "active" in a["flags"], str(a["flags"]))
            check("bind_business" in a["flags"] and "bind_business2" in a["flags"],
                  str(a["flags"]))
            ph = a["phones"]
            check(ph["business"] == {"entered": "+49 8151 36856-20",
                                     "canonical": "+4981513685620"}, str(ph["business"]))
            check(ph["business2"] == {"entered": "08151 3685621",
                                      "canonical": "+4981513685621"}, str(ph["business2"]))
            check(ph["private"]["canonical"] == "+4989123456", str(ph["private"]))
            check(ph["mobile"]["canonical"] == "+491711234567", str(ph["mobile"]))
            check(ph["pager"]["entered"] == "0151 7654321", str(ph["pager"]))
            check(ph["fax"]["canonical"] == "+4981513685699", str(ph["fax"]))
            c = a["contact"]
            check(c == {"title": "Head of Sales", "company": "Example AG",
                        "department": "Sales", "office": "R 1.23",
                        "street": "Hauptstrasse 1", "postal_code": "82319",
                        "city": "Starnberg", "state": "Bayern", "country": "DE",
                        "website": "https://example.com/alice"}, str(c))
            check(a["contact_image"].endswith(f"/userdb-ldap/pictures/{aid}.contact.png") and
                  os.path.exists(a["contact_image"]), f"contact image: {a['contact_image']}")
            with open(a["contact_image"], "rb") as f:
                head = f.read(24)
            check(head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) ==
                  (96, 96), "the contact image is a 96x96 PNG")
            # the second base, the filter, the base that is not listed
            check(user_by_login(p, "carol")["dn"] == f"uid=carol,ou=staff,{BASE}", "carol")
            check(p.cmd("ud.login dave").startswith("err ENOENT"), "dave is outside the bases")
            check(p.cmd("ud.login eve").startswith("err ENOENT"), "eve is filtered out")
            bid = user_by_login(p, "bob")["id"]
            cid = user_by_login(p, "carol")["id"]
            sales = ok_json(p, "ud.group " + entry_uuid(d, f"cn=sales,ou=groups,{BASE}"))
            check(sales["name"] == "sales" and sales["members"] == [aid, bid],
                  f"sales: members by DN (any spelling), dave left out: {sales}")
            staff = ok_json(p, "ud.group " + entry_uuid(d, f"cn=staff,ou=groups,{BASE}"))
            check(sorted(staff["members"]) == sorted([cid, aid]), f"uniqueMember: {staff}")
            check(sorted(a["groups"]) == sorted([sales["id"], staff["id"]]), str(a["groups"]))
            check(ok_json(p, "ud.list computer") == ["pc-02", "pc01"], "computers by name")
            pc = ok_json(p, "ud.computer pc-02")
            check(pc["name"] == "PC-02" and pc["dn"] == f"cn=PC-02,ou=computers,{BASE}",
                  str(pc))
            st = ok_json(p, "ud.status")
            check(st["online"] and not st["limit_hit"] and st["message"] == "", str(st))
            p.close()
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def tls_ldaps():
    """ldaps:// with the test CA: verified, and no warning about clear text;
    the bind password comes from password_file."""
    with Slapd(ldif=INETORG, tls=True) as d:
        pwfile = os.path.join(d.dir, "bind.pw")
        with open(pwfile, "w") as f:
            f.write(d.admin_password + "\n")
        ldap = ldap_config(d, url=d.ldaps_url, allow_plain=False, ca_file=d.ca_file,
                           password_file=pwfile)
        del ldap["password"]
        u = ldap_ucsd(ldap)
        try:
            u.start()
            wait_synced(u)
            u.index(r"info \[userdb-ldap\] read 3 users, 2 groups, 2 computers from ldaps://")
            check(not u.has(r"allow_plain|tls_verify is off"), "no clear-text warning")
            p = Probe(u)
            check(ok_json(p, "ud.status")["online"], "online")
            check(user_by_login(p, "alice")["phones"]["business"]["canonical"] ==
                  "+4981513685620", "alice over ldaps")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def tls_starttls():
    """ldap:// upgraded with StartTLS (the default), verified with ca_file.
    The directory refuses every simple bind without TLS (tls_only), so a
    connection that skipped StartTLS could not read anything."""
    with Slapd(ldif=INETORG, tls=True, tls_only=True) as d:
        u = ldap_ucsd(ldap_config(d, allow_plain=False, starttls=True, ca_file=d.ca_file))
        try:
            u.start()
            wait_synced(u)
            u.index(r"info \[userdb-ldap\] read 3 users, 2 groups, 2 computers from ldap://")
            check(not u.has(r"allow_plain"), "no clear-text warning")
            p = Probe(u)
            check(user_by_login(p, "carol")["login"] == "carol", "carol over StartTLS")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def tls_wrong_ca_refused():
    """A server certificate from another CA is refused, over ldaps:// and
    with StartTLS, with a log line that says why; nothing is read and the
    store reports the outage."""
    with Slapd(ldif=INETORG, tls=True) as d:
        other = os.path.join(d.dir, "other")
        os.makedirs(other)
        wrong_ca = make_certs(other)[0]
        for url, starttls in ((d.ldaps_url, False), (d.url, True)):
            u = ldap_ucsd(ldap_config(d, url=url, allow_plain=False, starttls=starttls,
                                      ca_file=wrong_ca))
            try:
                u.start()
                i = u.wait_for(r"error \[userdb-ldap\] directory unavailable: ", timeout=15)
                line = u.lines[i]
                check(f"TLS with {url} failed: the server's certificate is not trusted (not "
                      f"issued by a CA in {wrong_ca}, or not for this host name)" in line,
                      f"the log line names the URL and the certificate problem: {line}")
                check("no directory data yet" in line, line)
                p = Probe(u)
                st = ok_json(p, "ud.status")
                check(not st["online"] and st["failures"] >= 1 and url in st["message"],
                      f"status: {st}")
                check(ok_json(p, "ud.snap")["users"] == 0, "nothing was read")
                check(u.stop()[0] == 0, "clean exit")
            finally:
                u.close()


def plain_refused():
    """ldap:// without StartTLS is refused unless allow_plain is set: the
    plugin does not start (it is critical in the shipped configuration)."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, allow_plain=False, starttls=False))
        try:
            u.start(wait=False)
            check(u.wait_exit() == 1, "startup fails")
            u.index(r"error \[userdb-ldap\] url: ldap://127\.0\.0\.1:\d+ is not encrypted: use "
                    r"ldaps://, set starttls, or set allow_plain to accept clear text$")
        finally:
            u.close()


def bind_refused():
    """A wrong bind password is reported (not logged: the password) and
    retried; nothing is read."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, password="wrong-secret"))
        try:
            u.start()
            u.wait_for(r"error \[userdb-ldap\] directory unavailable: bind to ldap://127\.0\.0\.1:"
                       r"\d+ as cn=admin,dc=example,dc=com failed: Invalid credentials; no "
                       r"directory data yet, retrying$")
            check(not u.has("wrong-secret"), "the password is never logged")
            p = Probe(u)
            st = ok_json(p, "ud.status")
            check(not st["online"] and "Invalid credentials" in st["message"], str(st))
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


AD_SCHEMA = """attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'thumbnailPhoto'
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'ucsdTestAD' AUXILIARY
  MAY ( sAMAccountName $ objectGUID $ thumbnailPhoto $ otherTelephone $ company $
        department $ co $ streetAddress $ wWWHomePage $ userAccountControl $ memberOf ) )
"""
AD_GUIDS = {name: uuid.uuid4() for name in ("alice", "bob", "sales", "pc01")}


def ad_object(cn, cls, guid=None, category="Person", extra=""):
    lines = [f"dn: cn={cn},cn=Users,{BASE}"] + [f"objectClass: {c}" for c in cls] + [
        "objectClass: ucsdTestAD", f"cn: {cn}", "instanceType: 4",
        "nTSecurityDescriptor:: AAAA",
        f"objectCategory: cn={category},cn=Schema,cn=Configuration,{BASE}"]
    if guid:
        lines.append(f"objectGUID:: {b64(guid.bytes_le)}")
    return "\n".join(lines) + "\n" + extra.rstrip("\n") + "\n\n"


AD_LDIF = f"""dn: cn=Users,{BASE}
objectClass: organizationalRole
cn: Users

""" + ad_object("Alice Archer", ["user"], AD_GUIDS["alice"], extra=f"""sn: Archer
givenName: Alice
displayName: Alice Archer (Sales)
sAMAccountName: alice
userAccountControl: 512
mail: alice@example.com
telephoneNumber: +49 8151 36856-20
otherTelephone: 08151 3685621
otherTelephone: 08151 3685628
otherTelephone: 08151 3685629
homePhone: 089 123456
mobile: 0171 1234567
facsimileTelephoneNumber: 08151 3685699
title: Head of Sales
company: Example AG
department: Sales
physicalDeliveryOfficeName: R 1.23
streetAddress: Hauptstrasse 1
postalCode: 82319
l: Starnberg
st: Bayern
co: Germany
wWWHomePage: https://example.com/alice
memberOf: CN=Sales,CN=Users,{BASE.upper()}
thumbnailPhoto:: {b64(png(60, 60, (10, 200, 10)))}""") + ad_object(
    "Bob Baker", ["user"], AD_GUIDS["bob"], extra="""sn: Baker
sAMAccountName: bob
userAccountControl: 514""") + ad_object(
    "Sales", ["group"], AD_GUIDS["sales"], "Group", extra="groupType: 2") + ad_object(
    "PC01", ["computer"], AD_GUIDS["pc01"], "Computer", extra="""sn: x
sAMAccountName: PC01$""")


def ad_mapping():
    """The Active Directory mapping with Debian's msuser.schema: objectGUID
    as the id (its textual form), sAMAccountName, otherTelephone for
    business 2 and the further numbers, memberOf, thumbnailPhoto,
    userAccountControl (bob is disabled). Real AD matches the default user
    filter on objectCategory=person; slapd stores objectCategory as a DN,
    so this directory needs the operator's filter."""
    with Slapd(ldif=AD_LDIF, schemas=("core", "cosine", "inetorgperson", "nis", "msuser"),
               extra_schema=AD_SCHEMA) as d:
        ldap = ldap_config(d, schema="ad", users={
            "filter": "(&(objectClass=user)(!(objectClass=computer)))"})
        u = ldap_ucsd(ldap)
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            snap = ok_json(p, "ud.snap")
            check((snap["users"], snap["groups"], snap["computers"]) == (2, 1, 1), str(snap))
            a = user_by_login(p, "alice")
            check(a["id"] == str(AD_GUIDS["alice"]), f"objectGUID as text: {a['id']} vs "
                  f"{AD_GUIDS['alice']}")
            check(a["display_name"] == "Alice Archer (Sales)" and a["first_name"] == "Alice",
                  str(a))
            ph = a["phones"]
            check(ph["business"]["canonical"] == "+4981513685620", str(ph))
            check(ph["business2"]["entered"] == "08151 3685621", str(ph))
            check(ph["private"]["canonical"] == "+4989123456", str(ph))
            check(a["other_numbers"] == ["08151 3685628", "08151 3685629"],
                  f"the rest of otherTelephone: {a['other_numbers']}")
            check(a["contact"] == {"title": "Head of Sales", "company": "Example AG",
                                   "department": "Sales", "office": "R 1.23",
                                   "street": "Hauptstrasse 1", "postal_code": "82319",
                                   "city": "Starnberg", "state": "Bayern",
                                   "country": "Germany",
                                   "website": "https://example.com/alice"}, str(a["contact"]))
            check(os.path.exists(a["contact_image"]), "thumbnailPhoto became the contact image")
            check("active" in a["flags"], "alice is enabled")
            b = user_by_login(p, "bob")
            check("active" not in b["flags"], f"userAccountControl 514 is disabled: {b}")
            g = ok_json(p, f"ud.group {AD_GUIDS['sales']}")
            check(g["name"] == "Sales" and g["members"] == [a["id"]],
                  f"membership from memberOf (another spelling of the DN): {g}")
            check(a["groups"] == [str(AD_GUIDS["sales"])], str(a["groups"]))
            check(ok_json(p, "ud.list computer") == ["pc01"], "the computer by its name")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def attribute_off():
    """A field switched off with "" (the private number) is empty for
    everyone and stays read-only; the rest of the entry is unchanged."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, users=dict(OPENLDAP_USERS, attributes={"private": "",
                                                                               "pager": ""})))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            a = user_by_login(p, "alice")
            check(a["phones"]["private"] == {"entered": "", "canonical": ""},
                  f"homePhone is not visible: {a['phones']['private']}")
            check(a["phones"]["pager"]["entered"] == "", "pager off")
            check(a["phones"]["mobile"]["entered"] == "0171 1234567", "mobile still there")
            doc = ok_json(p, f"ud.get user {a['id']}")
            check(doc["phones"]["private"] == "", str(doc["phones"]))
            doc["phones"]["private"] = "089 999"
            got = p.cmd("ud.put user " + json.dumps(doc))
            check(got.startswith("err EROFS") and "phones.private" in got, got)
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def max_objects():
    """More objects than max_objects (minimum 100): the first 100 are kept
    (users before groups and computers, then by DN), the status and the log
    say so once; a new entry does not push out a known one. Pictures are
    stored for the kept users only, and follow the directory when they
    change or go."""
    pics = {f"u{i:03d}" for i in (0, 1, 2, 110, 111)}
    ldif = OUS + "".join(person(f"u{i:03d}", extra=(
        f"jpegPhoto:: {b64(png(40, 40))}" if f"u{i:03d}" in pics else ""))
        for i in range(120)) + f"""dn: cn=all,ou=groups,{BASE}
objectClass: groupOfNames
cn: all
member: uid=u000,ou=people,{BASE}

"""
    with Slapd(ldif=ldif) as d:
        u = ldap_ucsd(ldap_config(d, max_objects=100, sync_interval=1, users={}))
        try:
            u.start()
            wait_synced(u)
            i = u.index(r"warning \[userdb-ldap\] the directory holds 121 objects, more than "
                        r"max_objects \(100\): only 100 are used$")
            p = Probe(u)
            snap = ok_json(p, "ud.snap")
            check((snap["users"], snap["groups"]) == (100, 0), f"100 users kept: {snap}")
            logins = sorted(ok_json(p, f"ud.user {x}")["login"]
                            for x in ok_json(p, "ud.list user"))
            check(logins == [f"u{i:03d}" for i in range(100)], "the first 100 by DN")
            st = ok_json(p, "ud.status")
            check(st["limit_hit"] and st["online"] and "max_objects is 100" in st["message"],
                  str(st))
            before = ok_json(p, "ud.list user")
            d.modify(person("a-new"), add=True)
            n = len(u.lines)
            p.ok("sub userdb.changed")
            time.sleep(2.5)  # two more syncs
            check(ok_json(p, "ud.list user") == before, "a new entry did not push one out")
            check(events(p, 0.2) == [], "no change events")
            check(len([l for l in u.lines[i:] if l and "the directory holds" in l]) == 1,
                  "the warning is logged once, not per sync")
            # pictures: the kept users' only
            pdir = os.path.join(u.state, "userdb-ldap", "pictures")
            u0 = user_by_login(p, "u000")
            check(sorted(os.listdir(pdir)) == sorted(
                f"{user_by_login(p, x)['id']}.contact.png" for x in ("u000", "u001", "u002")),
                f"contact images of kept users only: {os.listdir(pdir)}")
            with open(u0["contact_image"], "rb") as f:
                before = f.read()
            d.modify(f"dn: uid=u000,ou=people,{BASE}\nchangetype: modify\nreplace: jpegPhoto\n"
                     f"jpegPhoto:: {b64(png(50, 30, (0, 0, 240)))}\n")
            # (the file changes in place: the document, and so the snapshot, do not)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                with open(u0["contact_image"], "rb") as f:
                    after = f.read()
                if after != before:
                    break
                time.sleep(0.2)
            check(after != before, "the changed picture is stored again")
            u1 = user_by_login(p, "u001")
            d.modify(f"dn: uid=u001,ou=people,{BASE}\nchangetype: modify\ndelete: jpegPhoto\n")
            wait_event(p, rf"^event userdb\.changed user:{u1['id']} .*\"op\":\"updated\"")
            check(user_by_login(p, "u001")["contact_image"] == "" and
                  not os.path.exists(u1["contact_image"]), "a removed picture is gone")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def periodic_sync():
    """Changes in the directory arrive with the next sync as userdb.changed
    events: a modified user (updated), a new one (created), a deleted one
    (deleted), and a group whose members changed."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, sync_interval=1))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            bob = user_by_login(p, "bob")["id"]
            carol = user_by_login(p, "carol")["id"]
            sales = entry_uuid(d, f"cn=sales,ou=groups,{BASE}")
            p.ok("sub userdb.changed")
            d.modify(f"""dn: uid=bob,ou=people,{BASE}
changetype: modify
replace: telephoneNumber
telephoneNumber: 08151 3685699
""")
            ev = wait_event(p, rf"^event userdb\.changed user:{bob} ", timeout=10)
            check('"op":"updated"' in ev, ev)
            check(user_by_login(p, "bob")["phones"]["business"]["canonical"] ==
                  "+4981513685699", "bob's new number")
            d.modify(person("frank"), add=True)
            ev = wait_event(p, r"^event userdb\.changed user:\S+ .*\"op\":\"created\"", timeout=10)
            frank = user_by_login(p, "frank")["id"]
            check(frank in ev, ev)
            d.modify(f"dn: uid=carol,ou=staff,{BASE}\nchangetype: delete\n")
            ev = wait_event(p, rf"^event userdb\.changed user:{carol} ", timeout=10)
            check('"op":"deleted"' in ev, ev)
            check(p.cmd("ud.login carol").startswith("err ENOENT"), "carol is gone")
            # her group lost a member in the same sync
            staff = entry_uuid(d, f"cn=staff,ou=groups,{BASE}")
            wait_event(p, rf"^event userdb\.changed group:{staff} .*\"op\":\"updated\"")
            check(carol not in ok_json(p, f"ud.group {staff}")["members"], "staff without carol")
            d.modify(f"""dn: cn=sales,ou=groups,{BASE}
changetype: modify
add: member
member: uid=frank,ou=people,{BASE}
""")
            ev = wait_event(p, rf"^event userdb\.changed group:{sales} ", timeout=10)
            check(frank in ok_json(p, f"ud.group {sales}")["members"], "frank joined sales")
            events(p, 0.5)
            time.sleep(2.2)
            left = events(p, 0.2)
            check(left == [], f"an unchanged directory publishes nothing: {left}")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def outage_and_recovery():
    """The directory goes away: the last good data stays, the status says
    offline, the log says it once (not once per retry); it comes back by
    itself. A directory that hangs (SIGSTOP) is noticed by the timeouts."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, sync_interval=1, retry_max=1))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            d.stop()
            n = len(u.lines)
            u.wait_for(r"error \[userdb-ldap\] directory unavailable: cannot connect to "
                       r"ldap://127\.0\.0\.1:\d+: Can't contact LDAP server; serving the last "
                       r"good data \(3 users, 2 groups, 2 computers\) and retrying$", after=n,
                       timeout=10)
            time.sleep(3.5)  # several retries
            check(len([l for l in u.lines[n:] if l and "directory unavailable" in l]) == 1,
                  "one log line for the outage, not one per retry")
            st = ok_json(p, "ud.status")
            check(not st["online"] and st["failures"] >= 3 and
                  "serving the last good data" in st["message"], str(st))
            check(ok_json(p, "ud.snap")["users"] == 3, "the last good data stays")
            check(user_by_login(p, "alice")["login"] == "alice", "alice still there")
            n = len(u.lines)
            d.start()
            u.wait_for(r"info \[userdb-ldap\] directory available again: 3 users, 2 groups, 2 "
                       r"computers from ldap://", after=n, timeout=10)
            st = ok_json(p, "ud.status")
            check(st["online"] and st["message"] == "", str(st))
            # a hanging server: the search timeout (2 s) notices it
            n = len(u.lines)
            d.pause()
            i = u.wait_for(r"error \[userdb-ldap\] directory unavailable: ", after=n, timeout=15)
            check(re.search(r"no answer within 2 s|Timed out|Can't contact", u.lines[i]),
                  u.lines[i])
            check(ok_json(p, "ud.snap")["users"] == 3, "data kept while it hangs")
            d.resume()
            u.wait_for(r"info \[userdb-ldap\] directory available again", after=i, timeout=15)
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def cpu_seconds(u):
    """ucsd's CPU time so far (user + system), from /proc."""
    with open(f"/proc/{u.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def failures(p):
    return ok_json(p, "ud.status")["failures"]


def wait_failures(p, more_than, timeout):
    """Waits until the status counts more than `more_than` failed attempts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = failures(p)
        if n > more_than:
            return n
        time.sleep(0.2)
    raise Failure(f"no retry within {timeout}s: failures stayed {failures(p)} "
                  f"(a connection attempt hangs)")


def stop_promptly(u, what):
    """SIGTERM: ucsd must exit cleanly and well within the host's 5 s wait
    for thread-pool jobs - a job stuck in a TLS handshake would hold it."""
    t0 = time.monotonic()
    try:
        rc = u.stop(timeout=10)[0]
    except __import__("subprocess").TimeoutExpired:
        raise Failure(f"{what}: ucsd did not exit within 10 s of SIGTERM")
    took = time.monotonic() - t0
    check(rc == 0 and took < 2.0, f"{what}: exit {rc} after {took:.1f} s (want 0, < 2 s)")
    check(not u.has(r"thread-pool job"), f"{what}: a directory job outlived the stop")


def outage_and_recovery_ldaps():
    """The outage over ldaps://: the server stopped (connections refused)
    and then hanging (SIGSTOP: connections are accepted by the kernel, but
    the TLS handshake never gets an answer). Each connection attempt ends
    after network_timeout, the retries go on without burning CPU, the last
    good data stays, and ucsd stops at once while an attempt hangs."""
    with Slapd(ldif=INETORG, tls=True) as d:
        ldap = ldap_config(d, url=d.ldaps_url, allow_plain=False, ca_file=d.ca_file,
                           network_timeout=1, search_timeout=2, sync_interval=1, retry_max=1)
        u = ldap_ucsd(ldap)
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            d.stop()
            n = len(u.lines)
            u.wait_for(r"error \[userdb-ldap\] directory unavailable: cannot connect to "
                       r"ldaps://127\.0\.0\.1:\d+: Can't contact LDAP server; serving the last "
                       r"good data \(3 users, 2 groups, 2 computers\) and retrying$", after=n,
                       timeout=10)
            wait_failures(p, failures(p), timeout=5)
            check(ok_json(p, "ud.snap")["users"] == 3, "the last good data stays")
            n = len(u.lines)
            d.start()
            u.wait_for(r"info \[userdb-ldap\] directory available again: 3 users, 2 groups, 2 "
                       r"computers from ldaps://", after=n, timeout=10)
            # hanging: the open connection's search times out, then every new
            # connection hangs in the TLS handshake until network_timeout
            n = len(u.lines)
            d.pause()
            i = u.wait_for(r"error \[userdb-ldap\] directory unavailable: ", after=n, timeout=15)
            check("no answer within 2 s" in u.lines[i], u.lines[i])
            first = failures(p)
            cpu0, t0 = cpu_seconds(u), time.monotonic()
            k = wait_failures(p, first, timeout=5)
            k = wait_failures(p, k, timeout=5)
            cpu = (cpu_seconds(u) - cpu0) / (time.monotonic() - t0)
            check(cpu < 0.3, f"retries while the directory hangs cost {cpu:.0%} CPU")
            st = ok_json(p, "ud.status")
            check(not st["online"] and re.search(r"ldaps://127\.0\.0\.1:\d+: no TLS handshake "
                                                 r"within 1 s", st["message"]), str(st))
            check(len([l for l in u.lines[n:] if l and "directory unavailable" in l]) <= 2,
                  "logged when it happens and when the reason changes, not per retry")
            check(ok_json(p, "ud.snap")["users"] == 3, "data kept while it hangs")
            d.resume()
            u.wait_for(r"info \[userdb-ldap\] directory available again", after=i, timeout=15)
            # stopping while a handshake hangs: once the open connection has
            # failed, a new one (SIGHUP) with a long network_timeout, so only
            # the stop can end it
            n = len(u.lines)
            d.pause()
            u.wait_for(r"error \[userdb-ldap\] directory unavailable: ", after=n, timeout=15)
            ldap_ucsd(dict(ldap, network_timeout=60), u)
            u.signal(__import__("signal").SIGHUP)
            time.sleep(2)
            p.close()
            stop_promptly(u, "stopped during a hanging TLS handshake")
        finally:
            d.resume()
            u.close()


class BlackHole:
    """A TCP listener on loopback that accepts connections and never
    answers: what a hung server, or a load balancer in front of a dead one,
    looks like. mode "silent": nothing at all; "starttls": the StartTLS
    request is granted, then the TLS handshake gets no answer; "odd_close":
    every odd connection (the 1st, 3rd, ...) is closed at once, so the
    handshake fails quickly and the plugin's check of the certificate (a
    second connection) is the one that hangs."""

    STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"

    def __init__(self, mode="silent"):
        import socket
        import threading
        self.mode = mode
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _msgid(data):
        """The messageID of an LDAPMessage: SEQUENCE { INTEGER id, ... }."""
        i = 1
        if data[i] & 0x80:
            i += 1 + (data[i] & 0x7f)
        else:
            i += 1
        assert data[i] == 0x02, "a message ID"
        return data[i:i + 2 + data[i + 1]]

    def _grant_starttls(self, c):
        c.settimeout(5)
        data = c.recv(4096)
        oid = self.STARTTLS_OID
        body = (b"\x0a\x01\x00" + b"\x04\x00" + b"\x04\x00" +
                bytes([0x8a, len(oid)]) + oid)
        op = bytes([0x78, len(body)]) + body
        msg = self._msgid(data) + op
        c.sendall(bytes([0x30, len(msg)]) + msg)

    def _run(self):
        import socket
        while self.running:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.accepted += 1
            if self.mode == "odd_close" and self.accepted % 2 == 1:
                c.close()
                continue
            if self.mode == "starttls":
                try:
                    self._grant_starttls(c)
                except OSError:
                    pass
            self.conns.append(c)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()
        for c in self.conns:
            c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def tls_blackhole():
    """A directory address that accepts connections and never answers: over
    ldaps:// (the handshake), with StartTLS granted and then no handshake,
    and with the handshake refused and the certificate check's second
    connection hanging. Every attempt ends after network_timeout with an
    outage, the retries go on, and ucsd stops at once while one hangs."""
    for mode, scheme in (("silent", "ldaps"), ("starttls", "ldap"), ("odd_close", "ldaps")):
        with BlackHole(mode) as bh, Slapd(ldif=INETORG, tls=True) as d:
            url = f"{scheme}://127.0.0.1:{bh.port}"
            ldap = ldap_config(d, url=url, allow_plain=False, starttls=scheme == "ldap",
                               ca_file=d.ca_file, network_timeout=1, search_timeout=2,
                               retry_max=1)
            u = ldap_ucsd(ldap)
            try:
                u.start()
                i = u.wait_for(r"error \[userdb-ldap\] directory unavailable: ", timeout=10)
                check(url in u.lines[i] and "no directory data yet" in u.lines[i],
                      f"{mode}: {u.lines[i]}")
                p = Probe(u)
                k = wait_failures(p, failures(p), timeout=6)
                wait_failures(p, k, timeout=6)
                st = ok_json(p, "ud.status")
                check(not st["online"] and url in st["message"], f"{mode}: {st}")
                if mode == "silent":
                    check(f"{url}: no TLS handshake within 1 s" in st["message"], str(st))
                check(bh.accepted >= 3, f"{mode}: {bh.accepted} connections")
                ldap_ucsd(dict(ldap, network_timeout=60), u)
                u.signal(__import__("signal").SIGHUP)
                time.sleep(2)  # the attempt under way ends within 1 s, then this one
                p.close()
                stop_promptly(u, f"{mode}: stopped while a connection hangs")
            finally:
                u.close()


def write_back_refused():
    """A number the directory refuses (telephoneNumber has a syntax; '#' is
    not in it) is shown at once, logged when the write fails, and replaced
    by the directory's value with the sync that follows - not kept for
    good because that read equals the plugin's previous one."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, write_back=True))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            a = user_by_login(p, "alice")
            p.ok("sub userdb.changed")
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["phones"]["business2"] = "0151 76#54321"
            n = len(u.lines)
            p.ok("ud.put user " + json.dumps(doc))
            check(user_by_login(p, "alice")["phones"]["business2"]["entered"] ==
                  "0151 76#54321", "shown at once")
            wait_event(p, rf"^event userdb\.changed user:{a['id']} ")
            u.wait_for(r"error \[userdb-ldap\] could not write phones\.business2 of "
                       r"uid=alice,ou=people,dc=example,dc=com to the directory: .*[Ii]nvalid "
                       r"syntax.*; the directory's value returns with the next sync$", after=n)
            wait_event(p, rf"^event userdb\.changed user:{a['id']} ")
            check(user_by_login(p, "alice")["phones"]["business2"]["entered"] ==
                  "08151 3685621", "the directory's value is back")
            check(ok_json(p, f"ud.get user {a['id']}")["phones"]["business2"] ==
                  "08151 3685621", "in the document too")
            out = d.search(f"uid=alice,ou=people,{BASE}", "(objectClass=*)", "telephoneNumber")
            check("telephoneNumber: 08151 3685621" in out and "#" not in out, out)
            # and the next write-back works
            doc["phones"]["business2"] = "08151 3685688"
            n = len(u.lines)
            p.ok("ud.put user " + json.dumps(doc))
            u.wait_for(r"info \[userdb-ldap\] wrote phones\.business2 \"08151 3685688\"", after=n)
            time.sleep(0.5)
            check(user_by_login(p, "alice")["phones"]["business2"]["entered"] ==
                  "08151 3685688", "a good number stays")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def phones(d, dn, attr="telephoneNumber"):
    out = d.search(dn, "(objectClass=*)", attr)
    return re.findall(rf"^{attr}: (.*)$", out, re.M)


def write_back_shared():
    """business and business 2 are the first and second telephoneNumber:
    a write keeps every number in its place. Clearing business while
    business 2 is set (or setting business 2 while business is empty)
    cannot be expressed by position and is refused - business 2 must not
    become business; the directory's values come back. Both in one put,
    or the last one alone, are written."""
    alice = f"uid=alice,ou=people,{BASE}"
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, write_back=True, sync_interval=1))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            a = user_by_login(p, "alice")
            doc = ok_json(p, f"ud.get user {a['id']}")
            p.ok("sub userdb.changed")

            def put(d_, refused=None, wrote=()):
                n = len(u.lines)
                p.ok("ud.put user " + json.dumps(d_))
                if refused:
                    u.wait_for(rf"error \[userdb-ldap\] could not write phones\.{refused} of "
                               r"uid=\w+,ou=people,dc=example,dc=com to the directory: ", after=n)
                for f in wrote:
                    u.wait_for(rf"info \[userdb-ldap\] wrote phones\.{f} ", after=n)
                # the sync that follows a write-back or a refusal
                wait_synced(u, after=n)
                time.sleep(0.3)
                return n

            doc["phones"]["business"] = ""
            n = put(doc, refused="business")
            i = u.index(r"could not write phones\.business of")
            check("phones.business2 follows it in telephoneNumber" in u.lines[i], u.lines[i])
            check(phones(d, alice) == ["+49 8151 36856-20", "08151 3685621"],
                  f"the directory is unchanged: {phones(d, alice)}")
            ph = user_by_login(p, "alice")["phones"]
            check((ph["business"]["entered"], ph["business2"]["entered"]) ==
                  ("+49 8151 36856-20", "08151 3685621"),
                  f"business 2 stays business 2, business comes back: {ph}")
            # the last one alone
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["phones"]["business2"] = ""
            put(doc, wrote=["business2"])
            check(phones(d, alice) == ["+49 8151 36856-20"], str(phones(d, alice)))
            ph = user_by_login(p, "alice")["phones"]
            check((ph["business"]["entered"], ph["business2"]["entered"]) ==
                  ("+49 8151 36856-20", ""), str(ph))
            # both in one put: one write of the whole attribute, in order
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["phones"]["business"] = ""
            put(doc, wrote=["business"])
            check(phones(d, alice) == [], str(phones(d, alice)))
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["phones"]["business2"] = "08151 3685602"
            put(doc, refused="business2")
            i = u.index(r"could not write phones\.business2 of")
            check("phones.business is empty" in u.lines[i], u.lines[i])
            check(phones(d, alice) == [] and
                  user_by_login(p, "alice")["phones"]["business2"]["entered"] == "",
                  "business 2 alone did not become business")
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["phones"]["business"] = "08151 3685601"
            doc["phones"]["business2"] = "08151 3685602"
            put(doc, wrote=["business", "business2"])
            check(phones(d, alice) == ["08151 3685601", "08151 3685602"], str(phones(d, alice)))
            ph = user_by_login(p, "alice")["phones"]
            check((ph["business"]["entered"], ph["business2"]["entered"]) ==
                  ("08151 3685601", "08151 3685602"), str(ph))
            # replacing the first keeps the second in its place
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["phones"]["business"] = "08151 3685600"
            put(doc, wrote=["business"])
            check(phones(d, alice) == ["08151 3685600", "08151 3685602"], str(phones(d, alice)))
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def restart_during_outage():
    """The last good read is kept on disk: ucsd restarted while the
    directory is away still has its users (and says it is offline)."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            alice = user_by_login(p, "alice")
            p.close()
            check(u.stop()[0] == 0, "clean exit")
            d.stop()
            u.lines.clear()
            u.start()
            u.index(r"info \[userdb-ldap\] 3 users, 2 groups, 2 computers from the last "
                    r"directory read \(.*/userdb-ldap/directory\.json\)$")
            u.wait_for(r"error \[userdb-ldap\] directory unavailable: .*serving the last good "
                       r"data \(3 users, 2 groups, 2 computers\)")
            p = Probe(u)
            # the cached read is in the very first snapshot (the one plugins
            # acquire in their init): no empty store, no change event after
            snap = ok_json(p, "ud.snap")
            check(snap["generation"] == 1 and (snap["users"], snap["groups"],
                                                snap["computers"]) == (3, 2, 2),
                  f"the first snapshot holds the cached read: {snap}")
            p.ok("sub userdb.changed")
            check(events(p, 1.0) == [], "no event: nothing appeared after the start")
            again = user_by_login(p, "alice")
            check(again == alice, f"the same alice from the cache:\n{again}\n{alice}")
            check(not ok_json(p, "ud.status")["online"], "offline")
            n = len(u.lines)
            d.start()
            u.signal(__import__("signal").SIGHUP)  # no need to wait for the retry timer
            u.wait_for(r"info \[userdb-ldap\] directory available again", after=n, timeout=10)
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def local_settings():
    """ucsd's own settings of a directory user (services, grants, phones,
    lines, the mailbox number) live in the local store: they survive a sync
    that changes the entry and a restart; directory fields are read-only."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, sync_interval=1))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            a = user_by_login(p, "alice")
            bob = user_by_login(p, "bob")["id"]
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["services"] = ["chat", "softphone_audio"]
            doc["grants"] = [{"user": bob, "level": "team", "extra": []}]
            doc["first_phone"] = "120"
            doc["extra_lines"] = [{"line": "113", "show_outgoing": True,
                                   "show_incoming": False, "pickup": True}]
            doc["phones"]["mailbox"] = "08151 3685600"
            doc["voice_services"] = True
            p.ok("ud.put user " + json.dumps(doc))
            # read-only: a directory field, a phone number without write_back,
            # removing the user, a user that is not in the directory
            for key, val in (("first_name", "Alicia"), ("login", "alicia")):
                bad = dict(doc, **{key: val})
                got = p.cmd("ud.put user " + json.dumps(bad))
                check(got.startswith("err EROFS") and key in got, f"{key}: {got}")
            bad = json.loads(json.dumps(doc))
            bad["phones"]["business"] = "123"
            got = p.cmd("ud.put user " + json.dumps(bad))
            check(got.startswith("err EROFS") and "phones.business" in got, got)
            check(p.cmd(f"ud.remove user {a['id']}").startswith("err EROFS"), "no remove")
            got = p.cmd('ud.put user {"id": "nobody", "login": "nobody"}')
            check(got.startswith("err EROFS"), f"no new users: {got}")
            d.modify(f"""dn: uid=alice,ou=people,{BASE}
changetype: modify
replace: title
title: Chief Sales Officer
""")
            p.ok("sub userdb.changed")
            wait_event(p, rf"^event userdb\.changed user:{a['id']} ", timeout=10)

            def verify(x):
                check(x["contact"]["title"] == "Chief Sales Officer", x["contact"]["title"])
                check(x["services"] == ["chat", "softphone_audio"], str(x["services"]))
                check(x["grants"] == [{"user": bob, "level": "team", "extra": []}],
                      str(x["grants"]))
                check(x["first_phone"] == "120" and x["voice_services"], str(x))
                check(x["phones"]["mailbox"] == "08151 3685600", str(x["phones"]))
                check(x["extra_lines"][0]["line"] == "113", str(x["extra_lines"]))

            verify(ok_json(p, f"ud.get user {a['id']}"))
            snap_user = user_by_login(p, "alice")
            check(snap_user["phones"]["mailbox"]["canonical"] == "+4981513685600" and
                  "voice_services" in snap_user["flags"], str(snap_user))
            p.close()
            check(u.stop()[0] == 0, "clean exit")
            u.lines.clear()
            u.start()
            wait_synced(u)
            p = Probe(u)
            verify(ok_json(p, f"ud.get user {a['id']}"))
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def write_back():
    """With write_back, a changed phone number is written to the directory
    as the bind account (the first and the second value of
    telephoneNumber); the snapshot says write_back; other fields stay
    read-only."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d, write_back=True, sync_interval=1))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            check(ok_json(p, "ud.snap")["write_back"] == 1, "write_back in the snapshot")
            a = user_by_login(p, "alice")
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["phones"]["business2"] = "08151 3685677"
            doc["phones"]["mobile"] = ""
            n = len(u.lines)
            p.ok("ud.put user " + json.dumps(doc))
            check(user_by_login(p, "alice")["phones"]["business2"]["canonical"] ==
                  "+4981513685677", "the new number at once")
            u.wait_for(r"info \[userdb-ldap\] wrote phones\.business2 \"08151 3685677\" of "
                       r"uid=alice,ou=people,dc=example,dc=com to the directory$", after=n)
            u.wait_for(r"info \[userdb-ldap\] wrote phones\.mobile \"\" of uid=alice", after=n)
            out = d.search(f"uid=alice,ou=people,{BASE}", "(objectClass=*)", "telephoneNumber",
                           "mobile")
            check("telephoneNumber: +49 8151 36856-20\ntelephoneNumber: 08151 3685677" in out
                  and "mobile:" not in out, f"the directory has the new values:\n{out}")
            # a put that fails validation writes nothing back
            bad = json.loads(json.dumps(doc))
            bad["phones"]["business"] = "08151 1111"
            bad["services"] = ["no-such-service"]
            n = len(u.lines)
            got = p.cmd("ud.put user " + json.dumps(bad))
            check(got.startswith("err EINVAL"), got)
            time.sleep(2.5)  # a sync or two
            check(not u.has(r"wrote phones\.business \""), "nothing written for a failed put")
            out = d.search(f"uid=alice,ou=people,{BASE}", "(objectClass=*)", "telephoneNumber")
            check("+49 8151 36856-20" in out, out)
            bad = dict(doc, last_name="Smith")
            check(p.cmd("ud.put user " + json.dumps(bad)).startswith("err EROFS"),
                  "names stay read-only")
            # the next syncs confirm the value; nothing flaps back
            check(user_by_login(p, "alice")["phones"]["business2"]["entered"] ==
                  "08151 3685677", "still the new number")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def deleted_objects():
    """A user that leaves the directory disappears; her local settings are
    kept for keep_deleted_days (0 here: dropped at the next sync, the
    default keeps them 30 days). Dropped means dropped: when she comes back
    (moved back into a searched OU, the same entryUUID) she has them again
    within the time, and not after it - neither on disk nor in memory."""
    with Slapd(ldif=INETORG) as d:
        d.modify(person("gina"), add=True)
        for keep in (30, 0):
            u = ldap_ucsd(ldap_config(d, sync_interval=1, keep_deleted_days=keep))
            try:
                u.start()
                wait_synced(u)
                p = Probe(u)
                gina = user_by_login(p, "gina")
                doc = ok_json(p, f"ud.get user {gina['id']}")
                doc["services"] = ["chat"]
                p.ok("ud.put user " + json.dumps(doc))
                local = os.path.join(u.state, "userdb-ldap", "users", gina["id"] + ".json")
                check(os.path.exists(local), "the local document")
                p.ok("sub userdb.changed")
                # out of the searched bases (ou=other is not one)
                d.modify(f"dn: uid=gina,ou=people,{BASE}\nchangetype: modrdn\n"
                         f"newrdn: uid=gina\ndeleteoldrdn: 1\nnewsuperior: ou=other,{BASE}\n")
                ev = wait_event(p, rf"^event userdb\.changed user:{gina['id']} ", timeout=10)
                check('"op":"deleted"' in ev, ev)
                check(p.cmd(f"ud.get user {gina['id']}").startswith("err ENOENT"), "gone")
                time.sleep(1.5)
                check(os.path.exists(local) == (keep > 0),
                      f"keep_deleted_days {keep}: local document kept={os.path.exists(local)}")
                if keep == 0:
                    u.index(r"info \[userdb-ldap\] removed ucsd's settings of 1 objects that "
                            r"left the directory more than 0 days ago$")
                # back in the bases
                d.modify(f"dn: uid=gina,ou=other,{BASE}\nchangetype: modrdn\n"
                         f"newrdn: uid=gina\ndeleteoldrdn: 1\nnewsuperior: ou=people,{BASE}\n")
                ev = wait_event(p, rf"^event userdb\.changed user:{gina['id']} ", timeout=10)
                check('"op":"created"' in ev, ev)
                back = ok_json(p, f"ud.get user {gina['id']}")
                check(back["services"] == (["chat"] if keep else []),
                      f"keep_deleted_days {keep}: services {back['services']}")
                check(u.stop()[0] == 0, "clean exit")
            finally:
                u.close()


def bad_entries():
    """Entries that cannot be objects are left out with one warning per
    sync result, not per entry, and the rest is read."""
    ldif = INETORG + f"""dn: cn=No Login,ou=people,{BASE}
objectClass: inetOrgPerson
cn: No Login
sn: Login

dn: uid=spaced,ou=people,{BASE}
objectClass: inetOrgPerson
uid: spaced
cn: Spaced
sn: Out
mail:: {b64(("x" * 1100).encode())}

"""
    with Slapd(ldif=ldif) as d:
        u = ldap_ucsd(ldap_config(d, sync_interval=1))
        try:
            u.start()
            wait_synced(u)
            u.index(r"warning \[userdb-ldap\] 1 directory entries left out \(first: cn=No "
                    r"Login,ou=people,dc=example,dc=com: no usable login\)$")
            u.index(r"warning \[userdb-ldap\] 1 directory values ignored \(first: "
                    r"uid=spaced,ou=people,dc=example,dc=com: mail: longer than 1024 bytes\)$")
            p = Probe(u)
            check(ok_json(p, "ud.snap")["users"] == 4, "alice, bob, carol, spaced")
            check(user_by_login(p, "spaced")["email"] == "", "the long value is left out")
            time.sleep(2.5)
            check(len([l for l in u.lines if l and "entries left out" in l]) == 1,
                  "logged once while nothing changes")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def reload_config():
    """SIGHUP with a new filter reads the directory again at once; a broken
    configuration keeps the running one; a base that does not exist is an
    outage that keeps the last good data."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            check(ok_json(p, "ud.snap")["users"] == 3, "3 users")
            ldap = ldap_config(d, users={"base": OPENLDAP_USERS["base"],
                                         "filter": "(uid=alice)"})
            ldap_ucsd(ldap, u)
            n = len(u.lines)
            u.signal(__import__("signal").SIGHUP)
            u.wait_for(r"info \[userdb-ldap\] sync: 1 users, 2 groups, 2 computers \(changed\)",
                       after=n)
            time.sleep(0.3)
            check(ok_json(p, "ud.snap")["users"] == 1, "only alice")
            ldap_ucsd(ldap_config(d, users={"filter": "uid=alice"}), u)
            n = len(u.lines)
            u.signal(__import__("signal").SIGHUP)
            u.wait_for(r"error \[userdb-ldap\] users\.filter: \"uid=alice\" is not a "
                       r"parenthesised LDAP filter$", after=n)
            u.wait_for(r"plugin 'userdb-ldap' kept its previous settings", after=n)
            check(ok_json(p, "ud.snap")["users"] == 1, "still alice")
            # a base that does not exist fails the whole read: nothing disappears
            ldap_ucsd(ldap_config(d, users={"base": f"ou=gone,{BASE}"}), u)
            n = len(u.lines)
            u.signal(__import__("signal").SIGHUP)
            u.wait_for(r"error \[userdb-ldap\] directory unavailable: search of "
                       r"\"\(objectClass=inetOrgPerson\)\" under \"ou=gone,"
                       r"dc=example,dc=com\": No such object; serving the last good data \(1 "
                       r"users, 2 groups, 2 computers\) and retrying$", after=n)
            check(ok_json(p, "ud.snap")["users"] == 1, "alice stays")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def directory_pictures():
    """The contact image of a directory user is the directory's (jpegPhoto
    mapped): set_picture refuses to replace or remove it (EROFS) and the
    file stays as the sync wrote it; the profile picture is ucsd's own.
    With the picture attribute switched off the contact image is ucsd's
    too."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            a = user_by_login(p, "alice")
            with open(a["contact_image"], "rb") as f:
                before = f.read()
            img = os.path.join(u.dir, "in.png")
            with open(img, "wb") as f:
                f.write(png(800, 400, (0, 0, 250)))
            got = p.cmd(f"ud.picture {a['id']} 0 {img}")
            check(got.startswith("err EROFS"), f"the directory's contact image: {got}")
            got = p.cmd(f"ud.picture {a['id']} 0 -")
            check(got.startswith("err EROFS"), f"not removed either: {got}")
            with open(a["contact_image"], "rb") as f:
                check(f.read() == before, "the directory's file is untouched")
            p.ok(f"ud.picture {a['id']} 1 {img}")
            a = user_by_login(p, "alice")
            check(a["profile_picture"].endswith(f"/userdb-ldap/pictures/{a['id']}.profile.png")
                  and os.path.exists(a["profile_picture"]), str(a["profile_picture"]))
            with open(a["profile_picture"], "rb") as f:
                head = f.read(24)
            check(struct.unpack(">II", head[16:24]) == (400, 200), "400 px wide")
            # bob has no jpegPhoto, but the attribute is mapped: still the directory's
            bob = user_by_login(p, "bob")
            check(p.cmd(f"ud.picture {bob['id']} 0 {img}").startswith("err EROFS"), "bob")
            # switched off: ucsd's own
            ldap_ucsd(ldap_config(d, users=dict(OPENLDAP_USERS, attributes={"picture": ""})), u)
            n = len(u.lines)
            u.signal(__import__("signal").SIGHUP)
            u.wait_for(r"info \[userdb-ldap\] sync: 3 users, 2 groups, 2 computers \(changed\)",
                       after=n)
            time.sleep(0.3)
            p.ok(f"ud.picture {bob['id']} 0 {img}")
            bob = user_by_login(p, "bob")
            check(bob["contact_image"].endswith(".contact.png") and
                  os.path.exists(bob["contact_image"]), str(bob["contact_image"]))
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def reload_flags():
    """SIGHUP applies bind_business, bind_business2 and write_back at once:
    the snapshot is rebuilt with them (one "reloaded" event), a phone
    number is written back from then on."""
    with Slapd(ldif=INETORG) as d:
        u = ldap_ucsd(ldap_config(d))
        try:
            u.start()
            wait_synced(u)
            p = Probe(u)
            a = user_by_login(p, "alice")
            check("bind_business" in a["flags"] and "bind_business2" in a["flags"],
                  str(a["flags"]))
            check(ok_json(p, "ud.snap")["write_back"] == 0, "write_back off")
            doc = ok_json(p, f"ud.get user {a['id']}")
            doc["phones"]["mobile"] = "0171 7777777"
            check(p.cmd("ud.put user " + json.dumps(doc)).startswith("err EROFS"),
                  "read-only without write_back")
            p.ok("sub userdb.changed")
            ldap_ucsd(ldap_config(d, bind_business=False, write_back=True), u)
            n = len(u.lines)
            u.signal(__import__("signal").SIGHUP)
            wait_event(p, r'^event userdb\.changed - \{"kind":null,"op":"reloaded"')
            check(not u.has(r"take effect at the next start"), "no restart needed")
            for login in ("alice", "bob", "carol"):
                flags = user_by_login(p, login)["flags"]
                check("bind_business" not in flags and "bind_business2" in flags,
                      f"{login}: {flags}")
            check(ok_json(p, "ud.snap")["write_back"] == 1, "write_back on")
            p.ok("ud.put user " + json.dumps(doc))
            u.wait_for(r"info \[userdb-ldap\] wrote phones\.mobile \"0171 7777777\" of "
                       r"uid=alice,", after=n)
            out = d.search(f"uid=alice,ou=people,{BASE}", "(objectClass=*)", "mobile")
            check("mobile: 0171 7777777" in out, out)
            # and back
            ldap_ucsd(ldap_config(d), u)
            u.signal(__import__("signal").SIGHUP)
            wait_event(p, r'^event userdb\.changed - \{"kind":null,"op":"reloaded"')
            check("bind_business" in user_by_login(p, "alice")["flags"], "bind_business again")
            check(ok_json(p, "ud.snap")["write_back"] == 0, "write_back off again")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


CASES = (inetorgperson_plain, tls_ldaps, tls_starttls, tls_wrong_ca_refused, plain_refused,
         bind_refused, ad_mapping, attribute_off, max_objects, periodic_sync, outage_and_recovery,
         outage_and_recovery_ldaps, tls_blackhole, restart_during_outage, local_settings,
         write_back, write_back_refused, write_back_shared, deleted_objects, bad_entries,
         reload_config, directory_pictures, reload_flags)

if __name__ == "__main__":
    main({f.__name__: f for f in CASES})
