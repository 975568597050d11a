"""Request shapes of road projects and the JSON form of projects, corridors and impacts.

Geometries arrive as GeoJSON in the CRS ``srid`` names (WGS 84 by default) and are
measured in EPSG:9214; they leave as GeoJSON in WGS 84.  Widths are metres.  Limits on
values (zero or negative widths, a line that is not a line) are the domain's to refuse
(``projects.corridors``), so that the command line gets the same answers as the API.
"""

from __future__ import annotations

import builtins
import re
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field
from shapely.geometry.base import BaseGeometry

from db.errors import DomainError
from gis import crs as gcrs
from gis.geojson import geometries_to_geojson
from parcels.errors import UnknownCRS
from parcels.schemas import SYNTHETIC_NOTE, GeoJSONGeometry
from projects.errors import InvalidCorridor, InvalidProject
from projects.records import (
    CorridorSpec,
    CorridorVersion,
    ElementSpec,
    ProjectRecord,
    ProjectSpec,
    SectionSpec,
)
from projects.results import (
    ESTIMATE_NOTICE,
    SYNTHETIC_NOTICE,
    Impact,
    ParcelImpact,
    Totals,
)

REF_RE = re.compile(r"^(?P<alt>[A-Za-z0-9][A-Za-z0-9_-]{0,31})(@(?P<version>[1-9][0-9]{0,5}))?$")


class CorridorGeometry(GeoJSONGeometry):
    unreadable: ClassVar[builtins.type[DomainError]] = InvalidCorridor


def to_ward(geom: BaseGeometry, srid: int) -> BaseGeometry:
    """A stated geometry in EPSG:9214 (refuse a CRS we do not take)."""
    if srid not in gcrs.SUPPORTED:
        raise UnknownCRS(f"EPSG:{srid} is not accepted; use one of "
                         + ", ".join(f"EPSG:{c}" for c in gcrs.SUPPORTED), field="srid")
    return geom if srid == gcrs.WARD else gcrs.to_ward(geom, srid)


Width = Annotated[float, Field(ge=-1000, le=1000, allow_inf_nan=False)]
"""Metres across a road or its safety corridor: finite, at most a kilometre (a negative
width is the corridor rules' to refuse, with their own problem type)."""


class ElementIn(BaseModel):
    """A centreline with ``left_width_m``/``right_width_m``, or a red-line polygon."""

    section: str | None = Field(default=None, max_length=32, examples=["NH"])
    name: str | None = Field(default=None, max_length=200)
    centreline: CorridorGeometry | None = None
    left_width_m: Width | None = Field(default=None, description="planned width left of the "
                                       "line as drawn, metres")
    right_width_m: Width | None = None
    existing_width_m: Width | None = None
    redline: CorridorGeometry | None = None
    redline_width_m: Width | None = Field(default=None, description="width between the red "
                                          "lines of a polygon (estimated when absent)")
    gives_access: bool = True
    safety_m: Width | None = Field(default=None, description="safety corridor beyond the red "
                                   "line, metres")

    def to_spec(self, srid: int) -> ElementSpec:
        return ElementSpec(
            section_code=self.section, name=self.name,
            centreline=to_ward(self.centreline.to_shape(), srid) if self.centreline else None,
            left_width_m=self.left_width_m, right_width_m=self.right_width_m,
            existing_width_m=self.existing_width_m,
            redline=to_ward(self.redline.to_shape(), srid) if self.redline else None,
            redline_width_m=self.redline_width_m, gives_access=self.gives_access,
            safety_m=self.safety_m)


class CorridorIn(BaseModel):
    alternative: str = Field(default="A", max_length=32)
    label: str | None = Field(default=None, max_length=200)
    srid: int = Field(default=gcrs.WGS84, description="EPSG code of the geometries")
    safety_m: Width | None = None
    source_document: str | None = Field(default=None, max_length=200)
    elements: list[ElementIn] = Field(min_length=1, max_length=500)

    def to_spec(self) -> CorridorSpec:
        return CorridorSpec(elements=[e.to_spec(self.srid) for e in self.elements],
                            alternative=self.alternative, label=self.label,
                            safety_m=self.safety_m, source_document=self.source_document)


class NewCorridorIn(CorridorIn):
    reason: str = Field(min_length=3, max_length=2000)


class SectionIn(BaseModel):
    code: str = Field(max_length=32, examples=["NH"])
    name_vi: str = Field(min_length=1, max_length=300)
    name_en: str | None = Field(default=None, max_length=300)
    phase: int = Field(default=1, ge=1, le=99)
    description: str | None = Field(default=None, max_length=2000)

    def to_spec(self) -> SectionSpec:
        return SectionSpec(self.code, self.name_vi, self.name_en, self.phase, self.description)


class NewSectionIn(SectionIn):
    reason: str = Field(min_length=3, max_length=2000)


class ProjectIn(BaseModel):
    code: str = Field(max_length=32, examples=["RING_ROAD_3"])
    name_vi: str = Field(min_length=1, max_length=300)
    name_en: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    status: str = "planned"
    sections: list[SectionIn] = Field(default_factory=list, max_length=50)
    corridor: CorridorIn | None = None
    reason: str = Field(min_length=3, max_length=2000)

    def to_spec(self) -> ProjectSpec:
        return ProjectSpec(code=self.code, name_vi=self.name_vi, name_en=self.name_en,
                           description=self.description, status=self.status,
                           sections=[s.to_spec() for s in self.sections],
                           corridor=self.corridor.to_spec() if self.corridor else None)


class StatusIn(BaseModel):
    status: str
    adopted_alternative: str | None = Field(default=None, max_length=32)
    reason: str = Field(min_length=3, max_length=2000)


def parse_ref(value: str, name: str) -> tuple[str, int | None]:
    """``A`` (in force) or ``A@3`` (version 3) → (alternative, version)."""
    m = REF_RE.match(value.strip())
    if not m:
        raise InvalidProject(f"{name} {value!r} is not ALTERNATIVE or ALTERNATIVE@VERSION "
                             "(e.g. A or A@2)", field=name)
    return m["alt"].upper(), int(m["version"]) if m["version"] else None


# ------------------------------------------------------------------------- output


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def corridor_out(c: CorridorVersion, *, geometry: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id, "alternative": c.alternative, "version": c.version, "ref": c.ref,
        "label": c.label, "valid_from": _iso(c.valid_from), "valid_to": _iso(c.valid_to),
        "recorded_at": _iso(c.recorded_at), "recorded_by": c.recorded_by, "reason": c.reason,
        "source_document": c.source_document, "redline_m2": round(c.redline.area, 1),
        "safety_m2": round(c.safety.area, 1),
        "elements": [{
            "segment_no": e.segment_no, "section": e.section_code, "name": e.name,
            "form": e.form, "left_width_m": e.left_width_m, "right_width_m": e.right_width_m,
            "redline_width_m": e.width_m, "width_estimated": e.width_estimated,
            "existing_width_m": e.existing_width_m, "gives_access": e.gives_access,
            "safety_m": e.safety_m, "redline_m2": round(e.polygon.area, 1),
            "length_m": round(e.centreline.length, 1) if e.centreline is not None else None,
        } for e in c.elements],
    }
    if geometry:
        shapes = [c.redline, *(e.centreline if e.centreline is not None else e.polygon
                               for e in c.elements)]
        if not c.safety.is_empty:
            shapes.append(c.safety)
        gj = geometries_to_geojson(shapes)
        out["redline"] = gj[0]
        for item, g in zip(out["elements"], gj[1:1 + len(c.elements)], strict=True):
            item["geometry"] = g
        out["safety"] = gj[-1] if not c.safety.is_empty else None
    return out


def project_out(p: ProjectRecord, *, geometry: bool = True) -> dict[str, Any]:
    out = {
        "code": p.code, "name_vi": p.name_vi, "name_en": p.name_en,
        "description": p.description, "status": p.status,
        "adopted_alternative": p.adopted_alternative, "synthetic": p.synthetic,
        "created_at": _iso(p.created_at),
        "sections": [{"code": s.code, "name_vi": s.name_vi, "name_en": s.name_en,
                      "phase": s.phase, "description": s.description} for s in p.sections],
        "corridors": [corridor_out(c, geometry=geometry) for c in p.corridors],
    }
    if p.synthetic:
        out["notice"] = SYNTHETIC_NOTE
    return out


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def parcel_impact_out(p: ParcelImpact) -> dict[str, Any]:
    return {
        "parcel_id": p.parcel_id, "version": p.version, "label": p.label,
        "former_unit": p.former_unit, "sheet_no": p.sheet_no, "parcel_no": p.parcel_no,
        "land_use": p.land_use, "address": p.address, "legal_area_m2": p.legal_area,
        "holders": list(p.holders), "certificates": list(p.certificates),
        "state_land": p.state_land, "sections": list(p.sections),
        "area_m2": _r(p.area_m2), "taken_m2": _r(p.taken_m2),
        "share_taken": round(p.share_taken, 4), "remainder_m2": _r(p.remainder_m2),
        "remainder_parts": len(p.parts), "sliver_m2": _r(p.sliver_m2),
        "safety_m2": _r(p.safety_m2), "take": p.take, "fails_minimum": p.fails_minimum,
        "proposal": p.proposal, "proposed_m2": _r(p.proposed_m2),
        "parts": [{"area_m2": _r(x.area_m2), "frontage_m": _r(x.frontage_m), "road": x.road,
                   "road_redline_width_m": _r(x.road_redline_width_m),
                   "required_frontage_m": x.required_frontage_m, "depth_m": _r(x.depth_m),
                   "road_access": x.road_access, "judged": x.judged,
                   "failures": list(x.failures)} for x in p.parts],
        "rule": None if p.rule is None else {
            "min_area_m2": p.rule.min_area_m2, "min_frontage_m": p.rule.min_frontage_m,
            "min_frontage_wide_m": p.rule.min_frontage_wide_m,
            "wide_road_m": p.rule.wide_road_m, "min_depth_m": p.rule.min_depth_m,
            "road_access": p.rule.road_access},
        "rule_sources": list(p.rule_sources), "position": p.position,
        "unit_price": p.unit_price, "cost_taken": _r(p.cost_taken, 0),
        "cost_proposed": _r(p.cost_proposed, 0), "disputes": list(p.disputes),
        "pending_applications": list(p.applications),
    }


def totals_out(t: Totals) -> dict[str, Any]:
    return {
        "parcels_affected": t.parcels_affected, "state_land_parcels": t.state_land_parcels,
        "holders_affected": t.holders_affected,
        "full_takes": t.full_takes, "partial_takes": t.partial_takes,
        "proposed_full_acquisition": t.proposed_full_acquisition,
        "remainders_failing": t.remainders_failing, "parts_created": t.parts_created,
        "parcels_cut_in_several": t.parcels_cut_in_several, "noise_parcels": t.noise_parcels,
        "safety_only_parcels": t.safety_only_parcels, "taken_m2": round(t.taken_m2, 1),
        "proposed_m2": round(t.proposed_m2, 1), "cost_taken": round(t.cost_taken),
        "cost_proposed": round(t.cost_proposed), "unpriced_m2": round(t.unpriced_m2, 1),
        "pending_applications": t.pending_applications, "open_disputes": t.open_disputes,
        "by_land_use": {u: {"parcels": r.parcels, "taken_m2": round(r.taken_m2, 1),
                            "proposed_m2": round(r.proposed_m2, 1),
                            "cost_taken": round(r.cost_taken),
                            "cost_proposed": round(r.cost_proposed),
                            "unpriced_m2": round(r.unpriced_m2, 1)}
                        for u, r in t.by_land_use.items()},
    }


def impact_header(i: Impact) -> dict[str, Any]:
    price = i.price_table
    notice = {"estimate": ESTIMATE_NOTICE}
    if i.project.synthetic:
        notice["synthetic"] = SYNTHETIC_NOTICE
    return {
        "project": {"code": i.project.code, "name_vi": i.project.name_vi,
                    "name_en": i.project.name_en, "status": i.project.status,
                    "synthetic": i.project.synthetic},
        "corridor": {"id": i.corridor.id, "alternative": i.corridor.alternative,
                     "version": i.corridor.version, "ref": i.corridor.ref,
                     "valid_from": _iso(i.corridor.valid_from),
                     "valid_to": _iso(i.corridor.valid_to), "label": i.corridor.label},
        "section": i.section, "as_of": _iso(i.as_of), "reference_date": i.on.isoformat(),
        "redline_m2": round(i.redline_m2, 1), "notice": notice,
        "settings": {"projects_version": i.settings_version, "lots_version": i.lots_version,
                     "price_table": None if price is None else {
                         "table": price.table, "invented": price.invented,
                         "currency": price.currency, "valid_from": price.valid_from.isoformat(),
                         "source": price.source}},
    }


def impact_out(i: Impact, *, include_noise: bool = True) -> dict[str, Any]:
    return {
        **impact_header(i),
        "totals": totals_out(i.totals),
        "parcels": [parcel_impact_out(p) for p in i.parcels
                    if include_noise or p.take != "noise"],
        "pending_applications": i.pending, "open_disputes": i.disputes,
        "elapsed_ms": round(i.elapsed_ms, 1),
    }
