"""The ward overview's tiles: parcels as vector tiles cached per registry version, imagery
and hillshade as PNG, and the parcel popup with its elevation statistics.

Tiles are decoded the way a client would (mapbox-vector-tile, rasterio for PNG).  The
demo ward is the small one; its tile numbers come from its own parcels' positions.
"""

from __future__ import annotations

import io
import math
from typing import Any

import mapbox_vector_tile
import numpy as np
import pytest
import rasterio
from sqlalchemy import text

from gis import raster
from gis.crs import to_wgs84
from maps import tiles
from parcels import queries, registry
from parcels.registry import Amendment
from tests.certificates.conftest import Demo
from tests.conftest import WARD, counts
from tests.maps.conftest import OFFICER


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _parcel(demo: Demo, land_use: str = "ODT") -> queries.ParcelRecord:
    pid = demo.session.execute(text(
        "SELECT parcel_id FROM parcel_version WHERE ward_code = :w AND valid_to IS NULL "
        "AND land_use = :u AND status = 'registered' ORDER BY measured_area DESC, parcel_id "
        "LIMIT 1"), {"w": WARD, "u": land_use}).scalar_one()
    return queries.get_parcel(demo.session, ward_code=WARD, parcel_id=pid)


def _decode(body: bytes) -> list[dict[str, Any]]:
    layers = mapbox_vector_tile.decode(body)
    return [f["properties"] for f in layers.get("parcels", {}).get("features", [])]


def _get(client: Any, url: str, auth: Any, role: str = "official") -> Any:
    return client.get(url, headers=auth(role))


def test_parcel_tile_holds_the_parcel_with_its_land_use(demo_client, auth, demo: Demo) -> None:
    rec = _parcel(demo)
    pt = to_wgs84(rec.geometry.representative_point())
    x, y = tile_of(pt.x, pt.y, 17)
    r = _get(demo_client, f"/maps/tiles/parcels/17/{x}/{y}.mvt", auth)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    found = {p["id"]: p for p in _decode(r.content)}
    assert found[rec.parcel_id]["land_use"] == "ODT"
    assert found[rec.parcel_id]["parcel_no"] == rec.parcel_no
    assert found[rec.parcel_id]["area_m2"] == pytest.approx(rec.measured_area, abs=0.06)


def test_low_zoom_tiles_leave_out_parcels_under_three_pixels(demo_client, auth,
                                                           demo: Demo) -> None:
    rec = _parcel(demo)
    pt = to_wgs84(rec.geometry.representative_point())
    x, y = tile_of(pt.x, pt.y, 13)
    props = _decode(_get(demo_client, f"/maps/tiles/parcels/13/{x}/{y}.mvt", auth).content)
    floor = tiles.min_area_m2(13)
    assert 3000 < floor < 3030  # three 18.3 m pixels square
    assert props and min(p["area_m2"] for p in props) >= floor
    small = demo.session.execute(text(
        "SELECT count(*) FROM parcel_version WHERE ward_code = :w AND valid_to IS NULL "
        "AND measured_area < :a"), {"w": WARD, "a": floor}).scalar_one()
    assert small > 0  # there were small parcels to leave out


def test_tiles_are_cached_per_registry_version(demo_app, demo_client, auth,
                                               demo: Demo) -> None:
    """A second request is served from memory; an amended parcel makes a new version, and
    the next tile shows the change at once."""
    rec = _parcel(demo, "CLN")
    pt = to_wgs84(rec.geometry.representative_point())
    x, y = tile_of(pt.x, pt.y, 18)
    url = f"/maps/tiles/parcels/18/{x}/{y}.mvt"
    first = _get(demo_client, url, auth)
    cache = demo_app.state.map_tile_cache
    hits = cache.hits
    again = _get(demo_client, url, auth)
    assert again.content == first.content and cache.hits == hits + 1
    assert again.headers["x-registry-version"] == first.headers["x-registry-version"]
    registry.amend_parcel(demo.session, actor=OFFICER, parcel_id=rec.parcel_id,
                          amendment=Amendment(land_use="ONT"), reason="test: re-classified")
    demo.session.flush()
    after = _get(demo_client, url, auth)
    assert int(after.headers["x-registry-version"]) > int(first.headers["x-registry-version"])
    assert {p["id"]: p["land_use"] for p in _decode(after.content)}[rec.parcel_id] == "ONT"


@pytest.mark.parametrize(("url", "status", "problem"), [
    ("/maps/tiles/parcels/17/999999/1.mvt", 404, "tile_not_found"),
    ("/maps/tiles/parcels/11/1600/900.mvt", 404, "tile_not_found"),
    ("/maps/tiles/parcels/40/1/1.mvt", 422, "validation_error"),
    ("/maps/tiles/osm/15/1/1.png", 422, "validation_error"),
    ("/maps/tiles/imagery/3/9/1.png", 404, "tile_not_found"),
    ("/maps/parcels/99999999", 404, "parcel_not_found"),
])
def test_bad_tile_requests_are_problems_and_write_nothing(demo_client, auth, demo: Demo,
                                                          url: str, status: int,
                                                          problem: str) -> None:
    before = counts(demo.session)
    r = _get(demo_client, url, auth)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == f"/problems/{problem}"
    assert counts(demo.session) == before


def _png(body: bytes) -> np.ndarray:
    with rasterio.MemoryFile(body) as mem, mem.open() as src:
        return src.read()


def test_raster_tiles_over_and_off_the_ward(demo_client, auth, demo: Demo) -> None:
    rec = _parcel(demo)
    pt = to_wgs84(rec.geometry.representative_point())
    x, y = tile_of(pt.x, pt.y, 17)
    for layer in ("imagery", "hillshade"):
        r = _get(demo_client, f"/maps/tiles/{layer}/17/{x}/{y}.png", auth)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        img = _png(r.content)
        assert img.shape == (4, 256, 256) and img[3].mean() > 128, layer
        colours = np.unique(img[:3].reshape(3, -1), axis=1).shape[1]
        assert colours > (20 if layer == "imagery" else 5), layer
    assert (img[0] == img[1]).all() and (img[1] == img[2]).all()  # the hillshade is grey
    off = _png(_get(demo_client, "/maps/tiles/imagery/17/1000/1000.png", auth).content)
    assert off.shape[1:] == (1, 1) and off[3].max() == 0  # transparent: nothing there


def test_parcel_popup_gives_the_elevation_statistics(demo_client, auth, demo: Demo,
                                                     map_settings) -> None:
    rec = _parcel(demo)
    r = _get(demo_client, f"/maps/parcels/{rec.parcel_id}", auth)
    assert r.status_code == 200
    body = r.json()
    expected = raster.elevation_stats(map_settings.maps.elevation, [rec.geometry], crs=9214,
                                      flood_level_m=map_settings.maps.flood().level_m)[0]
    assert expected is not None
    assert body["elevation"] == expected.as_dict()
    assert f"{expected.mean_m:.2f} m" in body["popup"]
    assert "Thấp hơn mức lũ 3.5 m" in body["popup"] and "uncertain" in body["popup"]
    assert _get(demo_client, f"/maps/parcels/{rec.parcel_id}", auth,
                "surveyor").status_code == 403


def test_ward_page_names_the_registry_version_in_its_tile_url(demo_client, auth,
                                                              demo: Demo) -> None:
    html = _get(demo_client, "/maps/ward", auth).text
    version = demo.session.execute(text(
        "SELECT max(id) FROM parcel_version WHERE ward_code = :w"), {"w": WARD}).scalar_one()
    assert f"/maps/tiles/parcels/{{z}}/{{x}}/{{y}}.mvt?v={version}" in html
    assert "http://" not in html and "https://" not in html
    assert io.BytesIO(html.encode()).getbuffer().nbytes < 1_000_000
