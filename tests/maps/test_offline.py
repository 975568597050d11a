"""Offline by construction: the vendored assets are the registry's files, with licences, and
no map can be rendered with a script or style we do not ship."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import folium
import pytest
from folium.plugins import Fullscreen

from maps import offline, vendor


def test_vendored_assets_match_the_registry_hashes_and_carry_licences() -> None:
    assert vendor.verify() == []
    names = {p.name: p for p in vendor.packages()}
    assert set(names) == {"leaflet", "leaflet.markercluster", "leaflet-measure",
                          "leaflet.vectorgrid"}
    for p in names.values():
        assert p.integrity.startswith("sha512-") and p.licence
        assert (p.folder / p.licence_file).read_text(encoding="utf-8").strip()
    readme = (vendor.ASSETS / "README.md").read_text(encoding="utf-8")
    for p in names.values():
        assert f"{p.name}@{p.version}" in readme and p.licence in readme


def test_an_altered_asset_is_reported(tmp_path: Path, monkeypatch) -> None:
    """verify() reads the files: one changed byte in a copy of the tree is found."""
    copy = tmp_path / "assets"
    shutil.copytree(vendor.ASSETS, copy)
    manifest = copy / "vendor.json"
    data = json.loads(manifest.read_text())
    path = copy / "vendor/leaflet/1.9.4/dist/leaflet.js"
    path.write_bytes(path.read_bytes().replace(b"Leaflet", b"Leafle7", 1))
    monkeypatch.setattr(vendor, "VENDOR", copy / "vendor")
    problems = vendor.verify(manifest)
    assert problems == ["leaflet@1.9.4: dist/leaflet.js differs from the registry's file"]
    assert data["packages"]["leaflet"]["licence"] == "BSD-2-Clause"


def test_a_plugin_we_do_not_ship_cannot_reach_a_cdn() -> None:
    m = folium.Map(tiles=None)
    Fullscreen().add_to(m)
    with pytest.raises(offline.UnknownAsset, match="vendor it"):
        offline.render(m, title="x")


def test_self_contained_page_inlines_scripts_styles_and_their_images() -> None:
    m = folium.Map(tiles=None)
    html = offline.render(m, title="Bản đồ", self_contained=True)
    assert "<script src=" not in html and "<link rel=\"stylesheet\"" not in html
    assert "url(data:image/png;base64," in html  # leaflet.css's layer icons
    assert offline.external_urls(html) == []
    assert "bootstrap" not in html.lower() and "jquery" not in html.lower()
    assert '<html lang="vi">' in html and "<title>Bản đồ</title>" in html


@pytest.mark.parametrize("name", ["../vendor.py", "vendor/../../offline.py", "nothing.js"])
def test_asset_paths_stay_inside_the_folder(name: str) -> None:
    with pytest.raises(FileNotFoundError):
        offline.asset_path(name)
