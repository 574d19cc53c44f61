#!/usr/bin/env python3
"""Prints the one closing line CI reads: 'N passed, N failed[, N skipped]'.

Counts from meson's machine-readable test log (meson-logs/testlog.json, one
JSON object per test), so the number is what really ran. Exit status 1 when
any test failed or none ran at all.
"""
import json
import sys


def main() -> int:
    passed = failed = skipped = 0
    try:
        with open(sys.argv[1]) as f:
            for line in f:
                if not line.strip():
                    continue
                result = json.loads(line).get("result", "")
                if result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif result == "SKIP":
                    skipped += 1
                else:  # FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS
                    failed += 1
    except OSError as e:
        print(f"no test log: {e}", file=sys.stderr)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
