"""Fixtures of the rules-engine tests: the default rule set and the external test data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gis.rules import RuleSet, load_ruleset

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    """The shipped defaults of db/rules.toml."""
    return load_ruleset()


def external(*parts: str) -> Path:
    """A path under the external data folder, or skip with the reason (fail in CI)."""
    base = Path(os.environ.get("CADASTRE_EXTERNAL_DATA", REPO / "../shared/data/external"))
    path = base.resolve().joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing in CI")
        pytest.skip(f"external test data {path} absent (set CADASTRE_EXTERNAL_DATA)")
    return path
