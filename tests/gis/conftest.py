"""Fixtures of the rules-engine tests: the default rule set and the external test data."""

from __future__ import annotations

import pytest

from gis.rules import RuleSet, load_ruleset
from tests.conftest import require_external


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    """The shipped defaults of config/rules.toml."""
    return load_ruleset()


external = require_external
"""A path under the external data folder, or skip with the reason (fail in CI)."""
