#!/usr/bin/env python3
"""tools/gen-abi-pins.py HEADER... - prints PIN_SIZE/PIN_OFF lines for every
struct defined in the given SDK headers, measured by the C compiler, for
tests/abi/test_abi_pins.c. Run it once when a header is added (or a struct
grows at its end) and paste the lines for the new structs or members; never
regenerate lines that exist already - they are the promise."""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def structs(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"^\s*#.*$", "", text, flags=re.M)
    for m in re.finditer(r"struct\s+(\w+)\s*\{", text):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[m.end():i - 1]
        members, depth, cur = [], 0, ""
        for ch in body:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if ch == ";" and depth == 0:
                members.append(cur.strip())
                cur = ""
            else:
                cur += ch
        names = []
        for decl in members:
            fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
            if fp:
                names.append(fp.group(1))
            else:
                names.append(re.search(r"(\w+)\s*(\[[^\]]*\])*\s*$", decl).group(1))
        yield m.group(1), names


def main():
    headers = sys.argv[1:]
    found = []
    for h in headers:
        with open(h) as f:
            found += list(structs(f.read()))
    src = ["#include <stddef.h>", "#include <stdio.h>", "#include <ucs/ucs.h>", "int main(void){"]
    for name, members in found:
        src.append(f'printf("PIN_SIZE({name}, %zu);\\n", sizeof(struct {name}));')
        for m in members:
            src.append(f'printf("PIN_OFF({name}, {m}, %zu);\\n", offsetof(struct {name}, {m}));')
    src.append("return 0;}")
    with tempfile.TemporaryDirectory() as d:
        c, exe = os.path.join(d, "pins.c"), os.path.join(d, "pins")
        with open(c, "w") as f:
            f.write("\n".join(src))
        subprocess.run(["cc", "-std=c11", "-I", os.path.join(ROOT, "abi"), c, "-o", exe], check=True)
        sys.stdout.write(subprocess.run([exe], check=True, capture_output=True, text=True).stdout)
    sys.stderr.write("RUN list: " + ", ".join(f"RUN({n})" for n, _ in found) + "\n")


if __name__ == "__main__":
    main()
