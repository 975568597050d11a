"""The project impact map: which parcels a road project takes, how much, and what is left.

:func:`impact_map` is pure and takes an :class:`ImpactMapInput` (GeoDataFrames in EPSG:9214):

* ``affected`` — one row per parcel touched: ``parcel_id``, ``label``, ``land_use``,
  ``area_m2``, ``taken_m2``, ``remainder_m2``, ``take`` (``full``, ``partial``, ``safety``),
  ``proposal`` and the parcel's geometry;
* ``taken`` — the taken parts (``parcel_id``, geometry);
* ``remainders`` — each piece left (``parcel_id``, ``area_m2``, ``fails`` when it fails the
  minimum-lot rule, ``failures`` saying which figure), geometry;
* ``centrelines`` (``label``), ``redline`` and ``safety`` — the corridor.

Parcels are coloured by the share taken (taken ÷ area); remainders that fail the
minimum-lot rule are hatched red; popups give the area taken and what remains; a box sums
it up.  :func:`from_parcel_impacts` builds the input from the projects module's per-parcel
results (objects with the attributes of ``projects.impact.ParcelImpact``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

from gis.crs import WARD, to_wgs84
from maps import styles
from maps.widgets import Box, GeoLayer, Measure, base_map, feature_collection, finish

SHARE_CLASSES: tuple[tuple[float, str, str, str], ...] = (
    (0.10, "#fee5d9", "dưới 10%", "under 10%"),
    (0.25, "#fcbba1", "10–25%", "10–25%"),
    (0.50, "#fc9272", "25–50%", "25–50%"),
    (0.75, "#fb6a4a", "50–75%", "50–75%"),
    (1.01, "#cb181d", "75–100%", "75–100%"),
)
"""Upper bound of the share taken, colour, Vietnamese and English label."""
TAKE_NAMES = {"full": ("thu hồi toàn bộ", "whole parcel"),
              "partial": ("thu hồi một phần", "part of the parcel"),
              "safety": ("chỉ trong hành lang an toàn", "safety corridor only"),
              "noise": ("không đáng kể", "negligible")}


@dataclass(frozen=True)
class ImpactMapInput:
    code: str
    name_vi: str
    name_en: str
    affected: gpd.GeoDataFrame
    taken: gpd.GeoDataFrame
    remainders: gpd.GeoDataFrame
    centrelines: gpd.GeoDataFrame
    redline: gpd.GeoDataFrame
    safety: gpd.GeoDataFrame
    synthetic: bool = False
    notes: Sequence[tuple[str, str]] = ()


def share_colour(share: float) -> str:
    for upper, colour, _, _ in SHARE_CLASSES:
        if share < upper:
            return colour
    return SHARE_CLASSES[-1][1]


def summary(data: ImpactMapInput) -> dict[str, Any]:
    """Totals the summary box shows (and the tests check against the input)."""
    a = data.affected
    takes = a[a["take"].isin(["full", "partial"])] if len(a) else a
    return {
        "parcels": len(takes),
        "taken_m2": round(float(takes["taken_m2"].sum()) if len(takes) else 0.0, 1),
        "full": int((a["take"] == "full").sum()) if len(a) else 0,
        "safety_only": int((a["take"] == "safety").sum()) if len(a) else 0,
        "failing_remainders": int(data.remainders["fails"].sum())
        if len(data.remainders) else 0,
        "by_land_use": {k: round(float(v), 1) for k, v in
                        takes.groupby("land_use")["taken_m2"].sum().sort_values(
                            ascending=False).items()} if len(takes) else {},
    }


def impact_map(data: ImpactMapInput) -> folium.Map:
    corridor = shapely.union_all([*data.redline.geometry, *data.safety.geometry,
                                  *data.affected.geometry])
    fmap = base_map(to_wgs84(corridor.buffer(20)).bounds, fit_max_zoom=19)
    GeoLayer(feature_collection(data.safety, lambda r: {"style": {
        "color": "#ff8c00", "weight": 1.5, "dashArray": "6 4", "fillColor": "#ffb347",
        "fillOpacity": 0.12}, "tooltip": "Hành lang an toàn / safety corridor"}),
        key="safety", name="Hành lang an toàn / safety corridor").add_to(fmap)
    GeoLayer(feature_collection(data.affected, _affected), key="affected",
             name="Thửa bị ảnh hưởng (tỷ lệ thu hồi) / affected parcels (share taken)"
             ).add_to(fmap)
    GeoLayer(feature_collection(data.taken, lambda r: {"style": {
        "color": "#67000d", "weight": 0.8, "fillColor": "#67000d", "fillOpacity": 0.35}}),
        key="taken", name="Phần bị thu hồi / taken parts").add_to(fmap)
    GeoLayer(feature_collection(data.remainders, _remainder), key="remainders",
             name="Phần còn lại / remainders").add_to(fmap)
    GeoLayer(feature_collection(data.redline, lambda r: {"style": {
        "color": "#e53935", "weight": 2.5, "fill": False}}), key="redline",
        name="Chỉ giới đường đỏ / red line").add_to(fmap)
    GeoLayer(feature_collection(data.centrelines, lambda r: {
        "style": {"color": "#b71c1c", "weight": 3, "dashArray": "12 6"},
        "tooltip": str(r.get("label", ""))}), key="centrelines",
        name="Tim tuyến / centreline").add_to(fmap)
    Measure().add_to(fmap)
    Box(_summary_html(data), position="topright").add_to(fmap)
    Box(_legend(), position="bottomright").add_to(fmap)
    return finish(fmap, synthetic=data.synthetic, notes=data.notes)


def _affected(r: Mapping[str, Any]) -> dict[str, Any]:
    share = float(r["taken_m2"]) / float(r["area_m2"]) if r["area_m2"] else 0.0
    take_vi, take_en = TAKE_NAMES.get(r["take"], (r["take"], r["take"]))
    use_vi, _ = styles.LAND_USE_NAMES.get(r["land_use"], (r["land_use"], ""))
    rows = [("Thửa", "parcel", r["label"]),
            ("Loại đất", "land use", f"{r['land_use']} {use_vi}"),
            ("Diện tích thửa", "parcel area", f"{r['area_m2']:.1f} m²"),
            ("Diện tích thu hồi", "area taken", f"{r['taken_m2']:.1f} m² ({100 * share:.0f}%)"),
            ("Diện tích còn lại", "remainder", f"{r['remainder_m2']:.1f} m²"),
            ("Hình thức", "take", f"{take_vi} / {take_en}"),
            ("Đề xuất", "proposal", r.get("proposal") or "")]
    return {"style": {"color": "#444", "weight": 1, "fillColor": share_colour(share),
                      "fillOpacity": 0.75 if r["take"] != "safety" else 0.25},
            "popup": styles.popup(f"Thửa {r['label']}", "affected parcel", rows),
            "share": round(share, 4)}


def _remainder(r: Mapping[str, Any]) -> dict[str, Any]:
    fails = bool(r["fails"])
    rows = [("Diện tích còn lại", "remainder", f"{r['area_m2']:.1f} m²"),
            ("Đủ điều kiện tách thửa", "usable lot",
             "không / no" if fails else "có / yes"),
            ("Lý do", "why", r.get("failures") or "")]
    style = ({"color": "#b00020", "weight": 2.5, "dashArray": "3 3", "fillColor": "#b00020",
              "fillOpacity": 0.25} if fails else
             {"color": "#1b7837", "weight": 1.5, "fillColor": "#a6dba0", "fillOpacity": 0.1})
    return {"style": style, "popup": styles.popup(
        "Phần còn lại" + (" không đạt diện tích tối thiểu" if fails else ""),
        "remainder" + (" below the minimum lot" if fails else ""), rows),
        "fails": fails}


def _summary_html(data: ImpactMapInput) -> str:
    s = summary(data)
    rows: list[tuple[str, str, Any]] = [
        ("Số thửa bị thu hồi", "parcels taken from", s["parcels"]),
        ("Tổng diện tích thu hồi", "total area taken", f"{s['taken_m2']:,.1f} m²"),
        ("Thu hồi toàn bộ", "whole parcels", s["full"]),
        ("Phần còn lại không đủ điều kiện", "remainders below the minimum lot",
         s["failing_remainders"]),
        ("Chỉ trong hành lang an toàn", "in the safety corridor only", s["safety_only"])]
    rows += [(f"– đất {k}", f"{k} land", f"{v:,.1f} m²")
             for k, v in list(s["by_land_use"].items())[:6]]
    return (f"<h4>{styles.bilingual(data.name_vi, data.name_en)}</h4>"
            f"<div class='en'>{data.code}</div>{styles.table(rows)}")


def _legend() -> str:
    entries: list[tuple[Mapping[str, Any], str, str]] = [
        ({"color": "#444", "fillColor": c}, f"Thu hồi {vi}", f"share taken {en}")
        for _, c, vi, en in SHARE_CLASSES]
    entries += [({"color": "#b00020", "fillColor": "#b00020", "dashArray": "3"},
                 "Phần còn lại không đủ diện tích tối thiểu", "remainder below the minimum lot"),
                ({"color": "#e53935", "fill": False}, "Chỉ giới đường đỏ", "red line"),
                ({"color": "#ff8c00", "fillColor": "#ffb347", "dashArray": "6"},
                 "Hành lang an toàn", "safety corridor")]
    return styles.legend_html("Chú giải", "legend", entries)


# ------------------------------------------------------------------- adapter


def _frame(rows: list[dict[str, Any]], geoms: list[BaseGeometry], *columns: str
           ) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=WARD)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=WARD)


def from_parcel_impacts(parcels: Iterable[Any], *, geometries: Mapping[int, BaseGeometry],
                        code: str, name_vi: str, name_en: str, redline: BaseGeometry,
                        safety: BaseGeometry, centrelines: Sequence[tuple[str, BaseGeometry]],
                        synthetic: bool = False) -> ImpactMapInput:
    """The map's input from per-parcel impact results.

    Each result needs the attributes of ``projects.impact.ParcelImpact``: ``parcel_id``,
    ``label``, ``land_use``, ``area_m2``, ``taken_m2``, ``remainder_m2``, ``take``,
    ``proposal``, ``taken`` (geometry) and ``parts`` (each with ``area_m2``, ``fails``,
    ``failures``, ``geometry``); ``geometries`` gives each parcel's outline (EPSG:9214).
    """
    aff, aff_g, tk, tk_g, rem, rem_g = [], [], [], [], [], []
    for p in parcels:
        if p.take == "noise":
            continue
        aff.append({"parcel_id": p.parcel_id, "label": p.label, "land_use": p.land_use,
                    "area_m2": p.area_m2, "taken_m2": p.taken_m2,
                    "remainder_m2": p.remainder_m2, "take": p.take, "proposal": p.proposal})
        aff_g.append(geometries[p.parcel_id])
        if p.taken is not None and not p.taken.is_empty:
            tk.append({"parcel_id": p.parcel_id})
            tk_g.append(p.taken)
        for part in p.parts:
            rem.append({"parcel_id": p.parcel_id, "area_m2": part.area_m2,
                        "fails": bool(part.fails), "failures": ", ".join(part.failures)})
            rem_g.append(part.geometry)
    return ImpactMapInput(
        code=code, name_vi=name_vi, name_en=name_en,
        affected=_frame(aff, aff_g, "parcel_id", "label", "land_use", "area_m2", "taken_m2",
                        "remainder_m2", "take", "proposal"),
        taken=_frame(tk, tk_g, "parcel_id"),
        remainders=_frame(rem, rem_g, "parcel_id", "area_m2", "fails", "failures"),
        centrelines=_frame([{"label": lbl} for lbl, _ in centrelines],
                           [g for _, g in centrelines], "label"),
        redline=_frame([{"kind": "redline"}], [redline], "kind"),
        safety=_frame([{"kind": "safety"}] if not safety.is_empty else [],
                      [safety] if not safety.is_empty else [], "kind"),
        synthetic=synthetic)
