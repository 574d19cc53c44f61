"""tests/integration/test_auth.py - the auth plugin inside ucsd.

The real auth.so with the real user store (userdb-file.so, which needs
dialplan.so), driven through the ucs.auth and ucs.userdb services by the
svcprobe test plugin (tests/plugins/svcprobe_auth.c, svcprobe_userdb.c):
UC passwords, unknown and inactive users, lockouts per login and per
address (IPv4, IPv6 /64), their release and expiry, timing independence of
unknown logins, the audit trail without passwords, administrator accounts
(with the ucs-passwd tool), re-hashing, cancel and stop with logins in
flight, the queue limit, and the directory login against a real slapd
(tests/integration/slapd.py) over ldaps:// and StartTLS with certificate
verification.

Passwords travel to svcprobe as hex; every answer carries the time from
login() to done() in microseconds ("us=").
"""
import json
import os
import re
import signal
import statistics
import subprocess
import time

from harness import BUILD, SOURCE, Failure, Probe, Ucsd, check, main

DATA = os.path.join(SOURCE, "config", "default")
UCS_PASSWD = os.path.join(BUILD, "plugins", "auth", "ucs-passwd")
# cheap hashes unless a test needs real cost: 1 MiB, one pass (about 1 ms)
CHEAP = {"hash_memory_kib": 1024, "hash_iterations": 1, "hash_parallelism": 1}


def hx(password):
    return password.encode().hex() if password else "-"


def auth_ucsd(auth=None, **kw):
    section = dict(CHEAP)
    section.update(auth or {})
    return Ucsd(plugins=["svcprobe"], tree_plugins=["dialplan", "userdb-file", "auth"],
                config={"dialplan": {"data_dir": DATA}, "auth": section}, **kw)


def add_user(p, uid, password=None, active=True, login=None):
    doc = {"id": uid, "login": login or uid, "active": active}
    p.ok("ud.put user " + json.dumps(doc))
    if password is not None:
        p.ok(f"auth.passwd user {uid} {hx(password)}")


def login(p, login_name, password, addr="127.0.0.1", kind="user", via=None):
    line = f"auth.login {kind} {login_name} {hx(password)} {addr}"
    if via:
        line += f" {via}"
    return p.cmd(line, timeout=30)


def status(answer):
    """'ok' or the errno name of an auth.login answer."""
    if answer.startswith("ok"):
        return "ok"
    m = re.match(r"err (\S+)", answer)
    return m.group(1) if m else answer


def field(answer, name):
    m = re.search(rf"\b{name}=(\S+)", answer)
    if not m:
        raise Failure(f"no {name}= in {answer!r}")
    return m.group(1)


def expect(answer, want, what):
    check(status(answer) == want, f"{what}: expected {want}, got {answer!r}")
    return answer


def passwd_tool(*args, password, state=None):
    r = subprocess.run([UCS_PASSWD, *args], input=password + "\n", capture_output=True,
                       text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def answer(p, timeout=30):
    """The next answer line on p (for a command sent with p.sock.sendall)."""
    deadline = time.monotonic() + timeout
    while True:
        got = p._line(deadline)
        if not got.startswith(("event ", "# ")):
            return got


def answered(p):
    """Whether an answer is already waiting on p."""
    import select
    return b"\n" in p.buf or bool(select.select([p.sock], [], [], 0)[0])


def restart(u):
    """Starts a stopped ucsd again with a fresh log (so that waiting for
    "started" or the probe's port does not find the first run's lines)."""
    with u.cond:
        u.lines = []
    u.start()


def read_user_doc(u, uid):
    with open(os.path.join(u.state, "userdb", "users", uid + ".json")) as f:
        return json.load(f)


# ---- UC password ----

def uc_password():
    u = auth_ucsd()
    try:
        u.start()
        p = Probe(u)
        p.ok("sub auth.event")
        add_user(p, "alice", "correct horse")
        ans = expect(login(p, "alice", "correct horse"), "ok", "right password")
        check(field(ans, "user") == "alice" and field(ans, "method") == "uc-password", ans)
        p.wait_event(r'^event auth\.event user:alice \{"kind":"success","login":"alice",'
                     r'"address":"127\.0\.0\.1","via":"svcprobe"\}$')
        # logins are case-insensitive, passwords are not
        expect(login(p, "ALICE", "correct horse"), "ok", "login in upper case")
        expect(login(p, "alice", "Correct horse"), "EACCES", "password in another case")
        p.wait_event(r'^event auth\.event user:alice \{"kind":"failure","login":"alice"')
        expect(login(p, "alice", "correct horse "), "EACCES", "a trailing space")
        expect(login(p, "alice", ""), "EACCES", "empty password")
        # any bytes: a NUL inside is part of the password
        p.ok("auth.passwd user alice " + b"a\x00b c".hex())
        expect(p.cmd("auth.login user alice " + b"a\x00b c".hex() + " 127.0.0.1"), "ok",
               "password with a NUL")
        expect(p.cmd("auth.login user alice " + b"a".hex() + " 127.0.0.1"), "EACCES",
               "the part before the NUL")
        p.ok(f"auth.passwd user alice {hx('correct horse')}")
        # the stored hash: argon2id with the configured costs, the tool agrees
        phc = read_user_doc(u, "alice")["password_hash"]
        check(re.fullmatch(r"\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}\$"
                           r"[A-Za-z0-9+/]{43}", phc), f"stored hash {phc!r}")
        rc, out, _ = passwd_tool("verify", phc, password="correct horse")
        check(rc == 0 and out.strip() == "match", f"ucs-passwd verify: {rc} {out}")
        rc, out, _ = passwd_tool("verify", phc, password="wrong")
        check(rc == 1, f"ucs-passwd verify of a wrong password: {rc} {out}")
        # set_password refuses what it cannot do
        check(p.cmd(f"auth.passwd user nobody {hx('x')}").startswith("err ENOENT"),
              "set_password of an unknown user")
        check(p.cmd("auth.passwd user alice -").startswith("err EINVAL"),
              "an empty password cannot be set")
        check(p.cmd(f"auth.passwd user alice {'61' * 1025}").startswith("err EINVAL"),
              "a password over 1024 bytes cannot be set")
        check(p.cmd(f"auth.login user alice {'61' * 1025} 127.0.0.1").startswith("err EINVAL"),
              "a password over 1024 bytes is a malformed request")
        check(p.cmd(f"auth.login user {'a' * 257} {hx('x')} 127.0.0.1").startswith(
            "err EINVAL"), "a login over 256 bytes is a malformed request")
        # no address is fine (counted per login only)
        expect(login(p, "alice", "correct horse", addr="-"), "ok", "no peer address")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def unknown_and_inactive():
    u = auth_ucsd({"max_failures_per_login": 0, "max_failures_per_address": 0,
                   "delay_base_ms": 0})
    try:
        u.start()
        p = Probe(u)
        add_user(p, "alice", "pw-alice")
        add_user(p, "bob", "pw-bob", active=False)
        add_user(p, "carol")  # no password set
        unknown = expect(login(p, "mallory", "pw-alice"), "EACCES", "unknown login")
        wrong = expect(login(p, "alice", "pw-bob"), "EACCES", "wrong password")
        # the caller cannot tell the two apart by the answer
        check(unknown.split(" us=")[0] == wrong.split(" us=")[0],
              f"unknown and wrong look alike: {unknown!r} / {wrong!r}")
        expect(login(p, "bob", "pw-bob"), "EPERM", "inactive user, right password")
        # an inactive account is only revealed to someone with its password
        expect(login(p, "bob", "guess"), "EACCES", "inactive user, wrong password")
        expect(login(p, "carol", ""), "EACCES", "user without a password, empty one")
        expect(login(p, "carol", "anything"), "EACCES", "user without a password")
        u.wait_for(r'audit: login failed: login="mallory" kind=user method=uc-password '
                r'address=127\.0\.0\.1 via="svcprobe" reason="unknown login"')
        u.wait_for(r'audit: login failed: login="alice" .* reason="wrong password"')
        u.wait_for(r'audit: login refused: login="bob" kind=user account=bob '
                r'address=127\.0\.0\.1 via="svcprobe" reason="account inactive"')
        u.wait_for(r'audit: login failed: login="carol" .* reason="no password set"')
        # activated, bob gets in
        p.ok('ud.put user {"id": "bob", "login": "bob", "active": true}')
        expect(login(p, "bob", "pw-bob"), "ok", "bob activated")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


# ---- brute force ----

LIMITS = {"max_failures_per_login": 3, "max_failures_per_address": 100,
          "delay_base_ms": 150, "delay_max_ms": 300}


def lockout_and_release():
    u = auth_ucsd(LIMITS)
    try:
        u.start()
        p = Probe(u)
        p.ok("sub auth.event")
        add_user(p, "alice", "right")
        # success resets the login's counter: 2 failures, success, 3 failures
        for _ in range(2):
            expect(login(p, "alice", "wrong", addr="192.0.2.1"), "EACCES", "failure")
        expect(login(p, "alice", "right", addr="192.0.2.1"), "ok", "success in between")
        # the delays grow: 0, 150, 300 ms (the answer waits, not the caller);
        # from a fresh address, whose count would drive the delay otherwise
        times = []
        for _ in range(3):
            times.append(int(field(expect(login(p, "alice", "wrong"), "EACCES", "failure"),
                                   "us")))
        # (the loop's timers count from its cached time: allow a few ms early)
        check(times[0] < 120000, f"the first failure is not delayed: {times}")
        check(140000 <= times[1] < 1000000, f"the second failure waits 150 ms: {times}")
        check(285000 <= times[2] < 1200000, f"the third failure waits 300 ms: {times}")
        check(times[2] - times[1] > 100000, f"the delays grow: {times}")
        u.wait_for(r'warning \[auth\] audit: lockout: login="alice" kind=user for 900000 ms '
                   r'after 3 failures \(last from 127\.0\.0\.1 via "svcprobe"\)')
        p.wait_event(r'^event auth\.event user:alice \{"kind":"lockout","login":"alice"')
        ans = expect(login(p, "alice", "right"), "EAGAIN", "locked out, right password")
        retry = int(field(ans, "retry_after_ms"))
        check(0 < retry <= 900000, f"retry_after_ms {retry}")
        check(int(field(ans, "us")) < 100000, f"a locked login is refused at once: {ans}")
        u.wait_for(r'audit: login refused: login="alice" kind=user address=127\.0\.0\.1 '
                   r'via="svcprobe" reason="locked out" retry_after_ms=\d+')
        # an administrator releases it
        p.ok("auth.release ALICE")
        u.wait_for(r'info \[auth\] audit: released: login="ALICE" kind=user '
                   r'\(by an administrator\)')
        p.wait_event(r'^event auth\.event - \{"kind":"release","login":"ALICE"')
        check(p.cmd("auth.release alice").startswith("err ENOENT"), "nothing left to release")
        expect(login(p, "alice", "right"), "ok", "released")
        # the counter started over: two failures do not lock
        for _ in range(2):
            expect(login(p, "alice", "wrong"), "EACCES", "failure after release")
        expect(login(p, "alice", "right"), "ok", "two failures do not lock")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def lockout_expires():
    u = auth_ucsd(dict(LIMITS, lockout_ms=1500, delay_base_ms=0))
    try:
        u.start()
        p = Probe(u)
        add_user(p, "alice", "right")
        for _ in range(3):
            expect(login(p, "alice", "wrong"), "EACCES", "failure")
        t0 = time.monotonic()
        expect(login(p, "alice", "right"), "EAGAIN", "locked")
        # the lockout ends by itself (a timer, no login needed to notice)
        u.wait_for(r'info \[auth\] audit: released: login="alice" kind=user '
                   r'\(the lockout expired\)', timeout=5)
        waited = time.monotonic() - t0
        check(waited < 3.0, f"released after {waited:.1f}s (lockout 1.5 s)")
        expect(login(p, "alice", "right"), "ok", "after the lockout expired")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def lockout_refuses_right_password():
    u = auth_ucsd(dict(LIMITS, delay_base_ms=0))
    try:
        u.start()
        p = Probe(u)
        add_user(p, "alice", "right")
        add_user(p, "bob", "bobs")
        for i in range(3):
            expect(login(p, "alice", f"guess{i}", addr=f"192.0.2.{i + 1}"), "EACCES",
                   "guesses from three addresses")
        # locked: the right password fails, from any address, at once
        for addr in ("192.0.2.1", "198.51.100.9", "2001:db8::5", "-"):
            ans = expect(login(p, "alice", "right", addr=addr), "EAGAIN",
                         f"right password from {addr} while locked")
            check(int(field(ans, "retry_after_ms")) > 0, ans)
        # ... and a lockout is not an oracle: a wrong one answers the same
        wrong = expect(login(p, "alice", "wrong"), "EAGAIN", "wrong password while locked")
        check(field(wrong, "method") == "uc-password", wrong)
        # the lockout is the login's: bob and the addresses are fine
        expect(login(p, "bob", "bobs", addr="192.0.2.1"), "ok", "another login")
        # the locked attempts were not counted: releasing the login is enough
        p.ok("auth.release alice")
        expect(login(p, "alice", "right"), "ok", "released")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def address_lockout():
    u = auth_ucsd({"max_failures_per_login": 100, "max_failures_per_address": 4,
                   "delay_base_ms": 0})
    try:
        u.start()
        p = Probe(u)
        p.ok("sub auth.event")
        add_user(p, "alice", "right")
        # a spray: one guess each for four logins from one address
        for name in ("u1", "u2", "u3", "u4"):
            expect(login(p, name, "Winter2024", addr="192.0.2.10"), "EACCES", "spray")
        u.wait_for(r'warning \[auth\] audit: lockout: address=192\.0\.2\.10 for 900000 ms '
                   r'after 4 failures \(last for login "u4"\)')
        p.wait_event(r'^event auth\.event - \{"kind":"lockout","login":"",'
                     r'"address":"192\.0\.2\.10"')
        expect(login(p, "alice", "right", addr="192.0.2.10"), "EAGAIN",
               "right password from the locked address")
        expect(login(p, "alice", "right", addr="192.0.2.11"), "ok", "from another address")
        # an IPv4-mapped IPv6 peer is the same IPv4 address
        expect(login(p, "alice", "right", addr="::ffff:192.0.2.10"), "EAGAIN",
               "the mapped form of the locked address")
        p.ok("auth.release 192.0.2.10")
        u.wait_for(r'audit: released: address=192\.0\.2\.10 \(by an administrator\)')
        expect(login(p, "alice", "right", addr="192.0.2.10"), "ok", "address released")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def ipv6_prefix():
    u = auth_ucsd({"max_failures_per_login": 100, "max_failures_per_address": 3,
                   "delay_base_ms": 0})
    try:
        u.start()
        p = Probe(u)
        add_user(p, "alice", "right")
        # three hosts of one /64 are one source
        for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:aaaa::3"):
            expect(login(p, "alice", "wrong", addr=host), "EACCES", f"failure from {host}")
        u.wait_for(r"audit: lockout: address=2001:db8:1:2::/64 for 900000 ms after 3 failures")
        u.wait_for(r'audit: login failed: login="alice" kind=user method=uc-password '
                r'address=2001:db8:1:2:aaaa::3 ')
        expect(login(p, "alice", "right", addr="2001:db8:1:2::99"), "EAGAIN",
               "another host of the locked /64")
        expect(login(p, "alice", "right", addr="2001:db8:1:3::1"), "ok", "the next /64")
        expect(login(p, "alice", "right", addr="192.0.2.1"), "ok", "IPv4")
        p.ok("auth.release 2001:db8:1:2::7")  # any address of the prefix names it
        u.wait_for(r"audit: released: address=2001:db8:1:2::/64 \(by an administrator\)")
        expect(login(p, "alice", "right", addr="2001:db8:1:2::99"), "ok", "released")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def timing_independent():
    """An unknown login costs what a wrong password costs: the dummy
    verification runs with the same argon2id costs. With ~9 ms per hash,
    skipping it would answer an unknown login in well under 1 ms."""
    u = auth_ucsd({"hash_memory_kib": 8192, "hash_iterations": 2,
                   "max_failures_per_login": 0, "max_failures_per_address": 0,
                   "delay_base_ms": 0})
    try:
        u.start()
        p = Probe(u)
        add_user(p, "alice", "right")
        add_user(p, "carol")  # exists, no password
        unknown, wrong, nopw = [], [], []
        for i in range(41):  # interleaved, so machine noise hits all alike
            unknown.append(int(field(expect(login(p, f"ghost{i}", "guess"), "EACCES",
                                            "unknown"), "us")))
            wrong.append(int(field(expect(login(p, "alice", "guess"), "EACCES", "wrong"),
                                   "us")))
            nopw.append(int(field(expect(login(p, "carol", "guess"), "EACCES",
                                         "no password"), "us")))
        mu, mw, mn = (statistics.median(x) for x in (unknown, wrong, nopw))
        print(f"median us: unknown {mu:.0f}, wrong password {mw:.0f}, no password {mn:.0f}")
        check(mw > 3000, f"a verification costs real time ({mw:.0f} us)")
        for name, m in (("unknown login", mu), ("no password", mn)):
            check(0.6 * mw <= m <= 1.5 * mw + 1000,
                  f"{name} median {m:.0f} us vs wrong password {mw:.0f} us")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def timing_medians(p, rounds=31):
    """Median answer times (us) of unknown logins before any known account
    was tried, of unknown logins and of alice's wrong password (these two
    interleaved, so that machine noise hits both alike)."""
    first, unknown, wrong = [], [], []
    for i in range(7):
        first.append(int(field(expect(login(p, f"early{i}", "guess"), "EACCES", "unknown"),
                               "us")))
    for i in range(rounds):
        unknown.append(int(field(expect(login(p, f"ghost{i}", "guess"), "EACCES", "unknown"),
                                 "us")))
        wrong.append(int(field(expect(login(p, "alice", "guess"), "EACCES", "wrong"), "us")))
    return statistics.median(first), statistics.median(unknown), statistics.median(wrong)


def timing_after_cost_change():
    """Hashes keep the costs they were made with, so after the operator
    changed the costs old and new hashes live side by side. An unknown login
    must still cost what a known account's wrong password costs: the dummy
    takes the most expensive costs seen (also in the store at start), and a
    failure against a cheaper hash waits for the difference. A dummy of the
    current costs alone answers unknown logins ~10x faster or slower."""
    expensive = {"hash_memory_kib": 16384, "hash_iterations": 2}
    quiet = {"max_failures_per_login": 0, "max_failures_per_address": 0, "delay_base_ms": 0}
    for old, new, how in ((expensive, CHEAP, "restart"), (expensive, CHEAP, "reload"),
                          (CHEAP, expensive, "restart")):
        u = auth_ucsd(dict(old, **quiet))
        try:
            u.start()
            p = Probe(u)
            add_user(p, "alice", "right")
            add_user(p, "bob", "right")  # more accounts of the old costs
            u.write_config({"dialplan": {"data_dir": DATA}, "auth": dict(new, **quiet)})
            if how == "restart":
                p.close()
                u.stop()
                restart(u)
                p = Probe(u)
            else:
                n = len(u.lines)
                u.signal(signal.SIGHUP)
                u.wait_for(r"\[core\] configuration reloaded", after=n)
            mf, mu, mw = timing_medians(p)
            print(f"{old['hash_memory_kib']} KiB -> {new['hash_memory_kib']} KiB by {how}: "
                  f"median us: unknown first {mf:.0f}, unknown {mu:.0f}, wrong password {mw:.0f}")
            check(max(mu, mw) > 5000, f"the expensive hash costs real time ({mu:.0f}/{mw:.0f})")
            check(0.6 * mw <= mu <= 1.5 * mw + 1000,
                  f"{how} to other costs: unknown login median {mu:.0f} us vs wrong password "
                  f"{mw:.0f} us")
            # also before any login met an account of the old costs. These
            # run before the others, so the machine's load may differ (and
            # the pool's first runs of a hash size are slower): only a lower
            # bound, far from what a dummy of the new costs would take (1/16)
            check(mf >= 0.25 * mw, f"{how} to other costs: first unknown logins median "
                                   f"{mf:.0f} us vs wrong password {mw:.0f} us")
            expect(login(p, "alice", "right"), "ok", "alice still gets in")
            check(u.stop()[0] == 0, "clean exit")
        finally:
            u.close()


def audit_no_password():
    u = auth_ucsd(dict(LIMITS, delay_base_ms=0))
    secrets = ["Tr0ub4dor&3-first", "Tr0ub4dor&3-wrong", "Tr0ub4dor&3-admin",
               "Tr0ub4dor&3-new"]
    try:
        u.start()
        p = Probe(u)
        add_user(p, "alice", secrets[0])
        expect(login(p, "alice", secrets[0]), "ok", "login")
        for _ in range(3):
            expect(login(p, "alice", secrets[1]), "EACCES", "failure")
        expect(login(p, "alice", secrets[0]), "EAGAIN", "locked")
        p.ok("auth.release alice")
        p.ok(f"auth.passwd admin root {hx(secrets[2])}")
        expect(login(p, "root", secrets[2], kind="admin"), "ok", "admin")
        p.ok(f"auth.passwd user alice {hx(secrets[3])}")
        # a login with a quote and a tab cannot forge log syntax
        expect(login(p, 'mal"lory\tx', secrets[1]), "EACCES", "odd login")
        check(u.stop()[0] == 0, "clean exit")
        log = u.log()
        for pattern in (
                r'info \[auth\] audit: login accepted: login="alice" kind=user account=alice '
                r'method=uc-password address=127\.0\.0\.1 via="svcprobe"$',
                r'warning \[auth\] audit: login failed: login="alice" kind=user '
                r'method=uc-password address=127\.0\.0\.1 via="svcprobe" reason="wrong password"'
                r' failures=3/3 address_failures=3/100 delay_ms=0$',
                r'warning \[auth\] audit: lockout: login="alice" kind=user for 900000 ms after 3 '
                r'failures',
                r'warning \[auth\] audit: login refused: login="alice" kind=user '
                r'address=127\.0\.0\.1 via="svcprobe" reason="locked out" retry_after_ms=\d+$',
                r'info \[auth\] audit: released: login="alice" kind=user \(by an administrator\)$',
                r'info \[auth\] audit: password set: admin=root$',
                r'info \[auth\] audit: login accepted: login="root" kind=admin account=root '
                r'method=admin',
                r'info \[auth\] audit: password set: user=alice$',
                r'audit: login failed: login="mal\\x22lory\\x09x" kind=user'):
            check(re.search(pattern, log, re.M), f"audit line /{pattern}/ in\n{log}")
        for s in secrets:
            for form in (s, s.encode().hex(), s.replace("&", "\\x26")):
                check(form not in log, f"{form!r} appears in the log")
        # nor on disk: only hashes
        for root, _, files in os.walk(u.state):
            for name in files:
                data = open(os.path.join(root, name), "rb").read()
                for s in secrets:
                    check(s.encode() not in data, f"{s!r} in {name}")
    finally:
        u.close()


# ---- administrator accounts ----

def admin_accounts():
    u = auth_ucsd(dict(LIMITS, delay_base_ms=0))
    try:
        # the first start without an administrator says how to make one
        u.start()
        u.wait_for(r"warning \[auth\] no administrator account yet: create one with "
                r"`ucs-passwd admin --state-dir \S+ NAME`")
        u.stop()
        rc, out, err = passwd_tool("admin", "--state-dir", u.state, "--memory", "1024",
                                   "--iterations", "1", "root", password="s3cret root")
        check(rc == 0, f"ucs-passwd admin: {rc} {out} {err}")
        path = os.path.join(u.state, "auth", "admins.json")
        check(os.stat(path).st_mode & 0o777 == 0o600, "admins.json is 0600")
        restart(u)
        u.wait_for(r"info \[auth\] 1 administrator account loaded from .*/auth/admins\.json")
        check(not u.has("no administrator account yet"), "no hint once an administrator exists")
        p = Probe(u)
        add_user(p, "alice", "alice pw")
        ans = expect(login(p, "root", "s3cret root", kind="admin"), "ok", "admin login")
        check(field(ans, "user") == "root" and field(ans, "method") == "admin", ans)
        expect(login(p, "ROOT", "s3cret root", kind="admin"), "ok", "admin login, upper case")
        expect(login(p, "root", "wrong", kind="admin"), "EACCES", "admin, wrong password")
        # admins and users are separate
        expect(login(p, "root", "s3cret root", kind="user"), "EACCES", "admin as a user")
        expect(login(p, "alice", "alice pw", kind="admin"), "EACCES", "user as an admin")
        expect(login(p, "nobody", "x", kind="admin"), "EACCES", "unknown admin")
        # set_password creates an account, the file keeps both
        p.ok(f"auth.passwd admin ops {hx('ops pw')}")
        doc = json.load(open(path))
        check(sorted(a["id"] for a in doc["admins"]) == ["ops", "root"], f"admins.json {doc}")
        check(os.stat(path).st_mode & 0o777 == 0o600, "still 0600")
        expect(login(p, "ops", "ops pw", kind="admin"), "ok", "the new admin")
        check(p.cmd(f"auth.passwd admin Bad/Id {hx('x')}").startswith("err EINVAL"),
              "an invalid admin id")
        # ucs-passwd changes a password while the server runs
        rc, _, err = passwd_tool("admin", "--state-dir", u.state, "--memory", "1024",
                                 "--iterations", "1", "root", password="new root pw")
        check(rc == 0, f"ucs-passwd: {err}")
        expect(login(p, "root", "new root pw", kind="admin"), "ok", "the tool's new password")
        expect(login(p, "root", "s3cret root", kind="admin"), "EACCES", "the old one")
        # the same brute-force protection, per admin
        for _ in range(3):
            expect(login(p, "ops", "guess", kind="admin"), "EACCES", "admin failure")
        expect(login(p, "ops", "ops pw", kind="admin"), "EAGAIN", "admin locked")
        u.wait_for(r'audit: lockout: login="ops" kind=admin for 900000 ms after 3 failures')
        expect(login(p, "root", "new root pw", kind="admin"), "ok", "another admin")
        p.ok("auth.release ops")
        u.wait_for(r'audit: released: login="ops" kind=admin \(by an administrator\)')
        expect(login(p, "ops", "ops pw", kind="admin"), "ok", "released")
        # the tool refuses what it cannot do
        rc, _, _ = passwd_tool("admin", "--state-dir", u.state, "Bad Name", password="x")
        check(rc == 2, "ucs-passwd refuses an invalid name")
        rc, _, _ = passwd_tool("hash", password="")
        check(rc == 2, "ucs-passwd refuses an empty password")
        rc, out, _ = passwd_tool("hash", "--memory", "2048", "--iterations", "2",
                                 password="x")
        check(rc == 0 and out.startswith("$argon2id$v=19$m=2048,t=2,p=1$"), out)
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def admin_file_broken():
    u = auth_ucsd()
    try:
        os.makedirs(os.path.join(u.state, "auth"))
        path = os.path.join(u.state, "auth", "admins.json")
        broken = '{"admins": [{"id": "root", "password_hash": "not a hash"}]}'
        with open(path, "w") as f:
            f.write(broken)
        u.start()
        u.wait_for(r'error \[auth\] .*/auth/admins\.json: admins\[0\] \(root\): "password_hash" is '
                r'not an argon2id PHC string: administrator logins and changes are refused '
                r'until the file is fixed \(it is not overwritten\)')
        p = Probe(u)
        expect(login(p, "root", "not a hash", kind="admin"), "EACCES", "admin from a bad file")
        check(p.cmd(f"auth.passwd admin root {hx('x')}").startswith("err EIO"),
              "no change to a broken file")
        check(open(path).read() == broken, "the broken file is kept as it was")
        rc, _, err = passwd_tool("admin", "--state-dir", u.state, "--memory", "1024",
                                 "--iterations", "1", "root", password="x")
        check(rc == 1 and "not overwritten" in err, f"the tool keeps it too: {err}")
        # the server runs on; a fixed file counts at the next admin login
        add_user(p, "alice", "pw")
        expect(login(p, "alice", "pw"), "ok", "users are not affected")
        os.unlink(path)
        rc, _, err = passwd_tool("admin", "--state-dir", u.state, "--memory", "1024",
                                 "--iterations", "1", "root", password="fixed")
        check(rc == 0, err)
        expect(login(p, "root", "fixed", kind="admin"), "ok", "the fixed file")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def admins_concurrent():
    """ucs-passwd runs and the server's own changes hit admins.json at the
    same time: each read-modify-rename holds the lock, so none is lost."""
    u = auth_ucsd()
    try:
        u.start()
        p = Probe(u)
        path = os.path.join(u.state, "auth", "admins.json")
        want = set()
        for r in range(3):
            procs = []
            for i in range(8):
                name = f"tool{r}-{i}"
                procs.append((name, subprocess.Popen(
                    [UCS_PASSWD, "admin", "--state-dir", u.state, "--memory", "1024",
                     "--iterations", "1", name], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
            # every tool waits for its password: let them all go at once,
            # while the server makes changes of its own
            for name, pr in procs:
                pr.stdin.write(f"pw-{name}\n")
            servers = [f"srv{r}-{j}" for j in range(4)]
            p.sock.sendall("".join(f"auth.passwd admin {n} {hx('pw-' + n)}\n"
                                   for n in servers).encode())
            for name, pr in procs:
                pr.stdin.close()
            for name, pr in procs:
                rc, err = pr.wait(timeout=60), pr.stderr.read()
                pr.stdout.close()
                pr.stderr.close()
                check(rc == 0, f"ucs-passwd {name}: {rc} {err}")
            for _ in servers:
                got = answer(p)
                check(got == "ok", f"server change: {got}")
            want |= {name for name, _ in procs} | set(servers)
            ids = {a["id"] for a in json.load(open(path))["admins"]}
            check(ids == want, f"round {r}: lost {sorted(want - ids)}, unexpected "
                               f"{sorted(ids - want)}")
        check(os.stat(path + ".lock").st_mode & 0o777 == 0o600, "the lock file is 0600")
        # the server sees every account, the tool's and its own
        for name in sorted(want)[::3]:
            expect(login(p, name, "pw-" + name, kind="admin"), "ok", f"admin {name}")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def rehash_on_login():
    u = auth_ucsd()
    try:
        u.start()
        p = Probe(u)
        add_user(p, "alice", "pw-a")
        p.ok(f"auth.passwd admin root {hx('pw-r')}")
        check("m=1024,t=1,p=1$" in read_user_doc(u, "alice")["password_hash"], "old costs")
        p.close()
        u.stop()
        # the operator raises the costs
        u.write_config({"dialplan": {"data_dir": DATA},
                        "auth": {"hash_memory_kib": 2048, "hash_iterations": 2}})
        restart(u)
        p = Probe(u)
        expect(login(p, "alice", "wrong"), "EACCES", "a wrong password is not re-hashed")
        check("m=1024,t=1,p=1$" in read_user_doc(u, "alice")["password_hash"],
              "unchanged after a failure")
        expect(login(p, "alice", "pw-a"), "ok", "old hash, new costs")
        u.wait_for(r"info \[auth\] the password of user alice was re-hashed with the new costs")
        check("$m=2048,t=2,p=1$" in read_user_doc(u, "alice")["password_hash"], "new costs")
        expect(login(p, "alice", "pw-a"), "ok", "the new hash")
        expect(login(p, "root", "pw-r", kind="admin"), "ok", "admin, old hash")
        u.wait_for(r"the password of administrator root was re-hashed")
        doc = json.load(open(os.path.join(u.state, "auth", "admins.json")))
        check("$m=2048,t=2,p=1$" in doc["admins"][0]["password_hash"], f"admin re-hashed {doc}")
        expect(login(p, "root", "pw-r", kind="admin"), "ok", "admin, new hash")
        # SIGHUP applies new costs to new hashes
        u.write_config({"dialplan": {"data_dir": DATA},
                        "auth": {"hash_memory_kib": 1024, "hash_iterations": 1,
                                 "rehash_on_login": False}})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"info \[auth\] users log in with their UC password \(argon2id m=1024 KiB "
                   r"t=1 p=1\)", after=n)
        expect(login(p, "alice", "pw-a"), "ok", "after the reload")
        check("$m=2048,t=2,p=1$" in read_user_doc(u, "alice")["password_hash"],
              "no re-hash when switched off")
        p.ok(f"auth.passwd user alice {hx('pw-b')}")
        check("$m=1024,t=1,p=1$" in read_user_doc(u, "alice")["password_hash"],
              "new hashes take the new costs")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


# ---- operations in flight ----

SLOW = {"hash_memory_kib": 65536, "hash_iterations": 3}


def cancel_and_stop():
    u = auth_ucsd(dict(SLOW, max_failures_per_login=3, delay_base_ms=0))
    try:
        # debug: the log shows when the auth plugin itself is stopped
        u.write_config({"dialplan": {"data_dir": DATA}, "log": {"level": "debug"},
                        "auth": dict(CHEAP, **SLOW, max_failures_per_login=3,
                                     delay_base_ms=0)})
        u.start()
        p = Probe(u)
        add_user(p, "alice", "right")
        u.wait_for(r"argon2id m=65536 KiB t=3 p=1: one hash takes [\d.]+ ms here")
        # cancelled at once and while the hash runs: done() never comes
        for after in (0, 40):
            ans = p.ok(f"auth.cancel user alice {hx('right')} 127.0.0.1 {after} 500")
            check(ans == "done_calls=0 cancelled=1", f"cancel after {after} ms: {ans}")
        # not cancelled: done() exactly once
        ans = p.ok(f"auth.cancel user alice {hx('right')} 127.0.0.1 1000 0", timeout=15)
        check(ans == "done_calls=1 cancelled=0", f"an answered login: {ans}")
        # hanging up does not dodge the count: three cancelled guesses lock.
        # Each guess must have started before its cancel (one cancelled while
        # still queued never ran, so it rightly counts nothing): the next
        # guess goes only after the last one's failure was decided, so it
        # never waits behind another hash in the pool, even on a slow
        # (sanitizer) build.
        for _ in range(3):
            mark = len(u.lines)
            ans = p.ok(f"auth.cancel user alice {hx('guess')} 127.0.0.1 40 500")
            check(ans == "done_calls=0 cancelled=1", ans)
            u.wait_for(r'audit: login failed: login="alice"', timeout=30, after=mark)
        expect(login(p, "alice", "right"), "EAGAIN", "locked by cancelled guesses")
        p.ok("auth.release alice")
        # stop with logins running and queued: no answer after the stop
        p.sock.sendall(f"auth.burst 6 user alice {hx('guess')} 127.0.0.1\n".encode())
        time.sleep(0.05)
        n = len(u.lines)
        rc, secs = u.stop()
        check(rc == 0, f"clean exit ({rc})")
        stop_at = next(i for i in range(n, len(u.lines))
                       if u.lines[i] and "stopping plugin 'auth'" in u.lines[i])
        late = [l for l in u.lines[stop_at:] if l and "svcprobe: auth answer" in l]
        check(not late, f"answers after the stop: {late}")
        check(secs < 5, f"stopped in {secs:.1f}s")
        u.wait_for(r"\[core\] stopped")
    finally:
        u.close()


def queue_limit():
    u = auth_ucsd({"hash_memory_kib": 16384, "hash_iterations": 2,
                   "max_concurrent_hashes": 1, "max_queued": 2,
                   "max_failures_per_login": 0, "max_failures_per_address": 0,
                   "delay_base_ms": 0})
    try:
        u.start()
        p = Probe(u)
        add_user(p, "alice", "right")
        ans = p.ok(f"auth.burst 10 user alice {hx('wrong')} 127.0.0.1", timeout=30)
        counts = dict(kv.split("=") for kv in ans.split())
        # one runs, two wait, seven are told to come back later
        check(counts["EACCES"] == "3" and counts["EAGAIN"] == "7" and counts["refused"] == "0",
              f"burst: {ans}")
        u.wait_for(r'audit: login refused: login="alice" kind=user .* reason="too many logins in '
                r'progress" retry_after_ms=1000')
        expect(login(p, "alice", "right"), "ok", "after the burst")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


def inflight_change():
    """A login whose verification was running while the account was
    deactivated, given a new password or removed (an administrator's
    password changed by the tool) is decided on the account as it is now."""
    u = auth_ucsd({"hash_memory_kib": 65536, "hash_iterations": 8,
                   "max_failures_per_login": 0, "max_failures_per_address": 0,
                   "delay_base_ms": 0})
    try:
        u.start()
        p, q = Probe(u), Probe(u)
        add_user(p, "alice", "right")  # a hash of ~0.4 s
        rc, out, err = passwd_tool("hash", "--memory", "1024", "--iterations", "1",
                                   password="new")
        check(rc == 0, err)
        new_phc = out.strip()

        def during(change, kind="user", name="alice", password="right"):
            p.sock.sendall(f"auth.login {kind} {name} {hx(password)} 127.0.0.1\n".encode())
            time.sleep(0.05)
            change()
            check(not answered(p), "the login was answered before the change: raise the costs")
            return answer(p)

        expect(during(lambda: None), "ok", "no change: accepted")
        expect(during(lambda: q.ok('ud.put user {"id": "alice", "login": "alice", '
                                   '"active": false}')), "EPERM", "deactivated meanwhile")
        u.wait_for(r'audit: login refused: login="alice" kind=user account=alice .*'
                   r'reason="account inactive"')
        q.ok('ud.put user {"id": "alice", "login": "alice", "active": true}')
        expect(during(lambda: q.ok(f"ud.passwd alice {new_phc}")), "EACCES",
               "a new password meanwhile")
        u.wait_for(r'audit: login failed: login="alice" kind=user method=uc-password .*'
                   r'reason="the password was changed while the login ran"')
        expect(login(p, "alice", "new"), "ok", "the new password")
        p.ok(f"auth.passwd user alice {hx('right')}")
        expect(during(lambda: q.ok("ud.remove user alice")), "EACCES", "removed meanwhile")
        u.wait_for(r'audit: login failed: login="alice" .*reason="the account was removed while '
                   r'the login ran"')
        # an administrator whose password the tool changes meanwhile
        p.ok(f"auth.passwd admin root {hx('right')}")
        expect(during(lambda: None, kind="admin", name="root"), "ok", "admin, no change")

        def tool():
            rc, _, err = passwd_tool("admin", "--state-dir", u.state, "--memory", "1024",
                                     "--iterations", "1", "root", password="new")
            check(rc == 0, err)

        expect(during(tool, kind="admin", name="root"), "EACCES", "admin, new password meanwhile")
        u.wait_for(r'audit: login failed: login="root" kind=admin .*reason="the password was '
                   r'changed while the login ran"')
        expect(login(p, "root", "new", kind="admin"), "ok", "the tool's password")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        u.close()


# ---- directory login ----

PEOPLE = "ou=people,dc=example,dc=com"

LDIF = """dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice Example
sn: Example
userPassword: alice-dir-pw

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob Example
sn: Example
userPassword: bob-dir-pw

dn: uid=dave,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: dave
cn: Dave Example
sn: Example
userPassword: dave-dir-pw

dn: uid=twin,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: twin
cn: Twin One
sn: One
userPassword: twin-pw

dn: cn=twin2,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: twin
cn: twin2
sn: Two
userPassword: twin-pw
"""


def slapd(tls=True, ldif=LDIF, **kw):
    """A slapd with the test entries; with TLS it refuses every simple bind
    that is not protected by TLS (tls_only), so a client that skipped
    StartTLS fails instead of binding in clear text."""
    from slapd import Slapd
    return Slapd(ldif=ldif, tls=tls, tls_only=tls, **kw)


def dead_port():
    """A loopback port nobody listens on (a directory that is down)."""
    from slapd import free_port
    return free_port()


def refused_start(u, what):
    """ucsd must refuse to start (auth is critical and its section is bad)."""
    u.start(wait=False)
    try:
        rc = u.wait_exit()
    except subprocess.TimeoutExpired:
        raise Failure(f"{what}: ucsd started, the auth section was accepted") from None
    check(rc == 1, f"{what}: exit status {rc}")


def no_entry(u, login):
    """The audit line of a login that is not in the user store and that the
    directory search (escaped) found no entry for."""
    from re import escape
    u.wait_for(r'audit: login failed: login="' + escape(login) + r'" kind=user method=ldap .*'
               r'reason="the login is not in the user store \(no directory entry for the '
               r'login\)"')


def ldap_ucsd(d, **ldap):
    section = {"base_dn": "ou=people,dc=example,dc=com", "filter": "(uid=%s)",
               "timeout_ms": 2000}
    section.update(ldap)
    return auth_ucsd({"method": "ldap", "ldap": section,
                      "max_failures_per_login": 3, "delay_base_ms": 0})


def ldap_users(p):
    add_user(p, "alice")
    add_user(p, "bob", active=False)
    add_user(p, "twin")
    add_user(p, "carol")  # in the store only


def ldap_basics(u, p):
    ans = expect(login(p, "alice", "alice-dir-pw"), "ok", "directory password")
    check(field(ans, "user") == "alice" and field(ans, "method") == "ldap", ans)
    expect(login(p, "alice", "wrong"), "EACCES", "wrong directory password")
    u.wait_for(r'audit: login failed: login="alice" kind=user method=ldap .*reason="bind: '
               r'Invalid credentials')
    # an empty password would be an unauthenticated bind that "succeeds"
    expect(login(p, "alice", ""), "EACCES", "empty password")
    u.wait_for(r'audit: login failed: login="alice" .*reason="empty password"')
    expect(login(p, "zed", "x"), "EACCES", "not in the directory")
    no_entry(u, "zed")
    # filter syntax in a login is just characters: escaped, the search finds
    # no entry (unescaped, "(uid=*)" would find five, and "(uid=alice)(uid=*)"
    # is no filter at all)
    expect(login(p, "*", "alice-dir-pw"), "EACCES", "a login of *")
    no_entry(u, "*")
    expect(login(p, "alice)(uid=*", "alice-dir-pw"), "EACCES", "filter injection")
    no_entry(u, "alice)(uid=*")
    expect(login(p, "twin", "twin-pw"), "EACCES", "two entries match")
    u.wait_for(r'reason="the login matches several directory entries"')
    p.ok("auth.release alice")
    expect(login(p, "alice", "alice-dir-pw"), "ok", "again")


def ldap_ldaps():
    d = slapd()
    u = None
    try:
        pwfile = os.path.join(d.dir, "bind.pw")
        with open(pwfile, "w") as f:
            f.write(d.admin_password + "\n")
        u = ldap_ucsd(d, url=d.ldaps_url, ca_file=d.ca_file, bind_dn=d.admin_dn,
                      bind_password_file=pwfile)
        u.start()
        u.wait_for(r"info \[auth\] users log in with a directory bind \(ldaps://127\.0\.0\.1:\d+, "
                r"TLS\), administrators with their own accounts")
        p = Probe(u)
        ldap_users(p)
        ldap_basics(u, p)
        # administrators keep their own accounts
        p.ok(f"auth.passwd admin root {hx('root pw')}")
        expect(login(p, "root", "root pw", kind="admin"), "ok", "admin with method ldap")
        check(d.admin_password not in u.log(), "the bind password is not logged")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        d.close()


def ldap_starttls():
    d = slapd()
    u = None
    try:
        # anonymous search this time
        u = ldap_ucsd(d, url=d.url, starttls=True, ca_file=d.ca_file)
        u.start()
        u.wait_for(r"users log in with a directory bind \(ldap://127\.0\.0\.1:\d+, StartTLS\)")
        p = Probe(u)
        ldap_users(p)
        ldap_basics(u, p)
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        d.close()


def ldap_plain_refused():
    d = slapd(tls=False)
    u = None
    try:
        u = ldap_ucsd(d, url=d.url)
        u.start(wait=False)
        check(u.wait_exit() == 1, "a plain-text directory stops startup (auth is critical)")
        u.wait_for(r"error \[auth\] .*: ldap://127\.0\.0\.1:\d+ would carry passwords in plain "
                r"text: use ldaps://, set \"starttls\": true, or allow it with "
                r"\"allow_plain\": true")
        u.wait_for(r"critical plugin 'auth' failed to initialise")
    finally:
        if u:
            u.close()
        d.close()


def ldap_plain_allowed():
    d = slapd(tls=False)
    u = None
    try:
        u = ldap_ucsd(d, url=d.url, allow_plain=True)
        u.start()
        u.wait_for(r"users log in with a directory bind \(ldap://127\.0\.0\.1:\d+, PLAIN TEXT\)")
        p = Probe(u)
        ldap_users(p)
        expect(login(p, "alice", "alice-dir-pw"), "ok", "plain, allowed")
        expect(login(p, "alice", "nope"), "EACCES", "plain, wrong password")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        d.close()


def ldap_bad_ca():
    from slapd import make_certs
    d = slapd()
    u = None
    try:
        other = os.path.join(d.dir, "other")
        os.makedirs(other)
        other_ca, _, _ = make_certs(other)
        u = ldap_ucsd(d, url=d.ldaps_url, ca_file=other_ca)
        u.start()
        p = Probe(u)
        ldap_users(p)
        # a certificate from the wrong CA: the directory cannot be asked, and
        # that is not the user's failure (max 3 per login: 4 tries, no lockout)
        for _ in range(4):
            expect(login(p, "alice", "alice-dir-pw"), "EHOSTUNREACH", "wrong CA (ldaps)")
        u.wait_for(r'audit: login failed: login="alice" kind=user method=ldap .*reason="directory '
                r'unreachable: .*" \(not counted\)')
        check(not u.has(r"audit: lockout"), "no lockout for an unreachable directory")
        # StartTLS with the wrong CA, and with the system CAs (no ca_file)
        for ldap in ({"url": d.url, "starttls": True, "ca_file": other_ca},
                     {"url": d.ldaps_url}):
            section = {"base_dn": "ou=people,dc=example,dc=com", "timeout_ms": 2000}
            section.update(ldap)
            u.write_config({"dialplan": {"data_dir": DATA},
                            "auth": dict(CHEAP, method="ldap", ldap=section)})
            n = len(u.lines)
            u.signal(signal.SIGHUP)
            u.wait_for(r"\[core\] configuration reloaded", after=n)
            expect(login(p, "alice", "alice-dir-pw"), "EHOSTUNREACH", f"unverified {ldap}")
        # the right CA works on the same server
        section = {"base_dn": "ou=people,dc=example,dc=com", "url": d.ldaps_url,
                   "ca_file": d.ca_file}
        u.write_config({"dialplan": {"data_dir": DATA},
                        "auth": dict(CHEAP, method="ldap", ldap=section)})
        n = len(u.lines)
        u.signal(signal.SIGHUP)
        u.wait_for(r"\[core\] configuration reloaded", after=n)
        expect(login(p, "alice", "alice-dir-pw"), "ok", "the right CA")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        d.close()


def ldap_directory_down():
    d = slapd()
    u = None
    try:
        u = ldap_ucsd(d, url=d.ldaps_url, ca_file=d.ca_file, timeout_ms=1000)
        u.start()
        p = Probe(u)
        ldap_users(p)
        expect(login(p, "alice", "alice-dir-pw"), "ok", "directory up")
        d.stop()
        for _ in range(4):  # more than max_failures_per_login: not counted
            expect(login(p, "alice", "alice-dir-pw"), "EHOSTUNREACH", "directory down")
        u.wait_for(r'reason="directory unreachable: .*Can.t contact LDAP server.*" \(not counted\)')
        d.start()
        expect(login(p, "alice", "alice-dir-pw"), "ok", "directory back")
        # a directory that hangs: the timeout answers
        d.pause()
        t0 = time.monotonic()
        expect(login(p, "alice", "alice-dir-pw"), "EHOSTUNREACH", "directory hangs")
        waited = time.monotonic() - t0
        check(waited < 8, f"answered after {waited:.1f}s (timeout_ms 1000)")
        d.resume()
        expect(login(p, "alice", "alice-dir-pw"), "ok", "directory resumed")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        d.close()


class SilentDirectory:
    """A loopback listener that accepts connections and never answers: a
    hung directory, or a load balancer in front of a dead one. With
    grant_starttls it answers the StartTLS request with success and then
    leaves the TLS handshake unanswered."""

    def __init__(self, grant_starttls=False):
        import socket
        import threading
        self.grant_starttls = grant_starttls
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _starttls_granted(self, c):
        """Reads the StartTLS request and answers it: an ExtendedResponse
        (application 24) with resultCode success under the request's
        message ID."""
        c.settimeout(5)
        req = c.recv(4096)
        at = 2 + (req[1] & 0x7f if req[1] & 0x80 else 0)  # past SEQUENCE and its length
        msgid = req[at:at + 2 + req[at + 1]]  # INTEGER tag, length, value
        oid = b"1.3.6.1.4.1.1466.20037"
        body = b"\x0a\x01\x00\x04\x00\x04\x00" + bytes([0x8a, len(oid)]) + oid
        msg = msgid + bytes([0x78, len(body)]) + body
        c.sendall(bytes([0x30, len(msg)]) + msg)

    def _serve(self):
        import socket
        while self.running:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            self.conns.append(c)
            if self.grant_starttls:
                try:
                    self._starttls_granted(c)
                except (OSError, IndexError):
                    pass

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()
        for c in self.conns:
            c.close()


def cpu_seconds(u):
    """ucsd's CPU time so far (user + system), from /proc/PID/stat."""
    with open(f"/proc/{u.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


HANG_TIMEOUT_MS = 3000


def hanging_login(u, p, what):
    """A login against a directory that hangs: -EHOSTUNREACH once timeout_ms
    has passed, with ucsd idle meanwhile (libldap 2.5 retries the handshake
    read without waiting while a network timeout is set)."""
    cpu0, t0 = cpu_seconds(u), time.monotonic()
    ans = login(p, "alice", "alice-dir-pw")
    waited = time.monotonic() - t0
    cpu = cpu_seconds(u) - cpu0
    print(f"# {what}: {status(ans)} after {waited:.2f} s, ucsd used {cpu:.2f} s CPU "
          f"({cpu / waited:.0%})")
    expect(ans, "EHOSTUNREACH", what)
    timeout = HANG_TIMEOUT_MS / 1000
    check(timeout - 0.2 <= waited < timeout + 3,
          f"{what}: answered after {waited:.1f} s (timeout_ms {HANG_TIMEOUT_MS})")
    check(cpu < 0.3 * waited, f"{what}: ucsd used {cpu:.2f} s CPU in {waited:.1f} s "
          f"({cpu / waited:.0%}) while the directory hung")
    u.wait_for(r'audit: login failed: login="alice" kind=user method=ldap .*reason="directory '
               r'unreachable: .*no answer within 3000 ms.*" \(not counted\)')


def stop_during_handshake(u, p, what):
    """SIGTERM while a login hangs in the handshake: the watchdog still ends
    the (now blocking) handshake at the deadline, so ucsd exits cleanly
    within it and the host's 5 s wait for pool jobs, without answering."""
    p.sock.sendall(f"auth.login user alice {hx('alice-dir-pw')} 127.0.0.1\n".encode())
    time.sleep(1.0)
    check(not answered(p), f"{what}: answered before the stop")
    t0 = time.monotonic()
    try:
        rc = u.stop(timeout=10)[0]
    except subprocess.TimeoutExpired:
        raise Failure(f"{what}: ucsd did not exit within 10 s of SIGTERM")
    took = time.monotonic() - t0
    print(f"# {what}: exit {rc} after {took:.2f} s")
    check(rc == 0 and took < HANG_TIMEOUT_MS / 1000,
          f"{what}: exit {rc} after {took:.1f} s (want 0 within the login's timeout)")
    check(not u.has(r"thread-pool job"), f"{what}: a directory login outlived the stop")


LONG_TIMEOUT_MS = 20000


def stop_cuts_handshake(d, scheme, starttls, what):
    """With a timeout_ms far beyond the host's 5 s wait for pool jobs, a
    SIGTERM 1 s into a hanging handshake must not wait for the watchdog's
    deadline: the plugin's stop cuts every directory connection at once, so
    ucsd exits 0 within 3 s and no pool job outlives the stop."""
    hole = SilentDirectory(grant_starttls=starttls)
    u = None
    try:
        u = ldap_ucsd(d, url=f"{scheme}://127.0.0.1:{hole.port}", starttls=starttls,
                      ca_file=d.ca_file, timeout_ms=LONG_TIMEOUT_MS)
        u.start()
        p = Probe(u)
        ldap_users(p)
        p.sock.sendall(f"auth.login user alice {hx('alice-dir-pw')} 127.0.0.1\n".encode())
        time.sleep(1.0)
        check(not answered(p), f"{what}: answered before the stop")
        check(len(hole.conns) == 1, f"{what}: {len(hole.conns)} connections to the directory "
              "before the stop (want the one hanging handshake)")
        try:
            rc, took = u.stop(timeout=30)
        except subprocess.TimeoutExpired:
            raise Failure(f"{what}: ucsd did not exit within 30 s of SIGTERM")
        print(f"# {what}: exit {rc} after {took:.2f} s (timeout_ms {LONG_TIMEOUT_MS})")
        check(rc == 0 and took < 3.0, f"{what}: exit {rc} after {took:.1f} s "
              f"(want 0 within 3 s; timeout_ms {LONG_TIMEOUT_MS})")
        check(not u.has(r"thread-pool jobs? still running"),
              f"{what}: a directory login outlived the stop")
    finally:
        hole.close()
        if u:
            u.close()


def ldap_handshake_idle():
    """A directory that accepts connections but never completes the TLS
    handshake - a black hole, or a SIGSTOPped slapd - over ldaps:// and with
    StartTLS: every login answers -EHOSTUNREACH after timeout_ms, ucsd stays
    idle while it waits, a working directory still works, and ucsd stops
    cleanly while a handshake hangs - at once, also when timeout_ms is longer
    than the host waits for pool jobs."""
    d = slapd()
    u = None
    try:
        cases = [("ldaps://, black hole", "ldaps", False, None),
                 ("StartTLS granted, then a black hole", "ldap", True, None),
                 ("ldaps://, slapd stopped", "ldaps", False, d),
                 ("StartTLS, slapd stopped", "ldap", True, d)]
        for what, scheme, starttls, directory in cases:
            hole = None if directory else SilentDirectory(grant_starttls=starttls)
            try:
                if hole:
                    url = f"{scheme}://127.0.0.1:{hole.port}"
                else:
                    url = d.ldaps_url if scheme == "ldaps" else d.url
                u = ldap_ucsd(d, url=url, starttls=starttls, ca_file=d.ca_file,
                              timeout_ms=HANG_TIMEOUT_MS)
                u.start()
                p = Probe(u)
                ldap_users(p)
                if directory:
                    expect(login(p, "alice", "alice-dir-pw"), "ok", f"{what}: before")
                    directory.pause()
                hanging_login(u, p, what)
                if directory:
                    directory.resume()
                    expect(login(p, "alice", "alice-dir-pw"), "ok", f"{what}: resumed")
                    directory.pause()
                stop_during_handshake(u, p, what)
            finally:
                d.resume()
                if hole:
                    hole.close()
                if u:
                    u.close()
                    u = None
        stop_cuts_handshake(d, "ldaps", False, "ldaps://, black hole, stop")
        stop_cuts_handshake(d, "ldap", True, "StartTLS granted, then a black hole, stop")
    finally:
        if u:
            u.close()
        d.close()


def ldap_not_in_store():
    d = slapd(modules=("lastbind",), overlays="overlay lastbind")
    u = None
    try:
        u = ldap_ucsd(d, url=d.ldaps_url, ca_file=d.ca_file)
        u.start()
        p = Probe(u)
        ldap_users(p)
        # dave is in the directory only: refused without a bind as his entry
        expect(login(p, "dave", "dave-dir-pw"), "EACCES", "not in the user store")
        u.wait_for(r'audit: login failed: login="dave" kind=user method=ldap .*reason="the '
                   r'login is not in the user store \(a directory entry matches; it was not '
                   r'tried\)"')
        # the lastbind overlay stamps every successful bind: alice's login
        # stamps hers, dave's entry was never bound as
        expect(login(p, "alice", "alice-dir-pw"), "ok", "alice, for the stamp")
        check("authTimestamp:" in d.search(f"uid=alice,{PEOPLE}", "(objectClass=*)",
                                           "authTimestamp"), "the overlay stamps binds")
        check("authTimestamp:" not in d.search(f"uid=dave,{PEOPLE}", "(objectClass=*)",
                                               "authTimestamp"),
              "no bind as the entry of a login that is not in the user store")
        # carol is in the store only: the directory decides, and says no
        expect(login(p, "carol", "anything"), "EACCES", "not in the directory")
        # bob is inactive: refused only with the right password
        expect(login(p, "bob", "bob-dir-pw"), "EPERM", "inactive, right password")
        expect(login(p, "bob", "wrong"), "EACCES", "inactive, wrong password")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        d.close()


def ldap_url_list():
    """A list of URLs: split like libldap (commas and blanks) and every URL
    checked; tried one at a time, with StartTLS decided for each URL. slapd
    refuses binds without TLS, so a skipped StartTLS fails the login."""
    d = slapd()
    u = None
    try:
        dead, dead2 = dead_port(), dead_port()
        # a plain URL behind a comma is a plain URL
        u = ldap_ucsd(d, url=f"ldaps://127.0.0.1:{dead},{d.url}", ca_file=d.ca_file)
        refused_start(u, "a plain URL after a comma")
        u.wait_for(rf"error \[auth\] .*: ldap://127\.0\.0\.1:{d.port} would carry passwords "
                   r"in plain text")
        u.close()
        # the first directory is down: the second one, ldap://, gets StartTLS
        for sep in (" ", ",", ", ", "\t"):
            u = ldap_ucsd(d, url=f"ldaps://127.0.0.1:{dead}{sep}{d.url}", starttls=True,
                          ca_file=d.ca_file)
            u.start()
            u.wait_for(rf"users log in with a directory bind \(ldaps://127\.0\.0\.1:{dead}, TLS; "
                       rf"ldap://127\.0\.0\.1:{d.port}, StartTLS\)")
            p = Probe(u)
            ldap_users(p)
            expect(login(p, "alice", "alice-dir-pw"), "ok", f"fail-over, StartTLS ({sep!r})")
            expect(login(p, "alice", "wrong"), "EACCES", "fail-over, wrong password")
            u.wait_for(r'login="alice" kind=user method=ldap .*reason="bind: Invalid credentials')
            check(u.stop()[0] == 0, "clean exit")
            u.close()
        # the other way round: ldap:// down, ldaps:// answers
        u = ldap_ucsd(d, url=f"ldap://127.0.0.1:{dead},{d.ldaps_url}", starttls=True,
                      ca_file=d.ca_file)
        u.start()
        p = Probe(u)
        ldap_users(p)
        expect(login(p, "alice", "alice-dir-pw"), "ok", "fail-over to ldaps://")
        check(u.stop()[0] == 0, "clean exit")
        u.close()
        # all down: unreachable, not counted, every URL named
        u = ldap_ucsd(d, url=f"ldaps://127.0.0.1:{dead} ldap://127.0.0.1:{dead2}",
                      starttls=True, ca_file=d.ca_file)
        u.start()
        p = Probe(u)
        ldap_users(p)
        for _ in range(4):
            expect(login(p, "alice", "alice-dir-pw"), "EHOSTUNREACH", "every URL down")
        u.wait_for(rf'reason="directory unreachable: ldaps://127\.0\.0\.1:{dead}: connect: '
                   rf"Can.t contact LDAP server; ldap://127\.0\.0\.1:{dead2}: connect: Can.t "
                   r'contact LDAP server" \(not counted\)')
        check(not u.has("audit: lockout"), "no lockout")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        d.close()


def ldap_search_errors():
    """A search the directory refuses (here: "restrict search", answered
    unwillingToPerform) is not the user's failure: unreachable, not counted,
    the reason logged. A filter that is not one LDAP filter, or has %s
    outside a value, stops startup."""
    d = slapd(overlays="restrict search")
    u = None
    try:
        u = ldap_ucsd(d, url=d.ldaps_url, ca_file=d.ca_file)
        u.start()
        p = Probe(u)
        ldap_users(p)
        for _ in range(4):  # max_failures_per_login is 3
            expect(login(p, "alice", "alice-dir-pw"), "EHOSTUNREACH", "search refused")
        expect(login(p, "zed", "x"), "EHOSTUNREACH", "search refused, login not in the store")
        u.wait_for(r'audit: login failed: login="alice" kind=user method=ldap .*reason="directory '
                   r'unreachable: search: Server is unwilling to perform \(operation '
                   r'restricted\)" \(not counted\)')
        check(not u.has("audit: lockout"), "no lockout for a search the directory refused")
        check(u.stop()[0] == 0, "clean exit")
        u.close()
        for filt in ("(uid=%s))((objectClass=*)", "(&(uid=%s)", "(uid=%s)(cn=x)",
                     "(%s=alice)", "(|)(uid=%s)", "(uid=%s\\zz)"):
            u = ldap_ucsd(d, url=d.ldaps_url, ca_file=d.ca_file, filter=filt)
            refused_start(u, f"filter {filt!r}")
            u.wait_for(r"error \[auth\] .*: the filter must be one LDAP filter in balanced "
                       r"parentheses holding %s for the login inside a value")
            u.close()
        u = None
    finally:
        if u:
            u.close()
        d.close()


STORE_LDIF = """dn: ou=people,dc=example,dc=com
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice Example
sn: Example
mail: alice@example.com
userPassword: alice-dir-pw

dn: uid=mallory,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: mallory
cn: Mallory Example
sn: Example
mail: alice
userPassword: mallory-pw

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob Example
sn: Example
mail: bob
userPassword: bob-dir-pw
"""


def ldap_store_dn():
    """The user store is the directory (userdb-ldap fills each user's DN):
    the entry the login search finds must be the store user's. Here the
    operator's filter matches mail, and mallory's mail is "alice": binding
    as the entry found would let mallory's password open alice's account."""
    d = slapd(ldif=STORE_LDIF)
    u = None
    try:
        store = {"url": d.ldaps_url, "ca_file": d.ca_file, "schema": "openldap",
                 "bind_dn": d.admin_dn, "password": d.admin_password,
                 "base": "dc=example,dc=com",
                 "users": {"base": PEOPLE, "filter": "(objectClass=inetOrgPerson)"},
                 "network_timeout": 2, "search_timeout": 2, "sync_interval": 3600,
                 "retry_max": 1}
        auth = dict(CHEAP, method="ldap", max_failures_per_login=5, delay_base_ms=0,
                    ldap={"url": d.ldaps_url, "ca_file": d.ca_file, "base_dn": PEOPLE,
                          "filter": "(mail=%s)", "timeout_ms": 2000})
        u = Ucsd(plugins=["svcprobe"], tree_plugins=["dialplan", "userdb-ldap", "auth"],
                 config={"plugins": {"disabled": ["userdb-file"]},
                         "dialplan": {"data_dir": DATA}, "userdb-ldap": store, "auth": auth})
        u.start()
        u.wait_for(r"info \[userdb-ldap\] (read|sync:) 3 users")
        p = Probe(u)
        alice = json.loads(p.ok("ud.login alice"))
        bob = json.loads(p.ok("ud.login bob"))
        check(alice["dn"] == f"uid=alice,{PEOPLE}", f"the store has alice's DN: {alice}")
        # "(mail=alice)" finds mallory's entry: not alice's, refused before any bind
        expect(login(p, "alice", "mallory-pw"), "EACCES", "mallory's password for alice")
        u.wait_for(r'audit: login failed: login="alice" kind=user method=ldap .*reason="the '
                   r'directory entry found is not the user store\'s \(uid=mallory,ou=people,'
                   r'dc=example,dc=com vs uid=alice,ou=people,dc=example,dc=com\)"')
        check(not u.has(r"audit: login accepted: login=\"alice\""), "alice never got in")
        # an entry that is the store user's (any spelling of the login)
        for typed in ("bob", "BOB"):
            ans = expect(login(p, typed, "bob-dir-pw"), "ok", f"bob's own entry ({typed})")
            check(field(ans, "user") == bob["id"], ans)
        expect(login(p, "bob", "alice-dir-pw"), "EACCES", "bob, wrong password")
        check(u.stop()[0] == 0, "clean exit")
    finally:
        if u:
            u.close()
        d.close()


if __name__ == "__main__":
    main({f.__name__: f for f in (
        uc_password, unknown_and_inactive, lockout_and_release, lockout_expires,
        lockout_refuses_right_password, address_lockout, ipv6_prefix, timing_independent,
        audit_no_password, admin_accounts, admin_file_broken, rehash_on_login,
        cancel_and_stop, queue_limit, ldap_ldaps, ldap_starttls, ldap_plain_refused,
        ldap_plain_allowed, ldap_bad_ca, ldap_directory_down, ldap_not_in_store,
        timing_after_cost_change, admins_concurrent, inflight_change, ldap_url_list,
        ldap_search_errors, ldap_store_dn, ldap_handshake_idle)})
