"""The folium elements our maps are made of: GeoJSON layers that carry their own popups and
styles, image overlays, fixed boxes (legend, banner, summary), and the layer registry.

Every layer is registered under a stable key in ``window.cadastre.layers`` (see
``maps/assets/cadastre/map.js``), so a test, a person at the console, or the ward page's
own scripts can count what each layer holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.map import Layer
from folium.plugins import MeasureControl
from folium.template import Template

from gis.crs import WARD
from gis.geojson import geometries_to_geojson
from maps import styles


def feature_collection(gdf: gpd.GeoDataFrame,
                       properties: Callable[[Mapping[str, Any]], dict[str, Any]]
                       ) -> dict[str, Any]:
    """GeoJSON (WGS 84) of a GeoDataFrame in the metric CRS, reprojected here, at the edge."""
    if gdf.crs is None or gdf.crs.to_epsg() != WARD:
        raise ValueError(f"map layers take GeoDataFrames in EPSG:{WARD}, not {gdf.crs}: "
                         "reproject with to_crs(9214) first")
    rows = gdf.drop(columns=gdf.geometry.name).to_dict("records")
    geoms = geometries_to_geojson(list(gdf.geometry), WARD)
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "geometry": g, "properties": properties(r)}
                         for g, r in zip(geoms, rows, strict=True)]}


class GeoLayer(Layer):
    """A GeoJSON overlay whose features carry ``style``, ``popup``, ``tooltip`` or ``label``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = cadastre.geoLayer({{ this.data_json }});
        cadastre.register({{ this._parent.get_name() }}, {{ this.key|tojson }},
                          {{ this.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, data: dict[str, Any], *, key: str, name: str, show: bool = True,
                 control: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "GeoLayer"
        self.data_json = script_json(data)
        self.key = key


class Registered(MacroElement):
    """Register an existing layer (an image overlay, a tile layer) under ``key``."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        cadastre.register({{ this.map.get_name() }}, {{ this.key|tojson }},
                          {{ this.layer.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, fmap: folium.Map, layer: Any, key: str) -> None:
        super().__init__()
        self.map, self.layer, self.key = fmap, layer, key


class Box(MacroElement):
    """A fixed box on the map (legend, banner, summary) as a Leaflet control."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        cadastre.control({{ this._parent.get_name() }}, {{ this.position|tojson }},
                         {{ this.html_json }}, {{ this.css_class|tojson }});
        {% endmacro %}
    """)

    def __init__(self, html: str, *, position: str = "bottomright",
                 css_class: str = "cad-box") -> None:
        super().__init__()
        self.html_json, self.position, self.css_class = script_json(html), position, css_class


def finish(fmap: folium.Map, *, synthetic: bool,
           notes: Sequence[tuple[str, str]] = ()) -> folium.Map:
    """What every map ends with: the synthetic-data banner where the ward is the demo's,
    each (Vietnamese, English) note as a warning box, and the layer switcher."""
    if synthetic:
        Box(styles.bilingual(*styles.SYNTHETIC_NOTICE), position="bottomleft",
            css_class="cad-banner").add_to(fmap)
    for vi, en in notes:
        Box(styles.bilingual(vi, en), position="bottomleft", css_class="cad-warning"
            ).add_to(fmap)
    folium.LayerControl(position="topright", collapsed=True).add_to(fmap)
    return fmap


class Script(MacroElement):
    """A piece of page script (the ward page's tile layer and its counters)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) { {{ this.code }} })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code


def base_map(bounds_wgs84: Sequence[float], *, max_zoom: int = 22,
             fit_max_zoom: int | None = None) -> folium.Map:
    """A map with no default tiles, a metric scale bar, fitted to (minlon, minlat, maxlon,
    maxlat).  Nothing is fetched from the network: layers are added by the caller."""
    minx, miny, maxx, maxy = bounds_wgs84
    fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None,
                      zoom_start=17, max_zoom=max_zoom, control_scale=False,
                      prefer_canvas=False, zoom_control=True)
    Script("L.control.scale({imperial: false, maxWidth: 160}).addTo(map);").add_to(fmap)
    # Fitted at once, not animated: an animated zoom from the initial view would first ask
    # the tile layers for tiles at that view and then cancel them.
    options = {"animate": False, **({"maxZoom": fit_max_zoom} if fit_max_zoom else {})}
    Script(f"map.fitBounds({to_json([[miny, minx], [maxy, maxx]])}, {to_json(options)});"
           ).add_to(fmap)
    return fmap


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def script_json(value: Any) -> str:
    """JSON to place inside a <script>: UTF-8 kept (Vietnamese stays readable and a third
    the size of \\u escapes), with ``</`` and the JavaScript line separators escaped."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("</", "<\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class Measure(MeasureControl):
    """folium's measure tool (leaflet-measure 2.1.7) in metres and m², with folium's fix for
    Leaflet ≥ 1.8 (no auto-pan on the capture marker) and without its comment's web link."""

    _template = Template("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = new L.Control.Measure(
                {{ this.options|tojavascript }});
            {{ this._parent.get_name() }}.addControl({{ this.get_name() }});
            L.Control.Measure.include({
                _setCaptureMarkerIcon: function () {
                    this._captureMarker.options.autoPanOnFocus = false;
                    this._captureMarker.setIcon(
                        L.divIcon({iconSize: this._map.getSize().multiplyBy(2)}));
                },
            });
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__(position="topleft", primary_length_unit="meters",
                         secondary_length_unit="kilometers", primary_area_unit="sqmeters",
                         secondary_area_unit="hectares")
