"""A surveyor's batch on a map: the uploaded parcels over the registry and the imagery, with
the findings of its validation.

A surveyor sees only their own batches (:mod:`parcels.surveys` answers 404 for anyone
else's), a land officer every batch.  Features are coloured by how they match the registry
(new parcel, new version of a registered one, conflict); findings by severity, each with its
sentence.  :func:`survey_map` is pure: GeoDataFrames in EPSG:9214 in.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import shapely
from folium.raster_layers import ImageOverlay

from gis.crs import to_wgs84
from maps import styles
from maps.field import Raster
from maps.offline import data_uri
from maps.widgets import Box, GeoLayer, Measure, Registered, base_map, feature_collection, finish

MATCH_STYLES: dict[str, tuple[str, str, str]] = {
    "new": ("#1b7837", "thửa mới", "new parcel"),
    "new_version": ("#2166ac", "phiên bản mới của thửa đã đăng ký", "new version"),
    "conflict": ("#d62728", "xung đột với sổ địa chính", "conflict with the registry"),
}


@dataclass(frozen=True)
class SurveyMapInput:
    batch_id: int
    file_name: str
    state: str
    uploaded_by: str
    features: gpd.GeoDataFrame
    """feature, sheet_no, parcel_no, land_use, match, measured_area_m2, open_errors."""
    findings: gpd.GeoDataFrame
    """rule, severity, message_vi, message_en, features (list)."""
    neighbours: gpd.GeoDataFrame
    imagery: Raster | None
    synthetic: bool


def survey_map(data: SurveyMapInput) -> folium.Map:
    extent = shapely.union_all(list(data.features.geometry)) if len(data.features) else None
    if extent is None or extent.is_empty:
        extent = shapely.union_all(list(data.neighbours.geometry)) if len(data.neighbours) \
            else shapely.Point(559_067.0, 1_820_005.0).buffer(100)
    fmap = base_map(to_wgs84(extent.envelope.buffer(10)).bounds, fit_max_zoom=20)
    if data.imagery is not None:
        minx, miny, maxx, maxy = data.imagery.bounds
        overlay = ImageOverlay(data_uri(data.imagery.image, data.imagery.mime),
                               bounds=[[miny, minx], [maxy, maxx]], name="Ảnh nền / imagery",
                               pane="tilePane", pixelated=False)
        overlay.add_to(fmap)
        Registered(fmap, overlay, "imagery").add_to(fmap)
    GeoLayer(feature_collection(data.neighbours, lambda r: {
        "style": styles.parcel_style(r["land_use"], opacity=0.2),
        "tooltip": f"{r['sheet_no']}/{r['parcel_no']} {r['land_use']}"}),
        key="neighbours", name="Thửa đã đăng ký / registered parcels").add_to(fmap)
    GeoLayer(feature_collection(data.features, _feature), key="features",
             name="Thửa trong lô đo đạc / surveyed parcels").add_to(fmap)
    GeoLayer(feature_collection(data.findings[~data.findings.geometry.isna()]
                                if len(data.findings) else data.findings, _finding),
             key="findings", name="Phát hiện / findings").add_to(fmap)
    Measure().add_to(fmap)
    rows: list[tuple[str, str, Any]] = [
        ("Tệp", "file", data.file_name), ("Trạng thái", "state", data.state),
        ("Người tải lên", "uploaded by", data.uploaded_by),
        ("Số thửa", "features", len(data.features)),
        ("Lỗi chưa xử lý", "open errors",
         int(data.findings["severity"].eq("error").sum()) if len(data.findings) else 0)]
    Box(f"<h4>{styles.bilingual(f'Lô đo đạc #{data.batch_id}', 'survey batch')}</h4>"
        f"{styles.table(rows)}", position="topright").add_to(fmap)
    legend = [(dict(color=c, fillColor=c), vi, en) for c, vi, en in MATCH_STYLES.values()]
    legend += [(styles.finding_style(s), f"Phát hiện: {vi.lower()}", f"finding: {en}")
               for s, (vi, en) in styles.SEVERITY_NAMES.items()]
    Box(styles.legend_html("Chú giải", "legend", legend), position="bottomright").add_to(fmap)
    return finish(fmap, synthetic=data.synthetic)


def _feature(r: Mapping[str, Any]) -> dict[str, Any]:
    colour, vi, en = MATCH_STYLES.get(r.get("match") or "", ("#555555", "chưa đối chiếu",
                                                              "not matched"))
    rows = [("Thửa số", "feature", r["feature"]), ("Tờ / thửa", "sheet / parcel",
                                                   f"{r['sheet_no']}/{r['parcel_no']}"),
            ("Loại đất", "land use", r["land_use"]),
            ("Diện tích đo", "measured area", f"{r['measured_area_m2']:.1f} m²"),
            ("Đối chiếu", "match", f"{vi} / {en}"), ("Lỗi chưa xử lý", "open errors",
                                                     r["open_errors"])]
    return {"style": {"color": colour, "weight": 2.5, "fillColor": colour, "fillOpacity": 0.2},
            "popup": styles.popup(f"Thửa {r['feature']} trong lô", "surveyed parcel", rows)}


def _finding(r: Mapping[str, Any]) -> dict[str, Any]:
    sev = str(r["severity"])
    vi, en = styles.SEVERITY_NAMES.get(sev, (sev, sev))
    sentence = (f"<p>{html.escape(r['message_vi'])}<br><span class='en'>"
                f"{html.escape(r['message_en'])}</span></p>")
    return {"style": styles.finding_style(sev),
            "popup": styles.popup(r["rule"], f"{vi} / {en}",
                                  [("Thửa số", "features", r.get("features") or "")], sentence)}
