"""The engine against other systems' answers: JTS/GEOS validity suites, JTS coverage
vectors, two French communes' real cadastre, and the LADM-COL quality-rule data."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gis.audit import audit, audit_frame
from gis.rules import RuleSet
from gis.validity import diagnose
from tests.gis.conftest import external

pytestmark = pytest.mark.external

VALIDITY_FILES = ("jts-testxml/general/TestValid.xml", "jts-testxml/general/TestValid2.xml",
                  "jts-testxml/general/TestValid2-big.xml", "jts-testxml/misc/TestInvalidA.xml",
                  "jts-testxml/misc/TestValid.xml", "geos-xmltester/misc/TestIsValid.xml")


def _validity_cases(path: Path) -> list[tuple[str, str, bool]]:
    root = ET.parse(path).getroot()
    out = []
    for case in root.iter("case"):
        for op in case.iter("op"):
            if op.get("name", "").lower() == "isvalid":
                arg = op.get("arg1", "A").lower()
                wkt = (case.findtext(arg) or "").strip()
                desc = (case.findtext("desc") or "").strip()
                out.append((desc, wkt, (op.text or "").strip().lower() == "true"))
    return out


def test_validity_verdict_agrees_with_jts_and_geos_suites(rules: RuleSet) -> None:
    """On every polygonal isValid case of the JTS and GEOS XML suites our verdict agrees."""
    total = agree = 0
    disagreements = []
    for rel in VALIDITY_FILES:
        for desc, wkt, expected in _validity_cases(external(rel)):
            head = wkt.lstrip().upper()
            if not head.startswith(("POLYGON", "MULTIPOLYGON")):
                continue
            total += 1
            verdict = diagnose(wkt, fid=desc, rules=rules).valid
            if verdict == expected:
                agree += 1
            else:
                disagreements.append((rel, desc, expected))
    print(f"JTS/GEOS validity: {agree}/{total} polygonal cases agree")
    assert disagreements == []
    assert total == 405  # counted by reading the six files: 68 + 257 + 1 + 75 + 1 + 3


def test_jts_unit_is_valid_vectors(rules: RuleSet) -> None:
    """JTS IsValidTest literals: polygonal verdicts agree, and the pinned error kinds map."""
    cases = json.loads(external("jts-unit-vectors", "jts-unit-cases.json").read_text())
    kinds = {"SELF_INTERSECTION": {"self_intersection"},
             "RING_SELF_INTERSECTION": {"ring_self_touch"},
             "HOLE_OUTSIDE_SHELL": {"invalid_rings"}, "NESTED_HOLES": {"invalid_rings"},
             "DISCONNECTED_INTERIOR": {"invalid_rings"}, "NESTED_SHELLS": {"invalid_rings"}}
    n = 0
    for c in cases["is_valid"]:
        if not c["wkt"].lstrip().upper().startswith(("POLYGON", "MULTIPOLYGON")):
            continue
        d = diagnose(c["wkt"], fid=c["test"], rules=rules)
        assert d.valid == c["expected_valid"], c["test"]
        if c["expected_error"]:
            assert {f.code for f in d.findings} & kinds[c["expected_error"]], c["test"]
        n += 1
    print(f"JTS IsValidTest polygonal vectors: {n} agree")
    assert n >= 20


def test_jts_coverage_gap_finder_vector(rules: RuleSet) -> None:
    """JTS CoverageGapFinder: the one narrow gap between three polygons is ours too."""
    (c,) = json.loads(external("jts-unit-vectors", "jts-unit-cases.json").read_text())[
        "coverage_gap_finder"]
    parts = list(shapely.get_parts(shapely.from_wkt(c["coverage_multipolygon"])))
    rs = rules.with_overrides({"rules": {"gap": {"max_width_m": float(c["gap_width"])}}})
    report = audit(parts, list(range(len(parts))), rules=rs)
    gaps = report.by_code("gap")
    assert len(gaps) == 1
    assert gaps[0].geometry is not None
    assert gaps[0].geometry.equals(shapely.from_wkt(c["expected_gaps"]))


def _bbox_pairs(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i < j) whose bounding boxes meet, by brute force in blocks: no spatial index."""
    b = shapely.bounds(g)
    out_i, out_j = [], []
    for s in range(0, len(g), 512):
        blk = b[s:s + 512]
        hit = ((blk[:, None, 0] <= b[None, :, 2]) & (blk[:, None, 2] >= b[None, :, 0])
               & (blk[:, None, 1] <= b[None, :, 3]) & (blk[:, None, 3] >= b[None, :, 1]))
        i, j = np.nonzero(hit)
        i = i + s
        keep = i < j
        out_i.append(i[keep])
        out_j.append(j[keep])
    return np.concatenate(out_i), np.concatenate(out_j)


@pytest.mark.parametrize("commune", ["91216", "75118"])
def test_real_cadastre_counts_agree_with_plain_shapely(rules: RuleSet, commune: str) -> None:
    """A whole French commune: the audit's overlap and gap counts equal a brute-force count.

    Independent computation: bounding-box pairs without an index, intersection areas
    and inscribed circles pair by pair; gaps from one global union closed by 0.5 m.
    """
    path = external("etalab-cadastre", f"cadastre-{commune}-parcelles.json")
    gdf = gpd.read_file(path).to_crs(2154)
    report = audit_frame(gdf, rules=rules, id_column="id")
    g = np.asarray(gdf.geometry.values, dtype=object)

    i, j = _bbox_pairs(g)
    inter = shapely.intersection(g[i], g[j])
    polys = np.array([shapely.union_all([p for p in shapely.get_parts(x)
                                         if p.geom_type == "Polygon"]) for x in inter])
    area = shapely.area(polys)
    width = np.zeros(len(polys))
    pos = area > 0
    width[pos] = 2 * shapely.length(shapely.maximum_inscribed_circle(polys[pos], 1e-7))
    expected_overlaps = int((width > 1e-6).sum())
    ours = sum(len(report.by_code(c)) for c in ("overlap", "contained", "duplicate"))
    print(f"{commune}: {ours} overlapping pairs (plain shapely: {expected_overlaps})")
    assert ours == expected_overlaps > 0

    union = shapely.union_all(g)
    closed = shapely.buffer(shapely.buffer(union, 0.5, join_style="mitre", mitre_limit=1000),
                            -0.5, join_style="mitre", mitre_limit=1000)
    pieces = [p for p in shapely.get_parts(shapely.difference(closed, union)) if p.area > 0]
    tree = shapely.STRtree(g)
    expected_gaps = 0
    for p in pieces:
        w = 2 * shapely.length(shapely.maximum_inscribed_circle(p, 1e-7))
        if 1e-6 < w <= 1.0 and len(tree.query(p, predicate="dwithin", distance=1e-5)) >= 2:
            expected_gaps += 1
    print(f"{commune}: {len(report.by_code('gap'))} gaps (plain shapely: {expected_gaps})")
    # The engine closes each cluster's own union, the check one global union; GEOS's
    # buffers then split a few millimetre-wide slivers differently (91216: one 7 mm piece),
    # so the counts may differ by one sliver per hundred gaps, never more.
    assert expected_gaps > 0
    assert abs(len(report.by_code("gap")) - expected_gaps) <= max(1, expected_gaps // 100)


def test_ladm_col_overlapping_polygons(rules: RuleSet) -> None:
    """LADM-COL's 63 plots exploded to 68 parts: the same 18 overlapping parts as upstream."""
    expected = next(c for c in json.loads(external("ladm-col", "EXPECTED.json").read_text())[
        "checks"] if c["id"] == "overlapping_polygons")["expected"]
    gdf = gpd.read_file(external("ladm-col", "geometry_utils.gpkg"),
                        layer="overlapping_polygons")
    parts = gdf.sort_index().explode(index_parts=False).reset_index(drop=True)
    assert len(parts) == 68
    ids = list(range(1, 69))
    report = audit(np.asarray(parts.geometry.values), ids, rules=rules)
    flagged = {int(x) for c in ("overlap", "contained", "duplicate")
               for f in report.by_code(c) for x in f.feature_ids}
    assert sorted(flagged) == expected["overlapping_ids"]
