"""The cadastral map extract (trích lục bản đồ địa chính / mảnh trích đo): one A4 page.

:func:`extract_pdf` is pure: an :class:`ExtractInput` (geometries in EPSG:9214) in, PDF
bytes out, drawn with ReportLab.  The page holds what land officers expect on the form:
the parcel drawn to a standard scale (1:200 … 1:10 000, the largest that fits) with its
numbered boundary points, edge lengths and the neighbours' numbers, a north arrow and a
scale bar; the table of boundary points in VN-2000 / TM-3 107-00 (X northing, Y easting,
to the centimetre) with each side's length; area, land use, sheet and parcel number,
holder, address and date; and a QR code linking back to the record.

Text is set in DejaVu Sans (Debian's ``fonts-dejavu-core``, embedded as a subset), which
has every Vietnamese letter; numbers use a decimal point and no grouping, so a coordinate
reads back exactly as it is stored.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Final

import geopandas as gpd
import shapely
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from config.maps import FloodLevel
from gis.raster import ElevationStats
from maps import boundary, styles

SCALES: Final = (200, 500, 1000, 2000, 5000, 10000)
"""Cadastral map scales (DOMAIN.md, Parcels and maps)."""
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
FRAME_W, FRAME_H = 180 * mm, 122 * mm
CRS_LABEL = "VN-2000, kinh tuyến trục 107°00′, múi chiếu 3° (EPSG:9214)"


class FontMissing(RuntimeError):
    """The extract's font is not installed (Debian package ``fonts-dejavu-core``)."""


@dataclass(frozen=True)
class ExtractInput:
    """What one extract shows; geometries in EPSG:9214."""

    geometry: BaseGeometry
    valid: bool
    area_m2: float | None
    """The measured area (the registry's, from the geometry in EPSG:9214)."""
    neighbours: gpd.GeoDataFrame
    """sheet_no, parcel_no; the parcels around it, for their numbers and lines."""
    sheet_no: int | None
    parcel_no: int | None
    former_unit: str | None
    land_use: str | None
    holders: Sequence[str]
    address: str | None
    ward_name: str
    record_url: str
    printed_on: date
    reference: str
    """What the extract is of: ``thửa 123 tờ 5`` or ``hồ sơ A000001``."""
    synthetic: bool = False
    sheet_scale: int | None = None
    elevation: ElevationStats | None = None
    flood: FloodLevel | None = None
    notes: Sequence[str] = field(default_factory=tuple)


def register_fonts(font_dir: Path) -> None:
    """Register DejaVu Sans (regular and bold) with ReportLab, once."""
    regular, bold = font_dir / "DejaVuSans.ttf", font_dir / "DejaVuSans-Bold.ttf"
    if not regular.is_file() or not bold.is_file():
        raise FontMissing(f"DejaVu Sans is not in {font_dir}: install Debian's "
                          "fonts-dejavu-core (make test does) or set CADASTRE_MAPS_FONT_DIR")
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(regular)))
    pdfmetrics.registerFont(TTFont(BOLD, str(bold)))


def choose_scale(geom: BaseGeometry, width_mm: float, height_mm: float,
                 floor: int | None = None) -> int:
    """The largest standard scale at which the parcel and a margin fit the frame."""
    minx, miny, maxx, maxy = geom.bounds
    w, h = max(maxx - minx, 1.0) * 1.25, max(maxy - miny, 1.0) * 1.25
    for s in SCALES:
        if floor and s < min(floor, 500):
            continue
        if w * 1000 / s <= width_mm and h * 1000 / s <= height_mm:
            return s
    return SCALES[-1]


def _fmt(v: float, nd: int = 2) -> str:
    return f"{v:.{nd}f}"


def extract_pdf(data: ExtractInput, *, font_dir: Path) -> bytes:
    """The extract as a one-page A4 PDF."""
    register_fonts(font_dir)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    c.setTitle(f"Trích lục bản đồ địa chính · {data.reference}")
    c.setAuthor(data.ward_name)
    c.setSubject("Cadastral map extract")
    page_w, page_h = A4
    left = 15 * mm
    y = page_h - 14 * mm

    c.setFont(BOLD, 9)
    c.drawCentredString(page_w / 2, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    c.setFont(BOLD, 8.5)
    c.drawCentredString(page_w / 2, y - 4 * mm, "Độc lập - Tự do - Hạnh phúc")
    c.setFont(FONT, 8)
    c.drawString(left, y - 9 * mm, data.ward_name)
    c.drawRightString(page_w - left, y - 9 * mm, f"Ngày {data.printed_on.day:02d} tháng "
                      f"{data.printed_on.month:02d} năm {data.printed_on.year}")
    y -= 16 * mm
    c.setFont(BOLD, 14)
    c.drawCentredString(page_w / 2, y, "TRÍCH LỤC BẢN ĐỒ ĐỊA CHÍNH")
    c.setFont(FONT, 8)
    c.drawCentredString(page_w / 2, y - 4.5 * mm, f"Cadastral map extract · {data.reference}")
    if data.synthetic:
        c.setFillColorRGB(0.7, 0.05, 0.05)
        c.setFont(BOLD, 8)
        c.drawCentredString(page_w / 2, y - 9 * mm, "DỮ LIỆU MÔ PHỎNG, KHÔNG PHẢI HỒ SƠ ĐỊA "
                            "CHÍNH THẬT · SYNTHETIC DEMO DATA, NOT A REAL RECORD")
        c.setFillColorRGB(0, 0, 0)
    y -= 14 * mm

    # Facts of the parcel, two columns.
    use_vi = styles.LAND_USE_NAMES.get(data.land_use or "", ("", ""))[0]
    area = f"{data.area_m2:.1f} m²" if data.area_m2 is not None else \
        "không xác định (ranh giới tự cắt)"
    facts = [
        ("Thửa đất số", str(data.parcel_no) if data.parcel_no else "—"),
        ("Tờ bản đồ số", (f"{data.sheet_no} ({data.former_unit} cũ)" if data.sheet_no
                          and data.former_unit else str(data.sheet_no or "—"))),
        ("Diện tích", area),
        ("Loại đất", f"{data.land_use} – {use_vi}" if data.land_use else "—"),
        ("Người sử dụng đất", "; ".join(data.holders) or "—"),
        ("Địa chỉ thửa đất", data.address or "—"),
    ]
    c.setFont(FONT, 9)
    for i, (label, value) in enumerate(facts):
        col = left + (i % 2) * 92 * mm
        row = y - (i // 2) * 5 * mm
        c.setFont(FONT, 8.5)
        c.drawString(col, row, f"{label}:")
        c.setFont(BOLD, 8.5)
        c.drawString(col + 30 * mm, row, _clip(c, value, BOLD, 8.5, 60 * mm))
    y -= 3 * 5 * mm + 2 * mm

    # The drawing, to scale.
    frame_top = y
    frame = (left, frame_top - FRAME_H, left + FRAME_W, frame_top)
    scale = _draw_parcel(c, data, frame)
    y = frame_top - FRAME_H - 5 * mm

    # Boundary points and sides.
    verts = boundary.vertices(data.geometry)
    sides = boundary.edges(data.geometry)
    c.setFont(BOLD, 9)
    c.drawString(left, y, "Bảng tọa độ đỉnh thửa")
    c.setFont(FONT, 7)
    c.drawString(left, y - 3.8 * mm, f"{CRS_LABEL}; X hướng Bắc, Y hướng Đông; đơn vị mét")
    y -= 5 * mm
    _table(c, verts, sides, left, y, bottom=42 * mm)

    # Elevation, notes, QR and signatures at the foot of the page.
    foot = 36 * mm
    c.setFont(FONT, 7.5)
    lines = [f"Tỷ lệ bản vẽ 1:{scale}. Cạnh ghi theo mét, đo trong hệ VN-2000 / TM-3 107-00."]
    if data.elevation is not None and data.flood is not None:
        mark = " (mức lũ chưa được xác minh)" if data.flood.uncertain else ""
        lines.append(
            f"Độ cao: thấp nhất {data.elevation.min_m:.2f} m, trung bình "
            f"{data.elevation.mean_m:.2f} m, cao nhất {data.elevation.max_m:.2f} m; "
            f"{100 * data.elevation.below_share:.0f}% diện tích thấp hơn {data.flood.level_m:g} m"
            f" ({data.flood.name_vi}){mark}.")
    lines += list(data.notes)
    wrapped = [part for line in lines for part in simpleSplit(line, FONT, 7.5, 145 * mm)]
    for i, line in enumerate(wrapped[:6]):
        c.drawString(left, foot - i * 3.4 * mm, line)
    c.setFont(BOLD, 8.5)
    c.drawString(left, 14 * mm, "Người lập trích lục")
    c.drawString(left + 70 * mm, 14 * mm, "Cán bộ địa chính phường")
    _qr(c, data.record_url, page_w - left - 30 * mm, 10 * mm, 30 * mm)
    c.setFont(FONT, 5.5)
    c.drawRightString(page_w - left, 7 * mm, data.record_url)
    c.showPage()
    c.save()
    return buf.getvalue()


def _clip(c: Canvas, text: str, font: str, size: float, width: float) -> str:
    if c.stringWidth(text, font, size) <= width:
        return text
    while text and c.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _draw_parcel(c: Canvas, data: ExtractInput, frame: tuple[float, float, float, float]
                 ) -> int:
    x0, y0, x1, y1 = frame
    fw, fh = (x1 - x0) / mm, (y1 - y0) / mm
    scale = choose_scale(data.geometry, fw, fh, data.sheet_scale)
    k = 1000.0 / scale * mm  # page points per metre
    cx, cy = data.geometry.envelope.centroid.x, data.geometry.envelope.centroid.y
    half_w, half_h = (x1 - x0) / 2 / k, (y1 - y0) / 2 / k
    window = box(cx - half_w, cy - half_h, cx + half_w, cy + half_h)

    def page(e: float, n: float) -> tuple[float, float]:
        return x0 + (e - cx + half_w) * k, y0 + (n - cy + half_h) * k

    c.saveState()
    c.setLineWidth(0.6)
    c.rect(x0, y0, x1 - x0, y1 - y0)
    path = c.beginPath()
    path.rect(x0, y0, x1 - x0, y1 - y0)
    c.clipPath(path, stroke=0, fill=0)
    c.setStrokeColorRGB(0.45, 0.45, 0.45)
    c.setLineWidth(0.35)
    c.setFont(FONT, 6.5)
    c.setFillColorRGB(0.3, 0.3, 0.3)
    for r in data.neighbours.itertuples(index=False):
        part = r.geometry.intersection(window)
        if part.is_empty:
            continue
        for poly in shapely.get_parts(part):
            if poly.geom_type != "Polygon":
                continue
            _ring(c, poly.exterior.coords, page)
        paper_mm2 = part.area * (k / mm) ** 2
        covered = (part.intersection(data.geometry).area / part.area
                   if data.valid and part.area > 0 else 0.0)
        if paper_mm2 > 40 and covered < 0.5:
            pt = part.representative_point()
            px, py = page(pt.x, pt.y)
            c.drawCentredString(px, py - 2, f"{r.parcel_no}")
    c.setStrokeColorRGB(0.75, 0, 0)
    c.setFillColorRGB(0, 0, 0)
    c.setLineWidth(1.1)
    for poly in shapely.get_parts(data.geometry):
        if poly.geom_type == "Polygon":
            _ring(c, poly.exterior.coords, page)
            for hole in poly.interiors:
                _ring(c, hole.coords, page)
    cen = data.geometry.representative_point() if data.valid else data.geometry.envelope.centroid
    px, py = page(cen.x, cen.y)
    c.setFont(BOLD, 9)
    c.drawCentredString(px, py + 1, f"{data.parcel_no or '?'}")
    c.setFont(FONT, 7)
    if data.area_m2 is not None:
        c.drawCentredString(px, py - 7, f"{data.area_m2:.1f} m²")
    c.drawCentredString(px, py - 14, data.land_use or "")
    # Edge lengths, outside each side and along it.
    c.setFont(FONT, 6.5)
    c.setFillColorRGB(0, 0.2, 0.45)
    for e in boundary.edges(data.geometry):
        vs = {v.number: v for v in boundary.vertices(data.geometry)}
        a, b = vs[e.start], vs[e.end]
        ax, ay = page(a.easting, a.northing)
        bx, by = page(b.easting, b.northing)
        if math.hypot(bx - ax, by - ay) < 9:
            continue
        angle = math.degrees(math.atan2(by - ay, bx - ax))
        mx, my = (ax + bx) / 2, (ay + by) / 2
        nx, ny = -(by - ay), bx - ax
        norm = math.hypot(nx, ny) or 1.0
        ox, oy = page(cen.x, cen.y)
        side = 1.0 if (mx - ox) * nx + (my - oy) * ny > 0 else -1.0
        tx, ty = mx + side * nx / norm * 5, my + side * ny / norm * 5
        if angle > 90:
            angle -= 180
        elif angle < -90:
            angle += 180
        c.saveState()
        c.translate(tx, ty)
        c.rotate(angle)
        c.drawCentredString(0, -2, _fmt(e.length_m))
        c.restoreState()
    # Numbered boundary points.
    c.setFillColorRGB(0.75, 0, 0)
    c.setFont(BOLD, 7)
    ox, oy = page(cen.x, cen.y)
    for v in boundary.vertices(data.geometry):
        vx, vy = page(v.easting, v.northing)
        c.circle(vx, vy, 1.1, stroke=0, fill=1)
        dx, dy = vx - ox, vy - oy
        d = math.hypot(dx, dy) or 1.0
        c.drawCentredString(vx + dx / d * 6, vy + dy / d * 6 - 2.5, str(v.number))
    c.restoreState()
    _north_arrow(c, x1 - 12 * mm, y1 - 16 * mm)
    _scale_bar(c, x0 + 5 * mm, y0 + 5 * mm, scale)
    c.setFont(FONT, 7)
    c.drawRightString(x1 - 3 * mm, y0 + 3 * mm, f"Tỷ lệ 1:{scale}")
    return scale


def _ring(c: Canvas, coords: Sequence[tuple[float, ...]], page: object) -> None:
    pts = [page(x, y) for x, y, *_ in coords]  # type: ignore[operator]
    path = c.beginPath()
    path.moveTo(*pts[0])
    for p in pts[1:]:
        path.lineTo(*p)
    path.close()
    c.drawPath(path, stroke=1, fill=0)


def _north_arrow(c: Canvas, x: float, y: float) -> None:
    c.saveState()
    c.setFillColorRGB(0, 0, 0)
    path = c.beginPath()
    path.moveTo(x, y + 10 * mm)
    path.lineTo(x - 3 * mm, y)
    path.lineTo(x, y + 2.5 * mm)
    path.lineTo(x + 3 * mm, y)
    path.close()
    c.drawPath(path, stroke=1, fill=1)
    c.setFont(BOLD, 9)
    c.drawCentredString(x, y + 11.5 * mm, "B")
    c.setFont(FONT, 5.5)
    c.drawCentredString(x, y - 3 * mm, "Bắc / North")
    c.restoreState()


def _scale_bar(c: Canvas, x: float, y: float, scale: int) -> None:
    metres = {200: 10, 500: 20, 1000: 50, 2000: 100, 5000: 200, 10000: 500}[scale]
    length = metres * 1000 / scale * mm
    c.saveState()
    c.setLineWidth(0.6)
    c.setFillColorRGB(0, 0, 0)
    c.rect(x, y, length / 2, 1.5 * mm, stroke=1, fill=1)
    c.rect(x + length / 2, y, length / 2, 1.5 * mm, stroke=1, fill=0)
    c.setFont(FONT, 6)
    c.drawString(x, y + 2.5 * mm, "0")
    c.drawCentredString(x + length / 2, y + 2.5 * mm, f"{metres // 2}")
    c.drawCentredString(x + length, y + 2.5 * mm, f"{metres} m")
    c.restoreState()


def _table(c: Canvas, verts: list[boundary.Vertex], sides: list[boundary.Edge], x: float,
           top: float, bottom: float) -> None:
    """Point, X, Y, side and its length; in as many column blocks as the space needs."""
    length = {e.start: e for e in sides}
    rows = [(str(v.number), _fmt(v.x), _fmt(v.y),
             f"{length[v.number].label}" if v.number in length else "",
             _fmt(length[v.number].length_m) if v.number in length else "") for v in verts]
    line = 3.6 * mm
    per_block = max(1, int((top - bottom) / line) - 1)
    blocks = math.ceil(len(rows) / per_block) or 1
    size = 7.5 if blocks <= 2 else 6.0
    block_w = 90 * mm if blocks <= 2 else 60 * mm
    widths = [0, 9, 31, 53, 66] if blocks <= 2 else [0, 6, 22, 38, 48]
    head = ("Điểm", "X (m)", "Y (m)", "Cạnh", "Dài (m)")
    for b in range(blocks):
        bx = x + b * block_w
        c.setFont(BOLD, size)
        for w, h in zip(widths, head, strict=True):
            c.drawString(bx + w * mm, top - line, h)
        c.setFont(FONT, size)
        for i, row in enumerate(rows[b * per_block:(b + 1) * per_block]):
            ry = top - (i + 2) * line
            for w, cell in zip(widths, row, strict=True):
                c.drawString(bx + w * mm, ry, cell)
        c.setLineWidth(0.3)
        c.line(bx, top - line - 1.2 * mm, bx + block_w - 4 * mm, top - line - 1.2 * mm)


def _qr(c: Canvas, url: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(url, barLevel="M")
    bx0, by0, bx1, by1 = widget.getBounds()
    d = Drawing(size, size, transform=[size / (bx1 - bx0), 0, 0, size / (by1 - by0), 0, 0])
    d.add(widget)
    renderPDF.draw(d, c, x, y)
