"""How an officer writes things in a sentence: a parcel, a point, a zone, a land use.

One function per thing, in Vietnamese and English, so that every message says it the same
way (DOMAIN.md, "How officers write a parcel"):

- a parcel: "thửa đất số 12, tờ bản đồ số 5 (Kim Long cũ)" / "parcel 12, map sheet 5
  (former Kim Long)": sheets were numbered per former unit, so the unit is named;
- a point: X (northing) first, then Y (easting), as Vietnamese survey documents label them;
- a zone kind: its name, never its code.

Pure: no database, no settings; codes never appear inside a sentence.
"""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["vi", "en"]

FORMER_UNITS: Final = {"kim_long": "Kim Long", "huong_long": "Hương Long",
                       "huong_ho": "Hương Hồ", "huong_tho": "Hương Thọ"}
"""The four former units merged into Kim Long ward (Resolutions 1314 and 1675/NQ-UBTVQH15)."""

ZONE_KINDS: Final = {
    "river_corridor": ("hành lang bảo vệ sông", "river protection corridor"),
    "heritage_1": ("khu vực bảo vệ I của di tích", "heritage protection zone I"),
    "heritage_2": ("khu vực bảo vệ II của di tích", "heritage protection zone II"),
    "road_redline": ("phạm vi chỉ giới đường đỏ", "land between the planned red lines"),
    "planning": ("khu quy hoạch", "planning zone"),
}


def former_unit(code: str | None, lang: Lang = "vi") -> str:
    """A former unit's name ("Kim Long cũ" / "former Kim Long"); an unknown code as given."""
    if not code:
        return ""
    name = FORMER_UNITS.get(code, code)
    return f"{name} cũ" if lang == "vi" else f"former {name}"


def parcel(former_unit_code: str | None, sheet_no: int | None, parcel_no: int | None,
           lang: Lang = "vi") -> str:
    """A parcel as an officer writes it."""
    unit = former_unit(former_unit_code, lang)
    if lang == "vi":
        out = f"thửa đất số {parcel_no}, tờ bản đồ số {sheet_no}"
    else:
        out = f"parcel {parcel_no}, map sheet {sheet_no}"
    return f"{out} ({unit})" if unit else out


def point(easting: float, northing: float, lang: Lang = "vi") -> str:
    """A point in VN-2000: X (northing) then Y (easting), in metres."""
    if lang == "vi":
        return f"X = {northing:.2f} m, Y = {easting:.2f} m"
    return f"X = {northing:.2f} m (northing), Y = {easting:.2f} m (easting)"


def zone_kind(kind: str, lang: Lang = "vi") -> str:
    """A zone kind's name; an unknown kind in words rather than as a code."""
    names = ZONE_KINDS.get(kind)
    if names is None:
        return kind.replace("_", " ")
    return names[0] if lang == "vi" else names[1]
