#!/usr/bin/python3
"""tests/bench/dialplan_corpus.py - the number corpus of the dialplan benchmarks.

    dialplan_corpus.py SOURCE_ROOT [COUNT] > corpus.txt

Writes COUNT (default 12,000) German numbers, one per line, as a PBX or a person in Germany
writes them: national form with the trunk prefix ("089 1234567", "0151/2345678") and the two
international forms ("+49 89 1234567", "0049891234567"). The numbers are made from the area
codes in config/default/cities.xml and the mobile prefixes, with seeded random subscriber
numbers, and kept only when libphonenumber says they are valid - so both sides of the
comparison (tests/bench/bench_libphonenumber.cc) must agree on every one.

Debian's /usr/bin/python3 (python3-phonenumbers); stdlib + phonenumbers.
"""

import os
import random
import re
import sys

import phonenumbers

SEED = 4989


def area_codes(root):
    with open(os.path.join(root, "config", "default", "cities.xml"), encoding="utf-8") as f:
        return sorted(set(re.findall(r'ID="\+49(\d+)"', f.read())))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    root = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 12000
    rng = random.Random(SEED)
    areas = area_codes(root)
    mobile = ["151", "152", "157", "159", "160", "162", "163", "170", "171", "172", "173",
              "174", "175", "176", "177", "178", "179"]
    seen = set()
    out = []
    while len(out) < count:
        if rng.random() < 0.3:
            area = rng.choice(mobile)
            sub_len = 8 if area.startswith("15") else rng.choice((7, 8))
        else:
            area = rng.choice(areas)
            sub_len = rng.randint(max(3, 6 - len(area) // 2), 11 - len(area))
        sub = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789")
                                               for _ in range(sub_len - 1))
        n = phonenumbers.parse("+49" + area + sub, None)
        if not phonenumbers.is_valid_number(n) or area + sub in seen:
            continue
        seen.add(area + sub)
        form = rng.randrange(5)
        if form == 0:
            out.append("0%s %s" % (area, sub))
        elif form == 1:
            out.append("0%s/%s" % (area, sub))
        elif form == 2:
            out.append("0%s%s" % (area, sub))
        elif form == 3:
            out.append("+49 %s %s" % (area, sub))
        else:
            out.append("0049%s%s" % (area, sub))
    sys.stdout.write("".join(line + "\n" for line in out))


if __name__ == "__main__":
    main()
