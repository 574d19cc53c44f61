"""tests/integration/slapd.py - a real OpenLDAP slapd for a test.

Starts Debian's /usr/sbin/slapd in the foreground on loopback ports picked at
run time, with a throw-away slapd.conf, an mdb database under a temporary
directory and an optional LDIF loaded with slapadd before the start. With
tls=True it makes a CA and a server certificate (openssl) for 127.0.0.1 and
localhost, and serves ldaps:// on a second port as well as StartTLS on the
ldap:// port (use the 127.0.0.1 URLs: "localhost" may resolve to ::1,
where slapd does not listen). stop() kills it and removes everything; it is also a context
manager. Only the standard library and Debian's slapd, ldap-utils, openssl.

    with Slapd(ldif=TEXT, tls=True, tls_only=True) as d:
        d.url, d.ldaps_url, d.base, d.admin_dn, d.admin_password, d.ca_file
        d.modify(LDIF)   # ldapmodify as the admin
        d.pause() / d.resume()   # SIGSTOP/SIGCONT: a directory that hangs
        d.stop(); d.start()      # a directory that goes away and comes back
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_certs(directory, names=("localhost",), ips=("127.0.0.1",)):
    """A CA and a server certificate signed by it; returns (ca, cert, key)."""
    ca_key = os.path.join(directory, "ca.key")
    ca = os.path.join(directory, "ca.pem")
    key = os.path.join(directory, "server.key")
    csr = os.path.join(directory, "server.csr")
    cert = os.path.join(directory, "server.pem")
    ext = os.path.join(directory, "san.ext")
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=ucsd test CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", f"/CN={names[0]}")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    for p in (key, cert, ca):
        os.chmod(p, 0o644)
    return ca, cert, key


class Slapd:
    def __init__(self, ldif="", base="dc=example,dc=com", tls=False,
                 schemas=("core", "cosine", "inetorgperson", "nis"), extra_schema="",
                 modules=(), overlays="", admin_password="secret", size_limit=None,
                 tls_only=False):
        self.dir = tempfile.mkdtemp(prefix="slapd-test-")
        self.base = base
        self.admin_dn = f"cn=admin,{base}"
        self.admin_password = admin_password
        self.tls = tls
        # tls_only: every simple bind (the admin's too) needs TLS, so a client
        # that skips StartTLS fails instead of silently binding in clear text.
        self.tls_only = tls and tls_only
        self.port = free_port()
        self.ldaps_port = free_port() if tls else None
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.ldaps_url = f"ldaps://127.0.0.1:{self.ldaps_port}" if tls else None
        self.ca_file = None
        self.proc = None
        self.log_path = os.path.join(self.dir, "slapd.log")
        db = os.path.join(self.dir, "db")
        os.makedirs(db)
        conf = [f"modulepath {MODULE_DIR}", "moduleload back_mdb"]
        conf += [f"moduleload {m}" for m in modules]
        conf += [f"include {SCHEMA_DIR}/{s}.schema" for s in schemas]
        if extra_schema:
            path = os.path.join(self.dir, "extra.schema")
            with open(path, "w") as f:
                f.write(extra_schema)
            conf.append(f"include {path}")
        conf += [f"pidfile {self.dir}/slapd.pid", f"argsfile {self.dir}/slapd.args"]
        if tls:
            self.ca_file, cert, key = make_certs(self.dir)
            conf += [f"TLSCACertificateFile {self.ca_file}", f"TLSCertificateFile {cert}",
                     f"TLSCertificateKeyFile {key}"]
        if self.tls_only:
            conf.append("security simple_bind=64")
        if size_limit is not None:
            conf.append(f"sizelimit {size_limit}")
        conf += ["database mdb", "maxsize 1073741824", f"suffix \"{base}\"",
                 f"rootdn \"{self.admin_dn}\"", f"rootpw {admin_password}",
                 f"directory {db}", "index objectClass eq", "index entryUUID eq"]
        if overlays:
            conf.append(overlays)
        # Users may read everything but passwords and bind as themselves.
        conf += ["access to attrs=userPassword by self write by anonymous auth by * none",
                 "access to * by * read"]
        self.conf = os.path.join(self.dir, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        dc = base.split(",")[0].split("=")[1]
        root = (f"dn: {base}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n"
                f"o: {dc}\ndc: {dc}\n\n")
        try:
            self.add_offline(root + (ldif or ""))
            self.start()
        except BaseException:
            self.close()
            raise

    def add_offline(self, ldif):
        """slapadd (only while slapd is stopped)."""
        path = os.path.join(self.dir, "load.ldif")
        with open(path, "w") as f:
            f.write(ldif)
        r = subprocess.run([SLAPADD, "-f", self.conf, "-l", path], capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(f"slapadd failed: {r.stderr.decode(errors='replace')}")

    def start(self, timeout=10):
        urls = self.url + (f" {self.ldaps_url}" if self.tls else "")
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([SLAPD, "-d", "0", "-f", self.conf, "-h", urls],
                                     stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited ({self.proc.returncode}):\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"slapd did not listen within {timeout}s:\n{self.log()}")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def ldap_env(self):
        env = dict(os.environ)
        if self.ca_file:
            env["LDAPTLS_CACERT"] = self.ca_file
        return env

    def modify(self, ldif, add=False):
        """ldapmodify as the admin (add=True: ldapadd)."""
        args = ["ldapmodify", "-x", "-H", self.url, "-D", self.admin_dn, "-w", self.admin_password]
        if self.tls_only:
            args.append("-ZZ")
        if add:
            args.append("-a")
        r = subprocess.run(args, input=ldif, capture_output=True, text=True, env=self.ldap_env())
        if r.returncode != 0:
            raise RuntimeError(f"ldapmodify failed: {r.stderr}")

    def search(self, base=None, filt="(objectClass=*)", *attrs):
        args = ["ldapsearch", "-x", "-LLL", "-H", self.url, "-D", self.admin_dn, "-w",
                self.admin_password, "-b", base or self.base, filt] + list(attrs)
        if self.tls_only:
            args.insert(2, "-ZZ")
        r = subprocess.run(args, capture_output=True, text=True, env=self.ldap_env())
        if r.returncode != 0:
            raise RuntimeError(f"ldapsearch failed: {r.stderr}")
        return r.stdout

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
