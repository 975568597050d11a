"""Safe intake of surveyors' files: an uploaded file in, parcels in EPSG:9214 out.

``read_upload`` is the one entry point for the API, the command line and the
benchmarks.  It takes a file that the caller already saved (with
``copy_limited``) inside a temporary folder it made, and either returns a
``ReadResult`` or raises one ``ReadError`` subclass whose ``code`` and
messages are meant for the surveyor (see ``gis.intake.errors``).

What it guarantees, whatever the file:

* the format is decided by content, and must agree with the file name;
* archives are vetted before and while extracting (size, ratio, count,
  ``..``, absolute paths, symlinks);
* XML never expands entities or reads external ones;
* GDAL reads only files inside the folder, only layers it listed, never the
  network (``gis.intake.gdal_sandbox``);
* the features are polygons with finite coordinates, within the limits,
  flattened to 2D, in the ward's CRS; a CRS that does not put them in the ward
  is refused with the likely fix, never silently "corrected" unless asked.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from gis.crs import CRSError, epsg_of
from gis.intake.archives import extract_zip
from gis.intake.coord_table import read_coordinate_table
from gis.intake.crs_guess import Frame
from gis.intake.errors import (
    CRSUnknownError,
    FileTooLargeError,
    MissingSidecarError,
    UnknownLayerError,
    UnsupportedFormatError,
)
from gis.intake.gdal_formats import read_dxf, read_gpkg, read_shapefile
from gis.intake.gdal_sandbox import check_layer_name, inside
from gis.intake.geojson import read_geojson
from gis.intake.kml import read_kml
from gis.intake.normalise import normalise
from gis.intake.sniff import check_kind, sniff_file
from gis.intake.types import Limits, RawFeatures, ReadResult

_NESTED: Final = {".geojson", ".json", ".gpkg", ".dxf", ".csv", ".txt"}


def read_upload(
    path: str | Path,
    *,
    workdir: str | Path,
    filename: str | None = None,
    layer: str | None = None,
    crs: int | str | None = None,
    mapping: Mapping[str, str] | None = None,
    swap_axes: bool = False,
    auto_fix: bool = False,
    frame: Frame | None = None,
    frame_margin: float = 250.0,
    limits: Limits | None = None,
) -> ReadResult:
    """Read an uploaded survey file into parcels in EPSG:9214, or raise a ``ReadError``.

    ``path`` must lie inside ``workdir`` (the temporary folder the caller made
    for this upload); anything the reader extracts goes in a subfolder of it
    and is removed afterwards.  ``filename`` is the name the uploader gave
    (its extension must agree with the content).  ``layer`` picks a
    GeoPackage layer, a Shapefile in a ZIP, a KML folder or a CAD layer.
    ``crs`` overrides the file's CRS; ``mapping`` (our field -> column) wins
    over the name-based mapping.  ``frame`` is the ward polygon or bbox in
    EPSG:9214: with it, data that lands nowhere in the ward is refused with
    the likely CRS mistake and its fix (``swap_axes``, ``crs``), or read with
    that fix and a warning when ``auto_fix`` is set.
    """
    limits = limits or Limits()
    root = Path(workdir)
    if layer is not None:
        check_layer_name(layer)
    override = _override_crs(crs)
    src = inside(path, root)
    name = Path(filename).name if filename else src.name
    size = src.stat().st_size
    if size > limits.max_file_bytes:
        raise FileTooLargeError(
            f"The file is {size:,} bytes; the limit is {limits.max_file_bytes:,}.",
            size=size, max_bytes=limits.max_file_bytes,
        )
    kind = sniff_file(src)
    check_kind(name, kind)
    stage = Path(tempfile.mkdtemp(prefix="read-", dir=root))
    try:
        raw = _read_kind(kind, src, name, stage, root, layer, limits)
        return normalise(raw, override=override, mapping=mapping, swap_axes=swap_axes,
                       auto_fix=auto_fix, frame=frame, frame_margin=frame_margin,
                       limits=limits)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _override_crs(value: int | str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return epsg_of(int(value) if str(value).isdigit() else value)
    except (CRSError, ValueError) as exc:
        raise CRSUnknownError(
            f"The CRS {str(value)[:60]!r} is not known; give an EPSG code such as 9214 "
            "(VN-2000 / TM-3 107-00) or 4326 (WGS 84).",
            crs=str(value)[:60],
        ) from exc


def _staged_copy(src: Path, stage: Path, suffix: str) -> Path:
    """The upload under a name we chose, so GDAL never guesses from the uploader's name."""
    target = stage / f"upload{suffix}"
    shutil.copyfile(src, target)
    return target


def _read_kind(kind: str, src: Path, name: str, stage: Path, root: Path,
               layer: str | None, limits: Limits) -> RawFeatures:
    if kind == "geojson":
        return read_geojson(src, max_features=limits.max_features,
                            max_vertices=limits.max_vertices)
    if kind == "xml":
        return _filter_folder(read_kml(src, max_features=limits.max_features,
                                       max_vertices=limits.max_vertices), layer)
    if kind == "csv":
        return read_coordinate_table(src, max_features=limits.max_features,
                                     max_vertices=limits.max_vertices)
    if kind == "gpkg":
        return read_gpkg(_staged_copy(src, stage, ".gpkg"), root, layer=layer, limits=limits)
    if kind == "dxf":
        return read_dxf(_staged_copy(src, stage, ".dxf"), root, layer=layer, limits=limits)
    if kind == "zip":
        return _read_zip(src, name, stage, root, layer, limits)
    raise UnsupportedFormatError(f"Unsupported content: {kind}.")  # pragma: no cover


def _read_zip(src: Path, name: str, stage: Path, root: Path, layer: str | None,
              limits: Limits) -> RawFeatures:
    files = extract_zip(src, stage / "zip", limits)
    kmls = [f for f in files if f.suffix.lower() == ".kml"]
    shps = [f for f in files if f.suffix.lower() == ".shp"]
    if name.lower().endswith(".kmz") or (kmls and not shps):
        if not kmls:
            raise UnsupportedFormatError("The KMZ contains no .kml document.",
                                         vi="Tệp KMZ không chứa tài liệu .kml.")
        doc = next((f for f in kmls if f.name.lower() == "doc.kml"), kmls[0])
        check_kind(doc.name, sniff_file(doc))
        raw = _filter_folder(read_kml(doc, max_features=limits.max_features,
                                          max_vertices=limits.max_vertices), layer)
        raw.format = "kmz"
        return raw
    if shps:
        return read_shapefile(files, root, layer=layer, limits=limits)
    sidecars = [f.name for f in files if f.suffix.lower() in (".shx", ".dbf")]
    if sidecars:
        raise MissingSidecarError(
            "The ZIP holds Shapefile parts but no .shp file.",
            vi="Tệp ZIP có các phần của Shapefile nhưng thiếu tệp .shp.", missing=[".shp"],
        )
    nested = [f for f in files if f.suffix.lower() in _NESTED]
    if len(nested) == 1:
        inner = nested[0]
        kind = sniff_file(inner)
        check_kind(inner.name, kind)
        if kind == "zip":  # pragma: no cover - .zip is not in _NESTED
            raise UnsupportedFormatError("Nested archives are not accepted.")
        raw = _read_kind(kind, inner, inner.name, stage, root, layer, limits)
        return raw
    raise UnsupportedFormatError(
        "The ZIP contains no Shapefile, KML or single GeoJSON/GeoPackage/DXF/CSV file.",
        vi="Tệp ZIP không chứa Shapefile, KML hoặc một tệp dữ liệu được hỗ trợ.",
        files=[f.name for f in files][:50],
    )


def _filter_folder(raw: RawFeatures, layer: str | None) -> RawFeatures:
    """KML: keep the placemarks of one folder when a layer was asked for."""
    if layer is None:
        return raw
    names = sorted({n for n in raw.layers if n})
    if layer not in names:
        raise UnknownLayerError(
            f"The KML has no folder {layer!r}; its folders are: {', '.join(names)}.",
            vi="Tệp KML không có thư mục này.", layer=layer, layers=names,
        )
    keep = [i for i, n in enumerate(raw.layers) if n == layer]
    raw.indices = [raw.source_index(i) for i in keep]
    raw.geometries = [raw.geometries[i] for i in keep]
    raw.attributes = [raw.attributes[i] for i in keep]
    raw.layers = [raw.layers[i] for i in keep]
    raw.layer = layer
    return raw
