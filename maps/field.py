"""The application field map: what a land officer takes to the field.

:func:`field_map` is pure: it takes a :class:`FieldMapInput` (GeoDataFrames in the metric
CRS, EPSG:9214, and ready-cut rasters) and returns a folium map; reprojection to WGS 84
happens at the edge (:func:`maps.widgets.feature_collection`).  :mod:`maps.sources` reads
the input from the registry.  Layers, each registered under a stable key:

``claim`` (and ``crossings`` where its boundary crosses itself), ``vertices`` (numbered
boundary points with X/Y), ``edges`` (lengths in metres), ``neighbours`` and
``neighbour_numbers`` (registered parcels near the claim, by land use), ``pending`` (other
claims in progress), one ``finding:N:rule`` per finding of the latest verification,
``imagery`` and ``hillshade``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import folium
import geopandas as gpd
import shapely
from folium.raster_layers import ImageOverlay

from config.maps import FloodLevel
from gis.crs import WARD
from gis.raster import ElevationStats
from maps import boundary, styles
from maps.offline import data_uri
from maps.widgets import Box, GeoLayer, Measure, Registered, base_map, feature_collection, finish

CRS_LABEL = "VN-2000 / TM-3 107-00 (EPSG:9214)"


@dataclass(frozen=True)
class Raster:
    """An overlay image (PNG or JPEG) and its bounds (minlon, minlat, maxlon, maxlat),
    already warped to Web Mercator so that it sits right on Leaflet's map."""

    image: bytes
    mime: str
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class FieldMapInput:
    """Everything the field map shows; every GeoDataFrame is in EPSG:9214."""

    title_vi: str
    title_en: str
    claim: gpd.GeoDataFrame
    """One row: the claimed boundary as stored (possibly invalid)."""
    claim_valid: bool
    neighbours: gpd.GeoDataFrame
    """parcel_id, former_unit, sheet_no, parcel_no, land_use, certified, holders, elevation."""
    pending: gpd.GeoDataFrame
    """application_id, label, received_on."""
    findings: gpd.GeoDataFrame
    """rule, severity, message_vi, message_en, figures (dict); geometry may be None."""
    crossings: gpd.GeoDataFrame
    """Points where the claimed boundary crosses or touches itself (empty when valid)."""
    facts: Sequence[tuple[str, str, Any]] = ()
    imagery: Raster | None = None
    hillshade: Raster | None = None
    notes: Sequence[tuple[str, str]] = ()
    elevation: ElevationStats | None = None
    flood: FloodLevel | None = None
    synthetic: bool = False
    report: Mapping[str, Any] = field(default_factory=dict)
    """The latest verification: id, verdict, checked_at (empty when never verified)."""


def empty_frame(*columns: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=WARD)


def field_map(data: FieldMapInput) -> folium.Map:
    """The folium map of one application (render it with :func:`maps.offline.render`)."""
    claim_geom = data.claim.geometry.iloc[0]
    extent = shapely.union_all([claim_geom.envelope,
                                *[g.envelope for g in data.neighbours.geometry]])
    fmap = base_map(_wgs84_bounds(claim_geom.envelope.buffer(10) if not claim_geom.is_empty
                                  else extent), fit_max_zoom=20)
    for key, raster, vi, en, show in (
            ("imagery", data.imagery, "Ảnh nền", "imagery", True),
            ("hillshade", data.hillshade, "Địa hình (bóng đổ)", "hillshade", False)):
        if raster is not None:
            minx, miny, maxx, maxy = raster.bounds
            overlay = ImageOverlay(data_uri(raster.image, raster.mime),
                                   bounds=[[miny, minx], [maxy, maxx]], name=f"{vi} / {en}",
                                   overlay=True, show=show, pane="tilePane", pixelated=False,
                                   z_index=1 if key == "imagery" else 2,
                                   opacity=1.0 if key == "imagery" else 0.6)
            overlay.add_to(fmap)
            Registered(fmap, overlay, key).add_to(fmap)

    flood = data.flood
    GeoLayer(feature_collection(data.neighbours, lambda r: _neighbour(r, flood)),
             key="neighbours", name="Thửa đã đăng ký lân cận / registered neighbours"
             ).add_to(fmap)
    GeoLayer(feature_collection(_points(data.neighbours), _parcel_number), key="neighbour_numbers",
             name="Số thửa / parcel numbers").add_to(fmap)
    GeoLayer(feature_collection(data.pending, _pending), key="pending",
             name="Hồ sơ khác đang xử lý / other pending claims").add_to(fmap)
    GeoLayer(feature_collection(data.claim, lambda r: _claim(r, data)), key="claim",
             name="Ranh giới kê khai / claimed boundary").add_to(fmap)
    if len(data.crossings):
        GeoLayer(feature_collection(data.crossings, _crossing), key="crossings",
                 name="Điểm tự cắt / self-crossing points").add_to(fmap)
    for i, f in enumerate(data.findings.itertuples(index=False), start=1):
        if f.geometry is None or f.geometry.is_empty:
            continue
        one = gpd.GeoDataFrame([f._asdict()], geometry="geometry", crs=WARD)
        sev_vi, sev_en = styles.SEVERITY_NAMES.get(f.severity, (f.severity, f.severity))
        GeoLayer(feature_collection(one, partial(_finding, number=i)),
                 key=f"finding:{i}:{f.rule}",
                 name=f"Phát hiện {i}: {f.rule} ({sev_vi} / {sev_en})").add_to(fmap)

    edges = boundary.edges(claim_geom)
    verts = boundary.vertices(claim_geom)
    GeoLayer(feature_collection(_edge_frame(edges), _edge), key="edges",
             name="Chiều dài cạnh (m) / edge lengths (m)").add_to(fmap)
    GeoLayer(feature_collection(_vertex_frame(verts), _vertex), key="vertices",
             name="Điểm mốc ranh giới / boundary points").add_to(fmap)

    Measure().add_to(fmap)
    Box(_info(data, claim_geom), position="topright").add_to(fmap)
    Box(_legend(data), position="bottomright").add_to(fmap)
    return finish(fmap, synthetic=data.synthetic, notes=data.notes)


# ------------------------------------------------------------------------ features


def _wgs84_bounds(geom: Any) -> tuple[float, float, float, float]:
    from gis.crs import to_wgs84

    minx, miny, maxx, maxy = to_wgs84(geom).bounds
    return (minx, miny, maxx, maxy)


def _points(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    pts = gdf.copy()
    pts["geometry"] = shapely.point_on_surface(gdf.geometry.values)
    return pts.set_geometry("geometry")


def _elevation_rows(stats: Mapping[str, Any] | None, flood: FloodLevel | None
                    ) -> list[tuple[str, str, Any]]:
    if not stats:
        return [("Độ cao", "elevation", "không có dữ liệu / no elevation data")]
    rows = [("Độ cao thấp nhất", "lowest", f"{stats['min_m']:.2f} m"),
            ("Độ cao trung bình", "mean height", f"{stats['mean_m']:.2f} m"),
            ("Độ cao cao nhất", "highest", f"{stats['max_m']:.2f} m")]
    if flood is not None:
        mark = " (chưa chắc chắn / uncertain)" if flood.uncertain else ""
        rows.append((f"Thấp hơn mức lũ {flood.level_m:g} m",
                     f"below flood level {flood.level_m:g} m",
                     f"{100 * stats['below_share']:.0f}% diện tích / of the area{mark}"))
    return rows


def neighbour_popup(r: Mapping[str, Any], flood: FloodLevel | None) -> str:
    """A registered parcel's popup: numbers, land use, area, certificate, holders, heights."""
    use_vi, use_en = styles.LAND_USE_NAMES.get(r["land_use"], (r["land_use"], r["land_use"]))
    rows = [("Thửa đất số", "parcel number", r["parcel_no"]),
            ("Tờ bản đồ số", "map sheet", r["sheet_no"]),
            ("Đơn vị cũ", "former unit", r["former_unit"]),
            ("Loại đất", "land use", f"{r['land_use']} ({use_vi} / {use_en})"),
            ("Diện tích", "area", f"{r['area_m2']:.1f} m²"),
            ("Giấy chứng nhận", "certificate",
             "có / yes" if r["certified"] else "chưa / none"),
            ("Người sử dụng", "holder", r.get("holders") or "")]
    rows += _elevation_rows(r.get("elevation"), flood)
    return styles.popup(f"Thửa {r['parcel_no']}, tờ {r['sheet_no']}",
                        f"parcel {r['parcel_no']}, sheet {r['sheet_no']}", rows)


def _neighbour(r: Mapping[str, Any], flood: FloodLevel | None) -> dict[str, Any]:
    return {"style": styles.parcel_style(r["land_use"], opacity=0.3),
            "popup": neighbour_popup(r, flood), "parcel_id": r["parcel_id"]}


def _parcel_number(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"label": f"<span>{r['sheet_no']}/{r['parcel_no']}<br>{html.escape(r['land_use'])}"
                     "</span>", "label_class": "cad-label cad-parcel-no"}


def _pending(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"style": styles.PENDING,
            "popup": styles.popup("Hồ sơ đang xử lý", "pending application",
                                  [("Số hồ sơ", "application", r["label"]),
                                   ("Ngày nhận", "received", r["received_on"]),
                                   ("Trạng thái", "state", r["state"])])}


def _claim(r: Mapping[str, Any], data: FieldMapInput) -> dict[str, Any]:
    rows: list[tuple[str, str, Any]] = list(data.facts)
    if not data.claim_valid:
        rows.append(("Hình học", "geometry",
                     "không hợp lệ: ranh giới tự cắt / invalid: the boundary crosses itself"))
    rows += _elevation_rows(data.elevation.as_dict() if data.elevation else None, data.flood)
    return {"style": styles.CLAIM if data.claim_valid else styles.INVALID_CLAIM,
            "popup": styles.popup("Thửa kê khai", "claimed parcel", rows)}


def _crossing(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"style": {"radius": 9, "color": "#000", "weight": 2, "fillColor": "#ffeb3b",
                      "fillOpacity": 1},
            "popup": styles.popup("Điểm tự cắt", "self-crossing point",
                                  [("X (Bắc)", "X northing", f"{r['northing']:.2f} m"),
                                   ("Y (Đông)", "Y easting", f"{r['easting']:.2f} m"),
                                   ("Lý do", "reason", r["reason"])])}


def _finding(r: Mapping[str, Any], *, number: int) -> dict[str, Any]:
    sev = str(r["severity"])
    sev_vi, sev_en = styles.SEVERITY_NAMES.get(sev, (sev, sev))
    figures = r.get("figures") or {}
    rows: list[tuple[str, str, Any]] = [
        ("Quy tắc", "rule", r["rule"]), ("Mức độ", "severity", f"{sev_vi} / {sev_en}")]
    rows += [(k, k, v) for k, v in figures.items() if not isinstance(v, dict | list)]
    sentence = (f'<p>{html.escape(r["message_vi"])}<br><span class="en">'
                f'{html.escape(r["message_en"])}</span></p>')
    return {"style": styles.finding_style(sev),
            "popup": styles.popup(f"Phát hiện {number}", f"finding {number}", rows, sentence),
            "tooltip": f"{number}. {html.escape(r['rule'])}"}


def _vertex_frame(verts: list[boundary.Vertex]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"number": [v.number for v in verts], "x": [v.x for v in verts],
         "y": [v.y for v in verts]},
        geometry=shapely.points([(v.easting, v.northing) for v in verts]) if verts else [],
        crs=WARD)


def _vertex(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"label": f"<span>{r['number']}</span>", "label_class": "cad-label cad-vertex",
            "popup": styles.popup(f"Điểm {r['number']}", f"point {r['number']}",
                                  [("X (Bắc)", "X northing", f"{r['x']:.2f} m"),
                                   ("Y (Đông)", "Y easting", f"{r['y']:.2f} m"),
                                   ("Hệ tọa độ", "CRS", CRS_LABEL)])}


def _edge_frame(edges: list[boundary.Edge]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"edge": [e.label for e in edges], "length_m": [e.length_m for e in edges]},
        geometry=shapely.points([(e.mid_easting, e.mid_northing) for e in edges])
        if edges else [], crs=WARD)


def _edge(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"label": f"<span>{r['length_m']:.2f}</span>", "label_class": "cad-label cad-edge",
            "popup": styles.popup(f"Cạnh {r['edge']}", f"edge {r['edge']}",
                                  [("Chiều dài", "length", f"{r['length_m']:.2f} m")])}


# ---------------------------------------------------------------------------- boxes


def _info(data: FieldMapInput, claim: Any) -> str:
    rows: list[tuple[str, str, Any]] = [*data.facts]
    if data.claim_valid:
        rows.append(("Diện tích đo", "measured area", f"{claim.area:.1f} m²"))
    if data.report:
        rows.append(("Kiểm tra gần nhất", "latest check",
                     f"#{data.report['id']} · {data.report['verdict']} · "
                     f"{data.report['checked_at']}"))
    else:
        rows.append(("Kiểm tra", "check", "chưa kiểm tra / not verified yet"))
    rows.append(("Hệ tọa độ", "CRS", CRS_LABEL))
    return f"<h4>{styles.bilingual(data.title_vi, data.title_en)}</h4>{styles.table(rows)}"


def _legend(data: FieldMapInput) -> str:
    entries: list[tuple[Mapping[str, Any], str, str]] = [
        (styles.CLAIM, "Ranh giới kê khai", "claimed boundary"),
        (styles.PENDING, "Hồ sơ khác đang xử lý", "other pending claim")]
    for code in sorted(set(data.neighbours["land_use"])) if len(data.neighbours) else []:
        vi, en = styles.LAND_USE_NAMES.get(code, (code, code))
        entries.append((styles.parcel_style(code), f"{code} {vi}", en))
    for sev in ("error", "warning", "info"):
        if len(data.findings) and (data.findings["severity"] == sev).any():
            vi, en = styles.SEVERITY_NAMES[sev]
            entries.append((styles.finding_style(sev), f"Phát hiện: {vi.lower()}",
                            f"finding: {en}"))
    entries.append(({"color": "#c00000", "fillColor": "#ffffff"}, "Điểm mốc (số thứ tự)",
                    "boundary point (number)"))
    return styles.legend_html("Chú giải", "legend", entries)
