"""Map a survey file's attribute names onto ours.

Surveyors' tools name the same thing many ways: ``SoThua``, ``so_thua``,
``Số thửa``, ``SHTHUA``, ``parcel``.  Names are compared after removing
Vietnamese diacritics, case and punctuation, against alias lists in order of
preference; a mapping the uploader gives always wins.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Final

from gis.intake.errors import MappingError

OUR_FIELDS: Final = ("sheet_no", "parcel_no", "land_use", "area", "former_unit")
"""Keys of an uploader's mapping: ``{"parcel_no": "SoThuaMoi", ...}``."""

ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "sheet_no": (
        "sheet_no", "to_ban_do", "so_to_ban_do", "so_to", "soto", "sotobando", "to_bd",
        "tobando", "so_hieu_to",
        "sohieuto", "shbando", "sh_bando", "sh_to", "to_so", "sheet", "sheetno",
        "map_sheet", "mapsheet", "to",
    ),
    "parcel_no": (
        "parcel_no", "so_thua", "sothua", "so_hieu_thua", "sohieuthua", "thua_so", "shthua",
        "sh_thua", "thua", "parcel", "parcelno", "parcel_number", "parcel_id",
    ),
    "land_use": (
        "land_use", "loai_dat", "loaidat", "ma_loai_dat", "maloaidat", "khloaidat",
        "kh_loai_dat", "ky_hieu_loai_dat", "mdsd", "muc_dich_su_dung", "mucdichsudung",
        "muc_dich", "landuse", "land_use_code",
    ),
    "area": (
        "declared_area", "dien_tich", "dientich", "dien_tich_m2", "dt_m2", "dien_tich_phap_ly",
        "dtpl", "dt", "area", "area_m2",
    ),
    "former_unit": (
        "former_unit", "don_vi_cu", "donvicu", "don_vi_hanh_chinh_cu", "dvhc_cu", "dvhccu",
        "xa_phuong_cu", "phuong_xa_cu", "phuong_cu", "xa_cu", "phuongcu", "xacu",
    ),
}


def normalise_name(name: str) -> str:
    """``"Số thửa"`` -> ``"so_thua"``; ``"MĐSD"`` -> ``"mdsd"``."""
    text = unicodedata.normalize("NFD", str(name).replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


_UNIT_WORDS = re.compile(r"^(?:(?:phuong|xa|thi_tran|p|x|tt)_)+|_cu$")


def unit_key(name: str) -> str:
    """A former unit's name as surveyors write it, reduced to compare with ours:
    ``"Phường Kim Long cũ"``, ``"P. Kim Long"``, ``"kim_long"`` → ``"kim_long"``."""
    return _UNIT_WORDS.sub("", normalise_name(name))


def resolve_mapping(columns: Iterable[str],
                    explicit: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our field -> the file's column, for the fields that were found.

    Raises ``MappingError`` (``bad_mapping``) when the uploader's mapping
    names a field we do not have or a column the file does not have.
    """
    cols = [str(c) for c in columns]
    chosen: dict[str, str] = {}
    for ours, theirs in (explicit or {}).items():
        key: str = "area" if ours == "declared_area" else ours
        if key not in OUR_FIELDS:
            raise MappingError(
                f"The mapping names {ours!r}, which is not one of ours: "
                f"{', '.join(OUR_FIELDS)}.",
                vi="Bảng ánh xạ có trường không hợp lệ.", field=str(ours)[:80],
                fields=list(OUR_FIELDS),
            )
        if theirs not in cols:
            raise MappingError(
                f"The mapping asks for column {str(theirs)[:80]!r}, which the file does not "
                f"have; its columns are: {', '.join(cols)[:400]}.",
                vi="Tệp không có cột được chỉ định trong bảng ánh xạ.",
                column=str(theirs)[:80], columns=cols[:100],
            )
        chosen[key] = theirs
    by_norm: dict[str, str] = {}
    for col in cols:
        by_norm.setdefault(normalise_name(col), col)
    used = set(chosen.values())
    for ours in OUR_FIELDS:
        if ours in chosen:
            continue
        for alias in ALIASES[ours]:
            found = by_norm.get(alias)
            if found is not None and found not in used:
                chosen[ours] = found
                used.add(found)
                break
    return chosen


def as_text(value: Any) -> str | None:
    """A sheet or parcel number as text: ``12.0`` -> ``"12"``, blanks -> None."""
    value = jsonable(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def parse_decimal(text: str) -> float:
    """A number as Vietnamese tables write it: ``1.820.005,35``, ``559067,2`` or ``559067.2``.

    Raises ValueError when it is not a number.
    """
    s = str(text).strip().replace("\u00a0", "").replace(" ", "").replace("\u202f", "")
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        s = s.replace(",", ".") if s.count(",") == 1 else s.replace(",", "")
    elif s.count(".") > 1:
        s = s.replace(".", "")
    return float(s)


def as_area(value: Any) -> float | None:
    """A declared area in m², or None when blank; ValueError when not a number."""
    value = jsonable(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("not an area")
    if isinstance(value, int | float):
        return float(value)
    result = parse_decimal(str(value))
    if not math.isfinite(result):
        raise ValueError("not an area")
    return result


def jsonable(value: Any) -> Any:
    """A plain JSON value for an attribute: numpy scalars unwrapped, NaN -> None, dates ISO."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if str(value) in ("NaT", "nan", "<NA>"):  # pandas/numpy missing values
        return None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy scalar or array
        try:
            return jsonable(tolist())
        except (TypeError, ValueError):
            pass
    iso = getattr(value, "isoformat", None)
    if callable(iso):  # pandas Timestamp
        try:
            return str(iso())
        except (TypeError, ValueError):
            return None
    return str(value)
