#!/usr/bin/env python3
"""The whole-suite leak scan (issue 21, point 7): run by `make test` after every suite.

The suites keep what they saw and left behind under one capture directory ($KNOXCALL_CAPTURE_DIR): HTTP answers,
process outputs, console screens, data directories (SQLite files, WAL and SHM included), the interoperability
suite's SDK answers and server, schemathesis's server and HAR report. Every value that must never come back (API
keys, planted secret values, OAuth tokens) is listed in planted/*.tsv, one `kind<TAB>hex(value)` per line.

A planted value may appear in at most one capture under shown-once/ (the one-time display of a new key or token)
and in nothing else, with one exception: under upstream-echo/ are answers the tests' own upstreams wrote, echoing
the request they received, so a secret value a route injected for that upstream is there by design (an API key or
token never is). Anything else is a leak: the scan names the value's kind, the file and the offset, never the
value.

    scripts/leak-scan.py DIR [--min-files N] [--min-values N]
"""

import argparse
import os
import re
import sys
from collections import defaultdict


def planted_values(root):
    values = {}
    folder = os.path.join(root, "planted")
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name), encoding="ascii") as f:
            for line in f:
                kind, _, hexed = line.strip().partition("\t")
                if hexed:
                    values[bytes.fromhex(hexed)] = kind
    return values


def captured_files(root):
    for base, dirs, files in os.walk(root):
        dirs.sort()
        rel = os.path.relpath(base, root)
        if rel == "planted" or rel.startswith("planted" + os.sep):
            continue
        for name in sorted(files):
            path = os.path.join(base, name)
            if os.path.isfile(path) and not os.path.islink(path):
                top = rel.split(os.sep)[0]
                yield path, top


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--min-files", type=int, default=1)
    parser.add_argument("--min-values", type=int, default=1)
    args = parser.parse_args()

    values = planted_values(args.root)
    # Longest first, so a value that contains another is reported as itself.
    pattern = re.compile(b"|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))) if values else None
    files = 0
    size = 0
    by_kind = defaultdict(int)
    shown = defaultdict(list)
    leaks = []
    for path, top in captured_files(args.root):
        with open(path, "rb") as f:
            data = f.read()
        files += 1
        size += len(data)
        if pattern is None:
            continue
        found = {}
        for match in pattern.finditer(data):
            found.setdefault(match.group(0), match.start())
        for value, offset in found.items():
            if top == "shown-once":
                shown[value].append(path)
            elif top == "upstream-echo" and values[value] == "secret_value":
                continue
            else:
                leaks.append((values[value], os.path.relpath(path, args.root), offset))
    for value, paths in shown.items():
        if len(paths) > 1:
            leaks.append((values[value], "shown more than once: " + ", ".join(os.path.relpath(p, args.root) for p in paths), 0))
    for kind in values.values():
        by_kind[kind] += 1

    kinds = ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items()))
    print(f"leak scan: {len(values)} planted values ({kinds}) searched in {files} captured files ({size / 1e6:.1f} MB)")
    status = 0
    if files < args.min_files or len(values) < args.min_values:
        print(f"leak scan: too little captured to mean anything (need {args.min_files} files, {args.min_values} values)")
        status = 1
    for kind, where, offset in leaks:
        print(f"LEAK: a planted {kind} in {where} at byte {offset}")
        status = 1
    if status == 0:
        print("leak scan: nothing leaked")
    return status


if __name__ == "__main__":
    sys.exit(main())
