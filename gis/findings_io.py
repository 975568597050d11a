"""Write an audit :class:`~gis.findings.Report` to files people and machines open.

* GeoPackage for QGIS, two layers and a table:

  - ``findings``: one point per finding, where to look (the vertex a vertex rule names,
    else a point inside the problem's shape), in rank order with its ``priority`` (1 is
    the first to work on), ``severity`` and ``rule``, and the parcel it is about as
    columns (``former_unit``, ``unit_name``, ``sheet_no``, ``parcel_no``, ``land_use``;
    the other parcels of a two-parcel finding in ``other_parcels``), so that QGIS
    filters and styles one layer by any of them.  The problem's own shape (an overlap's
    polygon, a short edge) is kept as WKT in ``shape_wkt``.
  - ``parcels``: the affected parcels themselves (MultiPolygon), with their identity, how
    many findings of each severity they have, the worst one and its priority: the map an
    officer works from.
  - ``audit_run``: a one-row table with the fingerprint, rule-set version, counts and the
    caller's run metadata, so a file found on a desk later still says what produced it.

  Geometry stays in the metric CRS the audit ran in (EPSG:9214 for the ward), so a
  surveyor measures it in QGIS without reprojecting.
* JSON: the report's own ``to_dict`` (geometry in WGS 84, as the web expects) with a
  ``run`` member holding the same metadata.

Every column a land officer filters on is a real column (rule, severity, area, width,
distance, tolerance, sheet, parcel); the full figures and tolerance mappings are kept as
JSON text too, so nothing the report says is lost.  Pure: no database.
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

from gis.catalogue import RULES
from gis.crs import WARD
from gis.findings import Finding, Report, Severity

FINDINGS = "findings"
PARCELS = "parcels"
RUN = "audit_run"

_FIGURES = ("area_m2", "width_m", "distance_m")
"""Figures promoted to numeric columns (QGIS filters and graduated styles need numbers)."""
_TOLERANCE = ("scale", "snap_m", "conflict_m")
_IDENTITY = ("former_unit", "unit_name", "sheet_no", "parcel_no", "land_use")
COLUMNS = ("priority", "severity", "rule", "title", "band", *_IDENTITY, "parcel_id",
           "other_parcels", "feature_ids", "labels", "message_vi", "message_en", *_FIGURES,
           *(f"tol_{k}" for k in _TOLERANCE), "rule_version", "figures", "tolerance", "fix",
           "fix_vi", "shape_wkt")
"""Attribute columns of the findings layer, in order (see :func:`finding_row`)."""
PARCEL_COLUMNS = ("parcel_id", *_IDENTITY, "findings", "errors", "warnings", "infos",
                  "worst_severity", "first_priority", "first_rule", "first_message_vi",
                  "first_message_en")


def finding_row(f: Finding, priority: int) -> dict[str, Any]:
    """The attribute row of one finding (its point aside); ``priority`` is its rank."""
    subject = f.parcels[0] if f.parcels else {}
    rule = RULES.get(f.code)
    row: dict[str, Any] = {
        "priority": priority, "severity": str(f.severity), "rule": f.code,
        "title": rule.title_en if rule else f.code,
        "band": None if f.band is None else str(f.band),
        **{k: subject.get(k) for k in _IDENTITY},
        "parcel_id": _int(subject.get("parcel_id")),
        "other_parcels": "; ".join(f.labels[1:]) if len(f.labels) > 1 else None,
        "feature_ids": ",".join(f.feature_ids), "labels": "; ".join(f.labels),
        "message_vi": f.message_vi, "message_en": f.message_en,
    }
    for k in _FIGURES:
        v = f.figures.get(k)
        row[k] = float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None
    for k in _TOLERANCE:
        v = f.tolerance.get(k)
        row[f"tol_{k}"] = None if v is None else (int(v) if k == "scale" else float(v))
    row["rule_version"] = f.version
    row["figures"] = json.dumps(dict(f.figures), ensure_ascii=False, sort_keys=True)
    row["tolerance"] = json.dumps(dict(f.tolerance), ensure_ascii=False, sort_keys=True,
                                  default=str)
    row["fix"] = None if f.fix is None else f.fix.description_en
    row["fix_vi"] = None if f.fix is None else f.fix.description_vi
    row["shape_wkt"] = None if f.geometry is None or f.geometry.is_empty else \
        shapely.to_wkt(f.geometry, rounding_precision=4)
    return row


def _int(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def where_to_look(f: Finding) -> BaseGeometry | None:
    """The point a finding is drawn at: the vertex it names (``x``, ``y``), else a point
    inside (or on) its shape; None when it has no geometry."""
    x, y = f.figures.get("x"), f.figures.get("y")
    if isinstance(x, int | float) and isinstance(y, int | float) and not isinstance(x, bool):
        return shapely.Point(float(x), float(y))
    if f.geometry is None or f.geometry.is_empty:
        return None
    return shapely.point_on_surface(f.geometry)


def layers(report: Report, *, crs: int = WARD,
           parcels: gpd.GeoDataFrame | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The report as layers keyed by name: ``findings`` always (empty for a clean run, so
    QGIS still gets a layer with the right columns), ``parcels`` when their shapes are
    given (a frame with ``parcel_id`` and the identity columns, in ``crs``)."""
    rows = [finding_row(f, k) for k, f in enumerate(report.findings, start=1)]
    points = [where_to_look(f) for f in report.findings]
    df = _typed(pd.DataFrame(rows, columns=list(COLUMNS)))
    out = {FINDINGS: gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(points, crs=crs), crs=crs)}
    if parcels is not None:
        out[PARCELS] = _parcel_layer(report, parcels, crs)
    return out


def _parcel_layer(report: Report, parcels: gpd.GeoDataFrame, crs: int) -> gpd.GeoDataFrame:
    """The affected parcels with their findings counted, worst first."""
    stats: dict[str, dict[str, Any]] = {}
    for k, f in enumerate(report.findings, start=1):
        for pid in f.feature_ids:
            st = stats.setdefault(pid, {"findings": 0, "errors": 0, "warnings": 0, "infos": 0,
                                        "first": (k, f)})
            st["findings"] += 1
            key = {Severity.ERROR: "errors", Severity.WARNING: "warnings"}.get(f.severity,
                                                                              "infos")
            st[key] += 1
    rows, geoms = [], []
    for rec in parcels.itertuples(index=False):
        mine = stats.get(str(rec.parcel_id))
        if mine is None:
            continue
        k, first = mine["first"]
        rows.append({"parcel_id": int(rec.parcel_id),
                     **{c: getattr(rec, c, None) for c in _IDENTITY},
                     "findings": mine["findings"], "errors": mine["errors"],
                     "warnings": mine["warnings"], "infos": mine["infos"],
                     "worst_severity": str(first.severity), "first_priority": k,
                     "first_rule": first.code, "first_message_vi": first.message_vi,
                     "first_message_en": first.message_en})
        geoms.append(shapely.multipolygons([rec.geometry])
                     if rec.geometry.geom_type == "Polygon" else rec.geometry)
    df = pd.DataFrame(rows, columns=list(PARCEL_COLUMNS))
    for c in ("findings", "errors", "warnings", "infos", "first_priority", "parcel_id",
              "sheet_no", "parcel_no"):
        df[c] = df[c].astype("Int64")
    frame = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    return frame.sort_values("first_priority", kind="stable").reset_index(drop=True)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Numeric columns as numbers even when all empty (else GDAL makes them text fields)."""
    for k in (*_FIGURES, "tol_snap_m", "tol_conflict_m"):
        df[k] = df[k].astype("float64")
    for k in ("tol_scale", "sheet_no", "parcel_no", "parcel_id"):
        df[k] = df[k].astype("Int64")
    df["rule_version"] = df["rule_version"].astype("int32")
    df["priority"] = df["priority"].astype("int32")
    return df


def run_row(report: Report, metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the ``audit_run`` table holds: the report's identity plus the caller's metadata."""
    severities = report.severities()
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
               metadata: Mapping[str, Any] | None = None,
               parcels: gpd.GeoDataFrame | None = None) -> dict[str, int]:
    """Write the report as a GeoPackage (replacing ``path``); returns rows per layer.

    ``crs`` is the CRS the findings' geometries are in (the audit's input CRS);
    ``parcels`` the affected parcels' shapes (see :func:`layers`).  The file is built
    beside ``path`` and renamed into place, so a reader never sees half a report and a
    failed write leaves the previous file intact.
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
        for name, df in layers(report, crs=crs, parcels=parcels).items():
            pyogrio.write_dataframe(df, tmp, layer=name, driver="GPKG",
                                    geometry_type="Point" if name == FINDINGS
                                    else "MultiPolygon", append=tmp.exists())
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
