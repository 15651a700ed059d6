#!/usr/bin/env python3
"""check_layout.py - the tree's shape, as docs/layout.md states it:

1. loadgen's folders use only the folders below them (and the shared types,
   loadgen.h), lowest first: os, results, http, scenario, engine, then the
   run pipeline (run.c, run.h), bench, and the CLI (main.c) on top;
2. no two modules include each other's headers (a module: X.c and X.h),
   nor any longer include cycle, in loadgen/, servers/core/ and common/.
   servers/models/ is left out: model.h is the models' one umbrella header
   (the model table's types and the helpers every model file shares, as
   Redis's server.h), so each helper there and model.h name each other;
   the models' own files never include one another;
3. no C file in servers/, loadgen/ or common/ is over 800 lines.

Run with the source directory as argument (default: this file's ../..).
Exit 0 when all hold, 1 with one line per violation. --self-test checks
that each rule catches a violation planted in a scratch tree."""
import os
import re
import shutil
import sys
import tempfile

MAX_LINES = 800
# loadgen's levels, lowest first. A file may include headers of its own
# level and of the levels before it; loadgen.h (the shared types, level 0)
# includes no other loadgen header.
LEVELS = ["loadgen.h", "os", "results", "http", "scenario", "engine", "run", "bench", "main"]
TREES = ["loadgen", "servers", "common"]
UMBRELLA = "servers/models/"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def level_of(rel):
    """rel: a path under loadgen/. Its level index."""
    parts = rel.split("/")
    if len(parts) > 1:
        return LEVELS.index(parts[0]) if parts[0] in LEVELS else None
    stem = os.path.splitext(parts[0])[0]
    if parts[0] in ("loadgen.h", "loadgen.c"):
        return 0
    return LEVELS.index(stem) if stem in LEVELS else None


def sources(root):
    for tree in TREES:
        for dirpath, _, names in os.walk(os.path.join(root, tree)):
            for n in sorted(names):
                if n.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, n), root)


def resolve(root, path, inc):
    """The file an #include "inc" in path names, as gcc finds it: the
    including file's folder first, then the include directories."""
    here = os.path.dirname(path)
    for base in [here, "loadgen", "common", "servers/core", "servers/models"]:
        cand = os.path.normpath(os.path.join(base, inc))
        if os.path.isfile(os.path.join(root, cand)):
            return cand
    return None  # a system or generated header


def module(path, root="."):
    """X.c and X.h are one module. A header with no .c of its own that is
    named after a module (ftp_session.h: the ftp module's private part) is
    that module's."""
    stem = os.path.splitext(path)[0]
    if path.endswith(".h") and not os.path.isfile(os.path.join(root, stem + ".c")):
        head = stem
        while "_" in os.path.basename(head):
            head = head.rsplit("_", 1)[0]
            if os.path.isfile(os.path.join(root, head + ".c")):
                return head
    return stem


def check(root):
    bad = []
    edges = {}  # module -> set of modules it includes
    for path in sources(root):
        with open(os.path.join(root, path), encoding="utf-8") as f:
            text = f.read()
        n = text.count("\n")
        if path.endswith(".c") and n > MAX_LINES:
            bad.append(f"{path}: {n} lines (at most {MAX_LINES})")
        for inc in INCLUDE.findall(text):
            target = resolve(root, path, inc)
            if not target:
                continue
            a, b = module(path, root), module(target, root)
            if a != b and not path.startswith(UMBRELLA):
                edges.setdefault(a, set()).add(b)
            if path.startswith("loadgen/") and target.startswith("loadgen/"):
                a = level_of(os.path.relpath(path, "loadgen"))
                b = level_of(os.path.relpath(target, "loadgen"))
                if a is None or b is None:
                    bad.append(f"{path}: not in a known loadgen level ({LEVELS})")
                elif b > a:
                    bad.append(f"{path}: includes {target}, a level above it "
                               f"({LEVELS[a]} < {LEVELS[b]})")
    bad += cycles(edges)
    return bad


def cycles(edges):
    """Modules that include each other, directly or around a longer loop."""
    out, state, stack = [], {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if state.get(t) == 1:
                loop = stack[stack.index(t):] + [t]
                out.append("include cycle: " + " -> ".join(loop))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    return out


def self_test(root):
    """Each rule must catch a planted violation (a check that cannot fail
    is no check)."""
    plants = {
        "up": ("loadgen/results/csv.c", '#include "engine/policy.h"\n'),
        "mutual": ("servers/core/filecache.h", '#include "fsroot.h"\n'),
        "long": ("common/units.c", "/* padding */\n" * (MAX_LINES + 1)),
    }
    failures = 0
    for name, (path, extra) in plants.items():
        tmp = tempfile.mkdtemp()
        try:
            for tree in TREES:
                shutil.copytree(os.path.join(root, tree), os.path.join(tmp, tree))
            if check(tmp):
                print(f"self-test: the tree has violations before planting {name}")
                failures += 1
                continue
            with open(os.path.join(tmp, path), "a", encoding="utf-8") as f:
                f.write(extra)
            found = check(tmp)
            print(f"self-test {name}: {'caught: ' + found[0] if found else 'NOT CAUGHT'}")
            failures += 0 if found else 1
        finally:
            shutil.rmtree(tmp)
    return failures


def main():
    args = [a for a in sys.argv[1:] if a != "--self-test"]
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    bad = check(root)
    for b in bad:
        print(b)
    if bad:
        return 1
    if "--self-test" in sys.argv and self_test(root):
        return 1
    print("layout: loadgen levels hold, no include cycles, no C file over "
          f"{MAX_LINES} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
