"""The coordinate table Vietnamese surveyors hand in, as parcels.

One row per boundary point: parcel number, point number, X, Y, in VN-2000
TM-3 metres.  In Vietnamese survey practice **X is the northing and Y the
easting** (the reverse of the international habit), numbers often use a
decimal comma (``1820005,35``), and spreadsheet exports leave the parcel
number only on a parcel's first row.  Parsed with Python's csv module, never
GDAL, so that these conventions are ours to apply and to report.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from shapely.geometry import Polygon

from gis.crs import WARD
from gis.intake.attributes import ALIASES, normalise_name, parse_decimal
from gis.intake.errors import TableError, TooManyFeaturesError, TooManyVerticesError
from gis.intake.types import RawFeatures

PARCEL: Final = ALIASES["parcel_no"]
SHEET: Final = ALIASES["sheet_no"]
POINT: Final = (
    "so_hieu_diem", "sohieudiem", "diem", "ten_diem", "so_diem", "diem_so", "point",
    "point_no", "point_id", "pt", "stt",
)
NORTHING: Final = ("x", "x_m", "toa_do_x", "northing", "north", "n")
EASTING: Final = ("y", "y_m", "toa_do_y", "easting", "east", "e")
HEADER_SEARCH_ROWS: Final = 10


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Vietnamese Windows exports (Excel "CSV" on a Vietnamese locale).
        return data.decode("cp1258", errors="replace")


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (";", "\t", ",")}
    best = max(counts.values())
    return next(d for d in (";", "\t", ",") if counts[d] == best) if best else ","


def _find(norm: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in norm:
            return norm.index(name)
    return None


@dataclass
class _Parcel:
    sheet: str | None
    number: str
    row: int
    points: list[str] = field(default_factory=list)
    coords: list[tuple[float, float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _header(rows: list[list[str]]) -> tuple[int, dict[str, int], list[str]]:
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        norm = [normalise_name(c) for c in row]
        cols = {"parcel": _find(norm, PARCEL), "x": _find(norm, NORTHING),
                "y": _find(norm, EASTING)}
        if all(v is not None for v in cols.values()):
            found = {k: v for k, v in cols.items() if v is not None}
            for key, names in (("point", POINT), ("sheet", SHEET)):
                idx = _find(norm, names)
                if idx is not None:
                    found[key] = idx
            return i, found, row
    raise TableError(
        "No header row with a parcel number, X and Y column was found. Expected columns such "
        "as 'Số thửa' (or so_thua, parcel), 'Số hiệu điểm' (diem, point), 'X', 'Y'.",
        vi="Không tìm thấy dòng tiêu đề có cột Số thửa, X, Y.",
    )


def _number(text: str, line: int, column: str) -> float:
    try:
        return parse_decimal(text)
    except ValueError as exc:
        raise TableError(
            f"Line {line}: {column} {text[:40]!r} is not a number.",
            vi=f"Dòng {line}: giá trị {column} không phải là số.", line=line, column=column,
        ) from exc


def _rows(rows: Iterable[list[str]], *, lazy: bool = False) -> Any:
    """The CSV rows (a list, or as they come), with a reading error named as a table's."""

    def each() -> Iterator[list[str]]:
        try:
            yield from rows
        except csv.Error as exc:  # an overlong field, a stray quote in strict places
            raise TableError(f"The table cannot be read as CSV ({exc}).",
                             vi=f"Không đọc được bảng CSV ({exc}).") from exc
    return each() if lazy else list(each())


def read_coordinate_table(path: Path, *, max_features: int, max_vertices: int) -> RawFeatures:
    """Parcels from a CSV coordinate table, in the order they first appear.

    A parcel's ring follows the row order; a repeated closing point is dropped.
    Other columns (land use, area, ...) are taken from the parcel's first row
    that fills them.  Raises ``TableError`` (``bad_table``) naming the line.
    """
    text = _decode(path.read_bytes())
    lines = max(text.count("\n"), text.count("\r"))
    if lines > max_vertices + HEADER_SEARCH_ROWS:  # counted before a row is parsed
        raise TooManyVerticesError(
            f"The table has {lines:,} lines: more than {max_vertices:,} points.",
            vi=f"Bảng có hơn {max_vertices:,} điểm.", max_vertices=max_vertices)
    # newline="": a bare CR (an old Mac export) ends a line, as csv expects.  Rows are read
    # as they are used, not listed first (a million rows as lists took 300 MiB).
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    head = _rows(itertools.islice(reader, HEADER_SEARCH_ROWS))
    start, cols, header = _header(head)
    others = [i for i in range(len(header)) if i not in cols.values() and header[i].strip()]
    parcels: dict[tuple[str | None, str], _Parcel] = {}
    current: _Parcel | None = None
    vertices = 0
    for offset, row in enumerate(_rows(itertools.chain(head[start + 1:], reader), lazy=True)):
        line = start + 2 + offset
        cells = [c.strip() for c in row] + [""] * (len(header) - len(row))
        if not any(cells):
            continue
        number = cells[cols["parcel"]]
        sheet = cells[cols["sheet"]] if "sheet" in cols else None
        if number:
            key = (sheet or None, number)
            current = parcels.get(key)
            if current is None:
                if len(parcels) >= max_features:
                    raise TooManyFeaturesError(
                        f"The table has more than {max_features:,} parcels.",
                        vi=f"Bảng có hơn {max_features:,} thửa.", max_features=max_features,
                    )
                current = parcels[key] = _Parcel(sheet or None, number, line)
        elif current is None:
            raise TableError(f"Line {line}: the parcel number is empty.",
                             vi=f"Dòng {line}: thiếu số thửa.", line=line)
        northing = _number(cells[cols["x"]], line, header[cols["x"]])
        easting = _number(cells[cols["y"]], line, header[cols["y"]])
        vertices += 1
        if vertices > max_vertices:
            raise TooManyVerticesError(
                f"The table has more than {max_vertices:,} points.",
                vi=f"Bảng có hơn {max_vertices:,} điểm.", max_vertices=max_vertices,
            )
        current.coords.append((easting, northing))
        point = cells[cols["point"]] if "point" in cols else str(len(current.points) + 1)
        current.points.append(point)
        for i in others:
            if cells[i] and header[i] not in current.extra:
                current.extra[header[i]] = cells[i]
    return _assemble(list(parcels.values()), header, cols)


def _assemble(parcels: list[_Parcel], header: list[str], cols: dict[str, int]) -> RawFeatures:
    geometries = []
    attributes: list[dict[str, Any]] = []
    for p in parcels:
        coords, points = p.coords, p.points
        if len(coords) > 1 and (coords[0] == coords[-1] or points[0] == points[-1]):
            coords, points = coords[:-1], points[:-1]
        if len(set(coords)) < 3:
            raise TableError(
                f"Parcel {p.number} (line {p.row}) has fewer than 3 distinct points.",
                vi=f"Thửa {p.number} có ít hơn 3 điểm.", parcel=p.number, line=p.row,
            )
        geometries.append(Polygon(coords))
        attrs: dict[str, Any] = {header[cols["parcel"]]: p.number}
        if "sheet" in cols:
            attrs[header[cols["sheet"]]] = p.sheet
        attrs.update(p.extra)
        attrs["points"] = points
        attributes.append(attrs)
    return RawFeatures(
        format="csv", layer=None, geometries=list(geometries), attributes=attributes,
        layers=[None] * len(geometries), crs=WARD, crs_origin="default",
        xy_columns=(header[cols["x"]], header[cols["y"]]),
    )
