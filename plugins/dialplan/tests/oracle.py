#!/usr/bin/python3
"""plugins/dialplan/tests/oracle.py - the dialplan's canonical numbers against libphonenumber.

    oracle.py UCS_DIALPLAN_EXE SOURCE_ROOT [--dump DIR] [--trunk-zero]

Builds a corpus of valid numbers of DE, AT, CH, US, GB and FR (seeded, so every run sees the
same numbers): libphonenumber's example number of every number type, with the last digits
changed, kept only when libphonenumber says the result is valid. Each number is written the
ways people write it - national form with the trunk prefix (spaces, dashes, slashes, brackets
or none), "+CC ..." and the international prefix ("0049 ...", "011 1 ..."). Each country's
location in fixtures-oracle/locations.xml (no PBX, so no access code or extension range
interferes) gets its own numbers in every form and a sample of the other countries' numbers
in international form, all at once through `ucs-dialplan ... caller - --json`.

Every "canonical" must equal phonenumbers.format_number(phonenumbers.parse(input, REGION),
E164). A difference fails the test unless DELIBERATE_DIFFERENCES lists it with its reason.
--dump DIR writes each location's inputs to DIR/REGION.txt (the benchmarks reuse them).
--trunk-zero adds the "+49 (0)89 1234567" form (the trunk prefix in brackets after the
country code, common on business cards in DE, AT, CH and GB). The pipeline keeps that 0 today
("+490891234567"), so the form is not part of the default corpus yet; see TRUNK_ZERO.

Run by meson under Debian's /usr/bin/python3 (python3-phonenumbers); stdlib + phonenumbers.
"""

import json
import os
import random
import re
import subprocess
import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

SEED = 20261126
NUMBERS_PER_COUNTRY = 360  # distinct valid numbers per country (>= 2,000 in all)
FOREIGN_PER_LOCATION = 60  # other countries' numbers fed to each location

# region -> (location in fixtures-oracle/locations.xml, international prefix)
LOCATIONS = {
    "DE": ("Munich", "00"),
    "AT": ("Vienna", "00"),
    "CH": ("Zurich", "00"),
    "US": ("NewYork", "011"),
    "GB": ("London", "00"),
    "FR": ("Paris", "00"),
}

TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]

# Differences that are intended, each with its reason. A difference is deliberate when its
# region matches and the regular expression matches the input as written. Keep this short:
# every entry is behaviour a user sees.
DELIBERATE_DIFFERENCES = [
    # {"region": "DE", "input": r"^...$", "reason": "..."},
]


def deliberate(region, text):
    for d in DELIBERATE_DIFFERENCES:
        if d["region"] == region and re.search(d["input"], text):
            return d["reason"]
    return None


def variants(rng, example, region):
    """Valid numbers of region made from example by changing its last digits."""
    nsn = phonenumbers.national_significant_number(example)
    cc = example.country_code
    out = []
    for _ in range(60):
        keep = len(nsn) - rng.randint(1, min(4, len(nsn) - 2))
        tail = len(nsn) - keep + rng.choice((-1, 0, 0, 0, 1))
        digits = nsn[:keep] + "".join(rng.choice("0123456789") for _ in range(max(tail, 1)))
        try:
            n = phonenumbers.parse("+%d%s" % (cc, digits), None)
        except phonenumbers.NumberParseException:
            continue
        if (
            phonenumbers.is_valid_number(n)
            and phonenumbers.region_code_for_number(n) == region
            and not n.italian_leading_zero
        ):
            out.append(n)
    return out


def corpus_numbers(rng, region):
    """NUMBERS_PER_COUNTRY distinct valid numbers of region, all types mixed."""
    examples = []
    for t in TYPES:
        ex = phonenumbers.example_number_for_type(region, t)
        if ex is not None and phonenumbers.is_valid_number(ex):
            examples.append(ex)
    seen = {}
    rounds = 0
    while len(seen) < NUMBERS_PER_COUNTRY and rounds < 200:
        rounds += 1
        for ex in examples:
            for n in variants(rng, ex, region):
                seen.setdefault(phonenumbers.format_number(n, PhoneNumberFormat.E164), n)
    keys = sorted(seen)
    rng.shuffle(keys)
    return [seen[k] for k in keys[:NUMBERS_PER_COUNTRY]]


def split(n):
    """(area or destination code, subscriber number) of a number's NSN."""
    nsn = phonenumbers.national_significant_number(n)
    k = phonenumbers.length_of_national_destination_code(n)
    if k <= 0 or k >= len(nsn):
        k = min(3, len(nsn) - 1)
    return nsn[:k], nsn[k:]


def group(rng, digits):
    """Subscriber digits as people write them: in one piece or in groups of 2-4."""
    style = rng.randint(0, 2)
    if style == 0 or len(digits) < 5:
        return digits
    sep = rng.choice((" ", " ", "-"))
    parts, i = [], 0
    while i < len(digits):
        step = rng.choice((2, 3, 4)) if style == 1 else 2
        parts.append(digits[i:i + step])
        i += step
    return sep.join(parts)


def national_forms(rng, n, region):
    """The number as written at home: trunk prefix, area code, subscriber number."""
    area, sub = split(n)
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
    if region == "US":
        # NANP: "1 212 555 0123", "(212) 555-0123", "212-555-0123" - the trunk prefix is
        # usually left out of a ten-digit number
        first = "%s %s %s" % (prefix, area, group(rng, sub))
        second = rng.choice(
            ("(%s) %s-%s" % (area, sub[:3], sub[3:]), "%s-%s-%s" % (area, sub[:3], sub[3:]),
             area + sub, "%s%s%s" % (prefix, area, sub)))
        return [first, second]
    written = phonenumbers.format_number(n, PhoneNumberFormat.NATIONAL)
    if not re.sub(r"\D", "", written).startswith(prefix):
        # libphonenumber writes some types without the trunk prefix (DE pagers: "1641233");
        # at home they are dialled with it, and without it they would be local numbers
        written = prefix + written
    styles = [
        "%s%s%s" % (prefix, area, sub),
        "%s%s %s" % (prefix, area, group(rng, sub)),
        "(%s%s) %s" % (prefix, area, group(rng, sub)),
        "%s%s-%s" % (prefix, area, sub),
        "%s%s/%s" % (prefix, area, group(rng, sub)),
        written,
    ]
    return rng.sample(styles, 2)


# The trunk prefix in brackets after the country code: "+49 (0)89 1234567" (business-card
# style). libphonenumber drops the 0, and so does dp_filter in an international number.
TRUNK_ZERO = True


def trunk_zero_form(rng, n, idd):
    area, sub = split(n)
    lead = rng.choice(("+%d" % n.country_code, "%s%d" % (idd, n.country_code)))
    return "%s (0)%s %s" % (lead, area, group(rng, sub))


def international_forms(rng, n, idd):
    """The number written for callers abroad: "+CC ..." and with an international prefix."""
    area, sub = split(n)
    cc = n.country_code
    plus = rng.choice((
        "+%d %s %s" % (cc, area, group(rng, sub)),
        "+%d%s%s" % (cc, area, sub),
        "+%d (%s) %s" % (cc, area, group(rng, sub)),
        phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL),
    ))
    prefixed = rng.choice((
        "%s%d%s%s" % (idd, cc, area, sub),
        "%s %d %s %s" % (idd, cc, area, group(rng, sub)),
        "%s-%d-%s-%s" % (idd, cc, area, sub),
    ))
    forms = [plus, prefixed]
    region = phonenumbers.region_code_for_number(n)
    if TRUNK_ZERO and phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix == "0":
        forms.append(trunk_zero_form(rng, n, idd))
    return forms


def build_inputs(rng):
    """region -> list of inputs to feed that region's location."""
    numbers = {r: corpus_numbers(rng, r) for r in LOCATIONS}
    inputs = {}
    for region, (_, idd) in LOCATIONS.items():
        own = []
        for n in numbers[region]:
            own += national_forms(rng, n, region)
            own += international_forms(rng, n, idd)
        foreign = [n for r in LOCATIONS if r != region for n in numbers[r]]
        for n in rng.sample(foreign, FOREIGN_PER_LOCATION):
            own += international_forms(rng, n, idd)
        inputs[region] = own
    return numbers, inputs


def run_checker(exe, config_dir, data_dir, location, lines):
    proc = subprocess.run(
        [exe, "-c", config_dir, "--data-dir", data_dir, "-l", location, "caller", "-", "--json"],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        sys.exit("oracle: %s exited with %d: %s" % (exe, proc.returncode, proc.stderr))
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(results) != len(lines):
        sys.exit("oracle: %d inputs for %s, %d results: %s" %
                 (len(lines), location, len(results), proc.stderr))
    return results


def main():
    args = sys.argv[1:]
    global TRUNK_ZERO
    dump = None
    if "--trunk-zero" in args:
        TRUNK_ZERO = True
        args.remove("--trunk-zero")
    if "--dump" in args:
        i = args.index("--dump")
        dump = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    exe, root = args
    config_dir = os.path.join(root, "plugins", "dialplan", "tests", "fixtures-oracle")
    data_dir = os.path.join(root, "config", "default")

    rng = random.Random(SEED)
    numbers, inputs = build_inputs(rng)
    print("oracle: libphonenumber %s, %d distinct numbers (%s)" % (
        phonenumbers.__version__, sum(len(v) for v in numbers.values()),
        ", ".join("%s %d" % (r, len(v)) for r, v in numbers.items())))
    for region, nums in numbers.items():
        kinds = {}
        for n in nums:
            t = phonenumbers.number_type(n)
            name = next(k for k, v in vars(PhoneNumberType).items() if v == t)
            kinds[name.lower()] = kinds.get(name.lower(), 0) + 1
        print("  %s: %s" % (region, ", ".join("%s %d" % kv for kv in sorted(kinds.items()))))
    if dump:
        os.makedirs(dump, exist_ok=True)
        for region, lines in inputs.items():
            with open(os.path.join(dump, region + ".txt"), "w", encoding="ascii") as f:
                f.writelines(line + "\n" for line in lines)

    failed = 0
    for region, (location, _) in LOCATIONS.items():
        lines = inputs[region]
        results = run_checker(exe, config_dir, data_dir, location, lines)
        equal, differ, known = 0, [], []
        for text, res in zip(lines, results):
            expected = phonenumbers.format_number(phonenumbers.parse(text, region),
                                                  PhoneNumberFormat.E164)
            got = res.get("canonical", "error: " + res.get("error", "?"))
            if got == expected:
                equal += 1
                continue
            reason = deliberate(region, text)
            (known if reason else differ).append((text, got, expected, reason))
        print("%s (%s): n=%d equal=%d differ=%d deliberate=%d" %
              (region, location, len(lines), equal, len(differ), len(known)))
        for text, got, expected, _ in differ:
            print("  DIFFER %-28r ours %-18s libphonenumber %s" % (text, got, expected))
        for text, got, expected, reason in known:
            print("  deliberate %-24r ours %-18s libphonenumber %s (%s)" %
                  (text, got, expected, reason))
        failed += len(differ)
    if failed:
        print("oracle: %d differences not listed in DELIBERATE_DIFFERENCES" % failed)
        return 1
    print("oracle: every canonical number equals libphonenumber's E.164")
    return 0


if __name__ == "__main__":
    sys.exit(main())
