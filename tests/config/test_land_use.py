"""The land-use code list (config/land_use.toml) and the map colours generated from it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from config.land_use import LAND_USE_FILE, LandUseSettingsError, load, parse
from maps.land_use_styles import code_colours

DOMAIN_CODES = [
    "LUC", "LUK", "LUN", "HNK", "BHK", "NHK", "CLN", "RSX", "RPH", "RDD", "NTS", "LMU", "NKH",
    "ONT", "ODT", "TSC", "CQP", "CAN", "DTS", "DVH", "DYT", "DGD", "DTT", "DKH", "DXH", "DNG",
    "DSK", "SKK", "SKN", "SKT", "TMD", "SKC", "SKS", "SKX", "DGT", "DTL", "DDT", "DDL", "DSH",
    "DKV", "DNL", "DBV", "DCH", "DRA", "DCK", "TON", "TIN", "NTD", "SON", "MNC", "PNK", "BCS",
    "DCS", "NCS",
]
"""The codes DOMAIN.md lists (Circular 25/2014 Art. 8; Circular 08/2024)."""


def test_the_list_holds_every_code_domain_md_names_with_both_names() -> None:
    codes = load()
    assert [c.code for c in codes.codes] == DOMAIN_CODES
    odt = codes.get("ODT")
    assert odt is not None and odt.name_vi == "Đất ở tại đô thị"
    assert odt.name_en == "Urban residential land" and odt.label == "ODT — Đất ở tại đô thị"
    assert codes.get("odt+cln") == odt, "a mixed use is known by its first code"
    assert codes.get("XYZ") is None


def test_every_code_is_dated_and_cites_its_sources_with_their_doubt() -> None:
    for c in load().codes:
        assert c.valid_from == date(2014, 7, 5) and c.valid_to is None, c.code
        assert {s.citation.split(" (")[0] for s in c.sources} == {
            "Circular 25/2014/TT-BTNMT", "Circular 08/2024/TT-BTNMT"}
        assert c.uncertain, "the dates are not confirmed against the gazette: say so"
        assert c.in_force(date(2025, 9, 1)) and not c.in_force(date(2010, 1, 1))


def test_colours_are_generated_per_code_kin_within_a_group() -> None:
    codes = load()
    colours = code_colours(codes)
    assert set(colours) == set(DOMAIN_CODES)
    assert len(set(colours.values())) == len(colours), "no two codes share a colour"
    pinkish = [colours["ONT"], colours["ODT"]]
    assert all(r > 240 and b > 200 and g < r for r, g, b in pinkish), pinkish
    assert colours["ONT"] != colours["ODT"]


def test_a_malformed_list_is_refused_with_the_reason(tmp_path: Path) -> None:
    import tomllib

    data = tomllib.loads(LAND_USE_FILE.read_text())
    data["land_use"]["codes"].append(dict(data["land_use"]["codes"][0]))
    with pytest.raises(LandUseSettingsError, match="'LUC' malformed or repeated"):
        parse(data)
    data = tomllib.loads(LAND_USE_FILE.read_text())
    data["land_use"]["codes"][0]["group"] = "nowhere"
    with pytest.raises(LandUseSettingsError, match="names no group"):
        parse(data)
    data = tomllib.loads(LAND_USE_FILE.read_text())
    data["land_use"]["codes"][0]["sources"] = ["tt99_2099"]
    with pytest.raises(LandUseSettingsError, match="tt99_2099"):
        parse(data)
    data = tomllib.loads(LAND_USE_FILE.read_text())
    data["land_use"]["codes"][0]["valid_to"] = date(2000, 1, 1)
    with pytest.raises(LandUseSettingsError, match="needs a source and a period"):
        parse(data)
