"""Write an audit :class:`~gis.rules.Report` to files people and machines open.

* GeoPackage for QGIS: one layer per geometry family, because a GeoPackage layer has one
  geometry type and QGIS styles a layer by it.  Overlaps, gaps, containments and zone
  crossings are areas (``findings_polygons``, MultiPolygon); boundary mismatches are
  vertices (``findings_points``, MultiPoint); line findings (none today) would go to
  ``findings_lines``; findings without geometry (validity of an empty feature) to the
  attribute table ``findings_nogeom``.  Geometry stays in the metric CRS the audit ran
  in (EPSG:9214 for the ward), so a surveyor measures it in QGIS without reprojecting.
  A one-row table ``audit_run`` carries the fingerprint, rule-set version, counts and the
  caller's run metadata, so a file found on a desk later still says what produced it.
* JSON: the report's own ``to_dict`` (geometry in WGS 84, as the web expects) with a
  ``run`` member holding the same metadata.

Every column a land officer filters on is a real column (rule, severity, area, width,
distance, tolerance); the full figures and tolerance mappings are kept as JSON text too,
so nothing the report says is lost.  Pure: no database.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from shapely.geometry.base import BaseGeometry

from gis.crs import WARD
from gis.rules import Finding, Report

POLYGONS = "findings_polygons"
POINTS = "findings_points"
LINES = "findings_lines"
NO_GEOMETRY = "findings_nogeom"
RUN = "audit_run"

_FAMILY = {"Polygon": POLYGONS, "MultiPolygon": POLYGONS, "Point": POINTS,
           "MultiPoint": POINTS, "LineString": LINES, "MultiLineString": LINES,
           "LinearRing": LINES}
_MULTI = {POLYGONS: "MultiPolygon", POINTS: "MultiPoint", LINES: "MultiLineString"}
_FIGURES = ("area_m2", "width_m", "distance_m")
"""Figures promoted to numeric columns (QGIS filters and graduated styles need numbers)."""
_TOLERANCE = ("scale", "snap_m", "conflict_m")
COLUMNS = ("rule", "rule_version", "severity", "band", "feature_ids", "labels", "message_vi",
           "message_en", *_FIGURES, *(f"tol_{k}" for k in _TOLERANCE), "figures", "tolerance",
           "fix")
"""Attribute columns of every findings layer, in order (see :func:`finding_row`)."""


def finding_row(f: Finding) -> dict[str, Any]:
    """The attribute row of one finding (its geometry aside)."""
    row: dict[str, Any] = {
        "rule": f.code, "rule_version": f.version, "severity": str(f.severity),
        "band": None if f.band is None else str(f.band),
        "feature_ids": ",".join(f.feature_ids), "labels": "; ".join(f.labels),
        "message_vi": f.message_vi, "message_en": f.message_en,
    }
    for k in _FIGURES:
        v = f.figures.get(k)
        row[k] = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
    for k in _TOLERANCE:
        v = f.tolerance.get(k)
        row[f"tol_{k}"] = None if v is None else (int(v) if k == "scale" else float(v))
    row["figures"] = json.dumps(dict(f.figures), ensure_ascii=False, sort_keys=True)
    row["tolerance"] = json.dumps(dict(f.tolerance), ensure_ascii=False, sort_keys=True,
                                  default=str)
    row["fix"] = None if f.fix is None else f.fix.description_en
    return row


def _family(geom: BaseGeometry | None) -> str:
    if geom is None or geom.is_empty:
        return NO_GEOMETRY
    return _FAMILY.get(geom.geom_type, NO_GEOMETRY)  # a collection: kept as attributes only


def layers(report: Report, *, crs: int = WARD) -> dict[str, gpd.GeoDataFrame | pd.DataFrame]:
    """The report as tables keyed by layer name (only non-empty ones; polygons always).

    The polygon layer is written even when empty so that a clean run still gives QGIS a
    spatial layer (with the right columns) to open.
    """
    rows: dict[str, list[dict[str, Any]]] = {}
    geoms: dict[str, list[BaseGeometry]] = {}
    for f in report.findings:
        fam = _family(f.geometry)
        rows.setdefault(fam, []).append(finding_row(f))
        if fam != NO_GEOMETRY:
            geoms.setdefault(fam, []).append(f.geometry)
    columns = list(COLUMNS)
    out: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    for fam in (POLYGONS, POINTS, LINES):
        if fam not in rows and fam != POLYGONS:
            continue
        multi = [_as_multi(g) for g in geoms.get(fam, [])]
        out[fam] = gpd.GeoDataFrame(_typed(pd.DataFrame(rows.get(fam, []), columns=columns)),
                                    geometry=gpd.GeoSeries(multi, crs=crs), crs=crs)
    if NO_GEOMETRY in rows:
        out[NO_GEOMETRY] = _typed(pd.DataFrame(rows[NO_GEOMETRY], columns=columns))
    return out


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as numbers even when all empty (else GDAL makes them text fields)."""
    for k in (*_FIGURES, "tol_snap_m", "tol_conflict_m"):
        df[k] = df[k].astype("float64")
    df["tol_scale"] = df["tol_scale"].astype("Int64")
    df["rule_version"] = df["rule_version"].astype("int32")
    return df


def _as_multi(g: BaseGeometry) -> BaseGeometry:
    t = g.geom_type
    if t == "Polygon":
        return shapely.multipolygons([g])
    if t == "Point":
        return shapely.multipoints([g])
    if t in ("LineString", "LinearRing"):
        return shapely.multilinestrings([shapely.linestrings(shapely.get_coordinates(g))])
    return g


def run_row(report: Report, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the ``audit_run`` table holds: the report's identity plus the caller's metadata."""
    severities: dict[str, int] = {}
    for f in report.findings:
        severities[str(f.severity)] = severities.get(str(f.severity), 0) + 1
    return {
        "fingerprint": report.fingerprint, "ruleset_version": report.ruleset_version,
        "feature_count": report.feature_count, "finding_count": len(report.findings),
        "counts": json.dumps(report.counts(), sort_keys=True),
        "severities": json.dumps(dict(sorted(severities.items()))),
        "rule_versions": json.dumps(dict(report.rule_versions), sort_keys=True),
        "settings": json.dumps(dict(report.settings), sort_keys=True, default=str),
        "metadata": json.dumps(dict(metadata or {}), ensure_ascii=False, sort_keys=True,
                               default=str),
    }


def write_gpkg(report: Report, path: str | Path, *, crs: int = WARD,
               metadata: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Write the report as a GeoPackage (replacing ``path``); returns rows per layer.

    ``crs`` is the CRS the findings' geometries are in (the audit's input CRS).  The file
    is built beside ``path`` and renamed into place, so a reader never sees half a report
    and a failed write leaves the previous file intact.
    """
    target = Path(path)
    if target.suffix.lower() != ".gpkg":
        raise ValueError(f"{target}: a GeoPackage file name ends in .gpkg")
    fd, tmp_name = tempfile.mkstemp(suffix=".gpkg", prefix=".audit-", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # GDAL refuses to create a GeoPackage over an existing empty file
    written: dict[str, int] = {}
    try:
        for name, df in layers(report, crs=crs).items():
            if isinstance(df, gpd.GeoDataFrame):
                pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG",
                                        geometry_type=_MULTI[name], append=tmp.exists())
            else:
                pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG", append=tmp.exists())
            written[name] = len(df)
        pyogrio.write_dataframe(pd.DataFrame([run_row(report, metadata)]), tmp, layer=RUN,
                                driver="GPKG", append=True)
        written[RUN] = 1
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return written


def report_document(report: Report, metadata: Mapping[str, Any] | None = None,
                    *, crs: int = WARD) -> dict[str, Any]:
    """The JSON document: ``report.to_dict`` (geometry in WGS 84) plus a ``run`` member."""
    doc = report.to_dict(crs)
    doc["run"] = dict(metadata or {})
    doc["geometry_crs"] = "EPSG:4326"
    return doc


def write_json(report: Report, path: str | Path, *, crs: int = WARD,
               metadata: Mapping[str, Any] | None = None) -> int:
    """Write :func:`report_document` as UTF-8 JSON (Vietnamese unescaped); returns bytes."""
    target = Path(path)
    data = json.dumps(report_document(report, metadata, crs=crs), ensure_ascii=False,
                      sort_keys=True, indent=1, default=str).encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(suffix=".json", prefix=".audit-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return len(data)
