"""Small maps drawn by the server as SVG: a claim and its findings, a survey batch, a
parcel's versions, a corridor's impact.

Not a replacement for the interactive maps (issue 16's ``/maps/…``): a sketch that needs
no script, no tile and no network, prints, and loads with the page on a slow line.
Geometries come in the ward's metric CRS (EPSG:9214); the drawing keeps their true
shape (one scale for both axes, north up) and labels a scale bar in metres.  Every
layer is a ``<g>`` with a class the page's stylesheet colours (the pages' CSP allows no
inline style), and every text placed is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape

import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

SIZE = 480.0
"""The drawing's longer side in SVG units (the page scales it to its column)."""
PAD = 0.06


@dataclass
class Layer:
    """Shapes drawn with one class (``claim``, ``neighbour``, ``finding-error`` …)."""

    css: str
    geometries: Sequence[BaseGeometry | None]
    labels: Sequence[str] = ()
    titles: Sequence[str] = ()
    """A tooltip per shape (``<title>``): what a pointer or a screen reader is told."""
    links: Sequence[str | None] = field(default_factory=list)


@dataclass(frozen=True)
class _View:
    x0: float
    y1: float
    scale: float

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.x0) * self.scale, (self.y1 - y) * self.scale


def _view(bounds: tuple[float, float, float, float], size: float) -> tuple[_View, float, float]:
    x0, y0, x1, y1 = bounds
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    pad = max(w, h) * PAD
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    w, h = x1 - x0, y1 - y0
    scale = size / max(w, h)
    return _View(x0, y1, scale), w * scale, h * scale


def _ring(view: _View, coords: Iterable[Sequence[float]]) -> str:
    pts = [view.xy(c[0], c[1]) for c in coords]
    if not pts:
        return ""
    head = f"M{pts[0][0]:.1f} {pts[0][1]:.1f}"
    return head + "".join(f"L{x:.1f} {y:.1f}" for x, y in pts[1:])


def _path(view: _View, geom: BaseGeometry) -> str:
    parts: list[str] = []
    if isinstance(geom, Polygon):
        parts.append(_ring(view, geom.exterior.coords) + "Z")
        parts.extend(_ring(view, r.coords) + "Z" for r in geom.interiors)
    elif isinstance(geom, LineString):
        parts.append(_ring(view, geom.coords))
    elif isinstance(geom, MultiPolygon | MultiLineString) or hasattr(geom, "geoms"):
        parts.extend(_path(view, g) for g in geom.geoms)
    return "".join(parts)


def _shape(view: _View, geom: BaseGeometry, title: str, link: str | None) -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    if isinstance(geom, Point):
        x, y = view.xy(geom.x, geom.y)
        body = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4">{tip}</circle>'
    else:
        d = _path(view, geom)
        if not d:
            return ""
        body = f'<path d="{d}" fill-rule="evenodd">{tip}</path>'
    if link:
        return f'<a href="{escape(link)}">{body}</a>'
    return body


def _scale_bar(view: _View, width: float, height: float) -> str:
    """A bar of a round number of metres, about a fifth of the drawing wide."""
    target = width / 5 / view.scale
    step = 10 ** math.floor(math.log10(max(target, 0.1)))
    metres = max(m for m in (step, 2 * step, 5 * step) if m <= target) if target >= step else step
    length = metres * view.scale
    x, y = 10.0, height - 12.0
    label = f"{metres:g} m"
    return (f'<g class="scale-bar"><path d="M{x:.1f} {y:.1f}h{length:.1f}" />'
            f'<text x="{x:.1f}" y="{y - 4:.1f}">{escape(label)}</text></g>')


def draw(layers: Sequence[Layer], *, title: str, focus: BaseGeometry | None = None,
         css: str = "sketch") -> str:
    """The SVG of ``layers`` (first drawn first), framed on ``focus`` or on everything."""
    drawn = [g for layer in layers for g in layer.geometries if g is not None and not g.is_empty]
    if not drawn:
        return ""
    frame = focus if focus is not None and not focus.is_empty else shapely.union_all(
        [shapely.envelope(g) for g in drawn])
    view, width, height = _view(frame.bounds, SIZE)
    # A drawing with links is a group of links (a role of "img" would hide them from
    # keyboards and screen readers: an image holds no controls).
    role = "group" if any(layer.links for layer in layers) else "img"
    out = [f'<svg class="{escape(css)}" viewBox="0 0 {width:.0f} {height:.0f}" role="{role}" '
           f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
           f"<title>{escape(title)}</title>"]
    for layer in layers:
        out.append(f'<g class="{escape(layer.css)}">')
        for i, geom in enumerate(layer.geometries):
            if geom is None or geom.is_empty:
                continue
            tip = layer.titles[i] if i < len(layer.titles) else ""
            link = layer.links[i] if i < len(layer.links) else None
            out.append(_shape(view, geom, tip, link))
        out.append("</g>")
        if layer.labels:
            out.append(f'<g class="{escape(layer.css)}-labels labels">')
            for i, geom in enumerate(layer.geometries):
                if geom is None or geom.is_empty or i >= len(layer.labels) or not layer.labels[i]:
                    continue
                p = geom.representative_point()
                x, y = view.xy(p.x, p.y)
                if 0 <= x <= width and 0 <= y <= height:
                    out.append(f'<text x="{x:.1f}" y="{y:.1f}">{escape(layer.labels[i])}</text>')
            out.append("</g>")
    out.append(_scale_bar(view, width, height))
    out.append("</svg>")
    return "".join(out)
