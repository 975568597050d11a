"""Validity diagnosis of one parcel polygon, and everything about one feature alone.

Validity goes beyond GEOS's yes/no: a surveyor must learn *what* is wrong and *where*
(the crossing point of a bow-tie, the ring that is not closed), and defects GEOS never sees
because the geometry cannot even be built (an unclosed ring, a three-point ring) are read
from the raw coordinates.  Orientation and Z/M are normalised on reading and reported as
information; every other change is a :class:`~gis.findings.Fix` (see :mod:`gis.repair`)
applied only when someone decides to.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gis.findings import Finding, Fix
from gis.repair import POLYGONAL, flatten, make_valid, orient
from gis.rules import RuleSet
from gis.shape import shape_findings

# GEOS is_valid_reason prefixes -> our rule codes.  Order matters: "Ring Self-intersection"
# must be tested before "Self-intersection".
_GEOS_REASONS: tuple[tuple[str, str], ...] = (
    ("Ring Self-intersection", "ring_self_touch"),
    ("Self-intersection", "self_intersection"),
    ("Too few points", "too_few_points"),
    ("Invalid Coordinate", "non_finite"),
    ("Ring is not closed", "unclosed_ring"),
    ("Hole lies outside shell", "invalid_rings"),
    ("Holes are nested", "invalid_rings"),
    ("Interior is disconnected", "invalid_rings"),
    ("Nested shells", "invalid_rings"),
    ("Duplicate Rings", "invalid_rings"),
)
_OGC_INVALID = frozenset({"too_few_points", "unclosed_ring", "self_intersection",
                          "ring_self_touch", "invalid_rings", "non_finite", "not_polygon"})
_POINT = re.compile(r"\[([-+0-9.eEnaNifINF]+) ([-+0-9.eEnaNifINF]+)")


@dataclass(frozen=True)
class Diagnosis:
    """What reading one feature found, and the geometry to check further (2D, oriented).

    ``geometry`` is None when nothing usable could be built (not a polygon, too few
    points in a raw ring).  ``valid`` is the OGC/GEOS validity verdict of the input.
    """

    geometry: BaseGeometry | None
    findings: list[Finding] = field(default_factory=list)
    valid: bool = True


def diagnose(raw: BaseGeometry | str | Mapping[str, Any] | None, *, fid: Any,
             rules: RuleSet, label: str | None = None) -> Diagnosis:
    """Diagnose one feature's validity from a shapely geometry, WKT or GeoJSON geometry.

    Every defect gets its own finding; the crossing or touching point is the finding's
    geometry.  Orientation is normalised (exterior counter-clockwise, as OGC SFA and
    RFC 7946 say) and Z/M dropped, each with an ``info`` finding.
    """
    out: list[Finding | None] = []
    labels = (label,) if label else ()

    def add(code: str, figures: Mapping[str, Any], geom: BaseGeometry | None = None,
            fix: Fix | None = None) -> None:
        if rules.enabled(code):
            out.append(rules.finding(code, ids=[fid], figures=figures, geometry=geom,
                                     labels=labels, fix=fix))

    geom, raw_problems = _build(raw)
    for code, figures, where in raw_problems:
        add(code, figures, where)
    if geom is None:
        if not raw_problems:
            add("empty" if raw is None else "not_polygon", {"geom_type": "None"})
        return _done(None, out)
    if geom.geom_type not in POLYGONAL:
        add("not_polygon", {"geom_type": geom.geom_type}, geom)
        return _done(None, out)
    if geom.is_empty:
        add("empty", {})
        return _done(None, out)
    xyz = shapely.get_coordinates(geom, include_z=bool(shapely.has_z(geom)))
    bad = ~np.isfinite(xyz[:, :2]).all(axis=1)
    if bad.any():
        add("non_finite", {"count": int(bad.sum())})
        return _done(geom, out)
    dims = "Z" * bool(shapely.has_z(geom)) + "M" * bool(shapely.has_m(geom))
    if dims:
        fixed = flatten(geom)
        add("z_or_m", {"dims": dims}, fix=fixed)
        geom = fixed.geometry
    if not raw_problems:
        reason = shapely.is_valid_reason(geom)
        if reason != "Valid Geometry":
            code, figures, where = _from_geos_reason(reason, geom)
            add(code, figures, where, make_valid(geom))
    parts = shapely.get_parts(geom)
    holes = int(sum(len(p.interiors) for p in parts))
    if holes:
        add("has_holes", {"holes": holes})
    if len(parts) > 1:
        add("multipart", {"parts": len(parts)})
    oriented = orient(geom)
    if oriented.changed:
        add("orientation", {}, fix=oriented)
        geom = oriented.geometry
    return _done(geom, out)


def _done(geom: BaseGeometry | None, found: list[Finding | None]) -> Diagnosis:
    findings = [f for f in found if f is not None]
    return Diagnosis(geometry=geom, findings=findings,
                     valid=not any(f.code in _OGC_INVALID for f in findings))


def is_ogc_invalid_code(code: str) -> bool:
    """Whether a rule code means the geometry is invalid in the OGC sense (not just odd)."""
    return code in _OGC_INVALID


def _from_geos_reason(reason: str, geom: BaseGeometry
                      ) -> tuple[str, dict[str, Any], BaseGeometry | None]:
    code = next((c for prefix, c in _GEOS_REASONS if reason.startswith(prefix)), "invalid_rings")
    m = _POINT.search(reason)
    figures: dict[str, Any] = {"reason": reason.split("[")[0]}
    where = None
    if m:
        x, y = float(m.group(1)), float(m.group(2))
        figures.update(x=x, y=y)
        where = shapely.Point(x, y)
    if code == "too_few_points":
        rings = shapely.get_rings(geom)
        figures["points"] = int(min(shapely.get_num_coordinates(rings))) if len(rings) else 0
    return code, figures, where


# -- reading raw input ------------------------------------------------------------------

_RawProblem = tuple[str, dict[str, Any], BaseGeometry | None]


def _build(raw: BaseGeometry | str | Mapping[str, Any] | None
           ) -> tuple[BaseGeometry | None, list[_RawProblem]]:
    """Build a geometry, reporting ring defects that shapely would hide or refuse."""
    if raw is None or isinstance(raw, BaseGeometry):
        return raw, []
    if isinstance(raw, str):
        rings = _wkt_rings(raw)
        problems = _ring_problems(rings)
        try:
            with warnings.catch_warnings():  # NaN coordinates: reported as non_finite
                warnings.simplefilter("ignore", RuntimeWarning)
                return shapely.from_wkt(raw, on_invalid="fix"), problems
        except shapely.errors.GEOSException:
            return None, problems or [("not_polygon", {"geom_type": "unreadable WKT"}, None)]
    rings = _geojson_rings(raw)
    problems = _ring_problems(rings)
    if any(code == "too_few_points" for code, _, _ in problems):
        return None, problems
    try:
        return shape(raw), problems
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError):
        return None, problems or [("not_polygon", {"geom_type": str(raw.get("type"))}, None)]


def _wkt_rings(wkt: str) -> list[NDArray[np.float64]]:
    head = wkt.lstrip().upper()
    if not head.startswith(("POLYGON", "MULTIPOLYGON")) or "EMPTY" in head:
        return []
    rings = []
    for body in re.findall(r"\(([^()]+)\)", wkt):
        try:
            pts = [[float(v) for v in p.split()[:2]] for p in body.split(",") if p.strip()]
        except ValueError:
            return []
        rings.append(np.asarray(pts, dtype=float).reshape(-1, 2))
    return rings


def _geojson_rings(obj: Mapping[str, Any]) -> list[NDArray[np.float64]]:
    kind, coords = obj.get("type"), obj.get("coordinates")
    polys: list[Any] = [coords] if kind == "Polygon" else list(coords or []) \
        if kind == "MultiPolygon" else []
    try:
        return [np.asarray(r, dtype=float)[:, :2] for p in polys for r in p or []]
    except (ValueError, IndexError, TypeError):
        return []


def _ring_problems(rings: Sequence[NDArray[np.float64]]) -> list[_RawProblem]:
    problems: list[_RawProblem] = []
    for r in rings:
        if len(r) == 0:
            continue
        closed = bool(np.array_equal(r[0], r[-1]))
        if not closed:
            d = float(np.hypot(*(r[-1] - r[0])))
            problems.append(("unclosed_ring", {"distance_m": d},
                             shapely.LineString([r[-1], r[0]]) if d > 0 else None))
        n = len(r) + (0 if closed else 1)
        if n < 4:
            problems.append(("too_few_points", {"points": n}, shapely.Point(r[0])))
    return problems


def check_feature(raw: BaseGeometry | str | Mapping[str, Any] | None, *, fid: Any,
                  rules: RuleSet, label: str | None = None) -> Diagnosis:
    """Validity then, for a valid polygon, shape checks: everything about one feature alone."""
    d = diagnose(raw, fid=fid, rules=rules, label=label)
    if d.geometry is None or not d.valid:
        return d
    extra = shape_findings(np.array([d.geometry], dtype=object), [fid], rules=rules,
                           labels=[label] if label else None)
    return Diagnosis(geometry=d.geometry, findings=d.findings + extra, valid=d.valid)
