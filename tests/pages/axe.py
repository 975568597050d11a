"""axe-core, the accessibility checker the page tests inject into every page.

Vendored, not fetched at test time: ``vendor/axe-core/<version>/`` holds ``axe.min.js``
and its licences (MPL-2.0; the parts it bundles are MIT, ``LICENSE-3RD-PARTY.txt``), taken
from the npm registry's tarball (``npm pack axe-core@VERSION``); ``vendor/axe-core.json``
records the tarball's integrity and each file's SHA-256, which :func:`verify` checks.  It is
a test tool only: the service never serves it.  ``python -m tests.pages.axe fetch`` takes
the tarball again with npm and checks it against the record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RECORD = HERE / "vendor" / "axe-core.json"
SERIOUS = ("serious", "critical")


def record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORD.read_text(encoding="utf-8"))
    return data


def folder() -> Path:
    return HERE / "vendor" / "axe-core" / record()["version"]


def verify() -> list[str]:
    """Files missing or not as the registry's tarball had them."""
    problems = []
    for name, digest in record()["files"].items():
        path = folder() / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{name} differs from the registry's file")
    return problems


@lru_cache(maxsize=1)
def source() -> str:
    return (folder() / "axe.min.js").read_text(encoding="utf-8")


def run(page: Any) -> list[dict[str, Any]]:
    """axe's violations on ``page`` (injected through the DevTools protocol, so the page's
    Content-Security-Policy, which allows no script of another origin, is not bent)."""
    page.evaluate(source())
    result: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']})")
    return list(result["violations"])


def serious(violations: list[dict[str, Any]]) -> list[str]:
    """One line per serious or critical violation: the rule, its help and where."""
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:4])
            for v in violations if v.get("impact") in SERIOUS]


def fetch() -> None:
    """Take the tarball again with npm and check it and its files against the record."""
    rec = record()
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["npm", "pack", f"{rec['name']}@{rec['version']}", "--json"],
                             cwd=tmp, check=True, capture_output=True, text=True).stdout
        tarball = Path(tmp) / json.loads(out)[0]["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()
                                              ).decode()
        if digest != rec["integrity"]:
            raise SystemExit(f"the tarball's integrity {digest} is not the recorded one")
        folder().mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            for name in rec["files"]:
                member = tar.extractfile(f"package/{name}")
                assert member is not None
                (folder() / name).write_bytes(member.read())
    problems = verify()
    if problems:
        raise SystemExit("; ".join(problems))


if __name__ == "__main__":
    if sys.argv[1:] == ["fetch"]:
        fetch()
    print("\n".join(verify()) or f"axe-core {record()['version']}: every file as recorded")
