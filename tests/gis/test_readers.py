"""Survey-file intake: what a surveyor sees when uploading each format, and each hostile file.

Every fixture is built here, in the test's own temporary folder; the
"upload" folder plays the part of the temporary folder the service makes for
one upload.  The parcels sit near E 559,000 N 1,820,000 in EPSG:9214
(lon 107.555, lat 16.455), inside Kim Long ward.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import socket
import sqlite3
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely
from pyogrio.errors import DataSourceError
from shapely.geometry import Polygon, box

from gis.crs import WARD, transform
from gis.intake import gdal_sandbox
from gis.intake.archives import copy_limited
from gis.intake.errors import ReadError
from gis.intake.types import Limits, ReadResult
from gis.intake.upload import read_upload
from tests.gis.builders import (
    BILLION_LAUGHS,
    CSV_VN,
    EXTERNAL,
    FRAME,
    A,
    B,
    assert_drawn,
    dxf_file,
    geojson,
    kml_text,
    parcels_9214,
    shapefile_parts,
    swap,
    wgs,
    zip_dir,
)


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    folder = tmp_path / "upload"
    folder.mkdir()
    return folder


def read(path: Path, upload: Path, **kwargs: Any) -> ReadResult:
    kwargs.setdefault("frame", FRAME)
    return read_upload(path, workdir=upload, **kwargs)


def refused(code: str, fn: Callable[[], Any]) -> ReadError:
    with pytest.raises(ReadError) as info:
        fn()
    assert info.value.code == code, info.value.to_dict()
    assert info.value.detail and info.value.message_vi
    json.dumps(info.value.to_dict())
    return info.value


def snapshot(tmp_path: Path) -> set[str]:
    """Files outside the upload folder that an escaping archive entry could create."""
    found = {str(p) for p in tmp_path.rglob("*") if "upload" not in p.parts}
    return found | {str(p) for p in (Path("/tmp/evil.txt"), tmp_path.parent / "evil.txt")
                    if p.exists()}


def only_original(upload: Path, *names: str) -> None:
    """The reader cleaned up after itself: only the uploaded files remain."""
    assert sorted(p.name for p in upload.iterdir()) == sorted(names)


def shapefile_zip(tmp_path: Path, upload: Path, *, drop: tuple[str, ...] = (),
                  prj: str | None = None, name: str = "parcels.zip") -> Path:
    return zip_dir(upload / name, shapefile_parts(tmp_path / "scratch", drop=drop, prj=prj))


def assert_parcels(result: ReadResult, *, crs: int) -> None:
    f = result.features
    assert f.crs.to_epsg() == WARD
    assert result.source_crs == crs
    assert_drawn(f.geometry, [A, B])
    assert list(f["parcel_no"]) == ["12", "13"]
    assert list(f["sheet_no"]) == ["5", "5"]
    assert list(f["land_use"]) == ["ODT", "CLN"]
    assert list(f["declared_area"]) == [300.0, 400.0]
    assert list(f["source_index"]) == [0, 1]
    assert f.geometry.area.round(1).tolist() == [300.0, 400.0]
    json.dumps(list(f["attributes"]))


# --- formats -----------------------------------------------------------------------------


def test_geojson_in_wgs84_with_vietnamese_names(upload: Path) -> None:
    """A GeoJSON from a phone app in WGS 84, columns in Vietnamese, decimal comma: read in m²."""
    props = [{"Tờ": 5, "Số thửa": 12, "MĐSD": "odt", "Diện tích": "300,0"},
             {"Tờ": 5, "Số thửa": 13, "MĐSD": "CLN", "Diện tích": "400"}]
    path = geojson(upload / "thua.geojson", [wgs(A), wgs(B)], props)
    result = read(path, upload)
    assert result.format == "geojson"
    assert_parcels(result, crs=4326)
    assert result.mapping == {"sheet_no": "Tờ", "parcel_no": "Số thửa", "land_use": "MĐSD",
                              "area": "Diện tích"}
    assert result.features["attributes"][0]["Số thửa"] == 12
    assert result.warnings == []
    only_original(upload, "thua.geojson")


def test_geojson_crs_member_and_explicit_mapping(upload: Path) -> None:
    """A VN-2000 GeoJSON naming its CRS; the uploader's mapping beats the name guess."""
    props = [{"so_thua": 1, "thua_moi": 12, "to": 5, "loai": "ODT", "dt": 300},
             {"so_thua": 2, "thua_moi": 13, "to": 5, "loai": "CLN", "dt": 400}]
    path = geojson(upload / "thua.json", [A, B], props, crs="urn:ogc:def:crs:EPSG::9214")
    result = read(path, upload, mapping={"parcel_no": "thua_moi", "land_use": "loai"})
    assert_parcels(result, crs=WARD)
    assert result.mapping["parcel_no"] == "thua_moi"


def test_bad_mapping_names_the_columns(upload: Path) -> None:
    """A mapping naming a column the file lacks is refused with the columns it has."""
    path = geojson(upload / "thua.geojson", [wgs(A)], [{"so_thua": 1}])
    err = refused("bad_mapping", lambda: read(path, upload, mapping={"parcel_no": "SoThua"}))
    assert err.extra["columns"] == ["so_thua"]


def test_zipped_shapefile_with_prj(tmp_path: Path, upload: Path) -> None:
    """A zipped Shapefile from a GIS desktop: CRS from the .prj, DBF names mapped."""
    path = shapefile_zip(tmp_path, upload)
    result = read(path, upload)
    assert result.format == "shapefile"
    assert result.layer == "thua"
    assert_parcels(result, crs=WARD)
    only_original(upload, "parcels.zip")


def test_shapefile_without_prj_needs_crs(tmp_path: Path, upload: Path) -> None:
    """Without a .prj the surveyor is asked for the CRS; given, the file reads."""
    path = shapefile_zip(tmp_path, upload, drop=(".prj", ".cpg"))
    err = refused("crs_missing", lambda: read(path, upload))
    assert ".prj" in err.detail
    assert_parcels(read(path, upload, crs=9214), crs=WARD)


def test_shapefile_prj_without_epsg_recognised_as_vn2000(tmp_path: Path, upload: Path) -> None:
    """A .prj from CAD software (TM 107°, own datum name, no EPSG) reads as 9214, with a warning."""
    prj = ('PROJCS["VN_2000_Hue",GEOGCS["GCS_VN2000_Hue",DATUM["D_VN2000_Hue",SPHEROID['
           '"WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",'
           '0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",'
           '500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",107.0],'
           'PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",0.0],'
           'UNIT["Meter",1.0]]')
    path = shapefile_zip(tmp_path, upload, prj=prj)
    result = read(path, upload)
    assert_parcels(result, crs=WARD)
    assert "crs_matched" in result.warning_codes


def test_geopackage_single_layer(tmp_path: Path, upload: Path) -> None:
    """A GeoPackage with one layer reads without naming it."""
    path = upload / "thua.gpkg"
    dates = [dt.date(2025, 7, 1), None]
    pyogrio.write_dataframe(parcels_9214(ngay_do=dates), path, layer="thua_dat")
    result = read(path, upload)
    assert result.format == "gpkg" and result.layer == "thua_dat"
    assert_parcels(result, crs=WARD)
    assert set(result.features["source_layer"]) == {"thua_dat"}
    assert [a["ngay_do"] for a in result.features["attributes"]] == ["2025-07-01", None]


def test_geopackage_several_layers_asks_which(upload: Path) -> None:
    """Two polygon layers: the error lists them; naming one reads it; a wrong name is refused."""
    path = upload / "survey.gpkg"
    pyogrio.write_dataframe(parcels_9214(), path, layer="thua_dat")
    pyogrio.write_dataframe(parcels_9214(), path, layer="nha", append=False)
    err = refused("layer_required", lambda: read(path, upload))
    assert sorted(err.extra["layers"]) == ["nha", "thua_dat"]
    assert_parcels(read(path, upload, layer="thua_dat"), crs=WARD)
    err = refused("unknown_layer", lambda: read(path, upload, layer="roads"))
    assert sorted(err.extra["layers"]) == ["nha", "thua_dat"]


def test_kml_from_google_earth(upload: Path) -> None:
    """A KML with ExtendedData: folder kept as layer, a label point skipped with a warning."""
    label = "<Placemark><name>mốc</name><Point><coordinates>107.555,16.455</coordinates>" \
            "</Point></Placemark>"
    path = upload / "thua.kml"
    path.write_text(kml_text(extra=label), encoding="utf-8")
    result = read(path, upload)
    assert result.format == "kml"
    assert_parcels(result, crs=4326)
    assert set(result.features["source_layer"]) == {"Thửa đất"}
    assert "skipped_non_polygon" in result.warning_codes
    assert "flattened_z" not in result.warning_codes  # altitude 0 is not a height


def test_kml_folder_and_closed_line(upload: Path) -> None:
    """A KML folder can be chosen as the layer; a closed line there is read as a parcel."""
    ring = " ".join(f"{x:.9f},{y:.9f}" for x, y in wgs(A).exterior.coords)
    other = ("<Folder><name>Ranh giới</name><Placemark><name>14</name><LineString>"
             f"<coordinates>{ring}</coordinates></LineString></Placemark></Folder>")
    path = upload / "thua.kml"
    path.write_text(kml_text().replace("</Document>", other + "</Document>"), encoding="utf-8")
    result = read(path, upload, layer="Ranh giới")
    assert result.layer == "Ranh giới"
    assert list(result.features["source_index"]) == [2]  # the third placemark of the file
    assert list(result.features["attributes"]) == [{"name": "14"}]  # the placemark's name
    assert_drawn(result.features.geometry, [A])
    assert "closed_line_polygonised" in result.warning_codes
    refused("unknown_layer", lambda: read(path, upload, layer="Nhà"))


def test_zipped_geopackage(tmp_path: Path, upload: Path) -> None:
    """A GeoPackage sent inside a ZIP reads like the GeoPackage itself."""
    scratch = tmp_path / "thua.gpkg"
    pyogrio.write_dataframe(parcels_9214(), scratch, layer="thua")
    path = zip_dir(upload / "thua.zip", {"thua.gpkg": scratch.read_bytes()})
    assert_parcels(read(path, upload), crs=WARD)
    only_original(upload, "thua.zip")


def test_kmz(upload: Path) -> None:
    """A KMZ (zipped KML) reads like the KML inside it."""
    path = zip_dir(upload / "thua.kmz", {"doc.kml": kml_text().encode()})
    result = read(path, upload)
    assert result.format == "kmz"
    assert_parcels(result, crs=4326)
    only_original(upload, "thua.kmz")


def test_dxf_closed_polyline_and_hatch(upload: Path) -> None:
    """A CAD drawing: closed polyline and hatch are parcels with their CAD layer; text skipped."""
    path = dxf_file(upload / "ban_ve.dxf")
    result = read(path, upload)
    f = result.features
    assert result.format == "dxf" and result.source_crs == WARD
    assert_drawn(f.geometry, [A, B])
    assert list(f["source_layer"]) == ["THUA", "THUA"]
    assert [(a["Layer"], a["SubClasses"]) for a in f["attributes"]] == [
        ("THUA", "AcDbEntity:AcDbPolyline"), ("THUA", "AcDbEntity:AcDbHatch")]
    # a drawing carries no parcel identity: nothing is invented
    assert f[["sheet_no", "parcel_no", "land_use"]].isna().all().all()
    assert {"crs_assumed", "skipped_non_polygon"} <= set(result.warning_codes)


def test_dxf_outlines_inside_another_are_its_holes(upload: Path) -> None:
    """A road drawn as its outline and two inner outlines (two blocks) has two holes; the
    lots inside the blocks stay parcels, and a lot drawn exactly on a hole's outline
    fills that hole instead of vanishing with it."""
    import ezdxf

    road = box(559_000, 1_820_000, 559_100, 1_820_060)
    block1, block2 = box(559_010, 1_820_010, 559_040, 1_820_050), \
        box(559_060, 1_820_010, 559_090, 1_820_050)
    lots = [box(559_010, 1_820_010, 559_040, 1_820_030),
            box(559_010, 1_820_030, 559_040, 1_820_050), block2]
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    for g in (road, block1, block2, *lots):
        msp.add_lwpolyline(list(g.exterior.coords)[:-1], close=True,
                           dxfattribs={"layer": "THUA"})
    doc.saveas(upload / "ban_ve.dxf")
    result = read(upload / "ban_ve.dxf", upload)
    geoms = list(result.features.geometry)
    assert len(geoms) == 4
    assert shapely.equals(geoms[0], road.difference(block1).difference(block2))
    assert len(geoms[0].interiors) == 2
    assert sorted(round(g.area) for g in geoms[1:]) == [600, 600, 1200]
    assert "outlines_as_holes" in result.warning_codes


def test_dxf_polygons_on_several_layers_asks_which(upload: Path) -> None:
    """Polygons on two CAD layers: the surveyor names the parcel layer."""
    path = dxf_file(upload / "ban_ve.dxf", hatch_layer="NHA")
    err = refused("layer_required", lambda: read(path, upload))
    assert err.extra["layers"] == ["NHA", "THUA"]
    result = read(path, upload, layer="THUA")
    assert_drawn(result.features.geometry, [A])
    assert list(result.features["source_index"]) == [0]  # the drawing's first entity
    refused("unknown_layer", lambda: read(path, upload, layer="RANH_GIOI"))


def test_csv_coordinate_table_vietnamese(upload: Path) -> None:
    """The surveyor's table: X northing, Y easting, decimal comma, parcel number on first row."""
    path = upload / "toa_do.csv"
    path.write_bytes(CSV_VN.encode("utf-8-sig"))
    result = read(path, upload)
    assert result.format == "csv"
    assert_parcels(result, crs=WARD)
    assert result.features["attributes"][0]["points"] == ["1", "2", "3", "4"]
    assert result.features.geometry.iloc[0].equals(A)


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["windows", "old-mac"])
def test_csv_line_endings(upload: Path, ending: str) -> None:
    """Windows and old Mac exports (a bare CR ends a line) read as the same parcels."""
    path = upload / "toa_do.csv"
    path.write_bytes(ending.join(CSV_VN.splitlines()).encode("utf-8-sig"))
    result = read(path, upload)
    assert result.features["parcel_no"].tolist() == ["12", "13"]
    assert result.features.geometry.iloc[0].equals(A)


def test_csv_that_is_not_csv_is_a_bad_table(upload: Path) -> None:
    """What the csv module refuses (here a field over its size limit) is a bad_table."""
    path = upload / "toa_do.csv"
    path.write_text("Số thửa;X;Y\n12;" + "9" * 200_000 + ";559000\n", encoding="utf-8")
    err = refused("bad_table", lambda: read(path, upload))
    assert "CSV" in err.detail and "CSV" in err.message_vi


def test_csv_english_headers_comma_separated(upload: Path) -> None:
    """English headers, comma separator, decimal point."""
    rows = ["parcel,point,x,y"] + [
        f"12,{i + 1},{y},{x}" for i, (x, y) in enumerate(list(A.exterior.coords)[:-1])]
    path = upload / "coords.csv"
    path.write_text("\n".join(rows))
    result = read(path, upload)
    assert result.features["parcel_no"].tolist() == ["12"]
    assert_drawn(result.features.geometry, [A])


def test_csv_without_header_row(upload: Path) -> None:
    """A table without recognisable headers says which columns it expects."""
    path = upload / "coords.csv"
    path.write_text("a;b;c\n1;2;3\n")
    err = refused("bad_table", lambda: read(path, upload))
    assert "Số thửa" in err.detail


# --- CRS: override and the usual mistakes --------------------------------------------------


def test_crs_override(upload: Path) -> None:
    """VN-2000 metres in a GeoJSON without a crs member read right once the CRS is given."""
    path = geojson(upload / "thua.geojson", [A, B], [{"so_thua": 12}, {"so_thua": 13}])
    result = read(path, upload, crs="EPSG:9214")
    assert result.source_crs == WARD
    assert_drawn(result.features.geometry, [A, B])


def test_crs_override_of_a_file_crs_is_reported(upload: Path) -> None:
    """Overriding a CRS the file states is allowed and reported."""
    utm = transform(A, WARD, 3405)
    path = geojson(upload / "thua.geojson", [utm], crs="EPSG:9214")
    result = read(path, upload, crs=3405)
    assert "crs_overridden" in result.warning_codes
    assert_drawn(result.features.geometry, [A])


def test_unknown_crs_override(upload: Path) -> None:
    """A CRS nobody knows is refused before reading."""
    path = geojson(upload / "thua.geojson", [wgs(A)])
    refused("crs_unknown", lambda: read(path, upload, crs="EPSG:999999"))


def test_northing_easting_swapped(upload: Path) -> None:
    """Northing written as x: refused with swap_axes as the fix; with it (or auto_fix) it reads."""
    path = geojson(upload / "thua.geojson", [swap(A), swap(B)], crs="EPSG:9214")
    err = refused("axes_swapped", lambda: read(path, upload))
    assert err.extra["suggestion"] == {"swap_axes": True}
    fixed = read(path, upload, swap_axes=True)
    assert fixed.features.geometry.iloc[0].equals(A)
    auto = read(path, upload, auto_fix=True)
    assert auto.swap_axes and "fixed_axes_swapped" in auto.warning_codes
    assert auto.features.geometry.iloc[0].equals(A)


def test_lat_lon_swapped(upload: Path) -> None:
    """Latitude, longitude order in a GeoJSON: named as swapped axes."""
    path = geojson(upload / "thua.geojson", [swap(wgs(A))])
    err = refused("axes_swapped", lambda: read(path, upload))
    assert err.extra["suggestion"] == {"swap_axes": True}
    assert "Latitude" in err.detail


def test_csv_with_x_as_easting(upload: Path) -> None:
    """A table with X = easting (the international habit): the columns are named in the error."""
    rows = ["So thua;Diem;X;Y"] + [
        f"12;{i + 1};{x};{y}" for i, (x, y) in enumerate(list(A.exterior.coords)[:-1])]
    path = upload / "toa_do.csv"
    path.write_text("\n".join(rows))
    err = refused("axes_swapped", lambda: read(path, upload))
    assert "'X' and 'Y'" in err.detail
    assert read(path, upload, swap_axes=True).features.geometry.iloc[0].equals(A)


def test_swap_axes_on_a_normal_table_says_to_drop_it(upload: Path) -> None:
    """A VN-2000 table with X = northing, read with swap_axes anyway (what the old help
    text invited): refused with the advice to read it without swap_axes, not with it."""
    rows = ["So thua;Diem;X;Y"] + [
        f"12;{i + 1};{y};{x}" for i, (x, y) in enumerate(list(A.exterior.coords)[:-1])]
    path = upload / "toa_do.csv"
    path.write_text("\n".join(rows))
    assert read(path, upload).features.geometry.iloc[0].equals(A)
    err = refused("axes_swapped", lambda: read(path, upload, swap_axes=True))
    assert err.extra["suggestion"] == {"swap_axes": False}
    assert "without swap_axes" in err.detail and "không đảo trục" in err.message_vi


def test_wrong_tm3_zone(upload: Path) -> None:
    """Data in TM-3 107°15' labelled 107°00': the right zone is named."""
    path = geojson(upload / "thua.geojson", [transform(A, WARD, 9215)], crs="EPSG:9214")
    err = refused("crs_wrong_zone", lambda: read(path, upload))
    assert err.extra["suggestion"] == {"crs": 9215}
    result = read(path, upload, crs=9215)
    assert_drawn(result.features.geometry, [A])


def test_utm_labelled_as_tm3(upload: Path) -> None:
    """VN-2000 UTM 48N coordinates labelled 9214: 3405 suggested, its WGS 84 twin listed."""
    path = geojson(upload / "thua.geojson", [transform(A, WARD, 3405)], crs="EPSG:9214")
    err = refused("crs_wrong_zone", lambda: read(path, upload))
    assert err.extra["suggestion"] == {"crs": 3405}
    assert 32648 in err.extra["alternatives"]


def test_degrees_labelled_metric(upload: Path) -> None:
    """Longitude/latitude in a file that says EPSG:9214: WGS 84 suggested."""
    path = geojson(upload / "thua.geojson", [wgs(A)], crs="EPSG:9214")
    err = refused("degrees_as_metres", lambda: read(path, upload))
    assert err.extra["suggestion"] == {"crs": 4326}
    assert 4756 in err.extra["alternatives"]


def test_metres_given_as_degrees(upload: Path) -> None:
    """VN-2000 metres in a GeoJSON (WGS 84 by definition): EPSG:9214 suggested."""
    path = geojson(upload / "thua.geojson", [A])
    err = refused("metres_as_degrees", lambda: read(path, upload))
    assert err.extra["suggestion"] == {"crs": 9214}
    auto = read(path, upload, auto_fix=True)
    assert auto.source_crs == WARD and "fixed_metres_as_degrees" in auto.warning_codes
    assert_drawn(auto.features.geometry, [A])


def test_outside_the_ward(upload: Path) -> None:
    """A survey of Hanoi is refused as outside the ward, with its bounds."""
    path = geojson(upload / "thua.geojson", [box(105.85, 21.02, 105.851, 21.021)])
    err = refused("outside_ward", lambda: read(path, upload))
    assert err.extra["bounds"]


def test_partly_outside_the_ward_warns(upload: Path) -> None:
    """One parcel in the ward and one far away: read, with the outsider named."""
    far = box(105.85, 21.02, 105.851, 21.021)
    path = geojson(upload / "thua.geojson", [wgs(A), far])
    result = read(path, upload)
    warning = next(w for w in result.warnings if w.code == "partly_outside_ward")
    assert warning.features == (1,)


# --- hostile and broken input ------------------------------------------------------------


def test_empty_file(upload: Path) -> None:
    """A zero-byte upload."""
    path = upload / "thua.geojson"
    path.write_bytes(b"")
    refused("empty_file", lambda: read(path, upload))


@pytest.mark.parametrize(("name", "content"), [
    ("thua.geojson", b"PK\x03\x04rest-of-a-zip"),
    ("thua.zip", b'{"type": "FeatureCollection", "features": []}'),
    ("thua.kml", b"SQLite format 3\x00" + b"\x00" * 52 + b"GPKG" + b"\x00" * 100),
    ("thua.gpkg", b"<kml></kml>"),
])
def test_content_not_matching_extension(upload: Path, name: str, content: bytes) -> None:
    """A file whose content is not what its extension says."""
    path = upload / name
    path.write_bytes(content)
    err = refused("format_mismatch", lambda: read(path, upload))
    assert err.extra["extension"] == Path(name).suffix


def test_xml_that_is_not_kml(upload: Path) -> None:
    """An OGR VRT (which could open other files) named .kml is refused as not KML."""
    path = upload / "thua.kml"
    path.write_text('<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd'
                    "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
    refused("format_mismatch", lambda: read(path, upload))


def test_gdal_pipeline_json_is_not_geojson(tmp_path: Path, upload: Path) -> None:
    """A GDAL streamed-algorithm JSON never reaches GDAL: it is not GeoJSON."""
    target = tmp_path / "secret.gpkg"
    path = upload / "thua.json"
    path.write_text(json.dumps({"type": "gdal_streamed_alg",
                                "command_line": f"gdal vector pipeline ! read {target}"}))
    refused("corrupt_file", lambda: read(path, upload))


def test_truncated_zip(tmp_path: Path, upload: Path) -> None:
    """A ZIP cut off in transfer."""
    full = shapefile_zip(tmp_path, upload)
    data = full.read_bytes()
    full.write_bytes(data[: len(data) // 2])
    refused("corrupt_archive", lambda: read(full, upload))


def test_kml_declaring_an_unknown_encoding(upload: Path) -> None:
    """<?xml encoding="UTF-b"?>: a clear refusal, not a failure inside the XML parser."""
    path = upload / "thua.kml"
    path.write_text(kml_text().replace('encoding="UTF-8"', 'encoding="UTF-b"'), encoding="utf-8")
    assert 'encoding="UTF-b"' in path.read_text(encoding="utf-8")
    err = refused("corrupt_file", lambda: read(path, upload))
    assert "UTF-8" in err.detail


def test_zip_claiming_an_unknown_zip_version(tmp_path: Path, upload: Path) -> None:
    """A garbled directory that asks for ZIP version 12.2 (Python implements up to 6.3)."""
    path = shapefile_zip(tmp_path, upload)
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, data.rfind(b"PK\x01\x02") + 6, 122)  # version needed
    path.write_bytes(bytes(data))
    refused("corrupt_archive", lambda: read(path, upload))


def test_shapefile_text_not_in_its_declared_encoding(tmp_path: Path, upload: Path) -> None:
    """A DBF declared UTF-8 (.cpg) whose land-use text is not: refused, naming the byte and
    the fix, instead of failing inside the reader."""
    parts = shapefile_parts(tmp_path / "scratch", parcels_9214(KHLOAIDAT=["ODT", "CLN"]))
    assert parts["thua.cpg"].strip() == b"UTF-8"
    parts["thua.dbf"] = parts["thua.dbf"].replace(b"ODT", b"\xe1(T", 1)
    path = zip_dir(upload / "thua.zip", parts)
    err = refused("corrupt_file", lambda: read(path, upload))
    assert "0xe1" in err.detail and ".cpg" in err.detail


def test_zip_bomb_by_ratio(upload: Path) -> None:
    """A member that inflates a thousandfold is refused before extraction."""
    path = zip_dir(upload / "bomb.zip", {"thua.geojson": b" " * (20 * 1024 * 1024)})
    before = sum(1 for _ in upload.rglob("*"))
    err = refused("zip_bomb", lambda: read(path, upload))
    assert err.extra["ratio"] > 200
    assert sum(1 for _ in upload.rglob("*")) == before


def test_zip_bomb_by_declared_size(upload: Path) -> None:
    """An archive declaring more than the uncompressed limit."""
    path = zip_dir(upload / "big.zip", {"a.geojson": os.urandom(300_000)})
    err = refused("zip_bomb", lambda: read(path, upload,
                                           limits=Limits(max_uncompressed_bytes=100_000)))
    assert err.extra["declared_bytes"] == 300_000


def test_zip_bomb_by_member_count(upload: Path) -> None:
    """An archive of thousands of tiny members."""
    path = zip_dir(upload / "many.zip", {f"f{i}.txt": b"x" for i in range(300)})
    refused("zip_bomb", lambda: read(path, upload))


def test_zip_that_lies_about_sizes(upload: Path) -> None:
    """Declared sizes say 100 bytes, the member inflates to 5 MB: cut off at 100 bytes."""
    path = zip_dir(upload / "liar.zip", {"thua.geojson": b"{" + b" " * 5_000_000 + b"}"})
    data = bytearray(path.read_bytes())
    # Patch the uncompressed size in the local header (offset 22) and central directory (24).
    struct.pack_into("<I", data, 22, 100)
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 100)
    path.write_bytes(bytes(data))
    refused("corrupt_archive", lambda: read(path, upload))
    only_original(upload, "liar.zip")


@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/evil.txt", "a/../../evil.txt",
                                    "C:\\evil.txt", "\\\\host\\share\\evil.txt"])
def test_zip_slip(tmp_path: Path, upload: Path, member: str) -> None:
    """Archive entries that climb out of the folder or are absolute: nothing is written."""
    before = snapshot(tmp_path)
    path = zip_dir(upload / "slip.zip", {"thua.geojson": b"{}", member: b"owned"})
    refused("unsafe_archive_path", lambda: read(path, upload))
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "evil.txt").exists()
    only_original(upload, "slip.zip")


def test_zip_symlink_member(tmp_path: Path, upload: Path) -> None:
    """A symbolic-link entry (pointing at /etc/passwd) is refused."""
    path = upload / "link.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("thua.geojson")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    refused("unsafe_archive_path", lambda: read(path, upload))
    only_original(upload, "link.zip")


@pytest.mark.parametrize("drop", [(".shx",), (".dbf",)])
def test_shapefile_missing_sidecar(tmp_path: Path, upload: Path, drop: tuple[str]) -> None:
    """A zipped Shapefile without its .shx or .dbf names what is missing."""
    path = shapefile_zip(tmp_path, upload, drop=drop)
    err = refused("missing_sidecar", lambda: read(path, upload))
    assert err.extra["missing"] == [drop[0]]


def test_vrt_disguised_as_shp_in_zip(upload: Path, no_gdal: list[str]) -> None:
    """An OGR VRT named .shp inside a ZIP is refused by content before GDAL opens it."""
    vrt = (b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/vsicurl/http://127.0.0.1:1/'
           b"x.geojson</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>")
    path = zip_dir(upload / "thua.zip", {"x.shp": vrt, "x.shx": b"", "x.dbf": b""})
    refused("format_mismatch", lambda: read(path, upload))
    assert no_gdal == []


def test_lone_shp(tmp_path: Path, upload: Path) -> None:
    """A bare .shp upload: told to zip it with its sidecars."""
    shapefile_zip(tmp_path, upload)
    path = upload / "thua.shp"
    path.write_bytes((tmp_path / "scratch" / "thua.shp").read_bytes())
    refused("missing_sidecar", lambda: read(path, upload))


@pytest.mark.parametrize("prolog", [BILLION_LAUGHS, EXTERNAL])
def test_kml_entities(upload: Path, prolog: str) -> None:
    """Entity declarations (billion laughs, external entity) are refused before parsing."""
    path = upload / "thua.kml"
    path.write_text(kml_text(prolog=prolog, extra="<Placemark><name>&lol3;</name></Placemark>"
                             if "lol" in prolog else "<Placemark><name>&xxe;</name>"
                             "</Placemark>"))
    refused("xml_entity", lambda: read(path, upload))


def test_kmz_entities(upload: Path) -> None:
    """The same inside a KMZ."""
    path = zip_dir(upload / "thua.kmz", {"doc.kml": kml_text(prolog=EXTERNAL).encode()})
    refused("xml_entity", lambda: read(path, upload))
    only_original(upload, "thua.kmz")


@pytest.fixture
def no_gdal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) every call into GDAL."""
    calls: list[str] = []

    def trap(name: str) -> Callable[..., Any]:
        def fail(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"GDAL was called: {name}{args}")
        return fail

    for name in ("list_layers", "read_info", "read_dataframe"):
        monkeypatch.setattr(pyogrio, name, trap(name))
    return calls


@pytest.fixture
def listener() -> Any:
    """A local TCP server that records whether anyone connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    yield server
    server.close()


def connected(server: socket.socket) -> bool:
    try:
        conn, _ = server.accept()
    except TimeoutError:
        return False
    conn.close()
    return True


@pytest.mark.parametrize("layer", [
    "/vsicurl/http://127.0.0.1:1/x", "/vsizip//etc/x.zip/a", "/etc/passwd", "../x",
    "http://example.org/x", "thua/../../x",
])
def test_path_like_layer_names_refused_before_gdal(upload: Path, no_gdal: list[str],
                                                   layer: str) -> None:
    """Layer names that are paths or URLs are refused before GDAL opens anything."""
    path = upload / "thua.gpkg"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 52 + b"GPKG" + b"\x00" * 100)
    refused("forbidden_path", lambda: read(path, upload, layer=layer))
    assert no_gdal == []


def test_vsicurl_layer_never_reaches_the_network(upload: Path, listener: socket.socket) -> None:
    """With a real GeoPackage and a live local server, a /vsicurl/ layer name connects nowhere."""
    path = upload / "thua.gpkg"
    pyogrio.write_dataframe(parcels_9214(), path, layer="thua")
    port = listener.getsockname()[1]
    refused("forbidden_path", lambda: read(path, upload,
                                           layer=f"/vsicurl/http://127.0.0.1:{port}/x"))
    assert not connected(listener)


@pytest.mark.parametrize("suffix", ["x.geojson", "x.kimlong-network-disabled"])
def test_gdal_sandbox_blocks_vsicurl(listener: socket.socket, suffix: str) -> None:
    """Even called directly, GDAL under the sandbox does not connect to a URL.

    ``x.geojson`` is stopped by CPL_VSIL_CURL_ALLOWED_EXTENSIONS; a name ending in the
    one allowed extension is stopped by the dead proxy: the server sees no connection.
    """
    port = listener.getsockname()[1]
    with gdal_sandbox.sandbox(), pytest.raises(DataSourceError):
        pyogrio.read_info(f"/vsicurl/http://127.0.0.1:{port}/{suffix}")
    assert not connected(listener)
    # and the process's configuration is restored afterwards
    assert pyogrio.get_gdal_config_option("CPL_VSIL_CURL_ALLOWED_EXTENSIONS") is None


def test_paths_outside_the_upload_folder(tmp_path: Path, upload: Path) -> None:
    """The reader opens nothing outside the upload folder: not /etc/passwd, not via a symlink."""
    refused("forbidden_path", lambda: read(Path("/etc/passwd"), upload))
    refused("forbidden_path", lambda: read(Path("/vsicurl/http://127.0.0.1:1/x.geojson"),
                                           upload))
    outside = geojson(tmp_path / "outside.geojson", [wgs(A)])
    refused("forbidden_path", lambda: read(outside, upload))
    link = upload / "link.geojson"
    link.symlink_to(outside)
    refused("forbidden_path", lambda: read(link, upload))
    refused("forbidden_path", lambda: read(upload / ".." / "outside.geojson", upload))


def test_too_many_features(upload: Path) -> None:
    """More features than the settings allow, for a GeoJSON and a GeoPackage."""
    path = geojson(upload / "thua.geojson", [wgs(A), wgs(B)])
    err = refused("too_many_features", lambda: read(path, upload,
                                                    limits=Limits(max_features=1)))
    assert err.extra["max_features"] == 1
    gpkg = upload / "thua.gpkg"
    pyogrio.write_dataframe(parcels_9214(), gpkg)
    refused("too_many_features", lambda: read(gpkg, upload, limits=Limits(max_features=1)))


def test_too_many_vertices(upload: Path) -> None:
    """More vertices than the settings allow."""
    path = geojson(upload / "thua.geojson", [wgs(A), wgs(B)])
    err = refused("too_many_vertices", lambda: read(path, upload,
                                                    limits=Limits(max_vertices=8)))
    assert err.extra["vertices"] == 10


def test_3d_coordinates_flattened(upload: Path) -> None:
    """Heights are dropped with a warning naming the features."""
    a3 = Polygon([(x, y, 12.5) for x, y in wgs(A).exterior.coords])
    path = geojson(upload / "thua.geojson", [a3, wgs(B)])
    result = read(path, upload)
    assert not result.features.geometry.has_z.any()
    assert_drawn(result.features.geometry, [A, B])
    warning = next(w for w in result.warnings if w.code == "flattened_z")
    assert warning.features == (0,)


def test_measured_coordinates_flattened(upload: Path) -> None:
    """A GeoPackage with measures (M) reads as plain 2D parcels (pyogrio drops M on read)."""
    path = upload / "thua.gpkg"
    pyogrio.write_dataframe(parcels_9214().iloc[:1], path, layer="thua", SPATIAL_INDEX="NO")
    wkb = shapely.to_wkb(shapely.from_wkt(
        "POLYGON M ((" + ", ".join(f"{x} {y} 7" for x, y in A.exterior.coords) + "))"),
        flavor="iso")
    with sqlite3.connect(path) as db:
        blob = b"GP\x00\x01" + struct.pack("<i", WARD) + wkb
        db.execute("UPDATE thua SET geom = ?", (blob,))
        db.execute("UPDATE gpkg_geometry_columns SET m = 1")
    result = read(path, upload)
    geom = result.features.geometry.iloc[0]
    assert not shapely.has_m(geom) and not geom.has_z
    assert_drawn([geom], [A])


def test_measures_reported_when_the_reader_sees_them() -> None:
    """Where M values reach the reader (own parsers), they are dropped with a warning."""
    from gis.intake.normalise import _flatten

    warnings: list[Any] = []
    measured = shapely.from_wkt("POLYGON M ((0 0 1, 1 0 2, 1 1 3, 0 0 1))")
    out = _flatten(np.asarray([measured, A], dtype=object), np.asarray([4, 5]), warnings)
    assert not shapely.has_m(out).any()
    assert [(w.code, w.features) for w in warnings] == [("flattened_m", (4,))]


def test_points_and_lines_instead_of_polygons(upload: Path) -> None:
    """A GeoJSON of points and lines: the error names the counts."""
    c = wgs(A).exterior
    path = geojson(upload / "thua.geojson",
                   [wgs(A), shapely.Point(c.coords[0]), shapely.Point(c.coords[1]),
                    shapely.LineString(c.coords)])
    err = refused("not_polygon", lambda: read(path, upload))
    assert err.extra["others"] == {"LineString": 1, "Point": 2}
    assert err.extra["polygons"] == 1
    assert "2 Point" in err.detail


def test_dxf_with_only_open_lines(upload: Path) -> None:
    """A drawing of open polylines has no parcels."""
    import ezdxf

    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline([(559_000, 1_820_000), (559_020, 1_820_000)])
    path = upload / "ban_ve.dxf"
    doc.saveas(path)
    refused("not_polygon", lambda: read(path, upload))


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf"])
def test_non_finite_coordinates(upload: Path, bad: str) -> None:
    """NaN or infinite coordinates (here in a KML, whose numbers are free text) name the
    feature."""
    x, y = wgs(B).exterior.coords[1]
    path = upload / "thua.kml"
    path.write_text(kml_text().replace(f"{x:.9f},{y:.9f},0", f"{bad},{y:.9f},0", 1),
                    encoding="utf-8")
    err = refused("non_finite_coordinates", lambda: read(path, upload))
    assert err.extra["features"] == [1]


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "1e999"])
def test_non_finite_numbers_are_not_json(upload: Path, bad: str) -> None:
    """``NaN`` and ``Infinity`` are JavaScript, not JSON (RFC 8259), and 1e999 overflows a
    double: a GeoJSON carrying them is refused as damaged JSON before any geometry is
    built."""
    coords = [list(p) for p in wgs(A).exterior.coords]
    text = json.dumps({"type": "Feature", "properties": {},
                       "geometry": {"type": "Polygon", "coordinates": [coords]}})
    path = upload / "thua.geojson"
    path.write_text(text.replace(json.dumps(coords[1][0]), bad, 1))
    refused("corrupt_file", lambda: read(path, upload))


def test_upload_larger_than_limit_refused_while_streaming(tmp_path: Path) -> None:
    """copy_limited stops at the cap, leaves no partial file, and never reads it all."""

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, n: int | None = -1) -> bytes:
            data = super().read(n)
            self.read_bytes += len(data)
            return data

    stream = Counting(b"x" * (5 * 1024 * 1024))
    dest = tmp_path / "upload.bin"
    err = refused("file_too_large", lambda: copy_limited(stream, dest, 1024 * 1024))
    assert err.extra["max_bytes"] == 1024 * 1024
    assert not dest.exists()
    assert stream.read_bytes <= 2 * 1024 * 1024
    small = tmp_path / "small.bin"
    assert copy_limited(io.BytesIO(b"abc"), small, 10) == 3
    assert small.read_bytes() == b"abc"


def test_file_over_the_size_limit(upload: Path) -> None:
    """A file already on disk but over the limit is refused before it is parsed."""
    path = geojson(upload / "thua.geojson", [wgs(A)])
    refused("file_too_large", lambda: read(path, upload, limits=Limits(max_file_bytes=10)))


def test_result_is_deterministic(tmp_path: Path, upload: Path) -> None:
    """The same file read twice gives the same table, row for row."""
    path = shapefile_zip(tmp_path, upload)
    one, two = read(path, upload), read(path, upload)
    assert one.features.to_json() == two.features.to_json()
    assert math.isclose(one.features.geometry.area.sum(), 700.0, abs_tol=0.1)


def test_every_refusal_has_a_title_in_words() -> None:
    """Issue 14: each refusal's problem title is written for a surveyor, not the code
    reworded ("Crs wrong zone")."""
    from gis.intake.errors import ERROR_CLASSES, TITLES, WrongZoneError

    assert {cls.code for cls in ERROR_CLASSES} <= set(TITLES)
    for cls in ERROR_CLASSES:
        assert cls.title == TITLES[cls.code], cls
    assert WrongZoneError.title == "Wrong VN-2000 zone (central meridian)"
