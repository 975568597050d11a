"""Maps that work without internet: every script, style and image comes from us.

folium's elements name their JavaScript and CSS as ``(name, CDN URL)`` pairs.  Before a map
is rendered, :func:`render` walks every element and replaces each pair with our own copy
under ``/maps/assets/`` (see :mod:`maps.vendor`); a name we do not ship raises
:class:`UnknownAsset` instead of letting a CDN URL through.  Bootstrap, jQuery and the
awesome-markers that folium loads by default are dropped: our maps use none of them.

``self_contained=True`` inlines every asset (CSS images as ``data:`` URIs), so one HTML file
opens from a phone's storage with no server at all.  :func:`external_urls` is the check
both the renderer and the tests apply: a page that names any ``http(s)://`` resource outside
our service is refused.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from pathlib import Path
from typing import Final

import branca.element
import folium
from folium.elements import JSCSSMixin

ASSETS: Final = Path(__file__).resolve().parent / "assets"
BASE_URL: Final = "/maps/assets"

JS: Final[dict[str, str]] = {
    "leaflet": "vendor/leaflet/1.9.4/dist/leaflet.js",
    "markerclusterjs": "vendor/leaflet.markercluster/1.5.3/dist/leaflet.markercluster.js",
    "leaflet_measure_js": "vendor/leaflet-measure/2.1.7/dist/leaflet-measure.min.js",
    "vectorGrid": "vendor/leaflet.vectorgrid/1.3.0/dist/Leaflet.VectorGrid.bundled.min.js",
    "cadastre_js": "cadastre/map.js",
}
"""folium's name of each script → our file under ``maps/assets/``."""
CSS: Final[dict[str, str]] = {
    "leaflet_css": "vendor/leaflet/1.9.4/dist/leaflet.css",
    "markerclustercss": "vendor/leaflet.markercluster/1.5.3/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/leaflet.markercluster/1.5.3/dist/MarkerCluster.Default.css",
    "leaflet_measure_css": "vendor/leaflet-measure/2.1.7/dist/leaflet-measure.css",
    "cadastre_css": "cadastre/map.css",
}
DROPPED: Final = frozenset({
    "jquery", "bootstrap", "bootstrap_css", "bootstrap_theme_css", "glyphicons_css",
    "awesome_markers", "awesome_markers_css", "awesome_markers_font_css",
    "awesome_rotate_css",
})
"""folium.Map's defaults that our maps do not use (no Bootstrap, jQuery or icon fonts)."""
OWN_JS: Final = (("cadastre_js", JS["cadastre_js"]),)
OWN_CSS: Final = (("cadastre_css", CSS["cadastre_css"]),)

NOT_RESOURCES: Final = frozenset({
    "http://www.w3.org/2000/svg",  # the SVG namespace Leaflet creates elements in
    "https://leafletjs.com",  # the attribution's hyperlink, followed only when clicked
    "https://bugs.chromium.org/p/chromium/issues/detail?id=600120",  # comments in Leaflet
    "https://bugzilla.mozilla.org/show_bug.cgi?id=888319",
})
"""Strings in the vendored code that look like URLs but load nothing."""
_URL = re.compile(r"""https?://[^\s"'<>)\\]+""", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")


class UnknownAsset(LookupError):
    """A folium element asks for a script or style we do not ship."""


def asset_path(relative: str) -> Path:
    """The file under ``maps/assets/`` for a URL path, refusing anything outside it."""
    path = (ASSETS / relative).resolve()
    if ASSETS not in path.parents or not path.is_file():
        raise FileNotFoundError(relative)
    return path


def _localise(fmap: folium.Map, base_url: str) -> None:
    """Point every element's scripts and styles at our copies (instance attributes: the
    class lists are folium's own and must not change)."""
    stack: list[branca.element.Element] = [fmap]
    while stack:
        el = stack.pop()
        stack.extend(el._children.values())
        if not isinstance(el, JSCSSMixin) and el is not fmap:
            continue
        js, css = [], []
        for name, url in getattr(el, "default_js", []):
            if name in DROPPED:
                continue
            if name not in JS:
                raise UnknownAsset(f"{type(el).__name__} wants script {name!r} ({url}); "
                                   "vendor it in maps/assets and name it in maps.offline.JS")
            js.append((name, f"{base_url}/{JS[name]}"))
        for name, url in getattr(el, "default_css", []):
            if name in DROPPED:
                continue
            if name not in CSS:
                raise UnknownAsset(f"{type(el).__name__} wants style {name!r} ({url}); "
                                   "vendor it in maps/assets and name it in maps.offline.CSS")
            css.append((name, f"{base_url}/{CSS[name]}"))
        if el is fmap:
            js += [(n, f"{base_url}/{p}") for n, p in OWN_JS]
            css += [(n, f"{base_url}/{p}") for n, p in OWN_CSS]
        setattr(el, "default_js", js)  # noqa: B010 (an instance copy: the class list is folium's)
        setattr(el, "default_css", css)  # noqa: B010


def render(fmap: folium.Map, *, title: str, self_contained: bool = False,
           base_url: str = BASE_URL) -> str:
    """The map as one HTML page whose assets are ours (inlined when ``self_contained``)."""
    _localise(fmap, base_url)
    figure = fmap.get_root()
    assert isinstance(figure, branca.element.Figure)
    figure.title = title
    html = figure.render()
    html = html.replace("<html>", '<html lang="vi">', 1).replace(
        '<meta http-equiv="content-type" content="text/html; charset=UTF-8" />',
        '<meta charset="utf-8">', 1)
    if self_contained:
        html = _inline(html, base_url)
    found = external_urls(html)
    if found:
        raise UnknownAsset(f"the page names resources outside our service: {found[:5]}")
    return html


def _inline(html: str, base_url: str) -> str:
    prefix = re.escape(base_url.rstrip("/") + "/")

    def script(m: re.Match[str]) -> str:
        code = asset_path(m.group(1)).read_text(encoding="utf-8")
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    def style(m: re.Match[str]) -> str:
        rel = m.group(1)
        return "<style>" + inline_css(asset_path(rel).read_text(encoding="utf-8"),
                                      rel) + "</style>"

    html = re.sub(rf'<script src="{prefix}([^"]+)"></script>', script, html)
    return re.sub(rf'<link rel="stylesheet" href="{prefix}([^"]+)"\s*/?>', style, html)


def inline_css(css: str, relative: str) -> str:
    """CSS with every relative ``url(...)`` replaced by a ``data:`` URI of the file."""
    folder = str(Path(relative).parent)

    def repl(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref.startswith(("data:", "#")):
            return m.group(0)
        path = asset_path(str(Path(folder) / ref))
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return f"url(data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()})"

    return _CSS_URL.sub(repl, css)


def external_urls(html: str) -> list[str]:
    """Every ``http(s)://`` reference in the page that points outside our service.

    The vendored code's own namespace, attribution link and comments
    (:data:`NOT_RESOURCES`) load nothing and are the only exceptions.
    """
    return [u for u in _URL.findall(html) if u.rstrip("/") not in NOT_RESOURCES]


def data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"
