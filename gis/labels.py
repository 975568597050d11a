"""How a finding names things: a parcel, a point, a length, an area difference.

Land officers write a parcel as "thửa đất số 12, tờ bản đồ số 5" with the former unit where
sheets were numbered per unit ("(Kim Long cũ)"), and a point as X (northing), Y (easting)
(DOMAIN.md).  A message never shows a code (``kim_long``, ``heritage_2``): the callers pass
names.  Pure functions and a ``str`` subclass, so that every ``labels`` sequence of the
engine can carry the English form beside the Vietnamese one without a second argument.

Applications name parcels by their former unit's code (:func:`parcel`, :func:`former_unit`)
through the same functions; the four units' names are the ward's (Resolutions 1314 and
1675/NQ-UBTVQH15), as the registry's ``former_unit`` table holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal, Self

Lang = Literal["vi", "en"]

FORMER_UNITS: Final = {"kim_long": "Kim Long", "huong_long": "Hương Long",
                       "huong_ho": "Hương Hồ", "huong_tho": "Hương Thọ"}
"""The four former units merged into Kim Long ward (Resolutions 1314 and 1675/NQ-UBTVQH15)."""


def parcel_vi(parcel_no: Any, sheet_no: Any = None, unit_name: str | None = None) -> str:
    """``thửa đất số 12, tờ bản đồ số 5 (Kim Long cũ)``."""
    out = f"thửa đất số {parcel_no}"
    if sheet_no is not None:
        out += f", tờ bản đồ số {sheet_no}"
    return out + (f" ({unit_name} cũ)" if unit_name else "")


def parcel_en(parcel_no: Any, sheet_no: Any = None, unit_name: str | None = None) -> str:
    """``parcel 12, map sheet 5 (former Kim Long)``."""
    out = f"parcel {parcel_no}"
    if sheet_no is not None:
        out += f", map sheet {sheet_no}"
    return out + (f" (former {unit_name})" if unit_name else "")


def former_unit(code: str | None, lang: Lang = "vi") -> str:
    """A former unit's name ("Kim Long cũ" / "former Kim Long"); an unknown code as given."""
    if not code:
        return ""
    name = FORMER_UNITS.get(code, code)
    return f"{name} cũ" if lang == "vi" else f"former {name}"


def parcel(former_unit_code: str | None, sheet_no: int | None, parcel_no: int | None,
           lang: Lang = "vi") -> str:
    """A parcel as an officer writes it, its former unit named from its code."""
    unit = FORMER_UNITS.get(former_unit_code, former_unit_code) if former_unit_code else None
    return (parcel_vi if lang == "vi" else parcel_en)(parcel_no, sheet_no, unit)


class Label(str):
    """A name in Vietnamese (the string itself) that also knows its English form."""

    en: str

    def __new__(cls, vi: str, en: str | None = None) -> Self:
        obj = super().__new__(cls, vi)
        obj.en = vi if en is None else en
        return obj


class ParcelLabel(Label):
    """A parcel's name, with its parts kept so that neighbours on one sheet are joined as
    "thửa đất số 12 và 13, tờ bản đồ số 5 (Kim Long cũ)"."""

    parcel_no: Any
    sheet_no: Any
    unit_name: str | None

    def __new__(cls, parcel_no: Any, sheet_no: Any = None,
                unit_name: str | None = None) -> Self:
        obj = super().__new__(cls, parcel_vi(parcel_no, sheet_no, unit_name),
                              parcel_en(parcel_no, sheet_no, unit_name))
        obj.parcel_no, obj.sheet_no, obj.unit_name = parcel_no, sheet_no, unit_name
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (ParcelLabel, (self.parcel_no, self.sheet_no, self.unit_name))


def sentence(text: str) -> str:
    """A sentence starts with a capital: "Thửa đất số 12 …", "Parcel 12 …"."""
    return text[:1].upper() + text[1:]


def english(label: str) -> str:
    """The English form of a label (a plain string is its own)."""
    return getattr(label, "en", label)


def join_vi(labels: Sequence[str]) -> str:
    """Several names in one Vietnamese phrase; parcels of one sheet share it."""
    return _join(labels, vi=True)


def join_en(labels: Sequence[str]) -> str:
    """Several names in one English phrase; parcels of one sheet share it."""
    return _join(labels, vi=False)


def _join(labels: Sequence[str], *, vi: bool) -> str:
    word = " và " if vi else " and "
    if len(labels) > 1 and all(isinstance(x, ParcelLabel) for x in labels):
        parcels = [x for x in labels if isinstance(x, ParcelLabel)]
        sheet = {(p.sheet_no, p.unit_name) for p in parcels}
        if len(sheet) == 1:
            (sheet_no, unit), = sheet
            numbers = word.join(str(p.parcel_no) for p in parcels)
            if vi:
                return parcel_vi(numbers, sheet_no, unit)
            return parcel_en(numbers, sheet_no, unit).replace("parcel ", "parcels ", 1)
    return word.join(str(x) if vi else english(x) for x in labels)


# ------------------------------------------------------------------ numbers and points


def point_vi(easting: float, northing: float) -> str:
    """``X = 1820005.354 m, Y = 559067.211 m``: X the northing, Y the easting, as Vietnamese
    survey documents write a point (the engine's x is the easting)."""
    return f"X = {northing:.3f} m, Y = {easting:.3f} m"


def point_en(easting: float, northing: float) -> str:
    """``X (northing) 1820005.354 m, Y (easting) 559067.211 m``."""
    return f"X (northing) {northing:.3f} m, Y (easting) {easting:.3f} m"


def point(easting: float, northing: float, lang: Lang = "vi") -> str:
    """A point in VN-2000 in the page's language (:func:`point_vi`, :func:`point_en`)."""
    return point_vi(easting, northing) if lang == "vi" else point_en(easting, northing)


def metres(value: float, limit: float | None = None) -> str:
    """A length in metres to the millimetre, or finer when the millimetre would make it
    read as equal to ``limit`` (never "0.050 m, shorter than 0.05 m")."""
    for digits in (3, 4, 5, 6):
        text = f"{value:.{digits}f}"
        if limit is None or float(text) != limit or value == limit:
            return f"{text} m"
    return f"{value:.6f} m"


def area_m2(value: float) -> str:
    """An area to the hundredth of a square metre; a non-zero one never reads as zero."""
    if 0 < abs(value) < 0.005:
        return f"{value:.4f} m²" if abs(value) >= 0.00005 else "< 0.0001 m²"
    return f"{value:.2f} m²"


def difference_vi(difference: float, digits: int = 1) -> str:
    """``lớn hơn 137.9 m²`` / ``nhỏ hơn 2.3 m²`` / ``bằng nhau``: a signed area difference
    read with its sign word (the first area compared to the second)."""
    size = round(abs(difference), digits)
    if size == 0:
        return "bằng nhau"
    return f"{'lớn' if difference > 0 else 'nhỏ'} hơn {size:.{digits}f} m²"


def difference_en(difference: float, digits: int = 1) -> str:
    """``137.9 m² larger`` / ``2.3 m² smaller`` / ``the same``."""
    size = round(abs(difference), digits)
    if size == 0:
        return "the same"
    return f"{size:.{digits}f} m² {'larger' if difference > 0 else 'smaller'}"


ZONE_KINDS = {
    "river_corridor": ("hành lang bảo vệ sông", "the river protection corridor"),
    "heritage_1": ("khu vực bảo vệ I của di tích", "heritage protection zone I"),
    "heritage_2": ("khu vực bảo vệ II của di tích", "heritage protection zone II"),
    "road_redline": ("chỉ giới đường đỏ", "the planned road red line"),
    "planning": ("vùng quy hoạch", "the planning zone"),
}
"""How a sentence names a kind of zone (the codes are the registry's)."""


def zone_kind(kind: str, lang: Lang | None = None) -> Label:
    """A zone kind as words: ``heritage_2`` → "khu vực bảo vệ II của di tích" (with its
    English form), or in one language; an unknown kind in words, never as a code."""
    plain = kind.replace("_", " ")
    vi, en = ZONE_KINDS.get(kind, (plain, plain))
    return Label(en, en) if lang == "en" else Label(vi, en)
