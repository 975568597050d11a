"""Survey files built in code: every format and every hostile file the intake must handle.

Shared by the reader tests (tests/gis/test_readers.py) and the intake tests
(tests/parcels, tests/api).  The parcels sit near E 559,000 N 1,820,000 in
EPSG:9214 (lon 107.555, lat 16.455), inside Kim Long ward and the test ward.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import ezdxf
import geopandas as gpd
import pyogrio
import shapely
from shapely.geometry import box, mapping

from gis.crs import WARD, transform

# Kim Long in EPSG:9214, measured from the ward boundary (E 549,820-564,807,
# N 1,805,350-1,822,964), rounded outwards.
FRAME = (549_000.0, 1_805_000.0, 565_500.0, 1_823_500.0)
A = box(559_000, 1_820_000, 559_020, 1_820_015)  # 300 m²
B = box(559_020, 1_820_000, 559_045, 1_820_016)  # 400 m²


DRAWN_TOLERANCE_M = 0.01
"""A geometry read back is the one drawn when no point of either lies farther than 1 cm
from the other (Hausdorff distance in EPSG:9214): an offset, a lost or moved vertex,
swapped axes, a wrong zone or a missing datum shift all show, where equal areas and
nearby centroids do not."""


def assert_drawn(read: Any, drawn: Any, *, crs: int = WARD) -> None:
    """Each geometry of ``read`` (in ``crs``) is the matching one of ``drawn`` (EPSG:9214),
    in the same order, within :data:`DRAWN_TOLERANCE_M`."""
    got = [transform(g, crs, WARD) for g in read]
    assert len(got) == len(drawn), (len(got), len(drawn))
    far = [round(float(shapely.hausdorff_distance(g, d, densify=0.25)), 4)
           for g, d in zip(got, drawn, strict=True)]
    assert max(far) < DRAWN_TOLERANCE_M, f"Hausdorff distances to the drawn parcels: {far} m"


def wgs(geom: Any) -> Any:
    return transform(geom, WARD, 4326)


def swap(geom: Any) -> Any:
    return shapely.transform(geom, lambda xy: xy[:, ::-1].copy())


def parcels_9214(geoms: list[Any] | None = None, **extra: list[Any]) -> gpd.GeoDataFrame:
    """Sheet 5 parcels 12 (ODT, 300 m²) and 13 (CLN, 400 m²) with Vietnamese DBF names."""
    data: dict[str, list[Any]] = {"SHBANDO": [5, 5], "SHTHUA": [12, 13],
                                  "KHLOAIDAT": ["ODT", "cln"], "DIENTICH": [300.0, 400.0]}
    data.update(extra)
    return gpd.GeoDataFrame(data, geometry=geoms or [A, B], crs=f"EPSG:{WARD}")


def geojson(path: Path, geoms: list[Any], props: list[dict[str, Any]] | None = None,
            crs: str | None = None) -> Path:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": mapping(g) if g is not None else None,
         "properties": (props or [{}] * len(geoms))[i]}
        for i, g in enumerate(geoms)]}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(doc))
    return path


def zip_dir(zip_path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return zip_path


def shapefile_parts(scratch: Path, gdf: gpd.GeoDataFrame | None = None, *,
                    drop: tuple[str, ...] = (), prj: str | None = None) -> dict[str, bytes]:
    """The files of a Shapefile (name -> bytes), minus the suffixes in ``drop``."""
    scratch.mkdir(parents=True, exist_ok=True)
    pyogrio.write_dataframe(parcels_9214() if gdf is None else gdf, scratch / "thua.shp")
    if prj is not None:
        (scratch / "thua.prj").write_text(prj)
    return {p.name: p.read_bytes() for p in sorted(scratch.iterdir())
            if p.name.startswith("thua.") and p.suffix not in drop}


KML_PLACEMARK = """<Placemark><name>Thửa {n}</name><ExtendedData>
<Data name="so_thua"><value>{n}</value></Data><Data name="to_ban_do"><value>5</value></Data>
<Data name="loai_dat"><value>{lu}</value></Data><Data name="dien_tich"><value>{area}</value></Data>
</ExtendedData><Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}</coordinates>
</LinearRing></outerBoundaryIs></Polygon></Placemark>"""


def kml_text(extra: str = "", prolog: str = "", geoms: tuple[Any, Any] = (A, B)) -> str:
    marks = []
    for n, lu, area, geom in ((12, "ODT", 300, geoms[0]), (13, "CLN", 400, geoms[1])):
        coords = " ".join(f"{x:.9f},{y:.9f},0" for x, y in wgs(geom).exterior.coords)
        marks.append(KML_PLACEMARK.format(n=n, lu=lu, area=area, coords=coords))
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<kml xmlns="http://www.opengis.net/'
            f'kml/2.2"><Document><name>Khảo sát</name><Folder><name>Thửa đất</name>'
            f'{"".join(marks)}{extra}</Folder></Document></kml>')


def dxf_file(path: Path, *, hatch_layer: str = "THUA", extra_open_line: bool = True,
             geoms: tuple[Any, Any] = (A, B)) -> Path:
    """A CAD drawing: a closed polyline and a hatch (the parcels), a label and an open line."""
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    msp.add_lwpolyline(list(geoms[0].exterior.coords)[:-1], close=True,
                       dxfattribs={"layer": "THUA"})
    hatch = msp.add_hatch(dxfattribs={"layer": hatch_layer})
    hatch.paths.add_polyline_path(list(geoms[1].exterior.coords)[:-1], is_closed=True)
    x, y = geoms[0].centroid.coords[0]
    msp.add_text("12", dxfattribs={"layer": "SO_THUA"}).set_placement((x, y))
    if extra_open_line:
        x0, y0, x1, _ = geoms[0].bounds
        msp.add_lwpolyline([(x0, y0 - 10), (x1 + 30, y0 - 10)], dxfattribs={"layer": "DUONG"})
    doc.saveas(path)
    return path


CSV_VN = """BẢNG TỌA ĐỘ GÓC THỬA;;;;
Tờ;Số thửa;Số hiệu điểm;X (m);Y (m);Loại đất;Diện tích
5;12;1;1820000,000;559000,000;ODT;300,0
;;2;1820000,000;559020,000;;
;;3;1820015,000;559020,000;;
;;4;1820015,000;559000,000;;
;;1;1820000,000;559000,000;;
5;13;5;1820000,000;559020,000;CLN;400
;;6;1820000,000;559045,000;;
;;7;1820016,000;559045,000;;
;;8;1820016,000;559020,000;;
"""

BILLION_LAUGHS = """<!DOCTYPE kml [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>"""
EXTERNAL = '<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
