"""Colours, line styles and the bilingual names every map shares.

Land-use names and colours come from the one code list (``config/land_use.toml``): each
group's colour follows the habit of Vietnamese land-use maps (residential pink, rice yellow,
perennial crops light green, forest green, water blue, transport grey, religious violet) and
each code gets a shade of it (``maps/land_use_styles.py``); a reading aid, not the statutory
symbol table.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any, Final

from config.land_use import load as load_land_uses
from maps.land_use_styles import FALLBACK, code_colours, rgb_hex

LAND_USE_COLOURS: Final[dict[str, str]] = {
    code: rgb_hex(colour) for code, colour in code_colours(load_land_uses()).items()}
"""Fill colour of every code, generated from the one land-use list (config/land_use.toml,
maps/land_use_styles.py), as the QGIS project's are: no colour is drawn by hand per code."""
OTHER_LAND_USE: Final = rgb_hex(FALLBACK)
LAND_USE_NAMES: Final[dict[str, tuple[str, str]]] = {
    c.code: (c.name_vi, c.name_en) for c in load_land_uses().codes.values()}
"""Vietnamese and English name of every code, from the same list."""
SEVERITY_COLOURS: Final[dict[str, str]] = {
    "error": "#d62728", "warning": "#ff8c00", "info": "#1f77b4",
}
SEVERITY_NAMES: Final[dict[str, tuple[str, str]]] = {
    "error": ("Lỗi", "error"), "warning": ("Cảnh báo", "warning"), "info": ("Thông tin", "info"),
}
CLAIM: Final = {"color": "#c00000", "weight": 3, "fillColor": "#ff4d4d", "fillOpacity": 0.12}
INVALID_CLAIM: Final = {"color": "#c00000", "weight": 3, "dashArray": "6 4",
                        "fillColor": "#ff4d4d", "fillOpacity": 0.08}
PENDING: Final = {"color": "#7b2cbf", "weight": 2, "dashArray": "5 5", "fillColor": "#c77dff",
                  "fillOpacity": 0.15}
SHEET: Final = {"color": "#0b3d91", "weight": 1, "dashArray": "2 4", "fill": False}
WARD: Final = {"color": "#000000", "weight": 2, "fill": False}
ZONE_COLOURS: Final[dict[str, str]] = {
    "river_corridor": "#1e88e5", "heritage_1": "#8e24aa", "heritage_2": "#ba68c8",
    "road_redline": "#e53935", "planning": "#6d4c41",
}
ZONE_NAMES: Final[dict[str, tuple[str, str]]] = {
    "river_corridor": ("Hành lang bảo vệ sông", "river corridor"),
    "heritage_1": ("Khu vực bảo vệ di tích I", "heritage zone I"),
    "heritage_2": ("Khu vực bảo vệ di tích II", "heritage zone II"),
    "road_redline": ("Chỉ giới đường đỏ", "road red line"),
    "planning": ("Quy hoạch", "planning"),
}
SYNTHETIC_NOTICE: Final = ("Dữ liệu mô phỏng, không phải hồ sơ địa chính thật",
                           "Synthetic demo data: not real cadastral records")


def land_use_colour(code: str | None) -> str:
    return LAND_USE_COLOURS.get((code or "").upper(), OTHER_LAND_USE)


def parcel_style(code: str | None, *, weight: float = 1.0, opacity: float = 0.55
                 ) -> dict[str, Any]:
    return {"color": "#444444", "weight": weight, "fillColor": land_use_colour(code),
            "fillOpacity": opacity}


def finding_style(severity: str) -> dict[str, Any]:
    colour = SEVERITY_COLOURS.get(severity, SEVERITY_COLOURS["info"])
    return {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.5,
            "radius": 7}


def bilingual(vi: str, en: str) -> str:
    """``vi / en`` as HTML, the English part greyed (both escaped)."""
    return f'{html.escape(vi)} <span class="en">/ {html.escape(en)}</span>'


def table(rows: Iterable[tuple[str, str, Any]]) -> str:
    """An HTML table of (Vietnamese label, English label, value) rows, values escaped."""
    cells = "".join(f"<tr><th>{bilingual(vi, en)}</th><td>{html.escape(_text(v))}</td></tr>"
                    for vi, en, v in rows if v is not None and v != "")
    return f"<table>{cells}</table>"


def popup(title_vi: str, title_en: str, rows: Iterable[tuple[str, str, Any]],
          extra_html: str = "") -> str:
    return (f'<div class="cad-popup"><h4>{bilingual(title_vi, title_en)}</h4>'
            f"{table(rows)}{extra_html}</div>")


def _text(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}".replace(",", " ")
    return str(v)


def legend_html(title_vi: str, title_en: str,
                entries: Iterable[tuple[Mapping[str, Any], str, str]]) -> str:
    """A legend box: (style, Vietnamese, English) per entry, a swatch drawn from the style."""
    rows = []
    for style, vi, en in entries:
        fill = style.get("fillColor", "transparent") if style.get("fill", True) else "transparent"
        border = style.get("color", "#333")
        dash = "dashed" if style.get("dashArray") else "solid"
        rows.append(f'<tr><td><span class="cad-swatch" style="background:{fill};'
                    f'border:2px {dash} {border}"></span></td><td>{bilingual(vi, en)}</td></tr>')
    return f'<h4>{bilingual(title_vi, title_en)}</h4><table>{"".join(rows)}</table>'
