"""From the features a format reader found to the parcels of a read: polygons only, within
the limits, 2D, finite, in a known CRS, landing in the ward (or the likely CRS mistake
named), reprojected to EPSG:9214, with their attributes mapped onto ours.

Every format reader ends here, so these checks and their messages are the same whatever
the file was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gis.crs import WARD, to_ward
from gis.intake.attributes import as_area, as_text, jsonable, resolve_mapping
from gis.intake.crs_guess import Frame, Reading, anchor_points, diagnose, frame_geometry, lands
from gis.intake.errors import (
    AxesSwappedError,
    CRSMissingError,
    CRSMistakeError,
    NoFeaturesError,
    NonFiniteCoordinatesError,
    NotPolygonError,
    TooManyVerticesError,
)
from gis.intake.types import COLUMNS, Limits, RawFeatures, ReadResult, ReadWarning


def normalise(raw: RawFeatures, *, override: int | None, mapping: Mapping[str, str] | None,
              swap_axes: bool, auto_fix: bool, frame: Frame | None, frame_margin: float,
              limits: Limits) -> ReadResult:
    """The parcels of ``raw``, or the ``ReadError`` that refuses the file (see the module)."""
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


def _non_finite(geoms: np.ndarray, index: np.ndarray) -> list[int]:
    """The features (their ``source_index``) with a NaN or infinite coordinate, sorted."""
    coords, which = shapely.get_coordinates(geoms, return_index=True)
    bad = ~np.isfinite(coords).all(axis=1)
    return sorted({int(index[w]) for w in which[bad]})


def _check_finite(geoms: np.ndarray, index: np.ndarray) -> None:
    features = _non_finite(geoms, index)
    if features:
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
        if flip and swap_axes and isinstance(err, AxesSwappedError):
            err = AxesSwappedError(
                "The axes were swapped as asked (swap_axes), and the coordinates only fall in "
                "the ward without that: the file already follows its format's convention "
                "(in a VN-2000 table X is the northing, about 1,800,000 in Huế). Read it "
                "again without swap_axes.",
                vi="Tọa độ đã được đảo trục theo yêu cầu, nhưng chỉ nằm trong phường khi không "
                   "đảo: tệp đã đúng quy ước (X là tọa độ bắc). Hãy đọc lại không đảo trục.",
                **{k: v for k, v in err.extra.items() if k != "message_vi"})
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
    features = _non_finite(geoms, index)
    if features:
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
