"""Run every benchmark at one size (CI runs ``--size tiny`` as a smoke test, not a timing).

Each script under bench/ takes ``--size``, and checks the answers it prints: a wrong
answer exits non-zero, and a failing script fails the run.  ``audit.py`` runs twice, on
its synthetic set and on the demo ward in PostGIS (``--registry``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__.py", "common.py", "run_all.py", "hostile_files.py"}
MORE_RUNS = {"audit.py": [["--registry"]]}
"""Runs of a script besides its plain one (the extra arguments)."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="tiny")
    args = ap.parse_args()
    failed = []
    runs = [(script, [*extra, "--size", args.size])
            for script in sorted(p for p in HERE.glob("*.py") if p.name not in NOT_BENCHMARKS)
            for extra in [[], *MORE_RUNS.get(script.name, [])]]
    for script, argv in runs:
        name = " ".join([script.name, *argv])
        print(f"== {name}", flush=True)
        t = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script), *argv], cwd=HERE.parent)
        print(f"== {name}: exit {rc} after {time.perf_counter() - t:.1f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
