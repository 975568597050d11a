"""Recognise an upload by its first bytes, and hold it to its file name.

The file name is the uploader's claim and GDAL would happily guess from
content; both are how a hostile file reaches a driver that was never meant to
see it (a VRT or GDAL pipeline that opens other files, say).  So the content
decides the format, the name must agree with it, and only then does a reader
run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from gis.intake.errors import (
    EmptyFileError,
    FormatMismatchError,
    MissingSidecarError,
    UnsupportedFormatError,
)

HEAD_BYTES: Final = 64 * 1024

LABELS: Final[dict[str, str]] = {
    "zip": "a ZIP archive",
    "geojson": "GeoJSON",
    "gpkg": "a GeoPackage",
    "sqlite": "an SQLite database that is not a GeoPackage",
    "xml": "XML (KML)",
    "dxf": "a DXF drawing",
    "dwg": "a DWG drawing",
    "csv": "a text table (CSV)",
    "shp": "a lone Shapefile .shp",
    "binary": "unrecognised binary data",
}

EXTENSIONS: Final[dict[str, str]] = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".zip": "zip",
    ".kmz": "zip",
    ".gpkg": "gpkg",
    ".kml": "xml",
    ".dxf": "dxf",
    ".csv": "csv",
    ".txt": "csv",
    ".shp": "shp",
    ".dwg": "dwg",
}
"""Extension -> the content kind it promises."""

_DXF_TEXT = re.compile(r"^\s*(0\s*\r?\n\s*SECTION|999\s*\r?\n)")
_BOMS: Final = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def head_text(head: bytes) -> str | None:
    """The start of a text file as text (BOM-aware), or None for binary data."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return head[len(bom):].decode(encoding, errors="ignore")
    if b"\x00" in head:
        return None
    return head.decode("utf-8", errors="replace")


def sniff_bytes(head: bytes) -> str:
    """The content kind of a file from its first bytes (a key of ``LABELS``)."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        app_id = head[68:72]
        return "gpkg" if app_id == b"GPKG" or app_id.startswith(b"GP1") else "sqlite"
    if head.startswith(b"\x00\x00\x27\x0a"):
        return "shp"
    if head.startswith(b"AutoCAD Binary DXF"):
        return "dxf"
    if head.startswith(b"AC10") or head.startswith(b"AC1."):
        return "dwg"
    text = head_text(head)
    if text is None:
        return "binary"
    body = text.lstrip()
    if body.startswith(("{", "[")):
        return "geojson"
    if body.startswith("<"):
        return "xml"
    if _DXF_TEXT.match(text):
        return "dxf"
    return "csv"


def sniff_file(path: Path) -> str:
    """Sniff a file on disk; an empty (or blank) file is ``EmptyFileError``."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise EmptyFileError("The uploaded file is empty.", vi="Tệp tải lên rỗng.")
    return sniff_bytes(head)


def expected_kind(filename: str) -> str | None:
    """The content kind a file name promises, or None when the extension says nothing."""
    return EXTENSIONS.get(Path(filename).suffix.lower())


def check_kind(filename: str, kind: str) -> None:
    """Refuse content that is not what its name says, or that no reader handles."""
    expected = expected_kind(filename)
    if expected is not None and expected != kind:
        raise FormatMismatchError(
            f"The file is named {_short(filename)!r} but its content is {LABELS[kind]}, "
            f"not {LABELS[expected]}.",
            vi="Nội dung tệp không khớp với phần mở rộng của tên tệp.",
            extension=Path(filename).suffix.lower(), detected=kind,
        )
    if kind == "shp":
        raise MissingSidecarError(
            "A Shapefile is several files: zip the .shp together with its .shx, .dbf and "
            ".prj and upload the ZIP.",
            vi="Shapefile gồm nhiều tệp: nén .shp, .shx, .dbf, .prj thành một tệp ZIP.",
            missing=[".shx", ".dbf"],
        )
    if kind in ("dwg", "sqlite", "binary"):
        raise UnsupportedFormatError(
            f"The file is {LABELS[kind]}; upload GeoJSON, a zipped Shapefile, GeoPackage, "
            "KML/KMZ, DXF or a CSV coordinate table.",
            vi="Định dạng không được hỗ trợ: dùng GeoJSON, Shapefile (ZIP), GeoPackage, "
               "KML/KMZ, DXF hoặc CSV.",
            detected=kind,
        )


def _short(name: str) -> str:
    return Path(name).name[:80]
