"""What a road corridor takes from each parcel, what is left, and whether the rest is a lot.

``gather`` reads (the corridor version, the parcels it touches as of an instant, the roads
beside them: four statements); ``evaluate`` is pure and uses only ``gis`` (the same shape
as certificate verification).  For every parcel the red line or the safety band meets:

- area taken (m², parcel ∩ red line) and its share; a take under ``take_noise_m2``
  (settings) is boundary noise, not a take;
- the remainder (parcel − red line), its parts, and for each part the minimum-lot rule
  of the parcel's land use on the reference day (``gis.lots``: area, frontage on a road by
  that road's red-line width, depth, road access), the corridor itself counting as the road
  it will be, except where it gives no access (a bridge deck);
- the proposal: full acquisition when nothing usable is left, else the take plus any part
  that fails the rule;
- land use, holders, certificate, open disputes and pending applications;
- an estimated cost: area × a unit price by land use and position from the dated price
  table in settings.  It is an estimate, not a compensation decision.

Totals: parcels and holders affected, area by land use, full versus partial takes, parts.
What ``gather`` reads is a ``projects.inputs.Inputs``; what ``evaluate`` answers, an
``Impact`` of ``projects.results``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.strtree import STRtree
from sqlalchemy.orm import Session

from config import clock, land_use
from config import lots as lot_settings
from config import projects as project_settings
from gis import corridors as gcor
from gis import lots as glots
from parcels.cases import PendingCase
from parcels.nearby import road_parcels_near, touching
from parcels.records import ParcelRecord
from projects.corridors import corridor_shapes
from projects.errors import InvalidProject
from projects.inputs import Cases, Inputs
from projects.reads import corridor
from projects.reads import get_project as _get_project
from projects.records import Element
from projects.results import Impact, ParcelImpact, PartResult, totals


def state_land_uses() -> frozenset[str]:
    """Land the State manages itself (the land-use list's ``state_managed`` codes: roads,
    irrigation, rivers, unused land, land of state bodies): no holder to compensate and no
    lot rule; its take is listed, not priced."""
    return land_use.load().state_managed


# ------------------------------------------------------------------------- gather


def gather(session: Session, *, ward_code: str, code: str, alternative: str | None = None,
           version: int | None = None, section: str | None = None,
           as_of: datetime | None = None) -> Inputs:
    """Read the corridor version and the registry around it (as of ``as_of``, else now)."""
    t0 = time.perf_counter()
    project = _get_project(session, ward_code=ward_code, code=code, corridors=False)
    cv = corridor(session, ward_code=ward_code, code=project.code, alternative=alternative,
                  version=version, as_of=as_of)
    elements = cv.elements
    sec = section.strip().upper() if section else None
    if sec is not None:
        if sec not in {s.code for s in project.sections}:
            raise InvalidProject(f"project {project.code} has no section {section!r}; known: "
                                 + ", ".join(s.code for s in project.sections), field="section")
        elements = tuple(e for e in elements if e.section_code == sec)
        redline, safety = corridor_shapes(elements) if elements else (MultiPolygon(),
                                                                        MultiPolygon())
    else:
        redline, safety = cv.redline, cv.safety
    settings = project_settings.load()
    area = shapely.union(redline, safety) if not safety.is_empty else redline
    parcels = touching(session, ward_code=ward_code, area=area, as_of=as_of) \
        if not area.is_empty else []
    roads = road_parcels_near(session, ward_code=ward_code,
                              parcels=[p.geometry for p in parcels],
                              uses=settings.thresholds.road_parcel_uses,
                              distance_m=max(settings.thresholds.touch_m, 0.01), as_of=as_of)
    moment = as_of or clock.now()
    return Inputs(project=project, corridor=cv, section=sec, elements=elements,
                  redline=redline, safety=safety, parcels=parcels, roads=roads, as_of=as_of,
                  on=clock.ward_date(moment), lots=lot_settings.load(), settings=settings,
                  read_ms=(time.perf_counter() - t0) * 1000)


# ----------------------------------------------------------------------- evaluate


def evaluate(inputs: Inputs, cases: Cases | None = None) -> Impact:
    """The impact on every parcel the corridor meets, and the totals.  Pure (gis only)."""
    t0 = time.perf_counter()
    cases = cases or Cases()
    th = inputs.settings.thresholds
    prices = inputs.settings.price_table(inputs.on)
    elements = list(inputs.elements)
    element_tree = STRtree([e.polygon for e in elements])
    corridor_roads = [glots.Road(e.polygon, e.width_m, _element_ref(inputs, e), e.gives_access)
                      for e in elements]
    road_parcels = [glots.Road(g, round(gcor.strip_width(g), 2), f"thửa {pid} (DGT)")
                    for pid, g in inputs.roads]
    road_ids = [pid for pid, _ in inputs.roads]
    roads_tree = STRtree([r.geometry for r in road_parcels])
    disputes_by_parcel: dict[int, list[int]] = defaultdict(list)
    for d in cases.disputes:
        for pid in d.parcel_ids:
            disputes_by_parcel[pid].append(d.dispute_id)
    geoms = np.asarray([p.geometry for p in inputs.parcels], dtype=object)
    apps_by_parcel = _applications_by_parcel(geoms, inputs.parcels, cases.pending)
    red = inputs.redline
    shapely.prepare(red)
    taken_geoms = shapely.intersection(geoms, red) if len(geoms) else geoms
    rest_geoms = shapely.difference(geoms, red) if len(geoms) else geoms
    safety_m2 = (shapely.area(shapely.intersection(geoms, inputs.safety))
                 if len(geoms) and not inputs.safety.is_empty else np.zeros(len(geoms)))
    positions = _positions(geoms, inputs.parcels, road_parcels, road_ids, roads_tree, th)
    sections = _sections(elements, element_tree, taken_geoms)
    rules: dict[str, tuple[glots.LotRule | None, tuple[str, ...]]] = {}
    state_uses = state_land_uses()
    out: list[ParcelImpact] = []
    for k, p in enumerate(inputs.parcels):
        geom, taken_geom, rest = p.geometry, taken_geoms[k], rest_geoms[k]
        taken, remainder, safety = float(taken_geom.area), float(rest.area), float(safety_m2[k])
        use = p.land_use.split("+")[0].upper()
        state = use in state_uses
        pieces = gcor.polygons_of(rest)
        kept = [g for g in pieces if g.area >= th.part_min_m2]
        sliver = float(sum(g.area for g in pieces if g.area < th.part_min_m2))
        if taken < th.take_noise_m2:
            kind = "safety" if safety >= th.take_noise_m2 else "noise"
        else:
            kind = "partial" if kept else "full"  # nothing but slivers left: a full take
        rule, sources = _rule(rules, inputs, use, state)
        parts: list[PartResult] = []
        if kind == "partial":
            for g in kept:
                near = [road_parcels[int(i)] for i in roads_tree.query(
                    g, predicate="dwithin", distance=th.touch_m)]
                near += [corridor_roads[int(i)] for i in element_tree.query(
                    g, predicate="dwithin", distance=th.touch_m)]
                parts.append(_part(g, near, rule, th.touch_m))
        failing = [x for x in parts if x.fails]
        if kind == "full" or (kind == "partial" and parts and len(failing) == len(parts)):
            proposal, proposed = "full_acquisition", float(geom.area)
        elif kind == "partial":
            proposal, proposed = "partial", taken + sum(x.area_m2 for x in failing)
        else:
            proposal, proposed = "none", 0.0
        position = positions[k]
        price = None if state or prices is None else prices.price(use, position)
        holder_keys = tuple(sorted({f"party:{h.party_id}" if h.party_id is not None
                                    else f"name:{h.full_name}" for h in p.use_rights}))
        out.append(ParcelImpact(
            parcel_id=p.parcel_id, version=p.version, label=p.label, former_unit=p.former_unit,
            sheet_no=p.sheet_no, parcel_no=p.parcel_no, land_use=p.land_use, address=p.address,
            legal_area=float(p.legal_area) if p.legal_area is not None else None,
            holders=tuple(dict.fromkeys(h.full_name for h in p.use_rights if h.full_name)),
            holder_keys=holder_keys,
            certificates=tuple(dict.fromkeys(h.certificate_no for h in p.use_rights
                                             if h.certificate_no)),
            state_land=state, area_m2=float(geom.area), taken_m2=taken,
            remainder_m2=remainder, safety_m2=safety, sections=sections[k], take=kind,
            parts=tuple(parts), sliver_m2=sliver, proposal=proposal, proposed_m2=proposed,
            rule_sources=sources, position=position, unit_price=price,
            cost_taken=taken * price if price is not None and kind in ("full", "partial")
            else None,
            cost_proposed=proposed * price if price is not None else None,
            disputes=tuple(disputes_by_parcel.get(p.parcel_id, ())),
            applications=tuple(apps_by_parcel.get(p.parcel_id, ())),
            taken=gcor.as_multipolygon(taken_geom), rule=rule))
    pending = _pending(inputs, cases.pending)
    disputes = [{"dispute_id": d.dispute_id, "parcel_ids": list(d.parcel_ids),
                 "claimant": d.claimant, "state": d.state} for d in cases.disputes]
    elapsed = (time.perf_counter() - t0) * 1000 + inputs.read_ms
    return Impact(project=inputs.project, corridor=inputs.corridor, section=inputs.section,
                  as_of=inputs.as_of, on=inputs.on, parcels=out,
                  totals=totals(out, pending, disputes), pending=pending, disputes=disputes,
                  price_table=prices, settings_version=inputs.settings.version,
                  lots_version=inputs.lots.version, redline_m2=float(inputs.redline.area),
                  elapsed_ms=elapsed)


def _sections(elements: Sequence[Element], tree: STRtree,
              takens: np.ndarray) -> list[tuple[str, ...]]:
    """For each take, the sections whose red line holds part of it (takes are small: the
    overlays are cheap even where the parcel is a river of thousands of vertices)."""
    out: list[set[str]] = [set() for _ in range(len(takens))]
    if not len(takens) or not elements:
        return [()] * len(takens)
    k, i = tree.query(takens, predicate="intersects")
    polys = np.asarray([elements[int(j)].polygon for j in i], dtype=object)
    shares = shapely.area(shapely.intersection(polys, takens[k])) if len(k) else []
    for kk, ii, a in zip(k, i, shares, strict=True):
        code = elements[int(ii)].section_code
        if a > 0 and code:
            out[int(kk)].add(code)
    return [tuple(sorted(x)) for x in out]


def _element_ref(inputs: Inputs, e: Element) -> str:
    sec = f"/{e.section_code}" if e.section_code else ""
    return f"{inputs.project.code}{sec} #{e.segment_no}"


def _rule(cache: dict[str, tuple[glots.LotRule | None, tuple[str, ...]]], inputs: Inputs,
          use: str, state: bool) -> tuple[glots.LotRule | None, tuple[str, ...]]:
    """The lot rule of a land use on the reference day (None for state land or no figure)."""
    if use not in cache:
        figures = inputs.lots.figures(use, inputs.on)
        if state or not figures.judged:
            cache[use] = (None, tuple(figures.sources()) if not state else ())
        else:
            cache[use] = (glots.LotRule(**figures.rule_fields()), tuple(figures.sources()))
    return cache[use]


def _part(g: Polygon, roads: list[glots.Road], rule: glots.LotRule | None,
          touch_m: float) -> PartResult:
    check = glots.check_lot(g, roads, rule or glots.LotRule(), tolerance_m=touch_m)
    f = check.frontage
    return PartResult(area_m2=check.area_m2, frontage_m=f.length_m if f else None,
                      road=f.road if f else None,
                      road_redline_width_m=f.redline_width_m if f else None,
                      required_frontage_m=f.required_m if f else (
                          rule.required_frontage(None) if rule else None),
                      depth_m=check.depth_m, road_access=check.road_access,
                      failures=check.failures if rule is not None else (),
                      judged=rule is not None, geometry=g)


def _positions(geoms: np.ndarray, parcels: Sequence[ParcelRecord], roads: list[glots.Road],
               road_ids: list[int], tree: STRtree, th: project_settings.Thresholds) -> list[int]:
    """Price position of each parcel before the project: 1 on a road at least
    ``road_width_wide_m`` wide, 2 on a narrower road or lane, 3 without road frontage
    (one tree query for every parcel)."""
    best = [3] * len(geoms)
    if not len(geoms) or not roads:
        return best
    for k, i in zip(*tree.query(geoms, predicate="dwithin", distance=th.touch_m), strict=True):
        if road_ids[int(i)] == parcels[int(k)].parcel_id:
            continue
        width = roads[int(i)].redline_width_m or 0.0
        best[int(k)] = min(best[int(k)], 1 if width >= th.road_width_wide_m else 2)
    return best


def _applications_by_parcel(geoms: np.ndarray, parcels: Sequence[ParcelRecord],
                            pending: Sequence[PendingCase]) -> dict[int, list[int]]:
    """Pending applications per parcel: those naming it, and those whose claim overlaps it."""
    out: dict[int, list[int]] = defaultdict(list)
    tree = STRtree(geoms) if len(geoms) else None
    for a in pending:
        found = {a.parcel_id} if a.parcel_id is not None else set()
        if tree is not None and a.geometry is not None and a.geometry.is_valid:
            for i in tree.query(a.geometry, predicate="intersects"):
                if shapely.intersection(geoms[int(i)], a.geometry).area > 0:
                    found.add(parcels[int(i)].parcel_id)
        for pid in found:
            out[pid].append(a.application_id)
    return out


def _pending(inputs: Inputs, pending: Iterable[PendingCase]) -> list[dict[str, Any]]:
    out = []
    for a in pending:
        inside = float(shapely.intersection(a.geometry, inputs.redline).area) \
            if a.geometry is not None and a.geometry.is_valid else 0.0
        out.append({"application_id": a.application_id, "application_key": a.application_key,
                    "applicant_name": a.applicant_name, "state": a.state,
                    "parcel_id": a.parcel_id, "in_redline_m2": round(inside, 2)})
    return out




def run(session: Session, *, ward_code: str, code: str, cases: Cases | None = None,
        **kw: Any) -> Impact:
    """``evaluate(gather(...))`` for callers that have their cases already."""
    return evaluate(gather(session, ward_code=ward_code, code=code, **kw), cases)
