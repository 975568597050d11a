"""Whole-set audit: every finding of every rule over a set of parcels, fast.

The speed comes from doing the expensive pairwise work only where something is wrong.
Validity is screened vectorised (only odd features are diagnosed one by one), and GEOS's
coverage validator (``shapely.coverage_invalid_edges``, one O(n log n) pass) marks the
polygons with an overlapping, misaligned or narrow-gap edge; overlaps, gaps and boundary
mismatches are then computed around those polygons only.  A clean ward of 100,000
parcels costs about two passes of GEOS over it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis.findings import Finding, Report, fingerprint
from gis.frame import Zone, find_outside, find_zone_crossings
from gis.gaps import find_gaps
from gis.mismatches import find_mismatches
from gis.overlaps import find_overlaps
from gis.repair import orient_all
from gis.rules import RuleSet
from gis.shape import shape_findings
from gis.topology import Context
from gis.validity import diagnose

Progress = Callable[[str], None]

EXACT_GAPS_UP_TO = 20_000
"""Up to this many polygons gaps are searched around every polygon (exact); above it only
around the coverage validator's suspects, which misses a narrow open wedge between two
parcels that touch at a single point.  A speed knob, not a tolerance."""


def audit(geoms: Sequence[BaseGeometry | None] | NDArray[Any], ids: Sequence[Any], *,
          rules: RuleSet, scales: Sequence[int | None] | int | None = None,
          agricultural: Sequence[bool] | bool = False, labels: Sequence[str] | None = None,
          frame: BaseGeometry | None = None, zones: Sequence[Zone] = (),
          land_uses: Sequence[str | None] | None = None,
          neighbours: Sequence[Zone] = (), progress: Progress | None = None) -> Report:
    """Audit a set of polygons in one metric CRS (EPSG:9214 for the ward; any metric CRS).

    ``scales`` gives each feature's map scale (or one for all; default the settings'
    ``default_scale``); a pair is judged at the coarser of its two scales.  ``land_uses``
    (codes) let the shape rules know a road from a house lot; ``neighbours`` are the
    wards around the frame, to name the one a parcel reaches into.  The report's findings
    are ranked (:meth:`gis.findings.Finding.sort_key`), each defect counted once
    (:func:`once`), and its fingerprint covers the inputs and the settings, so the same
    input always yields the same report.
    """
    say = progress or (lambda _msg: None)
    g = np.asarray(geoms, dtype=object)
    n = len(g)
    if len(ids) != n:
        raise ValueError(f"{n} geometries but {len(ids)} ids")
    lab = list(labels) if labels is not None else None
    findings: list[Finding] = []

    say("validity")
    simple, clockwise = _plainly_fine(g)
    usable = simple | clockwise
    work = g.copy()
    if clockwise.any():  # the usual export defect: what diagnose says, for all at once
        cw = np.flatnonzero(clockwise)
        fixes = orient_all(g[cw])
        for i, fix in zip(cw.tolist(), fixes, strict=True):
            work[i] = fix.geometry
            if rules.enabled("orientation"):
                found = rules.finding("orientation", ids=[ids[i]], figures={}, geometry=None,
                                      labels=(lab[i],) if lab and lab[i] else (), fix=fix)
                if found is not None:
                    findings.append(found)
    for i in np.flatnonzero(~usable).tolist():
        d = diagnose(g[i], fid=ids[i], rules=rules, label=lab[i] if lab else None)
        findings += d.findings
        if d.valid and d.geometry is not None:
            usable[i] = True
            work[i] = d.geometry
    idx = np.flatnonzero(usable)
    keep = idx.tolist()
    sub = work[idx]
    sub_ids = [ids[i] for i in keep]
    sub_labels = [lab[i] for i in keep] if lab else None
    sub_scales = scales if scales is None or isinstance(scales, int) else \
        [scales[i] for i in keep]
    sub_agri = agricultural if isinstance(agricultural, bool) else \
        [agricultural[i] for i in keep]
    sub_uses = None if land_uses is None else [land_uses[i] for i in keep]

    say("shape")
    findings += shape_findings(sub, sub_ids, rules=rules, labels=sub_labels,
                               land_uses=sub_uses)

    say("coverage")
    ctx = Context.build(sub, sub_ids, rules=rules, scales=sub_scales, agricultural=sub_agri,
                        labels=sub_labels)
    focus = suspects(sub, rules)
    say(f"neighbours ({len(focus)} suspect polygons)")
    findings += find_overlaps(ctx, focus)
    findings += find_gaps(ctx, None if len(sub) <= EXACT_GAPS_UP_TO else focus)
    findings += find_mismatches(ctx, focus)
    if frame is not None:
        say("frame")
        findings += find_outside(ctx, frame, neighbours=neighbours)
    if zones:
        say("zones")
        findings += find_zone_crossings(ctx, zones)
    say("report")
    extra = {"scales": scales if scales is None or isinstance(scales, int) else list(scales),
             "agricultural": agricultural if isinstance(agricultural, bool)
             else list(agricultural),
             "frame": None if frame is None else _hex(frame),
             "zones": [(z.id, z.kind, _hex(z.geometry)) for z in zones],
             "land_uses": None if land_uses is None else list(land_uses)}
    fp = fingerprint(g, ids, extra=extra)
    return Report.build(once(findings), rules=rules, fingerprint=fp, feature_count=n)


PAIR_RULES = frozenset({"overlap", "gap", "contained", "duplicate"})
"""Rules whose finding already describes where two boundaries disagree."""


def once(findings: Sequence[Finding]) -> list[Finding]:
    """Each defect counted once: a corner pushed into a neighbour is an overlap, and the
    vertices it moved off the neighbour's edge are that same overlap, not a second defect
    (the boundary mismatch of a pair with an overlap, gap or containment is dropped)."""
    paired = {frozenset(pair) for f in findings if f.code in PAIR_RULES
              for pair in itertools.combinations(f.feature_ids, 2)}
    return [f for f in findings if f.code != "boundary_mismatch"
            or frozenset(f.feature_ids) not in paired]


def suspects(geoms: NDArray[Any], rules: RuleSet) -> NDArray[np.intp]:
    """Indices of polygons with an edge GEOS's coverage validator finds wrong.

    An edge is wrong when it overlaps another polygon, nearly but not exactly matches a
    neighbour's edge, or borders a gap narrower than the gap rule's width: exactly the
    polygons the neighbour rules can have something to say about.  A polygon wholly inside
    another is flagged (its outer partner is found by the pair search from it).
    """
    width = rules.param("gap", "max_width_m") if rules.enabled("gap") else 0.0
    edges = shapely.coverage_invalid_edges(geoms, gap_width=width)
    return np.flatnonzero(~shapely.is_empty(edges) & ~shapely.is_missing(edges))


def _hex(geom: BaseGeometry) -> str:
    return str(shapely.to_wkb(shapely.normalize(geom), hex=True, output_dimension=2))


def _plainly_fine(g: NDArray[Any]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Features needing no individual diagnosis: valid single 2D polygons, no holes, CCW;
    and those that are all that but clockwise (their one finding is the orientation)."""
    ok = shapely.get_type_id(g) == 3
    ok[ok] &= ~shapely.is_empty(g[ok])
    ok[ok] &= ~shapely.has_z(g[ok]) & ~shapely.has_m(g[ok])
    ok[ok] &= shapely.get_num_interior_rings(g[ok]) == 0
    ok[ok] &= shapely.is_valid(g[ok])
    ccw = ok.copy()
    ccw[ok] = shapely.is_ccw(shapely.get_exterior_ring(g[ok]))
    return np.asarray(ccw), np.asarray(ok & ~ccw)


def audit_frame(gdf: Any, *, rules: RuleSet, id_column: str | None = None,
                label_column: str | None = None, scale_column: str | None = None,
                agricultural_column: str | None = None, land_use_column: str | None = None,
                frame: BaseGeometry | None = None, zones: Sequence[Zone] = (),
                progress: Progress | None = None) -> Report:
    """Audit a GeoDataFrame; its CRS must be projected in metres (raise otherwise)."""
    crs = gdf.crs
    if crs is None or not crs.is_projected or crs.axis_info[0].unit_name not in (
            "metre", "meter"):
        raise ValueError(f"audit needs a projected CRS in metres, got {crs!r}: "
                         "reproject with gdf.to_crs(9214) (or another metric CRS) first")
    ids = list(gdf[id_column]) if id_column else list(gdf.index)
    labels = [str(x) for x in gdf[label_column]] if label_column else None
    scales = [None if s is None or s != s else int(s) for s in gdf[scale_column]] \
        if scale_column else None
    agri: Sequence[bool] | bool = [bool(x) for x in gdf[agricultural_column]] \
        if agricultural_column else False
    uses = [None if u is None or u != u else str(u) for u in gdf[land_use_column]] \
        if land_use_column else None
    return audit(np.asarray(gdf.geometry.values, dtype=object), ids, rules=rules,
                 scales=scales, agricultural=agri, labels=labels, frame=frame, zones=zones,
                 land_uses=uses, progress=progress)
