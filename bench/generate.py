"""Benchmark the synthetic ward generator: wall time and peak memory per size.

Each size runs in its own process so that its peak resident memory is its
own.  Prints one line per size and the full/small ratio.  The parcels and applications
counted must be those in the files written (else exit 1).

    .venv/bin/python bench/generate.py               # small and full
    .venv/bin/python bench/generate.py --size tiny   # CI smoke
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import expect  # noqa: E402
from config.data import DataSettings  # noqa: E402
from data.outline import FILE_NAME, SUBFOLDER  # noqa: E402

CHILD = """
import json, resource, sys, time
from pathlib import Path
import pyogrio
from shapely.geometry import box
from data.frame import ANCHOR
from data.generate import generate
from data.outline import load_outline
size, seed, out, outline = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
if outline:
    shape = load_outline(Path(outline))
else:
    shape = box(ANCHOR[0] - 1500, ANCHOR[1] - 1500, ANCHOR[0] + 1500, ANCHOR[1] + 1500)
t0 = time.perf_counter()
m = generate(size=size, seed=seed, out=out, outline=shape)
seconds = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
written = {layer: pyogrio.read_info(out / "ward.gpkg", layer=layer)["features"]
           for layer in ("parcels", "applications")}
print(json.dumps({"size": size, "seconds": round(seconds, 2), "peak_mb": round(peak_mb),
                  "parcels": m.counts["parcels"], "applications": m.counts["applications"],
                  "written": written,
                  "files_mb": round(sum(p.stat().st_size for p in out.iterdir()) / 2**20, 1)}))
"""


def run(size: str, seed: int) -> dict[str, float]:
    outline = DataSettings().external_data / SUBFOLDER / FILE_NAME
    if size != "tiny" and not outline.is_file():
        sys.exit(f"{size} needs the real outline at {outline} (set CADASTRE_EXTERNAL_DATA)")
    with tempfile.TemporaryDirectory(prefix=f"ward-{size}-") as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, size, str(seed), tmp,
             str(outline) if outline.is_file() else ""],
            cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "small", "full"], action="append")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = {}
    for size in args.size or ["small", "full"]:
        r = run(size, args.seed)
        results[size] = r
        print(f"{size:5s}  {r['seconds']:7.2f} s  peak {r['peak_mb']:5.0f} MB  "
              f"{r['parcels']:6d} parcels  {r['applications']:5d} applications  "
              f"{r['files_mb']:6.1f} MB on disk")
        expect(r["parcels"] > 0 and r["written"] == {"parcels": r["parcels"],
                                                     "applications": r["applications"]},
               f"{size}: the ward.gpkg written holds {r['written']} (the counts printed)")
    if "small" in results and "full" in results:
        s, f = results["small"], results["full"]
        print(f"full/small: time x{f['seconds'] / s['seconds']:.1f}, "
              f"parcels x{f['parcels'] / s['parcels']:.1f}, "
              f"seconds per 10k parcels {10_000 * f['seconds'] / f['parcels']:.1f}")


if __name__ == "__main__":
    main()
