#!/usr/bin/python3
"""tools/gen-dialplan-data.py - generates the dialplan's shipped reference data.

Writes config/default/{countries,cities,providers,specialnumbers}.xml from the
metadata of python3-phonenumbers (the Python port of Google's libphonenumber),
plus a few public facts it does not carry (named below where they are added).
Run from the repository root with Debian's interpreter:

    /usr/bin/python3 tools/gen-dialplan-data.py [OUTDIR]

OUTDIR defaults to config/default. The output is sorted and contains no time
stamps, so running it twice gives identical files and a diff shows only what
a newer phonenumbers changed. The formats are those of the reference manual,
section 20.1; plugins/dialplan/dp_data.c reads them.

How each file is derived:

countries.xml - one <country> per ITU calling code phonenumbers knows,
  including the non-geographic ones (800, 870, 882, ...). Where several
  regions share a code (1, 7, 44, ...), the first listed region (the "main
  country" in libphonenumber's terms) names it, and lengths are the union
  over all of them.
  - nationalPrefix: national_prefix when it is plain digits, else
    national_prefix_for_parsing when that is plain digits, else "" (Italy,
    Singapore, ...: the whole national number is dialled as it is).
  - internationalPrefix: international_prefix when plain digits, else the
    preferred_international_prefix (the '~' wait-for-tone marker dropped),
    else the shortest string the pattern accepts (ties: smallest), with the
    overrides in INTL_OVERRIDE where that string is not what people dial.
  - SameAreaRule: "G" (the subscriber number alone) only where local
    calls may still be dialled without the area code - OPEN_PLANS below;
    everywhere else the national form (the LongDistanceRule), which is
    always right: closed numbering plans (CH, FR, IT, ES, BE, DK, NO, PT,
    PL, ...) require the full national number even next door.
    LongDistanceRule nationalPrefix + "FG",
    InternationalRule internationalPrefix + "EFG". Country 1 (NANP) also has
    LocalChargeableRule "1FG" and OtherAreaLocalRule "FG".
  - maxLength: the largest general_desc.possible_length; nsnLength when every
    fixed-line and mobile number has the same length (Canada's metadata
    lists 7 digits for a few short service numbers, which are no NSNs);
    areaLength 3 for NANP only (no other
    plan has one fixed area code length).
  - Non-geographic codes have no national dialing: no national prefix and
    the ITU-recommended "00" as international prefix, so the rules are the
    generic "G", "FG", "00EFG".

cities.xml - area code prefixes with place names from phonenumbers.geodata
  (GEOCODE_DATA: prefix -> {locale: name}). The geodata lists many long
  prefixes (number blocks of an exchange, mobile ranges); only area codes
  are wanted, so:
  1. NANP (country 1): only the 3-digit area codes (+1NPA), named by the
     data (mostly the state or province); the other NANP members' area codes
     (Bahamas 242, ...) come from their metadata's leading_digits and are
     named after the country.
  2. Elsewhere a prefix is kept when its national part is at most CAP digits
     long, CAP being the largest of 5..1 that keeps the country under
     MAX_PER_COUNTRY entries (5 covers the longest area codes of DE, AT, GB;
     countries whose data is at number-block level, such as France or
     India, get a shorter CAP).
  3. Collapsing: prefixes are walked in sorted order, so a parent comes
     before its children; a prefix whose nearest kept ancestor (within the
     same country) has the same name is dropped, since the longest-prefix
     lookup already finds that name through the ancestor. Blocks thus keep
     only their shortest prefix, and only children that name a different
     place remain.
  4. France's geodata has no entries for the five regional codes (01-05);
     FR_REGIONS adds them before collapsing, so that every French
     geographic number has a name, longer prefixes naming the place where
     the data knows a different one.
  Names are taken in the country's own language for the countries in
  CITY_LANG (German for DE, AT, CH, LI), else in English.

providers.xml - call-by-call (carrier selection) prefixes, '?' = any digit:
  - PUBLIC_PROVIDERS: the regulators' public ranges - Germany's
    Verbindungsnetzbetreiberkennzahlen 010xx (4th digit 1-9) and 0100xx
    (BNetzA), Austria's 10xx (RTR), Switzerland's 10xxx (BAKOM).
  - From the phonenumbers metadata of every region whose number formats
    carry a domestic_carrier_code_formatting_rule: the carrier code pattern
    is the first group of national_prefix_for_parsing, the digits dialled
    before it are those before "$CC" in the formatting rule (Brazil "0" +
    "21", Colombia "0" + "5", Korea "0" + "81", ...).

specialnumbers.xml - exact numbers that are dialled as they are: every
  string the ShortNumberMetadata emergency pattern of the code's main region
  (the file is keyed by calling code, not region) accepts (when
  that set is finite and small), the emergency and short code example
  numbers, and the few well known numbers in EXTRA_SPECIALS. Names come from
  SPECIAL_NAMES where known, else "Emergency" / "Service".
"""
import os
import re
import sys
from xml.sax.saxutils import escape, quoteattr

try:
    import re._constants as sre_c
    import re._parser as sre_parse
except ImportError:  # Python < 3.11
    import sre_constants as sre_c
    import sre_parse

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.geodata import GEOCODE_DATA
from phonenumbers.geodata.locale import LOCALE_DATA

CMD = "/usr/bin/python3 tools/gen-dialplan-data.py"
DIGITS = re.compile(r"\d+")

# Limits of the fixed-size fields in plugins/dialplan/dp.h (bytes, without NUL).
COUNTRY_NAME_MAX = 47
CITY_NAME_MAX = 63
PROVIDER_NAME_MAX = 47
SPECIAL_NAME_MAX = 47
PREFIX_MAX = 15
SPECIAL_MAX = 15

MAX_PER_COUNTRY = 5500

# Where the shortest string of an international prefix pattern is not the
# one dialled: Singapore's "0[0-3]\d" would give "000"; Brazil needs a
# carrier code after 00 and "0012" is a regional one, Embratel's 21 is not.
INTL_OVERRIDE = {"SG": "001", "BR": "0021"}

# Calling codes whose numbering plans still allow a local call with the
# subscriber number alone (SameAreaRule "G"). Everywhere else the dialplan
# dials the full national number in the own area too, which works in every
# plan. NANP (1) has its own local/long-distance rules (areaCodeRules).
OPEN_PLANS = {1, 7, 43, 44, 49, 54, 55, 61, 81, 82, 86, 91}

# Mexico abolished its national prefixes (01, 044, 045) in August 2019; the
# metadata still accepts them for parsing, but dialling them is wrong.
NATIONAL_OVERRIDE = {"MX": ""}

NONGEO_NAMES = {
    800: "International Freephone",
    808: "International Shared Cost Service",
    870: "Inmarsat",
    878: "Universal Personal Telecommunications",
    881: "Global Mobile Satellite System",
    882: "International Networks",
    883: "International Networks",
    888: "OCHA Disaster Relief",
    979: "International Premium Rate Service",
}

CITY_LANG = {"49": "de", "43": "de", "41": "de", "423": "de", "33": "fr", "39": "it",
             "34": "es", "31": "nl"}

FR_REGIONS = {"+331": "Paris", "+332": "Nord-Ouest", "+333": "Nord-Est", "+334": "Sud-Est",
              "+335": "Sud-Ouest"}

PUBLIC_PROVIDERS = [
    ("010??", "49", "Verbindungsnetzbetreiber 010xx"),
    ("0100??", "49", "Verbindungsnetzbetreiber 0100xx"),
    ("10??", "43", "Verbindungsnetzbetreiber 10xx"),
    ("10???", "41", "Carrier selection 10xxx"),
]

# (country, number): name, for the numbers people know by name.
SPECIAL_NAMES = {
    ("49", "110"): "Polizei", ("49", "112"): "Feuerwehr/Rettungsdienst",
    ("49", "115"): "Behördennummer", ("49", "116116"): "Sperr-Notruf",
    ("49", "116117"): "Ärztlicher Bereitschaftsdienst",
    ("43", "112"): "Euronotruf", ("43", "122"): "Feuerwehr", ("43", "133"): "Polizei",
    ("43", "144"): "Rettung", ("43", "140"): "Bergrettung", ("43", "141"): "Ärztenotdienst",
    ("41", "112"): "Notruf", ("41", "117"): "Polizei", ("41", "118"): "Feuerwehr",
    ("41", "144"): "Sanität", ("41", "1414"): "Rega", ("41", "143"): "Dargebotene Hand",
    ("33", "15"): "SAMU", ("33", "17"): "Police", ("33", "18"): "Pompiers",
    ("33", "112"): "Urgences", ("33", "114"): "Urgences (SMS)", ("33", "115"): "SAMU social",
    ("1", "911"): "Emergency", ("44", "999"): "Emergency", ("44", "112"): "Emergency",
    ("44", "111"): "NHS 111", ("44", "101"): "Police (non-emergency)",
    ("39", "112"): "Numero unico di emergenza", ("39", "113"): "Polizia",
    ("39", "115"): "Vigili del fuoco", ("39", "118"): "Emergenza sanitaria",
    ("34", "112"): "Emergencias", ("34", "091"): "Policía Nacional",
    ("34", "062"): "Guardia Civil", ("34", "080"): "Bomberos",
    ("34", "061"): "Urgencias sanitarias",
    ("31", "112"): "Alarmnummer",
}

# Well known numbers the short number metadata has only as patterns.
EXTRA_SPECIALS = [("49", "115"), ("49", "116116"), ("49", "116117"), ("41", "1414"),
                  ("41", "143"), ("44", "111"), ("44", "101"), ("33", "115"), ("43", "140"),
                  ("43", "141")]


# ---- regular expressions as finite sets ------------------------------------------------------

class TooMany(Exception):
    pass


def _class_chars(items):
    chars = set()
    negate = False
    for op, av in items:
        if op == sre_c.NEGATE:
            negate = True
        elif op == sre_c.LITERAL:
            chars.add(chr(av))
        elif op == sre_c.RANGE:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op == sre_c.CATEGORY and av == sre_c.CATEGORY_DIGIT:
            chars.update("0123456789")
        else:
            raise TooMany()
    if negate:
        chars = set("0123456789") - chars
    return chars


def _expand(tree, wildcard, limit):
    """All strings of a parsed pattern, as a sorted list; with wildcard, a
    position that accepts every digit becomes '?'."""
    out = [""]
    for op, av in tree:
        if op == sre_c.LITERAL:
            alts = [chr(av)]
        elif op == sre_c.IN or (op == sre_c.CATEGORY and av == sre_c.CATEGORY_DIGIT):
            chars = _class_chars(av if op == sre_c.IN else [(op, av)])
            alts = ["?"] if wildcard and chars == set("0123456789") else sorted(chars)
        elif op == sre_c.BRANCH:
            alts = []
            for b in av[1]:
                alts.extend(_expand(b, wildcard, limit))
        elif op == sre_c.SUBPATTERN:
            alts = _expand(av[-1], wildcard, limit)
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            lo, hi, sub = av
            if hi == sre_c.MAXREPEAT or hi > 16:
                raise TooMany()
            one = _expand(sub, wildcard, limit)
            alts = []
            for n in range(lo, hi + 1):
                cur = [""]
                for _ in range(n):
                    cur = [a + b for a in cur for b in one]
                    if len(cur) > limit:
                        raise TooMany()
                alts.extend(cur)
        elif op == sre_c.AT:
            continue
        else:
            raise TooMany()
        out = [a + b for a in out for b in alts]
        if len(out) > limit:
            raise TooMany()
    return out


def expand(pattern, wildcard=False, limit=2000):
    """The sorted set of strings pattern accepts, or None when it is too big."""
    try:
        return sorted(set(_expand(sre_parse.parse(pattern), wildcard, limit)))
    except TooMany:
        return None


def shortest(pattern):
    alls = expand(pattern, limit=100000)
    if not alls:
        return None
    return min(alls, key=lambda s: (len(s), s))


# ---- countries -------------------------------------------------------------------------------

def region_name(region):
    names = LOCALE_DATA.get(region, {})
    name = names.get("en")
    while name and name.startswith("*"):
        name = names.get(name[1:])
    return name or region


def metadata(cc, region):
    if region == "001":
        return PhoneMetadata.metadata_for_nongeo_region(cc)
    return PhoneMetadata.metadata_for_region(region)


def national_prefix(region, m):
    if region in NATIONAL_OVERRIDE:
        return NATIONAL_OVERRIDE[region]
    for p in (m.national_prefix, m.national_prefix_for_parsing):
        if p and DIGITS.fullmatch(p):
            return p
    return ""


def international_prefix(region, m):
    if region in INTL_OVERRIDE:
        return INTL_OVERRIDE[region]
    p = m.international_prefix
    if not p:
        return "00"
    if DIGITS.fullmatch(p):
        return p
    if m.preferred_international_prefix:
        return m.preferred_international_prefix.replace("~", "")
    return shortest(p) or "00"


def truncate(s, cap):
    b = s.encode("utf-8")
    if len(b) <= cap:
        return s
    return b[:cap].decode("utf-8", "ignore").rstrip()


def countries():
    out = []
    for cc, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        main = regions[0]
        lengths, dialled = set(), set()
        for r in regions:
            m = metadata(cc, r)
            if m is None:
                continue
            general = m.general_desc.possible_length or ()
            lengths.update(general)
            for desc in (m.fixed_line, m.mobile):
                if desc is not None and desc.national_number_pattern != "NA":
                    dialled.update(desc.possible_length or general)
        if main == "001":
            name = NONGEO_NAMES.get(cc, "International Networks")
            np_, ip = "", "00"
        else:
            m = metadata(cc, main)
            name = region_name(main)
            np_, ip = national_prefix(main, m), international_prefix(main, m)
        c = {
            "code": str(cc),
            "name": truncate(name, COUNTRY_NAME_MAX),
            "same": "G" if cc in OPEN_PLANS else np_ + "FG",
            "long": np_ + "FG",
            "intl": ip + "EFG",
            "np": np_,
            "ip": ip,
            "max": max(lengths) if lengths else 15,
            "nsn": dialled.pop() if len(dialled) == 1 else 0,
            "area": 3 if cc == 1 else 0,
        }
        if cc == 1:
            c["local_chargeable"] = "1FG"
            c["other_local"] = "FG"
        out.append(c)
    return out


def write_countries(path, cs):
    lines = []
    for c in cs:
        lines.append('\t<country ID="%s">' % c["code"])
        lines.append("\t\t<countryCode>%s</countryCode>" % c["code"])
        lines.append("\t\t<name>%s</name>" % escape(c["name"]))
        lines.append("\t\t<SameAreaRule>%s</SameAreaRule>" % c["same"])
        lines.append("\t\t<LongDistanceRule>%s</LongDistanceRule>" % c["long"])
        lines.append("\t\t<InternationalRule>%s</InternationalRule>" % c["intl"])
        if "local_chargeable" in c:
            lines.append("\t\t<LocalChargeableRule>%s</LocalChargeableRule>"
                         % c["local_chargeable"])
            lines.append("\t\t<OtherAreaLocalRule>%s</OtherAreaLocalRule>" % c["other_local"])
        lines.append("\t\t<nationalPrefix>%s</nationalPrefix>" % c["np"])
        lines.append("\t\t<internationalPrefix>%s</internationalPrefix>" % c["ip"])
        lines.append("\t\t<maxLength>%d</maxLength>" % c["max"])
        if c["nsn"]:
            lines.append("\t\t<nsnLength>%d</nsnLength>" % c["nsn"])
        if c["area"]:
            lines.append("\t\t<areaLength>%d</areaLength>" % c["area"])
        lines.append("\t</country>")
    write(path, "countries", "country calling codes and dialing rules", lines)


# ---- cities ----------------------------------------------------------------------------------

def code_of(prefix):
    for n in (1, 2, 3):
        if int(prefix[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return prefix[:n]
    return None


def city_name(cc, names):
    lang = CITY_LANG.get(cc, "en")
    name = names.get(lang) or names.get("en") or names[sorted(names)[0]]
    return truncate(name, CITY_NAME_MAX)


def cities():
    data = dict(GEOCODE_DATA)
    for p, name in FR_REGIONS.items():
        data.setdefault(p[1:], {"fr": name})
    by_cc = {}
    for prefix in data:
        cc = code_of(prefix)
        if cc is None or len(prefix) == len(cc) or len(prefix) + 1 > PREFIX_MAX:
            continue
        if cc == "1" and len(prefix) != 4:
            continue
        by_cc.setdefault(cc, []).append(prefix)
    kept = {}
    for cc, prefixes in sorted(by_cc.items()):
        prefixes.sort()
        cap = 5
        while cap > 1 and sum(1 for p in prefixes if len(p) - len(cc) <= cap) > MAX_PER_COUNTRY:
            cap -= 1
        mine = {}
        for p in prefixes:
            if len(p) - len(cc) > cap:
                continue
            name = city_name(cc, data[p])
            parent = None
            for n in range(len(p) - 1, len(cc), -1):
                if p[:n] in mine:
                    parent = p[:n]
                    break
            if parent is not None and mine[parent] == name:
                continue
            mine[p] = name
        for p, name in mine.items():
            kept["+" + p] = (cc, name)
    # The other NANP members: their area codes are their leading digits.
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        m = PhoneMetadata.metadata_for_region(region)
        if not m.leading_digits:
            continue
        for area in expand(m.leading_digits) or ():
            if len(area) == 3:
                kept.setdefault("+1" + area, ("1", truncate(region_name(region), CITY_NAME_MAX)))
    return sorted((p, cc, name) for p, (cc, name) in kept.items())


def write_cities(path, cs):
    lines = ['\t<city ID="%s" countryID="%s"><name>%s</name></city>' % (p, cc, escape(n))
             for p, cc, n in cs]
    write(path, "cities", "area codes and place names", lines)


# ---- providers -------------------------------------------------------------------------------

def providers():
    out = {}
    for pattern, cc, name in PUBLIC_PROVIDERS:
        out[(cc, pattern)] = name
    for cc, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        for region in regions:
            if region == "001":
                continue
            m = PhoneMetadata.metadata_for_region(region)
            rules = sorted({f.domestic_carrier_code_formatting_rule for f in m.number_format
                            if f.domestic_carrier_code_formatting_rule})
            npp = m.national_prefix_for_parsing
            if not rules or not npp or "$CC" not in rules[0]:
                continue
            before = re.sub(r"\D", "", rules[0].split("$CC")[0])
            group = first_group(npp)
            if group is None:
                continue
            for code in expand(group, wildcard=True) or ():
                pattern = before + code
                if len(pattern) <= PREFIX_MAX and re.fullmatch(r"[0-9?]+", pattern):
                    out.setdefault((str(cc), pattern),
                                   truncate("Carrier selection (%s)" % region_name(region),
                                            PROVIDER_NAME_MAX))
    return sorted((cc, p, n) for (cc, p), n in out.items())


def first_group(pattern):
    """The source text of the first capturing group of pattern, or None."""
    depth = 0
    start = level = None
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            if start is None and not pattern.startswith("(?", i):
                start, level = i + 1, depth
            depth += 1
        elif ch == ")":
            depth -= 1
            if start is not None and depth == level:
                return pattern[start:i]
        i += 1
    return None


def write_providers(path, ps):
    lines = ['\t<provider ID="%s" countryID="%s"><name>%s</name></provider>' % (p, cc, escape(n))
             for cc, p, n in ps]
    write(path, "providers", "call-by-call prefixes ('?' is any digit)", lines)


# ---- special numbers -------------------------------------------------------------------------

def specials():
    out = {}

    def add(cc, number, kind):
        if not number or not DIGITS.fullmatch(number) or len(number) > SPECIAL_MAX:
            return
        name = SPECIAL_NAMES.get((cc, number), kind)
        out.setdefault((cc, number), truncate(name, SPECIAL_NAME_MAX))

    for cc, regions in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()):
        # Only the main region: a US location must not take the Caribbean
        # members' 999 or 119 for special numbers.
        for region in regions[:1]:
            if region == "001":
                continue
            s = PhoneMetadata.short_metadata_for_region(region)
            if s is None:
                continue
            cc_s = str(cc)
            if s.emergency is not None:
                if s.emergency.national_number_pattern:
                    for n in expand(s.emergency.national_number_pattern, limit=64) or ():
                        add(cc_s, n, "Emergency")
                add(cc_s, s.emergency.example_number, "Emergency")
            if s.short_code is not None:
                add(cc_s, s.short_code.example_number, "Service")
    for cc, number in EXTRA_SPECIALS:
        add(cc, number, "Service")
    return sorted((cc, n, name) for (cc, n), name in out.items())


def write_specials(path, ss):
    lines = ['\t<specialnumber ID="%s" countryID="%s"><name>%s</name></specialnumber>'
             % (n, cc, escape(name)) for cc, n, name in ss]
    write(path, "specialnumbers", "emergency and service numbers, dialled as they are", lines)


# ---- output ----------------------------------------------------------------------------------

def write(path, root, what, lines):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n')
        f.write("<!-- %s: %s.\n     Generated from python3-phonenumbers %s by `%s`;\n"
                "     do not edit: change the generator and run it again. -->\n"
                % (os.path.basename(path), what, phonenumbers.__version__, CMD))
        f.write('<%s xmlns="http://www.w3.org/2001/XMLSchema.xsd">\n' % root)
        for line in lines:
            f.write(line + "\n")
        f.write("</%s>\n" % root)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("config", "default")
    write_countries(os.path.join(outdir, "countries.xml"), countries())
    write_cities(os.path.join(outdir, "cities.xml"), cities())
    write_providers(os.path.join(outdir, "providers.xml"), providers())
    write_specials(os.path.join(outdir, "specialnumbers.xml"), specials())
    return 0


if __name__ == "__main__":
    sys.exit(main())
