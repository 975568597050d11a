"""The tiled gap search finds exactly the gaps of the whole union, only faster."""

from __future__ import annotations

import pytest

import gis.gaps as gaps
from bench.audit import synthetic
from gis.gaps import find_gaps
from gis.topology import Context


def _key(findings):  # type: ignore[no-untyped-def]
    return sorted((tuple(sorted(f.feature_ids)), round(f.figures.get("area_m2", 0.0), 4))
                  for f in findings)


def test_tiled_gap_search_equals_the_untiled_one(rules, monkeypatch) -> None:
    """6,000 perturbed quads with 60 planted gaps: tiles (the ward-size path) and one union
    give the same gap pieces, and every planted gap is among them."""
    geoms, planted = synthetic(6000, seed=3, defects=60)
    ids = list(range(len(geoms)))
    tiled = find_gaps(Context.build(geoms, ids, rules=rules), None)
    monkeypatch.setattr(gaps, "GAP_GROUP_CAP", 10**9)
    whole = find_gaps(Context.build(geoms, ids, rules=rules), None)
    assert _key(tiled) == _key(whole)
    assert len(tiled) >= len(planted["gap"])
    assert len(tiled) == pytest.approx(len(planted["gap"]), abs=5)
