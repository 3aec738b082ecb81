#!/usr/bin/env python3
"""Clang's thread-safety analysis over the project's C++ sources.

Takes every src/ and tests/ translation unit from BUILD_DIR/compile_commands.json (the GCC build
that scripts/build.sh configures), and runs clang++ -fsyntax-only -Wthread-safety
-Wthread-safety-beta (which checks ACQUIRED_BEFORE/AFTER lock orders) -Werror=thread-safety on it
with the same defines and include paths. The analysis runs in the
front end, so no code is generated: a few seconds per file instead of a second full build.
Exit status 1 (and the diagnostics) when any file has a finding.

  python3 scripts/thread_safety.py [BUILD_DIR]
"""

import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEEP_WITH_VALUE = {"-I", "-isystem", "-D", "-include", "-iquote"}


def clang_args(command: str) -> list[str]:
    words = shlex.split(command)[1:]
    out = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in KEEP_WITH_VALUE and i + 1 < len(words):
            out += [w, words[i + 1]]
            i += 2
            continue
        if w.startswith(("-I", "-D", "-std=")) or w == "-pthread":
            out.append(w)
        i += 1
    return out


def main() -> int:
    build = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
    db = json.loads((build / "compile_commands.json").read_text())
    units = [e for e in db if e["file"].endswith(".cc")
             and (e["file"].startswith(str(REPO / "src")) or e["file"].startswith(str(REPO / "tests")))]

    def check(e):
        cmd = ["clang++", "-fsyntax-only", "-Wthread-safety", "-Wthread-safety-beta", "-Werror=thread-safety",
               *clang_args(e["command"]), e["file"]]
        r = subprocess.run(cmd, cwd=e["directory"], capture_output=True, text=True)
        return e["file"], r.returncode, r.stderr

    failed = 0
    with ThreadPoolExecutor(int(os.environ.get("JOBS", "2"))) as pool:
        for name, rc, err in pool.map(check, units):
            if rc != 0:
                failed += 1
                print(f"--- {os.path.relpath(name, REPO)}\n{err}", file=sys.stderr)
    print(f"thread-safety: {len(units)} files, {failed} with findings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
