"""Hostile survey files, as an outside penetration test built them (issue 20), at a scale.

Shared by the tests (tests/gis/test_hostile_uploads.py, small scales) and
``bench/hostile.py`` (the pen test's sizes and beyond).  Each maker writes one file and
returns its path; nothing here reads a file back.
"""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import pyogrio
from shapely.geometry import box

from gis.crs import WARD
from gis.crs import transform as reproject

ANCHOR = (559_000.0, 1_819_000.0)
"""A point inside the test ward and the demo ward (EPSG:9214)."""


def gpkg_view(path: Path, *, rows: int) -> Path:
    """A GeoPackage whose only layer is a view over a recursive CTE of ``rows`` rows: the
    work SQLite does to read it grows with that literal, not with the file's size."""
    import geopandas as gpd

    base = gpd.GeoDataFrame({"so_thua": [1]}, geometry=[box(*ANCHOR, ANCHOR[0] + 20,
                                                            ANCHOR[1] + 20)], crs=WARD)
    pyogrio.write_dataframe(base, path, layer="base", driver="GPKG")
    with sqlite3.connect(path) as db:
        db.executescript(f"""
CREATE VIEW thua AS
  WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})
  SELECT b.fid AS fid, b.geom AS geom, b.so_thua AS so_thua
  FROM base b, (SELECT max(x) AS m FROM c) WHERE m > 0;
INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id)
  SELECT 'thua', 'features', 'thua', srs_id FROM gpkg_contents WHERE table_name = 'base';
INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m)
  SELECT 'thua', 'geom', geometry_type_name, srs_id, z, m
  FROM gpkg_geometry_columns WHERE table_name = 'base';
DELETE FROM gpkg_contents WHERE table_name = 'base';
DELETE FROM gpkg_geometry_columns WHERE table_name = 'base';
""")
    return path


def geojson_pairs(path: Path, *, pairs: int) -> Path:
    """One polygon of ``pairs`` coordinate pairs, six bytes each (``[1,1],``): the pen
    test's 19.8 MB file held 3.3 million."""
    with path.open("wb") as f:
        f.write(b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
                b'"geometry":{"type":"Polygon","coordinates":[[')
        block = b"[1,1]," * 100_000
        left = pairs - 1
        while left > 0:
            n = min(left, 100_000)
            f.write(block[:6 * n])
            left -= n
        f.write(b"[1,1]]]}}]}")
    return path


def dxf_bulges(path: Path, *, vertices: int, bulge: float = 1.0) -> Path:
    """A closed LWPOLYLINE of ``vertices`` vertices, each with a semicircle's bulge: GDAL
    draws each as 46 segments (the pen test's 4.4 MB had 120,000)."""
    x0, y0 = ANCHOR
    with path.open("w", encoding="ascii", newline="\n") as f:
        f.write(f"0\nSECTION\n2\nENTITIES\n0\nLWPOLYLINE\n8\nTHUA\n90\n{vertices}\n70\n1\n")
        for i in range(vertices):
            f.write(f"10\n{x0 + i % 1000:.1f}\n20\n{y0 + i // 1000:.1f}\n42\n{bulge:g}\n")
        f.write("0\nENDSEC\n0\nEOF\n")
    return path


def kml_coordinates(path: Path, *, tuples: int) -> Path:
    """One placemark whose polygon lists ``tuples`` coordinate tuples (the pen test's
    5.6 MB list)."""
    lon, lat = reproject(box(*ANCHOR, *ANCHOR), WARD, 4326).centroid.coords[0]
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
                'kml/2.2"><Document><Placemark><name>1</name><Polygon><outerBoundaryIs>'
                "<LinearRing><coordinates>")
        step = 1e-7
        for i in range(tuples):
            f.write(f"{lon + step * (i % 997):.7f},{lat + step * (i // 997):.7f},0 ")
        f.write(f"{lon:.7f},{lat:.7f},0</coordinates></LinearRing></outerBoundaryIs>"
                "</Polygon></Placemark></Document></kml>")
    return path


def zip_bomb(path: Path, *, megabytes: int) -> Path:
    """A ZIP whose one GeoJSON member inflates ``megabytes`` of spaces."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf, \
            zf.open("thua.geojson", "w", force_zip64=True) as member:
        chunk = b" " * (1024 * 1024)
        for _ in range(megabytes):
            member.write(chunk)
    return path


def csv_rows(path: Path, *, rows: int) -> Path:
    """A coordinate table of ``rows`` points of one parcel (X northing, Y easting)."""
    x0, y0 = ANCHOR
    with path.open("w", encoding="utf-8") as f:
        f.write("So thua,Diem,X,Y\n")
        for i in range(rows):
            f.write(f"1,{i + 1},{y0 + (i // 1000) * 0.01:.2f},{x0 + (i % 1000) * 0.01:.2f}\n")
    return path
