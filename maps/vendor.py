"""The third-party map assets we serve ourselves, where they came from, and their check.

Leaflet and its plugins are vendored under ``maps/assets/vendor/<package>/<version>/``:
copied once from the npm registry's tarballs (``npm pack``) and committed, so the service,
the tests and CI run with no network and no CDN.  ``maps/assets/vendor.json`` records, per
package, the version, the registry's integrity hash of the tarball, the licence and the
SHA-256 of every file taken; :func:`verify` checks the tree against it (a test runs it) and
``python -m maps.vendor fetch`` rebuilds the tree from the registry (needs ``npm``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).resolve().parent / "assets"
VENDOR = ASSETS / "vendor"
MANIFEST = ASSETS / "vendor.json"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str
    """npm's ``dist.integrity`` of the tarball (sha512, base64)."""
    licence: str
    licence_file: str
    """The licence text kept beside the files (the tarball's own, or its README's notice)."""
    files: dict[str, str]
    """Path inside the tarball's ``package/`` → SHA-256 of the file as vendored."""

    @property
    def folder(self) -> Path:
        return VENDOR / self.name / self.version


def packages(manifest: Path = MANIFEST) -> list[Package]:
    data: dict[str, Any] = json.loads(manifest.read_text(encoding="utf-8"))
    return [Package(name=name, **entry) for name, entry in data["packages"].items()]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(manifest: Path = MANIFEST) -> list[str]:
    """Problems with the vendored tree (missing or altered files, missing licences)."""
    problems = []
    for p in packages(manifest):
        for rel, digest in p.files.items():
            path = p.folder / rel
            if not path.is_file():
                problems.append(f"{p.name}@{p.version}: {rel} is missing")
            elif _sha256(path) != digest:
                problems.append(f"{p.name}@{p.version}: {rel} differs from the registry's file")
        if not (p.folder / p.licence_file).is_file():
            problems.append(f"{p.name}@{p.version}: licence file {p.licence_file} is missing")
    return problems


def fetch(manifest: Path = MANIFEST) -> None:
    """Download each package's tarball with ``npm pack``, check its integrity, copy the files
    and check their SHA-256 against the manifest."""
    for p in packages(manifest):
        with tempfile.TemporaryDirectory() as tmp:
            # A maintainer's command: npm from PATH, package names from our own manifest.
            out = subprocess.run(["npm", "pack", f"{p.name}@{p.version}", "--json"],  # noqa: S603,S607
                                 cwd=tmp, check=True, capture_output=True, text=True).stdout
            tarball = Path(tmp) / json.loads(out)[0]["filename"]
            digest = "sha512-" + base64.b64encode(
                hashlib.sha512(tarball.read_bytes()).digest()).decode()
            if digest != p.integrity:
                raise SystemExit(f"{p.name}@{p.version}: tarball integrity {digest} is not "
                                 f"the recorded {p.integrity}")
            with tarfile.open(tarball) as tar:
                tar.extractall(tmp, filter="data")
            if p.folder.exists():
                shutil.rmtree(p.folder)
            for rel in [*p.files, p.licence_file]:
                src = Path(tmp) / "package" / rel
                if rel == p.licence_file and not src.exists():
                    continue  # a notice written from the README (see the manifest)
                (p.folder / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, p.folder / rel)
    problems = verify(manifest)
    if problems:
        raise SystemExit("\n".join(problems))


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    if sys.argv[1:] == ["fetch"]:
        fetch()
        print("vendored assets fetched and verified")
    else:
        problems = verify()
        print("\n".join(problems) or "vendored assets verified")
        sys.exit(1 if problems else 0)
