"""Colours, line styles and the bilingual names every map shares.

Land-use colours follow the habit of Vietnamese cadastral and land-use maps (residential
pink, rice yellow, perennial crops light green, forest green, water blue, transport grey,
religious violet); they are a reading aid, not the statutory symbol table.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any, Final

LAND_USE_COLOURS: Final[dict[str, str]] = {
    "ODT": "#f4a6bd", "ONT": "#f7c3d0", "TMD": "#e08a8a", "SKC": "#d9777a", "SKK": "#d9777a",
    "LUC": "#fff27a", "LUK": "#fff59d", "LUN": "#fff59d", "HNK": "#f5e6a3", "BHK": "#f5e6a3",
    "NHK": "#f5e6a3", "CLN": "#c5e1a5", "RSX": "#7cb342", "RPH": "#558b2f", "RDD": "#33691e",
    "NTS": "#9ad0f5", "SON": "#8ecae6", "MNC": "#8ecae6", "DGT": "#d0d0d0", "DTL": "#b3d9f2",
    "TON": "#c9a0dc", "TIN": "#d8b4e2", "NTD": "#b5b59a", "DDT": "#c49a6c", "DDL": "#a5d6a7",
    "TSC": "#ffcc99", "DGD": "#ffcc99", "DYT": "#ffcc99", "DVH": "#ffcc99", "DTT": "#ffd9b3",
    "DSH": "#ffd9b3", "BCS": "#eeeeee", "DCS": "#eeeeee", "NCS": "#eeeeee",
}
OTHER_LAND_USE: Final = "#e6e6e6"
LAND_USE_NAMES: Final[dict[str, tuple[str, str]]] = {
    "ODT": ("Đất ở tại đô thị", "urban residential"),
    "ONT": ("Đất ở tại nông thôn", "rural residential"),
    "LUC": ("Đất chuyên trồng lúa nước", "wet rice"),
    "LUK": ("Đất trồng lúa nước còn lại", "other wet rice"),
    "LUN": ("Đất trồng lúa nương", "upland rice"),
    "NHK": ("Đất nương rẫy trồng cây hằng năm khác", "upland annual crops"),
    "RDD": ("Đất rừng đặc dụng", "special-use forest"),
    "MNC": ("Đất có mặt nước chuyên dùng", "special-use water"),
    "DTL": ("Đất công trình thủy lợi", "irrigation"),
    "SKC": ("Đất cơ sở sản xuất phi nông nghiệp", "non-agricultural production"),
    "HNK": ("Đất trồng cây hằng năm khác", "annual crops"),
    "BHK": ("Đất bằng trồng cây hằng năm khác", "annual crops (flat)"),
    "CLN": ("Đất trồng cây lâu năm", "perennial crops"),
    "RSX": ("Đất rừng sản xuất", "production forest"),
    "RPH": ("Đất rừng phòng hộ", "protection forest"),
    "NTS": ("Đất nuôi trồng thủy sản", "aquaculture"),
    "SON": ("Đất sông, ngòi, kênh, rạch, suối", "river and stream"),
    "DGT": ("Đất giao thông", "transport"),
    "TON": ("Đất cơ sở tôn giáo", "religious"),
    "TIN": ("Đất cơ sở tín ngưỡng", "belief"),
    "NTD": ("Đất nghĩa trang, nghĩa địa", "cemetery"),
    "DDT": ("Đất có di tích lịch sử - văn hóa", "historic-cultural relic"),
    "TMD": ("Đất thương mại, dịch vụ", "commerce and services"),
    "TSC": ("Đất xây dựng trụ sở cơ quan", "public offices"),
    "DGD": ("Đất xây dựng cơ sở giáo dục", "education"),
    "DYT": ("Đất xây dựng cơ sở y tế", "health"),
    "DVH": ("Đất xây dựng cơ sở văn hóa", "culture"),
    "DTT": ("Đất xây dựng cơ sở thể dục thể thao", "sport"),
}
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
