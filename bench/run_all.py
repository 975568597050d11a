"""Run every benchmark at one size (CI runs ``--size tiny`` as a smoke test, not a timing).

Each script under bench/ takes ``--size``; a failing script fails the run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"__init__.py", "common.py", "run_all.py"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="tiny")
    args = ap.parse_args()
    failed = []
    for script in sorted(p for p in HERE.glob("*.py") if p.name not in NOT_BENCHMARKS):
        print(f"== {script.name} --size {args.size}", flush=True)
        t = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script), "--size", args.size],
                             cwd=HERE.parent)
        print(f"== {script.name}: exit {rc} after {time.perf_counter() - t:.1f} s", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
