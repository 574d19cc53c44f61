#!/usr/bin/env python3
"""Writes a C file defining `const char NAME[]` with the text of a file.

Used to compile the shipped default configuration into ucsd. Only the
standard library: runs under any python3.
"""
import sys


def main() -> int:
    name, src, dst = sys.argv[1:4]
    data = open(src, "rb").read()
    if b"\0" in data:
        sys.stderr.write(f"{src}: contains a NUL byte\n")
        return 1
    with open(dst, "w") as out:
        out.write(f"/* generated from {src.split('/')[-1]} by tools/embed-text.py */\n")
        out.write(f"extern const char {name}[];\n")
        out.write(f"const char {name}[] = {{\n")
        for i in range(0, len(data), 16):
            out.write("\t" + ", ".join(str(b) for b in data[i:i + 16]) + ",\n")
        out.write("\t0\n};\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
