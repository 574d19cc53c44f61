"""tools/ucs-dialplan/test_edit.py UCS_DIALPLAN SOURCE_ROOT - rule list and LCR
import/export through ucs-dialplan: round trips in CSV and XML, an import
that takes effect, and imports that must change nothing (a bad regex; a
file that breaks the whole configuration, which is put back byte for byte).
"""
import os
import shutil
import subprocess
import sys
import tempfile

EXE, SRC = sys.argv[1], sys.argv[2]
DATA = os.path.join(SRC, "config", "default")
FIXTURES = os.path.join(SRC, "plugins", "dialplan", "tests", "fixtures")
failures = []


def run(d, *args, stdin=None):
    r = subprocess.run([EXE, "-c", d, "--data-dir", DATA, "-l", "Starnberg", *args],
                       capture_output=True, text=True, input=stdin)
    return r.returncode, r.stdout, r.stderr


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def locations(d):
    with open(os.path.join(d, "locations.xml"), "rb") as f:
        return f.read()


def main():
    d = tempfile.mkdtemp(prefix="ucs-dialplan-edit-")
    try:
        shutil.copy(os.path.join(FIXTURES, "locations.xml"), d)

        # CSV round trip with a pattern that needs quoting
        # the pattern holds a comma and must be quoted; the exporter quotes only
        # fields that need it, so this text comes back byte for byte
        csv = ('search,replace,regex\n"^8(\\d{1,2})$",+498151368568\\1,true\n'
               '2000,+4981513685699,false\n')
        path = os.path.join(d, "in.csv")
        open(path, "w").write(csv)
        rc, out, err = run(d, "import-rules", "internal", path)
        check(rc == 0 and "2 rules imported into <internal>" in err, f"csv import: {rc} {err}")
        check(os.path.exists(os.path.join(d, "locations.xml.bak")), "backup kept")
        rc, out, err = run(d, "export-rules", "internal", "--csv")
        check(rc == 0 and out == csv, f"csv round trip:\n{out!r}\n{csv!r}")

        # XML round trip: export, import the export, export again: identical
        rc, xml1, err = run(d, "export-rules", "dial")
        path = os.path.join(d, "dial.xml")
        open(path, "w").write(xml1)
        rc, out, err = run(d, "import-rules", "dial", path)
        check(rc == 0, f"xml import: {err}")
        rc, xml2, err = run(d, "export-rules", "dial")
        check(xml1 == xml2 and "^\\+4989777" in xml1, f"xml round trip:\n{xml1}\n{xml2}")

        # an imported rule takes effect
        open(os.path.join(d, "ext.csv"), "w").write(
            "search,replace,regex\n^11[02]$,,true\n^99$,,true\n")
        rc, out, err = run(d, "import-rules", "external", os.path.join(d, "ext.csv"))
        check(rc == 0, f"external import: {err}")
        rc, out, err = run(d, "called", "99", "--json")
        check(rc == 0 and '"internal":false' in out, f"imported external rule: {out}")

        # LCR: export, change a provider's prefix, import, dial with it
        rc, lcr, err = run(d, "export-lcr")
        check(rc == 0 and '<lcr location="Starnberg">' in lcr, f"lcr export: {lcr}")
        path = os.path.join(d, "x.lcrxml")
        open(path, "w").write(lcr.replace('prefix="01013"', 'prefix="01088"'))
        rc, out, err = run(d, "import-lcr", path)
        check(rc == 0, f"lcr import: {err}")
        rc, out, err = run(d, "dial", "01761234567", "--at", "2026-11-26 10:00", "--json")
        check('"result":"00108801761234567"' in out, f"imported LCR applies: {out}")

        # a bad regex: refused with its position, the file untouched
        before = locations(d)
        open(os.path.join(d, "bad.csv"), "w").write('search,replace,regex\n"^9(\\d{3}$",x,true\n')
        rc, out, err = run(d, "import-rules", "internal", os.path.join(d, "bad.csv"))
        check(rc == 1 and "bad.csv:2:" in err and "missing closing parenthesis" in err,
              f"bad regex: {rc} {err}")
        check(locations(d) == before, "file untouched after a refused import")

        # a malformed CSV: refused with the line
        open(os.path.join(d, "q.csv"), "w").write('search,replace,regex\n"^1,2,true\n')
        rc, out, err = run(d, "import-rules", "internal", os.path.join(d, "q.csv"))
        check(rc == 1 and "unterminated quote" in err, f"bad csv: {err}")
        check(locations(d) == before, "file untouched after a malformed CSV")

        # an LCR that names an unknown provider breaks the whole file:
        # written, found invalid, and the previous file put back
        open(path, "w").write('<lcr><zone name="z"><prefix>+49</prefix>'
                              '<assign day="sunday" provider="Nobody"/></zone></lcr>')
        rc, out, err = run(d, "import-lcr", path)
        check(rc == 1 and "does not validate" in err and "Nobody" in err, f"invalid lcr: {err}")
        check(locations(d) == before, "file restored byte for byte")

        # unknown list, usage
        rc, out, err = run(d, "export-rules", "nosuch")
        check(rc == 1 and "unknown rule list" in err, f"unknown list: {err}")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print(f"{'FAILED' if failures else 'ok'}: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
