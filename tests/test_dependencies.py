"""The suite runs on the versions in ``requirements.lock``, and the lock covers the project.

``make`` installs with the lock as constraints; a dependency added to ``pyproject.toml``
without ``make lock`` would be installed at whatever release is newest that day, and a
venv left from an older lock would test other versions than CI.  Both fail here.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]


def locked(text: str) -> dict[str, Version]:
    """``name==version`` lines of a lock file (comments and ``# via`` notes skipped)."""
    pins: dict[str, Version] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"{line}: the lock pins exact versions"
            pins[canonicalize_name(req.name)] = Version(spec.version)
    return pins


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in
            [*project["dependencies"], *project["optional-dependencies"]["dev"]]]


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    pins = locked((REPO / "requirements.lock").read_text())
    assert "holidays" in pins  # the working-day calendar depends on its release
    for req in declared():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock has {name}=={pins[name]}, pyproject.toml asks {req}: "
            "run `make lock`")


def test_the_installed_packages_are_the_locked_versions() -> None:
    pins = locked((REPO / "requirements.lock").read_text())
    wrong = {name: (str(version), metadata.version(name)) for name, version in pins.items()
             if Version(metadata.version(name)) != version}
    assert wrong == {}, "the venv is not the locked one (locked, installed): run `make install`"

