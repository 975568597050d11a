"""The land-use code list (config/land_use.toml): every code DOMAIN.md names with both names,
its code sets dated with their sources and their doubt, and the map colours generated from
its map groups."""

from __future__ import annotations

from datetime import date

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
    assert sorted(codes.codes) == sorted(DOMAIN_CODES)
    odt = codes.get("ODT")
    assert odt is not None and odt.name_vi == "Đất ở tại đô thị"
    assert odt.name_en == "Urban residential land" and odt.label == "ODT — Đất ở tại đô thị"
    assert codes.get("odt+cln") == odt, "a mixed use is known by its first code"
    assert codes.get("XYZ") is None


def test_the_code_sets_are_dated_and_cite_their_sources_with_their_doubt() -> None:
    codes = load()
    assert {n: (s.valid_from, s.source.split(" ")[1]) for n, s in codes.sets.items()} == {
        "2014": (date(2014, 7, 5), "25/2014/TT-BTNMT"),
        "2024": (date(2024, 8, 1), "08/2024/TT-BTNMT")}
    assert codes.sets["2024"].uncertain, "the 2024 list was not read: say so"
    assert len(codes.in_force(date(2025, 9, 1))) == len(DOMAIN_CODES)
    assert codes.in_force(date(2010, 1, 1)) == []


def test_colours_are_generated_per_code_kin_within_a_group() -> None:
    codes = load()
    colours = code_colours(codes)
    assert set(colours) == set(DOMAIN_CODES)
    assert len(set(colours.values())) == len(colours), "no two codes share a colour"
    pinkish = [colours["ONT"], colours["ODT"]]
    assert all(r > 240 and b > 200 and g < r for r, g, b in pinkish), pinkish
    assert colours["ONT"] != colours["ODT"]


def test_a_malformed_list_is_refused_with_the_reason() -> None:
    import tomllib

    def fresh() -> dict:
        return tomllib.loads(LAND_USE_FILE.read_text())

    data = fresh()
    data["codes"].append(dict(data["codes"][0]))
    with pytest.raises(LandUseSettingsError, match="LUC: listed twice"):
        parse(data)
    data = fresh()
    data["codes"][0]["map_group"] = "nowhere"
    with pytest.raises(LandUseSettingsError, match="names no map group"):
        parse(data)
    data = fresh()
    data["codes"][0]["sets"] = ["2099"]
    with pytest.raises(LandUseSettingsError, match="sets must name rows"):
        parse(data)
    data = fresh()
    data["map_groups"]["rice"]["colour"] = "yellow"
    with pytest.raises(LandUseSettingsError, match="colour 'yellow'"):
        parse(data)
