"""The ward overview: the whole ward by land use, sheets, zones, projects, pending files.

A ward holds 30,000–50,000 parcels, far too many for one inline layer: parcels come as
vector tiles (``/maps/tiles/parcels/{z}/{x}/{y}.mvt``, PostGIS ``ST_AsMVT``, cached per
registry version; :mod:`maps.tiles`) drawn by Leaflet.VectorGrid on a canvas, and a click
asks ``/maps/parcels/{id}`` for the parcel's popup (with its elevation statistics).  The
small layers (sheets grid, zones, project red lines and centrelines, the ward outline)
are inline; pending applications are clustered markers.  Background: our imagery and
hillshade as raster tiles.  :func:`ward_map` is pure: GeoDataFrames in EPSG:9214 in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import shapely
from folium.plugins import MarkerCluster, VectorGridProtobuf

from gis.crs import WARD, to_wgs84
from maps import styles
from maps.tiles import MAX_ZOOM, PARCEL_MIN_ZOOM
from maps.widgets import (
    Box,
    GeoLayer,
    Registered,
    Script,
    base_map,
    feature_collection,
    finish,
    script_json,
)

TILE_ROOT = "/maps/tiles"
LEGEND_LAND_USES = 10
"""The legend names the most common land uses; the rest share one entry (their popups say)."""


@dataclass(frozen=True)
class WardMapInput:
    """Everything the overview draws inline; every GeoDataFrame in EPSG:9214."""

    ward_name: str
    outline: gpd.GeoDataFrame
    sheets: gpd.GeoDataFrame
    """former_unit, unit_name, sheet_no, scale."""
    zones: gpd.GeoDataFrame
    """kind, name."""
    projects: gpd.GeoDataFrame
    """code, name_vi, name_en; red-line polygons."""
    centrelines: gpd.GeoDataFrame
    """project_code, segment_no, name, left_width_m, right_width_m."""
    pending: gpd.GeoDataFrame
    """application_id, label, state, received_on, due_on; points."""
    registry_version: int
    land_uses: tuple[str, ...]
    synthetic: bool
    imagery: bool
    hillshade: bool


def ward_map(data: WardMapInput) -> folium.Map:
    fmap = base_map(to_wgs84(data.outline.geometry.iloc[0]).bounds, max_zoom=MAX_ZOOM)
    if data.imagery:
        imagery = folium.TileLayer(f"{TILE_ROOT}/imagery/{{z}}/{{x}}/{{y}}.png",
                                   name="Ảnh nền / imagery", attr="Kim Long land records",
                                   overlay=False, max_zoom=MAX_ZOOM, max_native_zoom=19,
                                   min_zoom=10)
        imagery.add_to(fmap)
        Registered(fmap, imagery, "imagery").add_to(fmap)
    if data.hillshade:
        shade = folium.TileLayer(f"{TILE_ROOT}/hillshade/{{z}}/{{x}}/{{y}}.png",
                                 name="Địa hình (bóng đổ) / hillshade",
                                 attr="Kim Long land records", overlay=False,
                                 show=not data.imagery, max_zoom=MAX_ZOOM,
                                 max_native_zoom=17, min_zoom=10)
        shade.add_to(fmap)
        Registered(fmap, shade, "hillshade").add_to(fmap)

    parcels = VectorGridProtobuf(
        f"{TILE_ROOT}/parcels/{{z}}/{{x}}/{{y}}.mvt?v={data.registry_version}",
        "Thửa đất theo loại đất / parcels by land use", _vector_options())
    parcels.add_to(fmap)
    Registered(fmap, parcels, "parcels").add_to(fmap)
    Script(_parcel_script(parcels.get_name())).add_to(fmap)

    GeoLayer(feature_collection(data.sheets, _sheet), key="sheets",
             name="Lưới tờ bản đồ / map sheets", show=False).add_to(fmap)
    GeoLayer(feature_collection(data.zones, _zone), key="zones",
             name="Vùng bảo vệ, quy hoạch / protection and planning zones").add_to(fmap)
    GeoLayer(feature_collection(data.projects, _project), key="projects",
             name="Dự án (chỉ giới đường đỏ) / projects (red lines)").add_to(fmap)
    GeoLayer(feature_collection(data.centrelines, _centreline), key="centrelines",
             name="Tim tuyến / centrelines").add_to(fmap)
    GeoLayer(feature_collection(data.outline, lambda r: {"style": styles.WARD}), key="ward",
             name="Ranh giới phường / ward boundary").add_to(fmap)

    cluster = MarkerCluster(name="Hồ sơ đang xử lý / pending applications",
                            options={"showCoverageOnHover": False, "maxClusterRadius": 50})
    cluster.add_to(fmap)
    Registered(fmap, cluster, "pending").add_to(fmap)
    points = feature_collection(data.pending, _pending)
    Script(f"cadastre.addMarkers({cluster.get_name()}, {script_json(points)});").add_to(fmap)

    Box(_legend(data), position="bottomright").add_to(fmap)
    Box(f"<h4>{styles.bilingual(data.ward_name, 'ward overview')}</h4>"
        f'<div class="en">Thửa hiện từ mức phóng {PARCEL_MIN_ZOOM} · bấm vào thửa để xem '
        f"chi tiết / parcels from zoom {PARCEL_MIN_ZOOM}; click one for details</div>",
        position="topright").add_to(fmap)
    return finish(fmap, synthetic=data.synthetic)


def _vector_options() -> str:
    palette = json.dumps(styles.LAND_USE_COLOURS)
    return f"""{{
        rendererFactory: L.canvas.tile, interactive: true,
        minZoom: {PARCEL_MIN_ZOOM}, maxZoom: {MAX_ZOOM}, maxNativeZoom: 18,
        getFeatureId: function (f) {{ return f.properties.id; }},
        vectorTileLayerStyles: {{
            parcels: function (p, z) {{
                var palette = {palette};
                return {{fill: true, fillColor: palette[p.land_use] || "{styles.OTHER_LAND_USE}",
                         fillOpacity: 0.65, color: "#555", weight: z >= 16 ? 0.7 : 0.3}};
            }}
        }}
    }}"""


def _parcel_script(layer: str) -> str:
    """Count the parcels the tiles hold, note when the first ones arrive, and open a
    parcel's popup (fetched from the service) on click."""
    return f"""
        var layer = {layer}, seen = new Set();
        layer.cadastreFeatures = 0;
        layer.on("tileload", function (e) {{
            var tile = layer._vectorTiles[layer._tileCoordsToKey(e.coords)];
            Object.keys((tile && tile._features) || {{}}).forEach(function (id) {{
                seen.add(id);
            }});
            layer.cadastreFeatures = seen.size;
            if (seen.size > 0 && cadastre.firstParcelsMs === undefined) {{
                cadastre.firstParcelsMs = performance.now();
            }}
        }});
        layer.on("click", function (e) {{
            var id = e.layer && e.layer.properties && e.layer.properties.id;
            if (!id) {{ return; }}
            fetch("/maps/parcels/" + id, {{credentials: "same-origin"}})
                .then(function (r) {{ return r.json(); }})
                .then(function (d) {{
                    L.popup({{maxWidth: 380}}).setLatLng(e.latlng)
                        .setContent(d.popup || d.detail).openOn(map);
                }});
        }});
    """


def _sheet(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"style": styles.SHEET,
            "tooltip": f"Tờ {r['sheet_no']} ({r['unit_name']}) · 1:{r['scale']}"}


def _zone(r: Mapping[str, Any]) -> dict[str, Any]:
    colour = styles.ZONE_COLOURS.get(r["kind"], "#555")
    vi, en = styles.ZONE_NAMES.get(r["kind"], (r["kind"], r["kind"]))
    return {"style": {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.08,
                      "dashArray": "4 3"},
            "popup": styles.popup(vi, en, [("Tên", "name", r["name"])])}


def _project(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"style": {"color": "#e53935", "weight": 2, "fillColor": "#e53935",
                      "fillOpacity": 0.15},
            "popup": styles.popup(r["name_vi"], r["name_en"], [("Mã dự án", "code", r["code"])],
                                  f'<p><a href="/maps/projects/{r["code"]}">Bản đồ tác động '
                                  f'/ impact map</a></p>')}


def _centreline(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"style": {"color": "#b71c1c", "weight": 3, "dashArray": "10 6"},
            "tooltip": f"{r['project_code']} đoạn {r['segment_no']} · chỉ giới "
                       f"{r['left_width_m']:g} + {r['right_width_m']:g} m"}


def _pending(r: Mapping[str, Any]) -> dict[str, Any]:
    return {"popup": styles.popup("Hồ sơ đang xử lý", "pending application",
                                  [("Số hồ sơ", "application", r["label"]),
                                   ("Trạng thái", "state", r["state"]),
                                   ("Ngày nhận", "received", r["received_on"]),
                                   ("Hạn", "due", r["due_on"])])}


def _legend(data: WardMapInput) -> str:
    entries: list[tuple[Mapping[str, Any], str, str]] = []
    for code in data.land_uses[:LEGEND_LAND_USES]:
        vi, en = styles.LAND_USE_NAMES.get(code, (code, code))
        entries.append((styles.parcel_style(code), f"{code} {vi}", en))
    if len(data.land_uses) > LEGEND_LAND_USES:
        entries.append((styles.parcel_style(None), "Loại đất khác", "other land uses"))
    entries += [
        ({"color": "#e53935", "fillColor": "#e53935"}, "Chỉ giới đường đỏ dự án",
         "project red line"),
        ({"color": styles.ZONE_COLOURS["heritage_1"], "fillColor": "#ffffff",
          "dashArray": "4"}, "Vùng bảo vệ di tích", "heritage zone"),
        (styles.SHEET, "Tờ bản đồ", "map sheet"),
        ({"color": "#7b2cbf", "fillColor": "#c77dff"}, "Hồ sơ đang xử lý (nhóm)",
         "pending applications (clustered)")]
    return styles.legend_html("Chú giải", "legend", entries)


def points_of(geoms: list[Any]) -> list[Any]:
    return list(shapely.point_on_surface(geoms)) if geoms else []


def empty(*columns: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=WARD)
