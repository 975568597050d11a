"""An impact as files a clerk or a GIS opens: CSV, XLSX, GeoJSON, GeoPackage.

- CSV (UTF-8 with a byte-order mark, so that Excel shows Vietnamese): one row per parcel
  the corridor takes from or whose land lies in the safety corridor.
- XLSX (openpyxl): a sheet per land use and a totals sheet ("Tổng hợp"), Vietnamese
  headers; measured figures are numbers, derived ones are formulas a clerk can follow
  (share = taken ÷ area, cost = area × unit price, sums per sheet, totals from the sheets).
- GeoJSON (WGS 84) and GeoPackage (EPSG:9214, layers ``taken`` and ``remainder``): the
  taken pieces and the remainder parts, with the rule's verdict on each part.

Every file carries the estimate notice, and the synthetic notice for demo data.  A
project whose corridor takes nothing has nothing to export: :class:`NoImpact`.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from gis import crs as gcrs
from gis import lots as glots
from gis.geojson import geometries_to_geojson
from projects.errors import NoImpact
from projects.results import ESTIMATE_NOTICE, SYNTHETIC_NOTICE, Impact, ParcelImpact
from projects.schemas import impact_header

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "geojson": "application/geo+json",
           "gpkg": "application/geopackage+sqlite3"}

TAKE_VI = {"full": "toàn bộ", "partial": "một phần", "safety": "chỉ hành lang an toàn",
           "noise": "không đáng kể"}
PROPOSAL_VI = {"full_acquisition": "thu hồi toàn bộ", "partial": "thu hồi một phần",
               "none": "không thu hồi"}
COLUMNS = [
    # (header, key, width) — header Vietnamese / English
    ("Thửa đất / Parcel", "label", 28),
    ("Đơn vị cũ / Former unit", "former_unit", 12),
    ("Tờ bản đồ / Sheet", "sheet_no", 8),
    ("Số thửa / Parcel no.", "parcel_no", 8),
    ("Mục đích sử dụng / Land use", "land_use", 10),
    ("Người sử dụng đất / Holders", "holders", 28),
    ("Số GCN / Certificate", "certificates", 18),
    ("Diện tích thửa (m²) / Area", "area_m2", 12),
    ("Diện tích thu hồi (m²) / Taken", "taken_m2", 12),
    ("Tỷ lệ thu hồi / Share taken", "share", 10),
    ("Diện tích còn lại (m²) / Remainder", "remainder_m2", 12),
    ("Số phần còn lại / Parts", "parts", 8),
    ("Không đạt tối thiểu / Fails minimum", "fails", 10),
    ("Lý do / Reasons", "reasons", 40),
    ("Hình thức / Take", "take", 14),
    ("Đề xuất / Proposal", "proposal", 16),
    ("Diện tích đề xuất thu hồi (m²) / Proposed", "proposed_m2", 12),
    ("Vị trí / Position", "position", 8),
    ("Đơn giá (đồng/m²) / Unit price", "unit_price", 14),
    ("Thành tiền thu hồi (đồng) / Cost of take", "cost_taken", 16),
    ("Thành tiền đề xuất (đồng) / Cost proposed", "cost_proposed", 16),
    ("Tranh chấp / Disputes", "disputes", 10),
    ("Hồ sơ đang giải quyết / Pending applications", "applications", 12),
    ("Đoạn tuyến / Sections", "sections", 10),
]
COL = {key: get_column_letter(i + 1) for i, (_, key, _) in enumerate(COLUMNS)}


def reasons(p: ParcelImpact) -> str:
    """Why the remainder fails, part by part, in Vietnamese with the figures."""
    rule = p.rule
    out = []
    for n, part in enumerate(p.parts, start=1):
        why = []
        for f in part.failures:
            if f == glots.AREA and rule and rule.min_area_m2 is not None:
                why.append(f"diện tích {part.area_m2:.1f} m² < {rule.min_area_m2:g} m²")
            elif f == glots.FRONTAGE:
                why.append("không có mặt tiền" if part.frontage_m is None else
                           f"mặt tiền {part.frontage_m:.2f} m < {part.required_frontage_m:g} m "
                           f"(lộ giới {part.road_redline_width_m:g} m)")
            elif f == glots.DEPTH and rule and rule.min_depth_m is not None:
                why.append("không xác định chiều sâu" if part.depth_m is None else
                           f"chiều sâu {part.depth_m:.2f} m < {rule.min_depth_m:g} m")
            elif f == glots.ROAD_ACCESS:
                why.append("không tiếp giáp đường giao thông công cộng")
        if why:
            out.append(f"phần {n}: " + "; ".join(why))
    return " | ".join(out)


def _rows(impact: Impact) -> list[ParcelImpact]:
    rows = [p for p in impact.parcels if p.affected or p.take == "safety"]
    if not any(p.affected for p in rows):
        raise NoImpact(f"the corridor {impact.corridor.ref} of project {impact.project.code}"
                       + (f" (section {impact.section})" if impact.section else "")
                       + " takes no land from any parcel: there is nothing to export",
                       project=impact.project.code)
    return rows


def _values(p: ParcelImpact) -> dict[str, Any]:
    return {
        "label": p.label, "former_unit": p.former_unit, "sheet_no": p.sheet_no,
        "parcel_no": p.parcel_no, "land_use": p.land_use, "holders": "; ".join(p.holders),
        "certificates": "; ".join(p.certificates), "area_m2": round(p.area_m2, 2),
        "taken_m2": round(p.taken_m2, 2),
        "share": round(p.share_taken, 4), "remainder_m2": round(p.remainder_m2, 2),
        "parts": len(p.parts), "fails": "Có" if p.fails_minimum else "Không",
        "reasons": reasons(p), "take": TAKE_VI[p.take], "proposal": PROPOSAL_VI[p.proposal],
        "proposed_m2": round(p.proposed_m2, 2), "position": p.position,
        "unit_price": p.unit_price,
        "cost_taken": round(p.cost_taken) if p.cost_taken is not None else None,
        "cost_proposed": round(p.cost_proposed) if p.cost_proposed is not None else None,
        "disputes": ", ".join(map(str, p.disputes)),
        "applications": ", ".join(map(str, p.applications)),
        "sections": ", ".join(p.sections),
    }


def _title(impact: Impact) -> str:
    h = impact_header(impact)
    sec = f", đoạn {impact.section}" if impact.section else ""
    return (f"{h['project']['name_vi']} ({impact.project.code}) – phương án "
            f"{impact.corridor.ref}{sec} – sổ địa chính ngày {impact.on.isoformat()}")


def _notices(impact: Impact) -> list[str]:
    out = [ESTIMATE_NOTICE]
    if impact.price_table is not None:
        out.append(f"Bảng giá / price table: {impact.price_table.table} — "
                   f"{impact.price_table.source}")
    if impact.project.synthetic:
        out.append(SYNTHETIC_NOTICE)
    return out


def to_csv(impact: Impact) -> bytes:
    rows = _rows(impact)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for line in (_title(impact), *_notices(impact)):
        w.writerow([f"# {line}"])
    w.writerow([h for h, _, _ in COLUMNS])
    for p in rows:
        v = _values(p)
        w.writerow(["" if v[k] is None else v[k] for _, k, _ in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


HEADER_ROW = 4
"""Rows 1-3 hold the title and notices; headers on row 4, data from row 5."""


def to_xlsx(impact: Impact) -> bytes:
    rows = _rows(impact)
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "Tổng hợp"
    by_use: dict[str, list[ParcelImpact]] = {}
    for p in rows:
        by_use.setdefault(p.land_use, []).append(p)
    sheet_totals: dict[str, int] = {}
    for use, items in sorted(by_use.items()):
        ws = wb.create_sheet(title=use[:31].replace("+", "_"))
        _head(ws, impact, [h for h, _, _ in COLUMNS], [w for _, _, w in COLUMNS])
        r = HEADER_ROW
        for p in items:
            r += 1
            v = _values(p)
            for c, (_, key, _) in enumerate(COLUMNS, start=1):
                ws.cell(row=r, column=c, value=v[key] if v[key] != "" else None)
            ws[f"{COL['share']}{r}"] = f"=IF({COL['area_m2']}{r}>0,{COL['taken_m2']}{r}/" \
                                        f"{COL['area_m2']}{r},0)"
            ws[f"{COL['share']}{r}"].number_format = "0.00%"
            if p.unit_price is not None:
                taken = f"{COL['taken_m2']}{r}" if p.affected else "0"
                ws[f"{COL['cost_taken']}{r}"] = f"={taken}*{COL['unit_price']}{r}"
                ws[f"{COL['cost_proposed']}{r}"] = \
                    f"={COL['proposed_m2']}{r}*{COL['unit_price']}{r}"
        total = r + 1
        first = HEADER_ROW + 1
        ws.cell(row=total, column=1, value="Tổng cộng / Total").font = Font(bold=True)
        ws[f"{COL['parcel_no']}{total}"] = f"=COUNTA({COL['label']}{first}:{COL['label']}{r})"
        for key in ("area_m2", "taken_m2", "remainder_m2", "proposed_m2", "cost_taken",
                    "cost_proposed"):
            ws[f"{COL[key]}{total}"] = f"=SUM({COL[key]}{first}:{COL[key]}{r})"
            ws[f"{COL[key]}{total}"].font = Font(bold=True)
        sheet_totals[ws.title] = total
    _summary(summary, impact, sheet_totals)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _head(ws: Any, impact: Impact, headers: list[str], widths: list[int]) -> None:
    ws["A1"] = _title(impact)
    ws["A1"].font = Font(bold=True, size=12)
    ws["A2"] = " · ".join(_notices(impact))
    ws["A2"].font = Font(italic=True, color="C00000")
    for c, (h, w) in enumerate(zip(headers, widths, strict=True), start=1):
        cell = ws.cell(row=HEADER_ROW, column=c, value=h)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = f"A{HEADER_ROW + 1}"


SUMMARY = [("Mục đích sử dụng / Land use", "", 26),
           ("Số thửa / Parcels", "parcel_no", 10),
           ("Diện tích thu hồi (m²) / Taken", "taken_m2", 16),
           ("Diện tích đề xuất (m²) / Proposed", "proposed_m2", 16),
           ("Thành tiền thu hồi (đồng) / Cost of take", "cost_taken", 20),
           ("Thành tiền đề xuất (đồng) / Cost proposed", "cost_proposed", 20)]


def _summary(ws: Any, impact: Impact, sheet_totals: dict[str, int]) -> None:
    _head(ws, impact, [h for h, _, _ in SUMMARY], [w for _, _, w in SUMMARY])
    r = HEADER_ROW
    for sheet, total in sheet_totals.items():
        r += 1
        ws.cell(row=r, column=1, value=sheet)
        for c, (_, key, _) in enumerate(SUMMARY[1:], start=2):
            ws.cell(row=r, column=c, value=f"='{sheet}'!{COL[key]}{total}")
    last = r
    r += 1
    ws.cell(row=r, column=1, value="Tổng cộng / Total").font = Font(bold=True)
    for c in range(2, len(SUMMARY) + 1):
        letter = get_column_letter(c)
        ws.cell(row=r, column=c, value=f"=SUM({letter}{HEADER_ROW + 1}:{letter}{last})")
    t = impact.totals
    facts = [("Số thửa bị ảnh hưởng / Parcels affected", t.parcels_affected),
             ("Trong đó đất Nhà nước quản lý / of which state land", t.state_land_parcels),
             ("Số người sử dụng đất / Holders affected", t.holders_affected),
             ("Thu hồi toàn bộ / Full takes", t.full_takes),
             ("Thu hồi một phần / Partial takes", t.partial_takes),
             ("Đề xuất thu hồi toàn bộ / Proposed for full acquisition",
              t.proposed_full_acquisition),
             ("Phần còn lại tạo thành / Remainder parts", t.parts_created),
             ("Thửa chỉ trong hành lang an toàn / Only in the safety corridor",
              t.safety_only_parcels),
             ("Hồ sơ đang giải quyết / Pending applications", t.pending_applications),
             ("Tranh chấp đang mở / Open disputes", t.open_disputes)]
    r += 2
    for label, value in facts:
        ws.cell(row=r, column=1, value=label)
        ws.cell(row=r, column=2, value=value)
        r += 1


def _features(impact: Impact) -> tuple[list[dict[str, Any]], list[Any], list[dict[str, Any]],
                                       list[Any]]:
    taken_props, taken_geoms, rest_props, rest_geoms = [], [], [], []
    for p in _rows(impact):
        base = {"parcel_id": p.parcel_id, "label": p.label, "land_use": p.land_use,
                "take": p.take, "proposal": p.proposal}
        if p.affected:
            taken_props.append({**base, "kind": "taken", "area_m2": round(p.taken_m2, 2),
                                "sections": ",".join(p.sections)})
            taken_geoms.append(p.taken)
        for n, part in enumerate(p.parts, start=1):
            rest_props.append({**base, "kind": "remainder", "part": n,
                               "area_m2": round(part.area_m2, 2),
                               "frontage_m": part.frontage_m, "depth_m": part.depth_m,
                               "road_access": part.road_access, "judged": part.judged,
                               "fails": part.fails, "failures": ",".join(part.failures)})
            rest_geoms.append(part.geometry)
    return taken_props, taken_geoms, rest_props, rest_geoms


def to_geojson(impact: Impact) -> dict[str, Any]:
    tp, tg, rp, rg = _features(impact)
    geoms = geometries_to_geojson([*tg, *rg])
    feats = [{"type": "Feature", "properties": props, "geometry": g}
             for props, g in zip([*tp, *rp], geoms, strict=True)]
    head = impact_header(impact)
    return {"type": "FeatureCollection", "features": feats,
            "project": head["project"], "corridor": head["corridor"],
            "section": impact.section, "reference_date": impact.on.isoformat(),
            "notice": head["notice"]}


def to_gpkg(impact: Impact) -> bytes:
    tp, tg, rp, rg = _features(impact)
    notice = " · ".join(_notices(impact))
    with tempfile.TemporaryDirectory(prefix="impact-") as folder:
        path = Path(folder) / "impact.gpkg"
        for name, props, geoms, what, kind in (
                ("taken", tp, tg, "phần thu hồi / taken", "MultiPolygon"),
                ("remainder", rp, rg, "phần còn lại / remainder", "Polygon")):
            frame = gpd.GeoDataFrame(props, geometry=geoms, crs=f"EPSG:{gcrs.WARD}")
            if frame.empty:
                frame = gpd.GeoDataFrame({"parcel_id": []}, geometry=[],
                                         crs=f"EPSG:{gcrs.WARD}")
            pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG",
                                    geometry_type=kind,
                                    layer_options={"DESCRIPTION": f"{what}: {notice}"},
                                    layer_metadata={"notice": notice,
                                                    "project": impact.project.code,
                                                    "corridor": impact.corridor.ref})
        return path.read_bytes()


def export(impact: Impact, fmt: str) -> bytes:
    """The impact in one of :data:`FORMATS` (GeoJSON as UTF-8 bytes)."""
    if fmt == "csv":
        return to_csv(impact)
    if fmt == "xlsx":
        return to_xlsx(impact)
    if fmt == "geojson":
        import orjson

        return orjson.dumps(to_geojson(impact))
    if fmt == "gpkg":
        return to_gpkg(impact)
    raise ValueError(f"unknown export format {fmt!r}")
