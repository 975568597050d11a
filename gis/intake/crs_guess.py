"""Recognise the usual CRS mistakes by where the data would land.

A parcel of Kim Long read in the wrong CRS does not land a little off: it
lands tens or thousands of kilometres away, or nowhere.  So when no feature
falls inside the ward's frame, the raw coordinates are tried under the
mistakes surveyors actually make, and the first reading that puts them in
the ward is named with the fix:

* axes swapped: northing given as easting (X/Y in the Vietnamese sense read
  as x/y), or latitude and longitude swapped;
* another VN-2000 TM-3 zone (a different central meridian: EPSG:9205–9218,
  5896–5899) or UTM 48N/49N (VN-2000 3405/3406, WGS 84 32648/32649);
* degrees labelled as a metric CRS, or metres labelled as degrees.

The frame is a parameter (the ward polygon or its bounding box, EPSG:9214),
never read from a file here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import numpy as np
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from gis.crs import WARD, CRSError, crs, transformer
from gis.intake.errors import (
    AxesSwappedError,
    CRSMistakeError,
    DegreesAsMetresError,
    MetresAsDegreesError,
    OutsideWardError,
    WrongZoneError,
)

Frame: TypeAlias = BaseGeometry | tuple[float, float, float, float]
"""The ward polygon, or (min E, min N, max E, max N), in EPSG:9214."""

GEOGRAPHIC: Final = (4326, 4756)
PROJECTED: Final = (
    WARD, 3405, 32648, 3406, 32649, 9215, 9216, 5899, 9213, 9212, 9211, 9217, 9218,
    9210, 9209, 9208, 9207, 9206, 9205, 5896, 5897, 5898,
)
"""VN-2000 TM-3 zones and UTM zones that cover Vietnam, most likely first."""
SAMPLE: Final = 256
MATCH_SHARE: Final = 0.9


@dataclass(frozen=True)
class Reading:
    """One way of reading the raw coordinates: a CRS, and whether x and y are swapped."""

    epsg: int
    swap: bool = False


@dataclass
class Placement:
    """Where the features land in the frame under one reading."""

    inside: np.ndarray
    """Per feature: its representative point lies in the (buffered) frame."""
    alternatives: list[int] = field(default_factory=list)


def frame_geometry(frame: Frame, margin: float) -> BaseGeometry:
    """The frame as a prepared geometry, grown by ``margin`` metres."""
    geom = box(*frame) if isinstance(frame, tuple) else frame
    if margin > 0:
        geom = geom.buffer(margin)
    shapely.prepare(geom)
    return geom


def anchor_points(geoms: np.ndarray) -> np.ndarray:
    """One point per geometry (N x 2, raw coordinates) that lies on the feature."""
    pts = shapely.point_on_surface(geoms)
    return shapely.get_coordinates(pts)


def lands(xy: np.ndarray, reading: Reading, frame: BaseGeometry) -> np.ndarray:
    """Per point: inside the frame when read as ``reading``; never raises."""
    if len(xy) == 0:
        return np.zeros(0, dtype=bool)
    x, y = (xy[:, 1], xy[:, 0]) if reading.swap else (xy[:, 0], xy[:, 1])
    if crs(reading.epsg).is_geographic and (np.abs(y) > 90).any():
        ok = np.abs(y) <= 90
    else:
        ok = np.ones(len(xy), dtype=bool)
    with np.errstate(all="ignore"):
        try:
            ex, ny = transformer(reading.epsg, WARD).transform(x, y)
        except Exception:  # pyproj raises on wild input for some projections
            return np.zeros(len(xy), dtype=bool)
    ex, ny = np.asarray(ex, dtype=float), np.asarray(ny, dtype=float)
    ok &= np.isfinite(ex) & np.isfinite(ny)
    result = np.zeros(len(xy), dtype=bool)
    result[ok] = shapely.contains_xy(frame, ex[ok], ny[ok])
    return result


def _looks_like_degrees(xy: np.ndarray) -> bool:
    return bool((np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 180).all())


def _candidates(declared: int, xy: np.ndarray) -> list[tuple[str, Reading]]:
    """Readings to try, in order, each with the mistake it would mean."""
    geographic = crs(declared).is_geographic
    degrees = _looks_like_degrees(xy)
    out: list[tuple[str, Reading]] = [("axes_swapped", Reading(declared, swap=True))]
    if not geographic and degrees:
        out += [("degrees_as_metres", Reading(g, s)) for s in (False, True) for g in GEOGRAPHIC]
    if geographic and not degrees:
        out += [("metres_as_degrees", Reading(p, s)) for s in (False, True) for p in PROJECTED]
    if not geographic and not degrees:
        out += [("crs_wrong_zone", Reading(p, s)) for s in (False, True) for p in PROJECTED
                if p != declared]
    return out


def _sample(xy: np.ndarray) -> np.ndarray:
    if len(xy) <= SAMPLE:
        return xy
    idx = np.linspace(0, len(xy) - 1, SAMPLE).round().astype(int)
    return xy[idx]


def _name(epsg: int) -> str:
    try:
        return f"EPSG:{epsg} ({crs(epsg).name})"
    except CRSError:
        return f"EPSG:{epsg}"


def diagnose(xy: np.ndarray, declared: int, frame: BaseGeometry, *,
             xy_columns: tuple[str, str] | None = None) -> CRSMistakeError | OutsideWardError:
    """The error to raise for features of which none lands in the frame.

    A ``CRSMistakeError`` subclass when one reading puts (nearly) all of them in
    the ward, with ``extra["suggestion"]`` the reader arguments that fix it and
    ``extra["alternatives"]`` other EPSG codes that fit as well (such as the
    WGS 84 twin of a VN-2000 zone, 200 m apart); else ``OutsideWardError``.
    """
    sample = _sample(xy)
    found: tuple[str, Reading] | None = None
    alternatives: list[int] = []
    for mistake, reading in _candidates(declared, sample):
        if lands(sample, reading, frame).mean() < MATCH_SHARE:
            continue
        if found is None:
            found = (mistake, reading)
        elif reading.swap == found[1].swap and reading.epsg != found[1].epsg:
            alternatives.append(reading.epsg)
    if found is None:
        return _outside(xy, declared)
    mistake, reading = found
    return _mistake_error(mistake, reading, declared, alternatives, xy_columns)


def _mistake_error(mistake: str, reading: Reading, declared: int, alternatives: list[int],
                   xy_columns: tuple[str, str] | None) -> CRSMistakeError:
    suggestion: dict[str, Any] = {}
    if reading.swap:
        suggestion["swap_axes"] = True
    if reading.epsg != declared:
        suggestion["crs"] = reading.epsg
    also = (" Other CRSs that fit: " + ", ".join(f"EPSG:{a}" for a in alternatives) + "."
            if alternatives else "")
    detail: dict[str, Any] = {"suggestion": suggestion, "declared_crs": declared,
                              "alternatives": alternatives}
    if mistake == "axes_swapped":
        if xy_columns:
            text = (f"The columns {xy_columns[0]!r} and {xy_columns[1]!r} look swapped: in a "
                    "VN-2000 table X is the northing (about 1,800,000 in Hue) and Y the easting "
                    "(about 560,000). Swap them, or read the file with swap_axes.")
        elif crs(declared).is_geographic:
            text = ("Latitude and longitude look swapped: the coordinates only fall in the ward "
                    "when read the other way round. Read the file with swap_axes.")
        else:
            text = ("Easting and northing look swapped (X/Y in the Vietnamese sense given as "
                    "x/y): the coordinates only fall in the ward when read the other way "
                    "round. Read the file with swap_axes.")
        return AxesSwappedError(text, **detail)
    swapped = " with the axes swapped" if reading.swap else ""
    if mistake == "degrees_as_metres":
        return DegreesAsMetresError(
            f"The coordinates are degrees but the file says {_name(declared)}, in metres. "
            f"They fall in the ward when read as {_name(reading.epsg)}{swapped}.{also}",
            **detail,
        )
    if mistake == "metres_as_degrees":
        return MetresAsDegreesError(
            f"The coordinates are metres but the file says {_name(declared)}, in degrees. "
            f"They fall in the ward when read as {_name(reading.epsg)}{swapped}.{also}",
            **detail,
        )
    return WrongZoneError(
        f"The data is labelled {_name(declared)} but only falls in the ward when read as "
        f"{_name(reading.epsg)}{swapped}: probably exported with the wrong central meridian "
        f"or zone.{also}",
        **detail,
    )


def _outside(xy: np.ndarray, declared: int) -> OutsideWardError:
    finite = xy[np.isfinite(xy).all(axis=1)]
    bounds = [round(float(v), 3) for v in (*finite.min(axis=0), *finite.max(axis=0))] \
        if len(finite) else []
    return OutsideWardError(
        f"None of the features falls inside the ward when read as {_name(declared)}, nor "
        "under any usual CRS mistake (swapped axes, another VN-2000 zone, UTM, degrees). "
        "Check the file's CRS and that it is the right survey.",
        declared_crs=declared, bounds=bounds,
    )


def projection_match(wkt: str) -> int | None:
    """The VN-2000 zone a CRS without an EPSG code describes, by its projection parameters.

    Vietnamese CAD/GIS tools write ``.prj`` files with their own names and
    often without the datum shift; identifying them by central meridian,
    scale factor and false easting lets us read them as VN-2000 (with the
    official shift) rather than fail, and the caller warns that it did.
    """
    try:
        target = crs(wkt)
    except CRSError:
        return None
    params = _tm_params(target)
    if params is None:
        return None
    for epsg in PROJECTED:
        if epsg in (32648, 32649):
            continue
        if _tm_params(crs(epsg)) == params:
            return epsg
    return None


def _tm_params(c: Any) -> tuple[float, ...] | None:
    op = getattr(c, "coordinate_operation", None)
    if op is None or "transverse mercator" not in str(op.method_name).lower():
        return None
    if c.ellipsoid is None or not math.isclose(c.ellipsoid.semi_major_metre, 6378137.0):
        return None
    values: dict[str, float] = {}
    for p in op.params:
        name = p.name.lower()
        for key in ("longitude of natural origin", "latitude of natural origin",
                    "scale factor", "false easting", "false northing"):
            if name.startswith(key):
                values[key] = round(float(p.value), 6)
    if len(values) != 5:
        return None
    return tuple(values[k] for k in sorted(values))
