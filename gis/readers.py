"""Safe intake of surveyors' files: an uploaded file in, parcels in EPSG:9214 out.

``read_upload`` is the one entry point for the API, the command line and the
benchmarks.  It takes a file that the caller already saved (with
``copy_limited``) inside a temporary folder it made, and either returns a
``ReadResult`` or raises one ``ReadError`` subclass whose ``code`` and
messages are meant for the surveyor (see ``gis.read_errors``).

What it guarantees, whatever the file:

* the format is decided by content, and must agree with the file name;
* archives are vetted before and while extracting (size, ratio, count,
  ``..``, absolute paths, symlinks);
* XML never expands entities or reads external ones;
* GDAL reads only files inside the folder, only layers it listed, never the
  network (``gis.gdal_sandbox``);
* the features are polygons with finite coordinates, within the limits,
  flattened to 2D, in the ward's CRS; a CRS that does not put them in the ward
  is refused with the likely fix, never silently "corrected" unless asked.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.archives import copy_limited, extract_zip
from gis.attribute_map import as_area, as_text, jsonable, resolve_mapping
from gis.coord_table import read_coordinate_table
from gis.crs import WARD, CRSError, epsg_of, to_ward
from gis.crs_guess import Frame, Reading, anchor_points, diagnose, frame_geometry, lands
from gis.gdal_formats import read_dxf, read_gpkg, read_shapefile
from gis.gdal_sandbox import check_layer_name, inside
from gis.geojson_read import read_geojson
from gis.kml import read_kml
from gis.read_errors import (
    CRSMissingError,
    CRSMistakeError,
    CRSUnknownError,
    FileTooLargeError,
    MissingSidecarError,
    NoFeaturesError,
    NonFiniteCoordinatesError,
    NotPolygonError,
    TooManyVerticesError,
    UnknownLayerError,
    UnsupportedFormatError,
)
from gis.read_types import Limits, RawFeatures, ReadWarning
from gis.sniff import check_kind, sniff_file

__all__ = [
    "COLUMNS",
    "Limits",
    "ReadResult",
    "ReadWarning",
    "copy_limited",
    "read_upload",
]

COLUMNS: Final = ("source_index", "source_layer", "sheet_no", "parcel_no", "land_use",
                  "declared_area", "former_unit", "attributes", "geometry")
"""Columns of ``ReadResult.features``, in order."""

_NESTED: Final = {".geojson", ".json", ".gpkg", ".dxf", ".csv", ".txt"}


@dataclass
class ReadResult:
    """Parcels read from one upload, ready for staging.

    ``features`` is a GeoDataFrame in EPSG:9214 with ``COLUMNS``, one row per
    parcel in file order; ``source_index`` points back at the feature (or CSV
    parcel) in the file, ``attributes`` keeps every original attribute as a
    JSON-serialisable dict.  ``warnings`` list what was changed or assumed.
    """

    format: str
    """geojson, shapefile, gpkg, kml, kmz, dxf or csv."""
    layer: str | None
    source_crs: int
    """The EPSG code the coordinates were read in (after any override or fix)."""
    features: gpd.GeoDataFrame
    warnings: list[ReadWarning] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    """Our field -> the file's column it was taken from."""
    swap_axes: bool = False

    @property
    def warning_codes(self) -> list[str]:
        return [w.code for w in self.warnings]


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
        return _finish(raw, override=override, mapping=mapping, swap_axes=swap_axes,
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
        return read_geojson(src, max_features=limits.max_features)
    if kind == "xml":
        return _filter_folder(read_kml(src, max_features=limits.max_features), layer)
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
        raw = _filter_folder(read_kml(doc, max_features=limits.max_features), layer)
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


# --- from raw features to the result -------------------------------------------------------


def _finish(raw: RawFeatures, *, override: int | None, mapping: Mapping[str, str] | None,
            swap_axes: bool, auto_fix: bool, frame: Frame | None, frame_margin: float,
            limits: Limits) -> ReadResult:
    warnings = list(raw.warnings)
    if not raw.geometries:
        raise NoFeaturesError("The file contains no features.", vi="Tệp không có đối tượng nào.")
    positions, geoms = _polygons(raw, warnings)
    index = np.asarray([raw.source_index(int(p)) for p in positions], dtype=int)
    _check_vertices(geoms, limits)
    geoms = _flatten(geoms, index, warnings)
    _check_finite(geoms, index)
    epsg = _source_crs(raw, override, warnings)
    if swap_axes:
        geoms = _swap(geoms)
    if frame is not None:
        epsg, geoms, swap_axes = _place(geoms, index, epsg, raw, frame, frame_margin,
                                        swap_axes, auto_fix, warnings)
    ward_geoms = _to_ward(geoms, epsg, index)
    features, used = _table(raw, positions, index, ward_geoms, mapping, warnings)
    return ReadResult(format=raw.format, layer=raw.layer, source_crs=epsg, features=features,
                      warnings=warnings, mapping=used, swap_axes=swap_axes)


def _polygons(raw: RawFeatures, warnings: list[ReadWarning]) -> tuple[np.ndarray, np.ndarray]:
    """Keep the polygonal features; a drawing's closed lines become polygons.

    GeoJSON, Shapefile, GeoPackage and CSV promise parcels: any point, line or
    empty feature refuses the file, naming the counts.  In a CAD drawing or a
    KML other entities (labels, open lines) are normal and are skipped.
    """
    kept: list[int] = []
    out: list[BaseGeometry] = []
    other: dict[str, int] = {}
    polygonised = 0
    for i, g in enumerate(raw.geometries):
        poly = _as_polygonal(g, raw.drawing)
        if poly is None:
            kind = "empty" if g is None or g.is_empty else g.geom_type
            other[kind] = other.get(kind, 0) + 1
            continue
        if poly is not g:
            polygonised += 1
        kept.append(i)
        out.append(poly)
    counts = ", ".join(f"{n} {k}" for k, n in sorted(other.items()))
    if other and (not raw.drawing or not out):
        raise NotPolygonError(
            f"Parcels must be polygons; the file has {len(out)} polygons and {counts}.",
            vi=f"Thửa đất phải là vùng; tệp có {len(out)} vùng và {counts}.",
            polygons=len(out), others=other,
        )
    if other:
        warnings.append(ReadWarning("skipped_non_polygon",
                                    f"Skipped entities that are not parcels: {counts}."))
    if polygonised and raw.format not in ("dxf",):
        warnings.append(ReadWarning("closed_line_polygonised",
                                    f"{polygonised} closed lines were read as parcels."))
    return np.asarray(kept, dtype=int), np.asarray(out, dtype=object)


def _as_polygonal(g: BaseGeometry | None, drawing: bool) -> BaseGeometry | None:
    if g is None or g.is_empty:
        return None
    kind = g.geom_type
    if kind in ("Polygon", "MultiPolygon"):
        return g
    if kind == "GeometryCollection":
        parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
        if parts and (drawing or len(parts) == len(g.geoms)):
            return shapely.multipolygons(shapely.get_parts(np.asarray(parts)))
        return None
    if drawing and kind in ("LineString", "LinearRing") and g.is_ring:
        return shapely.Polygon(g.coords)
    return None


def _check_vertices(geoms: np.ndarray, limits: Limits) -> None:
    total = int(shapely.get_num_coordinates(geoms).sum())
    if total > limits.max_vertices:
        raise TooManyVerticesError(
            f"The file has {total:,} vertices; at most {limits.max_vertices:,} are accepted.",
            vi=f"Tệp có {total:,} đỉnh, tối đa {limits.max_vertices:,}.",
            vertices=total, max_vertices=limits.max_vertices,
        )


def _flatten(geoms: np.ndarray, index: np.ndarray, warnings: list[ReadWarning]) -> np.ndarray:
    """Drop Z and M: parcels are 2D, and heights of zero are not worth a warning."""
    has_z = shapely.has_z(geoms)
    has_m = shapely.has_m(geoms)
    if not (has_z.any() or has_m.any()):
        return geoms
    if has_z.any():
        z = shapely.get_coordinates(geoms[has_z], include_z=True)[:, 2]
        if (np.isfinite(z) & (z != 0)).any():
            warnings.append(ReadWarning(
                "flattened_z",
                f"{int(has_z.sum())} features had heights (Z); they were dropped: parcels "
                "are 2D.",
                tuple(int(i) for i in index[has_z][:100]),
            ))
    if has_m.any():
        warnings.append(ReadWarning(
            "flattened_m",
            f"{int(has_m.sum())} features had measures (M); they were dropped.",
            tuple(int(i) for i in index[has_m][:100]),
        ))
    return shapely.force_2d(geoms)


def _check_finite(geoms: np.ndarray, index: np.ndarray) -> None:
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        features = sorted({int(index[w]) for w in which[bad]})
        raise NonFiniteCoordinatesError(
            f"{len(features)} features have NaN or infinite coordinates (first: feature "
            f"{features[0] + 1}).",
            vi="Có đối tượng với tọa độ NaN hoặc vô hạn.", features=features[:100],
        )


def _source_crs(raw: RawFeatures, override: int | None, warnings: list[ReadWarning]) -> int:
    if override is not None:
        if raw.crs is not None and raw.crs != override and raw.crs_origin == "file":
            warnings.append(ReadWarning(
                "crs_overridden",
                f"The file says EPSG:{raw.crs}; read as EPSG:{override} as requested.",
            ))
        return override
    if raw.crs is not None:
        return raw.crs
    if raw.format == "dxf":
        warnings.append(ReadWarning(
            "crs_assumed",
            f"A DXF drawing carries no CRS; read as EPSG:{WARD} (VN-2000 / TM-3 107-00). "
            "Give the CRS if the drawing is in another one.",
        ))
        return WARD
    hint = " (the Shapefile has no .prj)" if raw.format == "shapefile" else ""
    raise CRSMissingError(
        f"The file does not say its coordinate system{hint}; give it explicitly, e.g. 9214 "
        "for VN-2000 / TM-3 107-00 or 4326 for WGS 84.",
    )


def _swap(geoms: np.ndarray) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: xy[:, ::-1].copy())


def _place(geoms: np.ndarray, index: np.ndarray, epsg: int, raw: RawFeatures, frame: Frame,
           margin: float, swap_axes: bool, auto_fix: bool,
           warnings: list[ReadWarning]) -> tuple[int, np.ndarray, bool]:
    """Check that the features land in the ward; diagnose, and maybe fix, when none does."""
    fg = frame_geometry(frame, margin)
    xy = anchor_points(geoms)
    inside_ = lands(xy, Reading(epsg), fg)
    if not inside_.any():
        err = diagnose(xy, epsg, fg, xy_columns=raw.xy_columns)
        if not isinstance(err, CRSMistakeError):
            raise err
        suggestion = err.extra["suggestion"]
        flip = bool(suggestion.pop("swap_axes", False))
        if flip or swap_axes:
            suggestion["swap_axes"] = swap_axes ^ flip
        if not auto_fix:
            raise err
        if flip:
            geoms = _swap(geoms)
            xy = xy[:, ::-1]
        epsg = int(suggestion.get("crs", epsg))
        swap_axes = swap_axes ^ flip
        warnings.append(ReadWarning(f"fixed_{err.code}", err.detail))
        inside_ = lands(xy, Reading(epsg), fg)
    if not inside_.all():
        outside = tuple(int(i) for i in index[~inside_])
        warnings.append(ReadWarning(
            "partly_outside_ward",
            f"{len(outside)} of {len(index)} features lie outside the ward.",
            outside[:100],
        ))
    return epsg, geoms, swap_axes


def _to_ward(geoms: np.ndarray, epsg: int, index: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        geoms = to_ward(geoms, epsg)
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    if bad.any():
        features = sorted({int(index[w]) for w in which[bad]})
        raise NonFiniteCoordinatesError(
            f"{len(features)} features cannot be converted from EPSG:{epsg} to EPSG:{WARD}; "
            "the coordinates are not valid in that CRS (wrong CRS, or axes swapped?).",
            vi="Không chuyển được tọa độ sang VN-2000: kiểm tra hệ tọa độ.",
            features=features[:100], crs=epsg,
        )
    return geoms


def _table(raw: RawFeatures, positions: np.ndarray, index: np.ndarray, geoms: np.ndarray,
           mapping: Mapping[str, str] | None,
           warnings: list[ReadWarning]) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    columns: dict[str, None] = {}
    for attrs in raw.attributes:
        columns.update(dict.fromkeys(str(k) for k in attrs))
    used = resolve_mapping(list(columns), mapping)
    rows: dict[str, list[Any]] = {c: [] for c in COLUMNS if c != "geometry"}
    bad_area: list[int] = []
    for i, source in zip(positions, index, strict=True):
        attrs = {str(k): jsonable(v) for k, v in raw.attributes[i].items()}
        area = None
        if "area" in used:
            try:
                area = as_area(attrs.get(used["area"]))
            except ValueError:
                bad_area.append(int(source))
        rows["source_index"].append(int(source))
        rows["source_layer"].append(raw.layers[i])
        rows["sheet_no"].append(as_text(attrs.get(used["sheet_no"])) if "sheet_no" in used
                                else None)
        rows["parcel_no"].append(as_text(attrs.get(used["parcel_no"])) if "parcel_no" in used
                                 else None)
        land_use = as_text(attrs.get(used["land_use"])) if "land_use" in used else None
        rows["land_use"].append(land_use.upper() if land_use else None)
        rows["declared_area"].append(area)
        rows["former_unit"].append(as_text(attrs.get(used["former_unit"]))
                                   if "former_unit" in used else None)
        rows["attributes"].append(attrs)
    if bad_area:
        warnings.append(ReadWarning(
            "bad_area",
            f"{len(bad_area)} declared areas in column {used['area']!r} are not numbers and "
            "were left empty.",
            tuple(bad_area[:100]),
        ))
    gdf = gpd.GeoDataFrame(rows, geometry=list(geoms), crs=f"EPSG:{WARD}")
    gdf["declared_area"] = gdf["declared_area"].astype("float64")
    return gdf[list(COLUMNS)], used
