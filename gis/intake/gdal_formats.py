"""GeoPackage, Shapefile and DXF through GDAL (pyogrio), one layer at a time.

These formats are binary or too rich to parse ourselves, so GDAL reads them,
but only through ``gis.intake.gdal_sandbox``: files inside the upload folder, layer
names GDAL itself listed, network disabled, the expected driver checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.crs import CRSError, epsg_of
from gis.intake.crs_guess import projection_match
from gis.intake.dxf_scan import check_dxf_vertices
from gis.intake.errors import (
    CRSUnknownError,
    FormatMismatchError,
    LayerRequiredError,
    MissingSidecarError,
    NotPolygonError,
    TooManyFeaturesError,
    UnknownLayerError,
)
from gis.intake.gdal_sandbox import list_layers, read_frame, read_info
from gis.intake.gpkg_guard import check_geopackage
from gis.intake.sniff import HEAD_BYTES, LABELS, sniff_bytes
from gis.intake.types import Limits, RawFeatures, ReadWarning

POLYGON_TYPES: Final = ("polygon", "multipolygon", "surface", "multisurface", "curvepolygon")
DXF_OPEN_OPTIONS: Final = {"CLOSED_LINE_AS_POLYGON": "YES", "INLINE_BLOCKS": "NO"}
"""Closed polylines come out as polygons; block references stay single points, so a
drawing cannot multiply itself through nested blocks."""


def _is_polygonal(gtype: str) -> bool:
    return any(gtype.lower().replace(" ", "").replace("3d", "").rstrip("zm").endswith(t)
               for t in POLYGON_TYPES)


def choose_layer(layers: list[tuple[str, str]], layer: str | None, *, label: str) -> str:
    """The layer to read: the one asked for (if listed), or the only polygon layer."""
    names = [n for n, _ in layers]
    if layer is not None:
        if layer not in names:
            raise UnknownLayerError(
                f"The {label} has no layer {layer!r}; its layers are: {', '.join(names)}.",
                vi="Tệp không có lớp này.", layer=layer, layers=names,
            )
        return layer
    if len(names) == 1:
        return names[0]
    polygonal = [n for n, g in layers if _is_polygonal(g)]
    if len(polygonal) == 1:
        return polygonal[0]
    if not polygonal:
        raise NotPolygonError(
            f"The {label} has no polygon layer; its layers are: "
            + ", ".join(f"{n} ({g})" for n, g in layers) + ".",
            layers=names,
        )
    raise LayerRequiredError(
        f"The {label} has several polygon layers; choose one of: {', '.join(polygonal)}.",
        vi="Tệp có nhiều lớp vùng: hãy chọn một lớp: " + ", ".join(polygonal) + ".",
        layers=polygonal,
    )


def file_crs(info: dict[str, Any], warnings: list[ReadWarning]) -> int | None:
    """The EPSG code of a layer's CRS; a nameless VN-2000 zone is recognised by parameters."""
    text = info.get("crs")
    if not text:
        return None
    try:
        return epsg_of(str(text))
    except CRSError:
        matched = projection_match(str(text))
        if matched is None:
            raise CRSUnknownError(
                "The file's CRS has no EPSG code and is not a VN-2000 zone we recognise; "
                "give the CRS explicitly (e.g. 9214).",
                crs=str(text)[:300],
            ) from None
        warnings.append(ReadWarning(
            "crs_matched",
            f"The file's CRS has no EPSG code; its projection is that of EPSG:{matched}, "
            "read as such (with the official VN-2000 datum shift).",
        ))
        return matched


def _frame_to_raw(frame: gpd.GeoDataFrame, *, fmt: str, layer: str | None,
                  layers: list[str | None], crs: int | None,
                  warnings: list[ReadWarning], drawing: bool = False) -> RawFeatures:
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return RawFeatures(
        format=fmt, layer=layer, geometries=list(frame.geometry.values),
        attributes=attrs.to_dict("records"), layers=layers, crs=crs,
        crs_origin="file" if crs else "missing", warnings=warnings, drawing=drawing,
        indices=[int(i) for i in frame.index],
    )


def _read_layer(path: Path, root: Path, layer: str, *, label: str,
                limits: Limits, **open_options: str) -> tuple[dict[str, Any], gpd.GeoDataFrame]:
    info = read_info(path, root, layer=layer, label=label, **open_options)
    count = int(info.get("features") or -1)
    if count > limits.max_features:
        raise TooManyFeaturesError(
            f"The layer {layer!r} has {count:,} features; at most {limits.max_features:,} "
            "are accepted.",
            vi=f"Lớp có {count:,} đối tượng, tối đa {limits.max_features:,}.",
            features=count, max_features=limits.max_features,
        )
    frame = read_frame(path, root, layer=layer, label=label,
                       max_features=limits.max_features + 1, **open_options)
    if len(frame) > limits.max_features:
        raise TooManyFeaturesError(
            f"The layer {layer!r} has more than {limits.max_features:,} features.",
            vi=f"Lớp có hơn {limits.max_features:,} đối tượng.",
            max_features=limits.max_features,
        )
    return info, frame


def read_gpkg(path: Path, root: Path, *, layer: str | None, limits: Limits) -> RawFeatures:
    """One layer of a GeoPackage; with several polygon layers the caller must name one."""
    label = "GeoPackage"
    check_geopackage(path)  # before GDAL runs any of the file's SQL
    chosen = choose_layer(list_layers(path, root, driver="GPKG", label=label), layer,
                          label=label)
    info, frame = _read_layer(path, root, chosen, label=label, limits=limits)
    warnings: list[ReadWarning] = []
    crs = file_crs(info, warnings)
    return _frame_to_raw(frame, fmt="gpkg", layer=chosen, layers=[chosen] * len(frame),
                         crs=crs, warnings=warnings)


def _sidecar(shp: Path, ext: str) -> Path | None:
    for candidate in shp.parent.iterdir():
        if candidate.stem == shp.stem and candidate.suffix.lower() == ext:
            return candidate
    return None


def read_shapefile(files: list[Path], root: Path, *, layer: str | None,
                   limits: Limits) -> RawFeatures:
    """One Shapefile from an extracted ZIP; ``layer`` picks one by name when there are several."""
    shps = [f for f in files if f.suffix.lower() == ".shp"]
    layers = [(f.stem, "Polygon") for f in shps]
    chosen = choose_layer(layers, layer, label="ZIP archive")
    shp = next(f for f in shps if f.stem == chosen)
    missing = [ext for ext in (".shx", ".dbf") if _sidecar(shp, ext) is None]
    if missing:
        raise MissingSidecarError(
            f"The Shapefile {shp.name!r} comes without its {' and '.join(missing)} file; "
            "zip all the files of the Shapefile (.shp, .shx, .dbf, .prj) together.",
            vi="Shapefile thiếu tệp " + ", ".join(missing) + ": hãy nén đủ các tệp.",
            missing=missing,
        )
    with shp.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if sniff_bytes(head) != "shp":
        # Checked before GDAL sees it: GDAL picks drivers by content, and a VRT named .shp
        # would open whatever files or URLs it lists.
        raise FormatMismatchError(
            f"The archive member {shp.name!r} is not a Shapefile: its content is "
            f"{LABELS[sniff_bytes(head)]}.",
            vi="Tệp .shp trong gói nén không phải là Shapefile.", detected=sniff_bytes(head),
        )
    label = "Shapefile"
    gdal_layers = list_layers(shp, root, driver="ESRI Shapefile", label=label)
    info, frame = _read_layer(shp, root, str(gdal_layers[0][0]), label=label, limits=limits)
    warnings: list[ReadWarning] = []
    crs = file_crs(info, warnings)
    return _frame_to_raw(frame, fmt="shapefile", layer=chosen, layers=[chosen] * len(frame),
                         crs=crs, warnings=warnings)


def read_dxf(path: Path, root: Path, *, layer: str | None, limits: Limits) -> RawFeatures:
    """Parcels of a CAD drawing: closed polylines and hatches, their CAD layer kept.

    ``layer`` is a CAD layer name (e.g. ``THUA``); without it, polygons must be
    on one CAD layer only, else the caller is asked to choose.  Entities in
    paper space (layouts) are not parcels and are skipped.  A DXF has no CRS:
    the caller assumes the ward's zone unless told otherwise.
    """
    label = "DXF drawing"
    check_dxf_vertices(path, max_vertices=limits.max_vertices)  # before GDAL draws the arcs
    names = [n for n, _ in list_layers(path, root, driver="DXF", label=label)]
    if "entities" not in names:
        raise NotPolygonError("The DXF drawing has no entities.", layers=names)
    _, frame = _read_layer(path, root, "entities", label=label, limits=limits,
                           **DXF_OPEN_OPTIONS)
    warnings: list[ReadWarning] = []
    if "PaperSpace" in frame.columns:
        paper = frame["PaperSpace"].eq(1)
        if paper.any():
            warnings.append(ReadWarning(
                "skipped_paper_space",
                f"{int(paper.sum())} entities in paper space (layouts) were skipped.",
            ))
            frame = frame[~paper.to_numpy()]
    cad = frame["Layer"].fillna("").astype(str) if "Layer" in frame.columns else \
        pd.Series([""] * len(frame), index=frame.index)
    geoms = frame.geometry.values
    closed = shapely.is_ring(geoms) & (shapely.get_type_id(geoms) == 1)
    polygonal = (shapely.get_type_id(geoms) == 3) | (shapely.get_type_id(geoms) == 6) | closed
    cad_layers = sorted(set(cad))
    if layer is not None:
        if layer not in cad_layers:
            raise UnknownLayerError(
                f"The drawing has no CAD layer {layer!r}; its layers are: "
                f"{', '.join(cad_layers)}.",
                vi="Bản vẽ không có lớp này.", layer=layer, layers=cad_layers,
            )
        keep = (cad == layer).to_numpy()
    else:
        poly_layers = sorted(set(cad[polygonal]))
        if len(poly_layers) > 1:
            raise LayerRequiredError(
                "The drawing has closed polylines or hatches on several CAD layers; choose "
                f"the parcel layer: {', '.join(poly_layers)}.",
                vi="Bản vẽ có vùng trên nhiều lớp: hãy chọn lớp thửa: "
                   + ", ".join(poly_layers) + ".",
                layers=poly_layers,
            )
        keep = slice(None)
    frame = frame[keep]
    cad = cad[keep]
    frame, cad = _nest_holes(frame, cad, warnings)
    return _frame_to_raw(frame, fmt="dxf", layer=layer, layers=list(cad), crs=None,
                         warnings=warnings, drawing=True)


def _nest_holes(frame: gpd.GeoDataFrame, cad: pd.Series, warnings: list[ReadWarning]
                ) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Closed outlines drawn inside another on the same CAD layer become its holes.

    A CAD user draws a parcel with a hole (a road around a block, a lot around a pond) as
    an outer closed polyline and inner ones; nested outlines alternate as AutoCAD's
    normal island detection and GDAL's ring organisation read them: inside one outline
    is a hole, inside two an island parcel again.  An outline drawn twice at a hole's
    place (the hole's and the parcel's filling it) is both: one copy cuts the hole, the
    other stays a parcel.  Without this, the outer parcel would cover its islands (and
    neither match the registry nor pass the overlap rules).
    """
    geoms = frame.geometry.values
    kind = shapely.get_type_id(geoms)
    ring = (kind == 1) & shapely.is_ring(geoms)
    shapes = np.full(len(geoms), None, dtype=object)
    shapes[ring] = [shapely.Polygon(g.coords) for g in geoms[ring]]
    shapes[kind == 3] = geoms[kind == 3]
    cand = np.flatnonzero(~shapely.is_missing(shapes))
    if len(cand) < 2:
        return frame, cad
    cand = cand[shapely.is_valid(shapes[cand]) & ~shapely.is_empty(shapes[cand])]
    sub = shapes[cand]
    outer, inner = shapely.STRtree(sub).query(sub, predicate="contains")
    layer = cad.to_numpy()[cand]
    keep = (outer != inner) & (layer[outer] == layer[inner])
    outer, inner = outer[keep], inner[keep]
    same = shapely.equals(sub[outer], sub[inner])
    twins: dict[int, set[int]] = {}
    for a, b in zip(outer[same].tolist(), inner[same].tolist(), strict=True):
        twins.setdefault(b, set()).add(a)
    outer, inner = outer[~same], inner[~same]
    if not len(outer):
        return frame, cad
    depth = np.bincount(inner, minlength=len(sub))
    # the direct container is the one nested deepest itself
    parent = np.full(len(sub), -1)
    best = np.full(len(sub), -1)
    for a, b in zip(outer.tolist(), inner.tolist(), strict=True):
        if depth[a] > best[b]:
            best[b], parent[b] = depth[a], a
    holes: dict[int, list[int]] = {}
    used: set[int] = set()
    for b in np.flatnonzero(depth % 2 == 1).tolist():
        if twins.get(b, set()) & used:
            continue  # its twin already cut this hole: this copy is the parcel filling it
        used.add(b)
        holes.setdefault(int(parent[b]), []).append(b)
    if not holes:
        return frame, cad
    new = geoms.copy()
    for a, bs in holes.items():
        shell = sub[a]
        new[cand[a]] = shapely.Polygon(shell.exterior.coords,
                                       [r.coords for r in shell.interiors]
                                       + [sub[b].exterior.coords for b in bs])
    drop = np.zeros(len(geoms), dtype=bool)
    drop[cand[sorted(used)]] = True
    frame = frame.copy()
    frame[frame.geometry.name] = gpd.GeoSeries(new, index=frame.index, crs=frame.crs)
    warnings.append(ReadWarning(
        "outlines_as_holes",
        f"{int(drop.sum())} closed outlines drawn inside another were read as holes of "
        f"{len(holes)} parcels.",
        features=tuple(int(i) for i in frame.index[drop])))
    return frame[~drop], cad[~drop]
